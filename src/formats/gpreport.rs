//! `gpreport.xml`: GPMC's XML report of the GPO at backup time (the `Get-GPOReport -ReportType
//! Xml` document), UTF-16LE with BOM, written by .NET's XmlSerializer: two-space indentation,
//! CRLF, `<X />` for empty elements, no newline after `</GPO>`.
//!
//! GPMC shows it for "View settings" of a backup; restore and import do not read it. gpvault
//! writes the identity, times, security (SDDL, owner, group, permission rows), filter, the two
//! halves (versions, enabled, which extensions hold settings) and the links. Settings detail
//! under each `<Extension>` is out of scope: each extension is written as an empty
//! `<Extension xsi:type=...>` plus its `<Name>`, the shape GPMC uses for an extension without
//! settings. The parser reads the same fields from GPMC's reports and ours.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::error::{FormatError, Problem};
use super::text::{decode_utf8_or_utf16, encode_utf16le_bom};
use super::xml::{self, Element, XmlOut};

pub const FILE_NAME: &str = "gpreport.xml";
pub const SETTINGS_NAMESPACE: &str = "http://www.microsoft.com/GroupPolicy/Settings";
pub const TYPES_NAMESPACE: &str = "http://www.microsoft.com/GroupPolicy/Types";
pub const SECURITY_NAMESPACE: &str = "http://www.microsoft.com/GroupPolicy/Types/Security";
const XSD_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema";
const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The report's content, as written by gpvault or read from GPMC's file. Times are kept as the
/// report text (`2016-12-08T22:14:24`, `ReadTime` with 7 fraction digits and `Z`); see
/// [`report_time`], [`read_time`] and [`report_time_from_ldap`] to make them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GpReport {
    /// `{GUID}` of the GPO.
    pub identifier: String,
    pub domain: String,
    pub name: String,
    pub include_comments: bool,
    /// whenCreated, UTC.
    pub created_time: String,
    /// whenChanged, UTC.
    pub modified_time: String,
    /// When the report was made, UTC with `Z`.
    pub read_time: String,
    pub security: Option<ReportSecurity>,
    pub filter_data_available: bool,
    /// Name of the linked WMI filter.
    pub filter_name: Option<String>,
    pub filter_description: Option<String>,
    pub computer: ReportSide,
    pub user: ReportSide,
    pub links: Vec<ReportLink>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportSecurity {
    pub sddl: String,
    pub owner: Option<Trustee>,
    pub group: Option<Trustee>,
    pub permissions_present: bool,
    pub inherits_from_parent: bool,
    pub permissions: Vec<TrusteePermission>,
    pub auditing_present: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trustee {
    pub sid: String,
    /// `DOMAIN\name` or `NT AUTHORITY\SYSTEM`; absent when the SID did not resolve.
    pub name: Option<String>,
}

/// One row of GPMC's delegation view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrusteePermission {
    pub trustee: Trustee,
    /// `Allow` or `Deny`.
    pub permission_type: String,
    pub inherited: bool,
    pub applicability: Applicability,
    /// GPMC's grouped permission: `Read`, `Apply Group Policy`, `Edit settings`,
    /// `Edit, delete, modify security`...
    pub standard: Option<String>,
    pub access_mask: u32,
}

/// gpreport.xml's `<Applicability>`, shared with the model's delegation view.
pub use crate::model::security::Applicability;

