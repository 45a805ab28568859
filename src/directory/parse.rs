//! Parsing of the text attribute formats AD uses for Group Policy.

pub use crate::model::parse_generalized_time;
use crate::model::{GpoId, Link};

/// Parses a gPLink value: `[LDAP://cn={GUID},cn=policies,...;OPTIONS]...`.
/// Options: bit 0 = link disabled, bit 1 = enforced. GPMC's link order 1 (highest
/// precedence) is the *last* entry of the attribute. Entries that are not GPO links are skipped.
pub fn parse_gplink(container_dn: &str, value: &str) -> Vec<Link> {
    let mut parsed: Vec<(GpoId, u32)> = Vec::new();
    for entry in value.split('[').skip(1) {
        let entry = entry.split(']').next().unwrap_or("");
        let Some((path, options)) = entry.rsplit_once(';') else { continue };
        let options: u32 = options.trim().parse().unwrap_or(0);
        let dn = path.trim();
        let dn = dn.strip_prefix("LDAP://").or_else(|| dn.strip_prefix("ldap://")).unwrap_or(dn);
        let first_rdn = dn.split(',').next().unwrap_or("");
        let Some((_, value)) = first_rdn.split_once('=') else { continue };
        if let Ok(id) = value.parse::<GpoId>() {
            parsed.push((id, options));
        }
    }
    let count = parsed.len();
    parsed
        .into_iter()
        .enumerate()
        .map(|(i, (gpo_id, options))| Link {
            container_dn: container_dn.to_string(),
            gpo_id,
            order: count - i,
            enabled: options & 1 == 0,
            enforced: options & 2 != 0,
        })
        .collect()
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

    #[test]
    fn generalized_time_to_gpmc_layout() {
        assert_eq!(parse_generalized_time("20261125160102.0Z").as_deref(), Some("2026-11-25T16:01:02"));
        assert_eq!(parse_generalized_time("nope"), None);
    }
}
