//! The SYSVOL half of a GPO: its folder of files under `\\domain\SysVol\domain\Policies\{GUID}`.
//! Read and written over SMB (`smb`) or in a mounted or local folder (`local`).
//!
//! Writes are small primitives (make a folder, write a file, delete, rename, set an NT ACL) on
//! paths inside the Policies folder; the trait composes them into whole-folder operations
//! (`write_folder`, `replace_gpo_folder`, `set_gpo_security`), so every implementation gets the
//! same all-or-nothing replacement.

#[cfg(test)]
mod fault;
mod local;
mod ntacl;
mod path;
mod replace;
pub mod smb;
#[cfg(test)]
mod test_content;
#[cfg(test)]
pub(crate) mod testlab;

use async_trait::async_trait;

/// The folder's content is plain data, kept in the model (migrate and formats read it too).
pub use crate::model::{FolderEntry, GpoFolder};
pub use local::{LocalSysvol, read_tree as read_local_folder};
pub use ntacl::{directory_mask_to_file_mask, file_security_from_gpo};
pub use path::PolicyPath;
pub use replace::{ReplaceReport, ReplaceStep, WriteSummary, aside_prefix, staging_prefix};

use crate::model::{GpoId, SecurityDescriptor};

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
    /// A logon with the admin's Kerberos ticket failed; the reason says what to do.
    #[error("SMB logon to {server} with the Kerberos ticket failed: {reason}")]
    TicketLogon { server: String, reason: String },
    #[error("reading {path}: {reason}")]
    Io { path: String, reason: String },
    #[error(
        "access denied changing {path}: the account needs write access to SYSVOL (Domain Admins, or rights delegated on the GPO), and the item must not be read-only"
    )]
    WriteDenied { path: String },
    #[error("{path} is in use by another client (open in an editor or a console?): close it and retry")]
    InUse { path: String },
    #[error("{path} does not exist on SYSVOL: check the GPO's folder (gpvault gpo show) or recreate it")]
    NotFound { path: String },
    #[error("{path} already exists on SYSVOL: delete or rename it first, or write elsewhere")]
    AlreadyExists { path: String },
    #[error("'{path}' cannot be written to SYSVOL: {reason}")]
    InvalidPath { path: String, reason: String },
    #[error("{operation} is not supported by {sysvol}: {reason}")]
    Unsupported { operation: String, sysvol: String, reason: String },
    #[error(
        "GPO {gpo} has no DACL to derive its SYSVOL ACL from; read its security descriptor with owner, group and DACL (the SD flags control) and retry"
    )]
    NoDacl { gpo: GpoId },
    #[error("writing {path}: {reason}")]
    WriteFailed { path: String, reason: String },
    #[error("replacing the SYSVOL folder of GPO {gpo} failed while {step}: {source}. {outcome}")]
    ReplaceFailed {
        gpo: GpoId,
        step: ReplaceStep,
        /// What the folder looks like now, and what to do if anything is left to do.
        outcome: String,
        #[source]
        source: Box<SysvolError>,
    },
}

impl SysvolError {
    /// The error for an operation an implementation does not offer.
    pub fn unsupported(operation: &str, sysvol: String, reason: &str) -> SysvolError {
        SysvolError::Unsupported { operation: operation.to_string(), sysvol, reason: reason.to_string() }
    }
}

/// What is at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Folder,
}

/// One item below a folder, by its path relative to that folder (`/`-separated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeEntry {
    pub rel_path: String,
    pub kind: EntryKind,
}

