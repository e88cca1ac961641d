//! Which rendered files each node gets, and where they land on it.
//!
//! [`rules`] is the one table: each row maps an output path pattern (as the renderers write
//! it) to an on-host path and says who gets the file. Its first rows are the identity
//! table's files ([`crate::model::table_files`]: every CA and certificate says where it
//! lands), then [`OTHER_FILES`], the files that are not certificates. Bundles are built from
//! the rendered [`FileSet`], not from the model, so a renderer that adds a node file needs
//! only a row. A file that belongs on no node (the cluster manifests, applied with kubectl)
//! has a row too, so every output path is either placed or excluded on purpose;
//! `tests/bundles.rs` fails for any rendered file that no row names. [`source_of`] reads the
//! table backwards, for `verify`.
//!
//! Controllers get kubeadm's control-plane layout: the PKI at `/etc/kubernetes/pki` (their
//! own etcd member pairs only), the kubeconfigs at `/etc/kubernetes`, the static pods at
//! `/etc/kubernetes/manifests`, and the kubelet's files. Workers get only what TLS bootstrap
//! needs: the cluster CA certificate, the bootstrap kubeconfig and the kubelet's
//! configuration and flags, never a private key.

use std::borrow::Cow;
use std::sync::LazyLock;

use crate::bundle::{self, BundleError, HostFile};
use crate::fileset::{File, FileSet};
use crate::identity::table_files;
use crate::model::Model;
use crate::spec::Format;

pub use crate::identity::Who;

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// `/`-separated components, each literal or a placeholder: `{controller}` matches a
    /// controller's name, `{node}` a controller's or node pool's (the file goes to that
    /// bundle only), `{file}` any one component, and `{rest}` (last only) one or more.
    pub source: Cow<'static, str>,
    /// The on-host path; `{file}` is replaced by what the pattern's `{file}` matched.
    pub host: Cow<'static, str>,
    pub who: Who,
    /// The host mode of a non-secret file (a secret is always 0600).
    pub public_mode: PublicMode,
}

/// The host mode of a non-secret file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicMode {
    Fixed(u32),
    /// The kubelet's configuration and flags: 0600 with `security.private_kubelet_files`
    /// (the CIS benchmark's 4.1.1 and 4.1.9), else 0644.
    KubeletFile,
}

impl PublicMode {
    fn resolve(self, model: &Model) -> u32 {
        match self {
            PublicMode::Fixed(mode) => mode,
            PublicMode::KubeletFile if model.cluster.private_kubelet_files => 0o600,
            PublicMode::KubeletFile => 0o644,
        }
    }
}

const fn to(source: &'static str, host: &'static str, who: Who) -> Rule {
    with_mode(source, host, who, PublicMode::Fixed(0o644))
}

const fn with_mode(source: &'static str, host: &'static str, who: Who, mode: PublicMode) -> Rule {
    Rule {
        source: Cow::Borrowed(source),
        host: Cow::Borrowed(host),
        who,
        public_mode: mode,
    }
}

