//! Kerberos end to end against the lab DC (issue 10, item 7): a ticket from `kinit` against the
//! lab's KDC in a private cache, and no password anywhere in gpvault's environment. With it,
//! `--kerberos` lists the GPOs (LDAP through GSSAPI, SYSVOL over SMB with the ticket: the
//! SYSVOL versions must be the DC's GPT.INI ones), backs one up and restores it. A missing, an
//! expired and another realm's ticket each end the run with one line and exit code 2.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Lab, TestGpo, assert_one_line_failure, dc_gpo_folder, stderr, stdout, walk};
use serde_json::Value;

/// GPOs other lab tests make for a moment (the lab is shared): not compared.
const FOREIGN_GPO_PREFIX: &str = "gpvault ";

/// `gpvault --kerberos` for corp with the ticket cache `cache` and nothing else from the caller's
/// environment: no GPVAULT_PASSWORD, no GPVAULT_LAB_PASSWORD (the profile's password_env).
fn with_ticket(lab: &Lab, cache: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gpvault"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GPVAULT_CONFIG", lab.var("GPVAULT_CONFIG"))
        .env("GPVAULT_PROFILE", "corp")
        .env("NO_COLOR", "1")
        .env("KRB5_CONFIG", lab.krb5_config())
        .env("KRB5CCNAME", format!("FILE:{}", cache.display()))
        .arg("--kerberos");
    let password = lab.password();
    assert!(cmd.get_envs().all(|(_, v)| v.is_none_or(|v| v.to_string_lossy() != password)), "no password given");
    cmd
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)))
}

/// (user, machine) from a GPT.INI's Version= line: user in the high 16 bits.
fn gpt_ini_versions(folder: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(folder.join("GPT.INI")).unwrap_or_default();
    let version: u64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Version=").or_else(|| l.trim().strip_prefix("version=")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Version= in {}: {text}", folder.display()));
    (version >> 16, version & 0xFFFF)
}

fn only_file_named(root: &Path, name: &str) -> PathBuf {
    let found: Vec<PathBuf> = walk(root)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case(name)))
        .collect();
    assert_eq!(found.len(), 1, "one {name} below {}: {found:?}", root.display());
    found.into_iter().next().unwrap()
}

