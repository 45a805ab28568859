//! Keys → actions → state and effects, without a terminal.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gpvault::ops::{GpoSelection, Item, ItemResult, ItemStatus, ProgressEvent, RunSummary};

use super::*;
use crate::tui::action::{Action, Secret};
use crate::tui::details::{Fetch, GpoExtras};
use crate::tui::popup::{Field, Popup};
use crate::tui::state::{Focus, Phase};
use crate::tui::tree::{NoticeKind, RowKind};

#[test]
fn expanding_a_domain_connects_once_and_shows_connecting() {
    let mut state = fresh_state();
    assert_eq!(state.tree.cursor, 0);
    press(&mut state, KeyCode::Char('j'));
    assert_eq!(cursor_key(&state), NodeKey::Domain(1));
    let effects = press(&mut state, KeyCode::Enter);
    match effects.as_slice() {
        [Effect::Connect { domain: 1, attempt: 1, target, password: None }] => {
            assert_eq!(target.domain, "corp.example.test")
        }
        other => panic!("expected one Connect, got {other:?}"),
    }
    assert_eq!(state.domains[1].phase, Phase::Connecting);
    let rows = rows(&state);
    assert!(
        matches!(&rows[2].kind, RowKind::Notice { text, kind: NoticeKind::Busy } if text.contains("connecting to 127.0.0.1"))
    );
    assert!(state.animating(), "a spinner is showing");

    // Folding and unfolding while connecting does not start a second connection.
    assert!(press(&mut state, KeyCode::Enter).is_empty());
    assert!(press(&mut state, KeyCode::Enter).is_empty());
}

#[test]
fn a_connected_domain_lists_its_gpos_and_ou_tree() {
    let state = connected_state();
    assert_eq!(state.domains[1].phase, Phase::Ready);
    let names: Vec<String> = rows(&state)
        .iter()
        .filter_map(|r| match &r.kind {
            RowKind::Gpo { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(names.len(), 5);
    assert!(names.contains(&"Default Domain Policy".to_string()));
    assert!(state.status.notes[0].text.contains("Connected to corp.example.test: 5 GPOs, 4 OUs"));

    // The OU tree: domain root → links and OUs, nested OUs under their parents.
    let mut state = state;
    go_to(&mut state, |k| matches!(k, NodeKey::Container(_, dn) if dn == "dc=corp,dc=example,dc=test"));
    press(&mut state, KeyCode::Char('l'));
    go_to(&mut state, |k| matches!(k, NodeKey::Container(_, dn) if dn.starts_with("ou=staff")));
    press(&mut state, KeyCode::Right);
    let labels: Vec<(u16, String)> = rows(&state)
        .iter()
        .filter(|r| r.depth >= 2 && !matches!(r.kind, RowKind::Gpo { .. }))
        .map(|r| match &r.kind {
            RowKind::Container { name, .. } => (r.depth, name.clone()),
            RowKind::Link { order, name, .. } => (r.depth, format!("{order}. {}", name.clone().unwrap_or_default())),
            other => (r.depth, format!("{other:?}")),
        })
        .collect();
    assert_eq!(
        labels,
        [
            (2, "1. Default Domain Policy".to_string()),
            (2, "Domain Controllers".to_string()),
            (2, "Laptops".to_string()),
            (2, "Staff".to_string()),
            (3, "1. Disabled User Half".to_string()),
            (3, "Finance".to_string()),
        ]
    );
    // h on a child goes to the parent; h on an open node folds it.
    go_to(&mut state, |k| matches!(k, NodeKey::Link(_, dn, _) if dn.starts_with("ou=staff")));
    press(&mut state, KeyCode::Char('h'));
    assert!(matches!(cursor_key(&state), NodeKey::Container(_, dn) if dn.starts_with("ou=staff")));
    press(&mut state, KeyCode::Left);
    assert!(!state.tree.expanded.contains(&cursor_key(&state)));
}

#[test]
fn a_failed_connection_shows_its_error_and_retries() {
    let mut state = fresh_state();
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Enter);
    let error = "cannot reach the domain controller at ldaps://127.0.0.1:636: connection refused".to_string();
    update(&mut state, Msg::Job(JobEvent::Connected { domain: 1, attempt: 1, result: Err(error.clone()) }));
    assert_eq!(state.domains[1].phase, Phase::Failed(error.clone()));
    assert!(
        matches!(&rows(&state)[2].kind, RowKind::Notice { text, kind: NoticeKind::Error } if text.contains("connection refused"))
    );
    assert_eq!(state.status.notes[0].text, format!("corp (corp.example.test): {error}"));

    // Enter on the error retries; so does r.
    press(&mut state, KeyCode::Down);
    assert_eq!(cursor_key(&state), NodeKey::Notice(1));
    let effects = press(&mut state, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Connect { attempt: 2, .. }]));
    // A late answer to the first attempt is ignored.
    update(&mut state, Msg::Job(JobEvent::Connected { domain: 1, attempt: 1, result: Err("old".into()) }));
    assert_eq!(state.domains[1].phase, Phase::Connecting);
}

