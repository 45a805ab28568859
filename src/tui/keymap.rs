//! The keymap: every binding with its description. Bindings that apply everywhere or in popups
//! are in the table below; a pane's own keys live in its file (`PaneSpec::keys`). The help
//! overlay, the footer and every key named in a text (`key_for`) are generated from these
//! tables, so they cannot drift from what the keys do.
//!
//! Only plain keys, arrows and Tab: function keys and Alt chords get eaten by SSH clients,
//! screen/tmux and terminal emulators. Ctrl-C is the one chord, because everyone expects it.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui_textarea::Input;

use super::action::{Action, Msg};
use super::panes::{PANES, PaneSpec};
use super::state::Focus;

/// Where a binding applies, in terms of where keys go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// In every pane (not in popups or the help).
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
}

#[derive(Clone, Copy, Debug)]
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
}

pub const fn bind(
    scope: Scope,
    keys: &'static [KeySpec],
    action: Action,
    desc: &'static str,
    hint: Option<&'static str>,
) -> Binding {
    Binding { scope, keys, action, desc, hint }
}

const FORM: Scope = Scope::On(Focus::Form);
const CONFIRM: Scope = Scope::On(Focus::Confirm);
const HELP: Scope = Scope::On(Focus::Help);
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
    // Commands.
    bind(
        Panes,
        &[ch('b', "b")],
        Action::BackUp,
        "Back up the selected GPO (asks for folder and comment)",
        Some("back up"),
    ),
    bind(Panes, &[ch('B', "B")], Action::BackUpAll, "Back up every GPO of the selected domain", Some("back up all")),
    bind(Panes, &[ch('r', "r")], Action::Refresh, "Reconnect and re-read the selected domain", Some("refresh")),
    bind(Panes, &[key(KeyCode::Tab, "Tab")], Action::NextPane, "Next pane", Some("pane")),
    bind(Panes, &[key(KeyCode::BackTab, "Shift-Tab")], Action::PrevPane, "Previous pane", None),
    bind(Panes, &[ch('?', "?")], Action::Help, "Show or hide this help", Some("help")),
    bind(Panes, &[ch('q', "q")], Action::Back, "Back to the tree; in the tree, quit", Some("quit")),
    bind(
        Panes,
        &[key(KeyCode::Esc, "Esc")],
        Action::CancelRun,
        "Cancel the running backup (asks first); otherwise as q",
        None,
    ),
    // Popups.
    bind(FORM, &[key(KeyCode::Enter, "Enter")], Action::Confirm, "Confirm", Some("confirm")),
    bind(FORM, &[key(KeyCode::Tab, "Tab")], Action::NextField, "Next field", Some("next field")),
    bind(FORM, &[key(KeyCode::BackTab, "Shift-Tab")], Action::PrevField, "Previous field", None),
    bind(FORM, &[key(KeyCode::Esc, "Esc")], Action::Cancel, "Cancel", Some("cancel")),
    bind(CONFIRM, &[ch('y', "y"), key(KeyCode::Enter, "Enter")], Action::Confirm, "Yes", Some("yes")),
    bind(CONFIRM, &[ch('n', "n"), key(KeyCode::Esc, "Esc"), ch('q', "q")], Action::Cancel, "No", Some("no")),
    bind(CONFIRM, &[key(KeyCode::Up, "↑"), ch('k', "k")], Action::Up, "Scroll a long question up", None),
    bind(CONFIRM, &[key(KeyCode::Down, "↓"), ch('j', "j")], Action::Down, "Scroll a long question down", None),
    bind(CONFIRM, &[key(KeyCode::PageUp, "PgUp")], Action::PageUp, "Page up", None),
    bind(CONFIRM, &[key(KeyCode::PageDown, "PgDn")], Action::PageDown, "Page down", None),
    // The help overlay.
    bind(HELP, &[key(KeyCode::Up, "↑"), ch('k', "k")], Action::Up, "Scroll up", None),
    bind(HELP, &[key(KeyCode::Down, "↓"), ch('j', "j")], Action::Down, "Scroll down", None),
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

/// The bindings that apply at `focus`: the focused pane's own first, then the table's.
fn applicable<'a>(panes: &'a [&'static PaneSpec], focus: Focus) -> impl Iterator<Item = &'static Binding> + 'a {
    let own = panes.iter().filter(move |p| focus == Focus::Pane(p.id)).flat_map(|p| p.keys.iter());
    own.chain(KEYMAP.iter()).filter(move |b| b.scope.applies(focus))
}

pub fn action_for(panes: &[&'static PaneSpec], focus: Focus, event: &KeyEvent) -> Option<Action> {
    applicable(panes, focus).find(|b| b.keys.iter().any(|k| k.matches(event))).map(|b| b.action)
}

/// The message a key press becomes: a bound action, or text for the popup's field.
pub fn message_for(panes: &[&'static PaneSpec], focus: Focus, event: KeyEvent) -> Option<Msg> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    if let Some(action) = action_for(panes, focus, &event) {
        return Some(Msg::Action(action));
    }
    (focus == Focus::Form).then(|| Msg::Typed(Input::from(event)))
}

/// One footer hint: the key's label, a few words, and the action (to leave some out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hint {
    pub key: &'static str,
    pub hint: &'static str,
    pub action: Action,
}

