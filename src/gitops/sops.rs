//! SOPS 3 YAML files with age recipients, written deterministically and read back as `sops`
//! reads them (getsops/sops v3.13.3: `sops.go`, `aes/cipher.go`, `stores/`).
//!
//! The format, as this module writes it:
//! - the document's keys and structure stay in the clear; each scalar *value* whose key path
//!   has a key matching `encrypted_regex` becomes
//!   `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<str|int|bool>]`: AES-256-GCM under
//!   the data key with a 32-byte IV, the additional data being the path's keys each followed
//!   by `:` (`data:token-id:`). Empty strings and nulls stay as they are, as in sops.
//! - the MAC is SHA-512 over every non-null value of the document in order (strings as
//!   their bytes, integers in decimal, booleans as `True`/`False`, encrypted or not), in
//!   uppercase hex, itself encrypted like a string value whose additional data is
//!   `lastmodified`.
//! - a last top-level key `sops` holds, in sops's (sorted) order: `age` (one `{enc,
//!   recipient}` per recipient, `enc` an armored age file whose plaintext is the 32-byte data
//!   key), `encrypted_regex`, `lastmodified`, `mac` and `version`.
//!
//! Determinism: the data key, every IV and every age encryption are derived from the file
//! key (module `gitops`; `docs/derivation.md` §9), never drawn. The data key depends on the
//! file key alone, so adding a recipient adds an `age` entry and changes nothing else.

use std::fmt;

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::AesGcm;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha512};
use zeroize::{Zeroize, Zeroizing};

use super::age::{self, AgeError, EncryptionSeed, Identity, Recipient, RecipientError};
use super::yaml;
use super::{emit, labels};

pub use super::yaml::{Value, YamlError};

/// The sops release whose format this module writes and is tested against (the `version`
/// it records; sops reads files of any 3.x version).
pub const SOPS_VERSION: &str = "3.13.3";

/// AES-256-GCM with SOPS's 32-byte IVs (Go's `cipher.NewGCMWithNonceSize(block, 32)`).
type Aes256Gcm32 = AesGcm<Aes256, U32>;

/// The longest key go-yaml writes as a simple `key:` (longer ones become `? key`).
const MAX_KEY_BYTES: usize = 128;

/// A SOPS file's metadata and clear-text tree, read without decrypting anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SopsMetadata {
    /// The `sops.age` entries in file order.
    pub age: Vec<AgeEntry>,
    /// `sops.lastmodified` (RFC 3339, UTC).
    pub lastmodified: String,
    /// `sops.mac`: the encrypted MAC (`ENC[…]`).
    pub mac: String,
    /// `sops.encrypted_regex`.
    pub encrypted_regex: String,
    /// `sops.version`.
    pub version: String,
    /// The document without `sops`, encrypted values as their `ENC[…]` text.
    pub tree: Vec<(String, Value)>,
}

/// One recipient of a SOPS file: the data key encrypted to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeEntry {
    pub recipient: Recipient,
    /// An ASCII-armored age file.
    pub enc: String,
}

impl SopsMetadata {
    /// The recipients, in file order.
    pub fn recipients(&self) -> impl Iterator<Item = &Recipient> {
        self.age.iter().map(|e| &e.recipient)
    }
}

/// Why a SOPS file cannot be written or read. Messages name key paths, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SopsError {
    /// The YAML is not readable, or not the kind this module handles exactly.
    Yaml(YamlError),
    /// A document feature sops would write or read differently from this module.
    Unsupported { path: String, what: &'static str },
    /// `encrypt_yaml` without recipients.
    NoRecipients,
    /// The same recipient twice.
    DuplicateRecipient(String),
    /// `lastmodified` is not RFC 3339 UTC with whole seconds (`2026-11-25T00:00:00Z`).
    LastModified(String),
    /// `encrypted_regex` is not a choice of whole key names, `^(name|name)$`.
    Regex(String),
    /// The `sops` metadata is missing, malformed or not what this module writes.
    Metadata(String),
    /// An `ENC[…]` value is malformed.
    BadValue { path: String },
    /// An encrypted value does not authenticate under the data key.
    Decrypt { path: String },
    /// No identity decrypts any `sops.age` entry.
    NoIdentityMatched,
    /// An `age` entry the identity matched does not decrypt.
    Age(AgeError),
    /// The MAC over the decrypted values differs from the file's: it was changed.
    MacMismatch,
}

