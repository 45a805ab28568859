use clap::Subcommand;
use gpvault::model::{Gpo, Version, readable_ldap_time};
use gpvault::ops::inspect::{SysvolState, principal_name, read_gpo_details, read_sysvol_versions};
use serde::Serialize;

use super::output::{print_json, table};
use crate::front::{ConnectionArgs, EXIT_OK, EXIT_SOME_FAILED, Fatal, open_session};

#[derive(Subcommand, Debug)]
pub enum GpoCommand {
    /// List every GPO of the domain with its versions, status, links and WMI filter.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one GPO (by {GUID} or display name): settings halves, links, DACL, SYSVOL files.
    Show {
        gpo: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct GpoRow<'a> {
    id: String,
    name: &'a str,
    /// versionNumber as stored in AD.
    version_number: u32,
    version: Version,
    sysvol_version: Option<Version>,
    version_mismatch: bool,
    flags: u32,
    status: &'static str,
    machine_extension_names: &'a str,
    user_extension_names: &'a str,
    link_count: usize,
    wmi_filter: Option<String>,
    sysvol_error: Option<String>,
}

fn row<'a>(gpo: &'a Gpo, state: &SysvolState, link_count: usize, wmi_filter: Option<String>) -> GpoRow<'a> {
    GpoRow {
        id: gpo.id.to_string(),
        name: &gpo.display_name,
        version_number: gpo.version.raw(),
        version: gpo.version,
        sysvol_version: state.version,
        version_mismatch: state.mismatch(gpo.version),
        flags: gpo.flags.0,
        status: gpo.flags.status_text(),
        machine_extension_names: &gpo.machine_extensions.raw,
        user_extension_names: &gpo.user_extensions.raw,
        link_count,
        wmi_filter,
        sysvol_error: state.error.clone(),
    }
}

