//! Writes a [`Value`] tree as `sops` writes YAML: go-yaml v3's block style with sops's
//! indentation of 4, keys in tree order, no line wrapping, and each string in the scalar style
//! go-yaml picks for it (plain, single-quoted, double-quoted or literal `|`).
//!
//! The output must read back, in `sops` and in [`super::yaml`], as the same values, so the
//! MAC sops computes is the one we computed; and it should be the bytes `sops` itself would
//! write, so that a `sops` round trip changes nothing. The scalar-style rules below follow
//! go-yaml's `encode.go` (`stringv`) and `emitterc.go` (`analyze_scalar`,
//! `select_scalar_style`, and the writers); the one known difference is noted at
//! [`Style::of`].

use super::yaml::{resolve, Resolved, Value};

/// go-yaml's indentation as sops configures it.
const INDENT: usize = 4;

/// Writes a document whose root is the mapping `items`.
pub fn document(items: &[(String, Value)]) -> String {
    let mut out = String::new();
    if items.is_empty() {
        out.push_str("{}\n");
    } else {
        block_map(&mut out, items, 0, false);
    }
    out
}

/// The next indentation level as go-yaml computes it: the next multiple of [`INDENT`].
fn align(indent: usize) -> usize {
    INDENT * ((indent + INDENT) / INDENT)
}

/// A block mapping whose keys are at column `indent`; `inline_first` when its first key
/// follows a sequence's `- ` on the same line.
fn block_map(out: &mut String, items: &[(String, Value)], indent: usize, inline_first: bool) {
    for (i, (key, value)) in items.iter().enumerate() {
        if i > 0 || !inline_first {
            spaces(out, indent);
        }
        scalar(out, key, true, indent);
        out.push(':');
        value_after_indicator(out, value, align(indent), indent);
    }
}

/// A block sequence whose dashes are at column `indent`.
fn block_seq(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        spaces(out, indent);
        out.push('-');
        // Inside a sequence item go-yaml indents by 2 (past "- "), not to the next level.
        value_after_indicator(out, item, indent + 2, indent + 2);
    }
}

/// A value after `key:` or `-`: scalars and empty collections on the same line, others on
/// the next lines. `nested` is where a nested collection or a literal's text goes; a mapping
/// that is a sequence item starts on the dash's line at `item`.
fn value_after_indicator(out: &mut String, value: &Value, nested: usize, item: usize) {
    match value {
        Value::Map(items) if items.is_empty() => out.push_str(" {}\n"),
        Value::Seq(items) if items.is_empty() => out.push_str(" []\n"),
        Value::Map(items) if nested == item => {
            // A mapping as a sequence item: "- key: value", the rest aligned under it.
            out.push(' ');
            block_map(out, items, item, true);
        }
        Value::Map(items) => {
            out.push('\n');
            block_map(out, items, nested, false);
        }
        Value::Seq(items) => {
            out.push('\n');
            block_seq(out, items, nested);
        }
        Value::Str(s) => {
            out.push(' ');
            scalar(out, s, false, nested);
            out.push('\n');
        }
        Value::Int(i) => {
            out.push(' ');
            out.push_str(&i.to_string());
            out.push('\n');
        }
        Value::Bool(b) => out.push_str(if *b { " true\n" } else { " false\n" }),
        Value::Null => out.push_str(" null\n"),
    }
}

