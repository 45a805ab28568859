//! INI files as written, line by line: GPT.INI, GptTmpl.inf, fdeploy*.ini, scripts.ini.
//!
//! Each line keeps its text and its own line end, and the document its encoding, so a file read
//! and written back is byte-identical (whatever mix of CRLF and LF, spacing around `=`, comments,
//! blank or odd lines it has). The structure (`[section]`, `key=value`) is worked out from the
//! text when asked, so editing a value rewrites only that part of that line.

use std::ops::Range;

use super::error::FormatError;
use super::text::{TextEncoding, decode_text, encode_text};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEnding {
    CrLf,
    Lf,
    /// The last line of a file that does not end with a line break.
    None,
}

impl LineEnding {
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::CrLf => "\r\n",
            LineEnding::Lf => "\n",
            LineEnding::None => "",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IniLine {
    /// The line without its line end, exactly as written.
    pub text: String,
    pub ending: LineEnding,
}

/// What a line is. Keys and values are as written (not trimmed); use `.trim()` to compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind<'a> {
    /// `[name]`: the text between the brackets.
    Section(&'a str),
    /// `key=value`, split at the first `=`.
    Entry { key: &'a str, value: &'a str },
    /// Blank lines, `;` comments, and lines without `=` (secedit's `"Spooler",4,""`).
    Other(&'a str),
}

impl IniLine {
    pub fn new(text: impl Into<String>, ending: LineEnding) -> Self {
        IniLine { text: text.into(), ending }
    }

    pub fn kind(&self) -> LineKind<'_> {
        if let Some(range) = self.section_name_range() {
            return LineKind::Section(&self.text[range]);
        }
        match self.text.find('=') {
            Some(eq) if !self.text.trim_start().starts_with(';') => {
                LineKind::Entry { key: &self.text[..eq], value: &self.text[eq + 1..] }
            }
            _ => LineKind::Other(&self.text),
        }
    }

    /// Where the section name sits in the text (between the brackets).
    pub fn section_name_range(&self) -> Option<Range<usize>> {
        let trimmed = self.text.trim();
        if trimmed.len() >= 2 && trimmed.starts_with('[') && trimmed.ends_with(']') {
            let start = self.text.len() - self.text.trim_start().len() + 1;
            Some(start..start + trimmed.len() - 2)
        } else {
            None
        }
    }

    /// Where the key and the value of an entry sit in the text.
    pub fn entry_ranges(&self) -> Option<(Range<usize>, Range<usize>)> {
        match self.kind() {
            LineKind::Entry { key, .. } => Some((0..key.len(), key.len() + 1..self.text.len())),
            _ => None,
        }
    }

    /// Replaces the value of an entry, keeping the spaces that surrounded the old one.
    pub fn set_value(&mut self, value: &str) {
        if let Some((_, range)) = self.entry_ranges() {
            let old = &self.text[range.clone()];
            let lead = old.len() - old.trim_start().len();
            let trail = old.len() - old.trim_end().len();
            let inner = if old.trim().is_empty() {
                range.start + lead..range.start + lead
            } else {
                range.start + lead..range.end - trail
            };
            self.text.replace_range(inner, value);
        }
    }
}

/// One `[section]` and the lines under it, as indices into [`IniDocument::lines`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IniSection<'a> {
    /// The name as written between the brackets; `""` for lines before the first section.
    pub name: &'a str,
    /// Index of the `[section]` line, `None` for lines before the first section.
    pub header: Option<usize>,
    /// Indices of the lines after the header, up to the next section.
    pub body: Range<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IniDocument {
    pub encoding: TextEncoding,
    pub lines: Vec<IniLine>,
}

impl IniDocument {
    pub fn new(encoding: TextEncoding) -> Self {
        IniDocument { encoding, lines: Vec::new() }
    }

