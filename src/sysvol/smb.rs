//! SYSVOL read over SMB2/3 with the pure-Rust `smb2` crate (pinned =0.39.0).
//!
//! Why smb2: libsmbclient (through `pavao`) serialises every call behind one process-wide
//! lock and waits out each round trip, so it is no faster than `smbclient`; smb2 multiplexes
//! many requests on one signed session and sends compounds. Measured in LAB-NOTES.md.
//!
//! Why these calls: a GPO is mostly small folders, so round trips decide the time.
//! - a folder is listed with one compound CREATE + QUERY_DIRECTORY + CLOSE (`wire.rs`);
//!   `SmbClient::list_directory` costs 4 round trips and returns `.` and `..`;
//! - a file is read with `Tree::read_file_compound_sized` using the size from the listing
//!   (one round trip, credits charged for the real size), falling back to
//!   `Tree::read_file_pipelined` on `Error::FileTooLargeForSingleRead`;
//! - `SmbClient` methods take `&mut self` (one request at a time), so requests go through
//!   clones of `client.connection()` calling `Tree` methods, many tasks per connection, over
//!   a small pool of connections. The client stays alive in the pool beside its clones.
//!   Clones bypass smb2's reconnect and DFS-link handling: the pool replaces a dead
//!   connection itself, and SYSVOL has no DFS links inside the share.
//! - each connection lives on its own thread with a current-thread tokio runtime, and a GPO
//!   read runs whole on its connection's thread. On the app's multi-threaded runtime smb2's
//!   receiver and writer tasks woke callers on other threads for every response: half our
//!   CPU went to futex wake-ups (1,086 GPOs: 1.8 s and 1.3 CPU-s, against 1.6 s and 0.8).
//!
//! Everything sits behind the `Sysvol` trait, so a libsmbclient implementation can replace
//! this one without touching the callers.

mod wire;
mod write;

#[cfg(test)]
mod lab_tests;
#[cfg(test)]
mod write_lab_tests;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::stream::{FuturesUnordered, StreamExt};
use smb2::client::connection::Connection;
use smb2::{ClientConfig, ErrorKind, KerberosCredentials, Session, SmbClient, Tree};

use super::{EntryKind, FolderEntry, FolderSecurity, GpoFolder, PolicyPath, Sysvol, SysvolError, split_unc};
use crate::kerberos::TicketCache;
use crate::model::{GpoId, SecurityDescriptor};
use wire::Child;

/// How hard `SmbSysvol` drives the server, and how long it waits for it.
#[derive(Clone, Debug)]
pub struct SmbTuning {
    /// SMB connections (each its own TCP socket and session). 2–4 saturate a Samba DC.
    pub connections: usize,
    /// Requests one GPO read keeps in flight (listings and file reads).
    pub requests_per_gpo: usize,
    /// How long one request may go unanswered before the GPO read fails.
    pub request_timeout: Duration,
    /// Budget for the TCP connect to the server.
    pub connect_timeout: Duration,
}

