//! Snapshots of whole screens at 80x24 (and smaller), drawn from fake data.

use crossterm::event::KeyCode;
use gpvault::model::Version;
use ratatui::style::Modifier;

use super::update::{answer_plan, feed_run_with_one_failure, finish_run_with_one_failure, state_with_run};
use super::*;
use crate::tui::panes::details::{self, FileRow, GpoExtras};
use crate::tui::panes::status;
use crate::tui::popup::Popup;

fn snapshot(state: &AppState, width: u16, height: u16) -> String {
    screen_text(&render(state, width, height))
}

/// The main screen: two profiles, corp connected, the cursor on a GPO whose SYSVOL side is
/// still being read.
#[test]
fn tree_with_a_connected_domain() {
    let mut state = connected_state();
    go_to(&mut state, |k| matches!(k, NodeKey::Container(_, dn) if dn == "dc=corp,dc=example,dc=test"));
    press(&mut state, KeyCode::Enter);
    go_to(&mut state, |k| matches!(k, NodeKey::Container(_, dn) if dn.starts_with("ou=staff")));
    press(&mut state, KeyCode::Enter);
    go_to(&mut state, |k| matches!(k, NodeKey::Gpo(_, g) if *g == id(DDP)));
    insta::assert_snapshot!(snapshot(&state, 80, 24));
}

fn ddp_extras() -> GpoExtras {
    let file = |depth: usize, name: &str, size: Option<u64>| FileRow { depth, name: name.into(), size };
    GpoExtras {
        // SYSVOL is one computer version behind AD: the mismatch marker must show.
        sysvol_version: Some(Version { user: 0, machine: 12 }),
        sysvol_error: None,
        files: vec![
            file(0, "GPT.INI", Some(23)),
            file(0, "MACHINE", None),
            file(1, "Microsoft", None),
            file(2, "Windows NT", None),
            file(3, "SecEdit", None),
            file(4, "GptTmpl.inf", Some(1_210)),
            file(1, "Registry.pol", Some(2_048)),
            file(0, "USER", None),
        ],
        file_count: 3,
        total_bytes: 3_281,
        names: [("S-1-5-21-1004336348-1177238915-682003330-512".parse().unwrap(), "CORP\\Domain Admins".to_string())]
            .into_iter()
            .collect(),
    }
}

/// The details pane with the SYSVOL side loaded, focused and scrolled to the permissions.
#[test]
fn details_of_a_gpo_with_a_version_mismatch() {
    let mut state = connected_state();
    go_to(&mut state, |k| matches!(k, NodeKey::Gpo(_, g) if *g == id(DDP)));
    update(&mut state, Msg::Tick(at(200)));
    update(&mut state, Msg::Job(JobEvent::Details { domain: 1, gpo: id(DDP), result: Ok(Box::new(ddp_extras())) }));
    tab_to(&mut state, details::ID);
    insta::assert_snapshot!("details_top", snapshot(&state, 80, 24));
    for _ in 0..14 {
        press(&mut state, KeyCode::Down);
    }
    insta::assert_snapshot!("details_scrolled", snapshot(&state, 80, 24));

    let text = details_text(&state);
    assert!(text.contains("≠ MISMATCH"));
    assert!(text.contains("  CORP\\Domain Admins\n    Edit, delete, modify security"));
    assert!(text.contains("  NT AUTHORITY\\Authenticated Users\n    Apply Group Policy"));
    assert!(text.contains("        GptTmpl.inf  1.2 KB"));
    assert!(text.contains("O:DA"), "SDDL with the domain's aliases");
}

