//! A TCP relay in front of a lab DC port that a test can hold silent, cut, or take down, to
//! play a DC (or only its SMB side) going away in the middle of a run.
//!
//! Shared by the library's SMB lab tests (`src/sysvol/smb/lab_tests.rs`, through `#[path]`) and
//! the end-to-end fault tests (tests/faults_e2e.rs): it names nothing of gpvault.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// What a test throws at one or more proxies: proxies sharing a switch go down together (a
/// whole DC: its LDAP and SMB ports), one with its own switch alone (only the SMB side).
#[derive(Default)]
pub struct Switch {
    /// While set, bytes are held in both directions (the server seems alive but silent).
    pub frozen: AtomicBool,
    /// While set, new connections are accepted and closed at once (the server process gone).
    pub refusing: AtomicBool,
    /// Bytes relayed from the server so far.
    pub relayed: AtomicU64,
    /// Go down once `relayed` reaches this (0: never).
    down_after: AtomicU64,
    /// Cut the open connections once `relayed` reaches this (0: never); new ones still relay.
    cut_after: AtomicU64,
    /// Connections cut so far (by `cut`, `down` or `cut_after`).
    pub cuts_made: AtomicU64,
    cuts: tokio::sync::watch::Sender<u64>,
}

#[allow(dead_code)]
impl Switch {
    pub fn new() -> Arc<Switch> {
        Arc::new(Switch::default())
    }

    /// Closes every connection open now.
    pub fn cut(&self) {
        self.cuts_made.fetch_add(1, Ordering::AcqRel);
        self.cuts.send_modify(|n| *n += 1);
    }

    /// The server goes away: open connections close, new ones are closed at once.
    pub fn down(&self) {
        self.refusing.store(true, Ordering::Release);
        self.cut();
    }

    /// The server is back.
    pub fn up(&self) {
        self.down_after.store(0, Ordering::Release);
        self.refusing.store(false, Ordering::Release);
    }

    pub fn is_down(&self) -> bool {
        self.refusing.load(Ordering::Acquire)
    }

    /// Goes down once `bytes` more have come from the server: somewhere in the middle of a run
    /// whose whole traffic was measured before.
    pub fn down_after(&self, bytes: u64) {
        let now = self.relayed.load(Ordering::Acquire);
        self.down_after.store(now + bytes.max(1), Ordering::Release);
    }

    /// Closes the open connections once `bytes` more have come from the server, and only then:
    /// the server dropping its clients once in the middle of a run, staying up.
    pub fn cut_after(&self, bytes: u64) {
        let now = self.relayed.load(Ordering::Acquire);
        self.cut_after.store(now + bytes.max(1), Ordering::Release);
    }

    fn count(&self, from_server: usize) {
        let total = self.relayed.fetch_add(from_server as u64, Ordering::AcqRel) + from_server as u64;
        let cut_at = self.cut_after.load(Ordering::Acquire);
        if cut_at != 0
            && total >= cut_at
            && self.cut_after.compare_exchange(cut_at, 0, Ordering::AcqRel, Ordering::Acquire).is_ok()
        {
            self.cut();
        }
        let limit = self.down_after.load(Ordering::Acquire);
        if limit != 0 && total >= limit && !self.is_down() {
            self.down();
        }
    }
}

/// Relays every connection made to `addr` to the target. Runs on the runtime it was started on.
pub struct Proxy {
    pub addr: SocketAddr,
    pub switch: Arc<Switch>,
    /// Connections accepted so far (dials, refused ones included).
    pub accepted: Arc<AtomicUsize>,
}

#[allow(dead_code)]
impl Proxy {
    /// Listens on `listen` (`ip:port`, port 0 for any) and relays to `target` (`ip:port`).
    pub async fn start(listen: &str, target: &str) -> Proxy {
        Proxy::start_switched(listen, target, Switch::new()).await
    }

    /// As [`start`](Self::start), under a switch shared with other proxies.
    pub async fn start_switched(listen: &str, target: &str, switch: Arc<Switch>) -> Proxy {
        let listener =
            TcpListener::bind(listen).await.unwrap_or_else(|e| panic!("proxy cannot listen on {listen}: {e}"));
        let addr = listener.local_addr().expect("a bound listener has an address");
        let target = target.to_string();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (control, count) = (Arc::clone(&switch), Arc::clone(&accepted));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::AcqRel);
                if control.refusing.load(Ordering::Acquire) {
                    continue;
                }
                let (target, control) = (target.clone(), Arc::clone(&control));
                let mut cut = control.cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(upstream) = TcpStream::connect(&target).await else { return };
                    let (client_read, client_write) = client.into_split();
                    let (upstream_read, upstream_write) = upstream.into_split();
                    // Whichever ends first drops all four halves: both sockets close.
                    tokio::select! {
                        _ = relay(client_read, upstream_write, &control, false) => {}
                        _ = relay(upstream_read, client_write, &control, true) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy { addr, switch, accepted }
    }

    /// Closes every connection open now.
    pub fn cut(&self) {
        self.switch.cut();
    }
}

async fn relay(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, switch: &Switch, from_server: bool) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while switch.frozen.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        if from_server {
            switch.count(n);
        }
    }
}