    /// Reads an INI file in any encoding. Fails only on UTF-16 that is not valid UTF-16.
    pub fn parse(bytes: &[u8], file: &str) -> Result<Self, FormatError> {
        let (text, encoding) = decode_text(bytes, file)?;
        let mut lines = Vec::new();
        let mut rest = text.as_str();
        while !rest.is_empty() {
            match rest.find('\n') {
                Some(at) => {
                    let line = &rest[..at];
                    let (line, ending) = match line.strip_suffix('\r') {
                        Some(l) => (l, LineEnding::CrLf),
                        None => (line, LineEnding::Lf),
                    };
                    lines.push(IniLine::new(line, ending));
                    rest = &rest[at + 1..];
                }
                None => {
                    lines.push(IniLine::new(rest, LineEnding::None));
                    rest = "";
                }
            }
        }
        Ok(IniDocument { encoding, lines })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        encode_text(&self.to_text(), self.encoding)
    }

    pub fn to_text(&self) -> String {
        let mut text = String::with_capacity(self.lines.iter().map(|l| l.text.len() + 2).sum());
        for line in &self.lines {
            text.push_str(&line.text);
            text.push_str(line.ending.as_str());
        }
        text
    }

    /// The line end the file mostly uses (CRLF for a file without any, as Windows writes).
    pub fn line_ending(&self) -> LineEnding {
        let lf = self.lines.iter().filter(|l| l.ending == LineEnding::Lf).count();
        let crlf = self.lines.iter().filter(|l| l.ending == LineEnding::CrLf).count();
        if lf > crlf { LineEnding::Lf } else { LineEnding::CrLf }
    }

    /// The sections in file order, starting with the nameless one before the first header
    /// (empty when the file starts with a section).
    pub fn sections(&self) -> Vec<IniSection<'_>> {
        let mut sections = vec![IniSection { name: "", header: None, body: 0..0 }];
        for (index, line) in self.lines.iter().enumerate() {
            if let LineKind::Section(name) = line.kind() {
                sections.push(IniSection { name, header: Some(index), body: index + 1..index + 1 });
            } else if let Some(last) = sections.last_mut() {
                last.body.end = index + 1;
            }
        }
        sections
    }

    /// The lines of every section called `name` (Windows compares names without case).
    pub fn section_lines(&self, name: &str) -> Vec<usize> {
        self.sections().into_iter().filter(|s| s.name.trim().eq_ignore_ascii_case(name)).flat_map(|s| s.body).collect()
    }

    /// `(line index, key, value)` of each entry in section `name`, key and value trimmed.
    pub fn entries(&self, name: &str) -> Vec<(usize, &str, &str)> {
        self.section_lines(name)
            .into_iter()
            .filter_map(|i| match self.lines[i].kind() {
                LineKind::Entry { key, value } => Some((i, key.trim(), value.trim())),
                _ => None,
            })
            .collect()
    }

