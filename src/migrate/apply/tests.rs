use super::*;
use crate::migrate::populate::tests::{D, REALM, corp, package_and_dacl, seeded_folder};
use crate::migrate::principals::ResolvedPrincipals;
use crate::migrate::references::tests::{registry_pol, utf16};
use crate::migrate::table::{Destination, EntryType, Mapping};

const B: &str = "S-1-5-21-937206442-3145579263-2852259669";
const BRANCH: &str = "branch.example.test";

fn branch() -> TargetDomain {
    TargetDomain { netbios_name: "BRANCH".into(), dns_name: BRANCH.into() }
}

fn branch_principals() -> ResolvedPrincipals {
    let principal = |rid: u32, sam: &str, kind: &str| Principal {
        sid: format!("{B}-{rid}").parse().unwrap(),
        sam_account_name: sam.into(),
        kind: kind.into(),
        netbios_domain: "BRANCH".into(),
        dns_domain: BRANCH.into(),
        upn: None,
    };
    let mut resolved = ResolvedPrincipals::new();
    resolved.add([
        principal(512, "Domain Admins", "GlobalGroup"),
        principal(513, "Domain Users", "GlobalGroup"),
        principal(1103, "frank.branch", "User"),
        principal(1105, "Branch Helpdesk", "GlobalGroup"),
        principal(1106, "Branch Users", "GlobalGroup"),
        principal(1107, "Kiosk Operators", "GlobalGroup"),
    ]);
    resolved
}

fn row(entry_type: EntryType, source: &str, destination: Destination) -> Mapping {
    Mapping { entry_type, source: source.replace("{R}", REALM).replace("{D}", D), destination }
}

fn to(text: &str) -> Destination {
    Destination::Set(text.replace("{B}", BRANCH))
}

/// corp → branch for everything the seeded folder names (see populate's tests).
fn corp_to_branch() -> MigrationTable {
    use EntryType::*;
    MigrationTable::from_rows(vec![
        row(GlobalGroup, "Helpdesk@{R}", to("Branch Helpdesk@{B}")),
        row(GlobalGroup, "CORP\\Workstation Admins", to("BRANCH\\Kiosk Operators")),
        row(GlobalGroup, "Finance Users@{R}", to("BRANCH\\Branch Users")),
        row(GlobalGroup, "Domain Admins@{R}", Destination::ByRelativeName),
        row(GlobalGroup, "Domain Users@{R}", Destination::ByRelativeName),
        row(User, "dave.admin@{R}", to("frank.branch@{B}")),
        row(Unknown, "{D}-4242", to("BRANCH\\Branch Users")),
        row(Unknown, "svc_backup", Destination::SameAsSource),
        row(Unknown, "CORP\\Gone Group", to("BRANCH\\Branch Users")),
        row(UncPath, r"\\{R}\NETLOGON", to(r"\\{B}\NETLOGON")),
        row(UncPath, r"\\fs01.{R}\finance", to(r"\\fs01.{B}\finance")),
        row(UncPath, r"\\fs01.{R}\finance-home", to(r"\\fs01.{B}\home")),
        row(UncPath, r"\\fs01.{R}\home", to(r"\\fs01.{B}\home")),
        row(UncPath, r"\\fs01.{R}\software", to(r"\\sw.{B}\software")),
        row(UncPath, r"\\fs01.{R}\wallpaper", to(r"\\fs01.{B}\wallpaper")),
    ])
}

fn options(table: Option<&MigrationTable>) -> ApplyOptions<'_> {
    ApplyOptions { table, only_mapped: false, target: branch(), target_sid: Some(B.parse().unwrap()) }
}

fn file<'a>(folder: &'a GpoFolder, path: &str) -> &'a [u8] {
    folder.file(path).unwrap_or_else(|| panic!("no {path}"))
}

