//! Which extension block each file of a GPO folder belongs to, as GPMC decides it.
//!
//! Rules, from GPMC backups (fixtures and public repositories):
//! * Registry (always present): `Machine\registry.pol`, `User\registry.pol`, and the wildcard
//!   `%GPO_FSPATH%\Adm\*.*`, which claims the ADM files without copying them (GPMC does not
//!   back up ADM files).
//! * Security, when the GPO's machine extensions list it: `Machine\microsoft\windows
//!   nt\SecEdit\GptTmpl.inf`, with `SecurityValidateSettings`. Without the extension listed the
//!   file is a plain file in "Unknown Extension".
//! * Scripts, when either side lists it: scripts.ini (`ScriptsValidatePaths`), psscripts.ini,
//!   and a folder wildcard and a file wildcard per script folder (Startup, Shutdown, Logon,
//!   Logoff) listing everything below it. The `Scripts` folder itself stays in the catch-all.
//! * Folder Redirection, when the user side lists it: the files of `User\Documents &
//!   Settings` under a wildcard with `FRValidateSettings`, fdeploy1.ini first, then
//!   fdeploy.ini (then any other file, by name).
//! * Software Installation, when either side lists it: the class stores read from AD, each
//!   package with its `.aas` file (the one its msiScriptPath names). An `.aas` file no package
//!   names stays in "Unknown Extension"; so does the `Applications` folder itself.
//! * Everything else — Group Policy Preferences XML, comment.cmtx, GPO.cmt, audit.csv, empty
//!   folders, and the folders above claimed files — goes to "Unknown Extension", depth first,
//!   each folder's entries sorted case-insensitively. GPT.INI is never listed (it is part of
//!   the GPO's core data).

use std::collections::HashSet;

use super::class_store::{ClassStoreSource, class_stores_from_directory};
use super::{ExtensionBlock, ExtensionItem, FsObject, FsObjectKind, extension_ids as ids, path_vars, re_evaluate};
use crate::model::{ExtensionList, GpoId, GpoSide, parse_guid};

/// One file or folder in a GPO's SYSVOL folder, relative to the GPO folder
/// (`Machine/registry.pol`; `/` or `\` separators). Folders are implied by the files below
/// them, so only empty folders need listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpoFileEntry {
    pub path: String,
    pub is_dir: bool,
}

impl GpoFileEntry {
    pub fn file(path: impl Into<String>) -> Self {
        GpoFileEntry { path: path.into(), is_dir: false }
    }
    pub fn dir(path: impl Into<String>) -> Self {
        GpoFileEntry { path: path.into(), is_dir: true }
    }
}

/// The UNC root GPMC puts in `bkp:SourceExpandedPath`: the domain controller it read from,
/// a lower-case `sysvol`, then the usual path (`\\DC-01.corp.test\sysvol\corp.test\Policies\{GUID}`).
pub fn gpmc_source_root(controller: &str, domain: &str, gpo: &GpoId) -> String {
    format!(r"\\{controller}\sysvol\{domain}\Policies\{gpo}")
}

#[derive(Debug)]
struct Node {
    name: String,
    is_dir: bool,
    children: Vec<Node>,
}

fn upper(name: &str) -> String {
    name.to_uppercase()
}

fn insert(nodes: &mut Vec<Node>, components: &[&str], is_dir: bool) {
    let Some((first, rest)) = components.split_first() else {
        return;
    };
    let position = nodes.iter().position(|n| upper(&n.name) == upper(first));
    let index = match position {
        Some(i) => i,
        None => {
            nodes.push(Node { name: first.to_string(), is_dir: false, children: Vec::new() });
            nodes.len() - 1
        }
    };
    let node = &mut nodes[index];
    if !rest.is_empty() || is_dir {
        node.is_dir = true;
    }
    insert(&mut node.children, rest, is_dir);
}

fn sort(nodes: &mut [Node]) {
    // Windows orders directory entries by their upper-cased names.
    nodes.sort_by_key(|n| upper(&n.name));
    for n in nodes {
        sort(&mut n.children);
    }
}

fn lookup<'a>(nodes: &'a [Node], components: &[&str]) -> Option<&'a Node> {
    let (first, rest) = components.split_first()?;
    let node = nodes.iter().find(|n| upper(&n.name) == upper(first))?;
    if rest.is_empty() { Some(node) } else { lookup(&node.children, rest) }
}

/// Every node below `nodes`, depth first, with its components relative to `nodes`.
fn preorder<'a>(nodes: &'a [Node], prefix: &[String], out: &mut Vec<(Vec<String>, &'a Node)>) {
    for node in nodes {
        let mut path = prefix.to_vec();
        path.push(node.name.clone());
        out.push((path.clone(), node));
        preorder(&node.children, &path, out);
    }
}

