//! Applying a migration table to a GPO: its folder's settings files, its class store objects
//! and its security descriptor, as an import or a copy into another domain writes them.
//!
//! Every reference the readers find is offered to the table: SIDs stay SIDs (a destination
//! name is turned into the target domain's SID), names stay names in the form they had
//! (`CORP\Helpdesk` becomes `BRANCH\Branch Helpdesk`), UNC paths are mapped by their longest
//! matching prefix. Each settings file keeps its encoding and every byte but the mapped values;
//! a file nothing maps in keeps its bytes as they were. Beyond GPMC this maps Group Policy
//! Preferences XML, registry.pol strings and the SDDL of [Registry Values].
//!
//! Nothing is produced unless everything can be: a destination the target domain does not
//! hold, a removal a file cannot express, or (when every reference must be mapped) a reference
//! without a row fails the whole apply, listing every case. Without a table (GPMC's default)
//! nothing changes and the report lists the foreign references left behind.
//!
//! What the directories know comes in through two [`PrincipalLookup`]s, filled beforehand:
//! [`destination_lookups`] says what the target domain must be asked.

use std::cell::RefCell;
use std::fmt;

use crate::formats::FormatError;
use crate::formats::references::{Reference, ReferenceKind};
use crate::formats::settings_file::SettingsFile;
use crate::migrate::principals::PrincipalLookup;
use crate::migrate::references::{
    GpoReference, GpoReferences, MSI_FILE_LIST, Origin, attribute_values, is_domain_account, msi_file_path, split_unc,
    value_bytes,
};
use crate::migrate::table::{
    KnownPrincipal, Mapped, MigrationTable, Outcome, PrincipalRef, TargetDomain, eq_ignore_case,
};
use crate::model::{Acl, AttributeValue, DirectoryObject, FolderEntry, GpoFolder, Principal, SecurityDescriptor, Sid};

/// What a table is applied to.
#[derive(Clone, Copy, Debug)]
pub struct ApplyInput<'a> {
    pub folder: &'a GpoFolder,
    /// The class store objects below the GPO (packages with their security descriptors).
    pub class_store: &'a [DirectoryObject],
    /// The GPO's security descriptor, when it is carried over (a copy that keeps the source's
    /// permissions).
    pub dacl: Option<&'a SecurityDescriptor>,
}

/// How a table is applied.
#[derive(Clone, Debug)]
pub struct ApplyOptions<'a> {
    /// `None`: GPMC's default, settings are copied as they are.
    pub table: Option<&'a MigrationTable>,
    /// Every principal and UNC path that is foreign to the target must have a row (GPMC's "use
    /// migration table exclusively").
    pub only_mapped: bool,
    /// Where relative names land, and which names are the target's own.
    pub target: TargetDomain,
    /// The target domain's SID: its own accounts are not foreign.
    pub target_sid: Option<Sid>,
}

/// What the source and the target domains know of the principals involved.
#[derive(Clone, Copy)]
pub struct Lookups<'a> {
    pub source: &'a dyn PrincipalLookup,
    pub target: &'a dyn PrincipalLookup,
}

/// The mapped GPO and what was done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub folder: GpoFolder,
    pub class_store: Vec<DirectoryObject>,
    pub dacl: Option<SecurityDescriptor>,
    pub report: ApplyReport,
}

/// Per file (or class store object, or the DACL): what was mapped and what was left.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApplyReport {
    pub places: Vec<PlaceReport>,
    /// Settings files that could not be read (only without a table: with one, they fail it).
    pub unreadable: Vec<String>,
}

impl ApplyReport {
    pub fn mapped_count(&self) -> usize {
        self.places.iter().map(|p| p.mapped.len()).sum()
    }

