//! The template registry: every template kubeseed renders, by id, with what
//! it renders and the variables it receives. This is the one list of
//! templates; everything else derives from it:
//!
//! - the embedded texts ([`TemplateInfo::text`], `include_str!` of
//!   `templates/<id>`), which [`crate::render::Templates`] loads;
//! - the ids `render --templates` may override (an override of any other id
//!   is refused);
//! - the named id constants the renderers use ([`registered`] refuses, at
//!   compile time, a name that is not registered);
//! - the README's table of templates ([`readme_table`], checked by a test);
//! - the variables each render passes: [`crate::render::Templates::render`]
//!   refuses a context whose variables are not the registered ones.
//!
//! Tests check that the `templates/` folder holds exactly the registered
//! ids, and that each embedded template uses only its registered variables.
//!
//! A variable is named by its path in the context: `cluster.name` is field
//! `name` of the map `cluster`. Lists and scalars are leaves.

/// One template: its id, its text and its contract with the renderer.
#[derive(Debug)]
pub struct TemplateInfo {
    /// Its path under `templates/`, `/`-separated: what `--templates`
    /// overrides and error messages name.
    pub id: &'static str,
    /// The embedded text (`templates/<id>`, built into the binary).
    pub text: &'static str,
    /// What it renders, in Markdown: output paths, and when.
    pub renders: &'static str,
    /// The variables every render of it receives.
    pub variables: &'static [&'static str],
    /// Variables only some renders receive; a template tests them with
    /// `is defined`.
    pub sometimes: &'static [&'static str],
}

impl TemplateInfo {
    /// What is wrong with a render's context, whose leaves are `given`
    /// (dotted names), against this entry: a registered variable that is not
    /// given, or a given one that is not registered. `None` when they agree.
    pub fn context_mismatch(&self, given: &[String]) -> Option<String> {
        let missing: Vec<&str> = self
            .variables
            .iter()
            .copied()
            .filter(|v| !given.iter().any(|g| g == v))
            .collect();
        let unregistered: Vec<&str> = given
            .iter()
            .map(String::as_str)
            .filter(|g| !self.variables.contains(g) && !self.sometimes.contains(g))
            .collect();
        if missing.is_empty() && unregistered.is_empty() {
            return None;
        }
        Some(format!(
            "template {} was rendered without [{}] and with unregistered [{}]; \
             its entry in the template registry (src/templates.rs) disagrees",
            self.id,
            missing.join(", "),
            unregistered.join(", "),
        ))
    }
}

/// An entry whose text is `templates/<id>`, so the id is written once.
macro_rules! template {
    (
        $id:literal,
        renders: $renders:expr,
        variables: $variables:expr,
        sometimes: $sometimes:expr $(,)?
    ) => {
        TemplateInfo {
            id: $id,
            text: include_str!(concat!("../templates/", $id)),
            renders: $renders,
            variables: $variables,
            sometimes: $sometimes,
        }
    };
}

/// Every static pod's and the AuthenticationConfiguration's variables:
/// `controlplane::Vars`, one context per controller.
const CONTROL_PLANE: &[&str] = &[
    "kubernetes_version",
    "authentication_api_version",
    "cluster.name",
    "cluster.service_cidr",
    "cluster.pod_cidr",
    "cluster.dns_domain",
    "cluster.image_repository",
    "controller.name",
    "controller.address",
    "security.node_restriction",
    "security.anonymous_discovery",
    "security.verify_kubelet_serving",
    "security.encryption_at_rest",
    "security.kubelet_signing_duration",
    "security.audit_log",
    "security.service_account_extend_token_expiration",
    "security.pod_security",
    "security.tls_cipher_suites",
    "apiserver.secure_port",
    "apiserver.probe_host",
    "apiserver.endpoint",
    "apiserver.admission_plugins",
    "etcd.version",
    "etcd.v3_6",
    "etcd.servers",
    "etcd.initial_cluster",
    "etcd.listen_client_urls",
    "etcd.advertise_client_url",
    "etcd.peer_url",
    "etcd.metrics_url",
    "etcd.probe_host",
    "etcd.data_dir",
];