impl Default for SmbTuning {
    fn default() -> Self {
        SmbTuning {
            connections: 3,
            requests_per_gpo: 16,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Where and as whom to sign in; kept to dial replacement connections.
struct Login {
    /// As the caller gave it (`127.0.0.1`, `dc1.corp.example.test`), for messages and paths.
    server: String,
    /// `host:port` to dial.
    addr: String,
    share: String,
    domain: String,
    user: String,
    secret: Secret,
}

/// What a session proves who it is with; kept to dial again after a dropped connection.
enum Secret {
    /// NTLM; wiped with the pool.
    Password(crate::config::Password),
    /// Kerberos from the admin's ticket cache (read again at each dial: kinit may renew it).
    Ticket(TicketLogon),
}

struct TicketLogon {
    cache: TicketCache,
    /// The DC's DNS host name: the service ticket is for cifs/<it>, whatever address is dialled.
    dc_host: String,
    /// Where the KDC answers (a DC is its own domain's KDC), `host` or `host:port`.
    kdc: String,
}

/// One signed session with the share connected. Shared by every GPO read using it.
struct Link {
    /// Never called (its methods take `&mut self`); held so the connection clones below are
    /// used under a live client, as smb2 expects. A Kerberos link has none: smb2's client
    /// signs in with NTLM only, so that link is built from a connection and a session.
    _client: Option<SmbClient>,
    conn: Connection,
    tree: Tree,
    /// Set when a request on it timed out or found it lost: the next GPO read dials anew.
    retired: AtomicBool,
    /// Set when the server closed it (as opposed to going silent).
    lost: AtomicBool,
}

impl Link {
    fn usable(&self) -> bool {
        !self.retired.load(Ordering::Acquire) && !self.conn.is_disconnected()
    }

    /// The connection was closed under us: worth dialling again at once.
    fn dropped(&self) -> bool {
        self.lost.load(Ordering::Acquire) || self.conn.is_disconnected()
    }
}

/// A pool position, with the thread its connection lives on; its link is replaced when it dies.
struct Slot {
    io: IoThread,
    state: tokio::sync::Mutex<SlotState>,
    /// GPO reads currently using this slot, to spread new ones evenly.
    active: AtomicUsize,
}

#[derive(Default)]
struct SlotState {
    link: Option<Arc<Link>>,
    /// The last failed dial: repeated to the reads that come within DIAL_COOLDOWN, so a
    /// server gone silent costs one connect timeout per slot, not one per GPO.
    failed_dial: Option<(Instant, SysvolError)>,
}

const DIAL_COOLDOWN: Duration = Duration::from_secs(5);

/// A thread running a current-thread runtime until the pool is dropped.
struct IoThread {
    runtime: tokio::runtime::Handle,
    /// Dropped with the pool: the thread's `block_on` returns and its runtime shuts down,
    /// aborting whatever still runs there and closing its sockets.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl IoThread {
    fn start(server: &str, index: usize) -> Result<IoThread, SysvolError> {
        let failed = |e: std::io::Error| SysvolError::Connect {
            server: server.to_string(),
            reason: format!("cannot start a thread for the connection: {e}"),
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(failed)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(format!("smb-{server}-{index}"))
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(failed)?;
        Ok(IoThread { runtime: handle, _stop: stop })
    }

    /// Runs `work` on this thread; dropping the returned future aborts it there.
    async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, SysvolError>> + Send + 'static,
    ) -> Result<T, SysvolError> {
        struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);
        impl<T> Drop for AbortOnDrop<T> {
            fn drop(&mut self) {
                self.0.abort();
            }
        }
        let mut task = AbortOnDrop(self.runtime.spawn(work));
        match (&mut task.0).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(SysvolError::Io { path: String::new(), reason: format!("SMB work was cancelled: {e}") }),
        }
    }
}

/// Marks a slot busy for the duration of one GPO read.
struct SlotLease {
    pool: Arc<Pool>,
    index: usize,
}

impl SlotLease {
    fn slot(&self) -> &Slot {
        &self.pool.slots[self.index]
    }
}

impl Drop for SlotLease {
    fn drop(&mut self) {
        self.slot().active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// SYSVOL read over SMB from one domain controller, through a small pool of connections.
/// `&self` methods, `Send + Sync`: share it (in an `Arc`) between many tasks.
pub struct SmbSysvol {
    pool: Arc<Pool>,
}

/// Everything behind `SmbSysvol`, shared with the work running on the I/O threads.
struct Pool {
    login: Login,
    tuning: SmbTuning,
    slots: Vec<Slot>,
    rotation: AtomicUsize,
    /// Share-relative path of the Policies folder, found on first need.
    policies: tokio::sync::OnceCell<String>,
}

impl std::fmt::Debug for SmbSysvol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmbSysvol")
            .field("at", &self.describe())
            .field("user", &format_args!("{}\\{}", self.pool.login.domain, self.pool.login.user))
            .field("tuning", &self.pool.tuning)
            .finish_non_exhaustive()
    }
}

/// Why one request failed: the server's answer, or no answer in time.
enum Failure {
    Smb(smb2::Error),
    TimedOut(Duration),
}

/// What one job of a GPO read produced.
enum Done {
    /// `sd`: the folder's security descriptor, when asked for.
    Listed {
        rel: String,
        children: Vec<Child>,
        sd: Option<Vec<u8>>,
    },
    Read {
        rel: String,
        bytes: Vec<u8>,
        sd: Option<Vec<u8>>,
    },
}

type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<Done, (String, Failure)>> + Send + 'a>>;

/// `server` as a dial address: port 445 unless one is given.
fn dial_addr(server: &str) -> String {
    if server.parse::<std::net::SocketAddr>().is_ok() {
        return server.to_string();
    }
    if let Ok(v6) = server.trim_start_matches('[').trim_end_matches(']').parse::<std::net::Ipv6Addr>() {
        return format!("[{v6}]:445");
    }
    match server.rsplit_once(':') {
        Some((_, port)) if port.parse::<u16>().is_ok() => server.to_string(),
        _ => format!("{server}:445"),
    }
}

/// A share that demands encryption gets it from the session's keys, as `SmbClient` does for
/// the shares it connects.
fn encrypt_if_share_asks(conn: &mut Connection, session: &Session, tree: &Tree) {
    if !tree.encrypt_data || conn.should_encrypt() {
        return;
    }
    if let (Some(encryption), Some(decryption)) = (&session.encryption_key, &session.decryption_key) {
        let cipher = conn.params().and_then(|p| p.cipher).unwrap_or(smb2::crypto::encryption::Cipher::Aes128Ccm);
        conn.activate_encryption(encryption.clone(), decryption.clone(), cipher);
    }
}

/// `cache` with a cifs/`dc_host` service ticket in it when the system's GSSAPI can get one (see
/// `kerberos::fetch_service_ticket`); as it was when not, leaving smb2 its own TGS exchange.
async fn with_cifs_ticket(cache: TicketCache, dc_host: &str) -> Result<TicketCache, crate::kerberos::TicketError> {
    if cache.has_service_ticket("cifs", dc_host) {
        return Ok(cache);
    }
    let host = dc_host.to_string();
    match tokio::task::spawn_blocking(move || crate::kerberos::fetch_service_ticket("cifs", &host)).await {
        Ok(Ok(())) => cache.reload(),
        // smb2's own TGS exchange then says what is wrong, in more words.
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "GSSAPI could not fetch the cifs ticket");
            Ok(cache)
        }
        Err(e) => {
            tracing::debug!(error = %e, "fetching the cifs ticket did not finish");
            Ok(cache)
        }
    }
}

/// What to do about a KDC refusal smb2 reports as `KRB-ERROR code N`. smb2 asks the KDC for a
/// forwardable, renewable service ticket, which a KDC refuses (KDC_ERR_BADOPTION, 13) when the
/// ticket-granting ticket is not forwardable: plain `kinit` without `forwardable = true`.
fn ticket_hint(error: &str) -> &'static str {
    if error.contains("KRB-ERROR code 13 ") || error.ends_with("KRB-ERROR code 13") {
        "; the ticket is not forwardable: get one with kinit -f"
    } else if error.contains("KRB-ERROR code 32 ") {
        "; the ticket has expired: renew it with kinit"
    } else if error.contains("KRB-ERROR code 7 ") {
        "; the KDC does not know that service name: check the DC's host name"
    } else {
        ""
    }
}

/// Where the KDC of the DC at `server` answers: its host, port 88 (smb2 adds it to a bare host).
fn kdc_addr(server: &str) -> String {
    let host = host_of(server);
    if host.contains(':') { format!("[{host}]:88") } else { host.to_string() }
}

/// The host part of `host`, `host:port`, `[v6]:port` or `v6`.
fn host_of(server: &str) -> &str {
    if let Some(rest) = server.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match server.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() && !host.contains(':') => host,
        _ => server,
    }
}

