use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{BackupStore, EXTRA_FILE, TEMP_PREFIX};
use crate::formats::bkup_info::BackupInfo;

/// One instance as listed: its bkupInfo.xml and where it is.
#[derive(Clone, Debug)]
pub struct InstanceSummary {
    pub folder_name: String,
    pub path: PathBuf,
    pub info: BackupInfo,
    /// Made by gpvault (has its extra file) rather than by GPMC alone.
    pub has_extra: bool,
}

/// Something wrong found while listing, named by folder; listing carries on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreFinding {
    pub path: PathBuf,
    pub problem: String,
}

#[derive(Clone, Debug, Default)]
pub struct BackupListing {
    pub instances: Vec<InstanceSummary>,
    pub findings: Vec<StoreFinding>,
    /// Temporary folders left by interrupted runs.
    pub partial_folders: Vec<PathBuf>,
}

impl BackupStore {
    /// Lists the instances directly in this folder, newest first. The manifest is not read:
    /// each instance's bkupInfo.xml is the truth (and GPMC lists folders without a manifest).
    pub fn list(&self) -> BackupListing {
        let mut listing = BackupListing::default();
        collect(self.root(), 0, 0, &mut listing);
        sort_newest_first(&mut listing.instances);
        listing
    }

    /// Like `list`, but also looks into sub-folders (up to `depth` levels), for trees of
    /// backups such as published baselines that keep one instance per sub-folder.
    pub fn list_recursive(&self, depth: usize) -> BackupListing {
        let mut listing = BackupListing::default();
        collect(self.root(), 0, depth, &mut listing);
        sort_newest_first(&mut listing.instances);
        listing
    }
}

fn sort_newest_first(instances: &mut [InstanceSummary]) {
    instances.sort_by(|a, b| {
        b.info.backup_time.cmp(&a.info.backup_time).then_with(|| a.info.gpo_display_name.cmp(&b.info.gpo_display_name))
    });
}

fn collect(dir: &Path, level: usize, max_depth: usize, listing: &mut BackupListing) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            listing.findings.push(StoreFinding { path: dir.to_path_buf(), problem: format!("cannot read folder: {e}") });
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    children.sort();
    for path in children {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with(TEMP_PREFIX) {
            listing.partial_folders.push(path);
            continue;
        }
        let info_path = path.join("bkupInfo.xml");
        if info_path.is_file() {
            match std::fs::read(&info_path).map_err(|e| e.to_string()).and_then(|bytes| {
                BackupInfo::parse(&bytes).map_err(|e| e.to_string())
            }) {
                Ok(info) => listing.instances.push(InstanceSummary {
                    has_extra: path.join(EXTRA_FILE).is_file(),
                    folder_name: name,
                    path,
                    info,
                }),
                Err(problem) => listing.findings.push(StoreFinding {
                    path: info_path,
                    problem: format!("unreadable bkupInfo.xml, instance skipped: {problem}"),
                }),
            }
        } else if name.starts_with('{') && level == 0 {
            listing.findings.push(StoreFinding {
                path,
                problem: "looks like a backup instance but has no bkupInfo.xml; skipped".into(),
            });
        } else if level < max_depth {
            collect(&path, level + 1, max_depth, listing);
        }
    }
}

/// The newest instance of each GPO (by domain and GPO ID), newest first.
pub fn latest_per_gpo(instances: &[InstanceSummary]) -> Vec<&InstanceSummary> {
    let mut newest: BTreeMap<(String, String), &InstanceSummary> = BTreeMap::new();
    for instance in instances {
        let key = (instance.info.gpo_domain.to_lowercase(), instance.info.gpo_guid.to_uppercase());
        match newest.get(&key) {
            Some(current) if current.info.backup_time >= instance.info.backup_time => {}
            _ => {
                newest.insert(key, instance);
            }
        }
    }
    let mut latest: Vec<&InstanceSummary> = newest.into_values().collect();
    sort_newest_first_refs(&mut latest);
    latest
}

fn sort_newest_first_refs(instances: &mut [&InstanceSummary]) {
    instances.sort_by(|a, b| b.info.backup_time.cmp(&a.info.backup_time));
}