/// Every public manifest's variables (one context for all of them); the
/// token secret is never among them.
const PUBLIC_MANIFEST: &[&str] = &[
    "token_id",
    "kubeconfig",
    "jws",
    "bootstrapper_groups",
    "cluster_configuration",
    "kubelet",
];

/// Every kube-proxy object's variables (one context for all of them, with
/// `addons.kube_proxy`): `config` and `kubeconfig` are the rendered
/// `config.conf` and `kubeconfig.conf` the ConfigMap embeds.
const KUBE_PROXY: &[&str] = &[
    "image_repository",
    "kubernetes_version",
    "bootstrapper_groups",
    "config",
    "kubeconfig",
];
/// Every CoreDNS manifest's variables (`render::coredns`, one context for all).
const COREDNS: &[&str] = &["dns_domain", "dns_ip", "image"];

/// The variable sets several templates share, by the name the README gives
/// them: a row of the README's table names its set rather than repeat it.
pub const VARIABLE_SETS: &[(&str, &[&str])] = &[
    ("control-plane", CONTROL_PLANE),
    ("public-manifest", PUBLIC_MANIFEST),
    ("kube-proxy", KUBE_PROXY),
    ("coredns", COREDNS),
];

/// The registry. Order is the README's.
pub const TEMPLATES: &[TemplateInfo] = &[
    template!(
        "kubeconfig/kubeconfig.yaml",
        renders: "every `kubeconfig/*.conf`: a client certificate's, or `bootstrap-kubelet.conf`'s bootstrap token",
        variables: &["ca_data", "server", "cluster", "user"],
        sometimes: &["client_certificate_data", "client_key_data", "token"],
    ),
    template!(
        "static-pods/kube-apiserver.yaml",
        renders: "`control-plane/<c>/manifests/kube-apiserver.yaml`",
        variables: CONTROL_PLANE,
        sometimes: &[],
    ),
    template!(
        "static-pods/kube-controller-manager.yaml",
        renders: "`control-plane/<c>/manifests/kube-controller-manager.yaml`",
        variables: CONTROL_PLANE,
        sometimes: &[],
    ),
    template!(
        "static-pods/kube-scheduler.yaml",
        renders: "`control-plane/<c>/manifests/kube-scheduler.yaml`",
        variables: CONTROL_PLANE,
        sometimes: &[],
    ),
    template!(
        "static-pods/etcd.yaml",
        renders: "`control-plane/<c>/manifests/etcd.yaml`",
        variables: CONTROL_PLANE,
        sometimes: &[],
    ),
    template!(
        "control-plane/authentication-config.yaml",
        renders: "`control-plane/<c>/authentication-config.yaml`",
        variables: CONTROL_PLANE,
        sometimes: &[],
    ),
    template!(
        "control-plane/encryption-config.yaml",
        renders: "`control-plane/<c>/encryption-config.yaml` (secret; with `security.encryption_at_rest`)",
        variables: &["encryption.key_name", "encryption.secret"],
        sometimes: &[],
    ),
    template!(
        "control-plane/audit-policy.yaml",
        renders: "`control-plane/<c>/audit-policy.yaml` (with `security.audit_log`)",
        variables: &[],
        sometimes: &[],
    ),
    template!(
        "control-plane/admission-config.yaml",
        renders: "`control-plane/<c>/admission-config.yaml` (with `security.pod_security`)",
        variables: &["pod_security"],
        sometimes: &[],
    ),
    template!(
        "config/10-kubeseed.conf",
        renders: "`config/10-kubeseed.conf`",
        variables: &["node_args"],
        sometimes: &[],
    ),
    template!(
        "config/20-kubeseed-node.conf",
        renders: "`config/nodes/<node>/20-kubeseed-node.conf` (for a controller or node pool with `labels` or `taints`)",
        variables: &["node", "labels", "taints"],
        sometimes: &[],
    ),
    template!(
        "config/kubelet-config.yaml",
        renders: "`config/kubelet-config.yaml`, also the data of `manifests/kubelet-config-configmap.yaml`",
        variables: &[
            "dns_ip",
            "dns_domain",
            "server_tls_bootstrap",
            "seccomp_default",
            "pod_pids_limit",
            "tls_cipher_suites",
        ],
        sometimes: &[],
    ),
    template!(
        "manifests/bootstrap-token-secret.yaml",
        renders: "`manifests/bootstrap-token-<id>.yaml` (secret)",
        variables: &[
            "token_id",
            "token_id_b64",
            "token_secret_b64",
            "expiration",
            "auth_extra_groups",
            "description",
            "usages",
            "true_b64",
        ],
        sometimes: &[],
    ),
    template!(
        "manifests/data/cluster-info-kubeconfig.yaml",
        renders: "`kubeconfig` of `manifests/cluster-info-configmap.yaml` (the bytes the JWS signs; no file of its own)",
        variables: &["ca_data", "server"],
        sometimes: &[],
    ),
    template!(
        "manifests/cluster-info-configmap.yaml",
        renders: "`manifests/cluster-info-configmap.yaml`",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/bootstrap-signer-clusterinfo-role.yaml",
        renders: "`manifests/bootstrap-signer-clusterinfo-role.yaml` (with `security.anonymous_discovery`)",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/bootstrap-signer-clusterinfo-rolebinding.yaml",
        renders: "`manifests/bootstrap-signer-clusterinfo-rolebinding.yaml` (with `security.anonymous_discovery`)",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/kubelet-bootstrap-clusterrolebinding.yaml",
        renders: "`manifests/kubelet-bootstrap-clusterrolebinding.yaml`",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/node-autoapprove-bootstrap-clusterrolebinding.yaml",
        renders: "`manifests/node-autoapprove-bootstrap-clusterrolebinding.yaml` (with `security.auto_approve_node_csrs`)",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/node-autoapprove-certificate-rotation-clusterrolebinding.yaml",
        renders: "`manifests/node-autoapprove-certificate-rotation-clusterrolebinding.yaml` (with `security.auto_approve_node_csrs`)",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/get-nodes-clusterrole.yaml",
        renders: "`manifests/get-nodes-clusterrole.yaml`",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/get-nodes-clusterrolebinding.yaml",
        renders: "`manifests/get-nodes-clusterrolebinding.yaml`",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/cluster-admins-clusterrolebinding.yaml",
        renders: "`manifests/cluster-admins-clusterrolebinding.yaml`",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/nodes-clusterrolebinding.yaml",
        renders: "`manifests/nodes-clusterrolebinding.yaml` (with `security.node_restriction = false`)",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/node-self-delete-clusterrole.yaml",
        renders: "`manifests/node-self-delete-clusterrole.yaml` (with `security.node_self_delete`)",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/node-self-delete-clusterrolebinding.yaml",
        renders: "`manifests/node-self-delete-clusterrolebinding.yaml` (with `security.node_self_delete`)",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/data/cluster-configuration.yaml",
        renders: "the ClusterConfiguration in `manifests/kubeadm-config-configmap.yaml` (no file of its own)",
        variables: &[
            "cert_sans",
            "ca_validity",
            "cert_validity",
            "cluster_name",
            "control_plane_endpoint",
            "encryption_algorithm",
            "kubernetes_version",
            "image_repository",
            "dns_domain",
            "pod_subnet",
            "service_subnet",
            "etcd_data_dir",
        ],
        sometimes: &[],
    ),
    template!(
        "manifests/kubeadm-config-configmap.yaml",
        renders: "`manifests/kubeadm-config-configmap.yaml`",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/nodes-kubeadm-config-role.yaml",
        renders: "`manifests/nodes-kubeadm-config-role.yaml`",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/nodes-kubeadm-config-rolebinding.yaml",
        renders: "`manifests/nodes-kubeadm-config-rolebinding.yaml`",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/kubelet-config-configmap.yaml",
        renders: "`manifests/kubelet-config-configmap.yaml`",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/kubelet-config-role.yaml",
        renders: "`manifests/kubelet-config-role.yaml`",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/kubelet-config-rolebinding.yaml",
        renders: "`manifests/kubelet-config-rolebinding.yaml`",
        variables: PUBLIC_MANIFEST,
        sometimes: &[],
    ),
    template!(
        "manifests/data/kube-proxy-config.yaml",
        renders: "`config.conf` of `manifests/kube-proxy-configmap.yaml`, the KubeProxyConfiguration (no file of its own)",
        variables: &["bind_address", "cluster_cidr", "mode"],
        sometimes: &[],
    ),
    template!(
        "manifests/data/kube-proxy-kubeconfig.yaml",
        renders: "`kubeconfig.conf` of `manifests/kube-proxy-configmap.yaml` (no file of its own)",
        variables: &["server"],
        sometimes: &[],
    ),
    template!(
        "manifests/kube-proxy-serviceaccount.yaml",
        renders: "`manifests/kube-proxy-serviceaccount.yaml` (with `addons.kube_proxy`)",
        variables: KUBE_PROXY,
        sometimes: &[],
    ),
    template!(
        "manifests/kube-proxy-clusterrolebinding.yaml",
        renders: "`manifests/kube-proxy-clusterrolebinding.yaml` (with `addons.kube_proxy`)",
        variables: KUBE_PROXY,
        sometimes: &[],
    ),
    template!(
        "manifests/kube-proxy-role.yaml",
        renders: "`manifests/kube-proxy-role.yaml` (with `addons.kube_proxy`)",
        variables: KUBE_PROXY,
        sometimes: &[],
    ),
    template!(
        "manifests/kube-proxy-rolebinding.yaml",
        renders: "`manifests/kube-proxy-rolebinding.yaml` (with `addons.kube_proxy`)",
        variables: KUBE_PROXY,
        sometimes: &[],
    ),
    template!(
        "manifests/kube-proxy-configmap.yaml",
        renders: "`manifests/kube-proxy-configmap.yaml` (with `addons.kube_proxy`)",
        variables: KUBE_PROXY,
        sometimes: &[],
    ),
    template!(
        "manifests/kube-proxy-daemonset.yaml",
        renders: "`manifests/kube-proxy-daemonset.yaml` (with `addons.kube_proxy`)",
        variables: KUBE_PROXY,
        sometimes: &[],
    ),
    template!(
        "manifests/coredns-serviceaccount.yaml",
        renders: "`manifests/coredns-serviceaccount.yaml` (with `addons.coredns`)",
        variables: COREDNS,
        sometimes: &[],
    ),
    template!(
        "manifests/coredns-clusterrole.yaml",
        renders: "`manifests/coredns-clusterrole.yaml` (with `addons.coredns`)",
        variables: COREDNS,
        sometimes: &[],
    ),
    template!(
        "manifests/coredns-clusterrolebinding.yaml",
        renders: "`manifests/coredns-clusterrolebinding.yaml` (with `addons.coredns`)",
        variables: COREDNS,
        sometimes: &[],
    ),
    template!(
        "manifests/coredns-configmap.yaml",
        renders: "`manifests/coredns-configmap.yaml` (with `addons.coredns`)",
        variables: COREDNS,
        sometimes: &[],
    ),
    template!(
        "manifests/coredns-deployment.yaml",
        renders: "`manifests/coredns-deployment.yaml` (with `addons.coredns`)",
        variables: COREDNS,
        sometimes: &[],
    ),
    template!(
        "manifests/coredns-service.yaml",
        renders: "`manifests/coredns-service.yaml` (with `addons.coredns`)",
        variables: COREDNS,
        sometimes: &[],
    ),
    template!(
        "manifests/coredns-poddisruptionbudget.yaml",
        renders: "`manifests/coredns-poddisruptionbudget.yaml` (with `addons.coredns`)",
        variables: COREDNS,
        sometimes: &[],
    ),
];

