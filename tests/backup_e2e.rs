//! Back Up and Back Up All against the real lab DCs: GPMC's layout and encodings, SYSVOL bytes
//! equal to the DC's, class store objects kept, and a broken GPO failing alone and cleanly.

mod common;

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;

use common::{Lab, dc_gpo_folder, stderr, stdout};
use gpvault::formats::{BackupInfo, BackupXml, GpReport, Manifest};
use serde_json::Value;

/// Every file below `dir`, by path relative to it with `/` separators.
fn files_below(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// SYSVOL path → where GPMC's layout puts it (Machine/User casing, GPT.INI left out).
fn expected_location(rel: &str) -> Option<String> {
    if rel.eq_ignore_ascii_case("gpt.ini") {
        return None;
    }
    let (first, rest) = rel.split_once('/').unwrap_or((rel, ""));
    let first = match first.to_lowercase().as_str() {
        "machine" => "Machine".to_string(),
        "user" => "User".to_string(),
        _ => first.to_string(),
    };
    Some(format!("DomainSysvol/GPO/{first}/{rest}"))
}

fn gpo_ids(lab: &Lab, domain: &str) -> Vec<String> {
    let policies = format!("CN=Policies,CN=System,{}", lab.domain_dn(domain));
    lab.ldapsearch(domain, &policies, "one", "(objectClass=groupPolicyContainer)", &["cn"], false)
        .iter()
        .map(|e| e.text("cn").unwrap().to_uppercase())
        .collect()
}

#[test]
fn dry_run_names_every_gpo_and_writes_nothing() {
    let Some(lab) = Lab::get() else { return };
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("not-yet");
    let run = |json: bool| {
        let mut cmd = lab.gpvault("corp");
        cmd.args(["backup", "--all", "--dry-run", "--dir", dir.to_str().unwrap()]);
        if json {
            cmd.arg("--json");
        }
        cmd.output().unwrap()
    };
    let out = run(false);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out).to_uppercase();
    let ids = gpo_ids(&lab, "corp");
    assert!(!ids.is_empty());
    for id in &ids {
        assert!(text.contains(id.as_str()), "the plan names {id}:\n{text}");
    }
    assert!(text.contains("DRY RUN"), "{text}");
    assert!(!dir.exists(), "a dry run writes nothing, not even the folder");

    let plan: Value = serde_json::from_str(&stdout(&run(true))).unwrap();
    let mut planned: Vec<String> =
        plan["changes"].as_array().unwrap().iter().map(|c| c["item"]["gpo"].as_str().unwrap().to_uppercase()).collect();
    let mut expected = ids.clone();
    planned.sort();
    expected.sort();
    assert_eq!(planned, expected);
    assert!(!dir.exists());
}

