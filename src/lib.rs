//! gpvault core: everything that knows Group Policy and nothing of the terminal.
//!
//! The front ends (`tui`, `cli`) live in the binary; this library holds the model, the two
//! halves of a GPO's storage (directory = AD over LDAP, sysvol = files over SMB or a path),
//! the on-disk formats, the backup store and the operations.

pub mod config;
pub mod directory;
pub mod error;
pub mod formats;
pub mod kerberos;
pub mod migrate;
pub mod model;
pub mod ops;
pub mod store;
pub mod sysvol;

/// Where the lab DCs are, for the lab tests inside the library: the same file the end-to-end
/// tests use, included once.
#[cfg(test)]
#[path = "../tests/common/lab_env.rs"]
#[allow(dead_code)]
pub(crate) mod lab_env;
// The cuttable TCP relay of the lab tests (SMB and LDAP), shared with the end-to-end fault tests.
#[cfg(test)]
#[path = "../tests/common/tcp_proxy.rs"]
#[allow(dead_code)]
pub(crate) mod tcp_proxy;
