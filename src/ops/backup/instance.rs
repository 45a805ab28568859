//! Lays out one backup instance: GPMC's files plus gpvault's extra file, all in memory.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::directory::{DirectoryObject, Principal};
use crate::formats::backup_xml::SOURCE_FROM_DACL;
use crate::formats::backup_xml::{ClassStoreSource, gpmc_file_paths};
use crate::formats::bkup_info::{BackupInfo, new_backup_id};
use crate::formats::gpreport::{
    ReportLink, ReportSecurity, ReportSide, Trustee, TrusteePermission as ReportPermission, read_time,
    report_extensions_for, report_time_from_ldap,
};
use crate::formats::gpvault_json::{GPVAULT_JSON_VERSION, GpvaultJson, SysvolItem};
use crate::formats::text::LineEnding;
use crate::formats::xml::Element;
use crate::formats::{
    BackupXml, CoreSettings, GpReport, GpoFileEntry, PrincipalTag, SecurityPrincipal, build_extension_blocks,
    gpmc_source_root,
};
use crate::model::{DomainInfo, Gpo, Link, Sid, Version, WmiFilter, well_known_sid_name};
use crate::model::{FolderEntry, GpoFolder};
use crate::ops::inspect::gpt_ini_version;
use crate::store::{GPVAULT_JSON_FILE, PendingInstance};

/// Everything one instance is made from.
pub struct InstanceInput<'a> {
    pub gpo: &'a Gpo,
    pub domain: &'a DomainInfo,
    pub folder: &'a GpoFolder,
    /// Domain account SIDs the settings name (`migrate::references`), listed after the DACL's.
    pub settings_sids: &'a [Sid],
    pub principals: HashMap<Sid, Principal>,
    pub links: Vec<Link>,
    pub wmi_filter: Option<WmiFilter>,
    pub directory_objects: Vec<DirectoryObject>,
    pub comment: &'a str,
    pub time: DateTime<Utc>,
}

/// Where a SYSVOL path goes inside the instance: `DomainSysvol/GPO/Machine/...` with GPMC's
/// casing of the two halves (Samba creates MACHINE/USER). GPT.INI is kept in the extra file only,
/// as GPMC regenerates it on restore.
pub fn stored_location(rel_path: &str) -> Option<String> {
    let (first, rest) = match rel_path.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (rel_path, None),
    };
    if rest.is_none() && first.eq_ignore_ascii_case("gpt.ini") {
        return None;
    }
    let first = if first.eq_ignore_ascii_case("machine") {
        "Machine"
    } else if first.eq_ignore_ascii_case("user") {
        "User"
    } else {
        first
    };
    Some(match rest {
        Some(rest) => format!("DomainSysvol/GPO/{first}/{rest}"),
        None => format!("DomainSysvol/GPO/{first}"),
    })
}

pub fn build_instance(input: &InstanceInput) -> PendingInstance {
    let backup_id = new_backup_id();
    let mut pending = PendingInstance { backup_id: backup_id.to_string(), ..Default::default() };

    let mut sysvol_items = Vec::new();
    pending.dirs.push("DomainSysvol/GPO".into());
    for entry in &input.folder.entries {
        let stored_at = stored_location(entry.rel_path());
        match entry {
            FolderEntry::Dir { rel_path } => {
                if let Some(at) = &stored_at {
                    pending.dirs.push(at.clone());
                }
                sysvol_items.push(SysvolItem {
                    path: rel_path.clone(),
                    is_dir: true,
                    stored_at,
                    size: 0,
                    sha256: None,
                });
            }
            FolderEntry::File { rel_path, bytes } => {
                if let Some(at) = &stored_at {
                    pending.files.push((at.clone(), bytes.clone()));
                }
                sysvol_items.push(SysvolItem {
                    path: rel_path.clone(),
                    is_dir: false,
                    stored_at,
                    size: bytes.len() as u64,
                    sha256: Some(hex::encode(Sha256::digest(bytes))),
                });
            }
        }
    }

    let gpt_ini_bytes = input.folder.file("GPT.INI");
    let sysvol_version = gpt_ini_bytes.and_then(gpt_ini_version);
    let backup = backup_xml(input, sysvol_version);
    let mut info =
        BackupInfo::new(input.gpo.id, input.domain, backup_id, input.time, input.comment, &input.gpo.display_name);
    info.si_present = backup.has_class_store();
    pending.files.push(("bkupInfo.xml".into(), info.to_bytes()));
    pending.files.push(("Backup.xml".into(), backup.to_bytes()));
    pending.files.push(("gpreport.xml".into(), gpreport(input, sysvol_version).to_bytes()));

    let gpt_ini = gpt_ini_bytes.map(|b| String::from_utf8_lossy(b).into_owned());
    let extra = GpvaultJson {
        format_version: GPVAULT_JSON_VERSION,
        written_by: format!("gpvault {}", env!("CARGO_PKG_VERSION")),
        domain: input.domain.clone(),
        gpo: input.gpo.clone(),
        security_descriptor_sddl: input
            .gpo
            .security_descriptor
            .as_ref()
            .map(|sd| sd.to_sddl(input.domain.sid.as_ref())),
        gpt_ini,
        links: input.links.clone(),
        wmi_filter: input.wmi_filter.clone(),
        sysvol: sysvol_items,
        directory_objects: input.directory_objects.clone(),
    };
    pending.files.push((GPVAULT_JSON_FILE.into(), extra.to_json()));
    pending
}

