//! The hardened control plane: static pods for kube-apiserver,
//! kube-controller-manager, kube-scheduler and etcd on every controller, the
//! kube-apiserver's AuthenticationConfiguration and EncryptionConfiguration,
//! and the kubelet's systemd drop-in.
//!
//! This module decides the values (addresses, URLs, versions, which switch
//! turns on what); the templates under `templates/static-pods/`,
//! `templates/control-plane/` and `templates/config/` hold every flag, so a
//! `render --templates` override sees and can change all of them. Files only
//! *name* certificates and kubeconfigs by their on-host paths, so re-keying
//! a certificate never changes a manifest.
//!
//! Output, per controller `<c>` (what lives under that node's `/etc/kubernetes`):
//! `control-plane/<c>/manifests/{kube-apiserver,kube-controller-manager,kube-scheduler,etcd}.yaml`,
//! `control-plane/<c>/authentication-config.yaml` and, with
//! `security.encryption_at_rest`, `control-plane/<c>/encryption-config.yaml`
//! (secret), with `security.audit_log` `control-plane/<c>/audit-policy.yaml`,
//! with `security.pod_security` `control-plane/<c>/admission-config.yaml`.

use std::net::IpAddr;

use minijinja::Value;
use serde::Serialize;

use super::{RenderError, Templates};
use crate::derive::Seed;
use crate::fileset::{File, FileSet, Kind};
use crate::model::Model;
use crate::spec::Controller;
use crate::templates::registered;
use crate::text::b64;

/// Template ids: their path under `templates/`, each in the registry
/// ([`crate::templates::TEMPLATES`]).
pub const KUBE_APISERVER: &str = registered("static-pods/kube-apiserver.yaml");
pub const KUBE_CONTROLLER_MANAGER: &str = registered("static-pods/kube-controller-manager.yaml");
pub const KUBE_SCHEDULER: &str = registered("static-pods/kube-scheduler.yaml");
pub const ETCD: &str = registered("static-pods/etcd.yaml");
pub const AUTHENTICATION_CONFIG: &str = registered("control-plane/authentication-config.yaml");
pub const ENCRYPTION_CONFIG: &str = registered("control-plane/encryption-config.yaml");
pub const AUDIT_POLICY: &str = registered("control-plane/audit-policy.yaml");
pub const ADMISSION_CONFIG: &str = registered("control-plane/admission-config.yaml");

/// The etcd image kubeadm pairs with each Kubernetes minor version
/// (`SupportedEtcdVersion` in kubeadm's `cmd/kubeadm/app/constants/constants.go`),
/// frozen at the newest pairing upstream had published when this table was
/// written: 3.5.24 for 1.32 and 1.33 (k/k #134779, #135018), 3.6.11 for 1.34
/// to 1.36 (k/k #138746). Part of the determinism promise: an entry never
/// changes within kubeseed 1.x; pin another etcd with a template override.
pub const ETCD_VERSIONS: &[(u32, &str)] = &[
    (32, "3.5.24-0"),
    (33, "3.5.24-0"),
    (34, "3.6.11-0"),
    (35, "3.6.11-0"),
    (36, "3.6.11-0"),
];

/// The on-host directory the `control-plane/<c>/` files belong in.
pub const KUBERNETES_DIR: &str = "/etc/kubernetes";

/// The etcd image tag for a Kubernetes minor version, and whether it had to
/// fall back to the nearest known minor (as kubeadm's `EtcdSupportedVersion`
/// does, with a warning).
pub fn etcd_version(minor: u32) -> (&'static str, bool) {
    if let Some((_, v)) = ETCD_VERSIONS.iter().find(|(m, _)| *m == minor) {
        return (v, false);
    }
    let (first, last) = (ETCD_VERSIONS[0], ETCD_VERSIONS[ETCD_VERSIONS.len() - 1]);
    if minor < first.0 {
        (first.1, true)
    } else {
        (last.1, true)
    }
}

/// True for etcd 3.6 and later, whose corrupt-check and progress-notify
/// flags are `--feature-gates=InitialCorruptCheck=true` and
/// `--watch-progress-notify-interval` instead of the `--experimental-` ones.
fn etcd_is_3_6_or_later(tag: &str) -> bool {
    let mut parts = tag.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (3, 6)
}

