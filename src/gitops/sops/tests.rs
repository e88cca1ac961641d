use super::*;

/// Key pairs made by the real `age-keygen` v1.3.2 (test material only).
const SECRET_A: &str = "AGE-SECRET-KEY-17TYA4WF8D9C8E3NDUGLRCN0LJMKU868V47WTDT2C8WDEQZVXUNAQ4M94NR";
const PUBLIC_A: &str = "age12vznf0zfe2muc7wd3t03cp9n2dv7wpxpznxjeyx8r7uvfvz9fpfqr4hzu6";
const SECRET_B: &str = "AGE-SECRET-KEY-184JMZMVQH3E6U0PSL869004Y3U2NYV7R30EU99CSEDNPH02YUVFSZW44VU";
const PUBLIC_B: &str = "age1cy0su9fwf3gf9mw868g5yut09p6nytfmmnktexz2ya5uqg9vl9sss4euqm";

const FILE_KEY: [u8; 32] = [0x11; 32];
const WHEN: &str = "2026-11-25T00:00:00Z";
const REGEX: &str = "^(data|stringData)$";

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

/// The same document as `sops -d` prints it (4-space indentation).
const SECRET_YAML_SOPS_STYLE: &str = "apiVersion: v1
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

fn r(s: &str) -> Recipient {
    Recipient::parse(s).unwrap()
}

fn id(s: &str) -> Vec<Identity> {
    Identity::parse_file(s).unwrap()
}

fn encrypt(yaml: &str, recipients: &[&str]) -> String {
    let rs: Vec<Recipient> = recipients.iter().map(|s| r(s)).collect();
    encrypt_yaml(yaml, &FILE_KEY, &rs, WHEN, REGEX).unwrap()
}

/// The lines of `a` and `b` that differ (same line count expected).
fn changed_lines(a: &str, b: &str) -> Vec<String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(&b)
        .filter(|(x, y)| x != y)
        .map(|(x, _)| x.split(':').next().unwrap_or_default().trim().to_string())
        .collect()
}

#[test]
fn the_file_has_sops_layout() {
    let file = encrypt(SECRET_YAML, &[PUBLIC_A]);
    let lines: Vec<&str> = file.lines().collect();
    assert_eq!(
        lines[..7],
        [
            "apiVersion: v1",
            "kind: Secret",
            "metadata:",
            "    name: bootstrap-token-f30e6f",
            "    namespace: kube-system",
            "type: bootstrap.kubernetes.io/token",
            "data:",
        ]
    );
    for (line, key, len) in [
        (lines[7], "auth-extra-groups", 64),
        (lines[8], "token-id", 8),
        (lines[9], "token-secret", 24),
    ] {
        let prefix = format!("    {key}: ENC[AES256_GCM,data:");
        assert!(
            line.starts_with(&prefix) && line.ends_with(",type:str]"),
            "{line}"
        );
        let enc = parse_enc(line.trim_start_matches(&format!("    {key}: "))).unwrap();
        assert_eq!(enc.data.len(), len);
    }
    assert_eq!(lines[10], "sops:");
    assert_eq!(lines[11], "    age:");
    assert_eq!(lines[12], "        - enc: |");
    assert_eq!(lines[13], "            -----BEGIN AGE ENCRYPTED FILE-----");
    let end = lines
        .iter()
        .position(|l| *l == "            -----END AGE ENCRYPTED FILE-----")
        .unwrap();
    assert_eq!(lines[end + 1], format!("          recipient: {PUBLIC_A}"));
    assert_eq!(lines[end + 2], "    encrypted_regex: ^(data|stringData)$");
    assert_eq!(lines[end + 3], "    lastmodified: \"2026-11-25T00:00:00Z\"");
    assert!(lines[end + 4].starts_with("    mac: ENC[AES256_GCM,data:"));
    assert_eq!(lines[end + 5], "    version: 3.13.3");
    assert_eq!(lines.len(), end + 6);
    assert!(file.ends_with("version: 3.13.3\n"));
}

