use serde::{Deserialize, Serialize};

use super::{ExtensionList, GpoId, SecurityDescriptor};

/// versionNumber splits in two counters: user settings in the high 16 bits, computer in the low.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    pub user: u16,
    pub machine: u16,
}

impl Version {
    pub fn from_raw(raw: u32) -> Self {
        Version { user: (raw >> 16) as u16, machine: (raw & 0xFFFF) as u16 }
    }
    pub fn raw(self) -> u32 {
        ((self.user as u32) << 16) | self.machine as u32
    }
}

/// The GPO's `flags` attribute: which halves are disabled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GpoFlags(pub u32);

impl GpoFlags {
    pub fn user_disabled(self) -> bool {
        self.0 & 1 != 0
    }
    pub fn machine_disabled(self) -> bool {
        self.0 & 2 != 0
    }
    /// GPMC's wording for the GPO status column.
    pub fn status_text(self) -> &'static str {
        match self.0 & 3 {
            0 => "Enabled",
            1 => "User configuration settings disabled",
            2 => "Computer configuration settings disabled",
            _ => "All settings disabled",
        }
    }
}

/// Which half of a GPO a file or setting belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GpoSide {
    Machine,
    User,
}

/// The Active Directory half of a GPO (its groupPolicyContainer), as read from a domain or a backup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gpo {
    pub id: GpoId,
    pub dn: String,
    pub display_name: String,
    pub version: Version,
    pub flags: GpoFlags,
    pub functionality_version: Option<u32>,
    /// gPCFileSysPath: the UNC path of the GPO's SYSVOL folder.
    pub file_sys_path: String,
    pub machine_extensions: ExtensionList,
    pub user_extensions: ExtensionList,
    /// gPCWQLFilter as stored: `[domain;{FILTER-GUID};0]`.
    pub wmi_filter_link: Option<String>,
    pub security_descriptor: Option<SecurityDescriptor>,
    /// whenCreated / whenChanged in LDAP generalized time (`20261125160000.0Z`).
    pub created: Option<String>,
    pub changed: Option<String>,
}

impl Gpo {
    /// The filter's GUID (with braces) out of `[domain;{GUID};0]`.
    pub fn wmi_filter_id(&self) -> Option<String> {
        let link = self.wmi_filter_link.as_deref()?;
        let inner = link.trim().trim_start_matches('[').trim_end_matches(']');
        inner.split(';').nth(1).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    }
}

/// `20261125160000.0Z` → `2026-11-25T16:00:00` (GPMC's time layout, UTC).
pub fn parse_generalized_time(value: &str) -> Option<String> {
    let digits = value.get(0..14)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!(
        "{}-{}-{}T{}:{}:{}",
        &digits[0..4],
        &digits[4..6],
        &digits[6..8],
        &digits[8..10],
        &digits[10..12],
        &digits[12..14]
    ))
}

/// An LDAP time as people read it ("2026-11-25 14:03:07 UTC"), or as stored when it does not parse.
pub fn readable_ldap_time(value: &str) -> String {
    parse_generalized_time(value).map(|s| s.replace('T', " ") + " UTC").unwrap_or_else(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_splits_user_high_machine_low() {
        let v = Version::from_raw(0x0003_0005);
        assert_eq!(v, Version { user: 3, machine: 5 });
        assert_eq!(v.raw(), 196613);
    }
}
