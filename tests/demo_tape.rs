//! demo.tape, replayed: VHS needs ttyd, which these machines lack, so this test reads the tape's
//! own commands and sends them to the real binary in a pseudo-terminal on the lab, checking that
//! the screen reaches the text of every `# expect: <text>` comment that follows a step. A tape
//! whose keys no longer lead where it says fails here, so it cannot rot.
//!
//! What the tape's `Hide` … `Show` part does in a shell (a GPO of its own in corp, backed up into
//! `~/gpo-backups` and deleted with samba-tool, then `gpvault` started on the corp profile) the
//! test does itself; the GPO the tape restores is deleted again at the end, and the lab's GPOs
//! are checked to be the ones it found. The parser's own tests need no lab.

mod common;

use std::time::Duration;

use common::pty::Session;
use common::samba_tool_remote;

const TAPE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo.tape");
/// The GPO the hidden part makes and deletes, and the tape finds and restores.
const DEMO_GPO: &str = "Kiosk Lockdown (demo)";
/// What a step may wait for its text: a backup of every GPO of the lab takes a while.
const EXPECT_TIMEOUT: Duration = Duration::from_secs(180);
/// Sleeps are for people watching the recording; the replay waits on the screen instead.
const SLEEP_CAP: Duration = Duration::from_millis(300);

/// One thing the replay does.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// Bytes for the terminal: typed text, or a key's escape sequence.
    Send(String),
    Sleep(Duration),
    /// Wait until the screen shows this text.
    Expect(String),
}

/// A word of a tape line, or a quoted string (`"…"`, `'…'` or a backtick one, taken as written:
/// VHS has no escapes inside them).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Text(String),
}

fn tokens(line: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\t' => {
                chars.next();
            }
            '"' | '\'' | '`' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next() {
                        Some(end) if end == c => break,
                        Some(other) => text.push(other),
                        None => return Err(format!("unclosed {c} in: {line}")),
                    }
                }
                out.push(Token::Text(text));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c == ' ' || c == '\t' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(Token::Word(word));
            }
        }
    }
    Ok(out)
}

/// `2s`, `500ms`, `1.5s`, or a bare number of seconds.
fn duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.strip_suffix("ms") {
        Some(n) => (n, 0.001),
        None => match text.strip_suffix('s') {
            Some(n) => (n, 1.0),
            None => (text, 1.0),
        },
    };
    number.parse::<f64>().map(|n| Duration::from_secs_f64(n * unit)).map_err(|_| format!("not a duration: {text}"))
}

/// The escape sequence of a named key, as an xterm sends it.
fn key_bytes(name: &str) -> Option<String> {
    let bytes = match name {
        "Enter" => "\r",
        "Tab" => "\t",
        "Escape" => "\x1b",
        "Backspace" => "\x7f",
        "Space" => " ",
        "Up" => "\x1b[A",
        "Down" => "\x1b[B",
        "Right" => "\x1b[C",
        "Left" => "\x1b[D",
        "PageUp" => "\x1b[5~",
        "PageDown" => "\x1b[6~",
        "Home" => "\x1b[H",
        "End" => "\x1b[F",
        "Delete" => "\x1b[3~",
        _ => {
            let letter = name.strip_prefix("Ctrl+")?;
            let mut chars = letter.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else { return None };
            if !c.is_ascii_alphabetic() {
                return None;
            }
            return Some(char::from(c.to_ascii_lowercase() as u8 & 0x1f).to_string());
        }
    };
    Some(bytes.to_string())
}

