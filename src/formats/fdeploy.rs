//! Folder Redirection: `User\Documents & Settings\fdeploy.ini` and `fdeploy1.ini`.
//!
//! Both are UTF-16LE with a BOM and CRLF, and begin with an empty line and a line of five
//! spaces. fdeploy.ini (the pre-Vista form) lists a status per folder and, per folder, who is
//! redirected where:
//!
//! ```text
//! [FolderStatus]
//! My Documents=11
//! [My Documents]
//! s-1-1-0=\\fs01\home\%USERNAME%\My Documents
//! ```
//!
//! fdeploy1.ini names folders by their known-folder ID and gives one section per folder and
//! principal:
//!
//! ```text
//! [version]
//! version=100
//! [Folder_Redirection]
//! {FDD39AD0-238F-46AF-ADB4-6C85480369C7}=S-1-5-21-...-1110;S-1-5-21-...-513;
//! [{FDD39AD0-238F-46AF-ADB4-6C85480369C7}_S-1-5-21-...-1110]
//! Flags=1021
//! FullPath=\\fs01\finance-home\%USERNAME%\Documents
//! ```
//!
//! One reader handles both: the section names say which is which. Principals sit in keys,
//! in `;` lists and inside section names; all of them can be edited in place.

use std::ops::Range;

use super::error::FormatError;
use super::ini::{IniDocument, LineKind};
use super::references::{self, EditReference, Reference, ReferenceEditor, ReferenceKind, is_sid, path_kind, splice};
use super::settings::{Setting, SettingArea};

pub const FILE_NAME: &str = "fdeploy.ini";
pub const FILE_NAME_V1: &str = "fdeploy1.ini";

/// Known-folder IDs that Folder Redirection uses, and their names.
const KNOWN_FOLDERS: [(&str, &str); 13] = [
    ("{3EB685DB-65F9-4CF6-A03A-E3EF65729F3D}", "AppData"),
    ("{B4BFCC3A-DB2C-424C-B029-7FE99A87C641}", "Desktop"),
    ("{625B53C3-AB48-4EC1-BA1F-A1EF4146FC19}", "Start Menu"),
    ("{FDD39AD0-238F-46AF-ADB4-6C85480369C7}", "Documents"),
    ("{33E28130-4E1E-4676-835A-98395C3BC3BB}", "Pictures"),
    ("{4BD8D571-6D19-48D3-BE97-422220080E43}", "Music"),
    ("{18989B1D-99B5-455B-841C-AB7C74E4DDFC}", "Videos"),
    ("{1777F761-68AD-4D8A-87BD-30B759FA33DD}", "Favorites"),
    ("{56784854-C6CB-462B-8169-88E350ACB882}", "Contacts"),
    ("{374DE290-123F-4565-9164-39C4925E467B}", "Downloads"),
    ("{BFB9D5E0-C6A9-404C-B2B2-AE6DB6AF4968}", "Links"),
    ("{7D1D3A04-DEBB-4115-95CF-2F29DA2920DA}", "Searches"),
    ("{4C5C32FF-BB9D-43B0-B5B4-2D72E54EAAA4}", "Saved Games"),
];

/// The name of a known folder (`Documents` for `{FDD39AD0-...}`), compared without case.
pub fn known_folder_name(id: &str) -> Option<&'static str> {
    KNOWN_FOLDERS.iter().find(|(guid, _)| guid.eq_ignore_ascii_case(id.trim())).map(|(_, name)| *name)
}

/// `Documents {FDD39AD0-...}`, or the ID alone when it is not a known folder.
fn folder_label(id: &str) -> String {
    match known_folder_name(id) {
        Some(name) => format!("{name} {id}"),
        None => id.to_string(),
    }
}

/// `[FolderStatus]` `My Documents=11`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderStatus {
    pub line: usize,
    pub folder: String,
    pub flags: String,
}

