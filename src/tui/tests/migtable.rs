//! The migration-table editor: keys → state and effects, and its screens. Its jobs are answered
//! by the core itself: tables are opened and saved by `ops::migtable` in a temporary folder shown
//! to the UI as `/srv/tables` (the vendored GPMC-layout table is `/srv/tables/corp.migtable`),
//! populates read the vendored GPMC backups, validation runs against the fake domain's session.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gpvault::migrate::populate::PopulateOptions;
use gpvault::migrate::table::{Destination, EntryType, Issue, Mapping, MigrationTable};
use gpvault::ops::migtable as core;

use super::*;
use crate::tui::action::{Action, PopulateFrom, PopulatedRows};
use crate::tui::confirm::OnYes;
use crate::tui::panes::migtable::{self, ChoiceKind, Mark, MigtablePane};
use crate::tui::panes::{Prompt, tree};
use crate::tui::popup::Popup;
use crate::tui::state::Focus;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/migtable/gpmc-layout.migtable");
const GPMC_BACKUPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpmc");
/// The GPMC backup with folder redirection to UNC paths, answering "populate from the GPO".
const REDIRECTION_BACKUP: &str = "{F5D718B7-BAFD-437F-8195-532AB42E2E13}";
/// Where the UI believes the tables are.
const SHOWN: &str = "/srv/tables";

pub fn pane(state: &AppState) -> &MigtablePane {
    state.panes.find().expect("the editor is in the pane list")
}

fn rows_of(state: &AppState) -> Vec<Mapping> {
    pane(state).table().rows().to_vec()
}

/// The vendored table as the core reads it, once.
fn fixture() -> MigrationTable {
    static TABLE: OnceLock<MigrationTable> = OnceLock::new();
    TABLE.get_or_init(|| core::open(Path::new(FIXTURE)).expect("the fixture opens")).clone()
}

/// What the core populates from the folder-redirection backup, once.
fn redirection_rows() -> PopulatedRows {
    static ROWS: OnceLock<PopulatedRows> = OnceLock::new();
    ROWS.get_or_init(|| {
        let dir = Path::new(GPMC_BACKUPS).join("technology-toolbox-fr");
        let (populated, _) =
            core::populate_from_backup(&dir, REDIRECTION_BACKUP, PopulateOptions::default()).expect("populates");
        PopulatedRows {
            rows: populated.table.rows().to_vec(),
            unresolved: populated.unresolved.len(),
            unreadable: vec![],
        }
    })
    .clone()
}

/// A folder of tables, shown as `/srv/tables`, holding a copy of the vendored one.
struct Desk {
    dir: tempfile::TempDir,
    backups: Option<super::backups::StandIn>,
}

impl Desk {
    fn new() -> Desk {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::copy(FIXTURE, dir.path().join("corp.migtable")).expect("copy the table");
        Desk { dir, backups: None }
    }

    fn real(&self, shown: &Path) -> PathBuf {
        match shown.strip_prefix(SHOWN) {
            Ok(rest) => self.dir.path().join(rest),
            Err(_) => panic!("{} is not under {SHOWN}", shown.display()),
        }
    }

