//! Bad input, black-box: every kind of mistake a user can make exits 1 with
//! a message naming the file, the key and the line (and a hint), never a
//! panic, and leaves a previously rendered `--out` byte-identical.
//!
//! The mistakes are one table, [`CASES`]: each row names a case, says how its
//! spec differs from [`BASE`] (and any other file, flag or variable it needs),
//! and gives the exact stderr and exit status. [`spec_errors`] runs every row
//! and then fails once, naming every case that went wrong; to update a row,
//! paste the "actual stderr" lines its report prints.

mod common;

use common::{edit_spec, hash_tree};

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;

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
}

fn write_seed(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

/// How a case's spec, written to `bad.toml` beside the valid `cluster.toml`, is made.
#[derive(Clone, Copy)]
enum Spec {
    /// [`BASE`] with each `(old, new)` applied in turn (each `old` must occur exactly once).
    Edits(&'static [(&'static str, &'static str)]),
    /// A spec made by a function: more than replacements, or a replacement it formats.
    Built(fn() -> String),
}

impl Spec {
    fn text(self) -> String {
        match self {
            Spec::Edits(edits) => edit_spec(BASE, edits),
            Spec::Built(build) => build(),
        }
    }
}

/// One bad input: run in a fresh [`Fixture`] after `bad.toml` is written and `setup` has run.
#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    spec: Spec,
    /// Lays out whatever else the case needs in the fixture's directory.
    setup: fn(&Path),
    /// The command line after `kubeseed`, run in the fixture's directory...
    argv: &'static [&'static str],
    /// ...and what follows it.
    flags: &'static [&'static str],
    /// Set on top of an environment without `KUBESEED_SEED`.
    env: &'static [(&'static str, &'static str)],
    status: i32,
    /// Every line of stderr, exactly.
    stderr: &'static [&'static str],
    /// Text that must not appear in stderr (besides the seed, which never may).
    not_in_stderr: &'static [&'static str],
}

/// What every case checks besides its own row: stdout stays empty, the seed is never
/// printed, and nothing in the fixture's directory (above all the rendered `out/`) changes.
const CASE: Case = Case {
    name: "",
    spec: Spec::Edits(&[]),
    setup: no_setup,
    argv: RENDER_BAD,
    flags: &[],
    env: &[],
    status: 1,
    stderr: &[],
    not_in_stderr: &[],
};

const RENDER_BAD: &[&str] = &["render", "bad.toml", "--out", "out"];

fn no_setup(_: &Path) {}

