//! Setting-level differences between two states of a GPO (two backups, or a backup and the live
//! GPO): core settings, versions, DACL, links, packages, every setting of the settings files,
//! and the other files by content. Not a byte diff: a registry value that changed is one line
//! naming the key, the value name and both values.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use serde::Serialize;

use super::show::{link_text, setting_text, status_text};
use super::state::{AceLine, GpoState, HalfVersion, PackageState, extension_names};
use super::{BackupRow, CatalogError, find_instance};
use crate::formats::settings::{Setting, SettingChange, diff_settings};
use crate::model::{GpoId, Link};
use crate::ops::DomainSession;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Removed,
    Changed,
}

/// One difference, ready to show: `+ Links: 1 OU=Sales,...`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// "GPO", "Versions", "DACL", "Links", "Software installation", a settings area's label
    /// ("Administrative Templates"...), or "Files".
    pub area: String,
    pub change: Change,
    /// What differs: a core field, an ACE, a link's container, a setting's file and key.
    pub item: String,
    /// The value in the first (older) state.
    pub old: Option<String>,
    /// The value in the second state.
    pub new: Option<String>,
}

impl fmt::Display for DiffLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.change {
            Change::Added => '+',
            Change::Removed => '-',
            Change::Changed => '~',
        };
        write!(f, "{sign} {}: {}", self.area, self.item)?;
        match (self.change, &self.old, &self.new) {
            (Change::Changed, Some(old), Some(new)) => write!(f, ": {old} -> {new}"),
            (Change::Added, _, Some(value)) | (Change::Removed, Some(value), _) => write!(f, " = {value}"),
            _ => Ok(()),
        }
    }
}

/// The differences from `old` to `new`, with labels naming the two sides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BackupDiff {
    /// "backup {ID} (2026-11-25 14:03:07 UTC)".
    pub old: String,
    /// Another backup's label, or "the live GPO in corp.example.test".
    pub new: String,
    pub lines: Vec<DiffLine>,
    /// What was not compared, and why (links a GPMC backup does not record, unreadable files).
    pub notes: Vec<String>,
}

impl BackupDiff {
    pub fn is_equal(&self) -> bool {
        self.lines.is_empty()
    }

    /// The header and one line per difference: what the CLI prints and the TUI shows.
    pub fn text_lines(&self) -> Vec<String> {
        let mut lines = vec![format!("--- {}", self.old), format!("+++ {}", self.new)];
        lines.extend(self.lines.iter().map(DiffLine::to_string));
        if self.lines.is_empty() {
            lines.push("no differences".into());
        }
        lines.extend(self.notes.iter().map(|n| format!("note: {n}")));
        lines
    }
}

fn label(row: &BackupRow) -> String {
    format!("backup {} of {} ({})", row.backup_id, row.display_name, row.time_text())
}

/// Two instances of `dir` compared, the first as the older state.
pub fn diff_backups(dir: &Path, old_id: &str, new_id: &str, depth: usize) -> Result<BackupDiff, CatalogError> {
    let (old, new) = (find_instance(dir, old_id, depth)?, find_instance(dir, new_id, depth)?);
    let (old_row, new_row) = (BackupRow::of(&old), BackupRow::of(&new));
    let mut diff =
        diff_states(&GpoState::of_instance(&old), &GpoState::of_instance(&new), &label(&old_row), &label(&new_row));
    if !old_row.is_of_gpo(&new_row.gpo_id) {
        diff.notes.insert(0, "the two backups are of different GPOs".into());
    }
    Ok(diff)
}

/// An instance of `dir` compared with the GPO as the connected domain holds it now (its SYSVOL
/// folder and AD attributes). Refused when the backup is of another domain's GPO, or when the
/// GPO no longer exists.
pub async fn diff_live(
    session: &DomainSession,
    dir: &Path,
    backup_id: &str,
    depth: usize,
) -> Result<BackupDiff, CatalogError> {
    let instance = find_instance(dir, backup_id, depth)?;
    let row = BackupRow::of(&instance);
    let domain = &session.domain;
    if !row.is_of_domain(&domain.dns_name, &domain.guid) {
        return Err(CatalogError::OtherDomain {
            backup_id: row.backup_id,
            backup_domain: row.domain,
            connected: domain.dns_name.clone(),
        });
    }
    let estate = session.directory.read_estate().await?;
    let id: Option<GpoId> = row.gpo_id.parse().ok();
    let Some(gpo) = estate.gpos.iter().find(|g| Some(g.id) == id) else {
        return Err(CatalogError::GpoGone {
            backup_id: row.backup_id,
            gpo: row.gpo_id,
            name: row.display_name,
            domain: estate.domain.dns_name.clone(),
        });
    };
    let live = GpoState::of_live(session, &estate, gpo).await?;
    let backup = GpoState::of_instance(&instance);
    Ok(diff_states(&backup, &live, &label(&row), &format!("the live GPO in {}", estate.domain.dns_name)))
}

