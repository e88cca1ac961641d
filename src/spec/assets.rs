//! The asset ids a spec may name: the keys of `[pki.generations]` and `[pki.trust]`.
//!
//! They come from the identity table ([`crate::identity`]), plus the seed-derived keys that
//! are not certificates. The spec checks keys against these lists.

use crate::identity::{CAS, CLUSTER_LEAVES, CONTROLLER_LEAVES};

/// Keys derived from the seed that are no certificate: the service-account key pair and the
/// kube-apiserver's encryption-at-rest key.
pub const KEY_ASSETS: &[&str] = &["sa", "encryption"];

/// Every valid key of `[pki.generations]` for these controller names: the CAs, the
/// cluster-wide certificates and keys, then each controller's certificates.
pub fn generation_keys<'a>(controllers: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let cas = CAS.iter().map(|c| c.asset);
    let leaves = CLUSTER_LEAVES.iter().map(|r| r.asset);
    let mut keys: Vec<String> = cas
        .chain(leaves)
        .chain(KEY_ASSETS.iter().copied())
        .map(str::to_string)
        .collect();
    for c in controllers {
        for row in CONTROLLER_LEAVES {
            keys.push(row.asset.replace("{controller}", c));
        }
    }
    keys
}

/// The asset ids of the CAs: the keys of `[pki.trust]`.
pub fn ca_assets() -> impl Iterator<Item = &'static str> {
    CAS.iter().map(|c| c.asset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_keys_cover_every_row() {
        // Every certificate, CA and the SA key pair must be re-keyable.
        let keys = generation_keys(["cp-0", "cp-1"]);
        for ca in &CAS {
            assert!(keys.contains(&ca.asset.to_string()));
        }
        for k in ["etcd-server-cp-1", "etcd-peer-cp-0", "sa", "admin"] {
            assert!(keys.contains(&k.to_string()), "{k}");
        }
    }
}
