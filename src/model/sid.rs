use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A Windows security identifier.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Sid {
    pub revision: u8,
    pub authority: u64,
    pub sub_authorities: Vec<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ParseSidError {
    #[error("'{0}' is not a SID (expected S-1-5-...)")]
    Text(String),
    #[error("binary SID is truncated or malformed")]
    Binary,
}

impl Sid {
    /// Reads a binary SID; returns it and the number of bytes it took.
    pub fn from_bytes(bytes: &[u8]) -> Result<(Sid, usize), ParseSidError> {
        if bytes.len() < 8 {
            return Err(ParseSidError::Binary);
        }
        let revision = bytes[0];
        let count = bytes[1] as usize;
        let len = 8 + 4 * count;
        if bytes.len() < len || count > 15 {
            return Err(ParseSidError::Binary);
        }
        let authority = bytes[2..8].iter().fold(0u64, |acc, b| (acc << 8) | *b as u64);
        let sub_authorities = (0..count)
            .map(|i| {
                let at = 8 + 4 * i;
                u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
            })
            .collect();
        Ok((Sid { revision, authority, sub_authorities }, len))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.revision, self.sub_authorities.len() as u8];
        out.extend_from_slice(&self.authority.to_be_bytes()[2..8]);
        for sub in &self.sub_authorities {
            out.extend_from_slice(&sub.to_le_bytes());
        }
        out
    }

    /// The last sub-authority (the RID of a domain account).
    pub fn rid(&self) -> Option<u32> {
        self.sub_authorities.last().copied()
    }

    /// True when this SID is `domain` plus one RID.
    pub fn is_in_domain(&self, domain: &Sid) -> bool {
        self.revision == domain.revision
            && self.authority == domain.authority
            && self.sub_authorities.len() == domain.sub_authorities.len() + 1
            && self.sub_authorities.starts_with(&domain.sub_authorities)
    }

    pub fn with_rid(&self, rid: u32) -> Sid {
        let mut sid = self.clone();
        sid.sub_authorities.push(rid);
        sid
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S-{}-", self.revision)?;
        if self.authority >= 1 << 32 {
            write!(f, "0x{:012X}", self.authority)?;
        } else {
            write!(f, "{}", self.authority)?;
        }
        for sub in &self.sub_authorities {
            write!(f, "-{sub}")?;
        }
        Ok(())
    }
}

impl FromStr for Sid {
    type Err = ParseSidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseSidError::Text(s.to_string());
        let rest = s.trim().strip_prefix("S-").or_else(|| s.trim().strip_prefix("s-")).ok_or_else(err)?;
        let mut parts = rest.split('-');
        let revision: u8 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
        let auth_text = parts.next().ok_or_else(err)?;
        let authority = match auth_text.strip_prefix("0x").or_else(|| auth_text.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16).map_err(|_| err())?,
            None => auth_text.parse().map_err(|_| err())?,
        };
        if authority >= 1 << 48 {
            return Err(err());
        }
        let sub_authorities: Vec<u32> = parts.map(|p| p.parse::<u32>().map_err(|_| err())).collect::<Result<_, _>>()?;
        if sub_authorities.len() > 15 {
            return Err(err());
        }
        Ok(Sid { revision, authority, sub_authorities })
    }
}

impl From<Sid> for String {
    fn from(sid: Sid) -> String {
        sid.to_string()
    }
}

impl TryFrom<String> for Sid {
    type Error = ParseSidError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// Names Windows gives the SIDs that are the same in every domain.
pub fn well_known_sid_name(sid: &Sid) -> Option<&'static str> {
    let text = sid.to_string();
    Some(match text.as_str() {
        "S-1-1-0" => "Everyone",
        "S-1-3-0" => "CREATOR OWNER",
        "S-1-3-1" => "CREATOR GROUP",
        "S-1-5-2" => "NT AUTHORITY\\NETWORK",
        "S-1-5-4" => "NT AUTHORITY\\INTERACTIVE",
        "S-1-5-9" => "NT AUTHORITY\\ENTERPRISE DOMAIN CONTROLLERS",
        "S-1-5-10" => "NT AUTHORITY\\SELF",
        "S-1-5-11" => "NT AUTHORITY\\Authenticated Users",
        "S-1-5-18" => "NT AUTHORITY\\SYSTEM",
        "S-1-5-19" => "NT AUTHORITY\\LOCAL SERVICE",
        "S-1-5-20" => "NT AUTHORITY\\NETWORK SERVICE",
        "S-1-5-32-544" => "BUILTIN\\Administrators",
        "S-1-5-32-545" => "BUILTIN\\Users",
        "S-1-5-32-546" => "BUILTIN\\Guests",
        "S-1-5-32-547" => "BUILTIN\\Power Users",
        "S-1-5-32-548" => "BUILTIN\\Account Operators",
        "S-1-5-32-549" => "BUILTIN\\Server Operators",
        "S-1-5-32-550" => "BUILTIN\\Print Operators",
        "S-1-5-32-551" => "BUILTIN\\Backup Operators",
        "S-1-5-32-554" => "BUILTIN\\Pre-Windows 2000 Compatible Access",
        "S-1-5-32-555" => "BUILTIN\\Remote Desktop Users",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary_round_trip() {
        let sid: Sid = "S-1-5-21-3996040234-1004225646-796418663-519".parse().unwrap();
        let bytes = sid.to_bytes();
        let (back, used) = Sid::from_bytes(&bytes).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(back, sid);
        assert_eq!(back.to_string(), "S-1-5-21-3996040234-1004225646-796418663-519");
        assert_eq!(sid.rid(), Some(519));
        assert!("S-1-5-x".parse::<Sid>().is_err());
    }
}
