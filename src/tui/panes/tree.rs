//! The domain tree: domains → "Group Policy Objects" and the OU tree with its links, as GPMC
//! lays it out. The visible rows are derived from the domains and the set of expanded nodes, and
//! rebuilt only when one of them changed (a domain connected, a node folded): not per key, not
//! per frame.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crossterm::event::KeyCode;
use gpvault::model::{Container, ContainerKind, Estate, GpoFlags, GpoId};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState};

use super::{Context, Pane, PaneId, PaneSpec, Request, Slot, pane_block};
use crate::tui::action::Action;
use crate::tui::filter::{FilterChange, FilterEdit, ListFilter, SearchIndex};
use crate::tui::keymap::{Scope, bind, bind_minor, ch, key, key_for};
use crate::tui::natural::{natural_cmp, natural_key};
use crate::tui::state::{DomainNode, Domains, Focus, Phase};
use crate::tui::theme::Theme;

pub const ID: PaneId = PaneId("tree");

const HERE: Scope = Scope::On(Focus::Pane(ID));

pub static SPEC: PaneSpec = PaneSpec {
    id: ID,
    name: "Domain tree",
    slot: Slot::Left,
    numbered: true,
    keys: &[
        bind(
            HERE,
            &[key(KeyCode::Enter, "Enter"), ch(' ', "Space")],
            Action::Toggle,
            "Expand or collapse; on a GPO, show its details",
            Some("expand"),
        ),
        bind(HERE, &[key(KeyCode::Right, "→"), ch('l', "l")], Action::Expand, "Expand, or go to the first child", None),
        bind(HERE, &[key(KeyCode::Left, "←"), ch('h', "h")], Action::Collapse, "Collapse, or go to the parent", None),
        bind_minor(HERE, &[ch('c', "c")], Action::CopyGpo, "Copy the selected GPO (to paste into a domain)", "copy"),
        bind_minor(
            HERE,
            &[ch('v', "v")],
            Action::PasteGpo,
            "Paste the copied GPO into this domain (a wizard)",
            "paste",
        ),
        bind_minor(
            HERE,
            &[ch('i', "i")],
            Action::ImportSettings,
            "Import a backup's settings into this GPO (a wizard)",
            "import",
        ),
        bind_minor(
            HERE,
            &[ch('R', "R")],
            Action::RestoreLatest,
            "Restore this GPO from its latest backup (list 2)",
            "restore",
        ),
        bind_minor(
            HERE,
            &[ch('d', "d")],
            Action::DiffLatest,
            "Compare this GPO with its latest backup, per setting",
            "diff",
        ),
    ],
    new: || Box::new(TreePane::default()),
};

/// A node's identity, stable across refreshes (DNs are kept lower-cased: AD compares them so).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NodeKey {
    Domain(usize),
    /// "connecting…" or the last error, under a domain.
    Notice(usize),
    GpoFolder(usize),
    Gpo(usize, GpoId),
    Container(usize, String),
    Link(usize, String, GpoId),
    Sites(usize),
}

impl NodeKey {
    pub fn domain(&self) -> usize {
        match self {
            NodeKey::Domain(d)
            | NodeKey::Notice(d)
            | NodeKey::GpoFolder(d)
            | NodeKey::Gpo(d, _)
            | NodeKey::Container(d, _)
            | NodeKey::Link(d, _, _)
            | NodeKey::Sites(d) => *d,
        }
    }

