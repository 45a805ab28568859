//! `manifest.xml` at the root of a backup folder: one `BackupInst` per instance.
//!
//! As GPMC writes it (seen in public GPMC backups, e.g. Microsoft security baseline exports):
//! no XML declaration, everything on one line, no trailing newline, the manifest namespace
//! declared twice (default and `mfst:`), and each `BackupInst` identical in content to the
//! instance's own bkupInfo.xml but without its own `xmlns`:
//!
//! ```text
//! <Backups xmlns="http://www.microsoft.com/GroupPolicy/GPOOperations/Manifest" xmlns:mfst="http://www.microsoft.com/GroupPolicy/GPOOperations/Manifest" mfst:version="1.0"><BackupInst><GPOGuid><![CDATA[...]]></GPOGuid>...</BackupInst></Backups>
//! ```
//!
//! An instance with a Software Installation class store carries `mfst:SIPresent="true"` on its
//! `BackupInst`, as in its bkupInfo.xml.
//!
//! The manifest is only an index: GPMC lists a folder without one by reading each instance's
//! bkupInfo.xml, and gpvault treats the instances as the truth and this file as a cache.

use super::bkup_info::{BackupInfo, MANIFEST_NAMESPACE};
use super::error::{FormatError, Problem};
use super::text::{LineEnding, decode_utf8_or_utf16};
use super::xml::{self, Element, Node, XmlOut};

pub const FILE_NAME: &str = "manifest.xml";

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// In file order; GPMC appends new backups at the end.
    pub backups: Vec<BackupInfo>,
}

impl Manifest {
    /// Reads the manifest one `BackupInst` at a time (a folder may list a hundred thousand
    /// backups: the tree of the whole file is never built).
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let text = decode_utf8_or_utf16(bytes, FILE_NAME)?;
        if let Some(backups) = parse_gpmc_shape(&text) {
            return Ok(Manifest { backups });
        }
        let mut backups = Vec::new();
        let doc = xml::parse_streaming(&text, FILE_NAME, &mut |root, element| {
            check_root(root)?;
            backups.push(BackupInfo::from_element(&element, FILE_NAME, false)?);
            Ok(())
        })?;
        let root = &doc.root;
        check_root(root)?;
        for node in &root.children {
            match node {
                Node::Text(t) if xml::is_whitespace(t) => {}
                Node::Comment(_) | Node::Element(_) => {}
                Node::Text(t) | Node::CData(t) => {
                    return Err(FormatError::new(
                        FILE_NAME,
                        Some("Backups".into()),
                        Problem::UnexpectedText { text: t.clone() },
                    ));
                }
            }
        }
        Ok(Manifest { backups })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = XmlOut::new();
        let attrs = [("xmlns", MANIFEST_NAMESPACE), ("xmlns:mfst", MANIFEST_NAMESPACE), ("mfst:version", "1.0")];
        if self.backups.is_empty() {
            out.empty("Backups", &attrs);
            return out.into_bytes();
        }
        out.start("Backups", &attrs);
        for backup in &self.backups {
            out.start("BackupInst", &backup.manifest_attributes());
            backup.write_fields(&mut out);
            out.end("BackupInst");
        }
        out.end("Backups");
        out.into_bytes()
    }
}

