use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::controls::RawControl;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::connect::{TIMEOUT, rustls_config};
use super::parse::parse_gplink;
use super::{
    AttributeValue, ContainerLinks, DeletedGpo, Directory, DirectoryError, DirectoryObject, GpoAttributes, GpoChanges,
    LinkPlacement, Principal, ReanimateReport, WmiFilterOutcome,
};
use crate::config::{DomainTarget, TlsMode};
use crate::model::{
    Container, ContainerKind, DomainInfo, Estate, ExtensionList, Gpo, GpoFlags, GpoId, SecurityDescriptor, Sid,
    Version, WmiFilter,
};

/// What a principal is read with: its SID, names and kind.
const PRINCIPAL_ATTRIBUTES: &[&str] = &["objectSid", "sAMAccountName", "objectClass", "groupType", "userPrincipalName"];

/// LDAP_SERVER_SD_FLAGS_OID with OWNER|GROUP|DACL: reading nTSecurityDescriptor without it
/// asks for the SACL too, which needs a privilege most admins' sessions lack.
pub(super) const SD_FLAGS_OID: &str = "1.2.840.113556.1.4.801";
const SD_FLAGS_OWNER_GROUP_DACL: [u8; 5] = [0x30, 0x03, 0x02, 0x01, 0x07];
const PAGE_SIZE: i32 = 500;

/// The SD flags control asking for owner, group and DACL.
pub(super) fn sd_flags_control() -> RawControl {
    RawControl { ctype: SD_FLAGS_OID.to_string(), crit: true, val: Some(SD_FLAGS_OWNER_GROUP_DACL.to_vec()) }
}

const GPO_ATTRIBUTES: &[&str] = &[
    "cn",
    "displayName",
    "versionNumber",
    "flags",
    "gPCFunctionalityVersion",
    "gPCFileSysPath",
    "gPCMachineExtensionNames",
    "gPCUserExtensionNames",
    "gPCWQLFilter",
    "nTSecurityDescriptor",
    "whenCreated",
    "whenChanged",
];

/// The AD side read over LDAPS or StartTLS with ldap3. One connection, many requests in flight:
/// ldap3's `Ldap` handle multiplexes, so clones are cheap and concurrent. When the server closes
/// the connection, the next request that notices dials again, once (see [`LdapDirectory::call`]).
pub struct LdapDirectory {
    connection: Connection,
    url: String,
    pub(super) domain: DomainInfo,
    configuration_dn: String,
}

impl LdapDirectory {
    pub async fn connect(target: &DomainTarget, password: &str) -> Result<Self, DirectoryError> {
        let url = target.url();
        let ldap = dial(target, password).await?;
        let connection = Connection {
            current: std::sync::Mutex::new((0, ldap)),
            redial: tokio::sync::Mutex::new(()),
            target: target.clone(),
            password: Zeroizing::new(password.to_string()),
        };
        let mut directory =
            LdapDirectory { connection, url, domain: DomainInfo::default(), configuration_dn: String::new() };
        directory.read_domain_info(&target.domain).await?;
        Ok(directory)
    }

    pub fn domain(&self) -> &DomainInfo {
        &self.domain
    }

    /// How many times the connection was dialled again after the server closed it.
    pub fn redials(&self) -> u64 {
        self.connection.current().0
    }

    /// Runs one LDAP request with the current connection. When the connection turns out to be
    /// gone (the server closed it: an I/O error, a search stream that ends early, a request the
    /// closed connection never took), it is dialled again and the request sent once more,
    /// if `resend` allows: always for reads and for writes that replace attributes with given
    /// values (sending one twice leaves the same state), and for other writes only when the
    /// first attempt never reached the connection. A write that may have been applied is not
    /// sent again (a second add would fail with "already exists", a gPLink swap with a
    /// conflict, hiding what happened); it fails with `ConnectionLost`, and the fresh connection
    /// serves the requests after it. The outer error is a failed re-dial.
    pub(super) async fn call<T, F, Fut>(
        &self,
        resend: Resend,
        operation: &(dyn Fn() -> String + Sync),
        request: F,
    ) -> Result<Result<T, LdapError>, DirectoryError>
    where
        F: Fn(Ldap) -> Fut,
        Fut: std::future::Future<Output = Result<T, LdapError>>,
    {
        let (generation, ldap) = self.connection.current();
        let error = match request(ldap).await {
            Err(error) => error,
            done => return Ok(done),
        };
        let Some(delivery) = lost_connection(&error) else { return Ok(Err(error)) };
        let fresh = self.connection.redial(generation).await;
        if resend == Resend::IfUnsent && delivery == Delivery::MaybeSent {
            return Err(DirectoryError::ConnectionLost {
                url: self.url.clone(),
                operation: operation(),
                reason: format!(
                    "{error}; the server may have applied it, so it was not sent again: read the object to see"
                ),
            });
        }
        Ok(request(fresh?).await)
    }
}

