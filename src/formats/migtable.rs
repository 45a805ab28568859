//! GPMC migration tables (`.migtable`): which security principals and UNC paths a GPO import or
//! copy rewrites, and into what.
//!
//! The layout GPMC's Migration Table Editor saves (the shape of .NET's XmlSerializer: the `xsd`
//! and `xsi` namespace declarations before the default one, two-space indentation, CRLF line
//! ends, `<X />` for empty elements, no newline after the root), in UTF-16LE with a BOM:
//!
//! ```text
//! <?xml version="1.0" encoding="utf-16"?>
//! <MigrationTable xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://www.microsoft.com/GroupPolicy/GPOOperations/MigrationTable">
//!   <Mapping>
//!     <Type>GlobalGroup</Type>
//!     <Source>Finance Admins@corp.example.test</Source>
//!     <DestinationSameAsSource />
//!   </Mapping>
//! </MigrationTable>
//! ```
//!
//! Each `Mapping` has a `Type`, a `Source` and exactly one destination element:
//! `<Destination>text</Destination>`, `<DestinationSameAsSource />`, `<DestinationNone />` or
//! `<DestinationByRelativeName />`. Tables written by scripts often differ: UTF-8 or ANSI bytes
//! under an `encoding="utf-16"` declaration, other indentation, elements in another order. All of
//! those are read; gpvault writes GPMC's layout.
//!
//! This module only turns bytes into [`Mapping`] rows and back; what a row means (matching,
//! validation, editing) is `migrate::table`'s job.

use std::fmt;

use super::error::{FormatError, Problem};
use super::text::{UTF8_BOM, UTF16LE_BOM, decode_utf16le, encode_utf16le_bom};
use super::xml::{self, Element, Node, XmlOut};

/// Name used in errors; callers that know the path replace it with [`FormatError::in_file`].
pub const FILE_NAME: &str = "migration table";
pub const NAMESPACE: &str = "http://www.microsoft.com/GroupPolicy/GPOOperations/MigrationTable";
const XSD_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema";
const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";
const UTF16BE_BOM: [u8; 2] = [0xFE, 0xFF];

/// What a row maps: GPMC's `GPMEntryType`, spelled as in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryType {
    User,
    Computer,
    /// A domain local group.
    LocalGroup,
    GlobalGroup,
    UniversalGroup,
    UncPath,
    /// GPMC's "Free text or SID": a name that is not resolved, or a SID.
    Unknown,
}

impl EntryType {
    pub const ALL: [EntryType; 7] = [
        EntryType::User,
        EntryType::Computer,
        EntryType::LocalGroup,
        EntryType::GlobalGroup,
        EntryType::UniversalGroup,
        EntryType::UncPath,
        EntryType::Unknown,
    ];

    /// The `<Type>` text (also the type names GPMC uses in Backup.xml's SecurityGroups).
    pub fn xml_name(self) -> &'static str {
        match self {
            EntryType::User => "User",
            EntryType::Computer => "Computer",
            EntryType::LocalGroup => "LocalGroup",
            EntryType::GlobalGroup => "GlobalGroup",
            EntryType::UniversalGroup => "UniversalGroup",
            EntryType::UncPath => "UNCPath",
            EntryType::Unknown => "Unknown",
        }
    }

    /// The name the Migration Table Editor shows in its "Source Type" column.
    pub fn label(self) -> &'static str {
        match self {
            EntryType::User => "User",
            EntryType::Computer => "Computer",
            EntryType::LocalGroup => "Domain Local Group",
            EntryType::GlobalGroup => "Domain Global Group",
            EntryType::UniversalGroup => "Universal Group",
            EntryType::UncPath => "UNC Path",
            EntryType::Unknown => "Free Text or SID",
        }
    }

    /// Exact (case-sensitive) match, as GPMC reads the file.
    pub fn from_xml_name(name: &str) -> Option<EntryType> {
        EntryType::ALL.into_iter().find(|t| t.xml_name() == name)
    }

    /// True for every type but `UNCPath`.
    pub fn is_principal(self) -> bool {
        self != EntryType::UncPath
    }
}

impl fmt::Display for EntryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.xml_name())
    }
}