struct Builder<'a> {
    root: &'a str,
}

impl Builder<'_> {
    /// An entry for `components` (relative to the GPO folder, first one Machine/User or not).
    fn object(&self, kind: FsObjectKind, components: &[String], with_location: bool) -> FsObject {
        let (var, side, rest): (&str, Option<&str>, &[String]) = match components.split_first() {
            Some((first, rest)) if first.eq_ignore_ascii_case("Machine") => (path_vars::MACHINE, Some("Machine"), rest),
            Some((first, rest)) if first.eq_ignore_ascii_case("User") => (path_vars::USER, Some("User"), rest),
            _ => (path_vars::GPO, None, components),
        };
        let relative = rest.join("\\");
        let on_side = match side {
            Some(side) if relative.is_empty() => side.to_string(),
            Some(side) => format!("{side}\\{relative}"),
            None => relative.clone(),
        };
        let mut object = FsObject::new(kind, format!("{var}\\{relative}"));
        object.source_expanded_path = Some(format!("{}\\{on_side}", self.root));
        if with_location {
            object.location = Some(format!("DomainSysvol\\GPO\\{on_side}"));
        }
        object
    }
}

fn strings(components: &[&str]) -> Vec<String> {
    components.iter().map(|s| s.to_string()).collect()
}

fn key(components: &[String]) -> String {
    upper(&components.join("\\"))
}

fn lists(list: &ExtensionList, id: &str) -> bool {
    let Ok(wanted) = parse_guid(id) else {
        return false;
    };
    list.cse_ids().any(|c| *c == wanted)
}

