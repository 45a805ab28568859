//! The backup list: keys → state and effects, and its screens, over a real backup folder. The
//! folder stands in for `/srv/gpo-backups`: copies of every GPMC backup of the fixtures and a
//! later GPMC backup of one of their GPOs; the jobs the pane asks for are answered by the core
//! itself (`ops::catalog`, `ops::delete`) on that folder, with its temporary path written back as
//! `/srv/gpo-backups` so the screens do not depend on where the folder is.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crossterm::event::KeyCode;
use gpvault::model::{DomainInfo, Estate};
use gpvault::ops::catalog::{self, BackupRow, DetailSection, ListFilter};
use gpvault::ops::delete::{self, DeletePlan};
use gpvault::ops::{Plan, PlanDescription, ProgressEvent, RunOptions, prune};

use super::*;
use crate::tui::action::{Action, ListedBackups, PlanAsk, PlanId, VerifiedBackups};
use crate::tui::confirm::OnYes;
use crate::tui::panes::backups::{self, BackupsPane, Listing};
use crate::tui::panes::status::{Level, RunKind};
use crate::tui::panes::{Pane, Prompt, tree};
use crate::tui::popup::Popup;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpmc");
/// Where the backup list believes the folder is.
pub const SHOWN: &str = "/srv/gpo-backups";
/// The GPMC backup of "DoD Windows 10 STIG - Computer (SHB v10.1.0)" in the fixtures...
pub const WIN10: &str = "{A2A38432-E322-437F-9975-B7CC7F16F4AA}";
/// ... and a later one of the same GPO, made from a copy of it with one file less.
pub const WIN10_LATER: &str = "{0B5E6A1C-7D2F-4E38-9A41-5C6D7E8F9012}";
const WIN10_GPO: &str = "{356FB116-26CD-4FBF-830B-6D736B802FD7}";
const IE_COMPUTER_GPO: &str = "{50C1514A-7F0D-4ABF-8B2E-07C600EC97E8}";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("folder");
    for entry in std::fs::read_dir(from).expect("fixture folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A backup folder in a temporary directory, shown to the UI as `/srv/gpo-backups`; the jobs
/// the UI asks for run the core on it.
pub struct StandIn {
    dir: tempfile::TempDir,
    /// Typed plans made for the UI, run on its yes.
    plans: HashMap<PlanId, DeletePlan>,
}

impl StandIn {
    pub fn new() -> StandIn {
        let dir = tempfile::tempdir().expect("temp dir");
        let fixtures = catalog::list_backups(Path::new(FIXTURES), &ListFilter { depth: 8, ..Default::default() })
            .expect("the fixtures list");
        assert!(fixtures.rows.len() >= 16, "every GPMC fixture: {}", fixtures.rows.len());
        for row in &fixtures.rows {
            copy_dir(&row.folder, &dir.path().join(row.folder.file_name().expect("instance folder")));
        }
        // A later GPMC backup of the same GPO: its own ID, time and comment, one file gone.
        let later = dir.path().join(WIN10_LATER);
        copy_dir(&dir.path().join(WIN10), &later);
        let info = later.join("bkupInfo.xml");
        let text = std::fs::read_to_string(&info)
            .expect("bkupInfo.xml")
            .replace(WIN10, WIN10_LATER)
            .replace("2016-12-09T15:16:54", "2017-01-20T09:30:00")
            .replace("<Comment><![CDATA[]]>", "<Comment><![CDATA[after the January review]]>");
        std::fs::write(&info, text).expect("bkupInfo.xml");
        std::fs::remove_file(later.join("DomainSysvol/GPO/Machine/microsoft/windows nt/Audit/audit.csv"))
            .expect("audit.csv");
        StandIn { dir, plans: HashMap::new() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn real(&self, shown: &Path) -> PathBuf {
        match shown.strip_prefix(SHOWN) {
            Ok(rest) if rest.as_os_str().is_empty() => self.dir.path().to_path_buf(),
            Ok(rest) => self.dir.path().join(rest),
            Err(_) => shown.to_path_buf(),
        }
    }

    pub fn shown(&self, text: &str) -> String {
        text.replace(&self.dir.path().display().to_string(), SHOWN)
    }

    fn shown_row(&self, mut row: BackupRow) -> BackupRow {
        row.folder = PathBuf::from(self.shown(&row.folder.display().to_string()));
        row
    }

    fn shown_plan(&self, mut plan: PlanDescription) -> PlanDescription {
        plan.title = self.shown(&plan.title);
        plan.notes = plan.notes.iter().map(|n| self.shown(n)).collect();
        for change in &mut plan.changes {
            change.from = self.shown(&change.from);
            change.to = self.shown(&change.to);
        }
        plan
    }

    /// The listing the core makes, as the job would send it.
    pub fn listed(&self, latest: bool, deleted_from: Option<&Estate>) -> ListedBackups {
        let filter = ListFilter { latest, ..Default::default() };
        let mut catalog = catalog::list_backups(self.path(), &filter).expect("the folder lists");
        let other_domains = deleted_from.map_or(0, |estate| catalog.keep_deleted(estate));
        let notes = catalog.notes();
        let rows = catalog.rows.into_iter().map(|r| self.shown_row(r)).collect();
        ListedBackups { rows, notes, other_domains }
    }

    pub fn sections(&self, backup_id: &str) -> Vec<DetailSection> {
        let details = catalog::show_backup(self.path(), backup_id, 0).expect("the backup shows");
        details
            .sections()
            .into_iter()
            .map(|s| DetailSection { title: s.title, lines: s.lines.iter().map(|l| self.shown(l)).collect() })
            .collect()
    }

    /// Answers the jobs among `effects` through the core, feeding the answers to `update` (and
    /// the jobs those ask for, in turn); returns the effects it does not answer.
    pub fn serve(&mut self, state: &mut AppState, effects: Vec<Effect>) -> Vec<Effect> {
        let mut left = Vec::new();
        let mut pending = effects;
        while !pending.is_empty() {
            let mut next = Vec::new();
            for effect in pending {
                let event = match effect {
                    Effect::ListBackups { request, dir, latest, deleted_from } => {
                        assert_eq!(dir, Path::new(SHOWN));
                        let listed = self.listed(latest, deleted_from.as_deref());
                        JobEvent::BackupsListed { request, result: Ok(Box::new(listed)) }
                    }
                    Effect::ShowBackup { dir, backup_id } => {
                        let result = catalog::show_backup(&self.real(&dir), &backup_id, 0)
                            .map(|_| self.sections(&backup_id))
                            .map_err(|e| e.to_string());
                        JobEvent::BackupShown { dir, backup_id, result }
                    }
                    Effect::DiffBackups { dir, old, new } => {
                        let result = catalog::diff_backups(&self.real(&dir), &old, &new, 0)
                            .map(|d| d.text_lines().iter().map(|l| self.shown(l)).collect())
                            .map_err(|e| e.to_string());
                        JobEvent::BackupsDiffed { dir, old, new, result }
                    }
                    Effect::VerifyBackups { dir } => {
                        let report = catalog::verify_backups(&self.real(&dir), &ListFilter::default()).expect("verify");
                        let lines = report.lines().iter().map(|l| self.shown(l)).collect();
                        JobEvent::BackupsVerified {
                            dir,
                            result: Ok(VerifiedBackups { lines, clean: report.is_clean() }),
                        }
                    }
                    Effect::PlanFor { plan, ask: PlanAsk::Delete { dir, backup_ids } } => {
                        let made = delete::plan(&self.real(&dir), &backup_ids).map_err(|e| e.to_string());
                        self.planned(plan, made)
                    }
                    Effect::PlanFor { plan, ask: PlanAsk::Prune { dir, keep } } => {
                        let made = prune::plan(&self.real(&dir), keep).map_err(|e| e.to_string());
                        self.planned(plan, made)
                    }
                    Effect::ExecutePlan { plan, options } if self.plans.contains_key(&plan) => {
                        let plan = self.plans.remove(&plan).expect("kept");
                        next.extend(self.run(state, plan, options));
                        continue;
                    }
                    other => {
                        left.push(other);
                        continue;
                    }
                };
                next.extend(update(state, Msg::Job(event)));
            }
            pending = next;
        }
        left
    }

    fn planned(&mut self, id: PlanId, made: Result<DeletePlan, String>) -> JobEvent {
        let result = made.map(|plan| {
            let description = self.shown_plan(plan.describe());
            self.plans.insert(id, plan);
            description
        });
        JobEvent::Planned { plan: id, result }
    }

    /// Runs a delete plan with the core, its events fed to the UI as the job runner would.
    fn run(&mut self, state: &mut AppState, plan: DeletePlan, options: RunOptions) -> Vec<Effect> {
        let events = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = events.clone();
        let progress: Arc<dyn gpvault::ops::Progress> =
            Arc::new(move |event: ProgressEvent| sink.lock().expect("events").push(event));
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let report = runtime.block_on(delete::execute(plan, &options, progress)).expect("the delete runs");
        let mut effects = Vec::new();
        for event in events.lock().expect("events").drain(..) {
            effects.extend(update(state, Msg::Job(JobEvent::Run(event))));
        }
        effects.extend(update(state, Msg::Job(JobEvent::RunDone(Ok(report.summary())))));
        effects
    }
}

pub fn pane(state: &AppState) -> &BackupsPane {
    state.panes.find().expect("the backup list is in the pane list")
}

/// Keys pressed with the stand-in answering every job they start.
pub fn press_served(state: &mut AppState, folder: &mut StandIn, code: KeyCode) -> Vec<Effect> {
    let effects = press(state, code);
    folder.serve(state, effects)
}

/// Time passes and the details the cursor rests on are read.
pub fn rest(state: &mut AppState, folder: &mut StandIn, ms: u64) -> Vec<Effect> {
    let effects = update(state, Msg::Tick(at(ms)));
    folder.serve(state, effects)
}

/// `corp` connected, the remembered folder the stand-in, the backup list focused and listed.
pub fn listed_state(folder: &mut StandIn) -> AppState {
    let mut state = connected_state();
    focus_backups(&mut state, folder);
    state
}

pub fn focus_backups(state: &mut AppState, folder: &mut StandIn) {
    while state.focused != backups::ID {
        press_served(state, folder, KeyCode::Tab);
    }
    assert_eq!(pane(state).listing, Listing::Loaded);
}

fn row_ids(state: &AppState) -> Vec<String> {
    pane(state).rows().iter().map(|r| r.backup_id.clone()).collect()
}

fn go_to_backup(state: &mut AppState, folder: &mut StandIn, backup_id: &str) {
    let target = pane(state).rows().iter().position(|r| r.backup_id == backup_id).expect("listed");
    while pane(state).cursor < target {
        press_served(state, folder, KeyCode::Char('j'));
    }
    while pane(state).cursor > target {
        press_served(state, folder, KeyCode::Char('k'));
    }
}

/// The domain `idl.local` of many of the fixtures, as a connection would read it: the Windows 10
/// and IE computer GPOs still exist there, the other GPOs backed up from it are gone.
pub fn idl_estate() -> Estate {
    let mut estate = estate();
    estate.domain = DomainInfo {
        dns_name: "idl.local".into(),
        netbios_name: "IDL".into(),
        dn: "DC=idl,DC=local".into(),
        sid: None,
        guid: "{21ae17e9-5746-4c0a-ab06-86222e0eb1d7}".into(),
        controller: "DC-IDL-01.idl.local".into(),
    };
    estate.gpos = vec![
        gpo(WIN10_GPO, "DoD Windows 10 STIG - Computer (SHB v10.1.0)", 0, 3, 0),
        gpo(IE_COMPUTER_GPO, "DoD IE11 STIG - Computer (SHB v10.1.0)", 0, 5, 0),
    ];
    estate.containers.clear();
    estate
}

/// `corp` connected with the idl.local domain read instead of its own.
pub fn connected_to(estate: Estate) -> AppState {
    let mut state = fresh_state();
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Enter);
    let info = ConnectionInfo::default();
    update(&mut state, Msg::Job(JobEvent::Connected { domain: 1, attempt: 1, result: Ok((Box::new(estate), info)) }));
    state
}

fn lines_text(lines: &[ratatui::text::Line]) -> String {
    lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect::<String>()).collect::<Vec<_>>().join("\n")
}

pub fn details_text(state: &AppState) -> String {
    lines_text(&pane(state).detail_lines(&Theme::plain(), ""))
}

// ---- keys → state and effects ----------------------------------------------------------------

#[test]
fn the_first_visit_lists_the_remembered_folder_newest_first() {
    let mut folder = StandIn::new();
    let mut state = connected_state();
    press(&mut state, KeyCode::Tab);
    assert_eq!(state.focused, backups::ID, "the backup list is second in the pane list");
    // Tab moved the focus; the first visit asked for the remembered folder.
    let mut state = connected_state();
    let effects = press(&mut state, KeyCode::Tab);
    match effects.as_slice() {
        [Effect::ListBackups { dir, latest: false, deleted_from: None, .. }] => assert_eq!(dir, Path::new(SHOWN)),
        other => panic!("{other:?}"),
    }
    assert_eq!(pane(&state).listing, Listing::Loading);
    folder.serve(&mut state, effects);
    let expected: Vec<String> = folder.listed(false, None).rows.iter().map(|r| r.backup_id.clone()).collect();
    assert_eq!(row_ids(&state), expected);
    assert_eq!(expected.len(), 17);
    let times: Vec<&str> = pane(&state).rows().iter().map(|r| r.backup_time.as_str()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");

    // Leaving and coming back does not list again.
    assert!(press(&mut state, KeyCode::Tab).is_empty());
    assert!(press(&mut state, KeyCode::BackTab).is_empty());
    assert_eq!(state.focused, backups::ID);
}

#[test]
fn without_a_remembered_folder_the_list_says_how_to_open_one() {
    let mut state = connected_state();
    state.last_backup_dir = None;
    assert!(press(&mut state, KeyCode::Tab).is_empty());
    let screen = screen_text(&render(&state, 80, 24));
    assert!(screen.contains(&format!("{} opens one", crate::tui::keymap::key_for(Action::OpenFolder))), "{screen}");
    // o asks for a folder; what is typed is listed, relative to the working directory.
    press(&mut state, KeyCode::Char('o'));
    let Some(Popup::Prompt(form)) = &state.popup else { panic!("a folder prompt") };
    assert_eq!(form.prompt, Prompt::Folder(None));
    assert!(press(&mut state, KeyCode::Enter).is_empty(), "nothing typed, nothing listed");
    let Some(Popup::Prompt(form)) = &state.popup else { panic!("still asking") };
    assert!(form.error.is_some());
    type_text(&mut state, "gpo-backups");
    let effects = press(&mut state, KeyCode::Enter);
    assert!(state.popup.is_none());
    assert!(matches!(effects.as_slice(), [Effect::ListBackups { dir, .. }] if dir == Path::new(SHOWN)), "{effects:?}");
}

#[test]
fn the_cursor_moves_in_a_window_and_details_come_once_it_rests() {
    let mut folder = StandIn::new();
    let mut state = listed_state(&mut folder);
    let first = row_ids(&state)[0].clone();
    assert!(pane(&state).wanted.is_some(), "the first row's details are wanted");
    // Moving on within the debounce asks for nothing.
    press_served(&mut state, &mut folder, KeyCode::Char('j'));
    let second = row_ids(&state)[1].clone();
    assert!(update(&mut state, Msg::Tick(at(100))).is_empty());
    let effects = update(&mut state, Msg::Tick(at(300)));
    assert!(
        matches!(effects.as_slice(), [Effect::ShowBackup { dir, backup_id }] if dir == Path::new(SHOWN) && *backup_id == second),
        "{effects:?}"
    );
    assert!(pane(&state).details_of(&first).is_none(), "the row passed over is not read");
    folder.serve(&mut state, effects);
    let text = details_text(&state);
    for section in folder.sections(&second) {
        assert!(text.contains(&section.title), "{} missing from\n{text}", section.title);
    }
    assert!(text.contains(&format!("Folder:      {SHOWN}/")), "{text}");

    // Back on it: nothing to read again.
    press(&mut state, KeyCode::Char('k'));
    press(&mut state, KeyCode::Char('j'));
    assert!(pane(&state).wanted.is_none());

    // The window follows the cursor; the list is drawn only there.
    press(&mut state, KeyCode::End);
    let p = pane(&state);
    assert_eq!(p.cursor, p.rows().len() - 1);
    assert!(p.offset > 0 && p.offset <= p.cursor);
    let screen = screen_text(&render(&state, 80, 24));
    let last = &p.rows()[p.cursor].display_name;
    assert!(screen.contains(&last[..20.min(last.len())]), "{screen}");
    let top = &p.rows()[0].display_name;
    assert!(!screen.contains(top.as_str()), "the first row is out of the window:\n{screen}");
    press(&mut state, KeyCode::Home);
    assert_eq!((pane(&state).cursor, pane(&state).offset), (0, 0));
}

#[test]
fn enter_gives_the_keys_to_the_details_and_back() {
    let mut folder = StandIn::new();
    let mut state = listed_state(&mut folder);
    rest(&mut state, &mut folder, 300);
    press(&mut state, KeyCode::Enter);
    assert!(pane(&state).in_details);
    press(&mut state, KeyCode::Char('j'));
    press(&mut state, KeyCode::Char('j'));
    assert_eq!(pane(&state).details_scroll, 2);
    assert_eq!(pane(&state).cursor, 0, "the list did not move");
    press(&mut state, KeyCode::Char('G'));
    let lines = pane(&state).detail_lines(&Theme::plain(), "").len();
    assert!(lines > 10, "{lines}");
    assert_eq!(pane(&state).details_scroll as usize, lines - 1);
    press(&mut state, KeyCode::Enter);
    assert!(!pane(&state).in_details);
    // q and Esc back out of the details first, then out of the pane.
    press(&mut state, KeyCode::Enter);
    press(&mut state, KeyCode::Char('q'));
    assert!(!pane(&state).in_details);
    assert_eq!(state.focused, backups::ID);
    press(&mut state, KeyCode::Enter);
    press(&mut state, KeyCode::Esc);
    assert!(!pane(&state).in_details && state.focused == backups::ID);
    press(&mut state, KeyCode::Char('j'));
    assert_eq!(pane(&state).cursor, 1);
    assert_eq!(pane(&state).details_scroll, 0, "another backup's details start at the top");
    press(&mut state, KeyCode::Char('q'));
    assert_eq!(state.focused, tree::ID);
}

#[test]
fn latest_only_lists_again_with_the_newest_of_each_gpo() {
    let mut folder = StandIn::new();
    let mut state = listed_state(&mut folder);
    assert!(row_ids(&state).contains(&WIN10.to_string()));
    let effects = press(&mut state, KeyCode::Char('L'));
    assert!(matches!(effects.as_slice(), [Effect::ListBackups { latest: true, .. }]), "{effects:?}");
    folder.serve(&mut state, effects);
    let ids = row_ids(&state);
    assert_eq!(ids.len(), 16);
    assert!(ids.contains(&WIN10_LATER.to_string()) && !ids.contains(&WIN10.to_string()));
    assert!(screen_text(&render(&state, 80, 24)).contains("latest only"));
    press_served(&mut state, &mut folder, KeyCode::Char('L'));
    assert_eq!(row_ids(&state).len(), 17);
}

#[test]
fn a_listing_asked_for_before_the_last_one_is_dropped() {
    let mut folder = StandIn::new();
    let mut state = listed_state(&mut folder);
    let old = press(&mut state, KeyCode::Char('L'));
    let new = press(&mut state, KeyCode::Char('L'));
    folder.serve(&mut state, new);
    folder.serve(&mut state, old);
    assert!(!pane(&state).latest);
    assert_eq!(row_ids(&state).len(), 17, "the late answer for latest-only changed nothing");
}

#[test]
fn the_deleted_view_keeps_backups_of_gpos_gone_from_the_connected_domain() {
    let mut folder = StandIn::new();
    // Not connected: nothing to compare with, and it says how to connect.
    let mut state = fresh_state();
    focus_backups(&mut state, &mut folder);
    assert!(press(&mut state, KeyCode::Char('D')).is_empty());
    assert!(pane(&state).deleted.is_none());
    assert!(state.status().notes()[0].text.contains("connect to one first"), "{:?}", state.status().notes());

    let mut state = connected_to(idl_estate());
    focus_backups(&mut state, &mut folder);
    let effects = press(&mut state, KeyCode::Char('D'));
    let [Effect::ListBackups { deleted_from: Some(estate), .. }] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!(estate.domain.dns_name, "idl.local", "the tree's domain as it was read");
    folder.serve(&mut state, effects);
    let rows = pane(&state).rows();
    assert!(!rows.is_empty());
    for row in rows {
        assert!(row.is_of_domain("idl.local", ""), "{row:?}");
        assert!(![WIN10_GPO, IE_COMPUTER_GPO].contains(&row.gpo_id.as_str()), "{row:?} still exists");
    }
    assert_eq!(rows.len(), folder.listed(false, Some(&idl_estate())).rows.len());
    let screen = screen_text(&render(&state, 80, 24));
    assert!(screen.contains("deleted from idl.local"), "{screen}");

    // The domain read again (a restore brought a GPO back): the view follows.
    let mut back = idl_estate();
    let returning = rows[0].clone();
    back.gpos.push(gpo(&returning.gpo_id, &returning.display_name, 0, 1, 0));
    press(&mut state, KeyCode::Char('q'));
    let effects = press(&mut state, KeyCode::Char('r'));
    assert!(matches!(effects.as_slice(), [Effect::Connect { domain: 1, .. }]), "{effects:?}");
    let info = ConnectionInfo::default();
    let effects =
        update(&mut state, Msg::Job(JobEvent::Connected { domain: 1, attempt: 2, result: Ok((Box::new(back), info)) }));
    folder.serve(&mut state, effects);
    assert!(!pane(&state).rows().iter().any(|r| r.gpo_id == returning.gpo_id), "the GPO is back, not deleted");

    // D again: every backup.
    state.focused = backups::ID;
    press_served(&mut state, &mut folder, KeyCode::Char('D'));
    assert!(pane(&state).deleted.is_none());
    assert_eq!(row_ids(&state).len(), 17);
}

#[test]
fn slash_narrows_the_list_to_the_backups_that_match() {
    let mut folder = StandIn::new();
    let mut state = listed_state(&mut folder);
    press(&mut state, KeyCode::Char('/'));
    type_text(&mut state, "win10 ");
    assert_eq!(pane(&state).len(), 0, "no name says win10");
    for _ in 0.."win10 ".len() {
        press(&mut state, KeyCode::Backspace);
    }
    // Words in any order, any case, over name, comment, date and domain.
    type_text(&mut state, "idl.local COMPUTER");
    let shown: Vec<String> =
        (0..pane(&state).len()).map(|i| pane(&state).row(i).unwrap().display_name.clone()).collect();
    let expected: Vec<String> = folder
        .listed(false, None)
        .rows
        .iter()
        .filter(|r| r.domain == "idl.local" && r.display_name.to_lowercase().contains("computer"))
        .map(|r| r.display_name.clone())
        .collect();
    assert_eq!(shown, expected);
    assert_eq!(shown.len(), 3, "{shown:?}");
    let screen = screen_text(&render(&state, 80, 24));
    assert!(screen.contains("(3 of 17)") && screen.contains("1/3"), "{screen}");
    // By date and by comment too.
    for _ in 0.."idl.local COMPUTER".len() {
        press(&mut state, KeyCode::Backspace);
    }
    type_text(&mut state, "2016-03-21");
    assert_eq!(pane(&state).len(), 2);
    for _ in 0.."2016-03-21".len() {
        press(&mut state, KeyCode::Backspace);
    }
    type_text(&mut state, "january");
    assert_eq!(pane(&state).selected().map(|r| r.backup_id.as_str()), Some(WIN10_LATER));

    // Enter keeps it: the keys act on the list again, the filter stays.
    press(&mut state, KeyCode::Enter);
    let effects = press(&mut state, KeyCode::Char('d'));
    assert!(
        matches!(effects.as_slice(), [Effect::PlanFor { ask: PlanAsk::Delete { backup_ids, .. }, .. }] if backup_ids == &[WIN10_LATER.to_string()])
    );
    press(&mut state, KeyCode::Char('n'));
    // A new listing keeps the filter, on the new rows.
    press_served(&mut state, &mut folder, KeyCode::Char('r'));
    assert_eq!(pane(&state).len(), 1);
    // Esc clears it; the cursor stays on its backup.
    press(&mut state, KeyCode::Esc);
    assert_eq!(pane(&state).len(), 17);
    assert_eq!(pane(&state).selected().map(|r| r.backup_id.as_str()), Some(WIN10_LATER));
    assert_eq!(state.focused, backups::ID, "Esc cleared the filter, it did not leave the pane");
}

#[test]
fn another_folder_is_listed_from_the_top() {
    let mut folder = StandIn::new();
    let mut state = listed_state(&mut folder);
    press(&mut state, KeyCode::Char('j'));
    press(&mut state, KeyCode::Char('m'));
    press(&mut state, KeyCode::Char('o'));
    let Some(Popup::Prompt(form)) = &state.popup else { panic!("a folder prompt") };
    assert_eq!(form.text(), SHOWN, "prefilled with the folder shown");
    for _ in 0..SHOWN.len() {
        press(&mut state, KeyCode::Backspace);
    }
    type_text(&mut state, "~/elsewhere");
    let effects = press(&mut state, KeyCode::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::ListBackups { dir, .. }] if dir == Path::new("/home/admin/elsewhere"))
    );
    let p = pane(&state);
    assert!(p.rows().is_empty() && p.marked.is_none() && p.cursor == 0, "nothing of the other folder stays");
    // A folder that cannot be listed says why.
    update(&mut state, Msg::Job(JobEvent::BackupsListed { request: 99, result: Err("stale".into()) }));
    assert_eq!(pane(&state).listing, Listing::Loading, "an answer to another request is dropped");
    let [Effect::ListBackups { request, .. }] = effects.as_slice() else { unreachable!() };
    let error = "backup folder /home/admin/elsewhere: No such file or directory".to_string();
    update(&mut state, Msg::Job(JobEvent::BackupsListed { request: *request, result: Err(error.clone()) }));
    assert_eq!(pane(&state).listing, Listing::Failed(error.clone()));
    assert!(screen_text(&render(&state, 80, 24)).contains(&error));
}

