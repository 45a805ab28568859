//! `Scripts\scripts.ini` and `Scripts\psscripts.ini`: logon, logoff, startup and shutdown
//! scripts (batch/executables and PowerShell respectively). Usually UTF-16LE with a BOM:
//!
//! ```text
//!
//! [Logon]
//! 0CmdLine=\\corp.example.test\NETLOGON\logon.cmd
//! 0Parameters=
//! 1CmdLine=map-printers.cmd
//! 1Parameters=/site HQ
//! ```
//!
//! A bare file name runs from the GPO's own `Scripts\<Event>` folder; a UNC path runs from a
//! share, which a migration must map. `[ScriptsConfig]` (psscripts.ini) says whether
//! PowerShell scripts run first. An empty file is the six bytes `FF FE 0D 00 0A 00`.

use super::error::FormatError;
use super::ini::{IniDocument, LineKind};
use super::references::{self, EditReference, Reference, ReferenceEditor, path_kind};
use super::settings::{Setting, SettingArea};

pub const FILE_NAME: &str = "scripts.ini";
pub const PS_FILE_NAME: &str = "psscripts.ini";
const CONFIG_SECTION: &str = "ScriptsConfig";

/// One script: `<n>CmdLine` and `<n>Parameters` of an event section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    /// The section as written: `Logon`, `Logoff`, `Startup`, `Shutdown`.
    pub event: String,
    /// The number before `CmdLine` (the running order), as written.
    pub index: String,
    pub command: String,
    pub parameters: String,
    /// 1-based line of the `CmdLine` entry (or of `Parameters` when there is no `CmdLine`).
    pub line: usize,
}