#[test]
fn refresh_reconnects_and_keeps_the_old_data_meanwhile() {
    let mut state = connected_state();
    go_to(&mut state, |k| matches!(k, NodeKey::Gpo(_, g) if *g == id(DDP)));
    let effects = press(&mut state, KeyCode::Char('r'));
    assert!(matches!(effects.as_slice(), [Effect::Connect { domain: 1, attempt: 2, .. }]));
    assert_eq!(state.domains[1].phase, Phase::Connecting);
    assert_eq!(cursor_key(&state), NodeKey::Gpo(1, id(DDP)), "the cursor stays on its GPO");
    assert!(rows(&state).iter().any(|r| matches!(r.kind, RowKind::Gpo { .. })));
}

#[test]
fn a_typed_password_is_masked_sent_once_and_cancel_folds_the_domain() {
    let mut state = fresh_state();
    state.domains[1].password_source = PasswordSource::Ask;
    press(&mut state, KeyCode::Down);
    assert!(press(&mut state, KeyCode::Enter).is_empty());
    assert!(matches!(state.popup, Some(Popup::Password(_))));
    // Letters go into the field, even q.
    type_text(&mut state, "Lab-q");
    assert!(state.popup.is_some());
    let effects = press(&mut state, KeyCode::Enter);
    match effects.as_slice() {
        [Effect::Connect { password: Some(p), .. }] => assert_eq!(p, &Secret("Lab-q".into())),
        other => panic!("{other:?}"),
    }
    assert!(!format!("{effects:?}").contains("Lab-q"), "Debug never shows the password");
    assert!(state.popup.is_none());

    // A refused logon forgets the password, so the next try asks again; Esc cancels.
    update(&mut state, Msg::Job(JobEvent::Connected { domain: 1, attempt: 1, result: Err("logon refused".into()) }));
    assert!(state.domains[1].typed_password.is_none());
    press(&mut state, KeyCode::Char('r'));
    assert!(matches!(state.popup, Some(Popup::Password(_))));
    press(&mut state, KeyCode::Esc);
    assert!(state.popup.is_none());
    assert!(!state.tree.expanded.contains(&NodeKey::Domain(1)));
}

