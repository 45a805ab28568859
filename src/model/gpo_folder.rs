//! The SYSVOL half of a GPO as plain data: its folder's files and sub-folders.

/// One item of a GPO folder, with a path relative to the folder and `/` separators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FolderEntry {
    Dir { rel_path: String },
    File { rel_path: String, bytes: Vec<u8> },
}

impl FolderEntry {
    pub fn rel_path(&self) -> &str {
        match self {
            FolderEntry::Dir { rel_path } | FolderEntry::File { rel_path, .. } => rel_path,
        }
    }
}

/// A GPO's whole SYSVOL folder read into memory: GPO folders are small (KBs to a few MB),
/// and a complete read before writing anything keeps backup instances all-or-nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GpoFolder {
    /// Entries sorted by path, parents before children.
    pub entries: Vec<FolderEntry>,
}

impl GpoFolder {
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().filter_map(|e| match e {
            FolderEntry::File { rel_path, bytes } => Some((rel_path.as_str(), bytes.as_slice())),
            FolderEntry::Dir { .. } => None,
        })
    }
    pub fn dirs(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter_map(|e| match e {
            FolderEntry::Dir { rel_path } => Some(rel_path.as_str()),
            FolderEntry::File { .. } => None,
        })
    }
    pub fn file(&self, rel_path: &str) -> Option<&[u8]> {
        self.files().find(|(p, _)| p.eq_ignore_ascii_case(rel_path)).map(|(_, b)| b)
    }
    pub fn total_bytes(&self) -> u64 {
        self.files().map(|(_, b)| b.len() as u64).sum()
    }
    pub fn sort(&mut self) {
        self.entries.sort_by_key(|a| a.rel_path().to_lowercase());
    }
}
