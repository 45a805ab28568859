//! The real terminal: raw mode and the alternate screen on the way in, restored on the way out,
//! on an error return and on a panic. No mouse capture: it would break the admin's copy and paste.

use std::io::{self, BufWriter, Stdout, Write};
use std::panic::PanicHookInfo;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode,
    enable_raw_mode,
};
use crossterm::{cursor, execute, queue};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use super::jobs::Incoming;

type PanicHook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

pub struct Screen {
    pub terminal: Terminal<CrosstermBackend<BufWriter<Stdout>>>,
    previous_hook: Arc<PanicHook>,
}

/// Puts the terminal back; safe to call twice.
fn restore() {
    let mut out = io::stdout();
    let _ = execute!(out, EndSynchronizedUpdate, DisableBracketedPaste, LeaveAlternateScreen, cursor::Show);
    let _ = disable_raw_mode();
}

impl Screen {
    pub fn enter() -> io::Result<Screen> {
        // The panic hook restores the terminal before the report is printed, or the report would
        // land on the alternate screen and vanish. Panics on other threads (tokio workers) are
        // reported by the job runner as the job's failure; printing them here would scribble
        // over the UI.
        let previous_hook: Arc<PanicHook> = Arc::new(std::panic::take_hook());
        let ui_thread = thread::current().id();
        let chained = previous_hook.clone();
        std::panic::set_hook(Box::new(move |info| {
            if thread::current().id() == ui_thread {
                restore();
                chained(info);
            }
        }));
        enable_raw_mode()?;
        let mut out = BufWriter::with_capacity(64 * 1024, io::stdout());
        if let Err(e) = execute!(out, EnterAlternateScreen, EnableBracketedPaste, cursor::Hide) {
            restore();
            return Err(e);
        }
        let terminal = match Terminal::new(CrosstermBackend::new(out)) {
            Ok(t) => t,
            Err(e) => {
                restore();
                return Err(e);
            }
        };
        Ok(Screen { terminal, previous_hook })
    }

    /// One frame inside synchronized output, so the terminal shows it whole (no tearing over a
    /// slow SSH link), written in one go from the buffer.
    pub fn draw(&mut self, render: impl FnOnce(&mut ratatui::Frame)) -> io::Result<()> {
        queue!(self.terminal.backend_mut(), BeginSynchronizedUpdate)?;
        self.terminal.draw(render)?;
        queue!(self.terminal.backend_mut(), EndSynchronizedUpdate)?;
        self.terminal.backend_mut().flush()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self.terminal.backend_mut().flush();
        restore();
        // The hook cannot be changed while unwinding (that would abort); ours is harmless then.
        if !thread::panicking() {
            let previous = self.previous_hook.clone();
            std::panic::set_hook(Box::new(move |info| previous(info)));
        }
    }
}

/// Reads terminal events on its own thread and forwards them to the UI's channel; `poll` with a
/// timeout lets it notice when the UI is done.
pub struct InputReader {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl InputReader {
    pub fn spawn(tx: Sender<Incoming>) -> InputReader {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::Builder::new()
            .name("gpvault-input".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    match crossterm::event::poll(Duration::from_millis(100)) {
                        Ok(true) => match crossterm::event::read() {
                            Ok(event) => {
                                if tx.send(Incoming::Terminal(event)).is_err() {
                                    return;
                                }
                            }
                            Err(_) => return,
                        },
                        Ok(false) => {}
                        Err(_) => return,
                    }
                }
            })
            .ok();
        InputReader { stop, thread }
    }
}

impl Drop for InputReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
