//! Named connection profiles, one per domain, in a TOML file.
//!
//! ```toml
//! default_profile = "corp"
//! [profiles.corp]
//! server = "dc1.corp.example.test"
//! domain = "corp.example.test"
//! user = "Administrator"
//! password_env = "CORP_PASSWORD"   # the name of a variable, never the password itself
//! ca_file = "/etc/ssl/corp-ca.pem"
//! ```
//!
//! The terminal UI reads settings of its own: `theme = "mono"` (a built-in theme or a path to a
//! .toml file), `migtable = "/srv/corp-to-branch.migtable"` (the table its editor offers to open
//! first) and a `[keys]` table that rebinds actions (`back_up = "x"`, `refresh = ["Ctrl-r", "R"]`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub default_profile: Option<String>,
    /// The terminal UI's colour theme: a built-in name or a path to a theme file.
    pub theme: Option<String>,
    /// The migration table the TUI's editor offers to open first (until it remembers another).
    pub migtable: Option<PathBuf>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// The terminal UI's key rebindings: an action's name = a key or a list of keys. Kept with
    /// where each value is in the file, so a message can name its line.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keys: BTreeMap<String, toml::Spanned<KeyList>>,
    /// The line of each `[keys]` entry, from the text the config was read from.
    #[serde(skip)]
    pub key_lines: BTreeMap<String, usize>,
}

/// The keys a `[keys]` entry gives: one, or a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

/// One entry of the `[keys]` table, with its line in the config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRebinding {
    pub action: String,
    pub keys: Vec<String>,
    pub line: Option<usize>,
}

/// How to reach one domain: defined once, read from a profile (serde) and from the command line
/// and environment (clap), where each given value overrides the profile's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct ConnectionSettings {
    /// Domain controller address or name.
    #[arg(long, env = "GPVAULT_SERVER", global = true)]
    pub server: Option<String>,
    /// DNS name of the domain.
    #[arg(long, env = "GPVAULT_DOMAIN", global = true)]
    pub domain: Option<String>,
    /// Account to log on with (the password comes from GPVAULT_PASSWORD or a prompt).
    #[arg(long, env = "GPVAULT_USER", global = true)]
    pub user: Option<String>,
    /// Name of the environment variable that holds the password (profiles only: a password is
    /// never a command-line value).
    #[arg(skip)]
    pub password_env: Option<String>,
    /// CA certificate(s), PEM, to verify the DC's LDAPS certificate.
    #[arg(long, env = "GPVAULT_CA_FILE", global = true)]
    pub ca_file: Option<PathBuf>,
    /// Use the Kerberos ticket cache (kinit) instead of a password.
    #[arg(long, global = true)]
    #[serde(default)]
    pub kerberos: bool,
    /// Read SYSVOL from this folder (a mount or a copy) instead of over SMB.
    #[arg(long, env = "GPVAULT_SYSVOL_PATH", global = true)]
    pub sysvol_path: Option<PathBuf>,
    /// Use LDAP on 389 with StartTLS instead of LDAPS on 636.
    #[arg(long, global = true)]
    #[serde(default)]
    pub starttls: bool,
    /// Do not verify the DC's TLS certificate (lab use only; the UI says so).
    #[arg(long, global = true)]
    #[serde(default)]
    pub insecure_tls: bool,
}

/// A profile of the config file: the same settings the command line takes.
pub type Profile = ConnectionSettings;

impl ConnectionSettings {
    /// These settings over `base`: every value given here wins, the rest comes from `base`.
    pub fn over(&self, base: &ConnectionSettings) -> ConnectionSettings {
        ConnectionSettings {
            server: self.server.clone().or_else(|| base.server.clone()),
            domain: self.domain.clone().or_else(|| base.domain.clone()),
            user: self.user.clone().or_else(|| base.user.clone()),
            password_env: self.password_env.clone().or_else(|| base.password_env.clone()),
            ca_file: self.ca_file.clone().or_else(|| base.ca_file.clone()),
            kerberos: self.kerberos || base.kerberos,
            sysvol_path: self.sysvol_path.clone().or_else(|| base.sysvol_path.clone()),
            starttls: self.starttls || base.starttls,
            insecure_tls: self.insecure_tls || base.insecure_tls,
        }
    }
}