/// `SysvolError` is not `Clone` (other implementations may carry sources); this one's are plain.
fn same_error(error: &SysvolError) -> SysvolError {
    match error {
        SysvolError::GpoFolderMissing { gpo, path } => SysvolError::GpoFolderMissing { gpo: *gpo, path: path.clone() },
        SysvolError::AccessDenied { path } => SysvolError::AccessDenied { path: path.clone() },
        SysvolError::Connect { server, reason } => {
            SysvolError::Connect { server: server.clone(), reason: reason.clone() }
        }
        SysvolError::Logon { server, reason } => SysvolError::Logon { server: server.clone(), reason: reason.clone() },
        SysvolError::TicketLogon { server, reason } => {
            SysvolError::TicketLogon { server: server.clone(), reason: reason.clone() }
        }
        SysvolError::Io { path, reason } => SysvolError::Io { path: path.clone(), reason: reason.clone() },
        // Dials fail with the variants above; anything else keeps its text.
        other => SysvolError::Io { path: String::new(), reason: other.to_string() },
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() { name.to_string() } else { format!("{parent}/{name}") }
}

impl SmbSysvol {
    /// Signs in to `share` on `server` (an IP or host name, optionally `:port`) as
    /// `domain\user` with NTLM, over `connections` connections opened now.
    pub async fn connect(
        server: &str,
        share: &str,
        domain: &str,
        user: &str,
        password: &str,
        connections: usize,
    ) -> Result<Self, SysvolError> {
        let tuning = SmbTuning { connections, ..SmbTuning::default() };
        Self::connect_tuned(server, share, domain, user, password, tuning).await
    }

    /// [`connect`](Self::connect) with every knob of [`SmbTuning`].
    pub async fn connect_tuned(
        server: &str,
        share: &str,
        domain: &str,
        user: &str,
        password: &str,
        tuning: SmbTuning,
    ) -> Result<Self, SysvolError> {
        let secret = Secret::Password(crate::config::Password::new(password.to_string()));
        Self::connect_as(server, share, domain, user, secret, tuning).await
    }

    /// Signs in to `share` on `server` (an IP or host name, optionally `:port`) with Kerberos,
    /// from the admin's ticket cache: no password. `dc_host` is the DC's DNS host name (the
    /// service ticket is for cifs/`dc_host`; it need not resolve: `server` is what is dialled),
    /// and the KDC is asked at `server`'s host, since a DC is its domain's KDC.
    pub async fn connect_kerberos(
        server: &str,
        share: &str,
        dc_host: &str,
        ticket: TicketCache,
        tuning: SmbTuning,
    ) -> Result<Self, SysvolError> {
        let domain = ticket.realm.to_ascii_lowercase();
        let user = ticket.account();
        let kdc = kdc_addr(server);
        // Once here, not in each connection's dial: they would all fetch at once.
        let ticket = with_cifs_ticket(ticket, dc_host)
            .await
            .map_err(|e| SysvolError::TicketLogon { server: server.to_string(), reason: e.to_string() })?;
        let secret = Secret::Ticket(TicketLogon { cache: ticket, dc_host: dc_host.to_string(), kdc });
        Self::connect_as(server, share, &domain, &user, secret, tuning).await
    }

    async fn connect_as(
        server: &str,
        share: &str,
        domain: &str,
        user: &str,
        secret: Secret,
        mut tuning: SmbTuning,
    ) -> Result<Self, SysvolError> {
        tuning.connections = tuning.connections.max(1);
        tuning.requests_per_gpo = tuning.requests_per_gpo.max(1);
        let slots = (0..tuning.connections)
            .map(|i| {
                Ok(Slot {
                    io: IoThread::start(server, i)?,
                    state: tokio::sync::Mutex::default(),
                    active: AtomicUsize::new(0),
                })
            })
            .collect::<Result<Vec<_>, SysvolError>>()?;
        let pool = Arc::new(Pool {
            login: Login {
                server: server.to_string(),
                addr: dial_addr(server),
                share: share.to_string(),
                domain: domain.to_string(),
                user: user.to_string(),
                secret,
            },
            slots,
            tuning,
            rotation: AtomicUsize::new(0),
            policies: tokio::sync::OnceCell::new(),
        });
        // All dialled now, each on its own thread, so a wrong password or an unreachable
        // server shows at once.
        let dialled = futures::future::join_all(pool.slots.iter().map(|slot| {
            let pool = Arc::clone(&pool);
            slot.io.run(async move { pool.dial().await })
        }))
        .await;
        for (slot, link) in pool.slots.iter().zip(dialled) {
            slot.state.lock().await.link = Some(Arc::new(link?));
        }
        Ok(SmbSysvol { pool })
    }

    /// Leases a slot and runs `work` with it on the slot's thread.
    async fn on_some_connection<T, F>(&self, work: impl FnOnce(SlotLease) -> F) -> Result<T, SysvolError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, SysvolError>> + Send + 'static,
    {
        let lease = Pool::lease_slot(&self.pool);
        let io = &self.pool.slots[lease.index].io;
        io.run(work(lease)).await
    }
}

/// Whether a request may be sent again on a fresh connection after its connection dropped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Reads, and writes that leave the same result when repeated (a whole file, a descriptor).
    OnceOnNewLink,
    /// Creating a folder, renaming, deleting: the first attempt may have been carried out.
    Never,
}

impl SmbSysvol {
    /// Runs `work` on some connection with the share-relative path of `path` (below the
    /// Policies folder, found on first need). With `Retry::OnceOnNewLink`, a connection that
    /// drops under `work` is dialled anew and `work` runs once more before the call fails.
    async fn at_path<T, F, Fut>(&self, path: &PolicyPath, retry: Retry, work: F) -> Result<T, SysvolError>
    where
        T: Send + 'static,
        F: Fn(Arc<Pool>, Arc<Link>, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, SysvolError>> + Send + 'static,
    {
        let path = path.clone();
        self.on_some_connection(move |lease| async move {
            let pool = Arc::clone(&lease.pool);
            let attempt = |link: Arc<Link>| {
                let (pool, path) = (Arc::clone(&pool), &path);
                let work = &work;
                async move {
                    let full = join(pool.policies_path(&link).await?, path.as_str());
                    work(pool, link, full).await
                }
            };
            let result = if retry == Retry::OnceOnNewLink {
                pool.once_more_if_dropped(lease.slot(), attempt).await
            } else {
                attempt(pool.link(lease.slot()).await?).await
            };
            drop(lease);
            result
        })
        .await
    }
}

impl Pool {
    /// A failed write in SYSVOL's terms.
    fn write_failure_error(&self, path: &str, failure: Failure) -> SysvolError {
        let unc = self.unc(path);
        let Failure::Smb(e) = failure else { return self.failure_error(path, failure) };
        if let smb2::Error::Protocol { status: smb2::types::status::NtStatus::CANNOT_DELETE, .. } = &e {
            return SysvolError::WriteDenied { path: unc };
        }
        match e.kind() {
            ErrorKind::AccessDenied => SysvolError::WriteDenied { path: unc },
            ErrorKind::NotFound => SysvolError::NotFound { path: unc },
            ErrorKind::AlreadyExists => SysvolError::AlreadyExists { path: unc },
            ErrorKind::SharingViolation => SysvolError::InUse { path: unc },
            ErrorKind::InvalidName => SysvolError::InvalidPath { path: unc, reason: e.to_string() },
            ErrorKind::ConnectionLost | ErrorKind::SessionExpired | ErrorKind::TimedOut => {
                self.failure_error(path, Failure::Smb(e))
            }
            _ => SysvolError::WriteFailed { path: unc, reason: e.to_string() },
        }
    }

