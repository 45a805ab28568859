//! One backup instance read for a restore, as untrusted input: every file it names is read
//! (and checked) before anything is written to a domain, so a truncated Backup.xml, a missing
//! file, a GUID that does not parse or a path that leaves the instance folder refuses the
//! instance up front, naming the file and the reason.
//!
//! gpvault's instances are read from gpvault.json (the whole security descriptor, every SYSVOL
//! item with its size and SHA-256, GPT.INI, links, the WMI filter object, the class store with
//! every attribute), cross-checked with Backup.xml and bkupInfo.xml; GPMC's from Backup.xml
//! (its core settings, the files it locates, its class store `DSObject`s) and, for links,
//! gpreport.xml.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::directory::rebase_dn;
use crate::formats::backup_xml::{self, BackupXml, FsObjectKind};
use crate::formats::bkup_info::{self, BackupInfo};
use crate::formats::gpreport::{self, GpReport};
use crate::formats::gpvault_json::GpvaultJson;
use crate::model::{
    DirectoryObject, FolderEntry, Gpo, GpoFlags, GpoFolder, GpoId, SecurityDescriptor, Version, WmiFilter, parse_guid,
};
use crate::store::{GPVAULT_JSON_FILE, InstanceSummary, MANIFEST_FILE};
use crate::sysvol::PolicyPath;

/// Where GPMC's layout keeps a GPO's SYSVOL folder inside an instance.
const SYSVOL_ROOT: [&str; 2] = ["DomainSysvol", "GPO"];
pub use crate::store::MAX_FILE_BYTES;

/// What is wrong with an instance: the file and the reason. Nothing is written for it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InstanceProblem {
    #[error("{file}: cannot be read: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("{file}: {reason}")]
    Malformed { file: String, reason: String },
    #[error("{file} is missing: {reason}")]
    Missing { file: String, reason: String },
    #[error("{file}: '{value}' is not a GUID")]
    BadGuid { file: String, value: String },
    #[error("{file}: the path '{path}' {reason}; only files inside the instance folder are read")]
    UnsafePath { file: String, path: String, reason: String },
    #[error("{file}: {reason}")]
    Inconsistent { file: String, reason: String },
    #[error("{file} does not have the size and SHA-256 recorded at backup time: it changed or is damaged")]
    Damaged { file: String },
}

/// The domain a backup was taken from, as the instance records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceDomain {
    pub dns_name: String,
    /// The domain's objectGUID, when the instance records it (bkupInfo.xml, gpvault.json).
    pub guid: Option<Uuid>,
}

/// A link as the backup recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedLink {
    pub container_dn: String,
    /// GPMC's link order (1 = highest precedence); `None` when the backup does not record it
    /// (GPMC's gpreport.xml), and the link then goes last in precedence.
    pub order: Option<usize>,
    pub enabled: bool,
    pub enforced: bool,
}

/// The class store a backup holds, in the form it holds it.
#[derive(Clone, Debug)]
pub enum ClassStoreSource {
    /// gpvault.json: the objects as the directory gave them, below `gpo_dn`.
    Directory { gpo_dn: String, objects: Vec<DirectoryObject> },
    /// GPMC's Backup.xml `DSObject`s.
    BackupXml(Box<BackupXml>),
    /// Objects already placed below the GPO they are written to and mapped into its domain
    /// (an import, a copy): like GPMC's, they replace the class stores only.
    Mapped(Vec<DirectoryObject>),
}

impl ClassStoreSource {
    /// The objects to create below the GPO `gpo_dn`, parents first.
    pub fn objects_for(&self, gpo_dn: &str) -> Vec<DirectoryObject> {
        let mut objects: Vec<DirectoryObject> = match self {
            ClassStoreSource::Directory { gpo_dn: from, objects } => objects
                .iter()
                .filter_map(|o| {
                    rebase_dn(&o.dn, from, gpo_dn).map(|dn| DirectoryObject { dn, attributes: o.attributes.clone() })
                })
                .collect(),
            ClassStoreSource::BackupXml(backup) => backup.class_store_objects(gpo_dn),
            ClassStoreSource::Mapped(objects) => objects.clone(),
        };
        objects.sort_by_key(|o| (o.dn.matches(',').count(), o.dn.to_lowercase()));
        objects
    }

    pub fn is_empty(&self) -> bool {
        match self {
            ClassStoreSource::Directory { objects, .. } => objects.is_empty(),
            ClassStoreSource::BackupXml(backup) => !backup.has_class_store(),
            ClassStoreSource::Mapped(objects) => objects.is_empty(),
        }
    }
}

