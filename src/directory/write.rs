//! Writes to the AD half of GPOs over LDAP: each operation is one or a few LDAP requests, and
//! each failure says which DN and what to do.

use std::collections::HashSet;

use ldap3::controls::RawControl;
use ldap3::{Ldap, LdapResult, Mod, Scope};
use uuid::Uuid;

use super::changes::{
    ContainerLinks, DeletedGpo, GpoAttributes, GpoChanges, LinkPlacement, ReanimateReport, WmiFilterChange,
    WmiFilterOutcome,
};
use super::ldap::{LdapDirectory, Resend, SD_FLAGS_OID, first_bytes, first_text};
use super::parse::{GpLink, gplink_path};
use super::{AttributeValue, DirectoryError, DirectoryObject};
use crate::model::security::control;
use crate::model::{GpoId, SecurityDescriptor, WmiFilter};

/// LDAP_SERVER_SD_FLAGS_OID with DACL_SECURITY_INFORMATION only: owner, group and SACL untouched.
const SD_FLAGS_DACL: [u8; 5] = [0x30, 0x03, 0x02, 0x01, 0x04];
/// LDAP_SERVER_SHOW_DELETED_OID: tombstones are visible (and, on modify, can be reanimated).
const SHOW_DELETED_OID: &str = "1.2.840.113556.1.4.417";
/// LDAP_SERVER_TREE_DELETE_OID: delete an object with everything below it.
const TREE_DELETE_OID: &str = "1.2.840.113556.1.4.805";

/// What samba-tool and GPMC write as gPCFunctionalityVersion.
const DEFAULT_FUNCTIONALITY_VERSION: u32 = 2;

/// Attributes of a read object that a client cannot (or must not) write back: the server owns
/// them, derives them from the DN, or they name the source domain's schema. Compared in lower case.
const NOT_WRITTEN_BACK: &[&str] = &[
    "cn",
    "name",
    "distinguishedname",
    "objectguid",
    "objectsid",
    "objectcategory",
    "instancetype",
    "whencreated",
    "whenchanged",
    "usncreated",
    "usnchanged",
    "dscorepropagationdata",
    "replpropertymetadata",
    "isdeleted",
    "isrecycled",
    "lastknownparent",
    "msds-lastknownrdn",
    "structuralobjectclass",
    "createtimestamp",
    "modifytimestamp",
    "entryuuid",
];

/// gPCFileSysPath of a GPO in the domain `dns_name`: `\\<dns>\SysVol\<dns>\Policies\{GUID}`.
pub fn gpo_file_sys_path(dns_name: &str, gpo: &GpoId) -> String {
    format!(r"\\{dns_name}\SysVol\{dns_name}\Policies\{gpo}")
}

/// `dn` with its suffix `from` replaced by `to` (case-insensitive match), e.g. a class store
/// object moved from one GPO's DN to another's; `None` when `dn` is not below `from`.
pub fn rebase_dn(dn: &str, from: &str, to: &str) -> Option<String> {
    if dn.len() < from.len() {
        return None;
    }
    let (head, tail) = dn.split_at(dn.len() - from.len());
    if !tail.eq_ignore_ascii_case(from) {
        return None;
    }
    if head.is_empty() {
        return Some(to.to_string());
    }
    head.strip_suffix(',').map(|rdns| format!("{rdns},{to}"))
}

fn text_set(value: impl Into<String>) -> HashSet<Vec<u8>> {
    HashSet::from([value.into().into_bytes()])
}

fn attr(name: &str) -> Vec<u8> {
    name.as_bytes().to_vec()
}

fn control(oid: &str, value: Option<&[u8]>) -> RawControl {
    RawControl { ctype: oid.to_string(), crit: true, val: value.map(<[u8]>::to_vec) }
}

