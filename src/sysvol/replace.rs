//! Whole-folder writes composed of the `Sysvol` primitives: write a folder, and replace a GPO's
//! folder all or nothing (write beside it, then swap by renames).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use futures::stream::{FuturesUnordered, StreamExt};

use super::{EntryKind, FolderEntry, GpoFolder, PolicyPath, Sysvol, SysvolError, file_security_from_gpo};
use crate::model::{GpoId, SecurityDescriptor};

/// Files written at once by `write_folder`: enough to hide round trips, few enough to leave the
/// SMB pool's other connections to other work.
const FILES_IN_FLIGHT: usize = 8;

/// What `write_folder` wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Including the top folder.
    pub folders_created: usize,
    pub files_written: usize,
    pub bytes_written: u64,
}

/// What `replace_gpo_folder` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplaceReport {
    pub gpo: GpoId,
    /// The GPO's folder, now holding exactly the new content.
    pub folder: PolicyPath,
    pub written: WriteSummary,
    /// False when the GPO had no folder before (the content was simply put in place).
    pub replaced_existing: bool,
    /// Items of the old folder that the new content does not have (relative paths), now gone.
    pub removed: Vec<String>,
    /// Files and folders given the GPO's NT ACL (0 when no security descriptor was passed).
    pub security_set_on: usize,
    /// The old content, when removing it after the swap failed: (where it is, why). The GPO's
    /// folder is complete regardless; delete the leftover by hand.
    pub leftover: Option<(PolicyPath, String)>,
}

/// The stage of a replacement that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplaceStep {
    CheckingContent,
    WritingNewContent,
    SettingSecurity,
    ReadingOldFolder,
    MovingOldAside,
    MovingNewIn,
}

impl fmt::Display for ReplaceStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplaceStep::CheckingContent => "checking the new content",
            ReplaceStep::WritingNewContent => "writing the new content beside the GPO's folder",
            ReplaceStep::SettingSecurity => "setting the NT ACL on the new content",
            ReplaceStep::ReadingOldFolder => "listing the current folder",
            ReplaceStep::MovingOldAside => "renaming the current folder aside",
            ReplaceStep::MovingNewIn => "renaming the new content into place",
        })
    }
}

/// What `write_folder` will create, in order.
struct WritePlan {
    /// Parents before children (the top folder not included).
    folders: Vec<PolicyPath>,
    /// Each file's path and its index in the content's entries.
    files: Vec<(PolicyPath, usize)>,
}

/// The folders and files of `content` as paths below `root`, every name checked, folders
/// (including the parents files imply) ordered parents first. Names that differ only in case
/// are refused: SYSVOL is case-insensitive and one would overwrite the other.
fn plan(root: &PolicyPath, content: &GpoFolder) -> Result<WritePlan, SysvolError> {
    let mut folders: BTreeMap<String, String> = BTreeMap::new();
    let mut files: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let clash = |a: &str, b: &str| SysvolError::InvalidPath {
        path: format!("{root}/{a}"),
        reason: format!("it differs only in case from '{b}', and SYSVOL does not tell them apart"),
    };
    for (index, entry) in content.entries.iter().enumerate() {
        let rel = entry.rel_path().replace('\\', "/");
        root.join(&rel)?;
        let mut ancestors: Vec<&str> = rel.match_indices('/').map(|(at, _)| &rel[..at]).collect();
        if matches!(entry, FolderEntry::Dir { .. }) {
            ancestors.push(&rel);
        }
        for folder in ancestors {
            if let Some(existing) = folders.insert(folder.to_lowercase(), folder.to_string())
                && existing != folder
            {
                return Err(clash(folder, &existing));
            }
        }
        if let FolderEntry::File { .. } = entry
            && let Some((existing, _)) = files.insert(rel.to_lowercase(), (rel.clone(), index))
        {
            return Err(clash(&rel, &existing));
        }
    }
    if let Some(both) = files.keys().find(|k| folders.contains_key(*k)) {
        return Err(SysvolError::InvalidPath {
            path: format!("{root}/{both}"),
            reason: "the content has both a file and a folder of that name".into(),
        });
    }
    let mut folder_paths: Vec<&String> = folders.values().collect();
    folder_paths.sort_by_key(|f| (f.matches('/').count(), f.to_lowercase()));
    let folder_paths = folder_paths.into_iter().map(|f| root.join(f)).collect::<Result<Vec<_>, _>>()?;
    let file_paths =
        files.into_values().map(|(rel, index)| Ok((root.join(&rel)?, index))).collect::<Result<Vec<_>, _>>()?;
    Ok(WritePlan { folders: folder_paths, files: file_paths })
}

