//! Value syntax: names, hosts, URLs, CIDRs, versions. Each returns (message, hint) or
//! (reason, hint) for the caller to place.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;

use super::{ApiServer, Host, KubeVersion, DEFAULT_API_SERVER_PORT, MIN_KUBERNETES_MINOR};

/// "a string", "an integer": for TOML type names in messages.
pub(super) fn a(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {noun}")
}

pub(super) fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Why `name` is not a lowercase RFC 1123 DNS name without a trailing dot, as
/// (reason, hint). With `wildcard`, a first label of `*` is allowed (`*.example.com`).
pub(super) fn dns_name_problem(name: &str, wildcard: bool) -> Option<(String, String)> {
    let chars_hint = "use only a-z, 0-9, \"-\" and \".\" between labels".to_string();
    if name.is_empty() {
        return Some((
            "it is empty".to_string(),
            "write a name such as api.example.com".to_string(),
        ));
    }
    if !name.is_ascii() {
        return Some((
            "it has non-ASCII characters".to_string(),
            "write internationalized names in their punycode (xn--) form".to_string(),
        ));
    }
    if let Some(trimmed) = name.strip_suffix('.') {
        return Some((
            "it ends with \".\"".to_string(),
            format!("drop the trailing dot: \"{trimmed}\""),
        ));
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        let lower = name.to_ascii_lowercase();
        let hint = if dns_name_problem(&lower, wildcard).is_none() {
            format!("write it in lowercase: \"{lower}\"")
        } else {
            chars_hint
        };
        return Some(("it has uppercase letters".to_string(), hint));
    }
    if name.len() > 253 {
        return Some((
            "it is longer than 253 characters".to_string(),
            "shorten it".to_string(),
        ));
    }
    let rest = match name.strip_prefix("*.") {
        Some(rest) if wildcard => rest,
        _ => name,
    };
    if rest.contains('*') {
        let hint = if wildcard {
            "a wildcard is only allowed as the whole first label, e.g. *.example.com"
        } else {
            "wildcards are not allowed here; list each name"
        };
        return Some((
            "it has a \"*\" where none is allowed".to_string(),
            hint.to_string(),
        ));
    }
    let mut last = "";
    for label in rest.split('.') {
        if label.is_empty() {
            return Some((
                "it has an empty label (\"..\" or a leading \".\")".to_string(),
                "remove the extra dot".to_string(),
            ));
        }
        if label.len() > 63 {
            return Some((
                format!("label \"{label}\" is longer than 63 characters"),
                "shorten it".to_string(),
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Some((format!("it has the character '{c}'"), chars_hint));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some((
                format!("label \"{label}\" starts or ends with \"-\""),
                "labels start and end with a letter or digit".to_string(),
            ));
        }
        last = label;
    }
    // Resolvers and URL parsers read an all-digit last label as part of an IPv4 address.
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Some((
            "it looks like an IP address but is not one".to_string(),
            "write a complete IP address, or a name whose last label has a letter".to_string(),
        ));
    }
    None
}

/// Why `name` is not a DNS-1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63), as
/// (reason, hint).
pub(super) fn label_problem(name: &str) -> Option<(String, String)> {
    let hint = "use a DNS-1123 label: 1 to 63 characters from a-z, 0-9 and \"-\", starting and ending with a letter or digit".to_string();
    let reason = if name.is_empty() {
        "it is empty".to_string()
    } else if name.len() > 63 {
        "it is longer than 63 characters".to_string()
    } else if name.bytes().any(|b| b.is_ascii_uppercase()) {
        let lower = name.to_ascii_lowercase();
        if label_problem(&lower).is_none() {
            return Some((
                "it has uppercase letters".to_string(),
                format!("write it in lowercase: \"{lower}\""),
            ));
        }
        "it has uppercase letters".to_string()
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        format!("it has the character '{c}'")
    } else if name.starts_with('-') || name.ends_with('-') {
        "it starts or ends with \"-\"".to_string()
    } else {
        return None;
    };
    Some((reason, hint))
}

/// Why `name` is not a Kubernetes qualified name's name part or a label value
/// (`[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63), as a reason.
fn qualified_part_problem(name: &str) -> Option<String> {
    if name.len() > 63 {
        Some("longer than 63 characters".to_string())
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        Some(format!("has the character '{c}'"))
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        Some("does not start and end with a letter or digit".to_string())
    } else {
        None
    }
}

const LABEL_KEY_HINT: &str = "write [prefix/]name: an optional DNS subdomain and \"/\", then 1 to 63 characters from A-Z, a-z, 0-9, \"-\", \"_\" and \".\", starting and ending with a letter or digit, e.g. example.com/gpu";

/// Why `key` is not a label (or taint) key, as (reason, hint).
pub(super) fn label_key_problem(key: &str) -> Option<(String, String)> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let reason = if name.is_empty() {
        Some("its name is empty".to_string())
    } else if let Some(p) = prefix.and_then(|p| dns_name_problem(p, false)) {
        Some(format!("its prefix is not a DNS subdomain: {}", p.0))
    } else {
        qualified_part_problem(name).map(|r| format!("its name {r}"))
    };
    reason.map(|r| (r, LABEL_KEY_HINT.to_string()))
}

