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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::directory::{ConnectOptions, TlsMode};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub default_profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub server: Option<String>,
    pub domain: Option<String>,
    pub user: Option<String>,
    /// Name of the environment variable that holds the password.
    pub password_env: Option<String>,
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub kerberos: bool,
    pub sysvol_path: Option<PathBuf>,
    #[serde(default)]
    pub starttls: bool,
    #[serde(default)]
    pub insecure_tls: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("config file {path} is not valid: {reason}")]
    Parse { path: String, reason: String },
    #[error("no profile named '{name}' in {path} (profiles there: {known})")]
    UnknownProfile { name: String, path: String, known: String },
    #[error("no {what} given: pass {flag}, set {env}, or pick a profile with --profile")]
    Missing { what: &'static str, flag: &'static str, env: &'static str },
    #[error("no password: set GPVAULT_PASSWORD{hint}, or run on a terminal to be asked")]
    NoPassword { hint: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
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
        toml::from_str(&text)
            .map_err(|e| ConfigError::Parse { path: path.display().to_string(), reason: e.to_string() })
    }

    /// The profile to use when none is named: the default one, or the only one.
    pub fn implicit_profile(&self) -> Option<&str> {
        self.default_profile
            .as_deref()
            .or_else(|| if self.profiles.len() == 1 { self.profiles.keys().next().map(String::as_str) } else { None })
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

/// Connection settings from the command line and environment; each overrides the profile.
#[derive(Clone, Debug, Default)]
pub struct ConnectionOverrides {
    pub server: Option<String>,
    pub domain: Option<String>,
    pub user: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub kerberos: bool,
    pub sysvol_path: Option<PathBuf>,
    pub starttls: bool,
    pub insecure_tls: bool,
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

impl DomainTarget {
    pub fn resolve(
        profile_name: Option<&str>,
        profile: Option<&Profile>,
        overrides: &ConnectionOverrides,
    ) -> Result<DomainTarget, ConfigError> {
        let empty = Profile::default();
        let p = profile.unwrap_or(&empty);
        let domain = overrides.domain.clone().or_else(|| p.domain.clone()).ok_or(ConfigError::Missing {
            what: "domain",
            flag: "--domain",
            env: "GPVAULT_DOMAIN",
        })?;
        // A DC is reachable under the domain's own name when DNS knows it.
        let server = overrides.server.clone().or_else(|| p.server.clone()).unwrap_or_else(|| domain.clone());
        let kerberos = overrides.kerberos || p.kerberos;
        let user = match overrides.user.clone().or_else(|| p.user.clone()) {
            Some(user) => user,
            None if kerberos => String::new(),
            None => return Err(ConfigError::Missing { what: "user", flag: "--user", env: "GPVAULT_USER" }),
        };
        Ok(DomainTarget {
            profile: profile_name.map(str::to_string),
            server,
            domain,
            user,
            password_env: p.password_env.clone(),
            ca_file: overrides.ca_file.clone().or_else(|| p.ca_file.clone()),
            kerberos,
            sysvol_path: overrides.sysvol_path.clone().or_else(|| p.sysvol_path.clone()),
            tls: if overrides.starttls || p.starttls { TlsMode::StartTls } else { TlsMode::Ldaps },
            insecure_tls: overrides.insecure_tls || p.insecure_tls,
        })
    }

    /// The password from GPVAULT_PASSWORD or the profile's variable; `None` means ask.
    pub fn password_from_env(&self) -> Option<String> {
        std::env::var("GPVAULT_PASSWORD")
            .ok()
            .or_else(|| self.password_env.as_ref().and_then(|name| std::env::var(name).ok()))
            .filter(|p| !p.is_empty())
    }

    pub fn missing_password_error(&self) -> ConfigError {
        ConfigError::NoPassword {
            hint: match &self.password_env {
                Some(name) => format!(" or {name} (the profile's password_env)"),
                None => String::new(),
            },
        }
    }

    pub fn connect_options(&self, password: String) -> ConnectOptions {
        ConnectOptions {
            server: self.server.clone(),
            domain: self.domain.clone(),
            user: self.user.clone(),
            password,
            ca_file: self.ca_file.clone(),
            insecure_tls: self.insecure_tls,
            tls: self.tls,
            kerberos: self.kerberos,
            timeout: Duration::from_secs(15),
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
        let overrides = ConnectionOverrides { server: Some("127.0.0.9".into()), ..Default::default() };
        let target = DomainTarget::resolve(Some("corp"), Some(profile), &overrides).unwrap();
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
        let memory = UiMemory { last_backup_dir: Some("/srv/gpo-backups".into()) };
        memory.save(&path).unwrap();
        assert_eq!(UiMemory::load(&path), memory);
        std::fs::write(&path, "not = [toml").unwrap();
        assert_eq!(UiMemory::load(&path), UiMemory::default());
    }

    #[test]
    fn domain_is_required() {
        let err = DomainTarget::resolve(None, None, &ConnectionOverrides::default()).unwrap_err();
        assert!(err.to_string().contains("--domain"), "{err}");
    }
}
