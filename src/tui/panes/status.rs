//! The status pane: the run in progress or just finished (count, current GPOs, rate, then each
//! GPO's result from the core's `RunSummary`: failures first, then what a cancel left undone),
//! and below it the latest notes (connections, errors).

use std::any::Any;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use gpvault::ops::{CancelFlag, ItemStatus, ProgressEvent, RunSummary};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::tree::fit;
use super::{Context, Pane, PaneId, PaneSpec, Request, Slot, pane_block, scrolled};
use crate::tui::action::Action;
use crate::tui::keymap::key_for;

pub const ID: PaneId = PaneId("status");

pub static SPEC: PaneSpec = PaneSpec {
    id: ID,
    name: "Status",
    slot: Slot::Bottom,
    numbered: true,
    keys: &[],
    new: || Box::new(StatusPane::default()),
};

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
pub struct StatusPane {
    /// Newest first.
    notes: VecDeque<Note>,
    run: Option<BackupRun>,
    pub scroll: u16,
    /// Bumped by every change of the notes or the run.
    generation: u64,
    /// The line count when focused, and the (generation, width) it was counted for.
    counted: Option<(u64, u16, usize)>,
}

impl StatusPane {
    pub fn note(&mut self, level: Level, text: impl Into<String>) {
        self.notes.push_front(Note { level, text: text.into() });
        self.notes.truncate(MAX_NOTES);
        self.generation += 1;
    }

    #[cfg(test)]
    pub fn notes(&self) -> &VecDeque<Note> {
        &self.notes
    }

    pub fn run(&self) -> Option<&BackupRun> {
        self.run.as_ref()
    }

    pub fn running(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.finished.is_none())
    }

    /// A new run replaces the last one, scrolled to the top.
    pub fn start(&mut self, run: BackupRun) {
        self.run = Some(run);
        self.scroll = 0;
        self.generation += 1;
    }

    pub fn apply(&mut self, event: ProgressEvent) {
        if let Some(run) = self.run.as_mut() {
            run.apply(event);
            self.generation += 1;
        }
    }

    pub fn finish(&mut self, result: Result<RunSummary, String>, now: Instant) {
        if let Some(run) = self.run.as_mut() {
            run.finish(result, now);
            self.generation += 1;
        }
    }

    /// Sets the running job's cancel flag: nothing new starts, GPOs in flight finish.
    pub fn cancel_run(&mut self) {
        if let Some(run) = self.run.as_ref().filter(|r| r.finished.is_none()) {
            run.cancel.cancel();
            self.generation += 1;
        }
    }

    /// How many lines the focused pane has at `width` (unwrapped): bounds the scrolling.
    /// Counted again only after the notes or the run changed.
    pub fn line_count(&mut self, ctx: &Context) -> usize {
        match self.counted {
            Some((generation, width, count)) if generation == self.generation && width == ctx.width => count,
            _ => {
                let count = self.lines(ctx, true).len();
                self.counted = Some((self.generation, ctx.width, count));
                count
            }
        }
    }
}

/// What a run does: how the pane names it, and what follows it when it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunKind {
    Backup,
    /// Backup instances removed (a delete or a prune): the backup list reads the folder again.
    Delete,
    /// GPOs restored into the tree's domain `domain`: the tree reads the domain again.
    Restore {
        domain: usize,
    },
    /// A GPO copied into the tree's domain `domain`: the tree reads it again to show the copy.
    Copy {
        domain: usize,
    },
    /// Settings imported over a GPO of the tree's domain `domain` (a safety backup written into
    /// the run's folder first): both are read again.
    Import {
        domain: usize,
    },
}

impl RunKind {
    /// What the run is doing, for titles: "backing up".
    pub fn doing(self) -> &'static str {
        match self {
            RunKind::Backup => "backing up",
            RunKind::Delete => "deleting backups",
            RunKind::Restore { .. } => "restoring",
            RunKind::Copy { .. } => "copying",
            RunKind::Import { .. } => "importing",
        }
    }

    /// The run as the subject of a question: "the backup".
    pub fn noun(self) -> &'static str {
        match self {
            RunKind::Backup => "the backup",
            RunKind::Delete => "the deletion",
            RunKind::Restore { .. } => "the restore",
            RunKind::Copy { .. } => "the copy",
            RunKind::Import { .. } => "the import",
        }
    }
}