    /// `\\server\share\path` with backslashes, for messages.
    fn unc(&self, path: &str) -> String {
        let mut unc = format!(r"\\{}\{}", self.login.server, self.login.share);
        if !path.is_empty() {
            unc.push('\\');
            unc.push_str(&path.replace('/', "\\"));
        }
        unc
    }

    /// Opens a new connection: TCP, negotiate, session setup (NTLM or Kerberos, signed), tree
    /// connect.
    async fn dial(&self) -> Result<Link, SysvolError> {
        let login = &self.login;
        let budget = self.tuning.connect_timeout + self.tuning.request_timeout;
        let no_answer = || SysvolError::Connect {
            server: login.addr.clone(),
            reason: format!("no SMB answer within {} s", budget.as_secs()),
        };
        let (mut client, mut conn, session) = match &login.secret {
            Secret::Password(password) => {
                let client = tokio::time::timeout(budget, self.sign_in_with_password(password))
                    .await
                    .map_err(|_| no_answer())??;
                let conn = client.connection().clone();
                (Some(client), conn, None)
            }
            Secret::Ticket(ticket) => {
                let (conn, session) =
                    tokio::time::timeout(budget, self.sign_in_with_ticket(ticket)).await.map_err(|_| no_answer())??;
                (None, conn, Some(session))
            }
        };
        let connect_share = async {
            match (client.as_mut(), &session) {
                (Some(client), _) => client.connect_share(&login.share).await,
                (None, session) => {
                    let tree = Tree::connect(&mut conn, &login.share).await?;
                    if let Some(session) = session {
                        encrypt_if_share_asks(&mut conn, session, &tree);
                    }
                    Ok(tree)
                }
            }
        };
        let tree = match tokio::time::timeout(self.tuning.request_timeout, connect_share).await {
            Err(_) => {
                return Err(SysvolError::Connect {
                    server: login.addr.clone(),
                    reason: format!(
                        "connecting share {} got no answer within {} s",
                        login.share,
                        self.tuning.request_timeout.as_secs()
                    ),
                });
            }
            Ok(Err(e)) => return Err(self.share_error(e)),
            Ok(Ok(tree)) => tree,
        };
        Ok(Link { _client: client, conn, tree, retired: AtomicBool::new(false), lost: AtomicBool::new(false) })
    }

    async fn sign_in_with_password(&self, password: &crate::config::Password) -> Result<SmbClient, SysvolError> {
        let login = &self.login;
        let config = ClientConfig {
            addr: login.addr.clone(),
            timeout: self.tuning.connect_timeout,
            username: login.user.clone(),
            // smb2 keeps this copy inside its client, beyond our reach to wipe.
            password: password.expose().to_string(),
            domain: login.domain.clone(),
            // The pool replaces dead links itself; a revival under live clones would leave
            // their Tree pinned to the dead session anyway.
            auto_reconnect: false,
            // GPO files are small and the DC is on the LAN: LZ4 would only cost CPU.
            compression: false,
            response_timeout: Some(self.tuning.request_timeout),
            ..ClientConfig::default()
        };
        SmbClient::connect(config).await.map_err(|e| self.session_error(e))
    }

    /// What `SmbClient::connect` does, with smb2's Kerberos session setup from the ticket
    /// cache in place of NTLM: a cached cifs/ ticket, or the TGT and one TGS exchange.
    async fn sign_in_with_ticket(&self, ticket: &TicketLogon) -> Result<(Connection, Session), SysvolError> {
        let login = &self.login;
        let refused = |reason: String| SysvolError::TicketLogon { server: login.server.clone(), reason };
        // Read again: a long run outlives a ticket, and kinit may have renewed it meanwhile.
        let cache = ticket.cache.reload().map_err(|e| refused(e.to_string()))?;
        let cache = with_cifs_ticket(cache, &ticket.dc_host).await.map_err(|e| refused(e.to_string()))?;
        let mut conn =
            Connection::connect(&login.addr, self.tuning.connect_timeout).await.map_err(|e| self.session_error(e))?;
        conn.set_compression_requested(false);
        conn.set_response_timeout(Some(self.tuning.request_timeout));
        conn.negotiate().await.map_err(|e| self.session_error(e))?;
        let credentials = KerberosCredentials {
            username: cache.account(),
            password: String::new(),
            realm: cache.realm.clone(),
            kdc_address: ticket.kdc.clone(),
        };
        let session = Session::setup_kerberos_from_ccache(&mut conn, &credentials, &ticket.dc_host, cache.ccache())
            .await
            .map_err(|e| match (&e, e.kind()) {
                (smb2::Error::ConnectFailed { .. }, _) | (_, ErrorKind::ConnectionLost) => self.session_error(e),
                _ => refused(format!(
                    "{e} (ticket of {} for cifs/{}, KDC {}){}",
                    cache.principal(),
                    ticket.dc_host,
                    ticket.kdc,
                    ticket_hint(&e.to_string())
                )),
            })?;
        Ok((conn, session))
    }

