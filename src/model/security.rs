//! Security descriptors: the self-relative binary form AD stores in nTSecurityDescriptor,
//! parsed into owner, group and ACLs, and printed as SDDL the way Samba prints it.
//!
//! The parser is hand-written (about 150 lines) rather than taken from the `smb-dtyp` crate:
//! smb-dtyp would bring binrw, modular-bitfield, its own derive crate and `time` (a second
//! proc-macro stack) into a crate that has none of them, its types model file-system SDs and do
//! not keep the input bytes, and we would still have to write the SDDL printer, which is where
//! the real work is (Samba's exact output, quirks included). A self-relative SD is four offsets
//! and two flat lists; owning the bounds checks also lets every error say what was wrong where.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::Sid;

#[derive(Debug, thiserror::Error)]
pub enum SecurityDescriptorError {
    #[error("security descriptor is malformed: {0}")]
    Malformed(String),
}

fn malformed(message: impl Into<String>) -> SecurityDescriptorError {
    SecurityDescriptorError::Malformed(message.into())
}

/// ACE types ([MS-DTYP] 2.4.4.1).
pub mod ace_type {
    pub const ACCESS_ALLOWED: u8 = 0x00;
    pub const ACCESS_DENIED: u8 = 0x01;
    pub const SYSTEM_AUDIT: u8 = 0x02;
    pub const SYSTEM_ALARM: u8 = 0x03;
    pub const ACCESS_ALLOWED_OBJECT: u8 = 0x05;
    pub const ACCESS_DENIED_OBJECT: u8 = 0x06;
    pub const SYSTEM_AUDIT_OBJECT: u8 = 0x07;
    pub const SYSTEM_ALARM_OBJECT: u8 = 0x08;
    pub const ACCESS_ALLOWED_CALLBACK: u8 = 0x09;
    pub const ACCESS_DENIED_CALLBACK: u8 = 0x0A;
    pub const ACCESS_ALLOWED_CALLBACK_OBJECT: u8 = 0x0B;
    pub const ACCESS_DENIED_CALLBACK_OBJECT: u8 = 0x0C;
    pub const SYSTEM_AUDIT_CALLBACK: u8 = 0x0D;
    pub const SYSTEM_AUDIT_CALLBACK_OBJECT: u8 = 0x0F;
    pub const SYSTEM_ALARM_CALLBACK_OBJECT: u8 = 0x10;

    /// Types whose body has the object flags and optional GUIDs between the mask and the SID.
    pub fn has_object_part(ace_type: u8) -> bool {
        matches!(
            ace_type,
            ACCESS_ALLOWED_OBJECT
                | ACCESS_DENIED_OBJECT
                | SYSTEM_AUDIT_OBJECT
                | SYSTEM_ALARM_OBJECT
                | ACCESS_ALLOWED_CALLBACK_OBJECT
                | ACCESS_DENIED_CALLBACK_OBJECT
                | SYSTEM_AUDIT_CALLBACK_OBJECT
                | SYSTEM_ALARM_CALLBACK_OBJECT
        )
    }
}

/// ACE header flags.
pub mod ace_flags {
    pub const OBJECT_INHERIT: u8 = 0x01;
    pub const CONTAINER_INHERIT: u8 = 0x02;
    pub const NO_PROPAGATE_INHERIT: u8 = 0x04;
    pub const INHERIT_ONLY: u8 = 0x08;
    pub const INHERITED: u8 = 0x10;
    pub const SUCCESSFUL_ACCESS: u8 = 0x40;
    pub const FAILED_ACCESS: u8 = 0x80;
}

/// Security descriptor control bits.
pub mod control {
    pub const OWNER_DEFAULTED: u16 = 0x0001;
    pub const GROUP_DEFAULTED: u16 = 0x0002;
    pub const DACL_PRESENT: u16 = 0x0004;
    pub const DACL_DEFAULTED: u16 = 0x0008;
    pub const SACL_PRESENT: u16 = 0x0010;
    pub const SACL_DEFAULTED: u16 = 0x0020;
    pub const DACL_AUTO_INHERIT_REQ: u16 = 0x0100;
    pub const SACL_AUTO_INHERIT_REQ: u16 = 0x0200;
    pub const DACL_AUTO_INHERITED: u16 = 0x0400;
    pub const SACL_AUTO_INHERITED: u16 = 0x0800;
    pub const DACL_PROTECTED: u16 = 0x1000;
    pub const SACL_PROTECTED: u16 = 0x2000;
    pub const RM_CONTROL_VALID: u16 = 0x4000;
    pub const SELF_RELATIVE: u16 = 0x8000;
}

/// Access-mask bits as directory objects use them.
pub mod rights {
    pub const CREATE_CHILD: u32 = 0x0000_0001;
    pub const DELETE_CHILD: u32 = 0x0000_0002;
    pub const LIST_CHILDREN: u32 = 0x0000_0004;
    pub const SELF_WRITE: u32 = 0x0000_0008;
    pub const READ_PROPERTY: u32 = 0x0000_0010;
    pub const WRITE_PROPERTY: u32 = 0x0000_0020;
    pub const DELETE_TREE: u32 = 0x0000_0040;
    pub const LIST_OBJECT: u32 = 0x0000_0080;
    pub const CONTROL_ACCESS: u32 = 0x0000_0100;
    pub const DELETE: u32 = 0x0001_0000;
    pub const READ_CONTROL: u32 = 0x0002_0000;
    pub const WRITE_DAC: u32 = 0x0004_0000;
    pub const WRITE_OWNER: u32 = 0x0008_0000;
    pub const GENERIC_ALL: u32 = 0x1000_0000;
    pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
    pub const GENERIC_WRITE: u32 = 0x4000_0000;
    pub const GENERIC_READ: u32 = 0x8000_0000;

    /// GPMC's "Read": the directory-object meaning of generic read.
    pub const GPO_READ: u32 = READ_CONTROL | LIST_CHILDREN | READ_PROPERTY | LIST_OBJECT;
    /// GPMC's "Edit settings": read, write (write property, validated write), create and delete children.
    pub const GPO_EDIT: u32 = GPO_READ | WRITE_PROPERTY | SELF_WRITE | CREATE_CHILD | DELETE_CHILD;
    /// GPMC's "Edit settings, delete, modify security" as documented.
    pub const GPO_EDIT_DELETE_MODIFY_SECURITY: u32 = GPO_EDIT | DELETE | WRITE_DAC | WRITE_OWNER;
    /// Every right on a directory object (SDDL "RPWPCRCCDCLCLORCWOWDSDDTSW").
    pub const FULL_CONTROL: u32 = 0x000F_01FF;
}

/// The "Apply Group Policy" control access right.
pub const APPLY_GROUP_POLICY: Uuid = Uuid::from_u128(0xedacfd8f_ffb3_11d1_b41d_00a0c968f939);

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

impl Ace {
    pub fn is_inherited(&self) -> bool {
        self.flags & ace_flags::INHERITED != 0
    }

    /// Whether the ACE takes effect on the object that holds it (rather than only on descendants).
    pub fn applies_to_object(&self) -> bool {
        self.flags & ace_flags::INHERIT_ONLY == 0
    }

    pub fn is_allow(&self) -> bool {
        matches!(
            self.ace_type,
            ace_type::ACCESS_ALLOWED
                | ace_type::ACCESS_ALLOWED_OBJECT
                | ace_type::ACCESS_ALLOWED_CALLBACK
                | ace_type::ACCESS_ALLOWED_CALLBACK_OBJECT
        )
    }