/// Everything a restore takes from one instance, read and checked.
#[derive(Clone, Debug)]
pub struct BackupSource {
    pub backup_id: String,
    pub backup_time: String,
    pub comment: String,
    pub path: PathBuf,
    pub made_by_gpvault: bool,
    pub domain: SourceDomain,
    /// The groupPolicyContainer as backed up: name, flags, AD versions, extension names, WMI
    /// filter link (gPCWQLFilter form), functionality version. Its DN and file system path are
    /// the source's and are not written.
    pub gpo: Gpo,
    /// The security descriptor whose DACL is restored (GPMC keeps the DACL only).
    pub security_descriptor: SecurityDescriptor,
    /// GPT.INI's version at backup time, when known.
    pub sysvol_version: Option<Version>,
    /// The SYSVOL folder's content, GPT.INI left out (it is regenerated).
    pub content: GpoFolder,
    /// GPT.INI as it was (gpvault's instances): its path in the folder and its bytes.
    pub gpt_ini: Option<(String, Vec<u8>)>,
    pub class_store: ClassStoreSource,
    pub links: Vec<RecordedLink>,
    /// The WMI filter object (gpvault's instances), to re-create it when it is gone.
    pub wmi_filter: Option<WmiFilter>,
    /// The WMI filter's name as recorded (GPMC's WMIFilterName, or the object's).
    pub wmi_filter_name: Option<String>,
    /// Why the links are unknown, when they are (a GPMC instance without a readable gpreport.xml).
    pub links_unknown: Option<String>,
}

/// Reads one instance listed by the store. Blocking file I/O: call it off the async runtime.
pub fn read_source(instance: &InstanceSummary) -> Result<BackupSource, InstanceProblem> {
    let reader = InstanceReader::open(&instance.path)?;
    let backup_bytes = reader.read(backup_xml::FILE_NAME, "every instance has one")?;
    let backup = BackupXml::parse(&backup_bytes).map_err(|e| reader.malformed(backup_xml::FILE_NAME, e))?;
    let info = if reader.exists(bkup_info::FILE_NAME)? {
        let bytes = reader.read(bkup_info::FILE_NAME, "it was there a moment ago")?;
        Some(BackupInfo::parse(&bytes).map_err(|e| reader.malformed(bkup_info::FILE_NAME, e))?)
    } else {
        None
    };
    let extra = if reader.exists(GPVAULT_JSON_FILE)? {
        let bytes = reader.read(GPVAULT_JSON_FILE, "it was there a moment ago")?;
        Some(GpvaultJson::parse(&bytes).map_err(|e| reader.malformed(GPVAULT_JSON_FILE, e))?)
    } else {
        None
    };

    // Identity: the backup ID, the GPO GUID (everywhere it is written, the same), the domain.
    let backup_id = info.as_ref().map(|i| i.id.clone()).unwrap_or_else(|| instance.folder_name.clone());
    let id_file = if info.is_some() { reader.label(bkup_info::FILE_NAME) } else { reader.root.display().to_string() };
    parse_guid(&backup_id).map_err(|_| InstanceProblem::BadGuid { file: id_file, value: backup_id.clone() })?;
    let gpo_id: GpoId = backup.core.id.parse().map_err(|_| InstanceProblem::BadGuid {
        file: reader.label(backup_xml::FILE_NAME),
        value: backup.core.id.clone(),
    })?;
    if let Some(info) = &info {
        let named: GpoId = info.gpo_guid.parse().map_err(|_| InstanceProblem::BadGuid {
            file: reader.label(bkup_info::FILE_NAME),
            value: info.gpo_guid.clone(),
        })?;
        if named != gpo_id {
            return Err(
                reader.inconsistent(bkup_info::FILE_NAME, format!("it names GPO {named}, Backup.xml names {gpo_id}"))
            );
        }
    }
    check_listed_as(&reader, instance, &backup_id, gpo_id, info.is_some())?;
    let domain = source_domain(&reader, info.as_ref(), &backup, extra.as_ref())?;

    let source = match extra {
        Some(extra) => from_gpvault_json(&reader, gpo_id, &backup, extra)?,
        None => from_backup_xml(&reader, gpo_id, backup)?,
    };
    let (backup_time, comment) =
        info.map(|i| (i.backup_time, i.comment)).unwrap_or_else(|| (instance.info.backup_time.clone(), String::new()));
    let mut source = BackupSource { backup_id, backup_time, comment, domain, ..source };
    source.content = one_case_per_folder(std::mem::take(&mut source.content));
    check_content(&reader, &source)?;
    Ok(source)
}