#[test]
fn it_decrypts_to_the_document_as_sops_prints_it() {
    let file = encrypt(SECRET_YAML, &[PUBLIC_A, PUBLIC_B]);
    for identity in [SECRET_A, SECRET_B] {
        assert_eq!(
            *decrypt_yaml(&file, &id(identity)).unwrap(),
            SECRET_YAML_SOPS_STYLE
        );
    }
    // Already in sops's layout, a document encrypts and decrypts to the same bytes.
    let again = encrypt(SECRET_YAML_SOPS_STYLE, &[PUBLIC_A]);
    assert_eq!(
        *decrypt_yaml(&again, &id(SECRET_A)).unwrap(),
        SECRET_YAML_SOPS_STYLE
    );
}

#[test]
fn the_mac_is_sha512_over_the_values_in_order() {
    let file = encrypt(SECRET_YAML, &[PUBLIC_A]);
    let meta = metadata(&file).unwrap();
    let keys = FileKeys::new(&FILE_KEY);
    let decryptor = Decryptor {
        data_key: &keys.data_key,
    };
    let mac = decryptor
        .decrypt_value("sops.mac", &meta.mac, WHEN)
        .unwrap();
    let mut h = Sha512::new();
    for v in [
        "v1",
        "Secret",
        "bootstrap-token-f30e6f",
        "kube-system",
        "bootstrap.kubernetes.io/token",
        "c3lzdGVtOmJvb3RzdHJhcHBlcnM6a3ViZWFkbTpkZWZhdWx0LW5vZGUtdG9rZW4=",
        "ZjMwZTZm",
        "aDlrZXV4NjdtZ2xrZWc1cQ==",
    ] {
        h.update(v.as_bytes());
    }
    assert_eq!(mac, Value::Str(hex::encode_upper(h.finalize())));
    // Each value's additional data is its path, each key followed by ':'.
    let Value::Map(data) = &meta.tree[4].1 else {
        panic!("data is a mapping")
    };
    let Value::Str(token_id) = &data[1].1 else {
        panic!("an ENC string")
    };
    assert_eq!(
        decryptor.decrypt_value("data.token-id", token_id, "data:token-id:"),
        Ok(Value::Str("ZjMwZTZm".into()))
    );
}

#[test]
fn encryption_is_deterministic_and_local() {
    let one = encrypt(SECRET_YAML, &[PUBLIC_A]);
    assert_eq!(one, encrypt(SECRET_YAML, &[PUBLIC_A]));
    // One changed value changes its ENC and the MAC, nothing else.
    let edited = encrypt(
        &SECRET_YAML.replace("token-id: ZjMwZTZm", "token-id: ZjMwZTZn"),
        &[PUBLIC_A],
    );
    assert_eq!(changed_lines(&one, &edited), ["token-id", "mac"]);
    // A changed clear-text value changes itself and the MAC.
    let renamed = encrypt(&SECRET_YAML.replace("f30e6f\n", "f30e6g\n"), &[PUBLIC_A]);
    assert_eq!(changed_lines(&one, &renamed), ["name", "mac"]);
    // Another file key: every ENC, the MAC and the age entry change.
    let other = encrypt_yaml(SECRET_YAML, &[0x22; 32], &[r(PUBLIC_A)], WHEN, REGEX).unwrap();
    assert_ne!(one, other);
    assert_eq!(changed_lines(&one, &other).len(), 3 + 1 + 5);
}

#[test]
fn adding_a_recipient_only_adds_an_age_entry() {
    let one = encrypt(SECRET_YAML, &[PUBLIC_A]);
    let two = encrypt(SECRET_YAML, &[PUBLIC_A, PUBLIC_B]);
    let (m1, m2) = (metadata(&one).unwrap(), metadata(&two).unwrap());
    assert_eq!(m2.age[0], m1.age[0]);
    assert_eq!(m2.age.len(), 2);
    assert_eq!(m2.mac, m1.mac);
    assert_eq!(m2.tree, m1.tree);
    let b_entry = encrypt(SECRET_YAML, &[PUBLIC_B]);
    assert_eq!(metadata(&b_entry).unwrap().age[0], m2.age[1]);
    // The whole file is the one-recipient file with the entry spliced in.
    let entry_lines = two.len() - one.len();
    let at = one.find("    encrypted_regex").unwrap();
    assert_eq!(format!("{}{}", &two[..at + entry_lines], &one[at..]), two);
}

