//! Copy / Paste, Import Settings and the tree's restore and compare: keys → wizard state →
//! the plan asked of the core → the run and what is read again; and the wizard's screens.

use std::path::Path;

use crossterm::event::KeyCode;
use gpvault::migrate::table::{Destination, EntryType, Mapping, MigrationTable};
use gpvault::model::DomainInfo;
use gpvault::ops::{Plan, PlanDescription, RunSummary};

use super::backups::{SHOWN, StandIn, WIN10, focus_backups, idl_estate, press_served};
use super::*;
use crate::tui::action::{Action, PlanAsk, TableChoice};
use crate::tui::confirm::OnYes;
use crate::tui::panes::migtable::MigtablePane;
use crate::tui::panes::status::{Level, RunKind};
use crate::tui::panes::{backups, status, tree};
use crate::tui::popup::Popup;
use crate::tui::wizard::{Step, TableSource, Wizard};

/// branch.example.test as a connection reads it: one GPO of its own.
fn branch_estate() -> gpvault::model::Estate {
    let mut estate = estate();
    estate.domain = DomainInfo {
        dns_name: "branch.example.test".into(),
        netbios_name: "BRANCH".into(),
        dn: "DC=branch,DC=example,DC=test".into(),
        sid: Some("S-1-5-21-2000000000-2000000000-2000000000".parse().expect("SID")),
        guid: "{1f1e2d3c-0000-4000-8000-000000000000}".into(),
        controller: "dc01.branch.example.test".into(),
    };
    estate.gpos.retain(|g| g.id == id(DDP));
    estate.containers.clear();
    estate
}

/// corp (1) and branch (0) both connected.
fn two_domains() -> AppState {
    let mut state = connected_state();
    go_to(&mut state, |k| *k == NodeKey::Domain(0));
    let effects = press(&mut state, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Connect { domain: 0, .. }]), "{effects:?}");
    let attempt = state.domains[0].attempt;
    let result = Ok((Box::new(branch_estate()), ConnectionInfo::default()));
    update(&mut state, Msg::Job(JobEvent::Connected { domain: 0, attempt, result }));
    state
}

fn wizard(state: &AppState) -> &Wizard {
    match &state.popup {
        Some(Popup::Wizard(w)) => w,
        _ => panic!("no wizard open"),
    }
}

fn notes(state: &AppState) -> Vec<String> {
    state.status().notes().iter().map(|n| n.text.clone()).collect()
}

/// corp's "Finance Drive Maps" copied, the cursor on branch's Group Policy Objects.
fn copied_finance() -> AppState {
    let mut state = two_domains();
    go_to(&mut state, |k| *k == NodeKey::Gpo(1, id(FINANCE)));
    assert!(press(&mut state, KeyCode::Char('c')).is_empty());
    go_to(&mut state, |k| *k == NodeKey::GpoFolder(0));
    state
}

pub fn paste_permissions() -> AppState {
    let mut state = copied_finance();
    press(&mut state, KeyCode::Char('v'));
    state
}

pub fn paste_table() -> AppState {
    let mut state = paste_permissions();
    press(&mut state, KeyCode::Enter);
    state
}

pub fn paste_name() -> AppState {
    let mut state = paste_table();
    press(&mut state, KeyCode::Enter);
    state
}

/// The same-domain copy plan the core makes for "Default Domain Policy" of the fake domain.
fn copy_plan_of_the_core() -> PlanDescription {
    let fake = FakeDomain::new();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let options = gpvault::ops::copy::CopyOptions::default();
    let plan = runtime
        .block_on(gpvault::ops::copy::plan(&fake.session, &fake.session, DDP, &options, &gpvault::ops::NoProgress))
        .expect("the core plans the copy");
    // The copy's GUID is chosen afresh by every plan: a fixed one keeps the screens comparable.
    let (new_id, fixed) = (plan.copy.gpo, id("{0C0B1E00-0000-4000-8000-000000000001}"));
    let (new_text, fixed_text) = (new_id.to_string(), fixed.to_string());
    let mut description = plan.describe();
    let swap = |text: &mut String| *text = text.replace(&new_text, &fixed_text);
    swap(&mut description.title);
    description.notes.iter_mut().for_each(swap);
    for change in &mut description.changes {
        swap(&mut change.from);
        swap(&mut change.to);
        if let Some(item) = change.item.as_mut().filter(|i| i.gpo == new_id) {
            item.gpo = fixed;
        }
    }
    description
}

