//! Import without a DC, on the restore's in-memory directory and local SYSVOL (the real thing
//! is covered end to end in tests/import_copy_e2e.rs).

use std::sync::Arc;

use super::*;
use crate::model::{AttributeValue, ExtensionList, GpoFlags, Version};
use crate::ops::NoProgress;
use crate::ops::restore::Rollback;
use crate::ops::restore::tests::{Lab, class_store, descriptors, folder, gpo};

fn sddl(gpo: &Gpo) -> Option<String> {
    gpo.security_descriptor.as_ref().map(|sd| sd.to_sddl(None))
}

#[tokio::test]
async fn an_import_writes_the_settings_only_and_puts_the_gpo_back_on_failure() {
    let lab = Lab::new();
    let source = gpo("Source", Version { user: 3, machine: 5 });
    let mut target = gpo("Target", Version { user: 1, machine: 1 });
    target.flags = GpoFlags(1);
    target.security_descriptor = Some(descriptors()[2].clone());
    target.machine_extensions = ExtensionList::default();
    lab.add(&source, &folder(source.version, b"PReg source"), &[], class_store(&source));
    lab.add(&target, &folder(target.version, b"PReg target"), &[(1, true, false)], vec![]);
    let backup_id = lab.back_up(&source.id);
    let before = lab.directory.gpo(&target.id).unwrap();
    let links_before = lab.directory.state().gplinks.clone();

    let options = ImportOptions::default();
    let planned = plan(&lab.session, lab.backups.clone(), &backup_id, "Target", &options, &NoProgress).await.unwrap();
    assert!(lab.directory.state().writes.is_empty(), "a plan writes nothing");
    assert_eq!(lab.on_disk(&target.id), folder(target.version, b"PReg target"));
    let description = planned.describe();
    let title =
        format!("Import the settings of backup {backup_id} (GPO \"Source\" of corp.example.test) into GPO \"Target\"");
    assert!(description.title.starts_with(&title), "{}", description.title);
    assert!(description.changes.iter().any(|c| c.action == "import the settings"), "{description:?}");
    assert!(description.changes.iter().all(|c| !c.action.contains("DACL")), "the DACL stays: {description:?}");
    assert!(description.notes.iter().any(|n| n.starts_with("no migration table")), "{description:?}");

    let report = execute(&lab.session, planned, &RunOptions::new(1), Arc::new(NoProgress)).await.unwrap();
    assert!(report.all_succeeded(), "{:?}", report.summary());
    let done = report.succeeded().next().unwrap().1.clone();
    assert_eq!(done.version, Version { user: 4, machine: 6 }, "one more than the larger, per half");
    assert!(done.to_string().starts_with(&format!("settings imported from {backup_id}")), "{done}");
    let after = lab.directory.gpo(&target.id).unwrap();
    assert_eq!(
        (&after.display_name, after.flags, &after.wmi_filter_link, sddl(&after)),
        (&before.display_name, before.flags, &before.wmi_filter_link, sddl(&before)),
        "name, status, WMI filter and DACL stay"
    );
    assert_eq!(after.machine_extensions, source.machine_extensions, "the backup's extension names");
    assert_eq!(after.version, done.version);
    assert_eq!(lab.directory.state().gplinks, links_before, "links stay");
    assert!(lab.directory.state().writes.iter().all(|w| !w.starts_with("set_gpo_dacl")));
    let on_disk = lab.on_disk(&target.id);
    assert_eq!(on_disk.file("Machine/registry.pol"), Some(&b"PReg source"[..]));
    let gpt_ini = String::from_utf8_lossy(on_disk.file("GPT.INI").unwrap()).into_owned();
    assert!(gpt_ini.contains(&format!("Version={}", done.version.raw())), "{gpt_ini}");
    let children = lab.directory.state().children.get(&target.id).cloned().unwrap_or_default();
    assert_eq!(children.len(), 3, "the package and its class store, below the target");
    assert!(children.iter().all(|o| o.dn.to_lowercase().ends_with(&target.dn.to_lowercase())));
    let safety = done.safety_backup.clone().expect("a safety backup");
    assert!(lab.backups.join(&safety).join("Backup.xml").is_file());

    // A directory write failing after SYSVOL: the GPO is put back as it was just now.
    let before = lab.directory.gpo(&target.id).unwrap();
    let (disk_before, children_before) = (lab.on_disk(&target.id), children);
    lab.directory.state().fail = Some("delete_gpo_objects");
    let planned = plan(&lab.session, lab.backups.clone(), &backup_id, "Target", &options, &NoProgress).await.unwrap();
    let report = execute(&lab.session, planned, &RunOptions::new(1), Arc::new(NoProgress)).await.unwrap();
    match report.failed().next() {
        Some((_, ImportItemError::Write(RestoreItemError::Failed { rollback: Rollback::PutBack, .. }))) => {}
        other => panic!("{other:?}"),
    }
    let now = lab.directory.gpo(&target.id).unwrap();
    assert_eq!(
        (now.version, &now.machine_extensions, sddl(&now)),
        (before.version, &before.machine_extensions, sddl(&before))
    );
    assert_eq!(lab.on_disk(&target.id), disk_before);
    assert_eq!(lab.directory.state().children.get(&target.id).cloned().unwrap_or_default(), children_before);
}

#[test]
fn advertise_scripts_are_pointed_at_the_gpo_they_are_written_below() {
    let text = |v: &str| vec![AttributeValue::Text(v.into())];
    let mut objects = vec![DirectoryObject {
        dn: "CN=x".into(),
        attributes: [
            (
                "msiScriptPath".to_string(),
                text(r"\\corp.example.test\SysVol\corp.example.test\POLICIES\{188E3414-AEA3-44D8-A2B8-FFC1E61CE984}\Machine\Applications\{A}.aas"),
            ),
            ("msiFileList".to_string(), text(r"0:\\fs01\software\7z.msi")),
        ]
        .into(),
    }];
    let to = r"\\branch.example.test\SysVol\branch.example.test\Policies\{00000000-0000-0000-0000-00000000000B}";
    point_scripts_at(&mut objects, to);
    assert_eq!(objects[0].attributes["msiScriptPath"], text(&format!(r"{to}\Machine\Applications\{{A}}.aas")));
    assert_eq!(objects[0].attributes["msiFileList"], text(r"0:\\fs01\software\7z.msi"), "only the script path");
}
