//! Restore: a previous version of an existing GPO, a deleted GPO (its tombstone reanimated, or
//! the GPO created again with its GUID), or every GPO of a backup folder from its newest
//! instance.
//!
//! [`plan`] reads only: it opens each instance and checks it as untrusted input
//! ([`source`]), refuses a backup of another domain, reads the GPO's current state and works
//! out what will change ([`changes`]). [`execute`] restores GPO by GPO ([`apply`]): a safety
//! backup of the current GPO first, then SYSVOL, then the directory; a failure puts the safety
//! backup's state back, so a GPO is never left half restored.

mod apply;
pub mod changes;
pub mod source;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use futures::StreamExt;
use uuid::Uuid;

use self::changes::{
    AttributeChange, ClassStoreChange, DaclDiff, LinkAction, SysvolDiff, WmiFilterAction, attribute_changes,
    next_version, wmi_filter_action,
};
use self::source::{BackupSource, InstanceProblem, read_source};
use super::backup::BackupItemError;
use super::run::{Item, Outcome, Plan, PlanDescription, PlannedChange, RunOptions, RunReport, run_items};
use super::{DomainSession, Progress, ProgressEvent};
use crate::directory::{DeletedGpo, DirectoryError};
use crate::model::{DirectoryObject, DomainInfo, Estate, Gpo, GpoFolder, GpoId, Version, parse_guid};
use crate::store::{BackupStore, InstanceSummary, StoreError, latest_per_gpo};
use crate::sysvol::SysvolError;

pub use apply::RestoreStep;

/// GPOs restored at once by a restore of everything.
pub const DEFAULT_PARALLELISM: usize = 8;

/// The comment of the safety backup taken before a GPO is restored.
pub fn safety_comment(backup_id: &str) -> String {
    format!("before restore of {backup_id}")
}

/// Which instances to restore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreSelection {
    /// By backup ID; a GPO's {GUID} or display name stands for its newest instance.
    Backups(Vec<String>),
    /// The newest instance of every GPO in the folder.
    AllLatest,
}

/// Choices beyond what is restored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestoreOptions {
    /// Re-create the GPO's links as the backup recorded them.
    pub links: bool,
    /// Re-create a WMI filter that no longer exists from the backup's copy of it (gpvault's
    /// instances keep the filter object), then link it. Off by default: a filter is shared by
    /// every GPO of the domain, and GPMC never re-creates one.
    pub recreate_wmi_filters: bool,
    /// The plan will not be shown (a run confirmed up front): do not read the GPOs' current
    /// SYSVOL folders to say which files change. The run reads each folder anyway, once, for
    /// its safety backup.
    pub skip_sysvol_diff: bool,
    /// Leave the GPO's DACL as the directory has it: an import (the target keeps its
    /// permissions), a copy that takes the target domain's defaults for new GPOs.
    pub keep_dacl: bool,
    /// Write the settings only (SYSVOL content, extension names, class store, version): the
    /// name, status and WMI filter link stay as they are (an import).
    pub settings_only: bool,
}

/// How a GPO comes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreKind {
    /// It exists: its previous version is written over it (same GUID).
    PreviousVersion,
    /// It was deleted and the domain still has its tombstone: reanimated, then written.
    Reanimate(DeletedGpo),
    /// It is gone without a tombstone: created again with the same GUID, then written.
    Recreate,
}

impl RestoreKind {
    fn verb(&self) -> &'static str {
        match self {
            RestoreKind::PreviousVersion => "restore the previous version",
            RestoreKind::Reanimate(_) => "reanimate the deleted GPO and restore it",
            RestoreKind::Recreate => "re-create the deleted GPO with its GUID and restore it",
        }
    }
}

/// What the restore of one GPO will change, as read at plan time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpoChangeSummary {
    /// `None` when the plan did not compare (see [`RestoreOptions::skip_sysvol_diff`]).
    pub sysvol: Option<SysvolDiff>,
    /// SYSVOL files after the restore (GPT.INI left out).
    pub sysvol_files: usize,
    pub attributes: Vec<AttributeChange>,
    pub dacl: DaclDiff,
    /// The DACL written, in SDDL (shown in full for a deleted GPO).
    pub dacl_sddl: String,
    pub wmi_filter: WmiFilterAction,
    pub class_store: ClassStoreChange,
    pub links: Vec<LinkAction>,
    /// Why the backup's links are not known.
    pub links_unknown: Option<String>,
}

/// One GPO of a restore plan.
#[derive(Clone, Debug)]
pub struct GpoRestorePlan {
    pub item: Item,
    pub backup_id: String,
    pub backup_time: String,
    pub kind: RestoreKind,
    pub changes: GpoChangeSummary,
    source: Arc<BackupSource>,
    /// The comment of the safety backup taken first (an existing GPO).
    safety_comment: String,
    /// What the plan calls the whole change and what the run says it did, when they are not
    /// the restore's own words ("import the settings", "settings imported").
    verb: Option<(String, String)>,
    /// The GPO is made anew (a copy): its journal record says so, and recovery deletes it.
    new_gpo: bool,
}

