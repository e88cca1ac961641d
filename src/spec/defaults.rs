//! Defaults.
//!
//! These are part of the determinism promise: a spec that leaves a key out must render the
//! same bytes in every later 1.x release, so a default can never change. A different
//! default needs a new spec `version`. They are SPEC.md's example values.

use crate::derive::keys::Algorithm;

use super::{Format, ProxyMode, TokenUsage};

/// The only spec version this release reads.
pub const SPEC_VERSION: i64 = 1;
/// `cluster.service_cidr` (kubeadm's default).
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";
/// `cluster.pod_cidr` (flannel's and many CNIs' default).
pub const DEFAULT_POD_CIDR: &str = "10.244.0.0/16";
/// `cluster.dns_domain`.
pub const DEFAULT_DNS_DOMAIN: &str = "cluster.local";
/// `cluster.image_repository` (kubeadm's default `imageRepository`).
pub const DEFAULT_IMAGE_REPOSITORY: &str = "registry.k8s.io";
/// Port of `cluster.api_server` when the URL has none (kube-apiserver's secure port).
pub const DEFAULT_API_SERVER_PORT: u16 = 6443;
/// `controllers[].formats` and `node_pools[].formats`: all of them.
pub const DEFAULT_FORMATS: [Format; 4] = [
    Format::Rootfs,
    Format::RootfsTar,
    Format::CloudInit,
    Format::Ignition,
];
/// `pki.algorithm`.
pub const DEFAULT_ALGORITHM: Algorithm = Algorithm::EcdsaP256;
/// `pki.ca_validity` (kubeadm's CA validity, 10 years).
pub const DEFAULT_CA_VALIDITY: &str = "87600h";
/// `pki.cert_validity` (kubeadm's leaf validity, 1 year).
pub const DEFAULT_CERT_VALIDITY: &str = "8760h";
/// Generation of an asset missing from `[pki.generations]`.
pub const DEFAULT_GENERATION: u32 = 1;
/// The most generations one CA's `[pki.trust]` entry may hold: old, current and next is
/// already more than a rotation needs, and every one is in every bundle and kubeconfig.
pub const MAX_TRUSTED_GENERATIONS: usize = 3;
/// `bootstrap_token.generation`.
pub const DEFAULT_TOKEN_GENERATION: u32 = 1;
/// `bootstrap_token.usages`.
pub const DEFAULT_TOKEN_USAGES: [TokenUsage; 2] = [TokenUsage::Authentication, TokenUsage::Signing];
/// `bootstrap_token.extra_groups`: kubeadm's group, so `kubeadm join` RBAC matches.
pub const DEFAULT_TOKEN_EXTRA_GROUPS: &[&str] =
    &["system:bootstrappers:kubeadm:default-node-token"];
/// `bootstrap_token.description`.
pub const DEFAULT_TOKEN_DESCRIPTION: &str = "kubeseed bootstrap token";
/// `security.*`: every default is the hardened choice.
pub const DEFAULT_NODE_RESTRICTION: bool = true;
pub const DEFAULT_AUTO_APPROVE_NODE_CSRS: bool = true;
pub const DEFAULT_ANONYMOUS_DISCOVERY: bool = true;
pub const DEFAULT_VERIFY_KUBELET_SERVING: bool = false;
/// `security.kubelet_signing_duration` (kube-controller-manager `--cluster-signing-duration`).
pub const DEFAULT_KUBELET_SIGNING_DURATION: &str = "72h";
pub const DEFAULT_ENCRYPTION_AT_REST: bool = true;
/// `security.node_self_delete`: off in version 1, where it is an explicit opt-in.
pub const DEFAULT_NODE_SELF_DELETE: bool = false;

/// `addons.coredns`, `addons.kube_proxy`: off in version 1, where each is an explicit
/// opt-in.
pub const DEFAULT_COREDNS: bool = false;
pub const DEFAULT_KUBE_PROXY: bool = false;
/// `addons.kube_proxy_mode` (kube-proxy's own default on Linux).
pub const DEFAULT_KUBE_PROXY_MODE: ProxyMode = ProxyMode::Iptables;

/// More etcd members than this slow every write and buy no useful fault tolerance.
pub const MAX_CONTROLLERS: usize = 7;
/// Oldest Kubernetes minor version kubeseed renders for (1.32).
pub const MIN_KUBERNETES_MINOR: u32 = 32;
