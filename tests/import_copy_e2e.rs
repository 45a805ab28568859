//! Import Settings and Copy against the real lab domains, through the CLI, one scenario per
//! test: settings-rich corp GPOs copied to branch with a populated and edited migration table
//! (every corp SID, name and UNC path mapped, the source unchanged); a corp backup imported
//! into a branch GPO (its settings only); every GPMC fixture imported into a lab GPO and read
//! back the same; `--migtable-only` with a row missing writing nothing.
//!
//! What is expected is worked out here, by other means than gpvault's: SIDs from ldapsearch,
//! files from the DCs' own SYSVOL folders, descriptors as Samba prints them. Every GPO a test
//! makes is named "gpvault ..." (other lab tests pass such GPOs over) and deleted again, also
//! when the test fails.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{
    Lab, copy_tree, dc_gpo_folder, lookup, replaced, samba_sddl, samba_tool_remote, sid_text, stderr, stdout, text_of,
};
use gpvault::formats::settings::Setting;
use gpvault::formats::settings_file::SettingsFile;
use gpvault::migrate::table::{Destination, EntryType, Mapping, MigrationTable};

/// The settings-rich corp GPOs scripts/seed_gpos.py makes: security template, GPP XML (drives,
/// groups), folder redirection, scripts, software installation.
const RICH: [&str; 6] = [
    "Workstation Baseline",
    "Finance Drive Maps",
    "Folder Redirection - Staff",
    "Logon Scripts",
    "Software - 7-Zip",
    "Local Admins via GPP",
];

/// Corp principals and what they become in branch (`None`: the same name there).
const PRINCIPALS: [(&str, Option<&str>); 9] = [
    ("Helpdesk", Some("Branch Helpdesk")),
    ("Finance Users", Some("Branch Users")),
    ("Workstation Admins", Some("Kiosk Operators")),
    ("GPO Editors", Some("Branch Helpdesk")),
    ("Domain Admins", None),
    ("Domain Users", None),
    ("Enterprise Admins", None),
    ("Guest", None),
    ("Administrator", None),
];

fn realm(lab: &Lab, domain: &str) -> String {
    lab.var(&format!("GPVAULT_LAB_{}_DOMAIN", domain.to_uppercase()))
}

fn netbios(lab: &Lab, domain: &str) -> String {
    lab.var(&format!("GPVAULT_LAB_{}_NETBIOS", domain.to_uppercase()))
}

fn domain_sid(lab: &Lab, domain: &str) -> String {
    let dn = lab.domain_dn(domain);
    sid_text(
        &lab.ldapsearch(domain, &dn, "base", "(objectClass=*)", &["objectSid"], false)[0].bytes("objectSid").unwrap(),
    )
}

fn gpo_dn(lab: &Lab, domain: &str, id: &str) -> String {
    format!("CN={id},CN=Policies,CN=System,{}", lab.domain_dn(domain))
}

/// The GUID of the GPO named `name` in `domain`, by ldapsearch.
fn find_gpo(lab: &Lab, domain: &str, name: &str) -> Option<String> {
    let base = format!("CN=Policies,CN=System,{}", lab.domain_dn(domain));
    let found = lab.ldapsearch(domain, &base, "one", &format!("(displayName={name})"), &["cn"], false);
    found.first().and_then(|e| e.text("cn")).map(|id| id.to_uppercase())
}

fn gpo_id(lab: &Lab, domain: &str, name: &str) -> String {
    find_gpo(lab, domain, name).unwrap_or_else(|| panic!("no GPO {name} in {domain}"))
}

