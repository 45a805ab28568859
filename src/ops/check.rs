//! Estate health (`gpvault check`): typed findings about a domain's GPOs, each with a severity,
//! the GPO it is about, what is wrong and what to do. Read-only: one LDAP pass, then every
//! GPO's SYSVOL folder and the NT ACL of its top folder read in parallel (as Back Up All reads
//! them), then checks across the estate (links, orphan folders, WMI filters) and, when a backup
//! folder is given, against its instances.
//!
//! The checks themselves are plain functions over data ([`check_gpo`], [`check_estate`],
//! [`check_backups`]): the unit tests feed them in-memory estates, the lab tests the real one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::inspect::gpt_ini_version;
use super::run::{Item, Plan, PlanDescription, PlannedChange, RunOptions, run_items};
use super::{DomainSession, Progress, ProgressEvent};
use crate::directory::DirectoryError;
use crate::formats::gpp_xml::PreferenceFile;
use crate::formats::settings_file::{SettingsContent, SettingsFile};
use crate::model::security::GpoAccess;
use crate::model::security::PermissionType;
use crate::model::{DirectoryObject, Estate, Gpo, GpoFolder, GpoId, GpoSide, SecurityDescriptor, Version};
use crate::store::{BackupStore, InstanceSummary, StoreError, verify_instance};
use crate::sysvol::{PolicyPath, SysvolError, file_security_from_gpo};

/// GPOs read at once: the same as Back Up All.
pub const DEFAULT_PARALLELISM: usize = super::backup::DEFAULT_PARALLELISM;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What is wrong, with the facts that say so. The JSON form carries the kind as `check`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Problem {
    /// versionNumber in AD and Version= in GPT.INI differ (`sysvol` is `None` when GPT.INI has none).
    VersionMismatch {
        ad: Version,
        sysvol: Option<Version>,
    },
    /// The GPO exists in AD but its SYSVOL folder does not.
    SysvolFolderMissing {
        path: String,
    },
    /// The SYSVOL folder could not be read (access, connection).
    SysvolUnreadable {
        reason: String,
    },
    /// A `{GUID}` folder under Policies that no GPO in AD owns.
    OrphanFolder {
        folder: String,
    },
    /// A folder an interrupted gpvault run left beside a GPO's own while replacing it
    /// (`gpvault-new.{GUID}.tag`, `gpvault-old.{GUID}.tag`): never taken for a GPO, only clutter.
    ReplacementLeftover {
        folder: String,
    },
    /// The folder's NT ACL is not the one derived from the GPO's DACL (as `samba-tool ntacl
    /// sysvolreset` and GPMC derive it).
    NtAclMismatch {
        expected: String,
        found: String,
    },
    /// The folder's NT ACL could not be read.
    NtAclUnreadable {
        reason: String,
    },
    /// A container links a GPO that does not exist.
    LinkToMissingGpo {
        container: String,
    },
    NotLinked,
    AllLinksDisabled {
        containers: Vec<String>,
    },
    /// Neither half holds a settings file with settings, nor any software installation package.
    NoSettings,
    /// A half is disabled in the GPO's status yet holds settings (in these files).
    DisabledHalfHoldsSettings {
        half: GpoSide,
        files: Vec<String>,
    },
    /// No principal is in the GPO's security filtering (allowed Read and Apply Group Policy).
    NobodyCanApply,
    /// A Group Policy Preferences item stores a password (`cpassword`, MS14-025): anyone who can
    /// read SYSVOL can decrypt it. The value is never kept here.
    StoredPassword {
        file: String,
        item: String,
    },
    /// A legacy `Adm` folder of administrative templates copied into the GPO.
    LegacyAdmFolder {
        files: usize,
        bytes: u64,
    },
    /// The GPO's WMI filter link names a filter the domain does not have.
    WmiFilterMissing {
        filter_id: String,
    },
    /// A WMI filter no GPO uses.
    WmiFilterUnused {
        filter_id: String,
        name: String,
    },
    /// The backup folder holds no instance of the GPO.
    NeverBackedUp,
    /// The newest instance of the GPO is older than allowed.
    BackupTooOld {
        backup_id: String,
        backup_time: String,
        age_days: i64,
        max_age_days: u32,
    },
    /// An instance whose files are not what was recorded at backup time.
    BackupFailsVerification {
        backup_id: String,
        folder: String,
        problems: Vec<String>,
    },
    /// A folder of the backup folder that looks like an instance but could not be read.
    BackupUnreadable {
        folder: String,
        reason: String,
    },
}

