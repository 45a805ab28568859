use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::{BackupStore, StoreError, temp_name, write_error};

/// The files of one instance, relative to its folder with `/` separators, ready to write.
#[derive(Clone, Debug, Default)]
pub struct PendingInstance {
    pub backup_id: String,
    pub dirs: Vec<String>,
    pub files: Vec<(String, Vec<u8>)>,
}

/// An instance written under its temporary name, not yet synced nor listed. [`BackupStore::publish`]
/// makes a batch of them durable with one filesystem sync and renames them into place.
#[derive(Debug)]
pub struct StagedInstance {
    temp: PathBuf,
    final_path: PathBuf,
}

impl Drop for StagedInstance {
    /// A staged instance that is never published (its run failed or stopped) leaves nothing.
    fn drop(&mut self) {
        if self.temp.exists() {
            let _ = std::fs::remove_dir_all(&self.temp);
        }
    }
}

impl BackupStore {
    /// Writes one instance durably: staged, synced, renamed to `{BackupID}`. On any error the
    /// temporary folder is removed: nothing half-written stays behind.
    pub fn write_instance(&self, instance: &PendingInstance) -> Result<PathBuf, StoreError> {
        let staged = self.stage_instance(instance)?;
        self.publish(vec![staged]).pop().expect("one result per staged instance")
    }

    /// Writes the instance's files under a temporary name (never listed), without syncing:
    /// the sync is paid once per batch by [`BackupStore::publish`].
    pub fn stage_instance(&self, instance: &PendingInstance) -> Result<StagedInstance, StoreError> {
        let final_path = self.root().join(&instance.backup_id);
        if final_path.exists() {
            return Err(write_error(&final_path, "an instance with this backup ID already exists"));
        }
        let staged = StagedInstance { temp: self.root().join(temp_name(&instance.backup_id)), final_path };
        write_tree(&staged.temp, instance)?;
        Ok(staged)
    }

    /// Makes staged instances durable and lists them: one sync of the whole filesystem (every
    /// file and folder of the batch reaches the disk), then each rename, then one sync of the
    /// backup folder so the renames persist. An instance is never listed before its files are
    /// on disk, and the batch pays two syncs instead of one per file and folder.
    pub fn publish(&self, staged: Vec<StagedInstance>) -> Vec<Result<PathBuf, StoreError>> {
        if let Err(e) = sync_filesystem(self.root()) {
            return staged.iter().map(|_| Err(e.clone_for_batch())).collect();
        }
        let mut results: Vec<Result<PathBuf, StoreError>> = staged
            .into_iter()
            .map(|staged| {
                std::fs::rename(&staged.temp, &staged.final_path).map_err(|e| write_error(&staged.final_path, e))?;
                Ok(staged.final_path.clone())
            })
            .collect();
        if let Err(e) = sync_dir(self.root()) {
            // The renames may not survive a crash: say so for each, and take them back.
            for result in &mut results {
                if let Ok(path) = result {
                    let _ = std::fs::remove_dir_all(&*path);
                    *result = Err(e.clone_for_batch());
                }
            }
        }
        results
    }
}

impl StoreError {
    /// The same error for every instance of a batch.
    fn clone_for_batch(&self) -> StoreError {
        match self {
            StoreError::Folder { path, reason } => StoreError::Folder { path: path.clone(), reason: reason.clone() },
            StoreError::Write { path, reason } => StoreError::Write { path: path.clone(), reason: reason.clone() },
            StoreError::NoSuchInstance { id, dir } => StoreError::NoSuchInstance { id: id.clone(), dir: dir.clone() },
        }
    }
}

/// Backup folders and files are readable by their owner only: they hold security descriptors,
/// scripts and settings an attacker would like to read.
const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

pub(crate) fn create_private_dir_all(path: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(path)
}

