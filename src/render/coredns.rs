//! The CoreDNS add-on (`addons.coredns`): what kubeadm's `addon/coredns` phase
//! creates (`cmd/kubeadm/app/phases/addons/dns/`), as manifests beside the others,
//! plus a PodDisruptionBudget: the ServiceAccount, the `system:coredns` ClusterRole
//! and its binding, the Corefile ConfigMap, the Deployment and the `kube-dns`
//! Service at the kubelet's `clusterDNS` address.
//!
//! One template per object under `templates/manifests/coredns-*.yaml`, each
//! rendered to the same path, all from one context: the cluster domain, the DNS
//! address and the image, which this module resolves as kubeadm's `GetDNSImage`
//! does.

use minijinja::context;

use super::{RenderError, Templates};
use crate::fileset::{File, FileSet, Kind};
use crate::model::Model;
// kubeadm's default `imageRepository`, where CoreDNS lives one level down.
use crate::spec::DEFAULT_IMAGE_REPOSITORY;
use crate::templates::registered;

pub const SERVICE_ACCOUNT: &str = registered("manifests/coredns-serviceaccount.yaml");
pub const CLUSTER_ROLE: &str = registered("manifests/coredns-clusterrole.yaml");
pub const CLUSTER_ROLE_BINDING: &str = registered("manifests/coredns-clusterrolebinding.yaml");
pub const CONFIG_MAP: &str = registered("manifests/coredns-configmap.yaml");
pub const DEPLOYMENT: &str = registered("manifests/coredns-deployment.yaml");
pub const SERVICE: &str = registered("manifests/coredns-service.yaml");
pub const DISRUPTION_BUDGET: &str = registered("manifests/coredns-poddisruptionbudget.yaml");

const OBJECTS: [&str; 7] = [
    SERVICE_ACCOUNT,
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    CONFIG_MAP,
    DEPLOYMENT,
    SERVICE,
    DISRUPTION_BUDGET,
];

/// The CoreDNS image tag kubeadm pairs with each Kubernetes minor version
/// (`CoreDNSVersion` in kubeadm's `cmd/kubeadm/app/constants/constants.go`), as
/// in the newest patch release of each minor when this table was written
/// (1.32.13, 1.33.13, 1.34.4, 1.35.4, 1.36.3). Part of the determinism promise:
/// an entry never changes within kubeseed 1.x; pin another image with a
/// template override of `manifests/coredns-deployment.yaml`.
pub const COREDNS_VERSIONS: &[(u32, &str)] = &[
    (32, "v1.11.3"),
    (33, "v1.12.0"),
    (34, "v1.12.1"),
    (35, "v1.13.1"),
    (36, "v1.14.2"),
];

/// The CoreDNS image tag for a Kubernetes minor version, and whether it had to
/// fall back to the newest minor the table knows (the spec refuses minors
/// older than the table's first).
pub fn coredns_version(minor: u32) -> (&'static str, bool) {
    match COREDNS_VERSIONS.iter().find(|(m, _)| *m == minor) {
        Some((_, tag)) => (tag, false),
        None => (COREDNS_VERSIONS[COREDNS_VERSIONS.len() - 1].1, true),
    }
}

/// The CoreDNS image, as kubeadm's `GetDNSImage`: the official image moved from
/// `registry.k8s.io/coredns` to `registry.k8s.io/coredns/coredns`, so the default
/// repository gets the extra path element and a mirror does not.
pub fn image(image_repository: &str, minor: u32) -> String {
    let (tag, _) = coredns_version(minor);
    if image_repository == DEFAULT_IMAGE_REPOSITORY {
        format!("{image_repository}/coredns/coredns:{tag}")
    } else {
        format!("{image_repository}/coredns:{tag}")
    }
}

