//! `cluster.toml`, version 1: parsing, defaults and validation.
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
//! It is a pure function of its input text: it reads no files and no clock.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ipnet::IpNet;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::duration::GoDuration;
use crate::keys::Algorithm;
use crate::model;

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

use locate::{entries, join_key, leaf, path_at, table_name, Entry};
use raw::*;
use syntax::{
    a, dns_name_problem, is_bootstrap_group, label_problem, overlaps, parse_api_server,
    parse_kube_version, parse_san,
};

// ---------------------------------------------------------------------------------------
// The typed spec.
// ---------------------------------------------------------------------------------------

/// A validated `cluster.toml` with every default applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub cluster: Cluster,
    pub controllers: Vec<Controller>,
    pub pki: Pki,
    pub bootstrap_token: BootstrapToken,
    pub security: Security,
    pub node_pools: Vec<NodePool>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    pub name: String,
    pub api_server: ApiServer,
    pub service_cidr: IpNet,
    pub pod_cidr: IpNet,
    /// Lowercase DNS name without a trailing dot, e.g. `cluster.local`.
    pub dns_domain: String,
    pub kubernetes_version: KubeVersion,
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
    /// The generation of an asset (a key of [`model::generation_keys`]); 1 if not set.
    pub fn generation(&self, asset: &str) -> u32 {
        self.generations
            .get(asset)
            .copied()
            .unwrap_or(DEFAULT_GENERATION)
    }

    /// The generations a CA (an asset id of [`model::CAS`]) trusts, ascending: its
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
}

/// One `[[node_pools]]` entry: workers that share one bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodePool {
    /// A DNS-1123 label, distinct from every controller name.
    pub name: String,
    /// In [`Format::ALL`] order, no duplicates.
    pub formats: Vec<Format>,
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

