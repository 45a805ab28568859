//! The DC going away in the middle of a run, against the real lab DC.
//!
//! A TCP relay (tests/common/tcp_proxy.rs) stands in front of the corp DC on a loopback address
//! of its own (ports 636 and 445, so the tests need root, as the lab does; TLS is not verified,
//! since the DC's certificate names its own address). Cutting both relays plays the DC stopping;
//! cutting only the SMB relay plays its SMB side stopping. A relay rather than a second lab DC
//! that the test stops: the cut lands at a chosen point of the run (half of the bytes a whole run
//! takes, measured first), the shared lab is never stopped, and CI pays no second provisioning.
//!
//! Asserted: the run exits 1 naming every failed GPO with a reason; the instances written verify
//! and are exactly the ones listed (no partial one); the next run, with the DC back, succeeds.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use common::tcp_proxy::{Proxy, Switch};
use common::{Lab, TestGpo, journal_records, stderr, stdout};
use serde_json::Value;

/// The corp DC behind relays on `ip`: LDAPS and SMB each under its own switch (pass the same
/// one twice for a DC that stops as a whole).
struct RelayedDc {
    ip: &'static str,
    _runtime: tokio::runtime::Runtime,
    ldap: Proxy,
    _smb: Proxy,
}

impl RelayedDc {
    fn start(lab: &Lab, ip: &'static str, ldap: Arc<Switch>, smb: Arc<Switch>) -> RelayedDc {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dc = lab.var("GPVAULT_LAB_CORP_SERVER");
        let (ldap, smb) = runtime.block_on(async {
            (
                Proxy::start_switched(&format!("{ip}:636"), &format!("{dc}:636"), ldap).await,
                Proxy::start_switched(&format!("{ip}:445"), &format!("{dc}:445"), smb).await,
            )
        });
        RelayedDc { ip, _runtime: runtime, ldap, _smb: smb }
    }

    /// Connections made to the LDAP relay so far.
    fn ldap_dials(&self) -> usize {
        self.ldap.accepted.load(std::sync::atomic::Ordering::Acquire)
    }

    /// gpvault on the corp profile, through the relays.
    fn gpvault(&self, lab: &Lab, args: &[&str], dir: &Path) -> Output {
        let mut command = lab.gpvault("corp");
        command.args(["--server", self.ip, "--insecure-tls"]).args(args).arg("--dir").arg(dir);
        command.output().unwrap()
    }
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(out), stderr(out)))
}

fn ids(list: &Value, key: &str) -> BTreeSet<String> {
    list.as_array().unwrap().iter().map(|i| i[key].as_str().unwrap().to_uppercase()).collect()
}

/// GPO ids of a report list, leaving out the GPOs tests make and delete meanwhile ("gpvault ...").
fn lab_gpo_ids(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .filter(|i| !i["display_name"].as_str().unwrap_or_default().starts_with("gpvault "))
        .map(|i| i["gpo_id"].as_str().unwrap().to_uppercase())
        .collect()
}