/// Whether a request may have reached the server before its connection went away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delivery {
    /// The connection was closed before the request was handed to it.
    NotSent,
    MaybeSent,
}

/// When a request is sent again on a fresh connection after the old one closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Resend {
    /// Reads, and writes that replace attributes with given values.
    Always,
    /// Other writes: only when the first attempt never left.
    IfUnsent,
}

impl Resend {
    /// A modify that only replaces attributes with given values is safe to send twice.
    pub(super) fn for_modify<S: AsRef<[u8]> + Eq + std::hash::Hash>(mods: &[ldap3::Mod<S>]) -> Resend {
        if mods.iter().all(|m| matches!(m, ldap3::Mod::Replace(..))) { Resend::Always } else { Resend::IfUnsent }
    }
}

/// `Some` when `error` says the connection is gone rather than the request refused.
fn lost_connection(error: &LdapError) -> Option<Delivery> {
    match error {
        LdapError::OpSend { .. } => Some(Delivery::NotSent),
        LdapError::Io { .. }
        | LdapError::ResultRecv { .. }
        | LdapError::EndOfStream
        | LdapError::IdScrubSend { .. } => Some(Delivery::MaybeSent),
        _ => None,
    }
}

/// The connection in use, numbered so that requests failing together on one closed connection
/// dial only one new one.
struct Connection {
    current: std::sync::Mutex<(u64, Ldap)>,
    redial: tokio::sync::Mutex<()>,
    target: DomainTarget,
    /// Kept to log on again after the server closed the connection; zeroed on drop.
    password: Zeroizing<String>,
}

impl Connection {
    fn current(&self) -> (u64, Ldap) {
        let guard = self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        (guard.0, guard.1.clone())
    }

    /// A connection newer than `failed`: the one another request already dialled, or a new one.
    async fn redial(&self, failed: u64) -> Result<Ldap, DirectoryError> {
        let _one_at_a_time = self.redial.lock().await;
        let (generation, ldap) = self.current();
        if generation != failed {
            return Ok(ldap);
        }
        let fresh = dial(&self.target, &self.password).await?;
        let mut guard = self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *guard = (generation + 1, fresh.clone());
        Ok(fresh)
    }
}

/// Opens a connection and logs on.
async fn dial(target: &DomainTarget, password: &str) -> Result<Ldap, DirectoryError> {
    let url = target.url();
    let mut settings = LdapConnSettings::new().set_conn_timeout(TIMEOUT).set_starttls(target.tls == TlsMode::StartTls);
    if target.insecure_tls {
        settings = settings.set_no_tls_verify(true);
    } else {
        settings = settings.set_config(rustls_config(target)?);
    }
    let (conn, mut ldap) =
        LdapConnAsync::with_settings(settings, &url).await.map_err(|e| classify_connect_error(&url, e))?;
    ldap3::drive!(conn);
    ldap.with_timeout(TIMEOUT);

    let bind_name = target.bind_name();
    if target.kerberos {
        bind_kerberos(&mut ldap, target, &url).await?;
    } else {
        let result = ldap.simple_bind(&bind_name, password).await.map_err(|e| classify_connect_error(&url, e))?;
        if result.rc != 0 {
            let reason = match result.rc {
                49 => "invalid credentials (wrong user name or password, or the account is locked)".to_string(),
                8 => "the server requires a stronger (encrypted) connection".to_string(),
                rc => format!("result code {rc}: {}", result.text),
            };
            return Err(DirectoryError::Bind { url, user: bind_name, reason });
        }
    }
    Ok(ldap)
}

