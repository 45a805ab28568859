//! GPMC's fixed layout for the extension blocks of Backup.xml.
//!
//! GPMC fills a template: each known extension has a fixed place, and each file it knows in
//! that extension a fixed line; what is absent leaves its indentation and line end behind.
//! Hence the runs of blank-but-indented lines in every GPMC backup. Observed so far:
//!
//! * Registry block first, three lines: machine registry.pol, user registry.pol, `Adm\*.*`.
//! * Then nine slots: Folder Redirection in the second, Scripts in the third, Security in the
//!   fifth, Software Installation in the ninth; the others are blank in every backup examined.
//! * Scripts has twelve lines (scripts.ini, psscripts.ini, Startup/Shutdown wildcards, then the
//!   same for the user side); the psscripts lines are indented with a tab in GPMC's template.
//! * Folder Redirection has one line: the wildcard, its files inline.
//! * Software Installation has one blank line, then each class store from its own line, its
//!   start tag at eight spaces (the machine store is seen; a user store is assumed to follow
//!   it the same way).
//! * Then "Unknown Extension" on one line, closing the `GroupPolicyObject` on that line.
//!
//! Line ends are the document's (CRLF as GPMC writes them, LF for a file read with LF).

use super::{ExtensionBlock, ExtensionItem, FsObjectKind, extension_ids as ids, write_item};
use crate::formats::xml::XmlOut;

const BLOCK_INDENT: &str = "        ";
const ITEM_INDENT: &str = "            ";
const TAB_INDENT: &str = "\t    ";
const TEMPLATE_SLOTS: usize = 9;

