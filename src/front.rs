//! What both front ends share: the connection arguments, the exit codes and the one-line fatal
//! error, and the hints that turn a core error's `Fix` into a flag to pass. The CLI and the TUI
//! never import each other; `main.rs` picks one and both build on this module.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args as ClapArgs;
use gpvault::config::{
    Config, ConfigError, ConnectionSettings, DomainTarget, KeyRebinding, NamedTarget, Password, PasswordLookup,
};
use gpvault::error::{Fix, one_line};
use gpvault::ops::{DomainSession, SessionError};

/// Exit codes: every item done, some items failed, nothing could be done.
pub const EXIT_OK: u8 = 0;
pub const EXIT_SOME_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

/// How to reach a domain: the config file, the profile, and settings that override it.
#[derive(ClapArgs, Debug, Clone)]
pub struct ConnectionArgs {
    /// Config file with named profiles.
    #[arg(long, env = "GPVAULT_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Profile to use (one per domain).
    #[arg(long, env = "GPVAULT_PROFILE", global = true)]
    pub profile: Option<String>,
    #[command(flatten)]
    pub settings: ConnectionSettings,
}

/// What the terminal UI starts from (see [`ConnectionArgs::tui_start`]).
pub struct TuiStart {
    pub targets: Vec<NamedTarget>,
    /// The domain to connect at once, if one was chosen.
    pub chosen: Option<usize>,
    /// The config's `theme` (the `--theme` flag wins over it).
    pub theme: Option<String>,
    /// The config's `[keys]` table.
    pub keys: Vec<KeyRebinding>,
    /// The config's `migtable`: the table the editor offers to open first.
    pub migtable: Option<PathBuf>,
    /// The config file, for messages about its lines.
    pub config_file: String,
}

/// A failure that stops the whole command: printed as one line, exit code 2.
#[derive(Debug)]
pub struct Fatal(pub String);

impl<E: std::error::Error> From<E> for Fatal {
    fn from(e: E) -> Self {
        Fatal(one_line(&e))
    }
}

impl Fatal {
    /// The error's line plus, when the core says what to change, the flag that changes it.
    pub fn with_fix(e: &dyn std::error::Error, fix: Option<Fix>) -> Fatal {
        let mut text = one_line(e);
        if let Some(fix) = fix {
            text.push_str(&format!(" ({})", flag_hint(fix)));
        }
        Fatal(text)
    }
}

fn config_fatal(e: ConfigError) -> Fatal {
    Fatal::with_fix(&e, e.fix())
}

fn session_fatal(e: SessionError) -> Fatal {
    Fatal::with_fix(&e, e.fix())
}

/// Where a command-line user changes what the core's `Fix` names.
pub fn flag_hint(fix: Fix) -> &'static str {
    match fix {
        Fix::Server => "--server or GPVAULT_SERVER",
        Fix::CaFile => "--ca-file with the CA's PEM, or --insecure-tls to skip verification",
        Fix::Credentials => "--user, and the password in GPVAULT_PASSWORD or the profile's password_env",
        Fix::Domain => "pass --domain, set GPVAULT_DOMAIN, or pick a profile with --profile",
        Fix::User => "pass --user, set GPVAULT_USER, or pick a profile with --profile",
        Fix::SysvolPath => "pass --sysvol-path",
    }
}

/// Where a TUI user changes what the core's `Fix` names: the profile in the config file.
pub fn profile_hint(fix: Fix) -> &'static str {
    match fix {
        Fix::Server => "check server in the profile",
        Fix::CaFile => "set ca_file in the profile to the CA's PEM file, or insecure_tls = true",
        Fix::Credentials => "check user in the profile, and the variable its password_env names",
        Fix::Domain => "set domain in the profile",
        Fix::User => "set user in the profile",
        Fix::SysvolPath => "set sysvol_path in the profile",
    }
}

/// An error as the TUI shows it: one line, with the profile key to change when there is one.
pub fn error_line(e: &dyn std::error::Error, fix: Option<Fix>) -> String {
    let mut text = one_line(e);
    if let Some(fix) = fix {
        text.push_str(&format!(" ({})", profile_hint(fix)));
    }
    text
}

impl ConnectionArgs {
    pub fn config_path(&self) -> Option<PathBuf> {
        self.config.clone().or_else(Config::default_path)
    }

