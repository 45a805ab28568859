//! Recover: put right the GPOs a killed restore, import or copy left half changed.
//!
//! A restore records in the backup folder each GPO it is about to change (see
//! [`crate::store::JournalEntry`]). A record whose run is gone names a GPO that may be anywhere
//! between before and after. An existing GPO is put back from the safety backup taken before it
//! changed (as before); a deleted GPO being recreated had none, so its restore is run again from
//! the same backup (as restored). Both are ordinary restores, with their own safety backups and
//! records, so a recovery killed in turn is recovered the same way. A copy makes a GPO that did
//! not exist, with a GUID of its own, and keeps its record in the user's state folder: what it
//! left of the copy is deleted (as before): GPO, SYSVOL folder, and a WMI filter it made that no GPO
//! uses.
//!
//! A restore, an import or a copy recovers its folder first ([`AfterRecovery`], [`execute_first`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::DomainSession;
use super::Progress;
use super::ProgressEvent;
use super::restore::{
    self, RestoreError, RestoreItemError, RestoreOptions, RestorePlan, RestoreReport, RestoreSelection, RestoreStep,
    Restored, Rollback, StepError,
};
use super::run::{Item, ItemReport, Outcome, Plan, PlanDescription, PlannedChange, RunOptions, RunReport};
use crate::directory::DirectoryError;
use crate::model::GpoId;
use crate::store::{BackupStore, InterruptedChange};
use crate::sysvol::{PolicyPath, SysvolError};

/// What recovery does for one GPO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// Put back as it was, from the safety backup taken before the change.
    PutBack { safety_backup: String },
    /// It did not exist before (a deleted GPO being recreated): restore it again.
    RestoreAgain { backup: String },
    /// The run was making it anew (a copy): what it made is deleted.
    Delete,
}

/// What recovery did for one GPO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovered {
    /// Put back from its safety backup, or restored again: a restore, said as one.
    Restored(Box<Restored>),
    /// What a killed copy made of it is gone.
    Deleted,
}

impl fmt::Display for Recovered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recovered::Restored(restored) => restored.fmt(f),
            Recovered::Deleted => f.write_str("deleted what the interrupted run had made of it"),
        }
    }
}

pub type RecoverReport = RunReport<Recovered, RestoreItemError>;

/// One GPO found half changed.
#[derive(Clone, Debug)]
pub struct RecoveryItem {
    pub gpo: String,
    pub gpo_name: String,
    /// What was being done: "restore from {ID}", "import the settings from {ID}".
    pub interrupted: String,
    pub recovery: Recovery,
    /// Its records (a GPO interrupted twice has two; the oldest decides).
    records: Vec<InterruptedChange>,
}

#[derive(Clone, Debug)]
pub struct RecoverPlan {
    pub dir: PathBuf,
    pub domain: String,
    pub items: Vec<RecoveryItem>,
    /// Records of other domains, and records that cannot be read: said, not acted on.
    pub notes: Vec<String>,
    pub restore: Option<RestorePlan>,
}

impl RecoverPlan {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether recovery deletes `gpo` (an unfinished copy).
    pub fn deletes(&self, gpo: &GpoId) -> bool {
        self.items.iter().any(|i| i.recovery == Recovery::Delete && i.gpo.eq_ignore_ascii_case(&gpo.to_string()))
    }
}

