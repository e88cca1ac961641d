//! `[gitops]` end to end with the real tools: `render` writes a `gitops/` tree whose Secret
//! the real `sops` decrypts with each recipient's identity (from the real `age-keygen`) to
//! exactly the manifest it was made from, whose wrapped data keys the real `age` opens, and
//! which `verify` checks with and without `--age-identity`. Determinism: a re-render gives
//! the same bytes, a token rotation changes exactly the token's file and `cluster-info`,
//! adding a recipient changes only the `sops.age` list, reordering recipients nothing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use kubeseed::gitops::sops;
use kubeseed::gitops::yaml;

const SEED: &str = "5a0c1e7d2b9f4a6e8c3d1f0b7a5e9c2d4f6a8b0c1e3d5f7a9b2c4e6d8f0a1b3c";

/// `kubeseed verify OUT --age-identity KEY_FILE`.
fn verify_with(out: &Path, key_file: &Path) -> common::Run {
    common::kubeseed(
        [
            "verify".as_ref(),
            out.as_os_str(),
            "--age-identity".as_ref(),
            key_file.as_os_str(),
        ],
        &[],
    )
}

fn spec(recipients: &[&str], token_generation: u32) -> String {
    let list: Vec<String> = recipients.iter().map(|r| format!("  \"{r}\",\n")).collect();
    common::Spec::new("gitops")
        .version(3)
        .controllers(1)
        .token(&format!("generation = {token_generation}"))
        .pool("workers")
        .table(&format!("[gitops]\nage_recipients = [\n{}]", list.concat()))
        .build()
}

/// Renders `toml` in a fresh directory under `root`; returns the output directory.
fn render(root: &Path, name: &str, toml: &str) -> PathBuf {
    let dir = root.join(name);
    fs::create_dir_all(&dir).expect("mkdir");
    common::render_in(&dir, toml, SEED)
}

/// `gitops/` file name → bytes.
fn gitops(out: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(out.join("gitops"))
        .expect("gitops/ exists")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

/// The names whose bytes differ, or that only one side has.
fn changed(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> BTreeSet<String> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// `kubeseed plan` of `toml` (written over `dir/cluster.toml`) against `dir/out`.
fn plan(dir: &Path, toml: &str) -> common::Run {
    let spec = dir.join("cluster.toml");
    fs::write(&spec, toml).expect("write spec");
    common::kubeseed(
        [
            "plan".as_ref(),
            spec.as_os_str(),
            "--out".as_ref(),
            dir.join("out").as_os_str(),
        ],
        &[],
    )
}

fn token_manifest(out: &Path) -> PathBuf {
    fs::read_dir(out.join("manifests"))
        .expect("manifests/")
        .map(|e| e.expect("entry").path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("bootstrap-token-"))
        })
        .expect("the token Secret")
}

#[test]
fn the_real_sops_decrypts_the_rendered_secret_with_each_identity() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (flux, admin, stranger) = (
        common::age_keygen_key(tmp.path(), "flux"),
        common::age_keygen_key(tmp.path(), "admin"),
        common::age_keygen_key(tmp.path(), "stranger"),
    );
    let out = render(
        tmp.path(),
        "r",
        &spec(&[&flux.recipient, &admin.recipient], 1),
    );
    let tree = gitops(&out);
    let encrypted = out.join("gitops/bootstrap-token.sops.yaml");
    let original = fs::read_to_string(token_manifest(&out)).expect("read the Secret");
    let want = yaml::parse(&original).expect("the Secret parses");

    // Every other file is the manifest's bytes, and the kustomization lists them all.
    for (name, bytes) in &tree {
        if name == "bootstrap-token.sops.yaml" || name == "kustomization.yaml" {
            continue;
        }
        assert_eq!(
            bytes,
            &fs::read(out.join("manifests").join(name)).expect("read"),
            "{name}"
        );
    }
    let kustomization = String::from_utf8(tree["kustomization.yaml"].clone()).expect("utf-8");
    let listed: BTreeSet<&str> = kustomization
        .lines()
        .filter_map(|l| l.strip_prefix("  - "))
        .collect();
    let files: BTreeSet<&str> = tree
        .keys()
        .map(String::as_str)
        .filter(|n| *n != "kustomization.yaml")
        .collect();
    assert_eq!(listed, files);
    // Nothing in gitops/ is secret: index.json marks it all committable.
    let index = fs::read_to_string(out.join("index.json")).expect("index.json");
    let index: serde_json::Value = serde_json::from_str(&index).expect("json");
    for entry in index["files"].as_array().expect("files") {
        if entry["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("gitops/"))
        {
            assert_eq!(entry["secret"], false, "{entry}");
            assert_eq!(entry["mode"], "0644", "{entry}");
        }
    }
    // The plaintext is not in the file: the token secret's base64 appears only in manifests/.
    let secret_b64 = original
        .lines()
        .find_map(|l| l.trim().strip_prefix("token-secret: "))
        .expect("token-secret");
    assert!(!String::from_utf8_lossy(&tree["bootstrap-token.sops.yaml"]).contains(secret_b64));

    for key in [&flux, &admin] {
        let run = common::run(
            common::sops_as(&key.file, tmp.path())
                .arg("decrypt")
                .arg(&encrypted),
        )
        .success("sops -d");
        assert_eq!(
            yaml::parse(&run.stdout).expect("sops's output parses"),
            want
        );
        let run = verify_with(&out, &key.file);
        assert!(run.status.success(), "{}{}", run.stdout, run.stderr);
    }
    // A stranger's identity opens nothing, in sops or in verify.
    let run = common::run(
        common::sops_as(&stranger.file, tmp.path())
            .arg("decrypt")
            .arg(&encrypted),
    );
    assert!(!run.status.success(), "{}", run.stdout);
    let run = verify_with(&out, &stranger.file);
    assert!(!run.status.success());
    assert!(
        run.stdout
            .contains("cannot be decrypted with --age-identity"),
        "{}",
        run.stdout
    );

    // The real age opens each recipient's wrapped key: the same 32-byte data key.
    let meta = sops::metadata(&String::from_utf8_lossy(&tree["bootstrap-token.sops.yaml"]))
        .expect("metadata");
    let mut data_keys = BTreeSet::new();
    assert_eq!(meta.age.len(), 2);
    for entry in &meta.age {
        let owner = [&flux, &admin]
            .into_iter()
            .find(|k| k.recipient == entry.recipient.as_str())
            .expect("a recipient of ours");
        let armored = tmp.path().join("enc.age");
        fs::write(&armored, &entry.enc).expect("write");
        let data_key = common::age_decrypt(&owner.file, &armored);
        assert_eq!(data_key.len(), 32);
        data_keys.insert(data_key);
    }
    assert_eq!(data_keys.len(), 1, "both recipients get the same data key");
}

