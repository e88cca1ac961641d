//! The `gitops/` tree (with `[gitops]`): every cluster manifest of `manifests/`, as `kubectl
//! apply -k` or a Flux `Kustomization` takes it, each Secret SOPS-encrypted to the spec's
//! age recipients, and a `kustomization.yaml` listing them all. Nothing in it is secret, so
//! a pipeline may commit it whole; a re-render with the same plaintext gives the same bytes.

use std::fmt;

use crate::derive::Seed;
use crate::fileset::{File, FileSet, FileSetError, Kind};
use crate::gitops::sops::{self, SopsError};
use crate::gitops::yaml::{self, Value};
use crate::model::Model;
use crate::render::manifests::secret_token_id;
use crate::rfc3339;

/// The tree's directory in the output.
pub const DIR: &str = "gitops";

/// What SOPS encrypts in each Secret: its values, while names, types and labels stay
/// readable in review.
pub const ENCRYPTED_REGEX: &str = "^(data|stringData)$";

/// The file listing the tree for kustomize.
pub const KUSTOMIZATION: &str = "kustomization.yaml";

/// The suffix of an encrypted Secret's file name, `<manifest name>.sops.yaml`.
const SOPS_SUFFIX: &str = ".sops.yaml";

/// The recipients of the public demo identities in `examples/gitops/` (`flux.agekey`,
/// `break-glass.agekey`): their secret keys are in kubeseed's repository, so anyone can
/// decrypt what is encrypted to them.
pub const PUBLIC_DEMO_RECIPIENTS: [(&str, &str); 2] = [
    (
        "age1ksz7llu7f5dem3lec9858330f96zya7utw32nuz6gnvm43us3qkqk4kpku",
        "examples/gitops/flux.agekey",
    ),
    (
        "age1px59kdk9cjc3x6rhjmqvss9uz2gpmhwk3aztvh8hgd9c22rpmplqdmlvhc",
        "examples/gitops/break-glass.agekey",
    ),
];

/// One warning per recipient whose identity is a public demo one: the Secrets of `gitops/`
/// are then readable by anyone, however private the seed.
pub fn warnings(model: &Model) -> Vec<String> {
    let recipients = model.gitops_recipients.iter().flatten();
    recipients
        .filter_map(|r| {
            let (_, file) = PUBLIC_DEMO_RECIPIENTS
                .iter()
                .find(|(demo, _)| *demo == r.as_str())?;
            Some(format!(
                "gitops.age_recipients: {r} is the public demo identity {file}: anyone can \
                 decrypt the Secrets of gitops/ encrypted to it; never commit them anywhere \
                 (make your own with `age-keygen -o KEYFILE`)"
            ))
        })
        .collect()
}

/// Why the tree cannot be built. Never carries a Secret's bytes.
#[derive(Debug)]
pub enum GitOpsError {
    /// A secret manifest that SOPS's `encrypted_regex` would leave in the clear.
    NotASecret {
        manifest: String,
    },
    Sops {
        manifest: String,
        error: SopsError,
    },
    FileSet(FileSetError),
}

