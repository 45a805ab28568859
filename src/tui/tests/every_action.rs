//! Every action (`Action::ALL`, complete by construction) wherever keys can go, alone and
//! followed by every other, with the state checked after each step: the cursor in range and on
//! its node, the cached rows equal to fresh ones, the focus on a pane that exists, the popup
//! consistent with what runs, every scroll within its text.

use std::sync::OnceLock;

use crossterm::event::KeyCode;
use gpvault::ops::{GpoSelection, PlanDescription};

use super::*;
use crate::tui::action::{Action, PlanId};
use crate::tui::confirm::OnYes;
use crate::tui::panes::migtable::MigtablePane;
use crate::tui::panes::{PANES, backups, details, migtable, status, tree};
use crate::tui::popup::Popup;
use crate::tui::state::{Focus, PasswordSource};

/// The core's plan for Back Up All of the fake domain, made once.
fn plan_all() -> PlanDescription {
    static PLAN: OnceLock<PlanDescription> = OnceLock::new();
    PLAN.get_or_init(|| FakeDomain::new().describe_backup(&GpoSelection::All, std::path::Path::new("/srv/backups")))
        .clone()
}

fn answer(state: &mut AppState, effects: &[Effect]) {
    let [Effect::PlanBackup { plan, .. }] = effects else { panic!("{effects:?}") };
    update(state, Msg::Job(JobEvent::Planned { plan: *plan, result: Ok(plan_all()) }));
}

fn backup_form() -> AppState {
    let mut state = connected_state();
    go_to(&mut state, |k| matches!(k, NodeKey::GpoFolder(_)));
    press(&mut state, KeyCode::Char('B'));
    state
}

fn plan_being_made() -> AppState {
    let mut state = backup_form();
    press(&mut state, KeyCode::Enter);
    state
}

fn plan_shown() -> AppState {
    let mut state = backup_form();
    let effects = press(&mut state, KeyCode::Enter);
    answer(&mut state, &effects);
    state
}

fn running() -> AppState {
    let mut state = plan_shown();
    press(&mut state, KeyCode::Char('y'));
    update(&mut state, Msg::Job(JobEvent::Run(gpvault::ops::ProgressEvent::Planned { total: 5 })));
    state
}

fn run_in_status() -> AppState {
    let mut state = running();
    state.focused = status::ID;
    state
}

fn password_form() -> AppState {
    let mut state = fresh_state();
    state.domains[1].password_source = PasswordSource::Ask;
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Enter);
    state
}

fn quit_question() -> AppState {
    let mut state = running();
    press(&mut state, KeyCode::Char('q'));
    state
}

fn cancel_question() -> AppState {
    let mut state = running();
    press(&mut state, KeyCode::Esc);
    state
}

fn filter_line() -> AppState {
    let mut state = connected_state();
    press(&mut state, KeyCode::Char('/'));
    type_text(&mut state, "de");
    state
}

fn filter_kept() -> AppState {
    let mut state = filter_line();
    press(&mut state, KeyCode::Enter);
    state
}

fn help() -> AppState {
    let mut state = connected_state();
    press(&mut state, KeyCode::Char('?'));
    state
}

/// Answers the backup list's listing and details with what the core made once (see `ready`).
fn answer_backup_jobs(state: &mut AppState, effects: Vec<Effect>) {
    let ready = super::backups::ready();
    for effect in effects {
        let event = match effect {
            Effect::ListBackups { request, deleted_from, .. } => {
                let listed = if deleted_from.is_some() { &ready.deleted } else { &ready.listed };
                JobEvent::BackupsListed { request, result: Ok(Box::new(listed.clone())) }
            }
            Effect::ShowBackup { dir, backup_id } => {
                let result = ready.sections.get(&backup_id).cloned().ok_or_else(|| "not read in this test".to_string());
                JobEvent::BackupShown { dir, backup_id, result }
            }
            _ => continue,
        };
        let more = update(state, Msg::Job(event));
        answer_backup_jobs(state, more);
    }
}

/// The backup list of the stand-in folder, the cursor on the second row with its details.
fn backup_list() -> AppState {
    let mut state = connected_state();
    let effects = press(&mut state, KeyCode::Tab);
    answer_backup_jobs(&mut state, effects);
    press(&mut state, KeyCode::Char('j'));
    let effects = update(&mut state, Msg::Tick(at(300)));
    answer_backup_jobs(&mut state, effects);
    state
}

fn backup_details() -> AppState {
    let mut state = backup_list();
    press(&mut state, KeyCode::Enter);
    state
}

