//! The rows GPMC's Migration Table Editor gives with "Populate from GPO" and "Populate from
//! Backup": every principal and UNC path a GPO refers to, destination "same as source", for the
//! admin to edit. gpvault reads more than GPMC does (Preferences XML, registry.pol, SDDL in
//! [Registry Values], the advertise scripts), so it lists more.
//!
//! A principal known to the source domain (by SID, or by name) is written as GPMC writes it,
//! `sAMAccountName@dns.domain`, with its type; one that is not (a SID of a deleted account, a
//! name nobody resolved) is written as found with the type Unknown ("Free text or SID").
//! Well-known and BUILTIN principals are the same in every domain and never listed. A UNC path
//! is listed as found, except that scripts and installer files give their folder (as GPMC's
//! FilePaths do): one row then covers every script of a share.

use crate::formats::references::ReferenceKind;
use crate::migrate::principals::PrincipalLookup;
use crate::migrate::references::{GpoReference, GpoReferences, MSI_FILE_LIST, Origin, is_domain_account, split_unc};
use crate::migrate::table::{Destination, EntryType, Mapping, MigrationTable, UncPath, eq_ignore_case};
use crate::model::Principal;

/// What to list besides the settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PopulateOptions {
    /// Also the principals of the GPO's security descriptor and of its packages' (GPMC's
    /// "during population, include security principals on the DACL").
    pub with_dacl: bool,
}

/// Where the rows came from, for the summary a front end prints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Populated {
    pub table: MigrationTable,
    /// Principal rows whose principal the source domain did not name (type Unknown).
    pub unresolved: Vec<String>,
    /// Settings files that could not be read: their principals and paths are missing.
    pub unreadable: Vec<String>,
}

/// The table of `references`, plus the UNC paths a backup lists in its FilePaths.
pub fn populate(
    references: &GpoReferences,
    file_paths: &[String],
    source: &dyn PrincipalLookup,
    options: PopulateOptions,
) -> Populated {
    let mut principals: Vec<(Mapping, Option<Principal>)> = Vec::new();
    let mut paths: Vec<UncPath> = Vec::new();
    for reference in references.found.iter().filter(|r| is_listed(r, options) && r.needs_mapping()) {
        match reference.kind() {
            ReferenceKind::UncPath => {
                if let Some(path) = listed_path(reference) {
                    add_path(&mut paths, path);
                }
            }
            ReferenceKind::Sid | ReferenceKind::AccountName => {
                let found = reference.sid().and_then(|sid| source.by_sid(&sid)).or_else(|| {
                    (reference.kind() == ReferenceKind::AccountName)
                        .then(|| source.by_name(reference.value()))
                        .flatten()
                });
                // A bare name of a built-in or well-known account: the same everywhere.
                if found.as_ref().is_some_and(|p| !is_domain_account(&p.sid)) {
                    continue;
                }
                let row = match &found {
                    Some(principal) => Mapping {
                        entry_type: EntryType::from_xml_name(&principal.kind).unwrap_or(EntryType::Unknown),
                        source: format!("{}@{}", principal.sam_account_name, principal.dns_domain),
                        destination: Destination::SameAsSource,
                    },
                    None => Mapping {
                        entry_type: EntryType::Unknown,
                        source: reference
                            .sid()
                            .map_or_else(|| reference.value().trim().to_string(), |sid| sid.to_string()),
                        destination: Destination::SameAsSource,
                    },
                };
                let duplicate = principals.iter().any(|(listed, principal)| match (principal, &found) {
                    (Some(a), Some(b)) => a.sid == b.sid,
                    _ => eq_ignore_case(&listed.source, &row.source),
                });
                if !duplicate {
                    principals.push((row, found));
                }
            }
            ReferenceKind::Path => {}
        }
    }
    for path in file_paths.iter().filter_map(|p| UncPath::parse(p)) {
        add_path(&mut paths, path);
    }

    let unresolved = principals.iter().filter(|(_, p)| p.is_none()).map(|(m, _)| m.source.clone()).collect();
    let mut rows: Vec<Mapping> = principals.into_iter().map(|(m, _)| m).collect();
    rows.sort_by_cached_key(|m| m.source.to_lowercase());
    paths.sort_by_cached_key(|p| p.to_string().to_lowercase());
    rows.extend(paths.into_iter().map(|path| Mapping {
        entry_type: EntryType::UncPath,
        source: path.to_string(),
        destination: Destination::SameAsSource,
    }));
    Populated {
        table: MigrationTable::from_rows(rows),
        unresolved,
        unreadable: references.unreadable.iter().map(|e| e.file.clone()).collect(),
    }
}

/// Whether `reference` is one a populate lists: everything in the settings and the packages'
/// installer paths; the principals of security descriptors (the GPO's and its packages', which
/// a copy carries over only when it keeps permissions) on request.
fn is_listed(reference: &GpoReference, options: PopulateOptions) -> bool {
    match reference.origin {
        Origin::Settings | Origin::AdvertiseScript => true,
        Origin::ClassStore => options.with_dacl || reference.kind() == ReferenceKind::UncPath,
        Origin::Dacl => options.with_dacl,
    }
}

/// The path a UNC reference gives a row: the folder of a script or installer file, else the
/// path as written (without the arguments of a command line).
fn listed_path(reference: &GpoReference) -> Option<UncPath> {
    let (mut path, _) = split_unc(reference.value())?;
    let file = reference.reference.file.to_ascii_lowercase();
    let is_script = file.ends_with("/scripts.ini") || file.ends_with("/psscripts.ini");
    let is_installer = reference.origin == Origin::AdvertiseScript || reference.reference.attribute == MSI_FILE_LIST;
    if (is_script || is_installer) && !path.rest.is_empty() {
        path.rest.pop();
    }
    Some(path)
}

fn add_path(paths: &mut Vec<UncPath>, path: UncPath) {
    if !paths.iter().any(|p| p.strip_prefix(&path).is_some_and(<[String]>::is_empty)) {
        paths.push(path);
    }
}

#[cfg(test)]
pub(crate) mod tests;