    /// The value of `key` in `[section]` as written (both names compared without case).
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.section_lines(section).into_iter().find_map(|i| match self.lines[i].kind() {
            LineKind::Entry { key: k, value } if k.trim().eq_ignore_ascii_case(key) => Some(value),
            _ => None,
        })
    }

    /// Sets `key` in `[section]`: replaces the first occurrence's value, else adds the entry
    /// after the section's last entry, creating the section at the end if needed.
    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        let mut insert_at = None;
        for s in self.sections().into_iter().filter(|s| s.header.is_some()) {
            if !s.name.trim().eq_ignore_ascii_case(section) {
                continue;
            }
            let mut after = s.header.map_or(0, |h| h + 1);
            for i in s.body {
                if let LineKind::Entry { key: k, .. } = self.lines[i].kind() {
                    if k.trim().eq_ignore_ascii_case(key) {
                        self.lines[i].set_value(value);
                        return;
                    }
                    after = i + 1;
                }
            }
            insert_at = Some(after);
            break;
        }
        let entry = format!("{key}={value}");
        match insert_at {
            Some(i) => self.insert_line(i, entry),
            None => {
                self.insert_line(self.lines.len(), format!("[{section}]"));
                self.insert_line(self.lines.len(), entry);
            }
        }
    }

    /// Inserts a line before `index`, ended like the rest of the file. Appending to a file that
    /// did not end with a line break keeps it so: the old last line gets the break instead.
    pub fn insert_line(&mut self, index: usize, text: impl Into<String>) {
        let ending = self.line_ending();
        let index = index.min(self.lines.len());
        let mut new = IniLine::new(text, ending);
        if index == self.lines.len()
            && let Some(last) = self.lines.last_mut()
            && last.ending == LineEnding::None
        {
            last.ending = ending;
            new.ending = LineEnding::None;
        }
        self.lines.insert(index, new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::text::encode_utf16le_bom;
    use proptest::prelude::*;

    #[test]
    fn mixed_line_ends_and_odd_lines_come_back_identical() {
        let src = "\r\n     \r\n[General]\nVersion = 3\r\n; c=1\r\n  [Spaced] \r\n\"Spooler\",4,\"\"\r\nlast=x\r";
        let doc = IniDocument::parse(src.as_bytes(), "t.ini").unwrap();
        assert_eq!(doc.to_bytes(), src.as_bytes());
        assert_eq!(doc.lines.len(), 8);
        assert_eq!(doc.lines[2].kind(), LineKind::Section("General"));
        assert_eq!(doc.lines[3].kind(), LineKind::Entry { key: "Version ", value: " 3" });
        assert_eq!(doc.lines[4].kind(), LineKind::Other("; c=1"));
        assert_eq!(doc.lines[5].kind(), LineKind::Section("Spaced"));
        assert_eq!(doc.lines[7].ending, LineEnding::None);
        assert_eq!(doc.get("general", "VERSION"), Some(" 3"));
        let names: Vec<&str> = doc.sections().iter().map(|s| s.name).collect();
        assert_eq!(names, ["", "General", "Spaced"]);
        assert_eq!(doc.entries("Spaced"), vec![(7, "last", "x")]);
    }

    #[test]
    fn set_keeps_spacing_and_line_ends() {
        let src = encode_utf16le_bom("[Privilege Rights]\r\nSeBackupPrivilege = *S-1-5-32-544\r\n\r\n[Other]\r\nz=1");
        let mut doc = IniDocument::parse(&src, "t.inf").unwrap();
        assert_eq!(doc.encoding, TextEncoding::Utf16LeBom);
        doc.set("Privilege Rights", "SeBackupPrivilege", "*S-1-5-32-551");
        doc.set("Privilege Rights", "SeDebugPrivilege", "*S-1-5-32-544");
        doc.set("New", "a", "b");
        assert_eq!(
            doc.to_text(),
            "[Privilege Rights]\r\nSeBackupPrivilege = *S-1-5-32-551\r\nSeDebugPrivilege=*S-1-5-32-544\r\n\r\n\
             [Other]\r\nz=1\r\n[New]\r\na=b"
        );
        let mut empty_value = IniLine::new("key =  ", LineEnding::Lf);
        empty_value.set_value("v");
        assert_eq!(empty_value.text, "key =  v");
    }

    #[test]
    fn empty_and_new_documents() {
        assert!(IniDocument::parse(b"", "e").unwrap().lines.is_empty());
        let six = [0xFF, 0xFE, 0x0D, 0x00, 0x0A, 0x00];
        let doc = IniDocument::parse(&six, "scripts.ini").unwrap();
        assert_eq!(doc.lines, vec![IniLine::new("", LineEnding::CrLf)]);
        assert_eq!(doc.to_bytes(), six);
        let mut new = IniDocument::new(TextEncoding::Utf8);
        new.set("General", "Version", "0");
        assert_eq!(new.to_text(), "[General]\r\nVersion=0\r\n");
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(doc) = IniDocument::parse(&bytes, "p.ini") {
                prop_assert_eq!(doc.to_bytes(), bytes);
                for s in doc.sections() {
                    let _ = doc.entries(s.name);
                }
            }
        }

        #[test]
        fn generated_files_round_trip(
            lines in proptest::collection::vec(("[ \\[\\]=a-zA-Z0-9;*\"é,]{0,20}", 0u8..2), 0..20),
            utf16 in any::<bool>(),
        ) {
            let text: String = lines.iter().map(|(l, e)| format!("{l}{}", if *e == 0 { "\r\n" } else { "\n" })).collect();
            let bytes = if utf16 { encode_utf16le_bom(&text) } else { text.clone().into_bytes() };
            let doc = IniDocument::parse(&bytes, "p.ini").unwrap();
            prop_assert_eq!(doc.lines.len(), lines.len());
            prop_assert_eq!(doc.to_bytes(), bytes);
        }
    }
}
