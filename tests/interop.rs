//! PKI interop: what `kubeseed render` writes must be accepted by the real tools that will
//! consume it. openssl verifies every chain, purpose, identity and key pair; a 3-member etcd
//! cluster on loopback runs with client and peer mTLS on the rendered certificates; kubectl
//! parses every kubeconfig; `index.json` matches the files on disk.
//!
//! The checks form an audit that collects every finding before failing, so one run names every
//! broken certificate field. The same audit runs on a reference directory made with openssl
//! alone, which it must pass, and which tests then break on purpose to prove each check fires.

#[path = "interop/audit.rs"]
mod audit;
mod common;
#[path = "interop/etcd.rs"]
mod etcd;
#[path = "interop/kubeadm.rs"]
mod kubeadm;
#[path = "interop/reference.rs"]
mod reference;

use std::fs;
use std::path::{Path, PathBuf};

use audit::{audit, audit_index, audit_kubeconfigs, audit_pki, kubectl_view, s};
use kubeadm::{CertSpec, Cluster, San};

const FIXTURE: &str = "interop.toml";

// ---------------------------------------------------------------------------------------------
// etcd

/// A real etcd cluster on the directory's certificates: every member serves reads and writes
/// to the apiserver's etcd client, answers the healthcheck client, and refuses a client whose
/// certificate the Kubernetes CA (not the etcd CA) signed.
fn exercise_etcd(out: &Path, c: &Cluster) {
    let cluster = etcd::EtcdCluster::start(out, &c.controllers);
    let eps = cluster.endpoints().to_vec();
    let logs = || cluster.logs();

    let all = eps.join(",");
    let health = cluster.etcdctl(&all, "etcd/healthcheck-client", &["endpoint", "health"]);
    let said = format!("{}{}", health.stdout, health.stderr);
    assert!(
        health.status.success(),
        "endpoint health failed: {said}\n{}",
        logs()
    );
    for ep in &eps {
        assert!(
            said.contains(&format!("{ep} is healthy")),
            "{ep} not healthy: {said}"
        );
    }

    let members = cluster
        .etcdctl(
            &all,
            "apiserver-etcd-client",
            &["member", "list", "-w", "simple"],
        )
        .success("etcdctl member list");
    let mut names: Vec<&str> = members
        .stdout
        .lines()
        .filter_map(|l| l.split(", ").nth(2))
        .collect();
    names.sort();
    let want: Vec<&str> = c.controllers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(want, names, "member list: {}", members.stdout);

    // Write through every member, read back through the next one: replication over peer TLS.
    for (i, ep) in eps.iter().enumerate() {
        let key = format!("/kubeseed-interop/via-{}", c.controllers[i].name);
        let value = format!("written-through-{ep}");
        cluster
            .etcdctl(ep, "apiserver-etcd-client", &["put", &key, &value])
            .success(&format!("put via {ep}"));
        let next = &eps[(i + 1) % eps.len()];
        let got = cluster
            .etcdctl(
                next,
                "apiserver-etcd-client",
                &["get", &key, "--print-value-only"],
            )
            .success(&format!("get via {next}"));
        assert_eq!(got.stdout.trim_end(), value, "get {key} via {next}");
    }

    // A client certificate from the wrong CA must be refused at the TLS handshake.
    let ep = &eps[0];
    const REFUSAL: &str = "certificate signed by unknown authority";
    let before = cluster.log_of(ep).matches(REFUSAL).count();
    let key = format!("/kubeseed-interop/via-{}", c.controllers[0].name);
    let denied = cluster.etcdctl(
        ep,
        "apiserver-kubelet-client",
        &["get", &key, "--print-value-only"],
    );
    assert!(
        !denied.status.success(),
        "etcd accepted a client certificate signed by the Kubernetes CA: {denied:?}"
    );
    assert!(
        !denied.stdout.contains("written-through"),
        "etcd returned the value to a foreign client: {denied:?}"
    );
    common::wait_for(
        "etcd to log the refused handshake",
        std::time::Duration::from_secs(10),
        std::time::Duration::from_millis(100),
        || {
            let log = cluster.log_of(ep);
            if log.matches(REFUSAL).count() > before {
                Ok(())
            } else {
                Err(format!("no {REFUSAL:?} in the log of {ep}"))
            }
        },
    );
}

