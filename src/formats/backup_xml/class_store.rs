//! The Software Installation block: GPMC copies the GPO's class store from Active Directory into
//! Backup.xml as nested `<DSObject>` elements, and creates the objects again from them when it
//! restores (docs/GPMC-FORMAT-NOTES.md; the `simeononsecurity-si` fixture):
//!
//! ```text
//! DSObject cn=Class Store,%GPO_MACH_DSPATH%          classStore
//!   DSObject cn=Packages,cn=Class Store,...          classStore
//!     DSObject CN=<name>,CN=Packages,...             packageRegistration, SIProcessPackageObject
//!       FSObjectFile (the package's .aas), SecurityDescriptor, 27 DSAttribute* elements
//!     DSObject *,cn=Packages,...                     packageRegistration, SIProcessAllPackageObjects
//!       <SecurityDescriptor/> and the same 27 attributes, all empty (GPMC's template)
//!   DSAttributeDWORD appSchemaVersion, DSAttributeString extensionName and description,
//!   DSAttributeExpandedString displayName = LDAP://%GPO_DSPATH%
//! ```
//!
//! Layout: one element per line, four spaces deeper than its parent, the class store's children
//! at sixteen. Values are `<DSValue><![CDATA[...]]></DSValue>` on the attribute's line, except an
//! expanded string's, which gets a line of its own and no CDATA. Binary values are hex bytes
//! separated by spaces, DWORDs decimal.

use std::collections::BTreeMap;

use super::{Ctx, FsObject, FsObjectKind, format_security_descriptor, parse_fs_object, parse_security_descriptor};
use crate::formats::error::{FormatError, Problem};
use crate::formats::xml::{Element, XmlOut};
use crate::model::{AttributeValue, DirectoryObject, GpoSide};

/// The variables `bkp:Path` of a `DSObject` ends in, and what they stand for.
pub mod ds_path_vars {
    /// The GPO's container: `cn={GUID},CN=Policies,CN=System,DC=...`.
    pub const GPO: &str = "%GPO_DSPATH%";
    /// `cn=Machine,` + the GPO's container.
    pub const MACHINE: &str = "%GPO_MACH_DSPATH%";
    /// `cn=User,` + the GPO's container.
    pub const USER: &str = "%GPO_USER_DSPATH%";
}

/// `bkp:ReEvaluateFunction` of the package objects.
pub const SI_PROCESS_PACKAGE: &str = "SIProcessPackageObject";
/// `bkp:ReEvaluateFunction` of the wildcard template after the packages.
pub const SI_PROCESS_ALL_PACKAGES: &str = "SIProcessAllPackageObjects";
pub const CLASS_STORE_CLASS: &str = "classStore";
pub const PACKAGE_CLASS: &str = "packageRegistration";
/// The attribute that holds an object's security descriptor in the directory.
pub const SECURITY_DESCRIPTOR_ATTRIBUTE: &str = "nTSecurityDescriptor";

/// The `DSAttribute*` element kinds GPMC writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DsAttributeKind {
    String,
    ExpandedString,
    MultiString,
    Dword,
    MultiDword,
    Binary,
}

use DsAttributeKind::{Binary, Dword, MultiDword, MultiString};

impl DsAttributeKind {
    pub const ALL: [DsAttributeKind; 6] =
        [DsAttributeKind::String, DsAttributeKind::ExpandedString, MultiString, Dword, MultiDword, Binary];

    pub fn element_name(self) -> &'static str {
        match self {
            DsAttributeKind::String => "DSAttributeString",
            DsAttributeKind::ExpandedString => "DSAttributeExpandedString",
            MultiString => "DSAttributeMultiString",
            Dword => "DSAttributeDWORD",
            MultiDword => "DSAttributeMultiDWORD",
            Binary => "DSAttributeBinary",
        }
    }

    fn from_element_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.element_name() == name)
    }

    fn is_dword(self) -> bool {
        matches!(self, Dword | MultiDword)
    }
}