/// Every file of a folder by its path below it ('/'-separated).
fn files_below(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn is_gpt_ini(path: &str) -> bool {
    path.eq_ignore_ascii_case("GPT.INI")
}

/// A GPO as the domain holds it: every attribute of every object of its subtree (security
/// descriptors included) and every byte of its SYSVOL folder.
#[derive(Debug, PartialEq)]
struct GpoState {
    objects: BTreeMap<String, BTreeMap<String, Vec<Vec<u8>>>>,
    files: BTreeMap<String, Vec<u8>>,
}

impl GpoState {
    fn take(lab: &Lab, domain: &str, id: &str) -> GpoState {
        let entries = lab.ldapsearch(domain, &gpo_dn(lab, domain, id), "sub", "(objectClass=*)", &["*", "+"], true);
        let objects = entries
            .into_iter()
            .map(|e| {
                let attrs = e
                    .attrs
                    .into_iter()
                    .map(|(k, mut v)| {
                        v.sort();
                        (k.to_lowercase(), v)
                    })
                    .collect();
                (e.dn.to_lowercase(), attrs)
            })
            .collect();
        GpoState { objects, files: files_below(&dc_gpo_folder(lab, domain, id)) }
    }

    fn attribute(&self, dn: &str, name: &str) -> Vec<Vec<u8>> {
        self.objects.get(&dn.to_lowercase()).and_then(|a| a.get(&name.to_lowercase())).cloned().unwrap_or_default()
    }
}

/// GPOs a test made, deleted again when it ends however it ends: links, the container tree
/// (samba-tool cannot delete one with a class store), the folder.
struct Made<'a> {
    lab: &'a Lab,
    gpos: Vec<(&'static str, String)>,
    /// Other objects made (a WMI filter), by DN.
    objects: Vec<(&'static str, String)>,
}

impl Made<'_> {
    fn gpo(&mut self, domain: &'static str, name: &str) -> String {
        let out = samba_tool_remote(self.lab, domain, &["gpo", "create", name]);
        let id = out.split('{').nth(1).and_then(|s| s.split('}').next()).unwrap_or_else(|| panic!("{out}"));
        let id = format!("{{{}}}", id.to_uppercase());
        self.gpos.push((domain, id.clone()));
        id
    }

    fn adopt(&mut self, domain: &'static str, id: String) {
        self.gpos.push((domain, id));
    }
}

fn ldapdelete(lab: &Lab, domain: &str, dn: &str) {
    let upper = domain.to_uppercase();
    let _ = Command::new("ldapdelete")
        .env("LDAPTLS_CACERT", lab.var("GPVAULT_LAB_CA"))
        .args(["-H", &format!("ldaps://{}", lab.var(&format!("GPVAULT_LAB_{upper}_SERVER")))])
        .args(["-D", &format!("Administrator@{}", realm(lab, domain)), "-w", &lab.password(), "-r", dn])
        .output();
}

impl Drop for Made<'_> {
    fn drop(&mut self) {
        for (domain, dn) in &self.objects {
            ldapdelete(self.lab, domain, dn);
        }
        for (domain, id) in &self.gpos {
            let upper = domain.to_uppercase();
            let lab = self.lab;
            // Links first (a dangling gPLink entry would stay behind).
            let base = lab.domain_dn(domain);
            for container in lab.ldapsearch(domain, &base, "sub", &format!("(gPLink=*{id}*)"), &["gPLink"], false) {
                let _ = Command::new("samba-tool")
                    .args(["gpo", "dellink", &container.dn, id])
                    .args(["-H", &format!("ldap://{}", lab.var(&format!("GPVAULT_LAB_{upper}_SERVER")))])
                    .arg(format!("-UAdministrator%{}", lab.password()))
                    .args(["-s", &lab.var(&format!("GPVAULT_LAB_{upper}_SMBCONF"))])
                    .output();
            }
            ldapdelete(lab, domain, &gpo_dn(lab, domain, id));
            let folder = Path::new(&lab.var(&format!("GPVAULT_LAB_{upper}_SYSVOL")))
                .join(realm(lab, domain))
                .join("Policies")
                .join(id);
            let _ = std::fs::remove_dir_all(folder);
        }
    }
}