#[test]
fn details_are_fetched_once_the_cursor_rests_on_a_gpo() {
    let mut state = connected_state();
    go_to(&mut state, |k| matches!(k, NodeKey::Gpo(_, g) if *g == id(DDP)));
    assert!(state.details.wanted.is_some());
    assert!(update(&mut state, Msg::Tick(at(100))).is_empty(), "still inside the debounce");
    let effects = update(&mut state, Msg::Tick(at(200)));
    assert!(matches!(effects.as_slice(), [Effect::LoadDetails { domain: 1, gpo, .. }] if *gpo == id(DDP)));
    assert!(update(&mut state, Msg::Tick(at(400))).is_empty(), "asked once");
    assert!(state.details.is_loading());

    let extras = GpoExtras { sysvol_version: Some(Version { user: 0, machine: 13 }), ..Default::default() };
    update(&mut state, Msg::Job(JobEvent::Details { domain: 1, gpo: id(DDP), result: Ok(Box::new(extras)) }));
    assert!(matches!(state.details.cache.get(&(1, id(DDP))), Some(Fetch::Loaded(_))));

    // Coming back is instant: nothing is fetched again.
    press(&mut state, KeyCode::Char('j'));
    press(&mut state, KeyCode::Char('k'));
    assert!(state.details.wanted.is_none());

    // Enter on a GPO moves the focus to the details, where j/k scroll.
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.focus, Focus::Details);
    press(&mut state, KeyCode::Char('j'));
    press(&mut state, KeyCode::Char('j'));
    assert_eq!(state.details.scroll, 2);
    assert_eq!(cursor_key(&state), NodeKey::Gpo(1, id(DDP)), "the tree cursor did not move");
    press(&mut state, KeyCode::Char('G'));
    assert!(state.details.scroll > 10);
    press(&mut state, KeyCode::Esc);
    assert_eq!(state.focus, Focus::Tree);
}

