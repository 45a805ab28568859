//! The UI's state: the domains, the panes (each with its own state), and what is open over them.
//! Nothing here talks to the network or the terminal.

use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use gpvault::config::{DomainTarget, NamedTarget, PasswordLookup};
use gpvault::model::Estate;

use super::action::{ConnectionInfo, Secret};
use super::panes::backups::BackupsPane;
use super::panes::details::DetailsPane;
use super::panes::status::StatusPane;
use super::panes::tree::{Row, SPINNER, TreePane};
use super::panes::{Context, Inner, PANES, PaneId, PaneSpec, Panes, areas};
use super::popup::Popup;
use super::theme::Theme;

/// Where keys go: a pane, or what is open over the panes. The keymap's scopes are sets of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Pane(PaneId),
    /// The focused pane's filter line: letters are the query.
    Filter,
    /// A popup with text fields: letters are typed, not commands.
    Form,
    /// A text field inside the focused pane (a cell edited in place): letters are typed.
    Edit,
    /// A short list to choose from inside the focused pane (a row's type).
    Choose,
    /// A yes/no question.
    Confirm,
    Help,
}

/// Where a connection stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Not tried yet (the node was never expanded).
    Idle,
    Connecting,
    Ready,
    /// The last attempt failed; its one-line reason. Earlier data, if any, stays on screen.
    Failed(String),
}

/// How the password for a domain is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    /// GPVAULT_PASSWORD or the profile's password_env (read by the job, not by `update`).
    Environment,
    Kerberos,
    /// Asked for in a masked popup.
    Ask,
}

/// One domain of the tree: a profile of the config, or the domain given on the command line.
#[derive(Debug)]
pub struct DomainNode {
    /// What the tree shows when nothing is known yet: `corp (corp.example.test)`.
    pub label: String,
    /// A profile that does not resolve (no domain, no user) stays in the tree with its reason.
    pub target: Result<DomainTarget, String>,
    pub password_source: PasswordSource,
    /// A password typed in the UI, kept so a refresh can reconnect without asking again.
    pub typed_password: Option<Secret>,
    pub phase: Phase,
    pub attempt: u64,
    /// The last domain read that succeeded.
    pub estate: Option<Arc<Estate>>,
    pub connection: Option<ConnectionInfo>,
}

impl DomainNode {
    pub fn new(label: String, target: Result<DomainTarget, String>, password_source: PasswordSource) -> Self {
        DomainNode {
            label,
            target,
            password_source,
            typed_password: None,
            phase: Phase::Idle,
            attempt: 0,
            estate: None,
            connection: None,
        }
    }

    /// A domain for tests and for targets known up front.
    pub fn for_target(target: DomainTarget, password_source: PasswordSource) -> Self {
        DomainNode::new(target.label(), Ok(target), password_source)
    }

    pub fn insecure_tls(&self) -> bool {
        self.target.as_ref().is_ok_and(|t| t.insecure_tls)
    }

    pub fn dns_name(&self) -> Option<&str> {
        self.estate
            .as_ref()
            .map(|e| e.domain.dns_name.as_str())
            .or_else(|| self.target.as_ref().ok().map(|t| t.domain.as_str()))
    }
}

/// The domains, with a generation that every mutable borrow bumps: what is derived from them
/// (the tree's rows, the details' line count) is rebuilt only when the generation moved.
#[derive(Debug, Default)]
pub struct Domains {
    list: Vec<DomainNode>,
    generation: u64,
}

impl Domains {
    pub fn new(list: Vec<DomainNode>) -> Self {
        Domains { list, generation: 0 }
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }
}

impl Deref for Domains {
    type Target = [DomainNode];
    fn deref(&self) -> &[DomainNode] {
        &self.list
    }
}

impl DerefMut for Domains {
    fn deref_mut(&mut self) -> &mut [DomainNode] {
        self.generation += 1;
        &mut self.list
    }
}

#[derive(Debug, Default)]
pub struct HelpState {
    pub scroll: u16,
}

impl HelpState {
    /// How far help of `lines` lines scrolls on a screen `height` rows high: the overlay takes
    /// what it needs up to the screen less two rows, inside its border.
    pub fn max_scroll(lines: usize, height: u16) -> u16 {
        let wanted = (lines as u16).saturating_add(2);
        let overlay = wanted.min(height.saturating_sub(2).max(3)).min(height);
        lines.saturating_sub(overlay.saturating_sub(2) as usize) as u16
    }
}

