use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use gpvault::ops::recover;
use gpvault::ops::restore::{self, RestoreItemError, RestoreOptions, RestoreSelection};
use gpvault::ops::{ItemStatus, NoProgress, Plan, RunOptions};
use serde::Serialize;

use super::output::{RunDisplay, confirmed, print_json, print_plan, print_plan_to_confirm, print_summary};
use crate::front::{ConnectionArgs, EXIT_OK, EXIT_SOME_FAILED, Fatal, open_session};

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// Backup ID to restore (a GPO's {GUID} or name stands for its newest backup in the folder).
    #[arg(required_unless_present = "all_latest")]
    pub ids: Vec<String>,
    /// Restore every GPO in the folder from its newest backup (existing ones to that version,
    /// deleted ones recreated).
    #[arg(long, conflicts_with = "ids")]
    pub all_latest: bool,
    /// The backup folder.
    #[arg(long)]
    pub dir: PathBuf,
    /// Also re-create the GPOs' links as the backup recorded them (same containers, position,
    /// enabled/enforced); containers that no longer exist are skipped and named.
    #[arg(long)]
    pub links: bool,
    /// Re-create a linked WMI filter that no longer exists from the backup's copy, and link it.
    #[arg(long)]
    pub wmi_filters: bool,
    /// Print what would change, GPO by GPO, without writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Restore without asking (needed when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// GPOs restored at once.
    #[arg(long, default_value_t = restore::DEFAULT_PARALLELISM)]
    pub parallel: usize,
    /// Print JSON: the plan with --dry-run, else {"restored": [...], "failed": [...]}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RecoverArgs {
    /// The backup folder the interrupted restores and imports read from (their records are kept
    /// there). Without it: the records of interrupted copies, in $XDG_STATE_HOME/gpvault/journal.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Say what would be put right, without writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Recover without asking (needed when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print JSON: the plan with --dry-run, else {"restored": [...], "failed": [...]}.
    #[arg(long)]
    pub json: bool,
}

/// `gpvault recover`: puts right the GPOs a killed restore, import or copy left half changed.
pub async fn run_recover(connection: &ConnectionArgs, args: RecoverArgs) -> Result<u8, Fatal> {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => gpvault::config::copy_journal_dir()
            .ok_or_else(|| Fatal("there is no home folder to hold copies' records: pass --dir".into()))?,
    };
    let session = open_session(connection).await?;
    if args.dir.is_none() && !dir.is_dir() {
        // No copy has run here yet.
        return nothing_to_recover(&dir, &session.domain.dns_name, &[], args.json);
    }
    let plan = recover::plan(&session, dir.clone(), &NoProgress).await?;
    let description = plan.describe();
    if plan.is_empty() {
        return nothing_to_recover(&dir, &session.domain.dns_name, &description.notes, args.json);
    }
    if args.dry_run {
        print_plan(&description, args.json);
        return Ok(EXIT_OK);
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Fatal(
                "recover changes the domain and asks first, but stdin is not a terminal: pass --yes".into(),
            ));
        }
        print_plan_to_confirm(&description, &[]);
        if !confirmed("Recover?")? {
            println!("Not recovered; nothing was changed.");
            return Ok(EXIT_SOME_FAILED);
        }
    }
    let report = execute_recovery(&session, plan, args.json).await?;
    if args.json {
        print_json(&JsonReport::of(&report));
    } else {
        print_summary(&report.summary(), &format!("recovered in {} from {}", session.domain.dns_name, dir.display()));
    }
    Ok(if report.all_succeeded() { EXIT_OK } else { EXIT_SOME_FAILED })
}

fn nothing_to_recover(dir: &std::path::Path, domain: &str, notes: &[String], json: bool) -> Result<u8, Fatal> {
    if json {
        print_json(&JsonReport::of(&recover::RecoverReport::default()));
    } else {
        for note in notes {
            println!("note: {note}");
        }
        println!("Nothing to recover in {} for {domain}.", dir.display());
    }
    Ok(EXIT_OK)
}

