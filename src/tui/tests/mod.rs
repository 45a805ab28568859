//! TUI tests without a terminal: a fake domain built in memory, keys fed through the keymap
//! into `update`, and renders into ratatui's TestBackend compared with insta snapshots. The
//! core's own backup plan and run are driven through a session whose directory is in memory and
//! whose SYSVOL is a temporary folder (see `FakeDomain`).

mod backups;
mod every_action;
mod finding;
mod health;
mod jobs;
mod migtable;
mod panes;
mod render;
mod update;
mod wizards;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gpvault::config::{DomainTarget, Profile};
use gpvault::model::security::{ace_flags, ace_type, rights};
use gpvault::model::{
    Ace, Acl, Container, ContainerKind, DomainInfo, Estate, ExtensionList, Gpo, GpoFlags, GpoId, Link,
    SecurityDescriptor, Sid, Version, WmiFilter,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::action::{ConnectionInfo, Effect, JobEvent, Msg};
use super::keymap;
use super::panes::tree::{NodeKey, Row};
use super::state::{AppState, DomainNode, PasswordSource};
use super::theme::Theme;
use super::update::update;
use super::view;

pub const DDP: &str = "{31B2F340-016D-11D2-945F-00C04FB984F9}";
pub const DDCP: &str = "{6AC1786C-016F-11D2-945F-00C04FB984F9}";
pub const FINANCE: &str = "{71684F58-CB31-4AB8-A7A4-FBF8596018E8}";
pub const USER_OFF: &str = "{32693037-7595-4C24-9557-4FABB497CEB9}";
pub const LAPTOPS: &str = "{C364F53E-CD20-48E7-8E62-4B258E188DE8}";
const DOMAIN_DN: &str = "DC=corp,DC=example,DC=test";

pub fn id(text: &str) -> GpoId {
    text.parse().expect("test GUID")
}

fn sid(text: &str) -> Sid {
    text.parse().expect("test SID")
}

fn ace(ace_type: u8, mask: u32, object_type: Option<uuid::Uuid>, who: &str) -> Ace {
    Ace {
        ace_type,
        flags: ace_flags::CONTAINER_INHERIT,
        mask,
        object_type,
        inherited_object_type: None,
        sid: sid(who),
        trailing: Vec::new(),
    }
}

/// Domain Admins edit, Enterprise Admins edit, Authenticated Users read and apply.
fn security_descriptor() -> SecurityDescriptor {
    let admins = "S-1-5-21-1004336348-1177238915-682003330-512";
    let aces = vec![
        ace(ace_type::ACCESS_ALLOWED, rights::GPO_EDIT_DELETE_MODIFY_SECURITY | rights::DELETE_TREE, None, admins),
        ace(ace_type::ACCESS_ALLOWED, rights::GPO_READ, None, "S-1-5-11"),
        ace(
            ace_type::ACCESS_ALLOWED_OBJECT,
            rights::CONTROL_ACCESS,
            Some(gpvault::model::security::APPLY_GROUP_POLICY),
            "S-1-5-11",
        ),
        ace(ace_type::ACCESS_ALLOWED, rights::GPO_EDIT_DELETE_MODIFY_SECURITY | rights::DELETE_TREE, None, "S-1-5-18"),
    ];
    // Encoded for real: a backup writes the descriptor's bytes, and reading them back must work.
    SecurityDescriptor::from_parts(0x8004, Some(sid(admins)), Some(sid(admins)), None, Some(Acl { revision: 4, aces }))
}

pub fn gpo(guid: &str, name: &str, user: u16, machine: u16, flags: u32) -> Gpo {
    Gpo {
        id: id(guid),
        dn: format!("CN={guid},CN=Policies,CN=System,{DOMAIN_DN}"),
        display_name: name.to_string(),
        version: Version { user, machine },
        flags: GpoFlags(flags),
        functionality_version: Some(2),
        file_sys_path: format!(r"\\corp.example.test\SysVol\corp.example.test\Policies\{guid}"),
        machine_extensions: ExtensionList::parse(
            "[{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]",
        ),
        user_extensions: ExtensionList::default(),
        wmi_filter_link: None,
        security_descriptor: Some(security_descriptor()),
        created: Some("20261125160000.0Z".into()),
        changed: Some("20261125163000.0Z".into()),
    }
}

fn link(container: &str, guid: &str, order: usize, enabled: bool, enforced: bool) -> Link {
    Link { container_dn: container.to_string(), gpo_id: id(guid), order, enabled, enforced }
}

fn container(dn: &str, name: &str, kind: ContainerKind, links: Vec<Link>) -> Container {
    Container { dn: dn.to_string(), name: name.to_string(), kind, blocks_inheritance: false, links }
}

/// A small domain shaped like the lab's corp.example.test.
pub fn estate() -> Estate {
    let mut laptops = gpo(LAPTOPS, "WMI Filtered - Laptops", 0, 14, 0);
    laptops.wmi_filter_link = Some("[corp.example.test;{A1B2C3D4-0000-4000-8000-000000000001};0]".into());
    let gpos = vec![
        gpo(DDCP, "Default Domain Controllers Policy", 0, 2, 0),
        gpo(DDP, "Default Domain Policy", 0, 13, 0),
        gpo(USER_OFF, "Disabled User Half", 21, 22, 1),
        gpo(FINANCE, "Finance Drive Maps", 21, 0, 0),
        laptops,
    ];
    let staff = format!("OU=Staff,{DOMAIN_DN}");
    let finance = format!("OU=Finance,OU=Staff,{DOMAIN_DN}");
    let dcs = format!("OU=Domain Controllers,{DOMAIN_DN}");
    let laptops_ou = format!("OU=Laptops,{DOMAIN_DN}");
    let mut staff_ou =
        container(&staff, "Staff", ContainerKind::OrganizationalUnit, vec![link(&staff, USER_OFF, 1, true, false)]);
    staff_ou.blocks_inheritance = true;
    Estate {
        domain: DomainInfo {
            dns_name: "corp.example.test".into(),
            netbios_name: "CORP".into(),
            dn: DOMAIN_DN.into(),
            sid: Some(sid("S-1-5-21-1004336348-1177238915-682003330")),
            guid: "{0f1e2d3c-0000-4000-8000-000000000000}".into(),
            controller: "dc01.corp.example.test".into(),
        },
        gpos,
        containers: vec![
            container(DOMAIN_DN, "corp", ContainerKind::Domain, vec![link(DOMAIN_DN, DDP, 1, true, true)]),
            container(
                &dcs,
                "Domain Controllers",
                ContainerKind::OrganizationalUnit,
                vec![link(&dcs, DDCP, 1, true, false)],
            ),
            container(
                &laptops_ou,
                "Laptops",
                ContainerKind::OrganizationalUnit,
                vec![link(&laptops_ou, LAPTOPS, 1, false, false)],
            ),
            staff_ou,
            container(
                &finance,
                "Finance",
                ContainerKind::OrganizationalUnit,
                vec![link(&finance, FINANCE, 1, true, false), link(&finance, DDP, 2, true, false)],
            ),
        ],
        wmi_filters: vec![WmiFilter {
            id: "{A1B2C3D4-0000-4000-8000-000000000001}".into(),
            dn: "CN={A1B2C3D4-0000-4000-8000-000000000001},CN=SOM,CN=WMIPolicy,CN=System,DC=corp,DC=example,DC=test"
                .into(),
            name: "Laptops".into(),
            description: String::new(),
            query: "1;3;10;61;WQL;root\\CIMv2;SELECT * FROM Win32_SystemEnclosure WHERE ChassisTypes = 9;".into(),
            author: "Administrator@corp.example.test".into(),
            created: String::new(),
            changed: String::new(),
        }],
    }
}

pub fn target(name: &str, domain: &str, insecure_tls: bool) -> DomainTarget {
    let profile = Profile {
        server: Some("127.0.0.1".into()),
        domain: Some(domain.into()),
        user: Some("Administrator".into()),
        password_env: Some("GPVAULT_LAB_PASSWORD".into()),
        insecure_tls,
        ..Default::default()
    };
    DomainTarget::resolve(Some(name), &profile).expect("test target")
}

/// The clock every test starts from; renders depend on it only through differences.
pub fn t0() -> Instant {
    // One Instant per test process keeps spinner frames and rates reproducible.
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *START.get_or_init(Instant::now)
}

pub fn at(ms: u64) -> Instant {
    t0() + Duration::from_millis(ms)
}

/// Two profiles, neither connected: `corp` (password from the environment) and `branch`.
pub fn fresh_state() -> AppState {
    let domains = vec![
        DomainNode::for_target(target("branch", "branch.example.test", false), PasswordSource::Environment),
        DomainNode::for_target(target("corp", "corp.example.test", true), PasswordSource::Environment),
    ];
    let mut state = AppState::new(domains, Some(PathBuf::from("/srv/gpo-backups")), t0());
    state.home = Some(PathBuf::from("/home/admin"));
    state.cwd = Some(PathBuf::from("/srv"));
    update(&mut state, Msg::Resize(80, 24));
    state
}

/// `corp` connected with the fake estate, its "Group Policy Objects" open.
pub fn connected_state() -> AppState {
    let mut state = fresh_state();
    press(&mut state, KeyCode::Down);
    let effects = press(&mut state, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Connect { domain: 1, attempt: 1, .. }]), "{effects:?}");
    let info = ConnectionInfo { ldap: "ldaps://127.0.0.1:636".into(), sysvol: "smb://127.0.0.1/sysvol".into() };
    update(&mut state, Msg::Job(JobEvent::Connected { domain: 1, attempt: 1, result: Ok((Box::new(estate()), info)) }));
    state
}

