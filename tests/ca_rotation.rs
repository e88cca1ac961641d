//! CA rotation without an outage (`[pki.trust]`, README "Rotation"), step by step:
//!
//! - step 0: before, the CA at generation 1;
//! - step 1: `trust.<ca> = [1, 2]`: the bundle gains generation 2's certificate;
//! - step 2: `generations.<ca> = 2` too: the new CA signs every leaf again;
//! - step 3: the trust entry removed: the bundle holds generation 2 only.
//!
//! What each step changes is exact (the tree comparisons below), every intermediate state is
//! verifiable (`kubeseed verify`, `openssl verify` across adjacent steps in both directions,
//! because a node still at step N talks to a node already at N+1), and a real etcd cluster
//! whose members mix adjacent steps serves clients of both, and at step 3 refuses a client the
//! old CA signed. Everything runs on loopback (the interop fixture's 127.0.0.x controllers).

mod common;
#[allow(dead_code)]
#[path = "interop/etcd.rs"]
mod etcd;
#[allow(dead_code)]
#[path = "interop/kubeadm.rs"]
mod kubeadm;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use common::{hash_tree, kubeseed, FileEntry, Workspace, TEST_SEED_HEX};
use kubeadm::Cluster;

const FIXTURE: &str = "interop.toml";
const CONTROLLERS: [&str; 3] = ["cp-0", "cp-1", "cp-2"];

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// The fixture spec at `step` of rotating the CA `ca` (an asset id: `ca`, `etcd-ca`,
/// `front-proxy-ca`).
fn spec_at(ca: &str, step: usize) -> String {
    let base = common::fixture(FIXTURE);
    let extra = match step {
        0 => String::new(),
        1 => format!("[pki.trust]\n{ca} = [1, 2]\n"),
        2 => format!("[pki.generations]\n{ca} = 2\n[pki.trust]\n{ca} = [1, 2]\n"),
        3 => format!("[pki.generations]\n{ca} = 2\n"),
        _ => panic!("no step {step}"),
    };
    format!("{base}\n{extra}")
}

/// The four renders of one CA's rotation, each in its own directory.
struct Steps {
    _ws: Workspace,
    outs: Vec<PathBuf>,
}

impl Steps {
    fn render(ca: &str) -> Steps {
        let ws = Workspace::new();
        let seed = ws.write_seed(TEST_SEED_HEX);
        let mut outs = Vec::new();
        for step in 0..4 {
            let dir = ws.path().join(format!("step{step}"));
            fs::create_dir(&dir).expect("step dir");
            let spec = dir.join("cluster.toml");
            fs::write(&spec, spec_at(ca, step)).expect("write spec");
            let out = dir.join("out");
            kubeseed(
                ["render", s(&spec), "--out", s(&out), "--seed", s(&seed)],
                &[],
            )
            .success(&format!("kubeseed render, {ca} rotation step {step}"));
            outs.push(out);
        }
        Steps { _ws: ws, outs }
    }

    /// The paths `kubeseed plan --output json` says rendering the spec beside `spec_out`
    /// would change in `out` (exit status 2: there are changes).
    fn plan(&self, spec_out: &Path, out: &Path) -> BTreeSet<String> {
        let spec = spec_out.parent().expect("step dir").join("cluster.toml");
        let seed = self._ws.path().join("seed");
        let run = kubeseed(
            [
                "plan",
                s(&spec),
                "--out",
                s(out),
                "--seed",
                s(&seed),
                "--output",
                "json",
            ],
            &[],
        );
        assert_eq!(
            run.status.code(),
            Some(2),
            "kubeseed plan: {}{}",
            run.stdout,
            run.stderr
        );
        let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("plan JSON");
        v["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .map(|c| c["path"].as_str().expect("path").to_string())
            .collect()
    }

    fn out(&self, step: usize) -> &Path {
        &self.outs[step]
    }

    fn pki(&self, step: usize) -> PathBuf {
        self.outs[step].join("pki")
    }
}

/// Paths whose content or mode differs between two trees, or that only one has.
fn changed(a: &Path, b: &Path) -> BTreeSet<String> {
    let (ta, tb) = (hash_tree(a), hash_tree(b));
    let keys: BTreeSet<&String> = ta.keys().chain(tb.keys()).collect();
    keys.into_iter()
        .filter(|k| ta.get(*k) != tb.get(*k))
        .cloned()
        .collect()
}

fn set(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|p| p.to_string()).collect()
}