/// The AuthenticationConfiguration API version kube-apiserver accepts:
/// `apiserver.config.k8s.io/v1` from 1.34 (structured authentication GA),
/// `v1beta1` for 1.32 and 1.33 (shared/reference facts §6.2).
pub fn authentication_api_version(minor: u32) -> &'static str {
    if minor >= 34 {
        "apiserver.config.k8s.io/v1"
    } else {
        "apiserver.config.k8s.io/v1beta1"
    }
}

/// What `render` should tell the operator about this cluster's control plane.
/// A pure function of the model, printed by the CLI before rendering.
pub fn warnings(model: &Model) -> Vec<String> {
    let mut out = Vec::new();
    let security = &model.cluster;
    if !security.node_restriction {
        out.push(
            "security.node_restriction = false: kube-apiserver runs without the Node authorizer \
             and the NodeRestriction admission plugin (--authorization-mode=RBAC), so a kubelet's \
             credentials can read every Secret and change any Node or Pod; kubelets then get the \
             system:node ClusterRole through manifests/nodes-clusterrolebinding.yaml; keep it true \
             unless you know why"
                .to_string(),
        );
    }
    if security.verify_kubelet_serving {
        out.push(
            "security.verify_kubelet_serving = true: kube-apiserver verifies kubelet serving \
             certificates against the cluster CA (--kubelet-certificate-authority), so every \
             kubelet needs a CA-signed serving certificate (serverTLSBootstrap) and its \
             kubernetes.io/kubelet-serving CSRs need an approver: no built-in controller approves \
             them; until one does, kubectl logs, exec and port-forward fail on that node"
                .to_string(),
        );
    }
    let minor = model.cluster.kubernetes_minor;
    let (etcd, fallback) = etcd_version(minor);
    if fallback {
        out.push(format!(
            "kubeseed knows no etcd version for Kubernetes 1.{minor}; the etcd static pods use \
             the nearest one it knows, {}/etcd:{etcd} (override \
             static-pods/etcd.yaml with --templates to choose another)",
            model.cluster.image_repository
        ));
    }
    out
}

/// `host:port` or `[v6]:port`.
fn join_host_port(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// The loopback address of the controller's address family: etcd's local
/// client listener, its metrics listener and the probes use it, as kubeadm's do.
fn loopback(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::from([127, 0, 0, 1]),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    }
}

// ---------------------------------------------------------------------------------------
// Template variables. The registry (src/templates.rs, CONTROL_PLANE and
// control-plane/encryption-config.yaml) lists them, and rendering refuses a
// context that differs; the README's Templates section is made from it.
// ---------------------------------------------------------------------------------------

#[derive(Serialize)]
struct Vars<'a> {
    /// `cluster.kubernetes_version` as written: the image tag.
    kubernetes_version: &'a str,
    authentication_api_version: &'static str,
    cluster: ClusterVars<'a>,
    controller: ControllerVars<'a>,
    security: SecurityVars<'a>,
    apiserver: ApiserverVars,
    etcd: EtcdVars,
}

#[derive(Serialize)]
struct ClusterVars<'a> {
    name: &'a str,
    service_cidr: String,
    pod_cidr: String,
    dns_domain: &'a str,
    image_repository: &'a str,
}

#[derive(Serialize)]
struct ControllerVars<'a> {
    name: &'a str,
    address: String,
}

#[derive(Serialize)]
struct SecurityVars<'a> {
    node_restriction: bool,
    anonymous_discovery: bool,
    verify_kubelet_serving: bool,
    encryption_at_rest: bool,
    kubelet_signing_duration: &'a str,
    audit_log: bool,
    service_account_extend_token_expiration: bool,
    /// The enforced Pod Security level, if an AdmissionConfiguration is rendered.
    pod_security: Option<&'static str>,
    /// Comma-separated, for the flag; empty for Go's defaults.
    tls_cipher_suites: String,
}

#[derive(Serialize)]
struct ApiserverVars {
    secure_port: u16,
    /// Where the kubelet probes kube-apiserver: its advertise address, as kubeadm does.
    probe_host: String,
    /// kubeadm's `kube-apiserver.advertise-address.endpoint` annotation: `addr:port`.
    endpoint: String,
    /// `--enable-admission-plugins`, comma-separated; empty for none.
    admission_plugins: String,
}

