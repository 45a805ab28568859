//! Copy: a new GPO (a new GUID) made from an existing one, in the same domain or another, with
//! the source's settings mapped through a migration table. Permissions are the target domain's
//! defaults for a new GPO (the directory's default security descriptor for
//! groupPolicyContainer, which is what `samba-tool gpo create` and GPMC's New GPO get), or the
//! source's DACL with its principals mapped. Software installation packages are copied with
//! their UNC paths mapped; their own DACLs only with the source's permissions, as GPMC does. A
//! WMI filter the target lacks is created there only when asked; otherwise the copy is not
//! filtered and the report says so. The source GPO is only read.
//!
//! [`plan`] reads both domains and maps everything (a table that cannot be applied fails it);
//! [`execute`] creates the GPO through the restore's run, which deletes it again on failure.

use std::fmt;
use std::sync::Arc;

use super::import::{mapping_changes, mapping_note, point_scripts_at, written_text};
use super::migtable::{Mapping, MappingError, map_settings, resolve_references};
use super::recover::{self, FirstError, RecoverPlan};
use super::restore::changes::WmiFilterAction;
use super::restore::source::{BackupSource, ClassStoreSource, SourceDomain};
use super::restore::{self, GpoRestorePlan, RestoreError, RestoreItemError, RestoreOptions, RestorePlan, Restored};
use super::run::{Item, ItemReport, Outcome, Plan, PlanDescription, RunOptions, RunReport};
use super::{DomainSession, Progress, ProgressEvent};
use crate::directory::{DirectoryError, gpo_file_sys_path};
use crate::migrate::apply::{ApplyInput, ApplyReport};
use crate::migrate::references::GpoReferences;
use crate::migrate::table::MigrationTable;
use crate::model::{FolderEntry, Gpo, GpoFolder, GpoId, Version};
use crate::ops::inspect::gpt_ini_version;
use crate::sysvol::SysvolError;

/// What a copy makes and how.
#[derive(Clone, Debug, Default)]
pub struct CopyOptions {
    /// The new GPO's name; default "Copy of <name>" in the same domain, the same name in another.
    pub name: Option<String>,
    /// The source's DACL (and its packages' descriptors), principals mapped, instead of the
    /// target domain's defaults.
    pub preserve_acl: bool,
    pub table: Option<MigrationTable>,
    pub only_mapped: bool,
    /// Create the source's WMI filter in the target when the target has no filter with its ID.
    pub create_wmi_filter: bool,
    /// An existing folder where the run records the GPO it is making (see
    /// [`crate::config::copy_journal_dir`]); `None`: no record, a killed run is not recovered.
    pub journal_dir: Option<std::path::PathBuf>,
}

/// What a copy will do. Made by [`plan`], which writes nothing.
#[derive(Clone, Debug)]
pub struct CopyPlan {
    /// The GPO copied, and its domain.
    pub source: Item,
    pub source_domain: String,
    /// The new GPO (its GUID is chosen now) and the domain it is made in.
    pub copy: Item,
    pub domain: String,
    pub preserve_acl: bool,
    pub mapping: ApplyReport,
    pub with_table: bool,
    /// What becomes of the source's WMI filter.
    pub wmi_filter: WmiFilterAction,
    /// What copies killed earlier left in the target, deleted before this one is made.
    pub recovery: Option<RecoverPlan>,
    write: RestorePlan,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("{0}")]
    NoSuchGpo(String),
    #[error("{domain} has a GPO named \"{name}\" already ({existing}): give the copy another name")]
    NameTaken { name: String, domain: String, existing: GpoId },
    #[error("the copy needs a name: the one given is empty")]
    EmptyName,
    #[error("reading the SYSVOL folder of {gpo}: {source}")]
    Sysvol {
        gpo: String,
        #[source]
        source: SysvolError,
    },
    #[error(
        "the security descriptor of {gpo} could not be read, and keeping the source's permissions needs it: sign in with the right to read it, or copy with the target's default permissions"
    )]
    NoSecurityDescriptor { gpo: String },
    #[error(
        "the folder where copies record the GPO they make cannot be used ({0}): set XDG_STATE_HOME to a folder gpvault can write"
    )]
    Journal(String),
    #[error("a copy killed earlier left {gpo} half made and deleting it failed, so nothing was copied: {reason}")]
    Recovery { gpo: String, reason: String },
    #[error("mapping the settings of {gpo} into {domain}: {source}")]
    Mapping {
        gpo: String,
        domain: String,
        #[source]
        source: MappingError,
    },
}

