//! Directory writes against the lab's real Samba DC, read back through `read_estate` and
//! checked with ldapsearch and samba-tool. Tests that create GPOs hold `SERIAL`: one of them
//! runs `samba-tool ntacl sysvolcheck`, which fails while another test's GPO has no folder yet.

use std::collections::BTreeMap;
use std::path::Path;

use super::{
    AttributeValue, DeletedGpo, Directory, DirectoryError, DirectoryObject, GpLink, GpoAttributes, GpoChanges,
    LdapDirectory, LinkPlacement, WmiFilterChange, WmiFilterOutcome, gpo_file_sys_path, rebase_dn,
};
use crate::model::{Ace, Estate, ExtensionList, Gpo, GpoFlags, GpoId, SecurityDescriptor, Version, WmiFilter};
use crate::sysvol::read_local_folder as read_tree;
use crate::sysvol::testlab::{LabDc, ldif_values};
use crate::sysvol::{FolderEntry, GpoFolder, PolicyPath, Sysvol};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Deletes what a test made, whatever happened to it.
struct Cleanup<'a> {
    lab: &'a LabDc,
    dns: Vec<String>,
    folders: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for dn in &self.dns {
            self.lab.ldapdelete_tree(dn);
        }
        for folder in &self.folders {
            let _ = std::fs::remove_dir_all(self.lab.policies_on_disk().join(folder));
        }
    }
}

fn explicit_aces(sd: &SecurityDescriptor) -> Vec<Ace> {
    sd.dacl.iter().flat_map(|d| d.aces.iter()).filter(|a| !a.is_inherited()).cloned().collect()
}

fn gpo_in<'a>(estate: &'a Estate, gpo: &GpoId) -> Option<&'a Gpo> {
    estate.gpos.iter().find(|g| &g.id == gpo)
}

fn assert_attributes(gpo: &Gpo, attrs: &GpoAttributes, realm: &str) {
    assert_eq!(gpo.display_name, attrs.display_name);
    assert_eq!(gpo.flags, attrs.flags);
    assert_eq!(gpo.version, attrs.version);
    assert_eq!(gpo.machine_extensions.raw, attrs.machine_extensions.raw);
    assert_eq!(gpo.user_extensions.raw, attrs.user_extensions.raw);
    assert_eq!(gpo.wmi_filter_link, attrs.wmi_filter_link);
    assert_eq!(gpo.functionality_version, attrs.functionality_version);
    // Spelled out here, not taken from the code under test.
    assert_eq!(gpo.file_sys_path, format!(r"\\{realm}\SysVol\{realm}\Policies\{}", gpo.id));
}

/// A GPMC backup's SYSVOL part with a GPT.INI, as a restore would write it.
fn fixture_folder() -> GpoFolder {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "tests/fixtures/gpmc/nsacyber-shb/Windows/Group Policy Objects/Computer/{A2A38432-E322-437F-9975-B7CC7F16F4AA}/DomainSysvol/GPO",
    );
    let mut folder = read_tree(&root).unwrap();
    folder
        .entries
        .push(FolderEntry::File { rel_path: "GPT.INI".into(), bytes: b"[General]\r\nVersion=196613\r\n".to_vec() });
    folder.entries.push(FolderEntry::Dir { rel_path: "User".into() });
    folder.sort();
    folder
}

/// The GPO every test copies from: the seeded one with delegated rights and real extensions.
async fn source_gpo(directory: &LdapDirectory) -> (Estate, Gpo) {
    let estate = directory.read_estate().await.unwrap();
    let source = estate.find_gpo("Delegated to Helpdesk").unwrap().clone();
    (estate, source)
}

