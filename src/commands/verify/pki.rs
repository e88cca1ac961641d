//! Certificates and keys: every certificate under `pki/` and every client
//! certificate embedded in a kubeconfig chains to its CA (signature checked
//! by x509-parser with ring), has a sane validity window and the key usages
//! of its role, and matches its private key; `sa.key` matches `sa.pub`; the
//! serving certificates cover what clients dial.
//!
//! A certificate's role and CA come from its path, through the identity
//! table ([`crate::model::cert_role`]).

use crate::rfc3339;
use std::collections::BTreeSet;
use std::net::IpAddr;

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::kubeconfig::Kubeconfig;
use super::{yaml, Report, Tree, WARN_WITHIN};
use crate::derive::keys::PrivateKey;
use crate::identity::{self, CaId, CertRole, CAS};
use crate::model::service_ip;

/// The Kubernetes CA every kubeconfig embeds and most leaves chain to.
pub const CA: &str = "pki/ca.crt";
const FRONT_PROXY_CA: &str = "pki/front-proxy-ca.crt";
const ETCD_CA: &str = "pki/etcd/ca.crt";

/// What later checks need from the PKI.
#[derive(Default)]
pub struct Facts {
    /// Controller names: `pki/etcd/<name>/` and `control-plane/<name>/` directories.
    pub controllers: BTreeSet<String>,
    /// DER of `pki/ca.crt`'s first (signing) certificate, when it parses.
    pub ca_der: Option<Vec<u8>>,
    /// DER of every certificate of `pki/ca.crt` (the trust bundle), in order,
    /// when they all parse.
    pub ca_bundle: Option<Vec<Vec<u8>>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Profile {
    Ca,
    Server,
    Client,
    /// etcd members serve and dial peers with one certificate.
    ServerClient,
}

/// A certificate's profile and the path of the CA that must have signed it.
type Role = (Profile, &'static str);

/// The role of `pki/<...>.crt`, as the identity table ([`model::cert_role`]) gives it: the
/// profile, and the file of the CA that must have signed it.
fn role(path: &str) -> Option<Role> {
    let ca_file = |id: CaId| match id {
        CaId::Kubernetes => CA,
        CaId::FrontProxy => FRONT_PROXY_CA,
        CaId::Etcd => ETCD_CA,
    };
    Some(match identity::cert_role(path)? {
        CertRole::Ca(_) => (Profile::Ca, ""),
        CertRole::Leaf { profile, issuer } => (
            match profile {
                identity::Profile::Server => Profile::Server,
                identity::Profile::Client => Profile::Client,
                identity::Profile::ServerClient => Profile::ServerClient,
            },
            ca_file(issuer),
        ),
    })
}

/// The DER of every PEM certificate in `bytes`, in order: a CA file is a
/// trust bundle, the signing certificate first (`[pki.trust]`). Anything
/// that is not a CERTIFICATE block, or no block at all, is an error.
pub fn pem_certs_der(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
        let pem = pem.map_err(|_| {
            if out.is_empty() {
                "not a PEM certificate".to_string()
            } else {
                format!("PEM block {} is not readable", out.len() + 1)
            }
        })?;
        if pem.label != "CERTIFICATE" {
            return Err(format!("PEM block is {:?}, not CERTIFICATE", pem.label));
        }
        out.push(pem.contents);
    }
    if out.is_empty() {
        return Err("not a PEM certificate".into());
    }
    Ok(out)
}

/// The DER of the first PEM certificate in `bytes`.
pub fn pem_cert_der(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(bytes).map_err(|_| "not a PEM certificate")?;
    if pem.label != "CERTIFICATE" {
        return Err(format!("PEM block is {:?}, not CERTIFICATE", pem.label));
    }
    Ok(pem.contents)
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err("trailing bytes after the certificate".into()),
        Err(e) => Err(format!("not an X.509 certificate ({e})")),
    }
}

fn time_of(t: &x509_parser::time::ASN1Time) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(t.timestamp()).ok()
}