    pub fn is_deny(&self) -> bool {
        matches!(
            self.ace_type,
            ace_type::ACCESS_DENIED
                | ace_type::ACCESS_DENIED_OBJECT
                | ace_type::ACCESS_DENIED_CALLBACK
                | ace_type::ACCESS_DENIED_CALLBACK_OBJECT
        )
    }
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

// ---------------------------------------------------------------------------------------------
// Binary form

const SD_HEADER_LEN: usize = 20;
const ACL_HEADER_LEN: usize = 8;
const ACE_HEADER_LEN: usize = 4;

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// GUIDs are stored with their first three fields little-endian (the Windows GUID layout).
fn guid_at(bytes: &[u8], at: usize) -> Option<Uuid> {
    let b: [u8; 16] = bytes.get(at..at.checked_add(16)?)?.try_into().ok()?;
    Some(Uuid::from_bytes_le(b))
}

impl SecurityDescriptor {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecurityDescriptorError> {
        if bytes.len() < SD_HEADER_LEN {
            return Err(malformed(format!(
                "{} bytes is too short: the header alone takes {SD_HEADER_LEN}",
                bytes.len()
            )));
        }
        if bytes[0] != 1 {
            return Err(malformed(format!("revision is {}, only revision 1 exists", bytes[0])));
        }
        let control = u16_at(bytes, 2).unwrap_or_default();
        let offset = |at: usize| u32_at(bytes, at).unwrap_or_default() as usize;
        Ok(SecurityDescriptor {
            raw: bytes.to_vec(),
            control,
            owner: read_sid(bytes, offset(4), "owner")?,
            group: read_sid(bytes, offset(8), "group")?,
            sacl: read_acl(bytes, offset(12), "SACL")?,
            dacl: read_acl(bytes, offset(16), "DACL")?,
        })
    }

    pub fn to_bytes(&self) -> &[u8] {
        &self.raw
    }
}

/// Offset 0 means "absent"; anything else must point past the header and inside the buffer.
fn checked_offset(bytes: &[u8], offset: usize, what: &str) -> Result<Option<usize>, SecurityDescriptorError> {
    if offset == 0 {
        return Ok(None);
    }
    if offset < SD_HEADER_LEN || offset >= bytes.len() {
        return Err(malformed(format!(
            "the {what} offset {offset} points outside the descriptor ({SD_HEADER_LEN}-byte header, {} bytes in all)",
            bytes.len()
        )));
    }
    Ok(Some(offset))
}

fn read_sid(bytes: &[u8], offset: usize, what: &str) -> Result<Option<Sid>, SecurityDescriptorError> {
    let Some(at) = checked_offset(bytes, offset, what)? else {
        return Ok(None);
    };
    match Sid::from_bytes(&bytes[at..]) {
        Ok((sid, _)) => Ok(Some(sid)),
        Err(_) => Err(malformed(format!("the {what} SID at offset {at} is truncated or malformed"))),
    }
}

fn read_acl(bytes: &[u8], offset: usize, what: &str) -> Result<Option<Acl>, SecurityDescriptorError> {
    let Some(at) = checked_offset(bytes, offset, what)? else {
        return Ok(None);
    };
    let rest = &bytes[at..];
    let (Some(size), Some(count)) = (u16_at(rest, 2), u16_at(rest, 4)) else {
        return Err(malformed(format!("the {what} at offset {at} is cut off inside its header")));
    };
    let size = size as usize;
    if size < ACL_HEADER_LEN {
        return Err(malformed(format!("the {what} claims {size} bytes, less than its own header")));
    }
    let Some(acl) = rest.get(..size) else {
        return Err(malformed(format!("the {what} at offset {at} claims {size} bytes but only {} remain", rest.len())));
    };
    // The smallest ACE (header, mask, empty SID) takes 16 bytes: a lying count cannot make us
    // reserve more than the ACL could hold.
    let mut aces = Vec::with_capacity((count as usize).min(size / 16));
    let mut pos = ACL_HEADER_LEN;
    for index in 0..count {
        let Some(ace_size) = u16_at(acl, pos + 2) else {
            return Err(malformed(format!("the {what} claims {count} ACEs but ACE {index} starts past its end")));
        };
        let ace_size = ace_size as usize;
        let ace_bytes = acl.get(pos..pos + ace_size).filter(|_| ace_size >= ACE_HEADER_LEN);
        let Some(ace_bytes) = ace_bytes else {
            return Err(malformed(format!(
                "ACE {index} of the {what} claims {ace_size} bytes, which does not fit the ACL"
            )));
        };
        let ace = read_ace(ace_bytes).map_err(|why| malformed(format!("ACE {index} of the {what}: {why}")))?;
        aces.push(ace);
        pos += ace_size;
    }
    Ok(Some(Acl { revision: acl[0], aces }))
}

fn read_ace(ace: &[u8]) -> Result<Ace, &'static str> {
    let (ace_type, flags) = (ace[0], ace[1]);
    let body = &ace[ACE_HEADER_LEN..];
    let mask = u32_at(body, 0).ok_or("too short for an access mask")?;
    let mut pos = 4;
    let (mut object_type, mut inherited_object_type) = (None, None);
    if ace_type::has_object_part(ace_type) {
        let object_flags = u32_at(body, pos).ok_or("object ACE too short for its object flags")?;
        pos += 4;
        if object_flags & 1 != 0 {
            object_type = Some(guid_at(body, pos).ok_or("object type GUID is cut off")?);
            pos += 16;
        }
        if object_flags & 2 != 0 {
            inherited_object_type = Some(guid_at(body, pos).ok_or("inherited object type GUID is cut off")?);
            pos += 16;
        }
    }
    let rest = body.get(pos..).unwrap_or_default();
    let (sid, used) = Sid::from_bytes(rest).map_err(|_| "the trustee SID is truncated or malformed")?;
    Ok(Ace { ace_type, flags, mask, object_type, inherited_object_type, sid, trailing: rest[used..].to_vec() })
}

// ---------------------------------------------------------------------------------------------
// SDDL, as Samba 4.17's sddl_encode() writes it (libcli/security/sddl.c). The tables keep
// Samba's order because the order decides the output: flags print in table order, and a table
// entry that equals the whole value wins over the bit-by-bit spelling.

/// Samba 4.17's ace_types table, in its order. It is used like a flag table, so types that
/// have no entry of their own come out as odd concatenations (9, a callback ACE, is "ALOL").
const SDDL_ACE_TYPES: &[(&str, u32)] =
    &[("AU", 2), ("AL", 3), ("OA", 5), ("OD", 6), ("OU", 7), ("OL", 8), ("A", 0), ("D", 1)];

const SDDL_ACE_FLAGS: &[(&str, u32)] =
    &[("OI", 0x01), ("CI", 0x02), ("NP", 0x04), ("IO", 0x08), ("ID", 0x10), ("SA", 0x40), ("FA", 0x80)];

const SDDL_RIGHTS: &[(&str, u32)] = &[
    ("RP", rights::READ_PROPERTY),
    ("WP", rights::WRITE_PROPERTY),
    ("CR", rights::CONTROL_ACCESS),
    ("CC", rights::CREATE_CHILD),
    ("DC", rights::DELETE_CHILD),
    ("LC", rights::LIST_CHILDREN),
    ("LO", rights::LIST_OBJECT),
    ("RC", rights::READ_CONTROL),
    ("WO", rights::WRITE_OWNER),
    ("WD", rights::WRITE_DAC),
    ("SD", rights::DELETE),
    ("DT", rights::DELETE_TREE),
    ("SW", rights::SELF_WRITE),
    ("GA", rights::GENERIC_ALL),
    ("GR", rights::GENERIC_READ),
    ("GW", rights::GENERIC_WRITE),
    ("GX", rights::GENERIC_EXECUTE),
];

/// ACL flags, tested against the control word (shifted right by one for the SACL).
const SDDL_ACL_FLAGS: &[(&str, u32)] = &[("P", 0x1000), ("AR", 0x0100), ("AI", 0x0400)];