fn u16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// `bytes` with every `old` replaced by `new`, longest first, for the expected output of a
/// file, computed without the code under test.
fn replaced(bytes: &[u8], pairs: &[(String, String)], encode: &dyn Fn(&str) -> Vec<u8>) -> Vec<u8> {
    let mut pairs = pairs.to_vec();
    pairs.sort_by_key(|(old, _)| std::cmp::Reverse(old.len()));
    let mut out = bytes.to_vec();
    for (old, new) in pairs {
        let (old, new) = (encode(&old), encode(&new));
        let mut next = Vec::with_capacity(out.len());
        let mut i = 0;
        while i < out.len() {
            if out[i..].starts_with(&old) {
                next.extend_from_slice(&new);
                i += old.len();
            } else {
                next.push(out[i]);
                i += 1;
            }
        }
        out = next;
    }
    out
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let fill = |t: &str| t.replace("{D}", D).replace("{B}", B).replace("{R}", REALM).replace("{BR}", BRANCH);
    list.iter().map(|(a, b)| (fill(a), fill(b))).collect()
}

#[test]
fn corp_to_branch_rewrites_every_reference_and_nothing_else() {
    let source = seeded_folder();
    let target = branch_principals();
    let table = corp_to_branch();
    let input = ApplyInput { folder: &source, class_store: &[], dacl: None };
    let applied = apply(input, &options(Some(&table)), Lookups { source: &corp(), target: &target }).unwrap();
    let out = &applied.folder;

    let sids = [
        ("{D}-1109", "{B}-1105"),
        ("{D}-1110", "{B}-1106"),
        ("{D}-1111", "{B}-1107"),
        ("{D}-512", "{B}-512"),
        ("{D}-513", "{B}-513"),
        ("{D}-4242", "{B}-1106"),
    ];
    let inf = "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf";
    let mut inf_pairs = pairs(&sids);
    inf_pairs.extend(pairs(&[("CORP\\dave.admin", "BRANCH\\frank.branch")]));
    assert_eq!(file(out, inf), replaced(file(&source, inf), &inf_pairs, &u16le));

    let utf8 = |t: &str| t.as_bytes().to_vec();
    let groups = "Machine/Preferences/Groups/Groups.xml";
    let mut group_pairs = pairs(&sids);
    group_pairs
        .extend(pairs(&[("CORP\\Helpdesk", "BRANCH\\Branch Helpdesk"), ("CORP\\Gone Group", "BRANCH\\Branch Users")]));
    assert_eq!(file(out, groups), replaced(file(&source, groups), &group_pairs, &utf8));

    let drives = "User/Preferences/Drives/Drives.xml";
    let mut drive_pairs = pairs(&sids);
    drive_pairs.extend(pairs(&[
        (r"\\fs01.{R}\finance", r"\\fs01.{BR}\finance"),
        (r"\\FS01.{R}\Finance", r"\\fs01.{BR}\finance"),
        ("CORP\\Finance Users", "BRANCH\\Branch Users"),
    ]));
    assert_eq!(file(out, drives), replaced(file(&source, drives), &drive_pairs, &utf8));

    let fdeploy = "User/Documents & Settings/fdeploy1.ini";
    let mut fdeploy_pairs = pairs(&sids);
    fdeploy_pairs
        .extend(pairs(&[(r"\\fs01.{R}\finance-home", r"\\fs01.{BR}\home"), (r"\\fs01.{R}\home", r"\\fs01.{BR}\home")]));
    assert_eq!(file(out, fdeploy), replaced(file(&source, fdeploy), &fdeploy_pairs, &u16le));

    let scripts = "User/Scripts/scripts.ini";
    assert_eq!(
        file(out, scripts),
        replaced(file(&source, scripts), &pairs(&[(r"\\{R}\NETLOGON", r"\\{BR}\NETLOGON")]), &u16le)
    );

    // registry.pol: the value's size changes with it, so the expected file is built anew.
    let wallpaper = format!("\\\\fs01.{BRANCH}\\wallpaper\\corp.jpg");
    assert_eq!(
        file(out, "Machine/registry.pol"),
        registry_pol(&[("Software\\Policies\\Corp", "Wallpaper", &wallpaper)])
    );

    // A script body and the binary advertise script stay as they were.
    for untouched in ["User/Scripts/Logon/map-printers.cmd", "Machine/Applications/{0D4B9C21}.aas"] {
        assert_eq!(file(out, untouched), file(&source, untouched), "{untouched}");
    }
    // Nothing of corp is left in the settings files.
    for (path, bytes) in out.files().filter(|(p, _)| !p.ends_with(".aas")) {
        let text = if bytes.starts_with(&[0xFF, 0xFE]) || path.ends_with(".pol") {
            String::from_utf16_lossy(
                &bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect::<Vec<_>>(),
            )
        } else {
            String::from_utf8_lossy(bytes).into_owned()
        };
        for corp_text in [D, "CORP\\", REALM] {
            assert!(!text.contains(corp_text), "{path} still has {corp_text}:\n{text}");
        }
    }
    // The report: every mapped reference with its row, and the advertise script left.
    let report = &applied.report;
    assert!(report.unreadable.is_empty());
    let inf_report = report.places.iter().find(|p| p.place == inf).unwrap();
    let dave = inf_report.mapped.iter().find(|m| m.from == "CORP\\dave.admin").unwrap();
    assert_eq!((dave.to.as_deref(), dave.row), (Some("BRANCH\\frank.branch"), 6));
    let kept = inf_report.mapped.iter().find(|m| m.from == "svc_backup").unwrap();
    assert_eq!((kept.to.as_deref(), kept.row), (Some("svc_backup"), 8));
    let aas = report.places.iter().find(|p| p.origin == Origin::AdvertiseScript).unwrap();
    assert!(aas.mapped.is_empty());
    assert_eq!(aas.left.len(), 1);
    assert_eq!(aas.left[0].why, Left::ReadOnly { row: 14 });
    assert_eq!(report.left_count(), 1);
}