#[test]
fn back_up_all_writes_a_gpmc_instance_per_gpo_with_the_dcs_bytes() {
    let Some(lab) = Lab::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = lab
        .gpvault("corp")
        .args(["backup", "--all", "--dir", dir.path().to_str().unwrap(), "--comment", "nightly", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["failed"].as_array().unwrap().len(), 0, "{report}");
    let backed_up = report["backed_up"].as_array().unwrap();

    let mut expected_ids = gpo_ids(&lab, "corp");
    let mut got_ids: Vec<String> = backed_up.iter().map(|b| b["gpo_id"].as_str().unwrap().to_uppercase()).collect();
    expected_ids.sort();
    got_ids.sort();
    assert_eq!(got_ids, expected_ids, "every GPO ldapsearch finds is backed up");

    let manifest = Manifest::parse(&std::fs::read(dir.path().join("manifest.xml")).unwrap()).unwrap();
    assert_eq!(manifest.backups.len(), backed_up.len(), "manifest lists every instance");

    for item in backed_up {
        let gpo_id = item["gpo_id"].as_str().unwrap();
        let backup_id = item["backup_id"].as_str().unwrap();
        assert_ne!(backup_id, gpo_id, "a backup ID is never the GPO's ID");
        assert_eq!(backup_id, backup_id.to_uppercase(), "upper-case backup ID");
        let instance = dir.path().join(backup_id);
        let files = files_below(&instance);

        // Encodings exactly as GPMC writes them.
        let backup_xml = &files["Backup.xml"];
        assert!(backup_xml.starts_with(b"<?xml version=\"1.0\" encoding=\"utf-8\"?>"), "Backup.xml: UTF-8, no BOM");
        let info_bytes = &files["bkupInfo.xml"];
        assert!(info_bytes.starts_with(b"<BackupInst xmlns="), "bkupInfo.xml: no declaration");
        assert!(files["gpreport.xml"].starts_with(&[0xFF, 0xFE]), "gpreport.xml: UTF-16LE with BOM");

        // And readable by the same code that reads GPMC's files.
        let info = BackupInfo::parse(info_bytes).unwrap();
        assert_eq!(info.gpo_guid, gpo_id);
        assert_eq!(info.id, backup_id);
        assert_eq!(info.comment, "nightly");
        assert_eq!(info.gpo_domain, "corp.example.test");
        let parsed = BackupXml::parse(backup_xml).unwrap();
        assert_eq!(parsed.core.id, gpo_id);
        assert!(parsed.core.security_descriptor.is_some(), "SD in Backup.xml");
        let report = GpReport::parse(&files["gpreport.xml"]).unwrap();
        assert_eq!(report.identifier, gpo_id);
        let extra: Value = serde_json::from_slice(&files["gpvault.json"]).unwrap();
        assert!(extra["security_descriptor_sddl"].as_str().unwrap().starts_with("O:"), "full SD kept");
        assert!(extra["gpt_ini"].as_str().unwrap().contains("Version="), "GPT.INI kept");

        // SYSVOL bytes in DomainSysvol are the DC's bytes, file for file.
        let dc_files = files_below(&dc_gpo_folder(&lab, "corp", gpo_id));
        let mut expected = BTreeMap::new();
        for (rel, bytes) in &dc_files {
            if let Some(at) = expected_location(rel) {
                expected.insert(at, bytes.clone());
            }
        }
        let stored: BTreeMap<String, Vec<u8>> =
            files.iter().filter(|(k, _)| k.starts_with("DomainSysvol/")).map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(stored.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "files of {gpo_id}");
        assert!(stored == expected, "bytes of {gpo_id} differ from the DC's");
        // The extra file's sizes and SHA-256 agree with the bytes stored and with the DC's.
        let mut hashed = 0;
        for item in extra["sysvol"].as_array().unwrap() {
            if let (Some(at), Some(size)) = (item["stored_at"].as_str(), item["size"].as_u64())
                && !item["is_dir"].as_bool().unwrap()
            {
                assert_eq!(files[at].len() as u64, size, "{at}");
                let recorded = item["sha256"].as_str().unwrap_or_else(|| panic!("{at}: no sha256 recorded"));
                assert_eq!(recorded, hex::encode(Sha256::digest(&files[at])), "{at}: stored bytes");
                assert_eq!(recorded, hex::encode(Sha256::digest(&expected[at])), "{at}: the DC's bytes");
                hashed += 1;
            }
        }
        assert_eq!(hashed, expected.len(), "every stored file of {gpo_id} has its hash recorded");
    }

    // Software installation: the class store subtree came along with its descriptors.
    let software = backed_up.iter().find(|b| b["display_name"] == "Software - 7-Zip").expect("seeded software GPO");
    let extra: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(software["backup_id"].as_str().unwrap()).join("gpvault.json")).unwrap(),
    )
    .unwrap();
    let objects = extra["directory_objects"].as_array().unwrap();
    let packages: Vec<&Value> = objects
        .iter()
        .filter(|o| {
            o["attributes"]["objectClass"]
                .as_array()
                .is_some_and(|c| c.iter().any(|v| v["text"].as_str() == Some("packageRegistration")))
        })
        .collect();
    assert!(packages.len() >= 2, "package registrations kept: {objects:?}");
    for package in packages {
        let attrs = &package["attributes"];
        assert!(attrs.get("nTSecurityDescriptor").is_some(), "each package keeps its own SD");
        assert!(attrs.get("msiScriptPath").is_some(), "msiScriptPath kept");
    }
    // Nothing temporary is left behind.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            name.starts_with('{')
                || ["manifest.xml", ".gpvault.lock", gpvault::store::INDEX_FILE].contains(&name.as_str()),
            "leftover {name}"
        );
    }
}

