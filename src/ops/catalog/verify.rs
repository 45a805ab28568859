//! Checking a whole backup folder: every instance against what was recorded at backup time
//! (`store::verify_instance`), and every folder that could not even be listed.

use std::path::Path;

use serde::Serialize;

use super::{CatalogError, ListFilter};
use crate::store::{BackupStore, InstanceCheck, StoreFinding, verify_instance};

/// One instance's verdict, ready to show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedInstance {
    pub backup_id: String,
    pub display_name: String,
    pub folder: String,
    pub files_checked: usize,
    /// Checked against recorded sizes and SHA-256 (gpvault's instances) or for presence only
    /// (GPMC's, which record no hashes).
    pub hashed: bool,
    /// One line per problem, naming the file.
    pub problems: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub instances: Vec<VerifiedInstance>,
    /// Folders that look like instances but could not be read at all.
    pub unlisted: Vec<String>,
}

impl VerifyReport {
    pub fn bad(&self) -> impl Iterator<Item = &VerifiedInstance> {
        self.instances.iter().filter(|i| !i.problems.is_empty())
    }

    pub fn is_clean(&self) -> bool {
        self.bad().next().is_none() && self.unlisted.is_empty()
    }

    /// One line per bad instance and file, then the count: what the CLI prints and the TUI shows.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for instance in self.bad() {
            for problem in &instance.problems {
                lines.push(format!("BAD  {}  {}: {problem}", instance.backup_id, instance.display_name));
            }
        }
        for folder in &self.unlisted {
            lines.push(format!("BAD  {folder}"));
        }
        let bad = self.bad().count() + self.unlisted.len();
        let hashed = self.instances.iter().filter(|i| i.hashed).count();
        lines.push(format!(
            "{} instance{} checked ({hashed} against recorded SHA-256, {} for presence of their files): {}",
            self.instances.len(),
            if self.instances.len() == 1 { "" } else { "s" },
            self.instances.len() - hashed,
            if bad == 0 { "all whole".to_string() } else { format!("{bad} bad") }
        ));
        lines
    }
}

/// Checks every instance of `dir` (and of its sub-folders, `filter.depth` levels down), reading
/// every file: the instances' own files are the truth here, not the manifest.
pub fn verify_backups(dir: &Path, filter: &ListFilter) -> Result<VerifyReport, CatalogError> {
    let store = BackupStore::open(dir, false)?;
    let listing = store.list_recursive(filter.depth);
    let mut report = VerifyReport::default();
    for instance in &listing.instances {
        if let Some(key) = &filter.gpo
            && !super::BackupRow::of(instance).is_of_gpo(key)
        {
            continue;
        }
        let check: InstanceCheck = verify_instance(instance);
        report.instances.push(VerifiedInstance {
            backup_id: check.backup_id,
            display_name: instance.info.gpo_display_name.clone(),
            folder: check.path.display().to_string(),
            files_checked: check.files_checked,
            hashed: check.hashed,
            problems: check.problems.iter().map(ToString::to_string).collect(),
        });
    }
    report.unlisted =
        listing.findings.iter().map(|f: &StoreFinding| format!("{}: {}", f.path.display(), f.problem)).collect();
    Ok(report)
}