/// Every attribute of a package object, in GPMC's order and kinds: GPMC writes all of them for
/// each package (empty ones as `<X bkp:DSAttrName="..."/>`) and again, empty, in the template.
pub const PACKAGE_ATTRIBUTES: [(&str, DsAttributeKind); 27] = [
    ("objectGUID", Binary),
    ("cOMClassID", MultiString),
    ("cOMProgID", MultiString),
    ("fileExtPriority", MultiString),
    ("localeID", MultiDword),
    ("machineArchitecture", MultiDword),
    ("versionNumberHi", Dword),
    ("versionNumberLo", Dword),
    ("revision", Dword),
    ("packageType", Dword),
    ("packageFlags", Dword),
    ("packageName", DsAttributeKind::String),
    ("msiScriptPath", DsAttributeKind::String),
    ("msiScriptName", DsAttributeKind::String),
    ("msiScriptSize", Dword),
    ("url", MultiString),
    ("setupCommand", DsAttributeKind::String),
    ("lastUpdateSequence", DsAttributeKind::String),
    ("msiFileList", MultiString),
    ("categories", MultiString),
    ("canUpgradeScript", MultiString),
    ("installUiLevel", Dword),
    ("msiScript", Binary),
    ("displayName", DsAttributeKind::String),
    ("productCode", Binary),
    ("upgradeProductCode", Binary),
    ("Vendor", DsAttributeKind::String),
];

/// The class store's own attributes, after its Packages container.
pub const CLASS_STORE_ATTRIBUTES: [(&str, DsAttributeKind); 4] = [
    ("appSchemaVersion", Dword),
    ("extensionName", DsAttributeKind::String),
    ("description", DsAttributeKind::String),
    ("displayName", DsAttributeKind::ExpandedString),
];

/// What GPMC writes for the class store's `description` (the value Windows gives it).
pub const CLASS_STORE_DESCRIPTION: &str = "Application Store";
/// The class store's `displayName` as GPMC writes it: the GPO's path, as a variable.
pub const CLASS_STORE_DISPLAY_NAME: &str = "LDAP://%GPO_DSPATH%";

/// A `<DSObject>`: one directory object GPMC backs up with the GPO, with its content in
/// document order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsObject {
    /// `bkp:Path`, relative to a [`ds_path_vars`] variable: `cn=Class Store,%GPO_MACH_DSPATH%`.
    pub path: String,
    /// `bkp:ObjectClass`: `classStore` or `packageRegistration`.
    pub object_class: String,
    /// `bkp:SourceExpandedPath`: the distinguished name it was read from.
    pub source_expanded_path: Option<String>,
    pub re_evaluate_function: Option<String>,
    pub extra_attributes: Vec<(String, String)>,
    pub content: Vec<DsContent>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DsContent {
    /// A SYSVOL file that belongs to the object (a package's `.aas` advertise script).
    File(FsObject),
    /// The object's whole self-relative security descriptor; `None` for `<SecurityDescriptor/>`.
    SecurityDescriptor(Option<Vec<u8>>),
    Object(DsObject),
    Attribute(DsAttribute),
    /// Any other element, kept verbatim.
    Other(Element),
}

/// One `DSAttribute*` element: an attribute and its values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsAttribute {
    pub kind: DsAttributeKind,
    /// `bkp:DSAttrName`, as GPMC spells it (`Vendor`; LDAP names are case-insensitive).
    pub name: String,
    /// Each `<DSValue>`: text for strings, decimal for DWORDs, hex bytes separated by spaces
    /// for binary (checked when read).
    pub values: Vec<String>,
}

impl DsAttribute {
    pub fn new(name: &str, kind: DsAttributeKind, values: Vec<String>) -> Self {
        DsAttribute { kind, name: name.to_string(), values }
    }

    /// The values of a binary attribute as bytes.
    pub fn binary_values(&self) -> Vec<Vec<u8>> {
        self.values.iter().filter_map(|v| parse_security_descriptor(v).ok().map(Option::unwrap_or_default)).collect()
    }

    /// The values of a DWORD attribute.
    pub fn dword_values(&self) -> Vec<u32> {
        self.values.iter().filter_map(|v| v.trim().parse().ok()).collect()
    }
}

impl DsObject {
    pub fn new(path: impl Into<String>, object_class: &str) -> Self {
        DsObject {
            path: path.into(),
            object_class: object_class.to_string(),
            source_expanded_path: None,
            re_evaluate_function: None,
            extra_attributes: Vec::new(),
            content: Vec::new(),
        }
    }

    /// A wildcard entry (`*,cn=Packages,...`): a template, not an object.
    pub fn is_wildcard(&self) -> bool {
        self.path.starts_with('*')
    }