impl Problem {
    pub fn severity(&self) -> Severity {
        use Problem::*;
        match self {
            SysvolFolderMissing { .. } | SysvolUnreadable { .. } | StoredPassword { .. } => Severity::Error,
            BackupFailsVerification { .. } | BackupUnreadable { .. } => Severity::Error,
            VersionMismatch { .. }
            | OrphanFolder { .. }
            | ReplacementLeftover { .. }
            | NtAclMismatch { .. }
            | NtAclUnreadable { .. }
            | LinkToMissingGpo { .. }
            | NobodyCanApply
            | WmiFilterMissing { .. }
            | NeverBackedUp
            | BackupTooOld { .. } => Severity::Warning,
            NotLinked
            | AllLinksDisabled { .. }
            | NoSettings
            | DisabledHalfHoldsSettings { .. }
            | LegacyAdmFolder { .. }
            | WmiFilterUnused { .. } => Severity::Info,
        }
    }

    /// The kind, as the JSON's `check` field names it.
    pub fn kind(&self) -> &'static str {
        use Problem::*;
        match self {
            VersionMismatch { .. } => "version_mismatch",
            SysvolFolderMissing { .. } => "sysvol_folder_missing",
            SysvolUnreadable { .. } => "sysvol_unreadable",
            OrphanFolder { .. } => "orphan_folder",
            ReplacementLeftover { .. } => "replacement_leftover",
            NtAclMismatch { .. } => "nt_acl_mismatch",
            NtAclUnreadable { .. } => "nt_acl_unreadable",
            LinkToMissingGpo { .. } => "link_to_missing_gpo",
            NotLinked => "not_linked",
            AllLinksDisabled { .. } => "all_links_disabled",
            NoSettings => "no_settings",
            DisabledHalfHoldsSettings { .. } => "disabled_half_holds_settings",
            NobodyCanApply => "nobody_can_apply",
            StoredPassword { .. } => "stored_password",
            LegacyAdmFolder { .. } => "legacy_adm_folder",
            WmiFilterMissing { .. } => "wmi_filter_missing",
            WmiFilterUnused { .. } => "wmi_filter_unused",
            NeverBackedUp => "never_backed_up",
            BackupTooOld { .. } => "backup_too_old",
            BackupFailsVerification { .. } => "backup_fails_verification",
            BackupUnreadable { .. } => "backup_unreadable",
        }
    }

    /// What is wrong, in a sentence.
    pub fn what(&self) -> String {
        use Problem::*;
        let version = |v: &Version| format!("user {}, computer {}", v.user, v.machine);
        match self {
            VersionMismatch { ad, sysvol: Some(sysvol) } => {
                format!("AD and SYSVOL versions differ: AD {}, SYSVOL {}", version(ad), version(sysvol))
            }
            VersionMismatch { ad, sysvol: None } => {
                format!("GPT.INI has no version (AD has {}): clients cannot tell which version they hold", version(ad))
            }
            SysvolFolderMissing { path } => format!("the GPO has no SYSVOL folder ({path})"),
            SysvolUnreadable { reason } => format!("the SYSVOL folder cannot be read: {reason}"),
            OrphanFolder { folder } => format!("SYSVOL folder {folder} belongs to no GPO in AD (orphan)"),
            ReplacementLeftover { folder } => {
                format!(
                    "SYSVOL folder {folder} is what an interrupted gpvault run left while replacing the GPO's folder"
                )
            }
            NtAclMismatch { expected, found } => format!(
                "the SYSVOL folder's NT ACL does not match the GPO's permissions: it is {found}, the GPO's DACL gives {expected}"
            ),
            NtAclUnreadable { reason } => format!("the SYSVOL folder's NT ACL cannot be read: {reason}"),
            LinkToMissingGpo { container } => format!("{container} links a GPO that does not exist"),
            NotLinked => "the GPO is linked nowhere, so it applies nowhere".into(),
            AllLinksDisabled { containers } => {
                format!("every link of the GPO is disabled ({}), so it applies nowhere", containers.join("; "))
            }
            NoSettings => "the GPO holds no settings".into(),
            DisabledHalfHoldsSettings { half, files } => {
                format!("the {} half is disabled but still holds settings ({})", half_name(*half), files.join(", "))
            }
            NobodyCanApply => {
                "no principal may apply the GPO (nobody has Read and Apply Group Policy), so it applies to nobody"
                    .into()
            }
            StoredPassword { file, item } => format!(
                "{file}: item {item} stores a password (cpassword, MS14-025): anyone who can read SYSVOL can decrypt it"
            ),
            LegacyAdmFolder { files, bytes } => format!(
                "a legacy Adm folder ({files} file{}, {}) is copied into the GPO and into every backup of it",
                if *files == 1 { "" } else { "s" },
                super::catalog::human_size(*bytes)
            ),
            WmiFilterMissing { filter_id } => {
                format!("the GPO's WMI filter {filter_id} does not exist: clients skip the GPO")
            }
            WmiFilterUnused { filter_id, name } => format!("WMI filter '{name}' ({filter_id}) is used by no GPO"),
            NeverBackedUp => "the backup folder holds no backup of the GPO".into(),
            BackupTooOld { backup_id, backup_time, age_days, max_age_days } => format!(
                "the newest backup ({backup_id}, {backup_time}) is {age_days} days old, more than {max_age_days}"
            ),
            BackupFailsVerification { backup_id, problems, .. } => {
                format!("backup {backup_id} fails verification: {}", problems.join("; "))
            }
            BackupUnreadable { folder, reason } => format!("{folder} cannot be read as a backup: {reason}"),
        }
    }

    /// What to do about it.
    pub fn fix(&self) -> String {
        use Problem::*;
        match self {
            VersionMismatch { .. } => "edit the GPO (any change writes both versions) or restore it from a backup; check SYSVOL replication".into(),
            SysvolFolderMissing { .. } => "restore the GPO from a backup, or delete it if it is not needed".into(),
            SysvolUnreadable { .. } => "give the account read access to SYSVOL and check the DC, then check again".into(),
            OrphanFolder { .. } => "back the folder up by hand, then delete it (or restore the GPO it belonged to)".into(),
            ReplacementLeftover { .. } => {
                "run gpvault recover for the backup folder the run used, check the GPO (its own folder is whole), then delete this folder".into()
            }
            NtAclMismatch { .. } | NtAclUnreadable { .. } => {
                "reset the SYSVOL permissions from the GPO's (samba-tool ntacl sysvolreset, or GPMC's Fix permissions)".into()
            }
            LinkToMissingGpo { .. } => "remove the link from the container".into(),
            NotLinked => "link it where it should apply, or delete it after backing it up".into(),
            AllLinksDisabled { .. } => "enable a link, or delete the GPO after backing it up".into(),
            NoSettings => "add settings or delete the GPO".into(),
            DisabledHalfHoldsSettings { .. } => "enable the half if its settings should apply, or remove them".into(),
            NobodyCanApply => "give the intended users, groups or computers Read and Apply Group Policy (security filtering)".into(),
            StoredPassword { .. } => "delete the item or its password, change that password everywhere it was used, and use LAPS or another secret store".into(),
            LegacyAdmFolder { .. } => "delete the Adm folder (ADMX templates in a central store replace it)".into(),
            WmiFilterMissing { .. } => "link the GPO to an existing WMI filter, or to none".into(),
            WmiFilterUnused { .. } => "delete the filter if nothing needs it".into(),
            NeverBackedUp | BackupTooOld { .. } => "back the GPO up".into(),
            BackupFailsVerification { .. } => "back the GPO up again; keep the damaged instance aside until a good one exists".into(),
            BackupUnreadable { .. } => "repair the backup folder, or move the folder out of it".into(),
        }
    }
}

