//! The terminal UI: a domain tree, a details pane and a status pane over the gpvault library.
//! `--profile` (or the config's only or default profile) connects at start; `/` filters the
//! focused list; `1`–`4` focus the numbered panes (tree, backup list, migration-table editor, status).
//!
//! The shape is the Elm one the ratatui templates use: keys become `Action`s through the keymap
//! (keymap.rs and each pane's own keys); `update` (update.rs) changes the state (state.rs, and
//! each pane's own in panes/) and returns `Effect`s; the job runner (jobs.rs) carries them out on
//! the tokio runtime and sends `JobEvent`s back over a channel; `view` (view.rs) draws. Panes
//! plug in through one list (panes/mod.rs). Bulk work goes plan → confirmation popup (confirm.rs)
//! → run. Only this file and terminal.rs touch the real terminal, only jobs.rs the network.

mod action;
mod confirm;
mod filter;
mod jobs;
mod keymap;
mod natural;
mod panes;
mod popup;
// Measured by benches/tui_scale.rs (which builds the TUI's modules itself); unused by the app.
#[allow(dead_code)]
pub mod scale;
mod state;
mod terminal;
mod theme;
mod update;
mod view;
mod wizard;

#[cfg(test)]
mod tests;

use gpvault::config::UiMemory;
use std::io::IsTerminal;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyEventKind};

use crate::front::{ConnectionArgs, EXIT_OK, Fatal};
use action::{JobEvent, Msg};
use jobs::{Incoming, Jobs};
use keymap::KeyOverrides;
use panes::status::Level;
use state::AppState;
use theme::Theme;

/// At most ~20 frames a second: over SSH every frame costs bandwidth.
const FRAME: Duration = Duration::from_millis(50);
/// How often time alone changes the screen (spinners, the rate) while something runs.
const TICK: Duration = Duration::from_millis(100);
/// Messages handled before the screen gets a chance to redraw: a flood of progress events must
/// not starve the keyboard or the display.
const BATCH: usize = 256;

pub fn run(connection: &ConnectionArgs, theme: Option<&str>, runtime: tokio::runtime::Runtime) -> Result<u8, Fatal> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Fatal("the terminal UI needs a terminal; for scripts use a subcommand (gpvault --help)".into()));
    }
    let start = connection.tui_start()?;
    // Rebindings are checked before the screen changes, so a problem prints on the shell with
    // its config line.
    KeyOverrides::from_config(&start.keys, panes::PANES, &start.config_file)
        .map_err(|problems| Fatal(problems.join("; ")))?
        .install();
    let domains = state::domains_from_targets(start.targets);
    let (theme, theme_note) = Theme::from_env(theme.or(start.theme.as_deref()));

    let memory_path = UiMemory::default_path();
    let memory = memory_path.as_deref().map(UiMemory::load).unwrap_or_default();
    let mut state = AppState::new(domains, memory.last_backup_dir.clone(), Instant::now());
    state.last_migtable = memory.last_migtable.clone().or(start.migtable.clone());
    state.home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(Into::into);
    state.cwd = std::env::current_dir().ok();
    if let Some(note) = theme_note {
        state.status_mut().note(Level::Warning, note);
    }

    let mut screen = terminal::Screen::enter().map_err(|e| Fatal(format!("cannot set up the terminal: {e}")))?;
    let opening = update::open(&mut state, start.chosen);
    let result = event_loop(&mut screen, &mut state, &theme, &runtime, memory_path, opening);
    drop(screen);
    // Jobs still running (a backup the admin chose to abandon) are dropped, but an instance
    // already being written is a blocking task: give it a moment to finish and rename, so
    // quitting mid-run leaves whole instances rather than `.gpvault-partial-*` folders.
    runtime.shutdown_timeout(Duration::from_secs(5));
    result.map(|()| EXIT_OK).map_err(|e| Fatal(format!("terminal error: {e}")))
}

fn event_loop(
    screen: &mut terminal::Screen,
    state: &mut AppState,
    theme: &Theme,
    runtime: &tokio::runtime::Runtime,
    memory_path: Option<std::path::PathBuf>,
    opening: Vec<action::Effect>,
) -> std::io::Result<()> {
    let (tx, rx) = mpsc::channel::<Incoming>();
    let _input = terminal::InputReader::spawn(tx.clone());
    let mut jobs = Jobs::new(runtime.handle().clone(), tx, memory_path);

    let size = screen.terminal.size()?;
    update::update(state, Msg::Resize(size.width, size.height));
    for effect in opening {
        jobs.run(effect);
    }
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let mut last_tick = Instant::now();
    loop {
        let now = Instant::now();
        if dirty && last_draw.is_none_or(|t| now.duration_since(t) >= FRAME) {
            screen.draw(|frame| view::view(state, theme, frame))?;
            last_draw = Some(now);
            dirty = false;
            // Debug builds only: lets tests/tui_pty.rs check that a panic gives the terminal back.
            #[cfg(debug_assertions)]
            if std::env::var_os("GPVAULT_TUI_TEST_PANIC").is_some() {
                panic!("panic requested by GPVAULT_TUI_TEST_PANIC");
            }
        }
        // Sleep until a message comes, the next frame is due, or the next tick; idle, that is
        // a long sleep and no redraws at all.
        let mut wait = Duration::from_secs(5);
        if dirty {
            wait = wait.min(FRAME.saturating_sub(last_draw.map_or(FRAME, |t| now.duration_since(t))));
        }
        if state.animating() {
            wait = wait.min(TICK.saturating_sub(now.duration_since(last_tick)));
        }
        let first = match rx.recv_timeout(wait) {
            Ok(message) => Some(message),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        let now = Instant::now();
        let ticking = state.animating() && now.duration_since(last_tick) >= TICK;
        let tick_effects = update::update(state, Msg::Tick(now));
        if ticking {
            last_tick = now;
            dirty = true;
        }
        let mut effects = tick_effects;
        let mut pending = first;
        let mut handled = 0;
        while let Some(message) = pending.take() {
            if let Some(msg) = into_msg(message, state, &mut jobs) {
                effects.extend(update::update(state, msg));
                dirty = true;
            }
            handled += 1;
            if handled < BATCH {
                pending = rx.try_recv().ok();
            }
        }
        if !effects.is_empty() {
            dirty = true;
        }
        for effect in effects {
            if !jobs.run(effect) {
                return Ok(());
            }
        }
    }
}

/// Terminal events and job results become messages; sessions stay with the job runner.
fn into_msg(message: Incoming, state: &AppState, jobs: &mut Jobs) -> Option<Msg> {
    match message {
        // Where keys go is read per key: the key before may have opened a popup.
        Incoming::Terminal(Event::Key(key)) if key.kind != KeyEventKind::Release => {
            keymap::message_for(state.panes.specs(), state.focus(), key)
        }
        Incoming::Terminal(Event::Resize(width, height)) => Some(Msg::Resize(width, height)),
        Incoming::Terminal(Event::Paste(text)) => Some(Msg::Paste(text)),
        Incoming::Terminal(_) => None,
        Incoming::Job(event) => Some(Msg::Job(event)),
        Incoming::Session { domain, attempt, session } => {
            jobs.keep_session(domain, attempt, session);
            None
        }
        Incoming::Plan { id, plan, description } => {
            jobs.keep_plan(id, plan);
            Some(Msg::Job(JobEvent::Planned { plan: id, result: Ok(description) }))
        }
    }
}