#[test]
fn only_mapped_fails_before_producing_anything_and_names_every_unmapped_reference() {
    let source = seeded_folder();
    let mut table = corp_to_branch();
    // Drop Helpdesk's row: its SID and its name beside it in Groups.xml, and the SDDL.
    let helpdesk = table.find_source(&format!("Helpdesk@{REALM}")).unwrap();
    table.remove(helpdesk).unwrap();
    let input = ApplyInput { folder: &source, class_store: &[], dacl: None };
    let strict = ApplyOptions { only_mapped: true, ..options(Some(&table)) };
    let err = apply(input, &strict, Lookups { source: &corp(), target: &branch_principals() }).unwrap_err();
    let ApplyError::Unmapped(unmapped) = &err else { panic!("{err}") };
    let values: Vec<&str> = unmapped.iter().map(|p| p.value.as_str()).collect();
    let helpdesk_sid = format!("{D}-1109");
    assert_eq!(values, [&helpdesk_sid, &helpdesk_sid, "CORP\\Helpdesk", &helpdesk_sid]);
    let text = err.to_string();
    assert!(text.starts_with("4 principal(s) or UNC path(s) have no row"), "{text}");
    assert!(text.contains("(Machine/Preferences/Groups/Groups.xml, Group \"Administrators (built-in)\""), "{text}");
    // Not strict: applied, and the four are listed as left.
    let applied =
        apply(input, &options(Some(&table)), Lookups { source: &corp(), target: &branch_principals() }).unwrap();
    let left: Vec<&str> = applied
        .report
        .places
        .iter()
        .flat_map(|p| &p.left)
        .filter(|l| l.why == Left::NoRow)
        .map(|l| l.value.as_str())
        .collect();
    assert_eq!(left, values);
}

#[test]
fn without_a_table_nothing_changes_and_foreign_references_are_listed() {
    let source = seeded_folder();
    let input = ApplyInput { folder: &source, class_store: &[], dacl: None };
    let applied = apply(input, &options(None), Lookups { source: &corp(), target: &branch_principals() }).unwrap();
    assert_eq!(applied.folder, source);
    assert_eq!(applied.report.mapped_count(), 0);
    let left: Vec<&LeftReference> = applied.report.places.iter().flat_map(|p| &p.left).collect();
    assert!(left.iter().all(|l| l.why == Left::NoTable));
    // Well-known SIDs and built-in names are not foreign.
    assert!(!left.iter().any(|l| l.value.starts_with("S-1-5-32") || l.value.contains("built-in")));
    for foreign in
        [format!("{D}-1109"), "CORP\\Helpdesk".into(), format!(r"\\{REALM}\NETLOGON\logon.cmd"), "svc_backup".into()]
    {
        assert!(left.iter().any(|l| l.value == foreign), "{foreign} not listed");
    }
    // The target's own accounts are not foreign.
    let own = GpoFolder {
        entries: vec![FolderEntry::File {
            rel_path: "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf".into(),
            bytes: utf16(&format!(
                "[Privilege Rights]\nSeBackupPrivilege = *{B}-1105,BRANCH\\frank.branch,*{D}-1109\n"
            )),
        }],
    };
    let input = ApplyInput { folder: &own, class_store: &[], dacl: None };
    let applied = apply(input, &options(None), Lookups { source: &corp(), target: &branch_principals() }).unwrap();
    let left: Vec<&str> = applied.report.places.iter().flat_map(|p| &p.left).map(|l| l.value.as_str()).collect();
    assert_eq!(left, [format!("{D}-1109")]);
}