/// How the LDAP connection is protected. Samba (and hardened Windows DCs) refuse simple binds
/// over plain LDAP, so there is no plain mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// ldaps://server:636
    #[default]
    Ldaps,
    /// ldap://server:389 then StartTLS
    StartTls,
}

/// A setting that must have a value; the front end says where to give it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    Domain,
    User,
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Setting::Domain => "domain",
            Setting::User => "user",
        })
    }
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("config file {path} is not valid: {reason}")]
    Parse { path: String, reason: String },
    #[error("no profile named '{name}' in {path} (profiles there: {known})")]
    UnknownProfile { name: String, path: String, known: String },
    #[error("no {0} given")]
    Missing(Setting),
    #[error("no password: set GPVAULT_PASSWORD{hint}, or run on a terminal to be asked")]
    NoPassword { hint: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
}

impl ConfigError {
    pub fn fix(&self) -> Option<crate::error::Fix> {
        match self {
            ConfigError::Missing(Setting::Domain) => Some(crate::error::Fix::Domain),
            ConfigError::Missing(Setting::User) => Some(crate::error::Fix::User),
            _ => None,
        }
    }
}

impl Config {
    /// The default location: `$XDG_CONFIG_HOME/gpvault/config.toml`.
    pub fn default_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "gpvault").map(|d| d.config_dir().join("config.toml"))
    }

    /// A missing file is an empty config; a broken one is an error.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(ConfigError::Read { path: path.display().to_string(), reason: e.to_string() }),
        };
        Config::parse(&text).map_err(|reason| ConfigError::Parse { path: path.display().to_string(), reason })
    }

    /// A config from its text, with the line of each `[keys]` entry noted.
    pub fn parse(text: &str) -> Result<Config, String> {
        let mut config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.key_lines = config
            .keys
            .iter()
            .map(|(name, value)| {
                let start = value.span().start.min(text.len());
                (name.clone(), text.as_bytes()[..start].iter().filter(|b| **b == b'\n').count() + 1)
            })
            .collect();
        Ok(config)
    }

    /// The `[keys]` table's entries, sorted by action name, each with its line.
    pub fn key_rebindings(&self) -> Vec<KeyRebinding> {
        self.keys
            .iter()
            .map(|(name, value)| KeyRebinding {
                action: name.clone(),
                keys: match value.get_ref() {
                    KeyList::One(key) => vec![key.clone()],
                    KeyList::Many(keys) => keys.clone(),
                },
                line: self.key_lines.get(name).copied(),
            })
            .collect()
    }

    /// The profile to use when none is named: the default one, or the only one.
    pub fn implicit_profile(&self) -> Option<&str> {
        self.default_profile
            .as_deref()
            .or_else(|| if self.profiles.len() == 1 { self.profiles.keys().next().map(String::as_str) } else { None })
    }

    /// Every domain the front ends offer, resolved once the same way for both: each profile
    /// (the command line's settings apply to the chosen one), plus a domain given on the
    /// command line with no profile to attach it to. Also returns the index of the chosen one.
    pub fn targets(&self, path: &Path, chosen: Option<&str>, flags: &ConnectionSettings) -> (Vec<NamedTarget>, usize) {
        let chosen = chosen.or_else(|| self.implicit_profile());
        let named = |name: Option<&str>, flags: &ConnectionSettings| -> NamedTarget {
            let target = match name {
                Some(name) => self.profile(name, path).and_then(|p| DomainTarget::resolve(Some(name), &flags.over(p))),
                None => DomainTarget::resolve(None, flags),
            };
            let label = match &target {
                Ok(target) => target.label(),
                Err(_) => name.unwrap_or("command line").to_string(),
            };
            NamedTarget { label, target }
        };
        if self.profiles.is_empty() {
            return (vec![named(chosen, flags)], 0);
        }
        let none = ConnectionSettings::default();
        let mut targets = Vec::new();
        let mut selected = 0;
        for name in self.profiles.keys() {
            if Some(name.as_str()) == chosen {
                selected = targets.len();
                targets.push(named(Some(name), flags));
            } else {
                targets.push(named(Some(name), &none));
            }
        }
        if let Some(name) = chosen.filter(|n| !self.profiles.contains_key(*n)) {
            selected = targets.len();
            targets.push(named(Some(name), flags));
        }
        if chosen.is_none() && flags.domain.is_some() {
            selected = targets.len();
            targets.push(named(None, flags));
        }
        (targets, selected)
    }

    /// The one domain a command works on: the chosen profile (or the only one) with the
    /// command line's settings over it.
    pub fn target(
        &self,
        path: &Path,
        chosen: Option<&str>,
        flags: &ConnectionSettings,
    ) -> Result<DomainTarget, ConfigError> {
        let chosen = chosen.or_else(|| self.implicit_profile());
        match chosen {
            Some(name) => DomainTarget::resolve(Some(name), &flags.over(self.profile(name, path)?)),
            None => DomainTarget::resolve(None, flags),
        }
    }

    pub fn profile(&self, name: &str, path: &Path) -> Result<&Profile, ConfigError> {
        self.profiles.get(name).ok_or_else(|| ConfigError::UnknownProfile {
            name: name.to_string(),
            path: path.display().to_string(),
            known: if self.profiles.is_empty() {
                "none".into()
            } else {
                self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            },
        })
    }
}