/// One run of a plan (Back Up, Back Up All, a delete or prune of backups, a restore), fed by the
/// operation's progress events.
#[derive(Clone, Debug)]
pub struct BackupRun {
    pub kind: RunKind,
    /// "Back Up All", "Back up \"Default Domain Policy\"".
    pub what: String,
    /// The domain's DNS name; empty for work on a backup folder alone.
    pub domain: String,
    pub dir: PathBuf,
    pub started: Instant,
    pub finished: Option<Instant>,
    /// The plan's size is known (`summary.total` holds it).
    pub planned: bool,
    /// The latest step that is not about one GPO ("Updating manifest.xml").
    pub step: Option<String>,
    /// GPOs being backed up right now, oldest first: only those that really started.
    pub current: Vec<String>,
    /// The core's summary, fed by the same events as the CLI's: both say the same thing.
    pub summary: RunSummary,
    /// The whole run failed before or after the GPOs (the folder could not be opened, say).
    pub fatal: Option<String>,
    /// A clone of the flag the job reads: set, the run starts nothing new.
    pub cancel: CancelFlag,
}

impl BackupRun {
    pub fn new(what: String, domain: String, dir: PathBuf, started: Instant, cancel: CancelFlag) -> Self {
        BackupRun {
            kind: RunKind::Backup,
            what,
            domain,
            dir,
            started,
            finished: None,
            planned: false,
            step: None,
            current: Vec::new(),
            summary: RunSummary::default(),
            fatal: None,
            cancel,
        }
    }

    pub fn total(&self) -> Option<usize> {
        self.planned.then_some(self.summary.total)
    }

    pub fn done(&self) -> usize {
        self.summary.done()
    }

