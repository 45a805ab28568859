//! `gpvault migtable`: populate, validate and show GPMC migration tables (.migtable).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use gpvault::formats::migtable::TextEncoding;
use gpvault::migrate::populate::{PopulateOptions, Populated};
use gpvault::migrate::table::{Destination, EntryType, Mapping, MigrationTable};
use gpvault::ops::migtable::{self, MigtableError, PopulateSource};

use super::output::table;
use crate::front::{ConnectionArgs, EXIT_OK, EXIT_SOME_FAILED, Fatal, open_session};

#[derive(Subcommand, Debug)]
pub enum MigtableCommand {
    /// List every principal and UNC path a GPO (or a backup of one) refers to, as a migration
    /// table whose destinations are "same as source", ready to edit.
    Populate(PopulateArgs),
    /// Check a migration table against the connected domain: one line per row; exit code 1
    /// when any row has a problem.
    Validate {
        /// The .migtable file.
        file: PathBuf,
    },
    /// Show the rows of a migration table.
    Show {
        /// The .migtable file.
        file: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct PopulateArgs {
    /// The GPO, by {GUID} or display name, in the connected domain.
    #[arg(long, required_unless_present = "backup", conflicts_with_all = ["backup", "dir"])]
    pub gpo: Option<String>,
    /// A backup instance, by its backup ID (no connection needed).
    #[arg(long, requires = "dir")]
    pub backup: Option<String>,
    /// The backup folder holding the instance.
    #[arg(long, requires = "backup")]
    pub dir: Option<PathBuf>,
    /// Also list the principals of the GPO's permissions (its DACL) and its packages'.
    #[arg(long)]
    pub with_dacl: bool,
    /// Write the table to this file (GPMC's format: UTF-16 with BOM).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub async fn run(connection: &ConnectionArgs, command: MigtableCommand) -> Result<u8, Fatal> {
    match command {
        MigtableCommand::Populate(args) => populate(connection, args).await,
        MigtableCommand::Validate { file } => validate(connection, &file).await,
        MigtableCommand::Show { file } => show(&file),
    }
}

async fn populate(connection: &ConnectionArgs, args: PopulateArgs) -> Result<u8, Fatal> {
    let options = PopulateOptions { with_dacl: args.with_dacl };
    let (populated, source) = match (&args.gpo, &args.backup, &args.dir) {
        (Some(gpo), _, _) => {
            let session = open_session(connection).await?;
            migtable::populate_from_gpo(&session, gpo, options).await.map_err(populate_fatal)?
        }
        (None, Some(backup), Some(dir)) => {
            migtable::populate_from_backup(dir, backup, options).map_err(populate_fatal)?
        }
        _ => return Err(Fatal("name a GPO with --gpo, or a backup with --backup ID --dir DIR".into())),
    };
    print_populated(&populated, &source);
    match &args.out {
        Some(out) => {
            std::fs::write(out, populated.table.to_bytes())
                .map_err(|e| Fatal(format!("cannot write {}: {e}", out.display())))?;
            println!("written to {}", out.display());
        }
        None => println!("not written anywhere: give --out FILE to save the table"),
    }
    Ok(EXIT_OK)
}

fn populate_fatal(e: MigtableError) -> Fatal {
    match e {
        MigtableError::NoSuchGpo(message) => super::with_names_hint(message),
        MigtableError::Store(e) => Fatal(format!("{e} (`gpvault backups list --dir DIR` shows the IDs)")),
        e => Fatal::from(e),
    }
}

fn print_populated(populated: &Populated, source: &PopulateSource) {
    let rows = populated.table.rows();
    let paths = rows.iter().filter(|m| m.entry_type == EntryType::UncPath).count();
    let from = match &source.backup {
        Some(folder) => format!("the backup of GPO \"{}\" in {}", source.gpo_name, folder.display()),
        None => format!("GPO \"{}\" in {}", source.gpo_name, source.domain),
    };
    println!("{} principals and {paths} UNC paths from {from}", rows.len() - paths);
    if !rows.is_empty() {
        println!("{}", rows_table(rows));
    }
    if !populated.unresolved.is_empty() {
        println!(
            "{} principal(s) not named by {}, listed as found with type Unknown: {}",
            populated.unresolved.len(),
            if source.backup.is_some() { "the backup's SecurityGroups" } else { "the domain" },
            populated.unresolved.join(", ")
        );
    }
    for file in &populated.unreadable {
        eprintln!("gpvault: {file} could not be read: its principals and paths are missing from the table");
    }
}

async fn validate(connection: &ConnectionArgs, file: &Path) -> Result<u8, Fatal> {
    let table = read_table(file)?;
    let session = open_session(connection).await?;
    let checks = migtable::validate_table(&session, &table).await?;
    let mut failed = 0;
    for check in &checks {
        let mapping = &check.mapping;
        let line = format!(
            "row {}  {}  {} -> {}",
            check.row,
            mapping.entry_type,
            mapping.source,
            destination_text(&mapping.destination)
        );
        if check.is_ok() {
            let found = check.found.as_ref().map(|f| format!("  [{f}]")).unwrap_or_default();
            println!("ok      {line}{found}");
        } else {
            failed += 1;
            let reasons: Vec<String> = check.problems.iter().map(ToString::to_string).collect();
            println!("ERROR   {line}: {}", reasons.join("; "));
        }
    }
    println!(
        "{} rows: {} ok, {failed} with problems (checked against {})",
        checks.len(),
        checks.len() - failed,
        session.domain.dns_name
    );
    Ok(if failed == 0 { EXIT_OK } else { EXIT_SOME_FAILED })
}

fn show(file: &Path) -> Result<u8, Fatal> {
    let table = read_table(file)?;
    println!("{}", rows_table(table.rows()));
    let encoding = table.source_encoding().map(|e| format!(", {}", encoding_text(e))).unwrap_or_default();
    println!("{} rows in {}{encoding}", table.len(), file.display());
    for issue in table.validate() {
        eprintln!("gpvault: {}: {issue}", file.display());
    }
    Ok(EXIT_OK)
}

pub(super) fn read_table(file: &Path) -> Result<MigrationTable, Fatal> {
    let bytes = std::fs::read(file).map_err(|e| Fatal(format!("cannot read {}: {e}", file.display())))?;
    MigrationTable::from_bytes(&bytes).map_err(|e| Fatal(e.in_file(file.display().to_string()).to_string()))
}

fn rows_table(rows: &[Mapping]) -> comfy_table::Table {
    let mut t = table(&["ROW", "TYPE", "SOURCE", "DESTINATION"]);
    for (index, mapping) in rows.iter().enumerate() {
        t.add_row(vec![
            (index + 1).to_string(),
            mapping.entry_type.to_string(),
            mapping.source.clone(),
            destination_text(&mapping.destination),
        ]);
    }
    t
}

fn encoding_text(encoding: TextEncoding) -> String {
    let bom = |bom: bool| if bom { " with BOM" } else { "" };
    match encoding {
        TextEncoding::Utf16Le { bom: b } => format!("UTF-16LE{}", bom(b)),
        TextEncoding::Utf16Be { bom: b } => format!("UTF-16BE{}", bom(b)),
        TextEncoding::Utf8 { bom: b } => format!("UTF-8{}", bom(b)),
        TextEncoding::Windows1252 => "8-bit (Windows-1252)".into(),
    }
}

fn destination_text(destination: &Destination) -> String {
    match destination {
        Destination::Set(text) => text.clone(),
        Destination::SameAsSource => "(same as source)".into(),
        Destination::None => "(none)".into(),
        Destination::ByRelativeName => "(by relative name)".into(),
    }
}
