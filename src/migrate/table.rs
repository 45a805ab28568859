//! The migration table the rest of gpvault uses: rows in the order the admin sees them, what a
//! source or destination text names, which row maps a principal or UNC path found in a GPO, the
//! checks that need no network, and the edits the TUI's table editor makes.
//!
//! Matching follows GPMC's documentation ("Create a migration table", GPMC help): a principal
//! may be written as `name@dns.domain`, `DOMAIN\name`, `dns.domain\name`, free text or a SID
//! (the last two with type Unknown, "Free text or SID"), and a UNC path as `\\server\share`.
//! Comparisons ignore case, as Windows does for account names and paths.

use std::fmt;

use crate::formats::FormatError;
use crate::formats::migtable::{self, MigTableFile, TextEncoding};
use crate::model::{DomainInfo, Principal, Sid};

pub use crate::formats::migtable::{Destination, EntryType, Mapping};

/// A migration table being read, edited or applied.
///
/// Saving: [`MigrationTable::to_bytes`] returns the bytes the table was read from as long as its
/// rows are unchanged (so a table GPMC wrote comes back byte for byte, whatever its encoding and
/// layout, comments included), and GPMC's own serialisation (UTF-16LE, BOM, XmlSerializer layout)
/// once a row differs. Undoing every edit brings the original bytes back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrationTable {
    rows: Vec<Mapping>,
    original: Option<Original>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Original {
    bytes: Vec<u8>,
    rows: Vec<Mapping>,
    encoding: TextEncoding,
}

/// What [`MigrationTable::merge`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    pub added: usize,
    /// Rows left out: the table already maps their source.
    pub already_there: usize,
}

/// The row does not exist (editing with an index past the end).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the migration table has no row {row} (it has {len})")]
pub struct NoSuchRow {
    /// Counted from 1, as shown to the admin.
    pub row: usize,
    pub len: usize,
}

impl MigrationTable {
    /// An empty table.
    pub fn new() -> Self {
        MigrationTable::default()
    }

    /// A table of these rows, never read from a file.
    pub fn from_rows(rows: Vec<Mapping>) -> Self {
        MigrationTable { rows, original: None }
    }

