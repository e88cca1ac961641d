//! Private keys: the supported algorithms.

/// The key algorithm of every generated key (`pki.algorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    EcdsaP256,
    EcdsaP384,
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

impl Algorithm {
    /// Every algorithm with its spec name, in the order the docs list them.
    pub const ALL: [(Algorithm, &'static str); 5] = [
        (Algorithm::EcdsaP256, "ecdsa-p256"),
        (Algorithm::EcdsaP384, "ecdsa-p384"),
        (Algorithm::Rsa2048, "rsa-2048"),
        (Algorithm::Rsa3072, "rsa-3072"),
        (Algorithm::Rsa4096, "rsa-4096"),
    ];

    pub fn from_name(name: &str) -> Option<Algorithm> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(a, _)| *a)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(a, _)| *a == self)
            .map(|(_, n)| *n)
            .unwrap_or("?")
    }
}
