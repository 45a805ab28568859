//! The migration-table editor: GPMC's Migration Table Editor in the terminal. One table at a
//! time, opened from a `.migtable` file or new; its rows (type, source, destination form and
//! destination) in a virtualised list that `/` filters. A cell is edited in place (the source
//! or destination text in a one-line field, the type or destination form from a short list);
//! rows are added and deleted (after a yes). Populating from the GPO selected in the tree or
//! the backup selected in the backup list runs as a job and merges what it finds without
//! duplicating a source; validating against a connected domain marks each row ✓ or ✗ with the
//! reason. What `MigrationTable::validate` finds without the network (an empty or duplicate
//! source, DestinationNone on a UNC path...) is marked as the rows are typed.
//!
//! The file is read and written by the core (`ops::migtable::open`/`save`, atomically) in a job;
//! unsaved changes are guarded: leaving with `q`, opening or starting another table, and quitting
//! ask first.

use std::any::Any;
use std::collections::HashMap;
use std::path::PathBuf;

use crossterm::event::KeyCode;
use gpvault::migrate::table::{Destination, EntryType, Mapping, MigrationTable};
use gpvault::migrate::validate::{RowCheck, RowProblem};
use gpvault::ops::PlanDescription;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};
use ratatui_textarea::{Input, TextArea};

use super::status::Level;
use super::tree::fit;
use super::{Context, Inner, ListFrame, Pane, PaneId, PaneSpec, Prompt, Request, Slot, render_list_frame};
use crate::tui::action::{Action, Effect, PopulateFrom, PopulatedRows};
use crate::tui::filter::{FilterChange, FilterEdit, ListFilter, SearchIndex};
use crate::tui::keymap::{Scope, bind, ch, key, key_at, key_for};
use crate::tui::popup::{paste_into, single_line, themed, type_into};
use crate::tui::state::{Focus, Phase};
use crate::tui::theme::Theme;

pub const ID: PaneId = PaneId("migtable");

const HERE: Scope = Scope::On(Focus::Pane(ID));

pub static SPEC: PaneSpec = PaneSpec {
    id: ID,
    // As the CLI (`gpvault migtable`) and the files (.migtable) call it: short enough that the
    // numbered tabs still fit the title bar at 80 columns.
    name: "Migtable",
    slot: Slot::Wide,
    numbered: true,
    keys: &[
        bind(
            HERE,
            &[key(KeyCode::Enter, "Enter")],
            Action::EditCell,
            "Edit the cell: its text in place, the type or destination form from a list",
            Some("edit"),
        ),
        bind(HERE, &[key(KeyCode::Left, "←"), ch('h', "h")], Action::PrevColumn, "Previous column", None),
        bind(HERE, &[key(KeyCode::Right, "→"), ch('l', "l")], Action::NextColumn, "Next column", None),
        bind(
            HERE,
            &[ch('i', "i")],
            Action::AddRow,
            "Insert a new row below the cursor (its source is typed first)",
            Some("insert"),
        ),
        bind(HERE, &[ch('d', "d")], Action::DeleteRow, "Delete the row (asks first)", None),
        bind(HERE, &[ch('t', "t")], Action::PickType, "Choose the row's type from a list", None),
        bind(
            HERE,
            &[ch('f', "f")],
            Action::PickForm,
            "Choose the destination form: Destination, SameAsSource, None, ByRelativeName",
            None,
        ),
        bind(HERE, &[ch('s', "s")], Action::SaveTable, "Save the table (a new one asks where)", Some("save")),
        bind(HERE, &[ch('S', "S")], Action::SaveTableAs, "Save the table as another file", None),
        bind(HERE, &[ch('o', "o")], Action::OpenTable, "Open a .migtable file (asks first if unsaved)", Some("open")),
        bind(HERE, &[ch('c', "c")], Action::NewTable, "Start a new, empty table (asks first if unsaved)", None),
        bind(
            HERE,
            &[ch('p', "p")],
            Action::PopulateFromGpo,
            "Populate from the GPO selected in the tree (adds sources not yet in the table)",
            Some("populate"),
        ),
        bind(
            HERE,
            &[ch('P', "P")],
            Action::PopulateFromBackup,
            "Populate from the backup selected in the backup list",
            None,
        ),
        bind(
            HERE,
            &[ch('v', "v")],
            Action::ValidateTable,
            "Validate against a connected domain (the tree's; asks which when several)",
            Some("validate"),
        ),
    ],
    new: || Box::new(MigtablePane::default()),
};

/// The columns the cursor moves between, left to right.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Column {
    Type,
    #[default]
    Source,
    Form,
    Destination,
}

const COLUMNS: [Column; 4] = [Column::Type, Column::Source, Column::Form, Column::Destination];

/// The destination forms, as the file names them, with what each means.
const FORMS: [(&str, &str); 4] = [
    ("Destination", "the principal or UNC path typed in the destination cell"),
    ("SameAsSource", "keep the reference as it is"),
    ("None", "remove the principal from the settings (not for UNC paths)"),
    ("ByRelativeName", "the same name in the destination domain"),
];

fn form_index(destination: &Destination) -> usize {
    match destination {
        Destination::Set(_) => 0,
        Destination::SameAsSource => 1,
        Destination::None => 2,
        Destination::ByRelativeName => 3,
    }
}

/// A cell being edited in place.
pub struct CellEdit {
    /// The row in the table (not in the filtered list).
    pub row: usize,
    pub column: Column,
    pub area: TextArea<'static>,
    /// The row was just added: cancelling removes it again.
    pub added: bool,
}

