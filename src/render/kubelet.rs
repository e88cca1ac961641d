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
        },
    )
}

/// Renders `config/kubelet-config.yaml` (the `configuration`) and `config/10-kubeseed.conf`.
pub fn render(configuration: &str, templates: &Templates) -> Result<FileSet, RenderError> {
    let mut files = FileSet::new();
    files.insert(KUBELET_CONFIG, File::public(Kind::Config, configuration))?;
    let drop_in = templates.render(KUBELET_DROP_IN, context! {})?;
    files.insert(KUBELET_DROP_IN, File::public(Kind::Config, drop_in))?;
    Ok(files)
}
