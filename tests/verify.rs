//! `kubeseed verify`, black-box: it passes on fresh renders (the examples,
//! RSA, an openssl-made external CA) and names each tampering with its own
//! message, without ever printing a secret.
//!
//! Tampering tests copy one render, change one thing and, where the change
//! would also trip the index.json hash check, re-fix index.json so only the
//! check under test fires.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{kubeseed, Run, Workspace};
use serde_json::Value;
use sha2::{Digest, Sha256};

const SEED_A: &str = "a11ce5eda11ce5eda11ce5eda11ce5eda11ce5eda11ce5eda11ce5eda11ce5ed";
const SEED_B: &str = "b0b5eedb0b5eedb0b5eedb0b5eedb0b5eedb0b5eedb0b5eedb0b5eedb0b5eed0";

fn utc(offset: time::Duration) -> String {
    (time::OffsetDateTime::now_utc() + offset)
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:00:00Z"
        ))
        .unwrap()
}

/// Certificates valid since yesterday for a year, a token valid for 60
/// days: a render with no warning at all. `extra` goes into `[pki]`.
fn spec(algorithm: &str, extra: &str, token: &str) -> String {
    common::Spec::new("vf")
        .api_server("https://api.vf.example.com:6443")
        .cluster("service_cidr = \"10.96.0.0/12\"")
        .controller_list(&[
            ("cp-0", "127.0.0.21"),
            ("cp-1", "127.0.0.22"),
            ("cp-2", "127.0.0.23"),
        ])
        .not_before(&utc(-time::Duration::days(1)))
        .pki(&format!("algorithm = \"{algorithm}\"\n{extra}"))
        .token(token)
        .pool("workers")
        .build()
}

fn token_60_days() -> String {
    format!("expires = \"{}\"", utc(time::Duration::days(60)))
}