    pub fn left_count(&self) -> usize {
        self.places.iter().map(|p| p.left.len()).sum()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PlaceReport {
    pub origin: Origin,
    /// The file's path in the GPO folder, the object's DN, or the DACL.
    pub place: String,
    pub mapped: Vec<MappedReference>,
    pub left: Vec<LeftReference>,
}

/// One reference the table mapped (or kept: `to` equals `from`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MappedReference {
    pub kind: ReferenceKind,
    pub at: String,
    pub attribute: String,
    pub from: String,
    /// `None`: removed (DestinationNone).
    pub to: Option<String>,
    /// The table row, counted from 1.
    pub row: usize,
}

/// A foreign reference left as it was, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LeftReference {
    pub kind: ReferenceKind,
    pub at: String,
    pub attribute: String,
    pub value: String,
    pub why: Left,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Left {
    /// No table was given.
    NoTable,
    /// The table has no row for it.
    NoRow,
    /// A row maps it, but it sits in a binary advertise script that is copied as it is.
    ReadOnly { row: usize },
}

impl fmt::Display for Left {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Left::NoTable => f.write_str("no migration table"),
            Left::NoRow => f.write_str("no row in the migration table"),
            Left::ReadOnly { row } => write!(f, "row {row} maps it, but advertise scripts are copied as they are"),
        }
    }
}

/// A reference and where it is, for error lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub kind: ReferenceKind,
    pub value: String,
    pub place: String,
    pub at: String,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.value, self.place)?;
        if !self.at.is_empty() {
            write!(f, ", {}", self.at)?;
        }
        f.write_str(")")
    }
}

/// Why a row cannot be applied to one reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unappliable {
    pub reference: Place,
    pub row: usize,
    pub reason: UnappliableReason,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnappliableReason {
    #[error("its destination {destination} was not found in {domain}, so it has no SID to write")]
    DestinationNotFound { destination: String, domain: String },
    #[error("by relative name needs the source principal's name, and the source domain did not name it")]
    NoRelativeName,
    #[error("a settings file cannot drop a principal (DestinationNone); map it to a principal or keep it")]
    CannotRemove,
    #[error("a UNC path needs a destination path or same as source")]
    UncWithoutPath,
}

impl fmt::Display for Unappliable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {} on {}: {}", self.row, self.reference, self.reason)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(
        "{} principal(s) or UNC path(s) have no row in the migration table, and every one must be mapped: {}. \
         Add rows for them, or apply without requiring every reference to be mapped",
        .0.len(), list(.0)
    )]
    Unmapped(Vec<Place>),
    #[error("the migration table cannot be applied: {}", list(.0))]
    Unappliable(Vec<Unappliable>),
    #[error(
        "{} settings file(s) could not be read, so their principals and paths cannot be mapped: {}",
        .0.len(), list(.0)
    )]
    Unreadable(Vec<FormatError>),
    /// A destination cannot be written where its reference is (a character the file or the
    /// place cannot hold).
    #[error("a mapped value cannot be written: {0}")]
    NotWritable(FormatError),
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join("; ")
}

/// What happens to one reference.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Decision {
    /// Needs no mapping (well-known, local, a variable...).
    Untouched,
    Map {
        row: usize,
        to: Option<String>,
    },
    Keep {
        row: usize,
    },
    Left(Left),
}

/// Maps `input` with `options.table`.
pub fn apply(input: ApplyInput<'_>, options: &ApplyOptions<'_>, lookups: Lookups<'_>) -> Result<Applied, ApplyError> {
    let references = collect(input);
    if options.table.is_some() && !references.unreadable.is_empty() {
        return Err(ApplyError::Unreadable(references.unreadable));
    }
    let mut problems = Vec::new();
    let decisions: Vec<Decision> =
        references.found.iter().map(|r| decide(r, options, lookups, &mut problems)).collect();

    if options.only_mapped {
        let unmapped: Vec<Place> = references
            .found
            .iter()
            .zip(&decisions)
            .filter(|(r, d)| matches!(d, Decision::Left(Left::NoRow | Left::NoTable)) && is_foreign(r, options))
            .map(|(r, _)| place(r))
            .collect();
        if !unmapped.is_empty() {
            return Err(ApplyError::Unmapped(unmapped));
        }
    }
    if !problems.is_empty() {
        return Err(ApplyError::Unappliable(problems));
    }

    let folder = map_folder(input.folder, &references, &decisions).map_err(ApplyError::NotWritable)?;
    let class_store = input.class_store.iter().map(|object| map_object(object, &references, &decisions)).collect();
    let dacl = input.dacl.map(|sd| {
        let parts: Vec<&Decision> =
            references.found.iter().zip(&decisions).filter(|(r, _)| r.origin == Origin::Dacl).map(|(_, d)| d).collect();
        map_descriptor(sd, &parts)
    });
    Ok(Applied { folder, class_store, dacl, report: report(&references, &decisions, options) })
}