impl LdapDirectory {
    async fn read_domain_info(&mut self, expected_domain: &str) -> Result<(), DirectoryError> {
        let root = self
            .search(
                "",
                Scope::Base,
                "(objectClass=*)",
                &["defaultNamingContext", "configurationNamingContext", "dnsHostName"],
                false,
            )
            .await?;
        let root = root.into_iter().next().ok_or_else(|| DirectoryError::Unexpected("empty rootDSE".into()))?;
        let domain_dn = first_text(&root, "defaultNamingContext")
            .ok_or_else(|| DirectoryError::Unexpected("rootDSE has no defaultNamingContext".into()))?;
        self.configuration_dn = first_text(&root, "configurationNamingContext").unwrap_or_default();
        let dns_name = dn_to_dns_name(&domain_dn);
        if !expected_domain.is_empty() && !dns_name.eq_ignore_ascii_case(expected_domain) {
            return Err(DirectoryError::Unexpected(format!(
                "the server at {} serves domain {dns_name}, not {expected_domain}: check the server and the domain name",
                self.url
            )));
        }
        let domain_object =
            self.search(&domain_dn, Scope::Base, "(objectClass=*)", &["objectSid", "objectGUID"], false).await?;
        let domain_object = domain_object.into_iter().next();
        let sid = domain_object
            .as_ref()
            .and_then(|e| first_bytes(e, "objectSid"))
            .and_then(|b| Sid::from_bytes(&b).ok().map(|(sid, _)| sid));
        let guid = domain_object
            .as_ref()
            .and_then(|e| first_bytes(e, "objectGUID"))
            .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
            .map(|b| format!("{{{}}}", Uuid::from_bytes_le(b).as_hyphenated()))
            .unwrap_or_default();
        let filter = format!("(&(objectClass=crossRef)(nCName={}))", ldap3::ldap_escape(&domain_dn));
        let netbios_name = self
            .search(
                &format!("CN=Partitions,{}", self.configuration_dn),
                Scope::OneLevel,
                &filter,
                &["nETBIOSName"],
                false,
            )
            .await
            .ok()
            .and_then(|entries| entries.into_iter().next())
            .and_then(|e| first_text(&e, "nETBIOSName"))
            .unwrap_or_else(|| dns_name.split('.').next().unwrap_or("").to_uppercase());
        self.domain = DomainInfo {
            controller: first_text(&root, "dnsHostName").unwrap_or_default(),
            dns_name,
            netbios_name,
            dn: domain_dn,
            sid,
            guid,
        };
        Ok(())
    }

    /// A paged search; `with_sd` adds the SD flags control so nTSecurityDescriptor comes back
    /// without its SACL.
    pub(super) async fn search(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attributes: &[&str],
        with_sd: bool,
    ) -> Result<Vec<SearchEntry>, DirectoryError> {
        let controls = if with_sd { vec![sd_flags_control()] } else { Vec::new() };
        self.search_with(base, scope, filter, attributes, controls).await
    }

