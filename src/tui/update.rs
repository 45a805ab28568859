//! `update`: the only place the state changes. It returns effects for the job runner and never
//! blocks, touches the network, the terminal, the environment or the clock.
//!
//! Keys for the focused pane go to the pane (`Pane::handle`); what a pane cannot do alone
//! (connect a domain, show a GPO in the details) comes back as a `Request`. Commands that act on
//! the selection (back up, refresh), moving between panes, popups and job results are handled
//! here.

use std::sync::Arc;

use gpvault::config::Password;
use gpvault::ops::backup::DEFAULT_PARALLELISM;
use gpvault::ops::{GpoSelection, PlanDescription, RunOptions};
use ratatui_textarea::Input;

use super::action::{Action, Effect, JobEvent, Msg, PlanAsk, PlanId, Secret};
use super::confirm::{Confirmation, OnYes, PendingRun};
use super::filter::FilterEdit;
use super::keymap::{self, key_for};
use super::panes::backups::{self, BackupsPane};
use super::panes::details::{self, DetailsPane};
use super::panes::health::{self, HealthPane};
use super::panes::migtable::{self, MigtablePane};
use super::panes::status::{BackupRun, Level, RunKind};
use super::panes::tree::{self, NodeKey, SPINNER};
use super::panes::{ConfirmPlan, Context, Pane, PaneId, Prompt, Request, SearchScope};
use super::popup::{BackupForm, BackupScope, PasswordForm, Popup, PromptForm, paste_into, resolve_folder, type_into};
use super::state::{AppState, CopiedGpo, Focus, HelpState, PasswordSource, Phase};
use super::theme::Theme;
use super::wizard::{BackupChoice, TargetChoice, Wizard, WizardKind};
use gpvault::model::GpoId;

pub fn update(state: &mut AppState, msg: Msg) -> Vec<Effect> {
    let before = state.tree().cursor_key().cloned();
    let mut effects = match msg {
        Msg::Action(action) => on_action(state, action),
        Msg::Typed(input) => {
            on_typed(state, input);
            Vec::new()
        }
        Msg::Paste(text) => {
            on_paste(state, &text);
            Vec::new()
        }
        Msg::Resize(width, height) => {
            state.size = (width, height);
            Vec::new()
        }
        Msg::Tick(now) => {
            state.clock = now;
            each_pane(state, |pane, ctx| pane.tick(ctx))
        }
        Msg::Job(event) => on_job(state, event),
    };
    // Rows appear and disappear (a domain connects, a node folds): the tree rebuilds them if so
    // and keeps its cursor on its node. Progress events, typing and ticks change nothing there.
    state.sync_tree();
    if state.tree().cursor_key() != before.as_ref() {
        each_pane(state, |pane, ctx| {
            pane.selection_changed(ctx);
            Vec::new()
        });
    }
    // The backup list's first visit lists the folder the app remembers.
    if state.focused == backups::ID {
        let remembered = state.last_backup_dir.clone();
        effects.extend(with_backups(state, |pane, ctx| pane.first_visit(remembered.as_deref(), ctx)).flatten());
    }
    effects
}

/// Runs `f` on pane `id` with the context it may read.
fn with_pane<R>(state: &mut AppState, id: PaneId, f: impl FnOnce(&mut dyn Pane, &Context) -> R) -> Option<R> {
    let (page, width) = state.pane_size(id);
    // A copy: the row lives in the tree, which may be the pane being changed.
    let selected = state.selected().cloned();
    let theme = Theme::plain();
    let ctx = Context {
        domains: &state.domains,
        selected: selected.as_ref(),
        clock: state.clock,
        spinner: SPINNER[state.spinner_frame()],
        theme: &theme,
        page,
        width,
        number: state.panes.number_of(id),
        selected_backup: state.panes.find::<BackupsPane>().and_then(BackupsPane::selection),
        backup_folder: open_backup_folder(state),
    };
    let pane = state.panes.get_mut(id)?;
    Some(f(pane, &ctx))
}

/// The folder the backup list has open.
fn open_backup_folder(state: &AppState) -> Option<std::path::PathBuf> {
    state.panes.find::<BackupsPane>().and_then(|p| p.folder().map(std::path::Path::to_path_buf))
}

fn each_pane(state: &mut AppState, f: impl Fn(&mut dyn Pane, &Context) -> Vec<Effect>) -> Vec<Effect> {
    let ids: Vec<PaneId> = state.panes.ids().collect();
    ids.into_iter().flat_map(|id| with_pane(state, id, &f).unwrap_or_default()).collect()
}

fn with_details<R>(state: &mut AppState, f: impl FnOnce(&mut DetailsPane, &Context) -> R) -> Option<R> {
    with_pane(state, details::ID, |pane, ctx| pane.as_any_mut().downcast_mut::<DetailsPane>().map(|d| f(d, ctx)))
        .flatten()
}

fn with_backups<R>(state: &mut AppState, f: impl FnOnce(&mut BackupsPane, &Context) -> R) -> Option<R> {
    with_pane(state, backups::ID, |pane, ctx| pane.as_any_mut().downcast_mut::<BackupsPane>().map(|b| f(b, ctx)))
        .flatten()
}

fn with_health<R>(state: &mut AppState, f: impl FnOnce(&mut HealthPane, &Context) -> R) -> Option<R> {
    with_pane(state, health::ID, |pane, ctx| pane.as_any_mut().downcast_mut::<HealthPane>().map(|h| f(h, ctx)))
        .flatten()
}

fn with_migtable<R>(state: &mut AppState, f: impl FnOnce(&mut MigtablePane, &Context) -> R) -> Option<R> {
    with_pane(state, migtable::ID, |pane, ctx| pane.as_any_mut().downcast_mut::<MigtablePane>().map(|m| f(m, ctx)))
        .flatten()
}

/// Hands a pane's requests to the app.
fn requested(state: &mut AppState, requests: Vec<Request>) -> Vec<Effect> {
    requests.into_iter().flat_map(|request| on_request(state, request)).collect()
}

