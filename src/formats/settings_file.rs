//! Any settings file of a GPO's SYSVOL folder, read by the reader its path calls for. This is
//! what `backups show`, a setting-level diff and the migration scan walk a GPO folder with.

use super::error::FormatError;
use super::fdeploy::FolderRedirectionIni;
use super::gpp_xml::PreferenceFile;
use super::gpttmpl_inf::GptTmpl;
use super::references::{EditReference, Reference};
use super::registry_pol::RegistryPol;
use super::scripts_ini::ScriptsIni;
use super::settings::Setting;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum SettingsFileKind {
    RegistryPol,
    SecurityTemplate,
    Preferences,
    FolderRedirection,
    Scripts,
}

impl SettingsFileKind {
    /// The kind of the file at `rel_path` in a GPO folder (`/` or `\` separators, any case), or
    /// `None` for files that hold no settings gpvault reads (GPT.INI, scripts, .aas...).
    pub fn of_path(rel_path: &str) -> Option<Self> {
        let lower = rel_path.replace('\\', "/").to_ascii_lowercase();
        let name = lower.rsplit('/').next().unwrap_or("");
        if name == "registry.pol" {
            Some(SettingsFileKind::RegistryPol)
        } else if name == "gpttmpl.inf" {
            Some(SettingsFileKind::SecurityTemplate)
        } else if (lower.starts_with("preferences/") || lower.contains("/preferences/")) && name.ends_with(".xml") {
            Some(SettingsFileKind::Preferences)
        } else if name.starts_with("fdeploy") && name.ends_with(".ini") {
            Some(SettingsFileKind::FolderRedirection)
        } else if name == "scripts.ini" || name == "psscripts.ini" {
            Some(SettingsFileKind::Scripts)
        } else {
            None
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingsContent {
    RegistryPol(RegistryPol),
    SecurityTemplate(GptTmpl),
    Preferences(PreferenceFile),
    FolderRedirection(FolderRedirectionIni),
    Scripts(ScriptsIni),
}

/// A settings file and its path in the GPO folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsFile {
    pub path: String,
    pub content: SettingsContent,
}

impl SettingsFile {
    /// Reads `bytes` with the reader for `rel_path`; `None` when the path is not a settings file.
    /// Errors name `rel_path`.
    pub fn parse(rel_path: &str, bytes: &[u8]) -> Option<Result<Self, FormatError>> {
        let kind = SettingsFileKind::of_path(rel_path)?;
        let content = match kind {
            SettingsFileKind::RegistryPol => RegistryPol::parse(bytes).map(SettingsContent::RegistryPol),
            SettingsFileKind::SecurityTemplate => GptTmpl::parse(bytes).map(SettingsContent::SecurityTemplate),
            SettingsFileKind::Preferences => PreferenceFile::parse(bytes).map(SettingsContent::Preferences),
            SettingsFileKind::FolderRedirection => {
                FolderRedirectionIni::parse(bytes).map(SettingsContent::FolderRedirection)
            }
            SettingsFileKind::Scripts => ScriptsIni::parse(bytes).map(SettingsContent::Scripts),
        };
        Some(
            content
                .map(|content| SettingsFile { path: rel_path.to_string(), content })
                .map_err(|e| e.in_file(rel_path)),
        )
    }

    pub fn kind(&self) -> SettingsFileKind {
        match &self.content {
            SettingsContent::RegistryPol(_) => SettingsFileKind::RegistryPol,
            SettingsContent::SecurityTemplate(_) => SettingsFileKind::SecurityTemplate,
            SettingsContent::Preferences(_) => SettingsFileKind::Preferences,
            SettingsContent::FolderRedirection(_) => SettingsFileKind::FolderRedirection,
            SettingsContent::Scripts(_) => SettingsFileKind::Scripts,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.content {
            SettingsContent::RegistryPol(f) => f.to_bytes(),
            SettingsContent::SecurityTemplate(f) => f.to_bytes(),
            SettingsContent::Preferences(f) => f.to_bytes(),
            SettingsContent::FolderRedirection(f) => f.to_bytes(),
            SettingsContent::Scripts(f) => f.to_bytes(),
        }
    }

    /// The file's settings, each naming this file's path.
    pub fn settings(&self) -> Vec<Setting> {
        let settings = match &self.content {
            SettingsContent::RegistryPol(f) => f.settings(),
            SettingsContent::SecurityTemplate(f) => f.settings(),
            SettingsContent::Preferences(f) => f.settings(),
            SettingsContent::FolderRedirection(f) => f.settings(),
            SettingsContent::Scripts(f) => f.settings(),
        };
        settings.into_iter().map(|s| s.in_file(&self.path)).collect()
    }

    /// The file's principals and paths, each naming this file's path.
    pub fn references(&self) -> Vec<Reference> {
        let references = match &self.content {
            SettingsContent::RegistryPol(f) => f.references(),
            SettingsContent::SecurityTemplate(f) => f.references(),
            SettingsContent::Preferences(f) => f.references(),
            SettingsContent::FolderRedirection(f) => f.references(),
            SettingsContent::Scripts(f) => f.references(),
        };
        references.into_iter().map(|r| r.in_file(&self.path)).collect()
    }

    /// Offers each principal and path to `edit` (the reference it sees names this file's path)
    /// and keeps what it changes; see each reader for what is edited where.
    pub fn for_each_reference_mut(&mut self, edit: &mut EditReference<'_>) -> Result<usize, FormatError> {
        let path = self.path.clone();
        let mut in_file = |r: &Reference, value: &mut String| edit(&r.clone().in_file(&path), value);
        let result = match &mut self.content {
            SettingsContent::RegistryPol(f) => f.for_each_reference_mut(&mut in_file),
            SettingsContent::SecurityTemplate(f) => f.for_each_reference_mut(&mut in_file),
            SettingsContent::Preferences(f) => f.for_each_reference_mut(&mut in_file),
            SettingsContent::FolderRedirection(f) => f.for_each_reference_mut(&mut in_file),
            SettingsContent::Scripts(f) => f.for_each_reference_mut(&mut in_file),
        };
        result.map_err(|e| e.in_file(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::references::ReferenceKind;
    use crate::formats::settings::{SettingChange, diff_settings};
    use crate::formats::sysvol_samples::{self, corp_lab};

    #[test]
    fn kinds_by_path() {
        let cases = [
            ("Machine/registry.pol", Some(SettingsFileKind::RegistryPol)),
            ("USER\\Registry.pol", Some(SettingsFileKind::RegistryPol)),
            ("MACHINE/Microsoft/Windows NT/SecEdit/GptTmpl.inf", Some(SettingsFileKind::SecurityTemplate)),
            ("User/Preferences/Drives/Drives.xml", Some(SettingsFileKind::Preferences)),
            ("Machine/Preferences/Groups/Groups.xml", Some(SettingsFileKind::Preferences)),
            ("User/Documents & Settings/fdeploy1.ini", Some(SettingsFileKind::FolderRedirection)),
            ("Machine/Scripts/scripts.ini", Some(SettingsFileKind::Scripts)),
            ("User/Scripts/psscripts.ini", Some(SettingsFileKind::Scripts)),
            ("GPT.INI", None),
            ("Machine/Scripts/Startup/setup.cmd", None),
            ("Machine/comment.cmtx", None),
            ("Machine/Microsoft/Windows NT/Audit/audit.csv", None),
        ];
        for (path, kind) in cases {
            assert_eq!(SettingsFileKind::of_path(path), kind, "{path}");
        }
    }

    #[test]
    fn errors_and_references_name_the_path() {
        let err = SettingsFile::parse("Machine/registry.pol", b"nope").unwrap().unwrap_err();
        assert!(err.to_string().starts_with("Machine/registry.pol: at byte 0"), "{err}");
        assert!(SettingsFile::parse("GPT.INI", b"[General]").is_none());

        let text = "\r\n[Logon]\r\n0CmdLine=\\\\srv\\share\\a.cmd\r\n0Parameters=\r\n";
        let mut file = SettingsFile::parse("User/Scripts/psscripts.ini", text.as_bytes()).unwrap().unwrap();
        let refs = file.references();
        assert_eq!(refs[0].file, "User/Scripts/psscripts.ini");
        assert_eq!(file.settings()[0].file, "User/Scripts/psscripts.ini");
        let mut seen = Vec::new();
        let err = file
            .for_each_reference_mut(&mut |r, v| {
                seen.push(r.file.clone());
                v.push('\n');
            })
            .unwrap_err();
        assert!(err.to_string().starts_with("User/Scripts/psscripts.ini"), "{err}");
        assert_eq!(seen, ["User/Scripts/psscripts.ini"]);
    }

    /// Every settings file of the corp lab through one entry point: it round-trips, and the
    /// GPO-level lists hold what seed_gpos.py put there.
    #[test]
    fn lab_gpo_folders_read_through_one_entry_point() {
        let Some(lab) = corp_lab() else { return };
        let wanted = |_: &str| true;
        let mut settings = Vec::new();
        let mut references = Vec::new();
        let mut read = 0;
        for path in sysvol_samples::files_under(&lab.policies, &wanted) {
            let rel = path.strip_prefix(&lab.policies).unwrap().to_string_lossy().to_string();
            let bytes = sysvol_samples::read(&path);
            let Some(file) = SettingsFile::parse(&rel, &bytes) else { continue };
            let file = file.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(file.to_bytes(), bytes, "{rel}");
            settings.extend(file.settings());
            references.extend(file.references());
            read += 1;
        }
        assert!(read >= 20, "{read} settings files");
        for kind in [ReferenceKind::Sid, ReferenceKind::AccountName, ReferenceKind::UncPath] {
            assert!(references.iter().any(|r| r.kind == kind), "no {kind:?}");
        }
        let domain = lab.domain_sid();
        assert!(
            references
                .iter()
                .any(|r| r.kind == ReferenceKind::Sid && r.value.starts_with(domain) && r.file.ends_with("Groups.xml"))
        );
        assert!(references.iter().any(|r| r.kind == ReferenceKind::UncPath && r.file.ends_with("fdeploy1.ini")));
        // Machine and User halves keep their own settings apart in a diff.
        let halves: Vec<&Setting> = settings.iter().filter(|s| s.file.ends_with("registry.pol")).collect();
        assert!(
            halves.iter().any(|s| s.file.contains("/Machine/")) && halves.iter().any(|s| s.file.contains("/User/"))
        );
        assert!(diff_settings(&settings, &settings).is_empty());
        let mut changed = settings.clone();
        let at = changed.iter().position(|s| s.name == "fDenyTSConnections").unwrap();
        changed[at].value = "REG_DWORD 1".into();
        let diff = diff_settings(&settings, &changed);
        assert!(matches!(&diff[..], [SettingChange::Changed { old, .. }] if old.value == "REG_DWORD 0"), "{diff:?}");
    }
}
