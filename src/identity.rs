//! THE identity table: every CA and certificate of a cluster, as written, before a spec fills
//! it in. Each row says everything about one certificate: its asset id (HKDF label and
//! `[pki.generations]` key), subject, usage profile, issuing CA, output path and index kind,
//! where it lands on a node and who gets it. Subjects and usages follow kubeadm's
//! `certlist.go` (see shared/reference/kubernetes-bootstrap-facts.md §5).
//!
//! Everything else that lists certificates is derived from here: the asset ids a spec may
//! name (`spec::assets`), the filled-in rows with their SANs (`model`), what `issue` issues,
//! the files `render/pki.rs` and `render/kubeconfigs.rs` write, where the bundles place them
//! (`bundle::placement`) and how `verify` judges a certificate ([`cert_role`]). This file
//! imports nothing of the pipeline, so every stage, the spec included, may read it.

use crate::fileset::Kind;

/// The three trust domains, as kubeadm has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CaId {
    Kubernetes,
    FrontProxy,
    Etcd,
}

/// Which nodes get a file: the bundles place every file by it (`src/bundle/placement.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// Every controller; with `{controller}` in the output path, only the controller it names.
    Controllers,
    /// Every controller and every node pool.
    AllNodes,
    /// No node: the file is used from an admin machine (e.g. `kubectl apply`).
    NoNode,
}

/// A self-signed CA (or, for `Kubernetes`, possibly the user's external CA).
#[derive(Clone, Debug)]
pub struct CaRow {
    pub id: CaId,
    /// The asset id: HKDF label and `[pki.generations]` key.
    pub asset: &'static str,
    pub cn: &'static str,
    /// Output path without extension: `<path>.crt`, `<path>.key`.
    pub path: &'static str,
    /// On-host path without extension, as kubeadm places it.
    pub host: &'static str,
    /// Who gets the certificate (the trust bundle). The key goes to every controller:
    /// kube-controller-manager signs with `ca.key`, and kubeadm puts all CA keys on every
    /// control-plane node.
    pub cert_to: Who,
}

pub const CAS: [CaRow; 3] = [
    // The cluster CA certificate is all a worker needs of the PKI: the kubelet verifies the
    // API server with it and uses it as its client CA.
    CaRow {
        id: CaId::Kubernetes,
        asset: "ca",
        cn: "kubernetes",
        path: "pki/ca",
        host: "/etc/kubernetes/pki/ca",
        cert_to: Who::AllNodes,
    },
    CaRow {
        id: CaId::FrontProxy,
        asset: "front-proxy-ca",
        cn: "front-proxy-ca",
        path: "pki/front-proxy-ca",
        host: "/etc/kubernetes/pki/front-proxy-ca",
        cert_to: Who::Controllers,
    },
    CaRow {
        id: CaId::Etcd,
        asset: "etcd-ca",
        cn: "etcd-ca",
        path: "pki/etcd/ca",
        host: "/etc/kubernetes/pki/etcd/ca",
        cert_to: Who::Controllers,
    },
];

/// The two files of a key pair: suffix, index kind, secret.
pub const PAIR_FILES: [(&str, Kind, bool); 2] = [
    (".crt", Kind::Certificate, false),
    (".key", Kind::PrivateKey, true),
];

/// One file the identity table puts in the output, and where it lands on a node. In a
/// per-controller row's file, `{controller}` in `path` stands for the controller's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableFile {
    pub path: String,
    pub kind: Kind,
    pub secret: bool,
    pub host: String,
    pub who: Who,
}

impl CaRow {
    pub fn files(&self) -> Vec<TableFile> {
        PAIR_FILES
            .iter()
            .map(|(ext, kind, secret)| TableFile {
                path: format!("{}{ext}", self.path),
                kind: *kind,
                secret: *secret,
                host: format!("{}{ext}", self.host),
                who: if *secret {
                    Who::Controllers
                } else {
                    self.cert_to
                },
            })
            .collect()
    }
}

impl IdentityRow {
    pub fn files(&self) -> Vec<TableFile> {
        match self.output {
            RowOutput::Pair(path) => PAIR_FILES
                .iter()
                .map(|(ext, kind, secret)| TableFile {
                    path: format!("{path}{ext}"),
                    kind: *kind,
                    secret: *secret,
                    host: format!("{}{ext}", self.host),
                    who: self.who,
                })
                .collect(),
            RowOutput::Kubeconfig(name) => vec![TableFile {
                path: format!("kubeconfig/{name}.conf"),
                kind: Kind::Kubeconfig,
                secret: true,
                host: self.host.to_string(),
                who: self.who,
            }],
        }
    }
}

