use super::*;
use crate::model::security::{ace_flags, ace_type};
use crate::model::{Ace, Acl, FolderEntry};

const DOMAIN: &str = "S-1-5-21-2547487806-3473117116-509599669";

/// UTF-16LE with BOM and CRLF, as secedit writes GptTmpl.inf (built here, as seed_gpos.py does).
pub(crate) fn utf16(text: &str) -> Vec<u8> {
    let text = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let mut out = vec![0xFF, 0xFE];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

/// registry.pol (PReg v1) with REG_SZ values, as seed_gpos.py's `preg` writes it.
pub(crate) fn registry_pol(values: &[(&str, &str, &str)]) -> Vec<u8> {
    let u = |s: &str| s.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
    let mut out = b"PReg\x01\x00\x00\x00".to_vec();
    for (key, name, data) in values {
        let data = u(&format!("{data}\0"));
        out.extend(u("["));
        out.extend(u(&format!("{key}\0")));
        out.extend(u(";"));
        out.extend(u(&format!("{name}\0")));
        out.extend(u(";"));
        out.extend(1u32.to_le_bytes());
        out.extend(u(";"));
        out.extend((data.len() as u32).to_le_bytes());
        out.extend(u(";"));
        out.extend(data);
        out.extend(u("]"));
    }
    out
}

fn file(rel_path: &str, bytes: Vec<u8>) -> FolderEntry {
    FolderEntry::File { rel_path: rel_path.into(), bytes }
}

fn sid(rid: u32) -> Sid {
    format!("{DOMAIN}-{rid}").parse().unwrap()
}

/// A Groups.xml whose first member has its SID, whose second was left unresolved (empty sid),
/// and whose group has its SID before its name, as GPMC writes `groupSid` / `groupName`.
fn groups_xml() -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Groups clsid="{{3125E937-EB16-4b4c-9934-544FC6D24D26}}"><Group clsid="{{6D4A79E4-529C-4481-ABD0-F5BD7EA93BA7}}" name="Administrators (built-in)" uid="{{A}}"><Properties action="U" groupSid="S-1-5-32-544" groupName="Administrators (built-in)"><Members><Member name="CORP\Helpdesk" action="ADD" sid="{DOMAIN}-1109"/><Member name="CORP\Old Group" action="ADD" sid=""/><Member name="CORP\Workstation Admins" action="ADD" sid="{DOMAIN}-1111"/></Members></Properties></Group></Groups>"#
    )
    .into_bytes()
}

#[test]
fn names_pair_with_the_sid_of_their_own_element() {
    let folder = GpoFolder { entries: vec![file("Machine/Preferences/Groups/Groups.xml", groups_xml())] };
    let refs = GpoReferences::of_folder(&folder);
    assert!(refs.unreadable.is_empty(), "{:?}", refs.unreadable);
    let names: Vec<(&str, Option<String>)> = refs
        .found
        .iter()
        .filter(|r| r.kind() == ReferenceKind::AccountName)
        .map(|r| (r.value(), r.paired_sid.as_ref().map(Sid::to_string)))
        .collect();
    assert_eq!(
        names,
        [
            ("Administrators (built-in)", Some("S-1-5-32-544".to_string())),
            ("CORP\\Helpdesk", Some(format!("{DOMAIN}-1109"))),
            ("CORP\\Old Group", None),
            ("CORP\\Workstation Admins", Some(format!("{DOMAIN}-1111"))),
        ]
    );
    // The built-in group's name is as local as its SID; the unresolved member stands alone.
    let needing: Vec<&str> = refs.found.iter().filter(|r| r.needs_mapping()).map(|r| r.value()).collect();
    assert!(!needing.contains(&"Administrators (built-in)"), "{needing:?}");
    assert_eq!(refs.account_names(), ["CORP\\Old Group"]);
    assert_eq!(refs.domain_sids(), [sid(1109), sid(1111)]);
}

