//! `registry.pol`: the Administrative Templates settings of one half of a GPO (MS-GPREG).
//!
//! ```text
//! "PReg" 01 00 00 00                       signature and version 1
//! [key\0;value\0;type;size;data]           repeated; text in UTF-16LE, [ ; ] as UTF-16 units,
//!                                          type and size as little-endian u32
//! ```
//!
//! Value names starting with `**` are instructions rather than values (`**del.Name` deletes a
//! value, `**delvals.` all values of the key...); they stay entries like any other and
//! [`PolEntry::action`] says what they do.
//!
//! The file is kept as read: an entry that was not changed is written back from its original
//! bytes, so only edited entries are re-encoded (with their size recomputed).

use std::ops::Range;

use super::error::{FormatError, Problem};
use super::references::{self, EditReference, Reference, ReferenceEditor};
use super::settings::{Setting, SettingArea};
use super::text::TextEncoding;

pub const FILE_NAME: &str = "registry.pol";
const SIGNATURE: &[u8; 4] = b"PReg";
pub const VERSION: u32 = 1;

/// A registry value type (`REG_DWORD` is 4). Kept as the number written, known or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct RegType(pub u32);

impl RegType {
    pub const NONE: RegType = RegType(0);
    pub const SZ: RegType = RegType(1);
    pub const EXPAND_SZ: RegType = RegType(2);
    pub const BINARY: RegType = RegType(3);
    pub const DWORD: RegType = RegType(4);
    pub const DWORD_BIG_ENDIAN: RegType = RegType(5);
    pub const LINK: RegType = RegType(6);
    pub const MULTI_SZ: RegType = RegType(7);
    pub const QWORD: RegType = RegType(11);

    pub fn name(self) -> String {
        let known = match self.0 {
            0 => "REG_NONE",
            1 => "REG_SZ",
            2 => "REG_EXPAND_SZ",
            3 => "REG_BINARY",
            4 => "REG_DWORD",
            5 => "REG_DWORD_BIG_ENDIAN",
            6 => "REG_LINK",
            7 => "REG_MULTI_SZ",
            8 => "REG_RESOURCE_LIST",
            9 => "REG_FULL_RESOURCE_DESCRIPTOR",
            10 => "REG_RESOURCE_REQUIREMENTS_LIST",
            11 => "REG_QWORD",
            other => return format!("type {other}"),
        };
        known.to_string()
    }

    fn holds_text(self) -> bool {
        matches!(self, RegType::SZ | RegType::EXPAND_SZ | RegType::MULTI_SZ)
    }
}

/// A value's data, read according to its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolValue {
    String(String),
    ExpandString(String),
    MultiString(Vec<String>),
    Dword(u32),
    DwordBigEndian(u32),
    Qword(u64),
    /// REG_BINARY, REG_NONE, unknown types, and data too short or odd for its type.
    Bytes(Vec<u8>),
}

/// What an entry does when the client applies the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolAction {
    /// Writes the value.
    Set,
    /// `**del.Name`: deletes value `Name`.
    DeleteValue(String),
    /// `**delvals.`: deletes every value of the key.
    DeleteAllValues,
    /// `**DeleteValues`: deletes the values listed (`;`-separated) in the data.
    DeleteValues(Vec<String>),
    /// `**DeleteKeys`: deletes the subkeys listed in the data.
    DeleteKeys(Vec<String>),
    /// `**SecureKey`: resets the key's security (data 1) or leaves it (0).
    SecureKey(bool),
    /// `**soft.Name`: writes `Name` only if it does not exist yet.
    SetIfAbsent(String),
    /// No value name and no data: creates the key.
    CreateKey,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolEntry {
    pub key: String,
    pub value_name: String,
    pub value_type: RegType,
    pub data: Vec<u8>,
}

impl PolEntry {
    pub fn new(key: &str, value_name: &str, value_type: RegType, data: Vec<u8>) -> Self {
        PolEntry { key: key.to_string(), value_name: value_name.to_string(), value_type, data }
    }

    pub fn string(key: &str, value_name: &str, value: &str) -> Self {
        PolEntry::new(key, value_name, RegType::SZ, encode_string(value))
    }

    pub fn dword(key: &str, value_name: &str, value: u32) -> Self {
        PolEntry::new(key, value_name, RegType::DWORD, value.to_le_bytes().to_vec())
    }

