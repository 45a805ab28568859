//! The job runner with the core's real plan and run over the fake domain (no DC): the typed
//! plan stays in the runner, only its description reaches the UI, "yes" runs it, the cancel
//! flag in the run options stops it, and the events tell the status pane the same as the
//! core's final summary.

use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use gpvault::ops::{GpoSelection, ItemStatus, ProgressEvent, RunOptions, RunSummary};

use super::*;
use crate::tui::action::PlanId;
use crate::tui::jobs::{Incoming, Jobs};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn next(rx: &Receiver<Incoming>) -> Incoming {
    rx.recv_timeout(Duration::from_secs(20)).expect("the job answers")
}

/// Plans Back Up All into `dir` and returns the description the UI would get.
fn plan(jobs: &mut Jobs, rx: &Receiver<Incoming>, id: PlanId, dir: &std::path::Path) -> gpvault::ops::PlanDescription {
    let effect =
        Effect::PlanBackup { plan: id, domain: 1, selection: GpoSelection::All, dir: dir.into(), comment: "t".into() };
    assert!(jobs.run(effect));
    match next(rx) {
        Incoming::Plan { id: got, plan, description } => {
            assert_eq!(got, id);
            jobs.keep_plan(id, plan);
            description
        }
        Incoming::Job(other) => panic!("{other:?}"),
        _ => panic!("expected the plan"),
    }
}

/// Every event of the run, and its final summary.
fn run(jobs: &mut Jobs, rx: &Receiver<Incoming>, id: PlanId, options: RunOptions) -> (Vec<ProgressEvent>, RunSummary) {
    assert!(jobs.run(Effect::ExecutePlan { plan: id, options }));
    let mut events = Vec::new();
    loop {
        match next(rx) {
            Incoming::Job(JobEvent::Run(event)) => events.push(event),
            Incoming::Job(JobEvent::RunDone(result)) => return (events, result.expect("the run")),
            Incoming::Job(other) => panic!("{other:?}"),
            _ => panic!("unexpected message"),
        }
    }
}

#[test]
fn a_plan_waits_in_the_runner_and_runs_on_yes() {
    let runtime = runtime();
    let (tx, rx) = channel();
    let mut jobs = Jobs::new(runtime.handle().clone(), tx, None);
    let fake = FakeDomain::new();
    jobs.keep_session(1, 1, fake.session.clone());
    let backups = tempfile::tempdir().expect("temp dir");
    let dir = backups.path().join("new");

    let description = plan(&mut jobs, &rx, PlanId(1), &dir);
    assert_eq!(description.changes.len(), estate().gpos.len());
    assert!(!dir.exists(), "planning writes nothing");

    // The same events the UI gets, fed to the status pane, say what the core's summary says.
    let mut state = connected_state();
    super::update::state_with_run(&mut state);
    let (events, summary) = run(&mut jobs, &rx, PlanId(1), RunOptions::new(2));
    for event in events {
        update(&mut state, Msg::Job(JobEvent::Run(event)));
    }
    let mut live = state.status().run().expect("the run").summary.clone();
    live.sort();
    assert_eq!(live, summary);
    assert_eq!((summary.succeeded, summary.failed), (4, 1), "{summary:?}");
    let instances =
        std::fs::read_dir(&dir).expect("the folder").filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir())).count();
    assert_eq!(instances, 4);

    // A plan said no to is gone.
    plan(&mut jobs, &rx, PlanId(2), &dir);
    assert!(jobs.run(Effect::DropPlan(PlanId(2))));
    assert!(jobs.run(Effect::ExecutePlan { plan: PlanId(2), options: RunOptions::new(1) }));
    assert!(matches!(next(&rx), Incoming::Job(JobEvent::RunDone(Err(e))) if e.contains("lost")));
}

#[test]
fn the_cancel_flag_of_the_run_options_stops_the_run_before_anything_starts() {
    let runtime = runtime();
    let (tx, rx) = channel();
    let mut jobs = Jobs::new(runtime.handle().clone(), tx, None);
    let fake = FakeDomain::new();
    jobs.keep_session(1, 1, fake.session.clone());
    let backups = tempfile::tempdir().expect("temp dir");
    plan(&mut jobs, &rx, PlanId(1), backups.path());
    let options = RunOptions::new(1);
    options.cancel.cancel();
    let (events, summary) = run(&mut jobs, &rx, PlanId(1), options);
    assert!(!events.iter().any(|e| matches!(e, ProgressEvent::ItemStarted(_))), "nothing says it started");
    assert_eq!(summary.cancelled, estate().gpos.len());
    assert!(summary.results.iter().all(|r| r.status == ItemStatus::Cancelled));
}

