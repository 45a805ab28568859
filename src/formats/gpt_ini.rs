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
use super::ini::IniDocument;
use super::text::TextEncoding;
use crate::model::Version;

pub const FILE_NAME: &str = "GPT.INI";

/// GPT.INI, kept line for line (see [`IniDocument`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GptIni {
    pub doc: IniDocument,
}

impl Default for GptIni {
    fn default() -> Self {
        GptIni { doc: IniDocument::new(TextEncoding::Utf8) }
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
        Ok(GptIni { doc: IniDocument::parse(bytes, FILE_NAME)? })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.doc.to_bytes()
    }

    /// The value of `key` in `[section]` (both case-insensitive, as Windows reads INI files).
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.doc.get(section, key)
    }

    /// Sets `key` in `[section]`, replacing the first occurrence, else adding it at the end of
    /// the section (creating the section if needed).
    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        self.doc.set(section, key, value);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::text::encode_utf16le_bom;
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
        assert_eq!(ini.doc.encoding, TextEncoding::Latin1);
        assert_eq!(ini.display_name(), Some("Café"));
        assert_eq!(ini.to_bytes(), latin1);

        let utf16 = encode_utf16le_bom("[General]\r\nVersion=3\r\n");
        let ini = GptIni::parse(&utf16).unwrap();
        assert_eq!(ini.doc.encoding, TextEncoding::Utf16LeBom);
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
                prop_assert_eq!(ini.to_bytes(), bytes);
            }
        }
    }
}
