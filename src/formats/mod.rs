//! One module per on-disk format of a GPMC backup, each with a parser and a writer.
//!
//! These modules turn bytes into plain data and back; they know nothing of LDAP, SMB or the
//! backup folder's layout (that is `store`'s job). Every parser takes the file's bytes and
//! returns a [`FormatError`] naming the file and the element or line that is wrong.

pub mod backup_xml;
pub mod bkup_info;
mod error;
pub mod fdeploy;
pub mod gpp_xml;
pub mod gpreport;
pub mod gpt_ini;
pub mod gpttmpl_inf;
/// gpvault's own per-instance file (owned by the backup operation, kept beside the formats).
pub mod gpvault_json;
pub mod ini;
pub mod manifest;
pub mod migtable;
pub mod references;
pub mod registry_pol;
pub mod scripts_ini;
pub mod settings;
pub mod settings_file;
pub mod text;
pub mod xml;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod sysvol_samples;

pub use backup_xml::{
    BackupXml, CoreSettings, ExtensionBlock, ExtensionItem, FsObject, FsObjectKind, GpoFileEntry, PrincipalTag,
    SecurityPrincipal, SideVersion, build_extension_blocks, dacl_only_security_descriptor, gpmc_source_root,
};
pub use bkup_info::BackupInfo;
pub use error::{FormatError, Problem};
pub use gpreport::GpReport;
pub use gpt_ini::GptIni;
pub use manifest::Manifest;
