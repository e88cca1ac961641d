//! `kubeseed verify DIR`: the offline audit of a rendered directory, without
//! the seed.
//!
//! Everything under DIR is untrusted input: a missing, truncated or garbled
//! file gives a [`Finding`] naming it, never a panic, and no finding ever
//! quotes file content (keys, the token secret): messages name paths, fields,
//! public names and times only.
//!
//! This module owns the file-level checks (the tree against `index.json`,
//! hashes, modes, node bundles against the files they were built from) and
//! the report. The content checks live beside it: [`pki`] (chains, key
//! usages, validity, key ↔ certificate, SANs) and [`cluster`] (kubeconfigs,
//! the token and its Secret, the cluster-info JWS), with [`kubeconfig`] reading the
//! kubeconfigs once for both and [`yaml`] the few fields they need from the YAML
//! kubeseed writes.

mod cluster;
mod gitops;
mod kubeconfig;
mod pki;
mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::bundle::placement::source_of;
use crate::cli::Output;
use crate::fileset::INDEX_JSON;
use crate::gitops::age::Identity;

/// How far ahead an expiry becomes a warning.
pub const WARN_WITHIN: time::Duration = time::Duration::days(30);

/// One problem: the file it is about and what is wrong, never its content.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub path: String,
    pub message: String,
}

/// What `verify` found. Errors fail the command; warnings only with `--strict`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

impl Report {
    pub(crate) fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Finding {
            path: path.into(),
            message: message.into(),
        });
    }

    pub(crate) fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Finding {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Exit status: 1 on any error, or on any warning with `strict`.
    pub fn failed(&self, strict: bool) -> bool {
        !self.errors.is_empty() || (strict && !self.warnings.is_empty())
    }

    /// `error: PATH: MESSAGE` and `warning: PATH: MESSAGE` lines, then a summary.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (label, list) in [("error", &self.errors), ("warning", &self.warnings)] {
            for f in list {
                out.push_str(&format!("{label}: {}: {}\n", f.path, f.message));
            }
        }
        out.push_str(&format!(
            "verify: {} error(s), {} warning(s)\n",
            self.errors.len(),
            self.warnings.len()
        ));
        out
    }

    /// `{"errors":[{"path","message"}],"warnings":[...]}` and a newline.
    pub fn to_json(&self) -> String {
        // Strings only: serialisation cannot fail; an empty object would show it if it did.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into());
        text.push('\n');
        text
    }
}

pub(crate) use crate::tree::Tree;

/// `kubeseed verify`: findings on stdout (text or JSON); `Ok(true)` when the directory
/// fails: an error, or with `strict` a warning.
pub fn run(
    dir: &Path,
    strict: bool,
    output: Output,
    age_identity: Option<&Path>,
) -> Result<bool, crate::error::Error> {
    let identities = age_identity.map(crate::load::age_identities).transpose()?;
    let report = verify(dir, OffsetDateTime::now_utc(), identities.as_deref());
    let text = match output {
        Output::Text => report.to_text(),
        Output::Json => report.to_json(),
    };
    super::print(text.as_bytes())?;
    Ok(report.failed(strict))
}

