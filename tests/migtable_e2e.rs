//! Migration tables against the real lab domains: populate on the GPOs scripts/seed_gpos.py
//! seeds in corp (every principal and UNC path it put there, nothing else), validate against
//! branch (missing destinations and wrong types are errors on their rows), and a table mapping
//! corp → branch applied to corp's settings files (every corp SID, name and UNC path gone, every
//! other byte as it was, compared with a byte replacement made here).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{Lab, lookup, replaced, samba_sddl, stdout, text_of};
use gpvault::config::{DomainTarget, TlsMode};
use gpvault::directory::{Directory, LdapDirectory};
use gpvault::migrate::apply::{self, ApplyError, ApplyInput, ApplyOptions, Lookups};
use gpvault::migrate::references::GpoReferences;
use gpvault::migrate::table::{Destination, EntryType, Mapping, MigrationTable, TargetDomain};
use gpvault::model::GpoFolder;
use gpvault::ops::migtable::{resolve, resolve_references};

fn read_table(path: &Path) -> MigrationTable {
    MigrationTable::from_bytes(&std::fs::read(path).unwrap()).unwrap()
}

fn rows_of(table: &MigrationTable) -> BTreeSet<(String, String)> {
    table.rows().iter().map(|m| (m.entry_type.xml_name().to_string(), m.source.clone())).collect()
}

fn populate(lab: &Lab, gpo: &str, with_dacl: bool, out: &Path) -> MigrationTable {
    let mut cmd = lab.gpvault("corp");
    cmd.args(["migtable", "populate", "--gpo", gpo, "--out", out.to_str().unwrap()]);
    if with_dacl {
        cmd.arg("--with-dacl");
    }
    let output = cmd.output().unwrap();
    assert!(output.status.success(), "{gpo}: {}", common::stderr(&output));
    assert!(stdout(&output).contains(&format!("from GPO \"{gpo}\"")), "{}", stdout(&output));
    read_table(out)
}

/// What seed_gpos.py put in each realistic corp GPO's settings: (principals by
/// sAMAccountName, UNC paths). Scripts and installers count by their folder, as GPMC lists them.
fn seeded(realm: &str) -> Vec<(&'static str, Vec<&'static str>, Vec<String>)> {
    let fs = |share: &str| format!(r"\\fs01.{realm}\{share}");
    vec![
        ("Default Domain Policy", vec![], vec![]),
        ("Default Domain Controllers Policy", vec!["Helpdesk"], vec![]),
        ("Workstation Baseline", vec!["Helpdesk", "Guest", "Domain Admins", "Workstation Admins"], vec![]),
        ("Server Hardening", vec!["Domain Users", "Helpdesk"], vec![]),
        (
            "Finance Drive Maps",
            vec!["Finance Users"],
            vec![fs("finance"), fs(r"finance\reports"), fs(r"home\%USERNAME%")],
        ),
        (
            "Folder Redirection - Staff",
            vec!["Finance Users", "Domain Users"],
            vec![
                fs(r"home\%USERNAME%\My Documents"),
                fs(r"finance-home\%USERNAME%\My Documents"),
                fs(r"home\%USERNAME%\Desktop"),
                fs(r"finance-home\%USERNAME%\Documents"),
                fs(r"home\%USERNAME%\Documents"),
            ],
        ),
        ("Logon Scripts", vec![], vec![format!(r"\\{realm}\NETLOGON")]),
        ("Software - 7-Zip", vec![], vec![fs(r"software\7zip"), fs(r"software\npp"), fs(r"software\adobe")]),
        ("Local Admins via GPP", vec!["Workstation Admins", "Helpdesk"], vec![]),
        ("Disabled User Half", vec![], vec![]),
        ("Disabled Machine Half", vec![], vec![]),
        ("Fully Disabled", vec![], vec![]),
        ("WMI Filtered - Laptops", vec![], vec![]),
        ("Delegated to Helpdesk", vec![], vec![]),
        ("Unlinked - Pilot Settings", vec![], vec![]),
        ("New Group Policy Object", vec![], vec![]),
    ]
}

