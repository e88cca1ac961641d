//! The GitOps crypto core (`kubeseed::gitops`) against the real tools: the `sops` and `age`
//! that `scripts/k8s-bins` builds (getsops/sops and filippo.io/age, the releases named there).
//!
//! Identities come from the real `age-keygen`. Every `sops` runs with an empty environment,
//! `HOME` and `XDG_CONFIG_HOME` in the test's own directory and `SOPS_AGE_KEY_FILE` naming
//! one identity file, so it can find no other key (no `~/.ssh`, no `keys.txt`).
//!
//! What `sops -d` prints is compared two ways: parsed (`--output-type json`, sops's own
//! parser on the way in, serde_json on the way out) against the plaintext manifest, which
//! checks the values; and byte for byte (YAML) against what `decrypt_yaml` returns, which
//! checks that our reader and writer agree with sops's YAML on every scalar. The plaintext
//! manifest's own bytes cannot be the reference: sops re-indents to 4 spaces.

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use kubeseed::gitops::age::{self, EncryptionSeed, Identity, Recipient};
use kubeseed::gitops::sops::{self, Value};
use serde_json::json;

const REGEX: &str = "^(data|stringData)$";
const WHEN: &str = "2026-11-25T00:00:00Z";
const FILE_KEY: [u8; 32] = [0x42; 32];

const SECRET_YAML: &str = "apiVersion: v1
kind: Secret
metadata:
  name: bootstrap-token-f30e6f
  namespace: kube-system
type: bootstrap.kubernetes.io/token
data:
  auth-extra-groups: c3lzdGVtOmJvb3RzdHJhcHBlcnM6a3ViZWFkbTpkZWZhdWx0LW5vZGUtdG9rZW4=
  token-id: ZjMwZTZm
  token-secret: aDlrZXV4NjdtZ2xrZWc1cQ==
";

/// A manifest with a scalar of every style go-yaml writes, in clear and encrypted positions.
const TRICKY_YAML: &str = r#"apiVersion: v1
kind: Secret
metadata:
  name: tricky
  labels:
    "n": "y"
    quoted-true: "true"
    number-text: "123"
    version: "1.0"
    date: "2026-01-01"
    sexagesimal: "1:20"
  annotations:
    colon: "a: b"
    hash: "a #b"
    lead: " leading space"
    trail: "trailing space "
    single: "it's"
    quotes: "'quoted'"
    dash: "- item"
    unicode: "héllo wörld"
    emoji: "smile 😀"
    tab: "a	b"
    empty: ""
    json: '{"a":[1,2]}'
  finalizers:
  - kubernetes
  - example.com/x
type: Opaque
stringData:
  config: |
    line one
      indented
    line three
  no-final-newline: "one\ntwo"
  leading-blank: "\nafter a blank line\n"
  keep: "kept\n\n"
  port: 5432
  enabled: true
  empty: ""
  nothing: null
  list:
  - a
  - 7
data:
  key: dmFsdWU=
"#;

/// The real tools and a scratch directory that is also sops's HOME.
struct Lab {
    dir: tempfile::TempDir,
}

/// One identity file made by `age-keygen`, and its recipient.
struct Key {
    file: PathBuf,
    recipient: Recipient,
    identities: Vec<Identity>,
}

