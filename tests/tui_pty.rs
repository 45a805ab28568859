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

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::pty::{Session, instances};
use common::samba_tool_remote;

/// The lab's password and config file, found through tests/common (`None`: no lab, and
/// GPVAULT_SKIP_LAB_TESTS=1 asks to skip).
fn lab() -> Option<(String, PathBuf)> {
    let lab = common::Lab::get()?;
    Some((lab.password(), PathBuf::from(lab.var("GPVAULT_CONFIG"))))
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
    let lab = common::Lab::get().expect("the lab");
    let gpo = common::OwnGpo::create(&lab, &name);
    let id = gpo.id.clone();

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
    samba_tool_remote(&lab, "corp", &["gpo", "del", &id]);
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

/// The migration-table editor at 100x30 on the lab: `3` reaches it, `c` starts a table, `p`
/// populates it from the seeded "Finance Drive Maps" selected in the tree (its group and its
/// three UNC paths, as seed_gpos.py wrote them), one destination is typed in place, and `s`
/// saves it where the prompt is told. The file is then read with the core's parser: the
/// populated sources, the edited destination, GPMC's UTF-16LE with a BOM.
#[test]
fn a_migration_table_is_populated_edited_and_saved_through_the_tui() {
    let Some((password, lab_config)) = lab() else { return };
    let lab = common::Lab::get().expect("the lab");
    let realm = lab.var("GPVAULT_LAB_CORP_DOMAIN");
    let work = tempfile::tempdir().expect("temp dir");
    let home = work.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let table = work.path().join("corp-to-branch.migtable");
    let mut tui = Session::start(&[
        ("GPVAULT_CONFIG", lab_config.display().to_string()),
        ("GPVAULT_PROFILE", "corp".into()),
        ("GPVAULT_LAB_PASSWORD", password),
        ("GPVAULT_STATE_FILE", work.path().join("state.toml").display().to_string()),
        ("HOME", home.display().to_string()),
    ]);
    tui.wait_for("corp's GPOs", Duration::from_secs(30), |s| s.screen().contains("▾ Group Policy Objects ("));
    tui.send("/Finance Drive Maps\r");
    tui.wait_for("the GPO selected", Duration::from_secs(5), |s| s.details_title() == "Finance Drive Maps");
    tui.send("3");
    tui.wait_for("the editor", Duration::from_secs(5), |s| s.screen().contains("New migration table: 0 rows"));
    tui.send("c");
    tui.send("p");
    tui.wait_for("the populate", Duration::from_secs(60), |s| {
        s.screen().contains("Populated from GPO \"Finance Drive Maps\"") || s.screen().contains("Populate from GPO")
    });
    assert!(tui.screen().contains("New migration table: 4 rows, unsaved"), "{}", tui.screen());
    // The reports share, found with the editor's filter; its destination typed in place.
    let reports = format!(r"\\fs01.{realm}\finance\reports");
    let moved = r"\\fs02.branch.example.test\finance\reports";
    tui.send("/reports\r");
    tui.send("ll\r");
    tui.wait_for("the cell editor", Duration::from_secs(5), |s| s.screen().contains("Enter keep"));
    tui.send(moved);
    tui.send("\r");
    tui.wait_for("the edited row", Duration::from_secs(5), |s| s.screen().contains(r"\\fs02.branch.example"));
    // Esc on its own clears the filter (followed at once by a key, a terminal reads Alt-that-key).
    tui.send("\x1b");
    tui.wait_for("the whole table", Duration::from_secs(5), |s| !s.screen().contains("/reports"));
    tui.send("s");
    tui.wait_for("the save-as prompt", Duration::from_secs(5), |s| s.screen().contains("Save the migration table"));
    tui.send("\x15");
    tui.send(&table.display().to_string());
    tui.send("\r");
    tui.wait_for("the save", Duration::from_secs(10), |s| s.screen().contains("Saved 4 rows to"));
    assert!(tui.screen().contains("corp-to-branch.migtable: 4 rows "), "{}", tui.screen());
    // Saved: q leaves without a question, and q again quits.
    tui.send("q");
    tui.wait_for("the tree", Duration::from_secs(5), |s| !s.screen().contains("corp-to-branch.migtable: 4 rows"));
    tui.send("q");
    let status = tui.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "gpvault exited with {status:?}");
    tui.assert_terminal_restored();

    let bytes = std::fs::read(&table).expect("the table was written");
    assert_eq!(&bytes[..2], &[0xFF, 0xFE], "UTF-16LE with a BOM");
    let saved = gpvault::migrate::table::MigrationTable::from_bytes(&bytes).expect("the core reads it back");
    let sources: Vec<(String, String)> =
        saved.rows().iter().map(|m| (m.entry_type.xml_name().to_string(), m.source.to_lowercase())).collect();
    for path in [format!(r"\\fs01.{realm}\finance"), reports.clone(), format!(r"\\fs01.{realm}\home\%USERNAME%")] {
        assert!(sources.contains(&("UNCPath".into(), path.to_lowercase())), "{path} in {sources:?}");
    }
    assert!(
        sources.iter().any(|(t, s)| t == "GlobalGroup" && s.contains("finance users")),
        "the seeded group: {sources:?}"
    );
    assert_eq!(saved.len(), 4, "{sources:?}");
    for mapping in saved.rows() {
        let expected = if mapping.source.eq_ignore_ascii_case(&reports) {
            gpvault::migrate::table::Destination::Set(moved.into())
        } else {
            gpvault::migrate::table::Destination::SameAsSource
        };
        assert_eq!(mapping.destination, expected, "{}", mapping.source);
    }
}

