//! The age v1 file format (<https://age-encryption.org/v1>) for X25519 recipients, with every
//! value age would draw at random derived instead (module `gitops`, `docs/derivation.md` §9).
//!
//! An encrypted file is a header (the intro line, one `-> X25519 <ephemeral share>` stanza
//! wrapping the 16-byte file key, and `--- <header MAC>`), a 16-byte payload nonce and the
//! STREAM-encrypted payload (ChaCha20-Poly1305, 64 KiB chunks). sops stores it ASCII-armored
//! (base64, 64 columns, `-----BEGIN AGE ENCRYPTED FILE-----`). The primitives are RustCrypto's
//! and dalek's; this module only lays out their inputs and outputs.
//!
//! Secret material — identities, file keys, derived seeds, plaintexts — is zeroized on drop,
//! never printed by `Debug` and never echoed in an error message.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::Mac;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::labels;

mod keys;
pub use keys::{Identity, IdentityError, Recipient, RecipientError};

/// The first line of every age v1 file.
const INTRO: &str = "age-encryption.org/v1\n";
/// The HKDF info of an X25519 stanza's wrapping key.
const X25519_LABEL: &[u8] = b"age-encryption.org/v1/X25519";
const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
const ARMOR_END: &str = "-----END AGE ENCRYPTED FILE-----";
/// Base64 columns per line, in stanza bodies and in the armor alike.
const COLUMNS: usize = 64;
/// Plaintext bytes per STREAM chunk.
const CHUNK: usize = 64 * 1024;
/// A Poly1305 tag.
const TAG: usize = 16;

/// The 32-byte secret every random value of an age encryption is derived from (the file key
/// of `gitops`, see [`labels`]). Zeroized on drop; `Debug` shows nothing.
pub struct EncryptionSeed(Zeroizing<[u8; 32]>);

impl EncryptionSeed {
    pub fn new(bytes: [u8; 32]) -> EncryptionSeed {
        EncryptionSeed(Zeroizing::new(bytes))
    }
}

impl fmt::Debug for EncryptionSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionSeed(<redacted>)")
    }
}

/// The three derived inputs of one encryption, bound to the recipient and the plaintext:
/// a different plaintext or recipient changes all three, and the ephemeral secret and nonce
/// are functions of the file key, so one ephemeral key never wraps two file keys.
struct Derived {
    file_key: Zeroizing<[u8; 16]>,
    ephemeral: StaticSecret,
    nonce: [u8; 16],
}

fn derive(seed: &EncryptionSeed, recipient: &Recipient, plaintext: &[u8]) -> Derived {
    let r = recipient.as_str().as_bytes();
    let k_file = super::subkey(&seed.0, labels::AGE_FILE_KEY);
    let k_eph = super::subkey(&seed.0, labels::AGE_EPHEMERAL);
    let k_nonce = super::subkey(&seed.0, labels::AGE_PAYLOAD_NONCE);
    let full = super::prf_tuple(&k_file, &[r, plaintext]);
    let mut file_key = Zeroizing::new([0u8; 16]);
    file_key.copy_from_slice(&full[..16]);
    let ephemeral = StaticSecret::from(*super::prf_tuple(&k_eph, &[r, &file_key[..]]));
    let mut nonce = [0u8; 16];
    nonce.copy_from_slice(&super::prf_tuple(&k_nonce, &[r, &file_key[..]])[..16]);
    Derived {
        file_key,
        ephemeral,
        nonce,
    }
}

/// HKDF-SHA256 to 32 bytes (every HKDF in age is this; 32 bytes is always a valid length).
fn hkdf32(salt: &[u8], ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    // Expand fails only above 255 × 32 bytes.
    let _ = Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, &mut out[..]);
    out
}

/// ChaCha20-Poly1305 with age's key-wrapping nonce (all zero).
fn chacha(key: &[u8; 32]) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(&(*key).into())
}

/// Encrypts `plaintext` to `recipient` as an ASCII-armored age v1 file. Deterministic: the
/// same seed, recipient and plaintext give the same bytes.
pub fn encrypt_armored(plaintext: &[u8], recipient: &Recipient, seed: &EncryptionSeed) -> String {
    armor(&encrypt(plaintext, recipient, seed))
}

