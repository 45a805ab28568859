//! Restore without a DC: instances built with the backup code (gpvault's) or copied from the
//! GPMC fixtures, a directory held in memory that behaves as the LDAP one does for the calls a
//! restore makes, and a local SYSVOL folder that records the NT ACLs it is given. The real
//! thing is covered end to end in tests/restore_e2e.rs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;

use super::apply::{restored_content, with_dacl_of};
use super::source::{
    InstanceProblem, MAX_FILE_BYTES, canonical_to_dn, one_case_per_folder, read_source, relative_components,
};
use super::*;
use crate::config::{DomainTarget, TlsMode};
use crate::directory::{
    ContainerLinks, DeletedGpo, Directory, DirectoryError, GpLink, GpoAttributes, GpoChanges, LinkPlacement,
    ReanimateReport, WmiFilterChange, WmiFilterOutcome, gplink_path,
};
use crate::model::{
    AttributeValue, Container, ContainerKind, DirectoryObject, DomainInfo, Estate, ExtensionList, FolderEntry, Gpo,
    GpoFlags, GpoFolder, GpoId, Principal, SecurityDescriptor, Sid, Version, WmiFilter,
};
use crate::ops::backup::{InstanceInput, build_instance};
use crate::ops::{NoProgress, SysvolSource};
use crate::store::{BackupStore, InstanceSummary};
use crate::sysvol::{
    EntryKind, LocalSysvol, PolicyPath, Sysvol, SysvolError, file_security_from_gpo, read_local_folder,
};

const DOMAIN_GUID: &str = "{c38bb5de-ce9e-4879-a847-b68394f30754}";
const DOMAIN_DN: &str = "DC=corp,DC=example,DC=test";
const REALM: &str = "corp.example.test";
const STAFF: &str = "OU=Staff,DC=corp,DC=example,DC=test";

pub(crate) fn domain() -> DomainInfo {
    DomainInfo {
        dns_name: REALM.into(),
        netbios_name: "CORP".into(),
        dn: DOMAIN_DN.into(),
        sid: Some("S-1-5-21-303054147-842521035-3774042698".parse().unwrap()),
        guid: DOMAIN_GUID.into(),
        controller: "dc01.corp.example.test".into(),
    }
}

/// Real GPO descriptors (from GPMC backups), each with its DACL.
pub(crate) fn descriptors() -> Vec<SecurityDescriptor> {
    include_str!("../../model/testdata/sddl_golden.tsv")
        .lines()
        .filter(|l| l.starts_with("fixture:"))
        .map(|l| SecurityDescriptor::from_bytes(&hex::decode(l.split('\t').nth(2).unwrap()).unwrap()).unwrap())
        .collect()
}

pub(crate) fn gpo(name: &str, version: Version) -> Gpo {
    let id = GpoId::new_random();
    Gpo {
        id,
        dn: format!("CN={id},CN=Policies,CN=System,{DOMAIN_DN}"),
        display_name: name.into(),
        version,
        flags: GpoFlags(0),
        functionality_version: Some(2),
        file_sys_path: format!(r"\\{REALM}\SysVol\{REALM}\Policies\{id}"),
        machine_extensions: ExtensionList::parse(
            "[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}{D02B1F72-3407-48AE-BA88-E8213C6761F1}]",
        ),
        user_extensions: ExtensionList::default(),
        wmi_filter_link: None,
        security_descriptor: Some(descriptors()[0].clone()),
        created: None,
        changed: None,
    }
}

pub(crate) fn folder(version: Version, registry: &[u8]) -> GpoFolder {
    let mut folder = GpoFolder {
        entries: vec![
            FolderEntry::File {
                rel_path: "GPT.INI".into(),
                bytes: format!("[General]\r\nVersion={}\r\ndisplayName=New Group Policy Object\r\n", version.raw())
                    .into_bytes(),
            },
            FolderEntry::Dir { rel_path: "Machine".into() },
            FolderEntry::File { rel_path: "Machine/registry.pol".into(), bytes: registry.to_vec() },
            FolderEntry::Dir { rel_path: "User".into() },
        ],
    };
    folder.sort();
    folder
}