/// The instance is what the listing said it is: a listing from manifest.xml takes the backup ID
/// and the GPO from the manifest without opening the folder, and a restore chosen by them must
/// not write another GPO's backup.
fn check_listed_as(
    reader: &InstanceReader,
    instance: &InstanceSummary,
    backup_id: &str,
    gpo_id: GpoId,
    has_info: bool,
) -> Result<(), InstanceProblem> {
    let listed_by = || {
        let manifest = instance.path.parent().map(|p| p.join(MANIFEST_FILE)).unwrap_or_else(|| MANIFEST_FILE.into());
        manifest.display().to_string()
    };
    let listed_gpo: GpoId = instance
        .info
        .gpo_guid
        .parse()
        .map_err(|_| InstanceProblem::BadGuid { file: listed_by(), value: instance.info.gpo_guid.clone() })?;
    let file = if has_info { bkup_info::FILE_NAME } else { backup_xml::FILE_NAME };
    if !instance.info.id.eq_ignore_ascii_case(backup_id) || listed_gpo != gpo_id {
        return Err(reader.inconsistent(
            file,
            format!(
                "it is backup {backup_id} of GPO {gpo_id}, but {} lists this folder as backup {} of GPO {listed_gpo}; \
                 the backup folder's index is out of date or was tampered with: rebuild it from the instance folders",
                listed_by(),
                instance.info.id
            ),
        ));
    }
    Ok(())
}

/// The domain as bkupInfo.xml, gpvault.json and Backup.xml record it; they must agree.
fn source_domain(
    reader: &InstanceReader,
    info: Option<&BackupInfo>,
    backup: &BackupXml,
    extra: Option<&GpvaultJson>,
) -> Result<SourceDomain, InstanceProblem> {
    let guid_of = |file: &str, text: &str| -> Result<Option<Uuid>, InstanceProblem> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        parse_guid(text)
            .map(Some)
            .map_err(|_| InstanceProblem::BadGuid { file: reader.label(file), value: text.to_string() })
    };
    let from_info = match info {
        Some(info) => guid_of(bkup_info::FILE_NAME, &info.gpo_domain_guid)?,
        None => None,
    };
    let from_extra = match extra {
        Some(extra) => guid_of(GPVAULT_JSON_FILE, &extra.domain.guid)?,
        None => None,
    };
    if let (Some(a), Some(b)) = (from_info, from_extra)
        && a != b
    {
        return Err(reader.inconsistent(GPVAULT_JSON_FILE, format!("it names domain {b}, bkupInfo.xml names {a}")));
    }
    let dns_name = info
        .map(|i| i.gpo_domain.clone())
        .filter(|d| !d.trim().is_empty())
        .or_else(|| extra.map(|e| e.domain.dns_name.clone()).filter(|d| !d.trim().is_empty()))
        .or_else(|| backup.core.domain.clone())
        .unwrap_or_default();
    if dns_name.trim().is_empty() && from_info.or(from_extra).is_none() {
        return Err(reader.inconsistent(backup_xml::FILE_NAME, "no file of the instance names the GPO's domain".into()));
    }
    Ok(SourceDomain { dns_name: dns_name.trim().to_string(), guid: from_info.or(from_extra) })
}