#[test]
fn backing_up_a_gpo_twice_keeps_both_instances() {
    let Some(lab) = Lab::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for comment in ["before change", "after change"] {
        let out = lab
            .gpvault("corp")
            .args(["backup", "Default Domain Policy", "--dir", d, "--comment", comment])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(stdout(&out).contains("1 succeeded, 0 failed"), "{}", stdout(&out));
    }
    let list = |extra: &[&str]| -> Vec<Value> {
        let out = Command::new(env!("CARGO_BIN_EXE_gpvault"))
            .args(["backups", "list", "--dir", d, "--json"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    let all = list(&[]);
    assert_eq!(all.len(), 2);
    assert_ne!(all[0]["backup_id"], all[1]["backup_id"]);
    assert_eq!(all[0]["gpo_id"], all[1]["gpo_id"]);
    let latest = list(&["--latest"]);
    assert_eq!(latest.len(), 1);
    let manifest = Manifest::parse(&std::fs::read(dir.path().join("manifest.xml")).unwrap()).unwrap();
    assert_eq!(manifest.backups.len(), 2);
}

#[test]
fn gpmc_backups_in_the_fixtures_are_listed() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpmc");
    assert!(fixtures.is_dir(), "missing {}", fixtures.display());
    let out = Command::new(env!("CARGO_BIN_EXE_gpvault"))
        .args(["backups", "list", "--depth", "8", "--json", "--dir", fixtures.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let on_disk = walk_count(&fixtures, "bkupInfo.xml");
    assert_eq!(rows.len(), on_disk);
    assert!(rows.iter().all(|r| !r["domain"].as_str().unwrap().is_empty() && r["made_by_gpvault"] == false));
}

#[test]
fn a_listing_whose_reader_has_gone_ends_quietly() {
    // `gpvault backups list | head -1`: the reader quits early. Here it is gone before the first
    // line, so the first write fails.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpmc");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_gpvault"))
        .args(["backups", "list", "--depth", "8", "--dir", fixtures.to_str().unwrap()])
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(141), "ends as a SIGPIPE'd tool would: {}", stderr(&out));
    assert_eq!(stderr(&out), "", "no panic report, no message");
}

fn walk_count(dir: &Path, name: &str) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            count += walk_count(&path, name);
        } else if path.file_name().unwrap() == name {
            count += 1;
        }
    }
    count
}

