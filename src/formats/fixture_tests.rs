//! Every real GPMC backup vendored in tests/fixtures/gpmc, read with the same code that reads ours and
//! written back: the proof that gpvault's files are GPMC's files.

use std::path::{Path, PathBuf};

use super::backup_xml::{
    self, BackupXml, ClassStoreSource, DsContent, FsObjectKind, GpoFileEntry, PACKAGE_ATTRIBUTES,
    build_extension_blocks, gpmc_file_paths,
};
use super::bkup_info::BackupInfo;
use super::gpreport::GpReport;
use super::manifest::Manifest;
use super::text::{LineEnding, UTF16LE_BOM, decode_utf8_or_utf16};
use super::xml;
use crate::model::GpoSide;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpmc");
const EXPECTED_INSTANCES: usize = 16;
/// The sample whose gpreport.xml its project's git settings re-encoded to UTF-8 (GPMC writes
/// UTF-16LE); see tests/fixtures/gpmc/README.md.
const REENCODED_GPREPORT: &str = "technology-toolbox-fr";

fn instances() -> Vec<PathBuf> {
    let root = Path::new(FIXTURES);
    assert!(
        root.is_dir(),
        "GPMC fixture folder {FIXTURES} is missing: it is part of the repository \
         (tests/fixtures/gpmc/README.md names the sources)"
    );
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if dir.join("bkupInfo.xml").is_file() {
            found.push(dir.clone());
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    found.sort();
    assert_eq!(found.len(), EXPECTED_INSTANCES, "fixture instances under {FIXTURES}");
    found
}

fn is_sample(dir: &Path, name: &str) -> bool {
    dir.to_string_lossy().contains(name)
}

/// The GPO's distinguished name, as AD writes it, from what the backup records.
fn gpo_dn(backup: &BackupXml) -> String {
    let domain = backup.core.domain.as_deref().unwrap();
    let dcs: Vec<String> = domain.split('.').map(|label| format!("DC={label}")).collect();
    format!("CN={},CN=Policies,CN=System,{}", backup.core.id, dcs.join(","))
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
}

fn structure_of(text: &str, skip: &dyn Fn(&xml::Element) -> bool) -> Vec<String> {
    let doc = xml::parse(text, "fixture").unwrap();
    let mut lines = vec![format!("declaration={} comments={:?}", doc.has_declaration, doc.prolog_comments)];
    lines.extend(xml::structure(&doc.root, skip));
    lines
}

#[test]
fn bkup_info_parses_and_writes_back_byte_for_byte() {
    for dir in instances() {
        let original = read(&dir, "bkupInfo.xml");
        let info = BackupInfo::parse(&original).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(
            info.backup_id().unwrap().to_string(),
            dir.file_name().unwrap().to_str().unwrap(),
            "the instance folder is named after its ID"
        );
        assert!(info.backup_time_utc().is_some(), "{}", dir.display());
        assert_eq!(info.to_bytes(), original, "{}", dir.display());
    }
}

#[test]
fn backup_xml_parses_and_writes_back_byte_for_byte() {
    for dir in instances() {
        let original = read(&dir, "Backup.xml");
        let backup = BackupXml::parse(&original).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let written = backup.to_bytes();

        // Structure first: it gives a readable diff if the bytes ever differ.
        let no_skip = |_: &xml::Element| false;
        assert_eq!(
            structure_of(&String::from_utf8(written.clone()).unwrap(), &no_skip),
            structure_of(std::str::from_utf8(&original).unwrap(), &no_skip),
            "{}",
            dir.display()
        );
        assert!(written == original, "{}: not byte-identical", dir.display());

        // And the model reads what the instance says about itself.
        let info = BackupInfo::parse(&read(&dir, "bkupInfo.xml")).unwrap();
        assert_eq!(backup.core.gpo_id().unwrap(), info.gpo_id().unwrap());
        assert_eq!(backup.core.domain.as_deref(), Some(info.gpo_domain.as_str()));
        assert!(backup.core.security_descriptor.as_ref().is_some_and(|sd| sd[0] == 1));
    }
}

#[test]
fn extension_blocks_are_rebuilt_from_the_file_list() {
    for dir in instances() {
        let backup = BackupXml::parse(&read(&dir, "Backup.xml")).unwrap();
        let adm = backup.extensions[0]
            .objects()
            .into_iter()
            .find(|o| o.path == r"%GPO_FSPATH%\Adm\*.*")
            .and_then(|o| o.source_expanded_path.clone())
            .unwrap();
        let root = adm.strip_suffix(r"\Adm\*.*").unwrap();

        // The catch-all block has the names as they are on disk (the Security entry uses
        // GPMC's template spelling), so list its entries first, as a folder listing would.
        let entries: Vec<GpoFileEntry> = backup
            .extensions
            .iter()
            .rev()
            .flat_map(|b| b.objects())
            .filter_map(|o| {
                let relative = o.location.as_deref()?.strip_prefix(r"DomainSysvol\GPO\")?;
                Some(GpoFileEntry { path: relative.replace('\\', "/"), is_dir: o.kind == FsObjectKind::Dir })
            })
            .collect();
        // The class store comes from AD: the objects Backup.xml describes, as a restore would
        // create them, are what the block is rebuilt from.
        let dn = gpo_dn(&backup);
        let objects = backup.class_store_objects(&dn);
        let name = backup.core.display_name.clone().unwrap_or_default();
        let source = ClassStoreSource { gpo_dn: &dn, gpo_name: &name, objects: &objects };
        let rebuilt = build_extension_blocks(
            root,
            &entries,
            &backup.core.machine_extensions(),
            &backup.core.user_extensions(),
            Some(&source),
        );
        assert_eq!(rebuilt, backup.extensions, "{}", dir.display());
        assert_eq!(backup.extensions.last().unwrap().id, backup_xml::extension_ids::UNKNOWN_EXTENSION);
    }
}

#[test]
fn gpreport_parses_and_keeps_gpmc_structure() {
    for dir in instances() {
        let original = read(&dir, "gpreport.xml");
        if !is_sample(&dir, REENCODED_GPREPORT) {
            assert_eq!(&original[..2], &UTF16LE_BOM, "{}: UTF-16LE BOM", dir.display());
        }
        let report = GpReport::parse(&original).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let backup = BackupXml::parse(&read(&dir, "Backup.xml")).unwrap();
        let info = BackupInfo::parse(&read(&dir, "bkupInfo.xml")).unwrap();

        assert_eq!(report.identifier, backup.core.id, "{}", dir.display());
        assert_eq!(Some(report.domain.as_str()), backup.core.domain.as_deref());
        assert_eq!(Some(report.name.as_str()), backup.core.display_name.as_deref());
        let flags = backup.core.flags().unwrap();
        assert_eq!(report.user.enabled, !flags.user_disabled(), "{}", dir.display());
        assert_eq!(report.computer.enabled, !flags.machine_disabled(), "{}", dir.display());
        let machine = backup.core.machine_version().unwrap();
        assert_eq!(report.computer.version_directory, u32::from(machine.directory));
        assert_eq!(report.computer.version_sysvol, u32::from(machine.sysvol));
        let user = backup.core.user_version().unwrap();
        assert_eq!(report.user.version_directory, u32::from(user.directory));
        let security = report.security.as_ref().unwrap();
        assert!(security.sddl.starts_with("O:DAG:DAD:"), "{}", dir.display());
        assert!(!security.permissions.is_empty());
        assert!(
            report
                .computer
                .extensions
                .iter()
                .chain(&report.user.extensions)
                .all(|e| !e.name.is_empty() && e.settings_type.is_some()),
            "{}",
            dir.display()
        );

        // The sections GPMC wrote follow from the extension lists.
        let names =
            |side: &super::gpreport::ReportSide| side.extensions.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
        let expected =
            |list| super::gpreport::report_extensions_for(&list).into_iter().map(|e| e.name).collect::<Vec<_>>();
        assert_eq!(names(&report.computer), expected(backup.core.machine_extensions()), "{}", dir.display());
        assert_eq!(names(&report.user), expected(backup.core.user_extensions()), "{}", dir.display());
        for extension in report.computer.extensions.iter().chain(&report.user.extensions) {
            // gpvault's table of settings types agrees with GPMC's.
            assert_eq!(&super::gpreport::ReportExtension::named(&extension.name), extension);
        }

        // BackupTime is UTC: the report GPMC made in the same run says `Z` and agrees.
        let read_time = chrono::DateTime::parse_from_rfc3339(&report.read_time).unwrap();
        let backup_time = info.backup_time_utc().unwrap();
        let gap = (read_time.timestamp() - backup_time.timestamp()).abs();
        assert!(gap <= 2, "{}: BackupTime {backup_time} vs ReadTime {read_time}", dir.display());

        // Our writer, fed what we read, produces GPMC's document shape. Settings detail inside
        // <Extension> is out of scope and skipped.
        let skip = |e: &xml::Element| e.local_name() == "Extension";
        let original_text = decode_utf8_or_utf16(&original, "gpreport.xml").unwrap();
        assert_eq!(
            structure_of(&report.to_xml_string(), &skip),
            structure_of(&original_text, &skip),
            "{}",
            dir.display()
        );
        assert_eq!(GpReport::parse(&report.to_bytes()).unwrap(), report);
    }
}

#[test]
fn dacl_only_descriptor_matches_what_gpmc_stores() {
    for dir in instances() {
        let backup = BackupXml::parse(&read(&dir, "Backup.xml")).unwrap();
        let stored = backup.core.security_descriptor.unwrap();
        // Rebuild what AD holds: owner, group, an (empty) SACL and the DACL, SACL present.
        let sid = |rid: u8| vec![1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, rid, 2, 0, 0];
        let sacl = [4u8, 0, 8, 0, 0, 0, 0, 0];
        let dacl = &stored[20..];
        let control = u16::from_le_bytes([stored[2], stored[3]]) | 0x0010;
        let mut full = vec![1, 0];
        full.extend_from_slice(&control.to_le_bytes());
        for offset in [20u32, 36, 52, 60] {
            full.extend_from_slice(&offset.to_le_bytes());
        }
        full.extend(sid(0x20));
        full.extend(sid(0x21));
        full.extend_from_slice(&sacl);
        full.extend_from_slice(dacl);
        assert_eq!(
            backup_xml::dacl_only_security_descriptor(&full).as_deref(),
            Some(stored.as_slice()),
            "{}",
            dir.display()
        );
    }
    assert_eq!(backup_xml::dacl_only_security_descriptor(&[1, 0, 4]), None);
}

#[test]
fn software_installation_flag_follows_the_class_store() {
    let mut with_class_store = 0;
    for dir in instances() {
        let backup = BackupXml::parse(&read(&dir, "Backup.xml")).unwrap();
        let info = BackupInfo::parse(&read(&dir, "bkupInfo.xml")).unwrap();
        assert_eq!(info.si_present, backup.has_class_store(), "{}", dir.display());
        with_class_store += usize::from(info.si_present);

        // A folder's manifest.xml repeats each instance's bkupInfo.xml, flag included.
        let Some(folder) = dir.parent() else { continue };
        let Ok(bytes) = std::fs::read(folder.join("manifest.xml")) else { continue };
        let manifest = Manifest::parse(&bytes).unwrap();
        assert_eq!(manifest.to_bytes(), bytes, "{}: manifest.xml byte for byte", folder.display());
        let listed = manifest.backups.iter().find(|b| b.id == info.id).unwrap();
        assert_eq!(listed, &BackupInfo { line_ending: LineEnding::Crlf, ..info.clone() });
    }
    assert_eq!(with_class_store, 1, "the simeononsecurity-si sample");
}

#[test]
fn class_store_matches_gpmc_template() {
    let dir = instances().into_iter().find(|d| is_sample(d, "simeononsecurity-si")).unwrap();
    let backup = BackupXml::parse(&read(&dir, "Backup.xml")).unwrap();
    let stores = backup.class_stores();
    assert_eq!(stores.len(), 1);
    let store = stores[0];
    assert_eq!(store.side, GpoSide::Machine);
    assert!(store.packages().is_empty());

    // The template after the packages lists every package attribute, in gpvault's order.
    let template = store.template().unwrap();
    let listed: Vec<(&str, _)> = template.attributes().map(|a| (a.name.as_str(), a.kind)).collect();
    assert_eq!(listed, PACKAGE_ATTRIBUTES.to_vec());
    assert!(template.attributes().all(|a| a.values.is_empty()));
    assert_eq!(template.content[0], DsContent::SecurityDescriptor(None));

    // And the objects a restore would create: the store (with its attributes) and Packages.
    let objects = backup.class_store_objects("CN={X},CN=Policies,CN=System,DC=soc,DC=lan");
    let dns: Vec<&str> = objects.iter().map(|o| o.dn.as_str()).collect();
    assert_eq!(
        dns,
        [
            "cn=Class Store,CN=Machine,CN={X},CN=Policies,CN=System,DC=soc,DC=lan",
            "cn=Packages,cn=Class Store,CN=Machine,CN={X},CN=Policies,CN=System,DC=soc,DC=lan",
        ]
    );
    let text = |name: &str| match &objects[0].attributes[name][..] {
        [crate::model::AttributeValue::Text(t)] => t.clone(),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(text("appSchemaVersion"), "1740");
    assert_eq!(text("extensionName"), backup.core.display_name.clone().unwrap());
    assert_eq!(text("displayName"), "LDAP://CN={X},CN=Policies,CN=System,DC=soc,DC=lan");
    assert_eq!(text("objectClass"), "classStore");
}

#[test]
fn file_paths_are_what_the_hooks_find() {
    let mut non_empty = 0;
    for dir in instances() {
        let backup = BackupXml::parse(&read(&dir, "Backup.xml")).unwrap();
        let sysvol = dir.join("DomainSysvol").join("GPO");
        let read_file = |relative: &str| std::fs::read(sysvol.join(relative)).ok();
        let found = gpmc_file_paths(&backup.extensions, &read_file);
        assert_eq!(found, backup.file_path_values(), "{}", dir.display());
        non_empty += usize::from(!found.is_empty());
    }
    assert_eq!(non_empty, 1, "the technology-toolbox-fr sample");
}
