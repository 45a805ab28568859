//! `gpvault-index.tsv`: gpvault's own index beside manifest.xml, holding what manifest.xml has no
//! place for: each instance's size, file count and whether gpvault made it.
//!
//! GPMC must keep reading the folder, so manifest.xml never gets attributes of ours; this file
//! sits beside it instead (GPMC ignores files it does not know at the folder's root). It is
//! written with the manifest, under the folder's lock, and is a cache like the manifest: an
//! instance is written once and never changed, so its entry stays true for as long as its folder
//! exists. Entries of instances that are gone are ignored; instances without an entry (made by
//! GPMC, or before the index existed) are measured from their folder when listed.
//!
//! One line per instance, tab-separated, after a header line:
//!
//! ```text
//! gpvault-index 1
//! {BACKUP-ID}<TAB>bytes<TAB>files<TAB>1 when gpvault made it, else 0
//! ```

use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::Path;

use super::{GPVAULT_JSON_FILE, InstanceSummary, StoreError, write};

pub const INDEX_FILE: &str = "gpvault-index.tsv";
const HEADER: &str = "gpvault-index 1";

/// What the listing shows of an instance beside its bkupInfo.xml.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct InstanceStats {
    /// Every file of the instance folder, gpvault's and GPMC's, in bytes.
    pub bytes: u64,
    pub files: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub stats: InstanceStats,
    pub made_by_gpvault: bool,
}

/// The index as read: instance folder name (as on disk: the index is written from the folder's
/// own names) → entry.
#[derive(Debug, Default)]
pub(crate) struct InstanceIndex {
    entries: HashMap<String, IndexEntry>,
}

impl InstanceIndex {
    /// Reads the folder's index. A missing or damaged file is an empty index: it is only a cache,
    /// and lines that do not read are left out (their instances are measured instead).
    pub fn read(root: &Path) -> InstanceIndex {
        let text = match super::read_bounded(&root.join(INDEX_FILE)).map(String::from_utf8) {
            Ok(Ok(text)) => text,
            _ => return InstanceIndex::default(),
        };
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return InstanceIndex::default();
        }
        let mut entries = HashMap::new();
        for line in lines {
            let mut fields = line.split('\t');
            let (Some(id), Some(bytes), Some(files), Some(ours), None) =
                (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let (Ok(bytes), Ok(files)) = (bytes.parse(), files.parse()) else { continue };
            let made_by_gpvault = match ours {
                "1" => true,
                "0" => false,
                _ => continue,
            };
            entries.insert(id.to_string(), IndexEntry { stats: InstanceStats { bytes, files }, made_by_gpvault });
        }
        InstanceIndex { entries }
    }

    pub fn get(&self, folder_name: &str) -> Option<IndexEntry> {
        self.entries.get(folder_name).copied()
    }
}

/// The index for `instances` (each must carry its stats; those without are left out).
pub(crate) fn index_bytes(instances: &[InstanceSummary]) -> Vec<u8> {
    let mut text = String::with_capacity(64 * (instances.len() + 1));
    text.push_str(HEADER);
    text.push('\n');
    for instance in instances {
        let Some(stats) = instance.stats else { continue };
        // A folder name with a tab or line break cannot be an entry; it is measured when listed.
        if instance.folder_name.contains(['\t', '\n', '\r']) {
            continue;
        }
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            instance.folder_name,
            stats.bytes,
            stats.files,
            u8::from(instance.has_gpvault_json)
        ));
    }
    text.into_bytes()
}

pub(crate) fn write_index(root: &Path, instances: &[InstanceSummary]) -> Result<(), StoreError> {
    write::write_atomically(&root.join(INDEX_FILE), &index_bytes(instances))
}

/// Adds up the files below an instance folder. Symbolic links are counted as themselves and
/// never followed: a backup folder is untrusted and a link could point anywhere.
pub fn measure_instance(path: &Path) -> InstanceStats {
    let mut stats = InstanceStats::default();
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                pending.push(entry.path());
            } else {
                stats.files += 1;
                match entry.metadata() {
                    Ok(meta) => stats.bytes += meta.len(),
                    Err(e) if e.kind() == ErrorKind::NotFound => stats.files -= 1,
                    Err(_) => {}
                }
            }
        }
    }
    stats
}

/// Fills in each instance's stats (and whether gpvault made it) from the index, measuring the
/// instances it does not know. Returns how many were measured. The instances are those directly
/// in `root` (the index covers no sub-folder).
pub(crate) fn fill_stats(root: &Path, instances: &mut [InstanceSummary]) -> usize {
    let index = InstanceIndex::read(root);
    let mut measured = 0;
    for instance in instances.iter_mut().filter(|i| i.stats.is_none()) {
        match index.get(&instance.folder_name) {
            Some(entry) => {
                instance.stats = Some(entry.stats);
                instance.has_gpvault_json = entry.made_by_gpvault;
            }
            None => {
                instance.stats = Some(measure_instance(&instance.path));
                instance.has_gpvault_json = instance.path.join(GPVAULT_JSON_FILE).is_file();
                measured += 1;
            }
        }
    }
    measured
}
