//! Reading the inputs: the spec file, the seed, an external CA and template
//! overrides.
//!
//! This is the only place that reads user files; everything after it is a
//! pure function of what it returns. Each error names the file (or the
//! environment variable) and says what would be right.

use crate::gitops::age::Identity;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use x509_parser::prelude::{FromDer, X509Certificate};

use crate::derive::keys::PrivateKey;
use crate::derive::Seed;
use crate::error::Error;
use crate::issue::ExternalCa;
use crate::render::Override;
use crate::spec::{self, Parsed};

/// The environment variable that carries the seed as hex (for CI secret stores).
pub const SEED_ENV: &str = "KUBESEED_SEED";

/// Reads and validates the spec. Warnings are returned, not printed.
pub fn spec(path: &Path) -> Result<Parsed, Error> {
    let text = fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        what: "spec",
        source,
    })?;
    Ok(spec::parse(&path.display().to_string(), &text)?)
}

/// The identities of an age identity file (`verify --age-identity`). Its text is secret: it
/// is zeroed once parsed, and no message quotes it.
pub fn age_identities(path: &Path) -> Result<Vec<Identity>, Error> {
    let text = zeroize::Zeroizing::new(fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        what: "age identity file",
        source,
    })?);
    Identity::parse_file(&text).map_err(|e| Error::AgeIdentity {
        path: path.to_path_buf(),
        problem: e.to_string(),
    })
}

/// The directory the spec's relative paths (seed, external CA) are relative to.
pub fn spec_dir(spec_path: &Path) -> PathBuf {
    match spec_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Where the seed comes from: `--seed FILE`, else `$KUBESEED_SEED`, else
/// `seed` beside the spec. Returns the seed and any warnings (a seed file
/// readable by group or others).
pub fn seed(
    flag: Option<&Path>,
    env: Option<std::ffi::OsString>,
    spec_path: &Path,
) -> Result<(Seed, Vec<String>), Error> {
    if let Some(path) = flag {
        return seed_file(path, "--seed");
    }
    if let Some(value) = env {
        let origin = format!("${SEED_ENV}");
        let text = value.into_string().map_err(|_| Error::Seed {
            origin: origin.clone(),
            problem: "is not valid UTF-8".into(),
            hint: "set it to the 64 hex characters of the seed".into(),
        })?;
        let seed = Seed::from_hex(&text).map_err(|p| Error::Seed {
            origin,
            problem: p.to_string(),
            hint: "set it to the 64 hex characters of the seed, e.g. KUBESEED_SEED=$(cat seed)"
                .into(),
        })?;
        return Ok((seed, Vec::new()));
    }
    let path = spec_dir(spec_path).join("seed");
    if !path.exists() {
        return Err(Error::Seed {
            origin: path.display().to_string(),
            problem: "no seed: --seed was not given, $KUBESEED_SEED is not set and this file does not exist"
                .into(),
            hint: "run `kubeseed init DIR` to create a spec and a seed, or pass --seed FILE".into(),
        });
    }
    seed_file(&path, "seed file")
}

fn seed_file(path: &Path, what: &'static str) -> Result<(Seed, Vec<String>), Error> {
    let origin = path.display().to_string();
    let meta = fs::metadata(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        what,
        source,
    })?;
    if !meta.is_file() {
        return Err(Error::Seed {
            origin,
            problem: "is not a regular file".into(),
            hint: "pass the path of a seed file (64 hex characters and a newline)".into(),
        });
    }
    // Anything bigger than a seed line and a newline is not a seed file; don't
    // read an arbitrary file into memory (or into an error message).
    if meta.len() > 66 {
        return Err(Error::Seed {
            origin,
            problem: format!(
                "has {} bytes; a seed file is 64 hex characters and a newline",
                meta.len()
            ),
            hint: "check that this is the seed file (`kubeseed init` writes one)".into(),
        });
    }
    let text = fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        what,
        source,
    })?;
    let seed = Seed::from_hex(&text).map_err(|p| Error::Seed {
        origin: origin.clone(),
        problem: p.to_string(),
        hint: "a seed file holds 64 hex characters (256 bits) and an optional newline; `kubeseed init` writes one"
            .into(),
    })?;
    let mut warnings = Vec::new();
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        warnings.push(format!(
            "seed file {origin} is readable by group or others (mode {mode:04o}); run: chmod 600 {origin}"
        ));
    }
    Ok((seed, warnings))
}

