use std::path::PathBuf;

use clap::{Args, ValueEnum};
use gpvault::ops::RunOptions;
use gpvault::ops::search::{self, Query, SearchKind, SearchReport};

use super::output::{RunDisplay, print_json, table};
use crate::front::{ConnectionArgs, EXIT_OK, EXIT_SOME_FAILED, Fatal, open_session};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum KindArg {
    Registry,
    Principal,
    Path,
    Any,
}

impl From<KindArg> for SearchKind {
    fn from(kind: KindArg) -> SearchKind {
        match kind {
            KindArg::Registry => SearchKind::Registry,
            KindArg::Principal => SearchKind::Principal,
            KindArg::Path => SearchKind::Path,
            KindArg::Any => SearchKind::Any,
        }
    }
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// A registry key or value name, a principal (DOMAIN\name, name or SID) or a UNC path.
    pub text: String,
    /// `live` (the domain's GPOs now) or a backup folder (every instance in it; no connection
    /// needed).
    #[arg(long = "in", default_value = "live")]
    pub source: String,
    /// What TEXT is.
    #[arg(long, value_enum, default_value = "any")]
    pub kind: KindArg,
    /// GPOs read at once.
    #[arg(long, default_value_t = gpvault::ops::check::DEFAULT_PARALLELISM)]
    pub parallel: usize,
    /// Print one JSON object: {"searched", "searched_count", "hits": [...], "skipped": [...]}.
    #[arg(long)]
    pub json: bool,
}

/// Exit 0 when something was found, 1 when nothing was.
pub async fn run(connection: &ConnectionArgs, args: SearchArgs) -> Result<u8, Fatal> {
    let query = Query::new(&args.text, args.kind.into())?;
    let report = if args.source == "live" {
        let session = open_session(connection).await?;
        let options = RunOptions::new(args.parallel);
        let display = RunDisplay::start(&options);
        let report = search::search_live(&session, &query, &options, display.progress()).await;
        display.finish();
        report?
    } else {
        search::search_backups(&PathBuf::from(&args.source), &query, args.parallel).await?
    };
    if args.json {
        print_json(&report);
    } else {
        print_report(&report);
    }
    Ok(if report.hits.is_empty() { EXIT_SOME_FAILED } else { EXIT_OK })
}

fn print_report(report: &SearchReport) {
    let backups = report.hits.iter().any(|h| h.backup_id.is_some());
    let mut headers = vec!["GPO", "NAME"];
    if backups {
        headers.push("BACKUP");
    }
    headers.extend(["KIND", "FILE", "SETTING", "VALUE"]);
    let mut rows = table(&headers);
    for hit in &report.hits {
        let kind = match hit.kind {
            SearchKind::Registry => "registry",
            SearchKind::Principal => "principal",
            SearchKind::Path => "path",
            SearchKind::Any => "any",
        };
        let mut row = vec![hit.gpo_id.to_string(), hit.gpo_name.clone()];
        if backups {
            row.push(hit.backup_id.clone().unwrap_or_default());
        }
        row.extend([kind.to_string(), hit.file.clone(), hit.setting.clone(), hit.value.clone()]);
        rows.add_row(row);
    }
    if !report.hits.is_empty() {
        println!("{rows}");
    }
    for skipped in &report.skipped {
        let who = match (&skipped.gpo_id, &skipped.backup_id) {
            (_, Some(backup)) => format!("{} ({backup})", skipped.gpo_name),
            (Some(id), None) => format!("{id} {}", skipped.gpo_name),
            (None, None) => String::new(),
        };
        eprintln!("skipped {who}: {}", skipped.reason);
    }
    println!(
        "{} hit{} in {} GPO{} ({} searched in {})",
        report.hits.len(),
        if report.hits.len() == 1 { "" } else { "s" },
        report.gpos().len(),
        if report.gpos().len() == 1 { "" } else { "s" },
        report.searched_count,
        report.searched
    );
}
