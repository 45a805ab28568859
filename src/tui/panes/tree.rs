//! The domain tree: domains → "Group Policy Objects" and the OU tree with its links, as GPMC
//! lays it out. The visible rows are derived from the domains and the set of expanded nodes, and
//! rebuilt only when one of them changed (a domain connected, a node folded): not per key, not
//! per frame.

use std::any::Any;
use std::collections::{HashMap, HashSet};

use crossterm::event::KeyCode;
use gpvault::model::{Container, ContainerKind, Estate, GpoFlags, GpoId};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState};

use super::{Context, Pane, PaneId, PaneSpec, Request, Slot, pane_block};
use crate::tui::action::Action;
use crate::tui::keymap::{Scope, bind, ch, key, key_for};
use crate::tui::state::{DomainNode, Domains, Focus, Phase};
use crate::tui::theme::Theme;

pub const ID: PaneId = PaneId("tree");

const HERE: Scope = Scope::On(Focus::Pane(ID));

pub static SPEC: PaneSpec = PaneSpec {
    id: ID,
    name: "Domain tree",
    slot: Slot::Left,
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
    Domain { label: String, phase: Phase, insecure_tls: bool },
    Notice { text: String, kind: NoticeKind },
    GpoFolder { count: usize },
    Gpo { name: String, flags: GpoFlags },
    Container { name: String, kind: ContainerKind, blocks_inheritance: bool },
    Link { order: usize, name: Option<String>, enabled: bool, enforced: bool },
    Sites { count: usize },
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
}

#[derive(Debug, Default)]
pub struct TreePane {
    expanded: HashSet<NodeKey>,
    /// Bumped whenever `expanded` changes.
    expanded_generation: u64,
    /// The visible rows, and the (domains, expanded) generations they were built from.
    rows: Vec<Row>,
    built_from: Option<(u64, u64)>,
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

    pub fn cursor_row(&self) -> Option<&Row> {
        self.rows.get(self.cursor)
    }

    pub fn cursor_key(&self) -> Option<&NodeKey> {
        self.cursor_key.as_ref()
    }

    #[cfg(test)]
    pub fn is_expanded(&self, key: &NodeKey) -> bool {
        self.expanded.contains(key)
    }

