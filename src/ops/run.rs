//! The one shape of every bulk operation (backup, restore, import, copy): a typed plan is made
//! first (it reads, never writes: `--dry-run` and the TUI's confirmation show it), then executed
//! with [`RunOptions`] and a progress sink, item by item, into a [`RunReport`] of typed outcomes.
//! [`RunSummary`] is the one text form of a run, read by the CLI's summary and the TUI's status
//! pane alike, so the two never say different things.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use serde::Serialize;

use super::{Progress, ProgressEvent};
use crate::model::GpoId;

/// A shared stop button: set it and the run starts nothing new; items in flight finish whole.
#[derive(Clone, Debug, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How a plan is carried out; the same for every operation.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Items worked on at once.
    pub parallelism: usize,
    pub cancel: CancelFlag,
}

impl RunOptions {
    pub fn new(parallelism: usize) -> Self {
        RunOptions { parallelism: parallelism.max(1), cancel: CancelFlag::default() }
    }
}

/// One GPO a run works on, as people know it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Item {
    pub gpo: GpoId,
    pub name: String,
}

/// One line of a plan: what will happen to one item (or to the run as a whole when `item` is
/// `None`), from where to where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedChange {
    pub item: Option<Item>,
    /// A verb phrase: "back up", "replace SYSVOL content", "create folder".
    pub action: String,
    pub from: String,
    pub to: String,
}

/// What a plan says it will do, in words: printed by `--dry-run`, shown by the TUI's
/// confirmation popup.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PlanDescription {
    /// "Back up 12 GPOs of corp.example.test".
    pub title: String,
    pub changes: Vec<PlannedChange>,
    /// Things the admin should know before saying yes (a folder that will be created...).
    pub notes: Vec<String>,
}

/// Every operation's plan can say what it will do.
pub trait Plan {
    fn describe(&self) -> PlanDescription;
}

/// How one item ended, typed: `T` is what was made, `E` the operation's own error enum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<T, E> {
    Succeeded(T),
    Failed(E),
    /// The run was stopped before this item started; nothing was done to it.
    Cancelled,
}

impl<T, E> Outcome<T, E> {
    /// The same outcome, what was made said another way.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U, E> {
        match self {
            Outcome::Succeeded(t) => Outcome::Succeeded(f(t)),
            Outcome::Failed(e) => Outcome::Failed(e),
            Outcome::Cancelled => Outcome::Cancelled,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemReport<T, E> {
    pub item: Item,
    pub outcome: Outcome<T, E>,
}

/// The outcome of a run. `closing` holds what went wrong after the items (updating an index,
/// say): the items' outcomes stand regardless.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunReport<T, E> {
    pub items: Vec<ItemReport<T, E>>,
    pub closing: Vec<String>,
}

impl<T, E> Default for RunReport<T, E> {
    fn default() -> Self {
        RunReport { items: Vec::new(), closing: Vec::new() }
    }
}

impl<T: fmt::Display, E: std::error::Error> RunReport<T, E> {
    pub fn succeeded(&self) -> impl Iterator<Item = (&Item, &T)> {
        self.items.iter().filter_map(|r| match &r.outcome {
            Outcome::Succeeded(t) => Some((&r.item, t)),
            _ => None,
        })
    }

    pub fn failed(&self) -> impl Iterator<Item = (&Item, &E)> {
        self.items.iter().filter_map(|r| match &r.outcome {
            Outcome::Failed(e) => Some((&r.item, e)),
            _ => None,
        })
    }

    /// Every item done and nothing went wrong after them.
    pub fn all_succeeded(&self) -> bool {
        self.closing.is_empty() && self.items.iter().all(|r| matches!(r.outcome, Outcome::Succeeded(_)))
    }

    pub fn summary(&self) -> RunSummary {
        let mut summary = RunSummary { total: self.items.len(), ..Default::default() };
        for report in &self.items {
            summary.record(ItemResult::of(report));
        }
        summary.closing = self.closing.clone();
        summary.sort();
        summary
    }
}

/// How an item ended, in words: what progress events carry and summaries list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum ItemStatus {
    /// The text names what was made (a backup ID, say).
    Succeeded(String),
    Failed(String),
    Cancelled,
}

/// The reason given for items a cancelled run never started.
pub const CANCELLED: &str = "cancelled before it started; nothing was done to it";

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemResult {
    pub item: Item,
    #[serde(flatten)]
    pub status: ItemStatus,
}

impl ItemResult {
    pub fn of<T: fmt::Display, E: std::error::Error>(report: &ItemReport<T, E>) -> ItemResult {
        let status = match &report.outcome {
            Outcome::Succeeded(t) => ItemStatus::Succeeded(t.to_string()),
            Outcome::Failed(e) => ItemStatus::Failed(crate::error::one_line(e)),
            Outcome::Cancelled => ItemStatus::Cancelled,
        };
        ItemResult { item: report.item.clone(), status }
    }

