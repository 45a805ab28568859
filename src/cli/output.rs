use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use comfy_table::presets::NOTHING;
use comfy_table::{ContentArrangement, Table};
use gpvault::ops::{ItemStatus, NoProgress, Progress, ProgressEvent, RunOptions};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// A plain table: no borders, so it pastes cleanly into tickets and greps well.
pub fn table(headers: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(NOTHING).set_content_arrangement(ContentArrangement::Disabled).set_header(headers.to_vec());
    table
}

pub fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("gpvault: cannot print JSON: {e}"),
    }
}

/// A run's summary, the same lines the TUI's status pane shows: failures first with their
/// reasons, then what was done, then the counts.
pub fn print_summary(summary: &gpvault::ops::RunSummary, what: &str) {
    use gpvault::ops::ItemStatus;
    for result in &summary.results {
        let (gpo, name) = (&result.item.gpo, &result.item.name);
        match &result.status {
            ItemStatus::Succeeded(made) => println!("ok      {gpo}  {name}  -> {made}"),
            ItemStatus::Failed(_) | ItemStatus::Cancelled => {
                println!("FAILED  {gpo}  {name}: {}", result.reason().unwrap_or_default())
            }
        }
    }
    for problem in &summary.closing {
        println!("FAILED  after the GPOs: {problem}");
    }
    println!("{}; {what}", summary.counts());
}

/// `--quiet`: only what failed, on stderr, the same lines `print_summary` gives them; nothing
/// at all for a clean run.
pub fn eprint_failures(summary: &gpvault::ops::RunSummary) {
    for result in summary.results.iter().filter(|r| r.is_failure()) {
        let (gpo, name) = (&result.item.gpo, &result.item.name);
        eprintln!("FAILED  {gpo}  {name}: {}", result.reason().unwrap_or_default());
    }
    for problem in &summary.closing {
        eprintln!("FAILED  after the GPOs: {problem}");
    }
    if !summary.is_clean() {
        eprintln!("{}", summary.counts());
    }
}

/// A plan, for `--dry-run`: what would change, item by item; nothing is written.
pub fn print_plan(plan: &gpvault::ops::PlanDescription, json: bool) {
    if json {
        print_json(plan);
        return;
    }
    println!("{} (dry run: nothing is written)", plan.title);
    for change in &plan.changes {
        let who = change.item.as_ref().map(|i| format!("{}  {}", i.gpo, i.name)).unwrap_or_default();
        println!("  {}  {who}", change.action);
        println!("      from {}", change.from);
        println!("      to   {}", change.to);
    }
    for note in &plan.notes {
        println!("note: {note}");
    }
}

/// The plan before the question: the same lines as a dry run.
pub fn print_plan_to_confirm(plan: &gpvault::ops::PlanDescription, hints: &[String]) {
    println!("{}", plan.title);
    for change in &plan.changes {
        let who = change.item.as_ref().map(|i| format!("{}  {}", i.gpo, i.name)).unwrap_or_default();
        println!("  {}  {who}", change.action);
        if !change.from.is_empty() {
            println!("      from {}", change.from);
        }
        if !change.to.is_empty() {
            println!("      to   {}", change.to);
        }
    }
    for note in &plan.notes {
        println!("note: {note}");
    }
    for hint in hints {
        println!("hint: {hint}");
    }
}

/// y/N on the terminal; anything but y or yes is no.
pub fn confirmed(question: &str) -> Result<bool, crate::front::Fatal> {
    print!("{question} [y/N] ");
    std::io::Write::flush(&mut std::io::stdout())
        .map_err(|e| crate::front::Fatal(format!("cannot write to the terminal: {e}")))?;
    let mut answer = String::new();
    std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut answer)
        .map_err(|e| crate::front::Fatal(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

/// Refuses a command that changes the domain and asks first when nobody can answer: stdin is
/// not a terminal and neither `--yes` nor `--dry-run` was given.
pub fn refuse_unanswerable(what: &str, yes: bool, dry_run: bool) -> Result<(), crate::front::Fatal> {
    if yes || dry_run || std::io::stdin().is_terminal() {
        return Ok(());
    }
    Err(crate::front::Fatal(format!(
        "{what} changes the domain and asks first, but stdin is not a terminal: pass --yes to go ahead, or --dry-run to see the plan"
    )))
}

/// A plan shown before a run that changes the domain: printed and done with under `--dry-run`,
/// else asked about unless `--yes`. `Some(exit code)` when the command ends here.
pub fn show_plan_and_ask(
    plan: &gpvault::ops::PlanDescription,
    dry_run: bool,
    json: bool,
    yes: bool,
    question: &str,
    hints: &[String],
) -> Result<Option<u8>, crate::front::Fatal> {
    if dry_run {
        print_plan(plan, json);
        if !json {
            for hint in hints {
                println!("hint: {hint}");
            }
        }
        return Ok(Some(crate::front::EXIT_OK));
    }
    if !yes {
        print_plan_to_confirm(plan, hints);
        if !confirmed(question)? {
            println!("Nothing was changed.");
            return Ok(Some(crate::front::EXIT_SOME_FAILED));
        }
    }
    Ok(None)
}

/// The foreign references a run left as they were (no table, or no row), one line each.
pub fn print_left(report: &gpvault::migrate::apply::ApplyReport) {
    for place in &report.places {
        for left in &place.left {
            let at = if left.at.is_empty() { String::new() } else { format!(", {}", left.at) };
            println!("left    {}  ({}{at}): {}", left.value, place.place, left.why);
        }
    }
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
            ProgressEvent::ItemStarted(item) => self.bar.set_message(item.name),
            ProgressEvent::ItemFinished(result) => {
                if let ItemStatus::Failed(reason) = &result.status {
                    self.bar.println(format!("FAILED {}: {reason}", result.item.name));
                }
                self.bar.inc(1);
            }
            ProgressEvent::Step(text) => self.bar.set_message(text),
        }
    }
}

/// What a long CLI run shows while it works: a progress bar on a terminal (nothing otherwise),
/// and Ctrl-C wired to the run's cancel flag: the first starts nothing new and lets the GPOs in
/// flight finish whole, a second quits at once.
pub struct RunDisplay {
    bar: Option<ProgressBar>,
}

impl RunDisplay {
    pub fn start(options: &RunOptions) -> RunDisplay {
        RunDisplay::with_bar(options, true)
    }

    fn with_bar(options: &RunOptions, bar: bool) -> RunDisplay {
        let cancel = options.cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
                eprintln!("gpvault: stopping after the GPOs in flight (Ctrl-C again to quit now)");
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
        let bar = (bar && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        RunDisplay { bar }
    }

    /// As [`RunDisplay::start`] but never a progress bar (`--quiet`): Ctrl-C still stops cleanly.
    pub fn without_bar(options: &RunOptions) -> RunDisplay {
        RunDisplay::with_bar(options, false)
    }

    pub fn progress(&self) -> Arc<dyn Progress> {
        match &self.bar {
            Some(bar) => Arc::new(BarProgress { bar: bar.clone() }),
            None => Arc::new(NoProgress),
        }
    }

    pub fn finish(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
