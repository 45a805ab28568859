//! gpvault core: everything that knows Group Policy and nothing of the terminal.
//!
//! The front ends (`tui`, `cli`) live in the binary; this library holds the model, the two
//! halves of a GPO's storage (directory = AD over LDAP, sysvol = files over SMB or a path),
//! the on-disk formats, the backup store and the operations.

pub mod config;
pub mod directory;
pub mod error;
pub mod formats;
pub mod migrate;
pub mod model;
pub mod ops;
pub mod store;
pub mod sysvol;