/// What a choice list chooses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChoiceKind {
    Type,
    Form,
    /// Which connected domain to validate against: (tree index, DNS name).
    Domain(Vec<(usize, String)>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub kind: ChoiceKind,
    pub cursor: usize,
}

impl Choice {
    fn items(&self) -> Vec<(String, String)> {
        match &self.kind {
            // GPMC's own words beside the file's, where they differ.
            ChoiceKind::Type => EntryType::ALL
                .iter()
                .map(|t| {
                    let label = if t.label() == t.xml_name() { "" } else { t.label() };
                    (t.xml_name().to_string(), label.to_string())
                })
                .collect(),
            ChoiceKind::Form => FORMS.iter().map(|(name, what)| (name.to_string(), what.to_string())).collect(),
            ChoiceKind::Domain(domains) => domains.iter().map(|(_, name)| (name.clone(), String::new())).collect(),
        }
    }

    fn title(&self) -> &'static str {
        match self.kind {
            ChoiceKind::Type => " Type ",
            ChoiceKind::Form => " Destination form ",
            ChoiceKind::Domain(_) => " Validate against ",
        }
    }
}

/// The pane's own question, waiting for its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Question {
    DeleteRow {
        row: usize,
        mapping: Mapping,
    },
    /// Discard the unsaved changes, then do this.
    Discard(Then),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    Open,
    New,
    /// Leave the pane (`q`).
    Leave,
}

/// What a domain said of each row, by the row's content: a mark stays on a row while the row is
/// unchanged, wherever it moves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    pub domain: String,
    /// The problems the domain found (none: ✓), by row.
    marks: HashMap<Mapping, Vec<String>>,
}

/// A job in flight and what the title says of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Busy {
    Opening(PathBuf),
    Saving(PathBuf),
    Populating { request: u64, what: String },
    Validating { request: u64, domain: String },
}

/// How a row is marked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Not checked against a domain, nothing wrong seen.
    Plain,
    /// The domain holds what it names.
    Ok,
    /// Reasons, from the table's own check and the domain's.
    Bad(Vec<String>),
}

#[derive(Default)]
pub struct MigtablePane {
    table: MigrationTable,
    /// The file the table was opened from or saved to; `None`: a new table.
    pub path: Option<PathBuf>,
    /// The table as last opened or saved: unsaved while the rows differ from its rows.
    clean: MigrationTable,
    /// `MigrationTable::validate` of the rows, as reasons by row (from 0), kept up to date.
    issues: HashMap<usize, Vec<String>>,
    pub checked: Option<Checked>,
    pub busy: Vec<Busy>,
    /// The latest populate or validate asked for: older answers are dropped.
    request: u64,
    pub cursor: usize,
    /// First row of the window (in the shown list).
    pub offset: usize,
    pub column: Column,
    pub edit: Option<CellEdit>,
    pub choice: Option<Choice>,
    pub question: Option<Question>,
    filter: ListFilter,
    index: SearchIndex,
    generation: u64,
}

impl MigtablePane {
    /// The rows as they are now, saved or not.
    pub fn table(&self) -> &MigrationTable {
        &self.table
    }

    /// How many rows the list shows (those the filter matches).
    pub fn len(&self) -> usize {
        self.filter.matches().map_or(self.table.len(), <[u32]>::len)
    }

    /// The table row the `i`th row shown is.
    pub fn table_row(&self, i: usize) -> Option<usize> {
        match self.filter.matches() {
            Some(matches) => matches.get(i).map(|at| *at as usize),
            None => (i < self.table.len()).then_some(i),
        }
    }

    /// The table row under the cursor.
    pub fn cursor_row(&self) -> Option<usize> {
        self.table_row(self.cursor)
    }

    fn shown_position(&self, row: usize) -> Option<usize> {
        (0..self.len()).find(|i| self.table_row(*i) == Some(row))
    }