fn from_gpvault_json(
    reader: &InstanceReader,
    gpo_id: GpoId,
    backup: &BackupXml,
    extra: GpvaultJson,
) -> Result<BackupSource, InstanceProblem> {
    if extra.gpo.id != gpo_id {
        return Err(
            reader.inconsistent(GPVAULT_JSON_FILE, format!("it names GPO {}, Backup.xml names {gpo_id}", extra.gpo.id))
        );
    }
    let security_descriptor = match &extra.gpo.security_descriptor {
        Some(sd) => sd.clone(),
        None => backup_xml_security_descriptor(reader, backup)?,
    };
    require_dacl(reader, GPVAULT_JSON_FILE, &security_descriptor)?;
    let mut content = GpoFolder::default();
    let mut gpt_ini = None;
    let mut sysvol_version = None;
    for item in &extra.sysvol {
        let at_top = !item.path.contains(['/', '\\']);
        if item.is_dir {
            content.entries.push(FolderEntry::Dir { rel_path: item.path.replace('\\', "/") });
            continue;
        }
        let Some(stored_at) = &item.stored_at else {
            if at_top && item.path.eq_ignore_ascii_case(crate::formats::gpt_ini::FILE_NAME) {
                // GPT.INI lives in gpvault.json itself; it is checked against its recorded hash.
                let text = extra.gpt_ini.clone().unwrap_or_default();
                let matches =
                    item.sha256.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(&sha256_hex(text.as_bytes())));
                if matches {
                    sysvol_version = crate::ops::inspect::gpt_ini_version(text.as_bytes());
                }
                gpt_ini = Some((item.path.clone(), text.into_bytes()));
                continue;
            }
            return Err(reader.inconsistent(GPVAULT_JSON_FILE, format!("it lists {} without a stored copy", item.path)));
        };
        let location = stored_location(reader, GPVAULT_JSON_FILE, stored_at)?;
        let bytes = reader.read_location(&location, "gpvault.json names it")?;
        let hash_ok = item.sha256.as_deref().is_none_or(|h| h.eq_ignore_ascii_case(&sha256_hex(&bytes)));
        if bytes.len() as u64 != item.size || !hash_ok {
            return Err(InstanceProblem::Damaged { file: reader.label(&location.join("/")) });
        }
        content.entries.push(FolderEntry::File { rel_path: item.path.replace('\\', "/"), bytes });
    }
    if gpt_ini.is_none()
        && let Some(text) = &extra.gpt_ini
    {
        gpt_ini = Some((crate::formats::gpt_ini::FILE_NAME.to_string(), text.clone().into_bytes()));
    }
    let gpo_dn = extra.gpo.dn.clone();
    let named_by_cn = gpo_dn.split(',').next().and_then(|rdn| rdn.split_once('=')).is_some_and(|(kind, value)| {
        kind.trim().eq_ignore_ascii_case("cn") && value.parse::<GpoId>().ok() == Some(gpo_id)
    });
    if !named_by_cn {
        return Err(reader.inconsistent(GPVAULT_JSON_FILE, format!("the GPO's DN {gpo_dn} is not CN={gpo_id},...")));
    }
    for object in &extra.directory_objects {
        if !below_a_half(&object.dn, &gpo_dn) {
            return Err(reader.inconsistent(
                GPVAULT_JSON_FILE,
                format!("the directory object {} is not below the GPO's User or Machine container", object.dn),
            ));
        }
    }
    let links = extra
        .links
        .iter()
        .filter(|l| l.gpo_id == gpo_id)
        .map(|l| RecordedLink {
            container_dn: l.container_dn.clone(),
            order: Some(l.order),
            enabled: l.enabled,
            enforced: l.enforced,
        })
        .collect();
    let wmi_filter_name =
        extra.wmi_filter.as_ref().map(|f| f.name.clone()).or_else(|| backup.core.wmi_filter_name.clone());
    Ok(BackupSource {
        backup_id: String::new(),
        backup_time: String::new(),
        comment: String::new(),
        path: reader.root.clone(),
        made_by_gpvault: true,
        domain: SourceDomain { dns_name: String::new(), guid: None },
        security_descriptor,
        sysvol_version: sysvol_version.or_else(|| backup_xml_sysvol_version(backup)),
        content,
        gpt_ini,
        class_store: ClassStoreSource::Directory { gpo_dn, objects: extra.directory_objects },
        links,
        wmi_filter: extra.wmi_filter,
        wmi_filter_name,
        links_unknown: None,
        gpo: extra.gpo,
    })
}