#[test]
fn tampering_fails_as_in_sops() {
    let file = encrypt(SECRET_YAML, &[PUBLIC_A]);
    let ids = id(SECRET_A);
    // A clear-text value changed: the MAC no longer matches.
    let renamed = file.replace("namespace: kube-system", "namespace: default");
    assert_eq!(decrypt_yaml(&renamed, &ids), Err(SopsError::MacMismatch));
    // Two encrypted values swapped: their additional data no longer matches.
    let meta = metadata(&file).unwrap();
    let Value::Map(data) = &meta.tree[4].1 else {
        panic!()
    };
    let (Value::Str(a), Value::Str(b)) = (&data[1].1, &data[2].1) else {
        panic!()
    };
    let swapped = file
        .replace(a.as_str(), "A")
        .replace(b.as_str(), a)
        .replace("A\n", &format!("{b}\n"));
    assert_eq!(
        decrypt_yaml(&swapped, &ids),
        Err(SopsError::Decrypt {
            path: "data.token-id".into()
        })
    );
    // One character of a ciphertext flipped.
    let at = file.find("token-secret: ENC[AES256_GCM,data:").unwrap() + 36;
    let mut flipped = file.clone();
    let c = if &file[at..at + 1] == "A" { "B" } else { "A" };
    flipped.replace_range(at..at + 1, c);
    assert_eq!(
        decrypt_yaml(&flipped, &ids),
        Err(SopsError::Decrypt {
            path: "data.token-secret".into()
        })
    );
    // A value removed: the MAC covers the set of values.
    let removed = file
        .lines()
        .filter(|l| !l.contains("token-secret:"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    assert_eq!(decrypt_yaml(&removed, &ids), Err(SopsError::MacMismatch));
    // Another lastmodified: the MAC's additional data no longer matches.
    let later = file.replace("2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z");
    assert_eq!(
        decrypt_yaml(&later, &ids),
        Err(SopsError::Decrypt {
            path: "sops.mac".into()
        })
    );
    // Not a recipient.
    let other = encrypt(SECRET_YAML, &[PUBLIC_B]);
    assert_eq!(
        decrypt_yaml(&other, &ids),
        Err(SopsError::NoIdentityMatched)
    );
}

#[test]
fn types_empty_values_and_nulls_are_kept_as_sops_keeps_them() {
    let yaml = "kind: Secret\nmetadata:\n  labels:\n    a: \"true\"\n    n: 3\n\
                stringData:\n  s: \"two\\nlines\\n\"\n  i: 5432\n  b: false\n  e: \"\"\n  z: null\n  l:\n  - x\n  - y\n";
    let file = encrypt(yaml, &[PUBLIC_A]);
    assert!(file.contains("    i: ENC[AES256_GCM,data:"), "{file}");
    assert!(file.contains(",type:int]\n"), "{file}");
    assert!(file.contains(",type:bool]\n"), "{file}");
    assert!(file.contains("    e: \"\"\n"), "{file}");
    assert!(file.contains("    z: null\n"), "{file}");
    // go-yaml quotes "n" (a YAML 1.1 boolean), key or value.
    assert!(
        file.contains("        a: \"true\"\n        \"n\": 3\n"),
        "{file}"
    );
    let plain = decrypt_yaml(&file, &id(SECRET_A)).unwrap();
    assert_eq!(
        *plain,
        "kind: Secret\nmetadata:\n    labels:\n        a: \"true\"\n        \"n\": 3\n\
         stringData:\n    s: |\n        two\n        lines\n    i: 5432\n    b: false\n    e: \"\"\n    z: null\n    l:\n        - x\n        - \"y\"\n"
    );
}

#[test]
fn metadata_is_read_without_decrypting() {
    let file = encrypt(SECRET_YAML, &[PUBLIC_A, PUBLIC_B]);
    let meta = metadata(&file).unwrap();
    let recipients: Vec<&str> = meta.recipients().map(Recipient::as_str).collect();
    assert_eq!(recipients, [PUBLIC_A, PUBLIC_B]);
    assert_eq!(meta.lastmodified, WHEN);
    assert_eq!(meta.encrypted_regex, REGEX);
    assert_eq!(meta.version, SOPS_VERSION);
    assert!(meta.mac.starts_with("ENC[AES256_GCM,"));
    let keys: Vec<&str> = meta.tree.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["apiVersion", "kind", "metadata", "type", "data"]);
    assert_eq!(meta.tree[0].1, Value::Str("v1".into()));
    // A clear-text value in an encrypted position is not a file encrypt_yaml wrote.
    let leaked = file.replace(
        &file[file.find("token-id: ").unwrap()..]
            .lines()
            .next()
            .unwrap()[10..],
        "ZjMwZTZm",
    );
    assert_eq!(
        metadata(&leaked),
        Err(SopsError::BadValue {
            path: "data.token-id".into()
        })
    );
    for (text, want) in [
        ("a: 1\n", "sops metadata: no top-level `sops` key"),
        (
            &file.replace("    version: 3.13.3\n", ""),
            "sops metadata: `sops.version` is missing",
        ),
        (
            &file.replace("    version:", "    pgp: []\n    version:"),
            "sops metadata: `sops.pgp` is not supported",
        ),
        (
            &file.replace(PUBLIC_B, "age1nope"),
            "sops metadata: a `sops.age` recipient: malformed",
        ),
    ] {
        let err = metadata(text).unwrap_err().to_string();
        assert!(err.starts_with(want), "{err}");
    }
}

#[test]
fn inputs_it_cannot_reproduce_exactly_are_refused() {
    let rs = [r(PUBLIC_A)];
    let enc = |yaml: &str, rs: &[Recipient], when: &str, regex: &str| {
        encrypt_yaml(yaml, &FILE_KEY, rs, when, regex)
            .unwrap_err()
            .to_string()
    };
    for (got, want) in [
        (
            enc("a: 1 # x\n", &rs, WHEN, REGEX),
            "line 1: YAML comments are not supported",
        ),
        (
            enc("sops: 1\n", &rs, WHEN, REGEX),
            "at sops: a top-level key `sops` is reserved",
        ),
        (
            enc("a:\n- - 1\n", &rs, WHEN, REGEX),
            "at a: a sequence directly inside a sequence",
        ),
        (
            enc(&format!("{}: 1\n", "k".repeat(129)), &rs, WHEN, REGEX),
            "at kkkk",
        ),
        (enc(SECRET_YAML, &[], WHEN, REGEX), "no age recipient"),
        (
            enc(SECRET_YAML, &[r(PUBLIC_A), r(PUBLIC_A)], WHEN, REGEX),
            "the age recipient age12vz",
        ),
        (
            enc(SECRET_YAML, &rs, "2026-11-25T01:00:00+01:00", REGEX),
            "lastmodified \"2026-11-25T01:00:00+01:00\" is not",
        ),
        (
            enc(SECRET_YAML, &rs, "2026-11-25T00:00:00.5Z", REGEX),
            "lastmodified",
        ),
        (
            enc(SECRET_YAML, &rs, WHEN, "^\\w+$"),
            "encrypted_regex: \"^\\\\w+$\" is not of the form",
        ),
        (
            enc(SECRET_YAML, &rs, WHEN, "^(data|.*)$"),
            "encrypted_regex: \"^(data|.*)$\" is not of the form",
        ),
        (
            enc(SECRET_YAML, &rs, WHEN, "("),
            "encrypted_regex: \"(\" is not",
        ),
        (
            enc(SECRET_YAML, &rs, WHEN, ""),
            "encrypted_regex: \"\" is not",
        ),
        (
            enc(SECRET_YAML, &rs, WHEN, "^()$"),
            "encrypted_regex: \"^()$\" is not",
        ),
    ] {
        assert!(got.starts_with(want), "{want:?}: {got}");
    }
}

#[test]
fn errors_and_debug_never_show_plaintext_values() {
    let file = encrypt(SECRET_YAML, &[PUBLIC_A]);
    let flipped = file.replace("type:str]\n    token-secret", "type:int]\n    token-secret");
    let err = decrypt_yaml(&flipped, &id(SECRET_A)).unwrap_err();
    let shown = format!("{err} {err:?}");
    for secret in ["ZjMwZTZm", "aDlrZXV4NjdtZ2xrZWc1cQ", "f30e6f."] {
        assert!(!shown.contains(secret), "{shown}");
    }
    let plain = Plain(vec![("k".into(), Value::Str("hunter2".into()))]);
    assert_eq!(format!("{plain:?}"), "Plain(<redacted>)");
}

/// The exact bytes of one file: any change to a label, the derivation or the layout shows
/// here in review.
#[test]
fn known_answer() {
    assert_eq!(encrypt(SECRET_YAML, &[PUBLIC_A]), KNOWN_ANSWER);
}

const KNOWN_ANSWER: &str = r#"apiVersion: v1
kind: Secret
metadata:
    name: bootstrap-token-f30e6f
    namespace: kube-system
type: bootstrap.kubernetes.io/token
data:
    auth-extra-groups: ENC[AES256_GCM,data:B9JA+yKyZEAVgAxvoX9Sm3DxDeE4ZezBwEWO6xnnmMligfY518Tu15RHUnY9NNHIUlTjNwMcrf981nBCovg8Pw==,iv:RZB86K+sD8tmaSgY45qYjXeDJHJnKNhrtxo3BXkipYc=,tag:UToWdbaT3NipvhB0VzTH6g==,type:str]
    token-id: ENC[AES256_GCM,data:omf+GV+kCOw=,iv:wRruM0+quAPYs+FM6ftimlxDsl2dM/JhUAAbOojZBvE=,tag:Dp7YpSQD9hxjKBlZIEUpMw==,type:str]
    token-secret: ENC[AES256_GCM,data:+SjzvoUcNAly1Mq8PN6eTkMAWtbOaF/j,iv:+h68gtWB3j1fXRFq6tLy+uX7EDVgFs2fDbqs+8vKYqU=,tag:XUmmDW2hjn5MeA3Wkf8Fwg==,type:str]
sops:
    age:
        - enc: |
            -----BEGIN AGE ENCRYPTED FILE-----
            YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSB2M2VZMEFkWkQ4SlM4NEFp
            dS9xbkdJUFN6VUptSFlGUDZ2bTBLOXFSRVVJCmtvYnN6SzFYR202bythMDk1UGZw
            bzc0WmVDeWpmcnZZZG5LK3JnT0dqeFUKLS0tIE1laS9hMkFpK0U2ZUFvRjVjUDd4
            bDJoaS90aVBCcFFidW1tZlR4dG53KzQKpUfnNMVLXfR+aTH20xIJ6yrDtSLIN+FU
            9aGyxFaGeDxnhNaapecb6AxsWxAGe5b1C5pLUy8sdmCicKUaJQn82g==
            -----END AGE ENCRYPTED FILE-----
          recipient: age12vznf0zfe2muc7wd3t03cp9n2dv7wpxpznxjeyx8r7uvfvz9fpfqr4hzu6
    encrypted_regex: ^(data|stringData)$
    lastmodified: "2026-11-25T00:00:00Z"
    mac: ENC[AES256_GCM,data:S2PbQlCdb8woP3ldOWUNjV1lfiHe1+TspYIECA6lQIoP6z1rkK8E/zk9gndag9Apw55KA6QR0Loyr3wT9QpYV+FjfuuLMtFxqkdGH1A1RdUSbIV15xWalWcU/fdUR71MckcrabAc+s64mFjvaWcbnXkNihoWAAbxMHfLFvL+9dc=,iv:bYP1FlA4w/UveKhyvXn3crq8secqolw9pAkMXI44iTg=,tag:bpwGaMcm62F1qKbs4v0meg==,type:str]
    version: 3.13.3
"#;