const CASES: &[Case] = &[
    // The cluster.
    Case {
        name: "cluster_name_charset",
        spec: Spec::Edits(&[("name = \"errors\"", "name = \"Errors_1\"")]),
        stderr: &[
            "error: bad.toml:4: cluster.name: \"Errors_1\" is not a valid cluster name",
            "  hint: use 1 to 63 characters from a-z, 0-9 and \"-\"",
        ],
        ..CASE
    },
    Case {
        name: "api_server_not_https",
        spec: Spec::Edits(&[(
            "api_server = \"https://127.0.0.10:6443\"",
            "api_server = \"http://127.0.0.10:6443\"",
        )]),
        stderr: &[
            "error: bad.toml:5: cluster.api_server: \"http://127.0.0.10:6443\" uses http://; the API server is only reached over https",
            "  hint: write https://HOST:PORT, e.g. https://api.demo.example.com:6443",
        ],
        ..CASE
    },
    Case {
        name: "api_server_without_host",
        spec: Spec::Edits(&[(
            "api_server = \"https://127.0.0.10:6443\"",
            "api_server = \"https://:6443\"",
        )]),
        stderr: &[
            "error: bad.toml:5: cluster.api_server: \"https://:6443\" is not a URL (empty host)",
            "  hint: write https://HOST:PORT, e.g. https://api.demo.example.com:6443",
        ],
        ..CASE
    },
    Case {
        name: "api_server_with_path",
        spec: Spec::Edits(&[(
            "api_server = \"https://127.0.0.10:6443\"",
            "api_server = \"https://127.0.0.10:6443/k8s\"",
        )]),
        stderr: &[
            "error: bad.toml:5: cluster.api_server: \"https://127.0.0.10:6443/k8s\" has a path, query or fragment",
            "  hint: kubeconfigs need only the scheme, host and port: https://127.0.0.10:6443",
        ],
        ..CASE
    },
    Case {
        name: "service_cidr_does_not_parse",
        spec: Spec::Edits(&[(
            "service_cidr = \"10.96.0.0/12\"",
            "service_cidr = \"10.96.0.0/33\"",
        )]),
        stderr: &[
            "error: bad.toml:6: cluster.service_cidr: \"10.96.0.0/33\" is not a CIDR range",
            "  hint: write ADDRESS/PREFIX, e.g. \"10.96.0.0/12\"",
        ],
        ..CASE
    },
    Case {
        name: "ipv6_pod_cidr_does_not_parse",
        spec: Spec::Edits(&[("pod_cidr = \"10.244.0.0/16\"", "pod_cidr = \"fd00::/129\"")]),
        stderr: &[
            "error: bad.toml:7: cluster.pod_cidr: \"fd00::/129\" is not a CIDR range",
            "  hint: write ADDRESS/PREFIX, e.g. \"10.244.0.0/16\"",
        ],
        ..CASE
    },
    Case {
        name: "cidrs_overlap",
        spec: Spec::Edits(&[(
            "pod_cidr = \"10.244.0.0/16\"",
            "pod_cidr = \"10.100.0.0/16\"",
        )]),
        stderr: &[
            "error: bad.toml:7: cluster.pod_cidr: 10.100.0.0/16 overlaps service_cidr 10.96.0.0/12 (line 6)",
            "  hint: pod and service addresses must not collide; pick disjoint ranges such as the defaults 10.96.0.0/12 and 10.244.0.0/16",
        ],
        ..CASE
    },
    Case {
        name: "kubernetes_too_old",
        spec: Spec::Edits(&[(
            "kubernetes_version = \"v1.34.2\"",
            "kubernetes_version = \"v1.31.0\"",
        )]),
        stderr: &[
            "error: bad.toml:8: cluster.kubernetes_version: \"v1.31.0\" is too old: kubeseed supports Kubernetes 1.32 or later",
            "  hint: use v1.32.0 or later",
        ],
        ..CASE
    },
    // Controllers and node pools.
    Case {
        name: "duplicate_controller_name",
        spec: Spec::Edits(&[("name = \"cp-1\"", "name = \"cp-0\"")]),
        stderr: &[
            "error: bad.toml:15: controllers[1].name: \"cp-0\" is already the name of controllers[0] (line 11)",
            "  hint: every controller needs its own name",
        ],
        ..CASE
    },
    Case {
        name: "duplicate_controller_address",
        spec: Spec::Edits(&[("address = \"127.0.0.12\"", "address = \"127.0.0.11\"")]),
        stderr: &[
            "error: bad.toml:16: controllers[1].address: 127.0.0.11 is already the address of controllers[0] (line 12)",
            "  hint: every controller needs its own IP address",
        ],
        ..CASE
    },
    Case {
        name: "controller_address_not_ip",
        spec: Spec::Edits(&[("address = \"127.0.0.12\"", "address = \"cp-1.example.com\"")]),
        stderr: &[
            "error: bad.toml:16: controllers[1].address: \"cp-1.example.com\" is not an IP address",
            "  hint: write the IPv4 or IPv6 address other nodes reach this controller at, e.g. \"10.0.0.10\"; DNS names go in dns_names",
        ],
        ..CASE
    },
    Case {
        name: "pool_name_clashes_with_controller",
        spec: Spec::Edits(&[("name = \"workers\"", "name = \"cp-2\"")]),
        stderr: &[
            "error: bad.toml:36: node_pools[0].name: \"cp-2\" is already the name of controllers[2] (line 19)",
            "  hint: controller and node-pool names share one namespace (each names nodes/<name>/); rename one",
        ],
        ..CASE
    },
    Case {
        name: "too_many_controllers",
        spec: Spec::Built(eight_controllers),
        stderr: &[
            "error: bad.toml:54: controllers: 8 controllers; at most 7 are supported",
            "  hint: every controller is an etcd member and more members slow every write; use 3 or 5",
        ],
        ..CASE
    },
    Case {
        name: "no_controllers",
        spec: Spec::Built(no_controllers),
        stderr: &[
            "error: bad.toml: controllers: no controllers: at least one [[controllers]] table is required",
            "  hint: add a [[controllers]] table with name and address for each control-plane node",
        ],
        ..CASE
    },
    // PKI.
    Case {
        name: "unsupported_algorithm",
        spec: Spec::Edits(&[("algorithm = \"ecdsa-p256\"", "algorithm = \"rsa-1024\"")]),
        stderr: &[
            "error: bad.toml:23: pki.algorithm: \"rsa-1024\" is not supported",
            "  hint: use one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096",
        ],
        ..CASE
    },
    Case {
        name: "not_before_not_rfc3339",
        spec: Spec::Edits(&[(
            "not_before = \"2026-01-01T00:00:00Z\"",
            "not_before = \"yesterday\"",
        )]),
        stderr: &[
            "error: bad.toml:24: pki.not_before: \"yesterday\" is not an RFC 3339 time",
            "  hint: write date, \"T\", time and a zone (\"Z\" or an offset such as +01:00), e.g. \"2026-11-25T00:00:00Z\"",
        ],
        ..CASE
    },
    Case {
        name: "duration_not_go_syntax",
        spec: Spec::Edits(&[("ca_validity = \"87600h\"", "ca_validity = \"10y\"")]),
        stderr: &[
            "error: bad.toml:25: pki.ca_validity: \"10y\" is not a Go duration: unknown unit \"y\"",
            "  hint: write a number and a unit (h, m, s, ms, us, ns), e.g. 8760h, 90m or 1h30m",
        ],
        ..CASE
    },
    Case {
        name: "cert_outlives_ca",
        spec: Spec::Edits(&[("cert_validity = \"8760h\"", "cert_validity = \"87601h\"")]),
        stderr: &[
            "error: bad.toml:26: pki.cert_validity: 87601h is longer than ca_validity 87600h",
            "  hint: a certificate cannot outlive its CA; shorten cert_validity or lengthen ca_validity",
        ],
        ..CASE
    },
    Case {
        name: "unknown_generation_asset",
        spec: Spec::Edits(&[(
            "[bootstrap_token]\n",
            "[pki.generations]\napi-server = 2\n\n[bootstrap_token]\n",
        )]),
        stderr: &[
            "error: bad.toml:29: pki.generations.api-server: \"api-server\" is not an asset with a generation",
            "  hint: use one of ca, front-proxy-ca, etcd-ca, apiserver, apiserver-kubelet-client, front-proxy-client, etcd-healthcheck-client, apiserver-etcd-client, admin, super-admin, controller-manager, scheduler, sa, encryption, etcd-server-cp-0, etcd-peer-cp-0, etcd-server-cp-1, etcd-peer-cp-1, etcd-server-cp-2, etcd-peer-cp-2",
        ],
        ..CASE
    },
    // The bootstrap token and security.
    Case {
        name: "expires_before_not_before",
        spec: Spec::Edits(&[(
            "expires = \"2026-01-02T00:00:00Z\"",
            "expires = \"2025-12-31T00:00:00Z\"",
        )]),
        stderr: &[
            "error: bad.toml:29: bootstrap_token.expires: 2025-12-31T00:00:00Z is not after pki.not_before 2026-01-01T00:00:00Z",
            "  hint: a token that expires before the certificates start can never be used; set a later time, or remove expires for a token that never expires",
        ],
        ..CASE
    },
    Case {
        name: "extra_group_without_prefix",
        spec: Spec::Edits(&[(
            "extra_groups = [\"system:bootstrappers:kubeadm:default-node-token\"]",
            "extra_groups = [\"kubeadm:default-node-token\"]",
        )]),
        stderr: &[
            "error: bad.toml:30: bootstrap_token.extra_groups[0]: \"kubeadm:default-node-token\" is not a valid bootstrap token group",
            "  hint: start with system:bootstrappers: and continue with a-z, 0-9, \":\" or \"-\", ending in a letter or digit; kube-apiserver rejects the token otherwise",
        ],
        ..CASE
    },
    Case {
        name: "signing_duration_not_go_syntax",
        spec: Spec::Edits(&[(
            "kubelet_signing_duration = \"72h\"",
            "kubelet_signing_duration = \"3 days\"",
        )]),
        stderr: &[
            "error: bad.toml:33: security.kubelet_signing_duration: \"3 days\" is not a Go duration: unknown unit \" days\"",
            "  hint: write a number and a unit (h, m, s, ms, us, ns), e.g. 8760h, 90m or 1h30m",
        ],
        ..CASE
    },
    Case {
        name: "image_repository_with_a_scheme",
        spec: Spec::Edits(&[(
            "kubernetes_version = \"v1.34.2\"\n",
            "kubernetes_version = \"v1.34.2\"\nimage_repository = \"https://mirror.example.com/k8s\"\n",
        )]),
        stderr: &[
            "error: bad.toml:9: cluster.image_repository: \"https://mirror.example.com/k8s\" is not an image repository: it has a URL scheme",
            "  hint: drop the scheme: \"mirror.example.com/k8s\"",
        ],
        ..CASE
    },
    Case {
        name: "addon_key_in_the_wrong_table",
        spec: Spec::Edits(&[(
            "kubernetes_version = \"v1.34.2\"\n",
            "kubernetes_version = \"v1.34.2\"\ncoredns = true\n",
        )]),
        stderr: &[
            "error: bad.toml:9: cluster.coredns: unknown key `coredns` in [cluster]",
            "  hint: `coredns` belongs in the [addons] table: write it under [addons]",
        ],
        ..CASE
    },
    Case {
        name: "unknown_kube_proxy_mode",
        spec: Spec::Edits(&[(
            "[[node_pools]]\n",
            "[addons]\nkube_proxy = true\nkube_proxy_mode = \"userspace\"\n\n[[node_pools]]\n",
        )]),
        stderr: &[
            "error: bad.toml:37: addons.kube_proxy_mode: \"userspace\" is not a kube-proxy mode",
            "  hint: use one of iptables, nftables, ipvs",
        ],
        ..CASE
    },
    Case {
        name: "a_label_the_kubelet_may_not_set",
        spec: Spec::Edits(&[(
            "name = \"workers\"\n",
            "name = \"workers\"\nlabels = { \"node-role.kubernetes.io/worker\" = \"\" }\n",
        )]),
        stderr: &[
            "error: bad.toml:37: node_pools[0].labels.\"node-role.kubernetes.io/worker\": a kubelet may not set the label \"node-role.kubernetes.io/worker\" on its own Node: NodeRestriction refuses it and the kubelet will not start with it",
            "  hint: label the Node with kubectl after it joins (kubectl label node <name> node-role.kubernetes.io/worker=), or use a label outside kubernetes.io and k8s.io, or under node.kubernetes.io/ or kubelet.kubernetes.io/",
        ],
        ..CASE
    },
    Case {
        name: "a_malformed_taint_and_an_unknown_effect",
        spec: Spec::Edits(&[(
            "name = \"cp-1\"\n",
            "name = \"cp-1\"\ntaints = [\"dedicated=db\", \"dedicated=db:NoSchedul\"]\n",
        )]),
        stderr: &[
            "error: bad.toml:16: controllers[1].taints[0]: \"dedicated=db\" is not a taint: it has no \":Effect\"",
            "  hint: write key[=value]:Effect with Effect one of NoSchedule, PreferNoSchedule, NoExecute, e.g. dedicated=gpu:NoSchedule",
            "error: bad.toml:16: controllers[1].taints[1]: \"dedicated=db:NoSchedul\" is not a taint: \"NoSchedul\" is not a taint effect",
            "  hint: write key[=value]:Effect with Effect one of NoSchedule, PreferNoSchedule, NoExecute, e.g. dedicated=gpu:NoSchedule",
        ],
        ..CASE
    },
    Case {
        name: "node_self_delete_without_node_restriction",
        spec: Spec::Edits(&[(
            "[security]\n",
            "[security]\nnode_restriction = false\nnode_self_delete = true\n",
        )]),
        stderr: &[
            "error: bad.toml:34: security.node_self_delete: needs security.node_restriction = true: without the NodeRestriction admission plugin every kubelet could delete every Node",
            "  hint: keep node_restriction = true, or write node_self_delete = false",
        ],
        ..CASE
    },
    Case {
        name: "a_pids_limit_of_zero_and_an_unknown_pod_security_level",
        spec: Spec::Edits(&[(
            "[security]\n",
            "[security]\npod_pids_limit = 0\npod_security = \"strict\"\n",
        )]),
        stderr: &[
            "error: bad.toml:33: security.pod_pids_limit: 0 is not a process limit: it must be from 1 to 4194304 (Linux's largest pid_max), or -1 for no limit",
            "  hint: e.g. pod_pids_limit = 4096, or -1 for the kubelet's own default (unlimited)",
            "error: bad.toml:34: security.pod_security: \"strict\" is not a Pod Security Standard level",
            "  hint: use one of privileged, baseline, restricted",
        ],
        ..CASE
    },
    // [gitops]: each recipient must be an age X25519 recipient, listed once; a pasted secret
    // key is named, never echoed.
    Case {
        name: "gitops_recipients_that_are_not_age_x25519_recipients",
        spec: Spec::Edits(&[(
            "[[node_pools]]\n",
            "[gitops]\nage_recipients = [\n  \"age1qqqqqqqqqqqqqqqq\",\n  \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJ0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0a2V5dGVz user@host\",\n  \"AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSKXYW2C\",\n  \"age1ksz7llu7f5dem3lec9858330f96zya7utw32nuz6gnvm43us3qkqk4kpku\",\n  \"age1ksz7llu7f5dem3lec9858330f96zya7utw32nuz6gnvm43us3qkqk4kpku\",\n  \"age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t\",\n]\n\n[[node_pools]]\n",
        )]),
        stderr: &[
            "error: bad.toml:37: gitops.age_recipients[0]: malformed age recipient: not bech32 or bad checksum",
            "  hint: give each recipient's public key, \"age1\" and 58 more characters, as `age-keygen` prints it (`age-keygen -y KEYFILE` prints it again)",
            "error: bad.toml:38: gitops.age_recipients[1]: not an age X25519 recipient: this is an SSH public key (ssh-ed25519), which is not supported; give an age X25519 recipient (age1…, as `age-keygen -y` prints)",
            "  hint: give each recipient's public key, \"age1\" and 58 more characters, as `age-keygen` prints it (`age-keygen -y KEYFILE` prints it again)",
            "error: bad.toml:39: gitops.age_recipients[2]: not an age X25519 recipient: this is an age SECRET key (AGE-SECRET-KEY-1…), not shown here; give its public recipient instead (`age-keygen -y KEYFILE`), and treat the secret key as leaked if it was committed anywhere",
            "  hint: give each recipient's public key, \"age1\" and 58 more characters, as `age-keygen` prints it (`age-keygen -y KEYFILE` prints it again)",
            "error: bad.toml:41: gitops.age_recipients[4]: \"age1ksz7llu7f5dem3lec9858330f96zya7utw32nuz6gnvm43us3qkqk4kpku\" is listed twice",
            "  hint: remove the duplicate",
            "error: bad.toml:42: gitops.age_recipients[5]: not an age X25519 recipient: age1yubikey1… is a recipient of the age plugin age-plugin-yubikey, which is not supported; give an age X25519 recipient (age1…, as `age-keygen -y` prints)",
            "  hint: give each recipient's public key, \"age1\" and 58 more characters, as `age-keygen` prints it (`age-keygen -y KEYFILE` prints it again)",
        ],
        not_in_stderr: &["AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSKXYW2C", "QYQSZQGPQYQSZQGP"],
        ..CASE
    },
    Case {
        name: "gitops_with_no_recipients",
        spec: Spec::Edits(&[("[[node_pools]]\n", "[gitops]\nage_recipients = []\n\n[[node_pools]]\n")]),
        stderr: &[
            "error: bad.toml:36: gitops.age_recipients: no age recipients listed",
            "  hint: nobody could decrypt the Secrets: give each recipient's public key, \"age1\" and 58 more characters, as `age-keygen` prints it (`age-keygen -y KEYFILE` prints it again)",
        ],
        ..CASE
    },
    Case {
        name: "gitops_without_its_recipients_key",
        spec: Spec::Edits(&[("[[node_pools]]\n", "[gitops]\n\n[[node_pools]]\n")]),
        stderr: &[
            "error: bad.toml:35: gitops.age_recipients: required key is missing",
            "  hint: [gitops] needs age_recipients = [\"age1...\"]: give each recipient's public key, \"age1\" and 58 more characters, as `age-keygen` prints it (`age-keygen -y KEYFILE` prints it again)",
        ],
        ..CASE
    },
    Case {
        name: "a_hardening_switch_that_is_not_a_boolean",
        spec: Spec::Edits(&[("[security]\n", "[security]\naudit_log = \"yes\"\n")]),
        stderr: &[
            "error: bad.toml:33: security.audit_log: invalid type: string \"yes\", expected a boolean",
            "  hint: write audit_log = true or audit_log = false, without quotes",
        ],
        ..CASE
    },
    // The shape of the file.
    Case {
        name: "a_key_set_twice",
        spec: Spec::Edits(&[(
            "kubelet_signing_duration = \"72h\"\n",
            "node_restriction = true\nkubelet_signing_duration = \"72h\"\nnode_restriction = false\n",
        )]),
        stderr: &[
            "error: bad.toml:35: security.node_restriction: set twice: this key is already set above",
            "  hint: remove one of the two `node_restriction = ...` lines in [security]",
        ],
        ..CASE
    },
    Case {
        name: "unknown_key",
        spec: Spec::Edits(&[("[security]\n", "[security]\nnode_restrictions = true\n")]),
        stderr: &[
            "error: bad.toml:33: security.node_restrictions: unknown key `node_restrictions` in [security]",
            "  hint: expected one of `node_restriction`, `auto_approve_node_csrs`, `anonymous_discovery`, `verify_kubelet_serving`, `kubelet_signing_duration`, `encryption_at_rest`, `node_self_delete`, `audit_log`, `service_account_extend_token_expiration`, `deny_service_external_ips`, `strong_tls_ciphers`, `seccomp_default`, `pod_pids_limit`, `pod_security`, `private_kubelet_files`",
        ],
        ..CASE
    },
    Case {
        name: "missing_version",
        spec: Spec::Edits(&[("version = 1\n", "")]),
        stderr: &[
            "error: bad.toml: version: required key is missing",
            "  hint: add version = 3 as the first line",
        ],
        ..CASE
    },
    Case {
        name: "toml_syntax_error",
        spec: Spec::Edits(&[("name = \"errors\"", "name = \"errors")]),
        stderr: &[
            "error: bad.toml:4: cluster.name: invalid TOML: invalid basic string, expected `\"`",
            "  hint: fix the TOML syntax at column 15 (strings need \"quotes\", tables [headers])",
        ],
        ..CASE
    },
    Case {
        name: "every_problem_is_reported_at_once",
        spec: Spec::Edits(&[
            ("algorithm = \"ecdsa-p256\"", "algorithm = \"dsa\""),
            ("name = \"errors\"", "name = \"UPPER\""),
            (
                "kubelet_signing_duration = \"72h\"",
                "kubelet_signing_duration = \"-1h\"",
            ),
        ]),
        stderr: &[
            "error: bad.toml:4: cluster.name: \"UPPER\" is not a valid cluster name",
            "  hint: use 1 to 63 characters from a-z, 0-9 and \"-\"",
            "error: bad.toml:23: pki.algorithm: \"dsa\" is not supported",
            "  hint: use one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096",
            "error: bad.toml:33: security.kubelet_signing_duration: \"-1h\" is not longer than zero",
            "  hint: use a positive duration, e.g. 72h",
        ],
        ..CASE
    },
    Case {
        name: "spec_file_missing",
        argv: &["render", "nope.toml", "--out", "out"],
        stderr: &[
            "error: cannot read spec nope.toml: No such file or directory (os error 2)",
        ],
        ..CASE
    },
    // Seeds.
    Case {
        name: "seed_missing",
        setup: remove_seed,
        stderr: &[
            "error: ./seed: no seed: --seed was not given, $KUBESEED_SEED is not set and this file does not exist",
            "  hint: run `kubeseed init DIR` to create a spec and a seed, or pass --seed FILE",
        ],
        ..CASE
    },
    Case {
        name: "seed_too_short",
        setup: short_seed,
        flags: &["--seed", "short.seed"],
        stderr: &[
            "error: short.seed: the seed has 6 characters; it must have exactly 64 hex characters (256 bits)",
            "  hint: a seed file holds 64 hex characters (256 bits) and an optional newline; `kubeseed init` writes one",
        ],
        ..CASE
    },
    Case {
        name: "seed_not_hex",
        setup: seed_not_hex,
        flags: &["--seed", "nothex.seed"],
        stderr: &[
            "error: nothex.seed: the seed has a character that is not hex (0-9, a-f) at position 62",
            "  hint: a seed file holds 64 hex characters (256 bits) and an optional newline; `kubeseed init` writes one",
        ],
        ..CASE
    },
    Case {
        name: "seed_file_is_something_else",
        flags: &["--seed", "cluster.toml"],
        stderr: &[
            "error: cluster.toml: has 640 bytes; a seed file is 64 hex characters and a newline",
            "  hint: check that this is the seed file (`kubeseed init` writes one)",
        ],
        ..CASE
    },
    Case {
        name: "seed_env_malformed",
        env: &[("KUBESEED_SEED", "0123")],
        // The seed's text must not be echoed.
        not_in_stderr: &["0123"],
        stderr: &[
            "error: $KUBESEED_SEED: the seed has 4 characters; it must have exactly 64 hex characters (256 bits)",
            "  hint: set it to the 64 hex characters of the seed, e.g. KUBESEED_SEED=$(cat seed)",
        ],
        ..CASE
    },
    // External CA.
    Case {
        name: "external_ca_without_key",
        spec: Spec::Edits(&[(
            "ca_validity = \"87600h\"",
            "external_ca = { cert = \"ca.crt\" }\nca_validity = \"87600h\"",
        )]),
        stderr: &[
            "error: bad.toml:25: pki.external_ca.key: required key is missing",
            "  hint: external_ca needs both files: external_ca = { cert = \"ca.crt\", key = \"ca.key\" }",
        ],
        ..CASE
    },
    Case {
        name: "external_ca_that_is_not_a_ca",
        spec: Spec::Built(|| with_external_ca("leaf.crt", "leaf.key")),
        setup: leaf_certificate,
        stderr: &[
            "error: ./leaf.crt: pki.external_ca.cert: is not a CA certificate (basicConstraints CA is not set)",
            "  hint: give a CA certificate; a leaf certificate cannot sign others",
        ],
        ..CASE
    },
    Case {
        name: "external_ca_key_does_not_match",
        spec: Spec::Built(|| with_external_ca("ca.crt", "other.key")),
        setup: ca_and_other_key,
        not_in_stderr: &["PRIVATE KEY"],
        stderr: &[
            "error: ./other.key: pki.external_ca.key: does not match the certificate ./ca.crt",
            "  hint: give the private key that belongs to pki.external_ca.cert",
        ],
        ..CASE
    },
    Case {
        name: "external_ca_file_missing",
        spec: Spec::Built(|| with_external_ca("absent.crt", "absent.key")),
        stderr: &[
            "error: cannot read pki.external_ca.cert ./absent.crt: No such file or directory (os error 2)",
        ],
        ..CASE
    },
    // The command line and the output directory.
    Case {
        name: "foreign_output_directory_is_refused_untouched",
        setup: foreign_output_directory,
        argv: &["render", "cluster.toml", "--out", "mine"],
        stderr: &[
            "error: refusing to write to mine: it is not empty and has no index.json, so kubeseed did not write it; choose an empty or new directory",
        ],
        ..CASE
    },
    Case {
        name: "render_without_out",
        argv: &["render", "cluster.toml"],
        stderr: &[
            "error: the following required arguments were not provided:",
            "  --out <DIR>",
            "",
            "Usage: kubeseed render --out <DIR> <SPEC>",
            "",
            "For more information, try '--help'.",
        ],
        ..CASE
    },
];