    pub fn load_config(&self) -> Result<Config, Fatal> {
        match self.config_path() {
            Some(path) => Config::load(&path).map_err(config_fatal),
            None => Ok(Config::default()),
        }
    }

    /// The one domain a command works on.
    pub fn target(&self) -> Result<DomainTarget, Fatal> {
        let config = self.load_config()?;
        let path = self.config_path().unwrap_or_default();
        config.target(&path, self.profile.as_deref(), &self.settings).map_err(config_fatal)
    }

    /// What the terminal UI starts from: every domain it lists, the one chosen, and the config
    /// file's TUI settings.
    pub fn tui_start(&self) -> Result<TuiStart, Fatal> {
        let config = self.load_config()?;
        let path = self.config_path().unwrap_or_default();
        let (targets, selected) = config.targets(&path, self.profile.as_deref(), &self.settings);
        // Chosen: a profile named (flag, environment or default_profile), the only profile, a
        // domain given on the command line, or the one domain there is.
        let chosen = self.profile.is_some()
            || config.implicit_profile().is_some()
            || self.settings.domain.is_some()
            || targets.len() == 1;
        Ok(TuiStart {
            targets,
            chosen: chosen.then_some(selected),
            theme: config.theme.clone(),
            keys: config.key_rebindings(),
            migtable: config.migtable.clone(),
            config_file: path.display().to_string(),
        })
    }
}

/// The password for a CLI command: the core's lookup, then a prompt on the terminal.
pub fn password_for(target: &DomainTarget) -> Result<Password, Fatal> {
    match target.password_lookup() {
        PasswordLookup::Found(password) => Ok(password),
        PasswordLookup::Kerberos => Ok(Password::default()),
        PasswordLookup::Ask => {
            use std::io::IsTerminal;
            if !std::io::stdin().is_terminal() {
                return Err(config_fatal(target.missing_password_error()));
            }
            let prompt = format!("Password for {} in {}: ", target.user, target.domain);
            rpassword::prompt_password(prompt)
                .map(Password::new)
                .map_err(|e| Fatal(format!("cannot read the password: {e}")))
        }
    }
}

pub async fn open_session(connection: &ConnectionArgs) -> Result<DomainSession, Fatal> {
    let target = connection.target()?;
    if target.insecure_tls {
        // Every run says it, so a script's log shows it too (the TUI shows it in its title).
        eprintln!("gpvault: warning: the TLS certificate of {} is NOT verified (insecure_tls)", target.server);
    }
    let password = password_for(&target)?;
    DomainSession::open(&target, password).await.map_err(session_fatal)
}

/// Logging on stderr: `None` for errors only, else warnings and up at `Some(0)`, more with -v.
pub fn init_tracing(verbose: Option<u8>) {
    let level = match verbose {
        None => "error",
        Some(0) => "warn",
        Some(1) => "info",
        Some(_) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GPVAULT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("gpvault={level}")));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Prints a fatal error as one line and maps it to exit code 2.
pub fn exit_code(result: Result<u8, Fatal>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Fatal(message)) => {
            eprintln!("gpvault: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(config: &str, profile: Option<&str>) -> TuiStart {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, config).expect("config");
        let args = ConnectionArgs {
            config: Some(path),
            profile: profile.map(str::to_string),
            settings: ConnectionSettings::default(),
        };
        args.tui_start().unwrap_or_else(|e| panic!("{}", e.0))
    }

    #[test]
    fn the_tui_opens_on_a_named_default_or_only_profile() {
        let two = "[profiles.branch]\ndomain = \"b.test\"\nuser = \"a\"\n[profiles.corp]\ndomain = \"c.test\"\nuser = \"a\"\n";
        assert_eq!(start(two, Some("corp")).chosen, Some(1), "--profile corp");
        assert_eq!(start(two, None).chosen, None, "two profiles, none named: the admin picks");
        let default = format!("default_profile = \"corp\"\n{two}");
        assert_eq!(start(&default, None).chosen, Some(1));
        let one = "theme = \"light\"\n[profiles.corp]\ndomain = \"c.test\"\nuser = \"a\"\n[keys]\nback_up = \"x\"\n";
        let only = start(one, None);
        assert_eq!(only.chosen, Some(0), "the only profile");
        assert_eq!(only.theme.as_deref(), Some("light"));
        assert_eq!(only.keys[0].line, Some(6), "back_up is on the sixth line");
    }
}
