//! Recover: put right the GPOs a killed restore left half changed.
//!
//! A restore records in the backup folder each GPO it is about to change (see
//! [`crate::store::JournalEntry`]). A record whose run is gone names a GPO that may be anywhere
//! between before and after. An existing GPO is put back from the safety backup taken before it
//! changed (as before); a deleted GPO being recreated had none, so its restore is run again from
//! the same backup (as restored). Both are ordinary restores, with their own safety backups and
//! records, so a recovery killed in turn is recovered the same way.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::DomainSession;
use super::Progress;
use super::restore::{self, RestoreError, RestoreOptions, RestorePlan, RestoreReport, RestoreSelection};
use super::run::{Outcome, Plan, PlanDescription, RunOptions};
use crate::store::{BackupStore, InterruptedChange};

/// What recovery does for one GPO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// Put back as it was, from the safety backup taken before the change.
    PutBack { safety_backup: String },
    /// It did not exist before (a deleted GPO being recreated): restore it again.
    RestoreAgain { backup: String },
}

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
                Some(safety) => Recovery::PutBack { safety_backup: safety.clone() },
                None => Recovery::RestoreAgain { backup: first.from_backup.clone() },
            };
            RecoveryItem {
                gpo: first.gpo.clone(),
                gpo_name: first.gpo_name.clone(),
                interrupted: format!("{} from {}", first.operation, first.from_backup),
                recovery,
                records,
            }
        })
        .collect();
    let restore = match items.is_empty() {
        true => None,
        false => {
            let ids = items
                .iter()
                .map(|i| match &i.recovery {
                    Recovery::PutBack { safety_backup } => safety_backup.clone(),
                    Recovery::RestoreAgain { backup } => backup.clone(),
                })
                .collect();
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
        let mut notes: Vec<String> = self.items.iter().map(RecoveryItem::sentence).collect();
        notes.extend(self.notes.iter().cloned());
        notes.append(&mut description.notes);
        description.notes = notes;
        description
    }
}

impl RecoveryItem {
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
        };
        format!(
            "{} ({}) was left by a run killed while it was to {}: {what}",
            self.gpo_name, self.gpo, self.interrupted
        )
    }
}

/// Runs the plan's restores and drops the records of every GPO put right. A GPO whose restore
/// fails keeps its records, for the next try.
pub async fn execute(
    session: &DomainSession,
    plan: RecoverPlan,
    options: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<RestoreReport, RestoreError> {
    let Some(restore_plan) = plan.restore else { return Ok(Default::default()) };
    let mut report = restore::execute(session, restore_plan, options, progress).await?;
    let store = BackupStore::open(&plan.dir, false)?;
    let lock = store.lock()?;
    for item in &plan.items {
        let done = report.items.iter().any(|r| {
            r.item.gpo.to_string().eq_ignore_ascii_case(&item.gpo) && matches!(r.outcome, Outcome::Succeeded(_))
        });
        if !done {
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