#[test]
fn delete_shows_the_core_plan_runs_on_yes_and_lists_again() {
    let mut folder = StandIn::new();
    let mut state = listed_state(&mut folder);
    go_to_backup(&mut state, &mut folder, WIN10);
    let effects = press(&mut state, KeyCode::Char('d'));
    let [Effect::PlanFor { plan, ask: PlanAsk::Delete { dir, backup_ids } }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!((dir.as_path(), backup_ids.as_slice()), (Path::new(SHOWN), [WIN10.to_string()].as_slice()));
    let plan = *plan;
    assert!(matches!(&state.popup, Some(Popup::Confirm(q)) if q.plan.is_none() && q.plan_id() == Some(plan)));
    folder.serve(&mut state, effects);
    let Some(Popup::Confirm(question)) = &state.popup else { panic!("the plan is shown") };
    let description = question.plan.as_ref().expect("the plan arrived");
    assert_eq!(description.changes.len(), 1);
    assert!(description.changes[0].from.ends_with(WIN10), "{description:?}");
    assert!(folder.path().join(WIN10).exists(), "planning deletes nothing");

    let effects = press(&mut state, KeyCode::Char('y'));
    let run = state.status().run().expect("a run");
    assert_eq!(
        (run.kind, run.what.as_str()),
        (RunKind::Delete, "Delete a backup of \"DoD Windows 10 STIG - Computer (SHB v10.1.0)\"")
    );
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::SaveLastBackupDir(_))),
        "deleting does not change the remembered folder"
    );
    let left = folder.serve(&mut state, effects);
    assert!(left.is_empty(), "{left:?}");
    assert!(!folder.path().join(WIN10).exists());
    let run = state.status().run().expect("the run");
    assert_eq!(run.summary.counts(), "1 succeeded, 0 failed");
    assert_eq!(row_ids(&state).len(), 16, "the list was read again after the run");
    assert!(!row_ids(&state).contains(&WIN10.to_string()));
}

