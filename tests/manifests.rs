//! The cluster manifests, checked by independent tools:
//!
//! - the real kubectl parses every manifest (`create --dry-run=client
//!   --validate=false -o json`), offline: its only server is
//!   `https://127.0.0.1:1`, where nothing listens, and the API discovery it
//!   needs to map kinds to resources is pre-seeded in its cache directory;
//!   assertions run on the JSON it prints;
//! - Python's standard library recomputes the cluster-info JWS over the
//!   kubeconfig string as kubectl's YAML parser read it, with the token
//!   decoded from the Secret as kubectl read it;
//! - each spec switch changes exactly the files and values it should.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

const SEED: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

/// Every switch at its hardened default, written out so tests can flip one.
/// The spec every test starts from: one controller, every manifest switch explicit.
fn base() -> String {
    common::Spec::new("mf")
        .api_server("https://api.mf.example.com:6443")
        .cluster(
            "service_cidr = \"10.32.0.0/16\"\npod_cidr = \"10.200.0.0/16\"\n\
             dns_domain = \"mf.local\"",
        )
        .pki("extra_sans = [\"10.1.2.3\"]")
        .token(
            "expires = \"2026-01-02T03:04:05Z\"\nusages = [\"authentication\", \"signing\"]\n\
             extra_groups = [\"system:bootstrappers:kubeadm:default-node-token\"]\n\
             description = \"manifest tests\"",
        )
        .security(
            "auto_approve_node_csrs = true\nanonymous_discovery = true\n\
             verify_kubelet_serving = false\nnode_restriction = true\n\
             node_self_delete = false",
        )
        .build()
}

const DEFAULT_GROUP: &str = "system:bootstrappers:kubeadm:default-node-token";

/// [`base`] with one line replaced; panics if the line is not there, so a
/// test can never silently render the base spec twice.
fn switched(from: &str, to: &str) -> String {
    let base = base();
    assert!(base.contains(from), "{from:?} is not in the base spec");
    base.replace(from, to)
}

fn render(dir: &Path, spec: &str) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    common::render_in(dir, spec, SEED)
}

/// The files of the stages before this one and of this one. Other stages
/// (static pods, node bundles) legitimately react to the same switches, so
/// they are left to their own tests.
fn owned(path: &str) -> bool {
    path.starts_with("manifests/")
        || path == "config/kubelet-config.yaml"
        || path.starts_with("pki/")
        || path.starts_with("kubeconfig/")
}

/// Which owned files differ between two renders: changed, added or removed.
fn changed(a: &Path, b: &Path) -> Vec<String> {
    differing(a, b, owned)
}

/// The files for which `keep` holds that differ between two renders, sorted.
fn differing(a: &Path, b: &Path, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let (fa, fb) = (common::hash_tree(a), common::hash_tree(b));
    let mut paths: Vec<&String> = fa.keys().chain(fb.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter(|p| keep(p) && fa.get(*p) != fb.get(*p))
        .cloned()
        .collect()
}

/// The real kubectl, unable to reach anything but a closed loopback port.
struct Kubectl {
    bin: PathBuf,
    dir: tempfile::TempDir,
}

fn kubectl_binary() -> PathBuf {
    common::kubectl().path.clone()
}

/// API discovery for the kinds the manifests use, in kubectl's disk-cache
/// format, so `create --dry-run=client` can map kinds to resources without a
/// server. The kubeadm, kubelet and kube-proxy config kinds are not served by any API
/// server; they are listed only so kubectl parses those documents too.
fn discovery() -> [(&'static str, Value); 8] {
    let group = |name: &str, version: &str| {
        let gv = if name.is_empty() {
            version.to_string()
        } else {
            format!("{name}/{version}")
        };
        json!({"name": name, "versions": [{"groupVersion": gv, "version": version}],
               "preferredVersion": {"groupVersion": gv, "version": version}})
    };
    let resources = |gv: &str, list: &[(&str, &str, bool)]| {
        let list: Vec<Value> = list
            .iter()
            .map(|(name, kind, namespaced)| {
                json!({"name": name, "singularName": "", "namespaced": namespaced,
                       "kind": kind, "verbs": ["create", "get"]})
            })
            .collect();
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list})
    };
    [
        (
            "servergroups.json",
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                group("", "v1"),
                group("rbac.authorization.k8s.io", "v1"),
                group("apps", "v1"),
                group("policy", "v1"),
                group("kubeadm.k8s.io", "v1beta4"),
                group("kubelet.config.k8s.io", "v1beta1"),
                group("kubeproxy.config.k8s.io", "v1alpha1"),
            ]}),
        ),
        (
            "v1/serverresources.json",
            resources(
                "v1",
                &[
                    ("configmaps", "ConfigMap", true),
                    ("secrets", "Secret", true),
                    ("serviceaccounts", "ServiceAccount", true),
                    ("services", "Service", true),
                ],
            ),
        ),
        (
            "apps/v1/serverresources.json",
            resources(
                "apps/v1",
                &[
                    ("daemonsets", "DaemonSet", true),
                    ("deployments", "Deployment", true),
                ],
            ),
        ),
        (
            "policy/v1/serverresources.json",
            resources(
                "policy/v1",
                &[("poddisruptionbudgets", "PodDisruptionBudget", true)],
            ),
        ),
        (
            "rbac.authorization.k8s.io/v1/serverresources.json",
            resources(
                "rbac.authorization.k8s.io/v1",
                &[
                    ("clusterrolebindings", "ClusterRoleBinding", false),
                    ("clusterroles", "ClusterRole", false),
                    ("rolebindings", "RoleBinding", true),
                    ("roles", "Role", true),
                ],
            ),
        ),
        (
            "kubeadm.k8s.io/v1beta4/serverresources.json",
            resources(
                "kubeadm.k8s.io/v1beta4",
                &[("clusterconfigurations", "ClusterConfiguration", false)],
            ),
        ),
        (
            "kubelet.config.k8s.io/v1beta1/serverresources.json",
            resources(
                "kubelet.config.k8s.io/v1beta1",
                &[("kubeletconfigurations", "KubeletConfiguration", false)],
            ),
        ),
        (
            "kubeproxy.config.k8s.io/v1alpha1/serverresources.json",
            resources(
                "kubeproxy.config.k8s.io/v1alpha1",
                &[("kubeproxyconfigurations", "KubeProxyConfiguration", false)],
            ),
        ),
    ]
}

