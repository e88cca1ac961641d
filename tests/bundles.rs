//! Node bundles (`nodes/<name>/`), checked the way machines consume them: every
//! `cloud-config.yaml` by Debian's `cloud-init schema`, every `ignition.json` by Debian's
//! `ignition-validate`, every `rootfs.tar` by the system `tar`, and every format decoded back
//! (cloud-config with PyYAML, the parser cloud-init itself uses) to the same files as the
//! `rootfs/` tree and as an independent statement of what each node must get.
//!
//! The examples are rendered once by the real binary; `ha` has three controllers, a pool
//! with three formats and a pool with Ignition only; `complete` is a version 2 spec (each
//! node's own kubelet drop-in, the staticPodPath keeper); `hardened` is its version 3 twin
//! (the kubelet's files 0600, the audit policy and admission configuration).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::Value;

use common::{cloud_init, ignition_validate, run};
use kubeseed::spec::{Format, Spec};

/// host path -> (bytes, mode)
type Tree = BTreeMap<String, (Vec<u8>, u32)>;

struct Example {
    name: &'static str,
    out: PathBuf,
    spec: Spec,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn render(spec: &Path, out: &Path) {
    common::kubeseed(
        [
            "render".as_ref(),
            spec.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
        &[],
    )
    .success("kubeseed render");
}

/// Renders each example once per test run into cargo's per-test scratch directory.
fn examples() -> &'static [Example] {
    static EXAMPLES: OnceLock<Vec<Example>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        ["single", "ha", "complete", "hardened", "gitops"]
            .into_iter()
            .map(|name| {
                let spec_path = repo().join(format!("examples/{name}/cluster.toml"));
                let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bundles-{name}"));
                render(&spec_path, &out);
                let text = fs::read_to_string(&spec_path).unwrap();
                let spec = kubeseed::spec::parse("cluster.toml", &text).unwrap().spec;
                Example { name, out, spec }
            })
            .collect()
    })
}

/// (node name, formats, is a controller) for every bundle of the example.
fn nodes(ex: &Example) -> Vec<(String, Vec<Format>, bool)> {
    let c = ex
        .spec
        .controllers
        .iter()
        .map(|c| (c.name.clone(), c.formats.clone(), true));
    let p = ex
        .spec
        .node_pools
        .iter()
        .map(|p| (p.name.clone(), p.formats.clone(), false));
    c.chain(p).collect()
}

fn mtime(ex: &Example) -> i64 {
    ex.spec.pki.not_before.unix_timestamp()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn walk_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let meta = fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p);
            } else {
                assert!(meta.is_file(), "{} is not a regular file", p.display());
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Files under `root` as host paths (`/` + the relative path).
fn tree_of_dir(root: &Path) -> Tree {
    walk_files(root)
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap();
            let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
            (format!("/{rel}"), (fs::read(&p).unwrap(), mode))
        })
        .collect()
}

/// Every parent directory of the tree's files, except `/`.
fn parent_dirs(tree: &Tree) -> BTreeSet<String> {
    let mut dirs = BTreeSet::new();
    for path in tree.keys() {
        for (i, _) in path.match_indices('/').skip(1) {
            dirs.insert(path[..i].to_string());
        }
    }
    dirs
}

// --- decoding each format -------------------------------------------------------------------

/// `cloud-config.yaml` parsed by PyYAML (`yaml.safe_load`, as cloud-init parses user-data),
/// returned as JSON.
fn cloud_config_json(path: &Path) -> Value {
    let r = run(Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(
            "import json, sys, yaml\n\
         json.dump(yaml.safe_load(open(sys.argv[1], 'rb')), sys.stdout)",
        )
        .arg(path))
    .success("PyYAML load of cloud-config.yaml");
    serde_json::from_str(&r.stdout).unwrap()
}

/// The files a cloud-config writes, checking every entry's shape on the way.
fn cloud_config_tree(path: &Path) -> Tree {
    let text = fs::read(path).unwrap();
    assert!(
        text.starts_with(b"#cloud-config\n"),
        "{} must start with #cloud-config",
        path.display()
    );
    let doc = cloud_config_json(path);
    let mut tree = Tree::new();
    for entry in doc["write_files"].as_array().expect("write_files list") {
        let obj = entry.as_object().unwrap();
        let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["content", "encoding", "owner", "path", "permissions"]),
            "{entry}"
        );
        assert_eq!(entry["owner"], "root:root");
        assert_eq!(entry["encoding"], "b64");
        // A string after YAML parsing: an unquoted 0600 would have become the integer 384.
        let perms = entry["permissions"]
            .as_str()
            .expect("permissions is a string");
        assert!(
            perms.len() == 4 && perms.starts_with('0'),
            "permissions {perms:?}"
        );
        let mode = u32::from_str_radix(perms, 8).unwrap();
        let bytes = B64
            .decode(entry["content"].as_str().unwrap())
            .expect("content is base64");
        let p = entry["path"].as_str().unwrap().to_string();
        assert!(tree.insert(p, (bytes, mode)).is_none(), "duplicate entry");
    }
    tree
}