impl fmt::Display for SopsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SopsError::Yaml(e) => e.fmt(f),
            SopsError::Unsupported { path, what } => write!(f, "at {path}: {what}"),
            SopsError::NoRecipients => write!(f, "no age recipient to encrypt to"),
            SopsError::DuplicateRecipient(r) => write!(f, "the age recipient {r} is listed twice"),
            SopsError::LastModified(t) => write!(
                f,
                "lastmodified {t:?} is not an RFC 3339 UTC time with whole seconds \
                 (like 2026-11-25T00:00:00Z)"
            ),
            SopsError::Regex(why) => write!(f, "encrypted_regex: {why}"),
            SopsError::Metadata(why) => write!(f, "sops metadata: {why}"),
            SopsError::BadValue { path } => write!(f, "at {path}: malformed ENC[…] value"),
            SopsError::Decrypt { path } => write!(
                f,
                "at {path}: the value does not decrypt (wrong data key, or the file was changed)"
            ),
            SopsError::NoIdentityMatched => write!(
                f,
                "none of the age identities decrypts the data key (the file is encrypted to \
                 other recipients)"
            ),
            SopsError::Age(e) => write!(f, "the data key does not decrypt: {e}"),
            SopsError::MacMismatch => write!(
                f,
                "MAC mismatch: the file's values were changed after it was encrypted"
            ),
        }
    }
}

impl std::error::Error for SopsError {}

impl From<YamlError> for SopsError {
    fn from(e: YamlError) -> SopsError {
        SopsError::Yaml(e)
    }
}

/// The plaintext tree: zeroized on drop, never printed.
struct Plain(Vec<(String, Value)>);

impl Drop for Plain {
    fn drop(&mut self) {
        for (k, v) in self.0.iter_mut() {
            k.zeroize();
            v.zeroize();
        }
    }
}

impl fmt::Debug for Plain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Plain(<redacted>)")
    }
}

/// The keys derived from a file key for one SOPS file.
struct FileKeys {
    data_key: Zeroizing<[u8; 32]>,
    iv_key: Zeroizing<[u8; 32]>,
}

impl FileKeys {
    fn new(file_key: &[u8; 32]) -> FileKeys {
        FileKeys {
            data_key: super::subkey(file_key, labels::SOPS_DATA_KEY),
            iv_key: super::subkey(file_key, labels::SOPS_IV),
        }
    }

    /// The synthetic IV of one value: a function of everything AES-GCM takes besides the
    /// key, so two different values (or one value at two paths) never share an IV.
    fn iv(&self, additional_data: &str, kind: &str, plaintext: &[u8]) -> [u8; 32] {
        *super::prf_tuple(
            &self.iv_key,
            &[additional_data.as_bytes(), kind.as_bytes(), plaintext],
        )
    }

    /// `ENC[AES256_GCM,…]` of one value, as sops's `aes.Cipher.Encrypt` writes it.
    fn encrypt_value(&self, additional_data: &str, kind: &str, plaintext: &[u8]) -> String {
        let iv = self.iv(additional_data, kind, plaintext);
        let cipher = Aes256Gcm32::new(&(*self.data_key).into());
        // AES-GCM refuses only plaintexts over 64 GiB.
        let sealed = cipher
            .encrypt(
                &iv.into(),
                Payload {
                    msg: plaintext,
                    aad: additional_data.as_bytes(),
                },
            )
            .unwrap_or_default();
        let (data, tag) = sealed.split_at(sealed.len().saturating_sub(16));
        format!(
            "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
            STANDARD.encode(data),
            STANDARD.encode(iv),
            STANDARD.encode(tag)
        )
    }
}