/// On the second domain, so the broken GPO never disturbs the corp tests running alongside.
#[test]
fn a_gpo_without_its_sysvol_folder_fails_alone_and_leaves_nothing() {
    let Some(lab) = Lab::get() else { return };
    assert!(lab.has_branch(), "the lab must run with --two-domains");
    let name = format!("Broken SYSVOL {}", std::process::id());
    let server = lab.var("GPVAULT_LAB_BRANCH_SERVER");
    let creds = format!("Administrator%{}", lab.password());
    let created = Command::new("samba-tool")
        .args(["gpo", "create", &name, "-H", &format!("ldap://{server}"), "-U", &creds])
        .output()
        .unwrap();
    assert!(created.status.success(), "samba-tool gpo create: {}", stderr(&created));
    let text = stdout(&created);
    let gpo_id = text[text.find('{').unwrap()..=text.find('}').unwrap()].to_string();
    let folder = dc_gpo_folder(&lab, "branch", &gpo_id);
    std::fs::remove_dir_all(&folder).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let out = lab
        .gpvault("branch")
        .args(["backup", "--all", "--dir", dir.path().to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let list = lab.gpvault("branch").args(["gpo", "list"]).output().unwrap();
    let show = lab.gpvault("branch").args(["gpo", "show", &gpo_id]).output().unwrap();

    // Put the domain back before judging, so a failed assertion leaves no broken GPO behind.
    let deleted = Command::new("ldapdelete")
        .env("LDAPTLS_CACERT", lab.var("GPVAULT_LAB_CA"))
        .args([
            "-r",
            "-H",
            &format!("ldaps://{server}"),
            "-D",
            "Administrator@branch.example.test",
            "-w",
            &lab.password(),
        ])
        .arg(format!("CN={gpo_id},CN=Policies,CN=System,{}", lab.domain_dn("branch")))
        .output()
        .unwrap();
    assert!(deleted.status.success(), "cleanup: {}", stderr(&deleted));

    assert_eq!(out.status.code(), Some(1), "exit 1 when some GPO failed: {}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0]["gpo_id"].as_str().unwrap(), gpo_id);
    assert_eq!(failed[0]["display_name"].as_str().unwrap(), name);
    let reason = failed[0]["error"].as_str().unwrap();
    assert!(reason.contains("missing") && reason.contains(&gpo_id), "clear reason: {reason}");
    let backed_up = report["backed_up"].as_array().unwrap();
    assert!(backed_up.len() >= 3, "the other GPOs still back up");

    // Exactly the successful instances exist: no partial folder for the failed one.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !["manifest.xml", ".gpvault.lock", gpvault::store::INDEX_FILE].contains(&n.as_str()))
        .collect();
    assert_eq!(names.len(), backed_up.len(), "{names:?}");
    assert!(names.iter().all(|n| n.starts_with('{')), "{names:?}");

    // gpo list and gpo show say the same, with exit code 1 and one line about it.
    assert_eq!(list.status.code(), Some(1), "{}", stderr(&list));
    let list_err = stderr(&list);
    assert_eq!(list_err.trim_end().lines().count(), 1, "{list_err}");
    assert!(list_err.contains(&name) && list_err.contains("missing"), "{list_err}");
    assert_eq!(show.status.code(), Some(1), "{}", stderr(&show));
    assert!(stderr(&show).contains("missing"), "{}", stderr(&show));
}

#[test]
fn two_runs_into_one_folder_at_once_keep_a_whole_manifest() {
    let Some(lab) = Lab::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let spawn = |gpo: &str| {
        lab.gpvault("corp")
            .args(["backup", gpo, "Server Hardening", "Logon Scripts", "--dir", d, "--json"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn("Default Domain Policy");
    let second = spawn("Default Domain Controllers Policy");
    let mut made = Vec::new();
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
        made.extend(
            report["backed_up"].as_array().unwrap().iter().map(|b| b["backup_id"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(made.len(), 6);
    let manifest = Manifest::parse(&std::fs::read(dir.path().join("manifest.xml")).unwrap()).unwrap();
    let mut listed: Vec<String> = manifest.backups.iter().map(|b| b.id.clone()).collect();
    listed.sort();
    made.sort();
    assert_eq!(listed, made, "both runs' instances are in the manifest");
}

#[test]
fn a_mounted_sysvol_folder_gives_the_same_instance_as_smb() {
    let Some(lab) = Lab::get() else { return };
    let via_smb = tempfile::tempdir().unwrap();
    let via_path = tempfile::tempdir().unwrap();
    for (dir, extra) in
        [(&via_smb, vec![]), (&via_path, vec!["--sysvol-path".to_string(), lab.var("GPVAULT_LAB_CORP_SYSVOL")])]
    {
        let out = lab
            .gpvault("corp")
            .args(&extra)
            .args(["backup", "Logon Scripts", "--dir", dir.path().to_str().unwrap(), "--json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let only_instance = |dir: &Path| {
        let instance = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with('{'))
            .unwrap();
        files_below(&instance).into_iter().filter(|(k, _)| k.starts_with("DomainSysvol/")).collect::<BTreeMap<_, _>>()
    };
    let smb = only_instance(via_smb.path());
    assert!(smb.len() >= 3, "Logon Scripts carries several files: {:?}", smb.keys());
    assert!(smb == only_instance(via_path.path()), "same SYSVOL content either way");
}

/// Our files next to GPMC's own (the fixtures): same declaration, root, namespaces, and the same
/// element names in the same order wherever both have the same kind of content.
#[test]
fn our_instances_have_gpmc_element_names_order_and_namespaces() {
    use gpvault::formats::text::decode_utf8_or_utf16;
    use gpvault::formats::xml::{self, Element};

    let Some(lab) = Lab::get() else { return };
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gpmc/nsacyber-shb/ActivClient/Group Policy Objects/Computer/{4700F508-14C1-4369-8518-0E47507A58A8}");
    let dir = tempfile::tempdir().unwrap();
    // Like the fixture: unlinked, computer settings only, no WMI filter.
    let out = lab
        .gpvault("corp")
        .args(["backup", "Unlinked - Pilot Settings", "--dir", dir.path().to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let ours = dir.path().join(report["backed_up"][0]["backup_id"].as_str().unwrap());

    let doc = |dir: &Path, name: &str| {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        xml::parse(&decode_utf8_or_utf16(&bytes, name).unwrap(), name).unwrap()
    };
    let names = |e: &Element| -> Vec<String> {
        let mut names: Vec<String> = e.elements().map(|c| c.name.clone()).collect();
        names.dedup();
        names
    };
    let child = |e: &Element, name: &str| e.elements().find(|c| c.name == name).cloned().unwrap();
    let namespaces = |e: &Element| -> Vec<(String, String)> {
        e.attributes.iter().filter(|(k, _)| k.starts_with("xmlns") || k.starts_with("bkp:")).cloned().collect()
    };

    for name in ["Backup.xml", "bkupInfo.xml", "gpreport.xml"] {
        let (a, b) = (doc(&ours, name), doc(&fixture, name));
        assert_eq!(a.has_declaration, b.has_declaration, "{name}: declaration");
        assert_eq!(a.root.name, b.root.name, "{name}: root element");
        assert_eq!(namespaces(&a.root), namespaces(&b.root), "{name}: namespaces");
    }
    assert_eq!(names(&doc(&ours, "bkupInfo.xml").root), names(&doc(&fixture, "bkupInfo.xml").root));

    let (ours_xml, gpmc_xml) = (doc(&ours, "Backup.xml"), doc(&fixture, "Backup.xml"));
    assert_eq!(doc(&ours, "Backup.xml").prolog_comments, gpmc_xml.prolog_comments, "copyright comment");
    let (ours_gpo, gpmc_gpo) = (child(&ours_xml.root, "GroupPolicyObject"), child(&gpmc_xml.root, "GroupPolicyObject"));
    assert_eq!(names(&ours_gpo), names(&gpmc_gpo), "GroupPolicyObject children");
    assert_eq!(
        names(&child(&ours_gpo, "GroupPolicyCoreSettings")),
        names(&child(&gpmc_gpo, "GroupPolicyCoreSettings")),
        "core settings"
    );
    let first_group = |gpo: &Element| child(&child(gpo, "SecurityGroups"), "Group");
    assert_eq!(names(&first_group(&ours_gpo)), names(&first_group(&gpmc_gpo)), "a security group");
    assert_eq!(first_group(&ours_gpo).attributes, first_group(&gpmc_gpo).attributes, "bkp:Source");
    let registry =
        |gpo: &Element| gpo.elements().find(|e| e.attr("bkp:DescName") == Some("Registry")).cloned().unwrap();
    assert_eq!(
        registry(&ours_gpo).attributes.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        registry(&gpmc_gpo).attributes.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        "extension block attributes"
    );

    // gpreport.xml: our top-level elements appear in GPMC's order.
    let ours_report = names(&doc(&ours, "gpreport.xml").root);
    let gpmc_report = names(&doc(&fixture, "gpreport.xml").root);
    let positions: Vec<usize> = ours_report
        .iter()
        .map(|n| gpmc_report.iter().position(|g| g == n).unwrap_or_else(|| panic!("{n} is not in GPMC's report")))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "order {ours_report:?} vs {gpmc_report:?}");
}