#[test]
fn prune_asks_how_many_to_keep_then_shows_the_plan() {
    let mut folder = StandIn::new();
    let mut state = listed_state(&mut folder);
    press(&mut state, KeyCode::Char('p'));
    let Some(Popup::Prompt(form)) = &state.popup else { panic!("asks N") };
    assert_eq!(form.prompt, Prompt::PruneKeep(PathBuf::from(SHOWN)));
    for wrong in ["x", "0"] {
        type_text(&mut state, wrong);
        assert!(press(&mut state, KeyCode::Enter).is_empty());
        let Some(Popup::Prompt(form)) = &state.popup else { panic!("still asking") };
        assert!(form.error.as_deref().is_some_and(|e| e.contains("1 or more")), "{:?}", form.error);
        press(&mut state, KeyCode::Backspace);
    }
    type_text(&mut state, "1");
    let effects = press(&mut state, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::PlanFor { ask: PlanAsk::Prune { keep: 1, .. }, .. }]), "{effects:?}");
    folder.serve(&mut state, effects);
    let Some(Popup::Confirm(question)) = &state.popup else { panic!("the plan") };
    let changes = &question.plan.as_ref().expect("planned").changes;
    assert_eq!(changes.len(), 1, "only the older Windows 10 backup goes: {changes:?}");
    assert!(changes[0].from.ends_with(WIN10));
    let left = press_served(&mut state, &mut folder, KeyCode::Enter);
    assert!(left.is_empty());
    assert_eq!(row_ids(&state).len(), 16);
}

