//! The lab DC for the lab tests of `sysvol` and `directory` (`scripts/lab up`). Where the lab
//! is, and when a test may skip, comes from tests/common/lab_env.rs, as for every test.

use std::path::PathBuf;
use std::process::Command;

use crate::config::{DomainTarget, TlsMode};
use crate::directory::LdapDirectory;
use crate::sysvol::smb::SmbSysvol;

use crate::lab_env;

pub(crate) struct LabDc {
    pub server: String,
    pub realm: String,
    pub netbios: String,
    pub user: String,
    pub password: String,
    pub ca: PathBuf,
    /// The sysvol share root on the DC's disk.
    pub local_sysvol: PathBuf,
    pub smb_conf: PathBuf,
}

impl LabDc {
    /// The lab's corp DC, or None when the run asked to skip lab tests.
    pub fn corp() -> Option<LabDc> {
        let env = lab_env::LabEnv::load()?;
        let dir = env.dir.display().to_string();
        let var = |name: &str, default: &str| env.get(name).unwrap_or_else(|| default.to_string());
        Some(LabDc {
            server: var("GPVAULT_LAB_CORP_SERVER", "127.0.0.1"),
            realm: var("GPVAULT_LAB_CORP_DOMAIN", "corp.example.test"),
            netbios: var("GPVAULT_LAB_CORP_NETBIOS", "CORP"),
            user: var("GPVAULT_LAB_USER", "Administrator"),
            password: env.var("GPVAULT_LAB_PASSWORD"),
            ca: PathBuf::from(var("GPVAULT_LAB_CA", &format!("{dir}/ca.pem"))),
            local_sysvol: PathBuf::from(var("GPVAULT_LAB_CORP_SYSVOL", &format!("{dir}/corp/state/sysvol"))),
            smb_conf: PathBuf::from(var("GPVAULT_LAB_CORP_SMBCONF", &format!("{dir}/corp/etc/smb.conf"))),
        })
    }

    pub fn domain_dn(&self) -> String {
        self.realm.split('.').map(|p| format!("DC={p}")).collect::<Vec<_>>().join(",")
    }

    /// The Policies folder on the DC's disk.
    pub fn policies_on_disk(&self) -> PathBuf {
        self.local_sysvol.join(&self.realm).join("Policies")
    }

    pub async fn smb(&self, connections: usize) -> SmbSysvol {
        SmbSysvol::connect(&self.server, "sysvol", &self.netbios, &self.user, &self.password, connections)
            .await
            .unwrap_or_else(|e| panic!("connecting to the lab DC over SMB: {e}"))
    }

    /// How the tests reach the DC over LDAPS (the password is passed apart, as in the product).
    pub fn target(&self) -> DomainTarget {
        DomainTarget {
            profile: None,
            server: self.server.clone(),
            domain: self.realm.clone(),
            user: self.user.clone(),
            password_env: None,
            ca_file: Some(self.ca.clone()),
            kerberos: false,
            sysvol_path: None,
            tls: TlsMode::Ldaps,
            insecure_tls: false,
        }
    }

    pub async fn ldap(&self) -> LdapDirectory {
        LdapDirectory::connect(&self.target(), &self.password)
            .await
            .unwrap_or_else(|e| panic!("connecting to the lab DC over LDAPS: {e}"))
    }

    /// Runs a command, panicking with its stderr when it fails; returns its stdout.
    fn run(mut command: Command) -> String {
        let shown = format!("{command:?}");
        let out = command.output().unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
        assert!(
            out.status.success(),
            "{shown} failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `samba-tool <args> -s <the DC's smb.conf>`.
    pub fn samba_tool(&self, args: &[&str]) -> String {
        let mut command = Command::new("samba-tool");
        command.args(args).arg("-s").arg(&self.smb_conf);
        Self::run(command)
    }

    /// `samba-tool <args>` against the DC over LDAP, as Administrator.
    pub fn samba_tool_remote(&self, args: &[&str]) -> String {
        let creds = format!("-U{}%{}", self.user, self.password);
        let url = format!("ldap://{}", self.server);
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-H", &url, &creds]);
        self.samba_tool(&all)
    }

    /// `ldapsearch` over LDAPS, unwrapped LDIF; `extra` goes before the filter (`-E ...`).
    pub fn ldapsearch(&self, base: &str, scope: &str, filter: &str, attrs: &[&str], extra: &[&str]) -> String {
        let mut command = Command::new("ldapsearch");
        command
            .env("LDAPTLS_CACERT", &self.ca)
            .args(["-LLL", "-o", "ldif-wrap=no", "-H", &format!("ldaps://{}", self.server)])
            .args(["-D", &format!("{}@{}", self.user, self.realm), "-w", &self.password])
            .args(["-b", base, "-s", scope])
            .args(extra)
            .arg(filter)
            .args(attrs);
        Self::run(command)
    }

    /// `ldapmodify` over LDAPS with `ldif` on stdin; `extra` adds options (`-e ...`).
    pub fn ldapmodify(&self, ldif: &str, extra: &[&str]) {
        use std::io::Write;
        let mut child = Command::new("ldapmodify")
            .env("LDAPTLS_CACERT", &self.ca)
            .args(["-H", &format!("ldaps://{}", self.server)])
            .args(["-D", &format!("{}@{}", self.user, self.realm), "-w", &self.password])
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("ldapmodify runs (apt package ldap-utils)");
        child.stdin.take().expect("stdin").write_all(ldif.as_bytes()).expect("writing LDIF to ldapmodify");
        let out = child.wait_with_output().expect("ldapmodify finishes");
        assert!(out.status.success(), "ldapmodify failed: {}\n{ldif}", String::from_utf8_lossy(&out.stderr));
    }
}

impl LabDc {
    /// `ldapdelete -r`: removes `dn` and everything below it; quiet when it is not there.
    pub fn ldapdelete_tree(&self, dn: &str) {
        let _ = Command::new("ldapdelete")
            .env("LDAPTLS_CACERT", &self.ca)
            .args(["-r", "-H", &format!("ldaps://{}", self.server)])
            .args(["-D", &format!("{}@{}", self.user, self.realm), "-w", &self.password])
            .arg(dn)
            .output();
    }
}

/// The values of `attr` in LDIF text (one entry), base64 ones decoded.
pub(crate) fn ldif_values(ldif: &str, attr: &str) -> Vec<Vec<u8>> {
    use base64::Engine;
    let mut out = Vec::new();
    for line in ldif.lines() {
        let Some((name, rest)) = line.split_once(':') else { continue };
        if !name.eq_ignore_ascii_case(attr) {
            continue;
        }
        if let Some(b64) = rest.strip_prefix(": ") {
            out.push(base64::engine::general_purpose::STANDARD.decode(b64.trim()).expect("base64 in LDIF"));
        } else {
            out.push(rest.strip_prefix(' ').unwrap_or(rest).as_bytes().to_vec());
        }
    }
    out
}

#[test]
fn a_missing_lab_skips_only_when_asked_and_never_in_ci() {
    assert!(lab_env::may_skip(None, Some("1")));
    assert!(!lab_env::may_skip(None, None));
    assert!(!lab_env::may_skip(None, Some("0")));
    assert!(!lab_env::may_skip(Some("true"), Some("1")));
    assert!(!lab_env::may_skip(Some("1"), Some("1")));
    assert!(lab_env::may_skip(Some("false"), Some("1")));
}
