//! `gpvault gpo list/show` against the real lab DC, checked against ldapsearch and Samba's own
//! SDDL printer; and the one-line errors for the ways a connection goes wrong.

mod common;

use common::{Lab, assert_one_line_failure, samba_sddl, samba_sddl_many, stderr, stdout};
use serde_json::Value;

#[test]
fn gpo_list_json_matches_ldapsearch() {
    let Some(lab) = Lab::get() else { return };
    let policies = format!("CN=Policies,CN=System,{}", lab.domain_dn("corp"));
    let expected = lab.ldapsearch(
        "corp",
        &policies,
        "one",
        "(objectClass=groupPolicyContainer)",
        &["cn", "displayName", "versionNumber", "flags", "gPCMachineExtensionNames", "gPCUserExtensionNames"],
        false,
    );
    assert!(expected.len() >= 10, "the seeded lab has at least 10 GPOs, ldapsearch found {}", expected.len());

    let out = lab.gpvault("corp").args(["gpo", "list", "--json"]).output().unwrap();
    assert!(out.status.code() == Some(0) || out.status.code() == Some(1), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).expect("gpo list --json prints JSON");
    assert_eq!(rows.len(), expected.len(), "same number of GPOs as ldapsearch");
    for entry in &expected {
        let cn = entry.text("cn").unwrap().to_uppercase();
        let row = rows
            .iter()
            .find(|r| r["id"].as_str().unwrap().eq_ignore_ascii_case(&cn))
            .unwrap_or_else(|| panic!("gpo list lacks {cn}"));
        let num = |name: &str| entry.text(name).map(|v| v.parse::<u64>().unwrap()).unwrap_or(0);
        assert_eq!(row["version_number"].as_u64().unwrap(), num("versionNumber"), "{cn} versionNumber");
        assert_eq!(row["version"]["user"].as_u64().unwrap(), num("versionNumber") >> 16, "{cn} user version");
        assert_eq!(row["version"]["machine"].as_u64().unwrap(), num("versionNumber") & 0xFFFF, "{cn} machine version");
        assert_eq!(row["flags"].as_u64().unwrap(), num("flags"), "{cn} flags");
        assert_eq!(row["name"].as_str().unwrap(), entry.text("displayName").unwrap_or_default(), "{cn} name");
        assert_eq!(
            row["machine_extension_names"].as_str().unwrap(),
            entry.text("gPCMachineExtensionNames").unwrap_or_default(),
            "{cn} machine extensions"
        );
        assert_eq!(
            row["user_extension_names"].as_str().unwrap(),
            entry.text("gPCUserExtensionNames").unwrap_or_default(),
            "{cn} user extensions"
        );
    }
    // The seeded GPOs keep GPT.INI in step with AD.
    let default_policy = rows.iter().find(|r| r["name"] == "Default Domain Policy").unwrap();
    assert_eq!(default_policy["version_mismatch"], Value::Bool(false));
}

