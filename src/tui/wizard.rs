//! The short keyboard wizards of Copy / Paste and Import Settings, GPMC's in a popup: a few
//! steps (permissions, the backup or the target GPO, the migration table, the name), then the
//! core's plan in the confirmation popup. The wizard only gathers answers; the plan, and with
//! it every check of a name taken or a table that does not apply, is the core's.
//!
//! Keys (the form's: letters are typed into the step's text field): Enter goes to the next step
//! and from the last asks for the plan; Esc goes back a step, and from the first closes; ↑/↓
//! choose; Tab moves between the table's choice and its "exclusively" box, which Space ticks.

use std::path::{Path, PathBuf};

use gpvault::migrate::table::MigrationTable;
use gpvault::model::GpoId;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};
use ratatui_textarea::{Input, Key, TextArea};

use super::action::{Action, PlanAsk, TableChoice};
use super::keymap::key_at;
use super::panes::ConfirmPlan;
use super::panes::status::RunKind;
use super::popup::{centered, paste_into, resolve_folder, single_line, themed, type_into};
use super::state::Focus;
use super::theme::Theme;

/// What the wizard ends in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WizardKind {
    /// GPO `source` of the tree's domain `from` copied into domain `into`.
    Copy { from: usize, source: GpoId, source_name: String, into: usize, into_domain: String, same_domain: bool },
    /// A backup of `dir` (chosen in the wizard) imported over GPO `gpo` of domain `domain`.
    ImportInto { domain: usize, domain_name: String, gpo: GpoId, gpo_name: String, dir: PathBuf },
    /// Backup `backup_id` of `dir` imported over a GPO chosen in the wizard.
    ImportFrom { dir: PathBuf, backup_id: String, backup_name: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Copy: the target's default permissions for a new GPO, or the source's (mapped).
    Permissions,
    /// Import from the tree: which backup of the folder.
    Backup,
    /// Import from the backup list: which GPO of the connected domains.
    Target,
    /// None, the editor's table, or a file; and whether every reference must be mapped.
    Table,
    /// Copy: the new GPO's name.
    Name,
}

impl Step {
    fn title(self) -> &'static str {
        match self {
            Step::Permissions => "Permissions",
            Step::Backup => "Backup to import",
            Step::Target => "GPO to import into",
            Step::Table => "Migration table",
            Step::Name => "Name of the copy",
        }
    }
}

/// Where the migration table comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableSource {
    None,
    Editor,
    File,
}

/// A backup to choose (import from the tree).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupChoice {
    pub backup_id: String,
    /// `Finance Drive Maps  2026-11-25 16:30  corp.example.test`.
    pub label: String,
}

/// A GPO to import into (import from the backup list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetChoice {
    pub domain: usize,
    pub domain_name: String,
    pub gpo: GpoId,
    pub name: String,
}

pub struct Wizard {
    pub kind: WizardKind,
    pub steps: Vec<Step>,
    pub at: usize,
    pub preserve_acl: bool,
    pub backups: Vec<BackupChoice>,
    pub targets: Vec<TargetChoice>,
    /// The cursor in the backup or target list.
    pub pick: usize,
    pub table: TableSource,
    /// The editor pane's rows and what it calls them, when it has any.
    pub editor_table: Option<(String, MigrationTable)>,
    pub table_path: TextArea<'static>,
    pub exclusive: bool,
    /// The keys are on the "exclusively" box rather than the table's choice.
    pub on_exclusive: bool,
    pub name: TextArea<'static>,
    pub error: Option<String>,
}

/// Rows of a list shown at once; the rest scroll.
const LIST_ROWS: usize = 8;

impl Wizard {
    fn new(
        kind: WizardKind,
        steps: Vec<Step>,
        editor_table: Option<(String, MigrationTable)>,
        last_table: Option<&Path>,
    ) -> Self {
        let path = last_table.map(|p| p.display().to_string()).unwrap_or_default();
        Wizard {
            kind,
            steps,
            at: 0,
            preserve_acl: false,
            backups: Vec::new(),
            targets: Vec::new(),
            pick: 0,
            table: TableSource::None,
            editor_table,
            table_path: single_line(&path, "/path/to/table.migtable"),
            exclusive: false,
            on_exclusive: false,
            name: single_line("", "the new GPO's name"),
            error: None,
        }
    }