/// Turns an LDAP result into the typed error for `operation` on `dn`.
fn check(result: Result<LdapResult, ldap3::LdapError>, operation: &str, dn: &str) -> Result<(), DirectoryError> {
    let result = result
        .map_err(|e| DirectoryError::Operation { operation: format!("{operation} {dn}"), reason: e.to_string() })?;
    let (operation, dn) = (operation.to_string(), dn.to_string());
    let reason = if result.text.is_empty() { format!("result code {}", result.rc) } else { result.text.clone() };
    match result.rc {
        0 => Ok(()),
        50 => Err(DirectoryError::InsufficientRights { operation, dn, reason }),
        32 => Err(DirectoryError::NoSuchObject { operation, dn }),
        68 => Err(DirectoryError::AlreadyExists { operation, dn }),
        // constraintViolation, undefinedAttributeType, invalidAttributeSyntax, unwillingToPerform,
        // namingViolation, objectClassViolation, notAllowedOnNonLeaf, notAllowedOnRDN,
        // objectClassModsProhibited
        19 | 17 | 21 | 53 | 64 | 65 | 66 | 67 | 69 => Err(DirectoryError::Constraint { operation, dn, reason }),
        // noSuchAttribute (Samba's answer to an attribute the schema lacks), attributeOrValueExists
        16 | 20 => Err(DirectoryError::Constraint { operation, dn, reason }),
        _ => Err(DirectoryError::Operation { operation: format!("{operation} {dn}"), reason }),
    }
}

/// The RDN a tombstone had: its name up to the "\nDEL:" mangling.
fn original_rdn_value(mangled: &str) -> &str {
    mangled.split('\n').next().unwrap_or(mangled)
}

fn braced_guid(bytes: &[u8]) -> String {
    <[u8; 16]>::try_from(bytes).map(|b| format!("{{{}}}", Uuid::from_bytes_le(b).as_hyphenated())).unwrap_or_default()
}

impl LdapDirectory {
    pub(super) fn gpo_dn(&self, gpo: &GpoId) -> String {
        format!("CN={gpo},{}", self.policies_dn())
    }

    async fn modify_dn(
        &self,
        dn: &str,
        mods: Vec<Mod<Vec<u8>>>,
        controls: Vec<RawControl>,
        operation: &str,
    ) -> Result<(), DirectoryError> {
        let describe = || format!("{operation} {dn}");
        let modify = |mut ldap: Ldap| {
            let (mods, controls) = (mods.clone(), controls.clone());
            async move {
                if !controls.is_empty() {
                    ldap.with_controls(controls);
                }
                ldap.modify(dn, mods).await
            }
        };
        check(self.call(Resend::for_modify(&mods), &describe, modify).await?, operation, dn)
    }

    async fn add_dn(
        &self,
        dn: &str,
        attributes: Vec<(Vec<u8>, HashSet<Vec<u8>>)>,
        operation: &str,
    ) -> Result<(), DirectoryError> {
        let describe = || format!("{operation} {dn}");
        let add = |mut ldap: Ldap| {
            let attributes = attributes.clone();
            async move { ldap.add(dn, attributes).await }
        };
        check(self.call(Resend::IfUnsent, &describe, add).await?, operation, dn)
    }

    async fn tree_delete(&self, dn: &str, operation: &str) -> Result<(), DirectoryError> {
        let describe = || format!("{operation} {dn}");
        let delete = |mut ldap: Ldap| async move {
            ldap.with_controls(control(TREE_DELETE_OID, None));
            ldap.delete(dn).await
        };
        check(self.call(Resend::IfUnsent, &describe, delete).await?, operation, dn)
    }

    async fn add_container(&self, dn: &str) -> Result<(), DirectoryError> {
        self.add_dn(dn, vec![(attr("objectClass"), text_set("container"))], "creating").await
    }