/// Backup.xml as GPMC writes it: principals, paths, core settings, one block per extension
/// (the Software Installation one with the class store read from AD).
fn backup_xml(input: &InstanceInput, sysvol_version: Option<Version>) -> BackupXml {
    let gpo = input.gpo;
    let domain = input.domain;
    let mut security_groups = Vec::new();
    let mut listed: Vec<&Sid> = Vec::new();
    // DACL principals first (bkp:Source="FromDACL"), then the ones the settings name.
    let dacl_sids = gpo.security_descriptor.as_ref().map(|sd| sd.principals()).unwrap_or_default();
    for (sids, source) in [(dacl_sids, Some(SOURCE_FROM_DACL)), (input.settings_sids.to_vec(), None)] {
        for sid in sids {
            let Some(principal) = input.principals.get(&sid) else { continue };
            if listed.contains(&&principal.sid) {
                continue;
            }
            listed.push(&principal.sid);
            security_groups.push(security_principal(principal, source));
        }
    }
    let entries: Vec<GpoFileEntry> = input
        .folder
        .entries
        .iter()
        .map(|e| match e {
            FolderEntry::Dir { rel_path } => GpoFileEntry::dir(rel_path.clone()),
            FolderEntry::File { rel_path, .. } => GpoFileEntry::file(rel_path.clone()),
        })
        .collect();
    let controller = if domain.controller.is_empty() { domain.dns_name.as_str() } else { domain.controller.as_str() };
    let source_root = gpmc_source_root(controller, &domain.dns_name, &gpo.id);
    let class_store =
        ClassStoreSource { gpo_dn: &gpo.dn, gpo_name: &gpo.display_name, objects: &input.directory_objects };
    let extensions = build_extension_blocks(
        &source_root,
        &entries,
        &gpo.machine_extensions,
        &gpo.user_extensions,
        Some(&class_store),
    );
    // Only GPMC's path-validating hooks fill FilePaths (Folder Redirection, Software
    // Installation, Scripts), from the files under their blocks.
    let read_file = |relative: &str| input.folder.file(relative).map(<[u8]>::to_vec);
    let file_paths = gpmc_file_paths(&extensions, &read_file).iter().map(|p| Element::with_cdata("Path", p)).collect();
    BackupXml {
        security_groups,
        file_paths,
        core: CoreSettings::from_gpo(
            gpo,
            &domain.dns_name,
            sysvol_version,
            input.wmi_filter.as_ref().map(|f| f.name.as_str()),
        ),
        extensions,
        line_ending: LineEnding::Crlf,
    }
}

