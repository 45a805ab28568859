use proptest::prelude::*;

use super::*;
use crate::formats::error::Problem;

const ROOT: &str = r"\\DC01.corp.example.test\sysvol\corp.example.test\Policies\{6AC1786C-016F-11D2-945F-00C04FB984F9}";

fn machine_extensions() -> String {
    [
        "[{00000000-0000-0000-0000-000000000000}{CAB54552-DEEA-4691-817E-ED4A4D1AFC72}]",
        "[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}{D02B1F72-3407-48AE-BA88-E8213C6761F1}]",
        "[{42B5FAAE-6536-11D2-AE5A-0000F87571E3}{40B6664F-4972-11D1-A7CA-0000F87571E3}]",
        "[{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]",
        "[{AADCED64-746C-4633-A97C-D61349046527}{CAB54552-DEEA-4691-817E-ED4A4D1AFC72}]",
    ]
    .concat()
}

fn user_extensions() -> String {
    "[{25537BA6-77A8-11D2-9B6C-0000F8080861}{88E729D6-BDC1-11D1-BD2A-00C04FB9603F}]".into()
}

fn files() -> Vec<GpoFileEntry> {
    [
        "GPT.INI",
        "GPO.cmt",
        "Machine/registry.pol",
        "Machine/comment.cmtx",
        "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf",
        "Machine/Microsoft/Windows NT/Audit/audit.csv",
        "Machine/Preferences/ScheduledTasks/ScheduledTasks.xml",
        "Machine/Scripts/scripts.ini",
        "Machine/Scripts/Startup/install.ps1",
        "Machine/Scripts/Startup/Tools/helper.cmd",
        "User/registry.pol",
        "User/Documents & Settings/fdeploy.ini",
        "User/Documents & Settings/fdeploy1.ini",
    ]
    .into_iter()
    .map(GpoFileEntry::file)
    .chain([GpoFileEntry::dir("Machine/Applications"), GpoFileEntry::dir("Machine/Scripts/Shutdown")])
    .collect()
}

/// A representative GPO, built the way a backup builds it.
pub(crate) fn sample() -> BackupXml {
    let core = CoreSettings {
        id: "{6AC1786C-016F-11D2-945F-00C04FB984F9}".into(),
        domain: Some("corp.example.test".into()),
        security_descriptor: Some(vec![0x01, 0x00, 0x04, 0x9c, 0xAB, 0x00]),
        display_name: Some("Workstations & <Kiosks> ]]> baseline".into()),
        options: Some("0".into()),
        user_version_number: Some(SideVersion { directory: 2, sysvol: 2 }.backup_number().to_string()),
        machine_version_number: Some(SideVersion { directory: 7, sysvol: 7 }.backup_number().to_string()),
        machine_extension_guids: Some(machine_extensions()),
        user_extension_guids: Some(user_extensions()),
        wmi_filter: Some(format_wmi_filter("{09B5B9BD-40F6-4092-B2CB-FA3FBCC54921}", "corp.example.test")),
        wmi_filter_name: Some("Windows 11 only".into()),
        other: Vec::new(),
    };
    let extensions = build_extension_blocks(ROOT, &files(), &core.machine_extensions(), &core.user_extensions(), None);
    BackupXml {
        security_groups: vec![
            SecurityPrincipal {
                tag: Some(PrincipalTag::Group),
                source: Some(SOURCE_FROM_DACL.into()),
                sid: Some("S-1-5-21-1111111111-2222222222-3333333333-512".into()),
                sam_account_name: Some("Domain Admins".into()),
                account_type: Some("GlobalGroup".into()),
                netbios_domain_name: Some("CORP".into()),
                dns_domain_name: Some("corp.example.test".into()),
                upn: Some("Domain Admins@corp.example.test".into()),
            },
            SecurityPrincipal {
                tag: Some(PrincipalTag::Group),
                sam_account_name: Some("Administrators".into()),
                account_type: Some("Unknown".into()),
                ..Default::default()
            },
        ],
        file_paths: Vec::new(),
        core,
        extensions,
        line_ending: LineEnding::Crlf,
    }
}

