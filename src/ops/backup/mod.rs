//! Back Up and Back Up All: one LDAP pass for the whole domain, then SYSVOL reads in parallel,
//! each GPO written as its own all-or-nothing instance, the manifest rewritten once at the end.

mod instance;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
// tokio's clock, which tests can pause.
use tokio::time::Instant;

use super::run::{Item, Plan, PlanDescription, PlannedChange, RunOptions, RunReport, run_items_in_two_steps};
use super::selection::{GpoSelection, SelectionError};
use super::{DomainSession, Progress, ProgressEvent};
use crate::directory::DirectoryError;
use crate::migrate::references::GpoReferences;
use crate::model::{DirectoryObject, Estate, Gpo, GpoFolder, GpoId, Principal, Sid};
use crate::store::{BackupStore, PendingInstance, StagedInstance, StoreError};
use crate::sysvol::SysvolError;

pub use instance::{InstanceInput, build_instance};

/// GPOs read and written at once. SYSVOL reads dominate; the SMB layer spreads them over its
/// connections, so a handful in flight keeps smbd busy without piling up memory.
pub const DEFAULT_PARALLELISM: usize = 8;

/// What a Back Up (All) will do: read from the domain, written into `dir`. Made by [`plan`],
/// which reads the directory but writes nothing, not even the folder.
#[derive(Clone, Debug)]
pub struct BackupPlan {
    pub domain: String,
    pub dir: PathBuf,
    /// The folder does not exist yet and will be created.
    pub creates_dir: bool,
    pub comment: String,
    pub gpos: Vec<Gpo>,
    estate: Arc<Estate>,
    children: Arc<BTreeMap<GpoId, Vec<DirectoryObject>>>,
}

impl Plan for BackupPlan {
    fn describe(&self) -> PlanDescription {
        let count = self.gpos.len();
        let title = format!(
            "Back up {count} GPO{} of {} into {}",
            if count == 1 { "" } else { "s" },
            self.domain,
            self.dir.display()
        );
        let changes = self
            .gpos
            .iter()
            .map(|g| PlannedChange {
                item: Some(Item { gpo: g.id, name: g.display_name.clone() }),
                action: "back up".into(),
                from: g.file_sys_path.clone(),
                to: format!("{}/{{new backup ID}}", self.dir.display()),
            })
            .collect();
        let mut notes = Vec::new();
        if self.creates_dir {
            notes.push(format!("{} does not exist and will be created", self.dir.display()));
        }
        if !self.comment.is_empty() {
            notes.push(format!("comment: {}", self.comment));
        }
        PlanDescription { title, changes, notes }
    }
}

/// What one GPO's backup made: the new instance's ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackedUp {
    pub backup_id: String,
}

impl fmt::Display for BackedUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.backup_id)
    }
}

/// Why one GPO was not backed up. Nothing of it is left in the folder.
#[derive(Debug, thiserror::Error)]
pub enum BackupItemError {
    #[error(transparent)]
    Sysvol(#[from] SysvolError),
    #[error("resolving the principals its settings name: {0}")]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error (a bug in gpvault): {0}")]
    Internal(String),
}

pub type BackupReport = RunReport<BackedUp, BackupItemError>;

/// Failures that stop the whole run before any GPO is tried.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Selection(#[from] SelectionError),
}

/// Reads the domain (one LDAP pass) and picks the GPOs; writes nothing.
pub async fn plan(
    session: &DomainSession,
    selection: &GpoSelection,
    dir: PathBuf,
    comment: String,
    progress: &dyn Progress,
) -> Result<BackupPlan, BackupError> {
    progress.report(ProgressEvent::Step(format!("Reading the GPOs of {}", session.domain.dns_name)));
    let (estate, children) =
        futures::try_join!(session.directory.read_estate(), session.directory.read_gpo_children())?;
    let gpos = selection.select(&estate)?;
    Ok(BackupPlan {
        domain: estate.domain.dns_name.clone(),
        creates_dir: !dir.is_dir(),
        dir,
        comment,
        gpos,
        estate: Arc::new(estate),
        children: Arc::new(children),
    })
}

