//! `GptTmpl.inf`: the Security Settings of a GPO (`Machine\Microsoft\Windows NT\SecEdit`), a
//! secedit security template. UTF-16LE with a BOM and CRLF as secedit writes it:
//!
//! ```text
//! [Unicode]
//! Unicode=yes
//! [Version]
//! signature="$CHICAGO$"
//! Revision=1
//! [Privilege Rights]
//! SeRemoteInteractiveLogonRight = *S-1-5-32-544,*S-1-5-21-...-1109
//! [Group Membership]
//! *S-1-5-32-544__Members = *S-1-5-21-...-512
//! [Service General Setting]
//! "Spooler",2,"D:AR(A;;CCLCSWRPWPDTLOCRRC;;;SY)..."
//! [Registry Values]
//! MACHINE\System\CurrentControlSet\Control\Lsa\NoLMHash=4,1
//! [File Security]
//! "%SystemRoot%\System32\drivers\etc",2,"D:PAR(...)"
//! ```
//!
//! Principals are `*` + SID, or a name where the template was written with one. The file is
//! kept line for line (see [`IniDocument`]); the typed views below are read from it on demand,
//! and edits rewrite only the part of the line that changed.

use std::ops::Range;

use super::error::{FormatError, Problem};
use super::ini::{IniDocument, LineKind};
use super::references::{self, EditReference, Reference, ReferenceEditor, ReferenceKind, is_sid, splice};
use super::settings::{Setting, SettingArea};

pub const FILE_NAME: &str = "GptTmpl.inf";

/// A principal as a template names it: `*S-1-5-32-544` (a SID) or a name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum AccountRef {
    Sid(String),
    Name(String),
}

impl AccountRef {
    pub fn parse(token: &str) -> Self {
        let token = token.trim();
        match token.strip_prefix('*') {
            Some(sid) => AccountRef::Sid(sid.trim().to_string()),
            None => AccountRef::Name(token.to_string()),
        }
    }

    /// As the template writes it: `*` before a SID.
    pub fn as_written(&self) -> String {
        match self {
            AccountRef::Sid(sid) => format!("*{sid}"),
            AccountRef::Name(name) => name.clone(),
        }
    }

    pub fn text(&self) -> &str {
        match self {
            AccountRef::Sid(s) | AccountRef::Name(s) => s,
        }
    }
}

/// `SeBackupPrivilege = *S-1-5-32-544,*S-1-5-32-551`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivilegeRight {
    /// 1-based line number.
    pub line: usize,
    pub right: String,
    pub accounts: Vec<AccountRef>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum MembershipRelation {
    /// `group__Members = ...`: the group's members are exactly these (Restricted Groups).
    Members,
    /// `group__Memberof = ...`: the group is added to these groups.
    MemberOf,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMembership {
    pub line: usize,
    pub group: AccountRef,
    pub relation: MembershipRelation,
    pub accounts: Vec<AccountRef>,
}

/// `"Spooler",2,"D:AR(...)"`: a service's startup mode and (optional) permissions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSetting {
    pub line: usize,
    pub name: String,
    /// `2` automatic, `3` manual, `4` disabled, as written.
    pub startup: String,
    /// SDDL, empty when only the startup mode is set.
    pub sddl: String,
}

impl ServiceSetting {
    pub fn startup_name(&self) -> &str {
        match self.startup.trim() {
            "2" => "Automatic",
            "3" => "Manual",
            "4" => "Disabled",
            other => other,
        }
    }
}

/// `MACHINE\System\...\NoLMHash=4,1`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryValueSetting {
    pub line: usize,
    pub path: String,
    /// The registry type number as written (`4` is REG_DWORD).
    pub value_type: String,
    /// The data as written: `1`, `"CORP"` (quoted strings), `a,b` (REG_MULTI_SZ).
    pub data: String,
}

impl RegistryValueSetting {
    pub fn type_name(&self) -> &str {
        match self.value_type.trim() {
            "1" => "REG_SZ",
            "2" => "REG_EXPAND_SZ",
            "3" => "REG_BINARY",
            "4" => "REG_DWORD",
            "7" => "REG_MULTI_SZ",
            other => other,
        }
    }

    /// The data without the quotes secedit puts around strings.
    pub fn display_data(&self) -> &str {
        unquote(self.data.trim())
    }
}

/// `"path",mode,"SDDL"` in [Registry Keys] and [File Security].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectSecurity {
    pub line: usize,
    pub path: String,
    /// `0` propagate inheritable permissions, `1` do not replace, `2` replace, as written.
    pub mode: String,
    pub sddl: String,
}

impl ObjectSecurity {
    pub fn mode_name(&self) -> &str {
        match self.mode.trim() {
            "0" => "propagate inheritable permissions",
            "1" => "do not allow permissions to be replaced",
            "2" => "replace existing permissions",
            other => other,
        }
    }
}