impl Lab {
    fn new() -> Lab {
        Lab {
            dir: tempfile::Builder::new()
                .prefix("kubeseed-gitops-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        fs::write(&p, text).expect("write");
        p
    }

    /// A fresh key from the real `age-keygen`, its recipient from `age-keygen -y`.
    fn keygen(&self, name: &str) -> Key {
        let key = common::age_keygen_key(self.dir.path(), name);
        let identities = Identity::parse_file(&fs::read_to_string(&key.file).expect("read key"))
            .expect("age-keygen's identity file parses");
        let recipient = Recipient::parse(&key.recipient).expect("age-keygen's recipient parses");
        assert_eq!(identities[0].recipient(), &recipient);
        Key {
            file: key.file,
            recipient,
            identities,
        }
    }

    /// `sops ARGS` that can see only `key`'s identities.
    fn sops(&self, key: &Key, args: &[&str]) -> common::Run {
        common::run(common::sops_as(&key.file, self.dir.path()).args(args))
    }

    /// `sops -d` of the encrypted YAML `text` as `key`, in the output type asked for.
    fn sops_decrypt(&self, key: &Key, text: &str, output: &str) -> common::Run {
        let file = self.write("in.sops.yaml", text);
        self.sops(
            key,
            &[
                "decrypt",
                "--input-type",
                "yaml",
                "--output-type",
                output,
                &file.to_string_lossy(),
            ],
        )
    }

    /// `age -d -i KEY` of an armored age file.
    fn age_decrypt(&self, key: &Key, armored: &str) -> Vec<u8> {
        common::age_decrypt(&key.file, &self.write("in.age", armored))
    }
}

fn encrypt(yaml: &str, recipients: &[&Recipient]) -> String {
    let rs: Vec<Recipient> = recipients.iter().map(|r| (*r).clone()).collect();
    sops::encrypt_yaml(yaml, &FILE_KEY, &rs, WHEN, REGEX).expect("encrypt_yaml")
}

/// The sample Secret as sops's JSON output shows it.
fn secret_json() -> serde_json::Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "bootstrap-token-f30e6f", "namespace": "kube-system"},
        "type": "bootstrap.kubernetes.io/token",
        "data": {
            "auth-extra-groups": "c3lzdGVtOmJvb3RzdHJhcHBlcnM6a3ViZWFkbTpkZWZhdWx0LW5vZGUtdG9rZW4=",
            "token-id": "ZjMwZTZm",
            "token-secret": "aDlrZXV4NjdtZ2xrZWc1cQ==",
        },
    })
}

/// Checks that real `sops -d` as `key` gives the expected values (parsed) and exactly the
/// bytes `decrypt_yaml` gives.
fn assert_sops_decrypts(lab: &Lab, key: &Key, file: &str, want: &serde_json::Value) {
    let json = lab
        .sops_decrypt(key, file, "json")
        .success("sops -d (json)");
    let got: serde_json::Value = serde_json::from_str(&json.stdout).expect("sops prints JSON");
    assert_eq!(&got, want);
    let yaml = lab
        .sops_decrypt(key, file, "yaml")
        .success("sops -d (yaml)");
    let ours = sops::decrypt_yaml(file, &key.identities).expect("decrypt_yaml");
    assert_eq!(yaml.stdout, *ours, "sops -d and decrypt_yaml differ");
}

