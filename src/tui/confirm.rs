//! The one confirmation popup: it states what will change (a plan's description: title, notes,
//! then every change with its item, action, from and to), scrolls when that is long, and asks
//! y/n. What "yes" does is a token the popup carries without reading it: run a plan, cancel
//! the running job, quit. Backup uses it today; restore, import, copy and delete will too.

use std::path::PathBuf;

use gpvault::ops::PlanDescription;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

use super::action::{Action, PlanId};
use super::keymap::{self, key_at};
use super::panes::status::RunKind;
use super::panes::{PaneId, scrolled};
use super::popup::centered;
use super::state::Focus;
use super::theme::Theme;

/// What "yes" does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnYes {
    /// Carry out the plan the job runner keeps under this id; the rest labels the status pane.
    Run(PendingRun),
    /// Set the running job's cancel flag.
    CancelRun,
    Quit,
    /// The pane's own question (`Request::Ask`): the pane holds what it asked and is told the
    /// answer.
    Pane(PaneId),
}

/// A run waiting for its "yes": which plan, and how the status pane will name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRun {
    pub plan: PlanId,
    pub kind: RunKind,
    /// "Back Up All", "Back up \"Default Domain Policy\"".
    pub what: String,
    pub domain: String,
    pub dir: PathBuf,
}

pub struct Confirmation {
    /// The frame's title: " Back up? ".
    pub title: String,
    /// What will change; `None` while the core is still working it out.
    pub plan: Option<PlanDescription>,
    /// Shown (with a spinner) until the plan is known.
    pub waiting: String,
    pub scroll: u16,
    pub on_yes: OnYes,
}

/// The widest the popup gets; wide terminals show long paths on one line.
const MAX_WIDTH: u16 = 120;

impl Confirmation {
    /// A question whose plan the core is still making.
    pub fn waiting(title: impl Into<String>, waiting: impl Into<String>, on_yes: OnYes) -> Self {
        Confirmation { title: title.into(), plan: None, waiting: waiting.into(), scroll: 0, on_yes }
    }

    /// A question whose every word is known.
    pub fn ready(title: impl Into<String>, plan: PlanDescription, on_yes: OnYes) -> Self {
        Confirmation { title: title.into(), plan: Some(plan), waiting: String::new(), scroll: 0, on_yes }
    }

    /// The plan this popup waits on, if it waits on one.
    pub fn plan_id(&self) -> Option<PlanId> {
        match &self.on_yes {
            OnYes::Run(run) => Some(run.plan),
            _ => None,
        }
    }

    /// Moves the text by a scrolling key, within what a terminal of `size` shows.
    pub fn scroll_by(&mut self, action: Action, size: (u16, u16)) {
        let (body, width) = body_size(Rect::new(0, 0, size.0, size.1), self.text_height(size.0));
        let lines = self.lines(&Theme::plain(), width, "").len();
        let max = lines.saturating_sub(body as usize);
        self.scroll = scrolled(self.scroll, action, body as usize, max);
    }

    fn text_height(&self, terminal_width: u16) -> usize {
        let width = popup_width(terminal_width).saturating_sub(2);
        self.lines(&Theme::plain(), width, "").len()
    }

    /// The text, wrapped to `width` columns by hand so its height is known exactly.
    pub fn lines(&self, theme: &Theme, width: u16, spinner: &str) -> Vec<Line<'static>> {
        // Each line with the indent its continuation lines get.
        let mut lines: Vec<(Line<'static>, usize)> = Vec::new();
        let Some(plan) = &self.plan else {
            let waiting = Line::from(vec![
                Span::styled(format!("{spinner} "), theme.warning),
                Span::styled(self.waiting.clone(), theme.muted),
            ]);
            return wrap(vec![(waiting, 2)], width);
        };
        lines.push((Line::styled(plan.title.clone(), theme.header), 0));
        for note in &plan.notes {
            lines.push((Line::styled(note.clone(), theme.warning), 0));
        }
        if !plan.changes.is_empty() {
            lines.push((Line::default(), 0));
        }
        for change in &plan.changes {
            let mut spans = vec![Span::styled(format!("{} ", change.action), theme.key)];
            match &change.item {
                Some(item) => {
                    spans.push(Span::raw(item.name.clone()));
                    spans.push(Span::styled(format!("  {}", item.gpo), theme.muted));
                }
                None => spans.push(Span::raw("(the run as a whole)")),
            }
            lines.push((Line::from(spans), 2));
            for (label, place) in [("  from ", &change.from), ("  to   ", &change.to)] {
                if !place.is_empty() {
                    lines.push((
                        Line::from(vec![Span::styled(label, theme.muted), Span::raw(place.clone())]),
                        label.len(),
                    ));
                }
            }
        }
        wrap(lines, width)
    }
}

fn popup_width(terminal_width: u16) -> u16 {
    terminal_width.saturating_sub(4).clamp(20, MAX_WIDTH)
}