    /// Paste: permissions, table, name (prefilled with the core's default).
    pub fn copy(
        kind: WizardKind,
        default_name: &str,
        editor_table: Option<(String, MigrationTable)>,
        last_table: Option<&Path>,
    ) -> Self {
        let mut wizard = Wizard::new(kind, vec![Step::Permissions, Step::Table, Step::Name], editor_table, last_table);
        wizard.name = single_line(default_name, "the new GPO's name");
        wizard
    }

    /// Import Settings into a GPO of the tree: the backup (the cursor on `preferred`), the table.
    pub fn import_into(
        kind: WizardKind,
        backups: Vec<BackupChoice>,
        preferred: Option<&str>,
        editor_table: Option<(String, MigrationTable)>,
        last_table: Option<&Path>,
    ) -> Self {
        let mut wizard = Wizard::new(kind, vec![Step::Backup, Step::Table], editor_table, last_table);
        wizard.pick = preferred.and_then(|id| backups.iter().position(|b| b.backup_id == id)).unwrap_or(0);
        wizard.backups = backups;
        wizard
    }

    /// Import Settings from the backup list: the target GPO (the cursor on `preferred`), the table.
    pub fn import_from(
        kind: WizardKind,
        targets: Vec<TargetChoice>,
        preferred: Option<usize>,
        editor_table: Option<(String, MigrationTable)>,
        last_table: Option<&Path>,
    ) -> Self {
        let mut wizard = Wizard::new(kind, vec![Step::Target, Step::Table], editor_table, last_table);
        wizard.pick = preferred.filter(|at| *at < targets.len()).unwrap_or(0);
        wizard.targets = targets;
        wizard
    }

    pub fn step(&self) -> Step {
        self.steps[self.at.min(self.steps.len() - 1)]
    }

    fn is_last(&self) -> bool {
        self.at + 1 >= self.steps.len()
    }

    /// The table's choices, in order: the editor's only when it has rows.
    pub fn table_sources(&self) -> Vec<TableSource> {
        let mut sources = vec![TableSource::None];
        if self.editor_table.is_some() {
            sources.push(TableSource::Editor);
        }
        sources.push(TableSource::File);
        sources
    }

