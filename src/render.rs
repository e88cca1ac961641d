//! Render: issued PKI + templates → the output file set, in memory.
//!
//! Templates are embedded in the binary and addressed by constant ids
//! (their path under `templates/`); minijinja runs with strict undefined so
//! a misspelt variable is an error, never an empty string. Output is
//! normalised to LF with exactly one trailing newline.

use std::fmt;

use base64::Engine;
use minijinja::{context, Environment, UndefinedBehavior, Value};

use crate::derive::BootstrapToken;
use crate::fileset::{File, FileSet, FileSetError, Kind};
use crate::issue::{IssuedCa, Pki};
use crate::keys::PrivateKey;
use crate::model::{CaId, LeafOutput, Model};

/// Template ids: their path under `templates/`.
pub const KUBECONFIG: &str = "kubeconfig/kubeconfig.yaml";

/// Every embedded template, by id.
pub const EMBEDDED: &[(&str, &str)] = &[(
    KUBECONFIG,
    include_str!("../templates/kubeconfig/kubeconfig.yaml"),
)];

/// The user name kubeadm gives the bootstrap token in bootstrap-kubelet.conf.
const BOOTSTRAP_USER: &str = "tls-bootstrap-token-user";

#[derive(Debug)]
pub enum RenderError {
    Template { id: String, message: String },
    Path(FileSetError),
    Missing(String),
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::Template { id, message } => write!(f, "template {id}: {message}"),
            RenderError::Path(e) => write!(f, "{e}"),
            RenderError::Missing(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for RenderError {}

impl From<FileSetError> for RenderError {
    fn from(e: FileSetError) -> Self {
        RenderError::Path(e)
    }
}

/// The template environment.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The templates built into the binary.
    pub fn embedded() -> Result<Templates, RenderError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.add_filter("yaml", yaml_scalar);
        env.add_filter("literal", crate::manifests::literal_block);
        for (id, text) in EMBEDDED.iter().chain(crate::manifests::TEMPLATES) {
            env.add_template(id, text)
                .map_err(|e| template_error(id, &e))?;
        }
        Ok(Templates { env })
    }

    pub(crate) fn render(&self, id: &str, ctx: Value) -> Result<String, RenderError> {
        let text = self
            .env
            .get_template(id)
            .and_then(|t| t.render(ctx))
            .map_err(|e| template_error(id, &e))?;
        Ok(normalize(&text))
    }
}

fn template_error(id: &str, e: &minijinja::Error) -> RenderError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    RenderError::Template {
        id: id.to_string(),
        message,
    }
}

/// LF only, exactly one trailing newline.
fn normalize(text: &str) -> String {
    let mut s = text.replace("\r\n", "\n");
    while s.ends_with('\n') {
        s.pop();
    }
    s.push('\n');
    s
}

/// A YAML scalar: plain when that is unambiguous, else a JSON string
/// (which YAML reads as a double-quoted scalar).
fn yaml_scalar(value: String) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@".contains(c))
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && !matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        value
    } else {
        serde_json::to_string(&value).unwrap_or_default()
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Renders every file of the PKI stage: certificates, keys and kubeconfigs.
pub fn render(
    model: &Model,
    pki: &Pki,
    token: &BootstrapToken,
    templates: &Templates,
) -> Result<FileSet, RenderError> {
    let mut files = FileSet::new();
    for ca in pki.cas.values() {
        add_pair(&mut files, ca.row.path, &ca.cert_pem, &ca.key)?;
    }
    let ca = kubernetes_ca(pki)?;
    for leaf in &pki.leaves {
        match &leaf.row.output {
            LeafOutput::Pair(path) => add_pair(&mut files, path, &leaf.cert_pem, &leaf.key)?,
            LeafOutput::Kubeconfig(name) => {
                let key_pem = leaf.key.to_pem();
                let text = templates.render(
                    KUBECONFIG,
                    context! {
                        ca_data => b64(ca.cert_pem.as_bytes()),
                        server => model.server,
                        cluster => model.cluster_name,
                        user => leaf.row.cn,
                        client_certificate_data => b64(leaf.cert_pem.as_bytes()),
                        client_key_data => b64(key_pem.as_bytes()),
                    },
                )?;
                files.insert(
                    &format!("kubeconfig/{name}.conf"),
                    File::secret(Kind::Kubeconfig, text.into_bytes()),
                )?;
            }
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
    let bootstrap = templates.render(
        KUBECONFIG,
        context! {
            ca_data => b64(ca.cert_pem.as_bytes()),
            server => model.server,
            cluster => model.cluster_name,
            user => BOOTSTRAP_USER,
            token => token.token().as_str(),
        },
    )?;
    files.insert(
        "kubeconfig/bootstrap-kubelet.conf",
        File::secret(Kind::Kubeconfig, bootstrap.into_bytes()),
    )?;
    files.extend(crate::manifests::render(model, pki, token, templates)?)?;
    Ok(files)
}

fn kubernetes_ca(pki: &Pki) -> Result<&IssuedCa, RenderError> {
    pki.cas
        .get(&CaId::Kubernetes)
        .ok_or_else(|| RenderError::Missing("the Kubernetes CA".into()))
}

fn add_pair(
    files: &mut FileSet,
    path: &str,
    cert_pem: &str,
    key: &PrivateKey,
) -> Result<(), RenderError> {
    files.insert(
        &format!("{path}.crt"),
        File::public(Kind::Certificate, cert_pem.as_bytes().to_vec()),
    )?;
    files.insert(
        &format!("{path}.key"),
        File::secret(Kind::PrivateKey, key.to_pem().as_bytes().to_vec()),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_loads() {
        let t = Templates::embedded().unwrap();
        for (id, _) in EMBEDDED {
            assert!(t.env.get_template(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn strict_undefined_is_an_error() {
        let t = Templates::embedded().unwrap();
        let err = t
            .render(KUBECONFIG, context! { server => "https://x:6443" })
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(KUBECONFIG), "{msg}");
        assert!(msg.contains("undefined"), "{msg}");
    }

    #[test]
    fn yaml_scalars() {
        assert_eq!(yaml_scalar("https://a.b:6443".into()), "https://a.b:6443");
        assert_eq!(
            yaml_scalar("system:kube-scheduler".into()),
            "system:kube-scheduler"
        );
        assert_eq!(yaml_scalar("123".into()), "\"123\"");
        assert_eq!(yaml_scalar("no".into()), "\"no\"");
        assert_eq!(
            yaml_scalar("https://[::1]:6443".into()),
            "\"https://[::1]:6443\""
        );
        assert_eq!(yaml_scalar("".into()), "\"\"");
    }

    #[test]
    fn normalized_output() {
        assert_eq!(normalize("a\r\nb\n\n"), "a\nb\n");
        assert_eq!(normalize("a"), "a\n");
    }
}
