//! Text encodings of the files in a GPMC backup.
//!
//! gpreport.xml and GptTmpl.inf are UTF-16LE with a byte-order mark; Backup.xml, bkupInfo.xml,
//! manifest.xml and comment.cmtx are UTF-8 (the latter with a BOM). Rust strings are UTF-8, so
//! the UTF-16 files are converted here, once, and everything else works on `str`.

use super::error::{FormatError, Problem};

pub const UTF16LE_BOM: [u8; 2] = [0xFF, 0xFE];

/// How a file's lines end. GPMC writes CRLF; a backup that went through git may come back with
/// LF (both samples from git repositories in the fixtures did). A file is written back with the
/// line ends it was read with, so reading and writing never changes a byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum LineEnding {
    #[default]
    Crlf,
    Lf,
}

impl LineEnding {
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Crlf => "\r\n",
            LineEnding::Lf => "\n",
        }
    }

    /// LF when `text` has line feeds and none of them follows a carriage return; else CRLF.
    pub fn of(text: &str) -> Self {
        if text.contains('\n') && !text.contains("\r\n") { LineEnding::Lf } else { LineEnding::Crlf }
    }
}

pub const UTF8_BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// `text` as UTF-16LE, preceded by the byte-order mark Windows writes.
pub fn encode_utf16le_bom(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + text.len() * 2);
    out.extend_from_slice(&UTF16LE_BOM);
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

/// Decodes UTF-16LE, with or without a leading BOM. `file` names the file in errors.
pub fn decode_utf16le(bytes: &[u8], file: &str) -> Result<String, FormatError> {
    let body = bytes.strip_prefix(&UTF16LE_BOM).unwrap_or(bytes);
    let error = |detail: String| FormatError::new(file, None, Problem::Encoding { encoding: "UTF-16LE", detail });
    if !body.len().is_multiple_of(2) {
        return Err(error(format!("odd number of bytes ({})", bytes.len())));
    }
    let units = body.chunks_exact(2).map(|pair| u16::from_le_bytes([pair[0], pair[1]]));
    let mut out = String::with_capacity(body.len() / 2);
    for (index, decoded) in char::decode_utf16(units).enumerate() {
        match decoded {
            Ok(ch) => out.push(ch),
            Err(e) => {
                let offset = bytes.len() - body.len() + index * 2;
                return Err(error(format!("unpaired surrogate 0x{:04X} at byte {offset}", e.unpaired_surrogate())));
            }
        }
    }
    Ok(out)
}

/// Decodes UTF-8, dropping a leading BOM if there is one.
pub fn decode_utf8(bytes: &[u8], file: &str) -> Result<String, FormatError> {
    let body = bytes.strip_prefix(&UTF8_BOM).unwrap_or(bytes);
    std::str::from_utf8(body).map(str::to_string).map_err(|e| {
        FormatError::new(
            file,
            None,
            Problem::Encoding {
                encoding: "UTF-8",
                detail: format!("invalid byte sequence at byte {}", e.valid_up_to()),
            },
        )
    })
}

/// Decodes a file that should be UTF-8 but may have been re-saved by a tool as UTF-16LE
/// (a BOM tells them apart). GPMC itself reads such files, so gpvault does too.
pub fn decode_utf8_or_utf16(bytes: &[u8], file: &str) -> Result<String, FormatError> {
    if bytes.starts_with(&UTF16LE_BOM) { decode_utf16le(bytes, file) } else { decode_utf8(bytes, file) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_round_trip_with_bom_and_astral_chars() {
        let text = "<GPO>é 𝄞 \r\n</GPO>";
        let bytes = encode_utf16le_bom(text);
        assert_eq!(&bytes[..4], &[0xFF, 0xFE, b'<', 0]);
        assert_eq!(decode_utf16le(&bytes, "x").unwrap(), text);
        // Without BOM too.
        assert_eq!(decode_utf16le(&bytes[2..], "x").unwrap(), text);
    }

    #[test]
    fn utf16_errors_name_the_file() {
        let err = decode_utf16le(&[0xFF, 0xFE, 0x41], "gpreport.xml").unwrap_err();
        assert!(err.to_string().starts_with("gpreport.xml: not valid UTF-16LE text"));
        let err = decode_utf16le(&[0xFF, 0xFE, 0x00, 0xD8, 0x41, 0x00], "g").unwrap_err();
        assert!(err.to_string().contains("unpaired surrogate 0xD800 at byte 2"));
    }

    #[test]
    fn line_endings_are_told_apart() {
        assert_eq!(LineEnding::of("<a/>\r\n<b/>"), LineEnding::Crlf);
        assert_eq!(LineEnding::of("<a/>\n<b/>"), LineEnding::Lf);
        assert_eq!(LineEnding::of("<a/>"), LineEnding::Crlf);
        assert_eq!(LineEnding::Lf.as_str(), "\n");
    }

    #[test]
    fn utf8_bom_is_dropped() {
        assert_eq!(decode_utf8(b"\xEF\xBB\xBFabc", "c").unwrap(), "abc");
        assert!(decode_utf8(b"\xFF", "c").is_err());
        assert_eq!(decode_utf8_or_utf16(&encode_utf16le_bom("hi"), "c").unwrap(), "hi");
    }
}