#[derive(Serialize)]
struct EtcdVars {
    /// The image tag, e.g. `3.6.11-0`.
    version: &'static str,
    v3_6: bool,
    /// kube-apiserver's `--etcd-servers`: every member's client URL, in spec order.
    servers: String,
    /// `--initial-cluster`: every member's `name=peer URL`, in spec order.
    initial_cluster: String,
    listen_client_urls: String,
    advertise_client_url: String,
    peer_url: String,
    metrics_url: String,
    probe_host: String,
    /// `--data-dir`.
    data_dir: &'static str,
}

#[derive(Serialize)]
struct EncryptionVars {
    encryption: EncryptionKey,
}

#[derive(Serialize)]
struct EncryptionKey {
    key_name: String,
    /// Standard base64 of the 32 key bytes. The only secret in any template
    /// context of this module, and only in the EncryptionConfiguration's.
    secret: String,
}

fn client_url(ip: IpAddr) -> String {
    format!("https://{}", join_host_port(ip, 2379))
}

fn peer_url(ip: IpAddr) -> String {
    format!("https://{}", join_host_port(ip, 2380))
}

/// The admission plugins kube-apiserver enables on top of its defaults.
fn admission_plugins(model: &Model) -> Vec<&'static str> {
    let cluster = &model.cluster;
    let mut plugins = Vec::new();
    if cluster.node_restriction {
        plugins.push("NodeRestriction");
    }
    if cluster.deny_service_external_ips {
        plugins.push("DenyServiceExternalIPs");
    }
    plugins
}

fn vars<'a>(model: &'a Model, c: &'a Controller) -> Vars<'a> {
    let cluster = &model.cluster;
    let minor = cluster.kubernetes_minor;
    let (etcd_tag, _) = etcd_version(minor);
    let port = model.secure_port;
    let local = loopback(c.address);
    let mut listen_client = vec![client_url(local)];
    // A controller whose address is the loopback address itself must not
    // make etcd bind the same URL twice.
    if c.address != local {
        listen_client.push(client_url(c.address));
    }
    let join = |f: &dyn Fn(&Controller) -> String| {
        model
            .controllers
            .iter()
            .map(f)
            .collect::<Vec<_>>()
            .join(",")
    };
    Vars {
        kubernetes_version: &cluster.kubernetes_version,
        authentication_api_version: authentication_api_version(minor),
        cluster: ClusterVars {
            name: &model.cluster_name,
            service_cidr: cluster.service_cidr.clone(),
            pod_cidr: cluster.pod_cidr.clone(),
            dns_domain: &cluster.dns_domain,
            image_repository: &cluster.image_repository,
        },
        controller: ControllerVars {
            name: &c.name,
            address: c.address.to_string(),
        },
        security: SecurityVars {
            node_restriction: cluster.node_restriction,
            anonymous_discovery: cluster.anonymous_discovery,
            verify_kubelet_serving: cluster.verify_kubelet_serving,
            encryption_at_rest: cluster.encryption_at_rest,
            kubelet_signing_duration: &cluster.kubelet_signing_duration,
            audit_log: cluster.audit_log,
            service_account_extend_token_expiration: cluster
                .service_account_extend_token_expiration,
            pod_security: cluster.pod_security,
            tls_cipher_suites: cluster.tls_cipher_suites.join(","),
        },
        apiserver: ApiserverVars {
            secure_port: port,
            probe_host: c.address.to_string(),
            endpoint: join_host_port(c.address, port),
            admission_plugins: admission_plugins(model).join(","),
        },
        etcd: EtcdVars {
            version: etcd_tag,
            v3_6: etcd_is_3_6_or_later(etcd_tag),
            servers: join(&|m| client_url(m.address)),
            initial_cluster: join(&|m| format!("{}={}", m.name, peer_url(m.address))),
            listen_client_urls: listen_client.join(","),
            advertise_client_url: client_url(c.address),
            peer_url: peer_url(c.address),
            metrics_url: format!("http://{}", join_host_port(local, 2381)),
            probe_host: local.to_string(),
            data_dir: cluster.etcd_data_dir,
        },
    }
}