fn from_backup_xml(reader: &InstanceReader, gpo_id: GpoId, backup: BackupXml) -> Result<BackupSource, InstanceProblem> {
    let file = backup_xml::FILE_NAME;
    let core = &backup.core;
    let display_name = core.display_name.clone().filter(|n| !n.trim().is_empty()).ok_or_else(|| {
        reader.inconsistent(file, "GroupPolicyCoreSettings has no DisplayName; a GPO needs a name".into())
    })?;
    let flags =
        match core.options.as_deref() {
            None => GpoFlags(0),
            Some(text) => GpoFlags(text.trim().parse().map_err(|_| {
                reader.inconsistent(file, format!("Options '{text}' is not a number (the GPO's flags)"))
            })?),
        };
    let side = |text: &Option<String>, name: &str| -> Result<backup_xml::SideVersion, InstanceProblem> {
        match text.as_deref() {
            None => Ok(backup_xml::SideVersion::default()),
            Some(t) => t
                .trim()
                .parse::<u32>()
                .map(backup_xml::SideVersion::from_backup_number)
                .map_err(|_| reader.inconsistent(file, format!("{name} '{t}' is not a number"))),
        }
    };
    let user = side(&core.user_version_number, "UserVersionNumber")?;
    let machine = side(&core.machine_version_number, "MachineVersionNumber")?;
    let security_descriptor = backup_xml_security_descriptor(reader, &backup)?;
    require_dacl(reader, file, &security_descriptor)?;
    let wmi_filter_link = match core.wmi_filter_id() {
        Some(id) => {
            parse_guid(&id).map_err(|_| InstanceProblem::BadGuid { file: reader.label(file), value: id.clone() })?;
            let domain = wmi_filter_domain(core.wmi_filter.as_deref().unwrap_or_default())
                .or_else(|| core.domain.clone())
                .unwrap_or_default();
            Some(format!("[{domain};{id};0]"))
        }
        None => None,
    };

    let mut content = GpoFolder::default();
    for block in &backup.extensions {
        for object in block.objects() {
            let Some(location) = &object.location else { continue };
            let parts = stored_location(reader, file, location)?;
            let rel_path = parts[SYSVOL_ROOT.len()..].join("/");
            match object.kind {
                FsObjectKind::Dir => content.entries.push(FolderEntry::Dir { rel_path }),
                FsObjectKind::File => {
                    let bytes = reader.read_location(&parts, "Backup.xml names it")?;
                    content.entries.push(FolderEntry::File { rel_path, bytes });
                }
            }
        }
    }
    // GPMC lists neither half's own folder: a GPO folder always has both.
    for half in ["Machine", "User"] {
        let present = content.entries.iter().any(|e| {
            let first = e.rel_path().split('/').next().unwrap_or_default();
            first.eq_ignore_ascii_case(half)
        });
        if !present {
            content.entries.push(FolderEntry::Dir { rel_path: half.to_string() });
        }
    }
    // Every class store object must land below the GPO.
    let placeholder = format!("CN={gpo_id},CN=Policies,CN=System,DC=example");
    let declared = backup
        .extensions
        .iter()
        .flat_map(|b| b.directory_objects())
        .flat_map(|o| o.walk())
        .filter(|o| !o.is_wildcard())
        .count();
    let expanded = backup.class_store_objects(&placeholder);
    if expanded.len() != declared {
        return Err(reader.inconsistent(file, "a DSObject names a path outside the GPO's containers".into()));
    }

    let (links, links_unknown) = gpmc_links(reader)?;
    let gpo = Gpo {
        id: gpo_id,
        dn: String::new(),
        display_name,
        version: Version { user: user.directory, machine: machine.directory },
        flags,
        functionality_version: None,
        file_sys_path: String::new(),
        machine_extensions: core.machine_extensions(),
        user_extensions: core.user_extensions(),
        wmi_filter_link,
        security_descriptor: Some(security_descriptor.clone()),
        created: None,
        changed: None,
    };
    Ok(BackupSource {
        backup_id: String::new(),
        backup_time: String::new(),
        comment: String::new(),
        path: reader.root.clone(),
        made_by_gpvault: false,
        domain: SourceDomain { dns_name: String::new(), guid: None },
        security_descriptor,
        sysvol_version: Some(Version { user: user.sysvol, machine: machine.sysvol }),
        content,
        gpt_ini: None,
        wmi_filter: None,
        wmi_filter_name: core.wmi_filter_name.clone(),
        class_store: ClassStoreSource::BackupXml(Box::new(backup)),
        links,
        links_unknown,
        gpo,
    })
}

/// GPMC records links in gpreport.xml only, by canonical path and without their order.
fn gpmc_links(reader: &InstanceReader) -> Result<(Vec<RecordedLink>, Option<String>), InstanceProblem> {
    if !reader.exists(gpreport::FILE_NAME)? {
        return Ok((Vec::new(), Some("the instance has no gpreport.xml".into())));
    }
    let bytes = reader.read(gpreport::FILE_NAME, "it was there a moment ago")?;
    let report = GpReport::parse(&bytes).map_err(|e| reader.malformed(gpreport::FILE_NAME, e))?;
    let links = report
        .links
        .iter()
        .filter_map(|l| {
            canonical_to_dn(&l.som_path).map(|dn| RecordedLink {
                container_dn: dn,
                order: None,
                enabled: l.enabled,
                enforced: l.no_override,
            })
        })
        .collect();
    Ok((links, None))
}

