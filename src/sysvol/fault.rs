//! A `Sysvol` that passes everything to another one but fails one chosen primitive call, so
//! tests can break a composed write (a folder replacement) at any step.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use super::{EntryKind, GpoFolder, PolicyPath, Sysvol, SysvolError};
use crate::model::{GpoId, SecurityDescriptor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    WriteFile,
    CreateFolder,
    Rename,
    SetSecurity,
    DeleteTree,
}

/// Fails the `nth` (1-based) call of kind `call`, and every later one of that kind when `sticky`.
pub(crate) struct FaultySysvol<'a> {
    pub inner: &'a dyn Sysvol,
    pub call: Call,
    pub nth: usize,
    pub sticky: bool,
    seen: [AtomicUsize; 5],
}

impl<'a> FaultySysvol<'a> {
    pub fn new(inner: &'a dyn Sysvol, call: Call, nth: usize) -> Self {
        FaultySysvol { inner, call, nth, sticky: false, seen: Default::default() }
    }

    pub fn sticky(mut self) -> Self {
        self.sticky = true;
        self
    }

    fn check(&self, call: Call, path: &PolicyPath) -> Result<(), SysvolError> {
        let index = call as usize;
        let count = self.seen[index].fetch_add(1, Ordering::AcqRel) + 1;
        if call == self.call && (count == self.nth || (self.sticky && count > self.nth)) {
            return Err(SysvolError::WriteFailed {
                path: path.to_string(),
                reason: format!("injected failure of {call:?} call {count}"),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl Sysvol for FaultySysvol<'_> {
    async fn read_gpo_folder(&self, gpo: &GpoId, unc_path: &str) -> Result<GpoFolder, SysvolError> {
        self.inner.read_gpo_folder(gpo, unc_path).await
    }
    async fn read_gpo_folder_with_security(
        &self,
        gpo: &GpoId,
        unc_path: &str,
    ) -> Result<(GpoFolder, Option<super::FolderSecurity>), SysvolError> {
        self.inner.read_gpo_folder_with_security(gpo, unc_path).await
    }
    async fn list_gpo_folders(&self) -> Result<Vec<String>, SysvolError> {
        self.inner.list_gpo_folders().await
    }
    async fn list_policies_folders(&self) -> Result<Vec<String>, SysvolError> {
        self.inner.list_policies_folders().await
    }
    fn describe(&self) -> String {
        format!("faulty {}", self.inner.describe())
    }
    async fn entry_kind(&self, path: &PolicyPath) -> Result<Option<EntryKind>, SysvolError> {
        self.inner.entry_kind(path).await
    }
    async fn list_folder(&self, path: &PolicyPath) -> Result<Vec<(String, EntryKind)>, SysvolError> {
        self.inner.list_folder(path).await
    }
    async fn create_folder(&self, path: &PolicyPath) -> Result<(), SysvolError> {
        self.check(Call::CreateFolder, path)?;
        self.inner.create_folder(path).await
    }
    async fn write_file(&self, path: &PolicyPath, bytes: &[u8]) -> Result<(), SysvolError> {
        self.check(Call::WriteFile, path)?;
        self.inner.write_file(path, bytes).await
    }
    async fn delete_file(&self, path: &PolicyPath) -> Result<(), SysvolError> {
        self.inner.delete_file(path).await
    }
    async fn delete_tree(&self, path: &PolicyPath) -> Result<(), SysvolError> {
        self.check(Call::DeleteTree, path)?;
        self.inner.delete_tree(path).await
    }
    async fn rename(&self, from: &PolicyPath, to: &PolicyPath) -> Result<(), SysvolError> {
        self.check(Call::Rename, from)?;
        self.inner.rename(from, to).await
    }
    async fn read_security(&self, path: &PolicyPath) -> Result<SecurityDescriptor, SysvolError> {
        self.inner.read_security(path).await
    }
    async fn set_security(&self, path: &PolicyPath, sd: &SecurityDescriptor) -> Result<(), SysvolError> {
        self.check(Call::SetSecurity, path)?;
        self.inner.set_security(path, sd).await
    }
}
