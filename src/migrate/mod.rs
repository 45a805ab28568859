//! Migration: what a GPO's settings refer to outside itself (security principals, UNC paths),
//! and the migration table that maps them into another domain.

pub mod references;
pub mod table;
