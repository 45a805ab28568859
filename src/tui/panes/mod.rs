//! The panes and the one list they are registered in.
//!
//! A pane owns its state, its keys and its drawing behind [`Pane`], over a read-only
//! [`Context`]. Focus order, Tab order, layout slots, footer hints and the help overlay's
//! sections all come from [`PANES`]: adding a pane is a new file here (with its `PaneSpec`), its
//! `mod` line, and one line in that list.

pub mod backups;
pub mod details;
pub mod health;
pub mod migtable;
pub mod status;
pub mod tree;

use std::any::Any;
use std::path::PathBuf;
use std::time::Instant;

use gpvault::model::GpoId;
use gpvault::ops::PlanDescription;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, BorderType};

use super::action::{Action, Effect, PlanAsk};
use super::filter::{FilterEdit, ListFilter};
use super::keymap::Binding;
use super::state::Domains;
use super::theme::Theme;
use status::{Level, RunKind};
use tree::Row;

/// The panes, in focus and Tab order. The first is home: `q` goes back to it, and quits from it.
pub static PANES: &[&PaneSpec] =
    &[&tree::SPEC, &backups::SPEC, &migtable::SPEC, &details::SPEC, &status::SPEC, &health::SPEC];

/// A pane's name, unique in the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PaneId(pub &'static str);

/// Where a pane goes on the screen. A slot shows one pane at a time: the focused one if it is
/// there, else the first of the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Left,
    Right,
    /// A strip across the bottom, grown while focused; hidden on short terminals unless focused.
    Bottom,
    /// The left and right slots together, while focused (a list with its own details beside or
    /// below it); hidden otherwise.
    Wide,
}

/// What the list knows about a pane without an instance.
pub struct PaneSpec {
    pub id: PaneId,
    /// The header of its keys in the help overlay.
    pub name: &'static str,
    pub slot: Slot,
    /// Whether `1`–`4` reach it: the numbered panes get the numbers in list order (the details
    /// follow the tree's cursor and are reached by Tab and Enter instead).
    pub numbered: bool,
    /// Keys that apply only while this pane has the focus (scope `On(Focus::Pane(id))`).
    pub keys: &'static [Binding],
    pub new: fn() -> Box<dyn Pane>,
}

/// What a pane asks of the app when a key does more than change the pane's own state.
#[derive(Debug)]
pub enum Request {
    /// Connect the domain (it may ask for a password first).
    Connect(usize),
    /// Show this GPO's details now: focus the details and fetch without waiting.
    ShowGpo(usize, GpoId),
    /// Put the tree's cursor on this GPO of the tree's domain and focus the tree.
    ShowInTree(usize, GpoId),
    /// Put the backup list's cursor on this backup of the folder it shows, and focus it.
    ShowBackup(String),
    /// Start a job that only reads (a listing, one backup in full, a comparison, a check).
    Read(Effect),
    /// A line in the status pane.
    Note(Level, String),
    /// Ask for one line of text in a small form; the app hands the answer on.
    Prompt(Prompt),
    /// Ask the core for a plan, show it in the confirmation popup, run it on yes.
    Confirm(Box<ConfirmPlan>),
    /// A yes/no question of the pane's own (delete a row? discard the changes?), in the
    /// confirmation popup; the answer goes back to the pane (`Pane::answer`).
    Ask { pane: PaneId, title: &'static str, question: PlanDescription },
    /// Back to the first pane (the pane was left after a question).
    GoHome,
}

/// One line of text a pane asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// A backup folder to list, prefilled with this one (else the last folder backed up into).
    Folder(Option<PathBuf>),
    /// How many instances of each GPO a prune of this folder keeps.
    PruneKeep(PathBuf),
    /// A migration table file to open, prefilled with this one (else the last one).
    OpenTable(Option<PathBuf>),
    /// Where to save the migration table, prefilled with this path (else the last folder).
    SaveTableAs(Option<PathBuf>),
    /// What to search settings for, and where.
    Search(SearchScope),
}

/// Where a settings search looks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchScope {
    /// The GPOs of the tree's domain (index), as the domain holds them now.
    Domain(usize),
    /// Every instance of a backup folder (the backup list's).
    Backups(PathBuf),
}

/// What has the keys inside a pane, instead of the pane's own bindings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inner {
    /// A text field: letters are typed (`Focus::Edit`).
    Text,
    /// A short list to choose from (`Focus::Choose`).
    Choice,
}

/// The backup selected in the backup list, for panes that act on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectedBackup {
    pub dir: PathBuf,
    pub backup_id: String,
    pub name: String,
}