// ---- the backup list's jobs -------------------------------------------------------------------

mod backup_list {
    use std::path::Path;

    use gpvault::model::Estate;
    use gpvault::ops::catalog::{self, ListFilter};
    use gpvault::ops::restore;

    use super::*;
    use crate::tui::action::{ListedBackups, PlanAsk};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpmc");

    fn event(rx: &Receiver<Incoming>) -> JobEvent {
        match next(rx) {
            Incoming::Job(event) => event,
            _ => panic!("expected a job's answer"),
        }
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("folder");
        for entry in std::fs::read_dir(from).expect("folder") {
            let entry = entry.expect("entry");
            if entry.path().is_dir() {
                copy_dir(&entry.path(), &to.join(entry.file_name()));
            } else {
                std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
            }
        }
    }

    /// Copies of three GPMC backups of the fixtures, then two real Back Up All runs of the fake
    /// domain into the same folder through the runner (4 GPOs each; one GPO's folder is missing).
    fn mixed_folder(jobs: &mut Jobs, rx: &Receiver<Incoming>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let fixtures = catalog::list_backups(Path::new(FIXTURES), &ListFilter { depth: 8, ..Default::default() })
            .expect("the fixtures list");
        for row in fixtures.rows.iter().take(3) {
            copy_dir(&row.folder, &dir.path().join(row.folder.file_name().expect("name")));
        }
        for n in 1..=2 {
            plan(jobs, rx, PlanId(n), dir.path());
            let (_, summary) = run(jobs, rx, PlanId(n), RunOptions::new(2));
            assert_eq!(summary.succeeded, 4, "{summary:?}");
        }
        dir
    }

    fn list(
        jobs: &mut Jobs,
        rx: &Receiver<Incoming>,
        dir: &Path,
        latest: bool,
        deleted_from: Option<Estate>,
    ) -> ListedBackups {
        let deleted_from = deleted_from.map(Arc::new);
        assert!(jobs.run(Effect::ListBackups { request: 7, dir: dir.into(), latest, deleted_from }));
        match event(rx) {
            JobEvent::BackupsListed { request: 7, result } => *result.expect("the folder lists"),
            other => panic!("{other:?}"),
        }
    }

    fn ids(listed: &ListedBackups) -> Vec<String> {
        listed.rows.iter().map(|r| r.backup_id.clone()).collect()
    }

    fn core_ids(dir: &Path, latest: bool) -> Vec<String> {
        let filter = ListFilter { latest, ..Default::default() };
        catalog::list_backups(dir, &filter).expect("lists").rows.into_iter().map(|r| r.backup_id).collect()
    }

    use std::sync::Arc;