/// The popup's rectangle for a text of `text_height` lines: as tall as needed, up to the screen.
fn popup_area(area: Rect, text_height: usize) -> Rect {
    // Borders, the text, a blank line and the keys.
    let wanted = (text_height as u16).saturating_add(4);
    centered(area, popup_width(area.width), wanted.min(area.height.saturating_sub(2).max(3)))
}

/// Rows and columns for the scrolling text inside the popup.
fn body_size(area: Rect, text_height: usize) -> (u16, u16) {
    let popup = popup_area(area, text_height);
    (popup.height.saturating_sub(4).max(1), popup.width.saturating_sub(2))
}

pub fn render(frame: &mut Frame, confirm: &Confirmation, theme: &Theme, spinner: &str) {
    let full = frame.area();
    let area = popup_area(full, confirm.text_height(full.width));
    frame.render_widget(Clear, area);
    let mut block = Block::bordered()
        .title(Span::styled(confirm.title.clone(), theme.focus))
        .border_type(BorderType::Double)
        .border_style(theme.focus)
        .style(theme.normal);
    let inner = block.inner(area);
    let [body, _, keys] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(1), Constraint::Length(1)]).areas(inner);
    let lines = confirm.lines(theme, body.width, spinner);
    let max_scroll = lines.len().saturating_sub(body.height as usize) as u16;
    let scroll = confirm.scroll.min(max_scroll);
    if max_scroll > 0 {
        let (up, down) = (key_at(Focus::Confirm, Action::Up), key_at(Focus::Confirm, Action::Down));
        let more = match (scroll > 0, scroll < max_scroll) {
            (false, _) => format!(" {down} more "),
            (true, true) => format!(" {up} {down} "),
            (true, false) => format!(" {up} more "),
        };
        block = block.title_bottom(Line::styled(more, theme.key).right_aligned());
    }
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), body);
    let mut spans = Vec::new();
    // While the plan is being made there is nothing to say yes to.
    let hints = keymap::hints(&[], Focus::Confirm);
    for hint in hints.iter().filter(|h| confirm.plan.is_some() || h.action != Action::Confirm) {
        spans.push(Span::styled(hint.key, theme.key));
        spans.push(Span::raw(format!(" {}  ", hint.hint)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), keys);
}

/// Cuts lines longer than `width` into several, each continuation indented by the line's
/// `hang`: a span that fits on a line of its own starts one rather than being cut (a GUID stays
/// whole), a longer one (a path) is cut where the line ends. Styles stay with their text.
fn wrap(lines: Vec<(Line<'static>, usize)>, width: u16) -> Vec<Line<'static>> {
    let width = width.max(1) as usize;
    let mut out = Vec::new();
    for (line, hang) in lines {
        if line.width() <= width {
            out.push(line);
            continue;
        }
        let hang = if hang * 2 < width { hang } else { 0 };
        let mut current: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        let mut new_line = |current: &mut Vec<Span<'static>>, used: &mut usize| {
            out.push(Line::from(std::mem::take(current)));
            current.push(Span::raw(" ".repeat(hang)));
            *used = hang;
        };
        for span in line.spans {
            let mut content = span.content.as_ref();
            if used > hang && used + span.width() > width && hang + span.width() <= width {
                new_line(&mut current, &mut used);
                // The space that separated it from what came before is not carried over.
                content = content.trim_start();
            }
            let mut piece = String::new();
            for c in content.chars() {
                let w = Span::raw(c.to_string()).width();
                if used + w > width && used > hang {
                    if !piece.is_empty() {
                        current.push(Span::styled(std::mem::take(&mut piece), span.style));
                    }
                    new_line(&mut current, &mut used);
                }
                piece.push(c);
                used += w;
            }
            if !piece.is_empty() {
                current.push(Span::styled(piece, span.style));
            }
        }
        out.push(Line::from(current));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn long_lines_wrap_into_pieces_that_fit_and_keep_every_character() {
        let path = r"\\corp.example.test\SysVol\corp.example.test\Policies\{31B2F340-016D-11D2-945F-00C04FB984F9}";
        let lines = wrap(vec![(Line::from(vec![Span::raw("  from "), Span::raw(path.to_string())]), 7)], 30);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.width() <= 30));
        assert!(lines[1..].iter().all(|l| text(l).starts_with("       ")), "continuations hang under the path");
        let joined: String = lines.iter().map(|l| text(l).trim().to_string()).collect();
        assert_eq!(joined, format!("from {path}"));
    }

    #[test]
    fn a_span_that_fits_a_line_of_its_own_is_not_cut() {
        let guid = "  {31B2F340-016D-11D2-945F-00C04FB984F9}";
        let line = Line::from(vec![Span::raw("back up "), Span::raw("Default Domain Policy"), Span::raw(guid)]);
        let lines = wrap(vec![(line, 2)], 50);
        let expected = format!("  {}", guid.trim_start());
        assert_eq!(lines.iter().map(text).collect::<Vec<_>>(), ["back up Default Domain Policy", expected.as_str()]);
    }
}