/// The files and directories an Ignition config writes, checking every entry's shape.
fn ignition_tree(path: &Path) -> (Tree, BTreeSet<String>) {
    let text = fs::read(path).unwrap();
    assert!(text.ends_with(b"}\n"), "trailing newline");
    let doc: Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(doc["ignition"]["version"], "3.3.0");
    let mut tree = Tree::new();
    for f in doc["storage"]["files"].as_array().unwrap() {
        assert_eq!(f["overwrite"], true, "{f}");
        assert_eq!(f["user"]["name"], "root");
        assert_eq!(f["group"]["name"], "root");
        let mode = f["mode"].as_u64().expect("mode is a decimal integer") as u32;
        let source = f["contents"]["source"].as_str().unwrap();
        let data = source
            .strip_prefix("data:;base64,")
            .unwrap_or_else(|| panic!("not a base64 data URL: {source:.40}"));
        let bytes = B64.decode(data).unwrap();
        let p = f["path"].as_str().unwrap().to_string();
        assert!(tree.insert(p, (bytes, mode)).is_none(), "duplicate entry");
    }
    let mut dirs = BTreeSet::new();
    for d in doc["storage"]["directories"].as_array().unwrap() {
        assert_eq!(d["mode"], 0o755, "{d}");
        assert_eq!(d["user"]["name"], "root");
        assert_eq!(d["group"]["name"], "root");
        dirs.insert(d["path"].as_str().unwrap().to_string());
    }
    (tree, dirs)
}

/// `rootfs.tar` as the system tar lists and extracts it. Checks every entry is owned 0/0 (and
/// named root/root), dated `mtime`, that every directory is 0755 and precedes its contents;
/// returns the files and directories.
fn tar_tree(tarball: &Path, mtime: i64) -> (Tree, BTreeSet<String>) {
    let date = time::OffsetDateTime::from_unix_timestamp(mtime).unwrap();
    let date = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        date.year(),
        u8::from(date.month()),
        date.day(),
        date.hour(),
        date.minute()
    );
    let list = |numeric: bool| {
        let mut cmd = Command::new("tar");
        if numeric {
            cmd.arg("--numeric-owner");
        }
        cmd.arg("-tvf").arg(tarball).env("TZ", "UTC");
        run(&mut cmd).success("tar -tvf").stdout
    };
    let mut dirs = BTreeSet::new();
    let mut names = Vec::new();
    for (numeric, owner) in [(true, "0/0"), (false, "root/root")] {
        let listing = list(numeric);
        names.clear();
        for line in listing.lines() {
            let cols: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(cols.len(), 6, "{line}");
            assert_eq!(cols[1], owner, "{line}");
            assert_eq!(format!("{} {}", cols[3], cols[4]), date, "{line}");
            let name = cols[5];
            if cols[0].starts_with('d') {
                assert_eq!(cols[0], "drwxr-xr-x", "{line}");
                assert!(name.ends_with('/'), "{line}");
                dirs.insert(format!("/{}", name.trim_end_matches('/')));
            } else {
                assert!(
                    cols[0].starts_with('-'),
                    "only files and directories: {line}"
                );
            }
            names.push(name.to_string());
        }
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries are sorted");
    for (i, name) in names.iter().enumerate() {
        // Every parent directory has its own entry, earlier in the archive.
        for (j, _) in name.trim_end_matches('/').match_indices('/') {
            let parent = format!("{}/", &name[..j]);
            assert!(names[..i].contains(&parent), "{parent} before {name}");
        }
    }
    let dest = tempfile::tempdir().unwrap();
    run(Command::new("tar")
        .args(["--numeric-owner", "-xpf"])
        .arg(tarball)
        .arg("-C")
        .arg(dest.path()))
    .success("tar -xpf");
    for p in walk_files(dest.path()) {
        let meta = fs::metadata(&p).unwrap();
        assert_eq!(meta.mtime(), mtime, "{}", p.display());
        assert_eq!((meta.uid(), meta.gid()), (0, 0), "{}", p.display());
    }
    (tree_of_dir(dest.path()), dirs)
}

// --- what each node must get, stated independently of src/nodes.rs ----------------------------

