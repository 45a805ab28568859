//! The status pane: the backup run in progress or just finished (count, current GPOs, rate, then
//! each GPO's result, failures first), and below it the latest notes (connections, errors).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use gpvault::ops::{ItemStatus, ProgressEvent, RunSummary};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};

use super::state::AppState;
use super::theme::Theme;
use super::tree::{SPINNER, fit};

const MAX_NOTES: usize = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Success,
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub level: Level,
    pub text: String,
}

#[derive(Debug, Default)]
pub struct StatusState {
    /// Newest first.
    pub notes: VecDeque<Note>,
    pub run: Option<BackupRun>,
    pub scroll: u16,
}

impl StatusState {
    pub fn note(&mut self, level: Level, text: impl Into<String>) {
        self.notes.push_front(Note { level, text: text.into() });
        self.notes.truncate(MAX_NOTES);
    }

    pub fn running(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.finished.is_none())
    }
}

/// One Back Up or Back Up All, fed by the operation's progress events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupRun {
    /// "Back Up All", "Back up Default Domain Policy".
    pub what: String,
    /// The domain's DNS name.
    pub domain: String,
    pub dir: PathBuf,
    pub started: Instant,
    pub finished: Option<Instant>,
    pub total: Option<usize>,
    /// The latest step that is not about one GPO ("Reading the GPOs of …").
    pub step: Option<String>,
    /// GPOs being backed up right now, oldest first.
    pub current: Vec<String>,
    /// The core's summary, fed by the same events as the CLI's: both say the same thing.
    pub summary: RunSummary,
    /// The whole run failed before or after the GPOs (the folder could not be opened, say).
    pub fatal: Option<String>,
}

impl BackupRun {
    pub fn new(what: String, domain: String, dir: PathBuf, started: Instant) -> Self {
        BackupRun {
            what,
            domain,
            dir,
            started,
            finished: None,
            total: None,
            step: None,
            current: Vec::new(),
            summary: RunSummary::default(),
            fatal: None,
        }
    }

    pub fn done(&self) -> usize {
        self.summary.done()
    }

    pub fn apply(&mut self, event: ProgressEvent) {
        match event {
            ProgressEvent::Planned { total } => {
                self.total = Some(total);
                self.summary.total = total;
            }
            ProgressEvent::ItemStarted(item) => self.current.push(item.name),
            ProgressEvent::ItemFinished(result) => {
                if let Some(at) = self.current.iter().position(|n| *n == result.item.name) {
                    self.current.remove(at);
                }
                self.summary.record(result);
            }
            ProgressEvent::Step(text) => self.step = Some(text),
        }
    }

    /// The report is the truth at the end; the events only showed the way there.
    pub fn finish(&mut self, result: Result<RunSummary, String>, now: Instant) {
        self.finished = Some(now);
        self.current.clear();
        self.step = None;
        match result {
            Ok(summary) => {
                self.summary = summary;
                self.total = Some(self.summary.total);
            }
            Err(e) => self.fatal = Some(e),
        }
    }

    pub fn elapsed(&self, now: Instant) -> Duration {
        self.finished.unwrap_or(now).saturating_duration_since(self.started)
    }

    /// GPOs per second so far; `None` until there is something to divide.
    pub fn rate(&self, now: Instant) -> Option<f64> {
        let secs = self.elapsed(now).as_secs_f64();
        (self.done() > 0 && secs > 0.05).then(|| self.done() as f64 / secs)
    }

    /// The one-line outcome, for notes and the pane's first line.
    pub fn summary(&self) -> String {
        match &self.fatal {
            Some(e) => format!("{} failed: {e}", self.what),
            None => format!("{}: {}", self.what, self.summary.counts()),
        }
    }
}

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme, focused: bool) {
    let title = if state.status.running() { " Status: backing up " } else { " Status " };
    let block = Block::bordered()
        .title(Span::styled(title, if focused { theme.border_focused } else { theme.border }))
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(if focused { theme.border_focused } else { theme.border });
    let inner_width = area.width.saturating_sub(2);
    // Without the focus the pane is an overview, one line per GPO; with it, it grows and wraps
    // long reasons in full.
    let paragraph = if focused {
        Paragraph::new(lines(state, theme, inner_width, true)).wrap(Wrap { trim: false })
    } else {
        // Unwrapped, only the lines in view are worth cutting to width.
        let visible = state.status.scroll as usize + area.height as usize;
        let cut =
            lines(state, theme, inner_width, false).into_iter().take(visible).map(|l| fit(l, inner_width as usize));
        Paragraph::new(cut.collect::<Vec<_>>())
    };
    frame.render_widget(paragraph.block(block).style(theme.normal).scroll((state.status.scroll, 0)), area);
}