#[test]
fn rerenders_change_exactly_what_changed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (
        common::age_keygen_key(tmp.path(), "a"),
        common::age_keygen_key(tmp.path(), "b"),
    );
    let base = gitops(&render(tmp.path(), "base", &spec(&[&a.recipient], 1)));
    assert!(base.len() > 10, "{} files", base.len());

    // The same spec again, and over the previous output: the same bytes.
    assert_eq!(
        gitops(&render(tmp.path(), "again", &spec(&[&a.recipient], 1))),
        base
    );
    assert_eq!(
        gitops(&render(tmp.path(), "base", &spec(&[&a.recipient], 1))),
        base
    );

    // `plan` agrees: nothing to do for the same spec; for a rotation, in gitops/ exactly
    // the two files that change.
    let base_dir = tmp.path().join("base");
    let run = plan(&base_dir, &spec(&[&a.recipient], 1));
    assert_eq!(run.status.code(), Some(0), "{}{}", run.stdout, run.stderr);
    let run = plan(&base_dir, &spec(&[&a.recipient], 2));
    assert_eq!(run.status.code(), Some(2), "{}{}", run.stdout, run.stderr);
    let planned: BTreeSet<&str> = run
        .stdout
        .lines()
        .filter_map(|l| {
            l.strip_prefix("~ gitops/")
                .or_else(|| l.strip_prefix("+ gitops/"))
                .or_else(|| l.strip_prefix("- gitops/"))
        })
        .collect();
    assert_eq!(
        planned,
        BTreeSet::from(["bootstrap-token.sops.yaml", "cluster-info-configmap.yaml"])
    );

    // A token rotation: the token's file and cluster-info, nothing else.
    let rotated = gitops(&render(tmp.path(), "rotated", &spec(&[&a.recipient], 2)));
    assert_eq!(
        changed(&base, &rotated),
        BTreeSet::from([
            "bootstrap-token.sops.yaml".to_string(),
            "cluster-info-configmap.yaml".to_string()
        ])
    );

    // A second recipient: only the token's file, and in it only the sops.age list grows.
    let two = gitops(&render(
        tmp.path(),
        "two",
        &spec(&[&a.recipient, &b.recipient], 1),
    ));
    assert_eq!(
        changed(&base, &two),
        BTreeSet::from(["bootstrap-token.sops.yaml".to_string()])
    );
    let text = |t: &BTreeMap<String, Vec<u8>>| {
        String::from_utf8(t["bootstrap-token.sops.yaml"].clone()).expect("utf-8")
    };
    let (one_meta, two_meta) = (
        sops::metadata(&text(&base)).expect("metadata"),
        sops::metadata(&text(&two)).expect("metadata"),
    );
    assert_eq!(
        one_meta.tree, two_meta.tree,
        "every encrypted value is unchanged"
    );
    assert_eq!(one_meta.mac, two_meta.mac);
    assert_eq!(two_meta.age.len(), 2);
    let a_entry = |m: &sops::SopsMetadata| {
        m.age
            .iter()
            .find(|e| e.recipient.as_str() == a.recipient)
            .cloned()
    };
    assert_eq!(
        a_entry(&one_meta),
        a_entry(&two_meta),
        "a's wrapped key is unchanged"
    );
    // Every line of the one-recipient file is in the two-recipient file, in order.
    let (one, two_text) = (text(&base), text(&two));
    let mut rest = two_text.lines();
    for line in one.lines() {
        assert!(rest.any(|l| l == line), "{line}");
    }

    // The recipients' order in the spec changes nothing.
    let swapped = gitops(&render(
        tmp.path(),
        "swapped",
        &spec(&[&b.recipient, &a.recipient], 1),
    ));
    assert_eq!(swapped, two);
}

