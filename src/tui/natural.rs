//! Natural, case-insensitive order for names as people read them: "Bulk GPO 2" before
//! "Bulk GPO 10", "finance" next to "Finance". Every list of names in the TUI (GPOs, OUs,
//! backups) sorts with [`natural_cmp`], so one rule holds everywhere.
//!
//! Runs of ASCII digits compare by value (any length, no overflow); at equal value the shorter
//! run (fewer leading zeros) comes first, so the order does not depend on the input. Everything
//! else compares by its lower-case form (Unicode's, not a locale's collation). Names that are
//! still equal (they differ only in case) keep their input order: sort with a stable sort
//! (`sort_by(|a, b| natural_cmp(..))`).

use std::cmp::Ordering;

/// Compares two names naturally; see the module's documentation.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    // Sorting 100,000 names makes millions of these: no allocation, and ASCII letters are
    // lower-cased without Unicode's tables.
    let (mut a, mut b) = (Tokens::new(a), Tokens::new(b));
    loop {
        let order = match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(Token::Digits(x)), Some(Token::Digits(y))) => compare_numbers(x, y),
            // A number against a letter: as its first digit would compare.
            (Some(Token::Digits(x)), Some(Token::Char(c))) => first_digit(x).cmp(&c).then(Ordering::Less),
            (Some(Token::Char(c)), Some(Token::Digits(y))) => c.cmp(&first_digit(y)).then(Ordering::Greater),
            (Some(Token::Char(x)), Some(Token::Char(y))) => x.cmp(&y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
}

/// A sort key whose byte order is [`natural_cmp`]'s order: for sorting many names at once
/// (`sort_by_cached_key`), where each comparison is then a plain byte comparison.
///
/// A digit run is `'0'`, its count of significant digits (4 bytes), those digits and its count
/// of leading zeros (4 bytes); `'0'` sorts against a letter as any digit would, since no
/// letter lies between the digits. Everything else is the lower case's UTF-8, whose byte
/// order is the characters' order.
pub fn natural_key(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 8);
    let mut buf = [0u8; 4];
    for token in Tokens::new(name) {
        match token {
            Token::Digits(digits) => {
                let significant = digits.trim_start_matches('0');
                key.push(b'0');
                key.extend_from_slice(&(significant.len() as u32).to_be_bytes());
                key.extend_from_slice(significant.as_bytes());
                key.extend_from_slice(&((digits.len() - significant.len()) as u32).to_be_bytes());
            }
            Token::Char(c) => key.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
        }
    }
    key
}

fn first_digit(digits: &str) -> char {
    digits.chars().next().unwrap_or('0')
}

/// Two runs of ASCII digits by value, then the shorter (fewer leading zeros) first.
fn compare_numbers(x: &str, y: &str) -> Ordering {
    let (sx, sy) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
    // More significant digits is a bigger number; at the same count, digit by digit.
    sx.len().cmp(&sy.len()).then_with(|| sx.cmp(sy)).then(x.len().cmp(&y.len()))
}

enum Token<'a> {
    Digits(&'a str),
    Char(char),
}