    /// Answers the editor's jobs through the core; returns the effects it does not answer.
    fn serve(&mut self, state: &mut AppState, effects: Vec<Effect>) -> Vec<Effect> {
        let mut left = Vec::new();
        for effect in effects {
            let event = match effect {
                Effect::OpenMigtable { path } => {
                    let result = core::open(&self.real(&path)).map_err(|e| e.to_string());
                    JobEvent::MigtableOpened { path, result }
                }
                Effect::SaveMigtable { path, table } => {
                    let result = core::save(&self.real(&path), &table).map_err(|e| e.to_string());
                    JobEvent::MigtableSaved { path, rows: table.rows().to_vec(), result }
                }
                Effect::PopulateMigtable { request, from: PopulateFrom::Gpo { .. } } => {
                    JobEvent::MigtablePopulated { request, result: Ok(redirection_rows()) }
                }
                Effect::PopulateMigtable { request, from: PopulateFrom::Backup { dir, backup_id, .. } } => {
                    let folder = self.backups.as_ref().expect("a backup folder");
                    let result = core::populate_from_backup(&folder.real(&dir), &backup_id, PopulateOptions::default())
                        .map(|(p, _)| PopulatedRows {
                            rows: p.table.rows().to_vec(),
                            unresolved: p.unresolved.len(),
                            unreadable: p.unreadable,
                        })
                        .map_err(|e| e.to_string());
                    JobEvent::MigtablePopulated { request, result }
                }
                Effect::ValidateMigtable { request, domain: _, table } => {
                    let fake = FakeDomain::new();
                    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
                    let result =
                        runtime.block_on(core::validate_table(&fake.session, &table)).map_err(|e| e.to_string());
                    JobEvent::MigtableValidated { request, domain: "corp.example.test".into(), result }
                }
                other => {
                    left.push(other);
                    continue;
                }
            };
            left.extend(self.serve_more(state, event));
        }
        left
    }

    fn serve_more(&mut self, state: &mut AppState, event: JobEvent) -> Vec<Effect> {
        let more = update(state, Msg::Job(event));
        self.serve(state, more)
    }

    fn press(&mut self, state: &mut AppState, code: KeyCode) -> Vec<Effect> {
        let effects = press(state, code);
        self.serve(state, effects)
    }
}

fn ctrl(state: &mut AppState, c: char) -> Vec<Effect> {
    key(state, KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// `corp` connected, the editor focused (by its number, 3) on a new, empty table.
fn editor() -> AppState {
    let mut state = connected_state();
    press(&mut state, KeyCode::Char('3'));
    assert_eq!(state.focused, migtable::ID, "3 focuses the editor");
    state
}

/// The editor with the vendored table opened through its prompt.
fn opened(desk: &mut Desk) -> AppState {
    let mut state = editor();
    press(&mut state, KeyCode::Char('o'));
    type_text(&mut state, "tables/corp.migtable");
    let effects = press(&mut state, KeyCode::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::OpenMigtable { path }] if path == Path::new("/srv/tables/corp.migtable")),
        "{effects:?}"
    );
    desk.serve(&mut state, effects);
    state
}

// ---- starting points for every_action (no disk: the table comes from memory) ---------------

pub fn with_rows() -> AppState {
    let mut state = editor();
    update(
        &mut state,
        Msg::Job(JobEvent::MigtableOpened { path: PathBuf::from("/srv/tables/corp.migtable"), result: Ok(fixture()) }),
    );
    state
}

pub fn editing_a_cell() -> AppState {
    let mut state = with_rows();
    press(&mut state, KeyCode::Char('j'));
    press(&mut state, KeyCode::Enter);
    type_text(&mut state, "-new");
    state
}

pub fn type_list() -> AppState {
    let mut state = with_rows();
    press(&mut state, KeyCode::Char('t'));
    state
}

/// Three domains, the tree cursor on the one not connected, the other two connected: `v` asks
/// which to validate against.
pub fn domain_list() -> AppState {
    let domains = vec![
        DomainNode::for_target(target("branch", "branch.example.test", false), PasswordSource::Environment),
        DomainNode::for_target(target("corp", "corp.example.test", true), PasswordSource::Environment),
        DomainNode::for_target(target("lab", "lab.example.test", false), PasswordSource::Environment),
    ];
    let mut state = AppState::new(domains, None, t0());
    update(&mut state, Msg::Resize(80, 24));
    for d in [0, 1] {
        state.domains[d].attempt = 1;
        state.domains[d].phase = crate::tui::state::Phase::Connecting;
        let mut estate = estate();
        if d == 0 {
            estate.domain.dns_name = "branch.example.test".into();
        }
        let info = ConnectionInfo::default();
        update(
            &mut state,
            Msg::Job(JobEvent::Connected { domain: d, attempt: 1, result: Ok((Box::new(estate), info)) }),
        );
    }
    go_to(&mut state, |k| *k == tree::NodeKey::Domain(2));
    press(&mut state, KeyCode::Char('3'));
    update(
        &mut state,
        Msg::Job(JobEvent::MigtableOpened { path: PathBuf::from("/srv/tables/corp.migtable"), result: Ok(fixture()) }),
    );
    press(&mut state, KeyCode::Char('v'));
    state
}