    pub fn action(&self) -> PolAction {
        let name = &self.value_name;
        let lower = name.to_ascii_lowercase();
        let listed = || split_list(&self.text_data());
        if let Some(rest) = strip_prefix_ignore_case(name, "**del.") {
            PolAction::DeleteValue(rest.to_string())
        } else if lower.starts_with("**delvals") {
            PolAction::DeleteAllValues
        } else if lower == "**deletevalues" {
            PolAction::DeleteValues(listed())
        } else if lower == "**deletekeys" {
            PolAction::DeleteKeys(listed())
        } else if lower == "**securekey" {
            PolAction::SecureKey(matches!(self.value(), PolValue::Dword(v) if v != 0))
        } else if let Some(rest) = strip_prefix_ignore_case(name, "**soft.") {
            PolAction::SetIfAbsent(rest.to_string())
        } else if name.is_empty() && self.data.is_empty() {
            PolAction::CreateKey
        } else {
            PolAction::Set
        }
    }

    pub fn value(&self) -> PolValue {
        let data = &self.data;
        match self.value_type {
            RegType::SZ if data.len().is_multiple_of(2) => PolValue::String(self.text_data()),
            RegType::EXPAND_SZ if data.len().is_multiple_of(2) => PolValue::ExpandString(self.text_data()),
            RegType::MULTI_SZ if data.len().is_multiple_of(2) => PolValue::MultiString(decode_multi(data)),
            RegType::DWORD if data.len() == 4 => {
                PolValue::Dword(u32::from_le_bytes([data[0], data[1], data[2], data[3]]))
            }
            RegType::DWORD_BIG_ENDIAN if data.len() == 4 => {
                PolValue::DwordBigEndian(u32::from_be_bytes([data[0], data[1], data[2], data[3]]))
            }
            RegType::QWORD if data.len() == 8 => {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(data);
                PolValue::Qword(u64::from_le_bytes(bytes))
            }
            _ => PolValue::Bytes(data.clone()),
        }
    }

    /// The strings a REG_SZ, REG_EXPAND_SZ or REG_MULTI_SZ value holds.
    pub fn strings(&self) -> Option<Vec<String>> {
        match self.value() {
            PolValue::String(s) | PolValue::ExpandString(s) => Some(vec![s]),
            PolValue::MultiString(list) => Some(list),
            _ => None,
        }
    }

    /// Replaces the data of a text value: one string for REG_SZ / REG_EXPAND_SZ, the list for
    /// REG_MULTI_SZ (other types are left alone).
    pub fn set_strings(&mut self, strings: &[String]) {
        match self.value_type {
            RegType::SZ | RegType::EXPAND_SZ => self.data = encode_string(&strings.concat()),
            RegType::MULTI_SZ => {
                let mut data = Vec::new();
                for s in strings {
                    data.extend(encode_string(s));
                }
                data.extend([0, 0]);
                self.data = data;
            }
            _ => {}
        }
    }

