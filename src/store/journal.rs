//! The journal of GPOs being changed from a backup folder.
//!
//! Before its first write to the domain, a restore (or an import) records in the folder which
//! GPO it changes, from which backup, and which safety backup holds the GPO as it was; the
//! record goes once the GPO is done (changed, or put back). A record left by a run that died
//! (SIGKILL, power loss) says exactly what to put back: `gpvault recover` and the next restore
//! read it. Records are small JSON files, written like the manifest (temp file, fsync, rename).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{BackupStore, StoreError, StoreLock, process_is_running, write, write_error};

/// File name prefix of journal records: `.gpvault-journal-{pid}-{GPO GUID}.json`.
pub const JOURNAL_PREFIX: &str = ".gpvault-journal-";

/// One GPO being changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The GPO's {GUID}.
    pub gpo: String,
    pub gpo_name: String,
    /// DNS name of the domain the GPO is in.
    pub domain: String,
    /// What changes it, as the plan says it ("restore", "import the settings").
    pub operation: String,
    /// The backup whose content is being written.
    pub from_backup: String,
    /// The instance holding the GPO as it was; `None` when it did not exist (a deleted GPO being
    /// recreated, a copy being made).
    pub safety_backup: Option<String>,
    /// The run makes this GPO anew (a copy, with a GUID of its own): it did not exist before, so
    /// putting it right is deleting what the run made of it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_gpo: bool,
    /// A WMI filter (its msWMI-ID) the run creates for the new GPO because the domain has none
    /// with that ID: recovery deletes it too when no GPO is filtered by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wmi_filter_made: Option<String>,
    /// When the change began (RFC 3339, UTC).
    pub started: String,
}

/// A record left by a run that is no longer running.
#[derive(Clone, Debug)]
pub struct InterruptedChange {
    pub path: PathBuf,
    pub entry: JournalEntry,
}

/// A record of a change in progress; [`BackupStore::end_change`] removes it.
#[derive(Debug)]
pub struct ChangeRecord {
    path: PathBuf,
}

impl BackupStore {
    /// Records, durably, that `entry`'s GPO is about to change.
    pub fn begin_change(&self, entry: &JournalEntry) -> Result<ChangeRecord, StoreError> {
        let gpo: String = entry.gpo.chars().filter(|c| c.is_ascii_hexdigit() || *c == '-').collect();
        let path = self.root.join(format!("{JOURNAL_PREFIX}{}-{{{gpo}}}.json", std::process::id()));
        let bytes = serde_json::to_vec_pretty(entry).map_err(|e| write_error(&path, e))?;
        write::write_atomically(&path, &bytes)?;
        Ok(ChangeRecord { path })
    }

    /// The GPO is done with: as changed, or put back as it was.
    pub fn end_change(&self, record: ChangeRecord) -> Result<(), StoreError> {
        forget(&record.path)?;
        write::sync_dir(&self.root)
    }

    /// Records left by runs that are no longer running, oldest first. A record that cannot be
    /// read is returned as an error naming the file, not skipped: it may be the only trace of a
    /// half-changed GPO.
    pub fn interrupted_changes(&self) -> Vec<Result<InterruptedChange, StoreError>> {
        let Ok(entries) = std::fs::read_dir(&self.root) else { return Vec::new() };
        let mut found: Vec<Result<InterruptedChange, StoreError>> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let pid: u32 = name.strip_prefix(JOURNAL_PREFIX)?.split_once('-')?.0.parse().ok()?;
                (!process_is_running(pid)).then(|| read_record(&entry.path()))
            })
            .collect();
        found.sort_by(|a, b| match (a, b) {
            (Ok(a), Ok(b)) => a.entry.started.cmp(&b.entry.started),
            _ => std::cmp::Ordering::Equal,
        });
        found
    }

    /// Drops a record of a dead run once what it names has been put right.
    pub fn forget_interrupted(&self, _lock: &StoreLock, change: &InterruptedChange) -> Result<(), StoreError> {
        forget(&change.path)?;
        write::sync_dir(&self.root)
    }
}

