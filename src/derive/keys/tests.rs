use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use base64::Engine;
use rcgen::{PublicKeyData, SigningKey};
use sha2::{Digest, Sha256};

use super::*;

const SEED: &[u8; 32] = b"kubeseed keys.rs known-answer!!!";

/// One key per algorithm from [`SEED`], derived once for all tests
/// (RSA-4096 takes a second or two).
fn keys() -> &'static [PrivateKey] {
    static KEYS: OnceLock<Vec<PrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        Algorithm::ALL
            .iter()
            .map(|(alg, _)| PrivateKey::derive(*alg, SEED).unwrap())
            .collect()
    })
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Runs openssl with `args` in `dir`; returns stdout, failing the test
/// with stderr if openssl fails.
fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("/usr/bin/openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "openssl {args:?}: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

fn vectors(json: &str) -> Vec<serde_json::Value> {
    serde_json::from_str(json).unwrap()
}

fn b64(vector: &serde_json::Value, field: &str) -> Vec<u8> {
    let text = vector[field].as_str().unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn pem_der(pem: &str) -> (String, Vec<u8>) {
    let (label, der) = pem::decode_vec(pem.as_bytes()).unwrap();
    (label.to_string(), der)
}

/// Known answers: a change to the derivation or the encoding of any
/// algorithm shows up here in review.
#[test]
fn derived_private_pems_are_pinned() {
    let got: Vec<(&str, String)> = keys()
        .iter()
        .map(|k| {
            (
                k.algorithm_name(),
                sha256_hex(k.to_pem().as_bytes())[..16].to_string(),
            )
        })
        .collect();
    let want = [
        ("ecdsa-p256", "a825b0cf443df049"),
        ("ecdsa-p384", "1c5b7b1bb3b86c4b"),
        ("rsa-2048", "a764d69255da8f12"),
        ("rsa-3072", "f9f4cfa05b9e1404"),
        ("rsa-4096", "d81502847af78830"),
    ];
    let got_ref: Vec<(&str, &str)> = got.iter().map(|(a, h)| (*a, h.as_str())).collect();
    assert_eq!(got_ref, want);
}

/// The PKCS#1 key we write for a det-keygen RSA key is byte for byte the
/// one inside the C2SP vector (so d is the spec's λ-based exponent and
/// the CRT values match), for each size we offer.
#[test]
fn rsa_pem_equals_the_c2sp_vector_key() {
    let vectors = vectors(include_str!("../../../tests/vectors/det-keygen-rsa.json"));
    for bits in [2048, 3072, 4096] {
        let vector = vectors
            .iter()
            .find(|v| v["bits"].as_u64() == Some(bits as u64))
            .unwrap();
        let alg = Algorithm::from_rsa_bits(bits).unwrap();
        let key = PrivateKey::derive_from_seed(alg, &b64(vector, "seed")).unwrap();
        let (label, ours) = pem_der(&key.to_pem());
        assert_eq!(label, "RSA PRIVATE KEY");
        let pkcs8 = b64(vector, "private_key_pkcs8");
        let info = PrivateKeyInfo::try_from(pkcs8.as_slice()).unwrap();
        assert_eq!(
            hex::encode(&ours),
            hex::encode(info.private_key),
            "rsa-{bits}"
        );
    }
}

/// Our SEC1 key carries the vector's scalar and public point, plus the
/// namedCurve OID (which the PKCS#8 form keeps outside).
#[test]
fn ec_pem_carries_the_c2sp_vector_key() {
    let vectors = vectors(include_str!("../../../tests/vectors/det-keygen-ecdsa.json"));
    let mut checked = 0;
    for vector in &vectors {
        let (alg, oid) = match vector["curve"].as_str().unwrap() {
            "secp256r1" => (Algorithm::EcdsaP256, p256::NistP256::OID),
            "secp384r1" => (Algorithm::EcdsaP384, p384::NistP384::OID),
            _ => continue,
        };
        let key = PrivateKey::derive_from_seed(alg, &b64(vector, "seed")).unwrap();
        let (label, ours) = pem_der(&key.to_pem());
        assert_eq!(label, EC_LABEL);
        let ours = sec1::EcPrivateKey::try_from(ours.as_slice()).unwrap();
        let pkcs8 = b64(vector, "private_key_pkcs8");
        let info = PrivateKeyInfo::try_from(pkcs8.as_slice()).unwrap();
        let theirs = sec1::EcPrivateKey::try_from(info.private_key).unwrap();
        assert_eq!(ours.private_key, theirs.private_key);
        assert_eq!(ours.public_key, theirs.public_key);
        assert_eq!(ours.parameters.and_then(|p| p.named_curve()), Some(oid));
        checked += 1;
    }
    assert_eq!(checked, 11);
}

#[test]
fn pems_are_lf_with_a_trailing_newline_and_the_right_labels() {
    for key in keys() {
        let (private_label, public_label) = match key.algorithm() {
            Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => ("EC PRIVATE KEY", "PUBLIC KEY"),
            _ => ("RSA PRIVATE KEY", "PUBLIC KEY"),
        };
        for (pem, label) in [
            (key.to_pem().to_string(), private_label),
            (key.public_key_pem(), public_label),
        ] {
            assert!(
                pem.starts_with(&format!("-----BEGIN {label}-----\n")),
                "{pem}"
            );
            assert!(pem.ends_with(&format!("-----END {label}-----\n")));
            assert!(!pem.contains('\r'));
            assert!(pem.lines().all(|l| l.len() <= 64));
        }
    }
}

#[test]
fn from_pem_round_trips_every_algorithm() {
    for key in keys() {
        let again = PrivateKey::from_pem(&key.to_pem()).unwrap();
        assert_eq!(again.algorithm(), key.algorithm());
        assert_eq!(*again.to_pem(), *key.to_pem());
        assert_eq!(again.public_key_pem(), key.public_key_pem());
        assert_eq!(again.spki_der(), key.spki_der());
        // Keys that went through a Windows editor.
        let crlf = key.to_pem().replace('\n', "\r\n");
        assert_eq!(
            *PrivateKey::from_pem(&crlf).unwrap().to_pem(),
            *key.to_pem()
        );
    }
}

#[test]
fn from_pem_reads_pkcs8_and_surrounding_text() {
    use p256::pkcs8::EncodePrivateKey;
    for key in keys() {
        let pkcs8 = match key.algorithm() {
            Algorithm::EcdsaP256 => p256::SecretKey::from_sec1_pem(&key.to_pem())
                .unwrap()
                .to_pkcs8_pem(LineEnding::LF)
                .unwrap(),
            Algorithm::EcdsaP384 => p384::SecretKey::from_sec1_pem(&key.to_pem())
                .unwrap()
                .to_pkcs8_pem(LineEnding::LF)
                .unwrap(),
            _ => {
                use rsa::pkcs8::EncodePrivateKey;
                RsaPrivateKey::from_pkcs1_pem(&key.to_pem())
                    .unwrap()
                    .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
                    .unwrap()
            }
        };
        assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        // As `cat ca.crt ca.key` or openssl's "Bag Attributes" leave it.
        let bundle = format!("issuer=/CN=x\n{}{}", key.public_key_pem(), *pkcs8);
        let again = PrivateKey::from_pem(&bundle).unwrap();
        assert_eq!(*again.to_pem(), *key.to_pem(), "{}", key.algorithm_name());
    }
}

#[test]
fn debug_is_redacted() {
    for key in keys() {
        let debug = format!("{key:?}");
        assert_eq!(
            debug,
            format!("PrivateKey {{ algorithm: {:?}, .. }}", key.algorithm_name())
        );
        for line in key.to_pem().lines().filter(|l| !l.starts_with("-----")) {
            assert!(!debug.contains(line));
        }
    }
}

#[test]
fn spki_is_what_rcgen_embeds_and_what_the_public_pem_holds() {
    for key in keys() {
        assert_eq!(
            key.subject_public_key_info(),
            key.spki_der(),
            "{}",
            key.algorithm_name()
        );
        let (label, der) = pem_der(&key.public_key_pem());
        assert_eq!((label.as_str(), der), ("PUBLIC KEY", key.spki_der()));
    }
}

#[test]
fn signatures_are_deterministic_and_verify() {
    use p256::ecdsa::signature::Verifier;
    let msg = b"kubeseed signs certificates deterministically";
    for key in keys() {
        let first = key.sign(msg).unwrap();
        assert_eq!(first, key.sign(msg).unwrap(), "{}", key.algorithm_name());
        match &key.secret {
            Secret::P256(k) => {
                let sig = p256::ecdsa::DerSignature::try_from(first.as_slice()).unwrap();
                k.verifying_key().verify(msg, &sig).unwrap();
            }
            Secret::P384(k) => {
                let sig = p384::ecdsa::DerSignature::try_from(first.as_slice()).unwrap();
                k.verifying_key().verify(msg, &sig).unwrap();
            }
            Secret::Rsa(k) => {
                k.to_public_key()
                    .pkcs1v15_verify::<rsa::sha2::Sha256>(msg, &first)
                    .unwrap();
            }
        }
    }
}

/// PKCS#1 v1.5 is deterministic, so our RSA signature must be byte for byte
/// the one OpenSSL, an independent implementation, makes with the same key
/// (and with the same key PEM, pinned above, so the bytes cannot drift when
/// the rsa crate changes).
#[test]
fn rsa_signatures_equal_openssl_ones() {
    let dir = tempfile::tempdir().unwrap();
    let msg = b"kubeseed signs certificates deterministically";
    std::fs::write(dir.path().join("msg"), msg).unwrap();
    let mut checked = 0;
    for key in keys()
        .iter()
        .filter(|k| PrivateKey::algorithm(k).rsa_bits().is_some())
    {
        std::fs::write(dir.path().join("key.pem"), key.to_pem().as_bytes()).unwrap();
        openssl(
            dir.path(),
            &["dgst", "-sha256", "-sign", "key.pem", "-out", "sig", "msg"],
        );
        let theirs = std::fs::read(dir.path().join("sig")).unwrap();
        assert_eq!(
            hex::encode(key.sign(msg).unwrap()),
            hex::encode(theirs),
            "{}",
            key.algorithm_name()
        );
        checked += 1;
    }
    assert_eq!(checked, 3);
}

/// OpenSSL, an independent implementation, accepts our keys and the
/// certificates rcgen signs with them.
#[test]
fn openssl_accepts_keys_and_self_signed_certificates() {
    let dir = tempfile::tempdir().unwrap();
    for key in keys() {
        let name = key.algorithm_name();
        std::fs::write(dir.path().join("key.pem"), key.to_pem().as_bytes()).unwrap();
        openssl(dir.path(), &["pkey", "-in", "key.pem", "-noout", "-check"]);
        let pubout = openssl(dir.path(), &["pkey", "-in", "key.pem", "-pubout"]);
        assert_eq!(pubout, key.public_key_pem(), "{name}");
        if let Some(curve) = match key.algorithm() {
            Algorithm::EcdsaP256 => Some("prime256v1"),
            Algorithm::EcdsaP384 => Some("secp384r1"),
            _ => None,
        } {
            // The curve OID is inside the SEC1 key, as Go requires.
            let text = openssl(dir.path(), &["ec", "-in", "key.pem", "-noout", "-text"]);
            assert!(
                text.contains(&format!("ASN1 OID: {curve}")),
                "{name}: {text}"
            );
        }

        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "kubeseed test CA");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(key).unwrap();
        std::fs::write(dir.path().join("ca.pem"), cert.pem()).unwrap();
        let verified = openssl(dir.path(), &["verify", "-CAfile", "ca.pem", "ca.pem"]);
        assert_eq!(verified, "ca.pem: OK\n", "{name}");
        let cert_key = openssl(dir.path(), &["x509", "-in", "ca.pem", "-noout", "-pubkey"]);
        assert_eq!(cert_key, key.public_key_pem(), "{name}");
        let text = openssl(dir.path(), &["x509", "-in", "ca.pem", "-noout", "-text"]);
        let algorithm = match key.algorithm() {
            Algorithm::EcdsaP256 => "ecdsa-with-SHA256",
            Algorithm::EcdsaP384 => "ecdsa-with-SHA384",
            _ => "sha256WithRSAEncryption",
        };
        assert!(
            text.contains(&format!("Signature Algorithm: {algorithm}")),
            "{name}"
        );
    }
}

/// The error for `pem` (made by `openssl` from `args` when given).
fn pem_error(dir: &Path, args: &[&str]) -> (KeyError, String) {
    let pem = openssl(dir, args);
    let err = PrivateKey::from_pem(&pem).unwrap_err();
    let message = err.to_string();
    for line in pem
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 8)
    {
        assert!(!message.contains(line), "error echoes the key: {message}");
    }
    (err, pem)
}

