//! The kube-proxy add-on (`manifests/kube-proxy-*.yaml`, with `addons.kube_proxy`): the
//! objects kubeadm's proxy addon creates (`cmd/kubeadm/app/phases/addons/proxy/`), under
//! kubeadm's names, so `kubeadm join` and `kubeadm upgrade` find what they expect.
//!
//! One template per object, each rendered to the same path in the output; the ConfigMap's
//! two documents (`config.conf`, the KubeProxyConfiguration, and `kubeconfig.conf`) are
//! templates of their own under `templates/manifests/data/`, rendered first and embedded as
//! literal blocks. Every value comes from [`crate::model::ClusterValues`].

use minijinja::context;

use super::{RenderError, Templates};
use crate::fileset::{File, FileSet, Kind};
use crate::model::Model;
use crate::templates::registered;

pub const SERVICE_ACCOUNT: &str = registered("manifests/kube-proxy-serviceaccount.yaml");
pub const CLUSTER_ROLE_BINDING: &str = registered("manifests/kube-proxy-clusterrolebinding.yaml");
pub const ROLE: &str = registered("manifests/kube-proxy-role.yaml");
pub const ROLE_BINDING: &str = registered("manifests/kube-proxy-rolebinding.yaml");
pub const CONFIG_MAP: &str = registered("manifests/kube-proxy-configmap.yaml");
pub const DAEMON_SET: &str = registered("manifests/kube-proxy-daemonset.yaml");
/// Embedded documents, not files of their own.
pub const CONFIG: &str = registered("manifests/data/kube-proxy-config.yaml");
pub const KUBECONFIG: &str = registered("manifests/data/kube-proxy-kubeconfig.yaml");

/// The objects, in kubeadm's order.
const OBJECTS: [&str; 6] = [
    SERVICE_ACCOUNT,
    CLUSTER_ROLE_BINDING,
    ROLE,
    ROLE_BINDING,
    CONFIG_MAP,
    DAEMON_SET,
];

/// Renders the kube-proxy objects when the spec switches them on; nothing otherwise.
pub fn render(model: &Model, templates: &Templates) -> Result<FileSet, RenderError> {
    let v = &model.cluster;
    let mut files = FileSet::new();
    if !v.kube_proxy {
        return Ok(files);
    }
    // kubeadm binds kube-proxy to the wildcard of the local API endpoint's family; the pod
    // CIDR (one family: the spec has no dual stack) says which.
    let bind_address = if v.pod_cidr.contains(':') {
        "::"
    } else {
        "0.0.0.0"
    };
    let config = templates.render(
        CONFIG,
        context! {
            bind_address => bind_address,
            cluster_cidr => v.pod_cidr,
            mode => v.kube_proxy_mode,
        },
    )?;
    let kubeconfig = templates.render(KUBECONFIG, context! { server => model.server })?;
    let ctx = context! {
        image_repository => v.image_repository,
        kubernetes_version => v.kubernetes_version,
        bootstrapper_groups => v.bootstrapper_groups,
        config => config,
        kubeconfig => kubeconfig,
    };
    for id in OBJECTS {
        let text = templates.render(id, ctx.clone())?;
        files.insert(id, File::public(Kind::Manifest, text))?;
    }
    Ok(files)
}