/// Where the files that are not certificates go.
pub static OTHER_FILES: &[Rule] = &[
    // The service-account key pair: kube-apiserver verifies and kube-controller-manager signs.
    to("pki/sa.key", "/etc/kubernetes/pki/sa.key", Who::Controllers),
    to("pki/sa.pub", "/etc/kubernetes/pki/sa.pub", Who::Controllers),
    to(
        "kubeconfig/bootstrap-kubelet.conf",
        "/etc/kubernetes/bootstrap-kubelet.conf",
        Who::AllNodes,
    ),
    // Before the static pods' row, which would claim its host path when read backwards.
    to(
        "config/static-pod-path.keep",
        "/etc/kubernetes/manifests/.kubeseed-keep",
        Who::AllNodes,
    ),
    // Static pods are 0600 as kubeadm writes them (and the CIS benchmark asks): they name
    // every key path of the control plane.
    with_mode(
        "control-plane/{controller}/manifests/{file}",
        "/etc/kubernetes/manifests/{file}",
        Who::Controllers,
        PublicMode::Fixed(0o600),
    ),
    // kube-apiserver's --encryption-provider-config and --authentication-config; its static
    // pod must mount these host paths.
    to(
        "control-plane/{controller}/encryption-config.yaml",
        "/etc/kubernetes/encryption-config.yaml",
        Who::Controllers,
    ),
    to(
        "control-plane/{controller}/authentication-config.yaml",
        "/etc/kubernetes/authentication-config.yaml",
        Who::Controllers,
    ),
    // kube-apiserver's --audit-policy-file and --admission-control-config-file (spec
    // version 3), 0600 as the CIS benchmark asks of the control plane's configuration.
    with_mode(
        "control-plane/{controller}/audit-policy.yaml",
        "/etc/kubernetes/audit-policy.yaml",
        Who::Controllers,
        PublicMode::Fixed(0o600),
    ),
    with_mode(
        "control-plane/{controller}/admission-config.yaml",
        "/etc/kubernetes/admission-config.yaml",
        Who::Controllers,
        PublicMode::Fixed(0o600),
    ),
    // The kubelet's --config and its flags, at the paths kubeadm's packaging uses.
    with_mode(
        "config/kubelet-config.yaml",
        "/var/lib/kubelet/config.yaml",
        Who::AllNodes,
        PublicMode::KubeletFile,
    ),
    with_mode(
        "config/10-kubeseed.conf",
        "/etc/systemd/system/kubelet.service.d/10-kubeseed.conf",
        Who::AllNodes,
        PublicMode::KubeletFile,
    ),
    // One controller's or node pool's labels and taints: only on its own nodes.
    with_mode(
        "config/nodes/{node}/20-kubeseed-node.conf",
        "/etc/systemd/system/kubelet.service.d/20-kubeseed-node.conf",
        Who::AllNodes,
        PublicMode::KubeletFile,
    ),
    // Cluster objects for `kubectl apply`, and the data they are built from.
    to("manifests/{rest}", "", Who::NoNode),
    to("gitops/{rest}", "", Who::NoNode),
];

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let identity = table_files().into_iter().map(|f| Rule {
        source: Cow::Owned(f.path),
        host: Cow::Owned(f.host),
        who: f.who,
        public_mode: PublicMode::Fixed(0o644),
    });
    identity.chain(OTHER_FILES.iter().cloned()).collect()
});

/// The placement table. The first row whose pattern matches an output path decides where that
/// file goes, so specific rows precede the wildcards they narrow.
pub fn rules() -> &'static [Rule] {
    &RULES
}

/// What a rule matched in an output path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement<'a> {
    pub rule: &'static Rule,
    /// What `{controller}` matched, if the pattern has it.
    pub controller: Option<&'a str>,
    /// What `{node}` matched, if the pattern has it.
    pub node: Option<&'a str>,
    /// The on-host path (empty for [`Who::NoNode`]).
    pub host: Option<String>,
}

/// The first rule matching `path`, with the controller it names and the host path. `{controller}`
/// matches any component here; [`host_files`] keeps only the node's own.
pub fn place(path: &str) -> Option<Placement<'_>> {
    rules().iter().find_map(|rule| matches(rule, path))
}

/// The output path that node `node` has at host path `host`, if any row places one there:
/// the table read backwards. `{controller}` becomes `node`, so for a node that is not a
/// controller the path names a file that does not exist.
pub fn source_of(host: &str, node: &str) -> Option<String> {
    rules()
        .iter()
        .filter(|rule| rule.who != Who::NoNode)
        .find_map(|rule| {
            let file = match rule.host.split_once("{file}") {
                Some((before, after)) => {
                    let f = host.strip_prefix(before)?.strip_suffix(after)?;
                    (!f.is_empty() && !f.contains('/')).then_some(f)?
                }
                None if rule.host == host => "",
                None => return None,
            };
            Some(
                rule.source
                    .replace("{controller}", node)
                    .replace("{node}", node)
                    .replace("{file}", file),
            )
        })
}