#[test]
fn copy_remembers_the_gpo_and_paste_walks_the_wizard_to_the_core_plan() {
    // Nothing copied yet: paste says what to do first.
    let mut state = two_domains();
    go_to(&mut state, |k| *k == NodeKey::GpoFolder(0));
    assert!(press(&mut state, KeyCode::Char('v')).is_empty());
    assert!(state.popup.is_none());
    assert!(notes(&state)[0].contains("Copy a GPO first (c on it"), "{:?}", notes(&state));
    // Copy on a folder is not a GPO.
    press(&mut state, KeyCode::Char('c'));
    assert!(state.clipboard.is_none());

    let mut state = paste_permissions();
    assert_eq!(state.clipboard.as_ref().map(|c| (c.domain, c.id)), Some((1, id(FINANCE))));
    assert_eq!(state.focus(), crate::tui::state::Focus::Form);
    // (a) permissions: the default for new GPOs first, ↓ the source's, ↑ back.
    assert_eq!((wizard(&state).step(), wizard(&state).preserve_acl), (Step::Permissions, false));
    press(&mut state, KeyCode::Down);
    assert!(wizard(&state).preserve_acl);
    press(&mut state, KeyCode::Up);
    assert!(!wizard(&state).preserve_acl);
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Enter);
    // (b) the table: none, or a file (no editor table without rows); a file needs its path.
    assert_eq!(wizard(&state).step(), Step::Table);
    assert_eq!(wizard(&state).table_sources(), [TableSource::None, TableSource::File]);
    // Without a table, there is no "exclusively" to tick.
    press(&mut state, KeyCode::Tab);
    assert!(!wizard(&state).on_exclusive);
    press(&mut state, KeyCode::Down);
    assert_eq!(wizard(&state).table, TableSource::File);
    press(&mut state, KeyCode::Enter);
    assert_eq!(wizard(&state).step(), Step::Table, "no path typed");
    assert!(wizard(&state).error.as_deref().is_some_and(|e| e.contains("path")));
    type_text(&mut state, "tables/corp-to-branch.migtable");
    press(&mut state, KeyCode::Tab);
    press(&mut state, KeyCode::Char(' '));
    assert!(wizard(&state).exclusive);
    press(&mut state, KeyCode::Enter);
    // (c) the name: another domain keeps the source's name (the core's default).
    assert_eq!(wizard(&state).step(), Step::Name);
    assert_eq!(wizard(&state).name.lines(), [gpvault::ops::copy::default_name("Finance Drive Maps", false)]);
    // Esc goes back a step, and Enter forward again keeps what was chosen.
    press(&mut state, KeyCode::Esc);
    assert_eq!(wizard(&state).step(), Step::Table);
    assert_eq!(wizard(&state).table, TableSource::File);
    press(&mut state, KeyCode::Enter);
    for _ in 0..30 {
        press(&mut state, KeyCode::Backspace);
    }
    press(&mut state, KeyCode::Enter);
    assert!(wizard(&state).error.as_deref().is_some_and(|e| e.contains("name")), "an empty name is refused");
    type_text(&mut state, "Finance Drive Maps (branch)");
    // (d) the plan, asked of the core with every answer.
    let effects = press(&mut state, KeyCode::Enter);
    let [Effect::PlanFor { plan, ask }] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!(
        ask,
        &PlanAsk::Copy {
            from: 1,
            source: id(FINANCE),
            into: 0,
            name: "Finance Drive Maps (branch)".into(),
            preserve_acl: true,
            table: TableChoice::File("/srv/tables/corp-to-branch.migtable".into()),
            only_mapped: true,
        }
    );
    let Some(Popup::Confirm(question)) = &state.popup else { panic!("the plan is awaited") };
    let OnYes::Run(run) = &question.on_yes else { panic!("runs on yes") };
    assert_eq!((run.kind, run.domain.as_str()), (RunKind::Copy { domain: 0 }, "branch.example.test"));
    update(&mut state, Msg::Job(JobEvent::Planned { plan: *plan, result: Ok(copy_plan_of_the_core()) }));
    let effects = press(&mut state, KeyCode::Char('y'));
    assert!(matches!(effects.as_slice(), [Effect::ExecutePlan { .. }]), "{effects:?}");
    assert_eq!(state.status().run().map(|r| r.kind), Some(RunKind::Copy { domain: 0 }));
    // Done: branch is read again, so the tree shows the copy.
    let effects = update(&mut state, Msg::Job(JobEvent::RunDone(Ok(RunSummary::default()))));
    assert!(effects.iter().any(|e| matches!(e, Effect::Connect { domain: 0, .. })), "{effects:?}");
}

