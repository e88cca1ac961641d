//! Private keys: the supported algorithms, [`PrivateKey`] derived from a
//! per-asset seed (through [`crate::derive::detkeygen`]) or read from a user's PEM
//! file, its PEM and DER encodings in the formats kubeadm writes, and the
//! deterministic signer rcgen issues certificates with.
//!
//! Formats (LF line endings, 64-column base64, a trailing newline):
//! RSA private keys are PKCS#1 `RSA PRIVATE KEY`; ECDSA private keys are SEC1
//! `EC PRIVATE KEY` with the namedCurve OID and the public point; public keys
//! are PKIX `PUBLIC KEY` (kubeadm's `sa.pub`). Signatures are RFC 6979
//! deterministic ECDSA (SHA-256 on P-256, SHA-384 on P-384) or PKCS#1 v1.5
//! with SHA-256 for every RSA size, so the same key and message always give
//! the same bytes.

use std::fmt;

use p256::pkcs8::der::pem::{self, LineEnding};
use p256::pkcs8::der::SecretDocument;
use p256::pkcs8::{
    AssociatedOid, DecodePrivateKey, EncodePublicKey, ObjectIdentifier, PrivateKeyInfo,
};
// rsa 0.10 speaks its own pkcs8 0.11 / der 0.8 (p256 0.13 speaks pkcs8 0.10 / der 0.7):
// its encoders are used by name through `rsa::`, and keys cross between the two only
// as DER or PEM bytes.
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BoxedUint, PrivateKey as RsaPrivateKey};
use zeroize::{Zeroize, Zeroizing};

use crate::derive::detkeygen::{self, DetKeygenError};

/// The key algorithm of every generated key (`pki.algorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    EcdsaP256,
    EcdsaP384,
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

crate::names::spec_names!(Algorithm {
    EcdsaP256 => "ecdsa-p256",
    EcdsaP384 => "ecdsa-p384",
    Rsa2048 => "rsa-2048",
    Rsa3072 => "rsa-3072",
    Rsa4096 => "rsa-4096",
});

impl Algorithm {
    /// The RSA modulus size, or `None` for ECDSA.
    pub fn rsa_bits(self) -> Option<usize> {
        match self {
            Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => None,
            Algorithm::Rsa2048 => Some(2048),
            Algorithm::Rsa3072 => Some(3072),
            Algorithm::Rsa4096 => Some(4096),
        }
    }

    fn from_rsa_bits(bits: usize) -> Option<Algorithm> {
        Self::ALL
            .iter()
            .map(|(a, _)| *a)
            .find(|a| a.rsa_bits() == Some(bits))
    }
}

/// Why a key could not be derived, read or encoded. Messages name the
/// problem and, where there is one, the fix; they never contain key
/// material (only PEM labels, OIDs, sizes and parser diagnostics).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// Deterministic generation failed (see [`DetKeygenError`]).
    Derive {
        algorithm: &'static str,
        source: DetKeygenError,
    },
    /// The text holds no PEM block at all.
    NoPem,
    /// The PEM blocks present are not private keys (e.g. a certificate).
    NotAPrivateKey { label: String },
    /// The key is password-protected.
    Encrypted,
    /// A private-key PEM type kubeseed does not read (e.g. OpenSSH's).
    UnsupportedFormat { label: String },
    /// A key algorithm other than RSA or ECDSA (e.g. Ed25519).
    UnsupportedKeyType { what: String },
    /// An ECDSA key on a curve other than P-256 or P-384.
    UnsupportedCurve { curve: String },
    /// An RSA key that is not 2048, 3072 or 4096 bits.
    UnsupportedRsaSize { bits: usize },
    /// The PEM or DER structure is broken or the key is inconsistent.
    Malformed {
        format: &'static str,
        reason: String,
    },
    /// Encoding a valid key failed (should not happen; kept as an error
    /// rather than a panic).
    Encoding { what: &'static str, reason: String },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Derive { algorithm, source } => {
                write!(f, "deriving the {algorithm} key failed: {source}")
            }
            KeyError::NoPem => write!(
                f,
                "no PEM block found; expected a private key starting with \
                 \"-----BEGIN ... PRIVATE KEY-----\""
            ),
            KeyError::NotAPrivateKey { label } => write!(
                f,
                "found a PEM \"{label}\" but no private key; expected \"RSA PRIVATE KEY\", \
                 \"EC PRIVATE KEY\" or \"PRIVATE KEY\""
            ),
            KeyError::Encrypted => write!(
                f,
                "the private key is encrypted; kubeseed needs it unencrypted \
                 (e.g. `openssl pkey -in KEY -out PLAIN-KEY`, then keep PLAIN-KEY at mode 0600)"
            ),
            KeyError::UnsupportedFormat { label } => write!(
                f,
                "\"{label}\" keys are not supported; convert the key to PKCS#8 \
                 (`openssl pkey -in KEY -out NEW-KEY`)"
            ),
            KeyError::UnsupportedKeyType { what } => write!(
                f,
                "{what} keys are not supported; use an RSA (2048, 3072 or 4096 bits) \
                 or ECDSA P-256/P-384 key"
            ),
            KeyError::UnsupportedCurve { curve } => write!(
                f,
                "ECDSA curve {curve} is not supported; use P-256 or P-384"
            ),
            KeyError::UnsupportedRsaSize { bits } => write!(
                f,
                "{bits}-bit RSA keys are not supported; use 2048, 3072 or 4096 bits"
            ),
            KeyError::Malformed { format, reason } => {
                write!(f, "malformed {format} private key: {reason}")
            }
            KeyError::Encoding { what, reason } => write!(f, "encoding {what} failed: {reason}"),
        }
    }
}

