//! Shared helpers for the end-to-end tests: they run against the real lab DCs started by
//! `scripts/lab up --two-domains` (see README), never against mocks.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Output, Stdio};

#[path = "lab_env.rs"]
mod lab_env;
pub mod pty;
pub mod tcp_proxy;
pub use lab_env::LabEnv;

pub struct Lab {
    pub vars: HashMap<String, String>,
}

/// Taken by each test of a binary whose tests break their own GPOs on purpose (kill a restore
/// half way, cut the DC) and also back up the whole domain: run at once, one test's Back Up All
/// would meet another's half-swapped GPO. Such a binary's tests run one after another.
#[allow(dead_code)]
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // A test that failed while holding it poisons it: the next ones still run.
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Lab {
    /// The running lab (see `LabEnv::load` for when a test may skip).
    pub fn get() -> Option<Lab> {
        let env = LabEnv::load()?;
        Some(Lab { vars: env.vars().clone() })
    }

    pub fn var(&self, name: &str) -> String {
        self.vars.get(name).cloned().unwrap_or_else(|| panic!("lab env has no {name}"))
    }

    pub fn has_branch(&self) -> bool {
        self.vars.contains_key("GPVAULT_LAB_BRANCH_SERVER")
    }

    pub fn password(&self) -> String {
        self.var("GPVAULT_LAB_PASSWORD")
    }

    /// `gpvault` with the lab's config and the given profile, and nothing else from the caller's
    /// environment that could change its behaviour.
    pub fn gpvault(&self, profile: &str) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gpvault"));
        for key in [
            "GPVAULT_SERVER",
            "GPVAULT_DOMAIN",
            "GPVAULT_USER",
            "GPVAULT_PASSWORD",
            "GPVAULT_CA_FILE",
            "GPVAULT_SYSVOL_PATH",
        ] {
            cmd.env_remove(key);
        }
        cmd.env("GPVAULT_CONFIG", self.var("GPVAULT_CONFIG"))
            .env("GPVAULT_PROFILE", profile)
            .env("GPVAULT_LAB_PASSWORD", self.password())
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs ldapsearch against a lab DC over LDAPS; `with_sd` asks for owner, group and DACL.
    pub fn ldapsearch(
        &self,
        domain: &str,
        base: &str,
        scope: &str,
        filter: &str,
        attrs: &[&str],
        with_sd: bool,
    ) -> Vec<LdifEntry> {
        let upper = domain.to_uppercase();
        let server = self.var(&format!("GPVAULT_LAB_{upper}_SERVER"));
        let dns = self.var(&format!("GPVAULT_LAB_{upper}_DOMAIN"));
        let mut cmd = Command::new("ldapsearch");
        cmd.env("LDAPTLS_CACERT", self.var("GPVAULT_LAB_CA"))
            .args(["-LLL", "-o", "ldif-wrap=no", "-H", &format!("ldaps://{server}")])
            .args(["-D", &format!("Administrator@{dns}"), "-w", &self.password()])
            .args(["-b", base, "-s", scope]);
        if with_sd {
            cmd.args(["-E", "!1.2.840.113556.1.4.801=::MAMCAQc="]);
        }
        cmd.arg(filter).args(attrs);
        let out = cmd.output().expect("ldapsearch runs (apt package ldap-utils)");
        assert!(out.status.success(), "ldapsearch failed: {}", String::from_utf8_lossy(&out.stderr));
        parse_ldif(&String::from_utf8_lossy(&out.stdout))
    }

    /// The lab's krb5.conf (KDCs by loopback address); a lab started before it existed has none.
    pub fn krb5_config(&self) -> String {
        self.vars
            .get("GPVAULT_LAB_KRB5_CONFIG")
            .cloned()
            .unwrap_or_else(|| panic!("the lab has no krb5.conf: run `scripts/lab up --two-domains` again to add it"))
    }

    /// A ticket for Administrator of `domain` ("corp", "branch") in the file cache `cache`, with
    /// kinit's `options`.
    pub fn kinit(&self, domain: &str, cache: &Path, options: &[&str]) {
        let realm = self.var(&format!("GPVAULT_LAB_{}_REALM", domain.to_uppercase()));
        lab_env::kinit(&self.krb5_config(), &format!("Administrator@{realm}"), &self.password(), cache, options)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    pub fn domain_dn(&self, domain: &str) -> String {
        let dns = self.var(&format!("GPVAULT_LAB_{}_DOMAIN", domain.to_uppercase()));
        dns.split('.').map(|p| format!("DC={p}")).collect::<Vec<_>>().join(",")
    }
}

/// A GPO a test made in corp, deleted again however the test ends.
pub struct OwnGpo {
    pub id: String,
    server: String,
    smb_conf: String,
    password: String,
}

impl OwnGpo {
    pub fn create(lab: &Lab, name: &str) -> OwnGpo {
        let created = samba_tool_remote(lab, "corp", &["gpo", "create", name]);
        let id = created
            .split_whitespace()
            .last()
            .filter(|w| w.starts_with('{') && w.ends_with('}'))
            .unwrap_or_else(|| panic!("a GUID in: {created}"))
            .to_string();
        OwnGpo {
            id,
            server: lab.var("GPVAULT_LAB_CORP_SERVER"),
            smb_conf: lab.var("GPVAULT_LAB_CORP_SMBCONF"),
            password: lab.password(),
        }
    }
}

impl Drop for OwnGpo {
    fn drop(&mut self) {
        // Never a panic here: the GPO may be gone already (the test deleted it itself).
        let _ = Command::new("samba-tool")
            .args(["gpo", "del", &self.id, "-H", &format!("ldap://{}", self.server)])
            .arg(format!("-UAdministrator%{}", self.password))
            .args(["-s", &self.smb_conf])
            .output();
    }
}

#[derive(Debug, Default, Clone)]
pub struct LdifEntry {
    pub dn: String,
    pub attrs: HashMap<String, Vec<Vec<u8>>>,
}

impl LdifEntry {
    pub fn text(&self, name: &str) -> Option<String> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.first())
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
    pub fn bytes(&self, name: &str) -> Option<Vec<u8>> {
        self.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.first().cloned())
    }
}

