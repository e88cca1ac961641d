//! Bad input, black-box: every kind of mistake a user can make exits 1 with
//! a message naming the file, the key and the line (and a hint), never a
//! panic, and leaves a previously rendered `--out` byte-identical.

mod common;

use common::hash_tree;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SEED: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

const BASE: &str = r#"version = 1

[cluster]
name = "errors"
api_server = "https://127.0.0.10:6443"
service_cidr = "10.96.0.0/12"
pod_cidr = "10.244.0.0/16"
kubernetes_version = "v1.34.2"

[[controllers]]
name = "cp-0"
address = "127.0.0.11"

[[controllers]]
name = "cp-1"
address = "127.0.0.12"

[[controllers]]
name = "cp-2"
address = "127.0.0.13"

[pki]
algorithm = "ecdsa-p256"
not_before = "2026-01-01T00:00:00Z"
ca_validity = "87600h"
cert_validity = "8760h"

[bootstrap_token]
expires = "2026-01-02T00:00:00Z"
extra_groups = ["system:bootstrappers:kubeadm:default-node-token"]

[security]
kubelet_signing_duration = "72h"

[[node_pools]]
name = "workers"
"#;

/// A directory with a valid spec, its seed, and a rendered `out/`.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("cluster.toml"), BASE).unwrap();
        write_seed(&dir.path().join("seed"), &format!("{SEED}\n"));
        let f = Fixture { dir };
        let out = f.run(&["render", "cluster.toml", "--out", "out"], &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        f
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeseed"));
        cmd.current_dir(self.dir.path())
            .args(args)
            .env_remove("KUBESEED_SEED");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// Renders `spec` over the existing output and checks the failure:
    /// exit 1, every expected fragment in stderr, no panic, output intact.
    fn fails(&self, spec: &str, args: &[&str], env: &[(&str, &str)], expected: &[&str]) -> String {
        fs::write(self.path("bad.toml"), spec).unwrap();
        let before = hash_tree(&self.path("out"));
        let mut all = vec!["render", "bad.toml", "--out", "out"];
        all.extend_from_slice(args);
        let out = self.run(&all, env);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        for e in expected {
            assert!(stderr.contains(e), "expected {e:?} in:\n{stderr}");
        }
        assert!(!stderr.contains(SEED), "the seed leaked: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(
            before,
            hash_tree(&self.path("out")),
            "the previous output changed"
        );
        stderr
    }
}

