//! Listing, showing and comparing the real GPMC backups of the fixtures, and instances changed
//! on purpose (copies in a temporary folder: the fixtures are read-only).

use std::path::{Path, PathBuf};

use super::*;
use crate::formats::BackupInfo;
use crate::formats::registry_pol::{PolEntry, RegistryPol};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpmc");
const CHROME: &str = "{403B3DA7-7021-439A-8CA4-B2B0C1138937}";
const CHROME_DIR: &str = "nsacyber-shb/Chrome/Group Policy Objects/Computer";

fn all_fixtures() -> Catalog {
    list_backups(Path::new(FIXTURES), &ListFilter { depth: 8, ..Default::default() }).unwrap()
}

fn files_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_named(&path, name));
        } else if path.file_name().unwrap() == name {
            out.push(path);
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn lines(details: &BackupDetails) -> Vec<String> {
    details.sections().into_iter().flat_map(|s| s.lines).collect()
}

fn section<'a>(sections: &'a [DetailSection], title: &str) -> &'a DetailSection {
    sections.iter().find(|s| s.title == title).unwrap_or_else(|| panic!("no {title} section in {sections:?}"))
}

#[test]
fn every_gpmc_fixture_lists_with_its_size() {
    let catalog = all_fixtures();
    let on_disk = files_named(Path::new(FIXTURES), "bkupInfo.xml");
    assert_eq!(catalog.rows.len(), on_disk.len());
    assert!(catalog.findings.is_empty(), "{:?}", catalog.findings);
    for path in on_disk {
        let info = BackupInfo::parse(&std::fs::read(&path).unwrap()).unwrap();
        let row = catalog.rows.iter().find(|r| r.backup_id == info.id).expect("listed");
        assert_eq!(
            (row.gpo_id.as_str(), row.display_name.as_str()),
            (info.gpo_guid.as_str(), info.gpo_display_name.as_str())
        );
        assert!(!row.domain.is_empty() && !row.made_by_gpvault);
        // The size is every file of the folder, as du would add it up.
        let folder = path.parent().unwrap();
        let mut expected = 0;
        let mut pending = vec![folder.to_path_buf()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                if entry.path().is_dir() {
                    pending.push(entry.path());
                } else {
                    expected += entry.metadata().unwrap().len();
                }
            }
        }
        assert_eq!(row.size_bytes, Some(expected), "{}", row.backup_id);
    }
    // A GPO by name or GUID, any case.
    let filter = |gpo: &str| ListFilter { depth: 8, gpo: Some(gpo.into()), ..Default::default() };
    let chrome = catalog.rows.iter().find(|r| r.backup_id == CHROME).unwrap();
    let by_guid = list_backups(Path::new(FIXTURES), &filter(&chrome.gpo_id.to_lowercase())).unwrap();
    let chrome_name = chrome.display_name.clone();
    let by_name = list_backups(Path::new(FIXTURES), &filter(&chrome_name.to_uppercase())).unwrap();
    assert_eq!(by_guid.rows, by_name.rows);
    assert_eq!(by_guid.rows.len(), 1);
}

