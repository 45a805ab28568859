//! Carries out effects: every network or disk operation runs as a task on the tokio runtime and
//! reports back over the UI's channel. The UI thread only spawns and receives.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;

use gpvault::config::{Password, PasswordLookup, UiMemory};
use gpvault::error::one_line;
use gpvault::migrate::populate::{PopulateOptions, Populated};
use gpvault::migrate::table::MigrationTable;
use gpvault::ops::RunSummary;
use gpvault::ops::backup::{self, BackupError, BackupPlan};
use gpvault::ops::catalog::{self, ListFilter};
use gpvault::ops::check::{self, CheckOptions};
use gpvault::ops::copy::{self, CopyError, CopyOptions, CopyPlan};
use gpvault::ops::delete::{self, DeletePlan};
use gpvault::ops::import::{self, ImportError, ImportOptions, ImportPlan};
use gpvault::ops::inspect::read_gpo_details;
use gpvault::ops::migtable::{self, MigtableError};
use gpvault::ops::recover::{self, AfterRecovery, FirstError, RecoverPlan};
use gpvault::ops::restore::{self, RestoreError, RestoreOptions, RestorePlan, RestoreSelection};
use gpvault::ops::search::{self, Query, SearchKind};
use gpvault::ops::{
    DomainSession, NoProgress, Plan, PlanDescription, Progress, ProgressEvent, RunOptions, SysvolSource, prune,
};
use tokio::runtime::Handle;

use super::action::{
    ConnectionInfo, Effect, JobEvent, ListedBackups, PlanAsk, PlanId, PopulateFrom, PopulatedRows, TableChoice,
    VerifiedBackups,
};
use super::keymap::key_for;
use super::panes::details::GpoExtras;
use crate::front::error_line;
use crate::tui::action::Action;

/// What arrives on the UI thread's one channel.
pub enum Incoming {
    Terminal(crossterm::event::Event),
    Job(JobEvent),
    /// A session opened: kept here, next to the runtime, never in the UI state.
    Session {
        domain: usize,
        attempt: u64,
        session: Arc<DomainSession>,
    },
    /// A plan is made: the typed plan stays here, its description goes on to the UI.
    Plan {
        id: PlanId,
        plan: ReadyPlan,
        description: PlanDescription,
    },
}

/// A typed plan waiting for the admin's yes, with the session that made it (and will run it).
pub enum ReadyPlan {
    Backup {
        session: Arc<DomainSession>,
        plan: Box<BackupPlan>,
    },
    /// Instances of a backup folder to remove (a delete or a prune): no session needed.
    Delete(Box<DeletePlan>),
    /// Restore and import put right what killed runs left in their folder first.
    Restore {
        session: Arc<DomainSession>,
        plan: Box<AfterRecovery<RestorePlan>>,
    },
    /// Run with the target domain's session.
    Copy {
        target: Arc<DomainSession>,
        plan: Box<CopyPlan>,
    },
    Import {
        session: Arc<DomainSession>,
        plan: Box<AfterRecovery<ImportPlan>>,
    },
}

pub struct Jobs {
    runtime: Handle,
    tx: Sender<Incoming>,
    sessions: HashMap<usize, (u64, Arc<DomainSession>)>,
    plans: HashMap<PlanId, ReadyPlan>,
    memory_path: Option<PathBuf>,
}

/// A run that could not start, in one line, with what to change in the profile when the core
/// knows (a directory that refused the connection, say).
fn backup_error_line(e: &BackupError) -> String {
    let fix = match e {
        BackupError::Directory(d) => d.fix(),
        _ => None,
    };
    error_line(e, fix)
}

/// A restore that could not start, in one line, with what to change when the core knows.
fn restore_error_line(e: &RestoreError) -> String {
    let fix = match e {
        RestoreError::Directory(d) => d.fix(),
        _ => None,
    };
    error_line(e, fix)
}

/// A populate that failed, with what to change when the core knows.
fn migtable_error_line(e: &MigtableError) -> String {
    let fix = match e {
        MigtableError::Directory(d) => d.fix(),
        _ => None,
    };
    error_line(e, fix)
}

/// A copy that could not be planned or run, with what to change when the core knows.
fn copy_error_line(e: &CopyError) -> String {
    let fix = match e {
        CopyError::Directory(d) | CopyError::Restore(RestoreError::Directory(d)) => d.fix(),
        _ => None,
    };
    error_line(e, fix)
}