/// The destination element of a row (GPMC's `GPMDestinationOption`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Destination {
    /// `<Destination>text</Destination>`: a principal name or a UNC path, as written.
    Set(String),
    /// `<DestinationSameAsSource />`: keep the reference as it is.
    SameAsSource,
    /// `<DestinationNone />`: drop the principal from the settings (not allowed for UNC paths).
    None,
    /// `<DestinationByRelativeName />`: the same name in the destination domain.
    ByRelativeName,
}

impl Destination {
    fn element_name(&self) -> &'static str {
        match self {
            Destination::Set(_) => "Destination",
            Destination::SameAsSource => "DestinationSameAsSource",
            Destination::None => "DestinationNone",
            Destination::ByRelativeName => "DestinationByRelativeName",
        }
    }
}

/// One `<Mapping>`: texts exactly as stored (not trimmed), so a table read and written again
/// keeps every character.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mapping {
    pub entry_type: EntryType,
    pub source: String,
    pub destination: Destination,
}

/// How the bytes of a table were encoded. gpvault always writes UTF-16LE with a BOM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    Utf16Le {
        bom: bool,
    },
    Utf16Be {
        bom: bool,
    },
    Utf8 {
        bom: bool,
    },
    /// 8-bit text that is not UTF-8: read as Windows-1252, what PowerShell 5's `Set-Content`
    /// writes on a Western-European Windows.
    Windows1252,
}

/// A table as read: its rows in file order, and how it was encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigTableFile {
    pub encoding: TextEncoding,
    pub mappings: Vec<Mapping>,
}

impl MigTableFile {
    /// Reads a table: UTF-16 (LE or BE, with or without BOM), UTF-8, or 8-bit text that declares
    /// `utf-16` anyway. Malformed XML, a wrong root or namespace, an unknown `Type`, a missing or
    /// empty `Source`, and a mapping without exactly one destination are refused; the error's
    /// `at` names the mapping as `MigrationTable/Mapping[row]`, row counted from 1.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let (text, encoding) = decode(bytes)?;
        let doc = xml::parse(&text, FILE_NAME)?;
        let root = &doc.root;
        if root.local_name() != "MigrationTable" {
            return Err(FormatError::new(
                FILE_NAME,
                None,
                Problem::UnexpectedElement { found: root.name.clone(), expected: "<MigrationTable>".into() },
            ));
        }
        check_namespace(root)?;
        let mut mappings = Vec::new();
        for node in &root.children {
            match node {
                Node::Element(e) if e.local_name() == "Mapping" => {
                    mappings.push(parse_mapping(e, mappings.len() + 1)?);
                }
                Node::Element(e) => {
                    return Err(FormatError::new(
                        FILE_NAME,
                        Some("MigrationTable".into()),
                        Problem::UnexpectedElement { found: e.name.clone(), expected: "<Mapping>".into() },
                    ));
                }
                Node::Text(t) if xml::is_whitespace(t) => {}
                Node::Comment(_) => {}
                Node::Text(t) | Node::CData(t) => {
                    return Err(FormatError::new(
                        FILE_NAME,
                        Some("MigrationTable".into()),
                        Problem::UnexpectedText { text: t.clone() },
                    ));
                }
            }
        }
        Ok(MigTableFile { encoding, mappings })
    }
}

/// The row (counted from 1) a parse error points at, when it points at one.
pub fn error_row(error: &FormatError) -> Option<usize> {
    let rest = error.at.as_deref()?.strip_prefix("MigrationTable/Mapping[")?;
    rest.split_once(']')?.0.parse().ok()
}

fn row_path(row: usize, element: Option<&str>) -> String {
    match element {
        Some(name) => format!("MigrationTable/Mapping[{row}]/{name}"),
        None => format!("MigrationTable/Mapping[{row}]"),
    }
}

fn check_namespace(root: &Element) -> Result<(), FormatError> {
    let declaration = match root.name.split_once(':') {
        Some((prefix, _)) => format!("xmlns:{prefix}"),
        None => "xmlns".to_string(),
    };
    match root.attr(&declaration) {
        Some(NAMESPACE) => Ok(()),
        found => Err(FormatError::new(
            FILE_NAME,
            Some("MigrationTable".into()),
            Problem::InvalidValue {
                value: found.unwrap_or_default().to_string(),
                reason: format!(
                    "the table's namespace must be {NAMESPACE} (GPMC does not read a table without it); \
                     add {declaration}=\"{NAMESPACE}\" to <MigrationTable>"
                ),
            },
        )),
    }
}

