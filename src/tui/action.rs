//! What flows through the UI: user intents (`Action`, from the keymap), everything `update`
//! receives (`Msg`), what it asks the outside world to do (`Effect`), and what jobs send back
//! (`JobEvent`).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use gpvault::config::{DomainTarget, Password};
use gpvault::migrate::table::{Mapping, MigrationTable};
use gpvault::migrate::validate::RowCheck;
use gpvault::model::{Estate, GpoId};
use gpvault::ops::catalog::{BackupRow, DetailSection};
use gpvault::ops::check::CheckReport;
use gpvault::ops::search::SearchReport;
use gpvault::ops::{GpoSelection, PlanDescription, ProgressEvent, RunOptions, RunSummary};
use ratatui_textarea::Input;

use super::panes::details::GpoExtras;

/// Declares `Action` and `Action::ALL` from one list, so a variant cannot exist without being
/// listed: the tests that walk every action stay complete as actions are added.
macro_rules! actions {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// A user intent. Keys become actions only through the keymap (keymap.rs and the panes'
        /// own tables); what an action means can depend on where the keys go (Up moves the tree
        /// cursor, or scrolls the details).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Action {
            $($(#[$doc])* $name,)*
        }

        impl Action {
            /// Every action, in declaration order (the tests walk it; the config's `[keys]` names them).
            pub const ALL: &'static [Action] = &[$(Action::$name,)*];
        }
    };
}

actions! {
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
    /// Ask to cancel the running job; with nothing running, the same as `Back`.
    CancelRun,
    /// Quit from anywhere (asks first while a backup runs).
    Quit,
    Confirm,
    Cancel,
    NextField,
    PrevField,
    /// Open the filter line of the focused list (`/`).
    Filter,
    /// The cursor to the next (previous) row the filter matches.
    NextMatch,
    PrevMatch,
    /// Focus the first (second...) numbered pane of the pane list.
    Focus1,
    Focus2,
    Focus3,
    Focus4,
    /// The backup list: open another backup folder.
    OpenFolder,
    /// The backup list: only the newest instance of each GPO, or every instance again.
    LatestOnly,
    /// The backup list: only backups of GPOs deleted from the connected domain, or all again.
    DeletedGpos,
    /// The backup list: move the keys between the list and the selected backup's details.
    Inspect,
    /// The backup list: delete the selected backup (the plan is shown first).
    DeleteBackup,
    /// The backup list: check every backup of the folder against its recorded sizes and hashes.
    VerifyBackups,
    /// The backup list: keep the N newest backups of each GPO, delete the rest (asks N).
    PruneBackups,
    /// The backup list: mark the selected backup, to compare another with it.
    MarkBackup,
    /// The backup list: the setting-level differences between the marked and the selected backup.
    CompareBackups,
    /// The backup list: restore the selected backup into its domain (the plan is shown first).
    RestoreBackup,
    /// The migration-table editor: edit the cell under the cursor (its text in place, or its
    /// type or destination form from a list).
    EditCell,
    /// The migration-table editor: the cursor to the previous (next) column.
    PrevColumn,
    NextColumn,
    /// The migration-table editor: a new row below the cursor, its source typed at once.
    AddRow,
    /// The migration-table editor: delete the row under the cursor (asks first).
    DeleteRow,
    /// The migration-table editor: choose the row's type (its destination form) from a list.
    PickType,
    PickForm,
    /// The migration-table editor: open a .migtable file, or start a new, empty table.
    OpenTable,
    NewTable,
    /// The migration-table editor: save the table (a new one asks where), or save it elsewhere.
    SaveTable,
    SaveTableAs,
    /// The migration-table editor: add what the GPO selected in the tree (the backup selected in
    /// the backup list) refers to, without duplicating a source.
    PopulateFromGpo,
    PopulateFromBackup,
    /// The migration-table editor: check the table against a connected domain.
    ValidateTable,
    /// The tree: remember the selected GPO, to paste a copy of it into a domain.
    CopyGpo,
    /// The tree: paste the remembered GPO into the selected domain's GPOs (a wizard, then the plan).
    PasteGpo,
    /// The tree: import a backup's settings into the selected GPO; the backup list: import the
    /// selected backup into a GPO chosen from the connected domains (a wizard, then the plan).
    ImportSettings,
    /// The tree: restore the selected GPO from its latest backup in the backup list's folder.
    RestoreLatest,
    /// The tree: the setting-level differences between the selected GPO and its latest backup.
    DiffLatest,
    /// Focus the health view (from any pane).
    ShowHealth,
    /// Search the settings of the tree's domain for a text (asks for it; from any pane).
    SearchSettings,
    /// The health view: check the tree's domain (GPOs, SYSVOL, links, stored passwords...).
    CheckHealth,
    /// The health view: the GPO of the row under the cursor, in the tree.
    JumpToGpo,
}