/// `id`, which must be registered: for the renderers' named id constants,
/// so that a name that is not in [`TEMPLATES`] fails to compile.
pub const fn registered(id: &'static str) -> &'static str {
    let mut i = 0;
    while i < TEMPLATES.len() {
        if str_eq(TEMPLATES[i].id, id) {
            return id;
        }
        i += 1;
    }
    panic!("not a registered template id: add it to TEMPLATES in src/templates.rs")
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The registry entry of `id`.
pub fn info(id: &str) -> Option<&'static TemplateInfo> {
    TEMPLATES.iter().find(|t| t.id == id)
}

/// Every registered id, sorted: the ids `--templates` may override.
pub fn ids() -> Vec<&'static str> {
    let mut ids: Vec<&str> = TEMPLATES.iter().map(|t| t.id).collect();
    ids.sort_unstable();
    ids
}

/// Where the README's generated table starts and ends.
pub const README_BEGIN: &str =
    "<!-- templates table: generated from TEMPLATES in src/templates.rs; a test keeps them equal -->";
pub const README_END: &str = "<!-- end of templates table -->";

/// The README's table of templates, one row per registered id, then the
/// shared variable sets it names.
pub fn readme_table() -> String {
    let mut out = String::from("| id | renders | variables |\n|---|---|---|\n");
    for t in TEMPLATES {
        let mut vars = match VARIABLE_SETS.iter().find(|(_, set)| *set == t.variables) {
            Some((name, _)) => format!("the {name} variables"),
            None => variable_list(t.variables),
        };
        if !t.sometimes.is_empty() {
            vars.push_str("; from some renders only: ");
            vars.push_str(&variable_list(t.sometimes));
        }
        out.push_str(&format!("| `{}` | {} | {} |\n", t.id, t.renders, vars));
    }
    out.push('\n');
    for (name, set) in VARIABLE_SETS {
        out.push_str(&format!(
            "The {name} variables: {}.\n\n",
            variable_list(set)
        ));
    }
    out
}