/// A plan to ask the core for and the words around it.
#[derive(Debug)]
pub struct ConfirmPlan {
    pub ask: PlanAsk,
    /// The popup's frame title: " Delete? ".
    pub title: &'static str,
    /// What the status pane calls the run: "Delete backup {…} of \"Finance\"".
    pub what: String,
    /// Shown while the core works the plan out.
    pub waiting: String,
    /// The domain's DNS name, when the run is about one.
    pub domain: String,
    pub dir: PathBuf,
    pub kind: RunKind,
}

/// What every pane may read: the domains, the clock, the theme and its own size. The node under
/// the tree cursor is the selection that the details show and the commands act on.
pub struct Context<'a> {
    pub domains: &'a Domains,
    pub selected: Option<&'a Row>,
    pub clock: Instant,
    /// The braille spinner's frame for this instant.
    pub spinner: &'static str,
    pub theme: &'a Theme,
    /// Rows and columns inside the pane's borders at the current size, as if it had the focus.
    pub page: usize,
    pub width: u16,
    /// The pane's number (`1`–`4` focus it), shown in its title.
    pub number: Option<usize>,
    /// The backup under the backup list's cursor.
    pub selected_backup: Option<SelectedBackup>,
    /// The folder the backup list has open.
    pub backup_folder: Option<PathBuf>,
}

pub trait Pane: Any {
    /// The border title.
    fn title(&self, ctx: &Context) -> String;
    /// A key meant for this pane (it has the focus).
    fn handle(&mut self, action: Action, ctx: &Context) -> Vec<Request>;
    fn render(&self, frame: &mut Frame, area: Rect, ctx: &Context, focused: bool);
    /// The tree cursor moved to another node.
    fn selection_changed(&mut self, _ctx: &Context) {}
    /// `q`/Esc: close what the pane has open inside itself; false when there is nothing, and
    /// the app goes back a pane instead.
    fn back_out(&mut self) -> bool {
        false
    }
    /// Time passed (only `update` reads the clock): debounced work starts here.
    fn tick(&mut self, _ctx: &Context) -> Vec<Effect> {
        Vec::new()
    }
    /// The pane's list filter (`/`), for a pane whose list can be filtered; `None`: `/` does
    /// nothing here. While the filter's line is open, keys go to it (`Focus::Filter`).
    fn filter(&self) -> Option<&ListFilter> {
        None
    }
    /// A filter key for this pane: it updates its filter (usually through `ListFilter::edit`
    /// with its own `SearchIndex`) and shows what matches.
    fn filter_edit(&mut self, _edit: FilterEdit, _ctx: &Context) {}
    /// Whether the pane changes with time alone (a spinner, a rate).
    fn animating(&self, _ctx: &Context) -> bool {
        false
    }
    /// A text field or a choice list inside the pane has the keys (`Focus::Edit`/`Choose`);
    /// they come to `handle` (Confirm, Cancel, moves) and `typed`/`pasted`.
    fn inner_focus(&self) -> Option<Inner> {
        None
    }
    /// A key typed into the pane's text field.
    fn typed(&mut self, _input: ratatui_textarea::Input) {}
    fn pasted(&mut self, _text: &str) {}
    /// What quitting would lose ("unsaved changes to corp.migtable"), if anything.
    fn unsaved(&self) -> Option<String> {
        None
    }
    /// `q`/Esc with nothing open inside: a question to ask before leaving, if leaving would
    /// lose something (it comes back through `answer`).
    fn leaving(&mut self, _ctx: &Context) -> Option<Request> {
        None
    }
    /// The answer to the pane's own question (`Request::Ask`).
    fn answer(&mut self, _yes: bool, _ctx: &Context) -> Vec<Request> {
        Vec::new()
    }
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// The instances of a pane list, in its order.
pub struct Panes {
    entries: Vec<(&'static PaneSpec, Box<dyn Pane>)>,
    specs: Vec<&'static PaneSpec>,
}

impl Panes {
    pub fn new(specs: &[&'static PaneSpec]) -> Self {
        Panes { entries: specs.iter().map(|s| (*s, (s.new)())).collect(), specs: specs.to_vec() }
    }

    pub fn specs(&self) -> &[&'static PaneSpec] {
        &self.specs
    }

    pub fn ids(&self) -> impl Iterator<Item = PaneId> + '_ {
        self.specs.iter().map(|s| s.id)
    }

