//! The starter spec: `kubeseed init`'s commented `cluster.toml`.

use crate::derive::keys::Algorithm;

use super::defaults::*;
use super::{Format, PodSecurityLevel, TokenUsage};

/// Kubernetes version written into a fresh `cluster.toml` by `kubeseed init`.
pub const STARTER_KUBERNETES_VERSION: &str = "v1.36.2";

/// A commented starter `cluster.toml` for `kubeseed init`: one controller on a loopback
/// address, one node pool, and every optional key shown commented out with its default
/// (a line `# key = value`; lines `# e.g. key = value` are examples, not defaults).
/// `name` and `not_before` are inserted as TOML strings, so any text stays valid TOML
/// (and, if it is not a valid value, `parse` says so).
pub fn default_spec_toml(name: &str, not_before: &str) -> String {
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let list = |items: &[&str]| {
        let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
        format!("[{}]", quoted.join(", "))
    };
    let formats = list(&DEFAULT_FORMATS.map(Format::name));
    let usages = list(&DEFAULT_TOKEN_USAGES.map(TokenUsage::name));
    let groups = list(DEFAULT_TOKEN_EXTRA_GROUPS);
    let name = quote(name);
    let not_before = quote(not_before);
    let algorithms = Algorithm::ALL.map(|(_, n)| n).join(" | ");
    let algorithm = DEFAULT_ALGORITHM.name();
    let version = LATEST_SPEC_VERSION.number();
    let latest = version_defaults(LATEST_SPEC_VERSION);
    let (self_delete, coredns, kube_proxy) =
        (latest.node_self_delete, latest.coredns, latest.kube_proxy);
    let controller_taints = list(latest.controller_taints);
    let (audit_log, extend, deny_external_ips, strong_ciphers, seccomp, private_kubelet) = (
        latest.audit_log,
        latest.service_account_extend_token_expiration,
        latest.deny_service_external_ips,
        latest.strong_tls_ciphers,
        latest.seccomp_default,
        latest.private_kubelet_files,
    );
    let pids = latest.pod_pids_limit.unwrap_or(-1);
    let pod_security = latest
        .pod_security
        .map_or("privileged", PodSecurityLevel::name);
    format!(
        r#"# kubeseed cluster spec. Keys shown commented out are optional and set to their
# default; "e.g." lines are examples. Unknown keys are errors.
version = {version}

[cluster]
name = {name}                          # [a-z0-9-]{{1,63}}
api_server = "https://127.0.0.10:{DEFAULT_API_SERVER_PORT}"   # the URL every kubeconfig points at
kubernetes_version = "{STARTER_KUBERNETES_VERSION}"        # 1.{MIN_KUBERNETES_MINOR} or later
# service_cidr = "{DEFAULT_SERVICE_CIDR}"      # its first address is a kube-apiserver SAN
# pod_cidr = "{DEFAULT_POD_CIDR}"
# dns_domain = "{DEFAULT_DNS_DOMAIN}"
# image_repository = "{DEFAULT_IMAGE_REPOSITORY}"   # a mirror for every image, e.g. "registry.example.com:5000/k8s"

# One [[controllers]] table per control-plane node (stacked etcd member): 1, 3 or 5.
[[controllers]]
name = "cp-0"                          # node name and etcd member name
address = "127.0.0.10"                 # advertise address and etcd URLs
# dns_names = []                       # extra SANs for this node's certificates
# formats = {formats}
# taints = {controller_taints}   # kubeadm's; [] lets pods run here
# e.g. labels = {{ "topology.kubernetes.io/zone" = "a" }}

[pki]
not_before = {not_before}   # the start of every validity window
# algorithm = "{algorithm}"            # {algorithms}
# ca_validity = "{DEFAULT_CA_VALIDITY}"
# cert_validity = "{DEFAULT_CERT_VALIDITY}"
# extra_sans = []                      # more names/IPs for the kube-apiserver certificate
# e.g. external_ca = {{ cert = "ca.crt", key = "ca.key" }}   # bring your own Kubernetes CA

# [pki.generations]                    # every asset is at generation {DEFAULT_GENERATION};
# e.g. apiserver = 2                   # bump one to re-key that asset only

[bootstrap_token]
# generation = {DEFAULT_TOKEN_GENERATION}                       # bump to rotate the token
# e.g. expires = "2030-01-01T00:00:00Z" # absent: the token never expires
# usages = {usages}
# extra_groups = {groups}
# description = {description}

[security]                             # every default is the hardened one
# node_restriction = {DEFAULT_NODE_RESTRICTION}
# auto_approve_node_csrs = {DEFAULT_AUTO_APPROVE_NODE_CSRS}
# anonymous_discovery = {DEFAULT_ANONYMOUS_DISCOVERY}
# verify_kubelet_serving = {DEFAULT_VERIFY_KUBELET_SERVING}
# kubelet_signing_duration = "{DEFAULT_KUBELET_SIGNING_DURATION}"
# encryption_at_rest = {DEFAULT_ENCRYPTION_AT_REST}
# node_self_delete = {self_delete}           # a kubelet may delete its own Node (only its own)
# audit_log = {audit_log}                  # kube-apiserver's audit log, kubeseed's policy
# service_account_extend_token_expiration = {extend}   # true: tokens live ~1 year
# deny_service_external_ips = {deny_external_ips}  # refuse Services with externalIPs
# strong_tls_ciphers = {strong_ciphers}         # TLS 1.2: ECDHE with AEAD suites only
# seccomp_default = {seccomp}            # kubelet: RuntimeDefault seccomp for every pod
# pod_pids_limit = {pids}             # kubelet: processes per pod; -1 unlimited
# pod_security = "{pod_security}"        # enforced cluster-wide: privileged | baseline | restricted
# private_kubelet_files = {private_kubelet}      # kubelet config and drop-ins 0600

[addons]                               # cluster add-ons, rendered under manifests/
# coredns = {coredns}                       # CoreDNS at the kubelet's clusterDNS address
# kube_proxy = {kube_proxy}                    # false for a CNI that replaces it (Cilium)
# kube_proxy_mode = "{kube_proxy_mode}"         # iptables | nftables | ipvs

# GitOps: a gitops/ tree for Flux or `kubectl apply -k`, the Secrets SOPS-encrypted to age
# recipients (see the README).
# e.g. [gitops]
# e.g. age_recipients = ["age1..."]     # public keys, as `age-keygen -y KEYFILE` prints them

# Worker pools: every node of a pool gets the same bundle.
[[node_pools]]
name = "workers"
# formats = {formats}
# e.g. labels = {{ "node.kubernetes.io/pool" = "workers" }}   # only labels a kubelet may set
# e.g. taints = ["dedicated=batch:NoSchedule"]                 # key[=value]:Effect
"#,
        description = quote(DEFAULT_TOKEN_DESCRIPTION),
        kube_proxy_mode = DEFAULT_KUBE_PROXY_MODE.name(),
    )
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::spec::test_support::*;

    #[test]
    fn starter_parses() {
        let text = default_spec_toml("demo", "2026-11-25T00:00:00Z");
        let parsed = parse_ok(&text);
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let spec = parsed.spec;
        assert_eq!(spec.cluster.name, "demo");
        assert_eq!(spec.cluster.api_server.url(), "https://127.0.0.10:6443");
        assert_eq!(
            spec.controllers[0].address,
            "127.0.0.10".parse::<IpAddr>().unwrap()
        );
        assert_eq!(spec.node_pools[0].name, "workers");
        assert_eq!(
            spec.pki.not_before,
            time::macros::datetime!(2026-11-25 00:00:00 UTC)
        );
    }

    /// Uncommenting every `# key = value` line of the starter changes nothing: the
    /// defaults it shows are the real ones.
    #[test]
    fn starter_shows_the_real_defaults() {
        let text = default_spec_toml("demo", "2026-11-25T00:00:00Z");
        let uncommented: String = text
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest)
                    if rest.split_once(" = ").is_some_and(|(k, _)| {
                        k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    }) =>
                {
                    rest
                }
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert_ne!(uncommented, text);
        assert!(
            uncommented.contains("\nkubelet_signing_duration = \"72h\""),
            "{uncommented}"
        );
        assert_eq!(parse_ok(&uncommented).spec, parse_ok(&text).spec);
    }

    #[test]
    fn starter_quotes_what_it_is_given() {
        let e = errors(&default_spec_toml("a\"b", "soon"));
        let keys: Vec<&str> = e.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["cluster.name", "pki.not_before"]);
    }
}