fn half_name(side: GpoSide) -> &'static str {
    match side {
        GpoSide::Machine => "computer",
        GpoSide::User => "user",
    }
}

/// The GPO a finding is about: its GUID always, its name when the domain or a backup has one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GpoRef {
    pub id: GpoId,
    pub name: Option<String>,
}

impl GpoRef {
    fn of(gpo: &Gpo) -> GpoRef {
        GpoRef { id: gpo.id, name: Some(gpo.display_name.clone()) }
    }
}

/// One finding: severity, GPO (none for a WMI filter no GPO uses), what is wrong, what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub gpo: Option<GpoRef>,
    pub what: String,
    pub fix: String,
    #[serde(flatten)]
    pub problem: Problem,
}

impl Finding {
    pub fn new(gpo: Option<GpoRef>, problem: Problem) -> Finding {
        Finding { severity: problem.severity(), gpo, what: problem.what(), fix: problem.fix(), problem }
    }

    /// "{GUID} Name" or "{GUID}" or "".
    pub fn gpo_text(&self) -> String {
        match &self.gpo {
            Some(GpoRef { id, name: Some(name) }) => format!("{id} {name}"),
            Some(GpoRef { id, name: None }) => id.to_string(),
            None => String::new(),
        }
    }
}

/// A whole check: every finding, worst first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub domain: String,
    pub gpos_checked: usize,
    /// GPOs a cancelled run did not get to: their SYSVOL was not checked.
    pub gpos_skipped: usize,
    /// The backup folder compared against, when one was given.
    pub backups: Option<PathBuf>,
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// True when some finding is a warning or an error: what the exit code says.
    pub fn needs_attention(&self) -> bool {
        self.findings.iter().any(|f| f.severity >= Severity::Warning) || self.gpos_skipped > 0
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }

    /// "14 GPOs checked: 1 error, 2 warnings, 5 notes".
    pub fn counts(&self) -> String {
        let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut text = format!(
            "{} checked: {}, {}, {}",
            plural(self.gpos_checked, "GPO", "GPOs"),
            plural(self.count(Severity::Error), "error", "errors"),
            plural(self.count(Severity::Warning), "warning", "warnings"),
            plural(self.count(Severity::Info), "note", "notes"),
        );
        if self.gpos_skipped > 0 {
            text.push_str(&format!("; {} not checked (cancelled)", self.gpos_skipped));
        }
        text
    }

    fn sort(&mut self) {
        self.findings.sort_by_cached_key(|f| {
            (
                std::cmp::Reverse(f.severity),
                f.gpo.as_ref().and_then(|g| g.name.clone()).unwrap_or_default().to_lowercase(),
                f.gpo.as_ref().map(|g| g.id),
                f.problem.kind(),
                f.what.clone(),
            )
        });
    }
}