    /// The file name, or what a new table is called.
    pub fn name(&self) -> String {
        match &self.path {
            Some(path) => path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into()),
            None => "the new migration table".into(),
        }
    }

    pub fn is_unsaved(&self) -> bool {
        self.table.rows() != self.clean.rows()
    }

    /// How a row is marked: the table's own check first, then the domain's.
    pub fn mark(&self, row: usize) -> Mark {
        let mut reasons = self.issues.get(&row).cloned().unwrap_or_default();
        let domain = self.table.get(row).and_then(|m| self.checked.as_ref().and_then(|c| c.marks.get(m)));
        if let Some(problems) = domain {
            reasons.extend(problems.iter().cloned());
        }
        match (reasons.is_empty(), domain) {
            (false, _) => Mark::Bad(reasons),
            (true, Some(_)) => Mark::Ok,
            (true, None) => Mark::Plain,
        }
    }

    /// After any change to the rows: the table's own check, the search index and the filter,
    /// the cursor within the list.
    fn changed(&mut self) {
        self.issues.clear();
        for issue in self.table.validate() {
            self.issues.entry(issue.row - 1).or_default().push(issue.issue.to_string());
        }
        self.generation += 1;
        self.index = SearchIndex::new(self.table.rows().iter().map(search_text), self.generation);
        self.filter.refresh(&self.index);
        self.cursor = self.cursor.min(self.len().saturating_sub(1));
        self.offset = self.offset.min(self.cursor);
    }

    /// Replaces the table (opened, or new): from the top, nothing marked or open.
    fn replace(&mut self, table: MigrationTable, path: Option<PathBuf>) {
        self.clean = table.clone();
        self.table = table;
        self.path = path;
        self.checked = None;
        self.edit = None;
        self.choice = None;
        self.cursor = 0;
        self.offset = 0;
        self.changed();
    }

    /// The admin named a file to open: read it in a job.
    pub fn open(&mut self, path: PathBuf) -> Vec<Request> {
        self.busy.retain(|b| !matches!(b, Busy::Opening(_)));
        self.busy.push(Busy::Opening(path.clone()));
        vec![Request::Read(Effect::OpenMigtable { path })]
    }

    /// The admin named where to save: write it there in a job.
    pub fn save_as(&mut self, path: PathBuf) -> Vec<Request> {
        self.busy.push(Busy::Saving(path.clone()));
        vec![Request::Read(Effect::SaveMigtable { path, table: self.table.clone() })]
    }

    pub fn opened(&mut self, path: PathBuf, result: Result<MigrationTable, String>) -> Vec<Request> {
        self.busy.retain(|b| *b != Busy::Opening(path.clone()));
        match result {
            Ok(table) => {
                let text = format!("Opened {}: {} rows", path.display(), table.len());
                self.replace(table, Some(path));
                vec![Request::Note(Level::Success, text)]
            }
            Err(e) => vec![Request::Note(Level::Error, e)],
        }
    }

    pub fn saved(&mut self, path: PathBuf, rows: Vec<Mapping>, result: Result<(), String>) -> Vec<Request> {
        self.busy.retain(|b| *b != Busy::Saving(path.clone()));
        match result {
            Ok(()) => {
                self.clean = if self.table.rows() == rows.as_slice() {
                    self.table.clone()
                } else {
                    MigrationTable::from_rows(rows)
                };
                self.path = Some(path.clone());
                let problems = (0..self.table.len()).filter(|r| self.issues.contains_key(r)).count();
                let mut text = format!("Saved {} rows to {}", self.clean.len(), path.display());
                if problems > 0 {
                    text.push_str(&format!(" ({problems} with problems, marked ✗)"));
                }
                vec![Request::Note(Level::Success, text)]
            }
            Err(e) => vec![Request::Note(Level::Error, e)],
        }
    }

    pub fn populated(&mut self, request: u64, result: Result<PopulatedRows, String>) -> Vec<Request> {
        let Some(at) = self.busy.iter().position(|b| matches!(b, Busy::Populating { request: r, .. } if *r == request))
        else {
            return Vec::new();
        };
        let Busy::Populating { what, .. } = self.busy.remove(at) else { return Vec::new() };
        match result {
            Ok(found) => {
                let merged = self.table.merge(found.rows);
                self.changed();
                let mut notes = vec![Request::Note(
                    Level::Success,
                    format!(
                        "Populated from {what}: {} rows added, {} already in the table",
                        merged.added, merged.already_there
                    ),
                )];
                if found.unresolved > 0 {
                    let text =
                        format!("{} principal(s) could not be named: listed with type Unknown", found.unresolved);
                    notes.push(Request::Note(Level::Warning, text));
                }
                for file in found.unreadable {
                    let text = format!("{file} could not be read: its principals and paths are missing");
                    notes.push(Request::Note(Level::Warning, text));
                }
                notes
            }
            Err(e) => vec![Request::Note(Level::Error, format!("Populate from {what}: {e}"))],
        }
    }

    pub fn validated(&mut self, request: u64, domain: String, result: Result<Vec<RowCheck>, String>) -> Vec<Request> {
        let waiting = |b: &Busy| matches!(b, Busy::Validating { request: r, .. } if *r == request);
        let Some(at) = self.busy.iter().position(waiting) else { return Vec::new() };
        let Busy::Validating { domain: asked, .. } = self.busy.remove(at) else { return Vec::new() };
        let checks = match result {
            Ok(checks) => checks,
            Err(e) => return vec![Request::Note(Level::Error, format!("Validate against {asked}: {e}"))],
        };
        let mut marks: HashMap<Mapping, Vec<String>> = HashMap::new();
        let mut bad = 0;
        for check in &checks {
            // The table's own problems are marked live; the domain's are kept with the row.
            let problems: Vec<String> =
                check.problems.iter().filter(|p| !matches!(p, RowProblem::Table(_))).map(ToString::to_string).collect();
            if !check.is_ok() {
                bad += 1;
            }
            marks.entry(check.mapping.clone()).or_default().extend(problems);
        }
        let level = if bad == 0 { Level::Success } else { Level::Warning };
        let text = format!("Validated against {domain}: {} rows ok, {bad} with problems", checks.len() - bad);
        self.checked = Some(Checked { domain, marks });
        vec![Request::Note(level, text)]
    }

    // ---- keys ---------------------------------------------------------------------------------

    fn rows_page(&self, ctx: &Context) -> usize {
        // The header takes a line.
        ctx.page.saturating_sub(1).max(1)
    }

    /// Lines a shown row takes: itself, and its reasons when it is marked ✗ (the cursor row's
    /// in full, up to a few lines; the others' on one line).
    fn row_height(&self, shown: usize, width: u16) -> usize {
        let Some(row) = self.table_row(shown) else { return 1 };
        match self.mark(row) {
            Mark::Bad(reasons) if shown == self.cursor => 1 + reason_lines(&reasons, width).len(),
            Mark::Bad(_) => 2,
            _ => 1,
        }
    }

    fn scroll_into_view(&mut self, ctx: &Context) {
        self.offset = self.window(self.offset, self.rows_page(ctx), ctx.width);
    }

    /// The first row of a window of `page` lines that shows the cursor, as near `offset` as
    /// can be, with no empty lines at the end while rows above could fill them.
    fn window(&self, offset: usize, page: usize, width: u16) -> usize {
        let mut offset = offset.min(self.cursor);
        let height = |from: usize, to: usize| (from..to).map(|i| self.row_height(i, width)).sum::<usize>();
        while offset < self.cursor && height(offset, self.cursor + 1) > page {
            offset += 1;
        }
        // Rows below the window are few (a resize, a delete): the window moves up to fill.
        while offset > 0 && height(offset - 1, self.len().min(offset - 1 + page + 1)) <= page {
            offset -= 1;
        }
        offset
    }

    fn select(&mut self, shown: usize, ctx: &Context) {
        self.cursor = shown.min(self.len().saturating_sub(1));
        self.scroll_into_view(ctx);
    }

    fn move_cursor(&mut self, action: Action, ctx: &Context) {
        let page = self.rows_page(ctx);
        let last = self.len().saturating_sub(1);
        let to = match action {
            Action::Up => self.cursor.saturating_sub(1),
            Action::Down => (self.cursor + 1).min(last),
            Action::PageUp => self.cursor.saturating_sub(page),
            Action::PageDown => (self.cursor + page).min(last),
            Action::Top => 0,
            Action::Bottom => last,
            _ => self.cursor,
        };
        self.select(to, ctx);
    }

    fn start_edit(&mut self, row: usize, column: Column, added: bool) {
        let Some(mapping) = self.table.get(row) else { return };
        let text = match (column, &mapping.destination) {
            (Column::Source, _) => mapping.source.clone(),
            (Column::Destination, Destination::Set(text)) => text.clone(),
            (Column::Destination, _) => String::new(),
            _ => return,
        };
        let placeholder = match column {
            Column::Source => r"DOMAIN\name, name@dns.domain, a SID or \\server\share",
            _ => r"the principal or \\server\share it becomes",
        };
        self.column = column;
        self.edit = Some(CellEdit { row, column, area: single_line(&text, placeholder), added });
    }

    fn edit_cell(&mut self) {
        let Some(row) = self.cursor_row() else { return };
        match self.column {
            Column::Type => self.open_choice(ChoiceKind::Type),
            Column::Form => self.open_choice(ChoiceKind::Form),
            column => self.start_edit(row, column, false),
        }
    }

    fn open_choice(&mut self, kind: ChoiceKind) {
        let Some(mapping) = self.cursor_row().and_then(|r| self.table.get(r)) else { return };
        let cursor = match kind {
            ChoiceKind::Type => EntryType::ALL.iter().position(|t| *t == mapping.entry_type).unwrap_or(0),
            ChoiceKind::Form => form_index(&mapping.destination),
            ChoiceKind::Domain(_) => 0,
        };
        self.column = match kind {
            ChoiceKind::Type => Column::Type,
            ChoiceKind::Form => Column::Form,
            ChoiceKind::Domain(_) => self.column,
        };
        self.choice = Some(Choice { kind, cursor });
    }

    /// Replaces the row at `row` with what `change` makes of it.
    fn change_row(&mut self, row: usize, change: impl FnOnce(&mut Mapping)) {
        let Some(mut mapping) = self.table.get(row).cloned() else { return };
        change(&mut mapping);
        if self.table.update(row, mapping).is_ok() {
            self.changed();
            // The row may now be hidden by the filter, or shown elsewhere.
            if let Some(at) = self.shown_position(row) {
                self.cursor = at;
            }
        }
    }

    fn finish_edit(&mut self, keep: bool, ctx: &Context) {
        let Some(edit) = self.edit.take() else { return };
        if !keep {
            if edit.added && self.table.remove(edit.row).is_ok() {
                self.changed();
                self.select(self.cursor.saturating_sub(1), ctx);
            }
            return;
        }
        let text = edit.area.lines().join("");
        match edit.column {
            Column::Source => self.change_row(edit.row, |m| {
                // A new row's type follows what is typed: a UNC path is one.
                if edit.added && text.trim_start().starts_with(r"\\") {
                    m.entry_type = EntryType::UncPath;
                }
                m.source = text;
            }),
            _ => self.change_row(edit.row, |m| m.destination = Destination::Set(text)),
        }
        self.scroll_into_view(ctx);
    }

    fn choose(&mut self, ctx: &Context) -> Vec<Request> {
        let Some(choice) = self.choice.take() else { return Vec::new() };
        let Some(row) = self.cursor_row() else {
            return match choice.kind {
                ChoiceKind::Domain(domains) => self.validate(domains.get(choice.cursor).cloned()),
                _ => Vec::new(),
            };
        };
        match choice.kind {
            ChoiceKind::Type => {
                let entry_type = EntryType::ALL[choice.cursor.min(EntryType::ALL.len() - 1)];
                self.change_row(row, |m| m.entry_type = entry_type);
            }
            ChoiceKind::Form => {
                match choice.cursor {
                    // A typed destination: what is there now is typed over.
                    0 => {
                        if !matches!(self.table.get(row).map(|m| &m.destination), Some(Destination::Set(_))) {
                            self.start_edit(row, Column::Destination, false);
                        }
                    }
                    1 => self.change_row(row, |m| m.destination = Destination::SameAsSource),
                    2 => self.change_row(row, |m| m.destination = Destination::None),
                    _ => self.change_row(row, |m| m.destination = Destination::ByRelativeName),
                }
            }
            ChoiceKind::Domain(domains) => return self.validate(domains.get(choice.cursor).cloned()),
        }
        self.scroll_into_view(ctx);
        Vec::new()
    }

    fn add_row(&mut self, ctx: &Context) {
        // The new row must be seen: no filter hides it.
        if self.filter.is_active() || self.filter.editing() {
            self.filter.edit(FilterEdit::Clear, &self.index);
        }
        let below = self.cursor_row().map_or(self.table.len(), |r| r + 1);
        let entry_type = self.cursor_row().and_then(|r| self.table.get(r)).map_or(EntryType::User, |m| m.entry_type);
        let mapping = Mapping { entry_type, source: String::new(), destination: Destination::SameAsSource };
        if self.table.insert(below, mapping).is_err() {
            return;
        }
        self.changed();
        self.select(below, ctx);
        self.start_edit(below, Column::Source, true);
    }

    fn ask_delete(&mut self) -> Vec<Request> {
        let Some(row) = self.cursor_row() else { return Vec::new() };
        let Some(mapping) = self.table.get(row).cloned() else { return Vec::new() };
        let question = PlanDescription {
            title: format!("Delete row {} of {}?", row + 1, self.name()),
            changes: Vec::new(),
            notes: vec![format!(
                "{}  {} → {}",
                mapping.entry_type,
                if mapping.source.is_empty() { "(no source)" } else { &mapping.source },
                destination_text(&mapping.destination)
            )],
        };
        self.question = Some(Question::DeleteRow { row, mapping });
        vec![Request::Ask { pane: ID, title: " Delete row? ", question }]
    }

    /// Asks to discard the unsaved changes before `then`, or does it at once when all is saved.
    fn guard(&mut self, then: Then, ctx: &Context) -> Vec<Request> {
        if !self.is_unsaved() {
            return self.carry_out(then, ctx);
        }
        let (title, ask) = match then {
            Then::Open => (" Open another table? ", "Open another table and discard them?".to_string()),
            Then::New => (" New table? ", "Start a new table and discard them?".to_string()),
            Then::Leave => (
                " Leave? ",
                format!("Leave the editor and discard them? ({} leaves and keeps them.)", key_for(Action::NextPane)),
            ),
        };
        let question = PlanDescription {
            title: format!("Unsaved changes to {}.", self.name()),
            changes: Vec::new(),
            notes: vec![ask, format!("{} saves them first.", key_for(Action::SaveTable))],
        };
        self.question = Some(Question::Discard(then));
        vec![Request::Ask { pane: ID, title, question }]
    }

    fn carry_out(&mut self, then: Then, _ctx: &Context) -> Vec<Request> {
        match then {
            Then::Open => vec![Request::Prompt(Prompt::OpenTable(self.path.clone()))],
            Then::New => {
                self.replace(MigrationTable::new(), None);
                Vec::new()
            }
            Then::Leave => {
                // Back to the table as last opened or saved.
                let clean = self.clean.clone();
                let path = self.path.clone();
                self.replace(clean, path);
                vec![Request::GoHome]
            }
        }
    }

    fn save(&mut self) -> Vec<Request> {
        match self.path.clone() {
            Some(path) => self.save_as(path),
            None => vec![Request::Prompt(Prompt::SaveTableAs(None))],
        }
    }

    fn populate_from_gpo(&mut self, ctx: &Context) -> Vec<Request> {
        let picked = ctx.selected.and_then(|row| Some((row.key.domain(), row.key.gpo()?)));
        let Some((d, gpo)) = picked else {
            let text = format!("Select a GPO in the tree ({}) to populate from", key_for(Action::Focus1));
            return vec![Request::Note(Level::Warning, text)];
        };
        let Some(domain) = ctx.domains.get(d) else { return Vec::new() };
        let Some(estate) = domain.estate.as_ref().filter(|_| domain.phase == Phase::Ready) else {
            return vec![Request::Note(Level::Warning, format!("{}: connect first", domain.label))];
        };
        let name = estate.gpos.iter().find(|g| g.id == gpo).map_or_else(|| gpo.to_string(), |g| g.display_name.clone());
        self.populate(PopulateFrom::Gpo { domain: d, gpo, name })
    }

    fn populate_from_backup(&mut self, ctx: &Context) -> Vec<Request> {
        let Some(backup) = ctx.selected_backup.clone() else {
            let text = format!("Select a backup in the backup list ({}) to populate from", key_for(Action::Focus2));
            return vec![Request::Note(Level::Warning, text)];
        };
        self.populate(PopulateFrom::Backup { dir: backup.dir, backup_id: backup.backup_id, name: backup.name })
    }

    fn populate(&mut self, from: PopulateFrom) -> Vec<Request> {
        self.request += 1;
        self.busy.push(Busy::Populating { request: self.request, what: from.describe() });
        vec![Request::Read(Effect::PopulateMigtable { request: self.request, from })]
    }

    /// The domain to validate against: the tree cursor's if connected, else the only one
    /// connected; several: the admin chooses.
    fn ask_validate(&mut self, ctx: &Context) -> Vec<Request> {
        let connected: Vec<(usize, String)> = ctx
            .domains
            .iter()
            .enumerate()
            .filter(|(_, d)| d.phase == Phase::Ready)
            .filter_map(|(i, d)| Some((i, d.estate.as_ref()?.domain.dns_name.clone())))
            .collect();
        let under_cursor = ctx.selected.map(|row| row.key.domain());
        if let Some(found) = connected.iter().find(|(i, _)| Some(*i) == under_cursor) {
            return self.validate(Some(found.clone()));
        }
        match connected.len() {
            0 => {
                let text =
                    format!("Connect a domain to validate against ({} on it in the tree)", key_for(Action::Toggle));
                vec![Request::Note(Level::Warning, text)]
            }
            1 => self.validate(connected.into_iter().next()),
            _ => {
                self.choice = Some(Choice { kind: ChoiceKind::Domain(connected), cursor: 0 });
                Vec::new()
            }
        }
    }

    fn validate(&mut self, domain: Option<(usize, String)>) -> Vec<Request> {
        let Some((d, name)) = domain else { return Vec::new() };
        self.request += 1;
        self.busy.push(Busy::Validating { request: self.request, domain: name });
        vec![Request::Read(Effect::ValidateMigtable { request: self.request, domain: d, table: self.table.clone() })]
    }

    // ---- drawing ------------------------------------------------------------------------------

    fn title(&self, ctx: &Context) -> String {
        // The file's name: its folder is in the status line that opened or saved it.
        let what = match &self.path {
            Some(_) => self.name(),
            None => "New migration table".into(),
        };
        let mut title = format!("{what}: {} rows", self.table.len());
        if self.is_unsaved() {
            title.push_str(", unsaved");
        }
        for busy in &self.busy {
            let doing = match busy {
                Busy::Opening(_) => "opening…".to_string(),
                Busy::Saving(_) => "saving…".to_string(),
                Busy::Populating { what, .. } => format!("populating from {what}…"),
                Busy::Validating { domain, .. } => format!("validating against {domain}…"),
            };
            title.push_str(&format!(", {} {doing}", ctx.spinner));
        }
        if let Some(checked) = &self.checked
            && !self.busy.iter().any(|b| matches!(b, Busy::Validating { .. }))
        {
            title.push_str(&format!(", checked against {}", checked.domain));
        }
        title
    }

    fn empty_lines(&self, theme: &Theme) -> Vec<Line<'static>> {
        vec![
            Line::styled("No rows.", theme.header),
            Line::default(),
            Line::raw(format!(
                "{} inserts a row; {} populates from the GPO selected in the tree, {} from the backup selected in the \
                 backup list.",
                key_for(Action::AddRow),
                key_for(Action::PopulateFromGpo),
                key_for(Action::PopulateFromBackup)
            )),
            Line::raw(format!(
                "{} opens a .migtable file, {} saves, {} validates against a connected domain.",
                key_for(Action::OpenTable),
                key_for(Action::SaveTable),
                key_for(Action::ValidateTable)
            )),
        ]
    }
}

