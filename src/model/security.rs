//! Security descriptors: the self-relative binary form AD stores in nTSecurityDescriptor,
//! parsed into owner, group and ACLs, and printed as SDDL the way Samba prints it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::Sid;

#[derive(Debug, thiserror::Error)]
pub enum SecurityDescriptorError {
    #[error("security descriptor is malformed: {0}")]
    Malformed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ace {
    pub ace_type: u8,
    pub flags: u8,
    pub mask: u32,
    pub object_type: Option<Uuid>,
    pub inherited_object_type: Option<Uuid>,
    pub sid: Sid,
    /// Anything after the SID (conditional ACE expressions and the like), kept verbatim.
    pub trailing: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acl {
    pub revision: u8,
    pub aces: Vec<Ace>,
}

/// A parsed security descriptor that also keeps its original bytes, so writing it back is exact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityDescriptor {
    pub raw: Vec<u8>,
    pub control: u16,
    pub owner: Option<Sid>,
    pub group: Option<Sid>,
    pub sacl: Option<Acl>,
    pub dacl: Option<Acl>,
}

impl SecurityDescriptor {
    pub fn from_bytes(_bytes: &[u8]) -> Result<Self, SecurityDescriptorError> {
        Err(SecurityDescriptorError::Malformed("not implemented yet".into()))
    }

    pub fn to_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// SDDL as Samba's `security.descriptor.as_sddl(domain_sid)` prints it.
    pub fn to_sddl(&self, _domain_sid: Option<&Sid>) -> String {
        String::new()
    }
}

impl Serialize for SecurityDescriptor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.raw))
    }
}

impl<'de> Deserialize<'de> for SecurityDescriptor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(text.trim()).map_err(serde::de::Error::custom)?;
        SecurityDescriptor::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}