/// The tree a node must receive, from the rendered output directory: the list, with
/// on-host modes (0600 for secrets and static pods, 0644 for the rest).
fn expected_tree(ex: &Example, node: &str, controller: bool) -> Tree {
    let out = &ex.out;
    let mut tree = Tree::new();
    let mut put = |host: &str, source: &Path, mode: Option<u32>| {
        let bytes = fs::read(source).unwrap();
        let disk = fs::metadata(source).unwrap().permissions().mode() & 0o777;
        tree.insert(host.to_string(), (bytes, mode.unwrap_or(disk)));
    };
    put("/etc/kubernetes/pki/ca.crt", &out.join("pki/ca.crt"), None);
    put(
        "/etc/kubernetes/bootstrap-kubelet.conf",
        &out.join("kubeconfig/bootstrap-kubelet.conf"),
        None,
    );
    // The kubelet's files (0600 with security.private_kubelet_files); a controller's or
    // pool's own drop-in, if it has labels or taints; the staticPodPath keeper of a version 2
    // spec.
    let kubelet_mode = ex.spec.security.private_kubelet_files.then_some(0o600);
    let own_drop_in = format!("config/nodes/{node}/20-kubeseed-node.conf");
    for (source, host, mode) in [
        (
            "config/kubelet-config.yaml",
            "/var/lib/kubelet/config.yaml",
            kubelet_mode,
        ),
        (
            "config/10-kubeseed.conf",
            "/etc/systemd/system/kubelet.service.d/10-kubeseed.conf",
            kubelet_mode,
        ),
        (
            own_drop_in.as_str(),
            "/etc/systemd/system/kubelet.service.d/20-kubeseed-node.conf",
            kubelet_mode,
        ),
        (
            "config/static-pod-path.keep",
            "/etc/kubernetes/manifests/.kubeseed-keep",
            None,
        ),
    ] {
        if out.join(source).exists() {
            put(host, &out.join(source), mode);
        }
    }
    if !controller {
        return tree;
    }
    for p in walk_files(&out.join("pki")) {
        let rel = p.strip_prefix(out.join("pki")).unwrap().to_str().unwrap();
        let parts: Vec<&str> = rel.split('/').collect();
        match parts.as_slice() {
            ["etcd", member, file] if *member == node => {
                put(&format!("/etc/kubernetes/pki/etcd/{file}"), &p, None)
            }
            ["etcd", _, _] => {} // another controller's member pair
            _ => put(&format!("/etc/kubernetes/pki/{rel}"), &p, None),
        }
    }
    for conf in ["admin", "super-admin", "controller-manager", "scheduler"] {
        put(
            &format!("/etc/kubernetes/{conf}.conf"),
            &out.join(format!("kubeconfig/{conf}.conf")),
            None,
        );
    }
    let cp = out.join("control-plane").join(node);
    if cp.join("manifests").exists() {
        for p in walk_files(&cp.join("manifests")) {
            let name = p.file_name().unwrap().to_str().unwrap();
            put(
                &format!("/etc/kubernetes/manifests/{name}"),
                &p,
                Some(0o600),
            );
        }
    }
    // kube-apiserver's audit policy and admission configuration are 0600 on the host.
    for (name, mode) in [
        ("encryption-config.yaml", None),
        ("authentication-config.yaml", None),
        ("audit-policy.yaml", Some(0o600)),
        ("admission-config.yaml", Some(0o600)),
    ] {
        if cp.join(name).exists() {
            put(&format!("/etc/kubernetes/{name}"), &cp.join(name), mode);
        }
    }
    tree
}

/// Every format of the node's bundle, decoded. Panics if a format's files differ from the
/// others' in bytes or mode, or its directories from the files' parents.
fn decoded(ex: &Example, node: &str, formats: &[Format]) -> Tree {
    let dir = ex.out.join("nodes").join(node);
    let mut trees: Vec<(&str, Tree)> = Vec::new();
    for format in formats {
        match format {
            Format::Rootfs => trees.push(("rootfs/", tree_of_dir(&dir.join("rootfs")))),
            Format::RootfsTar => {
                let (tree, dirs) = tar_tree(&dir.join("rootfs.tar"), mtime(ex));
                assert_eq!(dirs, parent_dirs(&tree), "{node}: rootfs.tar directories");
                trees.push(("rootfs.tar", tree));
            }
            Format::CloudInit => trees.push((
                "cloud-config.yaml",
                cloud_config_tree(&dir.join("cloud-config.yaml")),
            )),
            Format::Ignition => {
                let (tree, dirs) = ignition_tree(&dir.join("ignition.json"));
                assert_eq!(dirs, parent_dirs(&tree), "{node}: ignition directories");
                trees.push(("ignition.json", tree));
            }
        }
    }
    let (first_name, first) = trees.first().cloned().expect("at least one format");
    for (name, tree) in &trees[1..] {
        assert_eq!(
            tree.keys().collect::<Vec<_>>(),
            first.keys().collect::<Vec<_>>(),
            "{}: {name} and {first_name} hold different paths",
            ex.name
        );
        for (path, (bytes, mode)) in tree {
            let (b0, m0) = &first[path];
            assert!(
                bytes == b0,
                "{}/{node}: {path} differs between {name} and {first_name}",
                ex.name
            );
            assert_eq!(
                mode, m0,
                "{}/{node}: {path} mode in {name} vs {first_name}",
                ex.name
            );
        }
    }
    first
}

