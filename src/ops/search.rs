//! Search (`gpvault search`): which GPOs, live or in a backup folder, set a registry key or
//! value, name a principal (by name or SID) or reference a UNC path, in every settings file the
//! readers understand (registry.pol, GptTmpl.inf, Preferences XML, scripts.ini, fdeploy.ini).
//! Each hit names the GPO, the file, the setting and the value found.
//!
//! Read-only, like `gpo list`: one LDAP pass and every SYSVOL folder read in parallel (live), or
//! every instance of the folder read from disk. Passwords stored in Preferences (cpassword) are
//! never part of a hit.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use serde::Serialize;

use super::run::{Item, RunOptions, run_items};
use super::{DomainSession, Progress, ProgressEvent};
use crate::directory::DirectoryError;
use crate::formats::BackupXml;
use crate::formats::references::{Reference, ReferenceKind, is_sid};
use crate::formats::settings_file::{SettingsContent, SettingsFile};
use crate::model::{Gpo, GpoFolder, GpoId, Sid};
use crate::store::{BackupStore, StoreError};
use crate::sysvol::read_local_folder;

/// What to look for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchKind {
    /// A registry key or value name (registry.pol, GptTmpl.inf's registry sections, Preferences
    /// Registry.xml). `HKLM\`, `MACHINE\` and the like are ignored at the front.
    Registry,
    /// An account by name (`CORP\Helpdesk`, `Helpdesk`, `name@dns`) or SID.
    Principal,
    /// A UNC path (`\\fs01\share`, and everything below it) or part of one.
    Path,
    /// All three.
    Any,
}

/// One thing found: where, and what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hit {
    pub gpo_id: GpoId,
    pub gpo_name: String,
    /// The instance it was found in, when searching a backup folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
    /// registry, principal or path.
    pub kind: SearchKind,
    /// The file, by its path in the GPO folder (`Machine/registry.pol`).
    pub file: String,
    /// The setting: registry key and value, template section and key, preference item and
    /// attribute.
    pub setting: String,
    /// What the setting holds or names there.
    pub value: String,
}

/// A file that could not be read while searching: it was skipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub gpo_id: Option<GpoId>,
    pub gpo_name: String,
    pub backup_id: Option<String>,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SearchReport {
    /// The domain, or the backup folder.
    pub searched: String,
    /// GPOs (live) or instances (backup folder) searched.
    pub searched_count: usize,
    pub hits: Vec<Hit>,
    pub skipped: Vec<Skipped>,
}

impl SearchReport {
    /// The distinct GPOs with hits.
    pub fn gpos(&self) -> BTreeSet<GpoId> {
        self.hits.iter().map(|h| h.gpo_id).collect()
    }

    fn sort(&mut self) {
        self.hits.sort_by_cached_key(|h| {
            (h.gpo_name.to_lowercase(), h.gpo_id, h.backup_id.clone(), h.file.to_lowercase(), h.setting.clone())
        });
        self.hits.dedup();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("nothing to search for: give a registry key or value, a principal or a UNC path")]
    EmptyQuery,
}

/// A search made ready: the text in the forms each kind compares, and the SIDs a name denotes.
#[derive(Clone, Debug)]
pub struct Query {
    pub text: String,
    pub kind: SearchKind,
    /// The SIDs the text denotes: itself when it is one, else what the directory (or a
    /// backup's list of principals) resolved the name to.
    pub sids: Vec<Sid>,
}

impl Query {
    pub fn new(text: &str, kind: SearchKind) -> Result<Query, SearchError> {
        let text = text.trim().to_string();
        if text.is_empty() {
            return Err(SearchError::EmptyQuery);
        }
        let sids = if is_sid(&text) { text.parse().ok().into_iter().collect() } else { Vec::new() };
        Ok(Query { text, kind, sids })
    }

    fn wants(&self, kind: SearchKind) -> bool {
        self.kind == kind || self.kind == SearchKind::Any
    }

    /// Whether the text could name an account (not a SID, not a path): then it is looked up.
    pub fn names_an_account(&self) -> bool {
        self.wants(SearchKind::Principal) && self.sids.is_empty() && !self.text.starts_with(r"\\")
    }