    fn session_error(&self, e: smb2::Error) -> SysvolError {
        let login = &self.login;
        match (&e, e.kind()) {
            (smb2::Error::Protocol { status, .. }, ErrorKind::AuthRequired | ErrorKind::AccessDenied) => {
                SysvolError::Logon {
                    server: login.server.clone(),
                    reason: format!("the server refused {}\\{} ({status})", login.domain, login.user),
                }
            }
            (_, ErrorKind::AuthRequired | ErrorKind::GuestSessionRefused) => {
                SysvolError::Logon { server: login.server.clone(), reason: e.to_string() }
            }
            (smb2::Error::ConnectFailed { attempts, .. }, _) if !attempts.is_empty() => SysvolError::Connect {
                server: login.addr.clone(),
                reason: attempts.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            },
            _ => SysvolError::Connect {
                server: login.addr.clone(),
                reason: format!("{e} (while negotiating SMB and signing in)"),
            },
        }
    }

    fn share_error(&self, e: smb2::Error) -> SysvolError {
        match e.kind() {
            ErrorKind::AccessDenied => SysvolError::AccessDenied { path: self.unc("") },
            ErrorKind::NotFound => SysvolError::Connect {
                server: self.login.addr.clone(),
                reason: format!("the server has no share named {} ({e})", self.login.share),
            },
            _ => SysvolError::Connect {
                server: self.login.addr.clone(),
                reason: format!("connecting share {}: {e}", self.login.share),
            },
        }
    }

    /// Runs `attempt` on the slot's link; if that link dropped under it (the server closed
    /// the connection, not a timeout: a silent server would only be waited on twice), dials
    /// a new one and runs `attempt` once more before giving up.
    async fn once_more_if_dropped<T, Fut>(
        &self,
        slot: &Slot,
        attempt: impl Fn(Arc<Link>) -> Fut,
    ) -> Result<T, SysvolError>
    where
        Fut: Future<Output = Result<T, SysvolError>>,
    {
        let link = self.link(slot).await?;
        match attempt(Arc::clone(&link)).await {
            Err(first) if link.dropped() => {
                tracing::debug!(server = %self.login.server, error = %first, "SMB connection dropped; dialling again once");
                // A failed dial says more than the lost request (the server is gone, or refuses).
                let fresh = self.link(slot).await?;
                attempt(fresh).await
            }
            other => other,
        }
    }

    /// The least busy slot (ties broken round-robin), marked busy until the lease drops.
    fn lease_slot(pool: &Arc<Pool>) -> SlotLease {
        let n = pool.slots.len();
        let start = pool.rotation.fetch_add(1, Ordering::Relaxed) % n;
        let best = (0..n)
            .map(|i| (start + i) % n)
            .min_by_key(|&i| pool.slots[i].active.load(Ordering::Acquire))
            .unwrap_or(start);
        pool.slots[best].active.fetch_add(1, Ordering::AcqRel);
        SlotLease { pool: Arc::clone(pool), index: best }
    }

    /// The slot's link, dialling a replacement if the last one died.
    async fn link(&self, slot: &Slot) -> Result<Arc<Link>, SysvolError> {
        let mut state = slot.state.lock().await;
        if let Some(link) = state.link.as_ref().filter(|l| l.usable()) {
            return Ok(Arc::clone(link));
        }
        if let Some((at, error)) = &state.failed_dial
            && at.elapsed() < DIAL_COOLDOWN
        {
            return Err(same_error(error));
        }
        // The old link, if any, lives on in the Arcs of reads still finishing on it.
        match self.dial().await {
            Ok(link) => {
                let fresh = Arc::new(link);
                *state = SlotState { link: Some(Arc::clone(&fresh)), failed_dial: None };
                Ok(fresh)
            }
            Err(error) => {
                state.failed_dial = Some((Instant::now(), same_error(&error)));
                Err(error)
            }
        }
    }

    /// Runs one request under the request timeout; a timeout retires the link.
    async fn timed<T>(
        link: &Link,
        limit: Duration,
        request: impl Future<Output = Result<T, smb2::Error>>,
    ) -> Result<T, Failure> {
        match tokio::time::timeout(limit, request).await {
            Ok(Ok(value)) => Ok(value),
            // smb2's own deadlines (response, send, credits) say the same as ours.
            Ok(Err(e)) if e.kind() == ErrorKind::TimedOut || matches!(e, smb2::Error::ServerUnresponsive { .. }) => {
                link.retired.store(true, Ordering::Release);
                Err(Failure::TimedOut(limit))
            }
            Ok(Err(e)) => {
                if e.kind() == ErrorKind::ConnectionLost {
                    link.retired.store(true, Ordering::Release);
                    link.lost.store(true, Ordering::Release);
                }
                Err(Failure::Smb(e))
            }
            Err(_) => {
                link.retired.store(true, Ordering::Release);
                Err(Failure::TimedOut(limit))
            }
        }
    }

    /// A missing path as `NotFound` (callers tell it from other failures), the rest as usual.
    fn not_found_or_failure(&self, full: &str, failure: Failure) -> SysvolError {
        match failure {
            Failure::Smb(e) if e.kind() == ErrorKind::NotFound => SysvolError::NotFound { path: self.unc(full) },
            other => self.failure_error(full, other),
        }
    }

    fn failure_error(&self, path: &str, failure: Failure) -> SysvolError {
        let unc = self.unc(path);
        match failure {
            Failure::TimedOut(limit) => SysvolError::Io {
                path: unc,
                reason: format!(
                    "no answer from {} within {} s; the connection is being replaced, retry",
                    self.login.server,
                    limit.as_secs()
                ),
            },
            Failure::Smb(e) => match e.kind() {
                ErrorKind::AccessDenied => SysvolError::AccessDenied { path: unc },
                ErrorKind::ConnectionLost | ErrorKind::SessionExpired => SysvolError::Io {
                    path: unc,
                    reason: format!("connection to {} lost ({e}); retry", self.login.server),
                },
                ErrorKind::NotFound => SysvolError::Io {
                    path: unc,
                    reason: format!("it vanished while being read; was the GPO being edited? ({e})"),
                },
                _ => SysvolError::Io { path: unc, reason: e.to_string() },
            },
        }
    }

