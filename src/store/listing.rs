use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::index::{InstanceStats, fill_stats};
use super::{BackupStore, GPVAULT_JSON_FILE, MANIFEST_FILE, TEMP_PREFIX, read_bounded};
use crate::formats::Manifest;
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
    /// Size and file count; filled by [`BackupStore::list_fast`] (from gpvault's index, or by
    /// measuring the folder), `None` from the plain scans.
    pub stats: Option<InstanceStats>,
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

/// Where a listing came from: what the admin is told when the fast path could not be taken.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ListingSource {
    /// Every instance folder's own files were read (the plain scans).
    #[default]
    Scan,
    /// manifest.xml, which names exactly the instance folders present.
    Manifest,
    /// manifest.xml disagreed with the folder: the instances it lacks were read from their own
    /// folders and its entries whose folder is gone were dropped.
    StaleManifest { not_in_manifest: usize, gone: usize },
    /// manifest.xml could not be used (missing or unreadable: the reason); every instance's own
    /// files were read.
    ScanWithoutManifest { reason: String },
}

impl ListingSource {
    /// True when the listing did not come from an up-to-date manifest.xml.
    pub fn manifest_needs_rewrite(&self) -> bool {
        matches!(self, ListingSource::StaleManifest { .. } | ListingSource::ScanWithoutManifest { .. })
    }
}

impl fmt::Display for ListingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListingSource::Scan => f.write_str("read from every instance folder"),
            ListingSource::Manifest => f.write_str("listed from manifest.xml"),
            ListingSource::StaleManifest { not_in_manifest, gone } => write!(
                f,
                "manifest.xml is out of date ({not_in_manifest} instance folder{} not in it, {gone} listed instance{} gone): \
                 those were read from the folders; repairing the folder rewrites the manifest",
                plural(*not_in_manifest),
                plural(*gone)
            ),
            ListingSource::ScanWithoutManifest { reason } => {
                write!(f, "{reason}: every instance folder was read (slower); repairing the folder writes the manifest")
            }
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[derive(Clone, Debug, Default)]
pub struct BackupListing {
    pub instances: Vec<InstanceSummary>,
    pub findings: Vec<StoreFinding>,
    /// Temporary folders left by interrupted runs.
    pub partial_folders: Vec<PathBuf>,
    pub source: ListingSource,
    /// Instances whose size was measured from their folder (not in gpvault's index).
    pub measured: usize,
}

impl BackupStore {
    /// Lists the instances directly in this folder, newest first. The manifest is not read:
    /// each instance's bkupInfo.xml is the truth (and GPMC lists folders without a manifest).
    pub fn list(&self) -> BackupListing {
        let mut listing = BackupListing::default();
        collect(self.root(), 0, 0, &mut listing);
        drop_duplicate_ids(&mut listing);
        sort_newest_first(&mut listing.instances);
        listing
    }

    /// Like `list`, but also looks into sub-folders (up to `depth` levels), for trees of
    /// backups such as published baselines that keep one instance per sub-folder.
    pub fn list_recursive(&self, depth: usize) -> BackupListing {
        let mut listing = BackupListing::default();
        collect(self.root(), 0, depth, &mut listing);
        drop_duplicate_ids(&mut listing);
        sort_newest_first(&mut listing.instances);
        listing
    }

    /// Lists the instances directly in this folder, newest first, with their sizes, from
    /// manifest.xml and gpvault's index: one read of the folder's entries and two files, however
    /// many instances there are.
    ///
    /// The manifest is a cache, so it is checked first, cheaply: the set of instance folder names
    /// must be the set of IDs it lists. Folders it lacks are read from their own files, entries
    /// whose folder is gone are dropped, and `source` says so. Without a usable manifest every
    /// instance is read, as [`BackupStore::list`] does.
    pub fn list_fast(&self) -> BackupListing {
        let mut listing = match self.read_manifest() {
            Ok(manifest) => self.list_from_manifest(manifest),
            Err(reason) => {
                let mut listing = self.list();
                listing.source = ListingSource::ScanWithoutManifest { reason };
                listing
            }
        };
        listing.measured = fill_stats(self.root(), &mut listing.instances);
        listing
    }

