//! Locating keys in the parse tree: the dotted key path at a byte offset, for problems
//! that carry only a span (TOML syntax errors, serde's errors).

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One key (or array element) of the document, in document pre-order.
pub(super) struct Entry {
    key: Range<usize>,
    value: Range<usize>,
    path: String,
}

pub(super) fn entries(table: &Spanned<DeTable<'_>>) -> Vec<Entry> {
    let mut out = Vec::new();
    collect_table(table.get_ref(), "", &mut out);
    out
}

fn collect_table(table: &DeTable<'_>, prefix: &str, out: &mut Vec<Entry>) {
    for (key, value) in table.iter() {
        let path = join_key(prefix, key.get_ref());
        out.push(Entry {
            key: key.span(),
            value: value.span(),
            path: path.clone(),
        });
        collect_value(value.get_ref(), &path, out);
    }
}

fn collect_value(value: &DeValue<'_>, path: &str, out: &mut Vec<Entry>) {
    match value {
        DeValue::Table(table) => collect_table(table, path, out),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let item_path = format!("{path}[{i}]");
                out.push(Entry {
                    key: item.span(),
                    value: item.span(),
                    path: item_path.clone(),
                });
                collect_value(item.get_ref(), &item_path, out);
            }
        }
        _ => {}
    }
}

/// The key path at a byte offset: the deepest key or value containing it, else the last
/// key that starts before it (for syntax errors in the middle of a value).
pub(super) fn path_at(entries: &[Entry], offset: usize) -> String {
    let contains = |r: &Range<usize>| r.start <= offset && offset < r.end.max(r.start + 1);
    entries
        .iter()
        .rev()
        .find(|e| contains(&e.key) || contains(&e.value))
        .or_else(|| {
            entries
                .iter()
                .filter(|e| e.key.start <= offset)
                .max_by_key(|e| e.key.start)
        })
        .map(|e| e.path.clone())
        .unwrap_or_default()
}

/// The path of `key` where the file first set it, before `offset`: what a duplicate key at
/// `offset` repeats. The path's last component is `key`, in the table the file was in.
pub(super) fn earlier_key(entries: &[Entry], offset: usize, key: &str) -> Option<String> {
    let leaf = join_key("", key);
    let dotted = format!(".{leaf}");
    entries
        .iter()
        .filter(|e| e.key.start < offset && (e.path == leaf || e.path.ends_with(&dotted)))
        .max_by_key(|e| e.key.start)
        .map(|e| e.path.clone())
}

/// `prefix.key`, quoting keys that are not TOML bare keys.
pub(super) fn join_key(prefix: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let key = if bare {
        key.to_string()
    } else {
        toml::Value::String(key.to_string()).to_string()
    };
    if prefix.is_empty() {
        key
    } else {
        format!("{prefix}.{key}")
    }
}

/// The table a key path lives in, the way the user wrote its header.
pub(super) fn table_name(path: &str) -> String {
    let parent = match path.rfind('.') {
        Some(dot) => path.get(..dot).unwrap_or(""),
        None => "",
    };
    if parent.is_empty() {
        return "the top level".to_string();
    }
    match parent.strip_suffix(']').and_then(|p| p.rsplit_once('[')) {
        Some((array, _)) => format!("[[{array}]] ({parent})"),
        None => format!("[{parent}]"),
    }
}

/// The last segment of a key path, without an array index.
pub(super) fn leaf(path: &str) -> &str {
    let last = path.rsplit('.').next().unwrap_or(path);
    match last.find('[') {
        Some(i) => last.get(..i).unwrap_or(last),
        None => last,
    }
}