/// Samba 4.17's well-known SIDs, compared as strings.
const SDDL_WELL_KNOWN_SIDS: &[(&str, &str)] = &[
    ("WD", "S-1-1-0"),
    ("CO", "S-1-3-0"),
    ("CG", "S-1-3-1"),
    ("OW", "S-1-3-4"),
    ("NU", "S-1-5-2"),
    ("IU", "S-1-5-4"),
    ("SU", "S-1-5-6"),
    ("AN", "S-1-5-7"),
    ("ED", "S-1-5-9"),
    ("PS", "S-1-5-10"),
    ("AU", "S-1-5-11"),
    ("RC", "S-1-5-12"),
    ("SY", "S-1-5-18"),
    ("LS", "S-1-5-19"),
    ("NS", "S-1-5-20"),
    ("WR", "S-1-5-33"),
    ("BA", "S-1-5-32-544"),
    ("BU", "S-1-5-32-545"),
    ("BG", "S-1-5-32-546"),
    ("PU", "S-1-5-32-547"),
    ("AO", "S-1-5-32-548"),
    ("SO", "S-1-5-32-549"),
    ("PO", "S-1-5-32-550"),
    ("BO", "S-1-5-32-551"),
    ("RE", "S-1-5-32-552"),
    ("RU", "S-1-5-32-554"),
    ("RD", "S-1-5-32-555"),
    ("NO", "S-1-5-32-556"),
    ("MU", "S-1-5-32-558"),
    ("LU", "S-1-5-32-559"),
    ("IS", "S-1-5-32-568"),
    ("CY", "S-1-5-32-569"),
    ("ER", "S-1-5-32-573"),
    ("CD", "S-1-5-32-574"),
    ("RA", "S-1-5-32-575"),
    ("ES", "S-1-5-32-576"),
    ("MS", "S-1-5-32-577"),
    ("HA", "S-1-5-32-578"),
    ("AA", "S-1-5-32-579"),
    ("RM", "S-1-5-32-580"),
    ("UD", "S-1-5-84-0-0-0-0-0"),
    ("AC", "S-1-15-2-1"),
    ("LW", "S-1-16-4096"),
    ("ME", "S-1-16-8192"),
    ("MP", "S-1-16-8448"),
    ("HI", "S-1-16-12288"),
    ("SI", "S-1-16-16384"),
    ("AS", "S-1-18-1"),
    ("SS", "S-1-18-2"),
];

/// Codes for RIDs of the domain passed to as_sddl(). Samba has separate machine, domain and
/// forest tables but fills all three with the one domain SID, so they behave as one.
const SDDL_DOMAIN_RIDS: &[(&str, u32)] = &[
    ("RO", 498),
    ("LA", 500),
    ("LG", 501),
    ("DA", 512),
    ("DU", 513),
    ("DG", 514),
    ("DC", 515),
    ("DD", 516),
    ("CA", 517),
    ("SA", 518),
    ("EA", 519),
    ("PA", 520),
    ("CN", 522),
    ("AP", 525),
    ("KA", 526),
    ("EK", 527),
    ("RS", 553),
];

/// Samba's sddl_flags_to_string(): an entry equal to the whole value wins; otherwise names of
/// the entries whose bits are set, in table order. With `check_all`, leftover bits are a failure.
fn sddl_flags(map: &[(&str, u32)], value: u32, check_all: bool) -> Option<String> {
    if let Some((name, _)) = map.iter().find(|(_, bits)| *bits == value) {
        return Some((*name).to_string());
    }
    let mut left = value;
    let mut out = String::new();
    for (name, bits) in map {
        if left & bits != 0 {
            out.push_str(name);
            left &= !bits;
        }
    }
    (!check_all || left == 0).then_some(out)
}

/// Samba's dom_sid_string(): like Windows, except that authorities from 2^32 - 1 up are
/// printed as unpadded lower-case hex.
fn samba_sid_string(sid: &Sid) -> String {
    let mut out = format!("S-{}-", sid.revision);
    if sid.authority >= u64::from(u32::MAX) {
        let _ = write!(out, "0x{:x}", sid.authority);
    } else {
        let _ = write!(out, "{}", sid.authority);
    }
    for sub in &sid.sub_authorities {
        let _ = write!(out, "-{sub}");
    }
    out
}

fn sddl_sid(sid: &Sid, domain_sid: Option<&Sid>) -> String {
    let text = samba_sid_string(sid);
    if let Some((code, _)) = SDDL_WELL_KNOWN_SIDS.iter().find(|(_, s)| *s == text) {
        return (*code).to_string();
    }
    // dom_sid_in_domain() wants at least two sub-authorities on the SID itself.
    if let Some(domain) = domain_sid
        && sid.sub_authorities.len() >= 2
        && sid.is_in_domain(domain)
        && let Some(rid) = sid.rid()
        && let Some((code, _)) = SDDL_DOMAIN_RIDS.iter().find(|(_, r)| *r == rid)
    {
        return (*code).to_string();
    }
    text
}

fn write_sddl_ace(out: &mut String, ace: &Ace, domain_sid: Option<&Sid>) {
    // Where Samba gives up (an ACE type or flag it has no letters for) it returns no SDDL at
    // all; we print that field in hex instead so the rest stays readable.
    let ace_type =
        sddl_flags(SDDL_ACE_TYPES, ace.ace_type.into(), true).unwrap_or_else(|| format!("0x{:02x}", ace.ace_type));
    let flags = sddl_flags(SDDL_ACE_FLAGS, ace.flags.into(), true).unwrap_or_else(|| format!("0x{:02x}", ace.flags));
    let mask = sddl_flags(SDDL_RIGHTS, ace.mask, true).unwrap_or_else(|| format!("0x{:08x}", ace.mask));
    // Samba 4.17 prints GUIDs only for the four plain object types, not the callback ones.
    let (object, inherited) =
        if (ace_type::ACCESS_ALLOWED_OBJECT..=ace_type::SYSTEM_ALARM_OBJECT).contains(&ace.ace_type) {
            let guid = |g: Option<Uuid>| g.map(|g| g.hyphenated().to_string()).unwrap_or_default();
            (guid(ace.object_type), guid(ace.inherited_object_type))
        } else {
            (String::new(), String::new())
        };
    let trustee = sddl_sid(&ace.sid, domain_sid);
    let _ = write!(out, "({ace_type};{flags};{mask};{object};{inherited};{trustee})");
}

fn write_sddl_acl(out: &mut String, acl: &Acl, acl_flags: u32, domain_sid: Option<&Sid>) {
    out.push_str(&sddl_flags(SDDL_ACL_FLAGS, acl_flags, false).unwrap_or_default());
    for ace in &acl.aces {
        write_sddl_ace(out, ace, domain_sid);
    }
}

impl SecurityDescriptor {
    /// SDDL as Samba's `security.descriptor.as_sddl(domain_sid)` prints it: domain-relative
    /// codes (DA, EA, ...) only when `domain_sid` is given, rights in Samba's letter order,
    /// anything it has no letters for as `0x%08x`, lower-case GUIDs. A DACL or SACL is
    /// printed only when its PRESENT bit is set and it has an offset (a NULL DACL prints nothing).
    pub fn to_sddl(&self, domain_sid: Option<&Sid>) -> String {
        let mut out = String::new();
        if let Some(owner) = &self.owner {
            out.push_str("O:");
            out.push_str(&sddl_sid(owner, domain_sid));
        }
        if let Some(group) = &self.group {
            out.push_str("G:");
            out.push_str(&sddl_sid(group, domain_sid));
        }
        let control = u32::from(self.control);
        if let Some(dacl) = self.dacl.as_ref().filter(|_| self.control & control::DACL_PRESENT != 0) {
            out.push_str("D:");
            write_sddl_acl(&mut out, dacl, control, domain_sid);
        }
        if let Some(sacl) = self.sacl.as_ref().filter(|_| self.control & control::SACL_PRESENT != 0) {
            out.push_str("S:");
            // The SACL_* control bits sit one place left of their DACL_* twins.
            write_sddl_acl(&mut out, sacl, control >> 1, domain_sid);
        }
        out
    }