/// `<Computer>` or `<User>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportSide {
    pub version_directory: u32,
    pub version_sysvol: u32,
    pub enabled: bool,
    pub extensions: Vec<ReportExtension>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportExtension {
    /// The report's name for it: `Registry`, `Security`, `Advanced Audit Configuration`...
    pub name: String,
    /// The `xsi:type` of its `<Extension>` element, when known.
    pub settings_type: Option<SettingsType>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsType {
    /// `http://www.microsoft.com/GroupPolicy/Settings/Registry`
    pub namespace: String,
    /// `RegistrySettings`
    pub type_name: String,
}

/// Report names and settings types seen in GPMC reports.
const KNOWN_SETTINGS_TYPES: &[(&str, &str, &str)] = &[
    ("Registry", "Registry", "RegistrySettings"),
    ("Security", "Security", "SecuritySettings"),
    ("Public Key", "PublicKey", "PublicKeySettings"),
    ("Windows Firewall", "WindowsFirewall", "WindowsFirewallSettings"),
    ("Advanced Audit Configuration", "Auditing", "AuditSettings"),
    ("Application Control Policies", "SRPV2", "Policy"),
    ("Scheduled Tasks", "ScheduledTasks", "ScheduledTasksSettings"),
    ("Software Installation", "SoftwareInstallation", "SoftwareInstallationSettings"),
    ("Folder Redirection", "FolderRedirection", "FolderRedirectionSettings"),
];

impl ReportExtension {
    /// An extension by its report name, with the settings type GPMC uses if gpvault knows it.
    pub fn named(name: &str) -> Self {
        let settings_type = KNOWN_SETTINGS_TYPES.iter().find(|(n, _, _)| *n == name).map(|(_, ns, type_name)| {
            SettingsType { namespace: format!("{SETTINGS_NAMESPACE}/{ns}"), type_name: type_name.to_string() }
        });
        ReportExtension { name: name.to_string(), settings_type }
    }
}

/// Which report sections a side's extension list produces, in GPMC's order. The report names
/// an extension after its settings, so some entries key on the snap-in (tool) GUID rather than
/// the client-side extension: firewall and AppLocker settings live in registry.pol.
/// Extensions not in this table are left out (GPMC shows their settings under Registry or
/// not at all); callers can append [`ReportExtension::named`] entries for them. The order is
/// the one seen in GPMC reports (Security first, Registry last; where Software Installation and
/// Folder Redirection go among the others is a guess, each was only seen with Registry).
const REPORT_SECTIONS: &[(&str, &str)] = &[
    ("{827D319E-6EAC-11D2-A4EA-00C04F79F83A}", "Security"),
    ("{B1BE8D72-6EAC-11D2-A4EA-00C04F79F83A}", "Public Key"),
    ("{B05566AC-FE9C-4368-BE01-7A4CBB6CBA11}", "Windows Firewall"),
    ("{F3CCC681-B74C-4060-9F26-CD84525DCA2A}", "Advanced Audit Configuration"),
    ("{62C1845D-C4A6-4ACB-BBB0-C895FD090385}", "Application Control Policies"),
    ("{AADCED64-746C-4633-A97C-D61349046527}", "Scheduled Tasks"),
    ("{C6DC5466-785A-11D2-84D0-00C04FB169F7}", "Software Installation"),
    ("{25537BA6-77A8-11D2-9B6C-0000F8080861}", "Folder Redirection"),
    ("{35378EAC-683F-11D2-A89A-00C04FBBCFA2}", "Registry"),
];

/// The `<ExtensionData>` entries GPMC writes for a side with these extension names
/// (gPCMachineExtensionNames or gPCUserExtensionNames).
pub fn report_extensions_for(list: &crate::model::ExtensionList) -> Vec<ReportExtension> {
    let listed = |guid: &str| {
        crate::model::parse_guid(guid)
            .is_ok_and(|wanted| list.pairs.iter().any(|p| p.cse == wanted || p.tools.contains(&wanted)))
    };
    REPORT_SECTIONS.iter().filter(|(guid, _)| listed(guid)).map(|(_, name)| ReportExtension::named(name)).collect()
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportLink {
    /// The container's name (`corp`, `Domain Controllers`).
    pub som_name: String,
    /// Canonical-name style path (`corp.example.test/Domain Controllers`).
    pub som_path: String,
    pub enabled: bool,
    /// Enforced.
    pub no_override: bool,
}

/// `2016-12-08T22:14:24`: CreatedTime/ModifiedTime format (UTC, no zone suffix).
pub fn report_time(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// `2016-12-09T15:16:55.2950302Z`: ReadTime format (.NET's round-trip format, UTC).
pub fn read_time(time: &DateTime<Utc>) -> String {
    let ticks = time.timestamp_subsec_nanos() / 100;
    format!("{}.{ticks:07}Z", time.format("%Y-%m-%dT%H:%M:%S"))
}

/// CreatedTime/ModifiedTime from LDAP generalized time (`20161208221424.0Z`).
pub fn report_time_from_ldap(generalized: &str) -> Option<String> {
    let digits = generalized.get(..14)?;
    NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M%S").ok().map(|t| report_time(&t.and_utc()))
}

// ---------------------------------------------------------------------------------------------
// Writing

/// .NET-style indented output.
struct Pretty {
    out: XmlOut,
    depth: usize,
    next_prefix: usize,
}

impl Pretty {
    fn line(&mut self) {
        self.out.raw("\r\n");
        for _ in 0..self.depth {
            self.out.raw("  ");
        }
    }

    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.line();
        self.out.start(name, attrs);
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.line();
        self.out.end(name);
    }

    fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], value: &str) {
        self.line();
        if value.is_empty() {
            self.out.empty_spaced(name, attrs);
        } else {
            self.out.start(name, attrs);
            self.out.text(value);
            self.out.end(name);
        }
    }

    fn flag(&mut self, name: &str, attrs: &[(&str, &str)], value: bool) {
        self.leaf(name, attrs, if value { "true" } else { "false" });
    }

    fn trustee(&mut self, name: &str, attrs: &[(&str, &str)], trustee: &Trustee) {
        self.open(name, attrs);
        self.leaf("SID", &[("xmlns", TYPES_NAMESPACE)], &trustee.sid);
        if let Some(n) = &trustee.name {
            self.leaf("Name", &[("xmlns", TYPES_NAMESPACE)], n);
        }
        self.close(name);
    }

    fn side(&mut self, name: &str, side: &ReportSide) {
        self.open(name, &[]);
        self.leaf("VersionDirectory", &[], &side.version_directory.to_string());
        self.leaf("VersionSysvol", &[], &side.version_sysvol.to_string());
        self.flag("Enabled", &[], side.enabled);
        for ext in &side.extensions {
            self.open("ExtensionData", &[]);
            if let Some(t) = &ext.settings_type {
                let prefix = format!("q{}", self.next_prefix);
                self.next_prefix += 1;
                let xmlns = format!("xmlns:{prefix}");
                let xsi_type = format!("{prefix}:{}", t.type_name);
                self.line();
                self.out.empty_spaced(
                    "Extension",
                    &[(xmlns.as_str(), t.namespace.as_str()), ("xsi:type", xsi_type.as_str())],
                );
            }
            self.leaf("Name", &[], &ext.name);
            self.close("ExtensionData");
        }
        self.close(name);
    }
}

