//! The kube-proxy add-on against the real cluster: its objects are accepted and in place, the
//! bootstrap token may read its ConfigMap (which `kubeadm join` loads), and the real
//! kube-proxy, run exactly as the rendered DaemonSet runs it with the rendered `config.conf`
//! and `kubeconfig.conf`, programs the `kubernetes` Service.
//!
//! kube-proxy runs on a lab host of its own (tests/e2e/lab.rs: a fresh network namespace on
//! the test's bridge, which reaches the API server at its rendered address, and a private
//! mount namespace), so its iptables or nftables rules live in that namespace only. What the
//! kubelet would provide comes from the cluster and is mounted inside that host alone: the
//! ConfigMap at `/var/lib/kube-proxy`, a TokenRequest token of the `kube-proxy`
//! ServiceAccount and the `kube-root-ca.crt` CA at
//! `/var/run/secrets/kubernetes.io/serviceaccount`.
//!
//! One stand-in: `nf_conntrack_max` is a global sysctl that the kernel makes read-only outside
//! the initial network namespace, and kube-proxy (by default) sets it at start-up and exits if
//! it cannot. Inside the host a scratch file is bind-mounted over
//! `/proc/sys/net/netfilter/nf_conntrack_max` to take that write; the machine's value is
//! never changed.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::cluster::*;
use crate::lab::ProcId;
use crate::{expect, kubeadm_join_dry_run, refused};

/// What `kubeadm join` says when it cannot read the kube-proxy ConfigMap (it goes on).
const NOT_LOADED: &str = "No kubeproxy.config.k8s.io/v1alpha1 config is loaded";
/// What `kubeadm join --dry-run` says when a GET fails: it then answers with a placeholder
/// object of its own (for kube-proxy: kubeadm's defaults, no `mode`).
const PLACEHOLDER: &str = "[dryrun] Real object does not exist";

/// Whether `kubeadm join --dry-run` (`said`: all it printed) loaded the cluster's kube-proxy
/// ConfigMap, the one rendered with `mode` (the placeholder has none): Ok, or why not.
pub fn kubeadm_loaded_config(said: &str, mode: &str) -> Result<(), String> {
    let asked = "[dryrun] Resource name \"kube-proxy\", namespace \"kube-system\"";
    let (_, after) = said
        .split_once(asked)
        .ok_or("kubeadm never asked for the kube-proxy ConfigMap")?;
    let answer = after
        .split("[dryrun] Would perform")
        .next()
        .unwrap_or_default();
    let real = !answer.contains(PLACEHOLDER) && answer.contains(&format!("mode: {mode}"));
    expect(real && !said.contains(NOT_LOADED), || {
        format!("kubeadm did not load the rendered kube-proxy ConfigMap; it got:\n{answer}")
    })
}

const FILES: [&str; 6] = [
    "kube-proxy-serviceaccount.yaml",
    "kube-proxy-clusterrolebinding.yaml",
    "kube-proxy-role.yaml",
    "kube-proxy-rolebinding.yaml",
    "kube-proxy-configmap.yaml",
    "kube-proxy-daemonset.yaml",
];

/// `kubectl get` of the kube-proxy ConfigMap, before the output flag.
const GET_CONFIG_MAP: [&str; 5] = ["get", "configmap", "kube-proxy", "-n", "kube-system"];

fn manifest(out: &Path, file: &str) -> String {
    s(&out.join("manifests").join(file))
}

/// The objects are accepted by this release's API server (server-side strict validation)
/// and exist as applied; kube-proxy's ServiceAccount has `system:node-proxier`'s rights
/// (the `default` one has not); the bootstrap token may read the ConfigMap only through the
/// rendered RoleBinding, and without it `kubeadm join` only warns.
pub fn objects_and_rbac(c: &Cluster, token: &Value, anon: &Path) -> Result<(), String> {
    for file in FILES {
        c.admin(&[
            "apply",
            "--validate=strict",
            "--dry-run=server",
            "-f",
            &manifest(&c.out, file),
        ])?;
        let rendered = c.parse(&c.out.join("manifests").join(file));
        let kind = rendered["kind"].as_str().unwrap_or_default();
        let name = rendered["metadata"]["name"].as_str().unwrap_or_default();
        let mut args = vec!["get", kind, name, "-o", "json"];
        if let Some(ns) = rendered["metadata"]["namespace"].as_str() {
            args.extend(["-n", ns]);
        }
        let live: Value = serde_json::from_str(&c.admin(&args)?).map_err(|e| e.to_string())?;
        for field in ["data", "roleRef", "subjects", "rules"] {
            expect(live.get(field) == rendered.get(field), || {
                format!("{kind} {name}: live {field} {:?}", live.get(field))
            })?;
        }
    }

    let can = |who: &str| {
        c.admin(&[
            "auth",
            "can-i",
            "watch",
            "endpointslices.discovery.k8s.io",
            &format!("--as=system:serviceaccount:kube-system:{who}"),
        ])
    };
    expect(
        can("kube-proxy").map(|o| o.trim() == "yes") == Ok(true),
        || {
            format!(
                "kube-proxy may not watch EndpointSlices: {:?}",
                can("kube-proxy")
            )
        },
    )?;
    refused(can("default"), "): no")?;

    let bootstrap_token = token["token"].as_str().unwrap_or_default();
    let token_flag = format!("--token={bootstrap_token}");
    let read = || {
        let mut args = vec![token_flag.as_str()];
        args.extend(GET_CONFIG_MAP);
        args.extend(["-o", "name"]);
        c.kubectl_at(anon, &args)
    };
    read()?;
    let pin = token["discovery_token_ca_cert_hash"]
        .as_str()
        .unwrap_or_default();
    // The control: without the RoleBinding the token is refused and kubeadm warns.
    c.admin(&["delete", "rolebinding", "kube-proxy", "-n", "kube-system"])?;
    let without = wait("the token to lose the kube-proxy ConfigMap", 30, || {
        refused(read(), "forbidden")
    })
    .and_then(|()| {
        let (ok, said) = kubeadm_join_dry_run(c, token, pin);
        let placeholder = said.contains(PLACEHOLDER) || said.contains(NOT_LOADED);
        expect(
            ok && placeholder && kubeadm_loaded_config(&said, "iptables").is_err(),
            || format!("kubeadm join without the RoleBinding (want success without it):\n{said}"),
        )
    });
    c.admin(&[
        "apply",
        "-f",
        &manifest(&c.out, "kube-proxy-rolebinding.yaml"),
    ])?;
    without?;
    wait(
        "the token to read the kube-proxy ConfigMap again",
        30,
        || read().map(|_| ()),
    )
}

