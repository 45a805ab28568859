//! Crash safety against the real lab DC: gpvault killed with SIGKILL at random points.
//!
//! - Back Up All, 20 kills: after each, every instance listed is whole (`backups verify`),
//!   manifest.xml is well-formed and names only instances that are there, and the next run
//!   removes the leftovers and lists exactly the complete instances.
//! - Restore, 20 kills, and Import Settings, 20 kills: afterwards the GPO is either as before or
//!   as restored (imported), never between, once `gpvault recover` has put right what the killed
//!   run recorded.
//! - Copy, 20 kills: afterwards, once `gpvault recover` ran, the target has no copy or a whole
//!   one, and no folder is left in Policies. A WMI filter a killed copy made goes with it,
//!   unless a GPO is filtered by it.
//!
//! The kill times come from a seed printed at the start (GPVAULT_CRASH_SEED repeats a run).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Lab, TestGpo, journal_records, run, stderr, stdout};
use serde_json::Value;

const KILLS: usize = 20;

/// xorshift64*: enough to spread kill times, and repeatable from the printed seed.
struct Random(u64);

impl Random {
    fn from_env() -> Random {
        let seed = std::env::var("GPVAULT_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
        });
        eprintln!("crash test seed: GPVAULT_CRASH_SEED={seed}");
        Random(seed)
    }

    fn below(&mut self, bound: Duration) -> Duration {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let unit = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        bound.mul_f64(unit)
    }
}

fn spawn_quiet(mut command: Command) -> Child {
    command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("gpvault starts")
}

/// Waits until `child` has recorded a change in `dir` (or ended, or `limit` passed).
fn wait_for_record(child: &mut Child, dir: &Path, limit: Duration) {
    let deadline = Instant::now() + limit;
    while journal_records(dir) == 0 && Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(out), stderr(out)))
}

/// Instance folders of a backup folder (by name), leftovers apart.
fn folders(dir: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut instances, mut leftovers) = (BTreeSet::new(), BTreeSet::new());
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(gpvault::store::TEMP_PREFIX) || (name.starts_with('.') && name.ends_with(".tmp")) {
            leftovers.insert(name);
        } else if entry.path().is_dir() {
            instances.insert(name.to_uppercase());
        }
    }
    (instances, leftovers)
}

/// What a backup folder says about itself after a kill; panics on anything that is not whole.
fn check_backup_folder(lab: &Lab, dir: &Path) -> usize {
    let (instances, _) = folders(dir);
    let out = lab.gpvault("corp").args(["backups", "list", "--json", "--dir"]).arg(dir).output().unwrap();
    assert!(out.status.success(), "backups list: {}", stderr(&out));
    let listed: BTreeSet<String> =
        json(&out).as_array().unwrap().iter().map(|i| i["backup_id"].as_str().unwrap().to_uppercase()).collect();
    assert_eq!(listed, instances, "the listing is exactly the instance folders (no partial one)");

    let out = lab.gpvault("corp").args(["backups", "verify", "--dir"]).arg(dir).output().unwrap();
    assert!(out.status.success(), "every listed instance is whole: {}{}", stdout(&out), stderr(&out));

    let manifest = dir.join("manifest.xml");
    if manifest.exists() {
        let parsed = gpvault::formats::manifest::Manifest::parse(&std::fs::read(&manifest).unwrap())
            .unwrap_or_else(|e| panic!("manifest.xml is well-formed after a kill: {e}"));
        for info in &parsed.backups {
            assert!(instances.contains(&info.id.to_uppercase()), "manifest names {} that is not there", info.id);
        }
    }
    listed.len()
}