#[test]
fn two_backups_compare_setting_by_setting_in_the_details() {
    let mut folder = StandIn::new();
    let mut state = listed_state(&mut folder);
    // Nothing marked: it says how.
    press(&mut state, KeyCode::Char('c'));
    assert!(state.status().notes()[0].text.contains("Mark a backup first"));
    go_to_backup(&mut state, &mut folder, WIN10_LATER);
    press(&mut state, KeyCode::Char('m'));
    assert_eq!(pane(&state).marked.as_deref(), Some(WIN10_LATER));
    go_to_backup(&mut state, &mut folder, WIN10);
    let effects = press(&mut state, KeyCode::Char('c'));
    // The older first, whichever was marked.
    assert!(
        matches!(effects.as_slice(), [Effect::DiffBackups { old, new, .. }] if old == WIN10 && new == WIN10_LATER),
        "{effects:?}"
    );
    assert_eq!(pane(&state).selected().map(|r| r.backup_id.as_str()), Some(WIN10_LATER), "shown beside the newer");
    folder.serve(&mut state, effects);
    let diff = catalog::diff_backups(folder.path(), WIN10, WIN10_LATER, 0).expect("the core compares");
    assert!(!diff.is_equal(), "one file less makes a difference");
    let text = details_text(&state);
    for line in diff.lines.iter().map(ToString::to_string) {
        assert!(text.contains(&line), "{line} missing from\n{text}");
    }
    let screen = screen_text(&render(&state, 80, 24));
    assert!(screen.contains("Comparison"), "{screen}");
    // Moving on: the details of the row again.
    press(&mut state, KeyCode::Char('j'));
    assert!(pane(&state).compared.is_none());
    // m on the marked row unmarks it.
    go_to_backup(&mut state, &mut folder, WIN10_LATER);
    press(&mut state, KeyCode::Char('m'));
    assert!(pane(&state).marked.is_none());
}