    /// Reads a `.migtable` file (see [`migtable::MigTableFile::parse`] for what is refused).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        let file = MigTableFile::parse(bytes)?;
        Ok(MigrationTable {
            rows: file.mappings.clone(),
            original: Some(Original { bytes: bytes.to_vec(), rows: file.mappings, encoding: file.encoding }),
        })
    }

    /// The file's bytes: the original ones while nothing changed, else GPMC's serialisation.
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.original {
            Some(original) if original.rows == self.rows => original.bytes.clone(),
            _ => migtable::to_bytes(&self.rows),
        }
    }

    /// True when [`to_bytes`](Self::to_bytes) would not return the bytes the table was read from
    /// (always true for a table that was not read from a file).
    pub fn is_modified(&self) -> bool {
        self.original.as_ref().is_none_or(|original| original.rows != self.rows)
    }

    /// How the file was encoded when read; `None` for a new table.
    pub fn source_encoding(&self) -> Option<TextEncoding> {
        self.original.as_ref().map(|original| original.encoding)
    }

    pub fn rows(&self) -> &[Mapping] {
        &self.rows
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The row at `index` (counted from 0).
    pub fn get(&self, index: usize) -> Option<&Mapping> {
        self.rows.get(index)
    }

    /// Index (from 0) of the row whose source is `source`, compared as duplicates are.
    pub fn find_source(&self, source: &str) -> Option<usize> {
        let key = source_key(source);
        self.rows.iter().position(|row| source_key(&row.source) == key)
    }

    /// Appends a row; returns its index (from 0). Duplicates are accepted here, so an editor can
    /// hold a half-typed row, and reported by [`validate`](Self::validate).
    pub fn push(&mut self, mapping: Mapping) -> usize {
        self.rows.push(mapping);
        self.rows.len() - 1
    }

    /// Appends the rows whose source the table does not hold yet (compared as duplicates are),
    /// in their order: what populating an open table does. Returns how many were added and how
    /// many were already there.
    pub fn merge(&mut self, rows: impl IntoIterator<Item = Mapping>) -> Merged {
        let mut merged = Merged::default();
        for mapping in rows {
            if self.find_source(&mapping.source).is_some() {
                merged.already_there += 1;
            } else {
                self.rows.push(mapping);
                merged.added += 1;
            }
        }
        merged
    }

    /// Inserts a row before `index` (`index == len` appends).
    pub fn insert(&mut self, index: usize, mapping: Mapping) -> Result<(), NoSuchRow> {
        if index > self.rows.len() {
            return Err(self.no_such_row(index));
        }
        self.rows.insert(index, mapping);
        Ok(())
    }

    /// Removes the row at `index`; the rows after it move up.
    pub fn remove(&mut self, index: usize) -> Result<Mapping, NoSuchRow> {
        if index >= self.rows.len() {
            return Err(self.no_such_row(index));
        }
        Ok(self.rows.remove(index))
    }

    /// Replaces the row at `index`; returns the previous one.
    pub fn update(&mut self, index: usize, mapping: Mapping) -> Result<Mapping, NoSuchRow> {
        let len = self.rows.len();
        let slot = self.rows.get_mut(index).ok_or(NoSuchRow { row: index + 1, len })?;
        Ok(std::mem::replace(slot, mapping))
    }

    /// Moves the row at `from` to `to`, keeping the others in order.
    pub fn move_row(&mut self, from: usize, to: usize) -> Result<(), NoSuchRow> {
        if from >= self.rows.len() {
            return Err(self.no_such_row(from));
        }
        if to >= self.rows.len() {
            return Err(self.no_such_row(to));
        }
        let row = self.rows.remove(from);
        self.rows.insert(to, row);
        Ok(())
    }

    fn no_such_row(&self, index: usize) -> NoSuchRow {
        NoSuchRow { row: index + 1, len: self.rows.len() }
    }

    /// Every problem that can be seen without asking the domain, in row order.
    pub fn validate(&self) -> Vec<ValidationIssue> {
        let mut issues = Vec::new();
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (index, mapping) in self.rows.iter().enumerate() {
            let row = index + 1;
            let mut report = |issue: Issue| issues.push(ValidationIssue { row, issue });
            for text in [Some(mapping.source.as_str()), set_text(&mapping.destination)].into_iter().flatten() {
                if let Some(bad) = text.chars().find(|c| !is_xml_char(*c)) {
                    report(Issue::UnwritableCharacter(u32::from(bad)));
                }
            }
            if mapping.source.trim().is_empty() {
                report(Issue::EmptySource);
            } else {
                let key = source_key(&mapping.source);
                match seen.iter().find(|(k, _)| *k == key) {
                    Some((_, first_row)) => report(Issue::DuplicateSource { first_row: *first_row }),
                    None => seen.push((key, row)),
                }
                check_source_form(mapping, &mut report);
            }
            check_destination(mapping, &mut report);
        }
        issues
    }

    /// The principals the destination domain must hold for this table to apply, with the type
    /// each row says they have: what the LDAP check looks up. Rows that map to a UNC path or to
    /// nothing are left out, and so are relative names of SID sources (the name is only known
    /// once the SID is resolved in the source domain).
    pub fn destination_principals(&self, target: &TargetDomain) -> Vec<DestinationPrincipal> {
        let mut out = Vec::new();
        for (index, mapping) in self.rows.iter().enumerate() {
            if !mapping.entry_type.is_principal() || mapping.source.trim().is_empty() {
                continue;
            }
            let source = PrincipalRef::parse(&mapping.source);
            let (principal, origin) = match &mapping.destination {
                Destination::Set(text) if !text.trim().is_empty() => {
                    (PrincipalRef::parse(text), DestinationOrigin::Explicit)
                }
                Destination::SameAsSource => (source, DestinationOrigin::SameAsSource),
                Destination::ByRelativeName => match source.with_domain(target) {
                    Some(principal) => (principal, DestinationOrigin::RelativeName),
                    None => continue,
                },
                Destination::Set(_) | Destination::None => continue,
            };
            if matches!(principal, PrincipalRef::Unc(_)) {
                continue;
            }
            out.push(DestinationPrincipal { row: index + 1, principal, expected: mapping.entry_type, origin });
        }
        out
    }

    /// The row that maps `who` and what it becomes in `target`.
    ///
    /// A row matches when its source names the principal (by SID, or by name with either of its
    /// domain's names, ignoring case) and its type is the principal's kind or Unknown. A SID row
    /// wins over a name row; otherwise the first matching row wins. A free-text row (a bare
    /// name) only matches a principal known by a bare name too, never one with a domain or SID:
    /// `Administrator` must not capture every domain's Administrator.
    pub fn lookup_principal(&self, who: &KnownPrincipal, target: &TargetDomain) -> Option<Mapped> {
        let candidates = self.rows.iter().enumerate().filter(|(_, m)| {
            m.entry_type.is_principal()
                && (m.entry_type == EntryType::Unknown || who.kind.is_none_or(|kind| kind == m.entry_type))
        });
        let mut by_name = None;
        for (index, mapping) in candidates {
            let source = PrincipalRef::parse(&mapping.source);
            if !who.is_named_by(&source) {
                continue;
            }
            if matches!(source, PrincipalRef::Sid(_)) {
                return Some(principal_outcome(index, mapping, &source, who, target));
            }
            if by_name.is_none() {
                by_name = Some((index, mapping, source));
            }
        }
        by_name.map(|(index, mapping, source)| principal_outcome(index, mapping, &source, who, target))
    }

    /// [`lookup_principal`](Self::lookup_principal) for a reference as written in a setting
    /// (`*S-1-5-21-...` without the star, `CORP\jdoe`, `jdoe@corp.example`, free text).
    pub fn lookup_text(&self, reference: &str, target: &TargetDomain) -> Option<Mapped> {
        let who = KnownPrincipal::from_text(reference)?;
        self.lookup_principal(&who, target)
    }

    /// The row that maps a UNC path found in a setting, and the path it becomes.
    ///
    /// A row for `\\srv\share` maps that path and everything under it (`\\srv\share\dir\f.cmd`
    /// becomes the destination followed by `\dir\f.cmd`), by whole path components and ignoring
    /// case. When several rows match, the longest source wins, so a row for a sub-folder can
    /// override its share; among equal lengths the first row wins.
    pub fn map_unc(&self, path: &str) -> Option<Mapped> {
        let path = UncPath::parse(path)?;
        let mut best: Option<(usize, &Mapping, &[String], usize)> = None;
        for (index, mapping) in self.rows.iter().enumerate() {
            if mapping.entry_type != EntryType::UncPath {
                continue;
            }
            let Some(source) = UncPath::parse(&mapping.source) else { continue };
            let Some(remainder) = path.strip_prefix(&source) else { continue };
            let depth = source.rest.len();
            if best.is_none_or(|(_, _, _, best_depth)| depth > best_depth) {
                best = Some((index, mapping, remainder, depth));
            }
        }
        let (index, mapping, remainder, _) = best?;
        let outcome = match &mapping.destination {
            Destination::Set(text) => {
                let mut mapped = text.trim().trim_end_matches('\\').to_string();
                for component in remainder {
                    mapped.push('\\');
                    mapped.push_str(component);
                }
                Outcome::Replace(mapped)
            }
            Destination::SameAsSource => Outcome::Keep,
            Destination::None => Outcome::Remove,
            Destination::ByRelativeName => Outcome::NoRelativeName,
        };
        Some(Mapped { row: index + 1, outcome })
    }
}