#[test]
fn back_up_all_killed_at_random_points_never_leaves_a_partial_instance_listed() {
    let _serial = common::one_at_a_time();
    let Some(lab) = Lab::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut random = Random::from_env();

    let started = Instant::now();
    run({
        let mut c = lab.gpvault("corp");
        c.args(["backup", "--all", "--json", "--dir"]).arg(dir.path());
        c
    });
    let whole_run = started.elapsed();
    let per_run = check_backup_folder(&lab, dir.path());

    // Kill times are drawn over the length of a whole run. A run that ended before its kill
    // does not count, and makes the next draws shorter (the first run, which set the length,
    // may have been slow): the loop goes on until KILLS kills landed mid-run.
    let (mut whole_run, mut mid_run, mut finished_first, mut leftovers_seen) = (whole_run, 0, 0, 0);
    while mid_run < KILLS && finished_first < KILLS * 2 {
        let mut child = spawn_quiet({
            let mut c = lab.gpvault("corp");
            c.args(["backup", "--all", "--dir"]).arg(dir.path());
            c
        });
        std::thread::sleep(random.below(whole_run));
        if child.try_wait().unwrap().is_some() {
            finished_first += 1;
            whole_run = whole_run.mul_f64(0.8);
            check_backup_folder(&lab, dir.path());
            continue;
        }
        mid_run += 1;
        child.kill().unwrap();
        child.wait().unwrap();
        if !folders(dir.path()).1.is_empty() {
            leftovers_seen += 1;
        }
        check_backup_folder(&lab, dir.path());
    }
    assert_eq!(mid_run, KILLS, "{KILLS} kills landed mid-run ({finished_first} runs ended before their kill)");

    // The next run cleans up after the dead ones, and its manifest lists exactly what is there.
    run({
        let mut c = lab.gpvault("corp");
        c.args(["backup", "--all", "--json", "--dir"]).arg(dir.path());
        c
    });
    let listed = check_backup_folder(&lab, dir.path());
    let (instances, leftovers) = folders(dir.path());
    assert!(leftovers.is_empty(), "leftovers of killed runs are removed by the next run: {leftovers:?}");
    let manifest =
        gpvault::formats::manifest::Manifest::parse(&std::fs::read(dir.path().join("manifest.xml")).unwrap()).unwrap();
    let in_manifest: BTreeSet<String> = manifest.backups.iter().map(|b| b.id.to_uppercase()).collect();
    assert_eq!(in_manifest, instances, "manifest.xml lists exactly the complete instances");
    eprintln!(
        "backup: {KILLS} kills mid-run ({finished_first} runs ended before their kill), {leftovers_seen} left \
         temporary folders; {listed} instances listed at the end ({per_run} per whole run), 0 lost or partial"
    );
}

// ---------------------------------------------------------------------------------------------
// Restore

fn back_up(lab: &Lab, gpo: &str, dir: &Path) -> String {
    let out = lab.gpvault("corp").args(["backup", gpo, "--json", "--dir"]).arg(dir).output().unwrap();
    assert!(out.status.success(), "backup: {}", stderr(&out));
    json(&out)["backed_up"][0]["backup_id"].as_str().unwrap().to_string()
}

fn restore(lab: &Lab, backup: &str, dir: &Path) -> Command {
    let mut command = lab.gpvault("corp");
    command.args(["restore", backup, "--yes", "--json", "--dir"]).arg(dir);
    command
}