#[test]
fn from_pem_explains_what_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rsa = &keys()[2];
    std::fs::write(d.join("rsa.pem"), rsa.to_pem().as_bytes()).unwrap();

    let (err, _) = pem_error(
        d,
        &["pkey", "-in", "rsa.pem", "-aes256", "-passout", "pass:x"],
    );
    assert_eq!(err, KeyError::Encrypted);
    let legacy = [
        "rsa",
        "-in",
        "rsa.pem",
        "-traditional",
        "-aes256",
        "-passout",
        "pass:x",
    ];
    let (err, pem) = pem_error(d, &legacy);
    assert!(pem.contains("Proc-Type: 4,ENCRYPTED"));
    assert_eq!(err, KeyError::Encrypted);

    let p521 = [
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-521",
    ];
    let (err, _) = pem_error(d, &p521);
    assert_eq!(
        err,
        KeyError::UnsupportedCurve {
            curve: "P-521 (secp521r1)".into()
        }
    );
    std::fs::write(d.join("p521.pem"), openssl(d, &p521)).unwrap();
    let (err, _) = pem_error(d, &["ec", "-in", "p521.pem"]);
    assert_eq!(
        err,
        KeyError::UnsupportedCurve {
            curve: "P-521 (secp521r1)".into()
        }
    );

    let (err, _) = pem_error(d, &["genpkey", "-algorithm", "ed25519"]);
    assert_eq!(
        err,
        KeyError::UnsupportedKeyType {
            what: "Ed25519".into()
        }
    );
    let rsa1024 = [
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:1024",
    ];
    let (err, _) = pem_error(d, &rsa1024);
    assert_eq!(err, KeyError::UnsupportedRsaSize { bits: 1024 });

    let cert_only = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert_eq!(
        PrivateKey::from_pem(cert_only).unwrap_err(),
        KeyError::NotAPrivateKey {
            label: "CERTIFICATE".into()
        }
    );
    assert_eq!(PrivateKey::from_pem("").unwrap_err(), KeyError::NoPem);
    let truncated = &rsa.to_pem()[..200];
    assert!(matches!(
        PrivateKey::from_pem(truncated).unwrap_err(),
        KeyError::Malformed { .. }
    ));
    let openssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    assert_eq!(
        PrivateKey::from_pem(openssh).unwrap_err(),
        KeyError::UnsupportedFormat {
            label: "OPENSSH PRIVATE KEY".into()
        }
    );
}

#[test]
fn derive_errors_name_the_algorithm() {
    let err = PrivateKey::derive_from_seed(Algorithm::EcdsaP256, &[0; 8]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "deriving the ecdsa-p256 key failed: key seed is 8 bytes long; det-keygen needs at least 16"
    );
}