/// Audits `dir` as of `now` (only expiry warnings and errors depend on it); with
/// `identities`, decrypts the Secrets of `gitops/`.
pub fn verify(dir: &Path, now: OffsetDateTime, identities: Option<&[Identity]>) -> Report {
    let mut report = Report::default();
    let tree = match crate::tree::read(dir, &|_| true) {
        Ok(tree) => tree,
        Err(finding) => {
            report.error(dir.display().to_string(), finding.problem.to_string());
            return report;
        }
    };
    for finding in &tree.findings {
        report.error(finding.path.clone(), finding.problem.to_string());
    }

    let index = check_index(&tree, &mut report);
    check_modes(&tree, index.as_ref(), &mut report);
    let kubeconfigs = kubeconfig::kubeconfigs(&tree, &mut report);
    let facts = pki::check(&tree, &kubeconfigs, now, &mut report);
    cluster::check(&tree, &kubeconfigs, &facts, now, &mut report);
    check_bundles(&tree, &facts, &mut report);
    gitops::check(&tree, identities, &mut report);

    report.errors.sort();
    report.errors.dedup();
    report.warnings.sort();
    report.warnings.dedup();
    report
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Index {
    version: u32,
    files: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entry {
    path: String,
    sha256: String,
    mode: String,
    secret: bool,
    kind: String,
}

/// `index.json` lists every file but itself, each with its hash and mode,
/// and nothing else. Returns the entries by path when it could be read.
fn check_index(tree: &Tree, report: &mut Report) -> Option<BTreeMap<String, Entry>> {
    let Some(bytes) = tree.bytes(INDEX_JSON) else {
        report.error(
            INDEX_JSON,
            "missing; without it hashes, modes and secrecy cannot be checked",
        );
        return None;
    };
    let index: Index = match serde_json::from_slice(bytes) {
        Ok(i) => i,
        Err(e) => {
            report.error(INDEX_JSON, format!("not a kubeseed index: {e}"));
            return None;
        }
    };
    if index.version != 1 {
        report.error(INDEX_JSON, format!("version {}, expected 1", index.version));
    }
    let mut entries = BTreeMap::new();
    let mut previous: Option<String> = None;
    for e in index.files {
        if previous.as_deref().is_some_and(|p| p >= e.path.as_str()) {
            report.error(
                INDEX_JSON,
                format!("{}: entries are not sorted by path or repeat one", e.path),
            );
        }
        previous = Some(e.path.clone());
        entries.insert(e.path.clone(), e);
    }
    for (path, e) in &entries {
        let Some((bytes, mode)) = tree.files.get(path) else {
            report.error(INDEX_JSON, format!("{path}: listed but missing"));
            continue;
        };
        if !e
            .sha256
            .eq_ignore_ascii_case(&hex::encode(Sha256::digest(bytes)))
        {
            report.error(INDEX_JSON, format!("{path}: sha256 mismatch"));
        }
        if e.mode != format!("{mode:04o}") {
            report.error(
                INDEX_JSON,
                format!("{path}: records mode {}, the file has {mode:04o}", e.mode),
            );
        }
        if !e.secret && must_be_secret(path, &e.kind, bytes) {
            report.error(
                INDEX_JSON,
                format!(
                    "{path}: marked secret: false, but a {} is a credential",
                    e.kind
                ),
            );
        }
    }
    for path in tree.files.keys() {
        if path != INDEX_JSON && !entries.contains_key(path) {
            report.error(path.clone(), "not listed in index.json");
        }
    }
    Some(entries)
}

/// Whether a file holds a credential whatever its index entry says.
fn must_be_secret(path: &str, kind: &str, bytes: &[u8]) -> bool {
    kind == "private-key"
        || kind == "kubeconfig"
        || crate::render::manifests::secret_token_id(path).is_some()
        || path.ends_with("encryption-config.yaml")
        || holds_private_key(bytes)
}

/// A PEM private key, plain or percent-encoded (Ignition data URLs).
pub(crate) fn holds_private_key(bytes: &[u8]) -> bool {
    [b"PRIVATE KEY-----".as_slice(), b"PRIVATE%20KEY-----"]
        .iter()
        .any(|needle| bytes.windows(needle.len()).any(|w| w == *needle))
}

fn in_rootfs(path: &str) -> bool {
    path.split('/').any(|c| c == "rootfs")
}

/// Outside `rootfs/` trees: secret files 0600, others 0644, directories
/// 0755. Inside, a file keeps its on-host mode (checked against
/// `index.json`), but a secret must not be readable by group or others.
fn check_modes(tree: &Tree, index: Option<&BTreeMap<String, Entry>>, report: &mut Report) {
    for (path, mode) in &tree.dirs {
        if !in_rootfs(path) && *mode != 0o755 {
            report.error(
                format!("{path}/"),
                format!("mode {mode:04o}, expected 0755"),
            );
        }
    }
    for (path, (bytes, mode)) in &tree.files {
        let secret = match index.and_then(|i| i.get(path)) {
            Some(e) => e.secret,
            None if path == INDEX_JSON => false,
            // Unlisted (already a finding): judge by content alone.
            None => must_be_secret(path, "", bytes),
        };
        if in_rootfs(path) {
            if secret && mode & 0o077 != 0 {
                report.error(
                    path.clone(),
                    format!("mode {mode:04o}: a secret must not be readable by group or others"),
                );
            }
            continue;
        }
        let expected = if secret { 0o600 } else { 0o644 };
        if *mode != expected {
            report.error(
                path.clone(),
                format!("mode {mode:04o}, expected {expected:04o}"),
            );
        }
    }
}

/// Node bundles (`nodes/<name>/`): a file at a host path agrees with the
/// file it was built from (the placement table read backwards), and a worker
/// bundle holds no private key. A bundle's controller is known by its
/// `pki/etcd/<name>/` directory.
fn check_bundles(tree: &Tree, facts: &pki::Facts, report: &mut Report) {
    for (path, (bytes, _)) in &tree.files {
        let Some(rest) = path.strip_prefix("nodes/") else {
            continue;
        };
        let Some((node, inner)) = rest.split_once('/') else {
            continue;
        };
        let controller = facts.controllers.contains(node);
        if !controller && holds_private_key(bytes) {
            report.error(
                path.clone(),
                format!("worker bundle {node} holds a private key; only controllers may"),
            );
        }
        let Some(host) = inner.strip_prefix("rootfs/") else {
            continue;
        };
        let Some(source) = source_of(&format!("/{host}"), node) else {
            continue;
        };
        if let Some(want) = tree.bytes(&source) {
            if want != bytes.as_slice() {
                report.error(path.clone(), format!("differs from {source}"));
            }
        }
    }
    // Directories of nodes that are not controllers, whose names say "key".
    let workers: BTreeSet<&str> = tree
        .dirs
        .keys()
        .filter_map(|d| d.strip_prefix("nodes/"))
        .filter(|n| !n.contains('/') && !facts.controllers.contains(*n))
        .collect();
    for (path, _) in tree.files.iter() {
        if let Some((node, _)) = path.strip_prefix("nodes/").and_then(|r| r.split_once('/')) {
            if workers.contains(node) && path.ends_with(".key") {
                report.error(
                    path.clone(),
                    format!("worker bundle {node} holds a key file; only controllers may"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_formats() {
        let mut r = Report::default();
        assert!(!r.failed(true));
        r.warn("a", "soon");
        assert!(!r.failed(false));
        assert!(r.failed(true));
        r.error("pki/ca.key", "mode 0644, expected 0600");
        assert!(r.failed(false));
        let text = r.to_text();
        assert!(text.contains("error: pki/ca.key: mode 0644, expected 0600\n"));
        assert!(text.contains("warning: a: soon\n"));
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(json["errors"][0]["path"], "pki/ca.key");
        assert_eq!(json["warnings"][0]["message"], "soon");
    }

    #[test]
    fn private_key_detection() {
        assert!(holds_private_key(b"x-----BEGIN EC PRIVATE KEY-----\n"));
        assert!(holds_private_key(
            b"data:,-----BEGIN%20RSA%20PRIVATE%20KEY-----"
        ));
        assert!(!holds_private_key(b"-----BEGIN PUBLIC KEY-----"));
        assert!(must_be_secret("manifests/x", "private-key", b""));
        assert!(!must_be_secret("pki/ca.crt", "certificate", b"CERT"));
    }
}