pub fn key(state: &mut AppState, event: KeyEvent) -> Vec<Effect> {
    match keymap::message_for(state.panes.specs(), state.focus(), event) {
        Some(msg) => update(state, msg),
        None => Vec::new(),
    }
}

pub fn press(state: &mut AppState, code: KeyCode) -> Vec<Effect> {
    let modifiers = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    key(state, KeyEvent::new(code, modifiers))
}

pub fn type_text(state: &mut AppState, text: &str) {
    for c in text.chars() {
        press(state, KeyCode::Char(c));
    }
}

pub fn rows(state: &AppState) -> Vec<Row> {
    state.tree().rows().to_vec()
}

pub fn cursor_key(state: &AppState) -> NodeKey {
    state.tree().cursor_key().expect("a cursor").clone()
}

/// Moves the cursor to the first row whose key satisfies `pick`, with j/k like a person would.
pub fn go_to(state: &mut AppState, pick: impl Fn(&NodeKey) -> bool) {
    let target = rows(state).iter().position(|r| pick(&r.key)).expect("row to go to");
    while state.tree().cursor < target {
        press(state, KeyCode::Char('j'));
    }
    while state.tree().cursor > target {
        press(state, KeyCode::Char('k'));
    }
}

/// Presses Tab until the pane `id` has the focus, as a person would.
pub fn tab_to(state: &mut AppState, id: super::panes::PaneId) {
    for _ in 0..state.panes.specs().len() {
        if state.focused == id {
            return;
        }
        press(state, KeyCode::Tab);
    }
    assert_eq!(state.focused, id, "Tab reaches every pane");
}