#[test]
fn populate_finds_every_seeded_principal_and_path_and_nothing_else() {
    let Some(lab) = Lab::get() else { return };
    let realm = lab.var("GPVAULT_LAB_CORP_DOMAIN");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("corp.migtable");
    for (gpo, principals, paths) in seeded(&realm) {
        let table = populate(&lab, gpo, false, &out);
        let mut expected: BTreeSet<(String, String)> =
            paths.iter().map(|p| ("UNCPath".to_string(), p.clone())).collect();
        for sam in principals {
            let (_, kind) = lookup(&lab, "corp", sam);
            expected.insert((kind, format!("{sam}@{realm}")));
        }
        assert_eq!(rows_of(&table), expected, "{gpo}");
        assert!(table.rows().iter().all(|m| m.destination == Destination::SameAsSource), "{gpo}");
        // GPMC's own format: UTF-16LE with BOM.
        assert_eq!(&std::fs::read(&out).unwrap()[..2], [0xFF, 0xFE]);
    }
}

/// The domain principals a security descriptor names, read independently: Samba's SDDL of the
/// bytes ldapsearch returns, its domain-relative aliases and full SIDs named by ldapsearch.
fn sd_principals(lab: &Lab, sd: &[u8], domain_sid: &str) -> BTreeSet<String> {
    let sddl = samba_sddl(sd, domain_sid);
    let aliases = [
        ("DA", "Domain Admins"),
        ("EA", "Enterprise Admins"),
        ("DU", "Domain Users"),
        ("DC", "Domain Computers"),
        ("DD", "Domain Controllers"),
        ("SA", "Schema Admins"),
        ("CA", "Cert Publishers"),
        ("PA", "Group Policy Creator Owners"),
    ];
    let mut names = BTreeSet::new();
    for (alias, name) in aliases {
        if [format!(";;;{alias})"), format!("O:{alias}"), format!("G:{alias}")]
            .iter()
            .any(|t| sddl.contains(t.as_str()))
        {
            names.insert(name.to_string());
        }
    }
    for part in sddl.split([';', ')', ':', '(']) {
        if part.starts_with("S-1-5-21-") {
            let base = lab.domain_dn("corp");
            let found =
                lab.ldapsearch("corp", &base, "sub", &format!("(objectSid={part})"), &["sAMAccountName"], false);
            names.insert(found[0].text("sAMAccountName").unwrap());
        }
    }
    names
}

#[test]
fn populate_with_the_dacl_adds_the_principals_of_the_gpo_and_package_permissions() {
    let Some(lab) = Lab::get() else { return };
    let realm = lab.var("GPVAULT_LAB_CORP_DOMAIN");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(lab.var("GPVAULT_LAB_CORP_MANIFEST")).unwrap()).unwrap();
    let domain_sid = manifest["domain_sid"].as_str().unwrap().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("dacl.migtable");
    for (gpo, principals, _) in
        seeded(&realm).into_iter().filter(|(g, _, _)| ["Workstation Baseline", "Software - 7-Zip"].contains(g))
    {
        let guid = manifest["gpos"].as_array().unwrap().iter().find(|g| g["name"] == gpo).unwrap()["guid"]
            .as_str()
            .unwrap()
            .to_string();
        let gpo_dn = format!("CN={guid},CN=Policies,CN=System,{}", lab.domain_dn("corp"));
        // The GPO's descriptor and every package's, as the directory holds them.
        let mut wanted: BTreeSet<String> = principals.iter().map(|s| s.to_string()).collect();
        for entry in lab.ldapsearch(
            "corp",
            &gpo_dn,
            "sub",
            "(|(objectClass=groupPolicyContainer)(objectClass=packageRegistration))",
            &["nTSecurityDescriptor"],
            true,
        ) {
            wanted.extend(sd_principals(&lab, &entry.bytes("nTSecurityDescriptor").unwrap(), &domain_sid));
        }
        let table = populate(&lab, gpo, true, &out);
        let listed: BTreeSet<String> = table
            .rows()
            .iter()
            .filter(|m| m.entry_type != EntryType::UncPath)
            .map(|m| m.source.strip_suffix(&format!("@{realm}")).unwrap_or(&m.source).to_string())
            .collect();
        assert_eq!(listed, wanted, "{gpo}");
    }
}