    /// Distinct SIDs named by the owner, the group and the DACL, in order of first appearance:
    /// the accounts a migration table has to map.
    pub fn principals(&self) -> Vec<Sid> {
        let dacl_sids = self.dacl.iter().flat_map(|acl| acl.aces.iter().map(|ace| &ace.sid));
        let mut out: Vec<Sid> = Vec::new();
        for sid in self.owner.iter().chain(self.group.iter()).chain(dacl_sids) {
            if !out.contains(sid) {
                out.push(sid.clone());
            }
        }
        out
    }

    pub fn is_dacl_protected(&self) -> bool {
        self.control & control::DACL_PROTECTED != 0
    }
}

// ---------------------------------------------------------------------------------------------
// GPMC's view of a GPO's DACL

/// The permission groupings GPMC shows on a GPO's Delegation tab and writes to gpreport.xml
/// as `GPOGroupedAccessEnum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GpoAccess {
    /// Read plus the Apply Group Policy right: the trustee is in the GPO's security filtering.
    ApplyGroupPolicy,
    Read,
    EditSettings,
    EditDeleteModifySecurity,
    /// Anything that is not exactly one of the groupings above.
    Custom,
}

impl GpoAccess {
    /// The value gpreport.xml writes in `<GPOGroupedAccessEnum>`.
    pub fn report_name(self) -> &'static str {
        match self {
            GpoAccess::ApplyGroupPolicy => "Apply Group Policy",
            GpoAccess::Read => "Read",
            GpoAccess::EditSettings => "Edit settings",
            GpoAccess::EditDeleteModifySecurity => "Edit, delete, modify security",
            GpoAccess::Custom => "Custom",
        }
    }

    /// The wording of GPMC's Delegation tab.
    pub fn delegation_name(self) -> &'static str {
        match self {
            GpoAccess::ApplyGroupPolicy => "Read (from Security Filtering)",
            GpoAccess::Read => "Read",
            GpoAccess::EditSettings => "Edit settings",
            GpoAccess::EditDeleteModifySecurity => "Edit settings, delete, modify security",
            GpoAccess::Custom => "Custom",
        }
    }
}

impl fmt::Display for GpoAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.delegation_name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PermissionType {
    Allow,
    Deny,
}

impl PermissionType {
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionType::Allow => "Allow",
            PermissionType::Deny => "Deny",
        }
    }
}

/// gpreport.xml's `<Applicability>`: where the trustee's ACEs take effect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicability {
    pub to_self: bool,
    pub to_descendant_objects: bool,
    pub to_descendant_containers: bool,
    pub to_direct_descendants_only: bool,
}

impl Applicability {
    /// What GPMC shows for every ACE on a GPO container it created.
    pub const GPO_CONTAINER: Applicability = Applicability {
        to_self: true,
        to_descendant_objects: false,
        to_descendant_containers: true,
        to_direct_descendants_only: false,
    };
}

/// One `<TrusteePermissions>` entry of gpreport.xml: a trustee's ACEs on the GPO, grouped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrusteePermission {
    pub trustee: Sid,
    pub permission_type: PermissionType,
    pub inherited: bool,
    pub applicability: Applicability,
    pub access: GpoAccess,
    /// What gpreport.xml writes as `<AccessMask>`: 0 for the standard groupings, the combined
    /// mask for Custom.
    pub access_mask: u32,
}

impl SecurityDescriptor {
    /// The DACL as GPMC's Delegation tab and gpreport.xml's TrusteePermissions show it: one entry
    /// per trustee, allow/deny and inherited-or-not, in order of first appearance. Inherit-only
    /// ACEs (CREATOR OWNER's, for one) do not act on the GPO and are left out, as GPMC does.
    pub fn gpo_delegation(&self) -> Vec<TrusteePermission> {
        struct Group<'a> {
            trustee: &'a Sid,
            permission_type: PermissionType,
            inherited: bool,
            aces: Vec<&'a Ace>,
        }
        let mut groups: Vec<Group> = Vec::new();
        let aces = self.dacl.iter().flat_map(|acl| acl.aces.iter());
        for ace in aces.filter(|ace| ace.applies_to_object()) {
            let permission_type = if ace.is_allow() {
                PermissionType::Allow
            } else if ace.is_deny() {
                PermissionType::Deny
            } else {
                continue;
            };
            let key = (&ace.sid, permission_type, ace.is_inherited());
            match groups.iter_mut().find(|g| (g.trustee, g.permission_type, g.inherited) == key) {
                Some(group) => group.aces.push(ace),
                None => groups.push(Group { trustee: &ace.sid, permission_type, inherited: key.2, aces: vec![ace] }),
            }
        }
        groups
            .into_iter()
            .map(|group| {
                let (access, access_mask) = classify_gpo_access(&group.aces, group.permission_type);
                let any = |flag: u8| group.aces.iter().any(|ace| ace.flags & flag != 0);
                TrusteePermission {
                    trustee: group.trustee.clone(),
                    permission_type: group.permission_type,
                    inherited: group.inherited,
                    applicability: Applicability {
                        to_self: true,
                        to_descendant_objects: any(ace_flags::OBJECT_INHERIT),
                        to_descendant_containers: any(ace_flags::CONTAINER_INHERIT),
                        to_direct_descendants_only: any(ace_flags::NO_PROPAGATE_INHERIT),
                    },
                    access,
                    access_mask,
                }
            })
            .collect()
    }
}

/// Matches one trustee's ACEs against GPMC's groupings. GPMC writes "Edit settings, delete,
/// modify security" with delete-tree included (the fixtures' 0xF00FF) while documenting it
/// without, so both count. A control-access bit without a GUID grants every extended right,
/// Apply Group Policy included, which is why GPMC leaves it out of the admin groupings.
///
/// List Object does not count either way: GPMC shows "Read" (or "Apply Group Policy" with the
/// Apply right) for `LCRPRC` (0x20014) as for `LCRPLORC` (0x20094). The technology-toolbox-fr
/// sample has both side by side (Authenticated Users and Domain Computers without it, Enterprise
/// Domain Controllers with it; its gpreport.xml says Read for all three). List Object only acts
/// in a forest with the List Object mode on (dSHeuristics), and GPOs made by older GPMC
/// versions lack it. No description of GPMC's own rule was found (Microsoft documents the
/// groupings only in words: "corresponds to the READ Group Policy access right"), so this is
/// the rule all sixteen real reports agree with.
fn classify_gpo_access(aces: &[&Ace], permission_type: PermissionType) -> (GpoAccess, u32) {
    let mut mask = 0u32;
    let mut apply = false;
    let mut other_object_rights = false;
    for ace in aces {
        match ace.object_type {
            None => mask |= ace.mask,
            Some(guid) if guid == APPLY_GROUP_POLICY && ace.mask == rights::CONTROL_ACCESS => apply = true,
            Some(_) => other_object_rights = true,
        }
    }
    if mask & rights::CONTROL_ACCESS != 0 {
        apply = true;
    }
    let ignored = rights::CONTROL_ACCESS | rights::LIST_OBJECT;
    let base = mask & !ignored;
    let grouping = |rights: u32| rights & !ignored;
    let access = match (permission_type, base, apply) {
        _ if other_object_rights => GpoAccess::Custom,
        (PermissionType::Deny, 0, true) => GpoAccess::ApplyGroupPolicy,
        (PermissionType::Deny, _, _) => GpoAccess::Custom,
        (_, m, true) if m == grouping(rights::GPO_READ) => GpoAccess::ApplyGroupPolicy,
        (_, m, false) if m == grouping(rights::GPO_READ) => GpoAccess::Read,
        (_, m, false) if m == grouping(rights::GPO_EDIT) => GpoAccess::EditSettings,
        (_, m, false)
            if m == grouping(rights::GPO_EDIT_DELETE_MODIFY_SECURITY)
                || m == grouping(rights::GPO_EDIT_DELETE_MODIFY_SECURITY | rights::DELETE_TREE) =>
        {
            GpoAccess::EditDeleteModifySecurity
        }
        _ => GpoAccess::Custom,
    };
    (access, if access == GpoAccess::Custom { mask } else { 0 })
}