/// Why `value` is not a label (or taint) value (empty, or a qualified name part), as
/// (reason, hint).
pub(super) fn label_value_problem(value: &str) -> Option<(String, String)> {
    if value.is_empty() {
        return None;
    }
    qualified_part_problem(value).map(|r| {
        (
            format!("the value {r}"),
            "write at most 63 characters from A-Z, a-z, 0-9, \"-\", \"_\" and \".\", starting and ending with a letter or digit, or an empty value".to_string(),
        )
    })
}

/// The labels a kubelet may give its own Node under the `kubernetes.io` and `k8s.io`
/// namespaces (k8s.io/kubelet `IsKubeletLabel`); NodeRestriction refuses every other label
/// there, and the kubelet refuses to start with one in `--node-labels`.
const KUBELET_LABELS: [&str; 11] = [
    "kubernetes.io/hostname",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
    "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type",
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch",
];
const KUBELET_LABEL_NAMESPACES: [&str; 2] = ["kubelet.kubernetes.io", "node.kubernetes.io"];

/// Whether a kubelet may set label `key` on its own Node (`--node-labels`): anything
/// outside the `kubernetes.io` and `k8s.io` namespaces except `node-restriction.kubernetes.io`,
/// and inside them only the kubelet's own labels and namespaces.
pub(super) fn kubelet_may_set_label(key: &str) -> bool {
    let Some((namespace, _)) = key.split_once('/') else {
        return true;
    };
    let within = |ns: &str| namespace == ns || namespace.ends_with(&format!(".{ns}"));
    if within("node-restriction.kubernetes.io") {
        return false;
    }
    if !within("kubernetes.io") && !within("k8s.io") {
        return true;
    }
    KUBELET_LABELS.contains(&key) || KUBELET_LABEL_NAMESPACES.iter().any(|ns| within(ns))
}

/// The effects a taint may have.
pub(super) const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// Why `taint` is not `key[=value]:Effect` (the kubelet's `--register-with-taints` syntax),
/// as (reason, hint).
pub(super) fn taint_problem(taint: &str) -> Option<(String, String)> {
    let hint = || {
        format!(
            "write key[=value]:Effect with Effect one of {}, e.g. dedicated=gpu:NoSchedule",
            TAINT_EFFECTS.join(", ")
        )
    };
    let Some((key_value, effect)) = taint.rsplit_once(':') else {
        return Some(("it has no \":Effect\"".to_string(), hint()));
    };
    if !TAINT_EFFECTS.contains(&effect) {
        return Some((format!("\"{effect}\" is not a taint effect"), hint()));
    }
    let (key, value) = key_value.split_once('=').unwrap_or((key_value, ""));
    if let Some((reason, hint)) = label_key_problem(key) {
        return Some((format!("the key \"{key}\": {reason}"), hint));
    }
    label_value_problem(value)
}

/// kube-apiserver's pattern for `auth-extra-groups` entries:
/// `\Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\z`.
pub(super) fn is_bootstrap_group(group: &str) -> bool {
    let Some(rest) = group.strip_prefix("system:bootstrappers:") else {
        return false;
    };
    let Some(last) = rest.bytes().last() else {
        return false;
    };
    rest.len() <= 256
        && (last.is_ascii_lowercase() || last.is_ascii_digit())
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b':' || b == b'-')
}

