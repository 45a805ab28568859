//! Import Settings: a backup's settings (SYSVOL content, extension names, software installation
//! packages) written over an existing GPO of the connected domain, mapped through a migration
//! table. The GPO keeps its name, status, links, DACL (so its security filtering) and WMI filter
//! link; its versions go up. Backups of any domain import, GPMC's included.
//!
//! [`plan`] reads the instance as untrusted input (as a restore does), reads the target GPO,
//! and maps the settings with the table: a table that cannot be applied, or (when every
//! reference must be mapped) one without a row for a foreign reference, fails the plan, before
//! anything is written. [`execute`] writes through the restore's run: a safety backup of the
//! target into the backup folder first, then SYSVOL and the directory, all put back on failure.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::migtable::{Mapping, MappingError, map_settings, resolve_references};
use super::restore::source::{BackupSource, ClassStoreSource, InstanceProblem, read_source};
use super::restore::{
    self, GpoRestorePlan, RestoreError, RestoreItemError, RestoreOptions, RestorePlan, RestoreSelection, Restored,
};
use super::run::{Item, ItemReport, Outcome, Plan, PlanDescription, PlannedChange, RunOptions, RunReport};
use super::{DomainSession, Progress, ProgressEvent};
use crate::directory::DirectoryError;
use crate::formats::backup_xml::{self, BackupXml};
use crate::migrate::apply::{ApplyInput, ApplyReport};
use crate::migrate::principals::ResolvedPrincipals;
use crate::migrate::references::GpoReferences;
use crate::migrate::table::MigrationTable;
use crate::model::{AttributeValue, DirectoryObject, Gpo, GpoFolder, Version};
use crate::store::BackupStore;
use crate::sysvol::SysvolError;

/// How the settings are mapped.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// `None`: settings are copied as they are (GPMC's default); the plan and the report list
    /// the foreign references left.
    pub table: Option<MigrationTable>,
    /// Every foreign principal and UNC path must have a row in the table.
    pub only_mapped: bool,
}

/// What an import will do. Made by [`plan`], which writes nothing.
#[derive(Clone, Debug)]
pub struct ImportPlan {
    pub backup_id: String,
    /// The GPO the backup is of, and its domain.
    pub backup_gpo: String,
    pub backup_domain: String,
    /// The GPO whose settings are replaced.
    pub target: Item,
    pub domain: String,
    /// What the table maps and what it leaves, place by place.
    pub mapping: ApplyReport,
    pub with_table: bool,
    write: RestorePlan,
    /// What the plan was asked, to plan it again ([`ImportPlan::planned_again`]).
    asked: ImportOptions,
}

impl ImportPlan {
    /// The same import planned against the target as it is now: after a recovery put the GPO
    /// back, the plan made before it would write over a state that is gone.
    pub async fn planned_again(
        &self,
        session: &DomainSession,
        progress: &dyn Progress,
    ) -> Result<ImportPlan, ImportError> {
        let into = self.target.gpo.to_string();
        plan(session, self.write.dir.clone(), &self.backup_id, &into, &self.asked, progress).await
    }
}

/// Failures that stop the import before anything is written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error("backup {backup_id} cannot be imported: {problem}")]
    Backup { backup_id: String, problem: InstanceProblem },
    #[error("{0}")]
    NoSuchGpo(String),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("reading the SYSVOL folder of {gpo}: {source}")]
    Sysvol {
        gpo: String,
        #[source]
        source: SysvolError,
    },
    #[error("mapping the settings of backup {backup_id} into {domain}: {source}")]
    Mapping {
        backup_id: String,
        domain: String,
        #[source]
        source: MappingError,
    },
}

impl ImportError {
    /// The mapping failed because a reference had no row while every one must be mapped.
    pub fn is_unmapped(&self) -> bool {
        matches!(
            self,
            ImportError::Mapping { source: MappingError::Apply(crate::migrate::apply::ApplyError::Unmapped(_)), .. }
        )
    }
}

/// What importing did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    pub backup_id: String,
    pub safety_backup: Option<String>,
    pub version: Version,
    /// References the table mapped, and foreign ones left as they were.
    pub mapped: usize,
    pub left: usize,
}

impl fmt::Display for Imported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "settings imported from {} ({})",
            self.backup_id,
            written_text(self.version, self.mapped, self.left)
        )?;
        if let Some(safety) = &self.safety_backup {
            write!(f, "; safety backup {safety}")?;
        }
        Ok(())
    }
}

/// The version a GPO was written with and what the table did, as an import's and a copy's
/// summaries say it.
pub(crate) fn written_text(version: Version, mapped: usize, left: usize) -> String {
    format!(
        "version user {}, computer {}; {mapped} reference{} mapped, {left} foreign left",
        version.user,
        version.machine,
        if mapped == 1 { "" } else { "s" }
    )
}