/// The steps of a tape: what is after `Show` (or everything, without `Hide`), settings left
/// out. A command the replay does not know is an error, so a tape cannot say what is not done.
fn parse(tape: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut hidden = false;
    for (number, line) in tape.lines().enumerate() {
        let at = |e: String| format!("demo.tape line {}: {e}", number + 1);
        let line = line.trim();
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(text) = comment.trim().strip_prefix("expect:")
                && !hidden
            {
                steps.push(Step::Expect(text.trim().to_string()));
            }
            continue;
        }
        let mut words = tokens(line).map_err(at)?.into_iter().peekable();
        while let Some(token) = words.next() {
            let Token::Word(word) = token else { return Err(at(format!("a string without a command: {line}"))) };
            // `Type@100ms`, `Down@50ms 3`: the speed is for the recording.
            let command = word.split('@').next().unwrap_or_default().to_string();
            match command.as_str() {
                "Output" | "Set" | "Require" | "Source" | "Screenshot" | "Env" => {
                    // Settings of the recording: the rest of the line is theirs.
                    for _ in words.by_ref() {}
                }
                "Hide" => hidden = true,
                "Show" => hidden = false,
                "Type" => {
                    let Some(Token::Text(text)) = words.next() else { return Err(at("Type without a string".into())) };
                    if !hidden {
                        steps.push(Step::Send(text));
                    }
                }
                "Sleep" => {
                    let Some(Token::Word(text)) = words.next() else { return Err(at("Sleep without a time".into())) };
                    if !hidden {
                        steps.push(Step::Sleep(duration(&text).map_err(at)?));
                    }
                }
                name => {
                    let Some(bytes) = key_bytes(name) else { return Err(at(format!("unknown command {name}"))) };
                    // The optional count after a key: `Enter 2`.
                    let times = match words.peek() {
                        Some(Token::Word(n)) if n.parse::<usize>().is_ok() => {
                            let n = n.parse().unwrap_or(1);
                            words.next();
                            n
                        }
                        _ => 1,
                    };
                    if !hidden {
                        for _ in 0..times {
                            steps.push(Step::Send(bytes.clone()));
                            // Esc alone must stay alone: a key right after it reads as Alt-key.
                            if name == "Escape" {
                                steps.push(Step::Sleep(Duration::from_millis(200)));
                            }
                        }
                    }
                }
            }
        }
    }
    if hidden {
        return Err("demo.tape ends hidden: Hide without Show".into());
    }
    Ok(steps)
}

#[test]
fn the_tape_parses_into_keys_sleeps_and_expectations() {
    let tape = "Output demo.gif\nSet Width 1200\nHide\nType \"secret setup\" Enter\nShow\n\
                # a comment\nType \"q\" Sleep 500ms\n# expect: Connected to corp\nType `\\\\fs02\\x` Enter 2\n\
                Ctrl+U Escape Down@100ms 2\nType@50ms 'single'";
    let steps = parse(tape).unwrap();
    assert_eq!(
        steps,
        [
            Step::Send("q".into()),
            Step::Sleep(Duration::from_millis(500)),
            Step::Expect("Connected to corp".into()),
            Step::Send(r"\\fs02\x".into()),
            Step::Send("\r".into()),
            Step::Send("\r".into()),
            Step::Send("\x15".into()),
            Step::Send("\x1b".into()),
            Step::Sleep(Duration::from_millis(200)),
            Step::Send("\x1b[B".into()),
            Step::Send("\x1b[B".into()),
            Step::Send("single".into()),
        ]
    );
    assert!(parse("Typo \"x\"").unwrap_err().contains("unknown command Typo"));
    assert!(parse("Hide\nType \"x\"").unwrap_err().contains("Hide without Show"));
    assert!(parse("Type \"x").unwrap_err().contains("unclosed"));
    assert_eq!(duration("1.5s").unwrap(), Duration::from_millis(1500));
}

