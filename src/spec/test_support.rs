//! What the spec's tests share: a complete spec to edit, and ways to parse it.

use super::{parse, Parsed, SpecErrors, SpecProblem};

/// A complete spec; tests replace numbered lines, so line numbers below are stable.
pub(super) const BASE: &str = r#"version = 1

[cluster]
name = "demo"
api_server = "https://api.demo.example.com:6443"
service_cidr = "10.96.0.0/12"
pod_cidr = "10.244.0.0/16"
dns_domain = "cluster.local"
kubernetes_version = "v1.36.2"

[[controllers]]
name = "cp-0"
address = "10.0.0.10"
dns_names = ["cp-0.demo.example.com"]
formats = ["rootfs", "cloud-init", "ignition"]

[[controllers]]
name = "cp-1"
address = "10.0.0.11"

[[controllers]]
name = "cp-2"
address = "10.0.0.12"

[pki]
algorithm = "ecdsa-p256"
not_before = "2026-11-25T00:00:00Z"
ca_validity = "87600h"
cert_validity = "8760h"
extra_sans = []

[pki.generations]
ca = 1

[bootstrap_token]
generation = 1
expires = "2026-11-26T00:00:00Z"
usages = ["authentication", "signing"]
extra_groups = ["system:bootstrappers:kubeadm:default-node-token"]
description = "kubeseed bootstrap token"

[security]
node_restriction = true
auto_approve_node_csrs = true
anonymous_discovery = true
verify_kubelet_serving = false
kubelet_signing_duration = "72h"
encryption_at_rest = true

[[node_pools]]
name = "workers"
formats = ["rootfs", "cloud-init", "ignition"]
"#;

/// BASE with whole lines (1-based) replaced; a replacement may span several lines
/// only at the end of the file, so earlier line numbers stay put.
pub(super) fn edit(lines: &[(usize, &str)]) -> String {
    let mut out: Vec<String> = BASE.lines().map(str::to_string).collect();
    for (n, text) in lines {
        out[n - 1] = text.to_string();
    }
    out.join("\n") + "\n"
}

pub(super) fn parse_ok(text: &str) -> Parsed {
    match parse("cluster.toml", text) {
        Ok(parsed) => parsed,
        Err(e) => panic!("unexpected errors:\n{e}"),
    }
}

pub(super) fn errors(text: &str) -> Vec<SpecProblem> {
    match parse("cluster.toml", text) {
        Ok(_) => panic!("expected errors, got none for:\n{text}"),
        Err(SpecErrors(problems)) => problems,
    }
}

/// The one error of `text`, checked for line, key and message; returns it for more.
pub(super) fn only_error(text: &str, line: Option<usize>, key: &str, message: &str) -> SpecProblem {
    let problems = errors(text);
    assert_eq!(
        problems.len(),
        1,
        "expected one problem, got:\n{}",
        SpecErrors(problems.clone())
    );
    let p = problems.into_iter().next().unwrap();
    assert_eq!(
        (p.line, p.key.as_str(), p.message.as_str()),
        (line, key, message),
        "\n{p}"
    );
    assert_eq!(p.file, "cluster.toml");
    p
}

pub(super) fn hint(p: &SpecProblem) -> &str {
    p.hint.as_deref().unwrap_or("")
}
