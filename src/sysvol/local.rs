use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{EntryKind, FolderEntry, GpoFolder, PolicyPath, Sysvol, SysvolError, split_unc};
use crate::model::{GpoId, SecurityDescriptor};

/// SYSVOL read from a folder: a CIFS mount, a copy, or the DC's own disk.
/// `root` may be the share root (holding `<domain>/Policies`), the domain folder (holding
/// `Policies`) or the Policies folder itself.
pub struct LocalSysvol {
    policies: PathBuf,
}

impl LocalSysvol {
    pub fn open(root: &Path, domain: &str) -> Result<Self, SysvolError> {
        let candidates = [
            root.join(domain).join("Policies"),
            root.join(domain).join("policies"),
            root.join("Policies"),
            root.join("policies"),
            root.to_path_buf(),
        ];
        let policies = candidates
            .into_iter()
            .find(|p| p.is_dir() && (p.ends_with("Policies") || p.ends_with("policies") || looks_like_policies(p)))
            .ok_or_else(|| SysvolError::Io {
                path: root.display().to_string(),
                reason: format!(
                    "no Policies folder there (looked for {0}/{domain}/Policies and {0}/Policies); \
                     point --sysvol-path at the SYSVOL share root",
                    root.display()
                ),
            })?;
        Ok(LocalSysvol { policies })
    }

    /// Finds the GPO folder whatever the case of its name (Samba keeps the case it was created with).
    fn gpo_dir(&self, gpo: &GpoId, unc_path: &str) -> Option<PathBuf> {
        let wanted = split_unc(unc_path)
            .and_then(|(_, _, rest)| rest.rsplit('\\').next().map(str::to_string))
            .unwrap_or_else(|| gpo.to_string());
        let exact = self.policies.join(&wanted);
        if exact.is_dir() {
            return Some(exact);
        }
        std::fs::read_dir(&self.policies).ok()?.flatten().map(|e| e.path()).find(|p| {
            p.is_dir() && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.eq_ignore_ascii_case(&wanted))
        })
    }
}

impl LocalSysvol {
    /// `path` on disk, each existing component matched whatever its case (as SMB would), the
    /// rest as given.
    fn resolve(&self, path: &PolicyPath) -> PathBuf {
        let mut at = self.policies.clone();
        for name in path.components() {
            let exact = at.join(name);
            if exact.symlink_metadata().is_ok() {
                at = exact;
                continue;
            }
            let found = std::fs::read_dir(&at).ok().and_then(|rd| {
                rd.flatten().map(|e| e.file_name()).find(|n| n.to_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            });
            at = match found {
                Some(actual) => at.join(actual),
                None => exact,
            };
        }
        at
    }
}

/// Write errors of the local file system in SYSVOL's terms.
fn write_error(path: &Path, e: std::io::Error) -> SysvolError {
    let shown = path.display().to_string();
    match e.kind() {
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            SysvolError::WriteDenied { path: shown }
        }
        std::io::ErrorKind::NotFound => SysvolError::NotFound { path: shown },
        std::io::ErrorKind::AlreadyExists => SysvolError::AlreadyExists { path: shown },
        _ => SysvolError::WriteFailed { path: shown, reason: e.to_string() },
    }
}

/// Runs blocking file-system work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SysvolError> + Send + 'static,
) -> Result<T, SysvolError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| SysvolError::Io { path: String::new(), reason: format!("file-system task failed: {e}") })?
}

fn kind_of(path: &Path) -> Result<Option<EntryKind>, SysvolError> {
    match path.symlink_metadata() {
        Ok(meta) if meta.is_dir() => Ok(Some(EntryKind::Folder)),
        Ok(_) => Ok(Some(EntryKind::File)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path, e)),
    }
}

fn looks_like_policies(p: &Path) -> bool {
    std::fs::read_dir(p)
        .map(|rd| rd.flatten().any(|e| e.file_name().to_string_lossy().starts_with('{')))
        .unwrap_or(false)
}

fn io_error(path: &Path, e: std::io::Error) -> SysvolError {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        SysvolError::AccessDenied { path: path.display().to_string() }
    } else {
        SysvolError::Io { path: path.display().to_string(), reason: e.to_string() }
    }
}

