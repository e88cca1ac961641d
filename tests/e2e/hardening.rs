//! Spec version 3's hardening, judged by the running control plane: the audit log receives
//! the requests the policy says it should and nothing it says it should not; Pod Security
//! admission and DenyServiceExternalIPs refuse what they are for (and let the control
//! through); a service-account token lives as long as it asked; only ECDHE AEAD suites are
//! served over TLS 1.2; and etcd's data directory is private although the directory the
//! kubelet made for its hostPath is not.

use std::fs;

use base64::Engine;
use serde_json::Value;

use crate::cluster::{openssl_ws, s, Cluster};
use crate::{expect, refused};

/// Every controller's audit log, one event a line (a request reaches whichever
/// kube-apiserver the name resolves to).
fn audit_events(c: &Cluster) -> Result<Vec<Value>, String> {
    let mut events = Vec::new();
    for (name, _) in &c.controllers {
        let log = c.sh(name, "cat /var/log/kubernetes/audit/audit.log")?;
        for line in log.lines() {
            events.push(serde_json::from_str(line).map_err(|e| format!("{line}: {e}"))?);
        }
    }
    Ok(events)
}

/// A ConfigMap's creation is recorded at Metadata, without its body; an RBAC change with its
/// body; health probes (boot polled /readyz for a while) not at all. The log and its
/// directory are private.
pub fn audit(c: &Cluster) -> Result<(), String> {
    let marker = "kubeseed-audit-body-marker";
    c.admin(&[
        "create",
        "configmap",
        "kubeseed-audit-probe",
        &format!("--from-literal=k={marker}"),
    ])?;
    c.admin(&[
        "create",
        "role",
        "kubeseed-audit-probe",
        "--verb=get",
        "--resource=pods",
    ])?;
    let events = audit_events(c)?;
    let find = |resource: &str| {
        events.iter().find(|e| {
            e["verb"] == "create"
                && e["objectRef"]["resource"] == resource
                && e["objectRef"]["name"] == "kubeseed-audit-probe"
        })
    };
    let configmap = find("configmaps").ok_or("no audit event for the ConfigMap's creation")?;
    expect(
        configmap["level"] == "Metadata" && configmap.get("requestObject").is_none(),
        || format!("ConfigMap event: {configmap}"),
    )?;
    let all: String = events.iter().map(Value::to_string).collect();
    expect(!all.contains(marker), || {
        "a ConfigMap's data reached the audit log".to_string()
    })?;
    let role = find("roles").ok_or("no audit event for the Role's creation")?;
    expect(
        role["level"] == "Request" && role["requestObject"]["rules"].is_array(),
        || format!("Role event: {role}"),
    )?;
    let probes = events
        .iter()
        .filter(|e| {
            e["requestURI"]
                .as_str()
                .is_some_and(|u| u.starts_with("/readyz"))
        })
        .count();
    expect(probes == 0, || format!("{probes} /readyz events recorded"))?;
    for (name, _) in &c.controllers {
        let modes = c.sh(
            name,
            "stat -c %a /var/log/kubernetes /var/log/kubernetes/audit /var/log/kubernetes/audit/audit.log",
        )?;
        // The first is the hostPath the kubelet made (0755); kube-apiserver made the others.
        expect(modes.split_whitespace().eq(["755", "700", "600"]), || {
            format!("{name}: modes {modes:?}")
        })?;
    }
    Ok(())
}

/// A privileged Pod is refused in `default` (enforce baseline) and admitted in kube-system
/// (exempt); the same Pod without `privileged` is admitted in `default` (the control).
pub fn pod_security(c: &Cluster) -> Result<(), String> {
    let pod = |ns: &str, privileged: bool| -> Result<String, String> {
        let file = c.scratch(&format!("psa-{ns}-{privileged}.yaml"));
        let yaml = format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kubeseed-psa-probe\n  namespace: {ns}\n\
             spec:\n  containers:\n  - name: c\n    image: registry.k8s.io/pause:3.10\n    \
             securityContext:\n      privileged: {privileged}\n"
        );
        fs::write(&file, yaml).map_err(|e| e.to_string())?;
        c.admin(&["create", "-f", &s(&file)])
    };
    refused(
        pod("default", true),
        "violates PodSecurity \"baseline:latest\": privileged",
    )?;
    pod("kube-system", true)?;
    pod("default", false)?;
    for ns in ["kube-system", "default"] {
        c.admin(&[
            "delete",
            "pod",
            "kubeseed-psa-probe",
            "-n",
            ns,
            "--wait=false",
            "--grace-period=0",
            "--force",
        ])?;
    }
    Ok(())
}

