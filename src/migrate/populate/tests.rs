use super::*;
use crate::migrate::principals::ResolvedPrincipals;
use crate::migrate::references::tests::{registry_pol, utf16};
use crate::model::security::ace_flags;
use crate::model::security::ace_type;
use crate::model::{Ace, Acl, AttributeValue, DirectoryObject, FolderEntry, GpoFolder, SecurityDescriptor, Sid};

pub(crate) const D: &str = "S-1-5-21-2547487806-3473117116-509599669";
pub(crate) const REALM: &str = "corp.example.test";

fn principal(rid: u32, sam: &str, kind: &str) -> Principal {
    Principal {
        sid: format!("{D}-{rid}").parse().unwrap(),
        sam_account_name: sam.into(),
        kind: kind.into(),
        netbios_domain: "CORP".into(),
        dns_domain: REALM.into(),
        upn: None,
    }
}

/// The corp domain as the lab seeds it (scripts/seed_gpos.py), less what these tests leave out.
pub(crate) fn corp() -> ResolvedPrincipals {
    let mut resolved = ResolvedPrincipals::new();
    resolved.add([
        principal(512, "Domain Admins", "GlobalGroup"),
        principal(513, "Domain Users", "GlobalGroup"),
        principal(519, "Enterprise Admins", "UniversalGroup"),
        principal(1108, "GPO Editors", "GlobalGroup"),
        principal(1109, "Helpdesk", "GlobalGroup"),
        principal(1110, "Finance Users", "GlobalGroup"),
        principal(1111, "Workstation Admins", "GlobalGroup"),
    ]);
    let administrators = Principal {
        sid: "S-1-5-32-544".parse().unwrap(),
        sam_account_name: "Administrators".into(),
        kind: "LocalGroup".into(),
        netbios_domain: "BUILTIN".into(),
        dns_domain: REALM.into(),
        upn: None,
    };
    resolved.add_named([
        ("CORP\\dave.admin".to_string(), principal(1107, "dave.admin", "User")),
        // A bare name secedit wrote for a built-in group: the same in every domain.
        ("Administrators".to_string(), administrators),
    ]);
    resolved
}

fn file(rel_path: &str, bytes: Vec<u8>) -> FolderEntry {
    FolderEntry::File { rel_path: rel_path.into(), bytes }
}