impl GpoRestorePlan {
    pub fn source(&self) -> &BackupSource {
        &self.source
    }
}

/// Why an instance will not be restored. Nothing is written for it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Instance(#[from] InstanceProblem),
    #[error(
        "You cannot restore a GPO from a backup into a domain that is different from the GPO's original domain: backup {backup_id} is of {backup_domain}, the connected domain is {connected_domain}. Import its settings into a GPO of this domain instead"
    )]
    OtherDomain { backup_id: String, backup_domain: String, connected_domain: String },
    #[error("backup {other} restores the same GPO; restore one backup of a GPO at a time")]
    SameGpoTwice { other: String },
}

/// An instance the plan refuses, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedInstance {
    pub backup_id: String,
    /// The GPO as the instance names it (a nil GUID when it names none that parses).
    pub item: Item,
    pub refusal: Refusal,
}

/// What a restore will do. Made by [`plan`], which writes nothing.
#[derive(Clone, Debug)]
pub struct RestorePlan {
    pub dir: PathBuf,
    pub domain: String,
    pub options: RestoreOptions,
    pub gpos: Vec<GpoRestorePlan>,
    pub refused: Vec<RefusedInstance>,
    /// Things found while listing the folder (unreadable instances skipped...).
    pub notes: Vec<String>,
    /// Recorded link orders per container (lower-case DN), from every backup in the plan.
    recorded_links: Arc<BTreeMap<String, BTreeMap<GpoId, usize>>>,
}

impl RestorePlan {
    /// A plan of one GPO made by an import or a copy ([`GpoRestorePlan::written_over`]); `dir`
    /// takes the safety backup of an existing GPO.
    pub(crate) fn of_one(dir: PathBuf, domain: String, options: RestoreOptions, gpo: GpoRestorePlan) -> RestorePlan {
        RestorePlan {
            dir,
            domain,
            options,
            gpos: vec![gpo],
            refused: Vec::new(),
            notes: Vec::new(),
            recorded_links: Arc::new(BTreeMap::new()),
        }
    }

    /// The same restore planned against the domain as it is now: after a recovery changed its
    /// GPOs (a deleted one may be back), the plan made before it would be wrong about them.
    pub async fn planned_again(
        &self,
        session: &DomainSession,
        progress: &dyn Progress,
    ) -> Result<RestorePlan, RestoreError> {
        let ids = self.gpos.iter().map(|g| g.backup_id.clone()).collect();
        plan(session, self.dir.clone(), &RestoreSelection::Backups(ids), self.options, progress).await
    }

    /// Nothing to restore (everything refused, or nothing selected).
    pub fn is_empty(&self) -> bool {
        self.gpos.is_empty()
    }
}

/// Failures that stop the whole run before any GPO is tried.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "no backup '{key}' in {dir}: give a backup ID, or a GPO's GUID or name for its newest backup (gpvault backups list shows them)"
    )]
    NoSuchBackup { key: String, dir: String },
    #[error("'{key}' names {count} different GPOs in {dir}: give a backup ID or the GPO's GUID instead")]
    Ambiguous { key: String, dir: String, count: usize },
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("internal error (a bug in gpvault): {0}")]
    Internal(String),
}

/// What restoring one GPO did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    pub backup_id: String,
    pub kind: RestoreKind,
    /// The safety backup taken first (existing GPOs).
    pub safety_backup: Option<String>,
    pub version: Version,
    pub links_set: usize,
    /// Containers whose link was skipped because they no longer exist.
    pub links_skipped: Vec<String>,
    /// What was done about the WMI filter, when something noteworthy was.
    pub wmi_note: Option<String>,
    /// What was done, when not a restore ("settings imported").
    pub how: Option<String>,
}

impl fmt::Display for Restored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match (&self.how, &self.kind) {
            (Some(how), _) => how.as_str(),
            (None, RestoreKind::PreviousVersion) => "restored",
            (None, RestoreKind::Reanimate(_)) => "reanimated and restored",
            (None, RestoreKind::Recreate) => "re-created and restored",
        };
        write!(
            f,
            "{how} from {} (version user {}, computer {})",
            self.backup_id, self.version.user, self.version.machine
        )?;
        if let Some(safety) = &self.safety_backup {
            write!(f, "; safety backup {safety}")?;
        }
        if self.links_set > 0 {
            write!(f, "; {} link{} re-created", self.links_set, if self.links_set == 1 { "" } else { "s" })?;
        }
        if !self.links_skipped.is_empty() {
            write!(f, "; link skipped, container gone: {}", self.links_skipped.join(", "))?;
        }
        if let Some(note) = &self.wmi_note {
            write!(f, "; {note}")?;
        }
        Ok(())
    }
}

