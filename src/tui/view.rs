//! Drawing. `view` reads the state and draws; it changes nothing. Where each pane goes comes
//! from the pane list (panes/mod.rs), what it shows from the pane itself.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

use super::action::Action;
use super::keymap::{self, key_at};
use super::panes::tree::fit;
use super::panes::{FOCUS_MARK, MIN_HEIGHT, MIN_WIDTH, areas};
use super::popup;
use super::state::{AppState, Focus, HelpState};
use super::theme::Theme;

pub fn view(state: &AppState, theme: &Theme, frame: &mut Frame) {
    let area = frame.area();
    let a = areas(area, state.panes.specs(), state.focused);
    if a.too_small {
        render_too_small(frame, area, theme);
        return;
    }
    if let Some(r) = a.title {
        render_title(frame, r, state, state.selected().map(|row| row.key.domain()), theme);
    }
    for (id, r) in &a.panes {
        if let Some(pane) = state.panes.get(*id) {
            pane.render(frame, *r, &state.context(*id, theme), *id == state.focused);
        }
    }
    if let Some(r) = a.footer {
        render_footer(frame, r, state, theme);
    }
    if let Some(p) = &state.popup {
        popup::render(frame, p, theme, super::panes::tree::SPINNER[state.spinner_frame()]);
    }
    if let Some(help) = &state.help {
        render_help(frame, state, help.scroll, theme);
    }
}

/// Below the smallest usable size: what the size is and what it needs to be, never a panic.
fn render_too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let lines = vec![
        Line::styled("Terminal too small", theme.warning),
        Line::raw(format!("{}x{}, needs {MIN_WIDTH}x{MIN_HEIGHT}", area.width, area.height)),
    ];
    let height = (lines.len() as u16).min(area.height);
    let r = Rect { y: area.y + (area.height - height) / 2, height, ..area };
    frame.render_widget(Paragraph::new(lines).alignment(Alignment::Center).wrap(Wrap { trim: true }), r);
}

/// The app's name, then what must never be cut off (TLS without verification), then where the
/// cursor is; on the right, the numbered panes as tabs (hidden ones too), the focused one marked.
fn render_title(frame: &mut Frame, area: Rect, state: &AppState, domain: Option<usize>, theme: &Theme) {
    let mut spans = vec![Span::styled(" gpvault ", theme.title)];
    let insecure: Vec<&str> = state.domains.iter().filter(|d| d.insecure_tls()).filter_map(|d| d.dns_name()).collect();
    if !insecure.is_empty() {
        let which = if insecure.len() == 1 { String::new() } else { format!(" ({})", insecure.join(", ")) };
        spans.push(Span::styled(format!(" ⚠ TLS NOT VERIFIED{which} "), theme.warning));
    }
    let essential = Line::from(spans.clone()).width();
    let mut tabs = Vec::new();
    for (i, spec) in state.panes.numbered().enumerate() {
        let focused = spec.id == state.focused;
        let text =
            if focused { format!("{FOCUS_MARK}{} {}", i + 1, spec.name) } else { format!(" {} {}", i + 1, spec.name) };
        tabs.push(Span::styled(text, if focused { theme.focus } else { theme.muted }));
        tabs.push(Span::raw(" "));
    }
    let tabs = Line::from(tabs);
    let width = area.width as usize;
    let room = width.saturating_sub(tabs.width() + 1);
    let show_tabs = essential <= room;
    if let Some(domain) = domain.and_then(|d| state.domains.get(d)) {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(domain.label.clone(), theme.header));
        if let Some(info) = &domain.connection {
            let url = format!("  {}", info.ldap);
            // The URL is the first thing to go when the tabs need the room.
            if !show_tabs || Line::from(spans.clone()).width() + url.chars().count() <= room {
                spans.push(Span::styled(url, theme.muted));
            }
        }
    }
    let left = Line::from(spans);
    if show_tabs {
        frame.render_widget(Paragraph::new(fit(left, room)), Rect { width: room as u16, ..area });
        let x = area.x + area.width - tabs.width() as u16;
        frame.render_widget(Paragraph::new(tabs.clone()), Rect { x, width: tabs.width() as u16, ..area });
    } else {
        frame.render_widget(Paragraph::new(fit(left, width)), area);
    }
}

