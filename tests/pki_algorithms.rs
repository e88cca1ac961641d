//! Every `pki.algorithm` and an external CA, end to end through `openssl`:
//! the keys are of the asked type and size, and the leaves chain to the CA.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

const SEED: &str = "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0";

fn spec(algorithm: &str, extra_pki: &str) -> String {
    spec_at(algorithm, extra_pki, "2026-01-01T00:00:00Z")
}

fn spec_at(algorithm: &str, extra_pki: &str, not_before: &str) -> String {
    common::Spec::new("algo")
        .not_before(not_before)
        .pki(&format!("algorithm = \"{algorithm}\"\n{extra_pki}"))
        .build()
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = common::run(Command::new(common::openssl()).current_dir(dir).args(args));
    assert!(out.status.success(), "openssl {args:?}: {}", out.stderr);
    out.stdout
}

fn render(dir: &Path, spec_text: &str) {
    common::render_in(dir, spec_text, SEED);
}

/// 2026-06-01, inside every validity window of these specs.
const AT: &str = "1780272000";

fn check(algorithm: &str, key_pem_tag: &str, key_text: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    render(dir, &spec(algorithm, ""));
    for key in [
        "out/pki/ca.key",
        "out/pki/apiserver.key",
        "out/pki/sa.key",
        "out/pki/etcd/cp-0/server.key",
    ] {
        let pem = fs::read_to_string(dir.join(key)).unwrap();
        assert!(
            pem.starts_with(&format!("-----BEGIN {key_pem_tag}-----\n")),
            "{key}: {}",
            &pem[..40]
        );
        let text = openssl(dir, &["pkey", "-in", key, "-noout", "-text"]);
        assert!(
            text.contains(key_text),
            "{key} is not {key_text}: {}",
            text.lines().next().unwrap_or("")
        );
    }
    let verified = openssl(
        dir,
        &[
            "verify",
            "-attime",
            AT,
            "-purpose",
            "sslserver",
            "-CAfile",
            "out/pki/ca.crt",
            "out/pki/apiserver.crt",
        ],
    );
    assert!(verified.contains("OK"));
    let verified = openssl(
        dir,
        &[
            "verify",
            "-attime",
            AT,
            "-purpose",
            "sslclient",
            "-CAfile",
            "out/pki/etcd/ca.crt",
            "out/pki/apiserver-etcd-client.crt",
        ],
    );
    assert!(verified.contains("OK"));
}

#[test]
fn ecdsa_p256() {
    check("ecdsa-p256", "EC PRIVATE KEY", "Private-Key: (256 bit)");
}

#[test]
fn ecdsa_p384() {
    check("ecdsa-p384", "EC PRIVATE KEY", "Private-Key: (384 bit)");
}

#[test]
fn rsa_2048() {
    check(
        "rsa-2048",
        "RSA PRIVATE KEY",
        "Private-Key: (2048 bit, 2 primes)",
    );
}

#[test]
fn rsa_3072() {
    check(
        "rsa-3072",
        "RSA PRIVATE KEY",
        "Private-Key: (3072 bit, 2 primes)",
    );
}

fn external_ca(key_args: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut args = vec![
        "req",
        "-x509",
        "-nodes",
        "-keyout",
        "my-ca.key",
        "-out",
        "my-ca.crt",
        "-subj",
        "/O=Example/CN=example-root",
        "-days",
        "3650",
        "-set_serial",
        "7",
    ];
    args.extend_from_slice(key_args);
    args.extend_from_slice(&[
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    ]);
    openssl(dir, &args);
    // openssl makes the CA valid from now on, so the leaves start at this
    // hour and are checked an hour from now, inside both windows.
    let now = time::OffsetDateTime::now_utc();
    let hour = now
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:00:00Z"
        ))
        .unwrap();
    let at = (now.unix_timestamp() + 3600).to_string();
    let ca = "external_ca = { cert = \"my-ca.crt\", key = \"my-ca.key\" }";
    render(dir, &spec_at("ecdsa-p256", ca, &hour));
    // The user's CA is the cluster CA, unchanged.
    let mine = openssl(dir, &["x509", "-in", "my-ca.crt", "-outform", "der"]);
    let theirs = openssl(dir, &["x509", "-in", "out/pki/ca.crt", "-outform", "der"]);
    assert_eq!(mine, theirs);
    for leaf in [
        "out/pki/apiserver.crt",
        "out/pki/apiserver-kubelet-client.crt",
    ] {
        let purpose = if leaf.ends_with("apiserver.crt") {
            "sslserver"
        } else {
            "sslclient"
        };
        let ok = openssl(
            dir,
            &[
                "verify",
                "-attime",
                &at,
                "-purpose",
                purpose,
                "-CAfile",
                "my-ca.crt",
                leaf,
            ],
        );
        assert!(ok.contains("OK"), "{leaf}: {ok}");
    }
    let issuer = openssl(
        dir,
        &["x509", "-in", "out/pki/apiserver.crt", "-noout", "-issuer"],
    );
    assert!(issuer.contains("example-root"), "{issuer}");
    // The kubeconfigs trust the user's CA.
    let admin = fs::read_to_string(dir.join("out/kubeconfig/admin.conf")).unwrap();
    use base64::Engine;
    let ca_pem = fs::read_to_string(dir.join("out/pki/ca.crt")).unwrap();
    assert!(admin.contains(&base64::engine::general_purpose::STANDARD.encode(ca_pem)));
    // The front-proxy and etcd CAs are still kubeseed's own.
    let etcd_ca = openssl(
        dir,
        &["x509", "-in", "out/pki/etcd/ca.crt", "-noout", "-subject"],
    );
    assert!(etcd_ca.contains("etcd-ca"), "{etcd_ca}");
}

#[test]
fn external_ca_ecdsa() {
    external_ca(&["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
}

#[test]
fn external_ca_rsa_pkcs8() {
    external_ca(&["-newkey", "rsa:2048"]);
}

/// RSA keys are derived on every core the process may use, each from its own seed: the
/// output is the same bytes on one core (`taskset -c 0`) as on all of them.
#[test]
fn rsa_output_is_the_same_on_one_core_and_on_all() {
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let ws = common::Workspace::new();
    let spec = ws.write_spec(&spec("rsa-2048", ""));
    ws.write_seed(SEED);
    let render = |taskset: bool, out: &Path| {
        let mut cmd = if taskset {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(common::kubeseed_bin());
            c
        } else {
            Command::new(common::kubeseed_bin())
        };
        cmd.arg("render").arg(&spec).arg("--out").arg(out);
        let run = common::run(&mut cmd);
        assert!(
            run.status.success(),
            "render (taskset {taskset}): {}",
            run.stderr
        );
    };
    let (one, many) = (ws.path().join("one"), ws.path().join("many"));
    render(true, &one);
    render(false, &many);
    let tree = common::hash_tree(&one);
    assert!(tree.keys().any(|p| p.ends_with(".key")), "no keys rendered");
    assert_eq!(tree, common::hash_tree(&many));
    // On a one-core machine both renders used one thread: say so rather than pass quietly.
    if all < 2 {
        eprintln!("note: this machine has one core, so both renders used one thread");
    }
}
