//! Which GPOs an operation works on: all of a domain's, or some named by {GUID} or display name.

use crate::model::{Estate, Gpo};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GpoSelection {
    All,
    /// By {GUID} or display name.
    Named(Vec<String>),
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SelectionError(pub String);

impl GpoSelection {
    /// The chosen GPOs in the estate's order for `All`, in the order named otherwise (each once).
    /// An unknown or ambiguous name stops everything: nothing is half done for a typo.
    pub fn select(&self, estate: &Estate) -> Result<Vec<Gpo>, SelectionError> {
        match self {
            GpoSelection::All => Ok(estate.gpos.clone()),
            GpoSelection::Named(keys) => {
                let mut chosen: Vec<Gpo> = Vec::new();
                for key in keys {
                    let gpo = estate.find_gpo(key).map_err(SelectionError)?;
                    if !chosen.iter().any(|g| g.id == gpo.id) {
                        chosen.push(gpo.clone());
                    }
                }
                Ok(chosen)
            }
        }
    }
}
