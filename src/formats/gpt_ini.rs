//! `GPT.INI` at the root of a GPO's SYSVOL folder:
//!
//! ```text
//! [General]\r\n
//! Version=458759\r\n
//! displayName=New Group Policy Object\r\n
//! ```
//!
//! `Version` is the SYSVOL copy of the GPO's version (user counter high, computer low). Other
//! lines (some tools add keys or sections) are kept as they are, as are the line ends and the
//! encoding: UTF-8 (what Samba and most tools write), UTF-16LE with BOM, or — for bytes that
//! are not valid UTF-8, such as an ANSI display name written by Windows — Latin-1, which maps
//! every byte to one character and back so nothing is lost.

use super::error::{FormatError, Problem};
use super::text::{UTF16LE_BOM, decode_utf16le, encode_utf16le_bom};
use crate::model::Version;

pub const FILE_NAME: &str = "GPT.INI";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IniEncoding {
    #[default]
    Utf8,
    Utf16Le,
    Latin1,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IniLine {
    Section(String),
    /// `key=value`, both as written (no trimming, so the line comes back identical).
    Entry {
        key: String,
        value: String,
    },
    /// Blank lines, comments and anything else.
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GptIni {
    pub lines: Vec<IniLine>,
    pub encoding: IniEncoding,
    pub crlf: bool,
    pub final_newline: bool,
}

impl Default for GptIni {
    fn default() -> Self {
        GptIni { lines: Vec::new(), encoding: IniEncoding::Utf8, crlf: true, final_newline: true }
    }
}

impl GptIni {
    /// A new file as Windows writes it for a GPO.
    pub fn new(version: Version, display_name: &str) -> Self {
        let mut ini = GptIni::default();
        ini.set_version(version);
        ini.set_display_name(display_name);
        ini
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let (text, encoding) = if bytes.starts_with(&UTF16LE_BOM) {
            (decode_utf16le(bytes, FILE_NAME)?, IniEncoding::Utf16Le)
        } else {
            match std::str::from_utf8(bytes) {
                Ok(text) => (text.to_string(), IniEncoding::Utf8),
                Err(_) => (bytes.iter().map(|&b| b as char).collect(), IniEncoding::Latin1),
            }
        };
        let crlf = text.contains("\r\n") || !text.contains('\n');
        let final_newline = text.ends_with('\n') || text.is_empty();
        let mut lines = Vec::new();
        let body = text.strip_suffix('\n').unwrap_or(&text);
        if !text.is_empty() {
            for raw in body.split('\n') {
                let raw = raw.strip_suffix('\r').unwrap_or(raw);
                lines.push(parse_line(raw));
            }
        }
        Ok(GptIni { lines, encoding, crlf, final_newline })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let end = if self.crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                text.push_str(end);
            }
            match line {
                IniLine::Section(name) => {
                    text.push('[');
                    text.push_str(name);
                    text.push(']');
                }
                IniLine::Entry { key, value } => {
                    text.push_str(key);
                    text.push('=');
                    text.push_str(value);
                }
                IniLine::Other(raw) => text.push_str(raw),
            }
        }
        if self.final_newline && !self.lines.is_empty() {
            text.push_str(end);
        }
        match self.encoding {
            IniEncoding::Utf8 => text.into_bytes(),
            IniEncoding::Utf16Le => encode_utf16le_bom(&text),
            // Only characters up to U+00FF came from a Latin-1 read; anything newer that does
            // not fit is replaced rather than silently changing the encoding.
            IniEncoding::Latin1 => text.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect(),
        }
    }

    /// The value of `key` in `[section]` (both case-insensitive, as Windows reads INI files).
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        let mut in_section = false;
        for line in &self.lines {
            match line {
                IniLine::Section(name) => in_section = name.trim().eq_ignore_ascii_case(section),
                IniLine::Entry { key: k, value } if in_section && k.trim().eq_ignore_ascii_case(key) => {
                    return Some(value.as_str());
                }
                _ => {}
            }
        }
        None
    }

    /// Sets `key` in `[section]`, replacing the first occurrence, else adding it at the end of
    /// the section (creating the section if needed).
    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        let mut in_section = false;
        let mut insert_at = None;
        for (i, line) in self.lines.iter_mut().enumerate() {
            match line {
                IniLine::Section(name) => {
                    if in_section {
                        break;
                    }
                    in_section = name.trim().eq_ignore_ascii_case(section);
                    if in_section {
                        insert_at = Some(i + 1);
                    }
                }
                IniLine::Entry { key: k, value: v } if in_section && k.trim().eq_ignore_ascii_case(key) => {
                    *v = value.to_string();
                    return;
                }
                IniLine::Entry { .. } if in_section => insert_at = Some(i + 1),
                _ => {}
            }
        }
        let entry = IniLine::Entry { key: key.to_string(), value: value.to_string() };
        match insert_at {
            Some(i) => self.lines.insert(i, entry),
            None => {
                self.lines.push(IniLine::Section(section.to_string()));
                self.lines.push(entry);
            }
        }
    }

    /// `[General] Version`, as the model's split version.
    pub fn version(&self) -> Result<Option<Version>, FormatError> {
        let Some(raw) = self.get("General", "Version") else {
            return Ok(None);
        };
        raw.trim().parse::<u32>().map(|v| Some(Version::from_raw(v))).map_err(|_| {
            FormatError::new(
                FILE_NAME,
                Some("[General] Version".into()),
                Problem::InvalidValue {
                    value: raw.to_string(),
                    reason: "expected a decimal number (user version << 16 | computer version)".into(),
                },
            )
        })
    }

    pub fn set_version(&mut self, version: Version) {
        self.set("General", "Version", &version.raw().to_string());
    }

    pub fn display_name(&self) -> Option<&str> {
        self.get("General", "displayName")
    }

    pub fn set_display_name(&mut self, name: &str) {
        self.set("General", "displayName", name);
    }
}

