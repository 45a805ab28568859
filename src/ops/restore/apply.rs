//! Restoring one GPO, all or nothing.
//!
//! An existing GPO: (1) a safety backup of it as it is, into the same folder; (2) its SYSVOL
//! folder replaced by the backup's content (GPT.INI regenerated with the new version), with the
//! NT ACL derived from the restored DACL; (3) the directory: WMI filter (re-created only when
//! asked), attributes and version, DACL, class store; (4) links when asked. A failure after (1)
//! puts back what was changed, from the state the safety backup recorded.
//!
//! A deleted GPO: its tombstone reanimated (or the container created again with its GUID),
//! then (3), (4) and (2). A failure deletes it again, as it was.

use std::collections::BTreeMap;
use std::fmt;

use super::changes::{LinkAction, WmiFilterAction, link_order, next_version};
use super::source::{BackupSource, ClassStoreSource, RecordedLink};
use super::{GpoRestorePlan, RestoreItemError, RestoreKind, RestoreOptions, Restored, Rollback, StepError};
use crate::directory::{DirectoryError, GpoAttributes, GpoChanges, LinkPlacement, WmiFilterChange, gpo_file_sys_path};
use crate::formats::GptIni;
use crate::model::security::control;
use crate::model::{DirectoryObject, Estate, FolderEntry, Gpo, GpoFolder, GpoId, Link, SecurityDescriptor, Version};
use crate::ops::DomainSession;
use crate::ops::backup::{PrincipalCache, write_backup_of};
use crate::ops::inspect::gpt_ini_version;
use crate::store::{BackupStore, ChangeRecord, JournalEntry};
use crate::sysvol::{EntryKind, FolderSecurity, PolicyPath, Sysvol, SysvolError, file_security_from_gpo};

/// What every GPO's restore shares: read once per run.
pub(super) struct Context<'a> {
    pub session: &'a DomainSession,
    /// Where safety backups go; `None` when no GPO of the run exists yet (a copy).
    pub store: Option<&'a BackupStore>,
    /// The domain right before the run (not at plan time).
    pub estate: &'a Estate,
    pub children: &'a BTreeMap<GpoId, Vec<DirectoryObject>>,
    pub resolver: &'a PrincipalCache,
    pub options: RestoreOptions,
    pub recorded_links: &'a BTreeMap<String, BTreeMap<GpoId, usize>>,
}

/// The step of a restore that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreStep {
    ReadingCurrentState,
    Journal,
    Reanimating,
    Creating,
    WritingSysvol,
    RecreatingWmiFilter,
    WritingAttributes,
    WritingDacl,
    ReplacingClassStore,
    Linking,
    SettingNtAcls,
    /// Recovery of a killed copy.
    DeletingUnfinished,
}

impl fmt::Display for RestoreStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RestoreStep::ReadingCurrentState => "reading the GPO's current state",
            RestoreStep::Journal => "recording the change in its journal",
            RestoreStep::Reanimating => "reanimating the GPO's tombstone",
            RestoreStep::Creating => "creating the GPO with its GUID",
            RestoreStep::WritingSysvol => "replacing its SYSVOL folder",
            RestoreStep::RecreatingWmiFilter => "re-creating its WMI filter",
            RestoreStep::WritingAttributes => "writing its attributes",
            RestoreStep::WritingDacl => "writing its DACL",
            RestoreStep::ReplacingClassStore => "replacing its software installation class store",
            RestoreStep::Linking => "re-creating its links",
            RestoreStep::SettingNtAcls => "setting its SYSVOL NT ACLs",
            RestoreStep::DeletingUnfinished => "deleting what the interrupted run made of it",
        })
    }
}

type StepResult<T> = Result<T, (RestoreStep, StepError)>;

fn at<E: Into<StepError>>(step: RestoreStep) -> impl FnOnce(E) -> (RestoreStep, StepError) {
    move |e| (step, e.into())
}

/// The GPO's folder as restored: the backup's content and GPT.INI with the new version (the
/// backed-up GPT.INI when the backup kept it, else a new one with the display name).
pub fn restored_content(source: &BackupSource, version: Version) -> GpoFolder {
    let mut folder = source.content.clone();
    let (path, ini) = match &source.gpt_ini {
        Some((path, bytes)) => {
            let ini = GptIni::parse(bytes).ok().map(|mut ini| {
                ini.set_version(version);
                ini
            });
            (path.clone(), ini.unwrap_or_else(|| GptIni::new(version, &source.gpo.display_name)))
        }
        None => (crate::formats::gpt_ini::FILE_NAME.to_string(), GptIni::new(version, &source.gpo.display_name)),
    };
    folder.entries.push(FolderEntry::File { rel_path: path, bytes: ini.to_bytes() });
    folder.sort();
    folder
}

