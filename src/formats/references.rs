//! What a GPO's settings files name outside the GPO: security principals (SIDs, account names)
//! and paths (`\\server\share\...`). Migration tables are filled from these, and an import or a
//! copy rewrites them in place through each reader's `for_each_reference_mut`.
//!
//! Every reader lists and edits its references through one [`ReferenceEditor`] walk, so what
//! `references()` lists is exactly what an edit can reach.

use std::ops::Range;

use super::error::{FormatError, Problem};
use super::text::TextEncoding;
use crate::model::Sid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum ReferenceKind {
    /// `S-1-5-21-...`, without the `*` GptTmpl.inf writes before SIDs.
    Sid,
    /// An account by name: `DOMAIN\name`, `name@dns.name` or a bare name.
    AccountName,
    /// `\\server\share\...`: what a migration table maps.
    UncPath,
    /// A local or variable-based path in a path field (`%ProgramFiles%\App`): listed so a
    /// migration can see it, rarely mapped.
    Path,
}

impl ReferenceKind {
    pub fn is_principal(self) -> bool {
        matches!(self, ReferenceKind::Sid | ReferenceKind::AccountName)
    }
}

/// One occurrence of a principal or path, and where it is.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Reference {
    pub kind: ReferenceKind,
    pub value: String,
    /// The file: the format's usual name (`registry.pol`, `Groups.xml`) until the caller, who
    /// knows the path, replaces it with [`Reference::in_file`].
    pub file: String,
    /// The section, registry key or preference item holding it.
    pub at: String,
    /// The key, attribute or field (`SeBackupPrivilege`, `Properties/@path`, `FullPath`).
    pub attribute: String,
}

impl Reference {
    pub fn in_file(mut self, path: impl Into<String>) -> Self {
        self.file = path.into();
        self
    }

    pub fn sid(&self) -> Option<Sid> {
        match self.kind {
            ReferenceKind::Sid => self.value.parse().ok(),
            _ => None,
        }
    }
}

/// True for text that is one SID and nothing else (`S-1-1-0`, `s-1-5-21-1-2-3-500`).
pub fn is_sid(text: &str) -> bool {
    find_sids(text).first() == Some(&(0..text.len()))
}

/// Byte ranges of the SIDs in `text`: `S-1-` (either case) and at least two more numbers,
/// not glued to letters or digits on either side.
pub fn find_sids(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 4 <= bytes.len() {
        let starts = matches!(bytes[i], b'S' | b's')
            && &bytes[i + 1..i + 4] == b"-1-"
            && (i == 0 || !is_word_byte(bytes[i - 1]));
        if !starts {
            i += 1;
            continue;
        }
        // After "S-1": groups of "-digits".
        let mut end = i + 3;
        let mut groups = 0;
        while end < bytes.len() && bytes[end] == b'-' {
            let digits = bytes[end + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                break;
            }
            end += 1 + digits;
            groups += 1;
        }
        let glued = end < bytes.len() && is_word_byte(bytes[end]);
        if groups >= 2 && !glued && text[i..end].parse::<Sid>().is_ok() {
            found.push(i..end);
            i = end;
        } else {
            i += 1;
        }
    }
    found
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

fn is_host_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '%' | '$')
}

/// True for a whole value that is a UNC path (`\\host\share`, then anything, spaces included).
pub fn is_unc_path(value: &str) -> bool {
    let Some(rest) = value.strip_prefix(r"\\") else {
        return false;
    };
    let Some((host, after)) = rest.split_once('\\') else {
        return false;
    };
    let share = after.split('\\').next().unwrap_or("");
    !host.is_empty() && host.chars().all(is_host_char) && !share.is_empty()
}

/// The kind of a value that names a file or folder: a UNC path, another path (`%X%\app`,
/// `C:\Tools`), or `None` for a bare name (`setup.cmd`, run from the GPO's own folder).
pub fn path_kind(value: &str) -> Option<ReferenceKind> {
    let value = value.trim();
    if is_unc_path(value) {
        Some(ReferenceKind::UncPath)
    } else if value.contains(['\\', '/', ':']) {
        Some(ReferenceKind::Path)
    } else {
        None
    }
}

/// Byte ranges of `\\host\share...` paths inside free text (command lines, registry strings).
/// A path ends at white space, quotes, markup or list separators, and loses a trailing `\`.
pub fn find_unc_paths(text: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = text[from..].find(r"\\") {
        let start = from + offset;
        let rest = &text[start..];
        let len = rest[2..]
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '|' | ';' | ',' | '\0' | '*' | '?')
            })
            .map_or(rest.len(), |e| e + 2);
        let path = rest[..len].trim_end_matches('\\');
        let preceded_by_backslash = text[..start].ends_with('\\');
        if !preceded_by_backslash && is_unc_path(path) {
            found.push(start..start + path.len());
        }
        from = start + len.max(2);
    }
    found
}