fn write_tree(temp: &Path, instance: &PendingInstance) -> Result<(), StoreError> {
    DirBuilder::new().mode(DIR_MODE).create(temp).map_err(|e| write_error(temp, e))?;
    let result = (|| {
        for dir in &instance.dirs {
            let path = safe_join(temp, dir)?;
            create_private_dir_all(&path).map_err(|e| write_error(&path, e))?;
        }
        for (rel, bytes) in &instance.files {
            let path = safe_join(temp, rel)?;
            if let Some(parent) = path.parent()
                && !parent.is_dir()
            {
                create_private_dir_all(parent).map_err(|e| write_error(parent, e))?;
            }
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(FILE_MODE)
                .open(&path)
                .map_err(|e| write_error(&path, e))?;
            file.write_all(bytes).map_err(|e| write_error(&path, e))?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(temp);
    }
    result
}

/// syncfs(2) on the filesystem holding `dir`: every dirty page and inode of it reaches the disk.
fn sync_filesystem(dir: &Path) -> Result<(), StoreError> {
    let folder = File::open(dir).map_err(|e| write_error(dir, e))?;
    rustix::fs::syncfs(&folder).map_err(|e| write_error(dir, format!("syncing the filesystem: {e}")))
}

/// Joins a stored relative path under `root`, refusing anything that could escape it.
pub(crate) fn safe_join(root: &Path, rel: &str) -> Result<PathBuf, StoreError> {
    let mut path = root.to_path_buf();
    for part in rel.split(['/', '\\']) {
        if part.is_empty() || part == "." {
            continue;
        }
        if part == ".." || part.contains('\0') {
            return Err(write_error(root, format!("refusing unsafe path '{rel}'")));
        }
        path.push(part);
    }
    Ok(path)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(|e| write_error(dir, e))
}

/// temp file + fsync + rename + fsync of the folder.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(FILE_MODE)
            .open(&temp)
            .map_err(|e| write_error(&temp, e))?;
        file.write_all(bytes).map_err(|e| write_error(&temp, e))?;
        file.sync_all().map_err(|e| write_error(&temp, e))?;
        std::fs::rename(&temp, path).map_err(|e| write_error(path, e))?;
        sync_dir(parent)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_instances_are_private_and_listed_only_once_published() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("backups");
        let store = BackupStore::open(&root, true).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root), 0o700);
        let instance = |n: u32| PendingInstance {
            backup_id: format!("{{AAAAAAAA-0000-0000-0000-00000000000{n}}}"),
            dirs: vec!["DomainSysvol/GPO/User".into()],
            files: vec![("bkupInfo.xml".into(), b"<BackupInst/>".to_vec())],
        };
        let staged: Vec<StagedInstance> = (1..=3).map(|n| store.stage_instance(&instance(n)).unwrap()).collect();
        let listed = |store: &BackupStore| store.list().instances.len() + store.list().findings.len();
        assert_eq!(listed(&store), 0, "a staged instance is never listed");
        assert_eq!(store.list().partial_folders.len(), 3);
        let results = store.publish(staged);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert!(store.list().partial_folders.is_empty());
        for result in results {
            let path = result.unwrap();
            assert_eq!(mode(&path), 0o700);
            assert_eq!(mode(&path.join("DomainSysvol/GPO/User")), 0o700);
            assert_eq!(mode(&path.join("bkupInfo.xml")), 0o600);
        }
        // A staged instance that is dropped unpublished leaves nothing behind.
        drop(store.stage_instance(&instance(4)).unwrap());
        assert!(store.list().partial_folders.is_empty());
    }

    #[test]
    fn writes_whole_instances_and_refuses_escapes() {
        let tmp = tempfile::tempdir().unwrap();
        let store = BackupStore::open(tmp.path(), false).unwrap();
        let instance = PendingInstance {
            backup_id: "{AAAAAAAA-0000-0000-0000-000000000001}".into(),
            dirs: vec!["DomainSysvol/GPO/User".into()],
            files: vec![("DomainSysvol/GPO/Machine/registry.pol".into(), b"PReg".to_vec())],
        };
        let path = store.write_instance(&instance).unwrap();
        assert_eq!(std::fs::read(path.join("DomainSysvol/GPO/Machine/registry.pol")).unwrap(), b"PReg");
        assert!(path.join("DomainSysvol/GPO/User").is_dir());
        // A second write with the same ID is refused, and leaves no temporary folder.
        assert!(store.write_instance(&instance).is_err());

        let evil = PendingInstance {
            backup_id: "{AAAAAAAA-0000-0000-0000-000000000002}".into(),
            dirs: vec![],
            files: vec![("../escape".into(), vec![])],
        };
        assert!(store.write_instance(&evil).is_err());
        let names: Vec<String> =
            std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        assert_eq!(names, ["{AAAAAAAA-0000-0000-0000-000000000001}"]);
        assert!(!tmp.path().join("escape").exists());
    }
}