/// `base`'s owner and group with `dacl_from`'s DACL and its inheritance flags: what the GPO's
/// descriptor becomes when only the DACL is written.
pub fn with_dacl_of(base: &SecurityDescriptor, dacl_from: &SecurityDescriptor) -> SecurityDescriptor {
    let kept =
        dacl_from.control & (control::DACL_PROTECTED | control::DACL_AUTO_INHERITED | control::DACL_AUTO_INHERIT_REQ);
    SecurityDescriptor::from_parts(
        kept | control::DACL_PRESENT,
        base.owner.clone(),
        base.group.clone(),
        None,
        dacl_from.dacl.clone(),
    )
}

/// Objects directly below the GPO's CN=Machine or CN=User container.
fn top_objects<'a>(objects: impl Iterator<Item = &'a DirectoryObject>, gpo_dn: &str) -> Vec<String> {
    let gpo_dn = gpo_dn.to_lowercase();
    let mut tops: Vec<String> = objects
        .filter(|o| {
            let dn = o.dn.to_lowercase();
            ["cn=machine,", "cn=user,"]
                .iter()
                .any(|half| dn.strip_suffix(&format!(",{half}{gpo_dn}")).is_some_and(|head| !unescaped_comma(head)))
        })
        .map(|o| o.dn.clone())
        .collect();
    tops.sort_by_key(|d| d.to_lowercase());
    tops.dedup_by_key(|d| d.to_lowercase());
    tops
}

fn unescaped_comma(rdn: &str) -> bool {
    let mut escaped = false;
    for c in rdn.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => return true,
            _ => {}
        }
    }
    false
}

fn is_class_store_top(dn: &str) -> bool {
    dn.split(',').next().is_some_and(|rdn| rdn.trim().eq_ignore_ascii_case("cn=class store"))
}

/// What was changed so far, to be put back on failure.
struct Undo {
    before: Before,
    links: Vec<(String, Option<Link>)>,
    sysvol_written: bool,
    /// Set instead of `sysvol_written` when the folder was updated in place: GPT.INI's old
    /// bytes and the NT ACLs changed, as they were.
    sysvol_in_place: Option<InPlace>,
    attributes_written: bool,
    dacl_written: bool,
    class_store_touched: bool,
    /// Top objects of the class store written (deleted again on failure).
    class_store_tops: Vec<String>,
}

enum Before {
    Existing {
        gpo: Box<Gpo>,
        sd: Box<SecurityDescriptor>,
        /// `None`: the GPO had no SYSVOL folder.
        folder: Option<GpoFolder>,
        children: Vec<DirectoryObject>,
    },
    Deleted {
        container_made: bool,
        orphan_folder: Option<GpoFolder>,
    },
}

impl Undo {
    fn new(before: Before) -> Undo {
        Undo {
            before,
            links: Vec::new(),
            sysvol_written: false,
            sysvol_in_place: None,
            attributes_written: false,
            dacl_written: false,
            class_store_touched: false,
            class_store_tops: Vec::new(),
        }
    }