/// The differences from `old` to `new`.
pub fn diff_states(old: &GpoState, new: &GpoState, old_label: &str, new_label: &str) -> BackupDiff {
    let mut diff =
        BackupDiff { old: old_label.to_string(), new: new_label.to_string(), lines: Vec::new(), notes: Vec::new() };
    core(&mut diff, old, new);
    versions(&mut diff, old, new);
    dacl(&mut diff, old, new);
    links(&mut diff, old, new);
    packages(&mut diff, old, new);
    settings_and_files(&mut diff, old, new);
    for (label, state) in [(old_label, old), (new_label, new)] {
        for file in &state.unreadable {
            diff.notes
                .push(format!("{label}: {} could not be read ({}); compared by content only", file.path, file.error));
        }
    }
    diff
}

fn changed(diff: &mut BackupDiff, area: &str, item: &str, old: String, new: String) {
    if old != new {
        diff.lines.push(DiffLine {
            area: area.into(),
            change: Change::Changed,
            item: item.into(),
            old: Some(old),
            new: Some(new),
        });
    }
}

fn added(diff: &mut BackupDiff, area: &str, item: String, value: Option<String>) {
    diff.lines.push(DiffLine { area: area.into(), change: Change::Added, item, old: None, new: value });
}

fn removed(diff: &mut BackupDiff, area: &str, item: String, value: Option<String>) {
    diff.lines.push(DiffLine { area: area.into(), change: Change::Removed, item, old: value, new: None });
}

fn core(diff: &mut BackupDiff, old: &GpoState, new: &GpoState) {
    let same_gpo = old.gpo_id.parse::<GpoId>().ok().is_some_and(|id| new.gpo_id.parse::<GpoId>().ok() == Some(id));
    if !same_gpo {
        changed(diff, "GPO", "GUID", old.gpo_id.clone(), new.gpo_id.clone());
    }
    if !old.domain.eq_ignore_ascii_case(&new.domain) {
        changed(diff, "GPO", "Domain", old.domain.clone(), new.domain.clone());
    }
    changed(diff, "GPO", "Name", old.name.clone(), new.name.clone());
    changed(diff, "GPO", "Status", status_text(old.flags), status_text(new.flags));
    let names = |raw: &str| {
        let names = extension_names(raw);
        if names.is_empty() { "(none)".to_string() } else { format!("{} {raw}", names.join(", ")) }
    };
    if !old.machine_extensions.eq_ignore_ascii_case(&new.machine_extensions) {
        changed(diff, "GPO", "Computer extensions", names(&old.machine_extensions), names(&new.machine_extensions));
    }
    if !old.user_extensions.eq_ignore_ascii_case(&new.user_extensions) {
        changed(diff, "GPO", "User extensions", names(&old.user_extensions), names(&new.user_extensions));
    }
    let filter_id = |s: &GpoState| s.wmi_filter.as_ref().map(|f| f.id.to_uppercase());
    if filter_id(old) != filter_id(new) {
        let text = |s: &GpoState| s.wmi_filter.as_ref().map(|f| f.text()).unwrap_or_else(|| "(none)".into());
        changed(diff, "GPO", "WMI filter", text(old), text(new));
    }
}

fn versions(diff: &mut BackupDiff, old: &GpoState, new: &GpoState) {
    for (half, a, b) in
        [("User", old.user_version, new.user_version), ("Computer", old.machine_version, new.machine_version)]
    {
        let (Some(a), Some(b)) = (a, b) else { continue };
        let HalfVersion { directory: a_ad, sysvol: a_sysvol } = a;
        let HalfVersion { directory: b_ad, sysvol: b_sysvol } = b;
        changed(diff, "Versions", &format!("{half} version in AD"), a_ad.to_string(), b_ad.to_string());
        if let (Some(x), Some(y)) = (a_sysvol, b_sysvol) {
            changed(diff, "Versions", &format!("{half} version in SYSVOL"), x.to_string(), y.to_string());
        }
    }
}

/// ACEs of `old` missing from `new` and the other way round, one by one (an ACE present twice
/// counts twice). Matched on the ACE without its account name.
fn ace_changes(diff: &mut BackupDiff, area: &str, prefix: &str, old: &[AceLine], new: &[AceLine]) {
    let mut unmatched: Vec<&AceLine> = new.iter().collect();
    for ace in old {
        match unmatched.iter().position(|n| n.key == ace.key) {
            Some(at) => {
                unmatched.remove(at);
            }
            None => removed(diff, area, format!("{prefix}{}", ace.text), None),
        }
    }
    for ace in unmatched {
        added(diff, area, format!("{prefix}{}", ace.text), None);
    }
}

fn dacl(diff: &mut BackupDiff, old: &GpoState, new: &GpoState) {
    match (&old.dacl, &new.dacl) {
        (Some(a), Some(b)) => ace_changes(diff, "DACL", "", a, b),
        _ => diff.notes.push("the DACL is not readable on both sides: not compared".into()),
    }
}

