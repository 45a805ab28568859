//! Checking instances: every file present with the size and SHA-256 recorded at backup time.
//! A collector, as rustic's check: it gathers every problem of every instance, never stopping at
//! the first, and names the instance and the file.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{GPVAULT_JSON_FILE, InstanceSummary};
use crate::formats::BackupXml;
use crate::formats::bkup_info::BackupInfo;
use crate::formats::gpvault_json::GpvaultJson;

/// What is wrong with one file of an instance.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyProblem {
    #[error("{file} is missing")]
    Missing { file: String },
    #[error("{file} is {found} bytes, {expected} were backed up")]
    SizeDiffers { file: String, expected: u64, found: u64 },
    #[error("{file} does not have the SHA-256 recorded at backup time (changed or damaged)")]
    HashDiffers { file: String },
    #[error("{file} cannot be read: {reason}")]
    Unreadable { file: String, reason: String },
}

/// One instance's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceCheck {
    pub backup_id: String,
    pub path: PathBuf,
    /// Files checked against a recorded size and hash (gpvault's instances), or only for presence
    /// (GPMC's, which record no hashes).
    pub files_checked: usize,
    pub hashed: bool,
    pub problems: Vec<VerifyProblem>,
}

impl InstanceCheck {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks one instance. gpvault's instances are checked against gpvault.json (size and SHA-256
/// of every SYSVOL file); GPMC's against Backup.xml (every file it locates must be there).
pub fn verify_instance(instance: &InstanceSummary) -> InstanceCheck {
    let mut check = InstanceCheck {
        backup_id: instance.info.id.clone(),
        path: instance.path.clone(),
        files_checked: 0,
        hashed: false,
        problems: Vec::new(),
    };
    let dir = &instance.path;
    for (name, parse) in [
        ("bkupInfo.xml", (|b: &[u8]| BackupInfo::parse(b).map(|_| ())) as fn(&[u8]) -> Result<(), _>),
        ("Backup.xml", |b: &[u8]| BackupXml::parse(b).map(|_| ())),
    ] {
        match read(dir, name) {
            Ok(bytes) => {
                if let Err(e) = parse(&bytes) {
                    check.problems.push(VerifyProblem::Unreadable { file: name.into(), reason: e.to_string() });
                }
            }
            Err(problem) => check.problems.push(problem),
        }
    }
    if instance.has_gpvault_json {
        check.hashed = true;
        let extra = match read(dir, GPVAULT_JSON_FILE)
            .and_then(|b| GpvaultJson::parse(&b).map_err(|e| unreadable(GPVAULT_JSON_FILE, e)))
        {
            Ok(extra) => extra,
            Err(problem) => {
                check.problems.push(problem);
                return check;
            }
        };
        for item in extra.sysvol.iter().filter(|i| !i.is_dir) {
            let Some(at) = &item.stored_at else { continue };
            check.files_checked += 1;
            let bytes = match read(dir, at) {
                Ok(bytes) => bytes,
                Err(problem) => {
                    check.problems.push(problem);
                    continue;
                }
            };
            if bytes.len() as u64 != item.size {
                check.problems.push(VerifyProblem::SizeDiffers {
                    file: at.clone(),
                    expected: item.size,
                    found: bytes.len() as u64,
                });
            } else if let Some(expected) = &item.sha256
                && !hex::encode(Sha256::digest(&bytes)).eq_ignore_ascii_case(expected)
            {
                check.problems.push(VerifyProblem::HashDiffers { file: at.clone() });
            }
        }
    } else if let Ok(backup) = read(dir, "Backup.xml").map(|b| BackupXml::parse(&b)) {
        let Ok(backup) = backup else { return check };
        for block in &backup.extensions {
            for object in block.objects() {
                let Some(location) = &object.location else { continue };
                if object.kind != crate::formats::FsObjectKind::File {
                    continue;
                }
                check.files_checked += 1;
                let relative = location.replace('\\', "/");
                if let Err(problem) = read(dir, &relative) {
                    check.problems.push(problem);
                }
            }
        }
    }
    check
}

fn unreadable(file: &str, e: impl std::fmt::Display) -> VerifyProblem {
    VerifyProblem::Unreadable { file: file.into(), reason: e.to_string() }
}

fn read(dir: &Path, relative: &str) -> Result<Vec<u8>, VerifyProblem> {
    // Paths come from files inside the instance: never follow one out of it.
    if relative.split('/').any(|part| part == ".." || part.contains(':')) || relative.starts_with('/') {
        return Err(unreadable(relative, "the path leaves the instance folder"));
    }
    super::read_bounded(&dir.join(relative)).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => VerifyProblem::Missing { file: relative.into() },
        _ => unreadable(relative, e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::BackupStore;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpmc/nsacyber-shb/Chrome");

    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy_tree(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    #[test]
    fn a_gpmc_instance_is_whole_until_a_file_it_names_goes_missing() {
        let tmp = tempfile::tempdir().unwrap();
        copy_tree(Path::new(FIXTURES), tmp.path());
        let listing = BackupStore::open(tmp.path(), false).unwrap().list_recursive(3);
        assert_eq!(listing.instances.len(), 1);
        let instance = &listing.instances[0];
        let check = verify_instance(instance);
        assert!(check.is_ok(), "{:?}", check.problems);
        assert!(check.files_checked > 0 && !check.hashed);

        let pol = walk(&instance.path).into_iter().find(|p| p.ends_with("registry.pol")).expect("a registry.pol");
        std::fs::remove_file(&pol).unwrap();
        let check = verify_instance(instance);
        assert_eq!(check.problems.len(), 1, "{:?}", check.problems);
        assert!(matches!(&check.problems[0], VerifyProblem::Missing { file } if file.ends_with("registry.pol")));
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }
}
