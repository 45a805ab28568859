//! The backup list: the instances of one backup folder, newest first (time, GPO, comment, size,
//! domain), with the selected instance's details below the list (beside it on wide terminals).
//! GPMC's "Show only the latest version of each GPO" is a toggle; so is the "deleted GPOs" view,
//! which keeps the backups of GPOs that no longer exist in a connected domain, the ones a restore
//! brings back. Everything shown is a summary the core made (`ops::catalog`), listed, shown and
//! compared by jobs; changes (delete, prune, restore) go through the plan in the confirmation
//! popup like a backup does.
//!
//! The list is virtualised: rows are kept once, only those in the window are drawn, and the
//! details of an instance are fetched once the cursor rests on it and kept. `/` narrows it as
//! you type (name, GUID, comment, date, backup ID, domain) through the app's list filter.

use std::any::Any;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crossterm::event::KeyCode;
use gpvault::ops::catalog::{BackupRow, DetailSection};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::details::DETAILS_DEBOUNCE;
use super::status::{Level, RunKind};
use super::tree::fit;
use super::{
    ConfirmPlan, Context, ListFrame, Pane, PaneId, PaneSpec, Prompt, Request, SelectedBackup, Slot, render_list_frame,
    scrolled,
};
use crate::tui::action::{Action, Effect, ListedBackups, PlanAsk};
use crate::tui::filter::{FilterChange, FilterEdit, ListFilter, SearchIndex};
use crate::tui::keymap::{Scope, bind, bind_minor, ch, key, key_for};
use crate::tui::state::{Focus, Phase};
use crate::tui::theme::Theme;

pub const ID: PaneId = PaneId("backups");

const HERE: Scope = Scope::On(Focus::Pane(ID));

pub static SPEC: PaneSpec = PaneSpec {
    id: ID,
    name: "Backups",
    slot: Slot::Wide,
    numbered: true,
    keys: &[
        bind(
            HERE,
            &[key(KeyCode::Enter, "Enter")],
            Action::Inspect,
            "Scroll the details (again: back to the list)",
            Some("details"),
        ),
        bind(
            HERE,
            &[ch('R', "R")],
            Action::RestoreBackup,
            "Restore the selected backup (deleted GPOs: with links)",
            Some("restore"),
        ),
        bind_minor(
            HERE,
            &[ch('i', "i")],
            Action::ImportSettings,
            "Import this backup's settings into a GPO (a wizard)",
            "import",
        ),
        bind(HERE, &[ch('d', "d")], Action::DeleteBackup, "Delete the selected backup (plan first)", Some("delete")),
        bind(
            HERE,
            &[ch('D', "D")],
            Action::DeletedGpos,
            "Only backups of GPOs deleted from the domain (toggle)",
            Some("deleted"),
        ),
        bind(HERE, &[ch('L', "L")], Action::LatestOnly, "Only the latest backup of each GPO (toggle)", Some("latest")),
        bind(HERE, &[ch('o', "o")], Action::OpenFolder, "Open another backup folder", Some("open")),
        bind(
            HERE,
            &[ch('c', "c")],
            Action::CompareBackups,
            "Compare the marked backup with this one, per setting",
            Some("compare"),
        ),
        bind_minor(HERE, &[ch('m', "m")], Action::MarkBackup, "Mark a backup, to compare another with it", "mark"),
        bind(
            HERE,
            &[ch('v', "v")],
            Action::VerifyBackups,
            "Verify every backup of the folder (sizes, SHA-256)",
            Some("verify"),
        ),
        bind(
            HERE,
            &[ch('p', "p")],
            Action::PruneBackups,
            "Prune: keep the N newest backups of each GPO",
            Some("prune"),
        ),
    ],
    new: || Box::new(BackupsPane::default()),
};

/// At least this many columns inside the borders put the details beside the list, not below.
const BESIDE_WIDTH: u16 = 150;
/// Details kept per folder before the oldest are dropped: a few screens' worth, not a folder's.
const MAX_CACHED: usize = 256;

/// A job's answer, or the wait for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetch<T> {
    Loading,
    Loaded(T),
    Failed(String),
}

/// Where the listing of the folder stands.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Listing {
    /// No folder yet.
    #[default]
    Idle,
    /// Asked for (the rows of the last listing stay on screen meanwhile).
    Loading,
    Loaded,
    Failed(String),
}

/// Two instances compared: the older first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compared {
    pub old: String,
    pub new: String,
    /// The row whose details show it: the newer one, unless the filter hides it.
    pub at: String,
    pub lines: Fetch<Vec<String>>,
}

