//! Everything a GPO refers to outside itself, gathered once for populating a migration table,
//! applying one, and listing Backup.xml's SecurityGroups: the principals and UNC paths of its
//! settings files (through each reader's `references()`), of its software installation
//! packages (msiFileList, the package's security descriptor, the `.aas` advertise scripts) and
//! of its own security descriptor.

use std::collections::BTreeSet;

use crate::formats::FormatError;
use crate::formats::references::{Reference, ReferenceKind, find_unc_paths};
use crate::formats::settings_file::SettingsFile;
use crate::migrate::table::{PrincipalRef, UncPath, eq_ignore_case};
use crate::model::{AttributeValue, DirectoryObject, GpoFolder, SecurityDescriptor, Sid};

/// Where a reference was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Origin {
    /// A settings file of the GPO folder, read by its reader (GptTmpl.inf, registry.pol, GPP
    /// XML, fdeploy*.ini, scripts*.ini). `Reference::file` is its path in the folder.
    Settings,
    /// A software installation advertise script (`.aas`), a binary file: read, never rewritten.
    AdvertiseScript,
    /// A class store object below the GPO (a package): `Reference::file` is its DN.
    ClassStore,
    /// The GPO's own security descriptor: `Reference::file` is [`DACL_PLACE`].
    Dacl,
}

/// What `Reference::file` says for the GPO's own security descriptor.
pub const DACL_PLACE: &str = "GPO security descriptor";

/// `Reference::attribute` for each part of a security descriptor.
pub mod sd_part {
    pub const OWNER: &str = "owner";
    pub const GROUP: &str = "group";
    /// An ACE set on the object itself.
    pub const ACE: &str = "ACE";
    /// An ACE the object inherits from its parent.
    pub const INHERITED_ACE: &str = "inherited ACE";
    pub const SACL_ACE: &str = "SACL ACE";
}

/// The attribute of a package that lists its installer files (`0:\\srv\share\app.msi`).
pub const MSI_FILE_LIST: &str = "msiFileList";
const SECURITY_DESCRIPTOR: &str = "nTSecurityDescriptor";

/// One principal or path, where it was found, and what sits beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpoReference {
    pub origin: Origin,
    pub reference: Reference,
    /// For an account name: the SID written beside it (GPP's `name`/`sid` pairs), which says
    /// who the name is even when the name alone could not.
    pub paired_sid: Option<Sid>,
}

impl GpoReference {
    pub(crate) fn new(origin: Origin, reference: Reference) -> Self {
        GpoReference { origin, reference, paired_sid: None }
    }

    pub fn kind(&self) -> ReferenceKind {
        self.reference.kind
    }

    pub fn value(&self) -> &str {
        &self.reference.value
    }

    /// The SID this reference names: its own value, or the SID beside a name.
    pub fn sid(&self) -> Option<Sid> {
        match self.reference.kind {
            ReferenceKind::Sid => self.reference.value.parse().ok(),
            ReferenceKind::AccountName => self.paired_sid.clone(),
            _ => None,
        }
    }

    /// True when moving the GPO to another domain may need this reference mapped: domain
    /// account SIDs (not well-known or BUILTIN ones), names other than local authorities'
    /// (a bare name is free text and counts), UNC paths (unless their server is a variable
    /// such as `%LOGONSERVER%`). Local paths never do.
    pub fn needs_mapping(&self) -> bool {
        match self.reference.kind {
            ReferenceKind::Sid => self.sid().is_some_and(|sid| is_domain_account(&sid)),
            ReferenceKind::AccountName => match &self.paired_sid {
                Some(sid) => is_domain_account(sid),
                None => name_needs_mapping(&self.reference.value),
            },
            ReferenceKind::UncPath => {
                split_unc(&self.reference.value).is_some_and(|(path, _)| !path.server.starts_with('%'))
            }
            ReferenceKind::Path => false,
        }
    }
}

/// True for the SID of an account of a domain (`S-1-5-21-a-b-c-rid`), the SIDs that differ
/// between domains. Well-known SIDs (`S-1-1-0`, `S-1-5-11`...) and BUILTIN ones (`S-1-5-32-*`)
/// are the same everywhere.
pub fn is_domain_account(sid: &Sid) -> bool {
    sid.revision == 1 && sid.authority == 5 && sid.sub_authorities.len() == 5 && sid.sub_authorities[0] == 21
}

/// Names Windows gives its own accounts, the same on every machine: never mapped.
const LOCAL_AUTHORITIES: [&str; 5] = ["BUILTIN", "NT AUTHORITY", "NT SERVICE", "NT VIRTUAL MACHINE", "IIS APPPOOL"];

