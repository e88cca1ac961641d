//! GitOps secrets: Kubernetes Secret manifests as SOPS files encrypted to age recipients,
//! byte-identical on every render while their plaintext is unchanged.
//!
//! Pure functions only: no I/O, no clock, no random numbers. Everything SOPS and age would
//! draw at random comes from one 32-byte per-file secret, the *file key* (the caller derives
//! it from the seed; `docs/derivation.md` §9), through HMAC-SHA256 sub-derivations named by
//! the labels in [`labels`]:
//!
//! - [`age`]: the age v1 file format (age-encryption.org/v1) for X25519 recipients: parse
//!   recipients and identities, encrypt (ASCII-armored) and decrypt.
//! - [`sops`]: the SOPS 3 YAML format with age keys: encrypt a manifest, decrypt it (checking
//!   the MAC as sops does) and read a file's metadata without decrypting.
//!
//! The YAML in and out is handled by two private modules: `yaml` reads a manifest into a tree
//! typed exactly as sops's YAML library types it (refusing what it cannot type exactly), and
//! `emit` writes a tree the way `sops` writes it.

pub mod age;
mod emit;
pub mod sops;
pub mod tree;
pub mod yaml;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

/// The ASCII labels of the sub-derivations from a file key `FK`: each sub-key is
/// `HMAC-SHA256(key = FK, message = label)`. Frozen: a change re-encrypts every file.
pub mod labels {
    /// The SOPS data key itself (AES-256-GCM).
    pub const SOPS_DATA_KEY: &str = "kubeseed/v1 sops data key";
    /// The key of the synthetic IVs of a SOPS file's values and of its MAC.
    pub const SOPS_IV: &str = "kubeseed/v1 sops iv";
    /// The key of an age file's 16-byte file key.
    pub const AGE_FILE_KEY: &str = "kubeseed/v1 age file key";
    /// The key of an age X25519 stanza's ephemeral secret.
    pub const AGE_EPHEMERAL: &str = "kubeseed/v1 age ephemeral secret";
    /// The key of an age file's 16-byte payload nonce.
    pub const AGE_PAYLOAD_NONCE: &str = "kubeseed/v1 age payload nonce";
}

type HmacSha256 = Hmac<Sha256>;

/// `HMAC-SHA256(key, label)`: one labelled sub-key.
fn subkey(key: &[u8; 32], label: &str) -> Zeroizing<[u8; 32]> {
    prf(key, &[], label.as_bytes())
}

/// `HMAC-SHA256(key, lp(parts[0]) ‖ lp(parts[1]) ‖ …)` where `lp(x)` is `x`'s length as 8
/// big-endian bytes followed by `x`: an unambiguous encoding of a tuple of byte strings.
fn prf_tuple(key: &[u8; 32], parts: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    prf(key, parts, &[])
}

fn prf(key: &[u8; 32], parts: &[&[u8]], raw: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut mac = hmac_sha256(key);
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.update(raw);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// An HMAC-SHA256 instance keyed with `key`. RFC 2104 pads keys shorter than the 64-byte
/// block with zeros; padding here allows the infallible block-sized constructor (as
/// `derive::detkeygen` does) instead of `new_from_slice`, whose error cannot happen.
fn hmac_sha256(key: &[u8; 32]) -> HmacSha256 {
    let mut block: hmac::digest::Key<HmacSha256> = Default::default();
    block[..32].copy_from_slice(key);
    let mac = <HmacSha256 as KeyInit>::new(&block);
    block.zeroize();
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 ("Jefe"): `subkey` is plain HMAC-SHA256 (key zero-padded to 32
    /// bytes is the same HMAC key as the 4-byte one).
    #[test]
    fn subkey_is_hmac_sha256_of_the_label() {
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            hex::encode(*subkey(&key, "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn tuples_are_length_prefixed() {
        let key = [7u8; 32];
        assert_ne!(
            *prf_tuple(&key, &[b"ab", b"c"]),
            *prf_tuple(&key, &[b"a", b"bc"])
        );
        let mut manual = hmac_sha256(&key);
        manual.update(&[0, 0, 0, 0, 0, 0, 0, 2]);
        manual.update(b"ab");
        manual.update(&[0, 0, 0, 0, 0, 0, 0, 1]);
        manual.update(b"c");
        assert_eq!(
            prf_tuple(&key, &[b"ab", b"c"]).as_slice(),
            &manual.finalize().into_bytes()[..]
        );
    }
}