/// fdeploy.ini `[My Documents]` `s-1-1-0=\\fs01\home\%USERNAME%\My Documents`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectionTarget {
    pub line: usize,
    pub folder: String,
    pub principal: String,
    pub target: String,
}

/// fdeploy1.ini `[Folder_Redirection]` `{FOLDERID}=SID;SID;`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderAssignment {
    pub line: usize,
    pub folder_id: String,
    pub principals: Vec<String>,
}

/// fdeploy1.ini `[{FOLDERID}_SID]`: where one folder goes for one principal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FolderPolicy {
    /// Line of the section header.
    pub line: usize,
    pub folder_id: String,
    pub principal: String,
    pub flags: Option<String>,
    pub full_path: Option<String>,
    pub relative_path: Option<String>,
    pub parent_folder: Option<String>,
    /// Any other `key=value` in the section.
    pub other: Vec<(String, String)>,
}

/// What a section of either file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SectionKind {
    Status,
    Version,
    Assignments,
    /// `{FOLDERID}_principal`: the byte range of the principal in the section name.
    Policy {
        id_end: usize,
    },
    /// fdeploy.ini: a folder name, entries `principal=target`.
    Targets,
}

fn section_kind(name: &str) -> SectionKind {
    let trimmed = name.trim();
    if trimmed.eq_ignore_ascii_case("FolderStatus") {
        SectionKind::Status
    } else if trimmed.eq_ignore_ascii_case("version") {
        SectionKind::Version
    } else if trimmed.eq_ignore_ascii_case("Folder_Redirection") {
        SectionKind::Assignments
    } else if trimmed.starts_with('{')
        && let Some(close) = trimmed.find("}_")
    {
        SectionKind::Policy { id_end: close + 1 }
    } else {
        SectionKind::Targets
    }
}

fn principal_kind(value: &str) -> ReferenceKind {
    if is_sid(value.trim()) { ReferenceKind::Sid } else { ReferenceKind::AccountName }
}

/// Ranges of the non-empty items of a `;`-separated list starting at `offset`.
fn list_ranges(text: &str, offset: usize) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for part in text.split(';') {
        let lead = part.len() - part.trim_start().len();
        if !part.trim().is_empty() {
            ranges.push(offset + start + lead..offset + start + lead + part.trim().len());
        }
        start += part.len() + 1;
    }
    ranges
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderRedirectionIni {
    pub doc: IniDocument,
}

