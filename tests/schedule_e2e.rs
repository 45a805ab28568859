//! Scheduled backups against the real lab DCs: `backup --all --keep N` prunes only after a run
//! in which every GPO was backed up, `--quiet` prints nothing unless something failed, and the
//! shipped systemd service's own command line backs up the lab.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Lab, copy_tree, stderr, stdout};
use gpvault::formats::BackupInfo;
use serde_json::Value;

const DEFAULT_DOMAIN_POLICY: &str = "{31B2F340-016D-11D2-945F-00C04FB984F9}";

/// The instances in `dir`, read from each folder's own bkupInfo.xml: backup ID → GPO GUID.
fn instances(dir: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with('{') {
            continue;
        }
        let info = BackupInfo::parse(&std::fs::read(path.join("bkupInfo.xml")).unwrap()).unwrap();
        assert!(info.id.eq_ignore_ascii_case(&name), "folder {name} holds backup {}", info.id);
        found.insert(info.id.to_uppercase(), info.gpo_guid.to_uppercase());
    }
    found
}

/// A `--json` run's backed-up instances: GPO GUID → backup ID.
fn backed_up(out: &Output) -> BTreeMap<String, String> {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    let report: Value = serde_json::from_str(&stdout(out)).unwrap();
    assert_eq!(report["failed"].as_array().unwrap().len(), 0, "{report}");
    report["backed_up"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["gpo_id"].as_str().unwrap().to_uppercase(), b["backup_id"].as_str().unwrap().to_uppercase()))
        .collect()
}

fn backup_all(lab: &Lab, dir: &Path, extra: &[&str]) -> Output {
    lab.gpvault("corp").args(["backup", "--all", "--dir", dir.to_str().unwrap()]).args(extra).output().unwrap()
}

/// Three runs with `--keep 2`: after each, every GPO has exactly the instances of its last two
/// runs (GPOs another test adds meanwhile count from the run that first saw them).
#[test]
fn keep_prunes_to_the_newest_instances_of_each_gpo_after_a_clean_run() {
    let Some(lab) = Lab::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut made: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for run in 0..3 {
        let out = backup_all(&lab, dir.path(), &["--keep", "2", "--json"]);
        let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
        for (gpo, id) in backed_up(&out) {
            made.entry(gpo).or_default().push(id);
        }
        let deleted: BTreeSet<String> = report["prune"]["deleted"]
            .as_array()
            .unwrap_or_else(|| panic!("run {run}: a prune report: {report}"))
            .iter()
            .map(|id| id.as_str().unwrap().to_uppercase())
            .collect();
        assert!(report["prune"]["failed"].as_array().unwrap().is_empty(), "{report}");

        let expected: BTreeMap<String, String> = made
            .iter()
            .flat_map(|(gpo, ids)| ids.iter().rev().take(2).map(move |id| (id.clone(), gpo.clone())))
            .collect();
        assert_eq!(instances(dir.path()), expected, "after run {run}");
        let older: BTreeSet<String> = made.values().flat_map(|ids| ids.iter().rev().skip(2).take(1).cloned()).collect();
        assert_eq!(deleted, older, "run {run} deleted exactly the instances that fell out");
    }
    assert!(made[DEFAULT_DOMAIN_POLICY].len() == 3 && made.len() >= 10, "{made:?}");
    // manifest.xml lists what is there, nothing pruned.
    let manifest = std::fs::read_to_string(dir.path().join("manifest.xml")).unwrap().to_uppercase();
    for id in made.values().flatten() {
        assert_eq!(manifest.contains(id.as_str()), instances(dir.path()).contains_key(id), "{id} in manifest.xml");
    }
}

