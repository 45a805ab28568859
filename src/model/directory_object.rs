//! Objects as the directory stores them: kept whole, so they can be written back exactly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Sid;

/// A directory object kept with every attribute value as raw bytes, so it can be written back
/// exactly (class store packages, with their own security descriptors).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryObject {
    pub dn: String,
    /// Attribute name → values (binary-safe, base64 in JSON).
    pub attributes: BTreeMap<String, Vec<AttributeValue>>,
}

/// One attribute value: text when it is valid UTF-8, bytes otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeValue {
    Text(String),
    Base64(String),
}

impl AttributeValue {
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        match String::from_utf8(bytes) {
            Ok(text) => AttributeValue::Text(text),
            Err(e) => AttributeValue::Base64(base64_encode(e.as_bytes())),
        }
    }
}

/// A security principal as GPMC records it in Backup.xml's SecurityGroups.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub sid: Sid,
    pub sam_account_name: String,
    /// GPMC's type names: User, Computer, GlobalGroup, UniversalGroup, LocalGroup (domain local)...
    pub kind: String,
    pub netbios_domain: String,
    pub dns_domain: String,
    pub upn: Option<String>,
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
