//! What a restore will change in one GPO, worked out from the backup and the GPO's current
//! state: plain functions over plain data, so the plan's description and the version rule
//! are tested without a domain.

use std::collections::{BTreeMap, BTreeSet};

use super::source::{BackupSource, RecordedLink};
use crate::model::security::control;
use crate::model::{Acl, DirectoryObject, Gpo, GpoFolder, GpoId, SecurityDescriptor, Sid, Version, WmiFilter};

/// Each half's new version: one more than the largest of the current and the backed-up values,
/// so clients see a change and apply the GPO again (MS-GPOL skips unchanged versions).
pub fn next_version(current: &[Version], backed_up: &[Version]) -> Version {
    let all = current.iter().chain(backed_up);
    let user = all.clone().map(|v| v.user).max().unwrap_or(0);
    let machine = all.map(|v| v.machine).max().unwrap_or(0);
    Version { user: user.saturating_add(1), machine: machine.saturating_add(1) }
}

/// SYSVOL files the restore adds, replaces and removes (paths compared case-insensitively, as
/// SYSVOL does). GPT.INI is left out: it is always regenerated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SysvolDiff {
    pub added: Vec<String>,
    pub replaced: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: usize,
}

impl SysvolDiff {
    pub fn between(current: &GpoFolder, restored: &GpoFolder) -> SysvolDiff {
        let is_gpt_ini = |p: &str| p.eq_ignore_ascii_case(crate::formats::gpt_ini::FILE_NAME);
        let now: BTreeMap<String, (&str, &[u8])> =
            current.files().filter(|(p, _)| !is_gpt_ini(p)).map(|(p, b)| (p.to_lowercase(), (p, b))).collect();
        let then: BTreeMap<String, (&str, &[u8])> =
            restored.files().filter(|(p, _)| !is_gpt_ini(p)).map(|(p, b)| (p.to_lowercase(), (p, b))).collect();
        let mut diff = SysvolDiff::default();
        for (key, (path, bytes)) in &then {
            match now.get(key) {
                None => diff.added.push(path.to_string()),
                Some((_, old)) if old != bytes => diff.replaced.push(path.to_string()),
                Some(_) => diff.unchanged += 1,
            }
        }
        diff.removed = now.iter().filter(|(k, _)| !then.contains_key(*k)).map(|(_, (p, _))| p.to_string()).collect();
        diff
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.replaced.is_empty() && self.removed.is_empty()
    }
}

/// One attribute whose value changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeChange {
    pub name: &'static str,
    pub old: String,
    pub new: String,
}

fn text_or_none(text: &str) -> String {
    if text.trim().is_empty() { "(none)".to_string() } else { text.to_string() }
}

fn version_text(v: Version) -> String {
    format!("user {}, computer {}", v.user, v.machine)
}

/// The attributes that change, old → new. `current` is `None` for a deleted GPO (everything is
/// written); `wmi_link` is what gPCWQLFilter becomes.
pub fn attribute_changes(
    current: Option<&Gpo>,
    backup: &Gpo,
    version: Version,
    wmi_link: Option<&str>,
    filter_name: impl Fn(Option<&str>) -> String,
) -> Vec<AttributeChange> {
    let mut out = Vec::new();
    let mut push = |name: &'static str, old: String, new: String| {
        if old != new {
            out.push(AttributeChange { name, old, new });
        }
    };
    let old = |f: &dyn Fn(&Gpo) -> String| current.map(f).unwrap_or_else(|| "(deleted)".to_string());
    push("displayName", old(&|g| g.display_name.clone()), backup.display_name.clone());
    push(
        "flags",
        old(&|g| format!("{} ({})", g.flags.0, g.flags.status_text())),
        format!("{} ({})", backup.flags.0, backup.flags.status_text()),
    );
    push("versionNumber", old(&|g| version_text(g.version)), version_text(version));
    push(
        "gPCMachineExtensionNames",
        old(&|g| text_or_none(&g.machine_extensions.raw)),
        text_or_none(&backup.machine_extensions.raw),
    );
    push(
        "gPCUserExtensionNames",
        old(&|g| text_or_none(&g.user_extensions.raw)),
        text_or_none(&backup.user_extensions.raw),
    );
    push("gPCWQLFilter", old(&|g| filter_name(g.wmi_filter_link.as_deref())), filter_name(wmi_link));
    out
}