// ---------------------------------------------------------------------------------------------
// One readable line per ACE

/// An ACE spelled out for people (`gpvault gpo show`); `Display` gives the one-line form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AceDescription {
    /// "Allow", "Deny", "Audit", "Alarm" or the type number.
    pub kind: String,
    pub trustee: Sid,
    /// The account name the caller resolved, e.g. `CORP\Domain Admins`.
    pub trustee_name: Option<String>,
    pub rights: String,
    /// "this object only", "this object and descendants", ...
    pub applies_to: String,
    pub inherited: bool,
}

impl fmt::Display for AceDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<5}  ", self.kind)?;
        match &self.trustee_name {
            Some(name) => write!(f, "{name} ({})", self.trustee)?,
            None => write!(f, "{}", self.trustee)?,
        }
        write!(f, "  {}  [{}]", self.rights, self.applies_to)?;
        if self.inherited {
            f.write_str("  [inherited]")?;
        }
        Ok(())
    }
}

const RIGHT_NAMES: &[(u32, &str)] = &[
    (rights::READ_PROPERTY, "read property"),
    (rights::WRITE_PROPERTY, "write property"),
    (rights::CONTROL_ACCESS, "control access"),
    (rights::CREATE_CHILD, "create child"),
    (rights::DELETE_CHILD, "delete child"),
    (rights::LIST_CHILDREN, "list contents"),
    (rights::LIST_OBJECT, "list object"),
    (rights::READ_CONTROL, "read permissions"),
    (rights::WRITE_OWNER, "modify owner"),
    (rights::WRITE_DAC, "modify permissions"),
    (rights::DELETE, "delete"),
    (rights::DELETE_TREE, "delete subtree"),
    (rights::SELF_WRITE, "validated write"),
    (rights::GENERIC_ALL, "generic all"),
    (rights::GENERIC_READ, "generic read"),
    (rights::GENERIC_WRITE, "generic write"),
    (rights::GENERIC_EXECUTE, "generic execute"),
];

fn describe_rights(ace: &Ace) -> String {
    if ace.object_type == Some(APPLY_GROUP_POLICY) && ace.mask == rights::CONTROL_ACCESS {
        return "Apply Group Policy".to_string();
    }
    let mut text = match ace.mask {
        _ if ace.object_type.is_some() => String::new(),
        rights::FULL_CONTROL => "Full control".to_string(),
        m if m == rights::GPO_EDIT_DELETE_MODIFY_SECURITY | rights::DELETE_TREE
            || m == rights::GPO_EDIT_DELETE_MODIFY_SECURITY =>
        {
            GpoAccess::EditDeleteModifySecurity.delegation_name().to_string()
        }
        rights::GPO_EDIT => GpoAccess::EditSettings.delegation_name().to_string(),
        rights::GPO_READ => GpoAccess::Read.delegation_name().to_string(),
        _ => String::new(),
    };
    if text.is_empty() {
        let mut left = ace.mask;
        let mut names = Vec::new();
        for (bits, name) in RIGHT_NAMES {
            if left & bits != 0 {
                names.push(*name);
                left &= !bits;
            }
        }
        if left != 0 {
            names.push("other rights");
        }
        text = if names.is_empty() { "no rights".to_string() } else { names.join(", ") };
        text = format!("{}{}", text[..1].to_uppercase(), &text[1..]);
        if let Some(guid) = ace.object_type {
            let _ = write!(text, " on {guid}");
        }
    }
    if let Some(guid) = ace.inherited_object_type {
        let _ = write!(text, " (for objects of class {guid})");
    }
    text
}

fn describe_scope(flags: u8) -> &'static str {
    let on_self = flags & ace_flags::INHERIT_ONLY == 0;
    let inheritable = flags & (ace_flags::CONTAINER_INHERIT | ace_flags::OBJECT_INHERIT) != 0;
    let one_level = flags & ace_flags::NO_PROPAGATE_INHERIT != 0;
    match (on_self, inheritable, one_level) {
        (true, false, _) => "this object only",
        (true, true, false) => "this object and descendants",
        (true, true, true) => "this object and its children",
        (false, true, false) => "descendants only",
        (false, true, true) => "children only",
        (false, false, _) => "nothing (inherit-only, not inheritable)",
    }
}

fn describe_kind(ace: &Ace) -> String {
    let audit = |what: &str| {
        let success = ace.flags & ace_flags::SUCCESSFUL_ACCESS != 0;
        let failure = ace.flags & ace_flags::FAILED_ACCESS != 0;
        match (success, failure) {
            (true, true) => format!("{what} success+failure"),
            (true, false) => format!("{what} success"),
            (false, true) => format!("{what} failure"),
            (false, false) => what.to_string(),
        }
    };
    match ace.ace_type {
        _ if ace.is_allow() => "Allow".to_string(),
        _ if ace.is_deny() => "Deny".to_string(),
        ace_type::SYSTEM_AUDIT | ace_type::SYSTEM_AUDIT_OBJECT => audit("Audit"),
        ace_type::SYSTEM_AUDIT_CALLBACK | ace_type::SYSTEM_AUDIT_CALLBACK_OBJECT => audit("Audit"),
        ace_type::SYSTEM_ALARM | ace_type::SYSTEM_ALARM_OBJECT => audit("Alarm"),
        other => format!("Type 0x{other:02x}"),
    }
}

impl SecurityDescriptor {
    /// One description per ACE of the DACL, then of the SACL. `resolve` turns a SID into an
    /// account name where the caller knows one (from the directory, or a backup's names).
    pub fn describe_aces(&self, resolve: &dyn Fn(&Sid) -> Option<String>) -> Vec<AceDescription> {
        self.dacl
            .iter()
            .chain(self.sacl.iter())
            .flat_map(|acl| acl.aces.iter())
            .map(|ace| AceDescription {
                kind: describe_kind(ace),
                trustee: ace.sid.clone(),
                trustee_name: resolve(&ace.sid),
                rights: describe_rights(ace),
                applies_to: describe_scope(ace.flags).to_string(),
                inherited: ace.is_inherited(),
            })
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::{Path, PathBuf};

    /// label, domain SID, hex, Samba's as_sddl(), Samba's as_sddl(domain); made by
    /// scripts/sddl_expected.py with Samba 4.17.
    const GOLDEN: &str = include_str!("testdata/sddl_golden.tsv");

    struct Golden<'a> {
        label: &'a str,
        domain: Sid,
        bytes: Vec<u8>,
        plain: &'a str,
        with_domain: &'a str,
    }

