//! `kubeseed init`, black-box: a starter that renders, a private seed, and
//! never an overwrite.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::Run;

fn kubeseed(dir: &std::path::Path, args: &[&str]) -> Run {
    common::kubeseed_in(dir, args)
}

#[test]
fn init_then_render() {
    let tmp = tempfile::tempdir().unwrap();
    let hour = || {
        time::OffsetDateTime::now_utc()
            .format(&time::macros::format_description!(
                "[year]-[month]-[day]T[hour]"
            ))
            .unwrap()
    };
    let before = hour();
    let out = kubeseed(tmp.path(), &["init", "demo"]);
    let after = hour();
    assert!(out.status.success(), "{}", out.stderr.clone());
    let demo = tmp.path().join("demo");
    let seed = fs::read_to_string(demo.join("seed")).unwrap();
    assert_eq!(seed.len(), 65);
    assert!(seed.trim_end().chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(
        fs::metadata(demo.join("seed"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(fs::read_to_string(demo.join(".gitignore"))
        .unwrap()
        .lines()
        .any(|l| l == "seed"));
    let spec = fs::read_to_string(demo.join("cluster.toml")).unwrap();
    assert!(spec.contains("name = \"demo\""), "{spec}");
    // not_before is now, rounded down to the hour (init may straddle an hour).
    assert!(
        [before, after]
            .iter()
            .any(|h| spec.contains(&format!("not_before = \"{h}:00:00Z\""))),
        "{spec}"
    );
    // The seed never reaches stdout.
    assert!(!out.stdout.contains(seed.trim_end()));

    let out = kubeseed(
        tmp.path(),
        &["render", "demo/cluster.toml", "--out", "demo/out"],
    );
    assert!(out.status.success(), "{}", out.stderr.clone());
    assert!(demo.join("out/pki/ca.crt").exists());
    assert!(demo.join("out/kubeconfig/admin.conf").exists());

    // Two inits give two different seeds.
    let out = kubeseed(tmp.path(), &["init", "other"]);
    assert!(out.status.success());
    assert_ne!(
        seed,
        fs::read_to_string(tmp.path().join("other/seed")).unwrap()
    );
}

#[test]
fn init_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("seed"), "precious\n").unwrap();
    let out = kubeseed(tmp.path(), &["init"]);
    let stderr = out.stderr.clone();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("seed") && stderr.contains("already exists"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(tmp.path().join("seed")).unwrap(),
        "precious\n"
    );
    assert!(!tmp.path().join("cluster.toml").exists());
    assert!(!tmp.path().join(".gitignore").exists());
}