/// Where a rendered file sits on a node (README "The output directory").
fn host_path(rendered: &str, node: &str) -> Option<String> {
    if let Some(rest) = rendered.strip_prefix("pki/etcd/") {
        if let Some((who, file)) = rest.split_once('/') {
            return (who == node).then(|| format!("etc/kubernetes/pki/etcd/{file}"));
        }
    }
    if let Some(rest) = rendered.strip_prefix("pki/") {
        return Some(format!("etc/kubernetes/pki/{rest}"));
    }
    rendered
        .strip_prefix("kubeconfig/")
        .map(|rest| format!("etc/kubernetes/{rest}"))
}

/// Checks that going from step `a` to step `b` changes exactly `want` outside `nodes/`, and
/// inside `nodes/` exactly the copies of those files plus each affected bundle's archives
/// (`rootfs.tar`, `cloud-config.yaml`, `ignition.json`); every copy equals its source. And
/// that `kubeseed plan --output json` of step `b`'s spec against step `a`'s directory
/// announces exactly these changes, before anything is written.
fn assert_changes(what: &str, st: &Steps, a: usize, b: usize, want: &BTreeSet<String>) {
    let (a, b) = (st.out(a), st.out(b));
    let all = changed(a, b);
    let planned = st.plan(b, a);
    assert_eq!(
        planned, all,
        "{what}: `kubeseed plan` and the rendered trees disagree"
    );
    let (in_nodes, outside): (BTreeSet<String>, BTreeSet<String>) =
        all.into_iter().partition(|p| p.starts_with("nodes/"));
    assert_eq!(&outside, want, "{what}: files changed outside nodes/");

    let tree_b = hash_tree(b);
    let mut want_nodes = BTreeSet::new();
    for entry in fs::read_dir(b.join("nodes")).expect("nodes/") {
        let node = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let mut carries = false;
        for source in want.iter().filter(|p| *p != "index.json") {
            let Some(host) = host_path(source, &node) else {
                continue;
            };
            let copy = format!("nodes/{node}/rootfs/{host}");
            if let Some(entry) = tree_b.get(&copy) {
                carries = true;
                assert_eq!(
                    Some(&entry.sha256),
                    tree_b.get(source).map(|e: &FileEntry| &e.sha256),
                    "{what}: {copy} is not {source}"
                );
                want_nodes.insert(copy);
            }
        }
        if carries {
            for archive in ["rootfs.tar", "cloud-config.yaml", "ignition.json"] {
                let p = format!("nodes/{node}/{archive}");
                if tree_b.contains_key(&p) {
                    want_nodes.insert(p);
                }
            }
        }
    }
    assert_eq!(in_nodes, want_nodes, "{what}: files changed under nodes/");
}

/// Every kubeconfig: each embeds the Kubernetes CA bundle.
const KUBECONFIGS: [&str; 5] = [
    "kubeconfig/admin.conf",
    "kubeconfig/bootstrap-kubelet.conf",
    "kubeconfig/controller-manager.conf",
    "kubeconfig/scheduler.conf",
    "kubeconfig/super-admin.conf",
];
const CLUSTER_INFO: &str = "manifests/cluster-info-configmap.yaml";

/// The leaves the etcd CA signs.
fn etcd_leaves() -> Vec<String> {
    let mut v = vec![
        "pki/apiserver-etcd-client.crt".to_string(),
        "pki/etcd/healthcheck-client.crt".to_string(),
    ];
    for c in CONTROLLERS {
        v.push(format!("pki/etcd/{c}/server.crt"));
        v.push(format!("pki/etcd/{c}/peer.crt"));
    }
    v
}

#[test]
fn etcd_ca_steps_change_exactly_the_bundle_then_the_leaves() {
    let st = Steps::render("etcd-ca");
    let bundle_only = set(&["index.json", "pki/etcd/ca.crt"]);
    assert_changes("etcd-ca step 0 -> 1", &st, 0, 1, &bundle_only);
    let mut rekey = set(&["index.json", "pki/etcd/ca.crt", "pki/etcd/ca.key"]);
    rekey.extend(etcd_leaves());
    assert_changes("etcd-ca step 1 -> 2", &st, 1, 2, &rekey);
    assert_changes("etcd-ca step 2 -> 3", &st, 2, 3, &bundle_only);
}