/// Parse and validate a version-1 `cluster.toml`.
///
/// `path_for_messages` only goes into [`SpecProblem::file`]; nothing is read.
pub fn parse(path_for_messages: &str, text: &str) -> Result<Parsed, SpecErrors> {
    let mut check = Check {
        file: path_for_messages,
        text,
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

// ---------------------------------------------------------------------------------------
// The checks.
// ---------------------------------------------------------------------------------------

type Span = Range<usize>;

/// Collects problems while turning the serde mirror into a [`Spec`].
/// The words of one [`Check::named_list`]'s messages.
struct NamedList {
    /// `no <plural> listed`.
    plural: &'static str,
    /// `"x" is not <noun>`.
    noun: &'static str,
    use_hint: String,
    empty_hint: String,
}

struct Check<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<SpecProblem>,
    warnings: Vec<SpecProblem>,
}

/// A name that must be unique among controllers and node pools (they share `nodes/`).
struct NameUse {
    name: String,
    /// `controllers[0]`, `node_pools[1]`.
    owner: String,
    at: Span,
    /// An invalid name is already reported; a clash on it as well would be noise.
    valid: bool,
}

impl<'a> Check<'a> {
    fn line(&self, at: &Span) -> usize {
        // Spans are byte offsets; count newlines before the start.
        self.text
            .as_bytes()
            .iter()
            .take(at.start)
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    fn problem(
        &self,
        at: Option<Span>,
        key: &str,
        message: String,
        hint: Option<String>,
    ) -> SpecProblem {
        SpecProblem {
            file: self.file.to_string(),
            line: at.map(|at| self.line(&at)),
            key: key.to_string(),
            message,
            hint,
        }
    }

    fn err(&mut self, at: Option<Span>, key: &str, message: String, hint: Option<String>) {
        let problem = self.problem(at, key, message, hint);
        self.errors.push(problem);
    }

    fn warn(&mut self, at: Option<Span>, key: &str, message: String, hint: Option<String>) {
        let problem = self.problem(at, key, message, hint);
        self.warnings.push(problem);
    }

    fn into_errors(mut self) -> SpecErrors {
        sort_by_line(&mut self.errors);
        SpecErrors(self.errors)
    }

    // --- syntax, serde and version ---------------------------------------------------

    fn syntax_problem(&self, error: &toml::de::Error, entries: &[Entry]) -> SpecProblem {
        let at = error.span();
        let key = at
            .as_ref()
            .map(|at| path_at(entries, at.start))
            .unwrap_or_default();
        let column = at.as_ref().map(|at| {
            let start = at.start.min(self.text.len());
            let line_start = self
                .text
                .as_bytes()
                .iter()
                .take(start)
                .rposition(|b| *b == b'\n')
                .map_or(0, |nl| nl + 1);
            self.text
                .get(line_start..start)
                .map_or(start - line_start, |s| s.chars().count())
                + 1
        });
        let hint = match column {
            Some(column) => format!(
                "fix the TOML syntax at column {column} (strings need \"quotes\", tables [headers])"
            ),
            None => "fix the TOML syntax (strings need \"quotes\", tables [headers])".to_string(),
        };
        self.problem(
            at,
            &key,
            format!("invalid TOML: {}", error.message()),
            Some(hint),
        )
    }

    /// Checks `version`. Returns the one problem to report alone when the file is of
    /// another version; records (and returns `None` for) a missing version.
    fn version(&mut self, table: &Spanned<DeTable<'_>>) -> Option<SpecProblem> {
        let Some((_, value)) = table
            .get_ref()
            .iter()
            .find(|(k, _)| k.get_ref() == "version")
        else {
            self.err(
                None,
                "version",
                "required key is missing".to_string(),
                Some(format!("add version = {SPEC_VERSION} as the first line")),
            );
            return None;
        };
        let at = Some(value.span());
        match value.get_ref() {
            DeValue::Integer(int) => {
                let n = i64::from_str_radix(int.as_str(), int.radix()).ok();
                match n {
                    Some(SPEC_VERSION) => None,
                    Some(n) if n > SPEC_VERSION => Some(self.problem(
                        at,
                        "version",
                        format!("version {n} is not supported; this kubeseed reads version {SPEC_VERSION}"),
                        Some(format!(
                            "use a kubeseed release that reads version {n}, or write a version {SPEC_VERSION} spec"
                        )),
                    )),
                    _ => Some(self.problem(
                        at,
                        "version",
                        format!("{} is not a spec version", int.as_str()),
                        Some(format!("write version = {SPEC_VERSION}")),
                    )),
                }
            }
            other => Some(self.problem(
                at,
                "version",
                format!(
                    "expected the integer {SPEC_VERSION}, found {}",
                    a(other.type_str())
                ),
                Some(format!("write version = {SPEC_VERSION} (no quotes)")),
            )),
        }
    }

    /// Rewrites one of serde's messages in the spec's own terms, with the key it is about.
    fn serde_problem(&self, error: &toml::de::Error, entries: &[Entry]) -> SpecProblem {
        let at = error.span();
        let path = at
            .as_ref()
            .map(|at| path_at(entries, at.start))
            .unwrap_or_default();
        let message = error.message();

        if let Some(rest) = message.strip_prefix("unknown field `") {
            // An unknown [[array]] of tables is located at its first element; name the key.
            let path = match path.strip_suffix(']').and_then(|p| p.rsplit_once('[')) {
                Some((array, _)) => array.to_string(),
                None => path,
            };
            let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
            let hint = match tail.strip_prefix(", expected ") {
                Some(expected) => format!("expected {expected}"),
                None => "this table takes no keys".to_string(),
            };
            return self.problem(
                at,
                &path,
                format!("unknown key `{name}` in {}", table_name(&path)),
                Some(hint),
            );
        }

        // serde speaks Rust ("i64", "sequence", "map"); users wrote TOML.
        let message = message
            .replace("expected i64", "expected an integer")
            .replace("expected a sequence", "expected an array")
            .replace("invalid type: map", "invalid type: table")
            .replace("invalid type: sequence", "invalid type: array")
            .replace("floating point", "float");
        let leaf = leaf(&path);
        let hint = if message.contains("expected a string") {
            format!("quote the value: {leaf} = \"...\"")
        } else if message.contains("expected an integer") {
            format!("write a whole number without quotes, e.g. {leaf} = 1")
        } else if message.contains("expected a boolean") {
            format!("write {leaf} = true or {leaf} = false, without quotes")
        } else if message.contains("expected an array") {
            if path == "controllers" || path == "node_pools" {
                format!("write each entry as its own [[{path}]] table")
            } else {
                format!("write a list, e.g. {leaf} = [\"...\"]")
            }
        } else if message.contains("expected a table") {
            format!("write it as a [{path}] table")
        } else {
            "see the version 1 spec schema in SPEC.md".to_string()
        };
        self.problem(at, &path, message, Some(hint))
    }

    /// A required key: reports it missing (at its table's header) and returns `None`.
    fn required<T>(
        &mut self,
        value: Option<S<T>>,
        table_at: &Span,
        key: &str,
        example: &str,
    ) -> Option<S<T>> {
        if value.is_none() {
            self.err(
                Some(table_at.clone()),
                key,
                "required key is missing".to_string(),
                Some(format!("add {example} to {}", table_name(key))),
            );
        }
        value
    }

    // --- the whole spec ----------------------------------------------------------------

    fn spec(&mut self, raw: RawSpec) -> Option<Spec> {
        let mut names = Vec::new();
        let cluster = self.cluster(raw.cluster);
        let controllers = self.controllers(raw.controllers, &mut names);
        let node_pools = self.node_pools(raw.node_pools, &mut names);
        self.unique_names(&names);
        // Every controller name as written (even a wrong one), so a generation key for it
        // is not reported on top of the name.
        let mut controller_names: Vec<String> = Vec::new();
        for n in names.iter().filter(|n| n.owner.starts_with("controllers[")) {
            if !controller_names.contains(&n.name) {
                controller_names.push(n.name.clone());
            }
        }
        let (pki, not_before) = self.pki(raw.pki, &controller_names);
        let bootstrap_token = self.bootstrap_token(raw.bootstrap_token, not_before);
        let security = self.security(raw.security);
        Some(Spec {
            cluster: cluster?,
            controllers,
            pki: pki?,
            bootstrap_token: bootstrap_token?,
            security: security?,
            node_pools,
        })
    }

    // --- [cluster] -----------------------------------------------------------------------

    fn cluster(&mut self, raw: Option<S<RawCluster>>) -> Option<Cluster> {
        let Some(raw) = raw else {
            self.err(
                None,
                "cluster",
                "the [cluster] table is missing".to_string(),
                Some(
                    "add a [cluster] table with name, api_server and kubernetes_version"
                        .to_string(),
                ),
            );
            return None;
        };
        let header = raw.span();
        let raw = raw.into_inner();

        let name = self
            .required(raw.name, &header, "cluster.name", "name = \"demo\"")
            .and_then(|name| self.cluster_name(name));
        let api_server = self
            .required(
                raw.api_server,
                &header,
                "cluster.api_server",
                "api_server = \"https://api.demo.example.com:6443\"",
            )
            .and_then(|url| self.api_server(url));
        let service_cidr = self.cidr(
            raw.service_cidr,
            "cluster.service_cidr",
            DEFAULT_SERVICE_CIDR,
        );
        let service_cidr = service_cidr.and_then(|(net, at)| self.service_cidr_size(net, at));
        let pod_cidr = self.cidr(raw.pod_cidr, "cluster.pod_cidr", DEFAULT_POD_CIDR);
        if let (Some((service, service_at)), Some((pod, pod_at))) = (&service_cidr, &pod_cidr) {
            if overlaps(service, pod) {
                let service_line = service_at
                    .as_ref()
                    .map(|at| format!(" (line {})", self.line(at)))
                    .unwrap_or_else(|| " (the default)".to_string());
                self.err(
                    pod_at.clone(),
                    "cluster.pod_cidr",
                    format!("{pod} overlaps service_cidr {service}{service_line}"),
                    Some(format!(
                        "pod and service addresses must not collide; pick disjoint ranges such as the defaults {DEFAULT_SERVICE_CIDR} and {DEFAULT_POD_CIDR}"
                    )),
                );
            }
        }
        let dns_domain = self.dns_domain(raw.dns_domain);
        let kubernetes_version = self
            .required(
                raw.kubernetes_version,
                &header,
                "cluster.kubernetes_version",
                "kubernetes_version = \"v1.36.2\"",
            )
            .and_then(|v| self.kube_version(v));

        Some(Cluster {
            name: name?,
            api_server: api_server?,
            service_cidr: service_cidr?.0,
            pod_cidr: pod_cidr?.0,
            dns_domain: dns_domain?,
            kubernetes_version: kubernetes_version?,
        })
    }

    fn cluster_name(&mut self, name: S<String>) -> Option<String> {
        let ok = (1..=63).contains(&name.get_ref().len())
            && name
                .get_ref()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            return Some(name.into_inner());
        }
        self.err(
            Some(name.span()),
            "cluster.name",
            format!("\"{}\" is not a valid cluster name", name.get_ref()),
            Some("use 1 to 63 characters from a-z, 0-9 and \"-\"".to_string()),
        );
        None
    }

    fn api_server(&mut self, url: S<String>) -> Option<ApiServer> {
        match parse_api_server(url.get_ref()) {
            Ok(api) => Some(api),
            Err((message, hint)) => {
                self.err(Some(url.span()), "cluster.api_server", message, Some(hint));
                None
            }
        }
    }

    /// Parses a CIDR (or its default), rejecting host bits. Returns it with its span
    /// (`None` for the default) for the cross-checks.
    fn cidr(
        &mut self,
        raw: Option<S<String>>,
        key: &str,
        default: &str,
    ) -> Option<(IpNet, Option<Span>)> {
        let (text, at) = match &raw {
            Some(raw) => (raw.get_ref().as_str(), Some(raw.span())),
            None => (default, None),
        };
        let net = match IpNet::from_str(text) {
            Ok(net) => net,
            Err(_) => {
                let hint = match IpAddr::from_str(text) {
                    Ok(IpAddr::V4(_)) => format!("add a prefix length: \"{text}/16\""),
                    Ok(IpAddr::V6(_)) => format!("add a prefix length: \"{text}/112\""),
                    Err(_) => format!("write ADDRESS/PREFIX, e.g. \"{default}\""),
                };
                self.err(
                    at,
                    key,
                    format!("\"{text}\" is not a CIDR range"),
                    Some(hint),
                );
                return None;
            }
        };
        if net.addr() != net.network() {
            self.err(
                at,
                key,
                format!("\"{text}\" has host bits set"),
                Some(format!("use the network address: \"{}\"", net.trunc())),
            );
            return None;
        }
        Some((net, at))
    }

    /// kube-apiserver refuses a service range with more than 2^20 addresses, and the
    /// cluster DNS service takes the 10th address, so the range needs at least 16.
    fn service_cidr_size(&mut self, net: IpNet, at: Option<Span>) -> Option<(IpNet, Option<Span>)> {
        let (min, max) = match net {
            IpNet::V4(_) => (12, 28),
            IpNet::V6(_) => (108, 124),
        };
        let hint = "use an IPv4 prefix from /12 to /28 or an IPv6 prefix from /108 to /124: kube-apiserver allows at most 2^20 service addresses, and the cluster DNS service takes the 10th address";
        let message = if net.prefix_len() < min {
            format!("{net} is too large: kube-apiserver allows at most 2^20 service addresses")
        } else if net.prefix_len() > max {
            format!("{net} is too small to hold the cluster DNS service address (the 10th)")
        } else {
            return Some((net, at));
        };
        self.err(at, "cluster.service_cidr", message, Some(hint.to_string()));
        None
    }

    fn dns_domain(&mut self, raw: Option<S<String>>) -> Option<String> {
        let Some(raw) = raw else {
            return Some(DEFAULT_DNS_DOMAIN.to_string());
        };
        match dns_name_problem(raw.get_ref(), false) {
            None => Some(raw.into_inner()),
            Some((reason, hint)) => {
                self.err(
                    Some(raw.span()),
                    "cluster.dns_domain",
                    format!("\"{}\" is not a valid DNS name: {reason}", raw.get_ref()),
                    Some(hint),
                );
                None
            }
        }
    }

    fn kube_version(&mut self, raw: S<String>) -> Option<KubeVersion> {
        match parse_kube_version(raw.get_ref()) {
            Ok(v) => Some(v),
            Err((message, hint)) => {
                self.err(
                    Some(raw.span()),
                    "cluster.kubernetes_version",
                    message,
                    Some(hint),
                );
                None
            }
        }
    }

    // --- [[controllers]] and [[node_pools]] ----------------------------------------------

    fn controllers(
        &mut self,
        raw: Option<S<Vec<S<RawController>>>>,
        names: &mut Vec<NameUse>,
    ) -> Vec<Controller> {
        let (list_at, list) = match raw {
            Some(raw) => (Some(raw.span()), raw.into_inner()),
            None => (None, Vec::new()),
        };
        let count = list.len();
        if count == 0 {
            self.err(
                list_at,
                "controllers",
                "no controllers: at least one [[controllers]] table is required".to_string(),
                Some(
                    "add a [[controllers]] table with name and address for each control-plane node"
                        .to_string(),
                ),
            );
        } else if count > MAX_CONTROLLERS {
            self.err(
                list.get(MAX_CONTROLLERS).map(|c| c.span()),
                "controllers",
                format!("{count} controllers; at most {MAX_CONTROLLERS} are supported"),
                Some("every controller is an etcd member and more members slow every write; use 3 or 5".to_string()),
            );
        } else if count % 2 == 0 {
            self.warn(
                list.first().map(|c| c.span()),
                "controllers",
                format!(
                    "{count} controllers: an even number of etcd members tolerates no more failures than {}",
                    count - 1
                ),
                Some("use an odd number of controllers (1, 3 or 5)".to_string()),
            );
        }

        let mut out = Vec::new();
        let mut addresses: Vec<(IpAddr, String, Span)> = Vec::new();
        for (i, item) in list.into_iter().enumerate() {
            let owner = format!("controllers[{i}]");
            let header = item.span();
            let raw = item.into_inner();

            let name = self
                .required(
                    raw.name,
                    &header,
                    &format!("{owner}.name"),
                    "name = \"cp-0\"",
                )
                .and_then(|name| self.node_name(name, &owner, names));

            let address = self
                .required(
                    raw.address,
                    &header,
                    &format!("{owner}.address"),
                    "address = \"10.0.0.10\"",
                )
                .and_then(|address| {
                    let key = format!("{owner}.address");
                    let ip = self.node_address(&address, &key)?;
                    if let Some((_, first, first_at)) = addresses.iter().find(|(a, _, _)| *a == ip)
                    {
                        let line = self.line(first_at);
                        self.err(
                            Some(address.span()),
                            &key,
                            format!("{ip} is already the address of {first} (line {line})"),
                            Some("every controller needs its own IP address".to_string()),
                        );
                        return None;
                    }
                    addresses.push((ip, owner.clone(), address.span()));
                    Some(ip)
                });

            let mut dns_names = Vec::new();
            for (j, dns) in raw.dns_names.unwrap_or_default().into_iter().enumerate() {
                match dns_name_problem(dns.get_ref(), false) {
                    None => dns_names.push(dns.into_inner()),
                    Some((reason, hint)) => self.err(
                        Some(dns.span()),
                        &format!("{owner}.dns_names[{j}]"),
                        format!("\"{}\" is not a valid DNS name: {reason}", dns.get_ref()),
                        Some(hint),
                    ),
                }
            }

            let formats = self.formats(raw.formats, &owner);

            if let (Some(name), Some(address), Some(formats)) = (name, address, formats) {
                out.push(Controller {
                    name,
                    address,
                    dns_names,
                    formats,
                });
            }
        }
        out
    }

    fn node_pools(
        &mut self,
        raw: Option<S<Vec<S<RawNodePool>>>>,
        names: &mut Vec<NameUse>,
    ) -> Vec<NodePool> {
        let mut out = Vec::new();
        for (i, item) in raw
            .map(|r| r.into_inner())
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let owner = format!("node_pools[{i}]");
            let header = item.span();
            let raw = item.into_inner();
            let name = self
                .required(
                    raw.name,
                    &header,
                    &format!("{owner}.name"),
                    "name = \"workers\"",
                )
                .and_then(|name| self.node_name(name, &owner, names));
            let formats = self.formats(raw.formats, &owner);
            if let (Some(name), Some(formats)) = (name, formats) {
                out.push(NodePool { name, formats });
            }
        }
        out
    }

    /// A controller or node-pool name: a DNS-1123 label (it is a node name and a directory
    /// name). Records it for the uniqueness check even when invalid, so one typo does not
    /// hide a clash.
    fn node_name(
        &mut self,
        name: S<String>,
        owner: &str,
        names: &mut Vec<NameUse>,
    ) -> Option<String> {
        let problem = label_problem(name.get_ref());
        names.push(NameUse {
            name: name.get_ref().clone(),
            owner: owner.to_string(),
            at: name.span(),
            valid: problem.is_none(),
        });
        match problem {
            None => Some(name.into_inner()),
            Some((reason, hint)) => {
                self.err(
                    Some(name.span()),
                    &format!("{owner}.name"),
                    format!("\"{}\" is not a valid node name: {reason}", name.get_ref()),
                    Some(hint),
                );
                None
            }
        }
    }

    /// Controller and node-pool names share one namespace: each names `nodes/<name>/`.
    fn unique_names(&mut self, names: &[NameUse]) {
        for (i, this) in names.iter().enumerate().filter(|(_, n)| n.valid) {
            let Some(first) = names
                .iter()
                .take(i)
                .find(|n| n.valid && n.name == this.name)
            else {
                continue;
            };
            let both_controllers =
                first.owner.starts_with("controllers[") && this.owner.starts_with("controllers[");
            let hint = if both_controllers {
                "every controller needs its own name".to_string()
            } else {
                "controller and node-pool names share one namespace (each names nodes/<name>/); rename one".to_string()
            };
            let line = self.line(&first.at);
            self.err(
                Some(this.at.clone()),
                &format!("{}.name", this.owner),
                format!(
                    "\"{}\" is already the name of {} (line {line})",
                    this.name, first.owner
                ),
                Some(hint),
            );
        }
    }

    fn node_address(&mut self, address: &S<String>, key: &str) -> Option<IpAddr> {
        let text = address.get_ref();
        let ip = match IpAddr::from_str(text) {
            Ok(ip) => ip,
            Err(_) => {
                self.err(
                    Some(address.span()),
                    key,
                    format!("\"{text}\" is not an IP address"),
                    Some("write the IPv4 or IPv6 address other nodes reach this controller at, e.g. \"10.0.0.10\"; DNS names go in dns_names".to_string()),
                );
                return None;
            }
        };
        if ip.is_unspecified() || ip.is_multicast() {
            self.err(
                Some(address.span()),
                key,
                format!("{ip} cannot be a node's address"),
                Some("write the unicast address other nodes reach this controller at".to_string()),
            );
            return None;
        }
        Some(ip)
    }

    /// `formats`: known names, no duplicates, not empty; absent = all. Sorted into
    /// [`Format::ALL`] order so that reordering the list changes nothing.
    fn formats(&mut self, raw: Option<S<Vec<S<String>>>>, owner: &str) -> Option<Vec<Format>> {
        let Some(raw) = raw else {
            return Some(DEFAULT_FORMATS.to_vec());
        };
        let all = Format::ALL.map(|(_, n)| n).join(", ");
        self.named_list(
            raw,
            &format!("{owner}.formats"),
            Format::from_name,
            NamedList {
                plural: "formats",
                noun: "a bundle format",
                use_hint: format!("use some of {all}"),
                empty_hint: format!(
                    "list at least one of {all}, or remove the key to render all of them"
                ),
            },
        )
    }

    /// A non-empty list of names from a fixed set (`formats`, `usages`): each item known
    /// and listed once, each problem reported on its item; sorted, so that reordering the
    /// list changes nothing.
    fn named_list<T: Copy + Ord>(
        &mut self,
        raw: S<Vec<S<String>>>,
        key: &str,
        from_name: fn(&str) -> Option<T>,
        words: NamedList,
    ) -> Option<Vec<T>> {
        if raw.get_ref().is_empty() {
            self.err(
                Some(raw.span()),
                key,
                format!("no {} listed", words.plural),
                Some(words.empty_hint),
            );
            return None;
        }
        let mut values = Vec::new();
        let mut ok = true;
        for (i, item) in raw.into_inner().into_iter().enumerate() {
            let item_key = format!("{key}[{i}]");
            match from_name(item.get_ref()) {
                None => {
                    ok = false;
                    self.err(
                        Some(item.span()),
                        &item_key,
                        format!("\"{}\" is not {}", item.get_ref(), words.noun),
                        Some(words.use_hint.clone()),
                    );
                }
                Some(value) if values.contains(&value) => {
                    ok = false;
                    self.err(
                        Some(item.span()),
                        &item_key,
                        format!("\"{}\" is listed twice", item.get_ref()),
                        Some("remove the duplicate".to_string()),
                    );
                }
                Some(value) => values.push(value),
            }
        }
        values.sort();
        ok.then_some(values)
    }

    // --- [pki] -----------------------------------------------------------------------------

    /// Returns the PKI and, separately, `not_before` (which the token check needs even
    /// when another PKI key is wrong).
    fn pki(
        &mut self,
        raw: Option<S<RawPki>>,
        controller_names: &[String],
    ) -> (Option<Pki>, Option<OffsetDateTime>) {
        let Some(raw) = raw else {
            self.err(
                None,
                "pki.not_before",
                "required key is missing (there is no [pki] table)".to_string(),
                Some("add a [pki] table with not_before = \"2026-11-25T00:00:00Z\", the start of every certificate's validity".to_string()),
            );
            return (None, None);
        };
        let header = raw.span();
        let raw = raw.into_inner();

        let algorithm = match &raw.algorithm {
            None => Some(DEFAULT_ALGORITHM),
            Some(name) => {
                let algorithm = Algorithm::from_name(name.get_ref());
                if algorithm.is_none() {
                    let all = Algorithm::ALL.map(|(_, n)| n).join(", ");
                    self.err(
                        Some(name.span()),
                        "pki.algorithm",
                        format!("\"{}\" is not supported", name.get_ref()),
                        Some(format!("use one of {all}")),
                    );
                }
                algorithm
            }
        };

        let not_before = self
            .required(
                raw.not_before,
                &header,
                "pki.not_before",
                "not_before = \"2026-11-25T00:00:00Z\"",
            )
            .and_then(|t| self.time(&t, "pki.not_before"));

        let ca_validity = self.duration(
            raw.ca_validity,
            "pki.ca_validity",
            DEFAULT_CA_VALIDITY,
            true,
        );
        let cert_validity = self.duration(
            raw.cert_validity,
            "pki.cert_validity",
            DEFAULT_CERT_VALIDITY,
            true,
        );
        if let (Some((ca, ca_at)), Some((cert, cert_at))) = (&ca_validity, &cert_validity) {
            if cert.value > ca.value {
                self.err(
                    cert_at.clone().or_else(|| ca_at.clone()),
                    "pki.cert_validity",
                    format!("{cert} is longer than ca_validity {ca}"),
                    Some("a certificate cannot outlive its CA; shorten cert_validity or lengthen ca_validity".to_string()),
                );
            }
        }
        if let (Some(not_before), Some((ca, ca_at))) = (not_before, &ca_validity) {
            // X.509 times stop at 9999-12-31; so does `time` without large dates.
            if not_before.checked_add(ca.value).is_none() {
                self.err(
                    ca_at.clone(),
                    "pki.ca_validity",
                    format!("not_before + {ca} ends after the year 9999"),
                    Some("shorten ca_validity".to_string()),
                );
            }
        }

        let mut extra_sans = Vec::new();
        for (i, san) in raw.extra_sans.unwrap_or_default().into_iter().enumerate() {
            match parse_san(san.get_ref()) {
                Ok(host) => extra_sans.push(host),
                Err((message, hint)) => self.err(
                    Some(san.span()),
                    &format!("pki.extra_sans[{i}]"),
                    message,
                    Some(hint),
                ),
            }
        }

        // Absent is fine (`Some(None)`); present but wrong is `None`.
        let external_ca = match raw.external_ca {
            None => Some(None),
            Some(ca) => self.external_ca(ca).map(Some),
        };
        if let Some(Some(_)) = &external_ca {
            // Bumping the CA generation cannot re-key a CA kubeseed does not make.
            if let Some((key, _)) = raw
                .generations
                .as_ref()
                .and_then(|g| g.iter().find(|(k, _)| k.get_ref() == "ca"))
            {
                self.warn(
                    Some(key.span()),
                    "pki.generations.ca",
                    "has no effect: the Kubernetes CA comes from pki.external_ca".to_string(),
                    Some("remove it, or rotate the external CA itself".to_string()),
                );
            }
        }

        let generations = self.generations(raw.generations.unwrap_or_default(), controller_names);
        let has_external_ca = matches!(&external_ca, Some(Some(_)));
        let trust = self.trust(raw.trust.unwrap_or_default(), &generations, has_external_ca);

        let pki = match (
            algorithm,
            not_before,
            ca_validity,
            cert_validity,
            external_ca,
        ) {
            (
                Some(algorithm),
                Some(not_before),
                Some((ca_validity, _)),
                Some((cert_validity, _)),
                Some(external_ca),
            ) => Some(Pki {
                algorithm,
                not_before,
                ca_validity,
                cert_validity,
                extra_sans,
                external_ca,
                generations,
                trust,
            }),
            _ => None,
        };
        (pki, not_before)
    }

    fn external_ca(&mut self, raw: S<RawExternalCa>) -> Option<ExternalCa> {
        let at = raw.span();
        let raw = raw.into_inner();
        let mut path = |value: Option<S<String>>, name: &str| -> Option<PathBuf> {
            let key = format!("pki.external_ca.{name}");
            let Some(value) = value else {
                self.err(
                    Some(at.clone()),
                    &key,
                    "required key is missing".to_string(),
                    Some("external_ca needs both files: external_ca = { cert = \"ca.crt\", key = \"ca.key\" }".to_string()),
                );
                return None;
            };
            if value.get_ref().is_empty() {
                self.err(
                    Some(value.span()),
                    &key,
                    "the path is empty".to_string(),
                    Some(format!("give the PEM file's path, relative to the spec's directory, e.g. {name} = \"ca.{}\"", if name == "cert" { "crt" } else { "key" })),
                );
                return None;
            }
            Some(PathBuf::from(value.into_inner()))
        };
        let cert = path(raw.cert, "cert");
        let key = path(raw.key, "key");
        Some(ExternalCa {
            cert: cert?,
            key: key?,
        })
    }

    fn generations(
        &mut self,
        raw: BTreeMap<S<String>, S<i64>>,
        controller_names: &[String],
    ) -> BTreeMap<String, u32> {
        let valid = model::generation_keys(controller_names.iter().map(String::as_str));
        let mut out = BTreeMap::new();
        for (key, value) in raw {
            let path = join_key("pki.generations", key.get_ref());
            if !valid.iter().any(|v| v == key.get_ref()) {
                self.err(
                    Some(key.span()),
                    &path,
                    format!("\"{}\" is not an asset with a generation", key.get_ref()),
                    Some(format!("use one of {}", valid.join(", "))),
                );
                continue;
            }
            if let Some(generation) = self.generation_number(&value, &path) {
                out.insert(key.into_inner(), generation);
            }
        }
        out
    }

    /// `[pki.trust]`: for each CA, the generations its trust bundle holds during a CA
    /// rotation. `generations` are the already checked `[pki.generations]` (an invalid
    /// entry there is reported there and counts as the default here).
    fn trust(
        &mut self,
        raw: RawTrust,
        generations: &BTreeMap<String, u32>,
        has_external_ca: bool,
    ) -> BTreeMap<String, Vec<u32>> {
        let cas: Vec<&str> = model::CAS.iter().map(|c| c.asset).collect();
        let mut out = BTreeMap::new();
        for (key, value) in raw {
            let path = join_key("pki.trust", key.get_ref());
            let name = key.get_ref().as_str();
            if !cas.contains(&name) {
                self.err(
                    Some(key.span()),
                    &path,
                    format!("\"{name}\" is not a CA"),
                    Some(format!(
                        "[pki.trust] lists the generations each CA trusts; use one of {}",
                        cas.join(", ")
                    )),
                );
                continue;
            }
            let current = generations.get(name).copied().unwrap_or(DEFAULT_GENERATION);
            let at = value.span();
            let entries = value.into_inner();
            if entries.is_empty() {
                self.err(
                    Some(at),
                    &path,
                    "the list is empty: a CA must trust at least its current generation".to_string(),
                    Some(format!(
                        "write {name} = [{current}], or remove the key to trust only the current generation"
                    )),
                );
                continue;
            }
            let mut list: Vec<u32> = Vec::new();
            let mut ok = true;
            for (i, entry) in entries.iter().enumerate() {
                let entry_path = format!("{path}[{i}]");
                let Some(generation) = self.generation_number(entry, &entry_path) else {
                    ok = false;
                    continue;
                };
                if list.contains(&generation) {
                    self.err(
                        Some(entry.span()),
                        &entry_path,
                        format!("generation {generation} is listed twice"),
                        Some("list each generation once".to_string()),
                    );
                    ok = false;
                    continue;
                }
                list.push(generation);
            }
            if entries.len() > MAX_TRUSTED_GENERATIONS {
                self.err(
                    Some(at.clone()),
                    &path,
                    format!(
                        "{} generations are trusted; at most {MAX_TRUSTED_GENERATIONS} are allowed",
                        entries.len()
                    ),
                    Some("a rotation needs only the old and the new CA: drop the generations no node uses any more".to_string()),
                );
                ok = false;
            }
            if ok && !list.contains(&current) {
                self.err(
                    Some(at.clone()),
                    &path,
                    format!("does not include the current generation {current} (pki.generations.{name})"),
                    Some(format!(
                        "the CA that signs must be trusted: add {current}, e.g. {name} = [{}]",
                        {
                            let mut with: Vec<u32> = list.clone();
                            with.push(current);
                            with.sort_unstable();
                            with.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
                        }
                    )),
                );
                ok = false;
            }
            if name == "ca" && has_external_ca && entries.len() > 1 {
                self.err(
                    Some(at),
                    &path,
                    "trusts more than one generation, but the Kubernetes CA comes from pki.external_ca".to_string(),
                    Some("kubeseed cannot derive other generations of your own CA: remove the key (or write ca = [1]) and rotate the external CA yourself".to_string()),
                );
                ok = false;
            }
            if ok {
                list.sort_unstable();
                out.insert(key.into_inner(), list);
            }
        }
        out
    }

    /// Generations count from 1 and are u32 (they go into HKDF labels).
    fn generation_number(&mut self, value: &S<i64>, key: &str) -> Option<u32> {
        let n = *value.get_ref();
        let problem = if n < 1 {
            (
                format!("{n} is not a valid generation"),
                "generations start at 1 (the default); increase the number to re-key".to_string(),
            )
        } else {
            match u32::try_from(n) {
                Ok(n) => return Some(n),
                Err(_) => (
                    format!("{n} is too large for a generation"),
                    format!("use a number from 1 to {}", u32::MAX),
                ),
            }
        };
        self.err(Some(value.span()), key, problem.0, Some(problem.1));
        None
    }

    /// An RFC 3339 time (string or TOML offset datetime), in UTC, whole seconds.
    fn time(&mut self, value: &S<toml::Value>, key: &str) -> Option<OffsetDateTime> {
        let example = "\"2026-11-25T00:00:00Z\"";
        let text = match value.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(dt)
                if dt.date.is_none() || dt.time.is_none() || dt.offset.is_none() =>
            {
                let hint = if dt.offset.is_none() && dt.date.is_some() && dt.time.is_some() {
                    format!("add Z for UTC: \"{dt}Z\"")
                } else {
                    format!("write a full time in UTC, e.g. {example}")
                };
                self.err(
                    Some(value.span()),
                    key,
                    format!("{dt} is not a full RFC 3339 time with a time zone"),
                    Some(hint),
                );
                return None;
            }
            toml::Value::Datetime(dt) => dt.to_string(),
            other => {
                self.err(
                    Some(value.span()),
                    key,
                    format!("expected an RFC 3339 time, found {}", a(other.type_str())),
                    Some(format!(
                        "write it as a quoted string, e.g. {} = {example}",
                        leaf(key)
                    )),
                );
                return None;
            }
        };
        let Ok(time) = OffsetDateTime::parse(&text, &Rfc3339) else {
            self.err(
                Some(value.span()),
                key,
                format!("\"{text}\" is not an RFC 3339 time"),
                Some(format!(
                    "write date, \"T\", time and a zone (\"Z\" or an offset such as +01:00), e.g. {example}"
                )),
            );
            return None;
        };
        let utc = time.to_offset(time::UtcOffset::UTC);
        if utc.nanosecond() != 0 {
            let whole = utc.replace_nanosecond(0).ok().map(crate::rfc3339::format);
            self.err(
                Some(value.span()),
                key,
                format!("\"{text}\" has fractional seconds; certificate times have whole seconds"),
                Some(match whole {
                    Some(whole) => format!("drop the fraction: \"{whole}\""),
                    None => "drop the fraction".to_string(),
                }),
            );
            return None;
        }
        Some(utc)
    }

    /// A positive Go duration (or its default). `whole_seconds` for certificate periods,
    /// which X.509 counts in seconds. Returns it with its span for cross-checks.
    fn duration(
        &mut self,
        raw: Option<S<String>>,
        key: &str,
        default: &str,
        whole_seconds: bool,
    ) -> Option<(GoDuration, Option<Span>)> {
        let (text, at) = match &raw {
            Some(raw) => (raw.get_ref().as_str(), Some(raw.span())),
            None => (default, None),
        };
        let syntax_hint =
            "write a number and a unit (h, m, s, ms, us, ns), e.g. 8760h, 90m or 1h30m";
        let duration = match GoDuration::parse(text) {
            Ok(d) => d,
            Err(reason) => {
                let hint = match text.strip_suffix('d').and_then(|n| n.parse::<u64>().ok()) {
                    Some(days) => format!(
                        "Go durations have no days: write \"{}h\" for {days} days",
                        days.saturating_mul(24)
                    ),
                    None => syntax_hint.to_string(),
                };
                self.err(
                    at,
                    key,
                    format!("\"{text}\" is not a Go duration: {reason}"),
                    Some(hint),
                );
                return None;
            }
        };
        if !duration.value.is_positive() {
            self.err(
                at,
                key,
                format!("\"{text}\" is not longer than zero"),
                Some(format!("use a positive duration, e.g. {default}")),
            );
            return None;
        }
        if whole_seconds && duration.value.subsec_nanoseconds() != 0 {
            self.err(
                at,
                key,
                format!("\"{text}\" is not a whole number of seconds; certificate times have one-second precision"),
                Some(format!("round it, e.g. \"{}s\"", duration.value.whole_seconds())),
            );
            return None;
        }
        Some((duration, at))
    }

    // --- [bootstrap_token] ---------------------------------------------------------------

    fn bootstrap_token(
        &mut self,
        raw: Option<S<RawBootstrapToken>>,
        not_before: Option<OffsetDateTime>,
    ) -> Option<BootstrapToken> {
        let raw = raw.map(|r| r.into_inner()).unwrap_or(RawBootstrapToken {
            generation: None,
            expires: None,
            usages: None,
            extra_groups: None,
            description: None,
        });

        let generation = match &raw.generation {
            None => Some(DEFAULT_TOKEN_GENERATION),
            Some(value) => self.generation_number(value, "bootstrap_token.generation"),
        };

        let expires = match &raw.expires {
            None => Some(None),
            Some(value) => match self.time(value, "bootstrap_token.expires") {
                None => None,
                Some(expires) => {
                    if let Some(not_before) = not_before {
                        if expires <= not_before {
                            let fmt = crate::rfc3339::format;
                            self.err(
                                Some(value.span()),
                                "bootstrap_token.expires",
                                format!("{} is not after pki.not_before {}", fmt(expires), fmt(not_before)),
                                Some("a token that expires before the certificates start can never be used; set a later time, or remove expires for a token that never expires".to_string()),
                            );
                        }
                    }
                    Some(Some(expires))
                }
            },
        };

        let usages = self.usages(raw.usages);

        let extra_groups = self.extra_groups(raw.extra_groups);

        let description = match raw.description {
            None => Some(DEFAULT_TOKEN_DESCRIPTION.to_string()),
            Some(d) if d.get_ref().chars().any(char::is_control) => {
                self.err(
                    Some(d.span()),
                    "bootstrap_token.description",
                    "the description contains a line break or another control character"
                        .to_string(),
                    Some("write it on one line".to_string()),
                );
                None
            }
            Some(d) => Some(d.into_inner()),
        };

        Some(BootstrapToken {
            generation: generation?,
            expires: expires?,
            usages: usages?,
            extra_groups: extra_groups?,
            description: description?,
        })
    }

    /// Each group as kube-apiserver accepts it (else it rejects the token), no duplicates,
    /// in the order written.
    fn extra_groups(&mut self, raw: Option<Vec<S<String>>>) -> Option<Vec<String>> {
        let Some(groups) = raw else {
            return Some(
                DEFAULT_TOKEN_EXTRA_GROUPS
                    .iter()
                    .map(|g| g.to_string())
                    .collect(),
            );
        };
        let mut extra_groups: Vec<String> = Vec::new();
        let mut groups_ok = true;
        for (i, group) in groups.into_iter().enumerate() {
            let key = format!("bootstrap_token.extra_groups[{i}]");
            if !is_bootstrap_group(group.get_ref()) {
                groups_ok = false;
                self.err(
                    Some(group.span()),
                    &key,
                    format!("\"{}\" is not a valid bootstrap token group", group.get_ref()),
                    Some("start with system:bootstrappers: and continue with a-z, 0-9, \":\" or \"-\", ending in a letter or digit; kube-apiserver rejects the token otherwise".to_string()),
                );
            } else if extra_groups.contains(group.get_ref()) {
                groups_ok = false;
                self.err(
                    Some(group.span()),
                    &key,
                    format!("\"{}\" is listed twice", group.get_ref()),
                    Some("remove the duplicate".to_string()),
                );
            } else {
                extra_groups.push(group.into_inner());
            }
        }
        groups_ok.then_some(extra_groups)
    }

    fn usages(&mut self, raw: Option<S<Vec<S<String>>>>) -> Option<Vec<TokenUsage>> {
        let Some(raw) = raw else {
            return Some(DEFAULT_TOKEN_USAGES.to_vec());
        };
        let key = "bootstrap_token.usages";
        let at = raw.span();
        let usages = self.named_list(
            raw,
            key,
            TokenUsage::from_name,
            NamedList {
                plural: "usages",
                noun: "a token usage",
                use_hint: "use authentication, signing or both".to_string(),
                empty_hint: "list authentication, signing or both (the default)".to_string(),
            },
        )?;
        // Allowed, since a user may want exactly this, but it breaks `kubeseed join`.
        if !usages.contains(&TokenUsage::Authentication) {
            self.warn(
                Some(at.clone()),
                key,
                "without authentication, nodes cannot join with this token".to_string(),
                Some("add \"authentication\" unless nodes join some other way".to_string()),
            );
        }
        if !usages.contains(&TokenUsage::Signing) {
            self.warn(
                Some(at),
                key,
                "without signing, the bootstrapsigner removes the cluster-info signature and `kubeadm join` discovery fails".to_string(),
                Some("add \"signing\" unless nodes discover the CA some other way".to_string()),
            );
        }
        Some(usages)
    }

    // --- [security] ------------------------------------------------------------------------

    fn security(&mut self, raw: Option<S<RawSecurity>>) -> Option<Security> {
        let raw = raw.map(|r| r.into_inner()).unwrap_or(RawSecurity {
            node_restriction: None,
            auto_approve_node_csrs: None,
            anonymous_discovery: None,
            verify_kubelet_serving: None,
            kubelet_signing_duration: None,
            encryption_at_rest: None,
        });
        let kubelet_signing_duration = self.duration(
            raw.kubelet_signing_duration,
            "security.kubelet_signing_duration",
            DEFAULT_KUBELET_SIGNING_DURATION,
            false,
        );
        Some(Security {
            node_restriction: raw.node_restriction.unwrap_or(DEFAULT_NODE_RESTRICTION),
            auto_approve_node_csrs: raw
                .auto_approve_node_csrs
                .unwrap_or(DEFAULT_AUTO_APPROVE_NODE_CSRS),
            anonymous_discovery: raw
                .anonymous_discovery
                .unwrap_or(DEFAULT_ANONYMOUS_DISCOVERY),
            verify_kubelet_serving: raw
                .verify_kubelet_serving
                .unwrap_or(DEFAULT_VERIFY_KUBELET_SERVING),
            kubelet_signing_duration: kubelet_signing_duration?.0,
            encryption_at_rest: raw.encryption_at_rest.unwrap_or(DEFAULT_ENCRYPTION_AT_REST),
        })
    }
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
                formats: vec![Format::Rootfs, Format::CloudInit, Format::Ignition]
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

    // --- syntax, types, unknown keys, version -------------------------------------------

    #[test]
    fn syntax_error_has_line_key_and_column() {
        let p = only_error(
            &edit(&[(5, r#"api_server = "https://x"#)]),
            Some(5),
            "cluster.api_server",
            "invalid TOML: invalid basic string, expected `\"`",
        );
        assert!(hint(&p).contains("column 24"), "{p}");
    }

    #[test]
    fn unknown_key_names_table_and_lists_known_keys() {
        let p = only_error(
            &edit(&[(44, "auto_approve_csrs = true")]),
            Some(44),
            "security.auto_approve_csrs",
            "unknown key `auto_approve_csrs` in [security]",
        );
        assert_eq!(
            hint(&p),
            "expected one of `node_restriction`, `auto_approve_node_csrs`, `anonymous_discovery`, \
             `verify_kubelet_serving`, `kubelet_signing_duration`, `encryption_at_rest`"
        );
        only_error(
            &edit(&[(19, r#"adress = "10.0.0.11""#)]),
            Some(19),
            "controllers[1].adress",
            "unknown key `adress` in [[controllers]] (controllers[1])",
        );
        only_error(
            &edit(&[(2, "foo = 1")]),
            Some(2),
            "foo",
            "unknown key `foo` in the top level",
        );
        only_error(
            &edit(&[(
                30,
                r#"external_ca = { cert = "a", key = "b", chain = "c" }"#,
            )]),
            Some(30),
            "pki.external_ca.chain",
            "unknown key `chain` in [pki.external_ca]",
        );
    }

    #[test]
    fn wrong_types_say_what_to_write() {
        let p = only_error(
            &edit(&[(43, r#"node_restriction = "yes""#)]),
            Some(43),
            "security.node_restriction",
            "invalid type: string \"yes\", expected a boolean",
        );
        assert_eq!(
            hint(&p),
            "write node_restriction = true or node_restriction = false, without quotes"
        );
        let p = only_error(
            &edit(&[(4, "name = 5")]),
            Some(4),
            "cluster.name",
            "invalid type: integer `5`, expected a string",
        );
        assert_eq!(hint(&p), "quote the value: name = \"...\"");
        let p = only_error(
            &edit(&[(36, r#"generation = "2""#)]),
            Some(36),
            "bootstrap_token.generation",
            "invalid type: string \"2\", expected an integer",
        );
        assert_eq!(
            hint(&p),
            "write a whole number without quotes, e.g. generation = 1"
        );
        only_error(
            &edit(&[(15, r#"formats = ["rootfs", 3]"#)]),
            Some(15),
            "controllers[0].formats[1]",
            "invalid type: integer `3`, expected a string",
        );
        let p = only_error(
            &edit(&[(14, r#"dns_names = "cp-0.demo.example.com""#)]),
            Some(14),
            "controllers[0].dns_names",
            "invalid type: string \"cp-0.demo.example.com\", expected an array",
        );
        assert_eq!(hint(&p), "write a list, e.g. dns_names = [\"...\"]");
        let text = edit(&[(17, "[controllers.x]"), (21, "[controllers.y]")]);
        let text = text.replacen("[[controllers]]", "[controllers]", 1);
        let p = only_error(
            &text,
            Some(11),
            "controllers",
            "invalid type: table, expected an array",
        );
        assert_eq!(
            hint(&p),
            "write each entry as its own [[controllers]] table"
        );
    }

    #[test]
    fn version_must_be_1() {
        let p = only_error(
            &edit(&[(1, "")]),
            None,
            "version",
            "required key is missing",
        );
        assert_eq!(hint(&p), "add version = 1 as the first line");
        // A newer file is reported alone, not as a pile of unknown keys.
        let p = only_error(
            &edit(&[(1, "version = 2"), (2, "new_thing = true")]),
            Some(1),
            "version",
            "version 2 is not supported; this kubeseed reads version 1",
        );
        assert_eq!(
            hint(&p),
            "use a kubeseed release that reads version 2, or write a version 1 spec"
        );
        only_error(
            &edit(&[(1, "version = 0")]),
            Some(1),
            "version",
            "0 is not a spec version",
        );
        let p = only_error(
            &edit(&[(1, r#"version = "1""#)]),
            Some(1),
            "version",
            "expected the integer 1, found a string",
        );
        assert_eq!(hint(&p), "write version = 1 (no quotes)");
    }

    #[test]
    fn required_keys_are_reported_at_their_table() {
        let p = only_error(
            &edit(&[(4, "")]),
            Some(3),
            "cluster.name",
            "required key is missing",
        );
        assert_eq!(hint(&p), "add name = \"demo\" to [cluster]");
        only_error(
            &edit(&[(5, "")]),
            Some(3),
            "cluster.api_server",
            "required key is missing",
        );
        only_error(
            &edit(&[(9, "")]),
            Some(3),
            "cluster.kubernetes_version",
            "required key is missing",
        );
        let p = only_error(
            &edit(&[(19, "")]),
            Some(17),
            "controllers[1].address",
            "required key is missing",
        );
        assert_eq!(
            hint(&p),
            "add address = \"10.0.0.10\" to [[controllers]] (controllers[1])"
        );
        only_error(
            &edit(&[(18, "")]),
            Some(17),
            "controllers[1].name",
            "required key is missing",
        );
        only_error(
            &edit(&[(51, "")]),
            Some(50),
            "node_pools[0].name",
            "required key is missing",
        );
        only_error(
            &edit(&[(27, "")]),
            Some(25),
            "pki.not_before",
            "required key is missing",
        );
    }

    #[test]
    fn missing_tables() {
        let no_cluster = BASE.replacen("[cluster]", "[cluster_typo]", 1);
        let p = &errors(&no_cluster)[0];
        assert_eq!((p.line, p.key.as_str()), (Some(3), "cluster_typo"));

        let text = "version = 1\n[[controllers]]\nname = \"cp-0\"\naddress = \"10.0.0.1\"\n[pki]\nnot_before = \"2026-11-25T00:00:00Z\"\n";
        let p = only_error(text, None, "cluster", "the [cluster] table is missing");
        assert_eq!(
            hint(&p),
            "add a [cluster] table with name, api_server and kubernetes_version"
        );

        let text: String = BASE.lines().take(9).collect::<Vec<_>>().join("\n");
        let problems = errors(&text);
        let got: Vec<(Option<usize>, &str, &str)> = problems
            .iter()
            .map(|p| (p.line, p.key.as_str(), p.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    None,
                    "controllers",
                    "no controllers: at least one [[controllers]] table is required"
                ),
                (
                    None,
                    "pki.not_before",
                    "required key is missing (there is no [pki] table)"
                ),
            ]
        );
    }

    // --- [cluster] -----------------------------------------------------------------------

    #[test]
    fn cluster_name() {
        let p = only_error(
            &edit(&[(4, r#"name = "Demo_1""#)]),
            Some(4),
            "cluster.name",
            "\"Demo_1\" is not a valid cluster name",
        );
        assert_eq!(hint(&p), "use 1 to 63 characters from a-z, 0-9 and \"-\"");
        only_error(
            &edit(&[(4, r#"name = """#)]),
            Some(4),
            "cluster.name",
            "\"\" is not a valid cluster name",
        );
        let long = format!("name = \"{}\"", "a".repeat(64));
        only_error(
            &edit(&[(4, &long)]),
            Some(4),
            "cluster.name",
            &format!("\"{}\" is not a valid cluster name", "a".repeat(64)),
        );
        parse_ok(&edit(&[(4, &format!("name = \"{}\"", "a".repeat(63)))]));
        parse_ok(&edit(&[(4, r#"name = "-x-""#)]));
    }

    #[test]
    fn api_server_url() {
        let api = |url: &str| {
            parse_ok(&edit(&[(5, &format!("api_server = \"{url}\""))]))
                .spec
                .cluster
                .api_server
        };
        assert_eq!(
            api("https://api.example.com"),
            ApiServer {
                host: Host::Dns("api.example.com".into()),
                port: 6443
            }
        );
        assert_eq!(api("https://api.example.com:443/").port, 443);
        assert_eq!(
            api("https://10.0.0.1:8443").host,
            Host::Ip("10.0.0.1".parse().unwrap())
        );
        let v6 = api("https://[fd00::10]");
        assert_eq!(v6.host, Host::Ip("fd00::10".parse().unwrap()));
        assert_eq!(v6.url(), "https://[fd00::10]:6443");
        assert_eq!(api("HTTPS://localhost").url(), "https://localhost:6443");

        let bad = |url: &str, message: &str| -> SpecProblem {
            only_error(
                &edit(&[(5, &format!("api_server = \"{url}\""))]),
                Some(5),
                "cluster.api_server",
                message,
            )
        };
        let p = bad("http://api.example.com:6443", "\"http://api.example.com:6443\" uses http://; the API server is only reached over https");
        assert_eq!(
            hint(&p),
            "write https://HOST:PORT, e.g. https://api.demo.example.com:6443"
        );
        bad("api.example.com:6443", "\"api.example.com:6443\" uses api.example.com://; the API server is only reached over https");
        bad(
            "api.example.com",
            "\"api.example.com\" is not a URL (relative URL without a base)",
        );
        bad("https://admin:pw@api.example.com", "\"https://admin:pw@api.example.com\" contains user info (user@); credentials never go in the server URL");
        let p = bad(
            "https://api.example.com:6443/k8s",
            "\"https://api.example.com:6443/k8s\" has a path, query or fragment",
        );
        assert_eq!(
            hint(&p),
            "kubeconfigs need only the scheme, host and port: https://api.example.com:6443"
        );
        bad(
            "https://api.example.com?x=1",
            "\"https://api.example.com?x=1\" has a path, query or fragment",
        );
        bad(
            "https://api.example.com#x",
            "\"https://api.example.com#x\" has a path, query or fragment",
        );
        bad("https://api.example.com:0", "\"0\" is not a valid port");
        bad("https://api.example.com:", "\"\" is not a valid port");
        bad(
            "https://api.example.com:06443",
            "\"06443\" is not a valid port",
        );
        bad(
            "https://api.example.com:70000",
            "\"https://api.example.com:70000\" is not a URL (invalid port number)",
        );
        let p = bad(
            "https://API.example.com",
            "\"API.example.com\" is not a valid host name: it has uppercase letters",
        );
        assert_eq!(hint(&p), "write it in lowercase: \"api.example.com\"");
        bad(
            "https://api_server.example.com",
            "\"api_server.example.com\" is not a valid host name: it has the character '_'",
        );
        bad(
            "https://10.0.1",
            "\"10.0.1\" is not a valid host name: it looks like an IP address but is not one",
        );
        bad(
            "https://[fe80::1%25eth0]",
            "\"https://[fe80::1%25eth0]\" is not a URL (invalid IPv6 address)",
        );
        bad(
            "https://api.example.com :6443",
            "\"https://api.example.com :6443\" contains whitespace",
        );
    }

    #[test]
    fn cidrs() {
        let p = only_error(
            &edit(&[(6, r#"service_cidr = "10.96.0.1/12""#)]),
            Some(6),
            "cluster.service_cidr",
            "\"10.96.0.1/12\" has host bits set",
        );
        assert_eq!(hint(&p), "use the network address: \"10.96.0.0/12\"");
        let p = only_error(
            &edit(&[(7, r#"pod_cidr = "10.244.0.0""#)]),
            Some(7),
            "cluster.pod_cidr",
            "\"10.244.0.0\" is not a CIDR range",
        );
        assert_eq!(hint(&p), "add a prefix length: \"10.244.0.0/16\"");
        let p = only_error(
            &edit(&[(7, r#"pod_cidr = "pods""#)]),
            Some(7),
            "cluster.pod_cidr",
            "\"pods\" is not a CIDR range",
        );
        assert_eq!(hint(&p), "write ADDRESS/PREFIX, e.g. \"10.244.0.0/16\"");
        only_error(
            &edit(&[(7, r#"pod_cidr = "fd00:10:244::1/64""#)]),
            Some(7),
            "cluster.pod_cidr",
            "\"fd00:10:244::1/64\" has host bits set",
        );

        // IPv6, and mixed families, are fine.
        let spec = parse_ok(&edit(&[
            (6, r#"service_cidr = "fd00:10:96::/112""#),
            (7, r#"pod_cidr = "10.244.0.0/16""#),
        ]))
        .spec;
        assert_eq!(spec.cluster.service_cidr.to_string(), "fd00:10:96::/112");

        let p = only_error(
            &edit(&[(7, r#"pod_cidr = "10.100.0.0/16""#)]),
            Some(7),
            "cluster.pod_cidr",
            "10.100.0.0/16 overlaps service_cidr 10.96.0.0/12 (line 6)",
        );
        assert_eq!(hint(&p), "pod and service addresses must not collide; pick disjoint ranges such as the defaults 10.96.0.0/12 and 10.244.0.0/16");
        only_error(
            &edit(&[(6, ""), (7, r#"pod_cidr = "10.0.0.0/8""#)]),
            Some(7),
            "cluster.pod_cidr",
            "10.0.0.0/8 overlaps service_cidr 10.96.0.0/12 (the default)",
        );
    }

    #[test]
    fn service_cidr_size() {
        let size_hint = "use an IPv4 prefix from /12 to /28 or an IPv6 prefix from /108 to /124: kube-apiserver allows at most 2^20 service addresses, and the cluster DNS service takes the 10th address";
        let p = only_error(
            &edit(&[(6, r#"service_cidr = "10.0.0.0/11""#)]),
            Some(6),
            "cluster.service_cidr",
            "10.0.0.0/11 is too large: kube-apiserver allows at most 2^20 service addresses",
        );
        assert_eq!(hint(&p), size_hint);
        let p = only_error(
            &edit(&[(6, r#"service_cidr = "10.96.0.0/29""#)]),
            Some(6),
            "cluster.service_cidr",
            "10.96.0.0/29 is too small to hold the cluster DNS service address (the 10th)",
        );
        assert_eq!(hint(&p), size_hint);
        only_error(
            &edit(&[(6, r#"service_cidr = "fd00::/107""#)]),
            Some(6),
            "cluster.service_cidr",
            "fd00::/107 is too large: kube-apiserver allows at most 2^20 service addresses",
        );
        only_error(
            &edit(&[(6, r#"service_cidr = "fd00::/125""#)]),
            Some(6),
            "cluster.service_cidr",
            "fd00::/125 is too small to hold the cluster DNS service address (the 10th)",
        );
        for ok in ["10.96.0.0/28", "10.96.0.0/12", "fd00::/108", "fd00::/124"] {
            parse_ok(&edit(&[(6, &format!("service_cidr = \"{ok}\""))]));
        }
    }

    #[test]
    fn dns_domain() {
        let p = only_error(
            &edit(&[(8, r#"dns_domain = "Cluster.Local""#)]),
            Some(8),
            "cluster.dns_domain",
            "\"Cluster.Local\" is not a valid DNS name: it has uppercase letters",
        );
        assert_eq!(hint(&p), "write it in lowercase: \"cluster.local\"");
        let p = only_error(
            &edit(&[(8, r#"dns_domain = "cluster.local.""#)]),
            Some(8),
            "cluster.dns_domain",
            "\"cluster.local.\" is not a valid DNS name: it ends with \".\"",
        );
        assert_eq!(hint(&p), "drop the trailing dot: \"cluster.local\"");
        only_error(&edit(&[(8, r#"dns_domain = "cluster..local""#)]), Some(8), "cluster.dns_domain", "\"cluster..local\" is not a valid DNS name: it has an empty label (\"..\" or a leading \".\")");
        only_error(&edit(&[(8, r#"dns_domain = "-cluster.local""#)]), Some(8), "cluster.dns_domain", "\"-cluster.local\" is not a valid DNS name: label \"-cluster\" starts or ends with \"-\"");
        only_error(
            &edit(&[(8, r#"dns_domain = "*.local""#)]),
            Some(8),
            "cluster.dns_domain",
            "\"*.local\" is not a valid DNS name: it has a \"*\" where none is allowed",
        );
        only_error(
            &edit(&[(8, r#"dns_domain = "clüster.local""#)]),
            Some(8),
            "cluster.dns_domain",
            "\"clüster.local\" is not a valid DNS name: it has non-ASCII characters",
        );
        let label = "a".repeat(64);
        only_error(&edit(&[(8, &format!("dns_domain = \"{label}.local\""))]), Some(8), "cluster.dns_domain", &format!("\"{label}.local\" is not a valid DNS name: label \"{label}\" is longer than 63 characters"));
        parse_ok(&edit(&[(8, r#"dns_domain = "k8s""#)]));
    }

    #[test]
    fn kubernetes_version() {
        let v = |s: &str| {
            parse_ok(&edit(&[(9, &format!("kubernetes_version = \"{s}\""))]))
                .spec
                .cluster
                .kubernetes_version
        };
        assert_eq!(
            v("v1.32.0"),
            KubeVersion {
                minor: 32,
                patch: 0,
                text: "v1.32.0".into()
            }
        );
        assert_eq!(
            v("v1.37.0-rc.1"),
            KubeVersion {
                minor: 37,
                patch: 0,
                text: "v1.37.0-rc.1".into()
            }
        );
        let bad = |s: &str, message: &str| {
            only_error(
                &edit(&[(9, &format!("kubernetes_version = \"{s}\""))]),
                Some(9),
                "cluster.kubernetes_version",
                message,
            )
        };
        let p = bad(
            "v1.31.9",
            "\"v1.31.9\" is too old: kubeseed supports Kubernetes 1.32 or later",
        );
        assert_eq!(hint(&p), "use v1.32.0 or later");
        let p = bad("1.36.2", "\"1.36.2\" is missing the leading \"v\"");
        assert_eq!(hint(&p), "write \"v1.36.2\" (it is also the image tag)");
        let p = bad("v1.36", "\"v1.36\" is not a Kubernetes version");
        assert_eq!(hint(&p), "write it as v1.MINOR.PATCH, e.g. v1.36.2");
        bad("v1.036.2", "\"v1.036.2\" is not a Kubernetes version");
        bad(
            "v1.36.2+build",
            "\"v1.36.2+build\" is not a Kubernetes version",
        );
        bad("latest", "\"latest\" is not a Kubernetes version");
        bad("v2.0.0", "\"v2.0.0\" is not a Kubernetes 1.x version");
        bad(
            "v1.36.0-rc..1",
            "\"v1.36.0-rc..1\" has an invalid pre-release suffix",
        );
    }

    // --- controllers and node pools ------------------------------------------------------

    #[test]
    fn controller_count() {
        // Two controllers: allowed, with a warning (etcd quorum).
        let two = edit(&[(21, ""), (22, ""), (23, "")]);
        let parsed = parse_ok(&two);
        assert_eq!(parsed.spec.controllers.len(), 2);
        let w: Vec<(Option<usize>, &str, &str)> = parsed
            .warnings
            .iter()
            .map(|p| (p.line, p.key.as_str(), p.message.as_str()))
            .collect();
        assert_eq!(
            w,
            vec![(
                Some(11),
                "controllers",
                "2 controllers: an even number of etcd members tolerates no more failures than 1"
            )]
        );
        assert_eq!(
            parsed.warnings[0].hint.as_deref(),
            Some("use an odd number of controllers (1, 3 or 5)")
        );

        let mut eight = BASE.to_string();
        for i in 3..8 {
            eight.push_str(&format!(
                "\n[[controllers]]\nname = \"cp-{i}\"\naddress = \"10.0.0.{}\"\n",
                20 + i
            ));
        }
        // The 8th [[controllers]] header: BASE has 52 lines, each extra one adds 4.
        let p = only_error(
            &eight,
            Some(52 + 4 * 4 + 2),
            "controllers",
            "8 controllers; at most 7 are supported",
        );
        assert_eq!(
            hint(&p),
            "every controller is an etcd member and more members slow every write; use 3 or 5"
        );

        only_error(
            &BASE.replace("[[controllers]]", "[[controllerz]]"),
            Some(11),
            "controllerz",
            "unknown key `controllerz` in the top level",
        );
        let empty = "version = 1\ncontrollers = []\n[cluster]\nname = \"x\"\napi_server = \"https://10.0.0.1\"\nkubernetes_version = \"v1.36.2\"\n[pki]\nnot_before = \"2026-11-25T00:00:00Z\"\n";
        let p = only_error(
            empty,
            Some(2),
            "controllers",
            "no controllers: at least one [[controllers]] table is required",
        );
        assert_eq!(
            hint(&p),
            "add a [[controllers]] table with name and address for each control-plane node"
        );
    }

    #[test]
    fn node_names() {
        let p = only_error(
            &edit(&[(12, r#"name = "CP-0""#)]),
            Some(12),
            "controllers[0].name",
            "\"CP-0\" is not a valid node name: it has uppercase letters",
        );
        assert_eq!(hint(&p), "write it in lowercase: \"cp-0\"");
        let p = only_error(
            &edit(&[(12, r#"name = "cp.0""#)]),
            Some(12),
            "controllers[0].name",
            "\"cp.0\" is not a valid node name: it has the character '.'",
        );
        assert_eq!(hint(&p), "use a DNS-1123 label: 1 to 63 characters from a-z, 0-9 and \"-\", starting and ending with a letter or digit");
        only_error(
            &edit(&[(12, r#"name = "cp-""#)]),
            Some(12),
            "controllers[0].name",
            "\"cp-\" is not a valid node name: it starts or ends with \"-\"",
        );
        only_error(
            &edit(&[(12, r#"name = """#)]),
            Some(12),
            "controllers[0].name",
            "\"\" is not a valid node name: it is empty",
        );
        only_error(
            &edit(&[(51, r#"name = "Workers!""#)]),
            Some(51),
            "node_pools[0].name",
            "\"Workers!\" is not a valid node name: it has uppercase letters",
        );
    }

    #[test]
    fn names_are_unique_across_controllers_and_pools() {
        let p = only_error(
            &edit(&[(18, r#"name = "cp-0""#)]),
            Some(18),
            "controllers[1].name",
            "\"cp-0\" is already the name of controllers[0] (line 12)",
        );
        assert_eq!(hint(&p), "every controller needs its own name");
        let p = only_error(
            &edit(&[(51, r#"name = "cp-2""#)]),
            Some(51),
            "node_pools[0].name",
            "\"cp-2\" is already the name of controllers[2] (line 22)",
        );
        assert_eq!(hint(&p), "controller and node-pool names share one namespace (each names nodes/<name>/); rename one");
        let two_pools = format!("{BASE}\n[[node_pools]]\nname = \"workers\"\n");
        only_error(
            &two_pools,
            Some(55),
            "node_pools[1].name",
            "\"workers\" is already the name of node_pools[0] (line 51)",
        );
    }

    #[test]
    fn controller_addresses() {
        let p = only_error(
            &edit(&[(13, r#"address = "cp-0.example.com""#)]),
            Some(13),
            "controllers[0].address",
            "\"cp-0.example.com\" is not an IP address",
        );
        assert!(hint(&p).contains("DNS names go in dns_names"), "{p}");
        only_error(
            &edit(&[(13, r#"address = "0.0.0.0""#)]),
            Some(13),
            "controllers[0].address",
            "0.0.0.0 cannot be a node's address",
        );
        let p = only_error(
            &edit(&[(19, r#"address = "10.0.0.10""#)]),
            Some(19),
            "controllers[1].address",
            "10.0.0.10 is already the address of controllers[0] (line 13)",
        );
        assert_eq!(hint(&p), "every controller needs its own IP address");
        // Compared as addresses, not strings.
        only_error(
            &edit(&[
                (13, r#"address = "fd00::a""#),
                (19, r#"address = "fd00:0::0:a""#),
            ]),
            Some(19),
            "controllers[1].address",
            "fd00::a is already the address of controllers[0] (line 13)",
        );
        let spec = parse_ok(&edit(&[(13, r#"address = "fd00::10""#)])).spec;
        assert_eq!(
            spec.controllers[0].address,
            "fd00::10".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn controller_dns_names() {
        only_error(
            &edit(&[(14, r#"dns_names = ["ok.example.com", "*.example.com"]"#)]),
            Some(14),
            "controllers[0].dns_names[1]",
            "\"*.example.com\" is not a valid DNS name: it has a \"*\" where none is allowed",
        );
        only_error(
            &edit(&[(14, r#"dns_names = ["cp_0"]"#)]),
            Some(14),
            "controllers[0].dns_names[0]",
            "\"cp_0\" is not a valid DNS name: it has the character '_'",
        );
    }

    #[test]
    fn formats() {
        let p = only_error(
            &edit(&[(15, r#"formats = ["rootfs", "tar"]"#)]),
            Some(15),
            "controllers[0].formats[1]",
            "\"tar\" is not a bundle format",
        );
        assert_eq!(
            hint(&p),
            "use some of rootfs, rootfs.tar, cloud-init, ignition"
        );
        let p = only_error(
            &edit(&[(52, r#"formats = ["ignition", "ignition"]"#)]),
            Some(52),
            "node_pools[0].formats[1]",
            "\"ignition\" is listed twice",
        );
        assert_eq!(hint(&p), "remove the duplicate");
        let p = only_error(
            &edit(&[(52, "formats = []")]),
            Some(52),
            "node_pools[0].formats",
            "no formats listed",
        );
        assert_eq!(hint(&p), "list at least one of rootfs, rootfs.tar, cloud-init, ignition, or remove the key to render all of them");
        // Order as written does not matter.
        let spec = parse_ok(&edit(&[(52, r#"formats = ["ignition", "rootfs.tar"]"#)])).spec;
        assert_eq!(
            spec.node_pools[0].formats,
            vec![Format::RootfsTar, Format::Ignition]
        );
    }

    // --- [pki] -------------------------------------------------------------------------------

    #[test]
    fn algorithm() {
        for (algorithm, name) in Algorithm::ALL {
            let spec = parse_ok(&edit(&[(26, &format!("algorithm = \"{name}\""))])).spec;
            assert_eq!(spec.pki.algorithm, algorithm);
        }
        let p = only_error(
            &edit(&[(26, r#"algorithm = "rsa-1024""#)]),
            Some(26),
            "pki.algorithm",
            "\"rsa-1024\" is not supported",
        );
        assert_eq!(
            hint(&p),
            "use one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096"
        );
    }

    #[test]
    fn not_before() {
        let nb = |line: &str| parse_ok(&edit(&[(27, line)])).spec.pki.not_before;
        // Converted to UTC; a TOML datetime literal is accepted too.
        assert_eq!(
            nb(r#"not_before = "2026-11-25T01:00:00+01:00""#),
            time::macros::datetime!(2026-11-25 00:00:00 UTC)
        );
        assert_eq!(
            nb("not_before = 2026-11-25T00:00:00Z"),
            time::macros::datetime!(2026-11-25 00:00:00 UTC)
        );
        assert_eq!(
            nb("not_before = 2026-11-24T19:00:00-05:00"),
            time::macros::datetime!(2026-11-25 00:00:00 UTC)
        );
        assert_eq!(
            nb(r#"not_before = "2026-11-25T00:00:00.000Z""#),
            time::macros::datetime!(2026-11-25 00:00:00 UTC)
        );

        let bad = |line: &str, message: &str| {
            only_error(&edit(&[(27, line)]), Some(27), "pki.not_before", message)
        };
        let p = bad(
            r#"not_before = "2026-11-25""#,
            "\"2026-11-25\" is not an RFC 3339 time",
        );
        assert_eq!(hint(&p), "write date, \"T\", time and a zone (\"Z\" or an offset such as +01:00), e.g. \"2026-11-25T00:00:00Z\"");
        bad(
            r#"not_before = "2026-11-25 00:00:00""#,
            "\"2026-11-25 00:00:00\" is not an RFC 3339 time",
        );
        let p = bad(r#"not_before = "2026-11-25T00:00:00.5Z""#, "\"2026-11-25T00:00:00.5Z\" has fractional seconds; certificate times have whole seconds");
        assert_eq!(hint(&p), "drop the fraction: \"2026-11-25T00:00:00Z\"");
        let p = bad(
            "not_before = 2026-11-25T00:00:00",
            "2026-11-25T00:00:00 is not a full RFC 3339 time with a time zone",
        );
        assert_eq!(hint(&p), "add Z for UTC: \"2026-11-25T00:00:00Z\"");
        let p = bad(
            "not_before = 2026-11-25",
            "2026-11-25 is not a full RFC 3339 time with a time zone",
        );
        assert_eq!(
            hint(&p),
            "write a full time in UTC, e.g. \"2026-11-25T00:00:00Z\""
        );
        let p = bad(
            "not_before = 1764028800",
            "expected an RFC 3339 time, found an integer",
        );
        assert_eq!(
            hint(&p),
            "write it as a quoted string, e.g. not_before = \"2026-11-25T00:00:00Z\""
        );
    }

    #[test]
    fn validities() {
        let spec = parse_ok(&edit(&[
            (28, r#"ca_validity = "1.5h""#),
            (29, r#"cert_validity = "1h30m""#),
        ]))
        .spec;
        assert_eq!(spec.pki.ca_validity.value, spec.pki.cert_validity.value);
        assert_eq!(spec.pki.ca_validity.text, "1.5h");

        let p = only_error(
            &edit(&[(28, r#"ca_validity = "10y""#)]),
            Some(28),
            "pki.ca_validity",
            "\"10y\" is not a Go duration: unknown unit \"y\"",
        );
        assert_eq!(
            hint(&p),
            "write a number and a unit (h, m, s, ms, us, ns), e.g. 8760h, 90m or 1h30m"
        );
        let p = only_error(
            &edit(&[(29, r#"cert_validity = "365d""#)]),
            Some(29),
            "pki.cert_validity",
            "\"365d\" is not a Go duration: unknown unit \"d\"",
        );
        assert_eq!(
            hint(&p),
            "Go durations have no days: write \"8760h\" for 365 days"
        );
        only_error(
            &edit(&[(29, r#"cert_validity = "8760""#)]),
            Some(29),
            "pki.cert_validity",
            "\"8760\" is not a Go duration: \"8760\" has no unit",
        );
        let p = only_error(
            &edit(&[(29, r#"cert_validity = "0s""#)]),
            Some(29),
            "pki.cert_validity",
            "\"0s\" is not longer than zero",
        );
        assert_eq!(hint(&p), "use a positive duration, e.g. 8760h");
        only_error(
            &edit(&[(29, r#"cert_validity = "-1h""#)]),
            Some(29),
            "pki.cert_validity",
            "\"-1h\" is not longer than zero",
        );
        let p = only_error(&edit(&[(29, r#"cert_validity = "1.5s""#)]), Some(29), "pki.cert_validity", "\"1.5s\" is not a whole number of seconds; certificate times have one-second precision");
        assert_eq!(hint(&p), "round it, e.g. \"1s\"");

        let p = only_error(
            &edit(&[(28, r#"ca_validity = "8000h""#)]),
            Some(29),
            "pki.cert_validity",
            "8760h is longer than ca_validity 8000h",
        );
        assert_eq!(
            hint(&p),
            "a certificate cannot outlive its CA; shorten cert_validity or lengthen ca_validity"
        );
        // With cert_validity left at its default, the problem points at ca_validity.
        only_error(
            &edit(&[(28, r#"ca_validity = "100h""#), (29, "")]),
            Some(28),
            "pki.cert_validity",
            "8760h is longer than ca_validity 100h",
        );

        only_error(
            &edit(&[(27, r#"not_before = "9999-01-01T00:00:00Z""#), (37, "")]),
            Some(28),
            "pki.ca_validity",
            "not_before + 87600h ends after the year 9999",
        );
    }

    #[test]
    fn extra_sans() {
        let spec = parse_ok(&edit(&[(
            30,
            r#"extra_sans = ["api.example.com", "*.apps.example.com", "192.0.2.1", "2001:db8::1"]"#,
        )]))
        .spec;
        assert_eq!(
            spec.pki.extra_sans,
            vec![
                Host::Dns("api.example.com".into()),
                Host::Dns("*.apps.example.com".into()),
                Host::Ip("192.0.2.1".parse().unwrap()),
                Host::Ip("2001:db8::1".parse().unwrap()),
            ]
        );
        let p = only_error(
            &edit(&[(30, r#"extra_sans = ["ok.example.com", "[2001:db8::1]"]"#)]),
            Some(30),
            "pki.extra_sans[1]",
            "\"[2001:db8::1]\" has brackets",
        );
        assert_eq!(
            hint(&p),
            "write IPv6 SANs without brackets: \"2001:db8::1\""
        );
        let p = only_error(&edit(&[(30, r#"extra_sans = ["api.*.example.com"]"#)]), Some(30), "pki.extra_sans[0]", "\"api.*.example.com\" is neither an IP address nor a valid DNS name: it has a \"*\" where none is allowed");
        assert_eq!(
            hint(&p),
            "a wildcard is only allowed as the whole first label, e.g. *.example.com"
        );
        only_error(&edit(&[(30, r#"extra_sans = ["https://api.example.com"]"#)]), Some(30), "pki.extra_sans[0]", "\"https://api.example.com\" is neither an IP address nor a valid DNS name: it has the character ':'");
    }

    #[test]
    fn external_ca() {
        let spec = parse_ok(&edit(&[(
            30,
            r#"external_ca = { cert = "ca/ca.crt", key = "/etc/ca.key" }"#,
        )]))
        .spec;
        let ca = spec.pki.external_ca.unwrap();
        assert_eq!(
            ca,
            ExternalCa {
                cert: "ca/ca.crt".into(),
                key: "/etc/ca.key".into()
            }
        );
        assert_eq!(
            ca.resolve(Path::new("/work/demo")),
            ExternalCa {
                cert: "/work/demo/ca/ca.crt".into(),
                key: "/etc/ca.key".into()
            }
        );
        let p = only_error(
            &edit(&[(30, r#"external_ca = { cert = "ca.crt" }"#)]),
            Some(30),
            "pki.external_ca.key",
            "required key is missing",
        );
        assert_eq!(
            hint(&p),
            "external_ca needs both files: external_ca = { cert = \"ca.crt\", key = \"ca.key\" }"
        );
        only_error(
            &edit(&[(30, r#"external_ca = { key = "ca.key" }"#)]),
            Some(30),
            "pki.external_ca.cert",
            "required key is missing",
        );
        only_error(
            &edit(&[(30, r#"external_ca = { cert = "", key = "ca.key" }"#)]),
            Some(30),
            "pki.external_ca.cert",
            "the path is empty",
        );
        // A [pki.external_ca] table is the same thing to TOML.
        let text = format!("{BASE}\n[pki.external_ca]\ncert = \"ca.crt\"\nkey = \"ca.key\"\n");
        assert!(parse_ok(&text).spec.pki.external_ca.is_some());
        // Bumping the CA's generation does nothing with an external CA: a warning.
        let parsed = parse_ok(&edit(&[(30, r#"external_ca = { cert = "a", key = "b" }"#)]));
        let w = &parsed.warnings;
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].line, w[0].key.as_str(), w[0].message.as_str()),
            (
                Some(33),
                "pki.generations.ca",
                "has no effect: the Kubernetes CA comes from pki.external_ca"
            )
        );
    }

    #[test]
    fn generations() {
        let spec = parse_ok(&edit(&[(33, "apiserver = 2\netcd-peer-cp-1 = 7")])).spec;
        assert_eq!(spec.pki.generation("apiserver"), 2);
        assert_eq!(spec.pki.generation("etcd-peer-cp-1"), 7);
        assert_eq!(spec.pki.generation("ca"), 1);

        let p = only_error(
            &edit(&[(33, "etcd-server-cp-9 = 2")]),
            Some(33),
            "pki.generations.etcd-server-cp-9",
            "\"etcd-server-cp-9\" is not an asset with a generation",
        );
        let valid = model::generation_keys(["cp-0", "cp-1", "cp-2"]).join(", ");
        assert_eq!(hint(&p), format!("use one of {valid}"));
        only_error(
            &edit(&[(33, r#""front proxy" = 2"#)]),
            Some(33),
            "pki.generations.\"front proxy\"",
            "\"front proxy\" is not an asset with a generation",
        );
        let p = only_error(
            &edit(&[(33, "ca = 0")]),
            Some(33),
            "pki.generations.ca",
            "0 is not a valid generation",
        );
        assert_eq!(
            hint(&p),
            "generations start at 1 (the default); increase the number to re-key"
        );
        let p = only_error(
            &edit(&[(33, "ca = 4294967296")]),
            Some(33),
            "pki.generations.ca",
            "4294967296 is too large for a generation",
        );
        assert_eq!(hint(&p), "use a number from 1 to 4294967295");
        only_error(
            &edit(&[(33, "ca = 1.5")]),
            Some(33),
            "pki.generations.ca",
            "invalid type: float `1.5`, expected an integer",
        );
    }

    /// BASE with `ca = 1` (line 33) replaced by `generations` and a `[pki.trust]` table
    /// holding `trust` appended; returns the text and the line of `trust`'s first line.
    fn with_trust(generations: &str, trust: &str) -> (String, usize) {
        let text = edit(&[(33, generations)]);
        let line = text.lines().count() + 2;
        (format!("{text}[pki.trust]\n{trust}\n"), line)
    }

    #[test]
    fn trust_lists_generations_per_ca() {
        // Absent: each CA trusts its current generation only.
        let spec = parse_ok(BASE).spec;
        assert!(spec.pki.trust.is_empty());
        assert_eq!(spec.pki.trusted("ca"), vec![1]);
        // Written: sorted; the current generation may be the old or the new one.
        let (text, _) = with_trust(
            "ca = 2",
            "ca = [2, 1]\netcd-ca = [1, 2]\nfront-proxy-ca = [1]",
        );
        let spec = parse_ok(&text).spec;
        assert_eq!(spec.pki.trusted("ca"), vec![1, 2]);
        assert_eq!(spec.pki.trusted("etcd-ca"), vec![1, 2]);
        assert_eq!(spec.pki.trusted("front-proxy-ca"), vec![1]);
        let (text, _) = with_trust("etcd-ca = 3", "etcd-ca = [1, 2, 3]");
        assert_eq!(parse_ok(&text).spec.pki.trusted("etcd-ca"), vec![1, 2, 3]);
    }

    #[test]
    fn trust_unknown_key() {
        let (text, line) = with_trust("ca = 1", "apiserver = [1, 2]");
        let p = only_error(
            &text,
            Some(line),
            "pki.trust.apiserver",
            "\"apiserver\" is not a CA",
        );
        assert_eq!(
            hint(&p),
            "[pki.trust] lists the generations each CA trusts; use one of ca, front-proxy-ca, etcd-ca"
        );
    }

    #[test]
    fn trust_empty_list() {
        let (text, line) = with_trust("etcd-ca = 2", "etcd-ca = []");
        let p = only_error(
            &text,
            Some(line),
            "pki.trust.etcd-ca",
            "the list is empty: a CA must trust at least its current generation",
        );
        assert_eq!(
            hint(&p),
            "write etcd-ca = [2], or remove the key to trust only the current generation"
        );
    }

    #[test]
    fn trust_invalid_or_duplicated_generation() {
        let (text, line) = with_trust("ca = 1", "ca = [1, 0]");
        let p = only_error(
            &text,
            Some(line),
            "pki.trust.ca[1]",
            "0 is not a valid generation",
        );
        assert_eq!(
            hint(&p),
            "generations start at 1 (the default); increase the number to re-key"
        );
        let (text, line) = with_trust("ca = 1", "ca = [1, 2, 1]");
        let p = only_error(
            &text,
            Some(line),
            "pki.trust.ca[2]",
            "generation 1 is listed twice",
        );
        assert_eq!(hint(&p), "list each generation once");
        let (text, line) = with_trust("ca = 1", "ca = [1, \"2\"]");
        only_error(
            &text,
            Some(line),
            "pki.trust.ca[1]",
            "invalid type: string \"2\", expected an integer",
        );
    }

    #[test]
    fn trust_must_hold_the_current_generation() {
        let (text, line) = with_trust("ca = 1\nfront-proxy-ca = 3", "front-proxy-ca = [1, 2]");
        let p = only_error(
            &text,
            Some(line),
            "pki.trust.front-proxy-ca",
            "does not include the current generation 3 (pki.generations.front-proxy-ca)",
        );
        assert_eq!(
            hint(&p),
            "the CA that signs must be trusted: add 3, e.g. front-proxy-ca = [1, 2, 3]"
        );
        // The default generation counts as current.
        let (text, line) = with_trust("ca = 1", "etcd-ca = [2]");
        only_error(
            &text,
            Some(line),
            "pki.trust.etcd-ca",
            "does not include the current generation 1 (pki.generations.etcd-ca)",
        );
    }

    #[test]
    fn trust_at_most_three_generations() {
        let (text, line) = with_trust("ca = 4", "ca = [1, 2, 3, 4]");
        let p = only_error(
            &text,
            Some(line),
            "pki.trust.ca",
            "4 generations are trusted; at most 3 are allowed",
        );
        assert_eq!(
            hint(&p),
            "a rotation needs only the old and the new CA: drop the generations no node uses any more"
        );
    }

    #[test]
    fn trust_of_an_external_ca() {
        let external = r#"external_ca = { cert = "ca.crt", key = "ca.key" }"#;
        let text = format!("{}[pki.trust]\nca = [1, 2]\n", edit(&[(30, external)]));
        let line = text.lines().count();
        let p = only_error(
            &text,
            Some(line),
            "pki.trust.ca",
            "trusts more than one generation, but the Kubernetes CA comes from pki.external_ca",
        );
        assert_eq!(
            hint(&p),
            "kubeseed cannot derive other generations of your own CA: remove the key (or write ca = [1]) and rotate the external CA yourself"
        );
        // One generation, and the other CAs' rotation, are fine with an external CA.
        let text = format!(
            "{}[pki.trust]\nca = [1]\netcd-ca = [1, 2]\n",
            edit(&[(30, external)])
        );
        let spec = parse_ok(&text).spec;
        assert_eq!(spec.pki.trusted("etcd-ca"), vec![1, 2]);
    }

    // --- [bootstrap_token] -------------------------------------------------------------------

    #[test]
    fn token_generation_and_expiry() {
        only_error(
            &edit(&[(36, "generation = 0")]),
            Some(36),
            "bootstrap_token.generation",
            "0 is not a valid generation",
        );
        only_error(
            &edit(&[(36, "generation = -3")]),
            Some(36),
            "bootstrap_token.generation",
            "-3 is not a valid generation",
        );
        let spec = parse_ok(&edit(&[(37, "")])).spec;
        assert_eq!(spec.bootstrap_token.expires, None);
        let p = only_error(
            &edit(&[(37, r#"expires = "2026-11-25T00:00:00Z""#)]),
            Some(37),
            "bootstrap_token.expires",
            "2026-11-25T00:00:00Z is not after pki.not_before 2026-11-25T00:00:00Z",
        );
        assert!(
            hint(&p).starts_with(
                "a token that expires before the certificates start can never be used"
            ),
            "{p}"
        );
        only_error(
            &edit(&[(37, r#"expires = "tomorrow""#)]),
            Some(37),
            "bootstrap_token.expires",
            "\"tomorrow\" is not an RFC 3339 time",
        );
        // Both wrong: both reported.
        let problems = errors(&edit(&[
            (27, r#"not_before = "x""#),
            (37, r#"expires = "y""#),
        ]));
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["pki.not_before", "bootstrap_token.expires"]);
    }

    #[test]
    fn token_usages() {
        let p = only_error(
            &edit(&[(38, "usages = []")]),
            Some(38),
            "bootstrap_token.usages",
            "no usages listed",
        );
        assert_eq!(
            hint(&p),
            "list authentication, signing or both (the default)"
        );
        let p = only_error(
            &edit(&[(38, r#"usages = ["authentication", "auth"]"#)]),
            Some(38),
            "bootstrap_token.usages[1]",
            "\"auth\" is not a token usage",
        );
        assert_eq!(hint(&p), "use authentication, signing or both");
        only_error(
            &edit(&[(38, r#"usages = ["signing", "signing"]"#)]),
            Some(38),
            "bootstrap_token.usages[1]",
            "\"signing\" is listed twice",
        );
        let parsed = parse_ok(&edit(&[(38, r#"usages = ["signing"]"#)]));
        assert_eq!(
            parsed.spec.bootstrap_token.usages,
            vec![TokenUsage::Signing]
        );
        assert_eq!(parsed.warnings.len(), 1);
        assert_eq!(
            parsed.warnings[0].message,
            "without authentication, nodes cannot join with this token"
        );
        let parsed = parse_ok(&edit(&[(38, r#"usages = ["authentication"]"#)]));
        assert_eq!(parsed.warnings[0].line, Some(38));
        assert!(parsed.warnings[0].message.starts_with("without signing"));
    }

    #[test]
    fn token_extra_groups() {
        let ok = parse_ok(&edit(&[(
            39,
            r#"extra_groups = ["system:bootstrappers:a", "system:bootstrappers:x:y-1"]"#,
        )]));
        assert_eq!(
            ok.spec.bootstrap_token.extra_groups,
            ["system:bootstrappers:a", "system:bootstrappers:x:y-1"]
        );
        assert!(parse_ok(&edit(&[(39, "extra_groups = []")]))
            .spec
            .bootstrap_token
            .extra_groups
            .is_empty());
        for bad in [
            "system:nodes",
            "system:bootstrappers:",
            "system:bootstrappers:a-",
            "system:bootstrappers:A",
            "system:bootstrappers:a b",
        ] {
            let p = only_error(
                &edit(&[(39, &format!("extra_groups = [\"{bad}\"]"))]),
                Some(39),
                "bootstrap_token.extra_groups[0]",
                &format!("\"{bad}\" is not a valid bootstrap token group"),
            );
            assert!(
                hint(&p).starts_with("start with system:bootstrappers:"),
                "{p}"
            );
        }
        let at_limit = format!("system:bootstrappers:{}", "a".repeat(256));
        parse_ok(&edit(&[(39, &format!("extra_groups = [\"{at_limit}\"]"))]));
        let over = format!("system:bootstrappers:{}", "a".repeat(257));
        only_error(
            &edit(&[(39, &format!("extra_groups = [\"{over}\"]"))]),
            Some(39),
            "bootstrap_token.extra_groups[0]",
            &format!("\"{over}\" is not a valid bootstrap token group"),
        );
        only_error(
            &edit(&[(
                39,
                r#"extra_groups = ["system:bootstrappers:a", "system:bootstrappers:a"]"#,
            )]),
            Some(39),
            "bootstrap_token.extra_groups[1]",
            "\"system:bootstrappers:a\" is listed twice",
        );
    }

    #[test]
    fn token_description() {
        let p = only_error(
            &edit(&[(40, r#"description = "two\nlines""#)]),
            Some(40),
            "bootstrap_token.description",
            "the description contains a line break or another control character",
        );
        assert_eq!(hint(&p), "write it on one line");
        let spec = parse_ok(&edit(&[(40, r#"description = """#)])).spec;
        assert_eq!(spec.bootstrap_token.description, "");
    }

    // --- [security] --------------------------------------------------------------------------

    #[test]
    fn security() {
        let spec = parse_ok(&edit(&[
            (46, "verify_kubelet_serving = true"),
            (47, r#"kubelet_signing_duration = "1.5h""#),
        ]))
        .spec;
        assert!(spec.security.verify_kubelet_serving);
        assert_eq!(spec.security.kubelet_signing_duration.text, "1.5h");
        assert_eq!(
            spec.security.kubelet_signing_duration.value,
            time::Duration::minutes(90)
        );
        only_error(
            &edit(&[(47, r#"kubelet_signing_duration = "0""#)]),
            Some(47),
            "security.kubelet_signing_duration",
            "\"0\" is not longer than zero",
        );
        // Not a certificate period of ours, so sub-second is the flag's business.
        parse_ok(&edit(&[(47, r#"kubelet_signing_duration = "1.5s""#)]));
    }

    #[test]
    fn missing_v_is_named_even_for_an_old_version() {
        only_error(
            &edit(&[(9, r#"kubernetes_version = "1.30.0""#)]),
            Some(9),
            "cluster.kubernetes_version",
            "\"1.30.0\" is missing the leading \"v\"",
        );
    }

    #[test]
    fn an_invalid_name_is_not_also_reported_as_a_clash() {
        let text = edit(&[(12, r#"name = "cp_0""#), (18, r#"name = "cp_0""#)]);
        let keys: Vec<String> = errors(&text).into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["controllers[0].name", "controllers[1].name"]);
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
