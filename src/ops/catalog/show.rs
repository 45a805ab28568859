//! One backup instance in full: the GPO's core settings, DACL, links, WMI filter, software
//! installation packages and every setting of its SYSVOL files, readable and grouped by area.

use std::path::Path;

use serde::Serialize;

use super::state::{GpoState, HalfVersion, extension_names};
use super::{BackupRow, CatalogError, find_instance};
use crate::formats::settings::{Setting, SettingArea};

/// A titled block of ready lines: what the CLI prints and the TUI's details pane shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DetailSection {
    pub title: String,
    pub lines: Vec<String>,
}

/// Everything `backups show` says about one instance.
#[derive(Clone, Debug, Serialize)]
pub struct BackupDetails {
    pub backup: BackupRow,
    pub gpo: GpoState,
}

/// Reads the instance `backup_id` of `dir` (or of its sub-folders, `depth` levels down).
pub fn show_backup(dir: &Path, backup_id: &str, depth: usize) -> Result<BackupDetails, CatalogError> {
    let instance = find_instance(dir, backup_id, depth)?;
    Ok(BackupDetails { backup: BackupRow::of(&instance), gpo: GpoState::of_instance(&instance) })
}

/// The areas in the order GPMC's report shows them.
const AREAS: [SettingArea; 5] = [
    SettingArea::Registry,
    SettingArea::Security,
    SettingArea::Scripts,
    SettingArea::FolderRedirection,
    SettingArea::Preferences,
];

impl BackupDetails {
    /// The whole instance as titled blocks of lines, in the order people read a GPO: the
    /// backup, the GPO, who may do what, where it applies, what it installs, its settings by
    /// area, other files, and what could not be read.
    pub fn sections(&self) -> Vec<DetailSection> {
        let (b, g) = (&self.backup, &self.gpo);
        let mut sections = Vec::new();

        let mut backup = vec![
            format!("ID:          {}", b.backup_id),
            format!("Time:        {}", b.time_text()),
            format!("Comment:     {}", if b.comment.is_empty() { "(none)" } else { &b.comment }),
            format!("Folder:      {}", b.folder.display()),
            format!(
                "Size:        {}{}",
                b.size_text(),
                b.files.map(|n| format!(" in {n} file{}", if n == 1 { "" } else { "s" })).unwrap_or_default()
            ),
            format!("Made by:     {}", if b.made_by_gpvault { "gpvault" } else { "GPMC" }),
        ];
        if let Some(why) = &b.incomplete {
            backup.push(format!("Incomplete:  {why}"));
        }
        sections.push(DetailSection { title: "Backup".into(), lines: backup });

        sections.push(DetailSection { title: "GPO".into(), lines: core_lines(g) });

        let mut security = Vec::new();
        match &g.dacl {
            None => security.push("(no readable security descriptor in this backup)".into()),
            Some(aces) => {
                security.push("Delegation (as GPMC shows it):".into());
                security.extend(g.delegation.iter().map(|l| format!("  {l}")));
                security.push("Access control entries:".into());
                security.extend(aces.iter().map(|a| format!("  {}", a.text)));
            }
        }
        sections.push(DetailSection { title: "Security".into(), lines: security });

        let links = match &g.links {
            None => vec!["(not recorded: GPMC's backups keep no links)".to_string()],
            Some(links) if links.is_empty() => vec!["(not linked)".to_string()],
            Some(links) => links.iter().map(link_text).collect(),
        };
        sections.push(DetailSection { title: "Links".into(), lines: links });

        let mut packages = Vec::new();
        for package in &g.packages {
            packages.push(package.title());
            packages.extend(package.attributes.iter().map(|(name, value)| format!("  {name}: {value}")));
            if !package.dacl.is_empty() {
                packages.push("  Access control entries:".into());
                packages.extend(package.dacl.iter().map(|a| format!("    {}", a.text)));
            }
        }
        if packages.is_empty() {
            packages.push("(none)".into());
        }
        sections.push(DetailSection { title: "Software installation".into(), lines: packages });

        for area in AREAS {
            let settings: Vec<&Setting> = g.settings.iter().filter(|s| s.area == area).collect();
            if !settings.is_empty() {
                sections.push(DetailSection { title: area.label().into(), lines: setting_lines(&settings) });
            }
        }
        if g.settings.is_empty() {
            sections.push(DetailSection { title: "Settings".into(), lines: vec!["(no settings files)".into()] });
        }

        let other: Vec<String> =
            g.files.iter().filter(|f| !f.settings_file).map(|f| format!("{}  ({} bytes)", f.path, f.size)).collect();
        if !other.is_empty() {
            sections.push(DetailSection { title: "Other files".into(), lines: other });
        }
        if !g.unreadable.is_empty() {
            let lines = g.unreadable.iter().map(|u| format!("{}: {}", u.path, u.error)).collect();
            sections.push(DetailSection { title: "Unreadable files".into(), lines });
        }
        sections
    }
}

fn core_lines(g: &GpoState) -> Vec<String> {
    let version = |v: &Option<HalfVersion>| match v {
        Some(HalfVersion { directory, sysvol: Some(sysvol) }) => format!("AD {directory}, SYSVOL {sysvol}"),
        Some(HalfVersion { directory, sysvol: None }) => format!("AD {directory}, SYSVOL ?"),
        None => "?".into(),
    };
    let extensions = |raw: &str| {
        let names = extension_names(raw);
        if names.is_empty() { "(none)".to_string() } else { names.join(", ") }
    };
    vec![
        format!("Name:             {}", g.name),
        format!("GUID:             {}", g.gpo_id),
        format!("Domain:           {}", g.domain),
        format!("Status:           {}", status_text(g.flags)),
        format!("User version:     {}", version(&g.user_version)),
        format!("Computer version: {}", version(&g.machine_version)),
        format!("Computer CSEs:    {}", extensions(&g.machine_extensions)),
        format!("User CSEs:        {}", extensions(&g.user_extensions)),
        format!("WMI filter:       {}", g.wmi_filter.as_ref().map(|f| f.text()).unwrap_or_else(|| "(none)".into())),
    ]
}

pub(crate) fn status_text(flags: Option<u32>) -> String {
    match flags {
        Some(flags) => format!("{} (flags {flags})", crate::model::GpoFlags(flags).status_text()),
        None => "?".into(),
    }
}

pub(crate) fn link_text(link: &crate::model::Link) -> String {
    format!(
        "{:<3} {}{}{}",
        link.order,
        link.container_dn,
        if link.enabled { "" } else { "  [disabled]" },
        if link.enforced { "  [enforced]" } else { "" }
    )
}

/// A setting as one line: a registry value by its full path, anything else by its place and name.
pub(crate) fn setting_text(setting: &Setting) -> String {
    match setting.area {
        SettingArea::Registry => format!("{}\\{} = {}", setting.path, setting.name, setting.value),
        _ if setting.path.is_empty() => format!("{} = {}", setting.name, setting.value),
        _ => format!("[{}] {} = {}", setting.path, setting.name, setting.value),
    }
}

/// Settings of one area, under the file each comes from.
fn setting_lines(settings: &[&Setting]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut file: Option<&str> = None;
    for setting in settings {
        if file != Some(setting.file.as_str()) {
            lines.push(format!("{}:", setting.file));
            file = Some(&setting.file);
        }
        lines.push(format!("  {}", setting_text(setting)));
    }
    lines
}