pub fn delete_question() -> AppState {
    let mut state = with_rows();
    press(&mut state, KeyCode::Char('d'));
    state
}

pub fn unsaved_question() -> AppState {
    let mut state = editing_a_cell();
    press(&mut state, KeyCode::Enter);
    press(&mut state, KeyCode::Char('q'));
    state
}

pub fn filtering() -> AppState {
    let mut state = with_rows();
    press(&mut state, KeyCode::Char('/'));
    type_text(&mut state, "corp");
    state
}

pub fn open_prompt() -> AppState {
    let mut state = with_rows();
    press(&mut state, KeyCode::Char('o'));
    state
}

// ---- keys → state and effects ----------------------------------------------------------------

#[test]
fn a_table_opened_shows_the_rows_the_core_reads_and_saves_back_byte_for_byte() {
    let mut desk = Desk::new();
    let mut state = editor();
    state.last_migtable = Some(PathBuf::from("/srv/tables/corp.migtable"));
    press(&mut state, KeyCode::Char('o'));
    let Some(Popup::Prompt(form)) = &state.popup else { panic!("an open prompt") };
    assert_eq!(form.prompt, Prompt::OpenTable(None));
    assert_eq!(form.text(), "/srv/tables/corp.migtable", "prefilled with the last table");
    let effects = press(&mut state, KeyCode::Enter);
    let left = desk.serve(&mut state, effects);
    assert!(left.is_empty(), "the same table is remembered already: {left:?}");
    assert_eq!(rows_of(&state), fixture().rows());
    assert_eq!(pane(&state).path.as_deref(), Some(Path::new("/srv/tables/corp.migtable")));
    assert!(crate::tui::update::unsaved(&state).is_none());
    let screen = screen_text(&render(&state, 120, 40));
    assert!(screen.contains("3 corp.migtable: 9 rows "), "{screen}");
    for mapping in fixture().rows() {
        let start: String = mapping.source.chars().take(30).collect();
        assert!(screen.contains(&start), "{} missing:\n{screen}", mapping.source);
    }

    // Saved unchanged: the file GPMC wrote comes back byte for byte, written by the core.
    std::fs::write(desk.dir.path().join("corp.migtable"), b"changed on disk meanwhile").expect("write");
    let left = desk.press(&mut state, KeyCode::Char('s'));
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(std::fs::read(desk.dir.path().join("corp.migtable")).unwrap(), std::fs::read(FIXTURE).unwrap());
    assert!(state.status().notes().iter().any(|n| n.text.starts_with("Saved 9 rows to /srv/tables/corp.migtable")));

    // Another file, remembered for the next prompt (and the next run).
    let mut state = editor();
    press(&mut state, KeyCode::Char('o'));
    type_text(&mut state, "tables/corp.migtable");
    let effects = press(&mut state, KeyCode::Enter);
    let left = desk.serve(&mut state, effects);
    assert!(
        matches!(left.as_slice(), [Effect::SaveLastMigtable(p)] if p == Path::new("/srv/tables/corp.migtable")),
        "{left:?}"
    );
    // A file that is not a table: the core's reason, and the table shown stays.
    std::fs::write(desk.dir.path().join("bad.migtable"), b"<NotATable/>").expect("write");
    press(&mut state, KeyCode::Char('o'));
    ctrl(&mut state, 'u');
    type_text(&mut state, "/srv/tables/bad.migtable");
    let effects = press(&mut state, KeyCode::Enter);
    desk.serve(&mut state, effects);
    assert_eq!(rows_of(&state), fixture().rows());
    let expected = core::open(&desk.dir.path().join("bad.migtable")).unwrap_err().to_string();
    let note = &state.status().notes().front().expect("a note").text;
    assert_eq!(note.replace("/srv/tables", &desk.dir.path().display().to_string()), expected);
}