/// What `/` searches in a row: its type, source and destination.
fn search_text(mapping: &Mapping) -> String {
    format!("{} {} {}", mapping.entry_type, mapping.source, destination_text(&mapping.destination))
}

/// The destination as the editor shows it.
pub fn destination_text(destination: &Destination) -> String {
    match destination {
        Destination::Set(text) => text.clone(),
        Destination::SameAsSource => "(same as source)".into(),
        Destination::None => "(none)".into(),
        Destination::ByRelativeName => "(by relative name)".into(),
    }
}

/// Reasons cut into lines of the row's width (under "  └ "), at most four.
fn reason_lines(reasons: &[String], width: u16) -> Vec<String> {
    let room = (width as usize).saturating_sub(4).max(10);
    let text = reasons.join("; ");
    let chars: Vec<char> = text.chars().collect();
    let mut lines: Vec<String> = chars.chunks(room).map(|c| c.iter().collect()).collect();
    if lines.len() > 4 {
        lines.truncate(4);
        if let Some(last) = lines.last_mut() {
            last.pop();
            last.push('…');
        }
    }
    lines
}

const MARK: usize = 2;
const TYPE: usize = 14;
const FORM: usize = 14;
const GAP: usize = 1;

/// Column widths for `width` columns: type and form fixed, source and destination share the
/// rest.
fn widths(width: u16) -> [usize; 4] {
    let rest = (width as usize).saturating_sub(MARK + TYPE + FORM + 3 * GAP);
    let source = rest / 2;
    [TYPE, source, FORM, rest - source]
}