fn backups_compared() -> AppState {
    let mut state = backup_list();
    press(&mut state, KeyCode::Char('m'));
    press(&mut state, KeyCode::Char('k'));
    let effects = press(&mut state, KeyCode::Char('c'));
    let [Effect::DiffBackups { dir, old, new }] = effects.as_slice() else { panic!("{effects:?}") };
    let lines = vec![format!("--- backup {old}"), format!("+++ backup {new}"), "- Files: audit.csv".into()];
    let event = JobEvent::BackupsDiffed { dir: dir.clone(), old: old.clone(), new: new.clone(), result: Ok(lines) };
    update(&mut state, Msg::Job(event));
    state
}

fn deleted_view() -> AppState {
    let mut state = super::backups::connected_to(super::backups::idl_estate());
    let effects = press(&mut state, KeyCode::Tab);
    answer_backup_jobs(&mut state, effects);
    let effects = press(&mut state, KeyCode::Char('D'));
    answer_backup_jobs(&mut state, effects);
    state
}

fn backups_filtering() -> AppState {
    let mut state = backup_list();
    press(&mut state, KeyCode::Char('/'));
    type_text(&mut state, "stig");
    state
}

fn backups_filter_kept() -> AppState {
    let mut state = backups_filtering();
    press(&mut state, KeyCode::Enter);
    state
}

fn folder_form() -> AppState {
    let mut state = backup_list();
    press(&mut state, KeyCode::Char('o'));
    state
}

fn prune_form() -> AppState {
    let mut state = backup_list();
    press(&mut state, KeyCode::Char('p'));
    state
}

fn delete_plan_shown() -> AppState {
    let mut state = backup_list();
    let effects = press(&mut state, KeyCode::Char('d'));
    let [Effect::PlanFor { plan, .. }] = effects.as_slice() else { panic!("{effects:?}") };
    let description = super::backups::ready().delete_plan.clone();
    update(&mut state, Msg::Job(JobEvent::Planned { plan: *plan, result: Ok(description) }));
    state
}

fn deleting() -> AppState {
    let mut state = delete_plan_shown();
    press(&mut state, KeyCode::Char('y'));
    update(&mut state, Msg::Job(JobEvent::Run(gpvault::ops::ProgressEvent::Planned { total: 1 })));
    state
}

type Start = (String, Box<dyn Fn() -> AppState>);
type Make = fn() -> AppState;

/// Every place keys can go, and then some: each pane of the list (found from the list, so a new
/// pane is covered without touching this file), a run in progress, and every overlay.
fn starting_points() -> Vec<Start> {
    let mut points: Vec<Start> = vec![("nothing connected".into(), Box::new(fresh_state))];
    for spec in PANES {
        let focus_there = move || {
            let mut state = connected_state();
            go_to(&mut state, |k| matches!(k, NodeKey::Gpo(_, g) if *g == id(DDP)));
            state.focused = spec.id;
            state
        };
        points.push((format!("pane {}", spec.id.0), Box::new(focus_there)));
    }
    let more: [(&str, Make); 37] = [
        ("paste wizard, permissions", super::wizards::paste_permissions),
        ("paste wizard, table", super::wizards::paste_table),
        ("paste wizard, name", super::wizards::paste_name),
        ("import wizard, backup", super::wizards::import_backup_step),
        ("import wizard, target", super::wizards::import_target_step),
        ("health view with findings", super::health::with_findings),
        ("health view with hits", super::health::with_hits),
        ("search prompt", super::health::search_prompt),
        ("editor with rows", super::migtable::with_rows),
        ("editor, a cell edited", super::migtable::editing_a_cell),
        ("editor, type list", super::migtable::type_list),
        ("editor, domain list", super::migtable::domain_list),
        ("editor, delete question", super::migtable::delete_question),
        ("editor, unsaved question", super::migtable::unsaved_question),
        ("editor, filtering", super::migtable::filtering),
        ("editor, open prompt", super::migtable::open_prompt),
        ("backup list, filtering", backups_filtering),
        ("backup list, filter kept", backups_filter_kept),
        ("backup list", backup_list),
        ("backup list, keys in the details", backup_details),
        ("backup list, two compared", backups_compared),
        ("backup list, deleted view", deleted_view),
        ("backup list, folder form", folder_form),
        ("backup list, prune form", prune_form),
        ("backup list, delete plan shown", delete_plan_shown),
        ("backup list, deleting", deleting),
        ("a run, in the tree", running),
        ("a run, in the status", run_in_status),
        ("backup form", backup_form),
        ("password form", password_form),
        ("plan being made", plan_being_made),
        ("plan shown", plan_shown),
        ("quit question", quit_question),
        ("cancel question", cancel_question),
        ("help", help),
        ("filter line", filter_line),
        ("filter kept", filter_kept),
    ];
    points.extend(more.into_iter().map(|(name, make)| (name.to_string(), Box::new(make) as Box<dyn Fn() -> AppState>)));
    points
}