#[test]
fn writer_output_snapshot() {
    // Blank template lines end in spaces; make them visible so the snapshot keeps them.
    let text = sample().to_xml_string().replace(" \r\n", "·\r\n").replace("\r\n", "\n");
    insta::assert_snapshot!("backup_xml_representative", text);
}

#[test]
fn encoding_and_framing() {
    let bytes = sample().to_bytes();
    assert!(bytes.starts_with(b"<?xml version=\"1.0\" encoding=\"utf-8\"?><!-- Copyright (c) Microsoft Corporation.  All rights reserved. --><GroupPolicyBackupScheme bkp:version=\"2.0\" bkp:type=\"GroupPolicyBackupTemplate\" xmlns:bkp=\"http://www.microsoft.com/GroupPolicy/GPOOperations\" xmlns=\"http://www.microsoft.com/GroupPolicy/GPOOperations\">\r\n    <GroupPolicyObject><SecurityGroups>"));
    assert!(bytes.ends_with(b"</GroupPolicyExtension></GroupPolicyObject>\r\n</GroupPolicyBackupScheme>"));
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("<DisplayName><![CDATA[Workstations & <Kiosks> ]]]]><![CDATA[> baseline]]></DisplayName>"));
    assert!(text.contains("<SecurityDescriptor>01 00 04 9c ab 00</SecurityDescriptor>"));
    assert!(text.contains("<FilePaths/>"));
    assert!(text.contains("<Group><Sid/><SamAccountName><![CDATA[Administrators]]></SamAccountName><Type><![CDATA[Unknown]]></Type><NetBIOSDomainName/><DnsDomainName/><UPN/></Group>"));
    assert!(text.contains("<WMIFilter><![CDATA[MSFT_SomFilter.ID=\"{09B5B9BD-40F6-4092-B2CB-FA3FBCC54921}\",Domain=\"corp.example.test\"]]></WMIFilter><WMIFilterName><![CDATA[Windows 11 only]]></WMIFilterName></GroupPolicyCoreSettings> \r\n"));
    assert!(text.contains(r#"bkp:Path="%GPO_USER_FSPATH%\Documents &amp; Settings\*""#));
}

#[test]
fn round_trip() {
    let backup = sample();
    let parsed = BackupXml::parse(&backup.to_bytes()).unwrap();
    assert_eq!(parsed, backup);
    assert_eq!(parsed.to_bytes(), backup.to_bytes());
    assert_eq!(parsed.core.gpo_id().unwrap().to_string(), "{6AC1786C-016F-11D2-945F-00C04FB984F9}");
    assert_eq!(parsed.core.machine_version(), Some(SideVersion { directory: 7, sysvol: 7 }));
    assert_eq!(parsed.core.flags(), Some(GpoFlags(0)));
    assert_eq!(parsed.core.wmi_filter_id().as_deref(), Some("{09B5B9BD-40F6-4092-B2CB-FA3FBCC54921}"));
}

fn block<'a>(backup: &'a BackupXml, id: &str) -> &'a ExtensionBlock {
    backup.extensions.iter().find(|b| b.id == id).unwrap()
}

fn paths(block: &ExtensionBlock) -> Vec<String> {
    block.objects().iter().map(|o| format!("{:?} {}", o.kind, o.path)).collect()
}

