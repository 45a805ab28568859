//! The keymap: every binding with its description. Bindings that apply everywhere or in popups
//! are in the table below; a pane's own keys live in its file (`PaneSpec::keys`). The help
//! overlay, the footer and every key named in a text (`key_for`) are generated from these
//! tables, so they cannot drift from what the keys do.
//!
//! Only plain keys, arrows and Tab: function keys and Alt chords get eaten by SSH clients,
//! screen/tmux and terminal emulators. Ctrl-C is the one chord, because everyone expects it.
//!
//! The admin may rebind actions in the config file's `[keys]` table (`back_up = "x"`, or a list
//! of keys); [`KeyOverrides`] checks them once at start, and a key that would then do two things
//! where keys go is refused with the config line that caused it.

use std::collections::HashMap;
use std::sync::OnceLock;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use gpvault::config::KeyRebinding;
use ratatui_textarea::Input;

use super::action::{Action, Msg};
use super::panes::{PANES, PaneSpec};
use super::state::Focus;

/// Where a binding applies, in terms of where keys go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// In every pane (not in popups, the filter line or the help).
    Panes,
    /// Only there: one pane, or one kind of overlay.
    On(Focus),
    /// Even in popups and the help.
    Anywhere,
}

impl Scope {
    pub fn applies(self, focus: Focus) -> bool {
        match self {
            Scope::Anywhere => true,
            Scope::Panes => matches!(focus, Focus::Pane(_)),
            Scope::On(only) => only == focus,
        }
    }

    /// Where letters are text: a binding here keeps its keys whatever the config says.
    fn types_text(self) -> bool {
        matches!(self, Scope::On(Focus::Form | Focus::Filter | Focus::Edit))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    pub code: KeyCode,
    pub ctrl: bool,
    pub label: &'static str,
}

pub const fn key(code: KeyCode, label: &'static str) -> KeySpec {
    KeySpec { code, ctrl: false, label }
}

pub const fn ch(c: char, label: &'static str) -> KeySpec {
    KeySpec { code: KeyCode::Char(c), ctrl: false, label }
}

impl KeySpec {
    pub fn matches(&self, event: &KeyEvent) -> bool {
        // Shift is part of the character itself ('B'), and some terminals report it, some do not.
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        let alt = event.modifiers.contains(KeyModifiers::ALT);
        self.code == event.code && self.ctrl == ctrl && !alt
    }

    fn same_key(&self, other: &KeySpec) -> bool {
        self.code == other.code && self.ctrl == other.ctrl
    }

    /// A key that types a character into a text field.
    fn is_text(&self) -> bool {
        matches!(self.code, KeyCode::Char(_)) && !self.ctrl
    }

    /// A key as the config file names it: one character (`"b"`, `"B"`, `"/"`), a named key
    /// (`"Enter"`, `"Esc"`, `"Tab"`, `"Shift-Tab"`, `"Space"`, `"Backspace"`, `"Up"`, `"Down"`,
    /// `"Left"`, `"Right"`, `"PgUp"`, `"PgDn"`, `"Home"`, `"End"`, `"Delete"`) or `"Ctrl-x"`
    /// with a letter. Function keys, Alt chords and Ctrl-S/Ctrl-Q (terminal flow control) are
    /// refused: SSH clients, tmux and terminals eat them.
    pub fn parse(text: &str) -> Result<KeySpec, String> {
        let mut chars = text.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            if c.is_control() {
                return Err("a control character is not a key name".into());
            }
            if c == ' ' {
                return Ok(ch(' ', "Space"));
            }
            return Ok(ch(c, leak(c.to_string())));
        }
        let lower = text.trim().to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("ctrl-").or_else(|| lower.strip_prefix("ctrl+")) {
            let mut letters = rest.chars();
            return match (letters.next(), letters.next()) {
                (Some('s' | 'q'), None) => {
                    Err(format!("{text} is the terminal's flow control (it freezes the screen over SSH)"))
                }
                (Some(c), None) if c.is_ascii_lowercase() => Ok(KeySpec {
                    code: KeyCode::Char(c),
                    ctrl: true,
                    label: leak(format!("Ctrl-{}", c.to_ascii_uppercase())),
                }),
                _ => Err(format!("{text}: only Ctrl with a letter")),
            };
        }
        let named = match lower.as_str() {
            "enter" | "return" => key(KeyCode::Enter, "Enter"),
            "esc" | "escape" => key(KeyCode::Esc, "Esc"),
            "tab" => key(KeyCode::Tab, "Tab"),
            "shift-tab" | "backtab" => key(KeyCode::BackTab, "Shift-Tab"),
            "space" => ch(' ', "Space"),
            "backspace" => key(KeyCode::Backspace, "Backspace"),
            "delete" | "del" => key(KeyCode::Delete, "Delete"),
            "up" => key(KeyCode::Up, "↑"),
            "down" => key(KeyCode::Down, "↓"),
            "left" => key(KeyCode::Left, "←"),
            "right" => key(KeyCode::Right, "→"),
            "pgup" | "pageup" => key(KeyCode::PageUp, "PgUp"),
            "pgdn" | "pagedown" => key(KeyCode::PageDown, "PgDn"),
            "home" => key(KeyCode::Home, "Home"),
            "end" => key(KeyCode::End, "End"),
            other if other.starts_with('f') && other[1..].parse::<u8>().is_ok() => {
                return Err(format!("{text}: function keys get eaten by SSH clients and terminals; use a letter"));
            }
            other if other.starts_with("alt") || other.starts_with("meta") || other.starts_with("m-") => {
                return Err(format!("{text}: Alt chords get eaten by SSH clients and terminals; use a letter"));
            }
            other if other.starts_with("shift-") => {
                return Err(format!("{text}: write the shifted character itself (\"B\", not \"Shift-b\")"));
            }
            _ => return Err(format!("'{text}' is not a key this program knows")),
        };
        Ok(named)
    }
}

