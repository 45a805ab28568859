use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Args;
use gpvault::ops::backup::{BackupOptions, BackupReport, DEFAULT_PARALLELISM, GpoSelection, back_up};
use gpvault::ops::{ItemOutcome, Progress, ProgressEvent};
use indicatif::{ProgressBar, ProgressStyle};

use super::output::print_json;
use super::{ConnectionArgs, EXIT_OK, EXIT_SOME_FAILED, Fatal, open_session};

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
}

/// Progress on a terminal: count, current GPO, rate and ETA. Failures print above the bar.
struct BarProgress {
    bar: ProgressBar,
}

impl Progress for BarProgress {
    fn report(&self, event: ProgressEvent) {
        match event {
            ProgressEvent::Planned { total } => {
                self.bar.set_length(total as u64);
                self.bar.set_style(
                    ProgressStyle::with_template("{bar:30} {pos}/{len} GPOs  {per_sec}  ETA {eta}  {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
            }
            ProgressEvent::ItemStarted { name, .. } => self.bar.set_message(name),
            ProgressEvent::ItemFinished { name, outcome, .. } => {
                if let ItemOutcome::Failed(reason) = outcome {
                    self.bar.println(format!("FAILED {name}: {reason}"));
                }
                self.bar.inc(1);
            }
            ProgressEvent::Step(text) => self.bar.set_message(text),
        }
    }
}

pub async fn run(connection: &ConnectionArgs, args: BackupArgs) -> Result<u8, Fatal> {
    let session = open_session(connection).await?;
    let selection = if args.all { GpoSelection::All } else { GpoSelection::Named(args.gpos.clone()) };
    let cancel = Arc::new(AtomicBool::new(false));
    let options = BackupOptions {
        dir: args.dir.clone(),
        comment: args.comment.clone(),
        parallelism: args.parallel,
        cancel: Some(cancel.clone()),
    };
    // First Ctrl-C: start no new GPO, let the ones in flight finish whole, write the manifest.
    // A second one quits at once (an instance being written may then stay as a partial folder,
    // which `backups list` reports and `backups repair` removes).
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.store(true, Ordering::SeqCst);
            eprintln!("gpvault: stopping after the GPOs in flight (Ctrl-C again to quit now)");
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let progress: Arc<dyn Progress> = match &bar {
        Some(bar) => Arc::new(BarProgress { bar: bar.clone() }),
        None => Arc::new(gpvault::ops::NoProgress),
    };
    let report = back_up(&session, &selection, &options, progress).await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = report?;
    if args.json {
        print_json(&report);
    } else {
        print_summary(&report, &args.dir);
    }
    Ok(if report.failed.is_empty() { EXIT_OK } else { EXIT_SOME_FAILED })
}

fn print_summary(report: &BackupReport, dir: &std::path::Path) {
    for failure in &report.failed {
        println!("FAILED  {}  {}: {}", failure.gpo_id, failure.display_name, failure.error);
    }
    for done in &report.backed_up {
        println!("ok      {}  {}  -> {}", done.gpo_id, done.display_name, done.backup_id);
    }
    println!("{} backed up, {} failed, in {}", report.backed_up.len(), report.failed.len(), dir.display());
}
