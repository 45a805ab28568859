//! Filter as you type, for any list pane: `/` opens a line under the list, each key narrows it,
//! Enter keeps the filter, Esc clears it, `n`/`N` jump between matches.
//!
//! A pane that wants it owns a [`ListFilter`] and a [`SearchIndex`] (one lower-cased text per
//! item: for the tree a GPO's name and GUID or an OU's name; for a backup list the name, GUID,
//! comment and date), returns the filter from `Pane::filter` and applies [`FilterEdit`]s in
//! `Pane::filter_edit`, usually through [`ListFilter::edit`]. Matching is case-insensitive;
//! words match in any order. It is incremental: each query typed keeps its matches, so one more
//! character searches only the previous matches and Backspace goes back to a kept step.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui_textarea::{Input, Key};

use super::action::Action;
use super::keymap::key_for;
use super::theme::Theme;

/// The searchable text of each item of a list, lower-cased once when the list's data changes.
#[derive(Debug, Default)]
pub struct SearchIndex {
    texts: Vec<Box<str>>,
    /// Tells a filter that its matches refer to older data.
    generation: u64,
}

impl SearchIndex {
    /// One text per item, in item order; each is lower-cased here. (The tree lower-cases its
    /// own; a list of backups, with names, GUIDs, comments and dates, starts here.)
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn new(texts: impl IntoIterator<Item = String>, generation: u64) -> Self {
        SearchIndex::from_lower_case(texts.into_iter().map(|t| t.to_lowercase()), generation)
    }

    /// One text per item, already lower-cased by the caller (who may know a cheaper way).
    pub fn from_lower_case(texts: impl IntoIterator<Item = String>, generation: u64) -> Self {
        SearchIndex { texts: texts.into_iter().map(String::into_boxed_str).collect(), generation }
    }

    pub fn len(&self) -> usize {
        self.texts.len()
    }

    fn matches(&self, item: u32, words: &[&str]) -> bool {
        self.texts.get(item as usize).is_some_and(|text| words.iter().all(|w| text.contains(w)))
    }
}

/// What a key does to a filter.
#[derive(Clone, Debug, PartialEq)]
pub enum FilterEdit {
    /// `/`: the line takes the keys (the query so far stays, to refine it).
    Open,
    Type(Input),
    Paste(String),
    /// Enter: keep the filter, keys go back to the list.
    Keep,
    /// Esc: no filter.
    Clear,
    Next,
    Prev,
}

/// What an edit did, for the pane to follow up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterChange {
    Nothing,
    /// Other matches: the list shows them, the cursor goes to the first.
    Matches,
    /// The filter is gone: the list shows everything again.
    Cleared,
    /// Move the cursor to the next (true) or previous (false) match.
    Jump(bool),
}

#[derive(Debug, Default)]
pub struct ListFilter {
    query: String,
    /// The line has the keys.
    editing: bool,
    /// For each query typed since the last full search: the query (lower-cased) and the items
    /// it matches, in item order. The last is the current one.
    steps: Vec<(String, Vec<u32>)>,
    /// The index generation the steps were computed on.
    index_generation: u64,
    /// Bumped whenever the matches change: panes rebuild their rows on it.
    generation: u64,
    /// Items examined by the last search (tests check that narrowing searches less).
    pub scanned: usize,
}

impl ListFilter {
    #[cfg(test)]
    pub fn query(&self) -> &str {
        &self.query
    }

    pub fn editing(&self) -> bool {
        self.editing
    }

