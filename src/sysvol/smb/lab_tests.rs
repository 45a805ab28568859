//! `SmbSysvol` against the lab's real Samba DC (`scripts/lab up`, then `source /tmp/gpvault-lab/env`).
//! The lab DC comes from sysvol::testlab (and so from tests/common/lab_env.rs, as for every test).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt, TryStreamExt};

use super::{SmbSysvol, SmbTuning};
use crate::model::GpoId;
use crate::sysvol::{LocalSysvol, Sysvol, SysvolError};

use crate::tcp_proxy::Proxy;

struct Lab {
    server: String,
    realm: String,
    netbios: String,
    user: String,
    password: String,
    /// The sysvol share root on the DC's disk.
    local_sysvol: PathBuf,
}

impl Lab {
    fn from_env() -> Option<Lab> {
        let dc = crate::sysvol::testlab::LabDc::corp()?;
        Some(Lab {
            server: dc.server,
            realm: dc.realm,
            netbios: dc.netbios,
            user: dc.user,
            password: dc.password,
            local_sysvol: dc.local_sysvol,
        })
    }

    fn unc(&self, folder: &str) -> String {
        format!(r"\\{0}\SysVol\{0}\Policies\{folder}", self.realm)
    }

    async fn connect(&self, connections: usize) -> SmbSysvol {
        SmbSysvol::connect(&self.server, "sysvol", &self.netbios, &self.user, &self.password, connections)
            .await
            .unwrap_or_else(|e| panic!("connecting to the lab DC: {e}"))
    }

    /// A pool of one connection through `proxy`, with a short request timeout.
    async fn connect_via(&self, proxy: &Proxy, request_timeout: Duration) -> SmbSysvol {
        let tuning = SmbTuning { connections: 1, request_timeout, ..SmbTuning::default() };
        SmbSysvol::connect_tuned(&proxy.addr.to_string(), "sysvol", &self.netbios, &self.user, &self.password, tuning)
            .await
            .unwrap_or_else(|e| panic!("connecting to the lab DC through the proxy: {e}"))
    }

    fn local(&self) -> LocalSysvol {
        LocalSysvol::open(&self.local_sysvol, &self.realm).unwrap_or_else(|e| panic!("opening the DC's sysvol: {e}"))
    }

