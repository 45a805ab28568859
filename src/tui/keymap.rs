//! The one keymap: every binding with its description. The help overlay and the footer are
//! generated from this table, so they cannot drift from what the keys do.
//!
//! Only plain keys, arrows and Tab: function keys and Alt chords get eaten by SSH clients,
//! screen/tmux and terminal emulators. Ctrl-C is the one chord, because everyone expects it.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui_textarea::Input;

use super::action::{Action, Msg};

/// Where a binding applies. `Browse` bindings work in the three panes; `Anywhere` even in popups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    Browse,
    Tree,
    Form,
    Confirm,
    Help,
    Anywhere,
}

impl Context {
    /// The heading of this context's section in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Context::Browse => "Everywhere",
            Context::Tree => "Domain tree",
            Context::Form => "Popups with fields",
            Context::Confirm => "Questions",
            Context::Help => "This help",
            Context::Anywhere => "Always",
        }
    }
}

/// What the focus is on, as far as keys are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Tree,
    Details,
    Status,
    Form,
    Confirm,
    Help,
}

impl Mode {
    fn uses(self, context: Context) -> bool {
        match context {
            Context::Anywhere => true,
            Context::Browse => matches!(self, Mode::Tree | Mode::Details | Mode::Status),
            Context::Tree => self == Mode::Tree,
            Context::Form => self == Mode::Form,
            Context::Confirm => self == Mode::Confirm,
            Context::Help => self == Mode::Help,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct KeySpec {
    pub code: KeyCode,
    pub ctrl: bool,
    pub label: &'static str,
}

const fn key(code: KeyCode, label: &'static str) -> KeySpec {
    KeySpec { code, ctrl: false, label }
}

const fn ch(c: char, label: &'static str) -> KeySpec {
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

pub struct Binding {
    pub context: Context,
    pub keys: &'static [KeySpec],
    pub action: Action,
    /// For the help overlay.
    pub desc: &'static str,
    /// For the footer: a few words, shown after the first key's label. `None`: help only.
    pub hint: Option<&'static str>,
}

const fn bind(
    context: Context,
    keys: &'static [KeySpec],
    action: Action,
    desc: &'static str,
    hint: Option<&'static str>,
) -> Binding {
    Binding { context, keys, action, desc, hint }
}

use Context::{Anywhere, Browse, Confirm, Form, Help, Tree};

pub static KEYMAP: &[Binding] = &[
    // The tree.
    bind(
        Tree,
        &[key(KeyCode::Enter, "Enter"), ch(' ', "Space")],
        Action::Toggle,
        "Expand or collapse; on a GPO, show its details",
        Some("expand"),
    ),
    bind(Tree, &[key(KeyCode::Right, "→"), ch('l', "l")], Action::Expand, "Expand, or go to the first child", None),
    bind(Tree, &[key(KeyCode::Left, "←"), ch('h', "h")], Action::Collapse, "Collapse, or go to the parent", None),
    // Moving, in whichever pane has the focus.
    bind(Browse, &[key(KeyCode::Up, "↑"), ch('k', "k")], Action::Up, "Move up (scroll in details and status)", None),
    bind(
        Browse,
        &[key(KeyCode::Down, "↓"), ch('j', "j")],
        Action::Down,
        "Move down (scroll in details and status)",
        None,
    ),
    bind(Browse, &[key(KeyCode::PageUp, "PgUp")], Action::PageUp, "Page up", None),
    bind(Browse, &[key(KeyCode::PageDown, "PgDn")], Action::PageDown, "Page down", None),
    bind(Browse, &[key(KeyCode::Home, "Home"), ch('g', "g")], Action::Top, "Go to the top", None),
    bind(Browse, &[key(KeyCode::End, "End"), ch('G', "G")], Action::Bottom, "Go to the bottom", None),
    // Commands.
    bind(
        Browse,
        &[ch('b', "b")],
        Action::BackUp,
        "Back up the selected GPO (asks for folder and comment)",
        Some("back up"),
    ),
    bind(Browse, &[ch('B', "B")], Action::BackUpAll, "Back up every GPO of the selected domain", Some("back up all")),
    bind(Browse, &[ch('r', "r")], Action::Refresh, "Reconnect and re-read the selected domain", Some("refresh")),
    bind(Browse, &[key(KeyCode::Tab, "Tab")], Action::NextPane, "Next pane (tree, details, status)", Some("pane")),
    bind(Browse, &[key(KeyCode::BackTab, "Shift-Tab")], Action::PrevPane, "Previous pane", None),
    bind(Browse, &[ch('?', "?")], Action::Help, "Show or hide this help", Some("help")),
    bind(
        Browse,
        &[ch('q', "q"), key(KeyCode::Esc, "Esc")],
        Action::Back,
        "Back to the tree; in the tree, quit",
        Some("quit"),
    ),
    // Popups.
    bind(Form, &[key(KeyCode::Enter, "Enter")], Action::Confirm, "Confirm", Some("confirm")),
    bind(Form, &[key(KeyCode::Tab, "Tab")], Action::NextField, "Next field", Some("next field")),
    bind(Form, &[key(KeyCode::BackTab, "Shift-Tab")], Action::PrevField, "Previous field", None),
    bind(Form, &[key(KeyCode::Esc, "Esc")], Action::Cancel, "Cancel", Some("cancel")),
    bind(Confirm, &[ch('y', "y"), key(KeyCode::Enter, "Enter")], Action::Confirm, "Yes", Some("yes")),
    bind(Confirm, &[ch('n', "n"), key(KeyCode::Esc, "Esc"), ch('q', "q")], Action::Cancel, "No", Some("no")),
    // The help overlay.
    bind(Help, &[key(KeyCode::Up, "↑"), ch('k', "k")], Action::Up, "Scroll up", None),
    bind(Help, &[key(KeyCode::Down, "↓"), ch('j', "j")], Action::Down, "Scroll down", None),
    bind(
        Help,
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

pub fn action_for(mode: Mode, event: &KeyEvent) -> Option<Action> {
    KEYMAP.iter().filter(|b| mode.uses(b.context)).find(|b| b.keys.iter().any(|k| k.matches(event))).map(|b| b.action)
}

/// The message a key press becomes: a bound action, or text for the popup's field.
pub fn message_for(mode: Mode, event: KeyEvent) -> Option<Msg> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    if let Some(action) = action_for(mode, &event) {
        return Some(Msg::Action(action));
    }
    (mode == Mode::Form).then(|| Msg::Typed(Input::from(event)))
}

/// Footer hints for a mode: (key label, hint), in table order.
pub fn hints(mode: Mode) -> Vec<(&'static str, &'static str)> {
    KEYMAP
        .iter()
        .filter(|b| mode.uses(b.context) && b.context != Context::Anywhere)
        .filter_map(|b| b.hint.map(|hint| (b.keys[0].label, hint)))
        .collect()
}

/// Help overlay sections: (heading, [(keys, description)]).
pub fn help_sections() -> Vec<(&'static str, Vec<(String, &'static str)>)> {
    let order = [Tree, Browse, Form, Confirm, Anywhere];
    order
        .iter()
        .map(|context| {
            let rows = KEYMAP
                .iter()
                .filter(|b| b.context == *context)
                .map(|b| (b.keys.iter().map(|k| k.label).collect::<Vec<_>>().join(" "), b.desc))
                .collect();
            (context.title(), rows)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn no_key_is_bound_twice_in_one_mode() {
        for mode in [Mode::Tree, Mode::Details, Mode::Status, Mode::Form, Mode::Confirm, Mode::Help] {
            let mut seen: Vec<(KeyCode, bool)> = Vec::new();
            for binding in KEYMAP.iter().filter(|b| mode.uses(b.context)) {
                for k in binding.keys {
                    assert!(!seen.contains(&(k.code, k.ctrl)), "{:?} bound twice in {mode:?}", k.label);
                    seen.push((k.code, k.ctrl));
                }
            }
        }
    }

    #[test]
    fn letters_type_into_forms_but_act_in_panes() {
        let q = press(KeyCode::Char('q'), KeyModifiers::NONE);
        assert!(matches!(message_for(Mode::Tree, q), Some(Msg::Action(Action::Back))));
        assert!(matches!(message_for(Mode::Form, q), Some(Msg::Typed(_))));
        let shift_b = press(KeyCode::Char('B'), KeyModifiers::SHIFT);
        assert_eq!(action_for(Mode::Details, &shift_b), Some(Action::BackUpAll));
        let ctrl_c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(Mode::Form, &ctrl_c), Some(Action::Quit));
        assert_eq!(action_for(Mode::Tree, &press(KeyCode::Char('x'), KeyModifiers::NONE)), None);
    }

    #[test]
    fn footer_and_help_come_from_the_table() {
        let tree: Vec<_> = hints(Mode::Tree).into_iter().map(|(k, h)| format!("{k} {h}")).collect();
        assert_eq!(tree, ["Enter expand", "b back up", "B back up all", "r refresh", "Tab pane", "? help", "q quit"]);
        let sections = help_sections();
        let described: usize = sections.iter().map(|(_, rows)| rows.len()).sum();
        assert_eq!(described, KEYMAP.iter().filter(|b| b.context != Context::Help).count());
    }
}