impl std::error::Error for KeyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KeyError::Derive { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn malformed(format: &'static str) -> impl Fn(&dyn fmt::Display) -> KeyError {
    move |reason| KeyError::Malformed {
        format,
        reason: reason.to_string(),
    }
}

fn encoding(what: &'static str) -> impl Fn(&dyn fmt::Display) -> KeyError {
    move |reason| KeyError::Encoding {
        what,
        reason: reason.to_string(),
    }
}

enum Secret {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    Rsa(Box<RsaPrivateKey>),
}

/// A private key of one of the [`Algorithm`]s. Everything derived from it
/// (PEM, public key) is computed once at construction, so the accessors
/// cannot fail. `Debug` shows only the algorithm.
pub struct PrivateKey {
    algorithm: Algorithm,
    secret: Secret,
    /// What rcgen puts in the SubjectPublicKeyInfo bit string: the
    /// uncompressed SEC1 point, or the PKCS#1 `RSAPublicKey` DER.
    public_key_bits: Vec<u8>,
    spki_der: Vec<u8>,
    public_pem: String,
    private_pem: Zeroizing<String>,
}

const EC_LABEL: &str = "EC PRIVATE KEY";

/// SEC1 `ECPrivateKey` with the namedCurve OID, which elliptic-curve 0.13's
/// own `to_sec1_der` leaves out and Go's `x509.ParseECPrivateKey` (used by
/// kubeadm and the control plane) requires.
fn sec1_pem(
    scalar: &[u8],
    curve: ObjectIdentifier,
    point: &[u8],
) -> Result<Zeroizing<String>, KeyError> {
    let key = sec1::EcPrivateKey {
        private_key: scalar,
        parameters: Some(sec1::EcParameters::NamedCurve(curve)),
        public_key: Some(point),
    };
    let der = SecretDocument::try_from(&key).map_err(|e| encoding("the SEC1 private key")(&e))?;
    der.to_pem(EC_LABEL, LineEnding::LF)
        .map_err(|e| encoding("the SEC1 private key")(&e))
}

fn pem_of(label: &'static str, der: &[u8]) -> Result<String, KeyError> {
    pem::encode_string(label, LineEnding::LF, der).map_err(|e| encoding("a PEM block")(&e))
}

impl PrivateKey {
    /// Derive the key for `alg` from a 32-byte per-asset seed via detkeygen.
    pub fn derive(alg: Algorithm, seed: &[u8; 32]) -> Result<PrivateKey, KeyError> {
        Self::derive_from_seed(alg, seed)
    }

