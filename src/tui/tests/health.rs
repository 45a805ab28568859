//! The health view: keys → effects, the core's real check of the fake domain and search hits →
//! rows, Enter → the GPO in the tree (or the backup in the list), and its screens.

use std::sync::{Arc, OnceLock};

use crossterm::event::KeyCode;
use gpvault::ops::check::{self, CheckOptions, CheckReport, Problem, Severity};
use gpvault::ops::search::{Hit, SearchKind, SearchReport};
use gpvault::ops::{NoProgress, RunOptions};

use super::*;
use crate::tui::panes::backups::BackupsPane;
use crate::tui::panes::health::{self, HealthPane, Shown};
use crate::tui::panes::{Prompt, SearchScope, tree};
use crate::tui::popup::Popup;

/// The tree's index of `corp`, the connected domain of `connected_state`.
const CORP: usize = 1;

fn pane(state: &AppState) -> &HealthPane {
    state.panes.find().expect("the health view is in the pane list")
}

/// What the core's check finds in the fake domain (Finance's SYSVOL folder is missing there), once.
fn report() -> CheckReport {
    static REPORT: OnceLock<CheckReport> = OnceLock::new();
    REPORT
        .get_or_init(|| {
            let fake = FakeDomain::new();
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            let mut report = runtime
                .block_on(check::check(
                    &fake.session,
                    CheckOptions::default(),
                    &RunOptions::new(2),
                    Arc::new(NoProgress),
                ))
                .expect("the check runs");
            // The temporary SYSVOL shown as a stable path, for the screens.
            let gpvault::ops::SysvolSource::Path(sysvol) = &fake.session.sysvol_source else {
                panic!("a local SYSVOL")
            };
            let real = sysvol.display().to_string();
            for finding in &mut report.findings {
                finding.what = finding.what.replace(&real, "/srv/sysvol");
                finding.fix = finding.fix.replace(&real, "/srv/sysvol");
            }
            report
        })
        .clone()
}

fn hit(gpo: &str, name: &str, file: &str, setting: &str, value: &str) -> Hit {
    Hit {
        gpo_id: id(gpo),
        gpo_name: name.into(),
        backup_id: None,
        kind: SearchKind::Path,
        file: file.into(),
        setting: setting.into(),
        value: value.into(),
    }
}

fn hits() -> SearchReport {
    SearchReport {
        searched: "corp.example.test".into(),
        searched_count: 5,
        hits: vec![
            hit(
                FINANCE,
                "Finance Drive Maps",
                "User/Preferences/Drives/Drives.xml",
                "Drive F: path",
                r"\\fs01\finance",
            ),
            hit(
                LAPTOPS,
                "WMI Filtered - Laptops",
                "Machine/Scripts/scripts.ini",
                "Startup 0 CmdLine",
                r"\\fs01\netlogon\map.cmd",
            ),
        ],
        skipped: vec![],
    }
}

/// The tree's cursor on the Default Domain Policy, `H` pressed.
fn in_health() -> AppState {
    let mut state = connected_state();
    go_to(&mut state, |k| matches!(k, NodeKey::Gpo(_, g) if *g == id(DDP)));
    press(&mut state, KeyCode::Char('H'));
    state
}

pub fn with_findings() -> AppState {
    let mut state = in_health();
    let effects = press(&mut state, KeyCode::Char('c'));
    let [Effect::CheckDomain { request, .. }] = effects.as_slice() else { panic!("{effects:?}") };
    update(&mut state, Msg::Job(JobEvent::HealthChecked { request: *request, result: Ok(Box::new(report())) }));
    state
}

pub fn search_prompt() -> AppState {
    let mut state = in_health();
    press(&mut state, KeyCode::Char('F'));
    state
}