/// Encrypts a YAML document (a Kubernetes Secret manifest) as a SOPS file for `recipients`.
///
/// `file_key` is the per-file secret everything is derived from; `lastmodified` is recorded
/// and authenticates the MAC (RFC 3339 UTC, e.g. `2026-11-25T00:00:00Z`); values under keys
/// matching `encrypted_regex` (e.g. `^(data|stringData)$`) are encrypted. The result is the
/// same bytes for the same inputs.
pub fn encrypt_yaml(
    plaintext_yaml: &str,
    file_key: &[u8; 32],
    recipients: &[Recipient],
    lastmodified: &str,
    encrypted_regex: &str,
) -> Result<String, SopsError> {
    check_lastmodified(lastmodified)?;
    let regex = compile(encrypted_regex)?;
    if recipients.is_empty() {
        return Err(SopsError::NoRecipients);
    }
    for (i, r) in recipients.iter().enumerate() {
        if recipients[..i].contains(r) {
            return Err(SopsError::DuplicateRecipient(r.to_string()));
        }
    }
    let plain = Plain(yaml::parse(plaintext_yaml)?);
    check_tree(&plain.0)?;

    let keys = FileKeys::new(file_key);
    let mut walk = Walk {
        regex: &regex,
        mac: Sha512::new(),
        path: Vec::new(),
    };
    let mut items = Vec::with_capacity(plain.0.len() + 1);
    for (key, value) in &plain.0 {
        walk.path.push(key.clone());
        let encrypted = walk.encrypt(value, &keys);
        walk.path.pop();
        items.push((key.clone(), encrypted));
    }
    let mac = hex_upper(&walk.mac.finalize());
    let mac = keys.encrypt_value(lastmodified, "str", mac.as_bytes());

    let seed = EncryptionSeed::new(*file_key);
    let age = recipients
        .iter()
        .map(|r| {
            let enc = age::encrypt_armored(&keys.data_key[..], r, &seed);
            Value::Map(vec![
                ("enc".into(), Value::Str(enc)),
                ("recipient".into(), Value::Str(r.as_str().into())),
            ])
        })
        .collect();
    let str = |s: &str| Value::Str(s.to_string());
    items.push((
        "sops".into(),
        Value::Map(vec![
            ("age".into(), Value::Seq(age)),
            ("encrypted_regex".into(), str(encrypted_regex)),
            ("lastmodified".into(), str(lastmodified)),
            ("mac".into(), Value::Str(mac)),
            ("version".into(), str(SOPS_VERSION)),
        ]),
    ));
    Ok(emit::document(&items))
}

/// Decrypts a SOPS file with age identities and checks its MAC as `sops -d` does. Returns
/// the plaintext document as `sops -d` prints it (sops's YAML layout, 4-space indentation).
pub fn decrypt_yaml(
    encrypted_yaml: &str,
    identities: &[Identity],
) -> Result<Zeroizing<String>, SopsError> {
    let meta = metadata(encrypted_yaml)?;
    let regex = compile(&meta.encrypted_regex)?;
    let data_key = data_key(&meta, identities)?;
    let keys = Decryptor {
        data_key: &data_key,
    };
    let mut walk = Walk {
        regex: &regex,
        mac: Sha512::new(),
        path: Vec::new(),
    };
    let mut plain = Plain(Vec::with_capacity(meta.tree.len()));
    for (key, value) in &meta.tree {
        walk.path.push(key.clone());
        let decrypted = walk.decrypt(value, &keys)?;
        walk.path.pop();
        plain.0.push((key.clone(), decrypted));
    }
    let computed = hex_upper(&walk.mac.finalize());
    let recorded = keys.decrypt_value("sops.mac", &meta.mac, &meta.lastmodified)?;
    if recorded != Value::Str(computed) {
        return Err(SopsError::MacMismatch);
    }
    Ok(Zeroizing::new(emit::document(&plain.0)))
}