    /// [`PrivateKey::derive`] for any seed detkeygen accepts; private so the
    /// product has one way in, used by tests with the spec's vector seeds.
    fn derive_from_seed(alg: Algorithm, seed: &[u8]) -> Result<PrivateKey, KeyError> {
        let derive_error = |source| KeyError::Derive {
            algorithm: alg.name(),
            source,
        };
        match alg {
            Algorithm::EcdsaP256 => {
                let d = detkeygen::ecdsa_p256_scalar(seed).map_err(derive_error)?;
                let key = p256::ecdsa::SigningKey::from_slice(&d[..])
                    .map_err(|e| malformed("ECDSA P-256")(&e))?;
                Self::from_p256(key)
            }
            Algorithm::EcdsaP384 => {
                let d = detkeygen::ecdsa_p384_scalar(seed).map_err(derive_error)?;
                let key = p384::ecdsa::SigningKey::from_slice(&d[..])
                    .map_err(|e| malformed("ECDSA P-384")(&e))?;
                Self::from_p384(key)
            }
            Algorithm::Rsa2048 | Algorithm::Rsa3072 | Algorithm::Rsa4096 => {
                let bits = alg.rsa_bits().unwrap_or(0);
                let params = detkeygen::rsa_primes(seed, bits).map_err(derive_error)?;
                let key = RsaPrivateKey::from_components(
                    boxed(params.n()),
                    boxed(params.e()),
                    boxed(params.d()),
                    vec![boxed(params.p()), boxed(params.q())],
                )
                .map_err(|e| malformed("det-keygen RSA")(&e))?;
                // from_components keeps the λ-based d and the order of the
                // primes we pass (it only recomputes when given no primes);
                // checked, not assumed, because the PEM must carry exactly
                // the spec's numbers.
                let kept = same_number(key.d(), params.d())
                    && key.primes().len() == 2
                    && same_number(&key.primes()[0], params.p())
                    && same_number(&key.primes()[1], params.q());
                if !kept {
                    return Err(KeyError::Encoding {
                        what: "the RSA key",
                        reason: "the rsa crate changed the det-keygen key numbers".into(),
                    });
                }
                Self::from_rsa(key)
            }
        }
    }

    fn from_p256(key: p256::ecdsa::SigningKey) -> Result<PrivateKey, KeyError> {
        let point = key.verifying_key().to_encoded_point(false);
        let public = p256::PublicKey::from(key.verifying_key());
        let spki = public
            .to_public_key_der()
            .map_err(|e| encoding("the P-256 public key")(&e))?;
        let scalar = Zeroizing::new(key.to_bytes());
        let private_pem = sec1_pem(&scalar, p256::NistP256::OID, point.as_bytes())?;
        Self::assemble(
            Algorithm::EcdsaP256,
            Secret::P256(key),
            point.as_bytes().to_vec(),
            spki.as_bytes().to_vec(),
            private_pem,
        )
    }

    fn from_p384(key: p384::ecdsa::SigningKey) -> Result<PrivateKey, KeyError> {
        let point = key.verifying_key().to_encoded_point(false);
        let public = p384::PublicKey::from(key.verifying_key());
        let spki = public
            .to_public_key_der()
            .map_err(|e| encoding("the P-384 public key")(&e))?;
        let scalar = Zeroizing::new(key.to_bytes());
        let private_pem = sec1_pem(&scalar, p384::NistP384::OID, point.as_bytes())?;
        Self::assemble(
            Algorithm::EcdsaP384,
            Secret::P384(key),
            point.as_bytes().to_vec(),
            spki.as_bytes().to_vec(),
            private_pem,
        )
    }

    fn from_rsa(key: RsaPrivateKey) -> Result<PrivateKey, KeyError> {
        // The modulus is public: a variable-time bit length is fine.
        let bits = key.n().bit_width_vartime() as usize;
        let algorithm =
            Algorithm::from_rsa_bits(bits).ok_or(KeyError::UnsupportedRsaSize { bits })?;
        key.validate().map_err(|e| malformed("RSA")(&e))?;
        let public = key.to_public_key();
        let pkcs1_public = public
            .to_pkcs1_der()
            .map_err(|e| encoding("the RSA public key")(&e))?;
        let spki = public
            .to_public_key_der()
            .map_err(|e| encoding("the RSA public key")(&e))?;
        let private_pem = key
            .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
            .map_err(|e| encoding("the PKCS#1 private key")(&e))?;
        Self::assemble(
            algorithm,
            Secret::Rsa(Box::new(key)),
            pkcs1_public.as_bytes().to_vec(),
            spki.as_bytes().to_vec(),
            private_pem,
        )
    }

    fn assemble(
        algorithm: Algorithm,
        secret: Secret,
        public_key_bits: Vec<u8>,
        spki_der: Vec<u8>,
        private_pem: Zeroizing<String>,
    ) -> Result<PrivateKey, KeyError> {
        let public_pem = pem_of("PUBLIC KEY", &spki_der)?;
        Ok(PrivateKey {
            algorithm,
            secret,
            public_key_bits,
            spki_der,
            public_pem,
            private_pem,
        })
    }

