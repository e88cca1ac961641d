//! The cluster manifests (`manifests/`, for `kubectl apply -f`).
//!
//! What a stock `kubeadm join --token … --discovery-token-ca-cert-hash …`
//! and a TLS-bootstrapping kubelet need from a cluster kubeadm did not set
//! up: the bootstrap-token Secret, the signed `kube-public/cluster-info`, the
//! `kubeadm-config` and `kubelet-config` ConfigMaps, and the RBAC kubeadm
//! creates for them (shared/reference/kubernetes-bootstrap-facts.md §1–§4).
//!
//! One template per object under `templates/manifests/`; each renders to the
//! same path in the output, or not at all when the spec switches it off.
//! `templates/manifests/data/` holds the documents embedded in ConfigMaps,
//! which are not files of their own. Every value comes from
//! [`crate::model::ClusterValues`]; templates only substitute and test.

use minijinja::{context, Value};

use super::{RenderError, Templates};
use crate::derive::BootstrapToken;
use crate::fileset::{File, FileSet, Kind};
use crate::identity::CaId;
use crate::issue::Pki;
use crate::jws;
use crate::model::Model;
use crate::spec::TokenUsage;
use crate::templates::registered;
use crate::text::b64;

pub const SECRET: &str = registered("manifests/bootstrap-token-secret.yaml");

/// Where the Secret is written: named for its token id (public: it is also the Secret's
/// name), so rotating the token shows in `plan` as the old Secret removed and a new one
/// added, and `kubectl apply --prune` removes the old one.
pub fn secret_path(token_id: &str) -> String {
    format!("manifests/bootstrap-token-{token_id}.yaml")
}

