//! `kubeseed join`: the bootstrap token, the CA pin and a ready
//! `kubeadm join` line, taken from a render in memory so they are by
//! construction the token and CA that `render` writes.
//!
//! The pin is kubeadm's `--discovery-token-ca-cert-hash`: `sha256:` and the
//! lowercase hex SHA-256 of the CA certificate's DER SubjectPublicKeyInfo
//! (`cmd/kubeadm/app/util/pubkeypin`), not of the whole certificate.

use std::fmt;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_parser::pem::parse_x509_pem;
use zeroize::Zeroizing;

use crate::cli::Output;
use crate::derive::BootstrapToken;
use crate::error::Error;
use crate::fileset::FileSet;
use crate::model::Model;
use crate::render::RenderError;

/// The rendered Kubernetes CA certificate the pin is computed from.
pub const CA_CERT: &str = "pki/ca.crt";

/// `kubeseed join`: the only command that prints a secret (the token), and only to stdout.
/// Warnings go to stderr so `--output json` stays parseable.
pub fn run(spec_path: &Path, seed_flag: Option<&Path>, output: Output) -> Result<(), Error> {
    let spec = super::load_spec(spec_path)?;
    let (seed, external) = super::load_secrets(&spec, spec_path, seed_flag)?;
    super::expiry_warnings(&spec);
    if !spec.security.anonymous_discovery {
        super::warn("security.anonymous_discovery is false: kubeadm's token discovery reads kube-public/cluster-info anonymously and will be refused; join with `kubeadm join --discovery-file` instead");
    }
    let info = crate::join(&spec, &seed, external)?;
    let text = match output {
        Output::Text => info.to_text(),
        Output::Json => info.to_json(),
    };
    super::print(text.as_bytes())
}

/// What `kubeseed join` prints. Holds the token: `Debug` redacts it and
/// every text made from it is zeroed on drop.
pub struct JoinInfo {
    /// `host:port`, as `kubeadm join` takes it.
    pub api_endpoint: String,
    pub token: Zeroizing<String>,
    /// `sha256:<hex>`.
    pub ca_cert_hash: String,
}

#[derive(Serialize)]
struct JoinJson<'a> {
    api_server_endpoint: &'a str,
    token: &'a str,
    discovery_token_ca_cert_hash: &'a str,
    kubeadm_join: &'a str,
}

impl JoinInfo {
    /// From a render of the same spec and seed, and the token it was rendered with.
    pub fn new(
        model: &Model,
        files: &FileSet,
        token: &BootstrapToken,
    ) -> Result<JoinInfo, RenderError> {
        let ca = files
            .get(CA_CERT)
            .ok_or_else(|| RenderError::Missing(format!("{CA_CERT} was not rendered")))?;
        Ok(JoinInfo {
            api_endpoint: model.cluster.api_endpoint.clone(),
            token: token.token(),
            ca_cert_hash: ca_cert_hash(&ca.bytes)
                .map_err(|e| RenderError::Missing(format!("{CA_CERT}: {e}")))?,
        })
    }

    /// `kubeadm join <host:port> --token <token> --discovery-token-ca-cert-hash sha256:<pin>`.
    pub fn command(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "kubeadm join {} --token {} --discovery-token-ca-cert-hash {}",
            self.api_endpoint,
            self.token.as_str(),
            self.ca_cert_hash
        ))
    }

    /// Three lines: the token, the pin, the command.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "token: {}\ndiscovery-token-ca-cert-hash: {}\n{}\n",
            self.token.as_str(),
            self.ca_cert_hash,
            self.command().as_str()
        ))
    }

    /// One JSON object and a newline.
    pub fn to_json(&self) -> Zeroizing<String> {
        let command = self.command();
        let json = JoinJson {
            api_server_endpoint: &self.api_endpoint,
            token: &self.token,
            discovery_token_ca_cert_hash: &self.ca_cert_hash,
            kubeadm_join: &command,
        };
        // Serializing &str fields cannot fail; an empty object would be the
        // visible sign if it ever did.
        let mut text = Zeroizing::new(serde_json::to_string_pretty(&json).unwrap_or_default());
        text.push('\n');
        text
    }
}

impl fmt::Debug for JoinInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinInfo")
            .field("api_endpoint", &self.api_endpoint)
            .field("token", &"<redacted>")
            .field("ca_cert_hash", &self.ca_cert_hash)
            .finish()
    }
}

/// `sha256:` + hex SHA-256 of the DER SubjectPublicKeyInfo of the first
/// certificate in `pem`.
pub fn ca_cert_hash(pem: &[u8]) -> Result<String, String> {
    let (_, block) = parse_x509_pem(pem).map_err(|e| format!("not PEM: {e}"))?;
    let cert = block
        .parse_x509()
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let spki = cert.tbs_certificate.subject_pki.raw;
    Ok(format!("sha256:{}", hex::encode(Sha256::digest(spki))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Upstream's vector: `testCertPEM` of kubeadm's
    /// `cmd/kubeadm/app/util/pubkeypin/pubkeypin_test.go` and its `expectedHash`.
    #[test]
    fn upstream_pin_vector() {
        let pem = include_bytes!("../../tests/vectors/kubeadm-pubkeypin-test.crt");
        assert_eq!(
            ca_cert_hash(pem).unwrap(),
            "sha256:345959acb2c3b2feb87d281961c893f62a314207ef02599f1cc4a5fb255480b3"
        );
    }

    #[test]
    fn not_a_certificate_is_an_error() {
        assert!(ca_cert_hash(b"hello").is_err());
        assert!(
            ca_cert_hash(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_err()
        );
    }

    #[test]
    fn outputs_and_debug() {
        let info = JoinInfo {
            api_endpoint: "[fd00::1]:6443".into(),
            token: Zeroizing::new("abcdef.0123456789abcdef".into()),
            ca_cert_hash: "sha256:00".into(),
        };
        assert_eq!(
            info.command().as_str(),
            "kubeadm join [fd00::1]:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:00"
        );
        assert_eq!(
            info.to_text().as_str(),
            "token: abcdef.0123456789abcdef\ndiscovery-token-ca-cert-hash: sha256:00\n\
             kubeadm join [fd00::1]:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:00\n"
        );
        let json: serde_json::Value = serde_json::from_str(&info.to_json()).unwrap();
        assert_eq!(json["token"], "abcdef.0123456789abcdef");
        assert_eq!(json["discovery_token_ca_cert_hash"], "sha256:00");
        assert_eq!(json["api_server_endpoint"], "[fd00::1]:6443");
        assert_eq!(json["kubeadm_join"], info.command().as_str());
        assert!(!format!("{info:?}").contains("0123456789abcdef"));
    }
}