    /// A paged search with request controls of the caller's choice.
    pub(super) async fn search_with(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attributes: &[&str],
        controls: Vec<RawControl>,
    ) -> Result<Vec<SearchEntry>, DirectoryError> {
        let operation = || format!("search of {base} for {filter}");
        let search = |mut ldap: Ldap| {
            let controls = controls.clone();
            async move {
                if !controls.is_empty() {
                    ldap.with_controls(controls);
                }
                let adapters: Vec<Box<dyn Adapter<_, _>>> =
                    vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(PAGE_SIZE))];
                let mut stream = ldap.streaming_search_with(adapters, base, scope, filter, attributes.to_vec()).await?;
                let mut entries = Vec::new();
                while let Some(entry) = stream.next().await? {
                    entries.push(SearchEntry::construct(entry));
                }
                Ok((entries, stream.finish().await))
            }
        };
        let (entries, result) = self
            .call(Resend::Always, &operation, search)
            .await?
            .map_err(|e| DirectoryError::Operation { operation: operation(), reason: e.to_string() })?;
        // 32 = noSuchObject: an absent container (no WMI filters yet, no sites) is simply empty.
        if result.rc != 0 && result.rc != 32 {
            return Err(DirectoryError::Operation {
                operation: operation(),
                reason: format!("result code {}: {}", result.rc, result.text),
            });
        }
        Ok(entries)
    }

    pub(super) fn policies_dn(&self) -> String {
        format!("CN=Policies,CN=System,{}", self.domain.dn)
    }

    /// A user, computer or group entry as a principal of this domain; `None` for foreign
    /// security principals (well-known SIDs: the same in every domain, nothing to name or map).
    fn principal_from_entry(&self, entry: &SearchEntry) -> Option<Principal> {
        let sid = first_bytes(entry, "objectSid").and_then(|b| Sid::from_bytes(&b).ok()).map(|(s, _)| s)?;
        let classes: Vec<String> = all_text(entry, "objectClass").into_iter().map(|c| c.to_lowercase()).collect();
        if classes.iter().any(|c| c == "foreignsecurityprincipal") {
            return None;
        }
        let group_type = first_text(entry, "groupType").and_then(|v| v.parse::<i64>().ok());
        let kind = principal_kind(&classes, group_type);
        let builtin = sid.to_string().starts_with("S-1-5-32-");
        Some(Principal {
            sid,
            sam_account_name: first_text(entry, "sAMAccountName").unwrap_or_default(),
            kind,
            netbios_domain: if builtin { "BUILTIN".into() } else { self.domain.netbios_name.clone() },
            dns_domain: self.domain.dns_name.clone(),
            upn: first_text(entry, "userPrincipalName"),
        })
    }

    fn gpo_from_entry(&self, entry: &SearchEntry) -> Option<Gpo> {
        let id = first_text(entry, "cn")?.parse::<GpoId>().ok()?;
        let number = |name: &str| first_text(entry, name).and_then(|v| v.trim().parse::<i64>().ok());
        let security_descriptor =
            first_bytes(entry, "nTSecurityDescriptor").and_then(|b| SecurityDescriptor::from_bytes(&b).ok());
        Some(Gpo {
            id,
            dn: entry.dn.clone(),
            display_name: first_text(entry, "displayName").unwrap_or_default(),
            version: Version::from_raw(number("versionNumber").unwrap_or(0) as u32),
            flags: GpoFlags(number("flags").unwrap_or(0) as u32),
            functionality_version: number("gPCFunctionalityVersion").map(|v| v as u32),
            file_sys_path: first_text(entry, "gPCFileSysPath").unwrap_or_default(),
            machine_extensions: ExtensionList::parse(
                &first_text(entry, "gPCMachineExtensionNames").unwrap_or_default(),
            ),
            user_extensions: ExtensionList::parse(&first_text(entry, "gPCUserExtensionNames").unwrap_or_default()),
            wmi_filter_link: first_text(entry, "gPCWQLFilter").filter(|v| !v.trim().is_empty()),
            security_descriptor,
            created: first_text(entry, "whenCreated"),
            changed: first_text(entry, "whenChanged"),
        })
    }
}

#[async_trait]
impl Directory for LdapDirectory {
    async fn read_estate(&self) -> Result<Estate, DirectoryError> {
        let policies = self.policies_dn();
        let gpo_search =
            self.search(&policies, Scope::OneLevel, "(objectClass=groupPolicyContainer)", GPO_ATTRIBUTES, true);
        let container_search = self.search(
            &self.domain.dn,
            Scope::Subtree,
            "(|(objectClass=domainDNS)(objectClass=organizationalUnit))",
            &["gPLink", "gPOptions", "name", "objectClass"],
            false,
        );
        let site_base = format!("CN=Sites,{}", self.configuration_dn);
        let site_search =
            self.search(&site_base, Scope::OneLevel, "(objectClass=site)", &["gPLink", "gPOptions", "name"], false);
        let wmi_base = format!("CN=SOM,CN=WMIPolicy,CN=System,{}", self.domain.dn);
        let wmi_search = self.search(
            &wmi_base,
            Scope::OneLevel,
            "(objectClass=msWMI-Som)",
            &[
                "msWMI-ID",
                "msWMI-Name",
                "msWMI-Parm1",
                "msWMI-Parm2",
                "msWMI-Author",
                "msWMI-CreationDate",
                "msWMI-ChangeDate",
            ],
            false,
        );
        let (gpo_entries, container_entries, site_entries, wmi_entries) =
            futures::try_join!(gpo_search, container_search, site_search, wmi_search)?;

        let mut gpos: Vec<Gpo> = gpo_entries.iter().filter_map(|e| self.gpo_from_entry(e)).collect();
        gpos.sort_by_key(|a| a.display_name.to_lowercase());

        let mut containers: Vec<Container> = container_entries
            .iter()
            .map(|e| {
                let is_domain = e.dn.eq_ignore_ascii_case(&self.domain.dn);
                container_from_entry(
                    e,
                    if is_domain { ContainerKind::Domain } else { ContainerKind::OrganizationalUnit },
                )
            })
            .collect();
        containers.extend(site_entries.iter().map(|e| container_from_entry(e, ContainerKind::Site)));
        // Domain first, then OUs by their path from the top, so a tree can be built in order.
        containers
            .sort_by_key(|c| (c.kind != ContainerKind::Domain, c.kind == ContainerKind::Site, reversed_dn(&c.dn)));

        let wmi_filters = wmi_entries
            .iter()
            .map(|e| WmiFilter {
                id: first_text(e, "msWMI-ID").unwrap_or_default(),
                dn: e.dn.clone(),
                name: first_text(e, "msWMI-Name").unwrap_or_default(),
                description: first_text(e, "msWMI-Parm1").unwrap_or_default(),
                query: first_text(e, "msWMI-Parm2").unwrap_or_default(),
                author: first_text(e, "msWMI-Author").unwrap_or_default(),
                created: first_text(e, "msWMI-CreationDate").unwrap_or_default(),
                changed: first_text(e, "msWMI-ChangeDate").unwrap_or_default(),
            })
            .collect();

        Ok(Estate { domain: self.domain.clone(), gpos, containers, wmi_filters })
    }