fn unquote(text: &str) -> &str {
    text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text)
}

/// The comma-separated fields of a line, each as the range of its text without surrounding
/// spaces and quotes. Commas inside quotes do not separate.
fn fields(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                ranges.push(start..i);
                start = i + 1;
            }
            _ => {}
        }
    }
    ranges.push(start..text.len());
    ranges.into_iter().map(|r| inner(text, r)).collect()
}

/// `range` without surrounding spaces and, if present, one pair of quotes.
fn inner(text: &str, range: Range<usize>) -> Range<usize> {
    let part = &text[range.clone()];
    let start = range.start + (part.len() - part.trim_start().len());
    let end = (range.end - (part.len() - part.trim_end().len())).max(start);
    let trimmed = &text[start..end];
    if trimmed.len() >= 2 && trimmed.starts_with('"') && trimmed.ends_with('"') {
        start + 1..end - 1
    } else {
        start..end
    }
}

/// Ranges of the comma-separated accounts in `text` (spaces trimmed, empty items skipped).
fn account_ranges(text: &str, offset: usize) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for part in text.split(',') {
        let lead = part.len() - part.trim_start().len();
        let trimmed = part.trim();
        if !trimmed.is_empty() {
            ranges.push(offset + start + lead..offset + start + lead + trimmed.len());
        }
        start += part.len() + 1;
    }
    ranges
}

fn accounts(text: &str) -> Vec<AccountRef> {
    account_ranges(text, 0).into_iter().map(|r| AccountRef::parse(&text[r])).collect()
}

/// `*S-1-5-32-544__Members` split into the group and the relation, with the group's range.
fn membership_key(key: &str) -> Option<(Range<usize>, MembershipRelation)> {
    let lower = key.to_ascii_lowercase();
    let trimmed_end = lower.trim_end().len();
    let (suffix, relation) = if lower[..trimmed_end].ends_with("__memberof") {
        ("__memberof", MembershipRelation::MemberOf)
    } else if lower[..trimmed_end].ends_with("__members") {
        ("__members", MembershipRelation::Members)
    } else {
        return None;
    };
    let group_end = trimmed_end - suffix.len();
    let group = &key[..group_end];
    let start = group.len() - group.trim_start().len();
    let end = group.trim_end().len();
    (start < end).then_some((start..end, relation))
}