/// Renders `toml` with `seed` into a fresh workspace; returns it and the output.
fn render(toml: &str, seed: &str) -> (Workspace, PathBuf) {
    let ws = Workspace::new();
    let spec = ws.write_spec(toml);
    ws.write_seed(seed);
    let out = ws.out_dir();
    kubeseed(
        [
            "render".as_ref(),
            spec.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
        &[],
    )
    .success("render");
    (ws, out)
}

/// One render per seed for the whole test binary; tests tamper with copies.
fn base(seed: &'static str) -> &'static Path {
    static A: OnceLock<(Workspace, PathBuf)> = OnceLock::new();
    static B: OnceLock<(Workspace, PathBuf)> = OnceLock::new();
    let cell = if seed == SEED_A { &A } else { &B };
    &cell
        .get_or_init(|| render(&spec("ecdsa-p256", "", &token_60_days()), seed))
        .1
}

/// A private copy of the seed-A render (modes kept).
fn copy_of_base() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("out");
    let ok = Command::new("cp")
        .arg("-a")
        .arg(base(SEED_A))
        .arg(&dst)
        .status()
        .unwrap();
    assert!(ok.success());
    (tmp, dst)
}

/// Recomputes every listed file's sha256 and mode, as if the tamperer knew to.
fn reindex(dir: &Path) {
    let path = dir.join("index.json");
    let mut index: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    for e in index["files"].as_array_mut().unwrap() {
        let p = dir.join(e["path"].as_str().unwrap());
        let bytes = fs::read(&p).unwrap();
        e["sha256"] = hex::encode(Sha256::digest(&bytes)).into();
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
        e["mode"] = format!("{mode:04o}").into();
    }
    let mut text = serde_json::to_vec_pretty(&index).unwrap();
    text.push(b'\n');
    fs::write(&path, text).unwrap();
}

/// Every secret in `dir` as text that must never be printed: each base64
/// line of every PEM private key (also inside kubeconfigs), client-key-data
/// and the token secret, plain and base64.
fn secrets_of(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut add_pem = |pem: &str| {
        let mut inside = false;
        for line in pem.lines() {
            if line.contains("PRIVATE KEY-----") {
                inside = line.starts_with("-----BEGIN");
            } else if inside && line.len() >= 16 {
                out.push(line.to_string());
            }
        }
    };
    for sub in ["pki", "pki/etcd", "kubeconfig"] {
        for e in fs::read_dir(dir.join(sub)).unwrap() {
            let p = e.unwrap().path();
            let Ok(text) = fs::read_to_string(&p) else {
                continue;
            };
            add_pem(&text);
            for line in text.lines() {
                if let Some(v) = line.trim().strip_prefix("client-key-data: ") {
                    add_pem(&String::from_utf8(STANDARD.decode(v).unwrap()).unwrap());
                }
            }
        }
    }
    let secret = fs::read_to_string(dir.join(common::token_secret_path(dir))).unwrap();
    let b64 = secret
        .lines()
        .find_map(|l| l.trim().strip_prefix("token-secret: "))
        .unwrap()
        .to_string();
    out.push(String::from_utf8(STANDARD.decode(&b64).unwrap()).unwrap());
    out.push(b64);
    out
}

/// `kubeseed verify DIR ARGS`, asserting no secret of `dir` (or of the
/// seed-B render tampered files may come from) reaches stdout or stderr,
/// and that nothing panicked.
fn verify(dir: &Path, args: &[&str]) -> Run {
    let mut argv = vec!["verify".to_string(), dir.display().to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let run = kubeseed(&argv, &[]);
    let mut secrets = secrets_of(base(SEED_A));
    secrets.extend(secrets_of(base(SEED_B)));
    assert!(secrets.len() > 20, "the secret scan found too little");
    for s in &secrets {
        assert!(
            !run.stdout.contains(s.as_str()) && !run.stderr.contains(s.as_str()),
            "verify printed a secret"
        );
    }
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

/// The findings of `--output json`, as `(errors, warnings)` of `path: message`.
fn json_findings(dir: &Path) -> (Vec<String>, Vec<String>) {
    let run = verify(dir, &["--output", "json"]);
    let v: Value = serde_json::from_str(&run.stdout).expect("verify --output json parses");
    let list = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{}: {}",
                    f["path"].as_str().unwrap(),
                    f["message"].as_str().unwrap()
                )
            })
            .collect()
    };
    (list("errors"), list("warnings"))
}

/// Asserts verify fails and its errors are exactly `expected`.
fn assert_errors(dir: &Path, expected: &[&str]) {
    let run = verify(dir, &[]);
    assert_eq!(run.status.code(), Some(1), "{}", run.stdout);
    let (errors, _) = json_findings(dir);
    // Tampering with a file also makes its node-bundle copies differ from it: that is
    // `node_bundles_agree_with_their_sources`'s subject, so it is left out here.
    let tampered: Vec<&str> = expected
        .iter()
        .filter_map(|e| e.split(':').next())
        .collect();
    let errors: Vec<String> = errors
        .into_iter()
        .filter(|e| {
            !(e.starts_with("nodes/")
                && tampered
                    .iter()
                    .any(|t| e.ends_with(&format!(": differs from {t}"))))
        })
        .collect();
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(errors, want, "text output:\n{}", run.stdout);
    for e in expected {
        assert!(
            run.stdout.contains(&format!("error: {e}\n")),
            "{}",
            run.stdout
        );
    }
}

fn assert_clean(dir: &Path) -> Run {
    let run = verify(dir, &[]);
    assert!(
        run.status.success() && run.stdout.contains("verify: 0 error(s)"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    run
}

#[test]
fn a_fresh_render_passes_even_strict() {
    let run = assert_clean(base(SEED_A));
    assert!(run.stdout.contains("0 warning(s)"), "{}", run.stdout);
    assert!(verify(base(SEED_A), &["--strict"]).status.success());
    assert_eq!(json_findings(base(SEED_A)), (vec![], vec![]));
}

#[test]
fn the_examples_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for name in ["single", "ha"] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let spec = root.join(name).join("cluster.toml");
        kubeseed(
            [
                "render".as_ref(),
                spec.as_os_str(),
                "--out".as_ref(),
                out.as_os_str(),
            ],
            &[],
        )
        .success(name);
        assert_clean(&out);
    }
}