    fn golden() -> Vec<Golden<'static>> {
        GOLDEN
            .lines()
            .filter(|line| !line.is_empty())
            .map(|line| {
                let cols: Vec<&str> = line.split('\t').collect();
                assert_eq!(cols.len(), 5, "golden line has {} columns: {line}", cols.len());
                Golden {
                    label: cols[0],
                    domain: cols[1].parse().unwrap(),
                    bytes: hex::decode(cols[2]).unwrap(),
                    plain: cols[3],
                    with_domain: cols[4],
                }
            })
            .collect()
    }

    fn sid(text: &str) -> Sid {
        text.parse().unwrap()
    }

    #[test]
    fn sddl_matches_samba_for_every_golden_descriptor() {
        let cases = golden();
        assert!(cases.len() > 100, "golden file has only {} descriptors", cases.len());
        let mut failures = Vec::new();
        for case in &cases {
            let sd = match SecurityDescriptor::from_bytes(&case.bytes) {
                Ok(sd) => sd,
                Err(e) => {
                    failures.push(format!("{}: {e}", case.label));
                    continue;
                }
            };
            assert_eq!(sd.to_bytes(), &case.bytes[..], "{}: raw bytes must be kept", case.label);
            let plain = sd.to_sddl(None);
            if plain != case.plain {
                failures.push(format!("{}\n  samba: {}\n  ours:  {plain}", case.label, case.plain));
            }
            let with_domain = sd.to_sddl(Some(&case.domain));
            if with_domain != case.with_domain {
                failures
                    .push(format!("{} (domain)\n  samba: {}\n  ours:  {with_domain}", case.label, case.with_domain));
            }
        }
        assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    }

    #[test]
    fn golden_set_covers_the_cases_that_matter() {
        let cases = golden();
        let has = |pred: &dyn Fn(&SecurityDescriptor) -> bool| {
            cases.iter().any(|c| pred(&SecurityDescriptor::from_bytes(&c.bytes).unwrap()))
        };
        let aces = |sd: &SecurityDescriptor| -> Vec<Ace> {
            sd.dacl.iter().chain(sd.sacl.iter()).flat_map(|a| a.aces.clone()).collect()
        };
        assert!(has(&|sd| aces(sd).iter().any(|a| a.object_type.is_some() && a.inherited_object_type.is_some())));
        assert!(has(&|sd| aces(sd).iter().any(|a| a.is_inherited())));
        assert!(has(&|sd| sd.owner.is_none() && sd.dacl.is_some()));
        assert!(has(&|sd| sd.sacl.is_none() && sd.owner.is_some()));
        assert!(has(&|sd| sd.sacl.is_some()));
        assert!(has(&|sd| aces(sd).iter().any(|a| !a.trailing.is_empty())));
        assert_eq!(cases.iter().filter(|c| c.label.starts_with("fixture:")).count(), 14);
        assert!(cases.iter().filter(|c| c.label.starts_with("samba dc:")).count() >= 10);
    }

    // --- the GPMC fixtures ---------------------------------------------------------------

    fn fixture_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpmc")
    }

    fn backup_xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                backup_xml_files(&path, out);
            } else if path.file_name().is_some_and(|n| n == "Backup.xml") {
                out.push(path);
            }
        }
    }

    /// The text of the first `<name ...>text</name>` in `xml`.
    fn tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
        let open = format!("<{name}");
        let mut from = 0;
        while let Some(found) = xml[from..].find(&open) {
            let start = from + found + open.len();
            let rest = &xml[start..];
            if rest.starts_with('>') || rest.starts_with(' ') {
                let body = &rest[rest.find('>')? + 1..];
                return Some(&body[..body.find(&format!("</{name}>"))?]);
            }
            from = start;
        }
        None
    }

    /// gpreport.xml as GPMC writes it (UTF-16LE), or re-encoded to UTF-8 by a project's git settings.
    fn read_utf16(path: &Path) -> String {
        let bytes = std::fs::read(path).unwrap();
        if !bytes.starts_with(&[0xFF, 0xFE]) {
            return String::from_utf8(bytes).unwrap().trim_start_matches('\u{feff}').to_string();
        }
        let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units).trim_start_matches('\u{feff}').to_string()
    }

    fn fixture_descriptors() -> Vec<(PathBuf, SecurityDescriptor)> {
        let mut files = Vec::new();
        backup_xml_files(&fixture_root(), &mut files);
        assert_eq!(files.len(), 16);
        files.sort();
        files
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).unwrap();
                let hex_text: String = tag(&text, "SecurityDescriptor").unwrap().split_whitespace().collect();
                let sd = SecurityDescriptor::from_bytes(&hex::decode(hex_text).unwrap())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                (path, sd)
            })
            .collect()
    }

    #[test]
    fn parses_all_gpmc_fixture_descriptors() {
        let fixtures = fixture_descriptors();
        assert_eq!(fixtures.len(), 16);
        for (path, sd) in &fixtures {
            // GPMC backs up the DACL only.
            assert_eq!(sd.control, 0x9c04, "{}", path.display());
            assert!(sd.owner.is_none() && sd.group.is_none() && sd.sacl.is_none(), "{}", path.display());
            let dacl = sd.dacl.as_ref().unwrap();
            assert_eq!(dacl.revision, 4);
            // The Apply Group Policy object ACE comes first, as GPMC writes a GPO's DACL.
            let apply = &dacl.aces[0];
            assert_eq!(apply.ace_type, ace_type::ACCESS_ALLOWED_OBJECT);
            assert_eq!(apply.object_type, Some(APPLY_GROUP_POLICY));
            // It is the DACL the report of the same run shows (Windows spells the rights in
            // another order than Samba and gpvault, so the ACEs are counted, not compared).
            let gpreport = read_utf16(&path.with_file_name("gpreport.xml"));
            let report_sddl = tag(&gpreport, "SDDL").unwrap();
            let report_dacl = report_sddl.split("D:").nth(1).unwrap().split("S:").next().unwrap();
            assert_eq!(dacl.aces.len(), report_dacl.matches('(').count(), "{}", path.display());
            assert_eq!(sd.to_sddl(None).matches('(').count(), dacl.aces.len());
        }
    }

    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct ReportEntry {
        sid: String,
        permission_type: String,
        inherited: bool,
        applicability: [bool; 4],
        access: String,
        access_mask: u32,
    }

    fn report_entries(gpreport: &str) -> Vec<ReportEntry> {
        let permissions = tag(gpreport, "Permissions").expect("gpreport has Permissions");
        let mut out: Vec<ReportEntry> = permissions
            .split("<TrusteePermissions>")
            .skip(1)
            .map(|entry| {
                let flag = |name: &str| tag(entry, name) == Some("true");
                ReportEntry {
                    sid: tag(entry, "SID").unwrap().to_string(),
                    permission_type: tag(entry, "PermissionType").unwrap().to_string(),
                    inherited: flag("Inherited"),
                    applicability: [
                        flag("ToSelf"),
                        flag("ToDescendantObjects"),
                        flag("ToDescendantContainers"),
                        flag("ToDirectDescendantsOnly"),
                    ],
                    access: tag(entry, "GPOGroupedAccessEnum").unwrap().to_string(),
                    access_mask: tag(entry, "AccessMask").unwrap().parse().unwrap(),
                }
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn gpo_delegation_matches_gpmc_reports() {
        for (path, sd) in fixture_descriptors() {
            let gpreport = read_utf16(&path.with_file_name("gpreport.xml"));
            let expected = report_entries(&gpreport);
            assert!(!expected.is_empty());
            let mut ours: Vec<ReportEntry> = sd
                .gpo_delegation()
                .into_iter()
                .map(|p| ReportEntry {
                    sid: p.trustee.to_string(),
                    permission_type: p.permission_type.as_str().to_string(),
                    inherited: p.inherited,
                    applicability: [
                        p.applicability.to_self,
                        p.applicability.to_descendant_objects,
                        p.applicability.to_descendant_containers,
                        p.applicability.to_direct_descendants_only,
                    ],
                    access: p.access.report_name().to_string(),
                    access_mask: p.access_mask,
                })
                .collect();
            ours.sort();
            assert_eq!(ours, expected, "{}", path.display());
        }
    }

    fn golden_sd(label_start: &str) -> SecurityDescriptor {
        let case = golden().into_iter().find(|c| c.label.starts_with(label_start)).unwrap();
        SecurityDescriptor::from_bytes(&case.bytes).unwrap()
    }

    #[test]
    fn gpo_delegation_of_filtered_and_delegated_gpos() {
        let domain = "S-1-5-21-1004336348-1177238915-682003330";
        let summary = |sd: &SecurityDescriptor| -> Vec<String> {
            sd.gpo_delegation()
                .iter()
                .map(|p| {
                    let who = p.trustee.to_string().replace(domain, "D");
                    format!("{who} {} {} {:#x}", p.permission_type.as_str(), p.access.report_name(), p.access_mask)
                })
                .collect()
        };
        // Security filtering moved from Authenticated Users to group 1105; computer 1106 denied.
        let filtered = golden_sd("samba dc: CN={AAAAAAAA");
        assert_eq!(
            summary(&filtered),
            [
                "D-1105 Allow Apply Group Policy 0x0",
                "S-1-5-11 Allow Read 0x0",
                "D-512 Allow Edit, delete, modify security 0x0",
                "D-519 Allow Edit, delete, modify security 0x0",
                "S-1-5-18 Allow Edit, delete, modify security 0x0",
                "S-1-5-9 Allow Read 0x0",
                "D-1106 Deny Apply Group Policy 0x0",
            ]
        );
        let delegated = golden_sd("samba dc: CN={BBBBBBBB");
        assert_eq!(
            summary(&delegated),
            [
                "S-1-5-11 Allow Apply Group Policy 0x0",
                "D-1107 Allow Edit settings 0x0",
                "D-1108 Allow Edit, delete, modify security 0x0",
                "D-1109 Allow Custom 0x200b4",
                "D-512 Allow Edit, delete, modify security 0x0",
                "S-1-5-18 Allow Edit, delete, modify security 0x0",
                "S-1-5-9 Allow Read 0x0",
            ]
        );
        // A GPO's User container inherits from it: inherited entries are their own rows, and
        // full control (which includes every extended right, Apply among them) is Custom.
        let user = golden_sd("samba dc: CN=User,CN={31B2F340");
        let rows = user.gpo_delegation();
        assert!(rows.iter().any(|p| p.inherited && p.access == GpoAccess::ApplyGroupPolicy));
        assert!(
            rows.iter().any(|p| !p.inherited && p.access == GpoAccess::Custom && p.access_mask == rights::FULL_CONTROL)
        );
    }

    #[test]
    fn gpo_delegation_of_the_lab_gpos() {
        let domain = "S-1-5-21-4258998548-416389724-1716943296";
        let rows = |label: &str| -> Vec<String> {
            golden_sd(label)
                .gpo_delegation()
                .iter()
                .filter(|p| p.trustee.to_string().starts_with(&format!("{domain}-11")) || p.trustee == sid("S-1-5-11"))
                .map(|p| {
                    let who = p.trustee.to_string().replace(domain, "D");
                    format!("{who} {} {} {:#x}", p.permission_type.as_str(), p.access.report_name(), p.access_mask)
                })
                .collect()
        };
        assert_eq!(
            rows("lab dc: Delegated to Helpdesk"),
            ["D-1109 Allow Edit settings 0x0", "D-1108 Allow Custom 0xf01ff", "S-1-5-11 Allow Apply Group Policy 0x0"]
        );
        assert_eq!(
            rows("lab dc: Finance Drive Maps"),
            ["D-1110 Allow Apply Group Policy 0x0", "S-1-5-11 Allow Read 0x0"]
        );
        assert_eq!(
            rows("lab dc: Workstation Baseline"),
            [
                "D-1111 Deny Apply Group Policy 0x0",
                "D-1108 Allow Custom 0xf01ff",
                "S-1-5-11 Allow Apply Group Policy 0x0"
            ]
        );
    }

    #[test]
    fn principals_in_order_of_first_appearance() {
        let sd = golden_sd("samba dc: CN={AAAAAAAA");
        let domain = "S-1-5-21-1004336348-1177238915-682003330";
        let got: Vec<String> = sd.principals().iter().map(|s| s.to_string().replace(domain, "D")).collect();
        assert_eq!(got, ["D-512", "D-1105", "S-1-5-11", "D-519", "S-1-3-0", "S-1-5-18", "S-1-5-9", "D-1106"]);
    }

    #[test]
    fn describes_each_ace_on_one_line() {
        let sd = golden_sd("sddl 0:");
        let names = |s: &Sid| match s.to_string().as_str() {
            "S-1-5-11" => Some("NT AUTHORITY\\Authenticated Users".to_string()),
            "S-1-5-21-1004336348-1177238915-682003330-512" => Some("CORP\\Domain Admins".to_string()),
            _ => None,
        };
        let lines: Vec<String> = sd.describe_aces(&names).iter().map(|d| d.to_string()).collect();
        assert_eq!(
            lines,
            [
                "Allow  NT AUTHORITY\\Authenticated Users (S-1-5-11)  Apply Group Policy  [this object and descendants]",
                "Allow  CORP\\Domain Admins (S-1-5-21-1004336348-1177238915-682003330-512)  \
                 Edit settings, delete, modify security  [this object and descendants]",
                "Allow  S-1-3-0  Edit settings, delete, modify security  [descendants only]",
                "Allow  S-1-5-9  Read  [this object only]",
                "Audit success  S-1-1-0  Write property, modify permissions (for objects of class \
                 f30e3bc2-9ff0-11d1-b603-0000f80367c1)  [this object and descendants]  [inherited]",
            ]
        );
    }

    // --- malformed input -----------------------------------------------------------------

    /// A small valid SD to break: owner, group, DACL with one ACE.
    fn sample() -> Vec<u8> {
        let ace = Ace {
            ace_type: ace_type::ACCESS_ALLOWED_OBJECT,
            flags: ace_flags::CONTAINER_INHERIT,
            mask: rights::CONTROL_ACCESS,
            object_type: Some(APPLY_GROUP_POLICY),
            inherited_object_type: None,
            sid: sid("S-1-5-11"),
            trailing: Vec::new(),
        };
        let dacl = Acl { revision: 4, aces: vec![ace] };
        encode_sd(0x8004, Some(&sid("S-1-5-18")), Some(&sid("S-1-5-32-544")), None, Some(&dacl))
    }

    fn error_of(bytes: &[u8]) -> String {
        SecurityDescriptor::from_bytes(bytes).expect_err("must be rejected").to_string()
    }

    #[test]
    fn rejects_malformed_descriptors_with_a_reason() {
        let good = sample();
        let sd = SecurityDescriptor::from_bytes(&good).unwrap();
        assert_eq!(sd.to_sddl(None), "O:SYG:BAD:(OA;CI;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;AU)");
        // Layout of sample(): header, DACL at 20 (8-byte header, one 48-byte ACE), owner, group.
        let dacl_at = 20;
        let set = |at: usize, bytes: &[u8]| {
            let mut b = good.clone();
            b[at..at + bytes.len()].copy_from_slice(bytes);
            b
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (Vec::new(), "0 bytes is too short"),
            (good[..19].to_vec(), "19 bytes is too short"),
            (set(0, &[2]), "revision is 2"),
            (set(4, &9999u32.to_le_bytes()), "owner offset 9999 points outside"),
            (set(8, &4u32.to_le_bytes()), "group offset 4 points outside"),
            (set(16, &(good.len() as u32 - 4).to_le_bytes()), "the DACL at offset"),
            (set(dacl_at + 2, &600u16.to_le_bytes()), "claims 600 bytes but only"),
            (set(dacl_at + 2, &4u16.to_le_bytes()), "less than its own header"),
            (set(dacl_at + 4, &2u16.to_le_bytes()), "claims 2 ACEs but ACE 1 starts past its end"),
            (set(dacl_at + 8 + 2, &0u16.to_le_bytes()), "ACE 0 of the DACL claims 0 bytes"),
            (set(dacl_at + 8 + 2, &200u16.to_le_bytes()), "ACE 0 of the DACL claims 200 bytes"),
            (set(dacl_at + 8 + 2, &20u16.to_le_bytes()), "ACE 0 of the DACL: object type GUID is cut off"),
            (set(dacl_at + 8 + 2, &7u16.to_le_bytes()), "ACE 0 of the DACL: too short for an access mask"),
            (set(dacl_at + 8 + 2, &10u16.to_le_bytes()), "too short for its object flags"),
            (set(dacl_at + 8 + 8, &3u32.to_le_bytes()), "inherited object type GUID is cut off"),
            (set(dacl_at + 8 + 28 + 1, &[14]), "the trustee SID is truncated"),
            (set(dacl_at + 8 + 28 + 1, &[16]), "the trustee SID is truncated"),
        ];
        for (bytes, expected) in cases {
            let error = error_of(&bytes);
            assert!(error.contains(expected), "expected {expected:?}, got {error:?}");
        }
    }

    #[test]
    fn prints_hex_where_samba_has_no_letters() {
        // Samba 4.17 returns no SDDL at all for these (python's as_sddl() crashes on them).
        let mut ace = Ace {
            ace_type: 0x11,
            flags: 0x20,
            mask: 0x1f01ff,
            object_type: None,
            inherited_object_type: None,
            sid: sid("S-1-16-12288"),
            trailing: Vec::new(),
        };
        let mut out = String::new();
        write_sddl_ace(&mut out, &ace, None);
        assert_eq!(out, "(0x11;0x20;0x001f01ff;;;HI)");
        ace.ace_type = ace_type::ACCESS_ALLOWED_CALLBACK_OBJECT;
        ace.object_type = Some(APPLY_GROUP_POLICY);
        out.clear();
        write_sddl_ace(&mut out, &ace, None);
        // Type 11 spelled bit by bit, and (as in Samba 4.17) no GUID for callback object types.
        assert_eq!(out, "(AUALOL;0x20;0x001f01ff;;;HI)");
    }

    #[test]
    fn serde_keeps_the_hex_form() {
        let sd = SecurityDescriptor::from_bytes(&sample()).unwrap();
        let json = serde_json::to_string(&sd).unwrap();
        assert_eq!(json, format!("\"{}\"", hex::encode(sample())));
        let back: SecurityDescriptor = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sd);
        assert!(serde_json::from_str::<SecurityDescriptor>("\"0100\"").is_err());
    }

    // --- a test-only encoder and property tests --------------------------------------------

    fn encode_ace(ace: &Ace) -> Vec<u8> {
        let mut body = ace.mask.to_le_bytes().to_vec();
        if ace_type::has_object_part(ace.ace_type) {
            let flags = u32::from(ace.object_type.is_some()) | (u32::from(ace.inherited_object_type.is_some()) << 1);
            body.extend_from_slice(&flags.to_le_bytes());
            for guid in [ace.object_type, ace.inherited_object_type].into_iter().flatten() {
                body.extend_from_slice(&guid.to_bytes_le());
            }
        }
        body.extend_from_slice(&ace.sid.to_bytes());
        body.extend_from_slice(&ace.trailing);
        let mut out = vec![ace.ace_type, ace.flags];
        out.extend_from_slice(&(4 + body.len() as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    fn encode_acl(acl: &Acl) -> Vec<u8> {
        let body: Vec<u8> = acl.aces.iter().flat_map(encode_ace).collect();
        let mut out = vec![acl.revision, 0];
        out.extend_from_slice(&(8 + body.len() as u16).to_le_bytes());
        out.extend_from_slice(&(acl.aces.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&body);
        out
    }

    fn encode_sd(
        control: u16,
        owner: Option<&Sid>,
        group: Option<&Sid>,
        sacl: Option<&Acl>,
        dacl: Option<&Acl>,
    ) -> Vec<u8> {
        let parts = [dacl.map(encode_acl), sacl.map(encode_acl), owner.map(Sid::to_bytes), group.map(Sid::to_bytes)];
        let mut offsets = [0u32; 4];
        let mut tail = Vec::new();
        for (offset, part) in offsets.iter_mut().zip(&parts) {
            if let Some(part) = part {
                *offset = (20 + tail.len()) as u32;
                tail.extend_from_slice(part);
            }
        }
        let [dacl_at, sacl_at, owner_at, group_at] = offsets;
        let mut out = vec![1, 0];
        out.extend_from_slice(&control.to_le_bytes());
        for at in [owner_at, group_at, sacl_at, dacl_at] {
            out.extend_from_slice(&at.to_le_bytes());
        }
        out.extend_from_slice(&tail);
        out
    }

    fn arb_sid() -> impl Strategy<Value = Sid> {
        (0u64..(1 << 48), prop::collection::vec(any::<u32>(), 0..=15)).prop_map(|(authority, sub_authorities)| Sid {
            revision: 1,
            authority,
            sub_authorities,
        })
    }

    fn arb_ace() -> impl Strategy<Value = Ace> {
        let types = prop::sample::select(vec![0u8, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 0x11]);
        (types, any::<u8>(), any::<u32>(), any::<Option<u128>>(), any::<Option<u128>>(), arb_sid()).prop_flat_map(
            |(ace_type, flags, mask, object, inherited, sid)| {
                let object_part = ace_type::has_object_part(ace_type);
                prop::collection::vec(any::<u8>(), 0..12).prop_map(move |trailing| Ace {
                    ace_type,
                    flags,
                    mask,
                    object_type: object.filter(|_| object_part).map(Uuid::from_u128),
                    inherited_object_type: inherited.filter(|_| object_part).map(Uuid::from_u128),
                    sid: sid.clone(),
                    trailing,
                })
            },
        )
    }

    fn arb_acl() -> impl Strategy<Value = Acl> {
        (prop::sample::select(vec![2u8, 4]), prop::collection::vec(arb_ace(), 0..12))
            .prop_map(|(revision, aces)| Acl { revision, aces })
    }

    proptest! {
        #[test]
        fn from_bytes_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(sd) = SecurityDescriptor::from_bytes(&bytes) {
                let _ = sd.to_sddl(None);
                let _ = sd.gpo_delegation();
            }
        }

        #[test]
        fn from_bytes_never_panics_on_damaged_real_descriptors(
            pick in any::<prop::sample::Index>(),
            damage in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let cases = golden();
            let mut bytes = cases[pick.index(cases.len())].bytes.clone();
            for (at, value) in damage {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            let keep = cut.index(bytes.len() + 1).max(bytes.len() / 2);
            bytes.truncate(keep);
            if let Ok(sd) = SecurityDescriptor::from_bytes(&bytes) {
                let _ = sd.to_sddl(Some(&cases[0].domain));
                let _ = sd.principals();
                let _ = sd.describe_aces(&|_| None);
            }
        }

        #[test]
        fn built_descriptors_round_trip(
            control in any::<u16>(),
            owner in prop::option::of(arb_sid()),
            group in prop::option::of(arb_sid()),
            sacl in prop::option::of(arb_acl()),
            dacl in prop::option::of(arb_acl()),
        ) {
            let bytes = encode_sd(control, owner.as_ref(), group.as_ref(), sacl.as_ref(), dacl.as_ref());
            let sd = SecurityDescriptor::from_bytes(&bytes).unwrap();
            prop_assert_eq!(&sd.raw, &bytes);
            prop_assert_eq!(sd.control, control);
            prop_assert_eq!(sd.owner, owner);
            prop_assert_eq!(sd.group, group);
            prop_assert_eq!(sd.sacl, sacl);
            prop_assert_eq!(sd.dacl, dacl);
        }
    }
}