    async fn read_gpo_children(&self) -> Result<BTreeMap<GpoId, Vec<DirectoryObject>>, DirectoryError> {
        let policies = self.policies_dn();
        let entries = self
            .search(
                &policies,
                Scope::Subtree,
                "(!(objectClass=groupPolicyContainer))",
                &["*", "nTSecurityDescriptor"],
                true,
            )
            .await?;
        let suffix = format!(",{}", policies.to_lowercase());
        let mut by_gpo: BTreeMap<GpoId, Vec<DirectoryObject>> = BTreeMap::new();
        for entry in entries {
            let lower = entry.dn.to_lowercase();
            let Some(relative) = lower.strip_suffix(&suffix) else { continue };
            let rdns: Vec<&str> = relative.split(',').collect();
            // CN=User / CN=Machine directly under the GPO always exist and carry nothing.
            if rdns.len() < 3 {
                continue;
            }
            let Some(id) = rdns.last().and_then(|r| r.split_once('=')).and_then(|(_, v)| v.parse::<GpoId>().ok())
            else {
                continue;
            };
            by_gpo.entry(id).or_default().push(directory_object(entry));
        }
        for objects in by_gpo.values_mut() {
            // Parents before children, so a restore can create them in order.
            objects.sort_by_key(|o| (o.dn.matches(',').count(), o.dn.to_lowercase()));
        }
        Ok(by_gpo)
    }

    async fn read_gpo(&self, gpo: &GpoId) -> Result<Option<Gpo>, DirectoryError> {
        // A missing object answers noSuchObject, which `search` turns into no entries.
        let entries = self
            .search(&self.gpo_dn(gpo), Scope::Base, "(objectClass=groupPolicyContainer)", GPO_ATTRIBUTES, true)
            .await?;
        Ok(entries.iter().find_map(|e| self.gpo_from_entry(e)))
    }

    async fn resolve_principals(&self, sids: &[Sid]) -> Result<Vec<Principal>, DirectoryError> {
        let mut principals = Vec::new();
        for batch in sids.chunks(40) {
            let filter = format!(
                "(|{})",
                batch.iter().map(|s| format!("(objectSid={})", escape_binary(&s.to_bytes()))).collect::<String>()
            );
            let entries = self.search(&self.domain.dn, Scope::Subtree, &filter, PRINCIPAL_ATTRIBUTES, false).await?;
            principals.extend(entries.iter().filter_map(|entry| self.principal_from_entry(entry)));
        }
        Ok(principals)
    }

    async fn resolve_names(&self, names: &[String]) -> Result<Vec<(String, Principal)>, DirectoryError> {
        let wanted: Vec<(&String, AccountQuery)> =
            names.iter().filter_map(|name| AccountQuery::parse(name, &self.domain).map(|q| (name, q))).collect();
        let mut found = Vec::new();
        for batch in wanted.chunks(40) {
            let filter = format!("(&(objectSid=*)(|{}))", batch.iter().map(|(_, q)| q.filter()).collect::<String>());
            let entries = self.search(&self.domain.dn, Scope::Subtree, &filter, PRINCIPAL_ATTRIBUTES, false).await?;
            let principals: Vec<Principal> = entries.iter().filter_map(|e| self.principal_from_entry(e)).collect();
            for (name, query) in batch {
                if let Some(principal) = query.pick(&principals) {
                    found.push(((*name).clone(), principal.clone()));
                }
            }
        }
        Ok(found)
    }