#[derive(Debug, Default)]
pub struct BackupsPane {
    folder: Option<PathBuf>,
    pub latest: bool,
    /// The deleted view: the tree's domain whose GPOs the backups are checked against.
    pub deleted: Option<usize>,
    /// That domain's DNS name, for the title.
    deleted_name: String,
    pub listing: Listing,
    rows: Vec<BackupRow>,
    /// Backups of other domains that the deleted view left out.
    other_domains: usize,
    /// What the last listing of the folder had to say: said once, not at every listing.
    notes: Vec<String>,
    /// The latest listing asked for: older answers are dropped.
    request: u64,
    /// `/`: the rows whose name, GUID, comment, date or domain match what is typed.
    filter: ListFilter,
    /// What the filter searches, one text per row, made once per listing.
    index: SearchIndex,
    pub cursor: usize,
    /// First row in the window.
    pub offset: usize,
    /// The backup under the cursor: after a listing the cursor finds it again.
    cursor_id: Option<String>,
    pub marked: Option<String>,
    /// Keys scroll the details instead of moving in the list.
    pub in_details: bool,
    pub details_scroll: u16,
    /// Each instance's details, by backup ID, for the folder shown.
    details: HashMap<String, Fetch<Vec<DetailSection>>>,
    /// An instance the cursor arrived on, and when: fetched once it has rested there.
    pub wanted: Option<(String, Instant)>,
    /// The last comparison; shown while the cursor stays on its newer instance.
    pub compared: Option<Compared>,
    /// The folder being checked (one check at a time, whichever folder is shown meanwhile).
    pub verifying: Option<PathBuf>,
    /// The remembered folder was offered (on the first visit).
    started: bool,
}

impl BackupsPane {
    /// Every row of the listing, newest first (the filter aside).
    pub fn rows(&self) -> &[BackupRow] {
        &self.rows
    }

    /// The folder listed.
    pub fn folder(&self) -> Option<&Path> {
        self.folder.as_deref()
    }

    /// How many rows the list shows (those the filter matches).
    pub fn len(&self) -> usize {
        self.filter.matches().map_or(self.rows.len(), <[u32]>::len)
    }

    /// The `i`th row shown.
    pub fn row(&self, i: usize) -> Option<&BackupRow> {
        match self.filter.matches() {
            Some(matches) => matches.get(i).and_then(|at| self.rows.get(*at as usize)),
            None => self.rows.get(i),
        }
    }

    /// Where the list shows the backup `backup_id`, if it does.
    fn position_of(&self, backup_id: &str) -> Option<usize> {
        (0..self.len()).find(|i| self.row(*i).is_some_and(|r| r.backup_id == backup_id))
    }

    pub fn selected(&self) -> Option<&BackupRow> {
        self.row(self.cursor)
    }

    /// Puts the cursor on `backup_id` (a hit of a search), clearing a filter that hides it;
    /// false when the folder shown has no such backup.
    pub fn select_backup(&mut self, backup_id: &str, ctx: &Context) -> bool {
        if self.position_of(backup_id).is_none() && self.rows.iter().any(|r| r.backup_id == backup_id) {
            self.filter.edit(FilterEdit::Clear, &self.index);
        }
        let Some(at) = self.position_of(backup_id) else { return false };
        self.in_details = false;
        self.select(at, ctx, false);
        true
    }

    /// The backup under the cursor and its folder, for other panes to act on.
    pub fn selection(&self) -> Option<SelectedBackup> {
        let row = self.selected()?;
        Some(SelectedBackup {
            dir: self.folder.clone()?,
            backup_id: row.backup_id.clone(),
            name: row.display_name.clone(),
        })
    }

    #[cfg(test)]
    pub fn details_of(&self, backup_id: &str) -> Option<&Fetch<Vec<DetailSection>>> {
        self.details.get(backup_id)
    }

    /// Whether the folder this pane shows is `dir`.
    pub fn shows(&self, dir: &Path) -> bool {
        self.folder.as_deref() == Some(dir)
    }

    /// On the first visit: the folder the app remembers, listed at once.
    pub fn first_visit(&mut self, remembered: Option<&Path>, ctx: &Context) -> Option<Effect> {
        if self.started {
            return None;
        }
        self.started = true;
        match (&self.folder, remembered) {
            (None, Some(dir)) => Some(self.open(dir.to_path_buf(), ctx)),
            _ => None,
        }
    }

    /// Shows another folder, from the top.
    pub fn open(&mut self, dir: PathBuf, ctx: &Context) -> Effect {
        self.started = true;
        if !self.shows(&dir) {
            self.rows.clear();
            self.details.clear();
            self.cursor = 0;
            self.offset = 0;
            self.cursor_id = None;
            self.marked = None;
            self.compared = None;
            self.wanted = None;
            self.in_details = false;
            self.details_scroll = 0;
            self.other_domains = 0;
            self.notes.clear();
        }
        self.folder = Some(dir);
        self.list(ctx)
    }

