//! `Backup.xml`: what GPMC records about a GPO in a backup instance — its AD attributes, the
//! principals it references, and which SYSVOL files belong to which client-side extension.
//!
//! The file GPMC writes is UTF-8 without BOM, values in CDATA, and a fixed layout that comes
//! from a template inside GPMC: the Registry extension block, then nine template slots each
//! holding either an extension block or a blank line of indentation, then the catch-all
//! "Unknown Extension" block on one line. [`BackupXml::to_bytes`] reproduces that layout; every
//! GPMC backup in the test fixtures comes back byte for byte after parse and write.
//!
//! What was established from real GPMC backups (fixtures, public repositories, and the survey
//! in docs/GPMC-FORMAT-NOTES.md):
//! * `bkp:ReEvaluateFunction` is `SecurityValidateSettings` on GptTmpl.inf,
//!   `ScriptsValidatePaths` on scripts.ini (not on psscripts.ini) and `FRValidateSettings` on
//!   the Folder Redirection wildcard.
//! * Group Policy Preferences files, comment.cmtx, GPO.cmt, audit.csv and every file of an
//!   extension the GPO does not list go to the "Unknown Extension" block
//!   (`{F15C46CD-82A0-4C2D-A210-5D0D3182A418}`), which copies them as plain files.
//! * The Software Installation block holds the class store from AD as `<DSObject>` elements
//!   ([`class_store`]).
//! * `<FilePaths>` is empty unless a path-validating hook found UNC paths ([`file_paths`]).
//! * GPMC writes CRLF; a file that went through git with LF is written back with LF.

mod class_store;
mod entries;
mod file_paths;
mod layout;

pub use class_store::{
    CLASS_STORE_ATTRIBUTES, ClassStore, ClassStoreSource, DsAttribute, DsAttributeKind, DsContent, DsObject,
    PACKAGE_ATTRIBUTES, Package, class_store_objects, class_stores_from_directory, ds_path_vars, expand_ds_path,
};
pub use entries::{GpoFileEntry, build_extension_blocks, gpmc_source_root};
pub use file_paths::gpmc_file_paths;

use super::error::{FormatError, Problem};
use super::text::{LineEnding, decode_utf8_or_utf16};
use super::xml::{self, Element, Node, XmlOut};
use crate::model::{
    DirectoryObject, ExtensionList, Gpo, GpoFlags, GpoId, ParseIdError, SecurityDescriptor, SecurityDescriptorError,
    Version,
};

pub const FILE_NAME: &str = "Backup.xml";
pub const BACKUP_NAMESPACE: &str = "http://www.microsoft.com/GroupPolicy/GPOOperations";
const COPYRIGHT: &str = " Copyright (c) Microsoft Corporation.  All rights reserved. ";

/// `bkp:ID`s of the extension blocks gpvault knows, spelled exactly as GPMC writes them.
pub mod extension_ids {
    pub const REGISTRY: &str = "{35378EAC-683F-11D2-A89A-00C04FBBCFA2}";
    /// GPMC writes this GUID with `11d2` in lower case; copied as is.
    pub const SCRIPTS: &str = "{42B5FAAE-6536-11d2-AE5A-0000F87571E3}";
    pub const SECURITY: &str = "{827D319E-6EAC-11D2-A4EA-00C04F79F83A}";
    pub const FOLDER_REDIRECTION: &str = "{25537BA6-77A8-11D2-9B6C-0000F8080861}";
    /// GPMC writes this one all in lower case.
    pub const SOFTWARE_INSTALLATION: &str = "{c6dc5466-785a-11d2-84d0-00c04fb169f7}";
    /// The catch-all block: files no extension claims are copied as plain files.
    pub const UNKNOWN_EXTENSION: &str = "{F15C46CD-82A0-4C2D-A210-5D0D3182A418}";
}

/// Values of `bkp:ReEvaluateFunction`: the GPMC routine run on the file at restore/import time
/// (where the migration table is applied).
pub mod re_evaluate {
    pub const SECURITY: &str = "SecurityValidateSettings";
    pub const SCRIPTS: &str = "ScriptsValidatePaths";
    pub const FOLDER_REDIRECTION: &str = "FRValidateSettings";
    pub const SOFTWARE_INSTALLATION_PACKAGE: &str = super::class_store::SI_PROCESS_PACKAGE;
    pub const SOFTWARE_INSTALLATION_ALL_PACKAGES: &str = super::class_store::SI_PROCESS_ALL_PACKAGES;
}

