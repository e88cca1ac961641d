//! The resolved cluster.
//!
//! `Model::from_spec` turns a validated spec into everything later stages
//! need: names, URLs, validity windows, and the identity table's rows
//! ([`crate::identity`]) filled in for this cluster: one [`LeafRow`] per
//! certificate, per controller where the row is per controller, with its SANs.
//! After the model exists, no stage reads the `Spec`.

use crate::gitops::age::Recipient;
use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use time::OffsetDateTime;

use crate::derive::keys::Algorithm;
use crate::identity::{CaId, IdentityRow, Profile, RowOutput, CLUSTER_LEAVES, CONTROLLER_LEAVES};
use crate::spec::{Controller, Host, NodePool, PodSecurityLevel, Spec, TokenUsage};

/// Where a leaf certificate ends up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeafOutput {
    /// `<path>.crt` and `<path>.key`.
    Pair(String),
    /// Embedded in `kubeconfig/<name>.conf` as the user's credentials.
    Kubeconfig(String),
}

/// One row of the identity table: one certificate.
#[derive(Clone, Debug)]
pub struct LeafRow {
    pub asset: String,
    pub cn: String,
    pub orgs: Vec<String>,
    pub profile: Profile,
    pub issuer: CaId,
    /// DNS names first, de-duplicated and sorted (as kubeadm does), then IPs
    /// de-duplicated in first-seen order.
    pub sans: Vec<Host>,
    pub output: LeafOutput,
}

/// The resolved cluster: what every later stage reads.
#[derive(Clone, Debug)]
pub struct Model {
    pub cluster_name: String,
    /// `https://host:port`, the server of every kubeconfig.
    pub server: String,
    pub algorithm: Algorithm,
    pub not_before: OffsetDateTime,
    pub ca_not_after: OffsetDateTime,
    pub cert_not_after: OffsetDateTime,
    pub leaves: Vec<LeafRow>,
    pub token_generation: u32,
    generations: BTreeMap<String, u32>,
    /// `[pki.trust]` as the spec gives it (validated: holds each CA's current generation).
    trust: BTreeMap<String, Vec<u32>>,
    /// What the cluster manifests, the kubelet configuration and `kubeseed join` need.
    pub cluster: ClusterValues,
    /// The control-plane nodes and the node pools, as validated, in spec order: their names,
    /// addresses and bundle formats.
    pub controllers: Vec<Controller>,
    pub node_pools: Vec<NodePool>,
    /// kube-apiserver's `--secure-port` (see [`secure_port`]).
    pub secure_port: u16,
    /// `gitops.age_recipients` (sorted) with `[gitops]`: render `gitops/`.
    pub gitops_recipients: Option<Vec<Recipient>>,
}