pub fn lines(state: &AppState, theme: &Theme, width: u16, full: bool) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let now = state.clock;
    if let Some(run) = &state.status.run {
        let rate = run.rate(now);
        let rate_text = rate.map(|r| format!("{r:.1} GPOs/s")).unwrap_or_default();
        match run.finished {
            None => {
                let total = run.total;
                let done = run.done();
                let mut spans = vec![
                    Span::styled(format!("{} ", SPINNER[state.spinner_frame()]), theme.warning),
                    Span::styled(run.what.clone(), theme.heading),
                    Span::raw(format!("  {done}/{}", total.map(|t| t.to_string()).unwrap_or_else(|| "?".into()))),
                ];
                if let Some(total) = total.filter(|t| *t > 0) {
                    let bar_width = (width as usize / 6).clamp(5, 20);
                    let filled = (done * bar_width / total).min(bar_width);
                    spans.push(Span::raw(format!(" {}{}", "█".repeat(filled), "░".repeat(bar_width - filled))));
                }
                if run.summary.failed > 0 {
                    spans.push(Span::styled(format!("  {} failed", run.summary.failed), theme.error));
                }
                if !rate_text.is_empty() {
                    spans.push(Span::styled(format!("  {rate_text}"), theme.muted));
                }
                if let (Some(rate), Some(total)) = (rate, total) {
                    let left = total.saturating_sub(done) as f64 / rate;
                    spans.push(Span::styled(format!("  ~{left:.0} s left"), theme.muted));
                }
                lines.push(Line::from(spans));
                let now_doing = match (run.current.as_slice(), &run.step) {
                    ([], Some(step)) => vec![Span::raw(format!("{step}…"))],
                    ([], None) => vec![Span::raw("Starting…")],
                    ([one], _) => vec![Span::styled("Working on ", theme.muted), Span::raw(one.clone())],
                    ([first, rest @ ..], _) => vec![
                        Span::styled("Working on ", theme.muted),
                        Span::raw(first.clone()),
                        Span::styled(format!(" and {} more", rest.len()), theme.muted),
                    ],
                };
                lines.push(Line::from(now_doing));
            }
            Some(_) => {
                let (mark, style) = match (&run.fatal, run.summary.is_clean()) {
                    (Some(_), _) => ("✗", theme.error),
                    (None, true) => ("✓", theme.success),
                    (None, false) => ("!", theme.warning),
                };
                let secs = run.elapsed(now).as_secs_f64();
                let mut spans = vec![Span::styled(format!("{mark} {}", run.summary()), style)];
                spans.push(Span::styled(format!("  {secs:.1} s"), theme.muted));
                if !rate_text.is_empty() {
                    spans.push(Span::styled(format!(", {rate_text}"), theme.muted));
                }
                lines.push(Line::from(spans));
            }
        }
        lines.push(Line::styled(format!("{} → {}", run.domain, run.dir.display()), theme.muted));
        // Failures first with their reasons; while running, the newest successes first, so the
        // list shows the run moving.
        let failures = run.summary.results.iter().filter(|r| r.is_failure());
        for failed in failures {
            let (name, id, reason) = (&failed.item.name, failed.item.gpo, failed.reason().unwrap_or_default());
            if full {
                lines.push(Line::from(vec![
                    Span::styled(format!("✗ {name}"), theme.error),
                    Span::styled(format!("  {id}"), theme.muted),
                ]));
                lines.push(Line::styled(format!("    {reason}"), theme.error));
            } else {
                lines.push(Line::styled(format!("✗ {name}: {reason}"), theme.error));
            }
        }
        for problem in &run.summary.closing {
            lines.push(Line::styled(format!("✗ {problem}"), theme.error));
        }
        let succeeded = run.summary.results.iter().filter(|r| !r.is_failure());
        let succeeded: Box<dyn Iterator<Item = _>> =
            if run.finished.is_none() { Box::new(succeeded.rev()) } else { Box::new(succeeded) };
        for done in succeeded {
            let ItemStatus::Succeeded(made) = &done.status else { continue };
            lines.push(Line::from(vec![
                Span::styled("✓ ", theme.success),
                Span::raw(done.item.name.clone()),
                Span::styled(format!("  → {made}"), theme.muted),
            ]));
        }
        if !state.status.notes.is_empty() {
            lines.push(Line::styled("─".repeat(width as usize), theme.border));
        }
    }
    for note in &state.status.notes {
        let style = match note.level {
            Level::Info => theme.normal,
            Level::Success => theme.success,
            Level::Warning => theme.warning,
            Level::Error => theme.error,
        };
        lines.push(Line::styled(note.text.clone(), style));
    }
    if lines.is_empty() {
        lines.push(Line::styled("Expand a domain to connect (Enter). ? lists every key.", theme.muted));
    }
    lines
}