/// One way to damage a rendered output.
type Tamper = Box<dyn Fn(&Path)>;

/// `verify` of a `gitops/` tree tampered one way at a time: each finding names the file and
/// the problem; the untampered copy passes (the control).
#[test]
fn verify_finds_each_way_a_gitops_tree_can_be_wrong() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let key = common::age_keygen_key(tmp.path(), "flux");
    let good = render(tmp.path(), "r", &spec(&[&key.recipient], 1));
    let verify = |out: &Path| verify_with(out, &key.file);
    let run = verify(&good);
    assert!(run.status.success(), "{}", run.stdout);

    let token = token_manifest(&good);
    let token_name = token
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let cases: Vec<(&str, Tamper, String)> = vec![
        (
            "an unlisted file",
            Box::new(|out: &Path| fs::write(out.join("gitops/extra.yaml"), "x: 1\n").expect("write")),
            "gitops/extra.yaml: not listed in kustomization.yaml".to_string(),
        ),
        (
            "no kustomization",
            Box::new(|out: &Path| fs::remove_file(out.join("gitops/kustomization.yaml")).expect("rm")),
            "gitops/kustomization.yaml: missing".to_string(),
        ),
        (
            "the token Secret in the clear",
            Box::new(|out: &Path| {
                let token = token_manifest(out);
                let name = token.file_name().expect("name").to_owned();
                fs::copy(&token, out.join("gitops").join(name)).expect("copy");
            }),
            format!("gitops/{token_name}: the token Secret in the clear"),
        ),
        (
            "a copy that differs",
            Box::new(|out: &Path| {
                let f = out.join("gitops/cluster-info-configmap.yaml");
                let text = fs::read_to_string(&f).expect("read");
                fs::write(&f, text.replace("kube-public", "default")).expect("write");
            }),
            "gitops/cluster-info-configmap.yaml: differs from manifests/cluster-info-configmap.yaml".to_string(),
        ),
        (
            "a renamed encrypted Secret",
            Box::new(|out: &Path| {
                let f = out.join("gitops/bootstrap-token.sops.yaml");
                let text = fs::read_to_string(&f).expect("read");
                fs::write(&f, text.replacen("namespace: kube-system", "namespace: default", 1)).expect("write");
            }),
            "gitops/bootstrap-token.sops.yaml: its readable fields".to_string(),
        ),
    ];
    for (what, tamper, finding) in cases {
        let out = tmp.path().join(what.replace(' ', "-"));
        common::run(Command::new("cp").arg("-a").arg(&good).arg(&out)).success("cp -a");
        tamper(&out);
        let run = verify(&out);
        assert!(
            !run.status.success(),
            "{what}: verify passed\n{}",
            run.stdout
        );
        assert!(
            run.stdout.contains(&finding),
            "{what}: no {finding:?} in\n{}",
            run.stdout
        );
    }
}

/// The public demo identities of `examples/gitops/` are named in a warning, one per
/// recipient, beside the demo seed's; a recipient of one's own gets none.
#[test]
fn the_demo_identities_are_warned_about() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gitops/cluster.toml");
    let out = tmp.path().join("demo");
    let run = common::kubeseed(
        [
            "render".as_ref(),
            example.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
        &[],
    );
    assert!(run.status.success(), "{}", run.stderr);
    for file in ["flux.agekey", "break-glass.agekey"] {
        let warning = format!("is the public demo identity examples/gitops/{file}: anyone can");
        assert_eq!(run.stderr.matches(&warning).count(), 1, "{}", run.stderr);
    }
    assert!(run.stderr.contains("public demo seed"), "{}", run.stderr);

    // The control: the same spec with a recipient of one's own.
    let own = common::age_keygen_key(tmp.path(), "own");
    let toml = fs::read_to_string(&example)
        .expect("read the example")
        .replace(
            "age1ksz7llu7f5dem3lec9858330f96zya7utw32nuz6gnvm43us3qkqk4kpku",
            &own.recipient,
        )
        .replace(
            "  \"age1px59kdk9cjc3x6rhjmqvss9uz2gpmhwk3aztvh8hgd9c22rpmplqdmlvhc\",  # break-glass.agekey\n",
            "",
        );
    assert!(
        !toml.contains("age1px59"),
        "the example changed: update this test"
    );
    let spec = tmp.path().join("own.toml");
    fs::write(&spec, toml).expect("write");
    let run = common::kubeseed(
        [
            "render".as_ref(),
            spec.as_os_str(),
            "--seed".as_ref(),
            example.with_file_name("seed").as_os_str(),
            "--out".as_ref(),
            tmp.path().join("own").as_os_str(),
        ],
        &[],
    );
    assert!(run.status.success(), "{}", run.stderr);
    assert!(
        !run.stderr.contains("public demo identity"),
        "{}",
        run.stderr
    );
}