/// Builds the extension blocks GPMC would write for a GPO folder holding `entries`, whose AD
/// object lists `machine` and `user` client-side extensions. `source_root` is the UNC path of
/// the GPO folder as GPMC records it (see [`gpmc_source_root`]); `class_store` the GPO's
/// objects in AD, for the Software Installation block.
pub fn build_extension_blocks(
    source_root: &str,
    entries: &[GpoFileEntry],
    machine: &ExtensionList,
    user: &ExtensionList,
    class_store: Option<&ClassStoreSource<'_>>,
) -> Vec<ExtensionBlock> {
    let mut tree = Vec::new();
    for entry in entries {
        let components: Vec<&str> = entry.path.split(['/', '\\']).filter(|c| !c.is_empty() && *c != ".").collect();
        if components.len() == 1 && components[0].eq_ignore_ascii_case("GPT.INI") {
            continue;
        }
        insert(&mut tree, &components, entry.is_dir);
    }
    sort(&mut tree);

    let b = Builder { root: source_root.trim_end_matches('\\') };
    let mut claimed: HashSet<String> = HashSet::new();
    let exists_file = |components: &[&str]| lookup(&tree, components).is_some_and(|n| !n.is_dir);
    let mut blocks = Vec::new();

    // Registry: always written, three lines.
    let mut registry = block(ids::REGISTRY, "Registry");
    for side in ["Machine", "User"] {
        if exists_file(&[side, "registry.pol"]) {
            let path = strings(&[side, "registry.pol"]);
            registry.items.push(ExtensionItem::Object(b.object(FsObjectKind::File, &path, true)));
            claimed.insert(key(&path));
        }
    }
    registry.items.push(ExtensionItem::Object(b.object(FsObjectKind::File, &strings(&["Adm", "*.*"]), false)));
    if let Some(adm) = lookup(&tree, &["Adm"]) {
        for file in adm.children.iter().filter(|n| !n.is_dir) {
            claimed.insert(key(&strings(&["Adm", &file.name])));
        }
    }
    blocks.push(registry);

    // In the order of GPMC's template (layout.rs), so that what is written reads back the same.
    // Folder Redirection (user side only).
    if lists(user, ids::FOLDER_REDIRECTION) {
        let mut fr = block(ids::FOLDER_REDIRECTION, "Folder Redirection");
        let base = strings(&["User", "Documents & Settings"]);
        let mut wildcard_path = base.clone();
        wildcard_path.push("*".into());
        let mut wildcard = b.object(FsObjectKind::File, &wildcard_path, false);
        wildcard.re_evaluate_function = Some(re_evaluate::FOLDER_REDIRECTION.to_string());
        if let Some(node) = lookup(&tree, &["User", "Documents & Settings"]) {
            let mut files: Vec<&Node> = node.children.iter().filter(|n| !n.is_dir).collect();
            // GPMC lists fdeploy1.ini before fdeploy.ini.
            files.sort_by_key(|n| match upper(&n.name).as_str() {
                "FDEPLOY1.INI" => 0,
                "FDEPLOY.INI" => 1,
                _ => 2,
            });
            for file in files {
                let mut path = base.clone();
                path.push(file.name.clone());
                wildcard.children.push(ExtensionItem::Object(b.object(FsObjectKind::File, &path, true)));
                claimed.insert(key(&path));
            }
        }
        fr.items.push(ExtensionItem::Object(wildcard));
        blocks.push(fr);
    }

    // Scripts.
    if lists(machine, ids::SCRIPTS) || lists(user, ids::SCRIPTS) {
        let mut scripts = block(ids::SCRIPTS, "Scripts");
        for (side, folders) in [("Machine", ["Startup", "Shutdown"]), ("User", ["Logon", "Logoff"])] {
            for (ini, function) in [("scripts.ini", Some(re_evaluate::SCRIPTS)), ("PSscripts.ini", None)] {
                if exists_file(&[side, "Scripts", ini]) {
                    let path = strings(&[side, "Scripts", ini]);
                    let mut object = b.object(FsObjectKind::File, &path, true);
                    object.re_evaluate_function = function.map(str::to_string);
                    // GPMC puts the function before the location; FsObject writes it so.
                    scripts.items.push(ExtensionItem::Object(object));
                    claimed.insert(key(&path));
                }
            }
            for folder in folders {
                let base = strings(&[side, "Scripts", folder]);
                let mut wildcard_path = base.clone();
                wildcard_path.push("*".into());
                let mut dirs = b.object(FsObjectKind::Dir, &wildcard_path, false);
                let mut files = b.object(FsObjectKind::File, &wildcard_path, false);
                if let Some(node) = lookup(&tree, &[side, "Scripts", folder]).filter(|n| n.is_dir) {
                    dirs.children.push(ExtensionItem::Object(b.object(FsObjectKind::Dir, &base, true)));
                    claimed.insert(key(&base));
                    let mut below = Vec::new();
                    preorder(&node.children, &base, &mut below);
                    for (path, n) in &below {
                        let kind = if n.is_dir { FsObjectKind::Dir } else { FsObjectKind::File };
                        let target = if n.is_dir { &mut dirs } else { &mut files };
                        target.children.push(ExtensionItem::Object(b.object(kind, path, true)));
                        claimed.insert(key(path));
                    }
                }
                scripts.items.push(ExtensionItem::Object(dirs));
                scripts.items.push(ExtensionItem::Object(files));
            }
        }
        blocks.push(scripts);
    }

    // Security.
    if lists(machine, ids::SECURITY) {
        let mut security = block(ids::SECURITY, "Security");
        let template = ["Machine", "microsoft", "windows nt", "SecEdit", "GptTmpl.inf"];
        if exists_file(&template) {
            let path = strings(&template);
            let mut object = b.object(FsObjectKind::File, &path, true);
            object.re_evaluate_function = Some(re_evaluate::SECURITY.to_string());
            security.items.push(ExtensionItem::Object(object));
            claimed.insert(key(&path));
        }
        blocks.push(security);
    }

    // Software Installation: the class stores, each package with its .aas file.
    if lists(machine, ids::SOFTWARE_INSTALLATION) || lists(user, ids::SOFTWARE_INSTALLATION) {
        let mut si = block(ids::SOFTWARE_INSTALLATION, "Software Installation");
        if let Some(source) = class_store {
            let mut aas_file = |side: GpoSide, name: &str| {
                let side = if side == GpoSide::Machine { "Machine" } else { "User" };
                let apps = lookup(&tree, &[side, "Applications"])?;
                let mut below = Vec::new();
                preorder(&apps.children, &strings(&[side, "Applications"]), &mut below);
                let (path, _) = below.into_iter().find(|(path, node)| {
                    !node.is_dir && node.name.eq_ignore_ascii_case(name) && !claimed.contains(&key(path))
                })?;
                claimed.insert(key(&path));
                Some(b.object(FsObjectKind::File, &path, true))
            };
            si.items
                .extend(class_stores_from_directory(source, &mut aas_file).into_iter().map(ExtensionItem::Directory));
        }
        blocks.push(si);
    }

    // Everything not claimed, as plain files and folders.
    let mut catch_all = block(ids::UNKNOWN_EXTENSION, "Unknown Extension");
    let mut all = Vec::new();
    preorder(&tree, &[], &mut all);
    for (path, node) in all {
        let is_side_root =
            path.len() == 1 && (path[0].eq_ignore_ascii_case("Machine") || path[0].eq_ignore_ascii_case("User"));
        if is_side_root || claimed.contains(&key(&path)) {
            continue;
        }
        let kind = if node.is_dir { FsObjectKind::Dir } else { FsObjectKind::File };
        catch_all.items.push(ExtensionItem::Object(b.object(kind, &path, true)));
    }
    blocks.push(catch_all);
    blocks
}

fn block(id: &str, name: &str) -> ExtensionBlock {
    ExtensionBlock { id: id.to_string(), desc_name: name.to_string(), ..Default::default() }
}