/// Kills `change` (a restore or an import of `gpo`) at random points, `KILLS` times, each time
/// after `reset` brought the GPO back to its state before. After each kill and a `gpvault
/// recover`, the GPO must be as before or as changed, never between.
fn kill_during_change(
    lab: &Lab,
    dir: &Path,
    gpo: &TestGpo,
    verb: &str,
    reset: impl Fn() -> Command,
    change: impl Fn() -> Command,
) {
    let mut random = Random::from_env();
    run(reset());
    let state_before = gpo.fingerprint();
    let started = Instant::now();
    run(change());
    let whole_run = started.elapsed();
    let state_changed = gpo.fingerprint();
    assert_ne!(state_changed, state_before, "the {verb} changes the GPO");

    let (mut as_before, mut as_changed, mut recovered) = (0, 0, 0);
    for kill in 0..KILLS {
        run(reset());
        assert_eq!(gpo.fingerprint(), state_before, "the reset brings the state before back");

        let mut child = spawn_quiet(change());
        if kill % 2 == 0 {
            // Anywhere in the run.
            std::thread::sleep(random.below(whole_run.mul_f64(1.1)));
        } else {
            // Inside the change: once the run has recorded it, a little later.
            wait_for_record(&mut child, dir, whole_run * 3);
            std::thread::sleep(random.below(Duration::from_millis(40)));
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let out = lab.gpvault("corp").args(["recover", "--yes", "--dir"]).arg(dir).output().unwrap();
        assert!(out.status.success(), "recover: {}{}", stdout(&out), stderr(&out));
        if !stdout(&out).contains("Nothing to recover") {
            recovered += 1;
        }
        assert_eq!(journal_records(dir), 0, "recover leaves no record behind");
        let beside: Vec<String> = policies_folders(lab)
            .into_iter()
            .filter(|name| name.starts_with("GPVAULT-") && name.contains(&gpo.id.to_uppercase()))
            .collect();
        assert!(beside.is_empty(), "{verb}, kill {kill}: left beside the GPO's folder: {beside:?}");
        let now = gpo.fingerprint();
        if now == state_before {
            as_before += 1;
        } else if now == state_changed {
            as_changed += 1;
        } else {
            let differing: Vec<&String> = now.keys().filter(|k| now.get(*k) != state_before.get(*k)).collect();
            panic!(
                "{verb}, kill {kill}: the GPO is neither as before nor as after; differs from before in {differing:?}"
            );
        }
    }
    eprintln!(
        "{verb}: {KILLS} kills; {as_before} left the GPO as before, {as_changed} as after; \
         {recovered} needed recover; 0 between"
    );
    assert!(recovered > 0, "no kill landed inside a change: the test did not test recovery");

    // The next run after a kill inside the change puts the GPO right first, then does its work.
    run(reset());
    let mut child = spawn_quiet(change());
    wait_for_record(&mut child, dir, whole_run * 3);
    child.kill().unwrap();
    child.wait().unwrap();
    let out = change().output().unwrap();
    assert!(out.status.success(), "the {verb} after a killed one: {}{}", stdout(&out), stderr(&out));
    assert_eq!(journal_records(dir), 0, "the {verb} after a killed one leaves no record");
    assert_eq!(gpo.fingerprint(), state_changed, "the {verb} after a killed one does its work");
    let (_, leftovers) = folders(dir);
    assert!(leftovers.is_empty(), "leftovers of killed runs are removed by the next run: {leftovers:?}");
}

#[test]
fn restore_killed_at_random_points_leaves_the_gpo_as_before_or_as_restored() {
    let _serial = common::one_at_a_time();
    let Some(lab) = Lab::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    let name = format!("gpvault crash restore {}", std::process::id());
    let gpo = TestGpo::create(&lab, &name);

    // State A: as made, plus one setting file. State C: flags, that file and another changed.
    gpo.put("Machine\\crash.txt", "state A\r\n");
    let backup_a = back_up(&lab, &gpo.id, dir.path());
    gpo.set_flags(1);
    gpo.put("Machine\\crash.txt", "state C, which is longer than state A\r\n");
    gpo.put("Machine\\extra.txt", "only in state C\r\n");
    let backup_c = back_up(&lab, &gpo.id, dir.path());

    kill_during_change(
        &lab,
        dir.path(),
        &gpo,
        "restore",
        || restore(&lab, &backup_c, dir.path()),
        || restore(&lab, &backup_a, dir.path()),
    );
}

#[test]
fn import_killed_at_random_points_leaves_the_gpo_as_before_or_as_imported() {
    let _serial = common::one_at_a_time();
    let Some(lab) = Lab::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pid = std::process::id();
    // The settings to import come from another GPO's backup.
    let source = TestGpo::create(&lab, &format!("gpvault crash import source {pid}"));
    source.put("Machine\\crash.txt", "imported settings\r\n");
    source.put("Machine\\imported.txt", "only in the source\r\n");
    let backup_source = back_up(&lab, &source.id, dir.path());

    let target = TestGpo::create(&lab, &format!("gpvault crash import target {pid}"));
    target.put("Machine\\crash.txt", "the target's own settings, longer than the imported ones\r\n");
    target.put("Machine\\extra.txt", "only in the target\r\n");
    let backup_target = back_up(&lab, &target.id, dir.path());

    let import = || {
        let mut command = lab.gpvault("corp");
        command.args(["import", &backup_source, "--into", &target.id, "--yes", "--json", "--dir"]).arg(dir.path());
        command
    };
    kill_during_change(&lab, dir.path(), &target, "import", || restore(&lab, &backup_target, dir.path()), import);
}

/// The folder names in corp's Policies folder on the DC: GPO folders and anything else.
fn policies_folders(lab: &Lab) -> BTreeSet<String> {
    let policies =
        Path::new(&lab.var("GPVAULT_LAB_CORP_SYSVOL")).join(lab.var("GPVAULT_LAB_CORP_DOMAIN")).join("Policies");
    std::fs::read_dir(policies).unwrap().flatten().map(|e| e.file_name().to_string_lossy().to_uppercase()).collect()
}

/// The GUIDs of corp's GPOs named `name`.
fn gpos_named(lab: &Lab, name: &str) -> Vec<String> {
    let out = lab.gpvault("corp").args(["gpo", "list", "--json"]).output().unwrap();
    let list = json(&out);
    let ids = list.as_array().unwrap().iter().filter(|g| g["name"] == name);
    ids.map(|g| g["id"].as_str().unwrap().to_uppercase()).collect()
}

#[test]
fn copy_killed_at_random_points_leaves_no_copy_or_a_whole_one() {
    let _serial = common::one_at_a_time();
    let Some(lab) = Lab::get() else { return };
    let state = tempfile::tempdir().unwrap();
    let journal = state.path().join("gpvault").join("journal");
    let pid = std::process::id();
    let source = TestGpo::create(&lab, &format!("gpvault crash copy source {pid}"));
    source.put("Machine\\crash.txt", "copied settings\r\n");
    source.put("User\\copied.txt", "more copied settings\r\n");
    let name = format!("gpvault crash copy {pid}");
    let _copies = common::GpoByName::new(&lab, "corp", &name);
    let copy = || {
        let mut command = lab.gpvault("corp");
        command.env("XDG_STATE_HOME", state.path()).args(["copy", &source.id, "--name", &name, "--yes"]);
        command
    };
    let delete = |id: &str| {
        common::samba_tool_remote(&lab, "corp", &["gpo", "del", id]);
    };

    // One whole copy, to know what a finished one is and how long it takes.
    let folders_before = policies_folders(&lab);
    let started = Instant::now();
    run(copy());
    let whole_run = started.elapsed();
    let made = gpos_named(&lab, &name);
    assert_eq!(made.len(), 1, "one copy named {name}: {made:?}");
    let whole = common::fingerprint(&lab, &made[0]);
    assert!(whole.contains_key("file:machine/crash.txt"), "the copy holds the source's files: {:?}", whole.keys());
    delete(&made[0]);
    assert_eq!(policies_folders(&lab), folders_before);

    let mut random = Random::from_env();
    let (mut none, mut finished, mut recovered) = (0, 0, 0);
    for kill in 0..KILLS {
        let mut child = spawn_quiet(copy());
        if kill % 2 == 0 {
            std::thread::sleep(random.below(whole_run.mul_f64(1.1)));
        } else {
            // Once the run has recorded the GPO it makes, a little later.
            wait_for_record(&mut child, &journal, whole_run * 3);
            std::thread::sleep(random.below(Duration::from_millis(60)));
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let recover =
            lab.gpvault("corp").env("XDG_STATE_HOME", state.path()).args(["recover", "--yes", "--json"]).output();
        let out = recover.unwrap();
        assert!(out.status.success(), "recover: {}{}", stdout(&out), stderr(&out));
        // What a killed copy made is deleted, and the report says so of each GPO.
        let report = json(&out);
        let put_right = report["restored"].as_array().unwrap();
        assert!(report["failed"].as_array().unwrap().is_empty(), "{report}");
        assert!(put_right.iter().all(|r| r["deleted"] == true && r["backup_id"] == ""), "{report}");
        if !put_right.is_empty() {
            recovered += 1;
        }
        assert_eq!(journal_records(&journal), 0, "recover leaves no record behind");
        match gpos_named(&lab, &name).as_slice() {
            [] => none += 1,
            [id] => {
                let now = common::fingerprint(&lab, id);
                let differing: Vec<&String> = now.keys().filter(|k| now.get(*k) != whole.get(*k)).collect();
                assert!(
                    differing.is_empty(),
                    "copy, kill {kill}: a copy is left half made; it differs in {differing:?}"
                );
                finished += 1;
                delete(id);
            }
            more => panic!("copy, kill {kill}: more than one copy: {more:?}"),
        }
        assert_eq!(policies_folders(&lab), folders_before, "copy, kill {kill}: no folder is left in Policies");
    }
    eprintln!(
        "copy: {KILLS} kills; {none} left no copy, {finished} a whole one; {recovered} needed recover; 0 half made"
    );
    assert!(recovered > 0, "no kill landed inside a copy: the test did not test recovery");

    // The next copy after a killed one deletes what that one left, then copies.
    let mut child = spawn_quiet(copy());
    wait_for_record(&mut child, &journal, whole_run * 3);
    child.kill().unwrap();
    child.wait().unwrap();
    let out = copy().output().unwrap();
    assert!(out.status.success(), "the copy after a killed one: {}{}", stdout(&out), stderr(&out));
    let made = gpos_named(&lab, &name);
    assert_eq!(made.len(), 1, "exactly one copy: {made:?}");
    assert_eq!(common::fingerprint(&lab, &made[0]), whole);
    assert_eq!(journal_records(&journal), 0);
}

/// A copy killed after it created the WMI filter of its new GPO (`--create-wmi-filter`) leaves a
/// record naming the filter. `gpvault recover` deletes the filter with the unfinished GPO, but
/// keeps it when a GPO of the domain is filtered by it by then.
#[test]
fn a_wmi_filter_a_killed_copy_made_goes_unless_a_gpo_uses_it() {
    let _serial = common::one_at_a_time();
    let Some(lab) = Lab::get() else { return };
    let state = tempfile::tempdir().unwrap();
    let journal = state.path().join("gpvault").join("journal");
    std::fs::create_dir_all(&journal).unwrap();
    let som = format!("CN=SOM,CN=WMIPolicy,CN=System,{}", lab.domain_dn("corp"));
    let user = TestGpo::create(&lab, &format!("gpvault crash wmi user {}", std::process::id()));
    // A process that is gone: its record is what a killed copy leaves.
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();

    for used in [false, true] {
        let filter = format!("{{{}}}", uuid::Uuid::new_v4()).to_uppercase();
        let dn = format!("CN={filter},{som}");
        let ldif = format!(
            "dn: {dn}\nobjectClass: msWMI-Som\nmsWMI-ID: {filter}\nmsWMI-Name: gpvault crash wmi {filter}\n\
             msWMI-Parm2: 1;3;10;45;WQL;root\\CIMv2;SELECT * FROM Win32_OperatingSystem;\nshowInAdvancedViewOnly: TRUE\n"
        );
        common::ldap_tool(&lab, "corp", "ldapadd", &[], &ldif);
        let _filter = FilterGone { lab: &lab, som: som.clone(), id: filter.clone() };
        if used {
            let link = format!("[{};{filter};0]", lab.var("GPVAULT_LAB_CORP_DOMAIN"));
            let change =
                format!("dn: {}\nchangetype: modify\nreplace: gPCWQLFilter\ngPCWQLFilter: {link}\n-\n", user.dn());
            common::ldap_tool(&lab, "corp", "ldapmodify", &[], &change);
        }
        let made = format!("{{{}}}", uuid::Uuid::new_v4()).to_uppercase();
        let record = serde_json::json!({
            "gpo": made, "gpo_name": "gpvault half a copy", "domain": lab.var("GPVAULT_LAB_CORP_DOMAIN"),
            "operation": "copy", "from_backup": "", "safety_backup": null, "new_gpo": true,
            "wmi_filter_made": filter, "started": "2026-12-02T10:00:00Z",
        });
        std::fs::write(journal.join(format!(".gpvault-journal-{}-{made}.json", gone.id())), record.to_string())
            .unwrap();

        let dry =
            lab.gpvault("corp").env("XDG_STATE_HOME", state.path()).args(["recover", "--dry-run"]).output().unwrap();
        assert!(stdout(&dry).contains(&filter), "the plan names the filter: {}{}", stdout(&dry), stderr(&dry));
        let out = lab.gpvault("corp").env("XDG_STATE_HOME", state.path()).args(["recover", "--yes", "--json"]).output();
        let out = out.unwrap();
        assert!(out.status.success(), "recover: {}{}", stdout(&out), stderr(&out));
        assert_eq!(json(&out)["restored"][0]["deleted"], true, "{}", stdout(&out));
        assert_eq!(journal_records(&journal), 0);
        let left = lab.ldapsearch("corp", &som, "one", &format!("(msWMI-ID={filter})"), &["msWMI-ID"], false);
        assert_eq!(left.len(), usize::from(used), "used by a GPO: {used}; filters left: {left:?}");
        if used {
            let change = format!("dn: {}\nchangetype: modify\ndelete: gPCWQLFilter\n-\n", user.dn());
            common::ldap_tool(&lab, "corp", "ldapmodify", &[], &change);
        }
    }
}

/// Deletes a test's WMI filter when the test ends, passed or not (a filter nobody uses would
/// show in other tests' health checks).
struct FilterGone<'a> {
    lab: &'a Lab,
    som: String,
    id: String,
}

impl Drop for FilterGone<'_> {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let filter = format!("(msWMI-ID={})", self.id);
            for left in self.lab.ldapsearch("corp", &self.som, "one", &filter, &["cn"], false) {
                common::ldap_tool(self.lab, "corp", "ldapdelete", &[], &format!("{}\n", left.dn));
            }
        }));
    }
}

