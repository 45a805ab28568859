//! Restore against the real lab DCs, through the CLI: back up all, change three GPOs (SYSVOL
//! settings, DACL, flags) and delete four (three with `samba-tool gpo del`, the software
//! installation one with a tree delete, as samba-tool cannot delete a GPO with a class store),
//! restore each, and compare the whole domain with its state at backup time: only version
//! numbers may be higher. On the way: every GPMC fixture is refused for its domain, a restore
//! into the branch domain is refused and changes nothing there, a SYSVOL write failing half
//! way and a directory write failing after SYSVOL was replaced both leave the GPO as it was.
//!
//! One test function drives it all, so nothing else in this binary runs beside it; it leaves
//! the lab as it found it (versions, GPT.INI and gPLink values put back byte for byte), also
//! when it fails half way (a guard restores everything from a pristine copy of the backup).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Lab, LdifEntry, copy_tree, ldap_tool, run, samba_sddl_many, samba_tool_remote, sid_text, stderr, stdout};
use serde_json::Value;

const REFUSAL: &str =
    "You cannot restore a GPO from a backup into a domain that is different from the GPO's original domain";

const WORKSTATION_BASELINE: &str = "Workstation Baseline";
const DELEGATED: &str = "Delegated to Helpdesk";
const SERVER_HARDENING: &str = "Server Hardening";
const DELETED_BY_SAMBA_TOOL: [&str; 3] = ["Logon Scripts", "WMI Filtered - Laptops", "Folder Redirection - Staff"];
const SOFTWARE: &str = "Software - 7-Zip";
/// GPOs and OUs other lab tests make for a moment (a shared lab): not part of the comparison.
const FOREIGN_GPO_PREFIX: &str = "gpvault ";
const FOREIGN_OU_PREFIX: &str = "ou=gpvault-";

// ---------------------------------------------------------------------------------------------
// The lab, by other tools than gpvault's own code

fn upper(domain: &str) -> String {
    domain.to_uppercase()
}

fn policies_dn(lab: &Lab, domain: &str) -> String {
    format!("CN=Policies,CN=System,{}", lab.domain_dn(domain))
}

fn policies_on_disk(lab: &Lab, domain: &str) -> PathBuf {
    Path::new(&lab.var(&format!("GPVAULT_LAB_{}_SYSVOL", upper(domain))))
        .join(lab.var(&format!("GPVAULT_LAB_{}_DOMAIN", upper(domain))))
        .join("Policies")
}

fn ldapmodify(lab: &Lab, domain: &str, ldif: &str) {
    ldap_tool(lab, domain, "ldapmodify", &[], ldif);
}