    /// The text field that letters go to now, if any.
    fn field(&mut self) -> Option<&mut TextArea<'static>> {
        match self.step() {
            Step::Name => Some(&mut self.name),
            Step::Table if self.table == TableSource::File && !self.on_exclusive => Some(&mut self.table_path),
            _ => None,
        }
    }

    fn list_len(&self) -> usize {
        match self.step() {
            Step::Backup => self.backups.len(),
            Step::Target => self.targets.len(),
            _ => 0,
        }
    }

    /// ↑/↓ (and the page keys): the choice of the step.
    pub fn choose(&mut self, action: Action) {
        self.error = None;
        match self.step() {
            Step::Permissions => {
                if matches!(action, Action::Up | Action::Down | Action::PageUp | Action::PageDown) {
                    self.preserve_acl = matches!(action, Action::Down | Action::PageDown);
                }
            }
            Step::Backup | Step::Target => {
                let last = self.list_len().saturating_sub(1);
                self.pick = match action {
                    Action::Up => self.pick.saturating_sub(1),
                    Action::Down => (self.pick + 1).min(last),
                    Action::PageUp => self.pick.saturating_sub(LIST_ROWS),
                    Action::PageDown => (self.pick + LIST_ROWS).min(last),
                    _ => self.pick,
                };
            }
            Step::Table if self.on_exclusive => {
                if matches!(action, Action::Up | Action::Down) {
                    self.exclusive = !self.exclusive;
                }
            }
            Step::Table => {
                let sources = self.table_sources();
                let at = sources.iter().position(|s| *s == self.table).unwrap_or(0);
                let to = match action {
                    Action::Up | Action::PageUp => at.saturating_sub(1),
                    Action::Down | Action::PageDown => (at + 1).min(sources.len() - 1),
                    _ => at,
                };
                self.table = sources[to];
                if self.table == TableSource::None {
                    self.exclusive = false;
                }
            }
            Step::Name => {}
        }
    }

    /// Tab / Shift-Tab: between the table's choice and the "exclusively" box (only with a table).
    pub fn switch_part(&mut self) {
        if self.step() == Step::Table && self.table != TableSource::None {
            self.on_exclusive = !self.on_exclusive;
        }
    }

    pub fn typed(&mut self, input: Input) {
        self.error = None;
        if self.step() == Step::Table && self.on_exclusive {
            if input.key == Key::Char(' ') {
                self.exclusive = !self.exclusive;
            }
            return;
        }
        if let Some(field) = self.field() {
            type_into(field, input);
        }
    }

    pub fn pasted(&mut self, text: &str) {
        if let Some(field) = self.field() {
            paste_into(field, text);
        }
    }

    /// Esc: a step back; false on the first step (the wizard closes).
    pub fn back(&mut self) -> bool {
        self.error = None;
        if self.at == 0 {
            return false;
        }
        self.at -= 1;
        self.on_exclusive = false;
        true
    }

    /// Enter: the step is checked, then the next one; after the last, the plan to ask for.
    pub fn next(&mut self, home: Option<&Path>, cwd: Option<&Path>) -> Option<ConfirmPlan> {
        match self.step() {
            Step::Backup if self.backups.is_empty() => {
                self.error = Some("The backup folder has no backups to import".into());
                return None;
            }
            Step::Target if self.targets.is_empty() => {
                self.error = Some("No GPOs to import into: connect a domain first".into());
                return None;
            }
            Step::Table if self.table == TableSource::File && self.path_text().is_empty() => {
                self.error = Some("Type the path of the .migtable file".into());
                return None;
            }
            Step::Name if self.name_text().is_empty() => {
                self.error = Some("Type a name for the copy".into());
                return None;
            }
            _ => {}
        }
        self.error = None;
        if !self.is_last() {
            self.at += 1;
            self.on_exclusive = false;
            return None;
        }
        Some(self.plan(home, cwd))
    }

    fn path_text(&self) -> String {
        self.table_path.lines().join("").trim().to_string()
    }

    fn name_text(&self) -> String {
        self.name.lines().join("").trim().to_string()
    }

    /// The table as chosen.
    pub fn table_choice(&self, home: Option<&Path>, cwd: Option<&Path>) -> TableChoice {
        match (self.table, &self.editor_table) {
            (TableSource::Editor, Some((name, table))) => {
                TableChoice::Editor { name: name.clone(), table: table.clone() }
            }
            (TableSource::File, _) => TableChoice::File(resolve_folder(&self.path_text(), home, cwd)),
            _ => TableChoice::None,
        }
    }

    /// What to ask the core for, and the words around it.
    fn plan(&self, home: Option<&Path>, cwd: Option<&Path>) -> ConfirmPlan {
        let table = self.table_choice(home, cwd);
        let only_mapped = self.exclusive && table != TableChoice::None;
        match &self.kind {
            WizardKind::Copy { from, source, source_name, into, into_domain, .. } => {
                let name = self.name_text();
                ConfirmPlan {
                    ask: PlanAsk::Copy {
                        from: *from,
                        source: *source,
                        into: *into,
                        name: name.clone(),
                        preserve_acl: self.preserve_acl,
                        table,
                        only_mapped,
                    },
                    title: " Copy? ",
                    what: format!("Copy \"{source_name}\" to {into_domain} as \"{name}\""),
                    waiting: format!("Reading \"{source_name}\" and the GPOs of {into_domain}, mapping the settings…"),
                    domain: into_domain.clone(),
                    dir: PathBuf::new(),
                    kind: RunKind::Copy { domain: *into },
                }
            }
            WizardKind::ImportInto { domain, domain_name, gpo, gpo_name, dir } => {
                let backup = self.backups.get(self.pick).map(|b| b.backup_id.clone()).unwrap_or_default();
                import_plan(*domain, domain_name, *gpo, gpo_name, dir, backup, table, only_mapped)
            }
            WizardKind::ImportFrom { dir, backup_id, .. } => {
                // `next` refuses an empty list, so there is always a target here.
                let target = self.targets.get(self.pick).cloned().unwrap_or(TargetChoice {
                    domain: 0,
                    domain_name: String::new(),
                    gpo: GpoId(uuid::Uuid::nil()),
                    name: String::new(),
                });
                import_plan(
                    target.domain,
                    &target.domain_name,
                    target.gpo,
                    &target.name,
                    dir,
                    backup_id.clone(),
                    table,
                    only_mapped,
                )
            }
        }
    }

    /// The popup's title.
    fn title(&self) -> String {
        match &self.kind {
            WizardKind::Copy { source_name, into_domain, .. } => {
                format!(" Paste \"{source_name}\" into {into_domain} ")
            }
            WizardKind::ImportInto { gpo_name, .. } => format!(" Import settings into \"{gpo_name}\" "),
            WizardKind::ImportFrom { backup_name, .. } => format!(" Import the backup of \"{backup_name}\" "),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn import_plan(
    domain: usize,
    domain_name: &str,
    gpo: GpoId,
    gpo_name: &str,
    dir: &Path,
    backup_id: String,
    table: TableChoice,
    only_mapped: bool,
) -> ConfirmPlan {
    ConfirmPlan {
        ask: PlanAsk::Import { domain, gpo, dir: dir.to_path_buf(), backup_id: backup_id.clone(), table, only_mapped },
        title: " Import? ",
        what: format!("Import settings into \"{gpo_name}\""),
        waiting: format!("Reading backup {backup_id} and \"{gpo_name}\" in {domain_name}, mapping the settings…"),
        domain: domain_name.to_string(),
        dir: dir.to_path_buf(),
        kind: RunKind::Import { domain },
    }
}

// ---------------------------------------------------------------------------------------------
// Drawing

/// A choice line: a marker that shows without colour, the selected one in the selection style.
fn choice_line(text: String, chosen: bool, active: bool, theme: &Theme) -> Line<'static> {
    let marker = if chosen { "(•) " } else { "( ) " };
    let style = if chosen && active {
        theme.selected
    } else if chosen {
        theme.header
    } else {
        theme.normal
    };
    Line::from(vec![
        Span::styled(if chosen && active { "▶ " } else { "  " }, theme.key),
        Span::styled(format!("{marker}{text}"), style),
    ])
}

/// A window of `rows` list lines around the cursor.
fn list_lines(labels: &[String], pick: usize, rows: usize, theme: &Theme) -> Vec<Line<'static>> {
    let rows = rows.max(1);
    let start = pick.saturating_sub(rows / 2).min(labels.len().saturating_sub(rows));
    labels
        .iter()
        .enumerate()
        .skip(start)
        .take(rows)
        .map(|(i, label)| {
            let here = i == pick;
            let style = if here { theme.selected } else { theme.normal };
            Line::from(vec![
                Span::styled(if here { "▶ " } else { "  " }, theme.key),
                Span::styled(label.clone(), style),
            ])
        })
        .collect()
}

