//! `gitops/` (with `[gitops]`): the tree agrees with `manifests/`. Without identities only
//! what is in the clear is compared; with `--age-identity` every Secret is decrypted (its
//! MAC checked as `sops -d` does) and compared with the manifest it was made from, which
//! [`super::cluster`] ties to the bootstrap kubeconfig's token.

use std::collections::BTreeSet;

use super::{Report, Tree};
use crate::gitops::age::Identity;
use crate::gitops::sops;
use crate::gitops::tree::{source_of, DIR, ENCRYPTED_REGEX, KUSTOMIZATION, KUSTOMIZATION_HEAD};
use crate::gitops::yaml::{self, Value};
use crate::render::manifests::secret_token_id;

pub(super) fn check(tree: &Tree, identities: Option<&[Identity]>, report: &mut Report) {
    let prefix = format!("{DIR}/");
    let names: BTreeSet<&str> = tree
        .files
        .keys()
        .filter_map(|p| p.strip_prefix(&prefix))
        .collect();
    if names.is_empty() {
        if identities.is_some() {
            report.error(
                DIR,
                "--age-identity given, but there is no gitops/ tree to decrypt",
            );
        }
        return;
    }
    let kustomization = format!("{prefix}{KUSTOMIZATION}");
    match tree.bytes(&kustomization).map(resources) {
        None => report.error(kustomization, "missing: Flux and kubectl apply -k need it"),
        Some(None) => report.error(kustomization, "not the kustomization kubeseed writes"),
        Some(Some(listed)) => {
            for name in names.iter().filter(|n| **n != KUSTOMIZATION) {
                if !listed.contains(*name) {
                    report.error(
                        format!("{prefix}{name}"),
                        "not listed in kustomization.yaml, so never applied",
                    );
                }
            }
            for name in &listed {
                if !names.contains(name.as_str()) {
                    report.error(
                        kustomization.clone(),
                        format!("lists {name}, which is missing"),
                    );
                }
            }
        }
    }
    for name in names.iter().filter(|n| **n != KUSTOMIZATION) {
        let path = format!("{prefix}{name}");
        let Some(bytes) = tree.bytes(&path) else {
            continue;
        };
        let Some(source) = source_of(name, tree.files.keys().map(String::as_str)) else {
            report.error(path, "made from no file of manifests/");
            continue;
        };
        let Some(original) = tree.bytes(&source) else {
            continue;
        };
        if !name.ends_with(".sops.yaml") {
            if secret_token_id(&source).is_some() {
                report.error(
                    path,
                    "the token Secret in the clear, in a tree meant to be committed: it belongs encrypted in bootstrap-token.sops.yaml",
                );
            } else if bytes != original {
                report.error(path, format!("differs from {source}"));
            }
            continue;
        }
        check_encrypted(&path, bytes, &source, original, identities, report);
    }
}

/// An encrypted Secret: a SOPS file of kubeseed's kind whose clear-text part is the
/// manifest's, and with identities, whose plaintext is the manifest.
fn check_encrypted(
    path: &str,
    bytes: &[u8],
    source: &str,
    original: &[u8],
    identities: Option<&[Identity]>,
    report: &mut Report,
) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        report.error(path, "not UTF-8");
        return;
    };
    let meta = match sops::metadata(text) {
        Ok(meta) => meta,
        Err(e) => {
            report.error(path, format!("not a SOPS file: {e}"));
            return;
        }
    };
    if meta.encrypted_regex != ENCRYPTED_REGEX {
        report.error(
            path,
            format!(
                "encrypted_regex is {:?}, not {ENCRYPTED_REGEX:?}",
                meta.encrypted_regex
            ),
        );
    }
    let Some(plain) = std::str::from_utf8(original)
        .ok()
        .and_then(|t| yaml::parse(t).ok())
    else {
        report.error(
            source,
            "cannot be read as YAML to compare with its encrypted copy",
        );
        return;
    };
    if clear(&meta.tree) != clear(&plain) {
        report.error(
            path,
            format!("its readable fields (names, type, data keys) differ from {source}"),
        );
    }
    let Some(identities) = identities else {
        return;
    };
    match sops::decrypt_yaml(text, identities) {
        Err(e) => report.error(
            path,
            format!("cannot be decrypted with --age-identity: {e}"),
        ),
        Ok(decrypted) => match yaml::parse(&decrypted) {
            Ok(tree) if tree == plain => {}
            Ok(_) => report.error(path, format!("decrypts to something other than {source}")),
            Err(e) => report.error(path, format!("decrypts to unreadable YAML: {e}")),
        },
    }
}

/// A Secret's tree with every value under `data`/`stringData` blanked: what a reader sees
/// without the key (the names of the data keys stay).
fn clear(tree: &[(String, Value)]) -> Vec<(String, Value)> {
    tree.iter()
        .map(|(k, v)| match (k.as_str(), v) {
            ("data" | "stringData", Value::Map(items)) => (
                k.clone(),
                Value::Map(
                    items
                        .iter()
                        .map(|(k, _)| (k.clone(), Value::Null))
                        .collect(),
                ),
            ),
            _ => (k.clone(), v.clone()),
        })
        .collect()
}

/// The `resources` of a `kustomization.yaml` as kubeseed writes it, or `None`.
fn resources(bytes: &[u8]) -> Option<BTreeSet<String>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let rest = text.strip_prefix(KUSTOMIZATION_HEAD)?;
    rest.lines()
        .map(|l| l.strip_prefix("  - ").map(str::to_string))
        .collect()
}