    /// Puts back what was changed, newest change first.
    async fn run(&self, cx: &Context<'_>, id: &GpoId, safety: Option<&str>) -> Rollback {
        let directory = &cx.session.directory;
        let sysvol = &cx.session.sysvol;
        let mut problems: Vec<String> = Vec::new();
        for (container, prior) in self.links.iter().rev() {
            let result = match prior {
                None => directory.remove_link(container, id).await.map(|_| ()),
                Some(link) => {
                    let placement =
                        LinkPlacement { order: Some(link.order), enabled: link.enabled, enforced: link.enforced };
                    directory.set_link(container, id, placement).await.map(|_| ())
                }
            };
            if let Err(e) = result {
                problems.push(format!("its link on {container} ({e})"));
            }
        }
        match &self.before {
            Before::Existing { gpo, sd, folder, children } => {
                if self.class_store_touched {
                    for top in &self.class_store_tops {
                        match directory.delete_gpo_objects(std::slice::from_ref(top)).await {
                            Ok(_) | Err(DirectoryError::NoSuchObject { .. }) => {}
                            Err(e) => problems.push(format!("the class store object {top} ({e})")),
                        }
                    }
                    if !children.is_empty()
                        && let Err(e) = directory.add_gpo_objects(children).await
                    {
                        problems.push(format!("its class store ({e})"));
                    }
                }
                if self.attributes_written {
                    let changes = GpoChanges::all(&GpoAttributes::of(gpo));
                    if let Err(e) = directory.modify_gpo(id, &changes).await {
                        problems.push(format!("its attributes ({e})"));
                    }
                }
                if self.dacl_written
                    && let Err(e) = directory.set_gpo_dacl(id, sd).await
                {
                    problems.push(format!("its DACL ({e})"));
                }
                if self.sysvol_written {
                    let result = match folder {
                        Some(folder) => sysvol.replace_gpo_folder(id, folder, Some(sd)).await.map(|_| ()),
                        None => sysvol.delete_tree(&PolicyPath::gpo(id)).await,
                    };
                    if let Err(e) = result {
                        problems.push(format!("its SYSVOL folder ({e})"));
                    }
                }
                if let Some(in_place) = &self.sysvol_in_place {
                    problems.extend(in_place.put_back(sysvol.as_ref()).await);
                }
            }
            Before::Deleted { container_made, orphan_folder } => {
                if *container_made {
                    match directory.delete_gpo(id).await {
                        Ok(_) | Err(DirectoryError::NoSuchObject { .. }) => {}
                        Err(e) => problems.push(format!("deleting it again ({e})")),
                    }
                }
                if self.sysvol_written {
                    let result = match orphan_folder {
                        Some(folder) => sysvol.replace_gpo_folder(id, folder, None).await.map(|_| ()),
                        None => sysvol.delete_tree(&PolicyPath::gpo(id)).await,
                    };
                    if let Err(e) = result {
                        problems.push(format!("its SYSVOL folder ({e})"));
                    }
                }
            }
        }
        if problems.is_empty() {
            return Rollback::PutBack;
        }
        let mut state = format!("not put back: {}", problems.join("; "));
        if let (Some(safety), Some(store)) = (safety, cx.store) {
            state.push_str(&format!(
                ". The safety backup {safety} in {} holds the GPO as it was: restore it from there",
                store.root().display()
            ));
        }
        Rollback::NotPutBack(state)
    }
}

pub(super) async fn restore_one(cx: &Context<'_>, plan: &GpoRestorePlan) -> Result<Restored, RestoreItemError> {
    let mut record = None;
    let result = match plan.kind {
        RestoreKind::PreviousVersion => restore_existing(cx, plan, &mut record).await,
        RestoreKind::Reanimate(_) | RestoreKind::Recreate => restore_deleted(cx, plan, &mut record).await,
    };
    // A GPO left half-changed keeps its record: `recover` puts it right from there.
    let settled = !matches!(&result, Err(RestoreItemError::Failed { rollback: Rollback::NotPutBack(_), .. }));
    if let (Some(record), Some(store)) = (record.filter(|_| settled), cx.store) {
        let store = store.clone();
        // The GPO is settled either way; a record that stays only makes `recover` look again.
        let _ = tokio::task::spawn_blocking(move || store.end_change(record)).await;
    }
    result
}