/// The binary age v1 file.
fn encrypt(plaintext: &[u8], recipient: &Recipient, seed: &EncryptionSeed) -> Vec<u8> {
    let d = derive(seed, recipient, plaintext);
    let ours = PublicKey::from(&d.ephemeral).to_bytes();
    let shared = d.ephemeral.diffie_hellman(&PublicKey::from(recipient.key));
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(&ours);
    salt[32..].copy_from_slice(&recipient.key);
    let wrap_key = hkdf32(&salt, shared.as_bytes(), X25519_LABEL);
    // Encrypting 16 bytes cannot exceed ChaCha20-Poly1305's limits.
    let body = chacha(&wrap_key)
        .encrypt(&[0u8; 12].into(), &d.file_key[..])
        .unwrap_or_default();

    let mut header = String::from(INTRO);
    header.push_str("-> X25519 ");
    header.push_str(&STANDARD_NO_PAD.encode(ours));
    header.push('\n');
    push_wrapped(&mut header, &STANDARD_NO_PAD.encode(&body), true);
    header.push_str("---");
    let mac = header_mac(&d.file_key, header.as_bytes());
    header.push(' ');
    header.push_str(&STANDARD_NO_PAD.encode(mac));
    header.push('\n');

    let mut out = header.into_bytes();
    out.extend_from_slice(&d.nonce);
    let stream = chacha(&hkdf32(&d.nonce, &d.file_key[..], b"payload"));
    let chunks: Vec<&[u8]> = if plaintext.is_empty() {
        vec![&[]]
    } else {
        plaintext.chunks(CHUNK).collect()
    };
    for (i, chunk) in chunks.iter().enumerate() {
        let nonce = stream_nonce(i as u128, i + 1 == chunks.len());
        // A chunk of at most 64 KiB is far below ChaCha20-Poly1305's limits.
        out.extend(stream.encrypt(&nonce.into(), *chunk).unwrap_or_default());
    }
    out
}

/// The STREAM nonce: an 11-byte big-endian chunk counter and the last-chunk flag.
fn stream_nonce(counter: u128, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[..11].copy_from_slice(&counter.to_be_bytes()[5..]);
    nonce[11] = u8::from(last);
    nonce
}

/// HMAC-SHA256 of the header up to and including `---`, keyed with HKDF(file key, "header").
fn header_mac(file_key: &[u8; 16], header: &[u8]) -> [u8; 32] {
    let key = hkdf32(&[], file_key, b"header");
    let mut mac = super::hmac_sha256(&key);
    mac.update(header);
    mac.finalize().into_bytes().into()
}

/// Appends `b64` in lines of 64 columns, each ending in `\n`. A stanza body (`short_last`)
/// always ends with a line shorter than 64 columns, empty if need be (age's rule).
fn push_wrapped(out: &mut String, b64: &str, short_last: bool) {
    let mut rest = b64;
    while rest.len() >= COLUMNS {
        out.push_str(&rest[..COLUMNS]);
        out.push('\n');
        rest = &rest[COLUMNS..];
    }
    if !rest.is_empty() || short_last {
        out.push_str(rest);
        out.push('\n');
    }
}

/// age's ASCII armor: the file in padded base64, 64 columns a line, between the markers.
fn armor(file: &[u8]) -> String {
    let mut out = String::from(ARMOR_BEGIN);
    out.push('\n');
    push_wrapped(&mut out, &STANDARD.encode(file), false);
    out.push_str(ARMOR_END);
    out.push('\n');
    out
}

/// Why an age file did not decrypt. No message contains key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgeError {
    /// Not ASCII-armored as age armors (markers, 64-column base64 lines, nothing after).
    Armor(&'static str),
    /// The binary file does not follow the age v1 format.
    Format(&'static str),
    /// No identity was given.
    NoIdentities,
    /// None of the identities unwraps any X25519 stanza of the file.
    NoMatch,
    /// The header MAC does not verify: the header was changed.
    HeaderMac,
    /// A payload chunk does not authenticate: the file was changed or truncated.
    Payload,
}

impl fmt::Display for AgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgeError::Armor(why) => write!(f, "invalid age armor: {why}"),
            AgeError::Format(why) => write!(f, "invalid age file: {why}"),
            AgeError::NoIdentities => write!(f, "no age identity to decrypt with"),
            AgeError::NoMatch => write!(
                f,
                "none of the age identities can decrypt it (it was encrypted to other recipients)"
            ),
            AgeError::HeaderMac => {
                write!(
                    f,
                    "the age header MAC does not verify: the file was changed"
                )
            }
            AgeError::Payload => write!(
                f,
                "the age payload does not authenticate: the file was changed or truncated"
            ),
        }
    }
}