impl fmt::Display for GitOpsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GitOpsError::NotASecret { manifest } => write!(
                f,
                "{manifest} is secret but not a Secret with data or stringData, so SOPS would \
                 leave its content readable in gitops/; a --templates override must keep it a Secret"
            ),
            GitOpsError::Sops { manifest, error } => {
                write!(f, "cannot encrypt {manifest} for gitops/: {error}")
            }
            GitOpsError::FileSet(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for GitOpsError {}

impl From<FileSetError> for GitOpsError {
    fn from(e: FileSetError) -> Self {
        GitOpsError::FileSet(e)
    }
}

/// Adds `gitops/` to `files`, made from the `manifests/*.yaml` already in it, when the model
/// has age recipients. Each encrypted file's secrets come from the seed (`docs/derivation.md`
/// §9) and its `lastmodified` is `pki.not_before`, never the clock.
pub fn add_tree(model: &Model, seed: &Seed, files: &mut FileSet) -> Result<(), GitOpsError> {
    let Some(recipients) = &model.gitops_recipients else {
        return Ok(());
    };
    let lastmodified = rfc3339::format(model.not_before);
    let mut tree = FileSet::new();
    let mut resources = Vec::new();
    for (path, file) in files.iter() {
        let Some(name) = path.strip_prefix("manifests/").filter(|n| !n.contains('/')) else {
            continue;
        };
        let (name, kind, bytes) = if file.secret {
            let encrypted = encrypted_name(path, name);
            let text = std::str::from_utf8(&file.bytes)
                .ok()
                .filter(|text| is_secret_with_data(text))
                .ok_or_else(|| GitOpsError::NotASecret {
                    manifest: path.to_string(),
                })?;
            let key = seed.gitops_key(&encrypted);
            let bytes = sops::encrypt_yaml(text, &key, recipients, &lastmodified, ENCRYPTED_REGEX)
                .map_err(|error| GitOpsError::Sops {
                    manifest: path.to_string(),
                    error,
                })?;
            (encrypted, Kind::SopsSecret, bytes.into_bytes())
        } else {
            (name.to_string(), Kind::GitOpsManifest, file.bytes.clone())
        };
        tree.insert(&format!("{DIR}/{name}"), File::public(kind, bytes))?;
        resources.push(name);
    }
    tree.insert(
        &format!("{DIR}/{KUSTOMIZATION}"),
        File::public(Kind::Kustomization, kustomization(&resources)),
    )?;
    files.extend(tree)?;
    Ok(())
}

/// The file name of the encrypted `manifests/<name>`: `<name without .yaml>.sops.yaml`, and
/// for the token Secret `bootstrap-token.sops.yaml`, without the token id, so that a token
/// rotation changes that one file (and `cluster-info`), not the kustomization's list.
fn encrypted_name(path: &str, name: &str) -> String {
    if secret_token_id(path).is_some() {
        return format!("bootstrap-token{SOPS_SUFFIX}");
    }
    let stem = name.strip_suffix(".yaml").unwrap_or(name);
    format!("{stem}{SOPS_SUFFIX}")
}

/// The `manifests/` file that `gitops/<name>` was made from, among `paths` (`verify`).
pub fn source_of<'a>(name: &str, mut paths: impl Iterator<Item = &'a str>) -> Option<String> {
    paths
        .find(|path| {
            path.strip_prefix("manifests/")
                .filter(|m| !m.contains('/'))
                .is_some_and(|m| {
                    let secret_name = encrypted_name(path, m);
                    m == name || secret_name == name
                })
        })
        .map(str::to_string)
}

/// A Secret whose content is under `data` or `stringData` (top-level keys, as kubeseed's
/// templates write them), so that [`ENCRYPTED_REGEX`] encrypts all of it.
/// A document the YAML reader refuses is left to [`sops::encrypt_yaml`], which says why.
fn is_secret_with_data(text: &str) -> bool {
    let Ok(tree) = yaml::parse(text) else {
        return true;
    };
    let top = |key: &str| tree.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    top("kind") == Some(&Value::Str("Secret".into()))
        && ["data", "stringData"]
            .iter()
            .any(|k| matches!(top(k), Some(Value::Map(items)) if !items.is_empty()))
}

/// What `kustomization.yaml` starts with; its `resources` follow, one `  - <name>` a line.
pub const KUSTOMIZATION_HEAD: &str =
    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n";

/// `kustomization.yaml`: every file of the tree, in file name order.
fn kustomization(resources: &[String]) -> String {
    let mut out = String::from(KUSTOMIZATION_HEAD);
    for r in resources {
        out.push_str(&format!("  - {r}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gitops::age::Identity;

    /// The list names exactly the identities shipped in `examples/gitops/`.
    #[test]
    fn the_demo_recipients_are_the_examples_identities() {
        for (recipient, file) in PUBLIC_DEMO_RECIPIENTS {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
            let text = std::fs::read_to_string(&path).expect("the example identity file");
            let identities = Identity::parse_file(&text).expect("an identity file");
            assert_eq!(identities.len(), 1, "{file}");
            assert_eq!(identities[0].recipient().as_str(), recipient, "{file}");
        }
    }

    #[test]
    fn only_a_secret_with_data_may_be_encrypted_in_place() {
        let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: dg==\n";
        assert!(is_secret_with_data(secret));
        assert!(is_secret_with_data(&secret.replace("data:", "stringData:")));
        // What SOPS's encrypted_regex would leave readable.
        assert!(!is_secret_with_data(
            &secret.replace("kind: Secret", "kind: ConfigMap")
        ));
        assert!(!is_secret_with_data(
            &secret.replace("data:\n  k: dg==\n", "")
        ));
        assert!(!is_secret_with_data(
            &secret.replace("data:", "binaryData:")
        ));
        // A document the reader refuses is left for encrypt_yaml's own error.
        assert!(is_secret_with_data("a: &x 1\nb: *x\n"));
    }
}