/// The sections whose entries are not `key=value` settings of their own.
fn is_header_section(name: &str) -> bool {
    name.eq_ignore_ascii_case("Unicode") || name.eq_ignore_ascii_case("Version")
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GptTmpl {
    pub doc: IniDocument,
}

impl GptTmpl {
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        Ok(GptTmpl { doc: IniDocument::parse(bytes, FILE_NAME)? })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.doc.to_bytes()
    }

    /// Section names in file order (as written).
    pub fn section_names(&self) -> Vec<&str> {
        self.doc.sections().into_iter().filter(|s| s.header.is_some()).map(|s| s.name.trim()).collect()
    }

    /// `key = value` entries of a section, trimmed: [System Access], [Event Audit],
    /// [Kerberos Policy], [System Log] and any other.
    pub fn entries(&self, section: &str) -> Vec<(&str, &str)> {
        self.doc.entries(section).into_iter().map(|(_, k, v)| (k, v)).collect()
    }

    pub fn system_access(&self) -> Vec<(&str, &str)> {
        self.entries("System Access")
    }

    pub fn event_audit(&self) -> Vec<(&str, &str)> {
        self.entries("Event Audit")
    }

    pub fn kerberos_policy(&self) -> Vec<(&str, &str)> {
        self.entries("Kerberos Policy")
    }

    /// The non-blank, non-comment lines of a section with their 1-based line numbers.
    fn setting_lines(&self, section: &str) -> Vec<(usize, &str)> {
        self.doc
            .section_lines(section)
            .into_iter()
            .map(|i| (i + 1, self.doc.lines[i].text.as_str()))
            .filter(|(_, t)| !t.trim().is_empty() && !t.trim_start().starts_with(';'))
            .collect()
    }

    fn syntax(&self, section: &str, line: usize, detail: &str) -> FormatError {
        FormatError::new(FILE_NAME, Some(format!("[{section}]")), Problem::Syntax { line, detail: detail.into() })
    }

    pub fn privilege_rights(&self) -> Result<Vec<PrivilegeRight>, FormatError> {
        let section = "Privilege Rights";
        self.setting_lines(section)
            .into_iter()
            .map(|(line, text)| {
                parse_privilege(line, text).ok_or_else(|| self.syntax(section, line, "expected `Right = *SID,...`"))
            })
            .collect()
    }

    pub fn group_memberships(&self) -> Result<Vec<GroupMembership>, FormatError> {
        let section = "Group Membership";
        self.setting_lines(section)
            .into_iter()
            .map(|(line, text)| {
                parse_membership(line, text).ok_or_else(|| {
                    self.syntax(section, line, "expected `*SID__Members = ...` or `*SID__Memberof = ...`")
                })
            })
            .collect()
    }

    pub fn services(&self) -> Result<Vec<ServiceSetting>, FormatError> {
        let section = "Service General Setting";
        self.setting_lines(section)
            .into_iter()
            .map(|(line, text)| {
                parse_service(line, text)
                    .ok_or_else(|| self.syntax(section, line, "expected `\"Name\",startup,\"SDDL\"`"))
            })
            .collect()
    }

    pub fn registry_values(&self) -> Result<Vec<RegistryValueSetting>, FormatError> {
        let section = "Registry Values";
        self.setting_lines(section)
            .into_iter()
            .map(|(line, text)| {
                parse_registry_value(line, text)
                    .ok_or_else(|| self.syntax(section, line, "expected `MACHINE\\Path\\Name=type,data`"))
            })
            .collect()
    }

    pub fn registry_keys(&self) -> Result<Vec<ObjectSecurity>, FormatError> {
        self.object_security("Registry Keys")
    }

    pub fn file_security(&self) -> Result<Vec<ObjectSecurity>, FormatError> {
        self.object_security("File Security")
    }

    fn object_security(&self, section: &str) -> Result<Vec<ObjectSecurity>, FormatError> {
        self.setting_lines(section)
            .into_iter()
            .map(|(line, text)| {
                parse_object_security(line, text)
                    .ok_or_else(|| self.syntax(section, line, "expected `\"path\",mode,\"SDDL\"`"))
            })
            .collect()
    }

    /// Every setting: one per line of each section except [Unicode] and [Version]. A line the
    /// typed readers cannot make sense of is listed as written rather than dropped.
    pub fn settings(&self) -> Vec<Setting> {
        let mut settings = Vec::new();
        for section in self.doc.sections() {
            let name = section.name.trim();
            if section.header.is_none() || is_header_section(name) {
                continue;
            }
            let key = name.to_ascii_lowercase();
            for index in section.body {
                let (line, text) = (index + 1, self.doc.lines[index].text.as_str());
                if text.trim().is_empty() || text.trim_start().starts_with(';') {
                    continue;
                }
                let typed = match key.as_str() {
                    "privilege rights" => parse_privilege(line, text).map(|p| {
                        let list: Vec<&str> = p.accounts.iter().map(AccountRef::text).collect();
                        (p.right, list.join(", "))
                    }),
                    "group membership" => parse_membership(line, text).map(|m| {
                        let relation = match m.relation {
                            MembershipRelation::Members => "Members",
                            MembershipRelation::MemberOf => "Member of",
                        };
                        let list: Vec<&str> = m.accounts.iter().map(AccountRef::text).collect();
                        (format!("{} {relation}", m.group.text()), list.join(", "))
                    }),
                    "service general setting" => parse_service(line, text).map(|s| {
                        let value = if s.sddl.is_empty() {
                            s.startup_name().to_string()
                        } else {
                            format!("{}; {}", s.startup_name(), s.sddl)
                        };
                        (s.name, value)
                    }),
                    "registry values" => parse_registry_value(line, text)
                        .map(|r| (r.path.clone(), format!("{} {}", r.type_name(), r.display_data()))),
                    "registry keys" | "file security" => parse_object_security(line, text)
                        .map(|o| (o.path.clone(), format!("{}; {}", o.mode_name(), o.sddl))),
                    _ => match self.doc.lines[index].kind() {
                        LineKind::Entry { key, value } => Some((key.trim().to_string(), value.trim().to_string())),
                        _ => None,
                    },
                };
                let (setting_name, value) = typed.unwrap_or_else(|| (text.trim().to_string(), String::new()));
                settings.push(Setting::new(SettingArea::Security, name, setting_name, value).in_file(FILE_NAME));
            }
        }
        settings
    }

    /// Principals (user rights, restricted groups, SIDs inside service/registry/file SDDL) and
    /// UNC paths (registry values, file paths).
    pub fn references(&self) -> Vec<Reference> {
        references::collect(self, |t, edit| t.for_each_reference_mut(edit))
    }

    /// Offers each principal and path to `edit` and writes back what it changed, touching only
    /// that part of that line. A SID given for a principal is written with the template's `*`.
    pub fn for_each_reference_mut(&mut self, edit: &mut EditReference<'_>) -> Result<usize, FormatError> {
        let mut editor = ReferenceEditor::new(edit, FILE_NAME, self.doc.encoding, &['\r', '\n']);
        let sections: Vec<(String, Range<usize>)> = self
            .doc
            .sections()
            .into_iter()
            .filter(|s| s.header.is_some())
            .map(|s| (s.name.trim().to_string(), s.body))
            .collect();
        for (section, body) in sections {
            if is_header_section(&section) {
                continue;
            }
            let kind = section.to_ascii_lowercase();
            for index in body {
                let text = self.doc.lines[index].text.clone();
                if text.trim().is_empty() || text.trim_start().starts_with(';') {
                    continue;
                }
                let edits = line_references(&mut editor, &kind, &section, &text)?;
                if !edits.is_empty() {
                    self.doc.lines[index].text = splice(&text, &edits);
                }
            }
        }
        Ok(editor.changed)
    }
}