/// A table populated from `gpos` (with their permissions) and edited for branch: each
/// principal to its branch counterpart, each UNC path to the same path on branch's servers.
/// Returns the rows and the (corp, branch) text pairs a mapped file is expected to hold.
fn corp_to_branch_table(lab: &Lab, gpos: &[&str], dir: &Path) -> (Vec<Mapping>, Vec<(String, String)>) {
    let (corp, branch) = (realm(lab, "corp"), realm(lab, "branch"));
    let (corp_nb, branch_nb) = (netbios(lab, "corp"), netbios(lab, "branch"));
    let mut rows: Vec<Mapping> = Vec::new();
    for gpo in gpos {
        let file = dir.join("populated.migtable");
        let out = lab
            .gpvault("corp")
            .args(["migtable", "populate", "--gpo", gpo, "--with-dacl", "--out", file.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "populate {gpo}: {}", stderr(&out));
        let table = MigrationTable::from_bytes(&std::fs::read(&file).unwrap()).unwrap();
        for row in table.rows() {
            if !rows.iter().any(|r| r.source.eq_ignore_ascii_case(&row.source)) {
                rows.push(row.clone());
            }
        }
    }
    let mut pairs = Vec::new();
    for row in &mut rows {
        if row.entry_type == EntryType::UncPath {
            let to = row.source.replace(&corp, &branch);
            assert_ne!(to, row.source, "a UNC path of corp: {}", row.source);
            pairs.push((row.source.clone(), to.clone()));
            row.destination = Destination::Set(to);
            continue;
        }
        let sam = row.source.strip_suffix(&format!("@{corp}")).unwrap_or_else(|| panic!("{}", row.source));
        let Some((_, to)) = PRINCIPALS.iter().find(|(name, _)| *name == sam) else {
            panic!("populate found {sam}, which this test does not map: add it to PRINCIPALS")
        };
        let to_name = to.unwrap_or(sam);
        row.destination = match to {
            Some(to) => Destination::Set(format!("{branch_nb}\\{to}")),
            None => Destination::ByRelativeName,
        };
        pairs.push((lookup(lab, "corp", sam).0, lookup(lab, "branch", to_name).0));
        pairs.push((format!("{corp_nb}\\{sam}"), format!("{branch_nb}\\{to_name}")));
    }
    (rows, pairs)
}

fn write_table(path: &Path, rows: &[Mapping]) {
    std::fs::write(path, MigrationTable::from_rows(rows.to_vec()).to_bytes()).unwrap();
}

/// registry.pol (PReg, UTF-16LE) with REG_SZ values, built here byte by byte.
fn registry_pol(values: &[(&str, &str, String)]) -> Vec<u8> {
    let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect() };
    let mut out = b"PReg\x01\x00\x00\x00".to_vec();
    for (key, name, data) in values {
        let data = utf16(data);
        out.extend([b'[', 0]);
        out.extend(utf16(key));
        out.extend([b';', 0]);
        out.extend(utf16(name));
        out.extend([b';', 0]);
        out.extend(1u32.to_le_bytes());
        out.extend([b';', 0]);
        out.extend((data.len() as u32).to_le_bytes());
        out.extend([b';', 0]);
        out.extend(data);
        out.extend([b']', 0]);
    }
    out
}

fn gpvault_ok(mut command: Command, what: &str) -> Output {
    let out = command.output().unwrap();
    assert!(out.status.success(), "{what}: {}{}", stdout(&out), stderr(&out));
    out
}

/// SDDL with every SID in full (a neutral domain SID: no aliases of either lab domain).
fn full_sddl(sd: &[u8]) -> String {
    samba_sddl(sd, "S-1-5-21-0-0-0")
}

