//! The details pane: what the node under the tree cursor is. A GPO's AD side is shown at once
//! from the domain read already in memory; its SYSVOL side (GPT.INI version, file tree) and the
//! names of the SIDs in its DACL are fetched by a job and cached per GPO.

use std::any::Any;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gpvault::model::{ContainerKind, Estate, Gpo, GpoId, Sid, Version, well_known_sid_name};
use gpvault::ops::inspect::GpoDetails;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::tree::{NodeKey, Row, RowKind};
use super::{Context, Pane, PaneId, PaneSpec, Request, Slot, pane_block, scrolled};
use crate::tui::action::{Action, Effect};
use crate::tui::keymap::key_for;
use crate::tui::natural::natural_cmp;
use crate::tui::state::{DomainNode, Phase};
use crate::tui::theme::Theme;

pub const ID: PaneId = PaneId("details");

pub static SPEC: PaneSpec = PaneSpec {
    id: ID,
    name: "Details",
    slot: Slot::Right,
    numbered: false,
    keys: &[],
    new: || Box::new(DetailsPane::default()),
};

/// How long the cursor must rest on a GPO before its SYSVOL side is fetched: scrolling through
/// a thousand GPOs must not start a thousand SMB reads.
pub const DETAILS_DEBOUNCE: Duration = Duration::from_millis(150);

#[derive(Debug)]
pub enum Fetch {
    Loading,
    Loaded(Box<GpoExtras>),
    Failed(String),
}

#[derive(Debug, Default)]
pub struct DetailsPane {
    cache: HashMap<(usize, GpoId), Fetch>,
    /// Bumped whenever `cache` changes.
    cache_generation: u64,
    /// A GPO the cursor arrived on, and when: fetched once it has rested there long enough.
    pub wanted: Option<(usize, GpoId, Instant)>,
    pub scroll: u16,
    /// The unlinked GPOs of the last domain whose folder was shown, by estate.
    unlinked: RefCell<Option<(usize, Unlinked)>>,
    /// The line count of what is shown, and what it was counted for (node, domains, cache).
    counted: Option<(Option<NodeKey>, u64, u64, usize)>,
}

impl DetailsPane {
    pub fn is_loading(&self) -> bool {
        self.cache.values().any(|f| matches!(f, Fetch::Loading))
    }

    #[cfg(test)]
    pub fn fetch(&self, domain: usize, gpo: GpoId) -> Option<&Fetch> {
        self.cache.get(&(domain, gpo))
    }

    /// Forgets what was fetched for one domain (after a refresh).
    pub fn forget_domain(&mut self, domain: usize) {
        self.cache.retain(|(d, _), _| *d != domain);
        self.cache_generation += 1;
        if self.wanted.is_some_and(|(d, _, _)| d == domain) {
            self.wanted = None;
        }
    }

    /// Fetch this GPO once the cursor has rested on it (the tick starts it).
    pub fn want(&mut self, domain: usize, gpo: GpoId, now: Instant) {
        self.wanted = Some((domain, gpo, now));
    }

    /// Enter on a GPO: fetch now, trying again after a failure.
    pub fn show_now(&mut self, domain: usize, gpo: GpoId, ctx: &Context) -> Option<Effect> {
        self.wanted = None;
        if matches!(self.cache.get(&(domain, gpo)), Some(Fetch::Failed(_))) {
            self.cache.remove(&(domain, gpo));
            self.cache_generation += 1;
        }
        self.start_fetch(domain, gpo, ctx)
    }

    fn start_fetch(&mut self, d: usize, id: GpoId, ctx: &Context) -> Option<Effect> {
        if self.cache.contains_key(&(d, id)) {
            return None;
        }
        let domain = ctx.domains.get(d)?;
        if domain.phase != Phase::Ready {
            return None;
        }
        let estate = domain.estate.clone()?;
        self.cache.insert((d, id), Fetch::Loading);
        self.cache_generation += 1;
        Some(Effect::LoadDetails { domain: d, gpo: id, estate })
    }