pub fn parse_ldif(text: &str) -> Vec<LdifEntry> {
    use base64::Engine;
    let mut entries = Vec::new();
    for block in text.split("\n\n") {
        let mut entry = LdifEntry::default();
        for line in block.lines() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (name, value) = if let Some((name, b64)) = line.split_once(":: ") {
                (name, base64::engine::general_purpose::STANDARD.decode(b64.trim()).expect("ldif base64"))
            } else if let Some((name, v)) = line.split_once(": ") {
                (name, v.as_bytes().to_vec())
            } else if let Some(name) = line.strip_suffix(':') {
                (name, Vec::new())
            } else {
                continue;
            };
            if name == "dn" {
                entry.dn = String::from_utf8_lossy(&value).into_owned();
            } else {
                entry.attrs.entry(name.to_string()).or_default().push(value);
            }
        }
        if !entry.dn.is_empty() {
            entries.push(entry);
        }
    }
    entries
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A failure the user can act on: exit code 2, one line on stderr, no backtrace or report noise.
pub fn assert_one_line_failure(out: &Output, code: i32, must_mention: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "exit code; stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "want exactly one line on stderr, got:\n{err}");
    for word in must_mention {
        assert!(err.to_lowercase().contains(&word.to_lowercase()), "stderr should mention '{word}': {err}");
    }
    for noise in ["backtrace", "Location:", "panicked", "RUST_BACKTRACE"] {
        assert!(!err.contains(noise), "stderr has '{noise}': {err}");
    }
}

