//! Deterministic ECDSA and RSA key generation: C2SP det-keygen, implemented
//! from the specification text (<https://c2sp.org/det-keygen>, `det-keygen.md`
//! in the C2SP/C2SP repository) and checked against its published vectors
//! (`tests/detkeygen_vectors.rs`).
//!
//! This module owns the step from "seed bytes" to "key numbers". It knows
//! nothing about kubeseed's assets: where the seed comes from (HKDF-SHA256 of
//! the cluster seed, one 32-byte seed per asset and generation) belongs to the
//! derivation module, and PEM encoding belongs to [`crate::derive::keys`]. The
//! description below is the contract: another implementation that follows it
//! re-derives byte-identical keys from the same 32-byte asset seeds.
//!
//! # Common part: HMAC_DRBG with SHA-256
//!
//! `HMAC(K, M)` is HMAC-SHA-256 (32-byte output). A generator is instantiated
//! from `seed` (at least 16 bytes; kubeseed always passes 32) and a
//! personalization string `P`:
//!
//! ```text
//! K = 0x00 * 32;  V = 0x01 * 32
//! K = HMAC(K, V || 0x00 || seed || P);  V = HMAC(K, V)
//! K = HMAC(K, V || 0x01 || seed || P);  V = HMAC(K, V)
//! ```
//!
//! *generate(L)*: `temp = ""`; while `len(temp) < L`: `V = HMAC(K, V)`,
//! `temp = temp || V`; the result is the first `L` bytes of `temp`.
//! *update*: `K = HMAC(K, V || 0x00)`; `V = HMAC(K, V)`. Every candidate after
//! the first one is preceded by exactly one *update* (no additional input).
//!
//! # ECDSA (`ecdsa-p256`, `ecdsa-p384`)
//!
//! * `P` is the ASCII string `det ECDSA key gen P-256` or
//!   `det ECDSA key gen P-384` (no terminator).
//! * `d` = generate(32) for P-256, generate(48) for P-384, read as a big-endian
//!   integer (RFC 6979 bits2int; the curve orders are exactly 256 and 384 bits
//!   long, so no shift is needed).
//! * P-256 only: if `d >= n`, do *update* and `d` = generate(32) once more.
//!   (Reachable with probability about 2^-32; the seed
//!   `b432f9be30890480298218510559aed7` exercises it.)
//! * If then `d == 0` or `d >= n`, it is a fatal error (never retried again:
//!   the probability is negligible and the spec forbids a second retry).
//! * The key is `(d, Q = d·G)`. kubeseed signs with it using deterministic
//!   RFC 6979 ECDSA (SHA-256 for P-256, SHA-384 for P-384).
//!
//! P-224 and P-521 are part of the spec but not of kubeseed: they are not
//! implemented here (their vectors are skipped, and counted, in the tests).
//!
//! # RSA (`rsa-2048`, `rsa-3072`, `rsa-4096`)
//!
//! [`rsa_primes`] accepts any `bits` that is a multiple of 16 in
//! `2048..=65520` (the spec's range; 65520 is the largest multiple of 16 that
//! fits `I2OSP(bits, 2)`); kubeseed uses 2048, 3072 and 4096.
//!
//! * `P` = `det RSA key gen` (15 ASCII bytes) `|| I2OSP(bits, 2)`, i.e. the
//!   size as two big-endian bytes: 2048 → `08 00`, 3072 → `0c 00`,
//!   4096 → `10 00`.
//! * A candidate is `temp = generate(bits/16)` with `temp[0] |= 0xC0` (top two
//!   bits) and `temp[bits/16 - 1] |= 0x07` (bottom three bits), read big-endian.
//!   Each candidate is fresh DRBG output: there is no incremental search.
//! * `p` = the first prime candidate; then *update*; `q` = the next prime
//!   candidate (each rejected candidate is followed by *update*).
//! * If `gcd(p - 1, q - 1) >= 2^32`: *update* and start over with a new `p`.
//! * `λ = (p - 1)(q - 1) / gcd(p - 1, q - 1)` (Carmichael, **not** Euler's
//!   φ), `e = 65537`, `d = e^-1 mod λ`. If the inverse does not exist:
//!   *update* and start over with a new `p` (both primes are discarded).
//! * `N = p·q`. `p` is the first prime found and `q` the second; they are
//!   never swapped, so `p < q` is possible.
//!
//! Primality: a candidate is tested by trial division by every odd prime up
//! to 1619, then by one Miller–Rabin round to base 2 (a fast path: it is the
//! round `probably_prime` ends with, so it rejects exactly candidates that
//! function would reject, and most candidates end there), then
//! `num_bigint_dig::prime::probably_prime`, which runs
//! `rounds + 1` Miller–Rabin rounds (one with base 2) and a strong Lucas test
//! (together a Baillie–PSW test), with `rounds` = 5 below 2690 modulus bits,
//! 4 below 7494 and 3 above, as the spec asks. The exact test cannot change
//! which key a seed yields: primality is a property of the number, every
//! correct test agrees on it, primes always pass Miller–Rabin and Lucas, and
//! the chance that a random composite candidate passes is cryptographically
//! negligible (and no Baillie–PSW pseudoprime is known at all).
//!
//! Two guards turn events that never happen in practice into an error rather
//! than an endless loop; neither can yield a *different* key: more than
//! `10 × bits` candidates for one prime (probability about 2^-83, the bound
//! the spec suggests), and more than [`MAX_RSA_ATTEMPTS`] restarts (each
//! restart has probability about 2^-15). After generation the FIPS 186-5
//! "IFC key pair criteria" the spec lists are checked as well
//! (`|p - q| > 2^(bits/2 - 100)`, `d >= 2^(bits/2)`, `N` has exactly `bits`
//! bits); a failure there (probability below 2^-97) is also an error.
//!
//! # What kubeseed writes (see [`crate::derive::keys`])
//!
//! * RSA private key: PKCS#1 `RSA PRIVATE KEY` with `n, e, d, p, q`
//!   exactly as above (so `d` is the λ-based exponent), `dP = d mod (p-1)`,
//!   `dQ = d mod (q-1)`, `qInv = q^-1 mod p` — byte-identical to the
//!   PKCS#1 key inside the spec's PKCS#8 vectors.
//! * ECDSA private key: SEC1 `EC PRIVATE KEY` (version 1, the scalar as a
//!   32/48-byte octet string, `[0]` namedCurve OID `prime256v1` /
//!   `secp384r1`, `[1]` the uncompressed public point), as Go's
//!   `x509.MarshalECPrivateKey` and therefore kubeadm write it.
//! * Public keys: PKIX `PUBLIC KEY` (SubjectPublicKeyInfo; RSA with NULL
//!   parameters, EC with the namedCurve OID and the uncompressed point).
//! * PEM: RFC 7468, base64 lines of 64 characters, LF line endings, a
//!   trailing newline.
//!
//! Secrets: the DRBG state, candidates and scalars are zeroized on drop;
//! big-integer temporaries inside `num-bigint-dig` arithmetic are not (that
//! crate offers no way to), which is acceptable for a tool that runs once on
//! an operator's machine. Nothing here implements a `Debug` that prints key
//! material.

