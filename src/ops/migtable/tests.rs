use super::*;
use crate::migrate::table::EntryType;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpmc");

/// Every instance folder of the vendored GPMC backups.
fn fixture_instances() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::from(FIXTURES)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.join("Backup.xml").is_file() {
                    found.push(path.clone());
                }
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

/// A file's text as a person would read it, decoded here: UTF-16LE (with BOM, or registry.pol
/// after its header) or else UTF-8.
fn text_of(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let utf16 = |b: &[u8]| {
        String::from_utf16_lossy(&b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect::<Vec<_>>())
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        utf16(rest)
    } else if bytes.starts_with(b"PReg") {
        utf16(&bytes[8..])
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The CDATA values of every `<name>` element of a Backup.xml, read with a plain search.
fn cdata_values(xml: &str, name: &str) -> Vec<String> {
    let open = format!("<{name}><![CDATA[");
    xml.split(&open).skip(1).filter_map(|rest| rest.split_once("]]>").map(|(v, _)| v.to_string())).collect()
}

/// Every GPMC backup populates: its SecurityGroups' principals (with the DACL) as GPMC writes
/// them, its FilePaths and every redirected folder's path; and nothing that is not in its files.
#[test]
fn gpmc_backups_populate_what_their_files_hold() {
    let instances = fixture_instances();
    assert_eq!(instances.len(), 16, "the vendored GPMC samples");
    let mut paths_seen = 0;
    for instance in &instances {
        let id = instance.file_name().unwrap().to_string_lossy().to_string();
        let backup_xml = text_of(&instance.join("Backup.xml"));
        let texts: Vec<String> = files_below(&instance.join("DomainSysvol")).iter().map(|p| text_of(p)).collect();
        let all_text = format!("{}\n{backup_xml}", texts.join("\n")).to_lowercase();

        let mut expected_paths: Vec<String> = cdata_values(&backup_xml, "Path");
        for path in files_below(&instance.join("DomainSysvol")) {
            let name = path.file_name().unwrap().to_string_lossy().to_lowercase();
            if name.starts_with("fdeploy") {
                for line in text_of(&path).lines() {
                    if let Some((_, value)) = line.split_once('=').filter(|(_, v)| v.starts_with(r"\\")) {
                        expected_paths.push(value.trim_end().to_string());
                    }
                }
            }
        }
        // SecurityGroups' principals with a SID (GPMC also lists well-known ones it found by
        // name in the settings, with no SID: the same in every domain, never listed).
        let groups: Vec<(String, String)> = backup_xml
            .split("<Group")
            .skip(1)
            .filter_map(|group| {
                let one = |name: &str| cdata_values(group, name).into_iter().next();
                one("Sid")?;
                Some((format!("{}@{}", one("SamAccountName")?, one("DnsDomainName")?), one("Type")?))
            })
            .collect();
        for with_dacl in [false, true] {
            let (populated, source) =
                populate_from_backup(instance.parent().unwrap(), &id, PopulateOptions { with_dacl }).unwrap();
            assert!(populated.unreadable.is_empty(), "{}: {:?}", source.gpo_name, populated.unreadable);
            let rows = populated.table.rows();
            let unc: Vec<&str> =
                rows.iter().filter(|m| m.entry_type == EntryType::UncPath).map(|m| m.source.as_str()).collect();
            for path in &expected_paths {
                assert!(unc.iter().any(|u| u.eq_ignore_ascii_case(path)), "{}: {path} not populated", source.gpo_name);
            }
            for path in &unc {
                assert!(all_text.contains(&path.to_lowercase()), "{}: {path} is in none of its files", source.gpo_name);
            }
            paths_seen += unc.len();
            let principals: Vec<(String, String)> = rows
                .iter()
                .filter(|m| m.entry_type != EntryType::UncPath)
                .map(|m| (m.source.clone(), m.entry_type.xml_name().to_string()))
                .collect();
            let mut wanted = if with_dacl { groups.clone() } else { Vec::new() };
            wanted.sort_by_key(|(s, _)| s.to_lowercase());
            assert_eq!(principals, wanted, "{} with_dacl={with_dacl}", source.gpo_name);
            assert!(rows.iter().all(|m| m.destination == crate::migrate::table::Destination::SameAsSource));
        }
    }
    assert_eq!(paths_seen, 12, "the Folder Redirection sample's six paths, with and without the DACL");
}

#[test]
fn an_unknown_backup_id_names_the_folder() {
    let dir = Path::new(FIXTURES).join("technology-toolbox-fr");
    let err =
        populate_from_backup(&dir, "{00000000-0000-0000-0000-000000000000}", PopulateOptions::default()).unwrap_err();
    assert!(err.to_string().contains("no backup with ID {00000000-0000-0000-0000-000000000000}"), "{err}");
}

const GPMC_TABLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/migtable/gpmc-layout.migtable");

#[test]
fn a_table_opened_and_saved_unchanged_is_the_same_file_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let table = open(Path::new(GPMC_TABLE)).unwrap();
    assert!(!table.is_empty());
    let copy = tmp.path().join("copy.migtable");
    save(&copy, &table).unwrap();
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(GPMC_TABLE).unwrap());
    // No temporary file is left beside it.
    let names: Vec<String> =
        std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["copy.migtable"]);
}

#[test]
fn an_edited_table_is_saved_in_utf16_with_a_bom_over_the_old_file() {
    use crate::migrate::table::{Destination, Mapping};
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("corp.migtable");
    std::fs::copy(GPMC_TABLE, &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut table = open(&path).unwrap();
    let before = table.len();
    table.push(Mapping {
        entry_type: EntryType::UncPath,
        source: r"\\fs01\finance".into(),
        destination: Destination::Set(r"\\fs02\finance".into()),
    });
    save(&path, &table).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xFE], "UTF-16LE with a BOM");
    let again = open(&path).unwrap();
    assert_eq!(again.rows(), table.rows());
    assert_eq!(again.len(), before + 1);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640, "the file keeps its mode");
}

#[test]
fn a_save_that_fails_leaves_the_old_file_and_no_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let table = open(Path::new(GPMC_TABLE)).unwrap();
    // A folder where the file should go: the rename cannot replace it.
    let folder = tmp.path().join("taken.migtable");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("inside"), b"kept").unwrap();
    let err = save(&folder, &table).unwrap_err();
    assert!(err.to_string().contains("taken.migtable"), "{err}");
    assert_eq!(std::fs::read(folder.join("inside")).unwrap(), b"kept");
    // A folder that does not exist.
    let err = save(&tmp.path().join("missing/corp.migtable"), &table).unwrap_err();
    assert!(err.to_string().starts_with("cannot save the migration table to"), "{err}");
    let names: Vec<String> =
        std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["taken.migtable"], "no temporary file left behind");
}

#[test]
fn opening_names_the_file_that_cannot_be_read() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.migtable");
    assert!(open(&missing).unwrap_err().to_string().contains("nope.migtable"));
    let bad = tmp.path().join("bad.migtable");
    std::fs::write(&bad, b"<NotATable/>").unwrap();
    let err = open(&bad).unwrap_err().to_string();
    assert!(err.contains("bad.migtable"), "{err}");
}