/// ACEs the restore adds to and removes from the GPO's DACL, in SDDL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DaclDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// The protected (no inheritance) flag changes.
    pub protection: Option<(bool, bool)>,
}

impl DaclDiff {
    pub fn between(current: &SecurityDescriptor, restored: &SecurityDescriptor, domain: Option<&Sid>) -> DaclDiff {
        let aces = |sd: &SecurityDescriptor| -> Vec<String> {
            sd.dacl
                .iter()
                .flat_map(|acl| acl.aces.iter())
                .map(|ace| {
                    let one = SecurityDescriptor::from_parts(
                        control::DACL_PRESENT,
                        None,
                        None,
                        None,
                        Some(Acl::new(vec![ace.clone()])),
                    );
                    one.to_sddl(domain).trim_start_matches("D:").to_string()
                })
                .collect()
        };
        let (now, then) = (aces(current), aces(restored));
        let now_set: BTreeSet<&String> = now.iter().collect();
        let then_set: BTreeSet<&String> = then.iter().collect();
        let protection = (current.is_dacl_protected() != restored.is_dacl_protected())
            .then_some((current.is_dacl_protected(), restored.is_dacl_protected()));
        DaclDiff {
            added: then.iter().filter(|a| !now_set.contains(a)).cloned().collect(),
            removed: now.iter().filter(|a| !then_set.contains(a)).cloned().collect(),
            protection,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.protection.is_none()
    }
}

/// What becomes of the GPO's WMI filter link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WmiFilterAction {
    /// The backup has no filter: gPCWQLFilter is removed (if there was one).
    NoFilter,
    /// Linked to the filter, which exists in the domain.
    Link { id: String, name: String },
    /// The filter no longer exists: not linked. The backup holds the filter object, so it can
    /// be re-created (when `can_recreate`).
    Missing { id: String, name: Option<String>, can_recreate: bool },
    /// The filter no longer exists and is re-created from the backup's object, then linked.
    Recreate { filter: WmiFilter },
}

impl WmiFilterAction {
    /// The gPCWQLFilter value to write: `None` removes it.
    pub fn link_value(&self, backup: &Gpo, domain: &str) -> Option<String> {
        match self {
            WmiFilterAction::NoFilter | WmiFilterAction::Missing { .. } => None,
            WmiFilterAction::Link { id, .. } => {
                Some(backup.wmi_filter_link.clone().unwrap_or_else(|| format!("[{domain};{id};0]")))
            }
            WmiFilterAction::Recreate { filter } => {
                Some(backup.wmi_filter_link.clone().unwrap_or_else(|| format!("[{domain};{};0]", filter.id)))
            }
        }
    }
}

/// Decides the WMI filter link from the backup and the domain's filters.
pub fn wmi_filter_action(source: &BackupSource, filters: &[WmiFilter], recreate: bool) -> WmiFilterAction {
    let Some(id) = source.gpo.wmi_filter_id() else { return WmiFilterAction::NoFilter };
    if let Some(filter) = filters.iter().find(|f| f.id.eq_ignore_ascii_case(&id)) {
        return WmiFilterAction::Link { id, name: filter.name.clone() };
    }
    let object = source.wmi_filter.clone().filter(|f| f.id.eq_ignore_ascii_case(&id));
    match object {
        Some(filter) if recreate => WmiFilterAction::Recreate { filter },
        object => WmiFilterAction::Missing { id, name: source.wmi_filter_name.clone(), can_recreate: object.is_some() },
    }
}

/// The class store before and after, as people know it: package names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClassStoreChange {
    pub packages_now: Vec<String>,
    pub packages_restored: Vec<String>,
    /// Objects written (class stores, Packages containers, packages).
    pub objects_restored: usize,
    /// Objects below the GPO now (deleted first).
    pub objects_now: usize,
}

