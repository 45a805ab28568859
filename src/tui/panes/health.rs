//! The health view: what a check of the domain under the tree's cursor found (severity first,
//! the fix of the row under the cursor below the list), or where a search of its settings found
//! the text (GPO, file, setting; the value below). Both run as jobs through the core
//! (`ops::check::check`, `ops::search::search_live`); Enter takes the tree to the row's GPO, or the backup list to
//! the row's backup.

use std::any::Any;

use crossterm::event::KeyCode;
use gpvault::model::GpoId;
use gpvault::ops::check::{CheckReport, Severity};
use gpvault::ops::search::SearchReport;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::status::Level;
use super::tree::fit;
use super::{Context, Pane, PaneId, PaneSpec, Request, SearchScope, Slot, pane_block};
use crate::tui::action::{Action, Effect};
use crate::tui::keymap::{Scope, bind, ch, key, key_at, key_for};
use crate::tui::state::Focus;
use crate::tui::theme::Theme;

pub const ID: PaneId = PaneId("health");

const HERE: Scope = Scope::On(Focus::Pane(ID));

pub static SPEC: PaneSpec = PaneSpec {
    id: ID,
    name: "Health",
    slot: Slot::Wide,
    numbered: false,
    keys: &[
        bind(
            HERE,
            &[ch('c', "c")],
            Action::CheckHealth,
            "Check the domain under the tree's cursor (versions, SYSVOL, links, stored passwords, WMI filters) \
             and its backups in the folder the backup list has open",
            Some("check"),
        ),
        bind(
            HERE,
            &[key(KeyCode::Enter, "Enter")],
            Action::JumpToGpo,
            "Go to the row's GPO in the tree (a hit in a backup: the backup in the list)",
            Some("go to"),
        ),
    ],
    new: || Box::new(HealthPane::default()),
};

/// One row of the list: a finding (with its severity) or a search hit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthRow {
    /// A finding's; `None` for a hit.
    pub severity: Option<Severity>,
    /// The tree's domain and the GPO, when the row is about one.
    pub gpo: Option<(usize, GpoId)>,
    /// The backup the row is about (a hit in a backup folder): Enter shows it in the backup list.
    pub backup: Option<String>,
    /// What the row shows, column by column: finding (GPO, what); hit (GPO, file, setting).
    pub cells: Vec<String>,
    /// The line below the list for the row under the cursor: a finding's fix, a hit's value.
    pub detail: String,
}

/// What the list holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Shown {
    #[default]
    Nothing,
    /// A check's findings; `summary`: its counts.
    Findings { domain: String, summary: String },
    /// A search's hits.
    Hits { domain: String, text: String, summary: String },
}

/// A job in flight: only the answer to the latest one is taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Busy {
    pub request: u64,
    /// "Checking corp.example.test".
    pub what: String,
    /// The tree's domain it runs on; `None` for a search of a backup folder.
    pub domain: Option<usize>,
    /// The domain's DNS name, and for a search its text.
    pub name: String,
    pub text: Option<String>,
}

#[derive(Debug, Default)]
pub struct HealthPane {
    pub shown: Shown,
    pub rows: Vec<HealthRow>,
    pub busy: Option<Busy>,
    request: u64,
    pub cursor: usize,
    /// First row of the window.
    pub offset: usize,
}

/// The connected domain under the tree's cursor (its index and DNS name), or why there is none.
pub fn connected_domain(ctx: &Context) -> Result<(usize, String), String> {
    let Some(row) = ctx.selected else {
        return Err("Select a domain in the tree first".into());
    };
    let d = row.key.domain();
    let node = ctx.domains.get(d).ok_or_else(|| "Select a domain in the tree first".to_string())?;
    match (&node.estate, node.dns_name()) {
        (Some(_), Some(name)) => Ok((d, name.to_string())),
        _ => Err(format!("{} is not connected ({} connects it)", node.label, key_for(Action::Refresh))),
    }
}

