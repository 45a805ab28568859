//! Group Policy Preferences XML: `Preferences\<Kind>\<Kind>.xml` in either half of a GPO
//! (Groups, Drives, Registry, Files, Shortcuts, Services, ScheduledTasks, Printers,
//! EnvironmentVariables, Folders, IniFiles, NetworkShares, PowerOptions, DataSources, Devices,
//! InternetSettings, RegionalOptions, StartMenuTaskbar, NetworkOptions, Applications...).
//!
//! Every kind has the same shape, which is all this reader relies on, so unknown kinds work too:
//!
//! ```text
//! <Drives clsid="{...}">                                  root: the kind
//!   <Drive clsid="{...}" name="F:" changed="..." uid="{...}">           one item
//!     <Properties action="U" path="\\fs01\finance" userName="" .../>    its settings
//!     <Filters><FilterGroup name="CORP\Finance Users" sid="S-1-5-21-..." .../></Filters>
//!   </Drive>
//!   <Collection clsid="{...}" name="Folder">...items...</Collection>     a folder of items
//! </Drives>
//! ```
//!
//! UTF-8, sometimes with a BOM. The file is kept as text: every attribute value and text run
//! remembers where it sits, and writing back re-emits only the values that were changed (escaped
//! as the original was quoted), so everything else stays byte for byte.

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::error::{FormatError, Problem};
use super::references::{self, EditReference, Reference, ReferenceEditor, ReferenceKind, is_sid, path_kind};
use super::settings::{Setting, SettingArea};
use super::text::{TextEncoding, decode_text, encode_text};
use super::xml::{escape_attribute, escape_text};

/// How the reader names the file in errors before it knows the kind.
pub const FILE_NAME: &str = "Preferences XML";
const MAX_DEPTH: usize = 256;

/// Attributes that hold a path (compared without case).
const PATH_ATTRIBUTES: [&str; 10] = [
    "path",
    "targetpath",
    "frompath",
    "topath",
    "location",
    "startin",
    "iconpath",
    "shortcutpath",
    "localpath",
    "folderpath",
];
/// Attributes that name an account on their own.
const ACCOUNT_ATTRIBUTES: [&str; 3] = ["username", "accountname", "runas"];
/// Text elements (Scheduled Tasks) that name an account or hold a path.
const ACCOUNT_ELEMENTS: [&str; 2] = ["userid", "groupid"];
const PATH_ELEMENTS: [&str; 2] = ["command", "workingdirectory"];
/// Characters XML 1.0 cannot carry at all, even escaped.
const NOT_IN_XML: [char; 29] = [
    '\u{0}', '\u{1}', '\u{2}', '\u{3}', '\u{4}', '\u{5}', '\u{6}', '\u{7}', '\u{8}', '\u{b}', '\u{c}', '\u{e}',
    '\u{f}', '\u{10}', '\u{11}', '\u{12}', '\u{13}', '\u{14}', '\u{15}', '\u{16}', '\u{17}', '\u{18}', '\u{19}',
    '\u{1a}', '\u{1b}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}',
];

/// An attribute value or a run of text: where it is in the source and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Slot {
    /// The raw (escaped) value in the source, without quotes.
    range: Range<usize>,
    value: String,
    /// `"` or `'` for attributes, `None` for text.
    quote: Option<char>,
    changed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct XmlElement {
    name: String,
    /// Attribute names and their slots, in document order.
    attributes: Vec<(String, usize)>,
    children: Vec<XmlChild>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum XmlChild {
    Element(XmlElement),
    Text(usize),
    /// CDATA is read but not edited (Preferences do not write it).
    CData(String),
}

/// A node below an item (a `Member`, a `FilterGroup`, a task's `Exec`), read-only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreferenceNode {
    pub element: String,
    pub attributes: Vec<(String, String)>,
    /// Text directly inside, as one string.
    pub text: String,
    pub children: Vec<PreferenceNode>,
}

impl PreferenceNode {
    pub fn attr(&self, name: &str) -> Option<&str> {
        attr_of(&self.attributes, name)
    }
}

fn attr_of<'a>(attributes: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attributes.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// One preference item (a drive map, a group, a registry value...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreferenceItem {
    /// The element name: `Drive`, `Group`, `Registry`, `TaskV2`...
    pub element: String,
    pub clsid: Option<String>,
    pub name: Option<String>,
    pub uid: Option<String>,
    pub changed: Option<String>,
    /// All attributes of the item element, in order.
    pub attributes: Vec<(String, String)>,
    /// The attributes of its `<Properties>`.
    pub properties: Vec<(String, String)>,
    /// What `<Properties>` contains (`Members/Member`, a task definition...).
    pub details: Vec<PreferenceNode>,
    /// Item-level targeting: the children of `<Filters>`.
    pub filters: Vec<PreferenceNode>,
    /// Other children of the item element.
    pub other: Vec<PreferenceNode>,
    /// Names of the `<Collection>` folders the item sits in, outermost first.
    pub collection: Vec<String>,
}

impl PreferenceItem {
    pub fn attr(&self, name: &str) -> Option<&str> {
        attr_of(&self.attributes, name)
    }

    pub fn property(&self, name: &str) -> Option<&str> {
        attr_of(&self.properties, name)
    }