    /// The GPO this node stands for: a GPO or a link to one.
    pub fn gpo(&self) -> Option<GpoId> {
        match self {
            NodeKey::Gpo(_, id) | NodeKey::Link(_, _, id) => Some(*id),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum RowKind {
    Domain {
        label: String,
        phase: Phase,
        insecure_tls: bool,
    },
    Notice {
        text: String,
        kind: NoticeKind,
    },
    /// `matching`: how many GPOs the filter shows of `count`.
    GpoFolder {
        count: usize,
        matching: Option<usize>,
    },
    /// The name is shared with the tree's index: building 100,000 rows allocates no names.
    Gpo {
        name: Arc<str>,
        flags: GpoFlags,
    },
    Container {
        name: String,
        kind: ContainerKind,
        blocks_inheritance: bool,
    },
    Link {
        order: usize,
        name: Option<String>,
        enabled: bool,
        enforced: bool,
    },
    Sites {
        count: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    Busy,
    Error,
    Hint,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub key: NodeKey,
    pub depth: u16,
    pub expandable: bool,
    pub expanded: bool,
    pub kind: RowKind,
    /// The filter matches this row (it is not only shown as the way to a match).
    pub matched: bool,
}

#[derive(Debug, Default)]
pub struct TreePane {
    expanded: HashSet<NodeKey>,
    /// Bumped whenever `expanded` changes.
    expanded_generation: u64,
    /// What the domains' data sorts and searches to, rebuilt only when an estate changes.
    index: TreeIndex,
    filter: ListFilter,
    /// The visible rows, and the (domains, expanded, filter) generations they were built from.
    rows: Vec<Row>,
    built_from: Option<(u64, u64, u64)>,
    /// Indices of the rows the filter matches, top to bottom (for n/N and "3/12").
    match_rows: Vec<usize>,
    /// How many times the rows were built: they must not be rebuilt per key or per frame.
    pub rebuilds: u64,
    pub cursor: usize,
    /// The node under the cursor; after the rows change, the cursor follows it.
    cursor_key: Option<NodeKey>,
    /// First visible row.
    pub offset: usize,
}

impl TreePane {
    #[cfg(test)]
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The rows as they would be built from scratch now (tests compare them with the cached ones).
    #[cfg(test)]
    pub fn fresh_rows(&self, domains: &Domains) -> Vec<Row> {
        let mut index = TreeIndex::default();
        index.update(domains);
        build_rows(domains, &self.expanded, &index, self.filter.matches())
    }

    #[cfg(test)]
    pub fn row_count(&self) -> usize {
        self.rows.len()
    }

    pub fn cursor_row(&self) -> Option<&Row> {
        self.rows.get(self.cursor)
    }

    pub fn cursor_key(&self) -> Option<&NodeKey> {
        self.cursor_key.as_ref()
    }

    #[cfg(test)]
    pub fn match_count(&self) -> usize {
        self.match_rows.len()
    }

    #[cfg(test)]
    pub fn list_filter(&self) -> &ListFilter {
        &self.filter
    }

    #[cfg(test)]
    pub fn is_expanded(&self, key: &NodeKey) -> bool {
        self.expanded.contains(key)
    }

    pub fn unfold(&mut self, key: NodeKey) {
        if self.expanded.insert(key) {
            self.expanded_generation += 1;
        }
    }

    pub fn fold(&mut self, key: &NodeKey) {
        if self.expanded.remove(key) {
            self.expanded_generation += 1;
        }
    }

    /// Puts the cursor on a node if it is shown (the opening puts it on a domain's GPOs).
    pub fn select_key(&mut self, key: &NodeKey, height: usize) -> bool {
        match self.rows.iter().position(|r| &r.key == key) {
            Some(at) => {
                self.select(at, height);
                true
            }
            None => false,
        }
    }

    /// Rebuilds the rows when the domains, the expanded nodes or the filter changed, finding the
    /// cursor's node again; keeps the cursor in a window of `height` either way.
    pub fn sync(&mut self, domains: &Domains, height: usize) {
        if self.index.update(domains) {
            self.filter.refresh(&self.index.search);
        }
        let wanted = (domains.generation(), self.expanded_generation, self.filter.generation());
        if self.built_from != Some(wanted) {
            self.rows = build_rows(domains, &self.expanded, &self.index, self.filter.matches());
            self.match_rows = self.rows.iter().enumerate().filter(|(_, r)| r.matched).map(|(i, _)| i).collect();
            self.built_from = Some(wanted);
            self.rebuilds += 1;
            let index = self
                .cursor_key
                .as_ref()
                .and_then(|key| self.rows.iter().position(|r| &r.key == key))
                .unwrap_or(self.cursor);
            self.select(index, height);
        } else {
            self.scroll_into_view(height);
        }
    }

    /// Moves the cursor to `index` (clamped) and scrolls so it stays in a window of `height`.
    pub fn select(&mut self, index: usize, height: usize) {
        if self.rows.is_empty() {
            self.cursor = 0;
            self.cursor_key = None;
            self.offset = 0;
            return;
        }
        self.cursor = index.min(self.rows.len() - 1);
        self.cursor_key = Some(self.rows[self.cursor].key.clone());
        self.scroll_into_view(height);
    }

    fn scroll_into_view(&mut self, height: usize) {
        let height = height.max(1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + height {
            self.offset = self.cursor + 1 - height;
        }
        // No empty space below the last row when the window is taller than what is left.
        self.offset = self.offset.min(self.rows.len().saturating_sub(height));
    }

    /// The nearest row above the cursor that is less indented.
    fn parent_index(&self) -> Option<usize> {
        let depth = self.rows.get(self.cursor)?.depth;
        self.rows[..self.cursor].iter().rposition(|r| r.depth < depth)
    }

    /// The nodes above the cursor's row, nearest first.
    fn ancestors(&self) -> Vec<NodeKey> {
        let mut keys = Vec::new();
        let Some(mut depth) = self.rows.get(self.cursor).map(|r| r.depth) else { return keys };
        for row in self.rows[..self.cursor].iter().rev() {
            if row.depth < depth {
                keys.push(row.key.clone());
                depth = row.depth;
            }
        }
        keys
    }

    fn collapse(&mut self, page: usize) {
        let Some(row) = self.rows.get(self.cursor) else { return };
        if row.expandable && row.expanded && !self.filter.is_active() {
            let key = row.key.clone();
            self.fold(&key);
        } else if let Some(parent) = self.parent_index() {
            self.select(parent, page);
        }
    }

    fn expand(&mut self, ctx: &Context) -> Vec<Request> {
        let Some(row) = self.rows.get(self.cursor) else { return Vec::new() };
        if !row.expandable {
            return Vec::new();
        }
        if row.expanded {
            if self.rows.get(self.cursor + 1).is_some_and(|next| next.depth > row.depth) {
                self.select(self.cursor + 1, ctx.page);
            }
            return Vec::new();
        }
        let key = row.key.clone();
        self.open(key, ctx)
    }

    fn toggle(&mut self, ctx: &Context) -> Vec<Request> {
        let Some(row) = self.rows.get(self.cursor) else { return Vec::new() };
        match &row.key {
            NodeKey::Gpo(d, id) | NodeKey::Link(d, _, id) => vec![Request::ShowGpo(*d, *id)],
            NodeKey::Notice(d) => match ctx.domains.get(*d).map(|domain| &domain.phase) {
                Some(Phase::Failed(_) | Phase::Idle) => vec![Request::Connect(*d)],
                _ => Vec::new(),
            },
            // A filtered tree shows every way to a match open; folding waits for the filter to go.
            _ if self.filter.is_active() && row.expanded => Vec::new(),
            key if row.expandable && row.expanded => {
                let key = key.clone();
                self.fold(&key);
                Vec::new()
            }
            key if row.expandable => {
                let key = key.clone();
                self.open(key, ctx)
            }
            _ => Vec::new(),
        }
    }

    /// Unfolds a node; a domain not read yet connects.
    fn open(&mut self, key: NodeKey, ctx: &Context) -> Vec<Request> {
        self.unfold(key.clone());
        match key {
            NodeKey::Domain(d) => match ctx.domains.get(d) {
                Some(domain) if domain.estate.is_none() && matches!(domain.phase, Phase::Idle | Phase::Failed(_)) => {
                    vec![Request::Connect(d)]
                }
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// The cursor to the next (or previous) matching row, wrapping around.
    fn jump(&mut self, forward: bool, page: usize) {
        let to = if forward {
            self.match_rows.iter().find(|r| **r > self.cursor).or(self.match_rows.first())
        } else {
            self.match_rows.iter().rev().find(|r| **r < self.cursor).or(self.match_rows.last())
        };
        if let Some(to) = to.copied() {
            self.select(to, page);
        }
    }
}

impl Pane for TreePane {
    fn title(&self, _ctx: &Context) -> String {
        "Domains".into()
    }

    fn handle(&mut self, action: Action, ctx: &Context) -> Vec<Request> {
        let page = ctx.page;
        let last = self.rows.len().saturating_sub(1);
        let at = self.cursor;
        let to = match action {
            Action::Up => at.saturating_sub(1),
            Action::Down => (at + 1).min(last),
            Action::PageUp => at.saturating_sub(page),
            Action::PageDown => (at + page).min(last),
            Action::Top => 0,
            Action::Bottom => last,
            Action::Collapse => {
                self.collapse(page);
                return Vec::new();
            }
            Action::Expand => return self.expand(ctx),
            Action::Toggle => return self.toggle(ctx),
            _ => return Vec::new(),
        };
        self.select(to, page);
        Vec::new()
    }

    fn filter(&self) -> Option<&ListFilter> {
        Some(&self.filter)
    }

    fn filter_edit(&mut self, edit: FilterEdit, ctx: &Context) {
        // What the cursor sits in, for when the filter goes: the full tree opens the way to it.
        let ancestors = if edit == FilterEdit::Clear { self.ancestors() } else { Vec::new() };
        let change = self.filter.edit(edit, &self.index.search);
        match change {
            FilterChange::Nothing => {}
            FilterChange::Matches => {
                self.sync(ctx.domains, ctx.page);
                // As you type, the cursor shows the first match.
                if let Some(first) = self.match_rows.first().copied()
                    && !self.rows.get(self.cursor).is_some_and(|r| r.matched)
                {
                    self.select(first, ctx.page);
                }
            }
            FilterChange::Cleared => {
                for key in ancestors {
                    self.unfold(key);
                }
                self.sync(ctx.domains, ctx.page);
            }
            FilterChange::Jump(forward) => self.jump(forward, ctx.page),
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, ctx: &Context, focused: bool) {
        let theme = ctx.theme;
        let mut block = pane_block(self.title(ctx), ctx, focused);
        let at = self.match_rows.binary_search(&self.cursor).ok();
        if let Some(line) = self.filter.line(theme, self.match_rows.len(), at) {
            block = block.title_bottom(line);
        }
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if inner.height == 0 || inner.width == 0 {
            return;
        }
        let width = inner.width as usize;
        let filtering = self.filter.is_active();
        // Only the rows in the window are drawn: a domain can have thousands of GPOs.
        let end = self.rows.len().min(self.offset + inner.height as usize);
        let start = self.offset.min(end);
        let items: Vec<ListItem> = self.rows[start..end]
            .iter()
            .map(|row| {
                let mut line = row_line(row, theme, ctx.spinner);
                // While filtering, the rows that only lead to a match step back.
                if filtering && !row.matched && !matches!(row.kind, RowKind::Domain { .. }) {
                    line = line.style(theme.muted);
                }
                ListItem::new(fit(line, width))
            })
            .collect();
        let list = List::new(items).style(theme.normal).highlight_style(if focused {
            theme.selected
        } else {
            theme.selected_unfocused
        });
        let mut list_state = ListState::default();
        if (start..end).contains(&self.cursor) {
            list_state.select(Some(self.cursor - start));
        }
        frame.render_stateful_widget(list, inner, &mut list_state);
    }

    fn animating(&self, ctx: &Context) -> bool {
        ctx.domains.iter().any(|d| d.phase == Phase::Connecting)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// One domain's data, sorted and indexed once per read of the domain (not per row build).
#[derive(Debug)]
struct DomainIndex {
    estate: Arc<Estate>,
    /// Indices into `estate.gpos`, in natural order of the names.
    gpo_order: Vec<u32>,
    gpo_by_id: HashMap<GpoId, u32>,
    /// The GPOs' names, shared by the rows that show them.
    names: Vec<Arc<str>>,
    /// Indices into `estate.containers` of the OUs under each container (lower-cased DN),
    /// in natural order. An OU whose parent is not itself an OU (it sits in a CN= container)
    /// hangs under its nearest ancestor that is, or under the domain.
    children: HashMap<String, Vec<u32>>,
    sites: Vec<u32>,
    /// The domain's DNS name (GPMC shows it for the domain object, whose own name is "corp").
    domain_name: String,
    /// Where the domain's items start in the tree's search index: its GPOs in `gpo_order`,
    /// then its OUs in `ous`.
    first_item: u32,
    ous: Vec<u32>,
}

impl DomainIndex {
    fn new(estate: Arc<Estate>, first_item: u32) -> Self {
        let mut gpo_order: Vec<u32> = (0..estate.gpos.len() as u32).collect();
        // A byte key per name, made once: 100,000 names sort in a blink.
        gpo_order.sort_by_cached_key(|i| natural_key(&estate.gpos[*i as usize].display_name));
        let gpo_by_id = estate.gpos.iter().enumerate().map(|(i, g)| (g.id, i as u32)).collect();

        let name = |i: &u32| estate.containers[*i as usize].name.as_str();
        let domain_dn = estate.domain.dn.to_lowercase();
        let known: HashSet<String> =
            estate.containers.iter().filter(|c| c.kind != ContainerKind::Site).map(|c| c.dn.to_lowercase()).collect();
        let mut children: HashMap<String, Vec<u32>> = HashMap::new();
        let mut ous = Vec::new();
        for (i, ou) in estate.containers.iter().enumerate().filter(|(_, c)| c.kind == ContainerKind::OrganizationalUnit)
        {
            let dn = ou.dn.to_lowercase();
            let mut parent = parent_dn(&dn);
            while let Some(p) = parent {
                if known.contains(p) {
                    break;
                }
                parent = parent_dn(p);
            }
            let parent = parent.map(str::to_string).unwrap_or_else(|| domain_dn.clone());
            children.entry(parent).or_default().push(i as u32);
            ous.push(i as u32);
        }
        for list in children.values_mut() {
            list.sort_by(|a, b| natural_cmp(name(a), name(b)));
        }
        ous.sort_by(|a, b| natural_cmp(name(a), name(b)));
        let mut sites: Vec<u32> = estate
            .containers
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind == ContainerKind::Site)
            .map(|(i, _)| i as u32)
            .collect();
        sites.sort_by(|a, b| natural_cmp(name(a), name(b)));
        let domain_name =
            if estate.domain.dns_name.is_empty() { estate.domain.dn.clone() } else { estate.domain.dns_name.clone() };
        let names = estate.gpos.iter().map(|g| Arc::from(g.display_name.as_str())).collect();
        DomainIndex { estate, gpo_order, gpo_by_id, names, children, sites, domain_name, first_item, ous }
    }

    fn item_count(&self) -> u32 {
        (self.gpo_order.len() + self.ous.len()) as u32
    }

    /// What the filter searches, per item and lower-cased: a GPO's name and braced GUID, an
    /// OU's name.
    fn search_texts(&self) -> impl Iterator<Item = String> + '_ {
        let gpos = self.gpo_order.iter().map(|i| {
            let gpo = &self.estate.gpos[*i as usize];
            let mut text = gpo.display_name.to_lowercase();
            let mut guid = [0u8; uuid::fmt::Braced::LENGTH];
            text.push(' ');
            text.push_str(gpo.id.0.braced().encode_lower(&mut guid));
            text
        });
        gpos.chain(self.ous.iter().map(|i| self.estate.containers[*i as usize].name.to_lowercase()))
    }

    fn children_of(&self, dn: &str) -> &[u32] {
        self.children.get(dn).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// Every connected domain's index and the search index over all of them.
#[derive(Debug, Default)]
struct TreeIndex {
    domains: Vec<Option<DomainIndex>>,
    search: SearchIndex,
    generation: u64,
}

impl TreeIndex {
    /// Brings the index up to date; true when something changed (a domain was read).
    fn update(&mut self, domains: &Domains) -> bool {
        let same = self.domains.len() == domains.len()
            && self.domains.iter().zip(domains.iter()).all(|(known, domain)| match (known, &domain.estate) {
                (Some(known), Some(estate)) => Arc::ptr_eq(&known.estate, estate),
                (None, None) => true,
                _ => false,
            });
        if same {
            return false;
        }
        let mut first = 0u32;
        self.domains = domains
            .iter()
            .map(|domain| {
                let index = domain.estate.clone().map(|estate| DomainIndex::new(estate, first));
                first += index.as_ref().map_or(0, DomainIndex::item_count);
                index
            })
            .collect();
        self.generation += 1;
        let texts = self.domains.iter().flatten().flat_map(|d| d.search_texts()).collect::<Vec<_>>();
        self.search = SearchIndex::from_lower_case(texts, self.generation);
        true
    }
}

/// The matches of one domain, by kind.
struct DomainMatches {
    gpos: Vec<bool>,
    ous: Vec<bool>,
    any_gpo: usize,
    any_ou: bool,
}

impl DomainMatches {
    fn of(index: &DomainIndex, matches: &[u32]) -> Self {
        let mut found = DomainMatches {
            gpos: vec![false; index.estate.gpos.len()],
            ous: vec![false; index.estate.containers.len()],
            any_gpo: 0,
            any_ou: false,
        };
        let (start, gpo_end, end) =
            (index.first_item, index.first_item + index.gpo_order.len() as u32, index.first_item + index.item_count());
        let from = matches.partition_point(|m| *m < start);
        for item in matches[from..].iter().take_while(|m| **m < end) {
            if *item < gpo_end {
                found.gpos[index.gpo_order[(item - start) as usize] as usize] = true;
                found.any_gpo += 1;
            } else {
                found.ous[index.ous[(item - gpo_end) as usize] as usize] = true;
                found.any_ou = true;
            }
        }
        found
    }
}

/// The visible rows, top to bottom. With a filter, only what matches and the way to it, open.
fn build_rows(
    domains: &[DomainNode],
    expanded: &HashSet<NodeKey>,
    index: &TreeIndex,
    filter: Option<&[u32]>,
) -> Vec<Row> {
    let mut out = Vec::new();
    for (d, domain) in domains.iter().enumerate() {
        let key = NodeKey::Domain(d);
        let domain_index = index.domains.get(d).and_then(Option::as_ref);
        let matches = filter.zip(domain_index).map(|(m, i)| DomainMatches::of(i, m));
        let is_open = match (&matches, filter) {
            (Some(m), _) => m.any_gpo > 0 || m.any_ou,
            (None, Some(_)) => false,
            (None, None) => expanded.contains(&key),
        };
        out.push(Row {
            key,
            depth: 0,
            expandable: true,
            expanded: is_open,
            kind: RowKind::Domain {
                label: domain.label.clone(),
                phase: domain.phase.clone(),
                insecure_tls: domain.insecure_tls(),
            },
            matched: false,
        });
        if !is_open {
            continue;
        }
        if let Some(matches) = &matches {
            if let Some(index) = domain_index {
                filtered_rows(d, index, matches, &mut out);
            }
            continue;
        }
        let notice = match (&domain.target, &domain.phase, &domain.estate) {
            (Err(e), _, _) => Some((e.clone(), NoticeKind::Error)),
            (_, Phase::Failed(e), _) => Some((format!("{e} ({}: retry)", key_for(Action::Refresh)), NoticeKind::Error)),
            (Ok(t), Phase::Connecting, None) => Some((format!("connecting to {}…", t.server), NoticeKind::Busy)),
            (_, Phase::Idle, None) => {
                Some((format!("not connected ({}: connect)", key_for(Action::Toggle)), NoticeKind::Hint))
            }
            _ => None,
        };
        if let Some((text, kind)) = notice {
            out.push(leaf(NodeKey::Notice(d), 1, RowKind::Notice { text, kind }));
        }
        if let Some(index) = domain_index {
            estate_rows(d, index, expanded, &mut out);
        }
    }
    out
}

fn leaf(key: NodeKey, depth: u16, kind: RowKind) -> Row {
    Row { key, depth, expandable: false, expanded: false, kind, matched: false }
}

fn gpo_row(d: usize, index: &DomainIndex, i: u32, matched: bool) -> Row {
    let gpo = &index.estate.gpos[i as usize];
    let kind = RowKind::Gpo { name: index.names[i as usize].clone(), flags: gpo.flags };
    Row { matched, ..leaf(NodeKey::Gpo(d, gpo.id), 2, kind) }
}

fn container_row(d: usize, index: &DomainIndex, container: &Container, depth: u16, expanded: bool) -> Row {
    let dn = container.dn.to_lowercase();
    let expandable = !container.links.is_empty() || !index.children_of(&dn).is_empty();
    // The domain object's own name is its first label ("corp"); GPMC shows the DNS name.
    let name = if container.kind == ContainerKind::Domain { index.domain_name.clone() } else { container.name.clone() };
    Row {
        key: NodeKey::Container(d, dn),
        depth,
        expandable,
        expanded,
        kind: RowKind::Container { name, kind: container.kind, blocks_inheritance: container.blocks_inheritance },
        matched: false,
    }
}

/// The domain object itself, or a stand-in when the directory did not return it.
fn root_container(estate: &Estate) -> std::borrow::Cow<'_, Container> {
    match estate.containers.iter().find(|c| c.kind == ContainerKind::Domain) {
        Some(root) => std::borrow::Cow::Borrowed(root),
        None => std::borrow::Cow::Owned(Container {
            dn: estate.domain.dn.clone(),
            name: estate.domain.dns_name.clone(),
            kind: ContainerKind::Domain,
            blocks_inheritance: false,
            links: Vec::new(),
        }),
    }
}

fn estate_rows(d: usize, index: &DomainIndex, expanded: &HashSet<NodeKey>, out: &mut Vec<Row>) {
    let estate = &index.estate;
    let folder = NodeKey::GpoFolder(d);
    let folder_open = expanded.contains(&folder);
    out.push(Row {
        expandable: !estate.gpos.is_empty(),
        expanded: folder_open,
        ..leaf(folder, 1, RowKind::GpoFolder { count: estate.gpos.len(), matching: None })
    });
    if folder_open {
        out.extend(index.gpo_order.iter().map(|i| gpo_row(d, index, *i, false)));
    }
    container_rows(d, &root_container(estate), 1, index, expanded, out);
    if !index.sites.is_empty() {
        let key = NodeKey::Sites(d);
        let open = expanded.contains(&key);
        out.push(Row { expandable: true, expanded: open, ..leaf(key, 1, RowKind::Sites { count: index.sites.len() }) });
        if open {
            for site in &index.sites {
                container_rows(d, &estate.containers[*site as usize], 2, index, expanded, out);
            }
        }
    }
}

fn container_rows(
    d: usize,
    container: &Container,
    depth: u16,
    index: &DomainIndex,
    expanded: &HashSet<NodeKey>,
    out: &mut Vec<Row>,
) {
    let dn = container.dn.to_lowercase();
    let open = expanded.contains(&NodeKey::Container(d, dn.clone()));
    out.push(container_row(d, index, container, depth, open));
    if !open {
        return;
    }
    let mut links: Vec<_> = container.links.iter().collect();
    links.sort_by_key(|l| l.order);
    for link in links {
        out.push(leaf(
            NodeKey::Link(d, dn.clone(), link.gpo_id),
            depth + 1,
            RowKind::Link {
                order: link.order,
                name: index.gpo_by_id.get(&link.gpo_id).map(|i| index.estate.gpos[*i as usize].display_name.clone()),
                enabled: link.enabled,
                enforced: link.enforced,
            },
        ));
    }
    for child in index.children_of(&dn) {
        container_rows(d, &index.estate.containers[*child as usize], depth + 1, index, expanded, out);
    }
}

/// A domain under a filter: the matching GPOs in their folder, the matching OUs with the OUs
/// above them. Links and sites step aside until the filter goes.
fn filtered_rows(d: usize, index: &DomainIndex, matches: &DomainMatches, out: &mut Vec<Row>) {
    let estate = &index.estate;
    if matches.any_gpo > 0 {
        out.push(Row {
            expandable: true,
            expanded: true,
            ..leaf(
                NodeKey::GpoFolder(d),
                1,
                RowKind::GpoFolder { count: estate.gpos.len(), matching: Some(matches.any_gpo) },
            )
        });
        let shown = index.gpo_order.iter().filter(|i| matches.gpos[**i as usize]);
        out.extend(shown.map(|i| gpo_row(d, index, *i, true)));
    }
    if matches.any_ou {
        filtered_containers(d, &root_container(estate), None, 1, index, matches, out);
    }
}

/// Pushes `container` and what under it leads to a match; false (and nothing pushed) if nothing.
fn filtered_containers(
    d: usize,
    container: &Container,
    at: Option<u32>,
    depth: u16,
    index: &DomainIndex,
    matches: &DomainMatches,
    out: &mut Vec<Row>,
) -> bool {
    let mark = out.len();
    let matched = at.is_some_and(|i| matches.ous[i as usize]);
    out.push(Row { matched, ..container_row(d, index, container, depth, true) });
    let mut any = false;
    for child in index.children_of(&container.dn.to_lowercase()) {
        let child_container = &index.estate.containers[*child as usize];
        any |= filtered_containers(d, child_container, Some(*child), depth + 1, index, matches, out);
    }
    if !any && !matched {
        out.truncate(mark);
        return false;
    }
    if !any && let Some(row) = out.get_mut(mark) {
        row.expanded = false;
    }
    true
}

/// The DN without its first RDN; commas escaped with a backslash belong to the RDN.
pub fn parent_dn(dn: &str) -> Option<&str> {
    let bytes = dn.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b',' => return Some(dn[i + 1..].trim_start()),
            _ => i += 1,
        }
    }
    None
}

pub const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

fn row_line<'a>(row: &'a Row, theme: &Theme, spinner: &'static str) -> Line<'a> {
    let mut spans: Vec<Span> = Vec::new();
    spans.push(Span::raw("  ".repeat(row.depth as usize)));
    spans.push(Span::raw(match (row.expandable, row.expanded) {
        (true, true) => "▾ ",
        (true, false) => "▸ ",
        _ => "  ",
    }));
    match &row.kind {
        RowKind::Domain { label, phase, insecure_tls } => {
            // Markers first: on a narrow pane the label is what gets cut, not the warning.
            if *insecure_tls {
                spans.push(Span::styled("⚠ ", theme.warning));
            }
            match phase {
                Phase::Connecting => spans.push(Span::styled(format!("{spinner} "), theme.warning)),
                Phase::Failed(_) => spans.push(Span::styled("✗ ", theme.error)),
                Phase::Ready | Phase::Idle => {}
            }
            spans.push(Span::styled(label.as_str(), theme.header));
        }
        RowKind::Notice { text, kind } => {
            let style = match kind {
                NoticeKind::Busy => {
                    spans.push(Span::styled(format!("{spinner} "), theme.warning));
                    theme.muted
                }
                NoticeKind::Error => theme.error,
                NoticeKind::Hint => theme.muted,
            };
            spans.push(Span::styled(text.as_str(), style));
        }
        RowKind::GpoFolder { count, matching } => {
            spans.push(Span::raw("Group Policy Objects"));
            let count = match matching {
                Some(shown) => format!(" ({shown} of {count})"),
                None => format!(" ({count})"),
            };
            spans.push(Span::styled(count, theme.muted));
        }
        RowKind::Gpo { name, flags } => {
            spans.push(Span::raw(name.as_ref()));
            if let Some(mark) = flags_mark(*flags) {
                spans.push(Span::styled(mark, theme.muted));
            }
        }
        RowKind::Container { name, kind, blocks_inheritance } => {
            let style = if *kind == ContainerKind::Domain { theme.header } else { theme.normal };
            spans.push(Span::styled(name.as_str(), style));
            if *blocks_inheritance {
                spans.push(Span::styled(" [blocks inheritance]", theme.muted));
            }
        }
        RowKind::Link { order, name, enabled, enforced } => {
            spans.push(Span::styled(format!("{order}. "), theme.muted));
            match name {
                Some(name) => spans.push(Span::raw(name.as_str())),
                None => spans.push(Span::styled("(GPO not found)", theme.error)),
            }
            if *enforced {
                spans.push(Span::styled(" [enforced]", theme.warning));
            }
            if !*enabled {
                spans.push(Span::styled(" [link disabled]", theme.muted));
            }
        }
        RowKind::Sites { count } => {
            spans.push(Span::raw("Sites"));
            spans.push(Span::styled(format!(" ({count})"), theme.muted));
        }
    }
    Line::from(spans).style(Style::default())
}

/// Cuts a line to `width` columns, ending in "…" when something was cut.
pub fn fit(line: Line<'_>, width: usize) -> Line<'_> {
    if line.width() <= width {
        return line;
    }
    let style = line.style;
    let mut spans: Vec<Span> = Vec::new();
    let mut used = 0;
    let room = width.saturating_sub(1);
    'outer: for span in line.spans {
        let content = span.content.as_ref();
        for (at, c) in content.char_indices() {
            let w = Span::raw(&content[at..at + c.len_utf8()]).width();
            if used + w > room {
                if at > 0 {
                    spans.push(Span::styled(content[..at].to_string(), span.style));
                }
                break 'outer;
            }
            used += w;
        }
        spans.push(Span::styled(content.to_string(), span.style));
    }
    if width > 0 {
        spans.push(Span::raw("…"));
    }
    Line::from(spans).style(style)
}

/// A short marker for GPOs with halves disabled (GPMC's "GPO Status").
pub fn flags_mark(flags: GpoFlags) -> Option<&'static str> {
    match flags.0 & 3 {
        0 => None,
        1 => Some(" (user half off)"),
        2 => Some(" (computer half off)"),
        _ => Some(" (all settings off)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_rows_end_in_an_ellipsis() {
        let line = Line::from(vec![Span::raw("  "), Span::raw("Default Domain Controllers Policy")]);
        let cut = fit(line, 12);
        assert_eq!(cut.width(), 12);
        assert_eq!(cut.spans.iter().map(|s| s.content.as_ref()).collect::<String>(), "  Default D…");
        assert_eq!(fit(Line::raw("short"), 12).width(), 5);
    }

    #[test]
    fn parent_dn_skips_escaped_commas() {
        assert_eq!(parent_dn("ou=a\\,b,ou=c,dc=x"), Some("ou=c,dc=x"));
        assert_eq!(parent_dn("dc=x"), None);
    }
}
