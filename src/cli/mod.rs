//! Plain subcommands for scripts and cron; each prints a table or JSON and sets the exit code.

mod backup;
mod backups;
mod gpo;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args as ClapArgs, Parser, Subcommand};
use gpvault::config::{Config, ConnectionOverrides, DomainTarget};
use gpvault::ops::DomainSession;

/// Exit codes: every item done, some items failed, nothing could be done.
pub const EXIT_OK: u8 = 0;
pub const EXIT_SOME_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser, Debug)]
#[command(name = "gpvault", version, about = "Back up, restore, copy and import Group Policy Objects from a terminal")]
pub struct Args {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// More logging on stderr (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How to reach a domain. Each flag overrides the profile's value.
#[derive(ClapArgs, Debug, Clone)]
pub struct ConnectionArgs {
    /// Config file with named profiles.
    #[arg(long, env = "GPVAULT_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Profile to use (one per domain).
    #[arg(long, env = "GPVAULT_PROFILE", global = true)]
    pub profile: Option<String>,
    /// Domain controller address or name.
    #[arg(long, env = "GPVAULT_SERVER", global = true)]
    pub server: Option<String>,
    /// DNS name of the domain.
    #[arg(long, env = "GPVAULT_DOMAIN", global = true)]
    pub domain: Option<String>,
    /// Account to log on with (the password comes from GPVAULT_PASSWORD or a prompt).
    #[arg(long, env = "GPVAULT_USER", global = true)]
    pub user: Option<String>,
    /// CA certificate(s), PEM, to verify the DC's LDAPS certificate.
    #[arg(long, env = "GPVAULT_CA_FILE", global = true)]
    pub ca_file: Option<PathBuf>,
    /// Use the Kerberos ticket cache (kinit) instead of a password.
    #[arg(long, global = true)]
    pub kerberos: bool,
    /// Read SYSVOL from this folder (a mount or a copy) instead of over SMB.
    #[arg(long, env = "GPVAULT_SYSVOL_PATH", global = true)]
    pub sysvol_path: Option<PathBuf>,
    /// Use LDAP on 389 with StartTLS instead of LDAPS on 636.
    #[arg(long, global = true)]
    pub starttls: bool,
    /// Do not verify the DC's TLS certificate (lab use only; the UI says so).
    #[arg(long, global = true)]
    pub insecure_tls: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read the GPOs of a domain.
    #[command(subcommand)]
    Gpo(gpo::GpoCommand),
    /// Back up one or more GPOs, or all of them, into a backup folder.
    Backup(backup::BackupArgs),
    /// Manage a backup folder: list instances, repair its manifest.
    #[command(subcommand)]
    Backups(backups::BackupsCommand),
    /// Open the terminal UI (the default).
    Tui,
}

/// A failure that stops the whole command: printed as one line, exit code 2.
#[derive(Debug)]
pub struct Fatal(pub String);

impl<E: std::error::Error> From<E> for Fatal {
    fn from(e: E) -> Self {
        Fatal(gpvault::error::one_line(&e))
    }
}

pub fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GPVAULT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("gpvault={level}")));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

pub fn run(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gpvault: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let result = match args.command {
        Some(Command::Gpo(command)) => runtime.block_on(gpo::run(&args.connection, command)),
        Some(Command::Backup(backup_args)) => runtime.block_on(backup::run(&args.connection, backup_args)),
        Some(Command::Backups(command)) => backups::run(command),
        Some(Command::Tui) | None => crate::tui::run(&args.connection, runtime),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Fatal(message)) => {
            eprintln!("gpvault: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

impl ConnectionArgs {
    pub fn config_path(&self) -> Option<PathBuf> {
        self.config.clone().or_else(Config::default_path)
    }

    pub fn load_config(&self) -> Result<Config, Fatal> {
        match self.config_path() {
            Some(path) => Ok(Config::load(&path)?),
            None => Ok(Config::default()),
        }
    }

    pub fn overrides(&self) -> ConnectionOverrides {
        ConnectionOverrides {
            server: self.server.clone(),
            domain: self.domain.clone(),
            user: self.user.clone(),
            ca_file: self.ca_file.clone(),
            kerberos: self.kerberos,
            sysvol_path: self.sysvol_path.clone(),
            starttls: self.starttls,
            insecure_tls: self.insecure_tls,
        }
    }

    /// The one domain a CLI command works on.
    pub fn target(&self) -> Result<DomainTarget, Fatal> {
        let config = self.load_config()?;
        let path = self.config_path().unwrap_or_default();
        let name = self.profile.clone().or_else(|| config.implicit_profile().map(str::to_string));
        let profile = match &name {
            Some(name) => Some(config.profile(name, &path)?),
            None => None,
        };
        Ok(DomainTarget::resolve(name.as_deref(), profile, &self.overrides())?)
    }
}

/// Asks for the password on the terminal when no variable holds it.
pub fn password_for(target: &DomainTarget) -> Result<String, Fatal> {
    if let Some(password) = target.password_from_env() {
        return Ok(password);
    }
    if target.kerberos {
        return Ok(String::new());
    }
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(target.missing_password_error().into());
    }
    let prompt = format!("Password for {} in {}: ", target.user, target.domain);
    rpassword::prompt_password(prompt).map_err(|e| Fatal(format!("cannot read the password: {e}")))
}

pub async fn open_session(connection: &ConnectionArgs) -> Result<DomainSession, Fatal> {
    let target = connection.target()?;
    let password = password_for(&target)?;
    Ok(DomainSession::open(&target, password).await?)
}
