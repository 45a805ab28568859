//! The Active Directory half of GPOs: groupPolicyContainer objects, links, WMI filters and the
//! objects stored below a GPO (software installation class stores), read and written over
//! LDAPS/StartTLS.
//!
//! Writes are small typed operations (modify a GPO's attributes, set its DACL, create it, find
//! and reanimate its tombstone, add class store objects, edit a container's links, create a WMI
//! filter); restore, import and copy compose them.

mod changes;
mod connect;
mod ldap;
mod parse;
mod write;

#[cfg(test)]
mod lab_tests;

use std::collections::BTreeMap;

use async_trait::async_trait;

pub use changes::{
    ContainerLinks, DeletedGpo, GpoAttributes, GpoChanges, LinkPlacement, ReanimateReport, WmiFilterChange,
    WmiFilterOutcome,
};
pub use connect::TIMEOUT;
pub use ldap::LdapDirectory;
pub use parse::{GpLink, gplink_path, parse_generalized_time, parse_gplink};
pub use write::{gpo_file_sys_path, rebase_dn};

pub use crate::model::{AttributeValue, DirectoryObject, Principal};
use crate::model::{Estate, Gpo, GpoId, SecurityDescriptor, Sid, WmiFilter};

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
    /// A GSSAPI bind with the admin's ticket failed; the reason says what to do.
    #[error("Kerberos logon to {url} (service {service}) was refused: {reason}")]
    KerberosBind { url: String, service: String, reason: String },
    #[error("LDAP {operation} failed: {reason}")]
    Operation { operation: String, reason: String },
    #[error("the connection to {url} closed during {operation}: {reason}")]
    ConnectionLost { url: String, operation: String, reason: String },
    #[error("the directory answered something unexpected: {0}")]
    Unexpected(String),
    #[error(
        "{operation} {dn} was refused for lack of rights ({reason}): sign in as a Domain Admin, or have the right delegated on that object"
    )]
    InsufficientRights { operation: String, dn: String, reason: String },
    #[error("{operation} {dn}: no such object. Check the GPO or container exists (gpvault gpo list)")]
    NoSuchObject { operation: String, dn: String },
    #[error("{operation} {dn}: an object of that name exists already. Delete or reuse it")]
    AlreadyExists { operation: String, dn: String },
    #[error("{operation} {dn} was refused by the directory: {reason}. Check the values written")]
    Constraint { operation: String, dn: String, reason: String },
    #[error("{dn} changed while gpvault was editing it ({reason}); read it again and retry")]
    Conflict { dn: String, reason: String },
    #[error(
        "{dn} is not an object below a GPO (CN=...,CN=Machine|User,CN={{GUID}},CN=Policies,CN=System,...); gpvault only adds and deletes objects there"
    )]
    OutsideGpo { dn: String },
    #[error("{what}: {reason}")]
    InvalidInput { what: String, reason: String },
    #[error("{operation} is not offered by {directory}")]
    Unsupported { operation: String, directory: String },
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

    /// One GPO's container with its security descriptor, or `None` when the domain has no
    /// such GPO. The default reads the whole estate; implementations can do better.
    async fn read_gpo(&self, gpo: &GpoId) -> Result<Option<Gpo>, DirectoryError> {
        Ok(self.read_estate().await?.gpos.into_iter().find(|g| &g.id == gpo))
    }

    /// Names, kinds and domains of the given SIDs; unknown SIDs are left out.
    async fn resolve_principals(&self, sids: &[Sid]) -> Result<Vec<Principal>, DirectoryError>;

    /// The principals the given account names denote in this domain, each with the name it was
    /// found by: `DOMAIN\name` or `dns.domain\name` (sAMAccountName), `name@dns.domain` (a
    /// userPrincipalName, or the sAMAccountName when the suffix is this domain's DNS name, as
    /// GPMC writes groups) or a bare sAMAccountName. Names of another domain, and names not
    /// found, are left out. The default says the directory cannot.
    async fn resolve_names(&self, names: &[String]) -> Result<Vec<(String, Principal)>, DirectoryError> {
        let _ = names;
        Err(self.unsupported("looking up accounts by name"))
    }

    /// The URL in use, for status lines.
    fn describe(&self) -> String;

    // --- Writes. They default to `Unsupported`, so read-only implementations (test doubles)
    // need not spell them out.

    /// Writes the given attributes of an existing GPO; `None` fields are left alone.
    async fn modify_gpo(&self, gpo: &GpoId, changes: &GpoChanges) -> Result<(), DirectoryError> {
        let _ = (gpo, changes);
        Err(self.unsupported("modifying a GPO"))
    }

    /// Replaces the GPO's DACL with `sd`'s (SD flags control = DACL only: owner, group and SACL
    /// stay as they are).
    async fn set_gpo_dacl(&self, gpo: &GpoId, sd: &SecurityDescriptor) -> Result<(), DirectoryError> {
        let _ = (gpo, sd);
        Err(self.unsupported("setting a GPO's DACL"))
    }

    /// Creates `CN={GUID}` under CN=Policies,CN=System with its CN=User and CN=Machine
    /// containers; returns its DN. Its DACL is the directory's default until `set_gpo_dacl`.
    async fn create_gpo(&self, gpo: &GpoId, attributes: &GpoAttributes) -> Result<String, DirectoryError> {
        let _ = (gpo, attributes);
        Err(self.unsupported("creating a GPO"))
    }

    /// Deletes the GPO's container and everything below it (one tree delete); returns its DN.
    /// Its SYSVOL folder is not touched.
    async fn delete_gpo(&self, gpo: &GpoId) -> Result<String, DirectoryError> {
        let _ = gpo;
        Err(self.unsupported("deleting a GPO"))
    }

    /// The most recent tombstone of the GPO, if the directory still has one.
    async fn find_deleted_gpo(&self, gpo: &GpoId) -> Result<Option<DeletedGpo>, DirectoryError> {
        let _ = gpo;
        Err(self.unsupported("searching deleted objects"))
    }

    /// Brings a deleted GPO back at its original DN (and its CN=User / CN=Machine), keeping its
    /// objectGUID and security descriptor.
    async fn reanimate_gpo(&self, deleted: &DeletedGpo) -> Result<ReanimateReport, DirectoryError> {
        let _ = deleted;
        Err(self.unsupported("reanimating a deleted GPO"))
    }

    /// Adds objects below GPOs (class stores and packages) with every attribute as given,
    /// their own security descriptor included; parents are added before children. Returns how
    /// many were added.
    async fn add_gpo_objects(&self, objects: &[DirectoryObject]) -> Result<usize, DirectoryError> {
        let _ = objects;
        Err(self.unsupported("adding objects below a GPO"))
    }

    /// Deletes objects below GPOs, each with everything below it.
    async fn delete_gpo_objects(&self, dns: &[String]) -> Result<usize, DirectoryError> {
        let _ = dns;
        Err(self.unsupported("deleting objects below a GPO"))
    }

    /// gPLink and gPOptions of a domain, OU or site.
    async fn read_links(&self, container_dn: &str) -> Result<ContainerLinks, DirectoryError> {
        let _ = container_dn;
        Err(self.unsupported("reading links"))
    }

    /// Links a GPO of this domain to a container, or changes that link; returns the links after.
    async fn set_link(
        &self,
        container_dn: &str,
        gpo: &GpoId,
        placement: LinkPlacement,
    ) -> Result<ContainerLinks, DirectoryError> {
        let _ = (container_dn, gpo, placement);
        Err(self.unsupported("linking a GPO"))
    }

    /// Removes a GPO's link from a container (nothing to remove is not an error); returns the
    /// links after.
    async fn remove_link(&self, container_dn: &str, gpo: &GpoId) -> Result<ContainerLinks, DirectoryError> {
        let _ = (container_dn, gpo);
        Err(self.unsupported("unlinking a GPO"))
    }

    /// Sets or clears block inheritance (gPOptions) on a domain or OU.
    async fn set_block_inheritance(&self, container_dn: &str, block: bool) -> Result<(), DirectoryError> {
        let _ = (container_dn, block);
        Err(self.unsupported("setting block inheritance"))
    }

    /// Creates a msWMI-Som object with the filter's own ID, unless one with that ID exists.
    async fn create_wmi_filter(&self, filter: &WmiFilter) -> Result<WmiFilterOutcome, DirectoryError> {
        let _ = filter;
        Err(self.unsupported("creating a WMI filter"))
    }

    /// Deletes the WMI filter whose msWMI-ID is `id`; false when there is none.
    async fn delete_wmi_filter(&self, id: &str) -> Result<bool, DirectoryError> {
        let _ = id;
        Err(self.unsupported("deleting a WMI filter"))
    }

    /// The error the write defaults return.
    fn unsupported(&self, operation: &str) -> DirectoryError {
        DirectoryError::Unsupported { operation: operation.to_string(), directory: self.describe() }
    }
}
