use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A GPO's identity: the GUID that names its AD container and its SYSVOL folder.
/// Shown the way Windows shows it: braces, upper case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct GpoId(pub Uuid);

#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not a GUID (expected something like {{31B2F340-016D-11D2-945F-00C04FB984F9}})")]
pub struct ParseIdError(pub String);

/// Parses a GUID with or without braces, any case.
pub fn parse_guid(text: &str) -> Result<Uuid, ParseIdError> {
    let trimmed = text.trim();
    let bare = trimmed.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(trimmed);
    Uuid::parse_str(bare).map_err(|_| ParseIdError(text.to_string()))
}

/// `{XXXXXXXX-XXXX-...}` in upper case, as GPMC writes GUIDs.
pub fn format_guid_braced(id: &Uuid) -> String {
    format!("{{{}}}", id.as_hyphenated().to_string().to_uppercase())
}

impl GpoId {
    pub fn new_random() -> Self {
        GpoId(Uuid::new_v4())
    }
}

impl fmt::Display for GpoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_guid_braced(&self.0))
    }
}

impl FromStr for GpoId {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_guid(s).map(GpoId)
    }
}

impl From<GpoId> for String {
    fn from(id: GpoId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for GpoId {
    type Error = ParseIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_and_without_braces_and_prints_upper_braced() {
        let a: GpoId = "{31b2f340-016d-11d2-945f-00c04fb984f9}".parse().unwrap();
        let b: GpoId = "31B2F340-016D-11D2-945F-00C04FB984F9".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "{31B2F340-016D-11D2-945F-00C04FB984F9}");
        assert!("Default Domain Policy".parse::<GpoId>().is_err());
    }
}