/// gpreport.xml: identity, times, security, both halves and the links.
fn gpreport(input: &InstanceInput, sysvol_version: Option<Version>) -> GpReport {
    let gpo = input.gpo;
    let sysvol = sysvol_version.unwrap_or(gpo.version);
    let name_of = |sid: &Sid| -> Option<String> {
        input
            .principals
            .get(sid)
            .map(|p| format!("{}\\{}", p.netbios_domain, p.sam_account_name))
            .or_else(|| well_known_sid_name(sid).map(str::to_string))
    };
    let trustee = |sid: &Sid| Trustee { sid: sid.to_string(), name: name_of(sid) };
    let security = gpo.security_descriptor.as_ref().map(|sd| ReportSecurity {
        sddl: sd.to_sddl(input.domain.sid.as_ref()),
        owner: sd.owner.as_ref().map(trustee),
        group: sd.group.as_ref().map(trustee),
        permissions_present: sd.dacl.is_some(),
        inherits_from_parent: !sd.is_dacl_protected(),
        permissions: sd
            .gpo_delegation()
            .iter()
            .map(|p| ReportPermission {
                trustee: trustee(&p.trustee),
                permission_type: p.permission_type.as_str().to_string(),
                inherited: p.inherited,
                applicability: p.applicability,
                standard: Some(p.access.report_name().to_string()),
                access_mask: p.access_mask,
            })
            .collect(),
        auditing_present: false,
    });
    let side = |list: &crate::model::ExtensionList, ad: u16, sysvol: u16, enabled: bool| ReportSide {
        version_directory: ad as u32,
        version_sysvol: sysvol as u32,
        enabled,
        extensions: report_extensions_for(list),
    };
    let time = |ldap: &Option<String>| ldap.as_deref().and_then(report_time_from_ldap).unwrap_or_default();
    GpReport {
        identifier: gpo.id.to_string(),
        domain: input.domain.dns_name.clone(),
        name: gpo.display_name.clone(),
        include_comments: true,
        created_time: time(&gpo.created),
        modified_time: time(&gpo.changed),
        read_time: read_time(&input.time),
        security,
        filter_data_available: true,
        filter_name: input.wmi_filter.as_ref().map(|f| f.name.clone()),
        filter_description: input.wmi_filter.as_ref().map(|f| f.description.clone()),
        computer: side(&gpo.machine_extensions, gpo.version.machine, sysvol.machine, !gpo.flags.machine_disabled()),
        user: side(&gpo.user_extensions, gpo.version.user, sysvol.user, !gpo.flags.user_disabled()),
        links: input
            .links
            .iter()
            .map(|l| ReportLink {
                som_name: first_rdn_value(&l.container_dn),
                som_path: canonical_name(&l.container_dn),
                enabled: l.enabled,
                no_override: l.enforced,
            })
            .collect(),
    }
}

fn first_rdn_value(dn: &str) -> String {
    dn.split(',').next().and_then(|r| r.split_once('=')).map(|(_, v)| v.to_string()).unwrap_or_default()
}

/// `OU=Finance,OU=Staff,DC=corp,DC=example,DC=test` → `corp.example.test/Staff/Finance`.
pub fn canonical_name(dn: &str) -> String {
    let rdns: Vec<(&str, &str)> = dn.split(',').filter_map(|r| r.split_once('=')).collect();
    let domain: Vec<&str> =
        rdns.iter().filter(|(k, _)| k.trim().eq_ignore_ascii_case("dc")).map(|(_, v)| v.trim()).collect();
    let mut path = domain.join(".");
    for (_, value) in rdns.iter().rev().filter(|(k, _)| !k.trim().eq_ignore_ascii_case("dc")) {
        path.push('/');
        path.push_str(value.trim());
    }
    path
}