    fn text_data(&self) -> String {
        let units: Vec<u16> = self.data.chunks_exact(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect();
        String::from_utf16_lossy(&units).trim_end_matches('\0').to_string()
    }

    /// The value as a person reads it: `REG_DWORD 1`, `delete value WUServer`.
    pub fn describe(&self) -> String {
        match self.action() {
            PolAction::Set => self.describe_value(),
            PolAction::DeleteValue(name) => format!("delete value {name}"),
            PolAction::DeleteAllValues => "delete all values".into(),
            PolAction::DeleteValues(list) => format!("delete values {}", list.join(", ")),
            PolAction::DeleteKeys(list) => format!("delete keys {}", list.join(", ")),
            PolAction::SecureKey(on) => format!("secure key: {}", if on { "on" } else { "off" }),
            PolAction::SetIfAbsent(name) => format!("set {name} if absent: {}", self.describe_value()),
            PolAction::CreateKey => "create key".into(),
        }
    }

    fn describe_value(&self) -> String {
        let type_name = self.value_type.name();
        match self.value() {
            PolValue::String(s) | PolValue::ExpandString(s) => format!("{type_name} {s}"),
            PolValue::MultiString(list) => format!("{type_name} {}", list.join(", ")),
            PolValue::Dword(v) | PolValue::DwordBigEndian(v) => format!("{type_name} {v}"),
            PolValue::Qword(v) => format!("{type_name} {v}"),
            PolValue::Bytes(bytes) => {
                let shown: Vec<String> = bytes.iter().take(32).map(|b| format!("{b:02x}")).collect();
                let more = if bytes.len() > 32 { format!(" … ({} bytes)", bytes.len()) } else { String::new() };
                format!("{type_name} {}{more}", shown.join(" ")).trim_end().to_string()
            }
        }
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

fn split_list(text: &str) -> Vec<String> {
    text.split([';', '\0']).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn encode_string(value: &str) -> Vec<u8> {
    value.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect()
}

fn decode_multi(data: &[u8]) -> Vec<String> {
    let units: Vec<u16> = data.chunks_exact(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect();
    let mut list: Vec<String> = units.split(|&u| u == 0).map(String::from_utf16_lossy).collect();
    while list.last().is_some_and(String::is_empty) {
        list.pop();
    }
    list
}

/// The bytes as read, so that unchanged parts are written back identically.
#[derive(Clone, Debug)]
struct Original {
    bytes: Vec<u8>,
    version: u32,
    entries: Vec<(PolEntry, Range<usize>)>,
}

#[derive(Clone, Debug)]
pub struct RegistryPol {
    pub version: u32,
    pub entries: Vec<PolEntry>,
    original: Option<Original>,
}

impl PartialEq for RegistryPol {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version && self.entries == other.entries
    }
}

impl Eq for RegistryPol {}

impl Default for RegistryPol {
    fn default() -> Self {
        RegistryPol { version: VERSION, entries: Vec::new(), original: None }
    }
}

/// Reads registry.pol's fields, naming the byte offset of whatever is wrong.
struct PolReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl PolReader<'_> {
    fn error(&self, offset: usize, detail: impl Into<String>) -> FormatError {
        FormatError::new(FILE_NAME, None, Problem::Binary { offset: offset as u64, detail: detail.into() })
    }

    fn unit(&mut self, what: &str) -> Result<u16, FormatError> {
        let pair = self
            .bytes
            .get(self.pos..self.pos + 2)
            .ok_or_else(|| self.error(self.pos, format!("file ends inside {what}")))?;
        self.pos += 2;
        Ok(u16::from_le_bytes([pair[0], pair[1]]))
    }

    fn expect(&mut self, delimiter: char, what: &str) -> Result<(), FormatError> {
        let at = self.pos;
        let unit = self.unit(what)?;
        if unit != delimiter as u16 {
            return Err(self.error(at, format!("expected '{delimiter}' {what}, found 0x{unit:04X}")));
        }
        Ok(())
    }

    fn u32(&mut self, what: &str) -> Result<u32, FormatError> {
        let quad = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error(self.pos, format!("file ends inside {what}")))?;
        self.pos += 4;
        Ok(u32::from_le_bytes([quad[0], quad[1], quad[2], quad[3]]))
    }

    /// A NUL-terminated string and the `;` after it. Some writers leave out the NUL: then the
    /// `;` ends the string.
    fn string_then_separator(&mut self, what: &str) -> Result<String, FormatError> {
        let mut units = Vec::new();
        loop {
            match self.unit(what)? {
                0 => {
                    self.expect(';', &format!("after {what}"))?;
                    break;
                }
                0x3B => break,
                unit => units.push(unit),
            }
        }
        Ok(String::from_utf16_lossy(&units))
    }

    fn entry(&mut self) -> Result<PolEntry, FormatError> {
        self.expect('[', "to open an entry")?;
        let key = self.string_then_separator("the key name")?;
        let value_name = self.string_then_separator("the value name")?;
        let value_type = RegType(self.u32("the value type")?);
        self.expect(';', "after the value type")?;
        let size_at = self.pos;
        let size = self.u32("the data size")? as usize;
        self.expect(';', "after the data size")?;
        let left = self.bytes.len() - self.pos;
        // Checked before anything is allocated: a size of 4 GB in a 1 kB file is an error.
        if size > left {
            return Err(self.error(
                size_at,
                format!("value '{value_name}' of key '{key}' claims {size} bytes of data, only {left} are left"),
            ));
        }
        let data = self.bytes[self.pos..self.pos + size].to_vec();
        self.pos += size;
        self.expect(']', &format!("to close the entry of value '{value_name}' in key '{key}'"))?;
        Ok(PolEntry { key, value_name, value_type, data })
    }
}

impl RegistryPol {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut reader = PolReader { bytes, pos: 0 };
        if bytes.len() < 8 || &bytes[..4] != SIGNATURE {
            return Err(reader.error(0, "the file does not start with the PReg signature"));
        }
        reader.pos = 4;
        let version = reader.u32("the version")?;
        let mut parsed = Vec::new();
        while reader.pos < bytes.len() {
            let start = reader.pos;
            let entry = reader.entry()?;
            parsed.push((entry, start..reader.pos));
        }
        Ok(RegistryPol {
            version,
            entries: parsed.iter().map(|(e, _)| e.clone()).collect(),
            original: Some(Original { bytes: bytes.to_vec(), version, entries: parsed }),
        })
    }

    /// The file: unchanged entries as they were read, changed or new ones encoded afresh.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match &self.original {
            Some(original) if original.version == self.version => out.extend_from_slice(&original.bytes[..8]),
            _ => {
                out.extend_from_slice(SIGNATURE);
                out.extend_from_slice(&self.version.to_le_bytes());
            }
        }
        let original = self.original.as_ref();
        for (index, entry) in self.entries.iter().enumerate() {
            let as_read =
                original.and_then(|o| o.entries.get(index).map(|(read, range)| (read, &o.bytes[range.clone()])));
            match as_read {
                Some((read, raw)) if read == entry => out.extend_from_slice(raw),
                _ => encode_entry(entry, &mut out),
            }
        }
        out
    }

    /// One setting per entry: key, value name, and what it sets or deletes.
    pub fn settings(&self) -> Vec<Setting> {
        self.entries
            .iter()
            .map(|e| Setting::new(SettingArea::Registry, &e.key, &e.value_name, e.describe()).in_file(FILE_NAME))
            .collect()
    }

    /// The UNC paths and SIDs in the text values (REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ).
    pub fn references(&self) -> Vec<Reference> {
        references::collect(self, |pol, edit| pol.for_each_reference_mut(edit))
    }

    /// Offers each UNC path and SID in a text value to `edit`; a value it changes is re-encoded
    /// (with its new size) and the rest of the file stays as it was. Returns how many changed.
    pub fn for_each_reference_mut(&mut self, edit: &mut EditReference<'_>) -> Result<usize, FormatError> {
        let mut editor = ReferenceEditor::new(edit, FILE_NAME, TextEncoding::Utf16Le, &['\0']);
        for entry in &mut self.entries {
            if !entry.value_type.holds_text() || !matches!(entry.action(), PolAction::Set | PolAction::SetIfAbsent(_)) {
                continue;
            }
            let Some(mut strings) = entry.strings() else { continue };
            let mut changed = false;
            for s in &mut strings {
                if let Some(new) = editor.offer_value(s, None, &entry.key, &entry.value_name)? {
                    *s = new;
                    changed = true;
                }
            }
            if changed {
                entry.set_strings(&strings);
            }
        }
        Ok(editor.changed)
    }
}

