//! What the directory's write operations take and give back: plain data, no LDAP.

use crate::model::{ExtensionList, Gpo, GpoFlags, GpoId, Link, Version};

/// The attributes of a groupPolicyContainer that gpvault writes (the security descriptor is
/// written on its own, DACL only: see `Directory::set_gpo_dacl`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpoAttributes {
    pub display_name: String,
    pub flags: GpoFlags,
    pub version: Version,
    /// Written as its `raw` text (an empty list removes the attribute).
    pub machine_extensions: ExtensionList,
    pub user_extensions: ExtensionList,
    /// gPCWQLFilter as stored: `[domain;{FILTER-GUID};0]`.
    pub wmi_filter_link: Option<String>,
    /// gPCFunctionalityVersion; GPMC and samba-tool write 2.
    pub functionality_version: Option<u32>,
    /// gPCFileSysPath; `None` means the domain's own `\\<dns>\SysVol\<dns>\Policies\{GUID}`.
    pub file_sys_path: Option<String>,
}

impl GpoAttributes {
    /// Everything gpvault writes, as `gpo` has it (a backup's or another domain's GPO). The
    /// file system path is left to the target domain.
    pub fn of(gpo: &Gpo) -> GpoAttributes {
        GpoAttributes {
            display_name: gpo.display_name.clone(),
            flags: gpo.flags,
            version: gpo.version,
            machine_extensions: gpo.machine_extensions.clone(),
            user_extensions: gpo.user_extensions.clone(),
            wmi_filter_link: gpo.wmi_filter_link.clone(),
            functionality_version: gpo.functionality_version,
            file_sys_path: None,
        }
    }
}

/// gPCWQLFilter to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WmiFilterChange {
    /// `[domain;{FILTER-GUID};0]`.
    Set(String),
    Remove,
}

/// A partial update of a GPO's attributes: `None` leaves an attribute as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GpoChanges {
    pub display_name: Option<String>,
    pub flags: Option<GpoFlags>,
    pub version: Option<Version>,
    pub machine_extensions: Option<ExtensionList>,
    pub user_extensions: Option<ExtensionList>,
    pub wmi_filter: Option<WmiFilterChange>,
    pub functionality_version: Option<u32>,
    pub file_sys_path: Option<String>,
}

impl GpoChanges {
    /// Every attribute of `attributes`, a missing WMI filter included as a removal. The file
    /// system path is written only when `attributes` names one.
    pub fn all(attributes: &GpoAttributes) -> GpoChanges {
        GpoChanges {
            display_name: Some(attributes.display_name.clone()),
            flags: Some(attributes.flags),
            version: Some(attributes.version),
            machine_extensions: Some(attributes.machine_extensions.clone()),
            user_extensions: Some(attributes.user_extensions.clone()),
            wmi_filter: Some(match &attributes.wmi_filter_link {
                Some(link) => WmiFilterChange::Set(link.clone()),
                None => WmiFilterChange::Remove,
            }),
            functionality_version: attributes.functionality_version,
            file_sys_path: attributes.file_sys_path.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == GpoChanges::default()
    }
}

/// A deleted GPO found among the tombstones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletedGpo {
    pub id: GpoId,
    /// Where the tombstone is now: `CN={GUID}\0ADEL:<objectGUID>,CN=Deleted Objects,...`.
    pub dn: String,
    /// Where the GPO was: `CN={GUID},` + its last known parent.
    pub original_dn: String,
    /// The object's objectGUID, braced lower case: it survives deletion and reanimation.
    pub object_guid: String,
    /// whenChanged of the tombstone (about when it was deleted), LDAP generalized time.
    pub deleted_at: Option<String>,
}

/// What reanimating a GPO did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReanimateReport {
    /// The GPO's container, live again with its objectGUID and security descriptor. A tombstone
    /// keeps few attributes (AD and Samba strip displayName, gPCFileSysPath, versionNumber,
    /// flags, extension names): write them back with `modify_gpo(GpoChanges::all(..))`.
    pub dn: String,
    /// CN=User / CN=Machine brought back from their own tombstones.
    pub children_reanimated: Vec<String>,
    /// CN=User / CN=Machine made anew because no tombstone was left for them.
    pub children_created: Vec<String>,
}

/// The Group Policy attributes of a domain, OU or site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerLinks {
    pub dn: String,
    /// gPLink exactly as stored; `None` when the attribute is absent.
    pub gp_link: Option<String>,
    /// Its GPO links with GPMC's link order.
    pub links: Vec<Link>,
    /// gPOptions (bit 0: block inheritance); 0 when absent.
    pub gp_options: u32,
}

impl ContainerLinks {
    pub fn blocks_inheritance(&self) -> bool {
        self.gp_options & 1 != 0
    }
}

/// Where and how to link a GPO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkPlacement {
    /// GPMC's link order (1 = highest precedence). `None`: an existing link stays where it is, a
    /// new one goes last in precedence, as GPMC adds links.
    pub order: Option<usize>,
    pub enabled: bool,
    pub enforced: bool,
}

/// What `create_wmi_filter` found or did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WmiFilterOutcome {
    Created {
        dn: String,
    },
    /// A filter with that ID exists already (left as it is).
    AlreadyPresent {
        dn: String,
    },
}