/// Labels of keys from the config file live as long as the program (a few bytes, made once at
/// start), like the built-in ones.
fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

#[derive(Debug)]
pub struct Binding {
    pub scope: Scope,
    pub keys: &'static [KeySpec],
    pub action: Action,
    /// For the help overlay.
    pub desc: &'static str,
    /// For the footer: a few words, shown after the first key's label. `None`: help only.
    pub hint: Option<&'static str>,
    /// The hint is shown only where the others leave room (a wide terminal).
    pub minor: bool,
}

pub const fn bind(
    scope: Scope,
    keys: &'static [KeySpec],
    action: Action,
    desc: &'static str,
    hint: Option<&'static str>,
) -> Binding {
    Binding { scope, keys, action, desc, hint, minor: false }
}

/// [`bind`] for a key whose footer hint comes last: shown where the others leave room, so an
/// 80-column footer keeps the everyday keys.
pub const fn bind_minor(
    scope: Scope,
    keys: &'static [KeySpec],
    action: Action,
    desc: &'static str,
    hint: &'static str,
) -> Binding {
    Binding { scope, keys, action, desc, hint: Some(hint), minor: true }
}

const FORM: Scope = Scope::On(Focus::Form);
const FILTER: Scope = Scope::On(Focus::Filter);
const CONFIRM: Scope = Scope::On(Focus::Confirm);
const HELP: Scope = Scope::On(Focus::Help);
const EDIT: Scope = Scope::On(Focus::Edit);
const CHOOSE: Scope = Scope::On(Focus::Choose);
use Scope::{Anywhere, Panes};