/// Settings of the lab's GPOs (seed_gpos.py), one file of each kind.
pub(crate) fn seeded_folder() -> GpoFolder {
    let inf = format!(
        "[Unicode]\nUnicode=yes\n[Privilege Rights]\nSeRemoteInteractiveLogonRight = *S-1-5-32-544,*S-1-5-32-555,*{D}-1109\n\
         SeDenyNetworkLogonRight = *S-1-5-32-546,*{D}-4242\nSeBackupPrivilege = CORP\\dave.admin,svc_backup,Administrators\n\
         [Group Membership]\n*S-1-5-32-544__Members = *{D}-512,*{D}-1111\n\
         [Registry Keys]\n\"MACHINE\\SOFTWARE\\Corp\\Agent\",0,\"D:PAR(A;CI;KA;;;BA)(A;CI;KR;;;{D}-1109)\"\n\
         [Version]\nsignature=\"$CHICAGO$\"\nRevision=1\n"
    );
    let drives = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Drives clsid="{{8FDDCC1A-0C3C-43cd-A6B4-71A6DF20DA8C}}"><Drive clsid="{{935D1B74-9CB8-4e3c-9914-7DD559B7A417}}" name="F:" uid="{{1}}"><Properties action="U" path="\\fs01.{REALM}\finance" label="Finance" letter="F"/><Filters><FilterGroup bool="AND" not="0" name="CORP\Finance Users" sid="{D}-1110" userContext="1"/></Filters></Drive><Drive clsid="{{935D1B74-9CB8-4e3c-9914-7DD559B7A417}}" name="R:" uid="{{2}}"><Properties action="U" path="\\FS01.{REALM}\Finance" label="Finance" letter="R"/></Drive></Drives>"#
    );
    let groups = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Groups clsid="{{3125E937-EB16-4b4c-9934-544FC6D24D26}}"><Group clsid="{{6D4A79E4-529C-4481-ABD0-F5BD7EA93BA7}}" name="Administrators (built-in)" uid="{{3}}"><Properties action="U" groupSid="S-1-5-32-544" groupName="Administrators (built-in)"><Members><Member name="CORP\Helpdesk" action="ADD" sid="{D}-1109"/><Member name="CORP\Gone Group" action="ADD" sid=""/></Members></Properties></Group></Groups>"#
    );
    let fdeploy1 = format!(
        "\n     \n[version]\nversion=100\n[Folder_Redirection]\n{{FDD39AD0-238F-46AF-ADB4-6C85480369C7}}={D}-1110;{D}-513;\n\
         [{{FDD39AD0-238F-46AF-ADB4-6C85480369C7}}_{D}-1110]\nFlags=1021\nFullPath=\\\\fs01.{REALM}\\finance-home\\%USERNAME%\\Documents\n\
         [{{FDD39AD0-238F-46AF-ADB4-6C85480369C7}}_{D}-513]\nFlags=1021\nFullPath=\\\\fs01.{REALM}\\home\\%USERNAME%\\Documents\n"
    );
    let scripts = format!(
        "\n[Logon]\n0CmdLine=\\\\{REALM}\\NETLOGON\\logon.cmd\n0Parameters=\n1CmdLine=map-printers.cmd\n1Parameters=/site HQ\n\
         [Logoff]\n0CmdLine=\\\\{REALM}\\NETLOGON\\logoff.cmd\n0Parameters=\n"
    );
    let mut aas = b"AAS\x01\x00\x02\x00\x00".to_vec();
    aas.extend(
        format!("7-Zip\0\\\\fs01.{REALM}\\software\\7zip\\7z2301-x64.msi\0").encode_utf16().flat_map(u16::to_le_bytes),
    );
    GpoFolder {
        entries: vec![
            file("Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf", utf16(&inf)),
            file("Machine/Preferences/Groups/Groups.xml", groups.into_bytes()),
            file(
                "Machine/registry.pol",
                registry_pol(&[(
                    "Software\\Policies\\Corp",
                    "Wallpaper",
                    &format!("\\\\fs01.{REALM}\\wallpaper\\corp.jpg"),
                )]),
            ),
            file("Machine/Applications/{0D4B9C21}.aas", aas),
            file("User/Preferences/Drives/Drives.xml", drives.into_bytes()),
            file("User/Documents & Settings/fdeploy1.ini", utf16(&fdeploy1)),
            file("User/Scripts/scripts.ini", utf16(&scripts)),
            file("User/Scripts/Logon/map-printers.cmd", b"net use \\\\print01\\HQ\r\n".to_vec()),
        ],
    }
}

fn rows(table: &MigrationTable) -> Vec<(EntryType, String)> {
    table.rows().iter().map(|m| (m.entry_type, m.source.clone())).collect()
}

fn sid(rid: u32) -> Sid {
    format!("{D}-{rid}").parse().unwrap()
}

pub(crate) fn package_and_dacl() -> (DirectoryObject, SecurityDescriptor) {
    let ace = |rid: u32, flags: u8| Ace {
        ace_type: ace_type::ACCESS_ALLOWED,
        flags,
        mask: 0x20094,
        object_type: None,
        inherited_object_type: None,
        sid: sid(rid),
        trailing: vec![],
    };
    let package_sd = SecurityDescriptor::from_parts(
        0,
        Some(sid(512)),
        Some(sid(512)),
        None,
        Some(Acl::new(vec![ace(1109, 0), ace(1108, ace_flags::INHERITED)])),
    );
    let package = DirectoryObject {
        dn: "CN={0D4B9C21},CN=Packages,CN=Class Store,CN=Machine,CN={X},CN=Policies,CN=System,DC=corp".to_string(),
        attributes: [
            (
                "msiFileList".to_string(),
                vec![AttributeValue::Text(format!("0:\\\\fs01.{REALM}\\software\\7zip\\7z2301-x64.msi"))],
            ),
            ("nTSecurityDescriptor".to_string(), vec![AttributeValue::from_bytes(package_sd.raw.clone())]),
        ]
        .into_iter()
        .collect(),
    };
    let dacl = SecurityDescriptor::from_parts(
        0,
        Some(sid(512)),
        Some(sid(512)),
        None,
        Some(Acl::new(vec![ace(519, 0), ace(1108, 0), Ace { sid: "S-1-5-11".parse().unwrap(), ..ace(1, 0) }])),
    );
    (package, dacl)
}