fn parse_line(raw: &str) -> IniLine {
    let trimmed = raw.trim();
    if trimmed.starts_with('[') && trimmed.ends_with(']') && raw == trimmed {
        return IniLine::Section(trimmed[1..trimmed.len() - 1].to_string());
    }
    if !trimmed.starts_with(';')
        && let Some((key, value)) = raw.split_once('=')
    {
        return IniLine::Entry { key: key.to_string(), value: value.to_string() };
    }
    IniLine::Other(raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn new_file_looks_like_windows() {
        let ini = GptIni::new(Version { user: 2, machine: 7 }, "DoD Windows 10");
        assert_eq!(ini.to_bytes(), b"[General]\r\nVersion=131079\r\ndisplayName=DoD Windows 10\r\n");
    }

    #[test]
    fn reads_and_updates_keeping_unknown_lines() {
        let src = b"[General]\r\ngPCFunctionalityVersion=2\r\nVersion=65537\r\n; note\r\ndisplayName=Old\r\n\r\n[Extra]\r\nx=1\r\n";
        let mut ini = GptIni::parse(src).unwrap();
        assert_eq!(ini.to_bytes(), src);
        assert_eq!(ini.version().unwrap(), Some(Version { user: 1, machine: 1 }));
        assert_eq!(ini.display_name(), Some("Old"));
        ini.set_version(Version { user: 1, machine: 2 });
        ini.set_display_name("New");
        ini.set("General", "Added", "yes");
        let text = String::from_utf8(ini.to_bytes()).unwrap();
        assert_eq!(
            text,
            "[General]\r\ngPCFunctionalityVersion=2\r\nVersion=65538\r\n; note\r\ndisplayName=New\r\nAdded=yes\r\n\r\n[Extra]\r\nx=1\r\n"
        );
    }

    #[test]
    fn keeps_encoding_and_line_ends() {
        let latin1 = b"[General]\nVersion=0\ndisplayName=Caf\xE9";
        let ini = GptIni::parse(latin1).unwrap();
        assert_eq!(ini.encoding, IniEncoding::Latin1);
        assert_eq!(ini.display_name(), Some("Café"));
        assert_eq!(ini.to_bytes(), latin1);

        let utf16 = encode_utf16le_bom("[General]\r\nVersion=3\r\n");
        let ini = GptIni::parse(&utf16).unwrap();
        assert_eq!(ini.encoding, IniEncoding::Utf16Le);
        assert_eq!(ini.to_bytes(), utf16);
    }

    #[test]
    fn bad_version_is_named() {
        let ini = GptIni::parse(b"[General]\r\nVersion=abc\r\n").unwrap();
        let err = ini.version().unwrap_err();
        assert!(err.to_string().starts_with("GPT.INI (at <[General] Version>): invalid value 'abc'"));
    }

    proptest! {
        #[test]
        fn parser_never_panics_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(ini) = GptIni::parse(&bytes) {
                let _ = ini.version();
                let again = GptIni::parse(&ini.to_bytes()).unwrap();
                prop_assert_eq!(again.lines, ini.lines);
            }
        }
    }
}