/// Records in the backup folder, durably, that the GPO is about to change: a run killed from
/// here on leaves what `recover` needs to put it right.
async fn begin_change(
    cx: &Context<'_>,
    plan: &GpoRestorePlan,
    safety: Option<&str>,
    record: &mut Option<ChangeRecord>,
) -> Result<(), RestoreItemError> {
    let source = plan.source();
    let entry = JournalEntry {
        gpo: source.gpo.id.to_string(),
        gpo_name: source.gpo.display_name.clone(),
        domain: cx.session.domain.dns_name.clone(),
        operation: plan.verb.as_ref().map_or("restore", |(verb, _)| verb.as_str()).to_string(),
        from_backup: plan.backup_id.clone(),
        safety_backup: safety.map(str::to_string),
        new_gpo: plan.new_gpo,
        wmi_filter_made: match plan.new_gpo {
            true => {
                match super::changes::wmi_filter_action(source, &cx.estate.wmi_filters, cx.options.recreate_wmi_filters)
                {
                    WmiFilterAction::Recreate { filter } => Some(filter.id),
                    _ => None,
                }
            }
            false => None,
        },
        started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let Some(store) = cx.store.cloned() else { return Ok(()) };
    let written = tokio::task::spawn_blocking(move || store.begin_change(&entry))
        .await
        .map_err(|e| StepError::Other(e.to_string()))
        .and_then(|r| r.map_err(|e| StepError::Other(crate::error::one_line(&e))));
    match written {
        Ok(written) => {
            *record = Some(written);
            Ok(())
        }
        Err(e) => Err(failed(RestoreStep::Journal, e, Rollback::NothingChanged, safety)),
    }
}

fn failed(step: RestoreStep, source: StepError, rollback: Rollback, safety: Option<&str>) -> RestoreItemError {
    RestoreItemError::Failed { step, source, rollback, safety_backup: safety.map(str::to_string) }
}

async fn restore_existing(
    cx: &Context<'_>,
    plan: &GpoRestorePlan,
    record: &mut Option<ChangeRecord>,
) -> Result<Restored, RestoreItemError> {
    let source = plan.source();
    let id = source.gpo.id;
    let sysvol = &cx.session.sysvol;
    let Some(current) = cx.estate.gpos.iter().find(|g| g.id == id).cloned() else {
        return Err(RestoreItemError::ChangedSincePlan("it was deleted".into()));
    };
    let Some(current_sd) = current.security_descriptor.clone() else {
        let why = StepError::Other(
            "its security descriptor could not be read, and it is needed to put the GPO back on failure".into(),
        );
        return Err(failed(RestoreStep::ReadingCurrentState, why, Rollback::NothingChanged, None));
    };
    // A GPO whose folder is gone is what a restore is for: it is backed up and put back
    // without one.
    // With each item's NT ACL where the SYSVOL reads it along (one request per item, not two):
    // an unchanged folder has only its ACLs compared and set.
    let read = match sysvol.read_gpo_folder_with_security(&id, &current.file_sys_path).await {
        // Rights to read the content but not the ACLs: read it alone, and the ACLs only if needed.
        Err(SysvolError::AccessDenied { .. }) => {
            sysvol.read_gpo_folder(&id, &current.file_sys_path).await.map(|folder| (folder, None))
        }
        read => read,
    };
    let (folder, folder_missing, acls) = match read {
        Ok((folder, acls)) => (folder, false, acls),
        Err(SysvolError::GpoFolderMissing { .. }) => (GpoFolder::default(), true, None),
        Err(e) => return Err(failed(RestoreStep::ReadingCurrentState, e.into(), Rollback::NothingChanged, None)),
    };
    let children = cx.children.get(&id).cloned().unwrap_or_default();
    let Some(store) = cx.store else {
        let why = StepError::Other("no backup folder was opened for its safety backup (a bug in gpvault)".into());
        return Err(failed(RestoreStep::ReadingCurrentState, why, Rollback::NothingChanged, None));
    };
    let safety = write_backup_of(
        cx.session,
        store,
        cx.estate,
        cx.children,
        cx.resolver,
        &current,
        &folder,
        &plan.safety_comment,
    )
    .await
    .map_err(RestoreItemError::SafetyBackup)?
    .backup_id;
    begin_change(cx, plan, Some(&safety), record).await?;

    let current_versions: Vec<Version> = std::iter::once(current.version)
        .chain(folder.file(crate::formats::gpt_ini::FILE_NAME).and_then(gpt_ini_version))
        .collect();
    let backed_up: Vec<Version> = std::iter::once(source.gpo.version).chain(source.sysvol_version).collect();
    let version = next_version(&current_versions, &backed_up);
    let content = restored_content(source, version);
    let expected_sd = match cx.options.keep_dacl {
        true => current_sd.clone(),
        false => with_dacl_of(&current_sd, &source.security_descriptor),
    };

    let mut undo = Undo::new(Before::Existing {
        gpo: Box::new(current.clone()),
        sd: Box::new(current_sd),
        folder: (!folder_missing).then(|| folder.clone()),
        children: children.clone(),
    });
    if !folder_missing && same_content_but_gpt_ini(&folder, &content) {
        // Only GPT.INI's version changes: one file written, and the NT ACLs that differ set.
        let file_sd = file_security_from_gpo(&id, &expected_sd)
            .map_err(|e| failed(RestoreStep::WritingSysvol, e.into(), Rollback::NothingChanged, Some(&safety)))?;
        let in_place = undo.sysvol_in_place.insert(InPlace::default());
        let update = update_in_place(sysvol.as_ref(), &id, (&folder, acls.as_ref()), &content, &file_sd, in_place);
        if let Err(e) = update.await {
            let rollback = undo.run(cx, &id, Some(&safety)).await;
            return Err(failed(RestoreStep::WritingSysvol, e.into(), rollback, Some(&safety)));
        }
    } else if let Err(e) = sysvol.replace_gpo_folder(&id, &content, Some(&expected_sd)).await {
        // The replacement is all or nothing: the old folder is in place unless its error says
        // putting it back failed too.
        let rollback = match sysvol.entry_kind(&PolicyPath::gpo(&id)).await {
            Ok(Some(EntryKind::Folder)) if !folder_missing => Rollback::NothingChanged,
            Ok(None) if folder_missing => Rollback::NothingChanged,
            _ => Rollback::NotPutBack(format!(
                "its SYSVOL folder is not in place (see above); the safety backup {safety} in {} holds it",
                store.root().display()
            )),
        };
        return Err(failed(RestoreStep::WritingSysvol, e.into(), rollback, Some(&safety)));
    } else {
        undo.sysvol_written = true;
    }

    let result = async {
        let done = write_directory(cx, plan, Some(&current), version, &children, &mut undo).await?;
        // Samba and Windows give a new DACL their own canonical form: derive the folder's NT ACL
        // from what the directory holds now, as `samba-tool ntacl sysvolreset` would.
        let written = match undo.dacl_written {
            true => cx.session.directory.read_gpo(&id).await.map_err(at(RestoreStep::SettingNtAcls))?,
            false => None,
        };
        if let Some(actual) = written.and_then(|g| g.security_descriptor) {
            let set = file_security_from_gpo(&id, &expected_sd).map_err(at(RestoreStep::SettingNtAcls))?;
            let wanted = file_security_from_gpo(&id, &actual).map_err(at(RestoreStep::SettingNtAcls))?;
            if wanted.to_sddl(None) != set.to_sddl(None) {
                cx.session.sysvol.set_gpo_security(&id, &actual).await.map_err(at(RestoreStep::SettingNtAcls))?;
            }
        }
        Ok::<_, (RestoreStep, StepError)>(done)
    }
    .await;
    match result {
        Ok(done) => Ok(Restored {
            backup_id: plan.backup_id.clone(),
            kind: plan.kind.clone(),
            safety_backup: Some(safety),
            version,
            links_set: done.links_set,
            links_skipped: done.links_skipped,
            wmi_note: done.wmi_note,
            how: plan.verb.as_ref().map(|(_, done)| done.clone()),
        }),
        Err((step, error)) => {
            let rollback = undo.run(cx, &id, Some(&safety)).await;
            Err(failed(step, error, rollback, Some(&safety)))
        }
    }
}

async fn restore_deleted(
    cx: &Context<'_>,
    plan: &GpoRestorePlan,
    record: &mut Option<ChangeRecord>,
) -> Result<Restored, RestoreItemError> {
    let source = plan.source();
    let id = source.gpo.id;
    let directory = &cx.session.directory;
    let sysvol = &cx.session.sysvol;
    let domain = &cx.session.domain;
    if cx.estate.gpos.iter().any(|g| g.id == id) {
        return Err(RestoreItemError::ChangedSincePlan("a GPO with its GUID exists again".into()));
    }
    let file_sys_path = gpo_file_sys_path(&domain.dns_name, &id);
    // A folder left behind when the GPO was deleted is kept, to put it back on failure.
    let orphan_folder = match sysvol.entry_kind(&PolicyPath::gpo(&id)).await {
        Ok(Some(EntryKind::Folder)) => Some(
            sysvol
                .read_gpo_folder(&id, &file_sys_path)
                .await
                .map_err(|e| failed(RestoreStep::ReadingCurrentState, e.into(), Rollback::NothingChanged, None))?,
        ),
        Ok(_) => None,
        Err(e) => return Err(failed(RestoreStep::ReadingCurrentState, e.into(), Rollback::NothingChanged, None)),
    };
    let backed_up: Vec<Version> = std::iter::once(source.gpo.version).chain(source.sysvol_version).collect();
    let version = next_version(&[], &backed_up);
    let mut undo = Undo::new(Before::Deleted { container_made: false, orphan_folder });
    begin_change(cx, plan, None, record).await?;

    let made = match &plan.kind {
        RestoreKind::Reanimate(deleted) => {
            directory.reanimate_gpo(deleted).await.map(|_| ()).map_err(|e| (RestoreStep::Reanimating, e))
        }
        _ => {
            let attributes = GpoAttributes {
                file_sys_path: Some(file_sys_path.clone()),
                version,
                wmi_filter_link: None,
                ..GpoAttributes::of(&source.gpo)
            };
            directory.create_gpo(&id, &attributes).await.map(|_| ()).map_err(|e| (RestoreStep::Creating, e))
        }
    };
    if let Err((step, e)) = made {
        if matches!(e, DirectoryError::AlreadyExists { .. }) {
            return Err(RestoreItemError::ChangedSincePlan(format!("{step}: {e}")));
        }
        // A reanimation or creation can fail after the container itself came back.
        if let Before::Deleted { container_made, .. } = &mut undo.before {
            *container_made = true;
        }
        let rollback = undo.run(cx, &id, None).await;
        return Err(failed(step, e.into(), rollback, None));
    }
    if let Before::Deleted { container_made, .. } = &mut undo.before {
        *container_made = true;
    }

    let result = async {
        let done = write_directory(cx, plan, None, version, &[], &mut undo).await?;
        let written = directory.read_gpo(&id).await.map_err(at(RestoreStep::SettingNtAcls))?;
        let sd = written.and_then(|g| g.security_descriptor).ok_or_else(|| {
            (RestoreStep::SettingNtAcls, StepError::Other("its security descriptor cannot be read back".into()))
        })?;
        undo.sysvol_written = true;
        let content = restored_content(source, version);
        sysvol.replace_gpo_folder(&id, &content, Some(&sd)).await.map_err(at(RestoreStep::WritingSysvol))?;
        Ok::<_, (RestoreStep, StepError)>(done)
    }
    .await;
    match result {
        Ok(done) => Ok(Restored {
            backup_id: plan.backup_id.clone(),
            kind: plan.kind.clone(),
            safety_backup: None,
            version,
            links_set: done.links_set,
            links_skipped: done.links_skipped,
            wmi_note: done.wmi_note,
            how: plan.verb.as_ref().map(|(_, done)| done.clone()),
        }),
        Err((step, error)) => {
            let rollback = undo.run(cx, &id, None).await;
            Err(failed(step, error, rollback, None))
        }
    }
}

/// What the directory half of a restore did.
struct DirectoryDone {
    links_set: usize,
    links_skipped: Vec<String>,
    wmi_note: Option<String>,
}

/// WMI filter, attributes and version, DACL, class store and links of a GPO whose container
/// exists. `current` is the GPO as it was (what does not change is not written); `None` for a
/// reanimated or re-created GPO, whose every attribute is written, file system path included.
async fn write_directory(
    cx: &Context<'_>,
    plan: &GpoRestorePlan,
    current: Option<&Gpo>,
    version: Version,
    current_children: &[DirectoryObject],
    undo: &mut Undo,
) -> StepResult<DirectoryDone> {
    let source = plan.source();
    let id = source.gpo.id;
    let directory = &cx.session.directory;
    let domain = &cx.session.domain;
    let gpo_dn = match current {
        Some(g) => g.dn.clone(),
        None => format!("CN={id},CN=Policies,CN=System,{}", domain.dn),
    };
    let gpo_dn = gpo_dn.as_str();

    // The filters as they are now, not as planned; an import leaves the link alone.
    let wmi = match (cx.options.settings_only, current) {
        (true, Some(_)) => WmiFilterAction::NoFilter,
        _ => super::changes::wmi_filter_action(source, &cx.estate.wmi_filters, cx.options.recreate_wmi_filters),
    };
    let mut wmi_note = None;
    match &wmi {
        WmiFilterAction::Recreate { filter } => {
            directory.create_wmi_filter(filter).await.map_err(at(RestoreStep::RecreatingWmiFilter))?;
            wmi_note = Some(format!("WMI filter '{}' re-created from the backup", filter.name));
        }
        WmiFilterAction::Missing { id: filter, can_recreate, .. } => {
            let mut note = format!("WMI filter {filter} no longer exists: not linked");
            if *can_recreate {
                note.push_str("; it can be re-created from the backup");
            }
            wmi_note = Some(note);
        }
        WmiFilterAction::NoFilter | WmiFilterAction::Link { .. } => {}
    }
    let wmi_link = wmi.link_value(&source.gpo, &domain.dns_name);
    // Each write is a directory transaction: values that stay as they are are not written.
    let differs = |same: &dyn Fn(&Gpo) -> bool| current.is_none_or(|g| !same(g));
    // Name, status and WMI filter link: not the settings an import writes.
    let identity = |same: &dyn Fn(&Gpo) -> bool| !(cx.options.settings_only && current.is_some()) && differs(same);
    let backed_up = &source.gpo;
    let changes = GpoChanges {
        display_name: identity(&|g| g.display_name == backed_up.display_name).then(|| backed_up.display_name.clone()),
        flags: identity(&|g| g.flags == backed_up.flags).then_some(backed_up.flags),
        version: Some(version),
        machine_extensions: differs(&|g| g.machine_extensions.raw == backed_up.machine_extensions.raw)
            .then(|| backed_up.machine_extensions.clone()),
        user_extensions: differs(&|g| g.user_extensions.raw == backed_up.user_extensions.raw)
            .then(|| backed_up.user_extensions.clone()),
        wmi_filter: identity(&|g| g.wmi_filter_link == wmi_link).then(|| match &wmi_link {
            Some(link) => WmiFilterChange::Set(link.clone()),
            None => WmiFilterChange::Remove,
        }),
        functionality_version: backed_up
            .functionality_version
            .filter(|v| current.is_none_or(|g| g.functionality_version != Some(*v))),
        file_sys_path: current.is_none().then(|| gpo_file_sys_path(&domain.dns_name, &id)),
    };
    undo.attributes_written = true;
    directory.modify_gpo(&id, &changes).await.map_err(at(RestoreStep::WritingAttributes))?;
    let unchanged_dacl = cx.options.keep_dacl
        || current
            .and_then(|g| g.security_descriptor.as_ref())
            .is_some_and(|now| same_dacl(now, &source.security_descriptor));
    if !unchanged_dacl {
        undo.dacl_written = true;
        directory.set_gpo_dacl(&id, &source.security_descriptor).await.map_err(at(RestoreStep::WritingDacl))?;
    }

    // Class store: what the backup holds replaces what is there. GPMC's backups hold only the
    // class stores, so other objects below the GPO stay.
    let restored = source.class_store.objects_for(gpo_dn);
    let whole = matches!(source.class_store, ClassStoreSource::Directory { .. });
    let doomed: Vec<String> =
        top_objects(current_children.iter(), gpo_dn).into_iter().filter(|dn| whole || is_class_store_top(dn)).collect();
    if !doomed.is_empty() || !restored.is_empty() {
        undo.class_store_touched = true;
        undo.class_store_tops = top_objects(restored.iter(), gpo_dn);
        if !doomed.is_empty() {
            directory.delete_gpo_objects(&doomed).await.map_err(at(RestoreStep::ReplacingClassStore))?;
        }
        if !restored.is_empty() {
            directory.add_gpo_objects(&restored).await.map_err(at(RestoreStep::ReplacingClassStore))?;
        }
    }

    let mut done = DirectoryDone { links_set: 0, links_skipped: Vec::new(), wmi_note };
    if cx.options.links {
        for action in &plan.changes.links {
            let link = match action {
                LinkAction::Set(l) | LinkAction::Unchanged(l) => l,
                LinkAction::ContainerGone(l) => {
                    done.links_skipped.push(l.container_dn.clone());
                    continue;
                }
                LinkAction::Existed(_) => continue,
            };
            match set_recorded_link(cx, &id, link, undo).await.map_err(at(RestoreStep::Linking))? {
                LinkOutcome::Set => done.links_set += 1,
                LinkOutcome::Unchanged => {}
                LinkOutcome::ContainerGone => done.links_skipped.push(link.container_dn.clone()),
            }
        }
    }
    Ok(done)
}

enum LinkOutcome {
    Set,
    Unchanged,
    ContainerGone,
}

/// Links `id` in the recorded container at its recorded place; retries when someone else (or
/// another GPO of the same run) changed the container's gPLink in between.
async fn set_recorded_link(
    cx: &Context<'_>,
    id: &GpoId,
    link: &RecordedLink,
    undo: &mut Undo,
) -> Result<LinkOutcome, DirectoryError> {
    const ATTEMPTS: usize = 5;
    let directory = &cx.session.directory;
    let recorded = cx.recorded_links.get(&link.container_dn.to_lowercase()).cloned().unwrap_or_default();
    for attempt in 1..=ATTEMPTS {
        let before = match directory.read_links(&link.container_dn).await {
            Ok(before) => before,
            Err(DirectoryError::NoSuchObject { .. }) => return Ok(LinkOutcome::ContainerGone),
            Err(e) => return Err(e),
        };
        let prior = before.links.iter().find(|l| &l.gpo_id == id).cloned();
        let current: Vec<(GpoId, usize)> = before.links.iter().map(|l| (l.gpo_id, l.order)).collect();
        let order = link.order.map(|own| link_order(id, own, &current, &recorded));
        let already = prior.as_ref().is_some_and(|p| {
            p.enabled == link.enabled && p.enforced == link.enforced && order.is_none_or(|o| o == p.order)
        });
        if already {
            return Ok(LinkOutcome::Unchanged);
        }
        let placement = LinkPlacement { order, enabled: link.enabled, enforced: link.enforced };
        match directory.set_link(&before.dn, id, placement).await {
            Ok(_) => {
                undo.links.push((before.dn.clone(), prior));
                return Ok(LinkOutcome::Set);
            }
            Err(DirectoryError::Conflict { .. }) if attempt < ATTEMPTS => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("the last attempt returns")
}

/// The DACL and its inheritance flags are the same: writing `restored` would change nothing.
fn same_dacl(current: &SecurityDescriptor, restored: &SecurityDescriptor) -> bool {
    let flags = control::DACL_PRESENT | control::DACL_PROTECTED | control::DACL_AUTO_INHERITED;
    current.dacl == restored.dacl && current.control & flags == restored.control & flags
}

/// The folder holds exactly the restored content, GPT.INI aside (names compared exactly).
fn same_content_but_gpt_ini(current: &GpoFolder, restored: &GpoFolder) -> bool {
    let is_gpt_ini = |e: &FolderEntry| e.rel_path().eq_ignore_ascii_case(crate::formats::gpt_ini::FILE_NAME);
    let gpt_path = |f: &GpoFolder| f.entries.iter().find(|e| is_gpt_ini(e)).map(|e| e.rel_path().to_string());
    let rest = |f: &GpoFolder| {
        let mut entries: Vec<FolderEntry> = f.entries.iter().filter(|e| !is_gpt_ini(e)).cloned().collect();
        entries.sort_by(|a, b| a.rel_path().cmp(b.rel_path()));
        entries
    };
    gpt_path(current).is_some() && gpt_path(current) == gpt_path(restored) && rest(current) == rest(restored)
}

/// What an in-place update changed, to put it back.
#[derive(Default)]
struct InPlace {
    gpt_ini: Option<(PolicyPath, Vec<u8>)>,
    acls: Vec<(PolicyPath, SecurityDescriptor)>,
}

impl InPlace {
    async fn put_back(&self, sysvol: &dyn Sysvol) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some((path, bytes)) = &self.gpt_ini
            && let Err(e) = sysvol.write_file(path, bytes).await
        {
            problems.push(format!("{path} ({e})"));
        }
        for (path, sd) in self.acls.iter().rev() {
            if let Err(e) = sysvol.set_security(path, sd).await {
                problems.push(format!("the NT ACL of {path} ({e})"));
            }
        }
        problems
    }
}

/// Writes the new GPT.INI over the old one and gives every item of the folder `file_sd` where
/// its NT ACL differs, recording in `undo` what it changed as it goes. The ACLs read with the
/// folder are used where there are; the others are read one by one.
async fn update_in_place(
    sysvol: &dyn Sysvol,
    id: &GpoId,
    (current, acls): (&GpoFolder, Option<&FolderSecurity>),
    restored: &GpoFolder,
    file_sd: &SecurityDescriptor,
    undo: &mut InPlace,
) -> Result<(), SysvolError> {
    let root = PolicyPath::gpo(id);
    let is_gpt_ini = |p: &str| p.eq_ignore_ascii_case(crate::formats::gpt_ini::FILE_NAME);
    if let (Some((path, old)), Some((_, new))) =
        (current.files().find(|(p, _)| is_gpt_ini(p)), restored.files().find(|(p, _)| is_gpt_ini(p)))
    {
        let path = root.join(path)?;
        undo.gpt_ini = Some((path.clone(), old.to_vec()));
        sysvol.write_file(&path, new).await?;
    }
    let wanted = file_sd.to_sddl(None);
    let items = std::iter::once("").chain(current.entries.iter().map(FolderEntry::rel_path));
    for rel in items {
        let item = if rel.is_empty() { root.clone() } else { root.join(rel)? };
        let now = match acls.and_then(|known| known.get(rel)) {
            Some(known) => known.clone(),
            None => sysvol.read_security(&item).await?,
        };
        if now.to_sddl(None) != wanted {
            sysvol.set_security(&item, file_sd).await?;
            undo.acls.push((item, now));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AttributeValue;

    fn object(dn: &str) -> DirectoryObject {
        DirectoryObject {
            dn: dn.into(),
            attributes: BTreeMap::from([("objectClass".to_string(), vec![AttributeValue::Text("classStore".into())])]),
        }
    }

    #[test]
    fn top_objects_are_the_ones_right_below_a_half() {
        let gpo = "CN={31B2F340-016D-11D2-945F-00C04FB984F9},CN=Policies,CN=System,DC=corp,DC=example,DC=test";
        let objects = [
            object(&format!("CN=Class Store,CN=Machine,{gpo}")),
            object(&format!("CN=Packages,CN=Class Store,CN=Machine,{gpo}")),
            object(&format!("cn=class store,cn=user,{}", gpo.to_lowercase())),
            object(&format!("CN=Odd\\, name,CN=User,{gpo}")),
            object(&format!("CN=Machine,{gpo}")),
        ];
        let tops = top_objects(objects.iter(), gpo);
        assert_eq!(tops.len(), 3, "{tops:?}");
        assert!(tops.iter().all(|t| !t.contains("Packages")));
        assert_eq!(tops.iter().filter(|t| is_class_store_top(t)).count(), 2);
    }
}
