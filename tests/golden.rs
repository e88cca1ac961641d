//! Golden and determinism tests: the examples with their demo seeds render to
//! pinned bytes (`tests/golden/<example>.snap`: every file's hash and mode, and
//! the text of every public file), rendering twice gives identical trees,
//! another seed changes every key, and a generation bump changes only that asset.
//!
//! After an intended output change: `KUBESEED_BLESS=1 cargo test --test golden`.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// path -> (sha256 hex, mode), for every regular file under `dir`.
fn tree(dir: &Path) -> BTreeMap<String, common::FileEntry> {
    common::hash_tree(dir)
}

fn render(spec: &Path, out: &Path, seed: Option<&Path>) -> common::Run {
    let mut args = vec![
        OsStr::new("render"),
        spec.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
    ];
    if let Some(seed) = seed {
        args.extend([OsStr::new("--seed"), seed.as_os_str()]);
    }
    common::kubeseed(args, &[]).success(&format!("render {}", spec.display()))
}

fn golden(example: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    render(
        &root().join(format!("examples/{example}/cluster.toml")),
        &out,
        None,
    );
    let actual = common::snapshot(&out);
    let pinned = root().join(format!("tests/golden/{example}.snap"));
    if std::env::var_os("KUBESEED_BLESS").is_some() {
        fs::write(&pinned, &actual).unwrap();
    }
    let expected = fs::read_to_string(&pinned).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with KUBESEED_BLESS=1 to create it)",
            pinned.display()
        )
    });
    if actual != expected {
        let diff = similar::TextDiff::from_lines(&expected, &actual)
            .unified_diff()
            .context_radius(2)
            .header("pinned", "rendered")
            .to_string();
        let shown: String = diff.lines().take(200).map(|l| format!("{l}\n")).collect();
        panic!(
            "examples/{example} no longer renders to the pinned bytes ({}):\n{shown}\nIf the change is intended, run KUBESEED_BLESS=1 cargo test --test golden and review the diff.",
            pinned.display()
        );
    }
}

#[test]
fn golden_single() {
    golden("single");
}

#[test]
fn golden_ha() {
    golden("ha");
}

/// A version 2 spec: its defaults (the add-ons, self-delete, the controller taint, the
/// staticPodPath keeper) and labelled, tainted pools.
#[test]
fn golden_complete() {
    golden("complete");
}

/// A version 3 spec: version 2's defaults and the hardening of version 3 (audit log, Pod
/// Security admission, cipher suites, kubelet settings and modes, etcd's data directory).
#[test]
fn golden_hardened() {
    golden("hardened");
}

/// `[gitops]`: the `gitops/` tree, its token Secret SOPS-encrypted to two age recipients.
/// The snapshot pins the encrypted file's text too: it is public, and deterministic.
#[test]
fn golden_gitops() {
    golden("gitops");
}

#[test]
fn rendering_twice_gives_identical_trees() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = root().join("examples/ha/cluster.toml");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    render(&spec, &a, None);
    render(&spec, &b, None);
    let first = tree(&a);
    assert!(first.len() > 30, "only {} files", first.len());
    assert_eq!(first, tree(&b));
    // Rendering over an existing output changes nothing either.
    render(&spec, &a, None);
    assert_eq!(first, tree(&a));
}

/// Private keys as PEM text: every `.key` file and every key embedded in a kubeconfig.
fn private_keys(dir: &Path) -> BTreeMap<String, String> {
    let mut keys = BTreeMap::new();
    for (path, _) in tree(dir) {
        let text = fs::read_to_string(dir.join(&path)).unwrap();
        if path.ends_with(".key") {
            keys.insert(path, text);
        } else if path.ends_with(".conf") {
            if let Some(line) = text
                .lines()
                .find(|l| l.trim_start().starts_with("client-key-data:"))
            {
                keys.insert(path, line.to_string());
            }
        }
    }
    keys
}

#[test]
fn another_seed_changes_every_key_and_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = root().join("examples/single/cluster.toml");
    let other_seed = tmp.path().join("other.seed");
    fs::write(&other_seed, format!("{}\n", "ab".repeat(32))).unwrap();
    fs::set_permissions(&other_seed, fs::Permissions::from_mode(0o600)).unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    render(&spec, &a, None);
    render(&spec, &b, Some(&other_seed));
    let (ka, kb) = (private_keys(&a), private_keys(&b));
    assert_eq!(ka.keys().collect::<Vec<_>>(), kb.keys().collect::<Vec<_>>());
    // 11 key files (3 CAs, 7 leaves, sa.key) and the 4 client-certificate kubeconfigs, and
    // the same 15 again in the controller's rootfs bundle (a worker bundle holds none).
    let (bundled, rendered): (Vec<&String>, Vec<&String>) =
        ka.keys().partition(|p| p.starts_with("nodes/"));
    assert_eq!(rendered.len(), 15, "expected every key, got {rendered:?}");
    assert_eq!(bundled.len(), 15, "expected every key, got {bundled:?}");
    assert!(bundled.iter().all(|p| p.starts_with("nodes/cp-0/rootfs/")));
    for (path, key) in &ka {
        assert_ne!(
            Some(key),
            kb.get(path),
            "{path} did not change with the seed"
        );
    }
    let token = |dir: &Path| {
        let text = fs::read_to_string(dir.join("kubeconfig/bootstrap-kubelet.conf")).unwrap();
        text.lines()
            .find(|l| l.contains("token:"))
            .unwrap()
            .to_string()
    };
    assert_ne!(token(&a), token(&b));
    // The encryption-at-rest key comes from the seed too.
    let enc = |dir: &Path| fs::read(dir.join("control-plane/cp-0/encryption-config.yaml")).unwrap();
    assert_ne!(enc(&a), enc(&b));
}

