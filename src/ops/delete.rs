//! Deleting backup instances: by ID ([`plan`]) or by age (`ops::prune::plan`), then [`execute`].
//! The plan reads the folder and writes nothing; the execution removes the instances one by one
//! under the folder's lock, then rewrites manifest.xml and gpvault's index once.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::catalog::BackupRow;
use super::run::{Item, Plan, PlanDescription, PlannedChange, RunOptions, RunReport, run_items};
use super::{Progress, ProgressEvent};
use crate::store::{BackupStore, InstanceSummary, StoreError};

/// What a delete or a prune will remove from `dir`.
#[derive(Clone, Debug)]
pub struct DeletePlan {
    pub dir: PathBuf,
    /// The instances to remove, newest first.
    pub instances: Vec<BackupRow>,
    /// "Delete 3 backup instances from /srv/gpo-backups".
    title: String,
    notes: Vec<String>,
}

impl DeletePlan {
    pub(crate) fn new(dir: &Path, instances: Vec<BackupRow>, title: String, notes: Vec<String>) -> DeletePlan {
        DeletePlan { dir: dir.to_path_buf(), instances, title, notes }
    }

    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }
}

/// The run item a row is worked on as: its GPO, named with the backup's ID and time.
pub fn item_of(row: &BackupRow) -> Item {
    Item { gpo: row.gpo(), name: format!("{} (backup {}, {})", row.display_name, row.backup_id, row.time_text()) }
}

impl Plan for DeletePlan {
    fn describe(&self) -> PlanDescription {
        let changes = self
            .instances
            .iter()
            .map(|row| PlannedChange {
                item: Some(item_of(row)),
                action: "delete backup".into(),
                from: row.folder.display().to_string(),
                to: if row.comment.is_empty() {
                    "(removed)".to_string()
                } else {
                    format!("(removed; its comment: {})", row.comment)
                },
            })
            .collect();
        let mut notes = self.notes.clone();
        if !self.instances.is_empty() {
            notes.push("manifest.xml is rewritten once the instances are removed".into());
        }
        PlanDescription { title: self.title.clone(), changes, notes }
    }
}

/// What deleting one instance did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deleted {
    pub backup_id: String,
}

impl fmt::Display for Deleted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "deleted {}", self.backup_id)
    }
}

/// Why one instance was not deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteItemError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type DeleteReport = RunReport<Deleted, DeleteItemError>;

/// Failures that stop a delete or prune before any instance is removed.
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no backup with ID {} in {dir}; nothing was deleted", ids.join(", "))]
    NoSuchBackups { ids: Vec<String>, dir: String },
    #[error("keeping 0 instances of each GPO would delete every backup; keep at least 1")]
    KeepNothing,
}

/// The instances of `dir` named by `backup_ids` (backup IDs or folder names, any case). An ID
/// that names no instance stops everything: nothing is half done for a typo.
pub fn plan(dir: &Path, backup_ids: &[String]) -> Result<DeletePlan, DeleteError> {
    let store = BackupStore::open(dir, false)?;
    let listing = store.list_fast();
    let mut chosen: Vec<&InstanceSummary> = Vec::new();
    let mut unknown = Vec::new();
    let mut seen = HashSet::new();
    for id in backup_ids {
        let id = id.trim();
        match listing
            .instances
            .iter()
            .find(|i| i.info.id.eq_ignore_ascii_case(id) || i.folder_name.eq_ignore_ascii_case(id))
        {
            Some(instance) if seen.insert(instance.folder_name.clone()) => chosen.push(instance),
            Some(_) => {}
            None => unknown.push(id.to_string()),
        }
    }
    if !unknown.is_empty() {
        return Err(DeleteError::NoSuchBackups { ids: unknown, dir: dir.display().to_string() });
    }
    let count = chosen.len();
    let title = format!("Delete {count} backup instance{} from {}", if count == 1 { "" } else { "s" }, dir.display());
    Ok(DeletePlan::new(dir, chosen.into_iter().map(BackupRow::of).collect(), title, Vec::new()))
}

