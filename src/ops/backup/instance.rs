//! Lays out one backup instance: GPMC's files plus gpvault's extra file, all in memory.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::directory::{DirectoryObject, Principal};
use crate::formats::bkup_info::{BackupInfo, new_backup_id};
use crate::formats::gpvault_extra::{EXTRA_FORMAT_VERSION, InstanceExtra, SysvolItem};
use crate::migrate::scan::SettingsReferences;
use crate::model::{DomainInfo, Gpo, Link, Sid, WmiFilter};
use crate::store::{EXTRA_FILE, PendingInstance};
use crate::sysvol::{FolderEntry, GpoFolder};

/// Everything one instance is made from.
pub struct InstanceInput<'a> {
    pub gpo: &'a Gpo,
    pub domain: &'a DomainInfo,
    pub folder: &'a GpoFolder,
    pub references: &'a SettingsReferences,
    pub principals: HashMap<Sid, Principal>,
    pub links: Vec<Link>,
    pub wmi_filter: Option<WmiFilter>,
    pub directory_objects: Vec<DirectoryObject>,
    pub comment: &'a str,
    pub time: DateTime<Utc>,
}

/// Where a SYSVOL path goes inside the instance: `DomainSysvol/GPO/Machine/...` with GPMC's
/// casing of the two halves (Samba creates MACHINE/USER). GPT.INI is kept in the extra file only,
/// as GPMC regenerates it on restore.
pub fn stored_location(rel_path: &str) -> Option<String> {
    let (first, rest) = match rel_path.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (rel_path, None),
    };
    if rest.is_none() && first.eq_ignore_ascii_case("gpt.ini") {
        return None;
    }
    let first = if first.eq_ignore_ascii_case("machine") {
        "Machine"
    } else if first.eq_ignore_ascii_case("user") {
        "User"
    } else {
        first
    };
    Some(match rest {
        Some(rest) => format!("DomainSysvol/GPO/{first}/{rest}"),
        None => format!("DomainSysvol/GPO/{first}"),
    })
}

pub fn build_instance(input: &InstanceInput) -> PendingInstance {
    let backup_id = new_backup_id();
    let mut pending = PendingInstance { backup_id: backup_id.to_string(), ..Default::default() };

    let mut sysvol_items = Vec::new();
    pending.dirs.push("DomainSysvol/GPO".into());
    for entry in &input.folder.entries {
        let stored_at = stored_location(entry.rel_path());
        match entry {
            FolderEntry::Dir { rel_path } => {
                if let Some(at) = &stored_at {
                    pending.dirs.push(at.clone());
                }
                sysvol_items.push(SysvolItem { path: rel_path.clone(), is_dir: true, stored_at, size: 0, sha256: None });
            }
            FolderEntry::File { rel_path, bytes } => {
                if let Some(at) = &stored_at {
                    pending.files.push((at.clone(), bytes.clone()));
                }
                sysvol_items.push(SysvolItem {
                    path: rel_path.clone(),
                    is_dir: false,
                    stored_at,
                    size: bytes.len() as u64,
                    sha256: Some(hex::encode(Sha256::digest(bytes))),
                });
            }
        }
    }

    let info = BackupInfo::new(
        input.gpo.id,
        input.domain,
        backup_id,
        input.time,
        input.comment,
        &input.gpo.display_name,
    );
    pending.files.push(("bkupInfo.xml".into(), info.to_bytes()));
    pending.files.push(("Backup.xml".into(), super_formats::backup_xml(input)));
    pending.files.push(("gpreport.xml".into(), super_formats::gpreport(input)));

    let gpt_ini = input.folder.file("GPT.INI").map(|b| String::from_utf8_lossy(b).into_owned());
    let extra = InstanceExtra {
        format_version: EXTRA_FORMAT_VERSION,
        written_by: format!("gpvault {}", env!("CARGO_PKG_VERSION")),
        domain: input.domain.clone(),
        gpo: input.gpo.clone(),
        security_descriptor_sddl: input.gpo.security_descriptor.as_ref().map(|sd| sd.to_sddl(input.domain.sid.as_ref())),
        gpt_ini,
        links: input.links.clone(),
        wmi_filter: input.wmi_filter.clone(),
        sysvol: sysvol_items,
        directory_objects: input.directory_objects.clone(),
    };
    pending.files.push((EXTRA_FILE.into(), extra.to_json()));
    pending
}

mod super_formats {
    use super::InstanceInput;

    pub fn backup_xml(_input: &InstanceInput) -> Vec<u8> {
        Vec::new()
    }

    pub fn gpreport(_input: &InstanceInput) -> Vec<u8> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_get_gpmc_casing_and_gpt_ini_stays_out() {
        assert_eq!(stored_location("MACHINE/registry.pol").as_deref(), Some("DomainSysvol/GPO/Machine/registry.pol"));
        assert_eq!(stored_location("USER").as_deref(), Some("DomainSysvol/GPO/User"));
        assert_eq!(stored_location("gpt.ini"), None);
        assert_eq!(stored_location("Adm/x.adm").as_deref(), Some("DomainSysvol/GPO/Adm/x.adm"));
    }
}