/// What the target domain must be asked before [`apply`]: the SIDs and names of every
/// destination the table gives the references of `input`.
pub fn destination_lookups(
    input: ApplyInput<'_>,
    options: &ApplyOptions<'_>,
    source: &dyn PrincipalLookup,
) -> (Vec<Sid>, Vec<String>) {
    let recorder = Recorder::default();
    let references = collect(input);
    let mut ignored = Vec::new();
    for reference in &references.found {
        decide(reference, options, Lookups { source, target: &recorder }, &mut ignored);
    }
    (recorder.sids.into_inner(), recorder.names.into_inner())
}

/// A lookup that knows nothing and remembers what it was asked.
#[derive(Default)]
struct Recorder {
    sids: RefCell<Vec<Sid>>,
    names: RefCell<Vec<String>>,
}

impl PrincipalLookup for Recorder {
    fn by_sid(&self, sid: &Sid) -> Option<Principal> {
        let mut sids = self.sids.borrow_mut();
        if !sids.contains(sid) {
            sids.push(sid.clone());
        }
        None
    }

    fn by_name(&self, name: &str) -> Option<Principal> {
        let mut names = self.names.borrow_mut();
        if !names.iter().any(|n| eq_ignore_case(n, name)) {
            names.push(name.to_string());
        }
        None
    }
}

fn collect(input: ApplyInput<'_>) -> GpoReferences {
    let mut references = GpoReferences::of_folder(input.folder);
    references.add_class_store(input.class_store);
    if let Some(sd) = input.dacl {
        references.add_dacl(sd);
    }
    references
}

fn place(reference: &GpoReference) -> Place {
    Place {
        kind: reference.kind(),
        value: reference.value().to_string(),
        place: reference.reference.file.clone(),
        at: reference.reference.at.clone(),
    }
}

/// True when `reference` names something the target does not have as it is: a domain account
/// of another domain, a name with another domain (or none), any UNC path.
fn is_foreign(reference: &GpoReference, options: &ApplyOptions<'_>) -> bool {
    if !reference.needs_mapping() {
        return false;
    }
    let own_sid = |sid: &Sid| options.target_sid.as_ref().is_some_and(|domain| sid.is_in_domain(domain));
    match (reference.kind(), reference.sid()) {
        (ReferenceKind::Sid | ReferenceKind::AccountName, Some(sid)) => !own_sid(&sid),
        (ReferenceKind::AccountName, None) => match PrincipalRef::parse(reference.value()) {
            PrincipalRef::DomainName { domain, .. } | PrincipalRef::Upn { domain, .. } => {
                !eq_ignore_case(&domain, &options.target.netbios_name)
                    && !eq_ignore_case(&domain, &options.target.dns_name)
            }
            _ => true,
        },
        _ => true,
    }
}

fn decide(
    reference: &GpoReference,
    options: &ApplyOptions<'_>,
    lookups: Lookups<'_>,
    problems: &mut Vec<Unappliable>,
) -> Decision {
    if !reference.needs_mapping() {
        return Decision::Untouched;
    }
    let who = reference.kind().is_principal().then(|| known(reference, lookups.source));
    // A bare name the source resolves to a built-in or well-known account is the same everywhere.
    if who.as_ref().and_then(|w| w.sid.as_ref()).is_some_and(|sid| !is_domain_account(sid)) {
        return Decision::Untouched;
    }
    let Some(table) = options.table else { return Decision::Left(Left::NoTable) };
    let mapped = match &who {
        Some(who) => table.lookup_principal(who, &options.target),
        None => split_unc(reference.value()).and_then(|(path, _)| table.map_unc(&path.to_string())),
    };
    let Some(Mapped { row, outcome }) = mapped else { return Decision::Left(Left::NoRow) };
    let mut fail = |reason: UnappliableReason| {
        problems.push(Unappliable { reference: place(reference), row, reason });
        Decision::Left(Left::NoRow)
    };
    match outcome {
        Outcome::Keep => Decision::Keep { row },
        Outcome::Replace(_) if reference.origin == Origin::AdvertiseScript => Decision::Left(Left::ReadOnly { row }),
        Outcome::Replace(destination) => match render(reference, &destination, options, lookups.target) {
            Ok(to) => Decision::Map { row, to: Some(to) },
            Err(reason) => fail(reason),
        },
        Outcome::Remove if reference.kind() == ReferenceKind::UncPath => fail(UnappliableReason::UncWithoutPath),
        Outcome::Remove if is_removable_ace(reference) => Decision::Map { row, to: None },
        Outcome::Remove => fail(UnappliableReason::CannotRemove),
        Outcome::NoRelativeName if reference.kind() == ReferenceKind::UncPath => {
            fail(UnappliableReason::UncWithoutPath)
        }
        Outcome::NoRelativeName => fail(UnappliableReason::NoRelativeName),
    }
}