/// One line of GPMC's template: its indentation and the entry it holds, if any.
struct Line {
    indent: &'static str,
    holds: Option<(FsObjectKind, &'static str)>,
}

const fn line(indent: &'static str, kind: FsObjectKind, path: &'static str) -> Line {
    Line { indent, holds: Some((kind, path)) }
}

const fn blank_line(indent: &'static str) -> Line {
    Line { indent, holds: None }
}

use FsObjectKind::{Dir, File};

const REGISTRY_LINES: &[Line] = &[
    line(ITEM_INDENT, File, r"%GPO_MACH_FSPATH%\registry.pol"),
    line(ITEM_INDENT, File, r"%GPO_USER_FSPATH%\registry.pol"),
    line(ITEM_INDENT, File, r"%GPO_FSPATH%\Adm\*.*"),
];

const SCRIPTS_LINES: &[Line] = &[
    line(ITEM_INDENT, File, r"%GPO_MACH_FSPATH%\Scripts\scripts.ini"),
    line(TAB_INDENT, File, r"%GPO_MACH_FSPATH%\Scripts\PSscripts.ini"),
    line(ITEM_INDENT, Dir, r"%GPO_MACH_FSPATH%\Scripts\Startup\*"),
    line(ITEM_INDENT, File, r"%GPO_MACH_FSPATH%\Scripts\Startup\*"),
    line(ITEM_INDENT, Dir, r"%GPO_MACH_FSPATH%\Scripts\Shutdown\*"),
    line(ITEM_INDENT, File, r"%GPO_MACH_FSPATH%\Scripts\Shutdown\*"),
    line(ITEM_INDENT, File, r"%GPO_USER_FSPATH%\Scripts\scripts.ini"),
    line(TAB_INDENT, File, r"%GPO_USER_FSPATH%\Scripts\PSscripts.ini"),
    line(ITEM_INDENT, Dir, r"%GPO_USER_FSPATH%\Scripts\Logon\*"),
    line(ITEM_INDENT, File, r"%GPO_USER_FSPATH%\Scripts\Logon\*"),
    line(ITEM_INDENT, Dir, r"%GPO_USER_FSPATH%\Scripts\Logoff\*"),
    line(ITEM_INDENT, File, r"%GPO_USER_FSPATH%\Scripts\Logoff\*"),
];

const SECURITY_LINES: &[Line] =
    &[line(ITEM_INDENT, File, r"%GPO_MACH_FSPATH%\microsoft\windows nt\SecEdit\GptTmpl.inf")];

const FOLDER_REDIRECTION_LINES: &[Line] = &[line(ITEM_INDENT, File, r"%GPO_USER_FSPATH%\Documents & Settings\*")];

/// The class stores are not template lines: they follow this one, each from a line of its own.
const SOFTWARE_INSTALLATION_LINES: &[Line] = &[blank_line(ITEM_INDENT)];

/// Template lines and slot of a known extension block.
fn template(id: &str) -> (&'static [Line], Option<usize>) {
    let is = |known: &str| id.eq_ignore_ascii_case(known);
    if is(ids::REGISTRY) {
        (REGISTRY_LINES, None)
    } else if is(ids::SCRIPTS) {
        (SCRIPTS_LINES, Some(2))
    } else if is(ids::SECURITY) {
        (SECURITY_LINES, Some(4))
    } else if is(ids::SOFTWARE_INSTALLATION) {
        (SOFTWARE_INSTALLATION_LINES, Some(8))
    } else if is(ids::FOLDER_REDIRECTION) {
        (FOLDER_REDIRECTION_LINES, Some(1))
    } else {
        (&[], None)
    }
}

pub(super) fn write_extensions(out: &mut XmlOut, blocks: &[ExtensionBlock], nl: &str) {
    let is_registry = |b: &ExtensionBlock| b.id.eq_ignore_ascii_case(ids::REGISTRY);
    let is_catch_all = |b: &ExtensionBlock| b.id.eq_ignore_ascii_case(ids::UNKNOWN_EXTENSION);

    for block in blocks.iter().filter(|b| is_registry(b)) {
        write_block(out, block, REGISTRY_LINES, nl);
    }

    let mut slots: Vec<Option<&ExtensionBlock>> = vec![None; TEMPLATE_SLOTS];
    let middle: Vec<&ExtensionBlock> = blocks.iter().filter(|b| !is_registry(b) && !is_catch_all(b)).collect();
    // Known extensions take their own slots first; the others the free slots after Security.
    let (known, unknown): (Vec<&ExtensionBlock>, Vec<&ExtensionBlock>) =
        middle.into_iter().partition(|b| template(&b.id).1.is_some());
    for block in known.into_iter().chain(unknown) {
        let preferred = template(&block.id).1.filter(|&i| slots[i].is_none());
        let free = || (5..TEMPLATE_SLOTS).chain(0..5).find(|&i| slots[i].is_none());
        match preferred.or_else(free) {
            Some(i) => slots[i] = Some(block),
            None => slots.push(Some(block)),
        }
    }
    for slot in slots {
        match slot {
            Some(block) => write_block(out, block, template(&block.id).0, nl),
            None => {
                out.raw(BLOCK_INDENT);
                out.raw(nl);
            }
        }
    }

    out.raw("    ");
    for block in blocks.iter().filter(|b| is_catch_all(b)) {
        let attrs = block_attributes(block);
        if block.items.is_empty() {
            out.empty("GroupPolicyExtension", &attrs);
        } else {
            out.start("GroupPolicyExtension", &attrs);
            for item in &block.items {
                write_item(out, item, nl);
            }
            out.end("GroupPolicyExtension");
        }
    }
}

fn block_attributes(block: &ExtensionBlock) -> Vec<(&str, &str)> {
    let mut attrs = vec![("bkp:ID", block.id.as_str()), ("bkp:DescName", block.desc_name.as_str())];
    attrs.extend(block.extra_attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    attrs
}

fn write_block(out: &mut XmlOut, block: &ExtensionBlock, lines: &[Line], nl: &str) {
    out.raw(BLOCK_INDENT);
    out.start("GroupPolicyExtension", &block_attributes(block));
    out.raw(nl);
    let mut written = vec![false; block.items.len()];
    for line in lines {
        out.raw(line.indent);
        let found = line.holds.and_then(|(kind, path)| {
            block.items.iter().enumerate().position(|(i, item)| {
                !written[i]
                    && matches!(item, ExtensionItem::Object(o) if o.kind == kind && o.path.eq_ignore_ascii_case(path))
            })
        });
        if let Some(i) = found {
            write_item(out, &block.items[i], nl);
            written[i] = true;
        }
        out.raw(nl);
    }
    for (item, done) in block.items.iter().zip(written) {
        if !done {
            // GPMC starts a class store at the block's indentation.
            let indent = if matches!(item, ExtensionItem::Directory(_)) { BLOCK_INDENT } else { ITEM_INDENT };
            out.raw(indent);
            write_item(out, item, nl);
            out.raw(nl);
        }
    }
    out.raw(BLOCK_INDENT);
    out.end("GroupPolicyExtension");
    out.raw(nl);
}