    /// Reads the folder again (after a run into it, or on request).
    pub fn reload(&mut self, ctx: &Context) -> Option<Effect> {
        self.folder.is_some().then(|| self.list(ctx))
    }

    /// The domain `d` was read again: the deleted view of it is out of date.
    pub fn domain_read(&mut self, d: usize, ctx: &Context) -> Option<Effect> {
        if self.deleted != Some(d) {
            return None;
        }
        self.reload(ctx)
    }

    fn list(&mut self, ctx: &Context) -> Effect {
        self.request += 1;
        self.listing = Listing::Loading;
        let deleted_from = self.deleted.and_then(|d| ctx.domains.get(d)).and_then(|d| d.estate.clone());
        if let Some(estate) = &deleted_from {
            self.deleted_name = estate.domain.dns_name.clone();
        }
        Effect::ListBackups {
            request: self.request,
            dir: self.folder.clone().unwrap_or_default(),
            latest: self.latest,
            deleted_from,
        }
    }

    /// A listing arrived; what the admin should know about it comes back as notes.
    pub fn listed(&mut self, request: u64, result: Result<Box<ListedBackups>, String>, ctx: &Context) -> Vec<String> {
        if request != self.request {
            return Vec::new();
        }
        match result {
            Ok(listed) => {
                let ListedBackups { rows, notes, other_domains } = *listed;
                self.rows = rows;
                self.index = SearchIndex::new(self.rows.iter().map(search_text), self.request);
                self.filter.refresh(&self.index);
                self.other_domains = other_domains;
                self.listing = Listing::Loaded;
                if self.marked.as_ref().is_some_and(|m| !self.rows.iter().any(|r| &r.backup_id == m)) {
                    self.marked = None;
                }
                let at = self.cursor_id.clone().and_then(|id| self.position_of(&id));
                self.select(at.unwrap_or(self.cursor), ctx, true);
                self.in_details &= self.len() > 0;
                let new = notes.iter().filter(|n| !self.notes.contains(n)).cloned().collect();
                self.notes = notes;
                new
            }
            Err(e) => {
                // With rows of an earlier listing still shown, the reason goes to the status.
                let note = (!self.rows.is_empty()).then(|| format!("Listing the backups again failed: {e}"));
                self.listing = Listing::Failed(e);
                note.into_iter().collect()
            }
        }
    }

    pub fn shown(&mut self, dir: &Path, backup_id: String, result: Result<Vec<DetailSection>, String>) {
        if !self.shows(dir) || !matches!(self.details.get(&backup_id), Some(Fetch::Loading)) {
            return;
        }
        let fetch = match result {
            Ok(sections) => Fetch::Loaded(sections),
            Err(e) => Fetch::Failed(e),
        };
        self.details.insert(backup_id, fetch);
    }

    pub fn diffed(&mut self, dir: &Path, old: &str, new: &str, result: Result<Vec<String>, String>) {
        let shown = self.shows(dir);
        let Some(compared) = self.compared.as_mut() else { return };
        if !shown || compared.old != old || compared.new != new {
            return;
        }
        compared.lines = match result {
            Ok(lines) => Fetch::Loaded(lines),
            Err(e) => Fetch::Failed(e),
        };
    }

    pub fn verified(&mut self, dir: &Path) {
        if self.verifying.as_deref() == Some(dir) {
            self.verifying = None;
        }
    }

    /// Rows of the list in the window at the pane's size.
    #[cfg(test)]
    pub fn page(&self, ctx: &Context) -> usize {
        self.parts(ctx).rows.height as usize
    }

    /// Rows of the list and lines of the details at the pane's size.
    fn parts(&self, ctx: &Context) -> Parts {
        parts(Rect::new(0, 0, ctx.width, ctx.page as u16), self.in_details)
    }

    /// Moves the cursor to `index` (clamped), keeping it in the window; a new row shows its own
    /// details, from the top.
    fn select(&mut self, index: usize, ctx: &Context, reloaded: bool) {
        let page = self.parts(ctx).rows.height as usize;
        let Some(last) = self.len().checked_sub(1) else {
            self.cursor = 0;
            self.offset = 0;
            self.cursor_id = None;
            self.wanted = None;
            self.compared = None;
            return;
        };
        self.cursor = index.min(last);
        let Some(id) = self.row(self.cursor).map(|r| r.backup_id.clone()) else { return };
        if self.cursor_id.as_ref() != Some(&id) || reloaded {
            if self.cursor_id.as_ref() != Some(&id) {
                self.details_scroll = 0;
                self.compared = None;
            }
            self.wanted = (!self.details.contains_key(&id)).then(|| (id.clone(), ctx.clock));
            self.cursor_id = Some(id);
        }
        self.scroll_into_view(page);
    }