/// `text` cut or padded to exactly `width` columns.
fn cell(text: &str, width: usize) -> String {
    let line = fit(Line::raw(text), width);
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let used = Line::raw(text.as_str()).width();
    format!("{text}{}", " ".repeat(width.saturating_sub(used)))
}

/// Where each column starts, from the row's left edge.
fn column_x(column: Column, widths: &[usize; 4]) -> usize {
    let at = COLUMNS.iter().position(|c| *c == column).unwrap_or(0);
    MARK + widths[..at].iter().map(|w| w + GAP).sum::<usize>()
}

impl Pane for MigtablePane {
    fn title(&self, ctx: &Context) -> String {
        self.title(ctx)
    }

    fn handle(&mut self, action: Action, ctx: &Context) -> Vec<Request> {
        if self.edit.is_some() {
            match action {
                Action::Confirm => self.finish_edit(true, ctx),
                Action::Cancel => self.finish_edit(false, ctx),
                _ => {}
            }
            return Vec::new();
        }
        if let Some(choice) = &mut self.choice {
            let last = choice.items().len().saturating_sub(1);
            match action {
                Action::Up => choice.cursor = choice.cursor.saturating_sub(1),
                Action::Down => choice.cursor = (choice.cursor + 1).min(last),
                Action::Top => choice.cursor = 0,
                Action::Bottom => choice.cursor = last,
                Action::Confirm => return self.choose(ctx),
                Action::Cancel => self.choice = None,
                _ => {}
            }
            return Vec::new();
        }
        match action {
            Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom => {
                self.move_cursor(action, ctx);
                Vec::new()
            }
            Action::PrevColumn | Action::NextColumn => {
                let at = COLUMNS.iter().position(|c| *c == self.column).unwrap_or(0);
                let to = if action == Action::NextColumn { (at + 1).min(3) } else { at.saturating_sub(1) };
                self.column = COLUMNS[to];
                Vec::new()
            }
            Action::EditCell => {
                self.edit_cell();
                Vec::new()
            }
            Action::PickType => {
                self.open_choice(ChoiceKind::Type);
                Vec::new()
            }
            Action::PickForm => {
                self.open_choice(ChoiceKind::Form);
                Vec::new()
            }
            Action::AddRow => {
                self.add_row(ctx);
                Vec::new()
            }
            Action::DeleteRow => self.ask_delete(),
            Action::OpenTable => self.guard(Then::Open, ctx),
            Action::NewTable => self.guard(Then::New, ctx),
            Action::SaveTable => self.save(),
            Action::SaveTableAs => vec![Request::Prompt(Prompt::SaveTableAs(self.path.clone()))],
            Action::PopulateFromGpo => self.populate_from_gpo(ctx),
            Action::PopulateFromBackup => self.populate_from_backup(ctx),
            Action::ValidateTable => self.ask_validate(ctx),
            _ => Vec::new(),
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, ctx: &Context, focused: bool) {
        let theme = ctx.theme;
        let list = ListFrame { title: self.title(ctx), filter: &self.filter, len: self.len(), cursor: self.cursor };
        let Some(inner) = render_list_frame(frame, area, ctx, focused, list) else {
            return;
        };
        if self.table.is_empty() {
            frame.render_widget(Paragraph::new(self.empty_lines(theme)).wrap(Wrap { trim: false }), inner);
            return;
        }
        let [header, rows] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        let widths = widths(inner.width);
        let gap = " ".repeat(GAP);
        let names = ["Type", "Source", "Form", "Destination"];
        let mut text = " ".repeat(MARK);
        for (i, name) in names.iter().enumerate() {
            text.push_str(&cell(name, widths[i]));
            if i < 3 {
                text.push_str(&gap);
            }
        }
        frame.render_widget(Paragraph::new(fit(Line::styled(text, theme.header), header.width as usize)), header);

        // Only the rows in the window are made into lines. A resize since the last key may have
        // moved the cursor out of it: drawn as if it followed.
        let height = rows.height as usize;
        let offset = self.window(self.offset, height, rows.width);
        let width = rows.width as usize;
        let mut lines: Vec<Line> = Vec::new();
        let mut edited_line = None;
        let mut shown = offset;
        while lines.len() < height && shown < self.len() {
            let Some(row) = self.table_row(shown) else { break };
            let Some(mapping) = self.table.get(row) else { break };
            let mark = self.mark(row);
            let at_cursor = shown == self.cursor;
            if self.edit.as_ref().is_some_and(|e| e.row == row) {
                edited_line = Some(lines.len());
            }
            let (mark_span, mark_style) = match &mark {
                Mark::Plain => ("  ", theme.normal),
                Mark::Ok => ("✓ ", theme.success),
                Mark::Bad(_) => ("✗ ", theme.error),
            };
            let cells = [
                mapping.entry_type.xml_name().to_string(),
                mapping.source.clone(),
                FORMS[form_index(&mapping.destination)].0.to_string(),
                match &mapping.destination {
                    Destination::Set(text) => text.clone(),
                    _ => "—".into(),
                },
            ];
            let row_style = match (at_cursor, focused) {
                (true, true) => theme.selected,
                (true, false) => theme.selected_unfocused,
                _ => Style::default(),
            };
            let mut spans = vec![Span::styled(mark_span, mark_style.patch(row_style))];
            for (i, text) in cells.iter().enumerate() {
                let mut style = match COLUMNS[i] {
                    Column::Form if !matches!(mapping.destination, Destination::Set(_)) => theme.normal,
                    Column::Destination if !matches!(mapping.destination, Destination::Set(_)) => theme.muted,
                    _ => theme.normal,
                };
                style = style.patch(row_style);
                // The cell the keys act on stands out without colour too.
                if at_cursor && focused && COLUMNS[i] == self.column {
                    style = style.add_modifier(Modifier::UNDERLINED);
                }
                spans.push(Span::styled(cell(text, widths[i]), style));
                if i < 3 {
                    spans.push(Span::styled(gap.clone(), row_style));
                }
            }
            let line = fit(Line::from(spans), width);
            let used = line.width();
            let mut line = line;
            if at_cursor {
                line.spans.push(Span::styled(" ".repeat(width.saturating_sub(used)), row_style));
            }
            lines.push(line);
            if let Mark::Bad(reasons) = &mark {
                let reason = if at_cursor { reason_lines(reasons, rows.width) } else { vec![reasons.join("; ")] };
                for (i, text) in reason.into_iter().enumerate() {
                    let lead = if i == 0 { "  └ " } else { "    " };
                    lines.push(fit(Line::styled(format!("{lead}{text}"), theme.error), width));
                }
            }
            shown += 1;
        }
        lines.truncate(height);
        frame.render_widget(Paragraph::new(lines), rows);

        // The cell being edited: its field, in place.
        if let (Some(edit), Some(y)) = (&self.edit, edited_line) {
            let x = column_x(edit.column, &widths) as u16;
            let w = widths[COLUMNS.iter().position(|c| *c == edit.column).unwrap_or(1)] as u16;
            // The field gets the room up to the row's end: a long path reads as it is typed.
            let w = w.max(rows.width.saturating_sub(x)).min(rows.width.saturating_sub(x));
            let cell_area = Rect { x: rows.x + x, y: rows.y + y as u16, width: w, height: 1 };
            if cell_area.width > 0 && cell_area.y < rows.y + rows.height {
                frame.render_widget(Clear, cell_area);
                let mut field = themed(&edit.area, theme);
                field.set_style(theme.normal.add_modifier(Modifier::UNDERLINED));
                frame.render_widget(&field, cell_area);
            }
        }
        if let Some(choice) = &self.choice {
            render_choice(frame, inner, choice, theme);
        }
    }

    fn filter(&self) -> Option<&ListFilter> {
        Some(&self.filter)
    }

    fn filter_edit(&mut self, edit: FilterEdit, ctx: &Context) {
        let at = self.cursor_row();
        match self.filter.edit(edit, &self.index) {
            FilterChange::Nothing => {}
            // The cursor stays on its row while it is shown, else goes to the first match.
            FilterChange::Matches | FilterChange::Cleared => {
                let to = at.and_then(|row| self.shown_position(row)).unwrap_or(0);
                self.offset = 0;
                self.select(to, ctx);
            }
            FilterChange::Jump(forward) => {
                let shown = self.len().max(1);
                let to = if forward { (self.cursor + 1) % shown } else { (self.cursor + shown - 1) % shown };
                self.select(to, ctx);
            }
        }
    }

    fn back_out(&mut self) -> bool {
        // An edit or a list is closed by its own keys; nothing else is open inside.
        false
    }

    fn leaving(&mut self, ctx: &Context) -> Option<Request> {
        if !self.is_unsaved() {
            return None;
        }
        self.guard(Then::Leave, ctx).into_iter().next()
    }

    fn answer(&mut self, yes: bool, ctx: &Context) -> Vec<Request> {
        let Some(question) = self.question.take() else { return Vec::new() };
        if !yes {
            return Vec::new();
        }
        match question {
            Question::DeleteRow { row, mapping } => {
                // The row may have moved (a populate added rows meanwhile): found by content.
                let at = if self.table.get(row) == Some(&mapping) {
                    Some(row)
                } else {
                    self.table.rows().iter().position(|m| *m == mapping)
                };
                if let Some(at) = at
                    && self.table.remove(at).is_ok()
                {
                    self.changed();
                    self.select(self.cursor, ctx);
                }
                Vec::new()
            }
            Question::Discard(then) => self.carry_out(then, ctx),
        }
    }

    fn inner_focus(&self) -> Option<Inner> {
        if self.edit.is_some() {
            Some(Inner::Text)
        } else if self.choice.is_some() {
            Some(Inner::Choice)
        } else {
            None
        }
    }

    fn typed(&mut self, input: Input) {
        if let Some(edit) = &mut self.edit {
            type_into(&mut edit.area, input);
        }
    }

    fn pasted(&mut self, text: &str) {
        if let Some(edit) = &mut self.edit {
            paste_into(&mut edit.area, text);
        }
    }

    fn unsaved(&self) -> Option<String> {
        self.is_unsaved().then(|| format!("Unsaved changes to {}", self.name()))
    }

    fn animating(&self, _ctx: &Context) -> bool {
        !self.busy.is_empty()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The choice list, over the table: each item with what it means; the keys under it.
fn render_choice(frame: &mut Frame, inner: Rect, choice: &Choice, theme: &Theme) {
    let items = choice.items();
    let wide = items.iter().map(|(name, what)| name.chars().count() + what.chars().count() + 6).max().unwrap_or(20);
    let width = (wide as u16).clamp(30, inner.width.max(1));
    let height = (items.len() as u16 + 3).min(inner.height.max(1));
    let area = crate::tui::popup::centered(inner, width, height);
    frame.render_widget(Clear, area);
    let keys = format!(
        " {} choose  {} cancel ",
        key_at(Focus::Choose, Action::Confirm),
        key_at(Focus::Choose, Action::Cancel)
    );
    let block = Block::bordered()
        .title(Span::styled(choice.title(), theme.focus))
        .title_bottom(Line::styled(keys, theme.key))
        .border_type(BorderType::Double)
        .border_style(theme.focus)
        .style(theme.normal);
    let list = block.inner(area);
    frame.render_widget(block, area);
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .map(|(i, (name, what))| {
            let chosen = i == choice.cursor;
            let style = if chosen { theme.selected } else { theme.normal };
            let mut spans =
                vec![Span::styled(if chosen { "▶ " } else { "  " }, style), Span::styled(name.clone(), style)];
            if !what.is_empty() {
                spans.push(Span::styled(format!("  {what}"), if chosen { style } else { theme.muted }));
            }
            let line = fit(Line::from(spans), list.width as usize);
            let used = line.width();
            let mut line = line;
            if chosen {
                line.spans.push(Span::styled(" ".repeat((list.width as usize).saturating_sub(used)), style));
            }
            line
        })
        .collect();
    // The chosen item stays in view in a short list.
    let skip = (choice.cursor + 1).saturating_sub(list.height as usize);
    frame.render_widget(Paragraph::new(lines).scroll((skip as u16, 0)), list);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fill_the_width_and_start_where_their_cells_do() {
        for width in [78u16, 118, 40] {
            let w = widths(width);
            if width >= 40 {
                assert_eq!(MARK + w.iter().sum::<usize>() + 3 * GAP, width as usize);
            }
            assert_eq!(column_x(Column::Type, &w), MARK);
            assert_eq!(column_x(Column::Destination, &w), MARK + w[0] + w[1] + w[2] + 3 * GAP);
        }
        assert_eq!(cell("Destination", 4), "Des…");
        assert_eq!(cell("ab", 4), "ab  ");
    }

    #[test]
    fn long_reasons_wrap_under_the_row_and_stop_after_four_lines() {
        let reasons = vec!["x".repeat(30), "y".repeat(300)];
        let lines = reason_lines(&reasons, 40);
        assert_eq!(lines.len(), 4);
        assert!(lines.iter().all(|l| l.chars().count() <= 36));
        assert!(lines[3].ends_with('…'));
        assert_eq!(reason_lines(&["short".into()], 40), ["short"]);
    }
}
