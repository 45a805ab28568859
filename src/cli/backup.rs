use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use gpvault::ops::backup::{self, BackupReport, DEFAULT_PARALLELISM};
use gpvault::ops::delete::{self, DeleteReport};
use gpvault::ops::prune::{self, AfterRun};
use gpvault::ops::{GpoSelection, ItemStatus, NoProgress, Plan, RunOptions, RunSummary};
use serde::Serialize;

use super::output::{RunDisplay, eprint_failures, print_json, print_plan, print_summary};
use crate::front::{ConnectionArgs, EXIT_OK, EXIT_SOME_FAILED, Fatal, open_session};

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// GPOs to back up, by {GUID} or display name.
    #[arg(required_unless_present = "all")]
    pub gpos: Vec<String>,
    /// Back up every GPO of the domain.
    #[arg(long, conflicts_with = "gpos")]
    pub all: bool,
    /// Backup folder (created when missing).
    #[arg(long)]
    pub dir: PathBuf,
    /// Comment stored with each instance.
    #[arg(long, default_value = "")]
    pub comment: String,
    /// GPOs read and written at once.
    #[arg(long, default_value_t = DEFAULT_PARALLELISM)]
    pub parallel: usize,
    /// Print one JSON object: {"backed_up": [...], "failed": [...]}.
    #[arg(long)]
    pub json: bool,
    /// Print what would be backed up, and where, without writing anything (not even the folder).
    #[arg(long)]
    pub dry_run: bool,
    /// After a run in which every GPO was backed up, delete all but the N newest instances of
    /// each GPO in the folder (as `backups prune`; with --all only). A run with any failure
    /// prunes nothing.
    #[arg(long, value_name = "N", conflicts_with = "gpos", value_parser = clap::value_parser!(u64).range(1..))]
    pub keep: Option<u64>,
    /// Print nothing unless something failed, and then only the failures, on stderr (for cron and
    /// systemd timers). The exit code is the same as without it.
    #[arg(long, conflicts_with_all = ["json", "dry_run"])]
    pub quiet: bool,
}

pub async fn run(connection: &ConnectionArgs, args: BackupArgs) -> Result<u8, Fatal> {
    let session = open_session(connection).await?;
    let selection = if args.all { GpoSelection::All } else { GpoSelection::Named(args.gpos.clone()) };
    let plan =
        backup::plan(&session, &selection, args.dir.clone(), args.comment.clone(), &NoProgress).await.map_err(|e| {
            match e {
                backup::BackupError::Selection(e) => super::with_names_hint(e.to_string()),
                e => Fatal::from(e),
            }
        })?;
    let keep = args.keep.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    if args.dry_run {
        let mut description = plan.describe();
        if let Some(keep) = keep {
            description.notes.push(format!(
                "then, if every GPO is backed up, the folder is pruned to the {keep} newest instance(s) of each GPO"
            ));
        }
        print_plan(&description, args.json);
        return Ok(EXIT_OK);
    }
    let options = RunOptions::new(args.parallel);
    // First Ctrl-C: start no new GPO, let the ones in flight finish whole, write the manifest.
    // A second one quits at once (an instance being written may then stay as a partial folder,
    // which `backups list` reports and `backups repair` removes).
    let display = if args.quiet { RunDisplay::without_bar(&options) } else { RunDisplay::start(&options) };
    let report = backup::execute(&session, plan, &options, display.progress()).await;
    display.finish();
    let report = report?;
    let pruned = match keep {
        Some(keep) => Some(prune_after(&report, &args.dir, keep).await),
        None => None,
    };
    let summary = report.summary();
    if args.json {
        let mut json = JsonReport::of(&summary);
        json.prune = pruned.as_ref().map(JsonPrune::of);
        print_json(&json);
    } else if args.quiet {
        eprint_failures(&summary);
        if let Some(pruned) = &pruned {
            pruned.eprint_failures();
        }
    } else {
        print_summary(&summary, &format!("backed up into {}", args.dir.display()));
        if let Some(pruned) = &pruned {
            pruned.print();
        }
    }
    let pruned_clean = pruned.as_ref().is_none_or(Pruned::is_clean);
    Ok(if report.all_succeeded() && pruned_clean { EXIT_OK } else { EXIT_SOME_FAILED })
}

/// What `--keep` did after the run.
enum Pruned {
    /// The run had failures: the folder was left as it was.
    Skipped(String),
    /// The prune could not be planned (the folder could not be read).
    Unplanned(String),
    /// The prune ran; its summary and where.
    Ran { summary: RunSummary, report: DeleteReport, dir: PathBuf },
}