pub fn with_hits() -> AppState {
    let mut state = search_prompt();
    type_text(&mut state, r"\\fs01");
    let effects = press(&mut state, KeyCode::Enter);
    let [Effect::SearchDomain { request, .. }] = effects.as_slice() else { panic!("{effects:?}") };
    update(&mut state, Msg::Job(JobEvent::SettingsSearched { request: *request, result: Ok(Box::new(hits())) }));
    state
}

#[test]
fn h_reaches_the_view_from_any_pane_and_c_checks_the_tree_domain() {
    for spec in crate::tui::panes::PANES {
        let mut state = connected_state();
        state.focused = spec.id;
        press(&mut state, KeyCode::Char('H'));
        assert_eq!(state.focused, health::ID, "from {:?}", spec.id);
    }
    let mut state = in_health();
    let effects = press(&mut state, KeyCode::Char('c'));
    assert!(matches!(effects.as_slice(), [Effect::CheckDomain { domain: CORP, .. }]), "{effects:?}");
    assert!(pane(&state).busy.is_some());
    assert!(screen_text(&render(&state, 80, 24)).contains("Checking corp.example.test"));
}

#[test]
fn a_check_of_a_domain_not_connected_asks_for_nothing_and_says_why() {
    let mut state = fresh_state();
    press(&mut state, KeyCode::Char('H'));
    let notes = state.status().notes().len();
    assert!(press(&mut state, KeyCode::Char('c')).is_empty());
    assert!(pane(&state).busy.is_none());
    assert!(state.status().notes().len() > notes, "a note says why");
    // Search too: no prompt for a domain that cannot be searched.
    assert!(press(&mut state, KeyCode::Char('F')).is_empty());
    assert!(state.popup.is_none());
}

#[test]
fn findings_become_rows_worst_first_with_their_gpo_and_fix() {
    let report = report();
    let missing = report
        .findings
        .iter()
        .find(|f| matches!(f.problem, Problem::SysvolFolderMissing { .. }))
        .expect("the fake domain's Finance GPO has no SYSVOL folder");
    assert_eq!(missing.gpo.as_ref().map(|g| g.id), Some(id(FINANCE)));
    let state = with_findings();
    let rows = &pane(&state).rows;
    assert_eq!(rows.len(), report.findings.len());
    assert!(rows.windows(2).all(|w| w[0].severity >= w[1].severity), "severity first: {rows:?}");
    assert_eq!(rows[0].severity, Some(Severity::Error));
    let finance = rows.iter().find(|r| r.gpo == Some((CORP, id(FINANCE)))).expect("Finance's row");
    assert_eq!(finance.cells[0], "Finance Drive Maps");
    assert_eq!(finance.cells[1], missing.what);
    assert_eq!(finance.detail, missing.fix);
    assert!(matches!(&pane(&state).shown, Shown::Findings { domain, .. } if domain == "corp.example.test"));
    assert!(pane(&state).busy.is_none());
}

#[test]
fn the_check_covers_the_backups_of_the_folder_the_list_has_open() {
    // No folder open: the domain alone.
    let mut state = in_health();
    let effects = press(&mut state, KeyCode::Char('c'));
    assert!(matches!(effects.as_slice(), [Effect::CheckDomain { backups: None, .. }]), "{effects:?}");

    // The backup list has a folder open: its backups are checked too ("never backed up", age).
    let mut folder = super::backups::StandIn::new();
    let mut state = super::backups::listed_state(&mut folder);
    press(&mut state, KeyCode::Char('H'));
    let effects = press(&mut state, KeyCode::Char('c'));
    let [Effect::CheckDomain { backups: Some(dir), .. }] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!(dir, std::path::Path::new(super::backups::SHOWN));
}