    fn with_sids(&self, more: impl IntoIterator<Item = Sid>) -> Query {
        let mut query = self.clone();
        for sid in more {
            if !query.sids.contains(&sid) {
                query.sids.push(sid);
            }
        }
        query
    }
}

/// Registry paths compare without their hive: `HKLM\Software\X`, `MACHINE\Software\X` and
/// `Software\X` are one key.
fn registry_form(text: &str) -> String {
    let lower = text.trim().trim_start_matches('\\').to_lowercase();
    for hive in [
        "registry::",
        "hkey_local_machine\\",
        "hkey_current_user\\",
        "hklm\\",
        "hkcu\\",
        "machine\\",
        "user\\",
        "hklm:\\",
        "hkcu:\\",
    ] {
        if let Some(rest) = lower.strip_prefix(hive) {
            return registry_form(rest);
        }
    }
    lower
}

/// `DOMAIN\name`, `name@domain` or `name` → `name`, lower case.
fn account_part(name: &str) -> String {
    let name = name.trim();
    let name = name.rsplit('\\').next().unwrap_or(name);
    let name = name.split('@').next().unwrap_or(name);
    name.to_lowercase()
}

/// `Helpdesk` matches `CORP\Helpdesk` and `helpdesk@corp.example.test`; `CORP\Helpdesk` only
/// the names of that domain (and bare names), never `BRANCH\Helpdesk`.
fn name_matches(query: &str, name: &str) -> bool {
    if account_part(query) != account_part(name) {
        return false;
    }
    let domain_of = |n: &str| n.trim().rsplit_once('\\').map(|(d, _)| d.to_lowercase());
    match (domain_of(query), domain_of(name)) {
        (Some(wanted), Some(found)) => wanted == found,
        _ => true,
    }
}

fn path_matches(query: &str, value: &str) -> bool {
    let (query, value) = (query.trim_end_matches('\\').to_lowercase(), value.to_lowercase());
    if query.starts_with(r"\\") {
        value == query || value.starts_with(&format!("{query}\\"))
    } else {
        value.contains(&query)
    }
}

/// A value never shown: the Preferences password field.
fn shown_value(name: &str, value: &str) -> String {
    if name.trim_start_matches('@').eq_ignore_ascii_case("cpassword") { "(hidden)".into() } else { value.to_string() }
}

/// One hit without its GPO: kind, file, setting, value.
pub type FileHit = (SearchKind, String, String, String);

/// Every hit of `query` in one GPO folder (paths relative to it: `Machine/registry.pol`).
/// Files that do not parse are returned as (path, error) and skipped.
pub fn search_folder(folder: &GpoFolder, query: &Query) -> (Vec<FileHit>, Vec<(String, String)>) {
    let mut hits = Vec::new();
    let mut unreadable = Vec::new();
    let wanted_registry = registry_form(&query.text);
    for (path, bytes) in folder.files() {
        let file = match SettingsFile::parse(path, bytes) {
            None => continue,
            Some(Err(e)) => {
                unreadable.push((path.to_string(), e.to_string()));
                continue;
            }
            Some(Ok(file)) => file,
        };
        if query.wants(SearchKind::Registry) {
            for (setting, value) in registry_settings(&file) {
                if registry_form(&setting).contains(&wanted_registry) {
                    hits.push((SearchKind::Registry, path.to_string(), setting, value));
                }
            }
        }
        for reference in file.references() {
            let kind = if reference.kind.is_principal() {
                SearchKind::Principal
            } else if matches!(reference.kind, ReferenceKind::UncPath | ReferenceKind::Path) {
                SearchKind::Path
            } else {
                continue;
            };
            if query.wants(kind) && reference_matches(&reference, query) {
                let setting = reference_setting(&reference);
                hits.push((kind, path.to_string(), setting, shown_value(&reference.attribute, &reference.value)));
            }
        }
    }
    (hits, unreadable)
}

fn reference_setting(reference: &Reference) -> String {
    match (reference.at.is_empty(), reference.attribute.is_empty()) {
        (false, false) => format!("{} / {}", reference.at, reference.attribute),
        (false, true) => reference.at.clone(),
        (true, _) => reference.attribute.clone(),
    }
}