#[test]
fn rows_that_cannot_be_applied_fail_it_whole() {
    use EntryType::*;
    let source = seeded_folder();
    let table = MigrationTable::from_rows(vec![
        row(GlobalGroup, "Helpdesk@{R}", Destination::None),
        row(GlobalGroup, "Workstation Admins@{R}", to("BRANCH\\No Such Group")),
        row(UncPath, r"\\fs01.{R}\finance", Destination::None),
    ]);
    let input = ApplyInput { folder: &source, class_store: &[], dacl: None };
    let err =
        apply(input, &options(Some(&table)), Lookups { source: &corp(), target: &branch_principals() }).unwrap_err();
    let ApplyError::Unappliable(problems) = &err else { panic!("{err}") };
    let reasons: Vec<(usize, &UnappliableReason)> = problems.iter().map(|p| (p.row, &p.reason)).collect();
    assert!(reasons.iter().any(|(row, r)| *row == 1 && **r == UnappliableReason::CannotRemove));
    assert!(reasons.iter().any(|(row, r)| *row == 2 && matches!(r, UnappliableReason::DestinationNotFound { .. })));
    assert!(reasons.iter().any(|(row, r)| *row == 3 && **r == UnappliableReason::UncWithoutPath));
    // The name beside the missing group's SID is still written: names need no lookup.
    assert!(!reasons.iter().any(
        |(_, r)| matches!(r, UnappliableReason::DestinationNotFound { destination, .. } if destination.is_empty())
    ));
    assert!(err.to_string().contains("BRANCH\\No Such Group was not found in branch.example.test"), "{err}");
}

#[test]
fn packages_and_the_dacl_map_their_sids_paths_and_drop_removed_entries() {
    use EntryType::*;
    let (package, dacl) = package_and_dacl();
    let table = MigrationTable::from_rows(vec![
        row(GlobalGroup, "Domain Admins@{R}", Destination::ByRelativeName),
        row(GlobalGroup, "Helpdesk@{R}", to("Branch Helpdesk@{B}")),
        row(GlobalGroup, "GPO Editors@{R}", Destination::None),
        row(UniversalGroup, "Enterprise Admins@{R}", to("BRANCH\\Kiosk Operators")),
        row(UncPath, r"\\fs01.{R}\software", to(r"\\sw.{B}\software")),
    ]);
    let empty = GpoFolder::default();
    let input = ApplyInput { folder: &empty, class_store: std::slice::from_ref(&package), dacl: Some(&dacl) };
    let applied =
        apply(input, &options(Some(&table)), Lookups { source: &corp(), target: &branch_principals() }).unwrap();
    let object = &applied.class_store[0];
    let list = attribute_values(object, MSI_FILE_LIST);
    assert_eq!(list, [AttributeValue::Text(format!(r"0:\\sw.{BRANCH}\software\7zip\7z2301-x64.msi"))]);
    let sd_bytes = value_bytes(&attribute_values(object, "nTSecurityDescriptor")[0]).unwrap();
    let sd = SecurityDescriptor::from_bytes(&sd_bytes).unwrap();
    let sid = |rid: u32| format!("{B}-{rid}").parse::<Sid>().unwrap();
    assert_eq!(sd.owner, Some(sid(512)));
    let aces: Vec<String> = sd.dacl.as_ref().unwrap().aces.iter().map(|a| a.sid.to_string()).collect();
    // Helpdesk's ACE mapped, GPO Editors' (inherited) dropped.
    assert_eq!(aces, [sid(1105).to_string()]);
    let dacl = applied.dacl.unwrap();
    let aces: Vec<String> = dacl.dacl.as_ref().unwrap().aces.iter().map(|a| a.sid.to_string()).collect();
    assert_eq!(aces, [sid(1107).to_string(), "S-1-5-11".to_string()]);
    assert_eq!(dacl.group, Some(sid(512)));
    // An unchanged descriptor keeps its bytes.
    let keep = MigrationTable::from_rows(vec![row(GlobalGroup, "Helpdesk@{R}", Destination::SameAsSource)]);
    let applied =
        apply(input, &options(Some(&keep)), Lookups { source: &corp(), target: &branch_principals() }).unwrap();
    assert_eq!(applied.class_store[0], package);
}