// --- the tests -------------------------------------------------------------------------------

#[test]
fn cloud_init_schema_accepts_every_cloud_config() {
    let mut checked = 0;
    for ex in examples() {
        for (node, formats, _) in nodes(ex) {
            if !formats.contains(&Format::CloudInit) {
                continue;
            }
            let file = ex.out.join("nodes").join(&node).join("cloud-config.yaml");
            let r = run(cloud_init().arg("schema").arg("--config-file").arg(&file));
            // Deprecation notes may appear; a verdict of valid must.
            assert!(
                r.status.success() && r.stdout.contains("Valid cloud-config"),
                "cloud-init schema rejected {}:\n{}{}",
                file.display(),
                r.stdout,
                r.stderr
            );
            assert!(
                !r.stderr.contains("rror"),
                "{}: {}",
                file.display(),
                r.stderr
            );
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        2 + 4 + 3 + 3 + 2,
        "single: cp-0, workers; ha: cp-0..2, workers; complete and hardened: cp-0, workers, gpu; gitops: cp-0, workers"
    );

    // The validator is no rubber stamp: the unquoted-octal mistake is refused.
    let ex = &examples()[0];
    let text = fs::read_to_string(ex.out.join("nodes/workers/cloud-config.yaml")).unwrap();
    let broken = tempfile::NamedTempFile::new().unwrap();
    fs::write(
        broken.path(),
        text.replace("permissions: '0600'", "permissions: 0600"),
    )
    .unwrap();
    let r = run(cloud_init()
        .arg("schema")
        .arg("--config-file")
        .arg(broken.path()));
    assert!(
        !r.status.success(),
        "cloud-init schema accepted an integer permissions: {}{}",
        r.stdout,
        r.stderr
    );
}

#[test]
fn ignition_validate_accepts_every_ignition_config() {
    let validate = ignition_validate();
    let mut checked = 0;
    for ex in examples() {
        for (node, formats, _) in nodes(ex) {
            if !formats.contains(&Format::Ignition) {
                continue;
            }
            let file = ex.out.join("nodes").join(&node).join("ignition.json");
            let r = run(Command::new(&validate).arg(&file));
            // ignition-validate exits 0 on warnings (e.g. an unknown key): none is allowed.
            assert!(
                r.status.success() && r.stdout.is_empty() && r.stderr.is_empty(),
                "ignition-validate on {}:\n{}{}",
                file.display(),
                r.stdout,
                r.stderr
            );
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        2 + 5 + 3 + 3 + 2,
        "single: cp-0, workers; ha: cp-0..2, workers, gpu; complete and hardened: cp-0, workers, gpu; gitops: cp-0, workers"
    );

    // And it does check: an octal-string mode is refused.
    let ex = &examples()[0];
    let text = fs::read_to_string(ex.out.join("nodes/workers/ignition.json")).unwrap();
    let broken = tempfile::NamedTempFile::new().unwrap();
    fs::write(
        broken.path(),
        text.replacen("\"mode\": 384", "\"mode\": \"0600\"", 1),
    )
    .unwrap();
    let r = run(Command::new(&validate).arg(broken.path()));
    assert!(
        !r.status.success(),
        "ignition-validate accepted a string mode"
    );
}

/// Every format of every bundle decodes to the same files, bytes and modes, and those are
/// exactly what the node must get; tarballs are root-owned at `pki.not_before`.
#[test]
fn every_format_carries_exactly_the_node_files() {
    for ex in examples() {
        for (node, formats, controller) in nodes(ex) {
            let got = decoded(ex, &node, &formats);
            let want = expected_tree(ex, &node, controller);
            let keys = |t: &Tree| t.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(&got), keys(&want), "{}/{node}: host paths", ex.name);
            for (path, (bytes, mode)) in &want {
                let (b, m) = &got[path];
                assert!(b == bytes, "{}/{node}: {path} has other bytes", ex.name);
                assert_eq!(
                    format!("{m:04o}"),
                    format!("{mode:04o}"),
                    "{}/{node}: {path} mode",
                    ex.name
                );
            }
        }
    }
}

#[test]
fn two_renders_give_identical_tarballs() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = repo().join("examples/ha/cluster.toml");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    render(&spec, &a);
    render(&spec, &b);
    let mut compared = 0;
    for node in ["cp-0", "cp-1", "cp-2"] {
        let rel = format!("nodes/{node}/rootfs.tar");
        let (ta, tb) = (
            fs::read(a.join(&rel)).unwrap(),
            fs::read(b.join(&rel)).unwrap(),
        );
        assert!(ta == tb, "{rel} differs between two renders");
        compared += 1;
    }
    assert_eq!(compared, 3);
}