fn write_seed(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

/// BASE with `old` (which must occur exactly once) replaced by `new`, and the
/// 1-based line where `new` starts.
fn edit(old: &str, new: &str) -> (String, usize) {
    assert_eq!(
        BASE.matches(old).count(),
        1,
        "{old:?} must occur once in BASE"
    );
    let at = BASE.find(old).unwrap();
    let line = BASE[..at].matches('\n').count() + 1;
    (BASE.replacen(old, new, 1), line)
}

/// One test per validation rule: the spec edit, the key, and a fragment of
/// the message.
macro_rules! spec_error {
    ($name:ident, $old:expr, $new:expr, $key:expr, $msg:expr) => {
        spec_error!($name, $old, $new, 0, $key, $msg);
    };
    // `$offset`: the problem's line, counted from the first line of `$new`.
    ($name:ident, $old:expr, $new:expr, $offset:expr, $key:expr, $msg:expr) => {
        #[test]
        fn $name() {
            let f = Fixture::new();
            let (spec, line) = edit($old, $new);
            let line = line + $offset;
            f.fails(
                &spec,
                &[],
                &[],
                &[&format!("bad.toml:{line}: {}: ", $key), $msg, "hint: "],
            );
        }
    };
}

spec_error!(
    cluster_name_charset,
    "name = \"errors\"",
    "name = \"Errors_1\"",
    "cluster.name",
    "is not a valid cluster name"
);
spec_error!(
    api_server_not_https,
    "api_server = \"https://127.0.0.10:6443\"",
    "api_server = \"http://127.0.0.10:6443\"",
    "cluster.api_server",
    "https"
);
spec_error!(
    api_server_without_host,
    "api_server = \"https://127.0.0.10:6443\"",
    "api_server = \"https://:6443\"",
    "cluster.api_server",
    ""
);
spec_error!(
    api_server_with_path,
    "api_server = \"https://127.0.0.10:6443\"",
    "api_server = \"https://127.0.0.10:6443/k8s\"",
    "cluster.api_server",
    "path"
);
spec_error!(
    service_cidr_does_not_parse,
    "service_cidr = \"10.96.0.0/12\"",
    "service_cidr = \"10.96.0.0/33\"",
    "cluster.service_cidr",
    "is not a CIDR range"
);
spec_error!(
    ipv6_pod_cidr_does_not_parse,
    "pod_cidr = \"10.244.0.0/16\"",
    "pod_cidr = \"fd00::/129\"",
    "cluster.pod_cidr",
    "is not a CIDR range"
);
spec_error!(
    cidrs_overlap,
    "pod_cidr = \"10.244.0.0/16\"",
    "pod_cidr = \"10.100.0.0/16\"",
    "cluster.pod_cidr",
    "overlaps service_cidr"
);
spec_error!(
    kubernetes_too_old,
    "kubernetes_version = \"v1.34.2\"",
    "kubernetes_version = \"v1.31.0\"",
    "cluster.kubernetes_version",
    "1.32 or later"
);
spec_error!(
    duplicate_controller_name,
    "name = \"cp-1\"",
    "name = \"cp-0\"",
    "controllers[1].name",
    "is already the name of controllers[0]"
);
spec_error!(
    duplicate_controller_address,
    "address = \"127.0.0.12\"",
    "address = \"127.0.0.11\"",
    "controllers[1].address",
    "is already the address of controllers[0]"
);
spec_error!(
    controller_address_not_ip,
    "address = \"127.0.0.12\"",
    "address = \"cp-1.example.com\"",
    "controllers[1].address",
    "is not an IP address"
);
spec_error!(
    pool_name_clashes_with_controller,
    "name = \"workers\"",
    "name = \"cp-2\"",
    "node_pools[0].name",
    "share one namespace"
);
spec_error!(
    unsupported_algorithm,
    "algorithm = \"ecdsa-p256\"",
    "algorithm = \"rsa-1024\"",
    "pki.algorithm",
    "\"rsa-1024\" is not supported"
);
spec_error!(
    not_before_not_rfc3339,
    "not_before = \"2026-01-01T00:00:00Z\"",
    "not_before = \"yesterday\"",
    "pki.not_before",
    "is not an RFC 3339 time"
);
spec_error!(
    duration_not_go_syntax,
    "ca_validity = \"87600h\"",
    "ca_validity = \"10y\"",
    "pki.ca_validity",
    "is not a Go duration"
);
spec_error!(
    cert_outlives_ca,
    "cert_validity = \"8760h\"",
    "cert_validity = \"87601h\"",
    "pki.cert_validity",
    "is longer than ca_validity"
);
spec_error!(
    expires_before_not_before,
    "expires = \"2026-01-02T00:00:00Z\"",
    "expires = \"2025-12-31T00:00:00Z\"",
    "bootstrap_token.expires",
    "is not after pki.not_before"
);
spec_error!(
    extra_group_without_prefix,
    "extra_groups = [\"system:bootstrappers:kubeadm:default-node-token\"]",
    "extra_groups = [\"kubeadm:default-node-token\"]",
    "bootstrap_token.extra_groups[0]",
    "is not a valid bootstrap token group"
);
spec_error!(
    signing_duration_not_go_syntax,
    "kubelet_signing_duration = \"72h\"",
    "kubelet_signing_duration = \"3 days\"",
    "security.kubelet_signing_duration",
    "is not a Go duration"
);
spec_error!(
    unknown_key,
    "[security]\n",
    "[security]\nnode_restrictions = true\n",
    1,
    "security.node_restrictions",
    "unknown key `node_restrictions`"
);
spec_error!(
    external_ca_without_key,
    "ca_validity = \"87600h\"",
    "external_ca = { cert = \"ca.crt\" }\nca_validity = \"87600h\"",
    "pki.external_ca.key",
    "required key is missing"
);
spec_error!(
    unknown_generation_asset,
    "[bootstrap_token]\n",
    "[pki.generations]\napi-server = 2\n\n[bootstrap_token]\n",
    1,
    "pki.generations.api-server",
    "is not an asset with a generation"
);

#[test]
fn missing_version() {
    let f = Fixture::new();
    let spec = BASE.replacen("version = 1\n", "", 1);
    f.fails(
        &spec,
        &[],
        &[],
        &[
            "bad.toml",
            "version",
            "required key is missing",
            "hint: add version = 1",
        ],
    );
}

#[test]
fn too_many_controllers() {
    let f = Fixture::new();
    let mut spec = BASE.to_string();
    for i in 3..8 {
        spec.push_str(&format!(
            "\n[[controllers]]\nname = \"cp-{i}\"\naddress = \"127.0.0.{}\"\n",
            11 + i
        ));
    }
    f.fails(
        &spec,
        &[],
        &[],
        &["controllers", "8 controllers; at most 7"],
    );
}

#[test]
fn no_controllers() {
    let f = Fixture::new();
    let spec: String = BASE
        .split("\n\n")
        .filter(|block| !block.starts_with("[[controllers]]"))
        .collect::<Vec<_>>()
        .join("\n\n");
    f.fails(
        &spec,
        &[],
        &[],
        &["controllers", "at least one [[controllers]]"],
    );
}

#[test]
fn toml_syntax_error() {
    let f = Fixture::new();
    let (spec, line) = edit("name = \"errors\"", "name = \"errors");
    f.fails(
        &spec,
        &[],
        &[],
        &[&format!("bad.toml:{line}:"), "invalid TOML"],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let f = Fixture::new();
    let spec = BASE
        .replacen("algorithm = \"ecdsa-p256\"", "algorithm = \"dsa\"", 1)
        .replacen("name = \"errors\"", "name = \"UPPER\"", 1)
        .replacen(
            "kubelet_signing_duration = \"72h\"",
            "kubelet_signing_duration = \"-1h\"",
            1,
        );
    let stderr = f.fails(
        &spec,
        &[],
        &[],
        &[
            "cluster.name",
            "pki.algorithm",
            "security.kubelet_signing_duration",
        ],
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error: ")).count(),
        3,
        "{stderr}"
    );
}

#[test]
fn spec_file_missing() {
    let f = Fixture::new();
    let out = f.run(&["render", "nope.toml", "--out", "out"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("nope.toml") && stderr.contains("No such file"),
        "{stderr}"
    );
}

// Seeds.

#[test]
fn seed_missing() {
    let f = Fixture::new();
    fs::remove_file(f.path("seed")).unwrap();
    f.fails(
        BASE,
        &[],
        &[],
        &["seed", "no seed", "hint: run `kubeseed init"],
    );
}

#[test]
fn seed_too_short() {
    let f = Fixture::new();
    write_seed(&f.path("short.seed"), "abcdef\n");
    f.fails(
        BASE,
        &["--seed", "short.seed"],
        &[],
        &["short.seed", "6 characters", "exactly 64 hex"],
    );
}

#[test]
fn seed_not_hex() {
    let f = Fixture::new();
    write_seed(&f.path("nothex.seed"), &format!("{}xyz\n", &SEED[..61]));
    f.fails(
        BASE,
        &["--seed", "nothex.seed"],
        &[],
        &["nothex.seed", "not hex", "position 62"],
    );
}

#[test]
fn seed_file_is_something_else() {
    let f = Fixture::new();
    f.fails(
        BASE,
        &["--seed", "cluster.toml"],
        &[],
        &["cluster.toml", "a seed file is 64 hex characters"],
    );
}

#[test]
fn seed_env_malformed() {
    let f = Fixture::new();
    let stderr = f.fails(
        BASE,
        &[],
        &[("KUBESEED_SEED", "0123")],
        &["$KUBESEED_SEED", "4 characters"],
    );
    assert!(
        !stderr.contains("0123"),
        "the seed's text must not be echoed: {stderr}"
    );
}

#[test]
fn seed_env_takes_precedence_over_the_file_and_flag_over_env() {
    let f = Fixture::new();
    let other = "ff".repeat(32);
    // $KUBESEED_SEED beats the seed file: the keys change.
    let out = f.run(
        &["render", "cluster.toml", "--out", "env-out"],
        &[("KUBESEED_SEED", &other)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(
        fs::read(f.path("out/pki/ca.key")).unwrap(),
        fs::read(f.path("env-out/pki/ca.key")).unwrap()
    );
    // --seed beats $KUBESEED_SEED: same keys as the seed file.
    let out = f.run(
        &[
            "render",
            "cluster.toml",
            "--out",
            "flag-out",
            "--seed",
            "seed",
        ],
        &[("KUBESEED_SEED", &other)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read(f.path("out/pki/ca.key")).unwrap(),
        fs::read(f.path("flag-out/pki/ca.key")).unwrap()
    );
}

#[test]
fn seed_readable_by_others_warns() {
    let f = Fixture::new();
    fs::set_permissions(f.path("seed"), fs::Permissions::from_mode(0o644)).unwrap();
    let out = f.run(&["render", "cluster.toml", "--out", "out"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: seed file") && stderr.contains("chmod 600"),
        "{stderr}"
    );
}

// External CA.

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl (run scripts/test to install it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn with_external_ca(cert: &str, key: &str) -> String {
    BASE.replacen(
        "ca_validity = \"87600h\"",
        &format!(
            "external_ca = {{ cert = \"{cert}\", key = \"{key}\" }}\nca_validity = \"87600h\""
        ),
        1,
    )
}

#[test]
fn external_ca_that_is_not_a_ca() {
    let f = Fixture::new();
    openssl(
        f.dir.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.crt",
            "-subj",
            "/CN=leaf",
            "-days",
            "1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ],
    );
    f.fails(
        &with_external_ca("leaf.crt", "leaf.key"),
        &[],
        &[],
        &[
            "leaf.crt",
            "pki.external_ca.cert",
            "is not a CA certificate",
            "hint: ",
        ],
    );
}

#[test]
fn external_ca_key_does_not_match() {
    let f = Fixture::new();
    openssl(
        f.dir.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-subj",
            "/CN=my-ca",
            "-days",
            "1",
        ],
    );
    openssl(
        f.dir.path(),
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "other.key",
        ],
    );
    let stderr = f.fails(
        &with_external_ca("ca.crt", "other.key"),
        &[],
        &[],
        &[
            "other.key",
            "pki.external_ca.key",
            "does not match the certificate",
            "hint: ",
        ],
    );
    assert!(!stderr.contains("PRIVATE KEY"), "{stderr}");
}

#[test]
fn external_ca_file_missing() {
    let f = Fixture::new();
    f.fails(
        &with_external_ca("absent.crt", "absent.key"),
        &[],
        &[],
        &["absent.crt", "pki.external_ca.cert", "No such file"],
    );
}

// The output directory.

#[test]
fn foreign_output_directory_is_refused_untouched() {
    let f = Fixture::new();
    fs::create_dir(f.path("mine")).unwrap();
    fs::write(f.path("mine/notes.txt"), "precious").unwrap();
    let before = hash_tree(&f.path("mine"));
    let out = f.run(&["render", "cluster.toml", "--out", "mine"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("mine") && stderr.contains("has no index.json"),
        "{stderr}"
    );
    assert_eq!(before, hash_tree(&f.path("mine")));
}

#[test]
fn usage_errors_exit_1() {
    let f = Fixture::new();
    let out = f.run(&["render", "cluster.toml"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out"));
    let out = f.run(&["render", "--help"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--seed"));
}