/// A check's findings as rows, in the report's order (worst first).
pub fn finding_rows(domain: Option<usize>, report: &CheckReport) -> Vec<HealthRow> {
    report
        .findings
        .iter()
        .map(|f| HealthRow {
            severity: Some(f.severity),
            gpo: f.gpo.as_ref().zip(domain).map(|(g, d)| (d, g.id)),
            backup: None,
            cells: vec![
                match &f.gpo {
                    Some(g) => g.name.clone().unwrap_or_else(|| g.id.to_string()),
                    None => String::new(),
                },
                f.what.clone(),
            ],
            detail: f.fix.clone(),
        })
        .collect()
}

/// A search's hits as rows, in the report's order (by GPO, then file). A hit in the live
/// domain `domain` takes the tree to its GPO; one in a backup names its instance.
pub fn hit_rows(domain: Option<usize>, report: &SearchReport) -> Vec<HealthRow> {
    report
        .hits
        .iter()
        .map(|h| HealthRow {
            severity: None,
            gpo: domain.map(|d| (d, h.gpo_id)),
            backup: h.backup_id.clone(),
            cells: vec![h.gpo_name.clone(), h.file.clone(), h.setting.clone()],
            detail: match &h.backup_id {
                Some(backup) => format!("{} = {}   (backup {backup})", h.setting, h.value),
                None => format!("{} = {}", h.setting, h.value),
            },
        })
        .collect()
}

impl HealthPane {
    fn next_request(&mut self) -> u64 {
        self.request += 1;
        self.request
    }

    /// Checks the domain under the tree's cursor, and its backups in the backup list's folder.
    pub fn start_check(&mut self, ctx: &Context) -> Vec<Request> {
        let (domain, name) = match connected_domain(ctx) {
            Ok(found) => found,
            Err(why) => return vec![Request::Note(Level::Warning, format!("Check: {why}"))],
        };
        let request = self.next_request();
        self.busy = Some(Busy { request, what: format!("Checking {name}"), domain: Some(domain), name, text: None });
        let backups = ctx.backup_folder.clone();
        vec![Request::Read(Effect::CheckDomain { request, domain, backups })]
    }

    /// Searches the settings of `scope` (`name`: the domain's DNS name, or the folder) for `text`.
    pub fn start_search(&mut self, scope: SearchScope, name: String, text: String) -> Vec<Request> {
        let request = self.next_request();
        let what = format!("Searching {name} for \"{text}\"");
        let domain = match &scope {
            SearchScope::Domain(domain) => Some(*domain),
            SearchScope::Backups(_) => None,
        };
        self.busy = Some(Busy { request, what, domain, name, text: Some(text.clone()) });
        let effect = match scope {
            SearchScope::Domain(domain) => Effect::SearchDomain { request, domain, text },
            SearchScope::Backups(dir) => Effect::SearchBackups { request, dir, text },
        };
        vec![Request::Read(effect)]
    }

    /// The job of `request` is over: the busy one if it is the latest, else nothing (dropped).
    fn finish(&mut self, request: u64) -> Option<Busy> {
        if self.busy.as_ref().is_some_and(|b| b.request == request) { self.busy.take() } else { None }
    }

    fn show(&mut self, shown: Shown, rows: Vec<HealthRow>) {
        self.shown = shown;
        self.rows = rows;
        self.cursor = 0;
        self.offset = 0;
    }

    pub fn checked(&mut self, request: u64, result: Result<Box<CheckReport>, String>) -> Vec<Request> {
        let Some(busy) = self.finish(request) else { return Vec::new() };
        match result {
            Ok(report) => {
                let summary = report.counts();
                let level = if report.needs_attention() { Level::Warning } else { Level::Success };
                let note = format!("Checked {}: {summary}", busy.name);
                self.show(Shown::Findings { domain: busy.name, summary }, finding_rows(busy.domain, &report));
                vec![Request::Note(level, note)]
            }
            Err(e) => vec![Request::Note(Level::Error, format!("Check {}: {e}", busy.name))],
        }
    }

