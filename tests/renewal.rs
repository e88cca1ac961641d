//! Renewing every certificate by moving `pki.not_before` (README "Rotation"):
//! keys stay, every certificate is re-issued, and old and new certificates
//! verify against each other's CA, so nodes can be updated one by one.

mod common;

use std::fs;
use std::process::Command;

use common::{hash_tree, openssl, Workspace};

fn spec_at(not_before: &str) -> String {
    common::Spec::new("renew")
        .not_before(not_before)
        .token("expires = \"2028-01-01T00:00:00Z\"")
        .build()
}

fn verify(dir: &std::path::Path, at: &str, purpose: &str, ca: &str, cert: &str) -> bool {
    Command::new(openssl())
        .current_dir(dir)
        .args([
            "verify", "-attime", at, "-purpose", purpose, "-CAfile", ca, cert,
        ])
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn moving_not_before_renews_every_certificate_and_keeps_every_key() {
    let ws = Workspace::new();
    ws.write_seed(common::TEST_SEED_HEX);
    for (name, nb) in [
        ("old", "2026-01-01T00:00:00Z"),
        ("new", "2026-11-01T00:00:00Z"),
    ] {
        let spec = ws.path().join(format!("{name}.toml"));
        fs::write(&spec, spec_at(nb)).unwrap();
        let out = Command::new(common::kubeseed_bin())
            .current_dir(ws.path())
            .args([
                "render",
                &format!("{name}.toml"),
                "--out",
                name,
                "--seed",
                "seed",
            ])
            .env_remove("KUBESEED_SEED")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (old, new) = (
        hash_tree(&ws.path().join("old")),
        hash_tree(&ws.path().join("new")),
    );
    let under_pki = |p: &&String| p.starts_with("pki/");
    let mut certs = 0;
    for path in old.keys().filter(under_pki) {
        if path.ends_with(".key") || path.ends_with(".pub") {
            assert_eq!(old[path], new[path], "{path}: a renewal must not re-key");
        } else {
            assert_ne!(old[path], new[path], "{path} was not renewed");
            certs += 1;
        }
    }
    assert_eq!(
        certs, 10,
        "3 CAs, 5 cluster leaves, 2 etcd member certificates"
    );
    // 2026-12-01: inside the old and the new windows.
    let at = "1796083200";
    let dir = ws.path();
    for (ca, leaf, purpose) in [
        ("pki/ca.crt", "pki/apiserver.crt", "sslserver"),
        (
            "pki/ca.crt",
            "pki/apiserver-kubelet-client.crt",
            "sslclient",
        ),
        ("pki/etcd/ca.crt", "pki/etcd/cp-0/server.crt", "sslserver"),
        (
            "pki/etcd/ca.crt",
            "pki/apiserver-etcd-client.crt",
            "sslclient",
        ),
        (
            "pki/front-proxy-ca.crt",
            "pki/front-proxy-client.crt",
            "sslclient",
        ),
    ] {
        for (a, b) in [("old", "new"), ("new", "old")] {
            assert!(
                verify(
                    dir,
                    at,
                    purpose,
                    &format!("{a}/{ca}"),
                    &format!("{b}/{leaf}")
                ),
                "{b}/{leaf} does not verify against {a}/{ca}"
            );
        }
    }
}