pub async fn run(connection: &ConnectionArgs, command: GpoCommand) -> Result<u8, Fatal> {
    let session = open_session(connection).await?;
    let estate = session.directory.read_estate().await?;
    match command {
        GpoCommand::List { json } => {
            let states = read_sysvol_versions(session.sysvol.clone(), &estate.gpos, 16).await;
            let rows: Vec<GpoRow> = estate
                .gpos
                .iter()
                .zip(&states)
                .map(|(gpo, state)| {
                    let filter = gpo.wmi_filter_id().map(|id| {
                        estate.wmi_filter_of(gpo).map(|f| f.name.clone()).unwrap_or_else(|| format!("{id} (missing)"))
                    });
                    row(gpo, state, estate.links_to(&gpo.id).len(), filter)
                })
                .collect();
            if json {
                print_json(&rows);
            } else {
                let mut t =
                    table(&["ID", "NAME", "USER AD/SYSVOL", "COMPUTER AD/SYSVOL", "STATUS", "LINKS", "WMI FILTER"]);
                for r in &rows {
                    let sysvol = |pick: fn(Version) -> u16| match (&r.sysvol_error, r.sysvol_version) {
                        (Some(_), _) => "?".to_string(),
                        (None, Some(v)) => pick(v).to_string(),
                        (None, None) => "-".to_string(),
                    };
                    let mark = if r.version_mismatch { " !" } else { "" };
                    t.add_row(vec![
                        r.id.clone(),
                        r.name.to_string(),
                        format!("{}/{}{mark}", r.version.user, sysvol(|v| v.user)),
                        format!("{}/{}{mark}", r.version.machine, sysvol(|v| v.machine)),
                        r.status.to_string(),
                        r.link_count.to_string(),
                        r.wmi_filter.clone().unwrap_or_default(),
                    ]);
                }
                println!("{t}");
                println!("{} GPOs in {}", rows.len(), estate.domain.dns_name);
            }
            let broken: Vec<&GpoRow> = rows.iter().filter(|r| r.sysvol_error.is_some()).collect();
            for r in &broken {
                eprintln!("gpvault: GPO {} ({}): {}", r.name, r.id, r.sysvol_error.as_deref().unwrap_or(""));
            }
            Ok(if broken.is_empty() { EXIT_OK } else { EXIT_SOME_FAILED })
        }
        GpoCommand::Show { gpo, json } => {
            let details = read_gpo_details(&session, &estate, &gpo).await.map_err(super::with_names_hint)?;
            let g = &details.gpo;
            let domain_sid = estate.domain.sid.as_ref();
            let links: Vec<_> = estate.links_to(&g.id).into_iter().cloned().collect();
            let filter = estate.wmi_filter_of(g).cloned();
            let sddl = g.security_descriptor.as_ref().map(|sd| sd.to_sddl(domain_sid));
            let sysvol_version = details.sysvol.version;
            let resolve = |sid: &gpvault::model::Sid| principal_name(sid, &details.principals);
            let acl_rows: Vec<AceRow> = g
                .security_descriptor
                .iter()
                .flat_map(|sd| sd.describe_aces(&resolve))
                .map(|d| AceRow {
                    text: d.to_string(),
                    kind: d.kind,
                    trustee: d.trustee_name.unwrap_or_else(|| d.trustee.to_string()),
                    sid: d.trustee.to_string(),
                    rights: d.rights,
                    applies_to: d.applies_to,
                    inherited: d.inherited,
                })
                .collect();
            let delegation: Vec<String> = g
                .security_descriptor
                .iter()
                .flat_map(|sd| sd.gpo_delegation())
                .map(|p| {
                    format!(
                        "{:<5}  {:<45}  {}{}",
                        p.permission_type.as_str(),
                        resolve(&p.trustee).unwrap_or_else(|| p.trustee.to_string()),
                        p.access.delegation_name(),
                        if p.inherited { "  [inherited]" } else { "" }
                    )
                })
                .collect();
            let files: Vec<FileRow> =
                details.sysvol.entries.iter().map(|e| FileRow { path: e.path.clone(), size: e.size }).collect();
            let sysvol_error = details
                .sysvol
                .error
                .clone()
                .filter(|_| details.sysvol.file_count == 0 && details.sysvol.entries.is_empty());
            if json {
                print_json(&ShowJson {
                    gpo: g,
                    sysvol_version,
                    version_mismatch: details.sysvol.mismatch(g.version),
                    status: g.flags.status_text(),
                    links: &links,
                    wmi_filter: filter.as_ref(),
                    sddl: sddl.clone(),
                    acl: &acl_rows,
                    delegation: &delegation,
                    sysvol_files: &files,
                    sysvol_error: sysvol_error.clone(),
                });
            } else {
                println!("{}  {}", g.display_name, g.id);
                println!("  Domain:         {}", estate.domain.dns_name);
                println!("  Status:         {}", g.flags.status_text());
                println!(
                    "  User version:   AD {}  SYSVOL {}",
                    g.version.user,
                    sysvol_version.map(|v| v.user.to_string()).unwrap_or_else(|| "?".into())
                );
                println!(
                    "  Computer:       AD {}  SYSVOL {}",
                    g.version.machine,
                    sysvol_version.map(|v| v.machine.to_string()).unwrap_or_else(|| "?".into())
                );
                let time = |t: &Option<String>| t.as_deref().map_or("?".into(), readable_ldap_time);
                println!("  Created:        {}", time(&g.created));
                println!("  Changed:        {}", time(&g.changed));
                println!("  SYSVOL path:    {}", g.file_sys_path);
                let extensions = |list: &gpvault::model::ExtensionList| match list.names() {
                    names if names.is_empty() => "none".to_string(),
                    names => names.join(", "),
                };
                println!("  Computer CSEs:  {}", extensions(&g.machine_extensions));
                println!("  User CSEs:      {}", extensions(&g.user_extensions));
                match &filter {
                    Some(f) => println!("  WMI filter:     {} ({})", f.name, f.query),
                    None => println!("  WMI filter:     {}", g.wmi_filter_link.as_deref().unwrap_or("none")),
                }
                println!("Links:");
                if links.is_empty() {
                    println!("  (not linked)");
                }
                for l in &links {
                    println!(
                        "  {:<3} {}{}{}",
                        l.order,
                        l.container_dn,
                        if l.enabled { "" } else { "  [disabled]" },
                        if l.enforced { "  [enforced]" } else { "" }
                    );
                }
                println!("Security (SDDL):");
                println!("  {}", sddl.as_deref().unwrap_or("(not readable)"));
                println!("Delegation (as GPMC shows it):");
                for line in &delegation {
                    println!("  {line}");
                }
                println!("Access control entries:");
                for row in &acl_rows {
                    println!("  {}", row.text);
                }
                println!("SYSVOL files:");
                match &sysvol_error {
                    Some(e) => println!("  {e}"),
                    None => {
                        for f in &files {
                            match f.size {
                                Some(size) => println!("  {}  ({size} bytes)", f.path),
                                None => println!("  {}/", f.path),
                            }
                        }
                    }
                }
            }
            if let Some(e) = &sysvol_error {
                eprintln!("gpvault: GPO {} ({}): {e}", g.display_name, g.id);
                return Ok(EXIT_SOME_FAILED);
            }
            Ok(EXIT_OK)
        }
    }
}

#[derive(Serialize)]
struct AceRow {
    text: String,
    kind: String,
    trustee: String,
    sid: String,
    rights: String,
    applies_to: String,
    inherited: bool,
}

#[derive(Serialize)]
struct FileRow {
    path: String,
    size: Option<u64>,
}

#[derive(Serialize)]
struct ShowJson<'a> {
    gpo: &'a Gpo,
    sysvol_version: Option<Version>,
    version_mismatch: bool,
    status: &'static str,
    links: &'a [gpvault::model::Link],
    wmi_filter: Option<&'a gpvault::model::WmiFilter>,
    sddl: Option<String>,
    acl: &'a [AceRow],
    delegation: &'a [String],
    sysvol_files: &'a [FileRow],
    sysvol_error: Option<String>,
}