    fn scroll_into_view(&mut self, page: usize) {
        let page = page.max(1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + page {
            self.offset = self.cursor + 1 - page;
        }
        self.offset = self.offset.min(self.len().saturating_sub(page));
    }

    /// Starts fetching an instance's details, unless known or on the way.
    fn fetch(&mut self, backup_id: String) -> Option<Effect> {
        let dir = self.folder.clone()?;
        if self.details.contains_key(&backup_id) {
            return None;
        }
        if self.details.len() >= MAX_CACHED {
            // Dropped wholesale: cheap to fetch again, and what is on its way stays.
            self.details.retain(|_, f| matches!(f, Fetch::Loading));
        }
        self.details.insert(backup_id.clone(), Fetch::Loading);
        Some(Effect::ShowBackup { dir, backup_id })
    }

    /// The text the details area shows for the selection: a comparison, or the instance.
    pub fn detail_lines(&self, theme: &Theme, spinner: &str) -> Vec<Line<'static>> {
        self.detail_window(theme, spinner, 0, usize::MAX)
    }

    /// `take` lines of the details from line `skip` on: a GPO's settings can run to thousands
    /// of lines, and a frame needs only a screenful.
    fn detail_window(&self, theme: &Theme, spinner: &str, skip: usize, take: usize) -> Vec<Line<'static>> {
        let Some(row) = self.selected() else { return Vec::new() };
        if let Some(compared) = self.compared.as_ref().filter(|c| c.at == row.backup_id) {
            return compared_lines(compared, &self.rows, theme, spinner).into_iter().skip(skip).take(take).collect();
        }
        let lines = match self.details.get(&row.backup_id) {
            Some(Fetch::Loaded(sections)) => {
                return section_text(sections)
                    .skip(skip)
                    .take(take)
                    .map(|(kind, text)| match kind {
                        Text::Title => Line::styled(text.to_string(), theme.header),
                        Text::Blank => Line::default(),
                        Text::Line => Line::raw(format!("  {text}")),
                    })
                    .collect();
            }
            Some(Fetch::Failed(e)) => {
                let mut lines = row_summary(row, theme);
                lines.push(Line::styled(format!("Cannot read this backup: {e}"), theme.error));
                lines
            }
            _ => {
                let mut lines = row_summary(row, theme);
                lines.push(Line::styled(format!("{spinner} reading the backup's settings…"), theme.muted));
                lines
            }
        };
        lines.into_iter().skip(skip).take(take).collect()
    }

    /// How many lines the details have (unwrapped): bounds their scrolling.
    pub fn detail_count(&self) -> usize {
        match self.selected().map(|row| (self.details.get(&row.backup_id), row)) {
            Some((Some(Fetch::Loaded(sections)), row))
                if self.compared.as_ref().is_none_or(|c| c.at != row.backup_id) =>
            {
                section_text(sections).count()
            }
            _ => self.detail_lines(&Theme::plain(), "").len(),
        }
    }

    fn move_in_list(&mut self, action: Action, ctx: &Context) {
        let page = self.parts(ctx).rows.height as usize;
        let last = self.len().saturating_sub(1);
        let at = self.cursor;
        let to = match action {
            Action::Up => at.saturating_sub(1),
            Action::Down => (at + 1).min(last),
            Action::PageUp => at.saturating_sub(page.max(1)),
            Action::PageDown => (at + page.max(1)).min(last),
            Action::Top => 0,
            Action::Bottom => last,
            _ => at,
        };
        self.select(to, ctx, false);
    }

    fn toggle_deleted(&mut self, ctx: &Context) -> Vec<Request> {
        if self.deleted.take().is_some() {
            return self.reload(ctx).map(Request::Read).into_iter().collect();
        }
        // The domain under the tree's cursor, else the first one read.
        let read = |d: usize| ctx.domains.get(d).is_some_and(|domain| domain.estate.is_some());
        let chosen = ctx
            .selected
            .map(|row| row.key.domain())
            .filter(|d| read(*d))
            .or_else(|| (0..ctx.domains.len()).find(|d| read(*d)));
        let Some(d) = chosen else {
            let text = format!(
                "The deleted GPOs view compares the backups with a domain's GPOs: connect to one first ({} on it in the tree)",
                key_for(Action::Toggle)
            );
            return vec![Request::Note(Level::Warning, text)];
        };
        self.deleted = Some(d);
        self.reload(ctx).map(Request::Read).into_iter().collect()
    }

    fn delete(&self) -> Vec<Request> {
        let (Some(dir), Some(row)) = (self.folder.clone(), self.selected()) else { return Vec::new() };
        let plan = ConfirmPlan {
            ask: PlanAsk::Delete { dir: dir.clone(), backup_ids: vec![row.backup_id.clone()] },
            title: " Delete? ",
            what: format!("Delete a backup of \"{}\"", row.display_name),
            waiting: format!("Reading {}…", dir.display()),
            domain: String::new(),
            dir,
            kind: RunKind::Delete,
        };
        vec![Request::Confirm(Box::new(plan))]
    }

    fn compare(&mut self, ctx: &Context) -> Vec<Request> {
        let (Some(dir), Some(row)) = (self.folder.clone(), self.selected()) else { return Vec::new() };
        let marked = self.marked.as_ref().and_then(|m| self.rows.iter().find(|r| &r.backup_id == m));
        let Some(marked) = marked.filter(|m| m.backup_id != row.backup_id) else {
            let text = format!(
                "Mark a backup first ({} on it), then compare another with it ({} on that one)",
                key_for(Action::MarkBackup),
                key_for(Action::CompareBackups)
            );
            return vec![Request::Note(Level::Info, text)];
        };
        // Older first: the lines read as what changed since.
        let (old, new) = if marked.backup_time <= row.backup_time { (marked, row) } else { (row, marked) };
        let (old, new) = (old.backup_id.clone(), new.backup_id.clone());
        // The comparison shows in the newer one's details: the cursor goes there (if shown).
        if let Some(at) = self.position_of(&new) {
            self.select(at, ctx, false);
        }
        let at = self.selected().map(|r| r.backup_id.clone()).unwrap_or_default();
        self.compared = Some(Compared { old: old.clone(), new: new.clone(), at, lines: Fetch::Loading });
        self.details_scroll = 0;
        vec![Request::Read(Effect::DiffBackups { dir, old, new })]
    }

    fn restore(&self, ctx: &Context) -> Vec<Request> {
        let (Some(dir), Some(row)) = (self.folder.clone(), self.selected()) else { return Vec::new() };
        let connected =
            |d: usize| ctx.domains.get(d).filter(|domain| domain.phase == Phase::Ready && domain.estate.is_some());
        // The deleted view's domain; else a connected domain the backup is of; else the tree's,
        // which the core refuses with its own words when it is another domain.
        let own = (0..ctx.domains.len()).find(|d| {
            connected(*d)
                .and_then(|domain| domain.estate.as_ref())
                .is_some_and(|e| row.is_of_domain(&e.domain.dns_name, &e.domain.guid))
        });
        let tree = ctx.selected.map(|r| r.key.domain()).filter(|d| connected(*d).is_some());
        let Some(d) = self.deleted.filter(|d| connected(*d).is_some()).or(own).or(tree) else {
            let text = format!(
                "Restoring needs a connection to {}: connect to it first ({} on it in the tree)",
                row.domain,
                key_for(Action::Toggle)
            );
            return vec![Request::Note(Level::Warning, text)];
        };
        let domain = ctx.domains.get(d).and_then(|dom| dom.dns_name()).unwrap_or_default().to_string();
        // A GPO deleted from the domain lost its links with it: they come back as recorded.
        let links = self.deleted.is_some();
        let plan = ConfirmPlan {
            ask: PlanAsk::Restore { domain: d, dir: dir.clone(), backup_id: row.backup_id.clone(), links },
            title: " Restore? ",
            what: format!("Restore \"{}\"", row.display_name),
            waiting: format!("Reading backup {} and the GPO in {domain}…", row.backup_id),
            domain,
            dir,
            kind: RunKind::Restore { domain: d },
        };
        vec![Request::Confirm(Box::new(plan))]
    }

    /// The rows' column widths at `width`: name, comment, domain share what the fixed ones leave.
    fn columns(width: u16) -> Columns {
        let flexible = (width as usize).saturating_sub(MARK + TIME + SIZE + 4 * GAP);
        let (name, comment) = (flexible * 9 / 20, flexible * 6 / 20);
        Columns { name, comment, domain: flexible - name - comment }
    }

    fn title(&self, ctx: &Context) -> String {
        let Some(dir) = &self.folder else { return "Backups".into() };
        let mut title = format!("Backups in {}", dir.display());
        if self.filter.is_active() {
            title.push_str(&format!(" ({} of {})", self.len(), self.rows.len()));
        } else if self.listing == Listing::Loaded || !self.rows.is_empty() {
            title.push_str(&format!(" ({})", self.rows.len()));
        }
        if self.latest {
            title.push_str(", latest only");
        }
        if self.deleted.is_some() {
            title.push_str(&format!(", deleted from {}", self.deleted_name));
        }
        if self.listing == Listing::Loading || self.verifying.is_some() {
            title.push_str(&format!(" {}", ctx.spinner));
        }
        title
    }

    /// What the list area says when it has no rows.
    fn empty_lines(&self, theme: &Theme, spinner: &str) -> Vec<Line<'static>> {
        let open = key_for(Action::OpenFolder);
        match (&self.folder, &self.listing) {
            (None, _) => vec![
                Line::styled("No backup folder is open.", theme.header),
                Line::styled(format!("{open} opens one: gpvault's or GPMC's backups list alike."), theme.muted),
            ],
            (Some(dir), Listing::Loading) => {
                vec![Line::styled(format!("{spinner} reading {}…", dir.display()), theme.muted)]
            }
            (Some(_), Listing::Failed(e)) => vec![
                Line::styled(e.clone(), theme.error),
                Line::styled(format!("{open} opens another folder."), theme.muted),
            ],
            (Some(_), _) if self.deleted.is_some() => vec![Line::styled(
                format!(
                    "No backup here is of a GPO deleted from {}: every GPO backed up here still exists{}.",
                    self.deleted_name,
                    if self.other_domains > 0 {
                        format!(" ({} backups of other domains)", self.other_domains)
                    } else {
                        String::new()
                    }
                ),
                theme.muted,
            )],
            (Some(_), _) => vec![Line::styled("No backups in this folder yet.", theme.muted)],
        }
    }
}