/// `cluster.api_server`: `https://HOST[:PORT][/]` and nothing else.
pub(super) fn parse_api_server(text: &str) -> Result<ApiServer, (String, String)> {
    let example = "write https://HOST:PORT, e.g. https://api.demo.example.com:6443".to_string();
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err((format!("\"{text}\" contains whitespace"), example));
    }
    // The url crate checks general URL syntax; the authority is taken apart by hand below
    // because url hides what matters here (it drops an explicit :443 and normalises hosts).
    let url = match url::Url::parse(text) {
        Ok(url) => url,
        Err(e) => return Err((format!("\"{text}\" is not a URL ({e})"), example)),
    };
    if url.scheme() != "https" {
        return Err((
            format!(
                "\"{text}\" uses {}://; the API server is only reached over https",
                url.scheme()
            ),
            example,
        ));
    }
    let Some(rest) = text
        .get(..8)
        .filter(|s| s.eq_ignore_ascii_case("https://"))
        .and_then(|_| text.get(8..))
    else {
        return Err((
            format!("\"{text}\" is not of the form https://HOST:PORT"),
            example,
        ));
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err((
            format!(
                "\"{text}\" contains user info (user@); credentials never go in the server URL"
            ),
            "remove everything up to and including \"@\"".to_string(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
        return Err((
            format!("\"{text}\" has a path, query or fragment"),
            format!(
                "kubeconfigs need only the scheme, host and port: https://{}",
                rest.split(['/', '?', '#']).next().unwrap_or(rest)
            ),
        ));
    }
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or(rest);
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((inside, after)) = bracketed.split_once(']') else {
            return Err((format!("\"{text}\" has an unclosed \"[\""), example));
        };
        let ip = Ipv6Addr::from_str(inside).map_err(|_| {
            (
                format!("\"{inside}\" is not an IPv6 address"),
                "write an IPv6 address in brackets without a zone, e.g. https://[fd00::10]:6443"
                    .to_string(),
            )
        })?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').unwrap_or(after)),
        };
        (Host::Ip(IpAddr::V6(ip)), port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        let host = if let Ok(ip) = Ipv4Addr::from_str(host) {
            Host::Ip(IpAddr::V4(ip))
        } else if let Some((reason, hint)) = dns_name_problem(host, false) {
            return Err((
                format!("\"{host}\" is not a valid host name: {reason}"),
                hint,
            ));
        } else {
            Host::Dns(host.to_string())
        };
        (host, port)
    };
    let port = match port {
        None => DEFAULT_API_SERVER_PORT,
        Some(text) => match text.parse::<u16>() {
            // Canonical digits only, so `:06443` or `:+6443` are not silently rewritten.
            Ok(port) if port != 0 && port.to_string() == text => port,
            _ => {
                return Err((
                    format!("\"{text}\" is not a valid port"),
                    format!("write a port from 1 to 65535 after the host, or leave it out for {DEFAULT_API_SERVER_PORT}"),
                ))
            }
        },
    };
    Ok(ApiServer { host, port })
}

/// `pki.extra_sans[]`: an IP address (no brackets) or a DNS name, wildcard allowed.
pub(super) fn parse_san(text: &str) -> Result<Host, (String, String)> {
    if let Ok(ip) = IpAddr::from_str(text) {
        return Ok(Host::Ip(ip));
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        if Ipv6Addr::from_str(inner).is_ok() {
            return Err((
                format!("\"{text}\" has brackets"),
                format!("write IPv6 SANs without brackets: \"{inner}\""),
            ));
        }
    }
    match dns_name_problem(text, true) {
        None => Ok(Host::Dns(text.to_string())),
        Some((reason, hint)) => Err((
            format!("\"{text}\" is neither an IP address nor a valid DNS name: {reason}"),
            hint,
        )),
    }
}

/// `v1.MINOR.PATCH` with an optional `-prerelease`, MINOR at least 32.
/// Why `text` is not an image repository such as kubeadm's `imageRepository`
/// (`registry.example.com:5000/mirror/k8s`), as (reason, hint): a registry host (a DNS
/// name with a dot, `localhost`, or an IPv4 address) with an optional port, then any
/// number of lowercase path components, as the distribution reference grammar has them.
/// No scheme, tag, digest or trailing slash: kubeseed appends `/<image>:<tag>`.
pub(super) fn image_repository_problem(text: &str) -> Option<(String, String)> {
    let hint = || {
        "write a registry host, an optional port and path, e.g. registry.example.com:5000/k8s"
            .to_string()
    };
    if let Some(rest) = text.split_once("://").map(|(_, r)| r) {
        return Some((
            "it has a URL scheme".to_string(),
            format!("drop the scheme: \"{rest}\""),
        ));
    }
    if let Some(trimmed) = text.strip_suffix('/') {
        return Some((
            "it ends with \"/\"".to_string(),
            format!("drop the trailing slash: \"{trimmed}\""),
        ));
    }
    let (registry, path) = text.split_once('/').unwrap_or((text, ""));
    if text.contains('@') || path.contains(':') {
        return Some((
            "it names a tag or digest".to_string(),
            "give only the repository: kubeseed adds each image's name and tag".to_string(),
        ));
    }
    let (host, port) = match registry.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (registry, None),
    };
    if let Some(port) = port {
        if port.parse::<u16>().map_or(true, |p| p == 0) || port.starts_with('0') {
            return Some((format!("port \"{port}\" is not a port number"), hint()));
        }
    }
    let is_host = host == "localhost"
        || host.parse::<Ipv4Addr>().is_ok()
        || (host.contains('.') && dns_name_problem(host, false).is_none());
    if !is_host {
        return Some((
            format!("\"{host}\" is not a registry host"),
            "start with the registry's host name (with a dot), localhost or an IPv4 address, e.g. registry.example.com/k8s".to_string(),
        ));
    }
    let component_ok = |c: &str| {
        let b = c.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter()
                .all(|&x| x.is_ascii_lowercase() || x.is_ascii_digit() || b"._-".contains(&x))
    };
    if !path.is_empty() {
        if let Some(bad) = path.split('/').find(|c| !component_ok(c)) {
            return Some((
                format!("path component \"{bad}\" is not valid"),
                "use a-z, 0-9 and \".\", \"_\", \"-\" between them in each path component"
                    .to_string(),
            ));
        }
    }
    None
}

