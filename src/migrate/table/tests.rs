use proptest::prelude::*;

use super::*;

const GPMC_LAYOUT: &[u8] = include_bytes!("../../../tests/fixtures/migtable/gpmc-layout.migtable");
const SCRIPT_ANSI: &[u8] = include_bytes!("../../../tests/fixtures/migtable/script-ansi.migtable");

fn row(entry_type: EntryType, source: &str, destination: Destination) -> Mapping {
    Mapping { entry_type, source: source.into(), destination }
}

fn set(text: &str) -> Destination {
    Destination::Set(text.into())
}

fn prod() -> TargetDomain {
    TargetDomain { netbios_name: "PROD".into(), dns_name: "prod.example.com".into() }
}

fn sid(text: &str) -> Sid {
    text.parse().unwrap()
}

fn replace(row: usize, text: &str) -> Option<Mapped> {
    Some(Mapped { row, outcome: Outcome::Replace(text.into()) })
}

fn outcome(row: usize, outcome: Outcome) -> Option<Mapped> {
    Some(Mapped { row, outcome })
}

/// A principal as the directory describes it (what Backup.xml's SecurityGroups records).
fn finance_admins() -> KnownPrincipal {
    KnownPrincipal::from(&Principal {
        sid: sid("S-1-5-21-1004336348-1177238915-682003330-1120"),
        sam_account_name: "Finance Admins".into(),
        kind: "GlobalGroup".into(),
        netbios_domain: "CORP".into(),
        dns_domain: "corp.example.test".into(),
        upn: None,
    })
}

// --- saving: byte-exact until edited ---

#[test]
fn unchanged_tables_save_their_original_bytes() {
    for original in [GPMC_LAYOUT, SCRIPT_ANSI] {
        let table = MigrationTable::from_bytes(original).unwrap();
        assert!(!table.is_modified());
        assert_eq!(table.to_bytes(), original);
    }
}

#[test]
fn an_edited_table_is_saved_as_gpmc_does_and_undo_restores_the_bytes() {
    let mut table = MigrationTable::from_bytes(SCRIPT_ANSI).unwrap();
    assert_eq!(table.source_encoding(), Some(TextEncoding::Windows1252));
    let before = table.get(0).cloned().unwrap();
    table.update(0, row(EntryType::GlobalGroup, "CORP\\Domain Admins", set("PROD\\Domain Admins"))).unwrap();
    assert!(table.is_modified());
    let saved = table.to_bytes();
    assert_eq!(&saved[..4], &[0xFF, 0xFE, b'<', 0], "UTF-16LE with BOM");
    let again = MigrationTable::from_bytes(&saved).unwrap();
    assert_eq!(again.rows(), table.rows());
    assert!(again.rows()[1].destination == set("CORP\\Organisations-Admins"), "the other row is kept");

    table.update(0, before).unwrap();
    assert!(!table.is_modified());
    assert_eq!(table.to_bytes(), SCRIPT_ANSI);
}

#[test]
fn a_new_table_is_modified_and_written_in_gpmc_layout() {
    let mut table = MigrationTable::new();
    assert!(table.is_modified() && table.is_empty() && table.source_encoding().is_none());
    table.push(row(EntryType::User, "jdoe@corp.example.test", set("jdoe@prod.example.com")));
    // The hand-made GPMC fixture cut after its first mapping.
    let fixture = crate::formats::text::decode_utf16le(GPMC_LAYOUT, "fixture").unwrap();
    let first_end = fixture.find("</Mapping>").unwrap() + "</Mapping>".len();
    let expected = format!("{}\r\n</MigrationTable>", &fixture[..first_end]);
    assert_eq!(table.to_bytes(), crate::formats::text::encode_utf16le_bom(&expected));
    assert_eq!(MigrationTable::from_bytes(&table.to_bytes()).unwrap().rows(), table.rows());
}

// --- editing ---