/// Cluster-wide values for the manifests (render/manifests.rs) and `kubeseed join`,
/// resolved once so templates only substitute and test conditions.
#[derive(Clone, Debug)]
pub struct ClusterValues {
    /// `host:port` of the API server (IPv6 in brackets): kubeadm's
    /// `controlPlaneEndpoint` and the argument of `kubeadm join`.
    pub api_endpoint: String,
    pub kubernetes_version: String,
    /// `cluster.image_repository`: every image is `<image_repository>/<name>:<tag>`.
    pub image_repository: String,
    pub service_cidr: String,
    pub pod_cidr: String,
    pub dns_domain: String,
    /// The 10th address of the service CIDR, where kubeadm puts cluster DNS
    /// (`GetDNSIP`): the kubelet's `clusterDNS`.
    pub dns_ip: IpAddr,
    /// `pki.extra_sans`, as kubeadm's `apiServer.certSANs`.
    pub extra_sans: Vec<String>,
    pub ca_validity: String,
    pub cert_validity: String,
    /// kubeadm's `encryptionAlgorithm` for `pki.algorithm`; `None` where the
    /// target kubeadm has no name for it (ECDSA-P384 before 1.34).
    pub kubeadm_encryption_algorithm: Option<&'static str>,
    pub token_usages: Vec<&'static str>,
    /// `bootstrap_token.extra_groups`, for the Secret's `auth-extra-groups`.
    pub token_extra_groups: Vec<String>,
    /// The groups the TLS-bootstrap RBAC binds: the token's extra groups, or
    /// `system:bootstrappers` (every bootstrap token) when it has none.
    pub bootstrapper_groups: Vec<String>,
    /// RFC 3339 UTC with `Z`, as kubeadm writes `expiration`.
    pub token_expires: Option<String>,
    pub token_description: String,
    pub auto_approve_node_csrs: bool,
    pub anonymous_discovery: bool,
    pub verify_kubelet_serving: bool,
    pub node_restriction: bool,
    pub encryption_at_rest: bool,
    pub node_self_delete: bool,
    /// `security.kubelet_signing_duration` as written (`72h`): kube-controller-manager's
    /// `--cluster-signing-duration`.
    pub kubelet_signing_duration: String,
    /// Every bundle keeps the kubelet's `staticPodPath` directory (spec version 2).
    pub static_pod_path: bool,
    /// `[addons]`: render CoreDNS, render kube-proxy, and kube-proxy's `mode`.
    pub coredns: bool,
    pub kube_proxy: bool,
    pub kube_proxy_mode: &'static str,
    /// The minor version of `kubernetes_version` (API versions and etcd follow it).
    pub kubernetes_minor: u32,
    /// `security.audit_log`, `security.service_account_extend_token_expiration`,
    /// `security.deny_service_external_ips`, `security.seccomp_default`, `security.pod_pids_limit`, `security.pod_security` (its
    /// name), `security.private_kubelet_files`.
    pub audit_log: bool,
    pub service_account_extend_token_expiration: bool,
    pub deny_service_external_ips: bool,
    /// [`STRONG_TLS_CIPHER_SUITES`] with `security.strong_tls_ciphers`, else empty (Go's
    /// defaults).
    pub tls_cipher_suites: &'static [&'static str],
    pub seccomp_default: bool,
    pub pod_pids_limit: Option<i64>,
    pub pod_security: Option<&'static str>,
    pub private_kubelet_files: bool,
    /// etcd's `--data-dir` and kubeadm's `etcd.local.dataDir`: `/var/lib/etcd`, or from spec
    /// version 3 a directory below it that etcd creates itself, 0700.
    pub etcd_data_dir: &'static str,
}

/// The TLS 1.2 cipher suites of `security.strong_tls_ciphers`: ECDHE key exchange and AEAD
/// encryption only, in Go's names, which kube-apiserver, kube-controller-manager,
/// kube-scheduler, the kubelet and etcd all read. TLS 1.3's suites are fixed by Go.
pub const STRONG_TLS_CIPHER_SUITES: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

/// Every bootstrap token is in this group (kube-apiserver adds it).
pub const BOOTSTRAPPERS_GROUP: &str = "system:bootstrappers";