    /// Share-relative path (`/`-separated) of a GPO folder.
    async fn gpo_path(&self, link: &Arc<Link>, gpo: &GpoId, unc_path: &str) -> Result<String, SysvolError> {
        match split_unc(unc_path) {
            Some((_, share, rest)) if !rest.is_empty() => {
                if !share.eq_ignore_ascii_case(&self.login.share) {
                    return Err(SysvolError::Io {
                        path: unc_path.to_string(),
                        reason: format!(
                            "the GPO folder is on share {share}, but this connection reads share {}",
                            self.login.share
                        ),
                    });
                }
                Ok(rest.trim_matches('\\').replace('\\', "/"))
            }
            _ => Ok(join(self.policies_path(link).await?, &gpo.to_string())),
        }
    }

    /// Finds `<domain>/Policies` under the share root, whatever its case.
    async fn policies_path(&self, link: &Arc<Link>) -> Result<&str, SysvolError> {
        self.policies.get_or_try_init(|| self.find_policies(link)).await.map(String::as_str)
    }

    async fn find_policies(&self, link: &Arc<Link>) -> Result<String, SysvolError> {
        let limit = self.tuning.request_timeout;
        let list = |path: String| {
            let link = Arc::clone(link);
            async move {
                let mut conn = link.conn.clone();
                Self::timed(&link, limit, wire::list_folder(&mut conn, &link.tree, &path))
                    .await
                    .map_err(|f| self.failure_error(&path, f))
            }
        };
        let policies_in = |children: &[Child]| {
            children.iter().find(|c| c.is_dir && c.name.eq_ignore_ascii_case("Policies")).map(|c| c.name.clone())
        };
        let root = list(String::new()).await?;
        if let Some(name) = policies_in(&root) {
            return Ok(name);
        }
        // Usually one folder per domain; prefer the one named like the sign-in domain.
        let domain = self.login.domain.to_lowercase();
        let mut candidates: Vec<&Child> = root.iter().filter(|c| c.is_dir).collect();
        candidates.sort_by_key(|c| {
            let name = c.name.to_lowercase();
            !(name == domain || name.starts_with(&format!("{domain}.")))
        });
        for candidate in candidates {
            if let Some(name) = policies_in(&list(candidate.name.clone()).await?) {
                return Ok(join(&candidate.name, &name));
            }
        }
        Err(SysvolError::Io {
            path: self.unc(""),
            reason: "no <domain>\\Policies folder in this share; is it the DC's SYSVOL share?".to_string(),
        })
    }

    /// A security descriptor the server sent for `full`.
    fn descriptor(&self, full: &str, bytes: &[u8]) -> Result<SecurityDescriptor, SysvolError> {
        SecurityDescriptor::from_bytes(bytes).map_err(|e| SysvolError::Io {
            path: self.unc(full),
            reason: format!("the server sent a security descriptor gpvault cannot read: {e}"),
        })
    }

    /// Reads the folder at `root` breadth-first: listings first, file reads alongside,
    /// at most `requests_per_gpo` in flight, all on one link. `with_security`: each item's
    /// security descriptor too, from the same compounds, by relative path ("" for `root`).
    async fn read_tree(
        &self,
        link: &Arc<Link>,
        gpo: &GpoId,
        root: &str,
        with_security: bool,
    ) -> Result<(GpoFolder, FolderSecurity), SysvolError> {
        let limit = self.tuning.request_timeout;
        let full = |rel: &str| join(root, rel);
        let list_job = |rel: String| -> JobFuture<'_> {
            let link = Arc::clone(link);
            let path = full(&rel);
            Box::pin(async move {
                let mut conn = link.conn.clone();
                let listed = async {
                    match with_security {
                        true => wire::list_folder_with_security(&mut conn, &link.tree, &path)
                            .await
                            .map(|(c, sd)| (c, Some(sd))),
                        false => wire::list_folder(&mut conn, &link.tree, &path).await.map(|c| (c, None)),
                    }
                };
                match Self::timed(&link, limit, listed).await {
                    Ok((children, sd)) => Ok(Done::Listed { rel, children, sd }),
                    Err(failure) => Err((rel, failure)),
                }
            })
        };
        let read_job = |rel: String, size: u64| -> JobFuture<'_> {
            let link = Arc::clone(link);
            let path = full(&rel);
            // A big file may legitimately take longer than one request's budget.
            let limit = limit * (1 + (size / (64 << 20)) as u32);
            Box::pin(async move {
                let mut conn = link.conn.clone();
                let read = async {
                    match with_security {
                        true => wire::read_file_with_security(&mut conn, &link.tree, &path, size)
                            .await
                            .map(|(b, sd)| (b, Some(sd))),
                        false => wire::read_file(&mut conn, &link.tree, &path, size).await.map(|b| (b, None)),
                    }
                };
                match Self::timed(&link, limit, read).await {
                    Ok((bytes, sd)) => Ok(Done::Read { rel, bytes, sd }),
                    Err(failure) => Err((rel, failure)),
                }
            })
        };

        let mut folder = GpoFolder::default();
        let mut security = FolderSecurity::new();
        let mut dirs_to_list: std::collections::VecDeque<String> = std::collections::VecDeque::new();
        let mut files_to_read: std::collections::VecDeque<(String, u64)> = std::collections::VecDeque::new();
        let mut running = FuturesUnordered::new();
        running.push(list_job(String::new()));
        while let Some(done) = running.next().await {
            match done {
                Ok(Done::Listed { rel, children, sd }) => {
                    if let Some(sd) = sd {
                        security.insert(rel.clone(), self.descriptor(&full(&rel), &sd)?);
                    }
                    for child in children {
                        let child_rel = join(&rel, &child.name);
                        if child.is_dir {
                            folder.entries.push(FolderEntry::Dir { rel_path: child_rel.clone() });
                            dirs_to_list.push_back(child_rel);
                        } else {
                            files_to_read.push_back((child_rel, child.size));
                        }
                    }
                }
                Ok(Done::Read { rel, bytes, sd }) => {
                    if let Some(sd) = sd {
                        security.insert(rel.clone(), self.descriptor(&full(&rel), &sd)?);
                    }
                    folder.entries.push(FolderEntry::File { rel_path: rel, bytes });
                }
                Err((rel, failure)) if rel.is_empty() => {
                    return Err(match failure {
                        Failure::Smb(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                            SysvolError::GpoFolderMissing { gpo: *gpo, path: self.unc(root) }
                        }
                        other => self.failure_error(root, other),
                    });
                }
                // Dropping `running` abandons the other requests; smb2 discards their answers.
                Err((rel, failure)) => return Err(self.failure_error(&full(&rel), failure)),
            }
            while running.len() < self.tuning.requests_per_gpo {
                if let Some(rel) = dirs_to_list.pop_front() {
                    running.push(list_job(rel));
                } else if let Some((rel, size)) = files_to_read.pop_front() {
                    running.push(read_job(rel, size));
                } else {
                    break;
                }
            }
        }
        folder.sort();
        Ok((folder, security))
    }
}

