//! What ties the cluster together without the PKI's signatures: every
//! kubeconfig's server and CA agree (with `pki/ca.crt` and each other), the
//! bootstrap kubeconfig's token is the Secret's, and `cluster-info`'s JWS
//! verifies with that token (recomputed with [`crate::jws`]) over a
//! kubeconfig that names the same server and CA.
//!
//! Token secrets and client keys are held in [`Zeroizing`] buffers and never
//! reach a message.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::kubeconfig::Kubeconfig;
use super::pki::{pem_certs_der, Facts, CA};
use super::{yaml, Report, Tree, WARN_WITHIN};
use crate::jws;

/// How findings name the Secret's file when there is not exactly one.
const SECRET_FILES: &str = "manifests/bootstrap-token-<id>.yaml";
pub const CLUSTER_INFO: &str = "manifests/cluster-info-configmap.yaml";
pub const BOOTSTRAP: &str = "kubeconfig/bootstrap-kubelet.conf";

pub fn check(
    tree: &Tree,
    kubeconfigs: &[Kubeconfig],
    facts: &Facts,
    now: OffsetDateTime,
    report: &mut Report,
) {
    // The reference server: admin.conf's, else the first kubeconfig's.
    let reference = kubeconfigs
        .iter()
        .filter(|k| k.server.is_some())
        .min_by_key(|k| k.path != "kubeconfig/admin.conf");
    for kc in kubeconfigs {
        if let (Some(r), Some(s)) = (reference, &kc.server) {
            if Some(s) != r.server.as_ref() {
                report.error(
                    kc.path.clone(),
                    format!(
                        "server {s} differs from {}'s {}",
                        r.path,
                        r.server.as_deref().unwrap_or("")
                    ),
                );
            }
        }
        if let Some(ca) = &kc.ca {
            check_ca_data(report, &kc.path, ca, facts);
        }
    }
    if !kubeconfigs.iter().any(|k| k.path == BOOTSTRAP) && !tree.files.contains_key(BOOTSTRAP) {
        report.error(BOOTSTRAP, "missing");
    }
    let token = check_token(tree, kubeconfigs, now, report);
    check_cluster_info(tree, token.as_ref(), reference, facts, report);
}

/// `certificate-authority-data` is `pki/ca.crt` (compared as certificates):
/// the whole trust bundle, in order, so a client keeps trusting every CA the
/// bundle holds during a CA rotation.
fn check_ca_data(report: &mut Report, path: &str, pem: &[u8], facts: &Facts) {
    match pem_certs_der(pem) {
        Err(e) => report.error(path, format!("certificate-authority-data: {e}")),
        Ok(ders) => {
            let differs = match &facts.ca_bundle {
                Some(bundle) => *bundle != ders,
                None => facts.ca_der.as_ref().is_some_and(|ca| *ca != ders[0]),
            };
            if differs {
                report.error(path, format!("certificate-authority-data is not {CA}"));
            }
        }
    }
}

/// The token as the Secret holds it.
struct Token {
    /// The Secret's file.
    path: String,
    id: String,
    secret: Zeroizing<String>,
    signing: bool,
}