#[test]
fn pasting_into_the_same_domain_names_the_copy_as_gpmc_does_and_esc_backs_out() {
    let mut state = two_domains();
    go_to(&mut state, |k| *k == NodeKey::Gpo(1, id(DDP)));
    press(&mut state, KeyCode::Char('c'));
    assert!(notes(&state)[0].contains("Copied \"Default Domain Policy\""), "{:?}", notes(&state));
    // On the GPO itself: the same domain.
    press(&mut state, KeyCode::Char('v'));
    assert_eq!(wizard(&state).name.lines(), ["Copy of Default Domain Policy"]);
    // Esc on the first step closes the wizard; nothing was asked.
    assert!(press(&mut state, KeyCode::Esc).is_empty());
    assert!(state.popup.is_none());
    // Enter through: no table, the default permissions.
    press(&mut state, KeyCode::Char('v'));
    press(&mut state, KeyCode::Enter);
    press(&mut state, KeyCode::Enter);
    let effects = press(&mut state, KeyCode::Enter);
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::PlanFor {
                ask: PlanAsk::Copy {
                    from: 1,
                    into: 1,
                    preserve_acl: false,
                    table: TableChoice::None,
                    only_mapped: false,
                    ..
                },
                ..
            }]
        ),
        "{effects:?}"
    );
    // A domain not connected cannot take a paste.
    let mut state = connected_state();
    go_to(&mut state, |k| *k == NodeKey::Gpo(1, id(DDP)));
    press(&mut state, KeyCode::Char('c'));
    go_to(&mut state, |k| *k == NodeKey::Domain(0));
    press(&mut state, KeyCode::Char('v'));
    assert!(state.popup.is_none());
    assert!(notes(&state)[0].contains("connect first"), "{:?}", notes(&state));
}

#[test]
fn the_editors_rows_are_offered_and_applied_as_they_are() {
    let mut state = copied_finance();
    let rows = vec![Mapping {
        entry_type: EntryType::GlobalGroup,
        source: "Finance@corp.example.test".into(),
        destination: Destination::Set("Finance@branch.example.test".into()),
    }];
    let editor: &mut MigtablePane = state.panes.find_mut().expect("editor");
    let requests = editor.opened("/srv/tables/corp.migtable".into(), Ok(MigrationTable::from_rows(rows.clone())));
    assert!(requests.iter().all(|r| !matches!(r, crate::tui::panes::Request::Confirm(_))));
    press(&mut state, KeyCode::Char('v'));
    press(&mut state, KeyCode::Enter);
    assert_eq!(wizard(&state).table_sources(), [TableSource::None, TableSource::Editor, TableSource::File]);
    press(&mut state, KeyCode::Down);
    assert_eq!(wizard(&state).table, TableSource::Editor);
    press(&mut state, KeyCode::Enter);
    let effects = press(&mut state, KeyCode::Enter);
    let [Effect::PlanFor { ask: PlanAsk::Copy { table: TableChoice::Editor { name, table }, .. }, .. }] =
        effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!((name.as_str(), table.rows()), ("corp.migtable", rows.as_slice()));
}