    pub(super) async fn write_gpo_changes(&self, gpo: &GpoId, changes: &GpoChanges) -> Result<(), DirectoryError> {
        if changes.is_empty() {
            return Ok(());
        }
        if changes.display_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(DirectoryError::InvalidInput {
                what: format!("the display name of GPO {gpo}"),
                reason: "it is empty; GPMC needs a name".into(),
            });
        }
        let replace = |name: &str, value: String| Mod::Replace(attr(name), text_set(value));
        // Replace with no value removes the attribute (and is no error when it is absent).
        let remove = |name: &str| Mod::Replace(attr(name), HashSet::new());
        let mut mods = Vec::new();
        if let Some(name) = &changes.display_name {
            mods.push(replace("displayName", name.clone()));
        }
        if let Some(flags) = changes.flags {
            mods.push(replace("flags", flags.0.to_string()));
        }
        if let Some(version) = changes.version {
            mods.push(replace("versionNumber", version.raw().to_string()));
        }
        for (name, list) in [
            ("gPCMachineExtensionNames", &changes.machine_extensions),
            ("gPCUserExtensionNames", &changes.user_extensions),
        ] {
            match list {
                Some(list) if list.raw.trim().is_empty() => mods.push(remove(name)),
                Some(list) => mods.push(replace(name, list.raw.clone())),
                None => {}
            }
        }
        match &changes.wmi_filter {
            Some(WmiFilterChange::Set(link)) => mods.push(replace("gPCWQLFilter", link.clone())),
            Some(WmiFilterChange::Remove) => mods.push(remove("gPCWQLFilter")),
            None => {}
        }
        if let Some(version) = changes.functionality_version {
            mods.push(replace("gPCFunctionalityVersion", version.to_string()));
        }
        if let Some(path) = &changes.file_sys_path {
            mods.push(replace("gPCFileSysPath", path.clone()));
        }
        self.modify_dn(&self.gpo_dn(gpo), mods, Vec::new(), "modifying GPO").await
    }

    pub(super) async fn write_gpo_dacl(&self, gpo: &GpoId, sd: &SecurityDescriptor) -> Result<(), DirectoryError> {
        if sd.dacl.is_none() || sd.control & control::DACL_PRESENT == 0 {
            return Err(DirectoryError::InvalidInput {
                what: format!("the security descriptor for GPO {gpo}"),
                reason: "it has no DACL to write".into(),
            });
        }
        let mods = vec![Mod::Replace(attr("nTSecurityDescriptor"), HashSet::from([sd.to_bytes().to_vec()]))];
        let controls = vec![control(SD_FLAGS_OID, Some(&SD_FLAGS_DACL))];
        self.modify_dn(&self.gpo_dn(gpo), mods, controls, "setting the DACL of GPO").await
    }

    pub(super) async fn add_gpo(&self, gpo: &GpoId, attributes: &GpoAttributes) -> Result<String, DirectoryError> {
        if attributes.display_name.trim().is_empty() {
            return Err(DirectoryError::InvalidInput {
                what: format!("the display name of new GPO {gpo}"),
                reason: "it is empty; GPMC needs a name".into(),
            });
        }
        let dn = self.gpo_dn(gpo);
        let file_sys_path =
            attributes.file_sys_path.clone().unwrap_or_else(|| gpo_file_sys_path(&self.domain.dns_name, gpo));
        let functionality = attributes.functionality_version.unwrap_or(DEFAULT_FUNCTIONALITY_VERSION);
        let mut entry = vec![
            (attr("objectClass"), text_set("groupPolicyContainer")),
            (attr("displayName"), text_set(attributes.display_name.clone())),
            (attr("gPCFileSysPath"), text_set(file_sys_path)),
            (attr("flags"), text_set(attributes.flags.0.to_string())),
            (attr("versionNumber"), text_set(attributes.version.raw().to_string())),
            (attr("gPCFunctionalityVersion"), text_set(functionality.to_string())),
        ];
        for (name, list) in [
            ("gPCMachineExtensionNames", &attributes.machine_extensions),
            ("gPCUserExtensionNames", &attributes.user_extensions),
        ] {
            if !list.raw.trim().is_empty() {
                entry.push((attr(name), text_set(list.raw.clone())));
            }
        }
        if let Some(link) = &attributes.wmi_filter_link {
            entry.push((attr("gPCWQLFilter"), text_set(link.clone())));
        }
        self.add_dn(&dn, entry, "creating GPO").await?;
        for child in ["User", "Machine"] {
            self.add_container(&format!("CN={child},{dn}")).await?;
        }
        Ok(dn)
    }

    pub(super) async fn remove_gpo(&self, gpo: &GpoId) -> Result<String, DirectoryError> {
        let dn = self.gpo_dn(gpo);
        self.tree_delete(&dn, "deleting GPO").await?;
        Ok(dn)
    }

    fn deleted_objects_dn(&self) -> String {
        format!("CN=Deleted Objects,{}", self.domain.dn)
    }

    pub(super) async fn search_deleted_gpo(&self, gpo: &GpoId) -> Result<Option<DeletedGpo>, DirectoryError> {
        // A tombstone's cn is "{GUID}\nDEL:<objectGUID>": match its start.
        let filter = format!("(&(objectClass=groupPolicyContainer)(isDeleted=TRUE)(cn={gpo}*))");
        let entries = self
            .search_with(
                &self.deleted_objects_dn(),
                Scope::OneLevel,
                &filter,
                &["cn", "lastKnownParent", "objectGUID", "whenChanged"],
                vec![control(SHOW_DELETED_OID, None)],
            )
            .await?;
        let newest = entries
            .into_iter()
            .filter(|e| {
                first_text(e, "cn").is_some_and(|cn| original_rdn_value(&cn).eq_ignore_ascii_case(&gpo.to_string()))
            })
            .max_by_key(|e| first_text(e, "whenChanged").unwrap_or_default());
        Ok(newest.map(|entry| {
            let parent = first_text(&entry, "lastKnownParent").unwrap_or_else(|| self.policies_dn());
            DeletedGpo {
                id: *gpo,
                original_dn: format!("CN={gpo},{parent}"),
                object_guid: first_bytes(&entry, "objectGUID").map(|b| braced_guid(&b)).unwrap_or_default(),
                deleted_at: first_text(&entry, "whenChanged"),
                dn: entry.dn,
            }
        }))
    }

    /// The reanimation request (MS-ADTS 3.1.1.5.3.7.2, "Undelete"): on the tombstone, with the
    /// show-deleted control, remove isDeleted and set distinguishedName to where it goes.
    async fn undelete(&self, tombstone_dn: &str, new_dn: &str) -> Result<(), DirectoryError> {
        let mods = vec![
            Mod::Delete(attr("isDeleted"), HashSet::new()),
            Mod::Replace(attr("distinguishedName"), text_set(new_dn)),
        ];
        self.modify_dn(tombstone_dn, mods, vec![control(SHOW_DELETED_OID, None)], "reanimating").await.map_err(|e| {
            match e {
                DirectoryError::AlreadyExists { operation, .. } => {
                    DirectoryError::AlreadyExists { operation, dn: new_dn.to_string() }
                }
                other => other,
            }
        })
    }

    /// showInAdvancedViewOnly=TRUE, as the directory gives a new GPO and its containers (their
    /// classes' default): a tombstone loses it, and undeleting does not bring defaults back.
    async fn unhide_in_basic_views(&self, dn: &str) -> Result<(), DirectoryError> {
        let mods = vec![Mod::Replace(attr("showInAdvancedViewOnly"), text_set("TRUE"))];
        self.modify_dn(dn, mods, Vec::new(), "reanimating (showInAdvancedViewOnly of)").await
    }

    pub(super) async fn reanimate(&self, deleted: &DeletedGpo) -> Result<ReanimateReport, DirectoryError> {
        // Samba answers a reanimation of a missing tombstone with a bare operationsError: look first.
        let tombstone = self
            .search_with(&deleted.dn, Scope::Base, "(isDeleted=TRUE)", &["cn"], vec![control(SHOW_DELETED_OID, None)])
            .await?;
        if tombstone.is_empty() {
            return Err(DirectoryError::NoSuchObject {
                operation: "reanimating (the tombstone is gone: expunged, or reanimated already)".into(),
                dn: deleted.dn.clone(),
            });
        }
        self.undelete(&deleted.dn, &deleted.original_dn).await?;
        self.unhide_in_basic_views(&deleted.original_dn).await?;
        // Its children's lastKnownParent follows the parent's GUID, so it names the live DN now.
        let filter = format!("(&(isDeleted=TRUE)(lastKnownParent={}))", ldap3::ldap_escape(&deleted.original_dn));
        let children = self
            .search_with(
                &self.deleted_objects_dn(),
                Scope::OneLevel,
                &filter,
                &["cn", "whenChanged"],
                vec![control(SHOW_DELETED_OID, None)],
            )
            .await?;
        let mut report = ReanimateReport {
            dn: deleted.original_dn.clone(),
            children_reanimated: Vec::new(),
            children_created: Vec::new(),
        };
        for name in ["User", "Machine"] {
            let child_dn = format!("CN={name},{}", deleted.original_dn);
            // Class store objects stay deleted: tombstones lose their attributes, so a restore
            // adds them afresh from its backup.
            let tombstone = children
                .iter()
                .filter(|e| first_text(e, "cn").is_some_and(|cn| original_rdn_value(&cn).eq_ignore_ascii_case(name)))
                .max_by_key(|e| first_text(e, "whenChanged").unwrap_or_default());
            match tombstone {
                Some(entry) => {
                    self.undelete(&entry.dn, &child_dn).await?;
                    self.unhide_in_basic_views(&child_dn).await?;
                    report.children_reanimated.push(child_dn);
                }
                None => {
                    self.add_container(&child_dn).await?;
                    report.children_created.push(child_dn);
                }
            }
        }
        Ok(report)
    }

    /// `dn` if it names an object below a GPO's CN=User or CN=Machine container.
    fn check_below_gpo<'a>(&self, dn: &'a str) -> Result<&'a str, DirectoryError> {
        let suffix = format!(",{}", self.policies_dn()).to_lowercase();
        let lower = dn.to_lowercase();
        let below = lower.strip_suffix(&suffix).map(|rel| rel.split(',').collect::<Vec<_>>());
        let ok = below.is_some_and(|rdns| {
            rdns.len() >= 3
                && is_gpo_rdn(rdns[rdns.len() - 1])
                && matches!(rdns[rdns.len() - 2].trim(), "cn=user" | "cn=machine")
        });
        if ok { Ok(dn) } else { Err(DirectoryError::OutsideGpo { dn: dn.to_string() }) }
    }

    pub(super) async fn add_objects(&self, objects: &[DirectoryObject]) -> Result<usize, DirectoryError> {
        let mut ordered: Vec<&DirectoryObject> = objects.iter().collect();
        ordered.sort_by_key(|o| o.dn.matches(',').count());
        // Check every DN and value before the first add: a bad one fails the whole call up front.
        let mut prepared = Vec::with_capacity(ordered.len());
        for object in ordered {
            let dn = self.check_below_gpo(&object.dn)?;
            let mut entry: Vec<(Vec<u8>, HashSet<Vec<u8>>)> = Vec::new();
            for (name, values) in &object.attributes {
                if NOT_WRITTEN_BACK.contains(&name.to_lowercase().as_str()) || values.is_empty() {
                    continue;
                }
                let mut set = HashSet::new();
                for value in values {
                    set.insert(match value {
                        AttributeValue::Text(text) => text.as_bytes().to_vec(),
                        AttributeValue::Base64(b64) => {
                            use base64::Engine;
                            base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| {
                                DirectoryError::InvalidInput {
                                    what: format!("attribute {name} of {dn}"),
                                    reason: format!("its value is not base64: {e}"),
                                }
                            })?
                        }
                    });
                }
                entry.push((attr(name), set));
            }
            prepared.push((dn, entry));
        }
        let count = prepared.len();
        for (dn, entry) in prepared {
            self.add_dn(dn, entry, "adding").await?;
        }
        Ok(count)
    }

    pub(super) async fn delete_objects(&self, dns: &[String]) -> Result<usize, DirectoryError> {
        for dn in dns {
            self.check_below_gpo(dn)?;
        }
        for dn in dns {
            self.tree_delete(dn, "deleting").await?;
        }
        Ok(dns.len())
    }

    pub(super) async fn links_of(&self, container_dn: &str) -> Result<ContainerLinks, DirectoryError> {
        let entries =
            self.search(container_dn, Scope::Base, "(objectClass=*)", &["gPLink", "gPOptions"], false).await?;
        let Some(entry) = entries.into_iter().next() else {
            return Err(DirectoryError::NoSuchObject {
                operation: "reading the links of".into(),
                dn: container_dn.into(),
            });
        };
        let gp_link = first_text(&entry, "gPLink");
        Ok(ContainerLinks {
            dn: entry.dn.clone(),
            links: gp_link.as_deref().map(|v| GpLink::parse(v).links(&entry.dn)).unwrap_or_default(),
            gp_options: first_text(&entry, "gPOptions").and_then(|v| v.trim().parse().ok()).unwrap_or(0),
            gp_link,
        })
    }

    /// Writes gPLink as one modify that deletes the value read and adds the new one, so a
    /// change made by someone else in between fails with `Conflict` instead of being lost.
    pub async fn replace_gplink(
        &self,
        container_dn: &str,
        read: Option<&str>,
        new: &GpLink,
    ) -> Result<(), DirectoryError> {
        let value = new.to_value();
        let mut mods = Vec::new();
        if let Some(old) = read {
            mods.push(Mod::Delete(attr("gPLink"), text_set(old)));
        }
        if !new.is_empty() {
            mods.push(Mod::Add(attr("gPLink"), text_set(value)));
        }
        if mods.is_empty() {
            return Ok(());
        }
        // A delete of the value read and an add: not safe to send twice (see `call`).
        let describe = || format!("writing gPLink of {container_dn}");
        let modify = |mut ldap: Ldap| {
            let mods = mods.clone();
            async move { ldap.modify(container_dn, mods).await }
        };
        match self.call(Resend::IfUnsent, &describe, modify).await? {
            // The value read is gone (noSuchAttribute) or one appeared (attributeOrValueExists).
            Ok(result) if result.rc == 16 || result.rc == 20 => Err(DirectoryError::Conflict {
                dn: container_dn.to_string(),
                reason: format!("gPLink is no longer what was read: {}", result.text),
            }),
            other => check(other, "writing gPLink of", container_dn),
        }
    }

    pub(super) async fn link(
        &self,
        container_dn: &str,
        gpo: &GpoId,
        placement: LinkPlacement,
    ) -> Result<ContainerLinks, DirectoryError> {
        let before = self.links_of(container_dn).await?;
        let mut gplink = GpLink::parse(before.gp_link.as_deref().unwrap_or(""));
        gplink.set(gpo, &gplink_path(gpo, &self.domain.dn), placement.order, placement.enabled, placement.enforced);
        self.replace_gplink(&before.dn, before.gp_link.as_deref(), &gplink).await?;
        self.links_of(container_dn).await
    }

    pub(super) async fn unlink(&self, container_dn: &str, gpo: &GpoId) -> Result<ContainerLinks, DirectoryError> {
        let before = self.links_of(container_dn).await?;
        let mut gplink = GpLink::parse(before.gp_link.as_deref().unwrap_or(""));
        if !gplink.remove(gpo) {
            return Ok(before);
        }
        self.replace_gplink(&before.dn, before.gp_link.as_deref(), &gplink).await?;
        self.links_of(container_dn).await
    }

    pub(super) async fn write_block_inheritance(&self, container_dn: &str, block: bool) -> Result<(), DirectoryError> {
        let before = self.links_of(container_dn).await?;
        let options = if block { before.gp_options | 1 } else { before.gp_options & !1 };
        let mods = vec![Mod::Replace(attr("gPOptions"), text_set(options.to_string()))];
        self.modify_dn(container_dn, mods, Vec::new(), "setting gPOptions of").await
    }

    /// The DN of the WMI filter whose msWMI-ID is `id` (braced, as AD stores it), if any.
    async fn wmi_filter_dn(&self, id: &str) -> Result<Option<String>, DirectoryError> {
        let som = format!("CN=SOM,CN=WMIPolicy,CN=System,{}", self.domain.dn);
        let filter = format!("(&(objectClass=msWMI-Som)(msWMI-ID={id}))");
        Ok(self.search(&som, Scope::OneLevel, &filter, &["msWMI-ID"], false).await?.into_iter().next().map(|e| e.dn))
    }

    fn braced_filter_id(id: &str, what: impl FnOnce() -> String) -> Result<String, DirectoryError> {
        crate::model::parse_guid(id)
            .map(|g| crate::model::format_guid_braced(&g))
            .map_err(|e| DirectoryError::InvalidInput { what: what(), reason: e.to_string() })
    }

    pub(super) async fn add_wmi_filter(&self, filter: &WmiFilter) -> Result<WmiFilterOutcome, DirectoryError> {
        let id = Self::braced_filter_id(&filter.id, || format!("WMI filter '{}'", filter.name))?;
        if let Some(dn) = self.wmi_filter_dn(&id).await? {
            return Ok(WmiFilterOutcome::AlreadyPresent { dn });
        }
        let som = format!("CN=SOM,CN=WMIPolicy,CN=System,{}", self.domain.dn);
        let dn = format!("CN={id},{som}");
        let mut entry = vec![
            (attr("objectClass"), text_set("msWMI-Som")),
            (attr("msWMI-ID"), text_set(id.clone())),
            (attr("msWMI-Name"), text_set(filter.name.clone())),
            (attr("msWMI-Parm2"), text_set(filter.query.clone())),
            (attr("showInAdvancedViewOnly"), text_set("TRUE")),
        ];
        // Empty values are not allowed in AD: leave such attributes out.
        for (name, value) in [
            ("msWMI-Parm1", &filter.description),
            ("msWMI-Author", &filter.author),
            ("msWMI-CreationDate", &filter.created),
            ("msWMI-ChangeDate", &filter.changed),
        ] {
            if !value.is_empty() {
                entry.push((attr(name), text_set(value.clone())));
            }
        }
        self.add_dn(&dn, entry, "creating WMI filter").await?;
        Ok(WmiFilterOutcome::Created { dn })
    }

    pub(super) async fn remove_wmi_filter(&self, id: &str) -> Result<bool, DirectoryError> {
        let id = Self::braced_filter_id(id, || format!("WMI filter {id}"))?;
        let Some(dn) = self.wmi_filter_dn(&id).await? else { return Ok(false) };
        self.tree_delete(&dn, "deleting WMI filter").await?;
        Ok(true)
    }

    /// The objectGUID of `dn`, braced lower case (tests and reports compare it across a
    /// deletion and reanimation).
    pub async fn object_guid(&self, dn: &str) -> Result<Option<String>, DirectoryError> {
        let entries = self.search(dn, Scope::Base, "(objectClass=*)", &["objectGUID"], false).await?;
        Ok(entries.first().and_then(|e| first_bytes(e, "objectGUID")).map(|b| braced_guid(&b)))
    }
}