/// Failures that stop the whole check.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("listing the GPO folders of SYSVOL: {0}")]
    Sysvol(#[from] SysvolError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a check compares against besides the domain.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// A backup folder: GPOs without a (recent enough) backup, instances that fail verification.
    pub backups: Option<PathBuf>,
    /// With `backups`: the newest backup of each GPO must be at most this many days old.
    pub max_age_days: Option<u32>,
}

/// What a check will read. Made by [`plan`], which reads the directory only.
#[derive(Clone, Debug)]
pub struct CheckPlan {
    pub domain: String,
    pub options: CheckOptions,
    estate: Arc<Estate>,
    children: Arc<BTreeMap<GpoId, Vec<DirectoryObject>>>,
}

impl CheckPlan {
    pub fn estate(&self) -> &Estate {
        &self.estate
    }
}

impl Plan for CheckPlan {
    fn describe(&self) -> PlanDescription {
        let count = self.estate.gpos.len();
        let mut title = format!("Check {count} GPO{} of {}", if count == 1 { "" } else { "s" }, self.domain);
        if let Some(dir) = &self.options.backups {
            title.push_str(&format!(" against the backups in {}", dir.display()));
        }
        let changes = self
            .estate
            .gpos
            .iter()
            .map(|g| PlannedChange {
                item: Some(Item { gpo: g.id, name: g.display_name.clone() }),
                action: "check".into(),
                from: g.file_sys_path.clone(),
                to: String::new(),
            })
            .collect();
        PlanDescription { title, changes, notes: vec!["nothing is written".into()] }
    }
}

pub async fn plan(
    session: &DomainSession,
    options: CheckOptions,
    progress: &dyn Progress,
) -> Result<CheckPlan, CheckError> {
    progress.report(ProgressEvent::Step(format!("Reading the GPOs of {}", session.domain.dns_name)));
    let (estate, children) =
        futures::try_join!(session.directory.read_estate(), session.directory.read_gpo_children())?;
    Ok(CheckPlan {
        domain: estate.domain.dns_name.clone(),
        options,
        estate: Arc::new(estate),
        children: Arc::new(children),
    })
}

