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