/// Key hints from the keymap, as many as fit; the run's progress on the right when the status
/// pane is hidden.
fn render_footer(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    // A popup's keys are in the popup; the footer keeps describing the pane behind it.
    let focus = match state.focus() {
        Focus::Form | Focus::Confirm => Focus::Pane(state.focused),
        other => other,
    };
    let right = match state.status().run() {
        Some(run) if run.finished.is_none() => {
            let total = run.total().map(|t| t.to_string()).unwrap_or_else(|| "?".into());
            format!("{} {}/{total} ", run.kind.doing(), run.done())
        }
        _ => String::new(),
    };
    let budget = (area.width as usize).saturating_sub(right.chars().count() + 1);
    let hints = keymap::hints(state.panes.specs(), focus);
    // Help and quit matter most when space is short, minor keys least; the chosen ones keep the
    // table's order.
    let rank = |h: &keymap::Hint| match h.hint {
        "help" | "quit" | "close" => 0,
        _ if h.minor => 2,
        _ => 1,
    };
    let mut priority: Vec<usize> = (0..hints.len()).collect();
    priority.sort_by_key(|i| rank(&hints[*i]));
    let mut chosen = vec![false; hints.len()];
    let mut used = 0;
    let cost = |h: &keymap::Hint| h.key.chars().count() + h.hint.chars().count() + 3;
    let mut all_others_fit = true;
    for i in priority {
        // A minor key only beside every other one: a short footer is not filled up with them.
        let minor = rank(&hints[i]) == 2;
        if used + cost(&hints[i]) <= budget && (!minor || all_others_fit) {
            used += cost(&hints[i]);
            chosen[i] = true;
        } else if !minor {
            all_others_fit = false;
        }
    }
    let mut spans = vec![Span::raw(" ")];
    for (hint, _) in hints.iter().zip(&chosen).filter(|(_, chosen)| **chosen) {
        spans.push(Span::styled(hint.key, theme.key));
        spans.push(Span::styled(format!(" {}  ", hint.hint), theme.muted));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    if !right.is_empty() {
        let width = (right.chars().count() as u16).min(area.width);
        let r = Rect { x: area.x + area.width - width, width, ..area };
        frame.render_widget(Paragraph::new(Line::styled(right, theme.warning)), r);
    }
}

pub fn help_lines(state: &AppState, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (title, rows) in keymap::help_sections(state.panes.specs()) {
        if !lines.is_empty() {
            lines.push(Line::default());
        }
        lines.push(Line::styled(title, theme.header));
        for (keys, desc) in rows {
            lines.push(Line::from(vec![Span::styled(format!("  {keys:<16}"), theme.key), Span::raw(desc)]));
        }
    }
    lines
}

fn render_help(frame: &mut Frame, state: &AppState, scroll: u16, theme: &Theme) {
    let lines = help_lines(state, theme);
    let wanted_height = lines.len() as u16 + 2;
    let area = popup::centered(frame.area(), 76, wanted_height.min(frame.area().height.saturating_sub(2).max(3)));
    frame.render_widget(Clear, area);
    let max_scroll = HelpState::max_scroll(lines.len(), frame.area().height);
    let scroll = scroll.min(max_scroll);
    let mut block = Block::bordered()
        .title(Span::styled(" Keys ", theme.focus))
        .border_type(BorderType::Double)
        .border_style(theme.focus)
        .style(theme.normal);
    if max_scroll > 0 {
        let (up, down) = (key_at(Focus::Help, Action::Up), key_at(Focus::Help, Action::Down));
        let more = match (scroll > 0, scroll < max_scroll) {
            (false, _) => format!(" {down} more "),
            (true, true) => format!(" {up} {down} "),
            (true, false) => format!(" {up} more "),
        };
        block = block.title_bottom(Line::styled(more, theme.key).right_aligned());
    }
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), area);
}