fn write_table(path: &Path, rows: Vec<Mapping>) {
    std::fs::write(path, MigrationTable::from_rows(rows).to_bytes()).unwrap();
}

#[test]
fn validate_against_branch_reports_each_row() {
    let Some(lab) = Lab::get() else { return };
    if !lab.has_branch() {
        panic!("the branch lab domain is needed: scripts/lab up --two-domains");
    }
    let realm = lab.var("GPVAULT_LAB_CORP_DOMAIN");
    let branch = lab.var("GPVAULT_LAB_BRANCH_DOMAIN");
    let netbios = lab.var("GPVAULT_LAB_BRANCH_NETBIOS");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("to-branch.migtable");
    let row = |entry_type, source: String, destination| Mapping { entry_type, source, destination };
    write_table(
        &file,
        vec![
            row(
                EntryType::GlobalGroup,
                format!("Helpdesk@{realm}"),
                Destination::Set(format!("Branch Helpdesk@{branch}")),
            ),
            row(
                EntryType::GlobalGroup,
                format!("Finance Users@{realm}"),
                Destination::Set(format!("{netbios}\\No Such Group")),
            ),
            row(
                EntryType::GlobalGroup,
                format!("Workstation Admins@{realm}"),
                Destination::Set(format!("{netbios}\\frank.branch")),
            ),
            row(EntryType::GlobalGroup, format!("Domain Admins@{realm}"), Destination::ByRelativeName),
            row(
                EntryType::UncPath,
                format!(r"\\fs01.{realm}\finance"),
                Destination::Set(format!(r"\\fs01.{branch}\finance")),
            ),
            row(EntryType::UncPath, format!(r"\\{realm}\NETLOGON"), Destination::None),
        ],
    );
    let output = lab.gpvault("branch").args(["migtable", "validate", file.to_str().unwrap()]).output().unwrap();
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}{}", common::stderr(&output));
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("ok") || l.starts_with("ERROR")).collect();
    assert_eq!(lines.len(), 6, "one line per row:\n{text}");
    let (_, helpdesk_kind) = lookup(&lab, "branch", "Branch Helpdesk");
    assert!(
        lines[0].starts_with("ok") && lines[0].contains(&format!("[{netbios}\\Branch Helpdesk ({helpdesk_kind})]")),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("ERROR")
            && lines[1].contains(&format!("No Such Group (the destination) was not found in {branch}")),
        "{}",
        lines[1]
    );
    let (_, frank_kind) = lookup(&lab, "branch", "frank.branch");
    assert!(
        lines[2].starts_with("ERROR")
            && lines[2].contains(&format!("is a {frank_kind} in {branch}, but the row says GlobalGroup")),
        "{}",
        lines[2]
    );
    assert!(lines[3].starts_with("ok") && lines[3].contains("Domain Admins"), "{}", lines[3]);
    assert!(lines[4].starts_with("ok"), "{}", lines[4]);
    assert!(lines[5].starts_with("ERROR") && lines[5].contains("DestinationNone"), "{}", lines[5]);
    assert!(text.contains(&format!("6 rows: 3 ok, 3 with problems (checked against {branch})")), "{text}");
}

async fn directory(lab: &Lab, domain: &str) -> LdapDirectory {
    let upper = domain.to_uppercase();
    let target = DomainTarget {
        profile: None,
        server: lab.var(&format!("GPVAULT_LAB_{upper}_SERVER")),
        domain: lab.var(&format!("GPVAULT_LAB_{upper}_DOMAIN")),
        user: "Administrator".into(),
        password_env: None,
        ca_file: Some(PathBuf::from(lab.var("GPVAULT_LAB_CA"))),
        kerberos: false,
        sysvol_path: None,
        tls: TlsMode::Ldaps,
        insecure_tls: false,
    };
    LdapDirectory::connect(&target, &lab.password()).await.unwrap()
}

