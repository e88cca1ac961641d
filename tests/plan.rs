//! `kubeseed plan`, black-box: after each kind of spec edit it lists exactly the files that
//! `render` then really changes (checked against the tree before and after that render, and
//! against a hand-written list), exits 0 / 2 / 1 as documented, writes nothing, agrees with
//! its own `--output json`, and never prints a secret: no private-key line, no token, no seed,
//! no line found only in secret files, no diff of a secret file.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use common::{hash_tree, kubeseed, Run, Workspace, TEST_SEED_HEX};

/// The spec every scenario edits: three controllers and a pool.
fn base() -> String {
    common::Spec::new("plan")
        .controllers(3)
        .pki("extra_sans = []")
        .token("generation = 1\nexpires = \"2026-01-02T00:00:00Z\"")
        .table("[pki.generations]\napiserver = 1")
        .pool("workers")
        .build()
}

/// [`base`] with one exact substring replaced (panics if it is not there, so an edit to
/// the base cannot silently turn a scenario into a no-op).
fn edited(from: &str, to: &str) -> String {
    let base = base();
    assert!(base.contains(from), "the base spec has no {from:?}");
    base.replacen(from, to, 1)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// A workspace with the base spec, the test seed, and `out/` rendered from them.
fn rendered() -> Workspace {
    let ws = Workspace::new();
    let spec = ws.write_spec(&base());
    ws.write_seed(TEST_SEED_HEX);
    kubeseed(
        ["render", path_str(&spec), "--out", path_str(&ws.out_dir())],
        &[],
    )
    .success("render the base spec");
    ws
}

/// Writes `toml` as `name` in the workspace; returns its path.
fn spec_file(ws: &Workspace, name: &str, toml: &str) -> std::path::PathBuf {
    let p = ws.path().join(name);
    fs::write(&p, toml).expect("write spec");
    p
}

fn plan(spec: &Path, out: &Path, extra: &[&str]) -> Run {
    let seed = spec.with_file_name("seed");
    let mut args = vec![
        "plan",
        path_str(spec),
        "--out",
        path_str(out),
        "--seed",
        path_str(&seed),
    ];
    args.extend_from_slice(extra);
    kubeseed(args, &[])
}

fn code(run: &Run) -> i32 {
    run.status.code().expect("exited, not killed")
}

/// The file lines of a text plan: `(marker, path)` for every line that starts with `+ `,
/// `~ `, `- ` or (verbose) two spaces and a non-space; diff lines are indented by four.
/// Also checks that only a changed non-secret file is followed by diff lines.
fn parse_text(stdout: &str) -> Vec<(char, String)> {
    let mut files = Vec::new();
    let mut last_secret = false;
    let lines: Vec<&str> = stdout.lines().collect();
    let (summary, body) = lines.split_last().expect("a summary line");
    assert!(summary.starts_with("Plan: "), "last line: {summary:?}");
    for line in body {
        if let Some(diff_line) = line.strip_prefix("    ") {
            assert!(
                !last_secret,
                "a diff line follows a secret file: {diff_line:?}"
            );
            continue;
        }
        let (marker, rest) = line.split_at(2);
        let marker = match marker {
            "+ " => '+',
            "~ " => '~',
            "- " => '-',
            "  " => ' ',
            _ => panic!("unexpected plan line {line:?}"),
        };
        let (path, note) = match rest.split_once(" (") {
            Some((p, n)) => (p, n),
            None => (rest, ""),
        };
        last_secret = note.contains("secret");
        files.push((marker, path.to_string()));
    }
    files
}

/// The entries of a JSON plan as `(marker, path)`, checking that secret entries carry no diff.
fn parse_json(stdout: &str) -> (Vec<(char, String)>, serde_json::Value) {
    let v: serde_json::Value = serde_json::from_str(stdout).expect("plan --output json parses");
    let mut files = Vec::new();
    for e in v["changes"].as_array().expect("changes is an array") {
        let marker = match e["action"].as_str().expect("action") {
            "add" => '+',
            "change" => '~',
            "remove" => '-',
            "unchanged" => ' ',
            other => panic!("unknown action {other}"),
        };
        let path = e["path"].as_str().expect("path").to_string();
        if e["secret"] == serde_json::Value::Bool(true) {
            assert!(e.get("diff").is_none(), "secret {path} has a diff in JSON");
        }
        files.push((marker, path));
    }
    (files, v)
}

/// Every trimmed line of the secret files of a rendered tree (per its index.json) that does
/// not also occur in one of its public files, plus the values of `token-secret` and
/// `client-key-data`: what a plan must never print.
fn secret_only_lines(out: &Path) -> BTreeSet<String> {
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("index.json")).expect("index.json"))
            .expect("index.json parses");
    let mut secret = BTreeSet::new();
    let mut public = BTreeSet::new();
    for e in index["files"].as_array().expect("files") {
        let path = e["path"].as_str().expect("path");
        let is_secret = e["secret"].as_bool().expect("secret");
        let text = fs::read_to_string(out.join(path)).unwrap_or_default();
        for line in text.lines().map(str::trim) {
            let values = ["token-secret:", "client-key-data:", "secret:"]
                .iter()
                .filter_map(|key| line.strip_prefix(key).map(str::trim));
            if is_secret {
                secret.extend(values.filter(|v| v.len() >= 8).map(String::from));
                if line.len() >= 12 {
                    secret.insert(line.to_string());
                }
            } else {
                public.insert(line.to_string());
            }
        }
    }
    secret.retain(|l| !public.contains(l));
    assert!(
        secret.iter().any(|l| l.contains("PRIVATE KEY")),
        "no private key found under {}",
        out.display()
    );
    secret
}

