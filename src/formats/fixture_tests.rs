//! Every real GPMC backup vendored in tests/fixtures/gpmc, read with the same code that reads ours and
//! written back: the proof that gpvault's files are GPMC's files.

use std::path::{Path, PathBuf};

use super::backup_xml::{self, BackupXml, FsObjectKind, GpoFileEntry, build_extension_blocks};
use super::bkup_info::BackupInfo;
use super::gpreport::GpReport;
use super::text::decode_utf16le;
use super::xml;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpmc");
const EXPECTED_INSTANCES: usize = 16;
/// The two samples that show GPMC's Software Installation and Folder Redirection blocks: gpvault
/// does not write those blocks as GPMC does yet (issue 7, "Backup.xml as GPMC writes it"), so
/// the byte-exact tests leave them out until it does. They are listed and parsed all the same.
pub(crate) const NOT_YET_BYTE_EXACT: &[&str] = &["simeononsecurity-si", "technology-toolbox-fr"];

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
    found.retain(|p| !NOT_YET_BYTE_EXACT.iter().any(|gap| p.to_string_lossy().contains(gap)));
    found
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
        let rebuilt =
            build_extension_blocks(root, &entries, &backup.core.machine_extensions(), &backup.core.user_extensions());
        assert_eq!(rebuilt, backup.extensions, "{}", dir.display());
        assert_eq!(backup.extensions.last().unwrap().id, backup_xml::extension_ids::UNKNOWN_EXTENSION);
    }
}

#[test]
fn gpreport_parses_and_keeps_gpmc_structure() {
    for dir in instances() {
        let original = read(&dir, "gpreport.xml");
        assert_eq!(&original[..2], &[0xFF, 0xFE], "{}: UTF-16LE BOM", dir.display());
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
        let original_text = decode_utf16le(&original, "gpreport.xml").unwrap();
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
