//! `gpvault copy`: a new GPO from an existing one, in the same domain or another profile's.

use clap::Args;
use gpvault::ops::copy::{self, CopyError, CopyOptions};
use gpvault::ops::restore::changes::WmiFilterAction;
use gpvault::ops::{NoProgress, Plan, RunOptions};

use super::import::MappingArgs;
use super::output::{RunDisplay, print_left, print_summary};
use crate::front::{ConnectionArgs, EXIT_OK, EXIT_SOME_FAILED, Fatal, open_session};

#[derive(Args, Debug)]
pub struct CopyArgs {
    /// The GPO to copy, by {GUID} or display name; it is only read.
    pub gpo: String,
    /// The copy's name (default: "Copy of <name>" in the same domain, the same name in another).
    #[arg(long)]
    pub name: Option<String>,
    /// Make the copy in the domain of this profile (default: the connected domain).
    #[arg(long)]
    pub to: Option<String>,
    /// Give the copy the source's permissions (its DACL and its packages', principals mapped)
    /// instead of the target domain's defaults for a new GPO.
    #[arg(long)]
    pub preserve_acl: bool,
    /// Create the source's WMI filter in the target domain when it has none with its ID
    /// (otherwise the copy is not filtered, and the plan says so).
    #[arg(long)]
    pub create_wmi_filter: bool,
    #[command(flatten)]
    pub mapping: MappingArgs,
}

pub async fn run(connection: &ConnectionArgs, args: CopyArgs) -> Result<u8, Fatal> {
    let table = args.mapping.prepare("copy")?;
    let copy_fatal = |e: CopyError| args.mapping.fatal(&e, "copy");
    let source = open_session(connection).await?;
    // Another domain: its profile alone says how to reach it.
    let other = match &args.to {
        Some(profile) => Some(
            open_session(&ConnectionArgs {
                config: connection.config.clone(),
                profile: Some(profile.clone()),
                settings: Default::default(),
            })
            .await?,
        ),
        None => None,
    };
    let target = other.as_ref().unwrap_or(&source);
    let options = CopyOptions {
        name: args.name.clone(),
        preserve_acl: args.preserve_acl,
        table,
        only_mapped: args.mapping.migtable_only,
        create_wmi_filter: args.create_wmi_filter,
        journal_dir: Some(copy::journal_folder().map_err(|e| copy_fatal(CopyError::Journal(e)))?),
    };
    let plan = copy::plan(&source, target, &args.gpo, &options, &NoProgress).await.map_err(copy_fatal)?;
    let question = format!("Create \"{}\" in {}?", plan.copy.name, plan.domain);
    let mut hints = Vec::new();
    if matches!(plan.wmi_filter, WmiFilterAction::Missing { can_recreate: true, .. }) {
        hints.push("--create-wmi-filter creates the source's WMI filter in the target domain".to_string());
    }
    if let Some(code) = args.mapping.show_and_ask(&plan.describe(), &question, &hints)? {
        return Ok(code);
    }
    for item in plan.recovery.iter().flat_map(|r| &r.items) {
        eprintln!("recovering: {}", item.sentence());
    }
    let mapping = plan.mapping.clone();
    let run_options = RunOptions::new(1);
    let display = RunDisplay::start(&run_options);
    let report = copy::execute(target, plan, &run_options, display.progress()).await;
    display.finish();
    let report = report.map_err(copy_fatal)?;
    if report.all_succeeded() {
        print_left(&mapping);
    }
    print_summary(
        &report.summary(),
        &format!("copied from {} into {}", source.domain.dns_name, target.domain.dns_name),
    );
    Ok(if report.all_succeeded() { EXIT_OK } else { EXIT_SOME_FAILED })
}