    pub fn children(&self) -> impl Iterator<Item = &DsObject> {
        self.content.iter().filter_map(|c| match c {
            DsContent::Object(o) => Some(o),
            _ => None,
        })
    }

    pub fn attributes(&self) -> impl Iterator<Item = &DsAttribute> {
        self.content.iter().filter_map(|c| match c {
            DsContent::Attribute(a) => Some(a),
            _ => None,
        })
    }

    /// The attribute named `name` (case-insensitive, as LDAP names are).
    pub fn attribute(&self, name: &str) -> Option<&DsAttribute> {
        self.attributes().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    pub fn files(&self) -> impl Iterator<Item = &FsObject> {
        self.content.iter().filter_map(|c| match c {
            DsContent::File(f) => Some(f),
            _ => None,
        })
    }

    pub fn security_descriptor(&self) -> Option<&[u8]> {
        self.content.iter().find_map(|c| match c {
            DsContent::SecurityDescriptor(Some(sd)) => Some(sd.as_slice()),
            _ => None,
        })
    }

    /// This object and every object below it, depth first.
    pub fn walk(&self) -> Vec<&DsObject> {
        let mut out = vec![self];
        for child in self.children() {
            out.extend(child.walk());
        }
        out
    }

    /// Which half's class store this is, from the variable its path ends in.
    pub fn side(&self) -> Option<GpoSide> {
        let lower = self.path.to_ascii_lowercase();
        if lower.ends_with(&ds_path_vars::MACHINE.to_ascii_lowercase()) {
            Some(GpoSide::Machine)
        } else if lower.ends_with(&ds_path_vars::USER.to_ascii_lowercase()) {
            Some(GpoSide::User)
        } else {
            None
        }
    }
}

/// A class store in Backup.xml, read as what it is: the store, its packages and its attributes.
#[derive(Clone, Copy, Debug)]
pub struct ClassStore<'a> {
    pub side: GpoSide,
    pub object: &'a DsObject,
}

/// One software installation package of a class store.
#[derive(Clone, Copy, Debug)]
pub struct Package<'a> {
    pub object: &'a DsObject,
}

impl<'a> ClassStore<'a> {
    /// The packages (wildcard template left out), in document order.
    pub fn packages(&self) -> Vec<Package<'a>> {
        self.object
            .walk()
            .into_iter()
            .filter(|o| o.object_class.eq_ignore_ascii_case(PACKAGE_CLASS) && !o.is_wildcard())
            .map(|object| Package { object })
            .collect()
    }

    /// GPMC's template entry after the packages (`*,cn=Packages,...`).
    pub fn template(&self) -> Option<&'a DsObject> {
        self.object.walk().into_iter().find(|o| o.is_wildcard())
    }
}

impl<'a> Package<'a> {
    /// The package's name: the value of the first RDN of its path (`CN=<name>,CN=Packages,...`).
    pub fn name(&self) -> &'a str {
        first_rdn_value(&self.object.path)
    }

    /// Its `.aas` advertise script, as stored in the backup.
    pub fn aas(&self) -> Option<&'a FsObject> {
        self.object.files().next()
    }

    pub fn security_descriptor(&self) -> Option<&'a [u8]> {
        self.object.security_descriptor()
    }

    pub fn attributes(&self) -> impl Iterator<Item = &'a DsAttribute> {
        self.object.attributes()
    }
}

fn first_rdn_value(dn: &str) -> &str {
    let first = split_rdns(dn).into_iter().next().unwrap_or(dn);
    first.split_once('=').map(|(_, v)| v).unwrap_or(first)
}