async fn write_one<S: Sysvol + ?Sized>(sysvol: &S, path: &PolicyPath, bytes: &[u8]) -> Result<u64, SysvolError> {
    sysvol.write_file(path, bytes).await.map(|()| bytes.len() as u64)
}

pub(super) async fn write_folder<S: Sysvol + ?Sized>(
    sysvol: &S,
    root: &PolicyPath,
    content: &GpoFolder,
) -> Result<WriteSummary, SysvolError> {
    let WritePlan { folders, files } = plan(root, content)?;
    sysvol.create_folder(root).await?;
    for folder in &folders {
        sysvol.create_folder(folder).await?;
    }
    // Futures built in a loop rather than a closure: async_trait's Send bound trips over the
    // higher-ranked lifetimes a closure over borrowed items would need.
    let mut writes = Vec::with_capacity(files.len());
    for (path, index) in &files {
        if let FolderEntry::File { bytes, .. } = &content.entries[*index] {
            writes.push(write_one(sysvol, path, bytes));
        }
    }
    // After a failure no new write starts, but those in flight are waited for: a caller that
    // removes the folder next must not race writes still landing in it.
    let mut pending = writes.into_iter();
    let mut running = FuturesUnordered::new();
    let mut bytes_written = 0u64;
    let mut first_error = None;
    loop {
        while first_error.is_none() && running.len() < FILES_IN_FLIGHT {
            match pending.next() {
                Some(write) => running.push(write),
                None => break,
            }
        }
        match running.next().await {
            Some(Ok(n)) => bytes_written += n,
            Some(Err(e)) => {
                first_error.get_or_insert(e);
            }
            None => break,
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(WriteSummary { folders_created: folders.len() + 1, files_written: files.len(), bytes_written })
}

fn random_tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// The start of the names of a GPO's new content while it is written beside its folder.
pub fn staging_prefix(gpo: &GpoId) -> String {
    format!("gpvault-new.{gpo}.")
}

/// The start of the names of a GPO's old content while the new is moved in.
pub fn aside_prefix(gpo: &GpoId) -> String {
    format!("gpvault-old.{gpo}.")
}

/// Removes the staging copy after a failure; says what was left if that fails too.
async fn discard<S: Sysvol + ?Sized>(sysvol: &S, staging: &PolicyPath, outcome: String) -> String {
    match sysvol.delete_tree(staging).await {
        Ok(()) => format!("{outcome}; the partial new copy was removed."),
        Err(e) => format!("{outcome}; the partial new copy is left at {staging} ({e}): delete it."),
    }
}

pub(super) async fn replace_gpo_folder<S: Sysvol + ?Sized>(
    sysvol: &S,
    gpo: &GpoId,
    content: &GpoFolder,
    gpo_sd: Option<&SecurityDescriptor>,
) -> Result<ReplaceReport, SysvolError> {
    let target = PolicyPath::gpo(gpo);
    let failed = |step: ReplaceStep, outcome: String, source: SysvolError| SysvolError::ReplaceFailed {
        gpo: *gpo,
        step,
        outcome,
        source: Box::new(source),
    };
    // Names that do not start with '{', so listings of GPO folders never take them for GPOs.
    let tag = random_tag();
    let staging = target.sibling(&format!("{}{tag}", staging_prefix(gpo)))?;
    let aside = target.sibling(&format!("{}{tag}", aside_prefix(gpo)))?;
    let unchanged = "The GPO's folder is unchanged".to_string();

    let checked = gpo_sd.map(|sd| file_security_from_gpo(gpo, sd)).transpose().and_then(|sd| {
        plan(&staging, content)?;
        Ok(sd)
    });
    let file_sd = checked.map_err(|e| failed(ReplaceStep::CheckingContent, unchanged.clone(), e))?;

    let discard_staging = |outcome: String| discard(sysvol, &staging, outcome);

    let written = match sysvol.write_folder(&staging, content).await {
        Ok(written) => written,
        Err(e) => return Err(failed(ReplaceStep::WritingNewContent, discard_staging(unchanged).await, e)),
    };
    let mut security_set_on = 0;
    if let Some(sd) = &file_sd {
        match sysvol.set_tree_security(&staging, sd).await {
            Ok(n) => security_set_on = n,
            Err(e) => return Err(failed(ReplaceStep::SettingSecurity, discard_staging(unchanged).await, e)),
        }
    }

    let old = match sysvol.entry_kind(&target).await {
        Ok(Some(EntryKind::Folder)) => match sysvol.list_tree(&target).await {
            Ok(entries) => Some(entries),
            Err(e) => return Err(failed(ReplaceStep::ReadingOldFolder, discard_staging(unchanged).await, e)),
        },
        Ok(Some(EntryKind::File)) => {
            let e = SysvolError::AlreadyExists { path: target.to_string() };
            let outcome = discard_staging(format!("A file, not a folder, holds the GPO's name ({target})")).await;
            return Err(failed(ReplaceStep::ReadingOldFolder, outcome, e));
        }
        Ok(None) => None,
        Err(e) => return Err(failed(ReplaceStep::ReadingOldFolder, discard_staging(unchanged).await, e)),
    };

    if old.is_some()
        && let Err(e) = sysvol.rename(&target, &aside).await
    {
        return Err(failed(ReplaceStep::MovingOldAside, discard_staging(unchanged).await, e));
    }
    if let Err(e) = sysvol.rename(&staging, &target).await {
        let outcome = if old.is_none() {
            discard_staging("The GPO still has no folder".to_string()).await
        } else {
            match sysvol.rename(&aside, &target).await {
                Ok(()) => discard_staging("The old folder was put back".to_string()).await,
                Err(back) => format!(
                    "Putting the old folder back failed too ({back}): the GPO's old content is at {aside} and the new at \
                     {staging}; rename one of them to {target}"
                ),
            }
        };
        return Err(failed(ReplaceStep::MovingNewIn, outcome, e));
    }

    let mut removed = Vec::new();
    let mut leftover = None;
    if let Some(old_entries) = &old {
        // Every entry and the folders its path implies.
        let mut new_paths: BTreeSet<String> = BTreeSet::new();
        for entry in &content.entries {
            let rel = entry.rel_path().replace('\\', "/").to_lowercase();
            new_paths.extend(rel.match_indices('/').map(|(at, _)| rel[..at].to_string()));
            new_paths.insert(rel);
        }
        removed = old_entries
            .iter()
            .filter(|e| !new_paths.contains(&e.rel_path.to_lowercase()))
            .map(|e| e.rel_path.clone())
            .collect();
        if let Err(e) = sysvol.delete_tree(&aside).await {
            leftover = Some((aside.clone(), e.to_string()));
        }
    }
    Ok(ReplaceReport {
        gpo: *gpo,
        folder: target,
        written,
        replaced_existing: old.is_some(),
        removed,
        security_set_on,
        leftover,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::sysvol::LocalSysvol;
    use crate::sysvol::fault::{Call, FaultySysvol};
    use crate::sysvol::local::read_tree;
    use crate::sysvol::test_content::{fixture_content, old_content};

    struct Scratch {
        _dir: tempfile::TempDir,
        policies: PathBuf,
        sysvol: LocalSysvol,
    }

    fn scratch() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let policies = dir.path().join("corp.example.test/Policies");
        std::fs::create_dir_all(&policies).unwrap();
        let sysvol = LocalSysvol::open(dir.path(), "corp.example.test").unwrap();
        Scratch { _dir: dir, policies, sysvol }
    }

    fn on_disk(scratch: &Scratch, gpo: &GpoId) -> GpoFolder {
        read_tree(&scratch.policies.join(gpo.to_string())).unwrap()
    }

    /// Names in the Policies folder other than GPO folders: leftovers of a replacement.
    fn leftovers(scratch: &Scratch) -> Vec<String> {
        std::fs::read_dir(&scratch.policies)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('{'))
            .collect()
    }

    #[tokio::test]
    async fn write_folder_puts_every_byte_in_place_and_refuses_an_existing_folder() {
        let s = scratch();
        let gpo = GpoId::new_random();
        let content = fixture_content();
        let summary = s.sysvol.write_folder(&PolicyPath::gpo(&gpo), &content).await.unwrap();
        assert_eq!(on_disk(&s, &gpo), content);
        assert_eq!(summary.files_written, content.files().count());
        assert_eq!(summary.folders_created, content.dirs().count() + 1);
        assert_eq!(summary.bytes_written, content.total_bytes());
        let err = s.sysvol.write_folder(&PolicyPath::gpo(&gpo), &content).await.unwrap_err();
        assert!(matches!(err, SysvolError::AlreadyExists { .. }), "{err}");
    }

    #[tokio::test]
    async fn write_folder_creates_the_folders_files_imply() {
        let s = scratch();
        let gpo = GpoId::new_random();
        let content = GpoFolder {
            entries: vec![FolderEntry::File {
                rel_path: r"Machine\Microsoft\Windows NT\SecEdit\GptTmpl.inf".into(),
                bytes: b"x".to_vec(),
            }],
        };
        s.sysvol.write_folder(&PolicyPath::gpo(&gpo), &content).await.unwrap();
        let back = on_disk(&s, &gpo);
        let paths: Vec<&str> = back.entries.iter().map(|e| e.rel_path()).collect();
        assert_eq!(
            paths,
            [
                "Machine",
                "Machine/Microsoft",
                "Machine/Microsoft/Windows NT",
                "Machine/Microsoft/Windows NT/SecEdit",
                "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"
            ]
        );
    }

    #[tokio::test]
    async fn replace_leaves_exactly_the_new_content_and_names_what_went() {
        let s = scratch();
        let gpo = GpoId::new_random();
        s.sysvol.write_folder(&PolicyPath::gpo(&gpo), &old_content()).await.unwrap();
        let new = fixture_content();
        let report = s.sysvol.replace_gpo_folder(&gpo, &new, None).await.unwrap();
        assert_eq!(on_disk(&s, &gpo), new);
        assert!(report.replaced_existing);
        assert_eq!(report.removed, ["Machine/old-only.pol", "Machine/Scripts", "Machine/Scripts/scripts.ini", "User"]);
        assert_eq!(report.written.files_written, new.files().count());
        assert_eq!(report.leftover, None);
        assert!(leftovers(&s).is_empty(), "{:?}", leftovers(&s));
    }

    #[tokio::test]
    async fn replace_puts_a_missing_folder_in_place() {
        let s = scratch();
        let gpo = GpoId::new_random();
        let new = fixture_content();
        let report = s.sysvol.replace_gpo_folder(&gpo, &new, None).await.unwrap();
        assert!(!report.replaced_existing);
        assert!(report.removed.is_empty());
        assert_eq!(on_disk(&s, &gpo), new);
        assert!(leftovers(&s).is_empty());
    }

    #[tokio::test]
    async fn replace_finds_the_old_folder_whatever_its_case() {
        let s = scratch();
        let gpo = GpoId::new_random();
        let lower = PolicyPath::parse(&gpo.to_string().to_lowercase()).unwrap();
        s.sysvol.write_folder(&lower, &old_content()).await.unwrap();
        s.sysvol.replace_gpo_folder(&gpo, &fixture_content(), None).await.unwrap();
        let names: Vec<String> = std::fs::read_dir(&s.policies)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [gpo.to_string()], "one folder, the new one");
    }

    /// Each step of a replacement broken in turn: the old folder must come out whole and no
    /// temporary folder may stay behind.
    #[tokio::test]
    async fn a_replace_failing_at_any_step_leaves_the_old_folder_whole() {
        let cases = [
            (Call::CreateFolder, 2, ReplaceStep::WritingNewContent),
            (Call::WriteFile, 3, ReplaceStep::WritingNewContent),
            (Call::Rename, 1, ReplaceStep::MovingOldAside),
            (Call::Rename, 2, ReplaceStep::MovingNewIn),
        ];
        for (call, nth, step) in cases {
            let s = scratch();
            let gpo = GpoId::new_random();
            s.sysvol.write_folder(&PolicyPath::gpo(&gpo), &old_content()).await.unwrap();
            let faulty = FaultySysvol::new(&s.sysvol, call, nth);
            let err = faulty.replace_gpo_folder(&gpo, &fixture_content(), None).await.unwrap_err();
            match &err {
                SysvolError::ReplaceFailed { step: failed_at, outcome, .. } => {
                    assert_eq!(*failed_at, step, "{call:?} {nth}: {err}");
                    assert!(outcome.contains("unchanged") || outcome.contains("put back"), "{err}");
                }
                other => panic!("{call:?} {nth}: expected ReplaceFailed, got {other}"),
            }
            assert_eq!(on_disk(&s, &gpo), old_content(), "{call:?} {nth}: old folder whole");
            assert!(leftovers(&s).is_empty(), "{call:?} {nth}: {:?}", leftovers(&s));
        }
    }

    #[tokio::test]
    async fn a_failed_rollback_says_where_the_old_content_is() {
        let s = scratch();
        let gpo = GpoId::new_random();
        s.sysvol.write_folder(&PolicyPath::gpo(&gpo), &old_content()).await.unwrap();
        // The swap's second rename and the rollback's rename both fail.
        let faulty = FaultySysvol::new(&s.sysvol, Call::Rename, 2).sticky();
        let err = faulty.replace_gpo_folder(&gpo, &fixture_content(), None).await.unwrap_err();
        let text = err.to_string();
        let aside = leftovers(&s).into_iter().find(|n| n.starts_with("gpvault-old.")).expect("old content aside");
        assert!(text.contains(&aside), "{text}");
        assert_eq!(read_tree(&s.policies.join(&aside)).unwrap(), old_content());
    }

    #[tokio::test]
    async fn a_failed_cleanup_is_a_leftover_not_a_failure() {
        let s = scratch();
        let gpo = GpoId::new_random();
        s.sysvol.write_folder(&PolicyPath::gpo(&gpo), &old_content()).await.unwrap();
        let faulty = FaultySysvol::new(&s.sysvol, Call::DeleteTree, 1);
        let report = faulty.replace_gpo_folder(&gpo, &fixture_content(), None).await.unwrap();
        assert_eq!(on_disk(&s, &gpo), fixture_content());
        let (path, reason) = report.leftover.expect("leftover reported");
        assert!(path.as_str().starts_with("gpvault-old."), "{path}");
        assert!(reason.contains("injected"), "{reason}");
        assert_eq!(read_tree(&s.policies.join(path.as_str())).unwrap(), old_content());
    }

    #[tokio::test]
    async fn bad_content_is_refused_before_anything_is_written() {
        let s = scratch();
        let gpo = GpoId::new_random();
        s.sysvol.write_folder(&PolicyPath::gpo(&gpo), &old_content()).await.unwrap();
        for bad in [
            vec![
                FolderEntry::File { rel_path: "GPT.INI".into(), bytes: vec![] },
                FolderEntry::File { rel_path: "gpt.ini".into(), bytes: vec![] },
            ],
            vec![FolderEntry::File { rel_path: "../escape".into(), bytes: vec![] }],
            vec![
                FolderEntry::Dir { rel_path: "Machine".into() },
                FolderEntry::File { rel_path: "machine".into(), bytes: vec![] },
            ],
        ] {
            let err = s.sysvol.replace_gpo_folder(&gpo, &GpoFolder { entries: bad }, None).await.unwrap_err();
            assert!(
                matches!(&err, SysvolError::ReplaceFailed { step: ReplaceStep::CheckingContent, source, .. }
                    if matches!(**source, SysvolError::InvalidPath { .. })),
                "{err}"
            );
            assert_eq!(on_disk(&s, &gpo), old_content());
            assert!(leftovers(&s).is_empty());
        }
    }

    #[tokio::test]
    async fn nt_acls_on_a_local_folder_are_refused_and_leave_the_old_folder() {
        let s = scratch();
        let gpo = GpoId::new_random();
        s.sysvol.write_folder(&PolicyPath::gpo(&gpo), &old_content()).await.unwrap();
        let golden = include_str!("../model/testdata/sddl_golden.tsv");
        let hex_sd = golden.lines().find(|l| l.starts_with("fixture:")).unwrap().split('\t').nth(2).unwrap();
        let sd = SecurityDescriptor::from_bytes(&hex::decode(hex_sd).unwrap()).unwrap();
        let err = s.sysvol.replace_gpo_folder(&gpo, &fixture_content(), Some(&sd)).await.unwrap_err();
        assert!(
            matches!(&err, SysvolError::ReplaceFailed { step: ReplaceStep::SettingSecurity, source, .. }
                if matches!(**source, SysvolError::Unsupported { .. })),
            "{err}"
        );
        assert!(err.to_string().contains("SMB"), "says what to do: {err}");
        assert_eq!(on_disk(&s, &gpo), old_content());
        assert!(leftovers(&s).is_empty());
    }
}