#[test]
fn a_restore_and_a_back_up_all_of_the_same_gpo_at_once_corrupt_neither() {
    let _serial = common::one_at_a_time();
    let Some(lab) = Lab::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    let name = format!("gpvault concurrent restore {}", std::process::id());
    let gpo = TestGpo::create(&lab, &name);
    gpo.put("Machine\\concurrent.txt", "before\r\n");
    let backup_before = back_up(&lab, &gpo.id, dir.path());
    let state_before = gpo.fingerprint();
    gpo.put("Machine\\concurrent.txt", "changed afterwards\r\n");
    let state_changed = gpo.fingerprint();

    for round in 0..3 {
        let restoring =
            restore(&lab, &backup_before, dir.path()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let backing_up = lab
            .gpvault("corp")
            .args(["backup", "--all", "--json", "--dir"])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (restored, backed_up) = (restoring.wait_with_output().unwrap(), backing_up.wait_with_output().unwrap());
        assert!(restored.status.success(), "round {round}: restore: {}{}", stdout(&restored), stderr(&restored));
        // The other tests here kill restores and imports of their own GPOs meanwhile: a Back Up
        // All may fail on those (their folders can be mid-swap), never on this test's GPO.
        let report = json(&backed_up);
        for failed in report["failed"].as_array().unwrap() {
            let name = failed["display_name"].as_str().unwrap();
            assert!(
                name.starts_with("gpvault crash ") && !failed["gpo_id"].as_str().unwrap().eq_ignore_ascii_case(&gpo.id),
                "round {round}: backup: {}{}",
                stdout(&backed_up),
                stderr(&backed_up)
            );
        }
        assert_eq!(gpo.fingerprint(), state_before, "round {round}: the restore's result stands");
        check_backup_folder(&lab, dir.path());

        // The Back Up All's instance of this GPO is one whole state: as before, or as changed.
        let instance = json(&backed_up)["backed_up"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["gpo_id"].as_str().unwrap().eq_ignore_ascii_case(&gpo.id))
            .map(|b| b["backup_id"].as_str().unwrap().to_string())
            .expect("the Back Up All took the test GPO");
        let file = dir.path().join(&instance).join("DomainSysvol/GPO/Machine/concurrent.txt");
        let content = std::fs::read_to_string(&file).unwrap();
        assert!(["before\r\n", "changed afterwards\r\n"].contains(&content.as_str()), "round {round}: {content:?}");
        gpo.put("Machine\\concurrent.txt", "changed afterwards\r\n");
        assert_eq!(
            gpo.fingerprint().get("file:machine/concurrent.txt"),
            state_changed.get("file:machine/concurrent.txt")
        );
    }
}
