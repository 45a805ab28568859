//! Pruning a backup folder: keep the N newest instances of each GPO, delete the rest. Planned
//! here, carried out by `ops::delete::execute`. [`plan_after_run`] is the scheduled backup's
//! prune (`backup --all --keep N`): only after a run in which everything succeeded.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use super::catalog::BackupRow;
use super::delete::{DeleteError, DeletePlan};
use super::run::RunReport;
use crate::store::BackupStore;

/// The instances of `dir` beyond the `keep` newest of each GPO (a GPO is its domain and GUID).
pub fn plan(dir: &Path, keep: usize) -> Result<DeletePlan, DeleteError> {
    if keep == 0 {
        return Err(DeleteError::KeepNothing);
    }
    let store = BackupStore::open(dir, false)?;
    let listing = store.list_fast();
    let mut by_gpo: BTreeMap<(String, String), Vec<BackupRow>> = BTreeMap::new();
    for instance in &listing.instances {
        let row = BackupRow::of(instance);
        by_gpo.entry((row.domain.to_lowercase(), row.gpo_id.to_uppercase())).or_default().push(row);
    }
    let gpos = by_gpo.len();
    let total = listing.instances.len();
    let mut doomed = Vec::new();
    for rows in by_gpo.values_mut() {
        // Newest first. BackupTime counts whole seconds: two backups of one GPO in the same
        // second are told apart by when their folders were written, then by ID.
        rows.sort_by(|a, b| {
            b.backup_time
                .cmp(&a.backup_time)
                .then_with(|| written(&b.folder).cmp(&written(&a.folder)))
                .then_with(|| a.backup_id.cmp(&b.backup_id))
        });
        doomed.extend(rows.drain(..).skip(keep));
    }
    doomed.sort_by(|a, b| b.backup_time.cmp(&a.backup_time).then_with(|| a.display_name.cmp(&b.display_name)));
    let count = doomed.len();
    let title = format!(
        "Prune {}: keep the {keep} newest instance{} of each GPO, delete {count} of {total}",
        dir.display(),
        if keep == 1 { "" } else { "s" }
    );
    let mut notes = vec![format!("the folder holds backups of {gpos} GPO{}", if gpos == 1 { "" } else { "s" })];
    if !listing.findings.is_empty() {
        notes.push(format!("{} folder(s) could not be listed and are left alone", listing.findings.len()));
    }
    Ok(DeletePlan::new(dir, doomed, title, notes))
}

/// What a backup run leaves for its prune to do.
#[derive(Debug)]
pub enum AfterRun {
    /// Every GPO was backed up: prune with this plan (it may delete nothing).
    Prune(DeletePlan),
    /// Something failed or was cancelled, so nothing is pruned: an admin looking into the
    /// failure finds every instance the folder had before.
    Skipped { failed: usize, cancelled: usize, closing: usize },
}

impl AfterRun {
    /// Why nothing was pruned, in words; `None` when the run may prune.
    pub fn skipped_reason(&self) -> Option<String> {
        match self {
            AfterRun::Prune(_) => None,
            AfterRun::Skipped { failed, cancelled, closing } => {
                let mut what = Vec::new();
                if *failed > 0 {
                    what.push(format!("{failed} GPO(s) failed"));
                }
                if *cancelled > 0 {
                    what.push(format!("{cancelled} GPO(s) were cancelled"));
                }
                if *closing > 0 {
                    what.push(format!("{closing} problem(s) after the GPOs"));
                }
                Some(format!("nothing was pruned: {} in this run", what.join(", ")))
            }
        }
    }
}

/// The prune that follows a backup run into `dir`: planned only when every item of `report`
/// succeeded and nothing went wrong after them (checked before `keep`, so a failed run never
/// touches the folder whatever was asked).
pub fn plan_after_run<T, E>(report: &RunReport<T, E>, dir: &Path, keep: usize) -> Result<AfterRun, DeleteError>
where
    T: std::fmt::Display,
    E: std::error::Error,
{
    let summary = report.summary();
    if !summary.is_clean() {
        return Ok(AfterRun::Skipped {
            failed: summary.failed,
            cancelled: summary.cancelled,
            closing: summary.closing.len(),
        });
    }
    plan(dir, keep).map(AfterRun::Prune)
}

/// When an instance folder was last written (its last file), for telling apart backups made in
/// the same second.
fn written(folder: &Path) -> Option<SystemTime> {
    std::fs::metadata(folder).and_then(|m| m.modified()).ok()
}