#[test]
fn a_gpo_gives_one_row_per_principal_and_path_as_gpmc_writes_them() {
    let (package, dacl) = package_and_dacl();
    let mut references = GpoReferences::of_folder(&seeded_folder());
    references.add_class_store(std::slice::from_ref(&package));
    references.add_dacl(&dacl);
    let populated = populate(&references, &[], &corp(), PopulateOptions::default());
    use EntryType::*;
    let unc = |p: &str| (UncPath, p.replace("{R}", REALM));
    let expected = vec![
        (Unknown, "CORP\\Gone Group".to_string()),
        (User, format!("dave.admin@{REALM}")),
        (GlobalGroup, format!("Domain Admins@{REALM}")),
        (GlobalGroup, format!("Domain Users@{REALM}")),
        (GlobalGroup, format!("Finance Users@{REALM}")),
        (GlobalGroup, format!("Helpdesk@{REALM}")),
        (Unknown, format!("{D}-4242")),
        (Unknown, "svc_backup".to_string()),
        (GlobalGroup, format!("Workstation Admins@{REALM}")),
        unc(r"\\{R}\NETLOGON"),
        unc(r"\\fs01.{R}\finance"),
        unc(r"\\fs01.{R}\finance-home\%USERNAME%\Documents"),
        unc(r"\\fs01.{R}\home\%USERNAME%\Documents"),
        unc(r"\\fs01.{R}\software\7zip"),
        unc(r"\\fs01.{R}\wallpaper\corp.jpg"),
    ];
    assert_eq!(rows(&populated.table), expected);
    assert!(populated.table.rows().iter().all(|m| m.destination == Destination::SameAsSource));
    let mut unresolved = populated.unresolved.clone();
    unresolved.sort();
    assert_eq!(unresolved, ["CORP\\Gone Group".to_string(), format!("{D}-4242"), "svc_backup".to_string()]);
    assert!(populated.table.validate().is_empty(), "{:?}", populated.table.validate());

    // With the DACL: its principals and the package's too.
    let with_dacl = populate(&references, &[], &corp(), PopulateOptions { with_dacl: true });
    let added: Vec<(EntryType, String)> =
        rows(&with_dacl.table).into_iter().filter(|r| !expected.contains(r)).collect();
    assert_eq!(
        added,
        [(UniversalGroup, format!("Enterprise Admins@{REALM}")), (GlobalGroup, format!("GPO Editors@{REALM}"))]
    );
}

#[test]
fn a_backup_adds_its_file_paths_and_what_it_could_not_name_stays_free_text() {
    let references = GpoReferences::of_folder(&seeded_folder());
    let file_paths = [r"\\FAB-FS01\Users$\%USERNAME%\Desktop".to_string(), format!(r"\\fs01.{REALM}\FINANCE")];
    let populated = populate(&references, &file_paths, &ResolvedPrincipals::new(), PopulateOptions::default());
    let table = rows(&populated.table);
    assert!(table.contains(&(EntryType::UncPath, r"\\FAB-FS01\Users$\%USERNAME%\Desktop".to_string())));
    // Known already, in another case: one row.
    assert_eq!(table.iter().filter(|(_, s)| s.eq_ignore_ascii_case(&format!(r"\\fs01.{REALM}\finance"))).count(), 1);
    // Nothing resolved: SIDs as SIDs, names as written, all Unknown.
    for (kind, source) in table.iter().filter(|(k, _)| *k != EntryType::UncPath) {
        assert_eq!(*kind, EntryType::Unknown, "{source}");
    }
    assert!(table.iter().any(|(_, s)| *s == format!("{D}-1109")));
    // A name beside its SID is the SID's row, not a second one.
    assert!(!table.iter().any(|(_, s)| s == "CORP\\Helpdesk" || s == "CORP\\Finance Users"), "{table:?}");
    assert!(table.iter().any(|(_, s)| s == "CORP\\dave.admin"));
}

#[test]
fn unreadable_files_are_named() {
    let folder = GpoFolder { entries: vec![file("User/registry.pol", b"not a pol".to_vec())] };
    let populated = populate(&GpoReferences::of_folder(&folder), &[], &corp(), PopulateOptions::default());
    assert!(populated.table.is_empty());
    assert_eq!(populated.unreadable, ["User/registry.pol"]);
}