    /// One instance directly in this folder by its folder name (GPMC names the folder by the
    /// backup ID), read from its own files and measured; `None` when there is no such folder or
    /// it holds no instance. What showing one backup of a large folder needs, without a listing.
    pub fn instance(&self, folder_name: &str) -> Option<InstanceSummary> {
        if folder_name.is_empty() || folder_name.contains(['/', '\\']) || folder_name.starts_with('.') {
            return None;
        }
        let path = self.root().join(folder_name);
        if !path.is_dir() {
            return None;
        }
        let mut listing = BackupListing::default();
        collect_entry(path, folder_name.to_string(), 0, 0, &mut listing);
        let mut instance = listing.instances.pop()?;
        instance.stats = Some(super::index::measure_instance(&instance.path));
        Some(instance)
    }

    fn read_manifest(&self) -> Result<Manifest, String> {
        let path = self.root().join(MANIFEST_FILE);
        let bytes = match read_bounded(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err("no manifest.xml".into()),
            Err(e) => return Err(format!("manifest.xml cannot be read ({e})")),
        };
        Manifest::parse(&bytes).map_err(|e| format!("manifest.xml is unreadable ({e})"))
    }

    fn list_from_manifest(&self, manifest: Manifest) -> BackupListing {
        let mut listing = BackupListing::default();
        let root = self.root();
        // The folders present; each entry of the manifest claims one.
        let mut folders: HashSet<String> = HashSet::new();
        match std::fs::read_dir(root) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    // d_type answers without a stat; only a symbolic link needs one.
                    let is_dir = match entry.file_type() {
                        Ok(t) if t.is_symlink() => entry.path().is_dir(),
                        Ok(t) => t.is_dir(),
                        Err(_) => false,
                    };
                    if !is_dir {
                        continue;
                    }
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.starts_with(TEMP_PREFIX) {
                        listing.partial_folders.push(entry.path());
                    } else {
                        folders.insert(name);
                    }
                }
            }
            Err(e) => {
                listing
                    .findings
                    .push(StoreFinding { path: root.to_path_buf(), problem: format!("cannot read folder: {e}") });
            }
        }
        listing.partial_folders.sort();
        let mut gone = 0;
        // GUIDs compare without case: an ID whose folder is spelled otherwise is looked up by its
        // upper-case form, in a map made only when the first such ID comes.
        let mut by_upper: Option<HashMap<String, String>> = None;
        for info in manifest.backups {
            let claimed = folders.take(&info.id).or_else(|| {
                let upper =
                    by_upper.get_or_insert_with(|| folders.iter().map(|f| (f.to_uppercase(), f.clone())).collect());
                let name = upper.get(&info.id.to_uppercase())?;
                folders.take(name)
            });
            match claimed {
                Some(folder_name) => listing.instances.push(InstanceSummary {
                    path: root.join(&folder_name),
                    folder_name,
                    info,
                    has_gpvault_json: false,
                    incomplete: None,
                    stats: None,
                }),
                // Gone, or listed twice (the second claim finds its folder taken).
                None => gone += 1,
            }
        }
        // What the manifest does not name: new instances, incomplete ones, other folders.
        let mut rest: Vec<String> = folders.into_iter().collect();
        rest.sort();
        let before = listing.instances.len();
        for name in rest {
            let path = root.join(&name);
            collect_entry(path, name, 0, 0, &mut listing);
        }
        let not_in_manifest = listing.instances[before..].iter().filter(|i| i.incomplete.is_none()).count();
        listing.source = if not_in_manifest == 0 && gone == 0 {
            ListingSource::Manifest
        } else {
            ListingSource::StaleManifest { not_in_manifest, gone }
        };
        drop_duplicate_ids(&mut listing);
        sort_newest_first(&mut listing.instances);
        listing
    }
}