/// The edits the callback asked for in one line of a section (`kind` is its lower-case name).
fn line_references(
    editor: &mut ReferenceEditor<'_, '_>,
    kind: &str,
    section: &str,
    text: &str,
) -> Result<Vec<(Range<usize>, String)>, FormatError> {
    let mut edits = Vec::new();
    let eq = text.find('=');
    match (kind, eq) {
        ("privilege rights", Some(eq)) => {
            let right = text[..eq].trim();
            for range in account_ranges(&text[eq + 1..], eq + 1) {
                offer_account(editor, text, range, section, right, &mut edits)?;
            }
        }
        ("group membership", Some(eq)) => {
            let key = &text[..eq];
            if let Some((group, _)) = membership_key(key) {
                offer_account(editor, text, group, section, key.trim(), &mut edits)?;
            }
            for range in account_ranges(&text[eq + 1..], eq + 1) {
                offer_account(editor, text, range, section, key.trim(), &mut edits)?;
            }
        }
        ("service general setting" | "registry keys" | "file security", _) => {
            let ranges = fields(text);
            let name = ranges.first().map_or("", |r| &text[r.clone()]);
            for (i, range) in ranges.iter().enumerate() {
                let field = &text[range.clone()];
                let new = match i {
                    // A service name or registry key names nothing outside the GPO.
                    0 if kind != "file security" => None,
                    0 => editor.offer_value(field, None, section, name)?,
                    1 => None,
                    _ => editor.offer_embedded(field, section, name)?,
                };
                if let Some(new) = new {
                    edits.push((range.clone(), new));
                }
            }
        }
        ("registry values", Some(eq)) => {
            let path = text[..eq].trim();
            let value = &text[eq + 1..];
            if let Some(comma) = value.find(',') {
                let data_start = eq + 1 + comma + 1;
                let data = &text[data_start..];
                let pieces = if value[..comma].trim() == "7" { fields(data) } else { vec![inner(data, 0..data.len())] };
                for range in pieces {
                    let absolute = data_start + range.start..data_start + range.end;
                    if let Some(new) = editor.offer_value(&text[absolute.clone()], None, section, path)? {
                        edits.push((absolute, new));
                    }
                }
            }
        }
        (_, Some(eq)) => {
            let key = text[..eq].trim();
            if let Some(new) = editor.offer_embedded(&text[eq + 1..], section, key)? {
                edits.push((eq + 1..text.len(), new));
            }
        }
        (_, None) => {
            if let Some(new) = editor.offer_embedded(text, section, text.trim())? {
                edits.push((0..text.len(), new));
            }
        }
    }
    edits.sort_by_key(|(r, _)| r.start);
    Ok(edits)
}

/// Offers one account of a list (`*SID` or name) and records the replacement, `*` included.
fn offer_account(
    editor: &mut ReferenceEditor<'_, '_>,
    text: &str,
    range: Range<usize>,
    section: &str,
    attribute: &str,
    edits: &mut Vec<(Range<usize>, String)>,
) -> Result<(), FormatError> {
    let account = AccountRef::parse(&text[range.clone()]);
    let kind = match account {
        AccountRef::Sid(_) => ReferenceKind::Sid,
        AccountRef::Name(_) => ReferenceKind::AccountName,
    };
    if let Some(new) = editor.offer_in(kind, account.text(), section, attribute, &[','])? {
        let written = if is_sid(new.trim()) { format!("*{}", new.trim()) } else { new };
        edits.push((range, written));
    }
    Ok(())
}

fn parse_privilege(line: usize, text: &str) -> Option<PrivilegeRight> {
    let (right, value) = text.split_once('=')?;
    let right = right.trim();
    (!right.is_empty()).then(|| PrivilegeRight { line, right: right.to_string(), accounts: accounts(value) })
}

fn parse_membership(line: usize, text: &str) -> Option<GroupMembership> {
    let (key, value) = text.split_once('=')?;
    let (group, relation) = membership_key(key)?;
    Some(GroupMembership { line, group: AccountRef::parse(&key[group]), relation, accounts: accounts(value) })
}