/// How a failed restore left the GPO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rollback {
    /// Nothing had been changed in the domain.
    NothingChanged,
    /// What had been changed was put back: the GPO is as it was before.
    PutBack,
    /// Putting it back failed too; the text says what state the GPO is in.
    NotPutBack(String),
}

impl fmt::Display for Rollback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rollback::NothingChanged => f.write_str("Nothing in the domain was changed."),
            Rollback::PutBack => f.write_str("The GPO was put back as it was before."),
            Rollback::NotPutBack(state) => write!(f, "Putting the GPO back failed too: {state}"),
        }
    }
}

/// A failed step's own error.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Sysvol(#[from] SysvolError),
    #[error("{0}")]
    Other(String),
}

/// Why one GPO was not restored, and how it was left.
#[derive(Debug, thiserror::Error)]
pub enum RestoreItemError {
    #[error("refused: {0}")]
    Refused(Refusal),
    #[error("the GPO changed since the plan ({0}); nothing was done: plan it again")]
    ChangedSincePlan(String),
    #[error("the safety backup of the current GPO failed, so nothing was changed: {0}")]
    SafetyBackup(#[source] BackupItemError),
    #[error("{step} failed: {source}. {rollback}")]
    Failed {
        step: RestoreStep,
        #[source]
        source: StepError,
        rollback: Rollback,
        /// The safety backup taken first, which holds the GPO as it was.
        safety_backup: Option<String>,
    },
}

pub type RestoreReport = RunReport<Restored, RestoreItemError>;

fn nil_item(name: String) -> Item {
    Item { gpo: GpoId(Uuid::nil()), name }
}

/// Picks the instances a selection names, newest first for a GPO named by GUID or name.
pub(crate) fn select_instances<'a>(
    listing: &'a [InstanceSummary],
    selection: &RestoreSelection,
    dir: &std::path::Path,
) -> Result<Vec<&'a InstanceSummary>, RestoreError> {
    let keys = match selection {
        RestoreSelection::AllLatest => return Ok(latest_per_gpo(listing)),
        RestoreSelection::Backups(keys) => keys,
    };
    let mut chosen: Vec<&InstanceSummary> = Vec::new();
    for key in keys {
        let key = key.trim();
        let by_backup =
            listing.iter().find(|i| i.info.id.eq_ignore_ascii_case(key) || i.folder_name.eq_ignore_ascii_case(key));
        let found = match by_backup {
            Some(instance) => instance,
            None => {
                let of_gpo: Vec<&InstanceSummary> = match parse_guid(key) {
                    Ok(guid) => listing.iter().filter(|i| parse_guid(&i.info.gpo_guid).ok() == Some(guid)).collect(),
                    Err(_) => listing.iter().filter(|i| i.info.gpo_display_name.eq_ignore_ascii_case(key)).collect(),
                };
                let newest = latest_per_gpo(&of_gpo.iter().map(|i| (*i).clone()).collect::<Vec<_>>())
                    .into_iter()
                    .map(|i| i.info.id.clone())
                    .collect::<Vec<_>>();
                match newest.as_slice() {
                    [] => {
                        return Err(RestoreError::NoSuchBackup {
                            key: key.to_string(),
                            dir: dir.display().to_string(),
                        });
                    }
                    [one] => of_gpo.into_iter().find(|i| &i.info.id == one).ok_or_else(|| {
                        RestoreError::Internal(format!("newest instance {one} vanished from the listing"))
                    })?,
                    many => {
                        return Err(RestoreError::Ambiguous {
                            key: key.to_string(),
                            dir: dir.display().to_string(),
                            count: many.len(),
                        });
                    }
                }
            }
        };
        if !chosen.iter().any(|c| c.path == found.path) {
            chosen.push(found);
        }
    }
    Ok(chosen)
}

/// The backup's domain against the connected one: by objectGUID when the backup records it,
/// else by DNS name.
pub(crate) fn check_domain(source: &BackupSource, domain: &DomainInfo) -> Result<(), Refusal> {
    let same = match (source.domain.guid, parse_guid(&domain.guid).ok()) {
        (Some(theirs), Some(ours)) => theirs == ours,
        _ => source.domain.dns_name.eq_ignore_ascii_case(&domain.dns_name),
    };
    if same {
        return Ok(());
    }
    let backup_domain = match source.domain.guid {
        Some(guid) if source.domain.dns_name.is_empty() => format!("domain {{{guid}}}"),
        Some(guid) => format!("{} ({{{guid}}})", source.domain.dns_name),
        None => source.domain.dns_name.clone(),
    };
    Err(Refusal::OtherDomain {
        backup_id: source.backup_id.clone(),
        backup_domain,
        connected_domain: if domain.guid.is_empty() {
            domain.dns_name.clone()
        } else {
            format!("{} ({})", domain.dns_name, domain.guid)
        },
    })
}

