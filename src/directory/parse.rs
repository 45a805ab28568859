//! Parsing of the text attribute formats AD uses for Group Policy.

pub use crate::model::parse_generalized_time;
use crate::model::{GpoId, Link};

/// Parses a gPLink value: `[LDAP://cn={GUID},cn=policies,...;OPTIONS]...`.
/// Options: bit 0 = link disabled, bit 1 = enforced. GPMC's link order 1 (highest
/// precedence) is the *last* entry of the attribute. Entries that are not GPO links are skipped.
pub fn parse_gplink(container_dn: &str, value: &str) -> Vec<Link> {
    GpLink::parse(value).links(container_dn)
}

/// gPLink option bits.
const LINK_DISABLED: u32 = 1;
const LINK_ENFORCED: u32 = 2;

/// One bracketed entry of a gPLink value.
#[derive(Clone, Debug, PartialEq, Eq)]
enum GpLinkEntry {
    /// A GPO link: the path exactly as written (`LDAP://cn={GUID},...`), and the options.
    Gpo { id: GpoId, path: String, options: u32 },
    /// Anything else between brackets, kept as it was.
    Other(String),
}

/// A gPLink value that can be edited and written back: entries gpvault does not touch keep
/// their exact text (whatever case and spelling the tool that wrote them used).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GpLink {
    entries: Vec<GpLinkEntry>,
}

/// The path GPMC writes for a link to `gpo` of the domain `domain_dn`:
/// `LDAP://cn={GUID},cn=policies,cn=system,DC=corp,DC=example,DC=test`.
pub fn gplink_path(gpo: &GpoId, domain_dn: &str) -> String {
    format!("LDAP://cn={gpo},cn=policies,cn=system,{domain_dn}")
}

impl GpLink {
    pub fn parse(value: &str) -> GpLink {
        let mut entries = Vec::new();
        for entry in value.split('[').skip(1) {
            let entry = entry.split(']').next().unwrap_or("");
            entries.push(Self::parse_entry(entry).unwrap_or_else(|| GpLinkEntry::Other(entry.to_string())));
        }
        GpLink { entries }
    }

    fn parse_entry(entry: &str) -> Option<GpLinkEntry> {
        let (path, options) = entry.rsplit_once(';')?;
        let options: u32 = options.trim().parse().unwrap_or(0);
        let dn = path.trim();
        let dn = dn.strip_prefix("LDAP://").or_else(|| dn.strip_prefix("ldap://")).unwrap_or(dn);
        let first_rdn = dn.split(',').next().unwrap_or("");
        let (_, value) = first_rdn.split_once('=')?;
        let id = value.parse::<GpoId>().ok()?;
        Some(GpLinkEntry::Gpo { id, path: path.to_string(), options })
    }

