//! `<FilePaths>`: the UNC paths GPMC's path-validating hooks find in a GPO's settings, recorded so
//! that a migration table can map them. Empty in more than 99 % of real backups; filled only by
//! (docs/GPMC-FORMAT-NOTES.md):
//! * Folder Redirection (`FRValidateSettings`): every `FullPath=` value of fdeploy1.ini; entries
//!   with only RelativePath/ParentFolder, or no path, add nothing;
//! * Software Installation (`SIProcessPackageObject`): the folder of each package's msiFileList
//!   entry (`0:\\SRV\share$\app.msi` gives `\\SRV\share$`);
//! * Scripts (`ScriptsValidatePaths`): the folder of each script scripts.ini names by UNC path.
//!
//! Only files under their own extension's hook count: a fdeploy1.ini in "Unknown Extension" adds
//! nothing. In the real samples the order is the reverse of first appearance, as if GPMC put each
//! new path in front of the list; gpvault does so for all three hooks, taking the blocks in
//! document order (the order across hooks is not established by any sample).

use super::{DsObject, ExtensionBlock, ExtensionItem, FsObject, re_evaluate};
use crate::formats::text::decode_utf8_or_utf16;

const LOCATION_ROOT: &str = r"DomainSysvol\GPO\";

/// The `<FilePaths>` values GPMC would record for `blocks`. `read_file` returns the bytes of a
/// file of the GPO folder, named relative to it with `/` separators (`User/Documents &
/// Settings/fdeploy1.ini`, as the entry's `bkp:Location` has it below `DomainSysvol\GPO`).
pub fn gpmc_file_paths(blocks: &[ExtensionBlock], read_file: &dyn Fn(&str) -> Option<Vec<u8>>) -> Vec<String> {
    let mut paths = Vec::new();
    for block in blocks {
        for item in &block.items {
            match item {
                ExtensionItem::Object(object) => {
                    for found in hooked_paths(object, read_file) {
                        put_in_front(&mut paths, found);
                    }
                }
                ExtensionItem::Directory(store) => {
                    for package in store.walk() {
                        for found in package_folders(package) {
                            put_in_front(&mut paths, found);
                        }
                    }
                }
                ExtensionItem::Other(_) => {}
            }
        }
    }
    paths
}

fn put_in_front(paths: &mut Vec<String>, path: String) {
    if !paths.iter().any(|p| p.eq_ignore_ascii_case(&path)) {
        paths.insert(0, path);
    }
}

/// Paths found by the hook on `object` (or on an entry nested in it), in file order.
fn hooked_paths(object: &FsObject, read_file: &dyn Fn(&str) -> Option<Vec<u8>>) -> Vec<String> {
    let mut found = Vec::new();
    for entry in object.walk() {
        let hook = entry.re_evaluate_function.as_deref();
        let targets: Vec<&FsObject> = match hook {
            // The wildcard carries the hook; the files it matched are its children.
            Some(re_evaluate::FOLDER_REDIRECTION) => {
                entry.walk().into_iter().filter(|f| is_named(f, "fdeploy1.ini")).collect()
            }
            Some(re_evaluate::SCRIPTS) => vec![entry],
            _ => continue,
        };
        for target in targets {
            let Some(text) = target.location.as_deref().and_then(|l| read_text(l, read_file)) else { continue };
            match hook {
                Some(re_evaluate::FOLDER_REDIRECTION) => {
                    found.extend(ini_values(&text, |k| k.eq_ignore_ascii_case("FullPath")))
                }
                _ => found.extend(
                    ini_values(&text, |k| k.to_ascii_lowercase().ends_with("cmdline"))
                        .iter()
                        .filter_map(|p| unc_folder(p)),
                ),
            }
        }
    }
    found
}

fn is_named(object: &FsObject, name: &str) -> bool {
    object.path.rsplit('\\').next().is_some_and(|n| n.eq_ignore_ascii_case(name))
}

fn read_text(location: &str, read_file: &dyn Fn(&str) -> Option<Vec<u8>>) -> Option<String> {
    let relative = location.strip_prefix(LOCATION_ROOT)?.replace('\\', "/");
    let bytes = read_file(&relative)?;
    decode_utf8_or_utf16(&bytes, &relative).ok()
}

/// Non-empty values of the keys `wanted` accepts, in file order.
fn ini_values(text: &str, wanted: impl Fn(&str) -> bool) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.trim().split_once('='))
        .filter(|(key, _)| wanted(key.trim()))
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty())
        .collect()
}

/// `\\srv\share\dir\x.cmd` → `\\srv\share\dir`; `None` unless a UNC path below a share.
fn unc_folder(path: &str) -> Option<String> {
    let rest = path.strip_prefix(r"\\")?;
    let (folder, _file) = rest.rsplit_once('\\')?;
    // What is left must still name a host and a share.
    folder.contains('\\').then(|| format!(r"\\{folder}"))
}

/// The folders of a package's msiFileList entries (`0:\\SRV\share$\app.msi`).
fn package_folders(package: &DsObject) -> Vec<String> {
    if package.re_evaluate_function.as_deref() != Some(re_evaluate::SOFTWARE_INSTALLATION_PACKAGE) {
        return Vec::new();
    }
    let Some(list) = package.attribute("msiFileList") else { return Vec::new() };
    list.values
        .iter()
        .filter_map(|entry| {
            let path = match entry.split_once(':') {
                Some((index, rest)) if index.chars().all(|c| c.is_ascii_digit()) => rest,
                _ => entry.as_str(),
            };
            unc_folder(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unc_folders_need_a_share() {
        assert_eq!(unc_folder(r"\\SRV\share$\app.msi").as_deref(), Some(r"\\SRV\share$"));
        assert_eq!(unc_folder(r"\\srv\share\dir\go.cmd").as_deref(), Some(r"\\srv\share\dir"));
        assert_eq!(unc_folder(r"\\srv\share"), None);
        assert_eq!(unc_folder(r"C:\Windows\x.cmd"), None);
    }

    #[test]
    fn ini_values_keep_file_order_and_skip_empty_ones() {
        let text =
            "\r\n     \r\n[a]\r\nFullPath=\\\\x\\1\r\nFlags=2\r\n[b]\r\nfullpath = \r\n[c]\r\nFullPath=\\\\x\\2\r\n";
        assert_eq!(ini_values(text, |k| k.eq_ignore_ascii_case("FullPath")), [r"\\x\1", r"\\x\2"]);
    }
}
