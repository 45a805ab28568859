//! End to end: the real binary in a real pseudo-terminal against the lab DC (`scripts/lab up`,
//! then `source /tmp/gpvault-lab/env`). At 80x24, `--profile corp` shows corp's GPOs without a key
//! press and `/` narrows the tree. At 100x30 it finds "Default Domain Policy" with the filter,
//! backs it up through the popup (folder and comment, then the plan and a yes), waits for the
//! status pane to say so, quits with `q` and checks the backup folder, the remembered folder and
//! that the terminal was given back. The backup list lists a folder, keeps the latest only and
//! deletes a backup; and a GPO of the test's own, deleted with samba-tool, is found in its deleted
//! view, restored with one key and seen back in the tree.
//!
//! Without the lab (GPVAULT_LAB_PASSWORD unset and no lab env file) the test fails, unless
//! GPVAULT_SKIP_LAB_TESTS=1.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

const ROWS: u16 = 30;
const COLS: u16 = 100;

/// The lab's password and config file: from the environment (`source /tmp/gpvault-lab/env`),
/// or else from the env file `scripts/lab up` writes (what CI's `scripts/test` relies on).
/// `None` when there is no lab and GPVAULT_SKIP_LAB_TESTS=1 asks to skip.
fn lab() -> Option<(String, PathBuf)> {
    if let Ok(password) = std::env::var("GPVAULT_LAB_PASSWORD")
        && !password.is_empty()
    {
        let config = std::env::var("GPVAULT_CONFIG").unwrap_or_else(|_| "/tmp/gpvault-lab/gpvault.toml".into());
        return Some((password, PathBuf::from(config)));
    }
    let dir = std::env::var("GPVAULT_LAB_DIR").unwrap_or_else(|_| "/tmp/gpvault-lab".into());
    let file = Path::new(&dir).join("env");
    let vars: Vec<(String, String)> = std::fs::read_to_string(&file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches(|c| c == '"' || c == '\'').to_string()))
        .collect();
    let var = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    match (var("GPVAULT_LAB_PASSWORD"), var("GPVAULT_CONFIG")) {
        (Some(password), Some(config)) if !password.is_empty() => Some((password, PathBuf::from(config))),
        _ if std::env::var("GPVAULT_SKIP_LAB_TESTS").as_deref() == Ok("1") => {
            eprintln!(
                "SKIPPED tui_pty: no lab (GPVAULT_LAB_PASSWORD unset, no {}) and GPVAULT_SKIP_LAB_TESTS=1",
                file.display()
            );
            None
        }
        _ => panic!(
            "no lab DC: GPVAULT_LAB_PASSWORD is not set and {} has none. Run `scripts/lab up --two-domains` \
             (and `source /tmp/gpvault-lab/env`), or set GPVAULT_SKIP_LAB_TESTS=1 to skip lab tests.",
            file.display()
        ),
    }
}

/// The binary in a pty, its output fed to a vt100 screen.
struct Session {
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    output: Receiver<Vec<u8>>,
    parser: vt100::Parser,
    /// Everything the program wrote, to check what it did to the terminal on the way out.
    raw: Vec<u8>,
    closed: bool,
    cols: u16,
}

impl Session {
    fn start(env: &[(&str, String)]) -> Session {
        Session::start_sized(env, ROWS, COLS)
    }