use std::fmt;
use std::sync::LazyLock;

use crypto_bigint::{BoxedUint, Limb, NonZero, Odd, Reciprocal, Word};
use crypto_primes::hazmat::{MillerRabin, Primality};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use num_bigint_dig::prime::probably_prime;
use num_bigint_dig::{BigUint, ModInverse};
use p256::elliptic_curve::ScalarPrimitive;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

type HmacSha256 = Hmac<Sha256>;

/// The spec requires seeds of at least 128 bits.
pub const MIN_SEED_LEN: usize = 16;

/// The public exponent; the spec fixes it.
pub const RSA_PUBLIC_EXPONENT: u32 = 65537;

/// Upper bound on whole-key restarts (steps 20 and 23). Each restart has
/// probability about 2^-15, so reaching this bound is not a practical event;
/// it only guarantees that generation terminates.
pub const MAX_RSA_ATTEMPTS: usize = 64;

/// Why deterministic key generation failed. Messages never contain seeds or
/// key material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DetKeygenError {
    /// The seed is shorter than [`MIN_SEED_LEN`] bytes.
    SeedTooShort { len: usize },
    /// The RSA size is not a multiple of 16 in `2048..=65520`.
    UnsupportedRsaSize { bits: usize },
    /// ECDSA step 12: the scalar was 0 or not below the curve order.
    EcdsaScalarOutOfRange { curve: &'static str },
    /// More than `10 × bits` candidates for one RSA prime.
    PrimeSearchExhausted { bits: usize },
    /// More than [`MAX_RSA_ATTEMPTS`] restarts of RSA generation.
    TooManyRsaRestarts { bits: usize },
    /// The generated RSA key failed a FIPS 186-5 key pair criterion.
    RsaCriterionFailed {
        bits: usize,
        criterion: &'static str,
    },
}

