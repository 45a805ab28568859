//! Each check on an in-memory estate built from a real GPMC backup (the vendored
//! technology-toolbox-fr instance: its security descriptor, its SYSVOL files), changed one
//! problem at a time. The lab run is in tests/check_e2e.rs.

use std::path::{Path, PathBuf};

use chrono::TimeZone;

use super::*;
use crate::formats::backup_xml::BackupXml;
use crate::formats::bkup_info::BackupInfo;
use crate::model::{AttributeValue, Container, ContainerKind, DomainInfo, ExtensionList, GpoFlags, Link, WmiFilter};
use crate::sysvol::read_local_folder;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/gpmc/technology-toolbox-fr/{F5D718B7-BAFD-437F-8195-532AB42E2E13}"
);

fn sample_info() -> BackupInfo {
    BackupInfo::parse(&std::fs::read(Path::new(SAMPLE).join("bkupInfo.xml")).unwrap()).unwrap()
}

/// The sample's GPO as the domain would hold it: its real DACL, versions 3/5.
fn sample_gpo() -> Gpo {
    let backup = BackupXml::parse(&std::fs::read(Path::new(SAMPLE).join("Backup.xml")).unwrap()).unwrap();
    let sd = backup.core.parsed_security_descriptor().unwrap().unwrap();
    let info = sample_info();
    let id: GpoId = info.gpo_guid.parse().unwrap();
    Gpo {
        id,
        dn: format!("CN={id},CN=Policies,CN=System,DC=corp,DC=fabrikam,DC=com"),
        display_name: info.gpo_display_name.clone(),
        version: Version { user: 3, machine: 5 },
        flags: GpoFlags(0),
        functionality_version: Some(2),
        file_sys_path: format!(r"\\corp.fabrikam.com\SysVol\corp.fabrikam.com\Policies\{id}"),
        machine_extensions: ExtensionList::default(),
        user_extensions: ExtensionList::default(),
        wmi_filter_link: None,
        security_descriptor: Some(sd),
        created: None,
        changed: None,
    }
}

fn domain() -> DomainInfo {
    let info = sample_info();
    DomainInfo { dns_name: info.gpo_domain.clone(), guid: info.gpo_domain_guid.clone(), ..Default::default() }
}

/// The sample's SYSVOL files (registry.pol in Machine, fdeploy in User) plus a GPT.INI.
fn sample_folder(version: Version) -> GpoFolder {
    let mut folder = read_local_folder(&Path::new(SAMPLE).join("DomainSysvol/GPO")).unwrap();
    folder.entries.push(FolderEntry::File {
        rel_path: "GPT.INI".into(),
        bytes: format!("[General]\r\nVersion={}\r\n", version.raw()).into_bytes(),
    });
    folder.sort();
    folder
}

use crate::model::FolderEntry;

fn linked(gpos: &[&Gpo], enabled: bool) -> Estate {
    let links = gpos
        .iter()
        .enumerate()
        .map(|(i, g)| Link {
            container_dn: "OU=Staff,DC=corp,DC=fabrikam,DC=com".into(),
            gpo_id: g.id,
            order: i + 1,
            enabled,
            enforced: false,
        })
        .collect();
    Estate {
        domain: domain(),
        gpos: gpos.iter().map(|g| (*g).clone()).collect(),
        containers: vec![Container {
            dn: "OU=Staff,DC=corp,DC=fabrikam,DC=com".into(),
            name: "Staff".into(),
            kind: ContainerKind::OrganizationalUnit,
            blocks_inheritance: false,
            links,
        }],
        wmi_filters: Vec::new(),
    }
}

/// The folder as read, with the NT ACL derived from the GPO's DACL: what a healthy GPO has.
fn healthy_read(gpo: &Gpo, folder: GpoFolder) -> SysvolRead {
    let acl = file_security_from_gpo(&gpo.id, gpo.security_descriptor.as_ref().unwrap()).unwrap();
    SysvolRead::Folder { folder, acl: Ok(acl) }
}

fn kinds(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.problem.kind()).collect()
}

