//! Copy without a DC, on the restore's in-memory directory and local SYSVOL (the real thing,
//! across two domains, is covered end to end in tests/import_copy_e2e.rs).

use std::sync::Arc;

use super::*;
use crate::model::Version;
use crate::ops::NoProgress;
use crate::ops::restore::tests::{Lab, class_store, descriptors, folder, gpo};

#[test]
fn a_copy_is_named_as_gpmc_names_it() {
    assert_eq!(default_name("Baseline", true), "Copy of Baseline");
    assert_eq!(default_name("Baseline", false), "Baseline");
}

#[tokio::test]
async fn a_copy_is_a_new_gpo_with_the_defaults_or_the_source_permissions_and_the_source_untouched() {
    let lab = Lab::new();
    let mut source = gpo("Source", Version { user: 2, machine: 3 });
    source.security_descriptor = Some(descriptors()[2].clone());
    lab.add(&source, &folder(source.version, b"PReg source"), &[(1, true, false)], class_store(&source));
    let source_disk = lab.on_disk(&source.id);
    let source_children = lab.directory.state().children.get(&source.id).cloned();

    let planned = plan(&lab.session, &lab.session, "Source", &CopyOptions::default(), &NoProgress).await.unwrap();
    assert!(lab.directory.state().writes.is_empty(), "a plan writes nothing");
    assert_eq!(planned.copy.name, "Copy of Source");
    let description = planned.describe();
    assert!(description.title.starts_with("Copy GPO \"Source\""), "{}", description.title);
    assert!(description.changes.iter().all(|c| c.action != "set the DACL"), "{description:?}");
    assert!(description.notes.iter().any(|n| n == "permissions: the defaults of corp.example.test for a new GPO"));

    let id = planned.copy.gpo;
    let report = execute(&lab.session, planned, &RunOptions::new(1), Arc::new(NoProgress)).await.unwrap();
    assert!(report.all_succeeded(), "{:?}", report.summary());
    let copy = lab.directory.gpo(&id).unwrap();
    assert_ne!(id, source.id);
    assert_eq!(copy.display_name, "Copy of Source");
    assert_eq!(copy.version, Version { user: 3, machine: 4 });
    assert_eq!(copy.machine_extensions, source.machine_extensions);
    assert_eq!(copy.security_descriptor, Some(descriptors()[1].clone()), "the directory's default, not written");
    assert_eq!(lab.on_disk(&id).file("Machine/registry.pol"), Some(&b"PReg source"[..]));
    let children = lab.directory.state().children.get(&id).cloned().unwrap_or_default();
    assert_eq!(children.len(), 3);
    assert!(children.iter().all(|o| o.dn.to_lowercase().ends_with(&copy.dn.to_lowercase())));
    // The source: as it was.
    assert_eq!(lab.directory.gpo(&source.id).unwrap(), source);
    assert_eq!(lab.on_disk(&source.id), source_disk);
    assert_eq!(lab.directory.state().children.get(&source.id).cloned(), source_children);

    // The same name again is refused before anything is made.
    let again = plan(&lab.session, &lab.session, "Source", &CopyOptions::default(), &NoProgress).await;
    assert!(matches!(again, Err(CopyError::NameTaken { existing, .. }) if existing == id));

    // The source's permissions, when asked.
    let kept = CopyOptions { name: Some("Kept".into()), preserve_acl: true, ..Default::default() };
    let planned = plan(&lab.session, &lab.session, "Source", &kept, &NoProgress).await.unwrap();
    let id = planned.copy.gpo;
    let report = execute(&lab.session, planned, &RunOptions::new(1), Arc::new(NoProgress)).await.unwrap();
    assert!(report.all_succeeded(), "{:?}", report.summary());
    let dacl = |g: &Gpo| g.security_descriptor.as_ref().map(|sd| sd.dacl.clone());
    assert_eq!(dacl(&lab.directory.gpo(&id).unwrap()), dacl(&source));

    // A failure deletes the new GPO again.
    lab.directory.state().fail = Some("add_gpo_objects");
    let broken = CopyOptions { name: Some("Broken".into()), ..Default::default() };
    let planned = plan(&lab.session, &lab.session, "Source", &broken, &NoProgress).await.unwrap();
    let id = planned.copy.gpo;
    let report = execute(&lab.session, planned, &RunOptions::new(1), Arc::new(NoProgress)).await.unwrap();
    assert!(report.failed().next().is_some());
    assert!(lab.directory.gpo(&id).is_none(), "deleted again");
    assert!(!lab.policies.join(id.to_string()).exists(), "no folder left");
}
