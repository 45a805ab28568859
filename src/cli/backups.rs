use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;
use gpvault::ops::catalog::{self, BackupRow, Catalog, ListFilter};
use gpvault::ops::delete::{self, DeletePlan, DeleteReport};
use gpvault::ops::run::Outcome;
use gpvault::ops::{NoProgress, Plan, PlanDescription, RunOptions, prune};
use gpvault::store::BackupStore;
use serde::Serialize;

use super::output::{print_json, print_plan, print_summary};
use crate::front::{ConnectionArgs, EXIT_OK, EXIT_SOME_FAILED, Fatal, open_session};

#[derive(Subcommand, Debug)]
pub enum BackupsCommand {
    /// List the backup instances in a folder (gpvault's or GPMC's), newest first, with their size.
    List {
        #[arg(long)]
        dir: PathBuf,
        /// Only the newest instance of each GPO.
        #[arg(long)]
        latest: bool,
        /// Only the instances of this GPO ({GUID} or display name).
        #[arg(long)]
        gpo: Option<String>,
        /// Only GPOs of the connected domain that no longer exist there (connects like `gpo list`).
        #[arg(long)]
        deleted: bool,
        /// Also look in sub-folders (trees of published backups), this many levels deep.
        #[arg(long, default_value_t = 0)]
        depth: usize,
        #[arg(long)]
        json: bool,
    },
    /// Show one instance: core settings, DACL, links, WMI filter, packages and every setting.
    Show {
        /// Backup ID (the instance's folder name).
        id: String,
        #[arg(long)]
        dir: PathBuf,
        /// Also look in sub-folders, this many levels deep.
        #[arg(long, default_value_t = 0)]
        depth: usize,
        #[arg(long)]
        json: bool,
    },
    /// Setting-level differences between two instances (older first), or between one and the live
    /// GPO (--live). Exit code 0 when equal, 1 when different.
    Diff {
        /// Two backup IDs, or one with --live.
        #[arg(required = true, num_args = 1..=2)]
        ids: Vec<String>,
        #[arg(long)]
        dir: PathBuf,
        /// Compare with the GPO as the connected domain holds it now (connects like `gpo list`).
        #[arg(long)]
        live: bool,
        /// Also look in sub-folders, this many levels deep.
        #[arg(long, default_value_t = 0)]
        depth: usize,
        #[arg(long)]
        json: bool,
    },
    /// Delete instances by backup ID. Asks first on a terminal; elsewhere needs --yes.
    Delete {
        #[arg(required = true)]
        ids: Vec<String>,
        #[arg(long)]
        dir: PathBuf,
        /// Delete without asking.
        #[arg(long)]
        yes: bool,
        /// Print what would be deleted, and delete nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Keep the N newest instances of each GPO and delete the others. Asks first on a terminal;
    /// elsewhere needs --yes.
    Prune {
        #[arg(long)]
        dir: PathBuf,
        /// How many instances of each GPO to keep (at least 1).
        #[arg(long)]
        keep: usize,
        /// Delete without asking.
        #[arg(long)]
        yes: bool,
        /// Print what would be deleted, and delete nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Check every instance: each file present with the size and SHA-256 recorded at backup
    /// time (GPMC's instances: every file Backup.xml names). Exit code 1 naming each bad one.
    Verify {
        #[arg(long)]
        dir: PathBuf,
        /// Also look in sub-folders, this many levels deep.
        #[arg(long, default_value_t = 0)]
        depth: usize,
        #[arg(long)]
        json: bool,
    },
    /// Rewrite manifest.xml from the instance folders and remove leftovers of interrupted runs.
    Repair {
        #[arg(long)]
        dir: PathBuf,
    },
}

pub fn run(
    connection: &ConnectionArgs,
    command: BackupsCommand,
    runtime: &tokio::runtime::Runtime,
) -> Result<u8, Fatal> {
    match command {
        BackupsCommand::List { dir, latest, gpo, deleted, depth, json } => {
            let filter = ListFilter { latest, gpo, depth };
            let mut catalog = catalog::list_backups(&dir, &filter)?;
            if deleted {
                let estate = runtime.block_on(async {
                    let session = open_session(connection).await?;
                    session.directory.read_estate().await.map_err(Fatal::from)
                })?;
                let other_domains = catalog.keep_deleted(&estate);
                if other_domains > 0 {
                    eprintln!(
                        "gpvault: {other_domains} instance(s) of GPOs of other domains left out (connected to {})",
                        estate.domain.dns_name
                    );
                }
            }
            print_list(&catalog, json);
            Ok(if catalog.findings.is_empty() { EXIT_OK } else { EXIT_SOME_FAILED })
        }
        BackupsCommand::Show { id, dir, depth, json } => {
            let details = catalog::show_backup(&dir, &id, depth).map_err(with_list_hint(&dir))?;
            if json {
                print_json(&details);
            } else {
                for section in details.sections() {
                    println!("{}", section.title);
                    for line in &section.lines {
                        println!("  {line}");
                    }
                }
            }
            let unreadable = &details.gpo.unreadable;
            if !unreadable.is_empty() {
                eprintln!("gpvault: {} file(s) of backup {} could not be read (listed above)", unreadable.len(), id);
                return Ok(EXIT_SOME_FAILED);
            }
            Ok(EXIT_OK)
        }
        BackupsCommand::Diff { ids, dir, live, depth, json } => {
            let diff = match (ids.as_slice(), live) {
                ([id], true) => runtime.block_on(async {
                    let session = open_session(connection).await?;
                    catalog::diff_live(&session, &dir, id, depth).await.map_err(with_list_hint(&dir))
                })?,
                ([old, new], false) => catalog::diff_backups(&dir, old, new, depth).map_err(with_list_hint(&dir))?,
                (_, true) => {
                    return Err(Fatal("--live compares one backup with the live GPO: give one backup ID".into()));
                }
                (_, false) => {
                    return Err(Fatal("give two backup IDs (older first), or one with --live".into()));
                }
            };
            if json {
                print_json(&diff);
            } else {
                for line in diff.text_lines() {
                    println!("{line}");
                }
            }
            Ok(if diff.is_equal() { EXIT_OK } else { EXIT_SOME_FAILED })
        }
        BackupsCommand::Delete { ids, dir, yes, dry_run, json } => {
            let plan = delete::plan(&dir, &ids).map_err(|e| with_list_hint(&dir)(e))?;
            carry_out(plan, runtime, yes, dry_run, json, "delete these backup instances")
        }
        BackupsCommand::Prune { dir, keep, yes, dry_run, json } => {
            let plan = prune::plan(&dir, keep)?;
            carry_out(plan, runtime, yes, dry_run, json, "delete these backup instances")
        }
        BackupsCommand::Verify { dir, depth, json } => {
            let report = catalog::verify_backups(&dir, &ListFilter { depth, ..Default::default() })?;
            if json {
                print_json(&report);
            } else {
                for line in report.lines() {
                    println!("{line}");
                }
            }
            Ok(if report.is_clean() { EXIT_OK } else { EXIT_SOME_FAILED })
        }
        BackupsCommand::Repair { dir } => {
            let store = BackupStore::open(&dir, false)?;
            let removed = store.clean_partial()?;
            let count = store.rebuild_manifest()?;
            for path in &removed {
                println!("removed {}", path.display());
            }
            println!("manifest.xml lists {count} instances");
            Ok(EXIT_OK)
        }
    }
}

/// An unknown backup ID: say where the IDs are.
fn with_list_hint<E: std::error::Error>(dir: &std::path::Path) -> impl Fn(E) -> Fatal + '_ {
    move |e| {
        let text = gpvault::error::one_line(&e);
        if text.starts_with("no backup with ID") {
            Fatal(format!("{text} (`gpvault backups list --dir {}` shows the IDs)", dir.display()))
        } else {
            Fatal(text)
        }
    }
}

fn print_list(catalog: &Catalog, json: bool) {
    if json {
        print_json(&catalog.rows);
    } else {
        let headers = ["BACKUP ID", "GPO", "DOMAIN", "TIME (UTC)", "SIZE", "COMMENT"];
        let rows: Vec<[String; 6]> = catalog
            .rows
            .iter()
            .map(|r: &BackupRow| {
                let mut name = r.display_name.clone();
                if r.incomplete.is_some() {
                    name.push_str(" (incomplete)");
                }
                [
                    r.backup_id.clone(),
                    name,
                    r.domain.clone(),
                    r.backup_time.replacen('T', " ", 1),
                    r.size_text(),
                    r.comment.clone(),
                ]
            })
            .collect();
        print_columns(&headers, &rows);
        println!("{} instances in {}", catalog.rows.len(), catalog.dir.display());
    }
    for note in catalog.notes() {
        eprintln!("gpvault: {note}");
    }
    if catalog.source.manifest_needs_rewrite() || !catalog.partial_folders.is_empty() {
        eprintln!(
            "gpvault: `gpvault backups repair --dir {}` rewrites the manifest and removes leftovers",
            catalog.dir.display()
        );
    }
    for finding in &catalog.findings {
        eprintln!("gpvault: {}: {}", finding.path.display(), finding.problem);
    }
}

/// Columns padded to their widest cell, two spaces apart, the last one unpadded: the plain
/// table of the other commands, written directly so that a folder of a hundred thousand
/// instances prints in a blink.
fn print_columns<const N: usize>(headers: &[&str; N], rows: &[[String; N]]) {
    let mut widths: [usize; N] = headers.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut line = String::new();
    let mut write_row = |cells: &mut dyn Iterator<Item = &str>, out: &mut dyn Write| {
        line.clear();
        for (i, cell) in cells.enumerate() {
            if i + 1 < N {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', widths[i] - cell.chars().count() + 2));
            } else {
                line.push_str(cell);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    };
    write_row(&mut headers.iter().copied(), &mut out);
    for row in rows {
        write_row(&mut row.iter().map(String::as_str), &mut out);
    }
    let _ = out.flush();
}

/// Dry run, confirmation, execution and summary of a delete or prune.
fn carry_out(
    plan: DeletePlan,
    runtime: &tokio::runtime::Runtime,
    yes: bool,
    dry_run: bool,
    json: bool,
    question: &str,
) -> Result<u8, Fatal> {
    let description = plan.describe();
    if dry_run {
        print_plan(&description, json);
        return Ok(EXIT_OK);
    }
    if plan.is_empty() {
        if json {
            print_json(&JsonReport::default());
        } else {
            println!("{}: nothing to delete", description.title);
        }
        return Ok(EXIT_OK);
    }
    if !yes && !confirm(&description, question)? {
        eprintln!("gpvault: nothing was deleted");
        return Ok(EXIT_OK);
    }
    let (dir, rows) = (plan.dir.clone(), plan.instances.clone());
    let report = runtime.block_on(delete::execute(plan, &RunOptions::new(1), Arc::new(NoProgress)))?;
    if json {
        print_json(&JsonReport::of(&rows, &report));
    } else {
        print_summary(&report.summary(), &format!("deleted from {}", dir.display()));
    }
    Ok(if report.all_succeeded() { EXIT_OK } else { EXIT_SOME_FAILED })
}

/// Shows the plan on the terminal and asks; refuses where nobody can answer.
fn confirm(plan: &PlanDescription, question: &str) -> Result<bool, Fatal> {
    if !std::io::stdin().is_terminal() {
        return Err(Fatal(format!(
            "refusing to {question} without a confirmation: not on a terminal (pass --yes to confirm, --dry-run to see the plan)"
        )));
    }
    eprintln!("{}", plan.title);
    for change in &plan.changes {
        let who = change.item.as_ref().map(|i| format!("{}  {}", i.gpo, i.name)).unwrap_or_default();
        eprintln!("  {}  {who}", change.action);
        eprintln!("      {}", change.from);
    }
    for note in &plan.notes {
        eprintln!("note: {note}");
    }
    eprint!("{}? [y/N] ", capitalised(question));
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|e| Fatal(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// `--json`'s shape for delete and prune: the instances deleted, those that failed and why, and
/// what went wrong after them.
#[derive(Serialize, Default)]
struct JsonReport {
    deleted: Vec<JsonInstance>,
    failed: Vec<JsonInstance>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    closing: Vec<String>,
}

#[derive(Serialize)]
struct JsonInstance {
    backup_id: String,
    gpo_id: String,
    display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl JsonReport {
    fn of(plan_rows: &[BackupRow], report: &DeleteReport) -> JsonReport {
        let mut json = JsonReport { closing: report.closing.clone(), ..Default::default() };
        for (item_report, row) in report.items.iter().filter_map(|r| {
            let row = plan_rows.iter().find(|row| delete::item_of(row) == r.item)?;
            Some((r, row))
        }) {
            let entry = |error: Option<String>| JsonInstance {
                backup_id: row.backup_id.clone(),
                gpo_id: row.gpo_id.clone(),
                display_name: row.display_name.clone(),
                error,
            };
            match &item_report.outcome {
                Outcome::Succeeded(_) => json.deleted.push(entry(None)),
                Outcome::Failed(e) => json.failed.push(entry(Some(gpvault::error::one_line(e)))),
                Outcome::Cancelled => json.failed.push(entry(Some(gpvault::ops::run::CANCELLED.into()))),
            }
        }
        json
    }
}
