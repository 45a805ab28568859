//! Checking a migration table against the domain it will be applied to: GPMC's "Validate
//! Table". Every row gets one result: the checks that need no network
//! ([`MigrationTable::validate`]: duplicate sources, malformed or missing UNC destinations,
//! DestinationNone on a UNC path...) and, for each destination principal, that the domain holds
//! it with the type the row states.
//!
//! The directory is asked beforehand ([`destination_lookups`] says what to ask; the ops layer
//! asks it), so the check itself is pure.

use crate::migrate::principals::PrincipalLookup;
use crate::migrate::table::{
    DestinationOrigin, DestinationPrincipal, EntryType, Issue, Mapping, MigrationTable, PrincipalRef, TargetDomain,
    eq_ignore_case,
};
use crate::model::Sid;

/// One row and what is wrong with it (nothing: the row is fine).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowCheck {
    /// Counted from 1.
    pub row: usize,
    pub mapping: Mapping,
    /// The destination principal as the domain names it (`BRANCH\Helpdesk (GlobalGroup)`), when
    /// the row has one and it was found.
    pub found: Option<String>,
    pub problems: Vec<RowProblem>,
}

impl RowCheck {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    #[error(transparent)]
    Table(Issue),
    #[error("{principal} {} was not found in {domain}", origin_text(*origin))]
    NotFound { principal: String, origin: DestinationOrigin, domain: String },
    #[error("{principal} is a {actual} in {domain}, but the row says {expected}: fix the type or the destination")]
    WrongType { principal: String, expected: EntryType, actual: String, domain: String },
}

fn origin_text(origin: DestinationOrigin) -> &'static str {
    match origin {
        DestinationOrigin::Explicit => "(the destination)",
        DestinationOrigin::SameAsSource => "(same as source)",
        DestinationOrigin::RelativeName => "(by relative name)",
    }
}

/// What the domain must be asked before [`validate`]: the SIDs and the names of the table's
/// destination principals.
pub fn destination_lookups(table: &MigrationTable, target: &TargetDomain) -> (Vec<Sid>, Vec<String>) {
    let mut sids = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for destination in table.destination_principals(target) {
        match destination.principal {
            PrincipalRef::Sid(sid) => sids.push(sid),
            other => {
                let name = other.to_string();
                if !names.iter().any(|n| eq_ignore_case(n, &name)) {
                    names.push(name);
                }
            }
        }
    }
    (sids, names)
}

/// One result per row of `table`, in row order, against `target` whose principals `found`
/// knows.
pub fn validate(table: &MigrationTable, target: &TargetDomain, found: &dyn PrincipalLookup) -> Vec<RowCheck> {
    let mut checks: Vec<RowCheck> = table
        .rows()
        .iter()
        .enumerate()
        .map(|(index, mapping)| RowCheck {
            row: index + 1,
            mapping: mapping.clone(),
            found: None,
            problems: Vec::new(),
        })
        .collect();
    for issue in table.validate() {
        if let Some(check) = checks.get_mut(issue.row - 1) {
            check.problems.push(RowProblem::Table(issue.issue));
        }
    }
    for destination in table.destination_principals(target) {
        let Some(check) = checks.get_mut(destination.row - 1) else { continue };
        check_principal(check, &destination, target, found);
    }
    checks
}