impl std::error::Error for AgeError {}

/// Decrypts an ASCII-armored age v1 file with the first identity that unwraps one of its
/// X25519 stanzas, verifying the header MAC and every payload chunk.
pub fn decrypt_armored(
    armored: &str,
    identities: &[Identity],
) -> Result<Zeroizing<Vec<u8>>, AgeError> {
    decrypt(&dearmor(armored)?, identities)
}

/// The binary file inside age's armor, parsed as strictly as age's armor reader: optional
/// surrounding whitespace, the markers, padded base64 in full 64-column lines but the last.
fn dearmor(armored: &str) -> Result<Vec<u8>, AgeError> {
    let text = armored.trim();
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    if lines.next() != Some(ARMOR_BEGIN) {
        return Err(AgeError::Armor("no BEGIN AGE ENCRYPTED FILE line"));
    }
    let mut b64 = String::new();
    let mut ended = false;
    let mut short = false;
    for line in lines.by_ref() {
        if line == ARMOR_END {
            ended = true;
            break;
        }
        if short {
            return Err(AgeError::Armor("a short line before the last"));
        }
        if line.is_empty() || line.len() > COLUMNS {
            return Err(AgeError::Armor("a line that is empty or over 64 columns"));
        }
        short = line.len() < COLUMNS;
        b64.push_str(line);
    }
    if !ended {
        return Err(AgeError::Armor("no END AGE ENCRYPTED FILE line"));
    }
    if lines.next().is_some() {
        return Err(AgeError::Armor("data after the END line"));
    }
    STANDARD
        .decode(b64)
        .map_err(|_| AgeError::Armor("invalid base64"))
}

/// One parsed recipient stanza.
struct Stanza<'a> {
    kind: &'a str,
    args: Vec<&'a str>,
    body: Vec<u8>,
}

/// The header's stanzas, the MAC, the header bytes the MAC covers, and the rest.
struct Header<'a> {
    stanzas: Vec<Stanza<'a>>,
    mac: Vec<u8>,
    covered: &'a [u8],
    rest: &'a [u8],
}

/// age's "a non-empty string of printable ASCII other than space" (stanza types, arguments).
fn is_arg(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (33..=126).contains(&b))
}

fn b64_line(line: &str) -> Result<Vec<u8>, AgeError> {
    STANDARD_NO_PAD
        .decode(line)
        .map_err(|_| AgeError::Format("a header line is not canonical unpadded base64"))
}

fn parse_header(file: &[u8]) -> Result<Header<'_>, AgeError> {
    let mut pos = 0;
    let next_line = |pos: &mut usize| -> Result<&str, AgeError> {
        let end = file[*pos..]
            .iter()
            .position(|b| *b == b'\n')
            .ok_or(AgeError::Format("the header ends early"))?;
        let line = std::str::from_utf8(&file[*pos..*pos + end])
            .map_err(|_| AgeError::Format("the header is not text"))?;
        *pos += end + 1;
        Ok(line)
    };
    if next_line(&mut pos)? != INTRO.trim_end() {
        return Err(AgeError::Format("not an age v1 file (intro line)"));
    }
    let mut stanzas = Vec::new();
    loop {
        let start = pos;
        let line = next_line(&mut pos)?;
        if let Some(mac) = line.strip_prefix("--- ") {
            if stanzas.is_empty() {
                return Err(AgeError::Format("no recipient stanza"));
            }
            let mac = b64_line(mac)?;
            if mac.len() != 32 {
                return Err(AgeError::Format("the header MAC is not 32 bytes"));
            }
            return Ok(Header {
                stanzas,
                mac,
                covered: &file[..start + 3],
                rest: &file[pos..],
            });
        }
        let mut words = line
            .strip_prefix("-> ")
            .ok_or(AgeError::Format("a stanza line does not start with ->"))?
            .split(' ');
        let kind = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        if !is_arg(kind) || !args.iter().all(|a| is_arg(a)) {
            return Err(AgeError::Format(
                "a stanza line has an empty or invalid word",
            ));
        }
        let mut body = Vec::new();
        loop {
            let line = next_line(&mut pos)?;
            if line.len() > COLUMNS {
                return Err(AgeError::Format("a stanza body line is over 64 columns"));
            }
            body.extend(b64_line(line)?);
            if line.len() < COLUMNS {
                break;
            }
        }
        stanzas.push(Stanza { kind, args, body });
    }
}