/// The manifest as GPMC and gpvault write it (the module comment): the root start tag exactly,
/// then each `BackupInst` with its eight fields in order, each value in CDATA, nothing between.
/// A folder of a hundred thousand backups has a 50 MB manifest, and reading this one shape
/// directly is several times faster than an XML parser. Anything else (whitespace, comments,
/// entities, another prefix, a carriage return in a value, which XML would normalise) gives
/// `None`, and the general parser reads the file; both give the same result on this shape.
fn parse_gpmc_shape(text: &str) -> Option<Vec<BackupInfo>> {
    let prefix =
        format!("<Backups xmlns=\"{MANIFEST_NAMESPACE}\" xmlns:mfst=\"{MANIFEST_NAMESPACE}\" mfst:version=\"1.0\"");
    let rest = text.strip_prefix(prefix.as_str())?;
    if let Some(after) = rest.strip_prefix("/>") {
        return after.trim_matches(['\r', '\n']).is_empty().then(Vec::new);
    }
    let mut rest = rest.strip_prefix('>')?;
    let mut backups = Vec::new();
    loop {
        if let Some(after) = rest.strip_prefix("</Backups>") {
            return after.trim_matches(['\r', '\n']).is_empty().then_some(backups);
        }
        let (si_present, after) = match rest.strip_prefix("<BackupInst>") {
            Some(after) => (false, after),
            None => (true, rest.strip_prefix("<BackupInst mfst:SIPresent=\"true\">")?),
        };
        rest = after;
        let mut values: [String; 8] = Default::default();
        for (name, value) in super::bkup_info::FIELDS.iter().zip(values.iter_mut()) {
            rest = rest.strip_prefix('<')?.strip_prefix(*name)?.strip_prefix('>')?;
            // A value holding "]]>" is written as several CDATA sections.
            while let Some(section) = rest.strip_prefix("<![CDATA[") {
                let end = section.find("]]>")?;
                value.push_str(&section[..end]);
                rest = &section[end + 3..];
            }
            if value.contains('\r') {
                return None;
            }
            rest = rest.strip_prefix("</")?.strip_prefix(*name)?.strip_prefix('>')?;
        }
        rest = rest.strip_prefix("</BackupInst>")?;
        let [gpo_guid, gpo_domain, gpo_domain_guid, gpo_domain_controller, backup_time, id, comment, gpo_display_name] =
            values;
        backups.push(BackupInfo {
            gpo_guid,
            gpo_domain,
            gpo_domain_guid,
            gpo_domain_controller,
            backup_time,
            id,
            comment,
            gpo_display_name,
            si_present,
            line_ending: LineEnding::Crlf,
        });
    }
}