impl SmbSysvol {
    /// A GPO's folder, and its items' security descriptors when `with_security`.
    async fn read_folder(
        &self,
        gpo: &GpoId,
        unc_path: &str,
        with_security: bool,
    ) -> Result<(GpoFolder, FolderSecurity), SysvolError> {
        let (gpo, unc_path) = (*gpo, unc_path.to_string());
        self.on_some_connection(move |lease| async move {
            let pool = &lease.pool;
            let unc_path = &unc_path;
            pool.once_more_if_dropped(lease.slot(), |link| async move {
                let path = pool.gpo_path(&link, &gpo, unc_path).await?;
                pool.read_tree(&link, &gpo, &path, with_security).await
            })
            .await
        })
        .await
    }
}

#[async_trait]
impl Sysvol for SmbSysvol {
    async fn read_gpo_folder(&self, gpo: &GpoId, unc_path: &str) -> Result<GpoFolder, SysvolError> {
        Ok(self.read_folder(gpo, unc_path, false).await?.0)
    }

    async fn read_gpo_folder_with_security(
        &self,
        gpo: &GpoId,
        unc_path: &str,
    ) -> Result<(GpoFolder, Option<FolderSecurity>), SysvolError> {
        let (folder, security) = self.read_folder(gpo, unc_path, true).await?;
        Ok((folder, Some(security)))
    }

