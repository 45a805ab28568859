use super::*;
use crate::formats::backup_xml::{
    BackupXml, CoreSettings, ExtensionItem, GpoFileEntry, build_extension_blocks, extension_ids, gpmc_file_paths,
};
use crate::formats::text::LineEnding;
use crate::model::ExtensionList;
use proptest::prelude::*;

const GPO_DN: &str = "CN={5A2B7E10-3C4D-4E5F-8A9B-0C1D2E3F4A5B},CN=Policies,CN=System,DC=lab,DC=example";
const GPO_GUID: &str = "{5A2B7E10-3C4D-4E5F-8A9B-0C1D2E3F4A5B}";
const PACKAGE_GUID: &str = "{0D4B9C21-77E3-4A8E-9F61-2B5C8D7E6F10}";
const ORPHAN_GUID: &str = "{11111111-2222-4333-8444-555555555555}";
const ROOT: &str = r"\\dc1.lab.example\sysvol\lab.example\Policies\{5A2B7E10-3C4D-4E5F-8A9B-0C1D2E3F4A5B}";
const CLASS_STORE_SAMPLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/gpmc/simeononsecurity-si/{9B8B80E1-6894-4E32-B4E5-0E7A45425A81}/Backup.xml"
));

fn text(value: &str) -> AttributeValue {
    AttributeValue::Text(value.to_string())
}

fn object(dn: &str, attributes: Vec<(&str, Vec<AttributeValue>)>) -> DirectoryObject {
    DirectoryObject {
        dn: dn.to_string(),
        attributes: attributes.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    }
}

/// A package's own descriptor: kept as the directory gave it, byte for byte.
fn descriptor() -> Vec<u8> {
    let mut sd = vec![1, 0, 0x14, 0x9c, 20, 0, 0, 0, 48, 0, 0, 0, 0, 0, 0, 0, 76, 0, 0, 0];
    sd.extend((0..64).map(|i| (i * 7) as u8));
    sd
}

/// The objects the lab's seed script creates for a GPO with one assigned package
/// (scripts/seed_gpos.py: add_class_store, make_package), with what the directory adds.
fn lab_objects() -> Vec<DirectoryObject> {
    let store = format!("CN=Class Store,CN=Machine,{GPO_DN}");
    let script =
        format!(r"\\lab.example\SysVol\lab.example\Policies\{GPO_GUID}\Machine\Applications\{PACKAGE_GUID}.aas");
    let product_code = uuid::Uuid::parse_str("8F3A2C10-1B2D-4E5F-9A8B-7C6D5E4F3A2B").unwrap().to_bytes_le().to_vec();
    vec![
        object(
            &store,
            vec![
                ("objectClass", vec![text("top"), text("classStore")]),
                ("cn", vec![text("Class Store")]),
                ("appSchemaVersion", vec![text("2")]),
                ("versionNumber", vec![text("1")]),
            ],
        ),
        object(&format!("CN=Packages,{store}"), vec![("objectClass", vec![text("top"), text("classStore")])]),
        object(
            &format!("CN={PACKAGE_GUID},CN=Packages,{store}"),
            vec![
                ("objectClass", vec![text("top"), text("packageRegistration")]),
                (
                    "objectGUID",
                    vec![AttributeValue::from_bytes(vec![0xA1, 0xFF, 0, 0x10, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])],
                ),
                ("nTSecurityDescriptor", vec![AttributeValue::from_bytes(descriptor())]),
                ("displayName", vec![text("7-Zip 23.01 (x64 edition)")]),
                ("packageName", vec![text("7-Zip 23.01 (x64 edition)")]),
                ("vendor", vec![text("Igor Pavlov")]),
                ("packageType", vec![text("5")]),
                ("packageFlags", vec![text("2064")]),
                ("msiScriptName", vec![text("A")]),
                ("msiScriptPath", vec![text(&script)]),
                ("msiScriptSize", vec![text("3120")]),
                ("msiFileList", vec![text(r"0:\\fs01.lab.example\software\7zip\7z2301-x64.msi")]),
                ("productCode", vec![AttributeValue::from_bytes(product_code)]),
                ("versionNumberHi", vec![text("23")]),
                ("versionNumberLo", vec![text("1")]),
                ("revision", vec![text("0")]),
                ("localeID", vec![text("0")]),
                ("installUiLevel", vec![text("5")]),
                ("machineArchitecture", vec![text("589824")]),
                ("lastUpdateSequence", vec![text("2024-07-01 10:11:12")]),
                ("fileExtPriority", vec![text(".7z:0"), text(".zip:1")]),
                ("cOMClassID", vec![text("{23170F69-40C1-278A-1000-000100020000}:4")]),
                ("upgradeProductCode", vec![AttributeValue::from_bytes(vec![0x00; 16])]),
                ("whenCreated", vec![text("20240701101112.0Z")]),
            ],
        ),
    ]
}