impl GpReport {
    /// The file: UTF-16LE with BOM.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_utf16le_bom(&self.to_xml_string())
    }

    /// The document as text (what [`to_bytes`](Self::to_bytes) encodes).
    pub fn to_xml_string(&self) -> String {
        let mut p = Pretty { out: XmlOut::new(), depth: 0, next_prefix: 1 };
        p.out.declaration("utf-16");
        p.line();
        p.out
            .start("GPO", &[("xmlns:xsd", XSD_NAMESPACE), ("xmlns:xsi", XSI_NAMESPACE), ("xmlns", SETTINGS_NAMESPACE)]);
        p.depth = 1;
        p.open("Identifier", &[]);
        p.leaf("Identifier", &[("xmlns", TYPES_NAMESPACE)], &self.identifier);
        p.leaf("Domain", &[("xmlns", TYPES_NAMESPACE)], &self.domain);
        p.close("Identifier");
        p.leaf("Name", &[], &self.name);
        p.flag("IncludeComments", &[], self.include_comments);
        p.leaf("CreatedTime", &[], &self.created_time);
        p.leaf("ModifiedTime", &[], &self.modified_time);
        p.leaf("ReadTime", &[], &self.read_time);
        if let Some(sec) = &self.security {
            let ns = [("xmlns", SECURITY_NAMESPACE)];
            p.open("SecurityDescriptor", &[]);
            p.leaf("SDDL", &ns, &sec.sddl);
            if let Some(owner) = &sec.owner {
                p.trustee("Owner", &ns, owner);
            }
            if let Some(group) = &sec.group {
                p.trustee("Group", &ns, group);
            }
            p.flag("PermissionsPresent", &ns, sec.permissions_present);
            if sec.permissions_present {
                p.open("Permissions", &ns);
                p.flag("InheritsFromParent", &[], sec.inherits_from_parent);
                for row in &sec.permissions {
                    p.open("TrusteePermissions", &[]);
                    p.trustee("Trustee", &[], &row.trustee);
                    p.open("Type", &[("xsi:type", "PermissionType")]);
                    p.leaf("PermissionType", &[], &row.permission_type);
                    p.close("Type");
                    p.flag("Inherited", &[], row.inherited);
                    p.open("Applicability", &[]);
                    p.flag("ToSelf", &[], row.applicability.to_self);
                    p.flag("ToDescendantObjects", &[], row.applicability.to_descendant_objects);
                    p.flag("ToDescendantContainers", &[], row.applicability.to_descendant_containers);
                    p.flag("ToDirectDescendantsOnly", &[], row.applicability.to_direct_descendants_only);
                    p.close("Applicability");
                    if let Some(standard) = &row.standard {
                        p.open("Standard", &[]);
                        p.leaf("GPOGroupedAccessEnum", &[], standard);
                        p.close("Standard");
                    }
                    p.leaf("AccessMask", &[], &row.access_mask.to_string());
                    p.close("TrusteePermissions");
                }
                p.close("Permissions");
            }
            p.flag("AuditingPresent", &ns, sec.auditing_present);
            p.close("SecurityDescriptor");
        }
        p.flag("FilterDataAvailable", &[], self.filter_data_available);
        if let Some(name) = &self.filter_name {
            p.leaf("FilterName", &[], name);
        }
        if let Some(description) = &self.filter_description {
            p.leaf("FilterDescription", &[], description);
        }
        p.side("Computer", &self.computer);
        p.side("User", &self.user);
        for link in &self.links {
            p.open("LinksTo", &[]);
            p.leaf("SOMName", &[], &link.som_name);
            p.leaf("SOMPath", &[], &link.som_path);
            p.flag("Enabled", &[], link.enabled);
            p.flag("NoOverride", &[], link.no_override);
            p.close("LinksTo");
        }
        p.close("GPO");
        p.out.into_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

fn err(at: &str, problem: Problem) -> FormatError {
    FormatError::new(FILE_NAME, Some(at.to_string()), problem)
}

fn child<'a>(element: &'a Element, name: &str) -> Option<&'a Element> {
    element.elements().find(|e| e.local_name() == name)
}