/// The RDNs of a DN, split at commas that are not escaped.
fn split_rdns(dn: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, ch) in dn.char_indices() {
        match ch {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => {
                out.push(&dn[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&dn[start..]);
    out
}

// ---------------------------------------------------------------------------------------------
// Reading

pub(super) fn parse_ds_object(ctx: &Ctx<'_>, at: &str, element: &Element) -> Result<DsObject, FormatError> {
    let required = |name: &str| {
        element.attr(name).map(str::to_string).ok_or_else(|| {
            ctx.err(
                at,
                Problem::InvalidValue { value: String::new(), reason: format!("the {name} attribute is missing") },
            )
        })
    };
    let path = required("bkp:Path")?;
    let object_class = required("bkp:ObjectClass")?;
    let at = format!("{at}/DSObject[{path}]");
    let known = ["bkp:Path", "bkp:ObjectClass", "bkp:SourceExpandedPath", "bkp:ReEvaluateFunction"];
    let mut content = Vec::new();
    for child in ctx.elements(&at, element)? {
        let item = match child.local_name() {
            "DSObject" => DsContent::Object(parse_ds_object(ctx, &at, child)?),
            "FSObjectFile" => DsContent::File(parse_fs_object(ctx, &at, child, FsObjectKind::File)?),
            "FSObjectDir" => DsContent::File(parse_fs_object(ctx, &at, child, FsObjectKind::Dir)?),
            "SecurityDescriptor" => {
                let text = ctx.value(&at, child)?.unwrap_or_default();
                let bytes = parse_security_descriptor(&text).map_err(|reason| {
                    ctx.err(
                        &format!("{at}/SecurityDescriptor"),
                        Problem::InvalidValue { value: text.clone(), reason: format!("expected hex bytes ({reason})") },
                    )
                })?;
                DsContent::SecurityDescriptor(bytes)
            }
            name => match DsAttributeKind::from_element_name(name) {
                Some(kind) => DsContent::Attribute(parse_attribute(ctx, &at, child, kind)?),
                None => DsContent::Other(child.clone()),
            },
        };
        content.push(item);
    }
    Ok(DsObject {
        path,
        object_class,
        source_expanded_path: element.attr("bkp:SourceExpandedPath").map(str::to_string),
        re_evaluate_function: element.attr("bkp:ReEvaluateFunction").map(str::to_string),
        extra_attributes: element.attributes.iter().filter(|(k, _)| !known.contains(&k.as_str())).cloned().collect(),
        content,
    })
}

fn parse_attribute(
    ctx: &Ctx<'_>,
    at: &str,
    element: &Element,
    kind: DsAttributeKind,
) -> Result<DsAttribute, FormatError> {
    let name = element.attr("bkp:DSAttrName").ok_or_else(|| {
        ctx.err(
            &format!("{at}/{}", element.name),
            Problem::InvalidValue { value: String::new(), reason: "the bkp:DSAttrName attribute is missing".into() },
        )
    })?;
    let at = format!("{at}/{}[{name}]", element.name);
    let mut values = Vec::new();
    for child in ctx.elements(&at, element)? {
        if child.local_name() != "DSValue" {
            return Err(ctx.unexpected(&at, child, "<DSValue>"));
        }
        let value = ctx.value(&at, child)?.unwrap_or_default();
        let invalid = |reason: &str| {
            ctx.err(&format!("{at}/DSValue"), Problem::InvalidValue { value: value.clone(), reason: reason.into() })
        };
        if kind.is_dword() && value.trim().parse::<u32>().is_err() {
            return Err(invalid("expected a DWORD in decimal"));
        }
        if kind == Binary && parse_security_descriptor(&value).is_err() {
            return Err(invalid("expected hex bytes separated by spaces"));
        }
        values.push(value);
    }
    Ok(DsAttribute { kind, name: name.to_string(), values })
}

// ---------------------------------------------------------------------------------------------
// Writing

/// GPMC's nominal depth of a class store: its children are indented by four more levels.
pub(super) const CLASS_STORE_DEPTH: usize = 3;

fn indent(out: &mut XmlOut, depth: usize) {
    out.raw(&" ".repeat(depth * 4));
}

/// Writes `object` from its start tag on (the caller wrote the indentation before it).
pub(super) fn write_ds_object(out: &mut XmlOut, object: &DsObject, depth: usize, nl: &str) {
    let mut attrs: Vec<(&str, &str)> = vec![("bkp:Path", &object.path), ("bkp:ObjectClass", &object.object_class)];
    if let Some(v) = &object.source_expanded_path {
        attrs.push(("bkp:SourceExpandedPath", v));
    }
    if let Some(v) = &object.re_evaluate_function {
        attrs.push(("bkp:ReEvaluateFunction", v));
    }
    attrs.extend(object.extra_attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if object.content.is_empty() {
        out.empty("DSObject", &attrs);
        return;
    }
    out.start("DSObject", &attrs);
    for item in &object.content {
        out.raw(nl);
        indent(out, depth + 1);
        match item {
            DsContent::File(file) => super::write_fs_object(out, file, nl),
            DsContent::SecurityDescriptor(None) => out.empty("SecurityDescriptor", &[]),
            DsContent::SecurityDescriptor(Some(bytes)) => {
                out.text_element("SecurityDescriptor", &format_security_descriptor(bytes))
            }
            DsContent::Object(child) => write_ds_object(out, child, depth + 1, nl),
            DsContent::Attribute(attribute) => write_attribute(out, attribute, depth + 1, nl),
            DsContent::Other(element) => out.element(element),
        }
    }
    out.raw(nl);
    indent(out, depth);
    out.end("DSObject");
}

fn write_attribute(out: &mut XmlOut, attribute: &DsAttribute, depth: usize, nl: &str) {
    let name = attribute.kind.element_name();
    let attrs = [("bkp:DSAttrName", attribute.name.as_str())];
    if attribute.values.is_empty() {
        out.empty(name, &attrs);
        return;
    }
    out.start(name, &attrs);
    for value in &attribute.values {
        if attribute.kind == DsAttributeKind::ExpandedString {
            out.raw(nl);
            indent(out, depth + 1);
            out.text_element("DSValue", value);
        } else {
            out.cdata_element("DSValue", Some(value));
        }
    }
    if attribute.kind == DsAttributeKind::ExpandedString {
        out.raw(nl);
        indent(out, depth);
    }
    out.end(name);
}

// ---------------------------------------------------------------------------------------------
// From and to the directory

/// The GPO's class store objects as the directory gave them, and what names them.
#[derive(Clone, Copy, Debug)]
pub struct ClassStoreSource<'a> {
    /// The GPO's distinguished name (`CN={GUID},CN=Policies,CN=System,DC=...`).
    pub gpo_dn: &'a str,
    /// Its display name (GPMC's `extensionName` when the directory has none).
    pub gpo_name: &'a str,
    /// The objects below the GPO's container (`Directory::read_gpo_children`), in any order.
    pub objects: &'a [DirectoryObject],
}

fn half_rdn(side: GpoSide) -> &'static str {
    match side {
        GpoSide::Machine => "Machine",
        GpoSide::User => "User",
    }
}

fn side_var(side: GpoSide) -> &'static str {
    match side {
        GpoSide::Machine => ds_path_vars::MACHINE,
        GpoSide::User => ds_path_vars::USER,
    }
}

/// `%GPO_DSPATH%` as GPMC expands it: the GPO's DN with its first RDN type written `cn`.
fn gpo_ds_path(gpo_dn: &str) -> String {
    match gpo_dn.split_once('=') {
        Some((kind, rest)) if kind.trim().eq_ignore_ascii_case("cn") => format!("cn={rest}"),
        _ => gpo_dn.to_string(),
    }
}

fn find_attribute<'a>(object: &'a DirectoryObject, name: &str) -> Option<&'a Vec<AttributeValue>> {
    object.attributes.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