/// The bootstrap token's secret half for `spec`, as `kubeseed join` prints it.
fn token_secret(spec: &Path) -> String {
    let seed = spec.with_file_name("seed");
    let run = kubeseed(
        [
            "join",
            path_str(spec),
            "--seed",
            path_str(&seed),
            "--output",
            "json",
        ],
        &[],
    )
    .success("join");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("join json");
    let token = v["token"].as_str().expect("token").to_string();
    let (_, secret) = token.split_once('.').expect("id.secret");
    assert_eq!(secret.len(), 16);
    secret.to_string()
}

/// Runs every output variant of `plan SPEC --out OUT`, checks that none prints a secret of
/// `secrets`, that all agree, that OUT is untouched, and that the exit status is `expect`.
/// Returns the changed files as `(marker, path)`.
fn plan_all_ways(
    spec: &Path,
    out: &Path,
    secrets: &BTreeSet<String>,
    expect: i32,
) -> Vec<(char, String)> {
    let before = out.exists().then(|| hash_tree(out));
    let text = plan(spec, out, &[]);
    let verbose = plan(spec, out, &["--verbose"]);
    let json = plan(spec, out, &["--output", "json"]);
    let json_verbose = plan(spec, out, &["--output", "json", "--verbose"]);
    for run in [&text, &verbose, &json, &json_verbose] {
        assert_eq!(code(run), expect, "{}\n{}", run.stdout, run.stderr);
        for s in secrets {
            assert!(
                !run.stdout.contains(s.as_str()) && !run.stderr.contains(s.as_str()),
                "plan printed a secret line {s:?}"
            );
        }
        for needle in [
            "PRIVATE KEY",
            "client-key-data",
            "token-secret:",
            TEST_SEED_HEX,
        ] {
            assert!(!run.stdout.contains(needle), "plan printed {needle:?}");
            assert!(!run.stderr.contains(needle), "plan printed {needle:?}");
        }
    }
    assert_eq!(
        out.exists().then(|| hash_tree(out)),
        before,
        "plan changed --out"
    );

    let listed = parse_text(&text.stdout);
    let (from_json, value) = parse_json(&json.stdout);
    assert_eq!(listed, from_json, "text and JSON plans differ");
    let all = parse_text(&verbose.stdout);
    let (all_json, _) = parse_json(&json_verbose.stdout);
    assert_eq!(all, all_json, "verbose text and JSON plans differ");
    let changed: Vec<_> = all.iter().filter(|(m, _)| *m != ' ').cloned().collect();
    assert_eq!(changed, listed, "--verbose lists other changes");
    assert_eq!(
        all.len(),
        listed.len() + value["summary"]["unchanged"].as_u64().unwrap() as usize
    );

    let count = |m: char| listed.iter().filter(|(x, _)| *x == m).count();
    let summary = format!(
        "Plan: {} to add, {} to change, {} to remove.",
        count('+'),
        count('~'),
        count('-')
    );
    assert_eq!(text.stdout.lines().last(), Some(summary.as_str()));
    assert_eq!(value["summary"]["add"], count('+'));
    assert_eq!(value["summary"]["change"], count('~'));
    assert_eq!(value["summary"]["remove"], count('-'));
    listed
}