#[test]
fn an_answer_to_an_older_request_is_dropped() {
    let mut state = in_health();
    let first = press(&mut state, KeyCode::Char('c'));
    let [Effect::CheckDomain { request: old, .. }] = first.as_slice() else { panic!("{first:?}") };
    let second = press(&mut state, KeyCode::Char('c'));
    let [Effect::CheckDomain { request: new, .. }] = second.as_slice() else { panic!("{second:?}") };
    assert_ne!(old, new);
    update(&mut state, Msg::Job(JobEvent::HealthChecked { request: *old, result: Ok(Box::new(report())) }));
    assert!(pane(&state).rows.is_empty());
    assert!(pane(&state).busy.is_some());
    update(&mut state, Msg::Job(JobEvent::HealthChecked { request: *new, result: Err("LDAP went away".into()) }));
    assert!(pane(&state).busy.is_none());
    assert!(pane(&state).rows.is_empty());
}

#[test]
fn f_asks_for_the_text_and_searches_the_tree_domain_from_any_pane() {
    for spec in crate::tui::panes::PANES {
        let mut state = connected_state();
        go_to(&mut state, |k| matches!(k, NodeKey::Gpo(_, g) if *g == id(DDP)));
        state.focused = spec.id;
        press(&mut state, KeyCode::Char('F'));
        assert!(
            matches!(&state.popup, Some(Popup::Prompt(form)) if form.prompt == Prompt::Search(SearchScope::Domain(CORP))),
            "from {:?}",
            spec.id
        );
    }
    let mut state = search_prompt();
    // Nothing typed: the prompt stays, saying what to type.
    assert!(press(&mut state, KeyCode::Enter).is_empty());
    assert!(matches!(&state.popup, Some(Popup::Prompt(form)) if form.error.is_some()));
    type_text(&mut state, "Helpdesk");
    let effects = press(&mut state, KeyCode::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::SearchDomain { domain: CORP, text, .. }] if text == "Helpdesk"),
        "{effects:?}"
    );
    assert!(state.popup.is_none());
    assert_eq!(state.focused, health::ID);
}

#[test]
fn f_on_the_backup_list_searches_its_folder_and_each_hit_names_its_backup() {
    let mut folder = super::backups::StandIn::new();
    let mut state = super::backups::listed_state(&mut folder);
    press(&mut state, KeyCode::Char('F'));
    let shown = std::path::PathBuf::from(super::backups::SHOWN);
    let asked = Prompt::Search(SearchScope::Backups(shown.clone()));
    assert!(matches!(&state.popup, Some(Popup::Prompt(form)) if form.prompt == asked));
    type_text(&mut state, "LmCompatibilityLevel");
    let effects = press(&mut state, KeyCode::Enter);
    let [Effect::SearchBackups { request, dir, text }] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!((dir, text.as_str()), (&shown, "LmCompatibilityLevel"));
    assert_eq!(state.focused, health::ID);

    // The core's search of the real folder, as the job would send it.
    let query = gpvault::ops::search::Query::new(text, SearchKind::Any).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let report = runtime.block_on(gpvault::ops::search::search_backups(&folder.real(dir), &query, 2)).unwrap();
    assert!(!report.hits.is_empty(), "the security baseline sets it");
    let request = *request;
    update(&mut state, Msg::Job(JobEvent::SettingsSearched { request, result: Ok(Box::new(report.clone())) }));
    let rows = &pane(&state).rows;
    assert_eq!(rows.len(), report.hits.len());
    for (row, hit) in rows.iter().zip(&report.hits) {
        // A backup's GPO may be of no domain the tree has: Enter goes to the backup instead.
        assert_eq!(row.gpo, None);
        assert_eq!(row.backup, hit.backup_id);
        let backup = hit.backup_id.as_deref().expect("a hit in a backup names it");
        assert!(row.detail.contains(backup) && row.detail.contains(&hit.value), "{}", row.detail);
    }
    let Shown::Hits { summary, .. } = &pane(&state).shown else { panic!("{:?}", pane(&state).shown) };
    assert!(summary.ends_with("of 17 backups"), "{summary}");

    // Enter on a hit shows its backup in the list, whatever the list's filter hid.
    let last = report.hits.last().and_then(|h| h.backup_id.clone()).expect("a backup");
    state.focused = crate::tui::panes::backups::ID;
    press(&mut state, KeyCode::Char('/'));
    type_text(&mut state, "no backup matches this");
    press(&mut state, KeyCode::Enter);
    fn backups(state: &AppState) -> &BackupsPane {
        state.panes.find().expect("the backup list")
    }
    assert_eq!(backups(&state).len(), 0);
    state.focused = health::ID;
    press(&mut state, KeyCode::Char('G'));
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.focused, crate::tui::panes::backups::ID);
    let selected = backups(&state).selected().map(|r| r.backup_id.clone());
    assert_eq!(selected.as_deref(), Some(last.as_str()));

    // A backup the list no longer shows: the view stays, and says so.
    state.focused = health::ID;
    let gone = "{00000000-0000-4000-8000-000000000000}";
    state.panes.find_mut::<HealthPane>().unwrap().rows[0].backup = Some(gone.into());
    press(&mut state, KeyCode::Char('g'));
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.focused, health::ID);
    assert!(state.status().notes()[0].text.contains(gone), "{:?}", state.status().notes());
}

