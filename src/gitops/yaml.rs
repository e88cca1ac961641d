//! Reads a YAML document into a [`Value`] tree typed exactly as sops types it.
//!
//! sops reads YAML with go-yaml v3 into Go values (string, int, bool, nil, maps, slices) and
//! computes its MAC over those values, so a reader that typed a scalar differently (the
//! string `"1.0"` against the float `1.0`, `2026-01-01` against a timestamp) would compute
//! another MAC. This reader types plain scalars with go-yaml's own resolution rules
//! ([`resolve`]) and refuses, with the path and line, whatever it cannot reproduce exactly:
//! floats, timestamps, non-decimal integers, comments (sops would encrypt them), anchors and
//! aliases, tags, several documents, non-string keys, duplicate keys.

use std::borrow::Cow;
use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use zeroize::Zeroize;

/// A YAML value as sops sees it. Mapping order is document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Map(Vec<(String, Value)>),
    Seq(Vec<Value>),
}

impl Zeroize for Value {
    fn zeroize(&mut self) {
        match self {
            Value::Str(s) => s.zeroize(),
            Value::Int(i) => i.zeroize(),
            Value::Bool(b) => b.zeroize(),
            Value::Map(items) => {
                for (k, v) in items.iter_mut() {
                    k.zeroize();
                    v.zeroize();
                }
                items.clear();
            }
            Value::Seq(items) => {
                items.iter_mut().for_each(Zeroize::zeroize);
                items.clear();
            }
            Value::Null => {}
        }
        *self = Value::Null;
    }
}

/// Why a document cannot be read. Messages name lines, columns and key paths, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YamlError {
    /// Not YAML: the parser's message at a 1-based line and column.
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// YAML this reader refuses, at a 1-based line (and the key path when there is one).
    Unsupported {
        line: usize,
        path: String,
        what: String,
    },
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            YamlError::Syntax {
                line,
                column,
                message,
            } => write!(f, "line {line} column {column}: invalid YAML: {message}"),
            YamlError::Unsupported { line, path, what } if path.is_empty() => {
                write!(f, "line {line}: {what}")
            }
            YamlError::Unsupported { line, path, what } => {
                write!(f, "line {line}, at {path}: {what}")
            }
        }
    }
}

impl std::error::Error for YamlError {}

/// What go-yaml v3 resolves an untagged plain scalar to (its `resolve("", s)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    Null,
    Bool(bool),
    /// An integer go-yaml reads into a Go `int`.
    Int(i64),
    /// An integer only a Go `uint64` holds.
    Uint,
    Float,
    Timestamp,
    /// `<<`, the merge key.
    Merge,
    Str,
}

/// go-yaml v3's resolution of a plain scalar (`resolve.go`), as far as the tag goes.
pub fn resolve(s: &str) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF"
        | "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float,
        "<<" => return Resolved::Merge,
        _ => {}
    }
    match s.as_bytes()[0] {
        b'.' if go_parse_float(s) => return Resolved::Float,
        b'+' | b'-' | b'0'..=b'9' => {
            if is_timestamp(s) {
                return Resolved::Timestamp;
            }
            let plain: String = s.chars().filter(|c| *c != '_').collect();
            if let Some(i) = go_parse_int(&plain) {
                return Resolved::Int(i);
            }
            if go_parse_uint(&plain) {
                return Resolved::Uint;
            }
            if is_yaml_float(&plain) && go_parse_float(&plain) {
                return Resolved::Float;
            }
            // go-yaml's own 0b/0o/-0b/-0o cases after these are already covered by Go's
            // base-0 ParseInt and ParseUint above.
        }
        _ => {}
    }
    Resolved::Str
}