/// DenyServiceExternalIPs refuses a Service with `externalIPs`; the same Service without
/// them is created (the control).
pub fn deny_external_ips(c: &Cluster) -> Result<(), String> {
    let service = |external: bool| -> Result<String, String> {
        let file = c.scratch(&format!("svc-{external}.yaml"));
        let mut yaml =
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: kubeseed-external-ip-probe\n  \
                        namespace: default\nspec:\n  ports:\n  - port: 80\n"
                .to_string();
        if external {
            yaml.push_str("  externalIPs:\n  - 192.0.2.200\n");
        }
        fs::write(&file, yaml).map_err(|e| e.to_string())?;
        c.admin(&["create", "-f", &s(&file)])
    };
    refused(
        service(true),
        "Use of external IPs is denied by admission control",
    )?;
    service(false)?;
    c.admin(&[
        "delete",
        "service",
        "kubeseed-external-ip-probe",
        "-n",
        "default",
    ])?;
    Ok(())
}

/// A token requested for 3607 s, the kubelet's default that kube-apiserver extends to a
/// year unless `--service-account-extend-token-expiration=false`, lives 3607 s.
pub fn token_lifetime(c: &Cluster) -> Result<(), String> {
    let token = c.admin(&[
        "create",
        "token",
        "default",
        "-n",
        "default",
        "--duration=3607s",
    ])?;
    let payload = token
        .trim()
        .split('.')
        .nth(1)
        .ok_or("the token is not a JWT")?;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let lifetime = claims["exp"].as_i64().unwrap_or(0) - claims["iat"].as_i64().unwrap_or(0);
    expect(lifetime == 3607, || {
        format!("the token lives {lifetime}s, not the 3607s asked for")
    })
}

/// kube-apiserver and etcd refuse a TLS 1.2 handshake with a suite outside the ECDHE AEAD
/// list and accept one inside it (the control).
pub fn cipher_suites(c: &Cluster) -> Result<(), String> {
    let pki = c.out.join("pki");
    let (_, address) = &c.controllers[0];
    for (port, client) in [("6443", None), ("2379", Some("apiserver-etcd-client"))] {
        let connect = format!("{address}:{port}");
        let cert = client.map(|n| {
            (
                s(&pki.join(format!("{n}.crt"))),
                s(&pki.join(format!("{n}.key"))),
            )
        });
        let handshake = |cipher: &str| {
            let mut args = vec![
                "s_client", "-connect", &connect, "-tls1_2", "-cipher", cipher,
            ];
            if let Some((crt, key)) = &cert {
                args.extend(["-cert", crt.as_str(), "-key", key.as_str()]);
            }
            openssl_ws(c, &args)
        };
        // RSA key exchange, AEAD: a suite Go offers by default but the list leaves out.
        expect(handshake("AES128-GCM-SHA256").is_err(), || {
            format!("{connect} accepted TLS_RSA_WITH_AES_128_GCM_SHA256")
        })?;
        handshake("ECDHE-ECDSA-AES128-GCM-SHA256")
            .map_err(|e| format!("{connect} refused an ECDHE AEAD suite: {e}"))?;
    }
    Ok(())
}

/// etcd's `--data-dir` is 0700, inside the hostPath directory the kubelet created 0755.
pub fn etcd_data_dir(c: &Cluster) -> Result<(), String> {
    for (name, _) in &c.controllers {
        let argv = c.pod_command(&c.out, name, "etcd");
        let dir = argv
            .iter()
            .find_map(|a| a.strip_prefix("--data-dir="))
            .ok_or("etcd has no --data-dir")?;
        expect(dir == "/var/lib/etcd/data", || format!("--data-dir={dir}"))?;
        let modes = c.sh(name, &format!("stat -c %a /var/lib/etcd {dir}"))?;
        expect(modes.split_whitespace().eq(["755", "700"]), || {
            format!("{name}: modes {modes:?}")
        })?;
    }
    Ok(())
}

