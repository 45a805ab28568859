//! Popups over the panes: the backup form (folder and comment), the masked password prompt, a
//! one-line prompt for what a pane asks (a folder, a number), and the confirmation (confirm.rs)
//! that every question goes through.

use std::path::{Path, PathBuf};

use gpvault::model::GpoId;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};
use ratatui_textarea::{Input, Key, TextArea};

use super::action::Action;
use super::confirm::{self, Confirmation};
use super::keymap::{self, Hint};
use super::panes::{Prompt, SearchScope};
use super::state::Focus;
use super::theme::Theme;
use super::wizard::{self, Wizard};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackupScope {
    One { id: GpoId, name: String },
    All { count: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Folder,
    Comment,
}

pub struct BackupForm {
    pub domain: usize,
    pub domain_name: String,
    pub scope: BackupScope,
    pub folder: TextArea<'static>,
    pub comment: TextArea<'static>,
    pub field: Field,
    pub error: Option<String>,
}

pub struct PasswordForm {
    pub domain: usize,
    pub prompt: String,
    pub input: TextArea<'static>,
    pub error: Option<String>,
}

/// One line of text a pane asked for.
pub struct PromptForm {
    pub prompt: Prompt,
    pub input: TextArea<'static>,
    pub error: Option<String>,
}

pub enum Popup {
    Backup(Box<BackupForm>),
    Password(Box<PasswordForm>),
    Prompt(Box<PromptForm>),
    Confirm(Box<Confirmation>),
    /// Copy / Paste or Import Settings, step by step (wizard.rs).
    Wizard(Box<Wizard>),
}

impl Popup {
    pub fn has_fields(&self) -> bool {
        matches!(self, Popup::Backup(_) | Popup::Password(_) | Popup::Prompt(_) | Popup::Wizard(_))
    }
}

pub fn single_line(text: &str, placeholder: &str) -> TextArea<'static> {
    let mut area = TextArea::new(vec![text.to_string()]);
    area.set_cursor_line_style(Style::default());
    area.set_placeholder_text(placeholder.to_string());
    area.move_cursor(ratatui_textarea::CursorMove::End);
    area
}

fn show_cursor(area: &mut TextArea<'static>, on: bool) {
    area.set_cursor_style(if on { Style::default().add_modifier(Modifier::REVERSED) } else { Style::default() });
}

impl BackupForm {
    pub fn new(domain: usize, domain_name: String, scope: BackupScope, last_dir: Option<&Path>) -> Self {
        let folder =
            single_line(&last_dir.map(|p| p.display().to_string()).unwrap_or_default(), "/path/to/backup/folder");
        let mut comment = single_line("", "optional");
        show_cursor(&mut comment, false);
        BackupForm { domain, domain_name, scope, folder, comment, field: Field::Folder, error: None }
    }

    pub fn switch_field(&mut self) {
        self.field = match self.field {
            Field::Folder => Field::Comment,
            Field::Comment => Field::Folder,
        };
        show_cursor(&mut self.folder, self.field == Field::Folder);
        show_cursor(&mut self.comment, self.field == Field::Comment);
    }

    pub fn focused(&mut self) -> &mut TextArea<'static> {
        match self.field {
            Field::Folder => &mut self.folder,
            Field::Comment => &mut self.comment,
        }
    }

    pub fn folder_text(&self) -> String {
        self.folder.lines().join("").trim().to_string()
    }

    pub fn comment_text(&self) -> String {
        self.comment.lines().join(" ").trim().to_string()
    }
}

impl PasswordForm {
    pub fn new(domain: usize, prompt: String) -> Self {
        let mut input = single_line("", "");
        input.set_mask_char('*');
        PasswordForm { domain, prompt, input, error: None }
    }

    pub fn text(&self) -> String {
        self.input.lines().join("")
    }
}

impl PromptForm {
    pub fn new(prompt: Prompt, prefill: &str) -> Self {
        let placeholder = match prompt {
            Prompt::Folder(_) => "/path/to/backup/folder",
            Prompt::PruneKeep(_) => "a number, 1 or more",
            Prompt::OpenTable(_) | Prompt::SaveTableAs(_) => "/path/to/table.migtable",
            Prompt::Search(_) => "HKLM\\Software\\Policies\\…, CORP\\Helpdesk, S-1-5-…, \\\\fs01\\share",
        };
        PromptForm { prompt, input: single_line(prefill, placeholder), error: None }
    }