// ---------------------------------------------------------------------------------------------
// The reference directory

fn fixture_cluster() -> Cluster {
    Cluster::from_spec(&common::fixture(FIXTURE))
}

fn reference_dir(c: &Cluster) -> (tempfile::TempDir, reference::Issuer) {
    let dir = tempfile::Builder::new()
        .prefix("kubeseed-reference-out-")
        .tempdir()
        .expect("temp dir");
    let issuer = reference::build(c, dir.path());
    (dir, issuer)
}

#[test]
fn reference_layout_passes_the_audit() {
    let c = fixture_cluster();
    let (dir, _) = reference_dir(&c);
    audit(dir.path(), &c).assert_none("openssl-made reference directory");
}

#[test]
fn reference_layout_runs_an_etcd_cluster() {
    let c = fixture_cluster();
    let (dir, _) = reference_dir(&c);
    exercise_etcd(dir.path(), &c);
}

/// Each defect planted in a reference directory shows up as a finding naming file and field.
#[test]
fn audit_catches_planted_defects() {
    let c = fixture_cluster();
    let (dir, mut issuer) = reference_dir(&c);
    let out = dir.path();
    let certs = kubeadm::certificates(&c);
    let row = |base: &str| certs.iter().find(|s| s.base == base).cloned().expect("row");
    let reissue = |issuer: &mut reference::Issuer, spec: &CertSpec, base: &str| {
        let (crt, key) = (
            out.join(format!("{base}.crt")),
            out.join(format!("{base}.key")),
        );
        issuer.issue(out, spec, spec.validity(&c), &crt, &key);
    };

    // apiserver without the last controller's address.
    let mut apiserver = row("pki/apiserver");
    apiserver.sans.remove(&San::Ip(c.controllers[2].address));
    reissue(&mut issuer, &apiserver, "pki/apiserver");
    // An etcd peer certificate signed by the Kubernetes CA.
    let mut peer = row("pki/etcd/cp-1/peer");
    peer.issuer = kubeadm::KUBERNETES_CA;
    reissue(&mut issuer, &peer, "pki/etcd/cp-1/peer");
    // A healthcheck client that may also serve.
    let mut health = row("pki/etcd/healthcheck-client");
    health.ekus.insert(kubeadm::Eku::ServerAuth);
    reissue(&mut issuer, &health, "pki/etcd/healthcheck-client");
    // A front-proxy client key that belongs to another certificate.
    issuer.new_key(&out.join("pki/front-proxy-client.key"));
    // A leaf valid one hour less than cert_validity.
    let kubelet_client = row("pki/apiserver-kubelet-client");
    let (crt, key) = (
        out.join("pki/apiserver-kubelet-client.crt"),
        out.join("pki/apiserver-kubelet-client.key"),
    );
    issuer.issue(
        out,
        &kubelet_client,
        c.cert_validity - time::Duration::hours(1),
        &crt,
        &key,
    );
    // admin.conf pointing elsewhere; scheduler.conf with a token where a certificate belongs.
    let admin = fs::read_to_string(out.join("kubeconfig/admin.conf")).unwrap();
    fs::write(
        out.join("kubeconfig/admin.conf"),
        admin.replace(&c.api_server, "https://127.0.0.99:6443"),
    )
    .unwrap();
    let boot = fs::read_to_string(out.join("kubeconfig/bootstrap-kubelet.conf")).unwrap();
    fs::write(
        out.join("kubeconfig/bootstrap-kubelet.conf"),
        boot.replace(reference::TOKEN, "ABCDEF.0123456789abcdef"),
    )
    .unwrap();
    fs::remove_file(out.join("kubeconfig/scheduler.conf")).unwrap();
    reference::write_index(out);
    // After indexing: a world-readable key and a stale hash.
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(out.join("pki/sa.key"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(
        out.join("pki/sa.pub"),
        fs::read_to_string(out.join("pki/sa.pub")).unwrap() + "\n",
    )
    .unwrap();
    fs::write(out.join("stray.txt"), "").unwrap();

    let f = audit(out, &c);
    f.assert_has(&["pki/apiserver.crt", "subjectAltName", "IP:127.0.0.13"]);
    f.assert_has(&[
        "pki/etcd/cp-1/peer.crt",
        "-purpose sslserver",
        "pki/etcd/ca.crt",
    ]);
    f.assert_has(&["pki/etcd/cp-1/peer.crt", "also verifies against pki/ca.crt"]);
    f.assert_has(&["pki/etcd/healthcheck-client.crt", "extendedKeyUsage"]);
    f.assert_has(&["pki/front-proxy-client.crt", "private key does not match"]);
    f.assert_has(&["pki/apiserver-kubelet-client.crt", "notAfter"]);
    f.assert_has(&["kubeconfig/admin.conf", "server", "127.0.0.99"]);
    f.assert_has(&["kubeconfig/bootstrap-kubelet.conf", "token is not"]);
    f.assert_has(&["kubeconfig/scheduler.conf", "missing"]);
    f.assert_has(&["pki/sa.key: mode on disk", "0600"]);
    f.assert_has(&["index.json pki/sa.key: mode"]);
    f.assert_has(&["index.json pki/sa.pub: sha256"]);
    f.assert_has(&["stray.txt: on disk but not in index.json"]);
}

// ---------------------------------------------------------------------------------------------
// The rendered directory

/// A workspace with the fixture spec, the test seed and `out/` rendered by the real binary.
struct Rendered {
    ws: common::Workspace,
    cluster: Cluster,
    run: common::Run,
}

impl Rendered {
    fn new() -> Rendered {
        let ws = common::Workspace::new();
        let spec = ws.write_spec(&common::fixture(FIXTURE));
        let seed = ws.write_seed(common::TEST_SEED_HEX);
        let out = ws.out_dir();
        let run = common::kubeseed(
            ["render", s(&spec), "--out", s(&out), "--seed", s(&seed)],
            &[],
        )
        .success("kubeseed render");
        assert!(
            out.join("index.json").is_file(),
            "`kubeseed render` exited 0 but wrote no {}/index.json\nstdout: {}\nstderr: {}",
            out.display(),
            run.stdout,
            run.stderr
        );
        Rendered {
            cluster: fixture_cluster(),
            run,
            ws,
        }
    }

    fn out(&self) -> PathBuf {
        self.ws.out_dir()
    }
}

#[test]
fn rendered_pki_verifies_with_openssl_and_matches_kubeadm() {
    let r = Rendered::new();
    audit_pki(&r.out(), &r.cluster).assert_none("rendered pki/");
}

#[test]
fn rendered_kubeconfigs_parse_with_kubectl_and_carry_kubeadm_identities() {
    let r = Rendered::new();
    audit_kubeconfigs(&r.out(), &r.cluster).assert_none("rendered kubeconfig/");
}

#[test]
fn rendered_index_lists_every_file_with_its_hash_and_mode() {
    let r = Rendered::new();
    audit_index(&r.out(), &r.cluster).assert_none("rendered index.json and modes");
}

#[test]
fn rendered_certs_run_a_three_member_etcd_cluster_with_mtls() {
    let r = Rendered::new();
    exercise_etcd(&r.out(), &r.cluster);
}

/// SPEC: no secret ever appears in stdout, logs or index.json.
#[test]
fn rendered_output_leaks_no_secret_to_stdio_or_index() {
    let r = Rendered::new();
    let view = kubectl_view(&r.out().join("kubeconfig/bootstrap-kubelet.conf"))
        .expect("bootstrap-kubelet.conf readable by kubectl");
    let token = view["users"][0]["user"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let token_secret = token
        .split_once('.')
        .map(|(_, s)| s.to_string())
        .unwrap_or_default();
    assert!(
        token_secret.len() >= 16,
        "no bootstrap token secret found to look for: {token:?}"
    );
    let index = fs::read_to_string(r.out().join("index.json")).expect("index.json");
    for (name, text) in [
        ("stdout", &r.run.stdout),
        ("stderr", &r.run.stderr),
        ("index.json", &index),
    ] {
        for (what, secret) in [
            ("the bootstrap token secret", token_secret.as_str()),
            ("the seed", common::TEST_SEED_HEX),
            ("a PEM private key", "PRIVATE KEY"),
        ] {
            assert!(
                !text.contains(secret),
                "{name} of `kubeseed render` contains {what}"
            );
        }
    }
}