/// Go's `strconv.ParseInt(s, 0, 64)` succeeding (after go-yaml removed underscores).
fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = go_base0(digits)?;
    if neg {
        if magnitude <= 1u128 << 63 {
            Some((magnitude as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)` succeeding.
fn go_parse_uint(s: &str) -> bool {
    go_base0(s).is_some_and(|v| v <= u64::MAX as u128)
}

/// An unsigned Go integer literal with base prefix (0x, 0o, 0b, or a leading 0 for octal).
fn go_base0(s: &str) -> Option<u128> {
    let lower = s.to_ascii_lowercase();
    let (digits, radix) = if let Some(d) = lower.strip_prefix("0x") {
        (d, 16)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (d, 8)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (d, 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    go_digits(digits, radix)
}

/// Digits in `radix` (no sign, no underscore), saturating far above `u64`.
fn go_digits(digits: &str, radix: u32) -> Option<u128> {
    if digits.is_empty() {
        return None;
    }
    let mut v: u128 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix)?;
        v = (v * u128::from(radix) + u128::from(d)).min(u128::from(u64::MAX) + 1);
    }
    Some(v)
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` accepting `s` (out-of-range values count: go-yaml then
/// keeps the string, but they are floats to a reader here all the same, so refused). Covers
/// what reaches it: text starting with `.`, or matching [`is_yaml_float`].
fn go_parse_float(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = t.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return true;
    }
    // Decimal: digits with at most one '.', at least one digit, optional exponent; '_'
    // only between digits.
    let (mantissa, exponent) = match lower.find('e') {
        Some(i) => (&lower[..i], Some(&lower[i + 1..])),
        None => (lower.as_str(), None),
    };
    let underscores_ok = |p: &str| {
        let b = p.as_bytes();
        b.iter().enumerate().all(|(i, c)| {
            *c != b'_'
                || (i > 0
                    && i + 1 < b.len()
                    && b[i - 1].is_ascii_digit()
                    && b[i + 1].is_ascii_digit())
        })
    };
    let m = mantissa.replace('_', "");
    let mantissa_ok = m.chars().filter(|c| *c == '.').count() <= 1
        && m.chars().any(|c| c.is_ascii_digit())
        && m.chars().all(|c| c.is_ascii_digit() || c == '.');
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok && underscores_ok(&lower)
}

/// go-yaml's `parseTimestamp`: four digits and a '-' first, then one of its layouts. Any such
/// text is refused by the reader anyway, so the shape is checked generously: a date
/// `YYYY-M-D` with an optional time part.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let rest = &s[5..];
    let date_end = rest.find(['T', 't', ' ']).unwrap_or(rest.len());
    let mut parts = rest[..date_end].split('-');
    let (Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let num = |p: &str, max: u32| {
        (1..=2).contains(&p.len())
            && p.bytes().all(|c| c.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|v| (1..=max).contains(&v))
    };
    num(m, 12) && num(d, 31)
}

/// One scalar: its text and whether it was plain (untagged, unquoted).
struct Scalar<'a> {
    text: Cow<'a, str>,
    plain: bool,
    span: Span,
}

/// Reads `text`, which must hold exactly one document whose root is a mapping.
pub fn parse(text: &str) -> Result<Vec<(String, Value)>, YamlError> {
    let mut reader = Reader {
        parser: Parser::new_from_str(text),
        scalar_spans: Vec::new(),
        depth: 0,
    };
    let root = reader.document()?;
    reader.refuse_comments(text)?;
    match root {
        Value::Map(items) => Ok(items),
        _ => Err(unsupported(1, "", "the document is not a mapping")),
    }
}

fn unsupported(line: usize, path: &str, what: &str) -> YamlError {
    YamlError::Unsupported {
        line,
        path: path.to_string(),
        what: what.to_string(),
    }
}

/// Deeper nesting than any manifest needs is refused rather than recursed into.
const MAX_DEPTH: usize = 64;

struct Reader<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    /// Where every scalar is, in characters: a `#` outside all of them starts a comment.
    scalar_spans: Vec<(usize, usize)>,
    depth: usize,
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), YamlError> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(YamlError::Syntax {
                line: e.marker().line(),
                column: e.marker().col() + 1,
                message: e.info().to_string(),
            }),
            None => Err(unsupported(1, "", "the YAML stream ends early")),
        }
    }

    fn document(&mut self) -> Result<Value, YamlError> {
        let (ev, _) = self.next()?;
        if !matches!(ev, Event::StreamStart) {
            return Err(unsupported(1, "", "no YAML stream"));
        }
        let (ev, span) = self.next()?;
        if !matches!(ev, Event::DocumentStart(_)) {
            return Err(unsupported(span.start.line(), "", "the document is empty"));
        }
        let (ev, span) = self.next()?;
        let root = self.node(ev, span, &mut Vec::new())?;
        let (ev, span) = self.next()?;
        if !matches!(ev, Event::DocumentEnd) {
            return Err(unsupported(span.start.line(), "", "unexpected YAML event"));
        }
        let (ev, span) = self.next()?;
        match ev {
            Event::StreamEnd => Ok(root),
            _ => Err(unsupported(
                span.start.line(),
                "",
                "several YAML documents in one file (one is expected)",
            )),
        }
    }

    fn node(
        &mut self,
        ev: Event<'a>,
        span: Span,
        path: &mut Vec<String>,
    ) -> Result<Value, YamlError> {
        let line = span.start.line();
        let here = |what: &str| unsupported(line, &path.join("."), what);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                if anchor != 0 {
                    return Err(here("YAML anchors are not supported"));
                }
                if tag.is_some() {
                    return Err(here("YAML tags (!…) are not supported"));
                }
                let scalar = Scalar {
                    text,
                    plain: style == ScalarStyle::Plain,
                    span,
                };
                self.scalar_spans
                    .push((scalar.span.start.index(), scalar.span.end.index()));
                typed(scalar).map_err(&here)
            }
            Event::Alias(_) => Err(here("YAML aliases (*…) are not supported")),
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag)
                if anchor != 0 || tag.is_some() =>
            {
                Err(here("YAML anchors and tags are not supported"))
            }
            Event::SequenceStart(..) => {
                self.enter(line, path)?;
                let mut items = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, span, path)?);
                }
                self.depth -= 1;
                Ok(Value::Seq(items))
            }
            Event::MappingStart(..) => {
                self.enter(line, path)?;
                let mut items: Vec<(String, Value)> = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    let key = match ev {
                        Event::MappingEnd => break,
                        Event::Scalar(text, style, anchor, tag) if anchor == 0 && tag.is_none() => {
                            self.scalar_spans
                                .push((span.start.index(), span.end.index()));
                            let plain = style == ScalarStyle::Plain;
                            if plain && resolve(&text) != Resolved::Str {
                                return Err(unsupported(
                                    span.start.line(),
                                    &path.join("."),
                                    "a mapping key that is not a string (quote it)",
                                ));
                            }
                            text.into_owned()
                        }
                        _ => {
                            return Err(unsupported(
                                span.start.line(),
                                &path.join("."),
                                "a mapping key that is not a plain string",
                            ))
                        }
                    };
                    if items.iter().any(|(k, _)| *k == key) {
                        return Err(unsupported(
                            span.start.line(),
                            &path.join("."),
                            &format!("the key {key:?} appears twice"),
                        ));
                    }
                    path.push(key);
                    let (ev, span) = self.next()?;
                    let value = self.node(ev, span, path);
                    let key = path.pop().unwrap_or_default();
                    items.push((key, value?));
                }
                self.depth -= 1;
                Ok(Value::Map(items))
            }
            _ => Err(here("unexpected YAML event")),
        }
    }

    fn enter(&mut self, line: usize, path: &[String]) -> Result<(), YamlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(unsupported(line, &path.join("."), "nested too deeply"));
        }
        Ok(())
    }

    /// sops keeps and encrypts comments; this reader has no place for them, so refuses them.
    fn refuse_comments(&self, text: &str) -> Result<(), YamlError> {
        let mut spans = self.scalar_spans.clone();
        spans.sort_unstable();
        let mut line = 1;
        let mut next_span = 0;
        for (i, c) in text.chars().enumerate() {
            if c == '\n' {
                line += 1;
            }
            while next_span < spans.len() && spans[next_span].1 <= i {
                next_span += 1;
            }
            let inside = next_span < spans.len() && spans[next_span].0 <= i;
            if c == '#' && !inside {
                return Err(unsupported(
                    line,
                    "",
                    "YAML comments are not supported (sops would encrypt them); remove it",
                ));
            }
        }
        Ok(())
    }
}