impl Kubectl {
    fn new() -> Kubectl {
        let k = Kubectl::without_discovery();
        // kubectl's cache directory for https://127.0.0.1:1.
        let cache = k.dir.path().join("cache/discovery/127.0.0.1_1");
        for (path, doc) in discovery() {
            let path = cache.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, doc.to_string()).unwrap();
        }
        k
    }

    fn without_discovery() -> Kubectl {
        let dir = tempfile::tempdir().unwrap();
        // A token user, else kubectl prompts for a password on stdin.
        fs::write(
            dir.path().join("kubeconfig"),
            "apiVersion: v1\nkind: Config\nclusters:\n- name: loopback\n  cluster:\n    server: https://127.0.0.1:1\n\
             users:\n- name: nobody\n  user:\n    token: not-a-secret\ncontexts:\n- name: loopback\n  context:\n    cluster: loopback\n    user: nobody\n\
             current-context: loopback\n",
        )
        .unwrap();
        Kubectl {
            bin: kubectl_binary(),
            dir,
        }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(&self.bin)
            .arg("--kubeconfig")
            .arg(self.dir.path().join("kubeconfig"))
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .env_clear()
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `kubectl create --dry-run=client --validate=false -o json -f FILE`.
    fn parse(&self, file: &Path) -> Value {
        let file = file.to_str().unwrap();
        let out = self.run(&[
            "create",
            "--dry-run=client",
            "--validate=false",
            "-o",
            "json",
            "-f",
            file,
        ]);
        assert!(
            out.status.success(),
            "kubectl rejected {file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Nothing was dialled: any attempt would have failed loudly on 127.0.0.1:1.
        assert!(
            out.stderr.is_empty(),
            "kubectl on {file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// A kubeconfig as client-go loads it: `kubectl config view --raw -o json`.
    fn kubeconfig(&self, file: &Path) -> Value {
        let out = Command::new(&self.bin)
            .args(["config", "view", "--raw", "-o", "json", "--kubeconfig"])
            .arg(file)
            .env_clear()
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Every manifest of a render, parsed.
    fn manifests(&self, out: &Path) -> BTreeMap<String, Value> {
        common::hash_tree(out)
            .into_keys()
            .filter(|p| p.starts_with("manifests/"))
            .map(|p| {
                let v = self.parse(&out.join(&p));
                (p, v)
            })
            .collect()
    }
}

fn b64(s: &str) -> String {
    STANDARD.encode(s)
}

fn unb64(v: &Value) -> String {
    String::from_utf8(STANDARD.decode(v.as_str().unwrap()).unwrap()).unwrap()
}

fn subjects(obj: &Value) -> Vec<(String, String)> {
    obj["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["apiGroup"], "rbac.authorization.k8s.io", "{s}");
            (
                s["kind"].as_str().unwrap().to_string(),
                s["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn groups(names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| ("Group".to_string(), n.to_string()))
        .collect()
}

fn role_ref(obj: &Value) -> (String, String) {
    assert_eq!(obj["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
    (
        obj["roleRef"]["kind"].as_str().unwrap().to_string(),
        obj["roleRef"]["name"].as_str().unwrap().to_string(),
    )
}

/// `[{apiGroups, resources, resourceNames?, verbs}]` in a compact form.
fn rules(obj: &Value) -> Value {
    obj["rules"].clone()
}

/// The Secret's file is named for the token id, which the test seed fixes.
fn secret_file() -> &'static str {
    static PATH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let seed = kubeseed::derive::Seed::from_hex(SEED).unwrap();
        kubeseed::render::manifests::secret_path(&seed.bootstrap_token(1).unwrap().id)
    });
    PATH.as_str()
}
const CLUSTER_INFO: &str = "manifests/cluster-info-configmap.yaml";

#[test]
fn kubectl_dry_run_stays_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = render(dir.path(), &base());
    let file = out.join("manifests/get-nodes-clusterrole.yaml");
    let args = [
        "create",
        "--dry-run=client",
        "--validate=false",
        "-o",
        "json",
        "-f",
        file.to_str().unwrap(),
    ];
    // Without discovery, kubectl --dry-run=client still asks the server how
    // to map the kind: it dials 127.0.0.1:1 only, and nothing answers.
    let bare = Kubectl::without_discovery().run(&args);
    assert!(!bare.status.success());
    let err = String::from_utf8_lossy(&bare.stderr);
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(err.contains("connection refused"), "{err}");
    // With discovery in its cache it needs nothing at all.
    let seeded = Kubectl::new().run(&args);
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    assert!(seeded.stderr.is_empty());
}

#[test]
fn every_manifest_is_the_exact_object() {
    let dir = tempfile::tempdir().unwrap();
    let out = render(dir.path(), &base());
    let k = Kubectl::new();
    let m = k.manifests(&out);
    // Every file, with its kind, namespace and name.
    let identity: BTreeMap<&str, (String, String, String, String)> = m
        .iter()
        .map(|(p, v)| {
            let s = |x: &Value| x.as_str().unwrap_or("").to_string();
            (
                p.as_str(),
                (
                    s(&v["apiVersion"]),
                    s(&v["kind"]),
                    s(&v["metadata"]["namespace"]),
                    s(&v["metadata"]["name"]),
                ),
            )
        })
        .collect();
    let secret = &m[secret_file()];
    let id = unb64(&secret["data"]["token-id"]);
    let rbac = "rbac.authorization.k8s.io/v1";
    let want = |a: &str, k: &str, n: &str, name: &str| {
        (
            a.to_string(),
            k.to_string(),
            n.to_string(),
            name.to_string(),
        )
    };
    #[rustfmt::skip]
    let expected: BTreeMap<&str, _> = [
        (secret_file(), want("v1", "Secret", "kube-system", &format!("bootstrap-token-{id}"))),
        (CLUSTER_INFO, want("v1", "ConfigMap", "kube-public", "cluster-info")),
        ("manifests/bootstrap-signer-clusterinfo-role.yaml", want(rbac, "Role", "kube-public", "kubeadm:bootstrap-signer-clusterinfo")),
        ("manifests/bootstrap-signer-clusterinfo-rolebinding.yaml", want(rbac, "RoleBinding", "kube-public", "kubeadm:bootstrap-signer-clusterinfo")),
        ("manifests/kubelet-bootstrap-clusterrolebinding.yaml", want(rbac, "ClusterRoleBinding", "", "kubeadm:kubelet-bootstrap")),
        ("manifests/node-autoapprove-bootstrap-clusterrolebinding.yaml", want(rbac, "ClusterRoleBinding", "", "kubeadm:node-autoapprove-bootstrap")),
        ("manifests/node-autoapprove-certificate-rotation-clusterrolebinding.yaml", want(rbac, "ClusterRoleBinding", "", "kubeadm:node-autoapprove-certificate-rotation")),
        ("manifests/get-nodes-clusterrole.yaml", want(rbac, "ClusterRole", "", "kubeadm:get-nodes")),
        ("manifests/get-nodes-clusterrolebinding.yaml", want(rbac, "ClusterRoleBinding", "", "kubeadm:get-nodes")),
        ("manifests/cluster-admins-clusterrolebinding.yaml", want(rbac, "ClusterRoleBinding", "", "kubeadm:cluster-admins")),
        ("manifests/kubeadm-config-configmap.yaml", want("v1", "ConfigMap", "kube-system", "kubeadm-config")),
        ("manifests/nodes-kubeadm-config-role.yaml", want(rbac, "Role", "kube-system", "kubeadm:nodes-kubeadm-config")),
        ("manifests/nodes-kubeadm-config-rolebinding.yaml", want(rbac, "RoleBinding", "kube-system", "kubeadm:nodes-kubeadm-config")),
        ("manifests/kubelet-config-configmap.yaml", want("v1", "ConfigMap", "kube-system", "kubelet-config")),
        ("manifests/kubelet-config-role.yaml", want(rbac, "Role", "kube-system", "kubeadm:kubelet-config")),
        ("manifests/kubelet-config-rolebinding.yaml", want(rbac, "RoleBinding", "kube-system", "kubeadm:kubelet-config")),
    ]
    .into_iter()
    .collect();
    assert_eq!(identity, expected);

    // The Secret: type, and exactly kubeadm's keys with their values.
    assert_eq!(secret["type"], "bootstrap.kubernetes.io/token");
    let data: BTreeMap<String, String> = secret["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), unb64(v)))
        .collect();
    let token_secret = data["token-secret"].clone();
    let expect: BTreeMap<String, String> = [
        ("auth-extra-groups", DEFAULT_GROUP),
        ("description", "manifest tests"),
        ("expiration", "2026-01-02T03:04:05Z"),
        ("token-id", id.as_str()),
        ("token-secret", token_secret.as_str()),
        ("usage-bootstrap-authentication", "true"),
        ("usage-bootstrap-signing", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(data, expect);
    assert!(is_token_part(&id, 6) && is_token_part(&token_secret, 16));

    // RBAC: role references, rules and subjects, as kubeadm creates them.
    let crb = |f: &str| &m[&format!("manifests/{f}.yaml")];
    let cr = |n: &str| ("ClusterRole".to_string(), n.to_string());
    let r = |n: &str| ("Role".to_string(), n.to_string());
    let boot = groups(&[DEFAULT_GROUP]);
    let anonymous = vec![("User".to_string(), "system:anonymous".to_string())];
    #[rustfmt::skip]
    let bindings = [
        ("kubelet-bootstrap-clusterrolebinding", cr("system:node-bootstrapper"), boot.clone()),
        ("node-autoapprove-bootstrap-clusterrolebinding", cr("system:certificates.k8s.io:certificatesigningrequests:nodeclient"), boot.clone()),
        ("node-autoapprove-certificate-rotation-clusterrolebinding", cr("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"), groups(&["system:nodes"])),
        ("get-nodes-clusterrolebinding", cr("kubeadm:get-nodes"), boot.clone()),
        ("cluster-admins-clusterrolebinding", cr("cluster-admin"), groups(&["kubeadm:cluster-admins"])),
        ("nodes-kubeadm-config-rolebinding", r("kubeadm:nodes-kubeadm-config"), groups(&[DEFAULT_GROUP, "system:nodes"])),
        ("kubelet-config-rolebinding", r("kubeadm:kubelet-config"), groups(&["system:nodes", DEFAULT_GROUP])),
        ("bootstrap-signer-clusterinfo-rolebinding", r("kubeadm:bootstrap-signer-clusterinfo"), anonymous),
    ];
    for (file, reference, subj) in bindings {
        assert_eq!(role_ref(crb(file)), reference, "{file}");
        assert_eq!(subjects(crb(file)), subj, "{file}");
    }
    let get = |resource: &str, name: Option<&str>| {
        let mut rule = json!({"apiGroups": [""], "resources": [resource], "verbs": ["get"]});
        if let Some(name) = name {
            rule["resourceNames"] = json!([name]);
        }
        json!([rule])
    };
    assert_eq!(rules(crb("get-nodes-clusterrole")), get("nodes", None));
    assert_eq!(
        rules(crb("nodes-kubeadm-config-role")),
        get("configmaps", Some("kubeadm-config"))
    );
    assert_eq!(
        rules(crb("kubelet-config-role")),
        get("configmaps", Some("kubelet-config"))
    );
    assert_eq!(
        rules(crb("bootstrap-signer-clusterinfo-role")),
        get("configmaps", Some("cluster-info"))
    );

    // cluster-info: exactly kubeconfig and this token's signature.
    let ci = &m[CLUSTER_INFO]["data"];
    let keys: Vec<String> = ci.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, [format!("jws-kubeconfig-{id}"), "kubeconfig".into()]);
    // Its kubeconfig is facts §2.1's shape for client-go ≥ 1.34, byte for byte.
    let ca_pem = fs::read_to_string(out.join("pki/ca.crt")).unwrap();
    assert_eq!(
        ci["kubeconfig"].as_str().unwrap(),
        format!(
            "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    \
             server: https://api.mf.example.com:6443\n  name: \"\"\ncontexts: null\n\
             current-context: \"\"\nkind: Config\nusers: null\n",
            b64(&ca_pem)
        )
    );
    // client-go loads it: one cluster named "", the server, our CA, no credentials.
    let kc_file = dir.path().join("cluster-info.kubeconfig");
    fs::write(&kc_file, ci["kubeconfig"].as_str().unwrap()).unwrap();
    let kc = k.kubeconfig(&kc_file);
    assert_eq!(kc["clusters"][0]["name"], "");
    assert_eq!(
        kc["clusters"][0]["cluster"]["server"],
        "https://api.mf.example.com:6443"
    );
    assert_eq!(
        kc["clusters"][0]["cluster"]["certificate-authority-data"],
        b64(&ca_pem)
    );
    assert_eq!(kc["clusters"].as_array().unwrap().len(), 1);
    assert!(kc["users"].is_null() && kc["contexts"].is_null(), "{kc}");

    // kubeadm-config: a ClusterConfiguration consistent with the spec.
    let cc_text = m["manifests/kubeadm-config-configmap.yaml"]["data"]["ClusterConfiguration"]
        .as_str()
        .unwrap()
        .to_string();
    let cc_file = dir.path().join("cluster-configuration.yaml");
    fs::write(&cc_file, &cc_text).unwrap();
    let cc = k.parse(&cc_file);
    assert_eq!(cc["apiVersion"], "kubeadm.k8s.io/v1beta4");
    assert_eq!(cc["kind"], "ClusterConfiguration");
    assert_eq!(cc["clusterName"], "mf");
    assert_eq!(cc["kubernetesVersion"], "v1.34.2");
    assert_eq!(cc["controlPlaneEndpoint"], "api.mf.example.com:6443");
    assert_eq!(
        cc["networking"],
        json!({"serviceSubnet": "10.32.0.0/16", "podSubnet": "10.200.0.0/16", "dnsDomain": "mf.local"})
    );
    assert_eq!(cc["certificatesDir"], "/etc/kubernetes/pki");
    assert_eq!(cc["etcd"], json!({"local": {"dataDir": "/var/lib/etcd"}}));
    assert_eq!(cc["apiServer"]["certSANs"], json!(["10.1.2.3"]));
    assert_eq!(cc["encryptionAlgorithm"], "ECDSA-P256");

    // kubelet-config carries exactly the bytes of config/kubelet-config.yaml.
    let kubelet_file = fs::read_to_string(out.join("config/kubelet-config.yaml")).unwrap();
    assert_eq!(
        m["manifests/kubelet-config-configmap.yaml"]["data"]["kubelet"].as_str(),
        Some(kubelet_file.as_str())
    );
    let kcfg = k.parse(&out.join("config/kubelet-config.yaml"));
    assert_eq!(
        kcfg,
        json!({
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "authentication": {
                "anonymous": {"enabled": false},
                "webhook": {"enabled": true},
                "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}
            },
            "authorization": {"mode": "Webhook"},
            "cgroupDriver": "systemd",
            "clusterDNS": ["10.32.0.10"],
            "clusterDomain": "mf.local",
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": 10248,
            "readOnlyPort": 0,
            "rotateCertificates": true,
            "serverTLSBootstrap": false,
            "staticPodPath": "/etc/kubernetes/manifests"
        })
    );
}

fn is_token_part(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Python's hmac/hashlib/base64/json recompute `jws-kubeconfig-<id>` from
/// the kubeconfig and the token exactly as kubectl parsed them.
const PYTHON_JWS: &str = r#"
import base64, hashlib, hmac, json, sys
cm = json.load(open(sys.argv[1]))
secret = json.load(open(sys.argv[2]))
token_id = base64.b64decode(secret["data"]["token-id"]).decode()
token_secret = base64.b64decode(secret["data"]["token-secret"])
def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
header = b64url(json.dumps({"alg": "HS256", "kid": token_id}, separators=(",", ":")).encode())
payload = b64url(cm["data"]["kubeconfig"].encode("utf-8"))
mac = hmac.new(token_secret, (header + "." + payload).encode(), hashlib.sha256).digest()
print(json.dumps({"key": "jws-kubeconfig-" + token_id, "jws": header + ".." + b64url(mac)}))
"#;

fn python_jws(dir: &Path, cluster_info: &Value, secret: &Value) -> (String, String) {
    let (cm, sec) = (dir.join("cluster-info.json"), dir.join("secret.json"));
    fs::write(&cm, cluster_info.to_string()).unwrap();
    fs::write(&sec, secret.to_string()).unwrap();
    let out = Command::new("python3")
        .arg("-c")
        .arg(PYTHON_JWS)
        .arg(&cm)
        .arg(&sec)
        .stdin(Stdio::null())
        .output()
        .expect("python3 is missing: run scripts/test, which installs it");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["key"].as_str().unwrap().to_string(),
        v["jws"].as_str().unwrap().to_string(),
    )
}

#[test]
fn cluster_info_signature_verifies_in_python() {
    let k = Kubectl::new();
    // A DNS name, and an IPv6 address (quoted in the embedded kubeconfig).
    for (name, spec) in [
        ("dns", base()),
        (
            "ipv6",
            switched(
                "api_server = \"https://api.mf.example.com:6443\"",
                "api_server = \"https://[fd00::5]:7443\"",
            ),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = render(dir.path(), &spec);
        let cm = k.parse(&out.join(CLUSTER_INFO));
        let secret = k.parse(&out.join(secret_file()));
        let (key, jws) = python_jws(dir.path(), &cm, &secret);
        assert_eq!(cm["data"][&key].as_str(), Some(jws.as_str()), "{name}");
        // The header is exactly upstream's, for this token id.
        let id = unb64(&secret["data"]["token-id"]);
        let header = jws.split("..").next().unwrap();
        assert_eq!(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(header)
                .unwrap(),
            format!("{{\"alg\":\"HS256\",\"kid\":\"{id}\"}}").as_bytes()
        );
        // The signed string ends in exactly one newline, as rendered.
        let kubeconfig = cm["data"]["kubeconfig"].as_str().unwrap();
        assert!(kubeconfig.ends_with("users: null\n") && !kubeconfig.ends_with("\n\n"));
        if name == "ipv6" {
            assert!(kubeconfig.contains("server: \"https://[fd00::5]:7443\"\n"));
        }
        // A flipped byte of content no longer verifies: the check can fail.
        let mut tampered = cm.clone();
        tampered["data"]["kubeconfig"] = json!(kubeconfig.replace("kind: Config", "kind: Confih"));
        let (_, bad) = python_jws(dir.path(), &tampered, &secret);
        assert_ne!(bad, jws);
    }
}

#[test]
fn secret_modes_kinds_and_token_agree() {
    let dir = tempfile::tempdir().unwrap();
    let out = render(dir.path(), &base());
    let index: Value = serde_json::from_slice(&fs::read(out.join("index.json")).unwrap()).unwrap();
    let entries = index["files"].as_array().unwrap();
    let mut seen = 0;
    for e in entries {
        let path = e["path"].as_str().unwrap();
        if path.starts_with("nodes/") && path.contains("/rootfs/") {
            // On-host modes (static pods 0600, say): tests/bundles.rs checks them.
            continue;
        }
        let on_disk = fs::metadata(out.join(path)).unwrap().permissions().mode() & 0o777;
        let credential = path == secret_file()
            || path.starts_with("kubeconfig/")
            || path.ends_with(".key")
            || path.ends_with("/encryption-config.yaml")
            // Every node bundle embeds at least the bootstrap kubeconfig.
            || path.starts_with("nodes/");
        let (mode, expect_mode) = (
            e["mode"].as_str().unwrap(),
            if credential { "0600" } else { "0644" },
        );
        assert_eq!(mode, expect_mode, "{path}");
        assert_eq!(format!("{on_disk:04o}"), expect_mode, "{path} on disk");
        assert_eq!(e["secret"], credential, "{path}");
        if path.starts_with("manifests/") {
            assert_eq!(e["kind"], "manifest", "{path}");
            seen += 1;
        }
        if path == "config/kubelet-config.yaml" {
            assert_eq!(e["kind"], "config");
            seen += 1;
        }
    }
    assert_eq!(seen, 17);

    // The Secret's token is the one the kubelet bootstraps with.
    let k = Kubectl::new();
    let secret = k.parse(&out.join(secret_file()));
    let token = format!(
        "{}.{}",
        unb64(&secret["data"]["token-id"]),
        unb64(&secret["data"]["token-secret"])
    );
    let boot = k.kubeconfig(&out.join("kubeconfig/bootstrap-kubelet.conf"));
    assert_eq!(
        boot["users"][0]["user"]["token"].as_str(),
        Some(token.as_str())
    );
    // No file name and no line of index.json carries the secret.
    let token_secret = unb64(&secret["data"]["token-secret"]);
    let index_text = fs::read_to_string(out.join("index.json")).unwrap();
    assert!(!index_text.contains(&token_secret));
    assert!(!index_text.contains(&b64(&token_secret)));
    assert!(common::hash_tree(&out)
        .keys()
        .all(|p| !p.contains(&token_secret)));
}

/// Renders base and switched, checks which owned files changed, and returns
/// the parsed manifests of both.
fn switch(
    from: &str,
    to: &str,
    expect_changed: &[&str],
) -> (
    BTreeMap<String, Value>,
    BTreeMap<String, Value>,
    PathBuf,
    tempfile::TempDir,
) {
    let tmp = tempfile::tempdir().unwrap();
    let a = render(&tmp.path().join("a"), &base());
    let b = render(&tmp.path().join("b"), &switched(from, to));
    let mut expect_changed = expect_changed.to_vec();
    expect_changed.sort();
    assert_eq!(
        changed(&a, &b),
        expect_changed,
        "switching {from:?} to {to:?}"
    );
    let k = Kubectl::new();
    (k.manifests(&a), k.manifests(&b), b, tmp)
}

#[test]
fn auto_approve_off_renders_no_approval_binding() {
    let (base, off, _, _) = switch(
        "auto_approve_node_csrs = true",
        "auto_approve_node_csrs = false",
        &[
            "manifests/node-autoapprove-bootstrap-clusterrolebinding.yaml",
            "manifests/node-autoapprove-certificate-rotation-clusterrolebinding.yaml",
        ],
    );
    assert_eq!(base.len(), 16);
    assert_eq!(off.len(), 14);
    // Bootstrappers may still create CSRs; only approval is the admin's.
    assert!(off.contains_key("manifests/kubelet-bootstrap-clusterrolebinding.yaml"));
    for v in off.values() {
        let name = v["roleRef"]["name"].as_str().unwrap_or("");
        assert!(!name.contains("nodeclient"), "{v}");
    }
}

#[test]
fn node_restriction_off_binds_system_node_to_the_nodes_group() {
    let (base, off, _, _) = switch(
        "node_restriction = true",
        "node_restriction = false",
        &["manifests/nodes-clusterrolebinding.yaml"],
    );
    assert!(!base.contains_key("manifests/nodes-clusterrolebinding.yaml"));
    let binding = &off["manifests/nodes-clusterrolebinding.yaml"];
    assert_eq!(binding["kind"], "ClusterRoleBinding");
    assert_eq!(binding["roleRef"]["kind"], "ClusterRole");
    assert_eq!(binding["roleRef"]["name"], "system:node");
    assert_eq!(binding["subjects"][0]["kind"], "Group");
    assert_eq!(binding["subjects"][0]["name"], "system:nodes");
    assert_eq!(binding["subjects"].as_array().unwrap().len(), 1);
}

#[test]
fn node_self_delete_lets_the_nodes_group_delete_nodes() {
    let (base, on, _, _) = switch(
        "node_self_delete = false",
        "node_self_delete = true",
        &[
            "manifests/node-self-delete-clusterrole.yaml",
            "manifests/node-self-delete-clusterrolebinding.yaml",
        ],
    );
    assert_eq!(on.len(), base.len() + 2);
    let role = &on["manifests/node-self-delete-clusterrole.yaml"];
    assert_eq!(role["kind"], "ClusterRole");
    assert_eq!(role["metadata"]["name"], "kubeseed:node-self-delete");
    assert_eq!(
        rules(role),
        json!([{"apiGroups": [""], "resources": ["nodes"], "verbs": ["delete"]}])
    );
    let binding = &on["manifests/node-self-delete-clusterrolebinding.yaml"];
    assert_eq!(binding["kind"], "ClusterRoleBinding");
    assert_eq!(
        role_ref(binding),
        (
            "ClusterRole".to_string(),
            "kubeseed:node-self-delete".to_string()
        )
    );
    assert_eq!(subjects(binding), groups(&["system:nodes"]));
}

#[test]
fn anonymous_discovery_off_renders_no_anonymous_access() {
    let (_, off, _, _) = switch(
        "anonymous_discovery = true",
        "anonymous_discovery = false",
        &[
            "manifests/bootstrap-signer-clusterinfo-role.yaml",
            "manifests/bootstrap-signer-clusterinfo-rolebinding.yaml",
        ],
    );
    let anonymous = off
        .values()
        .filter(|v| v["subjects"].as_array().is_some())
        .flat_map(subjects)
        .filter(|(_, name)| name.contains("anonymous") || name.contains("unauthenticated"))
        .count();
    assert_eq!(anonymous, 0);
    assert!(off.contains_key(CLUSTER_INFO));
}

#[test]
fn no_signing_usage_no_signature() {
    let (base, off, _, _) = switch(
        "usages = [\"authentication\", \"signing\"]",
        "usages = [\"authentication\"]",
        &[CLUSTER_INFO, secret_file()],
    );
    let keys = |m: &BTreeMap<String, Value>, f: &str| -> Vec<String> {
        m[f]["data"].as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(keys(&off, CLUSTER_INFO), ["kubeconfig"]);
    assert_eq!(
        off[CLUSTER_INFO]["data"]["kubeconfig"],
        base[CLUSTER_INFO]["data"]["kubeconfig"]
    );
    let mut expected = keys(&base, secret_file());
    expected.retain(|k| k != "usage-bootstrap-signing");
    assert_eq!(keys(&off, secret_file()), expected);
}

#[test]
fn no_authentication_usage() {
    let (base, off, _, _) = switch(
        "usages = [\"authentication\", \"signing\"]",
        "usages = [\"signing\"]",
        &[secret_file()],
    );
    let keys = |m: &BTreeMap<String, Value>| -> Vec<String> {
        m[secret_file()]["data"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let mut expected = keys(&base);
    expected.retain(|k| k != "usage-bootstrap-authentication");
    assert_eq!(keys(&off), expected);
    assert_eq!(
        off[secret_file()]["data"]["usage-bootstrap-signing"],
        b64("true")
    );
}

const GROUP_BINDINGS: [&str; 5] = [
    "manifests/get-nodes-clusterrolebinding.yaml",
    "manifests/kubelet-bootstrap-clusterrolebinding.yaml",
    "manifests/kubelet-config-rolebinding.yaml",
    "manifests/node-autoapprove-bootstrap-clusterrolebinding.yaml",
    "manifests/nodes-kubeadm-config-rolebinding.yaml",
];

fn bootstrap_subjects(m: &BTreeMap<String, Value>, file: &str) -> Vec<(String, String)> {
    let mut s = subjects(&m[file]);
    s.retain(|(_, name)| name != "system:nodes");
    s
}

#[test]
fn extra_groups_are_the_bindings_subjects() {
    let mut expect: Vec<&str> = GROUP_BINDINGS.to_vec();
    expect.push(secret_file());
    let (_, two, _, _) = switch(
        &format!("extra_groups = [\"{DEFAULT_GROUP}\"]"),
        "extra_groups = [\"system:bootstrappers:workers\", \"system:bootstrappers:gpu\"]",
        &expect,
    );
    for f in GROUP_BINDINGS {
        assert_eq!(
            bootstrap_subjects(&two, f),
            groups(&["system:bootstrappers:workers", "system:bootstrappers:gpu"]),
            "{f}"
        );
    }
    assert_eq!(
        unb64(&two[secret_file()]["data"]["auth-extra-groups"]),
        "system:bootstrappers:workers,system:bootstrappers:gpu"
    );

    let (_, none, _, _) = switch(
        &format!("extra_groups = [\"{DEFAULT_GROUP}\"]"),
        "extra_groups = []",
        &expect,
    );
    for f in GROUP_BINDINGS {
        assert_eq!(
            bootstrap_subjects(&none, f),
            groups(&["system:bootstrappers"]),
            "{f}"
        );
    }
    assert!(none[secret_file()]["data"]
        .get("auth-extra-groups")
        .is_none());
}

#[test]
fn verify_kubelet_serving_turns_on_server_tls_bootstrap() {
    let (base, on, out, _tmp) = switch(
        "verify_kubelet_serving = false",
        "verify_kubelet_serving = true",
        &[
            "config/kubelet-config.yaml",
            "manifests/kubelet-config-configmap.yaml",
        ],
    );
    let k = Kubectl::new();
    let cfg = k.parse(&out.join("config/kubelet-config.yaml"));
    assert_eq!(cfg["serverTLSBootstrap"], true);
    assert_eq!(cfg["rotateCertificates"], true);
    let file = fs::read_to_string(out.join("config/kubelet-config.yaml")).unwrap();
    let map = on["manifests/kubelet-config-configmap.yaml"]["data"]["kubelet"].as_str();
    assert_eq!(map, Some(file.as_str()));
    assert_ne!(
        base["manifests/kubelet-config-configmap.yaml"],
        on["manifests/kubelet-config-configmap.yaml"]
    );
}

// ---------------------------------------------------------------------------------------
// The kube-proxy add-on

const KUBE_PROXY_FILES: [&str; 6] = [
    "manifests/kube-proxy-clusterrolebinding.yaml",
    "manifests/kube-proxy-configmap.yaml",
    "manifests/kube-proxy-daemonset.yaml",
    "manifests/kube-proxy-role.yaml",
    "manifests/kube-proxy-rolebinding.yaml",
    "manifests/kube-proxy-serviceaccount.yaml",
];
const KUBE_PROXY_CONFIG_MAP: &str = "manifests/kube-proxy-configmap.yaml";

/// `spec` with `[addons]` and `lines` under it (the base spec has no `[addons]`).
fn with_addons(spec: &str, lines: &str) -> String {
    assert!(!spec.contains("[addons]"));
    format!("{spec}[addons]\n{lines}\n")
}

/// Every file two renders do not share byte for byte, but `index.json` (which lists them).
fn every_change(a: &Path, b: &Path) -> Vec<String> {
    differing(a, b, |p| p != "index.json")
}

/// The ConfigMap's `config.conf` (the KubeProxyConfiguration) and `kubeconfig.conf` as the
/// real kubectl reads them: each written to a file of its own and parsed.
fn kube_proxy_documents(k: &Kubectl, config_map: &Value) -> (Value, Value) {
    let data = config_map["data"].as_object().unwrap();
    let mut keys: Vec<&String> = data.keys().collect();
    keys.sort();
    assert_eq!(keys, ["config.conf", "kubeconfig.conf"]);
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str| {
        let path = dir.path().join(name);
        fs::write(&path, data[name].as_str().unwrap()).unwrap();
        path
    };
    let config = k.parse(&write("config.conf"));
    let kubeconfig = k.kubeconfig(&write("kubeconfig.conf"));
    (config, kubeconfig)
}

/// The base spec with kube-proxy on in `mode`, rendered into `dir/<mode>`, and its ConfigMap
/// as kubectl reads it.
fn render_kube_proxy_mode(k: &Kubectl, dir: &Path, mode: &str) -> (PathBuf, Value) {
    let out = render(
        &dir.join(mode),
        &with_addons(
            &base(),
            &format!("kube_proxy = true\nkube_proxy_mode = \"{mode}\""),
        ),
    );
    let cm = k.parse(&out.join(KUBE_PROXY_CONFIG_MAP));
    (out, cm)
}

#[test]
fn kube_proxy_renders_kubeadms_objects_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let off = render(&tmp.path().join("off"), &base());
    let explicit_off = render(
        &tmp.path().join("explicit-off"),
        &with_addons(&base(), "kube_proxy = false"),
    );
    let on = render(
        &tmp.path().join("on"),
        &with_addons(&base(), "kube_proxy = true"),
    );
    // The control: without the key, or with it false, not one byte differs, and no
    // kube-proxy file exists.
    assert_eq!(every_change(&off, &explicit_off), Vec::<String>::new());
    assert!(common::hash_tree(&off)
        .keys()
        .all(|p| !p.contains("kube-proxy")));
    // With it, exactly the kube-proxy files appear and nothing else changes.
    assert_eq!(every_change(&off, &on), KUBE_PROXY_FILES);

    let k = Kubectl::new();
    let m = k.manifests(&on);
    let obj = |name: &str| &m[&format!("manifests/kube-proxy-{name}.yaml")];

    let sa = obj("serviceaccount");
    assert_eq!(
        (
            &sa["kind"],
            &sa["metadata"]["namespace"],
            &sa["metadata"]["name"]
        ),
        (
            &json!("ServiceAccount"),
            &json!("kube-system"),
            &json!("kube-proxy")
        )
    );

    let crb = obj("clusterrolebinding");
    assert_eq!(crb["kind"], "ClusterRoleBinding");
    assert_eq!(crb["metadata"]["name"], "kubeadm:node-proxier");
    assert_eq!(
        role_ref(crb),
        ("ClusterRole".to_string(), "system:node-proxier".to_string())
    );
    assert_eq!(
        crb["subjects"],
        json!([{"kind": "ServiceAccount", "name": "kube-proxy", "namespace": "kube-system"}])
    );

    let role = obj("role");
    assert_eq!(role["kind"], "Role");
    assert_eq!(
        (&role["metadata"]["namespace"], &role["metadata"]["name"]),
        (&json!("kube-system"), &json!("kube-proxy"))
    );
    assert_eq!(
        rules(role),
        json!([{"apiGroups": [""], "resources": ["configmaps"],
                "resourceNames": ["kube-proxy"], "verbs": ["get"]}])
    );
    let rb = obj("rolebinding");
    assert_eq!(rb["kind"], "RoleBinding");
    assert_eq!(
        (&rb["metadata"]["namespace"], &rb["metadata"]["name"]),
        (&json!("kube-system"), &json!("kube-proxy"))
    );
    assert_eq!(role_ref(rb), ("Role".to_string(), "kube-proxy".to_string()));
    assert_eq!(subjects(rb), groups(&[DEFAULT_GROUP]));

    let cm = obj("configmap");
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(
        (&cm["metadata"]["namespace"], &cm["metadata"]["name"]),
        (&json!("kube-system"), &json!("kube-proxy"))
    );
    assert_eq!(cm["metadata"]["labels"], json!({"app": "kube-proxy"}));
    assert!(cm["metadata"].get("annotations").is_none());
    let (config, kubeconfig) = kube_proxy_documents(&k, cm);
    assert_eq!(
        config,
        json!({
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "bindAddress": "0.0.0.0",
            "clientConnection": {"kubeconfig": "/var/lib/kube-proxy/kubeconfig.conf"},
            "clusterCIDR": "10.200.0.0/16",
            "mode": "iptables",
        })
    );
    let sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
    assert_eq!(
        kubeconfig["clusters"],
        json!([{"name": "default", "cluster": {
            "server": "https://api.mf.example.com:6443",
            "certificate-authority": format!("{sa_dir}/ca.crt")}}])
    );
    assert_eq!(
        kubeconfig["users"],
        json!([{"name": "default", "user": {"tokenFile": format!("{sa_dir}/token")}}])
    );
    assert_eq!(
        kubeconfig["contexts"],
        json!([{"name": "default", "context":
            {"cluster": "default", "namespace": "default", "user": "default"}}])
    );
    assert_eq!(kubeconfig["current-context"], "default");

    let ds = obj("daemonset");
    assert_eq!(ds["kind"], "DaemonSet");
    assert_eq!(
        (&ds["metadata"]["namespace"], &ds["metadata"]["name"]),
        (&json!("kube-system"), &json!("kube-proxy"))
    );
    assert_eq!(
        ds["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate"})
    );
    assert_eq!(
        ds["spec"]["selector"],
        json!({"matchLabels": {"k8s-app": "kube-proxy"}})
    );
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(
        ds["spec"]["template"]["metadata"]["labels"],
        json!({"k8s-app": "kube-proxy"})
    );
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(pod["priorityClassName"], "system-node-critical");
    assert_eq!(pod["serviceAccountName"], "kube-proxy");
    assert_eq!(pod["tolerations"], json!([{"operator": "Exists"}]));
    assert_eq!(pod["nodeSelector"], json!({"kubernetes.io/os": "linux"}));
    assert_eq!(
        pod["volumes"],
        json!([
            {"name": "kube-proxy", "configMap": {"name": "kube-proxy"}},
            {"name": "xtables-lock", "hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"}},
            {"name": "lib-modules", "hostPath": {"path": "/lib/modules"}},
        ])
    );
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(c["image"], "registry.k8s.io/kube-proxy:v1.34.2");
    assert_eq!(
        c["command"],
        json!([
            "/usr/local/bin/kube-proxy",
            "--config=/var/lib/kube-proxy/config.conf",
            "--hostname-override=$(NODE_NAME)",
        ])
    );
    assert_eq!(
        c["env"],
        json!([{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}])
    );
    assert_eq!(c["securityContext"], json!({"privileged": true}));
    assert_eq!(
        c["volumeMounts"],
        json!([
            {"mountPath": "/var/lib/kube-proxy", "name": "kube-proxy"},
            {"mountPath": "/run/xtables.lock", "name": "xtables-lock", "readOnly": false},
            {"mountPath": "/lib/modules", "name": "lib-modules", "readOnly": true},
        ])
    );
}

#[test]
fn kube_proxy_mode_changes_only_the_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let k = Kubectl::new();
    let mut configs = Vec::new();
    for mode in ["iptables", "nftables", "ipvs"] {
        let (out, cm) = render_kube_proxy_mode(&k, tmp.path(), mode);
        let (config, _) = kube_proxy_documents(&k, &cm);
        assert_eq!(config["mode"], mode);
        assert_eq!(config["clusterCIDR"], "10.200.0.0/16");
        configs.push((out, config));
    }
    // iptables is the default: the key left out renders the same bytes.
    let default = render(
        &tmp.path().join("default"),
        &with_addons(&base(), "kube_proxy = true"),
    );
    assert_eq!(every_change(&default, &configs[0].0), Vec::<String>::new());
    for (out, _) in &configs[1..] {
        assert_eq!(every_change(&configs[0].0, out), [KUBE_PROXY_CONFIG_MAP]);
    }
}

#[test]
fn kube_proxy_follows_the_image_repository_pod_cidr_server_and_token_groups() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = common::Spec::new("kp")
        .api_server("https://10.9.8.7:7443")
        .kubernetes_version("v1.32.13")
        .cluster("image_repository = \"mirror.example.com/k8s\"\npod_cidr = \"10.77.0.0/16\"")
        .token("extra_groups = [\"system:bootstrappers:workers\", \"system:bootstrappers:gpu\"]")
        .build();
    let out = render(tmp.path(), &with_addons(&spec, "kube_proxy = true"));
    let k = Kubectl::new();
    let ds = k.parse(&out.join("manifests/kube-proxy-daemonset.yaml"));
    assert_eq!(
        ds["spec"]["template"]["spec"]["containers"][0]["image"],
        "mirror.example.com/k8s/kube-proxy:v1.32.13"
    );
    let (config, kubeconfig) = kube_proxy_documents(&k, &k.parse(&out.join(KUBE_PROXY_CONFIG_MAP)));
    assert_eq!(config["clusterCIDR"], "10.77.0.0/16");
    assert_eq!(
        kubeconfig["clusters"][0]["cluster"]["server"],
        "https://10.9.8.7:7443"
    );
    let rb = k.parse(&out.join("manifests/kube-proxy-rolebinding.yaml"));
    assert_eq!(
        subjects(&rb),
        groups(&["system:bootstrappers:workers", "system:bootstrappers:gpu"])
    );
}

/// The real kube-proxy of each release the e2e test boots (tests/e2e/versions), built by
/// `scripts/k8s-bins`; SKIP without them (a failure under CI=true).
fn kube_proxy_binaries() -> Vec<(String, PathBuf)> {
    let cache = std::env::var_os("KUBESEED_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/kubeseed-test"));
    let versions =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/versions"))
            .unwrap();
    let mut found = Vec::new();
    for line in versions
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let version = line.split_whitespace().next().unwrap().to_string();
        let bin = cache.join("k8s").join(&version).join("bin");
        if bin.join(".stamp").is_file() {
            found.push((version, bin.join("kube-proxy")));
        } else if std::env::var("CI").as_deref() == Ok("true") {
            panic!("no kube-proxy v{version} in {}, and CI=true", bin.display());
        } else {
            eprintln!(
                "SKIP kube-proxy v{version}: {} has no binaries (scripts/k8s-bins)",
                bin.display()
            );
        }
    }
    found
}

/// `kube-proxy --config=FILE --write-config-to=OUT`: kube-proxy decodes and validates the
/// configuration exactly as at start-up, then writes what it resolved and exits, before it
/// touches a rule or dials the API server. Ok(what it wrote), or Err(what it said).
fn kube_proxy_resolves(bin: &Path, config: &str, dir: &Path) -> Result<(String, String), String> {
    let (input, output) = (dir.join("config.conf"), dir.join("resolved.yaml"));
    let _ = fs::remove_file(&output);
    fs::write(&input, config).unwrap();
    let out = Command::new(bin)
        .arg(format!("--config={}", input.display()))
        .arg("--hostname-override=node-a")
        .arg(format!("--write-config-to={}", output.display()))
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        Ok((fs::read_to_string(&output).unwrap(), said))
    } else {
        Err(said)
    }
}

#[test]
fn the_real_kube_proxy_accepts_the_configuration_in_every_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let k = Kubectl::new();
    let binaries = kube_proxy_binaries();
    for mode in ["iptables", "nftables", "ipvs"] {
        let (_, cm) = render_kube_proxy_mode(&k, tmp.path(), mode);
        let config = cm["data"]["config.conf"].as_str().unwrap();
        for (version, bin) in &binaries {
            let (resolved, said) = kube_proxy_resolves(bin, config, tmp.path())
                .unwrap_or_else(|e| panic!("kube-proxy v{version} refused {mode}: {e}"));
            // Strict decoding: kube-proxy falls back to a lenient decoder, and says so, for a
            // field it does not know.
            assert!(
                !said.contains("strict decoding"),
                "v{version} {mode}: {said}"
            );
            let file = tmp.path().join("resolved-parsed.yaml");
            fs::write(&file, resolved).unwrap();
            let v = k.parse(&file);
            assert_eq!(v["mode"], mode, "v{version}");
            assert_eq!(v["clusterCIDR"], "10.200.0.0/16", "v{version}");
            assert_eq!(v["bindAddress"], "0.0.0.0", "v{version}");
            assert_eq!(
                v["clientConnection"]["kubeconfig"], "/var/lib/kube-proxy/kubeconfig.conf",
                "v{version}"
            );
            assert_eq!(v["hostnameOverride"], "node-a", "v{version}");
        }
    }
    // The controls: the same check refuses a mode kube-proxy does not know, and notices an
    // unknown field.
    for (version, bin) in &binaries {
        let good = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\n";
        let bad = good.replace("mode: iptables", "mode: bogus");
        let err = kube_proxy_resolves(bin, &bad, tmp.path()).unwrap_err();
        assert!(
            err.contains("ProxyMode: Invalid value") && err.contains("bogus"),
            "v{version}: {err}"
        );
        let typo = good.replace("mode: iptables", "moed: iptables");
        let (_, said) = kube_proxy_resolves(bin, &typo, tmp.path()).unwrap();
        assert!(said.contains("strict decoding"), "v{version}: {said}");
    }
}

#[test]
fn kube_proxy_binds_the_wildcard_of_an_ipv6_pod_cidr() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = switched(
        "service_cidr = \"10.32.0.0/16\"\npod_cidr = \"10.200.0.0/16\"",
        "service_cidr = \"fd00:32::/112\"\npod_cidr = \"fd00:200::/56\"",
    );
    let out = render(tmp.path(), &with_addons(&spec, "kube_proxy = true"));
    let k = Kubectl::new();
    let (config, _) = kube_proxy_documents(&k, &k.parse(&out.join(KUBE_PROXY_CONFIG_MAP)));
    assert_eq!(config["bindAddress"], "::");
    assert_eq!(config["clusterCIDR"], "fd00:200::/56");
}

// ---------------------------------------------------------------------------------------
// The CoreDNS add-on

const COREDNS_FILES: [&str; 7] = [
    "manifests/coredns-clusterrole.yaml",
    "manifests/coredns-clusterrolebinding.yaml",
    "manifests/coredns-configmap.yaml",
    "manifests/coredns-deployment.yaml",
    "manifests/coredns-poddisruptionbudget.yaml",
    "manifests/coredns-service.yaml",
    "manifests/coredns-serviceaccount.yaml",
];

/// kubeadm's Corefile for cluster domain `domain`, as kubeadm 1.32–1.36 write it.
fn kubeadm_corefile(domain: &str) -> String {
    format!(
        ".:53 {{\n    errors\n    health {{\n       lameduck 5s\n    }}\n    ready\n    \
         kubernetes {domain} in-addr.arpa ip6.arpa {{\n       pods insecure\n       \
         fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }}\n    prometheus :9153\n    \
         forward . /etc/resolv.conf {{\n       max_concurrent 1000\n    }}\n    cache 30 {{\n       \
         disable success {domain}\n       disable denial {domain}\n    }}\n    loop\n    reload\n    \
         loadbalance\n}}\n"
    )
}

#[test]
fn coredns_renders_exactly_its_objects_only_when_switched_on() {
    let tmp = tempfile::tempdir().unwrap();
    let base_out = render(&tmp.path().join("base"), &base());
    let off = render(
        &tmp.path().join("off"),
        &with_addons(&base(), "coredns = false"),
    );
    let on = render(
        &tmp.path().join("on"),
        &with_addons(&base(), "coredns = true"),
    );
    // The negative control: without the key, or with it false, not one CoreDNS file.
    let files = common::hash_tree(&base_out);
    for f in COREDNS_FILES {
        assert!(!files.contains_key(f), "{f} is rendered without coredns");
    }
    assert_eq!(changed(&base_out, &off), Vec::<String>::new());
    // Switched on: exactly these files appear, and no other file changes.
    assert_eq!(changed(&base_out, &on), COREDNS_FILES);

    let k = Kubectl::new();
    let m = k.manifests(&on);
    let id = |v: &Value| {
        [
            &v["apiVersion"],
            &v["kind"],
            &v["metadata"]["namespace"],
            &v["metadata"]["name"],
        ]
        .map(|x| x.as_str().unwrap_or("").to_string())
    };
    let rbac = "rbac.authorization.k8s.io/v1";
    #[rustfmt::skip]
    let want = [
        ("clusterrole", [rbac, "ClusterRole", "", "system:coredns"]),
        ("clusterrolebinding", [rbac, "ClusterRoleBinding", "", "system:coredns"]),
        ("configmap", ["v1", "ConfigMap", "kube-system", "coredns"]),
        ("deployment", ["apps/v1", "Deployment", "kube-system", "coredns"]),
        ("poddisruptionbudget", ["policy/v1", "PodDisruptionBudget", "kube-system", "coredns"]),
        ("service", ["v1", "Service", "kube-system", "kube-dns"]),
        ("serviceaccount", ["v1", "ServiceAccount", "kube-system", "coredns"]),
    ];
    for (file, expected) in want {
        let obj = &m[&format!("manifests/coredns-{file}.yaml")];
        assert_eq!(id(obj), expected.map(String::from), "{file}");
    }
    let get = |f: &str| &m[&format!("manifests/coredns-{f}.yaml")];

    // RBAC: kubeadm's rules, bound to the ServiceAccount.
    assert_eq!(
        rules(get("clusterrole")),
        json!([
            {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
             "verbs": ["list", "watch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
             "verbs": ["list", "watch"]},
        ])
    );
    let binding = get("clusterrolebinding");
    assert_eq!(
        role_ref(binding),
        ("ClusterRole".to_string(), "system:coredns".to_string())
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}])
    );

    // The Corefile serves the spec's cluster domain, exactly as kubeadm writes it.
    let corefile = get("configmap")["data"]["Corefile"].as_str().unwrap();
    assert_eq!(corefile, kubeadm_corefile("mf.local"));
    assert!(corefile.contains("kubernetes mf.local in-addr.arpa ip6.arpa {"));

    // The Service sits at the kubelet's clusterDNS, as the kubelet reads it.
    let kubelet = k.parse(&on.join("config/kubelet-config.yaml"));
    let service = get("service");
    assert_eq!(kubelet["clusterDNS"], json!(["10.32.0.10"]));
    assert_eq!(service["spec"]["clusterIP"], kubelet["clusterDNS"][0]);
    assert_eq!(
        service["spec"]["ports"],
        json!([
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
        ])
    );
    assert_eq!(
        service["metadata"]["annotations"],
        json!({"prometheus.io/port": "9153", "prometheus.io/scrape": "true"})
    );

    // The Deployment: kubeadm's, with the image kubeadm pairs with v1.34.
    let deployment = get("deployment");
    let spec = &deployment["spec"];
    let pod = &spec["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(spec["replicas"], 2);
    assert_eq!(
        container["image"],
        "registry.k8s.io/coredns/coredns:v1.12.1"
    );
    assert_eq!(container["args"], json!(["-conf", "/etc/coredns/Corefile"]));
    assert_eq!(
        pod["tolerations"],
        json!([
            {"key": "CriticalAddonsOnly", "operator": "Exists"},
            {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
        ])
    );
    assert_eq!(pod["nodeSelector"], json!({"kubernetes.io/os": "linux"}));
    assert_eq!(pod["priorityClassName"], "system-cluster-critical");
    assert_eq!(pod["serviceAccountName"], "coredns");
    assert_eq!(pod["dnsPolicy"], "Default");
    let anti =
        &pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"];
    assert_eq!(
        anti[0]["podAffinityTerm"]["topologyKey"],
        "kubernetes.io/hostname"
    );
    assert_eq!(
        container["securityContext"],
        json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
               "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}})
    );
    assert_eq!(
        pod["volumes"][0]["configMap"],
        json!({"name": "coredns", "items": [{"key": "Corefile", "path": "Corefile"}]})
    );
    // The Service, the Deployment and the budget all select the pods the Deployment makes.
    let labels = &spec["template"]["metadata"]["labels"];
    assert_eq!(*labels, json!({"k8s-app": "kube-dns"}));
    assert_eq!(spec["selector"]["matchLabels"], *labels);
    assert_eq!(service["spec"]["selector"], *labels);
    let pdb = get("poddisruptionbudget");
    assert_eq!(pdb["spec"]["selector"]["matchLabels"], *labels);
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);
    assert!(pdb["spec"].get("minAvailable").is_none());
}