    /// One listing of the GPO folder and one read: what `gpo list` needs for GPT.INI.
    async fn read_gpo_file(&self, gpo: &GpoId, unc_path: &str, rel_path: &str) -> Result<Option<Vec<u8>>, SysvolError> {
        let (gpo, unc_path, wanted) = (*gpo, unc_path.to_string(), rel_path.to_string());
        self.on_some_connection(move |lease| async move {
            let pool = &lease.pool;
            let (unc_path, wanted) = (&unc_path, &wanted);
            pool.once_more_if_dropped(lease.slot(), |link| async move {
                let root = pool.gpo_path(&link, &gpo, unc_path).await?;
                let limit = pool.tuning.request_timeout;
                let mut conn = link.conn.clone();
                let children = match Pool::timed(&link, limit, wire::list_folder(&mut conn, &link.tree, &root)).await {
                    Ok(children) => children,
                    Err(Failure::Smb(e)) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                        return Err(SysvolError::GpoFolderMissing { gpo, path: pool.unc(&root) });
                    }
                    Err(failure) => return Err(pool.failure_error(&root, failure)),
                };
                // SMB names are case-insensitive (GPT.INI is gpt.ini on some DCs).
                let Some(file) = children.into_iter().find(|c| !c.is_dir && c.name.eq_ignore_ascii_case(wanted)) else {
                    return Ok(None);
                };
                let path = join(&root, &file.name);
                let bytes = Pool::timed(&link, limit, wire::read_file(&mut conn, &link.tree, &path, file.size))
                    .await
                    .map_err(|f| pool.failure_error(&path, f))?;
                Ok(Some(bytes))
            })
            .await
        })
        .await
    }

    async fn list_gpo_folders(&self) -> Result<Vec<String>, SysvolError> {
        Ok(self.list_policies_folders().await?.into_iter().filter(|n| n.starts_with('{')).collect())
    }

    async fn list_policies_folders(&self) -> Result<Vec<String>, SysvolError> {
        self.on_some_connection(|lease| async move {
            let pool = &lease.pool;
            pool.once_more_if_dropped(lease.slot(), |link| async move {
                let policies = pool.policies_path(&link).await?.to_string();
                let mut conn = link.conn.clone();
                let limit = pool.tuning.request_timeout;
                let children = Pool::timed(&link, limit, wire::list_folder(&mut conn, &link.tree, &policies))
                    .await
                    .map_err(|f| pool.failure_error(&policies, f))?;
                let mut names: Vec<String> = children.into_iter().filter(|c| c.is_dir).map(|c| c.name).collect();
                names.sort_by_key(|n| n.to_lowercase());
                Ok(names)
            })
            .await
        })
        .await
    }

    fn describe(&self) -> String {
        format!("smb://{}/{}", self.pool.login.server, self.pool.login.share)
    }

    async fn entry_kind(&self, path: &PolicyPath) -> Result<Option<EntryKind>, SysvolError> {
        self.at_path(path, Retry::OnceOnNewLink, |pool, link, full| async move {
            let mut conn = link.conn.clone();
            match Pool::timed(&link, pool.tuning.request_timeout, link.tree.stat(&mut conn, &full)).await {
                Ok(info) => Ok(Some(if info.is_directory { EntryKind::Folder } else { EntryKind::File })),
                Err(Failure::Smb(e)) if e.kind() == ErrorKind::NotFound => Ok(None),
                Err(failure) => Err(pool.failure_error(&full, failure)),
            }
        })
        .await
    }

    async fn list_folder(&self, path: &PolicyPath) -> Result<Vec<(String, EntryKind)>, SysvolError> {
        self.at_path(path, Retry::OnceOnNewLink, |pool, link, full| async move {
            let mut conn = link.conn.clone();
            let children =
                Pool::timed(&link, pool.tuning.request_timeout, wire::list_folder(&mut conn, &link.tree, &full))
                    .await
                    .map_err(|f| pool.not_found_or_failure(&full, f))?;
            let mut out: Vec<(String, EntryKind)> = children
                .into_iter()
                .map(|c| (c.name, if c.is_dir { EntryKind::Folder } else { EntryKind::File }))
                .collect();
            out.sort_by_key(|(name, _)| name.to_lowercase());
            Ok(out)
        })
        .await
    }

    async fn create_folder(&self, path: &PolicyPath) -> Result<(), SysvolError> {
        self.at_path(path, Retry::Never, |pool, link, full| async move {
            let mut conn = link.conn.clone();
            Pool::timed(&link, pool.tuning.request_timeout, link.tree.create_directory(&mut conn, &full))
                .await
                .map_err(|f| pool.write_failure_error(&full, f))
        })
        .await
    }

    async fn write_file(&self, path: &PolicyPath, bytes: &[u8]) -> Result<(), SysvolError> {
        let bytes = Arc::new(bytes.to_vec());
        self.at_path(path, Retry::OnceOnNewLink, move |pool, link, full| {
            let bytes = Arc::clone(&bytes);
            async move {
                let mut conn = link.conn.clone();
                let limit = pool.tuning.request_timeout * (1 + (bytes.len() / (64 << 20)) as u32);
                Pool::timed(&link, limit, link.tree.write_file(&mut conn, &full, &bytes))
                    .await
                    .map(drop)
                    .map_err(|f| pool.write_failure_error(&full, f))
            }
        })
        .await
    }

    async fn delete_file(&self, path: &PolicyPath) -> Result<(), SysvolError> {
        self.at_path(path, Retry::Never, |pool, link, full| async move {
            let mut conn = link.conn.clone();
            Pool::timed(&link, pool.tuning.request_timeout, write::delete_file(&mut conn, &link.tree, &full))
                .await
                .map_err(|f| pool.write_failure_error(&full, f))
        })
        .await
    }

    async fn delete_tree(&self, path: &PolicyPath) -> Result<(), SysvolError> {
        self.at_path(path, Retry::Never, |pool, link, full| async move {
            let mut conn = link.conn.clone();
            // A whole tree: a budget per request would be fairer, but GPO folders are small.
            let limit = pool.tuning.request_timeout * 4;
            Pool::timed(&link, limit, write::delete_tree(&mut conn, &link.tree, &full))
                .await
                .map_err(|f| pool.write_failure_error(&full, f))
        })
        .await
    }

    async fn rename(&self, from: &PolicyPath, to: &PolicyPath) -> Result<(), SysvolError> {
        let to = to.clone();
        self.at_path(from, Retry::Never, move |pool, link, full_from| {
            let to = to.clone();
            async move {
                let full_to = join(pool.policies_path(&link).await?, to.as_str());
                let mut conn = link.conn.clone();
                Pool::timed(&link, pool.tuning.request_timeout, link.tree.rename(&mut conn, &full_from, &full_to))
                    .await
                    .map_err(|f| match f {
                        Failure::Smb(e) if e.kind() == ErrorKind::AlreadyExists => {
                            SysvolError::AlreadyExists { path: pool.unc(&full_to) }
                        }
                        other => pool.write_failure_error(&full_from, other),
                    })
            }
        })
        .await
    }

    async fn read_security(&self, path: &PolicyPath) -> Result<SecurityDescriptor, SysvolError> {
        self.at_path(path, Retry::OnceOnNewLink, |pool, link, full| async move {
            let mut conn = link.conn.clone();
            let bytes =
                Pool::timed(&link, pool.tuning.request_timeout, write::read_security(&mut conn, &link.tree, &full))
                    .await
                    .map_err(|f| pool.not_found_or_failure(&full, f))?;
            pool.descriptor(&full, &bytes)
        })
        .await
    }

    async fn set_security(&self, path: &PolicyPath, sd: &SecurityDescriptor) -> Result<(), SysvolError> {
        let raw = Arc::new(sd.to_bytes().to_vec());
        self.at_path(path, Retry::OnceOnNewLink, move |pool, link, full| {
            let raw = Arc::clone(&raw);
            async move {
                let mut conn = link.conn.clone();
                let set = write::set_security(&mut conn, &link.tree, &full, &raw, write::OWNER_GROUP_DACL);
                Pool::timed(&link, pool.tuning.request_timeout, set)
                    .await
                    .map_err(|f| pool.write_failure_error(&full, f))
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kdc_is_asked_at_the_dc_host_on_port_88() {
        // smb2 adds :88 to a bare host; a v6 host needs its brackets to take a port.
        assert_eq!(kdc_addr("127.0.0.121"), "127.0.0.121");
        assert_eq!(kdc_addr("127.0.0.121:1445"), "127.0.0.121");
        assert_eq!(kdc_addr("dc01.corp.example.test:445"), "dc01.corp.example.test");
        assert_eq!(kdc_addr("::1"), "[::1]:88");
        assert_eq!(kdc_addr("[::1]:445"), "[::1]:88");
    }

    #[test]
    fn kdc_refusals_say_what_to_do() {
        let badoption = "Authentication failed: Kerberos TGS exchange failed: KRB-ERROR code 13 ()";
        assert!(ticket_hint(badoption).contains("kinit -f"));
        assert!(ticket_hint("KRB-ERROR code 13").contains("kinit -f"));
        assert!(ticket_hint("KRB-ERROR code 32 (Ticket expired)").contains("kinit"));
        assert_eq!(ticket_hint("KRB-ERROR code 130 ()"), "", "code 13 must not match 130");
    }

    #[test]
    fn dial_addresses_default_to_port_445() {
        assert_eq!(dial_addr("127.0.0.1"), "127.0.0.1:445");
        assert_eq!(dial_addr("127.0.0.1:1445"), "127.0.0.1:1445");
        assert_eq!(dial_addr("dc1.corp.example.test"), "dc1.corp.example.test:445");
        assert_eq!(dial_addr("::1"), "[::1]:445");
        assert_eq!(dial_addr("[::1]:445"), "[::1]:445");
    }

    #[test]
    fn smb_sysvol_can_be_shared_between_tasks() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<SmbSysvol>();
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_connect_error_naming_it() {
        // Port 9 on loopback: nothing listens there, so the connect is refused at once.
        let err = SmbSysvol::connect("127.0.0.1:9", "sysvol", "CORP", "Administrator", "x", 1).await.unwrap_err();
        match err {
            SysvolError::Connect { server, reason } => {
                assert_eq!(server, "127.0.0.1:9");
                assert!(!reason.is_empty());
            }
            other => panic!("expected Connect, got {other}"),
        }
    }
}
