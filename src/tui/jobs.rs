//! Carries out effects: every network or disk operation runs as a task on the tokio runtime and
//! reports back over the UI's channel. The UI thread only spawns and receives.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;

use gpvault::config::{PasswordLookup, UiMemory};
use gpvault::error::one_line;
use gpvault::ops::backup::back_up;
use gpvault::ops::inspect::read_gpo_details;
use gpvault::ops::{DomainSession, Progress, ProgressEvent, SysvolSource};
use tokio::runtime::Handle;

use super::action::{ConnectionInfo, Effect, JobEvent};
use super::details::GpoExtras;
use crate::front::error_line;

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
}

pub struct Jobs {
    runtime: Handle,
    tx: Sender<Incoming>,
    sessions: HashMap<usize, (u64, Arc<DomainSession>)>,
    memory_path: Option<PathBuf>,
}

impl Jobs {
    pub fn new(runtime: Handle, tx: Sender<Incoming>, memory_path: Option<PathBuf>) -> Self {
        Jobs { runtime, tx, sessions: HashMap::new(), memory_path }
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
                            (None, PasswordLookup::Kerberos) => String::new(),
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
                    let result = Err("not connected (r reconnects)".to_string());
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
            Effect::StartBackup { domain, selection, dir, comment, options } => {
                let Some((_, session)) = self.sessions.get(&domain).cloned() else {
                    let result = Err("not connected (r reconnects)".to_string());
                    let _ = self.tx.send(Incoming::Job(JobEvent::BackupDone(result)));
                    return true;
                };
                let tx = self.tx.clone();
                let events = self.tx.clone();
                let progress: Arc<dyn Progress> = Arc::new(move |event: ProgressEvent| {
                    let _ = events.send(Incoming::Job(JobEvent::Backup(event)));
                });
                self.spawn_reporting(|message| JobEvent::BackupDone(Err(message)), async move {
                    let result = back_up(&session, &selection, dir, comment, &options, progress)
                        .await
                        .map(|report| report.summary())
                        .map_err(|e| one_line(&e));
                    let _ = tx.send(Incoming::Job(JobEvent::BackupDone(result)));
                });
            }
            Effect::SaveLastBackupDir(dir) => {
                let Some(path) = self.memory_path.clone() else { return true };
                let tx = self.tx.clone();
                self.runtime.spawn_blocking(move || {
                    let mut memory = UiMemory::load(&path);
                    memory.last_backup_dir = Some(dir);
                    let result = memory.save(&path).map(|()| path).map_err(|e| one_line(&e));
                    let _ = tx.send(Incoming::Job(JobEvent::ConfigSaved(result)));
                });
            }
        }
        true
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
                let payload = e.into_panic();
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_string());
                let _ = tx.send(Incoming::Job(on_panic(format!("internal error (a bug in gpvault): {what}"))));
            }
        });
    }
}