#[test]
fn a_healthy_gpo_has_no_findings() {
    let gpo = sample_gpo();
    let estate = linked(&[&gpo], true);
    let findings = check_gpo(&gpo, &estate, &[], &healthy_read(&gpo, sample_folder(gpo.version)));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn versions_that_differ_are_a_warning_naming_both() {
    let gpo = sample_gpo();
    let estate = linked(&[&gpo], true);
    let sysvol = Version { user: 3, machine: 4 };
    let findings = check_gpo(&gpo, &estate, &[], &healthy_read(&gpo, sample_folder(sysvol)));
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].problem, Problem::VersionMismatch { ad: gpo.version, sysvol: Some(sysvol) });
    assert_eq!(findings[0].severity, Severity::Warning);
    assert_eq!(findings[0].gpo, Some(GpoRef { id: gpo.id, name: Some("Folder Redirection Policy".into()) }));
    assert!(findings[0].what.contains("computer 5") && findings[0].what.contains("computer 4"), "{}", findings[0].what);
}

#[test]
fn a_gpo_without_its_folder_is_an_error() {
    let gpo = sample_gpo();
    let estate = linked(&[&gpo], true);
    let read = SysvolRead::Missing { path: gpo.file_sys_path.clone() };
    let findings = check_gpo(&gpo, &estate, &[], &read);
    assert_eq!(kinds(&findings), ["sysvol_folder_missing"]);
    assert_eq!(findings[0].severity, Severity::Error);
}

#[test]
fn an_nt_acl_other_than_the_dacls_is_reported() {
    let gpo = sample_gpo();
    let estate = linked(&[&gpo], true);
    // The folder's ACL as derived from another DACL: one allow ACE fewer.
    let mut other = gpo.security_descriptor.clone().unwrap();
    let dacl = other.dacl.as_mut().unwrap();
    let at = dacl.aces.iter().position(|a| a.is_allow()).unwrap();
    dacl.aces.remove(at);
    let found = file_security_from_gpo(&gpo.id, &other).unwrap();
    let read = SysvolRead::Folder { folder: sample_folder(gpo.version), acl: Ok(found) };
    let findings = check_gpo(&gpo, &estate, &[], &read);
    assert_eq!(kinds(&findings), ["nt_acl_mismatch"]);
    let Problem::NtAclMismatch { expected, found } = &findings[0].problem else { unreachable!() };
    assert_ne!(expected, found);

    let unreadable = SysvolRead::Folder { folder: sample_folder(gpo.version), acl: Err("access denied".into()) };
    assert_eq!(kinds(&check_gpo(&gpo, &estate, &[], &unreadable)), ["nt_acl_unreadable"]);
}

#[test]
fn links_unlinked_all_disabled_and_to_missing_gpos() {
    let gpo = sample_gpo();
    let read = healthy_read(&gpo, sample_folder(gpo.version));
    let nowhere = Estate { domain: domain(), gpos: vec![gpo.clone()], ..Default::default() };
    assert_eq!(kinds(&check_gpo(&gpo, &nowhere, &[], &read)), ["not_linked"]);

    let disabled = linked(&[&gpo], false);
    let findings = check_gpo(&gpo, &disabled, &[], &read);
    assert_eq!(kinds(&findings), ["all_links_disabled"]);
    assert_eq!(findings[0].severity, Severity::Info);

    // A link to a GPO that is not in the estate.
    let ghost = Gpo { id: GpoId::new_random(), ..gpo.clone() };
    let mut estate = linked(&[&gpo, &ghost], true);
    estate.gpos.retain(|g| g.id == gpo.id);
    let findings = check_estate(&estate, &[gpo.id.to_string()]);
    assert_eq!(kinds(&findings), ["link_to_missing_gpo"]);
    assert_eq!(findings[0].gpo, Some(GpoRef { id: ghost.id, name: None }));
    assert_eq!(
        findings[0].problem,
        Problem::LinkToMissingGpo { container: "OU=Staff,DC=corp,DC=fabrikam,DC=com".into() }
    );
}

#[test]
fn folders_no_gpo_owns_are_orphans_and_other_names_are_not() {
    let gpo = sample_gpo();
    let estate = linked(&[&gpo], true);
    let orphan = GpoId::new_random();
    // SMB lists names in whatever case the folder was made with.
    let folders = [gpo.id.to_string().to_lowercase(), orphan.to_string(), "PolicyDefinitions".into()];
    let findings = check_estate(&estate, &folders);
    assert_eq!(kinds(&findings), ["orphan_folder"]);
    assert_eq!(findings[0].gpo, Some(GpoRef { id: orphan, name: None }));
    assert_eq!(findings[0].severity, Severity::Warning);

    // What an interrupted replacement left beside a GPO's folder is named as such, on its GPO.
    let leftover = format!("gpvault-new.{}.1a2b3c4d", gpo.id);
    let folders = [gpo.id.to_string(), leftover.clone(), "gpvault-new.not-a-guid.1a2b".into()];
    let findings = check_estate(&estate, &folders);
    assert_eq!(kinds(&findings), ["replacement_leftover"]);
    assert_eq!(findings[0].gpo, Some(GpoRef { id: gpo.id, name: Some(gpo.display_name.clone()) }));
    assert!(findings[0].what.contains(&leftover), "{}", findings[0].what);
}

