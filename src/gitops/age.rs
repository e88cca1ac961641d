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
use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Fe32, Hrp};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::Mac;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

use super::labels;

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
/// The bech32 data characters of 32 bytes (256 bits in 5-bit groups, zero-padded).
const KEY_CHARS: usize = 52;

/// A parsed age X25519 recipient (`age1…`, bech32): who can decrypt.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Recipient {
    /// The canonical (lowercase) bech32 text, exactly as given.
    text: String,
    key: [u8; 32],
}

impl Recipient {
    /// Parses an age X25519 recipient. age's own rules: lowercase bech32 with the
    /// human-readable part `age` and 32 bytes of key, no surrounding whitespace (age refuses
    /// the uppercase form too). Any other kind of key is named in the error, and a pasted
    /// secret key is never echoed back.
    pub fn parse(s: &str) -> Result<Recipient, RecipientError> {
        if let Some(foreign) = foreign_key(s) {
            return Err(foreign);
        }
        if s.trim() != s {
            return Err(RecipientError::Malformed("leading or trailing whitespace"));
        }
        if !s.starts_with("age1") {
            if s.to_ascii_lowercase().starts_with("age1") {
                return Err(RecipientError::Uppercase);
            }
            return Err(RecipientError::NotAge);
        }
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(RecipientError::Malformed("mixed case"));
        }
        // The separator is the last '1' (bech32): "age1pq1…" has the human-readable part
        // "age1pq", a plugin's "age1<name>1…" has "age1<name>".
        let hrp = s.rfind('1').map_or("", |i| &s[..i]);
        if hrp == "age1pq" {
            return Err(RecipientError::PostQuantum);
        }
        if let Some(name) = hrp.strip_prefix("age1") {
            return Err(if is_plugin_name(name) {
                RecipientError::Plugin(name.to_string())
            } else {
                RecipientError::Malformed("not bech32")
            });
        }
        let key = decode_key(s, "age").map_err(RecipientError::Malformed)?;
        // A low-order point makes every shared secret zero; age's Wrap fails on it, so it is
        // refused here (a clamped scalar times such a point is the identity).
        let probe = StaticSecret::from([0x42; 32]).diffie_hellman(&PublicKey::from(key));
        if !probe.was_contributory() {
            return Err(RecipientError::Malformed("a low-order X25519 point"));
        }
        Ok(Recipient {
            text: s.to_string(),
            key,
        })
    }

    /// The canonical lowercase bech32 text (`age1…`).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({})", self.text)
    }
}

/// Why a string is not an age X25519 recipient. No message contains the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientError {
    /// Starts like an age X25519 recipient but does not decode as one.
    Malformed(&'static str),
    /// `AGE1…`: age accepts recipients only in lowercase.
    Uppercase,
    /// `AGE-SECRET-KEY-1…`: a secret key, pasted where its public recipient belongs.
    SecretKey,
    /// `AGE-PLUGIN-…`: a plugin identity (a secret), not a recipient.
    PluginIdentity,
    /// `age1pq1…`: age's post-quantum hybrid recipient.
    PostQuantum,
    /// `age1<name>1…`: a recipient for the plugin `age-plugin-<name>` (e.g. yubikey).
    Plugin(String),
    /// An OpenSSH public key (`ssh-ed25519 …`, `ssh-rsa …`, …), of the named type.
    Ssh(&'static str),
    /// A PEM block or an OpenSSH private key.
    Pem,
    /// Hex that looks like a PGP key fingerprint or key id.
    Pgp,
    /// Nothing age knows.
    NotAge,
}

impl fmt::Display for RecipientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const X25519: &str = "an age X25519 recipient (age1…, as `age-keygen -y` prints)";
        match self {
            RecipientError::Malformed(why) => write!(f, "malformed age recipient: {why}"),
            RecipientError::Uppercase => write!(
                f,
                "malformed age recipient: uppercase (age accepts recipients only in lowercase)"
            ),
            RecipientError::SecretKey => write!(
                f,
                "not an age X25519 recipient: this is an age SECRET key (AGE-SECRET-KEY-1…), \
                 not shown here; give its public recipient instead (`age-keygen -y KEYFILE`), \
                 and treat the secret key as leaked if it was committed anywhere"
            ),
            RecipientError::PluginIdentity => write!(
                f,
                "not an age X25519 recipient: this is an age plugin identity (AGE-PLUGIN-…), \
                 not shown here; give {X25519}"
            ),
            RecipientError::PostQuantum => write!(
                f,
                "not an age X25519 recipient: age1pq1… is a post-quantum hybrid recipient, \
                 which is not supported; give {X25519}"
            ),
            RecipientError::Plugin(name) => write!(
                f,
                "not an age X25519 recipient: age1{name}1… is a recipient of the age plugin \
                 age-plugin-{name}, which is not supported; give {X25519}"
            ),
            RecipientError::Ssh(kind) => write!(
                f,
                "not an age X25519 recipient: this is an SSH public key ({kind}), which is \
                 not supported; give {X25519}"
            ),
            RecipientError::Pem => write!(
                f,
                "not an age X25519 recipient: this is a PEM block or an SSH private key, not \
                 shown here; give {X25519}"
            ),
            RecipientError::Pgp => write!(
                f,
                "not an age X25519 recipient: this looks like a PGP key fingerprint; give {X25519}"
            ),
            RecipientError::NotAge => write!(f, "not an age X25519 recipient: give {X25519}"),
        }
    }
}

impl std::error::Error for RecipientError {}