fn eight_controllers() -> String {
    let mut spec = BASE.to_string();
    for i in 3..8 {
        spec.push_str(&format!(
            "\n[[controllers]]\nname = \"cp-{i}\"\naddress = \"127.0.0.{}\"\n",
            11 + i
        ));
    }
    spec
}

fn no_controllers() -> String {
    BASE.split("\n\n")
        .filter(|block| !block.starts_with("[[controllers]]"))
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn remove_seed(dir: &Path) {
    fs::remove_file(dir.join("seed")).unwrap();
}

fn short_seed(dir: &Path) {
    write_seed(&dir.join("short.seed"), "abcdef\n");
}

fn seed_not_hex(dir: &Path) {
    write_seed(&dir.join("nothex.seed"), &format!("{}xyz\n", &SEED[..61]));
}

fn foreign_output_directory(dir: &Path) {
    fs::create_dir(dir.join("mine")).unwrap();
    fs::write(dir.join("mine/notes.txt"), "precious").unwrap();
}

/// How many cases run at once: a render mostly waits for the disk (fsync), not the CPU.
const WORKERS: usize = 4;

/// Runs every case, each in its own fixture, [`WORKERS`] at a time; returns the name and the
/// problems of every case that failed (a panic included), in table order.
fn failures(cases: &[Case]) -> Vec<(&'static str, String)> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(vec![Vec::new(); cases.len()]);
    thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| loop {
                let at = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(at) else { break };
                let problems = match catch_unwind(AssertUnwindSafe(|| check(case))) {
                    Ok(problems) => problems,
                    Err(panic) => vec![format!("panicked: {}", panic_message(&*panic))],
                };
                results.lock().unwrap()[at] = problems;
            });
        }
    });
    cases
        .iter()
        .zip(results.into_inner().unwrap())
        .filter(|(_, problems)| !problems.is_empty())
        .map(|(case, problems)| (case.name, problems.join("\n")))
        .collect()
}

