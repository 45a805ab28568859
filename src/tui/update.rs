//! `update`: the only place the state changes. It returns effects for the job runner and never
//! blocks, touches the network, the terminal, the environment or the clock.

use std::sync::Arc;

use gpvault::ops::backup::DEFAULT_PARALLELISM;
use gpvault::ops::{GpoSelection, RunOptions};
use ratatui_textarea::Input;

use super::action::{Action, Effect, JobEvent, Msg, Secret};
use super::details::{DETAILS_DEBOUNCE, Fetch};
use super::popup::{BackupForm, BackupScope, PasswordForm, Popup, paste_into, resolve_folder, type_into};
use super::state::{AppState, Focus, HelpState, PasswordSource, Phase};
use super::status::{BackupRun, Level};
use super::theme::Theme;
use super::tree::{self, NodeKey, Row};
use super::{details, status, view};

pub fn update(state: &mut AppState, msg: Msg) -> Vec<Effect> {
    let before = state.tree.cursor_key.clone();
    // Only these can add, remove or move tree rows; progress events, typing and ticks cannot,
    // and a bulk run sends thousands of them.
    let rows_may_change = matches!(msg, Msg::Action(_) | Msg::Resize(..) | Msg::Job(JobEvent::Connected { .. }));
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
        Msg::Tick(now) => on_tick(state, now),
        Msg::Job(event) => on_job(state, event),
    };
    if !rows_may_change {
        return effects;
    }
    // Rows appear and disappear (a domain connects, a node folds): keep the cursor on its node.
    let rows = current_rows(state);
    state.tree.resync(&rows, view::pane_height(state, Focus::Tree));
    if state.tree.cursor_key != before {
        effects.extend(cursor_moved(state, &rows));
    }
    effects
}

fn current_rows(state: &AppState) -> Vec<Row> {
    tree::rows(&state.domains, &state.tree.expanded)
}

fn on_action(state: &mut AppState, action: Action) -> Vec<Effect> {
    if let Some(help) = &mut state.help {
        match action {
            Action::Up => help.scroll = help.scroll.saturating_sub(1),
            Action::Down => help.scroll = help.scroll.saturating_add(1).min(200),
            Action::Back | Action::Help | Action::Cancel => state.help = None,
            Action::Quit => return request_quit(state),
            _ => {}
        }
        return Vec::new();
    }
    if state.popup.is_some() {
        return on_popup_action(state, action);
    }
    match action {
        Action::Quit => request_quit(state),
        Action::Back => {
            if state.focus == Focus::Tree {
                request_quit(state)
            } else {
                state.focus = Focus::Tree;
                Vec::new()
            }
        }
        Action::Help => {
            state.help = Some(HelpState::default());
            Vec::new()
        }
        Action::NextPane | Action::PrevPane => {
            let order = [Focus::Tree, Focus::Details, Focus::Status];
            let at = order.iter().position(|f| *f == state.focus).unwrap_or(0);
            let step = if action == Action::NextPane { 1 } else { order.len() - 1 };
            state.focus = order[(at + step) % order.len()];
            Vec::new()
        }
        Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom => {
            navigate(state, action);
            Vec::new()
        }
        Action::Collapse => {
            collapse(state);
            Vec::new()
        }
        Action::Expand => expand(state),
        Action::Toggle => toggle(state),
        Action::BackUp => {
            open_backup(state, false);
            Vec::new()
        }
        Action::BackUpAll => {
            open_backup(state, true);
            Vec::new()
        }
        Action::Refresh => refresh(state),
        Action::Confirm | Action::Cancel | Action::NextField | Action::PrevField => Vec::new(),
    }
}

fn request_quit(state: &mut AppState) -> Vec<Effect> {
    match &state.status.run {
        Some(run) if run.finished.is_none() && !matches!(state.popup, Some(Popup::ConfirmQuit { .. })) => {
            state.popup = Some(Popup::ConfirmQuit { done: run.done(), total: run.total });
            state.help = None;
            Vec::new()
        }
        _ => vec![Effect::Quit],
    }
}

// ---------------------------------------------------------------------------------------------
// Moving

