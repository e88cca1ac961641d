//! age X25519 recipients (`age1…`) and identities (`AGE-SECRET-KEY-1…`): parsed with age's
//! own strictness, every other kind of key named, secrets never echoed or printed.

use std::fmt;

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Fe32, Hrp};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

/// The bech32 data characters of 32 bytes (256 bits in 5-bit groups, zero-padded).
const KEY_CHARS: usize = 52;

/// A parsed age X25519 recipient (`age1…`, bech32): who can decrypt.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Recipient {
    /// The canonical (lowercase) bech32 text, exactly as given.
    text: String,
    /// The X25519 public key.
    pub(super) key: [u8; 32],
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
    pub(super) secret: StaticSecret,
    pub(super) recipient: Recipient,
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