fn step_lines(wizard: &Wizard, theme: &Theme, rows: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    match wizard.step() {
        Step::Permissions => {
            let domain = match &wizard.kind {
                WizardKind::Copy { into_domain, .. } => into_domain.clone(),
                _ => String::new(),
            };
            lines.push(Line::styled("Who may read, apply and edit the copy:", theme.muted));
            lines.push(choice_line(
                format!("The default permissions for new GPOs in {domain}"),
                !wizard.preserve_acl,
                true,
                theme,
            ));
            lines.push(choice_line(
                "Preserve the source's permissions (principals mapped)".into(),
                wizard.preserve_acl,
                true,
                theme,
            ));
        }
        Step::Backup => {
            lines.push(Line::styled(
                format!("{} backups in the folder, newest first:", wizard.backups.len()),
                theme.muted,
            ));
            let labels: Vec<String> = wizard.backups.iter().map(|b| b.label.clone()).collect();
            lines.extend(list_lines(&labels, wizard.pick, rows.saturating_sub(1), theme));
        }
        Step::Target => {
            lines.push(Line::styled("Its settings replace the GPO's; links and permissions stay:", theme.muted));
            let labels: Vec<String> =
                wizard.targets.iter().map(|t| format!("{}  ({})", t.name, t.domain_name)).collect();
            lines.extend(list_lines(&labels, wizard.pick, rows.saturating_sub(1), theme));
        }
        Step::Table => {
            lines.push(Line::styled("Map principals and UNC paths through:", theme.muted));
            let active = !wizard.on_exclusive;
            for source in wizard.table_sources() {
                let text = match source {
                    TableSource::None => "No table: copy the settings as they are".to_string(),
                    TableSource::Editor => {
                        let (name, table) =
                            wizard.editor_table.as_ref().map(|(n, t)| (n.clone(), t.len())).unwrap_or_default();
                        format!("The table in the editor: {name} ({table} rows)")
                    }
                    TableSource::File => "A .migtable file:".to_string(),
                };
                lines.push(choice_line(text, wizard.table == source, active, theme));
            }
            // The path's own line is drawn as a field under the choices.
            lines.push(Line::default());
            let tick = if wizard.exclusive { "[x]" } else { "[ ]" };
            let usable = wizard.table != TableSource::None;
            let style = match (wizard.on_exclusive, usable) {
                (true, _) => theme.selected,
                (false, true) => theme.normal,
                (false, false) => theme.muted,
            };
            lines.push(Line::from(vec![
                Span::styled(if wizard.on_exclusive { "▶ " } else { "  " }, theme.key),
                Span::styled(format!("{tick} Use the table exclusively (every reference must have a row)"), style),
            ]));
        }
        Step::Name => {
            lines.push(Line::styled("The new GPO's name (the core refuses one taken):", theme.muted));
        }
    }
    lines
}