    pub fn is_failure(&self) -> bool {
        !matches!(self.status, ItemStatus::Succeeded(_))
    }

    /// The reason a failed or cancelled item gives.
    pub fn reason(&self) -> Option<&str> {
        match &self.status {
            ItemStatus::Succeeded(_) => None,
            ItemStatus::Failed(reason) => Some(reason),
            ItemStatus::Cancelled => Some(CANCELLED),
        }
    }
}

/// A run in numbers and lines, failures first: built from progress events as they come (the
/// TUI) or from the final report (the CLI), with the same result.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Items planned; 0 until the plan is known.
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub cancelled: usize,
    /// Failed, then cancelled, then succeeded; by name within each group once sorted.
    pub results: Vec<ItemResult>,
    /// What went wrong after the items.
    pub closing: Vec<String>,
}

impl RunSummary {
    pub fn record(&mut self, result: ItemResult) {
        match result.status {
            ItemStatus::Succeeded(_) => self.succeeded += 1,
            ItemStatus::Failed(_) => self.failed += 1,
            ItemStatus::Cancelled => self.cancelled += 1,
        }
        self.results.push(result);
    }

    pub fn done(&self) -> usize {
        self.succeeded + self.failed + self.cancelled
    }

    /// One summary of two runs made as one (recovery, then the restore it came before).
    pub fn followed_by(mut self, next: RunSummary) -> RunSummary {
        self.total += next.total;
        for result in next.results {
            self.record(result);
        }
        self.closing.extend(next.closing);
        self.sort();
        self
    }

    /// Failures first, then cancelled items, then the rest, each by name (case-insensitive).
    pub fn sort(&mut self) {
        let rank = |r: &ItemResult| match r.status {
            ItemStatus::Failed(_) => 0,
            ItemStatus::Cancelled => 1,
            ItemStatus::Succeeded(_) => 2,
        };
        self.results.sort_by_cached_key(|r| (rank(r), r.item.name.to_lowercase(), r.item.gpo.to_string()));
    }

    pub fn is_clean(&self) -> bool {
        self.failed == 0 && self.cancelled == 0 && self.closing.is_empty()
    }

    /// "12 succeeded, 1 failed" (+ ", 3 cancelled" when some were).
    pub fn counts(&self) -> String {
        let mut text = format!("{} succeeded, {} failed", self.succeeded, self.failed);
        if self.cancelled > 0 {
            text.push_str(&format!(", {} cancelled", self.cancelled));
        }
        text
    }
}

/// Works on `items` at most `options.parallelism` at a time. An item is started (and its
/// `ItemStarted` event sent) only if the run was not cancelled by then; the others end as
/// `Cancelled` without an event of their own beyond `ItemFinished`.
pub async fn run_items<P, T, E, F, Fut>(
    items: Vec<(Item, P)>,
    options: &RunOptions,
    progress: &Arc<dyn Progress>,
    work: F,
) -> Vec<ItemReport<T, E>>
where
    F: Fn(P) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    T: fmt::Display,
    E: std::error::Error,
{
    run_items_in_two_steps(items, options, 1, progress, work, |done: T| async move { Ok(done) }).await
}