pub fn check(
    tree: &Tree,
    kubeconfigs: &[Kubeconfig],
    now: OffsetDateTime,
    report: &mut Report,
) -> Facts {
    let mut facts = Facts::default();
    for dir in tree.dirs.keys() {
        for prefix in ["pki/etcd/", "control-plane/"] {
            if let Some(name) = dir.strip_prefix(prefix).filter(|n| !n.contains('/')) {
                facts.controllers.insert(name.to_string());
            }
        }
    }

    // Certificates by path, with the key file expected beside each.
    let mut certs: Vec<(String, Vec<u8>, Option<Role>)> = Vec::new();
    for (path, (bytes, _)) in &tree.files {
        let Some(base) = path
            .strip_prefix("pki/")
            .and_then(|p| p.strip_suffix(".crt"))
        else {
            continue;
        };
        match pem_cert_der(bytes) {
            Ok(der) => certs.push((path.clone(), der, role(path))),
            Err(e) => report.error(path.clone(), e),
        }
        let key = format!("pki/{base}.key");
        match tree.bytes(&key) {
            None => report.error(key, format!("missing: {path} has no private key beside it")),
            Some(key_bytes) => {
                if let Some((_, der, _)) = certs.last().filter(|(p, _, _)| p == path) {
                    check_key_match(report, &key, key_bytes, path, der);
                }
            }
        }
    }
    for ca in CAS {
        let path = format!("{}.crt", ca.path);
        if !tree.files.contains_key(&path) {
            report.error(path, "missing");
        }
    }
    let der_of = |p: &str| {
        certs
            .iter()
            .find(|(path, _, _)| path == p)
            .map(|(_, d, _)| d.clone())
    };
    facts.ca_der = der_of(CA);
    facts.ca_bundle = tree.bytes(CA).and_then(|b| pem_certs_der(b).ok());

    // A CA file is a trust bundle: the first certificate signs (it is the one
    // checked above and below, with the key beside it); every other one must
    // be a self-signed CA too, as a previous or next generation of it is.
    for ca in CAS {
        let path = format!("{}.crt", ca.path);
        let Some(bytes) = tree.bytes(&path) else {
            continue;
        };
        match pem_certs_der(bytes) {
            Err(e) => report.error(path.clone(), e),
            Ok(bundle) => {
                for (i, der) in bundle.iter().enumerate().skip(1) {
                    let label = format!("{path} (certificate {} of the bundle)", i + 1);
                    check_cert(report, &label, der, Profile::Ca, "", None, now);
                    if bundle[..i].contains(der) {
                        report.error(label, "repeats an earlier certificate of the bundle");
                    }
                }
            }
        }
    }

    for (path, der, role) in &certs {
        match role {
            Some((profile, issuer)) => check_cert(
                report,
                path,
                der,
                *profile,
                issuer,
                der_of(issuer).as_deref(),
                now,
            ),
            None => report.warn(
                path.clone(),
                "a certificate kubeseed does not render; its role and issuer are not checked",
            ),
        }
    }
    for kc in kubeconfigs {
        let Some(cert_pem) = &kc.client_cert else {
            continue;
        };
        let label = format!("{} (client-certificate-data)", kc.path);
        let der = match pem_cert_der(cert_pem) {
            Ok(d) => d,
            Err(e) => {
                report.error(label, e);
                continue;
            }
        };
        check_cert(
            report,
            &label,
            &der,
            Profile::Client,
            CA,
            facts.ca_der.as_deref(),
            now,
        );
        match &kc.client_key {
            Some(key) => check_key_match(
                report,
                &format!("{} (client-key-data)", kc.path),
                key,
                "client-certificate-data",
                &der,
            ),
            None => report.error(
                kc.path.clone(),
                "client-certificate-data without client-key-data",
            ),
        }
    }
    check_sa(tree, report);
    check_sans(tree, &facts, kubeconfigs, &der_of, report);
    facts
}