// ---- Import Settings ---------------------------------------------------------------------------

/// idl.local connected, the stand-in folder listed, the cursor back on the Windows 10 GPO.
fn import_ready(folder: &mut StandIn) -> AppState {
    import_ready_with(folder, idl_estate())
}

fn import_ready_with(folder: &mut StandIn, estate: gpvault::model::Estate) -> AppState {
    let mut state = super::backups::connected_to(estate);
    focus_backups(&mut state, folder);
    press(&mut state, KeyCode::Char('1'));
    assert_eq!(state.focused, tree::ID);
    go_to(&mut state, |k| matches!(k, NodeKey::Gpo(1, _)));
    state
}

/// Answers the backup list's jobs with the listing the core made once (`backups::ready`):
/// every_action makes these states thousands of times.
fn answer_listing(state: &mut AppState, effects: Vec<Effect>) {
    for effect in effects {
        if let Effect::ListBackups { request, .. } = effect {
            let listed = super::backups::ready().listed.clone();
            let more = update(state, Msg::Job(JobEvent::BackupsListed { request, result: Ok(Box::new(listed)) }));
            answer_listing(state, more);
        }
    }
}

/// idl.local connected and the stand-in folder listed (from the listing made once).
fn listed_quickly() -> AppState {
    let mut state = super::backups::connected_to(idl_estate());
    while state.focused != backups::ID {
        let effects = press(&mut state, KeyCode::Tab);
        answer_listing(&mut state, effects);
    }
    state
}

pub fn import_backup_step() -> AppState {
    let mut state = listed_quickly();
    press(&mut state, KeyCode::Char('1'));
    go_to(&mut state, |k| matches!(k, NodeKey::Gpo(1, _)));
    press(&mut state, KeyCode::Char('i'));
    state
}

pub fn import_target_step() -> AppState {
    let mut state = listed_quickly();
    press(&mut state, KeyCode::Char('i'));
    state
}

#[test]
fn import_from_the_tree_picks_a_backup_of_the_folder_then_the_table() {
    // Without a folder listed, it says how to open one.
    let mut state = super::backups::connected_to(idl_estate());
    go_to(&mut state, |k| matches!(k, NodeKey::Gpo(1, _)));
    press(&mut state, KeyCode::Char('i'));
    assert!(state.popup.is_none());
    assert!(notes(&state)[0].contains("open one there first"), "{:?}", notes(&state));

    let mut folder = StandIn::new();
    let mut state = import_ready(&mut folder);
    let target = state.selected().and_then(|r| r.key.gpo()).expect("a GPO");
    press(&mut state, KeyCode::Char('i'));
    let listed = super::backups::pane(&state).rows().to_vec();
    let selected = super::backups::pane(&state).selected().map(|r| r.backup_id.clone());
    // Every backup of the folder, the cursor on the backup list's selection.
    assert_eq!(wizard(&state).step(), Step::Backup);
    let offered: Vec<&str> = wizard(&state).backups.iter().map(|b| b.backup_id.as_str()).collect();
    assert_eq!(offered, listed.iter().map(|r| r.backup_id.as_str()).collect::<Vec<_>>());
    assert_eq!(Some(&wizard(&state).backups[wizard(&state).pick].backup_id), selected.as_ref());
    let at = listed.iter().position(|r| r.backup_id == WIN10).expect("listed");
    while wizard(&state).pick < at {
        press(&mut state, KeyCode::Down);
    }
    while wizard(&state).pick > at {
        press(&mut state, KeyCode::Up);
    }
    press(&mut state, KeyCode::Enter);
    assert_eq!(wizard(&state).step(), Step::Table);
    let effects = press(&mut state, KeyCode::Enter);
    let [Effect::PlanFor { ask, .. }] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!(
        ask,
        &PlanAsk::Import {
            domain: 1,
            gpo: target,
            dir: SHOWN.into(),
            backup_id: WIN10.into(),
            table: TableChoice::None,
            only_mapped: false
        }
    );
    let Some(Popup::Confirm(question)) = &state.popup else { panic!("the plan is awaited") };
    assert!(matches!(&question.on_yes, OnYes::Run(run) if run.kind == RunKind::Import { domain: 1 }));
}

