//! Manage Backups: what a backup folder holds, read for people. Listing (rows with sizes, from
//! manifest.xml on the fast path), one instance in full ([`show`]), two states of a GPO side by
//! side ([`diff`]) and a check of every instance ([`verify`]). Everything here reads, nothing
//! writes; deleting and pruning are the plan/execute operations in `ops::delete`.
//!
//! The functions return ready summaries (rows, section lines, diff lines) so that a front end
//! shows them without reading a file itself.

pub mod diff;
pub mod show;
mod state;
pub mod verify;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use diff::{BackupDiff, Change, DiffLine, diff_backups, diff_live};
pub use show::{BackupDetails, DetailSection, show_backup};
pub use state::{
    AceLine, FileState, GpoState, HalfVersion, PackageState, UnreadableFile, WmiFilterRef, extension_names,
};
pub use verify::{VerifyReport, verify_backups};

use crate::directory::DirectoryError;
use crate::model::{Estate, GpoId};
use crate::store::{BackupStore, InstanceSummary, ListingSource, StoreError, StoreFinding, latest_per_gpo};
use crate::sysvol::SysvolError;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no backup with ID {id} in {dir}")]
    NoSuchBackup { id: String, dir: String },
    #[error("reading the live GPO: {0}")]
    Directory(#[from] DirectoryError),
    #[error("reading the live GPO's SYSVOL folder: {0}")]
    Sysvol(#[from] SysvolError),
    #[error(
        "backup {backup_id} is of a GPO of {backup_domain}, and the connection is to {connected}: connect to the GPO's own domain to compare it"
    )]
    OtherDomain { backup_id: String, backup_domain: String, connected: String },
    #[error(
        "GPO {gpo} ({name}) of backup {backup_id} no longer exists in {domain}: it was deleted (restoring the backup brings it back)"
    )]
    GpoGone { backup_id: String, gpo: String, name: String, domain: String },
}

/// Which instances a listing keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only the newest instance of each GPO (GPMC's "Show only the latest version").
    pub latest: bool,
    /// Only the instances of one GPO, by {GUID} or display name (case-insensitive).
    pub gpo: Option<String>,
    /// Also look into sub-folders this many levels deep (trees of published backups). The fast
    /// path through manifest.xml is for the folder itself (depth 0).
    pub depth: usize,
}

/// One instance, as the list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BackupRow {
    pub backup_id: String,
    pub gpo_id: String,
    pub display_name: String,
    pub domain: String,
    /// The domain's objectGUID as bkupInfo.xml records it (empty when unknown).
    pub domain_guid: String,
    /// bkupInfo.xml's BackupTime: UTC, `2026-11-25T14:03:07`.
    pub backup_time: String,
    pub comment: String,
    /// Every file of the instance folder, in bytes.
    pub size_bytes: Option<u64>,
    pub files: Option<u64>,
    pub made_by_gpvault: bool,
    /// Why the instance is listed although a GPMC file is missing.
    pub incomplete: Option<String>,
    pub folder: PathBuf,
}

impl BackupRow {
    pub fn of(instance: &InstanceSummary) -> BackupRow {
        let info = &instance.info;
        BackupRow {
            backup_id: info.id.clone(),
            gpo_id: info.gpo_guid.clone(),
            display_name: info.gpo_display_name.clone(),
            domain: info.gpo_domain.clone(),
            domain_guid: info.gpo_domain_guid.clone(),
            backup_time: info.backup_time.clone(),
            comment: info.comment.clone(),
            size_bytes: instance.stats.map(|s| s.bytes),
            files: instance.stats.map(|s| s.files),
            made_by_gpvault: instance.has_gpvault_json,
            incomplete: instance.incomplete.map(|i| i.to_string()),
            folder: instance.path.clone(),
        }
    }

    /// The size as people read it (`12.4 KiB`), or `?` when unknown.
    pub fn size_text(&self) -> String {
        self.size_bytes.map(human_size).unwrap_or_else(|| "?".into())
    }

    /// The time as people read it: `2026-11-25 14:03:07 UTC`, or `?` when unknown.
    pub fn time_text(&self) -> String {
        if self.backup_time.is_empty() { "?".into() } else { format!("{} UTC", self.backup_time.replacen('T', " ", 1)) }
    }

    /// The GPO this instance is of, when its GUID reads (the nil GUID otherwise).
    pub fn gpo(&self) -> GpoId {
        self.gpo_id.parse().unwrap_or(GpoId(uuid::Uuid::nil()))
    }

