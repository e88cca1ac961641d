//! Seed → every secret value of a render.
//!
//! All entropy of a render comes from the 256-bit seed through HKDF-SHA256
//! (RFC 5869) with versioned labels, so each asset gets an independent 32-byte
//! value and changing one label (a generation bump) changes nothing else.
//! `docs/derivation.md` describes this precisely enough to re-implement it;
//! the known-answer tests at the bottom pin it, so any change shows up in
//! review.
//!
//! [`detkeygen`] turns a 32-byte value into an ECDSA or RSA key exactly as C2SP det-keygen
//! specifies, and [`keys`] holds the supported algorithms and the private keys made so.

pub mod detkeygen;
pub mod keys;

use std::fmt;

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// HKDF salt. Part of the versioned derivation: never change it in 1.x.
const SALT: &[u8] = b"kubeseed/v1";

/// The 64 hex characters of a seed file, without anything else.
const SEED_HEX_LEN: usize = 64;

/// The seeds of `examples/`: public, so anything rendered from them is
/// public too. `render` warns when it sees one.
pub const PUBLIC_DEMO_SEEDS: [&str; 2] = [
    "811d59a5b89383002695676cc450b7c7087c9bfd6bb24d99a038c035e3aa7059",
    "6c4dd44cef4386f25925f85be0303e29a21881882e393d33e70059fd21e2524f",
];

/// The secret seed a render is a function of. Never printed: `Debug` is
/// redacted and the bytes are zeroed on drop.
#[derive(Clone)]
pub struct Seed(Zeroizing<[u8; 32]>);

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(<redacted>)")
    }
}

/// Why a seed's text was refused. Never carries the text itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedProblem {
    Empty,
    WrongLength(usize),
    NotHex { position: usize },
}

impl fmt::Display for SeedProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeedProblem::Empty => write!(f, "the seed is empty"),
            SeedProblem::WrongLength(n) => {
                write!(f, "the seed has {n} characters; it must have exactly {SEED_HEX_LEN} hex characters (256 bits)")
            }
            SeedProblem::NotHex { position } => {
                write!(
                    f,
                    "the seed has a character that is not hex (0-9, a-f) at position {position}"
                )
            }
        }
    }
}

impl Seed {
    /// Parses the seed file format: 64 hex characters and an optional
    /// trailing newline (LF or CRLF), nothing else.
    pub fn from_hex(text: &str) -> Result<Seed, SeedProblem> {
        let text = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(text);
        if text.is_empty() {
            return Err(SeedProblem::Empty);
        }
        if let Some(position) = text.chars().position(|c| !c.is_ascii_hexdigit()) {
            return Err(SeedProblem::NotHex {
                position: position + 1,
            });
        }
        if text.len() != SEED_HEX_LEN {
            return Err(SeedProblem::WrongLength(text.len()));
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text, bytes.as_mut_slice())
            .map_err(|_| SeedProblem::NotHex { position: 1 })?;
        Ok(Seed(bytes))
    }

    /// True for the published seeds of `examples/` (see [`PUBLIC_DEMO_SEEDS`]).
    pub fn is_public_demo(&self) -> bool {
        let hex = hex::encode(self.0.as_slice());
        PUBLIC_DEMO_SEEDS.contains(&hex.as_str())
    }

