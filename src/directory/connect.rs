use std::sync::Arc;
use std::time::Duration;

use super::DirectoryError;
use crate::config::DomainTarget;

/// How long to wait for the DC before giving up on a connection or a request.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// TLS settings for LDAPS/StartTLS: the target's CA file, or the system's roots.
pub(crate) fn rustls_config(target: &DomainTarget) -> Result<Arc<rustls::ClientConfig>, DirectoryError> {
    let url = target.url();
    let tls_err = |reason: String| DirectoryError::Tls { url: url.clone(), reason };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    match &target.ca_file {
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