/// SIDs and UNC paths in free text, in order, without overlaps (a SID inside a path belongs to
/// the path).
pub fn find_embedded(text: &str) -> Vec<(ReferenceKind, Range<usize>)> {
    let paths = find_unc_paths(text);
    let mut all: Vec<(ReferenceKind, Range<usize>)> = find_sids(text)
        .into_iter()
        .filter(|s| !paths.iter().any(|p| s.start < p.end && p.start < s.end))
        .map(|r| (ReferenceKind::Sid, r))
        .collect();
    all.extend(paths.into_iter().map(|r| (ReferenceKind::UncPath, r)));
    all.sort_by_key(|(_, r)| r.start);
    all
}

/// `text` with each range replaced; `edits` sorted by position and not overlapping.
pub(crate) fn splice(text: &str, edits: &[(Range<usize>, String)]) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    for (range, replacement) in edits {
        out.push_str(&text[at..range.start]);
        out.push_str(replacement);
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The callback of `for_each_reference_mut`: sees each reference and may change its value.
pub type EditReference<'a> = dyn FnMut(&Reference, &mut String) + 'a;

/// Offers references to a callback, checks that what comes back can be written into the file,
/// and counts the changes.
pub(crate) struct ReferenceEditor<'a, 'f> {
    edit: &'a mut EditReference<'f>,
    file: String,
    encoding: TextEncoding,
    /// Characters that would change the file's structure if written into a value.
    forbidden: &'static [char],
    pub changed: usize,
}

impl<'a, 'f> ReferenceEditor<'a, 'f> {
    pub(crate) fn new(
        edit: &'a mut EditReference<'f>,
        file: impl Into<String>,
        encoding: TextEncoding,
        forbidden: &'static [char],
    ) -> Self {
        ReferenceEditor { edit, file: file.into(), encoding, forbidden, changed: 0 }
    }

    /// Offers `value`; returns the new value when the callback changed it.
    pub(crate) fn offer(
        &mut self,
        kind: ReferenceKind,
        value: &str,
        at: &str,
        attribute: &str,
    ) -> Result<Option<String>, FormatError> {
        self.offer_in(kind, value, at, attribute, &[])
    }

    /// [`Self::offer`] for a place where `also_forbidden` would break the structure too (a
    /// comma inside a comma-separated list).
    pub(crate) fn offer_in(
        &mut self,
        kind: ReferenceKind,
        value: &str,
        at: &str,
        attribute: &str,
        also_forbidden: &[char],
    ) -> Result<Option<String>, FormatError> {
        let reference = Reference {
            kind,
            value: value.to_string(),
            file: self.file.clone(),
            at: at.to_string(),
            attribute: attribute.to_string(),
        };
        let mut new = value.to_string();
        (self.edit)(&reference, &mut new);
        if new == value {
            return Ok(None);
        }
        let reason = if new.contains(self.forbidden) || new.contains(also_forbidden) {
            let mut forbidden = self.forbidden.to_vec();
            forbidden.extend_from_slice(also_forbidden);
            Some(format!("{} cannot hold any of {forbidden:?} in this place", self.file))
        } else if !self.encoding.can_encode(&new) {
            Some(format!("{} is written as {:?}, which cannot hold this text", self.file, self.encoding))
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(FormatError::new(
                &self.file,
                Some(format!("{at} {attribute}")),
                Problem::InvalidValue { value: new, reason },
            ));
        }
        self.changed += 1;
        Ok(Some(new))
    }

    /// Offers the whole of `value` when it is a UNC path (else a non-empty `fallback` kind), or
    /// else each SID and UNC path inside it. Returns the rewritten value when anything changed.
    pub(crate) fn offer_value(
        &mut self,
        value: &str,
        whole: Option<ReferenceKind>,
        at: &str,
        attribute: &str,
    ) -> Result<Option<String>, FormatError> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let start = value.len() - value.trim_start().len();
        let whole = if is_unc_path(trimmed) { Some(ReferenceKind::UncPath) } else { whole };
        match whole {
            Some(kind) => Ok(self
                .offer(kind, trimmed, at, attribute)?
                .map(|new| splice(value, &[(start..start + trimmed.len(), new)]))),
            None => self.offer_embedded(value, at, attribute),
        }
    }

    /// Offers each SID and UNC path found inside free text.
    pub(crate) fn offer_embedded(
        &mut self,
        text: &str,
        at: &str,
        attribute: &str,
    ) -> Result<Option<String>, FormatError> {
        let mut edits = Vec::new();
        for (kind, range) in find_embedded(text) {
            if let Some(new) = self.offer(kind, &text[range.clone()], at, attribute)? {
                edits.push((range, new));
            }
        }
        Ok((!edits.is_empty()).then(|| splice(text, &edits)))
    }
}