/// Instance folders (upper-case ids) and leftovers of a write (temporary names).
fn folder_contents(dir: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
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

/// Back Up All with the switch going down half-way through; returns nothing, asserts all.
fn back_up_all_while_going_down(lab: &Lab, ip: &'static str, whole_dc: bool) {
    let smb = Switch::new();
    let ldap = if whole_dc { Arc::clone(&smb) } else { Switch::new() };
    let relayed = RelayedDc::start(lab, ip, Arc::clone(&ldap), Arc::clone(&smb));

    // A whole run first, to know how many bytes the SMB side sends for one.
    let baseline = tempfile::tempdir().unwrap();
    let before = smb.relayed.load(std::sync::atomic::Ordering::Acquire);
    let out = relayed.gpvault(lab, &["backup", "--all", "--json"], baseline.path());
    assert_eq!(out.status.code(), Some(0), "the run with the DC up: {}{}", stdout(&out), stderr(&out));
    let all_gpos = lab_gpo_ids(&json(&out)["backed_up"]);
    let whole_run = smb.relayed.load(std::sync::atomic::Ordering::Acquire) - before;

    let dir = tempfile::tempdir().unwrap();
    // Down once the run has read half of what a whole one reads: in the middle of its GPOs.
    smb.down_after(whole_run / 2);
    let out = relayed.gpvault(lab, &["backup", "--all", "--json"], dir.path());
    assert!(smb.is_down() && ldap.is_down() == whole_dc, "the switch went down during the run");
    assert_eq!(out.status.code(), Some(1), "some GPOs failed: exit 1\n{}{}", stdout(&out), stderr(&out));
    let report = json(&out);
    let backed_up = ids(&report["backed_up"], "gpo_id");
    let failed = ids(&report["failed"], "gpo_id");
    assert!(!failed.is_empty(), "GPOs after the cut fail");
    assert!(backed_up.is_disjoint(&failed));
    let reported = &lab_gpo_ids(&report["backed_up"]) | &lab_gpo_ids(&report["failed"]);
    assert_eq!(reported, all_gpos, "every GPO is either backed up or named as failed");
    for failure in report["failed"].as_array().unwrap() {
        let error = failure["error"].as_str().unwrap();
        assert!(
            error.contains(ip) && ["connect", "lost", "refused", "closed"].iter().any(|w| error.contains(w)),
            "{} fails with a reason naming the server and what happened: {error}",
            failure["display_name"]
        );
    }

    // What was written is whole, and only that is listed.
    let instances = ids(&report["backed_up"], "backup_id");
    let (on_disk, other) = folder_contents(dir.path());
    assert_eq!(on_disk, instances, "instance folders are exactly the instances reported written");
    assert!(other.is_empty(), "no partial instance or temporary file left: {other:?}");
    let list = relayed.gpvault(lab, &["backups", "list", "--json"], dir.path());
    assert!(list.status.success(), "{}", stderr(&list));
    assert_eq!(ids(&json(&list), "backup_id"), instances, "backups list names exactly the written instances");
    let verify = relayed.gpvault(lab, &["backups", "verify"], dir.path());
    assert!(
        verify.status.success(),
        "the instances written before the cut verify: {}{}",
        stdout(&verify),
        stderr(&verify)
    );

    // The DC back: the next run succeeds and backs up every GPO.
    smb.up();
    ldap.up();
    let out = relayed.gpvault(lab, &["backup", "--all", "--json"], dir.path());
    assert_eq!(out.status.code(), Some(0), "the next run: {}{}", stdout(&out), stderr(&out));
    assert_eq!(lab_gpo_ids(&json(&out)["backed_up"]), all_gpos);
    let verify = relayed.gpvault(lab, &["backups", "verify"], dir.path());
    assert!(verify.status.success(), "{}{}", stdout(&verify), stderr(&verify));
    eprintln!(
        "{}: {} GPOs, cut after {} of {whole_run} bytes: {} backed up, {} failed (first: {}); next run backed up all",
        if whole_dc { "DC stopped" } else { "SMB stopped" },
        all_gpos.len(),
        whole_run / 2,
        backed_up.len(),
        failed.len(),
        report["failed"][0]["error"]
    );
}

#[test]
fn back_up_all_with_the_dc_stopping_half_way_keeps_what_it_wrote_and_names_the_rest() {
    let _serial = common::one_at_a_time();
    let Some(lab) = Lab::get() else { return };
    back_up_all_while_going_down(&lab, "127.0.0.211", true);
}

#[test]
fn back_up_all_with_only_smb_stopping_half_way_keeps_what_it_wrote_and_names_the_rest() {
    let _serial = common::one_at_a_time();
    let Some(lab) = Lab::get() else { return };
    back_up_all_while_going_down(&lab, "127.0.0.212", false);
}

/// Runs `change` (a restore or an import of `gpo`, through `relayed`) with the DC stopping at
/// several points of it, each time after `reset` brought the GPO back to its state before. Each
/// cut run must fail naming the server (and the GPO), `recover` with the DC back must leave the
/// GPO as before or as changed, and the next run must succeed.
fn change_with_the_dc_stopping_half_way(
    lab: &Lab,
    dc: &StoppableDc,
    dir: &Path,
    gpo: &TestGpo,
    verb: &str,
    reset: &[&str],
    change: &[&str],
) {
    let (relayed, switch) = (&dc.relayed, &dc.switch);
    let ok = |args: &[&str], what: &str| {
        let out = relayed.gpvault(lab, args, dir);
        assert!(out.status.success(), "{what}: {}{}", stdout(&out), stderr(&out));
    };
    ok(reset, "reset");
    let state_before = gpo.fingerprint();
    // A whole run, to measure it; then the state before back.
    let relayed_before = switch.relayed.load(std::sync::atomic::Ordering::Acquire);
    ok(change, verb);
    let whole_run = switch.relayed.load(std::sync::atomic::Ordering::Acquire) - relayed_before;
    let state_changed = gpo.fingerprint();
    assert_ne!(state_changed, state_before);

    let (mut cuts, mut recovered) = (0, 0);
    // Several cut points through the run: early (before any change), middle, late.
    for sixteenths in [2u64, 4, 6, 9, 12, 14] {
        ok(reset, "reset");
        assert_eq!(gpo.fingerprint(), state_before);

        switch.down_after(whole_run * sixteenths / 16);
        let out = relayed.gpvault(lab, change, dir);
        let went_down = switch.is_down();
        switch.up();
        if !went_down || out.status.success() {
            // Nothing was cut (the run sent less than measured this time), or the cut came after
            // the run's last request (in its sign-off): it succeeded, and the GPO is as after.
            assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
            assert_eq!(gpo.fingerprint(), state_changed, "a {verb} that succeeded leaves the GPO as after");
            continue;
        }
        cuts += 1;
        let code = out.status.code();
        eprintln!(
            "{verb} cut at {sixteenths}/16: exit {code:?}: {}",
            stdout(&out).lines().chain(stderr(&out).lines()).collect::<Vec<_>>().join(" | ")
        );
        assert!(
            code == Some(1) || code == Some(2),
            "a {verb} the DC left fails: {code:?}\n{}{}",
            stdout(&out),
            stderr(&out)
        );
        let said = format!("{}{}", stdout(&out), stderr(&out));
        assert!(said.contains(relayed.ip), "the failure names the server: {said}");
        if code == Some(1) {
            assert!(said.to_uppercase().contains(&gpo.id.to_uppercase()), "the failed GPO is named: {said}");
        }

        // The DC back: recover puts right what the failed run could not.
        let out = relayed.gpvault(lab, &["recover", "--yes"], dir);
        assert!(out.status.success(), "recover: {}{}", stdout(&out), stderr(&out));
        if !stdout(&out).contains("Nothing to recover") {
            recovered += 1;
        }
        assert_eq!(journal_records(dir), 0, "recover leaves no record behind");
        let now = gpo.fingerprint();
        assert!(
            now == state_before || now == state_changed,
            "{verb} cut at {sixteenths}/16: the GPO is neither as before nor as after; differs in {:?}",
            now.keys().filter(|k| now.get(*k) != state_before.get(*k)).collect::<Vec<_>>()
        );
        // And the next run succeeds.
        ok(change, &format!("the next {verb}"));
        assert_eq!(gpo.fingerprint(), state_changed);
    }
    eprintln!("{verb}: {cuts} cuts of the DC, {recovered} needed recover; the GPO was never between");
    assert!(cuts >= 3, "the DC went down in at least 3 of the 6 runs");
}

fn back_up_through(relayed: &RelayedDc, lab: &Lab, gpo: &TestGpo, dir: &Path) -> String {
    let out = relayed.gpvault(lab, &["backup", &gpo.id, "--json"], dir);
    assert!(out.status.success(), "backup: {}", stderr(&out));
    json(&out)["backed_up"][0]["backup_id"].as_str().unwrap().to_string()
}

/// The corp DC behind relays, and the switch that stops it: the whole DC, or only SMB.
struct StoppableDc {
    relayed: RelayedDc,
    switch: Arc<Switch>,
}

fn stoppable_dc(lab: &Lab, ip: &'static str, whole_dc: bool) -> StoppableDc {
    let switch = Switch::new();
    let ldap = if whole_dc { Arc::clone(&switch) } else { Switch::new() };
    StoppableDc { relayed: RelayedDc::start(lab, ip, ldap, Arc::clone(&switch)), switch }
}

fn restore_while_going_down(lab: &Lab, ip: &'static str, whole_dc: bool) {
    let dc = stoppable_dc(lab, ip, whole_dc);
    let relayed = &dc.relayed;
    let dir = tempfile::tempdir().unwrap();
    let gpo = TestGpo::create(lab, &format!("gpvault fault restore {ip} {}", std::process::id()));

    // State A, then state C (other flags, a changed and an added file).
    gpo.put("Machine\\fault.txt", "state A\r\n");
    let backup_a = back_up_through(relayed, lab, &gpo, dir.path());
    gpo.set_flags(1);
    gpo.put("Machine\\fault.txt", "state C, longer than state A\r\n");
    gpo.put("Machine\\extra.txt", "only in state C\r\n");
    let backup_c = back_up_through(relayed, lab, &gpo, dir.path());

    change_with_the_dc_stopping_half_way(
        lab,
        &dc,
        dir.path(),
        &gpo,
        "restore",
        &["restore", &backup_c, "--yes", "--json"],
        &["restore", &backup_a, "--yes", "--json"],
    );
}

fn import_while_going_down(lab: &Lab, ip: &'static str, whole_dc: bool) {
    let dc = stoppable_dc(lab, ip, whole_dc);
    let relayed = &dc.relayed;
    let dir = tempfile::tempdir().unwrap();
    let pid = std::process::id();
    let source = TestGpo::create(lab, &format!("gpvault fault import source {ip} {pid}"));
    source.put("Machine\\fault.txt", "imported settings\r\n");
    source.put("Machine\\imported.txt", "only in the source\r\n");
    let backup_source = back_up_through(relayed, lab, &source, dir.path());
    let target = TestGpo::create(lab, &format!("gpvault fault import target {ip} {pid}"));
    target.put("Machine\\fault.txt", "the target's own settings, longer than the imported ones\r\n");
    target.put("Machine\\extra.txt", "only in the target\r\n");
    let backup_target = back_up_through(relayed, lab, &target, dir.path());

    change_with_the_dc_stopping_half_way(
        lab,
        &dc,
        dir.path(),
        &target,
        "import",
        &["restore", &backup_target, "--yes", "--json"],
        &["import", &backup_source, "--into", &target.id, "--yes", "--json"],
    );
}

#[test]
fn a_restore_with_the_dc_stopping_half_way_fails_and_recover_puts_the_gpo_right_once_it_is_back() {
    let _serial = common::one_at_a_time();
    let Some(lab) = Lab::get() else { return };
    restore_while_going_down(&lab, "127.0.0.213", true);
}

#[test]
fn a_restore_with_only_smb_stopping_half_way_fails_and_recover_puts_the_gpo_right_once_it_is_back() {
    let _serial = common::one_at_a_time();
    let Some(lab) = Lab::get() else { return };
    restore_while_going_down(&lab, "127.0.0.216", false);
}

#[test]
fn an_import_with_the_dc_stopping_half_way_fails_and_recover_puts_the_gpo_right_once_it_is_back() {
    let _serial = common::one_at_a_time();
    let Some(lab) = Lab::get() else { return };
    import_while_going_down(&lab, "127.0.0.215", true);
}

#[test]
fn an_import_with_only_smb_stopping_half_way_fails_and_recover_puts_the_gpo_right_once_it_is_back() {
    let _serial = common::one_at_a_time();
    let Some(lab) = Lab::get() else { return };
    import_while_going_down(&lab, "127.0.0.217", false);
}

#[test]
fn back_up_all_succeeds_when_the_ldap_connection_drops_once_half_way() {
    let _serial = common::one_at_a_time();
    let Some(lab) = Lab::get() else { return };
    let (ldap, smb) = (Switch::new(), Switch::new());
    let relayed = RelayedDc::start(&lab, "127.0.0.214", Arc::clone(&ldap), smb);
    let load = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Acquire);

    // A whole run first, to know how many bytes its LDAP side takes and how many dials it makes.
    let baseline = tempfile::tempdir().unwrap();
    let (bytes_before, dials_before) = (load(&ldap.relayed), relayed.ldap_dials());
    let out = relayed.gpvault(&lab, &["backup", "--all", "--json"], baseline.path());
    assert_eq!(out.status.code(), Some(0), "the run without a cut: {}{}", stdout(&out), stderr(&out));
    let all_gpos = lab_gpo_ids(&json(&out)["backed_up"]);
    let whole_run = load(&ldap.relayed) - bytes_before;
    let dials = relayed.ldap_dials() - dials_before;

    // The server drops the connection once, half-way through the run's LDAP traffic.
    let dir = tempfile::tempdir().unwrap();
    let dials_before = relayed.ldap_dials();
    ldap.cut_after(whole_run / 2);
    let out = relayed.gpvault(&lab, &["backup", "--all", "--json"], dir.path());
    assert_eq!(load(&ldap.cuts_made), 1, "the connection was cut during the run");
    let report = json(&out);
    assert_eq!(lab_gpo_ids(&report["backed_up"]), all_gpos, "every GPO is backed up");
    // Only the GPOs other tests are restoring or importing into meanwhile may fail (their
    // folders can be mid-swap); every GPO of the lab's own is backed up.
    assert!(lab_gpo_ids(&report["failed"]).is_empty(), "nothing of the lab's failed: {report}");
    let code = out.status.code();
    let failed = report["failed"].as_array().is_some_and(|f| !f.is_empty());
    assert!(code == Some(0) || failed && code == Some(1), "the run survives the cut: {}{}", stdout(&out), stderr(&out));
    assert_eq!(relayed.ldap_dials() - dials_before, dials + 1, "one dial more than a run without a cut");
    let verify = relayed.gpvault(&lab, &["backups", "verify"], dir.path());
    assert!(verify.status.success(), "{}{}", stdout(&verify), stderr(&verify));
    eprintln!("LDAP cut after {} of {whole_run} bytes: {} GPOs backed up, one re-dial", whole_run / 2, all_gpos.len());
}