pub static KEYMAP: &[Binding] = &[
    // Moving, in whichever pane has the focus.
    bind(Panes, &[key(KeyCode::Up, "↑"), ch('k', "k")], Action::Up, "Move up (scroll in details and status)", None),
    bind(
        Panes,
        &[key(KeyCode::Down, "↓"), ch('j', "j")],
        Action::Down,
        "Move down (scroll in details and status)",
        None,
    ),
    bind(Panes, &[key(KeyCode::PageUp, "PgUp")], Action::PageUp, "Page up", None),
    bind(Panes, &[key(KeyCode::PageDown, "PgDn")], Action::PageDown, "Page down", None),
    bind(Panes, &[key(KeyCode::Home, "Home"), ch('g', "g")], Action::Top, "Go to the top", None),
    bind(Panes, &[key(KeyCode::End, "End"), ch('G', "G")], Action::Bottom, "Go to the bottom", None),
    // Finding things.
    bind(Panes, &[ch('/', "/")], Action::Filter, "Filter the list as you type", Some("filter")),
    bind(Panes, &[ch('n', "n")], Action::NextMatch, "Next match of the filter", None),
    bind(Panes, &[ch('N', "N")], Action::PrevMatch, "Previous match of the filter", None),
    // Commands.
    bind(
        Panes,
        &[ch('b', "b")],
        Action::BackUp,
        "Back up the selected GPO (asks for folder and comment)",
        Some("back up"),
    ),
    bind(Panes, &[ch('B', "B")], Action::BackUpAll, "Back up every GPO of the selected domain", Some("back up all")),
    bind(
        Panes,
        &[ch('r', "r")],
        Action::Refresh,
        "Reconnect the domain (backup list: re-read its folder)",
        Some("refresh"),
    ),
    bind(
        Panes,
        &[ch('F', "F")],
        Action::SearchSettings,
        "Search the settings of the tree's domain (from the backup list: its folder's backups) for a registry key or value, a principal or a UNC path",
        None,
    ),
    // Panes.
    bind(Panes, &[key(KeyCode::Tab, "Tab")], Action::NextPane, "Next pane", Some("pane")),
    bind(Panes, &[ch('H', "H")], Action::ShowHealth, "The health view: a check of the domain, or search hits", None),
    bind(Panes, &[key(KeyCode::BackTab, "Shift-Tab")], Action::PrevPane, "Previous pane", None),
    bind(Panes, &[ch('1', "1")], Action::Focus1, "Focus pane 1 (numbers are in the titles)", None),
    bind(Panes, &[ch('2', "2")], Action::Focus2, "Focus pane 2", None),
    bind(Panes, &[ch('3', "3")], Action::Focus3, "Focus pane 3", None),
    bind(Panes, &[ch('4', "4")], Action::Focus4, "Focus pane 4", None),
    bind(Panes, &[ch('?', "?")], Action::Help, "Show or hide this help", Some("help")),
    bind(Panes, &[ch('q', "q")], Action::Back, "Back to the first pane; there, quit", Some("quit")),
    bind(
        Panes,
        &[key(KeyCode::Esc, "Esc")],
        Action::CancelRun,
        "Clear the filter; else cancel the running backup (asks first); else back, as quit",
        None,
    ),
    // The filter line.
    bind(FILTER, &[key(KeyCode::Enter, "Enter")], Action::Confirm, "Keep the filter, back to the list", Some("keep")),
    bind(FILTER, &[key(KeyCode::Esc, "Esc")], Action::Cancel, "Clear the filter", Some("clear")),
    bind(FILTER, &[key(KeyCode::Down, "↓")], Action::NextMatch, "Next match", Some("next")),
    bind(FILTER, &[key(KeyCode::Up, "↑")], Action::PrevMatch, "Previous match", None),
    // Popups.
    bind(FORM, &[key(KeyCode::Enter, "Enter")], Action::Confirm, "Confirm", Some("confirm")),
    bind(FORM, &[key(KeyCode::Tab, "Tab")], Action::NextField, "Next field", Some("next field")),
    bind(FORM, &[key(KeyCode::BackTab, "Shift-Tab")], Action::PrevField, "Previous field", None),
    bind(FORM, &[key(KeyCode::Esc, "Esc")], Action::Cancel, "Cancel (in a wizard: back a step)", Some("cancel")),
    bind(FORM, &[key(KeyCode::Up, "↑")], Action::Up, "A wizard: the previous choice", None),
    bind(FORM, &[key(KeyCode::Down, "↓")], Action::Down, "A wizard: the next choice", None),
    bind(FORM, &[key(KeyCode::PageUp, "PgUp")], Action::PageUp, "A wizard: a page up the list", None),
    bind(FORM, &[key(KeyCode::PageDown, "PgDn")], Action::PageDown, "A wizard: a page down the list", None),
    bind(CONFIRM, &[ch('y', "y"), key(KeyCode::Enter, "Enter")], Action::Confirm, "Yes", Some("yes")),
    bind(CONFIRM, &[ch('n', "n"), key(KeyCode::Esc, "Esc"), ch('q', "q")], Action::Cancel, "No", Some("no")),
    bind(CONFIRM, &[key(KeyCode::Up, "↑"), ch('k', "k")], Action::Up, "Scroll a long question up", None),
    bind(CONFIRM, &[key(KeyCode::Down, "↓"), ch('j', "j")], Action::Down, "Scroll a long question down", None),
    bind(CONFIRM, &[key(KeyCode::PageUp, "PgUp")], Action::PageUp, "Page up", None),
    bind(CONFIRM, &[key(KeyCode::PageDown, "PgDn")], Action::PageDown, "Page down", None),
    // A cell edited in place, and a short list to choose from, inside a pane.
    bind(EDIT, &[key(KeyCode::Enter, "Enter")], Action::Confirm, "Keep what is typed", Some("keep")),
    bind(EDIT, &[key(KeyCode::Esc, "Esc")], Action::Cancel, "Leave the cell as it was", Some("cancel")),
    bind(CHOOSE, &[key(KeyCode::Up, "↑"), ch('k', "k")], Action::Up, "Previous choice", None),
    bind(CHOOSE, &[key(KeyCode::Down, "↓"), ch('j', "j")], Action::Down, "Next choice", None),
    bind(CHOOSE, &[key(KeyCode::Home, "Home"), ch('g', "g")], Action::Top, "First choice", None),
    bind(CHOOSE, &[key(KeyCode::End, "End"), ch('G', "G")], Action::Bottom, "Last choice", None),
    bind(CHOOSE, &[key(KeyCode::Enter, "Enter")], Action::Confirm, "Choose", Some("choose")),
    bind(CHOOSE, &[key(KeyCode::Esc, "Esc"), ch('q', "q")], Action::Cancel, "Close the list", Some("cancel")),
    // The help overlay.
    bind(HELP, &[key(KeyCode::Up, "↑"), ch('k', "k")], Action::Up, "Scroll up", None),
    bind(HELP, &[key(KeyCode::Down, "↓"), ch('j', "j")], Action::Down, "Scroll down", None),
    bind(HELP, &[key(KeyCode::PageUp, "PgUp")], Action::PageUp, "Page up", None),
    bind(HELP, &[key(KeyCode::PageDown, "PgDn")], Action::PageDown, "Page down", None),
    bind(
        HELP,
        &[ch('?', "?"), ch('q', "q"), key(KeyCode::Esc, "Esc"), key(KeyCode::Enter, "Enter")],
        Action::Back,
        "Close the help",
        Some("close"),
    ),
    bind(
        Anywhere,
        &[KeySpec { code: KeyCode::Char('c'), ctrl: true, label: "Ctrl-C" }],
        Action::Quit,
        "Quit (asks first while a backup runs)",
        None,
    ),
];