    pub fn text(&self) -> String {
        self.input.lines().join("").trim().to_string()
    }

    /// The frame's title and the question.
    fn words(&self) -> (&'static str, String) {
        match &self.prompt {
            Prompt::Folder(_) => (" Open a backup folder ", "Folder of GPO backups (gpvault's or GPMC's):".into()),
            Prompt::PruneKeep(dir) => {
                (" Prune ", format!("Keep how many of the newest backups of each GPO in {}?", dir.display()))
            }
            Prompt::OpenTable(_) => (" Open a migration table ", "A .migtable file (GPMC's or gpvault's):".into()),
            Prompt::SaveTableAs(_) => {
                (" Save the migration table ", "Save as (GPMC's format, UTF-16; an existing file is replaced):".into())
            }
            Prompt::Search(SearchScope::Domain(_)) => (
                " Search the settings ",
                "A registry key or value, a principal (name or SID) or a UNC path, in every GPO:".into(),
            ),
            Prompt::Search(SearchScope::Backups(dir)) => (
                " Search the backups ",
                format!(
                    "A registry key or value, a principal (name or SID) or a UNC path, in every backup in {}:",
                    dir.display()
                ),
            ),
        }
    }
}

/// Feeds a key to a one-line field. Keys that would make a second line are dropped (Enter is
/// "confirm" in the keymap, but the textarea's own Ctrl-M would still add a line), and Ctrl-U
/// clears to the start of the line as in a shell (the textarea would undo).
pub fn type_into(area: &mut TextArea<'static>, input: Input) {
    let newline =
        matches!(input.key, Key::Enter | Key::Char('\n' | '\r')) || (input.ctrl && matches!(input.key, Key::Char('m')));
    if newline {
        return;
    }
    if input.ctrl && !input.alt && input.key == Key::Char('u') {
        area.delete_line_by_head();
        return;
    }
    area.input(input);
}

pub fn paste_into(area: &mut TextArea<'static>, text: &str) {
    let flat: String = text.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    area.insert_str(flat);
}

/// A `~/` at the start means the home folder, as in a shell; a relative path is made absolute
/// now, so the saved "last folder" means the same thing from any working directory.
pub fn resolve_folder(text: &str, home: Option<&Path>, cwd: Option<&Path>) -> PathBuf {
    let path = match (text.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ if text == "~" && home.is_some() => home.map(Path::to_path_buf).unwrap_or_default(),
        _ => PathBuf::from(text),
    };
    match cwd {
        Some(cwd) if path.is_relative() => cwd.join(path),
        _ => path,
    }
}

/// A rectangle of at most `width` x `height`, centred in `area` and never larger than it.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height }
}

fn popup_block<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .title(Span::styled(title, theme.focus))
        .border_type(BorderType::Double)
        .border_style(theme.focus)
        .style(theme.normal)
}

fn footer(hints: &[Hint], theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    for hint in hints {
        spans.push(Span::styled(hint.key, theme.key));
        spans.push(Span::raw(format!(" {}  ", hint.hint)));
    }
    Line::from(spans)
}

pub fn render(frame: &mut Frame, popup: &Popup, theme: &Theme, spinner: &str) {
    match popup {
        Popup::Backup(form) => render_backup(frame, form, theme),
        Popup::Password(form) => render_password(frame, form, theme),
        Popup::Prompt(form) => render_prompt(frame, form, theme),
        Popup::Confirm(question) => confirm::render(frame, question, theme, spinner),
        Popup::Wizard(w) => wizard::render(frame, w, theme),
    }
}