impl FolderRedirectionIni {
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        Ok(FolderRedirectionIni { doc: IniDocument::parse(bytes, FILE_NAME)? })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.doc.to_bytes()
    }

    /// True for fdeploy1.ini (it has `[version]` or `[Folder_Redirection]`).
    pub fn is_v1(&self) -> bool {
        self.sections().iter().any(|(_, kind, _, _)| matches!(kind, SectionKind::Version | SectionKind::Assignments))
    }

    fn file_name(&self) -> &'static str {
        if self.is_v1() { FILE_NAME_V1 } else { FILE_NAME }
    }

    /// `(name, kind, header line index, body)` of each section.
    fn sections(&self) -> Vec<(String, SectionKind, usize, Range<usize>)> {
        self.doc
            .sections()
            .into_iter()
            .filter_map(|s| s.header.map(|h| (s.name.to_string(), section_kind(s.name), h, s.body)))
            .collect()
    }

    /// `(line index, key, value)` of the entries in a body, trimmed.
    fn entries_in(&self, body: Range<usize>) -> Vec<(usize, &str, &str)> {
        body.filter_map(|i| match self.doc.lines[i].kind() {
            LineKind::Entry { key, value } => Some((i, key.trim(), value.trim())),
            _ => None,
        })
        .collect()
    }

    pub fn folder_status(&self) -> Vec<FolderStatus> {
        self.sections()
            .into_iter()
            .filter(|(_, kind, _, _)| *kind == SectionKind::Status)
            .flat_map(|(_, _, _, body)| self.entries_in(body))
            .map(|(i, folder, flags)| FolderStatus { line: i + 1, folder: folder.into(), flags: flags.into() })
            .collect()
    }

    /// fdeploy.ini's per-folder redirections.
    pub fn targets(&self) -> Vec<RedirectionTarget> {
        let mut found = Vec::new();
        for (name, kind, _, body) in self.sections() {
            if kind != SectionKind::Targets {
                continue;
            }
            for (i, principal, target) in self.entries_in(body) {
                found.push(RedirectionTarget {
                    line: i + 1,
                    folder: name.trim().to_string(),
                    principal: principal.into(),
                    target: target.into(),
                });
            }
        }
        found
    }

    /// fdeploy1.ini's `[Folder_Redirection]`: which principals each folder is set for.
    pub fn assignments(&self) -> Vec<FolderAssignment> {
        self.sections()
            .into_iter()
            .filter(|(_, kind, _, _)| *kind == SectionKind::Assignments)
            .flat_map(|(_, _, _, body)| self.entries_in(body))
            .map(|(i, id, list)| FolderAssignment {
                line: i + 1,
                folder_id: id.into(),
                principals: list_ranges(list, 0).into_iter().map(|r| list[r].to_string()).collect(),
            })
            .collect()
    }

    /// fdeploy1.ini's `[{FOLDERID}_principal]` sections.
    pub fn folder_policies(&self) -> Vec<FolderPolicy> {
        let mut found = Vec::new();
        for (name, kind, header, body) in self.sections() {
            let SectionKind::Policy { id_end } = kind else { continue };
            let name = name.trim();
            let mut policy = FolderPolicy {
                line: header + 1,
                folder_id: name[..id_end].to_string(),
                principal: name[id_end + 1..].to_string(),
                ..FolderPolicy::default()
            };
            for (_, key, value) in self.entries_in(body) {
                let slot = match key.to_ascii_lowercase().as_str() {
                    "flags" => &mut policy.flags,
                    "fullpath" => &mut policy.full_path,
                    "relativepath" => &mut policy.relative_path,
                    "parentfolder" => &mut policy.parent_folder,
                    _ => {
                        policy.other.push((key.into(), value.into()));
                        continue;
                    }
                };
                slot.get_or_insert_with(|| value.to_string());
            }
            found.push(policy);
        }
        found
    }

    /// Status flags, each folder's targets, assignments, and each folder policy's values.
    pub fn settings(&self) -> Vec<Setting> {
        let area = SettingArea::FolderRedirection;
        let mut settings = Vec::new();
        for (name, kind, _, body) in self.sections() {
            let name = name.trim();
            for (_, key, value) in self.entries_in(body) {
                let setting = match kind {
                    SectionKind::Version => continue,
                    SectionKind::Assignments => {
                        let list: Vec<&str> = list_ranges(value, 0).into_iter().map(|r| &value[r]).collect();
                        Setting::new(area, name, folder_label(key), list.join(", "))
                    }
                    SectionKind::Policy { id_end } => {
                        let path = format!("{} for {}", folder_label(&name[..id_end]), &name[id_end + 1..]);
                        Setting::new(area, path, key, value)
                    }
                    SectionKind::Status | SectionKind::Targets => Setting::new(area, name, key, value),
                };
                settings.push(setting.in_file(self.file_name()));
            }
        }
        settings
    }

    /// Principals (keys, `;` lists, section names) and redirection targets.
    pub fn references(&self) -> Vec<Reference> {
        references::collect(self, |ini, edit| ini.for_each_reference_mut(edit))
    }

    /// Offers each principal and target to `edit`, rewriting only what it changes.
    pub fn for_each_reference_mut(&mut self, edit: &mut EditReference<'_>) -> Result<usize, FormatError> {
        let file = self.file_name();
        let mut editor = ReferenceEditor::new(edit, file, self.doc.encoding, &['\r', '\n']);
        for (name, kind, header, body) in self.sections() {
            let at = name.trim().to_string();
            if let SectionKind::Policy { id_end } = kind {
                let line = &self.doc.lines[header];
                if let Some(range) = line.section_name_range() {
                    let lead = line.text[range.clone()].len() - line.text[range.clone()].trim_start().len();
                    let principal = range.start + lead + id_end + 1..range.start + lead + at.len();
                    let value = line.text[principal.clone()].to_string();
                    if let Some(new) = editor.offer_in(principal_kind(&value), &value, &at, "section name", &[']'])? {
                        self.doc.lines[header].text = splice(&line.text, &[(principal, new)]);
                    }
                }
            }
            for index in body {
                let text = self.doc.lines[index].text.clone();
                let Some((key_range, value_range)) = self.doc.lines[index].entry_ranges() else { continue };
                let key = text[key_range.clone()].trim();
                let mut edits = Vec::new();
                match kind {
                    SectionKind::Status | SectionKind::Version => {}
                    SectionKind::Assignments => {
                        for range in list_ranges(&text[value_range.clone()], value_range.start) {
                            let value = &text[range.clone()];
                            if let Some(new) = editor.offer_in(principal_kind(value), value, &at, key, &[';'])? {
                                edits.push((range, new));
                            }
                        }
                    }
                    SectionKind::Policy { .. } => {
                        let value = &text[value_range.clone()];
                        let new = match key.to_ascii_lowercase().as_str() {
                            "flags" | "relativepath" | "parentfolder" => None,
                            "fullpath" => editor.offer_value(value, path_kind(value), &at, key)?,
                            _ => editor.offer_embedded(value, &at, key)?,
                        };
                        if let Some(new) = new {
                            edits.push((value_range.clone(), new));
                        }
                    }
                    SectionKind::Targets => {
                        let lead = text[key_range.clone()].len() - text[key_range.clone()].trim_start().len();
                        let principal = lead..lead + key.len();
                        if !key.is_empty()
                            && let Some(new) = editor.offer_in(principal_kind(key), key, &at, "principal", &['='])?
                        {
                            edits.push((principal, new));
                        }
                        let value = &text[value_range.clone()];
                        if let Some(new) = editor.offer_value(value, path_kind(value), &at, key)? {
                            edits.push((value_range.clone(), new));
                        }
                    }
                }
                if !edits.is_empty() {
                    self.doc.lines[index].text = splice(&text, &edits);
                }
            }
        }
        Ok(editor.changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::sysvol_samples::{self, corp_lab, replace_all, utf16_bytes, utf16_crlf, utf16_text};
    use proptest::prelude::*;

    const DOMAIN: &str = "S-1-5-21-2547487806-3473117116-509599669";
    const DOCS: &str = "{FDD39AD0-238F-46AF-ADB4-6C85480369C7}";
    const DESKTOP: &str = "{B4BFCC3A-DB2C-424C-B029-7FE99A87C641}";

    /// "Folder Redirection - Staff" as scripts/seed_gpos.py writes it.
    fn seeded() -> (String, String) {
        let (finance, fs) = (format!("{DOMAIN}-1110"), r"\\fs01.corp.example.test");
        let v0 = [
            "[FolderStatus]".into(),
            "My Documents=11".into(),
            "My Pictures=2".into(),
            "Desktop=11".into(),
            "[My Documents]".into(),
            format!(r"s-1-1-0={fs}\home\%USERNAME%\My Documents"),
            format!(r"{finance}={fs}\finance-home\%USERNAME%\My Documents"),
            "[My Pictures]".into(),
            "[Desktop]".into(),
            format!(r"s-1-1-0={fs}\home\%USERNAME%\Desktop"),
            String::new(),
        ]
        .join("\n");
        let v1 = [
            String::new(),
            "     ".into(),
            "[version]".into(),
            "version=100".into(),
            "[Folder_Redirection]".into(),
            format!("{DOCS}={finance};{DOMAIN}-513;"),
            format!("{DESKTOP}=s-1-1-0;"),
            format!("[{DOCS}_{finance}]"),
            "Flags=1021".into(),
            format!(r"FullPath={fs}\finance-home\%USERNAME%\Documents"),
            format!("[{DOCS}_{DOMAIN}-513]"),
            "Flags=1021".into(),
            format!(r"FullPath={fs}\home\%USERNAME%\Documents"),
            format!("[{DESKTOP}_s-1-1-0]"),
            "Flags=1031".into(),
            format!(r"FullPath={fs}\home\%USERNAME%\Desktop"),
            String::new(),
        ]
        .join("\n");
        (v0, v1)
    }

    #[test]
    fn seeded_files_read_typed_and_write_back() {
        let (v0, v1) = seeded();
        let (b0, b1) = (utf16_crlf(&v0), utf16_crlf(&v1));
        let old = FolderRedirectionIni::parse(&b0).unwrap();
        let new = FolderRedirectionIni::parse(&b1).unwrap();
        assert_eq!((old.to_bytes(), new.to_bytes()), (b0, b1));
        assert!(!old.is_v1() && new.is_v1());

        assert_eq!(old.folder_status()[0], FolderStatus { line: 2, folder: "My Documents".into(), flags: "11".into() });
        let targets = old.targets();
        assert_eq!(targets.len(), 3);
        assert_eq!(targets[1].principal, format!("{DOMAIN}-1110"));
        assert_eq!(targets[1].target, r"\\fs01.corp.example.test\finance-home\%USERNAME%\My Documents");
        assert_eq!(targets[2].folder, "Desktop");

        let assignments = new.assignments();
        assert_eq!(assignments[0].folder_id, DOCS);
        assert_eq!(assignments[0].principals, [format!("{DOMAIN}-1110"), format!("{DOMAIN}-513")]);
        let policies = new.folder_policies();
        assert_eq!(policies.len(), 3);
        assert_eq!(policies[0].principal, format!("{DOMAIN}-1110"));
        assert_eq!(policies[0].flags.as_deref(), Some("1021"));
        assert_eq!(policies[2].full_path.as_deref(), Some(r"\\fs01.corp.example.test\home\%USERNAME%\Desktop"));
        assert_eq!(known_folder_name(&policies[2].folder_id), Some("Desktop"));
    }

    #[test]
    fn settings_name_folders_and_principals() {
        let (v0, v1) = seeded();
        let old = FolderRedirectionIni::parse(&utf16_crlf(&v0)).unwrap().settings();
        assert_eq!(old.len(), 3 + 3);
        assert_eq!(old[3].path, "My Documents");
        assert_eq!(old[3].name, "s-1-1-0");
        let new = FolderRedirectionIni::parse(&utf16_crlf(&v1)).unwrap().settings();
        assert_eq!(new[0].path, "Folder_Redirection");
        assert_eq!(new[0].name, format!("Documents {DOCS}"));
        assert_eq!(new[0].value, format!("{DOMAIN}-1110, {DOMAIN}-513"));
        assert_eq!(new[3].path, format!("Documents {DOCS} for {DOMAIN}-1110"));
        assert_eq!(
            (new[3].name.as_str(), new[3].value.as_str()),
            ("FullPath", r"\\fs01.corp.example.test\finance-home\%USERNAME%\Documents")
        );
        assert_eq!(new.len(), 2 + 3 * 2);
    }

    #[test]
    fn references_are_found_in_keys_lists_and_section_names() {
        let (v0, v1) = seeded();
        let finance = format!("{DOMAIN}-1110");
        let refs = FolderRedirectionIni::parse(&utf16_crlf(&v1)).unwrap().references();
        let places: Vec<(&str, &str)> =
            refs.iter().filter(|r| r.value == finance).map(|r| (r.at.as_str(), r.attribute.as_str())).collect();
        assert_eq!(places, [("Folder_Redirection", DOCS), (&format!("{DOCS}_{finance}") as &str, "section name")]);
        assert_eq!(refs.iter().filter(|r| r.kind == ReferenceKind::UncPath).count(), 3);
        assert!(refs.iter().all(|r| r.file == FILE_NAME_V1));
        let refs = FolderRedirectionIni::parse(&utf16_crlf(&v0)).unwrap().references();
        assert_eq!(refs.iter().filter(|r| r.kind == ReferenceKind::Sid).count(), 3);
        assert_eq!(refs.iter().filter(|r| r.kind == ReferenceKind::UncPath).count(), 3);
        assert!(refs.iter().all(|r| r.file == FILE_NAME));
    }

    #[test]
    fn editing_one_sid_and_one_path_changes_only_those() {
        let (v0, v1) = seeded();
        let finance = format!("{DOMAIN}-1110");
        let new_sid = "S-1-5-21-1-2-3-2222";
        let mut edit = |r: &Reference, v: &mut String| {
            if *v == finance {
                *v = new_sid.into();
            }
            if r.kind == ReferenceKind::UncPath && v.contains("finance-home") {
                *v = v.replace(r"\\fs01.corp.example.test\finance-home", r"\\nas\fin");
            }
        };
        for (text, sid_count) in [(v0, 1), (v1, 2)] {
            let original = utf16_crlf(&text);
            let mut ini = FolderRedirectionIni::parse(&original).unwrap();
            assert_eq!(ini.for_each_reference_mut(&mut edit).unwrap(), sid_count + 1);
            let (expected, n) = replace_all(&original, &utf16_bytes(&finance), &utf16_bytes(new_sid));
            assert_eq!(n, sid_count);
            let (expected, n) = replace_all(
                &expected,
                &utf16_bytes(r"\\fs01.corp.example.test\finance-home"),
                &utf16_bytes(r"\\nas\fin"),
            );
            assert_eq!(n, 1);
            assert_eq!(ini.to_bytes(), expected);
            let again = FolderRedirectionIni::parse(&expected).unwrap();
            assert!(again.references().iter().any(|r| r.value == new_sid));
        }
    }

    #[test]
    fn vendored_files_round_trip_and_read() {
        let files = sysvol_samples::fixture_files(&|name| name.starts_with("fdeploy") && name.ends_with(".ini"));
        assert_eq!(files.len(), 2);
        for path in &files {
            let bytes = sysvol_samples::read(path);
            let ini = FolderRedirectionIni::parse(&bytes).unwrap();
            assert_eq!(ini.to_bytes(), bytes, "{}", path.display());
            // Independent count: FullPath lines (fdeploy1.ini) or target lines (fdeploy.ini).
            let text = utf16_text(&bytes);
            let unc_lines = text.lines().filter(|l| l.contains(r"=\\FAB-FS01\")).count();
            let unc = ini.references().into_iter().filter(|r| r.kind == ReferenceKind::UncPath).count();
            assert_eq!(unc, unc_lines, "{}", path.display());
            assert!(text.starts_with("\r\n     \r\n"));
        }
        let v1 = FolderRedirectionIni::parse(&sysvol_samples::read(&files[1])).unwrap();
        assert!(v1.is_v1());
        assert_eq!(v1.assignments().len(), 10);
        let videos =
            v1.folder_policies().into_iter().find(|p| known_folder_name(&p.folder_id) == Some("Videos")).unwrap();
        assert_eq!((videos.flags.as_deref(), videos.relative_path.as_deref()), (Some("8002"), Some("My Videos")));
        assert_eq!(videos.parent_folder.as_deref(), Some(DOCS));
        assert_eq!(videos.principal, "s-1-1-0");
        let appdata =
            v1.folder_policies().into_iter().find(|p| known_folder_name(&p.folder_id) == Some("AppData")).unwrap();
        assert_eq!(appdata.other[0].0, "ExcludeFolders");
        let v0 = FolderRedirectionIni::parse(&sysvol_samples::read(&files[0])).unwrap();
        assert_eq!(v0.folder_status().len(), 4);
        assert_eq!(v0.targets()[2].target, r"\\FAB-FS01\Users$\%USERNAME%\My Documents");
    }

    #[test]
    fn lab_files_round_trip_and_hold_the_seeded_targets() {
        for path in sysvol_samples::lab_files(&|name| name.starts_with("fdeploy") && name.ends_with(".ini")) {
            let bytes = sysvol_samples::read(&path);
            assert_eq!(FolderRedirectionIni::parse(&bytes).unwrap().to_bytes(), bytes, "{}", path.display());
        }
        let Some(lab) = corp_lab() else { return };
        let domain = lab.domain_sid();
        let fs = format!(r"\\fs01.{}", lab.realm());
        let v0 = FolderRedirectionIni::parse(
            &lab.file("Folder Redirection - Staff", "User/Documents & Settings/fdeploy.ini"),
        )
        .unwrap();
        let targets = v0.targets();
        assert_eq!(targets[0].principal, "s-1-1-0");
        assert_eq!(targets[0].target, format!(r"{fs}\home\%USERNAME%\My Documents"));
        assert!(targets[1].principal.starts_with(&format!("{domain}-")));
        let v1 = FolderRedirectionIni::parse(
            &lab.file("Folder Redirection - Staff", "User/Documents & Settings/fdeploy1.ini"),
        )
        .unwrap();
        assert_eq!(v1.assignments()[0].principals, [targets[1].principal.clone(), format!("{domain}-513")]);
        let policies = v1.folder_policies();
        assert_eq!(policies[1].full_path, Some(format!(r"{fs}\home\%USERNAME%\Documents")));
        assert_eq!(policies[2].flags.as_deref(), Some("1031"));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(ini) = FolderRedirectionIni::parse(&bytes) {
                prop_assert_eq!(&ini.to_bytes(), &bytes);
                let _ = (ini.folder_status(), ini.targets(), ini.assignments(), ini.folder_policies(), ini.settings());
                let _ = ini.references();
            }
        }

        #[test]
        fn arbitrary_lines_never_panic_when_edited(lines in proptest::collection::vec("[ \\[\\]{}_;=sS0-9\\-\\\\a-z]{0,30}", 0..10)) {
            let mut ini = FolderRedirectionIni::parse(lines.join("\r\n").as_bytes()).unwrap();
            let _ = (ini.folder_status(), ini.targets(), ini.assignments(), ini.folder_policies(), ini.settings());
            ini.for_each_reference_mut(&mut |_, v| v.push('1')).unwrap();
        }

        #[test]
        fn generated_targets_round_trip(targets in proptest::collection::vec(("[A-Z][a-z]{1,8}", 1u32..9000, "[a-z0-9]{1,8}"), 1..6)) {
            let mut text = String::from("\n     \n[FolderStatus]\n");
            for (folder, _, _) in &targets { text.push_str(&format!("{folder}=11\n")); }
            for (folder, rid, share) in &targets {
                text.push_str(&format!("[{folder}]\nS-1-5-21-1-2-3-{rid}=\\\\srv\\{share}\\%USERNAME%\n"));
            }
            let bytes = utf16_crlf(&text);
            let ini = FolderRedirectionIni::parse(&bytes).unwrap();
            prop_assert_eq!(&ini.to_bytes(), &bytes);
            let read = ini.targets();
            prop_assert_eq!(read.len(), targets.len());
            for (t, (_, rid, share)) in read.iter().zip(&targets) {
                prop_assert_eq!(&t.principal, &format!("S-1-5-21-1-2-3-{rid}"));
                prop_assert_eq!(&t.target, &format!("\\\\srv\\{share}\\%USERNAME%"));
            }
        }
    }
}
