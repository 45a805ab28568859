use std::path::PathBuf;

use clap::Args;

use super::{ConnectionArgs, Fatal};

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// GPOs to back up, by {GUID} or display name.
    pub gpos: Vec<String>,
    /// Back up every GPO of the domain.
    #[arg(long, conflicts_with = "gpos")]
    pub all: bool,
    /// Backup folder (created when missing).
    #[arg(long)]
    pub dir: PathBuf,
    #[arg(long, default_value = "")]
    pub comment: String,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(_connection: &ConnectionArgs, _args: BackupArgs) -> Result<u8, Fatal> {
    Err(Fatal("backup is not built yet".into()))
}