#[test]
fn demo_tape_says_what_it_does() {
    let text = std::fs::read_to_string(TAPE).expect("demo.tape at the repository root");
    let steps = parse(&text).expect("demo.tape parses");
    let expects: Vec<&str> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Expect(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    // Each part of the story is checked on the screen, in order.
    let story = [
        "Connected to corp.example.test",
        "succeeded, 0 failed",
        "Finance Users@corp.example.test",
        "corp-to-branch.migtable: 4 rows",
        "deleted from corp.example.test",
        ": 1 succeeded, 0 failed",
    ];
    let mut at = 0;
    for part in story {
        let found = expects[at..].iter().position(|e| e.contains(part));
        assert!(found.is_some(), "demo.tape expects no {part:?} after step {at}: {expects:?}");
        at += found.unwrap_or(0) + 1;
    }
    assert!(text.contains(DEMO_GPO), "the hidden part makes the GPO the replay makes");
}

/// The corp GPOs' GUIDs as `gpvault gpo list` prints them.
fn gpo_ids(lab: &common::Lab) -> Vec<String> {
    let out = lab.gpvault("corp").args(["gpo", "list"]).output().expect("gpvault gpo list");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let mut ids: Vec<String> = common::stdout(&out)
        .split_whitespace()
        .filter(|w| w.len() == 38 && w.starts_with('{') && w.ends_with('}'))
        .map(|w| w.to_uppercase())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[test]
fn the_demo_tape_replays_on_the_lab() {
    let Some(lab) = common::Lab::get() else { return };
    let steps = parse(&std::fs::read_to_string(TAPE).expect("demo.tape")).expect("demo.tape parses");
    let before = gpo_ids(&lab);
    let work = tempfile::tempdir().expect("temp dir");
    let home = work.path().join("home");
    std::fs::create_dir_all(&home).expect("home");

    // The hidden part: a GPO of the test's own, backed up into ~/gpo-backups, then deleted.
    let gpo = common::OwnGpo::create(&lab, DEMO_GPO);
    let out = lab
        .gpvault("corp")
        .env("HOME", &home)
        .args(["backup", &gpo.id, "--dir"])
        .arg(home.join("gpo-backups"))
        .args(["--comment", "before it went"])
        .output()
        .expect("gpvault backup");
    assert!(out.status.success(), "backup: {}", common::stderr(&out));
    samba_tool_remote(&lab, "corp", &["gpo", "del", &gpo.id]);

    let mut tui = Session::start_sized(
        &[
            ("GPVAULT_CONFIG", lab.var("GPVAULT_CONFIG")),
            ("GPVAULT_PROFILE", "corp".into()),
            ("GPVAULT_LAB_PASSWORD", lab.password()),
            ("HOME", home.display().to_string()),
        ],
        36,
        120,
    );
    for (n, step) in steps.iter().enumerate() {
        match step {
            Step::Send(bytes) => tui.send(bytes),
            Step::Sleep(time) => {
                let until = std::time::Instant::now() + (*time).min(SLEEP_CAP);
                while std::time::Instant::now() < until {
                    tui.pump(Duration::from_millis(20));
                }
            }
            Step::Expect(text) => {
                let what = format!("step {n}: {text:?}");
                tui.wait_for(&what, EXPECT_TIMEOUT, |s| s.screen().contains(text.as_str()));
            }
        }
    }
    let status = tui.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "gpvault exited with {status:?}");
    tui.assert_terminal_restored();

    // What the tape did is there: every GPO backed up, the table saved, the GPO restored.
    let table = std::fs::read(home.join("corp-to-branch.migtable")).expect("the table the tape saved");
    let table = gpvault::migrate::table::MigrationTable::from_bytes(&table).expect("the core reads it");
    assert!(
        table.rows().iter().any(|m| m.destination
            == gpvault::migrate::table::Destination::Set(r"\\fs02.branch.example.test\finance\reports".into())),
        "{:?}",
        table.rows()
    );
    let restored = gpo_ids(&lab);
    assert!(restored.contains(&gpo.id.to_uppercase()), "the tape restored {}", gpo.id);
    let instances = std::fs::read_dir(home.join("gpo-backups")).expect("the backup folder").count();
    assert!(instances > before.len(), "every GPO backed up, and the demo GPO before: {instances}");

    // The lab as found: the restored GPO goes again.
    drop(gpo);
    assert_eq!(gpo_ids(&lab), before, "the lab's GPOs are the ones the test found");
}