/// A scalar's value as go-yaml types it, or why it is refused.
fn typed(scalar: Scalar<'_>) -> Result<Value, &'static str> {
    if !scalar.plain {
        return Ok(Value::Str(scalar.text.into_owned()));
    }
    match resolve(&scalar.text) {
        Resolved::Str => Ok(Value::Str(scalar.text.into_owned())),
        Resolved::Null => Ok(Value::Null),
        Resolved::Bool(b) => Ok(Value::Bool(b)),
        Resolved::Int(i) if i.to_string() == scalar.text => Ok(Value::Int(i)),
        Resolved::Int(_) | Resolved::Uint => Err(
            "an integer not written in plain decimal (sops would rewrite it); quote it or write it in decimal",
        ),
        Resolved::Float => Err("a floating-point number (not supported); quote it"),
        Resolved::Timestamp => Err("a timestamp (sops would read it as a time); quote it"),
        Resolved::Merge => Err("the merge key << is not supported"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_resolve_as_go_yaml_does() {
        for (s, want) in [
            ("", Resolved::Null),
            ("~", Resolved::Null),
            ("NULL", Resolved::Null),
            ("True", Resolved::Bool(true)),
            ("FALSE", Resolved::Bool(false)),
            ("yes", Resolved::Str),
            ("on", Resolved::Str),
            ("0", Resolved::Int(0)),
            ("-12", Resolved::Int(-12)),
            ("+12", Resolved::Int(12)),
            ("017", Resolved::Int(15)),
            ("0x1F", Resolved::Int(31)),
            ("1_000", Resolved::Int(1000)),
            ("0b101", Resolved::Int(5)),
            ("0o17", Resolved::Int(15)),
            ("-9223372036854775808", Resolved::Int(i64::MIN)),
            ("9223372036854775808", Resolved::Uint),
            ("99999999999999999999999", Resolved::Float),
            ("1.5", Resolved::Float),
            ("1e3", Resolved::Float),
            (".5", Resolved::Float),
            (".inf", Resolved::Float),
            ("-.INF", Resolved::Float),
            ("1.2.3", Resolved::Str),
            ("3.13.3", Resolved::Str),
            ("2026-11-25", Resolved::Timestamp),
            ("2026-11-25T00:00:00Z", Resolved::Timestamp),
            ("2026-13-25", Resolved::Str),
            ("v1", Resolved::Str),
            ("<<", Resolved::Merge),
            ("-", Resolved::Str),
            ("+", Resolved::Str),
            ("0x", Resolved::Str),
            ("1:20", Resolved::Str),
            ("ZjMwZTZm", Resolved::Str),
            ("12abc", Resolved::Str),
        ] {
            assert_eq!(resolve(s), want, "{s:?}");
        }
    }

    #[test]
    fn reads_a_secret_in_order() {
        let doc = parse(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  labels: {x: 'y'}\n\
             data:\n  k: dg==\nlist:\n- 1\n- true\n- ~\n- \"q\"\nempty: []\n",
        )
        .unwrap();
        assert_eq!(
            doc,
            vec![
                ("apiVersion".into(), Value::Str("v1".into())),
                ("kind".into(), Value::Str("Secret".into())),
                (
                    "metadata".into(),
                    Value::Map(vec![
                        ("name".into(), Value::Str("a".into())),
                        (
                            "labels".into(),
                            Value::Map(vec![("x".into(), Value::Str("y".into()))])
                        ),
                    ])
                ),
                (
                    "data".into(),
                    Value::Map(vec![("k".into(), Value::Str("dg==".into()))])
                ),
                (
                    "list".into(),
                    Value::Seq(vec![
                        Value::Int(1),
                        Value::Bool(true),
                        Value::Null,
                        Value::Str("q".into())
                    ])
                ),
                ("empty".into(), Value::Seq(vec![])),
            ]
        );
    }

    #[test]
    fn refuses_what_sops_would_read_differently() {
        for (doc, want) in [
            ("a: 1 # c\n", "line 1: YAML comments are not supported"),
            ("# head\na: 1\n", "line 1: YAML comments are not supported"),
            (
                "a: |\n  x\n# c\n",
                "line 3: YAML comments are not supported",
            ),
            (
                "a: &x 1\nb: *x\n",
                "line 1, at a: YAML anchors are not supported",
            ),
            ("a: !!str 1\n", "line 1, at a: YAML tags"),
            ("a: 1\n---\nb: 2\n", "line 2: several YAML documents"),
            ("1: a\n", "line 1: a mapping key that is not a string"),
            ("a:\n  b: 1.5\n", "line 2, at a.b: a floating-point number"),
            ("a: 2026-01-01\n", "line 1, at a: a timestamp"),
            (
                "a: 0x10\n",
                "line 1, at a: an integer not written in plain decimal",
            ),
            ("a: 1\na: 2\n", "line 2: the key \"a\" appears twice"),
            ("- a\n", "line 1: the document is not a mapping"),
            ("", "line 1: the document is empty"),
            (
                "? [a]\n: b\n",
                "line 1: a mapping key that is not a plain string",
            ),
        ] {
            let err = parse(doc).unwrap_err().to_string();
            assert!(err.starts_with(want), "{doc:?}: {err}");
        }
    }

    #[test]
    fn hashes_inside_scalars_are_not_comments() {
        let doc = parse("a: 'x # y'\nb: \"#\"\nc: a#b\nd: |\n  # not a comment\n").unwrap();
        assert_eq!(doc[2].1, Value::Str("a#b".into()));
        assert_eq!(doc[3].1, Value::Str("# not a comment\n".into()));
    }

    #[test]
    fn syntax_errors_name_the_place_not_the_text() {
        let err = parse("a: \"secret-value\nb: [\n").unwrap_err().to_string();
        assert!(err.starts_with("line "), "{err}");
        assert!(!err.contains("secret-value"), "{err}");
    }
}