fn parse_mapping(element: &Element, row: usize) -> Result<Mapping, FormatError> {
    let error = |name: Option<&str>, problem: Problem| FormatError::new(FILE_NAME, Some(row_path(row, name)), problem);
    let mut entry_type = None;
    let mut source = None;
    let mut destination: Option<Destination> = None;
    for node in &element.children {
        let child = match node {
            Node::Element(child) => child,
            Node::Text(t) if xml::is_whitespace(t) => continue,
            Node::Comment(_) => continue,
            Node::Text(t) | Node::CData(t) => {
                return Err(error(None, Problem::UnexpectedText { text: t.clone() }));
            }
        };
        let name = child.local_name();
        if let Some(inner) = child.elements().next() {
            return Err(error(
                Some(name),
                Problem::UnexpectedElement {
                    found: inner.name.clone(),
                    expected: format!("only text inside <{name}>"),
                },
            ));
        }
        let duplicate = |what: &str| {
            error(
                Some(name),
                Problem::UnexpectedElement {
                    found: name.to_string(),
                    expected: format!("only one {what} per mapping"),
                },
            )
        };
        match name {
            "Type" => {
                if entry_type.is_some() {
                    return Err(duplicate("<Type>"));
                }
                let text = child.text();
                let value = text.trim();
                let parsed = EntryType::from_xml_name(value).ok_or_else(|| {
                    error(
                        Some("Type"),
                        Problem::InvalidValue { value: value.to_string(), reason: unknown_type_reason(value) },
                    )
                })?;
                entry_type = Some(parsed);
            }
            "Source" => {
                if source.is_some() {
                    return Err(duplicate("<Source>"));
                }
                source = Some(child.text());
            }
            "Destination" | "DestinationSameAsSource" | "DestinationNone" | "DestinationByRelativeName" => {
                if let Some(first) = &destination {
                    return Err(error(
                        Some(name),
                        Problem::UnexpectedElement {
                            found: name.to_string(),
                            expected: format!(
                                "exactly one destination element (this mapping already has <{}>)",
                                first.element_name()
                            ),
                        },
                    ));
                }
                let text = child.text();
                destination = Some(match name {
                    "Destination" => Destination::Set(text),
                    _ if !xml::is_whitespace(&text) => {
                        return Err(error(
                            Some(name),
                            Problem::InvalidValue { value: text, reason: format!("<{name} /> must be empty") },
                        ));
                    }
                    "DestinationSameAsSource" => Destination::SameAsSource,
                    "DestinationNone" => Destination::None,
                    _ => Destination::ByRelativeName,
                });
            }
            other => {
                return Err(error(
                    None,
                    Problem::UnexpectedElement {
                        found: other.to_string(),
                        expected: "<Type>, <Source> or one destination element".into(),
                    },
                ));
            }
        }
    }
    let entry_type = entry_type.ok_or_else(|| error(None, Problem::MissingElement { name: "Type".into() }))?;
    let source = source.ok_or_else(|| error(None, Problem::MissingElement { name: "Source".into() }))?;
    if source.trim().is_empty() {
        return Err(error(
            Some("Source"),
            Problem::InvalidValue {
                value: source,
                reason: "the source is empty: name the principal or UNC path".into(),
            },
        ));
    }
    // GPMC's editor always writes one of the four; a mapping without any is hand-made, and
    // guessing SameAsSource could leave a production principal in an imported GPO.
    let destination = destination.ok_or_else(|| error(None, Problem::MissingElement { name: "Destination".into() }))?;
    Ok(Mapping { entry_type, source, destination })
}

fn unknown_type_reason(value: &str) -> String {
    let valid: Vec<&str> = EntryType::ALL.iter().map(|t| t.xml_name()).collect();
    let hint = match EntryType::ALL.iter().find(|t| t.xml_name().eq_ignore_ascii_case(value)) {
        Some(t) => format!(" (GPMC matches the case exactly: write '{}')", t.xml_name()),
        None if value.eq_ignore_ascii_case("group") => {
            " (say which kind: LocalGroup, GlobalGroup or UniversalGroup)".to_string()
        }
        None => String::new(),
    };
    format!("unknown mapping type; GPMC knows {}{hint}", valid.join(", "))
}