/// The config's rebindings, checked: the keys each rebound action has instead of its own
/// (everywhere but in text fields, where letters are text).
#[derive(Debug, Default)]
pub struct KeyOverrides {
    keys: HashMap<Action, (Vec<KeySpec>, Option<usize>)>,
}

static ACTIVE: OnceLock<KeyOverrides> = OnceLock::new();

impl KeyOverrides {
    /// The rebindings in force: none until [`KeyOverrides::install`].
    pub fn active() -> &'static KeyOverrides {
        static NONE: OnceLock<KeyOverrides> = OnceLock::new();
        ACTIVE.get().unwrap_or_else(|| NONE.get_or_init(KeyOverrides::default))
    }

    /// Makes these the rebindings for the rest of the program (once, at start).
    pub fn install(self) {
        let _ = ACTIVE.set(self);
    }

    /// Checks the config's `[keys]` against the bindings of `panes`: every action named must
    /// exist, every key must be one SSH lets through, and no key may end up doing two things
    /// where keys go. Each problem is one message naming the config line (`where_` is the file).
    pub fn from_config(
        choices: &[KeyRebinding],
        panes: &[&'static PaneSpec],
        where_: &str,
    ) -> Result<KeyOverrides, Vec<String>> {
        let mut overrides = KeyOverrides::default();
        let mut problems = Vec::new();
        let at = |line: Option<usize>| match line {
            Some(line) => format!("{where_} line {line}"),
            None => where_.to_string(),
        };
        for choice in choices {
            let Some(action) = Action::ALL.iter().copied().find(|a| a.config_name() == choice.action) else {
                let known: Vec<String> = rebindable(panes).map(|a| a.config_name()).collect();
                problems.push(format!(
                    "{}: [keys] has no action '{}' (actions: {})",
                    at(choice.line),
                    choice.action,
                    known.join(", ")
                ));
                continue;
            };
            if choice.keys.is_empty() {
                problems.push(format!("{}: [keys] {} = []: give at least one key", at(choice.line), choice.action));
                continue;
            }
            let mut keys = Vec::new();
            for text in &choice.keys {
                match KeySpec::parse(text) {
                    Ok(spec) => keys.push(spec),
                    Err(e) => problems.push(format!("{}: [keys] {} = \"{text}\": {e}", at(choice.line), choice.action)),
                }
            }
            overrides.keys.insert(action, (keys, choice.line));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let keymap = Keymap { panes, overrides: &overrides };
        let mut reported: Vec<(&str, Vec<Action>)> = Vec::new();
        for clash in keymap.clashes() {
            // The same two actions on one key clash in every pane: say it once.
            if reported.iter().any(|(key, actions)| *key == clash.key && *actions == clash.actions) {
                continue;
            }
            reported.push((clash.key, clash.actions.clone()));
            // Clashes among the built-in bindings are the program's own (a test keeps them out).
            let lines: Vec<Option<usize>> =
                clash.actions.iter().filter_map(|a| overrides.keys.get(a).map(|(_, line)| *line)).collect();
            let Some(line) = lines.first() else { continue };
            let what: Vec<String> = clash
                .descriptions
                .iter()
                .zip(&clash.actions)
                .map(|(d, a)| format!("{} ({d})", a.config_name()))
                .collect();
            problems.push(format!(
                "{}: [keys]: {} would do two things {}: {}",
                at(*line),
                clash.key,
                clash.place,
                what.join(" and ")
            ));
        }
        if problems.is_empty() { Ok(overrides) } else { Err(problems) }
    }
}

/// Actions a user may rebind: those bound somewhere outside text fields.
fn rebindable(panes: &[&'static PaneSpec]) -> impl Iterator<Item = Action> {
    let mut actions: Vec<Action> = panes
        .iter()
        .flat_map(|p| p.keys.iter())
        .chain(KEYMAP.iter())
        .filter(|b| !b.scope.types_text())
        .map(|b| b.action)
        .collect();
    actions.dedup();
    let mut seen = Vec::new();
    actions.retain(|a| {
        let new = !seen.contains(a);
        seen.push(*a);
        new
    });
    actions.into_iter()
}

/// A key that does two things at one place.
#[derive(Debug)]
pub struct Clash {
    pub key: &'static str,
    pub place: String,
    pub actions: Vec<Action>,
    pub descriptions: Vec<&'static str>,
}

/// A binding with the keys it has after the config's rebindings.
#[derive(Clone, Copy)]
pub struct Bound<'a> {
    pub binding: &'static Binding,
    pub keys: &'a [KeySpec],
}

/// The bindings of a pane list with a set of rebindings: what keys do, what the footer and the
/// help say, which key a text names.
pub struct Keymap<'a> {
    pub panes: &'a [&'static PaneSpec],
    pub overrides: &'a KeyOverrides,
}