impl ClassStoreChange {
    pub fn between(current: &[DirectoryObject], restored: &[DirectoryObject]) -> ClassStoreChange {
        ClassStoreChange {
            packages_now: package_names(current),
            packages_restored: package_names(restored),
            objects_restored: restored.len(),
            objects_now: current.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.objects_now == 0 && self.objects_restored == 0
    }
}

fn attribute_text<'a>(object: &'a DirectoryObject, name: &str) -> Vec<&'a str> {
    object
        .attributes
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.iter())
        .filter_map(|v| match v {
            crate::model::AttributeValue::Text(t) => Some(t.as_str()),
            crate::model::AttributeValue::Base64(_) => None,
        })
        .collect()
}

/// displayName of every packageRegistration object (its CN when it has none).
pub fn package_names(objects: &[DirectoryObject]) -> Vec<String> {
    objects
        .iter()
        .filter(|o| attribute_text(o, "objectClass").iter().any(|c| c.eq_ignore_ascii_case("packageRegistration")))
        .map(|o| {
            attribute_text(o, "displayName").first().map(|s| s.to_string()).unwrap_or_else(|| {
                o.dn.split(',').next().and_then(|r| r.split_once('=')).map(|(_, v)| v.to_string()).unwrap_or_default()
            })
        })
        .collect()
}

/// What happens to one link the backup recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkAction {
    /// Written (created, or moved and its flags set) at its recorded position.
    Set(RecordedLink),
    /// Already there as recorded.
    Unchanged(RecordedLink),
    /// Links were not asked for: the link existed at backup time and is only listed.
    Existed(RecordedLink),
    /// The container no longer exists: skipped.
    ContainerGone(RecordedLink),
}