#[test]
fn every_gpmc_fixture_shows_its_settings_readably() {
    for row in all_fixtures().rows {
        let details = show_backup(Path::new(FIXTURES), &row.backup_id, 8).unwrap();
        let g = &details.gpo;
        assert!(g.unreadable.is_empty(), "{}: {:?}", row.backup_id, g.unreadable);
        assert_eq!(g.name, row.display_name);
        assert!(g.dacl.as_ref().is_some_and(|aces| !aces.is_empty()), "{}: a DACL", row.backup_id);
        let sections = details.sections();
        let core = section(&sections, "GPO");
        assert!(core.lines.iter().any(|l| l.contains(&row.gpo_id)), "{core:?}");
        // Every settings file the instance holds is read, and says something.
        let pols = files_named(&row.folder.join("DomainSysvol"), "registry.pol");
        if !pols.is_empty() {
            let admx = section(&sections, "Administrative Templates");
            assert!(admx.lines.len() > pols.len(), "{}: {admx:?}", row.backup_id);
        }
        for inf in files_named(&row.folder.join("DomainSysvol"), "GptTmpl.inf") {
            // A template with more than its [Unicode] and [Version] sections sets something.
            let text =
                crate::formats::text::decode_utf8_or_utf16(&std::fs::read(&inf).unwrap(), "GptTmpl.inf").unwrap();
            if text.lines().filter(|l| l.trim_start().starts_with('[')).count() > 2 {
                assert!(section(&sections, "Security Settings").lines.len() > 1, "{}", row.backup_id);
            }
        }
        // The names of the DACL's trustees come from Backup.xml's SecurityGroups.
        let security = section(&sections, "Security");
        assert!(security.lines.iter().any(|l| l.contains("Domain Admins")), "{}: {security:?}", row.backup_id);
    }
}

#[test]
fn chrome_baseline_values_read_as_gpmc_reports_them() {
    let dir = Path::new(FIXTURES).join(CHROME_DIR);
    let details = show_backup(&dir, CHROME, 0).unwrap();
    let all = lines(&details);
    // Values of the DoD Google Chrome STIG, as its registry.pol sets them.
    for expected in [
        "Software\\Policies\\Google\\Chrome\\DefaultPopupsSetting = REG_DWORD 2",
        "Software\\Policies\\Google\\Chrome\\DefaultSearchProviderName = REG_SZ Google Encrypted",
    ] {
        assert!(all.iter().any(|l| l.trim() == expected), "missing {expected}");
    }
    // Every text value shown is one GPMC's own report of this GPO shows too.
    let report = std::fs::read(dir.join(CHROME).join("gpreport.xml")).unwrap();
    let report = crate::formats::text::decode_utf8_or_utf16(&report, "gpreport.xml").unwrap();
    let texts: Vec<&str> =
        details.gpo.settings.iter().filter_map(|s| s.value.strip_prefix("REG_SZ ")).filter(|v| !v.is_empty()).collect();
    assert!(texts.len() >= 3, "{texts:?}");
    for text in texts {
        let escaped = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        assert!(report.contains(text) || report.contains(&escaped), "{text} is not in gpreport.xml");
    }
    // Backup and GPO sections say what bkupInfo.xml and Backup.xml say.
    let sections = details.sections();
    let backup = section(&sections, "Backup");
    assert!(backup.lines.iter().any(|l| l.ends_with("GPMC")));
    assert!(section(&sections, "Links").lines[0].contains("not recorded"));
}

#[test]
fn folder_redirection_targets_are_shown() {
    let dir = Path::new(FIXTURES).join("technology-toolbox-fr");
    let details = show_backup(&dir, "{F5D718B7-BAFD-437F-8195-532AB42E2E13}", 0).unwrap();
    let sections = details.sections();
    let redirection = section(&sections, "Folder Redirection");
    assert!(redirection.lines.iter().any(|l| l.contains(r"\\FAB-FS01\Users$\%USERNAME%\Desktop")), "{redirection:?}");
    // FilePaths in Backup.xml lists the same server's share (GPMC's own reading of the file).
    let backup = std::fs::read_to_string(dir.join("{F5D718B7-BAFD-437F-8195-532AB42E2E13}/Backup.xml")).unwrap();
    assert!(backup.contains(r"\\FAB-FS01\Users$"));
}