    /// `Drive "F:" {uid}`, prefixed by its collections: stable across edits of the item.
    pub fn key(&self) -> String {
        let mut key: String = self.collection.iter().map(|c| format!("{c}/")).collect();
        key.push_str(&self.element);
        if let Some(name) = &self.name {
            key.push_str(&format!(" \"{name}\""));
        }
        if let Some(uid) = &self.uid {
            key.push(' ');
            key.push_str(uid);
        }
        key
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreferenceFile {
    original: Vec<u8>,
    source: String,
    encoding: TextEncoding,
    slots: Vec<Slot>,
    root: XmlElement,
}

/// Builds the element tree while recording where each value sits.
struct TreeBuilder<'a> {
    source: &'a str,
    slots: Vec<Slot>,
    stack: Vec<XmlElement>,
    root: Option<XmlElement>,
    /// A text run being collected: its start, end and unescaped value.
    text: Option<(usize, usize, String)>,
}

fn malformed(position: usize, detail: impl Into<String>) -> FormatError {
    FormatError::new(FILE_NAME, None, Problem::Malformed { position: position as u64, detail: detail.into() })
}

impl TreeBuilder<'_> {
    fn flush_text(&mut self) {
        if let Some((start, end, value)) = self.text.take()
            && let Some(parent) = self.stack.last_mut()
        {
            self.slots.push(Slot { range: start..end, value, quote: None, changed: false });
            parent.children.push(XmlChild::Text(self.slots.len() - 1));
        }
    }

    fn add_text(&mut self, start: usize, end: usize, value: &str) -> Result<(), FormatError> {
        if self.stack.is_empty() {
            if value.chars().all(char::is_whitespace) {
                return Ok(());
            }
            return Err(malformed(start, "text outside the root element"));
        }
        match &mut self.text {
            Some((_, run_end, run)) => {
                *run_end = end;
                run.push_str(value);
            }
            None => self.text = Some((start, end, value.to_string())),
        }
        Ok(())
    }

    fn element(&mut self, start: &BytesStart<'_>, position: usize) -> Result<XmlElement, FormatError> {
        let name =
            std::str::from_utf8(start.name().as_ref()).map_err(|e| malformed(position, e.to_string()))?.to_string();
        let base = self.source.as_ptr() as usize;
        let mut attributes = Vec::new();
        for attr in start.attributes() {
            let attr = attr.map_err(|e| malformed(position, e.to_string()))?;
            let key =
                std::str::from_utf8(attr.key.as_ref()).map_err(|e| malformed(position, e.to_string()))?.to_string();
            let value = attr.unescape_value().map_err(|e| malformed(position, e.to_string()))?.into_owned();
            // The raw value is a slice of the source (quick-xml borrows when reading a str):
            // its address gives its place.
            let raw = attr.value.as_ref();
            let offset = (raw.as_ptr() as usize).wrapping_sub(base);
            let end = offset.wrapping_add(raw.len());
            let located = matches!(attr.value, Cow::Borrowed(_))
                && offset >= 1
                && end < self.source.len()
                && self.source.is_char_boundary(offset)
                && self.source.is_char_boundary(end);
            let quote = match located.then(|| self.source.as_bytes()[offset - 1]) {
                Some(b'"') => '"',
                Some(b'\'') => '\'',
                _ => return Err(malformed(position, format!("cannot locate the value of attribute {key}"))),
            };
            self.slots.push(Slot { range: offset..end, value, quote: Some(quote), changed: false });
            attributes.push((key, self.slots.len() - 1));
        }
        Ok(XmlElement { name, attributes, children: Vec::new() })
    }

    fn close(&mut self, element: XmlElement, position: usize) -> Result<(), FormatError> {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(XmlChild::Element(element)),
            None if self.root.is_none() => self.root = Some(element),
            None => return Err(malformed(position, "more than one root element")),
        }
        Ok(())
    }
}