/// Reads a SOPS file's metadata and its clear-text tree without decrypting anything, and
/// checks that it is a file of the kind [`encrypt_yaml`] writes (age recipients only,
/// `encrypted_regex`, every value in an encrypted position an `ENC[…]` value).
pub fn metadata(encrypted_yaml: &str) -> Result<SopsMetadata, SopsError> {
    let mut tree = yaml::parse(encrypted_yaml)?;
    let at = tree
        .iter()
        .position(|(k, _)| k == "sops")
        .ok_or_else(|| SopsError::Metadata("no top-level `sops` key: not a SOPS file".into()))?;
    let (_, sops) = tree.remove(at);
    let Value::Map(fields) = sops else {
        return Err(SopsError::Metadata("`sops` is not a mapping".into()));
    };
    let mut age = None;
    let (mut lastmodified, mut mac, mut regex, mut version) = (None, None, None, None);
    for (key, value) in fields {
        let text = |v: Value| match v {
            Value::Str(s) => Ok(s),
            _ => Err(SopsError::Metadata(format!("`sops.{key}` is not a string"))),
        };
        match key.as_str() {
            "age" => age = Some(age_entries(value)?),
            "lastmodified" => lastmodified = Some(text(value)?),
            "mac" => mac = Some(text(value)?),
            "encrypted_regex" => regex = Some(text(value)?),
            "version" => version = Some(text(value)?),
            other => {
                return Err(SopsError::Metadata(format!(
                    "`sops.{other}` is not supported (only age recipients and \
                     encrypted_regex are)"
                )))
            }
        }
    }
    let missing = |k: &str| SopsError::Metadata(format!("`sops.{k}` is missing"));
    let meta = SopsMetadata {
        age: age.ok_or_else(|| missing("age"))?,
        lastmodified: lastmodified.ok_or_else(|| missing("lastmodified"))?,
        mac: mac.ok_or_else(|| missing("mac"))?,
        encrypted_regex: regex.ok_or_else(|| missing("encrypted_regex"))?,
        version: version.ok_or_else(|| missing("version"))?,
        tree,
    };
    check_lastmodified(&meta.lastmodified)?;
    if meta.age.is_empty() {
        return Err(SopsError::Metadata("`sops.age` lists no recipient".into()));
    }
    parse_enc(&meta.mac).ok_or_else(|| SopsError::BadValue {
        path: "sops.mac".into(),
    })?;
    let regex = compile(&meta.encrypted_regex)?;
    check_tree(&meta.tree)?;
    let mut walk = Walk {
        regex: &regex,
        mac: Sha512::new(),
        path: Vec::new(),
    };
    for (key, value) in &meta.tree {
        walk.path.push(key.clone());
        walk.check_encrypted(value)?;
        walk.path.pop();
    }
    Ok(meta)
}

fn age_entries(value: Value) -> Result<Vec<AgeEntry>, SopsError> {
    let Value::Seq(items) = value else {
        return Err(SopsError::Metadata("`sops.age` is not a list".into()));
    };
    let bad = || SopsError::Metadata("a `sops.age` entry is not {recipient, enc}".into());
    items
        .into_iter()
        .map(|item| {
            let Value::Map(fields) = item else {
                return Err(bad());
            };
            let (mut recipient, mut enc) = (None, None);
            for (k, v) in fields {
                match (k.as_str(), v) {
                    ("recipient", Value::Str(s)) if recipient.is_none() => recipient = Some(s),
                    ("enc", Value::Str(s)) if enc.is_none() => enc = Some(s),
                    _ => return Err(bad()),
                }
            }
            let (Some(recipient), Some(enc)) = (recipient, enc) else {
                return Err(bad());
            };
            let recipient = Recipient::parse(&recipient).map_err(|e: RecipientError| {
                SopsError::Metadata(format!("a `sops.age` recipient: {e}"))
            })?;
            Ok(AgeEntry { recipient, enc })
        })
        .collect()
}