fn name_needs_mapping(name: &str) -> bool {
    // `%LogonDomain%\%LogonUser%`: Preferences variables, resolved on each client.
    if name.contains('%') {
        return false;
    }
    match PrincipalRef::parse(name) {
        PrincipalRef::DomainName { domain, .. } => !LOCAL_AUTHORITIES.iter().any(|a| eq_ignore_case(a, &domain)),
        PrincipalRef::Upn { .. } | PrincipalRef::Name(_) => !name.trim().is_empty(),
        PrincipalRef::Sid(sid) => is_domain_account(&sid),
        PrincipalRef::Unc(_) => false,
    }
}

/// The UNC path a value starts with, and what follows it: readers offer a whole value that
/// starts with `\\server\share` (a command line with its arguments, `\\srv\s\run.cmd /q`),
/// and the path ends where a character no path can hold begins (`/ : * ? " < > |`), less the
/// white space before it. `None` when the value does not start with a well-formed path.
pub fn split_unc(value: &str) -> Option<(UncPath, &str)> {
    let end = value.find(['/', ':', '*', '?', '"', '<', '>', '|']).unwrap_or(value.len());
    let head = value[..end].trim_end();
    UncPath::parse(head).map(|path| (path, &value[head.len()..]))
}

/// What a GPO refers to, in the order found: settings files in folder order, then the class
/// store, then the security descriptor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GpoReferences {
    pub found: Vec<GpoReference>,
    /// Settings files whose reader refused them: their references are unknown.
    pub unreadable: Vec<FormatError>,
}

impl GpoReferences {
    /// The references of every settings file and advertise script of `folder`.
    pub fn of_folder(folder: &GpoFolder) -> GpoReferences {
        let mut references = GpoReferences::default();
        for (path, bytes) in folder.files() {
            if is_advertise_script(path) {
                references.found.extend(advertise_script_paths(bytes).into_iter().map(|value| {
                    let reference = Reference {
                        kind: ReferenceKind::UncPath,
                        value,
                        file: path.to_string(),
                        at: "advertise script".into(),
                        attribute: String::new(),
                    };
                    GpoReference::new(Origin::AdvertiseScript, reference)
                }));
                continue;
            }
            match SettingsFile::parse(path, bytes) {
                None => {}
                Some(Ok(file)) => references.found.extend(pair_names(file.references())),
                Some(Err(e)) => references.unreadable.push(e),
            }
        }
        references
    }

    /// Adds the references of the class store objects below the GPO: each package's installer
    /// paths and the principals of its security descriptor.
    pub fn add_class_store(&mut self, objects: &[DirectoryObject]) {
        for object in objects {
            let name = attribute_texts(object, "displayName")
                .into_iter()
                .chain(attribute_texts(object, "packageName"))
                .next()
                .unwrap_or_default();
            for entry in attribute_texts(object, MSI_FILE_LIST) {
                let path = msi_file_path(&entry);
                if UncPath::parse(path).is_some() {
                    let reference = Reference {
                        kind: ReferenceKind::UncPath,
                        value: path.to_string(),
                        file: object.dn.clone(),
                        at: name.clone(),
                        attribute: MSI_FILE_LIST.into(),
                    };
                    self.found.push(GpoReference::new(Origin::ClassStore, reference));
                }
            }
            let sd = attribute_bytes(object, SECURITY_DESCRIPTOR).and_then(|b| SecurityDescriptor::from_bytes(&b).ok());
            if let Some(sd) = sd {
                self.found.extend(descriptor_references(&sd, Origin::ClassStore, &object.dn, &name));
            }
        }
    }

    /// Adds the principals of the GPO's own security descriptor.
    pub fn add_dacl(&mut self, sd: &SecurityDescriptor) {
        self.found.extend(descriptor_references(sd, Origin::Dacl, DACL_PLACE, ""));
    }

    /// Distinct domain account SIDs named anywhere (beside names too), in order of first
    /// appearance: what the source domain is asked to name.
    pub fn domain_sids(&self) -> Vec<Sid> {
        let mut out: Vec<Sid> = Vec::new();
        for sid in self.found.iter().filter_map(GpoReference::sid) {
            if is_domain_account(&sid) && !out.contains(&sid) {
                out.push(sid);
            }
        }
        out
    }

    /// Distinct account names with no SID beside them that may need mapping, in order of first
    /// appearance (compared ignoring case): what the source domain is asked to resolve.
    pub fn account_names(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        self.found
            .iter()
            .filter(|r| r.kind() == ReferenceKind::AccountName && r.paired_sid.is_none() && r.needs_mapping())
            .map(|r| r.value().trim().to_string())
            .filter(|name| seen.insert(name.to_lowercase()))
            .collect()
    }
}

fn is_advertise_script(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|name| name.to_ascii_lowercase().ends_with(".aas"))
}

/// `0:\\srv\share\app.msi` → `\\srv\share\app.msi` (the number is the file's index).
pub fn msi_file_path(entry: &str) -> &str {
    match entry.split_once(':') {
        Some((index, path)) if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) => path,
        _ => entry,
    }
}