#[test]
fn edits_keep_the_order_and_refuse_missing_rows() {
    let a = row(EntryType::User, "a@x.y", Destination::SameAsSource);
    let b = row(EntryType::User, "b@x.y", Destination::SameAsSource);
    let c = row(EntryType::User, "c@x.y", Destination::SameAsSource);
    let mut table = MigrationTable::new();
    assert_eq!(table.push(a.clone()), 0);
    assert_eq!(table.push(c.clone()), 1);
    table.insert(1, b.clone()).unwrap();
    assert_eq!(table.rows(), [a.clone(), b.clone(), c.clone()]);
    table.move_row(2, 0).unwrap();
    assert_eq!(table.rows(), [c.clone(), a.clone(), b.clone()]);
    assert_eq!(table.remove(1).unwrap(), a);
    assert_eq!(table.rows(), [c.clone(), b.clone()]);
    assert_eq!(table.find_source("B@X.Y"), Some(1));
    assert_eq!(table.find_source("a@x.y"), None);

    assert_eq!(table.remove(2), Err(NoSuchRow { row: 3, len: 2 }));
    assert_eq!(table.update(5, a.clone()).unwrap_err().to_string(), "the migration table has no row 6 (it has 2)");
    assert!(table.insert(3, a.clone()).is_err());
    assert!(table.move_row(0, 2).is_err());
    assert_eq!(table.rows(), [c, b], "failed edits change nothing");
}

// --- what a text names ---