impl ClusterValues {
    fn from_spec(spec: &Spec) -> ClusterValues {
        let cluster = &spec.cluster;
        let token = &spec.bootstrap_token;
        let api_endpoint = match &cluster.api_server.host {
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]:{}", cluster.api_server.port),
            host => format!("{host}:{}", cluster.api_server.port),
        };
        let bootstrapper_groups = if token.extra_groups.is_empty() {
            vec![BOOTSTRAPPERS_GROUP.to_string()]
        } else {
            token.extra_groups.clone()
        };
        let kubeadm_encryption_algorithm = match spec.pki.algorithm {
            Algorithm::Rsa2048 => Some("RSA-2048"),
            Algorithm::Rsa3072 => Some("RSA-3072"),
            Algorithm::Rsa4096 => Some("RSA-4096"),
            Algorithm::EcdsaP256 => Some("ECDSA-P256"),
            // kubeadm learnt ECDSA-P384 in 1.34 (k/k PR #131677); an older
            // kubeadm would reject the name, so say nothing rather than lie.
            Algorithm::EcdsaP384 if cluster.kubernetes_version.minor >= 34 => Some("ECDSA-P384"),
            Algorithm::EcdsaP384 => None,
        };
        ClusterValues {
            api_endpoint,
            kubernetes_version: cluster.kubernetes_version.text.clone(),
            image_repository: cluster.image_repository.clone(),
            service_cidr: cluster.service_cidr.to_string(),
            pod_cidr: cluster.pod_cidr.to_string(),
            dns_domain: cluster.dns_domain.clone(),
            dns_ip: service_ip(&cluster.service_cidr, 10),
            extra_sans: spec.pki.extra_sans.iter().map(Host::to_string).collect(),
            ca_validity: spec.pki.ca_validity.text.clone(),
            cert_validity: spec.pki.cert_validity.text.clone(),
            kubeadm_encryption_algorithm,
            token_usages: token.usages.iter().map(|u| TokenUsage::name(*u)).collect(),
            token_extra_groups: token.extra_groups.clone(),
            bootstrapper_groups,
            token_expires: token.expires.map(crate::rfc3339::format),
            token_description: token.description.clone(),
            auto_approve_node_csrs: spec.security.auto_approve_node_csrs,
            anonymous_discovery: spec.security.anonymous_discovery,
            verify_kubelet_serving: spec.security.verify_kubelet_serving,
            node_restriction: spec.security.node_restriction,
            encryption_at_rest: spec.security.encryption_at_rest,
            node_self_delete: spec.security.node_self_delete,
            kubelet_signing_duration: spec.security.kubelet_signing_duration.text.clone(),
            static_pod_path: crate::spec::version_defaults(spec.version).static_pod_path,
            coredns: spec.addons.coredns,
            kube_proxy: spec.addons.kube_proxy,
            kube_proxy_mode: spec.addons.kube_proxy_mode.name(),
            kubernetes_minor: cluster.kubernetes_version.minor,
            audit_log: spec.security.audit_log,
            service_account_extend_token_expiration: spec
                .security
                .service_account_extend_token_expiration,
            deny_service_external_ips: spec.security.deny_service_external_ips,
            tls_cipher_suites: if spec.security.strong_tls_ciphers {
                STRONG_TLS_CIPHER_SUITES
            } else {
                &[]
            },
            seccomp_default: spec.security.seccomp_default,
            pod_pids_limit: spec.security.pod_pids_limit,
            pod_security: spec.security.pod_security.map(PodSecurityLevel::name),
            private_kubelet_files: spec.security.private_kubelet_files,
            etcd_data_dir: crate::spec::version_defaults(spec.version).etcd_data_dir,
        }
    }
}

impl Model {
    pub fn from_spec(spec: &Spec) -> Model {
        let pki = &spec.pki;
        Model {
            cluster_name: spec.cluster.name.clone(),
            server: spec.cluster.api_server.url(),
            algorithm: pki.algorithm,
            not_before: pki.not_before,
            ca_not_after: pki.not_before + pki.ca_validity.value,
            cert_not_after: pki.not_before + pki.cert_validity.value,
            leaves: leaves(spec),
            token_generation: spec.bootstrap_token.generation,
            generations: pki.generations.clone(),
            trust: pki.trust.clone(),
            cluster: ClusterValues::from_spec(spec),
            controllers: spec.controllers.clone(),
            node_pools: spec.node_pools.clone(),
            secure_port: secure_port(spec),
            gitops_recipients: spec.gitops.as_ref().map(|g| g.age_recipients.clone()),
        }
    }

    /// The generation of an asset: `[pki.generations]`, default 1.
    pub fn generation(&self, asset: &str) -> u32 {
        self.generations.get(asset).copied().unwrap_or(1)
    }

    /// The generations a CA trusts besides its current one, ascending: their
    /// certificates follow the current one in the CA's trust bundle (`[pki.trust]`).
    pub fn other_trusted(&self, ca: &str) -> Vec<u32> {
        let current = self.generation(ca);
        self.trust
            .get(ca)
            .map(|list| list.iter().copied().filter(|g| *g != current).collect())
            .unwrap_or_default()
    }
}

/// kube-apiserver's port when clients do not reach it directly: its and kubeadm's default.
pub const DEFAULT_SECURE_PORT: u16 = 6443;