fn value_bytes(value: &AttributeValue) -> Vec<u8> {
    use base64::Engine;
    match value {
        AttributeValue::Text(text) => text.as_bytes().to_vec(),
        AttributeValue::Base64(b64) => base64::engine::general_purpose::STANDARD.decode(b64).unwrap_or_default(),
    }
}

fn value_text(value: &AttributeValue) -> String {
    match value {
        AttributeValue::Text(text) => text.clone(),
        AttributeValue::Base64(_) => String::from_utf8_lossy(&value_bytes(value)).into_owned(),
    }
}

/// An LDAP integer (signed 32-bit, decimal) as the DWORD GPMC writes.
fn dword_from_ldap(text: &str) -> Option<u32> {
    let value: i64 = text.trim().parse().ok()?;
    match value {
        v if (0..=u32::MAX as i64).contains(&v) => Some(v as u32),
        v if (i32::MIN as i64..0).contains(&v) => Some(v as i32 as u32),
        _ => None,
    }
}

/// A DWORD as LDAP writes the integer (signed).
fn dword_to_ldap(value: u32) -> String {
    (value as i32).to_string()
}

/// The values of `name` on `object`, written as GPMC writes a `kind` attribute.
fn gpmc_values(object: &DirectoryObject, name: &str, kind: DsAttributeKind) -> Vec<String> {
    let Some(values) = find_attribute(object, name) else { return Vec::new() };
    values
        .iter()
        .filter_map(|v| match kind {
            Binary => Some(format_security_descriptor(&value_bytes(v))),
            Dword | MultiDword => dword_from_ldap(&value_text(v)).map(|d| d.to_string()),
            _ => Some(value_text(v)),
        })
        .collect()
}