/// `cn={GUID}` (lower-cased).
fn is_gpo_rdn(rdn: &str) -> bool {
    rdn.trim().strip_prefix("cn=").is_some_and(|v| v.parse::<GpoId>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebases_dns_case_insensitively_and_only_below_the_suffix() {
        let from = "CN={6BFE693E-031B-4895-B7F7-643CD619C80B},CN=Policies,CN=System,DC=corp,DC=example,DC=test";
        let to = "CN={11111111-2222-3333-4444-555555555555},CN=Policies,CN=System,DC=branch,DC=example,DC=test";
        let dn = "CN=Packages,CN=Class Store,CN=Machine,cn={6bfe693e-031b-4895-b7f7-643cd619c80b},cn=policies,cn=system,DC=corp,DC=example,DC=test";
        assert_eq!(rebase_dn(dn, from, to).unwrap(), format!("CN=Packages,CN=Class Store,CN=Machine,{to}"));
        assert_eq!(rebase_dn(from, from, to).unwrap(), to);
        assert_eq!(rebase_dn("CN=x,DC=other", from, to), None);
        assert_eq!(
            rebase_dn(
                "XCN={6BFE693E-031B-4895-B7F7-643CD619C80B},CN=Policies,CN=System,DC=corp,DC=example,DC=test",
                from,
                to
            ),
            None
        );
    }

    #[test]
    fn tombstone_names_give_back_their_rdn() {
        assert_eq!(
            original_rdn_value("{F1DF3A62-5F38-4C76-99B3-802535EA2632}\nDEL:e051354c-f18c"),
            "{F1DF3A62-5F38-4C76-99B3-802535EA2632}"
        );
        assert_eq!(original_rdn_value("User"), "User");
    }

    #[test]
    fn file_sys_path_is_the_domains_sysvol() {
        let gpo: GpoId = "{31B2F340-016D-11D2-945F-00C04FB984F9}".parse().unwrap();
        assert_eq!(
            gpo_file_sys_path("corp.example.test", &gpo),
            r"\\corp.example.test\SysVol\corp.example.test\Policies\{31B2F340-016D-11D2-945F-00C04FB984F9}"
        );
    }
}