    /// A job's answer; only the answer to a fetch still wanted counts (a refresh may have
    /// dropped it).
    pub fn loaded(&mut self, domain: usize, gpo: GpoId, result: Result<Box<GpoExtras>, String>) {
        if matches!(self.cache.get(&(domain, gpo)), Some(Fetch::Loading)) {
            let fetch = match result {
                Ok(extras) => Fetch::Loaded(extras),
                Err(e) => Fetch::Failed(e),
            };
            self.cache.insert((domain, gpo), fetch);
            self.cache_generation += 1;
        }
    }

    /// How many lines the selection's details have (unwrapped): bounds the scrolling. Counted
    /// again only when the node, the domains or the fetched details changed.
    pub fn line_count(&mut self, ctx: &Context) -> usize {
        let key = ctx.selected.map(|r| r.key.clone());
        let generations = (ctx.domains.generation(), self.cache_generation);
        match &self.counted {
            Some((k, d, c, count)) if *k == key && (*d, *c) == generations => *count,
            _ => {
                let count = ctx.selected.map_or(0, |row| self.lines_for(ctx, row).len());
                self.counted = Some((key, generations.0, generations.1, count));
                count
            }
        }
    }
}

impl Pane for DetailsPane {
    fn title(&self, _ctx: &Context) -> String {
        "Details".into()
    }

    fn handle(&mut self, action: Action, ctx: &Context) -> Vec<Request> {
        if matches!(
            action,
            Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom
        ) {
            let max = self.line_count(ctx).saturating_sub(1);
            self.scroll = scrolled(self.scroll, action, ctx.page, max);
        }
        Vec::new()
    }

    fn render(&self, frame: &mut Frame, area: Rect, ctx: &Context, focused: bool) {
        let lines = ctx.selected.map(|row| self.lines_for(ctx, row)).unwrap_or_default();
        let paragraph = Paragraph::new(lines)
            .block(pane_block(self.title(ctx), ctx, focused))
            .style(ctx.theme.normal)
            .wrap(Wrap { trim: false })
            .scroll((self.scroll, 0));
        frame.render_widget(paragraph, area);
    }

    /// The cursor landed on another node: back to the top, and ask for the GPO's SYSVOL side
    /// once the cursor has rested there (see `tick`).
    fn selection_changed(&mut self, ctx: &Context) {
        self.scroll = 0;
        self.wanted = None;
        if let Some(row) = ctx.selected
            && let Some(id) = row.key.gpo()
        {
            let d = row.key.domain();
            if !self.cache.contains_key(&(d, id)) {
                self.wanted = Some((d, id, ctx.clock));
            }
        }
    }