#[test]
fn a_gpo_with_only_gpt_ini_and_empty_files_has_no_settings_unless_it_installs_software() {
    let mut gpo = sample_gpo();
    gpo.version = Version::default();
    let estate = linked(&[&gpo], true);
    let folder = GpoFolder {
        entries: vec![
            FolderEntry::File { rel_path: "GPT.INI".into(), bytes: b"[General]\r\nVersion=0\r\n".to_vec() },
            FolderEntry::Dir { rel_path: "Machine".into() },
            // An empty registry.pol: the header and no entry.
            FolderEntry::File { rel_path: "Machine/registry.pol".into(), bytes: b"PReg\x01\0\0\0".to_vec() },
            FolderEntry::File { rel_path: "Machine/comment.cmtx".into(), bytes: b"<policyComments/>".to_vec() },
            FolderEntry::Dir { rel_path: "User".into() },
        ],
    };
    let read = healthy_read(&gpo, folder);
    assert_eq!(kinds(&check_gpo(&gpo, &estate, &[], &read)), ["no_settings"]);

    let store = DirectoryObject {
        dn: format!("CN=Class Store,CN=Machine,{}", gpo.dn),
        attributes: BTreeMap::from([("objectClass".into(), vec![AttributeValue::Text("classStore".into())])]),
    };
    assert!(check_gpo(&gpo, &estate, &[store], &read).is_empty());
}

#[test]
fn a_disabled_half_that_holds_settings_is_named_with_its_files() {
    let mut gpo = sample_gpo();
    gpo.flags = GpoFlags(1); // user half disabled; the sample's User half has fdeploy files
    let estate = linked(&[&gpo], true);
    let findings = check_gpo(&gpo, &estate, &[], &healthy_read(&gpo, sample_folder(gpo.version)));
    assert_eq!(kinds(&findings), ["disabled_half_holds_settings"]);
    let Problem::DisabledHalfHoldsSettings { half, files } = &findings[0].problem else { unreachable!() };
    assert_eq!(*half, GpoSide::User);
    assert!(files.iter().all(|f| f.starts_with("User/")) && !files.is_empty(), "{files:?}");
    assert!(files.iter().any(|f| f.ends_with("fdeploy.ini")), "{files:?}");

    gpo.flags = GpoFlags(3);
    let findings = check_gpo(&gpo, &estate, &[], &healthy_read(&gpo, sample_folder(gpo.version)));
    assert_eq!(kinds(&findings), ["disabled_half_holds_settings", "disabled_half_holds_settings"]);
}

#[test]
fn a_dacl_without_apply_group_policy_for_anyone_means_nobody_applies_it() {
    let mut gpo = sample_gpo();
    assert!(can_be_applied(gpo.security_descriptor.as_ref().unwrap()), "the sample applies to Authenticated Users");
    // Security filtering emptied: every trustee that had Apply Group Policy loses all its ACEs.
    let applying = trustees_with_apply(gpo.security_descriptor.as_ref().unwrap());
    assert!(!applying.is_empty());
    let dacl = gpo.security_descriptor.as_mut().unwrap().dacl.as_mut().unwrap();
    dacl.aces.retain(|a| !applying.contains(&a.sid));
    let estate = linked(&[&gpo], true);
    let read = healthy_read(&gpo, sample_folder(gpo.version));
    let findings = check_gpo(&gpo, &estate, &[], &read);
    assert_eq!(kinds(&findings), ["nobody_can_apply"]);
    assert_eq!(findings[0].severity, Severity::Warning);
}

fn trustees_with_apply(sd: &SecurityDescriptor) -> Vec<crate::model::Sid> {
    sd.gpo_delegation()
        .into_iter()
        .filter(|p| p.access == GpoAccess::ApplyGroupPolicy && p.permission_type == PermissionType::Allow)
        .map(|p| p.trustee)
        .collect()
}

/// A Groups.xml as GPMC wrote them before MS14-025: a local user with a password.
const SECRET: &str = "j1Uyj3Vx8TY9LtLZil2uAuZkFQA/4latT76ZwgdHdhw";