/// What `render` should tell the operator about the CoreDNS add-on.
pub fn warnings(model: &Model) -> Vec<String> {
    let v = &model.cluster;
    let minor = v.kubernetes_minor;
    match coredns_version(minor) {
        (_, true) if v.coredns => vec![format!(
            "kubeseed knows no CoreDNS version for Kubernetes 1.{minor}; the coredns \
             Deployment uses the newest one it knows, {} (override \
             manifests/coredns-deployment.yaml with --templates to choose another)",
            image(&v.image_repository, minor)
        )],
        _ => Vec::new(),
    }
}

/// Renders the CoreDNS manifests, or nothing without `addons.coredns`.
pub fn render(model: &Model, templates: &Templates) -> Result<FileSet, RenderError> {
    let mut files = FileSet::new();
    let v = &model.cluster;
    if !v.coredns {
        return Ok(files);
    }
    let vars = context! {
        dns_domain => v.dns_domain,
        dns_ip => v.dns_ip.to_string(),
        image => image(&v.image_repository, v.kubernetes_minor),
    };
    for id in OBJECTS {
        let text = templates.render(id, vars.clone())?;
        files.insert(id, File::public(Kind::Manifest, text))?;
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_per_minor_and_fallback() {
        assert_eq!(coredns_version(32), ("v1.11.3", false));
        assert_eq!(coredns_version(33), ("v1.12.0", false));
        assert_eq!(coredns_version(34), ("v1.12.1", false));
        assert_eq!(coredns_version(35), ("v1.13.1", false));
        assert_eq!(coredns_version(36), ("v1.14.2", false));
        assert_eq!(coredns_version(37), ("v1.14.2", true));
        for w in COREDNS_VERSIONS.windows(2) {
            assert_eq!(w[0].0 + 1, w[1].0, "one entry per minor, ascending");
        }
    }

    #[test]
    fn image_follows_kubeadm_get_dns_image() {
        assert_eq!(
            image("registry.k8s.io", 34),
            "registry.k8s.io/coredns/coredns:v1.12.1"
        );
        assert_eq!(
            image("mirror.example.com/k8s", 36),
            "mirror.example.com/k8s/coredns:v1.14.2"
        );
        // Only the exact default gets the extra path element.
        assert_eq!(
            image("registry.k8s.io/mirror", 32),
            "registry.k8s.io/mirror/coredns:v1.11.3"
        );
    }

    fn model(version: &str, addons: &str) -> Model {
        let text = format!(
            "version = 1\n[cluster]\nname = \"unit\"\napi_server = \"https://10.0.0.10:6443\"\n\
             kubernetes_version = \"{version}\"\n[[controllers]]\nname = \"cp-0\"\n\
             address = \"10.0.0.10\"\n[pki]\nnot_before = \"2026-01-01T00:00:00Z\"\n\
             [bootstrap_token]\n[addons]\n{addons}\n"
        );
        Model::from_spec(&crate::spec::parse("unit.toml", &text).unwrap().spec)
    }

    #[test]
    fn a_minor_newer_than_the_table_warns_only_with_coredns_on() {
        assert!(warnings(&model("v1.36.3", "coredns = true")).is_empty());
        let w = warnings(&model("v1.37.0", "coredns = true"));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("Kubernetes 1.37"), "{w:?}");
        assert!(
            w[0].contains("registry.k8s.io/coredns/coredns:v1.14.2"),
            "{w:?}"
        );
        // Nothing to say about an add-on that is not rendered.
        assert!(warnings(&model("v1.37.0", "coredns = false")).is_empty());
    }

    #[test]
    fn nothing_without_the_switch() {
        let templates = Templates::embedded().unwrap();
        let off = render(&model("v1.34.2", "coredns = false"), &templates).unwrap();
        assert_eq!(off.len(), 0);
        let on = render(&model("v1.34.2", "coredns = true"), &templates).unwrap();
        let paths: Vec<&str> = on.iter().map(|(p, _)| p).collect();
        let mut want = OBJECTS.to_vec();
        want.sort_unstable();
        assert_eq!(paths, want);
    }
}