#[test]
fn back_up_asks_for_folder_and_comment_then_starts_a_job() {
    let mut state = connected_state();
    go_to(&mut state, |k| matches!(k, NodeKey::Gpo(_, g) if *g == id(FINANCE)));
    assert!(press(&mut state, KeyCode::Char('b')).is_empty());
    let Some(Popup::Backup(form)) = &state.popup else { panic!("backup popup") };
    assert_eq!(form.folder_text(), "/srv/gpo-backups", "prefilled with the last folder");
    assert_eq!(form.field, Field::Folder);

    // Replace the folder, then a comment; q and b are text here.
    for _ in 0.."/srv/gpo-backups".len() {
        press(&mut state, KeyCode::Backspace);
    }
    type_text(&mut state, "~/gpo");
    press(&mut state, KeyCode::Tab);
    type_text(&mut state, "before q4 change");
    let effects = press(&mut state, KeyCode::Enter);
    assert!(state.popup.is_none());
    match effects.as_slice() {
        [
            Effect::StartBackup { domain: 1, selection: GpoSelection::Named(names), dir: to, comment, .. },
            Effect::SaveLastBackupDir(dir),
        ] => {
            assert_eq!(names, &[FINANCE.to_string()]);
            assert_eq!(to, &PathBuf::from("/home/admin/gpo"));
            assert_eq!(comment, "before q4 change");
            assert_eq!(dir, &PathBuf::from("/home/admin/gpo"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(state.last_backup_dir, Some(PathBuf::from("/home/admin/gpo")));
    assert!(state.status.running());

    // A second backup waits for the first.
    press(&mut state, KeyCode::Char('b'));
    assert!(state.popup.is_none());
    assert!(state.status.notes[0].text.contains("already running"));
}

#[test]
fn back_up_all_works_from_anywhere_in_the_domain_and_needs_a_folder() {
    let mut state = connected_state();
    go_to(&mut state, |k| matches!(k, NodeKey::GpoFolder(_)));
    // b on the folder is not a GPO.
    press(&mut state, KeyCode::Char('b'));
    assert!(state.popup.is_none());
    assert!(state.status.notes[0].text.contains("Select a GPO"));

    press(&mut state, KeyCode::Char('B'));
    let Some(Popup::Backup(form)) = &mut state.popup else { panic!("backup popup") };
    form.folder = ratatui_textarea::TextArea::default();
    let effects = press(&mut state, KeyCode::Enter);
    assert!(effects.is_empty());
    let Some(Popup::Backup(form)) = &state.popup else { panic!("still open") };
    assert!(form.error.as_deref().unwrap().contains("folder"));
    type_text(&mut state, "backups");
    let effects = press(&mut state, KeyCode::Enter);
    match effects.as_slice() {
        [Effect::StartBackup { selection: GpoSelection::All, dir, .. }, Effect::SaveLastBackupDir(_)] => {
            assert_eq!(dir, &PathBuf::from("/srv/backups"), "relative to the working directory")
        }
        other => panic!("{other:?}"),
    }
    let run = state.status.run.as_ref().unwrap();
    assert_eq!((run.what.as_str(), run.domain.as_str()), ("Back Up All", "corp.example.test"));
}

#[test]
fn backing_up_needs_a_connection() {
    let mut state = fresh_state();
    press(&mut state, KeyCode::Char('B'));
    assert!(state.popup.is_none());
    assert!(state.status.notes[0].text.contains("connect first"));
}

fn item(gpo: &str, name: &str) -> Item {
    Item { gpo: id(gpo), name: name.into() }
}

fn done(gpo: &str, name: &str, backup_id: &str) -> ItemResult {
    ItemResult { item: item(gpo, name), status: ItemStatus::Succeeded(backup_id.into()) }
}

fn failed(gpo: &str, name: &str, reason: &str) -> ItemResult {
    ItemResult { item: item(gpo, name), status: ItemStatus::Failed(reason.into()) }
}

pub fn feed_run_with_one_failure(state: &mut AppState) {
    let events = vec![
        ProgressEvent::Step("Reading the GPOs of corp.example.test".into()),
        ProgressEvent::Planned { total: 3 },
        ProgressEvent::ItemStarted(item(DDP, "Default Domain Policy")),
        ProgressEvent::ItemStarted(item(FINANCE, "Finance Drive Maps")),
        ProgressEvent::ItemFinished(done(DDP, "Default Domain Policy", "{0D6B9F1A-2C3E-4F50-8A61-7B8C9DAEBF01}")),
    ];
    for event in events {
        update(state, Msg::Job(JobEvent::Backup(event)));
    }
}

pub fn finish_run_with_one_failure(state: &mut AppState) {
    let reason = "SYSVOL folder of GPO {71684F58-CB31-4AB8-A7A4-FBF8596018E8} is missing (\\\\corp.example.test\\SysVol\\corp.example.test\\Policies\\{71684F58-CB31-4AB8-A7A4-FBF8596018E8}); the GPO is broken on the DC: restore it from a backup, or recreate its folder";
    let events = vec![
        ProgressEvent::ItemFinished(failed(FINANCE, "Finance Drive Maps", reason)),
        ProgressEvent::ItemStarted(item(DDCP, "Default Domain Controllers Policy")),
        ProgressEvent::ItemFinished(done(
            DDCP,
            "Default Domain Controllers Policy",
            "{5E4D3C2B-1A09-4876-9543-210FEDCBA987}",
        )),
        ProgressEvent::Step("Updating manifest.xml".into()),
    ];
    for event in events {
        update(state, Msg::Job(JobEvent::Backup(event)));
    }
    update(state, Msg::Tick(at(2_500)));
    let mut summary = RunSummary { total: 3, ..Default::default() };
    summary.record(done(DDCP, "Default Domain Controllers Policy", "{5E4D3C2B-1A09-4876-9543-210FEDCBA987}"));
    summary.record(done(DDP, "Default Domain Policy", "{0D6B9F1A-2C3E-4F50-8A61-7B8C9DAEBF01}"));
    summary.record(failed(FINANCE, "Finance Drive Maps", reason));
    summary.sort();
    let report = summary;
    update(state, Msg::Job(JobEvent::BackupDone(Ok(report))));
}

pub fn state_with_run(state: &mut AppState) {
    go_to(state, |k| matches!(k, NodeKey::GpoFolder(_)));
    press(state, KeyCode::Char('B'));
    press(state, KeyCode::Enter);
    assert!(state.status.running());
}

#[test]
fn progress_events_drive_the_run_and_the_report_ends_it() {
    let mut state = connected_state();
    state_with_run(&mut state);
    feed_run_with_one_failure(&mut state);
    let run = state.status.run.as_ref().unwrap();
    assert_eq!((run.total, run.done(), run.current.clone()), (Some(3), 1, vec!["Finance Drive Maps".to_string()]));
    update(&mut state, Msg::Tick(at(1_000)));
    assert!((state.status.run.as_ref().unwrap().rate(state.clock).unwrap() - 1.0).abs() < 0.01);

    finish_run_with_one_failure(&mut state);
    let run = state.status.run.as_ref().unwrap();
    assert!(run.finished.is_some());
    assert_eq!((run.summary.succeeded, run.summary.failed), (2, 1));
    assert!(run.summary().ends_with("2 succeeded, 1 failed"), "{}", run.summary());
    assert!(!state.animating());
}

#[test]
fn a_run_that_cannot_start_says_why() {
    let mut state = connected_state();
    state_with_run(&mut state);
    update(&mut state, Msg::Job(JobEvent::BackupDone(Err("cannot create /srv/gpo-backups: permission denied".into()))));
    let run = state.status.run.as_ref().unwrap();
    assert_eq!(run.fatal.as_deref(), Some("cannot create /srv/gpo-backups: permission denied"));
    assert!(run.summary().contains("permission denied"));
}

#[test]
fn q_and_esc_back_out_then_quit_and_ask_first_while_a_backup_runs() {
    let mut state = connected_state();
    press(&mut state, KeyCode::Tab);
    assert_eq!(state.focus, Focus::Details);
    press(&mut state, KeyCode::Tab);
    assert_eq!(state.focus, Focus::Status);
    assert!(press(&mut state, KeyCode::Char('q')).is_empty());
    assert_eq!(state.focus, Focus::Tree);
    assert!(matches!(press(&mut state, KeyCode::Esc).as_slice(), [Effect::Quit]));

    state_with_run(&mut state);
    assert!(press(&mut state, KeyCode::Char('q')).is_empty());
    assert!(matches!(state.popup, Some(Popup::ConfirmQuit { .. })));
    press(&mut state, KeyCode::Char('n'));
    assert!(state.popup.is_none());
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(key(&mut state, ctrl_c).is_empty());
    assert!(matches!(key(&mut state, ctrl_c).as_slice(), [Effect::Quit]), "Ctrl-C twice quits");
}

#[test]
fn help_opens_and_closes_and_swallows_other_keys() {
    let mut state = connected_state();
    press(&mut state, KeyCode::Char('?'));
    assert!(state.help.is_some());
    let before = state.tree.cursor;
    assert!(press(&mut state, KeyCode::Char('b')).is_empty());
    press(&mut state, KeyCode::Char('j'));
    assert_eq!(state.tree.cursor, before);
    assert_eq!(state.help.as_ref().unwrap().scroll, 1);
    press(&mut state, KeyCode::Esc);
    assert!(state.help.is_none());
}

#[test]
fn page_keys_keep_the_cursor_in_view() {
    let mut state = connected_state();
    update(&mut state, Msg::Resize(80, 16));
    press(&mut state, KeyCode::End);
    let rows = rows(&state);
    assert_eq!(state.tree.cursor, rows.len() - 1);
    let height = crate::tui::view::pane_height(&state, Focus::Tree);
    assert!(state.tree.offset + height > state.tree.cursor && state.tree.offset <= state.tree.cursor);
    press(&mut state, KeyCode::PageUp);
    press(&mut state, KeyCode::Home);
    assert_eq!((state.tree.cursor, state.tree.offset), (0, 0));
}

#[test]
fn every_action_is_safe_in_every_state() {
    // No key panics, whatever is open: a cheap guard against index mistakes.
    let all = [
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::Collapse,
        Action::Expand,
        Action::Toggle,
        Action::NextPane,
        Action::PrevPane,
        Action::BackUp,
        Action::BackUpAll,
        Action::Refresh,
        Action::Help,
        Action::Back,
        Action::Confirm,
        Action::Cancel,
        Action::NextField,
        Action::PrevField,
    ];
    for first in all {
        for second in all {
            let mut state = connected_state();
            update(&mut state, Msg::Resize(20, 5));
            update(&mut state, Msg::Action(first));
            update(&mut state, Msg::Action(second));
            render(&state, 20, 5);
        }
    }
}