/// The variables `bkp:Path` starts with.
pub mod path_vars {
    pub const GPO: &str = "%GPO_FSPATH%";
    pub const MACHINE: &str = "%GPO_MACH_FSPATH%";
    pub const USER: &str = "%GPO_USER_FSPATH%";
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupXml {
    pub security_groups: Vec<SecurityPrincipal>,
    /// Children of `<FilePaths>` (UNC paths referenced by settings), kept verbatim.
    pub file_paths: Vec<Element>,
    pub core: CoreSettings,
    /// In document order: Registry, the template extensions, then "Unknown Extension".
    pub extensions: Vec<ExtensionBlock>,
    /// CRLF as GPMC writes it, or LF when the file read had LF line ends.
    pub line_ending: LineEnding,
}

/// The element a principal is written as. GPMC writes `<Group>` for users too (with
/// `<Type>User</Type>`, seen in real backups); `<User>` is accepted on reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalTag {
    Group,
    User,
}

/// A `<Group>` (or `<User>`) under `<SecurityGroups>`: a principal from the GPO's DACL
/// (`bkp:Source="FromDACL"`) or one named in its settings (no source; often only a name).
/// Values are `None` where GPMC writes an empty element.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecurityPrincipal {
    /// `None` is written as `<Group>`.
    pub tag: Option<PrincipalTag>,
    /// `bkp:Source`, e.g. `FromDACL`.
    pub source: Option<String>,
    pub sid: Option<String>,
    pub sam_account_name: Option<String>,
    /// `UniversalGroup`, `GlobalGroup`, `LocalGroup`, `User`, `Computer`, `Unknown`...
    pub account_type: Option<String>,
    pub netbios_domain_name: Option<String>,
    pub dns_domain_name: Option<String>,
    /// GPMC writes `name@dns.domain` here, also for groups.
    pub upn: Option<String>,
}

pub const SOURCE_FROM_DACL: &str = "FromDACL";

/// `<GroupPolicyCoreSettings>`: the GPO's AD attributes. Text values are kept as written
/// (`None` = GPMC's empty element); the methods below interpret them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreSettings {
    /// `{GUID}` of the GPO.
    pub id: String,
    pub domain: Option<String>,
    /// The self-relative security descriptor (written as space-separated lower-case hex).
    pub security_descriptor: Option<Vec<u8>>,
    pub display_name: Option<String>,
    /// The GPO's `flags` attribute, decimal.
    pub options: Option<String>,
    /// `(AD version << 16) | SYSVOL version` of the user half, decimal (see [`SideVersion`]).
    pub user_version_number: Option<String>,
    pub machine_version_number: Option<String>,
    /// gPCMachineExtensionNames as stored (GPMC keeps even a lone space).
    pub machine_extension_guids: Option<String>,
    pub user_extension_guids: Option<String>,
    /// `MSFT_SomFilter.ID="{GUID}",Domain="dns.domain"` when a WMI filter is linked.
    pub wmi_filter: Option<String>,
    /// Written only when present (GPMC adds it with the filter).
    pub wmi_filter_name: Option<String>,
    /// Elements gpvault does not know, written back after the known ones.
    pub other: Vec<Element>,
}

/// One half's version as GPMC records it in Backup.xml: the AD (groupPolicyContainer) and
/// SYSVOL (GPT.INI) counters of that half packed into one number. Every backup examined has
/// both counters equal, so which one GPMC puts in the high word is not established; gpvault
/// puts the AD one there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SideVersion {
    pub directory: u16,
    pub sysvol: u16,
}

