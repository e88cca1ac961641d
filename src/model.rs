//! The resolved cluster and the identity table.

/// Assets that exist once per cluster and can be re-keyed with `[pki.generations]`.
pub const CLUSTER_ASSETS: &[&str] = &[
    "ca",
    "apiserver",
    "apiserver-kubelet-client",
    "front-proxy-ca",
    "front-proxy-client",
    "sa",
    "etcd-ca",
    "etcd-healthcheck-client",
    "apiserver-etcd-client",
    "admin",
    "super-admin",
    "controller-manager",
    "scheduler",
];

/// Assets that exist once per controller; their generation key is `<asset>-<controller>`.
pub const PER_CONTROLLER_ASSETS: &[&str] = &["etcd-server", "etcd-peer"];

/// Every valid key of `[pki.generations]` for these controller names.
pub fn generation_keys<'a>(controllers: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut keys: Vec<String> = CLUSTER_ASSETS.iter().map(|s| s.to_string()).collect();
    for c in controllers {
        for a in PER_CONTROLLER_ASSETS {
            keys.push(format!("{a}-{c}"));
        }
    }
    keys
}