#[test]
fn a_new_table_is_built_with_keys_and_saved_where_asked_in_utf16_with_a_bom() {
    let mut desk = Desk::new();
    let mut state = editor();
    assert!(screen_text(&render(&state, 80, 24)).contains("No rows."));
    // A row: its source first (a UNC path makes it a UNCPath row), then its destination form
    // from the list (Destination, which asks for the text at once).
    press(&mut state, KeyCode::Char('i'));
    assert_eq!(state.focus(), Focus::Edit, "letters are typed into the new row's source");
    type_text(&mut state, r"\\fs01\finance");
    press(&mut state, KeyCode::Enter);
    press(&mut state, KeyCode::Char('f'));
    assert_eq!(state.focus(), Focus::Choose);
    press(&mut state, KeyCode::Char('k'));
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.focus(), Focus::Edit, "Destination asks for the text");
    type_text(&mut state, r"\\fs02\finance");
    press(&mut state, KeyCode::Enter);
    // A second row, a group: its type from the list.
    press(&mut state, KeyCode::Char('i'));
    type_text(&mut state, "Finance Users@corp.example.test");
    press(&mut state, KeyCode::Enter);
    press(&mut state, KeyCode::Char('t'));
    press(&mut state, KeyCode::Home);
    for _ in 0..3 {
        press(&mut state, KeyCode::Char('j'));
    }
    press(&mut state, KeyCode::Enter);
    // A third, abandoned: Esc takes the new row away again.
    press(&mut state, KeyCode::Char('i'));
    type_text(&mut state, "typo");
    press(&mut state, KeyCode::Esc);
    let expected = vec![
        Mapping {
            entry_type: EntryType::UncPath,
            source: r"\\fs01\finance".into(),
            destination: Destination::Set(r"\\fs02\finance".into()),
        },
        Mapping {
            entry_type: EntryType::ALL[3],
            source: "Finance Users@corp.example.test".into(),
            destination: Destination::SameAsSource,
        },
    ];
    assert_eq!(rows_of(&state), expected);
    assert_eq!(EntryType::ALL[3], EntryType::GlobalGroup);
    assert!(crate::tui::update::unsaved(&state).is_some());

    // Saving a new table asks where.
    let effects = press(&mut state, KeyCode::Char('s'));
    assert!(effects.is_empty());
    let Some(Popup::Prompt(form)) = &state.popup else { panic!("a save-as prompt") };
    assert_eq!(form.prompt, Prompt::SaveTableAs(None));
    type_text(&mut state, "tables/new.migtable");
    let effects = press(&mut state, KeyCode::Enter);
    let left = desk.serve(&mut state, effects);
    assert!(matches!(left.as_slice(), [Effect::SaveLastMigtable(_)]), "{left:?}");
    let written = desk.dir.path().join("new.migtable");
    let bytes = std::fs::read(&written).expect("written");
    assert_eq!(&bytes[..2], &[0xFF, 0xFE], "UTF-16LE with a BOM");
    assert_eq!(core::open(&written).unwrap().rows(), expected.as_slice());
    assert!(crate::tui::update::unsaved(&state).is_none(), "saved");
    assert_eq!(pane(&state).path.as_deref(), Some(Path::new("/srv/tables/new.migtable")));
    // The next save goes to the same file without asking; S asks again.
    assert!(matches!(press(&mut state, KeyCode::Char('s')).as_slice(), [Effect::SaveMigtable { .. }]));
    press(&mut state, KeyCode::Char('S'));
    assert!(
        matches!(&state.popup, Some(Popup::Prompt(f)) if f.prompt == Prompt::SaveTableAs(Some(PathBuf::from("/srv/tables/new.migtable"))))
    );
}

