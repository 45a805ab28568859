//! gpvault: the terminal front ends (TUI and CLI) over the gpvault library. This file picks one;
//! the two never import each other (what both need is in `front`).

mod cli;
mod front;
mod tui;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "gpvault", version, about = "Back up, restore, copy and import Group Policy Objects from a terminal")]
struct Args {
    #[command(flatten)]
    connection: front::ConnectionArgs,
    /// The terminal UI's colours: default, mono, light, or a path to a theme .toml (NO_COLOR
    /// forces mono).
    #[arg(long, env = "GPVAULT_THEME", global = true)]
    theme: Option<String>,
    /// More logging on stderr (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    #[command(flatten)]
    Cli(cli::Command),
    /// Open the terminal UI (the default).
    Tui,
    /// Print the shell completion script for SHELL (e.g. `gpvault completions bash >
    /// /etc/bash_completion.d/gpvault`).
    #[command(hide = true)]
    Completions { shell: cli::manual::CompletionShell },
    /// Print the man page (roff), or write one page per subcommand into --dir.
    #[command(hide = true)]
    Man {
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
}

fn main() -> ExitCode {
    // Backtraces only for real panics; ordinary failures print one line (front::exit_code).
    let _ = color_eyre::config::HookBuilder::default().display_env_section(false).install();
    end_quietly_when_stdout_closes();
    let args = Args::parse();
    // `backup --quiet` (cron) prints nothing for a clean run: warnings are logged only with -v.
    let quiet = matches!(&args.command, Some(Command::Cli(command)) if command.is_quiet());
    front::init_tracing(if quiet && args.verbose == 0 { None } else { Some(args.verbose) });
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gpvault: cannot start the async runtime: {e}");
            return ExitCode::from(front::EXIT_USAGE);
        }
    };
    match args.command {
        Some(Command::Completions { shell }) => front::exit_code(cli::manual::completions(Args::command(), shell)),
        Some(Command::Man { dir }) => front::exit_code(cli::manual::man(Args::command(), dir.as_deref())),
        Some(Command::Cli(command)) => cli::run(&args.connection, command, runtime),
        Some(Command::Tui) | None => front::exit_code(tui::run(&args.connection, args.theme.as_deref(), runtime)),
    }
}

/// `gpvault gpo list | head` closes stdout early: like any Unix tool, gpvault then ends at once,
/// silently, with SIGPIPE's exit status (128 + 13), instead of a panic report (println! panics
/// when stdout is a closed pipe; Rust ignores SIGPIPE so that sockets get EPIPE instead).
fn end_quietly_when_stdout_closes() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload.downcast_ref::<String>().map(String::as_str).or(payload.downcast_ref::<&str>().copied());
        if message.is_some_and(|m| m.starts_with("failed printing to stdout") && m.contains("Broken pipe")) {
            std::process::exit(141);
        }
        report(info);
    }));
}