/// Two instance folders side by side naming the same backup ID (a copy under another folder
/// name): a restore by that ID could take either. The one in the folder named by the ID (as
/// GPMC names them) stays; the others are left out, each with a finding. When none is, all are.
fn drop_duplicate_ids(listing: &mut BackupListing) {
    let key = |i: &InstanceSummary| (i.path.parent().map(Path::to_path_buf), i.info.id.to_uppercase());
    let mut count: HashMap<(Option<PathBuf>, String), usize> = HashMap::new();
    for instance in &listing.instances {
        *count.entry(key(instance)).or_default() += 1;
    }
    if count.values().all(|&n| n == 1) {
        return;
    }
    let (mut kept, mut dropped) = (Vec::new(), Vec::new());
    for instance in std::mem::take(&mut listing.instances) {
        let unique = count[&key(&instance)] == 1;
        if unique || instance.folder_name.eq_ignore_ascii_case(&instance.info.id) {
            kept.push(instance);
        } else {
            dropped.push(instance);
        }
    }
    for instance in dropped {
        let owner = kept.iter().find(|k| key(k) == key(&instance));
        let problem = match owner {
            Some(owner) => format!(
                "names backup ID {}, which is the instance in {}: a copy under another folder name, skipped",
                instance.info.id,
                owner.path.display()
            ),
            None => format!(
                "names backup ID {}, as another folder beside it does, and neither is named by it: skipped",
                instance.info.id
            ),
        };
        listing.findings.push(StoreFinding { path: instance.path.join(bkup_info::FILE_NAME), problem });
    }
    listing.instances = kept;
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
        collect_entry(path, name, level, max_depth, listing);
    }
}