#[test]
fn cells_are_edited_in_place_and_columns_chosen_with_the_arrows() {
    let mut state = with_rows();
    press(&mut state, KeyCode::Char('j'));
    // The cursor starts on the source column; → twice reaches the destination.
    press(&mut state, KeyCode::Right);
    press(&mut state, KeyCode::Right);
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.focus(), Focus::Edit);
    // `q` is a letter here, not "back"; Ctrl-U clears, paste keeps to one line.
    type_text(&mut state, "q");
    ctrl(&mut state, 'u');
    update(&mut state, Msg::Paste("CORP\\WS0142$\r\n".into()));
    press(&mut state, KeyCode::Enter);
    assert_eq!(rows_of(&state)[1].destination, Destination::Set("CORP\\WS0142$".into()));
    // The type column opens the type list, the form column the form list.
    press(&mut state, KeyCode::Left);
    press(&mut state, KeyCode::Enter);
    assert!(matches!(&pane(&state).choice, Some(c) if c.kind == ChoiceKind::Form && c.cursor == 0));
    press(&mut state, KeyCode::Char('j'));
    press(&mut state, KeyCode::Enter);
    assert_eq!(rows_of(&state)[1].destination, Destination::SameAsSource);
    for _ in 0..5 {
        press(&mut state, KeyCode::Left);
    }
    press(&mut state, KeyCode::Enter);
    assert!(matches!(&pane(&state).choice, Some(c) if c.kind == ChoiceKind::Type));
    // q closes the list and changes nothing.
    press(&mut state, KeyCode::Char('q'));
    assert_eq!(state.focus(), Focus::Pane(migtable::ID));
    assert_eq!(rows_of(&state)[1].entry_type, fixture().rows()[1].entry_type);
    // Back to what was read: nothing is unsaved any more.
    press(&mut state, KeyCode::Right);
    press(&mut state, KeyCode::Right);
    assert!(crate::tui::update::unsaved(&state).is_none());
}

#[test]
fn deleting_a_row_asks_first() {
    let mut state = with_rows();
    press(&mut state, KeyCode::Char('j'));
    press(&mut state, KeyCode::Char('d'));
    let Some(Popup::Confirm(question)) = &state.popup else { panic!("a question") };
    assert_eq!(question.on_yes, OnYes::Pane(migtable::ID));
    let text: Vec<String> = question.lines(&Theme::plain(), 100, "").iter().map(|l| l.to_string()).collect();
    assert!(text[0].starts_with("Delete row 2 of corp.migtable?"), "{text:?}");
    assert!(text.iter().any(|l| l.contains(r"CORP\WS0142$")), "{text:?}");
    press(&mut state, KeyCode::Char('n'));
    assert_eq!(rows_of(&state), fixture().rows(), "no keeps the row");
    assert!(pane(&state).question.is_none());
    press(&mut state, KeyCode::Char('d'));
    press(&mut state, KeyCode::Char('y'));
    let mut expected = fixture().rows().to_vec();
    expected.remove(1);
    assert_eq!(rows_of(&state), expected);
    assert!(crate::tui::update::unsaved(&state).is_some());
}