/// (corp name, branch name or `None` for the same name there) for every principal the table maps.
const PRINCIPALS: [(&str, Option<&str>, EntryType); 8] = [
    ("Helpdesk", Some("Branch Helpdesk"), EntryType::GlobalGroup),
    ("Finance Users", Some("Branch Users"), EntryType::GlobalGroup),
    ("Workstation Admins", Some("Kiosk Operators"), EntryType::GlobalGroup),
    ("GPO Editors", Some("Branch Helpdesk"), EntryType::GlobalGroup),
    ("Domain Admins", None, EntryType::GlobalGroup),
    ("Domain Users", None, EntryType::GlobalGroup),
    ("Enterprise Admins", None, EntryType::UniversalGroup),
    ("Guest", None, EntryType::User),
];

fn corp_to_branch(realm: &str, branch: &str, netbios: &str) -> Vec<Mapping> {
    let mut rows: Vec<Mapping> = PRINCIPALS
        .iter()
        .map(|(name, to, entry_type)| Mapping {
            entry_type: *entry_type,
            source: format!("{name}@{realm}"),
            destination: match to {
                Some(to) => Destination::Set(format!("{netbios}\\{to}")),
                None => Destination::ByRelativeName,
            },
        })
        .collect();
    rows.push(Mapping {
        entry_type: EntryType::UncPath,
        source: format!(r"\\{realm}\NETLOGON"),
        destination: Destination::Set(format!(r"\\{branch}\NETLOGON")),
    });
    for share in ["finance", "finance-home", "home", "software"] {
        rows.push(Mapping {
            entry_type: EntryType::UncPath,
            source: format!(r"\\fs01.{realm}\{share}"),
            destination: Destination::Set(format!(r"\\fs01.{branch}\{share}")),
        });
    }
    rows
}

fn is_settings_file(path: &str) -> bool {
    gpvault::formats::settings_file::SettingsFileKind::of_path(path).is_some()
}