/// The GPT.INI `samba-tool gpo create` writes into a new GPO's folder.
fn new_gpt_ini(display_name: Option<&str>) -> Vec<u8> {
    let mut text = String::from("[General]\r\nVersion=0\r\n");
    if let Some(name) = display_name {
        text.push_str(&format!("displayName={name}\r\n"));
    }
    text.into_bytes()
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
/// NT ACLs of a GPO folder's items by relative path ("" for the folder itself).
pub type FolderSecurity = std::collections::BTreeMap<String, SecurityDescriptor>;

#[async_trait]
pub trait Sysvol: Send + Sync {
    /// Reads every file and folder of one GPO. `unc_path` is its gPCFileSysPath.
    async fn read_gpo_folder(&self, gpo: &GpoId, unc_path: &str) -> Result<GpoFolder, SysvolError>;

    /// [`Sysvol::read_gpo_folder`], and the NT ACL of the folder and of every item in it, by
    /// relative path ("" for the folder): what a restore compares before it sets them. `None`
    /// where they are not read along with the content (the caller reads them one by one).
    async fn read_gpo_folder_with_security(
        &self,
        gpo: &GpoId,
        unc_path: &str,
    ) -> Result<(GpoFolder, Option<FolderSecurity>), SysvolError> {
        Ok((self.read_gpo_folder(gpo, unc_path).await?, None))
    }

    /// Reads one file at the top of a GPO folder (`GPT.INI`, say); `Ok(None)` when the file is absent.
    /// The default reads the whole folder; implementations can do better.
    async fn read_gpo_file(&self, gpo: &GpoId, unc_path: &str, rel_path: &str) -> Result<Option<Vec<u8>>, SysvolError> {
        let folder = self.read_gpo_folder(gpo, unc_path).await?;
        Ok(folder.file(rel_path).map(<[u8]>::to_vec))
    }

    /// Lists the GPO folders present (`{GUID}` names), to spot orphans and missing folders.
    async fn list_gpo_folders(&self) -> Result<Vec<String>, SysvolError>;

    /// Every folder in the Policies folder: GPO folders and the others (what an interrupted
    /// replacement left, `gpvault-new.{GUID}.tag`).
    async fn list_policies_folders(&self) -> Result<Vec<String>, SysvolError> {
        Err(SysvolError::unsupported("listing the Policies folder", self.describe(), "not offered here"))
    }

    /// A short description for status lines (`smb://127.0.0.1/sysvol`, `/mnt/sysvol`).
    fn describe(&self) -> String;

    // --- Writes. Paths are inside the domain's Policies folder. The primitives default to
    // `Unsupported`, so read-only implementations (test doubles) need not spell them out.

    /// What is at `path`, or `None` when nothing is.
    async fn entry_kind(&self, path: &PolicyPath) -> Result<Option<EntryKind>, SysvolError> {
        let _ = path;
        Err(SysvolError::unsupported("looking up a path", self.describe(), "this SYSVOL is read-only"))
    }

    /// The items directly inside the folder `path`, names only (no `.` or `..`).
    async fn list_folder(&self, path: &PolicyPath) -> Result<Vec<(String, EntryKind)>, SysvolError> {
        let _ = path;
        Err(SysvolError::unsupported("listing a folder", self.describe(), "this SYSVOL is read-only"))
    }

    /// Makes one folder; its parent must exist and the name must be free.
    async fn create_folder(&self, path: &PolicyPath) -> Result<(), SysvolError> {
        let _ = path;
        Err(SysvolError::unsupported("creating a folder", self.describe(), "this SYSVOL is read-only"))
    }

    /// Creates the file or replaces its content.
    async fn write_file(&self, path: &PolicyPath, bytes: &[u8]) -> Result<(), SysvolError> {
        let _ = (path, bytes);
        Err(SysvolError::unsupported("writing a file", self.describe(), "this SYSVOL is read-only"))
    }

    /// Deletes one file.
    async fn delete_file(&self, path: &PolicyPath) -> Result<(), SysvolError> {
        let _ = path;
        Err(SysvolError::unsupported("deleting a file", self.describe(), "this SYSVOL is read-only"))
    }

    /// Deletes a folder and everything in it (or a single file). Nothing there is not an error.
    async fn delete_tree(&self, path: &PolicyPath) -> Result<(), SysvolError> {
        let _ = path;
        Err(SysvolError::unsupported("deleting a folder", self.describe(), "this SYSVOL is read-only"))
    }

    /// Renames a file or folder; refuses when `to` exists.
    async fn rename(&self, from: &PolicyPath, to: &PolicyPath) -> Result<(), SysvolError> {
        let _ = (from, to);
        Err(SysvolError::unsupported("renaming", self.describe(), "this SYSVOL is read-only"))
    }

    /// The NT ACL of one file or folder: owner, group and DACL.
    async fn read_security(&self, path: &PolicyPath) -> Result<SecurityDescriptor, SysvolError> {
        let _ = path;
        Err(SysvolError::unsupported("reading an NT ACL", self.describe(), "not offered here"))
    }

    /// Sets owner, group and DACL of one file or folder from `sd` (its SACL is not written).
    async fn set_security(&self, path: &PolicyPath, sd: &SecurityDescriptor) -> Result<(), SysvolError> {
        let _ = (path, sd);
        Err(SysvolError::unsupported("setting an NT ACL", self.describe(), "not offered here"))
    }

    // --- Composed writes.

    /// Every item below the folder `path`, parents before children.
    async fn list_tree(&self, path: &PolicyPath) -> Result<Vec<TreeEntry>, SysvolError> {
        let mut out = Vec::new();
        let mut pending = vec![String::new()];
        while let Some(rel) = pending.pop() {
            let folder = if rel.is_empty() { path.clone() } else { path.join(&rel)? };
            for (name, kind) in self.list_folder(&folder).await? {
                let child = if rel.is_empty() { name } else { format!("{rel}/{name}") };
                if kind == EntryKind::Folder {
                    pending.push(child.clone());
                }
                out.push(TreeEntry { rel_path: child, kind });
            }
        }
        out.sort_by_key(|e| e.rel_path.to_lowercase());
        Ok(out)
    }

    /// Writes `content` into a new folder at `path` (which must not exist): folders first,
    /// parents before children, then the files. Every path is checked before anything is written.
    async fn write_folder(&self, path: &PolicyPath, content: &GpoFolder) -> Result<WriteSummary, SysvolError> {
        replace::write_folder(self, path, content).await
    }

    /// Creates an empty GPO folder as `samba-tool gpo create` does: GPT.INI at version 0 (with
    /// the display name when given), Machine and User.
    async fn create_gpo_folder(&self, gpo: &GpoId, display_name: Option<&str>) -> Result<PolicyPath, SysvolError> {
        let skeleton = GpoFolder {
            entries: vec![
                FolderEntry::File { rel_path: "GPT.INI".into(), bytes: new_gpt_ini(display_name) },
                FolderEntry::Dir { rel_path: "Machine".into() },
                FolderEntry::Dir { rel_path: "User".into() },
            ],
        };
        let path = PolicyPath::gpo(gpo);
        self.write_folder(&path, &skeleton).await?;
        Ok(path)
    }

    /// Sets owner, group and DACL of `path` and of everything below it to `sd`; returns how
    /// many items were set.
    async fn set_tree_security(&self, path: &PolicyPath, sd: &SecurityDescriptor) -> Result<usize, SysvolError> {
        self.set_security(path, sd).await?;
        let entries = self.list_tree(path).await?;
        for entry in &entries {
            self.set_security(&path.join(&entry.rel_path)?, sd).await?;
        }
        Ok(entries.len() + 1)
    }

    /// Gives a GPO's folder and everything in it the NT ACL derived from the GPO's security
    /// descriptor (see [`file_security_from_gpo`]); returns how many items were set.
    async fn set_gpo_security(&self, gpo: &GpoId, gpo_sd: &SecurityDescriptor) -> Result<usize, SysvolError> {
        let file_sd = file_security_from_gpo(gpo, gpo_sd)?;
        self.set_tree_security(&PolicyPath::gpo(gpo), &file_sd).await
    }

    /// Makes the GPO's folder hold exactly `content`, all or nothing: the content is written
    /// (and given the ACL derived from `gpo_sd`, when given) in a sibling temporary folder, then
    /// swapped in by two renames. Any failure before the swap leaves the old folder untouched;
    /// a failed swap puts it back. Only removing the old copy afterwards may leave a leftover,
    /// which the report names.
    async fn replace_gpo_folder(
        &self,
        gpo: &GpoId,
        content: &GpoFolder,
        gpo_sd: Option<&SecurityDescriptor>,
    ) -> Result<ReplaceReport, SysvolError> {
        replace::replace_gpo_folder(self, gpo, content, gpo_sd).await
    }
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