fn details_text(state: &AppState) -> String {
    let row = rows(state)[state.tree().cursor].clone();
    let theme = Theme::plain();
    state
        .details()
        .lines_for(&state.context(details::ID, &theme), &row)
        .iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn details_of_an_ou_and_of_the_domain() {
    let mut state = connected_state();
    go_to(&mut state, |k| matches!(k, NodeKey::Container(_, dn) if dn == "dc=corp,dc=example,dc=test"));
    press(&mut state, KeyCode::Enter);
    go_to(&mut state, |k| matches!(k, NodeKey::Container(_, dn) if dn.starts_with("ou=staff")));
    press(&mut state, KeyCode::Enter);
    go_to(&mut state, |k| matches!(k, NodeKey::Container(_, dn) if dn.starts_with("ou=finance")));
    let text = details_text(&state);
    assert!(text.contains("OU=Finance,OU=Staff,DC=corp,DC=example,DC=test"));
    assert!(text.contains("1. Finance Drive Maps"));
    go_to(&mut state, |k| matches!(k, NodeKey::Domain(1)));
    let text = details_text(&state);
    assert!(text.contains("NONE (--insecure-tls)"), "{text}");
    assert!(text.contains("ldaps://127.0.0.1:636"));
}

#[test]
fn backup_popup() {
    let mut state = connected_state();
    go_to(&mut state, |k| matches!(k, NodeKey::Gpo(_, g) if *g == id(DDP)));
    press(&mut state, KeyCode::Char('b'));
    press(&mut state, KeyCode::Tab);
    type_text(&mut state, "before the Q4 change");
    insta::assert_snapshot!(snapshot(&state, 80, 24));
}

#[test]
fn status_while_a_backup_runs() {
    let mut state = connected_state();
    state_with_run(&mut state);
    feed_run_with_one_failure(&mut state);
    update(&mut state, Msg::Tick(at(1_000)));
    insta::assert_snapshot!(snapshot(&state, 80, 24));
}

/// After Back Up All: 2 backed up, 1 failed; the failure first, with its reason.
#[test]
fn status_after_a_run_with_one_failure() {
    let mut state = connected_state();
    state_with_run(&mut state);
    feed_run_with_one_failure(&mut state);
    finish_run_with_one_failure(&mut state);
    let screen = snapshot(&state, 80, 24);
    insta::assert_snapshot!(screen);
    let failed_at = screen.find("✗ Finance Drive Maps").expect("failure listed");
    let ok_at = screen.find("✓ Default Domain Controllers Policy").expect("success listed");
    assert!(failed_at < ok_at, "failures come first");

    // Focused, the pane scrolls to the rest.
    tab_to(&mut state, status::ID);
    press(&mut state, KeyCode::End);
    assert!(state.status().scroll > 0);
}

#[test]
fn help_overlay() {
    let mut state = connected_state();
    press(&mut state, KeyCode::Char('?'));
    insta::assert_snapshot!(snapshot(&state, 80, 24));
}

#[test]
fn password_popup_masks_what_is_typed() {
    let mut state = fresh_state();
    state.domains[1].password_source = crate::tui::state::PasswordSource::Ask;
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Enter);
    type_text(&mut state, "secret");
    let screen = snapshot(&state, 80, 24);
    assert!(screen.contains("******"));
    assert!(!screen.contains("secret"));
    insta::assert_snapshot!(screen);
}

#[test]
fn tiny_terminal_does_not_panic() {
    let mut state = connected_state();
    go_to(&mut state, |k| matches!(k, NodeKey::Gpo(_, g) if *g == id(DDP)));
    update(&mut state, Msg::Resize(20, 5));
    insta::assert_snapshot!(snapshot(&state, 20, 5));
}

#[test]
fn narrow_terminal_shows_the_focused_pane_alone() {
    let mut state = connected_state();
    update(&mut state, Msg::Resize(50, 14));
    go_to(&mut state, |k| matches!(k, NodeKey::Gpo(_, g) if *g == id(DDP)));
    insta::assert_snapshot!("narrow_tree", snapshot(&state, 50, 14));
    tab_to(&mut state, details::ID);
    insta::assert_snapshot!("narrow_details", snapshot(&state, 50, 14));
}

#[test]
fn no_size_makes_a_render_panic() {
    let mut states = vec![fresh_state(), connected_state()];
    let mut with_popup = connected_state();
    go_to(&mut with_popup, |k| matches!(k, NodeKey::Gpo(_, _)));
    press(&mut with_popup, KeyCode::Char('b'));
    states.push(with_popup);
    let mut with_run = connected_state();
    state_with_run(&mut with_run);
    feed_run_with_one_failure(&mut with_run);
    states.push(with_run);
    let mut with_help = connected_state();
    press(&mut with_help, KeyCode::Char('?'));
    states.push(with_help);
    for state in &mut states {
        for id in state.panes.ids().collect::<Vec<_>>() {
            state.focused = id;
            for width in [0, 1, 2, 5, 11, 12, 19, 20, 40, 59, 60, 80, 200] {
                for height in [0, 1, 2, 3, 4, 5, 9, 10, 15, 16, 24, 30, 60] {
                    update(state, Msg::Resize(width, height));
                    render(state, width, height);
                }
            }
        }
    }
}

