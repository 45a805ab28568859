//! The SYSVOL half of a GPO: its folder of files under `\\domain\SysVol\domain\Policies\{GUID}`.
//! Read over SMB (`smb`) or from a mounted or local folder (`local`).

mod local;
pub mod smb;

use async_trait::async_trait;

/// The folder's content is plain data, kept in the model (migrate and formats read it too).
pub use crate::model::{FolderEntry, GpoFolder};
pub use local::LocalSysvol;

use crate::model::GpoId;

#[derive(Debug, thiserror::Error)]
pub enum SysvolError {
    #[error(
        "SYSVOL folder of GPO {gpo} is missing ({path}); the GPO is broken on the DC: restore it from a backup, or recreate its folder"
    )]
    GpoFolderMissing { gpo: GpoId, path: String },
    #[error("access denied reading {path}: the account needs read access to SYSVOL")]
    AccessDenied { path: String },
    #[error("cannot connect to SYSVOL on {server}: {reason}")]
    Connect { server: String, reason: String },
    #[error("SMB logon to {server} failed: {reason} (check the user and password)")]
    Logon { server: String, reason: String },
    #[error("reading {path}: {reason}")]
    Io { path: String, reason: String },
}

impl SysvolError {
    pub fn fix(&self) -> Option<crate::error::Fix> {
        match self {
            SysvolError::Connect { .. } => Some(crate::error::Fix::Server),
            SysvolError::Logon { .. } => Some(crate::error::Fix::Credentials),
            _ => None,
        }
    }
}

/// Where GPO folders are read from. Implementations must allow many reads at once.
#[async_trait]
pub trait Sysvol: Send + Sync {
    /// Reads every file and folder of one GPO. `unc_path` is its gPCFileSysPath.
    async fn read_gpo_folder(&self, gpo: &GpoId, unc_path: &str) -> Result<GpoFolder, SysvolError>;

    /// Reads one file at the top of a GPO folder (`GPT.INI`, say); `Ok(None)` when the file is absent.
    /// The default reads the whole folder; implementations can do better.
    async fn read_gpo_file(&self, gpo: &GpoId, unc_path: &str, rel_path: &str) -> Result<Option<Vec<u8>>, SysvolError> {
        let folder = self.read_gpo_folder(gpo, unc_path).await?;
        Ok(folder.file(rel_path).map(<[u8]>::to_vec))
    }

    /// Lists the GPO folders present (`{GUID}` names), to spot orphans and missing folders.
    async fn list_gpo_folders(&self) -> Result<Vec<String>, SysvolError>;

    /// A short description for status lines (`smb://127.0.0.1/sysvol`, `/mnt/sysvol`).
    fn describe(&self) -> String;
}

/// Splits `\\server\share\rest\of\path` into (server, share, rest-with-backslashes).
pub fn split_unc(unc: &str) -> Option<(&str, &str, &str)> {
    let trimmed = unc.strip_prefix(r"\\")?;
    let mut parts = trimmed.splitn(3, '\\');
    let server = parts.next().filter(|s| !s.is_empty())?;
    let share = parts.next().filter(|s| !s.is_empty())?;
    let rest = parts.next().unwrap_or("");
    Some((server, share, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_gpo_unc_paths() {
        let unc = r"\\corp.example.test\SysVol\corp.example.test\Policies\{31B2F340-016D-11D2-945F-00C04FB984F9}";
        let (server, share, rest) = split_unc(unc).unwrap();
        assert_eq!(server, "corp.example.test");
        assert_eq!(share, "SysVol");
        assert_eq!(rest, r"corp.example.test\Policies\{31B2F340-016D-11D2-945F-00C04FB984F9}");
        assert!(split_unc("/not/unc").is_none());
    }
}