impl PreferenceFile {
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let (source, encoding) = decode_text(bytes, FILE_NAME)?;
        let mut reader = Reader::from_str(&source);
        reader.config_mut().trim_text(false);
        let mut builder = TreeBuilder { source: &source, slots: Vec::new(), stack: Vec::new(), root: None, text: None };
        loop {
            let before = reader.buffer_position() as usize;
            let event = reader.read_event().map_err(|e| malformed(reader.error_position() as usize, e.to_string()))?;
            let after = reader.buffer_position() as usize;
            if !matches!(event, Event::Text(_) | Event::GeneralRef(_)) {
                builder.flush_text();
            }
            match event {
                Event::Start(start) => {
                    if builder.root.is_some() && builder.stack.is_empty() {
                        return Err(malformed(before, "more than one root element"));
                    }
                    if builder.stack.len() >= MAX_DEPTH {
                        return Err(malformed(before, format!("nested deeper than {MAX_DEPTH}")));
                    }
                    let element = builder.element(&start, before)?;
                    builder.stack.push(element);
                }
                Event::Empty(start) => {
                    let element = builder.element(&start, before)?;
                    builder.close(element, before)?;
                }
                Event::End(_) => {
                    let element = builder.stack.pop().ok_or_else(|| malformed(before, "stray end tag"))?;
                    builder.close(element, before)?;
                }
                Event::Text(text) => {
                    let value = text.decode().map_err(|e| malformed(before, e.to_string()))?;
                    builder.add_text(before, after, &value)?;
                }
                Event::GeneralRef(reference) => {
                    let value = match reference.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => match reference.decode().map_err(|e| malformed(before, e.to_string()))?.as_ref() {
                            "amp" => "&".into(),
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "quot" => "\"".into(),
                            "apos" => "'".into(),
                            other => return Err(malformed(before, format!("unknown entity &{other};"))),
                        },
                        Err(e) => return Err(malformed(before, e.to_string())),
                    };
                    builder.add_text(before, after, &value)?;
                }
                Event::CData(data) => {
                    let value = data.decode().map_err(|e| malformed(before, e.to_string()))?.into_owned();
                    let parent = builder.stack.last_mut().ok_or_else(|| malformed(before, "CDATA outside the root"))?;
                    parent.children.push(XmlChild::CData(value));
                }
                Event::Decl(_) | Event::Comment(_) => {}
                // Refused, as GPMC never writes them: keeps entity tricks out of files that may
                // come from an untrusted share.
                Event::DocType(_) => return Err(malformed(before, "DOCTYPE declarations are not supported")),
                Event::PI(_) => return Err(malformed(before, "processing instructions are not supported")),
                Event::Eof => break,
            }
        }
        if let Some(open) = builder.stack.last() {
            return Err(malformed(source.len(), format!("file ends inside <{}>", open.name)));
        }
        let root = builder.root.ok_or_else(|| malformed(0, "no root element"))?;
        let slots = builder.slots;
        Ok(PreferenceFile { original: bytes.to_vec(), source, encoding, slots, root })
    }

    /// The file: as read when nothing changed, else the source with changed values re-escaped.
    pub fn to_bytes(&self) -> Vec<u8> {
        if !self.slots.iter().any(|s| s.changed) {
            return self.original.clone();
        }
        let mut order: Vec<&Slot> = self.slots.iter().filter(|s| s.changed).collect();
        order.sort_by_key(|s| s.range.start);
        let mut out = String::with_capacity(self.source.len() + 64);
        let mut at = 0;
        for slot in order {
            out.push_str(&self.source[at..slot.range.start]);
            match slot.quote {
                Some(quote) => {
                    let escaped = escape_attribute(&slot.value);
                    if quote == '\'' { out.push_str(&escaped.replace('\'', "&apos;")) } else { out.push_str(&escaped) }
                }
                None => out.push_str(&escape_text(&slot.value)),
            }
            at = slot.range.end;
        }
        out.push_str(&self.source[at..]);
        encode_text(&out, self.encoding)
    }

    /// The root element: `Drives`, `Groups`, `RegistrySettings`, `NTServices`...
    pub fn kind(&self) -> &str {
        &self.root.name
    }

    pub fn root_clsid(&self) -> Option<&str> {
        self.root.attributes.iter().find(|(k, _)| k == "clsid").map(|(_, s)| self.slots[*s].value.as_str())
    }

    /// The file's usual name: `Drives.xml`; `Registry.xml` and `Services.xml` for the two
    /// kinds whose root element is named differently.
    pub fn file_name(&self) -> String {
        match self.root.name.as_str() {
            "RegistrySettings" => "Registry.xml".into(),
            "NTServices" => "Services.xml".into(),
            other => format!("{other}.xml"),
        }
    }

    fn node(&self, element: &XmlElement) -> PreferenceNode {
        let mut node = PreferenceNode {
            element: element.name.clone(),
            attributes: self.attributes(element),
            text: String::new(),
            children: Vec::new(),
        };
        for child in &element.children {
            match child {
                XmlChild::Element(e) => node.children.push(self.node(e)),
                XmlChild::Text(s) => node.text.push_str(&self.slots[*s].value),
                XmlChild::CData(t) => node.text.push_str(t),
            }
        }
        node
    }

    fn attributes(&self, element: &XmlElement) -> Vec<(String, String)> {
        element.attributes.iter().map(|(k, s)| (k.clone(), self.slots[*s].value.clone())).collect()
    }

    /// Every item, collections flattened (each item says which collections hold it).
    pub fn items(&self) -> Vec<PreferenceItem> {
        let mut items = Vec::new();
        self.collect_items(&self.root, &mut Vec::new(), &mut items);
        items
    }

    fn collect_items(&self, parent: &XmlElement, collection: &mut Vec<String>, items: &mut Vec<PreferenceItem>) {
        for child in child_elements(parent) {
            if child.name == "Collection" {
                let name =
                    self.attributes(child).into_iter().find(|(k, _)| k == "name").map_or(String::new(), |(_, v)| v);
                collection.push(name);
                self.collect_items(child, collection, items);
                collection.pop();
                continue;
            }
            let attributes = self.attributes(child);
            let get = |name: &str| attr_of(&attributes, name).map(str::to_string);
            let mut item = PreferenceItem {
                element: child.name.clone(),
                clsid: get("clsid"),
                name: get("name"),
                uid: get("uid"),
                changed: get("changed"),
                collection: collection.clone(),
                ..PreferenceItem::default()
            };
            item.attributes = attributes;
            for part in child_elements(child) {
                match part.name.as_str() {
                    "Properties" if item.properties.is_empty() => {
                        item.properties = self.attributes(part);
                        item.details = child_elements(part).map(|e| self.node(e)).collect();
                    }
                    "Filters" => item.filters.extend(child_elements(part).map(|e| self.node(e))),
                    _ => item.other.push(self.node(part)),
                }
            }
            items.push(item);
        }
    }

    /// For each item: its own attributes (as `@name`; not clsid, name, uid, image), its
    /// properties (by name), and each detail and filter (`Members/Member[2]`, `Filters/FilterGroup`)
    /// with its attributes and text.
    pub fn settings(&self) -> Vec<Setting> {
        let file = self.file_name();
        let mut settings = Vec::new();
        for item in self.items() {
            let path = item.key();
            let mut push = |name: String, value: String| {
                settings.push(Setting::new(SettingArea::Preferences, path.clone(), name, value).in_file(&file));
            };
            for (k, v) in &item.attributes {
                if !["clsid", "name", "uid", "image"].contains(&k.as_str()) {
                    push(format!("@{k}"), v.clone());
                }
            }
            for (k, v) in &item.properties {
                push(k.clone(), v.clone());
            }
            flatten("", &item.details, &mut push);
            flatten("Filters/", &item.filters, &mut push);
            flatten("", &item.other, &mut push);
        }
        settings
    }

    /// Principals (`sid`, a `name` next to a `sid`, `userName`, `accountName`, `runAs`, task
    /// `UserId`) and paths (`path`, `targetPath`, `fromPath`, `location`..., any UNC value).
    pub fn references(&self) -> Vec<Reference> {
        references::collect(self, |file, edit| file.for_each_reference_mut(edit))
    }

    /// Offers each principal and path to `edit`; what it changes is re-escaped in place.
    pub fn for_each_reference_mut(&mut self, edit: &mut EditReference<'_>) -> Result<usize, FormatError> {
        let mut editor = ReferenceEditor::new(edit, self.file_name(), self.encoding, &NOT_IN_XML);
        let root = self.root.clone();
        for child in child_elements(&root) {
            self.walk_item_level(child, &mut Vec::new(), &mut editor)?;
        }
        Ok(editor.changed)
    }

    fn walk_item_level(
        &mut self,
        element: &XmlElement,
        collection: &mut Vec<String>,
        editor: &mut ReferenceEditor<'_, '_>,
    ) -> Result<(), FormatError> {
        let value_of = |file: &Self, name: &str| {
            element.attributes.iter().find(|(k, _)| k == name).map(|(_, s)| file.slots[*s].value.clone())
        };
        if element.name == "Collection" {
            collection.push(value_of(self, "name").unwrap_or_default());
            for child in child_elements(element) {
                self.walk_item_level(child, collection, editor)?;
            }
            collection.pop();
            return Ok(());
        }
        let item = PreferenceItem {
            element: element.name.clone(),
            name: value_of(self, "name"),
            uid: value_of(self, "uid"),
            collection: collection.clone(),
            ..PreferenceItem::default()
        };
        self.walk(element, &item.key(), "", editor)
    }

    /// Offers the references of `element` and everything below it; `path` is its place within
    /// the item (`Properties/Members/Member/`).
    fn walk(
        &mut self,
        element: &XmlElement,
        item: &str,
        path: &str,
        editor: &mut ReferenceEditor<'_, '_>,
    ) -> Result<(), FormatError> {
        let lower_names: Vec<String> = element.attributes.iter().map(|(k, _)| k.to_ascii_lowercase()).collect();
        // A `name` beside a `sid` is an account even when the SID was left empty (unresolved).
        let has = |name: &str| lower_names.iter().any(|k| k == name);
        let mut offers = Vec::new();
        for ((name, slot), lower) in element.attributes.iter().zip(&lower_names) {
            let value = &self.slots[*slot].value;
            if value.trim().is_empty() {
                continue;
            }
            let paired_sid = lower.strip_suffix("name").map(|prefix| format!("{prefix}sid"));
            let whole = if lower != "clsid" && lower.ends_with("sid") {
                Some(ReferenceKind::Sid)
            } else if paired_sid.is_some_and(|sid| has(&sid)) || ACCOUNT_ATTRIBUTES.contains(&lower.as_str()) {
                Some(ReferenceKind::AccountName)
            } else if PATH_ATTRIBUTES.contains(&lower.as_str()) {
                path_kind(value)
            } else {
                None
            };
            offers.push((*slot, whole, format!("{path}@{name}")));
        }
        let lower_element = element.name.to_ascii_lowercase();
        for child in &element.children {
            if let XmlChild::Text(slot) = child {
                let value = self.slots[*slot].value.trim();
                if value.is_empty() {
                    continue;
                }
                let whole = if ACCOUNT_ELEMENTS.contains(&lower_element.as_str()) {
                    Some(if is_sid(value) { ReferenceKind::Sid } else { ReferenceKind::AccountName })
                } else if PATH_ELEMENTS.contains(&lower_element.as_str()) {
                    path_kind(value)
                } else {
                    None
                };
                offers.push((*slot, whole, format!("{path}text()")));
            }
        }
        for (slot, whole, attribute) in offers {
            let value = self.slots[slot].value.clone();
            let new = match whole {
                Some(kind) if kind.is_principal() => {
                    let trimmed = value.trim();
                    let start = value.len() - value.trim_start().len();
                    editor.offer(kind, trimmed, item, &attribute)?.map(|new| {
                        let mut whole = value.clone();
                        whole.replace_range(start..start + trimmed.len(), &new);
                        whole
                    })
                }
                whole => editor.offer_value(&value, whole, item, &attribute)?,
            };
            if let Some(new) = new {
                let slot = &mut self.slots[slot];
                slot.value = new;
                slot.changed = true;
            }
        }
        for child in child_elements(element) {
            self.walk(child, item, &format!("{path}{}/", child.name), editor)?;
        }
        Ok(())
    }
}

