use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::DirectoryError;

/// How the LDAP connection is protected. Samba (and hardened Windows DCs) refuse simple binds
/// over plain LDAP, so there is no plain mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// ldaps://server:636
    #[default]
    Ldaps,
    /// ldap://server:389 then StartTLS
    StartTls,
}

/// Everything needed to reach one domain.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// DC address or host name.
    pub server: String,
    /// DNS name of the domain (corp.example.test).
    pub domain: String,
    /// sAMAccountName, UPN, DOMAIN\\user or a DN.
    pub user: String,
    pub password: String,
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (explicit user choice, shown in the UI).
    pub insecure_tls: bool,
    pub tls: TlsMode,
    pub kerberos: bool,
    pub timeout: Duration,
}

impl ConnectOptions {
    pub fn url(&self) -> String {
        let host = if self.server.contains(':') && !self.server.starts_with('[') {
            format!("[{}]", self.server)
        } else {
            self.server.clone()
        };
        match self.tls {
            TlsMode::Ldaps => format!("ldaps://{host}:636"),
            TlsMode::StartTls => format!("ldap://{host}:389"),
        }
    }

    /// The name to bind with: a bare account name becomes a UPN in the target domain.
    pub fn bind_name(&self) -> String {
        if self.user.contains('@') || self.user.contains('\\') || self.user.contains('=') {
            self.user.clone()
        } else {
            format!("{}@{}", self.user, self.domain)
        }
    }

    /// The user name without domain, for SMB (NTLM wants user and domain apart).
    pub fn smb_user_and_domain(&self) -> (String, String) {
        if let Some((user, realm)) = self.user.split_once('@') {
            (user.to_string(), realm.to_string())
        } else if let Some((domain, user)) = self.user.split_once('\\') {
            (user.to_string(), domain.to_string())
        } else {
            (self.user.clone(), self.domain.clone())
        }
    }

    pub(crate) fn rustls_config(&self) -> Result<Arc<rustls::ClientConfig>, DirectoryError> {
        let url = self.url();
        let tls_err = |reason: String| DirectoryError::Tls { url: url.clone(), reason };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_err(e.to_string()))?;
        let mut roots = rustls::RootCertStore::empty();
        match &self.ca_file {
            Some(path) => {
                let pem =
                    std::fs::read(path).map_err(|e| tls_err(format!("cannot read CA file {}: {e}", path.display())))?;
                let mut added = 0;
                for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                    let cert = cert.map_err(|e| tls_err(format!("CA file {}: {e}", path.display())))?;
                    roots.add(cert).map_err(|e| tls_err(format!("CA file {}: {e}", path.display())))?;
                    added += 1;
                }
                if added == 0 {
                    return Err(tls_err(format!("CA file {} holds no PEM certificate", path.display())));
                }
            }
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
            }
        }
        Ok(Arc::new(builder.with_root_certificates(roots).with_no_client_auth()))
    }
}
