//! `cluster.toml` (spec versions 1 and 2): parsing, defaults and validation.
//!
//! This module owns the edge between what a user typed and what the rest of kubeseed may
//! assume. [`parse`] turns the text into a [`Spec`] in which every value is typed (IPs,
//! CIDRs, hosts, times, durations, enums) and every default has been applied, exactly once,
//! here. Later stages never see an `Option` that means "use the default" and never re-check
//! a value.
//!
//! Users are platform engineers running this in pipelines, so a mistake must come back as
//! something they can fix without reading source: file, line, dotted key, what is wrong and
//! a hint saying what would be right. Validation reports every problem it finds in one go,
//! sorted by line. Only TOML syntax errors, wrong value types and unknown keys stop at the
//! first one, because those come out of serde, which stops there.
//!
//! Two layers:
//! - a serde mirror of the file (`Raw*`, `deny_unknown_fields`, every value
//!   `Spanned` so that it knows its line, every key optional so that a missing required key
//!   is a validation problem reported with the others rather than a serde stop);
//! - checks that turn the mirror into the typed [`Spec`].
//!
//! Files: this one has the typed spec, the problems and [`parse`]; `raw.rs` the serde
//! mirror; `checks/` the checks, one file per section of the spec; `syntax.rs` the value
//! syntax (names, hosts, URLs, versions); `locate.rs` key paths for serde's and TOML's
//! errors; `defaults.rs` the defaults; `starter.rs` the starter spec of `kubeseed init`.
//!
//! It is a pure function of its input text: it reads no files and no clock.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;
use time::OffsetDateTime;
use toml::de::DeTable;

use crate::derive::keys::Algorithm;
use crate::duration::GoDuration;
use crate::gitops::age::Recipient;

pub mod assets;
mod checks;
mod defaults;
mod locate;
mod raw;
mod starter;
mod syntax;
#[cfg(test)]
mod test_support;

// Every default, at its old path (`crate::spec::DEFAULT_FORMATS`).
pub use defaults::*;
pub use starter::{default_spec_toml, STARTER_KUBERNETES_VERSION};

use checks::Check;
use locate::entries;
use raw::RawSpec;

// ---------------------------------------------------------------------------------------
// The typed spec.
// ---------------------------------------------------------------------------------------

/// A validated `cluster.toml` with every default applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub version: SpecVersion,
    pub cluster: Cluster,
    pub controllers: Vec<Controller>,
    pub pki: Pki,
    pub bootstrap_token: BootstrapToken,
    pub security: Security,
    pub addons: Addons,
    pub node_pools: Vec<NodePool>,
    /// `[gitops]`, when present: render the `gitops/` tree.
    pub gitops: Option<GitOps>,
}

/// The spec's `version`: which defaults a key left out gets ([`defaults::version_defaults`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpecVersion {
    V1,
    V2,
    V3,
}

impl SpecVersion {
    pub const ALL: [SpecVersion; 3] = [SpecVersion::V1, SpecVersion::V2, SpecVersion::V3];

    pub const fn number(self) -> i64 {
        match self {
            SpecVersion::V1 => 1,
            SpecVersion::V2 => 2,
            SpecVersion::V3 => 3,
        }
    }

    pub fn from_number(n: i64) -> Option<SpecVersion> {
        Self::ALL.into_iter().find(|v| v.number() == n)
    }
}

/// `[gitops]`: a `gitops/` tree of every cluster manifest for Flux or `kubectl apply -k`, each
/// Secret in it SOPS-encrypted to these age recipients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitOps {
    /// Sorted by their text and each listed once, so the order in the spec changes nothing.
    pub age_recipients: Vec<Recipient>,
}

/// `[addons]`: the cluster add-ons kubeseed renders as manifests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addons {
    /// CoreDNS at the kubelet's `clusterDNS` address (kubeadm's `kube-dns` Service).
    pub coredns: bool,
    /// kube-proxy as a DaemonSet; off for CNIs that replace it (Cilium).
    pub kube_proxy: bool,
    pub kube_proxy_mode: ProxyMode,
}