const MARK: usize = 2;
const TIME: usize = 19;
const SIZE: usize = 10;
const GAP: usize = 2;

struct Columns {
    name: usize,
    comment: usize,
    domain: usize,
}

/// Where the list's header, rows and the details go inside the pane.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Parts {
    header: Rect,
    rows: Rect,
    /// A line or column between the list and the details.
    rule: Option<Rect>,
    details: Rect,
    beside: bool,
}

/// The list on top and the details below it; side by side on wide terminals. The part that has
/// the keys gets the room.
fn parts(inner: Rect, in_details: bool) -> Parts {
    if inner.width >= BESIDE_WIDTH {
        let [list, rule, details] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        let [header, rows] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(list);
        return Parts { header, rows, rule: Some(rule), details, beside: true };
    }
    if inner.height < 6 {
        // No room for both: the part with the keys alone.
        if in_details {
            return Parts { details: inner, ..Parts::default() };
        }
        let [header, rows] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        return Parts { header, rows, ..Parts::default() };
    }
    let list_rows = if in_details { 2 } else { (inner.height - 2) / 2 };
    let [header, rows, rule, details] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(list_rows),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inner);
    Parts { header, rows, rule: Some(rule), details, beside: false }
}

/// What `/` searches in a row: the GPO's name and GUID, the comment, the date, the backup's ID
/// and the domain.
fn search_text(row: &BackupRow) -> String {
    format!("{} {} {} {} {} {}", row.display_name, row.gpo_id, row.comment, row.time_text(), row.backup_id, row.domain)
}