fn links(diff: &mut BackupDiff, old: &GpoState, new: &GpoState) {
    let (Some(a), Some(b)) = (&old.links, &new.links) else {
        diff.notes.push("links are not recorded on both sides (GPMC's backups keep none): not compared".into());
        return;
    };
    let by_container = |links: &[Link]| -> BTreeMap<String, Link> {
        links.iter().map(|l| (l.container_dn.to_lowercase(), l.clone())).collect()
    };
    let (a, b) = (by_container(a), by_container(b));
    for (key, link) in &a {
        match b.get(key) {
            None => removed(diff, "Links", link.container_dn.clone(), Some(link_text(link))),
            Some(other) => changed(diff, "Links", &link.container_dn, link_text(link), link_text(other)),
        }
    }
    for (key, link) in &b {
        if !a.contains_key(key) {
            added(diff, "Links", link.container_dn.clone(), Some(link_text(link)));
        }
    }
}

fn packages(diff: &mut BackupDiff, old: &GpoState, new: &GpoState) {
    const AREA: &str = "Software installation";
    let key = |p: &PackageState| (p.side.clone(), p.name.to_lowercase());
    let b: HashMap<_, &PackageState> = new.packages.iter().map(|p| (key(p), p)).collect();
    for package in &old.packages {
        let title = package.title();
        let Some(other) = b.get(&key(package)) else {
            removed(diff, AREA, title, None);
            continue;
        };
        let attributes: BTreeMap<&str, &str> = other.attributes.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        for (name, value) in &package.attributes {
            match attributes.get(name.as_str()) {
                Some(v) => changed(diff, AREA, &format!("{title} {name}"), value.clone(), v.to_string()),
                None => removed(diff, AREA, format!("{title} {name}"), Some(value.clone())),
            }
        }
        for (name, value) in &other.attributes {
            if !package.attributes.iter().any(|(n, _)| n == name) {
                added(diff, AREA, format!("{title} {name}"), Some(value.clone()));
            }
        }
        ace_changes(diff, AREA, &format!("{title} ACE "), &package.dacl, &other.dacl);
    }
    for package in &new.packages {
        if !old.packages.iter().any(|p| key(p) == key(package)) {
            added(diff, AREA, package.title(), None);
        }
    }
}

fn setting_item(setting: &Setting) -> String {
    let text = setting_text(setting);
    let without_value = text.rsplit_once(" = ").map(|(item, _)| item).unwrap_or(&text);
    format!("{}: {without_value}", setting.file)
}

fn settings_and_files(diff: &mut BackupDiff, old: &GpoState, new: &GpoState) {
    // The same file may be spelled differently on the two sides (Samba's MACHINE, GPMC's
    // Machine): the new side takes the old side's spelling of a path they share.
    let spelling: HashMap<String, &str> = old.files.iter().map(|f| (f.path.to_lowercase(), f.path.as_str())).collect();
    let respell =
        |path: &str| spelling.get(&path.to_lowercase()).map(|s| s.to_string()).unwrap_or_else(|| path.to_string());
    let new_settings: Vec<Setting> = new
        .settings
        .iter()
        .cloned()
        .map(|s| {
            let file = respell(&s.file);
            s.in_file(file)
        })
        .collect();
    for change in diff_settings(&old.settings, &new_settings) {
        let line = match change {
            SettingChange::Added(s) => DiffLine {
                area: s.area.label().into(),
                change: Change::Added,
                item: setting_item(&s),
                old: None,
                new: Some(s.value),
            },
            SettingChange::Removed(s) => DiffLine {
                area: s.area.label().into(),
                change: Change::Removed,
                item: setting_item(&s),
                old: Some(s.value),
                new: None,
            },
            SettingChange::Changed { old, new } => DiffLine {
                area: old.area.label().into(),
                change: Change::Changed,
                item: setting_item(&old),
                old: Some(old.value),
                new: Some(new.value),
            },
        };
        diff.lines.push(line);
    }

    let b: HashMap<String, &super::state::FileState> = new.files.iter().map(|f| (f.path.to_lowercase(), f)).collect();
    for file in &old.files {
        match b.get(&file.path.to_lowercase()) {
            None => removed(diff, "Files", file.path.clone(), Some(format!("{} bytes", file.size))),
            // Settings files read on both sides differ by their settings, listed above.
            Some(other) if file.sha256 != other.sha256 && !(file.settings_file && other.settings_file) => changed(
                diff,
                "Files",
                &file.path,
                format!("{} bytes, SHA-256 {}", file.size, &file.sha256[..16]),
                format!("{} bytes, SHA-256 {}", other.size, &other.sha256[..16]),
            ),
            Some(_) => {}
        }
    }
    let a: HashMap<String, ()> = old.files.iter().map(|f| (f.path.to_lowercase(), ())).collect();
    for file in &new.files {
        if !a.contains_key(&file.path.to_lowercase()) {
            added(diff, "Files", file.path.clone(), Some(format!("{} bytes", file.size)));
        }
    }
}