/// Every file of the identity table: the CAs', then the rows' in table order.
pub fn table_files() -> Vec<TableFile> {
    let cas = CAS.iter().flat_map(CaRow::files);
    let leaves = CLUSTER_LEAVES
        .iter()
        .chain(CONTROLLER_LEAVES)
        .flat_map(IdentityRow::files);
    cas.chain(leaves).collect()
}

/// Extended key usages of a leaf certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    Server,
    Client,
    /// etcd members: the same certificate serves and dials peers.
    ServerClient,
}

/// One row of the identity table as written, before a spec fills it in. In a per-controller
/// row, `{controller}` in `asset` and `output` stands for the controller's name, which is
/// also the certificate's CN (`cn` is empty there).
pub struct IdentityRow {
    pub asset: &'static str,
    pub cn: &'static str,
    pub orgs: &'static [&'static str],
    pub profile: Profile,
    pub issuer: CaId,
    /// `Pair("pki/apiserver")` or `Kubeconfig("admin")`.
    pub output: RowOutput,
    /// On-host path, as kubeadm places it: without extension for a pair.
    pub host: &'static str,
    pub who: Who,
}

/// [`LeafOutput`], as written in the table.
pub enum RowOutput {
    Pair(&'static str),
    Kubeconfig(&'static str),
}

/// A client certificate for the control plane: it lands on every controller.
const fn client(
    asset: &'static str,
    cn: &'static str,
    orgs: &'static [&'static str],
    issuer: CaId,
    output: RowOutput,
    host: &'static str,
) -> IdentityRow {
    IdentityRow {
        asset,
        cn,
        orgs,
        profile: Profile::Client,
        issuer,
        output,
        host,
        who: Who::Controllers,
    }
}

/// THE identity table: every cluster-wide certificate, in issuing order (kubeadm's
/// `certlist.go` names, subjects and usages). kube-apiserver's SANs come from the spec
/// ([`apiserver_sans`]); the other rows have none.
pub const CLUSTER_LEAVES: &[IdentityRow] = &[
    IdentityRow {
        asset: "apiserver",
        cn: "kube-apiserver",
        orgs: &[],
        profile: Profile::Server,
        issuer: CaId::Kubernetes,
        output: RowOutput::Pair("pki/apiserver"),
        host: "/etc/kubernetes/pki/apiserver",
        who: Who::Controllers,
    },
    client(
        "apiserver-kubelet-client",
        "kube-apiserver-kubelet-client",
        &["kubeadm:cluster-admins"],
        CaId::Kubernetes,
        RowOutput::Pair("pki/apiserver-kubelet-client"),
        "/etc/kubernetes/pki/apiserver-kubelet-client",
    ),
    client(
        "front-proxy-client",
        "front-proxy-client",
        &[],
        CaId::FrontProxy,
        RowOutput::Pair("pki/front-proxy-client"),
        "/etc/kubernetes/pki/front-proxy-client",
    ),
    client(
        "etcd-healthcheck-client",
        "kube-etcd-healthcheck-client",
        &[],
        CaId::Etcd,
        RowOutput::Pair("pki/etcd/healthcheck-client"),
        "/etc/kubernetes/pki/etcd/healthcheck-client",
    ),
    client(
        "apiserver-etcd-client",
        "kube-apiserver-etcd-client",
        &[],
        CaId::Etcd,
        RowOutput::Pair("pki/apiserver-etcd-client"),
        "/etc/kubernetes/pki/apiserver-etcd-client",
    ),
    client(
        "admin",
        "kubernetes-admin",
        &["kubeadm:cluster-admins"],
        CaId::Kubernetes,
        RowOutput::Kubeconfig("admin"),
        "/etc/kubernetes/admin.conf",
    ),
    client(
        "super-admin",
        "kubernetes-super-admin",
        &["system:masters"],
        CaId::Kubernetes,
        RowOutput::Kubeconfig("super-admin"),
        "/etc/kubernetes/super-admin.conf",
    ),
    client(
        "controller-manager",
        "system:kube-controller-manager",
        &[],
        CaId::Kubernetes,
        RowOutput::Kubeconfig("controller-manager"),
        "/etc/kubernetes/controller-manager.conf",
    ),
    client(
        "scheduler",
        "system:kube-scheduler",
        &[],
        CaId::Kubernetes,
        RowOutput::Kubeconfig("scheduler"),
        "/etc/kubernetes/scheduler.conf",
    ),
];

/// The identity table's per-controller rows: each stacked etcd member's serving and peer
/// certificate, CN the controller's name, SANs its name, `localhost`, its `dns_names`, its
/// address and the loopback addresses.
pub const CONTROLLER_LEAVES: &[IdentityRow] = &[
    IdentityRow {
        asset: "etcd-server-{controller}",
        cn: "",
        orgs: &[],
        profile: Profile::ServerClient,
        issuer: CaId::Etcd,
        output: RowOutput::Pair("pki/etcd/{controller}/server"),
        // A controller's own member pair, at kubeadm's un-prefixed name.
        host: "/etc/kubernetes/pki/etcd/server",
        who: Who::Controllers,
    },
    IdentityRow {
        asset: "etcd-peer-{controller}",
        cn: "",
        orgs: &[],
        profile: Profile::ServerClient,
        issuer: CaId::Etcd,
        output: RowOutput::Pair("pki/etcd/{controller}/peer"),
        // A controller's own member pair, at kubeadm's un-prefixed name.
        host: "/etc/kubernetes/pki/etcd/peer",
        who: Who::Controllers,
    },
];

/// What the identity table says of a rendered `pki/<...>.crt` without a spec (what `verify`
/// has): a CA, or a leaf certificate's profile and issuer. A per-controller row matches any
/// one path component in place of `{controller}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertRole {
    Ca(CaId),
    Leaf { profile: Profile, issuer: CaId },
}