/// UNC paths in the strings of a binary file: runs of printable UTF-16LE (at either byte
/// alignment) or ASCII characters holding a whole `\\server\share...` path. Random binary data
/// does not form such a run; the package's installer path does.
pub fn advertise_script_paths(bytes: &[u8]) -> Vec<String> {
    let printable = |c: u32| (0x20..0x7F).contains(&c) || (0xA0..0xD800).contains(&c);
    let mut runs: Vec<String> = Vec::new();
    for start in [0, 1] {
        let mut run = String::new();
        for pair in bytes.get(start..).unwrap_or_default().chunks_exact(2) {
            let unit = u32::from(u16::from_le_bytes([pair[0], pair[1]]));
            match char::from_u32(unit).filter(|_| printable(unit)) {
                Some(c) => run.push(c),
                None => runs.push(std::mem::take(&mut run)),
            }
        }
        runs.push(run);
    }
    let mut run = String::new();
    for &byte in bytes {
        if printable(u32::from(byte)) && byte < 0x80 {
            run.push(char::from(byte));
        } else {
            runs.push(std::mem::take(&mut run));
        }
    }
    runs.push(run);
    let mut found: Vec<String> = Vec::new();
    for run in runs.iter().filter(|r| r.starts_with(r"\\")) {
        for range in find_unc_paths(run) {
            let path = &run[range];
            if !found.iter().any(|f| eq_ignore_case(f, path)) {
                found.push(path.to_string());
            }
        }
    }
    found
}

/// Marks each account name with the SID written beside it: the `<x>name` and `<x>sid`
/// attributes of one element (GPP's `name`/`sid`, `groupName`/`groupSid`). Within one item,
/// the references of such a pair of attributes are read in order and a name and a SID next to
/// each other pair up; a name whose SID was left empty (unresolved) stays alone.
fn pair_names(references: Vec<Reference>) -> Vec<GpoReference> {
    let pair_key = |r: &Reference| {
        let lower = r.attribute.to_ascii_lowercase();
        let prefix = match r.kind {
            ReferenceKind::AccountName => lower.strip_suffix("name")?.to_string(),
            ReferenceKind::Sid => lower.strip_suffix("sid")?.to_string(),
            _ => return None,
        };
        Some((r.file.clone(), r.at.clone(), prefix))
    };
    let keys: Vec<_> = references.iter().map(pair_key).collect();
    let mut out: Vec<GpoReference> =
        references.iter().cloned().map(|r| GpoReference::new(Origin::Settings, r)).collect();
    let mut waiting: Vec<(&(String, String, String), usize)> = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        let Some(key) = key else { continue };
        let partner = waiting.iter().position(|(k, _)| *k == key);
        match partner.map(|at| waiting.remove(at)) {
            Some((_, other)) if references[other].kind != references[index].kind => {
                let (name, sid) =
                    if references[index].kind == ReferenceKind::Sid { (other, index) } else { (index, other) };
                out[name].paired_sid = references[sid].value.parse().ok();
            }
            _ => waiting.push((key, index)),
        }
    }
    out
}

fn descriptor_references(sd: &SecurityDescriptor, origin: Origin, place: &str, at: &str) -> Vec<GpoReference> {
    let reference = |sid: &Sid, attribute: &str| {
        GpoReference::new(
            origin,
            Reference {
                kind: ReferenceKind::Sid,
                value: sid.to_string(),
                file: place.to_string(),
                at: at.to_string(),
                attribute: attribute.to_string(),
            },
        )
    };
    let mut out = Vec::new();
    out.extend(sd.owner.iter().map(|sid| reference(sid, sd_part::OWNER)));
    out.extend(sd.group.iter().map(|sid| reference(sid, sd_part::GROUP)));
    for ace in sd.dacl.iter().flat_map(|acl| &acl.aces) {
        let part = if ace.is_inherited() { sd_part::INHERITED_ACE } else { sd_part::ACE };
        out.push(reference(&ace.sid, part));
    }
    out.extend(sd.sacl.iter().flat_map(|acl| &acl.aces).map(|ace| reference(&ace.sid, sd_part::SACL_ACE)));
    out
}

pub(crate) fn attribute_values<'a>(object: &'a DirectoryObject, name: &str) -> &'a [AttributeValue] {
    object.attributes.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map_or(&[], |(_, v)| v.as_slice())
}

pub(crate) fn value_bytes(value: &AttributeValue) -> Option<Vec<u8>> {
    use base64::Engine;
    match value {
        AttributeValue::Text(text) => Some(text.as_bytes().to_vec()),
        AttributeValue::Base64(b64) => base64::engine::general_purpose::STANDARD.decode(b64).ok(),
    }
}

fn attribute_texts(object: &DirectoryObject, name: &str) -> Vec<String> {
    attribute_values(object, name)
        .iter()
        .filter_map(value_bytes)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect()
}

fn attribute_bytes(object: &DirectoryObject, name: &str) -> Option<Vec<u8>> {
    attribute_values(object, name).first().and_then(value_bytes)
}

#[cfg(test)]
pub(crate) mod tests;