pub(crate) fn class_store(gpo: &Gpo) -> Vec<DirectoryObject> {
    let text = |v: &str| vec![AttributeValue::Text(v.into())];
    let store = format!("CN=Class Store,CN=Machine,{}", gpo.dn);
    vec![
        DirectoryObject {
            dn: store.clone(),
            attributes: BTreeMap::from([("objectClass".to_string(), text("classStore"))]),
        },
        DirectoryObject {
            dn: format!("CN=Packages,{store}"),
            attributes: BTreeMap::from([("objectClass".to_string(), text("classStore"))]),
        },
        DirectoryObject {
            dn: format!("CN={{0D4B9C21-77E3-4A8E-9F61-2B5C8D7E6F10}},CN=Packages,{store}"),
            attributes: BTreeMap::from([
                ("objectClass".to_string(), text("packageRegistration")),
                ("displayName".to_string(), text("7-Zip 23.01 (x64 edition)")),
            ]),
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// The directory in memory

#[derive(Default)]
pub(crate) struct State {
    pub(crate) estate: Estate,
    pub(crate) children: BTreeMap<GpoId, Vec<DirectoryObject>>,
    tombstones: BTreeMap<GpoId, Gpo>,
    pub(crate) gplinks: BTreeMap<String, String>,
    pub(crate) writes: Vec<String>,
    /// The write that fails (its method name): once, or every time when `fail_sticky`.
    pub(crate) fail: Option<&'static str>,
    pub(crate) fail_sticky: bool,
}

pub(crate) struct FakeDirectory(Mutex<State>);

impl FakeDirectory {
    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }

    fn write(&self, what: &'static str, detail: String) -> Result<std::sync::MutexGuard<'_, State>, DirectoryError> {
        let mut state = self.state();
        if state.fail == Some(what) {
            if !state.fail_sticky {
                state.fail = None;
            }
            return Err(DirectoryError::Constraint { operation: what.into(), dn: detail, reason: "injected".into() });
        }
        state.writes.push(format!("{what} {detail}"));
        Ok(state)
    }

    pub(crate) fn gpo(&self, id: &GpoId) -> Option<Gpo> {
        self.state().estate.gpos.iter().find(|g| &g.id == id).cloned()
    }
}

fn no_such(dn: String) -> DirectoryError {
    DirectoryError::NoSuchObject { operation: "fake".into(), dn }
}

impl State {
    fn gpo_mut(&mut self, id: &GpoId) -> Result<&mut Gpo, DirectoryError> {
        self.estate.gpos.iter_mut().find(|g| &g.id == id).ok_or_else(|| no_such(id.to_string()))
    }

    fn relink(&mut self, container: &str) {
        let value = self.gplinks.get(container).cloned().unwrap_or_default();
        if let Some(c) = self.estate.containers.iter_mut().find(|c| c.dn.eq_ignore_ascii_case(container)) {
            c.links = GpLink::parse(&value).links(&c.dn);
        }
    }
}

#[async_trait]
impl Directory for FakeDirectory {
    async fn read_estate(&self) -> Result<Estate, DirectoryError> {
        Ok(self.state().estate.clone())
    }
    async fn read_gpo_children(&self) -> Result<BTreeMap<GpoId, Vec<DirectoryObject>>, DirectoryError> {
        Ok(self.state().children.clone())
    }
    async fn resolve_principals(&self, _sids: &[Sid]) -> Result<Vec<Principal>, DirectoryError> {
        Ok(Vec::new())
    }
    fn describe(&self) -> String {
        "fake directory".into()
    }
    async fn modify_gpo(&self, id: &GpoId, changes: &GpoChanges) -> Result<(), DirectoryError> {
        let mut state = self.write("modify_gpo", id.to_string())?;
        let gpo = state.gpo_mut(id)?;
        if let Some(v) = &changes.display_name {
            gpo.display_name = v.clone();
        }
        if let Some(v) = changes.flags {
            gpo.flags = v;
        }
        if let Some(v) = changes.version {
            gpo.version = v;
        }
        if let Some(v) = &changes.machine_extensions {
            gpo.machine_extensions = v.clone();
        }
        if let Some(v) = &changes.user_extensions {
            gpo.user_extensions = v.clone();
        }
        match &changes.wmi_filter {
            Some(WmiFilterChange::Set(link)) => gpo.wmi_filter_link = Some(link.clone()),
            Some(WmiFilterChange::Remove) => gpo.wmi_filter_link = None,
            None => {}
        }
        if let Some(v) = &changes.file_sys_path {
            gpo.file_sys_path = v.clone();
        }
        Ok(())
    }
    async fn set_gpo_dacl(&self, id: &GpoId, sd: &SecurityDescriptor) -> Result<(), DirectoryError> {
        let mut state = self.write("set_gpo_dacl", id.to_string())?;
        let gpo = state.gpo_mut(id)?;
        let now = gpo.security_descriptor.clone().unwrap_or_else(|| sd.clone());
        gpo.security_descriptor = Some(with_dacl_of(&now, sd));
        Ok(())
    }
    async fn create_gpo(&self, id: &GpoId, attributes: &GpoAttributes) -> Result<String, DirectoryError> {
        let mut state = self.write("create_gpo", id.to_string())?;
        let mut made = gpo(&attributes.display_name, attributes.version);
        made.id = *id;
        made.dn = format!("CN={id},CN=Policies,CN=System,{DOMAIN_DN}");
        made.file_sys_path = attributes.file_sys_path.clone().unwrap_or_default();
        made.flags = attributes.flags;
        // A new object gets the directory's default descriptor until its DACL is written.
        made.security_descriptor = Some(descriptors()[1].clone());
        let dn = made.dn.clone();
        state.estate.gpos.push(made);
        Ok(dn)
    }
    async fn delete_gpo(&self, id: &GpoId) -> Result<String, DirectoryError> {
        let mut state = self.write("delete_gpo", id.to_string())?;
        let at = state.estate.gpos.iter().position(|g| &g.id == id).ok_or_else(|| no_such(id.to_string()))?;
        let gone = state.estate.gpos.remove(at);
        state.children.remove(id);
        state.tombstones.insert(*id, gone.clone());
        Ok(gone.dn)
    }
    async fn find_deleted_gpo(&self, id: &GpoId) -> Result<Option<DeletedGpo>, DirectoryError> {
        Ok(self.state().tombstones.get(id).map(|g| DeletedGpo {
            id: *id,
            dn: format!("CN={id}\\0ADEL:x,CN=Deleted Objects,{DOMAIN_DN}"),
            original_dn: g.dn.clone(),
            object_guid: "{00000000-0000-0000-0000-000000000001}".into(),
            deleted_at: None,
        }))
    }
    async fn reanimate_gpo(&self, deleted: &DeletedGpo) -> Result<ReanimateReport, DirectoryError> {
        let mut state = self.write("reanimate_gpo", deleted.id.to_string())?;
        let tombstone = state.tombstones.remove(&deleted.id).ok_or_else(|| no_such(deleted.dn.clone()))?;
        // A tombstone keeps its descriptor and little else.
        let back = Gpo {
            display_name: String::new(),
            version: Version::default(),
            flags: GpoFlags(0),
            file_sys_path: String::new(),
            machine_extensions: ExtensionList::default(),
            user_extensions: ExtensionList::default(),
            wmi_filter_link: None,
            ..tombstone
        };
        state.estate.gpos.push(back);
        Ok(ReanimateReport { dn: deleted.original_dn.clone(), children_reanimated: vec![], children_created: vec![] })
    }
    async fn add_gpo_objects(&self, objects: &[DirectoryObject]) -> Result<usize, DirectoryError> {
        let mut state = self.write("add_gpo_objects", objects.len().to_string())?;
        for object in objects {
            let id = state
                .estate
                .gpos
                .iter()
                .find(|g| object.dn.to_lowercase().ends_with(&g.dn.to_lowercase()))
                .map(|g| g.id)
                .ok_or_else(|| no_such(object.dn.clone()))?;
            state.children.entry(id).or_default().push(object.clone());
        }
        Ok(objects.len())
    }
    async fn delete_gpo_objects(&self, dns: &[String]) -> Result<usize, DirectoryError> {
        let mut state = self.write("delete_gpo_objects", dns.join(";"))?;
        for dn in dns {
            let suffix = dn.to_lowercase();
            let before: usize = state.children.values().map(Vec::len).sum();
            for objects in state.children.values_mut() {
                objects.retain(|o| !o.dn.to_lowercase().ends_with(&suffix));
            }
            if before == state.children.values().map(Vec::len).sum::<usize>() {
                return Err(no_such(dn.clone()));
            }
        }
        Ok(dns.len())
    }
    async fn read_links(&self, container: &str) -> Result<ContainerLinks, DirectoryError> {
        let state = self.state();
        let c = state
            .estate
            .containers
            .iter()
            .find(|c| c.dn.eq_ignore_ascii_case(container))
            .ok_or_else(|| no_such(container.into()))?;
        Ok(ContainerLinks {
            dn: c.dn.clone(),
            gp_link: state.gplinks.get(&c.dn).cloned(),
            links: c.links.clone(),
            gp_options: 0,
        })
    }
    async fn set_link(&self, container: &str, id: &GpoId, p: LinkPlacement) -> Result<ContainerLinks, DirectoryError> {
        {
            let mut state = self.write("set_link", container.into())?;
            let mut value = GpLink::parse(state.gplinks.get(container).map(String::as_str).unwrap_or(""));
            value.set(id, &gplink_path(id, DOMAIN_DN), p.order, p.enabled, p.enforced);
            state.gplinks.insert(container.into(), value.to_value());
            state.relink(container);
        }
        self.read_links(container).await
    }
    async fn remove_link(&self, container: &str, id: &GpoId) -> Result<ContainerLinks, DirectoryError> {
        {
            let mut state = self.write("remove_link", container.into())?;
            let mut value = GpLink::parse(state.gplinks.get(container).map(String::as_str).unwrap_or(""));
            value.remove(id);
            state.gplinks.insert(container.into(), value.to_value());
            state.relink(container);
        }
        self.read_links(container).await
    }
    async fn create_wmi_filter(&self, filter: &WmiFilter) -> Result<WmiFilterOutcome, DirectoryError> {
        let mut state = self.write("create_wmi_filter", filter.id.clone())?;
        state.estate.wmi_filters.push(filter.clone());
        Ok(WmiFilterOutcome::Created { dn: filter.dn.clone() })
    }
}

// ---------------------------------------------------------------------------------------------
// SYSVOL in a local folder that keeps the NT ACLs it is given (a local folder cannot hold them)

struct AclSysvol {
    inner: LocalSysvol,
    acls: Mutex<BTreeMap<String, SecurityDescriptor>>,
    /// Renames fail: a replacement stops after writing its new content beside the folder.
    fail_renames: AtomicBool,
    /// The folder is read with its items' ACLs, as over SMB; refused when set (an account that
    /// may read the content but not the ACLs).
    deny_folder_acls: AtomicBool,
    /// ACLs read one by one.
    single_acl_reads: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl Sysvol for AclSysvol {
    async fn read_gpo_folder(&self, gpo: &GpoId, unc: &str) -> Result<GpoFolder, SysvolError> {
        self.inner.read_gpo_folder(gpo, unc).await
    }
    async fn read_gpo_folder_with_security(
        &self,
        gpo: &GpoId,
        unc: &str,
    ) -> Result<(GpoFolder, Option<crate::sysvol::FolderSecurity>), SysvolError> {
        if self.deny_folder_acls.load(Ordering::SeqCst) {
            return Err(SysvolError::AccessDenied { path: unc.to_string() });
        }
        let folder = self.inner.read_gpo_folder(gpo, unc).await?;
        let root = PolicyPath::gpo(gpo);
        let mut security = crate::sysvol::FolderSecurity::new();
        for rel in std::iter::once("").chain(folder.entries.iter().map(FolderEntry::rel_path)) {
            let item = if rel.is_empty() { root.clone() } else { root.join(rel)? };
            security.insert(rel.to_string(), self.recorded_acl(&item).await?);
        }
        Ok((folder, Some(security)))
    }
    async fn list_gpo_folders(&self) -> Result<Vec<String>, SysvolError> {
        self.inner.list_gpo_folders().await
    }
    fn describe(&self) -> String {
        "local folder with recorded ACLs".into()
    }
    async fn entry_kind(&self, path: &PolicyPath) -> Result<Option<EntryKind>, SysvolError> {
        self.inner.entry_kind(path).await
    }
    async fn list_folder(&self, path: &PolicyPath) -> Result<Vec<(String, EntryKind)>, SysvolError> {
        self.inner.list_folder(path).await
    }
    async fn create_folder(&self, path: &PolicyPath) -> Result<(), SysvolError> {
        self.inner.create_folder(path).await
    }
    async fn write_file(&self, path: &PolicyPath, bytes: &[u8]) -> Result<(), SysvolError> {
        self.inner.write_file(path, bytes).await
    }
    async fn delete_file(&self, path: &PolicyPath) -> Result<(), SysvolError> {
        self.inner.delete_file(path).await
    }
    async fn delete_tree(&self, path: &PolicyPath) -> Result<(), SysvolError> {
        self.inner.delete_tree(path).await
    }
    async fn rename(&self, from: &PolicyPath, to: &PolicyPath) -> Result<(), SysvolError> {
        if self.fail_renames.load(Ordering::SeqCst) {
            return Err(SysvolError::WriteDenied { path: from.to_string() });
        }
        self.inner.rename(from, to).await?;
        // The ACLs move with the items.
        let mut acls = self.acls.lock().unwrap();
        let moved: Vec<(String, SecurityDescriptor)> =
            acls.iter().filter(|(k, _)| k.starts_with(from.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
        for (key, value) in moved {
            acls.remove(&key);
            acls.insert(key.replacen(from.as_str(), to.as_str(), 1), value);
        }
        Ok(())
    }
    async fn set_security(&self, path: &PolicyPath, sd: &SecurityDescriptor) -> Result<(), SysvolError> {
        self.acls.lock().unwrap().insert(path.to_string(), sd.clone());
        Ok(())
    }
    async fn read_security(&self, path: &PolicyPath) -> Result<SecurityDescriptor, SysvolError> {
        self.single_acl_reads.fetch_add(1, Ordering::SeqCst);
        self.recorded_acl(path).await
    }
}

impl AclSysvol {
    /// What was set, else what a new item gets here: an empty DACL.
    async fn recorded_acl(&self, path: &PolicyPath) -> Result<SecurityDescriptor, SysvolError> {
        if self.inner.entry_kind(path).await?.is_none() {
            return Err(SysvolError::NotFound { path: path.to_string() });
        }
        let empty = || {
            let dacl = Some(crate::model::Acl::new(vec![]));
            SecurityDescriptor::from_parts(crate::model::security::control::DACL_PRESENT, None, None, None, dacl)
        };
        Ok(self.acls.lock().unwrap().get(path.as_str()).cloned().unwrap_or_else(empty))
    }
}

pub(crate) struct Lab {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    pub(crate) backups: PathBuf,
    pub(crate) policies: PathBuf,
    pub(crate) directory: Arc<FakeDirectory>,
    sysvol: Arc<AclSysvol>,
    pub(crate) session: DomainSession,
}

impl Lab {
    pub(crate) fn new() -> Lab {
        let sysvol_root = tempfile::tempdir().unwrap();
        let backups = tempfile::tempdir().unwrap();
        let policies = sysvol_root.path().join(REALM).join("Policies");
        std::fs::create_dir_all(&policies).unwrap();
        let sysvol = Arc::new(AclSysvol {
            inner: LocalSysvol::open(sysvol_root.path(), REALM).unwrap(),
            acls: Mutex::default(),
            fail_renames: AtomicBool::new(false),
            deny_folder_acls: AtomicBool::new(false),
            single_acl_reads: Default::default(),
        });
        let state = State {
            estate: Estate {
                domain: domain(),
                containers: vec![Container {
                    dn: STAFF.into(),
                    name: "Staff".into(),
                    kind: ContainerKind::OrganizationalUnit,
                    blocks_inheritance: false,
                    links: vec![],
                }],
                ..Default::default()
            },
            ..Default::default()
        };
        let directory = Arc::new(FakeDirectory(Mutex::new(state)));
        let session = DomainSession {
            target: DomainTarget {
                profile: None,
                server: "127.0.0.1".into(),
                domain: REALM.into(),
                user: "Administrator".into(),
                password_env: None,
                ca_file: None,
                kerberos: false,
                sysvol_path: Some(sysvol_root.path().to_path_buf()),
                tls: TlsMode::Ldaps,
                insecure_tls: false,
            },
            directory: directory.clone(),
            sysvol: sysvol.clone(),
            domain: domain(),
            sysvol_source: SysvolSource::Path(sysvol_root.path().to_path_buf()),
        };
        Lab {
            backups: backups.path().to_path_buf(),
            policies,
            _dirs: (sysvol_root, backups),
            directory,
            sysvol,
            session,
        }
    }

    /// Puts a GPO in the domain: its container, links and folder.
    pub(crate) fn add(
        &self,
        gpo: &Gpo,
        folder: &GpoFolder,
        links: &[(usize, bool, bool)],
        objects: Vec<DirectoryObject>,
    ) {
        let mut state = self.directory.state();
        state.estate.gpos.push(gpo.clone());
        if !objects.is_empty() {
            state.children.insert(gpo.id, objects);
        }
        for (order, enabled, enforced) in links {
            let mut value = GpLink::parse(state.gplinks.get(STAFF).map(String::as_str).unwrap_or(""));
            value.set(&gpo.id, &gplink_path(&gpo.id, DOMAIN_DN), Some(*order), *enabled, *enforced);
            state.gplinks.insert(STAFF.into(), value.to_value());
            state.relink(STAFF);
        }
        drop(state);
        write_tree(&self.policies.join(gpo.id.to_string()), folder);
    }

    /// A gpvault backup of the GPO as the domain holds it now; returns its backup ID.
    pub(crate) fn back_up(&self, id: &GpoId) -> String {
        let state = self.directory.state();
        let gpo = state.estate.gpos.iter().find(|g| &g.id == id).unwrap().clone();
        let folder = read_local_folder(&self.policies.join(id.to_string())).unwrap();
        let settings_sids = crate::migrate::references::GpoReferences::of_folder(&folder).domain_sids();
        let input = InstanceInput {
            gpo: &gpo,
            domain: &state.estate.domain,
            folder: &folder,
            settings_sids: &settings_sids,
            principals: Default::default(),
            links: state.estate.links_to(id).into_iter().cloned().collect(),
            wmi_filter: state.estate.wmi_filter_of(&gpo).cloned(),
            directory_objects: state.children.get(id).cloned().unwrap_or_default(),
            comment: "test",
            time: Utc::now(),
        };
        let pending = build_instance(&input);
        BackupStore::open(&self.backups, true).unwrap().write_instance(&pending).unwrap();
        pending.backup_id
    }

    pub(crate) fn on_disk(&self, id: &GpoId) -> GpoFolder {
        read_local_folder(&self.policies.join(id.to_string())).unwrap()
    }

    async fn plan(&self, keys: &[&str], options: RestoreOptions) -> RestorePlan {
        let selection = RestoreSelection::Backups(keys.iter().map(|k| k.to_string()).collect());
        plan(&self.session, self.backups.clone(), &selection, options, &NoProgress).await.unwrap()
    }

    async fn restore(&self, keys: &[&str], options: RestoreOptions) -> RestoreReport {
        let plan = self.plan(keys, options).await;
        execute(&self.session, plan, &RunOptions::new(2), Arc::new(NoProgress)).await.unwrap()
    }
}

pub(crate) fn write_tree(root: &Path, folder: &GpoFolder) {
    std::fs::create_dir_all(root).unwrap();
    for entry in &folder.entries {
        match entry {
            FolderEntry::Dir { rel_path } => std::fs::create_dir_all(root.join(rel_path)).unwrap(),
            FolderEntry::File { rel_path, bytes } => {
                let path = root.join(rel_path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, bytes).unwrap();
            }
        }
    }
}

fn the_failure(report: &RestoreReport) -> &RestoreItemError {
    report.failed().next().map(|(_, e)| e).expect("a failed item")
}

// ---------------------------------------------------------------------------------------------
// Plans

#[tokio::test]
async fn a_plan_classifies_existing_deleted_and_gone_gpos_and_writes_nothing() {
    let lab = Lab::new();
    let existing = gpo("Existing", Version { user: 1, machine: 2 });
    let deleted = gpo("Deleted", Version { user: 3, machine: 4 });
    let gone = gpo("Gone", Version { user: 0, machine: 1 });
    for g in [&existing, &deleted, &gone] {
        lab.add(g, &folder(g.version, b"PReg\x01\0\0\0"), &[], vec![]);
    }
    let ids: Vec<String> = [&existing, &deleted, &gone].iter().map(|g| lab.back_up(&g.id)).collect();
    lab.directory.delete_gpo(&deleted.id).await.unwrap();
    lab.directory.delete_gpo(&gone.id).await.unwrap();
    lab.directory.state().tombstones.remove(&gone.id);
    for g in [&deleted, &gone] {
        std::fs::remove_dir_all(lab.policies.join(g.id.to_string())).unwrap();
    }
    let writes_before = lab.directory.state().writes.len();
    let listing_before = BackupStore::open(&lab.backups, false).unwrap().list().instances.len();

    let keys: Vec<&str> = ids.iter().map(String::as_str).collect();
    let plan = lab.plan(&keys, RestoreOptions::default()).await;
    let kind_of = |g: &Gpo| plan.gpos.iter().find(|p| p.item.gpo == g.id).unwrap().kind.clone();
    assert_eq!(kind_of(&existing), RestoreKind::PreviousVersion);
    assert!(matches!(kind_of(&deleted), RestoreKind::Reanimate(d) if d.id == deleted.id));
    assert_eq!(kind_of(&gone), RestoreKind::Recreate);
    assert!(plan.refused.is_empty(), "{:?}", plan.refused);

    assert_eq!(lab.directory.state().writes.len(), writes_before, "planning writes nothing to the directory");
    assert!(!lab.policies.join(deleted.id.to_string()).exists(), "nor to SYSVOL");
    assert_eq!(BackupStore::open(&lab.backups, false).unwrap().list().instances.len(), listing_before, "nor backups");

    let text = plan.describe();
    let actions: Vec<&str> = text.changes.iter().map(|c| c.action.as_str()).collect();
    assert!(actions.contains(&"take a safety backup"), "{actions:?}");
    assert!(actions.contains(&"reanimate the deleted GPO and restore it"));
    assert!(actions.contains(&"re-create the deleted GPO with its GUID and restore it"));
}

#[tokio::test]
async fn a_plan_says_what_changes_file_by_file_attribute_by_attribute() {
    let lab = Lab::new();
    let mut g = gpo("Before", Version { user: 1, machine: 1 });
    lab.add(&g, &folder(g.version, b"PReg old"), &[(1, true, false)], vec![]);
    let id = lab.back_up(&g.id);
    // Since the backup: renamed, machine half disabled, DACL and settings changed, a file added.
    g.display_name = "After".into();
    g.flags = GpoFlags(2);
    g.security_descriptor = Some(descriptors()[2].clone());
    *lab.directory.state().gpo_mut(&g.id).unwrap() = g.clone();
    let root = lab.policies.join(g.id.to_string());
    std::fs::write(root.join("Machine/registry.pol"), b"PReg new").unwrap();
    std::fs::write(root.join("User/added.xml"), b"<x/>").unwrap();

    let plan = lab.plan(&[&id], RestoreOptions::default()).await;
    let c = &plan.gpos[0].changes;
    let sysvol = c.sysvol.as_ref().expect("compared");
    assert_eq!(sysvol.replaced, ["Machine/registry.pol"]);
    assert_eq!(sysvol.removed, ["User/added.xml"]);
    assert!(sysvol.added.is_empty());
    let attribute = |name: &str| c.attributes.iter().find(|a| a.name == name).cloned();
    assert_eq!(attribute("displayName").map(|a| (a.old, a.new)), Some(("After".into(), "Before".into())));
    assert!(attribute("flags").unwrap().old.starts_with("2 "), "{:?}", attribute("flags"));
    assert_eq!(attribute("versionNumber").unwrap().new, "user 2, computer 2");
    assert!(!c.dacl.is_empty(), "the DACL differs");
    assert!(matches!(&c.links[..], [LinkAction::Existed(l)] if l.container_dn == STAFF), "{:?}", c.links);
    let notes = plan.describe().notes.join("\n");
    assert!(notes.contains("listed, not re-created"), "{notes}");

    // A plan nobody will read need not compare the folder; the run does the same.
    let quick = lab.plan(&[&id], RestoreOptions { skip_sysvol_diff: true, ..Default::default() }).await;
    assert_eq!(quick.gpos[0].changes.sysvol, None);
    assert_eq!(quick.gpos[0].changes.attributes, c.attributes);
    let text = quick.describe().changes.iter().map(|c| c.to.clone()).collect::<Vec<_>>().join("\n");
    assert!(text.contains("not compared"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Execution

#[tokio::test]
async fn a_previous_version_comes_back_with_higher_versions_and_a_safety_backup() {
    let lab = Lab::new();
    let mut g = gpo("Baseline", Version { user: 2, machine: 5 });
    let objects = class_store(&g);
    lab.add(&g, &folder(g.version, b"PReg backed up"), &[], objects.clone());
    let backup_id = lab.back_up(&g.id);
    let backed_up_folder = lab.on_disk(&g.id);

    // Edited since: AD at 3/9, GPT.INI further on the machine half, a package removed.
    g.version = Version { user: 3, machine: 9 };
    g.flags = GpoFlags(1);
    *lab.directory.state().gpo_mut(&g.id).unwrap() = g.clone();
    let edited = folder(Version { user: 3, machine: 11 }, b"PReg edited");
    std::fs::remove_dir_all(lab.policies.join(g.id.to_string())).unwrap();
    write_tree(&lab.policies.join(g.id.to_string()), &edited);
    lab.directory.state().children.insert(g.id, objects[..2].to_vec());

    let report = lab.restore(&[&backup_id], RestoreOptions::default()).await;
    assert!(report.all_succeeded(), "{:?}", report.summary());
    let (_, done) = report.succeeded().next().unwrap();
    // One more than the larger of current (AD 3/9, GPT.INI 3/11) and backed up (2/5).
    let expected = Version { user: 4, machine: 12 };
    assert_eq!(done.version, expected);
    let now = lab.directory.gpo(&g.id).unwrap();
    assert_eq!((now.version, now.flags, now.display_name.as_str()), (expected, GpoFlags(0), "Baseline"));
    let disk = lab.on_disk(&g.id);
    let gpt = String::from_utf8(disk.file("GPT.INI").unwrap().to_vec()).unwrap();
    assert_eq!(gpt, format!("[General]\r\nVersion={}\r\ndisplayName=New Group Policy Object\r\n", expected.raw()));
    let without_gpt =
        |f: &GpoFolder| f.entries.iter().filter(|e| e.rel_path() != "GPT.INI").cloned().collect::<Vec<_>>();
    assert_eq!(without_gpt(&disk), without_gpt(&backed_up_folder), "SYSVOL bytes as backed up");
    let children = lab.directory.state().children.get(&g.id).cloned().unwrap();
    assert_eq!(
        children.iter().map(|o| o.dn.clone()).collect::<Vec<_>>(),
        objects.iter().map(|o| o.dn.clone()).collect::<Vec<_>>()
    );
    // Every item of the folder got the NT ACL derived from the restored DACL.
    let wanted = file_security_from_gpo(&g.id, now.security_descriptor.as_ref().unwrap()).unwrap().to_sddl(None);
    let acls = lab.sysvol.acls.lock().unwrap().clone();
    let gpo_acls: Vec<String> =
        acls.iter().filter(|(k, _)| k.starts_with(&g.id.to_string())).map(|(_, v)| v.to_sddl(None)).collect();
    assert_eq!(gpo_acls.len(), disk.entries.len() + 1);
    assert!(gpo_acls.iter().all(|a| *a == wanted));

    // The safety backup holds the GPO as it was, and says why it was taken.
    let listing = BackupStore::open(&lab.backups, false).unwrap().list();
    let safety = listing.instances.iter().find(|i| Some(&i.info.id) == done.safety_backup.as_ref()).unwrap();
    assert_eq!(safety.info.comment, format!("before restore of {backup_id}"));
    let source = read_source(safety).unwrap();
    assert_eq!(source.gpo.version, Version { user: 3, machine: 9 });
    assert_eq!(source.content.file("Machine/registry.pol"), Some(&b"PReg edited"[..]));
    assert!(lab.backups.join("manifest.xml").is_file(), "the manifest lists it");
}

#[tokio::test]
async fn a_directory_failure_after_sysvol_puts_the_gpo_back() {
    let lab = Lab::new();
    let mut g = gpo("Fragile", Version { user: 1, machine: 1 });
    lab.add(&g, &folder(g.version, b"PReg backed up"), &[], vec![]);
    let backup_id = lab.back_up(&g.id);
    g.flags = GpoFlags(3);
    g.version = Version { user: 1, machine: 2 };
    g.security_descriptor = Some(descriptors()[2].clone());
    *lab.directory.state().gpo_mut(&g.id).unwrap() = g.clone();
    let edited = folder(g.version, b"PReg edited");
    std::fs::remove_dir_all(lab.policies.join(g.id.to_string())).unwrap();
    write_tree(&lab.policies.join(g.id.to_string()), &edited);
    let gpo_before = lab.directory.gpo(&g.id).unwrap();
    lab.directory.state().fail = Some("set_gpo_dacl");

    let report = lab.restore(&[&backup_id], RestoreOptions::default()).await;
    match the_failure(&report) {
        RestoreItemError::Failed { step, rollback, safety_backup, .. } => {
            assert_eq!(*step, RestoreStep::WritingDacl);
            assert_eq!(*rollback, Rollback::PutBack);
            assert!(safety_backup.is_some());
        }
        other => panic!("{other}"),
    }
    let text = crate::error::one_line(the_failure(&report));
    assert!(text.contains("writing its DACL failed") && text.contains("put back as it was"), "{text}");
    // The same attributes, and the same descriptor (re-encoded by the write, so compared as SDDL).
    let sddl = |g: &Gpo| g.security_descriptor.as_ref().map(|sd| sd.to_sddl(None));
    let without_sd = |g: Gpo| Gpo { security_descriptor: None, ..g };
    let now = lab.directory.gpo(&g.id).unwrap();
    assert_eq!(sddl(&now), sddl(&gpo_before), "DACL as it was");
    assert_eq!(without_sd(now), without_sd(gpo_before), "AD as it was");
    assert_eq!(lab.on_disk(&g.id), edited, "SYSVOL as it was, GPT.INI included");
    assert!(report.closing.is_empty(), "the manifest is rewritten for the safety backup");

    // When putting it back fails too, the report says so and where the GPO as it was is kept.
    {
        let mut state = lab.directory.state();
        state.fail = Some("set_gpo_dacl");
        state.fail_sticky = true;
    }
    let report = lab.restore(&[&backup_id], RestoreOptions::default()).await;
    let text = crate::error::one_line(the_failure(&report));
    match the_failure(&report) {
        RestoreItemError::Failed { rollback: Rollback::NotPutBack(state), safety_backup: Some(safety), .. } => {
            assert!(state.contains("its DACL") && state.contains(safety.as_str()), "{state}");
        }
        other => panic!("{other}"),
    }
    assert!(text.contains("Putting the GPO back failed too"), "{text}");
}

#[tokio::test]
async fn an_unchanged_folder_is_updated_in_place_and_put_back_on_failure() {
    let lab = Lab::new();
    let g = gpo("Untouched", Version { user: 2, machine: 2 });
    lab.add(&g, &folder(g.version, b"PReg same"), &[], vec![]);
    let backup_id = lab.back_up(&g.id);
    let disk_before = lab.on_disk(&g.id);
    let root = lab.policies.join(g.id.to_string());
    let inode = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    let (root_inode, pol_inode) = (inode(&root), inode(&root.join("Machine/registry.pol")));

    // The attributes write fails after GPT.INI and the NT ACLs were written in place.
    lab.directory.state().fail = Some("modify_gpo");
    let report = lab.restore(&[&backup_id], RestoreOptions::default()).await;
    assert!(
        matches!(
            the_failure(&report),
            RestoreItemError::Failed { step: RestoreStep::WritingAttributes, rollback: Rollback::PutBack, .. }
        ),
        "{:?}",
        report.summary()
    );
    assert_eq!(lab.on_disk(&g.id), disk_before, "GPT.INI put back");
    let acls = lab.sysvol.acls.lock().unwrap().clone();
    assert!(acls.values().all(|sd| sd.dacl.as_ref().is_some_and(|d| d.aces.is_empty())), "NT ACLs put back");

    let report = lab.restore(&[&backup_id], RestoreOptions::default()).await;
    assert!(report.all_succeeded(), "{:?}", report.summary());
    // The same folder and files: only GPT.INI was written, and every item's NT ACL set.
    assert_eq!((inode(&root), inode(&root.join("Machine/registry.pol"))), (root_inode, pol_inode));
    let gpt = String::from_utf8(lab.on_disk(&g.id).file("GPT.INI").unwrap().to_vec()).unwrap();
    assert!(gpt.contains(&format!("Version={}\r\n", Version { user: 3, machine: 3 }.raw())), "{gpt}");
    let acls = lab.sysvol.acls.lock().unwrap().clone();
    assert_eq!(acls.len(), disk_before.entries.len() + 1);
    // And only the version was written to the directory: the DACL is the same.
    let writes = lab.directory.state().writes.clone();
    assert!(!writes.iter().any(|w| w.starts_with("set_gpo_dacl")), "{writes:?}");
}

/// The ACLs read along with the folder decide which to set; an account that may not read them
/// that way still restores, reading them one by one.
#[tokio::test]
async fn the_acls_read_with_the_folder_are_used_and_their_refusal_falls_back_to_one_by_one() {
    let lab = Lab::new();
    let g = gpo("Same files", Version { user: 1, machine: 1 });
    lab.add(&g, &folder(g.version, b"PReg same"), &[], vec![]);
    let backup_id = lab.back_up(&g.id);
    let items = lab.on_disk(&g.id).entries.len() + 1;

    let report = lab.restore(&[&backup_id], RestoreOptions::default()).await;
    assert!(report.all_succeeded(), "{:?}", report.summary());
    assert_eq!(lab.sysvol.single_acl_reads.load(Ordering::SeqCst), 0, "none read one by one");
    assert_eq!(lab.sysvol.acls.lock().unwrap().len(), items, "every item's ACL set");

    lab.sysvol.deny_folder_acls.store(true, Ordering::SeqCst);
    let report = lab.restore(&[&backup_id], RestoreOptions::default()).await;
    assert!(report.all_succeeded(), "{:?}", report.summary());
    assert_eq!(lab.sysvol.single_acl_reads.load(Ordering::SeqCst), items, "each read one by one");
}

#[tokio::test]
async fn a_gpo_whose_folder_is_gone_gets_it_back() {
    let lab = Lab::new();
    let g = gpo("Folderless", Version { user: 1, machine: 3 });
    lab.add(&g, &folder(g.version, b"PReg kept"), &[], vec![]);
    let backup_id = lab.back_up(&g.id);
    std::fs::remove_dir_all(lab.policies.join(g.id.to_string())).unwrap();

    let report = lab.restore(&[&backup_id], RestoreOptions::default()).await;
    assert!(report.all_succeeded(), "{:?}", report.summary());
    assert_eq!(lab.on_disk(&g.id).file("Machine/registry.pol"), Some(&b"PReg kept"[..]));
    // Its safety backup has the AD half and no files.
    let (_, done) = report.succeeded().next().unwrap();
    let safety = listed_by_id(&lab.backups, done.safety_backup.as_deref().unwrap());
    assert_eq!(read_source(&safety).unwrap().content.files().count(), 0);
}

#[tokio::test]
async fn a_sysvol_failure_half_way_changes_nothing() {
    let lab = Lab::new();
    let g = gpo("Locked", Version { user: 1, machine: 1 });
    lab.add(&g, &folder(g.version, b"PReg backed up"), &[], vec![]);
    let backup_id = lab.back_up(&g.id);
    std::fs::write(lab.policies.join(g.id.to_string()).join("Machine/registry.pol"), b"PReg edited").unwrap();
    let disk_before = lab.on_disk(&g.id);
    let writes_before = lab.directory.state().writes.len();
    lab.sysvol.fail_renames.store(true, Ordering::SeqCst);

    let report = lab.restore(&[&backup_id], RestoreOptions::default()).await;
    match the_failure(&report) {
        RestoreItemError::Failed { step: RestoreStep::WritingSysvol, rollback: Rollback::NothingChanged, .. } => {}
        other => panic!("{other}"),
    }
    assert_eq!(lab.on_disk(&g.id), disk_before);
    assert_eq!(lab.directory.state().writes.len(), writes_before, "the directory was not touched");
    let leftovers: Vec<String> = std::fs::read_dir(&lab.policies)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('{'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_deleted_gpo_comes_back_with_its_links_where_they_were() {
    let lab = Lab::new();
    let (a, b, c) = (gpo("A", Version::default()), gpo("B", Version::default()), gpo("C", Version::default()));
    // In Staff: A order 1, B order 2, C order 3.
    lab.add(&c, &folder(c.version, b"c"), &[(1, true, false)], vec![]);
    lab.add(&b, &folder(b.version, b"b"), &[(1, false, true)], class_store(&b));
    lab.add(&a, &folder(a.version, b"a"), &[(1, true, false)], vec![]);
    let staff_before = lab.directory.state().gplinks[STAFF].clone();
    let ids: BTreeMap<GpoId, String> = [&a, &b, &c].iter().map(|g| (g.id, lab.back_up(&g.id))).collect();
    for g in [&a, &b] {
        lab.directory.remove_link(STAFF, &g.id).await.unwrap();
        lab.directory.delete_gpo(&g.id).await.unwrap();
        std::fs::remove_dir_all(lab.policies.join(g.id.to_string())).unwrap();
    }

    // B first, then A, one at a time: each lands where it was among the others.
    let links = RestoreOptions { links: true, ..Default::default() };
    for g in [&b, &a] {
        let report = lab.restore(&[&ids[&g.id]], links).await;
        assert!(report.all_succeeded(), "{:?}", report.summary());
        let (_, done) = report.succeeded().next().unwrap();
        assert!(matches!(done.kind, RestoreKind::Reanimate(_)));
        assert_eq!(done.links_set, 1);
        assert_eq!(done.safety_backup, None);
    }
    assert_eq!(lab.directory.state().gplinks[STAFF], staff_before, "gPLink as it was");
    let restored = lab.directory.gpo(&b.id).unwrap();
    assert_eq!(restored.display_name, "B");
    assert_eq!(restored.file_sys_path, format!(r"\\{REALM}\SysVol\{REALM}\Policies\{}", b.id));
    assert_eq!(lab.directory.state().children[&b.id].len(), class_store(&b).len());
    assert_eq!(lab.on_disk(&b.id).file("Machine/registry.pol"), Some(&b"b"[..]));
}

#[tokio::test]
async fn a_gone_gpo_is_created_again_and_a_failure_deletes_it_again() {
    let lab = Lab::new();
    let g = gpo("Gone", Version { user: 4, machine: 4 });
    lab.add(&g, &folder(g.version, b"gone"), &[], vec![]);
    let id = lab.back_up(&g.id);
    lab.directory.delete_gpo(&g.id).await.unwrap();
    lab.directory.state().tombstones.clear();
    std::fs::remove_dir_all(lab.policies.join(g.id.to_string())).unwrap();

    lab.directory.state().fail = Some("set_gpo_dacl");
    let report = lab.restore(&[&id], RestoreOptions::default()).await;
    assert!(
        matches!(the_failure(&report), RestoreItemError::Failed { rollback: Rollback::PutBack, .. }),
        "{:?}",
        report.summary()
    );
    assert!(lab.directory.gpo(&g.id).is_none(), "deleted again");
    assert!(!lab.policies.join(g.id.to_string()).exists(), "no folder left");

    lab.directory.state().fail = None;
    let report = lab.restore(&[&id], RestoreOptions::default()).await;
    assert!(report.all_succeeded(), "{:?}", report.summary());
    let made = lab.directory.gpo(&g.id).unwrap();
    assert_eq!(made.version, Version { user: 5, machine: 5 });
    let expected_dacl = g.security_descriptor.as_ref().unwrap().dacl.clone();
    assert_eq!(made.security_descriptor.unwrap().dacl, expected_dacl, "the backed-up DACL");
}

#[tokio::test]
async fn a_missing_wmi_filter_is_not_linked_unless_re_creating_it_was_asked() {
    let lab = Lab::new();
    let filter = WmiFilter {
        id: "{2B4C1C3F-0000-4A6B-8F00-1234567890AB}".into(),
        dn: format!("CN={{2B4C1C3F-0000-4A6B-8F00-1234567890AB}},CN=SOM,CN=WMIPolicy,CN=System,{DOMAIN_DN}"),
        name: "Laptops".into(),
        description: String::new(),
        query: "1;3;10;x;WQL;root\\CIMv2;SELECT * FROM Win32_ComputerSystem;".into(),
        author: String::new(),
        created: String::new(),
        changed: String::new(),
    };
    lab.directory.state().estate.wmi_filters.push(filter.clone());
    let mut g = gpo("Filtered", Version::default());
    g.wmi_filter_link = Some(format!("[{REALM};{};0]", filter.id));
    lab.add(&g, &folder(g.version, b"f"), &[], vec![]);
    let id = lab.back_up(&g.id);
    lab.directory.state().estate.wmi_filters.clear();

    let report = lab.restore(&[&id], RestoreOptions::default()).await;
    let (_, done) = report.succeeded().next().unwrap();
    assert!(done.to_string().contains("no longer exists: not linked; it can be re-created from the backup"), "{done}");
    assert_eq!(lab.directory.gpo(&g.id).unwrap().wmi_filter_link, None);

    let report = lab.restore(&[&id], RestoreOptions { recreate_wmi_filters: true, ..Default::default() }).await;
    assert!(report.all_succeeded(), "{:?}", report.summary());
    assert_eq!(lab.directory.state().estate.wmi_filters, vec![filter.clone()]);
    assert_eq!(lab.directory.gpo(&g.id).unwrap().wmi_filter_link, g.wmi_filter_link);
}

#[tokio::test]
async fn a_backup_of_another_domain_is_refused_by_guid_or_name() {
    let lab = Lab::new();
    let g = gpo("Elsewhere", Version::default());
    lab.add(&g, &folder(g.version, b"x"), &[], vec![]);
    let id = lab.back_up(&g.id);
    // Same name, another domain (a rebuilt forest): the GUID decides.
    lab.directory.state().estate.domain.guid = "{11111111-2222-3333-4444-555555555555}".into();
    let mut session_domain = domain();
    session_domain.guid = "{11111111-2222-3333-4444-555555555555}".into();
    let session = DomainSession { domain: session_domain, ..lab.session_clone() };
    let selection = RestoreSelection::Backups(vec![id.clone()]);
    let plan = plan(&session, lab.backups.clone(), &selection, RestoreOptions::default(), &NoProgress).await.unwrap();
    assert!(plan.is_empty());
    assert!(matches!(&plan.refused[0].refusal, Refusal::OtherDomain { .. }), "{:?}", plan.refused);
    assert!(plan.refused[0].refusal.to_string().starts_with(
        "You cannot restore a GPO from a backup into a domain that is different from the GPO's original domain"
    ));
    let report = execute(&session, plan, &RunOptions::new(1), Arc::new(NoProgress)).await.unwrap();
    assert!(matches!(the_failure(&report), RestoreItemError::Refused(_)));

    // Without a recorded GUID (GPMC instance without bkupInfo.xml...), the DNS name decides.
    let source = read_source(&BackupStore::open(&lab.backups, false).unwrap().list().instances[0]).unwrap();
    let nameless = super::source::BackupSource {
        domain: super::source::SourceDomain { dns_name: REALM.to_uppercase(), guid: None },
        ..source
    };
    assert!(check_domain(&nameless, &session.domain).is_ok());
    let other = super::source::BackupSource {
        domain: super::source::SourceDomain { dns_name: "branch.example.test".into(), guid: None },
        ..nameless
    };
    assert!(check_domain(&other, &session.domain).is_err());
}

impl Lab {
    fn session_clone(&self) -> DomainSession {
        DomainSession {
            target: self.session.target.clone(),
            directory: self.directory.clone(),
            sysvol: self.sysvol.clone(),
            domain: self.session.domain.clone(),
            sysvol_source: self.session.sysvol_source.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Untrusted instances

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpmc");

fn fixture_instances() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from(FIXTURES)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else if entry.file_name() == "Backup.xml" {
                out.push(dir.clone());
            }
        }
    }
    out.sort();
    out
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn listed(dir: &Path) -> InstanceSummary {
    let listing = BackupStore::open(dir, false).unwrap().list();
    assert_eq!(listing.instances.len(), 1, "{:?}", listing.findings);
    listing.instances[0].clone()
}

#[test]
fn every_gpmc_fixture_reads_as_a_restorable_instance() {
    let instances = fixture_instances();
    assert_eq!(instances.len(), 16);
    for path in instances {
        let listing = BackupStore::open(path.parent().unwrap(), false).unwrap().list();
        let instance = listing.instances.iter().find(|i| i.path == path).unwrap();
        let source = read_source(instance).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let backup = crate::formats::BackupXml::parse(&std::fs::read(path.join("Backup.xml")).unwrap()).unwrap();
        assert_eq!(source.gpo.id.to_string().to_uppercase(), backup.core.id.to_uppercase());
        // Every file Backup.xml locates is in the content, with the instance's bytes.
        let located = backup
            .extensions
            .iter()
            .flat_map(|b| b.objects())
            .filter(|o| o.kind == crate::formats::FsObjectKind::File && o.location.is_some())
            .count();
        assert_eq!(source.content.files().count(), located, "{}", path.display());
        assert!(source.security_descriptor.dacl.is_some());
        // And it would land on SYSVOL as one folder tree.
        let content = restored_content(&source, Version { user: 1, machine: 1 });
        assert!(content.file("GPT.INI").is_some());
    }
}

#[test]
fn gpmc_spellings_of_one_folder_become_one() {
    let applocker = fixture_instances().into_iter().find(|p| p.to_string_lossy().contains("{16D29EA5")).unwrap();
    let source = read_source(&listed(applocker.parent().unwrap()).clone()).unwrap_or_else(|e| panic!("{e}"));
    let paths: Vec<&str> = source.content.entries.iter().map(|e| e.rel_path()).collect();
    assert!(paths.contains(&"Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"), "{paths:?}");
    assert!(!paths.iter().any(|p| p.contains("microsoft")), "{paths:?}");

    let entry = |p: &str, dir: bool| {
        if dir {
            FolderEntry::Dir { rel_path: p.into() }
        } else {
            FolderEntry::File { rel_path: p.into(), bytes: vec![] }
        }
    };
    let folder = GpoFolder {
        entries: vec![
            entry("machine/scripts/a.cmd", false),
            entry("Machine", true),
            entry("Machine/Scripts", true),
            entry("MACHINE/Scripts/B.CMD", false),
        ],
    };
    let one = one_case_per_folder(folder);
    let paths: Vec<&str> = one.entries.iter().map(|e| e.rel_path()).collect();
    assert_eq!(paths, ["Machine", "Machine/Scripts", "Machine/Scripts/a.cmd", "Machine/Scripts/B.CMD"]);
}

/// A copy of a GPMC fixture instance with `edit` applied to its Backup.xml text.
fn tampered_gpmc(work: &Path, edit: impl Fn(String) -> String) -> InstanceSummary {
    let chrome = fixture_instances().into_iter().find(|p| p.to_string_lossy().contains("Chrome")).unwrap();
    let dir = work.join(chrome.file_name().unwrap());
    copy_tree(&chrome, &dir);
    let text = std::fs::read_to_string(dir.join("Backup.xml")).unwrap();
    std::fs::write(dir.join("Backup.xml"), edit(text)).unwrap();
    listed(work)
}

fn refused(instance: &InstanceSummary) -> InstanceProblem {
    read_source(instance).expect_err("the instance is refused")
}

#[test]
fn hostile_gpmc_instances_are_refused_naming_the_file_and_the_reason() {
    let registry = r"DomainSysvol\GPO\Machine\registry.pol";
    type Edit = Box<dyn Fn(String) -> String>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        ("truncated", Box::new(|t: String| t[..t.len() / 2].to_string()), "truncated or malformed"),
        (
            "climbing",
            Box::new(move |t: String| t.replace(registry, r"DomainSysvol\GPO\..\..\..\etc\passwd")),
            "climbs out",
        ),
        ("absolute", Box::new(move |t: String| t.replace(registry, "/etc/passwd")), "is absolute"),
        ("drive", Box::new(move |t: String| t.replace(registry, r"C:\Windows\win.ini")), "drive letter"),
        ("unc", Box::new(move |t: String| t.replace(registry, r"\\evil\share\registry.pol")), "UNC"),
        (
            "stream",
            Box::new(move |t: String| t.replace(registry, r"DomainSysvol\GPO\Machine\registry.pol:hidden")),
            "alternate data stream",
        ),
        ("elsewhere", Box::new(move |t: String| t.replace(registry, "Backup.xml")), "DomainSysvol"),
        ("missing", Box::new(move |t: String| t.replace(registry, r"DomainSysvol\GPO\Machine\gone.pol")), "is missing"),
        (
            "bad guid",
            Box::new(|t: String| {
                let start = t.find("<ID><![CDATA[").unwrap() + "<ID><![CDATA[".len();
                let end = start + t[start..].find("]]>").unwrap();
                format!("{}not-a-guid{}", &t[..start], &t[end..])
            }),
            "is not a GUID",
        ),
    ];
    for (what, edit, expected) in cases {
        let work = tempfile::tempdir().unwrap();
        let instance = tampered_gpmc(work.path(), edit);
        let problem = refused(&instance).to_string();
        assert!(problem.contains(expected), "{what}: {problem}");
        assert!(problem.contains(&instance.path.display().to_string()), "{what} names the file: {problem}");
    }
}

#[test]
fn a_symlink_out_of_the_instance_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), b"not a policy").unwrap();
    // The file itself, and a folder on its way.
    for link_at in ["DomainSysvol/GPO/Machine/registry.pol", "DomainSysvol/GPO/Machine"] {
        let work = tempfile::tempdir().unwrap();
        let instance = tampered_gpmc(work.path(), |t| t);
        let at = instance.path.join(link_at);
        if at.is_dir() {
            std::fs::remove_dir_all(&at).unwrap();
            std::fs::create_dir_all(outside.path().join("Machine")).unwrap();
            std::fs::write(outside.path().join("Machine/registry.pol"), b"PReg").unwrap();
            std::os::unix::fs::symlink(outside.path().join("Machine"), &at).unwrap();
        } else {
            std::fs::remove_file(&at).unwrap();
            std::os::unix::fs::symlink(outside.path().join("secret"), &at).unwrap();
        }
        let problem = refused(&instance);
        assert!(matches!(problem, InstanceProblem::UnsafePath { .. }), "{link_at}: {problem}");
        assert!(problem.to_string().contains("symlink"), "{problem}");
    }
    // A symlink that stays inside is only another name for a file of the instance.
    let work = tempfile::tempdir().unwrap();
    let instance = tampered_gpmc(work.path(), |t| t);
    let pol = instance.path.join("DomainSysvol/GPO/Machine/registry.pol");
    std::fs::rename(&pol, instance.path.join("elsewhere.pol")).unwrap();
    std::os::unix::fs::symlink(instance.path.join("elsewhere.pol"), &pol).unwrap();
    assert!(read_source(&instance).is_ok());
}

#[tokio::test]
async fn hostile_gpvault_instances_are_refused_before_anything_is_written() {
    let lab = Lab::new();
    let g = gpo("Target", Version::default());
    lab.add(&g, &folder(g.version, b"PReg real"), &[], vec![]);
    let id = lab.back_up(&g.id);
    let instance_dir = lab.backups.join(&id);
    let json_path = instance_dir.join("gpvault.json");
    let original = std::fs::read_to_string(&json_path).unwrap();
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let edits: Vec<(&str, Edit, &str)> = vec![
        ("damaged file", Box::new(|_| {}), "changed or is damaged"),
        (
            "stored outside",
            Box::new(|v| {
                v["sysvol"]
                    .as_array_mut()
                    .unwrap()
                    .iter_mut()
                    .filter(|i| i["stored_at"].is_string())
                    .for_each(|i| i["stored_at"] = "DomainSysvol/GPO/../../../x".into())
            }),
            "climbs out",
        ),
        (
            "sysvol path",
            Box::new(|v| {
                v["sysvol"]
                    .as_array_mut()
                    .unwrap()
                    .iter_mut()
                    .filter(|i| i["stored_at"].is_string())
                    .for_each(|i| i["path"] = "Machine/../../other/registry.pol".into())
            }),
            "cannot be written to SYSVOL",
        ),
        (
            "foreign object",
            Box::new(|v| {
                v["directory_objects"] =
                    serde_json::json!([{"dn": "CN=Admins,CN=Users,DC=corp,DC=example,DC=test", "attributes": {}}])
            }),
            "not below the GPO",
        ),
        ("bad gpo guid", Box::new(|v| v["gpo"]["id"] = "{nope}".into()), "truncated or malformed"),
    ];
    for (what, edit, expected) in edits {
        let mut value: serde_json::Value = serde_json::from_str(&original).unwrap();
        edit(&mut value);
        std::fs::write(&json_path, serde_json::to_vec(&value).unwrap()).unwrap();
        if what == "damaged file" {
            std::fs::write(instance_dir.join("DomainSysvol/GPO/Machine/registry.pol"), b"PReg fake").unwrap();
        }
        let writes = lab.directory.state().writes.len();
        let plan = lab.plan(&[&id], RestoreOptions::default()).await;
        assert!(plan.is_empty(), "{what}");
        let reason = plan.refused[0].refusal.to_string();
        assert!(reason.contains(expected), "{what}: {reason}");
        let report = execute(&lab.session, plan, &RunOptions::new(1), Arc::new(NoProgress)).await.unwrap();
        assert!(!report.all_succeeded());
        assert_eq!(lab.directory.state().writes.len(), writes, "{what}: nothing written");
        assert_eq!(lab.on_disk(&g.id).file("Machine/registry.pol"), Some(&b"PReg real"[..]), "{what}");
        std::fs::write(instance_dir.join("DomainSysvol/GPO/Machine/registry.pol"), b"PReg real").unwrap();
    }
}

#[test]
fn paths_in_an_instance_stay_inside_it() {
    for good in [r"DomainSysvol\GPO\Machine\registry.pol", "DomainSysvol/GPO/./User", "a//b"] {
        assert!(relative_components(good).is_ok(), "{good}");
    }
    for (bad, why) in [
        ("..", "climbs"),
        (r"DomainSysvol\GPO\..\..\x", "climbs"),
        ("/etc/passwd", "absolute"),
        (r"\Windows", "absolute"),
        ("C:x", "drive"),
        (r"\\server\share", "UNC"),
        ("//server/share", "UNC"),
        ("a/b:stream", "stream"),
        ("", "empty"),
        ("a/\0/b", "NUL"),
    ] {
        let err = relative_components(bad).unwrap_err();
        assert!(err.contains(why), "{bad:?}: {err}");
    }
}

#[test]
fn gpreport_paths_become_dns() {
    assert_eq!(canonical_to_dn("corp.example.test").as_deref(), Some("DC=corp,DC=example,DC=test"));
    assert_eq!(
        canonical_to_dn("corp.example.test/Staff/Finance").as_deref(),
        Some("OU=Finance,OU=Staff,DC=corp,DC=example,DC=test")
    );
    assert_eq!(canonical_to_dn("corp.example.test/Bad,OU=Injected"), None);
    assert_eq!(canonical_to_dn(""), None);
}

fn listed_by_id(dir: &Path, id: &str) -> InstanceSummary {
    let listing = BackupStore::open(dir, false).unwrap().list();
    listing.instances.into_iter().find(|i| i.info.id == id).unwrap_or_else(|| panic!("{id} listed"))
}

/// What refuses a copy of a GPMC fixture instance whose file `file` was changed by `edit`: the
/// listing (a finding, the instance left out) or, for an instance listed, `read_source`.
fn refusal_of(file: &str, edit: impl Fn(Vec<u8>) -> Vec<u8>) -> (PathBuf, String) {
    let work = tempfile::tempdir().unwrap();
    let instance = tampered_gpmc(work.path(), |t| t);
    let path = instance.path.join(file);
    std::fs::write(&path, edit(std::fs::read(&path).unwrap())).unwrap();
    let listing = BackupStore::open(work.path(), false).unwrap().list();
    let said = match listing.instances.first() {
        Some(listed) => read_source(listed).expect_err("the instance is refused").to_string(),
        None => listing.findings.iter().map(|f| format!("{}: {}", f.path.display(), f.problem)).collect(),
    };
    (path, said)
}

fn utf16le(text: &str) -> Vec<u8> {
    crate::formats::text::encode_utf16le_bom(text)
}

#[test]
fn hostile_xml_encodings_and_truncations_in_any_file_are_refused_naming_the_file() {
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    let after_declaration = |t: String, insert: &str| match t.find("?>") {
        Some(end) => format!("{}{insert}{}", &t[..end + 2], &t[end + 2..]),
        None => format!("{insert}{t}"),
    };
    let laughs = r#"<!DOCTYPE x [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>"#;
    let external = r#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>"#;
    type Edit = Box<dyn Fn(Vec<u8>) -> Vec<u8>>;
    let cases: Vec<(&str, &str, Edit, &str)> = vec![
        (
            "billion laughs",
            "Backup.xml",
            Box::new(move |b| after_declaration(text(b), laughs).replacen("<![CDATA[", "&c;<![CDATA[", 1).into()),
            "DOCTYPE",
        ),
        ("external entity", "Backup.xml", Box::new(move |b| after_declaration(text(b), external).into()), "DOCTYPE"),
        (
            "undeclared entity",
            "Backup.xml",
            Box::new(move |b| text(b).replacen("<![CDATA[", "&e;<![CDATA[", 1).into()),
            "unknown entity",
        ),
        ("truncated bkupInfo.xml", "bkupInfo.xml", Box::new(|b: Vec<u8>| b[..b.len() / 2].to_vec()), "bkupInfo.xml"),
        (
            "DOCTYPE in bkupInfo.xml",
            "bkupInfo.xml",
            Box::new(move |b| format!("{external}{}", text(b)).into_bytes()),
            "DOCTYPE",
        ),
        (
            "bad GPO GUID in bkupInfo.xml",
            "bkupInfo.xml",
            Box::new(move |b| text(b).replace("{47CBFF58-0313-4118-9856-7F7CD6F1FC11}", "{47CBFF58-nope}").into()),
            "is not a GUID",
        ),
        ("truncated gpreport.xml", "gpreport.xml", Box::new(|b: Vec<u8>| b[..b.len() / 2].to_vec()), "gpreport.xml"),
        (
            "odd-length UTF-16 gpreport.xml",
            "gpreport.xml",
            Box::new(|mut b: Vec<u8>| {
                b.push(b'<');
                b
            }),
            "UTF-16",
        ),
        (
            "DOCTYPE in gpreport.xml",
            "gpreport.xml",
            Box::new(move |b| {
                let t = crate::formats::text::decode_utf16le(&b, "gpreport.xml").unwrap();
                utf16le(&after_declaration(t, laughs))
            }),
            "DOCTYPE",
        ),
    ];
    for (what, file, edit, reason) in cases {
        let (path, said) = refusal_of(file, edit);
        assert!(said.contains(&path.display().to_string()), "{what}: names the file {}: {said}", path.display());
        assert!(said.contains(reason), "{what}: says why ({reason}): {said}");
    }
    // Bytes that are not UTF-8 (a file saved as Latin-1): the encoding is named.
    let (path, said) = refusal_of("Backup.xml", |b| {
        let t = String::from_utf8(b).unwrap();
        let mut bytes = t.replacen("Google Chrome", "Google Chr\u{1}me", 1).into_bytes();
        let at = bytes.iter().position(|&c| c == 1).unwrap();
        bytes[at] = 0xE9; // é in Latin-1, invalid alone in UTF-8
        bytes
    });
    assert!(said.contains(&path.display().to_string()) && said.contains("UTF-8"), "{said}");
}

#[test]
fn an_oversized_or_special_file_is_refused_before_it_is_read() {
    let work = tempfile::tempdir().unwrap();
    let instance = tampered_gpmc(work.path(), |t| t);
    let pol = instance.path.join("DomainSysvol/GPO/Machine/registry.pol");
    // Sparse: takes no disk, but claims more than any GPO file holds.
    std::fs::OpenOptions::new().write(true).open(&pol).unwrap().set_len(MAX_FILE_BYTES + 1).unwrap();
    let said = refused(&instance).to_string();
    assert!(said.contains("registry.pol") && said.contains("more than any"), "{said}");

    // A named pipe where a file is: reading it would block forever.
    std::fs::remove_file(&pol).unwrap();
    let status = std::process::Command::new("mkfifo").arg(&pol).status().unwrap();
    assert!(status.success());
    let said = refused(&instance).to_string();
    assert!(said.contains("registry.pol") && said.contains("not a file"), "{said}");

    // The same for the files the listing reads: the instance is left out, the file named.
    let work = tempfile::tempdir().unwrap();
    let instance = tampered_gpmc(work.path(), |t| t);
    let info = instance.path.join("bkupInfo.xml");
    std::fs::OpenOptions::new().write(true).open(&info).unwrap().set_len(MAX_FILE_BYTES + 1).unwrap();
    let listing = BackupStore::open(work.path(), false).unwrap().list();
    assert!(listing.instances.is_empty());
    assert_eq!(listing.findings.len(), 1);
    assert_eq!(listing.findings[0].path, info);
    assert!(listing.findings[0].problem.contains("more than any"), "{}", listing.findings[0].problem);
}

#[test]
fn a_manifest_that_names_another_gpo_for_a_folder_is_refused_naming_the_manifest() {
    let work = tempfile::tempdir().unwrap();
    let instance = tampered_gpmc(work.path(), |t| t);
    let store = BackupStore::open(work.path(), false).unwrap();
    assert_eq!(store.rebuild_manifest().unwrap(), 1);
    let manifest = work.path().join(crate::store::MANIFEST_FILE);
    let text = std::fs::read_to_string(&manifest).unwrap();
    let gpo = "{47CBFF58-0313-4118-9856-7F7CD6F1FC11}";
    let other = "{31B2F340-016D-11D2-945F-00C04FB984F9}";
    assert!(text.to_uppercase().contains(gpo), "{text}");
    let lied = text.replace(gpo, other).replace(&gpo.to_lowercase(), other);
    std::fs::write(&manifest, lied).unwrap();

    let listing = store.list_fast();
    assert_eq!(listing.source, crate::store::ListingSource::Manifest, "the listing trusts the manifest");
    let listed = &listing.instances[0];
    assert_eq!(listed.info.gpo_guid.to_uppercase(), other, "and so names the other GPO");
    let said = read_source(listed).expect_err("the instance is refused").to_string();
    assert!(said.contains(&instance.path.join("bkupInfo.xml").display().to_string()), "{said}");
    assert!(said.contains(&manifest.display().to_string()) && said.contains(other), "{said}");
    // Read from the folder itself, the instance is what its own files say.
    assert!(read_source(&store.list().instances[0]).is_ok());
}