#[tokio::test]
async fn a_corp_to_branch_table_maps_every_corp_reference_and_keeps_every_other_byte() {
    let Some(lab) = Lab::get() else { return };
    let (realm, branch_realm) = (lab.var("GPVAULT_LAB_CORP_DOMAIN"), lab.var("GPVAULT_LAB_BRANCH_DOMAIN"));
    let (corp_netbios, branch_netbios) = (lab.var("GPVAULT_LAB_CORP_NETBIOS"), lab.var("GPVAULT_LAB_BRANCH_NETBIOS"));
    let corp = directory(&lab, "corp").await;
    let branch = directory(&lab, "branch").await;
    let estate = corp.read_estate().await.unwrap();
    let children = corp.read_gpo_children().await.unwrap();
    let table = MigrationTable::from_rows(corp_to_branch(&realm, &branch_realm, &branch_netbios));
    let options = ApplyOptions {
        table: Some(&table),
        only_mapped: false,
        target: TargetDomain::from(branch.domain()),
        target_sid: branch.domain().sid.clone(),
    };

    // What the test expects, from ldapsearch in both domains: SIDs and names, corp → branch.
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, to, _) in PRINCIPALS {
        let to = to.unwrap_or(name);
        pairs.push((lookup(&lab, "corp", name).0, lookup(&lab, "branch", to).0));
        pairs.push((format!("{corp_netbios}\\{name}"), format!("{branch_netbios}\\{to}")));
    }
    pairs.push((format!(r"\\fs01.{realm}\"), format!(r"\\fs01.{branch_realm}\")));
    pairs.push((format!(r"\\{realm}\NETLOGON"), format!(r"\\{branch_realm}\NETLOGON")));
    let corp_sid = corp.domain().sid.clone().unwrap().to_string();

    let policies = PathBuf::from(lab.var("GPVAULT_LAB_CORP_SYSVOL")).join(&realm).join("Policies");
    let mut files_checked = 0;
    let mut mapped = 0;
    for (name, _, _) in seeded(&realm) {
        let gpo = estate.gpos.iter().find(|g| g.display_name == name).unwrap();
        let folder: GpoFolder = gpvault::sysvol::read_local_folder(&policies.join(gpo.id.to_string())).unwrap();
        let class_store = children.get(&gpo.id).cloned().unwrap_or_default();
        let dacl = gpo.security_descriptor.clone().unwrap();
        let input = ApplyInput { folder: &folder, class_store: &class_store, dacl: Some(&dacl) };
        let mut references = GpoReferences::of_folder(&folder);
        references.add_class_store(&class_store);
        references.add_dacl(&dacl);
        let source = resolve_references(&corp, corp.domain(), &references).await.unwrap();
        let (sids, names) = apply::destination_lookups(input, &options, &source);
        let target = resolve(&branch, branch.domain(), &sids, &names).await.unwrap();
        let applied = apply::apply(input, &options, Lookups { source: &source, target: &target })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        mapped += applied.report.mapped_count();

        for ((path, before), (out_path, after)) in folder.files().zip(applied.folder.files()) {
            assert_eq!(path, out_path);
            if is_settings_file(path) {
                assert_eq!(after, replaced(before, &pairs), "{name}: {path}\n{}", text_of(after));
                let text = text_of(after);
                for corp_text in [corp_sid.as_str(), &format!("{corp_netbios}\\"), realm.as_str()] {
                    assert!(!text.contains(corp_text), "{name}: {path} still names {corp_text}");
                }
                files_checked += 1;
            } else {
                assert_eq!(after, before, "{name}: {path} is no settings file and stays as it was");
            }
        }
        // Packages: installer paths on branch's server, no corp SID in their descriptors.
        for object in &applied.class_store {
            let text = format!("{:?}", object.attributes.get("msiFileList"));
            assert!(!text.contains(&realm), "{name}: {text}");
            let sd = object.attributes.get("nTSecurityDescriptor").map(|v| v[0].clone());
            if let Some(value) = sd {
                let bytes = match value {
                    gpvault::model::AttributeValue::Text(t) => t.into_bytes(),
                    gpvault::model::AttributeValue::Base64(b) => {
                        use base64::Engine;
                        base64::engine::general_purpose::STANDARD.decode(b).unwrap()
                    }
                };
                let sddl = samba_sddl(&bytes, "S-1-5-21-0-0-0");
                assert!(!sddl.contains(&corp_sid), "{name}: {}: {sddl}", object.dn);
            }
        }
        let dacl = applied.dacl.unwrap();
        assert!(!samba_sddl(&dacl.raw, "S-1-5-21-0-0-0").contains(&corp_sid), "{name}: DACL");
        // Only the advertise scripts are left, and only where a package is.
        for place in &applied.report.places {
            for left in &place.left {
                assert!(place.place.to_lowercase().ends_with(".aas"), "{name}: left {} in {}", left.value, place.place);
            }
        }
    }
    assert!(files_checked >= 15, "{files_checked} settings files");
    assert!(mapped > 60, "{mapped} references mapped");
}

#[tokio::test]
async fn only_mapped_with_one_row_missing_fails_and_lists_every_occurrence() {
    let Some(lab) = Lab::get() else { return };
    let (realm, branch_realm) = (lab.var("GPVAULT_LAB_CORP_DOMAIN"), lab.var("GPVAULT_LAB_BRANCH_DOMAIN"));
    let corp_netbios = lab.var("GPVAULT_LAB_CORP_NETBIOS");
    let corp = directory(&lab, "corp").await;
    let branch = directory(&lab, "branch").await;
    let estate = corp.read_estate().await.unwrap();
    let mut rows = corp_to_branch(&realm, &branch_realm, &lab.var("GPVAULT_LAB_BRANCH_NETBIOS"));
    rows.retain(|m| m.source != format!("Helpdesk@{realm}"));
    let table = MigrationTable::from_rows(rows);
    let options = ApplyOptions {
        table: Some(&table),
        only_mapped: true,
        target: TargetDomain::from(branch.domain()),
        target_sid: branch.domain().sid.clone(),
    };
    let (helpdesk_sid, _) = lookup(&lab, "corp", "Helpdesk");
    let policies = PathBuf::from(lab.var("GPVAULT_LAB_CORP_SYSVOL")).join(&realm).join("Policies");
    let gpo = estate.gpos.iter().find(|g| g.display_name == "Workstation Baseline").unwrap();
    let folder = gpvault::sysvol::read_local_folder(&policies.join(gpo.id.to_string())).unwrap();
    let input = ApplyInput { folder: &folder, class_store: &[], dacl: None };
    let references = GpoReferences::of_folder(&folder);
    let source = resolve_references(&corp, corp.domain(), &references).await.unwrap();
    let (sids, names) = apply::destination_lookups(input, &options, &source);
    let target = resolve(&branch, branch.domain(), &sids, &names).await.unwrap();
    let err = apply::apply(input, &options, Lookups { source: &source, target: &target }).unwrap_err();
    let ApplyError::Unmapped(unmapped) = &err else { panic!("{err}") };
    // Every occurrence of Helpdesk in the settings, counted here in the decoded text.
    let occurrences: usize = folder
        .files()
        .filter(|(p, _)| is_settings_file(p))
        .map(|(_, b)| {
            let text = text_of(b);
            text.matches(helpdesk_sid.as_str()).count() + text.matches(&format!("{corp_netbios}\\Helpdesk")).count()
        })
        .sum();
    assert!(occurrences > 3, "{occurrences}");
    assert_eq!(unmapped.len(), occurrences, "{err}");
    assert!(unmapped.iter().all(|p| p.value == helpdesk_sid || p.value == format!("{corp_netbios}\\Helpdesk")));
}

/// `gpvault` with no connection settings at all: populating from a backup and showing a table
/// read only files.
fn offline_gpvault() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gpvault"));
    for key in ["GPVAULT_SERVER", "GPVAULT_DOMAIN", "GPVAULT_USER", "GPVAULT_PASSWORD", "GPVAULT_PROFILE"] {
        cmd.env_remove(key);
    }
    cmd.env("GPVAULT_CONFIG", "/nonexistent/gpvault.toml").env("NO_COLOR", "1");
    cmd
}

#[test]
fn populate_from_a_gpmc_backup_needs_no_domain_and_writes_gpmc_bytes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpmc/technology-toolbox-fr");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fr.migtable");
    let output = offline_gpvault()
        .args(["migtable", "populate", "--backup", "{F5D718B7-BAFD-437F-8195-532AB42E2E13}"])
        .args(["--dir", dir.to_str().unwrap(), "--with-dacl", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", common::stderr(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with("4 principals and 6 UNC paths from the backup of GPO \"Folder Redirection Policy\""),
        "{text}"
    );
    let table = read_table(&out);
    // The Folder Redirection Users group from SecurityGroups, as GPMC writes it.
    assert!(
        rows_of(&table)
            .contains(&("UniversalGroup".to_string(), "Folder Redirection Users@corp.fabrikam.com".to_string()))
    );
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..2], [0xFF, 0xFE]);

    let shown = offline_gpvault().args(["migtable", "show", out.to_str().unwrap()]).output().unwrap();
    assert!(shown.status.success());
    let shown = stdout(&shown);
    let desktop = shown.lines().find(|l| l.contains(r"\\FAB-FS01\Users$\%USERNAME%\Desktop")).unwrap();
    assert!(desktop.contains("UNCPath") && desktop.trim_end().ends_with("(same as source)"), "{shown}");
    assert!(shown.contains(&format!("10 rows in {}, UTF-16LE with BOM", out.display())), "{shown}");

    let missing = offline_gpvault()
        .args(["migtable", "populate", "--backup", "{00000000-0000-0000-0000-000000000000}"])
        .args(["--dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    common::assert_one_line_failure(&missing, 2, &["no backup with ID", "backups list"]);
}