/// Recognises the other kinds of key people paste where an age recipient belongs.
fn foreign_key(s: &str) -> Option<RecipientError> {
    let t = s.trim();
    let upper = t.to_ascii_uppercase();
    if upper.starts_with("AGE-SECRET-KEY-") {
        return Some(RecipientError::SecretKey);
    }
    if upper.starts_with("AGE-PLUGIN-") {
        return Some(RecipientError::PluginIdentity);
    }
    if t.starts_with("-----BEGIN") {
        return Some(RecipientError::Pem);
    }
    for kind in [
        "ssh-ed25519",
        "ssh-rsa",
        "ssh-dss",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    ] {
        if t.split_ascii_whitespace().next() == Some(kind) {
            return Some(RecipientError::Ssh(kind));
        }
    }
    let hex: String = t
        .strip_prefix("0x")
        .unwrap_or(t)
        .chars()
        .filter(|c| *c != ' ')
        .collect();
    if matches!(hex.len(), 16 | 40 | 64) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(RecipientError::Pgp);
    }
    None
}

/// An age plugin name as plugin recipients carry it (`age1<name>1…`).
fn is_plugin_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The 32 bytes of a bech32 key string whose human-readable part is `hrp` (compared
/// case-insensitively: the caller has checked the case), with age's strictness: valid
/// checksum (bech32, not bech32m), exactly 32 bytes, zero padding bits.
fn decode_key(s: &str, hrp: &str) -> Result<[u8; 32], &'static str> {
    let checked = CheckedHrpstring::new::<Bech32>(s).map_err(|_| "not bech32 or bad checksum")?;
    if !checked.hrp().as_str().eq_ignore_ascii_case(hrp) {
        return Err("unexpected bech32 type");
    }
    let data = checked.data_part_ascii_no_checksum();
    if data.len() != KEY_CHARS {
        return Err("wrong length (not a 32-byte key)");
    }
    // 52 groups of 5 bits hold 256 bits and 4 padding bits, which must be zero.
    let last = data
        .last()
        .and_then(|c| Fe32::from_char(char::from(*c)).ok())
        .ok_or("not bech32")?;
    if last.to_u8() & 0x0f != 0 {
        return Err("non-zero padding");
    }
    let mut key = [0u8; 32];
    let mut n = 0;
    for (slot, byte) in key.iter_mut().zip(checked.byte_iter()) {
        *slot = byte;
        n += 1;
    }
    if n != 32 {
        key.zeroize();
        return Err("wrong length (not a 32-byte key)");
    }
    Ok(key)
}

/// An age X25519 identity (`AGE-SECRET-KEY-1…`): who decrypts. Its `Debug` shows only the
/// public recipient.
#[derive(Clone)]
pub struct Identity {
    secret: StaticSecret,
    recipient: Recipient,
}

impl Identity {
    /// Parses every identity in the text of an age identity file (as `age-keygen` writes it):
    /// one `AGE-SECRET-KEY-1…` per line; lines starting with `#` and empty lines are skipped.
    /// Like age, it refuses a line it does not understand, and a file with no identity.
    pub fn parse_file(text: &str) -> Result<Vec<Identity>, IdentityError> {
        let mut identities = Vec::new();
        for (i, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = |why| IdentityError::Line { line: i + 1, why };
            identities.push(Identity::parse(line).map_err(at)?);
        }
        if identities.is_empty() {
            return Err(IdentityError::Empty);
        }
        Ok(identities)
    }

    /// Parses one `AGE-SECRET-KEY-1…` line (uppercase, as age requires).
    fn parse(line: &str) -> Result<Identity, &'static str> {
        if line.starts_with("AGE-SECRET-KEY-PQ-1") {
            return Err("a post-quantum hybrid identity, which is not supported");
        }
        if line.starts_with("AGE-PLUGIN-") {
            return Err("an age plugin identity, which is not supported");
        }
        if !line.starts_with("AGE-SECRET-KEY-1") {
            return Err("not an age X25519 identity (AGE-SECRET-KEY-1…)");
        }
        if line.bytes().any(|b| b.is_ascii_lowercase()) {
            return Err("malformed age identity: not all uppercase");
        }
        let lower = Zeroizing::new(line.to_ascii_lowercase());
        let mut scalar = decode_key(&lower, "age-secret-key-")
            .map_err(|_| "malformed age identity (bad checksum or length)")?;
        let secret = StaticSecret::from(scalar);
        scalar.zeroize();
        let public = PublicKey::from(&secret).to_bytes();
        let hrp = Hrp::parse_unchecked("age");
        let text = bech32::encode_lower::<Bech32>(hrp, &public)
            .map_err(|_| "cannot encode its recipient")?;
        Ok(Identity {
            secret,
            recipient: Recipient { text, key: public },
        })
    }

    /// The recipient that encrypts to this identity.
    pub fn recipient(&self) -> &Recipient {
        &self.recipient
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity(secret key of {})", self.recipient.text)
    }
}

/// Why an identity file cannot be used. No message contains any of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityError {
    /// The 1-based line that is not an age X25519 identity, and why.
    Line { line: usize, why: &'static str },
    /// No identity at all (only comments and blank lines).
    Empty,
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityError::Line { line, why } => write!(f, "identity file line {line}: {why}"),
            IdentityError::Empty => write!(f, "the identity file holds no age identity"),
        }
    }
}

impl std::error::Error for IdentityError {}

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
    let r = recipient.text.as_bytes();
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
