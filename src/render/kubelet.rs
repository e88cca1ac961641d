//! The kubelet's files, the same on every node: its KubeletConfiguration (`--config`,
//! `config/kubelet-config.yaml`, also the data of the `kubelet-config` ConfigMap) and the
//! systemd drop-in with its flags (`config/10-kubeseed.conf`).

use minijinja::context;

use super::{RenderError, Templates};
use crate::fileset::{File, FileSet, Kind};
use crate::model::Model;
use crate::templates::registered;

/// The KubeletConfiguration, a file of its own and the `kubelet-config` data.
pub const KUBELET_CONFIG: &str = registered("config/kubelet-config.yaml");
pub const KUBELET_DROP_IN: &str = registered("config/10-kubeseed.conf");
/// One bundle's labels and taints, for a controller or node pool that has any.
pub const NODE_DROP_IN: &str = registered("config/20-kubeseed-node.conf");

/// From spec version 2, on every node: a hidden file that makes `/etc/kubernetes/manifests`,
/// the KubeletConfiguration's `staticPodPath`, exist in every bundle format (cloud-init's
/// `write_files` cannot make an empty directory). The kubelet reads only the files of that
/// directory whose names do not start with a dot.
pub const STATIC_POD_PATH_KEEP: &str = "config/static-pod-path.keep";
const STATIC_POD_PATH_KEEP_TEXT: &str =
    "# kubeseed: keeps /etc/kubernetes/manifests, the kubelet's staticPodPath, on every\n\
# node, as kubeadm join creates it. The kubelet ignores files whose names start with \".\".\n";

/// Where the drop-in of bundle `node` is written (`bundle/placement.rs` puts it on that
/// bundle's nodes only).
pub fn node_drop_in_path(node: &str) -> String {
    format!("config/nodes/{node}/20-kubeseed-node.conf")
}

/// The KubeletConfiguration's text: the kubelet family writes it, and the `kubelet-config`
/// ConfigMap carries it byte for byte.
pub fn configuration(model: &Model, templates: &Templates) -> Result<String, RenderError> {
    let v = &model.cluster;
    templates.render(
        KUBELET_CONFIG,
        context! {
            dns_ip => v.dns_ip.to_string(),
            dns_domain => v.dns_domain,
            server_tls_bootstrap => v.verify_kubelet_serving,
            seccomp_default => v.seccomp_default,
            pod_pids_limit => v.pod_pids_limit,
            tls_cipher_suites => v.tls_cipher_suites,
        },
    )
}

/// Renders `config/kubelet-config.yaml` (the `configuration`), `config/10-kubeseed.conf`
/// and, for each controller and node pool with labels or taints, its own drop-in.
pub fn render(
    model: &Model,
    configuration: &str,
    templates: &Templates,
) -> Result<FileSet, RenderError> {
    let mut files = FileSet::new();
    files.insert(KUBELET_CONFIG, File::public(Kind::Config, configuration))?;
    let nodes = model
        .controllers
        .iter()
        .map(|c| (&c.name, &c.kubelet))
        .chain(model.node_pools.iter().map(|p| (&p.name, &p.kubelet)))
        .filter(|(_, k)| !k.labels.is_empty() || !k.taints.is_empty());
    let mut node_args = false;
    for (node, kubelet) in nodes {
        let labels: Vec<String> = kubelet
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let text = templates.render(
            NODE_DROP_IN,
            context! { node => node, labels => labels, taints => kubelet.taints },
        )?;
        files.insert(&node_drop_in_path(node), File::public(Kind::Config, text))?;
        node_args = true;
    }
    if model.cluster.static_pod_path {
        files.insert(
            STATIC_POD_PATH_KEEP,
            File::public(Kind::Config, STATIC_POD_PATH_KEEP_TEXT),
        )?;
    }
    let drop_in = templates.render(KUBELET_DROP_IN, context! { node_args => node_args })?;
    files.insert(KUBELET_DROP_IN, File::public(Kind::Config, drop_in))?;
    Ok(files)
}
