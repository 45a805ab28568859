//! The lab's variables, for every test that talks to the lab DCs: the end-to-end tests in tests/
//! and the lab tests inside src/ (which include this file with `#[path]`), so there is one
//! place that knows where the lab is and when a test may skip.
//!
//! The variables come from the environment or, failing that, from `$GPVAULT_LAB_DIR/env`
//! (default /tmp/gpvault-lab), written by `scripts/lab up`. Without a lab a test fails, unless
//! GPVAULT_SKIP_LAB_TESTS=1 asks to skip it — and under CI (CI=true) it fails even then: CI
//! always runs against the real DCs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub struct LabEnv {
    pub dir: PathBuf,
    vars: HashMap<String, String>,
}

impl LabEnv {
    /// The running lab, or `None` when the caller may skip (see the module comment).
    pub fn load() -> Option<LabEnv> {
        let dir = std::env::var("GPVAULT_LAB_DIR").unwrap_or_else(|_| "/tmp/gpvault-lab".into());
        let path = PathBuf::from(&dir).join("env");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                let ci = std::env::var("CI").ok();
                let in_ci = is_ci(ci.as_deref());
                if may_skip(ci.as_deref(), std::env::var("GPVAULT_SKIP_LAB_TESTS").ok().as_deref()) {
                    eprintln!("skipped: no lab at {dir} and GPVAULT_SKIP_LAB_TESTS=1");
                    return None;
                }
                panic!(
                    "no lab DC at {dir} ({e}): start it with `scripts/lab up --two-domains`{}",
                    if in_ci {
                        "; under CI=true lab tests never skip"
                    } else {
                        " (or set GPVAULT_SKIP_LAB_TESTS=1 to skip)"
                    }
                );
            }
        };
        let vars = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches(|c| c == '"' || c == '\'').to_string()))
            .collect();
        Some(LabEnv { dir: PathBuf::from(dir), vars })
    }

    /// A variable from the environment first (a caller may point at another lab), then the file.
    pub fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().or_else(|| self.vars.get(name).cloned())
    }

    pub fn var(&self, name: &str) -> String {
        self.get(name).unwrap_or_else(|| panic!("lab env has no {name}"))
    }

    pub fn vars(&self) -> &HashMap<String, String> {
        &self.vars
    }
}

/// Gets a Kerberos ticket for `principal` from the lab's KDC into the file cache `cache` with
/// `kinit` (package krb5-user), through the lab's krb5.conf (`GPVAULT_LAB_KRB5_CONFIG`); the
/// password goes on kinit's stdin. `options` are kinit's (e.g. `-l 5s`, `-F`).
pub fn kinit(krb5_config: &str, principal: &str, password: &str, cache: &Path, options: &[&str]) -> Result<(), String> {
    use std::io::Write;
    let mut command = std::process::Command::new("kinit");
    command.env("KRB5_CONFIG", krb5_config).env("KRB5CCNAME", format!("FILE:{}", cache.display()));
    command.args(options);
    let mut child = command
        .arg(principal)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run kinit (apt package krb5-user): {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{password}").map_err(|e| format!("writing to kinit: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("kinit: {e}"))?;
    if !out.status.success() {
        return Err(format!("kinit {principal} failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

fn is_ci(ci: Option<&str>) -> bool {
    ci.is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Whether a missing lab may skip a test: only when asked (GPVAULT_SKIP_LAB_TESTS=1), and never
/// in CI (CI=true or 1): a CI run must not pass by testing nothing.
pub fn may_skip(ci: Option<&str>, skip: Option<&str>) -> bool {
    !is_ci(ci) && skip == Some("1")
}
