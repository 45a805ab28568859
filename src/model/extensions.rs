use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ids::{format_guid_braced, parse_guid};

/// One client-side extension and the snap-in tools that wrote its settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionPair {
    pub cse: Uuid,
    pub tools: Vec<Uuid>,
}

/// gPCMachineExtensionNames / gPCUserExtensionNames: `[{CSE}{TOOL}...][{CSE}{TOOL}...]`.
/// Kept as parsed pairs plus the original text, so an unusual value round-trips untouched.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionList {
    pub raw: String,
    pub pairs: Vec<ExtensionPair>,
}

impl ExtensionList {
    /// Lenient: groups that do not parse are skipped (the raw text is kept anyway).
    pub fn parse(raw: &str) -> Self {
        let mut pairs = Vec::new();
        for group in raw.split('[').skip(1) {
            let group = group.split(']').next().unwrap_or("");
            let guids: Vec<Uuid> = group
                .split('{')
                .skip(1)
                .filter_map(|g| g.split('}').next())
                .filter_map(|g| parse_guid(g).ok())
                .collect();
            if let Some((cse, tools)) = guids.split_first() {
                pairs.push(ExtensionPair { cse: *cse, tools: tools.to_vec() });
            }
        }
        ExtensionList { raw: raw.to_string(), pairs }
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub fn cse_ids(&self) -> impl Iterator<Item = &Uuid> {
        self.pairs.iter().map(|p| &p.cse)
    }

    /// The extensions' names as GPMC shows them (GUIDs it does not know as they are). The nil
    /// GUID is GPMC's "core" entry, not an extension anyone configured: it is left out.
    pub fn names(&self) -> Vec<String> {
        self.cse_ids()
            .filter(|id| !id.is_nil())
            .map(|id| known_extension_name(id).map(str::to_string).unwrap_or_else(|| format_guid_braced(id)))
            .collect()
    }
}

impl fmt::Display for ExtensionList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// The names GPMC gives well-known client-side extensions (its `bkp:DescName`).
pub fn known_extension_name(cse: &Uuid) -> Option<&'static str> {
    let braced = format_guid_braced(cse);
    KNOWN_EXTENSIONS.iter().find(|(id, _)| *id == braced).map(|(_, name)| *name)
}

const KNOWN_EXTENSIONS: &[(&str, &str)] = &[
    ("{35378EAC-683F-11D2-A89A-00C04FBBCFA2}", "Registry"),
    ("{827D319E-6EAC-11D2-A4EA-00C04F79F83A}", "Security"),
    ("{42B5FAAE-6536-11D2-AE5A-0000F87571E3}", "Scripts"),
    ("{25537BA6-77A8-11D2-9B6C-0000F8080861}", "Folder Redirection"),
    ("{C6DC5466-785A-11D2-84D0-00C04FB169F7}", "Software Installation"),
    ("{B1BE8D72-6EAC-11D2-A4EA-00C04F79F83A}", "EFS recovery"),
    ("{F3CCC681-B74C-4060-9F26-CD84525DCA2A}", "Audit Policy Configuration"),
    ("{17D89FEC-5C44-4972-B12D-241CAEF74509}", "Local Users and Groups"),
    ("{5794DAFD-BE60-433F-88A2-1A31939AC01F}", "Drive Maps"),
    ("{F15C46CD-82A0-4C2D-A210-5D0D3182A418}", "Unknown Extension"),
    ("{D76B9641-3288-4F75-942D-087DE603E3EA}", "AdmPwd"),
    ("{0ACDD40C-75AC-47AB-BAA0-BF6DE7E7FE63}", "Wireless Group Policy"),
    ("{E437BC1C-AA7D-11D2-A382-00C04F991E27}", "IP Security"),
    ("{53D6AB1B-2488-11D1-A28C-00C04FB94F17}", "EFS Policy"),
    ("{FB2CA36D-0B40-4307-821B-A13B252DE56C}", "Enterprise QoS"),
    ("{2A8FDC61-2347-4C87-92F6-B05EB91A201A}", "Mitigation Options"),
    ("{4CFB60C1-FAA6-47F1-89AA-0B18730C9FD3}", "Internet Explorer Zonemapping"),
    ("{CF7639F3-ABA2-41DB-97F2-81E2C5DBFC5D}", "Internet Explorer Machine Accelerators"),
    ("{A3F3E39B-5D83-4940-B954-28315B82F0A8}", "Folder Options"),
    ("{BC75B1ED-5833-4858-9BB8-CBF0B166DF9D}", "Printers"),
    ("{91FBB303-0CD5-4055-BF42-E512A681B325}", "Services"),
    ("{6A4C88C6-C502-4F74-8F60-2CB23EDC24E2}", "Network Shares"),
    ("{7150F9BF-48AD-4DA4-A49C-29EF4A8369BA}", "Files"),
    ("{6232C319-91AC-4931-9385-E70C2B099F0E}", "Folders"),
    ("{C418DD9D-0D14-4EFB-8FBF-CFE535C8FAC7}", "Shortcuts"),
    ("{E47248BA-94CC-49C4-BBB5-9EB7F05183D0}", "Scheduled Tasks"),
    ("{AADCED64-746C-4633-A97C-D61349046527}", "Scheduled Tasks"),
    ("{728EE579-943C-4519-9EF7-AB56765798ED}", "Data Sources"),
    ("{0E28E245-9368-4853-AD84-6DA3BA35BB75}", "Environment"),
    ("{74EE6C03-5363-4554-B161-627540339CAB}", "Ini Files"),
    ("{B087BE9D-ED37-454F-AF9C-04291E351182}", "Registry (Preferences)"),
    ("{E62688F0-25FD-4C90-BFF5-F508B9D2E31F}", "Power Options"),
    ("{C631DF4C-088F-4156-B058-4375F0853CD8}", "Offline Files"),
    ("{CDEAFC3D-948D-49DD-AB12-E578BA4AF7AA}", "TCPIP"),
    ("{7B849A69-220F-451E-B3FE-2CB811AF94AE}", "Internet Explorer User Accelerators"),
    ("{5C935941-A954-4F7C-B507-885941ECE5C4}", "Internet Settings"),
    ("{3A0DBA37-F8B2-4356-83DE-3E90BD5C261F}", "Network Options"),
    ("{E5094040-C46C-4115-B030-04FB2E545B00}", "Regional Options"),
    ("{35141B6B-498A-4CC7-AD59-CEF93D89B2CE}", "Environment"),
    ("{169EBF44-942F-4C43-87CE-13C93996EBBE}", "AppLocker"),
    ("{9650FDBC-053A-4715-AD14-FC2DC65E8330}", "Hyper-V / VSM"),
    ("{3060E8D0-7020-11D2-842D-00C04FA372D4}", "Remote Installation Services"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_and_keeps_raw() {
        let raw = "[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}{D02B1F72-3407-48AE-BA88-E8213C6761F1}][{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]";
        let list = ExtensionList::parse(raw);
        assert_eq!(list.pairs.len(), 2);
        assert_eq!(list.pairs[0].tools.len(), 1);
        assert_eq!(known_extension_name(&list.pairs[1].cse), Some("Security"));
        assert_eq!(list.to_string(), raw);
        assert!(ExtensionList::parse("").is_empty());
    }
}