    fn tick(&mut self, ctx: &Context) -> Vec<Effect> {
        match self.wanted {
            Some((d, id, since)) if ctx.clock.saturating_duration_since(since) >= DETAILS_DEBOUNCE => {
                self.wanted = None;
                self.start_fetch(d, id, ctx).into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    fn animating(&self, _ctx: &Context) -> bool {
        self.is_loading() || self.wanted.is_some()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The part of a GPO's details that needs SMB and LDAP round trips.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GpoExtras {
    pub sysvol_version: Option<Version>,
    /// Why the SYSVOL side could not be read (or GPT.INI is missing).
    pub sysvol_error: Option<String>,
    pub files: Vec<FileRow>,
    pub file_count: usize,
    pub total_bytes: u64,
    /// `DOMAIN\name` of each SID in the security descriptor that could be resolved.
    pub names: HashMap<Sid, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRow {
    pub depth: usize,
    pub name: String,
    /// `None` for a folder.
    pub size: Option<u64>,
}

impl GpoExtras {
    /// Boils a job's result down to what the pane shows (file contents are dropped here, in the job).
    pub fn from_details(details: &GpoDetails) -> GpoExtras {
        let sysvol = &details.sysvol;
        GpoExtras {
            sysvol_version: sysvol.version,
            sysvol_error: sysvol.error.clone(),
            files: sysvol
                .entries
                .iter()
                .map(|e| FileRow { depth: e.depth, name: e.name.clone(), size: e.size })
                .collect(),
            file_count: sysvol.file_count,
            total_bytes: sysvol.total_bytes,
            names: details.names.iter().map(|(sid, name)| (sid.clone(), name.clone())).collect(),
        }
    }
}

impl DetailsPane {
    /// The pane's content for a tree row.
    pub fn lines_for(&self, ctx: &Context, row: &Row) -> Vec<Line<'static>> {
        let (theme, spinner) = (ctx.theme, ctx.spinner);
        let d = row.key.domain();
        let Some(domain) = ctx.domains.get(d) else { return Vec::new() };
        match (&row.key, &domain.estate) {
            (NodeKey::Gpo(_, id) | NodeKey::Link(_, _, id), Some(estate)) => {
                match estate.gpos.iter().find(|g| g.id == *id) {
                    Some(gpo) => gpo_lines(estate, gpo, self.cache.get(&(d, *id)), theme, spinner),
                    None => vec![Line::styled(
                        format!("GPO {id} is linked here but does not exist in the domain"),
                        theme.error,
                    )],
                }
            }
            (NodeKey::GpoFolder(_), Some(estate)) => {
                // Drawn every frame the cursor rests on the folder: worked out once per domain read.
                let key = Arc::as_ptr(estate) as usize;
                let mut cache = self.unlinked.borrow_mut();
                if cache.as_ref().is_none_or(|(k, _)| *k != key) {
                    *cache = Some((key, Unlinked::of(estate)));
                }
                let unlinked = cache.as_ref().map(|(_, u)| u);
                folder_lines(estate, unlinked, theme)
            }
            (NodeKey::Container(_, dn), Some(estate)) => container_lines(estate, dn, &row.kind, theme),
            (NodeKey::Sites(_), Some(_)) => vec![
                Line::styled("Sites", theme.header),
                Line::styled("GPOs linked to sites apply by network location.", theme.muted),
            ],
            _ => domain_lines(domain, theme, spinner),
        }
    }
}

fn label(text: &str) -> Span<'static> {
    Span::raw(format!("{text:<11}"))
}

fn kv(key: &str, value: impl Into<String>, style: Style) -> Line<'static> {
    Line::from(vec![label(key), Span::styled(value.into(), style)])
}

fn header(text: impl Into<String>, theme: &Theme) -> Line<'static> {
    Line::styled(text.into(), theme.header)
}

fn domain_lines(domain: &DomainNode, theme: &Theme, spinner: &str) -> Vec<Line<'static>> {
    let mut lines = vec![header(domain.label.clone(), theme)];
    let target = match &domain.target {
        Ok(t) => t,
        Err(e) => {
            lines.push(Line::styled("This profile cannot be used:", theme.error));
            lines.push(Line::styled(e.clone(), theme.error));
            return lines;
        }
    };
    match &domain.phase {
        Phase::Idle => {
            lines.push(Line::styled(format!("Not connected. {} connects.", key_for(Action::Toggle)), theme.muted))
        }
        Phase::Connecting => lines.push(Line::styled(format!("{spinner} Connecting…"), theme.warning)),
        Phase::Ready => lines.push(Line::styled("Connected", theme.success)),
        Phase::Failed(e) => {
            lines.push(Line::styled(format!("Connection failed ({} retries):", key_for(Action::Refresh)), theme.error));
            lines.push(Line::styled(e.clone(), theme.error));
        }
    }
    lines.push(Line::default());
    lines.push(kv("Domain", target.domain.clone(), theme.normal));
    lines.push(kv("Server", target.server.clone(), theme.normal));
    if !target.kerberos {
        lines.push(kv("User", target.user.clone(), theme.normal));
    } else {
        lines.push(kv("Logon", "Kerberos ticket cache", theme.normal));
    }
    let tls = match target.tls {
        gpvault::config::TlsMode::Ldaps => "LDAPS (636)",
        gpvault::config::TlsMode::StartTls => "LDAP + StartTLS (389)",
    };
    lines.push(kv("Transport", tls, theme.normal));
    if target.insecure_tls {
        lines.push(kv("TLS check", "NONE (--insecure-tls): lab use only", theme.warning));
    } else {
        let how = match &target.ca_file {
            Some(path) => format!("verified with {}", path.display()),
            None => "verified with the system's CAs".to_string(),
        };
        lines.push(kv("TLS check", how, theme.normal));
    }
    if let Some(info) = &domain.connection {
        lines.push(kv("LDAP", info.ldap.clone(), theme.muted));
        lines.push(kv("SYSVOL", info.sysvol.clone(), theme.muted));
    } else if let Some(path) = &target.sysvol_path {
        lines.push(kv("SYSVOL", path.display().to_string(), theme.muted));
    }
    if let Some(estate) = &domain.estate {
        lines.push(Line::default());
        lines.push(kv("NetBIOS", estate.domain.netbios_name.clone(), theme.normal));
        lines.push(kv("DC", estate.domain.controller.clone(), theme.normal));
        let ous = estate.containers.iter().filter(|c| c.kind == ContainerKind::OrganizationalUnit).count();
        lines.push(kv(
            "Contents",
            format!("{} GPOs, {ous} OUs, {} WMI filters", estate.gpos.len(), estate.wmi_filters.len()),
            theme.normal,
        ));
    }
    lines
}

