//! The layers keep their rules (README, "Layout"): this test reads the `use` lines (and paths
//! written inline) of every source file and fails on an import a layer must not make.

use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// (files under this folder of src/, what they must not name, why)
const RULES: &[(&str, &[&str], &str)] = &[
    (
        "formats",
        &[
            "crate::directory",
            "crate::sysvol",
            "crate::ops",
            "crate::store",
            "crate::migrate",
            "ldap3",
            "smb2",
            "tokio",
        ],
        "formats turn bytes into data and back; they never touch the network or the backup folder",
    ),
    (
        "model",
        &[
            "crate::directory",
            "crate::sysvol",
            "crate::ops",
            "crate::store",
            "crate::migrate",
            "crate::formats",
            "crate::config",
            "ldap3",
            "smb2",
            "tokio",
        ],
        "model is plain data and imports nothing else from the crate",
    ),
    (
        "migrate",
        &["crate::sysvol", "crate::directory", "crate::ops", "crate::store", "ldap3", "smb2"],
        "migrate builds on formats and model, not on the network",
    ),
    ("cli", &["crate::tui"], "the CLI and the TUI never import each other (shared things live in front.rs)"),
    (
        "tui",
        &["crate::cli", "gpvault::formats", "quick_xml", "gpt_ini_version", "parse_generalized_time"],
        "the TUI never parses a file, not even through a helper: ops hands it ready summaries; \
         and it never imports the CLI",
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments, so a doc comment may mention what the code must not use.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.split("//").next().unwrap_or("").to_string()))
        .filter(|(_, line)| !line.trim().is_empty())
        .collect()
}

/// Every forbidden name found in the files of `folder`: (file, line number, name).
fn violations(root: &Path, folder: &str, forbidden: &[&str]) -> Vec<(PathBuf, usize, String)> {
    let mut files = Vec::new();
    rust_files(&root.join(folder), &mut files);
    // `crate::tui` in tui/ is the TUI itself; a layer may always name itself.
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in code_lines(&text) {
            for name in forbidden {
                if line.contains(name) {
                    found.push((file.clone(), number, name.to_string()));
                }
            }
        }
    }
    found
}

/// Core error messages do not name command-line flags: the front end adds the hint. Checks the
/// string literals of the library's non-test code for `--flag`.
fn flags_in_core_messages(root: &Path) -> Vec<(PathBuf, usize, String)> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let front_end = ["cli", "tui"];
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(root).unwrap();
        let first = relative.components().next().unwrap().as_os_str().to_string_lossy().to_string();
        if front_end.contains(&first.as_str()) || ["main.rs", "front.rs"].contains(&first.as_str()) {
            continue;
        }
        if relative.to_string_lossy().contains("test") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (number, line) in code_lines(code) {
            for literal in line.split('"').skip(1).step_by(2) {
                let bytes = literal.as_bytes();
                let flag = bytes.windows(3).any(|w| w[0] == b'-' && w[1] == b'-' && w[2].is_ascii_lowercase());
                if flag {
                    found.push((file.clone(), number, literal.to_string()));
                }
            }
        }
    }
    found
}

#[test]
fn every_layer_keeps_its_imports() {
    let root = Path::new(SRC);
    let mut problems = Vec::new();
    for (folder, forbidden, why) in RULES {
        for (file, line, name) in violations(root, folder, forbidden) {
            problems.push(format!("{}:{line}: names {name}: {why}", file.display()));
        }
    }
    for (file, line, literal) in flags_in_core_messages(root) {
        problems.push(format!(
            "{}:{line}: \"{literal}\": core messages do not name command-line flags; return a Fix and let the front end say it",
            file.display()
        ));
    }
    assert!(problems.is_empty(), "layer rules broken:\n{}", problems.join("\n"));
}

/// The checker itself finds what it is meant to find: a forbidden import in a scratch tree.
#[test]
fn the_checker_catches_a_forbidden_import() {
    let tmp = tempfile::tempdir().unwrap();
    let formats = tmp.path().join("formats");
    std::fs::create_dir_all(&formats).unwrap();
    std::fs::write(formats.join("ok.rs"), "// crate::directory is only mentioned here\nuse super::text;\n").unwrap();
    std::fs::write(formats.join("bad.rs"), "use crate::directory::Principal;\n").unwrap();
    let found = violations(tmp.path(), "formats", RULES[0].1);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].0.ends_with("bad.rs"));

    std::fs::create_dir_all(tmp.path().join("ops")).unwrap();
    std::fs::write(tmp.path().join("ops/x.rs"), "fn f() -> String { \"pass --server\".into() }\n").unwrap();
    assert_eq!(flags_in_core_messages(tmp.path()).len(), 1);
}