pub fn render(state: &AppState, width: u16, height: u16) -> Terminal<TestBackend> {
    render_with(state, &Theme::built_in("default"), width, height)
}

pub fn render_with(state: &AppState, theme: &Theme, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal.draw(|frame| view::view(state, theme, frame)).expect("draw");
    terminal
}

pub fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// The screen, then a map of how each cell stands out without colour (R reversed, B bold,
/// U underlined, D dim, `.` plain): what a mono terminal shows of selection and focus.
pub fn screen_and_modifiers(terminal: &Terminal<TestBackend>) -> String {
    use ratatui::style::Modifier;
    let buffer = terminal.backend().buffer();
    let mut out = screen_text(terminal);
    out.push_str("--- without colour: R reversed, B bold, U underlined, D dim ---\n");
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            let m = buffer[(x, y)].modifier;
            out.push(if m.contains(Modifier::REVERSED) {
                'R'
            } else if m.contains(Modifier::BOLD) {
                'B'
            } else if m.contains(Modifier::UNDERLINED) {
                'U'
            } else if m.contains(Modifier::DIM) {
                'D'
            } else {
                '.'
            });
        }
        out.push('\n');
    }
    out
}

/// The fake estate with `bulk` more GPOs named "Bulk GPO 1"... in scrambled order, and an OU
/// "Bulk Servers" under Staff: what the natural sort and the filter are tried on.
pub fn bulk_estate(bulk: usize) -> Estate {
    let mut estate = estate();
    // Scrambled: the directory returns GPOs in no useful order.
    let mut numbers: Vec<usize> = (1..=bulk).collect();
    numbers.sort_by_key(|n| (n * 7919) % (bulk.max(1) + 13));
    for n in numbers {
        let guid = format!("{{{n:08X}-0000-4000-8000-{n:012X}}}");
        estate.gpos.push(gpo(&guid, &format!("Bulk GPO {n}"), 1, 1, 0));
    }
    let staff = format!("OU=Staff,{DOMAIN_DN}");
    estate.containers.push(container(
        &format!("OU=Bulk Servers,{staff}"),
        "Bulk Servers",
        ContainerKind::OrganizationalUnit,
        Vec::new(),
    ));
    estate
}

