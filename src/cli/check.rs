use std::path::PathBuf;

use clap::Args;
use gpvault::ops::check::{self, CheckOptions, CheckReport, DEFAULT_PARALLELISM};
use gpvault::ops::{NoProgress, RunOptions};

use super::output::{RunDisplay, print_json};
use crate::front::{ConnectionArgs, EXIT_OK, EXIT_SOME_FAILED, Fatal, open_session};

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Also check against this backup folder: GPOs never backed up, instances that fail
    /// verification.
    #[arg(long)]
    pub backups: Option<PathBuf>,
    /// With --backups: the newest backup of each GPO must be at most this many days old.
    #[arg(long, requires = "backups")]
    pub max_age: Option<u32>,
    /// GPOs read at once.
    #[arg(long, default_value_t = DEFAULT_PARALLELISM)]
    pub parallel: usize,
    /// Print one JSON object: {"domain", "gpos_checked", "findings": [{"severity", "check",
    /// "gpo", "what", "fix", ...}]}.
    #[arg(long)]
    pub json: bool,
}

/// Exit 0 when no finding is a warning or an error, 1 otherwise.
pub async fn run(connection: &ConnectionArgs, args: CheckArgs) -> Result<u8, Fatal> {
    let session = open_session(connection).await?;
    let options = CheckOptions { backups: args.backups.clone(), max_age_days: args.max_age };
    let plan = check::plan(&session, options, &NoProgress).await?;
    let run_options = RunOptions::new(args.parallel);
    let display = RunDisplay::start(&run_options);
    let report = check::execute(&session, plan, &run_options, display.progress()).await;
    display.finish();
    let report = report?;
    if args.json {
        print_json(&report);
    } else {
        print_report(&report);
    }
    Ok(if report.needs_attention() { EXIT_SOME_FAILED } else { EXIT_OK })
}

/// One block per finding, worst first: severity, GPO, what is wrong, what to do.
fn print_report(report: &CheckReport) {
    for finding in &report.findings {
        let gpo = finding.gpo_text();
        let head = if gpo.is_empty() { String::new() } else { format!("{gpo}: ") };
        println!("{:<7}  {head}{}", finding.severity.label().to_uppercase(), finding.what);
        println!("         fix: {}", finding.fix);
    }
    let against = report.backups.as_ref().map(|d| format!(" (backups in {})", d.display())).unwrap_or_default();
    println!("{} in {}{against}", report.counts(), report.domain);
}