#[test]
fn malformed_rows_are_marked_inline_with_the_reason_the_core_gives() {
    let mut state = editor();
    for (source, form_downs) in [(r"\\fs01\deploy", 1), ("", 0), (r"\\FS01\Deploy", 0)] {
        press(&mut state, KeyCode::Char('i'));
        type_text(&mut state, source);
        press(&mut state, KeyCode::Enter);
        if form_downs > 0 {
            press(&mut state, KeyCode::Char('f'));
            for _ in 0..form_downs {
                press(&mut state, KeyCode::Char('j'));
            }
            press(&mut state, KeyCode::Enter);
        }
    }
    let table = pane(&state).table().clone();
    let issues = table.validate();
    let kinds: Vec<&Issue> = issues.iter().map(|i| &i.issue).collect();
    assert!(kinds.contains(&&Issue::NoneOnUncPath), "{kinds:?}");
    assert!(kinds.contains(&&Issue::EmptySource), "{kinds:?}");
    assert!(kinds.contains(&&Issue::DuplicateSource { first_row: 1 }), "{kinds:?}");
    update(&mut state, Msg::Resize(120, 40));
    let screen = screen_text(&render(&state, 120, 40));
    for issue in &issues {
        let reasons = match pane(&state).mark(issue.row - 1) {
            Mark::Bad(reasons) => reasons,
            other => panic!("row {} is marked {other:?}", issue.row),
        };
        assert!(reasons.contains(&issue.issue.to_string()), "{reasons:?}");
        let start: String = issue.issue.to_string().chars().take(40).collect();
        assert!(screen.contains(&start), "{start} not shown:\n{screen}");
    }
    assert_eq!(screen.matches('✗').count(), 3, "{screen}");
    // Fixed, the mark goes: the first row keeps its path.
    press(&mut state, KeyCode::Home);
    press(&mut state, KeyCode::Char('f'));
    press(&mut state, KeyCode::Home);
    press(&mut state, KeyCode::Char('j'));
    press(&mut state, KeyCode::Enter);
    assert_eq!(pane(&state).mark(0), Mark::Plain);
}

#[test]
fn unsaved_changes_are_guarded_when_leaving_opening_and_quitting() {
    let mut state = unsaved_question();
    let Some(Popup::Confirm(question)) = &state.popup else { panic!("q asks first") };
    assert_eq!(question.on_yes, OnYes::Pane(migtable::ID));
    assert!(question.plan.as_ref().unwrap().title.contains("Unsaved changes to corp.migtable"));
    press(&mut state, KeyCode::Char('n'));
    assert_eq!(state.focused, migtable::ID, "no: still here");
    let edited = rows_of(&state);
    assert_ne!(edited, fixture().rows());
    // Yes: the changes go, and so does the editor.
    press(&mut state, KeyCode::Char('q'));
    press(&mut state, KeyCode::Char('y'));
    assert_eq!(state.focused, tree::ID);
    assert_eq!(rows_of(&state), fixture().rows());

    // Leaving by number keeps the changes; quitting from anywhere asks.
    let mut state = unsaved_question();
    press(&mut state, KeyCode::Char('n'));
    press(&mut state, KeyCode::Char('1'));
    assert_eq!(state.focused, tree::ID);
    assert_eq!(rows_of(&state), edited);
    assert!(press(&mut state, KeyCode::Char('q')).is_empty(), "q in the tree would quit: it asks");
    assert!(matches!(&state.popup, Some(Popup::Confirm(q)) if q.on_yes == OnYes::Quit));
    press(&mut state, KeyCode::Char('n'));
    assert!(ctrl(&mut state, 'c').is_empty());
    assert!(matches!(press(&mut state, KeyCode::Char('y')).as_slice(), [Effect::Quit]));

    // Opening another table or a new one asks too.
    let mut state = unsaved_question();
    press(&mut state, KeyCode::Char('n'));
    press(&mut state, KeyCode::Char('c'));
    assert!(matches!(&state.popup, Some(Popup::Confirm(q)) if q.on_yes == OnYes::Pane(migtable::ID)));
    press(&mut state, KeyCode::Esc);
    assert_eq!(rows_of(&state), edited);
    press(&mut state, KeyCode::Char('o'));
    press(&mut state, KeyCode::Char('y'));
    assert!(matches!(&state.popup, Some(Popup::Prompt(f)) if matches!(f.prompt, Prompt::OpenTable(_))));
    // Saved, nothing is asked.
    let mut state = with_rows();
    press(&mut state, KeyCode::Char('c'));
    assert!(state.popup.is_none() && rows_of(&state).is_empty() && pane(&state).path.is_none());
    assert!(matches!(press(&mut state, KeyCode::Char('q')).as_slice(), []));
    assert_eq!(state.focused, tree::ID);
    assert!(matches!(press(&mut state, KeyCode::Char('q')).as_slice(), [Effect::Quit]));
}

