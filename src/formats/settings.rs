//! One readable shape for the settings of every SYSVOL settings file, for `backups show` and
//! for comparing two versions of a GPO setting by setting.
//!
//! A setting is identified by `(area, file, path, name)`: a registry key and value name, a
//! security template section and key, a preference item and attribute. Readers build these
//! from the file's own identifiers (never from positions where avoidable) so that the same
//! setting has the same key in two backups. Readers name the file by its usual name
//! (`registry.pol`); [`crate::formats::settings_file::SettingsFile`] names it by its path in the
//! GPO, which tells the Machine and User halves apart.

use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum SettingArea {
    /// registry.pol (Administrative Templates).
    Registry,
    /// GptTmpl.inf (Security Settings).
    Security,
    /// Group Policy Preferences XML.
    Preferences,
    /// scripts.ini / psscripts.ini.
    Scripts,
    /// fdeploy.ini / fdeploy1.ini.
    FolderRedirection,
}

impl SettingArea {
    pub fn label(self) -> &'static str {
        match self {
            SettingArea::Registry => "Administrative Templates",
            SettingArea::Security => "Security Settings",
            SettingArea::Preferences => "Preferences",
            SettingArea::Scripts => "Scripts",
            SettingArea::FolderRedirection => "Folder Redirection",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Setting {
    pub area: SettingArea,
    /// The file: its usual name, or its path in the GPO once [`Setting::in_file`] says so.
    pub file: String,
    /// Registry key, template section, preference item, script event, redirected folder.
    pub path: String,
    /// Value name, template key, attribute, script number, principal.
    pub name: String,
    /// The value as a person reads it (`REG_DWORD 1`, `*S-1-5-32-544, *S-1-5-32-545`).
    pub value: String,
}

impl Setting {
    pub(crate) fn new(
        area: SettingArea,
        path: impl Into<String>,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        Setting { area, file: String::new(), path: path.into(), name: name.into(), value: value.into() }
    }

    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = file.into();
        self
    }

    /// What identifies the setting across two versions of its GPO.
    pub fn key(&self) -> (SettingArea, &str, &str, &str) {
        (self.area, &self.file, &self.path, &self.name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum SettingChange {
    Added(Setting),
    Removed(Setting),
    Changed { old: Setting, new: Setting },
}

/// The settings added, removed and changed from `old` to `new`, ordered by key. A key that
/// occurs several times in one file (a registry value written twice) is matched occurrence by
/// occurrence.
pub fn diff_settings(old: &[Setting], new: &[Setting]) -> Vec<SettingChange> {
    type Key<'a> = ((SettingArea, &'a str, &'a str, &'a str), usize);
    fn index(settings: &[Setting]) -> BTreeMap<Key<'_>, &Setting> {
        let mut seen: BTreeMap<(SettingArea, &str, &str, &str), usize> = BTreeMap::new();
        let mut map = BTreeMap::new();
        for setting in settings {
            let count = seen.entry(setting.key()).or_default();
            map.insert((setting.key(), *count), setting);
            *count += 1;
        }
        map
    }
    let (old_index, new_index) = (index(old), index(new));
    let mut keys: Vec<&Key<'_>> = old_index.keys().chain(new_index.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|key| match (old_index.get(key), new_index.get(key)) {
            (Some(o), Some(n)) if o.value != n.value => {
                Some(SettingChange::Changed { old: (*o).clone(), new: (*n).clone() })
            }
            (Some(_), Some(_)) => None,
            (Some(o), None) => Some(SettingChange::Removed((*o).clone())),
            (None, Some(n)) => Some(SettingChange::Added((*n).clone())),
            (None, None) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(path: &str, name: &str, value: &str) -> Setting {
        Setting::new(SettingArea::Registry, path, name, value)
    }

    #[test]
    fn diff_reports_added_removed_changed_by_key() {
        let old = vec![reg("K", "a", "1"), reg("K", "b", "2"), reg("K", "c", "3"), reg("K", "c", "4")];
        let new = vec![reg("K", "b", "2"), reg("K", "a", "9"), reg("K", "c", "3"), reg("L", "d", "5")];
        let changes = diff_settings(&old, &new);
        assert_eq!(
            changes,
            vec![
                SettingChange::Changed { old: reg("K", "a", "1"), new: reg("K", "a", "9") },
                SettingChange::Removed(reg("K", "c", "4")),
                SettingChange::Added(reg("L", "d", "5")),
            ]
        );
        assert!(diff_settings(&new, &new).is_empty());
    }

    #[test]
    fn same_path_in_another_area_or_file_is_another_setting() {
        let a = vec![Setting::new(SettingArea::Scripts, "Logon", "0", "x.cmd")];
        let b = vec![Setting::new(SettingArea::Preferences, "Logon", "0", "x.cmd")];
        assert_eq!(diff_settings(&a, &b).len(), 2);
        let machine = vec![reg("K", "a", "1").in_file("Machine/registry.pol")];
        let user = vec![reg("K", "a", "1").in_file("User/registry.pol")];
        assert_eq!(diff_settings(&machine, &user).len(), 2);
        assert!(diff_settings(&machine, &machine).is_empty());
    }
}
