//! Back Up and Back Up All: one LDAP pass for the whole domain, then SYSVOL reads in parallel,
//! each GPO written as its own all-or-nothing instance, the manifest rewritten once at the end.

mod instance;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use futures::StreamExt;
use serde::Serialize;

use super::{DomainSession, ItemOutcome, Progress, ProgressEvent};
use crate::directory::{DirectoryError, DirectoryObject, Principal};
use crate::model::{Estate, Gpo, GpoId, Sid};
use crate::store::{BackupStore, StoreError};

pub use instance::{InstanceInput, build_instance};

/// GPOs read and written at once. SYSVOL reads dominate; the SMB layer spreads them over its
/// connections, so a handful in flight keeps smbd busy without piling up memory.
pub const DEFAULT_PARALLELISM: usize = 8;

#[derive(Clone, Debug)]
pub struct BackupOptions {
    pub dir: PathBuf,
    pub comment: String,
    pub parallelism: usize,
    /// Set to stop a run early: GPOs not yet started are reported as cancelled, the ones in
    /// flight finish (or fail) whole, and the manifest is still rewritten.
    pub cancel: Option<Arc<AtomicBool>>,
}

/// The reason given for GPOs a cancelled run never started.
pub const CANCELLED: &str = "cancelled before it started; nothing was written for it";

#[derive(Clone, Debug)]
pub enum GpoSelection {
    All,
    /// By {GUID} or display name.
    Named(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BackedUp {
    pub gpo_id: String,
    pub display_name: String,
    pub backup_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BackupFailure {
    pub gpo_id: String,
    pub display_name: String,
    pub error: String,
}

/// The outcome of a run: which GPOs were backed up and which failed, and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BackupReport {
    pub backed_up: Vec<BackedUp>,
    pub failed: Vec<BackupFailure>,
}

/// Failures that stop the whole run before any GPO is tried.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Selection(String),
}

pub async fn back_up(
    session: &DomainSession,
    selection: &GpoSelection,
    options: &BackupOptions,
    progress: Arc<dyn Progress>,
) -> Result<BackupReport, BackupError> {
    let store = BackupStore::open(&options.dir, true)?;
    progress.report(ProgressEvent::Step(format!("Reading the GPOs of {}", session.domain.dns_name)));
    let (estate, children) =
        futures::try_join!(session.directory.read_estate(), session.directory.read_gpo_children())?;
    let gpos = select(&estate, selection)?;
    progress.report(ProgressEvent::Planned { total: gpos.len() });

    let resolver = PrincipalCache::default();
    let dacl_sids: Vec<Sid> =
        gpos.iter().flat_map(|g| g.security_descriptor.iter().flat_map(|sd| sd.principals())).collect();
    resolver.resolve(session, &dacl_sids).await?;

    let estate = Arc::new(estate);
    let children = Arc::new(children);
    let outcomes: Vec<(Gpo, Result<String, String>)> = futures::stream::iter(gpos)
        .map(|gpo| {
            let estate = estate.clone();
            let children = children.clone();
            let progress = progress.clone();
            let store = store.clone();
            let resolver = &resolver;
            let cancelled = options.cancel.as_ref().is_some_and(|flag| flag.load(Ordering::SeqCst));
            async move {
                progress.report(ProgressEvent::ItemStarted { gpo: gpo.id, name: gpo.display_name.clone() });
                let result = if cancelled {
                    Err(CANCELLED.to_string())
                } else {
                    back_up_one(session, &store, &estate, &children, resolver, &gpo, &options.comment).await
                };
                let outcome = match &result {
                    Ok(id) => ItemOutcome::Succeeded(id.clone()),
                    Err(e) => ItemOutcome::Failed(e.clone()),
                };
                progress.report(ProgressEvent::ItemFinished { gpo: gpo.id, name: gpo.display_name.clone(), outcome });
                (gpo, result)
            }
        })
        .buffer_unordered(options.parallelism.max(1))
        .collect()
        .await;

    progress.report(ProgressEvent::Step("Updating manifest.xml".into()));
    let manifest_store = store.clone();
    tokio::task::spawn_blocking(move || manifest_store.rebuild_manifest())
        .await
        .map_err(|e| StoreError::Write { path: "manifest.xml".into(), reason: e.to_string() })??;

    let mut report = BackupReport::default();
    for (gpo, result) in outcomes {
        match result {
            Ok(backup_id) => report.backed_up.push(BackedUp {
                gpo_id: gpo.id.to_string(),
                display_name: gpo.display_name,
                backup_id,
            }),
            Err(error) => {
                report.failed.push(BackupFailure { gpo_id: gpo.id.to_string(), display_name: gpo.display_name, error })
            }
        }
    }
    report.backed_up.sort_by_key(|a| a.display_name.to_lowercase());
    report.failed.sort_by_key(|a| a.display_name.to_lowercase());
    Ok(report)
}

fn select(estate: &Estate, selection: &GpoSelection) -> Result<Vec<Gpo>, BackupError> {
    match selection {
        GpoSelection::All => Ok(estate.gpos.clone()),
        GpoSelection::Named(keys) => {
            let mut chosen: Vec<Gpo> = Vec::new();
            for key in keys {
                let gpo = estate.find_gpo(key).map_err(BackupError::Selection)?;
                if !chosen.iter().any(|g| g.id == gpo.id) {
                    chosen.push(gpo.clone());
                }
            }
            Ok(chosen)
        }
    }
}

async fn back_up_one(
    session: &DomainSession,
    store: &BackupStore,
    estate: &Estate,
    children: &BTreeMap<GpoId, Vec<DirectoryObject>>,
    resolver: &PrincipalCache,
    gpo: &Gpo,
    comment: &str,
) -> Result<String, String> {
    let folder = session.sysvol.read_gpo_folder(&gpo.id, &gpo.file_sys_path).await.map_err(|e| e.to_string())?;
    let references = crate::migrate::scan::scan_folder(&folder);
    resolver.resolve(session, &references.distinct_sids()).await.map_err(|e| e.to_string())?;
    let input = InstanceInput {
        gpo,
        domain: &estate.domain,
        folder: &folder,
        references: &references,
        principals: resolver.snapshot(),
        links: estate.links_to(&gpo.id).into_iter().cloned().collect(),
        wmi_filter: estate.wmi_filter_of(gpo).cloned(),
        directory_objects: children.get(&gpo.id).cloned().unwrap_or_default(),
        comment,
        time: Utc::now(),
    };
    let pending = build_instance(&input);
    let backup_id = pending.backup_id.clone();
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.write_instance(&pending))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok(backup_id)
}

