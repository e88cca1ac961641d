//! Render: the model, the issued PKI and the templates → the output file set, in memory.
//! [`engine`] is the template engine; every other module renders one family of output files
//! from the model and returns its own [`FileSet`]:
//!
//! - [`pki`]: `pki/` (CAs as trust bundles, certificate and key pairs, the service-account keys);
//! - [`kubeconfigs`]: `kubeconfig/` (one per client identity, and the bootstrap kubeconfig);
//! - [`manifests`]: `manifests/` (what `kubectl apply` and `kubeadm join` need);
//! - [`kubelet`]: `config/` (the KubeletConfiguration and the kubelet's systemd drop-in);
//! - [`controlplane`]: `control-plane/<controller>/` (static pods, authentication and
//!   encryption configuration);
//! - [`coredns`]: `manifests/coredns-*.yaml` (the CoreDNS add-on, with `addons.coredns`).
//! - [`kube_proxy`]: `manifests/kube-proxy-*.yaml` (the kube-proxy add-on, with
//!   `addons.kube_proxy`).
//!
//! The families import the engine and nothing of each other; this module only joins them.

pub mod controlplane;
pub mod coredns;
pub mod engine;
pub mod kube_proxy;
pub mod kubeconfigs;
pub mod kubelet;
pub mod manifests;
pub mod pki;

pub use engine::{template_ids, Override, RenderError, Templates};

use crate::derive::BootstrapToken;
use crate::fileset::FileSet;
use crate::issue::Pki;
use crate::model::Model;

/// Renders every file of the PKI stage: certificates, keys, kubeconfigs, manifests and the
/// kubelet's configuration.
pub fn render(
    model: &Model,
    pki: &Pki,
    token: &BootstrapToken,
    templates: &Templates,
) -> Result<FileSet, RenderError> {
    let mut files = pki::render(pki)?;
    files.extend(kubeconfigs::render(model, pki, token, templates)?)?;
    let kubelet_config = kubelet::configuration(model, templates)?;
    files.extend(manifests::render(
        model,
        pki,
        token,
        &kubelet_config,
        templates,
    )?)?;
    files.extend(kubelet::render(model, &kubelet_config, templates)?)?;
    files.extend(kube_proxy::render(model, templates)?)?;
    files.extend(coredns::render(model, templates)?)?;
    Ok(files)
}
