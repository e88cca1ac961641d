//! `kubeseed join`, as a user runs it: the CA pin equals what openssl
//! computes over the rendered (or the user's own) CA, the token is the one
//! `render` writes, it writes no file, and neither it nor `render` prints a
//! secret it should not.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::Run;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

const SEED: &str = "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0";

fn spec(not_before: &str, extra_pki: &str) -> String {
    common::Spec::new("join")
        .api_server("https://api.join.example.com:6443")
        .not_before(not_before)
        .pki(extra_pki)
        .build()
}

fn setup(dir: &Path, spec_text: &str) {
    fs::write(dir.join("cluster.toml"), spec_text).unwrap();
    let seed = dir.join("seed");
    fs::write(&seed, format!("{SEED}\n")).unwrap();
    fs::set_permissions(&seed, fs::Permissions::from_mode(0o600)).unwrap();
}

fn kubeseed(dir: &Path, args: &[&str]) -> Run {
    common::kubeseed_in(dir, args).success(&format!("kubeseed {args:?}"))
}

/// `openssl x509 -pubkey -noout -in CERT | openssl pkey -pubin -outform der | sha256sum`.
fn openssl_pin(dir: &Path, cert: &str) -> String {
    let out = Command::new("bash")
        .current_dir(dir)
        .arg("-c")
        .arg("set -euo pipefail; openssl x509 -pubkey -noout -in \"$1\" | openssl pkey -pubin -outform der | sha256sum")
        .arg("pin")
        .arg(cert)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl (run scripts/test to install it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let hex = text.split_whitespace().next().unwrap().to_string();
    assert_eq!(hex.len(), 64, "{text}");
    format!("sha256:{hex}")
}

/// The token in the rendered bootstrap kubeconfig.
fn rendered_token(out: &Path) -> String {
    let conf = fs::read_to_string(out.join("kubeconfig/bootstrap-kubelet.conf")).unwrap();
    conf.lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .unwrap()
        .to_string()
}

/// The token in the rendered Secret (`data`, base64).
fn secret_token(out: &Path) -> String {
    let text = fs::read_to_string(out.join(common::token_secret_path(out))).unwrap();
    let value = |key: &str| {
        let b64 = text
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
            .unwrap();
        String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap()
    };
    format!("{}.{}", value("token-id"), value("token-secret"))
}

fn check_join(dir: &Path, ca_cert: &str) {
    let pin = openssl_pin(dir, ca_cert);
    let token = rendered_token(&dir.join("out"));
    assert_eq!(token, secret_token(&dir.join("out")));
    let command = format!(
        "kubeadm join api.join.example.com:6443 --token {token} --discovery-token-ca-cert-hash {pin}"
    );

    let text = kubeseed(dir, &["join", "cluster.toml"]);
    assert_eq!(
        text.stdout,
        format!("token: {token}\ndiscovery-token-ca-cert-hash: {pin}\n{command}\n")
    );

    let json = kubeseed(dir, &["join", "cluster.toml", "--output", "json"]);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["token"], token.as_str());
    assert_eq!(v["discovery_token_ca_cert_hash"], pin.as_str());
    assert_eq!(v["api_server_endpoint"], "api.join.example.com:6443");
    assert_eq!(v["kubeadm_join"], command.as_str());
    assert_eq!(v.as_object().unwrap().len(), 4);
}

#[test]
fn pin_and_token_match_render_and_openssl() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir, &spec("2026-01-01T00:00:00Z", ""));
    kubeseed(dir, &["render", "cluster.toml", "--out", "out"]);
    check_join(dir, "out/pki/ca.crt");
}