#[test]
fn verify_reports_in_the_status_pane() {
    let mut folder = StandIn::new();
    let mut state = listed_state(&mut folder);
    let effects = press(&mut state, KeyCode::Char('v'));
    assert!(matches!(effects.as_slice(), [Effect::VerifyBackups { .. }]));
    assert!(pane(&state).verifying.is_some() && state.animating());
    assert!(press(&mut state, KeyCode::Char('v')).is_empty(), "one check at a time");
    folder.serve(&mut state, effects);
    assert!(pane(&state).verifying.is_none());
    let report = catalog::verify_backups(folder.path(), &ListFilter::default()).expect("verify");
    let count = report.lines().pop().expect("the count line");
    let note = &state.status().notes()[0];
    assert_eq!(note.text, format!("Verify {SHOWN}: {count}"));
    assert_eq!(note.level, if report.is_clean() { Level::Success } else { Level::Error });

    // A file gone from a backup: named, below the count.
    let gone = folder.path().join(WIN10).join("Backup.xml");
    std::fs::remove_file(&gone).expect("remove");
    press_served(&mut state, &mut folder, KeyCode::Char('v'));
    let notes = state.status().notes();
    assert_eq!(notes[0].level, Level::Error);
    assert!(notes.iter().skip(1).any(|n| n.text.contains(WIN10) && n.level == Level::Error), "{notes:?}");
}

