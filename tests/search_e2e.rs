//! `gpvault search` against the lab, live and in a backup folder: a registry value, a principal
//! (by name: the directory resolves it to its SID) and a UNC path that scripts/seed_gpos.py put
//! in known GPOs, found there and nowhere else.
//!
//! The values are ones the bulk GPOs (seed_gpos.py bulk_gpo) never carry, so the assertions
//! hold on a lab with 1,000 of them too: UseTPMPIN is only in "WMI Filtered - Laptops";
//! \\fs01.corp.example.test\finance (and below it) only in "Finance Drive Maps" (the drive maps
//! F: and R:; "Folder Redirection - Staff" points at the share finance-home, which must not
//! match); "Branch Users" is in branch's "Branch Workstation Baseline" (user rights, file
//! security) and "Branch Drive Maps" (the S: drive's item-level targeting).

mod common;

use std::collections::BTreeSet;

use common::{Lab, run, stderr, stdout};
use serde_json::Value;

/// GPO names and (file, kind) of each hit.
fn hits(report: &Value) -> (BTreeSet<String>, BTreeSet<(String, String)>) {
    let hits = report["hits"].as_array().unwrap();
    let names = hits.iter().map(|h| h["gpo_name"].as_str().unwrap().to_string()).collect();
    let files = hits
        .iter()
        .map(|h| (h["file"].as_str().unwrap().to_string(), h["kind"].as_str().unwrap().to_string()))
        .collect();
    (names, files)
}

fn search(lab: &Lab, profile: &str, args: &[&str]) -> Value {
    let mut command = lab.gpvault(profile);
    command.arg("search").args(args).arg("--json");
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "found something: {}{}", stderr(&out), stdout(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn search_finds_a_registry_value_a_principal_and_a_path_live_and_in_backups() {
    let Some(lab) = Lab::get() else { return };
    let corp_backups = tempfile::tempdir().unwrap();
    let branch_backups = tempfile::tempdir().unwrap();
    // The backup folders hold the GPOs that match and others that do not.
    let mut backup = lab.gpvault("corp");
    backup.args(["backup", "--dir"]).arg(corp_backups.path());
    backup.args(["WMI Filtered - Laptops", "Finance Drive Maps", "Folder Redirection - Staff", "Workstation Baseline"]);
    run(backup);
    let mut backup = lab.gpvault("branch");
    backup.args(["backup", "--all", "--dir"]).arg(branch_backups.path());
    run(backup);
    let corp_dir = corp_backups.path().to_string_lossy().to_string();
    let branch_dir = branch_backups.path().to_string_lossy().to_string();

    for source in ["live", corp_dir.as_str()] {
        let report = search(&lab, "corp", &["UseTPMPIN", "--kind", "registry", "--in", source]);
        let (names, files) = hits(&report);
        assert_eq!(names, set(&["WMI Filtered - Laptops"]), "{source}");
        assert_eq!(files, BTreeSet::from([("Machine/registry.pol".into(), "registry".into())]), "{source}");
        let hit = &report["hits"][0];
        assert_eq!(hit["setting"], r"Software\Policies\Microsoft\FVE\UseTPMPIN");
        assert_eq!(hit["value"], "REG_DWORD 1");
        assert_eq!(hit["backup_id"].is_string(), source != "live", "backup hits name their instance");

        let report = search(&lab, "corp", &[r"\\fs01.corp.example.test\finance", "--in", source]);
        let (names, files) = hits(&report);
        assert_eq!(names, set(&["Finance Drive Maps"]), "{source}");
        assert_eq!(files, BTreeSet::from([("User/Preferences/Drives/Drives.xml".into(), "path".into())]));
        let values: BTreeSet<&str> =
            report["hits"].as_array().unwrap().iter().map(|h| h["value"].as_str().unwrap()).collect();
        assert_eq!(
            values,
            BTreeSet::from([r"\\fs01.corp.example.test\finance", r"\\fs01.corp.example.test\finance\reports"])
        );
    }

    let branch_sid = {
        let (sid, _) = common::lookup(&lab, "branch", "Branch Users");
        sid
    };
    for source in ["live", branch_dir.as_str()] {
        for text in ["Branch Users", r"BRANCH\Branch Users", branch_sid.as_str()] {
            let report = search(&lab, "branch", &[text, "--kind", "principal", "--in", source]);
            let (names, files) = hits(&report);
            assert_eq!(names, set(&["Branch Drive Maps", "Branch Workstation Baseline"]), "{text} in {source}");
            assert_eq!(
                files,
                BTreeSet::from([
                    ("Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf".into(), "principal".into()),
                    ("User/Preferences/Drives/Drives.xml".into(), "principal".into()),
                ]),
                "{text} in {source}"
            );
            // The drive's targeting names the group by SID, the user rights too.
            assert!(report["hits"].as_array().unwrap().iter().any(|h| h["value"] == branch_sid.as_str()));
        }
    }

    // Nothing found: exit 1, and the text form says so.
    let mut none = lab.gpvault("corp");
    none.args(["search", "NoSuchValueAnywhere-4242"]);
    let out = none.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("0 hits in 0 GPOs"), "{}", stdout(&out));
}
