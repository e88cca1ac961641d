//! The real kubelet on the `ws` host, started exactly as a worker bundle's systemd drop-ins
//! start it: it must accept its flags (the pool's labels and taints among them) and its
//! configuration and finish its TLS bootstrap before it stops for lack of a container
//! runtime. The Node its new identity creates carries those labels and taints, which
//! NodeRestriction accepts (and refuses a label the spec would refuse).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::cluster::{s, wait, Cluster};
use crate::expect;
use crate::lab::ProcId;

/// The labels and taints the test gives the `workers` pool.
const LABELS: &str =
    r#"labels = { "example.com/e2e" = "yes", "node.kubernetes.io/pool" = "workers" }"#;
const TAINTS: &str = r#"taints = ["example.com/e2e=true:NoSchedule", "spot:PreferNoSchedule"]"#;

/// The kubelet's command line as systemd would build it from the drop-ins in `dir`, in
/// file-name order: `Environment=` assignments, the last `ExecStart=`, each `$VAR` split on
/// whitespace (an unset one, like `$KUBELET_KUBEADM_ARGS` before `kubeadm join`, vanishes).
pub fn exec_start(dir: &Path) -> Result<Vec<String>, String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    let mut env = BTreeMap::new();
    let mut exec = None;
    for path in names {
        let text = fs::read_to_string(&path).map_err(|e| e.to_string())?;
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("Environment=") {
                let v = v.trim_matches('"');
                let (k, v) = v.split_once('=').ok_or(format!("bad line {line}"))?;
                env.insert(k.to_string(), v.to_string());
            } else if let Some(v) = line.strip_prefix("ExecStart=") {
                exec = (!v.is_empty()).then(|| v.to_string());
            }
        }
    }
    let exec = exec.ok_or("no ExecStart")?;
    let mut argv = Vec::new();
    for word in exec.split_whitespace() {
        match word.strip_prefix('$') {
            Some(var) => argv.extend(
                env.get(var)
                    .map(|v| v.split_whitespace().map(String::from).collect::<Vec<_>>())
                    .unwrap_or_default(),
            ),
            None => argv.push(word.to_string()),
        }
    }
    Ok(argv)
}

/// The value of `--flag=` in `argv`.
fn flag<'a>(argv: &'a [String], name: &str) -> Option<&'a str> {
    argv.iter()
        .find_map(|a| a.strip_prefix(&format!("--{name}=")))
}

/// The kubelet's command line from a bundle's `argv` (its drop-ins' `ExecStart`), with the
/// kubelet built for this release, plus this machine's accommodation, not the bundle's: from
/// 1.35 the kubelet refuses a cgroup v1 host unless told otherwise (failCgroupV1), and the
/// test machines may be cgroup v1. A config drop-in (in scratch `<tag>-cgroup-v1.d`) says
/// so, leaving the rendered flags and config as they are.
pub fn kubelet_command(c: &Cluster, argv: &[String], tag: &str) -> Result<Vec<String>, String> {
    let mut cmd = argv.to_vec();
    cmd[0] = c.bin("kubelet");
    let minor: u32 = c
        .version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if minor >= 35 && !Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        let dropins = c.scratch(&format!("{tag}-cgroup-v1.d"));
        fs::create_dir_all(&dropins).map_err(|e| e.to_string())?;
        fs::write(
            dropins.join("99-cgroup-v1.conf"),
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfailCgroupV1: false\n",
        )
        .map_err(|e| e.to_string())?;
        cmd.push(format!("--config-dir={}", s(&dropins)));
    }
    Ok(cmd)
}

/// The kubelet validates its flags and configuration, starts its client-certificate manager
/// (which bootstraps asynchronously), then asks the container runtime for its version. There
/// is no runtime here: this socket at the runtime's path on `host` accepts and never
/// answers, which keeps that question open long enough for the bootstrap to finish; then the
/// kubelet stops for lack of a runtime.
pub fn silent_runtime(c: &mut Cluster, host: &str) -> ProcId {
    c.lab.spawn(
        host,
        "silent-runtime-socket",
        &[
            "/usr/bin/python3".into(),
            "-c".into(),
            "import os, socket\n\
             os.makedirs('/run/containerd', exist_ok=True)\n\
             s = socket.socket(socket.AF_UNIX)\n\
             s.bind('/run/containerd/containerd.sock')\n\
             s.listen(64)\n\
             held = []\n\
             while True:\n    held.append(s.accept())\n"
                .into(),
        ],
    )
}