/// Reads the folder, checks each selected instance and the GPO it restores, and works out what
/// will change. Writes nothing, anywhere.
pub async fn plan(
    session: &DomainSession,
    dir: PathBuf,
    selection: &RestoreSelection,
    options: RestoreOptions,
    progress: &dyn Progress,
) -> Result<RestorePlan, RestoreError> {
    progress.report(ProgressEvent::Step(format!("Reading the backups in {}", dir.display())));
    let store = BackupStore::open(&dir, false)?;
    let listing_store = store.clone();
    let listing = tokio::task::spawn_blocking(move || listing_store.list())
        .await
        .map_err(|e| RestoreError::Internal(e.to_string()))?;
    let chosen: Vec<InstanceSummary> =
        select_instances(&listing.instances, selection, &dir)?.into_iter().cloned().collect();
    let mut notes: Vec<String> =
        listing.findings.iter().map(|f| format!("{}: {}", f.path.display(), f.problem)).collect();

    // Every file of every instance is read and checked before anything else.
    let read =
        tokio::task::spawn_blocking(move || chosen.into_iter().map(|i| (read_source(&i), i)).collect::<Vec<_>>())
            .await
            .map_err(|e| RestoreError::Internal(e.to_string()))?;

    let mut refused = Vec::new();
    let mut sources: Vec<BackupSource> = Vec::new();
    for (result, instance) in read {
        let item_of = |instance: &InstanceSummary| match instance.info.gpo_guid.parse::<GpoId>() {
            Ok(gpo) => Item { gpo, name: instance.info.gpo_display_name.clone() },
            Err(_) => nil_item(format!("{} (backup {})", instance.info.gpo_display_name, instance.info.id)),
        };
        match result.map_err(Refusal::from).and_then(|s| check_domain(&s, &session.domain).map(|()| s)) {
            Ok(source) => match sources.iter().find(|s| s.gpo.id == source.gpo.id) {
                Some(first) => refused.push(RefusedInstance {
                    backup_id: source.backup_id.clone(),
                    item: item_of(&instance),
                    refusal: Refusal::SameGpoTwice { other: first.backup_id.clone() },
                }),
                None => sources.push(source),
            },
            Err(refusal) => {
                refused.push(RefusedInstance { backup_id: instance.info.id.clone(), item: item_of(&instance), refusal })
            }
        }
    }

    progress.report(ProgressEvent::Step(format!("Reading the GPOs of {}", session.domain.dns_name)));
    let (estate, children) = if sources.is_empty() {
        (Estate { domain: session.domain.clone(), ..Default::default() }, BTreeMap::new())
    } else {
        futures::try_join!(session.directory.read_estate(), session.directory.read_gpo_children())?
    };

    let mut recorded_links: BTreeMap<String, BTreeMap<GpoId, usize>> = BTreeMap::new();
    if options.links {
        for source in &sources {
            for link in &source.links {
                if let Some(order) = link.order {
                    recorded_links.entry(link.container_dn.to_lowercase()).or_default().insert(source.gpo.id, order);
                }
            }
        }
        // A backup records its own GPO's place in each container; the other GPOs' instances of
        // about the same time (the same Back Up All) record theirs, which places it among them.
        let restored: Vec<GpoId> = sources.iter().map(|s| s.gpo.id).collect();
        let reference = sources
            .iter()
            .filter(|s| s.links.iter().any(|l| l.order.is_some()))
            .filter_map(|s| {
                crate::formats::bkup_info::BackupInfo { backup_time: s.backup_time.clone(), ..Default::default() }
                    .backup_time_utc()
            })
            .max();
        if let Some(reference) = reference {
            let containers: Vec<String> = recorded_links.keys().cloned().collect();
            let instances = listing.instances.clone();
            let neighbours = tokio::task::spawn_blocking(move || {
                neighbour_link_orders(&instances, &restored, &containers, reference)
            })
            .await
            .map_err(|e| RestoreError::Internal(e.to_string()))?;
            for (container, orders) in neighbours {
                let known = recorded_links.entry(container).or_default();
                for (gpo, order) in orders {
                    known.entry(gpo).or_insert(order);
                }
            }
        }
    }

    // Current SYSVOL folders (for what changes) and tombstones, a few at a time.
    let estate_ref = &estate;
    let states: Vec<Result<(BackupSource, CurrentState), RestoreError>> = futures::stream::iter(sources)
        .map(|source| async move {
            let state = match estate_ref.gpos.iter().find(|g| g.id == source.gpo.id) {
                Some(gpo) => {
                    // A folder that cannot be read is shown as empty: the restore replaces it.
                    let folder = match options.skip_sysvol_diff {
                        true => None,
                        false => {
                            let read = session.sysvol.read_gpo_folder(&gpo.id, &gpo.file_sys_path).await;
                            Some(read.unwrap_or_default())
                        }
                    };
                    CurrentState::Existing { gpo: Box::new(gpo.clone()), folder }
                }
                None => match session.directory.find_deleted_gpo(&source.gpo.id).await? {
                    Some(deleted) => CurrentState::Deleted(deleted),
                    None => CurrentState::Gone,
                },
            };
            Ok((source, state))
        })
        .buffered(DEFAULT_PARALLELISM)
        .collect()
        .await;

    let mut gpos = Vec::new();
    for state in states {
        let (source, state) = state?;
        gpos.push(plan_one(source, state, &estate, &children, &options, &recorded_links));
    }
    if options.links && gpos.iter().any(|g| g.changes.links_unknown.is_some()) {
        notes.push("some backups (GPMC's without gpreport.xml) do not record their links".into());
    }
    Ok(RestorePlan {
        dir,
        domain: session.domain.dns_name.clone(),
        options,
        gpos,
        refused,
        notes,
        recorded_links: Arc::new(recorded_links),
    })
}