/// What copying did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copied {
    pub id: GpoId,
    pub name: String,
    pub domain: String,
    pub version: Version,
    pub mapped: usize,
    pub left: usize,
    pub wmi_note: Option<String>,
}

impl fmt::Display for Copied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let written = written_text(self.version, self.mapped, self.left);
        write!(f, "copied as {} \"{}\" in {} ({written})", self.id, self.name, self.domain)?;
        if let Some(note) = &self.wmi_note {
            write!(f, "; {note}")?;
        }
        Ok(())
    }
}

/// Why the copy failed, and how the target was left (the new GPO is deleted again on failure).
#[derive(Debug, thiserror::Error)]
pub enum CopyItemError {
    #[error(transparent)]
    Write(#[from] RestoreItemError),
}

pub type CopyReport = RunReport<Copied, CopyItemError>;

/// The copy's name when none is given: GPMC's "Copy of" in the same domain, the same name in
/// another.
pub fn default_name(source_name: &str, same_domain: bool) -> String {
    if same_domain { format!("Copy of {source_name}") } else { source_name.to_string() }
}

/// The folder where copies record the GPO they make ([`crate::config::copy_journal_dir`]),
/// created private when missing; the error is the reason, for [`CopyError::Journal`].
pub fn journal_folder() -> Result<std::path::PathBuf, String> {
    let dir = crate::config::copy_journal_dir().ok_or_else(|| "no home folder".to_string())?;
    crate::store::BackupStore::open(&dir, true).map_err(|e| crate::error::one_line(&e))?;
    Ok(dir)
}

/// Reads the GPO `key` ({GUID} or name) of `source` and the domain of `target` (the same
/// session for a copy within one domain), and maps the settings. Writes nothing.
pub async fn plan(
    source: &DomainSession,
    target: &DomainSession,
    key: &str,
    options: &CopyOptions,
    progress: &dyn Progress,
) -> Result<CopyPlan, CopyError> {
    progress.report(ProgressEvent::Step(format!("Reading {key} in {}", source.domain.dns_name)));
    let (estate, children) = futures::try_join!(source.directory.read_estate(), source.directory.read_gpo_children())?;
    let gpo = estate.find_gpo(key).map_err(CopyError::NoSuchGpo)?.clone();
    let folder = match source.sysvol.read_gpo_folder(&gpo.id, &gpo.file_sys_path).await {
        Ok(folder) => folder,
        Err(SysvolError::GpoFolderMissing { .. }) => GpoFolder::default(),
        Err(e) => return Err(CopyError::Sysvol { gpo: gpo.display_name.clone(), source: e }),
    };
    progress.report(ProgressEvent::Step(format!("Reading the GPOs of {}", target.domain.dns_name)));
    let (target_estate, target_children) =
        futures::try_join!(target.directory.read_estate(), target.directory.read_gpo_children())?;

    let same_domain = match (&source.domain.sid, &target.domain.sid) {
        (Some(a), Some(b)) => a == b,
        _ => source.domain.dns_name.eq_ignore_ascii_case(&target.domain.dns_name),
    };
    let name = options.name.clone().unwrap_or_else(|| default_name(&gpo.display_name, same_domain));
    if name.trim().is_empty() {
        return Err(CopyError::EmptyName);
    }
    // What a copy killed earlier left in the target is deleted first: its name is not taken.
    let recovery = match &options.journal_dir {
        Some(dir) => recover::plan_first(target, dir.clone(), progress).await?,
        None => None,
    };
    let deleted_first = |g: &&Gpo| recovery.as_ref().is_some_and(|r| r.deletes(&g.id));
    if let Some(existing) =
        target_estate.gpos.iter().filter(|g| !deleted_first(g)).find(|g| g.display_name.eq_ignore_ascii_case(&name))
    {
        return Err(CopyError::NameTaken { name, domain: target.domain.dns_name.clone(), existing: existing.id });
    }
    let id = GpoId::new_random();
    let dn = format!("CN={id},CN=Policies,CN=System,{}", target.domain.dn);
    let file_sys_path = gpo_file_sys_path(&target.domain.dns_name, &id);

    let mut class_store = ClassStoreSource::Directory {
        gpo_dn: gpo.dn.clone(),
        objects: children.get(&gpo.id).cloned().unwrap_or_default(),
    }
    .objects_for(&dn);
    if !options.preserve_acl {
        // The target gives each package its default descriptor.
        for object in &mut class_store {
            object.attributes.retain(|name, _| !name.eq_ignore_ascii_case("nTSecurityDescriptor"));
        }
    }
    point_scripts_at(&mut class_store, &file_sys_path);
    let sd = match (&gpo.security_descriptor, options.preserve_acl) {
        (Some(sd), _) => sd.clone(),
        (None, true) => return Err(CopyError::NoSecurityDescriptor { gpo: gpo.display_name.clone() }),
        // Not written: the target's default stands.
        (None, false) => crate::model::SecurityDescriptor::from_parts(0, None, None, None, None),
    };
    let sysvol_version = folder.file(crate::formats::gpt_ini::FILE_NAME).and_then(gpt_ini_version);
    let content = without_gpt_ini(&folder);

    progress.report(ProgressEvent::Step("Mapping the settings".into()));
    let input = ApplyInput { folder: &content, class_store: &class_store, dacl: options.preserve_acl.then_some(&sd) };
    let mut references = GpoReferences::of_folder(&content);
    references.add_class_store(&class_store);
    if options.preserve_acl {
        references.add_dacl(&sd);
    }
    let known = resolve_references(source.directory.as_ref(), &source.domain, &references).await?;
    let mapping = Mapping { table: options.table.as_ref(), only_mapped: options.only_mapped };
    let applied = map_settings(target, input, mapping, &known).await.map_err(|e| CopyError::Mapping {
        gpo: gpo.display_name.clone(),
        domain: target.domain.dns_name.clone(),
        source: e,
    })?;

    let filter = estate.wmi_filter_of(&gpo).cloned();
    let written = BackupSource {
        backup_id: gpo.id.to_string(),
        backup_time: String::new(),
        comment: String::new(),
        path: Default::default(),
        made_by_gpvault: true,
        domain: SourceDomain { dns_name: source.domain.dns_name.clone(), guid: None },
        gpo: Gpo {
            id,
            dn,
            display_name: name.clone(),
            file_sys_path,
            // The link names the target domain; whether it is written is the WMI decision's.
            wmi_filter_link: gpo.wmi_filter_id().map(|f| format!("[{};{f};0]", target.domain.dns_name)),
            security_descriptor: None,
            ..gpo.clone()
        },
        security_descriptor: applied.dacl.unwrap_or(sd),
        sysvol_version,
        content: applied.folder,
        gpt_ini: None,
        class_store: ClassStoreSource::Mapped(applied.class_store),
        links: Vec::new(),
        wmi_filter_name: filter.as_ref().map(|f| f.name.clone()),
        wmi_filter: filter,
        links_unknown: None,
    };
    let wmi_filter =
        restore::changes::wmi_filter_action(&written, &target_estate.wmi_filters, options.create_wmi_filter);
    let write_options = RestoreOptions {
        keep_dacl: !options.preserve_acl,
        recreate_wmi_filters: options.create_wmi_filter,
        ..Default::default()
    };
    let verb = ("create the copy".to_string(), "copied".to_string());
    let planned = GpoRestorePlan::written_over(
        written,
        None,
        &target_estate,
        &target_children,
        &write_options,
        verb,
        String::new(),
    );
    Ok(CopyPlan {
        source: Item { gpo: gpo.id, name: gpo.display_name.clone() },
        source_domain: source.domain.dns_name.clone(),
        copy: Item { gpo: id, name },
        domain: target.domain.dns_name.clone(),
        preserve_acl: options.preserve_acl,
        mapping: applied.report,
        with_table: options.table.is_some(),
        wmi_filter,
        recovery,
        write: RestorePlan::of_one(
            options.journal_dir.clone().unwrap_or_default(),
            target.domain.dns_name.clone(),
            write_options,
            planned,
        ),
    })
}

/// The folder's content without GPT.INI, which the copy writes anew with its own version.
fn without_gpt_ini(folder: &GpoFolder) -> GpoFolder {
    let is_gpt_ini = |e: &FolderEntry| e.rel_path().eq_ignore_ascii_case(crate::formats::gpt_ini::FILE_NAME);
    GpoFolder { entries: folder.entries.iter().filter(|e| !is_gpt_ini(e)).cloned().collect() }
}

impl Plan for CopyPlan {
    fn describe(&self) -> PlanDescription {
        let mut description = self.write.describe();
        description.title = format!(
            "Copy GPO \"{}\" of {} to a new GPO \"{}\" in {}",
            self.source.name, self.source_domain, self.copy.name, self.domain
        );
        if let Some(first) = description.changes.first_mut() {
            first.from = format!("GPO {} \"{}\" of {}", self.source.gpo, self.source.name, self.source_domain);
        }
        // The restore's words for a GPO that is not there yet, and for a filter that is gone
        // (said below in a copy's words).
        description.changes.retain(|c| c.action != "WMI filter");
        description.notes.retain(|n| !n.starts_with("a WMI filter that no longer exists"));
        for change in description.changes.iter_mut().skip(1) {
            if change.from == "(deleted)" || change.from == "the GPO's folder now" {
                change.from = "(a new GPO)".into();
            }
        }
        if let Some(recovery) = &self.recovery {
            recover::describe_first(recovery, &mut description);
        }
        mapping_changes(&self.copy, &self.mapping, &mut description);
        description.notes.push(mapping_note(self.with_table, &self.mapping));
        description.notes.push(match self.preserve_acl {
            true => "permissions: the source's DACL, its principals mapped".into(),
            false => format!("permissions: the defaults of {} for a new GPO", self.domain),
        });
        if let Some(note) = wmi_note(&self.wmi_filter, &self.domain) {
            description.notes.push(note);
        }
        description
    }
}

/// What a copy does about the source's WMI filter, when it is worth a word.
fn wmi_note(action: &WmiFilterAction, domain: &str) -> Option<String> {
    match action {
        WmiFilterAction::Missing { id, name, .. } => Some(format!(
            "the WMI filter {id}{} is not in {domain}: the copy is not filtered (the filter can be created there)",
            name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default(),
        )),
        WmiFilterAction::Recreate { filter } => {
            Some(format!("the WMI filter {} ({}) is created in {domain} and linked", filter.id, filter.name))
        }
        WmiFilterAction::NoFilter | WmiFilterAction::Link { .. } => None,
    }
}

/// Creates the copy in `target`, all or nothing: on failure the new GPO is deleted again.
pub async fn execute(
    target: &DomainSession,
    plan: CopyPlan,
    options: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<CopyReport, CopyError> {
    let (mapped, left) = (plan.mapping.mapped_count(), plan.mapping.left_count());
    let (name, domain) = (plan.copy.name.clone(), plan.domain.clone());
    let wmi = wmi_note(&plan.wmi_filter, &plan.domain);
    // What copies killed earlier left is deleted first (the plan says so); if it cannot be,
    // nothing is copied.
    if let Some(recovery) = plan.recovery {
        match recover::execute_first(target, recovery, options, Arc::clone(&progress)).await {
            Ok(_) => {}
            Err(FirstError::Restore(e)) => return Err(e.into()),
            Err(FirstError::NotPutRight { gpo, reason }) => return Err(CopyError::Recovery { gpo, reason }),
            Err(FirstError::Cancelled) => return Ok(RunReport::default()),
        }
    }
    let report = restore::execute(target, plan.write, options, progress).await?;
    let items = report
        .items
        .into_iter()
        .map(|r| {
            let outcome = match r.outcome {
                Outcome::Succeeded(done) => {
                    // The run's own words are a restore's; the plan's decision said in a copy's.
                    let note = done.wmi_note.as_ref().and(wmi.clone());
                    Outcome::Succeeded(Copied { wmi_note: note, ..copied(&r.item, done, &name, &domain, mapped, left) })
                }
                Outcome::Failed(e) => Outcome::Failed(CopyItemError::Write(e)),
                Outcome::Cancelled => Outcome::Cancelled,
            };
            ItemReport { item: r.item, outcome }
        })
        .collect();
    Ok(RunReport { items, closing: report.closing })
}

fn copied(item: &Item, done: Restored, name: &str, domain: &str, mapped: usize, left: usize) -> Copied {
    Copied {
        id: item.gpo,
        name: name.to_string(),
        domain: domain.to_string(),
        version: done.version,
        mapped,
        left,
        wmi_note: done.wmi_note,
    }
}

#[cfg(test)]
mod tests;