/// `corp.example.test/Staff/Finance` → `OU=Finance,OU=Staff,DC=corp,DC=example,DC=test` (the
/// domain and OUs GPMC's gpreport.xml names by path).
pub fn canonical_to_dn(path: &str) -> Option<String> {
    let mut parts = path.split('/');
    let domain = parts.next().filter(|d| !d.is_empty() && !d.contains(['=', ',']))?;
    let mut rdns: Vec<String> = Vec::new();
    for ou in parts {
        if ou.is_empty() || ou.contains(['=', ',', '+', '"', '\\', '<', '>', ';']) {
            return None;
        }
        rdns.insert(0, format!("OU={ou}"));
    }
    rdns.extend(domain.split('.').map(|p| format!("DC={p}")));
    Some(rdns.join(","))
}

/// `MSFT_SomFilter.ID="{guid}",Domain="dns.name"` → `dns.name`.
fn wmi_filter_domain(text: &str) -> Option<String> {
    let start = text.find("Domain=\"")? + "Domain=\"".len();
    let end = start + text[start..].find('"')?;
    Some(text[start..end].to_string()).filter(|d| !d.is_empty())
}

fn backup_xml_security_descriptor(
    reader: &InstanceReader,
    backup: &BackupXml,
) -> Result<SecurityDescriptor, InstanceProblem> {
    match backup.core.parsed_security_descriptor() {
        Some(Ok(sd)) => Ok(sd),
        Some(Err(e)) => {
            Err(reader.malformed(backup_xml::FILE_NAME, format!("its SecurityDescriptor is malformed: {e}")))
        }
        None => Err(reader.inconsistent(backup_xml::FILE_NAME, "it records no security descriptor for the GPO".into())),
    }
}

fn backup_xml_sysvol_version(backup: &BackupXml) -> Option<Version> {
    let user = backup.core.user_version()?;
    let machine = backup.core.machine_version()?;
    Some(Version { user: user.sysvol, machine: machine.sysvol })
}

fn require_dacl(reader: &InstanceReader, file: &str, sd: &SecurityDescriptor) -> Result<(), InstanceProblem> {
    use crate::model::security::control::DACL_PRESENT;
    if sd.dacl.is_none() || sd.control & DACL_PRESENT == 0 {
        return Err(reader.inconsistent(file, "the GPO's security descriptor has no DACL to restore".into()));
    }
    Ok(())
}

/// `dn` is below the CN=Machine or CN=User container of the GPO `gpo_dn`.
fn below_a_half(dn: &str, gpo_dn: &str) -> bool {
    let (dn, gpo_dn) = (dn.to_lowercase(), gpo_dn.to_lowercase());
    ["cn=machine,", "cn=user,"].iter().any(|half| dn.ends_with(&format!(",{half}{gpo_dn}")))
}

/// A location inside the instance's `DomainSysvol\GPO` folder, as its components.
fn stored_location(reader: &InstanceReader, file: &str, location: &str) -> Result<Vec<String>, InstanceProblem> {
    let unsafe_path = |reason: &str| InstanceProblem::UnsafePath {
        file: reader.label(file),
        path: location.to_string(),
        reason: reason.to_string(),
    };
    let parts = relative_components(location).map_err(|reason| unsafe_path(&reason))?;
    let inside = parts.len() > SYSVOL_ROOT.len()
        && parts.iter().zip(SYSVOL_ROOT).all(|(part, root)| part.eq_ignore_ascii_case(root));
    if !inside {
        return Err(unsafe_path("is not inside the instance's DomainSysvol\\GPO folder"));
    }
    Ok(parts)
}

/// The components of a path that must stay inside the folder it is relative to: refuses
/// `..`, absolute paths, drive letters, UNC paths and alternate data streams.
pub fn relative_components(path: &str) -> Result<Vec<String>, String> {
    if path.starts_with(r"\\") || path.starts_with("//") {
        return Err("is a UNC path".into());
    }
    if path.len() >= 2 && path.as_bytes()[1] == b':' && path.as_bytes()[0].is_ascii_alphabetic() {
        return Err("starts with a drive letter".into());
    }
    if path.starts_with(['/', '\\']) {
        return Err("is absolute".into());
    }
    let mut parts = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => continue,
            ".." => return Err("climbs out of its folder with '..'".into()),
            p if p.contains(':') => return Err("names an alternate data stream or a drive (':')".into()),
            p if p.contains('\0') => return Err("holds a NUL character".into()),
            p => parts.push(p.to_string()),
        }
    }
    if parts.is_empty() {
        return Err("is empty".into());
    }
    Ok(parts)
}