impl fmt::Display for DetKeygenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DetKeygenError::SeedTooShort { len } => write!(
                f,
                "key seed is {len} bytes long; det-keygen needs at least {MIN_SEED_LEN}"
            ),
            DetKeygenError::UnsupportedRsaSize { bits } => write!(
                f,
                "RSA size {bits} is not supported; it must be a multiple of 16 between 2048 and 65520"
            ),
            DetKeygenError::EcdsaScalarOutOfRange { curve } => write!(
                f,
                "ECDSA {curve} key generation produced an out-of-range scalar \
                 (probability below 2^-32; suspect a hardware fault)"
            ),
            DetKeygenError::PrimeSearchExhausted { bits } => write!(
                f,
                "RSA-{bits} prime search gave up after {} candidates (not a practical event)",
                10 * bits
            ),
            DetKeygenError::TooManyRsaRestarts { bits } => write!(
                f,
                "RSA-{bits} key generation restarted more than {MAX_RSA_ATTEMPTS} times \
                 (not a practical event)"
            ),
            DetKeygenError::RsaCriterionFailed { bits, criterion } => write!(
                f,
                "generated RSA-{bits} key fails the FIPS 186-5 criterion {criterion} \
                 (not a practical event)"
            ),
        }
    }
}

impl std::error::Error for DetKeygenError {}