/// Backs up every GPO of the plan, each as its own all-or-nothing instance, then rewrites the
/// manifest once. A manifest that cannot be rewritten is reported in `closing`; the instances
/// written stay listed in the report (and `backups repair` rebuilds the manifest from them).
pub async fn execute(
    session: &DomainSession,
    plan: BackupPlan,
    options: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<BackupReport, BackupError> {
    let store = BackupStore::open(&plan.dir, true)?;
    clean_leftovers(&store, progress.as_ref()).await;
    progress.report(ProgressEvent::Planned { total: plan.gpos.len() });

    let resolver = PrincipalCache::default();
    let dacl_sids: Vec<Sid> =
        plan.gpos.iter().flat_map(|g| g.security_descriptor.iter().flat_map(|sd| sd.principals())).collect();
    resolver.resolve(session, &dacl_sids).await?;

    let items: Vec<(Item, Gpo)> =
        plan.gpos.iter().map(|g| (Item { gpo: g.id, name: g.display_name.clone() }, g.clone())).collect();
    let (estate, children, comment) = (&plan.estate, &plan.children, plan.comment.as_str());
    let store_ref = &store;
    let resolver = &resolver;
    // Reading and writing run `parallelism` at a time; written instances then wait together
    // for their batch to be synced and listed (group commit).
    let commit = GroupCommit::new(store.clone(), items.len());
    let commit = &commit;
    let mut items = run_items_in_two_steps(
        items,
        options,
        COMMIT_FAN_IN,
        &progress,
        |gpo: Gpo| async move {
            let staged = back_up_one(session, store_ref, estate, children, resolver, &gpo, comment).await;
            if staged.is_err() {
                commit.not_coming();
            }
            staged
        },
        |staged: Staged| commit.publish(staged),
    )
    .await;
    items.sort_by_cached_key(|r| r.item.name.to_lowercase());

    progress.report(ProgressEvent::Step("Updating manifest.xml".into()));
    let manifest_store = store.clone();
    let manifest = match tokio::task::spawn_blocking(move || manifest_store.rebuild_manifest()).await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(crate::error::one_line(&e)),
        Err(e) => Some(format!("updating manifest.xml: {e}")),
    };
    Ok(RunReport { items, closing: manifest.into_iter().collect() })
}

/// Removes what interrupted runs left in the folder, saying so; a failure to clean is only a
/// note: the leftovers are never listed, and the run does not need them gone.
pub(crate) async fn clean_leftovers(store: &BackupStore, progress: &dyn Progress) {
    let store = store.clone();
    let step = match tokio::task::spawn_blocking(move || store.clean_partial()).await {
        Ok(Ok(removed)) if removed.is_empty() => return,
        Ok(Ok(removed)) => format!("Removed {} leftovers of interrupted runs", removed.len()),
        Ok(Err(e)) => format!("Could not remove leftovers of interrupted runs: {}", crate::error::one_line(&e)),
        Err(e) => format!("Could not remove leftovers of interrupted runs: {e}"),
    };
    progress.report(ProgressEvent::Step(step));
}