/// GPMC's link order to give `gpo` in a container that now has `current` links (by GPMC order),
/// so that it sits where the backup recorded it: above every link recorded with a larger order
/// (lower precedence), below those with a smaller one. `recorded` holds the orders the
/// restored backups recorded for GPOs in this container (a Back Up All records them all).
/// When none of the current links has a recorded order, the link's own recorded order is used.
pub fn link_order(gpo: &GpoId, own: usize, current: &[(GpoId, usize)], recorded: &BTreeMap<GpoId, usize>) -> usize {
    let mut others: Vec<&(GpoId, usize)> = current.iter().filter(|(id, _)| id != gpo).collect();
    others.sort_by_key(|(_, order)| *order);
    let known: Vec<(usize, usize)> = others
        .iter()
        .enumerate()
        .filter_map(|(position, (id, _))| recorded.get(id).map(|r| (position + 1, *r)))
        .collect();
    if known.is_empty() {
        return own;
    }
    // The first link (by precedence) recorded below us: we take its place and it moves down.
    match known.iter().find(|(_, recorded_order)| *recorded_order > own) {
        Some((position, _)) => *position,
        None => {
            // Below every known link: just after the last known one recorded above us.
            let last_above = known.iter().filter(|(_, r)| *r < own).map(|(p, _)| *p).max().unwrap_or(0);
            last_above + 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FolderEntry;

    fn id(n: u8) -> GpoId {
        format!("{{00000000-0000-0000-0000-0000000000{n:02X}}}").parse().unwrap()
    }

    #[test]
    fn each_half_goes_one_above_the_largest_of_current_and_backed_up() {
        let v = |user, machine| Version { user, machine };
        // Changed since the backup: the current values are larger.
        assert_eq!(next_version(&[v(7, 3), v(6, 4)], &[v(2, 2), v(2, 2)]), v(8, 5));
        // The backup is newer than a GPO that was reset: the backup wins.
        assert_eq!(next_version(&[v(0, 1)], &[v(5, 9), v(5, 8)]), v(6, 10));
        // A deleted GPO has no current version.
        assert_eq!(next_version(&[], &[v(0, 0)]), v(1, 1));
        // The counters are 16 bits: they stop at the top rather than wrap to 0.
        assert_eq!(next_version(&[v(u16::MAX, 1)], &[]), v(u16::MAX, 2));
    }

    #[test]
    fn sysvol_diff_counts_files_case_insensitively_and_ignores_gpt_ini() {
        let file = |p: &str, b: &[u8]| FolderEntry::File { rel_path: p.into(), bytes: b.to_vec() };
        let now = GpoFolder {
            entries: vec![
                file("GPT.INI", b"[General]\r\nVersion=3\r\n"),
                file("MACHINE/registry.pol", b"old"),
                file("Machine/Scripts/scripts.ini", b"same"),
                file("User/only-now.xml", b"x"),
            ],
        };
        let then = GpoFolder {
            entries: vec![
                file("GPT.INI", b"[General]\r\nVersion=1\r\n"),
                file("Machine/registry.pol", b"new"),
                file("Machine/Scripts/scripts.ini", b"same"),
                file("Machine/added.inf", b"y"),
            ],
        };
        let diff = SysvolDiff::between(&now, &then);
        assert_eq!(diff.added, ["Machine/added.inf"]);
        assert_eq!(diff.replaced, ["Machine/registry.pol"]);
        assert_eq!(diff.removed, ["User/only-now.xml"]);
        assert_eq!(diff.unchanged, 1);
        assert!(SysvolDiff::between(&then, &then).is_empty());
    }

    #[test]
    fn links_go_back_where_they_were_whatever_order_they_come_back_in() {
        // At backup time: A order 1, B order 2, C order 3 in one OU. A and B were deleted.
        let recorded = BTreeMap::from([(id(1), 1), (id(2), 2), (id(3), 3)]);
        // B first: C is recorded below B, so B takes C's place.
        let b_first = link_order(&id(2), 2, &[(id(3), 1)], &recorded);
        assert_eq!(b_first, 1);
        let a_then = link_order(&id(1), 1, &[(id(2), 1), (id(3), 2)], &recorded);
        assert_eq!(a_then, 1);
        // A first, then B: B goes between A and C.
        assert_eq!(link_order(&id(1), 1, &[(id(3), 1)], &recorded), 1);
        assert_eq!(link_order(&id(2), 2, &[(id(1), 1), (id(3), 2)], &recorded), 2);
        // A link someone added since (not recorded) keeps its place relative to the others.
        let d = id(4);
        assert_eq!(link_order(&id(2), 2, &[(d, 1), (id(1), 2), (id(3), 3)], &recorded), 3);
        // Nothing recorded about the other links: the recorded order itself.
        assert_eq!(link_order(&id(2), 2, &[(d, 1), (id(5), 2)], &BTreeMap::from([(id(2), 2)])), 2);
        // Recorded last: after the last known link above it.
        assert_eq!(link_order(&id(3), 3, &[(id(1), 1), (id(2), 2), (d, 3)], &recorded), 3);
    }

    #[test]
    fn dacl_diff_lists_aces_in_sddl() {
        let golden = include_str!("../../model/testdata/sddl_golden.tsv");
        let sds: Vec<SecurityDescriptor> = golden
            .lines()
            .filter(|l| l.starts_with("fixture:"))
            .take(2)
            .map(|l| SecurityDescriptor::from_bytes(&hex::decode(l.split('\t').nth(2).unwrap()).unwrap()).unwrap())
            .collect();
        let same = DaclDiff::between(&sds[0], &sds[0], None);
        assert!(same.is_empty(), "{same:?}");
        let diff = DaclDiff::between(&sds[0], &sds[1], None);
        let full = |sd: &SecurityDescriptor| sd.to_sddl(None);
        for ace in &diff.added {
            assert!(full(&sds[1]).contains(ace.as_str()), "{ace} is in the restored DACL");
            assert!(ace.starts_with('(') && ace.ends_with(')'), "{ace}");
        }
        for ace in &diff.removed {
            assert!(full(&sds[0]).contains(ace.as_str()), "{ace} is in the current DACL");
        }
    }
}