impl SideVersion {
    pub fn from_backup_number(raw: u32) -> Self {
        SideVersion { directory: (raw >> 16) as u16, sysvol: (raw & 0xFFFF) as u16 }
    }
    pub fn backup_number(self) -> u32 {
        ((self.directory as u32) << 16) | self.sysvol as u32
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtensionBlock {
    /// `bkp:ID`, exactly as written.
    pub id: String,
    /// `bkp:DescName`: "Registry", "Security", "Scripts", "Unknown Extension"...
    pub desc_name: String,
    pub items: Vec<ExtensionItem>,
    /// Attributes other than `bkp:ID` and `bkp:DescName`, kept in order.
    pub extra_attributes: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtensionItem {
    Object(FsObject),
    /// A directory object (the Software Installation class store).
    Directory(DsObject),
    /// Any other element found in an extension block, kept verbatim.
    Other(Element),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FsObjectKind {
    File,
    Dir,
}

impl FsObjectKind {
    pub fn element_name(self) -> &'static str {
        match self {
            FsObjectKind::File => "FSObjectFile",
            FsObjectKind::Dir => "FSObjectDir",
        }
    }
}

/// An `<FSObjectFile>` or `<FSObjectDir>`: one SYSVOL file or folder and where the backup
/// holds it. Wildcard entries (`...\Scripts\Startup\*`) carry no location and list what they
/// matched as children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsObject {
    pub kind: FsObjectKind,
    /// `bkp:Path`, e.g. `%GPO_MACH_FSPATH%\registry.pol`.
    pub path: String,
    /// `bkp:SourceExpandedPath`: the UNC path it was read from.
    pub source_expanded_path: Option<String>,
    /// `bkp:ReEvaluateFunction`.
    pub re_evaluate_function: Option<String>,
    /// `bkp:Location`: where it is inside the backup folder (`DomainSysvol\GPO\Machine\...`).
    pub location: Option<String>,
    pub extra_attributes: Vec<(String, String)>,
    pub children: Vec<ExtensionItem>,
}

impl FsObject {
    pub fn new(kind: FsObjectKind, path: impl Into<String>) -> Self {
        FsObject {
            kind,
            path: path.into(),
            source_expanded_path: None,
            re_evaluate_function: None,
            location: None,
            extra_attributes: Vec::new(),
            children: Vec::new(),
        }
    }

    /// This object and every object nested in it, depth first.
    pub fn walk(&self) -> Vec<&FsObject> {
        let mut out = vec![self];
        for child in &self.children {
            if let ExtensionItem::Object(o) = child {
                out.extend(o.walk());
            }
        }
        out
    }
}

impl ExtensionBlock {
    /// Every file or folder entry in the block, nested ones included (a package's `.aas` too).
    pub fn objects(&self) -> Vec<&FsObject> {
        self.items
            .iter()
            .flat_map(|i| match i {
                ExtensionItem::Object(o) => o.walk(),
                ExtensionItem::Directory(d) => d.walk().into_iter().flat_map(|o| o.files()).collect(),
                ExtensionItem::Other(_) => Vec::new(),
            })
            .collect()
    }

    /// The top-level directory objects of the block (class stores).
    pub fn directory_objects(&self) -> Vec<&DsObject> {
        self.items
            .iter()
            .filter_map(|i| match i {
                ExtensionItem::Directory(d) => Some(d),
                _ => None,
            })
            .collect()
    }
}

impl BackupXml {
    /// The Software Installation class stores, machine and user, in document order.
    pub fn class_stores(&self) -> Vec<ClassStore<'_>> {
        self.extensions
            .iter()
            .flat_map(|b| b.directory_objects())
            .filter(|o| o.object_class.eq_ignore_ascii_case(class_store::CLASS_STORE_CLASS))
            .filter_map(|object| object.side().map(|side| ClassStore { side, object }))
            .collect()
    }

    /// Whether the backup holds a class store: bkupInfo.xml's and manifest.xml's `SIPresent`.
    pub fn has_class_store(&self) -> bool {
        !self.class_stores().is_empty()
    }

    /// The directory objects to create below the GPO `gpo_dn` on restore ([`class_store_objects`]).
    pub fn class_store_objects(&self, gpo_dn: &str) -> Vec<DirectoryObject> {
        class_store_objects(self, gpo_dn)
    }

    /// The `<Path>` values of `<FilePaths>`.
    pub fn file_path_values(&self) -> Vec<String> {
        self.file_paths.iter().filter(|e| e.local_name() == "Path").map(Element::text).collect()
    }
}

impl CoreSettings {
    /// The core settings GPMC records for `gpo` in `domain` (its DNS name).
    ///
    /// `sysvol_version` is GPT.INI's version: GPMC records the AD and SYSVOL counters of each
    /// half; when it is unknown the AD counters stand for both. `wmi_filter_name` is the name of
    /// the filter `gpo.wmi_filter_link` points to. The security descriptor is reduced to its
    /// DACL, as GPMC stores it.
    pub fn from_gpo(gpo: &Gpo, domain: &str, sysvol_version: Option<Version>, wmi_filter_name: Option<&str>) -> Self {
        let sysvol = sysvol_version.unwrap_or(gpo.version);
        let side = |directory: u16, sysvol: u16| Some(SideVersion { directory, sysvol }.backup_number().to_string());
        let extensions = |list: &ExtensionList| Some(list.raw.clone()).filter(|r| !r.is_empty());
        let wmi_filter = gpo.wmi_filter_id().map(|id| {
            let link = gpo.wmi_filter_link.as_deref().unwrap_or_default();
            let filter_domain = link.trim().trim_start_matches('[').split(';').next().unwrap_or(domain);
            format_wmi_filter(&id, if filter_domain.is_empty() { domain } else { filter_domain })
        });
        CoreSettings {
            id: gpo.id.to_string(),
            domain: Some(domain.to_string()),
            security_descriptor: gpo.security_descriptor.as_ref().and_then(|sd| dacl_only_security_descriptor(&sd.raw)),
            display_name: Some(gpo.display_name.clone()),
            options: Some(gpo.flags.0.to_string()),
            user_version_number: side(gpo.version.user, sysvol.user),
            machine_version_number: side(gpo.version.machine, sysvol.machine),
            machine_extension_guids: extensions(&gpo.machine_extensions),
            user_extension_guids: extensions(&gpo.user_extensions),
            wmi_filter_name: wmi_filter.as_ref().and(wmi_filter_name).map(str::to_string),
            wmi_filter,
            other: Vec::new(),
        }
    }

