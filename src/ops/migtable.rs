//! Migration tables against a domain or a backup: populating one from a GPO or a backup
//! instance, checking one against the connected domain, and the lookups applying one needs.
//! The table logic is pure (`migrate`); this module asks the directory, SYSVOL and the backup
//! folder for what it reads, and reads and writes the table files themselves ([`open`],
//! [`save`]) for the front ends, which never parse a file.

use std::path::{Path, PathBuf};

use crate::directory::{Directory, DirectoryError};
use crate::formats::FormatError;
use crate::formats::backup_xml::{self, BackupXml};
use crate::formats::migtable::Destination;
use crate::migrate::apply::{self, Applied, ApplyError, ApplyInput, ApplyOptions, Lookups};
use crate::migrate::populate::{self, PopulateOptions, Populated};
use crate::migrate::principals::{PrincipalLookup, ResolvedPrincipals};
use crate::migrate::references::GpoReferences;
use crate::migrate::table::{MigrationTable, TargetDomain};
use crate::migrate::validate::{self, RowCheck, RowProblem};
use crate::model::{DomainInfo, SecurityDescriptor, Sid};
use crate::ops::DomainSession;
use crate::store::{BackupStore, StoreError};
use crate::sysvol::{SysvolError, read_local_folder};

#[derive(Debug, thiserror::Error)]
pub enum MigtableError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Sysvol(#[from] SysvolError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    NoSuchGpo(String),
    #[error(transparent)]
    Backup(#[from] FormatError),
    #[error("cannot read the migration table {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot save the migration table to {path}: {reason}; nothing was changed there")]
    Write { path: String, reason: String },
}

/// Reads a `.migtable` file (GPMC's or a script's, see `MigrationTable::from_bytes`); the error
/// names the file and, for a malformed one, the mapping.
pub fn open(path: &Path) -> Result<MigrationTable, MigtableError> {
    let bytes = std::fs::read(path)
        .map_err(|e| MigtableError::Read { path: path.display().to_string(), reason: e.to_string() })?;
    MigrationTable::from_bytes(&bytes).map_err(|e| MigtableError::Backup(e.in_file(path.display().to_string())))
}

/// Writes `table` to `path` in GPMC's format (the bytes it was read from while unchanged):
/// into a temporary file beside it, synced, then renamed over it and the folder synced, so the
/// file is either the old one or the whole new one, never half written.
pub fn save(path: &Path, table: &MigrationTable) -> Result<(), MigtableError> {
    use std::io::Write;
    let fail = |e: std::io::Error| MigtableError::Write { path: path.display().to_string(), reason: e.to_string() };
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if path.is_dir() {
        return Err(fail(std::io::Error::new(std::io::ErrorKind::IsADirectory, "it is a folder")));
    }
    // Dropped on any failure, the temporary file is removed with it.
    let mut temp =
        tempfile::Builder::new().prefix(".gpvault-migtable-").suffix(".tmp").tempfile_in(folder).map_err(fail)?;
    // The temporary file is private; the table gets the mode the file had, else a plain file's.
    let mode = std::fs::metadata(path).map(|m| m.permissions()).unwrap_or_else(|_| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(0o644)
    });
    temp.as_file().set_permissions(mode).map_err(fail)?;
    temp.write_all(&table.to_bytes()).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    temp.persist(path).map_err(|e| fail(e.error))?;
    std::fs::File::open(folder).and_then(|f| f.sync_all()).map_err(fail)
}

/// Where the rows of a populate came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PopulateSource {
    /// The GPO's display name.
    pub gpo_name: String,
    /// The domain it is in (DNS name).
    pub domain: String,
    /// The backup instance folder, when populated from a backup.
    pub backup: Option<PathBuf>,
}

/// GPMC's "Populate from GPO": every principal and UNC path the GPO `key` ({GUID} or display
/// name) refers to, named through the directory.
pub async fn populate_from_gpo(
    session: &DomainSession,
    key: &str,
    options: PopulateOptions,
) -> Result<(Populated, PopulateSource), MigtableError> {
    let estate = session.directory.read_estate().await?;
    let gpo = estate.find_gpo(key).map_err(MigtableError::NoSuchGpo)?.clone();
    let folder = session.sysvol.read_gpo_folder(&gpo.id, &gpo.file_sys_path).await?;
    let children = session.directory.read_gpo_children().await?;
    let mut references = GpoReferences::of_folder(&folder);
    references.add_class_store(children.get(&gpo.id).map_or(&[][..], Vec::as_slice));
    if options.with_dacl
        && let Some(sd) = &gpo.security_descriptor
    {
        references.add_dacl(sd);
    }
    let source = resolve_references(session.directory.as_ref(), &session.domain, &references).await?;
    let populated = populate::populate(&references, &[], &source, options);
    Ok((populated, PopulateSource { gpo_name: gpo.display_name, domain: estate.domain.dns_name, backup: None }))
}