fn encode_entry(entry: &PolEntry, out: &mut Vec<u8>) {
    fn delimiter(out: &mut Vec<u8>, c: char) {
        out.extend_from_slice(&(c as u16).to_le_bytes());
    }
    fn text(out: &mut Vec<u8>, s: &str) {
        out.extend(s.encode_utf16().chain([0]).flat_map(u16::to_le_bytes));
    }
    delimiter(out, '[');
    text(out, &entry.key);
    delimiter(out, ';');
    text(out, &entry.value_name);
    delimiter(out, ';');
    out.extend_from_slice(&entry.value_type.0.to_le_bytes());
    delimiter(out, ';');
    // Data larger than 4 GB cannot come from a parsed file; saturate rather than wrap.
    out.extend_from_slice(&u32::try_from(entry.data.len()).unwrap_or(u32::MAX).to_le_bytes());
    delimiter(out, ';');
    out.extend_from_slice(&entry.data);
    delimiter(out, ']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::references::ReferenceKind;
    use crate::formats::sysvol_samples::{self, corp_lab, utf16_bytes};
    use proptest::prelude::*;

    /// The encoder of scripts/seed_gpos.py (`preg`), written again independently of the code
    /// under test.
    fn preg(entries: &[(&str, &str, u32, Vec<u8>)]) -> Vec<u8> {
        let mut out = b"PReg\x01\x00\x00\x00".to_vec();
        for (key, name, typ, data) in entries {
            out.extend(utf16_bytes("["));
            out.extend(utf16_bytes(&format!("{key}\0;{name}\0;")));
            out.extend(typ.to_le_bytes());
            out.extend(utf16_bytes(";"));
            out.extend((data.len() as u32).to_le_bytes());
            out.extend(utf16_bytes(";"));
            out.extend(data);
            out.extend(utf16_bytes("]"));
        }
        out
    }

    fn sz(s: &str) -> Vec<u8> {
        utf16_bytes(&format!("{s}\0"))
    }

    fn multi(list: &[&str]) -> Vec<u8> {
        utf16_bytes(&format!("{}\0\0", list.join("\0")))
    }

    const WU: &str = r"Software\Policies\Microsoft\Windows\WindowsUpdate";
    const APPLOCKER_RULE: &str = r#"<FilePathRule Id="f301" Name="All files" UserOrGroupSid="S-1-5-32-544" Action="Allow"><Conditions><FilePathCondition Path="*"/></Conditions></FilePathRule>"#;

    fn seeded_entries() -> Vec<(&'static str, &'static str, u32, Vec<u8>)> {
        vec![
            (r"Software\Policies\Microsoft\Windows\WindowsUpdate\AU", "AUOptions", 4, 4u32.to_le_bytes().to_vec()),
            (r"Software\Policies\Microsoft\Windows\System", "ShellSmartScreenLevel", 1, sz("Block")),
            (
                r"Software\Policies\Microsoft\Windows\Safer\CodeIdentifiers",
                "ExecutableTypes",
                7,
                multi(&["ADE", "ADP", "BAS"]),
            ),
            (
                r"Software\Policies\Microsoft\Windows\Personalization",
                "LockScreenImage",
                2,
                sz(r"%SystemRoot%\Web\Screen\corp-lock.jpg"),
            ),
            (WU, "DeferQualityUpdatesPeriodInDays", 11, 7u64.to_le_bytes().to_vec()),
            (WU, "**del.WUServer", 1, sz(" ")),
            (
                r"Software\Policies\Microsoft\Windows\NetworkProvider\HardenedPaths",
                r"\\*\SYSVOL",
                1,
                sz("RequireMutualAuthentication=1, RequireIntegrity=1"),
            ),
            (r"Software\Corp\Mapped", "Share", 1, sz(r"\\fs01.corp.example.test\finance\Reports 2024")),
            (r"Software\Policies\Microsoft\Windows\SrpV2\Exe\f301", "Value", 1, sz(APPLOCKER_RULE)),
            (r"Software\Corp\Bin", "Blob", 3, vec![1, 2, 0xab]),
            (r"Software\Corp\Big", "Be", 5, vec![0, 0, 1, 0]),
        ]
    }

    #[test]
    fn reads_every_type_and_writes_back_byte_for_byte() {
        let bytes = preg(&seeded_entries());
        let pol = RegistryPol::parse(&bytes).unwrap();
        assert_eq!(pol.to_bytes(), bytes);
        assert_eq!(pol.entries.len(), 11);
        let described: Vec<String> = pol.settings().into_iter().map(|s| s.value).collect();
        assert_eq!(
            described,
            [
                "REG_DWORD 4",
                "REG_SZ Block",
                "REG_MULTI_SZ ADE, ADP, BAS",
                r"REG_EXPAND_SZ %SystemRoot%\Web\Screen\corp-lock.jpg",
                "REG_QWORD 7",
                "delete value WUServer",
                "REG_SZ RequireMutualAuthentication=1, RequireIntegrity=1",
                r"REG_SZ \\fs01.corp.example.test\finance\Reports 2024",
                &format!("REG_SZ {APPLOCKER_RULE}"),
                "REG_BINARY 01 02 ab",
                "REG_DWORD_BIG_ENDIAN 256",
            ]
        );
        let settings = pol.settings();
        assert_eq!(settings[4].path, WU);
        assert_eq!(settings[4].name, "DeferQualityUpdatesPeriodInDays");
        assert_eq!(pol.entries[2].value(), PolValue::MultiString(vec!["ADE".into(), "ADP".into(), "BAS".into()]));
    }

    #[test]
    fn special_values_say_what_they_do() {
        let bytes = preg(&[
            ("K", "**delvals.", 1, sz(" ")),
            ("K", "**DelVals", 1, sz(" ")),
            ("K", "**Del.Proxy", 1, sz(" ")),
            ("K", "**DeleteValues", 1, sz("a;b;")),
            ("K", "**DeleteKeys", 1, sz("Sub1;Sub2")),
            ("K", "**SecureKey", 4, 1u32.to_le_bytes().to_vec()),
            ("K", "**soft.Home", 1, sz(r"\\srv\home")),
            (r"K\Empty", "", 0, vec![]),
        ]);
        let pol = RegistryPol::parse(&bytes).unwrap();
        let actions: Vec<PolAction> = pol.entries.iter().map(PolEntry::action).collect();
        assert_eq!(
            actions,
            [
                PolAction::DeleteAllValues,
                PolAction::DeleteAllValues,
                PolAction::DeleteValue("Proxy".into()),
                PolAction::DeleteValues(vec!["a".into(), "b".into()]),
                PolAction::DeleteKeys(vec!["Sub1".into(), "Sub2".into()]),
                PolAction::SecureKey(true),
                PolAction::SetIfAbsent("Home".into()),
                PolAction::CreateKey,
            ]
        );
        // Deletions name values, not paths; the soft value's data is a path.
        let refs = pol.references();
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].value, r"\\srv\home");
        assert_eq!(pol.to_bytes(), bytes);
    }

    #[test]
    fn references_point_at_key_and_value() {
        let pol = RegistryPol::parse(&preg(&seeded_entries())).unwrap();
        let refs = pol.references();
        let summary: Vec<(ReferenceKind, &str, &str)> =
            refs.iter().map(|r| (r.kind, r.value.as_str(), r.attribute.as_str())).collect();
        assert_eq!(
            summary,
            [
                (ReferenceKind::UncPath, r"\\fs01.corp.example.test\finance\Reports 2024", "Share"),
                (ReferenceKind::Sid, "S-1-5-32-544", "Value"),
            ]
        );
        assert!(refs.iter().all(|r| r.file == FILE_NAME));
        assert_eq!(refs[1].at, r"Software\Policies\Microsoft\Windows\SrpV2\Exe\f301");
    }

    #[test]
    fn edit_changes_only_the_edited_values_and_their_sizes() {
        // The third entry is written without NUL terminators, as some tools do: it must come back
        // exactly as it was even though entries around it change.
        let mut bytes = preg(&seeded_entries()[..1]);
        let odd_entry = [
            utf16_bytes("[Odd;Name;"),
            1u32.to_le_bytes().to_vec(),
            utf16_bytes(";"),
            4u32.to_le_bytes().to_vec(),
            utf16_bytes(";"),
            utf16_bytes("ab"),
            utf16_bytes("]"),
        ]
        .concat();
        let rest = seeded_entries()[7..9].to_vec();
        bytes.extend(&preg(&rest[..1])[8..]);
        bytes.extend(&odd_entry);
        bytes.extend(&preg(&rest[1..])[8..]);

        let mut pol = RegistryPol::parse(&bytes).unwrap();
        assert_eq!(pol.to_bytes(), bytes);
        assert_eq!(pol.entries[2].key, "Odd");
        let changed = pol
            .for_each_reference_mut(&mut |r, value| match r.kind {
                ReferenceKind::UncPath => {
                    *value = value.replace(r"\\fs01.corp.example.test", r"\\fs02.branch.example.test")
                }
                ReferenceKind::Sid if value == "S-1-5-32-544" => *value = "S-1-5-21-7-8-9-1109".into(),
                _ => {}
            })
            .unwrap();
        assert_eq!(changed, 2);

        let mut expected = preg(&seeded_entries()[..1]);
        expected.extend(
            &preg(&[(r"Software\Corp\Mapped", "Share", 1, sz(r"\\fs02.branch.example.test\finance\Reports 2024"))])
                [8..],
        );
        expected.extend(&odd_entry);
        let new_rule = APPLOCKER_RULE.replace("S-1-5-32-544", "S-1-5-21-7-8-9-1109");
        expected
            .extend(&preg(&[(r"Software\Policies\Microsoft\Windows\SrpV2\Exe\f301", "Value", 1, sz(&new_rule))])[8..]);
        let written = pol.to_bytes();
        assert_eq!(written, expected);

        let again = RegistryPol::parse(&written).unwrap();
        let values: Vec<String> = again.references().into_iter().map(|r| r.value).collect();
        assert_eq!(values, [r"\\fs02.branch.example.test\finance\Reports 2024", "S-1-5-21-7-8-9-1109"]);
    }

    #[test]
    fn edits_that_cannot_be_written_are_refused() {
        let mut pol = RegistryPol::parse(&preg(&seeded_entries())).unwrap();
        let err = pol.for_each_reference_mut(&mut |_, v| v.push('\0')).unwrap_err();
        assert!(
            err.to_string().starts_with("registry.pol (at <Software\\Corp\\Mapped Share>): invalid value"),
            "{err}"
        );
    }

    #[test]
    fn damaged_files_are_named_with_the_offset() {
        let err = RegistryPol::parse(b"REGF\x01\0\0\0").unwrap_err();
        assert_eq!(
            err.problem,
            Problem::Binary { offset: 0, detail: "the file does not start with the PReg signature".into() }
        );

        // A size field of 4 GB in a tiny file: an error, not a 4 GB allocation.
        let mut huge = preg(&[("K", "V", 3, vec![])]);
        let size_at = huge.len() - 2 - 2 - 4;
        huge[size_at..size_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = RegistryPol::parse(&huge).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "registry.pol: at byte {size_at}: value 'V' of key 'K' claims 4294967295 bytes of data, only 2 are left \
                 (the file is damaged or was not written by GPMC or gpvault)"
            )
        );

        let good = preg(&[("K", "V", 4, vec![1, 0, 0, 0])]);
        let err = RegistryPol::parse(&good[..good.len() - 1]).unwrap_err();
        assert!(matches!(err.problem, Problem::Binary { .. }), "{err}");
        let mut no_close = good.clone();
        let last = no_close.len() - 2;
        no_close[last] = b'x';
        assert!(RegistryPol::parse(&no_close).unwrap_err().to_string().contains("expected ']'"));
    }

    #[test]
    fn every_vendored_registry_pol_round_trips() {
        let files = sysvol_samples::fixture_files(&|name| name == "registry.pol");
        assert!(files.len() >= 19, "{} registry.pol fixtures", files.len());
        let mut entries = 0;
        for path in files {
            let bytes = sysvol_samples::read(&path);
            let pol = RegistryPol::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(pol.to_bytes(), bytes, "{}", path.display());
            assert_eq!(pol.settings().len(), pol.entries.len());
            entries += pol.entries.len();
        }
        assert!(entries > 1000, "{entries} entries");
    }

    #[test]
    fn applocker_fixture_sids_are_found_and_one_edit_stays_local() {
        let files = sysvol_samples::fixture_files(&|name| name == "registry.pol");
        let path = files
            .iter()
            .find(|p| p.to_string_lossy().contains("AppLocker/Group Policy Objects/Computer/Enforced"))
            .unwrap();
        let bytes = sysvol_samples::read(path);
        let mut pol = RegistryPol::parse(&bytes).unwrap();
        let refs = pol.references();
        assert!(refs.iter().any(|r| r.value == "S-1-1-0" && r.at.contains(r"SrpV2\Exe")), "{refs:?}");
        assert!(refs.iter().all(|r| r.kind == ReferenceKind::Sid));

        let mut first = true;
        let changed = pol
            .for_each_reference_mut(&mut |_, v| {
                if std::mem::take(&mut first) {
                    *v = "S-1-5-21-1-2-3-1001".into();
                }
            })
            .unwrap();
        assert_eq!(changed, 1);
        let written = pol.to_bytes();
        // Only the size field and the data of one entry differ.
        let prefix = bytes.iter().zip(&written).take_while(|(a, b)| a == b).count();
        let suffix = bytes.iter().rev().zip(written.iter().rev()).take_while(|(a, b)| a == b).count();
        let edited = &RegistryPol::parse(&bytes)
            .unwrap()
            .entries
            .iter()
            .zip(&pol.entries)
            .find(|(a, b)| a != b)
            .unwrap()
            .0
            .clone();
        assert!(bytes.len() - prefix - suffix <= 4 + 2 + edited.data.len(), "edit spread beyond one entry");
        let again = RegistryPol::parse(&written).unwrap();
        assert_eq!(again.references().iter().filter(|r| r.value == "S-1-5-21-1-2-3-1001").count(), 1);
        assert_eq!(again.entries.len(), pol.entries.len());
    }

    #[test]
    fn lab_registry_pol_files_round_trip_and_hold_the_seeded_values() {
        for path in sysvol_samples::lab_files(&|name| name == "registry.pol") {
            let bytes = sysvol_samples::read(&path);
            let pol = RegistryPol::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(pol.to_bytes(), bytes, "{}", path.display());
        }
        let Some(lab) = corp_lab() else { return };
        // Server Hardening: MACHINE_POLICIES[6:10] + MACHINE_POLICIES[21:] in seed_gpos.py.
        let pol = RegistryPol::parse(&lab.file("Server Hardening", "Machine/registry.pol")).unwrap();
        assert_eq!(pol.entries.len(), 20);
        let first = &pol.entries[0];
        assert_eq!(
            (first.key.as_str(), first.value_name.as_str()),
            (r"Software\Policies\Microsoft\Windows NT\Terminal Services", "fDenyTSConnections")
        );
        assert_eq!(first.value(), PolValue::Dword(0));
        let find = |name: &str| pol.entries.iter().find(|e| e.value_name == name).unwrap();
        assert_eq!(find("DeferQualityUpdatesPeriodInDays").value(), PolValue::Qword(7));
        assert_eq!(find("ExecutionPolicy").value(), PolValue::String("RemoteSigned".into()));
        assert_eq!(
            find("LockScreenImage").value(),
            PolValue::ExpandString(r"%SystemRoot%\Web\Screen\corp-lock.jpg".into())
        );
        assert_eq!(find("ExecutableTypes").strings().unwrap().len(), 13);
        assert_eq!(find("**del.WUServer").action(), PolAction::DeleteValue("WUServer".into()));
        // `\\*\SYSVOL` is a value name with a wildcard host: no reference to migrate.
        assert_eq!(
            find(r"\\*\SYSVOL").value(),
            PolValue::String("RequireMutualAuthentication=1, RequireIntegrity=1".into())
        );
        assert!(pol.references().is_empty());
    }

    fn any_entry() -> impl Strategy<Value = (String, String, u32, Vec<u8>)> {
        let text = "[^\u{0};\\[\\]]{0,12}";
        (
            text,
            text,
            prop_oneof![Just(1u32), Just(2), Just(3), Just(4), Just(7), Just(11), any::<u32>()],
            proptest::collection::vec(any::<u8>(), 0..24),
        )
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(pol) = RegistryPol::parse(&bytes) {
                prop_assert_eq!(&pol.to_bytes(), &bytes);
            }
            let mut with_header = b"PReg\x01\0\0\0".to_vec();
            with_header.extend(&bytes);
            if let Ok(pol) = RegistryPol::parse(&with_header) {
                let _ = pol.settings();
                let _ = pol.references();
                prop_assert_eq!(pol.to_bytes(), with_header);
            }
        }

        #[test]
        fn generated_files_round_trip(entries in proptest::collection::vec(any_entry(), 0..12)) {
            let borrowed: Vec<(&str, &str, u32, Vec<u8>)> =
                entries.iter().map(|(k, n, t, d)| (k.as_str(), n.as_str(), *t, d.clone())).collect();
            let bytes = preg(&borrowed);
            let pol = RegistryPol::parse(&bytes).unwrap();
            prop_assert_eq!(pol.entries.len(), entries.len());
            for (entry, (k, n, t, d)) in pol.entries.iter().zip(&entries) {
                prop_assert_eq!(&entry.key, k);
                prop_assert_eq!(&entry.value_name, n);
                prop_assert_eq!(entry.value_type, RegType(*t));
                prop_assert_eq!(&entry.data, d);
            }
            prop_assert_eq!(&pol.to_bytes(), &bytes);
            // Written afresh (no original bytes), a well-formed file is the same file.
            let fresh = RegistryPol { version: 1, entries: pol.entries.clone(), original: None };
            prop_assert_eq!(fresh.to_bytes(), bytes);
        }
    }
}