/// Removes the plan's instances one by one under the folder's lock (each all or nothing: a
/// crash leaves a leftover folder that listing reports and repair removes), then rewrites the
/// manifest and the index once. A manifest that cannot be rewritten is reported in `closing`.
pub async fn execute(
    plan: DeletePlan,
    options: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<DeleteReport, DeleteError> {
    let store = BackupStore::open(&plan.dir, false)?;
    progress.report(ProgressEvent::Planned { total: plan.instances.len() });
    let lock = store.lock()?;
    let items: Vec<(Item, BackupRow)> = plan.instances.iter().map(|row| (item_of(row), row.clone())).collect();
    let (store_ref, lock_ref) = (&store, &lock);
    // Removing a small folder is quick local work: done in place rather than on another thread,
    // because the lock must be held by this task throughout.
    let mut items = run_items(items, options, &progress, |row: BackupRow| {
        let folder_name = row.folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let result = store_ref
            .remove_instance_locked(lock_ref, &folder_name)
            .map(|()| Deleted { backup_id: row.backup_id })
            .map_err(DeleteItemError::from);
        async move { result }
    })
    .await;
    items.sort_by_cached_key(|r| r.item.name.to_lowercase());

    progress.report(ProgressEvent::Step("Updating manifest.xml".into()));
    let closing = match store.update_manifest_locked(&lock) {
        Ok(_) => Vec::new(),
        Err(e) => vec![crate::error::one_line(&e)],
    };
    Ok(RunReport { items, closing })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::formats::{BackupInfo, Manifest};
    use crate::model::{DomainInfo, GpoId};
    use crate::ops::NoProgress;
    use crate::ops::run::Outcome;
    use crate::store::{INDEX_FILE, MANIFEST_FILE, PendingInstance};

    const GPO_A: &str = "{31B2F340-016D-11D2-945F-00C04FB984F9}";
    const GPO_B: &str = "{6AC1786C-016F-11D2-945F-00C04FB984F9}";

    fn instance(store: &BackupStore, gpo: &str, hour: u32) -> String {
        let domain = DomainInfo { dns_name: "corp.example.test".into(), ..Default::default() };
        let backup_id = GpoId::new_random();
        let time = Utc.with_ymd_and_hms(2026, 11, 25, hour, 0, 0).unwrap();
        let info = BackupInfo::new(gpo.parse().unwrap(), &domain, backup_id, time, "", "Some GPO");
        let files = vec![
            ("bkupInfo.xml".into(), info.to_bytes()),
            ("DomainSysvol/GPO/Machine/registry.pol".into(), b"PReg".to_vec()),
        ];
        store.write_instance(&PendingInstance { backup_id: backup_id.to_string(), dirs: vec![], files }).unwrap();
        backup_id.to_string()
    }

    /// GPO A backed up at 1, 2 and 3 o'clock, GPO B at 4; the manifest written.
    fn folder() -> (tempfile::TempDir, Vec<String>) {
        let tmp = tempfile::tempdir().unwrap();
        let store = BackupStore::open(tmp.path(), false).unwrap();
        let ids = vec![
            instance(&store, GPO_A, 1),
            instance(&store, GPO_A, 2),
            instance(&store, GPO_A, 3),
            instance(&store, GPO_B, 4),
        ];
        store.rebuild_manifest().unwrap();
        (tmp, ids)
    }

    fn on_disk(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('{') || n.starts_with(crate::store::TEMP_PREFIX))
            .collect();
        names.sort();
        names
    }

    fn manifest_ids(dir: &Path) -> Vec<String> {
        let mut ids: Vec<String> = Manifest::parse(&std::fs::read(dir.join(MANIFEST_FILE)).unwrap())
            .unwrap()
            .backups
            .into_iter()
            .map(|b| b.id)
            .collect();
        ids.sort();
        ids
    }

    fn sorted(mut ids: Vec<String>) -> Vec<String> {
        ids.sort();
        ids
    }

    #[tokio::test]
    async fn deletes_the_named_instances_and_rewrites_the_manifest_once() {
        let (tmp, ids) = folder();
        let plan = plan(tmp.path(), &[ids[0].to_lowercase(), ids[3].clone(), ids[0].clone()]).unwrap();
        assert_eq!(plan.instances.len(), 2, "each instance once");
        let text = plan.describe();
        assert!(text.title.starts_with("Delete 2 backup instances"), "{}", text.title);
        assert_eq!(on_disk(tmp.path()).len(), 4, "planning deletes nothing");

        let report = execute(plan, &RunOptions::new(2), Arc::new(NoProgress)).await.unwrap();
        assert!(report.all_succeeded(), "{:?}", report.summary());
        assert_eq!(report.summary().counts(), "2 succeeded, 0 failed");
        let left = sorted(vec![ids[1].clone(), ids[2].clone()]);
        assert_eq!(on_disk(tmp.path()), left);
        assert_eq!(manifest_ids(tmp.path()), left);
        let index = std::fs::read_to_string(tmp.path().join(INDEX_FILE)).unwrap();
        assert!(!index.contains(&ids[0]) && index.contains(&ids[1]), "{index}");
    }

    #[test]
    fn an_unknown_id_stops_everything() {
        let (tmp, ids) = folder();
        let err = plan(tmp.path(), &[ids[0].clone(), "{00000000-0000-0000-0000-00000000BEEF}".into()]).unwrap_err();
        assert!(err.to_string().contains("{00000000-0000-0000-0000-00000000BEEF}"), "{err}");
        assert_eq!(on_disk(tmp.path()).len(), 4);
    }

    #[tokio::test]
    async fn prune_keeps_the_newest_of_each_gpo() {
        let (tmp, ids) = folder();
        let plan = crate::ops::prune::plan(tmp.path(), 2).unwrap();
        let doomed: Vec<&str> = plan.instances.iter().map(|r| r.backup_id.as_str()).collect();
        assert_eq!(doomed, [ids[0].as_str()], "only A's oldest goes");
        let plan = crate::ops::prune::plan(tmp.path(), 1).unwrap();
        let doomed: Vec<&str> = plan.instances.iter().map(|r| r.backup_id.as_str()).collect();
        assert_eq!(doomed, [ids[1].as_str(), ids[0].as_str()], "newest first");
        assert!(plan.describe().title.contains("delete 2 of 4"), "{}", plan.describe().title);
        execute(plan, &RunOptions::new(1), Arc::new(NoProgress)).await.unwrap();
        let left = sorted(vec![ids[2].clone(), ids[3].clone()]);
        assert_eq!(on_disk(tmp.path()), left);
        assert_eq!(manifest_ids(tmp.path()), left);
        assert!(crate::ops::prune::plan(tmp.path(), 1).unwrap().is_empty());
        assert!(matches!(crate::ops::prune::plan(tmp.path(), 0), Err(DeleteError::KeepNothing)));
    }

    #[derive(Debug, thiserror::Error)]
    #[error("the DC did not answer")]
    struct Unreachable;

    fn run_of(outcomes: Vec<Outcome<String, Unreachable>>, closing: &[&str]) -> RunReport<String, Unreachable> {
        let items = outcomes
            .into_iter()
            .enumerate()
            .map(|(n, outcome)| super::super::run::ItemReport {
                item: Item { gpo: GPO_A.parse().unwrap(), name: format!("GPO {n}") },
                outcome,
            })
            .collect();
        RunReport { items, closing: closing.iter().map(|c| c.to_string()).collect() }
    }

    #[test]
    fn a_backup_run_prunes_only_when_everything_succeeded() {
        use crate::ops::prune::{AfterRun, plan_after_run};
        let (tmp, ids) = folder();
        let ok = || Outcome::Succeeded("made".to_string());
        let clean = run_of(vec![ok(), ok()], &[]);
        match plan_after_run(&clean, tmp.path(), 1).unwrap() {
            AfterRun::Prune(plan) => {
                let doomed: Vec<&str> = plan.instances.iter().map(|r| r.backup_id.as_str()).collect();
                assert_eq!(doomed, [ids[1].as_str(), ids[0].as_str()]);
            }
            other => panic!("a clean run prunes: {other:?}"),
        }
        let failed = run_of(vec![ok(), Outcome::Failed(Unreachable), Outcome::Cancelled], &[]);
        let after = plan_after_run(&failed, tmp.path(), 1).unwrap();
        assert!(matches!(after, AfterRun::Skipped { failed: 1, cancelled: 1, closing: 0 }), "{after:?}");
        let reason = after.skipped_reason().unwrap();
        assert!(reason.contains("nothing was pruned") && reason.contains("1 GPO(s) failed"), "{reason}");
        // A manifest that could not be written is a failed run too, and `keep` is not even read.
        let closing = run_of(vec![ok()], &["manifest.xml not written"]);
        assert!(matches!(plan_after_run(&closing, tmp.path(), 0).unwrap(), AfterRun::Skipped { closing: 1, .. }));
        assert!(matches!(plan_after_run(&clean, tmp.path(), 0), Err(DeleteError::KeepNothing)));
        assert_eq!(on_disk(tmp.path()).len(), 4, "planning deletes nothing");
    }

    #[test]
    fn prune_tells_backups_of_the_same_second_apart_by_when_they_were_written() {
        let tmp = tempfile::tempdir().unwrap();
        let store = BackupStore::open(tmp.path(), false).unwrap();
        let ids: Vec<String> = (0..3).map(|_| instance(&store, GPO_A, 5)).collect();
        // Written in the order 1, 2, 0, whatever the IDs say.
        let base = std::time::SystemTime::now();
        for (id, seconds) in [(&ids[1], 1), (&ids[2], 2), (&ids[0], 3)] {
            let folder = std::fs::File::open(tmp.path().join(id)).unwrap();
            folder.set_modified(base + std::time::Duration::from_secs(seconds)).unwrap();
        }
        let plan = crate::ops::prune::plan(tmp.path(), 1).unwrap();
        let doomed: BTreeSet<&str> = plan.instances.iter().map(|r| r.backup_id.as_str()).collect();
        assert_eq!(doomed, BTreeSet::from([ids[1].as_str(), ids[2].as_str()]));
    }

    #[tokio::test]
    async fn a_cancelled_delete_removes_nothing_and_keeps_the_manifest_whole() {
        let (tmp, ids) = folder();
        let plan = plan(tmp.path(), &ids[..2]).unwrap();
        let options = RunOptions::new(1);
        options.cancel.cancel();
        let report = execute(plan, &options, Arc::new(NoProgress)).await.unwrap();
        assert!(report.items.iter().all(|r| matches!(r.outcome, Outcome::Cancelled)));
        assert_eq!(on_disk(tmp.path()), sorted(ids.clone()));
        assert_eq!(manifest_ids(tmp.path()), sorted(ids));
    }

    #[tokio::test]
    async fn an_instance_gone_since_the_plan_fails_alone() {
        let (tmp, ids) = folder();
        let plan = plan(tmp.path(), &ids[..2]).unwrap();
        std::fs::remove_dir_all(tmp.path().join(&ids[0])).unwrap();
        let report = execute(plan, &RunOptions::new(1), Arc::new(NoProgress)).await.unwrap();
        let failed: Vec<String> = report.failed().map(|(_, e)| e.to_string()).collect();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert!(failed[0].contains(&ids[0]), "{failed:?}");
        assert_eq!(report.succeeded().count(), 1);
        assert_eq!(manifest_ids(tmp.path()), sorted(ids[2..].to_vec()));
    }
}