/// Link orders the other GPOs' gpvault instances recorded in `containers`, each GPO's from its
/// instance closest in time to `reference`. Only a hint for placing links: an instance that
/// cannot be read is passed over.
fn neighbour_link_orders(
    instances: &[InstanceSummary],
    restored: &[GpoId],
    containers: &[String],
    reference: chrono::DateTime<chrono::Utc>,
) -> BTreeMap<String, BTreeMap<GpoId, usize>> {
    #[derive(serde::Deserialize)]
    struct LinksOnly {
        links: Vec<crate::model::Link>,
    }
    let mut closest: BTreeMap<GpoId, (i64, &InstanceSummary)> = BTreeMap::new();
    for instance in instances.iter().filter(|i| i.has_gpvault_json) {
        let (Ok(gpo), Some(time)) = (instance.info.gpo_id(), instance.info.backup_time_utc()) else { continue };
        if restored.contains(&gpo) {
            continue;
        }
        let distance = (time - reference).num_seconds().abs();
        if closest.get(&gpo).is_none_or(|(d, _)| distance < *d) {
            closest.insert(gpo, (distance, instance));
        }
    }
    let mut out: BTreeMap<String, BTreeMap<GpoId, usize>> = BTreeMap::new();
    for (gpo, (_, instance)) in closest {
        let path = instance.path.join(crate::store::GPVAULT_JSON_FILE);
        let plain_file =
            std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() <= source::MAX_FILE_BYTES);
        let Some(extra) = plain_file
            .then(|| std::fs::read(&path).ok())
            .flatten()
            .and_then(|bytes| serde_json::from_slice::<LinksOnly>(&bytes).ok())
        else {
            continue;
        };
        for link in extra.links.iter().filter(|l| l.gpo_id == gpo) {
            let container = link.container_dn.to_lowercase();
            if containers.contains(&container) {
                out.entry(container).or_default().insert(gpo, link.order);
            }
        }
    }
    out
}

/// The GPO as the domain has it at plan time.
enum CurrentState {
    Existing { gpo: Box<Gpo>, folder: Option<GpoFolder> },
    Deleted(DeletedGpo),
    Gone,
}

