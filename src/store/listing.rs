use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{BackupStore, GPVAULT_JSON_FILE, TEMP_PREFIX};
use crate::formats::backup_xml::{self, BackupXml};
use crate::formats::bkup_info::{self, BackupInfo, format_backup_time};
use crate::formats::gpreport::{self, GpReport};

/// One instance as listed: its bkupInfo.xml and where it is.
#[derive(Clone, Debug)]
pub struct InstanceSummary {
    pub folder_name: String,
    pub path: PathBuf,
    pub info: BackupInfo,
    /// Made by gpvault (has its extra file) rather than by GPMC alone.
    pub has_gpvault_json: bool,
    /// Set when GPMC's files are not all there and `info` was pieced together from the others.
    pub incomplete: Option<Incomplete>,
}

/// Why an instance is listed although one of GPMC's files is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Incomplete {
    /// No bkupInfo.xml: GPO, domain, name and domain controller come from Backup.xml, the time
    /// from gpreport.xml's ReadTime (GPMC's BackupTime is the same instant, less about a second)
    /// or else from Backup.xml's modification time; the domain GUID and comment are unknown.
    /// GPMC does not list such an instance, and it stays out of manifest.xml.
    NoBackupInfo,
}

impl std::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Incomplete::NoBackupInfo => f.write_str("no bkupInfo.xml; listed from Backup.xml"),
        }
    }
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
            listing
                .findings
                .push(StoreFinding { path: dir.to_path_buf(), problem: format!("cannot read folder: {e}") });
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
        let info_path = path.join(bkup_info::FILE_NAME);
        let backup_path = path.join(backup_xml::FILE_NAME);
        if info_path.is_file() {
            match std::fs::read(&info_path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| BackupInfo::parse(&bytes).map_err(|e| e.to_string()))
            {
                Ok(info) => listing.instances.push(InstanceSummary {
                    has_gpvault_json: path.join(GPVAULT_JSON_FILE).is_file(),
                    folder_name: name,
                    path,
                    info,
                    incomplete: None,
                }),
                Err(problem) => listing.findings.push(StoreFinding {
                    path: info_path,
                    problem: format!("unreadable bkupInfo.xml, instance skipped: {problem}"),
                }),
            }
        } else if backup_path.is_file() {
            match std::fs::read(&backup_path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| BackupXml::parse(&bytes).map_err(|e| e.to_string()))
            {
                Ok(backup) => {
                    let mut info = BackupInfo::from_backup_xml(&backup, &name);
                    info.backup_time =
                        time_without_backup_info(&path).map(|t| format_backup_time(&t)).unwrap_or_default();
                    listing.instances.push(InstanceSummary {
                        has_gpvault_json: path.join(GPVAULT_JSON_FILE).is_file(),
                        folder_name: name,
                        path,
                        info,
                        incomplete: Some(Incomplete::NoBackupInfo),
                    });
                }
                Err(problem) => listing.findings.push(StoreFinding {
                    path: backup_path,
                    problem: format!("no bkupInfo.xml and an unreadable Backup.xml, instance skipped: {problem}"),
                }),
            }
        } else if name.starts_with('{') && level == 0 {
            listing.findings.push(StoreFinding {
                path,
                problem: "looks like a backup instance but has neither bkupInfo.xml nor Backup.xml; skipped".into(),
            });
        } else if level < max_depth {
            collect(&path, level + 1, max_depth, listing);
        }
    }
}