fn spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// A string scalar in go-yaml's style; `key` for a mapping key (go-yaml's simple-key
/// context); `indent` is where a literal block's lines go.
fn scalar(out: &mut String, s: &str, key: bool, indent: usize) {
    match Style::of(s, key) {
        Style::Plain => out.push_str(s),
        Style::Single => {
            out.push('\'');
            out.push_str(&s.replace('\'', "''"));
            out.push('\'');
        }
        Style::Double => double_quoted(out, s),
        Style::Literal => literal(out, s, indent),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// go-yaml's `is_printable` (the characters it may write unescaped).
fn printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        && c != '\u{feff}'
}

/// go-yaml's `is_break`.
fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// What go-yaml's `yaml_emitter_analyze_scalar` finds out about a string.
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let (mut line_breaks, mut special, mut tabs) = (false, false, false);
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = chars.get(i + 1).is_none_or(|n| is_blank(*n));
        let last = i + 1 == chars.len();
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if c == '\t' {
            tabs = true;
        } else if !printable(c) {
            special = true;
        }
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank(c) || is_break(c) || c == '\0';
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || tabs || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// go-yaml's `isBase60Float` (YAML 1.1 sexagesimal floats, quoted for 1.1 readers).
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    if !(first == b'+' || first == b'-' || first.is_ascii_digit()) || !s.contains(':') {
        return false;
    }
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int_part, frac) = match t.find('.') {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    if frac.is_some_and(|f| !f.bytes().all(|c| c.is_ascii_digit() || c == b'_')) {
        return false;
    }
    let mut groups = int_part.split(':');
    let head = groups.next().unwrap_or_default();
    let head_ok = head.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && head.bytes().all(|c| c.is_ascii_digit() || c == b'_');
    let mut n = 0;
    let rest_ok = groups.all(|g| {
        n += 1;
        let g = g.as_bytes();
        match g {
            [d] => d.is_ascii_digit(),
            [a, d] => (b'0'..=b'5').contains(a) && d.is_ascii_digit(),
            _ => false,
        }
    });
    head_ok && rest_ok && n > 0
}

/// go-yaml's `isOldBool` (YAML 1.1 booleans, quoted for 1.1 readers).
fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

impl Style {
    /// The style go-yaml writes `s` in: `stringv` picks literal (for a `\n`), plain (when
    /// the text reads back as the same string) or double-quoted; `select_scalar_style` then
    /// falls back from plain to single-quoted to double-quoted, and from literal to
    /// double-quoted, as the analysis requires.
    ///
    /// One deliberate difference: a string with U+2028 or U+2029 (line and paragraph
    /// separators) is written double-quoted with `\L`/`\P` escapes, where go-yaml would
    /// write it single-quoted or literal with the separator raw and folding around it. It
    /// reads back as the same string.
    fn of(s: &str, key: bool) -> Style {
        let can_use_plain = resolve(s) == Resolved::Str && !is_base60_float(s) && !is_old_bool(s);
        let mut style = if s.contains('\n') {
            Style::Literal
        } else if can_use_plain {
            Style::Plain
        } else {
            Style::Double
        };
        let a = analyze(s);
        if key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain && (!a.block_plain_allowed || (s.is_empty() && key)) {
            style = Style::Single;
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || key) {
            style = Style::Double;
        }
        if s.contains(['\u{2028}', '\u{2029}']) {
            style = Style::Double;
        }
        style
    }
}

/// go-yaml's double-quoted writer with no line folding (sops's width is unlimited).
fn double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if !printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\' {
            out.push('\\');
            match c {
                '\0' => out.push('0'),
                '\u{7}' => out.push('a'),
                '\u{8}' => out.push('b'),
                '\t' => out.push('t'),
                '\n' => out.push('n'),
                '\u{b}' => out.push('v'),
                '\u{c}' => out.push('f'),
                '\r' => out.push('r'),
                '\u{1b}' => out.push('e'),
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '\u{85}' => out.push('N'),
                '\u{a0}' => out.push('_'),
                '\u{2028}' => out.push('L'),
                '\u{2029}' => out.push('P'),
                c if (c as u32) <= 0xff => out.push_str(&format!("x{:02X}", c as u32)),
                c if (c as u32) <= 0xffff => out.push_str(&format!("u{:04X}", c as u32)),
                c => out.push_str(&format!("U{:08X}", c as u32)),
            }
        } else {
            out.push(c);
        }
    }
    out.push('"');
}

