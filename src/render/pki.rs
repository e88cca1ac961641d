//! The PKI's files: every CA as its trust bundle and key, every leaf certificate and key
//! pair, and the service-account key pair.

use crate::derive::keys::PrivateKey;
use crate::fileset::{File, FileSet, Kind};
use crate::identity::PAIR_FILES;
use crate::issue::Pki;
use crate::model::LeafOutput;

use super::RenderError;

/// Renders `pki/`: certificates and keys.
pub fn render(pki: &Pki) -> Result<FileSet, RenderError> {
    let mut files = FileSet::new();
    for ca in pki.cas.values() {
        // The trust bundle: the signing certificate first, so it pairs with the key.
        add_pair(&mut files, ca.row.path, &ca.bundle_pem, &ca.key)?;
    }
    for leaf in &pki.leaves {
        if let LeafOutput::Pair(path) = &leaf.row.output {
            add_pair(&mut files, path, &leaf.cert_pem, &leaf.key)?;
        }
    }
    files.insert(
        "pki/sa.key",
        File::secret(Kind::PrivateKey, pki.sa.to_pem().as_bytes().to_vec()),
    )?;
    files.insert(
        "pki/sa.pub",
        File::public(Kind::PublicKey, pki.sa.public_key_pem().into_bytes()),
    )?;
    Ok(files)
}

/// `<path>.crt` and `<path>.key`, with the index kinds the identity table gives a pair.
fn add_pair(
    files: &mut FileSet,
    path: &str,
    cert_pem: &str,
    key: &PrivateKey,
) -> Result<(), RenderError> {
    for (ext, kind, secret) in PAIR_FILES {
        let file = if secret {
            File::secret(kind, key.to_pem().as_bytes())
        } else {
            File::public(kind, cert_pem)
        };
        files.insert(&format!("{path}{ext}"), file)?;
    }
    Ok(())
}