#[test]
fn gpo_show_prints_the_dacl_as_samba_does() {
    let Some(lab) = Lab::get() else { return };
    let policies = format!("CN=Policies,CN=System,{}", lab.domain_dn("corp"));
    let domain_entry = lab.ldapsearch("corp", &lab.domain_dn("corp"), "base", "(objectClass=*)", &["objectSid"], false);
    let domain_sid = sid_text(&domain_entry[0].bytes("objectSid").unwrap());
    let gpos = lab.ldapsearch(
        "corp",
        &policies,
        "one",
        "(objectClass=groupPolicyContainer)",
        &["cn", "displayName", "nTSecurityDescriptor"],
        true,
    );
    // Every seeded GPO (bulk benchmark GPOs all share one shape), including those with
    // security filtering and delegation.
    let gpos: Vec<_> =
        gpos.into_iter().filter(|e| !e.text("displayName").unwrap_or_default().starts_with("Bulk GPO")).collect();
    let sds: Vec<Vec<u8>> = gpos.iter().map(|e| e.bytes("nTSecurityDescriptor").unwrap()).collect();
    let wanted = samba_sddl_many(&sds, &domain_sid);
    for (entry, want) in gpos.iter().zip(wanted) {
        let cn = entry.text("cn").unwrap();
        let out = lab.gpvault("corp").args(["gpo", "show", &cn, "--json"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "gpo show {cn}: {}", stderr(&out));
        let shown: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(shown["sddl"].as_str().unwrap(), want, "SDDL of {cn}");
    }
    // The text form by display name carries the same SDDL line and the readable rows.
    let out = lab.gpvault("corp").args(["gpo", "show", "Default Domain Policy"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let entry = gpos.iter().find(|e| e.text("displayName").as_deref() == Some("Default Domain Policy")).unwrap();
    assert!(text.contains(&samba_sddl(&entry.bytes("nTSecurityDescriptor").unwrap(), &domain_sid)), "{text}");
    assert!(text.contains("Authenticated Users"), "readable trustees: {text}");
    assert!(text.contains("CORP\\Domain Admins"), "readable trustees: {text}");
    assert!(text.to_lowercase().contains("gpt.ini"), "SYSVOL file tree: {text}");
}

#[test]
fn unknown_gpo_name_is_a_usage_error() {
    let Some(lab) = Lab::get() else { return };
    let out = lab.gpvault("corp").args(["gpo", "show", "No Such Policy"]).output().unwrap();
    assert_one_line_failure(&out, 2, &["No Such Policy", "gpo list"]);
}

#[test]
fn wrong_password_is_one_clear_line() {
    let Some(lab) = Lab::get() else { return };
    let out = lab.gpvault("corp").env("GPVAULT_PASSWORD", "not-the-password").args(["gpo", "list"]).output().unwrap();
    assert_one_line_failure(&out, 2, &["refused", "password"]);
}

#[test]
fn unreachable_server_is_one_clear_line() {
    let Some(lab) = Lab::get() else { return };
    // Loopback address with nothing listening: refused at once.
    let out = lab.gpvault("corp").args(["--server", "127.0.0.9", "gpo", "list"]).output().unwrap();
    assert_one_line_failure(&out, 2, &["cannot reach", "127.0.0.9", "--server"]);
}

#[test]
fn untrusted_certificate_is_one_clear_line() {
    let Some(lab) = Lab::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("other-ca.pem");
    let status = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Some Other CA"])
        .args(["-keyout", dir.path().join("k.pem").to_str().unwrap(), "-out", ca.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(status.status.success());
    let out = lab.gpvault("corp").args(["--ca-file", ca.to_str().unwrap(), "gpo", "list"]).output().unwrap();
    assert_one_line_failure(&out, 2, &["TLS", "--ca-file"]);

    let missing = dir.path().join("missing.pem");
    let out = lab.gpvault("corp").args(["--ca-file", missing.to_str().unwrap(), "gpo", "list"]).output().unwrap();
    assert_one_line_failure(&out, 2, &["missing.pem"]);
}

#[test]
fn missing_password_without_a_terminal_says_how_to_give_one() {
    let Some(lab) = Lab::get() else { return };
    let out = lab
        .gpvault("corp")
        .env_remove("GPVAULT_LAB_PASSWORD")
        .stdin(std::process::Stdio::null())
        .args(["gpo", "list"])
        .output()
        .unwrap();
    assert_one_line_failure(&out, 2, &["GPVAULT_PASSWORD", "GPVAULT_LAB_PASSWORD"]);
}

fn sid_text(bytes: &[u8]) -> String {
    let count = bytes[1] as usize;
    let authority = bytes[2..8].iter().fold(0u64, |a, b| (a << 8) | *b as u64);
    let subs: Vec<String> =
        (0..count).map(|i| u32::from_le_bytes(bytes[8 + 4 * i..12 + 4 * i].try_into().unwrap()).to_string()).collect();
    format!("S-{}-{}-{}", bytes[0], authority, subs.join("-"))
}

#[test]
fn skipping_tls_verification_is_said_on_every_run() {
    let Some(lab) = Lab::get() else { return };
    let out = lab.gpvault("corp").args(["--insecure-tls", "gpo", "list", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("NOT verified"), "{}", stderr(&out));
    let verified = lab.gpvault("corp").args(["gpo", "list", "--json"]).output().unwrap();
    assert!(!stderr(&verified).contains("NOT verified"), "{}", stderr(&verified));
}

/// Every file below `dir`, as bytes.
fn all_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(all_files(&path));
        } else {
            found.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    found
}

#[test]
fn the_password_is_in_no_log_error_or_backup_file() {
    let Some(lab) = Lab::get() else { return };
    let password = lab.password();
    let utf16: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let holds = |bytes: &[u8], what: &[u8]| bytes.windows(what.len()).any(|w| w == what);

    // The most verbose log there is (every crate at trace: LDAP, SMB, TLS) of a whole Back Up
    // All, with the password from password_env.
    let dir = tempfile::tempdir().unwrap();
    let out = lab
        .gpvault("corp")
        .env("GPVAULT_LOG", "trace")
        .args(["backup", "--all", "--json", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stderr.len() > 10_000, "trace logs a lot");
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(!holds(bytes, password.as_bytes()), "the password is in the {stream} of a backup");
    }
    let files = all_files(dir.path());
    assert!(files.len() > 10);
    for (path, bytes) in &files {
        assert!(!holds(bytes, password.as_bytes()) && !holds(bytes, &utf16), "the password is in {}", path.display());
    }

    // A wrong one is not repeated back either.
    let wrong = "Not-The-Passw0rd.42";
    let out = lab
        .gpvault("corp")
        .env("GPVAULT_PASSWORD", wrong)
        .env("GPVAULT_LOG", "trace")
        .args(["gpo", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!stderr(&out).contains(wrong) && !stdout(&out).contains(wrong), "{}", stderr(&out));
}