#[test]
fn quiet_prints_nothing_for_a_clean_run_and_keep_needs_all() {
    let Some(lab) = Lab::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = backup_all(&lab, dir.path(), &["--quiet", "--keep", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!((stdout(&out).as_str(), stderr(&out).as_str()), ("", ""), "a clean quiet run says nothing");
    let written = instances(dir.path());
    assert!(written.len() >= 10, "{written:?}");
    assert!(written.values().any(|gpo| gpo == DEFAULT_DOMAIN_POLICY), "{written:?}");
    // The same run without --quiet says what it did.
    let loud = backup_all(&lab, dir.path(), &["--keep", "1"]);
    assert_eq!(loud.status.code(), Some(0), "{}", stderr(&loud));
    assert!(stdout(&loud).contains("pruned from"), "{}", stdout(&loud));
    assert_eq!(instances(dir.path()).len(), written.len(), "one instance of each GPO kept");

    // --keep prunes the whole folder, so it goes with --all only; 0 would delete everything.
    let named = lab
        .gpvault("corp")
        .args(["backup", "Default Domain Policy", "--keep", "1", "--dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(named.status.code(), Some(2), "{}", stderr(&named));
    assert!(stderr(&named).contains("--keep"), "{}", stderr(&named));
    let zero = backup_all(&lab, dir.path(), &["--keep", "0"]);
    assert_eq!(zero.status.code(), Some(2), "{}", stderr(&zero));
    assert_eq!(instances(dir.path()).len(), written.len(), "refused runs touch nothing");
}

/// A GPO whose SYSVOL folder is missing from a local copy of the DC's SYSVOL (so the lab
/// itself is never broken) fails; the run prunes nothing and `--quiet` prints only that.
#[test]
fn a_failed_run_prunes_nothing_and_quiet_prints_only_the_failure() {
    let Some(lab) = Lab::get() else { return };
    let sysvol = tempfile::tempdir().unwrap();
    copy_tree(Path::new(&lab.var("GPVAULT_LAB_CORP_SYSVOL")), sysvol.path());
    let policies = sysvol.path().join(lab.var("GPVAULT_LAB_CORP_DOMAIN")).join("Policies");
    let broken = std::fs::read_dir(&policies)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().eq_ignore_ascii_case(DEFAULT_DOMAIN_POLICY))
        .unwrap();
    std::fs::remove_dir_all(&broken).unwrap();
    let local = ["--sysvol-path", sysvol.path().to_str().unwrap()];

    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        backed_up(&backup_all(&lab, dir.path(), &["--json"]));
    }
    let before = instances(dir.path());

    let out = lab
        .gpvault("corp")
        .args(local)
        .args(["backup", "--all", "--keep", "1", "--quiet", "--dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "exit 1 as without --quiet: {}", stderr(&out));
    assert_eq!(stdout(&out), "", "nothing on stdout");
    let err = stderr(&out);
    let failed: Vec<&str> = err.lines().filter(|l| l.starts_with("FAILED")).collect();
    assert_eq!(failed.len(), 1, "{err}");
    assert!(failed[0].contains(DEFAULT_DOMAIN_POLICY) && failed[0].contains("Default Domain Policy"), "{err}");
    assert!(err.contains("nothing was pruned") && err.contains("1 GPO(s) failed"), "{err}");
    assert!(!err.contains("ok ") && !err.contains("->"), "no line for the GPOs that worked: {err}");

    let after = instances(dir.path());
    assert!(before.iter().all(|(id, gpo)| after.get(id) == Some(gpo)), "every older instance is still there");
    let new: Vec<&String> = after.keys().filter(|id| !before.contains_key(*id)).collect();
    assert!(!new.is_empty() && after.len() > before.len(), "the GPOs that worked were backed up");
    assert!(new.iter().all(|id| after[*id] != DEFAULT_DOMAIN_POLICY), "no instance of the failed GPO");

    // --json says the same.
    let json = lab
        .gpvault("corp")
        .args(local)
        .args(["backup", "--all", "--keep", "1", "--json", "--dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let report: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert!(report["prune"]["skipped"].as_str().unwrap().contains("nothing was pruned"), "{report}");
    assert!(report["prune"]["deleted"].as_array().unwrap().is_empty(), "{report}");
}

/// One unit file's `Key=value` lines, in order (comments and sections left out).
fn unit_lines(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';') && !l.starts_with('['))
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .collect()
}

/// `${NAME}` and `$NAME` replaced from `env`, as systemd does in ExecStart (the words are then
/// split on white space: the unit quotes nothing).
fn expand(command_line: &str, env: &HashMap<String, String>) -> Vec<String> {
    let mut text = command_line.to_string();
    let mut names: Vec<&String> = env.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for name in names {
        text = text.replace(&format!("${{{name}}}"), &env[name]).replace(&format!("${name}"), &env[name]);
    }
    assert!(!text.contains('$'), "every variable of ExecStart is set by the unit: {text}");
    text.split_whitespace().map(str::to_string).collect()
}

fn contrib() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/systemd")
}

/// The service's ExecStart, with its Environment= values, except the config, profile and folder,
/// which the test points at the lab and a temp folder; /usr/bin/gpvault is the binary built here.
#[test]
fn the_systemd_service_command_line_backs_up_the_lab() {
    let Some(lab) = Lab::get() else { return };
    let service = unit_lines(&contrib().join("gpvault-backup.service"));
    let exec: Vec<&String> = service.iter().filter(|(k, _)| k == "ExecStart").map(|(_, v)| v).collect();
    assert_eq!(exec.len(), 1, "one ExecStart: {service:?}");
    assert_eq!(service.iter().find(|(k, _)| k == "Type").map(|(_, v)| v.as_str()), Some("oneshot"));

    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let mut env: HashMap<String, String> = service
        .iter()
        .filter(|(k, _)| k == "Environment")
        .filter_map(|(_, v)| v.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    for (name, value) in [
        ("GPVAULT_CONFIG", lab.var("GPVAULT_CONFIG")),
        ("GPVAULT_PROFILE", "corp".to_string()),
        ("GPVAULT_BACKUP_DIR", backups.display().to_string()),
    ] {
        assert!(env.contains_key(name), "the unit sets {name}: {env:?}");
        env.insert(name.to_string(), value);
    }
    let words = expand(exec[0], &env);
    assert_eq!(words[0], "/usr/bin/gpvault", "{words:?}");
    assert!(words.contains(&"--quiet".to_string()) && words.contains(&"--keep".to_string()), "{words:?}");

    // lab.gpvault: the built binary with the lab's password variable; the unit's environment over it.
    let run = || lab.gpvault("corp").envs(&env).args(&words[1..]).output().unwrap();
    for _ in 0..2 {
        let out = run();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!((stdout(&out).as_str(), stderr(&out).as_str()), ("", ""), "a clean run is silent in the journal");
    }
    let keep: usize = env["GPVAULT_KEEP"].parse().unwrap();
    assert!(keep >= 2, "the unit keeps more than one night: {keep}");
    let mut per_gpo: BTreeMap<String, usize> = BTreeMap::new();
    for gpo in instances(&backups).into_values() {
        *per_gpo.entry(gpo).or_default() += 1;
    }
    assert_eq!(per_gpo.get(DEFAULT_DOMAIN_POLICY), Some(&2), "{per_gpo:?}");
    assert!(per_gpo.values().all(|n| *n <= 2) && per_gpo.len() >= 10, "both runs kept: {per_gpo:?}");

    let timer = unit_lines(&contrib().join("gpvault-backup.timer"));
    let value = |key: &str| timer.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    assert_eq!(value("Persistent"), Some("true"));
    assert_eq!(value("Unit"), Some("gpvault-backup.service"));
    assert!(value("OnCalendar").is_some(), "{timer:?}");
}