    /// A fresh seed from the operating system's RNG (`kubeseed init` only).
    pub fn generate() -> Result<Seed, getrandom::Error> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut_slice())?;
        Ok(Seed(bytes))
    }

    /// The seed file's content: lowercase hex and a newline.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(hex::encode(self.0.as_slice()));
        s.push('\n');
        s
    }

    /// HKDF-SHA256(salt = "kubeseed/v1", ikm = seed, info = label), `out.len()` bytes.
    fn expand(&self, label: &str, out: &mut [u8]) {
        let hk = Hkdf::<Sha256>::new(Some(SALT), self.0.as_slice());
        // Only fails for outputs longer than 255 * 32 bytes; every caller
        // asks for at most 64.
        if hk.expand(label.as_bytes(), out).is_err() {
            unreachable!("HKDF output length {} is within 255*32", out.len());
        }
    }

    fn expand32(&self, label: &str) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        self.expand(label, out.as_mut_slice());
        out
    }

    /// The det-keygen seed of one asset's key.
    pub fn key_seed(&self, asset: &str, generation: u32) -> Zeroizing<[u8; 32]> {
        self.expand32(&format!("kubeseed/v1/key/{asset}/{generation}"))
    }

    /// The 32-byte key of the kube-apiserver's EncryptionConfiguration
    /// (`secretbox`, which takes exactly 32 bytes) at an `encryption`
    /// generation. Its own label family, not `key/`, because it is a raw
    /// symmetric key rather than a det-keygen seed.
    pub fn encryption_key(&self, generation: u32) -> Zeroizing<[u8; 32]> {
        self.expand32(&format!("kubeseed/v1/encryption/{generation}"))
    }

    /// The per-file secret of `gitops/<path>` (a SOPS-encrypted Secret), from which its SOPS
    /// data key, IVs and age encryptions are derived (`docs/derivation.md` §9).
    pub fn gitops_key(&self, path: &str) -> Zeroizing<[u8; 32]> {
        self.expand32(&format!("kubeseed/v1/gitops/{path}"))
    }

    /// The 16-byte serial number of one certificate.
    ///
    /// A per-asset HKDF key authenticates a fingerprint of everything the
    /// certificate says (see [`SerialInput`]), so two different certificates
    /// from one CA never share a serial, and re-rendering the same one gives
    /// the same serial. The result is positive and exactly 16 bytes long
    /// when DER-encoded: top bit cleared, second bit set.
    pub fn serial(&self, asset: &str, generation: u32, input: &SerialInput) -> [u8; 16] {
        let key = self.expand32(&format!("kubeseed/v1/serial/{asset}/{generation}"));
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(input.message().as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut serial = [0u8; 16];
        serial.copy_from_slice(&tag[..16]);
        serial[0] = (serial[0] & 0x7f) | 0x40;
        serial
    }

    /// The bootstrap token for a token generation.
    ///
    /// Upstream's generator maps random bytes below 252 (= 7 × 36) to
    /// `[a-z0-9]` by `b % 36` and skips the rest to avoid modulo bias; we do
    /// the same over 64 HKDF bytes: the first 6 accepted characters are the
    /// id, the next 16 the secret.
    pub fn bootstrap_token(&self, generation: u32) -> Result<BootstrapToken, TokenExhausted> {
        const CHARSET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut bytes = Zeroizing::new([0u8; 64]);
        self.expand(
            &format!("kubeseed/v1/bootstrap-token/{generation}"),
            bytes.as_mut_slice(),
        );
        let mut chars = Zeroizing::new(String::with_capacity(22));
        for b in bytes.iter().filter(|b| **b < 252) {
            if chars.len() == 22 {
                break;
            }
            chars.push(char::from(CHARSET[usize::from(*b % 36)]));
        }
        if chars.len() < 22 {
            // Needs 43 of 64 bytes >= 252: probability below 2^-200.
            return Err(TokenExhausted);
        }
        Ok(BootstrapToken {
            id: chars[..6].to_string(),
            secret: Zeroizing::new(chars[6..].to_string()),
        })
    }
}

/// The (astronomically unlikely) case where 64 HKDF bytes do not yield 22
/// token characters. Reported as an error rather than a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenExhausted;

impl fmt::Display for TokenExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the bootstrap token derivation ran out of bytes; bump bootstrap_token.generation"
        )
    }
}

/// A bootstrap token `<id>.<secret>`. The id is public (it names the Secret);
/// the secret is redacted in `Debug` and zeroed on drop.
#[derive(Clone)]
pub struct BootstrapToken {
    pub id: String,
    pub secret: Zeroizing<String>,
}

impl BootstrapToken {
    /// The bearer token, `<id>.<secret>`.
    pub fn token(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{}.{}", self.id, self.secret.as_str()))
    }
}

impl fmt::Debug for BootstrapToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BootstrapToken {{ id: {:?}, secret: <redacted> }}",
            self.id
        )
    }
}

/// What a certificate says, as far as it can change for one asset and
/// generation: the two keys, the validity and the names. Its text form is
/// the message of the serial-number MAC (documented in docs/derivation.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialInput {
    pub subject_spki_der: Vec<u8>,
    pub issuer_spki_der: Vec<u8>,
    pub not_before_unix: i64,
    pub not_after_unix: i64,
    /// Subject attributes in certificate order, e.g. `O=system:masters`, `CN=x`.
    pub subject: Vec<String>,
    /// SANs in certificate order, e.g. `DNS:kubernetes`, `IP:10.96.0.1`.
    pub sans: Vec<String>,
}

