use crate::model::GpoId;

/// How one GPO of a bulk run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemOutcome {
    /// Done; the text names what was made (a backup ID, say).
    Succeeded(String),
    Failed(String),
}

/// What a long operation reports as it goes. The CLI turns these into a progress bar, the TUI
/// into its status pane; both read the same stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgressEvent {
    /// The work is known: `total` items will follow.
    Planned {
        total: usize,
    },
    ItemStarted {
        gpo: GpoId,
        name: String,
    },
    ItemFinished {
        gpo: GpoId,
        name: String,
        outcome: ItemOutcome,
    },
    /// A step that is not about one item (reading the domain, updating the manifest).
    Step(String),
}

/// Receives progress events. Called from worker tasks: must be cheap and thread-safe.
pub trait Progress: Send + Sync {
    fn report(&self, event: ProgressEvent);
}

/// The silent default.
pub struct NoProgress;

impl Progress for NoProgress {
    fn report(&self, _event: ProgressEvent) {}
}

impl<F: Fn(ProgressEvent) + Send + Sync> Progress for F {
    fn report(&self, event: ProgressEvent) {
        self(event)
    }
}
