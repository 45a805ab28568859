//! Reads every GPO folder of a DC's SYSVOL over SMB with `SmbSysvol`, concurrently, and
//! prints the time, files and bytes: the yardstick against `smbclient`'s recursive mget.
//!
//!   source /tmp/gpvault-lab/env
//!   cargo run --release --example smb_copy_bench -- [--server 127.0.0.1] [--connections 3]
//!       [--gpos-at-once 8] [--out /dev/shm/x]
//!
//! With `--out DIR` the files are also written under DIR/<GUID>/..., as smbclient does
//! (use a fresh folder on tmpfs each run: see LAB-NOTES.md on timing noise).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use futures::stream::{self, StreamExt, TryStreamExt};
use gpvault::model::GpoId;
use gpvault::sysvol::smb::{SmbSysvol, SmbTuning};
use gpvault::sysvol::{FolderEntry, Sysvol};

#[derive(Parser)]
struct Args {
    #[arg(long, env = "GPVAULT_LAB_CORP_SERVER", default_value = "127.0.0.1")]
    server: String,
    #[arg(long, default_value = "sysvol")]
    share: String,
    #[arg(long, env = "GPVAULT_LAB_CORP_NETBIOS", default_value = "CORP")]
    domain: String,
    #[arg(long, env = "GPVAULT_LAB_CORP_DOMAIN", default_value = "corp.example.test")]
    realm: String,
    #[arg(long, env = "GPVAULT_LAB_USER", default_value = "Administrator")]
    user: String,
    #[arg(long, env = "GPVAULT_LAB_PASSWORD", hide_env_values = true)]
    password: String,
    /// As `gpvault` opens (ops::session).
    #[arg(long, default_value_t = 3)]
    connections: usize,
    /// GPO folders read at the same time (spread over the connections), as `gpvault backup`.
    #[arg(long, default_value_t = 8)]
    gpos_at_once: usize,
    #[arg(long, default_value_t = 16)]
    requests_per_gpo: usize,
    /// Also write the files here, as a backup would.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> color_eyre::Result<()> {
    color_eyre::install()?;
    let args = Args::parse();
    let started = Instant::now();
    let tuning =
        SmbTuning { connections: args.connections, requests_per_gpo: args.requests_per_gpo, ..SmbTuning::default() };
    let sysvol = Arc::new(
        SmbSysvol::connect_tuned(&args.server, &args.share, &args.domain, &args.user, &args.password, tuning).await?,
    );
    let connected = started.elapsed();
    let names = sysvol.list_gpo_folders().await?;

    let (files, dirs, bytes) = stream::iter(names.iter())
        .map(|name| {
            let sysvol = Arc::clone(&sysvol);
            let unc = format!(r"\\{0}\SysVol\{0}\Policies\{name}", args.realm);
            let out = args.out.as_ref().map(|o| o.join(name));
            async move {
                let gpo: GpoId = name.parse()?;
                let folder = sysvol.read_gpo_folder(&gpo, &unc).await?;
                let counts = (folder.files().count(), folder.dirs().count(), folder.total_bytes());
                if let Some(out) = out {
                    tokio::task::spawn_blocking(move || write_folder(&out, &folder.entries)).await??;
                }
                Ok::<_, color_eyre::Report>(counts)
            }
        })
        .buffer_unordered(args.gpos_at_once.max(1))
        .try_fold((0, 0, 0), |(f, d, b), (f1, d1, b1)| async move { Ok((f + f1, d + d1, b + b1)) })
        .await?;

    println!(
        "{:.3} s  {} GPOs  {files} files  {dirs} folders  {bytes} bytes  (connect {:.3} s, {} connections, {} GPOs at once)",
        started.elapsed().as_secs_f64(),
        names.len(),
        connected.as_secs_f64(),
        args.connections,
        args.gpos_at_once,
    );
    Ok(())
}

fn write_folder(root: &std::path::Path, entries: &[FolderEntry]) -> std::io::Result<()> {
    std::fs::create_dir_all(root)?;
    for entry in entries {
        match entry {
            FolderEntry::Dir { rel_path } => std::fs::create_dir_all(root.join(rel_path))?,
            FolderEntry::File { rel_path, bytes } => std::fs::write(root.join(rel_path), bytes)?,
        }
    }
    Ok(())
}
