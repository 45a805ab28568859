//! What is known about the principals of a domain before a migration table is populated,
//! checked or applied: looked up in the directory by the caller (the ops layer), or read from a
//! backup's SecurityGroups. Populate, validate and apply only read these, so they stay pure.

use std::collections::HashMap;

use crate::formats::SecurityPrincipal;
use crate::migrate::table::{PrincipalRef, TargetDomain, eq_ignore_case};
use crate::model::{DomainInfo, Principal, Sid};

/// The lookups populate, validate and apply need from one domain.
pub trait PrincipalLookup {
    /// The principal with this SID.
    fn by_sid(&self, sid: &Sid) -> Option<Principal>;
    /// The principal a name denotes: `DOMAIN\name`, `dns.domain\name`, `name@dns.domain` or a
    /// bare name (only when one principal has it).
    fn by_name(&self, name: &str) -> Option<Principal>;
    /// The domains whose principals this knows, both names of each: a name written with one of
    /// them can then be matched with a table row written with the other.
    fn domains(&self) -> Vec<TargetDomain> {
        Vec::new()
    }
}

/// Principals found by SID and by name, as a [`PrincipalLookup`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolvedPrincipals {
    by_sid: HashMap<Sid, Principal>,
    /// Names as they were asked (folded to lower case) → the principal found.
    by_asked_name: HashMap<String, Sid>,
    domains: Vec<TargetDomain>,
}

impl ResolvedPrincipals {
    pub fn new() -> Self {
        ResolvedPrincipals::default()
    }

    /// The domain the principals belong to (its NetBIOS and DNS names).
    pub fn with_domain(mut self, domain: &DomainInfo) -> Self {
        self.add_domain(TargetDomain::from(domain));
        self
    }

    fn add_domain(&mut self, domain: TargetDomain) {
        if domain.netbios_name.is_empty() || domain.dns_name.is_empty() {
            return;
        }
        if !self.domains.iter().any(|d| eq_ignore_case(&d.dns_name, &domain.dns_name)) {
            self.domains.push(domain);
        }
    }

    /// Adds principals found by SID.
    pub fn add(&mut self, principals: impl IntoIterator<Item = Principal>) {
        for principal in principals {
            if principal.netbios_domain != "BUILTIN" {
                self.add_domain(TargetDomain {
                    netbios_name: principal.netbios_domain.clone(),
                    dns_name: principal.dns_domain.clone(),
                });
            }
            self.by_sid.insert(principal.sid.clone(), principal);
        }
    }

    /// Adds principals found by name, each with the name it was asked by.
    pub fn add_named(&mut self, found: impl IntoIterator<Item = (String, Principal)>) {
        for (name, principal) in found {
            self.by_asked_name.insert(fold(name.trim()), principal.sid.clone());
            self.add([principal]);
        }
    }

    /// The principals a backup's Backup.xml names in SecurityGroups (what GPMC resolved when it
    /// backed the GPO up); entries without a SID are skipped.
    pub fn from_security_groups(groups: &[SecurityPrincipal]) -> Self {
        let mut resolved = ResolvedPrincipals::new();
        resolved.add(groups.iter().filter_map(|g| {
            let sid = g.sid.as_deref()?.trim().parse::<Sid>().ok()?;
            Some(Principal {
                sid,
                sam_account_name: g.sam_account_name.clone().unwrap_or_default(),
                kind: g.account_type.clone().unwrap_or_default(),
                netbios_domain: g.netbios_domain_name.clone().unwrap_or_default(),
                dns_domain: g.dns_domain_name.clone().unwrap_or_default(),
                upn: g.upn.clone(),
            })
        }));
        resolved
    }

    pub fn len(&self) -> usize {
        self.by_sid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_sid.is_empty()
    }

    fn in_domain(principal: &Principal, domain: &str) -> bool {
        eq_ignore_case(&principal.netbios_domain, domain) || eq_ignore_case(&principal.dns_domain, domain)
    }
}