    fn describe(&self) -> String {
        self.url.clone()
    }

    async fn modify_gpo(&self, gpo: &GpoId, changes: &GpoChanges) -> Result<(), DirectoryError> {
        self.write_gpo_changes(gpo, changes).await
    }

    async fn set_gpo_dacl(&self, gpo: &GpoId, sd: &SecurityDescriptor) -> Result<(), DirectoryError> {
        self.write_gpo_dacl(gpo, sd).await
    }

    async fn create_gpo(&self, gpo: &GpoId, attributes: &GpoAttributes) -> Result<String, DirectoryError> {
        self.add_gpo(gpo, attributes).await
    }

    async fn delete_gpo(&self, gpo: &GpoId) -> Result<String, DirectoryError> {
        self.remove_gpo(gpo).await
    }

    async fn find_deleted_gpo(&self, gpo: &GpoId) -> Result<Option<DeletedGpo>, DirectoryError> {
        self.search_deleted_gpo(gpo).await
    }

    async fn reanimate_gpo(&self, deleted: &DeletedGpo) -> Result<ReanimateReport, DirectoryError> {
        self.reanimate(deleted).await
    }

    async fn add_gpo_objects(&self, objects: &[DirectoryObject]) -> Result<usize, DirectoryError> {
        self.add_objects(objects).await
    }

    async fn delete_gpo_objects(&self, dns: &[String]) -> Result<usize, DirectoryError> {
        self.delete_objects(dns).await
    }

    async fn read_links(&self, container_dn: &str) -> Result<ContainerLinks, DirectoryError> {
        self.links_of(container_dn).await
    }

    async fn set_link(
        &self,
        container_dn: &str,
        gpo: &GpoId,
        placement: LinkPlacement,
    ) -> Result<ContainerLinks, DirectoryError> {
        self.link(container_dn, gpo, placement).await
    }

    async fn remove_link(&self, container_dn: &str, gpo: &GpoId) -> Result<ContainerLinks, DirectoryError> {
        self.unlink(container_dn, gpo).await
    }

    async fn set_block_inheritance(&self, container_dn: &str, block: bool) -> Result<(), DirectoryError> {
        self.write_block_inheritance(container_dn, block).await
    }

    async fn create_wmi_filter(&self, filter: &WmiFilter) -> Result<WmiFilterOutcome, DirectoryError> {
        self.add_wmi_filter(filter).await
    }

    async fn delete_wmi_filter(&self, id: &str) -> Result<bool, DirectoryError> {
        self.remove_wmi_filter(id).await
    }
}

/// A GSSAPI bind with the admin's ticket cache. The service ticket is for ldap/<DC host name>:
/// that name comes from the rootDSE (readable before any bind), so a server given by address
/// works with no DNS, as long as krb5.conf names the realm's KDC.
async fn bind_kerberos(ldap: &mut Ldap, target: &DomainTarget, url: &str) -> Result<(), DirectoryError> {
    #[cfg(feature = "kerberos")]
    {
        let host = match dc_host_name(ldap).await {
            Some(host) => host,
            None => target.server.clone(),
        };
        let refused = |reason: String| DirectoryError::KerberosBind {
            url: url.to_string(),
            service: format!("ldap/{host}"),
            reason: format!("{reason}; check the ticket with klist, or get one with kinit"),
        };
        let result = ldap.sasl_gssapi_bind(&host).await.map_err(|e| refused(e.to_string()))?;
        if result.rc != 0 {
            // Samba before 4.20 wants a SASL signing layer even inside TLS, which ldap3 does
            // not add there; Windows DCs and later Samba accept the bind (with channel binding).
            let hint = if result.text.contains("Sign or Seal are required") {
                " (a Samba DC before 4.20: set 'ldap server require strong auth = allow_sasl_over_tls' in its smb.conf)"
            } else {
                ""
            };
            return Err(refused(format!("result code {}: {}{hint}", result.rc, result.text)));
        }
        Ok(())
    }
    #[cfg(not(feature = "kerberos"))]
    {
        let _ = (ldap, target);
        Err(DirectoryError::KerberosBind {
            url: url.to_string(),
            service: "ldap".into(),
            reason: "this build has no Kerberos support (built without the default cargo feature kerberos); rebuild with it (needs libkrb5-dev and libclang-dev)"
                .into(),
        })
    }
}

