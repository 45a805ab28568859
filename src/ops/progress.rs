use super::run::{Item, ItemResult};

/// What a long operation reports as it goes. The CLI turns these into a progress bar, the TUI
/// into its status pane; both read the same stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgressEvent {
    /// The work is known: `total` items will follow.
    Planned {
        total: usize,
    },
    /// Sent only for items that really start (not for those a cancelled run skips).
    ItemStarted(Item),
    ItemFinished(ItemResult),
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
