use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{DomainTarget, Password};
use crate::directory::{Directory, DirectoryError, LdapDirectory};
use crate::model::DomainInfo;
use crate::sysvol::smb::SmbSysvol;
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
    #[error(
        "SMB with a Kerberos ticket is not built yet: mount SYSVOL (mount -t cifs -o sec=krb5) and read it from there"
    )]
    KerberosNeedsSysvolPath,
}

impl SessionError {
    pub fn fix(&self) -> Option<crate::error::Fix> {
        match self {
            SessionError::Directory(e) => e.fix(),
            SessionError::Sysvol(e) => e.fix(),
            SessionError::KerberosNeedsSysvolPath => Some(crate::error::Fix::SysvolPath),
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
        // Both logons take a noticeable moment on a DC (NTLM, TLS): do them side by side.
        let directory = async { LdapDirectory::connect(target, password.expose()).await.map_err(SessionError::from) };
        let sysvol = async {
            match &target.sysvol_path {
                Some(path) => {
                    let local = LocalSysvol::open(path, &target.domain)?;
                    Ok::<(Arc<dyn Sysvol>, SysvolSource), SessionError>((
                        Arc::new(local),
                        SysvolSource::Path(path.clone()),
                    ))
                }
                None if target.kerberos => Err(SessionError::KerberosNeedsSysvolPath),
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
        let (ldap, (sysvol, source)) = futures::try_join!(directory, sysvol)?;
        let domain = ldap.domain().clone();
        Ok(DomainSession { target: target.clone(), directory: Arc::new(ldap), sysvol, domain, sysvol_source: source })
    }
}
