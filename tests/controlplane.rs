//! The control plane through the real tools that will consume it, black-box
//! through the `kubeseed` binary:
//!
//! - every static pod decodes as a typed v1 Pod in a real `kubectl` (no field
//!   misspelt or mistyped) and has exactly the kinds, names, images, probes,
//!   flags and volumes expected for a fixture spec; every file a flag names
//!   is mounted at the same path and is a file the output directory renders;
//! - the AuthenticationConfiguration, the EncryptionConfiguration (parsed by
//!   kubectl) and the kubelet drop-in (`systemd-analyze verify`) say exactly
//!   what they should;
//! - each `[security]` switch and `kubernetes_version` changes exactly the
//!   files and flags it should;
//! - a three-member etcd cluster runs on loopback with the rendered flags;
//! - `render --templates` overrides take effect, and a bad override fails
//!   cleanly, naming the file.
//!
//! kubectl is the real one `common::kubectl` finds (never the Cloud SDK
//! dispatcher, which dials out), always with a kubeconfig whose server is
//! `https://127.0.0.1:1`, and only with commands that work without a server
//! (`--local`). `kubectl create --dry-run=client` would need API discovery
//! from a server, so typed decoding uses `kubectl set env --local` instead.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

const SEED: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
const CONTROLLERS: [(&str, &str); 3] = [
    ("cp-a", "127.83.0.11"),
    ("cp-b", "127.83.0.12"),
    ("cp-c", "127.83.0.13"),
];
const PODS: [&str; 4] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "etcd",
];

/// The fixture: three controllers on loopback behind a "load balancer" at
/// 127.83.0.10, so kube-apiserver listens on 6443.
fn fixture(kubernetes_version: &str, security: &str) -> String {
    common::Spec::new("cpt")
        .api_server("https://127.83.0.10:6443")
        .kubernetes_version(kubernetes_version)
        .controller_list(&CONTROLLERS)
        .token("expires = \"2026-01-02T00:00:00Z\"")
        .security(security)
        .build()
}

// ---------------------------------------------------------------------------------------
// Rendering through the binary

struct Workspace {
    ws: common::Workspace,
}

impl Workspace {
    fn new(spec: &str) -> Workspace {
        let ws = common::Workspace::new();
        ws.write_spec(spec);
        ws.write_seed(SEED);
        Workspace { ws }
    }

    fn path(&self) -> &Path {
        self.ws.path()
    }

    fn out(&self) -> PathBuf {
        self.path().join("out")
    }

    fn run(&self, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_kubeseed"))
            .current_dir(self.path())
            .args(["render", "cluster.toml", "--out", "out"])
            .args(extra)
            .env_remove("KUBESEED_SEED")
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap()
    }

    /// Renders and returns stderr (the warnings).
    fn render(&self, extra: &[&str]) -> String {
        let out = self.run(extra);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "render failed: {stderr}");
        stderr
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.out().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
}

fn rendered(kubernetes_version: &str, security: &str) -> (Workspace, String) {
    let ws = Workspace::new(&fixture(kubernetes_version, security));
    let stderr = ws.render(&[]);
    (ws, stderr)
}

/// path → sha256 of every regular file under `dir`.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    common::hash_tree(dir)
        .into_iter()
        .map(|(path, entry)| (path, entry.sha256))
        .collect()
}

// ---------------------------------------------------------------------------------------
// kubectl

struct Kubectl {
    bin: PathBuf,
    home: tempfile::TempDir,
}

impl Kubectl {
    fn find() -> Kubectl {
        let bin = common::kubectl().path.clone();
        let home = tempfile::tempdir().unwrap();
        // A server nothing listens on, on loopback: nothing here needs one,
        // and if something tried, it could not leave the machine. A token
        // keeps kubectl from prompting for a password.
        fs::write(
            home.path().join("kubeconfig"),
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://127.0.0.1:1\n  name: none\n\
             contexts:\n- context:\n    cluster: none\n    user: none\n  name: none\ncurrent-context: none\n\
             users:\n- name: none\n  user:\n    token: not-a-credential\n",
        )
        .unwrap();
        Kubectl { bin, home }
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new(&self.bin)
            .arg("--kubeconfig")
            .arg(self.home.path().join("kubeconfig"))
            .arg("--cache-dir")
            .arg(self.home.path().join("cache"))
            .args(args)
            .env_remove("KUBECONFIG")
            .env("HOME", self.home.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("kubectl {args:?} printed no JSON: {e}"))
    }

    /// The file as kubectl's YAML decoder reads it, without a schema: every
    /// field as written (plus one label this removes again).
    fn parse(&self, file: &Path) -> Value {
        let path = file.to_str().unwrap();
        let mut v = self.json(&[
            "label",
            "--local",
            "-f",
            path,
            "-o",
            "json",
            "kubeseed-test/parsed=yes",
        ]);
        let labels = v["metadata"]["labels"].as_object_mut().unwrap();
        labels.remove("kubeseed-test/parsed");
        if labels.is_empty() {
            let metadata = v["metadata"].as_object_mut().unwrap();
            metadata.remove("labels");
            if metadata.is_empty() {
                v.as_object_mut().unwrap().remove("metadata");
            }
        }
        v
    }

    /// A static pod: decoded as a typed core/v1 Pod (which fails on a wrong
    /// type), and that typed Pod must hold every field as written, so no
    /// field is unknown to the Pod schema. Returns the fields as written.
    fn pod(&self, file: &Path) -> Value {
        let written = self.parse(file);
        let path = file.to_str().unwrap();
        let mut typed = self.json(&[
            "set",
            "env",
            "--local",
            "-f",
            path,
            "-o",
            "json",
            "KUBESEED_TYPED_DECODE=1",
        ]);
        for c in typed["spec"]["containers"].as_array_mut().unwrap() {
            let env = c["env"].as_array_mut().unwrap();
            env.retain(|e| e["name"] != "KUBESEED_TYPED_DECODE");
            if env.is_empty() {
                c.as_object_mut().unwrap().remove("env");
            }
        }
        if let Err(at) = contains(&typed, &written, "") {
            panic!(
                "{}: {at} is not part of a v1 Pod as kubectl decodes it",
                file.display()
            );
        }
        written
    }
}

