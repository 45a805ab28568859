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

/// How a text file in SYSVOL was encoded, remembered so it is written back the same way.
///
/// secedit and Folder Redirection write UTF-16LE with a BOM, Preferences write UTF-8 (sometimes
/// with a BOM), other tools write plain UTF-8 or ANSI. Bytes that are none of these are read as
/// Latin-1, which maps every byte to one character and back, so nothing is lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub enum TextEncoding {
    #[default]
    Utf8,
    Utf8Bom,
    Utf16LeBom,
    /// UTF-16LE without a byte-order mark (recognised by an ASCII first character).
    Utf16Le,
    Latin1,
}

impl TextEncoding {
    /// True when every character of `text` can be written in this encoding.
    pub fn can_encode(self, text: &str) -> bool {
        match self {
            TextEncoding::Latin1 => text.chars().all(|c| u32::from(c) <= 0xFF),
            _ => true,
        }
    }
}

/// Decodes a text file in whichever encoding it uses, and says which.
pub fn decode_text(bytes: &[u8], file: &str) -> Result<(String, TextEncoding), FormatError> {
    if bytes.starts_with(&UTF16LE_BOM) {
        return Ok((decode_utf16le(bytes, file)?, TextEncoding::Utf16LeBom));
    }
    if let Some(body) = bytes.strip_prefix(&UTF8_BOM)
        && let Ok(text) = std::str::from_utf8(body)
    {
        return Ok((text.to_string(), TextEncoding::Utf8Bom));
    }
    // ASCII text in UTF-16 has a NUL after its first byte; NUL is valid UTF-8, so look first.
    if bytes.len() >= 2
        && bytes.len().is_multiple_of(2)
        && bytes[0] != 0
        && bytes[1] == 0
        && let Ok(text) = decode_utf16le(bytes, file)
    {
        return Ok((text, TextEncoding::Utf16Le));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok((text.to_string(), TextEncoding::Utf8)),
        Err(_) => Ok((bytes.iter().map(|&b| char::from(b)).collect(), TextEncoding::Latin1)),
    }
}

/// `text` in `encoding`. Characters Latin-1 cannot hold become `?` (callers check
/// [`TextEncoding::can_encode`] before putting such text in).
pub fn encode_text(text: &str, encoding: TextEncoding) -> Vec<u8> {
    match encoding {
        TextEncoding::Utf8 => text.as_bytes().to_vec(),
        TextEncoding::Utf8Bom => {
            let mut out = UTF8_BOM.to_vec();
            out.extend_from_slice(text.as_bytes());
            out
        }
        TextEncoding::Utf16LeBom => encode_utf16le_bom(text),
        TextEncoding::Utf16Le => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        TextEncoding::Latin1 => text.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect(),
    }
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

    #[test]
    fn any_encoding_is_recognised_and_written_back() {
        let samples: [(&[u8], TextEncoding); 5] = [
            (b"[General]\r\nVersion=1\r\n", TextEncoding::Utf8),
            (b"\xEF\xBB\xBF<a/>", TextEncoding::Utf8Bom),
            (b"\xFF\xFE\r\0\n\0", TextEncoding::Utf16LeBom),
            (b"[\0a\0]\0", TextEncoding::Utf16Le),
            (b"Caf\xE9", TextEncoding::Latin1),
        ];
        for (bytes, expected) in samples {
            let (text, encoding) = decode_text(bytes, "f").unwrap();
            assert_eq!(encoding, expected, "{bytes:?}");
            assert_eq!(encode_text(&text, encoding), bytes);
        }
        assert!(!TextEncoding::Latin1.can_encode("€"));
        assert!(decode_text(&[0xFF, 0xFE, 0x00, 0xD8], "f").is_err());
    }
}