/// `addons.kube_proxy_mode`: KubeProxyConfiguration's `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProxyMode {
    Iptables,
    Nftables,
    Ipvs,
}

crate::names::spec_names!(ProxyMode {
    Iptables => "iptables",
    Nftables => "nftables",
    Ipvs => "ipvs",
});

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    pub name: String,
    pub api_server: ApiServer,
    pub service_cidr: IpNet,
    pub pod_cidr: IpNet,
    /// Lowercase DNS name without a trailing dot, e.g. `cluster.local`.
    pub dns_domain: String,
    pub kubernetes_version: KubeVersion,
    /// Where every image kubeseed renders comes from (kubeadm's `imageRepository`),
    /// without a trailing slash.
    pub image_repository: String,
}

/// The URL every kubeconfig points at: always `https`, never a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiServer {
    pub host: Host,
    pub port: u16,
}

impl ApiServer {
    /// `https://host:port`, IPv6 in brackets; the port is always written out.
    pub fn url(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for ApiServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "https://[{ip}]:{}", self.port),
            host => write!(f, "https://{host}:{}", self.port),
        }
    }
}

/// A host name or an address: the API server's host, and a certificate SAN.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Host {
    /// A lowercase DNS name without a trailing dot. In `pki.extra_sans` only, the first
    /// label may be the wildcard `*`.
    Dns(String),
    Ip(IpAddr),
}

impl fmt::Display for Host {
    /// The name, or the address in its canonical form (IPv6 without brackets).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Dns(name) => f.write_str(name),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// `cluster.kubernetes_version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeVersion {
    pub minor: u32,
    pub patch: u32,
    /// As written, with its `v` and any pre-release suffix, e.g. `v1.36.2`, `v1.37.0-rc.1`:
    /// the image tag.
    pub text: String,
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One `[[controllers]]` entry: a control-plane node with a stacked etcd member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Controller {
    /// A DNS-1123 label; also the node name and the etcd member name.
    pub name: String,
    pub address: IpAddr,
    /// Extra SANs for this node's certificates, lowercase DNS names, as written.
    pub dns_names: Vec<String>,
    /// Bundles to render for this node, in [`Format::ALL`] order, no duplicates.
    pub formats: Vec<Format>,
    pub kubelet: NodeKubelet,
}

/// What one bundle's kubelet registers its Node with (`labels`, `taints` of a controller or
/// a node pool).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeKubelet {
    /// `--node-labels`: only labels NodeRestriction lets a kubelet set.
    pub labels: BTreeMap<String, String>,
    /// `--register-with-taints`: `key[=value]:Effect`, as written, in spec order.
    pub taints: Vec<String>,
}

/// A node bundle format (`formats = [...]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Rootfs,
    RootfsTar,
    CloudInit,
    Ignition,
}

crate::names::spec_names!(Format {
    Rootfs => "rootfs",
    RootfsTar => "rootfs.tar",
    CloudInit => "cloud-init",
    Ignition => "ignition",
});

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pki {
    pub algorithm: Algorithm,
    /// Start of every validity window, UTC, whole seconds.
    pub not_before: OffsetDateTime,
    /// Whole seconds, positive, and `not_before + ca_validity` is a representable time.
    pub ca_validity: GoDuration,
    /// Whole seconds, positive, at most `ca_validity`.
    pub cert_validity: GoDuration,
    /// More SANs for the kube-apiserver serving certificate, as written, in order.
    pub extra_sans: Vec<Host>,
    pub external_ca: Option<ExternalCa>,
    /// Only the keys the spec sets; see [`Pki::generation`] for the rest.
    pub generations: BTreeMap<String, u32>,
    /// `[pki.trust]`: only the CAs the spec sets, each a list of the generations whose
    /// certificates go into that CA's trust bundle, ascending, without duplicates, and
    /// holding the CA's current generation; see [`Pki::trusted`] for the rest.
    pub trust: BTreeMap<String, Vec<u32>>,
}