/// HMAC-SHA-256 of the concatenation of `parts` under a 32-byte key.
fn hmac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    // RFC 2104 pads keys shorter than the 64-byte block with zeros. Doing the
    // padding here lets us use the infallible block-sized constructor
    // instead of `new_from_slice`, whose error case cannot happen.
    let mut block: hmac::digest::Key<HmacSha256> = Default::default();
    block[..32].copy_from_slice(key);
    let mut mac = <HmacSha256 as KeyInit>::new(&block);
    block.zeroize();
    for part in parts {
        mac.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// HMAC_DRBG (SP 800-90A) with SHA-256, no nonce, no reseeding, no
/// additional input: exactly the subset det-keygen uses.
struct HmacDrbg {
    k: Zeroizing<[u8; 32]>,
    v: Zeroizing<[u8; 32]>,
}

impl HmacDrbg {
    /// Steps 2–7 of both algorithms.
    fn new(seed: &[u8], personalization: &[u8]) -> HmacDrbg {
        let mut drbg = HmacDrbg {
            k: Zeroizing::new([0x00; 32]),
            v: Zeroizing::new([0x01; 32]),
        };
        *drbg.k = hmac(&drbg.k, &[&drbg.v[..], &[0x00], seed, personalization]);
        *drbg.v = hmac(&drbg.k, &[&drbg.v[..]]);
        *drbg.k = hmac(&drbg.k, &[&drbg.v[..], &[0x01], seed, personalization]);
        *drbg.v = hmac(&drbg.k, &[&drbg.v[..]]);
        drbg
    }

    /// "temp = ''; while len(temp) < L: V = HMAC(K, V); temp = temp || V",
    /// truncated to `out.len()` bytes.
    fn generate(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(32) {
            *self.v = hmac(&self.k, &[&self.v[..]]);
            chunk.copy_from_slice(&self.v[..chunk.len()]);
        }
    }

    /// "K = HMAC(K, V || 0x00); V = HMAC(K, V)": the state update that
    /// precedes every candidate after the first.
    fn update(&mut self) {
        *self.k = hmac(&self.k, &[&self.v[..], &[0x00]]);
        *self.v = hmac(&self.k, &[&self.v[..]]);
    }
}

fn check_seed(seed: &[u8]) -> Result<(), DetKeygenError> {
    if seed.len() < MIN_SEED_LEN {
        return Err(DetKeygenError::SeedTooShort { len: seed.len() });
    }
    Ok(())
}

/// ECDSA steps 1–12 for curves whose order is exactly `8 * N` bits long.
fn ecdsa_scalar<const N: usize>(
    seed: &[u8],
    curve: &'static str,
    retry_once: bool,
    below_order: impl Fn(&[u8; N]) -> bool,
) -> Result<Zeroizing<[u8; N]>, DetKeygenError> {
    check_seed(seed)?;
    let personalization = format!("det ECDSA key gen {curve}");
    let mut drbg = HmacDrbg::new(seed, personalization.as_bytes());
    let mut d = Zeroizing::new([0u8; N]);
    drbg.generate(&mut d[..]);
    if retry_once && !below_order(&d) {
        drbg.update();
        drbg.generate(&mut d[..]);
    }
    let is_zero = d.iter().fold(0u8, |acc, b| acc | b) == 0;
    if is_zero || !below_order(&d) {
        return Err(DetKeygenError::EcdsaScalarOutOfRange { curve });
    }
    Ok(d)
}

/// The P-256 private scalar `d` (big-endian, 32 bytes) for `seed`.
pub fn ecdsa_p256_scalar(seed: &[u8]) -> Result<Zeroizing<[u8; 32]>, DetKeygenError> {
    // ScalarPrimitive::from_slice accepts exactly the integers below n.
    ecdsa_scalar::<32>(seed, "P-256", true, |d| {
        ScalarPrimitive::<p256::NistP256>::from_slice(d).is_ok()
    })
}

/// The P-384 private scalar `d` (big-endian, 48 bytes) for `seed`.
pub fn ecdsa_p384_scalar(seed: &[u8]) -> Result<Zeroizing<[u8; 48]>, DetKeygenError> {
    ecdsa_scalar::<48>(seed, "P-384", false, |d| {
        ScalarPrimitive::<p384::NistP384>::from_slice(d).is_ok()
    })
}

/// The numbers of a det-keygen RSA key. The private parts are zeroized on
/// drop; `Debug` shows only the size.
pub struct RsaParams {
    n: BigUint,
    e: BigUint,
    d: BigUint,
    p: BigUint,
    q: BigUint,
}

impl RsaParams {
    /// The modulus `N = p·q`.
    pub fn n(&self) -> &BigUint {
        &self.n
    }
    /// The public exponent (always 65537).
    pub fn e(&self) -> &BigUint {
        &self.e
    }
    /// The private exponent `e^-1 mod λ(N)`.
    pub fn d(&self) -> &BigUint {
        &self.d
    }
    /// The first prime generated.
    pub fn p(&self) -> &BigUint {
        &self.p
    }
    /// The second prime generated.
    pub fn q(&self) -> &BigUint {
        &self.q
    }
    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.n.bits()
    }
}

impl Drop for RsaParams {
    fn drop(&mut self) {
        self.d.zeroize();
        self.p.zeroize();
        self.q.zeroize();
    }
}

impl fmt::Debug for RsaParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaParams")
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

/// The odd primes up to 1619 (255 of them), the trial-division bound the
/// spec suggests. Computed at compile time so no table has to be trusted.
const SMALL_PRIMES: [u32; 255] = small_primes();

const fn small_primes() -> [u32; 255] {
    const LIMIT: usize = 1620;
    let mut composite = [false; LIMIT];
    let mut out = [0u32; 255];
    let mut count = 0;
    let mut i = 2;
    while i < LIMIT {
        if !composite[i] {
            if i > 2 {
                out[count] = i as u32;
                count += 1;
            }
            let mut j = i * i;
            while j < LIMIT {
                composite[j] = true;
                j += i;
            }
        }
        i += 1;
    }
    out
}