/// kube-apiserver's `--secure-port`.
///
/// `cluster.api_server` is where clients connect, which is not necessarily
/// where kube-apiserver listens: behind a load balancer its port is the load
/// balancer's. Only when the URL's host *is* a controller (its address, its
/// name or one of its `dns_names`) do clients reach kube-apiserver directly,
/// so only then is the URL's port the one it must listen on. Otherwise it
/// listens on 6443, and the load balancer forwards to that.
pub fn secure_port(spec: &Spec) -> u16 {
    let api = &spec.cluster.api_server;
    let direct = spec.controllers.iter().any(|c| match &api.host {
        Host::Ip(ip) => *ip == c.address,
        Host::Dns(name) => *name == c.name || c.dns_names.iter().any(|d| d == name),
    });
    if direct {
        api.port
    } else {
        DEFAULT_SECURE_PORT
    }
}

/// The first address of the service CIDR: the `kubernetes` Service's ClusterIP.
pub fn service_ip(cidr: &IpNet, index: u128) -> IpAddr {
    match cidr.network() {
        IpAddr::V4(n) => IpAddr::V4((u32::from(n).wrapping_add(index as u32)).into()),
        IpAddr::V6(n) => IpAddr::V6((u128::from(n).wrapping_add(index)).into()),
    }
}

fn leaves(spec: &Spec) -> Vec<LeafRow> {
    let fill = |row: &IdentityRow, controller: Option<&str>, sans: Vec<Host>| {
        let sub = |s: &str| match controller {
            Some(name) => s.replace("{controller}", name),
            None => s.to_string(),
        };
        LeafRow {
            asset: sub(row.asset),
            cn: controller.map_or(row.cn.to_string(), str::to_string),
            orgs: row.orgs.iter().map(|o| o.to_string()).collect(),
            profile: row.profile,
            issuer: row.issuer,
            sans,
            output: match row.output {
                RowOutput::Pair(p) => LeafOutput::Pair(sub(p)),
                RowOutput::Kubeconfig(n) => LeafOutput::Kubeconfig(n.to_string()),
            },
        }
    };
    let mut rows: Vec<LeafRow> = CLUSTER_LEAVES
        .iter()
        .map(|row| {
            let sans = if row.asset == "apiserver" {
                apiserver_sans(spec)
            } else {
                Vec::new()
            };
            fill(row, None, sans)
        })
        .collect();
    for c in &spec.controllers {
        let mut dns = vec![c.name.clone(), "localhost".to_string()];
        dns.extend(c.dns_names.iter().cloned());
        let ips = [
            c.address,
            IpAddr::from([127, 0, 0, 1]),
            IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        ];
        let sans = ordered_sans(dns, ips);
        for row in CONTROLLER_LEAVES {
            rows.push(fill(row, Some(&c.name), sans.clone()));
        }
    }
    rows
}