fn set_text(destination: &Destination) -> Option<&str> {
    match destination {
        Destination::Set(text) => Some(text),
        _ => None,
    }
}

/// Characters an XML 1.0 document can carry.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn check_source_form(mapping: &Mapping, report: &mut impl FnMut(Issue)) {
    let source = PrincipalRef::parse(&mapping.source);
    let ty = mapping.entry_type;
    match (&source, ty) {
        (PrincipalRef::Unc(_), EntryType::UncPath) => {}
        (_, EntryType::UncPath) => report(Issue::MalformedUncSource),
        (PrincipalRef::Unc(_), _) => report(Issue::UncSourceForPrincipal { entry_type: ty }),
        (PrincipalRef::Sid(_), EntryType::Unknown) | (PrincipalRef::Name(_), EntryType::Unknown) => {}
        (PrincipalRef::Sid(_), _) => report(Issue::NeedsUnknownType { form: "SID", entry_type: ty }),
        (PrincipalRef::Name(_), _) => report(Issue::NeedsUnknownType { form: "free-text", entry_type: ty }),
        _ => {}
    }
}

fn check_destination(mapping: &Mapping, report: &mut impl FnMut(Issue)) {
    let unc_row = mapping.entry_type == EntryType::UncPath;
    match &mapping.destination {
        Destination::Set(text) if text.trim().is_empty() => report(Issue::EmptyDestination),
        Destination::Set(text) => {
            let is_unc = UncPath::parse(text).is_some();
            if unc_row && !is_unc {
                report(Issue::MalformedUncDestination);
            } else if !unc_row && text.trim_start().starts_with(r"\\") {
                report(Issue::UncDestinationForPrincipal { entry_type: mapping.entry_type });
            }
        }
        Destination::None if unc_row => report(Issue::NoneOnUncPath),
        Destination::ByRelativeName if unc_row => report(Issue::RelativeNameOnUncPath),
        _ => {}
    }
}