fn on_action(state: &mut AppState, action: Action) -> Vec<Effect> {
    if let Some(help) = &mut state.help {
        let page = state.size.1.saturating_sub(4).max(1);
        // The help's own length bounds its scrolling, so going back up starts at once.
        let sections = keymap::help_sections(state.panes.specs());
        let lines = sections.iter().map(|(_, rows)| rows.len() + 2).sum::<usize>().saturating_sub(1);
        let max = HelpState::max_scroll(lines, state.size.1);
        match action {
            Action::Up => help.scroll = help.scroll.saturating_sub(1),
            Action::Down => help.scroll = help.scroll.saturating_add(1).min(max),
            Action::PageUp => help.scroll = help.scroll.saturating_sub(page),
            Action::PageDown => help.scroll = help.scroll.saturating_add(page).min(max),
            Action::Back | Action::Help | Action::Cancel | Action::CancelRun => state.help = None,
            Action::Quit => return request_quit(state),
            _ => {}
        }
        return Vec::new();
    }
    if state.popup.is_some() {
        return on_popup_action(state, action);
    }
    if state.focus() == Focus::Filter {
        let edit = match action {
            Action::Quit => return request_quit(state),
            Action::Confirm => FilterEdit::Keep,
            Action::Cancel => FilterEdit::Clear,
            Action::NextMatch => FilterEdit::Next,
            Action::PrevMatch => FilterEdit::Prev,
            _ => return Vec::new(),
        };
        edit_filter(state, edit);
        return Vec::new();
    }
    if matches!(state.focus(), Focus::Edit | Focus::Choose) {
        // A field or a list inside the pane has the keys: they are its business, but for quitting.
        if action == Action::Quit {
            return request_quit(state);
        }
        let focused = state.focused;
        let requests = with_pane(state, focused, |pane, ctx| pane.handle(action, ctx)).unwrap_or_default();
        return requested(state, requests);
    }
    match action {
        Action::Quit => request_quit(state),
        Action::Back => back(state),
        Action::Filter => {
            edit_filter(state, FilterEdit::Open);
            Vec::new()
        }
        Action::NextMatch | Action::PrevMatch => {
            edit_filter(state, if action == Action::NextMatch { FilterEdit::Next } else { FilterEdit::Prev });
            Vec::new()
        }
        Action::Focus1 | Action::Focus2 | Action::Focus3 | Action::Focus4 => {
            let wanted = action.focus_number().and_then(|n| state.panes.numbered().nth(n)).map(|s| s.id);
            if let Some(id) = wanted {
                state.focused = id;
            }
            Vec::new()
        }
        Action::CancelRun => {
            if filter_active(state) {
                edit_filter(state, FilterEdit::Clear);
                Vec::new()
            } else if state.status().running() {
                ask_to_cancel(state);
                Vec::new()
            } else {
                back(state)
            }
        }
        Action::Help => {
            state.help = Some(HelpState::default());
            Vec::new()
        }
        Action::NextPane | Action::PrevPane => {
            let order: Vec<PaneId> = state.panes.ids().collect();
            let at = order.iter().position(|id| *id == state.focused).unwrap_or(0);
            let step = if action == Action::NextPane { 1 } else { order.len() - 1 };
            state.focused = order[(at + step) % order.len()];
            Vec::new()
        }
        Action::BackUp => {
            open_backup(state, false);
            Vec::new()
        }
        Action::BackUpAll => {
            open_backup(state, true);
            Vec::new()
        }
        // In the backup list, r reads the folder again; the domain is the tree's business.
        Action::Refresh if state.focused == backups::ID => {
            with_backups(state, |pane, ctx| pane.reload(ctx)).flatten().into_iter().collect()
        }
        Action::Refresh => refresh(state),
        // The tree's commands that reach into other panes (the backup list, the editor).
        Action::ImportSettings if state.focused == backups::ID => {
            import_from_backup(state);
            Vec::new()
        }
        Action::CopyGpo | Action::PasteGpo | Action::ImportSettings | Action::RestoreLatest | Action::DiffLatest
            if state.focused != tree::ID =>
        {
            Vec::new()
        }
        Action::CopyGpo => {
            copy_gpo(state);
            Vec::new()
        }
        Action::PasteGpo => {
            paste_gpo(state);
            Vec::new()
        }
        Action::ImportSettings => {
            import_into_gpo(state);
            Vec::new()
        }
        Action::ShowHealth => {
            if state.panes.contains(health::ID) {
                state.focused = health::ID;
            }
            Vec::new()
        }
        // From the backup list, its folder's backups; from anywhere else, the tree's domain.
        Action::SearchSettings if state.focused == backups::ID && open_backup_folder(state).is_some() => {
            let dir = open_backup_folder(state).unwrap_or_default();
            on_request(state, Request::Prompt(Prompt::Search(SearchScope::Backups(dir))))
        }
        Action::SearchSettings => match with_health(state, |_, ctx| health::connected_domain(ctx)) {
            Some(Ok((domain, _))) => on_request(state, Request::Prompt(Prompt::Search(SearchScope::Domain(domain)))),
            Some(Err(why)) => {
                state.status_mut().note(Level::Warning, format!("Search: {why}"));
                Vec::new()
            }
            None => Vec::new(),
        },
        Action::RestoreLatest => restore_latest(state),
        Action::DiffLatest => diff_latest(state),
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom
        | Action::Collapse
        | Action::Expand
        | Action::Toggle
        | Action::Inspect
        | Action::OpenFolder
        | Action::LatestOnly
        | Action::DeletedGpos
        | Action::DeleteBackup
        | Action::VerifyBackups
        | Action::PruneBackups
        | Action::MarkBackup
        | Action::CompareBackups
        | Action::RestoreBackup
        | Action::EditCell
        | Action::PrevColumn
        | Action::NextColumn
        | Action::AddRow
        | Action::DeleteRow
        | Action::PickType
        | Action::PickForm
        | Action::OpenTable
        | Action::NewTable
        | Action::SaveTable
        | Action::SaveTableAs
        | Action::PopulateFromGpo
        | Action::PopulateFromBackup
        | Action::ValidateTable
        | Action::CheckHealth
        | Action::JumpToGpo => {
            let focused = state.focused;
            let requests = with_pane(state, focused, |pane, ctx| pane.handle(action, ctx)).unwrap_or_default();
            requested(state, requests)
        }
        Action::Confirm | Action::Cancel | Action::NextField | Action::PrevField => Vec::new(),
    }
}

/// Whether the focused pane shows a filtered list.
fn filter_active(state: &AppState) -> bool {
    state.panes.get(state.focused).and_then(|p| p.filter()).is_some_and(|f| f.is_active())
}

/// A filter key for the focused pane; a pane without a list filter ignores it.
fn edit_filter(state: &mut AppState, edit: FilterEdit) {
    let focused = state.focused;
    with_pane(state, focused, |pane, ctx| {
        if pane.filter().is_some() {
            pane.filter_edit(edit, ctx);
        }
    });
}

