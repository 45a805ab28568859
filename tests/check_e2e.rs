//! `gpvault check` against the lab's corp domain: the test makes one of each problem of
//! issue 11's list (a GPO without SYSVOL folder, an orphan folder, a version mismatch, a link
//! to a GPO that does not exist, a cpassword in a Groups.xml, a GPO never backed up), asserts
//! each is reported on the right GPO, and that the seeded GPOs report exactly what they really
//! have. Everything it made is removed however it ends (guards below, OwnGpo).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use common::{Lab, OwnGpo, dc_gpo_folder, ldap_tool, run, stderr, stdout};
use serde_json::Value;

/// A password as GPMC stored them before MS14-025 (AES-encrypted, key published by Microsoft).
const SECRET: &str = "j1Uyj3Vx8TY9LtLZil2uAuZkFQA/4latT76ZwgdHdhw";

/// A folder the test made on the DC, removed at the end.
struct OwnFolder(PathBuf);

impl Drop for OwnFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An OU the test made (with a gPLink), deleted at the end.
struct OwnOu<'a> {
    lab: &'a Lab,
    dn: String,
}

impl Drop for OwnOu<'_> {
    fn drop(&mut self) {
        let server = self.lab.var("GPVAULT_LAB_CORP_SERVER");
        let dns = self.lab.var("GPVAULT_LAB_CORP_DOMAIN");
        let _ = std::process::Command::new("ldapdelete")
            .env("LDAPTLS_CACERT", self.lab.var("GPVAULT_LAB_CA"))
            .args(["-H", &format!("ldaps://{server}"), "-D", &format!("Administrator@{dns}"), "-w"])
            .arg(self.lab.password())
            .arg(&self.dn)
            .output();
    }
}

/// The realistic corp GPOs seed_gpos.py made (bulk ones left out): GUID → name.
fn seeded(lab: &Lab) -> BTreeMap<String, String> {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(lab.var("GPVAULT_LAB_CORP_MANIFEST")).unwrap()).unwrap();
    manifest["gpos"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| !g["bulk"].as_bool().unwrap_or(false))
        .map(|g| (g["guid"].as_str().unwrap().to_uppercase(), g["name"].as_str().unwrap().to_string()))
        .collect()
}

/// (check kind, extra) of every finding about the GPO `id`.
fn findings_of(report: &Value, id: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["gpo"]["id"].as_str().is_some_and(|g| g.eq_ignore_ascii_case(id)))
        .map(|f| {
            let extra = f["half"].as_str().or(f["file"].as_str()).or(f["container"].as_str()).unwrap_or("");
            (f["check"].as_str().unwrap().to_string(), extra.to_string())
        })
        .collect();
    found.sort();
    found
}

fn pair(check: &str, extra: &str) -> (String, String) {
    (check.to_string(), extra.to_string())
}