/// Whether `big` holds everything `small` says (objects: every key; arrays:
/// element by element; scalars: equal). The error is the first path that differs.
fn contains(big: &Value, small: &Value, at: &str) -> Result<(), String> {
    match (big, small) {
        (Value::Object(b), Value::Object(s)) => {
            for (k, v) in s {
                let path = format!("{at}.{k}");
                contains(b.get(k).unwrap_or(&Value::Null), v, &path)?;
            }
            Ok(())
        }
        (Value::Array(b), Value::Array(s)) if b.len() == s.len() => {
            for (i, (bv, sv)) in b.iter().zip(s).enumerate() {
                contains(bv, sv, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        _ if big == small => Ok(()),
        _ => Err(format!("{at} (written {small}, decoded {big})")),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The container's command: the binary, then its flags.
fn command(pod: &Value) -> Vec<String> {
    strings(&pod["spec"]["containers"][0]["command"])
}

fn flags_of(pod: &Value) -> BTreeSet<String> {
    command(pod).into_iter().skip(1).collect()
}

// ---------------------------------------------------------------------------------------
// What the fixture must render

fn expected_command(pod: &str, name: &str, address: &str, etcd_3_6: bool) -> Vec<String> {
    let etcd_servers = CONTROLLERS
        .iter()
        .map(|(_, a)| format!("https://{a}:2379"))
        .collect::<Vec<_>>()
        .join(",");
    let initial_cluster = CONTROLLERS
        .iter()
        .map(|(n, a)| format!("{n}=https://{a}:2380"))
        .collect::<Vec<_>>()
        .join(",");
    let flags: Vec<String> = match pod {
        "kube-apiserver" => vec![
            format!("--advertise-address={address}"),
            "--allow-privileged=true".into(),
            "--authentication-config=/etc/kubernetes/authentication-config.yaml".into(),
            "--authorization-mode=Node,RBAC".into(),
            "--client-ca-file=/etc/kubernetes/pki/ca.crt".into(),
            "--enable-admission-plugins=NodeRestriction".into(),
            "--enable-bootstrap-token-auth=true".into(),
            "--encryption-provider-config=/etc/kubernetes/encryption-config.yaml".into(),
            "--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt".into(),
            "--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt".into(),
            "--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key".into(),
            format!("--etcd-servers={etcd_servers}"),
            "--kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt".into(),
            "--kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key".into(),
            "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname".into(),
            "--profiling=false".into(),
            "--proxy-client-cert-file=/etc/kubernetes/pki/front-proxy-client.crt".into(),
            "--proxy-client-key-file=/etc/kubernetes/pki/front-proxy-client.key".into(),
            "--requestheader-allowed-names=front-proxy-client".into(),
            "--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt".into(),
            "--requestheader-extra-headers-prefix=X-Remote-Extra-".into(),
            "--requestheader-group-headers=X-Remote-Group".into(),
            "--requestheader-username-headers=X-Remote-User".into(),
            "--secure-port=6443".into(),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
            "--service-account-key-file=/etc/kubernetes/pki/sa.pub".into(),
            "--service-account-signing-key-file=/etc/kubernetes/pki/sa.key".into(),
            "--service-cluster-ip-range=10.96.0.0/12".into(),
            "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt".into(),
            "--tls-min-version=VersionTLS12".into(),
            "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key".into(),
        ],
        "kube-controller-manager" => vec![
            "--allocate-node-cidrs=true".into(),
            "--authentication-kubeconfig=/etc/kubernetes/controller-manager.conf".into(),
            "--authorization-kubeconfig=/etc/kubernetes/controller-manager.conf".into(),
            "--bind-address=127.0.0.1".into(),
            "--client-ca-file=/etc/kubernetes/pki/ca.crt".into(),
            "--cluster-cidr=10.244.0.0/16".into(),
            "--cluster-name=cpt".into(),
            "--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt".into(),
            "--cluster-signing-duration=72h".into(),
            "--cluster-signing-key-file=/etc/kubernetes/pki/ca.key".into(),
            "--controllers=*,bootstrapsigner,tokencleaner".into(),
            "--kubeconfig=/etc/kubernetes/controller-manager.conf".into(),
            "--leader-elect=true".into(),
            "--profiling=false".into(),
            "--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt".into(),
            "--root-ca-file=/etc/kubernetes/pki/ca.crt".into(),
            "--service-account-private-key-file=/etc/kubernetes/pki/sa.key".into(),
            "--service-cluster-ip-range=10.96.0.0/12".into(),
            "--use-service-account-credentials=true".into(),
        ],
        "kube-scheduler" => vec![
            "--authentication-kubeconfig=/etc/kubernetes/scheduler.conf".into(),
            "--authorization-kubeconfig=/etc/kubernetes/scheduler.conf".into(),
            "--bind-address=127.0.0.1".into(),
            "--kubeconfig=/etc/kubernetes/scheduler.conf".into(),
            "--leader-elect=true".into(),
            "--profiling=false".into(),
        ],
        "etcd" => {
            let mut f: Vec<String> = vec![
                format!("--advertise-client-urls=https://{address}:2379"),
                "--cert-file=/etc/kubernetes/pki/etcd/server.crt".into(),
                "--client-cert-auth=true".into(),
                "--data-dir=/var/lib/etcd".into(),
            ];
            if etcd_3_6 {
                f.push("--feature-gates=InitialCorruptCheck=true".into());
            } else {
                f.push("--experimental-initial-corrupt-check=true".into());
                f.push("--experimental-watch-progress-notify-interval=5s".into());
            }
            f.extend([
                format!("--initial-advertise-peer-urls=https://{address}:2380"),
                format!("--initial-cluster={initial_cluster}"),
                "--initial-cluster-state=new".into(),
                "--initial-cluster-token=cpt".into(),
                "--key-file=/etc/kubernetes/pki/etcd/server.key".into(),
                format!("--listen-client-urls=https://127.0.0.1:2379,https://{address}:2379"),
                "--listen-metrics-urls=http://127.0.0.1:2381".into(),
                format!("--listen-peer-urls=https://{address}:2380"),
                format!("--name={name}"),
                "--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt".into(),
                "--peer-client-cert-auth=true".into(),
                "--peer-key-file=/etc/kubernetes/pki/etcd/peer.key".into(),
                "--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt".into(),
                "--snapshot-count=10000".into(),
                "--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt".into(),
            ]);
            if etcd_3_6 {
                f.push("--watch-progress-notify-interval=5s".into());
            }
            f
        }
        other => panic!("no pod {other}"),
    };
    std::iter::once(pod.to_string()).chain(flags).collect()
}

/// Where the node bundle puts the rendered file that lives at `host` on
/// controller `c` (README, "The output directory"); `None` for state the
/// node creates (etcd's data directory).
fn rendered_source(host: &str, c: &str) -> Option<String> {
    if host == "/var/lib/etcd" {
        return None;
    }
    let rel = host
        .strip_prefix("/etc/kubernetes/")
        .unwrap_or_else(|| panic!("{host} is not under /etc/kubernetes"));
    Some(if let Some(pki) = rel.strip_prefix("pki/") {
        match pki {
            "etcd/server.crt" | "etcd/server.key" | "etcd/peer.crt" | "etcd/peer.key" => {
                format!("pki/etcd/{c}/{}", &pki["etcd/".len()..])
            }
            _ => format!("pki/{pki}"),
        }
    } else if rel.ends_with(".conf") {
        format!("kubeconfig/{rel}")
    } else {
        format!("control-plane/{c}/{rel}")
    })
}

/// Every absolute path a flag names.
fn referenced_paths(pod: &Value) -> Vec<String> {
    flags_of(pod)
        .iter()
        .filter_map(|f| f.split_once('=').map(|(_, v)| v.to_string()))
        .flat_map(|v| v.split(',').map(str::to_string).collect::<Vec<_>>())
        .filter(|v| v.starts_with('/'))
        .collect()
}

fn check_volumes(pod: &Value, c: &str, out: &Path, what: &str) {
    let spec = &pod["spec"];
    let mounts = spec["containers"][0]["volumeMounts"].as_array().unwrap();
    let volumes = spec["volumes"].as_array().unwrap();
    let mount_names: BTreeSet<&str> = mounts.iter().map(|m| m["name"].as_str().unwrap()).collect();
    let volume_names: BTreeSet<&str> = volumes
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        mount_names, volume_names,
        "{what}: every volume mounted, every mount a volume"
    );
    for m in mounts {
        let name = m["name"].as_str().unwrap();
        let mount_path = m["mountPath"].as_str().unwrap();
        let volume = volumes.iter().find(|v| v["name"] == name).unwrap();
        assert_eq!(
            volume["hostPath"]["path"].as_str(),
            Some(mount_path),
            "{what}: {name} must show the host path at the same path"
        );
        // Only etcd's data directory is writable.
        assert_eq!(
            m["readOnly"].as_bool().unwrap_or(false),
            mount_path != "/var/lib/etcd",
            "{what}: {name} readOnly"
        );
    }
    for path in referenced_paths(pod) {
        let covered = mounts.iter().any(|m| {
            let mp = m["mountPath"].as_str().unwrap();
            path == mp || path.starts_with(&format!("{mp}/"))
        });
        assert!(covered, "{what}: {path} is named by a flag but not mounted");
        if let Some(src) = rendered_source(&path, c) {
            assert!(
                out.join(&src).is_file(),
                "{what}: {path} comes from {src}, which was not rendered"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tests

#[test]
fn static_pods_decode_as_pods_with_exactly_the_expected_fields() {
    let k = Kubectl::find();
    let (ws, stderr) = rendered("v1.34.2", "");
    assert!(
        !stderr.contains("security."),
        "no switch warning by default: {stderr}"
    );
    for (c, address) in CONTROLLERS {
        for pod in PODS {
            let file = ws
                .out()
                .join(format!("control-plane/{c}/manifests/{pod}.yaml"));
            let what = format!("{c}/{pod}");
            let v = k.pod(&file);
            assert_eq!(v["apiVersion"], "v1", "{what}");
            assert_eq!(v["kind"], "Pod", "{what}");
            assert_eq!(v["metadata"]["name"], pod, "{what}");
            assert_eq!(v["metadata"]["namespace"], "kube-system", "{what}");
            assert_eq!(v["metadata"]["labels"]["component"], pod, "{what}");
            assert_eq!(v["metadata"]["labels"]["tier"], "control-plane", "{what}");
            let spec = &v["spec"];
            assert_eq!(spec["hostNetwork"], true, "{what}");
            assert_eq!(spec["priorityClassName"], "system-node-critical", "{what}");
            assert_eq!(spec["priority"], 2000001000, "{what}");
            assert_eq!(
                spec["securityContext"]["seccompProfile"]["type"],
                "RuntimeDefault"
            );
            let containers = spec["containers"].as_array().unwrap();
            assert_eq!(containers.len(), 1, "{what}");
            let ctr = &containers[0];
            assert_eq!(ctr["name"], pod, "{what}");
            let image = if pod == "etcd" {
                "registry.k8s.io/etcd:3.6.11-0".to_string()
            } else {
                format!("registry.k8s.io/{pod}:v1.34.2")
            };
            assert_eq!(ctr["image"], image.as_str(), "{what}");
            assert_eq!(
                command(&v),
                expected_command(pod, c, address, true),
                "{what}"
            );

            // Probes like kubeadm's: where, and which ones.
            let (host, port, scheme, live, ready) = match pod {
                "kube-apiserver" => (address, 6443, "HTTPS", "/livez", Some("/readyz")),
                "kube-controller-manager" => ("127.0.0.1", 10257, "HTTPS", "/healthz", None),
                "kube-scheduler" => ("127.0.0.1", 10259, "HTTPS", "/healthz", None),
                _ => ("127.0.0.1", 2381, "HTTP", "/livez", Some("/readyz")),
            };
            let probe = |name: &str, path: &str| {
                let g = &ctr[name]["httpGet"];
                assert_eq!(
                    (
                        g["host"].as_str(),
                        g["port"].as_i64(),
                        g["scheme"].as_str(),
                        g["path"].as_str()
                    ),
                    (Some(host), Some(port), Some(scheme), Some(path)),
                    "{what} {name}"
                );
            };
            probe("livenessProbe", live);
            probe("startupProbe", if pod == "etcd" { "/readyz" } else { live });
            match ready {
                Some(path) => probe("readinessProbe", path),
                None => assert!(ctr.get("readinessProbe").is_none(), "{what}"),
            }
            check_volumes(&v, c, &ws.out(), &what);
        }
    }
    // etcd's annotation and kube-apiserver's, as kubeadm writes them.
    let v = k.pod(&ws.out().join("control-plane/cp-b/manifests/etcd.yaml"));
    assert_eq!(
        v["metadata"]["annotations"]["kubeadm.kubernetes.io/etcd.advertise-client-urls"],
        "https://127.83.0.12:2379"
    );
    let v = k.pod(
        &ws.out()
            .join("control-plane/cp-b/manifests/kube-apiserver.yaml"),
    );
    assert_eq!(
        v["metadata"]["annotations"]
            ["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"],
        "127.83.0.12:6443"
    );
}

#[test]
fn configs_parse_and_say_exactly_what_they_should() {
    let k = Kubectl::find();
    let (ws, _) = rendered("v1.34.2", "");
    let index: Value = serde_json::from_str(&ws.read("index.json")).unwrap();
    let entry = |path: &str| {
        index["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("{path} not in index.json"))
            .clone()
    };
    let expected_key = base64::engine::general_purpose::STANDARD.encode(
        kubeseed::derive::Seed::from_hex(SEED)
            .unwrap()
            .encryption_key(1)
            .as_slice(),
    );
    for (c, _) in CONTROLLERS {
        let auth = k.parse(
            &ws.out()
                .join(format!("control-plane/{c}/authentication-config.yaml")),
        );
        assert_eq!(
            auth,
            serde_json::json!({
                "apiVersion": "apiserver.config.k8s.io/v1",
                "kind": "AuthenticationConfiguration",
                "anonymous": {
                    "enabled": true,
                    "conditions": [
                        {"path": "/livez"},
                        {"path": "/readyz"},
                        {"path": "/healthz"},
                        {"path": "/api/v1/namespaces/kube-public/configmaps/cluster-info"},
                    ]
                }
            }),
            "{c}"
        );
        let enc_path = format!("control-plane/{c}/encryption-config.yaml");
        let enc = k.parse(&ws.out().join(&enc_path));
        assert_eq!(
            enc,
            serde_json::json!({
                "apiVersion": "apiserver.config.k8s.io/v1",
                "kind": "EncryptionConfiguration",
                "resources": [{
                    "resources": ["secrets"],
                    "providers": [
                        {"secretbox": {"keys": [{"name": "key-1", "secret": expected_key}]}},
                        {"identity": {}},
                    ]
                }]
            }),
            "{c}"
        );
        // Secret: 0600 on disk and in index.json, and never printed.
        let mode = fs::metadata(ws.out().join(&enc_path))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{enc_path}");
        assert_eq!(entry(&enc_path)["secret"], true);
        assert_eq!(entry(&enc_path)["kind"], "config");
        assert_eq!(
            entry(&format!("control-plane/{c}/manifests/etcd.yaml"))["kind"],
            "static-pod"
        );
        assert_eq!(
            entry(&format!("control-plane/{c}/authentication-config.yaml"))["secret"],
            false
        );
    }
    assert_eq!(entry("config/10-kubeseed.conf")["kind"], "config");
    assert_eq!(entry("config/10-kubeseed.conf")["secret"], false);
}

/// systemd itself reads the drop-in over a stock kubelet unit and accepts it:
/// no unknown key, and its `ExecStart=` reset works (a second ExecStart would
/// be an error for a simple service). Only the kubelet binary's path is
/// pointed at an executable that exists here.
#[test]
fn systemd_accepts_the_kubelet_drop_in() {
    let (ws, _) = rendered("v1.34.2", "");
    let text = ws.read("config/10-kubeseed.conf");
    for want in [
        "ExecStart=\n",
        "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf",
        "--kubeconfig=/etc/kubernetes/kubelet.conf",
        "--config=/var/lib/kubelet/config.yaml",
        "EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env",
        "EnvironmentFile=-/etc/default/kubelet",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    // The bootstrap kubeconfig it names is rendered.
    assert!(ws.out().join("kubeconfig/bootstrap-kubelet.conf").is_file());

    let analyze = common::tool("systemd-analyze");
    let units = tempfile::tempdir().unwrap();
    let dropins = units.path().join("kubelet.service.d");
    fs::create_dir(&dropins).unwrap();
    let kubelet = units.path().join("kubelet");
    fs::write(&kubelet, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(&kubelet, fs::Permissions::from_mode(0o755)).unwrap();
    // The unit the kubelet packages install, with an ExecStart the drop-in must replace.
    fs::write(
        units.path().join("kubelet.service"),
        format!(
            "[Unit]\nDescription=kubelet\n[Service]\nExecStart={} --base\nRestart=always\n[Install]\nWantedBy=multi-user.target\n",
            kubelet.display()
        ),
    )
    .unwrap();
    // `systemd-analyze verify` of the unit with the drop-ins written so far: whether it
    // passed, and everything it said.
    let verify = || {
        let out = Command::new(&analyze)
            .args(["verify", "--man=no"])
            .arg(units.path().join("kubelet.service"))
            .env("SYSTEMD_UNIT_PATH", format!("{}:", units.path().display()))
            .env("SYSTEMD_LOG_LEVEL", "info")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), said)
    };
    fs::write(
        dropins.join("10-kubeseed.conf"),
        text.replace("/usr/bin/kubelet", &kubelet.display().to_string()),
    )
    .unwrap();
    let (ok, said) = verify();
    assert!(
        ok && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );

    // With a labelled, tainted pool: its own drop-in beside the shared one, which now
    // passes $KUBELET_NODE_ARGS.
    let labelled = Workspace::new(&format!(
        "{}\n[[node_pools]]\nname = \"gpu\"\nlabels = {{ \"example.com/gpu\" = \"a100\" }}\ntaints = [\"example.com/gpu=true:NoSchedule\"]\n",
        fixture("v1.34.2", "")
    ));
    labelled.render(&[]);
    let shared = labelled.read("config/10-kubeseed.conf");
    assert!(shared.contains("$KUBELET_NODE_ARGS"), "{shared}");
    assert!(!text.contains("$KUBELET_NODE_ARGS"), "{text}");
    fs::write(
        dropins.join("10-kubeseed.conf"),
        shared.replace("/usr/bin/kubelet", &kubelet.display().to_string()),
    )
    .unwrap();
    fs::write(
        dropins.join("20-kubeseed-node.conf"),
        labelled.read("config/nodes/gpu/20-kubeseed-node.conf"),
    )
    .unwrap();
    let (ok, said) = verify();
    assert!(
        ok && said.trim().is_empty(),
        "systemd-analyze verify with the node drop-in: {said}"
    );
    fs::remove_file(dropins.join("20-kubeseed-node.conf")).unwrap();

    // The check is real: an unknown key in the drop-in is reported.
    fs::write(
        dropins.join("10-kubeseed.conf"),
        format!("{text}\nNoSuchKey=1\n"),
    )
    .unwrap();
    let (_, said) = verify();
    assert!(said.contains("NoSuchKey"), "{said}");
}

/// Files whose change is another stage's business (cluster manifests, node
/// bundles): everything but the PKI, the kubeconfigs, this stage's files and
/// index.json. Those must change exactly as listed.
fn owned(path: &str) -> bool {
    path.starts_with("pki/")
        || path.starts_with("kubeconfig/")
        || path.starts_with("control-plane/")
        || path == "config/10-kubeseed.conf"
        || path == "index.json"
}

struct Diff {
    changed: BTreeSet<String>,
    added: BTreeSet<String>,
    removed: BTreeSet<String>,
}

fn diff(a: &Path, b: &Path) -> Diff {
    let (ta, tb) = (tree(a), tree(b));
    let keys = |t: &BTreeMap<String, String>| {
        t.keys()
            .filter(|p| owned(p))
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    let (ka, kb) = (keys(&ta), keys(&tb));
    Diff {
        changed: ka
            .intersection(&kb)
            .filter(|p| ta[*p] != tb[*p])
            .cloned()
            .collect(),
        added: kb.difference(&ka).cloned().collect(),
        removed: ka.difference(&kb).cloned().collect(),
    }
}

fn per_controller(file: &str) -> BTreeSet<String> {
    CONTROLLERS
        .iter()
        .map(|(c, _)| format!("control-plane/{c}/{file}"))
        .collect()
}

fn with_index(mut s: BTreeSet<String>) -> BTreeSet<String> {
    s.insert("index.json".into());
    s
}

/// Flags only in `a`, flags only in `b`, of one pod on cp-a.
fn flag_diff(k: &Kubectl, a: &Path, b: &Path, pod: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let file = format!("control-plane/cp-a/manifests/{pod}.yaml");
    let (fa, fb) = (
        flags_of(&k.pod(&a.join(&file))),
        flags_of(&k.pod(&b.join(&file))),
    );
    (
        fa.difference(&fb).cloned().collect(),
        fb.difference(&fa).cloned().collect(),
    )
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn each_switch_changes_exactly_what_it_should() {
    let k = Kubectl::find();
    let (base, base_stderr) = rendered("v1.34.2", "");
    let b = base.out();
    let none = BTreeSet::new();

    // encryption_at_rest = false: no EncryptionConfiguration, no flag, no volume.
    let (ws, _) = rendered("v1.34.2", "encryption_at_rest = false");
    let d = diff(&b, &ws.out());
    assert_eq!(
        d.changed,
        with_index(per_controller("manifests/kube-apiserver.yaml"))
    );
    assert_eq!(d.removed, per_controller("encryption-config.yaml"));
    assert_eq!(d.added, none);
    assert_eq!(
        flag_diff(&k, &b, &ws.out(), "kube-apiserver"),
        (
            set(&["--encryption-provider-config=/etc/kubernetes/encryption-config.yaml"]),
            none.clone()
        )
    );
    let pod = k.pod(
        &ws.out()
            .join("control-plane/cp-a/manifests/kube-apiserver.yaml"),
    );
    assert!(
        !pod.to_string().contains("encryption-config"),
        "volume left behind"
    );

    // node_restriction = false: RBAC only, no NodeRestriction, and a warning.
    let (ws, stderr) = rendered("v1.34.2", "node_restriction = false");
    let d = diff(&b, &ws.out());
    assert_eq!(
        d.changed,
        with_index(per_controller("manifests/kube-apiserver.yaml"))
    );
    assert_eq!((&d.added, &d.removed), (&none, &none));
    assert_eq!(
        flag_diff(&k, &b, &ws.out(), "kube-apiserver"),
        (
            set(&[
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction"
            ]),
            set(&["--authorization-mode=RBAC"])
        )
    );
    assert!(
        stderr.contains("warning: security.node_restriction = false"),
        "{stderr}"
    );
    assert!(!base_stderr.contains("node_restriction"));

    // verify_kubelet_serving = true: the kubelet CA flag, and a warning about approving CSRs.
    let (ws, stderr) = rendered("v1.34.2", "verify_kubelet_serving = true");
    let d = diff(&b, &ws.out());
    assert_eq!(
        d.changed,
        with_index(per_controller("manifests/kube-apiserver.yaml"))
    );
    assert_eq!((&d.added, &d.removed), (&none, &none));
    assert_eq!(
        flag_diff(&k, &b, &ws.out(), "kube-apiserver"),
        (
            none.clone(),
            set(&["--kubelet-certificate-authority=/etc/kubernetes/pki/ca.crt"])
        )
    );
    assert!(
        stderr.contains("warning: security.verify_kubelet_serving = true"),
        "{stderr}"
    );
    assert!(
        stderr.contains("kubelet-serving CSRs need an approver"),
        "{stderr}"
    );

    // anonymous_discovery = false: cluster-info is no longer anonymous; health paths stay.
    let (ws, _) = rendered("v1.34.2", "anonymous_discovery = false");
    let d = diff(&b, &ws.out());
    assert_eq!(
        d.changed,
        with_index(per_controller("authentication-config.yaml"))
    );
    assert_eq!((&d.added, &d.removed), (&none, &none));
    let auth = k.parse(
        &ws.out()
            .join("control-plane/cp-a/authentication-config.yaml"),
    );
    assert_eq!(
        auth["anonymous"]["conditions"],
        serde_json::json!([{"path": "/livez"}, {"path": "/readyz"}, {"path": "/healthz"}])
    );

    // kubelet_signing_duration: only kube-controller-manager's signing duration.
    let (ws, _) = rendered("v1.34.2", "kubelet_signing_duration = \"24h\"");
    let d = diff(&b, &ws.out());
    assert_eq!(
        d.changed,
        with_index(per_controller("manifests/kube-controller-manager.yaml"))
    );
    assert_eq!((&d.added, &d.removed), (&none, &none));
    assert_eq!(
        flag_diff(&k, &b, &ws.out(), "kube-controller-manager"),
        (
            set(&["--cluster-signing-duration=72h"]),
            set(&["--cluster-signing-duration=24h"])
        )
    );

    // kubernetes_version 1.34 → 1.33: every image, etcd 3.5 and its flags,
    // AuthenticationConfiguration v1beta1; no flag of the other components.
    let (ws, _) = rendered("v1.33.4", "");
    let d = diff(&b, &ws.out());
    let mut expected = per_controller("authentication-config.yaml");
    for pod in PODS {
        expected.extend(per_controller(&format!("manifests/{pod}.yaml")));
    }
    assert_eq!(d.changed, with_index(expected));
    assert_eq!((&d.added, &d.removed), (&none, &none));
    for pod in [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        assert_eq!(
            flag_diff(&k, &b, &ws.out(), pod),
            (none.clone(), none.clone()),
            "{pod}"
        );
        let v = k.pod(
            &ws.out()
                .join(format!("control-plane/cp-a/manifests/{pod}.yaml")),
        );
        assert_eq!(
            v["spec"]["containers"][0]["image"],
            format!("registry.k8s.io/{pod}:v1.33.4")
        );
    }
    assert_eq!(
        flag_diff(&k, &b, &ws.out(), "etcd"),
        (
            set(&[
                "--feature-gates=InitialCorruptCheck=true",
                "--watch-progress-notify-interval=5s"
            ]),
            set(&[
                "--experimental-initial-corrupt-check=true",
                "--experimental-watch-progress-notify-interval=5s"
            ])
        )
    );
    let v = k.pod(&ws.out().join("control-plane/cp-a/manifests/etcd.yaml"));
    assert_eq!(
        v["spec"]["containers"][0]["image"],
        "registry.k8s.io/etcd:3.5.24-0"
    );
    assert_eq!(
        command(&v),
        expected_command("etcd", "cp-a", "127.83.0.11", false)
    );
    let auth = k.parse(
        &ws.out()
            .join("control-plane/cp-a/authentication-config.yaml"),
    );
    assert_eq!(auth["apiVersion"], "apiserver.config.k8s.io/v1beta1");

    // image_repository moves every image, and kubeadm's imageRepository, and nothing else.
    let mirror = "mirror.example.com:5000/k8s";
    let ws = Workspace::new(&fixture("v1.34.2", "").replace(
        "[cluster]\n",
        &format!("[cluster]\nimage_repository = \"{mirror}\"\n"),
    ));
    ws.render(&[]);
    let d = diff(&b, &ws.out());
    let mut moved = BTreeSet::new();
    for pod in PODS {
        moved.extend(per_controller(&format!("manifests/{pod}.yaml")));
        let before = k.pod(&b.join(format!("control-plane/cp-a/manifests/{pod}.yaml")));
        let after = k.pod(
            &ws.out()
                .join(format!("control-plane/cp-a/manifests/{pod}.yaml")),
        );
        let image = before["spec"]["containers"][0]["image"].as_str().unwrap();
        let tail = image.strip_prefix("registry.k8s.io/").unwrap();
        assert_eq!(
            after["spec"]["containers"][0]["image"],
            format!("{mirror}/{tail}")
        );
        assert_eq!(flags_of(&before), flags_of(&after), "{pod}");
    }
    assert_eq!(d.changed, with_index(moved));
    assert_eq!((&d.added, &d.removed), (&none, &none));
    let config = ws.read("manifests/kubeadm-config-configmap.yaml");
    assert!(
        config.contains(&format!("imageRepository: {mirror}\n")),
        "{config}"
    );
    assert!(base
        .read("manifests/kubeadm-config-configmap.yaml")
        .contains("imageRepository: registry.k8s.io\n"));

    // Bumping the encryption generation changes only the encryption key.
    let ws = Workspace::new(&fixture("v1.34.2", "").replace(
        "[bootstrap_token]",
        "[pki.generations]\nencryption = 2\n[bootstrap_token]",
    ));
    ws.render(&[]);
    let d = diff(&b, &ws.out());
    assert_eq!(
        d.changed,
        with_index(per_controller("encryption-config.yaml"))
    );
    assert_eq!((&d.added, &d.removed), (&none, &none));
    assert!(ws
        .read("control-plane/cp-a/encryption-config.yaml")
        .contains("name: key-2"));
}

// ---------------------------------------------------------------------------------------
// etcd

/// A free TCP port on 127.0.0.1 (nothing is bound to it when this returns;
/// good enough for a test that binds it right away).
fn free_port() -> u16 {
    TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Members(Vec<(String, Child, PathBuf)>);

impl Drop for Members {
    fn drop(&mut self) {
        for (_, child, _) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Members {
    fn logs(&self) -> String {
        self.0
            .iter()
            .map(|(name, _, log)| {
                let text = fs::read_to_string(log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                format!(
                    "--- {name} ---\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The rendered etcd flags run a real three-member cluster with client and
/// peer mTLS on loopback. Debian's etcd is 3.4, which knows the flags
/// kubeseed renders for etcd 3.5 (Kubernetes 1.32 and 1.33), not 3.6's
/// feature gates, so this renders for 1.33. What is rewritten, and only
/// that: the on-host paths (certificates → this output directory, data
/// directory → a temporary one) and the two listeners on 127.0.0.1 (every
/// member would take the same port there; on real nodes they do not share a
/// loopback). Every other flag is passed as rendered.
#[test]
fn real_etcd_cluster_runs_with_the_rendered_flags() {
    let k = Kubectl::find();
    let (etcd, etcdctl) = (common::etcd(), common::etcdctl());
    // Held until the members are dead (declared before them, so dropped
    // after): every etcd test on this machine takes turns.
    let _lock = common::MachineLock::acquire("etcd-ports", Duration::from_secs(300));
    for (_, address) in CONTROLLERS {
        for port in [2379, 2380] {
            let addr: SocketAddrV4 = format!("{address}:{port}").parse().unwrap();
            drop(TcpListener::bind(addr).unwrap_or_else(|e| panic!("{addr} is taken: {e}")));
        }
    }
    let (ws, _) = rendered("v1.33.4", "");
    let out = ws.out();
    let mut members = Members(Vec::new());
    for (c, _) in CONTROLLERS {
        let pod = k.pod(&out.join(format!("control-plane/{c}/manifests/etcd.yaml")));
        let cmd = command(&pod);
        assert_eq!(cmd[0], "etcd");
        let data = ws.path().join(format!("{c}-data"));
        fs::create_dir(&data).unwrap();
        fs::set_permissions(&data, fs::Permissions::from_mode(0o700)).unwrap();
        let (client, metrics) = (free_port(), free_port());
        let args: Vec<String> = cmd[1..]
            .iter()
            .map(|a| {
                a.replace(
                    "/etc/kubernetes/pki/etcd/ca.crt",
                    &out.join("pki/etcd/ca.crt").display().to_string(),
                )
                .replace(
                    "/etc/kubernetes/pki/etcd/",
                    &format!("{}/", out.join(format!("pki/etcd/{c}")).display()),
                )
                .replace("/var/lib/etcd", &data.display().to_string())
                .replace(
                    "https://127.0.0.1:2379",
                    &format!("https://127.0.0.1:{client}"),
                )
                .replace(
                    "http://127.0.0.1:2381",
                    &format!("http://127.0.0.1:{metrics}"),
                )
            })
            .collect();
        assert!(
            args.iter().all(|a| !a.contains("/etc/kubernetes")),
            "a path was not rewritten: {args:?}"
        );
        let log = ws.path().join(format!("{c}.log"));
        let child = Command::new(&etcd)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&log).unwrap())
            .stderr(fs::File::create(ws.path().join(format!("{c}.err"))).unwrap())
            .spawn()
            .unwrap();
        members
            .0
            .push((c.to_string(), child, ws.path().join(format!("{c}.err"))));
    }

    let endpoints = CONTROLLERS
        .iter()
        .map(|(_, a)| format!("https://{a}:2379"))
        .collect::<Vec<_>>()
        .join(",");
    let ctl = |client: &str, args: &[&str]| {
        Command::new(&etcdctl)
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoints}"))
            .arg(format!(
                "--cacert={}",
                out.join("pki/etcd/ca.crt").display()
            ))
            .arg(format!(
                "--cert={}",
                out.join(format!("pki/{client}.crt")).display()
            ))
            .arg(format!(
                "--key={}",
                out.join(format!("pki/{client}.key")).display()
            ))
            .arg("--command-timeout=5s")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let start = Instant::now();
    loop {
        let exited: Vec<String> = members
            .0
            .iter_mut()
            .filter_map(|(name, child, _)| match child.try_wait() {
                Ok(Some(status)) => Some(format!("{name} ({status})")),
                _ => None,
            })
            .collect();
        assert!(
            exited.is_empty(),
            "etcd exited on the rendered flags: {exited:?}\n{}",
            members.logs()
        );
        let health = ctl("etcd/healthcheck-client", &["endpoint", "health"]);
        if health.status.success() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "etcd never became healthy: {}{}\n{}",
            String::from_utf8_lossy(&health.stdout),
            String::from_utf8_lossy(&health.stderr),
            members.logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // kube-apiserver's etcd client writes through the members and reads back.
    let put = ctl("apiserver-etcd-client", &["put", "/kubeseed/test", "ok"]);
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let get = ctl(
        "apiserver-etcd-client",
        &["get", "/kubeseed/test", "--print-value-only"],
    );
    assert_eq!(String::from_utf8_lossy(&get.stdout).trim(), "ok");
    let list = ctl("apiserver-etcd-client", &["member", "list"]);
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    for (c, a) in CONTROLLERS {
        assert!(
            listed.contains(&format!(", {c}, https://{a}:2380, ")),
            "{c} missing from the member list: {listed}"
        );
    }
    // The corrupt check and the progress-notify interval were taken, not ignored.
    let log = fs::read_to_string(&members.0[0].2).unwrap();
    assert!(!log.contains("flag provided but not defined"), "{log}");
}

// ---------------------------------------------------------------------------------------
// render --templates

fn embedded(id: &str) -> String {
    fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("templates")
            .join(id),
    )
    .unwrap()
}

#[test]
fn a_template_override_takes_effect_and_changes_nothing_else() {
    let ws = Workspace::new(&fixture("v1.34.2", ""));
    ws.render(&[]);
    let before = tree(&ws.out());
    let dir = ws.path().join("overrides");
    fs::create_dir_all(dir.join("static-pods")).unwrap();
    let etcd = embedded("static-pods/etcd.yaml");
    assert!(etcd.contains("--snapshot-count=10000"));
    fs::write(
        dir.join("static-pods/etcd.yaml"),
        etcd.replace("--snapshot-count=10000", "--snapshot-count=25000"),
    )
    .unwrap();
    ws.render(&["--templates", dir.to_str().unwrap()]);
    let after = tree(&ws.out());
    let changed: BTreeSet<&String> = before.keys().filter(|p| before[*p] != after[*p]).collect();
    let mut expected: BTreeSet<String> = per_controller("manifests/etcd.yaml");
    expected.insert("index.json".into());
    // Each controller's node bundle carries its static pod, and the bundle files embed it.
    for (c, _) in CONTROLLERS {
        expected.insert(format!(
            "nodes/{c}/rootfs/etc/kubernetes/manifests/etcd.yaml"
        ));
        for f in ["cloud-config.yaml", "ignition.json", "rootfs.tar"] {
            expected.insert(format!("nodes/{c}/{f}"));
        }
    }
    assert_eq!(changed, expected.iter().collect());
    assert_eq!(before.len(), after.len());
    for (c, _) in CONTROLLERS {
        let text = ws.read(&format!("control-plane/{c}/manifests/etcd.yaml"));
        assert!(
            text.contains("--snapshot-count=25000") && !text.contains("--snapshot-count=10000")
        );
    }
}

/// `--out` is walked while the render runs: a file its index.json does not list is the
/// error, as when the walk ran first, even when the render fails too.
#[test]
fn an_unlisted_file_is_reported_before_a_failed_render() {
    let ws = Workspace::new(&fixture("v1.34.2", ""));
    ws.render(&[]);
    fs::write(ws.out().join("stray.txt"), "mine").unwrap();
    let before = tree(&ws.out());
    let dir = ws.path().join("undefined");
    fs::create_dir_all(dir.join("static-pods")).unwrap();
    fs::write(
        dir.join("static-pods/kube-scheduler.yaml"),
        "name: {{ controller.addres }}\n",
    )
    .unwrap();
    let stderr = fails_cleanly(&ws, &dir, &before);
    assert!(
        stderr.contains("it contains \"stray.txt\", which its index.json does not list"),
        "{stderr}"
    );
    assert!(!stderr.contains("is undefined"), "{stderr}");
    // The control: without the stray file, the same override is the error.
    fs::remove_file(ws.out().join("stray.txt")).unwrap();
    let before = tree(&ws.out());
    let stderr = fails_cleanly(&ws, &dir, &before);
    assert!(
        stderr.contains("`controller.addres` is undefined"),
        "{stderr}"
    );
}

/// A failed render with `--templates`: exit 1, the message on stderr, no
/// panic, and the previous output byte for byte as it was.
fn fails_cleanly(ws: &Workspace, dir: &Path, before: &BTreeMap<String, String>) -> String {
    let out = ws.run(&["--templates", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    assert!(stderr.lines().any(|l| l.starts_with("error: ")), "{stderr}");
    assert_eq!(&tree(&ws.out()), before, "the previous output changed");
    stderr
}

#[test]
fn a_bad_template_override_fails_naming_the_file() {
    let ws = Workspace::new(&fixture("v1.34.2", ""));
    ws.render(&[]);
    let before = tree(&ws.out());

    // An undefined variable: the file and the variable are named.
    let dir = ws.path().join("undefined");
    fs::create_dir_all(dir.join("static-pods")).unwrap();
    let file = dir.join("static-pods/kube-scheduler.yaml");
    fs::write(
        &file,
        embedded("static-pods/kube-scheduler.yaml")
            .replace("{{ kubernetes_version }}", "{{ kubernetes_verison }}"),
    )
    .unwrap();
    let stderr = fails_cleanly(&ws, &dir, &before);
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
    assert!(
        stderr.contains("`kubernetes_verison` is undefined"),
        "{stderr}"
    );
    assert!(stderr.contains("line "), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");

    // An attribute that does not exist.
    fs::write(&file, "name: {{ controller.addres }}\n").unwrap();
    let stderr = fails_cleanly(&ws, &dir, &before);
    assert!(
        stderr.contains("`controller.addres` is undefined"),
        "{stderr}"
    );

    // A file that overrides nothing (a typo in its name).
    let dir = ws.path().join("typo");
    fs::create_dir_all(dir.join("static-pods")).unwrap();
    let typo = dir.join("static-pods/etcd.yml");
    fs::write(&typo, embedded("static-pods/etcd.yaml")).unwrap();
    let stderr = fails_cleanly(&ws, &dir, &before);
    assert!(stderr.contains(&typo.display().to_string()), "{stderr}");
    assert!(
        stderr.contains("has no template static-pods/etcd.yml"),
        "{stderr}"
    );
    assert!(
        stderr.contains("static-pods/etcd.yaml"),
        "the hint lists the real names: {stderr}"
    );

    // A syntax error.
    let dir = ws.path().join("syntax");
    fs::create_dir_all(dir.join("static-pods")).unwrap();
    let broken = dir.join("static-pods/etcd.yaml");
    fs::write(&broken, "{% if etcd.v3_6 %}\n").unwrap();
    let stderr = fails_cleanly(&ws, &dir, &before);
    assert!(stderr.contains(&broken.display().to_string()), "{stderr}");
    assert!(stderr.contains("syntax error"), "{stderr}");

    // Not a directory.
    let stderr = fails_cleanly(&ws, &ws.path().join("cluster.toml"), &before);
    assert!(stderr.contains("is not a directory"), "{stderr}");
}

#[test]
fn template_overrides_may_be_links_to_files_but_not_to_directories() {
    let ws = Workspace::new(&fixture("v1.34.2", ""));
    ws.render(&[]);
    let before = tree(&ws.out());
    let dir = ws.path().join("linked");
    fs::create_dir_all(dir.join("static-pods")).unwrap();
    let real = ws.path().join("scheduler.yaml");
    fs::write(
        &real,
        embedded("static-pods/kube-scheduler.yaml")
            .replace("--leader-elect=true", "--leader-elect=false"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&real, dir.join("static-pods/kube-scheduler.yaml")).unwrap();
    ws.render(&["--templates", dir.to_str().unwrap()]);
    assert!(ws
        .read("control-plane/cp-a/manifests/kube-scheduler.yaml")
        .contains("--leader-elect=false"));

    // A directory that links back to itself would never end: refused.
    std::os::unix::fs::symlink(&dir, dir.join("static-pods/loop")).unwrap();
    let after = tree(&ws.out());
    assert_ne!(after, before);
    let stderr = fails_cleanly(&ws, &dir, &after);
    assert!(stderr.contains("static-pods/loop"), "{stderr}");
    assert!(stderr.contains("symbolic link to a directory"), "{stderr}");
}