#[test]
fn populating_from_the_tree_gpo_and_the_backup_list_merges_without_duplicates() {
    let mut desk = Desk::new();
    let mut state = connected_state();
    // Not on a GPO: it says where to select one, and asks for nothing.
    press(&mut state, KeyCode::Char('3'));
    assert!(press(&mut state, KeyCode::Char('p')).is_empty());
    assert!(state.status().notes().front().unwrap().text.starts_with("Select a GPO in the tree"));
    press(&mut state, KeyCode::Char('1'));
    go_to(&mut state, |k| matches!(k, NodeKey::Gpo(_, g) if *g == id(FINANCE)));
    press(&mut state, KeyCode::Char('3'));
    let effects = press(&mut state, KeyCode::Char('p'));
    let [Effect::PopulateMigtable { from, .. }] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!(from, &PopulateFrom::Gpo { domain: 1, gpo: id(FINANCE), name: "Finance Drive Maps".into() });
    assert!(pane(&state).busy.len() == 1 && state.animating());
    assert!(screen_text(&render(&state, 120, 40)).contains("populating from GPO \"Finance Drive Maps\"…"));
    desk.serve(&mut state, effects);
    let found = redirection_rows().rows;
    assert!(found.len() >= 3, "{found:?}");
    assert_eq!(rows_of(&state), found);
    // Again: everything is there already.
    desk.press(&mut state, KeyCode::Char('p'));
    assert_eq!(rows_of(&state), found);
    let note = &state.status().notes().front().unwrap().text;
    assert!(note.contains(&format!("0 rows added, {} already in the table", found.len())), "{note}");

    // The backup list's selection, merged after the rows there are.
    let mut folder = super::backups::StandIn::new();
    super::backups::focus_backups(&mut state, &mut folder);
    let selected = super::backups::pane(&state).selected().expect("a backup").clone();
    press(&mut state, KeyCode::Char('3'));
    let effects = press(&mut state, KeyCode::Char('P'));
    let [Effect::PopulateMigtable { from, .. }] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!(
        from,
        &PopulateFrom::Backup {
            dir: PathBuf::from(super::backups::SHOWN),
            backup_id: selected.backup_id.clone(),
            name: selected.display_name.clone()
        }
    );
    let (core_rows, _) =
        core::populate_from_backup(folder.path(), &selected.backup_id, PopulateOptions::default()).unwrap();
    let mut expected = MigrationTable::from_rows(found);
    expected.merge(core_rows.table.rows().to_vec());
    desk.backups = Some(folder);
    desk.serve(&mut state, effects);
    assert_eq!(rows_of(&state), expected.rows());
    assert!(!pane(&state).table().validate().iter().any(|i| matches!(i.issue, Issue::DuplicateSource { .. })));
}

