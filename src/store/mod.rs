//! The backup folder: GPMC's layout, one `{BackupID}` folder per instance plus `manifest.xml`.
//!
//! Write order follows rustic: an instance is written under a temporary name, synced and renamed
//! into place; only then is the manifest (a cache of every instance's bkupInfo.xml, rebuildable
//! at any time) rewritten through a temporary file and a rename, under a lock file. An
//! interrupted run can leave a temporary folder (reported and cleaned), never a listed instance
//! with missing files.

mod listing;
mod verify;
mod write;

pub use listing::{BackupListing, Incomplete, InstanceSummary, StoreFinding, latest_per_gpo};
pub use verify::{InstanceCheck, VerifyProblem, verify_instance};
pub use write::{PendingInstance, StagedInstance};

use std::fs::File;
use std::path::{Path, PathBuf};

/// Prefix of instance folders being written; never listed as backups.
pub const TEMP_PREFIX: &str = ".gpvault-partial-";
pub const MANIFEST_FILE: &str = "manifest.xml";
pub const LOCK_FILE: &str = ".gpvault.lock";
/// gpvault's own file in each instance, holding what GPMC's files leave out. GPMC ignores it.
pub const GPVAULT_JSON_FILE: &str = "gpvault.json";

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

    /// Rewrites manifest.xml from the instance folders (their bkupInfo.xml is the truth); returns
    /// how many instances it lists.
    pub fn rebuild_manifest(&self) -> Result<usize, StoreError> {
        let _lock = self.lock()?;
        let listing = self.list();
        // An instance without bkupInfo.xml is not one GPMC can list: it stays out.
        let infos: Vec<_> =
            listing.instances.iter().filter(|i| i.incomplete.is_none()).map(|i| i.info.clone()).collect();
        let infos_len = infos.len();
        let bytes = crate::formats::manifest::Manifest { backups: infos }.to_bytes();
        let path = self.root.join(MANIFEST_FILE);
        write::write_atomically(&path, &bytes)?;
        Ok(infos_len)
    }

    /// Removes leftover temporary folders of interrupted runs; returns what it removed.
    pub fn clean_partial(&self) -> Result<Vec<PathBuf>, StoreError> {
        let _lock = self.lock()?;
        let mut removed = Vec::new();
        for path in self.list().partial_folders {
            std::fs::remove_dir_all(&path).map_err(|e| write_error(&path, e))?;
            removed.push(path);
        }
        Ok(removed)
    }

    /// Deletes one instance and drops it from the manifest.
    pub fn delete(&self, backup_id: &str) -> Result<(), StoreError> {
        let listing = self.list();
        let instance = listing
            .instances
            .iter()
            .find(|i| i.info.id.eq_ignore_ascii_case(backup_id) || i.folder_name.eq_ignore_ascii_case(backup_id))
            .ok_or_else(|| StoreError::NoSuchInstance { id: backup_id.into(), dir: self.root.display().to_string() })?;
        {
            let _lock = self.lock()?;
            // Rename first so a crash mid-delete leaves a partial folder, not a half instance.
            let doomed = self.root.join(format!("{TEMP_PREFIX}deleted-{}", instance.folder_name));
            std::fs::rename(&instance.path, &doomed).map_err(|e| write_error(&instance.path, e))?;
            std::fs::remove_dir_all(&doomed).map_err(|e| write_error(&doomed, e))?;
        }
        self.rebuild_manifest()?;
        Ok(())
    }
}

pub struct StoreLock {
    _file: File,
}