/// go-yaml's literal block: `|`, an indentation indicator when the text starts with a space
/// or a line break, a chomping indicator (`-` without a final line break, `+` with more than
/// one), then each line at `indent` (empty lines stay empty). Only `\n` breaks reach here:
/// the others make go-yaml's analysis (and [`Style::of`]) choose double quotes.
fn literal(out: &mut String, s: &str, indent: usize) {
    out.push('|');
    if s.starts_with([' ', '\n']) {
        out.push_str(&INDENT.to_string());
    }
    if !s.ends_with('\n') {
        out.push('-');
    } else if s == "\n" || s.ends_with("\n\n") {
        out.push('+');
    }
    out.push('\n');
    let body = s.strip_suffix('\n').unwrap_or(s);
    for (i, line) in body.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if !line.is_empty() {
            spaces(out, indent);
            out.push_str(line);
        }
    }
    // The caller ends the last line.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_follow_go_yaml() {
        for (s, want) in [
            ("v1", Style::Plain),
            (
                "ENC[AES256_GCM,data:AA==,iv:BB==,tag:CC==,type:str]",
                Style::Plain,
            ),
            ("^(data|stringData)$", Style::Plain),
            ("3.13.3", Style::Plain),
            ("age1abc", Style::Plain),
            ("", Style::Double),
            ("true", Style::Double),
            ("yes", Style::Double),
            ("123", Style::Double),
            ("1.5", Style::Double),
            ("null", Style::Double),
            ("2026-11-25T00:00:00Z", Style::Double),
            ("1:20", Style::Double),
            (" lead", Style::Single),
            ("trail ", Style::Single),
            ("a: b", Style::Single),
            ("- x", Style::Single),
            ("#x", Style::Single),
            ("a #b", Style::Single),
            ("it's", Style::Plain),
            ("'q'", Style::Single),
            ("tab\there", Style::Double),
            ("bell\u{7}", Style::Double),
            ("emoji \u{1f600}", Style::Double),
            ("é", Style::Plain),
            ("line\nnext\n", Style::Literal),
            ("trailing space \nx", Style::Double),
            ("a:b", Style::Plain),
            ("key: {x}", Style::Single),
            ("---", Style::Single),
        ] {
            assert_eq!(Style::of(s, false), want, "{s:?}");
        }
        assert_eq!(Style::of("line\nnext", true), Style::Double);
    }

    #[test]
    fn writes_blocks_as_sops_does() {
        let doc = vec![
            ("apiVersion".to_string(), Value::Str("v1".into())),
            (
                "metadata".to_string(),
                Value::Map(vec![("name".into(), Value::Str("x".into()))]),
            ),
            (
                "list".to_string(),
                Value::Seq(vec![
                    Value::Map(vec![
                        ("enc".into(), Value::Str("a\nb\n".into())),
                        ("recipient".into(), Value::Str("r".into())),
                    ]),
                    Value::Str("s".into()),
                    Value::Int(-3),
                    Value::Bool(false),
                    Value::Null,
                ]),
            ),
            ("empty".to_string(), Value::Map(vec![])),
            ("text".to_string(), Value::Str(" x\n\n".into())),
            ("nolf".to_string(), Value::Str("x\ny".into())),
        ];
        assert_eq!(
            document(&doc),
            "apiVersion: v1\n\
             metadata:\n    name: x\n\
             list:\n    - enc: |\n        a\n        b\n      recipient: r\n    - s\n    - -3\n    - false\n    - null\n\
             empty: {}\n\
             text: |4+\n     x\n\n\
             nolf: |-\n    x\n    y\n"
        );
    }

    #[test]
    fn double_quoted_escapes_like_go_yaml() {
        let mut out = String::new();
        double_quoted(&mut out, "a\"b\\c\td\u{1}\u{85}\u{feff}\u{1f600}é");
        assert_eq!(out, "\"a\\\"b\\\\c\\td\\x01\\N\\uFEFF\\U0001F600é\"");
    }
}