fn security_principal(principal: &Principal, source: Option<&str>) -> SecurityPrincipal {
    // GPMC writes every principal as <Group>, users included (their <Type> says User).
    SecurityPrincipal {
        tag: Some(PrincipalTag::Group),
        source: source.map(str::to_string),
        sid: Some(principal.sid.to_string()),
        sam_account_name: Some(principal.sam_account_name.clone()),
        account_type: Some(principal.kind.clone()),
        netbios_domain_name: Some(principal.netbios_domain.clone()),
        dns_domain_name: Some(principal.dns_domain.clone()),
        // GPMC writes name@domain here for groups too.
        upn: Some(
            principal.upn.clone().unwrap_or_else(|| format!("{}@{}", principal.sam_account_name, principal.dns_domain)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::formats::backup_xml::{FILE_NAME as BACKUP_XML, extension_ids};
    use crate::model::{AttributeValue, ExtensionList, GpoFlags};

    const FR_SAMPLE: &str = "tests/fixtures/gpmc/technology-toolbox-fr/{F5D718B7-BAFD-437F-8195-532AB42E2E13}";

    fn gpo(id: &str, name: &str, domain_dn: &str, machine: &str, user: &str) -> Gpo {
        Gpo {
            id: id.parse().unwrap(),
            dn: format!("CN={id},CN=Policies,CN=System,{domain_dn}"),
            display_name: name.into(),
            version: Version { user: 19, machine: 2 },
            flags: GpoFlags(0),
            functionality_version: Some(2),
            file_sys_path: String::new(),
            machine_extensions: ExtensionList::parse(machine),
            user_extensions: ExtensionList::parse(user),
            wmi_filter_link: None,
            security_descriptor: None,
            created: None,
            changed: None,
        }
    }

    /// Every file of a fixture instance's DomainSysvol\GPO, as SYSVOL would hold them.
    fn folder_of(sysvol: &Path) -> GpoFolder {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<FolderEntry>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let rel_path = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                if path.is_dir() {
                    out.push(FolderEntry::Dir { rel_path });
                    walk(root, &path, out);
                } else {
                    out.push(FolderEntry::File { rel_path, bytes: std::fs::read(&path).unwrap() });
                }
            }
        }
        let mut folder = GpoFolder::default();
        walk(sysvol, sysvol, &mut folder.entries);
        folder.sort();
        folder
    }

    fn input<'a>(
        gpo: &'a Gpo,
        domain: &'a DomainInfo,
        folder: &'a GpoFolder,
        directory_objects: Vec<DirectoryObject>,
    ) -> InstanceInput<'a> {
        InstanceInput {
            gpo,
            domain,
            folder,
            settings_sids: &[],
            principals: HashMap::new(),
            links: Vec::new(),
            wmi_filter: None,
            directory_objects,
            comment: "",
            time: Utc::now(),
        }
    }

    fn file<'a>(pending: &'a PendingInstance, name: &str) -> &'a [u8] {
        &pending.files.iter().find(|(n, _)| n == name).unwrap().1
    }

    #[test]
    fn folder_redirection_gpo_gets_gpmc_block_and_file_paths() {
        // The settings of the real Folder Redirection sample, backed up by gpvault.
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join(FR_SAMPLE);
        let theirs = BackupXml::parse(&std::fs::read(sample.join(BACKUP_XML)).unwrap()).unwrap();
        let gpo = gpo(
            &theirs.core.id,
            theirs.core.display_name.as_deref().unwrap(),
            "DC=corp,DC=fabrikam,DC=com",
            theirs.core.machine_extension_guids.as_deref().unwrap(),
            theirs.core.user_extension_guids.as_deref().unwrap(),
        );
        let domain = DomainInfo {
            dns_name: "corp.fabrikam.com".into(),
            controller: "FAB-DC07.corp.fabrikam.com".into(),
            ..Default::default()
        };
        let folder = folder_of(&sample.join("DomainSysvol/GPO"));
        let pending = build_instance(&input(&gpo, &domain, &folder, Vec::new()));

        let ours = BackupXml::parse(file(&pending, BACKUP_XML)).unwrap();
        assert_eq!(ours.file_path_values(), theirs.file_path_values());
        assert_eq!(ours.file_path_values().len(), 6);
        let block = |b: &BackupXml| {
            let fr = b.extensions.iter().find(|e| e.id == extension_ids::FOLDER_REDIRECTION).unwrap();
            fr.objects()
                .iter()
                .map(|o| {
                    // gpvault writes the GPO GUID upper case; this GPO's CN is lower case.
                    let source = o.source_expanded_path.clone().unwrap_or_default().to_lowercase();
                    (o.path.clone(), o.location.clone(), o.re_evaluate_function.clone(), source)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(block(&ours), block(&theirs));
        assert!(!BackupInfo::parse(file(&pending, "bkupInfo.xml")).unwrap().si_present);
    }

    #[test]
    fn class_store_is_backed_up_with_its_packages() {
        const GPO_ID: &str = "{5A2B7E10-3C4D-4E5F-8A9B-0C1D2E3F4A5B}";
        const PACKAGE: &str = "{0D4B9C21-77E3-4A8E-9F61-2B5C8D7E6F10}";
        let gpo = gpo(
            GPO_ID,
            "Software: 7-Zip",
            "DC=lab,DC=example",
            "[{C6DC5466-785A-11D2-84D0-00C04FB169F7}{942A8E4F-A261-11D1-A760-00C04FB9603F}]",
            "",
        );
        let domain =
            DomainInfo { dns_name: "lab.example".into(), controller: "dc1.lab.example".into(), ..Default::default() };
        let aas = format!("Machine/Applications/{PACKAGE}.aas");
        let folder = GpoFolder {
            entries: vec![
                FolderEntry::File { rel_path: "GPT.INI".into(), bytes: b"[General]\r\nVersion=1245186\r\n".to_vec() },
                FolderEntry::Dir { rel_path: "Machine".into() },
                FolderEntry::Dir { rel_path: "Machine/Applications".into() },
                FolderEntry::File { rel_path: aas.clone(), bytes: b"AAS\x01 advertise script".to_vec() },
            ],
        };
        let store = format!("CN=Class Store,CN=Machine,{}", gpo.dn);
        let text = |v: &str| vec![AttributeValue::Text(v.into())];
        let object = |dn: String, attributes: Vec<(&str, Vec<AttributeValue>)>| DirectoryObject {
            dn,
            attributes: attributes.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        };
        let objects = vec![
            object(store.clone(), vec![("objectClass", text("classStore")), ("appSchemaVersion", text("2"))]),
            object(format!("CN=Packages,{store}"), vec![("objectClass", text("classStore"))]),
            object(
                format!("CN={PACKAGE},CN=Packages,{store}"),
                vec![
                    ("objectClass", text("packageRegistration")),
                    ("displayName", text("7-Zip 23.01 (x64 edition)")),
                    (
                        "msiScriptPath",
                        text(&format!(
                            r"\\lab.example\SysVol\lab.example\Policies\{GPO_ID}\Machine\Applications\{PACKAGE}.aas"
                        )),
                    ),
                    ("msiFileList", text(r"0:\\fs01.lab.example\software\7zip\7z2301-x64.msi")),
                    ("nTSecurityDescriptor", vec![AttributeValue::from_bytes(vec![1, 0, 4, 0x8c, 0xff])]),
                ],
            ),
        ];
        let pending = build_instance(&input(&gpo, &domain, &folder, objects));

        let info = BackupInfo::parse(file(&pending, "bkupInfo.xml")).unwrap();
        assert!(info.si_present);
        let backup = BackupXml::parse(file(&pending, BACKUP_XML)).unwrap();
        let stores = backup.class_stores();
        assert_eq!(stores.len(), 1);
        let packages = stores[0].packages();
        assert_eq!(packages.len(), 1);
        assert_eq!(packages[0].security_descriptor(), Some(&[1u8, 0, 4, 0x8c, 0xff][..]));
        // The .aas entry points at the file the instance holds, as GPMC restores it from there.
        let location = packages[0].aas().unwrap().location.clone().unwrap().replace('\\', "/");
        assert_eq!(location, format!("DomainSysvol/GPO/{aas}"));
        assert!(pending.files.iter().any(|(name, _)| *name == location));
        assert_eq!(backup.file_path_values(), [r"\\fs01.lab.example\software\7zip"]);
    }

    #[test]
    fn halves_get_gpmc_casing_and_gpt_ini_stays_out() {
        assert_eq!(stored_location("MACHINE/registry.pol").as_deref(), Some("DomainSysvol/GPO/Machine/registry.pol"));
        assert_eq!(stored_location("USER").as_deref(), Some("DomainSysvol/GPO/User"));
        assert_eq!(stored_location("gpt.ini"), None);
        assert_eq!(stored_location("Adm/x.adm").as_deref(), Some("DomainSysvol/GPO/Adm/x.adm"));
    }

    #[test]
    fn canonical_names_read_top_down() {
        assert_eq!(canonical_name("OU=Finance,OU=Staff,DC=corp,DC=example,DC=test"), "corp.example.test/Staff/Finance");
        assert_eq!(canonical_name("DC=corp,DC=example,DC=test"), "corp.example.test");
    }
}