    #[cfg(test)]
    pub fn expanded(&self) -> &HashSet<NodeKey> {
        &self.expanded
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

    /// Rebuilds the rows when the domains or the expanded nodes changed, finding the cursor's
    /// node again; keeps the cursor in a window of `height` either way.
    pub fn sync(&mut self, domains: &Domains, height: usize) {
        let wanted = (domains.generation(), self.expanded_generation);
        if self.built_from != Some(wanted) {
            self.rows = rows(domains, &self.expanded);
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

    fn collapse(&mut self, page: usize) {
        let Some(row) = self.rows.get(self.cursor) else { return };
        if row.expandable && row.expanded {
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
}

impl Pane for TreePane {
    fn title(&self, _ctx: &Context) -> String {
        " Domains ".into()
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

    fn render(&self, frame: &mut Frame, area: Rect, ctx: &Context, focused: bool) {
        let theme = ctx.theme;
        let block = pane_block(self.title(ctx), theme, focused);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if inner.height == 0 || inner.width == 0 {
            return;
        }
        let width = inner.width as usize;
        // Only the rows in the window are drawn: a domain can have thousands of GPOs.
        let end = self.rows.len().min(self.offset + inner.height as usize);
        let start = self.offset.min(end);
        let items: Vec<ListItem> = self.rows[start..end]
            .iter()
            .map(|row| ListItem::new(fit(row_line(row, theme, ctx.spinner), width)))
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

/// The visible rows, top to bottom.
pub fn rows(domains: &[DomainNode], expanded: &HashSet<NodeKey>) -> Vec<Row> {
    let mut out = Vec::new();
    for (d, domain) in domains.iter().enumerate() {
        let key = NodeKey::Domain(d);
        let is_open = expanded.contains(&key);
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
        });
        if !is_open {
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
        if let Some(estate) = &domain.estate {
            estate_rows(d, estate, expanded, &mut out);
        }
    }
    out
}

fn leaf(key: NodeKey, depth: u16, kind: RowKind) -> Row {
    Row { key, depth, expandable: false, expanded: false, kind }
}

fn estate_rows(d: usize, estate: &Estate, expanded: &HashSet<NodeKey>, out: &mut Vec<Row>) {
    let folder = NodeKey::GpoFolder(d);
    let folder_open = expanded.contains(&folder);
    out.push(Row {
        key: folder,
        depth: 1,
        expandable: !estate.gpos.is_empty(),
        expanded: folder_open,
        kind: RowKind::GpoFolder { count: estate.gpos.len() },
    });
    if folder_open {
        for gpo in &estate.gpos {
            out.push(leaf(
                NodeKey::Gpo(d, gpo.id),
                2,
                RowKind::Gpo { name: gpo.display_name.clone(), flags: gpo.flags },
            ));
        }
    }

    let hierarchy = OuHierarchy::new(estate);
    let root = estate.containers.iter().find(|c| c.kind == ContainerKind::Domain);
    let fallback_root;
    let root = match root {
        Some(root) => root,
        None => {
            fallback_root = Container {
                dn: estate.domain.dn.clone(),
                name: estate.domain.dns_name.clone(),
                kind: ContainerKind::Domain,
                blocks_inheritance: false,
                links: Vec::new(),
            };
            &fallback_root
        }
    };
    container_rows(d, root, 1, &hierarchy, estate, expanded, out);

    let sites: Vec<&Container> = estate.containers.iter().filter(|c| c.kind == ContainerKind::Site).collect();
    if !sites.is_empty() {
        let key = NodeKey::Sites(d);
        let open = expanded.contains(&key);
        out.push(Row { key, depth: 1, expandable: true, expanded: open, kind: RowKind::Sites { count: sites.len() } });
        if open {
            for site in sites {
                container_rows(d, site, 2, &hierarchy, estate, expanded, out);
            }
        }
    }
}

fn container_rows(
    d: usize,
    container: &Container,
    depth: u16,
    hierarchy: &OuHierarchy,
    estate: &Estate,
    expanded: &HashSet<NodeKey>,
    out: &mut Vec<Row>,
) {
    let dn = container.dn.to_lowercase();
    let children = hierarchy.children_of(&dn);
    let key = NodeKey::Container(d, dn.clone());
    let open = expanded.contains(&key);
    out.push(Row {
        key,
        depth,
        expandable: !container.links.is_empty() || !children.is_empty(),
        expanded: open,
        kind: RowKind::Container {
            // The domain object's name is its first label ("corp"); GPMC shows the DNS name.
            name: if container.kind == ContainerKind::Domain {
                hierarchy.domain_name.clone()
            } else {
                container.name.clone()
            },
            kind: container.kind,
            blocks_inheritance: container.blocks_inheritance,
        },
    });
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
                // A linear search: only links of open containers get here, and there are few.
                name: estate.gpos.iter().find(|g| g.id == link.gpo_id).map(|g| g.display_name.clone()),
                enabled: link.enabled,
                enforced: link.enforced,
            },
        ));
    }
    for child in children {
        container_rows(d, child, depth + 1, hierarchy, estate, expanded, out);
    }
}

/// OUs by parent. An OU whose parent is not itself an OU (it sits in a CN= container) hangs
/// under its nearest ancestor that is, or under the domain.
struct OuHierarchy<'a> {
    children: HashMap<String, Vec<&'a Container>>,
    domain_name: String,
}

impl<'a> OuHierarchy<'a> {
    fn new(estate: &'a Estate) -> Self {
        let domain_dn = estate.domain.dn.to_lowercase();
        let known: HashSet<String> =
            estate.containers.iter().filter(|c| c.kind != ContainerKind::Site).map(|c| c.dn.to_lowercase()).collect();
        let mut children: HashMap<String, Vec<&Container>> = HashMap::new();
        for ou in estate.containers.iter().filter(|c| c.kind == ContainerKind::OrganizationalUnit) {
            let dn = ou.dn.to_lowercase();
            let mut parent = parent_dn(&dn);
            while let Some(p) = parent {
                if known.contains(p) {
                    break;
                }
                parent = parent_dn(p);
            }
            let parent = parent.map(str::to_string).unwrap_or_else(|| domain_dn.clone());
            children.entry(parent).or_default().push(ou);
        }
        for list in children.values_mut() {
            list.sort_by_key(|c| c.name.to_lowercase());
        }
        let domain_name =
            if estate.domain.dns_name.is_empty() { estate.domain.dn.clone() } else { estate.domain.dns_name.clone() };
        OuHierarchy { children, domain_name }
    }

    fn children_of(&self, dn: &str) -> &[&'a Container] {
        self.children.get(dn).map(Vec::as_slice).unwrap_or(&[])
    }
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
            spans.push(Span::styled(label.as_str(), theme.heading));
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
        RowKind::GpoFolder { count } => {
            spans.push(Span::raw("Group Policy Objects"));
            spans.push(Span::styled(format!(" ({count})"), theme.muted));
        }
        RowKind::Gpo { name, flags } => {
            spans.push(Span::raw(name.as_str()));
            if let Some(mark) = flags_mark(*flags) {
                spans.push(Span::styled(mark, theme.muted));
            }
        }
        RowKind::Container { name, kind, blocks_inheritance } => {
            let style = if *kind == ContainerKind::Domain { theme.heading } else { theme.normal };
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