/// SDDL as Samba's own python bindings print it (`security.descriptor.as_sddl(domain_sid)`),
/// for many descriptors in one interpreter start.
pub fn samba_sddl_many(sds: &[Vec<u8>], domain_sid: &str) -> Vec<String> {
    let script = "import sys\nfrom samba.ndr import ndr_unpack\nfrom samba.dcerpc import security\n\
                  dom = security.dom_sid(sys.argv[1])\n\
                  for line in sys.stdin:\n    print(ndr_unpack(security.descriptor, bytes.fromhex(line.strip())).as_sddl(dom))\n";
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", script, domain_sid])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3-samba");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        for sd in sds {
            let hex: String = sd.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(stdin, "{hex}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "samba python failed");
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

pub fn samba_sddl(sd: &[u8], domain_sid: &str) -> String {
    samba_sddl_many(&[sd.to_vec()], domain_sid).remove(0)
}

/// The DC's own copy of a GPO folder (its local sysvol), found case-insensitively.
pub fn dc_gpo_folder(lab: &Lab, domain: &str, gpo_id: &str) -> std::path::PathBuf {
    let upper = domain.to_uppercase();
    let policies = std::path::Path::new(&lab.var(&format!("GPVAULT_LAB_{upper}_SYSVOL")))
        .join(lab.var(&format!("GPVAULT_LAB_{upper}_DOMAIN")))
        .join("Policies");
    std::fs::read_dir(&policies)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().eq_ignore_ascii_case(gpo_id))
        .unwrap_or_else(|| panic!("{gpo_id} not in {}", policies.display()))
}

// Helpers shared by the end-to-end tests

/// Runs a command that must succeed; its stdout.
pub fn run(mut command: Command) -> String {
    let shown = format!("{command:?}");
    let out = command.output().unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    assert!(out.status.success(), "{shown} failed: {}{}", stderr(&out), stdout(&out));
    stdout(&out)
}

pub fn samba_tool_remote(lab: &Lab, domain: &str, args: &[&str]) -> String {
    let mut command = Command::new("samba-tool");
    command
        .args(args)
        .args(["-H", &format!("ldap://{}", lab.var(&format!("GPVAULT_LAB_{}_SERVER", domain.to_uppercase())))])
        .arg(format!("-UAdministrator%{}", lab.password()))
        .args(["-s", &lab.var(&format!("GPVAULT_LAB_{}_SMBCONF", domain.to_uppercase()))]);
    run(command)
}

pub fn ldap_tool(lab: &Lab, domain: &str, tool: &str, extra: &[&str], input: &str) {
    use std::io::Write;
    let server = lab.var(&format!("GPVAULT_LAB_{}_SERVER", domain.to_uppercase()));
    let dns = lab.var(&format!("GPVAULT_LAB_{}_DOMAIN", domain.to_uppercase()));
    let mut child = Command::new(tool)
        .env("LDAPTLS_CACERT", lab.var("GPVAULT_LAB_CA"))
        .args(["-H", &format!("ldaps://{server}"), "-D", &format!("Administrator@{dns}"), "-w", &lab.password()])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool} runs (apt package ldap-utils): {e}"));
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{tool} failed: {}\n{input}", stderr(&out));
}

/// A principal's SID and GPMC type as ldapsearch shows them in `domain` (corp or branch).
pub fn lookup(lab: &Lab, domain: &str, sam: &str) -> (String, String) {
    let base = lab.domain_dn(domain);
    let found = lab.ldapsearch(
        domain,
        &base,
        "sub",
        &format!("(sAMAccountName={sam})"),
        &["objectSid", "objectClass", "groupType"],
        false,
    );
    let entry = found.first().unwrap_or_else(|| panic!("{sam} is not in the lab's {domain}"));
    (sid_text(&entry.bytes("objectSid").unwrap()), kind_of(entry))
}

pub fn sid_text(bytes: &[u8]) -> String {
    let authority = bytes[2..8].iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let subs: Vec<String> = bytes[8..]
        .chunks_exact(4)
        .take(bytes[1] as usize)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]).to_string())
        .collect();
    format!("S-{}-{authority}-{}", bytes[0], subs.join("-"))
}