fn check(state: &AppState, effects: &[Effect], what: &str) {
    // The tree: rows as fresh ones would be, the cursor on one of them and in view.
    let tree = state.tree();
    let fresh = tree.fresh_rows(&state.domains);
    assert_eq!(tree.rows(), fresh.as_slice(), "{what}: cached rows are stale");
    if fresh.is_empty() {
        assert_eq!(tree.cursor, 0, "{what}");
    } else {
        assert!(tree.cursor < fresh.len(), "{what}: cursor {} of {}", tree.cursor, fresh.len());
        assert_eq!(tree.cursor_key(), Some(&fresh[tree.cursor].key), "{what}: cursor key");
        let (page, _) = state.pane_size(tree::ID);
        assert!(tree.offset <= tree.cursor && tree.cursor < tree.offset + page, "{what}: cursor out of view");
    }
    // The focus: a pane of the list, and what keys reach matches what is open.
    assert!(state.panes.contains(state.focused), "{what}: focus on a pane that is not there");
    let expected = match (&state.help, &state.popup) {
        (Some(_), _) => Focus::Help,
        (None, Some(Popup::Backup(_) | Popup::Password(_) | Popup::Prompt(_) | Popup::Wizard(_))) => Focus::Form,
        (None, Some(Popup::Confirm(_))) => Focus::Confirm,
        (None, None) if super::migtable::pane(state).edit.is_some() && state.focused == migtable::ID => Focus::Edit,
        (None, None) if super::migtable::pane(state).choice.is_some() && state.focused == migtable::ID => Focus::Choose,
        (None, None) if state.panes.get(state.focused).and_then(|p| p.filter()).is_some_and(|f| f.editing()) => {
            Focus::Filter
        }
        (None, None) => Focus::Pane(state.focused),
    };
    assert_eq!(state.focus(), expected, "{what}");
    // A question about the run only while it runs; a plan's question names a plan asked for.
    if let Some(Popup::Confirm(question)) = &state.popup {
        match &question.on_yes {
            OnYes::Quit => assert!(
                state.status().running() || crate::tui::update::unsaved(state).is_some(),
                "{what}: asks about no run and nothing unsaved"
            ),
            OnYes::CancelRun => assert!(state.status().running(), "{what}: asks about no run"),
            OnYes::Pane(id) => {
                let editor = state.panes.get(*id).and_then(|p| p.as_any().downcast_ref::<MigtablePane>());
                assert!(editor.is_some_and(|e| e.question.is_some()), "{what}: the pane asked nothing");
            }
            OnYes::Run(run) => {
                assert!(run.plan.0 >= 1 && run.plan.0 <= state.last_plan, "{what}: unknown plan {:?}", run.plan);
                assert!(question.plan.is_some() || !question.waiting.is_empty(), "{what}: says nothing");
            }
        }
        let lines = question.lines(&Theme::plain(), 1, "").len();
        assert!((question.scroll as usize) <= lines, "{what}: question scrolled past its end");
    }
    // A run started only with a yes, and then it runs, with its own cancel flag.
    for effect in effects {
        if let Effect::ExecutePlan { options, .. } = effect {
            let run = state.status().run().expect("a run for the executed plan");
            assert!(run.finished.is_none(), "{what}");
            options.cancel.cancel();
            assert!(run.cancel.is_cancelled(), "{what}: the state holds the run's own flag");
        }
    }
    // Every scroll within its text.
    let theme = Theme::plain();
    let ctx = state.context(details::ID, &theme);
    let details_lines = ctx.selected.map_or(0, |row| state.details().lines_for(&ctx, row).len());
    assert!((state.details().scroll as usize) < details_lines.max(1), "{what}: details scrolled past the end");
    // The backup list: the cursor on a row and in its window, the mark on a row, the details
    // scrolled within their text, a comparison beside its newer backup.
    let list = super::backups::pane(state);
    if list.len() == 0 {
        assert_eq!((list.cursor, list.offset), (0, 0), "{what}");
        assert!(!list.in_details, "{what}: details of nothing");
    } else {
        let page = list.page(&state.context(backups::ID, &theme));
        assert!(list.cursor < list.len(), "{what}: backup cursor {} of {}", list.cursor, list.len());
        assert!(
            list.offset <= list.cursor && list.cursor < list.offset + page.max(1),
            "{what}: backup cursor out of view"
        );
    }
    if let Some(marked) = &list.marked {
        assert!(list.rows().iter().any(|r| &r.backup_id == marked), "{what}: marks a backup not listed");
    }
    if let Some(compared) = &list.compared {
        assert_eq!(
            list.selected().map(|r| &r.backup_id),
            Some(&compared.new),
            "{what}: comparison away from its backup"
        );
    }
    let detail_lines = list.detail_lines(&theme, "").len();
    assert_eq!(list.detail_count(), detail_lines, "{what}: the details' count is their length");
    assert!((list.details_scroll as usize) < detail_lines.max(1), "{what}: backup details scrolled past the end");
    let status_lines = state.status().lines(&state.context(status::ID, &theme), true).len();
    assert!((state.status().scroll as usize) < status_lines.max(1), "{what}: status scrolled past the end");
    // The migration-table editor: the cursor on a row and in its window, an edit on a row that
    // exists, a question only while its popup is up.
    let editor = super::migtable::pane(state);
    if editor.len() == 0 {
        assert_eq!((editor.cursor, editor.offset), (0, 0), "{what}");
    } else {
        assert!(editor.cursor < editor.len(), "{what}: editor cursor {} of {}", editor.cursor, editor.len());
        assert!(editor.offset <= editor.cursor, "{what}: editor cursor above its window");
    }
    if let Some(edit) = &editor.edit {
        assert!(edit.row < editor.table().len(), "{what}: editing row {} of {}", edit.row, editor.table().len());
    }
    let asking = matches!(&state.popup, Some(Popup::Confirm(q)) if q.on_yes == OnYes::Pane(migtable::ID));
    assert_eq!(editor.question.is_some(), asking, "{what}: the editor's question and its popup");
    // A wizard: on one of its steps, its list cursor on a choice.
    if let Some(Popup::Wizard(wizard)) = &state.popup {
        assert!(wizard.at < wizard.steps.len(), "{what}: wizard past its last step");
        // The pick stays the wizard's choice of backup (or target GPO) on the later steps.
        let len = wizard.backups.len().max(wizard.targets.len());
        assert!(wizard.pick < len.max(1), "{what}: wizard cursor {} of {len}", wizard.pick);
        assert!(
            !wizard.exclusive || wizard.table != crate::tui::wizard::TableSource::None,
            "{what}: exclusive without a table"
        );
    }
    if let Some(help) = &state.help {
        let sections = crate::tui::keymap::help_sections(state.panes.specs());
        let lines = sections.iter().map(|(_, rows)| rows.len() + 2).sum::<usize>() - 1;
        let max = crate::tui::state::HelpState::max_scroll(lines, state.size.1);
        assert!(help.scroll <= max, "{what}: help scrolled past its end");
        assert_eq!(lines, crate::tui::view::help_lines(state, &Theme::plain()).len(), "{what}: the help's length");
    }
}