#[test]
fn selection_shows_without_colour() {
    let state = connected_state();
    let terminal = render_with(&state, &Theme::built_in("mono"), 80, 24);
    let buffer = terminal.backend().buffer();
    let row = state.tree().cursor as u16 + 2; // title bar + the tree's top border
    let cell = &buffer[(2, row)];
    assert!(cell.modifier.contains(Modifier::REVERSED), "cursor row is reversed in mono");
    assert_eq!(cell.fg, ratatui::style::Color::Reset);
}

#[test]
fn insecure_tls_is_visible() {
    let state = connected_state();
    let screen = snapshot(&state, 80, 24);
    assert!(screen.lines().next().unwrap().contains("⚠ TLS NOT VERIFIED"));
    assert!(screen.contains("┃▾ ⚠ corp (corp.example.test)"));
}

/// Back Up All's plan from the core, as the confirmation shows it: every GPO by name and GUID,
/// from where to where, the comment; at 80x24 it scrolls, at 120x40 more of it fits.
#[test]
fn confirm_popup_states_the_plan() {
    let mut state = connected_state();
    go_to(&mut state, |k| matches!(k, NodeKey::GpoFolder(_)));
    press(&mut state, KeyCode::Char('B'));
    press(&mut state, KeyCode::Tab);
    type_text(&mut state, "before the Q4 change");
    let effects = press(&mut state, KeyCode::Enter);
    insta::assert_snapshot!("confirm_popup_waiting", snapshot(&state, 80, 24));
    answer_plan(&mut state, &effects);
    let small = snapshot(&state, 80, 24);
    insta::assert_snapshot!("confirm_popup_80x24", small);
    assert!(small.contains("↓ more"), "a long plan says there is more");
    update(&mut state, Msg::Resize(120, 40));
    insta::assert_snapshot!("confirm_popup_120x40", snapshot(&state, 120, 40));

    // Every change of the plan can be scrolled to, down to the last.
    update(&mut state, Msg::Resize(80, 24));
    for _ in 0..40 {
        press(&mut state, KeyCode::Char('j'));
    }
    let bottom = snapshot(&state, 80, 24);
    let Some(Popup::Confirm(question)) = &state.popup else { panic!("still asking") };
    let last = question.plan.as_ref().unwrap().changes.last().unwrap().item.clone().unwrap();
    assert!(bottom.contains(&last.name), "{bottom}");
    assert!(bottom.contains("↑ more"), "{bottom}");
    insta::assert_snapshot!("confirm_popup_scrolled_to_the_end", bottom);
}

/// A cancelled run: what finished, then what the cancel left undone, as the core reported it.
#[test]
fn status_after_a_cancelled_run() {
    use gpvault::ops::{Item, ItemResult, ItemStatus, RunSummary};
    let mut state = connected_state();
    state_with_run(&mut state);
    let result = |gpo: &str, name: &str, status: ItemStatus| ItemResult {
        item: Item { gpo: id(gpo), name: name.into() },
        status,
    };
    let mut summary = RunSummary { total: 3, ..Default::default() };
    summary.record(result(
        DDP,
        "Default Domain Policy",
        ItemStatus::Succeeded("{0D6B9F1A-2C3E-4F50-8A61-7B8C9DAEBF01}".into()),
    ));
    summary.record(result(FINANCE, "Finance Drive Maps", ItemStatus::Cancelled));
    summary.record(result(DDCP, "Default Domain Controllers Policy", ItemStatus::Cancelled));
    summary.sort();
    update(&mut state, Msg::Tick(at(1_500)));
    update(&mut state, Msg::Job(JobEvent::RunDone(Ok(summary))));
    tab_to(&mut state, status::ID);
    insta::assert_snapshot!(snapshot(&state, 80, 24));
}