/// Copy / Paste between domains: corp opens, branch is connected from the tree, the seeded
/// "Finance Drive Maps" is copied (`c`) and pasted (`v`) on branch's GPOs through the wizard
/// (default permissions, no table, a name of the test's own), the core's plan is said yes to,
/// the status pane says "1 succeeded" and branch's tree, read again, shows the copy. The copy is
/// deleted from branch with samba-tool at the end, so the lab is left as found.
#[test]
fn a_gpo_is_copied_from_corp_and_pasted_into_branch() {
    let Some((password, lab_config)) = lab() else { return };
    let lab = common::Lab::get().expect("the lab");
    assert!(lab.has_branch(), "the lab runs branch too (scripts/lab up --two-domains)");
    let work = tempfile::tempdir().expect("temp dir");
    let home = work.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let name = format!("Finance Drive Maps pty {}", std::process::id());
    let copy = common::GpoByName::new(&lab, "branch", &name);
    assert!(copy.id().is_none(), "branch has no \"{name}\" before the test");

    let mut tui = Session::start(&[
        ("GPVAULT_CONFIG", lab_config.display().to_string()),
        ("GPVAULT_PROFILE", "corp".into()),
        ("GPVAULT_LAB_PASSWORD", password),
        ("GPVAULT_STATE_FILE", work.path().join("state.toml").display().to_string()),
        ("HOME", home.display().to_string()),
    ]);
    tui.wait_for("corp's GPOs", Duration::from_secs(30), |s| s.screen().contains("Connected to corp.example.test"));
    tui.send("/Finance Drive Maps");
    tui.wait_for("the filter", Duration::from_secs(5), |s| s.screen().contains("/Finance Drive Maps"));
    tui.send("\r");
    tui.wait_for("the seeded GPO", Duration::from_secs(5), |s| s.details_title() == "Finance Drive Maps");
    tui.send("c");
    tui.wait_for("the copy noted", Duration::from_secs(5), |s| s.screen().contains("Copied \"Finance Drive Maps\""));
    tui.send("\x1b");
    tui.wait_for("the whole tree", Duration::from_secs(5), |s| !s.screen().contains("/Finance Drive Maps"));
    // branch is the first profile: the top of the tree; Enter connects it.
    tui.send("g");
    tui.wait_for("branch selected", Duration::from_secs(5), |s| s.details_title().contains("branch"));
    tui.send("\r");
    tui.wait_for("branch connected", Duration::from_secs(30), |s| {
        s.screen().contains("Connected to branch.example.test")
    });
    tui.send("j");
    tui.wait_for("branch's GPOs", Duration::from_secs(5), |s| s.details_title() == "Group Policy Objects");
    tui.send("v");
    tui.wait_for("the wizard", Duration::from_secs(5), |s| {
        s.screen().contains("Paste \"Finance Drive Maps\" into branch.example.test")
            && s.screen().contains("Step 1 of 3")
    });
    assert!(tui.screen().contains("(•) The default permissions for new GPOs"), "{}", tui.screen());
    tui.send("\r");
    tui.wait_for("the table step", Duration::from_secs(5), |s| s.screen().contains("Step 2 of 3"));
    tui.send("\r");
    tui.wait_for("the name step", Duration::from_secs(5), |s| s.screen().contains("Step 3 of 3"));
    // Ctrl-U clears the default name (the source's, another domain).
    tui.send("\x15");
    tui.send(&name);
    tui.send("\r");
    tui.wait_for("the copy plan", Duration::from_secs(60), |s| {
        (s.screen().contains("y yes") && s.screen().contains("Copy GPO")) || s.screen().contains("✗")
    });
    let plan = tui.screen();
    assert!(plan.contains("branch.example.test"), "the plan names the target:\n{plan}");
    assert!(copy.id().is_none(), "planning writes nothing");
    tui.send("y");
    // The run's line is long (it names source, target and name): its end may be cut at 100 columns.
    tui.wait_for("the copy to finish", Duration::from_secs(120), |s| {
        s.screen().contains(": 1 succeeded") || s.screen().contains("1 failed") || s.screen().contains("✗ Copy")
    });
    let done = tui.screen();
    assert!(done.contains(": 1 succeeded") && done.contains(&format!("✓ {name}")), "the copy failed:\n{done}");
    // branch is read again: the copy is in its tree.
    tui.send("1");
    let query = format!("/pty {}", std::process::id());
    tui.send(&query);
    tui.wait_for("the copy in branch's tree", Duration::from_secs(30), |s| {
        s.screen().contains(&format!("{query}   one match"))
            && s.rows().iter().any(|r| r.contains(&name) && !r.contains('/'))
    });
    let id = copy.id().expect("the copy exists in branch");
    // Esc on its own (followed at once by a key, a terminal reads Alt-that-key).
    tui.send("\x1b");
    tui.wait_for("the whole tree", Duration::from_secs(5), |s| {
        !s.screen().contains(&query) && s.screen().contains("▾ corp (corp.example.test)")
    });
    tui.send("q");
    let status = tui.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "gpvault exited with {status:?}");
    tui.assert_terminal_restored();
    samba_tool_remote(&lab, "branch", &["gpo", "del", &id]);
    assert!(copy.id().is_none(), "the copy is gone from branch");
}