    pub fn searched(&mut self, request: u64, result: Result<Box<SearchReport>, String>) -> Vec<Request> {
        let Some(busy) = self.finish(request) else { return Vec::new() };
        let text = busy.text.clone().unwrap_or_default();
        match result {
            Ok(report) => {
                let gpos = report.gpos().len();
                let hits = format!("{} hit{}", report.hits.len(), if report.hits.len() == 1 { "" } else { "s" });
                let count = report.searched_count;
                let mut summary = match busy.domain {
                    Some(_) => format!("{hits} in {gpos} of {count} GPOs"),
                    // A folder's search goes through its instances, several of one GPO.
                    None => {
                        let plural = |n: usize| if n == 1 { "" } else { "s" };
                        format!("{hits} in {gpos} GPO{} of {count} backup{}", plural(gpos), plural(count))
                    }
                };
                if !report.skipped.is_empty() {
                    summary.push_str(&format!(", {} files unreadable", report.skipped.len()));
                }
                let note = format!("Searched {} for \"{text}\": {summary}", busy.name);
                self.show(Shown::Hits { domain: busy.name, text, summary }, hit_rows(busy.domain, &report));
                vec![Request::Note(Level::Success, note)]
            }
            Err(e) => vec![Request::Note(Level::Error, format!("Search {} for \"{text}\": {e}", busy.name))],
        }
    }

    fn select(&mut self, at: usize, page: usize) {
        self.cursor = at.min(self.rows.len().saturating_sub(1));
        let page = page.max(1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + page {
            self.offset = self.cursor + 1 - page;
        }
    }

    /// Rows of the list at a pane height of `page` (the header and the detail lines take some).
    fn list_height(page: usize) -> usize {
        page.saturating_sub(DETAIL_HEIGHT + 2).max(1)
    }

    fn empty_lines(&self, theme: &Theme, spinner: &str) -> Vec<Line<'static>> {
        if let Some(busy) = &self.busy {
            return vec![Line::styled(format!("{spinner} {}…", busy.what), theme.muted)];
        }
        let first = match &self.shown {
            Shown::Nothing => "Nothing checked or searched yet.".to_string(),
            Shown::Findings { domain, .. } => format!("{domain}: nothing found to fix."),
            Shown::Hits { domain, text, .. } => format!("No GPO of {domain} names \"{text}\"."),
        };
        vec![
            Line::styled(first, theme.header),
            Line::default(),
            Line::raw(format!(
                "{} checks the domain under the tree's cursor; {} searches its settings for a registry key or value, \
                 a principal or a UNC path.",
                key_at(Focus::Pane(ID), Action::CheckHealth),
                key_for(Action::SearchSettings)
            )),
        ]
    }

    fn columns(&self, width: usize) -> Vec<usize> {
        match self.shown {
            Shown::Hits { .. } => {
                let gpo = (width * 3 / 10).max(8);
                let file = (width / 4).max(8);
                vec![gpo, file, width.saturating_sub(gpo + file + 4)]
            }
            _ => {
                let gpo = (width * 3 / 10).max(8);
                vec![SEVERITY_WIDTH, gpo, width.saturating_sub(SEVERITY_WIDTH + gpo + 4)]
            }
        }
    }

    fn headings(&self) -> &'static [&'static str] {
        match self.shown {
            Shown::Hits { .. } => &["GPO", "File", "Setting"],
            _ => &["Severity", "GPO", "What"],
        }
    }

    fn row_line(&self, row: &HealthRow, columns: &[usize], theme: &Theme) -> Line<'static> {
        let mut cells: Vec<(String, Style)> = Vec::new();
        if let Some(severity) = row.severity {
            let style = match severity {
                Severity::Error => theme.error,
                Severity::Warning => theme.warning,
                Severity::Info => theme.muted,
            };
            cells.push((severity.label().to_string(), style));
        }
        cells.extend(row.cells.iter().map(|c| (c.clone(), theme.normal)));
        cells_line(cells, columns)
    }
}

const SEVERITY_WIDTH: usize = 8;
/// Lines under the list for the row under the cursor (after a rule).
const DETAIL_HEIGHT: usize = 2;

/// Cells padded or cut to their columns, two spaces apart.
fn cells_line(cells: Vec<(String, Style)>, columns: &[usize]) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, ((text, style), width)) in cells.into_iter().zip(columns).enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        let mut shown: String = text.chars().take(*width).collect();
        if text.chars().count() > *width && *width > 0 {
            shown.pop();
            shown.push('…');
        }
        let pad = width.saturating_sub(shown.chars().count());
        spans.push(Span::styled(format!("{shown}{}", " ".repeat(pad)), style));
    }
    Line::from(spans)
}