impl Pruned {
    fn is_clean(&self) -> bool {
        match self {
            Pruned::Skipped(_) => true,
            Pruned::Unplanned(_) => false,
            Pruned::Ran { report, .. } => report.all_succeeded(),
        }
    }

    fn print(&self) {
        match self {
            Pruned::Skipped(reason) => println!("{reason}"),
            Pruned::Unplanned(problem) => println!("FAILED  prune: {problem}"),
            Pruned::Ran { summary, dir, .. } if summary.total == 0 => {
                println!("pruned nothing: no instance in {} is beyond the ones kept", dir.display())
            }
            Pruned::Ran { summary, dir, .. } => print_summary(summary, &format!("pruned from {}", dir.display())),
        }
    }

    /// `--quiet`: a skipped prune is news only because something failed, so it goes with the
    /// failures on stderr.
    fn eprint_failures(&self) {
        match self {
            Pruned::Skipped(reason) => eprintln!("gpvault: {reason}"),
            Pruned::Unplanned(problem) => eprintln!("FAILED  prune: {problem}"),
            Pruned::Ran { summary, .. } => eprint_failures(summary),
        }
    }
}

/// `--keep`: prunes `dir` after a run in which everything succeeded (`ops::prune::plan_after_run`).
async fn prune_after(report: &BackupReport, dir: &Path, keep: usize) -> Pruned {
    let plan = match prune::plan_after_run(report, dir, keep) {
        Ok(AfterRun::Prune(plan)) => plan,
        Ok(skipped) => return Pruned::Skipped(skipped.skipped_reason().unwrap_or_default()),
        Err(e) => return Pruned::Unplanned(gpvault::error::one_line(&e)),
    };
    match delete::execute(plan, &RunOptions::new(1), Arc::new(NoProgress)).await {
        Ok(report) => Pruned::Ran { summary: report.summary(), report, dir: dir.to_path_buf() },
        Err(e) => Pruned::Unplanned(gpvault::error::one_line(&e)),
    }
}

/// `--json`'s shape: one list of what was made, one of what failed (cancelled GPOs count as
/// failed, with their reason), and what went wrong after the GPOs.
#[derive(Serialize)]
struct JsonReport {
    backed_up: Vec<JsonBackedUp>,
    failed: Vec<JsonFailure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    closing: Vec<String>,
    /// With `--keep`: what the prune after the run did.
    #[serde(skip_serializing_if = "Option::is_none")]
    prune: Option<JsonPrune>,
}

/// `--keep`'s part of `--json`: the backup IDs deleted, those that failed and why, or why the
/// prune was skipped.
#[derive(Serialize, Default)]
struct JsonPrune {
    deleted: Vec<String>,
    failed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<String>,
}

impl JsonPrune {
    fn of(pruned: &Pruned) -> JsonPrune {
        match pruned {
            Pruned::Skipped(reason) => JsonPrune { skipped: Some(reason.clone()), ..Default::default() },
            Pruned::Unplanned(problem) => JsonPrune { failed: vec![problem.clone()], ..Default::default() },
            Pruned::Ran { report, .. } => {
                let mut json = JsonPrune::default();
                for (_, deleted) in report.succeeded() {
                    json.deleted.push(deleted.backup_id.clone());
                }
                for result in report.summary().results.iter().filter(|r| r.is_failure()) {
                    json.failed.push(format!("{}: {}", result.item.name, result.reason().unwrap_or_default()));
                }
                json.failed.extend(report.closing.iter().cloned());
                json
            }
        }
    }
}

#[derive(Serialize)]
struct JsonBackedUp {
    gpo_id: String,
    display_name: String,
    backup_id: String,
}

#[derive(Serialize)]
struct JsonFailure {
    gpo_id: String,
    display_name: String,
    error: String,
}

impl JsonReport {
    fn of(summary: &RunSummary) -> JsonReport {
        let mut json =
            JsonReport { backed_up: Vec::new(), failed: Vec::new(), closing: summary.closing.clone(), prune: None };
        for result in &summary.results {
            let (gpo_id, display_name) = (result.item.gpo.to_string(), result.item.name.clone());
            match (&result.status, result.reason()) {
                (ItemStatus::Succeeded(id), _) => {
                    json.backed_up.push(JsonBackedUp { gpo_id, display_name, backup_id: id.clone() })
                }
                (_, reason) => {
                    json.failed.push(JsonFailure { gpo_id, display_name, error: reason.unwrap_or_default().into() })
                }
            }
        }
        json
    }
}