fn groups_xml_with_password() -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Groups clsid="{{3125E937-EB16-4b4c-9934-544FC6D24D26}}"><User clsid="{{DF5F1855-51E5-4d24-8B1A-D9BDE98BA1D1}}" name="LocalSupport" image="2" changed="2013-07-04 00:07:13" uid="{{47F24835-4B58-4E48-A749-5A9F5AFB7CEF}}"><Properties action="U" newName="" fullName="" description="" cpassword="{SECRET}" changeLogon="0" noChange="1" neverExpires="1" acctDisabled="0" userName="LocalSupport"/></User><Group clsid="{{6D4A79E4-529C-4481-ABD0-F5BD7EA93BA7}}" name="Administrators (built-in)" image="2" changed="2013-07-04 00:07:13" uid="{{1E1A3B4C-2B2C-4E1D-9A8D-2D1B1C7A9E11}}"><Properties action="U" groupSid="S-1-5-32-544" groupName="Administrators (built-in)"/></Group></Groups>"#
    )
    .into_bytes()
}

#[test]
fn a_stored_password_names_file_and_item_and_never_the_value() {
    let gpo = sample_gpo();
    let estate = linked(&[&gpo], true);
    let mut folder = sample_folder(gpo.version);
    folder.entries.push(FolderEntry::File {
        rel_path: "Machine/Preferences/Groups/Groups.xml".into(),
        bytes: groups_xml_with_password(),
    });
    folder.sort();
    let findings = check_gpo(&gpo, &estate, &[], &healthy_read(&gpo, folder));
    assert_eq!(kinds(&findings), ["stored_password"]);
    let finding = &findings[0];
    assert_eq!(finding.severity, Severity::Error);
    let Problem::StoredPassword { file, item } = &finding.problem else { unreachable!() };
    assert_eq!(file, "Machine/Preferences/Groups/Groups.xml");
    assert!(item.starts_with("User \"LocalSupport\""), "{item}");
    let json = serde_json::to_string(&findings).unwrap();
    assert!(json.contains("LocalSupport") && json.contains("Groups.xml"), "{json}");
    assert!(!json.contains(SECRET) && !format!("{finding:?}").contains(SECRET), "the password leaked: {json}");
}

#[test]
fn an_adm_folder_is_counted_and_sized() {
    let gpo = sample_gpo();
    let estate = linked(&[&gpo], true);
    let mut folder = sample_folder(gpo.version);
    folder.entries.push(FolderEntry::Dir { rel_path: "Adm".into() });
    folder.entries.push(FolderEntry::File { rel_path: "Adm/system.adm".into(), bytes: vec![b'x'; 4000] });
    folder.entries.push(FolderEntry::File { rel_path: "Adm/inetres.adm".into(), bytes: vec![b'y'; 96] });
    let findings = check_gpo(&gpo, &estate, &[], &healthy_read(&gpo, folder));
    assert_eq!(
        findings.iter().map(|f| &f.problem).collect::<Vec<_>>(),
        [&Problem::LegacyAdmFolder { files: 2, bytes: 4096 }]
    );
}

#[test]
fn wmi_filters_missing_and_unused() {
    let mut gpo = sample_gpo();
    let filter = |id: &str, name: &str| WmiFilter {
        id: id.into(),
        dn: String::new(),
        name: name.into(),
        description: String::new(),
        query: String::new(),
        author: String::new(),
        created: String::new(),
        changed: String::new(),
    };
    let used = "{8D3B4C66-61E2-4CE1-9E5B-0E6C5B1D3A01}";
    let mut estate = linked(&[&gpo], true);
    estate.wmi_filters = vec![filter(used, "Laptops"), filter("{0B0B0B0B-0000-4000-8000-000000000001}", "Old")];
    gpo.wmi_filter_link = Some(format!("[corp.fabrikam.com;{};0]", used.to_lowercase()));
    estate.gpos = vec![gpo.clone()];
    let read = healthy_read(&gpo, sample_folder(gpo.version));
    assert!(check_gpo(&gpo, &estate, &[], &read).is_empty());
    let findings = check_estate(&estate, &[]);
    assert_eq!(kinds(&findings), ["wmi_filter_unused"]);
    assert_eq!(findings[0].gpo, None);
    assert!(findings[0].what.contains("'Old'"), "{}", findings[0].what);

    gpo.wmi_filter_link = Some("[corp.fabrikam.com;{0C0C0C0C-0000-4000-8000-000000000002};0]".into());
    let findings = check_gpo(&gpo, &estate, &[], &read);
    assert_eq!(
        findings[0].problem,
        Problem::WmiFilterMissing { filter_id: "{0C0C0C0C-0000-4000-8000-000000000002}".into() }
    );
}