/// [`SMALL_PRIMES`] in runs whose products fit one limb: a candidate is
/// reduced once per run (a limb division by a precomputed reciprocal), and
/// the remainder, a single word, is then tested against each prime of the run.
struct SmallPrimeRun {
    product: Reciprocal,
    primes: &'static [u32],
}

/// The runs of [`SMALL_PRIMES`], in order, each as long as its product fits
/// a limb (64 bits, or 32 on 32-bit targets).
static SMALL_PRIME_RUNS: LazyLock<Vec<SmallPrimeRun>> = LazyLock::new(|| {
    let limit = u128::from(Limb::MAX.0);
    let mut runs = Vec::new();
    let mut start = 0;
    while start < SMALL_PRIMES.len() {
        let (mut end, mut product) = (start, 1u128);
        while end < SMALL_PRIMES.len() && product * u128::from(SMALL_PRIMES[end]) <= limit {
            product *= u128::from(SMALL_PRIMES[end]);
            end += 1;
        }
        // Every prime is below 2^11, so a run holds at least one and its
        // product fits the limb it was checked against.
        let word = Word::try_from(product).unwrap_or(Word::MAX);
        runs.push(SmallPrimeRun {
            product: Reciprocal::new(NonZero::<Limb>::new_unwrap(Limb(word))),
            primes: &SMALL_PRIMES[start..end],
        });
        start = end;
    }
    runs
});

/// Whether `candidate` has a factor among [`SMALL_PRIMES`].
fn has_small_factor(candidate: &BoxedUint) -> bool {
    SMALL_PRIME_RUNS.iter().any(|run| {
        let rem = candidate.rem_limb_with_reciprocal(&run.product).0;
        run.primes
            .iter()
            .any(|&prime| rem.is_multiple_of(Word::from(prime)))
    })
}

/// Whether Miller–Rabin to base 2 proves `candidate` composite. A candidate
/// this rejects is one `probably_prime` rejects too: that function's last
/// round is the same base-2 test, and any failing round makes it return
/// false. It only runs faster (Montgomery arithmetic of `crypto-bigint`) on
/// the great majority of candidates that are composite.
fn fails_base_two(candidate: &BoxedUint) -> bool {
    Option::<Odd<BoxedUint>>::from(Odd::new(candidate.clone()))
        .is_none_or(|odd| MillerRabin::new(odd).test_base_two() == Primality::Composite)
}

/// Miller–Rabin rounds the spec asks for at this modulus size.
fn miller_rabin_rounds(bits: usize) -> usize {
    if bits < 2690 {
        5
    } else if bits < 7494 {
        4
    } else {
        3
    }
}

/// Steps 8–13: draws candidates until one is prime. The first candidate of
/// a generator is drawn without a preceding *update*; `fresh` says whether
/// this call starts a generator.
fn next_prime_candidate(
    drbg: &mut HmacDrbg,
    fresh: &mut bool,
    bits: usize,
) -> Result<BigUint, DetKeygenError> {
    let len = bits / 16;
    let rounds = miller_rabin_rounds(bits);
    let mut temp = Zeroizing::new(vec![0u8; len]);
    for _ in 0..10 * bits {
        if !std::mem::take(fresh) {
            drbg.update();
        }
        drbg.generate(&mut temp);
        temp[0] |= 0b1100_0000;
        temp[len - 1] |= 0b0000_0111;
        let mut fast = BoxedUint::from_be_slice_vartime(&temp);
        let composite = has_small_factor(&fast) || fails_base_two(&fast);
        fast.zeroize();
        if composite {
            continue;
        }
        let mut t = BigUint::from_bytes_be(&temp);
        if probably_prime(&t, rounds) {
            return Ok(t);
        }
        t.zeroize();
    }
    Err(DetKeygenError::PrimeSearchExhausted { bits })
}