pub fn labelled_kubelet(c: &mut Cluster) -> Result<(), String> {
    let out = c.render_variant("labelled", "[[node_pools]]", &format!("{LABELS}\n{TAINTS}"));
    let rootfs = out.join("nodes/workers/rootfs");
    let argv = exec_start(&rootfs.join("etc/systemd/system/kubelet.service.d"))?;
    expect(
        argv.first().map(String::as_str) == Some("/usr/bin/kubelet"),
        || format!("ExecStart {argv:?}"),
    )?;
    let labels = flag(&argv, "node-labels").ok_or(format!("no --node-labels in {argv:?}"))?;
    let taints = flag(&argv, "register-with-taints")
        .ok_or(format!("no --register-with-taints in {argv:?}"))?;
    expect(
        labels == "example.com/e2e=yes,node.kubernetes.io/pool=workers",
        || format!("--node-labels={labels}"),
    )?;

    // The node's writable copy of its bundle, at the paths the drop-in names (created in
    // ws's copy-on-write /etc and /var/lib, never the machine's).
    let node = c.scratch("kubelet-node");
    for dir in ["etc/kubernetes", "var/lib/kubelet"] {
        copy_tree(&rootfs.join(dir), &node.join(dir))?;
        c.ws_run(&["mkdir".into(), "-p".into(), format!("/{dir}")])?;
        c.lab.bind("ws", &node.join(dir), &format!("/{dir}"));
    }
    let cmd = kubelet_command(c, &argv, "kubelet")?;
    let silent = silent_runtime(c, "ws");
    // A link, as the kubelet writes it, to the dated file beside it by its on-node path.
    let current = node.join("var/lib/kubelet/pki/kubelet-client-current.pem");
    let id = c.lab.spawn("ws", "kubelet", &cmd);
    let bootstrapped = wait("the kubelet's TLS bootstrap", 60, || {
        if fs::symlink_metadata(&current).is_ok() {
            return Ok(());
        }
        match c.lab.exited(id) {
            Some(st) => Err(format!("the kubelet exited ({st}) before its certificate")),
            None => Err("no client certificate yet".into()),
        }
    });
    let stopped = wait("the kubelet to stop at the runtime", 120, || {
        match c.lab.exited(id) {
            Some(_) => Ok(()),
            None => Err("still running".into()),
        }
    });
    let log = c.lab.log_tail(id, 40);
    c.lab.kill(id);
    c.lab.kill(silent);
    bootstrapped.map_err(|e| format!("{e}\n{log}"))?;
    let dated = fs::read_link(&current).map_err(|e| e.to_string())?;
    let cert = node
        .join("var/lib/kubelet/pki")
        .join(dated.file_name().ok_or("an empty link")?);
    stopped.map_err(|e| format!("{e}\n{log}"))?;
    let stop = "validate CRI v1 runtime API for endpoint";
    expect(log.contains(stop), || {
        format!("the kubelet did not stop at the runtime:\n{log}")
    })?;
    for refusal in [
        "unknown flag",
        "failed to validate kubelet",
        "invalid configuration",
        "labels specified with --node-labels",
    ] {
        expect(!log.contains(refusal), || {
            format!("the kubelet said {refusal:?}:\n{log}")
        })?;
    }
    let subject = crate::cluster::openssl_ws(
        c,
        &[
            "x509",
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253",
            "-in",
            &s(&cert),
        ],
    )?;
    expect(
        subject.trim() == "subject=CN=system:node:ws,O=system:nodes",
        || format!("the kubelet's certificate: {subject}"),
    )?;
    // Negative control: the kubelet itself refuses a label kubeseed refuses, before the
    // runtime, so the pass above means the labels were judged.
    let mut bad = cmd.clone();
    bad.push("--node-labels=node-role.kubernetes.io/worker=".into());
    let log = run_kubelet(c, &bad, "kubelet-bad-label")?;
    expect(
        log.contains("node-role.kubernetes.io/worker") && !log.contains(stop),
        || format!("the kubelet accepted node-role.kubernetes.io/worker:\n{log}"),
    )?;

    // The Node as the kubelet's new identity registers it (the kubelet itself would, after
    // its runtime), with the pool's labels and taints.
    let bootstrap = fs::read_to_string(node.join("etc/kubernetes/bootstrap-kubelet.conf"))
        .map_err(|e| e.to_string())?;
    let server = bootstrap
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .ok_or("no server in bootstrap-kubelet.conf")?;
    let kubeconfig = c.scratch("ws-kubelet.conf");
    fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    \
             certificate-authority: {ca}\nusers:\n- name: u\n  user:\n    client-certificate: {pem}\n    \
             client-key: {pem}\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n\
             current-context: x\n",
            ca = s(&node.join("etc/kubernetes/pki/ca.crt")),
            pem = s(&cert),
        ),
    )
    .map_err(|e| e.to_string())?;
    let node_yaml = |labels: &str| -> String {
        let labels: String = labels
            .split(',')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                format!("    {k}: \"{v}\"\n")
            })
            .collect();
        let taints: String = taints
            .split(',')
            .map(|t| {
                let (kv, effect) = t.rsplit_once(':').unwrap_or((t, ""));
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                format!("  - key: {k}\n    value: \"{v}\"\n    effect: {effect}\n")
            })
            .collect();
        format!(
            "apiVersion: v1\nkind: Node\nmetadata:\n  name: ws\n  labels:\n{labels}spec:\n  taints:\n{taints}"
        )
    };
    // Negative control: a label the spec refuses is refused by NodeRestriction too.
    let forbidden = c.scratch("ws-node-forbidden.yaml");
    fs::write(&forbidden, node_yaml("node-role.kubernetes.io/worker="))
        .map_err(|e| e.to_string())?;
    crate::refused(
        c.kubectl_at(&kubeconfig, &["create", "-f", &s(&forbidden)]),
        "is not allowed to set the following labels: node-role.kubernetes.io/worker",
    )?;
    let own = c.scratch("ws-node.yaml");
    fs::write(&own, node_yaml(labels)).map_err(|e| e.to_string())?;
    // The kubelet may have registered the Node itself before it stopped: then that one is
    // judged.
    if let Err(e) = c.kubectl_at(&kubeconfig, &["create", "-f", &s(&own)]) {
        expect(
            e.contains("AlreadyExists") || e.contains("already exists"),
            || e.clone(),
        )?;
    }
    let got: Value = serde_json::from_str(&c.admin(&["get", "node", "ws", "-o", "json"])?)
        .map_err(|e| e.to_string())?;
    c.admin(&["delete", "node", "ws"])?;
    expect(
        got["metadata"]["labels"]["example.com/e2e"] == "yes"
            && got["metadata"]["labels"]["node.kubernetes.io/pool"] == "workers",
        || format!("labels {}", got["metadata"]["labels"]),
    )?;
    let got_taints: Vec<String> = got["spec"]["taints"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| {
                    let v = t["value"].as_str().unwrap_or("");
                    let kv = if v.is_empty() {
                        t["key"].as_str().unwrap_or("").to_string()
                    } else {
                        format!("{}={v}", t["key"].as_str().unwrap_or(""))
                    };
                    format!("{kv}:{}", t["effect"].as_str().unwrap_or(""))
                })
                // The API server adds node.kubernetes.io/not-ready (TaintNodesByCondition).
                .filter(|t: &String| !t.starts_with("node.kubernetes.io/not-ready"))
                .collect()
        })
        .unwrap_or_default();
    expect(got_taints.join(",") == taints, || {
        format!("taints {got_taints:?}, want {taints}")
    })
}

/// Runs the kubelet on `ws` until it exits (60 seconds at most) and returns its log.
fn run_kubelet(c: &mut Cluster, argv: &[String], what: &str) -> Result<String, String> {
    let id = c.lab.spawn("ws", what, argv);
    let waited = wait(what, 60, || match c.lab.exited(id) {
        Some(_) => Ok(()),
        None => Err("still running".into()),
    });
    let log = c.lab.log_tail(id, 40);
    c.lab.kill(id);
    waited.map(|_| log)
}

pub fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for entry in fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let dest = to.join(entry.file_name());
        if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else {
            fs::copy(entry.path(), &dest).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
