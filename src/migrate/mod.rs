//! Migration: what a GPO's settings refer to outside itself (security principals, UNC paths),
//! and the migration table that maps them into another domain: populating one, checking it
//! against the destination domain, and applying it to a GPO's files, class store and DACL.
//!
//! Everything here is pure: what the directory knows comes in through [`principals`], looked
//! up beforehand by the caller (`ops::migtable`).

pub mod apply;
pub mod populate;
pub mod principals;
pub mod references;
pub mod table;
pub mod validate;