impl<'a> Keymap<'a> {
    /// The app's keymap over `panes`, with the rebindings in force.
    pub fn of(panes: &'a [&'static PaneSpec]) -> Keymap<'a> {
        Keymap { panes, overrides: KeyOverrides::active() }
    }

    fn bound(&self, binding: &'static Binding) -> Bound<'a> {
        let keys = match self.overrides.keys.get(&binding.action) {
            Some((keys, _)) if !binding.scope.types_text() => keys.as_slice(),
            _ => binding.keys,
        };
        Bound { binding, keys }
    }

    /// Every binding: the panes' own, then the table's.
    fn all(&self) -> impl Iterator<Item = Bound<'a>> + '_ {
        self.panes.iter().flat_map(|p| p.keys.iter()).chain(KEYMAP.iter()).map(|b| self.bound(b))
    }

    /// The bindings that apply at `focus`: the focused pane's own first, then the table's.
    pub fn applicable(&self, focus: Focus) -> impl Iterator<Item = Bound<'a>> + '_ {
        let own = self.panes.iter().filter(move |p| focus == Focus::Pane(p.id)).flat_map(|p| p.keys.iter());
        own.chain(KEYMAP.iter()).filter(move |b| b.scope.applies(focus)).map(|b| self.bound(b))
    }

    pub fn action_for(&self, focus: Focus, event: &KeyEvent) -> Option<Action> {
        self.applicable(focus).find(|b| b.keys.iter().any(|k| k.matches(event))).map(|b| b.binding.action)
    }

    /// The message a key press becomes: a bound action, or text for a field or the filter line.
    pub fn message_for(&self, focus: Focus, event: KeyEvent) -> Option<Msg> {
        if event.kind == KeyEventKind::Release {
            return None;
        }
        if let Some(action) = self.action_for(focus, &event) {
            return Some(Msg::Action(action));
        }
        matches!(focus, Focus::Form | Focus::Filter | Focus::Edit).then(|| Msg::Typed(Input::from(event)))
    }

    /// Footer hints at `focus`, in table order (the pane's own keys first).
    pub fn hints(&self, focus: Focus) -> Vec<Hint> {
        self.applicable(focus)
            .filter(|b| b.binding.scope != Anywhere)
            .filter_map(|b| {
                let key = b.keys.first()?.label;
                b.binding.hint.map(|hint| Hint { key, hint, action: b.binding.action, minor: b.binding.minor })
            })
            .collect()
    }

    /// The label of the first key bound to `action` where it applies first (the panes' tables,
    /// then the main one).
    pub fn key_for(&self, action: Action) -> &'static str {
        self.all().find(|b| b.binding.action == action).and_then(|b| b.keys.first()).map_or("?", |k| k.label)
    }

    pub fn key_at(&self, focus: Focus, action: Action) -> &'static str {
        self.applicable(focus)
            .find(|b| b.binding.action == action)
            .and_then(|b| b.keys.first())
            .map_or("?", |k| k.label)
    }

    /// Help overlay sections: (heading, [(keys, description)]); each pane with keys of its own
    /// first.
    pub fn help_sections(&self) -> Vec<(&'static str, Vec<(String, &'static str)>)> {
        let row = |b: Bound| (b.keys.iter().map(|k| k.label).collect::<Vec<_>>().join(" "), b.binding.desc);
        let mut sections: Vec<(&'static str, Vec<(String, &'static str)>)> = self
            .panes
            .iter()
            .filter(|p| !p.keys.is_empty())
            .map(|p| (p.name, p.keys.iter().map(|b| row(self.bound(b))).collect()))
            .collect();
        for (scope, title) in [
            (Panes, "Everywhere"),
            (FILTER, "The filter line"),
            (FORM, "Popups with fields"),
            (EDIT, "A cell being edited"),
            (CHOOSE, "Choice lists"),
            (CONFIRM, "Questions"),
            (HELP, "This help"),
            (Anywhere, "Always"),
        ] {
            sections.push((title, KEYMAP.iter().filter(|b| b.scope == scope).map(|b| row(self.bound(b))).collect()));
        }
        sections
    }

    /// Every place keys can go.
    fn foci(&self) -> Vec<(Focus, String)> {
        let mut all: Vec<(Focus, String)> =
            self.panes.iter().map(|p| (Focus::Pane(p.id), format!("in the {} pane", p.name.to_lowercase()))).collect();
        all.extend([
            (Focus::Filter, "in the filter line".to_string()),
            (Focus::Form, "in popups with fields".to_string()),
            (Focus::Edit, "in a cell being edited".to_string()),
            (Focus::Choose, "in choice lists".to_string()),
            (Focus::Confirm, "in questions".to_string()),
            (Focus::Help, "in the help".to_string()),
        ]);
        all
    }

    /// Keys that do two things at one place, and letters bound where they should be typed.
    pub fn clashes(&self) -> Vec<Clash> {
        let mut clashes = Vec::new();
        for (focus, place) in self.foci() {
            let mut seen: Vec<(KeySpec, Action, &'static str)> = Vec::new();
            for bound in self.applicable(focus) {
                for k in bound.keys {
                    if let Some((_, other, desc)) = seen.iter().find(|(s, _, _)| s.same_key(k)) {
                        if *other != bound.binding.action {
                            clashes.push(Clash {
                                key: k.label,
                                place: place.clone(),
                                actions: vec![*other, bound.binding.action],
                                descriptions: vec![desc, bound.binding.desc],
                            });
                        }
                    } else {
                        seen.push((*k, bound.binding.action, bound.binding.desc));
                    }
                    if matches!(focus, Focus::Form | Focus::Filter | Focus::Edit) && k.is_text() {
                        clashes.push(Clash {
                            key: k.label,
                            place: format!("{place} (where it is typed)"),
                            actions: vec![bound.binding.action],
                            descriptions: vec![bound.binding.desc],
                        });
                    }
                }
            }
        }
        clashes
    }
}