#[test]
fn import_from_the_backup_list_picks_the_gpo_among_the_connected_domains() {
    let mut folder = StandIn::new();
    // Nothing connected: nothing to import into.
    let mut state = fresh_state();
    focus_backups(&mut state, &mut folder);
    press(&mut state, KeyCode::Char('i'));
    assert!(state.popup.is_none());
    assert!(notes(&state)[0].contains("connect a domain first"), "{:?}", notes(&state));

    let mut state = super::backups::connected_to(idl_estate());
    focus_backups(&mut state, &mut folder);
    let win10 = super::backups::pane(&state).rows().iter().position(|r| r.backup_id == WIN10).expect("listed");
    while super::backups::pane(&state).cursor < win10 {
        press_served(&mut state, &mut folder, KeyCode::Char('j'));
    }
    press(&mut state, KeyCode::Char('i'));
    assert_eq!(wizard(&state).step(), Step::Target);
    // The GPOs of idl.local, the one of the backup's name chosen first.
    let names: Vec<&str> = wizard(&state).targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["DoD IE11 STIG - Computer (SHB v10.1.0)", "DoD Windows 10 STIG - Computer (SHB v10.1.0)"]);
    assert_eq!(wizard(&state).pick, 1);
    press(&mut state, KeyCode::Up);
    press(&mut state, KeyCode::Enter);
    let effects = press(&mut state, KeyCode::Enter);
    let [Effect::PlanFor { ask: PlanAsk::Import { domain: 1, gpo, backup_id, dir, .. }, .. }] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(*gpo, wizard_target(&idl_estate(), "DoD IE11 STIG - Computer (SHB v10.1.0)"));
    assert_eq!((backup_id.as_str(), dir.as_path()), (WIN10, Path::new(SHOWN)));
    // Yes, and done: the domain and the folder (a safety backup went there) are read again.
    let Some(plan) = state.popup.as_ref().and_then(|p| match p {
        Popup::Confirm(q) => q.plan_id(),
        _ => None,
    }) else {
        panic!("a plan")
    };
    let description = PlanDescription { title: "Import 1 backup".into(), ..Default::default() };
    update(&mut state, Msg::Job(JobEvent::Planned { plan, result: Ok(description) }));
    press(&mut state, KeyCode::Char('y'));
    let effects = update(&mut state, Msg::Job(JobEvent::RunDone(Ok(RunSummary::default()))));
    assert!(effects.iter().any(|e| matches!(e, Effect::Connect { domain: 1, .. })), "{effects:?}");
    assert!(effects.iter().any(|e| matches!(e, Effect::ListBackups { .. })), "{effects:?}");
}

fn wizard_target(estate: &gpvault::model::Estate, name: &str) -> gpvault::model::GpoId {
    estate.gpos.iter().find(|g| g.display_name == name).map(|g| g.id).expect("GPO")
}

// ---- the tree's restore and compare --------------------------------------------------------------

