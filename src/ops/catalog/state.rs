//! A GPO's state as a backup instance or the live domain holds it, read into readable parts
//! that compare: what `show` prints and `diff` compares. Both sources go through the same
//! readers (settings files, class stores, security descriptors), so the same GPO reads the same
//! from either.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::CatalogError;
use crate::formats::backup_xml::{ClassStore, ClassStoreSource, DsAttributeKind, Package, class_stores_from_directory};
use crate::formats::gpvault_json::GpvaultJson;
use crate::formats::settings::Setting;
use crate::formats::settings_file::SettingsFile;
use crate::formats::{BackupXml, SecurityPrincipal};
use crate::model::security::AceDescription;
use crate::model::{
    DirectoryObject, Estate, Gpo, GpoFolder, GpoSide, Link, SecurityDescriptor, Sid, Version, format_guid_braced,
    well_known_sid_name,
};
use crate::ops::DomainSession;
use crate::ops::inspect::{gpt_ini_version, principal_name};
use crate::store::{GPVAULT_JSON_FILE, InstanceSummary};

/// Files bigger than this are not read: no settings file comes close, and a backup folder is
/// untrusted.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// One half's version: the directory's counter and GPT.INI's (when known).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct HalfVersion {
    pub directory: u16,
    pub sysvol: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WmiFilterRef {
    /// `{GUID}` of the filter.
    pub id: String,
    pub name: Option<String>,
    /// The WQL query, when the source recorded the filter itself (gpvault's backups, the domain).
    pub query: Option<String>,
}

impl WmiFilterRef {
    pub fn text(&self) -> String {
        match (&self.name, &self.query) {
            (Some(name), Some(query)) => format!("{name} {} ({query})", self.id),
            (Some(name), None) => format!("{name} {}", self.id),
            _ => self.id.clone(),
        }
    }
}

/// One ACE: its readable line, and the same line without the account name (what compares: two
/// sources may name one SID differently, or not at all).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AceLine {
    pub text: String,
    #[serde(skip)]
    pub key: String,
}

/// One software installation package, readable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackageState {
    /// "Computer" or "User".
    pub side: String,
    /// The object's name in the class store (its CN, a GUID).
    pub name: String,
    /// What people call it: its displayName, else its packageName.
    pub display_name: String,
    /// Attributes with a value, in GPMC's order, each as people read it (binary values as a
    /// GUID, or their size and hash).
    pub attributes: Vec<(String, String)>,
    pub dacl: Vec<AceLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileState {
    /// Path in the GPO folder, `/` separators (`Machine/registry.pol`).
    pub path: String,
    pub size: u64,
    pub sha256: String,
    /// Read by a settings reader (its content is compared setting by setting).
    pub settings_file: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnreadableFile {
    pub path: String,
    pub error: String,
}

/// What a GPO is, from one source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GpoState {
    pub gpo_id: String,
    pub name: String,
    pub domain: String,
    /// The `flags` attribute (which halves are disabled).
    pub flags: Option<u32>,
    pub user_version: Option<HalfVersion>,
    pub machine_version: Option<HalfVersion>,
    /// gPCMachineExtensionNames / gPCUserExtensionNames as stored.
    pub machine_extensions: String,
    pub user_extensions: String,
    pub wmi_filter: Option<WmiFilterRef>,
    /// `None` when the source holds no readable security descriptor.
    pub dacl: Option<Vec<AceLine>>,
    /// The DACL as GPMC's Delegation tab groups it.
    pub delegation: Vec<String>,
    /// `None` when the source does not record links (GPMC's backups).
    pub links: Option<Vec<Link>>,
    pub packages: Vec<PackageState>,
    pub settings: Vec<Setting>,
    /// Every SYSVOL file (GPT.INI left out: its version is in the versions).
    pub files: Vec<FileState>,
    pub unreadable: Vec<UnreadableFile>,
}