/// An import that could not be planned or run, with what to change when the core knows.
/// Puts right what killed runs left in a restore's or an import's folder, before it runs: the
/// plan is then made again from the GPOs as they now are. `None`: nothing waited.
async fn recover_first(
    session: &DomainSession,
    recovery: Option<RecoverPlan>,
    options: &RunOptions,
    progress: &Arc<dyn Progress>,
    what: &str,
) -> Result<Option<RunSummary>, String> {
    let Some(recovery) = recovery else { return Ok(None) };
    match recover::execute_first(session, recovery, options, Arc::clone(progress)).await {
        Ok(report) => Ok(Some(report.summary())),
        Err(e) => Err(first_error_line(&e, what)),
    }
}

/// Why a run stopped before its own work, while putting right what killed runs left.
fn first_error_line(e: &FirstError, what: &str) -> String {
    match e {
        FirstError::Restore(e) => restore_error_line(e),
        FirstError::NotPutRight { gpo, reason } => {
            format!(
                "an earlier run left {gpo} half changed and putting it right failed, so nothing was {what}: {reason}"
            )
        }
        FirstError::Cancelled => {
            format!("cancelled while putting right what interrupted runs left; nothing was {what}")
        }
    }
}

fn import_error_line(e: &ImportError) -> String {
    let fix = match e {
        ImportError::Directory(d) | ImportError::Restore(RestoreError::Directory(d)) => d.fix(),
        _ => None,
    };
    error_line(e, fix)
}

/// The table a copy or an import maps through: the editor's rows as they are, or a file read now.
fn chosen_table(choice: TableChoice) -> Result<Option<MigrationTable>, String> {
    match choice {
        TableChoice::None => Ok(None),
        TableChoice::Editor { table, .. } => Ok(Some(table)),
        TableChoice::File(path) => migtable::open(&path).map(Some).map_err(|e| one_line(&e)),
    }
}

/// What a job says when the domain it needs has no session.
fn not_connected() -> String {
    format!("not connected ({} reconnects)", key_for(Action::Refresh))
}

impl Jobs {
    pub fn new(runtime: Handle, tx: Sender<Incoming>, memory_path: Option<PathBuf>) -> Self {
        Jobs { runtime, tx, sessions: HashMap::new(), plans: HashMap::new(), memory_path }
    }

    pub fn keep_plan(&mut self, id: PlanId, plan: ReadyPlan) {
        self.plans.insert(id, plan);
    }

    pub fn keep_session(&mut self, domain: usize, attempt: u64, session: Arc<DomainSession>) {
        let newer = self.sessions.get(&domain).is_none_or(|(known, _)| *known <= attempt);
        if newer {
            self.sessions.insert(domain, (attempt, session));
        }
    }