fn principal_outcome(
    index: usize,
    mapping: &Mapping,
    source: &PrincipalRef,
    who: &KnownPrincipal,
    target: &TargetDomain,
) -> Mapped {
    let outcome = match &mapping.destination {
        Destination::Set(text) => Outcome::Replace(text.trim().to_string()),
        Destination::SameAsSource => Outcome::Keep,
        Destination::None => Outcome::Remove,
        Destination::ByRelativeName => {
            let relative = match source {
                // The SID's name comes from the principal it was resolved to.
                PrincipalRef::Sid(_) => who.name.as_ref().map(|name| PrincipalRef::Name(name.clone())),
                other => Some(other.clone()),
            };
            match relative.and_then(|r| r.with_domain(target)) {
                Some(principal) => Outcome::Replace(principal.to_string()),
                None => Outcome::NoRelativeName,
            }
        }
    };
    Mapped { row: index + 1, outcome }
}

/// How duplicates are told apart: GPMC keys rows by their source text, ignoring case. SIDs are
/// compared as SIDs and UNC paths without a trailing backslash.
fn source_key(source: &str) -> String {
    match PrincipalRef::parse(source) {
        PrincipalRef::Sid(sid) => sid.to_string(),
        PrincipalRef::Unc(path) => fold_case(&path.to_string()),
        _ => fold_case(source.trim()),
    }
}

fn fold_case(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// Case-insensitive equality, as Windows compares account names, domains and paths.
pub fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
}

/// The domain a table is applied to: where relative names land.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetDomain {
    /// `CORP`
    pub netbios_name: String,
    /// `corp.example.test`
    pub dns_name: String,
}

impl From<&DomainInfo> for TargetDomain {
    fn from(domain: &DomainInfo) -> Self {
        TargetDomain { netbios_name: domain.netbios_name.clone(), dns_name: domain.dns_name.clone() }
    }
}

/// What a source or destination text names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrincipalRef {
    /// `S-1-5-21-...`
    Sid(Sid),
    /// `name@dns.domain` (GPMC writes principals it populates this way).
    Upn { name: String, domain: String },
    /// `DOMAIN\name` or `dns.domain\name`.
    DomainName { domain: String, name: String },
    /// Free text: a name without a domain.
    Name(String),
    /// `\\server\share\...`
    Unc(UncPath),
}