fn lab_files() -> Vec<GpoFileEntry> {
    vec![
        GpoFileEntry::file("GPT.INI"),
        GpoFileEntry::file(format!("Machine/Applications/{PACKAGE_GUID}.aas")),
        GpoFileEntry::file(format!("Machine/Applications/{ORPHAN_GUID}.aas")),
    ]
}

fn si_extensions() -> ExtensionList {
    ExtensionList::parse("[{C6DC5466-785A-11D2-84D0-00C04FB169F7}{942A8E4F-A261-11D1-A760-00C04FB9603F}]")
}

fn lab_backup(objects: &[DirectoryObject]) -> BackupXml {
    let source = ClassStoreSource { gpo_dn: GPO_DN, gpo_name: "Software: 7-Zip", objects };
    let extensions =
        build_extension_blocks(ROOT, &lab_files(), &si_extensions(), &ExtensionList::default(), Some(&source));
    BackupXml {
        security_groups: Vec::new(),
        file_paths: Vec::new(),
        core: CoreSettings {
            id: GPO_GUID.into(),
            machine_extension_guids: Some(si_extensions().raw),
            ..Default::default()
        },
        extensions,
        line_ending: LineEnding::Crlf,
    }
}

fn sample() -> BackupXml {
    BackupXml::parse(CLASS_STORE_SAMPLE.as_bytes()).unwrap()
}

#[test]
fn lab_package_becomes_gpmc_dsobjects() {
    let backup = lab_backup(&lab_objects());
    let stores = backup.class_stores();
    assert_eq!(stores.len(), 1);
    let store = stores[0];
    assert_eq!(store.side, GpoSide::Machine);
    assert_eq!(store.object.path, "cn=Class Store,%GPO_MACH_DSPATH%");
    assert_eq!(
        store.object.source_expanded_path.as_deref(),
        Some(
            "cn=Class Store,cn=Machine,cn={5A2B7E10-3C4D-4E5F-8A9B-0C1D2E3F4A5B},CN=Policies,CN=System,DC=lab,DC=example"
        )
    );

    let packages = store.packages();
    assert_eq!(packages.len(), 1);
    let package = packages[0];
    assert_eq!(package.name(), PACKAGE_GUID);
    assert_eq!(package.object.path, format!("CN={PACKAGE_GUID},CN=Packages,CN=Class Store,%GPO_MACH_DSPATH%"));
    assert_eq!(package.object.re_evaluate_function.as_deref(), Some(SI_PROCESS_PACKAGE));
    assert_eq!(package.security_descriptor(), Some(descriptor().as_slice()));
    let aas = package.aas().unwrap();
    assert_eq!(
        aas.location.as_deref(),
        Some(format!(r"DomainSysvol\GPO\Machine\Applications\{PACKAGE_GUID}.aas").as_str())
    );

    // Every attribute GPMC lists, in its order and kinds, values as GPMC writes them.
    let listed: Vec<(&str, DsAttributeKind)> = package.attributes().map(|a| (a.name.as_str(), a.kind)).collect();
    assert_eq!(listed, PACKAGE_ATTRIBUTES.to_vec());
    let values = |name: &str| package.object.attribute(name).unwrap().values.clone();
    assert_eq!(values("Vendor"), ["Igor Pavlov"]);
    assert_eq!(values("packageFlags"), ["2064"]);
    assert_eq!(values("fileExtPriority"), [".7z:0", ".zip:1"]);
    assert_eq!(values("productCode"), ["10 2c 3a 8f 2d 1b 5f 4e 9a 8b 7c 6d 5e 4f 3a 2b"]);
    assert_eq!(values("objectGUID"), ["a1 ff 00 10 02 03 04 05 06 07 08 09 0a 0b 0c 0d"]);
    assert!(values("url").is_empty() && values("categories").is_empty());

    // The class store's own attributes: the directory's value, else what GPMC writes.
    let store_values: Vec<(&str, Vec<String>)> =
        store.object.attributes().map(|a| (a.name.as_str(), a.values.clone())).collect();
    assert_eq!(
        store_values,
        [
            ("appSchemaVersion", vec!["2".to_string()]),
            ("extensionName", vec!["Software: 7-Zip".to_string()]),
            ("description", vec![CLASS_STORE_DESCRIPTION.to_string()]),
            ("displayName", vec![CLASS_STORE_DISPLAY_NAME.to_string()]),
        ]
    );

    // The .aas file no package names stays a plain file; the Applications folder too.
    let catch_all = backup.extensions.iter().find(|b| b.id == extension_ids::UNKNOWN_EXTENSION).unwrap();
    let plain: Vec<&str> = catch_all.objects().iter().map(|o| o.path.as_str()).collect();
    assert_eq!(
        plain,
        [r"%GPO_MACH_FSPATH%\Applications".to_string(), format!(r"%GPO_MACH_FSPATH%\Applications\{ORPHAN_GUID}.aas")]
    );
}