#[test]
fn copy_of_rich_corp_gpos_to_branch_maps_every_corp_reference_and_leaves_the_source_alone() {
    let Some(lab) = Lab::get() else { return };
    assert!(lab.has_branch(), "the branch lab domain is needed: scripts/lab up --two-domains");
    let (corp, branch) = (realm(&lab, "corp"), realm(&lab, "branch"));
    let corp_sid = domain_sid(&lab, "corp");
    let tmp = tempfile::tempdir().unwrap();
    let mut made = Made { lab: &lab, gpos: Vec::new(), objects: Vec::new() };

    // One more source: registry.pol strings holding a UNC path and a SID (beyond GPMC).
    let (helpdesk_corp, _) = lookup(&lab, "corp", "Helpdesk");
    let (helpdesk_branch, _) = lookup(&lab, "branch", "Branch Helpdesk");
    let pol_source = made.gpo("corp", "gpvault e2e registry source");
    let pol_values = |server: &str, sid: &str| {
        vec![
            ("Software\\Policies\\Corp\\Tools", "Share", format!(r"\\fs01.{server}\software\tools")),
            ("Software\\Policies\\Corp\\Tools", "Owner", sid.to_string()),
        ]
    };
    let machine = dc_gpo_folder(&lab, "corp", &pol_source).join("Machine");
    std::fs::write(machine.join("Registry.pol"), registry_pol(&pol_values(&corp, &helpdesk_corp))).unwrap();

    let mut sources: Vec<String> = RICH.iter().map(|s| s.to_string()).collect();
    sources.push("gpvault e2e registry source".into());
    let names: Vec<&str> = sources.iter().map(String::as_str).collect();
    let (rows, pairs) = corp_to_branch_table(&lab, &names, tmp.path());
    // The registry.pol GPO's references are in the populated table too (populate reads
    // registry.pol strings): checked here, so a gap shows as this line and not as a copy error.
    for wanted in [format!("Helpdesk@{corp}"), format!(r"\\fs01.{corp}\software")] {
        assert!(rows.iter().any(|r| r.source.to_lowercase().starts_with(&wanted.to_lowercase())), "{wanted}");
    }
    let table = tmp.path().join("corp-to-branch.migtable");
    write_table(&table, &rows);

    for name in &names {
        let source_id = gpo_id(&lab, "corp", name);
        let before = GpoState::take(&lab, "corp", &source_id);
        let copy_name = format!("gpvault copy of {name}");
        let mut command = lab.gpvault("corp");
        command.args(["copy", name, "--to", "branch", "--name", &copy_name, "--preserve-acl", "--yes"]);
        command.args(["--migtable", table.to_str().unwrap()]);
        let out = command.output().unwrap();
        // Whatever was made is deleted at the end, also when the output is not as expected.
        if let Some(made_id) = find_gpo(&lab, "branch", &copy_name) {
            made.adopt("branch", made_id);
        }
        assert!(out.status.success(), "{name}: {}{}", stdout(&out), stderr(&out));
        let text = stdout(&out);
        let id = text
            .split("-> copied as ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or_else(|| panic!("{name}: {text}"))
            .to_string();
        assert_eq!(gpo_id(&lab, "branch", &copy_name), id);
        assert_ne!(id, source_id, "a new GUID");

        // The source: every attribute and byte as it was.
        assert!(GpoState::take(&lab, "corp", &source_id) == before, "{name}: the source GPO changed");

        // SYSVOL: settings files mapped and nothing else changed; other files as they were.
        let copy = GpoState::take(&lab, "branch", &id);
        let source_files: BTreeMap<String, &Vec<u8>> =
            before.files.iter().filter(|(p, _)| !is_gpt_ini(p)).map(|(p, b)| (p.to_lowercase(), b)).collect();
        let copied: BTreeMap<String, &Vec<u8>> =
            copy.files.iter().filter(|(p, _)| !is_gpt_ini(p)).map(|(p, b)| (p.to_lowercase(), b)).collect();
        assert_eq!(copied.keys().collect::<Vec<_>>(), source_files.keys().collect::<Vec<_>>(), "{name}");
        for (path, bytes) in &source_files {
            let after = copied[path];
            if path.ends_with("registry.pol") && name.starts_with("gpvault") {
                assert_eq!(after, &registry_pol(&pol_values(&branch, &helpdesk_branch)), "{name}: {path}");
            } else if gpvault::formats::settings_file::SettingsFileKind::of_path(path).is_some() {
                assert_eq!(after, &replaced(bytes, &pairs), "{name}: {path}\n{}", text_of(after));
            } else {
                assert_eq!(after, *bytes, "{name}: {path} is no settings file");
            }
            if !path.ends_with(".aas") {
                let text = text_of(after);
                for corp_text in [corp_sid.as_str(), &format!("{}\\", netbios(&lab, "corp")), corp.as_str()] {
                    assert!(!text.contains(corp_text), "{name}: {path} still names {corp_text}");
                }
            }
        }

        // The DACL: the source's, every corp SID mapped.
        let dn = gpo_dn(&lab, "branch", &id);
        let sddl = full_sddl(&copy.attribute(&dn, "nTSecurityDescriptor")[0]);
        assert!(!sddl.contains(&corp_sid), "{name}: DACL {sddl}");
        let source_sddl = full_sddl(&before.attribute(&gpo_dn(&lab, "corp", &source_id), "nTSecurityDescriptor")[0]);
        let source_aces = source_sddl.matches('(').count();
        assert_eq!(sddl.matches('(').count(), source_aces, "{name}: every ACE kept:\n{source_sddl}\n{sddl}");
        if *name == "Workstation Baseline" {
            let (kiosk, _) = lookup(&lab, "branch", "Kiosk Operators");
            assert!(sddl.contains(&helpdesk_branch) && sddl.contains(&kiosk), "{name}: {sddl}");
        }

        // Packages: installer paths on branch's server, scripts in the copy's folder, their
        // descriptors mapped.
        let packages: Vec<_> = copy
            .objects
            .iter()
            .filter(|(_, a)| a.get("objectclass").is_some_and(|c| c.iter().any(|v| v == b"packageRegistration")))
            .collect();
        let source_packages = before
            .objects
            .values()
            .filter(|a| a.get("objectclass").is_some_and(|c| c.iter().any(|v| v == b"packageRegistration")))
            .count();
        assert_eq!(packages.len(), source_packages, "{name}: packages");
        for (dn, attributes) in packages {
            let list = String::from_utf8_lossy(&attributes["msifilelist"][0]).into_owned();
            assert!(list.contains(&format!(r"\\fs01.{branch}\software\")), "{name}: {dn}: {list}");
            let script = String::from_utf8_lossy(&attributes["msiscriptpath"][0]).into_owned();
            let folder = format!(r"\\{branch}\SysVol\{branch}\Policies\{id}\");
            assert!(script.to_lowercase().starts_with(&folder.to_lowercase()), "{name}: {script}");
            let sddl = full_sddl(&attributes["ntsecuritydescriptor"][0]);
            assert!(!sddl.contains(&corp_sid), "{name}: {dn}: {sddl}");
        }
        if *name == "Software - 7-Zip" {
            let explicit =
                copy.objects.values().filter_map(|a| a.get("ntsecuritydescriptor")).map(|v| full_sddl(&v[0]));
            assert!(explicit.into_iter().any(|s| s.contains(&helpdesk_branch)), "Notepad++'s Helpdesk ACE mapped");
        }
    }
}

/// Backs `gpo` of corp up into `dir` with gpvault (the backup is the input of an import).
fn back_up(lab: &Lab, gpo: &str, dir: &Path) {
    let mut command = lab.gpvault("corp");
    command.args(["backup", gpo, "--dir", dir.to_str().unwrap()]);
    gpvault_ok(command, "backup");
}

fn instances(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with('{')).count()
}

#[test]
fn import_of_a_corp_backup_into_a_branch_gpo_changes_its_settings_only() {
    let Some(lab) = Lab::get() else { return };
    assert!(lab.has_branch(), "the branch lab domain is needed: scripts/lab up --two-domains");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("backups");
    back_up(&lab, "Workstation Baseline", &dir);
    let (rows, pairs) = corp_to_branch_table(&lab, &["Workstation Baseline"], tmp.path());
    let table = tmp.path().join("to-branch.migtable");
    write_table(&table, &rows);

    let mut made = Made { lab: &lab, gpos: Vec::new(), objects: Vec::new() };
    let target = made.gpo("branch", "gpvault e2e import target");
    let ou = format!("OU=Branch Staff,{}", lab.domain_dn("branch"));
    samba_tool_remote(&lab, "branch", &["gpo", "setlink", &ou, &target]);
    let dn = gpo_dn(&lab, "branch", &target);
    let links = |lab: &Lab| lab.ldapsearch("branch", &ou, "base", "(objectClass=*)", &["gPLink", "gPOptions"], false);
    let links_before = links(&lab)[0].attrs.clone();
    let before = GpoState::take(&lab, "branch", &target);

    let mut command = lab.gpvault("branch");
    command.args(["import", "Workstation Baseline", "--dir", dir.to_str().unwrap(), "--into", &target, "--yes"]);
    command.args(["--migtable", table.to_str().unwrap()]);
    let out = gpvault_ok(command, "import");
    assert!(stdout(&out).contains("settings imported from"), "{}", stdout(&out));

    let after = GpoState::take(&lab, "branch", &target);
    assert_eq!(links(&lab)[0].attrs, links_before, "links unchanged");
    for unchanged in ["nTSecurityDescriptor", "displayName", "flags", "gPCWQLFilter", "gPCFileSysPath"] {
        assert_eq!(after.attribute(&dn, unchanged), before.attribute(&dn, unchanged), "{unchanged}");
    }
    let source_id = gpo_id(&lab, "corp", "Workstation Baseline");
    let source = GpoState::take(&lab, "corp", &source_id);
    let source_dn = gpo_dn(&lab, "corp", &source_id);
    for extensions in ["gPCMachineExtensionNames", "gPCUserExtensionNames"] {
        assert_eq!(after.attribute(&dn, extensions), source.attribute(&source_dn, extensions), "{extensions}");
    }
    let version = |s: &GpoState, dn: &str| -> u32 {
        String::from_utf8_lossy(&s.attribute(dn, "versionNumber")[0]).parse().unwrap()
    };
    let (new, old) = (version(&after, &dn), version(&source, &source_dn));
    assert!(new >> 16 > old >> 16 && new & 0xFFFF > old & 0xFFFF, "versions bumped: {old:#x} -> {new:#x}");
    // The folder: the backup's files, settings mapped; GPT.INI the target's with the new version.
    for (path, bytes) in source.files.iter().filter(|(p, _)| !is_gpt_ini(p)) {
        let (_, imported) =
            after.files.iter().find(|(p, _)| p.eq_ignore_ascii_case(path)).unwrap_or_else(|| panic!("{path} imported"));
        assert_eq!(imported, &replaced(bytes, &pairs), "{path}\n{}", text_of(imported));
    }
    let gpt_ini = text_of(after.files.iter().find(|(p, _)| is_gpt_ini(p)).unwrap().1);
    assert!(gpt_ini.contains(&format!("Version={new}")), "{gpt_ini}");
    // The safety backup of the target, beside the imported backup.
    assert_eq!(instances(&dir), 2, "a safety backup was taken first");
}

/// Every readable setting of a folder's settings files, and its other files, keyed by path in
/// lower case (SYSVOL compares paths ignoring case).
fn readable(files: &BTreeMap<String, Vec<u8>>) -> (BTreeMap<String, Vec<Setting>>, BTreeMap<String, Vec<u8>>) {
    let mut settings = BTreeMap::new();
    let mut others = BTreeMap::new();
    for (path, bytes) in files.iter().filter(|(p, _)| !is_gpt_ini(p)) {
        match SettingsFile::parse(path, bytes) {
            Some(Ok(file)) => {
                // The file is named by the key already: its case is SYSVOL's business.
                let read: Vec<Setting> = file.settings().into_iter().map(|s| s.in_file("")).collect();
                settings.insert(path.to_lowercase(), read);
            }
            _ => {
                others.insert(path.to_lowercase(), bytes.clone());
            }
        }
    }
    (settings, others)
}

#[test]
fn every_gpmc_fixture_imports_into_a_lab_gpo_and_reads_back_the_same() {
    let Some(lab) = Lab::get() else { return };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpmc");
    let mut instances: Vec<PathBuf> = Vec::new();
    let mut stack = vec![fixtures];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.join("bkupInfo.xml").is_file() {
                instances.push(path);
            } else if path.is_dir() {
                stack.push(path);
            }
        }
    }
    instances.sort();
    assert!(instances.len() >= 16, "{} GPMC instances", instances.len());

    let mut made = Made { lab: &lab, gpos: Vec::new(), objects: Vec::new() };
    let target = made.gpo("corp", "gpvault e2e gpmc imports");
    for instance in &instances {
        let tmp = tempfile::tempdir().unwrap();
        let id = instance.file_name().unwrap().to_string_lossy().into_owned();
        copy_tree(instance, &tmp.path().join(&id));
        let mut command = lab.gpvault("corp");
        command.args(["import", &id, "--dir", tmp.path().to_str().unwrap(), "--into", &target, "--yes"]);
        let out = gpvault_ok(command, &id);
        assert!(stdout(&out).contains("settings imported from"), "{id}: {}", stdout(&out));

        let backed_up = files_below(&instance.join("DomainSysvol").join("GPO"));
        let now = files_below(&dc_gpo_folder(&lab, "corp", &target));
        let (want_settings, want_others) = readable(&backed_up);
        let (got_settings, got_others) = readable(&now);
        assert!(!want_settings.is_empty() || !want_others.is_empty(), "{id} has settings");
        assert_eq!(got_settings.keys().collect::<Vec<_>>(), want_settings.keys().collect::<Vec<_>>(), "{id}");
        for (path, settings) in &want_settings {
            assert_eq!(&got_settings[path], settings, "{id}: {path}");
        }
        assert_eq!(got_others, want_others, "{id}: the other files");
    }
}

#[test]
fn migtable_only_with_a_row_missing_writes_nothing() {
    let Some(lab) = Lab::get() else { return };
    assert!(lab.has_branch(), "the branch lab domain is needed: scripts/lab up --two-domains");
    let corp = realm(&lab, "corp");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("backups");
    back_up(&lab, "Workstation Baseline", &dir);
    let (mut rows, _) = corp_to_branch_table(&lab, &["Workstation Baseline"], tmp.path());
    let before_rows = rows.len();
    rows.retain(|r| r.source != format!("Helpdesk@{corp}"));
    assert_eq!(rows.len(), before_rows - 1, "the Helpdesk row is dropped");
    let table = tmp.path().join("one-missing.migtable");
    write_table(&table, &rows);

    let mut made = Made { lab: &lab, gpos: Vec::new(), objects: Vec::new() };
    let target = made.gpo("branch", "gpvault e2e migtable-only target");
    let before = GpoState::take(&lab, "branch", &target);
    let mut command = lab.gpvault("branch");
    command.args(["import", "Workstation Baseline", "--dir", dir.to_str().unwrap(), "--into", &target, "--yes"]);
    command.args(["--migtable", table.to_str().unwrap(), "--migtable-only"]);
    let out = command.output().unwrap();
    let (helpdesk, _) = lookup(&lab, "corp", "Helpdesk");
    common::assert_one_line_failure(&out, 2, &["no row in the migration table", &helpdesk, "--migtable-only"]);
    assert!(GpoState::take(&lab, "branch", &target) == before, "the target GPO is byte for byte as it was");
    assert_eq!(instances(&dir), 1, "no safety backup either: nothing was written");

    // A table whose destination the target lacks is refused, naming the row; nothing is written.
    let bad = tmp.path().join("bad.migtable");
    let missing = format!("{}\\No Such Group", netbios(&lab, "branch"));
    let mut bad_rows = rows.clone();
    let row = bad_rows.iter().position(|r| r.entry_type != EntryType::UncPath).unwrap();
    bad_rows[row].destination = Destination::Set(missing.clone());
    write_table(&bad, &bad_rows);
    let mut command = lab.gpvault("branch");
    command.args(["import", "Workstation Baseline", "--dir", dir.to_str().unwrap(), "--into", &target, "--yes"]);
    command.args(["--migtable", bad.to_str().unwrap()]);
    let out = command.output().unwrap();
    let row_text = format!("row {}", row + 1);
    common::assert_one_line_failure(&out, 2, &["migration table is refused", &row_text, "No Such Group", "not found"]);
    assert!(GpoState::take(&lab, "branch", &target) == before, "nothing written for a refused table");
    assert_eq!(instances(&dir), 1);

    // A copy the same way creates nothing.
    let mut command = lab.gpvault("corp");
    command.args(["copy", "Workstation Baseline", "--to", "branch", "--name", "gpvault e2e never made", "--yes"]);
    command.args(["--migtable", table.to_str().unwrap(), "--migtable-only"]);
    let out = command.output().unwrap();
    common::assert_one_line_failure(&out, 2, &["no row in the migration table", &helpdesk]);
    // By name: the other tests here copy into branch meanwhile.
    assert_eq!(common::gpo_id_by_name(&lab, "branch", "gpvault e2e never made"), None, "no GPO was created");
}

#[test]
fn a_copy_to_another_domain_drops_a_wmi_filter_it_lacks_or_creates_it_when_asked() {
    let Some(lab) = Lab::get() else { return };
    assert!(lab.has_branch(), "the branch lab domain is needed: scripts/lab up --two-domains");
    let branch = realm(&lab, "branch");
    let source = "WMI Filtered - Laptops";
    let source_id = gpo_id(&lab, "corp", source);
    let link =
        lab.ldapsearch("corp", &gpo_dn(&lab, "corp", &source_id), "base", "(objectClass=*)", &["gPCWQLFilter"], false)
            [0]
        .text("gPCWQLFilter")
        .unwrap();
    let filter_id = link.split(';').nth(1).unwrap().to_string();
    let soms = |domain: &str| format!("CN=SOM,CN=WMIPolicy,CN=System,{}", lab.domain_dn(domain));
    let find_filter = |domain: &str| {
        lab.ldapsearch(
            domain,
            &soms(domain),
            "one",
            &format!("(msWMI-ID={filter_id})"),
            &["msWMI-Name", "msWMI-Parm2"],
            false,
        )
    };
    assert!(find_filter("branch").is_empty(), "branch has no filter {filter_id} to begin with");
    let corp_filter = find_filter("corp");
    let mut made = Made { lab: &lab, gpos: Vec::new(), objects: Vec::new() };

    // Without asking: the copy is made, not filtered, and the summary says why.
    let name = "gpvault e2e wmi dropped";
    let out = lab.gpvault("corp").args(["copy", source, "--to", "branch", "--name", name, "--yes"]).output().unwrap();
    if let Some(id) = find_gpo(&lab, "branch", name) {
        made.adopt("branch", id);
    }
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("is not in branch.example.test: the copy is not filtered"), "{}", stdout(&out));
    let id = gpo_id(&lab, "branch", name);
    let copy =
        lab.ldapsearch("branch", &gpo_dn(&lab, "branch", &id), "base", "(objectClass=*)", &["gPCWQLFilter"], false);
    assert_eq!(copy[0].text("gPCWQLFilter"), None);
    assert!(find_filter("branch").is_empty(), "no filter made unasked");

    // Asked, and killed once it has recorded the copy: the record names the filter it makes, and
    // `gpvault recover` takes away the unfinished copy and the filter with it.
    let name = "gpvault e2e wmi killed";
    let state = tempfile::tempdir().unwrap();
    let journal = state.path().join("gpvault").join("journal");
    let mut recorded = None;
    for _ in 0..10 {
        let mut command = lab.gpvault("corp");
        command.env("XDG_STATE_HOME", state.path());
        command.args(["copy", source, "--to", "branch", "--name", name, "--create-wmi-filter", "--yes"]);
        let mut child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while recorded.is_none() && std::time::Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            recorded = std::fs::read_dir(&journal).into_iter().flatten().flatten().find_map(|entry| {
                let text = std::fs::read_to_string(entry.path()).ok()?;
                serde_json::from_str::<serde_json::Value>(&text).ok()
            });
        }
        child.kill().ok();
        child.wait().unwrap();
        if recorded.is_some() {
            break;
        }
        // The copy finished first: it goes, and the next one is killed sooner.
        let done = find_gpo(&lab, "branch", name).expect("a finished copy");
        ldapdelete(&lab, "branch", &gpo_dn(&lab, "branch", &done));
        for filter in find_filter("branch") {
            ldapdelete(&lab, "branch", &filter.dn);
        }
    }
    let record = recorded.expect("a copy killed after its record");
    assert_eq!(record["wmi_filter_made"].as_str(), Some(filter_id.as_str()), "{record}");
    let out = lab.gpvault("branch").env("XDG_STATE_HOME", state.path()).args(["recover", "--yes"]).output().unwrap();
    if let Some(id) = find_gpo(&lab, "branch", name) {
        made.adopt("branch", id);
    }
    for filter in find_filter("branch") {
        made.objects.push(("branch", filter.dn.clone()));
    }
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(find_gpo(&lab, "branch", name), None, "no unfinished copy stays");
    assert!(find_filter("branch").is_empty(), "the filter it made went with it");

    // Asked: the filter is made in branch with its ID and query, and the copy linked to it.
    let name = "gpvault e2e wmi created";
    let mut command = lab.gpvault("corp");
    command.args(["copy", source, "--to", "branch", "--name", name, "--create-wmi-filter", "--yes"]);
    let out = command.output().unwrap();
    if let Some(id) = find_gpo(&lab, "branch", name) {
        made.adopt("branch", id);
    }
    let created = find_filter("branch");
    if let Some(filter) = created.first() {
        made.objects.push(("branch", filter.dn.clone()));
    }
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(created.len(), 1, "the filter is in branch");
    assert_eq!(created[0].text("msWMI-Parm2"), corp_filter[0].text("msWMI-Parm2"), "the same query");
    let id = gpo_id(&lab, "branch", name);
    let copy =
        lab.ldapsearch("branch", &gpo_dn(&lab, "branch", &id), "base", "(objectClass=*)", &["gPCWQLFilter"], false);
    assert_eq!(copy[0].text("gPCWQLFilter"), Some(format!("[{branch};{filter_id};0]")));
}