impl GpoState {
    /// The GPO as a backup instance holds it: Backup.xml (GPMC's), gpvault.json (gpvault's
    /// extra: links, the filter's query) and the SYSVOL copy. What cannot be read is listed in
    /// `unreadable`, never fatal.
    pub fn of_instance(instance: &InstanceSummary) -> GpoState {
        let dir = &instance.path;
        let mut unreadable = Vec::new();
        let backup = match read_limited(&dir.join("Backup.xml")) {
            Ok(bytes) => BackupXml::parse(&bytes)
                .map_err(|e| unreadable.push(UnreadableFile { path: "Backup.xml".into(), error: e.to_string() }))
                .ok(),
            Err(error) => {
                unreadable.push(UnreadableFile { path: "Backup.xml".into(), error });
                None
            }
        };
        let extra = if dir.join(GPVAULT_JSON_FILE).is_file() {
            match read_limited(&dir.join(GPVAULT_JSON_FILE))
                .and_then(|bytes| GpvaultJson::parse(&bytes).map_err(|e| e.to_string()))
            {
                Ok(extra) => Some(extra),
                Err(error) => {
                    unreadable.push(UnreadableFile { path: GPVAULT_JSON_FILE.into(), error });
                    None
                }
            }
        } else {
            None
        };

        let names: HashMap<Sid, String> =
            backup.as_ref().map(|b| b.security_groups.iter().filter_map(principal_entry).collect()).unwrap_or_default();
        let resolve = |sid: &Sid| names.get(sid).cloned().or_else(|| well_known_sid_name(sid).map(str::to_string));

        let info = &instance.info;
        let mut state = match (&backup, &extra) {
            (Some(backup), _) => core_of_backup_xml(backup, &resolve),
            (None, Some(extra)) => core_of_gpo(&extra.gpo, gpt_version_of(extra), &resolve),
            (None, None) => GpoState::default(),
        };
        if state.gpo_id.is_empty() {
            state.gpo_id = info.gpo_guid.clone();
        }
        if state.name.is_empty() {
            state.name = info.gpo_display_name.clone();
        }
        state.domain = info.gpo_domain.clone();
        if let Some(extra) = &extra {
            state.links = Some(extra.links.clone());
            if let (Some(filter), Some(wanted)) = (&extra.wmi_filter, &mut state.wmi_filter)
                && filter.id.eq_ignore_ascii_case(&wanted.id)
            {
                wanted.name = Some(filter.name.clone());
                wanted.query = Some(filter.query.clone());
            }
        }
        if let Some(backup) = &backup {
            state.packages = packages_of(&backup.class_stores(), &resolve);
        }

        let files = read_tree(&dir.join("DomainSysvol").join("GPO"), &mut unreadable);
        state.read_settings(&files);
        state.unreadable.splice(0..0, unreadable);
        state
    }

    /// The GPO as the domain holds it now: its AD attributes, DACL, links and class store, and
    /// its SYSVOL folder read through the session.
    pub async fn of_live(session: &DomainSession, estate: &Estate, gpo: &Gpo) -> Result<GpoState, CatalogError> {
        let (folder, children) = futures::try_join!(
            async { session.sysvol.read_gpo_folder(&gpo.id, &gpo.file_sys_path).await.map_err(CatalogError::from) },
            async { session.directory.read_gpo_children().await.map_err(CatalogError::from) },
        )?;
        let objects: &[DirectoryObject] = children.get(&gpo.id).map(Vec::as_slice).unwrap_or_default();
        let source = ClassStoreSource { gpo_dn: &gpo.dn, gpo_name: &gpo.display_name, objects };
        let stores = class_stores_from_directory(&source, &mut |_, _| None);
        let stores: Vec<ClassStore<'_>> =
            stores.iter().filter_map(|object| object.side().map(|side| ClassStore { side, object })).collect();
        // Names for the GPO's DACL and for its packages' own descriptors, in one lookup.
        let mut sids = gpo.security_descriptor.as_ref().map(|sd| sd.principals()).unwrap_or_default();
        for package in stores.iter().flat_map(|s| s.packages()) {
            if let Some(sd) = package.security_descriptor().and_then(|b| SecurityDescriptor::from_bytes(b).ok()) {
                sids.extend(sd.principals());
            }
        }
        sids.sort();
        sids.dedup();
        let principals = session.directory.resolve_principals(&sids).await?;
        let resolve = |sid: &Sid| principal_name(sid, &principals);

        let sysvol_version = folder.file("GPT.INI").and_then(gpt_ini_version);
        let mut state = core_of_gpo(gpo, sysvol_version, &resolve);
        state.domain = estate.domain.dns_name.clone();
        state.links = Some(estate.links_to(&gpo.id).into_iter().cloned().collect());
        if let (Some(wanted), Some(filter)) = (&mut state.wmi_filter, estate.wmi_filter_of(gpo)) {
            wanted.name = Some(filter.name.clone());
            wanted.query = Some(filter.query.clone());
        }
        state.packages = packages_of(&stores, &resolve);
        state.read_settings(&folder_files(&folder));
        Ok(state)
    }