fn is_token_part(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn check_token(
    tree: &Tree,
    kubeconfigs: &[Kubeconfig],
    now: OffsetDateTime,
    report: &mut Report,
) -> Option<Token> {
    let files: Vec<&String> = tree
        .files
        .keys()
        .filter(|p| crate::render::manifests::secret_token_id(p).is_some())
        .collect();
    let path = match files.as_slice() {
        [one] => one.to_string(),
        [] => {
            report.error(SECRET_FILES, "missing: no bootstrap-token Secret");
            return None;
        }
        _ => {
            report.error(
                SECRET_FILES,
                format!(
                    "{} bootstrap-token Secrets; a render has exactly one",
                    files.len()
                ),
            );
            return None;
        }
    };
    let Some(bytes) = tree.bytes(path.as_str()) else {
        report.error(path.as_str(), "missing");
        return None;
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        report.error(path.as_str(), "not UTF-8");
        return None;
    };
    let Some(data) = yaml::top_mapping(text, "data") else {
        report.error(path.as_str(), "no data");
        return None;
    };
    let value = |key: &str| -> Option<Zeroizing<String>> {
        let (_, raw) = data.iter().find(|(k, _)| k == key)?;
        let b = STANDARD.decode(yaml::unquote(raw)?.as_bytes()).ok()?;
        String::from_utf8(b).ok().map(Zeroizing::new)
    };
    if yaml::scalar(text, "type").ok().as_deref() != Some("bootstrap.kubernetes.io/token") {
        report.error(path.as_str(), "type is not bootstrap.kubernetes.io/token");
    }
    let id = value("token-id").map(|s| s.to_string());
    let secret = value("token-secret");
    let (Some(id), Some(secret)) = (id, secret) else {
        report.error(
            path.as_str(),
            "token-id or token-secret is missing or not base64 text",
        );
        return None;
    };
    if !is_token_part(&id, 6) {
        report.error(path.as_str(), "token-id is not 6 characters of [a-z0-9]");
        return None;
    }
    if !is_token_part(&secret, 16) {
        report.error(
            path.as_str(),
            "token-secret is not 16 characters of [a-z0-9]",
        );
    }
    let name = yaml::scalar(text, "name").unwrap_or_default();
    if name != format!("bootstrap-token-{id}") {
        report.error(
            path.as_str(),
            format!("name {name:?} is not bootstrap-token-{id} (its token-id)"),
        );
    }
    match value("expiration") {
        None => report.warn(
            path.as_str(),
            "the bootstrap token never expires (no expiration); set bootstrap_token.expires",
        ),
        Some(t) => match OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339) {
            Err(_) => report.error(
                path.as_str(),
                "expiration is not an RFC 3339 time (the API server treats the token as expired)",
            ),
            Ok(t) if t <= now => report.warn(
                path.as_str(),
                format!(
                    "the bootstrap token expired at {}; nodes cannot join with it",
                    crate::rfc3339::format(t)
                ),
            ),
            Ok(t) if t - now <= WARN_WITHIN => report.warn(
                path.as_str(),
                format!(
                    "the bootstrap token expires within {} days",
                    (t - now).whole_days()
                ),
            ),
            Ok(_) => {}
        },
    }
    let signing = value("usage-bootstrap-signing").is_some_and(|v| v.as_str() == "true");
    if let Some(kc) = kubeconfigs.iter().find(|k| k.path == BOOTSTRAP) {
        let full = Zeroizing::new(format!("{id}.{}", secret.as_str()));
        match &kc.token {
            None => report.error(BOOTSTRAP, "no token"),
            Some(t) if t.as_bytes() != full.as_bytes() => {
                report.error(BOOTSTRAP, format!("token does not match {path}"))
            }
            Some(_) => {}
        }
    }
    Some(Token {
        path,
        id,
        secret,
        signing,
    })
}

fn check_cluster_info(
    tree: &Tree,
    token: Option<&Token>,
    reference: Option<&Kubeconfig>,
    facts: &Facts,
    report: &mut Report,
) {
    let Some(bytes) = tree.bytes(CLUSTER_INFO) else {
        report.error(CLUSTER_INFO, "missing");
        return;
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        report.error(CLUSTER_INFO, "not UTF-8");
        return;
    };
    let Some(kubeconfig) = yaml::literal(text, "kubeconfig") else {
        report.error(CLUSTER_INFO, "no kubeconfig literal block in data");
        return;
    };
    match yaml::scalar(&kubeconfig, "server") {
        Err(e) => report.error(CLUSTER_INFO, format!("kubeconfig: {e}")),
        Ok(s) => {
            if let Some(r) = reference.and_then(|r| r.server.as_ref().map(|s| (r, s))) {
                if &s != r.1 {
                    report.error(
                        CLUSTER_INFO,
                        format!("kubeconfig server {s} differs from {}'s {}", r.0.path, r.1),
                    );
                }
            }
        }
    }
    match yaml::scalar(&kubeconfig, "certificate-authority-data")
        .map(|v| STANDARD.decode(v.as_bytes()))
    {
        Ok(Ok(pem)) => check_ca_data(report, CLUSTER_INFO, &pem, facts),
        Ok(Err(_)) => report.error(CLUSTER_INFO, "certificate-authority-data is not base64"),
        Err(e) => report.error(CLUSTER_INFO, format!("kubeconfig: {e}")),
    }
    let data = yaml::top_mapping(text, "data").unwrap_or_default();
    let mut signed = false;
    for (key, raw) in &data {
        let Some(id) = key.strip_prefix("jws-kubeconfig-") else {
            continue;
        };
        let Some(token) = token.filter(|t| t.id == id) else {
            report.error(
                CLUSTER_INFO,
                format!(
                    "{key} names no token in {}",
                    token.map_or(SECRET_FILES, |t| t.path.as_str())
                ),
            );
            continue;
        };
        signed = true;
        let want = jws::detached_signature(&kubeconfig, &token.id, &token.secret);
        if yaml::unquote(raw).as_deref() != Some(want.as_str()) {
            report.error(CLUSTER_INFO, format!("{key} does not verify"));
        }
    }
    if let Some(t) = token.filter(|t| t.signing && !signed) {
        report.error(
            CLUSTER_INFO,
            format!(
                "jws-kubeconfig-{} is missing, but the token may sign (usage-bootstrap-signing)",
                t.id
            ),
        );
    }
}