fn child_elements(element: &XmlElement) -> impl Iterator<Item = &XmlElement> {
    element.children.iter().filter_map(|c| match c {
        XmlChild::Element(e) => Some(e),
        _ => None,
    })
}

/// Settings for nodes below an item: `prefix + Element[n]` (the index only where siblings share
/// a name), valued by their attributes and text; nodes with neither only lead to their children.
fn flatten(prefix: &str, nodes: &[PreferenceNode], push: &mut dyn FnMut(String, String)) {
    for (index, node) in nodes.iter().enumerate() {
        let same = nodes.iter().filter(|n| n.element == node.element).count();
        let name = if same > 1 {
            let nth = nodes[..=index].iter().filter(|n| n.element == node.element).count();
            format!("{prefix}{}[{nth}]", node.element)
        } else {
            format!("{prefix}{}", node.element)
        };
        let mut parts: Vec<String> = node.attributes.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        if !node.text.trim().is_empty() {
            parts.push(node.text.trim().to_string());
        }
        if !parts.is_empty() {
            push(name.clone(), parts.join(" "));
        }
        flatten(&format!("{name}/"), &node.children, push);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::gpttmpl_inf::{AccountRef, GptTmpl};
    use crate::formats::sysvol_samples::{self, corp_lab, replace_all, replace_once};
    use proptest::prelude::*;

    const DOMAIN: &str = "S-1-5-21-2547487806-3473117116-509599669";

    /// scripts/seed_gpos.py's `groups_xml` for "Local Admins via GPP".
    fn groups() -> String {
        let d = DOMAIN;
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Groups clsid=\"{{3125E937-EB16-4b4c-9934-544FC6D24D26}}\">\
             <Group clsid=\"{{6D4A79E4-529C-4481-ABD0-F5BD7EA93BA7}}\" name=\"Administrators (built-in)\" image=\"2\" changed=\"2024-06-18 05:09:53\" uid=\"{{7ADB3C59-7531-4E53-9F93-164685E837B9}}\">\
             <Properties action=\"U\" newName=\"\" description=\"\" deleteAllUsers=\"0\" deleteAllGroups=\"0\" removeAccounts=\"0\" groupSid=\"S-1-5-32-544\" groupName=\"Administrators (built-in)\">\
             <Members><Member name=\"CORP\\Workstation Admins\" action=\"ADD\" sid=\"{d}-1111\"/><Member name=\"CORP\\Helpdesk\" action=\"ADD\" sid=\"{d}-1109\"/></Members></Properties></Group>\
             <Group clsid=\"{{6D4A79E4-529C-4481-ABD0-F5BD7EA93BA7}}\" name=\"Remote Desktop Users (built-in)\" image=\"2\" changed=\"2024-09-12 02:24:57\" uid=\"{{68AAAAB3-8EEA-4A72-B5D1-281CED9F541B}}\">\
             <Properties action=\"U\" newName=\"\" description=\"\" deleteAllUsers=\"0\" deleteAllGroups=\"0\" removeAccounts=\"0\" groupSid=\"S-1-5-32-555\" groupName=\"Remote Desktop Users (built-in)\">\
             <Members><Member name=\"CORP\\Helpdesk\" action=\"ADD\" sid=\"{d}-1109\"/></Members></Properties></Group></Groups>"
        )
    }

    /// scripts/seed_gpos.py's `drives_xml` for "Finance Drive Maps".
    fn drives() -> String {
        let drive = |letter: &str, unc: &str, label: &str, uid: &str, filter: bool| {
            let filters = if filter {
                format!(
                    "<Filters><FilterGroup bool=\"AND\" not=\"0\" name=\"CORP\\Finance Users\" sid=\"{DOMAIN}-1110\" userContext=\"1\" primaryGroup=\"0\" localGroup=\"0\"/></Filters>"
                )
            } else {
                String::new()
            };
            format!(
                "<Drive clsid=\"{{935D1B74-9CB8-4e3c-9914-7DD559B7A417}}\" name=\"{letter}:\" status=\"{letter}:\" image=\"2\" changed=\"2024-12-02 00:45:20\" uid=\"{uid}\" bypassErrors=\"1\">\
                 <Properties action=\"U\" thisDrive=\"NOCHANGE\" allDrives=\"NOCHANGE\" userName=\"\" path=\"{unc}\" label=\"{label}\" persistent=\"1\" useLetter=\"1\" letter=\"{letter}\"/>{filters}</Drive>"
            )
        };
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Drives clsid=\"{{8FDDCC1A-0C3C-43cd-A6B4-71A6DF20DA8C}}\">{}{}{}</Drives>",
            drive("F", r"\\fs01.corp.example.test\finance", "Finance", "{62B63B73-ADDB-4DED-A3F5-7FC13C98EB49}", true),
            drive(
                "R",
                r"\\fs01.corp.example.test\finance\reports",
                "Reports",
                "{91EA7C8B-591D-47B7-B816-CC90032B80F8}",
                true
            ),
            drive(
                "H",
                r"\\fs01.corp.example.test\home\%USERNAME%",
                "Home",
                "{4F5F78F3-76F0-40FE-9AC8-138158D40538}",
                false
            ),
        )
    }

    /// A Scheduled Task as GPMC writes one (run as SYSTEM, a UNC program), in a collection,
    /// with a BOM, single quotes and entities.
    fn tasks() -> String {
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<ScheduledTasks clsid=\"{CC63F200-7309-4ba0-B154-A71CD118DBCC}\">\r\n\
         \t<Collection clsid=\"{53B533F5-224C-47e3-B01B-CA3B3F3FF4BF}\" name=\"Nightly &amp; weekly\">\r\n\
         \t\t<TaskV2 clsid=\"{D8896631-B747-47a7-84A6-C155337F3BC8}\" name=\"Inventory\" image=\"2\" changed=\"2024-05-01 10:00:00\" uid=\"{0A1B2C3D-0000-4000-8000-000000000001}\" userContext=\"0\" removePolicy=\"0\">\
         <Properties action=\"U\" name=\"Inventory\" runAs=\"NT AUTHORITY\\System\" logonType=\"S4U\">\
         <Task version=\"1.2\"><Principals><Principal id=\"Author\"><UserId>S-1-5-18</UserId></Principal></Principals>\
         <Actions Context=\"Author\"><Exec><Command>\\\\fs01.corp.example.test\\tools\\inventory.exe</Command>\
         <Arguments>/out \\\\fs01.corp.example.test\\logs /q &amp; exit</Arguments></Exec></Actions></Task></Properties>\
         <Filters><FilterUser bool='AND' not='0' name='CORP\\alice.finance' sid='S-1-5-21-9-9-9-1105'/></Filters></TaskV2>\r\n\
         \t</Collection>\r\n</ScheduledTasks>\r\n"
            .to_string()
    }

    fn parse(text: &str) -> PreferenceFile {
        PreferenceFile::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn seeded_groups_read_and_write_back() {
        let text = groups();
        let file = parse(&text);
        assert_eq!(file.to_bytes(), text.as_bytes());
        assert_eq!((file.kind(), file.file_name().as_str()), ("Groups", "Groups.xml"));
        assert_eq!(file.root_clsid(), Some("{3125E937-EB16-4b4c-9934-544FC6D24D26}"));
        let items = file.items();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].element, "Group");
        assert_eq!(items[0].name.as_deref(), Some("Administrators (built-in)"));
        assert_eq!(items[0].uid.as_deref(), Some("{7ADB3C59-7531-4E53-9F93-164685E837B9}"));
        assert_eq!(items[0].property("groupSid"), Some("S-1-5-32-544"));
        let members = &items[0].details[0];
        assert_eq!(members.element, "Members");
        assert_eq!(members.children[1].attr("name"), Some("CORP\\Helpdesk"));
        assert_eq!(members.children[1].attr("sid"), Some(format!("{DOMAIN}-1109").as_str()));
    }

    #[test]
    fn seeded_drives_read_with_filters() {
        let file = parse(&drives());
        let items = file.items();
        assert_eq!(items.len(), 3);
        assert_eq!(items[1].property("path"), Some(r"\\fs01.corp.example.test\finance\reports"));
        assert_eq!(items[0].filters[0].element, "FilterGroup");
        assert_eq!(items[0].filters[0].attr("sid"), Some(format!("{DOMAIN}-1110").as_str()));
        assert!(items[2].filters.is_empty());
        assert_eq!(items[0].key(), "Drive \"F:\" {62B63B73-ADDB-4DED-A3F5-7FC13C98EB49}");
    }

    #[test]
    fn settings_list_item_attributes_properties_details_and_filters() {
        let settings = parse(&drives()).settings();
        let f = "Drive \"F:\" {62B63B73-ADDB-4DED-A3F5-7FC13C98EB49}";
        let of = |name: &str| settings.iter().find(|s| s.path == f && s.name == name).map(|s| s.value.clone());
        assert_eq!(of("path").as_deref(), Some(r"\\fs01.corp.example.test\finance"));
        assert_eq!(of("@changed").as_deref(), Some("2024-12-02 00:45:20"));
        assert_eq!(of("@bypassErrors").as_deref(), Some("1"));
        assert!(of("@uid").is_none() && of("@clsid").is_none());
        let filter = of("Filters/FilterGroup").unwrap();
        assert!(filter.contains(&format!("name=\"CORP\\Finance Users\" sid=\"{DOMAIN}-1110\"")), "{filter}");
        assert!(settings.iter().all(|s| s.area == SettingArea::Preferences));

        let groups = parse(&groups()).settings();
        let member = groups.iter().find(|s| s.name == "Members/Member[2]").unwrap();
        assert_eq!(member.value, format!("name=\"CORP\\Helpdesk\" action=\"ADD\" sid=\"{DOMAIN}-1109\""));
        let tasks = parse(&tasks()).settings();
        let command = tasks.iter().find(|s| s.name == "Task/Actions/Exec/Command").unwrap();
        assert_eq!(command.path, "Nightly & weekly/TaskV2 \"Inventory\" {0A1B2C3D-0000-4000-8000-000000000001}");
        assert_eq!(command.value, r"\\fs01.corp.example.test\tools\inventory.exe");
    }

    #[test]
    fn references_name_every_principal_and_path() {
        let refs = parse(&groups()).references();
        let listed: Vec<(ReferenceKind, &str, &str)> =
            refs.iter().map(|r| (r.kind, r.value.as_str(), r.attribute.as_str())).collect();
        let helpdesk = format!("{DOMAIN}-1109");
        assert_eq!(
            listed[..4],
            [
                (ReferenceKind::Sid, "S-1-5-32-544", "Properties/@groupSid"),
                (ReferenceKind::AccountName, "Administrators (built-in)", "Properties/@groupName"),
                (ReferenceKind::AccountName, "CORP\\Workstation Admins", "Properties/Members/Member/@name"),
                (ReferenceKind::Sid, &format!("{DOMAIN}-1111") as &str, "Properties/Members/Member/@sid"),
            ]
        );
        assert_eq!(refs.iter().filter(|r| r.value == helpdesk).count(), 2);
        assert!(refs.iter().all(|r| r.file == "Groups.xml"));

        let unresolved = parse(
            "<Groups><Group name=\"G\"><Properties groupName=\"Local\" groupSid=\"\"><Members>\
                                <Member name=\"CORP\\Gone\" action=\"ADD\" sid=\"\"/></Members></Properties></Group></Groups>",
        );
        let listed: Vec<(ReferenceKind, String)> =
            unresolved.references().into_iter().map(|r| (r.kind, r.value)).collect();
        assert_eq!(
            listed,
            [(ReferenceKind::AccountName, "Local".into()), (ReferenceKind::AccountName, "CORP\\Gone".into())]
        );

        let refs = parse(&drives()).references();
        let paths: Vec<&str> =
            refs.iter().filter(|r| r.kind == ReferenceKind::UncPath).map(|r| r.value.as_str()).collect();
        assert_eq!(paths.len(), 3);
        assert_eq!(refs.iter().filter(|r| r.kind == ReferenceKind::Sid).count(), 2);
        assert_eq!(refs[0].at, "Drive \"F:\" {62B63B73-ADDB-4DED-A3F5-7FC13C98EB49}");

        let refs = parse(&tasks()).references();
        let listed: Vec<(ReferenceKind, &str)> = refs.iter().map(|r| (r.kind, r.value.as_str())).collect();
        assert_eq!(
            listed,
            [
                (ReferenceKind::AccountName, "NT AUTHORITY\\System"),
                (ReferenceKind::Sid, "S-1-5-18"),
                (ReferenceKind::UncPath, r"\\fs01.corp.example.test\tools\inventory.exe"),
                (ReferenceKind::UncPath, r"\\fs01.corp.example.test\logs"),
                (ReferenceKind::AccountName, "CORP\\alice.finance"),
                (ReferenceKind::Sid, "S-1-5-21-9-9-9-1105"),
            ]
        );
        assert_eq!(refs[1].attribute, "Properties/Task/Principals/Principal/UserId/text()");
    }

    #[test]
    fn editing_one_sid_and_one_path_changes_only_those() {
        let original = drives();
        let mut file = parse(&original);
        let finance = format!("{DOMAIN}-1110");
        let changed = file
            .for_each_reference_mut(&mut |_, v| {
                if *v == finance {
                    *v = "S-1-5-21-1-2-3-4444".into();
                }
                if v == r"\\fs01.corp.example.test\finance\reports" {
                    *v = r"\\nas.branch.example.test\fin & reports".into();
                }
            })
            .unwrap();
        assert_eq!(changed, 3);
        let (expected, n) = replace_all(original.as_bytes(), finance.as_bytes(), b"S-1-5-21-1-2-3-4444");
        assert_eq!(n, 2);
        let expected = replace_once(
            &expected,
            br#"path="\\fs01.corp.example.test\finance\reports""#,
            br#"path="\\nas.branch.example.test\fin &amp; reports""#,
        );
        assert_eq!(file.to_bytes(), expected);
        let again = PreferenceFile::parse(&expected).unwrap();
        assert_eq!(again.items()[1].property("path"), Some(r"\\nas.branch.example.test\fin & reports"));
    }

    #[test]
    fn edits_keep_bom_quotes_and_untouched_entities() {
        let original = tasks();
        let mut file = parse(&original);
        file.for_each_reference_mut(&mut |r, v| {
            if r.kind == ReferenceKind::AccountName && v.starts_with("CORP\\") {
                *v = "BRANCH\\o'neil".into();
            }
            if v.ends_with(r"\logs") {
                *v = r"\\fs02\logs<new>".into();
            }
        })
        .unwrap();
        let expected = replace_once(original.as_bytes(), b"name='CORP\\alice.finance'", b"name='BRANCH\\o&apos;neil'");
        // A text run is written back whole: its entity is re-escaped the way it was.
        let expected = replace_once(
            &expected,
            br"<Arguments>/out \\fs01.corp.example.test\logs /q &amp; exit</Arguments>",
            br"<Arguments>/out \\fs02\logs&lt;new&gt; /q &amp; exit</Arguments>",
        );
        assert_eq!(file.to_bytes(), expected);
        assert!(file.to_bytes().starts_with(&[0xEF, 0xBB, 0xBF]));
        let err = file.for_each_reference_mut(&mut |_, v| v.push('\u{1}')).unwrap_err();
        assert!(err.to_string().contains("ScheduledTasks.xml"), "{err}");
    }

    #[test]
    fn damaged_or_unsafe_files_are_refused_with_a_position() {
        for (bad, expected) in [
            ("<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>", "DOCTYPE"),
            ("<Drives><Drive></Drives>", "near byte"),
            ("<a>&e;</a>", "unknown entity"),
            ("<a/><b/>", "more than one root"),
            ("", "no root element"),
            ("<a x=1/>", "near byte"),
        ] {
            let err = PreferenceFile::parse(bad.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(expected), "{bad}: {err}");
            assert!(err.to_string().starts_with(FILE_NAME), "{err}");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert!(PreferenceFile::parse(deep.as_bytes()).is_err());
    }

    fn is_preference_xml(path: &std::path::Path) -> bool {
        path.to_string_lossy().contains("/Preferences/")
    }

    #[test]
    fn vendored_and_lab_preferences_round_trip() {
        let xml = |name: &str| name.ends_with(".xml");
        let files: Vec<_> = sysvol_samples::fixture_files(&xml)
            .into_iter()
            .chain(sysvol_samples::lab_files(&xml))
            .filter(|p| is_preference_xml(p))
            .collect();
        for path in &files {
            let bytes = sysvol_samples::read(path);
            let file = PreferenceFile::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(file.to_bytes(), bytes, "{}", path.display());
            assert!(!file.items().is_empty(), "{}", path.display());
            // Changing nothing writes nothing new.
            let mut copy = file.clone();
            assert_eq!(copy.for_each_reference_mut(&mut |_, _| {}).unwrap(), 0);
            assert_eq!(copy.to_bytes(), bytes);
        }
        let Some(lab) = corp_lab() else { return };
        assert!(files.len() >= 2, "{files:?}");
        let domain = lab.domain_sid();
        let nb = lab.netbios();

        let groups =
            PreferenceFile::parse(&lab.file("Local Admins via GPP", "Machine/Preferences/Groups/Groups.xml")).unwrap();
        let admins = &groups.items()[0];
        assert_eq!(admins.property("groupSid"), Some("S-1-5-32-544"));
        let members = &admins.details[0].children;
        assert_eq!(members[0].attr("name"), Some(format!("{nb}\\Workstation Admins").as_str()));
        let helpdesk = members[1].attr("sid").unwrap();
        assert!(helpdesk.starts_with(&format!("{domain}-")));
        // The same group, by SID, in another file of another GPO: Workstation Baseline grants it
        // remote logon (third account of SeRemoteInteractiveLogonRight in seed_gpos.py).
        let baseline =
            GptTmpl::parse(&lab.file("Workstation Baseline", "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"))
                .unwrap();
        let rights = baseline.privilege_rights().unwrap();
        let remote = rights.iter().find(|r| r.right == "SeRemoteInteractiveLogonRight").unwrap();
        assert_eq!(remote.accounts[2], AccountRef::Sid(helpdesk.to_string()));

        let drives =
            PreferenceFile::parse(&lab.file("Finance Drive Maps", "User/Preferences/Drives/Drives.xml")).unwrap();
        let items = drives.items();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].property("path"), Some(format!(r"\\fs01.{}\finance", lab.realm()).as_str()));
        assert_eq!(items[0].filters[0].attr("name"), Some(format!("{nb}\\Finance Users").as_str()));
        assert!(items[0].filters[0].attr("sid").unwrap().starts_with(&format!("{domain}-")));
        assert!(items[2].filters.is_empty());
        let refs = drives.references();
        assert_eq!(refs.iter().filter(|r| r.kind == ReferenceKind::UncPath).count(), 3);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(mut file) = PreferenceFile::parse(&bytes) {
                prop_assert_eq!(&file.to_bytes(), &bytes);
                let _ = (file.items(), file.settings(), file.references());
                let _ = file.for_each_reference_mut(&mut |_, v| v.push('x'));
                let _ = file.to_bytes();
            }
        }

        #[test]
        fn xml_like_text_never_panics(text in "[<>/=\"' a-zA-Z&;#x0-9\\\\S-]{0,80}") {
            if let Ok(mut file) = PreferenceFile::parse(text.as_bytes()) {
                prop_assert_eq!(file.to_bytes(), text.as_bytes());
                let _ = file.for_each_reference_mut(&mut |_, v| v.push('&'));
                let again = PreferenceFile::parse(&file.to_bytes());
                prop_assert!(again.is_ok());
            }
        }

        #[test]
        fn generated_drives_round_trip_and_edit(
            drives in proptest::collection::vec(("[A-Z]", "[a-z0-9]{1,8}", "[ a-zA-Z&<>\"'é]{0,10}"), 1..5),
            bom in any::<bool>(),
        ) {
            let mut text = String::from(if bom { "\u{feff}" } else { "" });
            text.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Drives clsid=\"{8FDDCC1A-0C3C-43cd-A6B4-71A6DF20DA8C}\">");
            for (i, (letter, share, label)) in drives.iter().enumerate() {
                let label = escape_attribute(label);
                text.push_str(&format!(
                    "<Drive clsid=\"{{935D1B74-9CB8-4e3c-9914-7DD559B7A417}}\" name=\"{letter}:\" uid=\"{{{i}}}\"><Properties path=\"\\\\srv\\{share}\" label=\"{label}\"/></Drive>"
                ));
            }
            text.push_str("</Drives>");
            let mut file = PreferenceFile::parse(text.as_bytes()).unwrap();
            prop_assert_eq!(file.to_bytes(), text.as_bytes());
            let items = file.items();
            prop_assert_eq!(items.len(), drives.len());
            for (item, (_, share, label)) in items.iter().zip(&drives) {
                let expected = format!("\\\\srv\\{share}");
                prop_assert_eq!(item.property("path"), Some(expected.as_str()));
                prop_assert_eq!(item.property("label"), Some(label.as_str()));
            }
            let n = file.for_each_reference_mut(&mut |_, v| *v = v.replace("\\\\srv\\", "\\\\new & \"srv\"\\")).unwrap();
            prop_assert_eq!(n, drives.len());
            let again = PreferenceFile::parse(&file.to_bytes()).unwrap();
            for (item, (_, share, label)) in again.items().iter().zip(&drives) {
                let expected = format!("\\\\new & \"srv\"\\{share}");
                prop_assert_eq!(item.property("path"), Some(expected.as_str()));
                prop_assert_eq!(item.property("label"), Some(label.as_str()));
            }
        }
    }
}
