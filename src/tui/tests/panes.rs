//! What adding a pane takes: a type implementing `Pane`, its `PaneSpec`, and a line in the pane
//! list. Here the list is the app's with a placeholder added (the app's own list is
//! `panes::PANES`); focus and Tab order, the layout, the footer, the help and key dispatch all
//! follow from it with no other change.

use std::any::Any;

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;

use super::*;
use crate::tui::action::Action;
use crate::tui::keymap::{self, Binding, Scope, bind, ch};
use crate::tui::panes::{Context, Pane, PaneId, PaneSpec, Request, Slot, areas, details, pane_block, status, tree};
use crate::tui::state::Focus;

// ---- the new pane: all of it ----------------------------------------------------------------

const PLACEHOLDER: PaneId = PaneId("placeholder");

static KEYS: &[Binding] =
    &[bind(Scope::On(Focus::Pane(PLACEHOLDER)), &[ch('x', "x")], Action::Toggle, "Count a press", Some("count"))];

static PLACEHOLDER_SPEC: PaneSpec = PaneSpec {
    id: PLACEHOLDER,
    name: "Placeholder",
    slot: Slot::Right,
    numbered: true,
    keys: KEYS,
    new: || Box::new(Counter::default()),
};

#[derive(Default)]
struct Counter {
    presses: usize,
}

impl Pane for Counter {
    fn title(&self, _ctx: &Context) -> String {
        "Placeholder".into()
    }
    fn handle(&mut self, action: Action, _ctx: &Context) -> Vec<Request> {
        if action == Action::Toggle {
            self.presses += 1;
        }
        Vec::new()
    }
    fn render(&self, frame: &mut Frame, area: Rect, ctx: &Context, focused: bool) {
        let text = format!("pressed {} times", self.presses);
        frame.render_widget(Paragraph::new(text).block(pane_block(self.title(ctx), ctx, focused)), area);
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

// ---- the one line: the app's list with the new pane after the details -----------------------

static WITH_PLACEHOLDER: &[&PaneSpec] = &[&tree::SPEC, &details::SPEC, &PLACEHOLDER_SPEC, &status::SPEC];

// ---- what follows from it --------------------------------------------------------------------

fn state() -> AppState {
    let domains = fresh_state()
        .domains
        .iter()
        .map(|d| DomainNode::new(d.label.clone(), d.target.clone(), d.password_source))
        .collect();
    let mut state = AppState::with_panes(WITH_PLACEHOLDER, domains, None, t0());
    update(&mut state, Msg::Resize(80, 24));
    state
}

#[test]
fn a_pane_added_to_the_list_takes_its_place_everywhere() {
    let mut state = state();
    // Tab order is list order.
    let mut order = vec![state.focused];
    for _ in 0..4 {
        press(&mut state, KeyCode::Tab);
        order.push(state.focused);
    }
    assert_eq!(order, [tree::ID, details::ID, PLACEHOLDER, status::ID, tree::ID]);

    // Focused, it takes the right slot from the details; its keys reach it and only it.
    press(&mut state, KeyCode::Tab);
    press(&mut state, KeyCode::Tab);
    assert_eq!(state.focused, PLACEHOLDER);
    let a = areas(Rect::new(0, 0, 80, 24), state.panes.specs(), state.focused);
    assert!(a.of(PLACEHOLDER).is_some() && a.of(details::ID).is_none(), "{a:?}");
    press(&mut state, KeyCode::Char('x'));
    press(&mut state, KeyCode::Char('x'));
    assert_eq!(state.panes.find::<Counter>().map(|c| c.presses), Some(2));
    let screen = screen_text(&render(&state, 80, 24));
    assert!(screen.contains("Placeholder") && screen.contains("pressed 2 times"), "{screen}");
    assert!(screen.contains("x count"), "its hint is in the footer:\n{screen}");
    // q goes home, to the first pane of the list; there x means nothing.
    press(&mut state, KeyCode::Char('q'));
    assert_eq!(state.focused, tree::ID);
    press(&mut state, KeyCode::Char('x'));
    assert_eq!(state.panes.find::<Counter>().map(|c| c.presses), Some(2));

    // Numbered, it takes the next number in list order: 2, and the status moves to 3.
    press(&mut state, KeyCode::Char('2'));
    assert_eq!(state.focused, PLACEHOLDER);
    press(&mut state, KeyCode::Char('3'));
    assert_eq!(state.focused, status::ID);
    let screen = screen_text(&render(&state, 120, 40));
    assert!(screen.contains("2 Placeholder") && screen.contains("▶3 Status"), "the tabs name it:\n{screen}");
    press(&mut state, KeyCode::Char('1'));

    // The help lists its keys under its name.
    let sections = keymap::help_sections(state.panes.specs());
    assert!(sections.iter().any(|(title, rows)| *title == "Placeholder" && rows[0].0 == "x"));
}
