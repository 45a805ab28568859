//! A TCP relay in front of a lab DC port that a test can hold silent, cut, or take down, to
//! play a DC (or only its SMB side) going away in the middle of a run.
//!
//! Shared by the library's SMB lab tests (`src/sysvol/smb/lab_tests.rs`, through `#[path]`) and
//! the end-to-end fault tests (tests/faults_e2e.rs): it names nothing of gpvault.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// Relays every connection made to `addr` to the target. Runs on the runtime it was started on.
pub struct Proxy {
    pub addr: SocketAddr,
    /// While set, bytes are held in both directions (the server seems alive but silent).
    pub frozen: Arc<AtomicBool>,
    /// While set, new connections are accepted and closed at once (the server process gone).
    pub refusing: Arc<AtomicBool>,
    /// Connections accepted so far (dials, refused ones included).
    pub accepted: Arc<AtomicUsize>,
    cuts: tokio::sync::watch::Sender<u64>,
}

#[allow(dead_code)]
impl Proxy {
    /// Listens on `listen` (`ip:port`, port 0 for any) and relays to `target` (`ip:port`).
    pub async fn start(listen: &str, target: &str) -> Proxy {
        let listener =
            TcpListener::bind(listen).await.unwrap_or_else(|e| panic!("proxy cannot listen on {listen}: {e}"));
        let addr = listener.local_addr().expect("a bound listener has an address");
        let target = target.to_string();
        let frozen = Arc::new(AtomicBool::new(false));
        let (cuts, cut_rx) = tokio::sync::watch::channel(0u64);
        let refusing = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let held = Arc::clone(&frozen);
        let (refuse, count) = (Arc::clone(&refusing), Arc::clone(&accepted));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::AcqRel);
                if refuse.load(Ordering::Acquire) {
                    continue;
                }
                let (target, frozen, mut cut) = (target.clone(), Arc::clone(&held), cut_rx.clone());
                cut.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(upstream) = TcpStream::connect(&target).await else { return };
                    let (client_read, client_write) = client.into_split();
                    let (upstream_read, upstream_write) = upstream.into_split();
                    // Whichever ends first drops all four halves: both sockets close.
                    tokio::select! {
                        _ = relay(client_read, upstream_write, Arc::clone(&frozen)) => {}
                        _ = relay(upstream_read, client_write, frozen) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy { addr, frozen, refusing, accepted, cuts }
    }

    /// Closes every connection open now.
    pub fn cut(&self) {
        self.cuts.send_modify(|n| *n += 1);
    }

    /// The server goes away: open connections close, new ones are closed at once.
    pub fn down(&self) {
        self.refusing.store(true, Ordering::Release);
        self.cut();
    }

    /// The server is back.
    pub fn up(&self) {
        self.refusing.store(false, Ordering::Release);
    }
}

async fn relay(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, frozen: Arc<AtomicBool>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while frozen.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