/// Footer hints at `focus`, in table order (the pane's own keys first).
pub fn hints(panes: &[&'static PaneSpec], focus: Focus) -> Vec<Hint> {
    applicable(panes, focus)
        .filter(|b| b.scope != Anywhere)
        .filter_map(|b| b.hint.map(|hint| Hint { key: b.keys[0].label, hint, action: b.action }))
        .collect()
}

/// The label of the first key bound to `action` where it applies first (the panes' tables, then
/// this one): what texts say when they name a key ("B backs up all"), so a rebinding changes
/// every hint.
pub fn key_for(action: Action) -> &'static str {
    key_in(PANES.iter().flat_map(|p| p.keys.iter()).chain(KEYMAP.iter()), action)
}

/// The label of the first key bound to `action` at `focus` (the help overlay names its own).
pub fn key_at(focus: Focus, action: Action) -> &'static str {
    key_in(applicable(PANES, focus), action)
}

fn key_in<'a>(bindings: impl Iterator<Item = &'a Binding>, action: Action) -> &'static str {
    // Every action that a text names is bound; "?" would show a missing binding without panicking.
    spec_in(bindings, action).map_or("?", |k| k.label)
}

fn spec_in<'a>(mut bindings: impl Iterator<Item = &'a Binding>, action: Action) -> Option<&'static KeySpec> {
    bindings.find(|b| b.action == action).and_then(|b| b.keys.first())
}

/// Help overlay sections: (heading, [(keys, description)]); each pane with keys of its own first.
pub fn help_sections(panes: &[&'static PaneSpec]) -> Vec<(&'static str, Vec<(String, &'static str)>)> {
    let row = |b: &Binding| (b.keys.iter().map(|k| k.label).collect::<Vec<_>>().join(" "), b.desc);
    let mut sections: Vec<(&'static str, Vec<(String, &'static str)>)> =
        panes.iter().filter(|p| !p.keys.is_empty()).map(|p| (p.name, p.keys.iter().map(row).collect())).collect();
    for (scope, title) in
        [(Panes, "Everywhere"), (FORM, "Popups with fields"), (CONFIRM, "Questions"), (Anywhere, "Always")]
    {
        sections.push((title, KEYMAP.iter().filter(|b| b.scope == scope).map(row).collect()));
    }
    sections
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
        all.extend([Focus::Form, Focus::Confirm, Focus::Help]);
        all
    }

    #[test]
    fn no_key_is_bound_twice_where_keys_go() {
        for focus in every_focus() {
            let mut seen: Vec<(KeyCode, bool)> = Vec::new();
            for binding in applicable(PANES, focus) {
                for k in binding.keys {
                    assert!(!seen.contains(&(k.code, k.ctrl)), "{:?} bound twice at {focus:?}", k.label);
                    seen.push((k.code, k.ctrl));
                }
            }
        }
    }

    #[test]
    fn letters_type_into_forms_but_act_in_panes() {
        let tree = Focus::Pane(tree::ID);
        let q = press(KeyCode::Char('q'), KeyModifiers::NONE);
        assert!(matches!(message_for(PANES, tree, q), Some(Msg::Action(Action::Back))));
        assert!(matches!(message_for(PANES, Focus::Form, q), Some(Msg::Typed(_))));
        let shift_b = press(KeyCode::Char('B'), KeyModifiers::SHIFT);
        assert_eq!(action_for(PANES, Focus::Pane(details::ID), &shift_b), Some(Action::BackUpAll));
        let ctrl_c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(PANES, Focus::Form, &ctrl_c), Some(Action::Quit));
        assert_eq!(action_for(PANES, tree, &press(KeyCode::Char('x'), KeyModifiers::NONE)), None);
        // The tree's own keys work only in the tree.
        let enter = press(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(action_for(PANES, tree, &enter), Some(Action::Toggle));
        assert_eq!(action_for(PANES, Focus::Pane(status::ID), &enter), None);
    }

    #[test]
    fn footer_and_help_come_from_the_tables() {
        let tree: Vec<_> =
            hints(PANES, Focus::Pane(tree::ID)).iter().map(|h| format!("{} {}", h.key, h.hint)).collect();
        assert_eq!(tree, ["Enter expand", "b back up", "B back up all", "r refresh", "Tab pane", "? help", "q quit"]);
        let sections = help_sections(PANES);
        let described: usize = sections.iter().map(|(_, rows)| rows.len()).sum();
        let pane_keys: usize = PANES.iter().map(|p| p.keys.len()).sum();
        assert_eq!(described, pane_keys + KEYMAP.iter().filter(|b| b.scope != HELP).count());
    }

    #[test]
    fn the_key_a_text_names_does_what_the_text_says() {
        // For every action a text could name, pressing the named key somewhere gives that action.
        for action in Action::ALL {
            let Some(spec) = spec_in(PANES.iter().flat_map(|p| p.keys.iter()).chain(KEYMAP.iter()), *action) else {
                continue;
            };
            assert_eq!(key_for(*action), spec.label);
            let modifiers = if spec.ctrl { KeyModifiers::CONTROL } else { KeyModifiers::NONE };
            let event = KeyEvent::new(spec.code, modifiers);
            assert!(
                every_focus().into_iter().any(|f| action_for(PANES, f, &event) == Some(*action)),
                "{} does not give {action:?} anywhere",
                spec.label
            );
        }
        assert_eq!(key_at(Focus::Help, Action::Down), "↓");
        assert_eq!(key_for(Action::BackUpAll), "B");
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
        let mut labels: Vec<&str> = PANES
            .iter()
            .flat_map(|p| p.keys.iter())
            .chain(KEYMAP.iter())
            .flat_map(|b| b.keys.iter().map(|k| k.label))
            .collect();
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
