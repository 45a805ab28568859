//! Pruning a backup folder: keep the N newest instances of each GPO, delete the rest. Planned
//! here, carried out by `ops::delete::execute`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use super::catalog::BackupRow;
use super::delete::{DeleteError, DeletePlan};
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

/// When an instance folder was last written (its last file), for telling apart backups made in
/// the same second.
fn written(folder: &Path) -> Option<SystemTime> {
    std::fs::metadata(folder).and_then(|m| m.modified()).ok()
}