    /// Starts the effect's work; returns false for `Quit`.
    pub fn run(&mut self, effect: Effect) -> bool {
        match effect {
            Effect::Quit => return false,
            Effect::Connect { domain, attempt, target, password } => {
                let tx = self.tx.clone();
                self.spawn_reporting(
                    move |message| JobEvent::Connected { domain, attempt, result: Err(message) },
                    async move {
                        let password = match (password, target.password_lookup()) {
                            (Some(secret), _) => secret.0,
                            (None, PasswordLookup::Found(password)) => password,
                            (None, PasswordLookup::Kerberos) => Password::default(),
                            (None, PasswordLookup::Ask) => {
                                let e = target.missing_password_error();
                                let result = Err(error_line(&e, e.fix()));
                                let _ = tx.send(Incoming::Job(JobEvent::Connected { domain, attempt, result }));
                                return;
                            }
                        };
                        let result = async {
                            let session =
                                DomainSession::open(&target, password).await.map_err(|e| error_line(&e, e.fix()))?;
                            let estate = session.directory.read_estate().await.map_err(|e| one_line(&e))?;
                            Ok::<_, String>((session, estate))
                        }
                        .await;
                        let result = match result {
                            Ok((session, estate)) => {
                                let info = ConnectionInfo {
                                    ldap: session.directory.describe(),
                                    sysvol: match &session.sysvol_source {
                                        SysvolSource::Smb { .. } => session.sysvol.describe(),
                                        SysvolSource::Path(path) => path.display().to_string(),
                                    },
                                };
                                let session = Arc::new(session);
                                let _ = tx.send(Incoming::Session { domain, attempt, session });
                                Ok((Box::new(estate), info))
                            }
                            Err(e) => Err(e),
                        };
                        let _ = tx.send(Incoming::Job(JobEvent::Connected { domain, attempt, result }));
                    },
                );
            }
            Effect::LoadDetails { domain, gpo, estate } => {
                let Some((_, session)) = self.sessions.get(&domain).cloned() else {
                    let result = Err(not_connected());
                    let _ = self.tx.send(Incoming::Job(JobEvent::Details { domain, gpo, result }));
                    return true;
                };
                let tx = self.tx.clone();
                self.spawn_reporting(
                    move |message| JobEvent::Details { domain, gpo, result: Err(message) },
                    async move {
                        let result = read_gpo_details(&session, &estate, &gpo.to_string())
                            .await
                            .map(|details| Box::new(GpoExtras::from_details(&details)));
                        let _ = tx.send(Incoming::Job(JobEvent::Details { domain, gpo, result }));
                    },
                );
            }
            Effect::PlanBackup { plan: id, domain, selection, dir, comment } => {
                let Some((_, session)) = self.sessions.get(&domain).cloned() else {
                    let _ = self.tx.send(Incoming::Job(JobEvent::Planned { plan: id, result: Err(not_connected()) }));
                    return true;
                };
                let tx = self.tx.clone();
                self.spawn_reporting(move |message| JobEvent::Planned { plan: id, result: Err(message) }, async move {
                    match backup::plan(&session, &selection, dir, comment, &NoProgress).await {
                        Ok(plan) => {
                            let description = plan.describe();
                            let plan = ReadyPlan::Backup { session, plan: Box::new(plan) };
                            let _ = tx.send(Incoming::Plan { id, plan, description });
                        }
                        Err(e) => {
                            let result = Err(backup_error_line(&e));
                            let _ = tx.send(Incoming::Job(JobEvent::Planned { plan: id, result }));
                        }
                    }
                });
            }
            Effect::PlanFor { plan: id, ask } => self.plan_for(id, ask),
            Effect::ListBackups { request, dir, latest, deleted_from } => {
                self.spawn_blocking_job(
                    move |message| JobEvent::BackupsListed { request, result: Err(message) },
                    move || {
                        let filter = ListFilter { latest, ..Default::default() };
                        let result =
                            catalog::list_backups(&dir, &filter).map_err(|e| one_line(&e)).map(|mut catalog| {
                                let other_domains = deleted_from.map_or(0, |estate| catalog.keep_deleted(&estate));
                                let mut notes = catalog.notes();
                                notes.extend(
                                    catalog.findings.iter().map(|f| format!("{}: {}", f.path.display(), f.problem)),
                                );
                                Box::new(ListedBackups { rows: catalog.rows, notes, other_domains })
                            });
                        JobEvent::BackupsListed { request, result }
                    },
                );
            }
            Effect::ShowBackup { dir, backup_id } => {
                let (on_dir, on_id) = (dir.clone(), backup_id.clone());
                self.spawn_blocking_job(
                    move |message| JobEvent::BackupShown { dir: on_dir, backup_id: on_id, result: Err(message) },
                    move || {
                        let result =
                            catalog::show_backup(&dir, &backup_id, 0).map(|d| d.sections()).map_err(|e| one_line(&e));
                        JobEvent::BackupShown { dir, backup_id, result }
                    },
                );
            }
            Effect::DiffBackups { dir, old, new } => {
                let (on_dir, on_old, on_new) = (dir.clone(), old.clone(), new.clone());
                self.spawn_blocking_job(
                    move |message| JobEvent::BackupsDiffed {
                        dir: on_dir,
                        old: on_old,
                        new: on_new,
                        result: Err(message),
                    },
                    move || {
                        let result = catalog::diff_backups(&dir, &old, &new, 0)
                            .map(|diff| diff.text_lines())
                            .map_err(|e| one_line(&e));
                        JobEvent::BackupsDiffed { dir, old, new, result }
                    },
                );
            }
            Effect::VerifyBackups { dir } => {
                let on_dir = dir.clone();
                self.spawn_blocking_job(
                    move |message| JobEvent::BackupsVerified { dir: on_dir, result: Err(message) },
                    move || {
                        let result = catalog::verify_backups(&dir, &ListFilter::default())
                            .map(|report| VerifiedBackups { lines: report.lines(), clean: report.is_clean() })
                            .map_err(|e| one_line(&e));
                        JobEvent::BackupsVerified { dir, result }
                    },
                );
            }
            Effect::ExecutePlan { plan: id, options } => {
                let Some(ready) = self.plans.remove(&id) else {
                    let result = Err("the plan was lost; start again".to_string());
                    let _ = self.tx.send(Incoming::Job(JobEvent::RunDone(result)));
                    return true;
                };
                let (tx, runtime) = (self.tx.clone(), self.runtime.clone());
                let events = self.tx.clone();
                let progress: Arc<dyn Progress> = Arc::new(move |event: ProgressEvent| {
                    let _ = events.send(Incoming::Job(JobEvent::Run(event)));
                });
                self.spawn_reporting(|message| JobEvent::RunDone(Err(message)), async move {
                    let result = match ready {
                        ReadyPlan::Backup { session, plan } => backup::execute(&session, *plan, &options, progress)
                            .await
                            .map(|report| report.summary())
                            .map_err(|e| backup_error_line(&e)),
                        ReadyPlan::Delete(plan) => delete::execute(*plan, &options, progress)
                            .await
                            .map(|report| report.summary())
                            .map_err(|e| one_line(&e)),
                        ReadyPlan::Restore { session, plan } => {
                            async {
                                let AfterRecovery { recovery, then } = *plan;
                                let first = recover_first(&session, recovery, &options, &progress, "restored").await?;
                                let plan = match first {
                                    Some(_) => then.planned_again(&session, &NoProgress).await,
                                    None => Ok(then),
                                };
                                let plan = plan.map_err(|e| restore_error_line(&e))?;
                                let report = restore::execute(&session, plan, &options, progress).await;
                                let summary = report.map(|r| r.summary()).map_err(|e| restore_error_line(&e))?;
                                Ok(first.unwrap_or_default().followed_by(summary))
                            }
                            .await
                        }
                        ReadyPlan::Copy { target, plan } => copy::execute(&target, *plan, &options, progress)
                            .await
                            .map(|report| report.summary())
                            .map_err(|e| copy_error_line(&e)),
                        ReadyPlan::Import { session, plan } => {
                            // Planning an import again maps principals through a lookup that is
                            // not Sync: on a blocking thread of its own, as its first plan was.
                            let runtime = runtime.clone();
                            let imported = tokio::task::spawn_blocking(move || {
                                runtime.block_on(async {
                                    let AfterRecovery { recovery, then } = *plan;
                                    let first =
                                        recover_first(&session, recovery, &options, &progress, "imported").await?;
                                    let plan = match first {
                                        Some(_) => then.planned_again(&session, &NoProgress).await,
                                        None => Ok(then),
                                    };
                                    let plan = plan.map_err(|e| import_error_line(&e))?;
                                    let report = import::execute(&session, plan, &options, progress).await;
                                    let summary = report.map(|r| r.summary()).map_err(|e| import_error_line(&e))?;
                                    Ok(first.unwrap_or_default().followed_by(summary))
                                })
                            });
                            imported.await.unwrap_or_else(|e| Err(format!("the import stopped: {e}")))
                        }
                    };
                    let _ = tx.send(Incoming::Job(JobEvent::RunDone(result)));
                });
            }
            Effect::DropPlan(id) => {
                self.plans.remove(&id);
            }
            Effect::SaveLastBackupDir(dir) => self.remember(move |memory| memory.last_backup_dir = Some(dir)),
            Effect::SaveLastMigtable(path) => self.remember(move |memory| memory.last_migtable = Some(path)),
            Effect::OpenMigtable { path } => {
                let on_path = path.clone();
                self.spawn_blocking_job(
                    move |message| JobEvent::MigtableOpened { path: on_path, result: Err(message) },
                    move || {
                        let result = migtable::open(&path).map_err(|e| one_line(&e));
                        JobEvent::MigtableOpened { path, result }
                    },
                );
            }
            Effect::SaveMigtable { path, table } => {
                let (on_path, on_rows) = (path.clone(), table.rows().to_vec());
                self.spawn_blocking_job(
                    move |message| JobEvent::MigtableSaved { path: on_path, rows: on_rows, result: Err(message) },
                    move || {
                        let result = migtable::save(&path, &table).map_err(|e| one_line(&e));
                        JobEvent::MigtableSaved { path, rows: table.rows().to_vec(), result }
                    },
                );
            }
            Effect::PopulateMigtable { request, from } => self.populate(request, from),
            Effect::DiffLive { domain, dir, backup_id, name } => {
                let Some((_, session)) = self.sessions.get(&domain).cloned() else {
                    let _ = self.tx.send(Incoming::Job(JobEvent::LiveDiffed { name, result: Err(not_connected()) }));
                    return true;
                };
                let tx = self.tx.clone();
                let on_name = name.clone();
                self.spawn_reporting(
                    move |message| JobEvent::LiveDiffed { name: on_name, result: Err(message) },
                    async move {
                        let result = catalog::diff_live(&session, &dir, &backup_id, 0)
                            .await
                            .map(|diff| diff.text_lines())
                            .map_err(|e| one_line(&e));
                        let _ = tx.send(Incoming::Job(JobEvent::LiveDiffed { name, result }));
                    },
                );
            }
            Effect::CheckDomain { request, domain, backups } => {
                let Some((_, session)) = self.sessions.get(&domain).cloned() else {
                    let event = JobEvent::HealthChecked { request, result: Err(not_connected()) };
                    let _ = self.tx.send(Incoming::Job(event));
                    return true;
                };
                let tx = self.tx.clone();
                self.spawn_reporting(
                    move |message| JobEvent::HealthChecked { request, result: Err(message) },
                    async move {
                        let options = RunOptions::new(check::DEFAULT_PARALLELISM);
                        let check_options = CheckOptions { backups, ..CheckOptions::default() };
                        let result = check::check(&session, check_options, &options, Arc::new(NoProgress))
                            .await
                            .map(Box::new)
                            .map_err(|e| one_line(&e));
                        let _ = tx.send(Incoming::Job(JobEvent::HealthChecked { request, result }));
                    },
                );
            }
            Effect::SearchDomain { request, domain, text } => {
                let Some((_, session)) = self.sessions.get(&domain).cloned() else {
                    let event = JobEvent::SettingsSearched { request, result: Err(not_connected()) };
                    let _ = self.tx.send(Incoming::Job(event));
                    return true;
                };
                let tx = self.tx.clone();
                self.spawn_reporting(
                    move |message| JobEvent::SettingsSearched { request, result: Err(message) },
                    async move {
                        let options = RunOptions::new(check::DEFAULT_PARALLELISM);
                        let result = match Query::new(&text, SearchKind::Any) {
                            Ok(query) => search::search_live(&session, &query, &options, Arc::new(NoProgress))
                                .await
                                .map(Box::new)
                                .map_err(|e| one_line(&e)),
                            Err(e) => Err(one_line(&e)),
                        };
                        let _ = tx.send(Incoming::Job(JobEvent::SettingsSearched { request, result }));
                    },
                );
            }
            Effect::SearchBackups { request, dir, text } => {
                let tx = self.tx.clone();
                self.spawn_reporting(
                    move |message| JobEvent::SettingsSearched { request, result: Err(message) },
                    async move {
                        let result = match Query::new(&text, SearchKind::Any) {
                            Ok(query) => search::search_backups(&dir, &query, check::DEFAULT_PARALLELISM)
                                .await
                                .map(Box::new)
                                .map_err(|e| one_line(&e)),
                            Err(e) => Err(one_line(&e)),
                        };
                        let _ = tx.send(Incoming::Job(JobEvent::SettingsSearched { request, result }));
                    },
                );
            }
            Effect::ValidateMigtable { request, domain, table } => {
                let Some((_, session)) = self.sessions.get(&domain).cloned() else {
                    let event =
                        JobEvent::MigtableValidated { request, domain: String::new(), result: Err(not_connected()) };
                    let _ = self.tx.send(Incoming::Job(event));
                    return true;
                };
                let tx = self.tx.clone();
                let name = session.domain.dns_name.clone();
                let on_name = name.clone();
                self.spawn_reporting(
                    move |message| JobEvent::MigtableValidated { request, domain: on_name, result: Err(message) },
                    async move {
                        let result =
                            migtable::validate_table(&session, &table).await.map_err(|e| error_line(&e, e.fix()));
                        let _ = tx.send(Incoming::Job(JobEvent::MigtableValidated { request, domain: name, result }));
                    },
                );
            }
        }
        true
    }