/// SID → principal, filled in batches as GPOs need them; shared by all tasks of a run.
#[derive(Default)]
struct PrincipalCache {
    known: Mutex<HashMap<Sid, Option<Principal>>>,
}

impl PrincipalCache {
    async fn resolve(&self, session: &DomainSession, sids: &[Sid]) -> Result<(), DirectoryError> {
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
    use crate::directory::{Directory, TlsMode};
    use crate::model::{DomainInfo, ExtensionList, GpoFlags, Version};
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

    #[tokio::test]
    async fn a_gpo_without_its_folder_fails_alone_and_leaves_nothing() {
        let sysvol = tempfile::tempdir().unwrap();
        let backups = tempfile::tempdir().unwrap();
        let (session, gpos) = session(sysvol.path());
        let options = BackupOptions { dir: backups.path().into(), comment: "t".into(), parallelism: 2, cancel: None };
        let report = back_up(&session, &GpoSelection::All, &options, Arc::new(NoProgress)).await.unwrap();
        assert_eq!(report.backed_up.len(), 2);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].gpo_id, gpos[1].id.to_string());
        assert!(report.failed[0].error.contains("missing"), "{}", report.failed[0].error);
        let mut made: Vec<String> = report.backed_up.iter().map(|b| b.backup_id.clone()).collect();
        made.sort();
        assert_eq!(folder_names(backups.path()), made, "only whole instances, no partial folders");
    }

    #[tokio::test]
    async fn a_cancelled_run_starts_nothing_and_still_writes_the_manifest() {
        let sysvol = tempfile::tempdir().unwrap();
        let backups = tempfile::tempdir().unwrap();
        let (session, _) = session(sysvol.path());
        let options = BackupOptions {
            dir: backups.path().into(),
            comment: String::new(),
            parallelism: 1,
            cancel: Some(Arc::new(AtomicBool::new(true))),
        };
        let report = back_up(&session, &GpoSelection::All, &options, Arc::new(NoProgress)).await.unwrap();
        assert!(report.backed_up.is_empty());
        assert_eq!(report.failed.len(), 3);
        assert!(report.failed.iter().all(|f| f.error == CANCELLED));
        assert!(folder_names(backups.path()).is_empty());
        assert!(backups.path().join("manifest.xml").is_file());
    }

    #[tokio::test]
    async fn unknown_names_stop_the_run_before_anything_is_written() {
        let sysvol = tempfile::tempdir().unwrap();
        let backups = tempfile::tempdir().unwrap();
        let (session, _) = session(sysvol.path());
        let options =
            BackupOptions { dir: backups.path().into(), comment: String::new(), parallelism: 1, cancel: None };
        let selection = GpoSelection::Named(vec!["One".into(), "Nope".into()]);
        let err = back_up(&session, &selection, &options, Arc::new(NoProgress)).await.unwrap_err();
        assert!(err.to_string().contains("Nope"), "{err}");
        assert!(folder_names(backups.path()).is_empty());
    }
}