/// The table's text in GPMC's layout (see the module comment).
pub fn to_text(mappings: &[Mapping]) -> String {
    let mut out = XmlOut::new();
    out.declaration("utf-16");
    out.raw("\r\n");
    let attributes = [("xmlns:xsd", XSD_NAMESPACE), ("xmlns:xsi", XSI_NAMESPACE), ("xmlns", NAMESPACE)];
    // XmlSerializer closes an element without children on itself.
    if mappings.is_empty() {
        out.empty_spaced("MigrationTable", &attributes);
        return out.into_string();
    }
    out.start("MigrationTable", &attributes);
    for mapping in mappings {
        out.raw("\r\n  ");
        out.start("Mapping", &[]);
        out.raw("\r\n    ");
        out.text_element("Type", mapping.entry_type.xml_name());
        out.raw("\r\n    ");
        element_text(&mut out, "Source", &mapping.source);
        out.raw("\r\n    ");
        match &mapping.destination {
            Destination::Set(value) => element_text(&mut out, "Destination", value),
            other => out.empty_spaced(other.element_name(), &[]),
        }
        out.raw("\r\n  ");
        out.end("Mapping");
    }
    out.raw("\r\n");
    out.end("MigrationTable");
    out.into_string()
}

/// The table as GPMC saves it: [`to_text`] in UTF-16LE with a BOM.
pub fn to_bytes(mappings: &[Mapping]) -> Vec<u8> {
    encode_utf16le_bom(&to_text(mappings))
}

/// `<name>value</name>`, escaped as XmlSerializer escapes text; a carriage return is written as a
/// character reference because a parser would otherwise turn it into a line feed.
fn element_text(out: &mut XmlOut, name: &str, value: &str) {
    out.start(name, &[]);
    let escaped = xml::escape_text(value);
    out.raw(&escaped.replace('\r', "&#xD;"));
    out.end(name);
}

/// The text of a table and the encoding it was stored in.
pub fn decode(bytes: &[u8]) -> Result<(String, TextEncoding), FormatError> {
    if bytes.starts_with(&UTF16LE_BOM) {
        return Ok((decode_utf16le(bytes, FILE_NAME)?, TextEncoding::Utf16Le { bom: true }));
    }
    if let Some(body) = bytes.strip_prefix(&UTF16BE_BOM) {
        return Ok((decode_utf16be(body)?, TextEncoding::Utf16Be { bom: true }));
    }
    if let Some(body) = bytes.strip_prefix(&UTF8_BOM) {
        let text = std::str::from_utf8(body).map_err(|e| {
            encoding_error("UTF-8", format!("invalid byte sequence at byte {}", e.valid_up_to() + UTF8_BOM.len()))
        })?;
        return Ok((text.to_string(), TextEncoding::Utf8 { bom: true }));
    }
    // Without a BOM, the first character (`<` or white space) is ASCII: its zero byte tells the
    // UTF-16 byte order.
    match bytes {
        [first, 0, ..] if *first != 0 => {
            return Ok((decode_utf16le(bytes, FILE_NAME)?, TextEncoding::Utf16Le { bom: false }));
        }
        [0, second, ..] if *second != 0 => return Ok((decode_utf16be(bytes)?, TextEncoding::Utf16Be { bom: false })),
        _ => {}
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok((text.to_string(), TextEncoding::Utf8 { bom: false })),
        Err(_) => Ok((bytes.iter().map(|&b| windows_1252_char(b)).collect(), TextEncoding::Windows1252)),
    }
}

fn encoding_error(encoding: &'static str, detail: String) -> FormatError {
    FormatError::new(FILE_NAME, None, Problem::Encoding { encoding, detail })
}

fn decode_utf16be(body: &[u8]) -> Result<String, FormatError> {
    if !body.len().is_multiple_of(2) {
        return Err(encoding_error("UTF-16BE", format!("odd number of bytes ({})", body.len())));
    }
    let units = body.chunks_exact(2).map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
    char::decode_utf16(units)
        .map(|decoded| {
            decoded
                .map_err(|e| encoding_error("UTF-16BE", format!("unpaired surrogate 0x{:04X}", e.unpaired_surrogate())))
        })
        .collect()
}