impl PrincipalRef {
    /// Reads a source or destination text (surrounding white space ignored). Never fails: text
    /// that fits no other form is free text, and so is a malformed UNC path such as `\\server`.
    pub fn parse(text: &str) -> PrincipalRef {
        let text = text.trim();
        if text.starts_with(r"\\") {
            return match UncPath::parse(text) {
                Some(path) => PrincipalRef::Unc(path),
                None => PrincipalRef::Name(text.to_string()),
            };
        }
        if let Some(sid) = parse_sid(text) {
            return PrincipalRef::Sid(sid);
        }
        if let Some((domain, name)) = text.split_once('\\')
            && !domain.is_empty()
            && !name.is_empty()
        {
            return PrincipalRef::DomainName { domain: domain.to_string(), name: name.to_string() };
        }
        if let Some((name, domain)) = text.rsplit_once('@')
            && !name.is_empty()
            && !domain.is_empty()
        {
            return PrincipalRef::Upn { name: name.to_string(), domain: domain.to_string() };
        }
        PrincipalRef::Name(text.to_string())
    }

    /// The same name in `target` (GPMC's "map by relative name"), in the form the text had:
    /// `name@target.dns`, `TARGET\name` or `target.dns\name`; a free-text name gets the NetBIOS
    /// form. `None` for a SID (its name is not in the text) and a UNC path.
    pub fn with_domain(&self, target: &TargetDomain) -> Option<PrincipalRef> {
        match self {
            PrincipalRef::Upn { name, .. } => {
                Some(PrincipalRef::Upn { name: name.clone(), domain: target.dns_name.clone() })
            }
            PrincipalRef::DomainName { domain, name } => {
                let domain = if domain.contains('.') { &target.dns_name } else { &target.netbios_name };
                Some(PrincipalRef::DomainName { domain: domain.clone(), name: name.clone() })
            }
            PrincipalRef::Name(name) => {
                Some(PrincipalRef::DomainName { domain: target.netbios_name.clone(), name: name.clone() })
            }
            PrincipalRef::Sid(_) | PrincipalRef::Unc(_) => None,
        }
    }

    /// True when both texts name the same thing in the same form (ignoring case; SIDs by value,
    /// UNC paths component by component).
    pub fn same_as(&self, other: &PrincipalRef) -> bool {
        match (self, other) {
            (PrincipalRef::Sid(a), PrincipalRef::Sid(b)) => a == b,
            (PrincipalRef::Upn { name: n1, domain: d1 }, PrincipalRef::Upn { name: n2, domain: d2 })
            | (PrincipalRef::DomainName { domain: d1, name: n1 }, PrincipalRef::DomainName { domain: d2, name: n2 }) => {
                eq_ignore_case(n1, n2) && eq_ignore_case(d1, d2)
            }
            (PrincipalRef::Name(a), PrincipalRef::Name(b)) => eq_ignore_case(a, b),
            (PrincipalRef::Unc(a), PrincipalRef::Unc(b)) => a.strip_prefix(b).is_some_and(<[String]>::is_empty),
            _ => false,
        }
    }
}

impl fmt::Display for PrincipalRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrincipalRef::Sid(sid) => write!(f, "{sid}"),
            PrincipalRef::Upn { name, domain } => write!(f, "{name}@{domain}"),
            PrincipalRef::DomainName { domain, name } => write!(f, "{domain}\\{name}"),
            PrincipalRef::Name(name) => f.write_str(name),
            PrincipalRef::Unc(path) => write!(f, "{path}"),
        }
    }
}

/// A SID in text: `S-` (either case), a revision and at least one sub-authority.
fn parse_sid(text: &str) -> Option<Sid> {
    if !(text.starts_with("S-") || text.starts_with("s-")) {
        return None;
    }
    text.parse::<Sid>().ok().filter(|sid| !sid.sub_authorities.is_empty())
}

/// A well-formed UNC path: `\\server\share` and optional further components.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UncPath {
    pub server: String,
    pub share: String,
    /// Folders and file below the share, in order.
    pub rest: Vec<String>,
}