    /// Parse a user's PEM key (external CA): PKCS#1 "RSA PRIVATE KEY", SEC1
    /// "EC PRIVATE KEY" (P-256/P-384), PKCS#8 "PRIVATE KEY". The first
    /// private-key block is used, so a file that also holds certificates or
    /// explanatory text is fine. Unsupported curves, algorithms and sizes,
    /// and encrypted keys, are errors that say so.
    pub fn from_pem(pem: &str) -> Result<PrivateKey, KeyError> {
        let block = private_key_block(pem)?;
        let (label, der) = pem::decode_vec(block.as_bytes()).map_err(|e| malformed("PEM")(&e))?;
        let der = Zeroizing::new(der);
        match label {
            "RSA PRIVATE KEY" => {
                let key =
                    RsaPrivateKey::from_pkcs1_der(&der).map_err(|e| malformed("PKCS#1 RSA")(&e))?;
                Self::from_rsa(key)
            }
            EC_LABEL => Self::from_sec1_der(&der),
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
            other => Err(KeyError::UnsupportedFormat {
                label: other.to_string(),
            }),
        }
    }

    fn from_sec1_der(der: &[u8]) -> Result<PrivateKey, KeyError> {
        let parsed = sec1::EcPrivateKey::try_from(der).map_err(|e| malformed("SEC1 EC")(&e))?;
        let curve = match parsed.parameters.and_then(|p| p.named_curve()) {
            Some(oid) => oid,
            // The OID is optional in SEC1; the scalar length then tells
            // P-256 from P-384, the only curves we accept.
            None => match parsed.private_key.len() {
                32 => p256::NistP256::OID,
                48 => p384::NistP384::OID,
                len => {
                    return Err(KeyError::UnsupportedCurve {
                        curve: format!("with {len}-byte private keys and no curve OID"),
                    })
                }
            },
        };
        if curve == p256::NistP256::OID {
            let key =
                p256::SecretKey::from_sec1_der(der).map_err(|e| malformed("SEC1 P-256")(&e))?;
            Self::from_p256(key.into())
        } else if curve == p384::NistP384::OID {
            let key =
                p384::SecretKey::from_sec1_der(der).map_err(|e| malformed("SEC1 P-384")(&e))?;
            Self::from_p384(key.into())
        } else {
            Err(KeyError::UnsupportedCurve {
                curve: curve_name(&curve),
            })
        }
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey, KeyError> {
        let info = PrivateKeyInfo::try_from(der).map_err(|e| malformed("PKCS#8")(&e))?;
        let oid = info.algorithm.oid;
        // rsaEncryption, compared as DER bytes: the rsa crate's OID type is
        // const-oid 0.10, PrivateKeyInfo's (through p256) const-oid 0.9.
        if oid.as_bytes() == rsa::pkcs1::ALGORITHM_OID.as_bytes() {
            let key =
                RsaPrivateKey::from_pkcs8_der(der).map_err(|e| malformed("PKCS#8 RSA")(&e))?;
            return Self::from_rsa(key);
        }
        if oid != p256::elliptic_curve::ALGORITHM_OID {
            return Err(KeyError::UnsupportedKeyType {
                what: key_type_name(&oid),
            });
        }
        let curve = info
            .algorithm
            .parameters_oid()
            .map_err(|e| malformed("PKCS#8 EC")(&e))?;
        if curve == p256::NistP256::OID {
            let key =
                p256::SecretKey::from_pkcs8_der(der).map_err(|e| malformed("PKCS#8 P-256")(&e))?;
            Self::from_p256(key.into())
        } else if curve == p384::NistP384::OID {
            let key =
                p384::SecretKey::from_pkcs8_der(der).map_err(|e| malformed("PKCS#8 P-384")(&e))?;
            Self::from_p384(key.into())
        } else {
            Err(KeyError::UnsupportedCurve {
                curve: curve_name(&curve),
            })
        }
    }

    /// PEM as kubeadm writes it: RSA → PKCS#1 "RSA PRIVATE KEY"; ECDSA →
    /// SEC1 "EC PRIVATE KEY". LF line endings, trailing newline. Returned
    /// in a [`Zeroizing`] `String` so the copy is wiped when dropped.
    pub fn to_pem(&self) -> Zeroizing<String> {
        self.private_pem.clone()
    }

    /// PKIX "PUBLIC KEY" PEM (kubeadm's sa.pub format), LF, trailing newline.
    pub fn public_key_pem(&self) -> String {
        self.public_pem.clone()
    }

    /// DER SubjectPublicKeyInfo (the same bytes rcgen puts in certificates).
    pub fn spki_der(&self) -> Vec<u8> {
        self.spki_der.clone()
    }

    /// The key's algorithm (for an external key: the one it turned out to be).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// e.g. "ecdsa-p256", "rsa-2048" (for messages).
    pub fn algorithm_name(&self) -> &'static str {
        self.algorithm.name()
    }