impl Action {
    /// The name the config file's `[keys]` table uses: `BackUpAll` is `back_up_all`, `Focus1`
    /// is `focus_1`.
    pub fn config_name(self) -> String {
        let debug = format!("{self:?}");
        let mut name = String::new();
        let mut previous: Option<char> = None;
        for c in debug.chars() {
            let starts_word =
                c.is_ascii_uppercase() || (c.is_ascii_digit() && !previous.is_some_and(|p| p.is_ascii_digit()));
            if starts_word && previous.is_some() {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
            previous = Some(c);
        }
        name
    }

    /// The numbered pane a `FocusN` action focuses (0-based), if it is one.
    pub fn focus_number(self) -> Option<usize> {
        match self {
            Action::Focus1 => Some(0),
            Action::Focus2 => Some(1),
            Action::Focus3 => Some(2),
            Action::Focus4 => Some(3),
            _ => None,
        }
    }
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
pub struct Secret(pub Password);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Names a typed plan kept by the job runner between "what would this do?" and "yes".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PlanId(pub u64);

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
    /// Ask the core what a backup would do; it writes nothing. The answer comes back as
    /// `JobEvent::Planned`, the typed plan stays with the job runner under `plan`.
    PlanBackup {
        plan: PlanId,
        domain: usize,
        selection: GpoSelection,
        dir: PathBuf,
        comment: String,
    },
    /// Ask the core what a change to a backup folder (or a restore from one) would do.
    PlanFor {
        plan: PlanId,
        ask: PlanAsk,
    },
    /// List a backup folder's instances; `deleted_from`: keep only the backups of GPOs that no
    /// longer exist in this domain read.
    ListBackups {
        request: u64,
        dir: PathBuf,
        latest: bool,
        deleted_from: Option<Arc<Estate>>,
    },
    /// One backup instance in full, for the backup list's details.
    ShowBackup {
        dir: PathBuf,
        backup_id: String,
    },
    /// The setting-level differences from one instance of `dir` to another.
    DiffBackups {
        dir: PathBuf,
        old: String,
        new: String,
    },
    /// Check every instance of a backup folder.
    VerifyBackups {
        dir: PathBuf,
    },
    /// Carry out a plan the admin said yes to.
    ExecutePlan {
        plan: PlanId,
        options: RunOptions,
    },
    /// The admin said no: forget the plan.
    DropPlan(PlanId),
    SaveLastBackupDir(PathBuf),
    /// Read a migration table file.
    OpenMigtable {
        path: PathBuf,
    },
    /// Write a migration table file (atomically, through the core).
    SaveMigtable {
        path: PathBuf,
        table: MigrationTable,
    },
    /// What a GPO or a backup refers to, as rows to merge into the open table.
    PopulateMigtable {
        request: u64,
        from: PopulateFrom,
    },
    /// Check a table against the connected domain `domain` of the tree.
    ValidateMigtable {
        request: u64,
        domain: usize,
        table: MigrationTable,
    },
    SaveLastMigtable(PathBuf),
    /// Check the health of the tree's connected domain `domain` (and its backups, in the
    /// backup list's folder when one is open).
    CheckDomain {
        request: u64,
        domain: usize,
        backups: Option<PathBuf>,
    },
    /// Search every GPO of the tree's connected domain `domain` for `text` (any kind).
    SearchDomain {
        request: u64,
        domain: usize,
        text: String,
    },
    /// Search every instance of the backup folder `dir` for `text` (any kind).
    SearchBackups {
        request: u64,
        dir: std::path::PathBuf,
        text: String,
    },
    /// The setting-level differences between backup `backup_id` of `dir` and the live GPO it is
    /// of, in the tree's domain `domain`.
    DiffLive {
        domain: usize,
        dir: PathBuf,
        backup_id: String,
        name: String,
    },
    Quit,
}

/// Where populating a migration table reads from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PopulateFrom {
    /// A GPO of the connected domain `domain` of the tree.
    Gpo { domain: usize, gpo: GpoId, name: String },
    /// A backup instance of a backup folder (no connection needed).
    Backup { dir: PathBuf, backup_id: String, name: String },
}