/// NT ACLs of SYSVOL paths as `samba-tool ntacl get --as-sddl` prints them (the same calls, in
/// one python process: the tool takes a second per file).
fn ntacls(lab: &Lab, domain: &str, paths: &[PathBuf]) -> Vec<String> {
    use std::io::Write;
    const SCRIPT: &str = "import sys\n\
        from samba.param import LoadParm\n\
        from samba.ntacls import getntacl\n\
        from samba.auth_util import system_session_unix\n\
        from samba.netcmd.ntacl import get_local_domain_sid\n\
        lp = LoadParm()\n\
        lp.load(sys.argv[1])\n\
        dom = get_local_domain_sid(lp)\n\
        ntvfs = 'smb' in lp.get('server services')\n\
        for line in sys.stdin:\n    \
            p = line.rstrip('\\n')\n    \
            print(getntacl(lp, p, system_session_unix(), None, None, direct_db_access=ntvfs, service=None).as_sddl(dom))\n";
    if paths.is_empty() {
        return Vec::new();
    }
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", SCRIPT, &lab.var(&format!("GPVAULT_LAB_{}_SMBCONF", upper(domain)))])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3-samba");
    {
        let mut stdin = child.stdin.take().unwrap();
        for path in paths {
            writeln!(stdin, "{}", path.display()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "getntacl: {}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), paths.len(), "one ACL per path");
    lines
}

// ---------------------------------------------------------------------------------------------
// The whole domain, as a value

#[derive(Clone, Debug, PartialEq, Eq)]
struct GpoState {
    name: String,
    flags: String,
    machine_extensions: String,
    user_extensions: String,
    wmi_filter: String,
    file_sys_path: String,
    functionality: String,
    hidden: String,
    sddl: String,
}

/// (AD versionNumber, GPT.INI Version)
type Versions = (u32, Option<u32>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Folder {
        ntacl: String,
    },
    /// Bytes with GPT.INI's Version line masked.
    File {
        bytes: Vec<u8>,
        ntacl: String,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Snapshot {
    names: BTreeMap<String, String>,
    gpos: BTreeMap<String, GpoState>,
    versions: BTreeMap<String, Versions>,
    /// Container (lower-case DN) → its GPO links in gPLink order: (GPO, options).
    links: BTreeMap<String, Vec<(String, u32)>>,
    /// Container DN as stored → gPLink exactly as stored.
    gplink_raw: BTreeMap<String, String>,
    /// Objects below GPOs: DN (lower case) → attributes (what the server owns left out) and SDDL.
    objects: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// GPO → path in its folder (lower case) → item.
    sysvol: BTreeMap<String, BTreeMap<String, Item>>,
    gpt_ini_raw: BTreeMap<String, Vec<u8>>,
}

fn text(entry: &LdifEntry, name: &str) -> String {
    entry.text(name).unwrap_or_default()
}

fn mask_version(bytes: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(bytes)
        .split_inclusive('\n')
        .map(|l| if l.to_lowercase().starts_with("version=") { "Version=*\r\n".to_string() } else { l.to_string() })
        .collect::<String>()
        .into_bytes()
}

fn gpt_ini_version(bytes: &[u8]) -> Option<u32> {
    String::from_utf8_lossy(bytes)
        .lines()
        .find_map(|l| l.trim().strip_prefix("Version=").or_else(|| l.trim().strip_prefix("version=")))
        .and_then(|v| v.trim().parse().ok())
}

fn gplink_entries(value: &str) -> Vec<(String, u32)> {
    value
        .split('[')
        .skip(1)
        .filter_map(|e| {
            let e = e.split(']').next()?;
            let (path, options) = e.rsplit_once(';')?;
            let cn = path.split(',').next()?.split_once('=')?.1.to_uppercase();
            Some((cn, options.trim().parse().unwrap_or(0)))
        })
        .collect()
}

/// Attributes the server owns, or that record a deletion and a reanimation.
const NOT_COMPARED: &[&str] = &[
    "objectguid",
    "whencreated",
    "whenchanged",
    "usncreated",
    "usnchanged",
    "dscorepropagationdata",
    "ntsecuritydescriptor",
    "lastknownparent",
    "msds-lastknownrdn",
    "isrecycled",
];

impl Snapshot {
    fn take(lab: &Lab, domain: &str) -> Snapshot {
        let domain_dn = lab.domain_dn(domain);
        let domain_entry = lab.ldapsearch(domain, &domain_dn, "base", "(objectClass=*)", &["objectSid"], false);
        let domain_sid = sid_text(&domain_entry[0].bytes("objectSid").unwrap());
        let policies = policies_dn(lab, domain);
        let attrs = [
            "cn",
            "displayName",
            "flags",
            "gPCMachineExtensionNames",
            "gPCUserExtensionNames",
            "gPCWQLFilter",
            "gPCFileSysPath",
            "gPCFunctionalityVersion",
            "versionNumber",
            "showInAdvancedViewOnly",
            "nTSecurityDescriptor",
        ];
        let gpo_entries = lab.ldapsearch(domain, &policies, "one", "(objectClass=groupPolicyContainer)", &attrs, true);
        let object_entries = lab.ldapsearch(
            domain,
            &policies,
            "sub",
            "(!(objectClass=groupPolicyContainer))",
            &["*", "nTSecurityDescriptor"],
            true,
        );
        let sds: Vec<Vec<u8>> = gpo_entries
            .iter()
            .chain(&object_entries)
            .map(|e| e.bytes("nTSecurityDescriptor").unwrap_or_default())
            .collect();
        let mut sddls = samba_sddl_many(&sds, &domain_sid).into_iter();

        let mut snapshot = Snapshot::default();
        for entry in &gpo_entries {
            let id = text(entry, "cn").to_uppercase();
            if text(entry, "displayName").starts_with(FOREIGN_GPO_PREFIX) {
                let _ = sddls.next();
                continue;
            }
            snapshot.names.insert(id.clone(), text(entry, "displayName"));
            snapshot.gpos.insert(
                id.clone(),
                GpoState {
                    name: text(entry, "displayName"),
                    flags: text(entry, "flags"),
                    machine_extensions: text(entry, "gPCMachineExtensionNames"),
                    user_extensions: text(entry, "gPCUserExtensionNames"),
                    wmi_filter: text(entry, "gPCWQLFilter"),
                    file_sys_path: text(entry, "gPCFileSysPath"),
                    functionality: text(entry, "gPCFunctionalityVersion"),
                    hidden: text(entry, "showInAdvancedViewOnly"),
                    sddl: sddls.next().unwrap(),
                },
            );
            snapshot.versions.insert(id, (text(entry, "versionNumber").parse().unwrap_or(0), None));
        }
        for entry in &object_entries {
            let mut attributes: BTreeMap<String, Vec<String>> = entry
                .attrs
                .iter()
                .filter(|(k, _)| !NOT_COMPARED.contains(&k.to_lowercase().as_str()))
                .map(|(k, v)| {
                    let mut values: Vec<String> = v.iter().map(hex::encode).collect();
                    values.sort();
                    (k.to_lowercase(), values)
                })
                .collect();
            attributes.insert("sddl".into(), vec![sddls.next().unwrap()]);
            snapshot.objects.insert(entry.dn.to_lowercase(), attributes);
        }

        let mut containers = lab.ldapsearch(
            domain,
            &domain_dn,
            "sub",
            "(|(objectClass=domainDNS)(objectClass=organizationalUnit))",
            &["gPLink"],
            false,
        );
        containers.extend(lab.ldapsearch(
            domain,
            &format!("CN=Sites,CN=Configuration,{domain_dn}"),
            "one",
            "(objectClass=site)",
            &["gPLink"],
            false,
        ));
        for container in containers {
            if container.dn.to_lowercase().starts_with(FOREIGN_OU_PREFIX) {
                continue;
            }
            let raw = text(&container, "gPLink");
            snapshot.links.insert(container.dn.to_lowercase(), gplink_entries(&raw));
            if container.text("gPLink").is_some() {
                snapshot.gplink_raw.insert(container.dn.clone(), raw);
            }
        }

        // SYSVOL, from the DC's own disk.
        let root = policies_on_disk(lab, domain);
        let mut paths = Vec::new();
        // (GPO, path in its folder, path on disk, is a folder, bytes)
        type Found = (String, String, PathBuf, bool, Option<Vec<u8>>);
        let mut pending: Vec<Found> = Vec::new();
        for id in snapshot.gpos.keys() {
            let Some(folder) = std::fs::read_dir(&root)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .find(|p| p.file_name().unwrap().to_string_lossy().eq_ignore_ascii_case(id))
            else {
                continue;
            };
            let mut stack = vec![folder.clone()];
            pending.push((id.clone(), String::new(), folder.clone(), true, None));
            while let Some(dir) = stack.pop() {
                for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                    let path = entry.path();
                    let rel = path.strip_prefix(&folder).unwrap().to_string_lossy().to_string();
                    if path.is_dir() {
                        stack.push(path.clone());
                        pending.push((id.clone(), rel, path, true, None));
                    } else {
                        let bytes = std::fs::read(&path).unwrap();
                        if rel.eq_ignore_ascii_case("gpt.ini") {
                            snapshot.versions.get_mut(id).unwrap().1 = gpt_ini_version(&bytes);
                            snapshot.gpt_ini_raw.insert(id.clone(), bytes.clone());
                        }
                        pending.push((id.clone(), rel, path, false, Some(bytes)));
                    }
                }
            }
        }
        paths.extend(pending.iter().map(|p| p.2.clone()));
        let acls = ntacls(lab, domain, &paths);
        for ((id, rel, _, is_dir, bytes), ntacl) in pending.into_iter().zip(acls) {
            let item = if is_dir {
                Item::Folder { ntacl }
            } else {
                let bytes = bytes.unwrap();
                let bytes = if rel.eq_ignore_ascii_case("gpt.ini") { mask_version(&bytes) } else { bytes };
                Item::File { bytes, ntacl }
            };
            snapshot.sysvol.entry(id).or_default().insert(rel.to_lowercase(), item);
        }
        snapshot
    }

    fn id_of(&self, name: &str) -> String {
        self.names
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| panic!("no GPO {name}"))
    }

    fn dn_of(&self, lab: &Lab, domain: &str, id: &str) -> String {
        format!("CN={id},{}", policies_dn(lab, domain))
    }

    /// What differs from `other` over the GPOs and containers of `self` (other engineers' tests
    /// may add GPOs of their own to a shared lab meanwhile), versions aside.
    fn differences(&self, other: &Snapshot, only: Option<&BTreeSet<String>>) -> Vec<String> {
        let wanted = |id: &String| only.is_none_or(|o| o.contains(id));
        let ids: BTreeSet<&String> = self.gpos.keys().filter(|id| wanted(id)).collect();
        let mut out = Vec::new();
        for id in &ids {
            let name = &self.names[*id];
            match other.gpos.get(*id) {
                None => out.push(format!("{name} {id}: missing")),
                Some(state) if state != &self.gpos[*id] => {
                    out.push(format!("{name} {id}: {:?}\n   now {:?}", self.gpos[*id], state))
                }
                _ => {}
            }
            let (mine, theirs) =
                (self.sysvol.get(*id).cloned().unwrap_or_default(), other.sysvol.get(*id).cloned().unwrap_or_default());
            for path in mine.keys().chain(theirs.keys()).collect::<BTreeSet<_>>() {
                match (mine.get(path), theirs.get(path)) {
                    (Some(a), Some(b)) if a == b => {}
                    (a, b) => out.push(format!("{name} SYSVOL {path}: {a:?}\n   now {b:?}")),
                }
            }
        }
        let below_ours = |dn: &String| ids.iter().any(|id| dn.contains(&format!("cn={},", id.to_lowercase())));
        for dn in self.objects.keys().chain(other.objects.keys()).filter(|d| below_ours(d)).collect::<BTreeSet<_>>() {
            if self.objects.get(dn) != other.objects.get(dn) {
                out.push(format!("object {dn}: {:?}\n   now {:?}", self.objects.get(dn), other.objects.get(dn)));
            }
        }
        for (container, links) in &self.links {
            // Links to the compared GPOs, and dangling ones (to no GPO of either state).
            let ours = |l: &Vec<(String, u32)>| -> Vec<(String, u32)> {
                l.iter()
                    .filter(|(g, _)| ids.contains(g) || (!self.gpos.contains_key(g) && !other.gpos.contains_key(g)))
                    .cloned()
                    .collect()
            };
            let now = other.links.get(container).map(ours).unwrap_or_default();
            if ours(links) != now {
                out.push(format!("links of {container}: {:?}\n   now {now:?}", ours(links)));
            }
        }
        out
    }

    fn assert_same_except_versions(&self, other: &Snapshot, what: &str) {
        let differences = self.differences(other, None);
        assert!(differences.is_empty(), "{what}: {} differences:\n{}", differences.len(), differences.join("\n"));
    }

    fn assert_gpo_unchanged(&self, other: &Snapshot, id: &str, what: &str) {
        let only = BTreeSet::from([id.to_string()]);
        let differences = self.differences(other, Some(&only));
        assert!(differences.is_empty(), "{what}: {}", differences.join("\n"));
        assert_eq!(self.versions.get(id), other.versions.get(id), "{what}: versions");
        assert_eq!(self.gpt_ini_raw.get(id), other.gpt_ini_raw.get(id), "{what}: GPT.INI bytes");
    }
}

// ---------------------------------------------------------------------------------------------
// gpvault, as the admin runs it

fn restore(lab: &Lab, profile: &str, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = lab.gpvault(profile).arg("restore").args(args).args(["--yes", "--json"]).output().unwrap();
    let json = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("restore {args:?}: {e}: {}{}", stdout(&out), stderr(&out)));
    (out.status.code(), json, stderr(&out))
}

/// Clears the immutable flag it set, whatever happens.
struct Immutable(PathBuf);

impl Immutable {
    fn set(path: &Path) -> Immutable {
        let mut command = Command::new("chattr");
        command.arg("+i").arg(path);
        run(command);
        Immutable(path.to_path_buf())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

/// Puts the lab back as `before` says: GPOs restored from the pristine backup when the test
/// failed half way, then versions, GPT.INI bytes and gPLink values as they were.
struct PutBack<'a> {
    lab: &'a Lab,
    before: &'a Snapshot,
    pristine: PathBuf,
}

impl PutBack<'_> {
    fn versions_and_links(&self) {
        let now = Snapshot::take(self.lab, "corp");
        for (id, (ad, _)) in &self.before.versions {
            if now.versions.get(id).map(|v| v.0) != Some(*ad) {
                let dn = now.dn_of(self.lab, "corp", id);
                ldapmodify(
                    self.lab,
                    "corp",
                    &format!("dn: {dn}\nchangetype: modify\nreplace: versionNumber\nversionNumber: {ad}\n-\n"),
                );
            }
        }
        let root = policies_on_disk(self.lab, "corp");
        for (id, bytes) in &self.before.gpt_ini_raw {
            if now.gpt_ini_raw.get(id) != Some(bytes) {
                // Written in place: the file keeps its NT ACL.
                let folder = std::fs::read_dir(&root)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path())
                    .find(|p| p.file_name().unwrap().to_string_lossy().eq_ignore_ascii_case(id));
                if let Some(folder) = folder {
                    let file = std::fs::read_dir(&folder)
                        .unwrap()
                        .flatten()
                        .map(|e| e.path())
                        .find(|p| p.file_name().unwrap().to_string_lossy().eq_ignore_ascii_case("gpt.ini"));
                    std::fs::write(file.unwrap_or_else(|| folder.join("GPT.INI")), bytes).unwrap();
                }
            }
        }
        for (container, raw) in &self.before.gplink_raw {
            if now.gplink_raw.get(container) != Some(raw) {
                ldapmodify(
                    self.lab,
                    "corp",
                    &format!("dn: {container}\nchangetype: modify\nreplace: gPLink\ngPLink: {raw}\n-\n"),
                );
            }
        }
    }
}