impl UncPath {
    /// `None` unless `text` is `\\server\share[\...]` with no empty component (one trailing
    /// backslash is allowed) and no character Windows forbids in a path (`/ : * ? " < > |`,
    /// control characters; white space is also refused in the server name).
    pub fn parse(text: &str) -> Option<UncPath> {
        let body = text.trim().strip_prefix(r"\\")?;
        let body = body.strip_suffix('\\').unwrap_or(body);
        let mut components = body.split('\\');
        let server = components.next()?;
        let share = components.next()?;
        let rest: Vec<&str> = components.collect();
        let valid = |c: &str| !c.is_empty() && !c.chars().any(|ch| ch.is_control() || "/:*?\"<>|".contains(ch));
        if !valid(server) || server.chars().any(char::is_whitespace) || !valid(share) || !rest.iter().all(|c| valid(c))
        {
            return None;
        }
        Some(UncPath {
            server: server.to_string(),
            share: share.to_string(),
            rest: rest.into_iter().map(String::from).collect(),
        })
    }

    /// The components of `self` below `prefix` when `prefix` is `self` or one of its parents.
    pub fn strip_prefix(&self, prefix: &UncPath) -> Option<&[String]> {
        let same_start = eq_ignore_case(&self.server, &prefix.server)
            && eq_ignore_case(&self.share, &prefix.share)
            && self.rest.len() >= prefix.rest.len()
            && self.rest.iter().zip(&prefix.rest).all(|(a, b)| eq_ignore_case(a, b));
        same_start.then(|| &self.rest[prefix.rest.len()..])
    }
}

impl fmt::Display for UncPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, r"\\{}\{}", self.server, self.share)?;
        for component in &self.rest {
            write!(f, r"\{component}")?;
        }
        Ok(())
    }
}

/// What is known about a principal referenced by a GPO: from a resolved SID (all of it) or from
/// the text of a setting (part of it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KnownPrincipal {
    pub sid: Option<Sid>,
    /// sAMAccountName, or the name part of the text.
    pub name: Option<String>,
    pub netbios_domain: Option<String>,
    pub dns_domain: Option<String>,
    pub upn: Option<String>,
    /// The principal's kind when known; rows of another type (except Unknown) do not match.
    pub kind: Option<EntryType>,
}

impl From<&Principal> for KnownPrincipal {
    fn from(principal: &Principal) -> Self {
        let non_empty = |text: &str| (!text.is_empty()).then(|| text.to_string());
        KnownPrincipal {
            sid: Some(principal.sid.clone()),
            name: non_empty(&principal.sam_account_name),
            netbios_domain: non_empty(&principal.netbios_domain),
            dns_domain: non_empty(&principal.dns_domain),
            upn: principal.upn.clone(),
            kind: EntryType::from_xml_name(&principal.kind),
        }
    }
}

impl KnownPrincipal {
    /// What a reference in a setting says about its principal; `None` for a UNC path or empty
    /// text. A domain written with a dot counts as a DNS name, otherwise as a NetBIOS name.
    pub fn from_text(reference: &str) -> Option<KnownPrincipal> {
        let mut known = KnownPrincipal::default();
        match PrincipalRef::parse(reference) {
            PrincipalRef::Sid(sid) => known.sid = Some(sid),
            PrincipalRef::Upn { name, domain } => {
                known.upn = Some(format!("{name}@{domain}"));
                known.name = Some(name);
                known.dns_domain = Some(domain);
            }
            PrincipalRef::DomainName { domain, name } => {
                known.name = Some(name);
                if domain.contains('.') {
                    known.dns_domain = Some(domain);
                } else {
                    known.netbios_domain = Some(domain);
                }
            }
            PrincipalRef::Name(name) if !name.is_empty() => known.name = Some(name),
            PrincipalRef::Name(_) | PrincipalRef::Unc(_) => return None,
        }
        Some(known)
    }