    pub fn gpo_id(&self) -> Result<GpoId, ParseIdError> {
        self.id.parse()
    }

    pub fn flags(&self) -> Option<GpoFlags> {
        self.options.as_deref()?.trim().parse().ok().map(GpoFlags)
    }

    pub fn user_version(&self) -> Option<SideVersion> {
        parse_version(self.user_version_number.as_deref())
    }

    pub fn machine_version(&self) -> Option<SideVersion> {
        parse_version(self.machine_version_number.as_deref())
    }

    pub fn machine_extensions(&self) -> ExtensionList {
        ExtensionList::parse(self.machine_extension_guids.as_deref().unwrap_or(""))
    }

    pub fn user_extensions(&self) -> ExtensionList {
        ExtensionList::parse(self.user_extension_guids.as_deref().unwrap_or(""))
    }

    /// The `{GUID}` of the linked WMI filter.
    pub fn wmi_filter_id(&self) -> Option<String> {
        let text = self.wmi_filter.as_deref()?;
        let start = text.find("ID=\"")? + 4;
        let end = start + text[start..].find('"')?;
        Some(text[start..end].to_string())
    }

    pub fn parsed_security_descriptor(&self) -> Option<Result<SecurityDescriptor, SecurityDescriptorError>> {
        self.security_descriptor.as_deref().map(SecurityDescriptor::from_bytes)
    }
}

fn parse_version(text: Option<&str>) -> Option<SideVersion> {
    text?.trim().parse::<u32>().ok().map(SideVersion::from_backup_number)
}

/// `MSFT_SomFilter.ID="{GUID}",Domain="dns.domain"`, as GPMC records a linked WMI filter.
pub fn format_wmi_filter(filter_id: &str, domain: &str) -> String {
    format!("MSFT_SomFilter.ID=\"{filter_id}\",Domain=\"{domain}\"")
}

/// The security descriptor as GPMC stores it in Backup.xml: self-relative, the DACL only, the
/// control bits kept except those about the owner, group and SACL (an AD descriptor with
/// control `0x9c14` becomes `0x9c04`, as in every GPMC backup). `None` if `sd` is not a
/// well-formed self-relative descriptor.
pub fn dacl_only_security_descriptor(sd: &[u8]) -> Option<Vec<u8>> {
    const OWNER_DEFAULTED: u16 = 0x0001;
    const GROUP_DEFAULTED: u16 = 0x0002;
    const DACL_PRESENT: u16 = 0x0004;
    const SACL_PRESENT: u16 = 0x0010;
    const SACL_DEFAULTED: u16 = 0x0020;
    const SELF_RELATIVE: u16 = 0x8000;
    let header = sd.get(..20)?;
    if header[0] != 1 {
        return None;
    }
    let control = u16::from_le_bytes([header[2], header[3]]);
    let dacl_offset = u32::from_le_bytes([header[16], header[17], header[18], header[19]]) as usize;
    let mut control = (control & !(OWNER_DEFAULTED | GROUP_DEFAULTED | SACL_PRESENT | SACL_DEFAULTED)) | SELF_RELATIVE;
    let dacl = if control & DACL_PRESENT != 0 && dacl_offset != 0 {
        let acl_header = sd.get(dacl_offset..dacl_offset.checked_add(8)?)?;
        let size = u16::from_le_bytes([acl_header[2], acl_header[3]]) as usize;
        if size < 8 {
            return None;
        }
        Some(sd.get(dacl_offset..dacl_offset + size)?)
    } else {
        control &= !DACL_PRESENT;
        None
    };
    let mut out = vec![1, 0];
    out.extend_from_slice(&control.to_le_bytes());
    out.extend_from_slice(&[0; 12]); // no owner, group or SACL
    out.extend_from_slice(&(if dacl.is_some() { 20u32 } else { 0 }).to_le_bytes());
    out.extend_from_slice(dacl.unwrap_or_default());
    Some(out)
}

/// `01 00 04 9c ...`: the hex dump GPMC writes for the security descriptor.
pub fn format_security_descriptor(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn parse_security_descriptor(text: &str) -> Result<Option<Vec<u8>>, String> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.is_empty() {
        return Ok(None);
    }
    hex::decode(&digits).map(Some).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Reading

struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    fn err(&self, at: &str, problem: Problem) -> FormatError {
        FormatError::new(self.file, Some(at.to_string()), problem)
    }

    fn unexpected(&self, at: &str, found: &Element, expected: &str) -> FormatError {
        self.err(at, Problem::UnexpectedElement { found: found.name.clone(), expected: expected.into() })
    }

    /// Child elements, refusing non-whitespace text between them.
    fn elements<'e>(&self, at: &str, element: &'e Element) -> Result<Vec<&'e Element>, FormatError> {
        let mut out = Vec::new();
        for node in &element.children {
            match node {
                Node::Element(e) => out.push(e),
                Node::Text(t) if xml::is_whitespace(t) => {}
                Node::Comment(_) => {}
                Node::Text(t) | Node::CData(t) => {
                    return Err(self.err(at, Problem::UnexpectedText { text: t.clone() }));
                }
            }
        }
        Ok(out)
    }

    /// A leaf value: `None` for `<X/>`, else its text. Nested elements are an error.
    fn value(&self, at: &str, element: &Element) -> Result<Option<String>, FormatError> {
        if let Some(child) = element.elements().next() {
            return Err(self.unexpected(&format!("{at}/{}", element.name), child, "text"));
        }
        Ok(element.optional_text())
    }
}