#[test]
fn kubernetes_ca_steps_change_exactly_the_bundle_its_embedders_then_the_leaves() {
    let st = Steps::render("ca");
    // The bundle is embedded in every kubeconfig and in cluster-info.
    let mut embedders = set(&["index.json", "pki/ca.crt", CLUSTER_INFO]);
    embedders.extend(set(&KUBECONFIGS));
    assert_changes("ca step 0 -> 1", &st, 0, 1, &embedders);
    // The kubeconfigs change anyway (their client certificates, the bundle's order).
    let mut rekey = embedders.clone();
    rekey.extend(set(&[
        "pki/ca.key",
        "pki/apiserver.crt",
        "pki/apiserver-kubelet-client.crt",
    ]));
    assert_changes("ca step 1 -> 2", &st, 1, 2, &rekey);
    assert_changes("ca step 2 -> 3", &st, 2, 3, &embedders);

    // Adding trust leaves every key and every leaf certificate alone, including the ones
    // inside the kubeconfigs.
    for step in [0, 2] {
        for conf in KUBECONFIGS.iter().filter(|c| !c.contains("bootstrap")) {
            let (a, b) = (
                kubeconfig_field(st.out(step), conf, "client-certificate-data"),
                kubeconfig_field(st.out(step + 1), conf, "client-certificate-data"),
            );
            assert_eq!(
                a,
                b,
                "{conf}: client certificate changed by step {step} -> {}",
                step + 1
            );
            let (a, b) = (
                kubeconfig_field(st.out(step), conf, "client-key-data"),
                kubeconfig_field(st.out(step + 1), conf, "client-key-data"),
            );
            assert_eq!(
                a,
                b,
                "{conf}: client key changed by step {step} -> {}",
                step + 1
            );
        }
    }
}

#[test]
fn front_proxy_ca_steps_change_exactly_the_bundle_then_the_leaf() {
    let st = Steps::render("front-proxy-ca");
    let bundle_only = set(&["index.json", "pki/front-proxy-ca.crt"]);
    assert_changes("front-proxy-ca step 0 -> 1", &st, 0, 1, &bundle_only);
    let rekey = set(&[
        "index.json",
        "pki/front-proxy-ca.crt",
        "pki/front-proxy-ca.key",
        "pki/front-proxy-client.crt",
    ]);
    assert_changes("front-proxy-ca step 1 -> 2", &st, 1, 2, &rekey);
    assert_changes("front-proxy-ca step 2 -> 3", &st, 2, 3, &bundle_only);
}

/// PEM certificates of a file, in order.
fn pem_blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        cur.push_str(line);
        cur.push('\n');
        if line.starts_with("-----END ") {
            out.push(std::mem::take(&mut cur));
        }
    }
    out
}

#[test]
fn bundles_hold_the_signer_first_then_byte_identical_copies_of_the_other_generations() {
    let st = Steps::render("etcd-ca");
    let read = |step: usize| {
        fs::read_to_string(st.pki(step).join("etcd/ca.crt")).expect("read etcd/ca.crt")
    };
    let (b0, b1, b2, b3) = (
        pem_blocks(&read(0)),
        pem_blocks(&read(1)),
        pem_blocks(&read(2)),
        pem_blocks(&read(3)),
    );
    assert_eq!(b0.len(), 1);
    assert_eq!(b3.len(), 1);
    // Step 1: generation 1 (signing) then generation 2; step 2: the other way round.
    assert_eq!(b1, vec![b0[0].clone(), b3[0].clone()]);
    assert_eq!(b2, vec![b3[0].clone(), b0[0].clone()]);
    // The first certificate pairs with the key beside it.
    for step in 0..4 {
        let pki = st.pki(step);
        let cert_key = openssl_out(&[
            "x509",
            "-in",
            s(&pki.join("etcd/ca.crt")),
            "-noout",
            "-pubkey",
        ]);
        let key_pub = openssl_out(&["pkey", "-in", s(&pki.join("etcd/ca.key")), "-pubout"]);
        assert_eq!(
            cert_key, key_pub,
            "step {step}: etcd/ca.crt's first certificate and etcd/ca.key"
        );
    }
}

fn openssl_out(args: &[&str]) -> String {
    common::run(std::process::Command::new(common::openssl()).args(args))
        .success(&format!("openssl {}", args.join(" ")))
        .stdout
}

/// `openssl verify` of `cert` against the trust bundle `ca_file`, for `purpose`, at `at`.
fn openssl_verify(ca_file: &Path, cert: &Path, purpose: &str, at: i64) -> Result<(), String> {
    let at = at.to_string();
    let run = common::run(std::process::Command::new(common::openssl()).args([
        "verify",
        "-x509_strict",
        "-no-CApath",
        "-no-CAstore",
        "-attime",
        &at,
        "-purpose",
        purpose,
        "-CAfile",
        s(ca_file),
        s(cert),
    ]));
    if run.status.success() && run.stdout.trim_end().ends_with(": OK") {
        Ok(())
    } else {
        Err(format!("{}{}", run.stdout, run.stderr).trim().to_string())
    }
}