    fn start_sized(env: &[(&str, String)], rows: u16, cols: u16) -> Session {
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
            closed: false,
            cols,
        }
    }

    fn pump(&mut self, wait: Duration) {
        match self.output.recv_timeout(wait) {
            Ok(bytes) => {
                self.parser.process(&bytes);
                self.raw.extend_from_slice(&bytes);
                while let Ok(more) = self.output.try_recv() {
                    self.parser.process(&more);
                    self.raw.extend_from_slice(&more);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => self.closed = true,
        }
    }

    fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    fn rows(&self) -> Vec<String> {
        self.parser.screen().rows(0, self.cols).collect()
    }

    /// Waits until `done` holds for the screen; panics with the screen when it does not in time.
    fn wait_for(&mut self, what: &str, timeout: Duration, done: impl Fn(&Session) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            if Instant::now() > deadline || (self.closed && !done(self)) {
                panic!("timed out waiting for {what}; the screen shows:\n{}", self.screen());
            }
            self.pump(Duration::from_millis(50));
        }
    }

    fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).expect("write to the pty");
        self.writer.flush().expect("flush the pty");
    }

    /// `stty -a` of the pty: whether the program left raw mode.
    fn tty_modes(&self) -> String {
        let tty = self.master.tty_name().expect("the pty's name");
        let out = std::process::Command::new("stty").arg("-F").arg(&tty).arg("-a").output().expect("stty runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits for the program to end and returns its exit status.
    fn wait_exit(&mut self, timeout: Duration) -> portable_pty::ExitStatus {
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
    fn assert_terminal_restored(&self) {
        assert!(!self.parser.screen().alternate_screen(), "the alternate screen was left");
        assert!(!self.parser.screen().hide_cursor(), "the cursor is visible again");
        let raw = String::from_utf8_lossy(&self.raw);
        assert!(raw.contains("\x1b[?1049l"), "leaves the alternate screen");
        let modes = self.tty_modes();
        let words: Vec<&str> = modes.split_whitespace().collect();
        assert!(words.contains(&"icanon") && words.contains(&"echo"), "raw mode is off again: {modes}");
    }

    /// The text inside the details pane (right of the tree), row by row.
    fn details_lines(&self) -> Vec<String> {
        self.rows()
            .iter()
            .skip(2)
            // "┃tree┃│details│": the fourth piece between borders is the details pane.
            .map(|row| row.split(['│', '┃']).nth(3).unwrap_or("").trim().to_string())
            .collect()
    }

    /// The first line inside the details pane: the name of what the tree cursor is on.
    fn details_title(&self) -> String {
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
fn instances(dir: &Path) -> Vec<PathBuf> {
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

#[test]
fn back_up_one_gpo_through_the_tui() {
    let Some((password, lab_config)) = lab() else { return };
    let work = tempfile::tempdir().expect("temp dir");
    // The TUI must leave the config alone and remember the folder in its own state file.
    let config = work.path().join("gpvault.toml");
    let text = std::fs::read_to_string(&lab_config)
        .unwrap_or_else(|e| panic!("cannot read the lab config {}: {e}", lab_config.display()));
    std::fs::write(&config, &text).expect("write the config copy");
    let state_file = work.path().join("state.toml");
    let backups = work.path().join("backups");
    let home = work.path().join("home");
    std::fs::create_dir_all(&home).expect("home");

    let mut tui = Session::start(&[
        ("GPVAULT_CONFIG", config.display().to_string()),
        ("GPVAULT_PROFILE", "corp".into()),
        ("GPVAULT_LAB_PASSWORD", password),
        ("GPVAULT_STATE_FILE", state_file.display().to_string()),
        ("HOME", home.display().to_string()),
    ]);
    // The chosen profile connects at start: its GPOs, the cursor on their folder, no key pressed.
    tui.wait_for("corp's GPOs", Duration::from_secs(30), |s| {
        s.screen().contains("▾ Group Policy Objects (") && s.screen().contains("Connected to corp.example.test")
    });
    assert_eq!(tui.details_title(), "Group Policy Objects", "the cursor starts on corp's GPOs");

    // The filter finds Default Domain Policy among however many GPOs the lab holds: its words
    // match both default policies, in natural order; n goes to the second.
    tui.send("/default domain policy");
    tui.wait_for("the filtered tree", Duration::from_secs(5), |s| s.screen().contains("/default domain policy"));
    tui.send("\r");
    tui.wait_for("the first match", Duration::from_secs(5), |s| {
        s.details_title() == "Default Domain Controllers Policy"
    });
    tui.send("n");
    tui.wait_for("the next match", Duration::from_secs(5), |s| s.details_title() == "Default Domain Policy");
    let title = tui.details_title();
    assert_eq!(title, "Default Domain Policy", "screen:\n{}", tui.screen());
    // The cursor row stands out (the default theme: a background colour and bold).
    let row = tui.rows().iter().position(|row| row.contains("      Default Domain Policy ")).expect("GPO row");
    let cell = tui.parser.screen().cell(row as u16, 8).expect("cell").clone();
    assert!(
        cell.bgcolor() != vt100::Color::Default || cell.inverse(),
        "the selected row is highlighted:\n{}",
        tui.screen()
    );
    // Its SYSVOL side arrives off the UI thread: the SYSVOL version replaces the spinner.
    tui.wait_for("the SYSVOL version", Duration::from_secs(20), |s| {
        s.details_lines().iter().any(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words.first() == Some(&"Computer") && words.len() >= 3 && words[2].parse::<u32>().is_ok()
        })
    });

    tui.send("b");
    tui.wait_for("the backup popup", Duration::from_secs(5), |s| s.screen().contains("GPO \"Default Domain Policy\""));
    // Ctrl-U clears a prefilled folder, as in a shell.
    tui.send("\x15");
    tui.send(&backups.display().to_string());
    tui.send("\t");
    tui.send("pty test");
    tui.send("\r");
    // The core's plan comes first, in the confirmation popup: the GPO by name and GUID, the
    // folder, the comment; nothing is written before the yes.
    tui.wait_for("the plan", Duration::from_secs(30), |s| {
        s.screen().contains("Back up 1 GPO of corp.example.test into") && s.screen().contains("y yes")
    });
    let plan = tui.screen();
    assert!(plan.contains("back up Default Domain Policy"), "the plan names the GPO:\n{plan}");
    assert!(plan.contains("{31B2F340-016D-11D2-945F-00C04FB984F9}"), "and its GUID:\n{plan}");
    assert!(plan.contains("comment: pty test"), "{plan}");
    assert!(!backups.exists(), "planning writes nothing, not even the folder");
    tui.send("y");
    tui.wait_for("the backup to finish", Duration::from_secs(120), |s| {
        s.screen().contains("1 succeeded, 0 failed")
            || s.screen().contains("1 failed")
            || s.screen().contains("✗ Back up")
    });
    assert!(tui.screen().contains("1 succeeded, 0 failed"), "the backup failed:\n{}", tui.screen());
    assert!(tui.screen().contains("✓ Default Domain Policy"), "{}", tui.screen());

    tui.send("q");
    let status = tui.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "gpvault exited with {status:?}");
    tui.assert_terminal_restored();
    let raw = String::from_utf8_lossy(&tui.raw);
    assert!(!raw.contains("\x1b[?1000h") && !raw.contains("\x1b[?1003h"), "no mouse capture");
    assert!(raw.contains("\x1b[?2026h"), "frames are drawn inside synchronized output");

    let found = instances(&backups);
    assert_eq!(found.len(), 1, "one instance folder in {}: {found:?}", backups.display());
    assert!(found[0].join("bkupInfo.xml").is_file(), "{} has bkupInfo.xml", found[0].display());
    let saved = std::fs::read_to_string(&state_file).expect("state file");
    assert!(saved.contains(&format!("last_backup_dir = \"{}\"", backups.display())), "state:\n{saved}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text, "the config file is not rewritten");
}

/// At 80x24, as over SSH in a tmux window: `--profile corp` shows corp's GPOs without a key
/// press, `/` narrows the tree to what matches, Esc gives the whole tree back.
#[test]
fn the_chosen_profile_opens_on_its_gpos_and_slash_narrows_the_tree() {
    let Some((password, lab_config)) = lab() else { return };
    let work = tempfile::tempdir().expect("temp dir");
    let home = work.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let mut tui = Session::start_sized(
        &[
            ("GPVAULT_CONFIG", lab_config.display().to_string()),
            ("GPVAULT_PROFILE", "corp".into()),
            ("GPVAULT_LAB_PASSWORD", password),
            ("GPVAULT_STATE_FILE", work.path().join("state.toml").display().to_string()),
            ("HOME", home.display().to_string()),
        ],
        24,
        80,
    );
    tui.wait_for("corp's GPOs", Duration::from_secs(30), |s| s.screen().contains("▾ Group Policy Objects ("));
    // Rows of the focused tree indented as GPOs are: "┃      Name".
    let gpo_rows = |s: &Session| {
        s.rows().iter().filter(|r| r.starts_with("┃      ") && r.chars().nth(7).is_some_and(|c| c != ' ')).count()
    };
    // The tree pane's rows are full of GPOs (the lab has more than fit).
    tui.wait_for("GPO rows", Duration::from_secs(5), |s| gpo_rows(s) >= 5);
    let folder =
        |s: &Session| s.rows().iter().find(|r| r.contains("Group Policy Objects (")).cloned().unwrap_or_default();
    let total: usize = folder(&tui)
        .split("Group Policy Objects (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("a GPO count:\n{}", tui.screen()));

    tui.send("/finance");
    tui.wait_for("the narrowed tree", Duration::from_secs(5), |s| folder(s).contains(" of "));
    let screen = tui.screen();
    assert!(screen.contains("Finance Drive Maps"), "{screen}");
    assert!(!screen.contains("Default Domain Policy"), "only what matches:\n{screen}");
    assert!(folder(&tui).contains(&format!(" of {total})")), "{}", folder(&tui));
    assert!(gpo_rows(&tui) < 5, "{screen}");

    tui.send("\x1b");
    tui.wait_for("the whole tree", Duration::from_secs(5), |s| !folder(s).contains(" of "));
    tui.send("q");
    let status = tui.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "gpvault exited with {status:?}");
    tui.assert_terminal_restored();
}

/// A `[keys]` rebinding that puts two actions on one key stops the TUI before it takes the
/// screen, naming the config file's line. Needs no lab.
#[test]
fn a_key_conflict_in_the_config_is_reported_with_its_line() {
    let work = tempfile::tempdir().expect("temp dir");
    let config = work.path().join("gpvault.toml");
    let text = "[profiles.corp]\ndomain = \"corp.example.test\"\nuser = \"Administrator\"\n\n[keys]\nrefresh = \"b\"\n";
    std::fs::write(&config, text).expect("config");
    let mut tui = Session::start(&[
        ("GPVAULT_CONFIG", config.display().to_string()),
        ("HOME", work.path().display().to_string()),
    ]);
    let status = tui.wait_exit(Duration::from_secs(20));
    assert_eq!(status.exit_code(), 2, "a configuration error: {}", tui.screen());
    let raw = String::from_utf8_lossy(&tui.raw);
    assert!(!raw.contains("\x1b[?1049h"), "the screen was never taken");
    let screen = tui.screen().replace('\n', "");
    assert!(screen.contains(&format!("{} line 6", config.display())), "{screen}");
    assert!(screen.contains("b would do two things"), "{screen}");
}

/// A panic on the UI thread gives the terminal back before the report is printed. Needs no lab:
/// the debug build panics right after its first frame when GPVAULT_TUI_TEST_PANIC is set.
#[test]
fn a_panic_restores_the_terminal() {
    let work = tempfile::tempdir().expect("temp dir");
    let config = work.path().join("gpvault.toml");
    std::fs::write(&config, "[profiles.corp]\ndomain = \"corp.example.test\"\nuser = \"Administrator\"\n")
        .expect("config");
    let mut tui = Session::start(&[
        ("GPVAULT_CONFIG", config.display().to_string()),
        ("GPVAULT_TUI_TEST_PANIC", "1".into()),
        ("HOME", work.path().display().to_string()),
    ]);
    let status = tui.wait_exit(Duration::from_secs(20));
    assert!(!status.success(), "a panic is a failure");
    let raw = String::from_utf8_lossy(&tui.raw);
    assert!(raw.contains("\x1b[?1049h"), "the UI had started");
    tui.assert_terminal_restored();
    let screen = tui.screen();
    assert!(
        screen.contains("panic requested by GPVAULT_TUI_TEST_PANIC"),
        "the report is on the main screen:\n{screen}"
    );
}

/// The backup list at 100x30: two backups of one GPO made by the CLI into the folder the TUI
/// remembers; `2` lists them (newest first), `L` keeps the latest only, the details come from
/// the instance itself, and `d` deletes the older one through the plan and a yes. Only the
/// backup folder changes, never the domain.
#[test]
fn the_backup_list_shows_the_folder_and_deletes_a_backup() {
    let Some((password, lab_config)) = lab() else { return };
    let work = tempfile::tempdir().expect("temp dir");
    let backups = work.path().join("backups");
    let home = work.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let env = [
        ("GPVAULT_CONFIG", lab_config.display().to_string()),
        ("GPVAULT_PROFILE", "corp".to_string()),
        ("GPVAULT_LAB_PASSWORD", password),
        ("HOME", home.display().to_string()),
    ];
    for comment in ["older pty backup", "newer pty backup"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gpvault"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .args(["backup", "Default Domain Policy", "--dir"])
            .arg(&backups)
            .args(["--comment", comment])
            .output()
            .expect("gpvault backup runs");
        assert!(out.status.success(), "backup: {}", String::from_utf8_lossy(&out.stderr));
        // Backups of one second would tie; the list orders by time.
        std::thread::sleep(Duration::from_millis(1100));
    }
    assert_eq!(instances(&backups).len(), 2);
    let state_file = work.path().join("state.toml");
    std::fs::write(&state_file, format!("last_backup_dir = \"{}\"\n", backups.display())).expect("state file");

    let mut session_env = env.to_vec();
    session_env.push(("GPVAULT_STATE_FILE", state_file.display().to_string()));
    let mut tui = Session::start(&session_env);
    tui.wait_for("corp's GPOs", Duration::from_secs(30), |s| s.screen().contains("▾ Group Policy Objects ("));
    tui.send("2");
    let title = format!("Backups in {} (2)", backups.display());
    tui.wait_for("the listed folder", Duration::from_secs(10), |s| s.screen().contains(&title));
    let rows = tui.rows();
    let newer = rows.iter().position(|r| r.contains("newer pty backup")).expect("the newer backup listed");
    let older = rows.iter().position(|r| r.contains("older pty backup")).expect("the older backup listed");
    assert!(newer < older, "newest first:\n{}", tui.screen());
    // The selected backup's details are read from the instance once the cursor rests.
    tui.wait_for("the details", Duration::from_secs(10), |s| s.screen().contains("Made by:     gpvault"));

    tui.send("L");
    tui.wait_for("the latest only", Duration::from_secs(10), |s| s.screen().contains("(1), latest only"));
    assert!(!tui.screen().contains("older pty backup"), "{}", tui.screen());
    tui.send("L");
    tui.wait_for("every backup again", Duration::from_secs(10), |s| s.screen().contains(&title));

    tui.send("j");
    tui.send("d");
    tui.wait_for("the delete plan", Duration::from_secs(10), |s| {
        s.screen().contains("Delete 1 backup instance from") && s.screen().contains("y yes")
    });
    assert_eq!(instances(&backups).len(), 2, "planning deletes nothing");
    tui.send("y");
    tui.wait_for("the delete to finish", Duration::from_secs(30), |s| {
        s.screen().contains("1 succeeded, 0 failed")
            && s.screen().contains(&format!("Backups in {} (1)", backups.display()))
    });
    assert!(
        tui.screen().contains("newer pty backup") && !tui.screen().contains("older pty backup"),
        "{}",
        tui.screen()
    );

    tui.send("q");
    tui.send("q");
    let status = tui.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "gpvault exited with {status:?}");
    tui.assert_terminal_restored();
    let left = instances(&backups);
    assert_eq!(left.len(), 1);
    let info = std::fs::read_to_string(left[0].join("bkupInfo.xml")).expect("bkupInfo.xml");
    assert!(info.contains("newer pty backup"), "the older one went: {info}");
}

/// samba-tool against the lab's corp DC (as the lab's own tests run it).
fn samba_tool_corp(password: &str, args: &[&str]) -> String {
    let server = std::env::var("GPVAULT_LAB_CORP_SERVER").unwrap_or_else(|_| "127.0.0.1".into());
    let dir = std::env::var("GPVAULT_LAB_DIR").unwrap_or_else(|_| "/tmp/gpvault-lab".into());
    let smb_conf = std::env::var("GPVAULT_LAB_CORP_SMBCONF").unwrap_or_else(|_| format!("{dir}/corp/etc/smb.conf"));
    let out = std::process::Command::new("samba-tool")
        .args(args)
        .args(["-H", &format!("ldap://{server}")])
        .arg(format!("-UAdministrator%{password}"))
        .args(["-s", &smb_conf])
        .output()
        .expect("samba-tool runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "samba-tool {args:?}: {}{text}", String::from_utf8_lossy(&out.stderr));
    text
}

/// A GPO this test made, deleted again however the test ends.
struct OwnGpo {
    password: String,
    id: String,
}

impl Drop for OwnGpo {
    fn drop(&mut self) {
        let server = std::env::var("GPVAULT_LAB_CORP_SERVER").unwrap_or_else(|_| "127.0.0.1".into());
        let dir = std::env::var("GPVAULT_LAB_DIR").unwrap_or_else(|_| "/tmp/gpvault-lab".into());
        let smb_conf = std::env::var("GPVAULT_LAB_CORP_SMBCONF").unwrap_or_else(|_| format!("{dir}/corp/etc/smb.conf"));
        let _ = std::process::Command::new("samba-tool")
            .args(["gpo", "del", &self.id, "-H", &format!("ldap://{server}")])
            .arg(format!("-UAdministrator%{}", self.password))
            .args(["-s", &smb_conf])
            .output();
    }
}

/// Issue 9's night at 2 a.m., on a GPO of its own: backed up, deleted with samba-tool, found in
/// the deleted GPOs view of the backup list, restored with one key (the core's plan, a yes), and
/// back in the tree, which the TUI reads again after the restore.
#[test]
fn a_deleted_gpo_is_found_in_the_deleted_view_and_restored() {
    let Some((password, lab_config)) = lab() else { return };
    let work = tempfile::tempdir().expect("temp dir");
    let backups = work.path().join("backups");
    let home = work.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let name = format!("gpvault tui restore {}", std::process::id());
    let created = samba_tool_corp(&password, &["gpo", "create", &name]);
    let id = created
        .split_whitespace()
        .last()
        .filter(|w| w.starts_with('{') && w.ends_with('}'))
        .unwrap_or_else(|| panic!("a GUID in: {created}"))
        .to_string();
    let gpo = OwnGpo { password: password.clone(), id: id.clone() };

    let env = [
        ("GPVAULT_CONFIG", lab_config.display().to_string()),
        ("GPVAULT_PROFILE", "corp".to_string()),
        ("GPVAULT_LAB_PASSWORD", password.clone()),
        ("HOME", home.display().to_string()),
    ];
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gpvault"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["backup", &id, "--dir"])
        .arg(&backups)
        .output()
        .expect("gpvault backup runs");
    assert!(out.status.success(), "backup: {}", String::from_utf8_lossy(&out.stderr));
    samba_tool_corp(&password, &["gpo", "del", &id]);
    let state_file = work.path().join("state.toml");
    std::fs::write(&state_file, format!("last_backup_dir = \"{}\"\n", backups.display())).expect("state file");

    let mut session_env = env.to_vec();
    session_env.push(("GPVAULT_STATE_FILE", state_file.display().to_string()));
    let mut tui = Session::start(&session_env);
    tui.wait_for("corp's GPOs", Duration::from_secs(30), |s| s.screen().contains("▾ Group Policy Objects ("));
    tui.send("2");
    tui.wait_for("the listed folder", Duration::from_secs(10), |s| s.screen().contains(&name));
    tui.send("D");
    tui.wait_for("the deleted view", Duration::from_secs(10), |s| {
        s.screen().contains("(1), deleted from corp.example.test") && s.screen().contains(&name)
    });

    tui.send("R");
    tui.wait_for("the restore plan", Duration::from_secs(30), |s| {
        s.screen().contains("Restore 1 GPO of corp.example.test") && s.screen().contains("y yes")
    });
    tui.send("y");
    tui.wait_for("the restore to finish", Duration::from_secs(60), |s| {
        s.screen().contains(": 1 succeeded, 0 failed") || s.screen().contains("1 failed")
    });
    assert!(tui.screen().contains(": 1 succeeded, 0 failed"), "the restore failed:\n{}", tui.screen());
    // The domain is read again: the GPO is no longer deleted, and the tree has it.
    tui.wait_for("the deleted view emptied", Duration::from_secs(30), |s| {
        s.screen().contains("(0), deleted from corp.example.test")
    });
    tui.send("1");
    tui.send(&format!("/{name}"));
    tui.wait_for("the GPO in the filtered tree", Duration::from_secs(10), |s| {
        s.screen().contains(&format!("/{name}   1/1")) && s.rows().iter().any(|r| r.contains(&name) && !r.contains('/'))
    });

    // Esc on its own (followed at once by a key, a terminal reads Alt-that-key).
    tui.send("\x1b");
    tui.wait_for("the whole tree", Duration::from_secs(5), |s| !s.screen().contains(&format!("/{name}")));
    tui.send("q");
    let status = tui.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "gpvault exited with {status:?}");
    tui.assert_terminal_restored();
    drop(gpo);
}