/// `corp` connected with [`bulk_estate`], its "Group Policy Objects" open.
pub fn bulk_state(bulk: usize) -> AppState {
    let mut state = fresh_state();
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Enter);
    let info = ConnectionInfo { ldap: "ldaps://127.0.0.1:636".into(), sysvol: "smb://127.0.0.1/sysvol".into() };
    let estate = Box::new(bulk_estate(bulk));
    update(&mut state, Msg::Job(JobEvent::Connected { domain: 1, attempt: 1, result: Ok((estate, info)) }));
    state
}

/// The names of the GPO rows shown, top to bottom.
pub fn gpo_names(state: &AppState) -> Vec<String> {
    rows(state)
        .iter()
        .filter_map(|r| match &r.kind {
            super::panes::tree::RowKind::Gpo { name, .. } => Some(name.to_string()),
            _ => None,
        })
        .collect()
}

/// The AD side of the fake estate, in memory.
struct FakeDirectory {
    estate: Estate,
}

#[async_trait::async_trait]
impl gpvault::directory::Directory for FakeDirectory {
    async fn read_estate(&self) -> Result<Estate, gpvault::directory::DirectoryError> {
        Ok(self.estate.clone())
    }
    async fn read_gpo_children(
        &self,
    ) -> Result<
        std::collections::BTreeMap<GpoId, Vec<gpvault::model::DirectoryObject>>,
        gpvault::directory::DirectoryError,
    > {
        Ok(Default::default())
    }
    async fn resolve_principals(
        &self,
        _sids: &[Sid],
    ) -> Result<Vec<gpvault::model::Principal>, gpvault::directory::DirectoryError> {
        Ok(Vec::new())
    }
    /// No account of the fake domain has a name a table could give.
    async fn resolve_names(
        &self,
        _names: &[String],
    ) -> Result<Vec<(String, gpvault::model::Principal)>, gpvault::directory::DirectoryError> {
        Ok(Vec::new())
    }
    /// A domain in memory keeps no tombstones: a GPO gone is gone.
    async fn find_deleted_gpo(
        &self,
        _gpo: &GpoId,
    ) -> Result<Option<gpvault::directory::DeletedGpo>, gpvault::directory::DirectoryError> {
        Ok(None)
    }
    fn describe(&self) -> String {
        "memory".into()
    }
}

/// A session over the fake estate for the core's real plan and run: the directory in memory,
/// SYSVOL a temporary folder with a GPO folder (GPT.INI, Registry.pol) for every GPO but
/// "Finance Drive Maps", whose folder is missing as on a broken DC.
pub struct FakeDomain {
    pub session: std::sync::Arc<gpvault::ops::DomainSession>,
    _sysvol: tempfile::TempDir,
}

impl FakeDomain {
    pub fn new() -> FakeDomain {
        FakeDomain::with_estate(estate())
    }

    /// The same over another reading of the domain (a GPO deleted since, say).
    pub fn with_estate(estate: Estate) -> FakeDomain {
        let sysvol = tempfile::tempdir().expect("temp dir");
        let policies = sysvol.path().join("corp.example.test/Policies");
        for gpo in estate.gpos.iter().filter(|g| g.id != id(FINANCE)) {
            let dir = policies.join(gpo.id.to_string());
            std::fs::create_dir_all(dir.join("Machine")).expect("GPO folder");
            let version = format!("[General]\r\nVersion={}\r\n", gpo.version.raw());
            std::fs::write(dir.join("GPT.INI"), version).expect("GPT.INI");
            std::fs::write(dir.join("Machine/Registry.pol"), b"PReg\x01\0\0\0").expect("Registry.pol");
        }
        let target = target("corp", "corp.example.test", true);
        let session = gpvault::ops::DomainSession {
            target,
            domain: estate.domain.clone(),
            directory: std::sync::Arc::new(FakeDirectory { estate }),
            sysvol: std::sync::Arc::new(
                gpvault::sysvol::LocalSysvol::open(sysvol.path(), "corp.example.test").expect("local SYSVOL"),
            ),
            sysvol_source: gpvault::ops::SysvolSource::Path(sysvol.path().to_path_buf()),
        };
        FakeDomain { session: std::sync::Arc::new(session), _sysvol: sysvol }
    }

    /// What the core says Back Up (All) of `selection` into `dir` would do.
    pub fn describe_backup(
        &self,
        selection: &gpvault::ops::GpoSelection,
        dir: &std::path::Path,
    ) -> gpvault::ops::PlanDescription {
        use gpvault::ops::Plan;
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let plan = runtime
            .block_on(gpvault::ops::backup::plan(
                &self.session,
                selection,
                dir.to_path_buf(),
                "before the Q4 change".into(),
                &gpvault::ops::NoProgress,
            ))
            .expect("the plan");
        plan.describe()
    }
}