    /// Writes one thing more into the UI's memory file.
    fn remember(&self, change: impl FnOnce(&mut UiMemory) + Send + 'static) {
        let Some(path) = self.memory_path.clone() else { return };
        let tx = self.tx.clone();
        self.runtime.spawn_blocking(move || {
            let mut memory = UiMemory::load(&path);
            change(&mut memory);
            let result = memory.save(&path).map(|()| path).map_err(|e| one_line(&e));
            let _ = tx.send(Incoming::Job(JobEvent::ConfigSaved(result)));
        });
    }

    /// GPMC's "Populate from GPO" (with the domain's session) or "from Backup" (disk only).
    fn populate(&self, request: u64, from: PopulateFrom) {
        let failed = move |message: String| JobEvent::MigtablePopulated { request, result: Err(message) };
        let rows = |(populated, _): (Populated, _)| PopulatedRows {
            rows: populated.table.rows().to_vec(),
            unresolved: populated.unresolved.len(),
            unreadable: populated.unreadable,
        };
        match from {
            PopulateFrom::Gpo { domain, gpo, .. } => {
                let Some((_, session)) = self.sessions.get(&domain).cloned() else {
                    let _ = self.tx.send(Incoming::Job(failed(not_connected())));
                    return;
                };
                let tx = self.tx.clone();
                self.spawn_reporting(failed, async move {
                    let result = migtable::populate_from_gpo(&session, &gpo.to_string(), PopulateOptions::default())
                        .await
                        .map(rows)
                        .map_err(|e| migtable_error_line(&e));
                    let _ = tx.send(Incoming::Job(JobEvent::MigtablePopulated { request, result }));
                });
            }
            PopulateFrom::Backup { dir, backup_id, .. } => {
                self.spawn_blocking_job(failed, move || {
                    let result = migtable::populate_from_backup(&dir, &backup_id, PopulateOptions::default())
                        .map(rows)
                        .map_err(|e| migtable_error_line(&e));
                    JobEvent::MigtablePopulated { request, result }
                });
            }
        }
    }