fn check_root(root: &Element) -> Result<(), FormatError> {
    if root.local_name() != "Backups" {
        return Err(FormatError::new(
            FILE_NAME,
            None,
            Problem::UnexpectedElement { found: root.name.clone(), expected: "<Backups>".into() },
        ));
    }
    if root.attr("xmlns") != Some(MANIFEST_NAMESPACE) {
        return Err(FormatError::new(
            FILE_NAME,
            Some("Backups".into()),
            Problem::InvalidValue {
                value: root.attr("xmlns").unwrap_or_default().to_string(),
                reason: format!("the namespace must be {MANIFEST_NAMESPACE}"),
            },
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn inst(n: u8) -> BackupInfo {
        BackupInfo {
            gpo_guid: format!("{{16992C6F-E6F3-4F07-BBC0-66E20036D9C{n}}}"),
            gpo_domain: "lab.example".into(),
            gpo_domain_guid: "{be98dc5a-e575-4ca0-90f4-5edc5385451a}".into(),
            gpo_domain_controller: "dc.lab.example".into(),
            backup_time: "2022-06-25T14:50:56".into(),
            id: format!("{{C812395A-D73D-4143-84E4-1539391B26A{n}}}"),
            comment: String::new(),
            gpo_display_name: format!("Policy {n}"),
            ..Default::default()
        }
    }

    /// The general path of `Manifest::parse`, without the direct reader.
    fn parse_with_xml_parser(text: &str) -> Result<Vec<BackupInfo>, FormatError> {
        let mut backups = Vec::new();
        let doc = xml::parse_streaming(text, FILE_NAME, &mut |root, element| {
            check_root(root)?;
            backups.push(BackupInfo::from_element(&element, FILE_NAME, false)?);
            Ok(())
        })?;
        check_root(&doc.root)?;
        Ok(backups)
    }

    #[test]
    fn a_manifest_gpmc_wrote_is_read_directly() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpmc/simeononsecurity-si/manifest.xml");
        let text = decode_utf8_or_utf16(&std::fs::read(path).unwrap(), FILE_NAME).unwrap();
        let direct = parse_gpmc_shape(&text).expect("GPMC's own shape");
        assert_eq!(direct.len(), 1);
        assert!(direct[0].si_present);
        assert_eq!(Ok(direct), parse_with_xml_parser(&text));
    }

    #[test]
    fn writes_gpmc_shape() {
        let manifest = Manifest { backups: vec![inst(1), inst(2)] };
        let text = String::from_utf8(manifest.to_bytes()).unwrap();
        assert!(text.starts_with(
            "<Backups xmlns=\"http://www.microsoft.com/GroupPolicy/GPOOperations/Manifest\" xmlns:mfst=\"http://www.microsoft.com/GroupPolicy/GPOOperations/Manifest\" mfst:version=\"1.0\"><BackupInst><GPOGuid><![CDATA[{16992C6F-E6F3-4F07-BBC0-66E20036D9C1}]]></GPOGuid><GPODomain><![CDATA[lab.example]]></GPODomain>"
        ));
        assert!(text.contains("</BackupInst><BackupInst><GPOGuid>"));
        assert!(text.ends_with("</GPODisplayName></BackupInst></Backups>"));
        assert_eq!(Manifest::parse(text.as_bytes()).unwrap(), manifest);
    }

    #[test]
    fn gpmc_manifest_round_trips_byte_for_byte() {
        // Same shape as manifests GPMC writes (whitespace-free, no declaration).
        let bytes = Manifest { backups: vec![inst(3)] }.to_bytes();
        let again = Manifest::parse(&bytes).unwrap().to_bytes();
        assert_eq!(again, bytes);
    }

    #[test]
    fn software_installation_flag_is_written_per_instance() {
        let mut with_si = inst(2);
        with_si.si_present = true;
        let manifest = Manifest { backups: vec![inst(1), with_si] };
        let text = String::from_utf8(manifest.to_bytes()).unwrap();
        assert_eq!(text.matches("<BackupInst>").count(), 1);
        assert_eq!(text.matches("<BackupInst mfst:SIPresent=\"true\">").count(), 1);
        assert_eq!(Manifest::parse(text.as_bytes()).unwrap(), manifest);
    }

    #[test]
    fn empty_manifest_and_errors() {
        let empty = Manifest::default();
        let bytes = empty.to_bytes();
        assert!(String::from_utf8(bytes.clone()).unwrap().ends_with("mfst:version=\"1.0\"/>"));
        assert_eq!(Manifest::parse(&bytes).unwrap(), empty);

        let wrong_root = format!("<BackupInst xmlns=\"{MANIFEST_NAMESPACE}\"/>");
        assert!(Manifest::parse(wrong_root.as_bytes()).unwrap_err().to_string().contains("<Backups>"));
        let missing_id =
            format!("<Backups xmlns=\"{MANIFEST_NAMESPACE}\"><BackupInst><GPOGuid/></BackupInst></Backups>");
        let err = Manifest::parse(missing_id.as_bytes()).unwrap_err();
        assert_eq!(err.file, "manifest.xml");
        assert_eq!(err.problem, Problem::MissingElement { name: "ID".into() });
    }

    proptest! {
        #[test]
        fn round_trips_arbitrary_strings(
            names in proptest::collection::vec("[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}\r]{0,30}", 0..4),
        ) {
            let manifest = Manifest {
                backups: names.iter().enumerate().map(|(i, name)| BackupInfo {
                    gpo_display_name: name.clone(),
                    comment: name.repeat(2),
                    ..inst(i as u8)
                }).collect(),
            };
            prop_assert_eq!(Manifest::parse(&manifest.to_bytes()).unwrap(), manifest);
        }

        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Manifest::parse(&bytes);
        }

        /// Whatever the direct reader of GPMC's shape accepts, the XML parser reads the same.
        #[test]
        fn the_direct_reader_agrees_with_the_xml_parser(
            names in proptest::collection::vec("[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}]{0,30}", 0..4),
            si in proptest::collection::vec(any::<bool>(), 4),
            mutation in proptest::option::of((any::<prop::sample::Index>(), any::<u8>())),
        ) {
            let manifest = Manifest {
                backups: names.iter().enumerate().map(|(i, name)| BackupInfo {
                    gpo_display_name: name.clone(),
                    comment: format!("{name}]]>{name}"),
                    si_present: si[i],
                    ..inst(i as u8)
                }).collect(),
            };
            let mut bytes = manifest.to_bytes();
            if let Some((at, byte)) = mutation {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            let Ok(text) = std::str::from_utf8(&bytes) else { return Ok(()) };
            let general = parse_with_xml_parser(text);
            match parse_gpmc_shape(text) {
                Some(direct) => prop_assert_eq!(Ok(direct), general),
                None => prop_assert!(mutation.is_some() || names.iter().any(|n| n.contains('\r')), "the writer's shape is read directly"),
            }
        }
    }
}
