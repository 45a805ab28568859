//! Reading a domain's GPOs for display: both halves side by side, with what does not agree.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use serde::Serialize;

use super::DomainSession;
use crate::directory::{DirectoryError, Principal};
use crate::formats::GptIni;
use crate::model::{Estate, Gpo, GpoId, Sid, Version, well_known_sid_name};
use crate::model::{FolderEntry, GpoFolder};
use crate::sysvol::Sysvol;

/// What SYSVOL says about one GPO, next to what AD says.
#[derive(Clone, Debug, Serialize)]
pub struct SysvolState {
    pub gpo: GpoId,
    /// The Version= line of GPT.INI; `None` when GPT.INI is missing or has none.
    pub version: Option<Version>,
    /// Why SYSVOL could not be read, when it could not.
    pub error: Option<String>,
}

impl SysvolState {
    pub fn mismatch(&self, ad: Version) -> bool {
        self.error.is_none() && self.version != Some(ad)
    }
}

/// Reads GPT.INI of every GPO, `parallelism` at a time, in the estate's order.
pub async fn read_sysvol_versions(sysvol: Arc<dyn Sysvol>, gpos: &[Gpo], parallelism: usize) -> Vec<SysvolState> {
    futures::stream::iter(gpos.iter().cloned())
        .map(|gpo| {
            let sysvol = sysvol.clone();
            async move {
                match sysvol.read_gpo_file(&gpo.id, &gpo.file_sys_path, "GPT.INI").await {
                    Ok(Some(bytes)) => SysvolState { gpo: gpo.id, version: gpt_ini_version(&bytes), error: None },
                    Ok(None) => SysvolState { gpo: gpo.id, version: None, error: Some("GPT.INI is missing".into()) },
                    Err(e) => SysvolState { gpo: gpo.id, version: None, error: Some(e.to_string()) },
                }
            }
        })
        .buffered(parallelism.max(1))
        .collect()
        .await
}

/// The Version= line of GPT.INI; `None` when it is unreadable or has none.
pub fn gpt_ini_version(bytes: &[u8]) -> Option<Version> {
    GptIni::parse(bytes).ok()?.version().ok().flatten()
}

/// One entry of a GPO folder as people read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SysvolEntry {
    /// Path inside the GPO folder, `/` separators.
    pub path: String,
    /// Folders above it inside the GPO folder.
    pub depth: usize,
    pub name: String,
    /// `None` for a folder.
    pub size: Option<u64>,
}

/// The SYSVOL half of one GPO, summed up once for `gpo show` and the TUI's details pane: its
/// files and sizes, GPT.INI's version, and why it could not be read. No file contents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SysvolSummary {
    pub entries: Vec<SysvolEntry>,
    pub file_count: usize,
    pub total_bytes: u64,
    /// GPT.INI's Version line.
    pub version: Option<Version>,
    /// Why the folder (or GPT.INI's version) could not be read.
    pub error: Option<String>,
}

impl SysvolSummary {
    pub fn of(folder: &Result<GpoFolder, String>) -> SysvolSummary {
        let folder = match folder {
            Ok(folder) => folder,
            Err(e) => return SysvolSummary { error: Some(e.clone()), ..Default::default() },
        };
        let entries = folder
            .entries
            .iter()
            .map(|entry| {
                let path = entry.rel_path().trim_matches('/').to_string();
                SysvolEntry {
                    depth: path.matches('/').count(),
                    name: path.rsplit('/').next().unwrap_or(&path).to_string(),
                    size: match entry {
                        FolderEntry::File { bytes, .. } => Some(bytes.len() as u64),
                        FolderEntry::Dir { .. } => None,
                    },
                    path,
                }
            })
            .collect();
        let (version, error) = match folder.file("GPT.INI") {
            Some(bytes) => match gpt_ini_version(bytes) {
                Some(version) => (Some(version), None),
                None => (None, Some("GPT.INI has no Version line".to_string())),
            },
            None => (None, Some("GPT.INI is missing".to_string())),
        };
        SysvolSummary { entries, file_count: folder.files().count(), total_bytes: folder.total_bytes(), version, error }
    }

    /// AD and SYSVOL disagree on the version (only when SYSVOL could be read).
    pub fn mismatch(&self, ad: Version) -> bool {
        self.error.is_none() && self.version != Some(ad)
    }
}

/// One GPO with everything `gpo show` and the details pane print.
pub struct GpoDetails {
    pub gpo: Gpo,
    pub sysvol: SysvolSummary,
    pub principals: Vec<Principal>,
    /// `DOMAIN\name` of each SID of the security descriptor that could be resolved.
    pub names: BTreeMap<Sid, String>,
}

pub async fn read_gpo_details(session: &DomainSession, estate: &Estate, key: &str) -> Result<GpoDetails, String> {
    let gpo = estate.find_gpo(key)?.clone();
    let folder = session.sysvol.read_gpo_folder(&gpo.id, &gpo.file_sys_path).await.map_err(|e| e.to_string());
    let sids: Vec<Sid> = gpo.security_descriptor.as_ref().map(|sd| sd.principals()).unwrap_or_default();
    let principals = session.directory.resolve_principals(&sids).await.map_err(|e: DirectoryError| e.to_string())?;
    let names = sids.iter().filter_map(|sid| Some((sid.clone(), principal_name(sid, &principals)?))).collect();
    Ok(GpoDetails { gpo, sysvol: SysvolSummary::of(&folder), principals, names })
}

/// `DOMAIN\name` for a SID, from resolved principals or the well-known table.
pub fn principal_name(sid: &Sid, principals: &[Principal]) -> Option<String> {
    principals
        .iter()
        .find(|p| &p.sid == sid)
        .map(|p| format!("{}\\{}", p.netbios_domain, p.sam_account_name))
        .or_else(|| well_known_sid_name(sid).map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gpt_ini_version_in_any_case() {
        assert_eq!(gpt_ini_version(b"[General]\r\nversion=196613\r\n"), Some(Version { user: 3, machine: 5 }));
        assert_eq!(gpt_ini_version(b"[General]\r\ndisplayName=x\r\n"), None);
    }
}