/// Reads the folder's records of interrupted changes to `session`'s domain and plans the
/// restores that put them right. Writes nothing.
pub async fn plan(session: &DomainSession, dir: PathBuf, progress: &dyn Progress) -> Result<RecoverPlan, RestoreError> {
    let store = BackupStore::open(&dir, false)?;
    let domain = session.domain.dns_name.clone();
    let mut notes = Vec::new();
    let mut by_gpo: BTreeMap<String, Vec<InterruptedChange>> = BTreeMap::new();
    for found in store.interrupted_changes() {
        match found {
            Ok(change) if change.entry.domain.eq_ignore_ascii_case(&domain) => {
                by_gpo.entry(change.entry.gpo.to_uppercase()).or_default().push(change);
            }
            Ok(change) => notes.push(format!(
                "{} ({}) in {} was interrupted too: connect to that domain to recover it",
                change.entry.gpo_name, change.entry.gpo, change.entry.domain
            )),
            Err(e) => notes.push(crate::error::one_line(&e)),
        }
    }
    let items: Vec<RecoveryItem> = by_gpo
        .into_values()
        .map(|records| {
            // Oldest first: the first record's safety backup holds the GPO before any of them.
            let first = &records[0].entry;
            let recovery = match &first.safety_backup {
                _ if first.new_gpo => Recovery::Delete,
                Some(safety) => Recovery::PutBack { safety_backup: safety.clone() },
                None => Recovery::RestoreAgain { backup: first.from_backup.clone() },
            };
            RecoveryItem {
                gpo: first.gpo.clone(),
                gpo_name: first.gpo_name.clone(),
                interrupted: match first.new_gpo || first.from_backup.is_empty() {
                    true => first.operation.clone(),
                    false => format!("{} from {}", first.operation, first.from_backup),
                },
                recovery,
                records,
            }
        })
        .collect();
    let ids: Vec<String> = items
        .iter()
        .filter_map(|i| match &i.recovery {
            Recovery::PutBack { safety_backup } => Some(safety_backup.clone()),
            Recovery::RestoreAgain { backup } => Some(backup.clone()),
            Recovery::Delete => None,
        })
        .collect();
    let restore = match ids.is_empty() {
        true => None,
        false => {
            // Links as the backup recorded them: a killed restore may have been setting them.
            let options = RestoreOptions { links: true, skip_sysvol_diff: true, ..Default::default() };
            Some(restore::plan(session, dir.clone(), &RestoreSelection::Backups(ids), options, progress).await?)
        }
    };
    Ok(RecoverPlan { dir, domain, items, notes, restore })
}

impl Plan for RecoverPlan {
    fn describe(&self) -> PlanDescription {
        let mut description = match &self.restore {
            Some(restore) => restore.describe(),
            None => PlanDescription::default(),
        };
        let count = self.items.len();
        description.title = format!(
            "Recover {count} GPO{} of {} left half changed by an interrupted run, from {}",
            if count == 1 { "" } else { "s" },
            self.domain,
            self.dir.display()
        );
        for item in self.items.iter().filter(|i| i.recovery == Recovery::Delete) {
            description.changes.push(PlannedChange {
                item: item.gpo.parse().ok().map(|gpo| Item { gpo, name: item.gpo_name.clone() }),
                action: "delete the unfinished GPO".into(),
                from: format!("{} ({}), as the interrupted run left it", item.gpo_name, item.gpo),
                to: match item.wmi_filter_made() {
                    None => format!("nothing: no GPO {} and no SYSVOL folder", item.gpo),
                    Some(filter) => format!(
                        "nothing: no GPO {} and no SYSVOL folder; the WMI filter {filter} it made goes too, unless a GPO is filtered by it",
                        item.gpo
                    ),
                },
            });
        }
        let mut notes: Vec<String> = self.items.iter().map(RecoveryItem::sentence).collect();
        notes.extend(self.notes.iter().cloned());
        notes.append(&mut description.notes);
        description.notes = notes;
        description
    }
}

impl RecoveryItem {
    /// The WMI filter the interrupted run was to create for its new GPO, if any.
    pub fn wmi_filter_made(&self) -> Option<&str> {
        self.records.iter().find_map(|r| r.entry.wmi_filter_made.as_deref())
    }

    /// "X ({GUID}) was left by a run killed while it was to restore from B: it is put back as it
    /// was, from the safety backup S".
    pub fn sentence(&self) -> String {
        let what = match &self.recovery {
            Recovery::PutBack { safety_backup } => {
                format!("it is put back as it was, from the safety backup {safety_backup}")
            }
            Recovery::RestoreAgain { backup } => {
                format!("it did not exist before, so it is restored again from {backup}")
            }
            Recovery::Delete => "it did not exist before, so what the run made of it is deleted".to_string(),
        };
        format!(
            "{} ({}) was left by a run killed while it was to {}: {what}",
            self.gpo_name, self.gpo, self.interrupted
        )
    }
}

