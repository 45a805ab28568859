//! Building security descriptors: the self-relative binary form of owner, group and ACLs, for
//! descriptors gpvault makes itself (the file ACL derived from a GPO's DACL).

use super::Sid;
use super::security::{Ace, Acl, SecurityDescriptor, ace_type, control};

/// ACL_REVISION (2) holds only plain ACEs; ACL_REVISION_DS (4) is needed once an object ACE is in.
const ACL_REVISION: u8 = 2;
const ACL_REVISION_DS: u8 = 4;

impl Ace {
    /// The ACE in its binary form: header, mask, object part when its type has one, SID, and
    /// whatever trailed the SID when it was read.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = self.mask.to_le_bytes().to_vec();
        if ace_type::has_object_part(self.ace_type) {
            let flags = u32::from(self.object_type.is_some()) | (u32::from(self.inherited_object_type.is_some()) << 1);
            body.extend_from_slice(&flags.to_le_bytes());
            for guid in [self.object_type, self.inherited_object_type].into_iter().flatten() {
                body.extend_from_slice(&guid.to_bytes_le());
            }
        }
        body.extend_from_slice(&self.sid.to_bytes());
        body.extend_from_slice(&self.trailing);
        let mut out = vec![self.ace_type, self.flags];
        out.extend_from_slice(&((4 + body.len()) as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }
}

impl Acl {
    /// An ACL of these ACEs with the lowest revision that can hold them.
    pub fn new(aces: Vec<Ace>) -> Acl {
        let revision =
            if aces.iter().any(|a| ace_type::has_object_part(a.ace_type)) { ACL_REVISION_DS } else { ACL_REVISION };
        Acl { revision, aces }
    }

    pub fn encode(&self) -> Vec<u8> {
        let body: Vec<u8> = self.aces.iter().flat_map(Ace::encode).collect();
        let mut out = vec![self.revision, 0];
        out.extend_from_slice(&((8 + body.len()) as u16).to_le_bytes());
        out.extend_from_slice(&(self.aces.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&body);
        out
    }
}

impl SecurityDescriptor {
    /// A self-relative descriptor of these parts. `control` gets SELF_RELATIVE, and
    /// DACL_PRESENT / SACL_PRESENT exactly when the ACL is given. Parts are laid out owner,
    /// group, SACL, DACL, as Samba's NDR writes them.
    pub fn from_parts(
        control_bits: u16,
        owner: Option<Sid>,
        group: Option<Sid>,
        sacl: Option<Acl>,
        dacl: Option<Acl>,
    ) -> SecurityDescriptor {
        let mut control_word = control_bits & !(control::DACL_PRESENT | control::SACL_PRESENT);
        control_word |= control::SELF_RELATIVE;
        if dacl.is_some() {
            control_word |= control::DACL_PRESENT;
        }
        if sacl.is_some() {
            control_word |= control::SACL_PRESENT;
        }
        let parts = [
            owner.as_ref().map(Sid::to_bytes),
            group.as_ref().map(Sid::to_bytes),
            sacl.as_ref().map(Acl::encode),
            dacl.as_ref().map(Acl::encode),
        ];
        let mut offsets = [0u32; 4];
        let mut tail = Vec::new();
        for (offset, part) in offsets.iter_mut().zip(&parts) {
            if let Some(part) = part {
                *offset = (20 + tail.len()) as u32;
                tail.extend_from_slice(part);
            }
        }
        let mut raw = vec![1, 0];
        raw.extend_from_slice(&control_word.to_le_bytes());
        for at in offsets {
            raw.extend_from_slice(&at.to_le_bytes());
        }
        raw.extend_from_slice(&tail);
        SecurityDescriptor { raw, control: control_word, owner, group, sacl, dacl }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = include_str!("testdata/sddl_golden.tsv");

    /// Every parsable descriptor of the golden set, rebuilt from its parts, parses back to the same
    /// parts and prints the same SDDL as Samba printed for the original bytes.
    #[test]
    fn rebuilt_golden_descriptors_parse_back_to_the_same_parts() {
        let mut rebuilt = 0;
        for line in GOLDEN.lines().filter(|l| !l.is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            let domain: Sid = cols[1].parse().unwrap();
            let Ok(original) = SecurityDescriptor::from_bytes(&hex::decode(cols[2]).unwrap()) else { continue };
            // A DACL offset without DACL_PRESENT (or the reverse) cannot be expressed by from_parts.
            let dacl_shown = original.control & control::DACL_PRESENT != 0;
            let sacl_shown = original.control & control::SACL_PRESENT != 0;
            if dacl_shown != original.dacl.is_some() || sacl_shown != original.sacl.is_some() {
                continue;
            }
            let sd = SecurityDescriptor::from_parts(
                original.control,
                original.owner.clone(),
                original.group.clone(),
                original.sacl.clone(),
                original.dacl.clone(),
            );
            let back = SecurityDescriptor::from_bytes(&sd.raw).unwrap_or_else(|e| panic!("{}: {e}", cols[0]));
            assert_eq!(back, sd, "{}", cols[0]);
            assert_eq!(back.owner, original.owner, "{}", cols[0]);
            assert_eq!(back.dacl, original.dacl, "{}", cols[0]);
            assert_eq!(back.sacl, original.sacl, "{}", cols[0]);
            assert_eq!(sd.to_sddl(Some(&domain)), cols[4], "{}: SDDL as Samba printed the original", cols[0]);
            rebuilt += 1;
        }
        assert!(rebuilt > 100, "only {rebuilt} golden descriptors rebuilt");
    }

    #[test]
    fn acl_revision_follows_the_ace_types() {
        let sid: Sid = "S-1-5-11".parse().unwrap();
        let plain = Ace {
            ace_type: ace_type::ACCESS_ALLOWED,
            flags: 0,
            mask: 1,
            object_type: None,
            inherited_object_type: None,
            sid,
            trailing: vec![],
        };
        let object =
            Ace { ace_type: ace_type::ACCESS_ALLOWED_OBJECT, object_type: Some(uuid::Uuid::nil()), ..plain.clone() };
        assert_eq!(Acl::new(vec![plain.clone()]).revision, 2);
        assert_eq!(Acl::new(vec![plain, object]).revision, 4);
    }
}