/// The data key from the first `sops.age` entry an identity decrypts.
fn data_key(
    meta: &SopsMetadata,
    identities: &[Identity],
) -> Result<Zeroizing<[u8; 32]>, SopsError> {
    let mut failure = None;
    for entry in &meta.age {
        match age::decrypt_armored(&entry.enc, identities) {
            Ok(key) => {
                let mut data_key = Zeroizing::new([0u8; 32]);
                if key.len() != 32 {
                    return Err(SopsError::Metadata(
                        "an age entry does not hold a 32-byte data key".into(),
                    ));
                }
                data_key.copy_from_slice(&key);
                return Ok(data_key);
            }
            Err(AgeError::NoMatch) => {}
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    Err(failure.map_or(SopsError::NoIdentityMatched, SopsError::Age))
}

fn check_lastmodified(t: &str) -> Result<(), SopsError> {
    use time::format_description::well_known::Rfc3339;
    let parsed = time::OffsetDateTime::parse(t, &Rfc3339)
        .map_err(|_| SopsError::LastModified(t.to_string()))?;
    // sops authenticates the MAC with lastmodified as Go's time.RFC3339 prints it: UTC with
    // `Z` and whole seconds. Any other spelling would not decrypt in sops.
    if crate::rfc3339::format(parsed) != t || parsed.nanosecond() != 0 {
        return Err(SopsError::LastModified(t.to_string()));
    }
    Ok(())
}

/// The key names an `encrypted_regex` of the form `^(name|name|…)$` matches, whole.
/// kubeseed writes only that form (a choice of literal key names), on which Go's regexp
/// and this reading agree without a regex engine; any other pattern is refused.
struct Encrypted(Vec<String>);

impl Encrypted {
    fn is_match(&self, key: &str) -> bool {
        self.0.iter().any(|name| name == key)
    }
}

fn compile(pattern: &str) -> Result<Encrypted, SopsError> {
    let literal = |name: &&str| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    pattern
        .strip_prefix("^(")
        .and_then(|p| p.strip_suffix(")$"))
        .map(|inner| inner.split('|').collect::<Vec<_>>())
        .filter(|names| names.iter().all(literal))
        .map(|names| Encrypted(names.into_iter().map(str::to_string).collect()))
        .ok_or_else(|| {
            SopsError::Regex(format!(
                "{pattern:?} is not of the form ^(name|name)$ (whole key names of letters, \
                 digits, - and _), the only form kubeseed reads and writes"
            ))
        })
}

/// Refuses trees `emit` would not write as go-yaml does: a top-level `sops` key, keys go-yaml
/// would write as complex keys, and sequences directly inside sequences.
fn check_tree(items: &[(String, Value)]) -> Result<(), SopsError> {
    if items.iter().any(|(k, _)| k == "sops") {
        return Err(SopsError::Unsupported {
            path: "sops".into(),
            what: "a top-level key `sops` is reserved for SOPS metadata",
        });
    }
    check_map(items, "")
}

fn check_map(items: &[(String, Value)], path: &str) -> Result<(), SopsError> {
    for (k, v) in items {
        let path = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        if k.len() > MAX_KEY_BYTES || k.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']) {
            return Err(SopsError::Unsupported {
                path,
                what: "a key longer than 128 bytes or with a line break",
            });
        }
        check_value(v, &path, false)?;
    }
    Ok(())
}

fn check_value(value: &Value, path: &str, in_seq: bool) -> Result<(), SopsError> {
    match value {
        Value::Map(items) => check_map(items, path),
        Value::Seq(_) if in_seq => Err(SopsError::Unsupported {
            path: path.to_string(),
            what: "a sequence directly inside a sequence",
        }),
        Value::Seq(items) => items.iter().try_for_each(|v| check_value(v, path, true)),
        _ => Ok(()),
    }
}

/// sops's additional data for a value: each key of its path followed by `:`.
fn additional_data(path: &[String]) -> String {
    let mut ad = String::new();
    for key in path {
        ad.push_str(key);
        ad.push(':');
    }
    ad
}

fn hex_upper(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// A value's sops type and MAC bytes (sops's `ToBytes`): `None` for null, which sops
/// neither encrypts nor hashes.
fn leaf_bytes(value: &Value) -> Option<(&'static str, Zeroizing<Vec<u8>>)> {
    match value {
        Value::Str(s) => Some(("str", Zeroizing::new(s.as_bytes().to_vec()))),
        Value::Int(i) => Some(("int", Zeroizing::new(i.to_string().into_bytes()))),
        Value::Bool(b) => Some((
            "bool",
            Zeroizing::new(if *b {
                b"True".to_vec()
            } else {
                b"False".to_vec()
            }),
        )),
        Value::Null | Value::Map(_) | Value::Seq(_) => None,
    }
}

/// sops's tree walk: every leaf in document order, with the keys of its path.
struct Walk<'r> {
    regex: &'r Encrypted,
    mac: Sha512,
    path: Vec<String>,
}

impl Walk<'_> {
    fn encrypted(&self) -> bool {
        self.path.iter().any(|k| self.regex.is_match(k))
    }

    fn path_text(&self) -> String {
        self.path.join(".")
    }

    /// The encrypted copy of `value`, hashing every leaf into the MAC.
    fn encrypt(&mut self, value: &Value, keys: &FileKeys) -> Value {
        match value {
            Value::Map(items) => Value::Map(
                items
                    .iter()
                    .map(|(k, v)| {
                        self.path.push(k.clone());
                        let e = self.encrypt(v, keys);
                        self.path.pop();
                        (k.clone(), e)
                    })
                    .collect(),
            ),
            Value::Seq(items) => Value::Seq(items.iter().map(|v| self.encrypt(v, keys)).collect()),
            leaf => {
                let Some((kind, bytes)) = leaf_bytes(leaf) else {
                    return Value::Null;
                };
                self.mac.update(&bytes[..]);
                // sops leaves empty strings as they are, encrypted position or not.
                if !self.encrypted() || (kind == "str" && bytes.is_empty()) {
                    return leaf.clone();
                }
                Value::Str(keys.encrypt_value(&additional_data(&self.path), kind, &bytes))
            }
        }
    }

    /// The decrypted copy of `value`, hashing every decrypted leaf into the MAC.
    fn decrypt(&mut self, value: &Value, keys: &Decryptor<'_>) -> Result<Value, SopsError> {
        match value {
            Value::Map(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (k, v) in items {
                    self.path.push(k.clone());
                    let d = self.decrypt(v, keys);
                    self.path.pop();
                    out.push((k.clone(), d?));
                }
                Ok(Value::Map(out))
            }
            Value::Seq(items) => items
                .iter()
                .map(|v| self.decrypt(v, keys))
                .collect::<Result<_, _>>()
                .map(Value::Seq),
            Value::Null => Ok(Value::Null),
            leaf => {
                let plain = match leaf {
                    Value::Str(s) if self.encrypted() && !s.is_empty() => {
                        keys.decrypt_value(&self.path_text(), s, &additional_data(&self.path))?
                    }
                    Value::Str(_) => leaf.clone(),
                    _ if self.encrypted() => {
                        return Err(SopsError::BadValue {
                            path: self.path_text(),
                        })
                    }
                    _ => leaf.clone(),
                };
                if let Some((_, bytes)) = leaf_bytes(&plain) {
                    self.mac.update(&bytes[..]);
                }
                Ok(plain)
            }
        }
    }

    /// Checks that every non-empty leaf in an encrypted position is an `ENC[…]` value.
    fn check_encrypted(&mut self, value: &Value) -> Result<(), SopsError> {
        match value {
            Value::Map(items) => {
                for (k, v) in items {
                    self.path.push(k.clone());
                    let r = self.check_encrypted(v);
                    self.path.pop();
                    r?;
                }
                Ok(())
            }
            Value::Seq(items) => items.iter().try_for_each(|v| self.check_encrypted(v)),
            Value::Null => Ok(()),
            Value::Str(s) if s.is_empty() || !self.encrypted() => Ok(()),
            Value::Str(s) if parse_enc(s).is_some() => Ok(()),
            _ if !self.encrypted() => Ok(()),
            _ => Err(SopsError::BadValue {
                path: self.path_text(),
            }),
        }
    }
}

