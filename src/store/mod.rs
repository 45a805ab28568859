//! The backup folder: GPMC's layout, one `{BackupID}` folder per instance plus `manifest.xml`.
//!
//! Write order follows rustic: an instance is written under a temporary name, synced and renamed
//! into place; only then is the manifest (a cache of every instance's bkupInfo.xml, rebuildable
//! at any time) rewritten through a temporary file and a rename, under a lock file. An
//! interrupted run can leave a temporary folder (reported and cleaned), never a listed instance
//! with missing files.

mod index;
mod journal;
mod listing;
mod verify;
mod write;

pub use index::{INDEX_FILE, InstanceStats, measure_instance};
pub use journal::{ChangeRecord, InterruptedChange, JOURNAL_PREFIX, JournalEntry};
pub use listing::{BackupListing, Incomplete, InstanceSummary, ListingSource, StoreFinding, latest_per_gpo};
pub use verify::{InstanceCheck, VerifyProblem, verify_instance};
pub use write::{PendingInstance, StagedInstance};

use std::fs::File;
use std::path::{Path, PathBuf};

/// Prefix of instance folders being written or removed; never listed as backups. The writer's
/// process ID follows (`.gpvault-partial-{pid}-{what}`), so a leftover of a run that died can be
/// told from the folder of a run still going.
pub const TEMP_PREFIX: &str = ".gpvault-partial-";
pub const MANIFEST_FILE: &str = "manifest.xml";
pub const LOCK_FILE: &str = ".gpvault.lock";
/// gpvault's own file in each instance, holding what GPMC's files leave out. GPMC ignores it.
pub const GPVAULT_JSON_FILE: &str = "gpvault.json";
/// No file of a backup folder is this large (no GPO file, nor the manifest of a folder holding
/// a million instances): a bigger one is refused rather than read into memory.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Reads a file of a backup folder whole, refusing what is not a plain file or is larger than
/// [`MAX_FILE_BYTES`] (also when it grows while being read).
pub(crate) fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let too_large = |len: u64| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{len} bytes is more than any file of a backup holds ({MAX_FILE_BYTES} at most)"),
        )
    };
    // Checked before opening: opening a FIFO waits for a writer that may never come.
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "it is not a file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(meta.len()));
    }
    let file = File::open(path)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("backup folder {path}: {reason}")]
    Folder { path: String, reason: String },
    #[error("writing {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("no backup with ID {id} in {dir}")]
    NoSuchInstance { id: String, dir: String },
}

pub(crate) fn write_error(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Write { path: path.display().to_string(), reason: e.to_string() }
}

/// One backup folder on disk (local or a mounted share).
#[derive(Clone, Debug)]
pub struct BackupStore {
    root: PathBuf,
}

