//! Plain subcommands for scripts and cron; each prints a table or JSON and sets the exit code.
//! The connection arguments, exit codes and `Fatal` live in `front`, shared with the TUI.

mod backup;
mod backups;
mod check;
mod copy;
mod gpo;
mod import;
pub mod manual;
mod migtable;
mod output;
mod restore;
mod search;

use std::process::ExitCode;

use clap::Subcommand;

use crate::front::{ConnectionArgs, Fatal};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read the GPOs of a domain.
    #[command(subcommand)]
    Gpo(gpo::GpoCommand),
    /// Back up one or more GPOs, or all of them, into a backup folder.
    Backup(backup::BackupArgs),
    /// Manage a backup folder: list, show, diff, delete, prune and verify instances; repair it.
    #[command(subcommand)]
    Backups(backups::BackupsCommand),
    /// Migration tables (GPMC's .migtable): populate one from a GPO or a backup, validate one
    /// against the connected domain, show one.
    #[command(subcommand)]
    Migtable(migtable::MigtableCommand),
    /// Restore GPOs from a backup folder: a previous version, a deleted GPO, or everything.
    Restore(restore::RestoreArgs),
    /// Put right the GPOs a killed restore, import or copy left half changed (from the records
    /// they keep): back as they were from their safety backups, recreated again, or, for a copy,
    /// what it made deleted.
    Recover(restore::RecoverArgs),
    /// Import Settings: replace an existing GPO's settings with a backup's (of any domain),
    /// mapped through a migration table; its links, permissions and WMI filter stay.
    Import(import::ImportArgs),
    /// Copy a GPO into a new one, in this domain or another profile's, with its settings mapped
    /// through a migration table.
    Copy(copy::CopyArgs),
    /// Estate health: GPOs whose AD and SYSVOL halves disagree, orphan folders, broken or
    /// missing links, stored passwords (cpassword), unused WMI filters, GPOs without a recent
    /// backup... Exit 1 when a finding is a warning or an error.
    Check(check::CheckArgs),
    /// Which GPOs (live, or in a backup folder) set a registry key or value, name a principal or
    /// reference a UNC path: the file, the setting and the GPO of each hit.
    Search(search::SearchArgs),
}

impl Command {
    /// A command asked to print nothing unless something failed (`backup --quiet`).
    pub fn is_quiet(&self) -> bool {
        matches!(self, Command::Backup(args) if args.quiet)
    }
}

/// A GPO that was not found by name: say where the names are.
pub fn with_names_hint(message: String) -> Fatal {
    Fatal(format!("{message} (`gpvault gpo list` shows the names)"))
}

/// Runs one subcommand.
pub fn run(connection: &ConnectionArgs, command: Command, runtime: tokio::runtime::Runtime) -> ExitCode {
    let result = match command {
        Command::Gpo(command) => runtime.block_on(gpo::run(connection, command)),
        Command::Backup(backup_args) => runtime.block_on(backup::run(connection, backup_args)),
        Command::Backups(command) => backups::run(connection, command, &runtime),
        Command::Migtable(command) => runtime.block_on(migtable::run(connection, command)),
        Command::Restore(restore_args) => runtime.block_on(restore::run(connection, restore_args)),
        Command::Recover(recover_args) => runtime.block_on(restore::run_recover(connection, recover_args)),
        Command::Import(import_args) => runtime.block_on(import::run(connection, import_args)),
        Command::Copy(copy_args) => runtime.block_on(copy::run(connection, copy_args)),
        Command::Check(check_args) => runtime.block_on(check::run(connection, check_args)),
        Command::Search(search_args) => runtime.block_on(search::run(connection, search_args)),
    };
    crate::front::exit_code(result)
}