#[test]
fn real_sops_decrypts_one_and_two_recipient_files_and_refuses_other_keys() {
    let lab = Lab::new();
    let (a, b, stranger) = (lab.keygen("a"), lab.keygen("b"), lab.keygen("stranger"));

    let one = encrypt(SECRET_YAML, &[&a.recipient]);
    assert_sops_decrypts(&lab, &a, &one, &secret_json());
    let two = encrypt(SECRET_YAML, &[&a.recipient, &b.recipient]);
    for key in [&a, &b] {
        assert_sops_decrypts(&lab, key, &two, &secret_json());
    }
    // The exact text sops prints: the manifest in sops's 4-space layout.
    let yaml = lab.sops_decrypt(&b, &two, "yaml").success("sops -d").stdout;
    assert_eq!(yaml, SECRET_YAML.replace("\n  ", "\n    "));

    let refused = lab.sops_decrypt(&stranger, &two, "yaml");
    assert!(
        !refused.status.success(),
        "a stranger's key decrypted: {refused:?}"
    );
    assert!(
        refused.stderr.contains("Failed to get the data key"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        sops::decrypt_yaml(&two, &stranger.identities),
        Err(sops::SopsError::NoIdentityMatched)
    );
}

#[test]
fn real_age_decrypts_each_recipients_data_key() {
    let lab = Lab::new();
    let (a, b) = (lab.keygen("a"), lab.keygen("b"));
    let file = encrypt(SECRET_YAML, &[&a.recipient, &b.recipient]);
    let meta = sops::metadata(&file).expect("metadata");
    let mut keys = Vec::new();
    for (entry, key) in meta.age.iter().zip([&a, &b]) {
        assert_eq!(entry.recipient, key.recipient);
        let theirs = lab.age_decrypt(key, &entry.enc);
        assert_eq!(theirs.len(), 32, "the data key is 32 bytes");
        let ours = age::decrypt_armored(&entry.enc, &key.identities).expect("decrypt_armored");
        assert_eq!(theirs, *ours);
        keys.push(theirs);
    }
    assert_eq!(keys[0], keys[1], "one data key for all recipients");
}

#[test]
fn age_interoperates_beyond_one_chunk() {
    let lab = Lab::new();
    let key = lab.keygen("a");
    // Three STREAM chunks, the last one short.
    let plaintext: Vec<u8> = (0..150_000u32).map(|i| (i % 253) as u8).collect();
    let ours = age::encrypt_armored(&plaintext, &key.recipient, &EncryptionSeed::new([9; 32]));
    assert_eq!(lab.age_decrypt(&key, &ours), plaintext);
    // And the other way: what the real age encrypts (armored), we decrypt.
    let plain = lab.path("plain.bin");
    fs::write(&plain, &plaintext).expect("write");
    let theirs = common::run(
        Command::new(common::age())
            .args(["-e", "-a", "-r", key.recipient.as_str()])
            .arg(&plain)
            .env_clear(),
    )
    .success("age -e -a");
    let back = age::decrypt_armored(&theirs.stdout, &key.identities).expect("decrypt_armored");
    assert_eq!(*back, plaintext);
}

#[test]
fn files_changed_only_where_it_changed_still_decrypt() {
    // Which bytes change (one value: its ENC and the MAC; a recipient: its age entry) is
    // pinned by the unit tests in src/gitops/sops/tests.rs; here the real sops reads the
    // changed files.
    let lab = Lab::new();
    let (a, b) = (lab.keygen("a"), lab.keygen("b"));
    let edited_yaml = SECRET_YAML.replace("token-id: ZjMwZTZm", "token-id: ZjMwZTZn");
    let edited = encrypt(&edited_yaml, &[&a.recipient]);
    let mut want = secret_json();
    want["data"]["token-id"] = json!("ZjMwZTZn");
    assert_sops_decrypts(&lab, &a, &edited, &want);

    let two = encrypt(SECRET_YAML, &[&a.recipient, &b.recipient]);
    let one = encrypt(SECRET_YAML, &[&a.recipient]);
    assert_eq!(
        sops::metadata(&two).unwrap().mac,
        sops::metadata(&one).unwrap().mac
    );
    assert_sops_decrypts(&lab, &b, &two, &secret_json());
}

#[test]
fn real_sops_refuses_tampered_files() {
    let lab = Lab::new();
    let a = lab.keygen("a");
    let file = encrypt(SECRET_YAML, &[&a.recipient]);

    // One character of a ciphertext flipped: the GCM tag fails.
    let at = file.find("token-secret: ENC[AES256_GCM,data:").unwrap() + 36;
    let mut flipped = file.clone();
    flipped.replace_range(at..at + 1, if &file[at..at + 1] == "A" { "B" } else { "A" });
    let run = lab.sops_decrypt(&a, &flipped, "yaml");
    assert!(!run.status.success(), "sops decrypted a flipped ENC value");
    assert!(run.stderr.contains("Could not decrypt"), "{}", run.stderr);
    assert!(sops::decrypt_yaml(&flipped, &a.identities).is_err());

    // A clear-text value changed: the MAC fails.
    let renamed = file.replace("namespace: kube-system", "namespace: default");
    let run = lab.sops_decrypt(&a, &renamed, "yaml");
    assert!(!run.status.success(), "sops ignored a changed clear value");
    assert!(run.stderr.contains("MAC mismatch"), "{}", run.stderr);
    assert_eq!(
        sops::decrypt_yaml(&renamed, &a.identities),
        Err(sops::SopsError::MacMismatch)
    );
}

#[test]
fn every_scalar_style_round_trips_through_real_sops() {
    let lab = Lab::new();
    let a = lab.keygen("a");
    let file = encrypt(TRICKY_YAML, &[&a.recipient]);
    let json = lab
        .sops_decrypt(&a, &file, "json")
        .success("sops -d (json)");
    let got: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(got["metadata"]["labels"]["n"], "y");
    assert_eq!(got["metadata"]["annotations"]["emoji"], "smile 😀");
    assert_eq!(got["metadata"]["annotations"]["tab"], "a\tb");
    assert_eq!(got["metadata"]["annotations"]["lead"], " leading space");
    assert_eq!(got["metadata"]["finalizers"][1], "example.com/x");
    assert_eq!(
        got["stringData"]["config"],
        "line one\n  indented\nline three\n"
    );
    assert_eq!(got["stringData"]["no-final-newline"], "one\ntwo");
    assert_eq!(got["stringData"]["leading-blank"], "\nafter a blank line\n");
    assert_eq!(got["stringData"]["keep"], "kept\n\n");
    assert_eq!(got["stringData"]["port"], 5432);
    assert_eq!(got["stringData"]["enabled"], true);
    assert_eq!(got["stringData"]["empty"], "");
    assert_eq!(got["stringData"]["nothing"], serde_json::Value::Null);
    assert_eq!(got["stringData"]["list"], json!(["a", 7]));
    assert_eq!(got["data"]["key"], "dmFsdWU=");
    assert_sops_decrypts(&lab, &a, &file, &got);

    // The clear-text part of our file is laid out exactly as sops lays out its own: encrypt
    // the same manifest with sops and compare, ciphertexts and times masked.
    let plain = lab.write("plain.yaml", TRICKY_YAML);
    let theirs = lab
        .sops(
            &a,
            &[
                "encrypt",
                "--age",
                a.recipient.as_str(),
                "--encrypted-regex",
                REGEX,
                "--input-type",
                "yaml",
                "--output-type",
                "yaml",
                &plain.to_string_lossy(),
            ],
        )
        .success("sops -e");
    assert_eq!(mask(&file), mask(&theirs.stdout));
}

/// A SOPS file with every ciphertext, armored age line and time replaced by a placeholder.
fn mask(file: &str) -> String {
    let enc = regex::Regex::new(r"ENC\[AES256_GCM,data:[^,]*,iv:[^,]*,tag:[^,]*,type:").unwrap();
    file.lines()
        .map(|line| {
            let t = line.trim_start();
            let indent = &line[..line.len() - t.len()];
            if t.starts_with("lastmodified: ") {
                format!("{indent}lastmodified: <time>")
            } else if !t.contains(' ')
                && t.len() <= 64
                && indent.len() == 12
                && !t.starts_with("-----")
            {
                format!("{indent}<armor>")
            } else {
                enc.replace_all(line, "ENC[<masked>,type:").into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn metadata_shows_the_clear_text_part_without_a_key() {
    let lab = Lab::new();
    let (a, b) = (lab.keygen("a"), lab.keygen("b"));
    let file = encrypt(SECRET_YAML, &[&a.recipient, &b.recipient]);
    let meta = sops::metadata(&file).expect("metadata");
    assert_eq!(
        meta.recipients().collect::<Vec<_>>(),
        [&a.recipient, &b.recipient]
    );
    assert_eq!(
        (
            meta.lastmodified.as_str(),
            meta.encrypted_regex.as_str(),
            meta.version.as_str()
        ),
        (WHEN, REGEX, sops::SOPS_VERSION)
    );
    assert_eq!(meta.tree[2].1, {
        Value::Map(vec![
            ("name".into(), Value::Str("bootstrap-token-f30e6f".into())),
            ("namespace".into(), Value::Str("kube-system".into())),
        ])
    });
    // sops agrees on what is there: `sops filestatus` reads the same file as encrypted.
    let path = lab.write("status.yaml", &file);
    let status = lab
        .sops(&a, &["filestatus", &path.to_string_lossy()])
        .success("sops filestatus");
    assert_eq!(status.stdout.trim(), r#"{"encrypted":true}"#);
}
