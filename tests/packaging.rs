//! What the .deb ships besides the binary, made by the binary itself: shell completions for
//! bash, zsh and fish, and the man pages; and the files scripts/deb packs, where it packs them.

mod common;

use std::path::Path;
use std::process::Command;

use common::{run, stderr};

fn gpvault(args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gpvault"));
    command.args(args);
    run(command)
}

/// The subcommands `gpvault --help` lists (the names the completions must offer).
fn subcommands() -> Vec<String> {
    let help = gpvault(&["--help"]);
    let section = help.split("Commands:").nth(1).expect("--help lists commands");
    let names: Vec<String> = section
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|n| n != "help")
        .collect();
    assert!(names.len() >= 8 && names.contains(&"backup".to_string()), "{names:?}");
    names
}

#[test]
fn completions_are_made_for_bash_zsh_and_fish_and_name_every_subcommand() {
    let names = subcommands();
    let scripts: Vec<(&str, String)> =
        ["bash", "zsh", "fish"].iter().map(|shell| (*shell, gpvault(&["completions", shell]))).collect();
    for (shell, script) in &scripts {
        for name in &names {
            assert!(script.contains(name.as_str()), "{shell} completion offers {name}");
        }
        let keep = if *shell == "fish" { ["-l keep", "-l quiet"] } else { ["--keep", "--quiet"] };
        assert!(keep.iter().all(|o| script.contains(o)), "{shell}: backup's new options");
    }
    assert!(scripts[1].1.starts_with("#compdef gpvault"), "zsh: {}", &scripts[1].1[..40]);
    assert!(scripts[2].1.contains("complete -c gpvault"), "fish");
    // The hidden generators are not offered to admins as commands... but they exist.
    let unknown = Command::new(env!("CARGO_BIN_EXE_gpvault")).args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(2), "{}", stderr(&unknown));
}

/// The bash script loads in a real bash, registers `gpvault`, and completes `gpvault ba` to the
/// two subcommands that start so.
#[test]
fn the_bash_completion_loads_and_completes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gpvault.bash");
    std::fs::write(&file, gpvault(&["completions", "bash"])).unwrap();
    let mut load = Command::new("bash");
    load.arg("-c").arg(format!("source {} && complete -p gpvault", file.display()));
    let registered = run(load);
    assert!(registered.trim_end().ends_with(" gpvault") && registered.contains("-F _gpvault"), "{registered}");

    let mut complete = Command::new("bash");
    complete.arg("-c").arg(format!(
        "source {} && COMP_WORDS=(gpvault ba) && COMP_CWORD=1 && COMP_LINE='gpvault ba' && COMP_POINT=10 \
         && _gpvault gpvault ba gpvault && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display()
    ));
    let mut offered: Vec<String> = run(complete).lines().map(str::to_string).collect();
    offered.sort();
    assert_eq!(offered, ["backup", "backups"]);
}

/// man's bold and underline for a terminal ("N\u{8}N") as plain text.
fn without_overstrike(text: &str) -> String {
    let mut out: Vec<char> = Vec::new();
    for c in text.chars() {
        if c == '\u{8}' {
            out.pop();
        } else {
            out.push(c);
        }
    }
    out.into_iter().collect()
}

/// `gpvault man` renders as a man page (man-db reads it), names every subcommand, and `man
/// --dir` writes one page per subcommand.
#[test]
fn the_man_pages_render_and_cover_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("gpvault.1");
    std::fs::write(&page, gpvault(&["man"])).unwrap();
    let mut render = Command::new("man");
    render.env("MANWIDTH", "100").env("MAN_KEEP_FORMATTING", "0").args(["-P", "cat", "-l"]).arg(&page);
    let text = without_overstrike(&run(render));
    assert!(text.contains("NAME") && text.contains("SYNOPSIS") && text.contains("SUBCOMMANDS"), "{text}");
    let names = subcommands();
    for name in &names {
        assert!(text.contains(&format!("gpvault-{name}(1)")), "the page lists {name}: {text}");
    }
    assert!(!text.contains("completions"), "hidden generators stay out of the page");

    let pages = dir.path().join("pages");
    gpvault(&["man", "--dir", pages.to_str().unwrap()]);
    for name in names.iter().chain(["backups-prune".to_string()].iter()) {
        assert!(pages.join(format!("gpvault-{name}.1")).is_file(), "gpvault-{name}.1");
    }
    let backup = std::fs::read_to_string(pages.join("gpvault-backup.1")).unwrap();
    assert!(backup.contains("keep") && backup.contains("quiet"), "{backup}");
}

/// Every asset the .deb lists from the repository exists, and each standard place gets its file.
#[test]
fn the_deb_assets_go_to_the_standard_places() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest: toml::Value = toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    let assets = manifest["package"]["metadata"]["deb"]["assets"].as_array().expect("[package.metadata.deb] assets");
    let mut targets = Vec::new();
    for asset in assets {
        let (source, target) = (asset[0].as_str().unwrap(), asset[1].as_str().unwrap());
        if !source.starts_with("target/") {
            assert!(root.join(source).exists(), "{source} is in the repository");
        }
        targets.push(target.to_string());
    }
    for place in [
        "usr/bin/",
        "usr/share/man/man1/",
        "usr/share/bash-completion/completions/gpvault",
        "usr/share/zsh/vendor-completions/_gpvault",
        "usr/share/fish/vendor_completions.d/gpvault.fish",
        "usr/share/doc/gpvault/examples/",
        "lib/systemd/system/",
    ] {
        assert!(targets.iter().any(|t| t.starts_with(place)), "something goes to {place}: {targets:?}");
    }
}