fn check_cert(
    report: &mut Report,
    path: &str,
    der: &[u8],
    profile: Profile,
    issuer: &str,
    issuer_der: Option<&[u8]>,
    now: OffsetDateTime,
) {
    let cert = match parse(der) {
        Ok(c) => c,
        Err(e) => return report.error(path, e),
    };
    // Validity.
    let validity = cert.validity();
    match (time_of(&validity.not_before), time_of(&validity.not_after)) {
        (Some(from), Some(to)) if from < to => {
            if to <= now {
                report.error(path, format!("expired at {}", rfc3339::format(to)));
            } else if to - now <= WARN_WITHIN {
                report.warn(
                    path,
                    format!(
                        "expires at {} (in {} days)",
                        rfc3339::format(to),
                        (to - now).whole_days()
                    ),
                );
            }
            if from > now {
                report.warn(path, format!("not valid before {}", rfc3339::format(from)));
            }
        }
        _ => report.error(path, "validity window is empty or unreadable"),
    }
    // Basic constraints and key usages.
    let is_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
    let key_usage = cert.key_usage().ok().flatten().map(|k| *k.value);
    let eku = cert
        .extended_key_usage()
        .ok()
        .flatten()
        .map(|e| e.value.clone());
    if profile == Profile::Ca {
        if !is_ca {
            report.error(path, "not a CA: basicConstraints CA:TRUE is missing");
        }
        if !key_usage.is_some_and(|k| k.key_cert_sign()) {
            report.error(path, "key usage lacks keyCertSign");
        }
        if cert.issuer() == cert.subject() {
            if let Err(e) = cert.verify_signature(None) {
                report.error(path, signature_problem(&e, "its own key (self-signed)"));
            }
        } else {
            // An external CA may be an intermediate; its parent is not here.
            report.warn(
                path,
                format!(
                    "issued by \"{}\", not self-signed: the chain above it is not checked",
                    cert.issuer()
                ),
            );
        }
        return;
    }
    if is_ca {
        report.error(path, "is a CA certificate (CA:TRUE), expected a leaf");
    }
    let (server, client) = match profile {
        Profile::Server => (true, false),
        Profile::Client => (false, true),
        _ => (true, true),
    };
    let has = |f: fn(&x509_parser::extensions::ExtendedKeyUsage) -> bool| {
        eku.as_ref().is_some_and(|e| e.any || f(e))
    };
    if server && !has(|e| e.server_auth) {
        report.error(path, "extended key usage lacks serverAuth");
    }
    if client && !has(|e| e.client_auth) {
        report.error(path, "extended key usage lacks clientAuth");
    }
    // Chain.
    let Some(issuer_der) = issuer_der else {
        return report.error(
            path,
            format!("cannot be checked: {issuer} is missing or unreadable"),
        );
    };
    let Ok(ca) = parse(issuer_der) else {
        return report.error(path, format!("cannot be checked: {issuer} is unreadable"));
    };
    if cert.issuer() != ca.subject() {
        report.error(
            path,
            format!(
                "not issued by {issuer}: issuer \"{}\" is not its subject",
                cert.issuer()
            ),
        );
    }
    if let Err(e) = cert.verify_signature(Some(ca.public_key())) {
        report.error(path, signature_problem(&e, issuer));
    } else if let (Some(leaf_end), Some(ca_end)) = (
        time_of(&validity.not_after),
        time_of(&ca.validity().not_after),
    ) {
        if leaf_end > ca_end {
            report.warn(
                path,
                format!(
                    "outlives {issuer}, which expires at {}",
                    rfc3339::format(ca_end)
                ),
            );
        }
    }
}

fn signature_problem(e: &X509Error, signer: &str) -> String {
    match e {
        X509Error::SignatureUnsupportedAlgorithm => {
            format!("its signature algorithm cannot be checked against {signer}")
        }
        _ => format!("not signed by {signer}"),
    }
}

/// `(algorithm OID, key bits)` of a DER SubjectPublicKeyInfo.
fn public_key_of(spki: &[u8]) -> Option<(String, Vec<u8>)> {
    let (_, info) = SubjectPublicKeyInfo::from_der(spki).ok()?;
    Some((
        info.algorithm.algorithm.to_id_string(),
        info.subject_public_key.data.to_vec(),
    ))
}

/// The private key in `key_bytes` is the one of the certificate `cert_der`.
/// Never quotes the key: parser messages name formats and sizes only.
fn check_key_match(
    report: &mut Report,
    key_path: &str,
    key_bytes: &[u8],
    cert_path: &str,
    cert_der: &[u8],
) {
    let Some(key) = read_key(report, key_path, key_bytes) else {
        return;
    };
    let Ok(cert) = parse(cert_der) else {
        return; // Reported with the certificate.
    };
    if public_key_of(&key.spki_der()) != public_key_of(cert.public_key().raw) {
        report.error(key_path, format!("does not match {cert_path}"));
    }
}