/// The folder with one spelling per folder: SYSVOL does not tell `Microsoft` from `microsoft`,
/// and GPMC's own backups name the same folder both ways (its Security block writes
/// `microsoft\windows nt\SecEdit`, the folder entries `Microsoft\Windows NT`). A folder's own
/// entry gives its spelling, else the first path that passes through it. Files keep their names.
pub fn one_case_per_folder(folder: GpoFolder) -> GpoFolder {
    let mut spelling: BTreeMap<String, String> = BTreeMap::new();
    let learn = |components: &[&str], spelling: &mut BTreeMap<String, String>| {
        let mut cased = String::new();
        for (depth, component) in components.iter().enumerate() {
            let lower = components[..=depth].join("/").to_lowercase();
            let next = if cased.is_empty() { component.to_string() } else { format!("{cased}/{component}") };
            cased = spelling.entry(lower).or_insert(next).clone();
        }
    };
    let dirs = folder.entries.iter().filter(|e| matches!(e, FolderEntry::Dir { .. }));
    let files = folder.entries.iter().filter(|e| matches!(e, FolderEntry::File { .. }));
    for entry in dirs {
        let components: Vec<&str> = entry.rel_path().split('/').collect();
        learn(&components, &mut spelling);
    }
    for entry in files {
        let components: Vec<&str> = entry.rel_path().split('/').collect();
        learn(&components[..components.len().saturating_sub(1)], &mut spelling);
    }
    let respell = |path: &str, is_dir: bool| -> String {
        let components: Vec<&str> = path.split('/').collect();
        let folders = if is_dir { components.len() } else { components.len() - 1 };
        let parent = match folders {
            0 => String::new(),
            n => spelling
                .get(&components[..n].join("/").to_lowercase())
                .cloned()
                .unwrap_or_else(|| components[..n].join("/")),
        };
        match (is_dir, parent.is_empty()) {
            (true, _) => parent,
            (false, true) => path.to_string(),
            (false, false) => format!("{parent}/{}", components[components.len() - 1]),
        }
    };
    let mut seen_dirs = std::collections::BTreeSet::new();
    let mut out = GpoFolder::default();
    for entry in folder.entries {
        match entry {
            FolderEntry::Dir { rel_path } => {
                let rel_path = respell(&rel_path, true);
                if seen_dirs.insert(rel_path.to_lowercase()) {
                    out.entries.push(FolderEntry::Dir { rel_path });
                }
            }
            FolderEntry::File { rel_path, bytes } => {
                out.entries.push(FolderEntry::File { rel_path: respell(&rel_path, false), bytes })
            }
        }
    }
    out.sort();
    out
}