impl Pki {
    /// The generation of an asset (a key of [`assets::generation_keys`]); 1 if not set.
    pub fn generation(&self, asset: &str) -> u32 {
        self.generations
            .get(asset)
            .copied()
            .unwrap_or(DEFAULT_GENERATION)
    }

    /// The generations a CA (an asset id of [`assets::CA_ASSETS`]) trusts, ascending: its
    /// `[pki.trust]` entry, or just its current generation when it has none.
    pub fn trusted(&self, ca: &str) -> Vec<u32> {
        match self.trust.get(ca) {
            Some(list) => list.clone(),
            None => vec![self.generation(ca)],
        }
    }
}

/// `pki.external_ca`: the user's own Kubernetes CA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalCa {
    /// Exactly as written; relative paths are relative to the spec's directory.
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl ExternalCa {
    /// The paths with relative ones taken relative to `spec_dir`, the directory holding
    /// `cluster.toml` (absolute ones are kept). Reading the files is the caller's job.
    pub fn resolve(&self, spec_dir: &Path) -> ExternalCa {
        ExternalCa {
            cert: spec_dir.join(&self.cert),
            key: spec_dir.join(&self.key),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootstrapToken {
    pub generation: u32,
    /// UTC, whole seconds, after `pki.not_before`; `None` = never expires.
    pub expires: Option<OffsetDateTime>,
    /// Non-empty, in [`TokenUsage::ALL`] order, no duplicates.
    pub usages: Vec<TokenUsage>,
    /// Each matches kube-apiserver's group pattern; in the order written, no duplicates.
    pub extra_groups: Vec<String>,
    /// One line, no control characters.
    pub description: String,
}

/// A bootstrap token usage (`usage-bootstrap-<name>` in the token Secret).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TokenUsage {
    Authentication,
    Signing,
}

crate::names::spec_names!(TokenUsage {
    Authentication => "authentication",
    Signing => "signing",
});

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Security {
    pub node_restriction: bool,
    pub auto_approve_node_csrs: bool,
    pub anonymous_discovery: bool,
    pub verify_kubelet_serving: bool,
    /// Positive; passed verbatim to `--cluster-signing-duration`.
    pub kubelet_signing_duration: GoDuration,
    pub encryption_at_rest: bool,
    /// Kubelets may delete their own Node object (and, by NodeRestriction, only their own).
    pub node_self_delete: bool,
    /// kube-apiserver writes an audit log under kubeseed's audit policy.
    pub audit_log: bool,
    /// kube-apiserver's `--service-account-extend-token-expiration`.
    pub service_account_extend_token_expiration: bool,
    /// The `DenyServiceExternalIPs` admission plugin.
    pub deny_service_external_ips: bool,
    /// Only the TLS 1.2 ECDHE AEAD cipher suites, on every control-plane component and kubelet.
    pub strong_tls_ciphers: bool,
    /// The kubelet's `seccompDefault`.
    pub seccomp_default: bool,
    /// The kubelet's `podPidsLimit`, if set (-1: unlimited, as the kubelet's own default).
    pub pod_pids_limit: Option<i64>,
    /// Pod Security admission's cluster-wide `enforce` level, if configured.
    pub pod_security: Option<PodSecurityLevel>,
    /// The kubelet's configuration and drop-ins are 0600 on the host.
    pub private_kubelet_files: bool,
}

/// `security.pod_security`: a Pod Security Standard level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PodSecurityLevel {
    Privileged,
    Baseline,
    Restricted,
}

crate::names::spec_names!(PodSecurityLevel {
    Privileged => "privileged",
    Baseline => "baseline",
    Restricted => "restricted",
});

/// One `[[node_pools]]` entry: workers that share one bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodePool {
    /// A DNS-1123 label, distinct from every controller name.
    pub name: String,
    /// In [`Format::ALL`] order, no duplicates.
    pub formats: Vec<Format>,
    pub kubelet: NodeKubelet,
}

// ---------------------------------------------------------------------------------------
// Problems.
// ---------------------------------------------------------------------------------------

/// A successfully parsed spec, and what is allowed but probably not meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub spec: Spec,
    /// Sorted by line.
    pub warnings: Vec<SpecProblem>,
}

