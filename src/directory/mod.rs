//! The Active Directory half of GPOs: groupPolicyContainer objects, links, WMI filters and the
//! objects stored below a GPO (software installation class stores), read over LDAPS/StartTLS.

mod connect;
mod ldap;
mod parse;

use std::collections::BTreeMap;

use async_trait::async_trait;

pub use connect::TIMEOUT;
pub use ldap::LdapDirectory;
pub use parse::{parse_generalized_time, parse_gplink};

pub use crate::model::{AttributeValue, DirectoryObject, Principal};
use crate::model::{Estate, GpoId, Sid};

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error(
        "cannot reach the domain controller at {url}: {reason}. Check the server address and that LDAPS (636) or LDAP with StartTLS (389) is reachable"
    )]
    Unreachable { url: String, reason: String },
    #[error(
        "TLS with {url} failed: {reason}. Give the CA that signed the DC's certificate (or skip verification, which the UI then shows)"
    )]
    Tls { url: String, reason: String },
    #[error("logon to {url} as {user} was refused: {reason}. Check the user name and the password")]
    Bind { url: String, user: String, reason: String },
    #[error("LDAP {operation} failed: {reason}")]
    Operation { operation: String, reason: String },
    #[error("the directory answered something unexpected: {0}")]
    Unexpected(String),
}

impl DirectoryError {
    pub fn fix(&self) -> Option<crate::error::Fix> {
        use crate::error::Fix;
        match self {
            DirectoryError::Unreachable { .. } => Some(Fix::Server),
            DirectoryError::Tls { .. } => Some(Fix::CaFile),
            DirectoryError::Bind { .. } => Some(Fix::Credentials),
            _ => None,
        }
    }
}

/// Reading (and, for later operations, writing) the AD side of GPOs.
#[async_trait]
pub trait Directory: Send + Sync {
    /// One pass over the domain: its identity, every GPO with its security descriptor, every
    /// container that can hold links, and the WMI filters.
    async fn read_estate(&self) -> Result<Estate, DirectoryError>;

    /// Every object below each GPO's container except the fixed CN=User / CN=Machine ones
    /// (software installation class stores and packages), grouped by GPO, in one search.
    async fn read_gpo_children(&self) -> Result<BTreeMap<GpoId, Vec<DirectoryObject>>, DirectoryError>;

    /// Names, kinds and domains of the given SIDs; unknown SIDs are left out.
    async fn resolve_principals(&self, sids: &[Sid]) -> Result<Vec<Principal>, DirectoryError>;

    /// The URL in use, for status lines.
    fn describe(&self) -> String;
}
