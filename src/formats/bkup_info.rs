//! `bkupInfo.xml`: the identity card of one backup instance, and the element that
//! `manifest.xml` repeats once per instance.
//!
//! GPMC writes it without an XML declaration, every value in CDATA, the eight elements in a
//! fixed order, and a CRLF after the root:
//!
//! ```text
//! <BackupInst xmlns="http://www.microsoft.com/GroupPolicy/GPOOperations/Manifest"><GPOGuid><![CDATA[{356FB116-...}]]></GPOGuid>...<GPODisplayName><![CDATA[...]]></GPODisplayName></BackupInst>\r\n
//! ```
//!
//! A GPO whose backup holds a Software Installation class store (see `backup_xml::class_store`)
//! gets `mfst:SIPresent="true"`, declared through a second, prefixed copy of the namespace:
//!
//! ```text
//! <BackupInst xmlns="http://www.microsoft.com/GroupPolicy/GPOOperations/Manifest" xmlns:mfst="http://www.microsoft.com/GroupPolicy/GPOOperations/Manifest" mfst:SIPresent="true"><GPOGuid>...
//! ```
//!
//! `BackupTime` is UTC: in every GPMC backup examined it is the same instant as gpreport.xml's
//! `ReadTime` (which carries a `Z`) less about a second, across domains in different time zones.
//! gpvault therefore writes UTC, without a zone suffix, as GPMC does.

use chrono::{DateTime, NaiveDateTime, Utc};
use uuid::Uuid;

use super::backup_xml::BackupXml;
use super::error::{FormatError, Problem};
use super::text::{LineEnding, decode_utf8_or_utf16};
use super::xml::{self, Element, Node, XmlOut};
use crate::model::{DomainInfo, GpoId, ParseIdError, parse_guid};

pub const FILE_NAME: &str = "bkupInfo.xml";
pub const MANIFEST_NAMESPACE: &str = "http://www.microsoft.com/GroupPolicy/GPOOperations/Manifest";
const BACKUP_TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";
const SI_PRESENT_ATTRIBUTE: &str = "mfst:SIPresent";

/// The fields of a `BackupInst`, as text exactly as GPMC stores them.
///
/// Kept as strings so a file read and written again is byte-identical; the typed accessors
/// below interpret them.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackupInfo {
    /// `{GUID}` of the GPO that was backed up, upper case.
    pub gpo_guid: String,
    /// DNS name of its domain.
    pub gpo_domain: String,
    /// objectGUID of the domain, braced lower case (`{21ae17e9-...}`).
    pub gpo_domain_guid: String,
    /// DNS host name of the domain controller the backup was read from.
    pub gpo_domain_controller: String,
    /// UTC, `2017-02-15T21:01:16`.
    pub backup_time: String,
    /// `{GUID}` of this backup instance: also the name of its folder.
    pub id: String,
    pub comment: String,
    pub gpo_display_name: String,
    /// `mfst:SIPresent="true"`: Backup.xml holds the GPO's Software Installation class store.
    #[serde(default)]
    pub si_present: bool,
    /// The line end after the root element (GPMC: CRLF).
    #[serde(default)]
    pub line_ending: LineEnding,
}

pub(crate) const FIELDS: [&str; 8] =
    ["GPOGuid", "GPODomain", "GPODomainGuid", "GPODomainController", "BackupTime", "ID", "Comment", "GPODisplayName"];

impl BackupInfo {
    /// A new backup record, formatted as GPMC formats each field. `domain.guid` is already in
    /// GPMC's braced lower-case form; `domain.controller` is the DC the GPO was read from.
    pub fn new(
        gpo: GpoId,
        domain: &DomainInfo,
        backup_id: GpoId,
        time: DateTime<Utc>,
        comment: &str,
        display_name: &str,
    ) -> Self {
        BackupInfo {
            gpo_guid: gpo.to_string(),
            gpo_domain: domain.dns_name.clone(),
            gpo_domain_guid: domain.guid.clone(),
            gpo_domain_controller: domain.controller.clone(),
            backup_time: format_backup_time(&time),
            id: backup_id.to_string(),
            comment: comment.to_string(),
            gpo_display_name: display_name.to_string(),
            si_present: false,
            line_ending: LineEnding::Crlf,
        }
    }

    pub fn gpo_id(&self) -> Result<GpoId, ParseIdError> {
        self.gpo_guid.parse()
    }