fn gcd(a: &BigUint, b: &BigUint) -> BigUint {
    let zero = BigUint::from(0u32);
    let (mut a, mut b) = (a.clone(), b.clone());
    while b != zero {
        let r = &a % &b;
        a.zeroize();
        a = std::mem::replace(&mut b, r);
    }
    a
}

/// The C2SP det-keygen RSA key (`N, e, d, p, q`) of `bits` bits for `seed`.
pub fn rsa_primes(seed: &[u8], bits: usize) -> Result<RsaParams, DetKeygenError> {
    check_seed(seed)?;
    if !(2048..=65520).contains(&bits) || !bits.is_multiple_of(16) {
        return Err(DetKeygenError::UnsupportedRsaSize { bits });
    }
    // The range check above makes the narrowing lossless.
    let size = (bits as u16).to_be_bytes();
    let personalization = [&b"det RSA key gen"[..], &size[..]].concat();
    let mut drbg = HmacDrbg::new(seed, &personalization);
    let mut fresh = true;

    let one = BigUint::from(1u32);
    let ratio_limit = BigUint::from(1u64 << 32);
    let e = BigUint::from(RSA_PUBLIC_EXPONENT);

    for _ in 0..MAX_RSA_ATTEMPTS {
        let mut p = next_prime_candidate(&mut drbg, &mut fresh, bits)?;
        let mut q = next_prime_candidate(&mut drbg, &mut fresh, bits)?;
        let mut p1 = &p - &one;
        let mut q1 = &q - &one;
        let mut ratio = gcd(&p1, &q1);
        let inverse = if ratio < ratio_limit {
            let mut lambda = &(&p1 * &q1) / &ratio;
            let d = (&e).mod_inverse(&lambda).and_then(|d| d.to_biguint());
            lambda.zeroize();
            d
        } else {
            None
        };
        p1.zeroize();
        q1.zeroize();
        ratio.zeroize();
        match inverse {
            Some(d) => {
                let params = RsaParams {
                    n: &p * &q,
                    e,
                    d,
                    p,
                    q,
                };
                check_key_criteria(&params, bits)?;
                return Ok(params);
            }
            None => {
                // Steps 20 and 23 restart with both primes discarded.
                p.zeroize();
                q.zeroize();
            }
        }
    }
    Err(DetKeygenError::TooManyRsaRestarts { bits })
}