#[test]
fn files_go_to_the_blocks_gpmc_uses() {
    let backup = sample();
    let order: Vec<&str> = backup.extensions.iter().map(|b| b.desc_name.as_str()).collect();
    assert_eq!(order, ["Registry", "Folder Redirection", "Scripts", "Security", "Unknown Extension"]);

    assert_eq!(
        paths(block(&backup, extension_ids::REGISTRY)),
        [r"File %GPO_MACH_FSPATH%\registry.pol", r"File %GPO_USER_FSPATH%\registry.pol", r"File %GPO_FSPATH%\Adm\*.*"]
    );
    let security = block(&backup, extension_ids::SECURITY).objects()[0].clone();
    assert_eq!(security.path, r"%GPO_MACH_FSPATH%\microsoft\windows nt\SecEdit\GptTmpl.inf");
    assert_eq!(security.re_evaluate_function.as_deref(), Some(re_evaluate::SECURITY));
    assert_eq!(
        security.location.as_deref(),
        Some(r"DomainSysvol\GPO\Machine\microsoft\windows nt\SecEdit\GptTmpl.inf")
    );
    assert_eq!(
        security.source_expanded_path.unwrap(),
        format!(r"{ROOT}\Machine\microsoft\windows nt\SecEdit\GptTmpl.inf")
    );

    assert_eq!(
        paths(block(&backup, extension_ids::SCRIPTS)),
        [
            r"File %GPO_MACH_FSPATH%\Scripts\scripts.ini",
            r"Dir %GPO_MACH_FSPATH%\Scripts\Startup\*",
            r"Dir %GPO_MACH_FSPATH%\Scripts\Startup",
            r"Dir %GPO_MACH_FSPATH%\Scripts\Startup\Tools",
            r"File %GPO_MACH_FSPATH%\Scripts\Startup\*",
            r"File %GPO_MACH_FSPATH%\Scripts\Startup\install.ps1",
            r"File %GPO_MACH_FSPATH%\Scripts\Startup\Tools\helper.cmd",
            r"Dir %GPO_MACH_FSPATH%\Scripts\Shutdown\*",
            r"Dir %GPO_MACH_FSPATH%\Scripts\Shutdown",
            r"File %GPO_MACH_FSPATH%\Scripts\Shutdown\*",
            r"Dir %GPO_USER_FSPATH%\Scripts\Logon\*",
            r"File %GPO_USER_FSPATH%\Scripts\Logon\*",
            r"Dir %GPO_USER_FSPATH%\Scripts\Logoff\*",
            r"File %GPO_USER_FSPATH%\Scripts\Logoff\*",
        ]
    );
    assert_eq!(
        paths(block(&backup, extension_ids::UNKNOWN_EXTENSION)),
        [
            r"File %GPO_FSPATH%\GPO.cmt",
            r"Dir %GPO_MACH_FSPATH%\Applications",
            r"File %GPO_MACH_FSPATH%\comment.cmtx",
            r"Dir %GPO_MACH_FSPATH%\Microsoft",
            r"Dir %GPO_MACH_FSPATH%\Microsoft\Windows NT",
            r"Dir %GPO_MACH_FSPATH%\Microsoft\Windows NT\Audit",
            r"File %GPO_MACH_FSPATH%\Microsoft\Windows NT\Audit\audit.csv",
            r"Dir %GPO_MACH_FSPATH%\Microsoft\Windows NT\SecEdit",
            r"Dir %GPO_MACH_FSPATH%\Preferences",
            r"Dir %GPO_MACH_FSPATH%\Preferences\ScheduledTasks",
            r"File %GPO_MACH_FSPATH%\Preferences\ScheduledTasks\ScheduledTasks.xml",
            r"Dir %GPO_MACH_FSPATH%\Scripts",
            r"Dir %GPO_USER_FSPATH%\Documents & Settings",
        ]
    );
}