/// A backup folder holding a copy of the GPMC sample instance.
fn backup_folder() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let instance = dir.path().join("{F5D718B7-BAFD-437F-8195-532AB42E2E13}");
    copy_tree(Path::new(SAMPLE), &instance);
    (dir, instance)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn backups_never_taken_too_old_and_damaged() {
    let (dir, instance) = backup_folder();
    let backed_up = sample_gpo();
    let never = Gpo { id: GpoId::new_random(), display_name: "Never Backed Up".into(), ..sample_gpo() };
    let estate = linked(&[&backed_up, &never], true);
    let read = read_backups(dir.path()).unwrap();
    // The sample was taken 2025-05-14T14:33:47.
    let now = Utc.with_ymd_and_hms(2025, 6, 14, 14, 0, 0).unwrap();

    let findings = check_backups(&estate, &read, now, None);
    assert_eq!(kinds(&findings), ["never_backed_up"]);
    assert_eq!(findings[0].gpo.as_ref().map(|g| g.id), Some(never.id));

    let findings = check_backups(&estate, &read, now, Some(29));
    assert_eq!(kinds(&findings), ["backup_too_old", "never_backed_up"]);
    let Problem::BackupTooOld { age_days, backup_id, .. } = &findings[0].problem else { unreachable!() };
    assert_eq!((*age_days, backup_id.as_str()), (30, "{F5D718B7-BAFD-437F-8195-532AB42E2E13}"));
    assert_eq!(kinds(&check_backups(&estate, &read, now, Some(30))), ["never_backed_up"]);

    // Another domain's backup of a GPO with the same GUID does not count.
    let mut elsewhere = estate.clone();
    elsewhere.domain = DomainInfo { dns_name: "branch.example.test".into(), ..Default::default() };
    assert_eq!(kinds(&check_backups(&elsewhere, &read, now, None)), ["never_backed_up", "never_backed_up"]);

    // A file Backup.xml lists is gone: verification fails, naming the instance.
    std::fs::remove_file(instance.join("DomainSysvol/GPO/Machine/registry.pol")).unwrap();
    let read = read_backups(dir.path()).unwrap();
    let findings = check_backups(&estate, &read, now, None);
    assert_eq!(kinds(&findings), ["never_backed_up", "backup_fails_verification"]);
    assert_eq!(findings[1].severity, Severity::Error);
    assert!(findings[1].what.contains("registry.pol"), "{}", findings[1].what);
}

#[test]
fn the_report_needs_attention_from_warnings_on_and_sorts_worst_first() {
    let gpo = sample_gpo();
    let mut report = CheckReport {
        findings: vec![Finding::new(Some(GpoRef::of(&gpo)), Problem::NotLinked)],
        gpos_checked: 1,
        ..Default::default()
    };
    assert!(!report.needs_attention(), "notes alone do not fail the check");
    report.findings.push(Finding::new(None, Problem::OrphanFolder { folder: "{X}".into() }));
    report.findings.push(Finding::new(Some(GpoRef::of(&gpo)), Problem::SysvolFolderMissing { path: "p".into() }));
    report.sort();
    assert!(report.needs_attention());
    let severities: Vec<Severity> = report.findings.iter().map(|f| f.severity).collect();
    assert_eq!(severities, [Severity::Error, Severity::Warning, Severity::Info]);
    assert_eq!(report.counts(), "1 GPO checked: 1 error, 1 warning, 1 note");
    let json = serde_json::to_value(&report.findings[0]).unwrap();
    assert_eq!(json["check"], "sysvol_folder_missing");
    assert_eq!(json["severity"], "error");
    assert_eq!(json["gpo"]["id"], gpo.id.to_string());
}

#[test]
fn fixes_and_descriptions_never_name_command_line_flags() {
    let problems = [
        Problem::NeverBackedUp,
        Problem::BackupTooOld { backup_id: "{B}".into(), backup_time: "t".into(), age_days: 9, max_age_days: 1 },
        Problem::NtAclMismatch { expected: "a".into(), found: "b".into() },
        Problem::StoredPassword { file: "f".into(), item: "i".into() },
    ];
    for problem in problems {
        assert!(!problem.fix().contains("--") && !problem.what().contains("--"), "{problem:?}");
    }
}