/// Runs a reader's edit walk with a callback that only records: the reader's `references()`.
pub(crate) fn collect<T: Clone>(
    document: &T,
    walk: impl FnOnce(&mut T, &mut EditReference<'_>) -> Result<usize, FormatError>,
) -> Vec<Reference> {
    let mut copy = document.clone();
    let mut found = Vec::new();
    let mut record = |r: &Reference, _: &mut String| found.push(r.clone());
    // A callback that changes nothing cannot fail validation.
    let _ = walk(&mut copy, &mut record);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts(text: &str, ranges: &[Range<usize>]) -> Vec<String> {
        ranges.iter().map(|r| text[r.clone()].to_string()).collect()
    }

    #[test]
    fn sids_are_found_with_their_boundaries() {
        let text = "*S-1-5-32-544,*s-1-1-0;(A;;KA;;;S-1-5-21-1-2-3-1109) {FDD3}_S-1-5-21-9-8-7-513] \
                    xS-1-5-1 S-1-5 S-1-5-21-1-2-3-1109__Members S-1-5-99x";
        assert_eq!(
            texts(text, &find_sids(text)),
            ["S-1-5-32-544", "s-1-1-0", "S-1-5-21-1-2-3-1109", "S-1-5-21-9-8-7-513", "S-1-5-21-1-2-3-1109"]
        );
        assert!(is_sid("S-1-1-0"));
        assert!(!is_sid("S-1-1-0 "));
        assert!(!is_sid("*S-1-1-0"));
    }

    #[test]
    fn unc_paths_whole_and_embedded() {
        assert!(is_unc_path(r"\\FAB-FS01\Users$\%USERNAME%\My Documents"));
        assert!(is_unc_path(r"\\corp.example.test\NETLOGON"));
        assert!(!is_unc_path(r"\\*\SYSVOL"));
        assert!(!is_unc_path(r"\\lonely"));
        assert!(!is_unc_path(r"\\srv\"));
        assert!(!is_unc_path(r"C:\Windows"));
        let text = r#"a="\\srv\share\dir\file.cmd" b=\\lonely c=\\srv2\s2\;x \\%LOGONSERVER%\netlogon\go.cmd \\\x\y"#;
        assert_eq!(
            texts(text, &find_unc_paths(text)),
            [r"\\srv\share\dir\file.cmd", r"\\srv2\s2", r"\\%LOGONSERVER%\netlogon\go.cmd"]
        );
    }

    #[test]
    fn sid_inside_a_path_belongs_to_the_path() {
        let text = r"\\fs\home\S-1-5-21-1-2-3-4 S-1-5-21-1-2-3-5";
        let found = find_embedded(text);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].0, ReferenceKind::UncPath);
        assert_eq!(&text[found[1].1.clone()], "S-1-5-21-1-2-3-5");
    }

    #[test]
    fn editor_validates_and_counts() {
        let mut edit = |r: &Reference, v: &mut String| {
            if r.kind == ReferenceKind::Sid {
                *v = "S-1-5-21-4-4-4-4".into();
            } else {
                *v = "\\\\new\\share\r\n".into();
            }
        };
        let mut editor = ReferenceEditor::new(&mut edit, "test.ini", TextEncoding::Utf8, &['\r', '\n']);
        let out = editor.offer_embedded("x S-1-5-21-1-2-3-4 y", "s", "k").unwrap();
        assert_eq!(out.as_deref(), Some("x S-1-5-21-4-4-4-4 y"));
        let err = editor.offer_value(r"\\old\share", None, "s", "k").unwrap_err();
        assert!(err.to_string().starts_with("test.ini (at <s k>): invalid value"), "{err}");
        assert_eq!(editor.changed, 1);
    }

    proptest! {
        #[test]
        fn finders_never_panic_and_return_char_boundaries(text in "[Ss1\\-0-9\\\\a-z%$ é.]{0,60}") {
            for (_, range) in find_embedded(&text) {
                prop_assert!(text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
            }
        }
    }
}