pub fn kind_of(entry: &LdifEntry) -> String {
    let classes: Vec<String> = entry
        .attrs
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("objectClass"))
        .flat_map(|(_, v)| v.iter().map(|c| String::from_utf8_lossy(c).to_lowercase()))
        .collect();
    let group_type: i64 = entry.text("groupType").and_then(|t| t.parse().ok()).unwrap_or(0);
    if classes.iter().any(|c| c == "computer") {
        "Computer".into()
    } else if classes.iter().any(|c| c == "user") {
        "User".into()
    } else if group_type & 8 != 0 {
        "UniversalGroup".into()
    } else if group_type & 2 != 0 {
        "GlobalGroup".into()
    } else {
        "LocalGroup".into()
    }
}

/// `bytes` with every `old` replaced by `new` (longest first), in the file's own encoding.
pub fn replaced(bytes: &[u8], pairs: &[(String, String)]) -> Vec<u8> {
    let utf16 = bytes.starts_with(&[0xFF, 0xFE]);
    let encode = |t: &str| -> Vec<u8> {
        if utf16 { t.encode_utf16().flat_map(u16::to_le_bytes).collect() } else { t.as_bytes().to_vec() }
    };
    let mut pairs = pairs.to_vec();
    pairs.sort_by_key(|(old, _)| std::cmp::Reverse(old.len()));
    let mut out = bytes.to_vec();
    for (old, new) in &pairs {
        let (old, new) = (encode(old), encode(new));
        let mut next = Vec::with_capacity(out.len());
        let mut i = 0;
        while i < out.len() {
            if out[i..].starts_with(&old) && (!utf16 || i % 2 == 0) {
                next.extend_from_slice(&new);
                i += old.len();
            } else {
                next.push(out[i]);
                i += 1;
            }
        }
        out = next;
    }
    out
}

pub fn text_of(bytes: &[u8]) -> String {
    match bytes.strip_prefix(&[0xFF, 0xFE]) {
        Some(rest) => String::from_utf16_lossy(
            &rest.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect::<Vec<_>>(),
        ),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Copies a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A GPO made for a test and deleted after it, with what a restore sets read back
/// (`fingerprint`). (`OwnGpo` is the same without the read-back.)
pub struct TestGpo<'a> {
    lab: &'a Lab,
    pub id: String,
}

impl Drop for TestGpo<'_> {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            samba_tool_remote(self.lab, "corp", &["gpo", "del", &self.id]);
        }));
    }
}

impl TestGpo<'_> {
    /// Makes a GPO named `name` in corp with samba-tool.
    pub fn create<'a>(lab: &'a Lab, name: &str) -> TestGpo<'a> {
        let made = samba_tool_remote(lab, "corp", &["gpo", "create", name]);
        let id = made.rsplit(' ').next().unwrap().trim().to_uppercase();
        assert!(id.starts_with('{') && id.ends_with('}'), "samba-tool gpo create said: {made}");
        TestGpo { lab, id }
    }

    pub fn dn(&self) -> String {
        format!("CN={},CN=Policies,CN=System,{}", self.id, self.lab.domain_dn("corp"))
    }

    /// Sets the GPO's flags attribute (1: user half disabled) over LDAP, as an admin's tool would.
    #[allow(dead_code)]
    pub fn set_flags(&self, flags: u32) {
        let change = format!("dn: {}\nchangetype: modify\nreplace: flags\nflags: {flags}\n-\n", self.dn());
        ldap_tool(self.lab, "corp", "ldapmodify", &[], &change);
    }

    /// Writes a file into the GPO's folder over SMB, as an admin's tool would.
    pub fn put(&self, rel: &str, content: &str) {
        let local = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(local.path(), content).unwrap();
        let remote = format!("{}\\Policies\\{}\\{}", self.lab.var("GPVAULT_LAB_CORP_DOMAIN"), self.id, rel);
        let mut command = Command::new("smbclient");
        command
            .arg(format!("//{}/sysvol", self.lab.var("GPVAULT_LAB_CORP_SERVER")))
            .arg(format!("-UAdministrator%{}", self.lab.password()))
            .args(["-c", &format!("put \"{}\" \"{remote}\"", local.path().display())]);
        run(command);
    }

    /// Everything a restore sets, versions apart: the directory half and the DC's files.
    pub fn fingerprint(&self) -> BTreeMap<String, Vec<u8>> {
        fingerprint(self.lab, &self.id)
    }
}