fn reference_matches(reference: &Reference, query: &Query) -> bool {
    match reference.kind {
        ReferenceKind::Sid => reference.sid().is_some_and(|sid| query.sids.contains(&sid)),
        ReferenceKind::AccountName => name_matches(&query.text, &reference.value),
        ReferenceKind::UncPath | ReferenceKind::Path => path_matches(&query.text, &reference.value),
    }
}

/// The registry settings of a file as (`key\value name`, value): registry.pol entries,
/// GptTmpl.inf's Registry Values and Registry Keys, Preferences Registry items.
fn registry_settings(file: &SettingsFile) -> Vec<(String, String)> {
    match &file.content {
        SettingsContent::RegistryPol(_) => file
            .settings()
            .into_iter()
            .map(|s| (if s.name.is_empty() { s.path } else { format!("{}\\{}", s.path, s.name) }, s.value))
            .collect(),
        SettingsContent::SecurityTemplate(_) => file
            .settings()
            .into_iter()
            .filter(|s| s.path.eq_ignore_ascii_case("Registry Values") || s.path.eq_ignore_ascii_case("Registry Keys"))
            .map(|s| (s.name, s.value))
            .collect(),
        SettingsContent::Preferences(preferences) => preferences
            .items()
            .into_iter()
            .filter(|item| item.element == "Registry")
            .map(|item| {
                let hive = item.property("hive").unwrap_or("");
                let key = item.property("key").unwrap_or("");
                let name = item.property("name").unwrap_or("");
                let setting = [hive, key, name].iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>();
                let value = format!("{} {}", item.property("type").unwrap_or(""), item.property("value").unwrap_or(""));
                (setting.join("\\"), value.trim().to_string())
            })
            .collect(),
        SettingsContent::FolderRedirection(_) | SettingsContent::Scripts(_) => Vec::new(),
    }
}

/// Searches every GPO of the domain: one LDAP pass, the account name looked up once, then the
/// SYSVOL folders `options.parallelism` at a time.
pub async fn search_live(
    session: &DomainSession,
    query: &Query,
    options: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<SearchReport, SearchError> {
    progress.report(ProgressEvent::Step(format!("Reading the GPOs of {}", session.domain.dns_name)));
    let estate = session.directory.read_estate().await?;
    let query = if query.names_an_account() {
        let found = session.directory.resolve_names(std::slice::from_ref(&query.text)).await?;
        query.with_sids(found.into_iter().map(|(_, p)| p.sid))
    } else {
        query.clone()
    };
    progress.report(ProgressEvent::Planned { total: estate.gpos.len() });
    let items: Vec<(Item, Gpo)> =
        estate.gpos.iter().map(|g| (Item { gpo: g.id, name: g.display_name.clone() }, g.clone())).collect();
    let query = &query;
    let reports = run_items(items, options, &progress, |gpo: Gpo| async move {
        let folder = session.sysvol.read_gpo_folder(&gpo.id, &gpo.file_sys_path).await?;
        Ok::<_, crate::sysvol::SysvolError>(FolderHits::of(&folder, query))
    })
    .await;
    let mut report = SearchReport { searched: estate.domain.dns_name.clone(), ..Default::default() };
    for item in reports {
        report.searched_count += 1;
        let (id, name) = (item.item.gpo, item.item.name.clone());
        match item.outcome {
            super::run::Outcome::Succeeded(found) => found.into_report(&mut report, id, &name, None),
            super::run::Outcome::Failed(e) => report.skipped.push(Skipped {
                gpo_id: Some(id),
                gpo_name: name,
                backup_id: None,
                reason: crate::error::one_line(&e),
            }),
            super::run::Outcome::Cancelled => {
                report.searched_count -= 1;
                report.skipped.push(Skipped {
                    gpo_id: Some(id),
                    gpo_name: name,
                    backup_id: None,
                    reason: super::run::CANCELLED.into(),
                })
            }
        }
    }
    report.sort();
    Ok(report)
}

/// The hits of one folder.
struct FolderHits {
    hits: Vec<FileHit>,
    unreadable: Vec<(String, String)>,
}

impl std::fmt::Display for FolderHits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} hits", self.hits.len())
    }
}