pub struct AppState {
    pub domains: Domains,
    pub panes: Panes,
    /// The pane with the focus (under any popup or the help).
    pub focused: PaneId,
    pub popup: Option<Popup>,
    pub help: Option<HelpState>,
    /// Prefills the backup popup; remembered in the UI state file when a backup starts.
    pub last_backup_dir: Option<PathBuf>,
    /// Prefills the migration-table editor's open prompt: the last table opened or saved, else
    /// the config's `migtable`.
    pub last_migtable: Option<PathBuf>,
    /// The terminal size, so `update` can page and keep the cursor in view.
    pub size: (u16, u16),
    /// When the app started and what time it is now, as far as `update` has been told.
    pub started: Instant,
    pub clock: Instant,
    /// For `~/` and relative folders typed in the backup popup; read once at start.
    pub home: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    /// The last plan asked for; each ask gets the next number.
    pub last_plan: u64,
    /// The domain chosen at start (`--profile`), connecting: once read, the cursor goes to its
    /// "Group Policy Objects".
    pub opening: Option<usize>,
    /// The GPO copied in the tree (`c`), waiting to be pasted into a domain.
    pub clipboard: Option<CopiedGpo>,
}

/// A GPO remembered by Copy: the tree's domain, its ID and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopiedGpo {
    pub domain: usize,
    pub id: gpvault::model::GpoId,
    pub name: String,
}

impl AppState {
    pub fn new(domains: Vec<DomainNode>, last_backup_dir: Option<PathBuf>, now: Instant) -> Self {
        AppState::with_panes(PANES, domains, last_backup_dir, now)
    }

    /// With another pane list than the app's (the tests add one).
    pub fn with_panes(
        specs: &[&'static PaneSpec],
        domains: Vec<DomainNode>,
        last_backup_dir: Option<PathBuf>,
        now: Instant,
    ) -> Self {
        let panes = Panes::new(specs);
        let mut state = AppState {
            domains: Domains::new(domains),
            focused: panes.home(),
            panes,
            popup: None,
            help: None,
            last_backup_dir,
            last_migtable: None,
            size: (80, 24),
            started: now,
            clock: now,
            home: None,
            cwd: None,
            last_plan: 0,
            opening: None,
            clipboard: None,
        };
        state.sync_tree();
        state
    }

    /// Where keys go now.
    pub fn focus(&self) -> Focus {
        if self.help.is_some() {
            return Focus::Help;
        }
        match &self.popup {
            Some(popup) if popup.has_fields() => Focus::Form,
            Some(_) => Focus::Confirm,
            None => {
                let pane = self.panes.get(self.focused);
                if pane.and_then(|p| p.filter()).is_some_and(|f| f.editing()) {
                    return Focus::Filter;
                }
                match pane.and_then(|p| p.inner_focus()) {
                    Some(Inner::Text) => Focus::Edit,
                    Some(Inner::Choice) => Focus::Choose,
                    None => Focus::Pane(self.focused),
                }
            }
        }
    }

    // The three panes the app itself wires together. They are in every pane list (a list
    // without them is a bug the first key press would show).
    pub fn tree(&self) -> &TreePane {
        self.panes.find().expect("the tree pane is in the pane list")
    }

    pub fn tree_mut(&mut self) -> &mut TreePane {
        self.panes.find_mut().expect("the tree pane is in the pane list")
    }

    #[cfg(test)]
    pub fn details(&self) -> &DetailsPane {
        self.panes.find().expect("the details pane is in the pane list")
    }

    pub fn details_mut(&mut self) -> &mut DetailsPane {
        self.panes.find_mut().expect("the details pane is in the pane list")
    }

    pub fn status(&self) -> &StatusPane {
        self.panes.find().expect("the status pane is in the pane list")
    }

    pub fn status_mut(&mut self) -> &mut StatusPane {
        self.panes.find_mut().expect("the status pane is in the pane list")
    }

    /// The tree row under the cursor.
    pub fn selected(&self) -> Option<&Row> {
        self.tree().cursor_row()
    }

    /// Rows inside a pane's borders at the current size, as if it had the focus (a narrow
    /// terminal shows only the focused pane), and its width.
    pub fn pane_size(&self, id: PaneId) -> (usize, u16) {
        let a = areas(ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1), self.panes.specs(), id);
        a.of(id).map_or((1, 1), |r| ((r.height.saturating_sub(2) as usize).max(1), r.width.saturating_sub(2)))
    }

    /// Rebuilds the tree's rows if the domains or the expanded nodes changed since the last time,
    /// keeping the cursor on its node. Cheap when nothing changed.
    pub fn sync_tree(&mut self) {
        let (page, _) = self.pane_size(super::panes::tree::ID);
        let domains = &self.domains;
        if let Some(tree) = self.panes.find_mut::<TreePane>() {
            tree.sync(domains, page);
        }
    }