fn render_backup(frame: &mut Frame, form: &BackupForm, theme: &Theme) {
    let area = centered(frame.area(), 70, 10);
    frame.render_widget(Clear, area);
    let block = popup_block(" Back up ", theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [what, _, folder_label, folder, comment_label, comment, error, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let what_text = match &form.scope {
        BackupScope::One { name, .. } => format!("GPO \"{name}\" of {}", form.domain_name),
        BackupScope::All { count } => format!("All {count} GPOs of {}", form.domain_name),
    };
    frame.render_widget(Paragraph::new(Line::styled(what_text, theme.header)), what);
    let label = |text: &'static str, active: bool| {
        let marker = if active { "▶ " } else { "  " };
        Line::from(vec![
            Span::styled(marker, theme.key),
            Span::styled(text, if active { theme.header } else { theme.muted }),
        ])
    };
    frame.render_widget(Paragraph::new(label("Folder", form.field == Field::Folder)), folder_label);
    frame.render_widget(&themed(&form.folder, theme), indent(folder));
    frame.render_widget(Paragraph::new(label("Comment", form.field == Field::Comment)), comment_label);
    frame.render_widget(&themed(&form.comment, theme), indent(comment));
    if let Some(e) = &form.error {
        frame.render_widget(Paragraph::new(Line::styled(e.clone(), theme.error)), error);
    }
    frame.render_widget(Paragraph::new(footer(&keymap::hints(&[], Focus::Form), theme)), keys);
}

fn render_password(frame: &mut Frame, form: &PasswordForm, theme: &Theme) {
    let area = centered(frame.area(), 60, 6);
    frame.render_widget(Clear, area);
    let block = popup_block(" Password ", theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [prompt, input, error, keys] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Length(1), Constraint::Length(1)])
            .areas(inner);
    frame.render_widget(Paragraph::new(Line::raw(form.prompt.clone())), prompt);
    frame.render_widget(&themed(&form.input, theme), indent(input));
    if let Some(e) = &form.error {
        frame.render_widget(Paragraph::new(Line::styled(e.clone(), theme.error)), error);
    }
    // One field: moving between fields means nothing here.
    let mut hints = keymap::hints(&[], Focus::Form);
    hints.retain(|h| !matches!(h.action, Action::NextField | Action::PrevField));
    frame.render_widget(Paragraph::new(footer(&hints, theme)), keys);
}

fn render_prompt(frame: &mut Frame, form: &PromptForm, theme: &Theme) {
    let area = centered(frame.area(), 76, 7);
    frame.render_widget(Clear, area);
    let (title, question) = form.words();
    let block = popup_block(title, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [question_area, input, error, keys] =
        Layout::vertical([Constraint::Length(2), Constraint::Length(1), Constraint::Length(1), Constraint::Length(1)])
            .areas(inner);
    frame.render_widget(Paragraph::new(Line::raw(question)).wrap(ratatui::widgets::Wrap { trim: true }), question_area);
    frame.render_widget(&themed(&form.input, theme), indent(input));
    if let Some(e) = &form.error {
        frame.render_widget(Paragraph::new(Line::styled(e.clone(), theme.error)), error);
    }
    let mut hints = keymap::hints(&[], Focus::Form);
    hints.retain(|h| !matches!(h.action, Action::NextField | Action::PrevField));
    frame.render_widget(Paragraph::new(footer(&hints, theme)), keys);
}

/// The field in the theme's colours: the textarea's own placeholder grey would ignore NO_COLOR.
/// A copy per frame is cheap (one line of text) and keeps `view` from changing the state.
pub fn themed(area: &TextArea<'static>, theme: &Theme) -> TextArea<'static> {
    let mut copy = area.clone();
    copy.set_style(theme.normal);
    copy.set_placeholder_style(theme.muted);
    copy
}

fn indent(area: Rect) -> Rect {
    Rect { x: area.x.saturating_add(2), width: area.width.saturating_sub(2), ..area }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_expand_home_and_become_absolute() {
        let home = Path::new("/home/admin");
        let cwd = Path::new("/srv");
        assert_eq!(resolve_folder("~/gpo", Some(home), Some(cwd)), PathBuf::from("/home/admin/gpo"));
        assert_eq!(resolve_folder("backups", Some(home), Some(cwd)), PathBuf::from("/srv/backups"));
        assert_eq!(resolve_folder("/abs", Some(home), Some(cwd)), PathBuf::from("/abs"));
    }

    #[test]
    fn centred_rectangles_fit_in_tiny_areas() {
        let r = centered(Rect::new(0, 0, 20, 5), 70, 12);
        assert_eq!(r, Rect::new(0, 0, 20, 5));
    }

    #[test]
    fn fields_stay_on_one_line() {
        let mut area = single_line("ab", "");
        type_into(&mut area, Input { key: Key::Enter, ..Default::default() });
        type_into(&mut area, Input { key: Key::Char('m'), ctrl: true, ..Default::default() });
        paste_into(&mut area, "c\nd\r\n");
        assert_eq!(area.lines(), ["abcd"]);
        type_into(&mut area, Input { key: Key::Char('u'), ctrl: true, ..Default::default() });
        assert_eq!(area.lines(), [""]);
    }
}