/// Text as written (names may end in spaces; GPMC keeps them).
fn text_of(element: &Element, name: &str) -> Option<String> {
    child(element, name).map(Element::text)
}

fn bool_of(element: &Element, name: &str, at: &str) -> Result<Option<bool>, FormatError> {
    match text_of(element, name).map(|t| t.trim().to_string()) {
        None => Ok(None),
        Some(t) if t == "true" => Ok(Some(true)),
        Some(t) if t == "false" => Ok(Some(false)),
        Some(t) => Err(err(
            &format!("{at}/{name}"),
            Problem::InvalidValue { value: t, reason: "expected true or false".into() },
        )),
    }
}

fn number_of(element: &Element, name: &str, at: &str) -> Result<u32, FormatError> {
    match text_of(element, name).map(|t| t.trim().to_string()) {
        None => Ok(0),
        Some(t) => t.parse().map_err(|_| {
            err(&format!("{at}/{name}"), Problem::InvalidValue { value: t, reason: "expected a decimal number".into() })
        }),
    }
}

fn trustee(element: &Element) -> Trustee {
    Trustee { sid: text_of(element, "SID").unwrap_or_default(), name: text_of(element, "Name") }
}

fn side(element: Option<&Element>, at: &str) -> Result<ReportSide, FormatError> {
    let Some(element) = element else {
        return Ok(ReportSide::default());
    };
    let mut extensions = Vec::new();
    for data in element.elements().filter(|e| e.local_name() == "ExtensionData") {
        let name = text_of(data, "Name").unwrap_or_default();
        let settings_type = child(data, "Extension").and_then(|ext| {
            let (prefix, type_name) = ext.attr("xsi:type")?.split_once(':')?;
            let namespace = ext.attr(&format!("xmlns:{prefix}"))?;
            Some(SettingsType { namespace: namespace.to_string(), type_name: type_name.to_string() })
        });
        extensions.push(ReportExtension { name, settings_type });
    }
    Ok(ReportSide {
        version_directory: number_of(element, "VersionDirectory", at)?,
        version_sysvol: number_of(element, "VersionSysvol", at)?,
        enabled: bool_of(element, "Enabled", at)?.unwrap_or(false),
        extensions,
    })
}