/// Private keys of the render as PEM: every `.key` file and every kubeconfig's client key.
fn private_keys(out: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut keys = BTreeMap::new();
    for p in walk_files(out) {
        let rel = p.strip_prefix(out).unwrap().to_str().unwrap().to_string();
        if rel.starts_with("nodes/") {
            continue;
        }
        let text = fs::read_to_string(&p).unwrap_or_default();
        if rel.ends_with(".key") {
            keys.insert(rel, text.into_bytes());
        } else if let Some(data) = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("client-key-data: "))
        {
            keys.insert(format!("{rel}#client-key-data"), B64.decode(data).unwrap());
        }
    }
    keys
}

/// Byte strings that reveal `secret` wherever it sits: its own long lines (PEM bodies), and
/// its base64 at each of the three alignments a base64 stream can give it, once and twice
/// encoded (a key inside a kubeconfig's client-key-data, inside a cloud-config).
fn needles(secret: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = secret
        .split(|b| *b == b'\n')
        .filter(|l| l.len() >= 40 && !l.starts_with(b"-----"))
        .map(<[u8]>::to_vec)
        .collect();
    out.extend(b64_forms(secret));
    out.extend(b64_forms(B64.encode(secret).as_bytes()));
    out
}

/// `data` base64-encoded inside a longer base64 stream, at each of the three alignments it
/// can have there.
fn b64_forms(data: &[u8]) -> Vec<Vec<u8>> {
    (0..3)
        .map(|shift| {
            let enc = B64.encode(&data[shift..]);
            // The last group depends on what follows in the stream; the rest does not.
            enc.as_bytes()[..enc.len() - 4].to_vec()
        })
        .collect()
}

/// Every byte a bundle ships, raw and decoded: its files on disk (including the tar and the
/// encoded user-data) and every decoded file of every format.
fn bundle_haystacks(ex: &Example, node: &str, formats: &[Format]) -> Vec<(String, Vec<u8>)> {
    let dir = ex.out.join("nodes").join(node);
    let mut hay: Vec<(String, Vec<u8>)> = walk_files(&dir)
        .into_iter()
        .map(|p| (p.display().to_string(), fs::read(&p).unwrap()))
        .collect();
    for (path, (bytes, _)) in decoded(ex, node, formats) {
        hay.push((format!("{node} decoded {path}"), bytes));
    }
    hay
}

fn find_any(hay: &[(String, Vec<u8>)], needles: &[Vec<u8>]) -> Option<String> {
    for (name, bytes) in hay {
        if let Some(n) = needles.iter().find(|n| contains(bytes, n)) {
            return Some(format!(
                "{name} contains {:.40}",
                String::from_utf8_lossy(n)
            ));
        }
    }
    None
}

#[test]
fn worker_bundles_hold_no_private_key() {
    for ex in examples() {
        let keys = private_keys(&ex.out);
        // At least: 3 CAs, 5 cluster-wide leaves, sa.key, 2 per controller, 4 client
        // kubeconfigs (others may add more; all are scanned for).
        let n = ex.spec.controllers.len();
        assert!(keys.len() >= 9 + 2 * n + 4, "{:?}", keys.keys());
        let all: Vec<Vec<u8>> = keys.values().flat_map(|k| needles(k)).collect();
        let mut generic = all.clone();
        generic.push(b"PRIVATE KEY".to_vec());

        // The scanner finds keys in every encoding a controller bundle uses.
        let cp = &ex.spec.controllers[0];
        let cp_hay = bundle_haystacks(ex, &cp.name, &cp.formats);
        for (file, key) in [
            ("cloud-config.yaml", "pki/apiserver.key"),
            ("cloud-config.yaml", "kubeconfig/admin.conf#client-key-data"),
            ("ignition.json", "pki/sa.key"),
            ("ignition.json", "kubeconfig/scheduler.conf#client-key-data"),
            ("rootfs.tar", "pki/etcd/ca.key"),
        ] {
            let raw = &fs::read(ex.out.join("nodes").join(&cp.name).join(file)).unwrap();
            assert!(
                needles(&keys[key]).iter().any(|n| contains(raw, n)),
                "control: {key} not found in {}'s {file}",
                cp.name
            );
        }
        assert!(find_any(&cp_hay, &generic).is_some());

        for pool in &ex.spec.node_pools {
            let hay = bundle_haystacks(ex, &pool.name, &pool.formats);
            assert!(hay.len() >= 2, "{}: nothing scanned", pool.name);
            if let Some(found) = find_any(&hay, &generic) {
                panic!("{}/{}: {found}", ex.name, pool.name);
            }
        }
    }
}