/// The token id that a Secret file's path names, if `path` is such a file.
pub fn secret_token_id(path: &str) -> Option<&str> {
    path.strip_prefix("manifests/bootstrap-token-")?
        .strip_suffix(".yaml")
        .filter(|id| {
            id.len() == 6
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}
pub const CLUSTER_INFO: &str = registered("manifests/cluster-info-configmap.yaml");
pub const CLUSTER_INFO_ROLE: &str = registered("manifests/bootstrap-signer-clusterinfo-role.yaml");
pub const CLUSTER_INFO_ROLE_BINDING: &str =
    registered("manifests/bootstrap-signer-clusterinfo-rolebinding.yaml");
pub const KUBELET_BOOTSTRAP: &str =
    registered("manifests/kubelet-bootstrap-clusterrolebinding.yaml");
pub const AUTOAPPROVE_BOOTSTRAP: &str =
    registered("manifests/node-autoapprove-bootstrap-clusterrolebinding.yaml");
pub const AUTOAPPROVE_ROTATION: &str =
    registered("manifests/node-autoapprove-certificate-rotation-clusterrolebinding.yaml");
pub const GET_NODES_ROLE: &str = registered("manifests/get-nodes-clusterrole.yaml");
pub const GET_NODES_BINDING: &str = registered("manifests/get-nodes-clusterrolebinding.yaml");
pub const CLUSTER_ADMINS: &str = registered("manifests/cluster-admins-clusterrolebinding.yaml");
/// Only with `security.node_restriction = false`: without the Node
/// authorizer, kubelets get their permissions from RBAC alone.
pub const NODES_BINDING: &str = registered("manifests/nodes-clusterrolebinding.yaml");
/// Only with `security.node_self_delete`.
pub const SELF_DELETE_ROLE: &str = registered("manifests/node-self-delete-clusterrole.yaml");
pub const SELF_DELETE_BINDING: &str =
    registered("manifests/node-self-delete-clusterrolebinding.yaml");
pub const KUBEADM_CONFIG: &str = registered("manifests/kubeadm-config-configmap.yaml");
pub const KUBEADM_CONFIG_ROLE: &str = registered("manifests/nodes-kubeadm-config-role.yaml");
pub const KUBEADM_CONFIG_ROLE_BINDING: &str =
    registered("manifests/nodes-kubeadm-config-rolebinding.yaml");
pub const KUBELET_CONFIG_MAP: &str = registered("manifests/kubelet-config-configmap.yaml");
pub const KUBELET_CONFIG_ROLE: &str = registered("manifests/kubelet-config-role.yaml");
pub const KUBELET_CONFIG_ROLE_BINDING: &str =
    registered("manifests/kubelet-config-rolebinding.yaml");
/// Embedded documents, not files of their own.
pub const CLUSTER_INFO_KUBECONFIG: &str = registered("manifests/data/cluster-info-kubeconfig.yaml");
pub const CLUSTER_CONFIGURATION: &str = registered("manifests/data/cluster-configuration.yaml");

/// The public objects and whether this spec wants each. The Secret is
/// rendered on its own so the token secret never reaches another template.
fn public_objects(model: &Model) -> [(&'static str, bool); 18] {
    let v = &model.cluster;
    [
        (CLUSTER_INFO, true),
        (CLUSTER_INFO_ROLE, v.anonymous_discovery),
        (CLUSTER_INFO_ROLE_BINDING, v.anonymous_discovery),
        (KUBELET_BOOTSTRAP, true),
        (AUTOAPPROVE_BOOTSTRAP, v.auto_approve_node_csrs),
        (AUTOAPPROVE_ROTATION, v.auto_approve_node_csrs),
        (GET_NODES_ROLE, true),
        (GET_NODES_BINDING, true),
        (CLUSTER_ADMINS, true),
        (NODES_BINDING, !v.node_restriction),
        (SELF_DELETE_ROLE, v.node_self_delete),
        (SELF_DELETE_BINDING, v.node_self_delete),
        (KUBEADM_CONFIG, true),
        (KUBEADM_CONFIG_ROLE, true),
        (KUBEADM_CONFIG_ROLE_BINDING, true),
        (KUBELET_CONFIG_MAP, true),
        (KUBELET_CONFIG_ROLE, true),
        (KUBELET_CONFIG_ROLE_BINDING, true),
    ]
}

/// Renders `manifests/*`; `kubelet` is the KubeletConfiguration the `kubelet-config`
/// ConfigMap carries, byte for byte the one the kubelet family renders.
pub fn render(
    model: &Model,
    pki: &Pki,
    token: &BootstrapToken,
    kubelet: &str,
    templates: &Templates,
) -> Result<FileSet, RenderError> {
    let v = &model.cluster;
    let ca = pki
        .cas
        .get(&CaId::Kubernetes)
        .ok_or_else(|| RenderError::Missing("the Kubernetes CA".into()))?;
    let mut files = FileSet::new();

    // The signature covers these exact bytes, so they are rendered once and
    // embedded as they are; `literal` refuses anything a YAML literal block
    // could not give back unchanged.
    let kubeconfig = templates.render(
        CLUSTER_INFO_KUBECONFIG,
        context! {
            ca_data => b64(ca.bundle_pem.as_bytes()),
            server => model.server,
        },
    )?;
    let jws = v
        .token_usages
        .contains(&TokenUsage::Signing.name())
        .then(|| jws::detached_signature(&kubeconfig, &token.id, &token.secret));

    let cluster_configuration = templates.render(
        CLUSTER_CONFIGURATION,
        context! {
            cert_sans => v.extra_sans,
            ca_validity => v.ca_validity,
            cert_validity => v.cert_validity,
            cluster_name => model.cluster_name,
            control_plane_endpoint => v.api_endpoint,
            encryption_algorithm => v.kubeadm_encryption_algorithm,
            kubernetes_version => v.kubernetes_version,
            image_repository => v.image_repository,
            dns_domain => v.dns_domain,
            pod_subnet => v.pod_cidr,
            service_subnet => v.service_cidr,
            etcd_data_dir => v.etcd_data_dir,
        },
    )?;

    let public = context! {
        token_id => token.id,
        kubeconfig => kubeconfig,
        jws => jws,
        bootstrapper_groups => v.bootstrapper_groups,
        cluster_configuration => cluster_configuration,
        kubelet => kubelet,
    };
    for (id, wanted) in public_objects(model) {
        if wanted {
            let text = templates.render(id, public.clone())?;
            files.insert(id, File::public(Kind::Manifest, text))?;
        }
    }

    let secret = templates.render(SECRET, secret_context(model, token))?;
    files.insert(
        &secret_path(&token.id),
        File::secret(Kind::Manifest, secret),
    )?;
    Ok(files)
}

/// The Secret's values, base64 as `data` wants them; optional keys are
/// `None` when kubeadm would omit them.
fn secret_context(model: &Model, token: &BootstrapToken) -> Value {
    let v = &model.cluster;
    let b64 = |s: &str| b64(s.as_bytes());
    let groups = v.token_extra_groups.join(",");
    context! {
        token_id => token.id,
        token_id_b64 => b64(&token.id),
        token_secret_b64 => b64(&token.secret),
        expiration => v.token_expires.as_deref().map(b64),
        auth_extra_groups => (!groups.is_empty()).then(|| b64(&groups)),
        description => (!v.token_description.is_empty()).then(|| b64(&v.token_description)),
        usages => v.token_usages,
        true_b64 => b64("true"),
    }
}