impl FolderHits {
    fn of(folder: &GpoFolder, query: &Query) -> FolderHits {
        let (hits, unreadable) = search_folder(folder, query);
        FolderHits { hits, unreadable }
    }

    fn into_report(self, report: &mut SearchReport, id: GpoId, name: &str, backup_id: Option<&str>) {
        for (kind, file, setting, value) in self.hits {
            report.hits.push(Hit {
                gpo_id: id,
                gpo_name: name.to_string(),
                backup_id: backup_id.map(str::to_string),
                kind,
                file,
                setting,
                value,
            });
        }
        for (file, reason) in self.unreadable {
            report.skipped.push(Skipped {
                gpo_id: Some(id),
                gpo_name: name.to_string(),
                backup_id: backup_id.map(str::to_string),
                reason: format!("{file}: {reason}"),
            });
        }
    }
}

/// Searches every instance of a backup folder (no connection needed): an account name is
/// looked up in each instance's own list of principals (Backup.xml).
pub async fn search_backups(dir: &Path, query: &Query, parallelism: usize) -> Result<SearchReport, SearchError> {
    let store = BackupStore::open(dir, false)?;
    let listing = tokio::task::spawn_blocking(move || store.list())
        .await
        .map_err(|e| StoreError::Folder { path: String::new(), reason: format!("listing stopped: {e}") })?;
    let mut report = SearchReport { searched: dir.display().to_string(), ..Default::default() };
    let searches = listing.instances.into_iter().map(|instance| {
        let query = query.clone();
        tokio::task::spawn_blocking(move || {
            let info = instance.info.clone();
            let found = search_instance(&instance.path, &query);
            (info, found)
        })
    });
    let results: Vec<_> = futures::stream::iter(searches).buffer_unordered(parallelism.max(1)).collect().await;
    for joined in results {
        let Ok((info, found)) = joined else { continue };
        report.searched_count += 1;
        let id = info.gpo_id().unwrap_or(GpoId(uuid::Uuid::nil()));
        match found {
            Ok(hits) => hits.into_report(&mut report, id, &info.gpo_display_name, Some(&info.id)),
            Err(reason) => report.skipped.push(Skipped {
                gpo_id: info.gpo_id().ok(),
                gpo_name: info.gpo_display_name.clone(),
                backup_id: Some(info.id.clone()),
                reason,
            }),
        }
    }
    for finding in &listing.findings {
        report.skipped.push(Skipped {
            gpo_id: None,
            gpo_name: String::new(),
            backup_id: None,
            reason: format!("{}: {}", finding.path.display(), finding.problem),
        });
    }
    report.sort();
    Ok(report)
}

fn search_instance(path: &Path, query: &Query) -> Result<FolderHits, String> {
    let sysvol: PathBuf = path.join("DomainSysvol").join("GPO");
    let folder = if sysvol.is_dir() {
        read_local_folder(&sysvol).map_err(|e| crate::error::one_line(&e))?
    } else {
        GpoFolder::default()
    };
    let query =
        if query.names_an_account() { query.with_sids(principals_named(path, &query.text)) } else { query.clone() };
    Ok(FolderHits::of(&folder, &query))
}

/// The SIDs Backup.xml's principals give for `name` (`DOMAIN\name`, `name@dns` or `name`).
fn principals_named(instance: &Path, name: &str) -> Vec<Sid> {
    let Ok(bytes) = std::fs::read(instance.join("Backup.xml")) else { return Vec::new() };
    let Ok(backup) = BackupXml::parse(&bytes) else { return Vec::new() };
    let wanted = name.to_lowercase();
    let has_domain = wanted.contains('\\') || wanted.contains('@');
    backup
        .security_groups
        .iter()
        .filter(|p| {
            let sam = p.sam_account_name.as_deref().unwrap_or("").to_lowercase();
            let netbios = p.netbios_domain_name.as_deref().unwrap_or("").to_lowercase();
            let upn = p.upn.as_deref().unwrap_or("").to_lowercase();
            if has_domain {
                format!("{netbios}\\{sam}") == wanted || (!upn.is_empty() && upn == wanted)
            } else {
                !sam.is_empty() && sam == wanted
            }
        })
        .filter_map(|p| p.sid.as_deref()?.trim().parse().ok())
        .collect()
}

#[cfg(test)]
mod tests;