/// The parts of an `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value.
struct Enc {
    data: Vec<u8>,
    iv: [u8; 32],
    tag: [u8; 16],
    kind: String,
}

fn parse_enc(s: &str) -> Option<Enc> {
    let body = s.strip_prefix("ENC[AES256_GCM,data:")?.strip_suffix(']')?;
    let (data, rest) = body.split_once(",iv:")?;
    let (iv, rest) = rest.split_once(",tag:")?;
    let (tag, kind) = rest.split_once(",type:")?;
    Some(Enc {
        data: STANDARD.decode(data).ok()?,
        iv: STANDARD.decode(iv).ok()?.try_into().ok()?,
        tag: STANDARD.decode(tag).ok()?.try_into().ok()?,
        kind: kind.to_string(),
    })
}

struct Decryptor<'k> {
    data_key: &'k [u8; 32],
}

impl Decryptor<'_> {
    /// One `ENC[…]` value, typed as sops's `aes.Cipher.Decrypt` types it.
    fn decrypt_value(
        &self,
        path: &str,
        enc: &str,
        additional_data: &str,
    ) -> Result<Value, SopsError> {
        let bad = || SopsError::BadValue {
            path: path.to_string(),
        };
        let enc = parse_enc(enc).ok_or_else(bad)?;
        let cipher = Aes256Gcm32::new(&(*self.data_key).into());
        let mut sealed = Zeroizing::new(enc.data);
        sealed.extend_from_slice(&enc.tag);
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    &enc.iv.into(),
                    Payload {
                        msg: &sealed,
                        aad: additional_data.as_bytes(),
                    },
                )
                .map_err(|_| SopsError::Decrypt {
                    path: path.to_string(),
                })?,
        );
        let text = Zeroizing::new(String::from_utf8(plain.to_vec()).map_err(|_| bad())?);
        match enc.kind.as_str() {
            "str" => Ok(Value::Str(text.to_string())),
            // Go's strconv.Atoi and strconv.ParseBool.
            "int" => text.parse::<i64>().map(Value::Int).map_err(|_| bad()),
            "bool" => match text.as_str() {
                "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(Value::Bool(true)),
                "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(Value::Bool(false)),
                _ => Err(bad()),
            },
            _ => Err(SopsError::Unsupported {
                path: path.to_string(),
                what: "an encrypted value of a type other than str, int or bool",
            }),
        }
    }
}

#[cfg(test)]
mod tests;
