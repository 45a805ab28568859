//! `gpvault import`: a backup's settings into an existing GPO of the connected domain.

use std::path::PathBuf;

use clap::Args;
use gpvault::ops::import::{self, ImportError, ImportOptions};
use gpvault::ops::{NoProgress, Plan, RunOptions};

use super::migtable::read_table;
use super::output::{RunDisplay, print_left, print_summary, refuse_unanswerable, show_plan_and_ask};
use crate::front::{ConnectionArgs, EXIT_OK, EXIT_SOME_FAILED, Fatal, open_session};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The backup ID to import from (a GPO's {GUID} or name stands for its newest backup).
    pub id: String,
    /// The backup folder.
    #[arg(long)]
    pub dir: PathBuf,
    /// The GPO whose settings are replaced, by {GUID} or display name; it keeps its name,
    /// status, links, permissions and WMI filter.
    #[arg(long)]
    pub into: String,
    /// Map principals and UNC paths with this migration table (.migtable).
    #[arg(long)]
    pub migtable: Option<PathBuf>,
    /// Fail, before anything is written, when a principal or UNC path has no row in the table.
    #[arg(long, requires = "migtable")]
    pub migtable_only: bool,
    /// Print the plan (what is mapped, what is left) without writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Import without asking (needed when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the plan as JSON with --dry-run.
    #[arg(long)]
    pub json: bool,
}

/// A plan-time failure, with the flag that changes it when there is one.
fn import_fatal(e: ImportError) -> Fatal {
    let mut fatal = Fatal::from(e);
    if fatal.0.contains("have no row in the migration table") {
        fatal.0.push_str(" (or import without --migtable-only)");
    }
    fatal
}

pub async fn run(connection: &ConnectionArgs, args: ImportArgs) -> Result<u8, Fatal> {
    refuse_unanswerable("import", args.yes, args.dry_run)?;
    let table = args.migtable.as_deref().map(read_table).transpose()?;
    let session = open_session(connection).await?;
    let options = ImportOptions { table, only_mapped: args.migtable_only };
    let plan = import::plan(&session, args.dir.clone(), &args.id, &args.into, &options, &NoProgress)
        .await
        .map_err(import_fatal)?;
    let question = format!("Replace the settings of \"{}\"?", plan.target.name);
    if let Some(code) = show_plan_and_ask(&plan.describe(), args.dry_run, args.json, args.yes, &question, &[])? {
        return Ok(code);
    }
    let mapping = plan.mapping.clone();
    let run_options = RunOptions::new(1);
    let display = RunDisplay::start(&run_options);
    let report = import::execute(&session, plan, &run_options, display.progress()).await;
    display.finish();
    let report = report.map_err(import_fatal)?;
    if report.all_succeeded() {
        print_left(&mapping);
    }
    print_summary(&report.summary(), &format!("imported into {} from {}", session.domain.dns_name, args.dir.display()));
    Ok(if report.all_succeeded() { EXIT_OK } else { EXIT_SOME_FAILED })
}