#[test]
fn coredns_image_follows_the_repository_and_the_minor() {
    let tmp = tempfile::tempdir().unwrap();
    let k = Kubectl::new();
    let image = |name: &str, spec: String| {
        let out = render(
            &tmp.path().join(name),
            &with_addons(&spec, "coredns = true"),
        );
        let d = k.parse(&out.join("manifests/coredns-deployment.yaml"));
        d["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // A mirror has no extra `coredns/` path element (kubeadm's GetDNSImage).
    let mirror = switched(
        "dns_domain = \"mf.local\"",
        "dns_domain = \"mf.local\"\nimage_repository = \"mirror.example.com/k8s\"",
    );
    assert_eq!(
        image("mirror", mirror),
        "mirror.example.com/k8s/coredns:v1.12.1"
    );
    let oldest = base().replace("v1.34.2", "v1.32.13");
    assert_eq!(
        image("oldest", oldest),
        "registry.k8s.io/coredns/coredns:v1.11.3"
    );
}

#[test]
fn coredns_for_an_unknown_minor_warns_and_uses_the_newest_tag() {
    let run = |name: &str, addons: &str| {
        let dir = tempfile::tempdir().unwrap();
        let spec = with_addons(&base().replace("v1.34.2", "v1.37.0"), addons);
        fs::write(dir.path().join("cluster.toml"), spec).unwrap();
        let seed = dir.path().join("seed");
        fs::write(&seed, format!("{SEED}\n")).unwrap();
        fs::set_permissions(&seed, fs::Permissions::from_mode(0o600)).unwrap();
        let out = dir.path().join("out");
        let r = common::kubeseed(
            [
                "render".as_ref(),
                dir.path().join("cluster.toml").as_os_str(),
                "--out".as_ref(),
                out.as_os_str(),
            ],
            &[],
        )
        .success(name);
        (r.stderr, out, dir)
    };
    let warning = "kubeseed knows no CoreDNS version for Kubernetes 1.37";
    let (stderr, out, _dir) = run("coredns on", "coredns = true");
    assert!(stderr.contains(warning), "{stderr}");
    assert!(
        stderr.contains("registry.k8s.io/coredns/coredns:v1.14.2"),
        "{stderr}"
    );
    let deployment = fs::read_to_string(out.join("manifests/coredns-deployment.yaml")).unwrap();
    assert!(deployment.contains("image: registry.k8s.io/coredns/coredns:v1.14.2\n"));
    // The control: the same minor without CoreDNS says nothing about it.
    let (stderr, _, _dir) = run("coredns off", "coredns = false");
    assert!(!stderr.contains("CoreDNS"), "{stderr}");
    assert!(
        stderr.contains("etcd"),
        "the etcd fallback still warns: {stderr}"
    );
}