/// `changed` (paths under `pki/`) plus what carries them in the node bundles of `controllers`:
/// their copies at the on-host paths (a member's own etcd pairs only) and the bundle files
/// that embed those, and index.json. Worker bundles hold no re-keyable asset but the CA
/// certificate, so they never appear.
fn with_bundle_copies(changed: &[&str], controllers: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = vec!["index.json".into()];
    for c in controllers {
        let mut carried = false;
        for path in changed {
            let rel = path.strip_prefix("pki/").unwrap();
            let host = match rel.strip_prefix("etcd/").and_then(|r| r.split_once('/')) {
                Some((member, file)) if member == *c => format!("etcd/{file}"),
                Some(_) => continue,
                None => rel.to_string(),
            };
            all.push(format!("nodes/{c}/rootfs/etc/kubernetes/pki/{host}"));
            carried = true;
        }
        if carried {
            for f in ["cloud-config.yaml", "ignition.json", "rootfs.tar"] {
                all.push(format!("nodes/{c}/{f}"));
            }
        }
    }
    all.extend(changed.iter().map(|p| p.to_string()));
    all.sort();
    all
}

#[test]
fn bumping_one_generation_changes_only_that_asset() {
    let tmp = tempfile::tempdir().unwrap();
    let original = fs::read_to_string(root().join("examples/ha/cluster.toml")).unwrap();
    let seed = root().join("examples/ha/seed");
    let bumped = tmp.path().join("bumped.toml");
    let text = original.replace("[pki.generations]\n", "[pki.generations]\napiserver = 2\n");
    assert_ne!(text, original);
    fs::write(&bumped, text).unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    render(&root().join("examples/ha/cluster.toml"), &a, None);
    render(&bumped, &b, Some(&seed));
    let (ta, tb) = (tree(&a), tree(&b));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    let changed: Vec<&String> = ta.keys().filter(|p| ta[*p] != tb[*p]).collect();
    assert_eq!(
        changed,
        with_bundle_copies(
            &["pki/apiserver.crt", "pki/apiserver.key"],
            &["cp-0", "cp-1", "cp-2"]
        )
        .iter()
        .collect::<Vec<_>>()
    );
}

#[test]
fn bumping_a_ca_generation_changes_the_ca_and_what_it_signs() {
    let tmp = tempfile::tempdir().unwrap();
    let original = fs::read_to_string(root().join("examples/ha/cluster.toml")).unwrap();
    let seed = root().join("examples/ha/seed");
    let bumped = tmp.path().join("bumped.toml");
    fs::write(
        &bumped,
        original.replace("[pki.generations]\n", "[pki.generations]\netcd-ca = 2\n"),
    )
    .unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    render(&root().join("examples/ha/cluster.toml"), &a, None);
    render(&bumped, &b, Some(&seed));
    let (ta, tb) = (tree(&a), tree(&b));
    let changed: Vec<&str> = ta
        .keys()
        .filter(|p| ta[*p] != tb[*p])
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "pki/apiserver-etcd-client.crt",
        "pki/etcd/ca.crt",
        "pki/etcd/ca.key",
    ];
    for c in ["cp-0", "cp-1", "cp-2"] {
        expected.push(Box::leak(format!("pki/etcd/{c}/peer.crt").into_boxed_str()));
        expected.push(Box::leak(
            format!("pki/etcd/{c}/server.crt").into_boxed_str(),
        ));
    }
    expected.push("pki/etcd/healthcheck-client.crt");
    assert_eq!(
        changed,
        with_bundle_copies(&expected, &["cp-0", "cp-1", "cp-2"])
    );
}

/// Nothing secret reaches the terminal: not the seed, not a line of any
/// private key, not the token secret.
#[test]
fn render_prints_no_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let spec = root().join("examples/single/cluster.toml");
    let seed_text = fs::read_to_string(root().join("examples/single/seed")).unwrap();
    let output = render(&spec, &out_dir, None);
    let printed = format!("{}{}", output.stdout, output.stderr);
    assert!(printed.contains("rendered"), "{printed}");
    assert!(!printed.contains(seed_text.trim()), "the seed was printed");
    let mut secrets = vec![];
    for (path, _) in tree(&out_dir) {
        let text = fs::read_to_string(out_dir.join(&path)).unwrap();
        if path.ends_with(".key") {
            // Every base64 line of every key.
            secrets.extend(
                text.lines()
                    .filter(|l| !l.starts_with("-----"))
                    .map(String::from),
            );
        }
        if let Some(token) = text.lines().find_map(|l| l.trim().strip_prefix("token: ")) {
            secrets.push(token.split('.').nth(1).unwrap().to_string());
        }
        if path.ends_with("encryption-config.yaml") {
            let key = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("secret: "))
                .unwrap();
            secrets.push(key.trim_matches('"').to_string());
        }
    }
    assert!(
        secrets.len() > 30,
        "found only {} secret fragments",
        secrets.len()
    );
    for s in &secrets {
        assert!(
            !printed.contains(s.as_str()),
            "a secret fragment was printed: {printed}"
        );
    }
}