#[test]
fn restore_asks_the_core_for_a_plan_in_the_backup_domain_and_reads_the_tree_again() {
    let mut folder = StandIn::new();
    // Not connected to the backup's domain: it says so.
    let mut state = fresh_state();
    focus_backups(&mut state, &mut folder);
    assert!(press(&mut state, KeyCode::Char('R')).is_empty());
    assert!(state.status().notes()[0].text.contains("Restoring needs a connection"), "{:?}", state.status().notes());

    let mut state = connected_to(idl_estate());
    focus_backups(&mut state, &mut folder);
    press_served(&mut state, &mut folder, KeyCode::Char('D'));
    let row = pane(&state).selected().expect("a deleted GPO's backup").clone();
    let effects = press(&mut state, KeyCode::Char('R'));
    let [Effect::PlanFor { plan, ask: PlanAsk::Restore { domain: 1, dir, backup_id, links: true } }] =
        effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!((dir.as_path(), backup_id.as_str()), (Path::new(SHOWN), row.backup_id.as_str()));
    let Some(Popup::Confirm(question)) = &state.popup else { panic!("waits for the plan") };
    assert!(
        matches!(&question.on_yes, OnYes::Run(run) if run.kind == RunKind::Restore { domain: 1 } && run.domain == "idl.local")
    );
    // The plan (its words are the core's, tested with the core) and the yes.
    let description = PlanDescription { title: "Restore 1 GPO into idl.local".into(), ..Default::default() };
    update(&mut state, Msg::Job(JobEvent::Planned { plan: *plan, result: Ok(description) }));
    let effects = press(&mut state, KeyCode::Char('y'));
    assert!(matches!(effects.as_slice(), [Effect::ExecutePlan { .. }]), "{effects:?}");
    assert_eq!(state.status().run().map(|r| r.kind), Some(RunKind::Restore { domain: 1 }));
    let title = state.status().title(&state.context(crate::tui::panes::status::ID, &Theme::plain()));
    assert!(title.contains("restoring"), "{title}");
    // Done: the folder (which got a safety backup) and the domain are read again.
    let effects = update(&mut state, Msg::Job(JobEvent::RunDone(Ok(gpvault::ops::RunSummary::default()))));
    assert!(effects.iter().any(|e| matches!(e, Effect::ListBackups { .. })), "{effects:?}");
    assert!(effects.iter().any(|e| matches!(e, Effect::Connect { domain: 1, .. })), "{effects:?}");
    // Outside the deleted view, links stay as they are.
    let mut state = connected_to(idl_estate());
    focus_backups(&mut state, &mut folder);
    go_to_backup(&mut state, &mut folder, WIN10);
    let effects = press(&mut state, KeyCode::Char('R'));
    assert!(
        matches!(effects.as_slice(), [Effect::PlanFor { ask: PlanAsk::Restore { domain: 1, links: false, .. }, .. }]),
        "{effects:?}"
    );
}