    pub fn backup_id(&self) -> Result<GpoId, ParseIdError> {
        self.id.parse()
    }

    pub fn domain_guid(&self) -> Result<Uuid, ParseIdError> {
        parse_guid(&self.gpo_domain_guid)
    }

    /// What an instance's Backup.xml tells of it, for an instance that lost its bkupInfo.xml
    /// (some published backups did): the GPO, its domain and name, the domain controller it
    /// was read from (out of `bkp:SourceExpandedPath`) and whether it holds a class store.
    /// The domain's GUID, the time and the comment are not in Backup.xml and stay empty.
    pub fn from_backup_xml(backup: &BackupXml, backup_id: &str) -> Self {
        let controller = backup
            .extensions
            .iter()
            .flat_map(|b| b.objects())
            .find_map(|o| {
                o.source_expanded_path.as_deref()?.strip_prefix(r"\\")?.split('\\').next().map(str::to_string)
            })
            .unwrap_or_default();
        BackupInfo {
            gpo_guid: backup.core.id.clone(),
            gpo_domain: backup.core.domain.clone().unwrap_or_default(),
            gpo_domain_controller: controller,
            id: backup_id.to_string(),
            gpo_display_name: backup.core.display_name.clone().unwrap_or_default(),
            si_present: backup.has_class_store(),
            ..Default::default()
        }
    }

    /// The backup time as UTC, if it has GPMC's format.
    pub fn backup_time_utc(&self) -> Option<DateTime<Utc>> {
        NaiveDateTime::parse_from_str(self.backup_time.trim(), BACKUP_TIME_FORMAT).ok().map(|t| t.and_utc())
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let text = decode_utf8_or_utf16(bytes, FILE_NAME)?;
        let doc = xml::parse(&text, FILE_NAME)?;
        let mut info = Self::from_element(&doc.root, FILE_NAME, true)?;
        info.line_ending = LineEnding::of(&text);
        Ok(info)
    }

    /// The file as GPMC writes it: no declaration, CRLF after the root element.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = XmlOut::new();
        let mut attributes = vec![("xmlns", MANIFEST_NAMESPACE)];
        if self.si_present {
            attributes.extend([("xmlns:mfst", MANIFEST_NAMESPACE), (SI_PRESENT_ATTRIBUTE, "true")]);
        }
        out.start("BackupInst", &attributes);
        self.write_fields(&mut out);
        out.end("BackupInst");
        out.raw(self.line_ending.as_str());
        out.into_bytes()
    }

    /// The attributes of the `BackupInst` element inside manifest.xml (whose root declares `mfst`).
    pub(crate) fn manifest_attributes(&self) -> Vec<(&'static str, &'static str)> {
        if self.si_present { vec![(SI_PRESENT_ATTRIBUTE, "true")] } else { Vec::new() }
    }

    pub(crate) fn write_fields(&self, out: &mut XmlOut) {
        for (name, value) in FIELDS.iter().zip(self.values()) {
            out.cdata_element(name, Some(value));
        }
    }

    fn values(&self) -> [&str; 8] {
        [
            &self.gpo_guid,
            &self.gpo_domain,
            &self.gpo_domain_guid,
            &self.gpo_domain_controller,
            &self.backup_time,
            &self.id,
            &self.comment,
            &self.gpo_display_name,
        ]
    }

    /// Reads a `BackupInst` element. In bkupInfo.xml it is the root and must carry the manifest
    /// namespace itself; inside manifest.xml it inherits it from `<Backups>`.
    pub(crate) fn from_element(element: &Element, file: &str, is_root: bool) -> Result<Self, FormatError> {
        if element.local_name() != "BackupInst" {
            return Err(FormatError::new(
                file,
                None,
                Problem::UnexpectedElement { found: element.name.clone(), expected: "<BackupInst>".into() },
            ));
        }
        if is_root && element.attr("xmlns") != Some(MANIFEST_NAMESPACE) {
            return Err(FormatError::new(
                file,
                Some("BackupInst".into()),
                Problem::InvalidValue {
                    value: element.attr("xmlns").unwrap_or_default().to_string(),
                    reason: format!("the namespace must be {MANIFEST_NAMESPACE}"),
                },
            ));
        }
        let mut values: [Option<String>; 8] = Default::default();
        for node in &element.children {
            let child = match node {
                Node::Element(e) => e,
                Node::Text(t) if xml::is_whitespace(t) => continue,
                Node::Text(t) | Node::CData(t) => {
                    return Err(FormatError::new(
                        file,
                        Some("BackupInst".into()),
                        Problem::UnexpectedText { text: t.clone() },
                    ));
                }
                Node::Comment(_) => continue,
            };
            let at = || Some(format!("BackupInst/{}", child.name));
            let index = FIELDS.iter().position(|f| *f == child.local_name()).ok_or_else(|| {
                FormatError::new(
                    file,
                    Some("BackupInst".into()),
                    Problem::UnexpectedElement {
                        found: child.name.clone(),
                        expected: format!("one of {}", FIELDS.join(", ")),
                    },
                )
            })?;
            if child.elements().next().is_some() {
                return Err(FormatError::new(
                    file,
                    at(),
                    Problem::InvalidValue {
                        value: String::new(),
                        reason: "expected text, found nested elements".into(),
                    },
                ));
            }
            if values[index].is_some() {
                return Err(FormatError::new(
                    file,
                    at(),
                    Problem::InvalidValue { value: child.text(), reason: "the element appears twice".into() },
                ));
            }
            values[index] = Some(child.text());
        }
        for required in ["GPOGuid", "ID"] {
            let index = FIELDS.iter().position(|f| *f == required).expect("known field");
            if values[index].is_none() {
                return Err(FormatError::new(
                    file,
                    Some("BackupInst".into()),
                    Problem::MissingElement { name: required.into() },
                ));
            }
        }
        let [gpo_guid, gpo_domain, gpo_domain_guid, gpo_domain_controller, backup_time, id, comment, gpo_display_name] =
            values.map(Option::unwrap_or_default);
        // Whatever prefix the file binds to the manifest namespace.
        let si_present = element
            .attributes
            .iter()
            .any(|(name, value)| xml::local(name) == "SIPresent" && value.trim().eq_ignore_ascii_case("true"));
        Ok(BackupInfo {
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
        })
    }
}