fn read_key(report: &mut Report, path: &str, bytes: &[u8]) -> Option<PrivateKey> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        report.error(path, "not a PEM private key (not UTF-8)");
        return None;
    };
    match PrivateKey::from_pem(text) {
        Ok(k) => Some(k),
        Err(e) => {
            report.error(path, format!("not a usable private key: {e}"));
            None
        }
    }
}

/// `sa.key` and `sa.pub` are one key pair.
fn check_sa(tree: &Tree, report: &mut Report) {
    const KEY: &str = "pki/sa.key";
    const PUB: &str = "pki/sa.pub";
    let (Some(key), Some(public)) = (tree.bytes(KEY), tree.bytes(PUB)) else {
        for p in [KEY, PUB] {
            if tree.bytes(p).is_none() {
                report.error(p, "missing");
            }
        }
        return;
    };
    let Some(key) = read_key(report, KEY, key) else {
        return;
    };
    let spki = x509_parser::pem::parse_x509_pem(public)
        .ok()
        .filter(|(_, p)| p.label == "PUBLIC KEY")
        .map(|(_, p)| p.contents);
    match spki {
        None => report.error(PUB, "not a PEM public key"),
        Some(der) if public_key_of(&der).is_none() => {
            report.error(PUB, "not a SubjectPublicKeyInfo")
        }
        Some(der) if public_key_of(&der) != public_key_of(&key.spki_der()) => {
            report.error(KEY, format!("does not match {PUB}"))
        }
        Some(_) => {}
    }
}

enum San {
    Dns(String),
    Ip(IpAddr),
}

fn sans_of(der: &[u8]) -> Option<Vec<San>> {
    let cert = parse(der).ok()?;
    let ext = cert.subject_alternative_name().ok().flatten()?;
    Some(
        ext.value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(San::Dns(d.to_ascii_lowercase())),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => <[u8; 4]>::try_from(*b)
                        .ok()
                        .map(|a| San::Ip(IpAddr::from(a))),
                    16 => <[u8; 16]>::try_from(*b)
                        .ok()
                        .map(|a| San::Ip(IpAddr::from(a))),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
    )
}

fn covers(sans: &[San], host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return sans.iter().any(|s| matches!(s, San::Ip(i) if *i == ip));
    }
    let host = host.to_ascii_lowercase();
    sans.iter().any(|s| match s {
        San::Dns(d) if d == &host => true,
        San::Dns(d) => d
            .strip_prefix("*.")
            .is_some_and(|suffix| host.split_once('.').is_some_and(|(_, h)| h == suffix)),
        San::Ip(_) => false,
    })
}

/// kube-apiserver's certificate covers the server of every kubeconfig, the
/// first service IP and every controller; each etcd member's covers its name.
fn check_sans(
    tree: &Tree,
    facts: &Facts,
    kubeconfigs: &[Kubeconfig],
    der_of: &dyn Fn(&str) -> Option<Vec<u8>>,
    report: &mut Report,
) {
    const APISERVER: &str = "pki/apiserver.crt";
    let mut wanted: Vec<(String, String)> = Vec::new();
    let mut hosts = BTreeSet::new();
    for kc in kubeconfigs {
        if let Some(host) = kc
            .server
            .as_deref()
            .and_then(|s| url::Url::parse(s).ok())
            .and_then(|u| u.host_str().map(str::to_string))
        {
            hosts.insert(host);
        }
    }
    for h in hosts {
        wanted.push((h, "the API server host".into()));
    }
    match service_subnet(tree) {
        Some(net) => wanted.push((service_ip(&net, 1).to_string(), "the first service IP".into())),
        None => report.warn(
            "manifests/kubeadm-config-configmap.yaml",
            "no networking.serviceSubnet (nor a static pod's --service-cluster-ip-range): the first service IP is not checked",
        ),
    }
    for c in &facts.controllers {
        wanted.push((c.clone(), format!("controller {c}")));
        let mut addresses = BTreeSet::new();
        let pod = format!("control-plane/{c}/manifests/kube-apiserver.yaml");
        if let Some(text) = tree.bytes(&pod).and_then(|b| std::str::from_utf8(b).ok()) {
            addresses.extend(flag_values(text, "--advertise-address"));
        }
        if let Some(sans) = der_of(&format!("pki/etcd/{c}/server.crt"))
            .as_deref()
            .and_then(sans_of)
        {
            for s in sans {
                if let San::Ip(ip) = s {
                    if !ip.is_loopback() {
                        addresses.insert(ip.to_string());
                    }
                }
            }
        }
        for a in addresses {
            wanted.push((a, format!("controller {c}'s address")));
        }
        for file in ["server", "peer"] {
            let path = format!("pki/etcd/{c}/{file}.crt");
            if let Some(sans) = der_of(&path).as_deref().and_then(sans_of) {
                if !covers(&sans, c) {
                    report.error(path, format!("SANs do not cover {c} (its member name)"));
                }
            }
        }
    }
    let Some(sans) = der_of(APISERVER).as_deref().and_then(sans_of) else {
        if tree.files.contains_key(APISERVER) {
            report.error(APISERVER, "no subjectAltName extension");
        }
        return;
    };
    for (host, what) in wanted {
        if !covers(&sans, &host) {
            report.error(APISERVER, format!("SANs do not cover {host} ({what})"));
        }
    }
}