impl Pane for HealthPane {
    fn title(&self, _ctx: &Context) -> String {
        match &self.shown {
            Shown::Nothing => "Health".into(),
            Shown::Findings { domain, summary } => format!("Health of {domain} · {summary}"),
            Shown::Hits { domain, text, summary } => format!("Search of {domain} for \"{text}\" · {summary}"),
        }
    }

    fn handle(&mut self, action: Action, ctx: &Context) -> Vec<Request> {
        let page = Self::list_height(ctx.page);
        let last = self.rows.len().saturating_sub(1);
        match action {
            Action::Up => self.select(self.cursor.saturating_sub(1), page),
            Action::Down => self.select(self.cursor + 1, page),
            Action::PageUp => self.select(self.cursor.saturating_sub(page), page),
            Action::PageDown => self.select(self.cursor + page, page),
            Action::Top => self.select(0, page),
            Action::Bottom => self.select(last, page),
            Action::CheckHealth => return self.start_check(ctx),
            Action::JumpToGpo => {
                return match self.rows.get(self.cursor) {
                    Some(HealthRow { backup: Some(backup), .. }) => vec![Request::ShowBackup(backup.clone())],
                    Some(HealthRow { gpo: Some((domain, gpo)), .. }) => vec![Request::ShowInTree(*domain, *gpo)],
                    Some(_) => vec![Request::Note(Level::Info, "This row is about no GPO".into())],
                    None => Vec::new(),
                };
            }
            _ => {}
        }
        Vec::new()
    }

    fn render(&self, frame: &mut Frame, area: Rect, ctx: &Context, focused: bool) {
        let theme = ctx.theme;
        let mut title = self.title(ctx);
        if let Some(busy) = &self.busy
            && !self.rows.is_empty()
        {
            title.push_str(&format!(" · {} {}…", ctx.spinner, busy.what));
        }
        let block = pane_block(title, ctx, focused);
        let inner = block.inner(area);
        frame.render_widget(block.style(theme.normal), area);
        if inner.width == 0 || inner.height == 0 {
            return;
        }
        if self.rows.is_empty() {
            frame.render_widget(Paragraph::new(self.empty_lines(theme, ctx.spinner)).wrap(Wrap { trim: false }), inner);
            return;
        }
        let detail_height = if inner.height as usize > DETAIL_HEIGHT + 3 { DETAIL_HEIGHT as u16 + 1 } else { 0 };
        let [header, list, detail] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(detail_height)])
                .areas(inner);
        let width = inner.width as usize;
        let columns = self.columns(width);
        let heading = self.headings().iter().map(|h| (h.to_string(), theme.header)).collect();
        frame.render_widget(Paragraph::new(fit(cells_line(heading, &columns), width)), header);
        // A resize since the last key may have moved the cursor out of the window.
        let height = list.height as usize;
        let offset = match self.cursor {
            c if c < self.offset => c,
            c if height > 0 && c >= self.offset + height => c + 1 - height,
            _ => self.offset,
        };
        let end = self.rows.len().min(offset + height);
        let lines: Vec<Line> = (offset.min(end)..end)
            .map(|i| {
                let line = fit(self.row_line(&self.rows[i], &columns, theme), width);
                if i == self.cursor {
                    let style = if focused { theme.selected } else { theme.selected_unfocused };
                    let used = line.width();
                    let mut line = line.patch_style(style);
                    line.spans.push(Span::styled(" ".repeat(width.saturating_sub(used)), style));
                    line
                } else {
                    line
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), list);
        if detail.height > 0
            && let Some(row) = self.rows.get(self.cursor)
        {
            let label = if row.severity.is_some() { " Fix " } else { " Value " };
            let rule: String = format!("──{label}{}", "─".repeat(width)).chars().take(width).collect();
            let rule = Line::styled(rule, theme.border);
            let text = vec![rule, Line::styled(row.detail.clone(), theme.normal)];
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), detail);
        }
    }

    fn animating(&self, _ctx: &Context) -> bool {
        self.busy.is_some()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
