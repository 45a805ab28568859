//! Opening on the chosen domain, names in natural order, the filter, the numbered panes and the
//! themes: keys → state without a terminal, and screens at 80x24 and 120x40 in the default and
//! the mono theme (with a map of what stands out without colour).

use crossterm::event::KeyCode;
use proptest::prelude::*;

use super::*;
use crate::tui::panes::tree::RowKind;
use crate::tui::panes::{FOCUS_MARK, backups, details, migtable, status, tree};
use crate::tui::state::{Focus, Phase};
use crate::tui::update::open;

fn screens(state: &mut AppState, name: &str) {
    for (width, height) in [(80, 24), (120, 40)] {
        update(state, Msg::Resize(width, height));
        for theme in ["default", "mono"] {
            let terminal = render_with(state, &Theme::built_in(theme), width, height);
            insta::assert_snapshot!(format!("{name}_{width}x{height}_{theme}"), screen_and_modifiers(&terminal));
        }
    }
    update(state, Msg::Resize(80, 24));
}

fn connect_answer(state: &mut AppState, estate: Estate) {
    let info = ConnectionInfo { ldap: "ldaps://127.0.0.1:636".into(), sysvol: "smb://127.0.0.1/sysvol".into() };
    update(state, Msg::Job(JobEvent::Connected { domain: 1, attempt: 1, result: Ok((Box::new(estate), info)) }));
}

#[test]
fn the_chosen_domain_connects_at_start_and_shows_its_gpos() {
    let mut state = fresh_state();
    let effects = open(&mut state, Some(1));
    assert!(matches!(effects.as_slice(), [Effect::Connect { domain: 1, attempt: 1, .. }]), "{effects:?}");
    assert_eq!(cursor_key(&state), NodeKey::Domain(1), "the cursor waits on the chosen domain");
    assert_eq!(state.domains[1].phase, Phase::Connecting);
    connect_answer(&mut state, bulk_estate(12));
    assert_eq!(cursor_key(&state), NodeKey::GpoFolder(1), "no key pressed");
    assert!(state.tree().is_expanded(&NodeKey::GpoFolder(1)));
    assert_eq!(gpo_names(&state).len(), 17);
    screens(&mut state, "opening");

    // Moved away while it connected: the cursor stays where the admin put it.
    let mut state = fresh_state();
    open(&mut state, Some(1));
    press(&mut state, KeyCode::Char('k'));
    connect_answer(&mut state, estate());
    assert_eq!(cursor_key(&state), NodeKey::Domain(0));
    // Nothing chosen: nothing connects. A chosen profile that does not resolve shows why.
    let mut state = fresh_state();
    assert!(open(&mut state, None).is_empty());
    assert!(state.domains.iter().all(|d| d.phase == Phase::Idle));
    let mut state = fresh_state();
    state.domains[1].target = Err("no domain given (set domain in the profile)".into());
    assert!(open(&mut state, Some(1)).is_empty());
    assert!(rows(&state).iter().any(|r| matches!(&r.kind, RowKind::Notice { text, .. } if text.contains("no domain"))));
}

#[test]
fn gpos_and_ous_are_listed_in_natural_order() {
    let state = bulk_state(12);
    let names = gpo_names(&state);
    let bulk: Vec<&str> = names.iter().filter(|n| n.starts_with("Bulk")).map(String::as_str).collect();
    let expected: Vec<String> = (1..=12).map(|n| format!("Bulk GPO {n}")).collect();
    assert_eq!(bulk, expected, "2 before 10, whatever order the directory gave");
    assert_eq!(names[0], "Bulk GPO 1", "case-insensitive: 'Bulk' before 'Default'");
    assert_eq!(names.last().map(String::as_str), Some("WMI Filtered - Laptops"));
}

#[test]
fn slash_narrows_the_tree_as_you_type_and_esc_gives_it_back() {
    let mut state = bulk_state(12);
    let all_rows = rows(&state).len();
    press(&mut state, KeyCode::Char('/'));
    assert_eq!(state.focus(), Focus::Filter);
    // Letters are the query, even those that are commands in the tree.
    type_text(&mut state, "bulk 1");
    assert_eq!(state.tree().list_filter().query(), "bulk 1");
    assert_eq!(gpo_names(&state), ["Bulk GPO 1", "Bulk GPO 10", "Bulk GPO 11", "Bulk GPO 12"]);
    assert_eq!(state.tree().match_count(), 4);
    assert!(rows(&state).len() < all_rows);
    assert!(matches!(cursor_key(&state), NodeKey::Gpo(_, _)), "the cursor shows the first match");
    let folder = rows(&state).into_iter().find(|r| r.key == NodeKey::GpoFolder(1)).expect("the folder");
    assert!(matches!(folder.kind, RowKind::GpoFolder { count: 17, matching: Some(4) }));
    screens(&mut state, "filter_typing");

    // Enter keeps it; n and N go round the matches.
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.focus(), Focus::Pane(tree::ID));
    let at = |state: &AppState| match &rows(state)[state.tree().cursor].kind {
        RowKind::Gpo { name, .. } => name.to_string(),
        other => format!("{other:?}"),
    };
    assert_eq!(at(&state), "Bulk GPO 1");
    press(&mut state, KeyCode::Char('n'));
    assert_eq!(at(&state), "Bulk GPO 10");
    press(&mut state, KeyCode::Char('N'));
    press(&mut state, KeyCode::Char('N'));
    assert_eq!(at(&state), "Bulk GPO 12", "N wraps to the last match");
    screens(&mut state, "filter_kept");

    // Esc clears: everything is back, the cursor on the GPO it was on.
    press(&mut state, KeyCode::Esc);
    assert!(!state.tree().list_filter().is_active());
    assert_eq!(rows(&state).len(), all_rows);
    assert_eq!(at(&state), "Bulk GPO 12");
}