/// The GPOs linked nowhere: how many, and the first names in natural order.
#[derive(Debug, Default)]
pub struct Unlinked {
    total: usize,
    first: Vec<String>,
}

impl Unlinked {
    fn of(estate: &Estate) -> Unlinked {
        // One pass over the links, one over the GPOs, and only the names shown are sorted.
        let linked: HashSet<GpoId> = estate.containers.iter().flat_map(|c| c.links.iter().map(|l| l.gpo_id)).collect();
        let mut unlinked: Vec<&Gpo> = estate.gpos.iter().filter(|g| !linked.contains(&g.id)).collect();
        let total = unlinked.len();
        let by_name = |a: &&Gpo, b: &&Gpo| natural_cmp(&a.display_name, &b.display_name);
        if total > UNLINKED_SHOWN {
            unlinked.select_nth_unstable_by(UNLINKED_SHOWN, by_name);
            unlinked.truncate(UNLINKED_SHOWN);
        }
        unlinked.sort_by(by_name);
        Unlinked { total, first: unlinked.into_iter().map(|g| g.display_name.clone()).collect() }
    }
}

fn folder_lines(estate: &Estate, unlinked: Option<&Unlinked>, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![
        header("Group Policy Objects", theme),
        Line::raw(format!("{} GPOs in {}", estate.gpos.len(), estate.domain.dns_name)),
        Line::default(),
        Line::styled(format!("{} backs up all of them into one folder.", key_for(Action::BackUpAll)), theme.muted),
    ];
    if let Some(unlinked) = unlinked.filter(|u| u.total > 0) {
        let total = unlinked.total;
        lines.push(Line::default());
        lines.push(header(format!("Not linked anywhere ({total})"), theme));
        for name in &unlinked.first {
            lines.push(Line::raw(format!("  {name}")));
        }
        if total > unlinked.first.len() {
            let more = total - unlinked.first.len();
            let find = key_for(Action::Filter);
            lines.push(Line::styled(format!("  … and {more} more ({find} in the tree finds one)"), theme.muted));
        }
    }
    lines
}

/// How many unlinked GPOs the folder's details name; the rest are counted.
const UNLINKED_SHOWN: usize = 100;

fn container_lines(estate: &Estate, dn: &str, kind: &RowKind, theme: &Theme) -> Vec<Line<'static>> {
    let Some(container) = estate.containers.iter().find(|c| c.dn.eq_ignore_ascii_case(dn)) else {
        return vec![Line::raw(dn.to_string())];
    };
    let name = match kind {
        RowKind::Container { name, .. } => name.clone(),
        _ => container.name.clone(),
    };
    let what = match container.kind {
        ContainerKind::Domain => "Domain",
        ContainerKind::OrganizationalUnit => "Organizational unit",
        ContainerKind::Site => "Site",
    };
    let mut lines = vec![header(name, theme), Line::styled(container.dn.clone(), theme.muted), Line::default()];
    lines.push(kv("Kind", what, theme.normal));
    lines.push(kv(
        "Inherits",
        if container.blocks_inheritance { "no (blocks inheritance)" } else { "yes" },
        theme.normal,
    ));
    lines.push(Line::default());
    lines.push(header(format!("Linked GPOs ({})", container.links.len()), theme));
    let mut links: Vec<_> = container.links.iter().collect();
    links.sort_by_key(|l| l.order);
    for link in links {
        let name = estate
            .gpos
            .iter()
            .find(|g| g.id == link.gpo_id)
            .map(|g| g.display_name.clone())
            .unwrap_or_else(|| format!("{} (not found)", link.gpo_id));
        let mut spans = vec![Span::styled(format!("  {:>2}. ", link.order), theme.muted), Span::raw(name)];
        if link.enforced {
            spans.push(Span::styled(" [enforced]", theme.warning));
        }
        if !link.enabled {
            spans.push(Span::styled(" [link disabled]", theme.muted));
        }
        lines.push(Line::from(spans));
    }
    lines
}