#[test]
fn with_a_kinit_ticket_gpo_list_backup_and_restore_need_no_password() {
    let Some(lab) = Lab::get() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("krb5cc");
    lab.kinit("corp", &cache, &[]);

    // The list: every GPO the directory has (ldapsearch with the password is the test's own
    // view), each with the SYSVOL version of the GPT.INI on the DC's disk, read over SMB.
    let out = with_ticket(&lab, &cache).args(["gpo", "list", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "gpo list: {}", stderr(&out));
    let listed: BTreeMap<String, Value> = json(&out)
        .as_array()
        .expect("a list")
        .iter()
        .filter(|g| !g["name"].as_str().unwrap_or_default().starts_with(FOREIGN_GPO_PREFIX))
        .map(|g| (g["id"].as_str().unwrap().to_uppercase(), g.clone()))
        .collect();
    let policies = format!("CN=Policies,CN=System,{}", lab.domain_dn("corp"));
    let in_directory: Vec<(String, String)> = lab
        .ldapsearch("corp", &policies, "one", "(objectClass=groupPolicyContainer)", &["cn", "displayName"], false)
        .iter()
        .map(|e| (e.text("cn").unwrap().to_uppercase(), e.text("displayName").unwrap_or_default()))
        .filter(|(_, name)| !name.starts_with(FOREIGN_GPO_PREFIX))
        .collect();
    let ids: BTreeSet<&String> = in_directory.iter().map(|(id, _)| id).collect();
    assert_eq!(listed.keys().collect::<BTreeSet<_>>(), ids, "the GPOs the directory holds");
    for (id, name) in &in_directory {
        let gpo = &listed[id];
        assert_eq!(gpo["name"].as_str(), Some(name.as_str()), "{id}");
        assert!(gpo["sysvol_error"].is_null(), "{name}: SYSVOL read over SMB with the ticket: {}", gpo["sysvol_error"]);
        let (user, machine) = gpt_ini_versions(&dc_gpo_folder(&lab, "corp", id));
        assert_eq!(gpo["sysvol_version"]["user"].as_u64(), Some(user), "{name}: user SYSVOL version");
        assert_eq!(gpo["sysvol_version"]["machine"].as_u64(), Some(machine), "{name}: machine SYSVOL version");
    }

    // Back up a GPO of our own, change its file on the DC, restore: the file is as backed up.
    let gpo = TestGpo::create(&lab, &format!("gpvault kerberos {}", std::process::id()));
    gpo.put("Machine\\kerberos.txt", "as backed up\r\n");
    let backups = tmp.path().join("backups");
    let dir = backups.to_str().unwrap();
    let out = with_ticket(&lab, &cache).args(["backup", &gpo.id, "--dir", dir, "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "backup: {}", stderr(&out));
    let backup_id = json(&out)["backed_up"][0]["backup_id"].as_str().expect("a backup id").to_string();
    let saved = only_file_named(&backups.join(&backup_id), "kerberos.txt");
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), "as backed up\r\n");

    gpo.put("Machine\\kerberos.txt", "changed since\r\n");
    let on_dc = dc_gpo_folder(&lab, "corp", &gpo.id).join("Machine");
    let on_dc = only_file_named(&on_dc, "kerberos.txt");
    assert_eq!(std::fs::read_to_string(&on_dc).unwrap(), "changed since\r\n");
    let out =
        with_ticket(&lab, &cache).args(["restore", &backup_id, "--yes", "--json", "--dir", dir]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "restore: {}{}", stdout(&out), stderr(&out));
    let on_dc = only_file_named(&dc_gpo_folder(&lab, "corp", &gpo.id), "kerberos.txt");
    assert_eq!(std::fs::read_to_string(&on_dc).unwrap(), "as backed up\r\n", "restored over SMB with the ticket");
}

#[test]
fn a_missing_expired_or_foreign_ticket_is_one_line_and_exit_2() {
    let Some(lab) = Lab::get() else { return };
    let tmp = tempfile::tempdir().unwrap();

    let none = tmp.path().join("no-such-cache");
    let out = with_ticket(&lab, &none).args(["gpo", "list"]).output().unwrap();
    assert_one_line_failure(&out, 2, &["kinit", &none.display().to_string()]);

    // Another realm's ticket (branch) for corp.
    let branch = tmp.path().join("branch-cc");
    lab.kinit("branch", &branch, &[]);
    let out = with_ticket(&lab, &branch).args(["gpo", "list"]).output().unwrap();
    assert_one_line_failure(
        &out,
        2,
        &["kinit", &lab.var("GPVAULT_LAB_CORP_REALM"), &lab.var("GPVAULT_LAB_BRANCH_REALM")],
    );

    // A ticket that lived two seconds, used after it ended.
    let short = tmp.path().join("short-cc");
    lab.kinit("corp", &short, &["-l", "2s"]);
    std::thread::sleep(std::time::Duration::from_millis(3500));
    let out = with_ticket(&lab, &short).args(["gpo", "list"]).output().unwrap();
    assert_one_line_failure(&out, 2, &["expired", "kinit"]);
    assert!(stdout(&out).is_empty(), "nothing listed: {}", stdout(&out));
}

/// smb2 asks the KDC for a forwardable service ticket, refused for a TGT that is not forwardable
/// (`kinit -F`, or plain kinit without `forwardable = true`): gpvault gets the cifs ticket through
/// the system's GSSAPI instead, so SYSVOL is still read.
#[test]
fn a_ticket_that_is_not_forwardable_still_reads_sysvol() {
    let Some(lab) = Lab::get() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("krb5cc");
    lab.kinit("corp", &cache, &["-F"]);
    let out = with_ticket(&lab, &cache).args(["gpo", "list", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "gpo list: {}", stderr(&out));
    let listed = json(&out);
    let gpos = listed.as_array().expect("a list");
    assert!(gpos.iter().any(|g| g["name"] == "Default Domain Policy"), "{listed}");
    for gpo in gpos.iter().filter(|g| !g["name"].as_str().unwrap_or_default().starts_with(FOREIGN_GPO_PREFIX)) {
        assert!(gpo["sysvol_error"].is_null(), "{}: {}", gpo["name"], gpo["sysvol_error"]);
        assert!(gpo["sysvol_version"].is_object(), "{}: SYSVOL read: {gpo}", gpo["name"]);
    }
}