#[test]
fn hits_become_rows_and_enter_goes_to_the_gpo_in_the_tree() {
    let mut state = with_hits();
    let rows = pane(&state).rows.clone();
    let expected = hits();
    assert_eq!(rows.len(), expected.hits.len());
    for (row, hit) in rows.iter().zip(&expected.hits) {
        assert_eq!(row.gpo, Some((CORP, hit.gpo_id)));
        assert_eq!(row.cells, [hit.gpo_name.clone(), hit.file.clone(), hit.setting.clone()]);
        assert!(row.detail.contains(&hit.value));
    }
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.focused, tree::ID);
    assert_eq!(cursor_key(&state), NodeKey::Gpo(CORP, id(LAPTOPS)));
    // Its details follow the tree's cursor as always.
    assert_eq!(state.selected().and_then(|r| r.key.gpo()), Some(id(LAPTOPS)));
}

#[test]
fn enter_on_a_folded_domain_unfolds_the_way_to_the_gpo() {
    let mut state = with_hits();
    state.tree_mut().fold(&NodeKey::GpoFolder(CORP));
    state.sync_tree();
    press(&mut state, KeyCode::Enter);
    assert_eq!(cursor_key(&state), NodeKey::Gpo(CORP, id(FINANCE)));
}

#[test]
fn enter_on_a_finding_about_no_gpo_stays() {
    let mut state = in_health();
    let effects = press(&mut state, KeyCode::Char('c'));
    let [Effect::CheckDomain { request, .. }] = effects.as_slice() else { panic!("{effects:?}") };
    let mut report = report();
    report.findings = vec![check::Finding::new(
        None,
        Problem::WmiFilterUnused { filter_id: "{A1B2C3D4-0000-4000-8000-000000000009}".into(), name: "Old".into() },
    )];
    update(&mut state, Msg::Job(JobEvent::HealthChecked { request: *request, result: Ok(Box::new(report)) }));
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.focused, health::ID);
}

// ---- screens ----------------------------------------------------------------------------------

fn styled(state: &AppState, theme: &str, width: u16, height: u16) -> String {
    let terminal = render_with(state, &Theme::built_in(theme), width, height);
    format!("{:?}", terminal.backend().buffer())
}

fn snapshots(name: &str, state: &mut AppState) {
    for (width, height) in [(80, 24), (120, 40)] {
        update(state, Msg::Resize(width, height));
        for theme in ["default", "mono"] {
            insta::assert_snapshot!(format!("{name}_{width}x{height}_{theme}"), styled(state, theme, width, height));
        }
    }
    update(state, Msg::Resize(80, 24));
}

#[test]
fn screens_of_the_health_view() {
    snapshots("health_findings", &mut with_findings());
    snapshots("health_hits", &mut with_hits());
}