/// Reads every file and folder below `root` into memory, sorted (any folder: a GPO's, or a backup's
/// `DomainSysvol/GPO`).
pub fn read_tree(root: &Path) -> Result<GpoFolder, SysvolError> {
    let mut folder = GpoFolder::default();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let dir = root.join(&rel);
        for entry in std::fs::read_dir(&dir).map_err(|e| io_error(&dir, e))? {
            let entry = entry.map_err(|e| io_error(&dir, e))?;
            let rel_child = rel.join(entry.file_name());
            let rel_text = rel_child.to_string_lossy().replace('\\', "/");
            let kind = entry.file_type().map_err(|e| io_error(&entry.path(), e))?;
            if kind.is_dir() {
                folder.entries.push(FolderEntry::Dir { rel_path: rel_text });
                pending.push(rel_child);
            } else if kind.is_file() {
                let bytes = std::fs::read(entry.path()).map_err(|e| io_error(&entry.path(), e))?;
                folder.entries.push(FolderEntry::File { rel_path: rel_text, bytes });
            }
        }
    }
    folder.sort();
    Ok(folder)
}

#[async_trait]
impl Sysvol for LocalSysvol {
    async fn read_gpo_folder(&self, gpo: &GpoId, unc_path: &str) -> Result<GpoFolder, SysvolError> {
        let dir = self.gpo_dir(gpo, unc_path).ok_or_else(|| SysvolError::GpoFolderMissing {
            gpo: *gpo,
            path: self.policies.join(gpo.to_string()).display().to_string(),
        })?;
        tokio::task::spawn_blocking(move || read_tree(&dir))
            .await
            .map_err(|e| SysvolError::Io { path: String::new(), reason: e.to_string() })?
    }