#[test]
fn what_needs_mapping() {
    let reference = |kind: ReferenceKind, value: &str| {
        GpoReference::new(
            Origin::Settings,
            Reference { kind, value: value.into(), file: "f".into(), at: "a".into(), attribute: "k".into() },
        )
    };
    use ReferenceKind::*;
    let cases = [
        (Sid, format!("{DOMAIN}-1109"), true),
        (Sid, format!("{DOMAIN}-512"), true),
        (Sid, "S-1-5-32-544".to_string(), false),
        (Sid, "S-1-1-0".to_string(), false),
        (Sid, "S-1-5-11".to_string(), false),
        (Sid, "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464".to_string(), false),
        (AccountName, "CORP\\Helpdesk".to_string(), true),
        (AccountName, "helpdesk@corp.example.test".to_string(), true),
        (AccountName, "svc_backup".to_string(), true),
        (AccountName, "BUILTIN\\Administrators".to_string(), false),
        (AccountName, "NT AUTHORITY\\SYSTEM".to_string(), false),
        (AccountName, "nt service\\ALL SERVICES".to_string(), false),
        (AccountName, "%LogonDomain%\\%LogonUser%".to_string(), false),
        (UncPath, r"\\fs01.corp.example.test\finance".to_string(), true),
        (UncPath, r"\\%LOGONSERVER%\NETLOGON\logon.cmd".to_string(), false),
        (Path, r"%ProgramFiles%\Corp".to_string(), false),
    ];
    for (kind, value, expected) in cases {
        assert_eq!(reference(kind, &value).needs_mapping(), expected, "{kind:?} {value}");
    }
}

#[test]
fn a_folder_gives_every_readers_references_and_names_what_it_cannot_read() {
    let inf = format!(
        "[Unicode]\nUnicode=yes\n[Privilege Rights]\nSeRemoteInteractiveLogonRight = *S-1-5-32-544,*{DOMAIN}-1109,CORP\\jdoe\n\
         [Service General Setting]\n\"Spooler\",2,\"D:AR(A;;CCLCSWRPWPDTLOCRRC;;;{DOMAIN}-1111)\"\n\
         [Version]\nsignature=\"$CHICAGO$\"\nRevision=1\n"
    );
    let folder = GpoFolder {
        entries: vec![
            FolderEntry::Dir { rel_path: "Machine".into() },
            file("Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf", utf16(&inf)),
            file(
                "Machine/registry.pol",
                registry_pol(&[("Software\\Policies\\Corp", "Share", r"\\fs01.corp.example.test\tools\run.cmd /q")]),
            ),
            file("User/registry.pol", b"PReg\x01\x00\x00\x00[broken".to_vec()),
            file("Machine/Scripts/Startup/setup.cmd", b"net use \\\\fs01\\x".to_vec()),
        ],
    };
    let refs = GpoReferences::of_folder(&folder);
    assert_eq!(refs.unreadable.len(), 1);
    assert!(refs.unreadable[0].to_string().starts_with("User/registry.pol"), "{}", refs.unreadable[0]);
    let mapped: Vec<(ReferenceKind, &str, &str)> = refs
        .found
        .iter()
        .filter(|r| r.needs_mapping())
        .map(|r| (r.kind(), r.value(), r.reference.file.as_str()))
        .collect();
    let inf_path = "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf";
    let sid_1109 = format!("{DOMAIN}-1109");
    let sid_1111 = format!("{DOMAIN}-1111");
    assert_eq!(
        mapped,
        [
            (ReferenceKind::Sid, sid_1109.as_str(), inf_path),
            (ReferenceKind::AccountName, "CORP\\jdoe", inf_path),
            (ReferenceKind::Sid, sid_1111.as_str(), inf_path),
            // A whole value that starts with a path is offered whole, arguments included.
            (ReferenceKind::UncPath, r"\\fs01.corp.example.test\tools\run.cmd /q", "Machine/registry.pol"),
        ]
    );
    assert!(refs.found.iter().all(|r| r.origin == Origin::Settings));
    let (path, rest) = split_unc(mapped[3].1).unwrap();
    assert_eq!((path.to_string().as_str(), rest), (r"\\fs01.corp.example.test\tools\run.cmd", " /q"));
    assert!(split_unc(r"\\lonely /q").is_none());
    let (path, rest) = split_unc(r"\\fs\home\%USERNAME%\My Documents").unwrap();
    assert_eq!((path.rest.len(), rest), (2, ""));
    assert_eq!(refs.account_names(), ["CORP\\jdoe"]);
}