/// One GPO's SYSVOL half as read for a check.
#[derive(Clone, Debug)]
pub enum SysvolRead {
    Folder { folder: GpoFolder, acl: Result<SecurityDescriptor, String> },
    Missing { path: String },
    Unreadable { reason: String },
}

/// What [`check_gpo`] found, kept small: the folder itself is dropped once read.
#[derive(Clone, Debug, Default)]
struct GpoChecked {
    findings: Vec<Finding>,
}

impl fmt::Display for GpoChecked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} finding{}", self.findings.len(), if self.findings.len() == 1 { "" } else { "s" })
    }
}

/// Reads every GPO's folder (and its top folder's NT ACL) `options.parallelism` at a time and
/// checks it, then the estate as a whole, then the backups.
pub async fn execute(
    session: &DomainSession,
    plan: CheckPlan,
    options: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<CheckReport, CheckError> {
    let estate = plan.estate.clone();
    let children = plan.children.clone();
    progress.report(ProgressEvent::Planned { total: estate.gpos.len() });

    // The backup folder is read and verified on a blocking thread while SYSVOL is read.
    let backups = plan.options.backups.clone().map(|dir| tokio::task::spawn_blocking(move || read_backups(&dir)));

    let folders = session.sysvol.list_policies_folders().await?;
    let items: Vec<(Item, Gpo)> =
        estate.gpos.iter().map(|g| (Item { gpo: g.id, name: g.display_name.clone() }, g.clone())).collect();
    let (estate_ref, children_ref) = (&estate, &children);
    let reports = run_items(items, options, &progress, |gpo: Gpo| async move {
        let read = read_sysvol(session, &gpo).await;
        let objects = children_ref.get(&gpo.id).map(Vec::as_slice).unwrap_or_default();
        let findings = check_gpo(&gpo, estate_ref, objects, &read);
        Ok::<_, std::convert::Infallible>(GpoChecked { findings })
    })
    .await;

    let mut report = CheckReport {
        domain: plan.domain.clone(),
        backups: plan.options.backups.clone(),
        gpos_checked: estate.gpos.len(),
        ..Default::default()
    };
    for item in reports {
        match item.outcome {
            super::run::Outcome::Succeeded(checked) => report.findings.extend(checked.findings),
            _ => {
                report.gpos_skipped += 1;
                report.gpos_checked -= 1;
            }
        }
    }
    report.findings.extend(check_estate(&estate, &folders));
    if let Some(task) = backups {
        progress.report(ProgressEvent::Step("Checking the backups".into()));
        let read = task.await.map_err(|e| StoreError::Folder {
            path: plan.options.backups.as_ref().map(|d| d.display().to_string()).unwrap_or_default(),
            reason: format!("reading it stopped: {e}"),
        })??;
        report.findings.extend(check_backups(&estate, &read, Utc::now(), plan.options.max_age_days));
    }
    report.sort();
    Ok(report)
}

/// Plan and execute in one go.
pub async fn check(
    session: &DomainSession,
    check_options: CheckOptions,
    options: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<CheckReport, CheckError> {
    let plan = plan(session, check_options, progress.as_ref()).await?;
    execute(session, plan, options, progress).await
}

async fn read_sysvol(session: &DomainSession, gpo: &Gpo) -> SysvolRead {
    match session.sysvol.read_gpo_folder(&gpo.id, &gpo.file_sys_path).await {
        Ok(folder) => {
            let acl = match session.sysvol.read_security(&PolicyPath::gpo(&gpo.id)).await {
                Ok(sd) => Ok(sd),
                Err(e) => Err(crate::error::one_line(&e)),
            };
            SysvolRead::Folder { folder, acl }
        }
        Err(SysvolError::GpoFolderMissing { path, .. }) => SysvolRead::Missing { path },
        Err(e) => SysvolRead::Unreadable { reason: crate::error::one_line(&e) },
    }
}

/// Everything about one GPO that its own data tells: both halves, its DACL, its links and WMI
/// filter (from `estate`), and its class store objects.
pub fn check_gpo(gpo: &Gpo, estate: &Estate, objects: &[DirectoryObject], read: &SysvolRead) -> Vec<Finding> {
    let mut problems = Vec::new();
    let links = estate.links_to(&gpo.id);
    if links.is_empty() {
        problems.push(Problem::NotLinked);
    } else if links.iter().all(|l| !l.enabled) {
        problems.push(Problem::AllLinksDisabled { containers: links.iter().map(|l| l.container_dn.clone()).collect() });
    }
    if let Some(sd) = &gpo.security_descriptor
        && !can_be_applied(sd)
    {
        problems.push(Problem::NobodyCanApply);
    }
    if let Some(filter_id) = gpo.wmi_filter_id()
        && estate.wmi_filter_of(gpo).is_none()
    {
        problems.push(Problem::WmiFilterMissing { filter_id });
    }
    match read {
        SysvolRead::Missing { path } => problems.push(Problem::SysvolFolderMissing { path: path.clone() }),
        SysvolRead::Unreadable { reason } => problems.push(Problem::SysvolUnreadable { reason: reason.clone() }),
        SysvolRead::Folder { folder, acl } => {
            let sysvol = folder.file(crate::formats::gpt_ini::FILE_NAME).and_then(gpt_ini_version);
            if sysvol != Some(gpo.version) {
                problems.push(Problem::VersionMismatch { ad: gpo.version, sysvol });
            }
            problems.extend(nt_acl_problem(gpo, acl));
            let content = FolderContent::of(folder);
            let class_store = |side: GpoSide| objects.iter().any(|o| object_half(&o.dn) == Some(side));
            let machine = content.machine.len() + usize::from(class_store(GpoSide::Machine));
            let user = content.user.len() + usize::from(class_store(GpoSide::User));
            if machine + user == 0 {
                problems.push(Problem::NoSettings);
            }
            for (side, disabled, files) in [
                (GpoSide::Machine, gpo.flags.machine_disabled(), &content.machine),
                (GpoSide::User, gpo.flags.user_disabled(), &content.user),
            ] {
                let mut files = files.clone();
                if class_store(side) {
                    files.push("software installation packages".into());
                }
                if disabled && !files.is_empty() {
                    problems.push(Problem::DisabledHalfHoldsSettings { half: side, files });
                }
            }
            for (file, item) in content.passwords {
                problems.push(Problem::StoredPassword { file, item });
            }
            if content.adm_files > 0 {
                problems.push(Problem::LegacyAdmFolder { files: content.adm_files, bytes: content.adm_bytes });
            }
        }
    }
    problems.into_iter().map(|p| Finding::new(Some(GpoRef::of(gpo)), p)).collect()
}

/// GPMC's security filtering: someone is allowed Read and Apply Group Policy, and not denied it.
fn can_be_applied(sd: &SecurityDescriptor) -> bool {
    let delegation = sd.gpo_delegation();
    let denied: BTreeSet<_> = delegation
        .iter()
        .filter(|p| p.permission_type == PermissionType::Deny && p.access == GpoAccess::ApplyGroupPolicy)
        .map(|p| &p.trustee)
        .collect();
    delegation.iter().any(|p| {
        p.permission_type == PermissionType::Allow
            && p.access == GpoAccess::ApplyGroupPolicy
            && !denied.contains(&p.trustee)
    })
}

fn nt_acl_problem(gpo: &Gpo, acl: &Result<SecurityDescriptor, String>) -> Option<Problem> {
    let gpo_sd = gpo.security_descriptor.as_ref()?;
    let expected = file_security_from_gpo(&gpo.id, gpo_sd).ok()?;
    match acl {
        // A SYSVOL that cannot report NT ACLs (a plain local folder) has nothing to compare.
        Err(reason) if reason.contains("not offered") || reason.contains("not supported") => None,
        Err(reason) => Some(Problem::NtAclUnreadable { reason: reason.clone() }),
        Ok(found) => {
            let (expected, found) = (acl_text(&expected), acl_text(found));
            (expected != found).then_some(Problem::NtAclMismatch { expected, found })
        }
    }
}

/// Owner, group and DACL as SDDL: what decides access (the SACL and the control bits that only
/// say how the DACL was written do not).
fn acl_text(sd: &SecurityDescriptor) -> String {
    let mut plain = sd.clone();
    plain.sacl = None;
    plain.to_sddl(None)
}

/// Which half a class store object is below: `...,CN=Machine,CN={GUID},CN=Policies,...`.
fn object_half(dn: &str) -> Option<GpoSide> {
    let lower = dn.to_ascii_lowercase();
    let at = lower.find(",cn={")?;
    let before = &lower[..at];
    if before.ends_with(",cn=machine") {
        Some(GpoSide::Machine)
    } else if before.ends_with(",cn=user") {
        Some(GpoSide::User)
    } else {
        None
    }
}

/// What a GPO folder holds, as the checks need it.
#[derive(Debug, Default)]
struct FolderContent {
    /// Files of each half that hold settings (paths in the GPO folder).
    machine: Vec<String>,
    user: Vec<String>,
    /// (file, item) of every Preferences item with a cpassword; never the value.
    passwords: Vec<(String, String)>,
    adm_files: usize,
    adm_bytes: u64,
}

impl FolderContent {
    /// A file holds settings when its reader finds at least one, or, for files no reader
    /// understands (scripts, .aas packages, damaged settings files), when it is not empty.
    /// GPT.INI and comment.cmtx (GPMC's comments) hold none.
    fn of(folder: &GpoFolder) -> FolderContent {
        let mut content = FolderContent::default();
        for (path, bytes) in folder.files() {
            let mut parts = path.splitn(2, '/');
            let top = parts.next().unwrap_or("").to_ascii_lowercase();
            if top == "adm" {
                content.adm_files += 1;
                content.adm_bytes += bytes.len() as u64;
                continue;
            }
            let half = match top.as_str() {
                "machine" => &mut content.machine,
                "user" => &mut content.user,
                _ => continue,
            };
            let name = path.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
            if name == "comment.cmtx" || bytes.is_empty() {
                continue;
            }
            let holds = match SettingsFile::parse(path, bytes) {
                Some(Ok(file)) => {
                    if let SettingsContent::Preferences(preferences) = &file.content {
                        content
                            .passwords
                            .extend(stored_passwords(preferences).into_iter().map(|i| (path.to_string(), i)));
                    }
                    !file.settings().is_empty()
                }
                Some(Err(_)) | None => true,
            };
            if holds {
                half.push(path.to_string());
            }
        }
        content
    }
}

/// The items of a Preferences file that carry a non-empty cpassword, named by their key
/// (element, name, uid). The password itself is not returned.
pub fn stored_passwords(file: &PreferenceFile) -> Vec<String> {
    file.items()
        .into_iter()
        .filter(|item| {
            item.property("cpassword").is_some_and(|v| !v.trim().is_empty())
                || item.attr("cpassword").is_some_and(|v| !v.trim().is_empty())
        })
        .map(|item| item.key())
        .collect()
}

/// Checks across the estate: links to GPOs that do not exist, SYSVOL folders no GPO owns, WMI
/// filters no GPO uses. `folders` are the names under Policies (`{GUID}`; others are skipped:
/// PolicyDefinitions, the central store, is no GPO).
/// The GPO whose folder `name` was being replaced, when `name` is a replacement's leftover
/// (`gpvault-new.{GUID}.tag` or `gpvault-old.{GUID}.tag`).
fn replacement_leftover_of(name: &str) -> Option<GpoId> {
    let rest = name.strip_prefix("gpvault-new.").or_else(|| name.strip_prefix("gpvault-old."))?;
    rest.split_once('.')?.0.parse().ok()
}

pub fn check_estate(estate: &Estate, folders: &[String]) -> Vec<Finding> {
    let known: BTreeSet<GpoId> = estate.gpos.iter().map(|g| g.id).collect();
    let mut findings = Vec::new();
    for container in &estate.containers {
        for link in &container.links {
            if !known.contains(&link.gpo_id) {
                findings.push(Finding::new(
                    Some(GpoRef { id: link.gpo_id, name: None }),
                    Problem::LinkToMissingGpo { container: container.dn.clone() },
                ));
            }
        }
    }
    for folder in folders {
        if let Some(id) = replacement_leftover_of(folder) {
            let gpo = estate.gpos.iter().find(|g| g.id == id).map(|g| g.display_name.clone());
            let problem = Problem::ReplacementLeftover { folder: folder.clone() };
            findings.push(Finding::new(Some(GpoRef { id, name: gpo }), problem));
            continue;
        }
        let Ok(id) = folder.parse::<GpoId>() else { continue };
        if !known.contains(&id) {
            findings
                .push(Finding::new(Some(GpoRef { id, name: None }), Problem::OrphanFolder { folder: folder.clone() }));
        }
    }
    let used: BTreeSet<String> =
        estate.gpos.iter().filter_map(|g| g.wmi_filter_id()).map(|id| id.to_uppercase()).collect();
    for filter in &estate.wmi_filters {
        if !used.contains(&filter.id.to_uppercase()) {
            findings.push(Finding::new(
                None,
                Problem::WmiFilterUnused { filter_id: filter.id.clone(), name: filter.name.clone() },
            ));
        }
    }
    findings
}

/// A backup folder as read for a check.
#[derive(Clone, Debug, Default)]
pub struct BackupsRead {
    pub instances: Vec<InstanceSummary>,
    /// Backup ID → the problems verification found (empty when whole).
    pub verified: HashMap<String, Vec<String>>,
    /// Folders that could not be listed: (folder, why).
    pub unreadable: Vec<(String, String)>,
}

/// Lists a backup folder and verifies every instance in it (blocking: it reads every file).
pub fn read_backups(dir: &std::path::Path) -> Result<BackupsRead, StoreError> {
    let store = BackupStore::open(dir, false)?;
    let listing = store.list();
    let verified = listing
        .instances
        .iter()
        .map(|i| (i.info.id.clone(), verify_instance(i).problems.iter().map(ToString::to_string).collect()))
        .collect();
    let unreadable = listing.findings.iter().map(|f| (f.path.display().to_string(), f.problem.clone())).collect();
    Ok(BackupsRead { instances: listing.instances, verified, unreadable })
}

/// GPOs of the estate with no backup of this domain in the folder, or none newer than
/// `max_age_days` (measured from `now`), and every instance that fails verification.
pub fn check_backups(
    estate: &Estate,
    backups: &BackupsRead,
    now: DateTime<Utc>,
    max_age_days: Option<u32>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let ours = |i: &&InstanceSummary| {
        let row = super::catalog::BackupRow::of(i);
        row.is_of_domain(&estate.domain.dns_name, &estate.domain.guid)
    };
    let mut newest: HashMap<GpoId, (&InstanceSummary, Option<DateTime<Utc>>)> = HashMap::new();
    for instance in backups.instances.iter().filter(ours) {
        let Ok(id) = instance.info.gpo_id() else { continue };
        let time = instance.info.backup_time_utc();
        let entry = newest.entry(id).or_insert((instance, time));
        if time > entry.1 {
            *entry = (instance, time);
        }
    }
    for gpo in &estate.gpos {
        match (newest.get(&gpo.id), max_age_days) {
            (None, _) => findings.push(Finding::new(Some(GpoRef::of(gpo)), Problem::NeverBackedUp)),
            (Some((instance, time)), Some(max)) => {
                let age_days = time.map(|t| (now - t).num_days()).unwrap_or(i64::MAX);
                if age_days > i64::from(max) {
                    findings.push(Finding::new(
                        Some(GpoRef::of(gpo)),
                        Problem::BackupTooOld {
                            backup_id: instance.info.id.clone(),
                            backup_time: instance.info.backup_time.clone(),
                            age_days,
                            max_age_days: max,
                        },
                    ));
                }
            }
            (Some(_), None) => {}
        }
    }
    for instance in &backups.instances {
        let Some(problems) = backups.verified.get(&instance.info.id).filter(|p| !p.is_empty()) else { continue };
        let gpo =
            instance.info.gpo_id().ok().map(|id| GpoRef { id, name: Some(instance.info.gpo_display_name.clone()) });
        findings.push(Finding::new(
            gpo,
            Problem::BackupFailsVerification {
                backup_id: instance.info.id.clone(),
                folder: instance.path.display().to_string(),
                problems: problems.clone(),
            },
        ));
    }
    for (folder, reason) in &backups.unreadable {
        findings.push(Finding::new(None, Problem::BackupUnreadable { folder: folder.clone(), reason: reason.clone() }));
    }
    findings
}

#[cfg(test)]
mod tests;