/// What is wrong with one case's run; empty when it passed.
fn check(case: &Case) -> Vec<String> {
    let f = Fixture::new();
    fs::write(f.path("bad.toml"), case.spec.text()).unwrap();
    (case.setup)(f.dir.path());
    let before = hash_tree(f.dir.path());
    let out = f.run(&[case.argv, case.flags].concat(), case.env);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut problems = Vec::new();
    if out.status.code() != Some(case.status) {
        problems.push(format!(
            "exit status {:?}, expected {}",
            out.status.code(),
            case.status
        ));
    }
    let expected: String = case.stderr.iter().map(|l| format!("{l}\n")).collect();
    if stderr != expected {
        let actual: String = stderr.lines().map(|l| format!("    {l:?},\n")).collect();
        problems.push(format!(
            "stderr differs; expected:\n{expected}actual stderr:\n{stderr}\
             actual stderr, as table lines:\nstderr: &[\n{actual}],"
        ));
    }
    if !stdout.is_empty() {
        problems.push(format!("stdout is not empty:\n{stdout}"));
    }
    for secret in std::iter::once(&SEED).chain(case.not_in_stderr) {
        if stderr.contains(secret) {
            problems.push(format!("stderr contains {secret:?}"));
        }
    }
    let after = hash_tree(f.dir.path());
    if before != after {
        let changed: Vec<_> = before
            .keys()
            .chain(after.keys())
            .filter(|k| before.get(*k) != after.get(*k))
            .collect();
        problems.push(format!("files in the directory changed: {changed:?}"));
    }
    problems
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_string(),
        (_, Some(s)) => s.clone(),
        _ => "(not a string)".to_string(),
    }
}