#[test]
fn destination_lookups_name_what_the_target_must_resolve() {
    let source = seeded_folder();
    let table = corp_to_branch();
    let input = ApplyInput { folder: &source, class_store: &[], dacl: None };
    let (sids, mut names) = destination_lookups(input, &options(Some(&table)), &corp());
    assert!(sids.is_empty());
    names.sort();
    let expected: Vec<String> = [
        "BRANCH\\Branch Users",
        "BRANCH\\Kiosk Operators",
        "Branch Helpdesk@{B}",
        "Domain Admins@{B}",
        "Domain Users@{B}",
        "frank.branch@{B}",
    ]
    .iter()
    .map(|n| n.replace("{B}", BRANCH))
    .collect();
    let mut expected = expected;
    expected.sort();
    assert_eq!(names, expected);
}

#[test]
fn a_command_line_keeps_its_arguments_and_a_name_keeps_its_form() {
    use EntryType::*;
    let folder = GpoFolder {
        entries: vec![
            FolderEntry::File {
                rel_path: "Machine/registry.pol".into(),
                bytes: registry_pol(&[("Software\\Corp", "Run", &format!(r"\\fs01.{REALM}\tools\run.cmd /q"))]),
            },
            FolderEntry::File {
                rel_path: "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf".into(),
                bytes: utf16(&format!(
                    "[Privilege Rights]\nSeBackupPrivilege = {REALM}\\Helpdesk,Helpdesk@{REALM},CORP\\Helpdesk\n"
                )),
            },
        ],
    };
    let table = MigrationTable::from_rows(vec![
        row(UncPath, r"\\fs01.{R}\tools", to(r"\\tools.{B}\bin\")),
        row(GlobalGroup, "Helpdesk@{R}", to("BRANCH\\Branch Helpdesk")),
    ]);
    let input = ApplyInput { folder: &folder, class_store: &[], dacl: None };
    // The target is not asked here: names are written from the destination's text.
    let applied =
        apply(input, &options(Some(&table)), Lookups { source: &corp(), target: &ResolvedPrincipals::new() }).unwrap();
    assert_eq!(
        applied.folder.file("Machine/registry.pol").unwrap(),
        registry_pol(&[("Software\\Corp", "Run", &format!(r"\\tools.{BRANCH}\bin\run.cmd /q"))])
    );
    assert_eq!(
        applied.folder.file("Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf").unwrap(),
        utf16(&format!(
            "[Privilege Rights]\nSeBackupPrivilege = {BRANCH}\\Branch Helpdesk,Branch Helpdesk@{BRANCH},BRANCH\\Branch Helpdesk\n"
        ))
    );
}

#[test]
fn a_destination_a_file_cannot_hold_fails_naming_the_file() {
    use EntryType::*;
    let source = seeded_folder();
    let table = MigrationTable::from_rows(vec![row(UncPath, r"\\fs01.{R}\wallpaper", to("\\\\fs\\wall\u{0}paper"))]);
    let input = ApplyInput { folder: &source, class_store: &[], dacl: None };
    let err =
        apply(input, &options(Some(&table)), Lookups { source: &corp(), target: &branch_principals() }).unwrap_err();
    assert!(matches!(&err, ApplyError::NotWritable(e) if e.file == "Machine/registry.pol"), "{err}");
}