fn decrypt(file: &[u8], identities: &[Identity]) -> Result<Zeroizing<Vec<u8>>, AgeError> {
    if identities.is_empty() {
        return Err(AgeError::NoIdentities);
    }
    let header = parse_header(file)?;
    let file_key = unwrap_file_key(&header, identities)?;
    if header_mac(&file_key, header.covered) != header.mac[..] {
        return Err(AgeError::HeaderMac);
    }
    let (nonce, mut payload) = header
        .rest
        .split_at_checked(16)
        .ok_or(AgeError::Format("the payload nonce is missing"))?;
    let stream = chacha(&hkdf32(nonce, &file_key[..], b"payload"));
    let mut plaintext = Zeroizing::new(Vec::new());
    let mut counter: u128 = 0;
    // age's STREAM reader: a full-size chunk is tried as a middle chunk first, then as the
    // last; a shorter one can only be the last; nothing may follow the last.
    loop {
        let take = payload.len().min(CHUNK + TAG);
        let (chunk, rest) = payload.split_at(take);
        let open = |last: bool| {
            stream
                .decrypt(&stream_nonce(counter, last).into(), Payload::from(chunk))
                .ok()
                .map(Zeroizing::new)
        };
        let middle = if take == CHUNK + TAG {
            open(false)
        } else {
            None
        };
        if let Some(out) = middle {
            plaintext.extend_from_slice(&out);
            if rest.is_empty() {
                return Err(AgeError::Format("the payload has no last chunk"));
            }
        } else {
            if counter > 0 && take == TAG {
                return Err(AgeError::Format("the payload ends with an empty chunk"));
            }
            let out = open(true).ok_or(AgeError::Payload)?;
            if !rest.is_empty() {
                return Err(AgeError::Format("data after the payload's last chunk"));
            }
            plaintext.extend_from_slice(&out);
            return Ok(plaintext);
        }
        payload = rest;
        counter += 1;
    }
}

/// The file key from the first X25519 stanza one of the identities unwraps.
fn unwrap_file_key(
    header: &Header<'_>,
    identities: &[Identity],
) -> Result<Zeroizing<[u8; 16]>, AgeError> {
    for identity in identities {
        let ours = identity.recipient.key;
        for stanza in header.stanzas.iter().filter(|s| s.kind == "X25519") {
            let [share] = stanza.args[..] else {
                return Err(AgeError::Format(
                    "an X25519 stanza without exactly one argument",
                ));
            };
            let theirs: [u8; 32] = b64_line(share)?
                .try_into()
                .map_err(|_| AgeError::Format("an X25519 share is not 32 bytes"))?;
            if stanza.body.len() != 16 + TAG {
                return Err(AgeError::Format("an X25519 stanza body is not 32 bytes"));
            }
            let shared = identity.secret.diffie_hellman(&PublicKey::from(theirs));
            if !shared.was_contributory() {
                return Err(AgeError::Format("an X25519 share is a low-order point"));
            }
            let mut salt = [0u8; 64];
            salt[..32].copy_from_slice(&theirs);
            salt[32..].copy_from_slice(&ours);
            let wrap_key = hkdf32(&salt, shared.as_bytes(), X25519_LABEL);
            if let Ok(key) = chacha(&wrap_key).decrypt(&[0u8; 12].into(), &stanza.body[..]) {
                let key = Zeroizing::new(key);
                let mut file_key = Zeroizing::new([0u8; 16]);
                file_key.copy_from_slice(&key);
                return Ok(file_key);
            }
        }
    }
    Err(AgeError::NoMatch)
}

#[cfg(test)]
mod tests;