/// Plan and execute in one go, for callers that show no plan.
pub async fn back_up(
    session: &DomainSession,
    selection: &GpoSelection,
    dir: PathBuf,
    comment: String,
    options: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<BackupReport, BackupError> {
    let plan = plan(session, selection, dir, comment, progress.as_ref()).await?;
    execute(session, plan, options, progress).await
}

async fn back_up_one(
    session: &DomainSession,
    store: &BackupStore,
    estate: &Estate,
    children: &BTreeMap<GpoId, Vec<DirectoryObject>>,
    resolver: &PrincipalCache,
    gpo: &Gpo,
    comment: &str,
) -> Result<Staged, BackupItemError> {
    let folder = session.sysvol.read_gpo_folder(&gpo.id, &gpo.file_sys_path).await?;
    let pending = instance_of(session, estate, children, resolver, gpo, &folder, comment).await?;
    let backup_id = pending.backup_id.clone();
    let store = store.clone();
    let staged = tokio::task::spawn_blocking(move || store.stage_instance(&pending))
        .await
        .map_err(|e| BackupItemError::Internal(e.to_string()))??;
    Ok(Staged { backup_id, staged })
}

/// The instance of `gpo`, whose SYSVOL folder was read already.
async fn instance_of(
    session: &DomainSession,
    estate: &Estate,
    children: &BTreeMap<GpoId, Vec<DirectoryObject>>,
    resolver: &PrincipalCache,
    gpo: &Gpo,
    folder: &GpoFolder,
    comment: &str,
) -> Result<PendingInstance, BackupItemError> {
    let mut settings_sids = GpoReferences::of_folder(folder).domain_sids();
    // Sorted, as Backup.xml always listed them.
    settings_sids.sort();
    resolver.resolve(session, &settings_sids).await?;
    let input = InstanceInput {
        gpo,
        domain: &estate.domain,
        folder,
        settings_sids: &settings_sids,
        principals: resolver.snapshot(),
        links: estate.links_to(&gpo.id).into_iter().cloned().collect(),
        wmi_filter: estate.wmi_filter_of(gpo).cloned(),
        directory_objects: children.get(&gpo.id).cloned().unwrap_or_default(),
        comment,
        time: Utc::now(),
    };
    Ok(build_instance(&input))
}

/// Writes one instance of `gpo`, whose SYSVOL folder was read already, durable before it
/// returns: a restore's safety backup, which must be on disk before the GPO is changed (and
/// which keeps the folder it read, to put it back on failure).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_backup_of(
    session: &DomainSession,
    store: &BackupStore,
    estate: &Estate,
    children: &BTreeMap<GpoId, Vec<DirectoryObject>>,
    resolver: &PrincipalCache,
    gpo: &Gpo,
    folder: &GpoFolder,
    comment: &str,
) -> Result<BackedUp, BackupItemError> {
    let pending = instance_of(session, estate, children, resolver, gpo, folder, comment).await?;
    let backup_id = pending.backup_id.clone();
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.write_instance(&pending))
        .await
        .map_err(|e| BackupItemError::Internal(e.to_string()))??;
    Ok(BackedUp { backup_id })
}

/// Items waiting in the commit queue per item working: how many instances can wait for a sync
/// before reading stalls. A waiting instance holds two paths (its files are in the page cache
/// already), so the queue is long enough to hold a whole batch while the previous one syncs.
const COMMIT_FAN_IN: usize = 64;
/// A batch is synced once it has this many instances...
const COMMIT_BATCH: usize = 256;
/// ...or its first instance has waited this long, or no more instances are coming.
const COMMIT_WINDOW: Duration = Duration::from_millis(250);

/// One GPO's instance, written but not yet durable nor listed.
struct Staged {
    backup_id: String,
    staged: StagedInstance,
}

type CommitQueue = Vec<(StagedInstance, tokio::sync::oneshot::Sender<Result<PathBuf, StoreError>>)>;

struct CommitState {
    queue: CommitQueue,
    /// When the first instance of the queue arrived.
    oldest: Option<Instant>,
    /// A leader is gathering or syncing batches: who arrives now just waits.
    leading: bool,
    /// Instances of this run not yet in the queue nor failed.
    still_coming: usize,
}

/// Group commit: instances are made durable in batches (one filesystem sync per batch instead
/// of one fsync per file; each sync costs a journal commit however little it carries, so the
/// batches are made big). One sync runs at a time and reading goes on meanwhile. The first to
/// find no leader starts one, a task of its own that syncs batches until the queue is empty.
struct GroupCommit {
    store: BackupStore,
    state: Mutex<CommitState>,
    batch_ready: tokio::sync::Notify,
    /// Batches synced so far.
    batches: std::sync::atomic::AtomicUsize,
}