fn on_request(state: &mut AppState, request: Request) -> Vec<Effect> {
    match request {
        Request::Connect(d) => connect(state, d),
        Request::ShowGpo(d, id) => {
            if state.panes.contains(details::ID) {
                state.focused = details::ID;
            }
            with_details(state, |details, ctx| details.show_now(d, id, ctx)).flatten().into_iter().collect()
        }
        Request::ShowInTree(d, id) => {
            show_in_tree(state, d, id);
            Vec::new()
        }
        Request::ShowBackup(backup_id) => {
            match with_backups(state, |backups, ctx| backups.select_backup(&backup_id, ctx)) {
                Some(true) => state.focused = backups::ID,
                Some(false) => {
                    let text = format!(
                        "Backup {backup_id} is not in the backup list as it shows now (another folder, or the latest-only or deleted view hides it)"
                    );
                    state.status_mut().note(Level::Warning, text);
                }
                None => state.status_mut().note(Level::Warning, "There is no backup list to show it in"),
            }
            Vec::new()
        }
        Request::Read(effect) => vec![effect],
        Request::Note(level, text) => {
            state.status_mut().note(level, text);
            Vec::new()
        }
        Request::Prompt(prompt) => {
            let prefill = match &prompt {
                Prompt::Folder(Some(dir)) => dir.display().to_string(),
                Prompt::Folder(None) => {
                    state.last_backup_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default()
                }
                Prompt::PruneKeep(_) | Prompt::Search(_) => String::new(),
                Prompt::OpenTable(Some(path)) | Prompt::SaveTableAs(Some(path)) => path.display().to_string(),
                Prompt::OpenTable(None) => {
                    state.last_migtable.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
                }
                // A new table goes beside the last one by default.
                Prompt::SaveTableAs(None) => state
                    .last_migtable
                    .as_ref()
                    .and_then(|p| p.parent())
                    .map(|folder| format!("{}/", folder.display()))
                    .unwrap_or_default(),
            };
            state.popup = Some(Popup::Prompt(Box::new(PromptForm::new(prompt, &prefill))));
            Vec::new()
        }
        Request::Confirm(plan) => ask_for_plan(state, *plan),
        Request::Ask { pane, title, question } => {
            state.popup = Some(Popup::Confirm(Box::new(Confirmation::ready(title, question, OnYes::Pane(pane)))));
            Vec::new()
        }
        Request::GoHome => {
            state.focused = state.panes.home();
            Vec::new()
        }
    }
}

/// Asks the core for a plan about a backup folder and shows it as it comes; one run at a time.
fn ask_for_plan(state: &mut AppState, plan: ConfirmPlan) -> Vec<Effect> {
    if let Some(run) = state.status().run().filter(|r| r.finished.is_none()) {
        let text = format!("{}: wait for the running {} to finish", plan.what, run.what);
        state.status_mut().note(Level::Warning, text);
        return Vec::new();
    }
    state.last_plan += 1;
    let id = PlanId(state.last_plan);
    let ConfirmPlan { ask, title, what, waiting, domain, dir, kind } = plan;
    let pending = PendingRun { plan: id, kind, what, domain, dir };
    state.popup = Some(Popup::Confirm(Box::new(Confirmation::waiting(title, waiting, OnYes::Run(pending)))));
    vec![Effect::PlanFor { plan: id, ask }]
}

/// The one-line form is filled in: a folder to list, or how many backups a prune keeps.
fn answer_prompt(state: &mut AppState) -> Vec<Effect> {
    let Some(Popup::Prompt(form)) = state.popup.as_mut() else { return Vec::new() };
    let text = form.text();
    match form.prompt.clone() {
        Prompt::Folder(_) => {
            if text.is_empty() {
                form.error = Some("Type the folder of the backups".into());
                return Vec::new();
            }
            let dir = resolve_folder(&text, state.home.as_deref(), state.cwd.as_deref());
            state.popup = None;
            state.focused = backups::ID;
            with_backups(state, |pane, ctx| pane.open(dir, ctx)).into_iter().collect()
        }
        prompt @ (Prompt::OpenTable(_) | Prompt::SaveTableAs(_)) => {
            if text.is_empty() {
                form.error = Some("Type the path of the .migtable file".into());
                return Vec::new();
            }
            let path = resolve_folder(&text, state.home.as_deref(), state.cwd.as_deref());
            if path.is_dir() {
                form.error = Some(format!("{} is a folder: name the file in it", path.display()));
                return Vec::new();
            }
            state.popup = None;
            let requests = with_migtable(state, |pane, _| match prompt {
                Prompt::OpenTable(_) => pane.open(path),
                _ => pane.save_as(path),
            })
            .unwrap_or_default();
            requested(state, requests)
        }
        Prompt::Search(scope) => {
            if text.is_empty() {
                form.error = Some("Type a registry key or value, a principal or a UNC path".into());
                return Vec::new();
            }
            let name = match &scope {
                SearchScope::Domain(domain) => {
                    state.domains.get(*domain).and_then(|d| d.dns_name()).unwrap_or_default().to_string()
                }
                SearchScope::Backups(dir) => dir.display().to_string(),
            };
            state.popup = None;
            if state.panes.contains(health::ID) {
                state.focused = health::ID;
            }
            let requests = with_health(state, |pane, _| pane.start_search(scope, name, text)).unwrap_or_default();
            requested(state, requests)
        }
        Prompt::PruneKeep(dir) => match text.parse::<usize>() {
            Ok(keep) if keep >= 1 => {
                state.popup = None;
                ask_for_plan(state, backups::prune_plan(dir, keep))
            }
            _ => {
                form.error = Some("Type a whole number, 1 or more".into());
                Vec::new()
            }
        },
    }
}

/// The tree's cursor on GPO `id` of domain `d`, its folders unfolded; the tree gets the focus.
fn show_in_tree(state: &mut AppState, d: usize, id: GpoId) {
    state.tree_mut().unfold(NodeKey::Domain(d));
    state.tree_mut().unfold(NodeKey::GpoFolder(d));
    state.sync_tree();
    let (page, _) = state.pane_size(tree::ID);
    if state.tree_mut().select_key(&NodeKey::Gpo(d, id), page) {
        state.focused = tree::ID;
    } else {
        let text = format!("GPO {id} is not in the tree (no longer in the domain, or the tree's filter hides it)");
        state.status_mut().note(Level::Warning, text);
    }
}