/// `names` for the README, the fields of a map grouped:
/// `` `a`, `b.{x, y}` ``; `none` when there are none.
fn variable_list(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for name in names {
        match name.split_once('.') {
            Some((map, field)) => match groups.iter_mut().find(|(m, _)| *m == map) {
                Some((_, fields)) => fields.push(field),
                None => groups.push((map, vec![field])),
            },
            None => groups.push((name, Vec::new())),
        }
    }
    groups
        .iter()
        .map(|(map, fields)| {
            if fields.is_empty() {
                format!("`{map}`")
            } else {
                format!("`{map}.{{{}}}`", fields.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where `readme` disagrees with [`readme_table`]: `None` when the text
/// between [`README_BEGIN`] and [`README_END`] is exactly the table.
pub fn readme_mismatch(readme: &str) -> Option<String> {
    let Some((_, rest)) = readme.split_once(README_BEGIN) else {
        return Some(format!("no line {README_BEGIN}"));
    };
    let Some((table, _)) = rest.split_once(README_END) else {
        return Some(format!("no line {README_END}"));
    };
    let expected = format!("\n{}", readme_table());
    (table != expected).then(|| {
        format!("the README's templates table is not the registry's; it should read:\n{expected}")
    })
}

/// Where a folder's files (ids, `/`-separated) and the registry disagree:
/// a file that is no registered id, or an id without a file. Empty when
/// they agree.
pub fn folder_mismatch(files: &[String], ids: &[&str]) -> Vec<String> {
    let mut problems: Vec<String> = files
        .iter()
        .filter(|f| !ids.contains(&f.as_str()))
        .map(|f| format!("templates/{f} is not registered"))
        .collect();
    problems.extend(
        ids.iter()
            .filter(|id| !files.iter().any(|f| f == *id))
            .map(|id| format!("{id} is registered but templates/{id} does not exist")),
    );
    let mut seen = Vec::new();
    for id in ids {
        if seen.contains(id) {
            problems.push(format!("{id} is registered twice"));
        }
        seen.push(*id);
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every file under `dir`, as its `/`-separated path relative to `dir`.
    fn files_under(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = format!("{prefix}{}", e.file_name().to_string_lossy());
            if e.file_type().unwrap().is_dir() {
                files_under(&e.path(), &format!("{name}/"), out);
            } else {
                out.push(name);
            }
        }
    }

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn the_templates_folder_is_the_registry() {
        let mut files = Vec::new();
        files_under(&root().join("templates"), "", &mut files);
        let ids: Vec<&str> = TEMPLATES.iter().map(|t| t.id).collect();
        assert_eq!(folder_mismatch(&files, &ids), Vec::<String>::new());
        assert_eq!(files.len(), TEMPLATES.len());
        for t in TEMPLATES {
            let on_disk = std::fs::read_to_string(root().join("templates").join(t.id)).unwrap();
            assert_eq!(t.text, on_disk, "{}", t.id);
        }
    }

    #[test]
    fn folder_mismatch_finds_every_disagreement() {
        let files = vec!["a.yaml".to_string(), "b/c.yaml".to_string()];
        assert!(folder_mismatch(&files, &["a.yaml", "b/c.yaml"]).is_empty());
        assert_eq!(
            folder_mismatch(&files, &["a.yaml", "b/d.yaml", "a.yaml"]),
            [
                "templates/b/c.yaml is not registered",
                "b/d.yaml is registered but templates/b/d.yaml does not exist",
                "a.yaml is registered twice",
            ]
        );
    }

    #[test]
    fn the_readme_lists_every_template() {
        let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
        if let Some(problem) = readme_mismatch(&readme) {
            panic!("{problem}");
        }
        for t in TEMPLATES {
            assert!(readme_table().contains(&format!("| `{}` |", t.id)));
        }
    }

    /// The variables the README's table of control-plane examples names.
    fn example_variables(readme: &str) -> Vec<String> {
        let Some((_, table)) = readme.split_once("| variable | example |\n|---|---|\n") else {
            return Vec::new();
        };
        table
            .lines()
            .take_while(|l| l.starts_with('|'))
            .flat_map(|l| l.split('|').nth(1).unwrap_or("").split(','))
            .map(|v| v.trim().trim_matches('`').to_string())
            .collect()
    }

    #[test]
    fn the_readme_gives_an_example_of_every_control_plane_variable() {
        let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
        let mut named = example_variables(&readme);
        named.sort();
        let mut registered: Vec<String> = CONTROL_PLANE.iter().map(|v| v.to_string()).collect();
        registered.sort();
        assert_eq!(named, registered);
        // The check sees a stale row.
        let stale = readme.replacen("`etcd.v3_6`", "`etcd.v36`", 1);
        let mut named = example_variables(&stale);
        named.sort();
        assert_ne!(named, registered);
    }

    #[test]
    fn readme_mismatch_finds_a_stale_table() {
        let good = format!(
            "# x\n{README_BEGIN}\n{}{README_END}\nmore\n",
            readme_table()
        );
        assert_eq!(readme_mismatch(&good), None);
        let stale = good.replacen("| `static-pods/etcd.yaml` |", "| `etcd.yaml` |", 1);
        assert!(readme_mismatch(&stale).unwrap().contains("should read"));
        let dropped = good.replacen("`etcd.{version, ", "`etcd.{", 1);
        assert!(readme_mismatch(&dropped).is_some());
        assert!(readme_mismatch("no markers").is_some());
    }

    #[test]
    fn variables_are_grouped_by_map() {
        assert_eq!(
            variable_list(&["a", "b.x", "c", "b.y"]),
            "`a`, `b.{x, y}`, `c`"
        );
        assert_eq!(variable_list(&[]), "none");
    }

    #[test]
    fn registered_names_a_registered_id() {
        assert_eq!(registered("static-pods/etcd.yaml"), "static-pods/etcd.yaml");
        assert!(info("static-pods/etcd.yml").is_none());
        let ids = ids();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
    }

    #[test]
    fn context_mismatch_names_missing_and_unregistered_variables() {
        let t = info("kubeconfig/kubeconfig.yaml").unwrap();
        let given = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            t.context_mismatch(&given(&["ca_data", "server", "cluster", "user", "token"])),
            None
        );
        let err = t
            .context_mismatch(&given(&["ca_data", "server", "cluster", "usr"]))
            .unwrap();
        assert!(err.contains("without [user]"), "{err}");
        assert!(err.contains("unregistered [usr]"), "{err}");
    }
}