impl GpReport {
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let text = decode_utf8_or_utf16(bytes, FILE_NAME)?;
        let doc = xml::parse(&text, FILE_NAME)?;
        let root = &doc.root;
        if root.local_name() != "GPO" {
            return Err(FormatError::new(
                FILE_NAME,
                None,
                Problem::UnexpectedElement { found: root.name.clone(), expected: "<GPO>".into() },
            ));
        }
        let identity = child(root, "Identifier")
            .ok_or_else(|| err("GPO", Problem::MissingElement { name: "Identifier".into() }))?;
        let identifier = text_of(identity, "Identifier")
            .map(|t| t.trim().to_string())
            .ok_or_else(|| err("GPO/Identifier", Problem::MissingElement { name: "Identifier".into() }))?;

        let security = match child(root, "SecurityDescriptor") {
            None => None,
            Some(sd) => {
                let at = "GPO/SecurityDescriptor";
                let mut permissions = Vec::new();
                let mut inherits_from_parent = false;
                if let Some(perms) = child(sd, "Permissions") {
                    inherits_from_parent = bool_of(perms, "InheritsFromParent", at)?.unwrap_or(false);
                    for row in perms.elements().filter(|e| e.local_name() == "TrusteePermissions") {
                        let row_at = format!("{at}/Permissions/TrusteePermissions");
                        let applicability = match child(row, "Applicability") {
                            Some(a) => Applicability {
                                to_self: bool_of(a, "ToSelf", &row_at)?.unwrap_or(false),
                                to_descendant_objects: bool_of(a, "ToDescendantObjects", &row_at)?.unwrap_or(false),
                                to_descendant_containers: bool_of(a, "ToDescendantContainers", &row_at)?
                                    .unwrap_or(false),
                                to_direct_descendants_only: bool_of(a, "ToDirectDescendantsOnly", &row_at)?
                                    .unwrap_or(false),
                            },
                            None => Applicability::GPO_CONTAINER,
                        };
                        permissions.push(TrusteePermission {
                            trustee: child(row, "Trustee").map(trustee).unwrap_or_default(),
                            permission_type: child(row, "Type")
                                .and_then(|t| text_of(t, "PermissionType"))
                                .unwrap_or_default(),
                            inherited: bool_of(row, "Inherited", &row_at)?.unwrap_or(false),
                            applicability,
                            standard: child(row, "Standard").and_then(|s| text_of(s, "GPOGroupedAccessEnum")),
                            access_mask: number_of(row, "AccessMask", &row_at)?,
                        });
                    }
                }
                Some(ReportSecurity {
                    sddl: text_of(sd, "SDDL").unwrap_or_default(),
                    owner: child(sd, "Owner").map(trustee),
                    group: child(sd, "Group").map(trustee),
                    permissions_present: bool_of(sd, "PermissionsPresent", at)?.unwrap_or(false),
                    inherits_from_parent,
                    permissions,
                    auditing_present: bool_of(sd, "AuditingPresent", at)?.unwrap_or(false),
                })
            }
        };

        let mut links = Vec::new();
        for link in root.elements().filter(|e| e.local_name() == "LinksTo") {
            links.push(ReportLink {
                som_name: text_of(link, "SOMName").unwrap_or_default(),
                som_path: text_of(link, "SOMPath").unwrap_or_default(),
                enabled: bool_of(link, "Enabled", "GPO/LinksTo")?.unwrap_or(false),
                no_override: bool_of(link, "NoOverride", "GPO/LinksTo")?.unwrap_or(false),
            });
        }

        Ok(GpReport {
            identifier,
            domain: text_of(identity, "Domain").unwrap_or_default(),
            name: child(root, "Name").map(Element::text).unwrap_or_default(),
            include_comments: bool_of(root, "IncludeComments", "GPO")?.unwrap_or(false),
            created_time: text_of(root, "CreatedTime").unwrap_or_default(),
            modified_time: text_of(root, "ModifiedTime").unwrap_or_default(),
            read_time: text_of(root, "ReadTime").unwrap_or_default(),
            security,
            filter_data_available: bool_of(root, "FilterDataAvailable", "GPO")?.unwrap_or(false),
            filter_name: child(root, "FilterName").map(Element::text),
            filter_description: child(root, "FilterDescription").map(Element::text),
            computer: side(child(root, "Computer"), "GPO/Computer")?,
            user: side(child(root, "User"), "GPO/User")?,
            links,
        })
    }
}

#[cfg(test)]
mod tests;
