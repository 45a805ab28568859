//! `gpvault.json`: what an instance needs for a faithful restore that GPMC's files leave out.
//! GPMC ignores unknown files in an instance folder, so backups stay GPMC-compatible.

use serde::{Deserialize, Serialize};

use crate::model::DirectoryObject;
use crate::model::{DomainInfo, Gpo, Link, WmiFilter};

pub const GPVAULT_JSON_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpvaultJson {
    pub format_version: u32,
    /// gpvault version that wrote it.
    pub written_by: String,
    pub domain: DomainInfo,
    /// The whole groupPolicyContainer as read: full security descriptor (owner, group, DACL),
    /// gPCFunctionalityVersion, versions, flags, extension names, WMI filter link.
    pub gpo: Gpo,
    /// The security descriptor in SDDL, for people and diffs.
    pub security_descriptor_sddl: Option<String>,
    /// GPT.INI as it was in SYSVOL (GPMC does not keep it).
    pub gpt_ini: Option<String>,
    pub links: Vec<Link>,
    pub wmi_filter: Option<WmiFilter>,
    /// Every file and folder of the GPO's SYSVOL folder, with the path it had there.
    pub sysvol: Vec<SysvolItem>,
    /// Objects below the GPO's container (software installation class store and packages),
    /// every attribute, each with its own security descriptor.
    pub directory_objects: Vec<DirectoryObject>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SysvolItem {
    /// Path in the GPO folder on SYSVOL, `/` separators, original case.
    pub path: String,
    pub is_dir: bool,
    /// Where it is inside the instance folder (files only; GPT.INI has none).
    pub stored_at: Option<String>,
    pub size: u64,
    /// SHA-256 of the bytes, lower-case hex (files only).
    pub sha256: Option<String>,
}

impl GpvaultJson {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("serialising plain data cannot fail")
    }

    pub fn parse(bytes: &[u8]) -> Result<GpvaultJson, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