fn set_once(ctx: &Ctx<'_>, at: &str, slot: &mut Option<Option<String>>, element: &Element) -> Result<(), FormatError> {
    if slot.is_some() {
        return Err(ctx.err(
            &format!("{at}/{}", element.name),
            Problem::InvalidValue { value: element.text(), reason: "the element appears twice".into() },
        ));
    }
    *slot = Some(ctx.value(at, element)?);
    Ok(())
}

impl BackupXml {
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let text = decode_utf8_or_utf16(bytes, FILE_NAME)?;
        let doc = xml::parse(&text, FILE_NAME)?;
        let mut backup = Self::from_document(&doc.root, &Ctx { file: FILE_NAME })?;
        backup.line_ending = LineEnding::of(&text);
        Ok(backup)
    }

    fn from_document(root: &Element, ctx: &Ctx<'_>) -> Result<Self, FormatError> {
        if root.local_name() != "GroupPolicyBackupScheme" {
            return Err(ctx.unexpected("", root, "<GroupPolicyBackupScheme>"));
        }
        if root.attr("xmlns") != Some(BACKUP_NAMESPACE) {
            return Err(ctx.err(
                "GroupPolicyBackupScheme",
                Problem::InvalidValue {
                    value: root.attr("xmlns").unwrap_or_default().to_string(),
                    reason: format!("the namespace must be {BACKUP_NAMESPACE}"),
                },
            ));
        }
        let children = ctx.elements("GroupPolicyBackupScheme", root)?;
        let gpo = match children.as_slice() {
            [] => {
                return Err(
                    ctx.err("GroupPolicyBackupScheme", Problem::MissingElement { name: "GroupPolicyObject".into() })
                );
            }
            [first, ..] if first.local_name() != "GroupPolicyObject" => {
                return Err(ctx.unexpected("GroupPolicyBackupScheme", first, "<GroupPolicyObject>"));
            }
            [gpo] => *gpo,
            [_, second, ..] => {
                return Err(ctx.unexpected("GroupPolicyBackupScheme", second, "nothing more"));
            }
        };

        let at = "GroupPolicyObject";
        let mut security_groups = None;
        let mut file_paths = None;
        let mut core = None;
        let mut extensions = Vec::new();
        for child in ctx.elements(at, gpo)? {
            let child_at = format!("{at}/{}", child.name);
            match child.local_name() {
                "SecurityGroups" if security_groups.is_none() => {
                    let mut list = Vec::new();
                    for principal in ctx.elements(&child_at, child)? {
                        list.push(parse_principal(ctx, &child_at, principal)?);
                    }
                    security_groups = Some(list);
                }
                "FilePaths" if file_paths.is_none() => {
                    file_paths = Some(ctx.elements(&child_at, child)?.into_iter().cloned().collect());
                }
                "GroupPolicyCoreSettings" if core.is_none() => {
                    core = Some(parse_core(ctx, &child_at, child)?);
                }
                "GroupPolicyExtension" => extensions.push(parse_extension(ctx, &child_at, child)?),
                _ => {
                    return Err(ctx.unexpected(
                        at,
                        child,
                        "<SecurityGroups>, <FilePaths>, <GroupPolicyCoreSettings> or <GroupPolicyExtension>",
                    ));
                }
            }
        }
        let core =
            core.ok_or_else(|| ctx.err(at, Problem::MissingElement { name: "GroupPolicyCoreSettings".into() }))?;
        Ok(BackupXml {
            security_groups: security_groups.unwrap_or_default(),
            file_paths: file_paths.unwrap_or_default(),
            core,
            extensions,
            line_ending: LineEnding::Crlf,
        })
    }
}