#[test]
fn controller_bundles_hold_their_own_etcd_pairs_only() {
    let ex = examples().iter().find(|e| e.name == "ha").unwrap();
    let names: Vec<&str> = ex
        .spec
        .controllers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["cp-0", "cp-1", "cp-2"]);
    for c in &ex.spec.controllers {
        let tree = decoded(ex, &c.name, &c.formats);
        for file in ["server.crt", "server.key", "peer.crt", "peer.key"] {
            let own = fs::read(ex.out.join(format!("pki/etcd/{}/{file}", c.name))).unwrap();
            assert!(
                tree[&format!("/etc/kubernetes/pki/etcd/{file}")].0 == own,
                "{}: etcd {file} is not its own",
                c.name
            );
        }
        let mut others = Vec::new();
        for other in names.iter().filter(|n| **n != c.name) {
            for file in ["server.key", "peer.key"] {
                others.extend(needles(
                    &fs::read(ex.out.join(format!("pki/etcd/{other}/{file}"))).unwrap(),
                ));
            }
            // Certificates from one CA share whole lines (issuer, validity), so a certificate
            // is only found whole, raw or base64-encoded.
            for file in ["server.crt", "peer.crt"] {
                let pem = fs::read(ex.out.join(format!("pki/etcd/{other}/{file}"))).unwrap();
                others.extend(b64_forms(&pem));
                others.extend(b64_forms(B64.encode(&pem).as_bytes()));
                others.push(pem);
            }
        }
        let hay = bundle_haystacks(ex, &c.name, &c.formats);
        if let Some(found) = find_any(&hay, &others) {
            panic!("{}: another controller's etcd pair: {found}", c.name);
        }
    }
}