/// A field of a kubeconfig's user or cluster, base64-decoded.
fn kubeconfig_field(out: &Path, conf: &str, field: &str) -> Vec<u8> {
    let text = fs::read_to_string(out.join(conf)).expect("read kubeconfig");
    let value = text
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{field}: ")))
        .unwrap_or_else(|| panic!("{conf} has no {field}"));
    base64::engine::general_purpose::STANDARD
        .decode(value.trim().trim_matches('"'))
        .unwrap_or_else(|e| panic!("{conf} {field} is not base64: {e}"))
}

/// For every pair of adjacent steps, each `(cert, purpose)` of one step verifies against the
/// trust bundle `bundle` of the other, both ways; step 0's certificates do not verify
/// against step 3's bundle (the old CA is gone).
fn assert_adjacent_steps_verify(st: &Steps, bundle: &str, certs: &[(PathBuf, &str)]) {
    let at = Cluster::from_spec(&common::fixture(FIXTURE)).inside_validity();
    let mut failures = Vec::new();
    for (a, b) in [(0, 1), (1, 2), (2, 3)] {
        for (from, to) in [(a, b), (b, a)] {
            for (cert, purpose) in certs {
                let cert_path = st.out(from).join(cert);
                let ca_path = st.out(to).join(bundle);
                if let Err(e) = openssl_verify(&ca_path, &cert_path, purpose, at) {
                    failures.push(format!(
                        "step {from}'s {} ({purpose}) against step {to}'s {bundle}: {e}",
                        cert.display()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for (cert, purpose) in certs {
        let cert_path = st.out(0).join(cert);
        assert!(
            openssl_verify(&st.out(3).join(bundle), &cert_path, purpose, at).is_err(),
            "step 0's {} still verifies against step 3's {bundle}",
            cert.display()
        );
    }
}

#[test]
fn etcd_ca_every_adjacent_step_pair_verifies_both_ways_with_openssl() {
    let st = Steps::render("etcd-ca");
    let mut certs = vec![
        (PathBuf::from("pki/apiserver-etcd-client.crt"), "sslclient"),
        (
            PathBuf::from("pki/etcd/healthcheck-client.crt"),
            "sslclient",
        ),
    ];
    for c in CONTROLLERS {
        certs.push((
            PathBuf::from(format!("pki/etcd/{c}/server.crt")),
            "sslserver",
        ));
        certs.push((PathBuf::from(format!("pki/etcd/{c}/peer.crt")), "sslclient"));
        certs.push((PathBuf::from(format!("pki/etcd/{c}/peer.crt")), "sslserver"));
    }
    assert_adjacent_steps_verify(&st, "pki/etcd/ca.crt", &certs);
}

#[test]
fn kubernetes_ca_every_adjacent_step_pair_verifies_both_ways_with_openssl() {
    let st = Steps::render("ca");
    // admin.conf's client certificate, as a file; and its CA data is the bundle.
    for step in 0..4 {
        let out = st.out(step);
        fs::write(
            out.join("admin-client.crt"),
            kubeconfig_field(out, "kubeconfig/admin.conf", "client-certificate-data"),
        )
        .expect("write admin client cert");
        let bundle = fs::read(out.join("pki/ca.crt")).expect("read pki/ca.crt");
        for conf in KUBECONFIGS {
            assert_eq!(
                kubeconfig_field(out, conf, "certificate-authority-data"),
                bundle,
                "step {step}: {conf}'s CA data is not pki/ca.crt"
            );
        }
    }
    let certs = [
        (PathBuf::from("pki/apiserver.crt"), "sslserver"),
        (PathBuf::from("admin-client.crt"), "sslclient"),
        (
            PathBuf::from("pki/apiserver-kubelet-client.crt"),
            "sslclient",
        ),
    ];
    assert_adjacent_steps_verify(&st, "pki/ca.crt", &certs);
}

#[test]
fn kubeseed_verify_passes_on_every_step() {
    for ca in ["ca", "etcd-ca", "front-proxy-ca"] {
        let st = Steps::render(ca);
        for step in 0..4 {
            kubeseed(["verify", s(st.out(step))], &[])
                .success(&format!("kubeseed verify, {ca} rotation step {step}"));
        }
    }
}

#[test]
fn join_pins_the_signing_ca_at_every_step() {
    let st = Steps::render("ca");
    let pins: Vec<String> = (0..4)
        .map(|step| {
            let spec = st
                .out(step)
                .parent()
                .expect("step dir")
                .join("cluster.toml");
            let seed = st._ws.path().join("seed");
            let run =
                kubeseed(["join", s(&spec), "--seed", s(&seed)], &[]).success("kubeseed join");
            run.stdout
                .lines()
                .find_map(|l| l.strip_prefix("discovery-token-ca-cert-hash: "))
                .expect("a pin line")
                .to_string()
        })
        .collect();
    // Generation 1 signs in steps 0 and 1, generation 2 in steps 2 and 3.
    assert_eq!(pins[0], pins[1]);
    assert_eq!(pins[2], pins[3]);
    assert_ne!(pins[1], pins[2]);
}

/// A real etcd cluster for each pair of adjacent steps: cp-0 at step N+1, cp-1 and cp-2 at
/// step N. The apiserver's etcd client of either step writes through every member and reads
/// back through the next (peer TLS across the two steps). At step 3 a client the old CA
/// signed (step 0's) is refused.
#[test]
fn etcd_cluster_mixing_adjacent_steps_serves_clients_of_both() {
    let st = Steps::render("etcd-ca");
    let cluster = Cluster::from_spec(&common::fixture(FIXTURE));
    for (n, next) in [(0, 1), (1, 2), (2, 3)] {
        let pkis = vec![st.pki(next), st.pki(n), st.pki(n)];
        let etcd = etcd::EtcdCluster::start_mixed(&pkis, &cluster.controllers);
        let eps = etcd.endpoints().to_vec();
        for client_step in [n, next] {
            for (i, ep) in eps.iter().enumerate() {
                let key = format!("/rotation/{n}-{next}/client-{client_step}/via-{i}");
                let value = format!("step-{client_step}");
                etcd.etcdctl_with(
                    ep,
                    &st.pki(client_step),
                    "apiserver-etcd-client",
                    &["put", &key, &value],
                )
                .success(&format!(
                    "steps {n}/{next}: put via {ep} with step {client_step}'s client\n{}",
                    etcd.logs()
                ));
                let other = &eps[(i + 1) % eps.len()];
                let got = etcd
                    .etcdctl_with(
                        other,
                        &st.pki(client_step),
                        "apiserver-etcd-client",
                        &["get", &key, "--print-value-only"],
                    )
                    .success(&format!(
                        "steps {n}/{next}: get via {other} with step {client_step}'s client\n{}",
                        etcd.logs()
                    ));
                assert_eq!(
                    got.stdout.trim(),
                    value,
                    "steps {n}/{next}: read back via {other}"
                );
            }
        }
        drop(etcd);
    }

    // Step 3 everywhere: the old CA is no longer trusted.
    let pkis = vec![st.pki(3), st.pki(3), st.pki(3)];
    let etcd = etcd::EtcdCluster::start_mixed(&pkis, &cluster.controllers);
    let all = etcd.endpoints().join(",");
    etcd.etcdctl(
        &all,
        "apiserver-etcd-client",
        &["put", "/rotation/done", "yes"],
    )
    .success("step 3: put with step 3's client");
    // Step 0's client certificate and key, with step 3's bundle to trust the servers.
    let mixed = tempfile::tempdir().expect("temp dir");
    let pki = mixed.path();
    fs::create_dir_all(pki.join("etcd")).expect("mkdir");
    fs::copy(st.pki(3).join("etcd/ca.crt"), pki.join("etcd/ca.crt")).expect("copy bundle");
    for f in ["apiserver-etcd-client.crt", "apiserver-etcd-client.key"] {
        fs::copy(st.pki(0).join(f), pki.join(f)).expect("copy old client");
    }
    // Refused at the TLS handshake, by every member, for the reason that matters.
    const REFUSAL: &str = "certificate signed by unknown authority";
    for ep in etcd.endpoints() {
        let before = etcd.log_of(ep).matches(REFUSAL).count();
        let refused = etcd.etcdctl_with(
            ep,
            pki,
            "apiserver-etcd-client",
            &["get", "/rotation/done", "--print-value-only"],
        );
        assert!(
            !refused.status.success() && !refused.stdout.contains("yes"),
            "step 3's member at {ep} accepted a client the old etcd CA signed:\n{}{}",
            refused.stdout,
            refused.stderr
        );
        common::wait_for(
            "etcd to log the refused handshake",
            Duration::from_secs(10),
            Duration::from_millis(100),
            || {
                if etcd.log_of(ep).matches(REFUSAL).count() > before {
                    Ok(())
                } else {
                    Err(format!("no {REFUSAL:?} in the log of {ep}"))
                }
            },
        );
    }
}