#[test]
fn check_reports_each_problem_on_its_gpo_and_the_seeded_estate_as_it_is() {
    let Some(lab) = Lab::get() else { return };
    let tag = std::process::id();
    let backups = tempfile::tempdir().unwrap();
    let seeded = seeded(&lab);

    // Every seeded GPO is backed up first, so only the test's own GPOs lack a backup.
    let mut backup = lab.gpvault("corp");
    backup.args(["backup", "--dir"]).arg(backups.path());
    backup.args(seeded.keys());
    run(backup);

    // A GPO in AD without its SYSVOL folder.
    let no_folder = OwnGpo::create(&lab, &format!("check-e2e no folder {tag}"));
    std::fs::remove_dir_all(dc_gpo_folder(&lab, "corp", &no_folder.id)).unwrap();
    // AD at version 0, GPT.INI says 7.
    let mismatch = OwnGpo::create(&lab, &format!("check-e2e version {tag}"));
    std::fs::write(dc_gpo_folder(&lab, "corp", &mismatch.id).join("GPT.INI"), "[General]\r\nVersion=7\r\n").unwrap();
    // A Groups.xml with a stored password.
    let password = OwnGpo::create(&lab, &format!("check-e2e cpassword {tag}"));
    let groups = dc_gpo_folder(&lab, "corp", &password.id).join("Machine/Preferences/Groups");
    std::fs::create_dir_all(&groups).unwrap();
    std::fs::write(
        groups.join("Groups.xml"),
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<Groups clsid="{{3125E937-EB16-4b4c-9934-544FC6D24D26}}"><User clsid="{{DF5F1855-51E5-4d24-8B1A-D9BDE98BA1D1}}" name="LocalSupport" image="2" changed="2013-07-04 00:07:13" uid="{{47F24835-4B58-4E48-A749-5A9F5AFB7CEF}}"><Properties action="U" newName="" fullName="" description="" cpassword="{SECRET}" changeLogon="0" noChange="1" neverExpires="1" acctDisabled="0" userName="LocalSupport"/></User></Groups>"#
        ),
    )
    .unwrap();
    // A GPO made after the backup: never backed up.
    let never = OwnGpo::create(&lab, &format!("check-e2e never backed up {tag}"));
    // An orphan folder: a {GUID} under Policies with no GPO.
    let orphan_id = format!("{{{}}}", uuid::Uuid::new_v4().to_string().to_uppercase());
    let policies =
        dc_gpo_folder(&lab, "corp", "{31B2F340-016D-11D2-945F-00C04FB984F9}").parent().unwrap().to_path_buf();
    let orphan = OwnFolder(policies.join(&orphan_id));
    std::fs::create_dir_all(orphan.0.join("Machine")).unwrap();
    std::fs::write(orphan.0.join("GPT.INI"), "[General]\r\nVersion=0\r\n").unwrap();
    // What a restore killed while writing a GPO's new folder beside it leaves.
    let leftover = OwnFolder(policies.join(format!("gpvault-new.{}.0badf00d", never.id)));
    std::fs::create_dir_all(leftover.0.join("Machine")).unwrap();
    // An OU linking a GPO that does not exist (what a GPO deleted without its links leaves).
    let ghost_id = format!("{{{}}}", uuid::Uuid::new_v4().to_string().to_uppercase());
    let domain_dn = lab.domain_dn("corp");
    let ou = OwnOu { lab: &lab, dn: format!("OU=check-e2e-{tag},{domain_dn}") };
    ldap_tool(
        &lab,
        "corp",
        "ldapadd",
        &[],
        &format!(
            "dn: {}\nobjectClass: organizationalUnit\ngPLink: [LDAP://cn={ghost_id},cn=policies,cn=system,{domain_dn};0]\n",
            ou.dn
        ),
    );

    let mut command = lab.gpvault("corp");
    command.args(["check", "--json", "--backups"]).arg(backups.path());
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "warnings and errors exit 1; stderr: {}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));

    let has = |id: &str, check: &str| findings_of(&report, id).iter().any(|(c, _)| c == check);
    assert!(has(&no_folder.id, "sysvol_folder_missing"), "{:?}", findings_of(&report, &no_folder.id));
    assert!(has(&mismatch.id, "version_mismatch"), "{:?}", findings_of(&report, &mismatch.id));
    let version = report["findings"].as_array().unwrap().iter().find(|f| {
        f["check"] == "version_mismatch" && f["gpo"]["id"].as_str().unwrap().eq_ignore_ascii_case(&mismatch.id)
    });
    assert_eq!(version.unwrap()["sysvol"], serde_json::json!({"user": 0, "machine": 7}));
    assert!(
        findings_of(&report, &password.id).contains(&pair("stored_password", "Machine/Preferences/Groups/Groups.xml"))
    );
    assert!(has(&never.id, "never_backed_up"), "{:?}", findings_of(&report, &never.id));
    assert_eq!(findings_of(&report, &orphan_id), [pair("orphan_folder", "")]);
    assert!(has(&never.id, "replacement_leftover"), "{:?}", findings_of(&report, &never.id));
    assert_eq!(findings_of(&report, &ghost_id), [pair("link_to_missing_gpo", &ou.dn)]);
    for own in [&no_folder, &mismatch, &password, &never] {
        let named = report["findings"].as_array().unwrap().iter().find(|f| f["gpo"]["id"].as_str() == Some(&own.id));
        assert!(named.unwrap()["gpo"]["name"].as_str().unwrap().starts_with("check-e2e "), "the GPO's name is given");
    }

    // What the seeded GPOs really have (scripts/seed_gpos.py, seed_corp): "Unlinked - Pilot
    // Settings" is linked nowhere; "New Group Policy Object" was never edited (only GPT.INI);
    // "Disabled User Half", "Disabled Machine Half" and "Fully Disabled" (flags 1, 2, 3) keep a
    // registry.pol in both halves; "Fully Disabled"'s one link (the domain, option 1) is
    // disabled. Everything else (versions equal, NT ACLs from sysvolreset, both WMI filters
    // used, every GPO backed up just now) is healthy.
    let expected: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::from([
        ("Unlinked - Pilot Settings", vec![pair("not_linked", "")]),
        ("New Group Policy Object", vec![pair("no_settings", "")]),
        ("Disabled User Half", vec![pair("disabled_half_holds_settings", "User")]),
        ("Disabled Machine Half", vec![pair("disabled_half_holds_settings", "Machine")]),
        (
            "Fully Disabled",
            vec![
                pair("all_links_disabled", ""),
                pair("disabled_half_holds_settings", "Machine"),
                pair("disabled_half_holds_settings", "User"),
            ],
        ),
    ]);
    for (id, name) in &seeded {
        let wanted = expected.get(name.as_str()).cloned().unwrap_or_default();
        assert_eq!(findings_of(&report, id), wanted, "{name} {id}");
    }
    let filters: BTreeSet<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "wmi_filter_unused")
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert!(!filters.contains("Laptops") && !filters.contains("Windows 11 Workstations"), "{filters:?}");

    // The password is named by file and item, and never printed, in JSON or text.
    let mut text = lab.gpvault("corp");
    text.args(["check", "--backups"]).arg(backups.path());
    let text = text.output().unwrap();
    for shown in [stdout(&out), stderr(&out), stdout(&text), stderr(&text)] {
        assert!(!shown.contains(SECRET), "the cpassword value was printed");
    }
    assert!(stdout(&text).contains("Groups.xml: item User \"LocalSupport\""), "{}", stdout(&text));
    let mut search = lab.gpvault("corp");
    search.args(["search", "LocalSupport", "--json"]);
    let search = search.output().unwrap();
    assert!(!stdout(&search).contains(SECRET) && !stderr(&search).contains(SECRET));
}