    /// Reads every settings file among `files` (path in the GPO folder, bytes).
    fn read_settings(&mut self, files: &[(String, Vec<u8>)]) {
        for (path, bytes) in files {
            let settings_file = match SettingsFile::parse(path, bytes) {
                Some(Ok(file)) => {
                    self.settings.extend(file.settings());
                    true
                }
                Some(Err(e)) => {
                    self.unreadable.push(UnreadableFile { path: path.clone(), error: e.to_string() });
                    false
                }
                None => false,
            };
            self.files.push(FileState {
                path: path.clone(),
                size: bytes.len() as u64,
                sha256: hex::encode(Sha256::digest(bytes)),
                settings_file,
            });
        }
    }
}

/// The core settings, DACL and WMI filter link of Backup.xml.
fn core_of_backup_xml(backup: &BackupXml, resolve: &dyn Fn(&Sid) -> Option<String>) -> GpoState {
    let core = &backup.core;
    let half = |v: Option<crate::formats::SideVersion>| {
        v.map(|v| HalfVersion { directory: v.directory, sysvol: Some(v.sysvol) })
    };
    let sd = core.parsed_security_descriptor().and_then(Result::ok);
    GpoState {
        gpo_id: core.id.clone(),
        name: core.display_name.clone().unwrap_or_default(),
        domain: core.domain.clone().unwrap_or_default(),
        flags: core.flags().map(|f| f.0),
        user_version: half(core.user_version()),
        machine_version: half(core.machine_version()),
        machine_extensions: core.machine_extension_guids.as_deref().unwrap_or("").trim().to_string(),
        user_extensions: core.user_extension_guids.as_deref().unwrap_or("").trim().to_string(),
        wmi_filter: core.wmi_filter_id().map(|id| WmiFilterRef { id, name: core.wmi_filter_name.clone(), query: None }),
        dacl: sd.as_ref().map(|sd| dacl_lines(sd, resolve)),
        delegation: sd.as_ref().map(|sd| delegation_lines(sd, resolve)).unwrap_or_default(),
        ..GpoState::default()
    }
}

/// The same from a groupPolicyContainer (the live one, or the copy in gpvault.json).
fn core_of_gpo(gpo: &Gpo, sysvol: Option<Version>, resolve: &dyn Fn(&Sid) -> Option<String>) -> GpoState {
    GpoState {
        gpo_id: gpo.id.to_string(),
        name: gpo.display_name.clone(),
        flags: Some(gpo.flags.0),
        user_version: Some(HalfVersion { directory: gpo.version.user, sysvol: sysvol.map(|v| v.user) }),
        machine_version: Some(HalfVersion { directory: gpo.version.machine, sysvol: sysvol.map(|v| v.machine) }),
        machine_extensions: gpo.machine_extensions.raw.trim().to_string(),
        user_extensions: gpo.user_extensions.raw.trim().to_string(),
        wmi_filter: gpo.wmi_filter_id().map(|id| WmiFilterRef { id, name: None, query: None }),
        dacl: gpo.security_descriptor.as_ref().map(|sd| dacl_lines(sd, resolve)),
        delegation: gpo.security_descriptor.as_ref().map(|sd| delegation_lines(sd, resolve)).unwrap_or_default(),
        ..GpoState::default()
    }
}

fn gpt_version_of(extra: &GpvaultJson) -> Option<Version> {
    extra.gpt_ini.as_deref().and_then(|text| gpt_ini_version(text.as_bytes()))
}

/// SID → `DOMAIN\name` out of Backup.xml's SecurityGroups.
fn principal_entry(principal: &SecurityPrincipal) -> Option<(Sid, String)> {
    let sid: Sid = principal.sid.as_deref()?.trim().parse().ok()?;
    let name = match (&principal.netbios_domain_name, &principal.sam_account_name, &principal.upn) {
        (Some(domain), Some(name), _) if !domain.is_empty() && !name.is_empty() => format!("{domain}\\{name}"),
        (_, Some(name), _) if !name.is_empty() => name.clone(),
        (_, _, Some(upn)) if !upn.is_empty() => upn.clone(),
        _ => return None,
    };
    Some((sid, name))
}

/// The DACL, one readable line per ACE (the SACL is left out: GPMC keeps none).
pub(crate) fn dacl_lines(sd: &SecurityDescriptor, resolve: &dyn Fn(&Sid) -> Option<String>) -> Vec<AceLine> {
    let mut dacl_only = sd.clone();
    dacl_only.sacl = None;
    dacl_only
        .describe_aces(resolve)
        .into_iter()
        .map(|description| {
            let text = description.to_string();
            let key = AceDescription { trustee_name: None, ..description }.to_string();
            AceLine { text, key }
        })
        .collect()
}