/// What a render really did to a tree, as `(marker, path)` sorted by path.
fn tree_diff(
    before: &BTreeMap<String, common::FileEntry>,
    after: &BTreeMap<String, common::FileEntry>,
) -> Vec<(char, String)> {
    let paths: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    paths
        .into_iter()
        .filter_map(|p| match (before.get(p), after.get(p)) {
            (None, Some(_)) => Some(('+', p.clone())),
            (Some(_), None) => Some(('-', p.clone())),
            (Some(a), Some(b)) if a != b => Some(('~', p.clone())),
            _ => None,
        })
        .collect()
}

fn marks(expected: &[(char, &str)]) -> Vec<(char, String)> {
    expected.iter().map(|(m, p)| (*m, p.to_string())).collect()
}

const CONTROLLERS: [&str; 3] = ["cp-0", "cp-1", "cp-2"];
const ALL_NODES: [&str; 4] = ["cp-0", "cp-1", "cp-2", "workers"];

/// Plans `toml` against a fresh render of the base spec, checks the plan against `expected`, then
/// renders and checks that the render did exactly what the plan said and that a second plan
/// finds nothing left to do. Returns the first plan's text output.
///
/// Node bundles change too: `changed` lists, per node, the on-host paths
/// whose bundle copies change (so do that node's tarball, cloud-config and Ignition config);
/// every file of a node in `removed` goes.
fn scenario_with_nodes(
    toml: &str,
    expected: &[(char, &str)],
    changed: &[(&[&str], &[&str])],
    removed: &[&str],
) -> String {
    let ws = rendered();
    let out = ws.out_dir();
    let mut expected = marks(expected);
    for (nodes, hosts) in changed {
        for node in *nodes {
            for f in ["cloud-config.yaml", "ignition.json", "rootfs.tar"] {
                expected.push(('~', format!("nodes/{node}/{f}")));
            }
            for host in *hosts {
                expected.push(('~', format!("nodes/{node}/rootfs{host}")));
            }
        }
    }
    for node in removed {
        let prefix = format!("nodes/{node}/");
        for path in hash_tree(&out).keys().filter(|p| p.starts_with(&prefix)) {
            expected.push(('-', path.clone()));
        }
    }
    expected.sort_by(|a, b| a.1.cmp(&b.1));
    let base_spec = ws.path().join("cluster.toml");
    let spec = spec_file(&ws, "edited.toml", toml);

    // Secrets of both the old tree and the one the edited spec renders.
    let mut secrets = secret_only_lines(&out);
    let new_out = ws.path().join("new");
    kubeseed(
        ["render", path_str(&spec), "--out", path_str(&new_out)],
        &[],
    )
    .success("render edited");
    secrets.extend(secret_only_lines(&new_out));
    secrets.insert(token_secret(&base_spec));
    secrets.insert(token_secret(&spec));

    let listed = plan_all_ways(&spec, &out, &secrets, 2);
    assert_eq!(listed, expected);
    let text = plan(&spec, &out, &[]).stdout;

    let before = hash_tree(&out);
    kubeseed(["render", path_str(&spec), "--out", path_str(&out)], &[]).success("render");
    assert_eq!(
        tree_diff(&before, &hash_tree(&out)),
        listed,
        "render did not do what plan said"
    );
    let again = plan_all_ways(&spec, &out, &secrets, 0);
    assert!(again.is_empty(), "{again:?}");
    text
}

#[test]
fn unchanged_render_plans_nothing_and_exits_0() {
    let ws = rendered();
    let spec = ws.path().join("cluster.toml");
    let mut secrets = secret_only_lines(&ws.out_dir());
    secrets.insert(token_secret(&spec));
    assert!(plan_all_ways(&spec, &ws.out_dir(), &secrets, 0).is_empty());
    let text = plan(&spec, &ws.out_dir(), &[]);
    assert_eq!(text.stdout, "Plan: 0 to add, 0 to change, 0 to remove.\n");
    // --verbose lists every file, unchanged, index.json included.
    let verbose = plan(&spec, &ws.out_dir(), &["--verbose"]);
    let all = parse_text(&verbose.stdout);
    let on_disk: Vec<(char, String)> = hash_tree(&ws.out_dir())
        .into_keys()
        .map(|p| (' ', p))
        .collect();
    assert_eq!(all, on_disk);
}