fn parse_principal(ctx: &Ctx<'_>, at: &str, element: &Element) -> Result<SecurityPrincipal, FormatError> {
    let tag = match element.local_name() {
        "Group" => PrincipalTag::Group,
        "User" => PrincipalTag::User,
        _ => return Err(ctx.unexpected(at, element, "<Group> or <User>")),
    };
    let at = format!("{at}/{}", element.name);
    let mut fields: [Option<Option<String>>; 6] = Default::default();
    const NAMES: [&str; 6] = ["Sid", "SamAccountName", "Type", "NetBIOSDomainName", "DnsDomainName", "UPN"];
    for child in ctx.elements(&at, element)? {
        let index = NAMES
            .iter()
            .position(|n| *n == child.local_name())
            .ok_or_else(|| ctx.unexpected(&at, child, &format!("one of {}", NAMES.join(", "))))?;
        set_once(ctx, &at, &mut fields[index], child)?;
    }
    let [sid, sam, kind, netbios, dns, upn] = fields.map(Option::flatten);
    Ok(SecurityPrincipal {
        tag: Some(tag),
        source: element.attr("bkp:Source").map(str::to_string),
        sid,
        sam_account_name: sam,
        account_type: kind,
        netbios_domain_name: netbios,
        dns_domain_name: dns,
        upn,
    })
}

const CORE_FIELDS: [&str; 11] = [
    "ID",
    "Domain",
    "SecurityDescriptor",
    "DisplayName",
    "Options",
    "UserVersionNumber",
    "MachineVersionNumber",
    "MachineExtensionGuids",
    "UserExtensionGuids",
    "WMIFilter",
    "WMIFilterName",
];