impl SerialInput {
    fn message(&self) -> String {
        let mut m = String::from("kubeseed/v1/serial\n");
        m.push_str(&format!(
            "subject-spki-sha256 {}\n",
            hex::encode(Sha256::digest(&self.subject_spki_der))
        ));
        m.push_str(&format!(
            "issuer-spki-sha256 {}\n",
            hex::encode(Sha256::digest(&self.issuer_spki_der))
        ));
        m.push_str(&format!("not-before {}\n", self.not_before_unix));
        m.push_str(&format!("not-after {}\n", self.not_after_unix));
        for s in &self.subject {
            m.push_str(&format!("subject {s}\n"));
        }
        for s in &self.sans {
            m.push_str(&format!("san {s}\n"));
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn seed() -> Seed {
        Seed::from_hex(DEMO).unwrap()
    }

    #[test]
    fn key_seeds_are_pinned() {
        // Known answers, cross-checked with Python's hmac module (HKDF written
        // out by hand): any change to the salt, the labels or HKDF shows up here.
        let s = seed();
        assert_eq!(
            hex::encode(s.key_seed("ca", 1).as_slice()),
            "3ac8f37365147adb4e1246e186297bda0547a219f3aa901ee946d9c9db953fd6"
        );
        assert_eq!(
            hex::encode(s.key_seed("apiserver", 2).as_slice()),
            "f872c59945c3a837368a6c58001cdcc8419b6d1497e704e56cd938ff517f7dbf"
        );
    }

    #[test]
    fn encryption_keys_are_pinned() {
        // Cross-checked with Python's hmac module like the key seeds above.
        let s = seed();
        assert_eq!(
            hex::encode(s.encryption_key(1).as_slice()),
            "f2b049343f088ccb807af9966f5f00fe3df07d46baf563173ec58730cf90a4cb"
        );
        assert_eq!(
            hex::encode(s.encryption_key(2).as_slice()),
            "f9fa8bb968c8a1fcfb1460e6708a25558280643d9e580105e60136c8916d9962"
        );
        // Not the key seed of an asset that happens to be called "encryption".
        assert_ne!(*s.encryption_key(1), *s.key_seed("encryption", 1));
    }

    #[test]
    fn labels_are_independent() {
        let s = seed();
        assert_ne!(*s.key_seed("ca", 1), *s.key_seed("ca", 2));
        assert_ne!(*s.key_seed("ca", 1), *s.key_seed("etcd-ca", 1));
        let other = Seed::from_hex(&DEMO.replace('0', "f")).unwrap();
        assert_ne!(*s.key_seed("ca", 1), *other.key_seed("ca", 1));
    }

    #[test]
    fn token_is_pinned_and_well_formed() {
        let t = seed().bootstrap_token(1).unwrap();
        assert_eq!(t.token().as_str(), "hd0vyz.m82ph2fnnpj3uuf8");
        assert_eq!(t.id.len(), 6);
        assert_eq!(t.secret.len(), 16);
        assert!(t
            .token()
            .chars()
            .all(|c| c == '.' || c.is_ascii_digit() || c.is_ascii_lowercase()));
        assert_ne!(t.id, seed().bootstrap_token(2).unwrap().id);
    }

    #[test]
    fn serial_is_pinned_positive_and_content_bound() {
        let input = SerialInput {
            subject_spki_der: vec![1, 2, 3],
            issuer_spki_der: vec![4, 5, 6],
            not_before_unix: 1_764_028_800,
            not_after_unix: 1_795_564_800,
            subject: vec!["CN=kube-apiserver".into()],
            sans: vec!["DNS:kubernetes".into(), "IP:10.96.0.1".into()],
        };
        let s = seed();
        let serial = s.serial("apiserver", 1, &input);
        assert_eq!(hex::encode(serial), "79ba5aaa113e1addacfc2003f4be3abf");
        assert_eq!(serial[0] & 0xc0, 0x40);
        let mut moved = input.clone();
        moved.not_after_unix += 1;
        assert_ne!(serial, s.serial("apiserver", 1, &moved));
        assert_ne!(serial, s.serial("apiserver", 2, &input));
    }

    #[test]
    fn seed_text_errors() {
        assert_eq!(Seed::from_hex("").unwrap_err(), SeedProblem::Empty);
        assert_eq!(Seed::from_hex("\n").unwrap_err(), SeedProblem::Empty);
        assert_eq!(
            Seed::from_hex("abcd").unwrap_err(),
            SeedProblem::WrongLength(4)
        );
        let mut bad = DEMO.to_string();
        bad.replace_range(10..11, "g");
        assert_eq!(
            Seed::from_hex(&bad).unwrap_err(),
            SeedProblem::NotHex { position: 11 }
        );
        assert!(Seed::from_hex(&format!("{DEMO}\n")).is_ok());
        assert!(Seed::from_hex(&format!("{DEMO}\r\n")).is_ok());
        assert!(Seed::from_hex(&format!("{DEMO}\n\n")).is_err());
        assert!(Seed::from_hex(&format!(" {DEMO}")).is_err());
        // Errors never echo the text.
        let msg = Seed::from_hex(&format!("{DEMO}00"))
            .unwrap_err()
            .to_string();
        assert!(!msg.contains(DEMO));
    }

    #[test]
    fn debug_is_redacted() {
        let s = seed();
        assert_eq!(format!("{s:?}"), "Seed(<redacted>)");
        let t = s.bootstrap_token(1).unwrap();
        assert!(!format!("{t:?}").contains(t.secret.as_str()));
        assert_eq!(s.to_file_text().as_str(), format!("{DEMO}\n"));
    }
}