/// The DC's DNS host name from the rootDSE, read anonymously (AD allows that before a bind).
#[cfg(feature = "kerberos")]
async fn dc_host_name(ldap: &mut Ldap) -> Option<String> {
    let (entries, _) =
        ldap.search("", Scope::Base, "(objectClass=*)", vec!["dnsHostName"]).await.ok()?.success().ok()?;
    let entry = SearchEntry::construct(entries.into_iter().next()?);
    first_text(&entry, "dnsHostName").filter(|h| !h.is_empty())
}

fn classify_connect_error(url: &str, error: LdapError) -> DirectoryError {
    let text = error.to_string();
    let lower = text.to_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        DirectoryError::Tls { url: url.to_string(), reason: text }
    } else if lower.contains("timeout") || lower.contains("timed out") {
        DirectoryError::Unreachable { url: url.to_string(), reason: format!("no answer in time ({text})") }
    } else {
        DirectoryError::Unreachable { url: url.to_string(), reason: text }
    }
}

fn principal_kind(classes: &[String], group_type: Option<i64>) -> String {
    let has = |c: &str| classes.iter().any(|x| x == c);
    if has("computer") {
        "Computer".into()
    } else if has("user") {
        "User".into()
    } else if has("group") {
        let t = group_type.unwrap_or(0);
        if t & 0x8 != 0 {
            "UniversalGroup".into()
        } else if t & 0x2 != 0 {
            "GlobalGroup".into()
        } else {
            "LocalGroup".into()
        }
    } else {
        "Unknown".into()
    }
}

/// How an account name is looked up in this domain.
#[derive(Debug, PartialEq, Eq)]
enum AccountQuery {
    /// By sAMAccountName (`DOMAIN\name`, `dns\name`, a bare name, `name@this.domain`), and for
    /// `name@dns` also by userPrincipalName.
    Account { sam: String, upn: Option<String> },
    /// `name@other.suffix`: only a userPrincipalName can match.
    Upn(String),
}

impl AccountQuery {
    /// `None` for a name of another domain (or an empty one).
    fn parse(name: &str, domain: &DomainInfo) -> Option<AccountQuery> {
        let name = name.trim();
        let ours = |d: &str| d.eq_ignore_ascii_case(&domain.netbios_name) || d.eq_ignore_ascii_case(&domain.dns_name);
        if let Some((prefix, account)) = name.split_once('\\') {
            return (ours(prefix) || prefix.eq_ignore_ascii_case("BUILTIN"))
                .then(|| AccountQuery::Account { sam: account.to_string(), upn: None })
                .filter(|_| !account.is_empty());
        }
        if let Some((account, suffix)) = name.rsplit_once('@') {
            if account.is_empty() || suffix.is_empty() {
                return None;
            }
            return Some(if ours(suffix) {
                AccountQuery::Account { sam: account.to_string(), upn: Some(name.to_string()) }
            } else {
                AccountQuery::Upn(name.to_string())
            });
        }
        (!name.is_empty()).then(|| AccountQuery::Account { sam: name.to_string(), upn: None })
    }

    fn filter(&self) -> String {
        match self {
            AccountQuery::Account { sam, upn: Some(upn) } => {
                format!("(sAMAccountName={})(userPrincipalName={})", ldap3::ldap_escape(sam), ldap3::ldap_escape(upn))
            }
            AccountQuery::Account { sam, upn: None } => format!("(sAMAccountName={})", ldap3::ldap_escape(sam)),
            AccountQuery::Upn(upn) => format!("(userPrincipalName={})", ldap3::ldap_escape(upn)),
        }
    }

    /// The principal this query names among those found: a UPN match first, then the account.
    fn pick<'a>(&self, found: &'a [Principal]) -> Option<&'a Principal> {
        let by_upn = |upn: &str| found.iter().find(|p| p.upn.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(upn)));
        match self {
            AccountQuery::Account { sam, upn } => upn
                .as_deref()
                .and_then(by_upn)
                .or_else(|| found.iter().find(|p| p.sam_account_name.eq_ignore_ascii_case(sam))),
            AccountQuery::Upn(upn) => by_upn(upn),
        }
    }
}

