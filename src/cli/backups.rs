use std::path::PathBuf;

use clap::Subcommand;
use gpvault::store::{BackupStore, InstanceSummary, latest_per_gpo};
use serde::Serialize;

use super::output::{print_json, table};
use crate::front::{EXIT_OK, EXIT_SOME_FAILED, Fatal};

#[derive(Subcommand, Debug)]
pub enum BackupsCommand {
    /// List the backup instances in a folder (gpvault's or GPMC's), newest first.
    List {
        #[arg(long)]
        dir: PathBuf,
        /// Only the newest instance of each GPO.
        #[arg(long)]
        latest: bool,
        /// Also look in sub-folders (trees of published backups), this many levels deep.
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

#[derive(Serialize)]
struct InstanceRow<'a> {
    backup_id: &'a str,
    gpo_id: &'a str,
    display_name: &'a str,
    domain: &'a str,
    backup_time: &'a str,
    comment: &'a str,
    folder: String,
    made_by_gpvault: bool,
}

fn row(i: &InstanceSummary) -> InstanceRow<'_> {
    InstanceRow {
        backup_id: &i.info.id,
        gpo_id: &i.info.gpo_guid,
        display_name: &i.info.gpo_display_name,
        domain: &i.info.gpo_domain,
        backup_time: &i.info.backup_time,
        comment: &i.info.comment,
        folder: i.path.display().to_string(),
        made_by_gpvault: i.has_gpvault_json,
    }
}

pub fn run(command: BackupsCommand) -> Result<u8, Fatal> {
    match command {
        BackupsCommand::List { dir, latest, depth, json } => {
            let store = BackupStore::open(&dir, false)?;
            let listing = store.list_recursive(depth);
            let chosen: Vec<&InstanceSummary> =
                if latest { latest_per_gpo(&listing.instances) } else { listing.instances.iter().collect() };
            let rows: Vec<InstanceRow> = chosen.iter().map(|i| row(i)).collect();
            if json {
                print_json(&rows);
            } else {
                let mut t = table(&["BACKUP ID", "GPO", "DOMAIN", "TIME (UTC)", "COMMENT"]);
                for r in &rows {
                    t.add_row(vec![r.backup_id, r.display_name, r.domain, r.backup_time, r.comment]);
                }
                println!("{t}");
                println!("{} instances in {}", rows.len(), dir.display());
            }
            for finding in &listing.findings {
                eprintln!("gpvault: {}: {}", finding.path.display(), finding.problem);
            }
            for partial in &listing.partial_folders {
                eprintln!(
                    "gpvault: {}: left by an interrupted run; `gpvault backups repair --dir {}` removes it",
                    partial.display(),
                    dir.display()
                );
            }
            Ok(if listing.findings.is_empty() { EXIT_OK } else { EXIT_SOME_FAILED })
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
