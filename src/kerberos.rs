//! The admin's Kerberos ticket cache, as `kinit` leaves it: found, read and checked once before
//! any logon, so a missing or expired ticket is one clear line instead of a GSSAPI status chain
//! from LDAP and a KDC error from SMB.
//!
//! Only file caches are read (`FILE:` or a bare path in KRB5CCNAME, else MIT's default
//! `/tmp/krb5cc_<uid>`): that is what smb2 parses, and what `kinit` writes unless krb5.conf says
//! otherwise. The LDAP side (GSSAPI through the system's libgssapi) finds the same cache itself.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use smb2::auth::kerberos::ccache::{CCache, CcacheCredential, CcachePrincipal, parse_ccache};

/// Largest ticket cache read: a cache holds a few tickets of a few kilobytes each.
const MAX_CACHE_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error(
        "no Kerberos ticket: the ticket cache {path} does not exist; get a ticket with kinit (e.g. kinit {example})"
    )]
    Missing { path: String, example: String },
    #[error("cannot read the Kerberos ticket cache {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error(
        "the Kerberos ticket cache KRB5CCNAME={name} is a {kind} cache, and only file caches can be read; run kinit with KRB5CCNAME=FILE:/tmp/krb5cc_gpvault (any file path)"
    )]
    UnsupportedCache { name: String, kind: String },
    #[error(
        "no Kerberos ticket for realm {realm} in {path} (it holds tickets for {principal}); get one with kinit (e.g. kinit {example})"
    )]
    NoTicketForRealm { realm: String, path: String, principal: String, example: String },
    #[error("the Kerberos ticket of {principal} expired at {expired} UTC (cache {path}); renew it with kinit")]
    Expired { principal: String, expired: String, path: String },
}

/// A read ticket cache holding a ticket-granting ticket for the realm that is valid now.
#[derive(Clone, Debug)]
pub struct TicketCache {
    pub path: PathBuf,
    /// The realm the checked ticket is for (upper case, e.g. CORP.EXAMPLE.TEST).
    pub realm: String,
    cache: CCache,
}

impl TicketCache {
    /// Reads the cache KRB5CCNAME names (or the default one) and checks it has a ticket-granting
    /// ticket for `domain`'s realm that has not expired.
    pub fn for_domain(domain: &str) -> Result<TicketCache, TicketError> {
        let path = cache_path(std::env::var("KRB5CCNAME").ok().as_deref())?;
        TicketCache::load(&path, domain, SystemTime::now())
    }

    /// [`for_domain`](Self::for_domain) with the cache file and the time given.
    pub fn load(path: &Path, domain: &str, now: SystemTime) -> Result<TicketCache, TicketError> {
        let realm = domain.to_ascii_uppercase();
        let shown = path.display().to_string();
        let example = format!("Administrator@{realm}");
        let bytes = match read_capped(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(TicketError::Missing { path: shown, example });
            }
            Err(e) => return Err(TicketError::Unreadable { path: shown, reason: e.to_string() }),
        };
        let cache =
            parse_ccache(&bytes).map_err(|e| TicketError::Unreadable { path: shown.clone(), reason: e.to_string() })?;
        let principal = principal_name(&cache.default_principal);
        let now = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let tgt = cache.find_tgt(&realm).ok_or_else(|| TicketError::NoTicketForRealm {
            realm: realm.clone(),
            path: shown.clone(),
            principal: principal.clone(),
            example: example.clone(),
        })?;
        if u64::from(tgt.endtime) <= now {
            return Err(TicketError::Expired { principal, expired: utc(tgt.endtime), path: shown });
        }
        let mut cache = cache;
        // smb2 takes a cached service ticket as it finds it: an expired one would be refused by
        // the server, when the live TGT can get a new one.
        cache.credentials.retain(|c| u64::from(c.endtime) > now);
        Ok(TicketCache { path: path.to_path_buf(), realm, cache })
    }

    /// Reads the file again (kinit may have renewed it since) and checks it as
    /// [`load`](Self::load) does: for a logon long after the first.
    pub fn reload(&self) -> Result<TicketCache, TicketError> {
        TicketCache::load(&self.path, &self.realm, SystemTime::now())
    }

    /// The principal `kinit` was run for, e.g. `Administrator@CORP.EXAMPLE.TEST`.
    pub fn principal(&self) -> String {
        principal_name(&self.cache.default_principal)
    }

    /// The account name alone (`Administrator`), as an SMB session names its user.
    pub fn account(&self) -> String {
        self.cache.default_principal.components.join("/")
    }

    /// The ticket-granting ticket checked by [`load`](Self::load).
    pub fn tgt(&self) -> Option<&CcacheCredential> {
        self.cache.find_tgt(&self.realm)
    }

    /// Whether the cache holds a live ticket for `service`/`host` in its realm.
    pub fn has_service_ticket(&self, service: &str, host: &str) -> bool {
        self.cache.find_service_ticket(service, host, &self.realm).is_some()
    }

    /// The parsed cache, for smb2's ccache logon.
    pub fn ccache(&self) -> &CCache {
        &self.cache
    }
}

/// Asks the system's Kerberos (MIT, through GSSAPI: the library and krb5.conf the LDAP bind uses)
/// for a ticket for `service`/`host`, which it stores in the ticket cache. Blocking (KDC round
/// trip). Why: smb2's own TGS request asks for a forwardable ticket, which a KDC refuses when the
/// TGT is not forwardable (plain `kinit`); MIT asks only for what the TGT allows, and smb2 then
/// uses the cached ticket without a TGS exchange of its own.
#[cfg(feature = "kerberos")]
pub fn fetch_service_ticket(service: &str, host: &str) -> Result<(), String> {
    cross_krb5::ClientCtx::new(cross_krb5::InitiateFlags::empty(), None, &format!("{service}/{host}"), None)
        .map(|_| ())
        .map_err(|e| format!("{e:#}"))
}