/// Runs the plan's restores, deletes the unfinished copies, and drops the records of every GPO
/// put right. A GPO that could not be put right keeps its records, for the next try.
pub async fn execute(
    session: &DomainSession,
    plan: RecoverPlan,
    options: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<RecoverReport, RestoreError> {
    let restored = match plan.restore {
        Some(restore_plan) => restore::execute(session, restore_plan, options, Arc::clone(&progress)).await?,
        None => RestoreReport::default(),
    };
    let items = restored
        .items
        .into_iter()
        .map(|r| ItemReport { item: r.item, outcome: r.outcome.map(|done| Recovered::Restored(Box::new(done))) });
    let mut report = RecoverReport { items: items.collect(), closing: restored.closing };
    // Put right by a restore: what the dead run left beside the GPO's folder goes too.
    for item in plan.items.iter().filter(|i| i.recovery != Recovery::Delete) {
        let Some(id) = item.gpo.parse::<GpoId>().ok().filter(|id| succeeded(&report, id)) else { continue };
        if let Err(e) = remove_replacement_leftovers(session, &id).await {
            report.closing.push(format!(
                "{} ({}) is put right, but what the interrupted run left beside its SYSVOL folder could not be removed ({e}): gpvault check lists it",
                item.gpo_name, item.gpo
            ));
        }
    }
    for item in plan.items.iter().filter(|i| i.recovery == Recovery::Delete) {
        progress.report(ProgressEvent::Step(format!("Deleting the unfinished {} ({})", item.gpo_name, item.gpo)));
        report.items.push(delete_unfinished(session, item).await);
    }
    if plan.items.is_empty() {
        return Ok(report);
    }
    let store = BackupStore::open(&plan.dir, false)?;
    let lock = store.lock()?;
    for item in &plan.items {
        if !item.gpo.parse::<GpoId>().is_ok_and(|id| succeeded(&report, &id)) {
            continue;
        }
        for record in &item.records {
            if let Err(e) = store.forget_interrupted(&lock, record) {
                report.closing.push(crate::error::one_line(&e));
            }
        }
    }
    Ok(report)
}

/// Why a run did not go on after putting right what killed runs left.
#[derive(Debug, thiserror::Error)]
pub enum FirstError {
    #[error(transparent)]
    Restore(#[from] RestoreError),
    /// A GPO could not be put right: "name ({GUID})", and why.
    #[error("{gpo}: {reason}")]
    NotPutRight { gpo: String, reason: String },
    /// The run was cancelled while recovering.
    #[error("cancelled while putting right what interrupted runs left")]
    Cancelled,
}

/// Recovery as the first step of another run (a restore, an import, a copy) on the same folder:
/// a change recorded by a killed run must never be played back over a later one, so the run goes
/// on only when every GPO was put right. Returns what recovery did, for the run's summary.
pub async fn execute_first(
    session: &DomainSession,
    plan: RecoverPlan,
    options: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<RecoverReport, FirstError> {
    let report = execute(session, plan, options, progress).await?;
    for r in &report.items {
        match &r.outcome {
            Outcome::Succeeded(_) => {}
            Outcome::Failed(e) => {
                let gpo = format!("{} ({})", r.item.name, r.item.gpo);
                return Err(FirstError::NotPutRight { gpo, reason: crate::error::one_line(e) });
            }
            Outcome::Cancelled => return Err(FirstError::Cancelled),
        }
    }
    Ok(report)
}

/// A plan made while killed runs' changes wait in its folder: they are put right first
/// ([`execute_first`]), then the plan is made again against the GPOs as they are and run.
#[derive(Clone, Debug)]
pub struct AfterRecovery<P> {
    pub recovery: Option<RecoverPlan>,
    pub then: P,
}

impl<P: Plan> Plan for AfterRecovery<P> {
    fn describe(&self) -> PlanDescription {
        let mut description = self.then.describe();
        if let Some(recovery) = &self.recovery {
            describe_first(recovery, &mut description);
            description
                .notes
                .push("then what follows is planned again, from the GPOs as recovery leaves them, and run".into());
        }
        description
    }
}

/// [`plan`] for a run about to change `dir`'s GPOs: `None` when nothing waits.
pub async fn plan_first(
    session: &DomainSession,
    dir: PathBuf,
    progress: &dyn Progress,
) -> Result<Option<RecoverPlan>, RestoreError> {
    Ok(Some(plan(session, dir, progress).await?).filter(|r| !r.is_empty()))
}

/// Puts a recovery's changes and sentences ahead of the plan it comes before, "first, …".
pub fn describe_first(recovery: &RecoverPlan, description: &mut PlanDescription) {
    let first = recovery.describe();
    description.changes.splice(0..0, first.changes);
    description.notes.splice(0..0, first.notes.iter().map(|n| format!("first, {n}")));
}

fn succeeded(report: &RecoverReport, id: &GpoId) -> bool {
    report.items.iter().any(|r| r.item.gpo == *id && matches!(r.outcome, Outcome::Succeeded(_)))
}

/// Removes what a dead run left beside `id`'s folder while replacing it (the new content being
/// written, the old moved aside): once the GPO is put right, its own folder is whole (or gone
/// with the GPO), so these are clutter. Returns how many it removed.
async fn remove_replacement_leftovers(session: &DomainSession, id: &GpoId) -> Result<usize, SysvolError> {
    let prefixes = [crate::sysvol::staging_prefix(id).to_lowercase(), crate::sysvol::aside_prefix(id).to_lowercase()];
    let mut removed = 0;
    for name in session.sysvol.list_policies_folders().await? {
        if prefixes.iter().any(|p| name.to_lowercase().starts_with(p)) {
            session.sysvol.delete_tree(&PolicyPath::parse(&name)?).await?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Deletes the WMI filter `id` a killed copy made, unless a GPO of the domain is filtered by it
/// (another copy, or an admin, may use it by now).
async fn delete_unused_wmi_filter(session: &DomainSession, id: &str) -> Result<(), StepError> {
    let estate = session.directory.read_estate().await?;
    let used = estate.gpos.iter().any(|g| g.wmi_filter_id().is_some_and(|f| f.eq_ignore_ascii_case(id)));
    if !used {
        session.directory.delete_wmi_filter(id).await?;
    }
    Ok(())
}

/// Deletes what a killed copy made of its GPO: the directory object (with its class store), the
/// SYSVOL folder, and the WMI filter it made if no GPO uses it, each if there. Its GUID was the
/// copy's own, so nothing else is touched.
async fn delete_unfinished(session: &DomainSession, item: &RecoveryItem) -> ItemReport<Recovered, RestoreItemError> {
    let id: Result<GpoId, String> = item.gpo.parse().map_err(|e| format!("its record names no GPO GUID: {e}"));
    let report_item = Item { gpo: id.clone().unwrap_or(GpoId(uuid::Uuid::nil())), name: item.gpo_name.clone() };
    let deleted = async {
        let id = id.map_err(StepError::Other)?;
        match session.directory.delete_gpo(&id).await {
            Ok(_) | Err(DirectoryError::NoSuchObject { .. }) => {}
            Err(e) => return Err(StepError::from(e)),
        }
        if session.sysvol.entry_kind(&PolicyPath::gpo(&id)).await?.is_some() {
            session.sysvol.delete_tree(&PolicyPath::gpo(&id)).await?;
        }
        remove_replacement_leftovers(session, &id).await?;
        if let Some(filter) = item.wmi_filter_made() {
            delete_unused_wmi_filter(session, filter).await?;
        }
        Ok(())
    }
    .await;
    let outcome = match deleted {
        Ok(()) => Outcome::Succeeded(Recovered::Deleted),
        Err(source) => Outcome::Failed(RestoreItemError::Failed {
            step: RestoreStep::DeletingUnfinished,
            source,
            rollback: Rollback::NotPutBack(
                "what the interrupted run made is still in the domain: run gpvault recover again once the cause is fixed".into(),
            ),
            safety_backup: None,
        }),
    };
    ItemReport { item: report_item, outcome }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Then;

    impl Plan for Then {
        fn describe(&self) -> PlanDescription {
            PlanDescription {
                title: "Restore 1 GPO".into(),
                changes: vec![PlannedChange {
                    item: None,
                    action: "restore".into(),
                    from: "backup".into(),
                    to: "the GPO".into(),
                }],
                notes: vec!["the restore's own note".into()],
            }
        }
    }

    fn unfinished_copy() -> RecoverPlan {
        RecoverPlan {
            dir: PathBuf::from("/journal"),
            domain: "corp.example.test".into(),
            items: vec![RecoveryItem {
                gpo: "{31B2F340-016D-11D2-945F-00C04FB984F9}".into(),
                gpo_name: "Half".into(),
                interrupted: "copy".into(),
                recovery: Recovery::Delete,
                records: Vec::new(),
            }],
            notes: Vec::new(),
            restore: None,
        }
    }

    #[test]
    fn what_recovery_does_comes_first_in_the_plan_it_comes_before() {
        let nothing = AfterRecovery { recovery: None, then: Then }.describe();
        assert_eq!(nothing, Then.describe(), "nothing to recover: the plan as it is");

        let first = AfterRecovery { recovery: Some(unfinished_copy()), then: Then }.describe();
        assert_eq!(first.title, "Restore 1 GPO");
        let actions: Vec<&str> = first.changes.iter().map(|c| c.action.as_str()).collect();
        assert_eq!(actions, ["delete the unfinished GPO", "restore"]);
        assert!(first.notes[0].starts_with("first, Half ({31B2F340-016D-11D2-945F-00C04FB984F9}) was left by a run"));
        assert_eq!(first.notes[1], "the restore's own note");
        assert!(first.notes[2].contains("planned again"), "{:?}", first.notes);
    }
}