fn container_from_entry(entry: &SearchEntry, kind: ContainerKind) -> Container {
    let options = first_text(entry, "gPOptions").and_then(|v| v.trim().parse::<u32>().ok()).unwrap_or(0);
    Container {
        dn: entry.dn.clone(),
        name: first_text(entry, "name").unwrap_or_else(|| entry.dn.clone()),
        kind,
        blocks_inheritance: options & 1 != 0,
        links: first_text(entry, "gPLink").map(|v| parse_gplink(&entry.dn, &v)).unwrap_or_default(),
    }
}

pub(super) fn directory_object(entry: SearchEntry) -> DirectoryObject {
    let mut attributes: BTreeMap<String, Vec<AttributeValue>> = BTreeMap::new();
    for (name, values) in entry.attrs {
        attributes.entry(name).or_default().extend(values.into_iter().map(AttributeValue::Text));
    }
    for (name, values) in entry.bin_attrs {
        attributes.entry(name).or_default().extend(values.into_iter().map(AttributeValue::from_bytes));
    }
    DirectoryObject { dn: entry.dn, attributes }
}

fn find_key<'a, V>(map: &'a HashMap<String, V>, name: &str) -> Option<&'a V> {
    map.get(name).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

pub(super) fn first_text(entry: &SearchEntry, name: &str) -> Option<String> {
    find_key(&entry.attrs, name).and_then(|v| v.first().cloned())
}

fn all_text(entry: &SearchEntry, name: &str) -> Vec<String> {
    find_key(&entry.attrs, name).cloned().unwrap_or_default()
}

/// Binary attributes land in `attrs` when their bytes happen to be valid UTF-8.
pub(super) fn first_bytes(entry: &SearchEntry, name: &str) -> Option<Vec<u8>> {
    find_key(&entry.bin_attrs, name)
        .and_then(|v| v.first().cloned())
        .or_else(|| find_key(&entry.attrs, name).and_then(|v| v.first()).map(|s| s.as_bytes().to_vec()))
}

pub(super) fn escape_binary(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

fn dn_to_dns_name(dn: &str) -> String {
    dn.split(',')
        .filter_map(|rdn| rdn.split_once('='))
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case("dc"))
        .map(|(_, v)| v.trim())
        .collect::<Vec<_>>()
        .join(".")
}

fn reversed_dn(dn: &str) -> String {
    dn.to_lowercase().split(',').rev().collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_to_dns_and_kinds() {
        assert_eq!(dn_to_dns_name("DC=corp,DC=example,DC=test"), "corp.example.test");
        assert_eq!(principal_kind(&["top".into(), "group".into()], Some(-2147483646)), "GlobalGroup");
        assert_eq!(principal_kind(&["group".into()], Some(-2147483640)), "UniversalGroup");
        assert_eq!(principal_kind(&["group".into()], Some(-2147483644)), "LocalGroup");
        assert_eq!(principal_kind(&["user".into(), "computer".into()], None), "Computer");
        assert_eq!(escape_binary(&[1, 0xab]), "\\01\\ab");
    }

    #[test]
    fn account_names_are_looked_up_in_this_domain_only() {
        let domain =
            DomainInfo { dns_name: "corp.example.test".into(), netbios_name: "CORP".into(), ..DomainInfo::default() };
        let account = |sam: &str, upn: Option<&str>| {
            Some(AccountQuery::Account { sam: sam.into(), upn: upn.map(str::to_string) })
        };
        assert_eq!(AccountQuery::parse("CORP\\Helpdesk", &domain), account("Helpdesk", None));
        assert_eq!(AccountQuery::parse("corp.example.test\\Helpdesk", &domain), account("Helpdesk", None));
        assert_eq!(AccountQuery::parse("BUILTIN\\Administrators", &domain), account("Administrators", None));
        assert_eq!(AccountQuery::parse("BRANCH\\Helpdesk", &domain), None);
        assert_eq!(
            AccountQuery::parse("Domain Admins@Corp.Example.Test", &domain),
            account("Domain Admins", Some("Domain Admins@Corp.Example.Test"))
        );
        assert_eq!(
            AccountQuery::parse("jdoe@example.com", &domain),
            Some(AccountQuery::Upn("jdoe@example.com".into()))
        );
        assert_eq!(AccountQuery::parse(" WS0001$ ", &domain), account("WS0001$", None));
        assert_eq!(AccountQuery::parse("CORP\\", &domain), None);
        assert_eq!(AccountQuery::parse("a*b)(x", &domain).unwrap().filter(), "(sAMAccountName=a\\2ab\\29\\28x)");
    }
}