    /// Asks the core for a plan about a backup folder; the typed plan comes back to be kept.
    fn plan_for(&self, id: PlanId, ask: PlanAsk) {
        let failed = move |message: String| JobEvent::Planned { plan: id, result: Err(message) };
        let ready = move |result: Result<DeletePlan, delete::DeleteError>| {
            Self::planned(id, result, |plan| ReadyPlan::Delete(Box::new(plan)), |e| one_line(e))
        };
        let tx = self.tx.clone();
        match ask {
            PlanAsk::Delete { dir, backup_ids } => {
                self.spawn_blocking_reporting(failed, move || {
                    let _ = tx.send(ready(delete::plan(&dir, &backup_ids)));
                });
            }
            PlanAsk::Prune { dir, keep } => {
                self.spawn_blocking_reporting(failed, move || {
                    let _ = tx.send(ready(prune::plan(&dir, keep)));
                });
            }
            PlanAsk::Restore { domain, dir, backup_id, links } => {
                let Some((_, session)) = self.sessions.get(&domain).cloned() else {
                    let _ = tx.send(Incoming::Job(failed(not_connected())));
                    return;
                };
                self.spawn_reporting(failed, async move {
                    let selection = RestoreSelection::Backups(vec![backup_id]);
                    // Shown before the yes: the plan says which files change.
                    let options = RestoreOptions { links, ..Default::default() };
                    let result = match recover::plan_first(&session, dir.clone(), &NoProgress).await {
                        Ok(recovery) => restore::plan(&session, dir, &selection, options, &NoProgress)
                            .await
                            .map(|then| AfterRecovery { recovery, then }),
                        Err(e) => Err(e),
                    };
                    let message = Self::planned(
                        id,
                        result,
                        |plan| ReadyPlan::Restore { session, plan: Box::new(plan) },
                        restore_error_line,
                    );
                    let _ = tx.send(message);
                });
            }
            PlanAsk::Copy { from, source, into, name, preserve_acl, table, only_mapped } => {
                let sessions = (self.sessions.get(&from).cloned(), self.sessions.get(&into).cloned());
                let (Some((_, source_session)), Some((_, target))) = sessions else {
                    let _ = tx.send(Incoming::Job(failed(not_connected())));
                    return;
                };
                // The core's mapping holds a lookup that is not Sync: the plan runs on a blocking
                // thread of its own rather than as a task.
                let runtime = self.runtime.clone();
                self.spawn_blocking_reporting(failed, move || {
                    let ready = chosen_table(table).and_then(|table| {
                        Ok((table, copy::journal_folder().map_err(|e| copy_error_line(&CopyError::Journal(e)))?))
                    });
                    let message = match ready {
                        Err(e) => Incoming::Job(failed(e)),
                        Ok((table, journal)) => {
                            let options = CopyOptions {
                                name: Some(name),
                                preserve_acl,
                                table,
                                only_mapped,
                                journal_dir: Some(journal),
                                ..Default::default()
                            };
                            let key = source.to_string();
                            let result =
                                runtime.block_on(copy::plan(&source_session, &target, &key, &options, &NoProgress));
                            Self::planned(
                                id,
                                result,
                                |plan| ReadyPlan::Copy { target, plan: Box::new(plan) },
                                copy_error_line,
                            )
                        }
                    };
                    let _ = tx.send(message);
                });
            }
            PlanAsk::Import { domain, gpo, dir, backup_id, table, only_mapped } => {
                let Some((_, session)) = self.sessions.get(&domain).cloned() else {
                    let _ = tx.send(Incoming::Job(failed(not_connected())));
                    return;
                };
                let runtime = self.runtime.clone();
                self.spawn_blocking_reporting(failed, move || {
                    let message = match chosen_table(table) {
                        Err(e) => Incoming::Job(failed(e)),
                        Ok(table) => {
                            let options = ImportOptions { table, only_mapped };
                            let into = gpo.to_string();
                            let result = runtime.block_on(async {
                                let recovery = recover::plan_first(&session, dir.clone(), &NoProgress).await?;
                                let then =
                                    import::plan(&session, dir, &backup_id, &into, &options, &NoProgress).await?;
                                Ok(AfterRecovery { recovery, then })
                            });
                            Self::planned(
                                id,
                                result,
                                |plan| ReadyPlan::Import { session, plan: Box::new(plan) },
                                import_error_line,
                            )
                        }
                    };
                    let _ = tx.send(message);
                });
            }
        }
    }