/// `old` replaced by `new` wherever it occurs, ignoring ASCII case (DNs compare so).
fn replace_ignoring_case(text: &str, old: &str, new: &str) -> String {
    if old.is_empty() {
        return text.to_string();
    }
    let lower = text.to_ascii_lowercase();
    let old_lower = old.to_ascii_lowercase();
    let mut out = String::new();
    let mut from = 0;
    while let Some(found) = lower[from..].find(&old_lower) {
        out.push_str(&text[from..from + found]);
        out.push_str(new);
        from += found + old.len();
    }
    out.push_str(&text[from..]);
    out
}

/// The Software Installation block's `DSObject`s for a GPO, machine class store first, built
/// from its objects in the directory as GPMC writes them. `aas_file` returns the backup entry
/// of a package's `.aas` file (named by the last part of its msiScriptPath) when the GPO folder
/// holds it. Halves without a class store are left out.
pub fn class_stores_from_directory(
    source: &ClassStoreSource<'_>,
    aas_file: &mut dyn FnMut(GpoSide, &str) -> Option<FsObject>,
) -> Vec<DsObject> {
    let ds_path = gpo_ds_path(source.gpo_dn);
    let gpo_dn_lower = source.gpo_dn.to_ascii_lowercase();
    let by_dn: BTreeMap<String, &DirectoryObject> =
        source.objects.iter().map(|o| (o.dn.to_ascii_lowercase(), o)).collect();
    let mut stores = Vec::new();
    for side in [GpoSide::Machine, GpoSide::User] {
        let var = side_var(side);
        let expanded = format!("cn={},{ds_path}", half_rdn(side));
        let store_dn = format!("cn=class store,cn={},{gpo_dn_lower}", half_rdn(side).to_ascii_lowercase());
        let Some(store_object) = by_dn.get(&store_dn) else { continue };
        let located = |path: String, class: &str| {
            let mut object = DsObject::new(path.clone(), class);
            object.source_expanded_path = Some(path.replace(var, &expanded));
            object
        };

        let packages_dn = format!("cn=packages,{store_dn}");
        let mut packages = located(format!("cn=Packages,cn=Class Store,{var}"), CLASS_STORE_CLASS);
        let package_suffix = format!(",{packages_dn}");
        for object in source.objects {
            let dn = object.dn.to_ascii_lowercase();
            let Some(rdn) = dn.strip_suffix(&package_suffix) else { continue };
            if split_rdns(rdn).len() != 1 {
                continue;
            }
            let name = first_rdn_value(&object.dn[..rdn.len()]);
            let mut package = located(format!("CN={name},CN=Packages,CN=Class Store,{var}"), PACKAGE_CLASS);
            package.re_evaluate_function = Some(SI_PROCESS_PACKAGE.into());
            let script_name = gpmc_values(object, "msiScriptPath", DsAttributeKind::String)
                .first()
                .and_then(|p| p.rsplit(['\\', '/']).next().map(str::to_string));
            if let Some(file) = script_name.and_then(|n| aas_file(side, &n)) {
                package.content.push(DsContent::File(file));
            }
            let sd = find_attribute(object, SECURITY_DESCRIPTOR_ATTRIBUTE).and_then(|v| v.first()).map(value_bytes);
            package.content.push(DsContent::SecurityDescriptor(sd));
            for (name, kind) in PACKAGE_ATTRIBUTES {
                package.content.push(DsContent::Attribute(DsAttribute::new(
                    name,
                    kind,
                    gpmc_values(object, name, kind),
                )));
            }
            packages.content.push(DsContent::Object(package));
        }
        packages.content.push(DsContent::Object(package_template(var, &expanded)));

        let mut store = located(format!("cn=Class Store,{var}"), CLASS_STORE_CLASS);
        store.content.push(DsContent::Object(packages));
        for (name, kind) in CLASS_STORE_ATTRIBUTES {
            let mut values = gpmc_values(store_object, name, kind);
            match name {
                "extensionName" if values.is_empty() => values.push(source.gpo_name.to_string()),
                "description" if values.is_empty() => values.push(CLASS_STORE_DESCRIPTION.into()),
                "displayName" => {
                    values =
                        values.iter().map(|v| replace_ignoring_case(v, source.gpo_dn, ds_path_vars::GPO)).collect();
                    if values.is_empty() {
                        values.push(CLASS_STORE_DISPLAY_NAME.into());
                    }
                }
                _ => {}
            }
            store.content.push(DsContent::Attribute(DsAttribute::new(name, kind, values)));
        }
        stores.push(store);
    }
    stores
}

