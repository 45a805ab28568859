//! Keys → actions → state and effects, without a terminal.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gpvault::ops::{GpoSelection, Item, ItemResult, ItemStatus, ProgressEvent, RunSummary};

use super::*;
use crate::tui::action::{Action, PlanId};
use crate::tui::confirm::OnYes;
use crate::tui::keymap::key_for;
use crate::tui::panes::Pane;
use crate::tui::panes::details::{self, Fetch, GpoExtras};
use crate::tui::panes::tree::{NoticeKind, RowKind};
use crate::tui::panes::{backups, status, tree};
use crate::tui::popup::{Field, Popup};
use crate::tui::state::Phase;

#[test]
fn expanding_a_domain_connects_once_and_shows_connecting() {
    let mut state = fresh_state();
    assert_eq!(state.tree().cursor, 0);
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
            RowKind::Gpo { name, .. } => Some(name.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(names.len(), 5);
    assert!(names.contains(&"Default Domain Policy".to_string()));
    assert!(state.status().notes()[0].text.contains("Connected to corp.example.test: 5 GPOs, 4 OUs"));

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
    assert!(!state.tree().is_expanded(&cursor_key(&state)));
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
    assert_eq!(state.status().notes()[0].text, format!("corp (corp.example.test): {error}"));

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
        [Effect::Connect { password: Some(p), .. }] => assert_eq!(p.0.expose(), "Lab-q"),
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
    assert!(!state.tree().is_expanded(&NodeKey::Domain(1)));
}

#[test]
fn details_are_fetched_once_the_cursor_rests_on_a_gpo() {
    let mut state = connected_state();
    go_to(&mut state, |k| matches!(k, NodeKey::Gpo(_, g) if *g == id(DDP)));
    assert!(state.details().wanted.is_some());
    assert!(update(&mut state, Msg::Tick(at(100))).is_empty(), "still inside the debounce");
    let effects = update(&mut state, Msg::Tick(at(200)));
    assert!(matches!(effects.as_slice(), [Effect::LoadDetails { domain: 1, gpo, .. }] if *gpo == id(DDP)));
    assert!(update(&mut state, Msg::Tick(at(400))).is_empty(), "asked once");
    assert!(state.details().is_loading());

    let extras = GpoExtras { sysvol_version: Some(Version { user: 0, machine: 13 }), ..Default::default() };
    update(&mut state, Msg::Job(JobEvent::Details { domain: 1, gpo: id(DDP), result: Ok(Box::new(extras)) }));
    assert!(matches!(state.details().fetch(1, id(DDP)), Some(Fetch::Loaded(_))));

    // Coming back is instant: nothing is fetched again.
    press(&mut state, KeyCode::Char('j'));
    press(&mut state, KeyCode::Char('k'));
    assert!(state.details().wanted.is_none());

    // Enter on a GPO moves the focus to the details, where j/k scroll.
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.focused, details::ID);
    press(&mut state, KeyCode::Char('j'));
    press(&mut state, KeyCode::Char('j'));
    assert_eq!(state.details().scroll, 2);
    assert_eq!(cursor_key(&state), NodeKey::Gpo(1, id(DDP)), "the tree cursor did not move");
    press(&mut state, KeyCode::Char('G'));
    assert!(state.details().scroll > 10);
    press(&mut state, KeyCode::Esc);
    assert_eq!(state.focused, tree::ID);
}

/// The plan the popup waits for, answered by the core's real plan over the fake domain.
pub fn answer_plan(state: &mut AppState, effects: &[Effect]) -> PlanId {
    let [Effect::PlanBackup { plan, selection, dir, .. }] = effects else { panic!("one PlanBackup: {effects:?}") };
    let description = FakeDomain::new().describe_backup(selection, dir);
    let effects = update(state, Msg::Job(JobEvent::Planned { plan: *plan, result: Ok(description) }));
    assert!(effects.is_empty(), "{effects:?}");
    *plan
}

