//! The kubeconfigs: one per client identity of the identity table (admin, super-admin,
//! controller-manager, scheduler), with its certificate and key embedded, and the kubelet's
//! bootstrap kubeconfig with the bootstrap token. Every one names `cluster.api_server` and
//! embeds the Kubernetes CA's trust bundle.

use minijinja::{context, Value};

use crate::derive::BootstrapToken;
use crate::fileset::{File, FileSet, Kind};
use crate::identity::CaId;
use crate::issue::{IssuedCa, Pki};
use crate::model::{LeafOutput, Model};
use crate::templates::registered;
use crate::text::b64;

use super::{RenderError, Templates};

/// The kubeconfig template's id (see the registry, [`crate::templates`]).
pub const KUBECONFIG: &str = registered("kubeconfig/kubeconfig.yaml");
/// The user name kubeadm gives the bootstrap token in bootstrap-kubelet.conf.
const BOOTSTRAP_USER: &str = "tls-bootstrap-token-user";
/// Renders `kubeconfig/`.
pub fn render(
    model: &Model,
    pki: &Pki,
    token: &BootstrapToken,
    templates: &Templates,
) -> Result<FileSet, RenderError> {
    let mut files = FileSet::new();
    let ca = kubernetes_ca(pki)?;
    // Every kubeconfig names the same cluster; only the user and its credentials differ.
    let mut add = |path: &str, user: &str, credentials: Value| -> Result<(), RenderError> {
        let text = templates.render(
            KUBECONFIG,
            context! {
                ca_data => b64(ca.bundle_pem.as_bytes()),
                server => model.server,
                cluster => model.cluster_name,
                user => user,
                ..credentials
            },
        )?;
        files.insert(path, File::secret(Kind::Kubeconfig, text.into_bytes()))?;
        Ok(())
    };
    for leaf in &pki.leaves {
        let LeafOutput::Kubeconfig(name) = &leaf.row.output else {
            continue;
        };
        let key_pem = leaf.key.to_pem();
        add(
            &format!("kubeconfig/{name}.conf"),
            &leaf.row.cn,
            context! {
                client_certificate_data => b64(leaf.cert_pem.as_bytes()),
                client_key_data => b64(key_pem.as_bytes()),
            },
        )?;
    }
    add(
        "kubeconfig/bootstrap-kubelet.conf",
        BOOTSTRAP_USER,
        context! { token => token.token().as_str() },
    )?;
    Ok(files)
}

fn kubernetes_ca(pki: &Pki) -> Result<&IssuedCa, RenderError> {
    pki.cas
        .get(&CaId::Kubernetes)
        .ok_or_else(|| RenderError::Missing("the Kubernetes CA".into()))
}