/// `text` cut or padded to exactly `width` columns.
fn cell(text: &str, width: usize) -> String {
    let line = fit(Line::raw(text), width);
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let used = Line::raw(text.as_str()).width();
    format!("{text}{}", " ".repeat(width.saturating_sub(used)))
}

fn row_line(row: &BackupRow, marked: bool, columns: &Columns, theme: &Theme) -> Line<'static> {
    let gap = " ".repeat(GAP);
    let time = row.time_text();
    let time = time.trim_end_matches(" UTC");
    let mark = match (marked, row.incomplete.is_some()) {
        (true, _) => Span::styled("* ", theme.key),
        (false, true) => Span::styled("! ", theme.warning),
        (false, false) => Span::raw("  "),
    };
    Line::from(vec![
        mark,
        Span::raw(cell(time, TIME)),
        Span::raw(gap.clone()),
        Span::raw(cell(&row.display_name, columns.name)),
        Span::raw(gap.clone()),
        Span::styled(cell(&row.comment, columns.comment), theme.muted),
        Span::raw(gap.clone()),
        Span::raw(format!("{:>SIZE$}", row.size_text())),
        Span::raw(gap),
        Span::styled(cell(&row.domain, columns.domain), theme.muted),
    ])
}

fn header_line(columns: &Columns, theme: &Theme) -> Line<'static> {
    let gap = " ".repeat(GAP);
    let text = format!(
        "{}{}{gap}{}{gap}{}{gap}{:>SIZE$}{gap}{}",
        " ".repeat(MARK),
        cell("Time (UTC)", TIME),
        cell("GPO", columns.name),
        cell("Comment", columns.comment),
        "Size",
        cell("Domain", columns.domain),
    );
    Line::styled(text, theme.header)
}

/// What is known at once from the listing, while the instance itself is read.
fn row_summary(row: &BackupRow, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::styled(row.display_name.clone(), theme.header),
        Line::raw(format!("Backup {}, {}, {}", row.backup_id, row.time_text(), row.size_text())),
        Line::styled(format!("GPO {} of {}", row.gpo_id, row.domain), theme.muted),
    ];
    if !row.comment.is_empty() {
        lines.push(Line::raw(format!("Comment: {}", row.comment)));
    }
    if let Some(why) = &row.incomplete {
        lines.push(Line::styled(format!("Incomplete: {why}"), theme.warning));
    }
    lines
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Text {
    Title,
    Blank,
    Line,
}