fn gpo_lines(estate: &Estate, gpo: &Gpo, fetch: Option<&Fetch>, theme: &Theme, spinner: &str) -> Vec<Line<'static>> {
    let extras = match fetch {
        Some(Fetch::Loaded(extras)) => Some(extras.as_ref()),
        _ => None,
    };
    let mut lines = vec![header(gpo.display_name.clone(), theme), Line::styled(gpo.id.to_string(), theme.muted)];
    let status_style = if gpo.flags.0 & 3 == 0 { theme.success } else { theme.warning };
    lines.push(kv("Status", gpo.flags.status_text(), status_style));

    // Versions: AD next to SYSVOL; a difference means replication or an edit went wrong.
    enum Side {
        Known(Version),
        Loading,
        Unknown,
    }
    let side = match (fetch, extras) {
        (_, Some(x)) => match (&x.sysvol_error, x.sysvol_version) {
            (None, Some(v)) => Side::Known(v),
            _ => Side::Unknown,
        },
        (Some(Fetch::Failed(_)), _) => Side::Unknown,
        _ => Side::Loading,
    };
    lines.push(Line::from(vec![label("Versions"), Span::styled(format!("{:>6}  {:>6}", "AD", "SYSVOL"), theme.muted)]));
    type Half = fn(Version) -> u16;
    let halves: [(&str, Half); 2] = [("  User", |v| v.user), ("  Computer", |v| v.machine)];
    for (name, pick) in halves {
        let ad = pick(gpo.version);
        let (sysvol, differs) = match side {
            Side::Known(v) => (pick(v).to_string(), pick(v) != ad),
            Side::Loading => (spinner.to_string(), false),
            Side::Unknown => ("?".to_string(), false),
        };
        let mut spans = vec![label(name), Span::raw(format!("{ad:>6}  {sysvol:>6}"))];
        if differs {
            spans.push(Span::styled("  ≠ MISMATCH", theme.error));
        }
        lines.push(Line::from(spans));
    }
    if let Some(error) = extras.and_then(|x| x.sysvol_error.as_ref()) {
        lines.push(Line::styled(format!("SYSVOL: {error}"), theme.error));
    }
    if let Some(Fetch::Failed(e)) = fetch {
        let retry = key_for(Action::Refresh);
        lines.push(Line::styled(format!("Could not read SYSVOL and names: {e} ({retry} retries)"), theme.error));
    }

    let when = |v: &Option<String>| v.as_deref().map(gpvault::model::readable_ldap_time);
    if let Some(created) = when(&gpo.created) {
        lines.push(kv("Created", created, theme.normal));
    }
    if let Some(changed) = when(&gpo.changed) {
        lines.push(kv("Changed", changed, theme.normal));
    }
    match (gpo.wmi_filter_id(), estate.wmi_filter_of(gpo)) {
        (None, _) => lines.push(kv("WMI filter", "none", theme.muted)),
        (Some(_), Some(filter)) => {
            lines.push(kv("WMI filter", filter.name.clone(), theme.normal));
            let query =
                filter.query.split(';').filter(|p| p.to_ascii_uppercase().starts_with("SELECT")).collect::<Vec<_>>();
            for q in query {
                lines.push(Line::styled(format!("           {q}"), theme.muted));
            }
        }
        (Some(id), None) => lines.push(kv("WMI filter", format!("{id} (missing from the domain)"), theme.error)),
    }
    let extension_names = |list: &gpvault::model::ExtensionList| match list.names() {
        names if names.is_empty() => "none".to_string(),
        names => names.join(", "),
    };
    lines.push(kv("Computer", extension_names(&gpo.machine_extensions), theme.normal));
    lines.push(kv("User", extension_names(&gpo.user_extensions), theme.normal));

    lines.push(Line::default());
    let links = estate.links_to(&gpo.id);
    lines.push(header(format!("Links ({})", links.len()), theme));
    if links.is_empty() {
        lines.push(Line::styled("  not linked", theme.muted));
    }
    for link in links {
        let place = estate
            .containers
            .iter()
            .find(|c| c.dn.eq_ignore_ascii_case(&link.container_dn))
            .map(|c| if c.kind == ContainerKind::Domain { estate.domain.dns_name.clone() } else { c.name.clone() })
            .unwrap_or_else(|| link.container_dn.clone());
        let mut spans = vec![Span::raw(format!("  {place}")), Span::styled(format!("  #{}", link.order), theme.muted)];
        if link.enforced {
            spans.push(Span::styled(" [enforced]", theme.warning));
        }
        if !link.enabled {
            spans.push(Span::styled(" [link disabled]", theme.muted));
        }
        lines.push(Line::from(spans));
    }

    lines.push(Line::default());
    lines.push(header("Permissions", theme));
    match &gpo.security_descriptor {
        None => lines.push(Line::styled("  the security descriptor could not be read", theme.error)),
        Some(sd) => {
            let name_of = |sid: &Sid| -> String {
                extras
                    .and_then(|x| x.names.get(sid).cloned())
                    .or_else(|| well_known_sid_name(sid).map(str::to_string))
                    .unwrap_or_else(|| sid.to_string())
            };
            if let Some(owner) = &sd.owner {
                lines.push(Line::from(vec![Span::styled("  Owner ", theme.muted), Span::raw(name_of(owner))]));
            }
            for perm in sd.gpo_delegation() {
                let kind = perm.permission_type.as_str();
                let style = if kind == "Deny" { theme.warning } else { theme.muted };
                lines.push(Line::raw(format!("  {}", name_of(&perm.trustee))));
                let inherited = if perm.inherited { " (inherited)" } else { "" };
                // Allow is the rule; only a deny gets a word, so the line fits a narrow pane.
                let deny = if kind == "Deny" { "DENY " } else { "" };
                lines.push(Line::styled(format!("    {deny}{}{inherited}", perm.access.report_name()), style));
            }
            lines.push(Line::default());
            lines.push(header("SDDL", theme));
            lines.push(Line::styled(sd.to_sddl(estate.domain.sid.as_ref()), theme.muted));
        }
    }

    lines.push(Line::default());
    match (fetch, extras) {
        (_, Some(x)) if x.sysvol_error.is_none() || !x.files.is_empty() => {
            lines.push(header(format!("SYSVOL files ({}, {})", x.file_count, human_bytes(x.total_bytes)), theme));
            for file in &x.files {
                let indent = "  ".repeat(file.depth + 1);
                match file.size {
                    Some(size) => lines.push(Line::from(vec![
                        Span::raw(format!("{indent}{}", file.name)),
                        Span::styled(format!("  {}", human_bytes(size)), theme.muted),
                    ])),
                    None => lines.push(Line::raw(format!("{indent}{}/", file.name))),
                }
            }
        }
        (Some(Fetch::Failed(_)), _) | (_, Some(_)) => {
            lines.push(header("SYSVOL files", theme));
            lines.push(Line::styled("  not readable", theme.error));
        }
        _ => {
            lines.push(header("SYSVOL files", theme));
            lines.push(Line::styled(format!("  {spinner} reading {}…", gpo.file_sys_path), theme.muted));
        }
    }
    lines
}

pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MB", bytes as f64 / 1_048_576.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_bytes(23), "23 B");
        assert_eq!(human_bytes(2150), "2.1 KB");
        assert_eq!(human_bytes(3 * 1_048_576), "3.0 MB");
    }
}
