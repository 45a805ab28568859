//! Backup folders are untrusted input: an instance that names a path climbing out of it (`..`)
//! or holds a symlink leading out of it (or is itself a symlink) is refused by `gpvault restore` and `gpvault import`
//! before anything is written, against the real lab DC. The GPO's directory object and SYSVOL
//! folder are compared byte for byte before and after each refused run; the untampered instance
//! then restores, showing the comparison would have seen a change.

mod common;

use std::path::Path;
use std::process::Output;

use common::{Lab, TestGpo, copy_tree, stderr, stdout};
use serde_json::Value;

const FILE: &str = "untrusted.txt";

/// A tampered copy of the instance `backup_id` of `dir`, in a folder of its own.
fn tampered(dir: &Path, backup_id: &str, tamper: &dyn Fn(&Path)) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&dir.join(backup_id), &copy.path().join(backup_id));
    tamper(&copy.path().join(backup_id));
    copy
}

fn edit_json(instance: &Path, edit: impl Fn(&mut Value)) {
    let path = instance.join("gpvault.json");
    let mut value: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(&path, serde_json::to_vec(&value).unwrap()).unwrap();
}

/// The gpvault.json entry of the test's file.
fn our_item(value: &mut Value) -> &mut Value {
    value["sysvol"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| i["path"].as_str().is_some_and(|p| p.ends_with(FILE)))
        .expect("gpvault.json lists the file")
}

fn said(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

#[test]
fn restore_and_import_refuse_paths_and_symlinks_leaving_the_instance_and_change_nothing() {
    let Some(lab) = Lab::get() else { return };
    let gpo = TestGpo::create(&lab, &format!("gpvault untrusted {}", std::process::id()));
    let dir = tempfile::tempdir().unwrap();
    gpo.put(&format!("Machine\\{FILE}"), "state A, backed up\r\n");
    let mut command = lab.gpvault("corp");
    command.args(["backup", &gpo.id, "--json", "--dir"]).arg(dir.path());
    let out = command.output().unwrap();
    assert!(out.status.success(), "backup: {}", said(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let backup_id = report["backed_up"][0]["backup_id"].as_str().unwrap().to_string();

    // The GPO moves on: what a restore or an import of the backup would change.
    gpo.put(&format!("Machine\\{FILE}"), "state C, after the backup\r\n");
    gpo.set_flags(1);
    let state_c = gpo.fingerprint();

    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), b"state A, backed up\r\n").unwrap();
    std::fs::create_dir(outside.path().join("Machine")).unwrap();
    std::fs::write(outside.path().join("Machine").join(FILE), b"state A, backed up\r\n").unwrap();
    let stored = format!("DomainSysvol/GPO/Machine/{FILE}");
    type Tamper = Box<dyn Fn(&Path)>;
    let secret = outside.path().join("secret");
    let outside_machine = outside.path().join("Machine");
    let moved_instance = outside.path().join("instance");
    let cases: Vec<(&str, Tamper, &[&str])> = vec![
        (
            "a stored copy named with '..'",
            Box::new(|i: &Path| {
                edit_json(i, |v| our_item(v)["stored_at"] = "DomainSysvol/GPO/../../../../../../etc/hostname".into())
            }),
            &["gpvault.json", "climbs out"],
        ),
        (
            "a SYSVOL path with '..'",
            Box::new(|i: &Path| edit_json(i, |v| our_item(v)["path"] = format!("Machine/../../{FILE}").into())),
            &["gpvault.json", "cannot be written to SYSVOL"],
        ),
        (
            "a GPMC location with '..' (no gpvault.json)",
            Box::new(|i: &Path| {
                std::fs::remove_file(i.join("gpvault.json")).unwrap();
                let path = i.join("Backup.xml");
                let text = std::fs::read_to_string(&path).unwrap();
                let location = format!(r"DomainSysvol\GPO\Machine\{FILE}");
                assert!(text.contains(&location), "Backup.xml locates {FILE}");
                std::fs::write(&path, text.replace(&location, r"DomainSysvol\GPO\..\..\..\..\..\etc\hostname"))
                    .unwrap();
            }),
            &["Backup.xml", "climbs out"],
        ),
        (
            "a symlinked file",
            Box::new(move |i: &Path| {
                let at = i.join(&stored);
                std::fs::remove_file(&at).unwrap();
                std::os::unix::fs::symlink(&secret, &at).unwrap();
            }),
            &[FILE, "symlink"],
        ),
        (
            "a symlinked folder",
            Box::new(move |i: &Path| {
                let at = i.join("DomainSysvol/GPO/Machine");
                std::fs::remove_dir_all(&at).unwrap();
                std::os::unix::fs::symlink(&outside_machine, &at).unwrap();
            }),
            &[FILE, "symlink"],
        ),
        (
            "a symlinked instance folder",
            Box::new(move |i: &Path| {
                std::fs::rename(i, &moved_instance).unwrap();
                std::os::unix::fs::symlink(&moved_instance, i).unwrap();
            }),
            &["instance folder, a symlink"],
        ),
    ];
    for (what, tamper, expected) in &cases {
        let copy = tampered(dir.path(), &backup_id, tamper.as_ref());
        let mut restore = lab.gpvault("corp");
        restore.args(["restore", &backup_id, "--yes", "--dir"]).arg(copy.path());
        let mut import = lab.gpvault("corp");
        import.args(["import", &backup_id, "--into", &gpo.id, "--yes", "--dir"]).arg(copy.path());
        for (command, mut run) in [("restore", restore), ("import", import)] {
            let out = run.output().unwrap();
            assert!(!out.status.success(), "{command} of {what} is refused: {}", said(&out));
            for word in *expected {
                assert!(said(&out).contains(word), "{command} of {what} names {word}: {}", said(&out));
            }
            assert!(gpo.fingerprint() == state_c, "{command} of {what} changed the GPO");
        }
    }

    // The untampered instance restores: the comparison above sees a change when there is one.
    let mut restore = lab.gpvault("corp");
    restore.args(["restore", &backup_id, "--yes", "--dir"]).arg(dir.path());
    let out = restore.output().unwrap();
    assert!(out.status.success(), "restore: {}", said(&out));
    let state_a = gpo.fingerprint();
    assert_ne!(state_a, state_c);
    assert_eq!(state_a[&format!("file:machine/{FILE}")], b"state A, backed up\r\n");
}