/// Puts right what earlier runs left half changed in `dir` before anything else is planned; a
/// dry run only says what would be. `what` says what is not done when that fails ("restored").
pub(super) async fn recover_first(
    session: &gpvault::ops::DomainSession,
    dir: &std::path::Path,
    dry_run: bool,
    json: bool,
    what: &str,
) -> Result<(), Fatal> {
    let recovery = recover::plan(session, dir.to_path_buf(), &NoProgress).await?;
    if recovery.is_empty() {
        return Ok(());
    }
    if dry_run {
        for item in &recovery.items {
            // Beside JSON on stdout, the note goes to stderr.
            match json {
                true => eprintln!("note: first, {}", item.sentence()),
                false => println!("note: first, {}", item.sentence()),
            }
        }
        return Ok(());
    }
    let report = execute_recovery(session, recovery, json).await?;
    if !report.all_succeeded() {
        if !json {
            print_summary(&report.summary(), "recovered from interrupted runs");
        }
        return Err(Fatal(format!(
            "an earlier run left GPOs half changed and putting them right failed (above); nothing else was {what}: run gpvault recover --dir {} once the cause is fixed",
            dir.display()
        )));
    }
    Ok(())
}

async fn execute_recovery(
    session: &gpvault::ops::DomainSession,
    plan: recover::RecoverPlan,
    quiet: bool,
) -> Result<recover::RecoverReport, Fatal> {
    if !quiet {
        for item in &plan.items {
            eprintln!("recovering: {}", item.sentence());
        }
    }
    let run_options = RunOptions::new(restore::DEFAULT_PARALLELISM);
    let display = RunDisplay::start(&run_options);
    let report = recover::execute(session, plan, &run_options, display.progress()).await;
    display.finish();
    Ok(report?)
}

/// What the core's notes leave to the front end: which flag does what they mention.
fn flag_hints(plan: &restore::RestorePlan, args: &RestoreArgs) -> Vec<String> {
    let mut hints = Vec::new();
    let wmi_missing = plan
        .gpos
        .iter()
        .any(|g| matches!(g.changes.wmi_filter, restore::changes::WmiFilterAction::Missing { can_recreate: true, .. }));
    if wmi_missing && !args.wmi_filters {
        hints.push("--wmi-filters re-creates a WMI filter that no longer exists from the backup".to_string());
    }
    let listed =
        plan.gpos.iter().any(|g| g.changes.links.iter().any(|l| matches!(l, restore::changes::LinkAction::Existed(_))));
    if listed && !args.links {
        hints.push("--links re-creates the links listed as existed".to_string());
    }
    hints
}

pub async fn run(connection: &ConnectionArgs, args: RestoreArgs) -> Result<u8, Fatal> {
    // Refuse before connecting when nobody can answer the question.
    if !args.yes && !args.dry_run && !std::io::stdin().is_terminal() {
        return Err(Fatal(
            "restore changes the domain and asks first, but stdin is not a terminal: pass --yes to restore, or --dry-run to see the plan"
                .into(),
        ));
    }
    let session = open_session(connection).await?;
    // A GPO an earlier run left half changed is put right before anything else is planned.
    recover_first(&session, &args.dir, args.dry_run, args.json, "restored").await?;
    let selection =
        if args.all_latest { RestoreSelection::AllLatest } else { RestoreSelection::Backups(args.ids.clone()) };
    // Confirmed up front and not shown: the plan need not compare SYSVOL folders.
    let shown = args.dry_run || !args.yes;
    let options = RestoreOptions {
        links: args.links,
        recreate_wmi_filters: args.wmi_filters,
        skip_sysvol_diff: !shown,
        ..Default::default()
    };
    let plan = restore::plan(&session, args.dir.clone(), &selection, options, &NoProgress).await?;
    let description = plan.describe();
    let hints = flag_hints(&plan, &args);
    if args.dry_run {
        print_plan(&description, args.json);
        if !args.json {
            for hint in &hints {
                println!("hint: {hint}");
            }
        }
        return Ok(if plan.refused.is_empty() { EXIT_OK } else { EXIT_SOME_FAILED });
    }
    if !plan.is_empty() && !args.yes {
        print_plan_to_confirm(&description, &hints);
        let count = plan.gpos.len();
        if !confirmed(&format!("Restore {count} GPO{}?", if count == 1 { "" } else { "s" }))? {
            println!("Not restored; nothing was changed.");
            return Ok(EXIT_SOME_FAILED);
        }
    }

    let run_options = RunOptions::new(args.parallel);
    // First Ctrl-C: start no new GPO and let the ones in flight finish (or be put back) whole.
    let display = RunDisplay::start(&run_options);
    let report = restore::execute(&session, plan, &run_options, display.progress()).await;
    display.finish();
    let report = report?;
    if args.json {
        print_json(&JsonReport::of(&report));
    } else {
        print_summary(
            &report.summary(),
            &format!("restored into {} from {}", session.domain.dns_name, args.dir.display()),
        );
    }
    Ok(if report.all_succeeded() { EXIT_OK } else { EXIT_SOME_FAILED })
}