impl PopulateFrom {
    /// `GPO "Finance Drive Maps"`, `the backup of "Finance Drive Maps"`.
    pub fn describe(&self) -> String {
        match self {
            PopulateFrom::Gpo { name, .. } => format!("GPO \"{name}\""),
            PopulateFrom::Backup { name, .. } => format!("the backup of \"{name}\""),
        }
    }
}

/// The rows a populate found, and what it could not name or read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PopulatedRows {
    pub rows: Vec<Mapping>,
    /// Principals listed with type Unknown: neither the domain nor the backup named them.
    pub unresolved: usize,
    /// Files of the GPO that could not be read: their principals and paths are missing.
    pub unreadable: Vec<String>,
}

/// A plan about a backup folder, asked of the core (the answer is a typed plan kept by the job
/// runner and its description for the confirmation popup).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanAsk {
    /// Delete these instances of `dir`.
    Delete { dir: PathBuf, backup_ids: Vec<String> },
    /// Keep the `keep` newest instances of each GPO of `dir`, delete the rest.
    Prune { dir: PathBuf, keep: usize },
    /// Restore one instance of `dir` into the domain of the tree's `domain`; `links`: re-create
    /// the links the backup recorded.
    Restore { domain: usize, dir: PathBuf, backup_id: String, links: bool },
    /// Copy GPO `source` of the tree's domain `from` into the tree's domain `into`.
    Copy {
        from: usize,
        source: GpoId,
        into: usize,
        name: String,
        preserve_acl: bool,
        table: TableChoice,
        only_mapped: bool,
    },
    /// Import backup `backup_id` of `dir` over GPO `gpo` of the tree's domain `domain`.
    Import { domain: usize, gpo: GpoId, dir: PathBuf, backup_id: String, table: TableChoice, only_mapped: bool },
}

/// The migration table a copy or an import maps through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableChoice {
    /// None: settings are copied as they are (GPMC's default); the plan lists what is left.
    None,
    /// The rows open in the editor pane, saved or not (what the admin sees is what applies).
    Editor { name: String, table: MigrationTable },
    /// A .migtable file, read when the plan is made.
    File(PathBuf),
}

/// A backup folder as listed for the backup list: rows from the core, and what the admin
/// should know about the listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListedBackups {
    /// Newest first.
    pub rows: Vec<BackupRow>,
    /// A stale manifest, leftovers of interrupted runs, folders that could not be read.
    pub notes: Vec<String>,
    /// The deleted view: backups of other domains' GPOs left out.
    pub other_domains: usize,
}

/// A check of a whole backup folder, as lines (one per bad instance and file, then the count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedBackups {
    pub lines: Vec<String>,
    pub clean: bool,
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
    Connected {
        domain: usize,
        attempt: u64,
        result: Result<(Box<Estate>, ConnectionInfo), String>,
    },
    Details {
        domain: usize,
        gpo: GpoId,
        result: Result<Box<GpoExtras>, String>,
    },
    /// What a plan will do, in words (the typed plan stays with the job runner).
    Planned {
        plan: PlanId,
        result: Result<PlanDescription, String>,
    },
    BackupsListed {
        request: u64,
        result: Result<Box<ListedBackups>, String>,
    },
    BackupShown {
        dir: PathBuf,
        backup_id: String,
        result: Result<Vec<DetailSection>, String>,
    },
    BackupsDiffed {
        dir: PathBuf,
        old: String,
        new: String,
        result: Result<Vec<String>, String>,
    },
    BackupsVerified {
        dir: PathBuf,
        result: Result<VerifiedBackups, String>,
    },
    /// Progress of the running plan.
    Run(ProgressEvent),
    RunDone(Result<RunSummary, String>),
    ConfigSaved(Result<PathBuf, String>),
    MigtableOpened {
        path: PathBuf,
        result: Result<MigrationTable, String>,
    },
    /// `rows`: what was written, so later edits still count as unsaved.
    MigtableSaved {
        path: PathBuf,
        rows: Vec<Mapping>,
        result: Result<(), String>,
    },
    MigtablePopulated {
        request: u64,
        result: Result<PopulatedRows, String>,
    },
    /// A live GPO compared with its latest backup: the diff's lines (`name`: the GPO's).
    LiveDiffed {
        name: String,
        result: Result<Vec<String>, String>,
    },
    /// `domain`: the DNS name checked against.
    MigtableValidated {
        request: u64,
        domain: String,
        result: Result<Vec<RowCheck>, String>,
    },
    HealthChecked {
        request: u64,
        result: Result<Box<CheckReport>, String>,
    },
    SettingsSearched {
        request: u64,
        result: Result<Box<SearchReport>, String>,
    },
}
