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
use common::{Lab, stderr, stdout};
use serde_json::Value;

/// The corp DC behind relays on `ip`: LDAPS and SMB each under its own switch (pass the same
/// one twice for a DC that stops as a whole).
struct RelayedDc {
    ip: &'static str,
    _runtime: tokio::runtime::Runtime,
    _ldap: Proxy,
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
        RelayedDc { ip, _runtime: runtime, _ldap: ldap, _smb: smb }
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
    let all_gpos = ids(&json(&out)["backed_up"], "gpo_id");
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
    assert_eq!(&backed_up | &failed, all_gpos, "every GPO is either backed up or named as failed");
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
    assert_eq!(ids(&json(&out)["backed_up"], "gpo_id"), all_gpos);
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
    let Some(lab) = Lab::get() else { return };
    back_up_all_while_going_down(&lab, "127.0.0.211", true);
}

#[test]
fn back_up_all_with_only_smb_stopping_half_way_keeps_what_it_wrote_and_names_the_rest() {
    let Some(lab) = Lab::get() else { return };
    back_up_all_while_going_down(&lab, "127.0.0.212", false);
}