#[test]
fn every_action_everywhere_leaves_a_consistent_state() {
    let points = starting_points();
    let focuses: Vec<Focus> = points.iter().map(|(_, make)| make().focus()).collect();
    for wanted in PANES.iter().map(|p| Focus::Pane(p.id)).chain([
        Focus::Filter,
        Focus::Form,
        Focus::Edit,
        Focus::Choose,
        Focus::Confirm,
        Focus::Help,
    ]) {
        assert!(focuses.contains(&wanted), "no starting point where keys go to {wanted:?}");
    }
    for (name, make) in &points {
        for first in Action::ALL {
            let mut state = make();
            let effects = update(&mut state, Msg::Action(*first));
            let what = format!("{name}, then {first:?}");
            check(&state, &effects, &what);
            render(&state, 80, 24);
            render(&state, 20, 5);
            for second in Action::ALL {
                let mut state = make();
                update(&mut state, Msg::Action(*first));
                let effects = update(&mut state, Msg::Action(*second));
                check(&state, &effects, &format!("{what}, then {second:?}"));
            }
        }
    }
}

#[test]
fn a_plan_id_is_never_reused() {
    let mut state = plan_being_made();
    press(&mut state, KeyCode::Esc);
    press(&mut state, KeyCode::Char('B'));
    let effects = press(&mut state, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::PlanBackup { plan: PlanId(2), .. }]), "{effects:?}");
}
