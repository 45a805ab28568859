//! Plain data: what a GPO is, independent of where it was read from or written to.

mod directory_object;
mod estate;
mod extensions;
mod gpo;
mod gpo_folder;
mod ids;
pub mod security;
mod security_encode;
mod sid;

pub use directory_object::{AttributeValue, DirectoryObject, Principal};
pub use estate::{Container, ContainerKind, DomainInfo, Estate, Link, WmiFilter};
pub use extensions::{ExtensionList, ExtensionPair, known_extension_name};
pub use gpo::{Gpo, GpoFlags, GpoSide, Version, parse_generalized_time, readable_ldap_time};
pub use gpo_folder::{FolderEntry, GpoFolder};
pub use ids::{GpoId, ParseIdError, format_guid_braced, parse_guid};
pub use security::{Ace, Acl, SecurityDescriptor, SecurityDescriptorError};
pub use sid::{ParseSidError, Sid, well_known_sid_name};