/// Everything a restore or a copy sets in corp's GPO `id`, versions apart: the directory half
/// and the DC's files.
pub fn fingerprint(lab: &Lab, id: &str) -> BTreeMap<String, Vec<u8>> {
    let dn = format!("CN={id},CN=Policies,CN=System,{}", lab.domain_dn("corp"));
    let attrs = [
        "displayName",
        "flags",
        "gPCMachineExtensionNames",
        "gPCUserExtensionNames",
        "gPCWQLFilter",
        "nTSecurityDescriptor",
    ];
    let entries = lab.ldapsearch("corp", &dn, "base", "(objectClass=*)", &attrs, true);
    let mut print = BTreeMap::new();
    for name in attrs {
        print.insert(format!("ldap:{name}"), entries[0].bytes(name).unwrap_or_default());
    }
    let root = dc_gpo_folder(lab, "corp", id);
    for entry in walk(&root) {
        let rel = entry.strip_prefix(&root).unwrap().to_string_lossy().to_lowercase();
        let bytes = if entry.is_dir() { b"<folder>".to_vec() } else { std::fs::read(&entry).unwrap() };
        let bytes = match rel.as_str() {
            "gpt.ini" => String::from_utf8_lossy(&bytes)
                .lines()
                .filter(|l| !l.to_lowercase().starts_with("version="))
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes(),
            _ => bytes,
        };
        print.insert(format!("file:{rel}"), bytes);
    }
    print
}

pub fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        }
        found.push(path);
    }
    found
}

/// Restore journal records in a backup folder (a change under way or interrupted).
/// A folder not made yet (a copy's journal before the first copy) holds none.
pub fn journal_records(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().filter(|e| e.file_name().to_string_lossy().starts_with(gpvault::store::JOURNAL_PREFIX)).count()
}

/// The GUID of the GPO named `name` in the lab's `domain` (samba-tool gpo listall), if any.
/// Never panics: cleanup guards call it.
pub fn gpo_id_by_name(lab: &Lab, domain: &str, name: &str) -> Option<String> {
    let upper = domain.to_uppercase();
    let out = Command::new("samba-tool")
        .args(["gpo", "listall", "-H", &format!("ldap://{}", lab.vars.get(&format!("GPVAULT_LAB_{upper}_SERVER"))?)])
        .arg(format!("-UAdministrator%{}", lab.vars.get("GPVAULT_LAB_PASSWORD")?))
        .args(["-s", lab.vars.get(&format!("GPVAULT_LAB_{upper}_SMBCONF"))?])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    // Blocks of "GPO          : {GUID}" then "display name : name".
    let mut current: Option<String> = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        match key.trim() {
            "GPO" => current = Some(value.trim().to_string()),
            "display name" if value.trim() == name => return current,
            _ => {}
        }
    }
    None
}

/// A GPO a test makes through gpvault (a copy, say) in the lab's `domain`, deleted by name when
/// the guard goes, whatever the test's outcome: the lab is left as found.
pub struct GpoByName {
    lab: Lab,
    pub domain: String,
    pub name: String,
}

impl GpoByName {
    pub fn new(lab: &Lab, domain: &str, name: &str) -> GpoByName {
        GpoByName { lab: Lab { vars: lab.vars.clone() }, domain: domain.into(), name: name.into() }
    }

    pub fn id(&self) -> Option<String> {
        gpo_id_by_name(&self.lab, &self.domain, &self.name)
    }
}

impl Drop for GpoByName {
    fn drop(&mut self) {
        let upper = self.domain.to_uppercase();
        let (Some(id), Some(server), Some(conf)) = (
            self.id(),
            self.lab.vars.get(&format!("GPVAULT_LAB_{upper}_SERVER")),
            self.lab.vars.get(&format!("GPVAULT_LAB_{upper}_SMBCONF")),
        ) else {
            return;
        };
        let _ = Command::new("samba-tool")
            .args(["gpo", "del", &id, "-H", &format!("ldap://{server}")])
            .arg(format!("-UAdministrator%{}", self.lab.password()))
            .args(["-s", conf])
            .output();
    }
}