/// `0CmdLine` → (`0`, true); `12Parameters` → (`12`, false).
fn script_key(key: &str) -> Option<(&str, bool)> {
    let key = key.trim();
    let digits = key.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (index, field) = key.split_at(digits);
    if field.eq_ignore_ascii_case("CmdLine") {
        Some((index, true))
    } else if field.eq_ignore_ascii_case("Parameters") {
        Some((index, false))
    } else {
        None
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptsIni {
    pub doc: IniDocument,
}

impl ScriptsIni {
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        Ok(ScriptsIni { doc: IniDocument::parse(bytes, FILE_NAME)? })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.doc.to_bytes()
    }

    /// The scripts of every event section, in file order.
    pub fn scripts(&self) -> Vec<Script> {
        let mut scripts: Vec<Script> = Vec::new();
        for section in self.doc.sections() {
            let event = section.name.trim();
            if section.header.is_none() || event.eq_ignore_ascii_case(CONFIG_SECTION) {
                continue;
            }
            let first = scripts.len();
            for index in section.body {
                let LineKind::Entry { key, value } = self.doc.lines[index].kind() else { continue };
                let Some((number, is_command)) = script_key(key) else { continue };
                let position = scripts[first..].iter().position(|s| s.index == number).map(|p| p + first);
                let script = match position {
                    Some(p) => &mut scripts[p],
                    None => {
                        scripts.push(Script {
                            event: event.to_string(),
                            index: number.to_string(),
                            command: String::new(),
                            parameters: String::new(),
                            line: index + 1,
                        });
                        let last = scripts.len() - 1;
                        &mut scripts[last]
                    }
                };
                if is_command {
                    script.command = value.to_string();
                    script.line = index + 1;
                } else {
                    script.parameters = value.to_string();
                }
            }
        }
        scripts
    }

    /// `[ScriptsConfig]` entries (`StartExecutePSFirst=true`...).
    pub fn config(&self) -> Vec<(&str, &str)> {
        self.doc.entries(CONFIG_SECTION).into_iter().map(|(_, k, v)| (k, v)).collect()
    }

    /// One setting per script (event, number, command line with parameters) and per
    /// configuration entry.
    pub fn settings(&self) -> Vec<Setting> {
        let mut settings: Vec<Setting> = self
            .scripts()
            .into_iter()
            .map(|s| {
                let value = if s.parameters.trim().is_empty() {
                    s.command.trim().to_string()
                } else {
                    format!("{} {}", s.command.trim(), s.parameters.trim())
                };
                Setting::new(SettingArea::Scripts, s.event, s.index, value)
            })
            .collect();
        settings
            .extend(self.config().into_iter().map(|(k, v)| Setting::new(SettingArea::Scripts, CONFIG_SECTION, k, v)));
        settings.into_iter().map(|s| s.in_file(FILE_NAME)).collect()
    }

    /// Script paths (UNC or other) and the UNC paths and SIDs inside parameters. The file is
    /// named `scripts.ini`: a caller reading psscripts.ini says so with [`Reference::in_file`].
    pub fn references(&self) -> Vec<Reference> {
        references::collect(self, |ini, edit| ini.for_each_reference_mut(edit))
    }

    /// Offers each script path and each path or SID in its parameters to `edit`.
    pub fn for_each_reference_mut(&mut self, edit: &mut EditReference<'_>) -> Result<usize, FormatError> {
        let mut editor = ReferenceEditor::new(edit, FILE_NAME, self.doc.encoding, &['\r', '\n']);
        let sections: Vec<(String, std::ops::Range<usize>)> = self
            .doc
            .sections()
            .into_iter()
            .filter(|s| s.header.is_some())
            .map(|s| (s.name.trim().to_string(), s.body))
            .collect();
        for (event, body) in sections {
            for index in body {
                let line = &self.doc.lines[index];
                let Some((key_range, value_range)) = line.entry_ranges() else { continue };
                let key = line.text[key_range].trim().to_string();
                let value = line.text[value_range.clone()].to_string();
                let new = match script_key(&key) {
                    Some((_, true)) => editor.offer_value(&value, path_kind(&value), &event, &key)?,
                    _ => editor.offer_embedded(&value, &event, &key)?,
                };
                if let Some(new) = new {
                    self.doc.lines[index].text.replace_range(value_range, &new);
                }
            }
        }
        Ok(editor.changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::references::ReferenceKind;
    use crate::formats::sysvol_samples::{self, corp_lab, replace_once, utf16_bytes, utf16_crlf};
    use proptest::prelude::*;

    /// scripts/seed_gpos.py's `scripts_ini`: a blank first line, then numbered entries.
    fn seeded(sections: &[(&str, &[(&str, &str)])]) -> Vec<u8> {
        let mut lines = vec![String::new()];
        for (name, items) in sections {
            lines.push(format!("[{name}]"));
            for (i, (cmd, params)) in items.iter().enumerate() {
                lines.push(format!("{i}CmdLine={cmd}"));
                lines.push(format!("{i}Parameters={params}"));
            }
        }
        utf16_crlf(&(lines.join("\n") + "\n"))
    }

    fn user_scripts() -> Vec<u8> {
        seeded(&[
            ("Logon", &[(r"\\corp.example.test\NETLOGON\logon.cmd", ""), ("map-printers.cmd", "/site HQ")]),
            ("Logoff", &[(r"\\corp.example.test\NETLOGON\logoff.cmd", r"/log \\fs01\logs\logoff S-1-5-21-1-2-3-1109")]),
        ])
    }

    #[test]
    fn seeded_file_reads_and_writes_back() {
        let bytes = user_scripts();
        let ini = ScriptsIni::parse(&bytes).unwrap();
        assert_eq!(ini.to_bytes(), bytes);
        let scripts = ini.scripts();
        assert_eq!(scripts.len(), 3);
        assert_eq!(
            scripts[1],
            Script {
                event: "Logon".into(),
                index: "1".into(),
                command: "map-printers.cmd".into(),
                parameters: "/site HQ".into(),
                line: 5
            }
        );
        assert_eq!(scripts[2].event, "Logoff");
        let settings = ini.settings();
        assert_eq!(
            (settings[1].path.as_str(), settings[1].name.as_str(), settings[1].value.as_str()),
            ("Logon", "1", "map-printers.cmd /site HQ")
        );
        assert_eq!(settings[0].value, r"\\corp.example.test\NETLOGON\logon.cmd");
    }

    #[test]
    fn empty_file_and_config_section() {
        let empty = [0xFF, 0xFE, 0x0D, 0x00, 0x0A, 0x00];
        let ini = ScriptsIni::parse(&empty).unwrap();
        assert!(ini.scripts().is_empty() && ini.settings().is_empty());
        assert_eq!(ini.to_bytes(), empty);
        let ps = utf16_crlf(
            "\n[ScriptsConfig]\nStartExecutePSFirst=true\n[Startup]\n0CmdLine=Setup.ps1\n0Parameters=-Quiet\n",
        );
        let ini = ScriptsIni::parse(&ps).unwrap();
        assert_eq!(ini.config(), [("StartExecutePSFirst", "true")]);
        assert_eq!(ini.scripts().len(), 1);
        assert_eq!(ini.settings()[1].path, "ScriptsConfig");
    }

    #[test]
    fn references_are_script_paths_and_what_parameters_name() {
        let ini = ScriptsIni::parse(&user_scripts()).unwrap();
        let refs: Vec<(ReferenceKind, String, String)> =
            ini.references().into_iter().map(|r| (r.kind, r.value, r.attribute)).collect();
        assert_eq!(
            refs,
            [
                (ReferenceKind::UncPath, r"\\corp.example.test\NETLOGON\logon.cmd".into(), "0CmdLine".into()),
                (ReferenceKind::UncPath, r"\\corp.example.test\NETLOGON\logoff.cmd".into(), "0CmdLine".into()),
                (ReferenceKind::UncPath, r"\\fs01\logs\logoff".into(), "0Parameters".into()),
                (ReferenceKind::Sid, "S-1-5-21-1-2-3-1109".into(), "0Parameters".into()),
            ]
        );
        let local = ScriptsIni::parse(&seeded(&[("Startup", &[(r"%ProgramFiles%\Corp\setup.cmd", "")])])).unwrap();
        assert_eq!(local.references()[0].kind, ReferenceKind::Path);
    }

    #[test]
    fn editing_one_sid_and_one_path_changes_only_those() {
        let original = user_scripts();
        let mut ini = ScriptsIni::parse(&original).unwrap();
        let changed = ini
            .for_each_reference_mut(&mut |r, v| {
                if v.ends_with("logon.cmd") {
                    *v = r"\\branch.example.test\NETLOGON\logon.cmd".into();
                }
                if r.kind == ReferenceKind::Sid {
                    *v = "S-1-5-21-7-7-7-1109".into();
                }
            })
            .unwrap();
        assert_eq!(changed, 2);
        let expected = replace_once(
            &original,
            &utf16_bytes(r"\\corp.example.test\NETLOGON\logon.cmd"),
            &utf16_bytes(r"\\branch.example.test\NETLOGON\logon.cmd"),
        );
        let expected =
            replace_once(&expected, &utf16_bytes("S-1-5-21-1-2-3-1109"), &utf16_bytes("S-1-5-21-7-7-7-1109"));
        assert_eq!(ini.to_bytes(), expected);
        assert_eq!(
            ScriptsIni::parse(&expected).unwrap().scripts()[0].command,
            r"\\branch.example.test\NETLOGON\logon.cmd"
        );
    }

    #[test]
    fn vendored_and_lab_files_round_trip() {
        let wanted = |name: &str| name == "scripts.ini" || name == "psscripts.ini";
        // The vendored backups have none today; any added later is checked too.
        for path in sysvol_samples::fixture_files(&wanted).into_iter().chain(sysvol_samples::lab_files(&wanted)) {
            let bytes = sysvol_samples::read(&path);
            let ini = ScriptsIni::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(ini.to_bytes(), bytes, "{}", path.display());
        }
        let Some(lab) = corp_lab() else { return };
        let realm = lab.realm();
        let machine = ScriptsIni::parse(&lab.file("Logon Scripts", "Machine/Scripts/scripts.ini")).unwrap();
        let startup = machine.scripts();
        assert_eq!(
            (startup[0].event.as_str(), startup[0].command.as_str(), startup[0].parameters.as_str()),
            ("Startup", "setup.cmd", "/quiet")
        );
        assert_eq!(startup[1].command, format!(r"\\{realm}\NETLOGON\inventory.cmd"));
        let refs = machine.references();
        assert_eq!(refs.len(), 1, "setup.cmd lives in the GPO and is no reference: {refs:?}");
        let user = ScriptsIni::parse(&lab.file("Logon Scripts", "User/Scripts/scripts.ini")).unwrap();
        let events: Vec<String> = user.scripts().into_iter().map(|s| s.event).collect();
        assert_eq!(events, ["Logon", "Logon", "Logoff"]);
        let ps = ScriptsIni::parse(&lab.file("Logon Scripts", "User/Scripts/psscripts.ini")).unwrap();
        assert_eq!(ps.scripts()[1].parameters, "-Site HQ");
        assert_eq!(ps.references()[0].value, format!(r"\\{realm}\NETLOGON\Register-Printers.ps1"));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(mut ini) = ScriptsIni::parse(&bytes) {
                prop_assert_eq!(&ini.to_bytes(), &bytes);
                let _ = (ini.scripts(), ini.settings(), ini.references());
                let _ = ini.for_each_reference_mut(&mut |_, v| v.push('x'));
            }
        }

        #[test]
        fn generated_files_round_trip(items in proptest::collection::vec(("[A-Za-z0-9\\\\.%_-]{1,20}", "[ A-Za-z0-9/\\-]{0,12}"), 0..6)) {
            let borrowed: Vec<(&str, &str)> = items.iter().map(|(c, p)| (c.as_str(), p.as_str())).collect();
            let bytes = seeded(&[("Logon", &borrowed)]);
            let ini = ScriptsIni::parse(&bytes).unwrap();
            prop_assert_eq!(&ini.to_bytes(), &bytes);
            let scripts = ini.scripts();
            prop_assert_eq!(scripts.len(), items.len());
            for (s, (c, p)) in scripts.iter().zip(&items) {
                prop_assert_eq!(&s.command, c);
                prop_assert_eq!(&s.parameters, p);
            }
        }
    }
}
