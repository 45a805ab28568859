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
    #[command(flatten)]
    pub mapping: MappingArgs,
}

/// How settings are mapped into the target, and how the run is confirmed: shared by import
/// and copy.
#[derive(Args, Debug)]
pub struct MappingArgs {
    /// Map principals and UNC paths with this migration table (.migtable).
    #[arg(long)]
    pub migtable: Option<PathBuf>,
    /// Fail, before anything is written, when a principal or UNC path has no row in the table.
    #[arg(long, requires = "migtable")]
    pub migtable_only: bool,
    /// Print the plan (what is mapped, what is left) without writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Go ahead without asking (needed when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the plan as JSON with --dry-run.
    #[arg(long)]
    pub json: bool,
}

impl MappingArgs {
    /// Refuses early when nobody can answer the question; the table, read and checked.
    pub fn prepare(&self, what: &str) -> Result<Option<gpvault::migrate::table::MigrationTable>, Fatal> {
        refuse_unanswerable(what, self.yes, self.dry_run)?;
        self.migtable.as_deref().map(read_table).transpose()
    }

    /// The plan shown (and done with under --dry-run) or asked about; `Some(exit code)` ends
    /// the command.
    pub fn show_and_ask(
        &self,
        plan: &gpvault::ops::PlanDescription,
        question: &str,
        hints: &[String],
    ) -> Result<Option<u8>, Fatal> {
        show_plan_and_ask(plan, self.dry_run, self.json, self.yes, question, hints)
    }

    /// A plan-time failure, with the flag that changes it when there is one.
    pub fn fatal(&self, e: &dyn std::error::Error, what: &str) -> Fatal {
        let mut fatal = Fatal(gpvault::error::one_line(e));
        if fatal.0.contains("have no row in the migration table") {
            fatal.0.push_str(&format!(" (or {what} without --migtable-only)"));
        }
        fatal
    }
}

pub async fn run(connection: &ConnectionArgs, args: ImportArgs) -> Result<u8, Fatal> {
    let table = args.mapping.prepare("import")?;
    let session = open_session(connection).await?;
    // A GPO an earlier restore or import left half changed is put right before the plan reads it.
    super::restore::recover_first(&session, &args.dir, args.mapping.dry_run, args.mapping.json, "imported").await?;
    let options = ImportOptions { table, only_mapped: args.mapping.migtable_only };
    let import_fatal = |e: ImportError| args.mapping.fatal(&e, "import");
    let plan = import::plan(&session, args.dir.clone(), &args.id, &args.into, &options, &NoProgress)
        .await
        .map_err(import_fatal)?;
    let question = format!("Replace the settings of \"{}\"?", plan.target.name);
    if let Some(code) = args.mapping.show_and_ask(&plan.describe(), &question, &[])? {
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