    fn in_domain(&self, domain: &str) -> bool {
        [&self.netbios_domain, &self.dns_domain].into_iter().flatten().any(|d| eq_ignore_case(d, domain))
    }

    fn is_named(&self, name: &str) -> bool {
        self.name.as_deref().is_some_and(|n| eq_ignore_case(n, name))
    }

    /// True when a row whose source is `source` names this principal.
    fn is_named_by(&self, source: &PrincipalRef) -> bool {
        match source {
            PrincipalRef::Sid(sid) => self.sid.as_ref() == Some(sid),
            PrincipalRef::Upn { name, domain } => {
                (self.is_named(name) && self.in_domain(domain))
                    || self.upn.as_deref().is_some_and(|upn| eq_ignore_case(upn, &format!("{name}@{domain}")))
            }
            PrincipalRef::DomainName { domain, name } => self.is_named(name) && self.in_domain(domain),
            PrincipalRef::Name(name) => {
                self.sid.is_none() && self.netbios_domain.is_none() && self.dns_domain.is_none() && self.is_named(name)
            }
            PrincipalRef::Unc(_) => false,
        }
    }
}

/// The row that matched (counted from 1) and what the reference becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapped {
    pub row: usize,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// DestinationSameAsSource.
    Keep,
    /// DestinationNone: the principal is removed from the setting. (For a UNC path the table is
    /// invalid; [`MigrationTable::validate`] reports it.)
    Remove,
    /// The new principal name or UNC path.
    Replace(String),
    /// DestinationByRelativeName where no name is known (a SID that was not resolved) or the
    /// row is a UNC path (reported by validation).
    NoRelativeName,
}

/// A principal the destination domain must hold: the LDAP check looks it up and compares its
/// type with `expected` (Unknown: any type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationPrincipal {
    /// Counted from 1.
    pub row: usize,
    pub principal: PrincipalRef,
    pub expected: EntryType,
    pub origin: DestinationOrigin,
}

/// Which destination form produced a [`DestinationPrincipal`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DestinationOrigin {
    /// `<Destination>name</Destination>`
    Explicit,
    /// `<DestinationSameAsSource />`: the source principal must exist in the destination too.
    SameAsSource,
    /// `<DestinationByRelativeName />`
    RelativeName,
}

/// A problem in one row, found without the network.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("row {row}: {issue}")]
pub struct ValidationIssue {
    /// Counted from 1, as the editor shows rows.
    pub row: usize,
    pub issue: Issue,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Issue {
    #[error("the source is empty: name the principal or UNC path to map")]
    EmptySource,
    #[error("the same source as row {first_row} (sources are compared ignoring case); remove one of them")]
    DuplicateSource { first_row: usize },
    #[error("the type is UNCPath but the source is not a UNC path (\\\\server\\share\\...)")]
    MalformedUncSource,
    #[error("the source is a UNC path but the type is {entry_type}; use UNCPath")]
    UncSourceForPrincipal { entry_type: EntryType },
    #[error(
        "a {form} source needs the type Unknown (\"Free text or SID\" in GPMC), not {entry_type}; \
         or write the source as DOMAIN\\name or name@dns.domain"
    )]
    NeedsUnknownType { form: &'static str, entry_type: EntryType },
    #[error("the destination is empty: give a name, or choose same as source, none or relative name")]
    EmptyDestination,
    #[error("the destination of a UNC path must be a UNC path (\\\\server\\share\\...)")]
    MalformedUncDestination,
    #[error("the destination is a UNC path but the row maps a {entry_type}")]
    UncDestinationForPrincipal { entry_type: EntryType },
    #[error(
        "a UNC path cannot map to no destination (GPMC refuses DestinationNone for UNC paths); give a path or keep it"
    )]
    NoneOnUncPath,
    #[error("a UNC path has no relative name; give a path or keep it")]
    RelativeNameOnUncPath,
    #[error("contains U+{0:04X}, a character a migration table (XML) cannot hold")]
    UnwritableCharacter(u32),
}

#[cfg(test)]
mod tests;
