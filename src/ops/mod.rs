//! Operations on GPOs: each takes a `Progress` sink and returns a report; none of them draws.

pub mod backup;
pub mod inspect;
mod progress;
mod session;

pub use progress::{ItemOutcome, NoProgress, Progress, ProgressEvent};
pub use session::{DomainSession, SessionError, SysvolSource};