#[test]
fn source_forms_parse_into_principal_refs() {
    let cases = [
        ("jdoe@corp.example.test", PrincipalRef::Upn { name: "jdoe".into(), domain: "corp.example.test".into() }),
        (
            "Domain Admins@corp.example.test",
            PrincipalRef::Upn { name: "Domain Admins".into(), domain: "corp.example.test".into() },
        ),
        (r"CORP\jdoe", PrincipalRef::DomainName { domain: "CORP".into(), name: "jdoe".into() }),
        (
            r"corp.example.test\Finance Admins",
            PrincipalRef::DomainName { domain: "corp.example.test".into(), name: "Finance Admins".into() },
        ),
        (" ADD YOUR DOMAIN ADMINS ", PrincipalRef::Name("ADD YOUR DOMAIN ADMINS".into())),
        ("S-1-5-21-1-2-3-1105", PrincipalRef::Sid(sid("S-1-5-21-1-2-3-1105"))),
        ("s-1-5-32-544", PrincipalRef::Sid(sid("S-1-5-32-544"))),
        ("S-1-5", PrincipalRef::Name("S-1-5".into())),
        ("S-Club", PrincipalRef::Name("S-Club".into())),
        (
            r"\\fs01\deploy\tools\",
            PrincipalRef::Unc(UncPath { server: "fs01".into(), share: "deploy".into(), rest: vec!["tools".into()] }),
        ),
        (r"\\fs01", PrincipalRef::Name(r"\\fs01".into())),
        ("@corp", PrincipalRef::Name("@corp".into())),
        (r"CORP\", PrincipalRef::Name(r"CORP\".into())),
    ];
    for (text, expected) in cases {
        assert_eq!(PrincipalRef::parse(text), expected, "{text}");
    }
    assert_eq!(PrincipalRef::parse(r"\\FS01\Deploy\x").to_string(), r"\\FS01\Deploy\x");
    assert_eq!(PrincipalRef::parse(r"CORP\jdoe").to_string(), r"CORP\jdoe");
}

#[test]
fn unc_paths_must_be_well_formed() {
    for good in [r"\\srv\share", r"\\srv.corp.example.test\profiles$\%USERNAME%", r"\\10.0.0.5\d\My Docs\"] {
        assert!(UncPath::parse(good).is_some(), "{good}");
    }
    for bad in [
        r"\\srv",
        r"\\srv\",
        r"\\\share",
        r"\\srv\\x",
        r"\\srv\share\\x",
        r"\\my srv\share",
        r"\\srv\sh|are",
        r"C:\x",
        "//srv/share",
        r"\\srv\share\a:b",
    ] {
        assert!(UncPath::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn relative_names_keep_the_name_and_the_form() {
    let cases = [
        ("jdoe@corp.example.test", Some("jdoe@prod.example.com")),
        (r"CORP\Finance Admins", Some(r"PROD\Finance Admins")),
        (r"corp.example.test\Finance Admins", Some(r"prod.example.com\Finance Admins")),
        ("jdoe", Some(r"PROD\jdoe")),
        ("S-1-5-21-1-2-3-1105", None),
        (r"\\srv\share", None),
    ];
    for (source, expected) in cases {
        let relative = PrincipalRef::parse(source).with_domain(&prod()).map(|p| p.to_string());
        assert_eq!(relative.as_deref(), expected, "{source}");
    }
}

#[test]
fn same_as_compares_forms_ignoring_case() {
    let same = |a: &str, b: &str| PrincipalRef::parse(a).same_as(&PrincipalRef::parse(b));
    assert!(same(r"CORP\JDoe", r"corp\jdoe"));
    assert!(same("Domänen-Admins@CORP.example", "DOMÄNEN-ADMINS@corp.EXAMPLE"));
    assert!(same("S-1-5-21-1-2-3-1105", "s-1-5-21-1-2-3-1105"));
    assert!(same(r"\\SRV\Share\", r"\\srv\share"));
    assert!(!same(r"\\srv\share\x", r"\\srv\share"));
    assert!(!same(r"CORP\jdoe", "jdoe@corp"), "different forms need the domain's other name");
}

// --- principals: which row, and what it becomes ---

fn principal_table() -> MigrationTable {
    MigrationTable::from_rows(vec![
        row(EntryType::User, "jdoe@corp.example.test", set("jdoe@prod.example.com")),
        row(EntryType::GlobalGroup, r"CORP\Finance Admins", set(r"PROD\Finance-Admins")),
        row(EntryType::Unknown, "S-1-5-21-1004336348-1177238915-682003330-1120", Destination::SameAsSource),
        row(EntryType::UniversalGroup, r"corp.example.test\Auditors", Destination::ByRelativeName),
        row(EntryType::Unknown, "Administrator", Destination::None),
        row(EntryType::LocalGroup, "HR Printers@corp.example.test", Destination::ByRelativeName),
        row(EntryType::Unknown, "S-1-5-21-1004336348-1177238915-682003330-1130", Destination::ByRelativeName),
    ])
}

#[test]
fn a_sid_row_wins_over_an_earlier_name_row() {
    assert_eq!(principal_table().lookup_principal(&finance_admins(), &prod()), outcome(3, Outcome::Keep));
    let mut by_name_only = finance_admins();
    by_name_only.sid = None;
    assert_eq!(principal_table().lookup_principal(&by_name_only, &prod()), replace(2, r"PROD\Finance-Admins"));
}

#[test]
fn principals_match_by_either_domain_name_ignoring_case() {
    let table = principal_table();
    let lookup = |text: &str| table.lookup_text(text, &prod());
    assert_eq!(lookup("JDOE@Corp.Example.Test"), replace(1, "jdoe@prod.example.com"));
    assert_eq!(lookup(r"corp\finance admins"), replace(2, r"PROD\Finance-Admins"));
    assert_eq!(lookup("S-1-5-21-1004336348-1177238915-682003330-1120"), outcome(3, Outcome::Keep));
    assert_eq!(lookup(r"CORP.EXAMPLE.TEST\auditors"), replace(4, r"prod.example.com\Auditors"));
    assert_eq!(lookup("administrator"), outcome(5, Outcome::Remove));
    // Different form, only one of the domain's names known: no match.
    assert_eq!(lookup(r"CORP\jdoe"), None);
    assert_eq!(lookup(r"OTHER\Finance Admins"), None);
    assert_eq!(lookup(r"\\srv\share"), None);
    assert_eq!(lookup("  "), None);

    // Known from the directory: both domain names, so every form matches.
    let jdoe = KnownPrincipal {
        name: Some("jdoe".into()),
        netbios_domain: Some("CORP".into()),
        dns_domain: Some("corp.example.test".into()),
        kind: Some(EntryType::User),
        ..KnownPrincipal::default()
    };
    assert_eq!(table.lookup_principal(&jdoe, &prod()), replace(1, "jdoe@prod.example.com"));
    // By the principal's own UPN even when its sAMAccountName differs.
    let by_upn = KnownPrincipal { name: Some("jd".into()), upn: Some("JDOE@corp.example.test".into()), ..jdoe };
    assert_eq!(table.lookup_principal(&by_upn, &prod()), replace(1, "jdoe@prod.example.com"));
}

#[test]
fn a_typed_row_only_maps_principals_of_its_type() {
    let table = principal_table();
    let mut as_user = finance_admins();
    as_user.sid = None;
    as_user.kind = Some(EntryType::User);
    assert_eq!(table.lookup_principal(&as_user, &prod()), None);
    // Unknown rows map any kind.
    let mut admin = KnownPrincipal::from_text("Administrator").unwrap();
    admin.kind = Some(EntryType::User);
    assert_eq!(table.lookup_principal(&admin, &prod()), outcome(5, Outcome::Remove));
}

#[test]
fn a_free_text_row_does_not_capture_a_domain_account() {
    let table = principal_table();
    assert_eq!(table.lookup_text(r"CORP\Administrator", &prod()), None);
    let resolved = KnownPrincipal {
        sid: Some(sid("S-1-5-21-1004336348-1177238915-682003330-500")),
        name: Some("Administrator".into()),
        ..KnownPrincipal::default()
    };
    assert_eq!(table.lookup_principal(&resolved, &prod()), None);
}

#[test]
fn relative_names_land_in_the_target_domain() {
    let table = principal_table();
    assert_eq!(table.lookup_text("hr printers@CORP.EXAMPLE.TEST", &prod()), replace(6, "HR Printers@prod.example.com"));
    // A SID row takes the name the SID resolved to.
    let resolved = KnownPrincipal {
        sid: Some(sid("S-1-5-21-1004336348-1177238915-682003330-1130")),
        name: Some("Payroll".into()),
        netbios_domain: Some("CORP".into()),
        ..KnownPrincipal::default()
    };
    assert_eq!(table.lookup_principal(&resolved, &prod()), replace(7, r"PROD\Payroll"));
    assert_eq!(
        table.lookup_text("S-1-5-21-1004336348-1177238915-682003330-1130", &prod()),
        outcome(7, Outcome::NoRelativeName)
    );
}

// --- UNC paths ---

fn unc_table() -> MigrationTable {
    MigrationTable::from_rows(vec![
        row(EntryType::UncPath, r"\\fs01\deploy", set(r"\\fs02.prod.example.com\deploy")),
        row(EntryType::UncPath, r"\\fs01\deploy\legacy\", set(r"\\archive\old\")),
        row(EntryType::UncPath, r"\\fs01\home", Destination::SameAsSource),
        row(EntryType::Unknown, r"\\fs01\profiles", set(r"\\fs02\profiles")),
        row(EntryType::UncPath, r"\\fs01\deploy", set(r"\\never\used")),
        row(EntryType::UncPath, r"\\fs01\tmp", Destination::None),
    ])
}

#[test]
fn a_share_row_maps_everything_below_it() {
    let table = unc_table();
    assert_eq!(table.map_unc(r"\\fs01\deploy"), replace(1, r"\\fs02.prod.example.com\deploy"));
    assert_eq!(
        table.map_unc(r"\\FS01\Deploy\Office\setup.exe"),
        replace(1, r"\\fs02.prod.example.com\deploy\Office\setup.exe")
    );
    assert_eq!(table.map_unc(r"\\fs01\home\%USERNAME%"), outcome(3, Outcome::Keep));
    assert_eq!(table.map_unc(r"\\fs01\tmp\x"), outcome(6, Outcome::Remove));
}

#[test]
fn unc_matching_respects_components_and_prefers_the_longest_row() {
    let table = unc_table();
    assert_eq!(table.map_unc(r"\\fs01\deployment\x"), None, "a prefix must end at a backslash");
    assert_eq!(table.map_unc(r"\\fs011\deploy"), None);
    assert_eq!(table.map_unc(r"\\fs01\deploy\Legacy\app.msi"), replace(2, r"\\archive\old\app.msi"));
    assert_eq!(table.map_unc(r"\\fs01\deploy\legacy"), replace(2, r"\\archive\old"));
    assert_eq!(table.map_unc(r"\\fs01\profiles\jdoe"), None, "only UNCPath rows map paths");
    assert_eq!(table.map_unc("not a path"), None);
}

// --- validation ---

#[test]
fn a_gpmc_table_validates_clean() {
    let table = MigrationTable::from_bytes(GPMC_LAYOUT).unwrap();
    assert_eq!(table.validate(), vec![]);
    assert_eq!(MigrationTable::from_bytes(SCRIPT_ANSI).unwrap().validate(), vec![]);
}

#[test]
fn validation_reports_each_problem_with_its_row() {
    let table = MigrationTable::from_rows(vec![
        row(EntryType::User, "jdoe@corp.example.test", Destination::SameAsSource),
        row(EntryType::User, "JDOE@CORP.EXAMPLE.TEST ", set("jdoe@prod.example.com")),
        row(EntryType::UncPath, r"\\fs01\deploy", Destination::None),
        row(EntryType::UncPath, r"\\fs01\home", set(r"\\fs02")),
        row(EntryType::UncPath, "fs01/home", set(r"\\fs02\home")),
        row(EntryType::User, "   ", Destination::SameAsSource),
        row(EntryType::GlobalGroup, "S-1-5-21-1-2-3-1105", Destination::SameAsSource),
        row(EntryType::User, "jsmith", Destination::SameAsSource),
        row(EntryType::Computer, r"\\ws01\c$", Destination::SameAsSource),
        row(EntryType::User, r"CORP\a", set(r"\\fs02\home")),
        row(EntryType::User, r"CORP\b", set(" ")),
        row(EntryType::UncPath, r"\\fs01\x", Destination::ByRelativeName),
        row(EntryType::Unknown, "tab\u{1}", Destination::SameAsSource),
        row(EntryType::UncPath, r"\\FS01\Deploy\", Destination::SameAsSource),
        row(EntryType::Unknown, "S-1-5-21-1-2-3-1106", set("S-1-5-21-9-9-9-1106")),
        row(EntryType::Unknown, "s-1-5-21-1-2-3-1106", Destination::SameAsSource),
    ]);
    let issues: Vec<(usize, Issue)> = table.validate().into_iter().map(|i| (i.row, i.issue)).collect();
    assert_eq!(
        issues,
        vec![
            (2, Issue::DuplicateSource { first_row: 1 }),
            (3, Issue::NoneOnUncPath),
            (4, Issue::MalformedUncDestination),
            (5, Issue::MalformedUncSource),
            (6, Issue::EmptySource),
            (7, Issue::NeedsUnknownType { form: "SID", entry_type: EntryType::GlobalGroup }),
            (8, Issue::NeedsUnknownType { form: "free-text", entry_type: EntryType::User }),
            (9, Issue::UncSourceForPrincipal { entry_type: EntryType::Computer }),
            (10, Issue::UncDestinationForPrincipal { entry_type: EntryType::User }),
            (11, Issue::EmptyDestination),
            (12, Issue::RelativeNameOnUncPath),
            (13, Issue::UnwritableCharacter(1)),
            (14, Issue::DuplicateSource { first_row: 3 }),
            (16, Issue::DuplicateSource { first_row: 15 }),
        ]
    );
    let messages: Vec<String> = table.validate().iter().map(ToString::to_string).collect();
    assert_eq!(messages[0], "row 2: the same source as row 1 (sources are compared ignoring case); remove one of them");
    assert!(messages[1].starts_with("row 3: a UNC path cannot map to no destination"), "{}", messages[1]);
    assert!(messages[5].contains("needs the type Unknown (\"Free text or SID\" in GPMC), not GlobalGroup"));
}

#[test]
fn destination_principals_are_what_the_domain_must_hold() {
    let mut table = principal_table();
    table.push(row(EntryType::UncPath, r"\\fs01\x", set(r"\\fs02\x")));
    table.push(row(EntryType::User, r"CORP\svc", set(r"\\wrong\place")));
    let listed: Vec<(usize, String, EntryType, DestinationOrigin)> = table
        .destination_principals(&prod())
        .into_iter()
        .map(|d| (d.row, d.principal.to_string(), d.expected, d.origin))
        .collect();
    assert_eq!(
        listed,
        vec![
            (1, "jdoe@prod.example.com".into(), EntryType::User, DestinationOrigin::Explicit),
            (2, r"PROD\Finance-Admins".into(), EntryType::GlobalGroup, DestinationOrigin::Explicit),
            (
                3,
                "S-1-5-21-1004336348-1177238915-682003330-1120".into(),
                EntryType::Unknown,
                DestinationOrigin::SameAsSource
            ),
            (4, r"prod.example.com\Auditors".into(), EntryType::UniversalGroup, DestinationOrigin::RelativeName),
            (6, "HR Printers@prod.example.com".into(), EntryType::LocalGroup, DestinationOrigin::RelativeName),
        ]
    );
}

#[test]
fn target_domain_comes_from_the_directory() {
    let domain = DomainInfo {
        dns_name: "prod.example.com".into(),
        netbios_name: "PROD".into(),
        dn: "DC=prod,DC=example,DC=com".into(),
        sid: None,
        guid: String::new(),
        controller: String::new(),
    };
    assert_eq!(TargetDomain::from(&domain), prod());
}

fn arbitrary_row() -> impl Strategy<Value = Mapping> {
    let text = r"(\\\\)?[a-zA-Z0-9 .$@\\-]{0,16}";
    let destination = prop_oneof![
        text.prop_map(Destination::Set),
        Just(Destination::SameAsSource),
        Just(Destination::None),
        Just(Destination::ByRelativeName),
    ];
    (proptest::sample::select(EntryType::ALL.to_vec()), text, destination)
        .prop_map(|(entry_type, source, destination)| Mapping { entry_type, source, destination })
}

proptest! {
    /// Whatever the rows, checks and lookups never panic, and a table that validates clean
    /// survives saving and reading back.
    #[test]
    fn any_table_validates_looks_up_and_round_trips(rows in proptest::collection::vec(arbitrary_row(), 0..8)) {
        let table = MigrationTable::from_rows(rows.clone());
        let issues = table.validate();
        let _ = table.destination_principals(&prod());
        for mapping in &rows {
            let _ = table.lookup_text(&mapping.source, &prod());
            let _ = table.map_unc(&mapping.source);
        }
        if issues.is_empty() {
            let again = MigrationTable::from_bytes(&table.to_bytes()).unwrap();
            prop_assert_eq!(again.rows(), &rows[..]);
            prop_assert!(!again.is_modified());
        }
    }
}

#[test]
fn merging_adds_only_sources_the_table_does_not_map_yet() {
    let mut table = MigrationTable::from_rows(vec![
        row(EntryType::GlobalGroup, "Finance Users@corp.example.test", set("Finance@prod.example.com")),
        row(EntryType::UncPath, r"\\fs01\finance", set(r"\\fs02\finance")),
    ]);
    let populated = vec![
        // The same principal and path, written in another case: already there.
        row(EntryType::GlobalGroup, "FINANCE USERS@corp.example.test", Destination::SameAsSource),
        row(EntryType::UncPath, r"\\FS01\Finance", Destination::SameAsSource),
        row(EntryType::User, "alice@corp.example.test", Destination::SameAsSource),
        row(EntryType::UncPath, r"\\fs01\home", Destination::SameAsSource),
        // Twice in what is merged: added once.
        row(EntryType::User, "alice@corp.example.test", Destination::SameAsSource),
    ];
    let merged = table.merge(populated.clone());
    assert_eq!(merged, Merged { added: 2, already_there: 3 });
    assert_eq!(table.len(), 4);
    // The rows the admin edited keep their destinations; the new ones come after, in order.
    assert_eq!(table.rows()[0].destination, set("Finance@prod.example.com"));
    assert_eq!(table.rows()[2..], populated[2..4]);
    assert!(table.validate().is_empty(), "{:?}", table.validate());
}