    /// Whether the screen changes with time alone (a spinner, a running rate): the loop then
    /// ticks at a steady pace; otherwise it sleeps until something happens.
    pub fn animating(&self) -> bool {
        let theme = Theme::plain();
        self.panes.iter().any(|(id, pane)| pane.animating(&self.context(id, &theme)))
    }

    /// 0..10, for the braille spinner; derived from the clock so renders are reproducible.
    pub fn spinner_frame(&self) -> usize {
        (self.clock.saturating_duration_since(self.started).as_millis() / 100 % 10) as usize
    }

    /// What pane `id` may read.
    pub fn context<'a>(&'a self, id: PaneId, theme: &'a Theme) -> Context<'a> {
        let (page, width) = self.pane_size(id);
        Context {
            domains: &self.domains,
            selected: self.selected(),
            clock: self.clock,
            spinner: SPINNER[self.spinner_frame()],
            theme,
            page,
            width,
            number: self.panes.number_of(id),
            selected_backup: self.panes.find::<BackupsPane>().and_then(BackupsPane::selection),
            backup_folder: self.panes.find::<BackupsPane>().and_then(|p| p.folder().map(std::path::Path::to_path_buf)),
        }
    }
}

/// The domains the tree starts with, from the core's one profile resolution (see
/// `Config::targets`): each gets the password source the core's lookup names.
pub fn domains_from_targets(targets: Vec<NamedTarget>) -> Vec<DomainNode> {
    targets
        .into_iter()
        .map(|named| match named.target {
            Ok(target) => {
                let source = match target.password_lookup() {
                    PasswordLookup::Found(_) => PasswordSource::Environment,
                    PasswordLookup::Kerberos => PasswordSource::Kerberos,
                    PasswordLookup::Ask => PasswordSource::Ask,
                };
                DomainNode::for_target(target, source)
            }
            Err(e) => DomainNode::new(named.label, Err(crate::front::error_line(&e, e.fix())), PasswordSource::Ask),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use gpvault::config::{Config, ConnectionSettings};

    use super::*;

    fn from_config(config: &Config, chosen: Option<&str>, flags: &ConnectionSettings) -> (Vec<DomainNode>, usize) {
        let (targets, selected) = config.targets(std::path::Path::new("cfg.toml"), chosen, flags);
        (domains_from_targets(targets), selected)
    }

    #[test]
    fn every_profile_becomes_a_domain_and_flags_apply_to_the_chosen_one() {
        let config: Config = toml::from_str(
            r#"
            [profiles.branch]
            domain = "branch.example.test"
            user = "admin"
            [profiles.corp]
            domain = "corp.example.test"
            user = "Administrator"
            [profiles.broken]
            server = "x"
            "#,
        )
        .unwrap();
        let overrides = ConnectionSettings { insecure_tls: true, ..Default::default() };
        let (domains, selected) = from_config(&config, Some("corp"), &overrides);
        let labels: Vec<&str> = domains.iter().map(|d| d.label.as_str()).collect();
        assert_eq!(labels, ["branch (branch.example.test)", "broken", "corp (corp.example.test)"]);
        assert_eq!(selected, 2);
        assert!(domains[2].insecure_tls());
        assert!(!domains[0].insecure_tls());
        assert!(domains[1].target.as_ref().unwrap_err().contains("no domain given"), "{:?}", domains[1].target);

        let (domains, selected) = from_config(&config, Some("nope"), &overrides);
        assert_eq!(selected, 3);
        assert!(domains[3].target.as_ref().unwrap_err().contains("no profile named 'nope'"));

        // Several profiles, none chosen, and a domain on the command line: it gets its own node.
        let flags = ConnectionSettings {
            domain: Some("lab.example.test".into()),
            user: Some("admin".into()),
            ..Default::default()
        };
        let (domains, selected) = from_config(&config, None, &flags);
        assert_eq!((domains.len(), selected), (4, 3));
        assert_eq!(domains[3].label, "lab.example.test");
    }

    #[test]
    fn without_profiles_the_flags_make_one_domain() {
        let overrides = ConnectionSettings {
            domain: Some("corp.example.test".into()),
            user: Some("Administrator".into()),
            ..Default::default()
        };
        let (domains, selected) = from_config(&Config::default(), None, &overrides);
        assert_eq!(selected, 0);
        assert_eq!(domains[0].label, "corp.example.test");
        let (domains, _) = from_config(&Config::default(), None, &ConnectionSettings::default());
        assert_eq!(domains[0].label, "command line");
        assert!(domains[0].target.is_err());
    }
}