/// When an instance without bkupInfo.xml was made: gpreport.xml's ReadTime, else the time
/// Backup.xml was last written.
fn time_without_backup_info(instance: &Path) -> Option<DateTime<Utc>> {
    let from_report = std::fs::read(instance.join(gpreport::FILE_NAME))
        .ok()
        .and_then(|bytes| GpReport::parse(&bytes).ok())
        .and_then(|report| DateTime::parse_from_rfc3339(&report.read_time).ok())
        .map(|t| t.with_timezone(&Utc));
    from_report.or_else(|| {
        let modified = std::fs::metadata(instance.join(backup_xml::FILE_NAME)).and_then(|m| m.modified()).ok()?;
        Some(DateTime::<Utc>::from(modified))
    })
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

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::{DomainInfo, GpoId};
    use crate::store::{MANIFEST_FILE, PendingInstance};

    fn instance(store: &BackupStore, gpo: &str, hour: u32, comment: &str) -> String {
        let domain = DomainInfo { dns_name: "corp.example.test".into(), ..Default::default() };
        let backup_id = GpoId::new_random();
        let time = Utc.with_ymd_and_hms(2026, 11, 25, hour, 0, 0).unwrap();
        let info = BackupInfo::new(gpo.parse().unwrap(), &domain, backup_id, time, comment, "Some GPO");
        let pending = PendingInstance {
            backup_id: backup_id.to_string(),
            dirs: vec![],
            files: vec![("bkupInfo.xml".into(), info.to_bytes())],
        };
        store.write_instance(&pending).unwrap();
        backup_id.to_string()
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }

    #[test]
    fn instance_without_bkup_info_is_listed_from_backup_xml() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpmc");
        let tmp = tempfile::tempdir().unwrap();
        let mut originals = Vec::new();
        for (sample, id) in [
            ("technology-toolbox-fr", "{F5D718B7-BAFD-437F-8195-532AB42E2E13}"),
            ("simeononsecurity-si", "{9B8B80E1-6894-4E32-B4E5-0E7A45425A81}"),
        ] {
            let instance = tmp.path().join(id);
            copy_dir(&fixtures.join(sample).join(id), &instance);
            originals.push(BackupInfo::parse(&std::fs::read(instance.join("bkupInfo.xml")).unwrap()).unwrap());
            std::fs::remove_file(instance.join("bkupInfo.xml")).unwrap();
        }
        // Without gpreport.xml either, the time is Backup.xml's.
        std::fs::remove_file(tmp.path().join(&originals[1].id).join("gpreport.xml")).unwrap();

        let store = BackupStore::open(tmp.path(), false).unwrap();
        let listing = store.list();
        assert!(listing.findings.is_empty(), "{:?}", listing.findings);
        assert_eq!(listing.instances.len(), 2);
        for original in &originals {
            let listed = listing.instances.iter().find(|i| i.folder_name == original.id).unwrap();
            assert_eq!(listed.incomplete, Some(Incomplete::NoBackupInfo));
            // What bkupInfo.xml said, as far as Backup.xml knows it.
            let info = &listed.info;
            assert_eq!(info.gpo_guid, original.gpo_guid);
            assert_eq!(info.gpo_domain, original.gpo_domain);
            assert_eq!(info.gpo_display_name, original.gpo_display_name);
            assert_eq!(info.gpo_domain_controller, original.gpo_domain_controller);
            assert_eq!(info.id, original.id);
            assert_eq!(info.si_present, original.si_present);
            assert_eq!(info.gpo_domain_guid, "");
        }
        // gpreport.xml's ReadTime is within a second or two of GPMC's BackupTime.
        let fr = listing.instances.iter().find(|i| i.folder_name == originals[0].id).unwrap();
        let gap = fr.info.backup_time_utc().unwrap() - originals[0].backup_time_utc().unwrap();
        assert!(gap.num_seconds().abs() <= 2, "{} vs {}", fr.info.backup_time, originals[0].backup_time);
        let si = listing.instances.iter().find(|i| i.folder_name == originals[1].id).unwrap();
        let written = std::fs::metadata(si.path.join("Backup.xml")).unwrap().modified().unwrap();
        assert_eq!(si.info.backup_time, format_backup_time(&DateTime::<Utc>::from(written)));

        // GPMC cannot list them: the manifest leaves them out.
        assert_eq!(store.rebuild_manifest().unwrap(), 0);
        let manifest =
            crate::formats::Manifest::parse(&std::fs::read(tmp.path().join(MANIFEST_FILE)).unwrap()).unwrap();
        assert!(manifest.backups.is_empty());

        // A broken Backup.xml is a finding, not an instance.
        std::fs::write(si.path.join("Backup.xml"), b"<GroupPolicyBackupScheme").unwrap();
        let listing = store.list();
        assert_eq!(listing.instances.len(), 1);
        assert_eq!(listing.findings.len(), 1);
        assert!(listing.findings[0].problem.contains("unreadable Backup.xml"), "{:?}", listing.findings);
    }

    const GPO_A: &str = "{31B2F340-016D-11D2-945F-00C04FB984F9}";
    const GPO_B: &str = "{6AC1786C-016F-11D2-945F-00C04FB984F9}";

    #[test]
    fn lists_newest_first_reports_junk_and_picks_latest_per_gpo() {
        let tmp = tempfile::tempdir().unwrap();
        let store = BackupStore::open(tmp.path(), false).unwrap();
        let old_a = instance(&store, GPO_A, 1, "old");
        let new_a = instance(&store, GPO_A, 5, "new");
        let only_b = instance(&store, GPO_B, 3, "b");
        std::fs::create_dir(tmp.path().join(format!("{TEMP_PREFIX}{{X}}"))).unwrap();
        let broken = tmp.path().join("{BROKEN00-0000-0000-0000-000000000000}");
        std::fs::create_dir(&broken).unwrap();
        std::fs::write(broken.join("bkupInfo.xml"), b"<BackupInst><GPOGuid>").unwrap();
        std::fs::create_dir(tmp.path().join("{NOINFO00-0000-0000-0000-000000000000}")).unwrap();

        let listing = store.list();
        let ids: Vec<&str> = listing.instances.iter().map(|i| i.info.id.as_str()).collect();
        assert_eq!(ids, [new_a.as_str(), only_b.as_str(), old_a.as_str()]);
        assert_eq!(listing.partial_folders.len(), 1);
        assert_eq!(listing.findings.len(), 2, "{:?}", listing.findings);

        let latest: Vec<&str> = latest_per_gpo(&listing.instances).iter().map(|i| i.info.id.as_str()).collect();
        assert_eq!(latest, [new_a.as_str(), only_b.as_str()]);

        assert_eq!(store.rebuild_manifest().unwrap(), 3);
        let manifest =
            crate::formats::Manifest::parse(&std::fs::read(tmp.path().join(MANIFEST_FILE)).unwrap()).unwrap();
        assert_eq!(manifest.backups.len(), 3);
        assert_eq!(store.clean_partial().unwrap().len(), 1);
        assert!(store.list().partial_folders.is_empty());

        store.delete(&old_a).unwrap();
        assert_eq!(store.list().instances.len(), 2);
        let manifest =
            crate::formats::Manifest::parse(&std::fs::read(tmp.path().join(MANIFEST_FILE)).unwrap()).unwrap();
        assert_eq!(manifest.backups.len(), 2);
        assert!(store.delete(&old_a).is_err());
    }
}