/// The FIPS 186-5 A.1.1 criteria the spec shows to hold with overwhelming
/// probability; checked so a violation is an error, never a weak key.
fn check_key_criteria(key: &RsaParams, bits: usize) -> Result<(), DetKeygenError> {
    let fail = |criterion| Err(DetKeygenError::RsaCriterionFailed { bits, criterion });
    if key.n.bits() != bits {
        return fail("N has exactly `bits` bits");
    }
    let one = BigUint::from(1u32);
    let distance = if key.p > key.q {
        &key.p - &key.q
    } else {
        &key.q - &key.p
    };
    if distance <= &one << (bits / 2 - 100) {
        return fail("|p - q| > 2^(bits/2 - 100)");
    }
    if key.d < &one << (bits / 2) {
        return fail("d >= 2^(bits/2)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_primes_table_is_the_odd_primes_up_to_1619() {
        assert_eq!(SMALL_PRIMES[0], 3);
        assert_eq!(SMALL_PRIMES[254], 1619);
        assert!(SMALL_PRIMES.windows(2).all(|w| w[0] < w[1]));
        for p in SMALL_PRIMES {
            assert!((2..p).take_while(|d| d * d <= p).all(|d| p % d != 0));
        }
    }

    #[test]
    fn small_factor_check_matches_big_integer_remainder() {
        // 1619 * 1613 * 3 and a prime just below 2^61.
        let composite = BoxedUint::from(1619u64 * 1613 * 3);
        assert!(has_small_factor(&composite));
        let prime = BoxedUint::from(2305843009213693951u64);
        assert!(!has_small_factor(&prime));
        // Every prime of the table is found, in whichever run it sits.
        // p · (2^61 - 1) · 2^128: three limbs, whose only odd factors are p
        // and a prime far past the table.
        let mersenne = (1u128 << 61) - 1;
        for p in SMALL_PRIMES {
            let bytes = [(mersenne * u128::from(p)).to_be_bytes(), [0; 16]].concat();
            assert!(
                has_small_factor(&BoxedUint::from_be_slice_vartime(&bytes)),
                "{p}"
            );
        }
        let bytes = [mersenne.to_be_bytes(), [0; 16]].concat();
        assert!(!has_small_factor(&BoxedUint::from_be_slice_vartime(&bytes)));
        // 1621 is the first prime past the table.
        assert!(!has_small_factor(&BoxedUint::from(1621u64 * 1627)));
        assert!(SMALL_PRIME_RUNS.len() < SMALL_PRIMES.len() / 3);
    }

    #[test]
    fn fast_path_rejects_only_what_probably_prime_rejects() {
        let mut drbg = HmacDrbg::new(&[3u8; 32], b"fast path test");
        let (mut primes, mut rejected) = (0, 0);
        for _ in 0..2000 {
            let mut bytes = [0u8; 64];
            drbg.generate(&mut bytes);
            bytes[63] |= 1;
            let fast = BoxedUint::from_be_slice_vartime(&bytes);
            let prime = probably_prime(&BigUint::from_bytes_be(&bytes), 5);
            if fails_base_two(&fast) {
                assert!(!prime);
                rejected += 1;
            }
            primes += usize::from(prime);
        }
        // Both outcomes occur, so neither assertion holds vacuously.
        assert!(
            primes > 0 && rejected > 1000,
            "{primes} primes, {rejected} rejected"
        );
        // Primes and base-2 strong pseudoprimes pass: 2047 = 23 · 89 does.
        assert!(!fails_base_two(&BoxedUint::from(2047u32)));
        assert!(!fails_base_two(&BoxedUint::from(2305843009213693951u64)));
        assert!(fails_base_two(&BoxedUint::from(2049u32)));
        assert!(fails_base_two(&BoxedUint::from(2048u32)));
    }

    #[test]
    fn rejects_short_seeds() {
        let seed = [0u8; 15];
        assert_eq!(
            ecdsa_p256_scalar(&seed).unwrap_err(),
            DetKeygenError::SeedTooShort { len: 15 }
        );
        assert!(ecdsa_p384_scalar(&seed).is_err());
        assert!(rsa_primes(&seed, 2048).is_err());
        assert!(ecdsa_p256_scalar(&[0u8; 16]).is_ok());
    }

    #[test]
    fn rejects_unsupported_rsa_sizes() {
        let seed = [7u8; 32];
        for bits in [0, 1024, 2040, 2047, 2056, 65521, 65536, usize::MAX] {
            assert_eq!(
                rsa_primes(&seed, bits).unwrap_err(),
                DetKeygenError::UnsupportedRsaSize { bits },
                "{bits}"
            );
        }
    }

    #[test]
    fn rsa_key_numbers_are_consistent() {
        let key = rsa_primes(&[9u8; 32], 2048).unwrap();
        assert_eq!(key.bits(), 2048);
        assert_eq!(key.n(), &(key.p() * key.q()));
        assert_eq!(key.e(), &BigUint::from(65537u32));
        let one = BigUint::from(1u32);
        let (p1, q1) = (key.p() - &one, key.q() - &one);
        let lambda = &(&p1 * &q1) / &gcd(&p1, &q1);
        assert_eq!((key.e() * key.d()) % &lambda, one);
        // λ-based, so strictly smaller than φ whenever gcd(p-1, q-1) > 1,
        // which always holds (both are even).
        assert!(key.d() < &lambda);
    }

    #[test]
    fn debug_and_errors_show_no_numbers() {
        let key = rsa_primes(&[9u8; 32], 2048).unwrap();
        let debug = format!("{key:?}");
        assert_eq!(debug, "RsaParams { bits: 2048, .. }");
        let message = DetKeygenError::EcdsaScalarOutOfRange { curve: "P-256" }.to_string();
        assert!(message.contains("P-256"));
    }
}
