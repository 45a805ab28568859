//! Operations on GPOs. Each is a plan (reads, never writes) and an execution that takes the plan,
//! [`RunOptions`] and a [`Progress`] sink and returns a typed report; none of them draws.

pub mod backup;
pub mod catalog;
pub mod check;
pub mod copy;
pub mod delete;
pub mod import;
pub mod inspect;
pub mod migtable;
mod progress;
pub mod prune;
pub mod recover;
pub mod restore;
pub mod run;
pub mod search;
pub mod selection;
mod session;

pub use progress::{NoProgress, Progress, ProgressEvent};
pub use run::{CancelFlag, Item, ItemResult, ItemStatus, Plan, PlanDescription, RunOptions, RunReport, RunSummary};
pub use selection::GpoSelection;
pub use session::{DomainSession, SessionError, SysvolSource};