#[test]
fn external_ca_pin_is_the_users_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let made = Command::new("openssl")
        .current_dir(dir)
        .args([
            "req",
            "-x509",
            "-nodes",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-keyout",
            "my-ca.key",
            "-out",
            "my-ca.crt",
            "-subj",
            "/CN=my-root",
            "-days",
            "3650",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,digitalSignature",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("openssl is missing: run scripts/test, which installs it");
    assert!(made.status.success());
    // openssl's CA starts now; the leaves start at this hour.
    let hour = time::OffsetDateTime::now_utc()
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:00:00Z"
        ))
        .unwrap();
    setup(
        dir,
        &spec(
            &hour,
            "external_ca = { cert = \"my-ca.crt\", key = \"my-ca.key\" }",
        ),
    );
    kubeseed(dir, &["render", "cluster.toml", "--out", "out"]);
    check_join(dir, "my-ca.crt");
    // And a derived CA would have given another pin: the check can fail.
    let derived = tempfile::tempdir().unwrap();
    setup(derived.path(), &spec(&hour, ""));
    kubeseed(derived.path(), &["render", "cluster.toml", "--out", "out"]);
    assert_ne!(
        openssl_pin(dir, "my-ca.crt"),
        openssl_pin(derived.path(), "out/pki/ca.crt")
    );
}

fn listing(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Every secret a render holds, as text that must never reach a terminal
/// unasked: each base64 line of each private key, each embedded client key,
/// the token secret and its base64 form, and the seed.
fn secrets(out: &Path) -> Vec<String> {
    let mut found = vec![SEED.to_string()];
    let index: Value = serde_json::from_slice(&fs::read(out.join("index.json")).unwrap()).unwrap();
    for e in index["files"].as_array().unwrap() {
        if e["secret"] != true {
            continue;
        }
        let text = fs::read_to_string(out.join(e["path"].as_str().unwrap())).unwrap();
        for line in text.lines() {
            let line = line.trim();
            if let Some(v) = line.strip_prefix("client-key-data: ") {
                found.push(v.to_string());
            } else if !line.starts_with("-----") && line.len() >= 40 && !line.contains(':') {
                found.push(line.to_string()); // a base64 line of a PEM key
            }
        }
    }
    let token = rendered_token(out);
    let secret = token.split('.').nth(1).unwrap().to_string();
    found.push(STANDARD.encode(&secret));
    found.push(secret);
    found
}

#[test]
fn join_writes_nothing_and_prints_only_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir, &spec("2026-01-01T00:00:00Z", ""));
    let before = listing(dir);
    let joined = kubeseed(dir, &["join", "cluster.toml"]);
    let json = kubeseed(dir, &["join", "cluster.toml", "--output", "json"]);
    assert_eq!(listing(dir), before, "join wrote a file");

    let render = kubeseed(dir, &["render", "cluster.toml", "--out", "out"]);
    let out = dir.join("out");
    let all = secrets(&out);
    // At least a line of each of the 11 key files, the 4 embedded client
    // keys, the seed and the token secret twice.
    assert!(all.len() >= 18, "only {} secret fragments", all.len());
    let token_secret = rendered_token(&out).split('.').nth(1).unwrap().to_string();
    let stdout = |o: &Run| o.stdout.clone();
    let stderr = |o: &Run| o.stderr.clone();
    for s in &all {
        // render prints no secret at all, on either stream.
        assert!(!stdout(&render).contains(s.as_str()), "render printed {s}");
        assert!(!stderr(&render).contains(s.as_str()), "render printed {s}");
        // join prints the token secret on stdout, and nothing else secret.
        for o in [&joined, &json] {
            assert!(!stderr(o).contains(s.as_str()), "join's stderr has {s}");
            if *s != token_secret {
                assert!(!stdout(o).contains(s.as_str()), "join printed {s}");
            }
        }
    }
    assert!(stdout(&joined).contains(&token_secret));
    assert!(stdout(&json).contains(&token_secret));
}

#[test]
fn join_warns_when_token_discovery_cannot_work() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(
        dir,
        &format!(
            "{}usages = [\"authentication\"]\n[security]\nanonymous_discovery = false\n",
            spec("2026-01-01T00:00:00Z", "")
        ),
    );
    let out = kubeseed(dir, &["join", "cluster.toml", "--output", "json"]);
    let err = &out.stderr;
    assert!(err.contains("anonymous_discovery"), "{err}");
    assert!(err.contains("signing"), "{err}");
    // Warnings stay on stderr: stdout is still one JSON object.
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(v["token"].is_string());
}