fn plan_one(
    source: BackupSource,
    state: CurrentState,
    estate: &Estate,
    children: &BTreeMap<GpoId, Vec<DirectoryObject>>,
    options: &RestoreOptions,
    recorded_links: &BTreeMap<String, BTreeMap<GpoId, usize>>,
) -> GpoRestorePlan {
    let domain = &estate.domain;
    let (current, kind, folder) = match state {
        CurrentState::Existing { gpo, folder } => (Some(*gpo), RestoreKind::PreviousVersion, folder),
        CurrentState::Deleted(deleted) => (None, RestoreKind::Reanimate(deleted), None),
        CurrentState::Gone => (None, RestoreKind::Recreate, None),
    };
    let current_sysvol = folder
        .as_ref()
        .and_then(|f| f.file(crate::formats::gpt_ini::FILE_NAME))
        .and_then(crate::ops::inspect::gpt_ini_version);
    let current_versions: Vec<Version> = current.iter().map(|g| g.version).chain(current_sysvol).collect();
    let backed_up: Vec<Version> = std::iter::once(source.gpo.version).chain(source.sysvol_version).collect();
    let version = next_version(&current_versions, &backed_up);

    let wmi = wmi_filter_action(&source, &estate.wmi_filters, options.recreate_wmi_filters);
    let wmi_link = wmi.link_value(&source.gpo, &domain.dns_name);
    let filter_name = |link: Option<&str>| -> String {
        let Some(link) = link else { return "(none)".into() };
        let id =
            link.trim().trim_start_matches('[').trim_end_matches(']').split(';').nth(1).unwrap_or_default().to_string();
        estate
            .wmi_filters
            .iter()
            .find(|f| f.id.eq_ignore_ascii_case(&id))
            .map(|f| format!("{} {id}", f.name))
            .or_else(|| match &wmi {
                WmiFilterAction::Recreate { filter } if filter.id.eq_ignore_ascii_case(&id) => {
                    Some(format!("{} {id} (re-created)", filter.name))
                }
                _ => None,
            })
            .unwrap_or(id)
    };
    let attributes = attribute_changes(current.as_ref(), &source.gpo, version, wmi_link.as_deref(), filter_name);

    let dacl = match current.as_ref().and_then(|g| g.security_descriptor.as_ref()) {
        Some(now) => DaclDiff::between(now, &source.security_descriptor, domain.sid.as_ref()),
        None => DaclDiff::default(),
    };
    let gpo_dn = current
        .as_ref()
        .map(|g| g.dn.clone())
        .unwrap_or_else(|| format!("CN={},CN=Policies,CN=System,{}", source.gpo.id, domain.dn));
    let restored_objects = source.class_store.objects_for(&gpo_dn);
    let current_objects = match &current {
        Some(g) => children.get(&g.id).cloned().unwrap_or_default(),
        None => Vec::new(),
    };
    let class_store = ClassStoreChange::between(&current_objects, &restored_objects);

    let existing_links: Vec<&crate::model::Link> = current.iter().flat_map(|g| estate.links_to(&g.id)).collect();
    let links = source
        .links
        .iter()
        .map(|link| {
            let container = estate.containers.iter().find(|c| c.dn.eq_ignore_ascii_case(&link.container_dn));
            match container {
                None => LinkAction::ContainerGone(link.clone()),
                Some(_) if !options.links => LinkAction::Existed(link.clone()),
                Some(c) => {
                    let now = existing_links.iter().find(|l| l.container_dn.eq_ignore_ascii_case(&c.dn));
                    let current_orders: Vec<(GpoId, usize)> = c.links.iter().map(|l| (l.gpo_id, l.order)).collect();
                    let target = link.order.map(|own| {
                        let recorded =
                            recorded_links.get(&link.container_dn.to_lowercase()).cloned().unwrap_or_default();
                        changes::link_order(&source.gpo.id, own, &current_orders, &recorded)
                    });
                    let unchanged = now.is_some_and(|l| {
                        l.enabled == link.enabled && l.enforced == link.enforced && target.is_none_or(|t| t == l.order)
                    });
                    if unchanged { LinkAction::Unchanged(link.clone()) } else { LinkAction::Set(link.clone()) }
                }
            }
        })
        .collect();

    let restored_folder = source.content.clone();
    let sysvol = match (&folder, &kind) {
        (Some(now), _) => Some(SysvolDiff::between(now, &restored_folder)),
        (None, RestoreKind::PreviousVersion) => None,
        (None, _) => Some(SysvolDiff::between(&GpoFolder::default(), &restored_folder)),
    };
    let changes = GpoChangeSummary {
        sysvol,
        sysvol_files: restored_folder.files().count(),
        attributes,
        dacl,
        dacl_sddl: source.security_descriptor.to_sddl(domain.sid.as_ref()),
        wmi_filter: wmi,
        class_store,
        links,
        links_unknown: source.links_unknown.clone(),
    };
    GpoRestorePlan {
        item: Item { gpo: source.gpo.id, name: source.gpo.display_name.clone() },
        backup_id: source.backup_id.clone(),
        backup_time: source.backup_time.clone(),
        safety_comment: safety_comment(&source.backup_id),
        kind,
        changes,
        source: Arc::new(source),
        verb: None,
        new_gpo: false,
    }
}

fn list_some(names: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = names.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(", and {} more", names.len() - SHOWN));
    }
    text
}

fn link_text(link: &source::RecordedLink) -> String {
    let order = link.order.map(|o| format!("order {o}")).unwrap_or_else(|| "order not recorded: last".into());
    format!(
        "{} ({order}, {}{})",
        link.container_dn,
        if link.enabled { "enabled" } else { "disabled" },
        if link.enforced { ", enforced" } else { "" }
    )
}

