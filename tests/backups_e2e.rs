//! Manage Backups against the real lab DCs, on instances made by `gpvault backup`: list (with
//! sizes, by GPO, deleted GPOs), show, diff with the live GPO, delete, prune and verify.
//!
//! Tests that change the domain do it on the second (branch) domain, on GPOs they create and
//! remove themselves, so they never disturb the corp tests running alongside.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Lab, dc_gpo_folder, stderr, stdout};
use gpvault::formats::Manifest;
use gpvault::formats::registry_pol::{PolEntry, RegistryPol};
use serde_json::Value;

/// `gpvault` without a connection (the commands that only read a folder).
fn offline() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gpvault"));
    cmd.stdin(Stdio::null()).env("NO_COLOR", "1");
    cmd
}

fn ok(out: &Output) -> &Output {
    assert!(
        out.status.code() == Some(0),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// Backs up `gpos` of `profile`'s domain into `dir`; returns the backup IDs, in the order named.
fn back_up(lab: &Lab, profile: &str, gpos: &[&str], dir: &Path, comment: &str) -> Vec<String> {
    let out = lab
        .gpvault(profile)
        .args(["backup", "--dir", dir.to_str().unwrap(), "--comment", comment, "--json"])
        .args(gpos)
        .output()
        .unwrap();
    let report = json(ok(&out));
    let made = report["backed_up"].as_array().unwrap();
    assert_eq!(made.len(), gpos.len(), "{report}");
    gpos.iter()
        .map(|gpo| {
            made.iter()
                .find(|b| b["display_name"] == *gpo || b["gpo_id"].as_str().unwrap().eq_ignore_ascii_case(gpo))
                .unwrap_or_else(|| panic!("{gpo} in {report}"))["backup_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn list(dir: &Path, extra: &[&str]) -> Vec<Value> {
    let out =
        offline().args(["backups", "list", "--json", "--dir", dir.to_str().unwrap()]).args(extra).output().unwrap();
    json(ok(&out)).as_array().unwrap().clone()
}

fn ids(rows: &[Value]) -> BTreeSet<String> {
    rows.iter().map(|r| r["backup_id"].as_str().unwrap().to_string()).collect()
}

fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_below(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A sub-folder of `dir` by name, any case (Samba writes MACHINE, Windows Machine).
fn child_any_case(dir: &Path, name: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().eq_ignore_ascii_case(name))
        .unwrap_or_else(|| dir.join(name))
}

#[test]
fn list_and_show_name_what_the_domain_holds() {
    let Some(lab) = Lab::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    let gpos = ["Logon Scripts", "Software - 7-Zip", "WMI Filtered - Laptops", "Workstation Baseline"];
    let made = back_up(&lab, "corp", &gpos, dir.path(), "show me");

    // The list: every instance, made by gpvault, with the size of its files as they are on disk.
    let rows = list(dir.path(), &[]);
    assert_eq!(ids(&rows), made.iter().cloned().collect());
    for row in &rows {
        assert_eq!(row["made_by_gpvault"], true);
        assert_eq!(row["comment"], "show me");
        let folder = dir.path().join(row["backup_id"].as_str().unwrap());
        let on_disk: u64 = files_below(&folder).iter().map(|f| f.metadata().unwrap().len()).sum();
        assert_eq!(row["size_bytes"].as_u64(), Some(on_disk), "{row}");
    }
    let by_name = list(dir.path(), &["--gpo", "logon scripts"]);
    assert_eq!(ids(&by_name), BTreeSet::from([made[0].clone()]));
    let out = offline().args(["backups", "list", "--dir", dir.path().to_str().unwrap()]).output().unwrap();
    assert!(!stderr(ok(&out)).contains("out of date"), "a fresh manifest is used as is: {}", stderr(&out));

    let show = |id: &str| -> (Value, String) {
        let d = dir.path().to_str().unwrap();
        let structured = json(ok(&offline().args(["backups", "show", id, "--dir", d, "--json"]).output().unwrap()));
        let text = stdout(ok(&offline().args(["backups", "show", id, "--dir", d]).output().unwrap()));
        (structured, text)
    };

    // Logon Scripts: its links are the containers whose gPLink names it, as ldapsearch sees them.
    let (logon, text) = show(&made[0]);
    let guid = logon["gpo"]["gpo_id"].as_str().unwrap().to_string();
    let linked: BTreeSet<String> = lab
        .ldapsearch("corp", &lab.domain_dn("corp"), "sub", &format!("(gPLink=*{guid}*)"), &["dn"], false)
        .iter()
        .map(|e| e.dn.to_lowercase())
        .collect();
    let shown: BTreeSet<String> = logon["gpo"]["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["container_dn"].as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(shown, linked);
    assert!(linked.len() >= 3, "seeded in three places: {linked:?}");
    // Every script the DC's scripts.ini files name is shown under Scripts.
    let dc_folder = dc_gpo_folder(&lab, "corp", &guid);
    let mut scripts = 0;
    for ini in
        files_below(&dc_folder).iter().filter(|p| p.file_name().unwrap().to_string_lossy().ends_with("scripts.ini"))
    {
        let bytes = std::fs::read(ini).unwrap();
        let text_ini = gpvault::formats::text::decode_utf8_or_utf16(&bytes, "scripts.ini").unwrap();
        for line in text_ini.lines().filter_map(|l| l.split_once("CmdLine=")) {
            assert!(text.contains(line.1.trim()), "{} not shown:\n{text}", line.1);
            scripts += 1;
        }
    }
    assert!(scripts >= 4, "{scripts} scripts");
    assert!(text.contains("\nScripts\n"), "{text}");

    // Software - 7-Zip: one package per packageRegistration object below the GPO.
    let (software, text) = show(&made[1]);
    let guid = software["gpo"]["gpo_id"].as_str().unwrap().to_string();
    let base = format!("CN={guid},CN=Policies,CN=System,{}", lab.domain_dn("corp"));
    let in_ad = lab.ldapsearch("corp", &base, "sub", "(objectClass=packageRegistration)", &["displayName"], false);
    let packages = software["gpo"]["packages"].as_array().unwrap();
    assert_eq!(packages.len(), in_ad.len());
    for entry in &in_ad {
        let name = entry.text("displayName").unwrap();
        assert!(text.contains(&name), "package {name} not shown");
    }

    // WMI Filtered - Laptops: the filter the seed linked, with its query.
    let (wmi, text) = show(&made[2]);
    assert_eq!(wmi["gpo"]["wmi_filter"]["name"], "Laptops");
    assert!(wmi["gpo"]["wmi_filter"]["query"].as_str().unwrap().contains("SELECT"), "{}", wmi["gpo"]["wmi_filter"]);
    assert!(text.contains("WMI filter:       Laptops"), "{text}");

    // Workstation Baseline: the seeded deny of Apply to Workstation Admins, named; its settings.
    let (_, text) = show(&made[3]);
    assert!(
        text.lines()
            .any(|l| l.contains("Deny") && l.contains("CORP\\Workstation Admins") && l.contains("Apply Group Policy")),
        "{text}"
    );
    for area in ["Administrative Templates", "Security Settings"] {
        assert!(text.lines().any(|l| l == area), "no {area} in:\n{text}");
    }
}

/// Runs ldapmodify against the branch DC.
fn ldapmodify(lab: &Lab, ldif: &str) {
    use std::io::Write;
    let mut child = Command::new("ldapmodify")
        .env("LDAPTLS_CACERT", lab.var("GPVAULT_LAB_CA"))
        .args(["-H", &format!("ldaps://{}", lab.var("GPVAULT_LAB_BRANCH_SERVER"))])
        .args(["-D", "Administrator@branch.example.test", "-w", &lab.password()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(ldif.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "ldapmodify: {}", stderr(&out));
}

/// A GPO made for one test in the branch domain, deleted when the test ends however it ends.
struct ScratchGpo<'a> {
    lab: &'a Lab,
    id: String,
    deleted: bool,
}

impl<'a> ScratchGpo<'a> {
    fn create(lab: &'a Lab, name: &str) -> Self {
        let out = Command::new("samba-tool")
            .args(["gpo", "create", name, "-H", &format!("ldap://{}", lab.var("GPVAULT_LAB_BRANCH_SERVER"))])
            .args(["-U", &format!("Administrator%{}", lab.password())])
            .output()
            .unwrap();
        assert!(out.status.success(), "samba-tool gpo create: {}", stderr(&out));
        let text = stdout(&out);
        let id = text[text.find('{').unwrap()..=text.find('}').unwrap()].to_string();
        ScratchGpo { lab, id, deleted: false }
    }

    fn delete(&mut self) {
        let out = Command::new("samba-tool")
            .args(["gpo", "del", &self.id, "-H", &format!("ldap://{}", self.lab.var("GPVAULT_LAB_BRANCH_SERVER"))])
            .args(["-U", &format!("Administrator%{}", self.lab.password())])
            .output()
            .unwrap();
        assert!(out.status.success(), "samba-tool gpo del: {}", stderr(&out));
        self.deleted = true;
    }

    fn dn(&self) -> String {
        format!("CN={},CN=Policies,CN=System,{}", self.id, self.lab.domain_dn("branch"))
    }
}

impl Drop for ScratchGpo<'_> {
    fn drop(&mut self) {
        if !self.deleted {
            let _ = Command::new("samba-tool")
                .args(["gpo", "del", &self.id, "-H", &format!("ldap://{}", self.lab.var("GPVAULT_LAB_BRANCH_SERVER"))])
                .args(["-U", &format!("Administrator%{}", self.lab.password())])
                .output();
        }
    }
}

fn diff_lines(out: &Output) -> BTreeSet<String> {
    json(out)["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{} {} {} {} {}",
                l["change"].as_str().unwrap(),
                l["area"].as_str().unwrap(),
                l["item"].as_str().unwrap(),
                l["old"].as_str().unwrap_or("-"),
                l["new"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

#[test]
fn diff_live_names_each_change_and_deleted_gpos_are_listed() {
    let Some(lab) = Lab::get() else { return };
    assert!(lab.has_branch(), "the lab must run with --two-domains");
    let mut gpo = ScratchGpo::create(&lab, &format!("Manage Backups diff {}", std::process::id()));
    let key = r"Software\Policies\gpvault\test";
    let machine = child_any_case(&dc_gpo_folder(&lab, "branch", &gpo.id), "Machine");
    std::fs::create_dir_all(&machine).unwrap();
    let write_pol = |entries: Vec<PolEntry>| {
        let mut pol = RegistryPol::new();
        pol.entries = entries;
        std::fs::write(machine.join("Registry.pol"), pol.to_bytes()).unwrap();
    };
    write_pol(vec![PolEntry::dword(key, "Kept", 1), PolEntry::dword(key, "Changed", 1)]);

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let first = back_up(&lab, "branch", &[&gpo.id], dir.path(), "before")[0].clone();
    let still_there = back_up(&lab, "branch", &["Branch Drive Maps"], dir.path(), "stays")[0].clone();
    let other_domain = back_up(&lab, "corp", &["Unlinked - Pilot Settings"], dir.path(), "corp")[0].clone();
    let diff_live = |id: &str| {
        lab.gpvault("branch").args(["backups", "diff", id, "--live", "--json", "--dir", d]).output().unwrap()
    };

    // Right after the backup, the live GPO is the backup.
    let same = diff_live(&first);
    assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));
    assert!(json(&same)["lines"].as_array().unwrap().is_empty());

    // Change a value, add one, disable the user half, drop a file beside the settings.
    write_pol(vec![
        PolEntry::dword(key, "Kept", 1),
        PolEntry::dword(key, "Changed", 2),
        PolEntry::dword(key, "Added", 3),
    ]);
    std::fs::write(machine.join("notes.txt"), b"hello").unwrap();
    ldapmodify(&lab, &format!("dn: {}\nchangetype: modify\nreplace: flags\nflags: 1\n", gpo.dn()));

    let pol = format!("{}/Registry.pol", machine.file_name().unwrap().to_string_lossy());
    let expected: BTreeSet<String> = [
        "changed GPO Status Enabled (flags 0) User configuration settings disabled (flags 1)".to_string(),
        format!("changed Administrative Templates {pol}: {key}\\Changed REG_DWORD 1 REG_DWORD 2"),
        format!("added Administrative Templates {pol}: {key}\\Added - REG_DWORD 3"),
        format!("added Files {}/notes.txt - 5 bytes", machine.file_name().unwrap().to_string_lossy()),
    ]
    .into_iter()
    .collect();
    let changed = diff_live(&first);
    assert_eq!(changed.status.code(), Some(1), "different: exit 1; {}", stderr(&changed));
    let lines = diff_lines(&changed);
    // The backup spells the half as GPMC does (Machine), the DC as Samba made it: compare
    // without case.
    let lower = |set: &BTreeSet<String>| set.iter().map(|l| l.to_lowercase()).collect::<BTreeSet<_>>();
    assert_eq!(lower(&lines), lower(&expected));
    let text = lab.gpvault("branch").args(["backups", "diff", &first, "--live", "--dir", d]).output().unwrap();
    assert_eq!(text.status.code(), Some(1));
    assert!(stdout(&text).contains("REG_DWORD 1 -> REG_DWORD 2"), "{}", stdout(&text));

    // A second backup differs from the first by the same settings (its versions are the same:
    // nothing bumped them). GPMC's backup time counts whole seconds, so the second backup is
    // made in a later second than the first: "latest" cannot tell two of the same second apart.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = back_up(&lab, "branch", &[&gpo.id], dir.path(), "after")[0].clone();
    let between = offline().args(["backups", "diff", &first, &second, "--json", "--dir", d]).output().unwrap();
    assert_eq!(between.status.code(), Some(1));
    assert_eq!(lower(&diff_lines(&between)), lower(&expected));

    // Once the GPO is deleted, its backups are what --deleted lists: not the GPO that still
    // exists, and not the other domain's.
    gpo.delete();
    let out = lab.gpvault("branch").args(["backups", "list", "--deleted", "--json", "--dir", d]).output().unwrap();
    let deleted = ids(json(ok(&out)).as_array().unwrap());
    assert_eq!(deleted, BTreeSet::from([first.clone(), second.clone()]));
    assert!(!deleted.contains(&still_there) && !deleted.contains(&other_domain));
    assert!(stderr(&out).contains("other domains"), "{}", stderr(&out));
    let latest = lab
        .gpvault("branch")
        .args(["backups", "list", "--deleted", "--latest", "--json", "--dir", d])
        .output()
        .unwrap();
    assert_eq!(ids(json(ok(&latest)).as_array().unwrap()), BTreeSet::from([second]));
    // And comparing with a live GPO that is gone says so.
    let gone = diff_live(&first);
    assert_eq!(gone.status.code(), Some(2));
    assert!(stderr(&gone).contains("no longer exists"), "{}", stderr(&gone));
    // A backup of another domain is not compared with this one's GPO of the same name.
    let elsewhere = diff_live(&other_domain);
    assert_eq!(elsewhere.status.code(), Some(2));
    assert!(stderr(&elsewhere).contains("corp.example.test"), "{}", stderr(&elsewhere));
}

fn manifest_ids(dir: &Path) -> BTreeSet<String> {
    Manifest::parse(&std::fs::read(dir.join("manifest.xml")).unwrap())
        .unwrap()
        .backups
        .into_iter()
        .map(|b| b.id)
        .collect()
}

#[test]
fn delete_prune_and_verify_on_gpvault_backups() {
    let Some(lab) = Lab::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let mut hardening = Vec::new();
    for comment in ["first", "second", "third"] {
        hardening.push(back_up(&lab, "corp", &["Server Hardening"], dir.path(), comment)[0].clone());
    }
    let drives = back_up(&lab, "corp", &["Finance Drive Maps"], dir.path(), "drives")[0].clone();
    let all: BTreeSet<String> = hardening.iter().cloned().chain([drives.clone()]).collect();
    assert_eq!(ids(&list(dir.path(), &[])), all);

    // Without a terminal and without --yes, nothing is deleted.
    let refused = offline().args(["backups", "delete", &hardening[0], "--dir", d]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    // A dry run names it and deletes nothing either.
    let dry = offline().args(["backups", "delete", &hardening[0], "--dir", d, "--dry-run"]).output().unwrap();
    assert!(stdout(ok(&dry)).contains(&hardening[0]), "{}", stdout(&dry));
    assert_eq!(ids(&list(dir.path(), &[])), all);

    let deleted = offline().args(["backups", "delete", &hardening[0], "--dir", d, "--yes", "--json"]).output().unwrap();
    let report = json(ok(&deleted));
    assert_eq!(report["deleted"][0]["backup_id"].as_str(), Some(hardening[0].as_str()));
    assert!(!dir.path().join(&hardening[0]).exists());
    let left: BTreeSet<String> = all.iter().filter(|id| **id != hardening[0]).cloned().collect();
    assert_eq!(manifest_ids(dir.path()), left);

    // Prune to the newest of each GPO: only the second Server Hardening goes.
    let pruned = offline().args(["backups", "prune", "--keep", "1", "--dir", d, "--yes", "--json"]).output().unwrap();
    let report = json(ok(&pruned));
    let gone: Vec<&str> =
        report["deleted"].as_array().unwrap().iter().map(|r| r["backup_id"].as_str().unwrap()).collect();
    assert_eq!(gone, [hardening[1].as_str()]);
    let left = BTreeSet::from([hardening[2].clone(), drives.clone()]);
    assert_eq!(ids(&list(dir.path(), &[])), left);
    assert_eq!(manifest_ids(dir.path()), left);
    let rows = list(dir.path(), &["--gpo", "Server Hardening"]);
    assert_eq!(rows[0]["comment"], "third");

    // Verify: whole, then one file changed and one removed, each named with its instance.
    let verify = || offline().args(["backups", "verify", "--dir", d]).output().unwrap();
    assert!(stdout(ok(&verify())).contains("all whole"));
    let sysvol_files = |id: &str| {
        let mut files = files_below(&dir.path().join(id).join("DomainSysvol"));
        files.sort();
        files
    };
    let changed = sysvol_files(&hardening[2])[0].clone();
    let mut bytes = std::fs::read(&changed).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&changed, bytes).unwrap();
    let removed = sysvol_files(&drives)[0].clone();
    std::fs::remove_file(&removed).unwrap();
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    for (id, file) in [(&hardening[2], &changed), (&drives, &removed)] {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        assert!(text.lines().any(|l| l.contains(id.as_str()) && l.contains(&name)), "{id} {name} in:\n{text}");
    }
    assert!(text.contains("2 bad"), "{text}");
}
