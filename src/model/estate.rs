use serde::{Deserialize, Serialize};

use super::{Gpo, GpoId, Sid};

/// The domain a GPO lives in, as the backup format records it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainInfo {
    /// DNS name, e.g. corp.example.test.
    pub dns_name: String,
    /// NetBIOS name, e.g. CORP.
    pub netbios_name: String,
    /// distinguishedName of the domain object (DC=corp,DC=example,DC=test).
    pub dn: String,
    pub sid: Option<Sid>,
    /// objectGUID of the domain object, braced lower case as GPMC writes GPODomainGuid.
    pub guid: String,
    /// The domain controller that answered (its DNS host name when known).
    pub controller: String,
}

/// A gPLink entry: where a GPO applies, in which order, with which options.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// DN of the domain, OU or site holding the gPLink.
    pub container_dn: String,
    pub gpo_id: GpoId,
    /// GPMC's link order: 1 is the highest precedence (the last entry in gPLink).
    pub order: usize,
    pub enabled: bool,
    pub enforced: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContainerKind {
    Domain,
    OrganizationalUnit,
    Site,
}

/// A scope of management: somewhere GPOs can be linked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    pub dn: String,
    pub name: String,
    pub kind: ContainerKind,
    /// gPOptions bit 1: block inheritance.
    pub blocks_inheritance: bool,
    pub links: Vec<Link>,
}

/// A WMI filter (msWMI-Som object).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WmiFilter {
    /// msWMI-ID, braced.
    pub id: String,
    pub dn: String,
    pub name: String,
    pub description: String,
    /// msWMI-Parm2 exactly as stored (`1;3;10;<len>;WQL;root\CIMv2;SELECT ...;`).
    pub query: String,
    pub author: String,
    pub created: String,
    pub changed: String,
}

/// Everything read from one domain in one pass.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Estate {
    pub domain: DomainInfo,
    pub gpos: Vec<Gpo>,
    pub containers: Vec<Container>,
    pub wmi_filters: Vec<WmiFilter>,
}

impl Estate {
    pub fn links_to(&self, id: &GpoId) -> Vec<&Link> {
        self.containers.iter().flat_map(|c| c.links.iter()).filter(|l| &l.gpo_id == id).collect()
    }

    pub fn wmi_filter_of(&self, gpo: &Gpo) -> Option<&WmiFilter> {
        let id = gpo.wmi_filter_id()?;
        self.wmi_filters.iter().find(|f| f.id.eq_ignore_ascii_case(&id))
    }

    /// Finds a GPO by {GUID} or by display name (case-insensitive); ambiguity is an error.
    pub fn find_gpo(&self, key: &str) -> Result<&Gpo, String> {
        if let Ok(id) = key.parse::<GpoId>() {
            return self
                .gpos
                .iter()
                .find(|g| g.id == id)
                .ok_or_else(|| format!("no GPO with ID {id} in {}", self.domain.dns_name));
        }
        let matches: Vec<&Gpo> = self.gpos.iter().filter(|g| g.display_name.eq_ignore_ascii_case(key)).collect();
        match matches.as_slice() {
            [one] => Ok(one),
            [] => Err(format!("no GPO named '{key}' in {}", self.domain.dns_name)),
            many => Err(format!(
                "{} GPOs are named '{key}'; name one by its ID: {}",
                many.len(),
                many.iter().map(|g| g.id.to_string()).collect::<Vec<_>>().join(", ")
            )),
        }
    }
}