/// The sections as lines of text, each title after a blank line.
fn section_text(sections: &[DetailSection]) -> impl Iterator<Item = (Text, &str)> {
    sections.iter().enumerate().flat_map(|(i, section)| {
        let blank = (i > 0).then_some((Text::Blank, ""));
        blank
            .into_iter()
            .chain(std::iter::once((Text::Title, section.title.as_str())))
            .chain(section.lines.iter().map(|l| (Text::Line, l.as_str())))
    })
}

fn compared_lines(compared: &Compared, rows: &[BackupRow], theme: &Theme, spinner: &str) -> Vec<Line<'static>> {
    let name = |id: &str| rows.iter().find(|r| r.backup_id == id).map(|r| r.time_text()).unwrap_or_default();
    let mut lines = vec![Line::styled("Compared with the marked backup", theme.header)];
    match &compared.lines {
        Fetch::Loading => {
            lines.push(Line::styled(format!("{} → {}", name(&compared.old), name(&compared.new)), theme.muted));
            lines.push(Line::styled(format!("{spinner} comparing…"), theme.muted));
        }
        Fetch::Failed(e) => lines.push(Line::styled(format!("Cannot compare: {e}"), theme.error)),
        Fetch::Loaded(text) => {
            for line in text {
                let style = match line.chars().next() {
                    Some('+') if !line.starts_with("+++") => theme.success,
                    Some('-') if !line.starts_with("---") => theme.error,
                    Some('~') => theme.warning,
                    _ => theme.muted,
                };
                lines.push(Line::styled(line.clone(), style));
            }
        }
    }
    lines
}

impl Pane for BackupsPane {
    fn title(&self, ctx: &Context) -> String {
        self.title(ctx)
    }