impl Drop for PutBack<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("restore_e2e failed: putting the lab back from {}", self.pristine.display());
            let _ = self
                .lab
                .gpvault("corp")
                .args(["restore", "--all-latest", "--links", "--yes", "--dir", self.pristine.to_str().unwrap()])
                .status();
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.versions_and_links()));
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// Every GPMC backup in the fixtures plans against the lab, and all it gets is the refusal for
/// its domain (they come from other domains).
fn gpmc_fixtures_are_refused_for_their_domain_only(lab: &Lab) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpmc");
    let mut instances = Vec::new();
    let mut stack = vec![fixtures];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else if entry.file_name() == "Backup.xml" {
                instances.push(dir.clone());
            }
        }
    }
    assert_eq!(instances.len(), 16, "the vendored GPMC backups");
    for instance in instances {
        let id = instance.file_name().unwrap().to_string_lossy().to_string();
        let out = lab
            .gpvault("corp")
            .args(["restore", &id, "--dry-run", "--json", "--dir", instance.parent().unwrap().to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{id}: {}", stderr(&out));
        let plan: Value = serde_json::from_str(&stdout(&out)).unwrap();
        let changes = plan["changes"].as_array().unwrap();
        assert_eq!(changes.len(), 1, "{id}: only the refusal: {plan:#}");
        assert_eq!(changes[0]["action"], "refuse", "{id}");
        let reason = changes[0]["to"].as_str().unwrap();
        assert!(reason.starts_with(REFUSAL), "{id}: {reason}");
        assert!(reason.contains("corp.example.test") && reason.contains("Import"), "{id}: {reason}");
    }
}

#[test]
fn restore_brings_changed_and_deleted_gpos_back_exactly() {
    let Some(lab) = Lab::get() else { return };
    assert!(lab.has_branch(), "the scenario needs the branch domain: scripts/lab up --two-domains");
    gpmc_fixtures_are_refused_for_their_domain_only(&lab);

    let before = Snapshot::take(&lab, "corp");
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("backups");
    let d = dir.to_str().unwrap().to_string();
    let out = lab.gpvault("corp").args(["backup", "--all", "--dir", &d, "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let backed_up: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let backup_of: BTreeMap<String, String> = backed_up["backed_up"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["gpo_id"].as_str().unwrap().to_uppercase(), b["backup_id"].as_str().unwrap().to_string()))
        .collect();
    for id in before.gpos.keys() {
        assert!(backup_of.contains_key(id), "{id} backed up");
    }
    // The same backups, untouched by the safety backups restores add to `dir`, and only of the
    // GPOs compared (a GPO another test made and deleted meanwhile must not come back).
    let pristine = work.path().join("pristine");
    copy_tree(&dir, &pristine);
    for (gpo, backup) in &backup_of {
        if !before.gpos.contains_key(gpo) {
            std::fs::remove_dir_all(pristine.join(backup)).unwrap();
        }
    }
    let put_back = PutBack { lab: &lab, before: &before, pristine: pristine.clone() };
    let id = |name: &str| before.id_of(name);
    let dn = |name: &str| before.dn_of(&lab, "corp", &id(name));

    // Into the other domain: refused, and nothing changes there.
    let branch_before = Snapshot::take(&lab, "branch");
    let (code, report, _) = restore(&lab, "branch", &[&backup_of[&id(DELEGATED)], "--dir", &d, "--links"]);
    assert_eq!(code, Some(1));
    assert_eq!(report["restored"].as_array().unwrap().len(), 0);
    let failure = &report["failed"][0];
    assert!(failure["error"].as_str().unwrap().contains(REFUSAL), "{report:#}");
    assert_eq!(failure["refused"], true);
    let (code, report, _) = restore(&lab, "branch", &["--all-latest", "--dir", &d, "--links"]);
    assert_eq!(code, Some(1));
    assert_eq!(report["failed"].as_array().unwrap().len(), backup_of.len(), "every GPO refused: {report:#}");
    assert!(report["failed"].as_array().unwrap().iter().all(|f| f["error"].as_str().unwrap().contains(REFUSAL)));
    let branch_after = Snapshot::take(&lab, "branch");
    branch_before.assert_same_except_versions(&branch_after, "branch after the refused restores");
    assert_eq!(branch_before.versions, branch_after.versions);
    assert_eq!(branch_before.gpt_ini_raw, branch_after.gpt_ini_raw);

    // Change three GPOs: SYSVOL settings (with the version bump an editor makes), DACL, flags.
    let root = policies_on_disk(&lab, "corp");
    let baseline = root.join(id(WORKSTATION_BASELINE));
    let pol = baseline.join("Machine/registry.pol");
    let mut bytes = std::fs::read(&pol).unwrap();
    let tail = bytes[4..bytes.len().min(40)].to_vec();
    bytes.extend_from_slice(&tail);
    std::fs::write(&pol, &bytes).unwrap();
    std::fs::remove_file(baseline.join("User/registry.pol")).unwrap();
    std::fs::create_dir_all(baseline.join("Machine/Scripts/Startup")).unwrap();
    std::fs::write(baseline.join("Machine/Scripts/Startup/added.cmd"), b"echo added\r\n").unwrap();
    let bumped = before.versions[&id(WORKSTATION_BASELINE)].0 + (1 << 16) + 5;
    let gpt = std::fs::read_to_string(baseline.join("GPT.INI")).unwrap();
    let gpt: String = gpt
        .split_inclusive('\n')
        .map(|l| if l.starts_with("Version=") { format!("Version={bumped}\r\n") } else { l.to_string() })
        .collect();
    std::fs::write(baseline.join("GPT.INI"), gpt).unwrap();
    ldapmodify(
        &lab,
        "corp",
        &format!(
            "dn: {}\nchangetype: modify\nreplace: versionNumber\nversionNumber: {bumped}\n-\n",
            dn(WORKSTATION_BASELINE)
        ),
    );
    samba_tool_remote(
        &lab,
        "corp",
        &["dsacl", "set", "--objectdn", &dn(DELEGATED), "--sddl", "(A;CI;RPWPCCDCLCLORCSW;;;S-1-5-32-548)"],
    );
    ldapmodify(
        &lab,
        "corp",
        &format!("dn: {}\nchangetype: modify\nreplace: flags\nflags: 3\n-\n", dn(SERVER_HARDENING)),
    );

    // Delete four: three as samba-tool does it (links, then the objects, then the folder)...
    for name in DELETED_BY_SAMBA_TOOL {
        samba_tool_remote(&lab, "corp", &["gpo", "del", &id(name)]);
    }
    // ...and the class store one by hand: samba-tool cannot delete a container with children.
    for (container, links) in &before.links {
        if links.iter().any(|(g, _)| g == &id(SOFTWARE)) {
            samba_tool_remote(&lab, "corp", &["gpo", "dellink", container, &id(SOFTWARE)]);
        }
    }
    ldap_tool(&lab, "corp", "ldapdelete", &["-r"], &format!("{}\n", dn(SOFTWARE)));
    std::fs::remove_dir_all(root.join(id(SOFTWARE))).unwrap();
    let changed = Snapshot::take(&lab, "corp");
    for name in DELETED_BY_SAMBA_TOOL.iter().chain([&SOFTWARE]) {
        assert!(!changed.gpos.contains_key(&id(name)), "{name} deleted");
    }
    assert_ne!(changed.gpos[&id(DELEGATED)].sddl, before.gpos[&id(DELEGATED)].sddl, "the DACL changed");
    assert_eq!(changed.gpos[&id(SERVER_HARDENING)].flags, "3");

    // A SYSVOL write failing half way (the new content is written beside the folder, which
    // cannot be renamed aside): the GPO stays exactly as it was.
    {
        let _frozen = Immutable::set(&baseline);
        let (code, report, _) = restore(&lab, "corp", &[&backup_of[&id(WORKSTATION_BASELINE)], "--dir", &d]);
        assert_eq!(code, Some(1), "{report:#}");
        let failure = &report["failed"][0];
        let error = failure["error"].as_str().unwrap();
        assert!(error.contains("SYSVOL") && error.contains("Nothing in the domain was changed"), "{error}");
        assert_eq!(failure["unchanged"], true);
    }
    let after_failure = Snapshot::take(&lab, "corp");
    changed.assert_gpo_unchanged(&after_failure, &id(WORKSTATION_BASELINE), "after the failed SYSVOL write");

    // A directory write failing after SYSVOL was replaced (a class store object the schema
    // refuses, in a copy of the backup): SYSVOL and AD are put back.
    let tampered = work.path().join("tampered");
    let instance = tampered.join(&backup_of[&id(SERVER_HARDENING)]);
    copy_tree(&dir.join(&backup_of[&id(SERVER_HARDENING)]), &instance);
    let mut extra: Value = serde_json::from_slice(&std::fs::read(instance.join("gpvault.json")).unwrap()).unwrap();
    extra["directory_objects"].as_array_mut().unwrap().push(serde_json::json!({
        "dn": format!("CN=Class Store,CN=Machine,{}", dn(SERVER_HARDENING)),
        "attributes": {"objectClass": [{"text": "classStore"}], "noSuchAttributeAnywhere": [{"text": "x"}]}
    }));
    std::fs::write(instance.join("gpvault.json"), serde_json::to_vec(&extra).unwrap()).unwrap();
    let (code, report, _) =
        restore(&lab, "corp", &[&backup_of[&id(SERVER_HARDENING)], "--dir", tampered.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{report:#}");
    let error = report["failed"][0]["error"].as_str().unwrap();
    assert!(error.contains("class store") && error.contains("put back as it was"), "{error}");
    let after_rollback = Snapshot::take(&lab, "corp");
    changed.assert_gpo_unchanged(&after_rollback, &id(SERVER_HARDENING), "after the put-back");
    // Its safety backup is listed in that folder, with the comment the admin will look for.
    let listed =
        lab.gpvault("corp").args(["backups", "list", "--json", "--dir", tampered.to_str().unwrap()]).output().unwrap();
    let listed: Value = serde_json::from_str(&stdout(&listed)).unwrap();
    let comment = format!("before restore of {}", backup_of[&id(SERVER_HARDENING)]);
    assert!(listed.as_array().unwrap().iter().any(|i| i["comment"] == comment.as_str()), "{listed:#}");

    // Restore each: the changed ones to their previous version, the deleted ones with links.
    for name in [WORKSTATION_BASELINE, DELEGATED, SERVER_HARDENING] {
        let (code, report, err) = restore(&lab, "corp", &[&backup_of[&id(name)], "--dir", &d]);
        assert_eq!(code, Some(0), "{name}: {report:#} {err}");
        assert!(report["restored"][0]["safety_backup"].is_string(), "{name}: {report:#}");
    }
    for name in DELETED_BY_SAMBA_TOOL.iter().chain([&SOFTWARE]) {
        let (code, report, err) = restore(&lab, "corp", &[&backup_of[&id(name)], "--dir", &d, "--links"]);
        assert_eq!(code, Some(0), "{name}: {report:#} {err}");
        let done = &report["restored"][0];
        assert!(done["summary"].as_str().unwrap().contains("reanimated"), "{name}: tombstone reanimated: {done:#}");
        let recorded = before.links.values().flatten().filter(|(g, _)| g == &id(name)).count();
        assert_eq!(done["links_set"].as_u64(), Some(recorded as u64), "{name}: links re-created");
    }
    let restored = Snapshot::take(&lab, "corp");
    before.assert_same_except_versions(&restored, "after restoring each");
    for name in [WORKSTATION_BASELINE, DELEGATED, SERVER_HARDENING, SOFTWARE].iter().chain(&DELETED_BY_SAMBA_TOOL) {
        let gpo = id(name);
        let ((then_ad, then_ini), (ad, ini)) = (before.versions[&gpo], restored.versions[&gpo]);
        assert_eq!(Some(ad), ini, "{name}: AD and GPT.INI agree");
        let then_ini = then_ini.unwrap_or(0);
        let was = ((then_ad >> 16).max(then_ini >> 16), (then_ad & 0xFFFF).max(then_ini & 0xFFFF));
        let is = (ad >> 16, ad & 0xFFFF);
        assert!(is.0 > was.0 && is.1 > was.1, "{name}: both halves higher: {was:?} -> {is:?}");
    }
    // One more than the larger of current and backed up, for each half.
    let bumped_halves = (bumped >> 16, bumped & 0xFFFF);
    let baseline_now = restored.versions[&id(WORKSTATION_BASELINE)].0;
    assert_eq!((baseline_now >> 16, baseline_now & 0xFFFF), (bumped_halves.0 + 1, bumped_halves.1 + 1));
    // The folder ACLs are what samba-tool reads.
    for name in [WORKSTATION_BASELINE, SOFTWARE] {
        let folder = root.join(id(name));
        let mut command = Command::new("samba-tool");
        command.args([
            "ntacl",
            "get",
            "--as-sddl",
            folder.to_str().unwrap(),
            "-s",
            &lab.var("GPVAULT_LAB_CORP_SMBCONF"),
        ]);
        let Item::Folder { ntacl } = &before.sysvol[&id(name)][""] else { panic!("a folder") };
        assert_eq!(run(command).trim(), ntacl, "{name}: samba-tool ntacl get");
    }

    // Everything from the newest instances of the pristine copy, in parallel: the same state.
    let (code, report, err) = restore(&lab, "corp", &["--all-latest", "--links", "--dir", pristine.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{report:#} {err}");
    assert_eq!(report["restored"].as_array().unwrap().len(), before.gpos.len(), "{report:#}");
    let all = Snapshot::take(&lab, "corp");
    before.assert_same_except_versions(&all, "after restoring everything");

    // Leave the lab as it was found: versions, GPT.INI and gPLink values back, byte for byte.
    put_back.versions_and_links();
    let end = Snapshot::take(&lab, "corp");
    before.assert_same_except_versions(&end, "at the end");
    let ours = |s: &Snapshot| {
        s.versions
            .iter()
            .filter(|(id, _)| before.gpos.contains_key(*id))
            .map(|(k, v)| (k.clone(), *v))
            .collect::<Vec<_>>()
    };
    assert_eq!(ours(&before), ours(&end), "versions put back");
    for (container, raw) in &before.gplink_raw {
        assert_eq!(end.gplink_raw.get(container), Some(raw), "gPLink of {container} byte for byte");
    }
    assert_eq!(
        before.gpt_ini_raw,
        end.gpt_ini_raw
            .iter()
            .filter(|(id, _)| before.gpos.contains_key(*id))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    );
}