fn parse_service(line: usize, text: &str) -> Option<ServiceSetting> {
    let ranges = fields(text);
    if ranges.len() < 2 || ranges[0].is_empty() {
        return None;
    }
    let sddl = ranges.get(2).map_or(String::new(), |r| text[r.clone()].to_string());
    Some(ServiceSetting {
        line,
        name: text[ranges[0].clone()].to_string(),
        startup: text[ranges[1].clone()].to_string(),
        sddl,
    })
}

fn parse_registry_value(line: usize, text: &str) -> Option<RegistryValueSetting> {
    let (path, value) = text.split_once('=')?;
    let (value_type, data) = value.split_once(',')?;
    let valid = !path.trim().is_empty()
        && !value_type.trim().is_empty()
        && value_type.trim().bytes().all(|b| b.is_ascii_digit());
    valid.then(|| RegistryValueSetting {
        line,
        path: path.trim().to_string(),
        value_type: value_type.trim().to_string(),
        data: data.to_string(),
    })
}

fn parse_object_security(line: usize, text: &str) -> Option<ObjectSecurity> {
    let ranges = fields(text);
    if ranges.len() != 3 || ranges[0].is_empty() {
        return None;
    }
    let [path, mode, sddl] = [0, 1, 2].map(|i| text[ranges[i].clone()].to_string());
    Some(ObjectSecurity { line, path, mode, sddl })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::sysvol_samples::{self, corp_lab, replace_once, utf16_bytes, utf16_crlf};
    use proptest::prelude::*;

    const DOMAIN: &str = "S-1-5-21-2547487806-3473117116-509599669";

    /// Workstation Baseline as scripts/seed_gpos.py writes it (its `inf()`), for a domain SID,
    /// plus a UNC registry value and a user right granted by name.
    fn baseline() -> String {
        let d = DOMAIN;
        format!(
            "[Unicode]\nUnicode=yes\n[Version]\nsignature=\"$CHICAGO$\"\nRevision=1\n\
             [System Access]\nEnableGuestAccount = 0\nEnableAdminAccount = 1\nNewGuestName = \"CorpGuest\"\n\
             [Event Audit]\nAuditSystemEvents = 3\nAuditLogonEvents = 3\n\
             [Registry Values]\nMACHINE\\System\\CurrentControlSet\\Control\\Lsa\\NoLMHash=4,1\n\
             MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\LegalNoticeCaption=1,\"CORP\"\n\
             MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\LegalNoticeText=7,Authorised use only.,Activity on this system is logged.\n\
             MACHINE\\Software\\Corp\\Agent\\LogShare=1,\"\\\\fs01.corp.example.test\\logs\\Agent Logs\"\n\
             [Privilege Rights]\n\
             SeRemoteInteractiveLogonRight = *S-1-5-32-544,*S-1-5-32-555,*{d}-1109\n\
             SeInteractiveLogonRight = *S-1-5-32-544,*S-1-5-32-545,*{d}-1109\n\
             SeServiceLogonRight = CORP\\svc-backup\n\
             [Group Membership]\n*S-1-5-32-544__Memberof =\n*S-1-5-32-544__Members = *{d}-512,*{d}-1111\n\
             *{d}-1109__Memberof = *S-1-5-32-555\n*{d}-1109__Members =\n\
             [Service General Setting]\n\"RemoteRegistry\",4,\"\"\n\
             \"Spooler\",2,\"D:AR(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCLCSWRPWPDTLOCRRC;;;{d}-1109)\"\n\
             [File Security]\n\"%SystemRoot%\\System32\\drivers\\etc\",2,\"D:PAR(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;{d}-1109)\"\n\
             [Registry Keys]\n\"MACHINE\\SOFTWARE\\Corp\\Agent\",0,\"D:PAR(A;CI;KA;;;BA)(A;CI;KR;;;{d}-1111)\"\n"
        )
    }

    #[test]
    fn seeded_template_reads_typed_and_writes_back() {
        let bytes = utf16_crlf(&baseline());
        let t = GptTmpl::parse(&bytes).unwrap();
        assert_eq!(t.to_bytes(), bytes);
        assert_eq!(t.section_names()[..3], ["Unicode", "Version", "System Access"]);
        assert_eq!(t.system_access()[2], ("NewGuestName", "\"CorpGuest\""));
        assert_eq!(t.event_audit().len(), 2);

        let rights = t.privilege_rights().unwrap();
        assert_eq!(rights.len(), 3);
        assert_eq!(rights[0].right, "SeRemoteInteractiveLogonRight");
        assert_eq!(
            rights[0].accounts,
            [
                AccountRef::Sid("S-1-5-32-544".into()),
                AccountRef::Sid("S-1-5-32-555".into()),
                AccountRef::Sid(format!("{DOMAIN}-1109"))
            ]
        );
        assert_eq!(rights[2].accounts, [AccountRef::Name("CORP\\svc-backup".into())]);
        assert_eq!(rights[0].line, 19);

        let groups = t.group_memberships().unwrap();
        assert_eq!(groups.len(), 4);
        assert_eq!(groups[0].relation, MembershipRelation::MemberOf);
        assert!(groups[0].accounts.is_empty());
        assert_eq!(groups[1].group, AccountRef::Sid("S-1-5-32-544".into()));
        assert_eq!(groups[1].relation, MembershipRelation::Members);
        assert_eq!(groups[1].accounts.len(), 2);
        assert_eq!(groups[2].group, AccountRef::Sid(format!("{DOMAIN}-1109")));

        let services = t.services().unwrap();
        assert_eq!(
            (services[0].name.as_str(), services[0].startup_name(), services[0].sddl.as_str()),
            ("RemoteRegistry", "Disabled", "")
        );
        assert!(services[1].sddl.starts_with("D:AR(A;;CCLCSWRPWPDTLOCRRC;;;SY)"));

        let values = t.registry_values().unwrap();
        assert_eq!(values.len(), 4);
        assert_eq!((values[1].type_name(), values[1].display_data()), ("REG_SZ", "CORP"));
        assert_eq!(values[2].type_name(), "REG_MULTI_SZ");
        let files = t.file_security().unwrap();
        assert_eq!(files[0].path, "%SystemRoot%\\System32\\drivers\\etc");
        assert_eq!(files[0].mode_name(), "replace existing permissions");
        assert_eq!(t.registry_keys().unwrap()[0].path, "MACHINE\\SOFTWARE\\Corp\\Agent");
    }

    #[test]
    fn settings_are_readable_and_keyed_by_section_and_name() {
        let t = GptTmpl::parse(&utf16_crlf(&baseline())).unwrap();
        let settings = t.settings();
        let find =
            |path: &str, name: &str| settings.iter().find(|s| s.path == path && s.name == name).unwrap().value.clone();
        assert_eq!(find("System Access", "EnableGuestAccount"), "0");
        assert_eq!(
            find("Privilege Rights", "SeInteractiveLogonRight"),
            format!("S-1-5-32-544, S-1-5-32-545, {DOMAIN}-1109")
        );
        assert_eq!(find("Group Membership", "S-1-5-32-544 Members"), format!("{DOMAIN}-512, {DOMAIN}-1111"));
        assert_eq!(find("Service General Setting", "RemoteRegistry"), "Disabled");
        assert_eq!(find("Registry Values", r"MACHINE\System\CurrentControlSet\Control\Lsa\NoLMHash"), "REG_DWORD 1");
        assert!(settings.iter().all(|s| s.path != "Unicode" && s.path != "Version"));
        assert_eq!(settings.len(), 3 + 2 + 4 + 3 + 4 + 2 + 1 + 1);
    }

    #[test]
    fn references_cover_rights_groups_and_sddl() {
        let t = GptTmpl::parse(&utf16_crlf(&baseline())).unwrap();
        let refs = t.references();
        let helpdesk = format!("{DOMAIN}-1109");
        let places: Vec<(&str, &str)> =
            refs.iter().filter(|r| r.value == helpdesk).map(|r| (r.at.as_str(), r.attribute.as_str())).collect();
        assert_eq!(
            places,
            [
                ("Privilege Rights", "SeRemoteInteractiveLogonRight"),
                ("Privilege Rights", "SeInteractiveLogonRight"),
                ("Group Membership", &format!("*{helpdesk}__Memberof") as &str),
                ("Group Membership", &format!("*{helpdesk}__Members")),
                ("Service General Setting", "Spooler"),
                ("File Security", "%SystemRoot%\\System32\\drivers\\etc"),
            ]
        );
        let unc: Vec<&Reference> = refs.iter().filter(|r| r.kind == ReferenceKind::UncPath).collect();
        assert_eq!(unc.len(), 1);
        assert_eq!(unc[0].value, r"\\fs01.corp.example.test\logs\Agent Logs");
        assert!(refs.iter().any(|r| r.kind == ReferenceKind::AccountName && r.value == r"CORP\svc-backup"));
        assert_eq!(refs.iter().filter(|r| r.value == "S-1-5-32-544").count(), 4);
    }

    #[test]
    fn editing_one_sid_and_one_path_changes_only_those() {
        let original = utf16_crlf(&baseline());
        let mut t = GptTmpl::parse(&original).unwrap();
        let helpdesk = format!("{DOMAIN}-1109");
        let changed = t
            .for_each_reference_mut(&mut |r, v| {
                if r.attribute == "SeRemoteInteractiveLogonRight" && *v == helpdesk {
                    *v = "S-1-5-21-1-2-3-1109".into();
                }
                if r.kind == ReferenceKind::UncPath {
                    *v = v.replace("fs01.corp.example.test", "fs9.branch.example.test");
                }
            })
            .unwrap();
        assert_eq!(changed, 2);
        let old_right = format!("SeRemoteInteractiveLogonRight = *S-1-5-32-544,*S-1-5-32-555,*{helpdesk}");
        let expected = replace_once(
            &original,
            &utf16_bytes(&old_right),
            &utf16_bytes("SeRemoteInteractiveLogonRight = *S-1-5-32-544,*S-1-5-32-555,*S-1-5-21-1-2-3-1109"),
        );
        let expected = replace_once(&expected, &utf16_bytes("fs01.corp"), &utf16_bytes("fs9.branch"));
        assert_eq!(t.to_bytes(), expected);
        let again = GptTmpl::parse(&expected).unwrap();
        assert_eq!(again.privilege_rights().unwrap()[1].accounts[2], AccountRef::Sid(helpdesk));
    }

    #[test]
    fn principals_keep_the_star_only_for_sids() {
        let mut t =
            GptTmpl::parse(b"[Privilege Rights]\r\nSeServiceLogonRight = CORP\\svc, *S-1-5-21-1-2-3-9\r\n").unwrap();
        t.for_each_reference_mut(&mut |r, v| {
            *v = if r.kind == ReferenceKind::AccountName { "S-1-5-21-7-7-7-1000".into() } else { "BRANCH\\svc2".into() }
        })
        .unwrap();
        assert_eq!(
            t.doc.to_text(),
            "[Privilege Rights]\r\nSeServiceLogonRight = *S-1-5-21-7-7-7-1000, BRANCH\\svc2\r\n"
        );
        let err = t.for_each_reference_mut(&mut |_, v| *v = "A,B".into()).unwrap_err();
        assert!(err.to_string().contains("cannot hold"), "{err}");
    }

    #[test]
    fn malformed_lines_are_errors_with_line_numbers_and_still_listed() {
        let src = "[Unicode]\r\nUnicode=yes\r\n[Service General Setting]\r\n\"Spooler\"\r\n[Registry Values]\r\nMACHINE\\X=abc\r\n";
        let t = GptTmpl::parse(src.as_bytes()).unwrap();
        let err = t.services().unwrap_err();
        assert_eq!(err.problem, Problem::Syntax { line: 4, detail: "expected `\"Name\",startup,\"SDDL\"`".into() });
        assert!(err.to_string().starts_with("GptTmpl.inf (at <[Service General Setting]>): line 4:"));
        assert!(matches!(t.registry_values().unwrap_err().problem, Problem::Syntax { line: 6, .. }));
        let names: Vec<String> = t.settings().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["\"Spooler\"", "MACHINE\\X=abc"]);
    }

    #[test]
    fn every_vendored_template_round_trips_and_reads() {
        let files = sysvol_samples::fixture_files(&|name| name == "gpttmpl.inf");
        assert_eq!(files.len(), 7);
        for path in &files {
            let bytes = sysvol_samples::read(path);
            let t = GptTmpl::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(t.to_bytes(), bytes, "{}", path.display());
            assert_typed_views_read(&t, path);
        }
        let windows = files.iter().find(|p| p.to_string_lossy().contains("{A2A38432-")).unwrap();
        let t = GptTmpl::parse(&sysvol_samples::read(windows)).unwrap();
        assert!(t.system_access().contains(&("MinimumPasswordLength", "14")));
        assert!(t.system_access().contains(&("NewGuestName", "\"Visitor\"")));
        let lsa = t.registry_values().unwrap();
        let restrict = lsa.iter().find(|v| v.path.ends_with("RestrictRemoteSAM")).unwrap();
        assert_eq!(restrict.display_data(), "O:BAG:BAD:(A;;RC;;;BA)");
    }

    fn assert_typed_views_read(t: &GptTmpl, path: &std::path::Path) {
        let at = path.display();
        t.privilege_rights().unwrap_or_else(|e| panic!("{at}: {e}"));
        t.group_memberships().unwrap_or_else(|e| panic!("{at}: {e}"));
        t.services().unwrap_or_else(|e| panic!("{at}: {e}"));
        t.registry_values().unwrap_or_else(|e| panic!("{at}: {e}"));
        t.registry_keys().unwrap_or_else(|e| panic!("{at}: {e}"));
        t.file_security().unwrap_or_else(|e| panic!("{at}: {e}"));
    }

    #[test]
    fn lab_templates_round_trip_and_hold_the_seeded_values() {
        for path in sysvol_samples::lab_files(&|name| name == "gpttmpl.inf") {
            let bytes = sysvol_samples::read(&path);
            let t = GptTmpl::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(t.to_bytes(), bytes, "{}", path.display());
            assert_typed_views_read(&t, &path);
        }
        let Some(lab) = corp_lab() else { return };
        let domain = lab.domain_sid();
        let ddp =
            GptTmpl::parse(&lab.file("Default Domain Policy", "MACHINE/Microsoft/Windows NT/SecEdit/GptTmpl.inf"))
                .unwrap();
        assert!(ddp.system_access().contains(&("MinimumPasswordLength", "12")));
        assert!(ddp.kerberos_policy().contains(&("MaxTicketAge", "10")));
        assert!(ddp.references().is_empty());

        let t = GptTmpl::parse(&lab.file("Workstation Baseline", "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"))
            .unwrap();
        let rights = t.privilege_rights().unwrap();
        let remote = rights.iter().find(|r| r.right == "SeRemoteInteractiveLogonRight").unwrap();
        assert_eq!(
            remote.accounts[..2],
            [AccountRef::Sid("S-1-5-32-544".into()), AccountRef::Sid("S-1-5-32-555".into())]
        );
        // The third is the Helpdesk group of the lab domain.
        let AccountRef::Sid(helpdesk) = &remote.accounts[2] else { panic!("{remote:?}") };
        assert!(helpdesk.starts_with(&format!("{domain}-")), "{helpdesk}");
        let deny = rights.iter().find(|r| r.right == "SeDenyNetworkLogonRight").unwrap();
        assert_eq!(deny.accounts[1], AccountRef::Sid(format!("{domain}-501")));
        let values = t.registry_values().unwrap();
        let caption = values.iter().find(|v| v.path.ends_with("LegalNoticeCaption")).unwrap();
        assert_eq!(caption.display_data(), lab.netbios());
        let groups = t.group_memberships().unwrap();
        assert_eq!(groups.len(), 4);
        assert_eq!(groups[1].accounts[0], AccountRef::Sid(format!("{domain}-512")));
        let spooler = t.services().unwrap().into_iter().find(|s| s.name == "Spooler").unwrap();
        assert!(spooler.sddl.ends_with(&format!(";;;{helpdesk})")), "{}", spooler.sddl);
        // seed_gpos.py puts Helpdesk in 2 user rights, 2 membership lines, the Spooler's SDDL,
        // the drivers\etc file ACL and the Corp\Agent registry key ACL: each one is listed.
        let helpdesk_refs = t.references().into_iter().filter(|r| &r.value == helpdesk).count();
        assert_eq!(helpdesk_refs, 2 + 2 + 1 + 1 + 1);
    }

    fn any_sid() -> impl Strategy<Value = String> {
        (1u32..99, proptest::collection::vec(0u32..5000, 1..5))
            .prop_map(|(a, subs)| format!("S-1-{a}-{}", subs.iter().map(u32::to_string).collect::<Vec<_>>().join("-")))
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(t) = GptTmpl::parse(&bytes) {
                prop_assert_eq!(&t.to_bytes(), &bytes);
                let _ = (t.privilege_rights(), t.group_memberships(), t.services(), t.registry_values(), t.file_security());
                let _ = t.settings();
                let _ = t.references();
            }
        }

        #[test]
        fn arbitrary_lines_in_known_sections_never_panic(lines in proptest::collection::vec("[ *=,\"a-zS0-9_\\-\\\\;]{0,30}", 0..8)) {
            for section in ["Privilege Rights", "Group Membership", "Service General Setting", "Registry Values", "File Security", "Other"] {
                let text = format!("[{section}]\r\n{}\r\n", lines.join("\r\n"));
                let mut t = GptTmpl::parse(text.as_bytes()).unwrap();
                let _ = (t.privilege_rights(), t.group_memberships(), t.services(), t.registry_values(), t.file_security());
                let _ = t.settings();
                t.for_each_reference_mut(&mut |_, v| v.push('1')).unwrap();
            }
        }

        #[test]
        fn generated_rights_round_trip(rights in proptest::collection::vec(("Se[A-Z][a-z]{2,10}Right", proptest::collection::vec(any_sid(), 1..5)), 0..6)) {
            let mut text = String::from("[Unicode]\nUnicode=yes\n[Privilege Rights]\n");
            for (right, sids) in &rights {
                let list: Vec<String> = sids.iter().map(|s| format!("*{s}")).collect();
                text.push_str(&format!("{right} = {}\n", list.join(",")));
            }
            let bytes = utf16_crlf(&text);
            let t = GptTmpl::parse(&bytes).unwrap();
            prop_assert_eq!(&t.to_bytes(), &bytes);
            let read = t.privilege_rights().unwrap();
            prop_assert_eq!(read.len(), rights.len());
            for (r, (right, sids)) in read.iter().zip(&rights) {
                prop_assert_eq!(&r.right, right);
                let expected: Vec<AccountRef> = sids.iter().map(|s| AccountRef::Sid(s.clone())).collect();
                prop_assert_eq!(&r.accounts, &expected);
            }
            prop_assert_eq!(t.references().len(), rights.iter().map(|(_, s)| s.len()).sum::<usize>());
        }
    }
}
