use crate::cli::{ConnectionArgs, Fatal};

pub fn run(_connection: &ConnectionArgs, _runtime: tokio::runtime::Runtime) -> Result<u8, Fatal> {
    Err(Fatal("the terminal UI is not built yet; use a subcommand (gpvault --help)".into()))
}