impl GpoRestorePlan {
    /// `source` written over `current` (an existing GPO, with its folder when it was read) or,
    /// without one, as a new GPO with `source`'s GUID: how an import and a copy write a GPO,
    /// through the restore's own run (safety backup, all or nothing, put back on failure).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn written_over(
        source: BackupSource,
        current: Option<(Gpo, Option<GpoFolder>)>,
        estate: &Estate,
        children: &BTreeMap<GpoId, Vec<DirectoryObject>>,
        options: &RestoreOptions,
        verb: (String, String),
        safety_comment: String,
    ) -> GpoRestorePlan {
        let new_gpo = current.is_none();
        let state = match current {
            Some((gpo, folder)) => CurrentState::Existing { gpo: Box::new(gpo), folder },
            None => CurrentState::Gone,
        };
        let mut plan = plan_one(source, state, estate, children, options, &BTreeMap::new());
        plan.new_gpo = new_gpo;
        plan.verb = Some(verb);
        plan.safety_comment = safety_comment;
        plan
    }

    fn describe_into(&self, dir: &std::path::Path, domain: &str, options: &RestoreOptions, out: &mut PlanDescription) {
        let item = || Some(self.item.clone());
        let mut change = |action: &str, from: String, to: String| {
            out.changes.push(PlannedChange { item: item(), action: action.to_string(), from, to })
        };
        let source = &self.source;
        let mut from = format!("backup {} of {} UTC", self.backup_id, self.backup_time);
        if !source.comment.is_empty() {
            from.push_str(&format!(" ({})", source.comment));
        }
        change(
            self.verb.as_ref().map_or(self.kind.verb(), |(verb, _)| verb.as_str()),
            from,
            format!("{domain}, GPO {}", self.item.gpo),
        );
        if self.kind == RestoreKind::PreviousVersion {
            change(
                "take a safety backup",
                "the GPO as it is now".into(),
                format!("{} (comment: {})", dir.display(), self.safety_comment),
            );
        }
        let c = &self.changes;
        let detail = match &c.sysvol {
            Some(s) => {
                let mut detail = format!(
                    "{} files: {} added, {} replaced, {} removed, {} unchanged",
                    c.sysvol_files,
                    s.added.len(),
                    s.replaced.len(),
                    s.removed.len(),
                    s.unchanged
                );
                for (what, names) in [("added", &s.added), ("replaced", &s.replaced), ("removed", &s.removed)] {
                    if !names.is_empty() {
                        detail.push_str(&format!("; {what}: {}", list_some(names)));
                    }
                }
                detail
            }
            None => format!("{} files (not compared with the current folder)", c.sysvol_files),
        };
        change("replace SYSVOL content (GPT.INI regenerated)", "the GPO's folder now".into(), detail);
        for attribute in &c.attributes {
            change(&format!("set {}", attribute.name), attribute.old.clone(), attribute.new.clone());
        }
        match &self.kind {
            _ if options.keep_dacl => {}
            RestoreKind::PreviousVersion => {
                for ace in &c.dacl.removed {
                    change("remove from the DACL", ace.clone(), String::new());
                }
                for ace in &c.dacl.added {
                    change("add to the DACL", String::new(), ace.clone());
                }
                if let Some((was, will)) = c.dacl.protection {
                    let word = |p: bool| if p { "protected" } else { "inheriting" };
                    change("set the DACL's inheritance", word(was).into(), word(will).into());
                }
            }
            _ => change("set the DACL", String::new(), c.dacl_sddl.clone()),
        }
        match &c.wmi_filter {
            WmiFilterAction::Missing { id, name, can_recreate } => {
                let mut text = format!(
                    "filter {id}{} no longer exists: not linked",
                    name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
                );
                if *can_recreate {
                    text.push_str("; it can be re-created from the backup");
                }
                change("WMI filter", id.clone(), text);
            }
            WmiFilterAction::Recreate { filter } => change(
                "re-create the WMI filter from the backup and link it",
                String::new(),
                format!("{} {}", filter.name, filter.id),
            ),
            WmiFilterAction::NoFilter | WmiFilterAction::Link { .. } => {}
        }
        let cs = &c.class_store;
        if !cs.is_empty() {
            change(
                "replace the software installation class store",
                format!(
                    "{} objects, packages: {}",
                    cs.objects_now,
                    if cs.packages_now.is_empty() { "none".into() } else { list_some(&cs.packages_now) }
                ),
                format!(
                    "{} objects, packages: {}",
                    cs.objects_restored,
                    if cs.packages_restored.is_empty() { "none".into() } else { list_some(&cs.packages_restored) }
                ),
            );
        }
        for link in &c.links {
            match link {
                LinkAction::Set(l) => change("re-create the link", String::new(), link_text(l)),
                LinkAction::Unchanged(l) => change("link already as recorded", link_text(l), link_text(l)),
                LinkAction::Existed(l) => change("link existed (not re-created)", link_text(l), String::new()),
                LinkAction::ContainerGone(l) => {
                    change("skip the link: the container no longer exists", link_text(l), String::new())
                }
            }
        }
        if let Some(why) = &c.links_unknown {
            change("links unknown", why.clone(), String::new());
        }
    }
}