impl GroupCommit {
    fn new(store: BackupStore, instances: usize) -> Arc<Self> {
        let state = CommitState { queue: Vec::new(), oldest: None, leading: false, still_coming: instances };
        Arc::new(GroupCommit {
            store,
            state: Mutex::new(state),
            batch_ready: tokio::sync::Notify::new(),
            batches: Default::default(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, CommitState> {
        self.state.lock().expect("commit queue poisoned")
    }

    /// One instance of the run will not come (its GPO failed): the last batch need not wait for it.
    fn not_coming(&self) {
        let mut state = self.state();
        state.still_coming = state.still_coming.saturating_sub(1);
        if state.still_coming == 0 {
            self.batch_ready.notify_one();
        }
    }

    async fn publish(self: &Arc<Self>, staged: Staged) -> Result<BackedUp, BackupItemError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let leads = {
            let mut state = self.state();
            state.queue.push((staged.staged, tx));
            state.oldest.get_or_insert_with(Instant::now);
            state.still_coming = state.still_coming.saturating_sub(1);
            if state.queue.len() >= COMMIT_BATCH || state.still_coming == 0 {
                self.batch_ready.notify_one();
            }
            !std::mem::replace(&mut state.leading, true)
        };
        if leads {
            // Its own task: the instance that started it is done when its own batch is.
            let commit = Arc::clone(self);
            tokio::spawn(async move { commit.lead().await });
        }
        match rx.await {
            Ok(Ok(_)) => Ok(BackedUp { backup_id: staged.backup_id }),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(BackupItemError::Internal("the batch this instance was in was lost".into())),
        }
    }

    async fn lead(&self) {
        loop {
            let deadline = {
                let mut state = self.state();
                let Some(oldest) = state.oldest else {
                    state.leading = false;
                    return;
                };
                oldest + COMMIT_WINDOW
            };
            loop {
                let ready = {
                    let state = self.state();
                    state.queue.len() >= COMMIT_BATCH || state.still_coming == 0
                };
                if ready || Instant::now() >= deadline {
                    break;
                }
                tokio::select! {
                    _ = self.batch_ready.notified() => {}
                    _ = tokio::time::sleep_until(deadline) => {}
                }
            }
            let batch = {
                let mut state = self.state();
                state.oldest = None;
                std::mem::take(&mut state.queue)
            };
            let (instances, waiting): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
            let store = self.store.clone();
            self.batches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // A panic in publish drops the senders: every waiter then hears "lost".
            if let Ok(results) = tokio::task::spawn_blocking(move || store.publish(instances)).await {
                for (tx, result) in waiting.into_iter().zip(results) {
                    let _ = tx.send(result);
                }
            }
        }
    }
}

/// SID → principal, filled in batches as GPOs need them; shared by all tasks of a run.
#[derive(Default)]
pub(crate) struct PrincipalCache {
    known: Mutex<HashMap<Sid, Option<Principal>>>,
}

impl PrincipalCache {
    pub(crate) async fn resolve(&self, session: &DomainSession, sids: &[Sid]) -> Result<(), DirectoryError> {
        let missing: Vec<Sid> = {
            let known = self.known.lock().expect("principal cache poisoned");
            let mut missing: Vec<Sid> = sids.iter().filter(|s| !known.contains_key(s)).cloned().collect();
            missing.sort();
            missing.dedup();
            missing
        };
        if missing.is_empty() {
            return Ok(());
        }
        let found = session.directory.resolve_principals(&missing).await?;
        let mut known = self.known.lock().expect("principal cache poisoned");
        for sid in missing {
            let principal = found.iter().find(|p| p.sid == sid).cloned();
            known.insert(sid, principal);
        }
        Ok(())
    }

    fn snapshot(&self) -> HashMap<Sid, Principal> {
        let known = self.known.lock().expect("principal cache poisoned");
        known.iter().filter_map(|(sid, p)| p.clone().map(|p| (sid.clone(), p))).collect()
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;

    use super::*;
    use crate::config::DomainTarget;
    use crate::config::TlsMode;
    use crate::directory::Directory;
    use crate::model::{DomainInfo, ExtensionList, GpoFlags, Version};
    use crate::ops::run::Outcome;
    use crate::ops::{NoProgress, SysvolSource};
    use crate::sysvol::LocalSysvol;

    /// The AD side from memory: enough to drive the operation without a DC (the real thing is
    /// covered end to end in tests/backup_e2e.rs).
    struct FakeDirectory {
        estate: Estate,
    }

    #[async_trait]
    impl crate::directory::Directory for FakeDirectory {
        async fn read_estate(&self) -> Result<Estate, DirectoryError> {
            Ok(self.estate.clone())
        }
        async fn read_gpo_children(&self) -> Result<BTreeMap<GpoId, Vec<DirectoryObject>>, DirectoryError> {
            Ok(BTreeMap::new())
        }
        async fn resolve_principals(&self, _sids: &[Sid]) -> Result<Vec<Principal>, DirectoryError> {
            Ok(Vec::new())
        }
        fn describe(&self) -> String {
            "fake".into()
        }
    }

    fn gpo(name: &str) -> Gpo {
        let id = GpoId::new_random();
        Gpo {
            id,
            dn: format!("CN={id},CN=Policies,CN=System,DC=corp,DC=example,DC=test"),
            display_name: name.into(),
            version: Version { user: 0, machine: 1 },
            flags: GpoFlags(0),
            functionality_version: Some(2),
            file_sys_path: format!(r"\\corp.example.test\SysVol\corp.example.test\Policies\{id}"),
            machine_extensions: ExtensionList::default(),
            user_extensions: ExtensionList::default(),
            wmi_filter_link: None,
            security_descriptor: None,
            created: None,
            changed: None,
        }
    }

    /// Three GPOs; the SYSVOL folder of the second is missing.
    fn session(root: &std::path::Path) -> (DomainSession, Vec<Gpo>) {
        let gpos = vec![gpo("One"), gpo("Two (no folder)"), gpo("Three")];
        let policies = root.join("corp.example.test/Policies");
        for g in [&gpos[0], &gpos[2]] {
            let dir = policies.join(g.id.to_string()).join("Machine");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("registry.pol"), b"PReg\x01\0\0\0").unwrap();
            std::fs::write(policies.join(g.id.to_string()).join("GPT.INI"), b"[General]\r\nVersion=1\r\n").unwrap();
        }
        let domain = DomainInfo { dns_name: "corp.example.test".into(), ..Default::default() };
        let estate = Estate { domain: domain.clone(), gpos: gpos.clone(), ..Default::default() };
        let directory: Arc<dyn Directory> = Arc::new(FakeDirectory { estate });
        let target = DomainTarget {
            profile: None,
            server: "127.0.0.1".into(),
            domain: "corp.example.test".into(),
            user: "Administrator".into(),
            password_env: None,
            ca_file: None,
            kerberos: false,
            sysvol_path: Some(root.to_path_buf()),
            tls: TlsMode::Ldaps,
            insecure_tls: false,
        };
        let session = DomainSession {
            target,
            directory,
            sysvol: Arc::new(LocalSysvol::open(root, "corp.example.test").unwrap()),
            domain,
            sysvol_source: SysvolSource::Path(root.to_path_buf()),
        };
        (session, gpos)
    }

    fn folder_names(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('{') || n.starts_with('.') && n != ".gpvault.lock")
            .collect();
        names.sort();
        names
    }

    fn failed(report: &BackupReport) -> Vec<(GpoId, String)> {
        report.failed().map(|(item, e)| (item.gpo, e.to_string())).collect()
    }

    fn staged(store: &BackupStore, n: u32) -> Staged {
        let backup_id = format!("{{00000000-0000-0000-0000-{n:012}}}");
        let pending = PendingInstance {
            backup_id: backup_id.clone(),
            dirs: vec![],
            files: vec![("bkupInfo.xml".into(), b"x".to_vec())],
        };
        Staged { backup_id, staged: store.stage_instance(&pending).unwrap() }
    }

    #[tokio::test(start_paused = true)]
    async fn instances_that_arrive_together_are_synced_in_one_batch() {
        let backups = tempfile::tempdir().unwrap();
        let store = BackupStore::open(backups.path(), true).unwrap();
        let commit = GroupCommit::new(store.clone(), 5);
        let published = futures::future::join_all((0..5).map(|n| commit.publish(staged(&store, n)))).await;
        assert!(published.iter().all(|p| p.is_ok()));
        assert_eq!(commit.batches.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert_eq!(folder_names(backups.path()).len(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn the_last_batch_is_synced_at_once_when_the_other_gpos_failed() {
        let backups = tempfile::tempdir().unwrap();
        let store = BackupStore::open(backups.path(), true).unwrap();
        let commit = GroupCommit::new(store.clone(), 3);
        let started = tokio::time::Instant::now();
        let failures = async {
            commit.not_coming();
            commit.not_coming();
        };
        let (published, ()) = tokio::join!(commit.publish(staged(&store, 1)), failures);
        published.unwrap();
        assert!(started.elapsed() < COMMIT_WINDOW, "waited {:?} for instances that were not coming", started.elapsed());
        assert_eq!(folder_names(backups.path()).len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_still_waiting_for_others_is_synced_when_its_window_closes() {
        let backups = tempfile::tempdir().unwrap();
        let store = BackupStore::open(backups.path(), true).unwrap();
        // Nine more are announced but never come (a cancelled run): the first is not held forever.
        let commit = GroupCommit::new(store.clone(), 10);
        let started = tokio::time::Instant::now();
        commit.publish(staged(&store, 1)).await.unwrap();
        assert!(started.elapsed() >= COMMIT_WINDOW);
        assert_eq!(commit.batches.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert_eq!(folder_names(backups.path()).len(), 1);
    }

    #[tokio::test]
    async fn a_gpo_without_its_folder_fails_alone_and_leaves_nothing() {
        let sysvol = tempfile::tempdir().unwrap();
        let backups = tempfile::tempdir().unwrap();
        let (session, gpos) = session(sysvol.path());
        let options = RunOptions::new(2);
        let report =
            back_up(&session, &GpoSelection::All, backups.path().into(), "t".into(), &options, Arc::new(NoProgress))
                .await
                .unwrap();
        assert_eq!(report.succeeded().count(), 2);
        let failed = failed(&report);
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].0, gpos[1].id);
        assert!(failed[0].1.contains("missing"), "{}", failed[0].1);
        let mut made: Vec<String> = report.succeeded().map(|(_, b)| b.backup_id.clone()).collect();
        made.sort();
        assert_eq!(folder_names(backups.path()), made, "only whole instances, no partial folders");
        assert!(report.closing.is_empty());
    }

    #[tokio::test]
    async fn a_cancelled_run_starts_nothing_and_still_writes_the_manifest() {
        let sysvol = tempfile::tempdir().unwrap();
        let backups = tempfile::tempdir().unwrap();
        let (session, _) = session(sysvol.path());
        let options = RunOptions::new(1);
        options.cancel.cancel();
        let report =
            back_up(&session, &GpoSelection::All, backups.path().into(), String::new(), &options, Arc::new(NoProgress))
                .await
                .unwrap();
        assert_eq!(report.succeeded().count(), 0);
        assert!(report.items.iter().all(|r| matches!(r.outcome, Outcome::Cancelled)));
        assert_eq!(report.summary().counts(), "0 succeeded, 0 failed, 3 cancelled");
        assert!(folder_names(backups.path()).is_empty());
        assert!(backups.path().join("manifest.xml").is_file());
    }

    #[tokio::test]
    async fn unknown_names_stop_the_run_before_anything_is_written() {
        let sysvol = tempfile::tempdir().unwrap();
        let backups = tempfile::tempdir().unwrap();
        let (session, _) = session(sysvol.path());
        let selection = GpoSelection::Named(vec!["One".into(), "Nope".into()]);
        let options = RunOptions::new(1);
        let err = back_up(&session, &selection, backups.path().into(), String::new(), &options, Arc::new(NoProgress))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Nope"), "{err}");
        assert!(folder_names(backups.path()).is_empty());
    }

    #[tokio::test]
    async fn planning_writes_nothing_not_even_the_folder() {
        let sysvol = tempfile::tempdir().unwrap();
        let backups = tempfile::tempdir().unwrap();
        let dir = backups.path().join("new/nested");
        let (session, gpos) = session(sysvol.path());
        let plan = plan(&session, &GpoSelection::All, dir.clone(), "c".into(), &NoProgress).await.unwrap();
        assert!(!dir.exists());
        assert!(plan.creates_dir);
        let text = plan.describe();
        assert_eq!(text.changes.len(), 3);
        for gpo in &gpos {
            assert!(text.changes.iter().any(|c| c.item.as_ref().is_some_and(|i| i.gpo == gpo.id)));
        }
        assert!(text.notes.iter().any(|n| n.contains("will be created")), "{:?}", text.notes);
    }

    #[tokio::test]
    async fn verify_finds_a_changed_or_truncated_file_in_our_instances() {
        let sysvol = tempfile::tempdir().unwrap();
        let backups = tempfile::tempdir().unwrap();
        let (session, _) = session(sysvol.path());
        let options = RunOptions::new(2);
        back_up(&session, &GpoSelection::All, backups.path().into(), String::new(), &options, Arc::new(NoProgress))
            .await
            .unwrap();
        let listing = BackupStore::open(backups.path(), false).unwrap().list();
        assert_eq!(listing.instances.len(), 2);
        for instance in &listing.instances {
            let check = crate::store::verify_instance(instance);
            assert!(check.is_ok() && check.hashed && check.files_checked == 1, "{check:?}");
        }
        let [first, second] = &listing.instances[..] else { unreachable!() };
        let pol = |i: &crate::store::InstanceSummary| i.path.join("DomainSysvol/GPO/Machine/registry.pol");
        let mut bytes = std::fs::read(pol(first)).unwrap();
        bytes[4] ^= 0xFF;
        std::fs::write(pol(first), &bytes).unwrap();
        std::fs::write(pol(second), b"PReg").unwrap();
        let problems: Vec<_> = listing.instances.iter().map(|i| crate::store::verify_instance(i).problems).collect();
        assert!(matches!(problems[0][..], [crate::store::VerifyProblem::HashDiffers { .. }]), "{problems:?}");
        assert!(
            matches!(problems[1][..], [crate::store::VerifyProblem::SizeDiffers { expected: 8, found: 4, .. }]),
            "{problems:?}"
        );
    }

    #[tokio::test]
    async fn a_failing_manifest_keeps_the_report_of_the_written_instances() {
        let sysvol = tempfile::tempdir().unwrap();
        let backups = tempfile::tempdir().unwrap();
        let (session, _) = session(sysvol.path());
        // A folder where manifest.xml's temporary file should go: the rename over it fails.
        std::fs::create_dir_all(backups.path().join("manifest.xml/blocker")).unwrap();
        let report = back_up(
            &session,
            &GpoSelection::All,
            backups.path().into(),
            String::new(),
            &RunOptions::new(2),
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
        assert_eq!(report.succeeded().count(), 2, "the instances written are still reported");
        assert_eq!(report.closing.len(), 1, "{:?}", report.closing);
        assert!(report.closing[0].contains("manifest"), "{:?}", report.closing);
        assert!(!report.all_succeeded());
    }
}
