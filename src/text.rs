//! How rendered text carries values: standard base64, YAML scalars and YAML literal blocks.
//! One helper each, shared by the renderers (as template filters and directly) and the node
//! bundles, so a value is encoded the same way wherever it lands.

use base64::Engine;

/// Standard base64 with padding, as Kubernetes writes `data` and `*-data` fields.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A YAML scalar: plain when that is unambiguous (letters, digits and `-_./:@`, starting
/// with a letter or `/`, and no word YAML 1.1 reads as a boolean or null), else a JSON
/// string, which YAML reads as a double-quoted scalar. The `yaml` filter of every template
/// and the node bundles' host paths and unit names.
pub fn yaml_scalar(value: &str) -> String {
    let plain = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@".contains(c))
        && !matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        value.to_string()
    } else {
        // A string always serialises.
        serde_json::to_string(value).unwrap_or_default()
    }
}

/// The `literal(indent)` template filter: `text` as a YAML literal block
/// scalar (`|`) whose lines are indented by `indent` spaces, for values that
/// must survive YAML byte for byte (a signed kubeconfig, embedded configs).
///
/// With the default "clip" chomping a literal block gives back its lines
/// joined by `\n` plus exactly one final `\n`, provided no line ends in
/// blanks and the first line sets the indentation. Anything else is refused
/// here rather than silently changed by a YAML parser.
pub fn literal_block(text: String, indent: usize) -> Result<String, minijinja::Error> {
    let refuse = |why: &str| {
        Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("literal: {why}; a YAML literal block could not reproduce it exactly"),
        ))
    };
    let Some(body) = text.strip_suffix('\n') else {
        return refuse("the text does not end in a newline");
    };
    if body.is_empty() || body.ends_with('\n') {
        return refuse("the text is empty or ends in an empty line");
    }
    if body.starts_with([' ', '\n']) {
        return refuse("the first line is empty or starts with a space");
    }
    if let Some(c) = body
        .chars()
        .find(|c| (*c != '\n' && c.is_control()) || *c == '\u{feff}')
    {
        return refuse(&format!("the text contains the control character {c:?}"));
    }
    if body.lines().any(|l| l.ends_with(' ')) {
        return refuse("a line ends in a space");
    }
    let pad = " ".repeat(indent);
    let mut out = String::from("|");
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_scalars() {
        assert_eq!(yaml_scalar("https://a.b:6443"), "https://a.b:6443");
        assert_eq!(
            yaml_scalar("system:kube-scheduler"),
            "system:kube-scheduler"
        );
        assert_eq!(yaml_scalar("123"), "\"123\"");
        assert_eq!(yaml_scalar("no"), "\"no\"");
        assert_eq!(yaml_scalar("https://[::1]:6443"), "\"https://[::1]:6443\"");
        assert_eq!(yaml_scalar(""), "\"\"");
    }

    #[test]
    fn yaml_scalars_for_host_paths_and_units() {
        assert_eq!(
            yaml_scalar("/etc/kubernetes/pki/ca.crt"),
            "/etc/kubernetes/pki/ca.crt"
        );
        assert_eq!(yaml_scalar("kubelet.service"), "kubelet.service");
        assert_eq!(yaml_scalar("/etc/a b"), "\"/etc/a b\"");
    }

    #[test]
    fn literal_block_indents_every_line() {
        assert_eq!(
            literal_block("a: 1\nb:\n- \"\"\n".into(), 4).unwrap(),
            "|\n    a: 1\n    b:\n    - \"\""
        );
        // An interior empty line stays empty: no trailing blanks.
        assert_eq!(
            literal_block("a\n\nb\n".into(), 2).unwrap(),
            "|\n  a\n\n  b"
        );
    }

    #[test]
    fn literal_block_refuses_what_it_cannot_reproduce() {
        for bad in [
            "no newline",
            "",
            "\n",
            "two newlines\n\n",
            " leading space\n",
            "\nleading empty line\n",
            "trailing space \nx\n",
            "tab\there\n",
            "cr\r\n",
        ] {
            assert!(literal_block(bad.into(), 4).is_err(), "{bad:?}");
        }
    }
}
