/// Why a file could not be read: which file, where in it, and what was wrong.
///
/// Parsers fill `file` with the format's usual name (`Backup.xml`, `bkupInfo.xml`...); callers
/// that know the full path replace it with [`FormatError::in_file`] so the message points at
/// the exact backup instance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {problem} (the file is damaged or was not written by GPMC or gpvault)", at_suffix(.at))]
pub struct FormatError {
    pub file: String,
    /// Element path inside the file (`GroupPolicyCoreSettings/ID`), when the problem has one.
    pub at: Option<String>,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The bytes are not text in the encoding the format uses.
    #[error("not valid {encoding} text: {detail}")]
    Encoding { encoding: &'static str, detail: String },
    /// The text is not well-formed XML (or uses XML features these files never use).
    #[error("not well-formed XML near byte {position}: {detail}")]
    Malformed { position: u64, detail: String },
    #[error("found <{found}> where {expected} was expected")]
    UnexpectedElement { found: String, expected: String },
    #[error("required element <{name}> is missing")]
    MissingElement { name: String },
    #[error("unexpected text '{}'", shorten(text, 40))]
    UnexpectedText { text: String },
    #[error("invalid value '{}': {reason}", shorten(value, 80))]
    InvalidValue { value: String, reason: String },
    /// An INI line or other non-XML structure that cannot be read.
    #[error("line {line}: {detail}")]
    Syntax { line: usize, detail: String },
    /// A binary file (registry.pol) whose structure breaks at `offset`.
    #[error("at byte {offset}: {detail}")]
    Binary { offset: u64, detail: String },
}

fn at_suffix(at: &Option<String>) -> String {
    at.as_ref().map(|a| format!(" (at <{a}>)")).unwrap_or_default()
}

fn shorten(text: &str, max: usize) -> String {
    let mut shown: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        shown.push('…');
    }
    shown
}

impl FormatError {
    pub(crate) fn new(file: &str, at: Option<String>, problem: Problem) -> Self {
        FormatError { file: file.to_string(), at, problem }
    }

    /// The same error, naming `path` (e.g. the full path of the backup instance's file).
    pub fn in_file(mut self, path: impl Into<String>) -> Self {
        self.file = path.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_file_element_and_problem() {
        let err = FormatError::new(
            "Backup.xml",
            Some("GroupPolicyCoreSettings/ID".into()),
            Problem::MissingElement { name: "ID".into() },
        )
        .in_file("/backups/{A}/Backup.xml");
        let text = err.to_string();
        assert!(text.starts_with("/backups/{A}/Backup.xml (at <GroupPolicyCoreSettings/ID>): "));
        assert!(text.contains("required element <ID> is missing"));
    }
}
