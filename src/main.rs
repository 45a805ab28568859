//! gpvault: the terminal front ends (TUI and CLI) over the gpvault library.

mod cli;
mod tui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Backtraces only for real panics; ordinary failures print one line (see cli::run).
    let _ = color_eyre::config::HookBuilder::default().display_env_section(false).install();
    let args = cli::Args::parse();
    cli::init_tracing(args.verbose);
    cli::run(args)
}