#[test]
fn a_second_run_waits_for_the_first() {
    let mut folder = StandIn::new();
    let mut state = listed_state(&mut folder);
    press(&mut state, KeyCode::Char('q'));
    super::update::state_with_run(&mut state);
    state.focused = backups::ID;
    assert!(press(&mut state, KeyCode::Char('d')).is_empty());
    assert!(state.popup.is_none());
    assert!(
        state.status().notes()[0].text.contains("wait for the running Back Up All"),
        "{:?}",
        state.status().notes()
    );
}

#[test]
fn a_backup_into_the_folder_lists_it_again_when_it_ends() {
    let mut folder = StandIn::new();
    let mut state = listed_state(&mut folder);
    press(&mut state, KeyCode::Char('q'));
    go_to(&mut state, |k| matches!(k, NodeKey::GpoFolder(_)));
    press(&mut state, KeyCode::Char('B'));
    let effects = press(&mut state, KeyCode::Enter);
    super::update::answer_plan(&mut state, &effects);
    press(&mut state, KeyCode::Char('y'));
    let effects = update(&mut state, Msg::Job(JobEvent::RunDone(Ok(gpvault::ops::RunSummary::default()))));
    assert!(matches!(effects.as_slice(), [Effect::ListBackups { dir, .. }] if dir == Path::new(SHOWN)), "{effects:?}");
    // r in the list reads the folder again too; in the tree it reconnects.
    state.focused = backups::ID;
    assert!(matches!(press(&mut state, KeyCode::Char('r')).as_slice(), [Effect::ListBackups { .. }]));
    state.focused = tree::ID;
    assert!(matches!(press(&mut state, KeyCode::Char('r')).as_slice(), [Effect::Connect { .. }]));
}