fn delegation_lines(sd: &SecurityDescriptor, resolve: &dyn Fn(&Sid) -> Option<String>) -> Vec<String> {
    sd.gpo_delegation()
        .into_iter()
        .map(|p| {
            format!(
                "{:<5}  {:<45}  {}{}",
                p.permission_type.as_str(),
                resolve(&p.trustee).unwrap_or_else(|| p.trustee.to_string()),
                p.access.delegation_name(),
                if p.inherited { "  [inherited]" } else { "" }
            )
        })
        .collect()
}

fn packages_of(stores: &[ClassStore<'_>], resolve: &dyn Fn(&Sid) -> Option<String>) -> Vec<PackageState> {
    let mut packages = Vec::new();
    for store in stores {
        for package in store.packages() {
            packages.push(package_state(store.side, &package, resolve));
        }
    }
    packages
}

fn package_state(side: GpoSide, package: &Package<'_>, resolve: &dyn Fn(&Sid) -> Option<String>) -> PackageState {
    let attributes = package
        .attributes()
        // The object's own GUID is the directory's to give: a restored package gets a new one.
        .filter(|a| !a.values.is_empty() && !a.name.eq_ignore_ascii_case("objectGUID"))
        .map(|a| {
            let value = match a.kind {
                DsAttributeKind::Binary => {
                    a.binary_values().iter().map(|b| binary_text(b)).collect::<Vec<_>>().join(", ")
                }
                DsAttributeKind::Dword | DsAttributeKind::MultiDword => a.values.join(", "),
                _ => a.values.join("; "),
            };
            (a.name.clone(), value)
        })
        .collect();
    let dacl = package
        .security_descriptor()
        .and_then(|bytes| SecurityDescriptor::from_bytes(bytes).ok())
        .map(|sd| dacl_lines(&sd, resolve))
        .unwrap_or_default();
    let first = |name: &str| package.object.attribute(name).and_then(|a| a.values.first().cloned());
    let display_name = first("displayName").or_else(|| first("packageName")).unwrap_or_default();
    PackageState { side: side_name(side).into(), name: package.name().to_string(), display_name, attributes, dacl }
}

impl PackageState {
    /// `7-Zip 23.01 (x64 edition) {A36D044E-...} (Computer)`.
    pub fn title(&self) -> String {
        if self.display_name.is_empty() {
            format!("{} ({})", self.name, self.side)
        } else {
            format!("{} {} ({})", self.display_name, self.name, self.side)
        }
    }
}

pub(crate) fn side_name(side: GpoSide) -> &'static str {
    match side {
        GpoSide::Machine => "Computer",
        GpoSide::User => "User",
    }
}

/// A 16-byte value (product codes) as the GUID it is; anything else by size and hash.
fn binary_text(bytes: &[u8]) -> String {
    match <[u8; 16]>::try_from(bytes) {
        Ok(guid) => format_guid_braced(&uuid::Uuid::from_bytes_le(guid)),
        Err(_) => format!("{} bytes, SHA-256 {}", bytes.len(), &hex::encode(Sha256::digest(bytes))[..16]),
    }
}

/// The names of the client-side extensions an extension-names value lists (GUIDs gpvault does
/// not know are shown as they are).
pub fn extension_names(raw: &str) -> Vec<String> {
    crate::model::ExtensionList::parse(raw).names()
}

/// The live folder's files, GPT.INI left out (its version is compared as the versions).
fn folder_files(folder: &GpoFolder) -> Vec<(String, Vec<u8>)> {
    folder
        .files()
        .filter(|(path, _)| !path.eq_ignore_ascii_case("GPT.INI"))
        .map(|(path, bytes)| (path.trim_start_matches('/').to_string(), bytes.to_vec()))
        .collect()
}

fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!("{} bytes: larger than any file gpvault reads", meta.len()));
    }
    std::fs::read(path).map_err(|e| e.to_string())
}

/// Every regular file below `root`, by path relative to it with `/` separators, sorted.
/// Symbolic links are not followed (a backup folder is untrusted); they are listed as
/// unreadable, as are files that cannot be read.
fn read_tree(root: &Path, unreadable: &mut Vec<UnreadableFile>) -> Vec<(String, Vec<u8>)> {
    let mut files = BTreeMap::new();
    let mut pending = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push((entry.path(), rel)),
                Ok(kind) if kind.is_file() => match read_limited(&entry.path()) {
                    Ok(bytes) => {
                        files.insert(rel, bytes);
                    }
                    Err(error) => unreadable.push(UnreadableFile { path: rel, error }),
                },
                _ => unreadable.push(UnreadableFile { path: rel, error: "not a regular file; not followed".into() }),
            }
        }
    }
    files.into_iter().collect()
}
