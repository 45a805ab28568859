//! Search on a real GPMC backup (the vendored technology-toolbox-fr instance: a Machine
//! registry.pol, fdeploy.ini files with UNC paths and SIDs) and on a Groups.xml with names,
//! SIDs and a stored password. The lab run is in tests/search_e2e.rs.

use std::path::Path;

use super::*;
use crate::model::FolderEntry;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpmc/technology-toolbox-fr");
const SAMPLE_ID: &str = "{F5D718B7-BAFD-437F-8195-532AB42E2E13}";

fn sample_folder() -> GpoFolder {
    read_local_folder(&Path::new(FIXTURES).join(SAMPLE_ID).join("DomainSysvol/GPO")).unwrap()
}

fn query(text: &str, kind: SearchKind) -> Query {
    Query::new(text, kind).unwrap()
}

fn files_and_kinds(hits: &[FileHit]) -> Vec<(SearchKind, &str)> {
    hits.iter().map(|(k, f, _, _)| (*k, f.as_str())).collect()
}

#[test]
fn registry_values_match_with_or_without_the_hive() {
    let folder = sample_folder();
    for text in [
        r"Software\Policies\Microsoft\Windows\NetCache\SyncAtLogoff",
        r"HKLM\Software\Policies\Microsoft\Windows\NetCache\SyncAtLogoff",
        r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\NetCache\syncatlogoff",
        "SyncAtLogoff",
    ] {
        let (hits, unreadable) = search_folder(&folder, &query(text, SearchKind::Registry));
        assert!(unreadable.is_empty(), "{unreadable:?}");
        assert_eq!(hits.len(), 1, "{text}: {hits:?}");
        let (kind, file, setting, value) = &hits[0];
        assert_eq!(
            (*kind, file.as_str(), value.as_str()),
            (SearchKind::Registry, "Machine/registry.pol", "REG_DWORD 1")
        );
        assert!(setting.ends_with(r"NetCache\SyncAtLogoff"), "{setting}");
    }
    // A key gives every value below it; a registry search finds no paths or principals.
    let (hits, _) =
        search_folder(&folder, &query(r"HKLM\Software\Policies\Microsoft\Windows\NetCache", SearchKind::Registry));
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(search_folder(&folder, &query("NoSuchValueAnywhere", SearchKind::Any)).0.is_empty());
}

#[test]
fn unc_paths_match_below_the_share_and_not_beside_it() {
    let folder = sample_folder();
    let (hits, _) = search_folder(&folder, &query(r"\\fab-fs01\users$", SearchKind::Path));
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|(k, f, _, v)| *k == SearchKind::Path
        && f.starts_with("User/Documents & Settings/fdeploy")
        && v.to_lowercase().starts_with(r"\\fab-fs01\users$\")));
    // `\\FAB-FS01\Users` is another share than `Users$`.
    assert!(search_folder(&folder, &query(r"\\FAB-FS01\Users", SearchKind::Path)).0.is_empty());
    // Part of a path, without the leading backslashes, matches anywhere in it.
    let (desktop, _) = search_folder(&folder, &query(r"%USERNAME%\Desktop", SearchKind::Path));
    assert!(!desktop.is_empty() && desktop.len() < hits.len(), "{desktop:?}");
}

#[test]
fn a_sid_finds_its_references_in_every_reader() {
    let folder = sample_folder();
    let (hits, _) = search_folder(&folder, &query("S-1-1-0", SearchKind::Any));
    assert!(!hits.is_empty());
    assert!(
        hits.iter().all(|(k, _, _, v)| *k == SearchKind::Principal && v.eq_ignore_ascii_case("S-1-1-0")),
        "{hits:?}"
    );
    let files: BTreeSet<&str> = hits.iter().map(|(_, f, _, _)| f.as_str()).collect();
    assert!(
        files.iter().any(|f| f.ends_with("fdeploy.ini")) && files.iter().any(|f| f.ends_with("fdeploy1.ini")),
        "{files:?}"
    );
}

const SECRET: &str = "j1Uyj3Vx8TY9LtLZil2uAuZkFQA/4latT76ZwgdHdhw";

fn groups_folder() -> GpoFolder {
    let xml = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Groups clsid="{{3125E937-EB16-4b4c-9934-544FC6D24D26}}"><User clsid="{{DF5F1855-51E5-4d24-8B1A-D9BDE98BA1D1}}" name="LocalSupport" image="2" changed="2013-07-04 00:07:13" uid="{{47F24835-4B58-4E48-A749-5A9F5AFB7CEF}}"><Properties action="U" cpassword="{SECRET}" userName="LocalSupport"/></User><Group clsid="{{6D4A79E4-529C-4481-ABD0-F5BD7EA93BA7}}" name="Administrators (built-in)" image="2" changed="2024-03-11 09:00:00" uid="{{1E1A3B4C-2B2C-4E1D-9A8D-2D1B1C7A9E11}}"><Properties action="U" groupSid="S-1-5-32-544" groupName="Administrators (built-in)"><Members><Member name="CORP\Helpdesk" action="ADD" sid="S-1-5-21-1-2-3-1109"/><Member name="CORP\Branch Helpdesk" action="ADD" sid="S-1-5-21-1-2-3-1200"/></Members></Properties></Group></Groups>"#
    );
    GpoFolder {
        entries: vec![FolderEntry::File {
            rel_path: "Machine/Preferences/Groups/Groups.xml".into(),
            bytes: xml.into_bytes(),
        }],
    }
}