#[test]
fn the_filter_finds_ous_and_guids_and_says_when_nothing_matches() {
    let mut state = connected_state();
    // OUs by name: the way to them (the domain, Staff) shows, folded links do not.
    press(&mut state, KeyCode::Char('/'));
    type_text(&mut state, "finance");
    let shown: Vec<(u16, String, bool)> = rows(&state)
        .iter()
        .filter_map(|r| match &r.kind {
            RowKind::Gpo { name, .. } => Some((r.depth, name.to_string(), r.matched)),
            RowKind::Container { name, .. } => Some((r.depth, name.clone(), r.matched)),
            _ => None,
        })
        .collect();
    assert_eq!(
        shown,
        [
            (2, "Finance Drive Maps".to_string(), true),
            (1, "corp.example.test".to_string(), false),
            (2, "Staff".to_string(), false),
            (3, "Finance".to_string(), true),
        ]
    );
    // A GUID, in any case, without its braces.
    press(&mut state, KeyCode::Esc);
    press(&mut state, KeyCode::Char('/'));
    type_text(&mut state, "31b2f340-016d");
    assert_eq!(gpo_names(&state), ["Default Domain Policy"]);
    // Backspace widens again; nothing matching says so.
    press(&mut state, KeyCode::Esc);
    press(&mut state, KeyCode::Char('/'));
    type_text(&mut state, "zzz");
    assert_eq!(state.tree().match_count(), 0);
    let screen = screen_text(&render(&state, 80, 24));
    assert!(screen.contains("/zzz") && screen.contains("no match"), "{screen}");
    for _ in 0..3 {
        press(&mut state, KeyCode::Backspace);
    }
    assert!(!state.tree().list_filter().is_active());
    assert_eq!(gpo_names(&state).len(), 5);
    // Enter on an empty line closes it.
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.focus(), Focus::Pane(tree::ID));
}

#[test]
fn the_filter_is_instant_on_ten_thousand_gpos() {
    let mut state = bulk_state(10_000);
    press(&mut state, KeyCode::Char('/'));
    let started = std::time::Instant::now();
    type_text(&mut state, "bulk gpo 99");
    // Debug build, eleven keys: generous, but it catches a search that is not incremental.
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    // A plain search of what the tree searches: each bulk GPO's name and GUID.
    let expected = (1..=10_000usize)
        .filter(|n| format!("bulk gpo {n} {{{n:08x}-0000-4000-8000-{n:012x}}}").contains("99"))
        .count();
    assert_eq!(state.tree().match_count(), expected);
    assert!(state.tree().list_filter().scanned < 10_000, "the last key searched only earlier matches");
    assert!(state.tree().row_count() < expected + 20, "only matches and the way to them");
}

#[test]
fn slash_where_nothing_filters_does_nothing() {
    let mut state = connected_state();
    press(&mut state, KeyCode::Char('4'));
    assert_eq!(state.focused, status::ID);
    press(&mut state, KeyCode::Char('/'));
    assert_eq!(state.focus(), Focus::Pane(status::ID), "the status pane has no list to filter");
    press(&mut state, KeyCode::Char('n'));
    assert_eq!(state.focus(), Focus::Pane(status::ID));
}

#[test]
fn numbers_focus_the_numbered_panes_in_list_order() {
    let mut state = connected_state();
    let numbered: Vec<_> = state.panes.numbered().map(|s| s.id).collect();
    assert_eq!(
        numbered,
        [tree::ID, backups::ID, migtable::ID, status::ID],
        "the details follow the cursor and have no number"
    );
    press(&mut state, KeyCode::Char('2'));
    assert_eq!(state.focused, backups::ID);
    press(&mut state, KeyCode::Char('3'));
    assert_eq!(state.focused, migtable::ID);
    press(&mut state, KeyCode::Char('4'));
    assert_eq!(state.focused, status::ID);
    press(&mut state, KeyCode::Char('1'));
    assert_eq!(state.focused, tree::ID);
    // The details stay reachable: Tab (after the backup list and the editor), and Enter on a GPO.
    for _ in 0..3 {
        press(&mut state, KeyCode::Tab);
    }
    assert_eq!(state.focused, details::ID);
    for _ in 0..3 {
        press(&mut state, KeyCode::BackTab);
    }
    go_to(&mut state, |k| matches!(k, NodeKey::Gpo(_, g) if *g == id(DDP)));
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.focused, details::ID);
}