    async fn read_gpo_file(&self, gpo: &GpoId, unc_path: &str, rel_path: &str) -> Result<Option<Vec<u8>>, SysvolError> {
        let dir = self.gpo_dir(gpo, unc_path).ok_or_else(|| SysvolError::GpoFolderMissing {
            gpo: *gpo,
            path: self.policies.join(gpo.to_string()).display().to_string(),
        })?;
        // Case-insensitive like SMB: GPT.INI is often gpt.ini on Samba.
        let found = std::fs::read_dir(&dir)
            .map_err(|e| io_error(&dir, e))?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.eq_ignore_ascii_case(rel_path)));
        match found {
            Some(path) => std::fs::read(&path).map(Some).map_err(|e| io_error(&path, e)),
            None => Ok(None),
        }
    }

    async fn list_gpo_folders(&self) -> Result<Vec<String>, SysvolError> {
        Ok(self.list_policies_folders().await?.into_iter().filter(|n| n.starts_with('{')).collect())
    }

    async fn list_policies_folders(&self) -> Result<Vec<String>, SysvolError> {
        let rd = std::fs::read_dir(&self.policies).map_err(|e| io_error(&self.policies, e))?;
        Ok(rd.flatten().filter(|e| e.path().is_dir()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
    }

    fn describe(&self) -> String {
        self.policies.display().to_string()
    }

    async fn entry_kind(&self, path: &PolicyPath) -> Result<Option<EntryKind>, SysvolError> {
        let at = self.resolve(path);
        blocking(move || kind_of(&at)).await
    }

    async fn list_folder(&self, path: &PolicyPath) -> Result<Vec<(String, EntryKind)>, SysvolError> {
        let at = self.resolve(path);
        blocking(move || {
            let mut out = Vec::new();
            for entry in std::fs::read_dir(&at).map_err(|e| write_error(&at, e))? {
                let entry = entry.map_err(|e| io_error(&at, e))?;
                let kind = if entry.file_type().map_err(|e| io_error(&entry.path(), e))?.is_dir() {
                    EntryKind::Folder
                } else {
                    EntryKind::File
                };
                out.push((entry.file_name().to_string_lossy().into_owned(), kind));
            }
            out.sort_by_key(|(name, _)| name.to_lowercase());
            Ok(out)
        })
        .await
    }

    async fn create_folder(&self, path: &PolicyPath) -> Result<(), SysvolError> {
        let at = self.resolve(path);
        blocking(move || std::fs::create_dir(&at).map_err(|e| write_error(&at, e))).await
    }

    async fn write_file(&self, path: &PolicyPath, bytes: &[u8]) -> Result<(), SysvolError> {
        let at = self.resolve(path);
        let bytes = bytes.to_vec();
        blocking(move || std::fs::write(&at, bytes).map_err(|e| write_error(&at, e))).await
    }

    async fn delete_file(&self, path: &PolicyPath) -> Result<(), SysvolError> {
        let at = self.resolve(path);
        blocking(move || std::fs::remove_file(&at).map_err(|e| write_error(&at, e))).await
    }

    async fn delete_tree(&self, path: &PolicyPath) -> Result<(), SysvolError> {
        let at = self.resolve(path);
        blocking(move || match kind_of(&at)? {
            None => Ok(()),
            Some(EntryKind::File) => std::fs::remove_file(&at).map_err(|e| write_error(&at, e)),
            Some(EntryKind::Folder) => std::fs::remove_dir_all(&at).map_err(|e| write_error(&at, e)),
        })
        .await
    }

    /// A check, then rename(2): std has no rename that refuses an existing target, and
    /// rename(2) silently replaces an empty folder. A writer racing us in between is not guarded.
    async fn rename(&self, from: &PolicyPath, to: &PolicyPath) -> Result<(), SysvolError> {
        let (source, target) = (self.resolve(from), self.resolve(to));
        blocking(move || {
            if kind_of(&source)?.is_none() {
                return Err(SysvolError::NotFound { path: source.display().to_string() });
            }
            // The same item under another case of its name is a rename, not a clash.
            let same = source.parent() == target.parent()
                && source
                    .file_name()
                    .zip(target.file_name())
                    .is_some_and(|(a, b)| a.to_string_lossy().eq_ignore_ascii_case(&b.to_string_lossy()));
            if !same && kind_of(&target)?.is_some() {
                return Err(SysvolError::AlreadyExists { path: target.display().to_string() });
            }
            std::fs::rename(&source, &target).map_err(|e| write_error(&source, e))
        })
        .await
    }

    /// Samba keeps NT ACLs in its own `security.NTACL` extended attribute (an NDR blob with a
    /// hash of the POSIX ACL), which only Samba should write: set ACLs over SMB instead.
    async fn read_security(&self, path: &PolicyPath) -> Result<SecurityDescriptor, SysvolError> {
        let _ = path;
        Err(SysvolError::unsupported(
            "reading an NT ACL",
            self.describe(),
            "a local or mounted folder has no NT ACLs gpvault can read; read it over SMB instead of from a folder",
        ))
    }

    async fn set_security(&self, path: &PolicyPath, sd: &SecurityDescriptor) -> Result<(), SysvolError> {
        let _ = (path, sd);
        Err(SysvolError::unsupported(
            "setting an NT ACL",
            self.describe(),
            "on a mounted path NT ACLs are Samba's security.NTACL attribute; write over SMB instead of to a folder, \
             or run `samba-tool ntacl sysvolreset` on the DC afterwards",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_a_gpo_folder_tree_case_insensitively() {
        let tmp = tempfile::tempdir().unwrap();
        let id: GpoId = "{31B2F340-016D-11D2-945F-00C04FB984F9}".parse().unwrap();
        let gpo_dir = tmp.path().join("corp.example.test/Policies/{31b2f340-016d-11d2-945f-00c04fb984f9}");
        std::fs::create_dir_all(gpo_dir.join("Machine/Microsoft")).unwrap();
        std::fs::create_dir_all(gpo_dir.join("User")).unwrap();
        std::fs::write(gpo_dir.join("GPT.INI"), b"[General]\r\nVersion=1\r\n").unwrap();
        std::fs::write(gpo_dir.join("Machine/registry.pol"), b"PReg\x01\0\0\0").unwrap();
        let sysvol = LocalSysvol::open(tmp.path(), "corp.example.test").unwrap();
        let unc = format!(r"\\corp.example.test\SysVol\corp.example.test\Policies\{id}");
        let folder = sysvol.read_gpo_folder(&id, &unc).await.unwrap();
        let paths: Vec<&str> = folder.entries.iter().map(|e| e.rel_path()).collect();
        assert_eq!(paths, ["GPT.INI", "Machine", "Machine/Microsoft", "Machine/registry.pol", "User"]);
        assert_eq!(folder.file("gpt.ini").unwrap(), b"[General]\r\nVersion=1\r\n");

        let other: GpoId = "{6AC1786C-016F-11D2-945F-00C04FB984F9}".parse().unwrap();
        let err = sysvol.read_gpo_folder(&other, "").await.unwrap_err();
        assert!(matches!(err, SysvolError::GpoFolderMissing { .. }), "{err}");
    }
}