    /// The numbered panes in list order: `1` focuses the first.
    pub fn numbered(&self) -> impl Iterator<Item = &'static PaneSpec> + '_ {
        self.specs.iter().copied().filter(|s| s.numbered)
    }

    pub fn number_of(&self, id: PaneId) -> Option<usize> {
        self.numbered().position(|s| s.id == id).map(|at| at + 1)
    }

    pub fn home(&self) -> PaneId {
        self.specs.first().map_or(tree::ID, |s| s.id)
    }

    pub fn contains(&self, id: PaneId) -> bool {
        self.specs.iter().any(|s| s.id == id)
    }

    pub fn get(&self, id: PaneId) -> Option<&dyn Pane> {
        self.entries.iter().find(|(s, _)| s.id == id).map(|(_, p)| p.as_ref())
    }

    pub fn get_mut(&mut self, id: PaneId) -> Option<&mut (dyn Pane + 'static)> {
        self.entries.iter_mut().find(|(s, _)| s.id == id).map(|(_, p)| p.as_mut())
    }

    pub fn iter(&self) -> impl Iterator<Item = (PaneId, &dyn Pane)> {
        self.entries.iter().map(|(s, p)| (s.id, p.as_ref()))
    }

    /// The pane of type `T`, for the app's own wiring (the tree's cursor, the status's run).
    pub fn find<T: Pane>(&self) -> Option<&T> {
        self.entries.iter().find_map(|(_, p)| p.as_any().downcast_ref::<T>())
    }

    pub fn find_mut<T: Pane>(&mut self) -> Option<&mut T> {
        self.entries.iter_mut().find_map(|(_, p)| p.as_any_mut().downcast_mut::<T>())
    }
}

/// Where each part goes at a given size. `update` uses it too, to page by the visible height.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    pub title: Option<Rect>,
    pub panes: Vec<(PaneId, Rect)>,
    pub footer: Option<Rect>,
    /// Smaller than [`MIN_WIDTH`] x [`MIN_HEIGHT`]: only a notice is drawn.
    pub too_small: bool,
}

impl Areas {
    pub fn of(&self, id: PaneId) -> Option<Rect> {
        self.panes.iter().find(|(p, _)| *p == id).map(|(_, r)| *r)
    }
}

/// Below this width the left and right slots take turns instead of sitting side by side.
const SIDE_BY_SIDE_WIDTH: u16 = 60;
/// The smallest terminal the panes are drawn in: a list of a few rows with its footer. Below it
/// the screen says how big it is and how big it needs to be.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;
/// Below this height the bottom slot shows only when it has the focus.
const BOTTOM_MIN_HEIGHT: u16 = 16;

pub fn areas(area: Rect, specs: &[&'static PaneSpec], focused: PaneId) -> Areas {
    let mut a = Areas::default();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        a.too_small = true;
        return a;
    }
    let [title, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(1)]).areas(area);
    a.title = Some(title);
    a.footer = Some(footer);
    let mut body = body;
    let in_slot = |slot: Slot| {
        let mut there = specs.iter().filter(|s| s.slot == slot);
        let first = there.clone().next().map(|s| s.id);
        there.find(|s| s.id == focused).map(|s| s.id).or(first)
    };
    let focused_slot = specs.iter().find(|s| s.id == focused).map(|s| s.slot);
    if let Some(bottom) = in_slot(Slot::Bottom) {
        if area.height >= BOTTOM_MIN_HEIGHT {
            // The focused bottom pane grows, so a long list of results reads without scrolling.
            let height = match (focused_slot == Some(Slot::Bottom), area.height >= 30) {
                (true, _) => body.height * 3 / 5,
                (false, true) => 9,
                (false, false) => 7,
            };
            let [rest, strip] = Layout::vertical([Constraint::Min(0), Constraint::Length(height)]).areas(body);
            a.panes.push((bottom, strip));
            body = rest;
        } else if focused_slot == Some(Slot::Bottom) {
            a.panes.push((bottom, body));
            return a;
        }
    }
    if focused_slot == Some(Slot::Wide) {
        // It stands in for the left and right slots; unfocused, it does not show at all.
        a.panes.push((focused, body));
        return a;
    }
    let (left, right) = (in_slot(Slot::Left), in_slot(Slot::Right));
    match (left, right) {
        (Some(left), Some(right)) if body.width >= SIDE_BY_SIDE_WIDTH => {
            let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
            a.panes.push((left, l));
            a.panes.push((right, r));
        }
        _ => {
            // Narrow: the focused side pane alone, else the left one.
            let alone =
                if matches!(focused_slot, Some(Slot::Left | Slot::Right)) { Some(focused) } else { left.or(right) };
            if let Some(id) = alone {
                a.panes.push((id, body));
            }
        }
    }
    a
}