/// Every failed case: a `--- name` line, then what went wrong.
fn report(failed: &[(&str, String)]) -> String {
    failed
        .iter()
        .map(|(name, problems)| format!("--- {name}\n{problems}\n"))
        .collect()
}

#[test]
fn spec_errors() {
    let mut names: Vec<_> = CASES.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), CASES.len(), "two cases share a name");
    let failed = failures(CASES);
    assert!(
        failed.is_empty(),
        "{} of {} cases failed: {:?}\n{}",
        failed.len(),
        CASES.len(),
        failed.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        report(&failed)
    );
}

/// The runner can fail: rows that are each wrong in a different way (stderr, exit status, a
/// forbidden text, an edit that panics) are all reported, by name and reason, and a right row
/// beside them is not.
#[test]
fn the_runner_reports_every_wrong_case_by_name() {
    let right = *CASES
        .iter()
        .find(|c| c.name == "cluster_name_charset")
        .unwrap();
    let cases = [
        Case {
            name: "control_wrong_line",
            stderr: &["error: bad.toml:3: cluster.name: wrong"],
            ..right
        },
        right,
        Case {
            name: "control_valid_spec",
            spec: Spec::Edits(&[]),
            ..right
        },
        Case {
            name: "control_forbidden_text",
            not_in_stderr: &["cluster.name"],
            ..right
        },
        Case {
            name: "control_edit_not_in_base",
            spec: Spec::Edits(&[("name = \"absent\"", "name = \"x\"")]),
            ..right
        },
    ];
    let failed = failures(&cases);
    let names: Vec<_> = failed.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "control_wrong_line",
            "control_valid_spec",
            "control_forbidden_text",
            "control_edit_not_in_base",
        ],
        "{}",
        report(&failed)
    );
    assert!(failed[0].1.contains("stderr differs"), "{}", failed[0].1);
    assert!(
        failed[1].1.contains("exit status Some(0)"),
        "{}",
        failed[1].1
    );
    assert!(
        failed[2].1.contains("stderr contains \"cluster.name\""),
        "{}",
        failed[2].1
    );
    assert!(
        failed[3].1.starts_with("panicked: ") && failed[3].1.contains("must occur exactly once"),
        "{}",
        failed[3].1
    );
}

// Not of the table's shape.

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
    edit_spec(
        BASE,
        &[(
            "ca_validity = \"87600h\"",
            &format!(
                "external_ca = {{ cert = \"{cert}\", key = \"{key}\" }}\nca_validity = \"87600h\""
            ),
        )],
    )
}

fn leaf_certificate(dir: &Path) {
    openssl(
        dir,
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
}

fn ca_and_other_key(dir: &Path) {
    openssl(
        dir,
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
        dir,
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
}

#[test]
fn help_is_not_an_error() {
    let f = Fixture::new();
    let out = f.run(&["render", "--help"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--seed"));
}