/// What the UI remembers between runs (the last backup folder). Kept in its own file under the
/// XDG state folder, so gpvault never rewrites the admin's hand-written config.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UiMemory {
    pub last_backup_dir: Option<PathBuf>,
    /// The migration table the editor opened or saved last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_migtable: Option<PathBuf>,
}

impl UiMemory {
    /// `$GPVAULT_STATE_FILE`, else `$XDG_STATE_HOME/gpvault/state.toml`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os("GPVAULT_STATE_FILE").filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(path));
        }
        let dirs = directories::ProjectDirs::from("", "", "gpvault")?;
        let base = dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir());
        Some(base.join("state.toml"))
    }

    /// Memory is a convenience: a missing or unreadable file is simply empty.
    pub fn load(path: &Path) -> UiMemory {
        std::fs::read_to_string(path).ok().and_then(|text| toml::from_str(&text).ok()).unwrap_or_default()
    }

    /// Writes through a temporary file and a rename, so a crash never leaves half a file.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let err = |e: String| ConfigError::Write { path: path.display().to_string(), reason: e };
        let text = toml::to_string_pretty(self).map_err(|e| err(e.to_string()))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| err(e.to_string()))?;
        }
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, text).map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
    }
}

/// Where a copy records the GPO it is making, so that a run killed half way is put right by the
/// next copy or by `gpvault recover` (a copy has no backup folder to keep the record in):
/// `$XDG_STATE_HOME/gpvault/journal`.
pub fn copy_journal_dir() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "gpvault")?;
    Some(dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir()).join("journal"))
}

/// One domain as the front ends list it: a label, and the target or why it does not resolve.
#[derive(Clone, Debug)]
pub struct NamedTarget {
    pub label: String,
    pub target: Result<DomainTarget, ConfigError>,
}

/// A complete recipe for reaching one domain, minus the password.
#[derive(Clone, Debug, PartialEq)]
pub struct DomainTarget {
    pub profile: Option<String>,
    pub server: String,
    pub domain: String,
    pub user: String,
    pub password_env: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub kerberos: bool,
    pub sysvol_path: Option<PathBuf>,
    pub tls: TlsMode,
    pub insecure_tls: bool,
}

