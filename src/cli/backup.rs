use std::path::PathBuf;

use clap::Args;
use gpvault::ops::backup::{self, BackupReport, DEFAULT_PARALLELISM};
use gpvault::ops::{GpoSelection, ItemStatus, NoProgress, Plan, RunOptions};
use serde::Serialize;

use super::output::{RunDisplay, print_json, print_plan, print_summary};
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
    if args.dry_run {
        print_plan(&plan.describe(), args.json);
        return Ok(EXIT_OK);
    }
    let options = RunOptions::new(args.parallel);
    // First Ctrl-C: start no new GPO, let the ones in flight finish whole, write the manifest.
    // A second one quits at once (an instance being written may then stay as a partial folder,
    // which `backups list` reports and `backups repair` removes).
    let display = RunDisplay::start(&options);
    let report = backup::execute(&session, plan, &options, display.progress()).await;
    display.finish();
    let report = report?;
    if args.json {
        print_json(&JsonReport::of(&report));
    } else {
        print_summary(&report.summary(), &format!("backed up into {}", args.dir.display()));
    }
    Ok(if report.all_succeeded() { EXIT_OK } else { EXIT_SOME_FAILED })
}

/// `--json`'s shape: one list of what was made, one of what failed (cancelled GPOs count as
/// failed, with their reason), and what went wrong after the GPOs.
#[derive(Serialize)]
struct JsonReport {
    backed_up: Vec<JsonBackedUp>,
    failed: Vec<JsonFailure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    closing: Vec<String>,
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
    fn of(report: &BackupReport) -> JsonReport {
        let summary = report.summary();
        let mut json = JsonReport { backed_up: Vec::new(), failed: Vec::new(), closing: summary.closing.clone() };
        for result in summary.results {
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