/// A stand-in advertise script as seed_gpos.py's `aas_blob` makes it: a binary header, the
/// product, its code and the installer path as UTF-16 strings, then noise.
#[test]
fn advertise_scripts_give_their_installer_path_and_nothing_from_noise() {
    let msi = r"\\fs01.corp.example.test\software\7zip\7z2301-x64.msi";
    let body: Vec<u8> = ["7-Zip 23.01 (x64 edition)", "{23170F69-40C1-2702-2301-000001000000}", msi]
        .iter()
        .flat_map(|s| format!("{s}\0").encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>())
        .collect();
    // A fixed linear congruential sequence: noise that still contains backslashes and letters.
    let mut state: u32 = 12345;
    let noise: Vec<u8> = (0..20_000)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (state >> 16) as u8
        })
        .collect();
    let mut blob = b"AAS\x01".to_vec();
    blob.extend([0x00, 0x02, 0, 0]);
    blob.extend((body.len() as u32).to_le_bytes());
    blob.extend((noise.len() as u32).to_le_bytes());
    blob.extend(&body);
    blob.extend(&noise);
    assert_eq!(advertise_script_paths(&blob), [msi]);
    // At an odd offset, and as 8-bit text, too.
    let mut odd = vec![0u8];
    odd.extend(&blob);
    assert_eq!(advertise_script_paths(&odd), [msi]);
    assert_eq!(advertise_script_paths(format!("x\0{msi}\0").as_bytes()), [msi]);

    let folder = GpoFolder { entries: vec![file("Machine/Applications/{0D4B9C21}.aas", blob)] };
    let refs = GpoReferences::of_folder(&folder);
    assert_eq!(refs.found.len(), 1);
    assert_eq!(refs.found[0].origin, Origin::AdvertiseScript);
    assert_eq!(refs.found[0].value(), msi);
}

fn ace(sid: Sid, flags: u8) -> Ace {
    Ace {
        ace_type: ace_type::ACCESS_ALLOWED,
        flags,
        mask: 0x20094,
        object_type: None,
        inherited_object_type: None,
        sid,
        trailing: vec![],
    }
}

#[test]
fn packages_and_the_dacl_give_paths_and_principals_by_part() {
    let sd = SecurityDescriptor::from_parts(
        0,
        Some(sid(512)),
        Some(sid(513)),
        None,
        Some(Acl::new(vec![
            ace(sid(1109), 0),
            ace("S-1-5-18".parse().unwrap(), ace_flags::INHERITED),
            ace(sid(1111), ace_flags::INHERITED | ace_flags::CONTAINER_INHERIT),
        ])),
    );
    let text = |v: &str| vec![AttributeValue::Text(v.into())];
    let package = DirectoryObject {
        dn: "CN={0D4B9C21},CN=Packages,CN=Class Store,CN=Machine,CN={X},CN=Policies,CN=System,DC=corp".into(),
        attributes: [
            ("displayName".to_string(), text("7-Zip 23.01")),
            (
                "msiFileList".to_string(),
                vec![
                    AttributeValue::Text(r"0:\\fs01.corp.example.test\software\7zip\7z2301-x64.msi".into()),
                    AttributeValue::Text(r"1:C:\local.mst".into()),
                ],
            ),
            ("nTSecurityDescriptor".to_string(), vec![AttributeValue::from_bytes(sd.raw.clone())]),
        ]
        .into_iter()
        .collect(),
    };
    let mut refs = GpoReferences::default();
    refs.add_class_store(std::slice::from_ref(&package));
    refs.add_dacl(&sd);
    let seen: Vec<(Origin, &str, &str)> =
        refs.found.iter().map(|r| (r.origin, r.value(), r.reference.attribute.as_str())).collect();
    let (s512, s513, s1109, s1111) =
        (sid(512).to_string(), sid(513).to_string(), sid(1109).to_string(), sid(1111).to_string());
    let mut expected =
        vec![(Origin::ClassStore, r"\\fs01.corp.example.test\software\7zip\7z2301-x64.msi", MSI_FILE_LIST)];
    for origin in [Origin::ClassStore, Origin::Dacl] {
        expected.extend([
            (origin, s512.as_str(), sd_part::OWNER),
            (origin, s513.as_str(), sd_part::GROUP),
            (origin, s1109.as_str(), sd_part::ACE),
            (origin, "S-1-5-18", sd_part::INHERITED_ACE),
            (origin, s1111.as_str(), sd_part::INHERITED_ACE),
        ]);
    }
    assert_eq!(seen, expected);
    assert_eq!(refs.found[0].reference.at, "7-Zip 23.01");
    assert_eq!(refs.found[0].reference.file, package.dn);
    assert_eq!(refs.domain_sids(), [sid(512), sid(513), sid(1109), sid(1111)]);
    assert_eq!(msi_file_path(r"12:\\a\b"), r"\\a\b");
    assert_eq!(msi_file_path(r"C:\x.msi"), r"C:\x.msi");
}