/// Without GSSAPI in the build, smb2's own TGS exchange is the only way.
#[cfg(not(feature = "kerberos"))]
pub fn fetch_service_ticket(_service: &str, _host: &str) -> Result<(), String> {
    Err("this build has no GSSAPI (cargo feature kerberos)".into())
}

/// The file KRB5CCNAME names (`FILE:/path` or `/path`), or MIT's default `/tmp/krb5cc_<uid>`.
pub fn cache_path(krb5ccname: Option<&str>) -> Result<PathBuf, TicketError> {
    match krb5ccname.filter(|v| !v.is_empty()) {
        None => Ok(PathBuf::from(format!("/tmp/krb5cc_{}", current_uid()))),
        Some(name) => match name.split_once(':') {
            Some(("FILE", path)) => Ok(PathBuf::from(path)),
            // A residual of a type ("DIR:", "KEYRING:", "KCM:", "MEMORY:", "API:").
            Some((kind, _)) if !kind.contains('/') => {
                Err(TicketError::UnsupportedCache { name: name.to_string(), kind: kind.to_string() })
            }
            _ => Ok(PathBuf::from(name)),
        },
    }
}

fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(MAX_CACHE_BYTES).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The owner of /proc/self is this process's user: its uid without unsafe libc calls.
fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(0)
}

fn principal_name(principal: &CcachePrincipal) -> String {
    format!("{}@{}", principal.components.join("/"), principal.realm)
}

fn utc(seconds: u32) -> String {
    chrono::DateTime::from_timestamp(i64::from(seconds), 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| seconds.to_string())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::lab_env::{LabEnv, kinit};

    #[test]
    fn krb5ccname_names_a_file_or_an_unreadable_kind() {
        assert_eq!(cache_path(Some("FILE:/tmp/cc one")).unwrap(), PathBuf::from("/tmp/cc one"));
        assert_eq!(cache_path(Some("/var/tmp/cc")).unwrap(), PathBuf::from("/var/tmp/cc"));
        for name in ["KEYRING:persistent:0", "KCM:", "DIR:/run/user/0/krb5cc", "MEMORY:x"] {
            let err = cache_path(Some(name)).unwrap_err();
            assert!(matches!(err, TicketError::UnsupportedCache { .. }), "{name}: {err}");
            assert!(err.to_string().contains("FILE:"), "says what works: {err}");
        }
        let uid = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap();
        assert_eq!(cache_path(None).unwrap(), PathBuf::from(format!("/tmp/krb5cc_{uid}")));
        assert_eq!(cache_path(Some("")).unwrap(), cache_path(None).unwrap());
    }

    #[test]
    fn a_missing_or_foreign_file_is_one_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none");
        let err = TicketCache::load(&missing, "corp.example.test", SystemTime::now()).unwrap_err();
        assert!(matches!(err, TicketError::Missing { .. }), "{err}");
        assert!(err.to_string().contains("kinit Administrator@CORP.EXAMPLE.TEST"), "{err}");

        let garbage = dir.path().join("garbage");
        std::fs::write(&garbage, b"not a ticket cache").unwrap();
        let err = TicketCache::load(&garbage, "corp.example.test", SystemTime::now()).unwrap_err();
        assert!(matches!(err, TicketError::Unreadable { .. }), "{err}");
        assert!(err.to_string().contains(&garbage.display().to_string()), "names the file: {err}");
    }

    /// A real cache from the lab KDC: found, for the right realm only, and expired once its end
    /// time (as klist shows it) has passed.
    #[test]
    fn a_kinit_cache_from_the_lab_kdc_is_checked_for_realm_and_expiry() {
        let Some(lab) = LabEnv::load() else { return };
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cc");
        let realm = lab.var("GPVAULT_LAB_CORP_REALM");
        let principal = format!("Administrator@{realm}");
        kinit(&lab.var("GPVAULT_LAB_KRB5_CONFIG"), &principal, &lab.var("GPVAULT_LAB_PASSWORD"), &cache, &[]).unwrap();

        let ticket = TicketCache::load(&cache, &lab.var("GPVAULT_LAB_CORP_DOMAIN"), SystemTime::now()).unwrap();
        assert_eq!(ticket.principal(), principal);
        assert_eq!(ticket.account(), "Administrator");
        assert_eq!(ticket.realm, realm);

        // The end time klist prints, against the one read here.
        let klist = std::process::Command::new("klist")
            .env("KRB5CCNAME", format!("FILE:{}", cache.display()))
            .env("LC_ALL", "C")
            .arg("-c")
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&klist.stdout).to_string();
        assert!(listing.contains(&format!("krbtgt/{realm}@{realm}")), "{listing}");
        let end = u64::from(ticket.tgt().unwrap().endtime);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert!(end > now && end <= now + 7 * 24 * 3600, "end {end}, now {now}");

        let after = UNIX_EPOCH + Duration::from_secs(end);
        let err = TicketCache::load(&cache, &realm, after).unwrap_err();
        assert!(matches!(err, TicketError::Expired { .. }), "{err}");
        assert!(err.to_string().contains(&principal) && err.to_string().contains("kinit"), "{err}");
        assert!(TicketCache::load(&cache, &realm, after - Duration::from_secs(1)).is_ok());

        let err = TicketCache::load(&cache, &lab.var("GPVAULT_LAB_BRANCH_DOMAIN"), SystemTime::now()).unwrap_err();
        assert!(matches!(err, TicketError::NoTicketForRealm { .. }), "{err}");
        assert!(err.to_string().contains(&principal), "says whose tickets it holds: {err}");
    }
}