#[test]
fn scripts_block_has_gpmc_template_lines() {
    let text = sample().to_xml_string();
    let start = text.find("bkp:DescName=\"Scripts\">").unwrap();
    let end = start + text[start..].find("</GroupPolicyExtension>").unwrap();
    let lines: Vec<&str> = text[start..end].split("\r\n").collect();
    // Opening line, twelve template lines, the indentation before the end tag.
    assert_eq!(lines.len(), 14);
    assert!(lines[1].starts_with(
        r#"            <FSObjectFile bkp:Path="%GPO_MACH_FSPATH%\Scripts\scripts.ini" bkp:SourceExpandedPath=""#
    ));
    assert!(lines[1].ends_with(
        r#"bkp:ReEvaluateFunction="ScriptsValidatePaths" bkp:Location="DomainSysvol\GPO\Machine\Scripts\scripts.ini"/>"#
    ));
    assert_eq!(lines[2], "\t    "); // no psscripts.ini
    assert!(lines[3].starts_with(r#"            <FSObjectDir bkp:Path="%GPO_MACH_FSPATH%\Scripts\Startup\*" "#));
    assert!(lines[3].ends_with("</FSObjectDir>"));
    assert_eq!(lines[7], "            "); // no user scripts.ini
    assert_eq!(lines[8], "\t    ");
    assert!(lines[9].ends_with(r#"\User\Scripts\Logon\*"/>"#));
    assert_eq!(lines[13], "        ");
    // Registry first, then template slots: Folder Redirection second and Scripts third (as in
    // the real samples), Security fifth, four blank slots, then the catch-all on its own line.
    let after_registry = &text[text.find("</GroupPolicyExtension>\r\n").unwrap()..];
    let shape: Vec<String> = after_registry
        .split("\r\n")
        .map(|l| match l.trim_start().split(' ').nth(1) {
            Some(id) if l.starts_with("        <GroupPolicyExtension") => id.to_string(),
            _ if l == "        " => "blank".into(),
            _ => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(
        shape,
        [
            "blank",
            "bkp:ID=\"{25537BA6-77A8-11D2-9B6C-0000F8080861}\"",
            "bkp:ID=\"{42B5FAAE-6536-11d2-AE5A-0000F87571E3}\"",
            "blank",
            "bkp:ID=\"{827D319E-6EAC-11D2-A4EA-00C04F79F83A}\"",
            "blank",
            "blank",
            "blank",
            "blank",
        ]
    );
}

#[test]
fn gpo_without_files_or_extensions() {
    let blocks = build_extension_blocks(
        ROOT,
        &[GpoFileEntry::file("GPT.INI")],
        &ExtensionList::default(),
        &ExtensionList::default(),
        None,
    );
    let backup = BackupXml {
        security_groups: vec![],
        file_paths: vec![],
        core: CoreSettings { id: "{X}".into(), ..Default::default() },
        extensions: blocks,
        line_ending: LineEnding::Crlf,
    };
    let text = backup.to_xml_string();
    assert!(text.contains("<SecurityGroups/><FilePaths/><GroupPolicyCoreSettings><ID><![CDATA[{X}]]></ID><Domain/><SecurityDescriptor/><DisplayName/>"));
    assert!(
        text.contains(
            "\r\n            \r\n            \r\n            <FSObjectFile bkp:Path=\"%GPO_FSPATH%\\Adm\\*.*\""
        )
    );
    assert!(text.ends_with("\r\n    <GroupPolicyExtension bkp:ID=\"{F15C46CD-82A0-4C2D-A210-5D0D3182A418}\" bkp:DescName=\"Unknown Extension\"/></GroupPolicyObject>\r\n</GroupPolicyBackupScheme>"));
    assert_eq!(BackupXml::parse(text.as_bytes()).unwrap(), backup);
}

#[test]
fn unknown_content_is_kept() {
    let mut backup = sample();
    let mut other = Element::new("bkp:RegistrySettings");
    other.attributes.push(("bkp:Key".into(), "HKLM\\Software".into()));
    other.children.push(Node::CData("x".into()));
    backup.extensions[0].items.push(ExtensionItem::Other(other.clone()));
    backup.core.other.push(Element::with_cdata("FutureField", "1"));
    backup.file_paths.push(Element::with_cdata("Path", r"\\fs01\share$\apps"));
    if let ExtensionItem::Object(o) = &mut backup.extensions[0].items[0] {
        o.extra_attributes.push(("bkp:DestinationExpandedPath".into(), "x".into()));
    }
    let parsed = BackupXml::parse(&backup.to_bytes()).unwrap();
    assert_eq!(parsed, backup);
}

#[test]
fn errors_name_file_and_element() {
    let good = String::from_utf8(sample().to_bytes()).unwrap();

    let no_id = good.replace("<ID><![CDATA[{6AC1786C-016F-11D2-945F-00C04FB984F9}]]></ID>", "");
    let err = BackupXml::parse(no_id.as_bytes()).unwrap_err();
    assert_eq!(err.file, "Backup.xml");
    assert_eq!(err.at.as_deref(), Some("GroupPolicyObject/GroupPolicyCoreSettings"));
    assert_eq!(err.problem, Problem::MissingElement { name: "ID".into() });

    let bad_sd = good.replace("01 00 04 9c ab 00", "01 zz");
    let err = BackupXml::parse(bad_sd.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("SecurityDescriptor"), "{err}");

    let bad_group = good.replace("<UPN/></Group>", "<UPN/><Bogus/></Group>");
    let err = BackupXml::parse(bad_group.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("found <Bogus>"), "{err}");

    let wrong_ns = good.replacen("xmlns=\"http://www.microsoft.com/GroupPolicy/GPOOperations\"", "xmlns=\"urn:x\"", 1);
    assert!(BackupXml::parse(wrong_ns.as_bytes()).unwrap_err().to_string().contains("namespace"));

    let text_in_gpo = good.replace("<FilePaths/>", "<FilePaths/>oops");
    let err = BackupXml::parse(text_in_gpo.as_bytes()).unwrap_err();
    assert_eq!(err.problem, Problem::UnexpectedText { text: "oops".into() });
}

proptest! {
    #[test]
    fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = BackupXml::parse(&bytes);
    }

    #[test]
    fn parser_never_panics_on_mutated_file(pos in 0usize..20000, byte in any::<u8>()) {
        let mut bytes = sample().to_bytes();
        let at = pos % bytes.len();
        bytes[at] = byte;
        if let Ok(parsed) = BackupXml::parse(&bytes) {
            // Whatever parses must also write and parse again.
            prop_assert!(BackupXml::parse(&parsed.to_bytes()).is_ok());
        }
    }

    #[test]
    fn names_round_trip(name in "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}\r]{0,40}") {
        let mut backup = sample();
        backup.core.display_name = Some(name.clone());
        backup.security_groups[0].sam_account_name = Some(name.clone());
        let parsed = BackupXml::parse(&backup.to_bytes()).unwrap();
        prop_assert_eq!(parsed, backup);
    }
}

#[test]
fn core_settings_from_the_model() {
    let gpo = crate::model::Gpo {
        id: "{356FB116-26CD-4FBF-830B-6D736B802FD7}".parse().unwrap(),
        dn: "CN={356FB116-26CD-4FBF-830B-6D736B802FD7},CN=Policies,CN=System,DC=idl,DC=local".into(),
        display_name: "DoD Windows 10 STIG - Computer (SHB v10.1.0)".into(),
        version: crate::model::Version { user: 2, machine: 7 },
        flags: GpoFlags(1),
        functionality_version: Some(2),
        file_sys_path: r"\\idl.local\SysVol\idl.local\Policies\{356FB116-26CD-4FBF-830B-6D736B802FD7}".into(),
        machine_extensions: ExtensionList::parse(&machine_extensions()),
        user_extensions: ExtensionList::default(),
        wmi_filter_link: Some("[idl.local;{09B5B9BD-40F6-4092-B2CB-FA3FBCC54921};0]".into()),
        security_descriptor: None,
        created: None,
        changed: None,
    };
    let core = CoreSettings::from_gpo(&gpo, "idl.local", None, Some("Clients"));
    assert_eq!(core.id, "{356FB116-26CD-4FBF-830B-6D736B802FD7}");
    assert_eq!(core.options.as_deref(), Some("1"));
    // The numbers GPMC wrote for this GPO in the fixture of the same name.
    assert_eq!(core.user_version_number.as_deref(), Some("131074"));
    assert_eq!(core.machine_version_number.as_deref(), Some("458759"));
    assert_eq!(core.machine_extension_guids.as_deref(), Some(machine_extensions().as_str()));
    assert_eq!(core.user_extension_guids, None);
    assert_eq!(
        core.wmi_filter.as_deref(),
        Some(r#"MSFT_SomFilter.ID="{09B5B9BD-40F6-4092-B2CB-FA3FBCC54921}",Domain="idl.local""#)
    );
    assert_eq!(core.wmi_filter_name.as_deref(), Some("Clients"));
    let split = CoreSettings::from_gpo(&gpo, "idl.local", Some(crate::model::Version { user: 3, machine: 7 }), None);
    assert_eq!(split.user_version(), Some(SideVersion { directory: 2, sysvol: 3 }));
}