/// Where the password for a domain comes from, in this order: GPVAULT_PASSWORD, the variable
/// the profile's `password_env` names, the Kerberos ticket cache, and last a prompt (the CLI
/// asks on the terminal, the TUI in a masked popup).
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordLookup {
    Found(Password),
    Kerberos,
    Ask,
}

/// A password in memory: never printed (Debug shows `***`), wiped when dropped. Kept by a
/// session for as long as it may have to log on again (a dropped SMB connection).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Password(zeroize::Zeroizing<String>);

impl Password {
    pub fn new(text: String) -> Password {
        Password(zeroize::Zeroizing::new(text))
    }

    /// The text, for the logon that needs it: do not keep a copy.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Debug for PasswordLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PasswordLookup::Found(_) => "Found(***)",
            PasswordLookup::Kerberos => "Kerberos",
            PasswordLookup::Ask => "Ask",
        })
    }
}

impl DomainTarget {
    /// A complete target from merged settings (see [`ConnectionSettings::over`]).
    pub fn resolve(profile_name: Option<&str>, settings: &ConnectionSettings) -> Result<DomainTarget, ConfigError> {
        let domain = settings.domain.clone().ok_or(ConfigError::Missing(Setting::Domain))?;
        // A DC is reachable under the domain's own name when DNS knows it.
        let server = settings.server.clone().unwrap_or_else(|| domain.clone());
        let kerberos = settings.kerberos;
        let user = match settings.user.clone() {
            Some(user) => user,
            None if kerberos => String::new(),
            None => return Err(ConfigError::Missing(Setting::User)),
        };
        Ok(DomainTarget {
            profile: profile_name.map(str::to_string),
            server,
            domain,
            user,
            password_env: settings.password_env.clone(),
            ca_file: settings.ca_file.clone(),
            kerberos,
            sysvol_path: settings.sysvol_path.clone(),
            tls: if settings.starttls { TlsMode::StartTls } else { TlsMode::Ldaps },
            insecure_tls: settings.insecure_tls,
        })
    }

    /// The one password lookup, in the order [`PasswordLookup`] documents.
    pub fn password_lookup(&self) -> PasswordLookup {
        let from_env = std::env::var("GPVAULT_PASSWORD")
            .ok()
            .or_else(|| self.password_env.as_ref().and_then(|name| std::env::var(name).ok()))
            .filter(|p| !p.is_empty());
        match from_env {
            Some(password) => PasswordLookup::Found(Password::new(password)),
            None if self.kerberos => PasswordLookup::Kerberos,
            None => PasswordLookup::Ask,
        }
    }

    pub fn missing_password_error(&self) -> ConfigError {
        ConfigError::NoPassword {
            hint: match &self.password_env {
                Some(name) => format!(" or {name} (the profile's password_env)"),
                None => String::new(),
            },
        }
    }

    /// The LDAP URL this target uses.
    pub fn url(&self) -> String {
        let host = if self.server.contains(':') && !self.server.starts_with('[') {
            format!("[{}]", self.server)
        } else {
            self.server.clone()
        };
        match self.tls {
            TlsMode::Ldaps => format!("ldaps://{host}:636"),
            TlsMode::StartTls => format!("ldap://{host}:389"),
        }
    }

    /// The name to bind with: a bare account name becomes a UPN in the target domain.
    pub fn bind_name(&self) -> String {
        if self.user.contains('@') || self.user.contains('\\') || self.user.contains('=') {
            self.user.clone()
        } else {
            format!("{}@{}", self.user, self.domain)
        }
    }

    /// The user name without domain, for SMB (NTLM wants user and domain apart).
    pub fn smb_user_and_domain(&self) -> (String, String) {
        if let Some((user, realm)) = self.user.split_once('@') {
            (user.to_string(), realm.to_string())
        } else if let Some((domain, user)) = self.user.split_once('\\') {
            (user.to_string(), domain.to_string())
        } else {
            (self.user.clone(), self.domain.clone())
        }
    }