pub fn render(frame: &mut Frame, wizard: &Wizard, theme: &Theme) {
    let full = frame.area();
    let height = (LIST_ROWS as u16 + 8).min(full.height.saturating_sub(2).max(3));
    let area = centered(full, full.width.saturating_sub(4).clamp(20, 90), height);
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .title(Span::styled(wizard.title(), theme.focus))
        .border_type(BorderType::Double)
        .border_style(theme.focus)
        .style(theme.normal);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [heading, body, error, keys] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(0), Constraint::Length(1), Constraint::Length(1)])
            .areas(inner);
    let step = format!("Step {} of {}: {}", wizard.at + 1, wizard.steps.len(), wizard.step().title());
    frame.render_widget(Paragraph::new(Line::styled(step, theme.header)), heading);
    let lines = step_lines(wizard, theme, body.height as usize);
    let text_rows = lines.len() as u16;
    frame.render_widget(Paragraph::new(lines), body);
    // The step's text field, under its words.
    let field_row = match wizard.step() {
        Step::Name => Some((1, &wizard.name)),
        Step::Table => Some((wizard.table_sources().len() as u16 + 1, &wizard.table_path)),
        _ => None,
    };
    if let Some((row, field)) = field_row
        && row < body.height
        && (wizard.step() == Step::Name || wizard.table == TableSource::File)
    {
        let _ = text_rows;
        let at = Rect { x: body.x + 6, y: body.y + row, width: body.width.saturating_sub(6), height: 1 };
        frame.render_widget(&themed(field, theme), at);
    }
    if let Some(e) = &wizard.error {
        frame.render_widget(Paragraph::new(Line::styled(e.clone(), theme.error)), error);
    }
    let mut spans = Vec::new();
    let next = if wizard.is_last() { "plan" } else { "next" };
    let back = if wizard.at == 0 { "cancel" } else { "back" };
    let mut hints = vec![(key_at(Focus::Form, Action::Confirm), next), (key_at(Focus::Form, Action::Cancel), back)];
    if matches!(wizard.step(), Step::Permissions | Step::Backup | Step::Target | Step::Table) {
        hints.push((key_at(Focus::Form, Action::Down), "choose"));
    }
    if wizard.step() == Step::Table && wizard.table != TableSource::None {
        hints.push((key_at(Focus::Form, Action::NextField), "exclusively"));
    }
    for (key, hint) in hints {
        spans.push(Span::styled(key, theme.key));
        spans.push(Span::raw(format!(" {hint}  ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), keys);
}