fn check_principal(
    check: &mut RowCheck,
    destination: &DestinationPrincipal,
    target: &TargetDomain,
    found: &dyn PrincipalLookup,
) {
    let principal = match &destination.principal {
        PrincipalRef::Sid(sid) => found.by_sid(sid),
        other => found.by_name(&other.to_string()),
    };
    let Some(principal) = principal else {
        check.problems.push(RowProblem::NotFound {
            principal: destination.principal.to_string(),
            origin: destination.origin,
            domain: target.dns_name.clone(),
        });
        return;
    };
    check.found = Some(format!("{}\\{} ({})", principal.netbios_domain, principal.sam_account_name, principal.kind));
    let actual = EntryType::from_xml_name(&principal.kind);
    if destination.expected != EntryType::Unknown && actual != Some(destination.expected) {
        check.problems.push(RowProblem::WrongType {
            principal: destination.principal.to_string(),
            expected: destination.expected,
            actual: principal.kind.clone(),
            domain: target.dns_name.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::principals::ResolvedPrincipals;
    use crate::migrate::table::Destination;
    use crate::model::Principal;

    fn branch() -> TargetDomain {
        TargetDomain { netbios_name: "BRANCH".into(), dns_name: "branch.example.test".into() }
    }

    fn known() -> ResolvedPrincipals {
        let principal = |rid: u32, sam: &str, kind: &str| Principal {
            sid: format!("S-1-5-21-9-8-7-{rid}").parse().unwrap(),
            sam_account_name: sam.into(),
            kind: kind.into(),
            netbios_domain: "BRANCH".into(),
            dns_domain: "branch.example.test".into(),
            upn: None,
        };
        let mut resolved = ResolvedPrincipals::new();
        resolved.add([
            principal(1105, "Branch Helpdesk", "GlobalGroup"),
            principal(1104, "frank.branch", "User"),
            principal(512, "Domain Admins", "GlobalGroup"),
        ]);
        resolved
    }

    fn row(entry_type: EntryType, source: &str, destination: Destination) -> Mapping {
        Mapping { entry_type, source: source.into(), destination }
    }

    #[test]
    fn each_row_gets_one_result_with_every_problem() {
        use EntryType::*;
        let set = |t: &str| Destination::Set(t.into());
        let table = MigrationTable::from_rows(vec![
            row(GlobalGroup, "Helpdesk@corp.example.test", set("Branch Helpdesk@branch.example.test")),
            row(GlobalGroup, "CORP\\Workstation Admins", set("BRANCH\\No Such Group")),
            row(GlobalGroup, "CORP\\Finance Users", set("BRANCH\\frank.branch")),
            row(Unknown, "S-1-5-21-1-2-3-1103", set("BRANCH\\frank.branch")),
            row(Unknown, "S-1-5-21-1-2-3-500", set("S-1-5-21-9-8-7-512")),
            row(GlobalGroup, "Domain Admins@corp.example.test", Destination::ByRelativeName),
            row(GlobalGroup, "GPO Editors@corp.example.test", Destination::SameAsSource),
            row(UncPath, r"\\fs01.corp.example.test\finance", Destination::None),
            row(UncPath, r"\\FS01.corp.example.test\Finance", set(r"\\fs01.branch.example.test\finance")),
            row(GlobalGroup, "Kiosk@corp.example.test", Destination::None),
        ]);
        let checks = validate(&table, &branch(), &known());
        assert_eq!(checks.len(), 10);
        assert_eq!(checks.iter().map(|c| c.row).collect::<Vec<_>>(), (1..=10).collect::<Vec<_>>());
        let ok: Vec<usize> = checks.iter().filter(|c| c.is_ok()).map(|c| c.row).collect();
        assert_eq!(ok, [1, 4, 5, 6, 10]);
        assert_eq!(checks[0].found.as_deref(), Some("BRANCH\\Branch Helpdesk (GlobalGroup)"));
        assert!(
            matches!(&checks[1].problems[..], [RowProblem::NotFound { principal, .. }] if principal == "BRANCH\\No Such Group"),
            "{:?}",
            checks[1].problems
        );
        assert!(matches!(&checks[2].problems[..], [RowProblem::WrongType { actual, .. }] if actual == "User"));
        let text = checks[2].problems[0].to_string();
        assert!(
            text.contains("BRANCH\\frank.branch is a User in branch.example.test, but the row says GlobalGroup"),
            "{text}"
        );
        // Same as source: a corp group is not in branch.
        assert!(checks[6].problems[0].to_string().contains("(same as source) was not found in branch.example.test"));
        assert!(matches!(checks[7].problems[..], [RowProblem::Table(Issue::NoneOnUncPath)]));
        assert!(matches!(checks[8].problems[..], [RowProblem::Table(Issue::DuplicateSource { first_row: 8 })]));
        let (sids, names) = destination_lookups(&table, &branch());
        assert_eq!(sids, ["S-1-5-21-9-8-7-512".parse::<Sid>().unwrap()]);
        assert_eq!(names.len(), 5, "{names:?}");
        assert!(
            names.contains(&"BRANCH\\Domain Admins".to_string())
                || names.contains(&"Domain Admins@branch.example.test".to_string())
        );
    }
}
