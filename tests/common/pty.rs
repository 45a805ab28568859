//! The real binary in a pseudo-terminal, its output fed to a vt100 screen: what the TUI's
//! end-to-end tests (tests/tui_pty.rs) and the demo tape's replay (tests/demo_tape.rs) drive.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub const ROWS: u16 = 30;
pub const COLS: u16 = 100;

/// The binary in a pty, its output fed to a vt100 screen.
pub struct Session {
    pub master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    output: Receiver<Vec<u8>>,
    pub parser: vt100::Parser,
    /// Everything the program wrote, to check what it did to the terminal on the way out.
    pub raw: Vec<u8>,
    /// Output held back from the parser: a frame begun (synchronized output on) and not yet ended.
    pending: Vec<u8>,
    closed: bool,
    cols: u16,
}

impl Session {
    pub fn start(env: &[(&str, String)]) -> Session {
        Session::start_sized(env, ROWS, COLS)
    }

    pub fn start_sized(env: &[(&str, String)], rows: u16, cols: u16) -> Session {
        let pty =
            native_pty_system().openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).expect("open a pty");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_gpvault"));
        command.env_clear();
        command.env("PATH", std::env::var("PATH").unwrap_or_default());
        command.env("TERM", "xterm-256color");
        for (name, value) in env {
            command.env(name, value);
        }
        let child = pty.slave.spawn_command(command).expect("start gpvault in the pty");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        let writer = pty.master.take_writer().expect("pty writer");
        let (tx, output) = channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Session {
            master: pty.master,
            writer,
            child,
            output,
            parser: vt100::Parser::new(NonZeroU16::new(rows).expect("rows"), NonZeroU16::new(cols).expect("cols"), 0),
            raw: Vec::new(),
            pending: Vec::new(),
            closed: false,
            cols,
        }
    }

    /// Reads what the program wrote. The screen only ever shows whole frames: bytes of a frame
    /// still being written (inside synchronized output) wait for its end, so a test never reads
    /// a half-drawn pane.
    pub fn pump(&mut self, wait: Duration) {
        match self.output.recv_timeout(wait) {
            Ok(bytes) => {
                self.take(&bytes);
                while let Ok(more) = self.output.try_recv() {
                    self.take(&more);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                self.closed = true;
                let rest = std::mem::take(&mut self.pending);
                self.parser.process(&rest);
            }
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
        self.pending.extend_from_slice(bytes);
        let upto = whole_frames(&self.pending);
        self.parser.process(&self.pending[..upto]);
        self.pending.drain(..upto);
    }

    pub fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    pub fn rows(&self) -> Vec<String> {
        self.parser.screen().rows(0, self.cols).collect()
    }

    /// Waits until `done` holds for the screen; panics with the screen when it does not in time.
    pub fn wait_for(&mut self, what: &str, timeout: Duration, done: impl Fn(&Session) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            if Instant::now() > deadline || (self.closed && !done(self)) {
                panic!("timed out waiting for {what}; the screen shows:\n{}", self.screen());
            }
            self.pump(Duration::from_millis(50));
        }
    }

    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).expect("write to the pty");
        self.writer.flush().expect("flush the pty");
    }

    /// `stty -a` of the pty: whether the program left raw mode.
    pub fn tty_modes(&self) -> String {
        let tty = self.master.tty_name().expect("the pty's name");
        let out = std::process::Command::new("stty").arg("-F").arg(&tty).arg("-a").output().expect("stty runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits for the program to end and returns its exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                self.pump(Duration::from_millis(200));
                return status;
            }
            assert!(Instant::now() < deadline, "gpvault did not end; the screen shows:\n{}", self.screen());
            self.pump(Duration::from_millis(50));
        }
    }

    /// The terminal is as the program found it: main screen, cooked mode, echo, a cursor.
    pub fn assert_terminal_restored(&self) {
        assert!(!self.parser.screen().alternate_screen(), "the alternate screen was left");
        assert!(!self.parser.screen().hide_cursor(), "the cursor is visible again");
        let raw = String::from_utf8_lossy(&self.raw);
        assert!(raw.contains("\x1b[?1049l"), "leaves the alternate screen");
        let modes = self.tty_modes();
        let words: Vec<&str> = modes.split_whitespace().collect();
        assert!(words.contains(&"icanon") && words.contains(&"echo"), "raw mode is off again: {modes}");
    }

    /// The text inside the details pane (right of the tree), row by row.
    pub fn details_lines(&self) -> Vec<String> {
        self.rows()
            .iter()
            .skip(2)
            // "┃tree┃│details│": the fourth piece between borders is the details pane.
            .map(|row| row.split(['│', '┃']).nth(3).unwrap_or("").trim().to_string())
            .collect()
    }

    /// The first line inside the details pane: the name of what the tree cursor is on.
    pub fn details_title(&self) -> String {
        self.details_lines().into_iter().next().unwrap_or_default()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = &self.master;
    }
}

/// Instance folders (`{GUID}`) in a backup folder.
pub fn instances(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.len() == 38 && name.starts_with('{') && name.ends_with('}')
        })
        .collect()
}

const BEGIN_FRAME: &[u8] = b"\x1b[?2026h";
const END_FRAME: &[u8] = b"\x1b[?2026l";

/// How much of `bytes` can be shown: everything before a frame that has begun and not ended
/// (or before what may be the start of one, cut by the read).
fn whole_frames(bytes: &[u8]) -> usize {
    let last = |needle: &[u8]| bytes.windows(needle.len()).rposition(|w| w == needle);
    match (last(BEGIN_FRAME), last(END_FRAME)) {
        (Some(begin), end) if end.is_none_or(|end| end < begin) => begin,
        _ => (bytes.len().saturating_sub(BEGIN_FRAME.len() - 1)..bytes.len())
            .find(|&at| BEGIN_FRAME.starts_with(&bytes[at..]))
            .unwrap_or(bytes.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::whole_frames;

    #[test]
    fn a_frame_being_written_is_held_back() {
        assert_eq!(whole_frames(b"ab\x1b[?2026hcd\x1b[?2026lef"), 22);
        assert_eq!(whole_frames(b"ab\x1b[?2026hcd\x1b[?2026l\x1b[?2026hhalf"), 20);
        assert_eq!(whole_frames(b"ab\x1b[?2026hcd\x1b[?2026l\x1b[?20"), 20);
        assert_eq!(whole_frames(b"ab\x1b[?2026hhalf"), 2);
        assert_eq!(whole_frames(b"plain"), 5);
    }
}
