//! The real kubelet on the `ws` host, started exactly as a worker bundle's systemd drop-ins
//! start it: it must accept its flags (the pool's labels and taints among them) and its
//! configuration. The Node a node identity of that pool creates carries those labels and
//! taints, which NodeRestriction accepts (and refuses a label the spec would refuse).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::cluster::{s, wait, Cluster};
use crate::expect;

/// The labels and taints the test gives the `workers` pool.
const LABELS: &str =
    r#"labels = { "example.com/e2e" = "yes", "node.kubernetes.io/pool" = "workers" }"#;
const TAINTS: &str = r#"taints = ["example.com/e2e=true:NoSchedule", "spot:PreferNoSchedule"]"#;

/// The kubelet's command line as systemd would build it from the drop-ins in `dir`, in
/// file-name order: `Environment=` assignments, the last `ExecStart=`, each `$VAR` split on
/// whitespace (an unset one, like `$KUBELET_KUBEADM_ARGS` before `kubeadm join`, vanishes).
fn exec_start(dir: &Path) -> Result<Vec<String>, String> {
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
    let mut cmd = argv.clone();
    cmd[0] = c.bin("kubelet");
    // This machine's accommodation, not the bundle's: from 1.35 the kubelet refuses a
    // cgroup v1 host unless told otherwise (failCgroupV1), and the test machines may be
    // cgroup v1. A config drop-in says so, leaving the rendered flags and config as they are.
    let minor: u32 = c
        .version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if minor >= 35 && !Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        let dropins = c.scratch("kubelet-cgroup-v1.d");
        fs::create_dir_all(&dropins).map_err(|e| e.to_string())?;
        fs::write(
            dropins.join("99-cgroup-v1.conf"),
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfailCgroupV1: false\n",
        )
        .map_err(|e| e.to_string())?;
        cmd.push(format!("--config-dir={}", s(&dropins)));
    }
    // From 1.32 to 1.36 the kubelet validates its flags (labels included) and configuration,
    // starts its client-certificate manager, then stops at the container runtime, which the
    // test machines lack; the certificate request is asynchronous and does not finish first.
    // So: the kubelet must get exactly that far, no flag or configuration refused.
    let log = run_kubelet(c, &cmd, "kubelet")?;
    let stop = "validate CRI v1 runtime API for endpoint";
    expect(log.contains(stop), || {
        format!("the kubelet did not reach the runtime:\n{log}")
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
    // Negative control: the kubelet itself refuses a label kubeseed refuses, before the
    // runtime, so the pass above means the labels were judged.
    let mut bad = cmd.clone();
    bad.push("--node-labels=node-role.kubernetes.io/worker=".into());
    let log = run_kubelet(c, &bad, "kubelet-bad-label")?;
    expect(
        log.contains("node-role.kubernetes.io/worker") && !log.contains(stop),
        || format!("the kubelet accepted node-role.kubernetes.io/worker:\n{log}"),
    )?;

    // The Node as a node identity registers it (the kubelet's own TLS-bootstrap code, from
    // the pool's bootstrap kubeconfig), with the pool's labels and taints.
    let out = crate::cluster::tls_bootstrap(
        c,
        &node.join("etc/kubernetes/bootstrap-kubelet.conf"),
        "ws-node",
        "ws",
    )
    .output()
    .map_err(|e| e.to_string())?;
    expect(out.status.success(), || crate::cluster::text(&out))?;
    // The Node as its identity registers it, with the pool's labels and taints.
    let kubeconfig = c.scratch("ws-node.conf");
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

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
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