    /// A filter applies: something is typed.
    pub fn is_active(&self) -> bool {
        !self.query.trim().is_empty()
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The items that match, in item order; `None` when no filter applies.
    pub fn matches(&self) -> Option<&[u32]> {
        if !self.is_active() {
            return None;
        }
        self.steps.last().map(|(_, m)| m.as_slice())
    }

    /// Applies an edit; `index` is what the pane's list searches.
    pub fn edit(&mut self, edit: FilterEdit, index: &SearchIndex) -> FilterChange {
        match edit {
            FilterEdit::Open => {
                self.editing = true;
                FilterChange::Nothing
            }
            FilterEdit::Type(input) => {
                let mut query = self.query.clone();
                match input.key {
                    Key::Char('u') if input.ctrl => query.clear(),
                    Key::Char('w') if input.ctrl => {
                        let kept = query.trim_end().rfind(' ').map_or(0, |at| at + 1);
                        query.truncate(kept);
                    }
                    Key::Char(c) if !input.ctrl && !input.alt && !c.is_control() => query.push(c),
                    Key::Backspace => {
                        query.pop();
                    }
                    _ => return FilterChange::Nothing,
                }
                self.set_query(query, index)
            }
            FilterEdit::Paste(text) => {
                let mut query = self.query.clone();
                query.extend(text.chars().filter(|c| !c.is_control()));
                self.set_query(query, index)
            }
            FilterEdit::Keep => {
                self.editing = false;
                if self.is_active() { FilterChange::Nothing } else { self.clear() }
            }
            FilterEdit::Clear => self.clear(),
            FilterEdit::Next if self.is_active() => FilterChange::Jump(true),
            FilterEdit::Prev if self.is_active() => FilterChange::Jump(false),
            FilterEdit::Next | FilterEdit::Prev => FilterChange::Nothing,
        }
    }

    fn clear(&mut self) -> FilterChange {
        let was_active = self.is_active();
        self.editing = false;
        self.query.clear();
        self.steps.clear();
        self.generation += 1;
        if was_active { FilterChange::Cleared } else { FilterChange::Nothing }
    }

    /// Searches again from scratch: the list's data changed under the filter.
    pub fn refresh(&mut self, index: &SearchIndex) {
        if self.index_generation == index.generation {
            return;
        }
        self.index_generation = index.generation;
        self.steps.clear();
        if self.is_active() {
            let query = std::mem::take(&mut self.query);
            self.set_query(query, index);
        }
    }

    fn set_query(&mut self, query: String, index: &SearchIndex) -> FilterChange {
        let lower = query.to_lowercase();
        self.query = query;
        if self.index_generation != index.generation {
            self.index_generation = index.generation;
            self.steps.clear();
        }
        // Back to the longest step this query still extends (Backspace lands on one exactly).
        while self.steps.last().is_some_and(|(q, _)| !lower.starts_with(q.as_str())) {
            self.steps.pop();
        }
        self.generation += 1;
        if lower.trim().is_empty() {
            self.steps.clear();
            return FilterChange::Matches;
        }
        if self.steps.last().is_some_and(|(q, _)| *q == lower) {
            self.scanned = 0;
            return FilterChange::Matches;
        }
        let words: Vec<&str> = lower.split_whitespace().collect();
        // A query that extends another matches a subset of its matches: search only those.
        let found: Vec<u32> = match self.steps.last() {
            Some((_, previous)) => {
                self.scanned = previous.len();
                previous.iter().copied().filter(|i| index.matches(*i, &words)).collect()
            }
            None => {
                self.scanned = index.len();
                (0..index.len() as u32).filter(|i| index.matches(*i, &words)).collect()
            }
        };
        self.steps.push((lower, found));
        FilterChange::Matches
    }

    /// The filter line drawn under a list (as its border's bottom title): the query with a
    /// cursor while typing, the number of matches, and the keys that move between them.
    pub fn line(&self, theme: &Theme, matched: usize, at: Option<usize>) -> Option<Line<'static>> {
        if !self.editing && !self.is_active() {
            return None;
        }
        let mut spans = vec![Span::styled(format!(" {}", key_for(Action::Filter)), theme.key)];
        spans.push(Span::styled(self.query.clone(), theme.normal));
        if self.editing {
            spans.push(Span::styled(" ", Style::default().add_modifier(ratatui::style::Modifier::REVERSED)));
        }
        if self.is_active() {
            let count = match (at, matched) {
                (_, 0) => "no match".to_string(),
                (Some(at), n) => format!("{}/{n}", at + 1),
                (None, 1) => "one match".to_string(),
                (None, n) => format!("{n} matches"),
            };
            let style = if matched == 0 { theme.error } else { theme.muted };
            spans.push(Span::styled(format!("  {count}"), style));
            if matched > 1 && !self.editing {
                spans.push(Span::styled(
                    format!("  {} {} ", key_for(Action::NextMatch), key_for(Action::PrevMatch)),
                    theme.key,
                ));
            }
        }
        spans.push(Span::raw(" "));
        Some(Line::from(spans))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(c: char) -> FilterEdit {
        FilterEdit::Type(Input { key: Key::Char(c), ctrl: false, alt: false, shift: false })
    }

    fn backspace() -> FilterEdit {
        FilterEdit::Type(Input { key: Key::Backspace, ctrl: false, alt: false, shift: false })
    }

    fn names(filter: &ListFilter, texts: &[&str]) -> Vec<String> {
        filter.matches().unwrap_or_default().iter().map(|i| texts[*i as usize].to_string()).collect()
    }

    #[test]
    fn each_character_narrows_the_previous_matches() {
        let texts: Vec<String> =
            (1..=1000).map(|i| format!("Bulk GPO {i}")).chain(["Finance Drive Maps".into()]).collect();
        let index = SearchIndex::new(texts.iter().cloned(), 1);
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mut filter = ListFilter::default();
        filter.edit(FilterEdit::Open, &index);
        assert!(filter.editing() && filter.matches().is_none());
        filter.edit(typed('b'), &index);
        assert_eq!(filter.scanned, 1001, "the first character searches everything");
        assert_eq!(filter.matches().unwrap().len(), 1000);
        for c in "ulk gpo 99".chars() {
            filter.edit(typed(c), &index);
        }
        // What a plain search of every name for every word finds.
        let naive = |q: &str| -> Vec<String> {
            let lower: Vec<String> = texts.iter().map(|t| t.to_lowercase()).collect();
            let hit = |t: &String| q.split(' ').all(|w| t.contains(w));
            texts.iter().zip(&lower).filter(|(_, l)| hit(l)).map(|(t, _)| t.clone()).collect()
        };
        assert_eq!(names(&filter, &refs), naive("bulk gpo 99"));
        assert_eq!(naive("bulk gpo 99").len(), 19, "99, 199..899 and 990..999");
        filter.edit(typed('9'), &index);
        assert_eq!(filter.scanned, 19, "one more character searches only the previous matches");
        assert_eq!(names(&filter, &refs), ["Bulk GPO 999"]);
        // Backspace goes back to the step kept for that query: nothing is searched.
        filter.edit(backspace(), &index);
        assert_eq!(filter.scanned, 0);
        assert_eq!(names(&filter, &refs), naive("bulk gpo 99"));
    }

    #[test]
    fn words_match_in_any_order_and_case_is_ignored() {
        let texts = ["Finance Drive Maps", "Default Domain Policy", "ÉCOLE Drives"];
        let index = SearchIndex::new(texts.iter().map(|s| s.to_string()), 1);
        let mut filter = ListFilter::default();
        filter.edit(FilterEdit::Paste("MAPS drive".into()), &index);
        assert_eq!(names(&filter, &texts), ["Finance Drive Maps"]);
        filter.edit(FilterEdit::Clear, &index);
        filter.edit(FilterEdit::Paste("école".into()), &index);
        assert_eq!(names(&filter, &texts), ["ÉCOLE Drives"]);
        // Ctrl-W drops the last word, Ctrl-U everything.
        filter.edit(FilterEdit::Clear, &index);
        filter.edit(FilterEdit::Paste("drive zzz".into()), &index);
        assert!(filter.matches().unwrap().is_empty());
        filter.edit(FilterEdit::Type(Input { key: Key::Char('w'), ctrl: true, alt: false, shift: false }), &index);
        assert_eq!(filter.query(), "drive ");
        assert_eq!(filter.matches().unwrap().len(), 2);
        filter.edit(FilterEdit::Type(Input { key: Key::Char('u'), ctrl: true, alt: false, shift: false }), &index);
        assert!(filter.matches().is_none());
    }

    #[test]
    fn enter_keeps_esc_clears_and_new_data_is_searched_again() {
        let index = SearchIndex::new(["alpha".to_string(), "beta".to_string()], 1);
        let mut filter = ListFilter::default();
        filter.edit(FilterEdit::Open, &index);
        filter.edit(typed('a'), &index);
        assert_eq!(filter.edit(FilterEdit::Keep, &index), FilterChange::Nothing);
        assert!(!filter.editing() && filter.is_active());
        assert_eq!(filter.edit(FilterEdit::Next, &index), FilterChange::Jump(true));
        // The list's data changes: the same query, searched on the new data.
        let index = SearchIndex::new(["gamma".to_string(), "delta".to_string(), "pi".to_string()], 2);
        filter.refresh(&index);
        assert_eq!(filter.matches(), Some(&[0u32, 1][..]));
        assert_eq!(filter.edit(FilterEdit::Clear, &index), FilterChange::Cleared);
        assert!(filter.matches().is_none() && !filter.editing());
        assert_eq!(filter.edit(FilterEdit::Next, &index), FilterChange::Nothing);
        // Enter on an empty line is the same as Esc.
        filter.edit(FilterEdit::Open, &index);
        filter.edit(FilterEdit::Keep, &index);
        assert!(!filter.editing() && !filter.is_active());
    }
}