fn parse_core(ctx: &Ctx<'_>, at: &str, element: &Element) -> Result<CoreSettings, FormatError> {
    let mut fields: [Option<Option<String>>; 11] = Default::default();
    let mut other = Vec::new();
    for child in ctx.elements(at, element)? {
        match CORE_FIELDS.iter().position(|n| *n == child.local_name()) {
            Some(index) => set_once(ctx, at, &mut fields[index], child)?,
            None => other.push(child.clone()),
        }
    }
    let [id, domain, sd, display_name, options, user_v, machine_v, machine_ext, user_ext, wmi, wmi_name] = fields;
    let id = id.flatten().ok_or_else(|| ctx.err(at, Problem::MissingElement { name: "ID".into() }))?;
    let sd_text = sd.flatten().unwrap_or_default();
    let security_descriptor = parse_security_descriptor(&sd_text).map_err(|reason| {
        ctx.err(
            &format!("{at}/SecurityDescriptor"),
            Problem::InvalidValue {
                value: sd_text.clone(),
                reason: format!("expected hex bytes separated by spaces ({reason})"),
            },
        )
    })?;
    Ok(CoreSettings {
        id,
        domain: domain.flatten(),
        security_descriptor,
        display_name: display_name.flatten(),
        options: options.flatten(),
        user_version_number: user_v.flatten(),
        machine_version_number: machine_v.flatten(),
        machine_extension_guids: machine_ext.flatten(),
        user_extension_guids: user_ext.flatten(),
        wmi_filter: wmi.flatten(),
        wmi_filter_name: wmi_name.flatten(),
        other,
    })
}

fn parse_extension(ctx: &Ctx<'_>, at: &str, element: &Element) -> Result<ExtensionBlock, FormatError> {
    let id = element.attr("bkp:ID").ok_or_else(|| {
        ctx.err(at, Problem::InvalidValue { value: String::new(), reason: "the bkp:ID attribute is missing".into() })
    })?;
    let at = format!("{at}[{id}]");
    let extra_attributes =
        element.attributes.iter().filter(|(k, _)| k != "bkp:ID" && k != "bkp:DescName").cloned().collect();
    Ok(ExtensionBlock {
        id: id.to_string(),
        desc_name: element.attr("bkp:DescName").unwrap_or_default().to_string(),
        items: parse_items(ctx, &at, element)?,
        extra_attributes,
    })
}

fn parse_items(ctx: &Ctx<'_>, at: &str, element: &Element) -> Result<Vec<ExtensionItem>, FormatError> {
    let mut items = Vec::new();
    for child in ctx.elements(at, element)? {
        items.push(match child.local_name() {
            "FSObjectFile" => ExtensionItem::Object(parse_fs_object(ctx, at, child, FsObjectKind::File)?),
            "FSObjectDir" => ExtensionItem::Object(parse_fs_object(ctx, at, child, FsObjectKind::Dir)?),
            "DSObject" => ExtensionItem::Directory(class_store::parse_ds_object(ctx, at, child)?),
            _ => ExtensionItem::Other(child.clone()),
        });
    }
    Ok(items)
}