#[test]
fn an_rsa_render_passes() {
    let (_ws, out) = render(&spec("rsa-2048", "", &token_60_days()), SEED_A);
    assert_clean(&out);
}

#[test]
fn an_external_ca_render_passes() {
    let ws = Workspace::new();
    let made = Command::new(common::openssl())
        .current_dir(ws.path())
        .args([
            "req",
            "-x509",
            "-nodes",
            "-newkey",
            "rsa:2048",
            "-keyout",
            "my-ca.key",
            "-out",
            "my-ca.crt",
            "-subj",
            "/CN=my-ca",
            "-days",
            "3650",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,digitalSignature",
        ])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let toml = spec(
        "ecdsa-p256",
        "external_ca = { cert = \"my-ca.crt\", key = \"my-ca.key\" }",
        &token_60_days(),
    );
    let spec_path = ws.write_spec(&toml);
    ws.write_seed(SEED_A);
    let out = ws.out_dir();
    kubeseed(
        [
            "render".as_ref(),
            spec_path.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
        &[],
    )
    .success("render");
    assert_eq!(
        fs::read(out.join("pki/ca.crt")).unwrap(),
        fs::read(ws.path().join("my-ca.crt")).unwrap()
    );
    assert_clean(&out);
}

#[test]
fn a_certificate_from_another_render_is_caught() {
    let (_t, dir) = copy_of_base();
    fs::copy(
        base(SEED_B).join("pki/apiserver.crt"),
        dir.join("pki/apiserver.crt"),
    )
    .unwrap();
    reindex(&dir);
    // Both CAs are CN=kubernetes: only the signature tells them apart.
    assert_errors(
        &dir,
        &[
            "pki/apiserver.crt: not signed by pki/ca.crt",
            "pki/apiserver.key: does not match pki/apiserver.crt",
        ],
    );
}

#[test]
fn a_key_from_another_render_is_caught() {
    let (_t, dir) = copy_of_base();
    fs::copy(
        base(SEED_B).join("pki/front-proxy-client.key"),
        dir.join("pki/front-proxy-client.key"),
    )
    .unwrap();
    reindex(&dir);
    assert_errors(
        &dir,
        &["pki/front-proxy-client.key: does not match pki/front-proxy-client.crt"],
    );
}

#[test]
fn a_flipped_byte_in_a_manifest_is_caught() {
    let (_t, dir) = copy_of_base();
    let p = dir.join("manifests/get-nodes-clusterrole.yaml");
    let mut bytes = fs::read(&p).unwrap();
    bytes[3] ^= 0x01;
    fs::write(&p, bytes).unwrap();
    assert_errors(
        &dir,
        &["index.json: manifests/get-nodes-clusterrole.yaml: sha256 mismatch"],
    );
}

#[test]
fn a_readable_key_is_caught() {
    let (_t, dir) = copy_of_base();
    let p = dir.join("pki/ca.key");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    // As written, index.json also disagrees; once re-fixed, the mode rule alone fires.
    let run = verify(&dir, &[]);
    assert!(run
        .stdout
        .contains("error: index.json: pki/ca.key: records mode 0600, the file has 0644\n"));
    reindex(&dir);
    assert_errors(&dir, &["pki/ca.key: mode 0644, expected 0600"]);
}

#[test]
fn a_bootstrap_token_that_is_not_the_secrets_is_caught() {
    let (_t, dir) = copy_of_base();
    let p = dir.join("kubeconfig/bootstrap-kubelet.conf");
    let text = fs::read_to_string(&p).unwrap();
    let line = text.lines().find(|l| l.contains("token: ")).unwrap();
    let (id, _) = line
        .trim()
        .trim_start_matches("token: ")
        .split_once('.')
        .unwrap();
    let forged = format!("    token: {id}.0000000000000000");
    fs::write(&p, text.replace(line, &forged)).unwrap();
    reindex(&dir);
    let want = format!(
        "kubeconfig/bootstrap-kubelet.conf: token does not match {}",
        common::token_secret_path(&dir)
    );
    assert_errors(&dir, &[want.as_str()]);
}

#[test]
fn a_wrong_cluster_info_signature_is_caught() {
    let (_t, dir) = copy_of_base();
    let p = dir.join("manifests/cluster-info-configmap.yaml");
    let text = fs::read_to_string(&p).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("jws-kubeconfig-"))
        .unwrap();
    let key = line
        .trim()
        .split(':')
        .next()
        .unwrap()
        .trim_matches('"')
        .to_string();
    // Sign with another secret: well-formed, but not this token's.
    let sig = line.rsplit("..").next().unwrap();
    let forged = line.replace(sig, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    fs::write(&p, text.replace(line, &forged)).unwrap();
    reindex(&dir);
    assert_errors(
        &dir,
        &[&format!(
            "manifests/cluster-info-configmap.yaml: {key} does not verify"
        )],
    );
}

#[test]
fn a_cluster_info_with_another_server_fails_its_signature() {
    let (_t, dir) = copy_of_base();
    let p = dir.join("manifests/cluster-info-configmap.yaml");
    let text = fs::read_to_string(&p).unwrap();
    fs::write(&p, text.replace("api.vf.example.com", "evil.example.com")).unwrap();
    reindex(&dir);
    let (errors, _) = json_findings(&dir);
    assert!(
        errors.iter().any(|e| e.ends_with("does not verify")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("kubeconfig server https://evil.example.com:6443 differs")),
        "{errors:?}"
    );
}

#[test]
fn a_file_missing_from_the_index_is_caught() {
    let (_t, dir) = copy_of_base();
    fs::write(dir.join("manifests/extra.yaml"), "kind: Nothing\n").unwrap();
    fs::set_permissions(
        dir.join("manifests/extra.yaml"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    assert_errors(&dir, &["manifests/extra.yaml: not listed in index.json"]);
}

#[test]
fn a_leaf_that_does_not_chain_is_caught() {
    let (_t, dir) = copy_of_base();
    fs::copy(
        dir.join("pki/front-proxy-client.crt"),
        dir.join("pki/apiserver.crt"),
    )
    .unwrap();
    reindex(&dir);
    let (errors, _) = json_findings(&dir);
    for want in [
        "pki/apiserver.crt: not signed by pki/ca.crt",
        "pki/apiserver.crt: extended key usage lacks serverAuth",
        "pki/apiserver.key: does not match pki/apiserver.crt",
    ] {
        assert!(errors.iter().any(|e| e == want), "{want} not in {errors:?}");
    }
    assert!(
        errors.iter().all(|e| e.starts_with("pki/apiserver")
            || (e.starts_with("nodes/") && e.ends_with(": differs from pki/apiserver.crt"))),
        "{errors:?}"
    );
}

#[test]
fn strict_fails_on_a_token_that_never_expires() {
    let (_ws, out) = render(&spec("ecdsa-p256", "", ""), SEED_A);
    let run = verify(&out, &[]);
    assert!(run.status.success(), "{}", run.stdout);
    let secret = common::token_secret_path(&out);
    let warning = format!("warning: {secret}: the bootstrap token never expires");
    assert!(run.stdout.contains(&warning), "{}", run.stdout);
    let strict = verify(&out, &["--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(strict.stdout.contains(&warning));
    let (errors, warnings) = json_findings(&out);
    assert!(errors.is_empty());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].starts_with(&format!("{secret}: the bootstrap token never expires")));
}

#[test]
fn json_lists_the_same_findings_as_text() {
    let (_t, dir) = copy_of_base();
    fs::write(dir.join("stray"), "x").unwrap();
    fs::set_permissions(dir.join("pki/sa.key"), fs::Permissions::from_mode(0o640)).unwrap();
    let text = verify(&dir, &[]);
    assert_eq!(text.status.code(), Some(1));
    let json = verify(&dir, &["--output", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let (errors, warnings) = json_findings(&dir);
    assert!(errors.len() >= 3, "{errors:?}");
    let from_text: Vec<String> = text
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("error: "))
        .map(str::to_string)
        .collect();
    assert_eq!(from_text, errors);
    assert!(warnings.is_empty());
}

#[test]
fn garbage_files_are_findings_not_crashes() {
    let (_t, dir) = copy_of_base();
    let crt = dir.join("pki/etcd/ca.crt");
    let bytes = fs::read(&crt).unwrap();
    fs::write(&crt, &bytes[..bytes.len() / 2]).unwrap();
    fs::write(
        dir.join("kubeconfig/admin.conf"),
        b"\xff\xfe\x00garbage\x80",
    )
    .unwrap();
    fs::write(dir.join("pki/sa.pub"), b"").unwrap();
    let run = verify(&dir, &[]);
    assert_eq!(run.status.code(), Some(1), "{}", run.stdout);
    for want in [
        "error: pki/etcd/ca.crt: not a PEM certificate\n",
        "error: kubeconfig/admin.conf: not UTF-8, so not a kubeconfig\n",
        "error: pki/sa.pub: not a PEM public key\n",
        "error: pki/etcd/healthcheck-client.crt: cannot be checked: pki/etcd/ca.crt is missing or unreadable\n",
    ] {
        assert!(run.stdout.contains(want), "{want}\n{}", run.stdout);
    }
    // A directory that is not a render at all.
    let empty = tempfile::tempdir().unwrap();
    let run = verify(empty.path(), &["--output", "json"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(run.stdout.contains("\"index.json\""), "{}", run.stdout);
}

/// Node bundles are not rendered yet (another branch); the check is generic,
/// so a hand-made bundle exercises it: a controller's copy that agrees
/// passes, a worker's private key and a worker's stale CA do not.
#[test]
fn node_bundles_agree_with_their_sources() {
    let (_t, dir) = copy_of_base();
    // A worker's CA replaced by another CA, and a CA key slipped into its bundle.
    let worker_ca = "nodes/workers/rootfs/etc/kubernetes/pki/ca.crt";
    let worker_key = "nodes/workers/rootfs/etc/kubernetes/pki/ca.key";
    assert!(
        dir.join(worker_ca).exists(),
        "the render has no worker bundle"
    );
    fs::copy(
        base(SEED_A).join("pki/front-proxy-ca.crt"),
        dir.join(worker_ca),
    )
    .unwrap();
    fs::copy(base(SEED_A).join("pki/ca.key"), dir.join(worker_key)).unwrap();
    let path = dir.join("index.json");
    let mut index: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let files = index["files"].as_array_mut().unwrap();
    files.push(serde_json::json!({"path": worker_key, "sha256": "", "mode": "", "secret": true, "kind": "rootfs-file"}));
    files.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    fs::write(&path, serde_json::to_vec_pretty(&index).unwrap()).unwrap();
    reindex(&dir);
    assert_errors(
        &dir,
        &[
            "nodes/workers/rootfs/etc/kubernetes/pki/ca.crt: differs from pki/ca.crt",
            "nodes/workers/rootfs/etc/kubernetes/pki/ca.key: worker bundle workers holds a key file; only controllers may",
            "nodes/workers/rootfs/etc/kubernetes/pki/ca.key: worker bundle workers holds a private key; only controllers may",
        ],
    );
    // A controller's copy of its own etcd key swapped for another member's.
    let (_t2, dir) = copy_of_base();
    fs::copy(
        dir.join("pki/etcd/cp-1/server.key"),
        dir.join("nodes/cp-0/rootfs/etc/kubernetes/pki/etcd/server.key"),
    )
    .unwrap();
    reindex(&dir);
    assert_errors(
        &dir,
        &["nodes/cp-0/rootfs/etc/kubernetes/pki/etcd/server.key: differs from pki/etcd/cp-0/server.key"],
    );
    // Outside /etc/kubernetes too: a worker's kubelet configuration edited in its bundle.
    let (_t3, dir) = copy_of_base();
    let config = dir.join("nodes/workers/rootfs/var/lib/kubelet/config.yaml");
    let edited = fs::read_to_string(&config).unwrap() + "maxPods: 500\n";
    fs::write(&config, edited).unwrap();
    reindex(&dir);
    assert_errors(
        &dir,
        &["nodes/workers/rootfs/var/lib/kubelet/config.yaml: differs from config/kubelet-config.yaml"],
    );
}

// --- trust bundles ([pki.trust], CA rotation) ------------------------------------------------

/// Each step of a rotation whose bundles hold two CA generations passes, even strict.
#[test]
fn renders_with_two_ca_generations_in_the_bundles_pass_even_strict() {
    for extra in [
        "[pki.trust]\nca = [1, 2]\netcd-ca = [1, 2]\nfront-proxy-ca = [1, 2]",
        "[pki.generations]\nca = 2\netcd-ca = 2\nfront-proxy-ca = 2\n\
         [pki.trust]\nca = [1, 2]\netcd-ca = [1, 2]\nfront-proxy-ca = [1, 2]",
    ] {
        let (_ws, out) = render(&spec("ecdsa-p256", extra, &token_60_days()), SEED_A);
        assert_clean(&out);
        assert!(verify(&out, &["--strict"]).status.success(), "{extra}");
        assert_eq!(
            fs::read_to_string(out.join("pki/ca.crt"))
                .unwrap()
                .matches("BEGIN CERTIFICATE")
                .count(),
            2
        );
    }
}

/// A bundle may only hold self-signed CAs: a leaf appended to it is named.
#[test]
fn a_leaf_in_a_ca_bundle_is_caught() {
    let (_t, dir) = copy_of_base();
    let mut bundle = fs::read(dir.join("pki/etcd/ca.crt")).unwrap();
    bundle.extend(fs::read(dir.join("pki/apiserver-etcd-client.crt")).unwrap());
    fs::write(dir.join("pki/etcd/ca.crt"), bundle).unwrap();
    reindex(&dir);
    let (errors, _) = json_findings(&dir);
    for want in [
        "pki/etcd/ca.crt (certificate 2 of the bundle): not a CA: basicConstraints CA:TRUE is missing",
        "pki/etcd/ca.crt (certificate 2 of the bundle): key usage lacks keyCertSign",
    ] {
        assert!(errors.iter().any(|e| e == want), "{want} not in {errors:?}");
    }
    assert!(
        errors.iter().all(|e| e.starts_with("pki/etcd/ca.crt")
            || (e.starts_with("nodes/") && e.ends_with(": differs from pki/etcd/ca.crt"))),
        "{errors:?}"
    );
}

/// Embedded CA data must be the whole bundle: a kubeconfig that kept only the signing CA
/// would stop trusting the other generation mid-rotation.
#[test]
fn a_kubeconfig_with_part_of_the_bundle_is_caught() {
    let extra = "[pki.trust]\nca = [1, 2]";
    let (_ws, dir) = render(&spec("ecdsa-p256", extra, &token_60_days()), SEED_A);
    let bundle = fs::read_to_string(dir.join("pki/ca.crt")).unwrap();
    let first_end = bundle.find("-----END CERTIFICATE-----\n").unwrap() + 26;
    let conf = dir.join("kubeconfig/admin.conf");
    let text = fs::read_to_string(&conf).unwrap().replace(
        &STANDARD.encode(bundle.as_bytes()),
        &STANDARD.encode(&bundle.as_bytes()[..first_end]),
    );
    fs::write(&conf, text).unwrap();
    reindex(&dir);
    assert_errors(
        &dir,
        &["kubeconfig/admin.conf: certificate-authority-data is not pki/ca.crt"],
    );
}