    /// The answer to a plan request: the typed plan kept (by `keep`) with its description, or the
    /// failure in one line.
    fn planned<P: Plan, E>(
        id: PlanId,
        result: Result<P, E>,
        keep: impl FnOnce(P) -> ReadyPlan,
        error_line: impl FnOnce(&E) -> String,
    ) -> Incoming {
        match result {
            Ok(plan) => {
                let description = plan.describe();
                Incoming::Plan { id, plan: keep(plan), description }
            }
            Err(e) => Incoming::Job(JobEvent::Planned { plan: id, result: Err(error_line(&e)) }),
        }
    }

    /// Runs `work` on the blocking pool (disk work) and sends the event it returns.
    fn spawn_blocking_job(
        &self,
        on_panic: impl FnOnce(String) -> JobEvent + Send + 'static,
        work: impl FnOnce() -> JobEvent + Send + 'static,
    ) {
        let tx = self.tx.clone();
        self.spawn_blocking_reporting(on_panic, move || {
            let _ = tx.send(Incoming::Job(work()));
        });
    }

    /// Runs `work` on the blocking pool; if it panics, the UI hears about it as that job's
    /// failure instead of waiting forever.
    fn spawn_blocking_reporting(
        &self,
        on_panic: impl FnOnce(String) -> JobEvent + Send + 'static,
        work: impl FnOnce() + Send + 'static,
    ) {
        let tx = self.tx.clone();
        let handle = self.runtime.spawn_blocking(work);
        self.runtime.spawn(async move {
            if let Err(e) = handle.await
                && e.is_panic()
            {
                let _ = tx.send(Incoming::Job(on_panic(panic_text(e))));
            }
        });
    }

    /// Spawns `work`; if it panics, the UI hears about it as that job's failure instead of
    /// waiting forever.
    fn spawn_reporting<F>(&self, on_panic: impl FnOnce(String) -> JobEvent + Send + 'static, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let tx = self.tx.clone();
        let handle = self.runtime.spawn(work);
        self.runtime.spawn(async move {
            if let Err(e) = handle.await
                && e.is_panic()
            {
                let _ = tx.send(Incoming::Job(on_panic(panic_text(e))));
            }
        });
    }
}

/// A job's panic, in words for the status pane.
fn panic_text(e: tokio::task::JoinError) -> String {
    let payload = e.into_panic();
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    format!("internal error (a bug in gpvault): {what}")
}