/// Runs the real kube-proxy in `mode` on a fresh host and waits for its rules for the
/// `kubernetes` Service; none before it ran, none on the workstation.
pub fn syncs(c: &mut Cluster, mode: &str) -> Result<(), String> {
    // The cluster's render is iptables (the default); other modes render the same spec with
    // the mode set, whose ConfigMap differs in config.conf's `mode` only.
    let (config_map, source) = if mode == "iptables" {
        let mut args = GET_CONFIG_MAP.to_vec();
        args.extend(["-o", "json"]);
        let live: Value = serde_json::from_str(&c.admin(&args)?).map_err(|e| e.to_string())?;
        let rendered = c.parse(&c.out.join("manifests/kube-proxy-configmap.yaml"));
        expect(live["data"] == rendered["data"], || {
            "the live kube-proxy ConfigMap is not the rendered one".into()
        })?;
        (live, "the live ConfigMap")
    } else {
        let out = c.render_variant(
            &format!("kp-{mode}"),
            "[addons]",
            &format!("kube_proxy_mode = \"{mode}\""),
        );
        (
            c.parse(&out.join("manifests/kube-proxy-configmap.yaml")),
            "the rendered ConfigMap",
        )
    };
    let data = |key: &str| {
        config_map["data"][key]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("{source} has no {key}"))
    };
    let (config, kubeconfig) = (data("config.conf")?, data("kubeconfig.conf")?);
    expect(config.contains(&format!("\nmode: {mode}\n")), || {
        format!("config.conf is not in mode {mode}:\n{config}")
    })?;
    let server = api_server(c);
    expect(kubeconfig.contains(&format!("server: {server}\n")), || {
        format!("kubeconfig.conf's server is not {server}:\n{kubeconfig}")
    })?;

    let service_ip = c.admin(&[
        "get",
        "service",
        "kubernetes",
        "-n",
        "default",
        "-o",
        "jsonpath={.spec.clusterIP}",
    ])?;
    let api = c.controllers[0].1.clone();
    let octet = if mode == "iptables" { 60 } else { 61 };
    let node = format!("kp-{mode}");
    c.lab.add_host(&node, octet);

    // What the kubelet would mount, in scratch directories bound inside that host only.
    let root = c.scratch(&node);
    let (conf_dir, sa_dir) = (root.join("config"), root.join("serviceaccount"));
    let write = |path: &Path, text: &str| {
        fs::create_dir_all(path.parent().unwrap_or(Path::new("/")))
            .and_then(|()| fs::write(path, text))
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    write(&conf_dir.join("config.conf"), &config)?;
    write(&conf_dir.join("kubeconfig.conf"), &kubeconfig)?;
    let sa_token = c.admin(&[
        "create",
        "token",
        "kube-proxy",
        "-n",
        "kube-system",
        "--duration=1h",
    ])?;
    write(&sa_dir.join("token"), sa_token.trim())?;
    let ca = c.admin(&[
        "get",
        "configmap",
        "kube-root-ca.crt",
        "-n",
        "kube-system",
        "-o",
        "jsonpath={.data.ca\\.crt}",
    ])?;
    write(&sa_dir.join("ca.crt"), &ca)?;
    let conntrack = root.join("nf_conntrack_max");
    let max = fs::read_to_string("/proc/sys/net/netfilter/nf_conntrack_max")
        .map_err(|e| format!("nf_conntrack_max: {e}"))?;
    write(&conntrack, &max)?;
    let sh = |script: &str| c.sh(&node, script);
    sh("mkdir -p /var/lib/kube-proxy /run/secrets/kubernetes.io/serviceaccount")?;
    c.lab.bind(&node, &conf_dir, "/var/lib/kube-proxy");
    c.lab.bind(
        &node,
        &sa_dir,
        "/var/run/secrets/kubernetes.io/serviceaccount",
    );
    c.lab.bind(
        &node,
        &conntrack,
        "/proc/sys/net/netfilter/nf_conntrack_max",
    );

    // kube-proxy finds its Node's address, as on a real node (else it waits 30 s for it).
    let node_file = c.scratch(&format!("{node}-node.json"));
    let node_json = serde_json::json!({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": node},
        "status": {"addresses": [{"type": "InternalIP", "address": format!("{}.{octet}", crate::lab::SUBNET_PREFIX)}]},
    });
    write(&node_file, &node_json.to_string())?;
    c.admin(&["create", "-f", &s(&node_file)])?;

    let synced = |ruleset: &str| -> Result<(), String> {
        let (service, endpoint) = if mode == "iptables" {
            let service = ruleset.lines().any(|l| {
                l.starts_with("-A KUBE-SERVICES")
                    && l.contains(&format!("-d {service_ip}/32"))
                    && l.contains("default/kubernetes:https")
            });
            let endpoint = ruleset
                .lines()
                .any(|l| l.contains(&format!("--to-destination {api}:6443")));
            (service, endpoint)
        } else {
            let table = ruleset.contains("table ip kube-proxy {");
            let service = table
                && ruleset.lines().any(|l| {
                    l.contains(&format!("{service_ip} . tcp . 443"))
                        && l.contains("default/kubernetes/tcp/https")
                });
            // One endpoint chain per endpoint (1.32), or the service's chain picks from a map
            // of them (later releases).
            let endpoint = ruleset.contains(&format!("dnat to {api}:6443"))
                || ruleset
                    .lines()
                    .any(|l| l.contains("dnat ip to") && l.contains(&format!(": {api} . 6443")));
            (service, endpoint)
        };
        expect(service && endpoint, || {
            let kube: Vec<&str> = ruleset
                .lines()
                .filter(|l| l.contains("kubernetes") || l.contains("dnat"))
                .take(30)
                .collect();
            format!(
                "no rule for default/kubernetes {service_ip} → {api}:6443 (service rule: \
                 {service}, endpoint: {endpoint}); its lines:\n{}",
                kube.join("\n")
            )
        })
    };

    // The control: a fresh namespace has no such rules.
    let before = rules(c, mode, &node)?;
    expect(
        synced(&before).is_err() && !before.contains("KUBE-"),
        || format!("{node} has kube-proxy rules before kube-proxy ran:\n{before}"),
    )?;

    // Exactly the DaemonSet's command, the kubelet's part done: $(NODE_NAME) expanded, the
    // image's /usr/local/bin/kube-proxy replaced by this release's binary.
    let ds = c.parse(&c.out.join("manifests/kube-proxy-daemonset.yaml"));
    let mut argv: Vec<String> = ds["spec"]["template"]["spec"]["containers"][0]["command"]
        .as_array()
        .ok_or("the DaemonSet has no command")?
        .iter()
        .map(|a| {
            a.as_str()
                .unwrap_or_default()
                .replace("$(NODE_NAME)", &node)
        })
        .collect();
    match argv.first_mut() {
        Some(bin) => *bin = c.bin("kube-proxy"),
        None => return Err("the DaemonSet's command is empty".into()),
    }
    let id = c.lab.spawn(&node, "kube-proxy", &argv);
    let result = wait(&format!("kube-proxy ({mode}) to sync"), 90, || {
        if let Some(status) = c.lab.exited(id) {
            return Err(format!("kube-proxy exited {status}"));
        }
        synced(&rules(c, mode, &node)?)
    })
    .and_then(|()| {
        // Its rules are in its own namespace only.
        let ws = rules(c, mode, "ws")?;
        expect(!ws.contains("KUBE-") && !ws.contains("kube-proxy"), || {
            format!("kube-proxy rules reached the workstation:\n{ws}")
        })
    });
    finish(c, id, &node, result)
}

/// The rules of the mode's tool on `host`: `iptables-save`, or `nft list ruleset`.
fn rules(c: &Cluster, mode: &str, host: &str) -> Result<String, String> {
    let argv: Vec<String> = if mode == "iptables" {
        vec!["iptables-save".into()]
    } else {
        ["nft", "list", "ruleset"].map(String::from).to_vec()
    };
    let out = c.lab.run(host, &argv);
    expect(out.status.success(), || text(&out))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Stops kube-proxy (by its PID) and removes its Node, whatever the check's outcome.
fn finish(
    c: &mut Cluster,
    id: ProcId,
    node: &str,
    result: Result<(), String>,
) -> Result<(), String> {
    let log = c.lab.log_tail(id, 20);
    c.lab.kill(id);
    let removed = c.admin(&["delete", "node", node]);
    result.map_err(|e| format!("{e}\nkube-proxy's log:\n{log}"))?;
    removed.map(|_| ())
}