/// Everything wrong with a spec, sorted by line (problems without a line first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecErrors(pub Vec<SpecProblem>);

/// One mistake in the spec, located as precisely as the spec allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecProblem {
    /// The path as the user named it, for messages only.
    pub file: String,
    /// 1-based; `None` when the problem is something missing with nowhere to point at.
    pub line: Option<usize>,
    /// Dotted path with array indices, e.g. `controllers[1].address`; empty when the
    /// problem has no key (a syntax error before the first key).
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// What would be right.
    pub hint: Option<String>,
}

impl fmt::Display for SpecProblem {
    /// `file:line: key: message`, then `  hint: ...` on a second line when there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

// ---------------------------------------------------------------------------------------
// Entry point.
// ---------------------------------------------------------------------------------------

/// Parse and validate a `cluster.toml` of any spec version this kubeseed reads.
///
/// `path_for_messages` only goes into [`SpecProblem::file`]; nothing is read.
pub fn parse(path_for_messages: &str, text: &str) -> Result<Parsed, SpecErrors> {
    let mut check = Check {
        file: path_for_messages,
        text,
        version: LATEST_SPEC_VERSION,
        errors: Vec::new(),
        warnings: Vec::new(),
    };

    // Parse once into a span-carrying tree: it locates serde's errors (which carry a span
    // but no key path) and lets the version be checked before anything else.
    let (table, syntax_errors) = DeTable::parse_recoverable(text);
    let entries = entries(&table);
    if let Some(error) = syntax_errors.first() {
        // Later syntax errors are usually echoes of the first one.
        return Err(SpecErrors(vec![check.syntax_problem(error, &entries)]));
    }

    // A file of another version would otherwise fail with unknown keys; say the real cause.
    if let Some(fatal) = check.version(&table) {
        return Err(SpecErrors(vec![fatal]));
    }

    let raw = match RawSpec::deserialize(toml::de::Deserializer::from(table)) {
        Ok(raw) => raw,
        Err(error) => {
            let problem = check.serde_problem(&error, &entries);
            check.errors.push(problem);
            return Err(check.into_errors());
        }
    };

    let spec = check.spec(raw);
    match spec {
        Some(spec) if check.errors.is_empty() => {
            sort_by_line(&mut check.warnings);
            Ok(Parsed {
                spec,
                warnings: check.warnings,
            })
        }
        _ => {
            if check.errors.is_empty() {
                // Every path that yields no spec records why; this is a guard, not a case.
                check.err(
                    None,
                    "",
                    "the spec could not be validated".to_string(),
                    None,
                );
            }
            Err(check.into_errors())
        }
    }
}

fn sort_by_line(problems: &mut [SpecProblem]) {
    // Stable: problems on one line keep the order in which the checks found them.
    problems.sort_by_key(|p| p.line);
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    // --- the whole thing ----------------------------------------------------------------

    #[test]
    fn base_parses_into_typed_values() {
        let Parsed { spec, warnings } = parse_ok(BASE);
        assert!(warnings.is_empty(), "{warnings:?}");
        let c = &spec.cluster;
        assert_eq!(c.name, "demo");
        assert_eq!(c.api_server.host, Host::Dns("api.demo.example.com".into()));
        assert_eq!(c.api_server.port, 6443);
        assert_eq!(c.api_server.url(), "https://api.demo.example.com:6443");
        assert_eq!(c.service_cidr, "10.96.0.0/12".parse::<IpNet>().unwrap());
        assert_eq!(c.pod_cidr, "10.244.0.0/16".parse::<IpNet>().unwrap());
        assert_eq!(c.dns_domain, "cluster.local");
        assert_eq!(
            c.kubernetes_version,
            KubeVersion {
                minor: 36,
                patch: 2,
                text: "v1.36.2".into()
            }
        );
        assert_eq!(spec.controllers.len(), 3);
        assert_eq!(
            spec.controllers[0],
            Controller {
                name: "cp-0".into(),
                address: "10.0.0.10".parse().unwrap(),
                dns_names: vec!["cp-0.demo.example.com".into()],
                formats: vec![Format::Rootfs, Format::CloudInit, Format::Ignition],
                kubelet: NodeKubelet::default(),
            }
        );
        assert_eq!(spec.controllers[1].formats, DEFAULT_FORMATS.to_vec());
        assert_eq!(spec.pki.algorithm, Algorithm::EcdsaP256);
        assert_eq!(
            spec.pki.not_before,
            time::macros::datetime!(2026-11-25 00:00:00 UTC)
        );
        assert_eq!(spec.pki.ca_validity.value, time::Duration::hours(87600));
        assert_eq!(spec.pki.cert_validity.text, "8760h");
        assert_eq!(
            spec.pki.generations,
            BTreeMap::from([("ca".to_string(), 1)])
        );
        assert_eq!(spec.pki.generation("apiserver"), 1);
        assert_eq!(spec.pki.external_ca, None);
        let t = &spec.bootstrap_token;
        assert_eq!(
            t.expires,
            Some(time::macros::datetime!(2026-11-26 00:00:00 UTC))
        );
        assert_eq!(
            t.usages,
            vec![TokenUsage::Authentication, TokenUsage::Signing]
        );
        assert_eq!(
            spec.security.kubelet_signing_duration.value,
            time::Duration::hours(72)
        );
        assert_eq!(
            spec.node_pools,
            vec![NodePool {
                name: "workers".into(),
                formats: vec![Format::Rootfs, Format::CloudInit, Format::Ignition],
                kubelet: NodeKubelet::default(),
            }]
        );
    }

    #[test]
    fn minimal_spec_gets_every_default() {
        let text = r#"version = 1
[cluster]
name = "demo"
api_server = "https://10.0.0.10"
kubernetes_version = "v1.32.0"
[[controllers]]
name = "cp-0"
address = "10.0.0.10"
[pki]
not_before = "2026-11-25T00:00:00Z"
"#;
        let spec = parse_ok(text).spec;
        assert_eq!(spec.cluster.api_server.port, DEFAULT_API_SERVER_PORT);
        assert_eq!(
            spec.cluster.api_server.to_string(),
            "https://10.0.0.10:6443"
        );
        assert_eq!(spec.cluster.service_cidr.to_string(), DEFAULT_SERVICE_CIDR);
        assert_eq!(spec.cluster.pod_cidr.to_string(), DEFAULT_POD_CIDR);
        assert_eq!(spec.cluster.dns_domain, DEFAULT_DNS_DOMAIN);
        assert_eq!(spec.controllers[0].dns_names, Vec::<String>::new());
        assert_eq!(spec.controllers[0].formats, DEFAULT_FORMATS.to_vec());
        assert_eq!(spec.pki.algorithm, DEFAULT_ALGORITHM);
        assert_eq!(spec.pki.ca_validity.text, DEFAULT_CA_VALIDITY);
        assert_eq!(spec.pki.cert_validity.text, DEFAULT_CERT_VALIDITY);
        assert!(spec.pki.extra_sans.is_empty());
        assert!(spec.pki.generations.is_empty());
        assert_eq!(
            spec.bootstrap_token,
            BootstrapToken {
                generation: DEFAULT_TOKEN_GENERATION,
                expires: None,
                usages: DEFAULT_TOKEN_USAGES.to_vec(),
                extra_groups: vec!["system:bootstrappers:kubeadm:default-node-token".into()],
                description: DEFAULT_TOKEN_DESCRIPTION.into(),
            }
        );
        assert_eq!(
            spec.security,
            Security {
                node_restriction: true,
                auto_approve_node_csrs: true,
                anonymous_discovery: true,
                verify_kubelet_serving: false,
                kubelet_signing_duration: GoDuration::parse("72h").unwrap(),
                encryption_at_rest: true,
                node_self_delete: false,
                audit_log: false,
                service_account_extend_token_expiration: true,
                deny_service_external_ips: false,
                strong_tls_ciphers: false,
                seccomp_default: false,
                pod_pids_limit: None,
                pod_security: None,
                private_kubelet_files: false,
            }
        );
        assert!(spec.node_pools.is_empty());
    }

    /// The defaults are a promise (see the constants); this pins them to SPEC.md's values.
    #[test]
    fn defaults_are_spec_md_values() {
        assert_eq!(DEFAULT_SERVICE_CIDR, "10.96.0.0/12");
        assert_eq!(DEFAULT_POD_CIDR, "10.244.0.0/16");
        assert_eq!(DEFAULT_DNS_DOMAIN, "cluster.local");
        assert_eq!(DEFAULT_ALGORITHM.name(), "ecdsa-p256");
        assert_eq!(DEFAULT_CA_VALIDITY, "87600h");
        assert_eq!(DEFAULT_CERT_VALIDITY, "8760h");
        assert_eq!(DEFAULT_KUBELET_SIGNING_DURATION, "72h");
        assert_eq!(DEFAULT_TOKEN_DESCRIPTION, "kubeseed bootstrap token");
        assert_eq!(
            DEFAULT_TOKEN_EXTRA_GROUPS,
            ["system:bootstrappers:kubeadm:default-node-token"]
        );
        let security = [
            DEFAULT_NODE_RESTRICTION,
            DEFAULT_AUTO_APPROVE_NODE_CSRS,
            DEFAULT_ANONYMOUS_DISCOVERY,
            DEFAULT_VERIFY_KUBELET_SERVING,
            DEFAULT_ENCRYPTION_AT_REST,
        ];
        assert_eq!(security, [true, true, true, false, true]);
    }

    #[test]
    fn display_is_file_line_key_message_then_hint() {
        let e = SpecErrors(errors(&edit(&[(26, r#"algorithm = "rsa-1024""#)])));
        assert_eq!(
            e.to_string(),
            "cluster.toml:26: pki.algorithm: \"rsa-1024\" is not supported\n  \
             hint: use one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096"
        );
        let no_line = SpecProblem {
            file: "x.toml".into(),
            line: None,
            key: "version".into(),
            message: "required key is missing".into(),
            hint: None,
        };
        assert_eq!(
            no_line.to_string(),
            "x.toml: version: required key is missing"
        );
    }

    #[test]
    fn every_problem_is_reported_sorted_by_line() {
        let text = edit(&[
            (48, r#"encryption_at_rest = true"#),
            (4, r#"name = "Demo""#),
            (13, r#"address = "10.0.0.300""#),
            (26, r#"algorithm = "rsa-1024""#),
            (1, "# no version"),
        ]);
        let text = text.replace(
            "kubelet_signing_duration = \"72h\"",
            "kubelet_signing_duration = \"3d\"",
        );
        let got: Vec<(Option<usize>, String)> =
            errors(&text).into_iter().map(|p| (p.line, p.key)).collect();
        assert_eq!(
            got,
            vec![
                (None, "version".to_string()),
                (Some(4), "cluster.name".to_string()),
                (Some(13), "controllers[0].address".to_string()),
                (Some(26), "pki.algorithm".to_string()),
                (Some(47), "security.kubelet_signing_duration".to_string()),
            ]
        );
    }

    /// Whatever the input, an answer and never a panic: every prefix of a full spec (cut
    /// inside strings, keys and headers), every spec with one line removed, and odd bytes.
    #[test]
    fn never_panics() {
        let full = format!("{BASE}[pki.external_ca]\ncert = \"é\"\nkey = \"k\"\n# ü µs\n");
        for (i, _) in full.char_indices() {
            let _ = parse("cluster.toml", &full[..i]);
        }
        let lines: Vec<&str> = full.lines().collect();
        for skip in 0..lines.len() {
            let text: Vec<&str> = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, l)| *l)
                .collect();
            let _ = parse("cluster.toml", &text.join("\n"));
        }
        for odd in [
            "",
            "\u{feff}",
            "\0",
            "[",
            "[[",
            "=",
            "version = 1\n[cluster]\napi_server = \"https://[\"",
            "\r\n\r\n",
        ] {
            let _ = parse("cluster.toml", odd);
        }
    }
}