    fn handle(&mut self, action: Action, ctx: &Context) -> Vec<Request> {
        match action {
            Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom => {
                if self.in_details {
                    let lines = self.detail_count();
                    let page = self.parts(ctx).details.height as usize;
                    self.details_scroll = scrolled(self.details_scroll, action, page, lines.saturating_sub(1));
                } else {
                    self.move_in_list(action, ctx);
                }
                Vec::new()
            }
            Action::Inspect => {
                self.in_details = !self.in_details && self.len() > 0;
                // The list may be shorter now: the cursor stays in view.
                let page = self.parts(ctx).rows.height as usize;
                self.scroll_into_view(page);
                Vec::new()
            }
            Action::OpenFolder => vec![Request::Prompt(Prompt::Folder(self.folder.clone()))],
            Action::LatestOnly => {
                self.latest = !self.latest;
                self.reload(ctx).map(Request::Read).into_iter().collect()
            }
            Action::DeletedGpos => self.toggle_deleted(ctx),
            Action::DeleteBackup => self.delete(),
            Action::MarkBackup => {
                let id = self.selected().map(|r| r.backup_id.clone());
                self.marked = if self.marked == id { None } else { id };
                Vec::new()
            }
            Action::CompareBackups => self.compare(ctx),
            Action::VerifyBackups => match &self.folder {
                Some(dir) if self.verifying.is_none() => {
                    self.verifying = Some(dir.clone());
                    vec![Request::Read(Effect::VerifyBackups { dir: dir.clone() })]
                }
                _ => Vec::new(),
            },
            Action::PruneBackups => {
                self.folder.clone().map(|dir| Request::Prompt(Prompt::PruneKeep(dir))).into_iter().collect()
            }
            Action::RestoreBackup => self.restore(ctx),
            _ => Vec::new(),
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, ctx: &Context, focused: bool) {
        let theme = ctx.theme;
        let list = ListFrame { title: self.title(ctx), filter: &self.filter, len: self.len(), cursor: self.cursor };
        let Some(inner) = render_list_frame(frame, area, ctx, focused, list) else {
            return;
        };
        if self.rows.is_empty() {
            frame.render_widget(Paragraph::new(self.empty_lines(theme, ctx.spinner)).wrap(Wrap { trim: false }), inner);
            return;
        }
        let parts = parts(inner, self.in_details);
        let columns = Self::columns(parts.header.width);
        frame.render_widget(
            Paragraph::new(fit(header_line(&columns, theme), parts.header.width as usize)),
            parts.header,
        );
        // Only the rows in the window are drawn: a folder can hold a hundred thousand. A resize
        // since the last key may have moved the cursor out of it: drawn as if it followed.
        let height = parts.rows.height as usize;
        let offset = match self.cursor {
            c if c < self.offset => c,
            c if height > 0 && c >= self.offset + height => c + 1 - height,
            _ => self.offset,
        };
        let end = self.len().min(offset + height);
        let start = offset.min(end);
        let width = parts.rows.width as usize;
        let lines: Vec<Line> = (start..end)
            .map(|i| {
                let Some(row) = self.row(i) else { return Line::default() };
                let marked = self.marked.as_ref() == Some(&row.backup_id);
                let line = fit(row_line(row, marked, &columns, theme), width);
                if i == self.cursor {
                    let style = if focused && !self.in_details { theme.selected } else { theme.selected_unfocused };
                    // The whole width, so the selection reads as a bar.
                    let used = line.width();
                    let mut line = line.patch_style(style);
                    line.spans.push(Span::styled(" ".repeat(width.saturating_sub(used)), style));
                    line
                } else {
                    line
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), parts.rows);
        if let Some(rule) = parts.rule {
            let style = if focused && self.in_details { theme.focus } else { theme.border };
            let text = if parts.beside {
                vec![Line::styled("│", style); rule.height as usize]
            } else {
                let label = if self.compared.as_ref().is_some_and(|c| Some(&c.at) == self.cursor_id.as_ref()) {
                    " Comparison "
                } else {
                    " Details "
                };
                vec![Line::styled(format!("──{label}{}", "─".repeat(rule.width as usize)), style)]
            };
            frame.render_widget(Paragraph::new(text).style(Style::default()), rule);
        }
        if parts.details.height > 0 {
            // Only the lines from the scroll position on are made into text to wrap.
            let (skip, take) = (self.details_scroll as usize, parts.details.height as usize);
            let shown = self.detail_window(theme, ctx.spinner, skip, take);
            frame.render_widget(Paragraph::new(shown).wrap(Wrap { trim: false }), parts.details);
        }
    }

    fn filter(&self) -> Option<&ListFilter> {
        Some(&self.filter)
    }

    fn filter_edit(&mut self, edit: FilterEdit, ctx: &Context) {
        match self.filter.edit(edit, &self.index) {
            FilterChange::Nothing => {}
            // The cursor stays on its backup while it is shown, else goes to the first match.
            FilterChange::Matches | FilterChange::Cleared => {
                let at = self.cursor_id.clone().and_then(|id| self.position_of(&id)).unwrap_or(0);
                self.offset = 0;
                self.select(at, ctx, false);
                self.in_details &= self.len() > 0;
            }
            FilterChange::Jump(forward) => {
                let shown = self.len().max(1);
                let to = if forward { (self.cursor + 1) % shown } else { (self.cursor + shown - 1) % shown };
                self.select(to, ctx, false);
            }
        }
    }

    fn back_out(&mut self) -> bool {
        std::mem::take(&mut self.in_details)
    }

    fn tick(&mut self, ctx: &Context) -> Vec<Effect> {
        match &self.wanted {
            Some((id, since)) if ctx.clock.saturating_duration_since(*since) >= DETAILS_DEBOUNCE => {
                let id = id.clone();
                self.wanted = None;
                self.fetch(id).into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    fn animating(&self, _ctx: &Context) -> bool {
        self.listing == Listing::Loading
            || self.verifying.is_some()
            || self.wanted.is_some()
            || self.details.values().any(|f| matches!(f, Fetch::Loading))
            || self.compared.as_ref().is_some_and(|c| c.lines == Fetch::Loading)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The plan for a prune of `dir` keeping `keep` instances of each GPO.
pub fn prune_plan(dir: PathBuf, keep: usize) -> ConfirmPlan {
    ConfirmPlan {
        ask: PlanAsk::Prune { dir: dir.clone(), keep },
        title: " Prune? ",
        what: format!("Prune to the {keep} newest of each GPO"),
        waiting: format!("Reading {}…", dir.display()),
        domain: String::new(),
        dir,
        kind: RunKind::Delete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_part_with_the_keys_gets_the_room() {
        let at_80x24 = Rect::new(0, 0, 78, 13);
        let list = parts(at_80x24, false);
        let details = parts(at_80x24, true);
        assert!(list.rows.height > details.rows.height);
        assert!(details.details.height > list.details.height);
        assert_eq!(list.header.height + list.rows.height + 1 + list.details.height, 13);
        let wide = parts(Rect::new(0, 0, 200, 30), false);
        assert!(wide.beside && wide.rows.height == 29 && wide.details.height == 30);
        let tiny = parts(Rect::new(0, 0, 40, 4), true);
        assert_eq!((tiny.rows.height, tiny.details.height), (0, 4));
    }

    #[test]
    fn cells_are_exactly_their_width() {
        assert_eq!(cell("Default Domain Policy", 8), "Default…");
        assert_eq!(cell("ab", 4), "ab  ");
        assert_eq!(cell("anything", 0), "");
        let columns = BackupsPane::columns(78);
        assert_eq!(MARK + TIME + SIZE + 4 * GAP + columns.name + columns.comment + columns.domain, 78);
    }
}