#[test]
fn a_name_finds_that_account_only_and_its_sid_once_resolved() {
    let folder = groups_folder();
    let by_name = |text: &str| search_folder(&folder, &query(text, SearchKind::Principal)).0;
    let hits = by_name("Helpdesk");
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].3, r"CORP\Helpdesk");
    assert_eq!(by_name(r"corp\helpdesk").len(), 1);
    assert!(by_name(r"BRANCH\Helpdesk").is_empty(), "another domain's account of the same name");

    let resolved = query("Helpdesk", SearchKind::Principal).with_sids(["S-1-5-21-1-2-3-1109".parse().unwrap()]);
    let hits = search_folder(&folder, &resolved).0;
    let values: BTreeSet<&str> = hits.iter().map(|h| h.3.as_str()).collect();
    assert_eq!(values, BTreeSet::from([r"CORP\Helpdesk", "S-1-5-21-1-2-3-1109"]));
}

#[test]
fn no_hit_ever_carries_a_stored_password() {
    let folder = groups_folder();
    for text in ["LocalSupport", "cpassword", SECRET, "Helpdesk", "S-1-5-32-544", r"\\"] {
        let (hits, _) = search_folder(&folder, &query(text, SearchKind::Any));
        let shown = format!("{hits:?}");
        assert!(!shown.contains(SECRET), "{text}: {shown}");
    }
    assert_eq!(shown_value("cpassword", SECRET), "(hidden)");
}

#[tokio::test]
async fn a_backup_folder_is_searched_instance_by_instance_without_a_connection() {
    let report = search_backups(Path::new(FIXTURES), &query("SyncAtSuspend", SearchKind::Any), 2).await.unwrap();
    assert_eq!(report.searched_count, 1);
    assert_eq!(report.hits.len(), 1, "{report:?}");
    let hit = &report.hits[0];
    assert_eq!(hit.backup_id.as_deref(), Some(SAMPLE_ID));
    assert_eq!(hit.gpo_name, "Folder Redirection Policy");
    assert_eq!(hit.gpo_id.to_string(), "{A6624E32-DB52-4B1C-AE30-8A136B3A4B9A}");
    assert_eq!(
        files_and_kinds(&[(hit.kind, hit.file.clone(), String::new(), String::new())]),
        [(SearchKind::Registry, "Machine/registry.pol")]
    );
    assert!(matches!(Query::new("  ", SearchKind::Any), Err(SearchError::EmptyQuery)));
}