pub(super) fn parse_kube_version(text: &str) -> Result<KubeVersion, (String, String)> {
    let version = kube_version_syntax(text)?;
    if version.minor < MIN_KUBERNETES_MINOR {
        return Err((
            format!(
                "\"{text}\" is too old: kubeseed supports Kubernetes 1.{MIN_KUBERNETES_MINOR} or later"
            ),
            format!("use v1.{MIN_KUBERNETES_MINOR}.0 or later"),
        ));
    }
    Ok(version)
}

/// `v1.MINOR.PATCH` with an optional `-prerelease`, any MINOR.
fn kube_version_syntax(text: &str) -> Result<KubeVersion, (String, String)> {
    let invalid = || {
        (
            format!("\"{text}\" is not a Kubernetes version"),
            "write it as v1.MINOR.PATCH, e.g. v1.36.2".to_string(),
        )
    };
    let Some(body) = text.strip_prefix('v') else {
        if text.starts_with(|c: char| c.is_ascii_digit())
            && kube_version_syntax(&format!("v{text}")).is_ok()
        {
            return Err((
                format!("\"{text}\" is missing the leading \"v\""),
                format!("write \"v{text}\" (it is also the image tag)"),
            ));
        }
        return Err(invalid());
    };
    let (core, pre) = match body.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (body, None),
    };
    let number = |s: &str| -> Option<u32> {
        let canonical = !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_digit())
            && (s == "0" || !s.starts_with('0'));
        if canonical {
            s.parse().ok()
        } else {
            None
        }
    };
    let parts: Vec<&str> = core.split('.').collect();
    let [major, minor, patch] = parts.as_slice() else {
        return Err(invalid());
    };
    let (Some(major), Some(minor), Some(patch)) = (number(major), number(minor), number(patch))
    else {
        return Err(invalid());
    };
    if let Some(pre) = pre {
        let valid = pre
            .split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if !valid {
            return Err((
                format!("\"{text}\" has an invalid pre-release suffix"),
                "write it like v1.37.0-rc.1 (dot-separated letters, digits and \"-\")".to_string(),
            ));
        }
    }
    if major != 1 {
        return Err((
            format!("\"{text}\" is not a Kubernetes 1.x version"),
            "write it as v1.MINOR.PATCH, e.g. v1.36.2".to_string(),
        ));
    }
    Ok(KubeVersion {
        minor,
        patch,
        text: text.to_string(),
    })
}