/// A scroll position after a moving key, for panes that scroll text of `max + 1` lines.
pub fn scrolled(at: u16, action: Action, page: usize, max: usize) -> u16 {
    let (at, page, max) = (at as usize, page.max(1), max.min(u16::MAX as usize));
    let to = match action {
        Action::Up => at.saturating_sub(1),
        Action::Down => at + 1,
        Action::PageUp => at.saturating_sub(page),
        Action::PageDown => at + page,
        Action::Top => 0,
        Action::Bottom => max,
        _ => at,
    };
    to.min(max) as u16
}

/// The marker in the focused pane's title: focus shows without colour, and without relying on
/// the terminal drawing thick lines differently from thin ones.
pub const FOCUS_MARK: &str = "▶";

/// A pane's frame: its number and title; focused, a marker, a thick border and the focus colour.
pub fn pane_block<'a>(title: String, ctx: &Context, focused: bool) -> Block<'a> {
    let theme = ctx.theme;
    let style = if focused { theme.focus } else { theme.border };
    let number = ctx.number.map(|n| format!("{n} ")).unwrap_or_default();
    let title = if focused { format!("{FOCUS_MARK} {number}{title} ") } else { format!(" {number}{title} ") };
    Block::bordered()
        .title(Span::styled(title, style))
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(style)
}

/// What a list pane's frame shows: its title, and its filter line while one is set.
pub struct ListFrame<'a> {
    pub title: String,
    pub filter: &'a ListFilter,
    pub len: usize,
    pub cursor: usize,
}

/// Draws a list pane's frame: its block, with the filter line at the bottom while one is set.
/// Returns the area inside, or `None` when there is none to draw in.
pub fn render_list_frame(frame: &mut Frame, area: Rect, ctx: &Context, focused: bool, list: ListFrame) -> Option<Rect> {
    let ListFrame { title, filter, len, cursor } = list;
    let mut block = pane_block(title, ctx, focused);
    if let Some(line) = filter.line(ctx.theme, len, (len > 0).then_some(cursor)) {
        block = block.title_bottom(line);
    }
    let inner = block.inner(area);
    frame.render_widget(block.style(ctx.theme.normal), area);
    (inner.width > 0 && inner.height > 0).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_slot_shows_its_pane() {
        let mut ids: Vec<&str> = PANES.iter().map(|s| s.id.0).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), PANES.len());
        // At 80x24 every pane has a place; a wide pane takes the tree's and the details' while
        // it has the focus.
        let side_by_side = PANES.iter().filter(|s| s.slot != Slot::Wide).count();
        let a = areas(Rect::new(0, 0, 80, 24), PANES, tree::ID);
        assert_eq!(a.panes.len(), side_by_side, "{a:?}");
        for spec in PANES {
            let a = areas(Rect::new(0, 0, 80, 24), PANES, spec.id);
            assert!(a.of(spec.id).is_some(), "{:?} shows when focused: {a:?}", spec.id);
            if spec.slot == Slot::Wide {
                let shown: Vec<Slot> =
                    a.panes.iter().filter_map(|(id, _)| PANES.iter().find(|s| s.id == *id).map(|s| s.slot)).collect();
                assert_eq!(shown, [Slot::Bottom, Slot::Wide], "{a:?}");
            }
        }
        // Whatever the focus and the size, the panes stay inside the screen and apart.
        for id in PANES.iter().map(|s| s.id) {
            for (w, h) in [(40, 10), (59, 15), (80, 24), (120, 40), (300, 100)] {
                let screen = Rect::new(0, 0, w, h);
                let a = areas(screen, PANES, id);
                assert!(a.of(id).is_some(), "{w}x{h}: the focused pane {id:?} shows");
                for (i, (_, r)) in a.panes.iter().enumerate() {
                    assert_eq!(screen.intersection(*r), *r, "{w}x{h}: inside the screen");
                    for (_, other) in &a.panes[i + 1..] {
                        assert!(!r.intersects(*other), "{w}x{h}: panes overlap: {a:?}");
                    }
                }
            }
        }
        assert!(areas(Rect::new(0, 0, MIN_WIDTH - 1, 24), PANES, tree::ID).too_small);
        assert!(areas(Rect::new(0, 0, 80, MIN_HEIGHT - 1), PANES, tree::ID).too_small);
    }
}