/// An ACE of a security descriptor can be dropped; an owner, a group or a setting cannot.
fn is_removable_ace(reference: &GpoReference) -> bool {
    use crate::migrate::references::sd_part;
    matches!(reference.origin, Origin::Dacl | Origin::ClassStore)
        && matches!(reference.reference.attribute.as_str(), sd_part::ACE | sd_part::INHERITED_ACE | sd_part::SACL_ACE)
}

/// What the source says of the principal `reference` names: everything the source domain knows
/// when it knows it (by SID, by name), else what the text says, with the other name of its
/// domain when that is known.
fn known(reference: &GpoReference, source: &dyn PrincipalLookup) -> KnownPrincipal {
    let principal = reference.sid().and_then(|sid| source.by_sid(&sid)).or_else(|| {
        (reference.kind() == ReferenceKind::AccountName).then(|| source.by_name(reference.value())).flatten()
    });
    if let Some(principal) = principal {
        return KnownPrincipal::from(&principal);
    }
    let mut who = KnownPrincipal::from_text(reference.value()).unwrap_or_default();
    if who.sid.is_none() {
        who.sid = reference.sid();
    }
    for domain in source.domains() {
        let netbios = who.netbios_domain.as_deref().is_some_and(|d| eq_ignore_case(d, &domain.netbios_name));
        let dns = who.dns_domain.as_deref().is_some_and(|d| eq_ignore_case(d, &domain.dns_name));
        if netbios || dns {
            who.netbios_domain = Some(domain.netbios_name.clone());
            who.dns_domain = Some(domain.dns_name.clone());
        }
    }
    who
}

/// The text written in place of `reference` for a row whose destination is `destination`:
/// a SID for a SID, a name in the reference's own form for a name, the mapped path (and what
/// followed it) for a UNC path.
fn render(
    reference: &GpoReference,
    destination: &str,
    options: &ApplyOptions<'_>,
    target: &dyn PrincipalLookup,
) -> Result<String, UnappliableReason> {
    let not_found = || UnappliableReason::DestinationNotFound {
        destination: destination.to_string(),
        domain: options.target.dns_name.clone(),
    };
    let wanted = PrincipalRef::parse(destination);
    match reference.kind() {
        ReferenceKind::UncPath => {
            let (_, tail) = split_unc(reference.value()).ok_or(UnappliableReason::UncWithoutPath)?;
            let head = &reference.value()[..reference.value().len() - tail.len()];
            let mut path = destination.to_string();
            if head.ends_with('\\') && !path.ends_with('\\') {
                path.push('\\');
            }
            Ok(format!("{path}{tail}"))
        }
        ReferenceKind::Sid => match wanted {
            PrincipalRef::Sid(sid) => Ok(sid.to_string()),
            _ => target.by_name(destination).map(|p| p.sid.to_string()).ok_or_else(not_found),
        },
        ReferenceKind::AccountName => {
            let found = match &wanted {
                PrincipalRef::Sid(sid) => Some(target.by_sid(sid).ok_or_else(not_found)?),
                _ => target.by_name(destination),
            };
            Ok(name_in_form(reference.value(), found.as_ref(), &wanted, &options.target))
        }
        ReferenceKind::Path => Ok(reference.value().to_string()),
    }
}