/// `networking.serviceSubnet` of the kubeadm-config ConfigMap, else a static
/// pod's `--service-cluster-ip-range`; the first CIDR of a dual-stack list.
fn service_subnet(tree: &Tree) -> Option<ipnet::IpNet> {
    let text = |p: &str| {
        tree.bytes(p)
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(str::to_string)
    };
    let from_config = text("manifests/kubeadm-config-configmap.yaml")
        .and_then(|t| yaml::scalar(&t, "serviceSubnet").ok());
    let value = from_config.or_else(|| {
        tree.files
            .keys()
            .filter(|p| p.starts_with("control-plane/") && p.ends_with("/kube-apiserver.yaml"))
            .filter_map(|p| text(p))
            .find_map(|t| {
                flag_values(&t, "--service-cluster-ip-range")
                    .into_iter()
                    .next()
            })
    })?;
    value.split(',').next()?.trim().parse().ok()
}

/// Values of `- --flag=value` lines of a static pod.
fn flag_values(text: &str, flag: &str) -> Vec<String> {
    let prefix = format!("{flag}=");
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter_map(yaml::unquote)
        .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_from_paths() {
        assert!(matches!(role("pki/ca.crt"), Some((Profile::Ca, _))));
        assert!(matches!(role("pki/etcd/ca.crt"), Some((Profile::Ca, _))));
        assert!(matches!(
            role("pki/apiserver.crt"),
            Some((Profile::Server, CA))
        ));
        assert!(matches!(
            role("pki/front-proxy-client.crt"),
            Some((Profile::Client, FRONT_PROXY_CA))
        ));
        assert!(matches!(
            role("pki/etcd/cp-0/peer.crt"),
            Some((Profile::ServerClient, ETCD_CA))
        ));
        assert!(role("pki/other.crt").is_none());
    }

    #[test]
    fn san_matching() {
        let sans = vec![
            San::Dns("api.example.com".into()),
            San::Dns("*.apps.example.com".into()),
            San::Ip("10.96.0.1".parse().unwrap()),
            San::Ip("::1".parse().unwrap()),
        ];
        assert!(covers(&sans, "API.example.com"));
        assert!(covers(&sans, "x.apps.example.com"));
        assert!(!covers(&sans, "x.y.apps.example.com"));
        assert!(covers(&sans, "10.96.0.1"));
        assert!(covers(&sans, "[::1]"));
        assert!(!covers(&sans, "10.96.0.2"));
    }

    #[test]
    fn static_pod_flags() {
        let pod = "    - kube-apiserver\n    - --advertise-address=10.0.0.1\n    - \"--service-cluster-ip-range=10.96.0.0/12,fd00::/108\"\n";
        assert_eq!(flag_values(pod, "--advertise-address"), ["10.0.0.1"]);
        assert_eq!(
            flag_values(pod, "--service-cluster-ip-range"),
            ["10.96.0.0/12,fd00::/108"]
        );
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(pem_cert_der(b"\xff\xfe").is_err());
        let truncated = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let der = pem_cert_der(truncated).unwrap();
        assert!(parse(&der).is_err());
    }
}