#[test]
fn validating_marks_each_row_against_the_connected_domain() {
    let mut desk = Desk::new();
    let mut state = opened(&mut desk);
    let effects = press(&mut state, KeyCode::Char('v'));
    assert!(
        matches!(effects.as_slice(), [Effect::ValidateMigtable { domain: 1, table, .. }] if table.rows() == fixture().rows()),
        "the tree cursor's domain, connected: {effects:?}"
    );
    desk.serve(&mut state, effects);
    let fake = FakeDomain::new();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let checks = runtime.block_on(core::validate_table(&fake.session, &fixture())).unwrap();
    assert!(checks.iter().any(|c| c.is_ok()) && checks.iter().any(|c| !c.is_ok()), "{checks:#?}");
    for check in &checks {
        match pane(&state).mark(check.row - 1) {
            Mark::Ok => assert!(check.is_ok(), "{check:?}"),
            Mark::Bad(reasons) => {
                for problem in &check.problems {
                    assert!(reasons.contains(&problem.to_string()), "{problem} not in {reasons:?}");
                }
            }
            Mark::Plain => panic!("row {} unmarked", check.row),
        }
    }
    let screen = screen_text(&render(&state, 120, 40));
    assert!(screen.contains("✓ ") && screen.contains("✗ ") && screen.contains("checked against corp.example.test"));
    // An edited row loses the domain's mark: it was not checked as it is now.
    press(&mut state, KeyCode::Enter);
    type_text(&mut state, "x");
    press(&mut state, KeyCode::Enter);
    assert_eq!(pane(&state).mark(0), Mark::Plain);

    // Nothing connected: it says so. Several, the tree elsewhere: the admin chooses.
    let mut state = fresh_state();
    press(&mut state, KeyCode::Char('3'));
    assert!(press(&mut state, KeyCode::Char('v')).is_empty());
    assert!(state.status().notes().front().unwrap().text.starts_with("Connect a domain to validate against"));
    let mut state = domain_list();
    assert_eq!(state.focus(), Focus::Choose);
    let Some(choice) = &pane(&state).choice else { panic!("a domain list") };
    assert_eq!(
        choice.kind,
        ChoiceKind::Domain(vec![(0, "branch.example.test".into()), (1, "corp.example.test".into())])
    );
    press(&mut state, KeyCode::Char('j'));
    let effects = press(&mut state, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::ValidateMigtable { domain: 1, .. }]), "{effects:?}");
}

#[test]
fn the_filter_narrows_the_rows_and_a_new_row_clears_it() {
    let mut state = filtering();
    let p = pane(&state);
    let expected = fixture().rows().iter().filter(|m| m.source.to_lowercase().contains("corp")).count();
    assert_eq!(p.len(), expected);
    assert!(p.len() < fixture().len());
    press(&mut state, KeyCode::Enter);
    press(&mut state, KeyCode::Char('i'));
    assert_eq!(pane(&state).len(), fixture().len() + 1, "the new row is shown");
}

#[test]
fn the_editors_keys_can_be_rebound_in_the_config() {
    use crate::tui::keymap::{KeyOverrides, Keymap};
    use gpvault::config::KeyRebinding;
    let choice = KeyRebinding { action: "add_row".into(), keys: vec!["+".into()], line: Some(4) };
    let overrides = KeyOverrides::from_config(&[choice], crate::tui::panes::PANES, "config.toml").unwrap();
    let keymap = Keymap { panes: crate::tui::panes::PANES, overrides: &overrides };
    let here = Focus::Pane(migtable::ID);
    let plus = KeyEvent::new(KeyCode::Char('+'), KeyModifiers::NONE);
    assert_eq!(keymap.action_for(here, &plus), Some(Action::AddRow));
    assert_eq!(keymap.action_for(here, &KeyEvent::new(KeyCode::Char('i'), KeyModifiers::NONE)), None);
    assert!(keymap.hints(here).iter().any(|h| h.key == "+" && h.hint == "insert"));
    // A letter in a cell being edited stays a letter.
    let bad = KeyRebinding { action: "add_row".into(), keys: vec!["s".into()], line: Some(5) };
    assert!(KeyOverrides::from_config(&[bad], crate::tui::panes::PANES, "config.toml").is_err());
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
fn screens_of_the_editor() {
    snapshots("editor_empty", &mut editor());
    // Rows, checked against the domain, one malformed row under the cursor.
    let mut desk = Desk::new();
    let mut state = opened(&mut desk);
    let effects = press(&mut state, KeyCode::Char('v'));
    desk.serve(&mut state, effects);
    press(&mut state, KeyCode::End);
    press(&mut state, KeyCode::Char('f'));
    press(&mut state, KeyCode::Char('j'));
    press(&mut state, KeyCode::Enter);
    assert!(matches!(pane(&state).mark(8), Mark::Bad(_)));
    snapshots("editor_rows", &mut state);
    snapshots("editor_editing_a_cell", &mut editing_a_cell());
    snapshots("editor_type_list", &mut type_list());
    snapshots("editor_unsaved_question", &mut unsaved_question());
}