/// Out of what the pane has open (its details), else back to the first pane; from there, quit.
fn back(state: &mut AppState) -> Vec<Effect> {
    let home = state.panes.home();
    let focused = state.focused;
    if with_pane(state, focused, |pane, _| pane.back_out()).unwrap_or(false) {
        return Vec::new();
    }
    // Leaving would lose something (unsaved changes): the pane asks first.
    if let Some(request) = with_pane(state, focused, |pane, ctx| pane.leaving(ctx)).flatten() {
        return on_request(state, request);
    }
    if state.focused == home {
        request_quit(state)
    } else {
        state.focused = home;
        Vec::new()
    }
}

fn request_quit(state: &mut AppState) -> Vec<Effect> {
    let asking = matches!(&state.popup, Some(Popup::Confirm(q)) if q.on_yes == OnYes::Quit);
    match state.status().run() {
        Some(run) if run.finished.is_none() && !asking => {
            let total = run.total().map(|t| t.to_string()).unwrap_or_else(|| "?".into());
            let mut notes = vec!["Quit and abandon it? What is done stays done.".to_string()];
            notes.extend(unsaved(state).map(|what| format!("{what}: they are lost too.")));
            let question = PlanDescription {
                title: format!("{} is running ({} of {total} done).", run.what, run.done()),
                changes: Vec::new(),
                notes,
            };
            state.popup = Some(Popup::Confirm(Box::new(Confirmation::ready(" Quit? ", question, OnYes::Quit))));
            state.help = None;
            Vec::new()
        }
        _ if !asking => match unsaved(state) {
            Some(what) => {
                let question = PlanDescription {
                    title: format!("{what}."),
                    changes: Vec::new(),
                    notes: vec!["Quit and lose them?".into()],
                };
                state.popup = Some(Popup::Confirm(Box::new(Confirmation::ready(" Quit? ", question, OnYes::Quit))));
                state.help = None;
                Vec::new()
            }
            None => vec![Effect::Quit],
        },
        _ => vec![Effect::Quit],
    }
}

/// What quitting would lose, said by the pane that holds it.
pub fn unsaved(state: &AppState) -> Option<String> {
    state.panes.iter().find_map(|(_, pane)| pane.unsaved())
}

fn ask_to_cancel(state: &mut AppState) {
    let Some(run) = state.status().run() else { return };
    if run.cancel.is_cancelled() {
        state.status_mut().note(Level::Info, "Cancelling: waiting for the GPOs in flight to finish");
        return;
    }
    let total = run.total().map(|t| t.to_string()).unwrap_or_else(|| "?".into());
    let question = PlanDescription {
        title: format!("Cancel {}? GPOs in flight finish, nothing new starts.", run.kind.noun()),
        changes: Vec::new(),
        notes: vec![format!("{} of {total} done so far; what is written stays.", run.done())],
    };
    state.popup = Some(Popup::Confirm(Box::new(Confirmation::ready(" Cancel? ", question, OnYes::CancelRun))));
}

// ---------------------------------------------------------------------------------------------
// Connecting

/// The first effects: the domain chosen on the command line (or the config's only or default
/// profile) connects at once, and the cursor waits on it to land on its GPOs.
pub fn open(state: &mut AppState, chosen: Option<usize>) -> Vec<Effect> {
    let Some(d) = chosen.filter(|d| *d < state.domains.len()) else { return Vec::new() };
    let (page, _) = state.pane_size(super::panes::tree::ID);
    state.tree_mut().select_key(&NodeKey::Domain(d), page);
    if state.domains[d].target.is_err() {
        // Its reason shows under it, unfolded.
        state.tree_mut().unfold(NodeKey::Domain(d));
        state.sync_tree();
        return Vec::new();
    }
    state.opening = Some(d);
    let effects = connect(state, d);
    state.sync_tree();
    effects
}

/// Starts (or restarts) a connection; asks for the password first when none is known.
fn connect(state: &mut AppState, d: usize) -> Vec<Effect> {
    let Some(domain) = state.domains.get(d) else { return Vec::new() };
    let target = match &domain.target {
        Ok(target) => target.clone(),
        Err(e) => {
            let text = format!("{}: {e}", domain.label);
            state.status_mut().note(Level::Error, text);
            return Vec::new();
        }
    };
    if domain.phase == Phase::Connecting {
        return Vec::new();
    }
    let password = match domain.password_source {
        PasswordSource::Environment | PasswordSource::Kerberos => None,
        PasswordSource::Ask => match &domain.typed_password {
            Some(p) => Some(p.clone()),
            None => {
                let prompt = format!("Password for {} in {}:", target.user, target.domain);
                state.popup = Some(Popup::Password(Box::new(PasswordForm::new(d, prompt))));
                return Vec::new();
            }
        },
    };
    let domain = &mut state.domains[d];
    domain.phase = Phase::Connecting;
    domain.attempt += 1;
    let attempt = domain.attempt;
    state.tree_mut().unfold(NodeKey::Domain(d));
    vec![Effect::Connect { domain: d, attempt, target, password }]
}

fn refresh(state: &mut AppState) -> Vec<Effect> {
    let Some(d) = state.selected().map(|row| row.key.domain()) else { return Vec::new() };
    if state.domains[d].phase == Phase::Connecting {
        let text = format!("{}: already connecting", state.domains[d].label);
        state.status_mut().note(Level::Info, text);
        return Vec::new();
    }
    connect(state, d)
}

// ---------------------------------------------------------------------------------------------
// Backing up: the form, then the plan in the confirmation popup, then the run

fn open_backup(state: &mut AppState, all: bool) {
    if state.status().running() {
        state.status_mut().note(Level::Warning, "A backup is already running; wait for it to finish.");
        return;
    }
    let Some(row) = state.selected() else { return };
    let (d, gpo) = (row.key.domain(), row.key.gpo());
    let domain = &state.domains[d];
    let Some(estate) = domain.estate.as_ref().filter(|_| domain.phase != Phase::Connecting) else {
        let text = format!("{}: connect first ({} on the domain)", domain.label, key_for(Action::Toggle));
        state.status_mut().note(Level::Warning, text);
        return;
    };
    let scope = if all {
        if estate.gpos.is_empty() {
            let text = format!("{} has no GPOs to back up", estate.domain.dns_name);
            state.status_mut().note(Level::Warning, text);
            return;
        }
        BackupScope::All { count: estate.gpos.len() }
    } else {
        match gpo {
            Some(id) => match estate.gpos.iter().find(|g| g.id == id) {
                Some(gpo) => BackupScope::One { id, name: gpo.display_name.clone() },
                None => {
                    state.status_mut().note(Level::Warning, format!("GPO {id} does not exist in the domain"));
                    return;
                }
            },
            None => {
                let text =
                    format!("Select a GPO to back up ({} backs up all GPOs of the domain)", key_for(Action::BackUpAll));
                state.status_mut().note(Level::Warning, text);
                return;
            }
        }
    };
    let name = estate.domain.dns_name.clone();
    let form = BackupForm::new(d, name, scope, state.last_backup_dir.as_deref());
    state.popup = Some(Popup::Backup(Box::new(form)));
}

