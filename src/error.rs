//! Error presentation shared by the front ends.

/// An error and its sources on one line, without repeating what the outer text already says:
/// what the CLI prints before exiting and what the TUI shows in its status pane.
pub fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// What the admin can change to get past a connection error. The core names it; each front end
/// says where (a command-line flag, a profile key), so core messages never name flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fix {
    Server,
    CaFile,
    Credentials,
    Domain,
    User,
    SysvolPath,
}
