//! What flows through the UI: user intents (`Action`, from the keymap), everything `update`
//! receives (`Msg`), what it asks the outside world to do (`Effect`), and what jobs send back
//! (`JobEvent`).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use gpvault::config::DomainTarget;
use gpvault::model::{Estate, GpoId};
use gpvault::ops::ProgressEvent;
use gpvault::ops::{GpoSelection, RunOptions, RunSummary};
use ratatui_textarea::Input;

use super::details::GpoExtras;

/// A user intent. Keys become actions only through the keymap table (keymap.rs); what an action
/// means can depend on the pane (Up moves the tree cursor, or scrolls the details).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Collapse,
    Expand,
    Toggle,
    NextPane,
    PrevPane,
    BackUp,
    BackUpAll,
    Refresh,
    Help,
    /// Close what is open, leave a pane, and at the top quit.
    Back,
    /// Quit from anywhere (asks first while a backup runs).
    Quit,
    Confirm,
    Cancel,
    NextField,
    PrevField,
}

/// Everything `update` handles.
#[derive(Debug)]
pub enum Msg {
    Action(Action),
    /// A key typed into the text field of a popup.
    Typed(Input),
    /// Bracketed paste: a whole string at once, so a pasted newline does not confirm a popup.
    Paste(String),
    Resize(u16, u16),
    /// Time passes: spinners, rates and the details debounce read the clock only from here.
    Tick(Instant),
    Job(JobEvent),
}

/// A password typed into the UI; never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Side effects asked for by `update`, carried out by the job runner (jobs.rs).
#[derive(Debug)]
pub enum Effect {
    /// Open a session and read the domain. `password: None` means take it from the environment
    /// (or use Kerberos); `attempt` lets late answers of an older attempt be ignored.
    Connect {
        domain: usize,
        attempt: u64,
        target: DomainTarget,
        password: Option<Secret>,
    },
    LoadDetails {
        domain: usize,
        gpo: GpoId,
        estate: Arc<Estate>,
    },
    StartBackup {
        domain: usize,
        selection: GpoSelection,
        dir: PathBuf,
        comment: String,
        options: RunOptions,
    },
    SaveLastBackupDir(PathBuf),
    Quit,
}

/// How a connection was made, for the title bar and the domain's details.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub ldap: String,
    pub sysvol: String,
}

/// Results of jobs, sent back over the channel to the UI thread.
#[derive(Debug)]
pub enum JobEvent {
    Connected { domain: usize, attempt: u64, result: Result<(Box<Estate>, ConnectionInfo), String> },
    Details { domain: usize, gpo: GpoId, result: Result<Box<GpoExtras>, String> },
    Backup(ProgressEvent),
    BackupDone(Result<RunSummary, String>),
    ConfigSaved(Result<PathBuf, String>),
}