fn on_popup_action(state: &mut AppState, action: Action) -> Vec<Effect> {
    let Some(popup) = state.popup.as_mut() else { return Vec::new() };
    match (popup, action) {
        (Popup::Confirm(question), Action::Quit) if question.on_yes == OnYes::Quit => vec![Effect::Quit],
        (_, Action::Quit) => {
            let mut effects = close_popup(state);
            effects.extend(request_quit(state));
            effects
        }
        (Popup::Wizard(_), _) => wizard_action(state, action),
        (_, Action::Cancel | Action::Back | Action::CancelRun) => close_popup(state),
        (Popup::Confirm(_), Action::Confirm) => confirmed(state),
        (Popup::Confirm(question), Action::Up | Action::Down | Action::PageUp | Action::PageDown) => {
            question.scroll_by(action, state.size);
            Vec::new()
        }
        (Popup::Backup(form), Action::NextField | Action::PrevField) => {
            form.switch_field();
            Vec::new()
        }
        (Popup::Backup(_), Action::Confirm) => ask_for_backup_plan(state),
        (Popup::Prompt(_), Action::Confirm) => answer_prompt(state),
        (Popup::Password(form), Action::Confirm) => {
            let password = form.text();
            if password.is_empty() {
                form.error = Some(format!("Type the password, or {} to cancel", key_for(Action::Cancel)));
                return Vec::new();
            }
            let d = form.domain;
            state.popup = None;
            state.domains[d].typed_password = Some(Secret(Password::new(password)));
            connect(state, d)
        }
        _ => Vec::new(),
    }
}