#[test]
fn block_has_the_shape_of_the_real_sample() {
    // The sample has no package: compare everything but the package with it, line by line
    // with the values and the GPO's identity blanked out.
    let sample = sample();
    let sample_block = sample.extensions.iter().find(|b| b.id == extension_ids::SOFTWARE_INSTALLATION).unwrap();
    let mut ours = lab_backup(&lab_objects());
    for block in &mut ours.extensions {
        for item in &mut block.items {
            if let ExtensionItem::Directory(store) = item {
                strip_packages(store);
            }
        }
    }
    let ours_block = ours.extensions.iter().find(|b| b.id == extension_ids::SOFTWARE_INSTALLATION).unwrap();
    let shape = |backup: &BackupXml, block: &crate::formats::backup_xml::ExtensionBlock| {
        let mut single = backup.clone();
        single.extensions = vec![block.clone()];
        single.line_ending = LineEnding::Lf;
        let text = single.to_xml_string();
        let start = text.find("<GroupPolicyExtension bkp:ID=\"{c6dc").unwrap();
        let end = text.rfind("</GroupPolicyExtension>").unwrap();
        text[start..end]
            .lines()
            .map(|l| {
                let indent = l.len() - l.trim_start().len();
                let tag: String = l.trim_start().chars().take_while(|c| !c.is_whitespace() && *c != '>').collect();
                let attribute = |name: &str| {
                    l.split(&format!("{name}=\"")).nth(1).and_then(|p| p.split('"').next()).unwrap_or("").to_string()
                };
                format!("{indent} {tag} {} {}", attribute("bkp:Path"), attribute("bkp:DSAttrName"))
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&ours, ours_block), shape(&sample, sample_block));
}

fn strip_packages(object: &mut DsObject) {
    object.content.retain(
        |c| !matches!(c, DsContent::Object(o) if o.re_evaluate_function.as_deref() == Some(SI_PROCESS_PACKAGE)),
    );
    for content in &mut object.content {
        if let DsContent::Object(child) = content {
            strip_packages(child);
        }
    }
}

#[test]
fn written_block_reads_back_and_gives_back_the_directory_objects() {
    let objects = lab_objects();
    let backup = lab_backup(&objects);
    let parsed = BackupXml::parse(&backup.to_bytes()).unwrap();
    assert_eq!(parsed, backup);
    assert!(parsed.has_class_store());

    let restored = parsed.class_store_objects(GPO_DN);
    let dns: Vec<&str> = restored.iter().map(|o| o.dn.as_str()).collect();
    assert_eq!(
        dns,
        [
            format!("cn=Class Store,CN=Machine,{GPO_DN}"),
            format!("cn=Packages,cn=Class Store,CN=Machine,{GPO_DN}"),
            format!("CN={PACKAGE_GUID},CN=Packages,CN=Class Store,CN=Machine,{GPO_DN}"),
        ]
    );
    // Every value the lab object had for an attribute GPMC keeps comes back as it was.
    let package = &restored[2];
    let original = &objects[2];
    for (name, _) in PACKAGE_ATTRIBUTES {
        let ours = package.attributes.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
        let theirs = original.attributes.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
        assert_eq!(ours, theirs, "{name}");
    }
    assert_eq!(package.attributes["nTSecurityDescriptor"], vec![AttributeValue::from_bytes(descriptor())]);
    assert_eq!(package.attributes["objectClass"], vec![text("packageRegistration")]);
    assert_eq!(restored[0].attributes["displayName"], vec![text(&format!("LDAP://{GPO_DN}"))]);
    assert!(!package.attributes.contains_key("whenCreated"));

    // FilePaths: the folder of the package's MSI.
    let no_files = |_: &str| None;
    assert_eq!(gpmc_file_paths(&parsed.extensions, &no_files), [r"\\fs01.lab.example\software\7zip"]);
}

#[test]
fn dwords_cross_the_ldap_sign() {
    assert_eq!(dword_from_ldap("-2147483648"), Some(0x8000_0000));
    assert_eq!(dword_from_ldap("4294967295"), Some(u32::MAX));
    assert_eq!(dword_from_ldap("-1"), Some(u32::MAX));
    assert_eq!(dword_from_ldap("x"), None);
    assert_eq!(dword_to_ldap(u32::MAX), "-1");
    assert_eq!(dword_to_ldap(2064), "2064");
}

#[test]
fn paths_outside_the_gpo_are_not_expanded() {
    assert_eq!(
        expand_ds_path("cn=Packages,cn=Class Store,%GPO_USER_DSPATH%", "CN={G},DC=x").as_deref(),
        Some("cn=Packages,cn=Class Store,CN=User,CN={G},DC=x")
    );
    assert_eq!(expand_ds_path("CN=Admins,DC=x", "CN={G},DC=x"), None);
    assert_eq!(expand_ds_path("CN=%GPO_DSPATH%,%GPO_MACH_DSPATH%", "CN={G},DC=x"), None);
}

#[test]
fn bad_values_are_refused_with_the_element() {
    let good = CLASS_STORE_SAMPLE;
    let bad_dword = good.replace("<![CDATA[1740]]>", "<![CDATA[seventeen]]>");
    let err = BackupXml::parse(bad_dword.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("appSchemaVersion"), "{err}");
    assert!(err.to_string().contains("DWORD"), "{err}");

    let bad_binary = good.replacen(
        "<DSAttributeBinary bkp:DSAttrName=\"objectGUID\"/>",
        "<DSAttributeBinary bkp:DSAttrName=\"objectGUID\"><DSValue><![CDATA[zz]]></DSValue></DSAttributeBinary>",
        1,
    );
    assert!(BackupXml::parse(bad_binary.as_bytes()).unwrap_err().to_string().contains("hex"));

    let no_name = good.replacen(" bkp:DSAttrName=\"cOMProgID\"", "", 1);
    assert!(BackupXml::parse(no_name.as_bytes()).unwrap_err().to_string().contains("bkp:DSAttrName"));

    let no_class = good.replacen(" bkp:ObjectClass=\"classStore\"", "", 1);
    assert!(BackupXml::parse(no_class.as_bytes()).unwrap_err().to_string().contains("bkp:ObjectClass"));

    let stray = good.replacen("<DSValue><![CDATA[1740]]></DSValue>", "<Bogus/>", 1);
    assert!(BackupXml::parse(stray.as_bytes()).unwrap_err().to_string().contains("<DSValue>"));
}

proptest! {
    #[test]
    fn parser_never_panics_on_a_mutated_class_store(pos in 0usize..20000, byte in any::<u8>()) {
        let mut bytes = lab_backup(&lab_objects()).to_bytes();
        let start = bytes.windows(9).position(|w| w == b"<DSObject").unwrap();
        let at = start + pos % (bytes.len() - start);
        bytes[at] = byte;
        if let Ok(parsed) = BackupXml::parse(&bytes) {
            // Whatever parses must also write, parse again and convert.
            let again = BackupXml::parse(&parsed.to_bytes());
            prop_assert!(again.is_ok());
            let _ = parsed.class_store_objects(GPO_DN);
        }
    }
}