/// The message a key press becomes: a bound action, or text for the popup's field.
pub fn message_for(panes: &[&'static PaneSpec], focus: Focus, event: KeyEvent) -> Option<Msg> {
    Keymap::of(panes).message_for(focus, event)
}

/// One footer hint: the key's label, a few words, and the action (to leave some out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hint {
    pub key: &'static str,
    pub hint: &'static str,
    pub action: Action,
    /// Shown only where the others leave room.
    pub minor: bool,
}

/// Footer hints at `focus`, in table order (the pane's own keys first).
pub fn hints(panes: &[&'static PaneSpec], focus: Focus) -> Vec<Hint> {
    Keymap::of(panes).hints(focus)
}

/// The label of the first key bound to `action` where it applies first (the panes' tables, then
/// this one): what texts say when they name a key ("B backs up all"), so a rebinding changes
/// every hint.
pub fn key_for(action: Action) -> &'static str {
    Keymap::of(PANES).key_for(action)
}

/// The label of the first key bound to `action` at `focus` (the help overlay names its own).
pub fn key_at(focus: Focus, action: Action) -> &'static str {
    Keymap::of(PANES).key_at(focus, action)
}

/// Help overlay sections: (heading, [(keys, description)]); each pane with keys of its own first.
pub fn help_sections(panes: &[&'static PaneSpec]) -> Vec<(&'static str, Vec<(String, &'static str)>)> {
    Keymap::of(panes).help_sections()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::panes::{details, status, tree};

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    fn every_focus() -> Vec<Focus> {
        let mut all: Vec<Focus> = PANES.iter().map(|p| Focus::Pane(p.id)).collect();
        all.extend([Focus::Filter, Focus::Form, Focus::Edit, Focus::Choose, Focus::Confirm, Focus::Help]);
        all
    }

    fn built_in() -> Keymap<'static> {
        static NONE: OnceLock<KeyOverrides> = OnceLock::new();
        Keymap { panes: PANES, overrides: NONE.get_or_init(KeyOverrides::default) }
    }

    #[test]
    fn no_key_is_bound_twice_where_keys_go() {
        let clashes = built_in().clashes();
        assert!(clashes.is_empty(), "{clashes:#?}");
    }

    #[test]
    fn letters_type_into_forms_and_the_filter_but_act_in_panes() {
        let keymap = built_in();
        let tree = Focus::Pane(tree::ID);
        let q = press(KeyCode::Char('q'), KeyModifiers::NONE);
        assert!(matches!(keymap.message_for(tree, q), Some(Msg::Action(Action::Back))));
        assert!(matches!(keymap.message_for(Focus::Form, q), Some(Msg::Typed(_))));
        assert!(matches!(keymap.message_for(Focus::Filter, q), Some(Msg::Typed(_))));
        let n = press(KeyCode::Char('n'), KeyModifiers::NONE);
        assert_eq!(keymap.action_for(tree, &n), Some(Action::NextMatch));
        assert!(matches!(keymap.message_for(Focus::Filter, n), Some(Msg::Typed(_))), "n is typed in the filter");
        assert_eq!(keymap.action_for(Focus::Confirm, &n), Some(Action::Cancel), "and means no in a question");
        let shift_b = press(KeyCode::Char('B'), KeyModifiers::SHIFT);
        assert_eq!(keymap.action_for(Focus::Pane(details::ID), &shift_b), Some(Action::BackUpAll));
        let ctrl_c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(keymap.action_for(Focus::Form, &ctrl_c), Some(Action::Quit));
        assert_eq!(keymap.action_for(Focus::Filter, &ctrl_c), Some(Action::Quit));
        assert_eq!(keymap.action_for(tree, &press(KeyCode::Char('x'), KeyModifiers::NONE)), None);
        // The tree's own keys work only in the tree.
        let enter = press(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(keymap.action_for(tree, &enter), Some(Action::Toggle));
        assert_eq!(keymap.action_for(Focus::Pane(status::ID), &enter), None);
        assert_eq!(keymap.action_for(Focus::Filter, &enter), Some(Action::Confirm));
        // No function keys, no Alt chords, anywhere.
        for focus in every_focus() {
            for binding in keymap.applicable(focus) {
                for k in binding.keys {
                    assert!(!matches!(k.code, KeyCode::F(_)), "{} at {focus:?}", k.label);
                }
            }
        }
    }

    #[test]
    fn footer_and_help_come_from_the_tables() {
        let keymap = built_in();
        let tree: Vec<_> =
            keymap.hints(Focus::Pane(tree::ID)).iter().map(|h| format!("{} {}", h.key, h.hint)).collect();
        assert_eq!(
            tree,
            [
                "Enter expand",
                "c copy",
                "v paste",
                "i import",
                "R restore",
                "d diff",
                "/ filter",
                "b back up",
                "B back up all",
                "r refresh",
                "Tab pane",
                "? help",
                "q quit"
            ]
        );
        let filter: Vec<_> = keymap.hints(Focus::Filter).iter().map(|h| format!("{} {}", h.key, h.hint)).collect();
        assert_eq!(filter, ["Enter keep", "Esc clear", "↓ next"]);
        let sections = keymap.help_sections();
        let described: usize = sections.iter().map(|(_, rows)| rows.len()).sum();
        let pane_keys: usize = PANES.iter().map(|p| p.keys.len()).sum();
        assert_eq!(described, pane_keys + KEYMAP.len(), "every binding is in the help once");
    }

    #[test]
    fn the_key_a_text_names_does_what_the_text_says() {
        let keymap = built_in();
        // For every action a text could name, pressing the named key somewhere gives that action.
        for action in Action::ALL {
            let label = keymap.key_for(*action);
            let Some(spec) = keymap.all().find(|b| b.binding.action == *action).and_then(|b| b.keys.first().copied())
            else {
                assert_eq!(label, "?");
                continue;
            };
            assert_eq!(label, spec.label);
            let modifiers = if spec.ctrl { KeyModifiers::CONTROL } else { KeyModifiers::NONE };
            let event = KeyEvent::new(spec.code, modifiers);
            assert!(
                every_focus().into_iter().any(|f| keymap.action_for(f, &event) == Some(*action)),
                "{} does not give {action:?} anywhere",
                spec.label
            );
        }
        assert_eq!(keymap.key_at(Focus::Help, Action::Down), "↓");
        assert_eq!(keymap.key_for(Action::BackUpAll), "B");
        assert_eq!(keymap.key_for(Action::Filter), "/");
    }

    fn choice(action: &str, keys: &[&str], line: usize) -> KeyRebinding {
        KeyRebinding { action: action.into(), keys: keys.iter().map(|k| k.to_string()).collect(), line: Some(line) }
    }

    #[test]
    fn the_config_rebinds_keys_everywhere_it_names_them() {
        let overrides = KeyOverrides::from_config(
            &[choice("back_up", &["x"], 3), choice("refresh", &["Ctrl-r", "U"], 4), choice("next_match", &["Y"], 5)],
            PANES,
            "config.toml",
        )
        .expect("valid rebindings");
        let keymap = Keymap { panes: PANES, overrides: &overrides };
        let tree = Focus::Pane(tree::ID);
        let x = press(KeyCode::Char('x'), KeyModifiers::NONE);
        assert_eq!(keymap.action_for(tree, &x), Some(Action::BackUp));
        assert_eq!(keymap.action_for(tree, &press(KeyCode::Char('b'), KeyModifiers::NONE)), None, "b is free now");
        let ctrl_r = press(KeyCode::Char('r'), KeyModifiers::CONTROL);
        assert_eq!(keymap.action_for(tree, &ctrl_r), Some(Action::Refresh));
        // Texts, the footer and the help follow.
        assert_eq!(keymap.key_for(Action::BackUp), "x");
        assert_eq!(keymap.key_for(Action::Refresh), "Ctrl-R");
        assert!(keymap.hints(tree).iter().any(|h| h.key == "x" && h.hint == "back up"));
        let help = keymap.help_sections();
        let everywhere = &help.iter().find(|(t, _)| *t == "Everywhere").unwrap().1;
        assert!(everywhere.iter().any(|(keys, desc)| keys == "Ctrl-R U" && desc.starts_with("Reconnect")));
        // In text fields letters stay text: the filter line keeps its own keys.
        assert!(matches!(keymap.message_for(Focus::Filter, x), Some(Msg::Typed(_))));
        assert_eq!(
            keymap.action_for(Focus::Filter, &press(KeyCode::Down, KeyModifiers::NONE)),
            Some(Action::NextMatch)
        );
    }

    #[test]
    fn a_conflict_or_a_bad_key_is_refused_with_its_line() {
        let refused =
            |choices: &[KeyRebinding]| KeyOverrides::from_config(choices, PANES, "/etc/gpvault.toml").unwrap_err();
        // Two actions on one key where keys go.
        let errors = refused(&[choice("refresh", &["b"], 12)]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("/etc/gpvault.toml line 12: [keys]: b would do two things"), "{}", errors[0]);
        assert!(errors[0].contains("back_up") && errors[0].contains("refresh"), "{}", errors[0]);
        // Two rebindings onto one key: both lines are the admin's; the first is named.
        let errors = refused(&[choice("back_up", &["z"], 7), choice("refresh", &["z"], 8)]);
        assert!(errors[0].contains("line 7") && errors[0].contains("z would do two things"), "{errors:?}");
        // A letter for an action that applies everywhere would stop it being typed.
        let errors = refused(&[choice("quit", &["x"], 3)]);
        assert!(errors.iter().any(|e| e.contains("where it is typed")), "{errors:?}");
        // Keys SSH eats, and names that are not keys or actions.
        for (keys, says) in [
            ("F5", "function keys"),
            ("Alt-x", "Alt chords"),
            ("Ctrl-s", "flow control"),
            ("Shift-b", "shifted character"),
            ("Hyper", "not a key"),
        ] {
            let errors = refused(&[choice("back_up", &[keys], 2)]);
            assert!(errors[0].starts_with("/etc/gpvault.toml line 2: [keys] back_up = "), "{errors:?}");
            assert!(errors[0].contains(says), "{keys}: {errors:?}");
        }
        let errors = refused(&[choice("bakup", &["x"], 9)]);
        assert!(errors[0].contains("no action 'bakup'") && errors[0].contains("back_up_all"), "{errors:?}");
        assert!(!errors[0].contains("next_field"), "actions of text fields are not offered: {errors:?}");
    }

    #[test]
    fn action_names_are_snake_case() {
        assert_eq!(Action::BackUpAll.config_name(), "back_up_all");
        assert_eq!(Action::Focus1.config_name(), "focus_1");
        assert_eq!(Action::Up.config_name(), "up");
        let mut names: Vec<String> = Action::ALL.iter().map(|a| a.config_name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
    }

    /// The string literals of Rust source, comments skipped, with the text just before each.
    fn string_literals(source: &str) -> Vec<(String, String)> {
        let chars: Vec<char> = source.chars().collect();
        let mut found = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '/' if chars.get(i + 1) == Some(&'/') => {
                    while i < chars.len() && chars[i] != '\n' {
                        i += 1;
                    }
                }
                '/' if chars.get(i + 1) == Some(&'*') => {
                    i += 2;
                    while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                        i += 1;
                    }
                    i += 2;
                }
                // A char literal ('"', '\''), not a lifetime ('static).
                '\'' if chars.get(i + 1) == Some(&'\\') => i += 4,
                '\'' if chars.get(i + 2) == Some(&'\'') => i += 3,
                '"' => {
                    let before: String = chars[i.saturating_sub(30)..i].iter().collect();
                    let raw = i > 0 && chars[i - 1] == 'r';
                    let mut text = String::new();
                    i += 1;
                    while i < chars.len() && chars[i] != '"' {
                        if chars[i] == '\\' && !raw {
                            i += 1;
                        }
                        text.push(chars[i]);
                        i += 1;
                    }
                    i += 1;
                    found.push((before, text));
                }
                _ => i += 1,
            }
        }
        found
    }

    /// Whether a text names `label` as a key: a named key as a whole word ("Enter on the
    /// domain"), a one-character key in "(r retries)", "(r: retry)" or "B backs up" form.
    fn names_key(text: &str, label: &str) -> bool {
        if label.chars().count() > 1 {
            return text.split(|c: char| !c.is_alphanumeric() && c != '-').any(|word| word == label);
        }
        let starts_word = |rest: &str| rest.starts_with(' ') || rest.starts_with(':');
        text.match_indices(label).any(|(at, _)| {
            let before = text[..at].chars().last();
            let after = &text[at + label.len()..];
            matches!(before, None | Some('('))
                && starts_word(after)
                && after.trim_start_matches([' ', ':']).starts_with(char::is_lowercase)
        })
    }

    #[test]
    fn no_text_of_the_tui_names_a_key_by_hand() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui");
        let mut files = vec![root.clone()];
        let mut sources = Vec::new();
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if path.extension().is_some_and(|e| e == "rs") && !path.starts_with(root.join("tests")) {
                sources.push(path);
            }
        }
        assert!(sources.len() > 10, "found the TUI's sources: {sources:?}");
        let mut labels: Vec<&str> = built_in().all().flat_map(|b| b.keys.iter().map(|k| k.label)).collect();
        labels.sort();
        labels.dedup();
        let mut offenders = Vec::new();
        for path in sources {
            let source = std::fs::read_to_string(&path).unwrap();
            // Tests keep their texts; the key tables name keys by definition.
            let code = source.split("#[cfg(test)]\nmod ").next().unwrap_or("");
            for (before, text) in string_literals(code) {
                let defines_a_key =
                    before.trim_end().ends_with(',') && (before.contains("key(KeyCode::") || before.contains("ch('"));
                if defines_a_key || before.trim_end().ends_with("label:") {
                    continue;
                }
                for label in &labels {
                    if names_key(&text, label) {
                        offenders.push(format!("{}: {text:?} names {label}", path.display()));
                    }
                }
            }
        }
        assert!(offenders.is_empty(), "texts must name keys through key_for:\n{}", offenders.join("\n"));
        // The check sees what it looks for.
        assert!(names_key("Select a GPO to back up (B backs up all)", "B"));
        assert!(names_key("connect first (Enter on the domain)", "Enter"));
        assert!(names_key("failed (r: retry)", "r"));
        assert!(!names_key("A backup is running", "b"));
    }
}