/// GPMC's "Populate from Backup": the same from a backup instance (gpvault's or GPMC's) in
/// `dir`, named by its ID, with the principals its Backup.xml names in SecurityGroups and the
/// paths of its FilePaths. Reads only the backup folder.
pub fn populate_from_backup(
    dir: &Path,
    backup_id: &str,
    options: PopulateOptions,
) -> Result<(Populated, PopulateSource), MigtableError> {
    let store = BackupStore::open(dir, false)?;
    let listing = store.list();
    let wanted = backup_id.trim().trim_start_matches('{').trim_end_matches('}');
    let instance = listing
        .instances
        .iter()
        .find(|i| {
            let id = i.info.id.trim_start_matches('{').trim_end_matches('}');
            id.eq_ignore_ascii_case(wanted) || i.folder_name.eq_ignore_ascii_case(backup_id.trim())
        })
        .ok_or_else(|| StoreError::NoSuchInstance { id: backup_id.to_string(), dir: dir.display().to_string() })?;
    let backup_path = instance.path.join(backup_xml::FILE_NAME);
    let bytes = std::fs::read(&backup_path).map_err(|e| StoreError::Folder {
        path: backup_path.display().to_string(),
        reason: format!("cannot read it: {e}"),
    })?;
    let backup = BackupXml::parse(&bytes).map_err(|e| e.in_file(backup_path.display().to_string()))?;
    let sysvol = instance.path.join("DomainSysvol").join("GPO");
    let folder = if sysvol.is_dir() { read_local_folder(&sysvol)? } else { Default::default() };

    let mut references = GpoReferences::of_folder(&folder);
    let domain = backup.core.domain.clone().unwrap_or_else(|| instance.info.gpo_domain.clone());
    let gpo_dn = format!("CN={},CN=Policies,CN=System,{}", backup.core.id, domain_dn(&domain));
    references.add_class_store(&backup.class_store_objects(&gpo_dn));
    if options.with_dacl
        && let Some(sd) =
            backup.core.security_descriptor.as_deref().and_then(|b| SecurityDescriptor::from_bytes(b).ok())
    {
        references.add_dacl(&sd);
    }
    let source = ResolvedPrincipals::from_security_groups(&backup.security_groups);
    let populated = populate::populate(&references, &backup.file_path_values(), &source, options);
    let gpo_name = backup.core.display_name.clone().unwrap_or_else(|| instance.info.gpo_display_name.clone());
    Ok((populated, PopulateSource { gpo_name, domain, backup: Some(instance.path.clone()) }))
}

/// GPMC's "Validate Table" against the connected domain: one result per row.
pub async fn validate_table(session: &DomainSession, table: &MigrationTable) -> Result<Vec<RowCheck>, DirectoryError> {
    let target = TargetDomain::from(&session.domain);
    let (sids, names) = validate::destination_lookups(table, &target);
    let found = resolve(session.directory.as_ref(), &session.domain, &sids, &names).await?;
    Ok(validate::validate(table, &target, &found))
}

/// A table refused before anything is mapped with it: every row with a problem.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("the migration table is refused, nothing was written: {}", refused_rows(.0))]
    TableRefused(Vec<RowCheck>),
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

fn refused_rows(rows: &[RowCheck]) -> String {
    rows.iter()
        .map(|check| {
            let problems: Vec<String> = check.problems.iter().map(ToString::to_string).collect();
            format!("row {} ({}): {}", check.row, check.mapping.source, problems.join("; "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// How a GPO's settings are mapped into the connected domain (an import, a copy).
#[derive(Clone, Copy, Debug)]
pub struct Mapping<'a> {
    /// `None`: settings are copied as they are (GPMC's default) and the report lists what
    /// foreign references were left.
    pub table: Option<&'a MigrationTable>,
    /// Every foreign principal and UNC path must have a row (GPMC's "use migration table
    /// exclusively").
    pub only_mapped: bool,
}

/// Maps `input` into `target`'s domain with `mapping`: the table is checked first against that
/// domain (a malformed row, or a destination it does not hold, refuses it; rows kept the same as
/// their source are not looked up, as GPMC keeps them), then applied. `source` knows the
/// principals of the domain the settings come from. Reads only.
pub async fn map_settings(
    target: &DomainSession,
    input: ApplyInput<'_>,
    mapping: Mapping<'_>,
    source: &dyn PrincipalLookup,
) -> Result<Applied, MappingError> {
    let options = ApplyOptions {
        table: mapping.table,
        only_mapped: mapping.only_mapped,
        target: TargetDomain::from(&target.domain),
        target_sid: target.domain.sid.clone(),
    };
    if let Some(table) = mapping.table {
        let refused: Vec<RowCheck> = validate_table(target, table)
            .await?
            .into_iter()
            .filter(|check| {
                check.problems.iter().any(|p| match p {
                    RowProblem::Table(_) => true,
                    _ => check.mapping.destination != Destination::SameAsSource,
                })
            })
            .collect();
        if !refused.is_empty() {
            return Err(MappingError::TableRefused(refused));
        }
    }
    let (sids, names) = apply::destination_lookups(input, &options, source);
    let found = resolve(target.directory.as_ref(), &target.domain, &sids, &names).await?;
    Ok(apply::apply(input, &options, Lookups { source, target: &found })?)
}

/// What a domain knows of the principals `references` name: its domain account SIDs and the
/// names written without a SID beside them.
pub async fn resolve_references(
    directory: &dyn Directory,
    domain: &DomainInfo,
    references: &GpoReferences,
) -> Result<ResolvedPrincipals, DirectoryError> {
    resolve(directory, domain, &references.domain_sids(), &references.account_names()).await
}

/// Looks `sids` and `names` up in `directory` (the domain `domain`).
pub async fn resolve(
    directory: &dyn Directory,
    domain: &DomainInfo,
    sids: &[Sid],
    names: &[String],
) -> Result<ResolvedPrincipals, DirectoryError> {
    let mut resolved = ResolvedPrincipals::new().with_domain(domain);
    if !sids.is_empty() {
        resolved.add(directory.resolve_principals(sids).await?);
    }
    if !names.is_empty() {
        resolved.add_named(directory.resolve_names(names).await?);
    }
    Ok(resolved)
}

/// `corp.example.test` → `DC=corp,DC=example,DC=test`.
fn domain_dn(dns: &str) -> String {
    dns.split('.').filter(|p| !p.is_empty()).map(|p| format!("DC={p}")).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests;