/// Checks the content would land on SYSVOL as named: each path a plain name below the GPO's
/// folder, no two differing only in case (SYSVOL does not tell them apart), no file where a
/// folder is.
fn check_content(reader: &InstanceReader, source: &BackupSource) -> Result<(), InstanceProblem> {
    let file = if source.made_by_gpvault { GPVAULT_JSON_FILE } else { backup_xml::FILE_NAME };
    let root = PolicyPath::gpo(&source.gpo.id);
    let mut seen: BTreeMap<String, (String, bool)> = BTreeMap::new();
    let gpt_ini = source.gpt_ini.iter().map(|(p, _)| FolderEntry::File { rel_path: p.clone(), bytes: Vec::new() });
    for entry in source.content.entries.iter().cloned().chain(gpt_ini) {
        let rel = entry.rel_path().to_string();
        root.join(&rel).map_err(|e| InstanceProblem::UnsafePath {
            file: reader.label(file),
            path: rel.clone(),
            reason: format!("cannot be written to SYSVOL ({e})"),
        })?;
        let is_dir = matches!(entry, FolderEntry::Dir { .. });
        // Folders a file implies.
        let components: Vec<&str> = rel.split('/').collect();
        for depth in 1..components.len() {
            let folder = components[..depth].join("/");
            if let Some((other, false)) = seen.insert(folder.to_lowercase(), (folder.clone(), true)) {
                return Err(reader.inconsistent(file, format!("{other} is both a file and a folder")));
            }
        }
        match seen.insert(rel.to_lowercase(), (rel.clone(), is_dir)) {
            Some((other, other_is_dir)) if !(is_dir && other_is_dir && other == rel) => {
                let reason = if other_is_dir != is_dir {
                    format!("{rel} is both a file and a folder")
                } else {
                    format!("{rel} and {other} differ only in case, and SYSVOL does not tell them apart")
                };
                return Err(reader.inconsistent(file, reason));
            }
            _ => {}
        }
    }
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Reads files of one instance folder, never following a path or a symlink out of it.
struct InstanceReader {
    root: PathBuf,
    canonical_root: PathBuf,
}

impl InstanceReader {
    fn open(root: &Path) -> Result<Self, InstanceProblem> {
        // A linked instance folder would let a backup folder hand over any folder of this
        // machine that looks like an instance, to be written to SYSVOL for every domain user.
        let linked = std::fs::symlink_metadata(root).is_ok_and(|m| m.file_type().is_symlink());
        if linked {
            let target = std::fs::read_link(root).map(|t| t.display().to_string()).unwrap_or_default();
            return Err(InstanceProblem::UnsafePath {
                file: root.display().to_string(),
                path: target,
                reason: "is where this instance folder, a symlink, leads (copy the instance into the backup \
                         folder rather than link it)"
                    .into(),
            });
        }
        let canonical_root = std::fs::canonicalize(root)
            .map_err(|e| InstanceProblem::Unreadable { file: root.display().to_string(), reason: e.to_string() })?;
        Ok(InstanceReader { root: root.to_path_buf(), canonical_root })
    }

    /// `parts` below the instance folder, each component in the case the disk has when the
    /// exact case is not there (backups copied from Windows keep GPMC's spellings, which do
    /// not always match the files'). Stays as given when nothing matches.
    fn resolve(&self, parts: &[String]) -> PathBuf {
        let mut path = self.root.clone();
        for part in parts {
            let exact = path.join(part);
            if std::fs::symlink_metadata(&exact).is_ok() {
                path = exact;
                continue;
            }
            let matches: Vec<PathBuf> = std::fs::read_dir(&path)
                .map(|entries| {
                    entries
                        .flatten()
                        .filter(|e| e.file_name().to_string_lossy().eq_ignore_ascii_case(part))
                        .map(|e| e.path())
                        .collect()
                })
                .unwrap_or_default();
            path = match <[PathBuf; 1]>::try_from(matches) {
                Ok([only]) => only,
                Err(_) => exact,
            };
        }
        path
    }

    /// How a file of the instance is named in messages: its full path.
    fn label(&self, relative: &str) -> String {
        self.root.join(relative).display().to_string()
    }

    fn malformed(&self, file: &str, e: impl std::fmt::Display) -> InstanceProblem {
        InstanceProblem::Malformed { file: self.label(file), reason: format!("truncated or malformed: {e}") }
    }

    fn inconsistent(&self, file: &str, reason: String) -> InstanceProblem {
        InstanceProblem::Inconsistent { file: self.label(file), reason }
    }

    fn exists(&self, name: &str) -> Result<bool, InstanceProblem> {
        match std::fs::symlink_metadata(self.root.join(name)) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(InstanceProblem::Unreadable { file: self.label(name), reason: e.to_string() }),
        }
    }

    fn read(&self, name: &str, why_needed: &str) -> Result<Vec<u8>, InstanceProblem> {
        self.read_location(&[name.to_string()], why_needed)
    }

    /// Reads the file at `parts` below the instance folder; a symlink (anywhere on the way)
    /// that resolves outside the folder is refused.
    fn read_location(&self, parts: &[String], why_needed: &str) -> Result<Vec<u8>, InstanceProblem> {
        let relative = parts.join("/");
        let path = self.resolve(parts);
        let file = self.label(&relative);
        let resolved = std::fs::canonicalize(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                InstanceProblem::Missing { file: file.clone(), reason: why_needed.to_string() }
            }
            _ => InstanceProblem::Unreadable { file: file.clone(), reason: e.to_string() },
        })?;
        if !resolved.starts_with(&self.canonical_root) {
            return Err(InstanceProblem::UnsafePath {
                file: file.clone(),
                path: resolved.display().to_string(),
                reason: "is where a symlink leads, outside the instance folder".into(),
            });
        }
        let meta = std::fs::metadata(&resolved)
            .map_err(|e| InstanceProblem::Unreadable { file: file.clone(), reason: e.to_string() })?;
        if !meta.is_file() {
            return Err(InstanceProblem::Unreadable { file, reason: "it is not a file".into() });
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(InstanceProblem::Unreadable {
                file,
                reason: format!("{} bytes is more than any GPO file holds ({MAX_FILE_BYTES} at most)", meta.len()),
            });
        }
        std::fs::read(&resolved).map_err(|e| InstanceProblem::Unreadable { file, reason: e.to_string() })
    }
}
