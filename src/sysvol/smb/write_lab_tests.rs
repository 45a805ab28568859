//! SYSVOL writes over SMB against the lab's real Samba DC, checked on the DC's own disk and
//! with `samba-tool`. Each test works in folders of its own (fresh GUIDs) and removes them.

use std::process::Command;

use crate::model::{GpoId, SecurityDescriptor, Sid};
use crate::sysvol::fault::{Call, FaultySysvol};
use crate::sysvol::local::read_tree;
use crate::sysvol::test_content::{fixture_content, old_content};
use crate::sysvol::testlab::LabDc;
use crate::sysvol::{
    EntryKind, FolderEntry, GpoFolder, PolicyPath, ReplaceStep, Sysvol, SysvolError, file_security_from_gpo,
};

/// The folder as the DC's disk holds it.
fn on_disk(lab: &LabDc, name: &str) -> GpoFolder {
    read_tree(&lab.policies_on_disk().join(name)).unwrap_or_else(|e| panic!("{name} on the DC's disk: {e}"))
}

/// Leftovers of a replacement of `gpo` on the DC's disk.
fn leftovers_of(lab: &LabDc, gpo: &GpoId) -> Vec<String> {
    let tag = gpo.to_string();
    std::fs::read_dir(lab.policies_on_disk())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("gpvault-") && n.contains(&tag))
        .collect()
}