fn parse_fs_object(ctx: &Ctx<'_>, at: &str, child: &Element, kind: FsObjectKind) -> Result<FsObject, FormatError> {
    let child_at = format!("{at}/{}", child.name);
    let path = child.attr("bkp:Path").ok_or_else(|| {
        ctx.err(
            &child_at,
            Problem::InvalidValue { value: String::new(), reason: "the bkp:Path attribute is missing".into() },
        )
    })?;
    let known = ["bkp:Path", "bkp:SourceExpandedPath", "bkp:ReEvaluateFunction", "bkp:Location"];
    Ok(FsObject {
        kind,
        path: path.to_string(),
        source_expanded_path: child.attr("bkp:SourceExpandedPath").map(str::to_string),
        re_evaluate_function: child.attr("bkp:ReEvaluateFunction").map(str::to_string),
        location: child.attr("bkp:Location").map(str::to_string),
        extra_attributes: child.attributes.iter().filter(|(k, _)| !known.contains(&k.as_str())).cloned().collect(),
        children: parse_items(ctx, &child_at, child)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Writing

impl BackupXml {
    /// The file as GPMC writes it: UTF-8 without BOM, CRLF line ends, GPMC's template layout,
    /// no newline after the last line.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_xml_string().into_bytes()
    }

    pub fn to_xml_string(&self) -> String {
        let nl = self.line_ending.as_str();
        let mut out = XmlOut::new();
        out.declaration("utf-8");
        out.comment(COPYRIGHT);
        out.start(
            "GroupPolicyBackupScheme",
            &[
                ("bkp:version", "2.0"),
                ("bkp:type", "GroupPolicyBackupTemplate"),
                ("xmlns:bkp", BACKUP_NAMESPACE),
                ("xmlns", BACKUP_NAMESPACE),
            ],
        );
        out.raw(nl);
        out.raw("    ");
        out.start("GroupPolicyObject", &[]);
        self.write_security_groups(&mut out);
        if self.file_paths.is_empty() {
            out.empty("FilePaths", &[]);
        } else {
            out.start("FilePaths", &[]);
            for path in &self.file_paths {
                out.element(path);
            }
            out.end("FilePaths");
        }
        self.core.write(&mut out);
        out.raw(" ");
        out.raw(nl);
        layout::write_extensions(&mut out, &self.extensions, nl);
        out.end("GroupPolicyObject");
        out.raw(nl);
        out.end("GroupPolicyBackupScheme");
        out.into_string()
    }

    fn write_security_groups(&self, out: &mut XmlOut) {
        if self.security_groups.is_empty() {
            out.empty("SecurityGroups", &[]);
            return;
        }
        out.start("SecurityGroups", &[]);
        for p in &self.security_groups {
            let tag = match p.tag {
                Some(PrincipalTag::User) => "User",
                Some(PrincipalTag::Group) | None => "Group",
            };
            match &p.source {
                Some(source) => out.start(tag, &[("bkp:Source", source)]),
                None => out.start(tag, &[]),
            }
            out.cdata_element("Sid", p.sid.as_deref());
            out.cdata_element("SamAccountName", p.sam_account_name.as_deref());
            out.cdata_element("Type", p.account_type.as_deref());
            out.cdata_element("NetBIOSDomainName", p.netbios_domain_name.as_deref());
            out.cdata_element("DnsDomainName", p.dns_domain_name.as_deref());
            out.cdata_element("UPN", p.upn.as_deref());
            out.end(tag);
        }
        out.end("SecurityGroups");
    }
}

impl CoreSettings {
    fn write(&self, out: &mut XmlOut) {
        out.start("GroupPolicyCoreSettings", &[]);
        out.cdata_element("ID", Some(&self.id));
        out.cdata_element("Domain", self.domain.as_deref());
        match &self.security_descriptor {
            Some(bytes) => {
                out.start("SecurityDescriptor", &[]);
                out.text(&format_security_descriptor(bytes));
                out.end("SecurityDescriptor");
            }
            None => out.empty("SecurityDescriptor", &[]),
        }
        out.cdata_element("DisplayName", self.display_name.as_deref());
        out.cdata_element("Options", self.options.as_deref());
        out.cdata_element("UserVersionNumber", self.user_version_number.as_deref());
        out.cdata_element("MachineVersionNumber", self.machine_version_number.as_deref());
        out.cdata_element("MachineExtensionGuids", self.machine_extension_guids.as_deref());
        out.cdata_element("UserExtensionGuids", self.user_extension_guids.as_deref());
        out.cdata_element("WMIFilter", self.wmi_filter.as_deref());
        if let Some(name) = &self.wmi_filter_name {
            out.cdata_element("WMIFilterName", Some(name));
        }
        for other in &self.other {
            out.element(other);
        }
        out.end("GroupPolicyCoreSettings");
    }
}

/// Writes one item of an extension block from its start tag on. `nl` ends the lines of
/// multi-line items (class stores).
pub(crate) fn write_item(out: &mut XmlOut, item: &ExtensionItem, nl: &str) {
    match item {
        ExtensionItem::Other(element) => out.element(element),
        ExtensionItem::Object(o) => write_fs_object(out, o, nl),
        ExtensionItem::Directory(d) => class_store::write_ds_object(out, d, class_store::CLASS_STORE_DEPTH, nl),
    }
}

fn write_fs_object(out: &mut XmlOut, o: &FsObject, nl: &str) {
    let mut attrs: Vec<(&str, &str)> = vec![("bkp:Path", &o.path)];
    if let Some(v) = &o.source_expanded_path {
        attrs.push(("bkp:SourceExpandedPath", v));
    }
    if let Some(v) = &o.re_evaluate_function {
        attrs.push(("bkp:ReEvaluateFunction", v));
    }
    if let Some(v) = &o.location {
        attrs.push(("bkp:Location", v));
    }
    attrs.extend(o.extra_attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let name = o.kind.element_name();
    if o.children.is_empty() {
        out.empty(name, &attrs);
    } else {
        out.start(name, &attrs);
        for child in &o.children {
            write_item(out, child, nl);
        }
        out.end(name);
    }
}

#[cfg(test)]
mod tests;