    pub fn apply(&mut self, event: ProgressEvent) {
        match event {
            ProgressEvent::Planned { total } => {
                self.planned = true;
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
                self.planned = true;
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

    /// The one-line outcome, for the pane's first line.
    pub fn outcome(&self) -> String {
        match &self.fatal {
            Some(e) => format!("{} failed: {e}", self.what),
            None => format!("{}: {}", self.what, self.summary.counts()),
        }
    }
}

impl Pane for StatusPane {
    fn title(&self, _ctx: &Context) -> String {
        match &self.run {
            Some(run) if run.finished.is_none() && run.cancel.is_cancelled() => "Status: cancelling".into(),
            Some(run) if run.finished.is_none() => {
                format!("Status: {} ({} cancels)", run.kind.doing(), key_for(Action::CancelRun))
            }
            _ => "Status".into(),
        }
    }

    fn handle(&mut self, action: Action, ctx: &Context) -> Vec<Request> {
        if matches!(
            action,
            Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom
        ) {
            let max = self.line_count(ctx).saturating_sub(1);
            self.scroll = scrolled(self.scroll, action, ctx.page, max);
        }
        Vec::new()
    }

    fn render(&self, frame: &mut Frame, area: Rect, ctx: &Context, focused: bool) {
        let block = pane_block(self.title(ctx), ctx, focused);
        let inner_width = area.width.saturating_sub(2);
        // Without the focus the pane is an overview, one line per GPO; with it, it grows and wraps
        // long reasons in full.
        let paragraph = if focused {
            Paragraph::new(self.lines(ctx, true)).wrap(Wrap { trim: false })
        } else {
            // Unwrapped, only the lines in view are worth cutting to width.
            let visible = self.scroll as usize + area.height as usize;
            let cut = self.lines(ctx, false).into_iter().take(visible).map(|l| fit(l, inner_width as usize));
            Paragraph::new(cut.collect::<Vec<_>>())
        };
        frame.render_widget(paragraph.block(block).style(ctx.theme.normal).scroll((self.scroll, 0)), area);
    }

    fn animating(&self, _ctx: &Context) -> bool {
        self.running()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

impl StatusPane {
    /// What the pane shows; `full` (focused) gives each failure its reason on a line of its own.
    pub fn lines(&self, ctx: &Context, full: bool) -> Vec<Line<'static>> {
        let (theme, width) = (ctx.theme, ctx.width);
        let mut lines = Vec::new();
        let now = ctx.clock;
        if let Some(run) = &self.run {
            let rate = run.rate(now);
            let rate_text = rate.map(|r| format!("{r:.1} GPOs/s")).unwrap_or_default();
            match run.finished {
                None => {
                    let total = run.total();
                    let done = run.done();
                    let mut spans = vec![
                        Span::styled(format!("{} ", ctx.spinner), theme.warning),
                        Span::styled(run.what.clone(), theme.header),
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
                    let mut now_doing = match (run.current.as_slice(), &run.step) {
                        ([], Some(step)) => vec![Span::raw(format!("{step}…"))],
                        ([], None) => vec![Span::raw("Starting…")],
                        ([one], _) => vec![Span::styled("Working on ", theme.muted), Span::raw(one.clone())],
                        ([first, rest @ ..], _) => vec![
                            Span::styled("Working on ", theme.muted),
                            Span::raw(first.clone()),
                            Span::styled(format!(" and {} more", rest.len()), theme.muted),
                        ],
                    };
                    if run.cancel.is_cancelled() {
                        now_doing.push(Span::styled("  cancelling: nothing new starts", theme.warning));
                    }
                    lines.push(Line::from(now_doing));
                }
                Some(_) => {
                    let (mark, style) = match (&run.fatal, run.summary.is_clean()) {
                        (Some(_), _) => ("✗", theme.error),
                        (None, true) => ("✓", theme.success),
                        (None, false) => ("!", theme.warning),
                    };
                    let secs = run.elapsed(now).as_secs_f64();
                    let mut spans = vec![Span::styled(format!("{mark} {}", run.outcome()), style)];
                    spans.push(Span::styled(format!("  {secs:.1} s"), theme.muted));
                    if !rate_text.is_empty() {
                        spans.push(Span::styled(format!(", {rate_text}"), theme.muted));
                    }
                    lines.push(Line::from(spans));
                }
            }
            let place = match run.kind {
                RunKind::Backup => format!("{} → {}", run.domain, run.dir.display()),
                RunKind::Delete => format!("in {}", run.dir.display()),
                RunKind::Restore { .. } | RunKind::Import { .. } => format!("{} → {}", run.dir.display(), run.domain),
                RunKind::Copy { .. } => format!("→ {}", run.domain),
            };
            lines.push(Line::styled(place, theme.muted));
            // Failures first with their reasons, then what a cancel left undone; while running,
            // the newest successes first, so the list shows the run moving.
            let results = &run.summary.results;
            for failed in results.iter().filter(|r| matches!(r.status, ItemStatus::Failed(_))) {
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
            for skipped in results.iter().filter(|r| r.status == ItemStatus::Cancelled) {
                lines.push(Line::from(vec![
                    Span::styled("○ ", theme.warning),
                    Span::raw(skipped.item.name.clone()),
                    Span::styled(format!("  {}", skipped.reason().unwrap_or_default()), theme.muted),
                ]));
            }
            let succeeded = results.iter().filter(|r| matches!(r.status, ItemStatus::Succeeded(_)));
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
            if !self.notes.is_empty() {
                lines.push(Line::styled("─".repeat(width as usize), theme.border));
            }
        }
        for note in &self.notes {
            let style = match note.level {
                Level::Info => theme.normal,
                Level::Success => theme.success,
                Level::Warning => theme.warning,
                Level::Error => theme.error,
            };
            lines.push(Line::styled(note.text.clone(), style));
        }
        if lines.is_empty() {
            let text = format!(
                "Expand a domain to connect ({}). {} lists every key.",
                key_for(Action::Toggle),
                key_for(Action::Help)
            );
            lines.push(Line::styled(text, theme.muted));
        }
        lines
    }
}