/// A name as digit runs and lower-case characters.
struct Tokens<'a> {
    rest: &'a str,
    /// The rest of a character whose lower case is several characters ('İ' → "i̇"), last first.
    pending: [char; 2],
    pending_len: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        Tokens { rest: text, pending: ['\0'; 2], pending_len: 0 }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        if self.pending_len > 0 {
            self.pending_len -= 1;
            return Some(Token::Char(self.pending[self.pending_len]));
        }
        let c = self.rest.chars().next()?;
        if c.is_ascii_digit() {
            let end = self.rest.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(self.rest.len());
            let (digits, rest) = self.rest.split_at(end);
            self.rest = rest;
            return Some(Token::Digits(digits));
        }
        self.rest = &self.rest[c.len_utf8()..];
        if c.is_ascii() {
            return Some(Token::Char(c.to_ascii_lowercase()));
        }
        let mut lower = c.to_lowercase();
        let first = lower.next().unwrap_or(c);
        for extra in lower.rev() {
            if self.pending_len < self.pending.len() {
                self.pending[self.pending_len] = extra;
                self.pending_len += 1;
            }
        }
        Some(Token::Char(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut list: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        // Stable: names that compare equal keep their order.
        list.sort_by(|a, b| natural_cmp(a, b));
        list
    }

    #[test]
    fn digit_runs_compare_by_value() {
        let names = ["Bulk GPO 10", "Bulk GPO 1", "Bulk GPO 100", "Bulk GPO 2", "Bulk GPO 1000", "Bulk GPO 101"];
        assert_eq!(
            sorted(&names),
            ["Bulk GPO 1", "Bulk GPO 2", "Bulk GPO 10", "Bulk GPO 100", "Bulk GPO 101", "Bulk GPO 1000"]
        );
        // Several runs in one name, and numbers longer than any integer type.
        assert_eq!(sorted(&["v1.10", "v1.9", "v1.2.3", "v1.2"]), ["v1.2", "v1.2.3", "v1.9", "v1.10"]);
        let huge = "GPO 123456789012345678901234567890";
        assert_eq!(natural_cmp(huge, "GPO 99999999999999999999999999999"), Ordering::Greater);
        assert_eq!(natural_cmp(huge, huge), Ordering::Equal);
    }

    #[test]
    fn leading_zeros_sort_by_value_then_shortest_first() {
        assert_eq!(
            sorted(&["GPO 010", "GPO 9", "GPO 0010", "GPO 10", "GPO 011"]),
            ["GPO 9", "GPO 10", "GPO 010", "GPO 0010", "GPO 011"]
        );
        assert_eq!(natural_cmp("0", "00"), Ordering::Less);
        assert_eq!(natural_cmp("a0", "a"), Ordering::Greater);
    }

    #[test]
    fn case_is_ignored_and_equal_names_keep_their_order() {
        assert_eq!(sorted(&["beta", "Alpha", "alpha 2", "ALPHA 10"]), ["Alpha", "alpha 2", "ALPHA 10", "beta"]);
        // "finance" and "Finance" are the same name: the input order stays, both ways round.
        assert_eq!(sorted(&["finance", "Zeta", "Finance"]), ["finance", "Finance", "Zeta"]);
        assert_eq!(sorted(&["Finance", "Zeta", "finance"]), ["Finance", "finance", "Zeta"]);
    }

    #[test]
    fn unicode_names_compare_by_their_lower_case() {
        assert_eq!(natural_cmp("Ärzte", "ärzte"), Ordering::Equal);
        assert_eq!(natural_cmp("ÉCOLE 2", "école 10"), Ordering::Less);
        // A character whose lower case is two characters compares as both.
        assert_eq!(natural_cmp("İ", "i\u{307}"), Ordering::Equal);
        // Non-ASCII digits are letters here, not numbers.
        assert_eq!(sorted(&["x ٣", "x 3", "x 20"]), ["x 3", "x 20", "x ٣"]);
        assert_eq!(sorted(&["Ωmega", "alpha", "Zulu"]), ["alpha", "Zulu", "Ωmega"]);
    }

    #[test]
    fn numbers_sit_where_their_digits_would() {
        // Digits sort before letters and after a space, as in ASCII.
        assert_eq!(sorted(&["GPO b", "GPO 5", "GPO  x", "GPO"]), ["GPO", "GPO  x", "GPO 5", "GPO b"]);
    }

    #[test]
    fn the_sort_key_orders_as_the_comparison_does() {
        use proptest::prelude::*;
        let name = "[a-cA-C0-9 é:/İ]{0,10}";
        proptest!(|(a in name, b in name)| {
            prop_assert_eq!(natural_key(&a).cmp(&natural_key(&b)), natural_cmp(&a, &b), "{:?} {:?}", a, b);
        });
        let mut names = vec!["Bulk GPO 10", "bulk gpo 2", "Bulk GPO 010", "Bulk GPO 1", "Bulk", "Bulk GPO x"];
        names.sort_by_cached_key(|n| natural_key(n));
        assert_eq!(names, ["Bulk", "Bulk GPO 1", "bulk gpo 2", "Bulk GPO 10", "Bulk GPO 010", "Bulk GPO x"]);
    }

    #[test]
    fn the_order_is_total_on_random_names() {
        use proptest::prelude::*;
        let name = "[a-cA-C0-9 é]{0,8}";
        proptest!(|(a in name, b in name, c in name)| {
            prop_assert_eq!(natural_cmp(&a, &b), natural_cmp(&b, &a).reverse());
            if natural_cmp(&a, &b) != Ordering::Greater && natural_cmp(&b, &c) != Ordering::Greater {
                prop_assert_ne!(natural_cmp(&a, &c), Ordering::Greater);
            }
        });
    }
}
