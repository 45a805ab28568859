//! Colours by meaning ("error", "selected"...), loaded from the TOML files in themes/.
//!
//! The built-in themes are embedded, so the binary needs no files at run time. Panes ask for a
//! role, never for a colour, which is what lets `mono` carry everything with bold and reverse.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

const BUILT_IN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
    ("light", include_str!("../../themes/light.toml")),
];

#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    pub normal: Style,
    pub muted: Style,
    pub selected: Style,
    pub selected_unfocused: Style,
    pub error: Style,
    pub success: Style,
    pub warning: Style,
    pub title: Style,
    pub header: Style,
    pub border: Style,
    pub focus: Style,
    pub key: Style,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    roles: BTreeMap<String, RoleSpec>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RoleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

const ROLES: &[&str] = &[
    "normal",
    "muted",
    "selected",
    "selected_unfocused",
    "error",
    "success",
    "warning",
    "title",
    "header",
    "border",
    "focus",
    "key",
];

impl Theme {
    /// The theme asked for (`--theme` or GPVAULT_THEME, else the config file's `theme`), and a
    /// note for the status pane when the request could not be honoured. NO_COLOR (any non-empty
    /// value, as no-color.org says) wins over both.
    pub fn from_env(wanted: Option<&str>) -> (Theme, Option<String>) {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let wanted = wanted.filter(|v| !v.trim().is_empty());
        Theme::choose(no_color, wanted, |path| std::fs::read_to_string(path).map_err(|e| e.to_string()))
    }

    /// `read_file` loads a theme given by path (a name with a `/` or ending in `.toml`).
    pub fn choose(
        no_color: bool,
        wanted: Option<&str>,
        read_file: impl Fn(&str) -> Result<String, String>,
    ) -> (Theme, Option<String>) {
        if no_color {
            return (Theme::built_in("mono"), None);
        }
        let Some(wanted) = wanted else { return (Theme::built_in("default"), None) };
        let wanted = wanted.trim();
        let loaded = if wanted.contains('/') || wanted.ends_with(".toml") {
            read_file(wanted).and_then(|text| Theme::parse(&text)).map_err(|e| format!("theme file {wanted}: {e}"))
        } else {
            match BUILT_IN.iter().find(|(name, _)| name.eq_ignore_ascii_case(wanted)) {
                Some((_, text)) => Theme::parse(text),
                None => Err(format!(
                    "no theme named '{wanted}' (built in: {}; or give a path to a .toml file)",
                    BUILT_IN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                )),
            }
        };
        match loaded {
            Ok(theme) => (theme, None),
            Err(e) => (Theme::built_in("default"), Some(format!("theme: {e}; using the default theme"))),
        }
    }

    /// One of the embedded themes; their validity is checked by a unit test.
    pub fn built_in(name: &str) -> Theme {
        let text = BUILT_IN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).unwrap_or(BUILT_IN[0].1);
        Theme::parse(text).unwrap_or_else(|_| Theme::plain())
    }

    /// Everything unstyled except the selection: the last resort.
    pub fn plain() -> Theme {
        let none = Style::default();
        Theme {
            name: "plain".into(),
            normal: none,
            muted: none,
            selected: none.add_modifier(Modifier::REVERSED | Modifier::BOLD),
            selected_unfocused: none.add_modifier(Modifier::BOLD),
            error: none.add_modifier(Modifier::BOLD),
            success: none,
            warning: none.add_modifier(Modifier::BOLD),
            title: none.add_modifier(Modifier::REVERSED),
            header: none.add_modifier(Modifier::BOLD),
            border: none,
            focus: none.add_modifier(Modifier::BOLD),
            key: none.add_modifier(Modifier::BOLD),
        }
    }

    /// A role's style by its name in the theme files.
    #[cfg(test)]
    pub fn role(&self, name: &str) -> Style {
        match name {
            "normal" => self.normal,
            "muted" => self.muted,
            "selected" => self.selected,
            "selected_unfocused" => self.selected_unfocused,
            "error" => self.error,
            "success" => self.success,
            "warning" => self.warning,
            "title" => self.title,
            "header" => self.header,
            "border" => self.border,
            "focus" => self.focus,
            "key" => self.key,
            other => panic!("no role {other}"),
        }
    }

    pub fn parse(text: &str) -> Result<Theme, String> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| e.message().to_string())?;
        if let Some(unknown) = file.roles.keys().find(|k| !ROLES.contains(&k.as_str())) {
            return Err(format!("unknown role '{unknown}' (roles: {})", ROLES.join(", ")));
        }
        let role = |name: &str| -> Result<Style, String> {
            let spec = file.roles.get(name).ok_or_else(|| format!("role '{name}' is missing"))?;
            style_of(spec).map_err(|e| format!("role '{name}': {e}"))
        };
        Ok(Theme {
            name: file.name.clone(),
            normal: role("normal")?,
            muted: role("muted")?,
            selected: role("selected")?,
            selected_unfocused: role("selected_unfocused")?,
            error: role("error")?,
            success: role("success")?,
            warning: role("warning")?,
            title: role("title")?,
            header: role("header")?,
            border: role("border")?,
            focus: role("focus")?,
            key: role("key")?,
        })
    }
}