#[test]
fn the_focused_pane_shows_without_colour() {
    let mut state = connected_state();
    for focused in [tree::ID, backups::ID, details::ID, status::ID] {
        state.focused = focused;
        let terminal = render_with(&state, &Theme::built_in("mono"), 80, 24);
        let screen = screen_text(&terminal);
        let marked: Vec<&str> = screen.lines().filter(|l| l.contains(&format!("{FOCUS_MARK} "))).collect();
        assert_eq!(marked.len(), 1, "one pane title carries the marker:\n{screen}");
        // The marker sits in a thick border; the other panes' borders are thin.
        let line = marked[0];
        let at = line.find(FOCUS_MARK).unwrap();
        let border = line[..at].chars().last().unwrap_or(' ');
        assert!(matches!(border, '┏' | '━'), "thick border before the marker: {line}");
        let thick = screen.matches('┏').count();
        assert_eq!(thick, 1, "{screen}");
    }
    screens(&mut state, "status_focused");
}

#[test]
fn every_theme_shows_selection_and_focus() {
    let state = connected_state();
    for name in ["default", "mono", "light"] {
        let theme = Theme::built_in(name);
        assert_eq!(theme.name, name);
        let terminal = render_with(&state, &theme, 80, 24);
        let buffer = terminal.backend().buffer();
        let row = state.tree().cursor as u16 + 2;
        let cell = &buffer[(3, row)];
        use ratatui::style::Modifier;
        assert!(cell.modifier.intersects(Modifier::REVERSED | Modifier::BOLD), "{name}: the cursor row");
        assert!(buffer[(0, 1)].modifier.contains(Modifier::BOLD), "{name}: the focused pane's border");
    }
}

/// Renders `state` at `width` x `height` after telling `update` the size.
fn resized(state: &mut AppState, width: u16, height: u16) {
    update(state, Msg::Resize(width, height));
    render(state, width, height);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// No size from 1x1 to 300x100 makes a key or a render panic, whatever has the focus and
    /// whatever is open.
    #[test]
    fn no_size_panics(width in 1u16..=300, height in 1u16..=100, focus in 0usize..3, what in 0usize..4) {
        let mut state = bulk_state(30);
        match what {
            0 => {}
            1 => {
                press(&mut state, KeyCode::Char('/'));
                type_text(&mut state, "bulk 2");
            }
            2 => {
                press(&mut state, KeyCode::Char('?'));
            }
            _ => {
                go_to(&mut state, |k| matches!(k, NodeKey::Gpo(_, _)));
                press(&mut state, KeyCode::Char('b'));
            }
        }
        state.focused = [tree::ID, details::ID, status::ID][focus];
        resized(&mut state, width, height);
        for code in [KeyCode::PageDown, KeyCode::End, KeyCode::Char('j'), KeyCode::Tab, KeyCode::Char('2')] {
            press(&mut state, code);
            render(&state, width, height);
        }
    }
}

#[test]
fn the_corners_of_the_size_range_render() {
    let mut state = bulk_state(30);
    for (width, height) in [(1, 1), (1, 100), (300, 1), (300, 100), (39, 9), (40, 10), (80, 24)] {
        resized(&mut state, width, height);
    }
}

#[test]
fn the_help_comes_from_the_keymap_and_scrolls() {
    let mut state = connected_state();
    press(&mut state, KeyCode::Char('?'));
    screens(&mut state, "help");
    // Scrolled to its end, it shows the keys of the help itself and what works always; it
    // stops there, so one key back up scrolls at once.
    press(&mut state, KeyCode::PageDown);
    press(&mut state, KeyCode::PageDown);
    for _ in 0..60 {
        press(&mut state, KeyCode::Char('j'));
    }
    let screen = screen_text(&render(&state, 80, 24));
    assert!(screen.contains("Close the help") && screen.contains("Ctrl-C"), "{screen}");
    assert!(screen.contains("↑ more") && !screen.contains("↓ more"), "{screen}");
    let bottom = state.help.as_ref().unwrap().scroll;
    press(&mut state, KeyCode::Char('k'));
    assert_eq!(state.help.as_ref().unwrap().scroll, bottom - 1);
    assert_ne!(screen_text(&render(&state, 80, 24)), screen, "one key up shows another line");
}

#[test]
fn a_terminal_too_small_says_what_it_needs() {
    let mut state = connected_state();
    update(&mut state, Msg::Resize(39, 12));
    let screen = screen_text(&render(&state, 39, 12));
    insta::assert_snapshot!("too_small_39x12", screen);
    assert!(screen.contains("39x12, needs 40x10"));
}
