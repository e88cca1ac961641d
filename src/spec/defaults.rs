//! Defaults.
//!
//! These are part of the determinism promise: a spec that leaves a key out must render the
//! same bytes in every later 1.x release, so a default can never change. A different
//! default needs a new spec `version`. They are SPEC.md's example values.

use crate::derive::keys::Algorithm;

use super::{Format, PodSecurityLevel, ProxyMode, SpecVersion, TokenUsage};

/// The spec version `kubeseed init` writes; every version from 1 to it is read.
pub const LATEST_SPEC_VERSION: SpecVersion = SpecVersion::V3;

/// The defaults that differ between spec versions, as kubeadm's config API versions carry
/// their own. A version's row never changes once released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionDefaults {
    /// `security.node_self_delete`.
    pub node_self_delete: bool,
    /// `addons.coredns`, `addons.kube_proxy`.
    pub coredns: bool,
    pub kube_proxy: bool,
    /// `controllers[].taints` when absent (kubeadm's control-plane taint from version 2).
    pub controller_taints: &'static [&'static str],
    /// Every bundle carries the kubelet's `staticPodPath`, `/etc/kubernetes/manifests`,
    /// as `kubeadm join` creates it (a worker's kubelet otherwise logs its absence forever).
    pub static_pod_path: bool,
    /// `security.audit_log`.
    pub audit_log: bool,
    /// `security.service_account_extend_token_expiration`.
    pub service_account_extend_token_expiration: bool,
    /// `security.deny_service_external_ips`.
    pub deny_service_external_ips: bool,
    /// `security.strong_tls_ciphers`.
    pub strong_tls_ciphers: bool,
    /// `security.seccomp_default`.
    pub seccomp_default: bool,
    /// `security.pod_pids_limit` (`None`: the kubelet's own default, unlimited).
    pub pod_pids_limit: Option<i64>,
    /// `security.pod_security` (`None`: no admission configuration, Kubernetes' own default).
    pub pod_security: Option<PodSecurityLevel>,
    /// `security.private_kubelet_files`.
    pub private_kubelet_files: bool,
    /// etcd's `--data-dir` (and kubeadm's `etcd.local.dataDir`). From version 3 a directory
    /// etcd creates itself (0700) below the hostPath `/var/lib/etcd`, which the kubelet would
    /// create 0755.
    pub etcd_data_dir: &'static str,
}

/// kubeadm's taint for control-plane nodes.
pub const CONTROL_PLANE_TAINT: &str = "node-role.kubernetes.io/control-plane:NoSchedule";

/// The defaults of spec version `v`.
pub const fn version_defaults(v: SpecVersion) -> VersionDefaults {
    match v {
        // Version 1: each of these is an explicit opt-in, so a version 1 spec renders what
        // it rendered before they existed.
        SpecVersion::V1 => VersionDefaults {
            node_self_delete: false,
            coredns: false,
            kube_proxy: false,
            controller_taints: &[],
            static_pod_path: false,
            audit_log: false,
            service_account_extend_token_expiration: true,
            deny_service_external_ips: false,
            strong_tls_ciphers: false,
            seccomp_default: false,
            pod_pids_limit: None,
            pod_security: None,
            private_kubelet_files: false,
            etcd_data_dir: "/var/lib/etcd",
        },
        // Version 2: a cluster that runs (README: "Spec version 2").
        SpecVersion::V2 => VersionDefaults {
            node_self_delete: true,
            coredns: true,
            kube_proxy: true,
            controller_taints: &[CONTROL_PLANE_TAINT],
            static_pod_path: true,
            audit_log: false,
            service_account_extend_token_expiration: true,
            deny_service_external_ips: false,
            strong_tls_ciphers: false,
            seccomp_default: false,
            pod_pids_limit: None,
            pod_security: None,
            private_kubelet_files: false,
            etcd_data_dir: "/var/lib/etcd",
        },
        // Version 3: hardened as the CIS Kubernetes Benchmark measures it (README: "Spec
        // version 3").
        SpecVersion::V3 => VersionDefaults {
            node_self_delete: true,
            coredns: true,
            kube_proxy: true,
            controller_taints: &[CONTROL_PLANE_TAINT],
            static_pod_path: true,
            audit_log: true,
            service_account_extend_token_expiration: false,
            deny_service_external_ips: true,
            strong_tls_ciphers: true,
            seccomp_default: true,
            pod_pids_limit: Some(DEFAULT_POD_PIDS_LIMIT),
            pod_security: Some(PodSecurityLevel::Baseline),
            private_kubelet_files: true,
            etcd_data_dir: "/var/lib/etcd/data",
        },
    }
}
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

/// `security.pod_pids_limit` from version 3: far above what any sane Pod runs (a node's
/// default `pid_max` is 4194304 on 64-bit kernels, 32768 on older ones), low enough that
/// one fork bomb cannot starve the node.
pub const DEFAULT_POD_PIDS_LIMIT: i64 = 4096;

/// `addons.kube_proxy_mode` (kube-proxy's own default on Linux).
pub const DEFAULT_KUBE_PROXY_MODE: ProxyMode = ProxyMode::Iptables;

/// More etcd members than this slow every write and buy no useful fault tolerance.
pub const MAX_CONTROLLERS: usize = 7;
/// Oldest Kubernetes minor version kubeseed renders for (1.32).
pub const MIN_KUBERNETES_MINOR: u32 = 32;