/// Windows-1252: Latin-1 except 0x80..=0x9F, which hold typographic characters. The five bytes
/// that code page leaves unassigned decode, as Windows does, to the C1 control of the same value.
fn windows_1252_char(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}', '\u{90}', '‘',
        '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9F => HIGH[usize::from(byte - 0x80)],
        other => char::from(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GPMC_LAYOUT: &[u8] = include_bytes!("../../tests/fixtures/migtable/gpmc-layout.migtable");
    const SCRIPT_ANSI: &[u8] = include_bytes!("../../tests/fixtures/migtable/script-ansi.migtable");

    fn row(entry_type: EntryType, source: &str, destination: Destination) -> Mapping {
        Mapping { entry_type, source: source.into(), destination }
    }

    fn set(text: &str) -> Destination {
        Destination::Set(text.into())
    }

    /// The fixture's rows, typed in from the file as a person reads it.
    fn gpmc_layout_rows() -> Vec<Mapping> {
        vec![
            row(EntryType::User, "jdoe@corp.example.test", set("jdoe@prod.example.com")),
            row(EntryType::Computer, r"CORP\WS0142$", Destination::SameAsSource),
            row(EntryType::LocalGroup, "HR Printers@corp.example.test", Destination::ByRelativeName),
            row(EntryType::GlobalGroup, r"corp.example.test\Finance Admins", set(r"PROD\Finance Admins")),
            row(EntryType::UniversalGroup, "Enterprise Admins@corp.example.test", Destination::ByRelativeName),
            row(EntryType::Unknown, "S-1-5-21-1004336348-1177238915-682003330-1106", Destination::None),
            row(EntryType::Unknown, "ADD YOUR DOMAIN ADMINS", set(r"PROD\Domain Admins")),
            row(EntryType::UncPath, r"\\fs01.corp.example.test\profiles$", set(r"\\fs01.prod.example.com\profiles$")),
            row(EntryType::UncPath, r"\\fs01\deploy\R&D tools", Destination::SameAsSource),
        ]
    }

    fn gpmc_layout_text() -> String {
        decode_utf16le(GPMC_LAYOUT, "fixture").unwrap()
    }

    #[test]
    fn reads_every_type_and_destination_form() {
        let file = MigTableFile::parse(GPMC_LAYOUT).unwrap();
        assert_eq!(file.encoding, TextEncoding::Utf16Le { bom: true });
        assert_eq!(file.mappings, gpmc_layout_rows());
    }

    #[test]
    fn writes_the_gpmc_layout_byte_for_byte() {
        assert_eq!(to_bytes(&gpmc_layout_rows()), GPMC_LAYOUT);
    }

    #[test]
    fn empty_table_closes_the_root_on_itself() {
        let text = to_text(&[]);
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"utf-16\"?>\r\n<MigrationTable xmlns:xsd="));
        assert!(text.ends_with(&format!("xmlns=\"{NAMESPACE}\" />")));
        assert_eq!(MigTableFile::parse(&to_bytes(&[])).unwrap().mappings, vec![]);
    }

    #[test]
    fn reads_every_encoding_of_the_same_table() {
        let text = gpmc_layout_text();
        let utf16be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let utf16le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let cases: Vec<(Vec<u8>, TextEncoding)> = vec![
            (utf16le.clone(), TextEncoding::Utf16Le { bom: false }),
            ([&[0xFE, 0xFF][..], &utf16be].concat(), TextEncoding::Utf16Be { bom: true }),
            (utf16be, TextEncoding::Utf16Be { bom: false }),
            ([&UTF8_BOM[..], text.as_bytes()].concat(), TextEncoding::Utf8 { bom: true }),
            // The declaration still says utf-16: real tables are saved that way by scripts.
            (text.as_bytes().to_vec(), TextEncoding::Utf8 { bom: false }),
        ];
        for (bytes, encoding) in cases {
            let file = MigTableFile::parse(&bytes).unwrap_or_else(|e| panic!("{encoding:?}: {e}"));
            assert_eq!(file.encoding, encoding);
            assert_eq!(file.mappings, gpmc_layout_rows(), "{encoding:?}");
        }
    }

    #[test]
    fn reads_an_ansi_table_that_declares_utf16() {
        let file = MigTableFile::parse(SCRIPT_ANSI).unwrap();
        assert_eq!(file.encoding, TextEncoding::Windows1252);
        assert_eq!(
            file.mappings,
            vec![
                row(EntryType::Unknown, "ADD YOUR DOMAIN ADMINS", set("CORP\\Domänen-Admins")),
                row(EntryType::Unknown, "ADD YOUR ENTERPRISE ADMINS", set("CORP\\Organisations-Admins")),
            ]
        );
    }

    #[test]
    fn windows_1252_high_half() {
        assert_eq!(windows_1252_char(0x80), '€');
        assert_eq!(windows_1252_char(0x9F), 'Ÿ');
        assert_eq!(windows_1252_char(0x81), '\u{81}');
        assert_eq!(windows_1252_char(0xE4), 'ä');
        assert_eq!(windows_1252_char(b'<'), '<');
    }

    #[test]
    fn refuses_broken_utf16() {
        let err = MigTableFile::parse(&[0xFF, 0xFE, b'<', 0, b'a']).unwrap_err();
        assert!(matches!(err.problem, Problem::Encoding { encoding: "UTF-16LE", .. }), "{err}");
        let err = MigTableFile::parse(&[0xFE, 0xFF, 0, b'<', 0]).unwrap_err();
        assert!(err.to_string().contains("not valid UTF-16BE text: odd number of bytes"), "{err}");
        let err = MigTableFile::parse(&[0xEF, 0xBB, 0xBF, b'<', 0xFF]).unwrap_err();
        assert!(err.to_string().contains("not valid UTF-8 text: invalid byte sequence at byte 4"), "{err}");
    }

    /// `body` wrapped as the rows of a GPMC table (UTF-8 for readability).
    fn table_with(body: &str) -> Vec<u8> {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-16\"?><MigrationTable xmlns=\"{NAMESPACE}\">{body}</MigrationTable>"
        )
        .into_bytes()
    }

    const GOOD_ROW: &str = "<Mapping><Type>User</Type><Source>a@b.c</Source><DestinationSameAsSource /></Mapping>";

    /// Row number the error points at, and its message.
    fn refusal(body: &str) -> (Option<usize>, String) {
        let err = MigTableFile::parse(&table_with(body)).expect_err(body);
        (error_row(&err), err.to_string())
    }

    #[test]
    fn refusals_name_the_row_and_the_reason() {
        let cases: [(String, usize, &str); 10] = [
            (
                format!("{GOOD_ROW}<Mapping><Type>Group</Type><Source>x</Source><DestinationNone /></Mapping>"),
                2,
                "invalid value 'Group': unknown mapping type; GPMC knows User, Computer, LocalGroup, GlobalGroup, \
                 UniversalGroup, UNCPath, Unknown (say which kind",
            ),
            (
                "<Mapping><Type>user</Type><Source>x</Source><DestinationNone /></Mapping>".into(),
                1,
                "GPMC matches the case exactly: write 'User'",
            ),
            (
                format!("{GOOD_ROW}{GOOD_ROW}<Mapping><Type>User</Type><DestinationNone /></Mapping>"),
                3,
                "required element <Source> is missing",
            ),
            (
                "<Mapping><Type>User</Type><Source>  </Source><DestinationNone /></Mapping>".into(),
                1,
                "the source is empty",
            ),
            (
                "<Mapping><Source>x</Source><DestinationNone /></Mapping>".into(),
                1,
                "required element <Type> is missing",
            ),
            (
                "<Mapping><Type>User</Type><Source>x</Source></Mapping>".into(),
                1,
                "required element <Destination> is missing",
            ),
            (
                format!(
                    "{GOOD_ROW}<Mapping><Type>User</Type><Source>x</Source><DestinationNone /><Destination>y</Destination></Mapping>"
                ),
                2,
                "exactly one destination element (this mapping already has <DestinationNone>)",
            ),
            (
                "<Mapping><Type>User</Type><Source>x</Source><DestinationNone>y</DestinationNone></Mapping>".into(),
                1,
                "<DestinationNone /> must be empty",
            ),
            (
                "<Mapping><Type>User</Type><Source>x</Source><Target>y</Target></Mapping>".into(),
                1,
                "found <Target> where <Type>, <Source> or one destination element was expected",
            ),
            (
                "<Mapping><Type>User</Type><Type>User</Type><Source>x</Source><DestinationNone /></Mapping>".into(),
                1,
                "only one <Type> per mapping",
            ),
        ];
        for (body, expected_row, reason) in cases {
            let (row, message) = refusal(&body);
            assert_eq!(row, Some(expected_row), "{message}");
            assert!(message.contains(&format!("MigrationTable/Mapping[{expected_row}]")), "{message}");
            assert!(message.contains(reason), "expected {reason:?} in {message}");
        }
    }

    #[test]
    fn refuses_other_documents_with_the_reason() {
        let cases = [
            ("<MigrationTable><Mapping>".to_string(), "not well-formed XML"),
            (String::new(), "not well-formed XML"),
            (format!("<Backups xmlns=\"{NAMESPACE}\"/>"), "found <Backups> where <MigrationTable> was expected"),
            ("<MigrationTable/>".to_string(), "the table's namespace must be"),
            (
                "<MigrationTable xmlns=\"http://www.microsoft.com/GroupPolicy/Types\"/>".to_string(),
                "invalid value 'http://www.microsoft.com/GroupPolicy/Types'",
            ),
            (format!("<MigrationTable xmlns=\"{NAMESPACE}\"><Entry/></MigrationTable>"), "found <Entry>"),
            (format!("<MigrationTable xmlns=\"{NAMESPACE}\">stray</MigrationTable>"), "unexpected text 'stray'"),
        ];
        for (text, reason) in cases {
            let err = MigTableFile::parse(text.as_bytes()).expect_err(&text);
            assert_eq!(error_row(&err), None);
            assert!(err.to_string().starts_with("migration table"), "{err}");
            assert!(err.to_string().contains(reason), "expected {reason:?} in {err}");
        }
    }

    #[test]
    fn accepts_prefixed_root_comments_and_any_element_order() {
        let text = format!(
            "<mt:MigrationTable xmlns:mt=\"{NAMESPACE}\"><!-- lab --><mt:Mapping><mt:DestinationNone/>\
             <mt:Source>x@y.z</mt:Source><mt:Type> User </mt:Type></mt:Mapping></mt:MigrationTable>"
        );
        let file = MigTableFile::parse(text.as_bytes()).unwrap();
        assert_eq!(file.mappings, vec![row(EntryType::User, "x@y.z", Destination::None)]);
    }

    #[test]
    fn escapes_markup_and_keeps_white_space_and_carriage_returns() {
        let rows = vec![
            row(EntryType::Unknown, " <R&D> \r\n team ", set("a&b>c")),
            row(EntryType::UncPath, r"\\srv\share", set("")),
        ];
        let text = to_text(&rows);
        assert!(text.contains("<Source> &lt;R&amp;D&gt; &#xD;\n team </Source>"), "{text}");
        assert!(text.contains("<Destination></Destination>"), "{text}");
        assert_eq!(MigTableFile::parse(&to_bytes(&rows)).unwrap().mappings, rows);
    }

    fn arbitrary_mapping() -> impl Strategy<Value = Mapping> {
        let text = "[^\u{0}-\u{8}\u{B}\u{C}\u{E}-\u{1F}\u{FFFE}\u{FFFF}]{0,24}";
        let source = text.prop_filter("a source is never blank", |s: &String| !s.trim().is_empty());
        let destination = prop_oneof![
            text.prop_map(Destination::Set),
            Just(Destination::SameAsSource),
            Just(Destination::None),
            Just(Destination::ByRelativeName),
        ];
        (proptest::sample::select(EntryType::ALL.to_vec()), source, destination)
            .prop_map(|(entry_type, source, destination)| Mapping { entry_type, source, destination })
    }

    proptest! {
        #[test]
        fn generated_tables_round_trip(rows in proptest::collection::vec(arbitrary_mapping(), 0..6)) {
            let bytes = to_bytes(&rows);
            let file = MigTableFile::parse(&bytes).unwrap();
            prop_assert_eq!(file.encoding, TextEncoding::Utf16Le { bom: true });
            prop_assert_eq!(&file.mappings, &rows);
            prop_assert_eq!(to_bytes(&file.mappings), bytes);
        }

        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = MigTableFile::parse(&bytes);
        }

        #[test]
        fn damaged_tables_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let mut bytes = SCRIPT_ANSI.to_vec();
            for (at, value) in edits {
                let len = bytes.len();
                bytes[at % len] = value;
            }
            if let Ok(file) = MigTableFile::parse(&bytes) {
                prop_assert_eq!(MigTableFile::parse(&to_bytes(&file.mappings)).unwrap().mappings, file.mappings);
            }
        }
    }
}