fn navigate(state: &mut AppState, action: Action) {
    let page = view::pane_height(state, state.focus);
    match state.focus {
        Focus::Tree => {
            let rows = current_rows(state);
            let last = rows.len().saturating_sub(1);
            let at = state.tree.cursor;
            let to = match action {
                Action::Up => at.saturating_sub(1),
                Action::Down => (at + 1).min(last),
                Action::PageUp => at.saturating_sub(page),
                Action::PageDown => (at + page).min(last),
                Action::Top => 0,
                _ => last,
            };
            state.tree.select(to, &rows, page);
        }
        Focus::Details => {
            let max = details_line_count(state).saturating_sub(1);
            state.details.scroll = scrolled(state.details.scroll, action, page, max);
        }
        Focus::Status => {
            let width = view::pane_width(state, Focus::Status);
            let max = status::lines(state, &Theme::plain(), width, true).len().saturating_sub(1);
            state.status.scroll = scrolled(state.status.scroll, action, page, max);
        }
    }
}

fn scrolled(at: u16, action: Action, page: usize, max: usize) -> u16 {
    let (at, page, max) = (at as usize, page.max(1), max.min(u16::MAX as usize));
    let to = match action {
        Action::Up => at.saturating_sub(1),
        Action::Down => at + 1,
        Action::PageUp => at.saturating_sub(page),
        Action::PageDown => at + page,
        Action::Top => 0,
        _ => max,
    };
    to.min(max) as u16
}

fn details_line_count(state: &AppState) -> usize {
    let rows = current_rows(state);
    rows.get(state.tree.cursor).map(|row| details::lines_for(state, row, &Theme::plain()).len()).unwrap_or(0)
}

/// The cursor landed on another node: reset the details scroll, and ask for the GPO's SYSVOL
/// side once the cursor has rested there (see `on_tick`).
fn cursor_moved(state: &mut AppState, rows: &[Row]) -> Vec<Effect> {
    state.details.scroll = 0;
    state.details.wanted = None;
    if let Some(row) = rows.get(state.tree.cursor)
        && let Some(id) = row.key.gpo()
    {
        let d = row.key.domain();
        if !state.details.cache.contains_key(&(d, id)) {
            state.details.wanted = Some((d, id, state.clock));
        }
    }
    Vec::new()
}

fn cursor_row(state: &AppState) -> Option<Row> {
    current_rows(state).into_iter().nth(state.tree.cursor)
}

fn collapse(state: &mut AppState) {
    let rows = current_rows(state);
    let Some(row) = rows.get(state.tree.cursor) else { return };
    if row.expandable && row.expanded {
        state.tree.expanded.remove(&row.key);
    } else if let Some(parent) = state.tree.parent_index(&rows) {
        let height = view::pane_height(state, Focus::Tree);
        state.tree.select(parent, &rows, height);
    }
}

fn expand(state: &mut AppState) -> Vec<Effect> {
    let Some(row) = cursor_row(state) else { return Vec::new() };
    if !row.expandable {
        return Vec::new();
    }
    if row.expanded {
        let rows = current_rows(state);
        let height = view::pane_height(state, Focus::Tree);
        if rows.get(state.tree.cursor + 1).is_some_and(|next| next.depth > row.depth) {
            state.tree.select(state.tree.cursor + 1, &rows, height);
        }
        return Vec::new();
    }
    open_node(state, &row.key)
}

fn toggle(state: &mut AppState) -> Vec<Effect> {
    let Some(row) = cursor_row(state) else { return Vec::new() };
    match &row.key {
        NodeKey::Gpo(d, id) | NodeKey::Link(d, _, id) => {
            state.focus = Focus::Details;
            state.details.wanted = None;
            if matches!(state.details.cache.get(&(*d, *id)), Some(Fetch::Failed(_))) {
                state.details.cache.remove(&(*d, *id));
            }
            fetch_details(state, *d, *id).into_iter().collect()
        }
        NodeKey::Notice(d) => {
            if matches!(state.domains[*d].phase, Phase::Failed(_) | Phase::Idle) {
                connect(state, *d)
            } else {
                Vec::new()
            }
        }
        key if row.expandable && row.expanded => {
            state.tree.expanded.remove(key);
            Vec::new()
        }
        key if row.expandable => open_node(state, &key.clone()),
        _ => Vec::new(),
    }
}