// ---- screens ----------------------------------------------------------------------------------

/// A screen as text, then its styles (ratatui's own listing of where they change): snapshots of
/// the mono theme must show the selection without colour.
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
fn screens_of_the_backup_list() {
    let mut folder = StandIn::new();
    let mut state = listed_state(&mut folder);
    snapshots("backup_list", &mut state);

    // The details, read once the cursor rested, with the keys.
    go_to_backup(&mut state, &mut folder, WIN10);
    rest(&mut state, &mut folder, 300);
    press(&mut state, KeyCode::Enter);
    snapshots("backup_list_details", &mut state);
    press(&mut state, KeyCode::Enter);

    press_served(&mut state, &mut folder, KeyCode::Char('L'));
    snapshots("backup_list_latest_only", &mut state);
    press_served(&mut state, &mut folder, KeyCode::Char('L'));

    go_to_backup(&mut state, &mut folder, WIN10);
    press_served(&mut state, &mut folder, KeyCode::Char('d'));
    snapshots("backup_list_delete_confirmation", &mut state);
}

#[test]
fn screen_of_the_deleted_view() {
    let mut folder = StandIn::new();
    let mut state = connected_to(idl_estate());
    focus_backups(&mut state, &mut folder);
    press_served(&mut state, &mut folder, KeyCode::Char('D'));
    rest(&mut state, &mut folder, 300);
    snapshots("backup_list_deleted_view", &mut state);
}

/// The rows, the details and a plan, as every-action test starting points use them: made once
/// by the core from a stand-in folder.
pub struct Ready {
    pub listed: ListedBackups,
    /// The deleted view against [`idl_estate`].
    pub deleted: ListedBackups,
    pub sections: HashMap<String, Vec<DetailSection>>,
    pub delete_plan: PlanDescription,
}

pub fn ready() -> &'static Ready {
    static READY: OnceLock<Ready> = OnceLock::new();
    READY.get_or_init(|| {
        let folder = StandIn::new();
        let listed = folder.listed(false, None);
        let deleted = folder.listed(false, Some(&idl_estate()));
        let sections =
            listed.rows.iter().take(3).map(|r| (r.backup_id.clone(), folder.sections(&r.backup_id))).collect();
        let plan = delete::plan(folder.path(), &[WIN10.to_string()]).expect("plan");
        let delete_plan = folder.shown_plan(plan.describe());
        Ready { listed, deleted, sections, delete_plan }
    })
}
