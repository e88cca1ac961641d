//! The serde mirror of cluster.toml. Every key is optional here; required keys and
//! defaults are handled by the checks so that all problems are reported together.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub(super) type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawSpec {
    /// Checked on the parse tree before serde runs (see [`Check::version`](super::checks::Check::version)).
    #[allow(dead_code)]
    pub(super) version: Option<serde::de::IgnoredAny>,
    pub(super) cluster: Option<S<RawCluster>>,
    pub(super) controllers: Option<S<Vec<S<RawController>>>>,
    pub(super) pki: Option<S<RawPki>>,
    pub(super) bootstrap_token: Option<S<RawBootstrapToken>>,
    pub(super) security: Option<S<RawSecurity>>,
    pub(super) addons: Option<RawAddons>,
    pub(super) node_pools: Option<S<Vec<S<RawNodePool>>>>,
    pub(super) gitops: Option<S<RawGitOps>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawGitOps {
    pub(super) age_recipients: Option<S<Vec<S<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawAddons {
    pub(super) coredns: Option<bool>,
    pub(super) kube_proxy: Option<bool>,
    pub(super) kube_proxy_mode: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawCluster {
    pub(super) name: Option<S<String>>,
    pub(super) api_server: Option<S<String>>,
    pub(super) service_cidr: Option<S<String>>,
    pub(super) pod_cidr: Option<S<String>>,
    pub(super) dns_domain: Option<S<String>>,
    pub(super) kubernetes_version: Option<S<String>>,
    pub(super) image_repository: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawController {
    pub(super) name: Option<S<String>>,
    pub(super) address: Option<S<String>>,
    pub(super) dns_names: Option<Vec<S<String>>>,
    pub(super) formats: Option<S<Vec<S<String>>>>,
    pub(super) labels: Option<RawLabels>,
    pub(super) taints: Option<Vec<S<String>>>,
}

/// `labels = { key = "value" }`, each key and value with its span.
pub(super) type RawLabels = BTreeMap<S<String>, S<String>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawPki {
    pub(super) algorithm: Option<S<String>>,
    /// A string, or a TOML datetime literal; anything else is reported by the checks.
    pub(super) not_before: Option<S<toml::Value>>,
    pub(super) ca_validity: Option<S<String>>,
    pub(super) cert_validity: Option<S<String>>,
    pub(super) extra_sans: Option<Vec<S<String>>>,
    pub(super) external_ca: Option<S<RawExternalCa>>,
    pub(super) generations: Option<BTreeMap<S<String>, S<i64>>>,
    pub(super) trust: Option<RawTrust>,
}

/// `[pki.trust]`: CA asset id → the generations it trusts, each with its span.
pub(super) type RawTrust = BTreeMap<S<String>, S<Vec<S<i64>>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawExternalCa {
    pub(super) cert: Option<S<String>>,
    pub(super) key: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawBootstrapToken {
    pub(super) generation: Option<S<i64>>,
    pub(super) expires: Option<S<toml::Value>>,
    pub(super) usages: Option<S<Vec<S<String>>>>,
    pub(super) extra_groups: Option<Vec<S<String>>>,
    pub(super) description: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawSecurity {
    pub(super) node_restriction: Option<bool>,
    pub(super) auto_approve_node_csrs: Option<bool>,
    pub(super) anonymous_discovery: Option<bool>,
    pub(super) verify_kubelet_serving: Option<bool>,
    pub(super) kubelet_signing_duration: Option<S<String>>,
    pub(super) encryption_at_rest: Option<bool>,
    pub(super) node_self_delete: Option<S<bool>>,
    pub(super) audit_log: Option<bool>,
    pub(super) service_account_extend_token_expiration: Option<bool>,
    pub(super) deny_service_external_ips: Option<bool>,
    pub(super) strong_tls_ciphers: Option<bool>,
    pub(super) seccomp_default: Option<bool>,
    pub(super) pod_pids_limit: Option<S<i64>>,
    pub(super) pod_security: Option<S<String>>,
    pub(super) private_kubelet_files: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawNodePool {
    pub(super) name: Option<S<String>>,
    pub(super) formats: Option<S<Vec<S<String>>>>,
    pub(super) labels: Option<RawLabels>,
    pub(super) taints: Option<Vec<S<String>>>,
}
