//! Migration: what a GPO's settings refer to outside itself (security principals, UNC paths),
//! and, in later work, the migration table that maps them into another domain.

pub mod scan;