impl Plan for RestorePlan {
    fn describe(&self) -> PlanDescription {
        let count = self.gpos.len();
        let mut title = format!(
            "Restore {count} GPO{} of {} from {}",
            if count == 1 { "" } else { "s" },
            self.domain,
            self.dir.display()
        );
        if !self.refused.is_empty() {
            title.push_str(&format!(" ({} refused)", self.refused.len()));
        }
        let mut description = PlanDescription { title, ..Default::default() };
        for refused in &self.refused {
            description.changes.push(PlannedChange {
                item: Some(refused.item.clone()),
                action: "refuse".into(),
                from: format!("backup {}", refused.backup_id),
                to: refused.refusal.to_string(),
            });
        }
        for gpo in &self.gpos {
            gpo.describe_into(&self.dir, &self.domain, &self.options, &mut description);
        }
        if self.options.links {
            description.notes.push("links are re-created at their recorded position".into());
        } else if self.gpos.iter().any(|g| g.changes.links.iter().any(|l| matches!(l, LinkAction::Existed(_)))) {
            description
                .notes
                .push("links the backups recorded are listed, not re-created (links can be asked for)".into());
        }
        if self.gpos.iter().any(|g| matches!(g.changes.wmi_filter, WmiFilterAction::Missing { can_recreate: true, .. }))
        {
            description.notes.push(
                "a WMI filter that no longer exists is not re-created unless asked: filters are shared by every GPO"
                    .into(),
            );
        }
        description.notes.extend(self.notes.iter().cloned());
        description
    }
}

/// Restores every GPO of the plan, each all or nothing, then rewrites the folder's manifest
/// once for the safety backups taken. Refused instances are reported as failed, untouched.
pub async fn execute(
    session: &DomainSession,
    plan: RestorePlan,
    options: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<RestoreReport, RestoreError> {
    progress.report(ProgressEvent::Planned { total: plan.gpos.len() + plan.refused.len() });
    let mut items = Vec::new();
    for refused in &plan.refused {
        let report = super::run::ItemReport {
            item: refused.item.clone(),
            outcome: Outcome::Failed(RestoreItemError::Refused(refused.refusal.clone())),
        };
        progress.report(ProgressEvent::ItemFinished(super::run::ItemResult::of(&report)));
        items.push(report);
    }
    if plan.gpos.is_empty() {
        return Ok(RunReport { items, closing: Vec::new() });
    }
    // A copy writes a new GPO from no backup folder: it has neither safety backups nor records.
    let store = match plan.dir.as_os_str().is_empty() {
        true => None,
        false => Some(BackupStore::open(&plan.dir, false)?),
    };
    if let Some(store) = &store {
        super::backup::clean_leftovers(store, progress.as_ref()).await;
    }
    // The state right before writing: the safety backups and the put-back use it, not the
    // plan's (someone may have changed a GPO since).
    progress.report(ProgressEvent::Step(format!("Reading the current state of {}", session.domain.dns_name)));
    let (estate, children) =
        futures::try_join!(session.directory.read_estate(), session.directory.read_gpo_children())?;
    let resolver = super::backup::PrincipalCache::default();
    let dacl_sids: Vec<crate::model::Sid> = estate
        .gpos
        .iter()
        .filter(|g| plan.gpos.iter().any(|p| p.item.gpo == g.id))
        .flat_map(|g| g.security_descriptor.iter().flat_map(|sd| sd.principals()))
        .collect();
    resolver.resolve(session, &dacl_sids).await?;

    let context = apply::Context {
        session,
        store: store.as_ref(),
        estate: &estate,
        children: &children,
        resolver: &resolver,
        options: plan.options,
        recorded_links: &plan.recorded_links,
    };
    let context = &context;
    let work: Vec<(Item, GpoRestorePlan)> = plan.gpos.iter().map(|g| (g.item.clone(), g.clone())).collect();
    let mut restored =
        run_items(
            work,
            options,
            &progress,
            |gpo: GpoRestorePlan| async move { apply::restore_one(context, &gpo).await },
        )
        .await;
    restored.sort_by_cached_key(|r| r.item.name.to_lowercase());
    items.extend(restored);

    let safety_backups = items.iter().any(|r| match &r.outcome {
        Outcome::Succeeded(done) => done.safety_backup.is_some(),
        Outcome::Failed(RestoreItemError::Failed { safety_backup, .. }) => safety_backup.is_some(),
        _ => false,
    });
    let mut closing = Vec::new();
    if let Some(store) = store.filter(|_| safety_backups) {
        progress.report(ProgressEvent::Step("Updating manifest.xml".into()));
        let manifest_store = store.clone();
        match tokio::task::spawn_blocking(move || manifest_store.rebuild_manifest()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => closing.push(crate::error::one_line(&e)),
            Err(e) => closing.push(format!("updating manifest.xml: {e}")),
        }
    }
    Ok(RunReport { items, closing })
}

#[cfg(test)]
pub(crate) mod tests;
