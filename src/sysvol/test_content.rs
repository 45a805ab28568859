//! Two GPO folders for the write tests (unit and lab): a real GPMC backup's SYSVOL part, and a
//! small "old" folder with files the new one lacks.

use std::path::Path;

use crate::sysvol::local::read_tree;
use crate::sysvol::{FolderEntry, GpoFolder};

/// A real GPMC backup's SYSVOL part (registry.pol, GptTmpl.inf, audit.csv, comment.cmtx).
pub(crate) fn fixture_content() -> GpoFolder {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "tests/fixtures/gpmc/nsacyber-shb/Windows/Group Policy Objects/Computer/{A2A38432-E322-437F-9975-B7CC7F16F4AA}/DomainSysvol/GPO",
    );
    let mut folder = read_tree(&root).unwrap();
    folder
        .entries
        .push(FolderEntry::File { rel_path: "GPT.INI".into(), bytes: b"[General]\r\nVersion=7\r\n".to_vec() });
    folder.sort();
    folder
}

pub(crate) fn old_content() -> GpoFolder {
    let mut folder = GpoFolder {
        entries: vec![
            FolderEntry::File { rel_path: "GPT.INI".into(), bytes: b"[General]\r\nVersion=3\r\n".to_vec() },
            FolderEntry::Dir { rel_path: "Machine".into() },
            FolderEntry::File { rel_path: "Machine/old-only.pol".into(), bytes: vec![1, 2, 3] },
            FolderEntry::Dir { rel_path: "Machine/Scripts".into() },
            FolderEntry::File { rel_path: "Machine/Scripts/scripts.ini".into(), bytes: b"[Startup]".to_vec() },
            FolderEntry::Dir { rel_path: "User".into() },
        ],
    };
    folder.sort();
    folder
}