/// GPMC's template entry after the packages: every package attribute, no value.
fn package_template(var: &str, expanded: &str) -> DsObject {
    let path = format!("*,cn=Packages,cn=Class Store,{var}");
    let mut template = DsObject::new(path.clone(), PACKAGE_CLASS);
    template.source_expanded_path = Some(path.replace(var, expanded));
    template.re_evaluate_function = Some(SI_PROCESS_ALL_PACKAGES.into());
    template.content.push(DsContent::SecurityDescriptor(None));
    for (name, kind) in PACKAGE_ATTRIBUTES {
        template.content.push(DsContent::Attribute(DsAttribute::new(name, kind, Vec::new())));
    }
    template
}

/// `bkp:Path` with its variable expanded for the GPO `gpo_dn`; `None` when the path does not end
/// in one of the GPO's variables (it would name an object outside the GPO).
pub fn expand_ds_path(path: &str, gpo_dn: &str) -> Option<String> {
    for (var, prefix) in
        [(ds_path_vars::MACHINE, "CN=Machine,"), (ds_path_vars::USER, "CN=User,"), (ds_path_vars::GPO, "")]
    {
        let lower = path.to_ascii_lowercase();
        if let Some(head) = lower.strip_suffix(&var.to_ascii_lowercase()) {
            let head = &path[..head.len()];
            if head.contains('%') {
                return None;
            }
            return Some(format!("{head}{prefix}{gpo_dn}"));
        }
    }
    None
}

/// The directory objects the `DSObject`s of a Backup.xml describe, for the GPO `gpo_dn`,
/// parents before children: what a restore creates below the GPO's container. Each carries
/// `objectClass`, its security descriptor as `nTSecurityDescriptor` when the backup has one,
/// and every attribute with a value (DWORDs as LDAP integers, binary values as bytes,
/// `%GPO_DSPATH%` in expanded strings replaced). `objectGUID` is the object's old GUID: the
/// directory assigns a new one, so a restore leaves it out when it creates the object.
/// Wildcard templates, and objects whose path is not below the GPO, are left out.
pub fn class_store_objects(backup: &super::BackupXml, gpo_dn: &str) -> Vec<DirectoryObject> {
    let mut out = Vec::new();
    for block in &backup.extensions {
        for object in block.directory_objects().into_iter().flat_map(|o| o.walk()) {
            if object.is_wildcard() {
                continue;
            }
            let Some(dn) = expand_ds_path(&object.path, gpo_dn) else { continue };
            let mut attributes = BTreeMap::new();
            attributes.insert("objectClass".to_string(), vec![AttributeValue::Text(object.object_class.clone())]);
            if let Some(sd) = object.security_descriptor() {
                attributes
                    .insert(SECURITY_DESCRIPTOR_ATTRIBUTE.to_string(), vec![AttributeValue::from_bytes(sd.to_vec())]);
            }
            for attribute in object.attributes().filter(|a| !a.values.is_empty()) {
                let values = match attribute.kind {
                    Binary => attribute.binary_values().into_iter().map(AttributeValue::from_bytes).collect(),
                    Dword | MultiDword => {
                        attribute.dword_values().into_iter().map(|d| AttributeValue::Text(dword_to_ldap(d))).collect()
                    }
                    DsAttributeKind::ExpandedString => attribute
                        .values
                        .iter()
                        .map(|v| AttributeValue::Text(replace_ignoring_case(v, ds_path_vars::GPO, gpo_dn)))
                        .collect(),
                    _ => attribute.values.iter().cloned().map(AttributeValue::Text).collect(),
                };
                attributes.insert(attribute.name.clone(), values);
            }
            out.push(DirectoryObject { dn, attributes });
        }
    }
    out.sort_by_key(|o| split_rdns(&o.dn).len());
    out
}

#[cfg(test)]
mod tests;