fn fold(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

impl PrincipalLookup for ResolvedPrincipals {
    fn by_sid(&self, sid: &Sid) -> Option<Principal> {
        self.by_sid.get(sid).cloned()
    }

    fn by_name(&self, name: &str) -> Option<Principal> {
        if let Some(sid) = self.by_asked_name.get(&fold(name.trim())) {
            return self.by_sid.get(sid).cloned();
        }
        let all = || self.by_sid.values();
        match PrincipalRef::parse(name) {
            PrincipalRef::Sid(sid) => self.by_sid(&sid),
            PrincipalRef::DomainName { domain, name } => {
                all().find(|p| eq_ignore_case(&p.sam_account_name, &name) && Self::in_domain(p, &domain)).cloned()
            }
            PrincipalRef::Upn { name: account, domain } => all()
                .find(|p| p.upn.as_deref().is_some_and(|upn| eq_ignore_case(upn, name.trim())))
                .or_else(|| {
                    all().find(|p| {
                        eq_ignore_case(&p.sam_account_name, &account) && eq_ignore_case(&p.dns_domain, &domain)
                    })
                })
                .cloned(),
            PrincipalRef::Name(name) => {
                let mut named = all().filter(|p| eq_ignore_case(&p.sam_account_name, &name));
                match (named.next(), named.next()) {
                    (Some(one), None) => Some(one.clone()),
                    _ => None,
                }
            }
            PrincipalRef::Unc(_) => None,
        }
    }

    fn domains(&self) -> Vec<TargetDomain> {
        self.domains.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn principal(sid: &str, sam: &str, kind: &str, netbios: &str, dns: &str) -> Principal {
        Principal {
            sid: sid.parse().unwrap(),
            sam_account_name: sam.into(),
            kind: kind.into(),
            netbios_domain: netbios.into(),
            dns_domain: dns.into(),
            upn: None,
        }
    }

    #[test]
    fn names_in_every_form_find_their_principal() {
        let helpdesk = principal("S-1-5-21-1-2-3-1109", "Helpdesk", "GlobalGroup", "CORP", "corp.example.test");
        let mut alice = principal("S-1-5-21-1-2-3-1103", "alice", "User", "CORP", "corp.example.test");
        alice.upn = Some("alice.finance@example.com".into());
        let other = principal("S-1-5-21-9-9-9-1109", "Helpdesk", "GlobalGroup", "BRANCH", "branch.example.test");
        let mut resolved = ResolvedPrincipals::new();
        resolved.add([helpdesk.clone(), alice.clone(), other.clone()]);
        resolved.add_named([("svc-old".to_string(), alice.clone())]);
        for (name, expected) in [
            ("CORP\\helpdesk", Some(&helpdesk)),
            ("corp.example.test\\Helpdesk", Some(&helpdesk)),
            ("Helpdesk@CORP.example.test", Some(&helpdesk)),
            ("BRANCH\\Helpdesk", Some(&other)),
            ("alice.finance@example.com", Some(&alice)),
            ("alice@corp.example.test", Some(&alice)),
            ("alice", Some(&alice)),
            ("SVC-OLD", Some(&alice)),
            ("S-1-5-21-1-2-3-1109", Some(&helpdesk)),
            // Two domains have a Helpdesk: a bare name does not say which.
            ("Helpdesk", None),
            ("PROD\\Helpdesk", None),
            (r"\\srv\share", None),
        ] {
            assert_eq!(resolved.by_name(name).as_ref(), expected, "{name}");
        }
        let domains: Vec<String> = resolved.domains().iter().map(|d| d.netbios_name.clone()).collect();
        assert_eq!(domains.len(), 2);
        assert!(domains.contains(&"CORP".to_string()) && domains.contains(&"BRANCH".to_string()));
    }

    #[test]
    fn security_groups_of_a_backup_become_principals() {
        let group = SecurityPrincipal {
            tag: None,
            source: Some("FromDACL".into()),
            sid: Some("S-1-5-21-1354021876-1831262814-3449474082-4604".into()),
            sam_account_name: Some("Folder Redirection Users".into()),
            account_type: Some("UniversalGroup".into()),
            netbios_domain_name: Some("FABRIKAM".into()),
            dns_domain_name: Some("corp.fabrikam.com".into()),
            upn: Some("Folder Redirection Users@corp.fabrikam.com".into()),
        };
        let no_sid = SecurityPrincipal { sid: None, ..group.clone() };
        let resolved = ResolvedPrincipals::from_security_groups(&[group, no_sid]);
        assert_eq!(resolved.len(), 1);
        let found = resolved.by_name("FABRIKAM\\Folder Redirection Users").unwrap();
        assert_eq!(found.kind, "UniversalGroup");
        assert_eq!(resolved.by_name("Folder Redirection Users@corp.fabrikam.com").unwrap().sid, found.sid);
    }
}
