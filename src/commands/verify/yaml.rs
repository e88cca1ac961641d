//! The few YAML fields `verify` reads, from the block-style YAML kubeseed
//! writes: `key: scalar` lines (plain, single- or double-quoted), the direct
//! children of a top-level mapping (`data:`), and literal block scalars
//! (`kubeconfig: |`).
//!
//! Not a YAML parser, on purpose: verify checks kubeseed's own output, whose
//! shape the templates fix, and adds no dependency to the trusted path. A
//! file rewritten in another valid YAML style (flow mappings, anchors) is
//! reported as missing a field: verify fails closed, never passes wrongly.

/// The value of a scalar, unquoted; `None` for a quoted value that does not parse.
pub fn unquote(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.starts_with('"') {
        // YAML double-quoted escapes are a superset of JSON's; kubeseed
        // quotes with JSON.
        serde_json::from_str(raw).ok()
    } else if let Some(inner) = raw.strip_prefix('\'') {
        inner.strip_suffix('\'').map(|s| s.replace("''", "'"))
    } else {
        Some(raw.to_string())
    }
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// `(indent, key, raw value)` of a `key: value` line, with a leading `- ` taken as indentation.
fn key_value(line: &str) -> Option<(usize, &str, &str)> {
    let mut indent = indent_of(line);
    let mut rest = &line[indent..];
    if let Some(r) = rest.strip_prefix("- ") {
        indent += 2;
        rest = r;
    }
    if rest.starts_with('#') {
        return None;
    }
    let (key, value) = if let Some(k) = rest.strip_suffix(':') {
        (k, "")
    } else {
        let i = rest.find(": ")?;
        (&rest[..i], &rest[i + 2..])
    };
    Some((indent, key, value))
}

/// Every value of `key`, at any depth, unquoted (unparseable ones skipped).
pub fn scalars(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .filter_map(key_value)
        .filter(|(_, k, v)| unquote(k).as_deref() == Some(key) && !v.is_empty())
        .filter_map(|(_, _, v)| unquote(v))
        .collect()
}

/// The one value of `key`: `Err` with a reason when it is absent or given
/// several different values.
pub fn scalar(text: &str, key: &str) -> Result<String, String> {
    let mut values = scalars(text, key);
    values.dedup();
    match values.len() {
        0 => Err(format!("no {key}")),
        1 => Ok(values.remove(0)),
        _ => Err(format!("{key} has several different values")),
    }
}

/// The direct children of the top-level mapping `key:` as raw values (not
/// unquoted, so a block scalar shows as `|`), keys unquoted.
pub fn top_mapping(text: &str, key: &str) -> Option<Vec<(String, String)>> {
    let mut lines = text.lines();
    lines.find(|l| key_value(l).is_some_and(|(i, k, v)| i == 0 && k == key && v.is_empty()))?;
    let mut out = Vec::new();
    let mut child = None;
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        let indent = indent_of(line);
        if indent == 0 {
            break;
        }
        let child_indent = *child.get_or_insert(indent);
        if indent != child_indent {
            continue;
        }
        if let Some((_, k, v)) = key_value(line) {
            out.push((unquote(k)?, v.to_string()));
        }
    }
    Some(out)
}

/// The string a literal block scalar `key: |` (with `-` or `+` chomping)
/// stands for, anywhere in `text`; the first one.
pub fn literal(text: &str, key: &str) -> Option<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let start = lines.iter().position(|l| {
        key_value(l).is_some_and(|(_, k, v)| {
            unquote(k).as_deref() == Some(key) && matches!(v.trim(), "|" | "|-" | "|+")
        })
    })?;
    let (key_indent, _, header) = key_value(lines[start])?;
    let body = &lines[start + 1..];
    let n = body
        .iter()
        .find(|l| !l.trim().is_empty())
        .map(|l| indent_of(l))?;
    if n <= key_indent {
        return None;
    }
    let mut content: Vec<&str> = Vec::new();
    for line in body {
        if line.trim().is_empty() {
            content.push(line.get(n..).unwrap_or(""));
        } else if indent_of(line) >= n {
            content.push(&line[n..]);
        } else {
            break;
        }
    }
    // `split('\n')` leaves an empty last element after a final newline.
    let mut trailing = 0;
    while content.last().is_some_and(|l| l.is_empty()) {
        content.pop();
        trailing += 1;
    }
    let mut s = content.join("\n");
    match header.trim() {
        "|-" => {}
        "|+" => s.push_str(&"\n".repeat(trailing.max(1))),
        _ => s.push('\n'),
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\ndata:\n  \"jws-kubeconfig-abcdef\": \"x..y\"\n  kubeconfig: |\n    apiVersion: v1\n    clusters:\n    - cluster:\n        server: \"https://[::1]:6443\"\n      name: \"\"\n\n    kind: Config\nother: 1\n";

    #[test]
    fn scalars_and_quotes() {
        assert_eq!(scalar(CM, "server").unwrap(), "https://[::1]:6443");
        assert_eq!(
            scalar(CM, "kind").unwrap_err(),
            "kind has several different values"
        );
        assert_eq!(scalar(CM, "nothing").unwrap_err(), "no nothing");
        assert_eq!(unquote("'it''s'").unwrap(), "it's");
        assert_eq!(unquote("\"bad").as_deref(), None);
    }

    #[test]
    fn mapping_children_only() {
        let data = top_mapping(CM, "data").unwrap();
        let keys: Vec<&str> = data.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["jws-kubeconfig-abcdef", "kubeconfig"]);
        assert_eq!(data[0].1, "\"x..y\"");
        assert!(top_mapping(CM, "metadata").is_none());
    }

    #[test]
    fn literal_blocks_clip_and_keep_inner_blank_lines() {
        assert_eq!(
            literal(CM, "kubeconfig").unwrap(),
            "apiVersion: v1\nclusters:\n- cluster:\n    server: \"https://[::1]:6443\"\n  name: \"\"\n\nkind: Config\n"
        );
        assert_eq!(literal("a: |-\n  x\n", "a").unwrap(), "x");
        assert_eq!(literal("a: |\n  x\n\n\n", "a").unwrap(), "x\n");
        assert!(literal("a: |\nb: 1\n", "a").is_none());
    }
}