fn matches<'a>(rule: &'static Rule, path: &'a str) -> Option<Placement<'a>> {
    let mut controller = None;
    let mut node = None;
    let mut file = None;
    let mut parts = path.split('/');
    for pattern in rule.source.split('/') {
        if pattern == "{rest}" {
            // One or more components, none empty (FileSet paths never have empty ones).
            parts.next()?;
            parts.by_ref().for_each(drop);
            continue;
        }
        let part = parts.next()?;
        match pattern {
            "{controller}" => controller = Some(part),
            "{node}" => node = Some(part),
            "{file}" => file = Some(part),
            literal if literal == part => {}
            _ => return None,
        }
    }
    if parts.next().is_some() {
        return None;
    }
    let host = (rule.who != Who::NoNode).then(|| match file {
        Some(f) => rule.host.replace("{file}", f),
        None => rule.host.to_string(),
    });
    Some(Placement {
        rule,
        controller,
        node,
        host,
    })
}

/// A node that gets a bundle: a controller or a node pool.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub formats: Vec<Format>,
    pub files: Vec<HostFile>,
}

/// A rendered file that lands on some node, placed once.
struct Placed<'a> {
    who: Who,
    controller: Option<&'a str>,
    node: Option<&'a str>,
    host: String,
    mode: u32,
    file: &'a File,
}

/// Every rendered file that some node gets, each matched against the table once.
fn placed<'a>(model: &Model, rendered: &'a FileSet) -> Vec<Placed<'a>> {
    rendered
        .iter()
        .filter_map(|(path, file)| {
            let p = place(path)?;
            Some(Placed {
                who: p.rule.who,
                controller: p.controller,
                node: p.node,
                host: p.host?,
                mode: if file.secret {
                    0o600
                } else {
                    p.rule.public_mode.resolve(model)
                },
                file,
            })
        })
        .collect()
}