#[test]
fn every_gpmc_fixture_diffs_against_another_and_equals_itself() {
    let rows = all_fixtures().rows;
    for (i, row) in rows.iter().enumerate() {
        let other = &rows[(i + 1) % rows.len()];
        let same = diff_backups(Path::new(FIXTURES), &row.backup_id, &row.backup_id, 8).unwrap();
        assert!(same.is_equal(), "{}: {:?}", row.backup_id, same.lines);
        let diff = diff_backups(Path::new(FIXTURES), &row.backup_id, &other.backup_id, 8).unwrap();
        assert!(!diff.is_equal());
        assert!(diff.notes.iter().any(|n| n.contains("different GPOs")), "{:?}", diff.notes);
        let guid = diff.lines.iter().find(|l| l.item == "GUID").expect("a GUID line");
        assert_eq!(
            (guid.old.as_deref(), guid.new.as_deref()),
            (Some(row.gpo_id.as_str()), Some(other.gpo_id.as_str()))
        );
        // Settings only one side has are listed as added or removed, with their values.
        let settings = |l: &&DiffLine| l.area == "Administrative Templates" || l.area == "Security Settings";
        for line in diff.lines.iter().filter(settings) {
            match line.change {
                Change::Removed => assert!(line.old.is_some() && line.new.is_none()),
                Change::Added => assert!(line.new.is_some() && line.old.is_none()),
                Change::Changed => assert_ne!(line.old, line.new),
            }
        }
    }
}

/// Two copies of the Chrome backup in a temporary folder, the second one changed: a registry
/// value, one value gone, one new, and the GPO's status.
fn chrome_then_changed() -> (tempfile::TempDir, String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let source = Path::new(FIXTURES).join(CHROME_DIR).join(CHROME);
    let old_id = "{11111111-0000-0000-0000-000000000001}".to_string();
    let new_id = "{11111111-0000-0000-0000-000000000002}".to_string();
    for (id, hour) in [(&old_id, "01"), (&new_id, "02")] {
        let dir = tmp.path().join(id);
        copy_dir(&source, &dir);
        let mut info = BackupInfo::parse(&std::fs::read(dir.join("bkupInfo.xml")).unwrap()).unwrap();
        info.id = id.clone();
        info.backup_time = format!("2026-11-25T{hour}:00:00");
        std::fs::write(dir.join("bkupInfo.xml"), info.to_bytes()).unwrap();
    }
    let new_dir = tmp.path().join(&new_id);
    let pol_path = new_dir.join("DomainSysvol/GPO/Machine/registry.pol");
    let mut pol = RegistryPol::parse(&std::fs::read(&pol_path).unwrap()).unwrap();
    let chrome = r"Software\Policies\Google\Chrome";
    let popups = pol.entries.iter_mut().find(|e| e.value_name == "DefaultPopupsSetting").unwrap();
    *popups = PolEntry::dword(chrome, "DefaultPopupsSetting", 1);
    let gone = pol.entries.iter().position(|e| e.value_name == "DefaultGeolocationSetting").unwrap();
    pol.entries.remove(gone);
    pol.entries.push(PolEntry::dword(chrome, "BrandNewSetting", 7));
    std::fs::write(&pol_path, pol.to_bytes()).unwrap();
    let backup_xml = std::fs::read_to_string(new_dir.join("Backup.xml")).unwrap();
    assert!(backup_xml.contains("<Options><![CDATA[0]]></Options>"), "the fixture's GPO is enabled");
    std::fs::write(
        new_dir.join("Backup.xml"),
        backup_xml.replace("<Options><![CDATA[0]]></Options>", "<Options><![CDATA[2]]></Options>"),
    )
    .unwrap();
    (tmp, old_id, new_id)
}