#[test]
fn rotating_the_apiserver_key_changes_its_pair_and_the_index_only() {
    let text = scenario_with_nodes(
        &edited("apiserver = 1", "apiserver = 2"),
        &[
            ('~', "index.json"),
            ('~', "pki/apiserver.crt"),
            ('~', "pki/apiserver.key"),
        ],
        &[(
            &CONTROLLERS,
            &[
                "/etc/kubernetes/pki/apiserver.crt",
                "/etc/kubernetes/pki/apiserver.key",
            ],
        )],
        &[],
    );
    assert!(text.contains("\n~ pki/apiserver.key (secret: content changed, not shown)\n"));
    // The certificate is public: its PEM diff is shown.
    assert!(
        text.contains(
            "~ pki/apiserver.crt\n    --- a/pki/apiserver.crt\n    +++ b/pki/apiserver.crt\n"
        ),
        "{text}"
    );
}

#[test]
fn an_extra_san_changes_the_apiserver_cert_and_kubeadm_config_not_the_key() {
    let text = scenario_with_nodes(
        &edited("extra_sans = []", r#"extra_sans = ["api.example.com"]"#),
        &[
            ('~', "index.json"),
            ('~', "manifests/kubeadm-config-configmap.yaml"),
            ('~', "pki/apiserver.crt"),
        ],
        &[(&CONTROLLERS, &["/etc/kubernetes/pki/apiserver.crt"])],
        &[],
    );
    assert!(text.contains("\n    +      - api.example.com\n"), "{text}");
}

#[test]
fn rotating_the_token_changes_only_files_that_carry_it() {
    // The old Secret goes and the new one comes (each file is named for its token id), the
    // bootstrap kubeconfig (the token itself) and cluster-info (the JWS, keyed by the token,
    // named by its id) change.
    let seed = kubeseed::derive::Seed::from_hex(TEST_SEED_HEX).unwrap();
    let secret = |generation| {
        kubeseed::render::manifests::secret_path(&seed.bootstrap_token(generation).unwrap().id)
    };
    let (old, new) = (secret(1), secret(2));
    assert_ne!(old, new);
    let text = scenario_with_nodes(
        &edited("generation = 1", "generation = 2"),
        &[
            ('~', "index.json"),
            ('~', "kubeconfig/bootstrap-kubelet.conf"),
            ('-', &old),
            ('+', &new),
            ('~', "manifests/cluster-info-configmap.yaml"),
        ],
        // Every node, workers included, carries the bootstrap kubeconfig.
        &[(&ALL_NODES, &["/etc/kubernetes/bootstrap-kubelet.conf"])],
        &[],
    );
    assert!(text.contains(&format!("\n- {old} (secret)\n")), "{text}");
    assert!(text.contains(&format!("\n+ {new} (secret)\n")), "{text}");
    assert!(text.contains("\n~ manifests/cluster-info-configmap.yaml\n    --- a/"));
}

#[test]
fn removing_a_controller_removes_its_files() {
    scenario_with_nodes(
        &edited(
            "[[controllers]]\nname = \"cp-2\"\naddress = \"127.0.0.13\"\n",
            "",
        ),
        &[
            // The other members' etcd cluster and kube-apiserver's etcd servers.
            ('~', "control-plane/cp-0/manifests/etcd.yaml"),
            ('~', "control-plane/cp-0/manifests/kube-apiserver.yaml"),
            ('~', "control-plane/cp-1/manifests/etcd.yaml"),
            ('~', "control-plane/cp-1/manifests/kube-apiserver.yaml"),
            ('-', "control-plane/cp-2/authentication-config.yaml"),
            ('-', "control-plane/cp-2/encryption-config.yaml"),
            ('-', "control-plane/cp-2/manifests/etcd.yaml"),
            ('-', "control-plane/cp-2/manifests/kube-apiserver.yaml"),
            (
                '-',
                "control-plane/cp-2/manifests/kube-controller-manager.yaml",
            ),
            ('-', "control-plane/cp-2/manifests/kube-scheduler.yaml"),
            ('~', "index.json"),
            // cp-2's name and address leave the SANs.
            ('~', "pki/apiserver.crt"),
            ('-', "pki/etcd/cp-2/peer.crt"),
            ('-', "pki/etcd/cp-2/peer.key"),
            ('-', "pki/etcd/cp-2/server.crt"),
            ('-', "pki/etcd/cp-2/server.key"),
        ],
        &[(
            &["cp-0", "cp-1"],
            &[
                "/etc/kubernetes/manifests/etcd.yaml",
                "/etc/kubernetes/manifests/kube-apiserver.yaml",
                "/etc/kubernetes/pki/apiserver.crt",
            ],
        )],
        &["cp-2"],
    );
}

#[test]
fn a_mode_changed_by_hand_is_a_change() {
    use std::os::unix::fs::PermissionsExt;
    let ws = rendered();
    let spec = ws.path().join("cluster.toml");
    let file = ws.out_dir().join("manifests/get-nodes-clusterrole.yaml");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    let run = plan(&spec, &ws.out_dir(), &[]);
    assert_eq!(code(&run), 2);
    assert_eq!(
        run.stdout,
        "~ manifests/get-nodes-clusterrole.yaml (mode 0600 -> 0644)\n\
         Plan: 0 to add, 1 to change, 0 to remove.\n"
    );
}

#[test]
fn a_missing_out_plans_everything_as_added() {
    let ws = rendered();
    let spec = ws.path().join("cluster.toml");
    let mut secrets = secret_only_lines(&ws.out_dir());
    secrets.insert(token_secret(&spec));
    let missing = ws.path().join("fresh");
    let listed = plan_all_ways(&spec, &missing, &secrets, 2);
    assert!(!missing.exists());
    let all_added: Vec<(char, String)> = hash_tree(&ws.out_dir())
        .into_keys()
        .map(|p| ('+', p))
        .collect();
    assert_eq!(listed, all_added);
    assert!(listed.contains(&('+', "index.json".to_string())));

    // An empty directory too.
    fs::create_dir(&missing).unwrap();
    assert_eq!(plan_all_ways(&spec, &missing, &secrets, 2), all_added);
}

#[test]
fn a_foreign_out_or_a_usage_error_exits_1() {
    let ws = rendered();
    let spec = ws.path().join("cluster.toml");
    let foreign = ws.path().join("foreign");
    fs::create_dir(&foreign).unwrap();
    fs::write(foreign.join("notes.txt"), "mine\n").unwrap();
    let run = plan(&spec, &foreign, &[]);
    assert_eq!(code(&run), 1, "{}", run.stderr);
    assert!(run.stderr.contains("has no index.json"), "{}", run.stderr);
    assert_eq!(fs::read(foreign.join("notes.txt")).unwrap(), b"mine\n");

    // clap's own errors: a missing --out, an unknown --output.
    let run = kubeseed(["plan", path_str(&spec)], &[]);
    assert_eq!(code(&run), 1, "{}", run.stderr);
    let run = plan(&spec, &ws.out_dir(), &["--output", "yaml"]);
    assert_eq!(code(&run), 1, "{}", run.stderr);
    // A bad spec is an error, not drift.
    let bad = spec_file(&ws, "bad.toml", &edited("version = 1", "version = 4"));
    let run = plan(&bad, &ws.out_dir(), &[]);
    assert_eq!(code(&run), 1, "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

/// `version = 1` → `2`: exactly what the README's "Spec versions" says version 2 adds; not
/// one certificate, key, kubeconfig or token changes.
#[test]
fn moving_to_version_2_adds_what_it_says_and_re_keys_nothing() {
    let manifests = [
        "coredns-clusterrole",
        "coredns-clusterrolebinding",
        "coredns-configmap",
        "coredns-deployment",
        "coredns-poddisruptionbudget",
        "coredns-service",
        "coredns-serviceaccount",
        "kube-proxy-clusterrolebinding",
        "kube-proxy-configmap",
        "kube-proxy-daemonset",
        "kube-proxy-role",
        "kube-proxy-rolebinding",
        "kube-proxy-serviceaccount",
        "node-self-delete-clusterrole",
        "node-self-delete-clusterrolebinding",
    ];
    let mut expected: Vec<(char, String)> = vec![
        ('~', "config/10-kubeseed.conf".into()),
        ('+', "config/static-pod-path.keep".into()),
        ('~', "index.json".into()),
    ];
    expected.extend(manifests.map(|m| ('+', format!("manifests/{m}.yaml"))));
    let keep = "rootfs/etc/kubernetes/manifests/.kubeseed-keep";
    let drop_in = "rootfs/etc/systemd/system/kubelet.service.d/20-kubeseed-node.conf";
    for c in CONTROLLERS {
        expected.push(('+', format!("config/nodes/{c}/20-kubeseed-node.conf")));
        expected.push(('+', format!("nodes/{c}/{keep}")));
        expected.push(('+', format!("nodes/{c}/{drop_in}")));
    }
    expected.push(('+', format!("nodes/workers/{keep}")));
    let expected: Vec<(char, &str)> = expected.iter().map(|(m, p)| (*m, p.as_str())).collect();
    let nodes = [CONTROLLERS.as_slice(), &["workers"]].concat();
    let text = scenario_with_nodes(
        &edited("version = 1", "version = 2"),
        &expected,
        &[(
            &nodes,
            &["/etc/systemd/system/kubelet.service.d/10-kubeseed.conf"],
        )],
        &[],
    );
    // The exact list above is the proof; said once more for the reader.
    assert_re_keys_nothing(&text);
}

/// `version = 1` → `3` with version 2's keys written back to version 1's values: exactly the
/// hardening the README's "Spec versions" says version 3 adds (and version 2's keeper file,
/// which no key turns off); not one certificate, key, kubeconfig or token changes.
#[test]
fn moving_to_version_3_hardens_what_it_says_and_re_keys_nothing() {
    let mut toml = edited("version = 1", "version = 3");
    for c in CONTROLLERS {
        let line = format!("name = \"{c}\"\n");
        assert!(toml.contains(&line), "{c}");
        toml = toml.replacen(&line, &format!("{line}taints = []\n"), 1);
    }
    toml.push_str(
        "[security]\nnode_self_delete = false\n[addons]\ncoredns = false\nkube_proxy = false\n",
    );
    let mut expected: Vec<(char, String)> = vec![
        ('~', "config/kubelet-config.yaml".into()),
        ('+', "config/static-pod-path.keep".into()),
        ('~', "index.json".into()),
        ('~', "manifests/kubeadm-config-configmap.yaml".into()),
        ('~', "manifests/kubelet-config-configmap.yaml".into()),
    ];
    let keep = "rootfs/etc/kubernetes/manifests/.kubeseed-keep";
    for c in CONTROLLERS {
        for f in ["audit-policy.yaml", "admission-config.yaml"] {
            expected.push(('+', format!("control-plane/{c}/{f}")));
            expected.push(('+', format!("nodes/{c}/rootfs/etc/kubernetes/{f}")));
        }
        for pod in [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
        ] {
            expected.push(('~', format!("control-plane/{c}/manifests/{pod}.yaml")));
            expected.push((
                '~',
                format!("nodes/{c}/rootfs/etc/kubernetes/manifests/{pod}.yaml"),
            ));
        }
        expected.push(('+', format!("nodes/{c}/{keep}")));
    }
    expected.push(('+', format!("nodes/workers/{keep}")));
    let expected: Vec<(char, &str)> = expected.iter().map(|(m, p)| (*m, p.as_str())).collect();
    // The kubelet's configuration changes; its drop-in only its mode (0600).
    let text = scenario_with_nodes(
        &toml,
        &expected,
        &[(
            &ALL_NODES,
            &[
                "/var/lib/kubelet/config.yaml",
                "/etc/systemd/system/kubelet.service.d/10-kubeseed.conf",
            ],
        )],
        &[],
    );
    assert_re_keys_nothing(&text);
}

/// No line of a plan's text names a certificate, key, kubeconfig or the token Secret.
fn assert_re_keys_nothing(plan_text: &str) {
    for line in plan_text.lines().filter(|l| !l.starts_with(' ')) {
        assert!(
            !line.contains(" pki/")
                && !line.contains(" kubeconfig/")
                && !line.contains("bootstrap-token-"),
            "{line}"
        );
    }
}