fn style_of(spec: &RoleSpec) -> Result<Style, String> {
    let mut style = Style::default();
    if let Some(fg) = &spec.fg {
        style = style.fg(color(fg)?);
    }
    if let Some(bg) = &spec.bg {
        style = style.bg(color(bg)?);
    }
    for name in &spec.modifiers {
        style = style.add_modifier(modifier(name)?);
    }
    Ok(style)
}

/// Only the 16 named ANSI colours: the terminal's own palette decides what they look like, so a
/// light or dark background, or a colour-blind palette, keeps working.
fn color(name: &str) -> Result<Color, String> {
    let color = match name.to_ascii_lowercase().replace('_', "-").as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "dark-gray" | "dark-grey" => Color::DarkGray,
        "light-red" => Color::LightRed,
        "light-green" => Color::LightGreen,
        "light-yellow" => Color::LightYellow,
        "light-blue" => Color::LightBlue,
        "light-magenta" => Color::LightMagenta,
        "light-cyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return Err(format!("'{name}' is not one of the 16 named ANSI colours")),
    };
    Ok(color)
}

fn modifier(name: &str) -> Result<Modifier, String> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" | "underline" => Modifier::UNDERLINED,
        "reversed" | "reverse" => Modifier::REVERSED,
        other => return Err(format!("unknown modifier '{other}' (bold, dim, italic, underlined, reversed)")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_themes_parse_and_mono_has_no_colour() {
        for (name, text) in BUILT_IN {
            let theme = Theme::parse(text).unwrap_or_else(|e| panic!("theme {name}: {e}"));
            assert_eq!(&theme.name, name);
        }
        let mono = Theme::built_in("mono");
        for role in ROLES {
            let style = mono.role(role);
            assert_eq!((style.fg, style.bg), (None, None), "mono's {role} has no colour");
        }
        // Every role of every theme differs from plain text where it must stand out alone.
        for (name, _) in BUILT_IN {
            let theme = Theme::built_in(name);
            for role in ["selected", "focus", "error", "warning", "header", "title"] {
                assert_ne!(theme.role(role), Style::default(), "{name}: {role} looks like plain text");
            }
        }
        // Selection must show without colour in every theme.
        for (name, _) in BUILT_IN {
            let theme = Theme::built_in(name);
            assert!(
                theme.selected.add_modifier.intersects(Modifier::REVERSED | Modifier::BOLD),
                "{name}: selection needs reverse or bold"
            );
        }
    }

    #[test]
    fn no_color_wins_and_unknown_names_fall_back_with_a_note() {
        let no_file = |_: &str| Err::<String, String>("unused".into());
        assert_eq!(Theme::choose(true, Some("default"), no_file).0.name, "mono");
        assert_eq!(Theme::choose(false, Some("MONO"), no_file).0.name, "mono");
        assert_eq!(Theme::choose(false, Some("light"), no_file).0.name, "light");
        let (theme, note) = Theme::choose(false, Some("neon"), no_file);
        assert_eq!(theme.name, "default");
        assert!(note.unwrap().contains("neon"));
        let custom =
            |_: &str| Ok::<String, String>(include_str!("../../themes/mono.toml").replace("\"mono\"", "\"mine\""));
        assert_eq!(Theme::choose(false, Some("/etc/gpvault/mine.toml"), custom).0.name, "mine");
    }

    #[test]
    fn rejects_colours_outside_the_named_sixteen() {
        let text = include_str!("../../themes/default.toml").replace("\"dark-gray\"", "\"#333333\"");
        assert!(Theme::parse(&text).unwrap_err().contains("16 named"));
    }
}