#[test]
fn a_changed_value_a_removed_and_an_added_one_are_one_line_each() {
    let (tmp, old_id, new_id) = chrome_then_changed();
    let diff = diff_backups(tmp.path(), &old_id, &new_id, 0).unwrap();
    let shown: Vec<String> = diff.lines.iter().map(ToString::to_string).collect();
    let expected = [
        "~ GPO: Status: Enabled (flags 0) -> Computer configuration settings disabled (flags 2)",
        "+ Administrative Templates: Machine/registry.pol: Software\\Policies\\Google\\Chrome\\BrandNewSetting = REG_DWORD 7",
        "- Administrative Templates: Machine/registry.pol: Software\\Policies\\Google\\Chrome\\DefaultGeolocationSetting = REG_DWORD 2",
        "~ Administrative Templates: Machine/registry.pol: Software\\Policies\\Google\\Chrome\\DefaultPopupsSetting: REG_DWORD 2 -> REG_DWORD 1",
    ];
    assert_eq!(shown, expected, "{shown:#?}");
    assert!(diff.notes.iter().any(|n| n.contains("links are not recorded")), "{:?}", diff.notes);
    let reverse = diff_backups(tmp.path(), &new_id, &old_id, 0).unwrap();
    assert_eq!(reverse.lines.len(), 4);
    assert_eq!(reverse.lines.iter().filter(|l| l.change == Change::Added).count(), 1);
    assert!(reverse.lines.iter().any(|l| l.change == Change::Added && l.item.ends_with("DefaultGeolocationSetting")));
}

#[test]
fn an_unreadable_settings_file_is_listed_and_the_rest_still_shows() {
    let (tmp, _, new_id) = chrome_then_changed();
    let pol = tmp.path().join(&new_id).join("DomainSysvol/GPO/Machine/registry.pol");
    std::fs::write(&pol, b"PReg\x01\0\0\0[garbage").unwrap();
    let details = show_backup(tmp.path(), &new_id.to_lowercase(), 0).unwrap();
    assert_eq!(details.gpo.unreadable.len(), 1);
    assert_eq!(details.gpo.unreadable[0].path, "Machine/registry.pol");
    let sections = details.sections();
    assert!(section(&sections, "Unreadable files").lines[0].starts_with("Machine/registry.pol: "));
    assert!(section(&sections, "GPO").lines.iter().any(|l| l.contains("Computer configuration settings disabled")));
    assert!(matches!(
        show_backup(tmp.path(), "{99999999-0000-0000-0000-000000000000}", 0),
        Err(CatalogError::NoSuchBackup { .. })
    ));
}

#[test]
fn deleted_gpos_are_those_of_the_domain_that_no_longer_exist() {
    use crate::model::{DomainInfo, Estate};
    let mut catalog = all_fixtures();
    // The fixtures' most common domain (SHB.GOV, also written shb.gov).
    let count = |d: &str| catalog.rows.iter().filter(|r| r.domain.eq_ignore_ascii_case(d)).count();
    let domain = catalog.rows.iter().map(|r| r.domain.clone()).max_by_key(|d| count(d)).unwrap();
    let of_domain: Vec<BackupRow> =
        catalog.rows.iter().filter(|r| r.domain.eq_ignore_ascii_case(&domain)).cloned().collect();
    assert!(of_domain.len() >= 2, "fixtures share a domain");
    // The domain still has every GPO of the first backup, none of the others.
    let still_there = of_domain[0].gpo();
    let gpo = crate::model::Gpo {
        id: still_there,
        dn: format!("CN={still_there},CN=Policies,CN=System,DC=example"),
        display_name: of_domain[0].display_name.clone(),
        version: Default::default(),
        flags: Default::default(),
        functionality_version: None,
        file_sys_path: String::new(),
        machine_extensions: Default::default(),
        user_extensions: Default::default(),
        wmi_filter_link: None,
        security_descriptor: None,
        created: None,
        changed: None,
    };
    let estate = Estate {
        domain: DomainInfo { dns_name: domain.to_uppercase(), ..Default::default() },
        gpos: vec![gpo],
        ..Default::default()
    };
    let total = catalog.rows.len();
    let other_domains = catalog.keep_deleted(&estate);
    assert_eq!(other_domains, total - of_domain.len());
    assert!(catalog.rows.iter().all(|r| r.gpo() != still_there && r.domain.eq_ignore_ascii_case(&domain)));
    assert_eq!(catalog.rows.len(), of_domain.iter().filter(|r| r.gpo() != still_there).count());
}
