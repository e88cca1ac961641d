//! The asset ids a spec may name: the keys of `[pki.generations]` and `[pki.trust]`.
//!
//! The spec checks keys against these lists and the model ([`crate::model`]) builds its
//! identity table from them. This file imports nothing, so that the spec need not import
//! the model to validate them.

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
    // The kube-apiserver's encryption-at-rest key (not a certificate).
    "encryption",
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

/// The asset ids of the three CAs, in [`crate::model::CAS`] order (which takes them from
/// here): the keys of `[pki.trust]`.
pub const CA_ASSETS: [&str; 3] = ["ca", "front-proxy-ca", "etcd-ca"];