/// The destination written the way `original` was: `NETBIOS\name`, `dns.domain\name`,
/// `name@dns.domain` or a bare name. From the principal when the target named it, else from
/// the destination's text (a domain it names in the other form becomes the target's when it is
/// the target).
fn name_in_form(original: &str, found: Option<&Principal>, wanted: &PrincipalRef, target: &TargetDomain) -> String {
    let (name, netbios, dns) = match (found, wanted) {
        (Some(p), _) => (p.sam_account_name.clone(), p.netbios_domain.clone(), p.dns_domain.clone()),
        (None, PrincipalRef::DomainName { domain, name }) => {
            let (netbios, dns) = domain_pair(domain, target);
            (name.clone(), netbios, dns)
        }
        (None, PrincipalRef::Upn { name, domain }) => {
            let (netbios, dns) = domain_pair(domain, target);
            (name.clone(), netbios, dns)
        }
        (None, PrincipalRef::Name(name)) => (name.clone(), target.netbios_name.clone(), target.dns_name.clone()),
        (None, other) => return other.to_string(),
    };
    match PrincipalRef::parse(original) {
        PrincipalRef::DomainName { domain, .. } if domain.contains('.') => format!("{dns}\\{name}"),
        PrincipalRef::DomainName { .. } => format!("{netbios}\\{name}"),
        PrincipalRef::Upn { .. } => format!("{name}@{dns}"),
        _ => name,
    }
}

/// Both names of the domain a destination names: the target's when it is the target, else the
/// name given for both.
fn domain_pair(domain: &str, target: &TargetDomain) -> (String, String) {
    if eq_ignore_case(domain, &target.netbios_name) || eq_ignore_case(domain, &target.dns_name) {
        (target.netbios_name.clone(), target.dns_name.clone())
    } else {
        (domain.to_string(), domain.to_string())
    }
}

/// The folder with every settings file that has a mapped reference rewritten in place.
fn map_folder(
    folder: &GpoFolder,
    references: &GpoReferences,
    decisions: &[Decision],
) -> Result<GpoFolder, FormatError> {
    let mut out = folder.clone();
    for entry in &mut out.entries {
        let FolderEntry::File { rel_path, bytes } = entry else { continue };
        // The n-th reference the reader offers is the n-th it listed: the same walk.
        let edits: Vec<Option<&Option<String>>> = references
            .found
            .iter()
            .zip(decisions)
            .filter(|(r, _)| r.origin == Origin::Settings && r.reference.file == *rel_path)
            .map(|(_, d)| match d {
                Decision::Map { to, .. } => Some(to),
                _ => None,
            })
            .collect();
        if edits.iter().all(Option::is_none) {
            continue;
        }
        let Some(parsed) = SettingsFile::parse(rel_path, bytes) else { continue };
        let mut file = parsed?;
        let mut index = 0;
        file.for_each_reference_mut(&mut |_: &Reference, value: &mut String| {
            if let Some(Some(Some(new))) = edits.get(index) {
                *value = new.clone();
            }
            index += 1;
        })?;
        *bytes = file.to_bytes();
    }
    Ok(out)
}

/// The object with its installer paths and security descriptor mapped.
fn map_object(object: &DirectoryObject, references: &GpoReferences, decisions: &[Decision]) -> DirectoryObject {
    let mine: Vec<(&GpoReference, &Decision)> = references
        .found
        .iter()
        .zip(decisions)
        .filter(|(r, _)| r.origin == Origin::ClassStore && r.reference.file == object.dn)
        .collect();
    let mut out = object.clone();
    for (name, values) in &mut out.attributes {
        if name.eq_ignore_ascii_case(MSI_FILE_LIST) {
            for value in values.iter_mut() {
                let Some(text) = value_bytes(value).map(|b| String::from_utf8_lossy(&b).into_owned()) else { continue };
                let path = msi_file_path(&text);
                let new = mine.iter().find_map(|(r, d)| match d {
                    Decision::Map { to: Some(to), .. }
                        if r.reference.attribute == MSI_FILE_LIST && r.value() == path =>
                    {
                        Some(to)
                    }
                    _ => None,
                });
                if let Some(new) = new {
                    *value = AttributeValue::Text(format!("{}{new}", &text[..text.len() - path.len()]));
                }
            }
        } else if name.eq_ignore_ascii_case("nTSecurityDescriptor") {
            let Some(sd) = attribute_values(object, name)
                .first()
                .and_then(value_bytes)
                .and_then(|b| SecurityDescriptor::from_bytes(&b).ok())
            else {
                continue;
            };
            let parts: Vec<&Decision> =
                mine.iter().filter(|(r, _)| r.reference.attribute != MSI_FILE_LIST).map(|(_, d)| *d).collect();
            let mapped = map_descriptor(&sd, &parts);
            if mapped.raw != sd.raw {
                *values = vec![AttributeValue::from_bytes(mapped.raw)];
            }
        }
    }
    out
}