/// Reads `pki.external_ca` and checks it can sign: the certificate is a CA
/// and the key is its key.
pub fn external_ca(ext: &spec::ExternalCa, spec_dir: &Path) -> Result<ExternalCa, Error> {
    let cert_path = spec_dir.join(&ext.cert);
    let key_path = spec_dir.join(&ext.key);
    let cert_text = fs::read_to_string(&cert_path).map_err(|source| Error::Read {
        path: cert_path.clone(),
        what: "pki.external_ca.cert",
        source,
    })?;
    let refuse = |path: &Path, key: &'static str, problem: String, hint: &str| Error::ExternalCa {
        path: path.to_path_buf(),
        key,
        problem,
        hint: hint.to_string(),
    };
    let blocks: Vec<_> = pem_blocks(&cert_text).map_err(|p| {
        refuse(
            &cert_path,
            "pki.external_ca.cert",
            p,
            "give a PEM file with one CERTIFICATE block",
        )
    })?;
    let der = match blocks.as_slice() {
        [(tag, der)] if tag == "CERTIFICATE" => der.clone(),
        [] => {
            return Err(refuse(
                &cert_path,
                "pki.external_ca.cert",
                "holds no PEM CERTIFICATE block".into(),
                "give the PEM file of the CA certificate (-----BEGIN CERTIFICATE-----)",
            ))
        }
        _ => {
            return Err(refuse(
                &cert_path,
                "pki.external_ca.cert",
                format!(
                    "holds {} PEM blocks; expected exactly one CERTIFICATE",
                    blocks.len()
                ),
                "give only the CA certificate, not a bundle or a key",
            ))
        }
    };
    let (_, cert) = X509Certificate::from_der(&der).map_err(|e| {
        refuse(
            &cert_path,
            "pki.external_ca.cert",
            format!("is not a valid X.509 certificate: {e}"),
            "give the PEM file of the CA certificate",
        )
    })?;
    let is_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
    if !is_ca {
        return Err(refuse(
            &cert_path,
            "pki.external_ca.cert",
            "is not a CA certificate (basicConstraints CA is not set)".into(),
            "give a CA certificate; a leaf certificate cannot sign others",
        ));
    }
    if let Ok(Some(ku)) = cert.key_usage() {
        if !ku.value.key_cert_sign() {
            return Err(refuse(
                &cert_path,
                "pki.external_ca.cert",
                "its keyUsage does not allow certificate signing (keyCertSign)".into(),
                "give a CA certificate whose keyUsage includes keyCertSign",
            ));
        }
    }
    let key_text = fs::read_to_string(&key_path).map_err(|source| Error::Read {
        path: key_path.clone(),
        what: "pki.external_ca.key",
        source,
    })?;
    let key = PrivateKey::from_pem(&key_text).map_err(|e| {
        refuse(
            &key_path,
            "pki.external_ca.key",
            e.to_string(),
            "give the CA's unencrypted PEM private key (RSA, or ECDSA P-256/P-384)",
        )
    })?;
    let cert_public = cert
        .tbs_certificate
        .subject_pki
        .subject_public_key
        .data
        .as_ref();
    if cert_public != rcgen::PublicKeyData::der_bytes(&key) {
        return Err(refuse(
            &key_path,
            "pki.external_ca.key",
            format!("does not match the certificate {}", cert_path.display()),
            "give the private key that belongs to pki.external_ca.cert",
        ));
    }
    Ok(ExternalCa { cert_der: der, key })
}

/// Every file under `render --templates DIR`, as an override of the embedded
/// template with the same relative path (`DIR/static-pods/etcd.yaml`
/// replaces `static-pods/etcd.yaml`). Sorted by id, so the first problem
/// reported does not depend on directory order. Whether each id exists is
/// the renderer's check (`render::Templates::with_overrides`).
pub fn templates(dir: &Path) -> Result<Vec<Override>, Error> {
    let meta = fs::metadata(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        what: "--templates directory",
        source,
    })?;
    if !meta.is_dir() {
        return Err(Error::Templates {
            path: dir.to_path_buf(),
            problem: "is not a directory".into(),
            hint: "pass a directory laid out like kubeseed's templates/, e.g. DIR/static-pods/etcd.yaml"
                .into(),
        });
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(files)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<Override>) -> Result<(), Error> {
    let read_error = |path: &Path, source| Error::Read {
        path: path.to_path_buf(),
        what: "--templates file",
        source,
    };
    let entries = fs::read_dir(dir).map_err(|e| read_error(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| read_error(dir, e))?.path();
        // A linked template is as good as a copied one, but a linked
        // directory could loop back on itself: only real ones are walked.
        let link = fs::symlink_metadata(&path).map_err(|e| read_error(&path, e))?;
        let meta = fs::metadata(&path).map_err(|e| read_error(&path, e))?;
        if meta.is_dir() {
            if link.file_type().is_symlink() {
                return Err(Error::Templates {
                    path,
                    problem: "is a symbolic link to a directory, which --templates does not follow"
                        .into(),
                    hint: "copy the directory, or link the template files one by one".into(),
                });
            }
            walk(root, &path, out)?;
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let mut parts = Vec::new();
        for part in relative.components() {
            match part.as_os_str().to_str() {
                Some(p) => parts.push(p),
                None => {
                    return Err(Error::Templates {
                        path: path.clone(),
                        problem: "its name is not valid UTF-8".into(),
                        hint: "name each file after the template it replaces".into(),
                    })
                }
            }
        }
        let bytes = fs::read(&path).map_err(|e| read_error(&path, e))?;
        let text = String::from_utf8(bytes).map_err(|_| Error::Templates {
            path: path.clone(),
            problem: "is not UTF-8 text".into(),
            hint: "a template is UTF-8 text in minijinja (Jinja2) syntax".into(),
        })?;
        out.push(Override {
            id: parts.join("/"),
            path,
            text,
        });
    }
    Ok(())
}

/// Splits PEM text into (tag, DER) blocks.
fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    use base64::Engine;
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(tag) = line
            .trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {tag}-----");
        let mut b64 = String::new();
        loop {
            match lines.next() {
                Some(l) if l.trim() == end => break,
                Some(l) => b64.push_str(l.trim()),
                None => return Err(format!("the PEM block {tag} has no END line")),
            }
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|e| format!("the PEM block {tag} is not valid base64: {e}"))?;
        blocks.push((tag.to_string(), der));
    }
    Ok(blocks)
}