/// The two recovery tests' bench: a folder of backups of their own, the CLI against it, and
/// the TUI opened on it once a killed run has left its record there.
struct Interrupted {
    lab: common::Lab,
    password: String,
    lab_config: PathBuf,
    work: tempfile::TempDir,
    backups: PathBuf,
}

impl Interrupted {
    fn new() -> Option<Interrupted> {
        let (password, lab_config) = lab()?;
        let work = tempfile::tempdir().expect("temp dir");
        let backups = work.path().join("backups");
        Some(Interrupted { lab: common::Lab::get().expect("the lab"), password, lab_config, work, backups })
    }

    /// `gpvault ARGS --dir <the folder>` on corp.
    fn cli(&self, args: &[&str]) -> std::process::Command {
        let mut command = self.lab.gpvault("corp");
        command.args(args).arg("--dir").arg(&self.backups);
        command
    }

    /// Backs up `gpo` with `comment` and returns the backup ID.
    fn backed_up(&self, gpo: &str, comment: &str) -> String {
        let out = self.cli(&["backup", gpo, "--json", "--comment", comment]).output().expect("gpvault backup");
        assert!(out.status.success(), "backup: {}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        json["backed_up"][0]["backup_id"].as_str().expect("an ID").to_string()
    }

    /// The TUI on corp, its backup list remembering the folder, with corp's GPOs shown.
    fn tui(&self) -> Session {
        let home = self.work.path().join("home");
        std::fs::create_dir_all(&home).expect("home");
        let state_file = self.work.path().join("state.toml");
        let state = format!("last_backup_dir = \"{}\"\n", self.backups.display());
        std::fs::write(&state_file, state).expect("state file");
        let mut tui = Session::start(&[
            ("GPVAULT_CONFIG", self.lab_config.display().to_string()),
            ("GPVAULT_PROFILE", "corp".to_string()),
            ("GPVAULT_LAB_PASSWORD", self.password.clone()),
            ("GPVAULT_STATE_FILE", state_file.display().to_string()),
            ("HOME", home.display().to_string()),
        ]);
        tui.wait_for("corp's GPOs", Duration::from_secs(30), |s| s.screen().contains("▾ Group Policy Objects ("));
        tui
    }

    /// Says yes to the plan on screen; the recovery and the run itself must both succeed, and
    /// no record be left once the TUI has quit.
    fn run_and_quit(&self, mut tui: Session, what: &str) {
        tui.send("y");
        tui.wait_for(what, Duration::from_secs(90), |s| {
            s.screen().contains("succeeded, 0 failed") || s.screen().contains(" failed: ") || s.screen().contains("✗")
        });
        assert!(tui.screen().contains("2 succeeded, 0 failed"), "recovery, then {what}:\n{}", tui.screen());
        tui.send("q");
        tui.send("q");
        let status = tui.wait_exit(Duration::from_secs(10));
        assert!(status.success(), "gpvault exited with {status:?}");
        assert_eq!(common::journal_records(&self.backups), 0, "no record is left");
    }
}

/// A restore killed inside its change leaves a record in the backup folder. A restore started
/// from the TUI's backup list puts that GPO right first (its plan says so), is planned again
/// from the GPO as it now is, and ends with the GPO as the chosen backup and no record left.
#[test]
fn a_tui_restore_puts_right_what_a_killed_restore_left_first() {
    let Some(bench) = Interrupted::new() else { return };
    let gpo = common::TestGpo::create(&bench.lab, &format!("gpvault tui recover {}", std::process::id()));
    gpo.put("Machine\\recover.txt", "state A\r\n");
    let state_a = bench.backed_up(&gpo.id, "pty recover alpha");
    gpo.put("Machine\\recover.txt", "state C, which is longer than state A\r\n");
    gpo.put("Machine\\extra.txt", "only in state C\r\n");
    let state_c = bench.backed_up(&gpo.id, "pty recover charlie");
    let fingerprint_c = gpo.fingerprint();

    // A restore of A killed once it has recorded its change (a run that ends first is undone
    // by a whole restore of C, and tried again).
    let restore = |id: &str| bench.cli(&["restore", id, "--yes"]);
    killed_after_its_record(&bench.backups, || restore(&state_a), || restore(&state_c));

    let mut tui = bench.tui();
    tui.send("2");
    tui.wait_for("the listed folder", Duration::from_secs(10), |s| s.screen().contains("/backups (3)"));
    tui.send("/charlie\r");
    tui.wait_for("backup C alone", Duration::from_secs(10), |s| {
        s.screen().contains("Comment:     pty recover charlie") && s.screen().contains("(1 of 3)")
    });
    tui.send("R");
    tui.wait_for("the restore plan", Duration::from_secs(30), |s| {
        s.screen().contains("Restore 1 GPO of corp.example.test") && s.screen().contains("y yes")
    });
    let plan = tui.screen();
    assert!(
        plan.contains("first, gpvault tui recover") && plan.contains("was left by a run"),
        "the plan says so:\n{plan}"
    );
    assert!(common::journal_records(&bench.backups) > 0, "planning writes nothing");
    bench.run_and_quit(tui, "the restore");
    assert_eq!(gpo.fingerprint(), fingerprint_c, "the GPO is as backup C");
}

/// Runs `change` and kills it once it has recorded its change in `backups` (a run that ends first
/// is undone by `undo`, and tried again): what a lost SSH session leaves.
fn killed_after_its_record(
    backups: &std::path::Path,
    change: impl Fn() -> std::process::Command,
    undo: impl Fn() -> std::process::Command,
) {
    for _ in 0..20 {
        let mut child = change()
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("gpvault starts");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while common::journal_records(backups) == 0
            && std::time::Instant::now() < deadline
            && child.try_wait().unwrap().is_none()
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().ok();
        child.wait().unwrap();
        if common::journal_records(backups) > 0 {
            return;
        }
        let out = undo().output().expect("gpvault runs");
        assert!(out.status.success(), "undoing a finished run: {}", String::from_utf8_lossy(&out.stderr));
    }
    panic!("no kill landed inside the change");
}

/// The same for Import Settings, from the tree: an import killed inside its change, then the
/// import wizard on the target GPO with the source backup selected in the backup list. The
/// confirmation lists the recovery first, and the GPO ends with the imported settings.
#[test]
fn a_tui_import_puts_right_what_a_killed_import_left_first() {
    let Some(bench) = Interrupted::new() else { return };
    let pid = std::process::id();
    let source = common::TestGpo::create(&bench.lab, &format!("gpvault tui import source {pid}"));
    let target_name = format!("gpvault tui import target {pid}");
    let target = common::TestGpo::create(&bench.lab, &target_name);
    source.put("Machine\\imported.txt", "the source's settings\r\n");
    let from = bench.backed_up(&source.id, "pty import papa");
    target.put("Machine\\own.txt", "the target's own settings, to be replaced\r\n");
    let target_before = bench.backed_up(&target.id, "pty import tango");
    let import = || bench.cli(&["import", &from, "--into", &target.id, "--yes"]);
    let reset = || bench.cli(&["restore", &target_before, "--yes"]);
    // What a whole import leaves, then the target as it was.
    let out = import().output().expect("gpvault import");
    assert!(out.status.success(), "import: {}", String::from_utf8_lossy(&out.stderr));
    let imported = target.fingerprint();
    let out = reset().output().expect("gpvault restore");
    assert!(out.status.success(), "restore: {}", String::from_utf8_lossy(&out.stderr));
    assert_ne!(target.fingerprint(), imported, "the import changes the target");

    killed_after_its_record(&bench.backups, import, reset);

    let mut tui = bench.tui();
    tui.send("2");
    tui.wait_for("the listed folder", Duration::from_secs(10), |s| s.screen().contains("/backups ("));
    tui.send("/papa\r");
    tui.wait_for("the source backup", Duration::from_secs(10), |s| s.screen().contains("Comment:     pty import papa"));
    tui.send("1");
    tui.send(&format!("/{target_name}\r"));
    tui.wait_for("the target GPO", Duration::from_secs(10), |s| s.details_title() == target_name);
    tui.send("i");
    tui.wait_for("the wizard", Duration::from_secs(10), |s| s.screen().contains("Backup to import"));
    // The backup selected in the list is the wizard's choice.
    let chosen = tui.rows().into_iter().find(|r| r.contains("▶ gpvault tui import")).unwrap_or_default();
    assert!(chosen.contains("tui import source"), "the source backup is chosen:\n{}", tui.screen());
    tui.send("\r");
    tui.send("\r");
    tui.wait_for("the import plan", Duration::from_secs(30), |s| s.screen().contains("y yes"));
    let plan = tui.screen();
    assert!(plan.contains(&format!("first, {target_name}")), "the plan puts the target right first:\n{plan}");
    bench.run_and_quit(tui, "the import");
    assert_eq!(target.fingerprint(), imported, "the target holds the imported settings");
}