#[test]
fn formats_are_honoured_per_node() {
    let listing = |ex: &Example, node: &str| -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(ex.out.join("nodes").join(node))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    let all = ["cloud-config.yaml", "ignition.json", "rootfs", "rootfs.tar"];
    for ex in examples() {
        let mut dirs: Vec<String> = fs::read_dir(ex.out.join("nodes"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        dirs.sort();
        let expected: Vec<(&str, Vec<&str>)> = match ex.name {
            "single" | "gitops" => vec![("cp-0", all.to_vec()), ("workers", all.to_vec())],
            "complete" | "hardened" => vec![
                ("cp-0", all.to_vec()),
                ("gpu", all.to_vec()),
                ("workers", all.to_vec()),
            ],
            _ => vec![
                ("cp-0", all.to_vec()),
                ("cp-1", all.to_vec()),
                ("cp-2", all.to_vec()),
                ("gpu", vec!["ignition.json"]),
                (
                    "workers",
                    vec!["cloud-config.yaml", "ignition.json", "rootfs"],
                ),
            ],
        };
        assert_eq!(
            dirs,
            expected
                .iter()
                .map(|(n, _)| n.to_string())
                .collect::<Vec<_>>(),
            "{}",
            ex.name
        );
        for (node, files) in expected {
            assert_eq!(listing(ex, node), files, "{}/{node}", ex.name);
        }
    }
}

#[test]
fn index_json_records_bundle_kinds_and_modes() {
    for ex in examples() {
        let index: Value =
            serde_json::from_slice(&fs::read(ex.out.join("index.json")).unwrap()).unwrap();
        // sha256 -> secrecy of the rendered files outside nodes/: a rootfs file is secret
        // exactly when its source is.
        let mut sources: BTreeMap<&str, bool> = BTreeMap::new();
        for e in index["files"].as_array().unwrap() {
            if !e["path"].as_str().unwrap().starts_with("nodes/") {
                let secret = e["secret"].as_bool().unwrap();
                let prior = sources.insert(e["sha256"].as_str().unwrap(), secret);
                assert!(prior.is_none_or(|p| p == secret), "{e}");
            }
        }
        let mut seen = BTreeMap::new();
        for e in index["files"].as_array().unwrap() {
            let path = e["path"].as_str().unwrap();
            let Some(rest) = path.strip_prefix("nodes/") else {
                continue;
            };
            let (node, file) = rest.split_once('/').unwrap();
            let kind = e["kind"].as_str().unwrap();
            let mode = e["mode"].as_str().unwrap();
            let secret = e["secret"].as_bool().unwrap();
            let disk = common::mode_of(&ex.out.join(path));
            assert_eq!(format!("{disk:04o}"), mode, "{path}: mode on disk");
            match file {
                "rootfs.tar" | "cloud-config.yaml" | "ignition.json" => {
                    let want = match file {
                        "rootfs.tar" => "rootfs-tarball",
                        "cloud-config.yaml" => "cloud-init",
                        _ => "ignition",
                    };
                    assert_eq!(kind, want, "{path}");
                    // Every bundle embeds a credential (at least the bootstrap kubeconfig).
                    assert_eq!((mode, secret), ("0600", true), "{path}");
                }
                f if f.starts_with("rootfs/") => {
                    assert_eq!(kind, "rootfs-file", "{path}");
                    let source = sources.get(e["sha256"].as_str().unwrap());
                    assert_eq!(source, Some(&secret), "{path}: secrecy of its source");
                    if secret {
                        assert_eq!(mode, "0600", "{path}");
                    }
                }
                other => panic!("unexpected bundle file {node}/{other}"),
            }
            *seen.entry(kind.to_string()).or_insert(0) += 1;
        }
        for kind in ["rootfs-file", "rootfs-tarball", "cloud-init", "ignition"] {
            assert!(
                seen.contains_key(kind),
                "{}: no {kind} in index.json",
                ex.name
            );
        }
    }
}

/// Every rendered file outside `nodes/` is placed on nodes or excluded on purpose by a row of
/// src/nodes.rs, and every file under `control-plane/<c>/` reaches controller c's bundle: a
/// renderer that adds a file without a row fails here, not on a machine.
#[test]
fn every_rendered_file_is_placed_or_excluded() {
    for ex in examples() {
        let index: Value =
            serde_json::from_slice(&fs::read(ex.out.join("index.json")).unwrap()).unwrap();
        for e in index["files"].as_array().unwrap() {
            let path = e["path"].as_str().unwrap();
            if path.starts_with("nodes/") {
                continue;
            }
            assert!(
                kubeseed::bundle::placement::place(path).is_some(),
                "{path} is rendered but src/nodes.rs neither places it on nodes nor excludes it"
            );
            if let Some(rest) = path.strip_prefix("control-plane/") {
                let (node, _) = rest.split_once('/').unwrap();
                let c = ex
                    .spec
                    .controllers
                    .iter()
                    .find(|c| c.name == node)
                    .unwrap_or_else(|| panic!("{path}: no controller {node}"));
                let bytes = fs::read(ex.out.join(path)).unwrap();
                let tree = decoded(ex, node, &c.formats);
                assert!(
                    tree.values().any(|(b, _)| *b == bytes),
                    "{path} is not in nodes/{node}"
                );
            }
        }
    }
}

/// The examples have no systemd drop-in yet (the kubelet's comes with the kubelet work), so
/// the `runcmd` and `systemd.units` that one brings are validated on a bundle built directly.
#[test]
fn validators_accept_the_systemd_activation_of_a_drop_in() {
    use kubeseed::bundle::{cloud_config, ignition, HostFile};
    let files = [
        HostFile {
            path: "/etc/systemd/system/kubelet.service.d/10-kubeseed.conf".into(),
            mode: 0o644,
            secret: false,
            bytes: b"[Service]\nEnvironment=X=1\n".to_vec(),
        },
        HostFile {
            path: "/etc/kubernetes/bootstrap-kubelet.conf".into(),
            mode: 0o600,
            secret: true,
            bytes: b"token\n".to_vec(),
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let cc = dir.path().join("cloud-config.yaml");
    fs::write(&cc, cloud_config(&files).unwrap()).unwrap();
    let r = run(cloud_init().arg("schema").arg("--config-file").arg(&cc));
    assert!(
        r.status.success() && r.stdout.contains("Valid cloud-config"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    let runcmd = &cloud_config_json(&cc)["runcmd"];
    assert_eq!(
        runcmd,
        &serde_json::json!([
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "kubelet.service"],
            ["systemctl", "restart", "kubelet.service"]
        ])
    );
    let ign = dir.path().join("ignition.json");
    fs::write(&ign, ignition(&files).unwrap()).unwrap();
    let r = run(Command::new(ignition_validate()).arg(&ign));
    assert!(
        r.status.success() && r.stdout.is_empty() && r.stderr.is_empty(),
        "{}{}",
        r.stdout,
        r.stderr
    );
    let doc: Value = serde_json::from_slice(&fs::read(&ign).unwrap()).unwrap();
    assert_eq!(
        doc["systemd"],
        serde_json::json!({"units": [{"name": "kubelet.service", "enabled": true}]})
    );
}

/// `labels` and `taints` of a controller or a pool reach that bundle's kubelet, in every
/// format, through its own drop-in; a bundle without them gets none, and the shared drop-in
/// passes `$KUBELET_NODE_ARGS` only when some bundle has one.
#[test]
fn labels_and_taints_reach_only_their_own_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let text = common::Spec::new("lt")
        .controllers(1)
        .table(
            "[[node_pools]]\nname = \"gpu\"\n\
             labels = { \"example.com/gpu\" = \"a100\", \"node.kubernetes.io/pool\" = \"gpu\" }\n\
             taints = [\"example.com/gpu=true:NoSchedule\", \"spot:NoExecute\"]\n\
             [[node_pools]]\nname = \"plain\"",
        )
        .build()
        .replace(
            "[[controllers]]\nname = \"cp-0\"\n",
            "[[controllers]]\nname = \"cp-0\"\ntaints = [\"node-role.kubernetes.io/control-plane:NoSchedule\"]\n",
        );
    assert!(text.contains("control-plane:NoSchedule"), "{text}");
    let out = common::render_in(dir.path(), &text, &"5e".repeat(32));
    let ex = Example {
        name: "labelled",
        out,
        spec: kubeseed::spec::parse("cluster.toml", &text).unwrap().spec,
    };
    let host = "/etc/systemd/system/kubelet.service.d/20-kubeseed-node.conf";
    let args = |node: &str| -> Option<String> {
        let tree = decoded(&ex, node, &Format::ALL.map(|(f, _)| f));
        let (bytes, mode) = tree.get(host)?;
        assert_eq!(*mode, 0o644);
        assert_eq!(
            bytes,
            &fs::read(
                ex.out
                    .join(format!("config/nodes/{node}/20-kubeseed-node.conf"))
            )
            .unwrap()
        );
        let text = String::from_utf8(bytes.clone()).unwrap();
        let line = text.lines().find(|l| l.starts_with("Environment="))?;
        Some(line.to_string())
    };
    assert_eq!(
        args("gpu").as_deref(),
        Some("Environment=\"KUBELET_NODE_ARGS=--node-labels=example.com/gpu=a100,node.kubernetes.io/pool=gpu --register-with-taints=example.com/gpu=true:NoSchedule,spot:NoExecute\"")
    );
    assert_eq!(
        args("cp-0").as_deref(),
        Some("Environment=\"KUBELET_NODE_ARGS=--register-with-taints=node-role.kubernetes.io/control-plane:NoSchedule\"")
    );
    assert_eq!(args("plain"), None);
    assert!(!ex.out.join("config/nodes/plain").exists());
    let shared = fs::read_to_string(ex.out.join("config/10-kubeseed.conf")).unwrap();
    assert!(
        shared.contains(" $KUBELET_NODE_ARGS $KUBELET_EXTRA_ARGS\n"),
        "{shared}"
    );

    // The validators accept the bundle that carries one.
    let file = ex.out.join("nodes/gpu/cloud-config.yaml");
    let r = run(cloud_init().arg("schema").arg("--config-file").arg(&file));
    assert!(
        r.status.success() && r.stdout.contains("Valid cloud-config"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    let r = run(Command::new(ignition_validate()).arg(ex.out.join("nodes/gpu/ignition.json")));
    assert!(
        r.status.success() && r.stdout.is_empty() && r.stderr.is_empty(),
        "{}{}",
        r.stdout,
        r.stderr
    );

    // And verify reads the drop-in back from the bundles: a tampered copy is reported.
    let rootfs_copy = ex
        .out
        .join("nodes/gpu/rootfs")
        .join(host.trim_start_matches('/'));
    fs::set_permissions(&rootfs_copy, fs::Permissions::from_mode(0o644)).unwrap();
    let tampered = fs::read_to_string(&rootfs_copy)
        .unwrap()
        .replace("spot:NoExecute", "spot:NoSchedule");
    fs::write(&rootfs_copy, tampered).unwrap();
    let v = common::kubeseed(["verify".as_ref(), ex.out.as_os_str()], &[]);
    assert!(!v.status.success(), "verify accepted a tampered drop-in");
    let said = format!("{}{}", v.stdout, v.stderr);
    assert!(
        said.contains("nodes/gpu/rootfs/etc/systemd/system/kubelet.service.d/20-kubeseed-node.conf: differs from config/nodes/gpu/20-kubeseed-node.conf"),
        "{said}"
    );
}
