//! Where a write lands: a path inside the domain's `Policies` folder, checked before anything
//! is written, so a bad name in a backup fails the whole write up front rather than half way.

use std::fmt;

use super::SysvolError;
use crate::model::GpoId;

/// A path below the domain's `Policies` folder, `/`-separated: `{GUID}`, `{GUID}/Machine/registry.pol`.
/// Every component is a plain name: no `.` or `..`, no separators, nothing Windows refuses in a name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyPath(String);

/// Characters no SMB server stores in a name (MS-FSCC 2.1.5.2).
const FORBIDDEN: &[char] = &['\\', '/', ':', '*', '?', '"', '<', '>', '|'];

fn check_component(path: &str, name: &str) -> Result<(), SysvolError> {
    let invalid = |reason: &str| SysvolError::InvalidPath { path: path.to_string(), reason: reason.to_string() };
    if name.is_empty() {
        return Err(invalid("it has an empty component (a doubled or trailing separator)"));
    }
    if name == "." || name == ".." {
        return Err(invalid("it climbs out of its folder with '.' or '..'"));
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN.contains(c) || c.is_control()) {
        return Err(invalid(&format!("the name '{name}' holds {c:?}, which Windows does not allow in a file name")));
    }
    if name.ends_with(' ') || name.ends_with('.') {
        return Err(invalid(&format!("the name '{name}' ends with a space or a dot, which Windows strips")));
    }
    Ok(())
}

impl PolicyPath {
    /// A GPO's own folder: `{GUID}`.
    pub fn gpo(gpo: &GpoId) -> PolicyPath {
        PolicyPath(gpo.to_string())
    }

    /// Checks a `/`-separated path (a `\` is taken as a separator too, as in GPMC's backups).
    pub fn parse(text: &str) -> Result<PolicyPath, SysvolError> {
        let normalised = text.replace('\\', "/");
        if normalised.is_empty() {
            return Err(SysvolError::InvalidPath {
                path: text.to_string(),
                reason: "it is empty; the Policies folder itself is not a write target".into(),
            });
        }
        for name in normalised.split('/') {
            check_component(text, name)?;
        }
        Ok(PolicyPath(normalised))
    }

    /// This path with `rel` (one or more components, `/`-separated) below it.
    pub fn join(&self, rel: &str) -> Result<PolicyPath, SysvolError> {
        let rel = rel.replace('\\', "/");
        let full = format!("{}/{rel}", self.0);
        for name in rel.split('/') {
            check_component(&full, name)?;
        }
        Ok(PolicyPath(full))
    }

    /// A sibling of this path's last component named `name` (`{GUID}` → `gpvault-new.{GUID}.1a2b`).
    pub fn sibling(&self, name: &str) -> Result<PolicyPath, SysvolError> {
        match self.parent() {
            Some(parent) => parent.join(name),
            None => PolicyPath::parse(name),
        }
    }

    pub fn parent(&self) -> Option<PolicyPath> {
        self.0.rsplit_once('/').map(|(parent, _)| PolicyPath(parent.to_string()))
    }

    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl fmt::Display for PolicyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_gpo_paths_and_refuses_escapes_and_bad_names() {
        let gpo: GpoId = "{31B2F340-016D-11D2-945F-00C04FB984F9}".parse().unwrap();
        let root = PolicyPath::gpo(&gpo);
        let file = root.join(r"Machine\Microsoft\Windows NT\SecEdit\GptTmpl.inf").unwrap();
        assert_eq!(
            file.as_str(),
            "{31B2F340-016D-11D2-945F-00C04FB984F9}/Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"
        );
        assert_eq!(file.name(), "GptTmpl.inf");
        assert_eq!(file.parent().unwrap().name(), "SecEdit");
        assert_eq!(root.parent(), None);
        assert_eq!(root.sibling("gpvault-new.x").unwrap().as_str(), "gpvault-new.x");
        assert_eq!(file.sibling("a.txt").unwrap().parent(), file.parent());

        for bad in ["", "a//b", "../x", "a/./b", "a/..", "a:b", "a/b*", "trailing.", "space ", "tab\there"] {
            let err = PolicyPath::parse(bad).unwrap_err();
            assert!(matches!(err, SysvolError::InvalidPath { .. }), "{bad}: {err}");
        }
        assert!(root.join("..").is_err());
        assert!(root.join("").is_err());
        assert!(root.join("Machine/").is_err());
    }
}