/// `2017-02-15T21:01:16`: GPMC's BackupTime format (UTC, whole seconds, no zone suffix).
pub fn format_backup_time(time: &DateTime<Utc>) -> String {
    time.format(BACKUP_TIME_FORMAT).to_string()
}

/// A fresh backup instance ID, braced upper case like GPMC's.
pub fn new_backup_id() -> GpoId {
    GpoId::new_random()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const GPMC: &str = "<BackupInst xmlns=\"http://www.microsoft.com/GroupPolicy/GPOOperations/Manifest\"><GPOGuid><![CDATA[{356FB116-26CD-4FBF-830B-6D736B802FD7}]]></GPOGuid><GPODomain><![CDATA[idl.local]]></GPODomain><GPODomainGuid><![CDATA[{21ae17e9-5746-4c0a-ab06-86222e0eb1d7}]]></GPODomainGuid><GPODomainController><![CDATA[DC-IDL-01.idl.local]]></GPODomainController><BackupTime><![CDATA[2016-12-09T15:16:54]]></BackupTime><ID><![CDATA[{A2A38432-E322-437F-9975-B7CC7F16F4AA}]]></ID><Comment><![CDATA[]]></Comment><GPODisplayName><![CDATA[DoD Windows 10 STIG - Computer (SHB v10.1.0)]]></GPODisplayName></BackupInst>\r\n";

    #[test]
    fn gpmc_file_round_trips_byte_for_byte() {
        let info = BackupInfo::parse(GPMC.as_bytes()).unwrap();
        assert_eq!(info.gpo_domain_controller, "DC-IDL-01.idl.local");
        assert_eq!(info.comment, "");
        assert_eq!(info.to_bytes(), GPMC.as_bytes());
        assert_eq!(info.backup_time_utc().unwrap(), Utc.with_ymd_and_hms(2016, 12, 9, 15, 16, 54).unwrap());
        assert_eq!(info.gpo_id().unwrap().to_string(), "{356FB116-26CD-4FBF-830B-6D736B802FD7}");
    }

    #[test]
    fn new_formats_like_gpmc() {
        let gpo: GpoId = "{356fb116-26cd-4fbf-830b-6d736b802fd7}".parse().unwrap();
        let backup: GpoId = "{a2a38432-e322-437f-9975-b7cc7f16f4aa}".parse().unwrap();
        let domain = DomainInfo {
            dns_name: "idl.local".into(),
            guid: "{21ae17e9-5746-4c0a-ab06-86222e0eb1d7}".into(),
            controller: "DC-IDL-01.idl.local".into(),
            ..Default::default()
        };
        let info = BackupInfo::new(
            gpo,
            &domain,
            backup,
            Utc.with_ymd_and_hms(2016, 12, 9, 15, 16, 54).unwrap(),
            "",
            "DoD Windows 10 STIG - Computer (SHB v10.1.0)",
        );
        assert_eq!(info.to_bytes(), GPMC.as_bytes());
    }

    #[test]
    fn software_installation_flag_and_line_end_are_kept() {
        let with_si = GPMC.replacen(
            "Manifest\">",
            "Manifest\" xmlns:mfst=\"http://www.microsoft.com/GroupPolicy/GPOOperations/Manifest\" mfst:SIPresent=\"true\">",
            1,
        );
        let info = BackupInfo::parse(with_si.as_bytes()).unwrap();
        assert!(info.si_present);
        assert_eq!(info.to_bytes(), with_si.as_bytes());
        assert!(!BackupInfo::parse(GPMC.as_bytes()).unwrap().si_present);

        let lf = GPMC.replace("\r\n", "\n");
        let info = BackupInfo::parse(lf.as_bytes()).unwrap();
        assert_eq!(info.line_ending, LineEnding::Lf);
        assert_eq!(info.to_bytes(), lf.as_bytes());
    }

    #[test]
    fn writer_has_no_declaration_and_escapes_cdata_terminator() {
        let info = BackupInfo {
            gpo_guid: "{X}".into(),
            id: "{Y}".into(),
            comment: "a ]]> b <&>".into(),
            ..Default::default()
        };
        let bytes = info.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("<BackupInst xmlns="));
        assert!(text.ends_with("</BackupInst>\r\n"));
        assert!(text.contains("<Comment><![CDATA[a ]]]]><![CDATA[> b <&>]]></Comment>"));
        assert_eq!(BackupInfo::parse(&bytes).unwrap(), info);
    }

    #[test]
    fn errors_name_the_problem() {
        let no_ns = "<BackupInst><GPOGuid>x</GPOGuid><ID>y</ID></BackupInst>";
        assert!(BackupInfo::parse(no_ns.as_bytes()).unwrap_err().to_string().contains("namespace"));
        let missing = format!("<BackupInst xmlns=\"{MANIFEST_NAMESPACE}\"><GPOGuid>x</GPOGuid></BackupInst>");
        let err = BackupInfo::parse(missing.as_bytes()).unwrap_err();
        assert_eq!(err.problem, Problem::MissingElement { name: "ID".into() });
        let extra =
            format!("<BackupInst xmlns=\"{MANIFEST_NAMESPACE}\"><GPOGuid>x</GPOGuid><ID>y</ID><Bogus/></BackupInst>");
        let err = BackupInfo::parse(extra.as_bytes()).unwrap_err();
        assert!(err.to_string().starts_with("bkupInfo.xml (at <BackupInst>): found <Bogus>"));
    }

    fn any_info() -> impl Strategy<Value = BackupInfo> {
        // Any XML-legal characters (XML 1.0 forbids most C0 controls, so do GPMC's files).
        let s = || "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}\r]{0,40}";
        (s(), s(), s(), s(), s(), s(), s(), s()).prop_map(|(a, b, c, d, e, f, g, h)| BackupInfo {
            gpo_guid: a,
            gpo_domain: b,
            gpo_domain_guid: c,
            gpo_domain_controller: d,
            backup_time: e,
            id: f,
            comment: g,
            gpo_display_name: h,
            ..Default::default()
        })
    }

    proptest! {
        #[test]
        fn round_trips_arbitrary_strings(info in any_info()) {
            prop_assert_eq!(BackupInfo::parse(&info.to_bytes()).unwrap(), info);
        }

        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = BackupInfo::parse(&bytes);
        }

        #[test]
        fn parser_never_panics_on_mutated_file(pos in 0usize..GPMC.len(), byte in any::<u8>()) {
            let mut bytes = GPMC.as_bytes().to_vec();
            bytes[pos] = byte;
            let _ = BackupInfo::parse(&bytes);
        }
    }
}