    /// The value to store: each entry in brackets, nothing between them (as GPMC writes it).
    pub fn to_value(&self) -> String {
        self.entries
            .iter()
            .map(|e| match e {
                GpLinkEntry::Gpo { path, options, .. } => format!("[{path};{options}]"),
                GpLinkEntry::Other(text) => format!("[{text}]"),
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Positions (in `entries`) of the GPO links, in attribute order.
    fn gpo_positions(&self) -> Vec<usize> {
        self.entries.iter().enumerate().filter(|(_, e)| matches!(e, GpLinkEntry::Gpo { .. })).map(|(i, _)| i).collect()
    }

    /// The GPO links with GPMC's link order (1 = the last entry).
    pub fn links(&self, container_dn: &str) -> Vec<Link> {
        let positions = self.gpo_positions();
        let count = positions.len();
        positions
            .into_iter()
            .enumerate()
            .filter_map(|(i, at)| match &self.entries[at] {
                GpLinkEntry::Gpo { id, options, .. } => Some(Link {
                    container_dn: container_dn.to_string(),
                    gpo_id: *id,
                    order: count - i,
                    enabled: options & LINK_DISABLED == 0,
                    enforced: options & LINK_ENFORCED != 0,
                }),
                GpLinkEntry::Other(_) => None,
            })
            .collect()
    }

    /// Removes every link to `gpo`; returns whether there was one.
    pub fn remove(&mut self, gpo: &GpoId) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| !matches!(e, GpLinkEntry::Gpo { id, .. } if id == gpo));
        self.entries.len() != before
    }

    /// Links `gpo` with the given flags. With `order` (GPMC's link order, 1 = highest precedence,
    /// clamped to the links there are) the link moves there; without, an existing link keeps its
    /// place and a new one goes last in precedence, as GPMC adds links. An existing link keeps
    /// its path text and any option bits beyond enabled/enforced; a new one gets `new_path`
    /// (see [`gplink_path`]).
    pub fn set(&mut self, gpo: &GpoId, new_path: &str, order: Option<usize>, enabled: bool, enforced: bool) {
        let existing = self.entries.iter().position(|e| matches!(e, GpLinkEntry::Gpo { id, .. } if id == gpo));
        let flags = if enabled { 0 } else { LINK_DISABLED } | if enforced { LINK_ENFORCED } else { 0 };
        let (path, options) = match existing.map(|at| &self.entries[at]) {
            Some(GpLinkEntry::Gpo { path, options, .. }) => {
                (path.clone(), (options & !(LINK_DISABLED | LINK_ENFORCED)) | flags)
            }
            _ => (new_path.to_string(), flags),
        };
        let entry = GpLinkEntry::Gpo { id: *gpo, path, options };
        if let (Some(at), None) = (existing, order) {
            self.entries[at] = entry;
            return;
        }
        self.remove(gpo);
        let positions = self.gpo_positions();
        let count = positions.len() + 1;
        // Order k of `count` links is the (count - k)-th GPO entry in attribute order.
        let order = order.unwrap_or(count).clamp(1, count);
        let index = count - order;
        let at = positions.get(index).copied().unwrap_or(self.entries.len());
        self.entries.insert(at, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gplink_order_options_and_junk() {
        let value = "[LDAP://cn={31B2F340-016D-11D2-945F-00C04FB984F9},cn=policies,cn=system,DC=corp,DC=example,DC=test;0]\
                     [LDAP://CN={6AC1786C-016F-11D2-945F-00C04FB984F9},CN=Policies,CN=System,DC=corp,DC=example,DC=test;3][garbage]";
        let links = parse_gplink("DC=corp,DC=example,DC=test", value);
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].order, 2);
        assert!(links[0].enabled && !links[0].enforced);
        assert_eq!(links[1].order, 1);
        assert!(!links[1].enabled && links[1].enforced);
        assert!(parse_gplink("x", " ").is_empty());
    }

    const DOMAIN: &str = "DC=corp,DC=example,DC=test";

    fn id(n: u8) -> GpoId {
        format!("{{{n:08X}-0000-0000-0000-000000000000}}").parse().unwrap()
    }

    /// Three links as a Samba DC stores them, one in samba-tool's upper-case spelling.
    fn three() -> String {
        format!(
            "[LDAP://CN={},CN=Policies,CN=System,{DOMAIN};0][LDAP://cn={},cn=policies,cn=system,{DOMAIN};1][LDAP://cn={},cn=policies,cn=system,{DOMAIN};2]",
            id(1),
            id(2),
            id(3)
        )
    }

    #[test]
    fn an_untouched_value_is_written_back_byte_for_byte() {
        for value in
            [three(), "[LDAP://cn={x};0][junk][LDAP://CN={00000001-0000-0000-0000-000000000000},dc=x;7]".to_string()]
        {
            assert_eq!(GpLink::parse(&value).to_value(), value);
        }
    }

    #[test]
    fn a_new_link_at_order_two_of_three_goes_before_the_last_entry() {
        let mut gplink = GpLink::parse(&three());
        let new = id(9);
        gplink.set(&new, &gplink_path(&new, DOMAIN), Some(2), true, true);
        let expected = format!(
            "[LDAP://CN={},CN=Policies,CN=System,{DOMAIN};0][LDAP://cn={},cn=policies,cn=system,{DOMAIN};1]\
             [LDAP://cn={{00000009-0000-0000-0000-000000000000}},cn=policies,cn=system,{DOMAIN};2]\
             [LDAP://cn={},cn=policies,cn=system,{DOMAIN};2]",
            id(1),
            id(2),
            id(3)
        );
        assert_eq!(gplink.to_value(), expected);
        let links = gplink.links(DOMAIN);
        let ours = links.iter().find(|l| l.gpo_id == new).unwrap();
        assert_eq!((ours.order, ours.enabled, ours.enforced), (2, true, true));
        assert_eq!(links.iter().map(|l| l.order).collect::<Vec<_>>(), [4, 3, 2, 1]);
    }

    #[test]
    fn links_move_keep_their_text_and_go_last_in_precedence_by_default() {
        let mut gplink = GpLink::parse(&three());
        // Existing link, no order: flags change in place, its upper-case path stays.
        gplink.set(&id(1), "unused", None, false, false);
        assert!(gplink.to_value().starts_with(&format!("[LDAP://CN={},CN=Policies,CN=System,{DOMAIN};1]", id(1))));
        // Moved to order 1: the last entry.
        gplink.set(&id(1), "unused", Some(1), true, false);
        assert!(gplink.to_value().ends_with(&format!("[LDAP://CN={},CN=Policies,CN=System,{DOMAIN};0]", id(1))));
        // A new link without order: lowest precedence, the first entry.
        gplink.set(&id(7), &gplink_path(&id(7), DOMAIN), None, true, false);
        assert_eq!(gplink.links(DOMAIN).iter().find(|l| l.gpo_id == id(7)).unwrap().order, 4);
        assert!(gplink.to_value().starts_with("[LDAP://cn={00000007-"));
        // Orders past the end are clamped.
        gplink.set(&id(8), &gplink_path(&id(8), DOMAIN), Some(99), true, false);
        assert_eq!(gplink.links(DOMAIN).iter().find(|l| l.gpo_id == id(8)).unwrap().order, 5);
        assert!(gplink.remove(&id(8)) && gplink.remove(&id(7)) && !gplink.remove(&id(7)));
    }

    #[test]
    fn option_bits_beyond_enabled_and_enforced_survive_an_update() {
        let mut gplink = GpLink::parse(&format!("[LDAP://cn={},cn=policies,cn=system,{DOMAIN};4]", id(1)));
        gplink.set(&id(1), "unused", None, false, true);
        assert!(gplink.to_value().ends_with(";7]"), "{}", gplink.to_value());
    }

    #[test]
    fn other_entries_keep_their_place_around_gpo_links() {
        let mut gplink = GpLink::parse(&format!("[junk][LDAP://cn={},cn=policies,cn=system,{DOMAIN};0]", id(1)));
        gplink.set(&id(2), &gplink_path(&id(2), DOMAIN), Some(1), true, false);
        let value = gplink.to_value();
        assert!(value.starts_with("[junk][LDAP://cn={00000001-"), "{value}");
        assert!(value.ends_with(&format!("[{};0]", gplink_path(&id(2), DOMAIN))), "{value}");
    }

    #[test]
    fn generalized_time_to_gpmc_layout() {
        assert_eq!(parse_generalized_time("20261125160102.0Z").as_deref(), Some("2026-11-25T16:01:02"));
        assert_eq!(parse_generalized_time("nope"), None);
    }
}