    /// What the UI calls this domain.
    pub fn label(&self) -> String {
        match &self.profile {
            Some(name) => format!("{name} ({})", self.domain),
            None => self.domain.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example the .deb installs must stay a config gpvault accepts, with a whole profile.
    #[test]
    fn the_shipped_example_config_parses_and_resolves() {
        let config = Config::parse(include_str!("../contrib/gpvault.toml")).unwrap();
        let path = Path::new("/etc/gpvault/gpvault.toml");
        let target = config.target(path, None, &ConnectionSettings::default()).unwrap();
        assert_eq!(config.implicit_profile(), Some("corp"));
        assert_eq!(target.domain, "corp.example.com");
        assert_eq!(target.password_env.as_deref(), Some("GPVAULT_CORP_PASSWORD"));
        assert!(target.ca_file.is_some() && target.sysvol_path.is_none());
    }

    #[test]
    fn overrides_win_over_profile_and_unknown_keys_are_refused() {
        let text = r#"
            default_profile = "corp"
            [profiles.corp]
            server = "127.0.0.1"
            domain = "corp.example.test"
            user = "Administrator"
            password_env = "LAB_PW"
        "#;
        let config: Config = toml::from_str(text).unwrap();
        assert_eq!(config.implicit_profile(), Some("corp"));
        let profile = config.profile("corp", Path::new("x")).unwrap();
        let flags = ConnectionSettings { server: Some("127.0.0.9".into()), ..Default::default() };
        let target = DomainTarget::resolve(Some("corp"), &flags.over(profile)).unwrap();
        assert_eq!(target.server, "127.0.0.9");
        assert_eq!(target.user, "Administrator");
        assert_eq!(target.tls, TlsMode::Ldaps);
        assert!(config.profile("nope", Path::new("x")).unwrap_err().to_string().contains("corp"));
        assert!(toml::from_str::<Config>("[profiles.x]\npassword = \"secret\"\n").is_err());
    }

    #[test]
    fn ui_memory_round_trips_and_tolerates_junk() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("state/state.toml");
        assert_eq!(UiMemory::load(&path), UiMemory::default());
        let memory = UiMemory { last_backup_dir: Some("/srv/gpo-backups".into()), ..Default::default() };
        memory.save(&path).unwrap();
        assert_eq!(UiMemory::load(&path), memory);
        // The last migration table is remembered beside the folder.
        let memory = UiMemory { last_migtable: Some("/srv/corp.migtable".into()), ..memory };
        memory.save(&path).unwrap();
        assert_eq!(UiMemory::load(&path), memory);
        std::fs::write(&path, "not = [toml").unwrap();
        assert_eq!(UiMemory::load(&path), UiMemory::default());
    }

    #[test]
    fn tui_settings_are_read_with_the_lines_of_the_keys() {
        let text = "theme = \"mono\"\nmigtable = \"/srv/corp.migtable\"\n[profiles.corp]\ndomain = \"corp.example.test\"\n\n[keys]\nback_up = \"x\"\nrefresh = [\"Ctrl-r\", \"R\"]\n";
        let config = Config::parse(text).unwrap();
        assert_eq!(config.theme.as_deref(), Some("mono"));
        assert_eq!(config.migtable.as_deref(), Some(std::path::Path::new("/srv/corp.migtable")));
        let keys = config.key_rebindings();
        assert_eq!(
            keys,
            [
                KeyRebinding { action: "back_up".into(), keys: vec!["x".into()], line: Some(7) },
                KeyRebinding { action: "refresh".into(), keys: vec!["Ctrl-r".into(), "R".into()], line: Some(8) },
            ]
        );
        assert!(Config::parse("[keys]\nback_up = 3\n").is_err(), "a key is a string or a list of strings");
        assert!(Config::parse("").unwrap().key_rebindings().is_empty());
    }

    #[test]
    fn domain_is_required() {
        let err = DomainTarget::resolve(None, &ConnectionSettings::default()).unwrap_err();
        assert!(matches!(err, ConfigError::Missing(Setting::Domain)), "{err}");
    }
}