/// Why `security.verify_kubelet_serving` stays off (README, "Verifying kubelet serving
/// certificates"): the rule an approver would apply — a `kubelet-serving` CSR from
/// `system:node:<name>` whose DNS SAN is the node's name and whose IP SANs are the
/// addresses its Node object reports — admits a certificate for a controller's address,
/// because the node itself writes those addresses (NodeRestriction lets it), and the
/// cluster CA that signs it is the one every client trusts for kube-apiserver.
pub fn serving_rule_is_not_a_trust_anchor(c: &Cluster, node: &str) -> Result<(), String> {
    let pem = c.scratch("kubelet-pki/kubelet-client-current.pem");
    let node_conf = c.scratch("kubelet.conf");
    let (_, victim) = &c.controllers[0];
    // The node claims the controller's address in its own Node's status.
    if c.admin(&["get", "node", node]).is_err() {
        let own = c.scratch("claim-node.yaml");
        fs::write(
            &own,
            format!("apiVersion: v1\nkind: Node\nmetadata:\n  name: {node}\n"),
        )
        .map_err(|e| e.to_string())?;
        c.kubectl_at(&node_conf, &["create", "-f", &s(&own)])?;
    }
    let claim = format!(
        r#"{{"status":{{"addresses":[{{"type":"InternalIP","address":"{victim}"}},{{"type":"Hostname","address":"{node}"}}]}}}}"#
    );
    let (code, body) = crate::cluster::https(
        c,
        &format!("/api/v1/nodes/{node}/status"),
        Some(&pem),
        Some(("PATCH", &claim)),
    )?;
    expect(code == 200, || format!("status PATCH: {code} {body}"))?;
    // A serving CSR for that address, from the node's own identity.
    let key = s(&c.scratch("claim.key"));
    let csr = s(&c.scratch("claim.csr"));
    openssl_ws(
        c,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/O=system:nodes/CN=system:node:{node}"),
            "-addext",
            &format!("subjectAltName=DNS:{node},IP:{victim}"),
        ],
    )?;
    let request = base64::engine::general_purpose::STANDARD
        .encode(fs::read(c.scratch("claim.csr")).map_err(|e| e.to_string())?);
    let object = c.scratch("claim-csr.yaml");
    fs::write(
        &object,
        format!(
            "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata:\n  \
             name: kubeseed-serving-claim\nspec:\n  request: {request}\n  signerName: \
             kubernetes.io/kubelet-serving\n  usages:\n  - digital signature\n  - server auth\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    c.kubectl_at(&node_conf, &["create", "-f", &s(&object)])?;
    // The rule holds: requestor, DNS SAN and every IP SAN agree with the Node object.
    let csr_obj: Value =
        serde_json::from_str(&c.admin(&["get", "csr", "kubeseed-serving-claim", "-o", "json"])?)
            .map_err(|e| e.to_string())?;
    let live: Value = serde_json::from_str(&c.admin(&["get", "node", node, "-o", "json"])?)
        .map_err(|e| e.to_string())?;
    let reported: Vec<&str> = live["status"]["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["address"].as_str())
        .collect();
    expect(
        csr_obj["spec"]["username"] == format!("system:node:{node}")
            && reported.contains(&victim.as_str()),
        || {
            format!(
                "requestor {} / Node addresses {reported:?}",
                csr_obj["spec"]["username"]
            )
        },
    )?;
    // An approver following it approves; kube-controller-manager signs with the cluster CA.
    c.admin(&["certificate", "approve", "kubeseed-serving-claim"])?;
    let cert = c.scratch("claim.crt");
    crate::cluster::wait("the claimed serving certificate", 30, || {
        let v: Value = serde_json::from_str(&c.admin(&[
            "get",
            "csr",
            "kubeseed-serving-claim",
            "-o",
            "json",
        ])?)
        .map_err(|e| e.to_string())?;
        let b64 = v["status"]["certificate"]
            .as_str()
            .ok_or("not issued yet")?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| e.to_string())?;
        fs::write(&cert, der).map_err(|e| e.to_string())
    })?;
    // ... which any client checking kube-apiserver at that address accepts.
    let verified = openssl_ws(
        c,
        &[
            "verify",
            "-CAfile",
            &s(&c.out.join("pki/ca.crt")),
            "-purpose",
            "sslserver",
            "-verify_ip",
            victim,
            &s(&cert),
        ],
    )?;
    expect(verified.contains(": OK"), || verified.clone())?;
    // The control: the same check refuses an address the certificate does not carry.
    refused(
        openssl_ws(
            c,
            &[
                "verify",
                "-CAfile",
                &s(&c.out.join("pki/ca.crt")),
                "-verify_ip",
                "192.0.2.254",
                &s(&cert),
            ],
        ),
        "IP address mismatch",
    )?;
    c.admin(&["delete", "csr", "kubeseed-serving-claim"])
        .map(|_| ())
}