pub fn cert_role(path: &str) -> Option<CertRole> {
    let stem = path.strip_suffix(".crt")?;
    if let Some(ca) = CAS.iter().find(|c| c.path == stem) {
        return Some(CertRole::Ca(ca.id));
    }
    let leaf = |row: &IdentityRow| CertRole::Leaf {
        profile: row.profile,
        issuer: row.issuer,
    };
    let pair = |row: &IdentityRow| match row.output {
        RowOutput::Pair(p) => Some(p),
        RowOutput::Kubeconfig(_) => None,
    };
    if let Some(row) = CLUSTER_LEAVES.iter().find(|r| pair(r) == Some(stem)) {
        return Some(leaf(row));
    }
    CONTROLLER_LEAVES.iter().find_map(|row| {
        let (before, after) = pair(row)?.split_once("{controller}")?;
        let name = stem.strip_prefix(before)?.strip_suffix(after)?;
        (!name.is_empty() && !name.contains('/')).then(|| leaf(row))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cert_roles_come_from_the_identity_table() {
        assert_eq!(cert_role("pki/etcd/ca.crt"), Some(CertRole::Ca(CaId::Etcd)));
        assert_eq!(
            cert_role("pki/front-proxy-client.crt"),
            Some(CertRole::Leaf {
                profile: Profile::Client,
                issuer: CaId::FrontProxy
            })
        );
        assert_eq!(
            cert_role("pki/etcd/cp-7/peer.crt"),
            Some(CertRole::Leaf {
                profile: Profile::ServerClient,
                issuer: CaId::Etcd
            })
        );
        for none in [
            "pki/other.crt",
            "pki/etcd//peer.crt",
            "pki/etcd/a/b/peer.crt",
            "pki/apiserver.key",
            "kubeconfig/admin.conf",
        ] {
            assert_eq!(cert_role(none), None, "{none}");
        }
    }

    /// Every file of the table has its own output path and, per node, its own host path.
    #[test]
    fn table_files_are_distinct() {
        let files = table_files();
        let mut paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        let mut hosts: Vec<&str> = files.iter().map(|f| f.host.as_str()).collect();
        paths.sort_unstable();
        hosts.sort_unstable();
        let (np, nh) = (paths.len(), hosts.len());
        paths.dedup();
        hosts.dedup();
        assert_eq!((paths.len(), hosts.len()), (np, nh));
        // Only the cluster CA's certificate reaches workers, and every key is secret.
        let all: Vec<&str> = files
            .iter()
            .filter(|f| f.who == Who::AllNodes)
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(all, ["pki/ca.crt"]);
        for f in &files {
            assert_eq!(f.secret, f.kind != Kind::Certificate, "{}", f.path);
        }
    }
}