impl BackupStore {
    /// Opens a backup folder, creating it when `create` is set.
    pub fn open(root: &Path, create: bool) -> Result<BackupStore, StoreError> {
        if create {
            write::create_private_dir_all(root).map_err(|e| StoreError::Folder {
                path: root.display().to_string(),
                reason: format!("cannot create it: {e}"),
            })?;
        }
        if !root.is_dir() {
            return Err(StoreError::Folder { path: root.display().to_string(), reason: "no such folder".into() });
        }
        Ok(BackupStore { root: root.to_path_buf() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn instance_path(&self, backup_id: &str) -> PathBuf {
        self.root.join(backup_id)
    }

    /// Holds the folder's lock file until dropped. Serialises manifest updates and deletes
    /// between concurrent runs (a second gpvault, a cron job).
    pub fn lock(&self) -> Result<StoreLock, StoreError> {
        let path = self.root.join(LOCK_FILE);
        let file =
            File::options().create(true).truncate(false).write(true).open(&path).map_err(|e| write_error(&path, e))?;
        file.lock().map_err(|e| write_error(&path, e))?;
        Ok(StoreLock { _file: file })
    }

    /// Rewrites manifest.xml from the instance folders (their bkupInfo.xml is the truth), and
    /// gpvault's index beside it; returns how many instances the manifest lists.
    pub fn rebuild_manifest(&self) -> Result<usize, StoreError> {
        let lock = self.lock()?;
        self.rebuild_manifest_locked(&lock)
    }

    /// [`BackupStore::rebuild_manifest`] for a caller that holds the lock already.
    pub fn rebuild_manifest_locked(&self, _lock: &StoreLock) -> Result<usize, StoreError> {
        let mut listing = self.list();
        // Sizes of instances already in the index are reused: an instance never changes.
        index::fill_stats(&self.root, &mut listing.instances);
        self.write_manifest_and_index(&listing.instances)
    }

    /// Rewrites manifest.xml and the index from the fast listing ([`BackupStore::list_fast`]):
    /// the manifest's entries whose folders are still there are kept as they are, new folders
    /// are read, entries of removed folders dropped. What a delete needs, without reading every
    /// instance of a large folder again.
    pub fn update_manifest_locked(&self, _lock: &StoreLock) -> Result<usize, StoreError> {
        let listing = self.list_fast();
        self.write_manifest_and_index(&listing.instances)
    }

    /// Data first, index last: manifest.xml, then gpvault's index (a crash between the two
    /// leaves an index with entries the listing does not ask for, which is harmless).
    fn write_manifest_and_index(&self, instances: &[InstanceSummary]) -> Result<usize, StoreError> {
        // An instance without bkupInfo.xml is not one GPMC can list: it stays out.
        let infos: Vec<_> = instances.iter().filter(|i| i.incomplete.is_none()).map(|i| i.info.clone()).collect();
        let infos_len = infos.len();
        let bytes = crate::formats::manifest::Manifest { backups: infos }.to_bytes();
        write::write_atomically(&self.root.join(MANIFEST_FILE), &bytes)?;
        index::write_index(&self.root, instances)?;
        Ok(infos_len)
    }

    /// Removes what interrupted runs left: temporary instance folders and temporary manifest or
    /// index files whose writer is no longer running. A run still going keeps its own.
    pub fn clean_partial(&self) -> Result<Vec<PathBuf>, StoreError> {
        let lock = self.lock()?;
        self.clean_partial_locked(&lock)
    }

    /// [`BackupStore::clean_partial`] for a caller that holds the lock already.
    pub fn clean_partial_locked(&self, _lock: &StoreLock) -> Result<Vec<PathBuf>, StoreError> {
        let mut removed = Vec::new();
        let entries = std::fs::read_dir(&self.root).map_err(|e| write_error(&self.root, e))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(owner) = temp_owner(&name) else { continue };
            if owner.is_some_and(process_is_running) {
                continue;
            }
            let path = entry.path();
            let gone = match entry.file_type() {
                Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
                _ => std::fs::remove_file(&path),
            };
            match gone {
                Ok(()) => removed.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(write_error(&path, e)),
            }
        }
        if !removed.is_empty() {
            write::sync_dir(&self.root)?;
        }
        removed.sort();
        Ok(removed)
    }

    /// Deletes one instance and drops it from the manifest.
    pub fn delete(&self, backup_id: &str) -> Result<(), StoreError> {
        let listing = self.list_fast();
        let instance = listing
            .instances
            .iter()
            .find(|i| i.info.id.eq_ignore_ascii_case(backup_id) || i.folder_name.eq_ignore_ascii_case(backup_id))
            .ok_or_else(|| StoreError::NoSuchInstance { id: backup_id.into(), dir: self.root.display().to_string() })?;
        let lock = self.lock()?;
        self.remove_instance_locked(&lock, &instance.folder_name)?;
        self.update_manifest_locked(&lock)?;
        Ok(())
    }

    /// Removes the instance folder `folder_name` (directly in this folder). It is renamed to a
    /// temporary name first, so a crash half-way leaves a leftover that listing reports and
    /// repair removes, never a half instance that looks whole. The manifest is not touched:
    /// update it once after removing what is to go.
    pub fn remove_instance_locked(&self, _lock: &StoreLock, folder_name: &str) -> Result<(), StoreError> {
        if folder_name.is_empty() || folder_name.contains(['/', '\\']) || folder_name == "." || folder_name == ".." {
            return Err(write_error(&self.root, format!("refusing to remove '{folder_name}': not an instance folder")));
        }
        let path = self.root.join(folder_name);
        if !path.is_dir() {
            return Err(StoreError::NoSuchInstance { id: folder_name.into(), dir: self.root.display().to_string() });
        }
        let doomed = self.root.join(temp_name(&format!("deleted-{folder_name}")));
        std::fs::rename(&path, &doomed).map_err(|e| write_error(&path, e))?;
        std::fs::remove_dir_all(&doomed).map_err(|e| write_error(&doomed, e))?;
        write::sync_dir(&self.root)
    }
}

/// The name of a temporary folder of this process: `.gpvault-partial-{pid}-{what}`.
pub(crate) fn temp_name(what: &str) -> String {
    format!("{TEMP_PREFIX}{}-{what}", std::process::id())
}

/// Whether `name` is one of gpvault's temporary names in a backup folder, and if so the process
/// that made it (`None`: a name without one, from an older gpvault: its writer is long gone).
fn temp_owner(name: &str) -> Option<Option<u32>> {
    if let Some(rest) = name.strip_prefix(TEMP_PREFIX) {
        return Some(rest.split_once('-').and_then(|(pid, _)| pid.parse().ok()));
    }
    // write::write_atomically's `.{file}.{pid}.tmp`, for manifest.xml and the index.
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (file, pid) = rest.rsplit_once('.')?;
    ([MANIFEST_FILE, INDEX_FILE].contains(&file) || file.starts_with(journal::JOURNAL_PREFIX)).then(|| pid.parse().ok())
}

fn process_is_running(pid: u32) -> bool {
    pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists()
}

pub struct StoreLock {
    _file: File,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process ID that was in use and is no longer.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn leftovers_of_dead_runs_are_removed_and_a_running_writers_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let store = BackupStore::open(tmp.path(), false).unwrap();
        let dead = dead_pid();
        let mine = temp_name("{11111111-0000-0000-0000-000000000001}");
        let names = [
            format!("{TEMP_PREFIX}{dead}-{{22222222-0000-0000-0000-000000000002}}"),
            format!("{TEMP_PREFIX}{{33333333-0000-0000-0000-000000000003}}"),
            mine.clone(),
        ];
        for name in &names {
            std::fs::create_dir_all(tmp.path().join(name).join("DomainSysvol")).unwrap();
        }
        std::fs::write(tmp.path().join(format!(".manifest.xml.{dead}.tmp")), b"<half").unwrap();
        std::fs::write(tmp.path().join(".notes.1.tmp"), b"not ours").unwrap();
        assert_eq!(store.list().partial_folders.len(), 3, "every temporary folder is reported");

        let removed = store.clean_partial().unwrap();
        let removed: Vec<String> =
            removed.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        let mut expected = vec![names[0].clone(), names[1].clone(), format!(".manifest.xml.{dead}.tmp")];
        expected.sort();
        assert_eq!(removed, expected);
        assert!(tmp.path().join(&mine).is_dir(), "a running writer's folder stays");
        assert!(tmp.path().join(".notes.1.tmp").is_file(), "files that are not gpvault's stay");
    }
}