/// Closes the popup as a "no".
fn close_popup(state: &mut AppState) -> Vec<Effect> {
    match state.popup.take() {
        Some(Popup::Password(form)) => {
            // No password, no connection: fold the domain back so it can be tried again.
            state.tree_mut().fold(&NodeKey::Domain(form.domain));
            Vec::new()
        }
        Some(Popup::Confirm(question)) if matches!(question.on_yes, OnYes::Pane(_)) => {
            let OnYes::Pane(id) = question.on_yes else { return Vec::new() };
            let requests = with_pane(state, id, |pane, ctx| pane.answer(false, ctx)).unwrap_or_default();
            requested(state, requests)
        }
        // A plan still being made is dropped when it arrives (nobody waits for it then).
        Some(Popup::Confirm(question)) => match question.plan_id() {
            Some(plan) if question.plan.is_some() => vec![Effect::DropPlan(plan)],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// "Yes": whatever the question carries. A plan still being made cannot be said yes to.
fn confirmed(state: &mut AppState) -> Vec<Effect> {
    let Some(Popup::Confirm(question)) = &state.popup else { return Vec::new() };
    if question.plan.is_none() {
        return Vec::new();
    }
    let Some(Popup::Confirm(question)) = state.popup.take() else { return Vec::new() };
    match question.on_yes {
        OnYes::Quit => vec![Effect::Quit],
        OnYes::CancelRun => {
            state.status_mut().cancel_run();
            Vec::new()
        }
        OnYes::Run(pending) => start_run(state, pending),
        OnYes::Pane(id) => {
            let requests = with_pane(state, id, |pane, ctx| pane.answer(true, ctx)).unwrap_or_default();
            requested(state, requests)
        }
    }
}

/// The form is filled in: ask the core for the plan, and show it as it comes.
fn ask_for_backup_plan(state: &mut AppState) -> Vec<Effect> {
    let Some(Popup::Backup(form)) = state.popup.as_mut() else { return Vec::new() };
    let folder = form.folder_text();
    if folder.is_empty() {
        form.error = Some("Type the folder to back up into".into());
        return Vec::new();
    }
    let dir = resolve_folder(&folder, state.home.as_deref(), state.cwd.as_deref());
    let comment = form.comment_text();
    let (selection, what) = match &form.scope {
        BackupScope::One { id, name } => (GpoSelection::Named(vec![id.to_string()]), format!("Back up \"{name}\"")),
        BackupScope::All { .. } => (GpoSelection::All, "Back Up All".to_string()),
    };
    let (d, domain) = (form.domain, form.domain_name.clone());
    state.last_plan += 1;
    let plan = PlanId(state.last_plan);
    let waiting = format!("Reading the GPOs of {domain}…");
    let pending = PendingRun { plan, kind: RunKind::Backup, what, domain, dir: dir.clone() };
    state.popup = Some(Popup::Confirm(Box::new(Confirmation::waiting(" Back up? ", waiting, OnYes::Run(pending)))));
    vec![Effect::PlanBackup { plan, domain: d, selection, dir, comment }]
}

fn start_run(state: &mut AppState, pending: PendingRun) -> Vec<Effect> {
    let options = RunOptions::new(DEFAULT_PARALLELISM);
    let mut run =
        BackupRun::new(pending.what, pending.domain, pending.dir.clone(), state.clock, options.cancel.clone());
    run.kind = pending.kind;
    state.status_mut().start(run);
    let mut effects = vec![Effect::ExecutePlan { plan: pending.plan, options }];
    if pending.kind == RunKind::Backup && state.last_backup_dir.as_ref() != Some(&pending.dir) {
        state.last_backup_dir = Some(pending.dir.clone());
        effects.push(Effect::SaveLastBackupDir(pending.dir));
    }
    effects
}

fn on_typed(state: &mut AppState, input: Input) {
    if state.focus() == Focus::Filter {
        edit_filter(state, FilterEdit::Type(input));
        return;
    }
    if state.focus() == Focus::Edit {
        let focused = state.focused;
        with_pane(state, focused, |pane, _| pane.typed(input));
        return;
    }
    match state.popup.as_mut() {
        Some(Popup::Backup(form)) => {
            form.error = None;
            type_into(form.focused(), input);
        }
        Some(Popup::Password(form)) => {
            form.error = None;
            type_into(&mut form.input, input);
        }
        Some(Popup::Prompt(form)) => {
            form.error = None;
            type_into(&mut form.input, input);
        }
        Some(Popup::Wizard(wizard)) => wizard.typed(input),
        _ => {}
    }
}

fn on_paste(state: &mut AppState, text: &str) {
    if state.focus() == Focus::Filter {
        edit_filter(state, FilterEdit::Paste(text.to_string()));
        return;
    }
    if state.focus() == Focus::Edit {
        let focused = state.focused;
        with_pane(state, focused, |pane, _| pane.pasted(text));
        return;
    }
    match state.popup.as_mut() {
        Some(Popup::Backup(form)) => paste_into(form.focused(), text),
        Some(Popup::Password(form)) => paste_into(&mut form.input, text),
        Some(Popup::Prompt(form)) => paste_into(&mut form.input, text),
        Some(Popup::Wizard(wizard)) => wizard.pasted(text),
        _ => {}
    }
}

/// What follows a run: the backup list reads its folder again when the run wrote there, and a
/// restore's domain is read again, so the tree shows the GPO back.
fn after_run(state: &mut AppState) -> Vec<Effect> {
    let Some((kind, dir)) = state.status().run().map(|r| (r.kind, r.dir.clone())) else { return Vec::new() };
    let mut effects: Vec<Effect> =
        with_backups(state, |pane, ctx| if pane.shows(&dir) { pane.reload(ctx) } else { None })
            .flatten()
            .into_iter()
            .collect();
    if let RunKind::Restore { domain } | RunKind::Copy { domain } | RunKind::Import { domain } = kind {
        effects.extend(connect(state, domain));
    }
    effects
}

// ---------------------------------------------------------------------------------------------
// Job results

fn on_job(state: &mut AppState, event: JobEvent) -> Vec<Effect> {
    match event {
        JobEvent::Connected { domain: d, attempt, result } => {
            if state.domains.get(d).is_none_or(|domain| domain.attempt != attempt) {
                return Vec::new();
            }
            let domain = &mut state.domains[d];
            match result {
                Ok((estate, info)) => {
                    let first = domain.estate.is_none();
                    let ous = estate
                        .containers
                        .iter()
                        .filter(|c| c.kind == gpvault::model::ContainerKind::OrganizationalUnit)
                        .count();
                    let text =
                        format!("Connected to {}: {} GPOs, {ous} OUs", estate.domain.dns_name, estate.gpos.len());
                    domain.estate = Some(Arc::new(*estate));
                    domain.connection = Some(info);
                    domain.phase = Phase::Ready;
                    state.details_mut().forget_domain(d);
                    if first {
                        state.tree_mut().unfold(NodeKey::GpoFolder(d));
                    }
                    state.status_mut().note(Level::Success, text);
                    // The GPO under the cursor (if any) is fetched again with the new session.
                    state.sync_tree();
                    // The domain chosen at start: its GPOs, unless the admin moved on meanwhile.
                    if state.opening.take() == Some(d)
                        && matches!(state.tree().cursor_key(), Some(NodeKey::Domain(x) | NodeKey::Notice(x)) if *x == d)
                    {
                        let (page, _) = state.pane_size(super::panes::tree::ID);
                        state.tree_mut().select_key(&NodeKey::GpoFolder(d), page);
                    }
                    if let Some(row) = state.selected()
                        && row.key.domain() == d
                        && let Some(id) = row.key.gpo()
                    {
                        let now = state.clock;
                        state.details_mut().want(d, id, now);
                    }
                    // The deleted view of this domain: what is deleted may have changed.
                    return with_backups(state, |pane, ctx| pane.domain_read(d, ctx)).flatten().into_iter().collect();
                }
                Err(e) => {
                    state.opening = None;
                    let domain = &mut state.domains[d];
                    if domain.password_source == PasswordSource::Ask {
                        domain.typed_password = None;
                    }
                    domain.phase = Phase::Failed(e.clone());
                    let text = format!("{}: {e}", domain.label);
                    state.status_mut().note(Level::Error, text);
                }
            }
            Vec::new()
        }
        JobEvent::Details { domain, gpo, result } => {
            state.details_mut().loaded(domain, gpo, result);
            Vec::new()
        }
        JobEvent::Planned { plan, result } => {
            let waiting = match &mut state.popup {
                Some(Popup::Confirm(question)) if question.plan_id() == Some(plan) && question.plan.is_none() => {
                    Some(question)
                }
                _ => None,
            };
            match (waiting, result) {
                (Some(question), Ok(description)) => {
                    question.plan = Some(description);
                    question.scroll = 0;
                    Vec::new()
                }
                (Some(question), Err(e)) => {
                    let what = match &question.on_yes {
                        OnYes::Run(run) => run.what.clone(),
                        _ => String::new(),
                    };
                    state.popup = None;
                    state.status_mut().note(Level::Error, format!("{what}: {e}"));
                    Vec::new()
                }
                // Nobody waits for it any more (the admin said no while it was being made).
                (None, Ok(_)) => vec![Effect::DropPlan(plan)],
                (None, Err(_)) => Vec::new(),
            }
        }
        JobEvent::BackupsListed { request, result } => {
            let notes = with_backups(state, |pane, ctx| pane.listed(request, result, ctx)).unwrap_or_default();
            for note in notes {
                state.status_mut().note(Level::Warning, note);
            }
            Vec::new()
        }
        JobEvent::BackupShown { dir, backup_id, result } => {
            with_backups(state, |pane, _| pane.shown(&dir, backup_id, result));
            Vec::new()
        }
        JobEvent::BackupsDiffed { dir, old, new, result } => {
            with_backups(state, |pane, _| pane.diffed(&dir, &old, &new, result));
            Vec::new()
        }
        JobEvent::BackupsVerified { dir, result } => {
            with_backups(state, |pane, _| pane.verified(&dir));
            let status = state.status_mut();
            match result {
                // Newest first in the pane: the problems go in backwards, the count last, on top.
                Ok(verified) => {
                    let level = if verified.clean { Level::Success } else { Level::Error };
                    let mut lines = verified.lines;
                    let count = lines.pop().unwrap_or_default();
                    for line in lines.into_iter().rev() {
                        status.note(Level::Error, line);
                    }
                    status.note(level, format!("Verify {}: {count}", dir.display()));
                }
                Err(e) => status.note(Level::Error, format!("Verify {}: {e}", dir.display())),
            }
            Vec::new()
        }
        JobEvent::Run(event) => {
            state.status_mut().apply(event);
            Vec::new()
        }
        JobEvent::RunDone(result) => {
            // The run's own lines say how it ended; no note repeats it.
            let now = state.clock;
            state.status_mut().finish(result, now);
            // A question about the run (quit? cancel?) no longer applies; one about unsaved
            // changes still does, and is asked again without the run.
            if matches!(&state.popup, Some(Popup::Confirm(q)) if matches!(q.on_yes, OnYes::Quit | OnYes::CancelRun)) {
                let quitting = matches!(&state.popup, Some(Popup::Confirm(q)) if q.on_yes == OnYes::Quit);
                state.popup = None;
                if quitting && unsaved(state).is_some() {
                    request_quit(state);
                }
            }
            after_run(state)
        }
        JobEvent::MigtableOpened { path, result } => {
            let ok = result.is_ok();
            let requests = with_migtable(state, |pane, _| pane.opened(path.clone(), result)).unwrap_or_default();
            let mut effects = requested(state, requests);
            if ok {
                effects.extend(remember_migtable(state, path));
            }
            effects
        }
        JobEvent::MigtableSaved { path, rows, result } => {
            let ok = result.is_ok();
            let requests = with_migtable(state, |pane, _| pane.saved(path.clone(), rows, result)).unwrap_or_default();
            let mut effects = requested(state, requests);
            if ok {
                effects.extend(remember_migtable(state, path));
            }
            effects
        }
        JobEvent::LiveDiffed { name, result } => {
            let status = state.status_mut();
            match result {
                // Newest first in the pane: the lines go in backwards, the heading last, on top.
                Ok(lines) => {
                    let changed = lines
                        .iter()
                        .filter(|l| l.starts_with(['+', '-', '~']) && !l.starts_with("--- ") && !l.starts_with("+++ "))
                        .count();
                    for line in lines.into_iter().rev() {
                        status.note(Level::Info, line);
                    }
                    let level = if changed == 0 { Level::Success } else { Level::Warning };
                    status.note(level, format!("\"{name}\" against its latest backup: {changed} differences"));
                }
                Err(e) => status.note(Level::Error, format!("Compare \"{name}\" with its latest backup: {e}")),
            }
            state.focused = super::panes::status::ID;
            Vec::new()
        }
        JobEvent::MigtablePopulated { request, result } => {
            let requests = with_migtable(state, |pane, _| pane.populated(request, result)).unwrap_or_default();
            requested(state, requests)
        }
        JobEvent::MigtableValidated { request, domain, result } => {
            let requests = with_migtable(state, |pane, _| pane.validated(request, domain, result)).unwrap_or_default();
            requested(state, requests)
        }
        JobEvent::HealthChecked { request, result } => {
            let requests = with_health(state, |pane, _| pane.checked(request, result)).unwrap_or_default();
            requested(state, requests)
        }
        JobEvent::SettingsSearched { request, result } => {
            let requests = with_health(state, |pane, _| pane.searched(request, result)).unwrap_or_default();
            requested(state, requests)
        }
        JobEvent::ConfigSaved(result) => {
            if let Err(e) = result {
                state.status_mut().note(Level::Warning, format!("Could not remember the folder or table: {e}"));
            }
            Vec::new()
        }
    }
}

/// The table opened or saved last prefills the next open prompt, in this run and the next.
fn remember_migtable(state: &mut AppState, path: std::path::PathBuf) -> Option<Effect> {
    if state.last_migtable.as_ref() == Some(&path) {
        return None;
    }
    state.last_migtable = Some(path.clone());
    Some(Effect::SaveLastMigtable(path))
}

// ---------------------------------------------------------------------------------------------
// Copy / Paste, Import Settings, and the tree's own restore and compare

/// The GPO under the tree cursor (a GPO or a link to one) of a connected domain; else a note
/// saying what to do.
fn selected_gpo(state: &mut AppState, doing: &str) -> Option<(usize, GpoId, String)> {
    let row = state.selected()?;
    let (d, gpo) = (row.key.domain(), row.key.gpo());
    let domain = &state.domains[d];
    let Some(estate) = domain.estate.as_ref() else {
        let text = format!("{}: connect first ({} on the domain)", domain.label, key_for(Action::Toggle));
        state.status_mut().note(Level::Warning, text);
        return None;
    };
    let found = gpo.and_then(|id| estate.gpos.iter().find(|g| g.id == id));
    match found {
        Some(g) => Some((d, g.id, g.display_name.clone())),
        None => {
            state.status_mut().note(Level::Warning, format!("Select a GPO to {doing}"));
            None
        }
    }
}

/// The editor pane's rows, offered as the wizard's table when there are any.
fn editor_table(state: &AppState) -> Option<(String, gpvault::migrate::table::MigrationTable)> {
    let pane = state.panes.find::<MigtablePane>()?;
    (!pane.table().is_empty()).then(|| (pane.name(), pane.table().clone()))
}

fn copy_gpo(state: &mut AppState) {
    let Some((domain, id, name)) = selected_gpo(state, "copy") else { return };
    let text = format!(
        "Copied \"{name}\": paste it ({}) on a connected domain's Group Policy Objects",
        key_for(Action::PasteGpo)
    );
    state.clipboard = Some(CopiedGpo { domain, id, name });
    state.status_mut().note(Level::Info, text);
}

fn paste_gpo(state: &mut AppState) {
    let Some(copied) = state.clipboard.clone() else {
        let text = format!("Copy a GPO first ({} on it in the tree)", key_for(Action::CopyGpo));
        state.status_mut().note(Level::Info, text);
        return;
    };
    let Some(row) = state.selected() else { return };
    let into = row.key.domain();
    if !matches!(row.key, NodeKey::Domain(_) | NodeKey::GpoFolder(_) | NodeKey::Gpo(..)) {
        let text = "Paste on a domain's Group Policy Objects, or on a GPO in them".to_string();
        state.status_mut().note(Level::Info, text);
        return;
    }
    let ready = |d: usize| state.domains.get(d).is_some_and(|dom| dom.phase == Phase::Ready && dom.estate.is_some());
    for d in [copied.domain, into] {
        if !ready(d) {
            let text = format!("{}: connect first ({} on the domain)", state.domains[d].label, key_for(Action::Toggle));
            state.status_mut().note(Level::Warning, text);
            return;
        }
    }
    let into_domain = state.domains[into].dns_name().unwrap_or_default().to_string();
    let same_domain = copied.domain == into
        || state.domains[copied.domain].dns_name().is_some_and(|n| n.eq_ignore_ascii_case(&into_domain));
    let default_name = gpvault::ops::copy::default_name(&copied.name, same_domain);
    let kind = WizardKind::Copy {
        from: copied.domain,
        source: copied.id,
        source_name: copied.name,
        into,
        into_domain,
        same_domain,
    };
    let wizard = Wizard::copy(kind, &default_name, editor_table(state), state.last_migtable.as_deref());
    state.popup = Some(Popup::Wizard(Box::new(wizard)));
}

/// The backup list's folder and rows; else a note saying how to open one.
fn listed_backups(
    state: &mut AppState,
    doing: &str,
) -> Option<(std::path::PathBuf, Vec<gpvault::ops::catalog::BackupRow>)> {
    let listed =
        state.panes.find::<BackupsPane>().and_then(|p| p.folder().map(|dir| (dir.to_path_buf(), p.rows().to_vec())));
    match listed {
        Some(listed) => Some(listed),
        None => {
            let text = format!(
                "{doing} reads the backup list's folder: open one there first ({}, then {})",
                key_for(Action::Focus2),
                key_for(Action::OpenFolder)
            );
            state.status_mut().note(Level::Info, text);
            None
        }
    }
}

fn import_into_gpo(state: &mut AppState) {
    let Some((domain, gpo, gpo_name)) = selected_gpo(state, "import settings into") else { return };
    let Some((dir, rows)) = listed_backups(state, "Import Settings") else { return };
    let backups: Vec<BackupChoice> = rows
        .iter()
        .map(|r| BackupChoice {
            backup_id: r.backup_id.clone(),
            label: format!("{}  {}  {}", r.display_name, r.time_text(), r.domain),
        })
        .collect();
    let preferred = state.panes.find::<BackupsPane>().and_then(BackupsPane::selection).map(|s| s.backup_id);
    let domain_name = state.domains[domain].dns_name().unwrap_or_default().to_string();
    let kind = WizardKind::ImportInto { domain, domain_name, gpo, gpo_name, dir };
    let wizard =
        Wizard::import_into(kind, backups, preferred.as_deref(), editor_table(state), state.last_migtable.as_deref());
    state.popup = Some(Popup::Wizard(Box::new(wizard)));
}

fn import_from_backup(state: &mut AppState) {
    let Some(selection) = state.panes.find::<BackupsPane>().and_then(BackupsPane::selection) else { return };
    let mut targets = Vec::new();
    for (d, domain) in state.domains.iter().enumerate() {
        let Some(estate) = domain.estate.as_ref().filter(|_| domain.phase == Phase::Ready) else { continue };
        let mut gpos: Vec<&gpvault::model::Gpo> = estate.gpos.iter().collect();
        gpos.sort_by(|a, b| super::natural::natural_cmp(&a.display_name, &b.display_name));
        targets.extend(gpos.into_iter().map(|g| TargetChoice {
            domain: d,
            domain_name: estate.domain.dns_name.clone(),
            gpo: g.id,
            name: g.display_name.clone(),
        }));
    }
    if targets.is_empty() {
        let text = format!(
            "Import Settings writes into a GPO: connect a domain first ({} on it in the tree)",
            key_for(Action::Toggle)
        );
        state.status_mut().note(Level::Warning, text);
        return;
    }
    // The GPO under the tree cursor, else one of the backup's name.
    let tree_gpo = state.selected().and_then(|r| r.key.gpo().map(|g| (r.key.domain(), g)));
    let preferred = tree_gpo
        .and_then(|(d, g)| targets.iter().position(|t| t.domain == d && t.gpo == g))
        .or_else(|| targets.iter().position(|t| t.name.eq_ignore_ascii_case(&selection.name)));
    let kind =
        WizardKind::ImportFrom { dir: selection.dir, backup_id: selection.backup_id, backup_name: selection.name };
    let wizard = Wizard::import_from(kind, targets, preferred, editor_table(state), state.last_migtable.as_deref());
    state.popup = Some(Popup::Wizard(Box::new(wizard)));
}

/// The newest backup of the selected GPO in the backup list's folder.
fn latest_backup(state: &mut AppState, doing: &str) -> Option<(usize, GpoId, String, std::path::PathBuf, String)> {
    let (d, id, name) = selected_gpo(state, doing)?;
    let (dir, rows) = listed_backups(state, doing)?;
    // Newest first: the first of this GPO is its latest.
    match rows.iter().find(|r| r.gpo() == id) {
        Some(row) => Some((d, id, name, dir, row.backup_id.clone())),
        None => {
            let text = format!("No backup of \"{name}\" in {}", dir.display());
            state.status_mut().note(Level::Info, text);
            None
        }
    }
}

fn restore_latest(state: &mut AppState) -> Vec<Effect> {
    let Some((d, _, name, dir, backup_id)) = latest_backup(state, "restore") else { return Vec::new() };
    let domain = state.domains[d].dns_name().unwrap_or_default().to_string();
    let plan = ConfirmPlan {
        ask: PlanAsk::Restore { domain: d, dir: dir.clone(), backup_id: backup_id.clone(), links: false },
        title: " Restore? ",
        what: format!("Restore \"{name}\""),
        waiting: format!("Reading backup {backup_id} and the GPO in {domain}…"),
        domain,
        dir,
        kind: RunKind::Restore { domain: d },
    };
    ask_for_plan(state, plan)
}

fn diff_latest(state: &mut AppState) -> Vec<Effect> {
    let Some((domain, _, name, dir, backup_id)) = latest_backup(state, "compare") else { return Vec::new() };
    state.status_mut().note(Level::Info, format!("Comparing \"{name}\" with its backup {backup_id}…"));
    vec![Effect::DiffLive { domain, dir, backup_id, name }]
}

/// A key in a wizard: its own moves, Enter to go on (the last step asks for the plan), Esc back.
fn wizard_action(state: &mut AppState, action: Action) -> Vec<Effect> {
    let (home, cwd) = (state.home.clone(), state.cwd.clone());
    let Some(Popup::Wizard(wizard)) = state.popup.as_mut() else { return Vec::new() };
    match action {
        Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom => {
            wizard.choose(action)
        }
        Action::NextField | Action::PrevField => wizard.switch_part(),
        // A step back; from the first, the wizard closes.
        Action::Cancel | Action::Back | Action::CancelRun if !wizard.back() => state.popup = None,
        Action::Confirm => {
            if let Some(plan) = wizard.next(home.as_deref(), cwd.as_deref()) {
                state.popup = None;
                return ask_for_plan(state, plan);
            }
        }
        Action::Quit => return request_quit(state),
        _ => {}
    }
    Vec::new()
}