/// The host files of one bundle, sorted by host path. `name`: the bundle's; `controller`:
/// whether it is a controller's.
fn files_of(placed: &[Placed], name: &str, controller: bool) -> Vec<HostFile> {
    let mut files: Vec<HostFile> = placed
        .iter()
        .filter(|p| match p.who {
            Who::AllNodes => p.node.is_none_or(|n| n == name),
            Who::Controllers => controller && p.controller.is_none_or(|c| c == name),
            Who::NoNode => false,
        })
        .map(|p| HostFile {
            path: p.host.clone(),
            mode: p.mode,
            secret: p.file.secret,
            bytes: p.file.bytes.clone(),
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// The bundles to build: every controller, then every node pool, in spec order, with whether
/// each is a controller.
fn nodes(model: &Model) -> impl Iterator<Item = (&str, &[Format], bool)> {
    let controllers = model
        .controllers
        .iter()
        .map(|c| (c.name.as_str(), c.formats.as_slice(), true));
    let pools = model
        .node_pools
        .iter()
        .map(|p| (p.name.as_str(), p.formats.as_slice(), false));
    controllers.chain(pools)
}

/// The host files of every controller and every node pool, in spec order, each node's sorted
/// by host path.
pub fn host_files(model: &Model, rendered: &FileSet) -> Vec<Node> {
    let placed = placed(model, rendered);
    nodes(model)
        .map(|(name, formats, controller)| Node {
            name: name.to_string(),
            formats: formats.to_vec(),
            files: files_of(&placed, name, controller),
        })
        .collect()
}

/// Adds `nodes/<name>/...` for every controller and node pool to `files`, built from the
/// files already in it. `rootfs.tar` entries carry `pki.not_before` as their mtime. One
/// node's host files at a time: only its bundle outlives the step.
pub fn add_bundles(model: &Model, files: &mut FileSet) -> Result<(), BundleError> {
    let mut bundles = FileSet::new();
    let placed = placed(model, files);
    for (name, formats, controller) in nodes(model) {
        let host = files_of(&placed, name, controller);
        bundles.extend(bundle::bundle(name, formats, &host, model.not_before)?)?;
    }
    drop(placed);
    files.extend(bundles)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fileset::{File, Kind};
    use crate::spec::{parse, Spec};

    fn spec(controllers: &[&str], pools: &[(&str, &str)]) -> Spec {
        let mut text = String::from(
            "version = 1\n[cluster]\nname = \"t\"\napi_server = \"https://api.t.example:6443\"\n\
             kubernetes_version = \"v1.34.2\"\n[pki]\nnot_before = \"2026-11-25T00:00:00Z\"\n\
             [bootstrap_token]\nexpires = \"2027-01-01T00:00:00Z\"\n",
        );
        for (i, c) in controllers.iter().enumerate() {
            text.push_str(&format!(
                "[[controllers]]\nname = \"{c}\"\naddress = \"10.0.0.{}\"\n",
                i + 10
            ));
        }
        for (name, formats) in pools {
            text.push_str(&format!("[[node_pools]]\nname = \"{name}\"\n{formats}\n"));
        }
        parse("cluster.toml", &text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .spec
    }

    /// Today's outputs plus the files other renderers are adding, keyed by their source path;
    /// a file's bytes are its own path, so a bundle entry shows where it came from.
    fn rendered(controllers: &[&str]) -> FileSet {
        let mut set = FileSet::new();
        let mut add = |path: &str, secret: bool| {
            let f = if secret {
                File::secret(Kind::Config, path)
            } else {
                File::public(Kind::Config, path)
            };
            set.insert(path, f).unwrap();
        };
        for base in [
            "ca",
            "apiserver",
            "apiserver-kubelet-client",
            "front-proxy-ca",
            "front-proxy-client",
            "apiserver-etcd-client",
            "etcd/ca",
            "etcd/healthcheck-client",
        ] {
            add(&format!("pki/{base}.crt"), false);
            add(&format!("pki/{base}.key"), true);
        }
        add("pki/sa.key", true);
        add("pki/sa.pub", false);
        for k in [
            "admin",
            "super-admin",
            "controller-manager",
            "scheduler",
            "bootstrap-kubelet",
        ] {
            add(&format!("kubeconfig/{k}.conf"), true);
        }
        add("config/kubelet-config.yaml", false);
        add("config/10-kubeseed.conf", false);
        add("manifests/cluster-info-configmap.yaml", false);
        add("manifests/data/cluster-configuration.yaml", false);
        add("manifests/bootstrap-token-abcdef.yaml", true);
        for c in controllers {
            for pair in ["server", "peer"] {
                add(&format!("pki/etcd/{c}/{pair}.crt"), false);
                add(&format!("pki/etcd/{c}/{pair}.key"), true);
            }
            for pod in ["etcd", "kube-apiserver"] {
                add(&format!("control-plane/{c}/manifests/{pod}.yaml"), false);
            }
            add(&format!("control-plane/{c}/encryption-config.yaml"), true);
            add(
                &format!("control-plane/{c}/authentication-config.yaml"),
                false,
            );
        }
        set
    }

    /// host path -> (source path, mode, secret)
    fn table(node: &Node) -> Vec<(String, String, String, bool)> {
        node.files
            .iter()
            .map(|f| {
                (
                    f.path.clone(),
                    String::from_utf8(f.bytes.clone()).unwrap(),
                    format!("{:04o}", f.mode),
                    f.secret,
                )
            })
            .collect()
    }

    #[test]
    fn a_worker_gets_only_what_tls_bootstrap_needs() {
        let spec = spec(&["cp-0"], &[("workers", "")]);
        let nodes = host_files(&Model::from_spec(&spec), &rendered(&["cp-0"]));
        let worker = nodes.iter().find(|n| n.name == "workers").unwrap();
        let r = |h: &str, s: &str, m: &str, secret| (h.into(), s.into(), m.into(), secret);
        assert_eq!(
            table(worker),
            [
                r(
                    "/etc/kubernetes/bootstrap-kubelet.conf",
                    "kubeconfig/bootstrap-kubelet.conf",
                    "0600",
                    true
                ),
                r("/etc/kubernetes/pki/ca.crt", "pki/ca.crt", "0644", false),
                r(
                    "/etc/systemd/system/kubelet.service.d/10-kubeseed.conf",
                    "config/10-kubeseed.conf",
                    "0644",
                    false
                ),
                r(
                    "/var/lib/kubelet/config.yaml",
                    "config/kubelet-config.yaml",
                    "0644",
                    false
                ),
            ]
        );
    }

    #[test]
    fn a_controller_gets_the_control_plane_and_only_its_own_etcd_pairs() {
        let names = ["cp-0", "cp-1", "cp-2"];
        let spec = spec(&names, &[]);
        let nodes = host_files(&Model::from_spec(&spec), &rendered(&names));
        assert_eq!(
            nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
            names
        );
        let cp1 = table(&nodes[1]);
        let host = |h: &str| {
            cp1.iter()
                .find(|r| r.0 == h)
                .map(|r| (r.1.as_str(), r.2.as_str()))
        };
        assert_eq!(
            host("/etc/kubernetes/pki/etcd/server.key"),
            Some(("pki/etcd/cp-1/server.key", "0600"))
        );
        assert_eq!(
            host("/etc/kubernetes/pki/etcd/peer.crt"),
            Some(("pki/etcd/cp-1/peer.crt", "0644"))
        );
        assert_eq!(
            host("/etc/kubernetes/pki/etcd/ca.key"),
            Some(("pki/etcd/ca.key", "0600"))
        );
        assert_eq!(
            host("/etc/kubernetes/manifests/kube-apiserver.yaml"),
            Some(("control-plane/cp-1/manifests/kube-apiserver.yaml", "0600"))
        );
        assert_eq!(
            host("/etc/kubernetes/encryption-config.yaml"),
            Some(("control-plane/cp-1/encryption-config.yaml", "0600"))
        );
        assert_eq!(
            host("/etc/kubernetes/authentication-config.yaml"),
            Some(("control-plane/cp-1/authentication-config.yaml", "0644"))
        );
        for conf in [
            "admin",
            "super-admin",
            "controller-manager",
            "scheduler",
            "bootstrap-kubelet",
        ] {
            let h = format!("/etc/kubernetes/{conf}.conf");
            assert_eq!(host(&h).map(|r| r.1), Some("0600"), "{h}");
        }
        assert!(host("/var/lib/kubelet/config.yaml").is_some());
        // Nothing of another controller, and no cluster manifest.
        for (_, source, _, _) in &cp1 {
            assert!(
                !source.contains("cp-0") && !source.contains("cp-2"),
                "{source}"
            );
            assert!(!source.starts_with("manifests/"), "{source}");
        }
        // Every source file that is cluster-wide or cp-1's is on cp-1 (the table drops none).
        let expected = rendered(&names)
            .iter()
            .filter(|(p, _)| {
                !p.starts_with("manifests/") && !p.contains("cp-0") && !p.contains("cp-2")
            })
            .count();
        assert_eq!(cp1.len(), expected);
    }

    #[test]
    fn every_pool_gets_the_same_files_and_its_own_formats() {
        let spec = spec(&["cp-0"], &[("a", ""), ("b", "formats = [\"ignition\"]")]);
        let nodes = host_files(&Model::from_spec(&spec), &rendered(&["cp-0"]));
        assert_eq!(nodes[1].files, nodes[2].files);
        assert_eq!(nodes[1].formats, crate::spec::DEFAULT_FORMATS);
        assert_eq!(nodes[2].formats, [Format::Ignition]);
    }

    #[test]
    fn placement_of_every_kind_of_path() {
        let host = |p: &str| place(p).and_then(|p| p.host);
        assert_eq!(
            host("pki/front-proxy-ca.key").as_deref(),
            Some("/etc/kubernetes/pki/front-proxy-ca.key")
        );
        let p = place("pki/etcd/cp-7/peer.key").unwrap();
        assert_eq!(p.controller, Some("cp-7"));
        assert_eq!(p.host.as_deref(), Some("/etc/kubernetes/pki/etcd/peer.key"));
        let p = place("config/nodes/gpu/20-kubeseed-node.conf").unwrap();
        assert_eq!(
            (p.node, p.controller, p.rule.who),
            (Some("gpu"), None, Who::AllNodes)
        );
        assert_eq!(
            p.host.as_deref(),
            Some("/etc/systemd/system/kubelet.service.d/20-kubeseed-node.conf")
        );
        // Off-node on purpose, at any depth under manifests/.
        for m in ["manifests/a.yaml", "manifests/data/b.yaml"] {
            let p = place(m).unwrap();
            assert_eq!((p.rule.who, p.host), (Who::NoNode, None), "{m}");
        }
        // Not placed: the completeness test names these.
        for unplaced in [
            "manifests",
            "kubeconfig/kubelet.conf",
            "control-plane/cp-0/kubelet.yaml",
            "control-plane/cp-0/manifests/x/y.yaml",
            "pki/etcd/cp-0/sub/x.crt",
            "config/kube-proxy.yaml",
            "nodes/cp-0/ignition.json",
            // The PKI is placed file by file from the identity table, not by a wildcard.
            "pki/unknown.crt",
            "pki/etcd/unknown.key",
        ] {
            assert_eq!(place(unplaced), None, "{unplaced}");
        }
    }

    #[test]
    fn the_table_read_backwards() {
        let source = |host: &str, node: &str| source_of(host, node);
        assert_eq!(
            source("/etc/kubernetes/pki/etcd/peer.key", "cp-1").as_deref(),
            Some("pki/etcd/cp-1/peer.key")
        );
        assert_eq!(
            source("/etc/kubernetes/pki/etcd/ca.crt", "cp-1").as_deref(),
            Some("pki/etcd/ca.crt")
        );
        assert_eq!(
            source("/etc/kubernetes/manifests/etcd.yaml", "cp-2").as_deref(),
            Some("control-plane/cp-2/manifests/etcd.yaml")
        );
        assert_eq!(
            source("/etc/kubernetes/admin.conf", "cp-0").as_deref(),
            Some("kubeconfig/admin.conf")
        );
        assert_eq!(
            source("/var/lib/kubelet/config.yaml", "workers").as_deref(),
            Some("config/kubelet-config.yaml")
        );
        assert_eq!(
            source(
                "/etc/systemd/system/kubelet.service.d/20-kubeseed-node.conf",
                "workers"
            )
            .as_deref(),
            Some("config/nodes/workers/20-kubeseed-node.conf")
        );
        for none in [
            "/etc/kubernetes/manifests/a/b.yaml",
            "/etc/kubernetes/manifests/",
            "/etc/kubernetes/pki/other.crt",
            "/etc/hosts",
            "",
        ] {
            assert_eq!(source(none, "cp-0"), None, "{none}");
        }
        // Every placed row reads back to itself.
        for rule in rules().iter().filter(|r| r.who != Who::NoNode) {
            let example = rule
                .source
                .replace("{controller}", "cp-0")
                .replace("{node}", "cp-0")
                .replace("{file}", "f.yaml");
            let host = place(&example).and_then(|p| p.host).unwrap();
            assert_eq!(
                source(&host, "cp-0").as_deref(),
                Some(example.as_str()),
                "{host}"
            );
        }
    }

    /// Each non-wildcard row is reachable: no earlier row shadows it.
    #[test]
    fn no_row_is_shadowed() {
        for rule in rules() {
            let example = rule
                .source
                .replace("{controller}", "cp-0")
                .replace("{file}", "f.yaml")
                .replace("{rest}", "r.yaml");
            let p = place(&example).unwrap_or_else(|| panic!("{example}"));
            assert!(std::ptr::eq(p.rule, rule), "{example} goes to {:?}", p.rule);
        }
    }

    #[test]
    fn add_bundles_writes_every_node() {
        let spec = spec(&["cp-0"], &[("w", "formats = [\"cloud-init\"]")]);
        let mut files = rendered(&["cp-0"]);
        let before = files.len();
        add_bundles(&Model::from_spec(&spec), &mut files).unwrap();
        let bundle_paths: Vec<&str> = files
            .iter()
            .map(|(p, _)| p)
            .filter(|p| p.starts_with("nodes/") && !p.contains("/rootfs/"))
            .collect();
        assert_eq!(
            bundle_paths,
            [
                "nodes/cp-0/cloud-config.yaml",
                "nodes/cp-0/ignition.json",
                "nodes/cp-0/rootfs.tar",
                "nodes/w/cloud-config.yaml",
            ]
        );
        let rootfs = files
            .iter()
            .filter(|(p, _)| p.starts_with("nodes/cp-0/rootfs/"))
            .count();
        assert_eq!(files.len(), before + 4 + rootfs);
    }
}
