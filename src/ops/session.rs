use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{DomainTarget, Password};
use crate::directory::{Directory, DirectoryError, LdapDirectory};
use crate::kerberos::{TicketCache, TicketError};
use crate::model::DomainInfo;
use crate::sysvol::smb::{SmbSysvol, SmbTuning};
use crate::sysvol::{LocalSysvol, Sysvol, SysvolError};

/// Parallel SMB connections per domain: smbd serves each on its own process, and the lab notes
/// measured 2–4 as the sweet spot on two cores.
const SMB_CONNECTIONS: usize = 3;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SysvolSource {
    Smb { server: String },
    Path(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Sysvol(#[from] SysvolError),
    /// No usable ticket: checked before either logon, so it is one line, not two failures.
    #[error(transparent)]
    Ticket(#[from] TicketError),
}

impl SessionError {
    pub fn fix(&self) -> Option<crate::error::Fix> {
        match self {
            SessionError::Directory(e) => e.fix(),
            SessionError::Sysvol(e) => e.fix(),
            SessionError::Ticket(_) => None,
        }
    }
}

/// An open connection to one domain: both halves of every GPO.
pub struct DomainSession {
    pub target: DomainTarget,
    pub directory: Arc<dyn Directory>,
    pub sysvol: Arc<dyn Sysvol>,
    pub domain: DomainInfo,
    pub sysvol_source: SysvolSource,
}

impl DomainSession {
    pub async fn open(target: &DomainTarget, password: Password) -> Result<DomainSession, SessionError> {
        if target.kerberos {
            return DomainSession::open_with_ticket(target).await;
        }
        // Both logons take a noticeable moment on a DC (NTLM, TLS): do them side by side.
        let directory = async { LdapDirectory::connect(target, password.expose()).await.map_err(SessionError::from) };
        let sysvol = async {
            match &target.sysvol_path {
                Some(path) => open_local(path, &target.domain),
                None => {
                    let (user, user_domain) = target.smb_user_and_domain();
                    let smb = SmbSysvol::connect(
                        &target.server,
                        "sysvol",
                        &user_domain,
                        &user,
                        password.expose(),
                        SMB_CONNECTIONS,
                    )
                    .await?;
                    Ok((Arc::new(smb) as Arc<dyn Sysvol>, SysvolSource::Smb { server: target.server.clone() }))
                }
            }
        };
        // When both fail it is one cause (an address, a password), and the directory's error says
        // it best: an SMB failure waits for LDAP's answer, whichever comes first.
        tokio::pin!(directory, sysvol);
        let (ldap, (sysvol, source)) = tokio::select! {
            ldap = &mut directory => {
                let ldap = ldap?;
                (ldap, sysvol.await?)
            }
            smb = &mut sysvol => {
                let ldap = directory.await?;
                (ldap, smb?)
            }
        };
        let domain = ldap.domain().clone();
        Ok(DomainSession { target: target.clone(), directory: Arc::new(ldap), sysvol, domain, sysvol_source: source })
    }

    /// Both halves with the admin's Kerberos ticket (kinit), no password: LDAP binds with
    /// GSSAPI, SMB signs in with the ticket cache. The ticket is checked first; SMB follows
    /// LDAP because its service ticket names the DC's host name, which LDAP's rootDSE tells.
    async fn open_with_ticket(target: &DomainTarget) -> Result<DomainSession, SessionError> {
        let ticket = TicketCache::for_domain(&target.domain)?;
        let ldap = LdapDirectory::connect(target, "").await?;
        let (sysvol, source) = match &target.sysvol_path {
            Some(path) => open_local(path, &target.domain)?,
            None => {
                let controller = &ldap.domain().controller;
                let dc_host = if controller.is_empty() { target.server.as_str() } else { controller.as_str() };
                let tuning = SmbTuning { connections: SMB_CONNECTIONS, ..SmbTuning::default() };
                let smb = SmbSysvol::connect_kerberos(&target.server, "sysvol", dc_host, ticket, tuning).await?;
                (Arc::new(smb) as Arc<dyn Sysvol>, SysvolSource::Smb { server: target.server.clone() })
            }
        };
        let domain = ldap.domain().clone();
        Ok(DomainSession { target: target.clone(), directory: Arc::new(ldap), sysvol, domain, sysvol_source: source })
    }
}

fn open_local(path: &std::path::Path, domain: &str) -> Result<(Arc<dyn Sysvol>, SysvolSource), SessionError> {
    let local = LocalSysvol::open(path, domain)?;
    Ok((Arc::new(local), SysvolSource::Path(path.to_path_buf())))
}
