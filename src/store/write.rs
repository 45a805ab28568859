use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{BackupStore, StoreError, TEMP_PREFIX, write_error};

/// The files of one instance, relative to its folder with `/` separators, ready to write.
#[derive(Clone, Debug, Default)]
pub struct PendingInstance {
    pub backup_id: String,
    pub dirs: Vec<String>,
    pub files: Vec<(String, Vec<u8>)>,
}

impl BackupStore {
    /// Writes the instance under a temporary name, syncs it, renames it to `{BackupID}`.
    /// On any error the temporary folder is removed: nothing half-written stays behind.
    pub fn write_instance(&self, instance: &PendingInstance) -> Result<PathBuf, StoreError> {
        let final_path = self.root().join(&instance.backup_id);
        if final_path.exists() {
            return Err(write_error(&final_path, "an instance with this backup ID already exists"));
        }
        let temp = self.root().join(format!("{TEMP_PREFIX}{}", instance.backup_id));
        let result = write_tree(&temp, instance).and_then(|()| {
            std::fs::rename(&temp, &final_path).map_err(|e| write_error(&final_path, e))?;
            sync_dir(self.root())
        });
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&temp);
        }
        result.map(|()| final_path)
    }
}

fn write_tree(temp: &Path, instance: &PendingInstance) -> Result<(), StoreError> {
    std::fs::create_dir(temp).map_err(|e| write_error(temp, e))?;
    let mut made_dirs: Vec<PathBuf> = vec![temp.to_path_buf()];
    for dir in &instance.dirs {
        let path = safe_join(temp, dir)?;
        std::fs::create_dir_all(&path).map_err(|e| write_error(&path, e))?;
        made_dirs.push(path);
    }
    for (rel, bytes) in &instance.files {
        let path = safe_join(temp, rel)?;
        if let Some(parent) = path.parent()
            && !parent.is_dir()
        {
            std::fs::create_dir_all(parent).map_err(|e| write_error(parent, e))?;
            made_dirs.push(parent.to_path_buf());
        }
        let mut file = File::create(&path).map_err(|e| write_error(&path, e))?;
        file.write_all(bytes).map_err(|e| write_error(&path, e))?;
        file.sync_all().map_err(|e| write_error(&path, e))?;
    }
    // Directory entries must reach the disk too before the rename publishes the instance.
    for dir in made_dirs.iter().rev() {
        sync_dir(dir)?;
    }
    Ok(())
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
        let mut file = File::create(&temp).map_err(|e| write_error(&temp, e))?;
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