    /// Whether `key` names this row's GPO: its {GUID} (any case, braces optional) or its display
    /// name (case-insensitive).
    pub fn is_of_gpo(&self, key: &str) -> bool {
        match key.parse::<GpoId>() {
            Ok(id) => self.gpo_id.parse::<GpoId>().is_ok_and(|own| own == id),
            Err(_) => self.display_name.eq_ignore_ascii_case(key.trim()),
        }
    }

    /// Whether the instance is of a GPO of `domain` (DNS name, or the domain's GUID when both
    /// know it).
    pub fn is_of_domain(&self, dns_name: &str, domain_guid: &str) -> bool {
        let same_guid = !self.domain_guid.is_empty()
            && !domain_guid.is_empty()
            && self.domain_guid.trim_matches(['{', '}']).eq_ignore_ascii_case(domain_guid.trim_matches(['{', '}']));
        same_guid || self.domain.eq_ignore_ascii_case(dns_name)
    }
}

/// `1536` → `1.5 KiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// A backup folder's instances as listed, with what the admin should know about the listing.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub dir: PathBuf,
    /// Newest first.
    pub rows: Vec<BackupRow>,
    /// Where the listing came from (manifest.xml, or why every instance was read).
    pub source: ListingSource,
    /// Folders that could not be listed, by path, with the reason.
    pub findings: Vec<StoreFinding>,
    /// Leftovers of interrupted runs (repairing the folder removes them).
    pub partial_folders: Vec<PathBuf>,
}

impl Catalog {
    /// Lines for the admin about the listing itself: a stale or missing manifest, leftovers.
    /// Problems with single folders are in `findings`.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if !matches!(self.source, ListingSource::Manifest | ListingSource::Scan) {
            notes.push(self.source.to_string());
        }
        for partial in &self.partial_folders {
            notes.push(format!("{}: left by an interrupted run (repairing the folder removes it)", partial.display()));
        }
        notes
    }

    /// Keeps the rows of GPOs of `estate`'s domain that no longer exist there: the deleted GPOs,
    /// which a restore brings back. Rows of other domains go too (their GPOs are not this
    /// domain's to restore). Returns how many rows of other domains were dropped.
    pub fn keep_deleted(&mut self, estate: &Estate) -> usize {
        let domain = &estate.domain;
        let before = self.rows.len();
        self.rows.retain(|row| row.is_of_domain(&domain.dns_name, &domain.guid));
        let other_domains = before - self.rows.len();
        self.rows.retain(|row| {
            let Ok(id) = row.gpo_id.parse::<GpoId>() else { return false };
            !estate.gpos.iter().any(|g| g.id == id)
        });
        other_domains
    }
}

/// Lists the instances of `dir` that `filter` keeps, newest first, with their sizes.
pub fn list_backups(dir: &Path, filter: &ListFilter) -> Result<Catalog, CatalogError> {
    let store = BackupStore::open(dir, false)?;
    let mut listing = if filter.depth == 0 {
        store.list_fast()
    } else {
        let mut listing = store.list_recursive(filter.depth);
        for instance in &mut listing.instances {
            instance.stats = Some(crate::store::measure_instance(&instance.path));
        }
        listing
    };
    if let Some(key) = &filter.gpo {
        listing.instances.retain(|i| BackupRow::of(i).is_of_gpo(key));
    }
    let rows = if filter.latest {
        latest_per_gpo(&listing.instances).into_iter().map(BackupRow::of).collect()
    } else {
        listing.instances.iter().map(BackupRow::of).collect()
    };
    Ok(Catalog {
        dir: dir.to_path_buf(),
        rows,
        source: listing.source,
        findings: listing.findings,
        partial_folders: listing.partial_folders,
    })
}

/// Finds one instance by its backup ID (or folder name), directly in `dir` or, with `depth`,
/// in its sub-folders.
pub fn find_instance(dir: &Path, backup_id: &str, depth: usize) -> Result<InstanceSummary, CatalogError> {
    let store = BackupStore::open(dir, false)?;
    let backup_id = backup_id.trim();
    if let Some(instance) = store.instance(backup_id) {
        return Ok(instance);
    }
    let listing = if depth == 0 { store.list_fast() } else { store.list_recursive(depth) };
    let mut instance = listing
        .instances
        .into_iter()
        .find(|i| i.info.id.eq_ignore_ascii_case(backup_id) || i.folder_name.eq_ignore_ascii_case(backup_id))
        .ok_or_else(|| CatalogError::NoSuchBackup { id: backup_id.to_string(), dir: dir.display().to_string() })?;
    if instance.stats.is_none() {
        instance.stats = Some(crate::store::measure_instance(&instance.path));
    }
    Ok(instance)
}

#[cfg(test)]
mod tests;
