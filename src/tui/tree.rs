//! The domain tree: domains → "Group Policy Objects" and the OU tree with its links, as GPMC
//! lays it out. The visible rows are derived from the domains and the set of expanded nodes on
//! each use; the tree's own state is only that set, the cursor and the scroll offset.

use std::collections::{HashMap, HashSet};

use gpvault::model::{Container, ContainerKind, Estate, GpoFlags, GpoId};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, List, ListItem, ListState};

use super::state::{AppState, DomainNode, Phase};
use super::theme::Theme;

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
pub struct TreeState {
    pub expanded: HashSet<NodeKey>,
    pub cursor: usize,
    /// The node under the cursor; after the rows change, the cursor follows it.
    pub cursor_key: Option<NodeKey>,
    /// First visible row.
    pub offset: usize,
}

impl TreeState {
    /// Moves the cursor to `index` (clamped) and scrolls so it stays in a window of `height`.
    pub fn select(&mut self, index: usize, rows: &[Row], height: usize) {
        if rows.is_empty() {
            self.cursor = 0;
            self.cursor_key = None;
            self.offset = 0;
            return;
        }
        self.cursor = index.min(rows.len() - 1);
        self.cursor_key = Some(rows[self.cursor].key.clone());
        self.scroll_into_view(rows.len(), height);
    }

    /// After the rows changed (data arrived, a node collapsed): find the cursor's node again, or
    /// stay at the same height when it is gone.
    pub fn resync(&mut self, rows: &[Row], height: usize) {
        let index =
            self.cursor_key.as_ref().and_then(|key| rows.iter().position(|r| &r.key == key)).unwrap_or(self.cursor);
        self.select(index, rows, height);
    }

    pub fn scroll_into_view(&mut self, len: usize, height: usize) {
        let height = height.max(1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + height {
            self.offset = self.cursor + 1 - height;
        }
        // No empty space below the last row when the window is taller than what is left.
        self.offset = self.offset.min(len.saturating_sub(height));
    }

    /// The nearest row above the cursor that is less indented.
    pub fn parent_index(&self, rows: &[Row]) -> Option<usize> {
        let depth = rows.get(self.cursor)?.depth;
        rows[..self.cursor].iter().rposition(|r| r.depth < depth)
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
            (_, Phase::Failed(e), _) => Some((format!("{e} (r: retry)"), NoticeKind::Error)),
            (Ok(t), Phase::Connecting, None) => Some((format!("connecting to {}…", t.server), NoticeKind::Busy)),
            (_, Phase::Idle, None) => Some(("not connected (Enter: connect)".to_string(), NoticeKind::Hint)),
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

/// Draws the tree into `area` (borders included).
pub fn render(frame: &mut Frame, area: Rect, state: &AppState, rows: &[Row], theme: &Theme, focused: bool) {
    let block = Block::bordered()
        .title(Span::styled(" Domains ", if focused { theme.border_focused } else { theme.border }))
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(if focused { theme.border_focused } else { theme.border });
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let spinner = SPINNER[state.spinner_frame()];
    let width = inner.width as usize;
    // Only the rows in the window are built: a domain can have thousands of GPOs.
    let end = rows.len().min(state.tree.offset + inner.height as usize);
    let start = state.tree.offset.min(end);
    let items: Vec<ListItem> =
        rows[start..end].iter().map(|row| ListItem::new(fit(row_line(row, theme, spinner), width))).collect();
    let list = List::new(items).style(theme.normal).highlight_style(if focused {
        theme.selected
    } else {
        theme.selected_unfocused
    });
    let mut list_state = ListState::default();
    if (start..end).contains(&state.tree.cursor) {
        list_state.select(Some(state.tree.cursor - start));
    }
    frame.render_stateful_widget(list, inner, &mut list_state);
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
