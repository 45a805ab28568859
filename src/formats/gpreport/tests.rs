use chrono::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::formats::text::decode_utf16le;

const DOMAIN_SID: &str = "S-1-5-21-1111111111-2222222222-3333333333";

fn row(sid: &str, name: &str, standard: &str) -> TrusteePermission {
    TrusteePermission {
        trustee: Trustee { sid: sid.into(), name: Some(name.into()) },
        permission_type: "Allow".into(),
        inherited: false,
        applicability: Applicability::GPO_CONTAINER,
        standard: Some(standard.into()),
        access_mask: 0,
    }
}

/// A representative GPO: both halves in use, a WMI filter, two links, a name that needs escaping.
pub(crate) fn sample() -> GpReport {
    let read = Utc.with_ymd_and_hms(2026, 3, 4, 10, 20, 30).unwrap() + chrono::Duration::nanoseconds(295_030_200);
    GpReport {
        identifier: "{6AC1786C-016F-11D2-945F-00C04FB984F9}".into(),
        domain: "corp.example.test".into(),
        name: "Workstations & <Kiosks>".into(),
        include_comments: true,
        created_time: report_time_from_ldap("20260301090000.0Z").unwrap(),
        modified_time: "2026-03-04T10:19:02".into(),
        read_time: read_time(&read),
        security: Some(ReportSecurity {
            sddl: format!("O:DAG:DAD:PAI(A;CI;LCRPLORC;;;AU)(A;CI;CCDCLCSWRPWPDTLOSDRCWDWO;;;{DOMAIN_SID}-519)"),
            owner: Some(Trustee { sid: format!("{DOMAIN_SID}-512"), name: Some("CORP\\Domain Admins".into()) }),
            group: Some(Trustee { sid: format!("{DOMAIN_SID}-512"), name: Some("CORP\\Domain Admins".into()) }),
            permissions_present: true,
            inherits_from_parent: false,
            permissions: vec![
                row("S-1-5-11", "NT AUTHORITY\\Authenticated Users", "Apply Group Policy"),
                row(&format!("{DOMAIN_SID}-519"), "CORP\\Enterprise Admins", "Edit, delete, modify security"),
            ],
            auditing_present: false,
        }),
        filter_data_available: true,
        filter_name: Some("Windows 11 only".into()),
        filter_description: None,
        computer: ReportSide {
            version_directory: 7,
            version_sysvol: 7,
            enabled: true,
            extensions: vec![ReportExtension::named("Security"), ReportExtension::named("Registry")],
        },
        user: ReportSide {
            version_directory: 2,
            version_sysvol: 2,
            enabled: true,
            extensions: vec![ReportExtension::named("Registry"), ReportExtension::named("Drive Maps")],
        },
        links: vec![
            ReportLink {
                som_name: "Workstations".into(),
                som_path: "corp.example.test/Workstations".into(),
                enabled: true,
                no_override: false,
            },
            ReportLink {
                som_name: "corp".into(),
                som_path: "corp.example.test".into(),
                enabled: false,
                no_override: true,
            },
        ],
    }
}

#[test]
fn writer_output_snapshot() {
    insta::assert_snapshot!("gpreport_representative", sample().to_xml_string().replace("\r\n", "\n"));
}

#[test]
fn file_is_utf16le_with_bom_and_gpmc_framing() {
    let report = sample();
    let bytes = report.to_bytes();
    assert_eq!(&bytes[..2], &[0xFF, 0xFE]);
    let text = decode_utf16le(&bytes, "gpreport.xml").unwrap();
    assert_eq!(text, report.to_xml_string());
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"utf-16\"?>\r\n<GPO xmlns:xsd="));
    assert!(text.ends_with("  </LinksTo>\r\n</GPO>"));
    assert!(text.contains("<Name>Workstations &amp; &lt;Kiosks&gt;</Name>"));
    assert!(text.contains(
        "<Extension xmlns:q1=\"http://www.microsoft.com/GroupPolicy/Settings/Security\" xsi:type=\"q1:SecuritySettings\" />"
    ));
    // Prefixes count through the whole document, as GPMC numbers them.
    assert!(text.contains(
        "xmlns:q3=\"http://www.microsoft.com/GroupPolicy/Settings/Registry\" xsi:type=\"q3:RegistrySettings\""
    ));
    assert!(text.contains("<ReadTime>2026-03-04T10:20:30.2950302Z</ReadTime>"));
    assert!(text.contains("<CreatedTime>2026-03-01T09:00:00</CreatedTime>"));
}

#[test]
fn round_trip() {
    let report = sample();
    assert_eq!(GpReport::parse(&report.to_bytes()).unwrap(), report);
    let bare = GpReport { identifier: "{X}".into(), ..Default::default() };
    assert_eq!(GpReport::parse(&bare.to_bytes()).unwrap(), bare);
}

#[test]
fn errors_name_the_element() {
    let bad = "<GPO><Identifier><Identifier>{X}</Identifier></Identifier><IncludeComments>yes</IncludeComments></GPO>";
    let err = GpReport::parse(bad.as_bytes()).unwrap_err();
    assert_eq!(err.at.as_deref(), Some("GPO/IncludeComments"));
    let missing = GpReport::parse(b"<GPO><Name>x</Name></GPO>").unwrap_err();
    assert_eq!(missing.problem, Problem::MissingElement { name: "Identifier".into() });
}

proptest! {
    #[test]
    fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = GpReport::parse(&bytes);
    }

    #[test]
    fn parser_never_panics_on_mutated_report(pos in 0usize..3000, byte in any::<u8>()) {
        let mut bytes = sample().to_xml_string().into_bytes();
        let at = pos % bytes.len();
        bytes[at] = byte;
        let _ = GpReport::parse(&bytes);
    }

    #[test]
    fn names_round_trip(name in "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}\r]{0,40}") {
        let report = GpReport { identifier: "{X}".into(), name: name.clone(), ..sample() };
        prop_assert_eq!(GpReport::parse(&report.to_bytes()).unwrap().name, name);
    }
}