fn confirm_waits_on(state: &AppState) -> Option<PlanId> {
    match &state.popup {
        Some(Popup::Confirm(question)) => question.plan_id(),
        _ => None,
    }
}

#[test]
fn back_up_asks_for_folder_and_comment_then_shows_the_plan_and_runs_it_on_yes() {
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
    match effects.as_slice() {
        [Effect::PlanBackup { plan, domain: 1, selection: GpoSelection::Named(names), dir, comment }] => {
            assert_eq!(names, &[FINANCE.to_string()]);
            assert_eq!(dir, &PathBuf::from("/home/admin/gpo"));
            assert_eq!(comment, "before q4 change");
            assert_eq!(confirm_waits_on(&state), Some(*plan));
        }
        other => panic!("{other:?}"),
    }
    // Nothing runs and nothing is remembered before the yes; y while the plan is being made
    // does nothing either.
    assert!(!state.status().running());
    assert!(press(&mut state, KeyCode::Char('y')).is_empty());
    assert_eq!(state.last_backup_dir, Some(PathBuf::from("/srv/gpo-backups")));

    let plan = answer_plan(&mut state, &effects);
    let Some(Popup::Confirm(question)) = &state.popup else { panic!("the plan is shown") };
    let description = question.plan.as_ref().expect("the plan arrived");
    assert_eq!(description.changes.len(), 1);
    assert_eq!(description.changes[0].item.as_ref().map(|i| i.gpo), Some(id(FINANCE)));

    let effects = press(&mut state, KeyCode::Char('y'));
    assert!(state.popup.is_none());
    match effects.as_slice() {
        [Effect::ExecutePlan { plan: run, options }, Effect::SaveLastBackupDir(dir)] => {
            assert_eq!(*run, plan);
            assert!(!options.cancel.is_cancelled());
            assert_eq!(dir, &PathBuf::from("/home/admin/gpo"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(state.last_backup_dir, Some(PathBuf::from("/home/admin/gpo")));
    assert!(state.status().running());
    let run = state.status().run().unwrap();
    assert_eq!(run.what, "Back up \"Finance Drive Maps\"");

    // A second backup waits for the first.
    press(&mut state, KeyCode::Char('b'));
    assert!(state.popup.is_none());
    assert!(state.status().notes()[0].text.contains("already running"));
}

#[test]
fn saying_no_to_a_plan_forgets_it_even_before_it_arrives() {
    let mut state = connected_state();
    go_to(&mut state, |k| matches!(k, NodeKey::GpoFolder(_)));
    press(&mut state, KeyCode::Char('B'));
    let effects = press(&mut state, KeyCode::Enter);
    // No while the core is still reading: the plan is dropped when it comes.
    assert!(press(&mut state, KeyCode::Char('n')).is_empty());
    assert!(state.popup.is_none());
    let [Effect::PlanBackup { plan, selection, dir, .. }] = effects.as_slice() else { panic!("{effects:?}") };
    let description = FakeDomain::new().describe_backup(selection, dir);
    let late = update(&mut state, Msg::Job(JobEvent::Planned { plan: *plan, result: Ok(description) }));
    assert!(matches!(late.as_slice(), [Effect::DropPlan(p)] if p == plan), "{late:?}");
    assert!(state.popup.is_none() && !state.status().running());

    // No once it is shown: dropped at once.
    press(&mut state, KeyCode::Char('B'));
    let effects = press(&mut state, KeyCode::Enter);
    let plan = answer_plan(&mut state, &effects);
    assert!(matches!(press(&mut state, KeyCode::Esc).as_slice(), [Effect::DropPlan(p)] if *p == plan));
    assert!(!state.status().running());

    // A plan that cannot be made says why, and nothing runs.
    press(&mut state, KeyCode::Char('B'));
    let effects = press(&mut state, KeyCode::Enter);
    let [Effect::PlanBackup { plan, .. }] = effects.as_slice() else { panic!("{effects:?}") };
    let error = "cannot read the GPOs: connection reset".to_string();
    update(&mut state, Msg::Job(JobEvent::Planned { plan: *plan, result: Err(error) }));
    assert!(state.popup.is_none());
    assert_eq!(state.status().notes()[0].text, "Back Up All: cannot read the GPOs: connection reset");
}

#[test]
fn back_up_all_works_from_anywhere_in_the_domain_and_needs_a_folder() {
    let mut state = connected_state();
    go_to(&mut state, |k| matches!(k, NodeKey::GpoFolder(_)));
    // b on the folder is not a GPO; the hint names the key that backs up all.
    press(&mut state, KeyCode::Char('b'));
    assert!(state.popup.is_none());
    let note = &state.status().notes()[0].text;
    assert!(note.contains("Select a GPO"));
    assert!(note.contains(&format!("({} backs up all", key_for(Action::BackUpAll))), "{note}");

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
        [Effect::PlanBackup { selection: GpoSelection::All, dir, .. }] => {
            assert_eq!(dir, &PathBuf::from("/srv/backups"), "relative to the working directory")
        }
        other => panic!("{other:?}"),
    }
    answer_plan(&mut state, &effects);
    let Some(Popup::Confirm(question)) = &state.popup else { panic!("the plan") };
    assert_eq!(question.plan.as_ref().unwrap().changes.len(), estate().gpos.len(), "every GPO is named");
    press(&mut state, KeyCode::Enter);
    let run = state.status().run().unwrap();
    assert_eq!((run.what.as_str(), run.domain.as_str()), ("Back Up All", "corp.example.test"));
}

#[test]
fn backing_up_needs_a_connection() {
    let mut state = fresh_state();
    press(&mut state, KeyCode::Char('B'));
    assert!(state.popup.is_none());
    assert!(state.status().notes()[0].text.contains("connect first"));
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
        update(state, Msg::Job(JobEvent::Run(event)));
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
        update(state, Msg::Job(JobEvent::Run(event)));
    }
    update(state, Msg::Tick(at(2_500)));
    let mut summary = RunSummary { total: 3, ..Default::default() };
    summary.record(done(DDCP, "Default Domain Controllers Policy", "{5E4D3C2B-1A09-4876-9543-210FEDCBA987}"));
    summary.record(done(DDP, "Default Domain Policy", "{0D6B9F1A-2C3E-4F50-8A61-7B8C9DAEBF01}"));
    summary.record(failed(FINANCE, "Finance Drive Maps", reason));
    summary.sort();
    let report = summary;
    update(state, Msg::Job(JobEvent::RunDone(Ok(report))));
}

/// Back Up All, planned by the core and said yes to: the run has started.
pub fn state_with_run(state: &mut AppState) {
    go_to(state, |k| matches!(k, NodeKey::GpoFolder(_)));
    press(state, KeyCode::Char('B'));
    let effects = press(state, KeyCode::Enter);
    answer_plan(state, &effects);
    press(state, KeyCode::Char('y'));
    assert!(state.status().running());
}

#[test]
fn progress_events_drive_the_run_and_the_report_ends_it() {
    let mut state = connected_state();
    state_with_run(&mut state);
    feed_run_with_one_failure(&mut state);
    let run = state.status().run().unwrap();
    assert_eq!((run.total(), run.done(), run.current.clone()), (Some(3), 1, vec!["Finance Drive Maps".to_string()]));
    update(&mut state, Msg::Tick(at(1_000)));
    assert!((state.status().run().unwrap().rate(state.clock).unwrap() - 1.0).abs() < 0.01);

    finish_run_with_one_failure(&mut state);
    let run = state.status().run().unwrap();
    assert!(run.finished.is_some());
    assert_eq!((run.summary.succeeded, run.summary.failed), (2, 1));
    assert!(run.outcome().ends_with("2 succeeded, 1 failed"), "{}", run.outcome());
    assert!(!state.animating());
}

#[test]
fn a_run_that_cannot_start_says_why() {
    let mut state = connected_state();
    state_with_run(&mut state);
    update(&mut state, Msg::Job(JobEvent::RunDone(Err("cannot create /srv/gpo-backups: permission denied".into()))));
    let run = state.status().run().unwrap();
    assert_eq!(run.fatal.as_deref(), Some("cannot create /srv/gpo-backups: permission denied"));
    assert!(run.outcome().contains("permission denied"));
}

#[test]
fn q_and_esc_back_out_then_quit_and_ask_first_while_a_backup_runs() {
    let mut state = connected_state();
    let mut order = vec![state.focused];
    for _ in 0..6 {
        press(&mut state, KeyCode::Tab);
        order.push(state.focused);
    }
    assert_eq!(
        order,
        [
            tree::ID,
            backups::ID,
            crate::tui::panes::migtable::ID,
            details::ID,
            status::ID,
            crate::tui::panes::health::ID,
            tree::ID
        ],
        "the pane list's order"
    );
    tab_to(&mut state, status::ID);
    assert!(press(&mut state, KeyCode::Char('q')).is_empty());
    assert_eq!(state.focused, tree::ID);
    assert!(matches!(press(&mut state, KeyCode::Esc).as_slice(), [Effect::Quit]));

    state_with_run(&mut state);
    assert!(press(&mut state, KeyCode::Char('q')).is_empty());
    assert!(matches!(&state.popup, Some(Popup::Confirm(q)) if q.on_yes == OnYes::Quit));
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
    let before = state.tree().cursor;
    assert!(press(&mut state, KeyCode::Char('b')).is_empty());
    press(&mut state, KeyCode::Char('j'));
    assert_eq!(state.tree().cursor, before);
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
    assert_eq!(state.tree().cursor, rows.len() - 1);
    let height = state.pane_size(tree::ID).0;
    assert!(state.tree().offset + height > state.tree().cursor && state.tree().offset <= state.tree().cursor);
    press(&mut state, KeyCode::PageUp);
    press(&mut state, KeyCode::Home);
    assert_eq!((state.tree().cursor, state.tree().offset), (0, 0));
}

#[test]
fn esc_during_a_run_asks_then_cancels_and_the_pane_shows_what_was_skipped() {
    let mut state = connected_state();
    state_with_run(&mut state);
    let cancel = state.status().run().unwrap().cancel.clone();
    update(&mut state, Msg::Job(JobEvent::Run(ProgressEvent::Planned { total: 3 })));
    update(&mut state, Msg::Job(JobEvent::Run(ProgressEvent::ItemStarted(item(DDP, "Default Domain Policy")))));

    // Esc asks first; no keeps the run going.
    assert!(press(&mut state, KeyCode::Esc).is_empty());
    let Some(Popup::Confirm(question)) = &state.popup else { panic!("asks first") };
    assert_eq!(question.on_yes, OnYes::CancelRun);
    assert!(question.plan.as_ref().unwrap().title.contains("nothing new starts"));
    press(&mut state, KeyCode::Char('n'));
    assert!(!cancel.is_cancelled());
    assert!(state.status().running());

    // Yes sets the flag the job reads; the run goes on until the GPOs in flight are done.
    press(&mut state, KeyCode::Esc);
    assert!(press(&mut state, KeyCode::Char('y')).is_empty());
    assert!(cancel.is_cancelled());
    assert!(state.status().running());
    assert!(state.status().title(&state.context(status::ID, &Theme::plain())).contains("cancelling"));
    // Esc again does not ask again.
    press(&mut state, KeyCode::Esc);
    assert!(state.popup.is_none());

    // The items the run never started come as cancelled, with no "started" of their own.
    let cancelled = |gpo: &str, name: &str| ItemResult { item: item(gpo, name), status: ItemStatus::Cancelled };
    let events = [
        ProgressEvent::ItemFinished(done(DDP, "Default Domain Policy", "{0D6B9F1A-2C3E-4F50-8A61-7B8C9DAEBF01}")),
        ProgressEvent::ItemFinished(cancelled(FINANCE, "Finance Drive Maps")),
        ProgressEvent::ItemFinished(cancelled(DDCP, "Default Domain Controllers Policy")),
    ];
    for event in events {
        update(&mut state, Msg::Job(JobEvent::Run(event)));
        assert!(state.status().run().unwrap().current.iter().all(|n| n == "Default Domain Policy"));
    }
    let mut summary = RunSummary { total: 3, ..Default::default() };
    summary.record(done(DDP, "Default Domain Policy", "{0D6B9F1A-2C3E-4F50-8A61-7B8C9DAEBF01}"));
    summary.record(cancelled(FINANCE, "Finance Drive Maps"));
    summary.record(cancelled(DDCP, "Default Domain Controllers Policy"));
    summary.sort();
    update(&mut state, Msg::Job(JobEvent::RunDone(Ok(summary.clone()))));
    let run = state.status().run().unwrap();
    assert_eq!(run.summary, summary, "the pane holds the core's summary as it is");
    assert!(run.outcome().ends_with(&summary.counts()));
    let text: Vec<String> = state
        .status()
        .lines(&state.context(status::ID, &Theme::plain()), true)
        .iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect();
    let skipped = summary.results.iter().find(|r| r.status == ItemStatus::Cancelled).unwrap();
    let reason = skipped.reason().unwrap();
    assert!(
        text.iter().any(|l| l.starts_with("○ Default Domain Controllers Policy") && l.ends_with(reason)),
        "{text:#?}"
    );
    assert!(!text.iter().any(|l| l.starts_with("✗")), "cancelled is not failed: {text:#?}");
    // With nothing running, Esc is Back again: from the tree, it quits.
    assert!(matches!(press(&mut state, KeyCode::Esc).as_slice(), [Effect::Quit]));
}

#[test]
fn rows_are_built_once_per_change_not_per_key_event_or_frame() {
    let mut state = connected_state();
    state_with_run(&mut state);
    let built = state.tree().rebuilds;
    // Moving, ticking, progress events and drawing leave the rows alone.
    press(&mut state, KeyCode::Char('j'));
    press(&mut state, KeyCode::Char('k'));
    feed_run_with_one_failure(&mut state);
    update(&mut state, Msg::Tick(at(300)));
    render(&state, 80, 24);
    assert_eq!(state.tree().rebuilds, built);
    // Folding a node is a change: once.
    go_to(&mut state, |k| matches!(k, NodeKey::GpoFolder(_)));
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.tree().rebuilds, built + 1);
    // A domain read again is a change: once, whatever the number of GPOs.
    let info = ConnectionInfo::default();
    let effects = press(&mut state, KeyCode::Char('r'));
    assert!(matches!(effects.as_slice(), [Effect::Connect { attempt: 2, .. }]));
    let connected = JobEvent::Connected { domain: 1, attempt: 2, result: Ok((Box::new(estate()), info)) };
    update(&mut state, Msg::Job(connected));
    assert_eq!(state.tree().rebuilds, built + 3, "connecting shows a spinner (1), the answer the new rows (1)");
}

#[test]
fn line_counts_are_kept_until_what_they_count_changes() {
    let mut state = connected_state();
    go_to(&mut state, |k| matches!(k, NodeKey::Gpo(_, g) if *g == id(DDP)));
    press(&mut state, KeyCode::Enter);
    press(&mut state, KeyCode::Char('G'));
    let bottom = state.details().scroll;
    // The SYSVOL side arrives: more lines (the file tree), so End goes further.
    let extras = GpoExtras {
        files: (0..30).map(|i| details::FileRow { depth: 0, name: format!("f{i}"), size: Some(1) }).collect(),
        ..Default::default()
    };
    update(&mut state, Msg::Job(JobEvent::Details { domain: 1, gpo: id(DDP), result: Ok(Box::new(extras)) }));
    press(&mut state, KeyCode::Char('G'));
    assert_eq!(state.details().scroll, bottom + 29, "30 files instead of one 'reading…' line");
}