/// Every control-plane file of the model, in memory.
pub fn render(model: &Model, seed: &Seed, templates: &Templates) -> Result<FileSet, RenderError> {
    let mut files = FileSet::new();
    let encryption = if model.cluster.encryption_at_rest {
        let generation = model.generation("encryption");
        let key = seed.encryption_key(generation);
        Some(EncryptionVars {
            encryption: EncryptionKey {
                key_name: format!("key-{generation}"),
                secret: b64(key.as_slice()),
            },
        })
    } else {
        None
    };
    for c in &model.controllers {
        let dir = format!("control-plane/{}", c.name);
        let ctx = Value::from_serialize(vars(model, c));
        for (id, name) in [
            (KUBE_APISERVER, "kube-apiserver"),
            (KUBE_CONTROLLER_MANAGER, "kube-controller-manager"),
            (KUBE_SCHEDULER, "kube-scheduler"),
            (ETCD, "etcd"),
        ] {
            let text = templates.render(id, ctx.clone())?;
            files.insert(
                &format!("{dir}/manifests/{name}.yaml"),
                File::public(Kind::StaticPod, text),
            )?;
        }
        let text = templates.render(AUTHENTICATION_CONFIG, ctx.clone())?;
        files.insert(
            &format!("{dir}/authentication-config.yaml"),
            File::public(Kind::Config, text),
        )?;
        if model.cluster.audit_log {
            let text = templates.render(AUDIT_POLICY, minijinja::context! {})?;
            files.insert(
                &format!("{dir}/audit-policy.yaml"),
                File::public(Kind::Config, text),
            )?;
        }
        if let Some(level) = model.cluster.pod_security {
            let text = templates.render(
                ADMISSION_CONFIG,
                minijinja::context! { pod_security => level },
            )?;
            files.insert(
                &format!("{dir}/admission-config.yaml"),
                File::public(Kind::Config, text),
            )?;
        }
        if let Some(encryption) = &encryption {
            let text = templates.render(ENCRYPTION_CONFIG, Value::from_serialize(encryption))?;
            files.insert(
                &format!("{dir}/encryption-config.yaml"),
                File::secret(Kind::Config, text),
            )?;
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    const SPEC: &str = r#"version = 1
[cluster]
name = "unit"
api_server = "https://api.unit.example:6443"
kubernetes_version = "v1.34.2"
[[controllers]]
name = "cp-0"
address = "10.0.0.10"
[[controllers]]
name = "cp-1"
address = "10.0.0.11"
dns_names = ["cp-1.unit.example"]
[[controllers]]
name = "cp-2"
address = "10.0.0.12"
[pki]
not_before = "2026-01-01T00:00:00Z"
[bootstrap_token]
"#;

    fn spec_with(edits: &[(&str, &str)]) -> Spec {
        let mut text = SPEC.to_string();
        for (from, to) in edits {
            assert!(text.contains(from), "{from}");
            text = text.replacen(from, to, 1);
        }
        crate::spec::parse("unit.toml", &text).unwrap().spec
    }

    fn seed() -> Seed {
        Seed::from_hex(&"42".repeat(32)).unwrap()
    }

    fn render_spec(spec: &Spec) -> FileSet {
        let model = Model::from_spec(spec);
        render(&model, &seed(), &Templates::embedded().unwrap()).unwrap()
    }

    fn text(files: &FileSet, path: &str) -> String {
        String::from_utf8(files.get(path).unwrap().bytes.clone()).unwrap()
    }

    /// The `- --name=value` lines of a static pod's command, in order.
    fn flags(files: &FileSet, path: &str) -> Vec<String> {
        text(files, path)
            .lines()
            .filter_map(|l| l.strip_prefix("    - --"))
            .map(|f| format!("--{f}"))
            .collect()
    }

    #[test]
    fn etcd_versions_and_fallback() {
        assert_eq!(etcd_version(32), ("3.5.24-0", false));
        assert_eq!(etcd_version(34), ("3.6.11-0", false));
        assert_eq!(etcd_version(37), ("3.6.11-0", true));
        assert!(!etcd_is_3_6_or_later("3.5.24-0"));
        assert!(etcd_is_3_6_or_later("3.6.11-0"));
        assert!(etcd_is_3_6_or_later("3.10.0-0"));
        // Sorted, no gaps: the fallback takes the nearest end.
        for w in ETCD_VERSIONS.windows(2) {
            assert_eq!(w[0].0 + 1, w[1].0);
        }
    }

    #[test]
    fn secure_port_follows_the_url_only_when_it_reaches_a_controller() {
        let lb = |url: &str| {
            crate::model::secure_port(&spec_with(&[("https://api.unit.example:6443", url)]))
        };
        assert_eq!(lb("https://api.unit.example:443"), 6443);
        assert_eq!(lb("https://10.0.0.5:8443"), 6443);
        assert_eq!(lb("https://10.0.0.11:8443"), 8443);
        assert_eq!(lb("https://cp-1.unit.example:7443"), 7443);
        assert_eq!(lb("https://cp-2:443"), 443);
        assert_eq!(lb("https://cp-2"), 6443);
    }

    /// For every combination of the four boolean switches: flags are sorted
    /// by name like kubeadm's, none is repeated, and every template renders.
    #[test]
    fn flags_are_sorted_in_every_combination() {
        for bits in 0..16u8 {
            let b = |i: u8| {
                if bits & (1 << i) != 0 {
                    "true"
                } else {
                    "false"
                }
            };
            let security = format!(
                "[security]\nnode_restriction = {}\nanonymous_discovery = {}\nverify_kubelet_serving = {}\nencryption_at_rest = {}\n",
                b(0),
                b(1),
                b(2),
                b(3)
            );
            for version in ["v1.32.4", "v1.34.2"] {
                let spec = spec_with(&[
                    (
                        "[bootstrap_token]\n",
                        &format!("[bootstrap_token]\n{security}"),
                    ),
                    ("v1.34.2", version),
                ]);
                let files = render_spec(&spec);
                for pod in [
                    "kube-apiserver",
                    "kube-controller-manager",
                    "kube-scheduler",
                    "etcd",
                ] {
                    let path = format!("control-plane/cp-1/manifests/{pod}.yaml");
                    let f = flags(&files, &path);
                    let names: Vec<&str> = f
                        .iter()
                        .map(|f| f.split('=').next().unwrap_or(""))
                        .collect();
                    let mut sorted = names.clone();
                    sorted.sort();
                    sorted.dedup();
                    assert_eq!(names, sorted, "{path} ({bits:04b}, {version})");
                }
            }
        }
    }

    #[test]
    fn apiserver_flags_follow_the_switches() {
        let base = render_spec(&spec_with(&[]));
        let f = flags(&base, "control-plane/cp-0/manifests/kube-apiserver.yaml");
        assert!(f.contains(&"--authorization-mode=Node,RBAC".to_string()));
        assert!(f.contains(&"--enable-admission-plugins=NodeRestriction".to_string()));
        assert!(f.contains(
            &"--etcd-servers=https://10.0.0.10:2379,https://10.0.0.11:2379,https://10.0.0.12:2379"
                .to_string()
        ));
        assert!(!f
            .iter()
            .any(|f| f.starts_with("--kubelet-certificate-authority")));
        assert!(!f.iter().any(|f| f.starts_with("--anonymous-auth")));

        let open = render_spec(&spec_with(&[(
            "[bootstrap_token]\n",
            "[bootstrap_token]\n[security]\nnode_restriction = false\nverify_kubelet_serving = true\n",
        )]));
        let g = flags(&open, "control-plane/cp-0/manifests/kube-apiserver.yaml");
        assert!(g.contains(&"--authorization-mode=RBAC".to_string()));
        assert!(!g
            .iter()
            .any(|f| f.starts_with("--enable-admission-plugins")));
        assert!(
            g.contains(&"--kubelet-certificate-authority=/etc/kubernetes/pki/ca.crt".to_string())
        );
    }

    #[test]
    fn etcd_flags_per_member_and_version() {
        let files = render_spec(&spec_with(&[]));
        let f = flags(&files, "control-plane/cp-1/manifests/etcd.yaml");
        for want in [
            "--name=cp-1",
            "--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.11:2379",
            "--advertise-client-urls=https://10.0.0.11:2379",
            "--listen-peer-urls=https://10.0.0.11:2380",
            "--initial-advertise-peer-urls=https://10.0.0.11:2380",
            "--initial-cluster=cp-0=https://10.0.0.10:2380,cp-1=https://10.0.0.11:2380,cp-2=https://10.0.0.12:2380",
            "--initial-cluster-token=unit",
            "--feature-gates=InitialCorruptCheck=true",
            "--watch-progress-notify-interval=5s",
        ] {
            assert!(f.contains(&want.to_string()), "{want} not in {f:?}");
        }
        let old = render_spec(&spec_with(&[("v1.34.2", "v1.33.1")]));
        let g = flags(&old, "control-plane/cp-1/manifests/etcd.yaml");
        assert!(g.contains(&"--experimental-initial-corrupt-check=true".to_string()));
        assert!(g.contains(&"--experimental-watch-progress-notify-interval=5s".to_string()));
        assert!(!g.iter().any(|f| f.starts_with("--feature-gates")));
        assert!(text(&old, "control-plane/cp-1/manifests/etcd.yaml")
            .contains("image: registry.k8s.io/etcd:3.5.24-0"));
    }

    #[test]
    fn ipv6_addresses_are_bracketed_in_urls() {
        let spec = spec_with(&[
            ("api_server = \"https://api.unit.example:6443\"", "api_server = \"https://[fd00::10]:6443\"\nservice_cidr = \"fd00:96::/112\"\npod_cidr = \"fd00:244::/56\""),
            ("10.0.0.10", "fd00::10"),
            ("10.0.0.11", "fd00::11"),
            ("10.0.0.12", "fd00::12"),
        ]);
        let files = render_spec(&spec);
        let f = flags(&files, "control-plane/cp-0/manifests/etcd.yaml");
        assert!(f.contains(
            &"--listen-client-urls=https://[::1]:2379,https://[fd00::10]:2379".to_string()
        ));
        assert!(f.contains(&"--listen-metrics-urls=http://[::1]:2381".to_string()));
        let a = flags(&files, "control-plane/cp-0/manifests/kube-apiserver.yaml");
        assert!(a.contains(&"--advertise-address=fd00::10".to_string()));
        assert!(a.contains(&"--secure-port=6443".to_string()));
        assert!(
            text(&files, "control-plane/cp-0/manifests/kube-apiserver.yaml")
                .contains("kube-apiserver.advertise-address.endpoint: \"[fd00::10]:6443\"")
        );
    }

    #[test]
    fn a_loopback_controller_listens_once() {
        let spec = spec_with(&[("10.0.0.10", "127.0.0.1")]);
        let f = flags(
            &render_spec(&spec),
            "control-plane/cp-0/manifests/etcd.yaml",
        );
        assert!(f.contains(&"--listen-client-urls=https://127.0.0.1:2379".to_string()));
    }

    #[test]
    fn encryption_config_is_secret_and_keyed_by_generation() {
        let files = render_spec(&spec_with(&[]));
        let path = "control-plane/cp-0/encryption-config.yaml";
        let file = files.get(path).unwrap();
        assert!(file.secret);
        assert_eq!(file.mode, 0o600);
        let key = b64(seed().encryption_key(1).as_slice());
        let t = text(&files, path);
        assert!(t.contains("name: key-1"), "{t}");
        assert!(t.contains(&key), "{t}");
        // Identical on every controller: they share one etcd.
        assert_eq!(t, text(&files, "control-plane/cp-2/encryption-config.yaml"));
        let bumped = render_spec(&spec_with(&[(
            "[bootstrap_token]\n",
            "[pki.generations]\nencryption = 3\n[bootstrap_token]\n",
        )]));
        let t3 = text(&bumped, path);
        assert!(t3.contains("name: key-3"), "{t3}");
        assert!(!t3.contains(&key));
        // The static pods never carry the key.
        for (p, f) in files.iter() {
            if p != path && !p.ends_with("encryption-config.yaml") {
                assert!(!String::from_utf8_lossy(&f.bytes).contains(&key), "{p}");
            }
        }
    }

    #[test]
    fn warnings_name_the_switch() {
        assert!(warnings(&Model::from_spec(&spec_with(&[]))).is_empty());
        let w = warnings(&Model::from_spec(&spec_with(&[(
            "[bootstrap_token]\n",
            "[bootstrap_token]\n[security]\nnode_restriction = false\nverify_kubelet_serving = true\n",
        )])));
        assert_eq!(w.len(), 2);
        assert!(w[0].contains("security.node_restriction = false"));
        assert!(w[1].contains("security.verify_kubelet_serving = true"));
        assert!(w[1].contains("approver"));
        let w = warnings(&Model::from_spec(&spec_with(&[("v1.34.2", "v1.37.0")])));
        assert!(w[0].contains("registry.k8s.io/etcd:3.6.11-0"), "{w:?}");
    }
}