/// `sd` with its SIDs mapped and the ACEs mapped to nothing dropped; `parts` are the decisions
/// for its owner, group, DACL entries and SACL entries in that order (as
/// `GpoReferences::add_dacl` lists them). Unchanged, it keeps its bytes.
fn map_descriptor(sd: &SecurityDescriptor, parts: &[&Decision]) -> SecurityDescriptor {
    let mut next = parts.iter();
    let mut changed = false;
    let mut map_sid = |sid: &Sid| -> Option<Sid> {
        match next.next() {
            Some(Decision::Map { to: Some(to), .. }) => match to.parse::<Sid>() {
                Ok(new) => {
                    changed |= new != *sid;
                    Some(new)
                }
                Err(_) => Some(sid.clone()),
            },
            Some(Decision::Map { to: None, .. }) => {
                changed = true;
                None
            }
            _ => Some(sid.clone()),
        }
    };
    let owner = sd.owner.as_ref().map(|s| map_sid(s).unwrap_or_else(|| s.clone()));
    let group = sd.group.as_ref().map(|s| map_sid(s).unwrap_or_else(|| s.clone()));
    let mut map_acl = |acl: &Acl| Acl {
        revision: acl.revision,
        aces: acl
            .aces
            .iter()
            .filter_map(|ace| map_sid(&ace.sid).map(|sid| crate::model::Ace { sid, ..ace.clone() }))
            .collect(),
    };
    let dacl = sd.dacl.as_ref().map(&mut map_acl);
    let sacl = sd.sacl.as_ref().map(&mut map_acl);
    if !changed {
        return sd.clone();
    }
    SecurityDescriptor::from_parts(sd.control, owner, group, sacl, dacl)
}

fn report(references: &GpoReferences, decisions: &[Decision], options: &ApplyOptions<'_>) -> ApplyReport {
    let mut report =
        ApplyReport { places: Vec::new(), unreadable: references.unreadable.iter().map(|e| e.file.clone()).collect() };
    for (reference, decision) in references.found.iter().zip(decisions) {
        let r = &reference.reference;
        let place = match report.places.iter().position(|p| p.place == r.file && p.origin == reference.origin) {
            Some(at) => at,
            None => {
                report.places.push(PlaceReport {
                    origin: reference.origin,
                    place: r.file.clone(),
                    mapped: Vec::new(),
                    left: Vec::new(),
                });
                report.places.len() - 1
            }
        };
        let entry = &mut report.places[place];
        let mapped = |to: Option<String>, row: usize| MappedReference {
            kind: r.kind,
            at: r.at.clone(),
            attribute: r.attribute.clone(),
            from: r.value.clone(),
            to,
            row,
        };
        match decision {
            Decision::Untouched => {}
            Decision::Map { row, to } => entry.mapped.push(mapped(to.clone(), *row)),
            Decision::Keep { row } => entry.mapped.push(mapped(Some(r.value.clone()), *row)),
            Decision::Left(why) => {
                if is_foreign(reference, options) || matches!(why, Left::ReadOnly { .. }) {
                    entry.left.push(LeftReference {
                        kind: r.kind,
                        at: r.at.clone(),
                        attribute: r.attribute.clone(),
                        value: r.value.clone(),
                        why: *why,
                    });
                }
            }
        }
    }
    report.places.retain(|p| !p.mapped.is_empty() || !p.left.is_empty());
    report
}

#[cfg(test)]
mod tests;
