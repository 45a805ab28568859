//! Layout and drawing. `view` reads the state and draws; it changes nothing.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

use super::keymap::{self, Mode};
use super::popup;
use super::state::{AppState, Focus};
use super::theme::Theme;
use super::{details, status, tree};

/// Where each part goes at a given size. `update` uses it too, to page by the visible height.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    pub title: Option<Rect>,
    pub tree: Option<Rect>,
    pub details: Option<Rect>,
    pub status: Option<Rect>,
    pub footer: Option<Rect>,
    /// Not even one bordered pane fits: only a one-line notice is drawn.
    pub too_small: bool,
}

/// Below this width the tree and the details take turns instead of sitting side by side.
const SIDE_BY_SIDE_WIDTH: u16 = 60;
/// Below this height the status pane shows only when it has the focus.
const STATUS_MIN_HEIGHT: u16 = 16;

pub fn areas(area: Rect, focus: Focus) -> Areas {
    let mut a = Areas::default();
    if area.width < 12 || area.height < 3 {
        a.too_small = true;
        return a;
    }
    let mut body = area;
    if area.height >= 10 {
        let [title, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
        a.title = Some(title);
        body = rest;
    }
    if area.height >= 4 {
        let [rest, footer] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(body);
        a.footer = Some(footer);
        body = rest;
    }
    if body.height < 3 {
        a.too_small = true;
        return a;
    }
    if area.height >= STATUS_MIN_HEIGHT {
        // The focused status pane grows, so a long list of results can be read without scrolling.
        let status_height = match (focus, area.height >= 30) {
            (Focus::Status, _) => body.height * 3 / 5,
            (_, true) => 9,
            (_, false) => 7,
        };
        let [rest, status] = Layout::vertical([Constraint::Min(0), Constraint::Length(status_height)]).areas(body);
        a.status = Some(status);
        body = rest;
    } else if focus == Focus::Status {
        a.status = Some(body);
        return a;
    }
    if body.width >= SIDE_BY_SIDE_WIDTH {
        let [left, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
        a.tree = Some(left);
        a.details = Some(right);
    } else if focus == Focus::Details {
        a.details = Some(body);
    } else if focus == Focus::Status {
        a.status = Some(body);
    } else {
        a.tree = Some(body);
    }
    a
}

/// Rows inside a pane's borders at the current size, as if it had the focus (a narrow terminal
/// shows only the focused pane).
pub fn pane_height(state: &AppState, focus: Focus) -> usize {
    let areas = areas(Rect::new(0, 0, state.size.0, state.size.1), focus);
    let pane = match focus {
        Focus::Tree => areas.tree,
        Focus::Details => areas.details,
        Focus::Status => areas.status,
    };
    pane.map(|r| r.height.saturating_sub(2) as usize).unwrap_or(1).max(1)
}

pub fn pane_width(state: &AppState, focus: Focus) -> u16 {
    let areas = areas(Rect::new(0, 0, state.size.0, state.size.1), focus);
    let pane = match focus {
        Focus::Tree => areas.tree,
        Focus::Details => areas.details,
        Focus::Status => areas.status,
    };
    pane.map(|r| r.width.saturating_sub(2)).unwrap_or(1)
}

pub fn view(state: &AppState, theme: &Theme, frame: &mut Frame) {
    let area = frame.area();
    let a = areas(area, state.focus);
    if a.too_small {
        let text = Line::styled("gpvault: terminal too small", theme.warning);
        frame.render_widget(Paragraph::new(text), area);
        return;
    }
    let rows = tree::rows(&state.domains, &state.tree.expanded);
    let cursor_row = rows.get(state.tree.cursor);
    if let Some(r) = a.title {
        render_title(frame, r, state, cursor_row.map(|row| row.key.domain()), theme);
    }
    if let Some(r) = a.tree {
        tree::render(frame, r, state, &rows, theme, state.focus == Focus::Tree);
    }
    if let Some(r) = a.details {
        details::render(frame, r, state, cursor_row, theme, state.focus == Focus::Details);
    }
    if let Some(r) = a.status {
        status::render(frame, r, state, theme, state.focus == Focus::Status);
    }
    if let Some(r) = a.footer {
        render_footer(frame, r, state, theme);
    }
    if let Some(p) = &state.popup {
        popup::render(frame, p, theme);
    }
    if let Some(help) = &state.help {
        render_help(frame, help.scroll, theme);
    }
}

/// The app's name, then what must never be cut off (TLS without verification), then where the
/// cursor is.
fn render_title(frame: &mut Frame, area: Rect, state: &AppState, domain: Option<usize>, theme: &Theme) {
    let mut spans = vec![Span::styled(" gpvault ", theme.title)];
    let insecure: Vec<&str> = state.domains.iter().filter(|d| d.insecure_tls()).filter_map(|d| d.dns_name()).collect();
    if !insecure.is_empty() {
        let which = if insecure.len() == 1 { String::new() } else { format!(" ({})", insecure.join(", ")) };
        spans.push(Span::styled(format!(" ⚠ TLS NOT VERIFIED{which} "), theme.warning));
    }
    if let Some(domain) = domain.and_then(|d| state.domains.get(d)) {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(domain.label.clone(), theme.heading));
        if let Some(info) = &domain.connection {
            spans.push(Span::styled(format!("  {}", info.ldap), theme.muted));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Key hints from the keymap, as many as fit; the run's progress on the right when the status
/// pane is hidden.
fn render_footer(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let mode = state.mode();
    // A popup's keys are in the popup; the footer keeps describing the panes behind it.
    let mode = match mode {
        Mode::Form | Mode::Confirm => match state.focus {
            Focus::Tree => Mode::Tree,
            Focus::Details => Mode::Details,
            Focus::Status => Mode::Status,
        },
        other => other,
    };
    let right = match &state.status.run {
        Some(run) if run.finished.is_none() => {
            format!("backing up {}/{} ", run.done(), run.total.map(|t| t.to_string()).unwrap_or_else(|| "?".into()))
        }
        _ => String::new(),
    };
    let budget = (area.width as usize).saturating_sub(right.chars().count() + 1);
    let hints = keymap::hints(mode);
    // Help and quit matter most when space is short; the rest keep the table's order.
    let mut chosen = vec![false; hints.len()];
    let mut used = 0;
    let cost = |(key, hint): &(&str, &str)| key.chars().count() + hint.chars().count() + 3;
    let priority: Vec<usize> = (0..hints.len())
        .filter(|&i| matches!(hints[i].1, "help" | "quit" | "close"))
        .chain((0..hints.len()).filter(|&i| !matches!(hints[i].1, "help" | "quit" | "close")))
        .collect();
    for i in priority {
        if used + cost(&hints[i]) <= budget {
            used += cost(&hints[i]);
            chosen[i] = true;
        }
    }
    let mut spans = vec![Span::raw(" ")];
    for (i, (key, hint)) in hints.iter().enumerate() {
        if chosen[i] {
            spans.push(Span::styled(*key, theme.key));
            spans.push(Span::styled(format!(" {hint}  "), theme.muted));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    if !right.is_empty() {
        let width = (right.chars().count() as u16).min(area.width);
        let r = Rect { x: area.x + area.width - width, width, ..area };
        frame.render_widget(Paragraph::new(Line::styled(right, theme.warning)), r);
    }
}

pub fn help_lines(theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (title, rows) in keymap::help_sections() {
        if !lines.is_empty() {
            lines.push(Line::default());
        }
        lines.push(Line::styled(title, theme.heading));
        for (keys, desc) in rows {
            lines.push(Line::from(vec![Span::styled(format!("  {keys:<16}"), theme.key), Span::raw(desc)]));
        }
    }
    lines
}

fn render_help(frame: &mut Frame, scroll: u16, theme: &Theme) {
    let lines = help_lines(theme);
    let wanted_height = lines.len() as u16 + 2;
    let area = popup::centered(frame.area(), 76, wanted_height.min(frame.area().height.saturating_sub(2).max(3)));
    frame.render_widget(Clear, area);
    let inner_height = area.height.saturating_sub(2) as usize;
    let max_scroll = lines.len().saturating_sub(inner_height) as u16;
    let scroll = scroll.min(max_scroll);
    let mut block = Block::bordered()
        .title(Span::styled(" Keys ", theme.border_focused))
        .border_type(BorderType::Double)
        .border_style(theme.border_focused)
        .style(theme.normal);
    if max_scroll > 0 {
        let more = match (scroll > 0, scroll < max_scroll) {
            (false, _) => " ↓ more: j ",
            (true, true) => " ↑ k  ↓ j ",
            (true, false) => " ↑ more: k ",
        };
        block = block.title_bottom(Line::styled(more, theme.key).right_aligned());
    }
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), area);
}
