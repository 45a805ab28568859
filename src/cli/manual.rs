//! The man pages and shell completions, made from the same clap definitions that parse the
//! command line, so they never drift from it. Hidden subcommands rather than a build step: the
//! static binary copied to a jump host without a package can make its own (`gpvault
//! completions bash > /etc/bash_completion.d/gpvault`), and scripts/deb makes the .deb's with it.

use std::io::Write;
use std::path::Path;

use clap::ValueEnum;
use clap_complete::Shell;

use crate::front::{EXIT_OK, Fatal};

/// The shells completions are made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

impl From<CompletionShell> for Shell {
    fn from(shell: CompletionShell) -> Shell {
        match shell {
            CompletionShell::Bash => Shell::Bash,
            CompletionShell::Zsh => Shell::Zsh,
            CompletionShell::Fish => Shell::Fish,
            CompletionShell::Elvish => Shell::Elvish,
            CompletionShell::Powershell => Shell::PowerShell,
        }
    }
}

/// Writes `shell`'s completion script for `command` to stdout.
pub fn completions(mut command: clap::Command, shell: CompletionShell) -> Result<u8, Fatal> {
    let mut out = Vec::new();
    clap_complete::generate(Shell::from(shell), &mut command, "gpvault", &mut out);
    write_stdout(&out)
}

/// The man page of `command` (gpvault.1) to stdout, or with `dir`, gpvault.1 and one page per
/// subcommand (gpvault-backup.1, gpvault-backups-prune.1, ...) into that folder.
pub fn man(command: clap::Command, dir: Option<&Path>) -> Result<u8, Fatal> {
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Fatal(format!("cannot create {}: {e}", dir.display())))?;
            clap_mangen::generate_to(command, dir)
                .map_err(|e| Fatal(format!("cannot write the man pages into {}: {e}", dir.display())))?;
            Ok(EXIT_OK)
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .map_err(|e| Fatal(format!("cannot render the man page: {e}")))?;
            write_stdout(&out)
        }
    }
}

fn write_stdout(bytes: &[u8]) -> Result<u8, Fatal> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        // `gpvault man | head`: the reader had enough.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Fatal(format!("cannot write to stdout: {e}"))),
        _ => Ok(EXIT_OK),
    }
}
