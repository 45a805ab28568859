//! Finds the security principals and UNC paths a GPO's settings mention: what GPMC lists in
//! Backup.xml's SecurityGroups / FilePaths and what a migration table must map.

use std::collections::BTreeSet;

use crate::model::GpoFolder;
use crate::model::Sid;

/// Where a reference was found.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Found<T> {
    pub value: T,
    /// Path of the file in the GPO folder (`/` separators).
    pub file: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingsReferences {
    pub sids: Vec<Found<Sid>>,
    pub unc_paths: Vec<Found<String>>,
}

impl SettingsReferences {
    pub fn distinct_sids(&self) -> Vec<Sid> {
        let set: BTreeSet<&Sid> = self.sids.iter().map(|f| &f.value).collect();
        set.into_iter().cloned().collect()
    }
    pub fn distinct_unc_paths(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        self.unc_paths.iter().filter(|f| seen.insert(f.value.to_lowercase())).map(|f| f.value.clone()).collect()
    }
}

/// Files whose text carries principals or paths. registry.pol is left out on purpose: GPMC does
/// not migrate registry values either.
fn is_settings_file(rel_path: &str) -> bool {
    let lower = rel_path.to_lowercase();
    let name = lower.rsplit('/').next().unwrap_or("");
    name == "gpttmpl.inf"
        || name == "scripts.ini"
        || name == "psscripts.ini"
        || name.starts_with("fdeploy")
        || (lower.contains("/preferences/") && name.ends_with(".xml"))
        || name == "audit.csv"
}

/// Text of a settings file: UTF-16LE when it has the BOM (GptTmpl.inf, scripts.ini), else UTF-8.
pub fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> = rest.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units)
    } else {
        let rest = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
        String::from_utf8_lossy(rest).into_owned()
    }
}

pub fn scan_folder(folder: &GpoFolder) -> SettingsReferences {
    let mut refs = SettingsReferences::default();
    for (path, bytes) in folder.files().filter(|(p, _)| is_settings_file(p)) {
        let text = decode_text(bytes);
        refs.sids.extend(find_domain_sids(&text).into_iter().map(|value| Found { value, file: path.to_string() }));
        refs.unc_paths.extend(find_unc_paths(&text).into_iter().map(|value| Found { value, file: path.to_string() }));
    }
    refs
}

/// Account SIDs (`S-1-5-21-a-b-c-rid`): the ones that differ between domains. Well-known and
/// BUILTIN SIDs are the same everywhere and need no mapping.
pub fn find_domain_sids(text: &str) -> Vec<Sid> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("S-1-5-21-") {
        let candidate = &rest[at..];
        let end = candidate.find(|c: char| !(c.is_ascii_digit() || c == '-' || c == 'S')).unwrap_or(candidate.len());
        let token = candidate[..end].trim_end_matches('-');
        if let Ok(sid) = token.parse::<Sid>()
            && sid.sub_authorities.len() == 5
            && !found.contains(&sid)
        {
            found.push(sid);
        }
        rest = &candidate[9..];
    }
    found
}

/// `\\server\share\...` paths, ending at white space, quotes or markup.
pub fn find_unc_paths(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(r"\\") {
        let candidate = &rest[at..];
        let end = candidate[2..]
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '|' | ';' | ',' | '\0' | '*' | '?')
            })
            .map(|e| e + 2)
            .unwrap_or(candidate.len());
        let path = candidate[..end].trim_end_matches(['\\', '.']);
        let mut parts = path[2..].split('\\');
        let host = parts.next().unwrap_or("");
        let share = parts.next().unwrap_or("");
        let host_ok =
            !host.is_empty() && host.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '%' | '$'));
        if host_ok && !share.is_empty() && !found.iter().any(|f| f.eq_ignore_ascii_case(path)) {
            found.push(path.to_string());
        }
        rest = &candidate[end.max(2)..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FolderEntry;

    fn utf16(text: &str) -> Vec<u8> {
        let mut out = vec![0xFF, 0xFE];
        out.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
        out
    }

    #[test]
    fn finds_sids_and_paths_in_templates_and_preferences() {
        let inf = "[Privilege Rights]\r\nSeRemoteInteractiveLogonRight = *S-1-5-32-544,*S-1-5-21-1-2-3-1105\r\n\
                   [Group Membership]\r\n*S-1-5-21-1-2-3-1106__Memberof = *S-1-5-32-544\r\n";
        let drives = r#"<Drive><Properties path="\\fs01.corp.example.test\finance" label="F"/></Drive>"#;
        let folder = GpoFolder {
            entries: vec![
                FolderEntry::File {
                    rel_path: "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf".into(),
                    bytes: utf16(inf),
                },
                FolderEntry::File {
                    rel_path: "User/Preferences/Drives/Drives.xml".into(),
                    bytes: drives.as_bytes().to_vec(),
                },
                FolderEntry::File {
                    rel_path: "Machine/registry.pol".into(),
                    bytes: utf16(r"\\ignored\share S-1-5-21-9-9-9-9"),
                },
            ],
        };
        let refs = scan_folder(&folder);
        let sids: Vec<String> = refs.distinct_sids().iter().map(|s| s.to_string()).collect();
        assert_eq!(sids, ["S-1-5-21-1-2-3-1105", "S-1-5-21-1-2-3-1106"]);
        assert_eq!(refs.distinct_unc_paths(), [r"\\fs01.corp.example.test\finance"]);
    }

    #[test]
    fn unc_paths_stop_at_delimiters_and_need_a_share() {
        let text = r#"a="\\srv\share\dir\file.cmd" b=\\lonely c=\\srv2\s2;x \\%LOGONSERVER%\netlogon\go.cmd"#;
        assert_eq!(
            find_unc_paths(text),
            [r"\\srv\share\dir\file.cmd", r"\\srv2\s2", r"\\%LOGONSERVER%\netlogon\go.cmd"]
        );
    }
}