fn open_node(state: &mut AppState, key: &NodeKey) -> Vec<Effect> {
    state.tree.expanded.insert(key.clone());
    match key {
        NodeKey::Domain(d) => {
            let domain = &state.domains[*d];
            if domain.estate.is_none() && matches!(domain.phase, Phase::Idle | Phase::Failed(_)) {
                connect(state, *d)
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Connecting

/// Starts (or restarts) a connection; asks for the password first when none is known.
fn connect(state: &mut AppState, d: usize) -> Vec<Effect> {
    let Some(domain) = state.domains.get_mut(d) else { return Vec::new() };
    let target = match &domain.target {
        Ok(target) => target.clone(),
        Err(e) => {
            let text = format!("{}: {e}", domain.label);
            state.status.note(Level::Error, text);
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
    domain.phase = Phase::Connecting;
    domain.attempt += 1;
    state.tree.expanded.insert(NodeKey::Domain(d));
    vec![Effect::Connect { domain: d, attempt: domain.attempt, target, password }]
}

fn refresh(state: &mut AppState) -> Vec<Effect> {
    let Some(row) = cursor_row(state) else { return Vec::new() };
    let d = row.key.domain();
    if state.domains[d].phase == Phase::Connecting {
        state.status.note(Level::Info, format!("{}: already connecting", state.domains[d].label));
        return Vec::new();
    }
    connect(state, d)
}

fn fetch_details(state: &mut AppState, d: usize, id: gpvault::model::GpoId) -> Option<Effect> {
    if state.details.cache.contains_key(&(d, id)) {
        return None;
    }
    let domain = state.domains.get(d)?;
    if domain.phase != Phase::Ready {
        return None;
    }
    let estate = domain.estate.clone()?;
    state.details.cache.insert((d, id), Fetch::Loading);
    Some(Effect::LoadDetails { domain: d, gpo: id, estate })
}

fn on_tick(state: &mut AppState, now: std::time::Instant) -> Vec<Effect> {
    state.clock = now;
    match state.details.wanted {
        Some((d, id, since)) if now.saturating_duration_since(since) >= DETAILS_DEBOUNCE => {
            state.details.wanted = None;
            fetch_details(state, d, id).into_iter().collect()
        }
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Backing up

fn open_backup(state: &mut AppState, all: bool) {
    if state.status.running() {
        state.status.note(Level::Warning, "A backup is already running; wait for it to finish.");
        return;
    }
    let Some(row) = cursor_row(state) else { return };
    let d = row.key.domain();
    let domain = &state.domains[d];
    let Some(estate) = domain.estate.as_ref().filter(|_| domain.phase != Phase::Connecting) else {
        let text = format!("{}: connect first (Enter on the domain)", domain.label);
        state.status.note(Level::Warning, text);
        return;
    };
    let scope = if all {
        if estate.gpos.is_empty() {
            state.status.note(Level::Warning, format!("{} has no GPOs to back up", estate.domain.dns_name));
            return;
        }
        BackupScope::All { count: estate.gpos.len() }
    } else {
        match row.key.gpo() {
            Some(id) => match estate.gpos.iter().find(|g| g.id == id) {
                Some(gpo) => BackupScope::One { id, name: gpo.display_name.clone() },
                None => {
                    state.status.note(Level::Warning, format!("GPO {id} does not exist in the domain"));
                    return;
                }
            },
            None => {
                state.status.note(Level::Warning, "Select a GPO to back up (B backs up all GPOs of the domain)");
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
        (Popup::ConfirmQuit { .. }, Action::Confirm | Action::Quit) => vec![Effect::Quit],
        (_, Action::Quit) => {
            state.popup = None;
            request_quit(state)
        }
        (_, Action::Cancel | Action::Back) => {
            if let Some(Popup::Password(form)) = state.popup.take() {
                // No password, no connection: fold the domain back so it can be tried again.
                state.tree.expanded.remove(&NodeKey::Domain(form.domain));
            }
            Vec::new()
        }
        (Popup::Backup(form), Action::NextField | Action::PrevField) => {
            form.switch_field();
            Vec::new()
        }
        (Popup::Backup(_), Action::Confirm) => start_backup(state),
        (Popup::Password(form), Action::Confirm) => {
            let password = form.text();
            if password.is_empty() {
                form.error = Some("Type the password, or Esc to cancel".into());
                return Vec::new();
            }
            let d = form.domain;
            state.popup = None;
            state.domains[d].typed_password = Some(Secret(password));
            connect(state, d)
        }
        _ => Vec::new(),
    }
}

fn start_backup(state: &mut AppState) -> Vec<Effect> {
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
    let d = form.domain;
    let domain_name = form.domain_name.clone();
    state.popup = None;
    state.status.run = Some(BackupRun::new(what, domain_name, dir.clone(), state.clock));
    state.status.scroll = 0;
    let mut effects = vec![Effect::StartBackup {
        domain: d,
        selection,
        dir: dir.clone(),
        comment,
        options: RunOptions::new(DEFAULT_PARALLELISM),
    }];
    if state.last_backup_dir.as_ref() != Some(&dir) {
        state.last_backup_dir = Some(dir.clone());
        effects.push(Effect::SaveLastBackupDir(dir));
    }
    effects
}

fn on_typed(state: &mut AppState, input: Input) {
    match state.popup.as_mut() {
        Some(Popup::Backup(form)) => {
            form.error = None;
            type_into(form.focused(), input);
        }
        Some(Popup::Password(form)) => {
            form.error = None;
            type_into(&mut form.input, input);
        }
        _ => {}
    }
}

fn on_paste(state: &mut AppState, text: &str) {
    match state.popup.as_mut() {
        Some(Popup::Backup(form)) => paste_into(form.focused(), text),
        Some(Popup::Password(form)) => paste_into(&mut form.input, text),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Job results

fn on_job(state: &mut AppState, event: JobEvent) -> Vec<Effect> {
    match event {
        JobEvent::Connected { domain: d, attempt, result } => {
            let Some(domain) = state.domains.get_mut(d) else { return Vec::new() };
            if attempt != domain.attempt {
                return Vec::new();
            }
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
                    state.details.forget_domain(d);
                    if first {
                        state.tree.expanded.insert(NodeKey::GpoFolder(d));
                    }
                    state.status.note(Level::Success, text);
                    // The GPO under the cursor (if any) is fetched again with the new session.
                    if let Some(row) = cursor_row(state)
                        && row.key.domain() == d
                        && let Some(id) = row.key.gpo()
                    {
                        state.details.wanted = Some((d, id, state.clock));
                    }
                }
                Err(e) => {
                    if domain.password_source == PasswordSource::Ask {
                        domain.typed_password = None;
                    }
                    domain.phase = Phase::Failed(e.clone());
                    let text = format!("{}: {e}", domain.label);
                    state.status.note(Level::Error, text);
                }
            }
            Vec::new()
        }
        JobEvent::Details { domain, gpo, result } => {
            // Only the answer to a fetch still wanted counts (a refresh may have dropped it).
            if matches!(state.details.cache.get(&(domain, gpo)), Some(Fetch::Loading)) {
                let fetch = match result {
                    Ok(extras) => Fetch::Loaded(extras),
                    Err(e) => Fetch::Failed(e),
                };
                state.details.cache.insert((domain, gpo), fetch);
            }
            Vec::new()
        }
        JobEvent::Backup(event) => {
            if let Some(run) = state.status.run.as_mut() {
                run.apply(event);
            }
            Vec::new()
        }
        JobEvent::BackupDone(result) => {
            // The run's own lines say how it ended; no note repeats it.
            if let Some(run) = state.status.run.as_mut() {
                run.finish(result, state.clock);
            }
            if let Some(Popup::ConfirmQuit { .. }) = state.popup {
                state.popup = None;
            }
            Vec::new()
        }
        JobEvent::ConfigSaved(result) => {
            if let Err(e) = result {
                state.status.note(Level::Warning, format!("Could not remember the backup folder: {e}"));
            }
            Vec::new()
        }
    }
}