/// [`run_items`] for work that ends with a step best done for many items together (making a
/// batch of backup instances durable with one sync): `work` runs `options.parallelism` at a
/// time; an item that finished it frees its place and waits in `finish` with up to
/// `parallelism * fan_in` others. Cancelling stops items from starting `work`; `finish` always
/// runs for items whose `work` succeeded, so nothing is left half done.
pub async fn run_items_in_two_steps<P, M, T, E, W, WFut, C, CFut>(
    items: Vec<(Item, P)>,
    options: &RunOptions,
    fan_in: usize,
    progress: &Arc<dyn Progress>,
    work: W,
    finish: C,
) -> Vec<ItemReport<T, E>>
where
    W: Fn(P) -> WFut,
    WFut: Future<Output = Result<M, E>>,
    C: Fn(M) -> CFut,
    CFut: Future<Output = Result<T, E>>,
    T: fmt::Display,
    E: std::error::Error,
{
    let parallelism = options.parallelism.max(1);
    let working = tokio::sync::Semaphore::new(parallelism);
    let (work, finish, working) = (&work, &finish, &working);
    futures::stream::iter(items)
        .map(|(item, payload)| async move {
            let outcome = match working.acquire().await {
                Err(_) => Outcome::Cancelled,
                Ok(_) if options.cancel.is_cancelled() => Outcome::Cancelled,
                Ok(permit) => {
                    progress.report(ProgressEvent::ItemStarted(item.clone()));
                    let done = work(payload).await;
                    drop(permit);
                    match done {
                        Ok(done) => match finish(done).await {
                            Ok(made) => Outcome::Succeeded(made),
                            Err(e) => Outcome::Failed(e),
                        },
                        Err(e) => Outcome::Failed(e),
                    }
                }
            };
            let report = ItemReport { item, outcome };
            progress.report(ProgressEvent::ItemFinished(ItemResult::of(&report)));
            report
        })
        .buffer_unordered(parallelism * fan_in.max(1))
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("broken: {0}")]
    struct Broken(String);

    fn item(name: &str) -> Item {
        Item { gpo: GpoId::new_random(), name: name.into() }
    }

    fn recorder() -> (Arc<dyn Progress>, Arc<Mutex<Vec<ProgressEvent>>>) {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let progress: Arc<dyn Progress> = Arc::new(move |e: ProgressEvent| sink.lock().unwrap().push(e));
        (progress, events)
    }

    #[test]
    fn a_summary_followed_by_another_counts_both_and_lists_failures_first() {
        let result = |name: &str, status: ItemStatus| ItemResult { item: item(name), status };
        let mut first = RunSummary { total: 1, ..Default::default() };
        first.record(result("recovered", ItemStatus::Succeeded("put back".into())));
        let mut then = RunSummary { total: 2, closing: vec!["manifest".into()], ..Default::default() };
        then.record(result("b restored", ItemStatus::Succeeded("restored".into())));
        then.record(result("a failed", ItemStatus::Failed("denied".into())));
        let both = first.followed_by(then);
        assert_eq!((both.total, both.succeeded, both.failed, both.cancelled), (3, 2, 1, 0));
        let names: Vec<&str> = both.results.iter().map(|r| r.item.name.as_str()).collect();
        assert_eq!(names, ["a failed", "b restored", "recovered"]);
        assert_eq!(both.closing, ["manifest"]);
        assert_eq!(RunSummary::default().followed_by(both.clone()), both, "nothing first changes nothing");
    }

    #[tokio::test]
    async fn outcomes_are_typed_and_the_summary_lists_failures_first() {
        let items = vec![(item("b ok"), 1), (item("a fails"), 2), (item("c ok"), 3)];
        let (progress, events) = recorder();
        let reports = run_items(items, &RunOptions::new(2), &progress, |n: i32| async move {
            if n == 2 { Err(Broken("no folder".into())) } else { Ok(format!("made {n}")) }
        })
        .await;
        let report = RunReport { items: reports, closing: vec!["manifest.xml: disk full".into()] };
        assert!(!report.all_succeeded());
        assert_eq!(
            report.failed().map(|(i, e)| (i.name.as_str(), e.0.as_str())).collect::<Vec<_>>(),
            [("a fails", "no folder")]
        );
        let summary = report.summary();
        assert_eq!(summary.counts(), "2 succeeded, 1 failed");
        let names: Vec<&str> = summary.results.iter().map(|r| r.item.name.as_str()).collect();
        assert_eq!(names, ["a fails", "b ok", "c ok"]);
        assert_eq!(summary.results[0].reason(), Some("broken: no folder"));
        assert_eq!(summary.closing, ["manifest.xml: disk full"]);

        // The same summary, built from the events as the TUI does.
        let mut live = RunSummary { total: 3, ..Default::default() };
        for event in events.lock().unwrap().iter() {
            if let ProgressEvent::ItemFinished(result) = event {
                live.record(result.clone());
            }
        }
        live.closing = report.closing.clone();
        live.sort();
        assert_eq!(live, summary);
    }

    #[tokio::test]
    async fn a_cancelled_run_starts_nothing_new() {
        let options = RunOptions::new(1);
        let cancel = options.cancel.clone();
        let (progress, events) = recorder();
        let items = vec![(item("first"), ()), (item("second"), ()), (item("third"), ())];
        let reports = run_items(items, &options, &progress, |()| {
            // The first item pulls the plug: the others must never start.
            cancel.cancel();
            async { Ok::<_, Broken>("done") }
        })
        .await;
        let outcomes: Vec<bool> = reports.iter().map(|r| matches!(r.outcome, Outcome::Cancelled)).collect();
        assert_eq!(outcomes, [false, true, true]);
        let started = events.lock().unwrap().iter().filter(|e| matches!(e, ProgressEvent::ItemStarted(_))).count();
        assert_eq!(started, 1, "only the item that really started says so");
        let summary = RunReport { items: reports, closing: vec![] }.summary();
        assert_eq!(summary.counts(), "1 succeeded, 0 failed, 2 cancelled");
        assert_eq!(summary.results[0].reason(), Some(CANCELLED));
    }
}