#[derive(Serialize)]
struct JsonReport {
    restored: Vec<JsonRestored>,
    failed: Vec<JsonFailure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    closing: Vec<String>,
}

#[derive(Serialize)]
struct JsonRestored {
    gpo_id: String,
    display_name: String,
    /// Recovery deleted what a killed copy made (no backup, no version).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    deleted: bool,
    backup_id: String,
    safety_backup: Option<String>,
    user_version: u16,
    computer_version: u16,
    links_set: usize,
    links_skipped: Vec<String>,
    summary: String,
}

#[derive(Serialize)]
struct JsonFailure {
    gpo_id: String,
    display_name: String,
    error: String,
    /// Whether the GPO is as it was before (nothing changed, or put back).
    unchanged: bool,
    refused: bool,
}

/// What a report's successes are, for JSON: a restore, or what recovery did.
trait AsRestored: std::fmt::Display {
    /// `None`: nothing was restored (recovery deleted an unfinished copy).
    fn restored(&self) -> Option<&restore::Restored>;
}

impl AsRestored for restore::Restored {
    fn restored(&self) -> Option<&restore::Restored> {
        Some(self)
    }
}

impl AsRestored for recover::Recovered {
    fn restored(&self) -> Option<&restore::Restored> {
        match self {
            recover::Recovered::Restored(restored) => Some(restored),
            recover::Recovered::Deleted => None,
        }
    }
}

impl JsonReport {
    fn of<T: AsRestored>(report: &gpvault::ops::RunReport<T, RestoreItemError>) -> JsonReport {
        use gpvault::ops::restore::Rollback;
        let mut json = JsonReport { restored: Vec::new(), failed: Vec::new(), closing: report.closing.clone() };
        for (item, done) in report.succeeded() {
            let restored = done.restored();
            json.restored.push(JsonRestored {
                gpo_id: item.gpo.to_string(),
                display_name: item.name.clone(),
                deleted: restored.is_none(),
                backup_id: restored.map(|r| r.backup_id.clone()).unwrap_or_default(),
                safety_backup: restored.and_then(|r| r.safety_backup.clone()),
                user_version: restored.map_or(0, |r| r.version.user),
                computer_version: restored.map_or(0, |r| r.version.machine),
                links_set: restored.map_or(0, |r| r.links_set),
                links_skipped: restored.map(|r| r.links_skipped.clone()).unwrap_or_default(),
                summary: done.to_string(),
            });
        }
        for (item, error) in report.failed() {
            let unchanged = match error {
                RestoreItemError::Failed { rollback, .. } => !matches!(rollback, Rollback::NotPutBack(_)),
                _ => true,
            };
            json.failed.push(JsonFailure {
                gpo_id: item.gpo.to_string(),
                display_name: item.name.clone(),
                error: gpvault::error::one_line(error),
                unchanged,
                refused: matches!(error, RestoreItemError::Refused(_)),
            });
        }
        for result in report.summary().results {
            if matches!(result.status, ItemStatus::Cancelled) {
                json.failed.push(JsonFailure {
                    gpo_id: result.item.gpo.to_string(),
                    display_name: result.item.name.clone(),
                    error: result.reason().unwrap_or_default().to_string(),
                    unchanged: true,
                    refused: false,
                });
            }
        }
        json
    }
}
