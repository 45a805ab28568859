//! The TUI at the size of real estates: a synthetic domain of N GPOs (with OUs and links)
//! arrives, and the time to the first frame, each keypress handled and drawn (move, expand, a
//! filter keystroke) and the process's peak memory are measured on ratatui's TestBackend at
//! 120x40. benches/tui_scale.rs prints the figures; a unit test runs it small so it cannot rot.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gpvault::config::{DomainTarget, Profile};
use gpvault::model::{
    Container, ContainerKind, DomainInfo, Estate, ExtensionList, Gpo, GpoFlags, GpoId, Link, Version,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::action::{ConnectionInfo, JobEvent, Msg};
use super::keymap;
use super::state::{AppState, DomainNode, PasswordSource};
use super::theme::Theme;
use super::update::{open, update};
use super::view;

const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;
const DOMAIN_DN: &str = "DC=scale,DC=example,DC=test";

/// A domain with `gpos` GPOs named like a bulk-created estate ("Bulk GPO 1"... plus a few
/// department names), `gpos / 50` OUs in two levels, and links to every third GPO.
pub fn synthetic_estate(gpos: usize) -> Estate {
    let departments = ["Finance", "Sales", "Engineering", "Servers", "Workstations", "Kiosk"];
    let gpo_list: Vec<Gpo> = (0..gpos)
        .map(|n| {
            let id: GpoId = format!("{{{:08X}-0000-4000-8000-{:012X}}}", n, n * 7).parse().expect("a GUID");
            let name = match n % 10 {
                0 => format!("{} Policy {n}", departments[n / 10 % departments.len()]),
                _ => format!("Bulk GPO {n}"),
            };
            Gpo {
                id,
                dn: format!("CN={id},CN=Policies,CN=System,{DOMAIN_DN}"),
                display_name: name,
                version: Version { user: (n % 7) as u16, machine: (n % 11) as u16 },
                flags: GpoFlags((n % 4) as u32),
                functionality_version: Some(2),
                file_sys_path: format!(r"\\scale.example.test\SysVol\scale.example.test\Policies\{id}"),
                machine_extensions: ExtensionList::default(),
                user_extensions: ExtensionList::default(),
                wmi_filter_link: None,
                security_descriptor: None,
                created: Some("20261125160000.0Z".into()),
                changed: Some("20261125163000.0Z".into()),
            }
        })
        .collect();
    let mut containers = vec![Container {
        dn: DOMAIN_DN.into(),
        name: "scale".into(),
        kind: ContainerKind::Domain,
        blocks_inheritance: false,
        links: Vec::new(),
    }];
    let ous = (gpos / 50).max(1);
    let mut linked = (0..gpos).step_by(3);
    for o in 0..ous {
        let dn = match o % 5 {
            0 => format!("OU=Site {o},{DOMAIN_DN}"),
            _ => format!("OU=Branch {o},OU=Site {},{DOMAIN_DN}", o - o % 5),
        };
        let links = (1..=linked.len().div_ceil(ous - o).min(60))
            .filter_map(|order| linked.next().map(|g| (order, g)))
            .map(|(order, g)| Link {
                container_dn: dn.clone(),
                gpo_id: gpo_list[g].id,
                order,
                enabled: g % 13 != 0,
                enforced: g % 17 == 0,
            })
            .collect();
        let name = dn.split(',').next().unwrap_or_default().trim_start_matches("OU=").to_string();
        containers.push(Container {
            dn,
            name,
            kind: ContainerKind::OrganizationalUnit,
            blocks_inheritance: false,
            links,
        });
    }
    Estate {
        domain: DomainInfo {
            dns_name: "scale.example.test".into(),
            netbios_name: "SCALE".into(),
            dn: DOMAIN_DN.into(),
            sid: None,
            guid: "{00000000-0000-4000-8000-000000000000}".into(),
            controller: "dc01.scale.example.test".into(),
        },
        gpos: gpo_list,
        containers,
        wmi_filters: Vec::new(),
    }
}

/// Figures of one run, in the order they were taken.
#[derive(Debug, Default)]
pub struct Figures {
    pub gpos: usize,
    /// Data arriving (the domain read) to the first frame drawn.
    pub first_frame: Duration,
    /// Each kind of keypress: (what, the slowest of its presses, how many).
    pub keys: Vec<(&'static str, Duration, usize)>,
    /// VmHWM of the process after the run (the peak so far, in KiB), when /proc tells.
    pub peak_kib: Option<u64>,
}

impl Figures {
    pub fn slowest_key(&self) -> Duration {
        self.keys.iter().map(|(_, d, _)| *d).max().unwrap_or_default()
    }
}

struct Bench {
    state: AppState,
    terminal: Terminal<TestBackend>,
    theme: Theme,
}

impl Bench {
    fn draw(&mut self) {
        let (state, theme) = (&self.state, &self.theme);
        self.terminal.draw(|frame| view::view(state, theme, frame)).expect("draw");
    }

    /// One key, handled and drawn: what the admin waits for.
    fn key(&mut self, code: KeyCode) -> Duration {
        let started = Instant::now();
        let modifiers = if matches!(code, KeyCode::Char(c) if c.is_ascii_uppercase()) {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        let event = KeyEvent::new(code, modifiers);
        if let Some(msg) = keymap::message_for(self.state.panes.specs(), self.state.focus(), event) {
            update(&mut self.state, msg);
        }
        self.draw();
        started.elapsed()
    }

    fn keys(&mut self, codes: impl IntoIterator<Item = KeyCode>) -> (Duration, usize) {
        let times: Vec<Duration> = codes.into_iter().map(|c| self.key(c)).collect();
        (times.iter().max().copied().unwrap_or_default(), times.len())
    }
}

/// Opens the TUI on a domain of `gpos` GPOs as `gpvault --profile scale` would, and measures.
pub fn measure(gpos: usize) -> Figures {
    let profile = Profile {
        server: Some("127.0.0.1".into()),
        domain: Some("scale.example.test".into()),
        user: Some("Administrator".into()),
        ..Default::default()
    };
    let target = DomainTarget::resolve(Some("scale"), &profile).expect("a target");
    let domains = vec![DomainNode::for_target(target, PasswordSource::Environment)];
    let mut state = AppState::new(domains, None, Instant::now());
    update(&mut state, Msg::Resize(WIDTH, HEIGHT));
    let mut bench = Bench {
        state,
        terminal: Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("a test terminal"),
        theme: Theme::built_in("default"),
    };
    open(&mut bench.state, Some(0));
    bench.draw();
    let estate = Box::new(synthetic_estate(gpos));

    let mut figures = Figures { gpos, ..Default::default() };
    let started = Instant::now();
    let info = ConnectionInfo { ldap: "ldaps://127.0.0.1:636".into(), sysvol: "smb://127.0.0.1/sysvol".into() };
    update(&mut bench.state, Msg::Job(JobEvent::Connected { domain: 0, attempt: 1, result: Ok((estate, info)) }));
    bench.draw();
    figures.first_frame = started.elapsed();

    let (slowest, n) = bench.keys([KeyCode::Char('j'); 50]);
    figures.keys.push(("move down", slowest, n));
    let (slowest, n) = bench.keys([KeyCode::PageDown; 10]);
    figures.keys.push(("page down", slowest, n));
    let (slowest, n) = bench.keys([KeyCode::Char('G'), KeyCode::Char('g')]);
    figures.keys.push(("bottom, then top", slowest, n));
    // Collapse and expand the folder of all GPOs: every row rebuilt.
    let (slowest, n) = bench.keys([KeyCode::Char('j'), KeyCode::Enter, KeyCode::Enter]);
    figures.keys.push(("fold, unfold all GPOs", slowest, n));
    let (slowest, n) = bench.keys([KeyCode::Char('/')]);
    figures.keys.push(("open the filter", slowest, n));
    let (slowest, n) = bench.keys("bulk gpo 12".chars().map(KeyCode::Char));
    figures.keys.push(("filter keystroke", slowest, n));
    let (slowest, n) = bench.keys([KeyCode::Backspace; 4]);
    figures.keys.push(("filter backspace", slowest, n));
    let (slowest, n) = bench.keys([KeyCode::Down, KeyCode::Down, KeyCode::Enter, KeyCode::Char('n')]);
    figures.keys.push(("next match", slowest, n));
    let (slowest, n) = bench.keys([KeyCode::Esc]);
    figures.keys.push(("clear the filter", slowest, n));
    figures.peak_kib = peak_memory_kib();
    figures
}

/// The process's peak resident memory (VmHWM), in KiB.
pub fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_run_measures_everything() {
        let figures = measure(500);
        assert_eq!(figures.gpos, 500);
        assert!(figures.first_frame > Duration::ZERO);
        assert_eq!(figures.keys.len(), 9);
        assert!(figures.keys.iter().all(|(_, d, n)| *n > 0 && *d > Duration::ZERO));
        let estate = synthetic_estate(500);
        let links: usize = estate.containers.iter().map(|c| c.links.len()).sum();
        assert_eq!(links, 167, "every third GPO is linked once");
        assert_eq!(estate.containers.len(), 11);
    }
}