    /// Signs `msg` as rcgen asks: the DER ECDSA signature over SHA-256
    /// (P-256) or SHA-384 (P-384) with the RFC 6979 nonce, or the PKCS#1
    /// v1.5 signature over SHA-256 for RSA. Deterministic either way.
    fn sign_message(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        use p256::ecdsa::signature::Signer;
        match &self.secret {
            Secret::P256(key) => {
                let signature: p256::ecdsa::Signature =
                    key.try_sign(msg).map_err(|e| e.to_string())?;
                Ok(signature.to_der().as_bytes().to_vec())
            }
            Secret::P384(key) => {
                let signature: p384::ecdsa::Signature =
                    key.try_sign(msg).map_err(|e| e.to_string())?;
                Ok(signature.to_der().as_bytes().to_vec())
            }
            Secret::Rsa(key) => key
                .pkcs1v15_sign::<rsa::sha2::Sha256>(msg)
                .map_err(|e| e.to_string()),
        }
    }
}

/// A det-keygen number as the rsa crate's integer type, sized to its own
/// length (`from_components` resizes every component to the modulus's
/// precision). The byte copy is zeroized.
fn boxed(n: &num_bigint_dig::BigUint) -> BoxedUint {
    let bytes = Zeroizing::new(n.to_bytes_be());
    BoxedUint::from_be_slice_vartime(&bytes)
}

/// Whether the rsa crate's `ours` is the det-keygen number `want`, compared
/// as minimal big-endian bytes (the two types pad differently). Both
/// copies are zeroized.
fn same_number(ours: &BoxedUint, want: &num_bigint_dig::BigUint) -> bool {
    let mut ours = ours.to_be_bytes().into_vec();
    let mut want = want.to_bytes_be();
    let start = ours.iter().position(|&b| b != 0).unwrap_or(ours.len());
    let same = ours[start..] == want[..];
    ours.zeroize();
    want.zeroize();
    same
}

/// The first PEM block whose label ends in "PRIVATE KEY", with a precise
/// error when there is none or when it is encrypted.
fn private_key_block(text: &str) -> Result<&str, KeyError> {
    const BEGIN: &str = "-----BEGIN ";
    let mut first_label = None;
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let block = &rest[start..];
        let label_end = block[BEGIN.len()..].find("-----").map(|i| i + BEGIN.len());
        let Some(label_end) = label_end else { break };
        let label = &block[BEGIN.len()..label_end];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = block.find(&end_marker) else {
            return Err(KeyError::Malformed {
                format: "PEM",
                reason: format!("\"{label}\" block has no END line"),
            });
        };
        let block = &block[..end + end_marker.len()];
        if label.ends_with("PRIVATE KEY") {
            // Legacy OpenSSL encryption uses RFC 1421 headers in the block.
            if label == "ENCRYPTED PRIVATE KEY" || block.contains("Proc-Type: 4,ENCRYPTED") {
                return Err(KeyError::Encrypted);
            }
            return Ok(block);
        }
        first_label.get_or_insert(label);
        rest = &rest[start + block.len()..];
    }
    match first_label {
        Some(label) => Err(KeyError::NotAPrivateKey {
            label: label.to_string(),
        }),
        None => Err(KeyError::NoPem),
    }
}

fn curve_name(oid: &ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.3.132.0.33" => "P-224 (secp224r1)",
        "1.3.132.0.35" => "P-521 (secp521r1)",
        "1.3.132.0.10" => "secp256k1",
        "1.2.840.10045.3.1.1" => "P-192 (prime192v1)",
        _ => return format!("with OID {oid}"),
    };
    name.to_string()
}

fn key_type_name(oid: &ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.3.101.110" => "X25519",
        "1.3.101.111" => "X448",
        "1.2.840.10040.4.1" => "DSA",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        _ => return format!("Algorithm OID {oid}"),
    };
    name.to_string()
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.algorithm_name())
            .finish_non_exhaustive()
    }
}

impl rcgen::PublicKeyData for PrivateKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public_key_bits
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        match self.algorithm {
            Algorithm::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Algorithm::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            Algorithm::Rsa2048 | Algorithm::Rsa3072 | Algorithm::Rsa4096 => &rcgen::PKCS_RSA_SHA256,
        }
    }
}

impl rcgen::SigningKey for PrivateKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        // rcgen's error type has no variant carrying a reason for external
        // signers; the failure is not expected for a validated key.
        self.sign_message(msg)
            .map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

#[cfg(test)]
mod tests;