    async fn some_gpo(&self) -> (GpoId, String) {
        let mut names = self.local().list_gpo_folders().await.unwrap();
        names.sort();
        let name = names.into_iter().next().expect("the lab has GPOs");
        (name.parse().unwrap(), self.unc(&name))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_every_lab_gpo_exactly_as_the_dc_disk_holds_it() {
    let Some(lab) = Lab::from_env() else { return };
    let local = lab.local();
    let smb = lab.connect(4).await;

    let mut on_disk = local.list_gpo_folders().await.unwrap();
    on_disk.sort_by_key(|n| n.to_lowercase());
    assert_eq!(smb.list_gpo_folders().await.unwrap(), on_disk, "GPO folders listed over SMB");

    let (local, smb, lab) = (&local, &smb, &lab);
    let started = Instant::now();
    let compared: usize = stream::iter(on_disk.iter())
        .map(|name| async move {
            let gpo: GpoId = name.parse().unwrap();
            let unc = lab.unc(name);
            let over_smb = smb.read_gpo_folder(&gpo, &unc).await.unwrap_or_else(|e| panic!("{name} over SMB: {e}"));
            let from_disk = local.read_gpo_folder(&gpo, &unc).await.unwrap();
            let paths =
                |f: &crate::sysvol::GpoFolder| f.entries.iter().map(|e| e.rel_path().to_string()).collect::<Vec<_>>();
            assert_eq!(paths(&over_smb), paths(&from_disk), "entries of {name}");
            assert!(over_smb == from_disk, "bytes of {name} differ between SMB and the DC's disk");
            Ok::<_, SysvolError>(over_smb.entries.len())
        })
        .buffer_unordered(32)
        .try_fold(0, |sum, n| async move { Ok(sum + n) })
        .await
        .unwrap();
    eprintln!("compared {} GPO folders, {compared} entries, in {:.2?}", on_disk.len(), started.elapsed());
}

#[tokio::test]
async fn one_file_reads_like_the_whole_folder() {
    let Some(lab) = Lab::from_env() else { return };
    let smb = lab.connect(1).await;
    let (gpo, unc) = lab.some_gpo().await;
    let folder = smb.read_gpo_folder(&gpo, &unc).await.unwrap();
    let gpt = smb.read_gpo_file(&gpo, &unc, "gpt.ini").await.unwrap();
    assert_eq!(gpt.as_deref(), folder.file("GPT.INI"), "GPT.INI by name, any case");
    assert!(gpt.is_some());
    assert_eq!(smb.read_gpo_file(&gpo, &unc, "no-such-file.txt").await.unwrap(), None);
    let missing = GpoId::new_random();
    let err = smb.read_gpo_file(&missing, &lab.unc(&missing.to_string()), "GPT.INI").await.unwrap_err();
    assert!(matches!(err, SysvolError::GpoFolderMissing { .. }), "{err}");
}

#[tokio::test]
async fn a_gpo_without_a_folder_is_reported_missing() {
    let Some(lab) = Lab::from_env() else { return };
    let smb = lab.connect(1).await;
    let gpo = GpoId::new_random();
    let err = smb.read_gpo_folder(&gpo, &lab.unc(&gpo.to_string())).await.unwrap_err();
    assert!(matches!(err, SysvolError::GpoFolderMissing { .. }), "{err}");
    // No UNC path: found under the Policies folder by its id.
    let err = smb.read_gpo_folder(&gpo, "").await.unwrap_err();
    assert!(matches!(err, SysvolError::GpoFolderMissing { .. }), "{err}");
}

#[tokio::test]
async fn a_gpo_is_found_by_id_when_its_path_is_unknown() {
    let Some(lab) = Lab::from_env() else { return };
    let smb = lab.connect(1).await;
    let (gpo, unc) = lab.some_gpo().await;
    let by_path = smb.read_gpo_folder(&gpo, &unc).await.unwrap();
    let by_id = smb.read_gpo_folder(&gpo, "").await.unwrap();
    assert_eq!(by_id, by_path);
    assert!(by_path.file("GPT.INI").is_some(), "a GPO folder holds GPT.INI");
}

#[tokio::test]
async fn a_wrong_password_is_a_logon_error() {
    let Some(lab) = Lab::from_env() else { return };
    let err =
        SmbSysvol::connect(&lab.server, "sysvol", &lab.netbios, &lab.user, "not-the-password", 1).await.unwrap_err();
    assert!(matches!(err, SysvolError::Logon { .. }), "{err}");
    assert!(err.to_string().contains("check the user and password"), "{err}");
}

#[tokio::test]
async fn a_missing_share_is_a_connect_error() {
    let Some(lab) = Lab::from_env() else { return };
    let err =
        SmbSysvol::connect(&lab.server, "no-such-share", &lab.netbios, &lab.user, &lab.password, 1).await.unwrap_err();
    assert!(matches!(err, SysvolError::Connect { .. }), "{err}");
}

#[tokio::test]
async fn a_path_on_another_share_is_refused() {
    let Some(lab) = Lab::from_env() else { return };
    let smb = lab.connect(1).await;
    let (gpo, _) = lab.some_gpo().await;
    let err = smb.read_gpo_folder(&gpo, &format!(r"\\{0}\netlogon\{0}\Policies\{gpo}", lab.realm)).await.unwrap_err();
    assert!(err.to_string().contains("netlogon"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_fails_the_read_in_time_and_the_next_read_reconnects() {
    let Some(lab) = Lab::from_env() else { return };
    let proxy = Proxy::start("127.0.0.1:0", &format!("{}:445", lab.server)).await;
    let smb = lab.connect_via(&proxy, Duration::from_secs(2)).await;
    let (gpo, unc) = lab.some_gpo().await;
    smb.read_gpo_folder(&gpo, &unc).await.unwrap();

    proxy.switch.frozen.store(true, Ordering::Release);
    let started = Instant::now();
    let err = smb.read_gpo_folder(&gpo, &unc).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "gave up only after {:.1?}", started.elapsed());
    assert!(
        matches!(&err, SysvolError::Io { path, reason } if path.contains("Policies") && reason.contains("no answer")),
        "{err}"
    );

    proxy.switch.frozen.store(false, Ordering::Release);
    smb.read_gpo_folder(&gpo, &unc).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_is_dialled_again_once_and_the_gpo_in_flight_completes() {
    let Some(lab) = Lab::from_env() else { return };
    let proxy = Proxy::start("127.0.0.1:0", &format!("{}:445", lab.server)).await;
    let smb = Arc::new(lab.connect_via(&proxy, Duration::from_secs(30)).await);
    let (gpo, unc) = lab.some_gpo().await;
    let expected = lab.local().read_gpo_folder(&gpo, &unc).await.unwrap();
    let dials_before = proxy.accepted.load(Ordering::Acquire);

    // Held requests, then the TCP connection cut under them.
    proxy.switch.frozen.store(true, Ordering::Release);
    let in_flight = tokio::spawn({
        let (smb, unc) = (Arc::clone(&smb), unc.clone());
        async move { smb.read_gpo_folder(&gpo, &unc).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.cut();
    proxy.switch.frozen.store(false, Ordering::Release);
    let read = tokio::time::timeout(Duration::from_secs(10), in_flight)
        .await
        .expect("the read in flight returned soon after the cut")
        .unwrap()
        .unwrap_or_else(|e| panic!("the read did not survive one dropped connection: {e}"));
    assert!(read == expected, "the GPO read after the reconnect differs from the DC's disk");
    assert_eq!(proxy.accepted.load(Ordering::Acquire) - dials_before, 1, "one new connection for the retry");

    // Idempotent writes retry the same way: an entry_kind right after another cut succeeds.
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let gpt = crate::sysvol::PolicyPath::parse(&format!("{gpo}/GPT.INI")).unwrap();
    assert_eq!(smb.entry_kind(&gpt).await.unwrap(), Some(crate::sysvol::EntryKind::File));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_while_the_server_refuses_new_ones_fails_the_read_naming_the_server() {
    let Some(lab) = Lab::from_env() else { return };
    let proxy = Proxy::start("127.0.0.1:0", &format!("{}:445", lab.server)).await;
    let smb = lab.connect_via(&proxy, Duration::from_secs(30)).await;
    let (gpo, unc) = lab.some_gpo().await;
    proxy.switch.refusing.store(true, Ordering::Release);
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let err = smb.read_gpo_folder(&gpo, &unc).await.unwrap_err();
    assert!(matches!(&err, SysvolError::Connect { server, .. } if server == &proxy.addr.to_string()), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_gone_for_good_fails_reads_at_once_without_redialling_per_gpo() {
    let Some(lab) = Lab::from_env() else { return };
    let proxy = Proxy::start("127.0.0.1:0", &format!("{}:445", lab.server)).await;
    let smb = lab.connect_via(&proxy, Duration::from_secs(5)).await;
    let (gpo, unc) = lab.some_gpo().await;
    proxy.switch.refusing.store(true, Ordering::Release);
    proxy.cut();
    let dials_before = proxy.accepted.load(Ordering::Acquire);
    // The first read may still meet the dying link or dial once; none may dial again.
    let mut errors = Vec::new();
    for _ in 0..5 {
        errors.push(smb.read_gpo_folder(&gpo, &unc).await.unwrap_err());
    }
    assert!(proxy.accepted.load(Ordering::Acquire) - dials_before <= 1, "redialled per read");
    let last = errors.last().unwrap();
    assert!(matches!(last, SysvolError::Connect { .. }), "{last}");
}