fn read_record(path: &Path) -> Result<InterruptedChange, StoreError> {
    let bytes = super::read_bounded(path).map_err(|e| write_error(path, e))?;
    let entry = serde_json::from_slice(&bytes)
        .map_err(|e| write_error(path, format!("an unreadable record of an interrupted change: {e}")))?;
    Ok(InterruptedChange { path: path.to_path_buf(), entry })
}

fn forget(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(write_error(path, e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(gpo: &str) -> JournalEntry {
        JournalEntry {
            gpo: gpo.into(),
            gpo_name: "Test".into(),
            domain: "corp.example.test".into(),
            operation: "restore".into(),
            from_backup: "{B0000000-0000-0000-0000-000000000001}".into(),
            safety_backup: Some("{5AFE0000-0000-0000-0000-000000000001}".into()),
            new_gpo: false,
            wmi_filter_made: None,
            started: "2026-12-02T01:00:00Z".into(),
        }
    }

    #[test]
    fn a_record_written_before_copies_were_recorded_reads_as_no_new_gpo() {
        let old = r#"{"gpo": "{A}", "gpo_name": "T", "domain": "d", "operation": "restore",
            "from_backup": "{B}", "safety_backup": null, "started": "2026-12-01T00:00:00Z"}"#;
        let entry: JournalEntry = serde_json::from_str(old).unwrap();
        assert!(!entry.new_gpo);
        // And a restore's record does not carry the field at all.
        assert!(!serde_json::to_string(&entry).unwrap().contains("new_gpo"));
        let copy = JournalEntry { new_gpo: true, ..entry };
        let back: JournalEntry = serde_json::from_str(&serde_json::to_string(&copy).unwrap()).unwrap();
        assert!(back.new_gpo);
    }

    #[test]
    fn a_running_change_is_not_interrupted_and_a_dead_runs_record_is() {
        let tmp = tempfile::tempdir().unwrap();
        let store = BackupStore::open(tmp.path(), false).unwrap();
        let record = store.begin_change(&entry("{AAAAAAAA-0000-0000-0000-000000000001}")).unwrap();
        assert!(store.interrupted_changes().is_empty(), "this process is running");
        assert!(store.list().partial_folders.is_empty() && store.list().instances.is_empty());

        // The same record as a process that died would have left it.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let left = tmp.path().join(format!("{JOURNAL_PREFIX}{dead}-{{AAAAAAAA-0000-0000-0000-000000000002}}.json"));
        std::fs::write(&left, serde_json::to_vec(&entry("{AAAAAAAA-0000-0000-0000-000000000002}")).unwrap()).unwrap();
        let broken = tmp.path().join(format!("{JOURNAL_PREFIX}{dead}-{{AAAAAAAA-0000-0000-0000-000000000003}}.json"));
        std::fs::write(&broken, b"{\"gpo\": ").unwrap();

        let found = store.interrupted_changes();
        assert_eq!(found.len(), 2);
        let good: Vec<_> = found.iter().filter_map(|f| f.as_ref().ok()).collect();
        assert_eq!(good.len(), 1);
        assert_eq!(good[0].entry, entry("{AAAAAAAA-0000-0000-0000-000000000002}"));
        let bad = found.iter().find_map(|f| f.as_ref().err()).unwrap().to_string();
        assert!(bad.contains(&broken.display().to_string()) && bad.contains("unreadable record"), "{bad}");

        let lock = store.lock().unwrap();
        store.forget_interrupted(&lock, good[0]).unwrap();
        assert!(!left.exists());
        store.end_change(record).unwrap();
        let records = std::fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(JOURNAL_PREFIX) && e.path() != broken)
            .count();
        assert_eq!(records, 0);
    }
}