/// Why the import failed, and how the GPO was left (the restore's run wrote it).
#[derive(Debug, thiserror::Error)]
pub enum ImportItemError {
    #[error(transparent)]
    Write(#[from] RestoreItemError),
}

pub type ImportReport = RunReport<Imported, ImportItemError>;

/// The comment of the safety backup taken before the import.
pub fn safety_comment(backup_id: &str) -> String {
    format!("before import of {backup_id}")
}

/// Reads backup `backup` of `dir` and the GPO `into` ({GUID} or name) of the connected domain,
/// and maps the backup's settings into it. Writes nothing, anywhere.
pub async fn plan(
    session: &DomainSession,
    dir: PathBuf,
    backup: &str,
    into: &str,
    options: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportPlan, ImportError> {
    progress.report(ProgressEvent::Step(format!("Reading backup {backup} in {}", dir.display())));
    let source = read_backup(&dir, backup).await?;
    let backup_id = source.backup_id.clone();

    progress.report(ProgressEvent::Step(format!("Reading the GPOs of {}", session.domain.dns_name)));
    let (estate, children) =
        futures::try_join!(session.directory.read_estate(), session.directory.read_gpo_children())?;
    let target = estate.find_gpo(into).map_err(ImportError::NoSuchGpo)?.clone();
    let folder = match session.sysvol.read_gpo_folder(&target.id, &target.file_sys_path).await {
        Ok(folder) => Some(folder),
        Err(SysvolError::GpoFolderMissing { .. }) => None,
        Err(source) => return Err(ImportError::Sysvol { gpo: target.display_name.clone(), source }),
    };

    progress.report(ProgressEvent::Step("Mapping the settings".into()));
    let mut class_store = source.class_store.objects_for(&target.dn);
    point_scripts_at(&mut class_store, &target.file_sys_path);
    let input = ApplyInput { folder: &source.content, class_store: &class_store, dacl: None };
    let mapping = Mapping { table: options.table.as_ref(), only_mapped: options.only_mapped };
    let mapping_error = |e: MappingError| ImportError::Mapping {
        backup_id: backup_id.clone(),
        domain: session.domain.dns_name.clone(),
        source: e,
    };
    // The backup's own domain names its principals; another domain's, the backup's
    // SecurityGroups (what was resolved when it was taken).
    let applied = if restore::check_domain(&source, &session.domain).is_ok() {
        let mut references = GpoReferences::of_folder(&source.content);
        references.add_class_store(&class_store);
        let known = resolve_references(session.directory.as_ref(), &session.domain, &references).await?;
        map_settings(session, input, mapping, &known).await
    } else {
        map_settings(session, input, mapping, &backup_principals(&source.path)).await
    }
    .map_err(mapping_error)?;

    let with_table = options.table.is_some();
    let asked = options;
    let options = RestoreOptions { keep_dacl: true, settings_only: true, ..Default::default() };
    let written = settings_over(&source, &target, folder.as_ref(), applied.folder, applied.class_store);
    let verb = ("import the settings".to_string(), "settings imported".to_string());
    let gpo = GpoRestorePlan::written_over(
        written,
        Some((target.clone(), folder)),
        &estate,
        &children,
        &options,
        verb,
        safety_comment(&backup_id),
    );
    Ok(ImportPlan {
        backup_gpo: source.gpo.display_name.clone(),
        backup_domain: source.domain.dns_name.clone(),
        backup_id,
        target: Item { gpo: target.id, name: target.display_name.clone() },
        domain: session.domain.dns_name.clone(),
        mapping: applied.report,
        with_table,
        write: RestorePlan::of_one(dir, session.domain.dns_name.clone(), options, gpo),
        asked: asked.clone(),
    })
}

/// The instance `key` names in `dir`, read and checked as untrusted input.
async fn read_backup(dir: &Path, key: &str) -> Result<BackupSource, ImportError> {
    let store = BackupStore::open(dir, false).map_err(RestoreError::from)?;
    let listing =
        tokio::task::spawn_blocking(move || store.list()).await.map_err(|e| RestoreError::Internal(e.to_string()))?;
    let selection = RestoreSelection::Backups(vec![key.to_string()]);
    let instance = restore::select_instances(&listing.instances, &selection, dir)?
        .first()
        .map(|i| (*i).clone())
        .ok_or_else(|| RestoreError::NoSuchBackup { key: key.to_string(), dir: dir.display().to_string() })?;
    let backup_id = instance.info.id.clone();
    tokio::task::spawn_blocking(move || read_source(&instance))
        .await
        .map_err(|e| RestoreError::Internal(e.to_string()))?
        .map_err(|problem| ImportError::Backup { backup_id, problem })
}

/// The principals the instance's Backup.xml names in SecurityGroups. The file was read and
/// checked by `read_source` already; should it have changed since, nothing is known.
fn backup_principals(instance: &Path) -> ResolvedPrincipals {
    std::fs::read(instance.join(backup_xml::FILE_NAME))
        .ok()
        .and_then(|bytes| BackupXml::parse(&bytes).ok())
        .map(|backup| ResolvedPrincipals::from_security_groups(&backup.security_groups))
        .unwrap_or_default()
}

/// The backup made into what the restore's run writes over `target`: the backup's versions,
/// extension names, mapped folder and class store; the target's own name, status, WMI filter
/// link, functionality version, DACL and GPT.INI (with the new version).
fn settings_over(
    source: &BackupSource,
    target: &Gpo,
    target_folder: Option<&GpoFolder>,
    content: GpoFolder,
    class_store: Vec<DirectoryObject>,
) -> BackupSource {
    let gpt_ini = target_folder.and_then(|folder| {
        folder
            .files()
            .find(|(path, _)| path.eq_ignore_ascii_case(crate::formats::gpt_ini::FILE_NAME))
            .map(|(path, bytes)| (path.to_string(), bytes.to_vec()))
    });
    BackupSource {
        gpo: Gpo {
            version: source.gpo.version,
            machine_extensions: source.gpo.machine_extensions.clone(),
            user_extensions: source.gpo.user_extensions.clone(),
            ..target.clone()
        },
        security_descriptor: target.security_descriptor.clone().unwrap_or_else(|| source.security_descriptor.clone()),
        content,
        gpt_ini,
        class_store: ClassStoreSource::Mapped(class_store),
        links: Vec::new(),
        links_unknown: None,
        wmi_filter: None,
        wmi_filter_name: None,
        ..source.clone()
    }
}

/// Packages name their advertise script by a UNC path into their GPO's SYSVOL folder
/// (`\\dns\SysVol\dns\Policies\{GUID}\Machine\Applications\{...}.aas`): written below another
/// GPO, they name that GPO's folder, `file_sys_path`, as GPMC's import and copy do.
pub(crate) fn point_scripts_at(objects: &mut [DirectoryObject], file_sys_path: &str) {
    const SCRIPT_PATH: &str = "msiScriptPath";
    for object in objects {
        for (name, values) in &mut object.attributes {
            if !name.eq_ignore_ascii_case(SCRIPT_PATH) {
                continue;
            }
            for value in values.iter_mut() {
                let AttributeValue::Text(path) = value else { continue };
                let lower = path.to_ascii_lowercase();
                let Some(start) = lower.find("\\policies\\{") else { continue };
                let Some(end) = lower[start..].find('}').map(|at| start + at + 1) else { continue };
                *path = format!("{file_sys_path}{}", &path[end..]);
            }
        }
    }
}

/// The table's work as plan lines: each mapped reference from → to, each foreign one left.
pub(crate) fn mapping_changes(item: &Item, report: &ApplyReport, out: &mut PlanDescription) {
    for place in &report.places {
        let whereabouts = |at: &str| match at.is_empty() {
            true => place.place.clone(),
            false => format!("{}, {at}", place.place),
        };
        for mapped in &place.mapped {
            out.changes.push(PlannedChange {
                item: Some(item.clone()),
                action: format!("map ({}, row {})", whereabouts(&mapped.at), mapped.row),
                from: mapped.from.clone(),
                to: mapped.to.clone().unwrap_or_else(|| "(removed)".into()),
            });
        }
        for left in &place.left {
            out.changes.push(PlannedChange {
                item: Some(item.clone()),
                action: format!("leave as it is ({})", whereabouts(&left.at)),
                from: left.value.clone(),
                to: left.why.to_string(),
            });
        }
    }
}

/// The note a plan carries about the table.
pub(crate) fn mapping_note(with_table: bool, report: &ApplyReport) -> String {
    match with_table {
        false => format!(
            "no migration table: settings are copied as they are; {} foreign reference(s) are left as they were",
            report.left_count()
        ),
        true => format!(
            "the migration table maps {} reference(s); {} foreign reference(s) are left as they were",
            report.mapped_count(),
            report.left_count()
        ),
    }
}

impl Plan for ImportPlan {
    fn describe(&self) -> PlanDescription {
        let mut description = self.write.describe();
        description.title = format!(
            "Import the settings of backup {} (GPO \"{}\" of {}) into GPO \"{}\" of {}",
            self.backup_id, self.backup_gpo, self.backup_domain, self.target.name, self.domain
        );
        mapping_changes(&self.target, &self.mapping, &mut description);
        description.notes.push(mapping_note(self.with_table, &self.mapping));
        description.notes.push("the GPO keeps its name, status, links, DACL and WMI filter link".into());
        description
    }
}

/// Imports the settings, all or nothing: a safety backup of the target first, put back as it
/// was on failure.
pub async fn execute(
    session: &DomainSession,
    plan: ImportPlan,
    options: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<ImportReport, ImportError> {
    let (mapped, left) = (plan.mapping.mapped_count(), plan.mapping.left_count());
    let report = restore::execute(session, plan.write, options, progress).await?;
    let items = report
        .items
        .into_iter()
        .map(|r| ItemReport {
            item: r.item,
            outcome: match r.outcome {
                Outcome::Succeeded(done) => Outcome::Succeeded(imported(done, mapped, left)),
                Outcome::Failed(e) => Outcome::Failed(ImportItemError::Write(e)),
                Outcome::Cancelled => Outcome::Cancelled,
            },
        })
        .collect();
    Ok(RunReport { items, closing: report.closing })
}

fn imported(done: Restored, mapped: usize, left: usize) -> Imported {
    Imported { backup_id: done.backup_id, safety_backup: done.safety_backup, version: done.version, mapped, left }
}

#[cfg(test)]
mod tests;