fn test_attributes(gpo: &GpoId, estate: &Estate, source: &Gpo) -> GpoAttributes {
    let filter = estate.wmi_filters.first().expect("the lab has WMI filters");
    GpoAttributes {
        display_name: format!("gpvault write test {gpo}"),
        flags: GpoFlags(2),
        version: Version { user: 3, machine: 5 },
        machine_extensions: ExtensionList::parse(
            "[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}{D02B1F72-3407-48AE-BA88-E8213C6761F1}][{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]",
        ),
        user_extensions: source.user_extensions.clone(),
        wmi_filter_link: Some(format!("[{};{};0]", estate.domain.dns_name, filter.id)),
        functionality_version: Some(2),
        file_sys_path: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpo_is_created_modified_deleted_reanimated_and_recreated() {
    let Some(lab) = LabDc::corp() else { return };
    let _serial = SERIAL.lock().await;
    let directory = lab.ldap().await;
    let smb = lab.smb(2).await;
    let (estate, source) = source_gpo(&directory).await;
    let source_sd = source.security_descriptor.clone().expect("read with its descriptor");
    let gpo = GpoId::new_random();
    let dn = format!("CN={gpo},CN=Policies,CN=System,{}", lab.domain_dn());
    let _cleanup = Cleanup { lab: &lab, dns: vec![dn.clone()], folders: vec![gpo.to_string()] };
    let attrs = test_attributes(&gpo, &estate, &source);

    // Create: the container, its two children, the attributes, then the DACL.
    assert_eq!(directory.create_gpo(&gpo, &attrs).await.unwrap(), dn);
    let children = lab.ldapsearch(&dn, "one", "(objectClass=container)", &["dn"], &[]);
    for child in ["User", "Machine"] {
        assert!(children.contains(&format!("dn: CN={child},{dn}")), "CN={child}: {children}");
    }
    let default_sd =
        gpo_in(&directory.read_estate().await.unwrap(), &gpo).unwrap().security_descriptor.clone().unwrap();
    directory.set_gpo_dacl(&gpo, &source_sd).await.unwrap();
    let created = directory.read_estate().await.unwrap();
    let created = gpo_in(&created, &gpo).expect("the new GPO is read back");
    assert_attributes(created, &attrs, &lab.realm);
    let sd = created.security_descriptor.clone().unwrap();
    assert_eq!(explicit_aces(&sd), explicit_aces(&source_sd), "the DACL written");
    assert_ne!(explicit_aces(&default_sd), explicit_aces(&source_sd), "the test changes the DACL");
    assert_eq!((&sd.owner, &sd.group), (&default_sd.owner, &default_sd.group), "owner and group untouched");

    // Modify some attributes; the others stay.
    let changes = GpoChanges {
        display_name: Some(format!("{} renamed", attrs.display_name)),
        version: Some(Version { user: 4, machine: 6 }),
        wmi_filter: Some(WmiFilterChange::Remove),
        ..GpoChanges::default()
    };
    directory.modify_gpo(&gpo, &changes).await.unwrap();
    let raw = lab.ldapsearch(&dn, "base", "(objectClass=*)", &["versionNumber", "gPCWQLFilter", "displayName"], &[]);
    assert!(raw.contains("versionNumber: 262150"), "(4 << 16) + 6: {raw}");
    assert!(!raw.contains("gPCWQLFilter"), "{raw}");
    let modified = directory.read_estate().await.unwrap();
    let modified = gpo_in(&modified, &gpo).unwrap();
    let expected = GpoAttributes {
        display_name: changes.display_name.clone().unwrap(),
        version: Version { user: 4, machine: 6 },
        wmi_filter_link: None,
        ..attrs.clone()
    };
    assert_attributes(modified, &expected, &lab.realm);

    // A complete GPO (folder with its ACL), deleted by Samba's own tool.
    smb.replace_gpo_folder(&gpo, &fixture_folder(), Some(&source_sd)).await.unwrap();
    let guid_before = directory.object_guid(&dn).await.unwrap().expect("an objectGUID");
    lab.samba_tool_remote(&["gpo", "del", &gpo.to_string()]);
    assert!(gpo_in(&directory.read_estate().await.unwrap(), &gpo).is_none(), "gone after samba-tool gpo del");
    assert_eq!(smb.entry_kind(&PolicyPath::gpo(&gpo)).await.unwrap(), None, "samba-tool removed the folder");

    // Found among the tombstones and reanimated: same objectGUID, same security descriptor.
    let deleted = directory.find_deleted_gpo(&gpo).await.unwrap().expect("a tombstone");
    assert!(deleted.original_dn.eq_ignore_ascii_case(&dn), "{deleted:?}");
    assert!(deleted.dn.contains("Deleted Objects"), "{deleted:?}");
    assert_eq!(deleted.object_guid, guid_before);
    let report = directory.reanimate_gpo(&deleted).await.unwrap();
    assert!(report.dn.eq_ignore_ascii_case(&dn));
    assert_eq!(report.children_reanimated.len() + report.children_created.len(), 2, "{report:?}");
    assert_eq!(directory.object_guid(&dn).await.unwrap().as_deref(), Some(guid_before.as_str()));
    let children = lab.ldapsearch(&dn, "one", "(objectClass=container)", &["dn"], &[]);
    assert!(children.contains("CN=User,") && children.contains("CN=Machine,"), "{children}");
    assert_eq!(directory.find_deleted_gpo(&gpo).await.unwrap(), None, "no tombstone left");

    // The tombstone kept the descriptor but not the attributes: write them back, and the folder.
    let restored_attrs = GpoAttributes { file_sys_path: Some(gpo_file_sys_path(&lab.realm, &gpo)), ..attrs.clone() };
    directory.modify_gpo(&gpo, &GpoChanges::all(&restored_attrs)).await.unwrap();
    smb.replace_gpo_folder(&gpo, &fixture_folder(), Some(&source_sd)).await.unwrap();
    let reanimated = directory.read_estate().await.unwrap();
    let reanimated = gpo_in(&reanimated, &gpo).expect("the reanimated GPO is read back");
    assert_attributes(reanimated, &attrs, &lab.realm);
    assert_eq!(explicit_aces(reanimated.security_descriptor.as_ref().unwrap()), explicit_aces(&source_sd));
    // Every GPO folder's NT ACL is what Samba derives from its GPO, ours included.
    lab.samba_tool(&["ntacl", "sysvolcheck"]);

    // The fallback when no tombstone can be reanimated: create it again with the same GUID.
    directory.delete_gpo(&gpo).await.unwrap();
    smb.delete_tree(&PolicyPath::gpo(&gpo)).await.unwrap();
    let tombstone = directory.find_deleted_gpo(&gpo).await.unwrap().expect("deleted again");
    directory.create_gpo(&gpo, &attrs).await.unwrap();
    directory.set_gpo_dacl(&gpo, &source_sd).await.unwrap();
    smb.replace_gpo_folder(&gpo, &fixture_folder(), Some(&source_sd)).await.unwrap();
    let recreated = directory.read_estate().await.unwrap();
    let recreated = gpo_in(&recreated, &gpo).expect("the recreated GPO is read back");
    assert_attributes(recreated, &attrs, &lab.realm);
    assert_eq!(explicit_aces(recreated.security_descriptor.as_ref().unwrap()), explicit_aces(&source_sd));
    assert_ne!(directory.object_guid(&dn).await.unwrap().as_deref(), Some(guid_before.as_str()), "a new object");
    lab.samba_tool(&["ntacl", "sysvolcheck"]);
    // Its old tombstone cannot come back over the live GPO.
    let err = directory.reanimate_gpo(&tombstone).await.unwrap_err();
    assert!(matches!(&err, DirectoryError::AlreadyExists { dn: d, .. } if d.eq_ignore_ascii_case(&dn)), "{err}");

    directory.delete_gpo(&gpo).await.unwrap();
    assert!(gpo_in(&directory.read_estate().await.unwrap(), &gpo).is_none());
}

#[tokio::test]
async fn a_gpo_never_deleted_has_no_tombstone_and_errors_name_the_dn() {
    let Some(lab) = LabDc::corp() else { return };
    let directory = lab.ldap().await;
    let missing = GpoId::new_random();
    assert_eq!(directory.find_deleted_gpo(&missing).await.unwrap(), None);
    let err = directory.modify_gpo(&missing, &GpoChanges { flags: Some(GpoFlags(0)), ..Default::default() }).await;
    let err = err.unwrap_err();
    assert!(matches!(&err, DirectoryError::NoSuchObject { dn, .. } if dn.contains(&missing.to_string())), "{err}");
    let bogus = DeletedGpo {
        id: missing,
        dn: format!("CN={missing}\\0ADEL:00000000-0000-0000-0000-000000000000,CN=Deleted Objects,{}", lab.domain_dn()),
        original_dn: format!("CN={missing},CN=Policies,CN=System,{}", lab.domain_dn()),
        object_guid: String::new(),
        deleted_at: None,
    };
    let err = directory.reanimate_gpo(&bogus).await.unwrap_err();
    assert!(matches!(err, DirectoryError::NoSuchObject { .. }), "{err}");
    // Creating a GPO that exists: the seeded Default Domain Policy.
    let ddp: GpoId = "{31B2F340-016D-11D2-945F-00C04FB984F9}".parse().unwrap();
    let estate = directory.read_estate().await.unwrap();
    let attrs = GpoAttributes::of(gpo_in(&estate, &ddp).unwrap());
    let err = directory.create_gpo(&ddp, &attrs).await.unwrap_err();
    assert!(matches!(&err, DirectoryError::AlreadyExists { dn, .. } if dn.contains(&ddp.to_string())), "{err}");
}

#[tokio::test]
async fn a_user_without_rights_gets_an_insufficient_rights_error() {
    let Some(lab) = LabDc::corp() else { return };
    let (user, password) = ("gpvault-w-reader", "Reader-Passw0rd.1");
    let shown = lab.samba_tool_remote(&["user", "list"]);
    if !shown.lines().any(|l| l.trim() == user) {
        lab.samba_tool_remote(&["user", "create", user, password]);
    }
    let mut target = lab.target();
    target.user = user.to_string();
    let reader = LdapDirectory::connect(&target, password).await.unwrap();
    let ddp: GpoId = "{31B2F340-016D-11D2-945F-00C04FB984F9}".parse().unwrap();
    let err = reader.modify_gpo(&ddp, &GpoChanges { flags: Some(GpoFlags(3)), ..Default::default() }).await;
    let err = err.unwrap_err();
    assert!(matches!(&err, DirectoryError::InsufficientRights { dn, .. } if dn.contains(&ddp.to_string())), "{err}");
    assert!(err.to_string().contains("Domain Admin"), "says what to do: {err}");
    let placement = LinkPlacement { order: None, enabled: true, enforced: false };
    let err = reader.set_link(&lab.domain_dn(), &GpoId::new_random(), placement).await.unwrap_err();
    assert!(matches!(err, DirectoryError::InsufficientRights { .. }), "{err}");
    // Still untouched.
    let estate = lab.ldap().await.read_estate().await.unwrap();
    assert_ne!(gpo_in(&estate, &ddp).unwrap().flags, GpoFlags(3));
}

/// gPLink as ldapsearch prints it; `None` when the attribute is absent.
fn gplink_on_dc(lab: &LabDc, dn: &str) -> Option<String> {
    let out = lab.ldapsearch(dn, "base", "(objectClass=*)", &["gPLink"], &[]);
    ldif_values(&out, "gPLink").into_iter().next().map(|v| String::from_utf8(v).unwrap())
}

#[tokio::test]
async fn a_link_written_at_position_two_of_three_is_what_ldapsearch_shows() {
    let Some(lab) = LabDc::corp() else { return };
    let directory = lab.ldap().await;
    let domain_dn = lab.domain_dn();
    let ou = format!("OU=gpvault-links-{},{domain_dn}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let _cleanup = Cleanup { lab: &lab, dns: vec![ou.clone()], folders: vec![] };
    let estate = directory.read_estate().await.unwrap();
    let ids: Vec<GpoId> = estate.gpos.iter().map(|g| g.id).take(4).collect();
    // Three links as Samba and GPMC write them: one in samba-tool's upper case, one disabled,
    // one enforced.
    let original = format!(
        "[LDAP://CN={},CN=Policies,CN=System,{domain_dn};0][LDAP://cn={},cn=policies,cn=system,{domain_dn};1][LDAP://cn={},cn=policies,cn=system,{domain_dn};2]",
        ids[0], ids[1], ids[2]
    );
    lab.ldapmodify(&format!("dn: {ou}\nchangetype: add\nobjectClass: organizationalUnit\ngPLink: {original}\n"), &[]);

    let placement = LinkPlacement { order: Some(2), enabled: true, enforced: true };
    let after = directory.set_link(&ou, &ids[3], placement).await.unwrap();
    let expected = format!(
        "[LDAP://CN={},CN=Policies,CN=System,{domain_dn};0][LDAP://cn={},cn=policies,cn=system,{domain_dn};1][LDAP://cn={},cn=policies,cn=system,{domain_dn};2][LDAP://cn={},cn=policies,cn=system,{domain_dn};2]",
        ids[0], ids[1], ids[3], ids[2]
    );
    assert_eq!(gplink_on_dc(&lab, &ou).as_deref(), Some(expected.as_str()));
    assert_eq!(after.gp_link.as_deref(), Some(expected.as_str()));
    let estate = directory.read_estate().await.unwrap();
    let container = estate.containers.iter().find(|c| c.dn.eq_ignore_ascii_case(&ou)).expect("the OU is read");
    let ours = container.links.iter().find(|l| l.gpo_id == ids[3]).unwrap();
    assert_eq!((ours.order, ours.enabled, ours.enforced), (2, true, true));
    assert_eq!(container.links.len(), 4);

    // Flags change in place; removing the link gives back the original value byte for byte.
    let placement = LinkPlacement { order: None, enabled: false, enforced: false };
    directory.set_link(&ou, &ids[3], placement).await.unwrap();
    assert_eq!(
        gplink_on_dc(&lab, &ou).unwrap(),
        expected.replacen(
            &format!("{},cn=policies,cn=system,{domain_dn};2", ids[3]),
            &format!("{},cn=policies,cn=system,{domain_dn};1", ids[3]),
            1
        )
    );
    directory.remove_link(&ou, &ids[3]).await.unwrap();
    assert_eq!(gplink_on_dc(&lab, &ou).as_deref(), Some(original.as_str()));

    // Someone else's change between our read and our write is a conflict, not a lost update.
    let read = directory.read_links(&ou).await.unwrap();
    lab.ldapmodify(&format!("dn: {ou}\nchangetype: modify\nreplace: gPLink\ngPLink: [LDAP://cn={},cn=policies,cn=system,{domain_dn};0]\n-\n", ids[0]), &[]);
    let mut edited = GpLink::parse(read.gp_link.as_deref().unwrap());
    edited.remove(&ids[1]);
    let err = directory.replace_gplink(&ou, read.gp_link.as_deref(), &edited).await.unwrap_err();
    assert!(matches!(err, DirectoryError::Conflict { .. }), "{err}");

    // The last link removed: no gPLink left.
    directory.remove_link(&ou, &ids[0]).await.unwrap();
    assert_eq!(gplink_on_dc(&lab, &ou), None);
    assert!(directory.read_links(&ou).await.unwrap().links.is_empty());

    directory.set_block_inheritance(&ou, true).await.unwrap();
    let options = lab.ldapsearch(&ou, "base", "(objectClass=*)", &["gPOptions"], &[]);
    assert!(options.contains("gPOptions: 1"), "{options}");
    assert!(directory.read_links(&ou).await.unwrap().blocks_inheritance());
    directory.set_block_inheritance(&ou, false).await.unwrap();
    assert!(!directory.read_links(&ou).await.unwrap().blocks_inheritance());

    let missing = format!("OU=no-such-ou,{domain_dn}");
    let placement = LinkPlacement { order: None, enabled: true, enforced: false };
    let err = directory.set_link(&missing, &ids[0], placement).await.unwrap_err();
    assert!(matches!(&err, DirectoryError::NoSuchObject { dn, .. } if dn == &missing), "{err}");
}

/// Attributes compared after a copy: what the server owns or derives is left out.
fn comparable(object: &DirectoryObject) -> BTreeMap<String, Vec<AttributeValue>> {
    let skip = [
        "objectguid",
        "whencreated",
        "whenchanged",
        "usncreated",
        "usnchanged",
        "distinguishedname",
        "ntsecuritydescriptor",
    ];
    object
        .attributes
        .iter()
        .filter(|(k, _)| !skip.contains(&k.to_lowercase().as_str()))
        .map(|(k, v)| {
            let mut v = v.clone();
            v.sort_by_key(|a| format!("{a:?}"));
            (k.to_lowercase(), v)
        })
        .collect()
}

fn sd_of(object: &DirectoryObject) -> SecurityDescriptor {
    use base64::Engine;
    let value = object.attributes.iter().find(|(k, _)| k.eq_ignore_ascii_case("nTSecurityDescriptor")).unwrap().1;
    let bytes = match &value[0] {
        AttributeValue::Base64(b64) => base64::engine::general_purpose::STANDARD.decode(b64).unwrap(),
        AttributeValue::Text(text) => text.as_bytes().to_vec(),
    };
    SecurityDescriptor::from_bytes(&bytes).unwrap()
}

#[tokio::test]
async fn class_store_objects_are_copied_with_every_attribute_and_deleted() {
    let Some(lab) = LabDc::corp() else { return };
    let _serial = SERIAL.lock().await;
    let directory = lab.ldap().await;
    let estate = directory.read_estate().await.unwrap();
    let children = directory.read_gpo_children().await.unwrap();
    let (source_id, source_objects) = children.iter().next().expect("the lab has a GPO with a class store");
    let source = gpo_in(&estate, source_id).unwrap();
    assert!(source_objects.len() >= 4, "{} objects", source_objects.len());

    let gpo = GpoId::new_random();
    let attrs = GpoAttributes { display_name: format!("gpvault class store test {gpo}"), ..GpoAttributes::of(source) };
    let dn = directory.create_gpo(&gpo, &attrs).await.unwrap();
    let _cleanup = Cleanup { lab: &lab, dns: vec![dn.clone()], folders: vec![] };
    let copies: Vec<DirectoryObject> = source_objects
        .iter()
        .map(|o| DirectoryObject { dn: rebase_dn(&o.dn, &source.dn, &dn).unwrap(), attributes: o.attributes.clone() })
        .collect();
    assert_eq!(directory.add_gpo_objects(&copies).await.unwrap(), copies.len());

    let after = directory.read_gpo_children().await.unwrap();
    let written = after.get(&gpo).expect("the copy's objects are read back");
    assert_eq!(written.len(), source_objects.len());
    for original in source_objects {
        let dn = rebase_dn(&original.dn, &source.dn, &dn).unwrap();
        let copy = written.iter().find(|o| o.dn.eq_ignore_ascii_case(&dn)).unwrap_or_else(|| panic!("{dn} copied"));
        assert_eq!(comparable(copy), comparable(original), "{dn}");
        assert_eq!(explicit_aces(&sd_of(copy)), explicit_aces(&sd_of(original)), "{dn}: its own DACL");
    }

    let machine_store = format!("CN=Class Store,CN=Machine,{dn}");
    assert_eq!(directory.delete_gpo_objects(std::slice::from_ref(&machine_store)).await.unwrap(), 1);
    let left = directory.read_gpo_children().await.unwrap();
    let left = left.get(&gpo).map(Vec::as_slice).unwrap_or_default();
    assert!(!left.is_empty() && left.iter().all(|o| o.dn.contains(",CN=User,")), "{left:?}");

    // Only objects below a GPO's User / Machine containers.
    for outside in [format!("CN=Users,{}", lab.domain_dn()), dn.clone(), format!("CN=Machine,{dn}")] {
        let err = directory.delete_gpo_objects(std::slice::from_ref(&outside)).await.unwrap_err();
        assert!(matches!(err, DirectoryError::OutsideGpo { .. }), "{outside}: {err}");
    }
    // A value the schema refuses: the error names the object.
    let bad_dn = format!("CN=Bogus,CN=Machine,{dn}");
    let bad = DirectoryObject {
        dn: bad_dn.clone(),
        attributes: BTreeMap::from([
            ("objectClass".to_string(), vec![AttributeValue::Text("classStore".into())]),
            ("noSuchAttributeAnywhere".to_string(), vec![AttributeValue::Text("x".into())]),
        ]),
    };
    let err = directory.add_gpo_objects(&[bad]).await.unwrap_err();
    assert!(matches!(&err, DirectoryError::Constraint { dn, .. } if dn == &bad_dn), "{err}");

    directory.delete_gpo(&gpo).await.unwrap();
}

#[tokio::test]
async fn a_wmi_filter_is_created_with_its_own_id_once() {
    let Some(lab) = LabDc::corp() else { return };
    let directory = lab.ldap().await;
    let estate = directory.read_estate().await.unwrap();
    let template = estate.wmi_filters.first().expect("the lab has WMI filters");
    let id = format!("{{{}}}", uuid::Uuid::new_v4().to_string().to_uppercase());
    let filter = WmiFilter {
        id: id.clone(),
        dn: "CN=ignored,DC=elsewhere".into(),
        name: format!("gpvault test filter {id}"),
        ..template.clone()
    };
    let dn = format!("CN={id},CN=SOM,CN=WMIPolicy,CN=System,{}", lab.domain_dn());
    let _cleanup = Cleanup { lab: &lab, dns: vec![dn.clone()], folders: vec![] };
    assert_eq!(directory.create_wmi_filter(&filter).await.unwrap(), WmiFilterOutcome::Created { dn: dn.clone() });
    let again = directory.create_wmi_filter(&filter).await.unwrap();
    assert!(matches!(&again, WmiFilterOutcome::AlreadyPresent { dn: d } if d.eq_ignore_ascii_case(&dn)), "{again:?}");
    let estate = directory.read_estate().await.unwrap();
    let read = estate.wmi_filters.iter().find(|f| f.id == id).expect("read back");
    assert_eq!(WmiFilter { dn: read.dn.clone(), ..filter.clone() }, *read);
    assert!(read.dn.eq_ignore_ascii_case(&dn));
}

/// Names in every form a setting or a migration table writes resolve to the SIDs ldapsearch
/// shows; names of another domain and unknown names are left out.
#[tokio::test]
async fn account_names_resolve_to_the_sids_ldapsearch_shows() {
    let Some(lab) = LabDc::corp() else { return };
    let directory = lab.ldap().await;
    let sid_of = |sam: &str| {
        let ldif = lab.ldapsearch(&lab.domain_dn(), "sub", &format!("(sAMAccountName={sam})"), &["objectSid"], &[]);
        let bytes = ldif_values(&ldif, "objectSid").pop().unwrap_or_else(|| panic!("{sam} not in the lab"));
        crate::model::Sid::from_bytes(&bytes).unwrap().0
    };
    let (netbios, realm) = (&lab.netbios, &lab.realm);
    let names: Vec<String> = vec![
        format!("{netbios}\\Helpdesk"),
        format!("{}\\gpo editors", realm.to_uppercase()),
        format!("Finance Users@{realm}"),
        format!("alice.finance@{realm}"),
        "WS0001$".into(),
        "BUILTIN\\Administrators".into(),
        "BRANCH\\Helpdesk".into(),
        format!("{netbios}\\No Such Account"),
    ];
    let found = directory.resolve_names(&names).await.unwrap();
    let by_name: BTreeMap<&str, &crate::model::Principal> = found.iter().map(|(n, p)| (n.as_str(), p)).collect();
    assert_eq!(found.len(), 6, "{found:?}");
    for (name, sam, kind) in [
        (&names[0], "Helpdesk", "GlobalGroup"),
        (&names[1], "GPO Editors", "GlobalGroup"),
        (&names[2], "Finance Users", "GlobalGroup"),
        (&names[3], "alice.finance", "User"),
        (&names[4], "WS0001$", "Computer"),
        (&names[5], "Administrators", "LocalGroup"),
    ] {
        let principal = by_name.get(name.as_str()).unwrap_or_else(|| panic!("{name} not resolved"));
        assert_eq!(principal.sid, sid_of(sam), "{name}");
        assert_eq!(principal.sam_account_name, sam, "{name}");
        assert_eq!(principal.kind, kind, "{name}");
    }
    assert_eq!(by_name[names[0].as_str()].netbios_domain, *netbios);
    assert_eq!(by_name[names[5].as_str()].netbios_domain, "BUILTIN");
}

/// The lab DC behind a relay on a loopback address of its own (port 636, so root, as the lab).
async fn relayed_directory(lab: &LabDc, ip: &str) -> (crate::tcp_proxy::Proxy, LdapDirectory) {
    let proxy = crate::tcp_proxy::Proxy::start(&format!("{ip}:636"), &format!("{}:636", lab.server)).await;
    let mut target = lab.target();
    target.server = ip.to_string();
    // The DC's certificate names its own address, not the relay's.
    target.insecure_tls = true;
    let directory = LdapDirectory::connect(&target, &lab.password).await.unwrap();
    (proxy, directory)
}

/// Runs `request` while the relay holds its bytes, then closes the connection under it: the
/// request is lost on the way, and the server never saw it.
async fn cut_in_flight<T>(proxy: &crate::tcp_proxy::Proxy, request: impl std::future::Future<Output = T>) -> T {
    use std::sync::atomic::Ordering;
    proxy.switch.frozen.store(true, Ordering::Release);
    let cut = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        proxy.cut();
        proxy.switch.frozen.store(false, Ordering::Release);
    };
    tokio::join!(request, cut).0
}

#[tokio::test]
async fn a_dropped_connection_is_dialled_again_once_and_reads_and_replaces_are_sent_again() {
    let Some(lab) = LabDc::corp() else { return };
    let (proxy, directory) = relayed_directory(&lab, "127.0.0.221").await;
    let accepted = || proxy.accepted.load(std::sync::atomic::Ordering::Acquire);
    let domain_dn = lab.domain_dn();
    let ou = format!("OU=gpvault-redial-{},{domain_dn}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let _cleanup = Cleanup { lab: &lab, dns: vec![ou.clone()], folders: vec![] };
    lab.ldapmodify(&format!("dn: {ou}\nchangetype: add\nobjectClass: organizationalUnit\n"), &[]);
    // Other tests make GPOs meanwhile: the two every domain has stand for a whole read.
    let defaults: Vec<GpoId> = ["{31B2F340-016D-11D2-945F-00C04FB984F9}", "{6AC1786C-016F-11D2-945F-00C04FB984F9}"]
        .iter()
        .map(|id| id.parse().unwrap())
        .collect();
    let gpos = |estate: &Estate| defaults.iter().filter(|id| gpo_in(estate, id).is_some()).count();
    let before = directory.read_estate().await.unwrap();
    assert_eq!(gpos(&before), 2);
    assert_eq!((accepted(), directory.redials()), (1, 0));

    // The server closed an idle connection: the next read dials again.
    proxy.cut();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(gpos(&directory.read_estate().await.unwrap()), gpos(&before));
    assert_eq!((accepted(), directory.redials()), (2, 1), "one new connection for four searches in flight");

    // A read lost in flight is sent again.
    let estate = cut_in_flight(&proxy, directory.read_estate()).await.unwrap();
    assert_eq!(gpos(&estate), gpos(&before));
    assert_eq!(directory.redials(), 2);

    // A replace lost in flight is sent again: the same values twice leave the same state.
    cut_in_flight(&proxy, directory.set_block_inheritance(&ou, true)).await.unwrap();
    assert_eq!(directory.redials(), 3);
    let out = lab.ldapsearch(&ou, "base", "(objectClass=*)", &["gPOptions"], &[]);
    assert_eq!(ldif_values(&out, "gPOptions"), vec![b"1".to_vec()], "{out}");

    // A gPLink swap lost in flight may have been applied: it is not sent twice but reported,
    // and the fresh connection serves the next request.
    let gpo = before.gpos[0].id;
    let gplink = GpLink::parse(&format!("[LDAP://cn={gpo},cn=policies,cn=system,{domain_dn};0]"));
    let err = cut_in_flight(&proxy, directory.replace_gplink(&ou, None, &gplink)).await.unwrap_err();
    assert!(matches!(err, DirectoryError::ConnectionLost { .. }), "{err}");
    assert!(err.to_string().contains("127.0.0.221") && err.to_string().contains("not sent again"), "{err}");
    assert_eq!(gplink_on_dc(&lab, &ou), None, "the relay never passed it on");
    assert_eq!(directory.redials(), 4);
    directory.replace_gplink(&ou, None, &gplink).await.unwrap();
    assert_eq!(gplink_on_dc(&lab, &ou), Some(gplink.to_value()));
    assert_eq!(directory.redials(), 4);
}