/// kube-apiserver's serving SANs: the API server host, the in-cluster names
/// of the `kubernetes` Service, its ClusterIP, every controller (name, extra
/// DNS names, address) and `pki.extra_sans`.
fn apiserver_sans(spec: &Spec) -> Vec<Host> {
    let cluster = &spec.cluster;
    let mut dns: Vec<String> = ["kubernetes", "kubernetes.default", "kubernetes.default.svc"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    dns.push(format!("kubernetes.default.svc.{}", cluster.dns_domain));
    let mut ips = vec![service_ip(&cluster.service_cidr, 1)];
    for c in &spec.controllers {
        dns.push(c.name.clone());
        dns.extend(c.dns_names.iter().cloned());
        ips.push(c.address);
    }
    for h in std::iter::once(&cluster.api_server.host).chain(&spec.pki.extra_sans) {
        match h {
            Host::Dns(d) => dns.push(d.clone()),
            Host::Ip(ip) => ips.push(*ip),
        }
    }
    ordered_sans(dns, ips)
}

fn ordered_sans(dns: Vec<String>, ips: impl IntoIterator<Item = IpAddr>) -> Vec<Host> {
    let dns: std::collections::BTreeSet<String> = dns.into_iter().collect();
    let mut out: Vec<Host> = dns.into_iter().map(Host::Dns).collect();
    for ip in ips {
        if !out.contains(&Host::Ip(ip)) {
            out.push(Host::Ip(ip));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{cert_role, CertRole};

    #[test]
    fn every_rendered_pair_has_its_role() {
        let spec = crate::spec::parse(
            "cluster.toml",
            "version = 1\n[cluster]\nname = \"m\"\napi_server = \"https://10.0.0.1:6443\"\n\
             kubernetes_version = \"v1.34.2\"\n[[controllers]]\nname = \"cp-0\"\n\
             address = \"10.0.0.1\"\n[pki]\nnot_before = \"2026-01-01T00:00:00Z\"\n",
        )
        .unwrap()
        .spec;
        let model = Model::from_spec(&spec);
        let mut pairs = 0;
        for row in &model.leaves {
            if let LeafOutput::Pair(p) = &row.output {
                pairs += 1;
                assert_eq!(
                    cert_role(&format!("{p}.crt")),
                    Some(CertRole::Leaf {
                        profile: row.profile,
                        issuer: row.issuer
                    }),
                    "{p}"
                );
            }
        }
        assert_eq!(pairs, 7, "five cluster-wide pairs and one controller's two");
    }

    #[test]
    fn service_ips() {
        let v4: IpNet = "10.96.0.0/12".parse().unwrap();
        assert_eq!(service_ip(&v4, 1).to_string(), "10.96.0.1");
        assert_eq!(service_ip(&v4, 10).to_string(), "10.96.0.10");
        let v6: IpNet = "fd00:10:96::/108".parse().unwrap();
        assert_eq!(service_ip(&v6, 10).to_string(), "fd00:10:96::a");
    }

    #[test]
    fn sans_sorted_dns_then_ips_in_order() {
        let sans = ordered_sans(
            vec!["b".into(), "a".into(), "b".into()],
            [
                "10.0.0.2".parse().unwrap(),
                "10.0.0.1".parse().unwrap(),
                "10.0.0.2".parse().unwrap(),
            ],
        );
        let text: Vec<String> = sans.iter().map(|h| h.to_string()).collect();
        assert_eq!(text, ["a", "b", "10.0.0.2", "10.0.0.1"]);
    }

    fn values(api_server: &str, pki: &str, token: &str) -> ClusterValues {
        let text = format!(
            "version = 1\n[cluster]\nname = \"t\"\napi_server = \"{api_server}\"\n\
             kubernetes_version = \"v1.33.1\"\nservice_cidr = \"10.32.0.0/16\"\n\
             [[controllers]]\nname = \"cp-0\"\naddress = \"10.0.0.10\"\n\
             [pki]\nnot_before = \"2026-01-01T00:00:00Z\"\n{pki}\n[bootstrap_token]\n{token}\n"
        );
        let spec = crate::spec::parse("t.toml", &text).unwrap().spec;
        Model::from_spec(&spec).cluster
    }

    #[test]
    fn cluster_values() {
        let v = values(
            "https://[fd00::1]:7443",
            "",
            "expires = \"2026-02-03T04:05:06Z\"\nextra_groups = []\nusages = [\"authentication\"]",
        );
        // kubeadm join and controlPlaneEndpoint want brackets around IPv6.
        assert_eq!(v.api_endpoint, "[fd00::1]:7443");
        assert_eq!(v.dns_ip.to_string(), "10.32.0.10");
        assert_eq!(v.token_expires.as_deref(), Some("2026-02-03T04:05:06Z"));
        assert_eq!(v.token_usages, ["authentication"]);
        // No extra groups: RBAC falls back to the group every token has.
        assert!(v.token_extra_groups.is_empty());
        assert_eq!(v.bootstrapper_groups, [BOOTSTRAPPERS_GROUP]);

        let v = values(
            "https://api.example.com:6443",
            "algorithm = \"ecdsa-p384\"",
            "extra_groups = [\"system:bootstrappers:a\", \"system:bootstrappers:b\"]",
        );
        assert_eq!(v.api_endpoint, "api.example.com:6443");
        assert_eq!(v.token_expires, None);
        assert_eq!(v.token_usages, ["authentication", "signing"]);
        assert_eq!(
            v.bootstrapper_groups,
            ["system:bootstrappers:a", "system:bootstrappers:b"]
        );
        // kubeadm 1.33 has no name for P-384.
        assert_eq!(v.kubeadm_encryption_algorithm, None);
        let v = values("https://a:1", "algorithm = \"rsa-3072\"", "");
        assert_eq!(v.kubeadm_encryption_algorithm, Some("RSA-3072"));
    }
}