#[test]
fn restore_and_compare_from_the_tree_use_the_gpos_latest_backup() {
    let mut folder = StandIn::new();
    // idl.local's GPOs, and one never backed up.
    let mut idl = idl_estate();
    idl.gpos.push(gpo(DDP, "Default Domain Policy", 0, 13, 0));
    let mut state = import_ready_with(&mut folder, idl);
    go_to(&mut state, |k| {
        *k == NodeKey::Gpo(1, wizard_target(&idl_estate(), "DoD Windows 10 STIG - Computer (SHB v10.1.0)"))
    });
    // The newest backup of this GPO in the folder (the list is newest first).
    let latest = super::backups::pane(&state)
        .rows()
        .iter()
        .filter(|r| r.display_name == "DoD Windows 10 STIG - Computer (SHB v10.1.0)")
        .max_by_key(|r| r.backup_time.clone())
        .map(|r| r.backup_id.clone())
        .expect("backups of it");
    let effects = press(&mut state, KeyCode::Char('R'));
    let [Effect::PlanFor { ask: PlanAsk::Restore { domain: 1, backup_id, links: false, .. }, .. }] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(backup_id, &latest);
    press(&mut state, KeyCode::Esc);
    let effects = press(&mut state, KeyCode::Char('d'));
    let [Effect::DiffLive { domain: 1, backup_id, name, .. }] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!(backup_id, &latest);
    // The differences land in the status pane, the heading on top.
    let lines = vec!["--- backup".to_string(), "+++ live".to_string(), "- Files: audit.csv".to_string()];
    update(&mut state, Msg::Job(JobEvent::LiveDiffed { name: name.clone(), result: Ok(lines) }));
    assert_eq!(state.focused, status::ID);
    let shown = notes(&state);
    assert!(shown[0].contains("against its latest backup: 1 differences"), "{shown:?}");
    assert_eq!(shown[1..4], ["--- backup", "+++ live", "- Files: audit.csv"]);
    assert_eq!(state.status().notes()[0].level, Level::Warning);
    // A GPO with no backup in the folder says so.
    press(&mut state, KeyCode::Char('1'));
    go_to(&mut state, |k| *k == NodeKey::Gpo(1, id(DDP)));
    assert!(press(&mut state, KeyCode::Char('d')).is_empty());
    assert!(notes(&state)[0].starts_with("No backup of \"Default Domain Policy\""), "{:?}", notes(&state));
}

#[test]
fn tree_commands_do_nothing_from_other_panes() {
    let mut state = two_domains();
    go_to(&mut state, |k| *k == NodeKey::Gpo(1, id(DDP)));
    state.focused = status::ID;
    for action in [Action::CopyGpo, Action::PasteGpo, Action::RestoreLatest, Action::DiffLatest] {
        assert!(update(&mut state, Msg::Action(action)).is_empty());
    }
    assert!(state.clipboard.is_none() && state.popup.is_none());
    let _ = backups::ID;
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
fn screens_of_the_wizards() {
    snapshots("wizard_paste_permissions", &mut paste_permissions());
    let mut state = paste_table();
    press(&mut state, KeyCode::Down);
    type_text(&mut state, "/srv/tables/corp-to-branch.migtable");
    press(&mut state, KeyCode::Tab);
    press(&mut state, KeyCode::Char(' '));
    snapshots("wizard_paste_table", &mut state);
    snapshots("wizard_paste_name", &mut paste_name());
    let mut state = paste_name();
    let effects = press(&mut state, KeyCode::Enter);
    let [Effect::PlanFor { plan, .. }] = effects.as_slice() else { panic!("{effects:?}") };
    update(&mut state, Msg::Job(JobEvent::Planned { plan: *plan, result: Ok(copy_plan_of_the_core()) }));
    snapshots("wizard_paste_plan", &mut state);
    snapshots("wizard_import_backup", &mut import_backup_step());
    snapshots("wizard_import_target", &mut import_target_step());
}
