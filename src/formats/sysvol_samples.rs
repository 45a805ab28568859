//! Real SYSVOL settings files for the readers' tests: the vendored GPMC backups, and the lab
//! domains' SYSVOL when the lab runs (scripts/lab, seeded by scripts/seed_gpos.py) in
//! `$GPVAULT_LAB_DIR` (default /tmp/gpvault-lab, as for the end-to-end tests).
//!
//! Where the lab is and whether a test may skip without it is decided in one place for every
//! test: tests/common/lab_env.rs (fail without a lab unless GPVAULT_SKIP_LAB_TESTS=1; never skip
//! under CI=true).

use std::path::{Path, PathBuf};

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpmc");

use crate::lab_env;

/// Every file below `root` whose lower-case name passes `wanted`, sorted.
pub fn files_under(root: &Path, wanted: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if wanted(&entry.file_name().to_string_lossy().to_lowercase()) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Matching files in the vendored GPMC backups.
pub fn fixture_files(wanted: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    assert!(Path::new(FIXTURES).is_dir(), "{FIXTURES} is part of the repository and is missing");
    files_under(Path::new(FIXTURES), wanted)
}

/// The corp lab domain: its SYSVOL and the manifest of what seed_gpos.py put there.
pub struct Lab {
    pub policies: PathBuf,
    pub manifest: serde_json::Value,
}

/// The corp lab (see lab_env.rs for when this is `None`).
pub fn corp_lab() -> Option<Lab> {
    let env = lab_env::LabEnv::load()?;
    let domain = env.var("GPVAULT_LAB_CORP_DOMAIN");
    let policies = PathBuf::from(env.var("GPVAULT_LAB_CORP_SYSVOL")).join(&domain).join("Policies");
    let manifest_path = PathBuf::from(env.var("GPVAULT_LAB_CORP_MANIFEST"));
    let text = std::fs::read_to_string(&manifest_path).unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
    let manifest = serde_json::from_str(&text).unwrap();
    Some(Lab { policies, manifest })
}

/// Matching files in every lab domain's SYSVOL (corp, branch...), empty without the lab.
pub fn lab_files(wanted: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Some(env) = lab_env::LabEnv::load() else { return found };
    let Ok(domains) = std::fs::read_dir(&env.dir) else { return found };
    for domain in domains.flatten() {
        let sysvol = domain.path().join("state/sysvol");
        let Ok(realms) = std::fs::read_dir(&sysvol) else { continue };
        for realm in realms.flatten() {
            found.extend(files_under(&realm.path().join("Policies"), wanted));
        }
    }
    found.sort();
    found
}

impl Lab {
    /// `S-1-5-21-...` of the corp domain.
    pub fn domain_sid(&self) -> &str {
        self.manifest["domain_sid"].as_str().unwrap()
    }

    pub fn netbios(&self) -> &str {
        self.manifest["netbios"].as_str().unwrap()
    }

    pub fn realm(&self) -> &str {
        self.manifest["domain"].as_str().unwrap()
    }

    /// A seeded GPO's file, by the GPO's display name and the path inside its folder.
    pub fn file(&self, gpo_name: &str, rel_path: &str) -> Vec<u8> {
        let gpos = self.manifest["gpos"].as_array().unwrap();
        let gpo =
            gpos.iter().find(|g| g["name"] == gpo_name).unwrap_or_else(|| panic!("no GPO {gpo_name} in manifest"));
        let path = self.policies.join(gpo["guid"].as_str().unwrap()).join(rel_path);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

/// Reads `path`, naming it on failure.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text` as UTF-16LE with a BOM and CRLF line ends, as secedit and Folder Redirection write,
/// built independently of the code under test (as seed_gpos.py's `utf16` does).
pub fn utf16_crlf(text: &str) -> Vec<u8> {
    let text = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let mut out = vec![0xFF, 0xFE];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

/// `bytes` with the single occurrence of `old` replaced by `new`; panics unless `old` occurs
/// exactly once. Lets edit tests state the expected file without the code under test.
pub fn replace_once(bytes: &[u8], old: &[u8], new: &[u8]) -> Vec<u8> {
    let hits: Vec<usize> =
        (0..=bytes.len().saturating_sub(old.len())).filter(|&i| bytes[i..].starts_with(old)).collect();
    assert_eq!(hits.len(), 1, "expected exactly one occurrence of {:?}", String::from_utf8_lossy(old));
    let mut out = bytes[..hits[0]].to_vec();
    out.extend_from_slice(new);
    out.extend_from_slice(&bytes[hits[0] + old.len()..]);
    out
}

/// UTF-16LE bytes of `text` (no BOM).
pub fn utf16_bytes(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// `bytes` with every occurrence of `old` replaced by `new`, and how many there were.
pub fn replace_all(bytes: &[u8], old: &[u8], new: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(bytes.len());
    let (mut i, mut count) = (0, 0);
    while i < bytes.len() {
        if !old.is_empty() && bytes[i..].starts_with(old) {
            out.extend_from_slice(new);
            i += old.len();
            count += 1;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    (out, count)
}

/// The text of a UTF-16LE file with BOM, decoded by the test itself.
pub fn utf16_text(bytes: &[u8]) -> String {
    assert_eq!(&bytes[..2], [0xFF, 0xFE], "no UTF-16LE BOM");
    let units: Vec<u16> = bytes[2..].chunks_exact(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect();
    String::from_utf16(&units).unwrap()
}