/// One sub-folder of a backup folder: an instance, a leftover, junk, or a folder to look into.
fn collect_entry(path: PathBuf, name: String, level: usize, max_depth: usize, listing: &mut BackupListing) {
    if name.starts_with(TEMP_PREFIX) {
        listing.partial_folders.push(path);
        return;
    }
    let info_path = path.join(bkup_info::FILE_NAME);
    let backup_path = path.join(backup_xml::FILE_NAME);
    if info_path.is_file() {
        match read_bounded(&info_path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| BackupInfo::parse(&bytes).map_err(|e| e.to_string()))
        {
            Ok(info) => listing.instances.push(InstanceSummary {
                has_gpvault_json: path.join(GPVAULT_JSON_FILE).is_file(),
                folder_name: name,
                path,
                info,
                incomplete: None,
                stats: None,
            }),
            Err(problem) => listing.findings.push(StoreFinding {
                path: info_path,
                problem: format!("unreadable bkupInfo.xml, instance skipped: {problem}"),
            }),
        }
    } else if backup_path.is_file() {
        match read_bounded(&backup_path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| BackupXml::parse(&bytes).map_err(|e| e.to_string()))
        {
            Ok(backup) => {
                let mut info = BackupInfo::from_backup_xml(&backup, &name);
                info.backup_time = time_without_backup_info(&path).map(|t| format_backup_time(&t)).unwrap_or_default();
                listing.instances.push(InstanceSummary {
                    has_gpvault_json: path.join(GPVAULT_JSON_FILE).is_file(),
                    folder_name: name,
                    path,
                    info,
                    incomplete: Some(Incomplete::NoBackupInfo),
                    stats: None,
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

/// When an instance without bkupInfo.xml was made: gpreport.xml's ReadTime, else the time
/// Backup.xml was last written.
fn time_without_backup_info(instance: &Path) -> Option<DateTime<Utc>> {
    let from_report = read_bounded(&instance.join(gpreport::FILE_NAME))
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

    /// Three instances written and indexed as a backup run leaves them; one of them gpvault's.
    fn indexed_store() -> (tempfile::TempDir, BackupStore, Vec<String>) {
        let tmp = tempfile::tempdir().unwrap();
        let store = BackupStore::open(tmp.path(), false).unwrap();
        let ids =
            vec![instance(&store, GPO_A, 1, "one"), instance(&store, GPO_A, 2, "two"), instance(&store, GPO_B, 3, "b")];
        std::fs::write(tmp.path().join(&ids[2]).join(GPVAULT_JSON_FILE), b"{}").unwrap();
        assert_eq!(store.rebuild_manifest().unwrap(), 3);
        (tmp, store, ids)
    }

    #[test]
    fn the_fast_listing_comes_from_the_manifest_and_the_index() {
        let (tmp, store, ids) = indexed_store();
        let scanned = store.list();
        // Take away what a scan would read: the fast listing must not need it.
        for id in &ids {
            std::fs::remove_file(tmp.path().join(id).join("bkupInfo.xml")).unwrap();
        }
        let listing = store.list_fast();
        assert_eq!(listing.source, ListingSource::Manifest);
        assert!(listing.findings.is_empty(), "{:?}", listing.findings);
        assert_eq!(listing.measured, 0, "every size came from the index");
        let infos = |l: &BackupListing| l.instances.iter().map(|i| i.info.clone()).collect::<Vec<_>>();
        assert_eq!(infos(&listing), infos(&scanned));
        for instance in &listing.instances {
            assert_eq!(instance.path, tmp.path().join(&instance.info.id));
            assert!(instance.incomplete.is_none());
            assert_eq!(instance.has_gpvault_json, instance.info.id == ids[2]);
        }
        // The sizes are the instances' as written (bkupInfo.xml included, as when indexed).
        let newest = &listing.instances[0];
        assert_eq!(newest.info.id, ids[2]);
        let info_len = scanned.instances[0].info.to_bytes().len() as u64;
        assert_eq!(newest.stats, Some(crate::store::InstanceStats { bytes: info_len + 2, files: 2 }));
    }

    #[test]
    fn sizes_missing_from_the_index_are_measured() {
        let (tmp, store, ids) = indexed_store();
        std::fs::write(tmp.path().join(&ids[0]).join("extra.bin"), [0u8; 1000]).unwrap();
        // The index is trusted (instances never change)...
        let before = store.list_fast().instances.into_iter().find(|i| i.info.id == ids[0]).unwrap();
        // ...until it is gone or damaged: then each instance is measured.
        std::fs::write(tmp.path().join(crate::store::INDEX_FILE), "gpvault-index 1\nnot\ta\tline\n").unwrap();
        let listing = store.list_fast();
        assert_eq!(listing.measured, 3);
        let after = listing.instances.into_iter().find(|i| i.info.id == ids[0]).unwrap();
        assert_eq!(after.stats.unwrap().bytes, before.stats.unwrap().bytes + 1000);
        assert_eq!(after.stats.unwrap().files, 2);
        assert_eq!(after.stats, Some(crate::store::measure_instance(&after.path)));
    }

    #[test]
    fn a_stale_manifest_is_noticed_and_the_difference_read_from_the_folders() {
        let (tmp, store, ids) = indexed_store();
        // One instance the manifest does not know, one it lists that is gone.
        let newer = instance(&store, GPO_B, 9, "after the manifest");
        std::fs::remove_dir_all(tmp.path().join(&ids[0])).unwrap();
        let listing = store.list_fast();
        assert_eq!(listing.source, ListingSource::StaleManifest { not_in_manifest: 1, gone: 1 });
        assert!(listing.source.manifest_needs_rewrite());
        let listed: Vec<&str> = listing.instances.iter().map(|i| i.info.id.as_str()).collect();
        assert_eq!(listed, [newer.as_str(), ids[2].as_str(), ids[1].as_str()]);
        assert_eq!(listing.measured, 1, "only the new instance is measured");
        assert!(listing.source.to_string().contains("out of date"), "{}", listing.source);

        // Updating the manifest from the fast listing makes it whole again.
        let lock = store.lock().unwrap();
        assert_eq!(store.update_manifest_locked(&lock).unwrap(), 3);
        drop(lock);
        assert_eq!(store.list_fast().source, ListingSource::Manifest);
    }

    #[test]
    fn without_a_usable_manifest_every_instance_is_read() {
        let (tmp, store, _) = indexed_store();
        let manifest = tmp.path().join(MANIFEST_FILE);
        std::fs::write(&manifest, b"<Backups xmlns=\"nope\"/>").unwrap();
        let listing = store.list_fast();
        assert!(
            matches!(&listing.source, ListingSource::ScanWithoutManifest { reason } if reason.contains("unreadable")),
            "{:?}",
            listing.source
        );
        assert_eq!(listing.instances.len(), 3);
        std::fs::remove_file(&manifest).unwrap();
        let listing = store.list_fast();
        assert_eq!(listing.source, ListingSource::ScanWithoutManifest { reason: "no manifest.xml".into() });
        assert_eq!(listing.instances.len(), 3);
        assert!(listing.instances.iter().all(|i| i.stats.is_some()));
    }

    #[test]
    fn incomplete_instances_and_leftovers_do_not_make_the_manifest_stale() {
        let (tmp, store, _) = indexed_store();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpmc/simeononsecurity-si");
        let id = "{9B8B80E1-6894-4E32-B4E5-0E7A45425A81}";
        copy_dir(&fixtures.join(id), &tmp.path().join(id));
        std::fs::remove_file(tmp.path().join(id).join("bkupInfo.xml")).unwrap();
        std::fs::create_dir(tmp.path().join(format!("{TEMP_PREFIX}{{Y}}"))).unwrap();
        let listing = store.list_fast();
        assert_eq!(listing.source, ListingSource::Manifest);
        assert_eq!(listing.instances.len(), 4);
        assert_eq!(listing.instances.iter().filter(|i| i.incomplete.is_some()).count(), 1);
        assert_eq!(listing.partial_folders.len(), 1);
        // A rewrite keeps it out of manifest.xml, as GPMC cannot list it, and in the index.
        assert_eq!(store.rebuild_manifest().unwrap(), 3);
        let index = std::fs::read_to_string(tmp.path().join(crate::store::INDEX_FILE)).unwrap();
        assert!(index.contains(id), "{index}");
        assert_eq!(store.list_fast().measured, 0);
    }

    #[test]
    fn a_folder_spelled_in_another_case_is_still_the_manifests_instance() {
        let (tmp, store, ids) = indexed_store();
        let lower = ids[1].to_lowercase();
        std::fs::rename(tmp.path().join(&ids[1]), tmp.path().join(&lower)).unwrap();
        let listing = store.list_fast();
        assert_eq!(listing.source, ListingSource::Manifest);
        let moved = listing.instances.iter().find(|i| i.info.id == ids[1]).unwrap();
        assert_eq!(moved.folder_name, lower);
        assert_eq!(moved.path, tmp.path().join(&lower));
        assert_eq!(listing.measured, 1, "the index knows it by its old spelling only");
    }

    #[test]
    fn a_copy_of_an_instance_under_another_folder_name_is_left_out_and_named() {
        let tmp = tempfile::tempdir().unwrap();
        let store = BackupStore::open(tmp.path(), true).unwrap();
        let id = instance(&store, GPO_A, 8, "original");
        let other = instance(&store, GPO_B, 9, "another");
        let copy = tmp.path().join("copy of a backup");
        copy_dir(&tmp.path().join(&id), &copy);

        for listing in [store.list(), store.list_recursive(2), store.list_fast()] {
            let folders: Vec<&str> = listing.instances.iter().map(|i| i.folder_name.as_str()).collect();
            assert_eq!(folders, [other.as_str(), id.as_str()], "the copy is not listed");
            assert_eq!(listing.findings.len(), 1, "{:?}", listing.findings);
            assert_eq!(listing.findings[0].path, copy.join("bkupInfo.xml"));
            let problem = &listing.findings[0].problem;
            assert!(
                problem.contains(&id) && problem.contains(&tmp.path().join(&id).display().to_string()),
                "{problem}"
            );
        }

        // Two copies and no folder named by the ID: which one is meant cannot be told.
        std::fs::rename(tmp.path().join(&id), tmp.path().join("second copy")).unwrap();
        let listing = store.list();
        let folders: Vec<&str> = listing.instances.iter().map(|i| i.folder_name.as_str()).collect();
        assert_eq!(folders, [other.as_str()]);
        assert_eq!(listing.findings.len(), 2, "{:?}", listing.findings);
        assert!(
            listing.findings.iter().all(|f| f.problem.contains("neither is named by it")),
            "{:?}",
            listing.findings
        );
    }

    #[test]
    fn an_oversized_manifest_is_not_read() {
        let (tmp, store, _ids) = indexed_store();
        let manifest = std::fs::OpenOptions::new().write(true).open(tmp.path().join(MANIFEST_FILE)).unwrap();
        manifest.set_len(crate::store::MAX_FILE_BYTES + 1).unwrap();
        let listing = store.list_fast();
        match &listing.source {
            ListingSource::ScanWithoutManifest { reason } => assert!(reason.contains("more than any"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(listing.instances.len(), 3, "every instance is read from its folder instead");
    }

    #[test]
    fn a_named_pipe_for_the_manifest_is_not_waited_on() {
        let (tmp, store, _ids) = indexed_store();
        let manifest = tmp.path().join(MANIFEST_FILE);
        std::fs::remove_file(&manifest).unwrap();
        assert!(std::process::Command::new("mkfifo").arg(&manifest).status().unwrap().success());
        let listing = store.list_fast();
        match &listing.source {
            ListingSource::ScanWithoutManifest { reason } => assert!(reason.contains("not a file"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(listing.instances.len(), 3);
    }
}