/// Removes a test folder whatever happened, over the DC's disk.
struct Cleanup<'a>(&'a LabDc, Vec<String>);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for name in &self.1 {
            let _ = std::fs::remove_dir_all(self.0.policies_on_disk().join(name));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primitives_change_the_dc_disk_exactly() {
    let Some(lab) = LabDc::corp() else { return };
    let smb = lab.smb(2).await;
    let gpo = GpoId::new_random();
    let renamed = GpoId::new_random();
    let _cleanup = Cleanup(&lab, vec![gpo.to_string(), renamed.to_string()]);
    let root = PolicyPath::gpo(&gpo);
    let content = fixture_content();

    assert_eq!(smb.entry_kind(&root).await.unwrap(), None);
    let summary = smb.write_folder(&root, &content).await.unwrap();
    assert_eq!(summary.files_written, content.files().count());
    assert_eq!(on_disk(&lab, &gpo.to_string()), content, "bytes on the DC's disk");
    assert_eq!(smb.entry_kind(&root).await.unwrap(), Some(EntryKind::Folder));
    let gpt = root.join("GPT.INI").unwrap();
    assert_eq!(smb.entry_kind(&gpt).await.unwrap(), Some(EntryKind::File));

    // Overwrite with something shorter: no old tail may stay.
    smb.write_file(&gpt, b"[General]\r\nVersion=8\r\n").await.unwrap();
    let disk = lab.policies_on_disk().join(gpo.to_string());
    assert_eq!(std::fs::read(disk.join("GPT.INI")).unwrap(), b"[General]\r\nVersion=8\r\n");

    let listed = smb.list_folder(&root).await.unwrap();
    let mut expected: Vec<(String, EntryKind)> = std::fs::read_dir(&disk)
        .unwrap()
        .flatten()
        .map(|e| {
            let kind = if e.file_type().unwrap().is_dir() { EntryKind::Folder } else { EntryKind::File };
            (e.file_name().to_string_lossy().into_owned(), kind)
        })
        .collect();
    expected.sort_by_key(|(n, _)| n.to_lowercase());
    assert_eq!(listed, expected);

    smb.create_folder(&root.join("Machine/Documents & Settings").unwrap()).await.unwrap();
    assert!(disk.join("Machine/Documents & Settings").is_dir());
    let err = smb.create_folder(&root.join("Machine").unwrap()).await.unwrap_err();
    assert!(matches!(err, SysvolError::AlreadyExists { .. }), "{err}");
    let err = smb.create_folder(&root.join("Nowhere/Deeper").unwrap()).await.unwrap_err();
    assert!(matches!(err, SysvolError::NotFound { .. }), "{err}");

    smb.delete_file(&gpt).await.unwrap();
    assert!(!disk.join("GPT.INI").exists());
    let err = smb.delete_file(&gpt).await.unwrap_err();
    assert!(matches!(err, SysvolError::NotFound { .. }), "{err}");

    let target = PolicyPath::gpo(&renamed);
    smb.rename(&root, &target).await.unwrap();
    assert!(!disk.exists());
    assert!(lab.policies_on_disk().join(renamed.to_string()).join("Machine").is_dir());
    smb.create_folder(&root).await.unwrap();
    let err = smb.rename(&target, &root).await.unwrap_err();
    assert!(matches!(err, SysvolError::AlreadyExists { .. }), "{err}");

    smb.delete_tree(&target).await.unwrap();
    smb.delete_tree(&root).await.unwrap();
    assert!(!lab.policies_on_disk().join(renamed.to_string()).exists());
    assert!(!disk.exists());
    smb.delete_tree(&root).await.unwrap(); // nothing there: fine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_leaves_exactly_the_new_content_on_the_dc() {
    let Some(lab) = LabDc::corp() else { return };
    let smb = lab.smb(2).await;
    let gpo = GpoId::new_random();
    let _cleanup = Cleanup(&lab, vec![gpo.to_string()]);
    smb.write_folder(&PolicyPath::gpo(&gpo), &old_content()).await.unwrap();
    // A read-only file in the old folder must not stop its removal.
    let smbclient = Command::new("smbclient")
        .arg(format!("//{}/sysvol", lab.server))
        .arg(format!("-U{}%{}", lab.user, lab.password))
        .arg("-c")
        .arg(format!(r#"cd "{}\Policies\{gpo}\Machine"; setmode old-only.pol +r; allinfo old-only.pol"#, lab.realm))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&smbclient.stdout);
    assert!(smbclient.status.success() && said.contains("attributes: R"), "smbclient setmode: {said}");

    let new = fixture_content();
    let report = smb.replace_gpo_folder(&gpo, &new, None).await.unwrap();
    assert_eq!(on_disk(&lab, &gpo.to_string()), new, "exactly the new content on the DC's disk");
    assert!(report.replaced_existing);
    assert_eq!(report.removed, ["Machine/old-only.pol", "Machine/Scripts", "Machine/Scripts/scripts.ini", "User"]);
    assert_eq!(report.leftover, None);
    assert!(leftovers_of(&lab, &gpo).is_empty(), "{:?}", leftovers_of(&lab, &gpo));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replace_failing_half_way_over_smb_leaves_the_old_folder_whole() {
    let Some(lab) = LabDc::corp() else { return };
    let smb = lab.smb(2).await;
    for (call, nth, step) in [
        (Call::WriteFile, 3, ReplaceStep::WritingNewContent),
        (Call::Rename, 1, ReplaceStep::MovingOldAside),
        (Call::Rename, 2, ReplaceStep::MovingNewIn),
    ] {
        let gpo = GpoId::new_random();
        let _cleanup = Cleanup(&lab, vec![gpo.to_string()]);
        smb.write_folder(&PolicyPath::gpo(&gpo), &old_content()).await.unwrap();
        let faulty = FaultySysvol::new(&smb, call, nth);
        let err = faulty.replace_gpo_folder(&gpo, &fixture_content(), None).await.unwrap_err();
        assert!(matches!(&err, SysvolError::ReplaceFailed { step: s, .. } if *s == step), "{call:?} {nth}: {err}");
        assert_eq!(on_disk(&lab, &gpo.to_string()), old_content(), "{call:?} {nth}: old folder whole");
        assert!(leftovers_of(&lab, &gpo).is_empty(), "{call:?} {nth}: {:?}", leftovers_of(&lab, &gpo));
    }
}

/// What Samba itself derives for a GPO's folder from the GPO's descriptor: its own
/// `dsacl2fsacl`, printed as `samba-tool ntacl get --as-sddl` prints.
fn samba_dsacl2fsacl(ds: &SecurityDescriptor, domain: &Sid) -> String {
    let script = "import sys\n\
        from samba.dcerpc import security\n\
        from samba.ndr import ndr_unpack\n\
        from samba.ntacls import dsacl2fsacl\n\
        sd = ndr_unpack(security.descriptor, bytes.fromhex(sys.argv[1]))\n\
        print(dsacl2fsacl(sd.as_sddl(), security.dom_sid(sys.argv[2])))\n";
    let out = Command::new("/usr/bin/python3")
        .args(["-c", script, &hex::encode(ds.to_bytes()), &domain.to_string()])
        .output()
        .expect("Debian's python3 with the samba bindings");
    assert!(out.status.success(), "dsacl2fsacl: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nt_acls_set_over_smb_are_what_samba_derives_from_the_gpo() {
    let Some(lab) = LabDc::corp() else { return };
    let smb = lab.smb(2).await;
    let directory = lab.ldap().await;
    let domain_sid = directory.domain().sid.clone().expect("the domain has a SID");
    let estate = crate::directory::Directory::read_estate(&directory).await.unwrap();
    // The seeded GPO with delegated rights: more than the default ACEs.
    let source = estate.find_gpo("Delegated to Helpdesk").unwrap();
    let ds = source.security_descriptor.clone().expect("read with its descriptor");

    let gpo = GpoId::new_random();
    let _cleanup = Cleanup(&lab, vec![gpo.to_string()]);
    let root = PolicyPath::gpo(&gpo);
    smb.write_folder(&root, &fixture_content()).await.unwrap();
    let file_sd = file_security_from_gpo(&gpo, &ds).unwrap();
    let items = smb.set_tree_security(&root, &file_sd).await.unwrap();
    assert_eq!(items, fixture_content().entries.len() + 1);

    let expected = samba_dsacl2fsacl(&ds, &domain_sid);
    assert!(expected.contains("OICI"), "{expected}");
    let disk = lab.policies_on_disk().join(gpo.to_string());
    for rel in std::iter::once(String::new()).chain(fixture_content().entries.iter().map(|e| e.rel_path().to_string()))
    {
        let path = if rel.is_empty() { disk.clone() } else { disk.join(&rel) };
        let on_dc = lab.samba_tool(&["ntacl", "get", "--as-sddl", path.to_str().unwrap()]);
        assert_eq!(on_dc.trim(), expected, "samba-tool ntacl get {rel}");
        let item = if rel.is_empty() { root.clone() } else { root.join(&rel).unwrap() };
        let over_smb = smb.read_security(&item).await.unwrap();
        assert_eq!(over_smb.to_sddl(Some(&domain_sid)), expected, "read back over SMB: {rel}");
    }
}

/// A restore reads the folder with each item's NT ACL in the same compounds: the content is
/// what a plain read gives, and every ACL what a read of its own gives, also where they differ
/// from item to item and for an empty file (a READ answered END_OF_FILE).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_read_with_its_acls_gives_what_separate_reads_give() {
    let Some(lab) = LabDc::corp() else { return };
    let smb = lab.smb(2).await;
    let directory = lab.ldap().await;
    let estate = crate::directory::Directory::read_estate(&directory).await.unwrap();
    let delegated = estate.find_gpo("Delegated to Helpdesk").unwrap().security_descriptor.clone().unwrap();
    let plain = estate.find_gpo("Default Domain Policy").unwrap().security_descriptor.clone().unwrap();

    let gpo = GpoId::new_random();
    let _cleanup = Cleanup(&lab, vec![gpo.to_string()]);
    let root = PolicyPath::gpo(&gpo);
    let mut content = fixture_content();
    content.entries.push(FolderEntry::File { rel_path: "Machine/empty.txt".into(), bytes: Vec::new() });
    content.sort();
    smb.write_folder(&root, &content).await.unwrap();
    smb.set_tree_security(&root, &file_security_from_gpo(&gpo, &plain).unwrap()).await.unwrap();
    // One folder and one file with ACLs of their own.
    let other = file_security_from_gpo(&gpo, &delegated).unwrap();
    smb.set_security(&root.join("Machine").unwrap(), &other).await.unwrap();
    smb.set_security(&root.join("Machine/empty.txt").unwrap(), &other).await.unwrap();

    let unc = format!(r"\\{}\sysvol\{}\Policies\{gpo}", lab.server, lab.realm);
    let (folder, acls) = smb.read_gpo_folder_with_security(&gpo, &unc).await.unwrap();
    assert_eq!(folder, smb.read_gpo_folder(&gpo, &unc).await.unwrap());
    assert_eq!(folder, content);
    let acls = acls.expect("SMB reads the ACLs along");
    let rels: Vec<String> =
        std::iter::once(String::new()).chain(content.entries.iter().map(|e| e.rel_path().to_string())).collect();
    assert_eq!(acls.keys().cloned().collect::<std::collections::BTreeSet<_>>(), rels.iter().cloned().collect());
    let mut differing = 0;
    for rel in &rels {
        let item = if rel.is_empty() { root.clone() } else { root.join(rel).unwrap() };
        let alone = smb.read_security(&item).await.unwrap();
        assert_eq!(acls[rel].to_sddl(None), alone.to_sddl(None), "the ACL of '{rel}'");
        differing += usize::from(alone.to_sddl(None) == other.to_sddl(None));
    }
    assert_eq!(differing, 2, "the two items with ACLs of their own are told apart");
}

#[tokio::test]
async fn a_folder_written_over_smb_carries_the_policies_acl_until_its_own_is_set() {
    let Some(lab) = LabDc::corp() else { return };
    let smb = lab.smb(1).await;
    let domain_sid = lab.ldap().await.domain().sid.clone().expect("the domain has a SID");
    let gpo = GpoId::new_random();
    let _cleanup = Cleanup(&lab, vec![gpo.to_string()]);
    smb.create_gpo_folder(&gpo, Some("ACL probe")).await.unwrap();
    let disk = lab.policies_on_disk().join(gpo.to_string());
    assert_eq!(std::fs::read(disk.join("GPT.INI")).unwrap(), b"[General]\r\nVersion=0\r\ndisplayName=ACL probe\r\n");
    assert!(disk.join("Machine").is_dir() && disk.join("User").is_dir());
    // Samba gives a new item the inheritable ACEs of the Policies folder (POLICIES_ACL): not
    // the GPO's, which is why a restore sets them.
    let aces = |sddl: &str| sddl.find('(').map(|at| sddl[at..].to_string()).unwrap_or_default();
    let policies = lab.samba_tool(&["ntacl", "get", "--as-sddl", lab.policies_on_disk().to_str().unwrap()]);
    let new = smb.read_security(&PolicyPath::gpo(&gpo)).await.unwrap().to_sddl(Some(&domain_sid));
    assert_eq!(aces(&new), aces(policies.trim()), "new folder: {new}");
    let on_dc = lab.samba_tool(&["ntacl", "get", "--as-sddl", disk.to_str().unwrap()]);
    assert_eq!(on_dc.trim(), new, "samba-tool reads what SMB reads");
}