    #[test]
    fn listings_of_gpmc_copies_and_real_backups_are_the_cores() {
        let runtime = runtime();
        let (tx, rx) = channel();
        let mut jobs = Jobs::new(runtime.handle().clone(), tx, None);
        let fake = FakeDomain::new();
        jobs.keep_session(1, 1, fake.session.clone());
        let folder = mixed_folder(&mut jobs, &rx);

        let all = list(&mut jobs, &rx, folder.path(), false, None);
        assert_eq!(all.rows.len(), 3 + 8);
        assert_eq!(ids(&all), core_ids(folder.path(), false));
        let latest = list(&mut jobs, &rx, folder.path(), true, None);
        assert_eq!(latest.rows.len(), 3 + 4);
        assert_eq!(ids(&latest), core_ids(folder.path(), true));

        // Deleted from the domain: Default Domain Policy; the GPMC copies are other domains'.
        let mut domain = estate();
        domain.gpos.retain(|g| g.id != id(DDP));
        let deleted = list(&mut jobs, &rx, folder.path(), false, Some(domain));
        assert_eq!(deleted.other_domains, 3);
        assert_eq!(deleted.rows.len(), 2);
        assert!(deleted.rows.iter().all(|r| r.gpo() == id(DDP)), "{:?}", deleted.rows);

        // A folder that is not there: the core's reason, naming it.
        let missing = folder.path().join("nope");
        assert!(jobs.run(Effect::ListBackups { request: 8, dir: missing.clone(), latest: false, deleted_from: None }));
        match event(&rx) {
            JobEvent::BackupsListed { request: 8, result: Err(e) } => {
                assert!(e.contains(&missing.display().to_string()), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn details_comparisons_and_checks_are_the_cores() {
        let runtime = runtime();
        let (tx, rx) = channel();
        let mut jobs = Jobs::new(runtime.handle().clone(), tx, None);
        let fake = FakeDomain::new();
        jobs.keep_session(1, 1, fake.session.clone());
        let folder = mixed_folder(&mut jobs, &rx);
        let dir = folder.path().to_path_buf();
        let all = list(&mut jobs, &rx, &dir, false, None);
        let ddp: Vec<&str> = all.rows.iter().filter(|r| r.gpo() == id(DDP)).map(|r| r.backup_id.as_str()).collect();
        let (newer, older) = (ddp[0].to_string(), ddp[1].to_string());

        assert!(jobs.run(Effect::ShowBackup { dir: dir.clone(), backup_id: newer.clone() }));
        match event(&rx) {
            JobEvent::BackupShown { backup_id, result: Ok(sections), .. } => {
                assert_eq!(backup_id, newer);
                let core = catalog::show_backup(&dir, &newer, 0).expect("shows").sections();
                assert_eq!(sections, core);
            }
            other => panic!("{other:?}"),
        }

        assert!(jobs.run(Effect::DiffBackups { dir: dir.clone(), old: older.clone(), new: newer.clone() }));
        match event(&rx) {
            JobEvent::BackupsDiffed { old, new, result: Ok(lines), .. } => {
                assert_eq!((old.as_str(), new.as_str()), (older.as_str(), newer.as_str()));
                let core = catalog::diff_backups(&dir, &older, &newer, 0).expect("compares");
                assert_eq!(lines, core.text_lines());
            }
            other => panic!("{other:?}"),
        }

        assert!(jobs.run(Effect::VerifyBackups { dir: dir.clone() }));
        match event(&rx) {
            JobEvent::BackupsVerified { result: Ok(verified), .. } => assert!(verified.clean, "{:?}", verified.lines),
            other => panic!("{other:?}"),
        }
        // One file of a backup changed on disk: the check names the instance.
        let gpt = std::fs::read_dir(dir.join(&newer))
            .expect("instance")
            .map(|e| e.expect("entry").path())
            .find(|p| p.extension().is_some_and(|e| e == "xml"))
            .expect("an XML file");
        std::fs::write(&gpt, b"changed").expect("write");
        assert!(jobs.run(Effect::VerifyBackups { dir: dir.clone() }));
        match event(&rx) {
            JobEvent::BackupsVerified { result: Ok(verified), .. } => {
                assert!(!verified.clean);
                assert!(verified.lines.iter().any(|l| l.contains(&newer)), "{:?}", verified.lines);
            }
            other => panic!("{other:?}"),
        }
    }

    /// Asks for a plan; the runner keeps the typed plan, the UI gets its words.
    fn plan_for(
        jobs: &mut Jobs,
        rx: &Receiver<Incoming>,
        id: PlanId,
        ask: PlanAsk,
    ) -> Result<gpvault::ops::PlanDescription, String> {
        assert!(jobs.run(Effect::PlanFor { plan: id, ask }));
        match next(rx) {
            Incoming::Plan { id: got, plan, description } => {
                assert_eq!(got, id);
                jobs.keep_plan(id, plan);
                Ok(description)
            }
            Incoming::Job(JobEvent::Planned { plan, result: Err(e) }) => {
                assert_eq!(plan, id);
                Err(e)
            }
            _ => panic!("expected a plan"),
        }
    }

    #[test]
    fn delete_and_prune_are_planned_then_run_on_yes() {
        let runtime = runtime();
        let (tx, rx) = channel();
        let mut jobs = Jobs::new(runtime.handle().clone(), tx, None);
        let fake = FakeDomain::new();
        jobs.keep_session(1, 1, fake.session.clone());
        let folder = mixed_folder(&mut jobs, &rx);
        let dir = folder.path().to_path_buf();
        let all = list(&mut jobs, &rx, &dir, false, None);
        let doomed = all.rows[0].backup_id.clone();

        // An ID that is not there: refused, nothing planned.
        let error = plan_for(
            &mut jobs,
            &rx,
            PlanId(10),
            PlanAsk::Delete { dir: dir.clone(), backup_ids: vec!["{00000000-0000-0000-0000-00000000BEEF}".into()] },
        )
        .expect_err("refused");
        assert!(error.contains("00000000BEEF"), "{error}");

        let description = plan_for(
            &mut jobs,
            &rx,
            PlanId(11),
            PlanAsk::Delete { dir: dir.clone(), backup_ids: vec![doomed.clone()] },
        )
        .expect("planned");
        assert_eq!(description.changes.len(), 1);
        assert!(dir.join(&doomed).exists(), "planning deletes nothing");
        let (events, summary) = run(&mut jobs, &rx, PlanId(11), RunOptions::new(1));
        assert_eq!(summary.counts(), "1 succeeded, 0 failed");
        assert!(events.iter().any(|e| matches!(e, ProgressEvent::ItemStarted(_))));
        assert!(!dir.join(&doomed).exists());
        assert_eq!(list(&mut jobs, &rx, &dir, false, None).rows.len(), all.rows.len() - 1);

        // Prune to one of each GPO: one backup of each GPO is left, as many as the latest listing.
        let latest = core_ids(&dir, true);
        let description =
            plan_for(&mut jobs, &rx, PlanId(12), PlanAsk::Prune { dir: dir.clone(), keep: 1 }).expect("planned");
        let before = list(&mut jobs, &rx, &dir, false, None);
        assert_eq!(description.changes.len(), before.rows.len() - latest.len());
        let (_, summary) = run(&mut jobs, &rx, PlanId(12), RunOptions::new(2));
        assert!(summary.is_clean(), "{summary:?}");
        let gpos = |listed: &ListedBackups| {
            let mut gpos: Vec<String> = listed.rows.iter().map(|r| r.gpo_id.to_uppercase()).collect();
            gpos.sort();
            gpos
        };
        let after = list(&mut jobs, &rx, &dir, false, None);
        let mut each_once = gpos(&before);
        each_once.dedup();
        assert_eq!(gpos(&after), each_once);
        let error = plan_for(&mut jobs, &rx, PlanId(13), PlanAsk::Prune { dir, keep: 0 }).expect_err("keep 0");
        assert!(error.contains("keep at least 1"), "{error}");
    }

    /// The runner with the fake domain as domain 1, the mixed folder, and a backup of DDP in it.
    struct Connected {
        _runtime: tokio::runtime::Runtime,
        rx: Receiver<Incoming>,
        jobs: Jobs,
        _fake: FakeDomain,
        _folder: tempfile::TempDir,
        dir: std::path::PathBuf,
        ddp: String,
    }

    fn connected() -> Connected {
        let runtime = runtime();
        let (tx, rx) = channel();
        let mut jobs = Jobs::new(runtime.handle().clone(), tx, None);
        let fake = FakeDomain::new();
        jobs.keep_session(1, 1, fake.session.clone());
        let folder = mixed_folder(&mut jobs, &rx);
        let dir = folder.path().to_path_buf();
        let listed = list(&mut jobs, &rx, &dir, false, None);
        let ddp = listed.rows.iter().find(|r| r.gpo() == id(DDP)).expect("a backup of DDP").backup_id.clone();
        Connected { _runtime: runtime, rx, jobs, _fake: fake, _folder: folder, dir, ddp }
    }

    #[test]
    fn a_restore_is_planned_by_the_core_and_runs_on_yes() {
        let Connected { _runtime, rx, mut jobs, _fake, _folder, dir, ddp } = connected();
        let ask =
            |domain: usize, links: bool| PlanAsk::Restore { domain, dir: dir.clone(), backup_id: ddp.clone(), links };

        // A domain without a session: nothing to plan with.
        let error = plan_for(&mut jobs, &rx, PlanId(20), ask(5, false)).expect_err("not connected");
        assert!(error.contains("not connected"), "{error}");

        // The previous version of an existing GPO: the core's plan, then its run.
        let description = plan_for(&mut jobs, &rx, PlanId(21), ask(1, false)).expect("planned");
        assert!(description.title.starts_with("Restore 1 GPO of corp.example.test"), "{description:?}");
        assert!(
            description.changes.iter().any(|c| c.item.as_ref().is_some_and(|i| i.gpo == id(DDP))),
            "{description:?}"
        );
        let action_of = |d: &gpvault::ops::PlanDescription| {
            d.changes.iter().find(|c| c.item.as_ref().is_some_and(|i| i.gpo == id(DDP))).map(|c| c.action.clone())
        };
        let previous_version = action_of(&description);
        let before = list(&mut jobs, &rx, &dir, false, None);
        let (events, summary) = run(&mut jobs, &rx, PlanId(21), RunOptions::new(1));
        assert!(events.iter().any(|e| matches!(e, ProgressEvent::ItemStarted(i) if i.gpo == id(DDP))));
        // On a local SYSVOL folder NT ACLs cannot be set: the core puts the GPO back and says
        // so, and that is what the status pane shows.
        assert_eq!((summary.succeeded, summary.failed), (0, 1), "{summary:?}");
        let reason = summary.results[0].reason().expect("a reason");
        assert!(reason.contains("NT ACL") && reason.contains("put back"), "{reason}");
        // The safety backup taken first stays in the folder, as the core names it.
        let after = list(&mut jobs, &rx, &dir, false, None);
        assert_eq!(after.rows.len(), before.rows.len() + 1);
        let safety = after.rows.iter().find(|r| !before.rows.iter().any(|b| b.backup_id == r.backup_id)).expect("new");
        assert_eq!((safety.gpo(), safety.comment.as_str()), (id(DDP), restore::safety_comment(&ddp).as_str()));

        // A GPO deleted since its backup (no tombstone in this domain): re-created, with its
        // links; the plan says so, the run fails whole on a domain that cannot be written.
        let mut without = estate();
        without.gpos.retain(|g| g.id != id(DDP));
        let gone = FakeDomain::with_estate(without);
        jobs.keep_session(1, 2, gone.session.clone());
        let description = plan_for(&mut jobs, &rx, PlanId(22), ask(1, true)).expect("planned");
        assert!(action_of(&description).is_some() && action_of(&description) != previous_version, "{description:?}");
        let (_, summary) = run(&mut jobs, &rx, PlanId(22), RunOptions::new(1));
        assert_eq!((summary.succeeded, summary.failed), (0, 1), "{summary:?}");
        assert_eq!(list(&mut jobs, &rx, &dir, false, None).rows.len(), after.rows.len(), "nothing to keep a copy of");
    }

    /// A record left by a killed import in the folder: the TUI's restore and import plans say
    /// that GPO is put right first, and when it cannot be (this fake domain refuses NT ACLs),
    /// nothing is imported and the record stays for the next try.
    #[test]
    fn restores_and_imports_put_right_what_a_killed_run_left_first() {
        let Connected { _runtime, rx, mut jobs, _fake, _folder, dir, ddp } = connected();
        // A process that is gone: its record is what a killed run leaves.
        let mut gone = std::process::Command::new("true").spawn().expect("true runs");
        gone.wait().expect("true ends");
        let entry = gpvault::store::JournalEntry {
            gpo: id(DDP).to_string(),
            gpo_name: "Default Domain Policy".into(),
            domain: "corp.example.test".into(),
            operation: "import the settings".into(),
            from_backup: ddp.clone(),
            safety_backup: Some(ddp.clone()),
            new_gpo: false,
            wmi_filter_made: None,
            started: "2026-12-02T09:00:00Z".into(),
        };
        let record = dir.join(format!("{}{}-{}.json", gpvault::store::JOURNAL_PREFIX, gone.id(), id(DDP)));
        std::fs::write(&record, serde_json::to_vec(&entry).expect("JSON")).expect("record written");

        let first = |d: &gpvault::ops::PlanDescription| {
            d.notes.first().is_some_and(|n| n.starts_with("first, Default Domain Policy") && n.contains("put back"))
        };
        let restore = PlanAsk::Restore { domain: 1, dir: dir.clone(), backup_id: ddp.clone(), links: false };
        let description = plan_for(&mut jobs, &rx, PlanId(30), restore).expect("planned");
        assert!(first(&description), "{description:?}");
        let import = || PlanAsk::Import {
            domain: 1,
            gpo: id(DDP),
            dir: dir.clone(),
            backup_id: ddp.clone(),
            table: crate::tui::action::TableChoice::None,
            only_mapped: false,
        };
        let description = plan_for(&mut jobs, &rx, PlanId(31), import()).expect("planned");
        assert!(first(&description), "{description:?}");
        assert!(record.exists(), "planning changes nothing");

        fn run_to_end(jobs: &mut Jobs, rx: &Receiver<Incoming>, plan: PlanId) -> Result<RunSummary, String> {
            assert!(jobs.run(Effect::ExecutePlan { plan, options: RunOptions::new(1) }));
            loop {
                match next(rx) {
                    Incoming::Job(JobEvent::Run(_)) => {}
                    Incoming::Job(JobEvent::RunDone(result)) => break result,
                    Incoming::Job(other) => panic!("{other:?}"),
                    _ => panic!("unexpected message"),
                }
            }
        }
        let error = run_to_end(&mut jobs, &rx, PlanId(31)).expect_err("recovery fails here");
        assert!(error.contains("half changed") && error.contains("nothing was imported"), "{error}");
        assert!(record.exists(), "the record stays for the next try");
    }
}

/// Copy and Import Settings through the runner: the table chosen in the wizard is read when the
/// plan is made (a file that is not there fails the plan with its path, before anything else),
/// the typed plan stays here and only the core's description goes on; without the domains'
/// sessions it says to reconnect.
#[test]
fn copy_and_import_plans_read_the_chosen_table_and_stay_in_the_runner() {
    use crate::tui::action::{PlanAsk, TableChoice};
    use gpvault::migrate::table::{Destination, EntryType, Mapping, MigrationTable};
    let runtime = runtime();
    let (tx, rx) = channel();
    let mut jobs = Jobs::new(runtime.handle().clone(), tx, None);
    let copy = |table: TableChoice| PlanAsk::Copy {
        from: 1,
        source: id(DDP),
        into: 1,
        name: "Copy of Default Domain Policy".into(),
        preserve_acl: false,
        table,
        only_mapped: false,
    };
    // No session yet.
    assert!(jobs.run(Effect::PlanFor { plan: PlanId(1), ask: copy(TableChoice::None) }));
    let Incoming::Job(JobEvent::Planned { plan: PlanId(1), result: Err(e) }) = next(&rx) else { panic!("a failure") };
    assert!(e.contains("not connected"), "{e}");

    let fake = FakeDomain::new();
    jobs.keep_session(1, 1, fake.session.clone());
    let missing = tempfile::tempdir().expect("temp dir").path().join("nowhere.migtable");
    assert!(jobs.run(Effect::PlanFor { plan: PlanId(2), ask: copy(TableChoice::File(missing.clone())) }));
    let Incoming::Job(JobEvent::Planned { plan: PlanId(2), result: Err(e) }) = next(&rx) else { panic!("a failure") };
    assert!(e.contains("nowhere.migtable"), "{e}");

    // A table written by the core, read back by the job: the plan says it maps through one.
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("corp.migtable");
    let rows = vec![Mapping {
        entry_type: EntryType::GlobalGroup,
        source: "Domain Admins@corp.example.test".into(),
        destination: Destination::SameAsSource,
    }];
    gpvault::ops::migtable::save(&path, &MigrationTable::from_rows(rows)).expect("saved");
    let without = {
        assert!(jobs.run(Effect::PlanFor { plan: PlanId(3), ask: copy(TableChoice::None) }));
        let Incoming::Plan { id: PlanId(3), description, .. } = next(&rx) else { panic!("the plan") };
        description
    };
    assert!(jobs.run(Effect::PlanFor { plan: PlanId(4), ask: copy(TableChoice::File(path)) }));
    let Incoming::Plan { id: PlanId(4), description, .. } = next(&rx) else { panic!("the plan") };
    assert!(description.title.contains("Default Domain Policy"), "{description:?}");
    assert_ne!(description.notes, without.notes, "the table shows in the plan's words");

    // Import: a GPMC backup of the fixtures over a GPO of the fake domain, no table.
    let fixtures = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpmc"));
    let listed = gpvault::ops::catalog::list_backups(
        fixtures,
        &gpvault::ops::catalog::ListFilter { depth: 8, ..Default::default() },
    )
    .expect("fixtures");
    let backup = listed.rows.first().expect("a fixture backup");
    let ask = PlanAsk::Import {
        domain: 1,
        gpo: id(DDP),
        dir: backup.folder.parent().expect("its folder").to_path_buf(),
        backup_id: backup.backup_id.clone(),
        table: TableChoice::None,
        only_mapped: false,
    };
    assert!(jobs.run(Effect::PlanFor { plan: PlanId(5), ask }));
    match next(&rx) {
        Incoming::Plan { id: PlanId(5), description, .. } => {
            assert!(description.notes.iter().any(|n| n.contains("keeps its name")), "{description:?}")
        }
        Incoming::Job(other) => panic!("{other:?}"),
        _ => panic!("the plan"),
    }
}
