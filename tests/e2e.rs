//! End to end: a real Kubernetes control plane boots from what `kubeseed render` writes, and
//! the TLS-bootstrap story runs against it. Black-box: the test knows the binary, the spec
//! and the output directory's documented layout, nothing of kubeseed's internals.
//!
//! Every controller is a host of its own (tests/e2e/lab.rs: network, mount and UTS
//! namespaces on a private bridge) that sees its rendered `nodes/<name>/rootfs/etc/kubernetes`
//! at `/etc/kubernetes` and runs etcd, kube-apiserver, kube-controller-manager and
//! kube-scheduler as processes with exactly the `command` of its rendered static pods. A
//! fourth host, `ws`, plays the admin's workstation and the joining node: every client
//! (kubectl, etcdctl, openssl, kubeadm, the kubelet's TLS-bootstrap code) runs there.
//!
//! The components are built from Go modules by `scripts/k8s-bins` (for the releases in
//! tests/e2e/versions). Without them the tests print SKIP and the reason, except under
//! `CI=true`, where that is a failure.

#[path = "e2e/cluster.rs"]
mod cluster;
mod common;
#[path = "e2e/coredns.rs"]
mod coredns;
#[path = "e2e/hardening.rs"]
mod hardening;
#[path = "e2e/kube_bench.rs"]
mod kube_bench;
#[path = "e2e/kube_proxy.rs"]
mod kube_proxy;
#[path = "e2e/kubelet.rs"]
mod kubelet;
#[path = "e2e/lab.rs"]
mod lab;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use cluster::*;

// ---------------------------------------------------------------------------------------
// The releases and their binaries

/// The Kubernetes releases in tests/e2e/versions, oldest first.
fn versions() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/versions");
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .collect()
}

fn cache() -> PathBuf {
    std::env::var_os("KUBESEED_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/kubeseed-test"))
}

/// The directory holding one release's binaries, or why the test cannot run.
fn bins(version: &str) -> Result<PathBuf, String> {
    if let Some(why) = lab::unsupported() {
        return Err(why);
    }
    let dir = cache().join("k8s").join(version).join("bin");
    if dir.join(".stamp").is_file() {
        return Ok(dir);
    }
    let mut why = format!(
        "no Kubernetes v{version} binaries in {} (`scripts/k8s-bins {version}` builds them)",
        dir.display()
    );
    if let Ok(reason) = std::env::var("KUBESEED_E2E_BUILD_FAILED") {
        why.push_str(&format!("; scripts/k8s-bins failed: {reason}"));
    }
    Err(why)
}

/// Runs `scenario` with the binaries of `version`, or prints SKIP (fails under CI=true).
fn with_bins(version: &str, scenario: impl FnOnce(&Path)) {
    match bins(version) {
        Ok(dir) => {
            // One cluster at a time on this machine: the lab is heavy for 2 cores.
            let _lock = common::MachineLock::acquire("e2e", Duration::from_secs(1800));
            scenario(&dir)
        }
        Err(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("e2e cannot run, and CI=true makes that a failure: {why}")
        }
        Err(why) => eprintln!("SKIP e2e v{version}: {why}"),
    }
}

#[test]
fn e2e_single_controller_oldest_release() {
    let v = versions();
    let oldest = v.first().expect("a release in tests/e2e/versions").clone();
    with_bins(&oldest, |bins| run_scenario(bins, &oldest, 1));
}

#[test]
fn e2e_single_controller_newest_release() {
    let v = versions();
    let newest = v.last().expect("a release in tests/e2e/versions").clone();
    with_bins(&newest, |bins| run_scenario(bins, &newest, 1));
}

#[test]
fn e2e_three_controllers_newest_release() {
    let v = versions();
    let newest = v.last().expect("a release in tests/e2e/versions").clone();
    with_bins(&newest, |bins| run_scenario(bins, &newest, 3));
}

// ---------------------------------------------------------------------------------------
// Checks

struct Checks {
    label: String,
    failed: Vec<String>,
    passed: usize,
}

impl Checks {
    fn run(&mut self, name: &str, f: impl FnOnce() -> Result<(), String>) {
        let start = Instant::now();
        match f() {
            Ok(()) => {
                self.passed += 1;
                eprintln!("[{}] ok   {name} ({:.1?})", self.label, start.elapsed());
            }
            Err(e) => {
                eprintln!("[{}] FAIL {name}: {e}", self.label);
                self.failed.push(format!("{name}: {e}"));
            }
        }
    }
}

fn expect(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}

/// Err(output) must hold `needle`: the component refused, with its own words.
fn refused(r: Result<String, String>, needle: &str) -> Result<(), String> {
    match r {
        Ok(out) => Err(format!("expected a refusal ({needle}), got success: {out}")),
        Err(e) if e.contains(needle) => Ok(()),
        Err(e) => Err(format!("refused, but not with {needle:?}: {e}")),
    }
}

fn identity(
    c: &Cluster,
    conf: &str,
    user: &str,
    group: Option<&str>,
    all_rights: bool,
) -> Result<(), String> {
    let path = c.out.join("kubeconfig").join(conf);
    let (name, groups) = whoami(c, &path, &[])?;
    expect(name == user, || {
        format!("{conf} is {name:?}, want {user:?}")
    })?;
    if let Some(g) = group {
        expect(groups.iter().any(|x| x == g), || {
            format!("{conf} groups {groups:?} lack {g}")
        })?;
    }
    let masters = groups.iter().any(|g| g == "system:masters");
    expect(masters == (conf == "super-admin.conf"), || {
        format!("{conf}: system:masters membership is {masters}, groups {groups:?}")
    })?;
    let can = c.kubectl(conf, &["auth", "can-i", "*", "*"]);
    match (all_rights, can) {
        (true, Ok(o)) if o.trim() == "yes" => Ok(()),
        (false, Err(e)) if e.ends_with("): no") => Ok(()),
        (want, got) => Err(format!(
            "{conf}: can-i '*' '*' = {got:?}, want all rights = {want}"
        )),
    }
}

fn run_scenario(bins: &Path, version: &str, n: usize) {
    let started = Instant::now();
    let mut c = boot(bins, version, n);
    let label = format!("v{version} x{n}");
    eprintln!(
        "[{label}] every kube-apiserver is ready ({:.0?})",
        started.elapsed()
    );
    let mut k = Checks {
        label,
        failed: Vec::new(),
        passed: 0,
    };
    checks(&mut c, &mut k);
    eprintln!(
        "[{}] {} checks passed, {} failed ({:.0?})",
        k.label,
        k.passed,
        k.failed.len(),
        started.elapsed()
    );
    assert!(
        k.failed.is_empty(),
        "v{version} with {n} controller(s): {} check(s) failed:\n{}\n\ncomponent logs:\n{}",
        k.failed.len(),
        k.failed.join("\n"),
        c.fail_context()
    );
}

fn checks(c: &mut Cluster, k: &mut Checks) {
    let token: Value = join_info(c);
    let token_str = token["token"].as_str().expect("token").to_string();
    let token_id = token_str.split('.').next().unwrap_or_default().to_string();
    let anon = anonymous_kubeconfig(c);

    k.run("the render speaks this release's dialects", || dialects(c));

    k.run(
        "etcd: every member is in the cluster, over mutual TLS",
        || {
            let v: Value = serde_json::from_str(
                &c.etcdctl("apiserver-etcd-client", &["member", "list", "-w", "json"])?,
            )
            .map_err(|e| e.to_string())?;
            let mut names: Vec<&str> = v["members"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["name"].as_str())
                .collect();
            names.sort();
            let want: Vec<&str> = c.controllers.iter().map(|(n, _)| n.as_str()).collect();
            expect(names == want, || {
                format!("members {names:?}, want {want:?}")
            })
        },
    );

    k.run(
        "etcd refuses a client certificate from the Kubernetes CA",
        || {
            // etcdctl's own error varies (a broken pipe, a deadline); etcd's log says why.
            if let Ok(out) = c.etcdctl("apiserver-kubelet-client", &["endpoint", "health"]) {
                return Err(format!("etcd accepted it: {out}"));
            }
            let logs: Vec<String> = c
                .controllers
                .iter()
                .filter_map(|(name, _)| c.procs.get(&(name.clone(), "etcd")))
                .map(|id| c.lab.log_tail(*id, 400))
                .collect();
            let why = "certificate signed by unknown authority";
            expect(logs.iter().any(|l| l.contains(why)), || {
                format!("no etcd member logged {why:?}")
            })
        },
    );

    k.run(
        "before the manifests, admin.conf has no rights (they come from kubeadm:cluster-admins)",
        || refused(c.admin(&["auth", "can-i", "get", "pods"]), "): no"),
    );

    k.run(
        "the gitops/ tree, its Secret decrypted by the real sops, applies with kubectl apply -k (server-side validation); nodes join below with the token it carries",
        || {
            let tree = c.decrypted_gitops()?;
            c.kubectl(
                "super-admin.conf",
                &["apply", "--validate=strict", "-k", &s(&tree)],
            )?;
            // The same objects as manifests/: applying those now creates none, and finds the
            // Secret sops decrypted exactly as manifests/ has it. (A DaemonSet or a
            // PodDisruptionBudget may say "configured": kustomize's copy of the object in
            // the last-applied annotation is not byte-for-byte kubectl's.)
            let again = c.kubectl(
                "super-admin.conf",
                &["apply", "--validate=strict", "-f", &s(&c.out.join("manifests"))],
            )?;
            expect(
                !again.lines().any(|l| l.ends_with(" created"))
                    && again
                        .lines()
                        .any(|l| l.starts_with("secret/bootstrap-token-") && l.ends_with(" unchanged")),
                || format!("manifests/ after gitops/ created an object or changed the Secret:\n{again}"),
            )
        },
    );

    for (pod, lease) in [
        ("kube-controller-manager", "kube-controller-manager"),
        ("kube-scheduler", "kube-scheduler"),
    ] {
        k.run(&format!("{pod} holds its leader lease"), || {
            wait(&format!("lease {lease}"), 120, || {
                let holder = c.admin(&[
                    "get",
                    "lease",
                    "-n",
                    "kube-system",
                    lease,
                    "-o",
                    "jsonpath={.spec.holderIdentity}",
                ])?;
                expect(
                    c.controllers
                        .iter()
                        .any(|(name, _)| holder.starts_with(&format!("{name}_"))),
                    || format!("holder {holder:?} is none of the controllers"),
                )
            })
        });
    }

    k.run(
        "admin.conf is kubernetes-admin in kubeadm:cluster-admins, with all rights",
        || {
            identity(
                c,
                "admin.conf",
                "kubernetes-admin",
                Some("kubeadm:cluster-admins"),
                true,
            )
        },
    );
    k.run(
        "super-admin.conf is kubernetes-super-admin in system:masters",
        || {
            identity(
                c,
                "super-admin.conf",
                "kubernetes-super-admin",
                Some("system:masters"),
                true,
            )
        },
    );
    k.run(
        "controller-manager.conf is system:kube-controller-manager, not a master",
        || {
            identity(
                c,
                "controller-manager.conf",
                "system:kube-controller-manager",
                None,
                false,
            )
        },
    );
    k.run(
        "scheduler.conf is system:kube-scheduler, not a master",
        || identity(c, "scheduler.conf", "system:kube-scheduler", None, false),
    );

    k.run("anonymous may read /readyz and cluster-info", || {
        let (code, body) = https(c, "/readyz", None, None)?;
        expect(code == 200 && body == "ok", || {
            format!("/readyz: {code} {body:?}")
        })?;
        let path = "/api/v1/namespaces/kube-public/configmaps/cluster-info";
        let (code, body) = https(c, path, None, None)?;
        let name = serde_json::from_str::<Value>(&body)
            .ok()
            .map(|v| v["metadata"]["name"].clone());
        expect(
            code == 200 && name == Some(Value::from("cluster-info")),
            || format!("{path}: {code} {body}"),
        )
    });
    k.run("anonymous gets 401 everywhere else", || {
        for path in [
            "/version",
            "/api/v1/namespaces/default/pods",
            "/api/v1/namespaces/kube-public/configmaps",
            "/api/v1/namespaces/kube-system/configmaps/kubeadm-config",
        ] {
            let (code, body) = https(c, path, None, None)?;
            expect(code == 401, || format!("{path}: {code} {body}"))?;
        }
        Ok(())
    });

    k.run(
        "the bootstrap token authenticates as system:bootstrap:<id> in its groups",
        || {
            let (user, groups) = whoami(c, &anon, &[&format!("--token={token_str}")])?;
            expect(user == format!("system:bootstrap:{token_id}"), || {
                format!("user {user:?}")
            })?;
            for g in [
                "system:bootstrappers",
                "system:bootstrappers:kubeadm:default-node-token",
            ] {
                expect(groups.iter().any(|x| x == g), || {
                    format!("groups {groups:?} lack {g}")
                })?;
            }
            Ok(())
        },
    );
    k.run("a wrong token secret gets 401", || {
        let wrong = format!("{token_id}.0000000000000000");
        refused(
            c.kubectl_at(&anon, &[&format!("--token={wrong}"), "auth", "whoami"]),
            "Unauthorized",
        )
    });

    k.run(
        "the bootstrapsigner signs cluster-info exactly as rendered",
        || {
            let rendered = c.parse(&c.out.join("manifests/cluster-info-configmap.yaml"));
            let key = format!("jws-kubeconfig-{token_id}");
            let want = rendered["data"][&key]
                .as_str()
                .ok_or_else(|| format!("rendered cluster-info has no {key}"))?
                .to_string();
            // Spoil the live signature: only the controller can put the right one back.
            c.admin(&[
                "patch",
                "configmap",
                "-n",
                "kube-public",
                "cluster-info",
                "--type=merge",
                &format!("-p={{\"data\":{{\"{key}\":\"spoilt\"}}}}"),
            ])?;
            wait("the bootstrapsigner re-signs cluster-info", 90, || {
                let live = c.admin(&[
                    "get",
                    "configmap",
                    "-n",
                    "kube-public",
                    "cluster-info",
                    &format!("-o=jsonpath={{.data.{key}}}"),
                ])?;
                expect(live == want, || format!("live {live:?}, rendered {want:?}"))
            })
        },
    );

    let node = "e2e-node-a";
    k.run(
        "TLS bootstrap: the kubelet's code gets an auto-approved system:node cert",
        || {
            let out = tls_bootstrap(
                c,
                &c.out.join("kubeconfig/bootstrap-kubelet.conf"),
                "kubelet",
                node,
            )
            .output()
            .map_err(|e| e.to_string())?;
            expect(out.status.success(), || text(&out))?;
            let pem = s(&c.scratch("kubelet-pki/kubelet-client-current.pem"));
            let subject = openssl_ws(
                c,
                &[
                    "x509", "-in", &pem, "-noout", "-subject", "-nameopt", "RFC2253",
                ],
            )?;
            expect(
                subject.trim() == format!("subject=CN=system:node:{node},O=system:nodes"),
                || format!("subject {subject:?}"),
            )?;
            // Valid for kubelet_signing_duration from now (give or take 10 minutes), not a year.
            let hours = SIGNING_HOURS * 3600;
            let checkend = |secs: u64| {
                openssl_ws(
                    c,
                    &[
                        "x509",
                        "-in",
                        &pem,
                        "-noout",
                        "-checkend",
                        &secs.to_string(),
                    ],
                )
            };
            checkend(hours - 600).map_err(|e| format!("expires too soon: {e}"))?;
            refused(checkend(hours + 600), "will expire")?;
            let csrs = csrs_of(c, &format!("system:bootstrap:{token_id}"))?;
            expect(csrs.iter().any(|(_, r)| r == "AutoApproved"), || {
                format!("CSRs {csrs:?}")
            })
        },
    );

    let node_conf = c.scratch("kubelet.conf");
    let other = "e2e-other-node";
    k.run("the node may create its own Node", || {
        let yaml = |name: &str| format!("apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n");
        let own = c.scratch("own-node.yaml");
        let theirs = c.scratch("other-node.yaml");
        fs::write(&own, yaml(node)).map_err(|e| e.to_string())?;
        fs::write(&theirs, yaml(other)).map_err(|e| e.to_string())?;
        c.admin(&["create", "-f", &s(&theirs)])?;
        c.kubectl_at(&node_conf, &["create", "-f", &s(&own)])
            .map(|_| ())
    });
    k.run(
        "the node may not modify another Node (NodeRestriction)",
        || {
            // A bare PATCH: kubectl would GET the Node first, which the Node authorizer refuses
            // before NodeRestriction is ever asked.
            let (code, body) = https(
                c,
                &format!("/api/v1/nodes/{other}"),
                Some(&c.scratch("kubelet-pki/kubelet-client-current.pem")),
                Some(("PATCH", r#"{"metadata":{"labels":{"e2e":"tampered"}}}"#)),
            )?;
            let want = format!("node \\\"{node}\\\" is not allowed to modify node \\\"{other}\\\"");
            expect(code == 403 && body.contains(&want), || {
                format!("{code} {body}")
            })
        },
    );
    k.run(
        "the node may not delete another Node (Node authorizer)",
        || {
            refused(
                c.kubectl_at(&node_conf, &["delete", "node", other]),
                &format!("User \"system:node:{node}\" cannot delete resource \"nodes\""),
            )
        },
    );
    k.run(
        "with node_self_delete the node deletes its own Node and no other",
        || node_self_delete(c, &node_conf, node, other),
    );
    k.run(
        "the real kubelet starts from a labelled, tainted pool's drop-ins and bootstraps; its Node carries them",
        || kubelet::labelled_kubelet(c),
    );
    k.run(
        "why verify_kubelet_serving stays off: the Node-address rule signs a node a cert for a controller's IP",
        || hardening::serving_rule_is_not_a_trust_anchor(c, node),
    );
    k.run("the node may not read kube-system Secrets", || {
        refused(
            c.kubectl_at(&node_conf, &["get", "secrets", "-n", "kube-system"]),
            "cannot list resource \"secrets\"",
        )
    });
    k.run(
        "a renewal CSR from the node identity is auto-approved",
        || {
            let out = tls_bootstrap(c, &node_conf, "renewed", node)
                .output()
                .map_err(|e| e.to_string())?;
            expect(out.status.success(), || text(&out))?;
            let csrs = csrs_of(c, &format!("system:node:{node}"))?;
            expect(csrs.iter().any(|(_, r)| r == "AutoApproved"), || {
                format!("CSRs {csrs:?}")
            })
        },
    );

    k.run(
        "with auto_approve_node_csrs = false a CSR stays pending until approved",
        || manual_approval(c, &token_id),
    );

    k.run(
        "encryption at rest: etcd holds a new Secret as k8s:enc:secretbox:v1:",
        || {
            c.admin(&[
                "create",
                "secret",
                "generic",
                "e2e-enc",
                "-n",
                "default",
                "--from-literal=k=v",
            ])?;
            c.admin(&[
                "create",
                "configmap",
                "e2e-plain",
                "-n",
                "default",
                "--from-literal=k=v",
            ])?;
            let secret = c.etcdctl(
                "apiserver-etcd-client",
                &[
                    "get",
                    "/registry/secrets/default/e2e-enc",
                    "--print-value-only",
                ],
            )?;
            expect(secret.starts_with("k8s:enc:secretbox:v1:key-1:"), || {
                format!(
                    "raw value starts {:?}",
                    secret.chars().take(32).collect::<String>()
                )
            })?;
            // The control: a ConfigMap is stored as plain protobuf.
            let plain = c.etcdctl(
                "apiserver-etcd-client",
                &[
                    "get",
                    "/registry/configmaps/default/e2e-plain",
                    "--print-value-only",
                ],
            )?;
            expect(plain.starts_with("k8s\0"), || {
                format!(
                    "ConfigMap raw value starts {:?}",
                    &plain.chars().take(8).collect::<String>()
                )
            })
        },
    );

    k.run(
        "kubeadm join --dry-run gets through token discovery and reads the cluster's config",
        || kubeadm_join(c, &token, true),
    );
    k.run("kubeadm join with a wrong CA pin is refused", || {
        kubeadm_join(c, &token, false)
    });

    k.run(
        "CoreDNS: the manifests apply; the real coredns answers from the API with the rendered RBAC",
        || coredns::coredns(c),
    );

    k.run(
        "audit: a ConfigMap at Metadata without its data, a Role with its body, no probes; 0700/0600",
        || hardening::audit(c),
    );
    k.run(
        "Pod Security: privileged refused in default, admitted in kube-system",
        || hardening::pod_security(c),
    );
    k.run(
        "DenyServiceExternalIPs refuses a Service with externalIPs",
        || hardening::deny_external_ips(c),
    );
    k.run(
        "a 3607s service-account token is not extended to a year",
        || hardening::token_lifetime(c),
    );
    k.run(
        "TLS 1.2: only ECDHE AEAD suites on kube-apiserver and etcd",
        || hardening::cipher_suites(c),
    );
    k.run(
        "etcd's data directory is 0700 inside the kubelet's 0755 hostPath",
        || hardening::etcd_data_dir(c),
    );
    let out = c.out.clone();
    k.run(
        "kube-bench (CIS): every check tests/e2e/kube-bench/expected-v3.txt names passes",
        || kube_bench::check(c, "v3", &out),
    );

    k.run("an unknown flag makes kube-apiserver exit", || {
        unknown_flag(c)
    });

    k.run(
        "a re-keyed apiserver cert is served after restart; old kubeconfigs still work",
        || rekey_apiserver(c),
    );

    k.run(
        "kube-proxy's objects are in place; the token may read its ConfigMap (kubeadm goes on without)",
        || kube_proxy::objects_and_rbac(c, &token, &anon),
    );
    for mode in ["iptables", "nftables"] {
        k.run(
            &format!("kube-proxy ({mode}) syncs the kubernetes Service in a namespace of its own"),
            || kube_proxy::syncs(c, mode),
        );
    }
}

/// What differs by release, as the README documents it, so that each run exercises its own:
/// AuthenticationConfiguration `v1beta1` before 1.34 and `v1` from it, etcd 3.5's
/// `--experimental-*` flags before 1.34 and 3.6's names from it.
fn dialects(c: &Cluster) -> Result<(), String> {
    let minor: u32 = c
        .version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| format!("version {}", c.version))?;
    let cp = &c.controllers[0].0;
    let auth = fs::read_to_string(c.rootfs_etc(&c.out, cp).join("authentication-config.yaml"))
        .map_err(|e| e.to_string())?;
    let api = if minor >= 34 { "v1" } else { "v1beta1" };
    let want = format!("apiVersion: apiserver.config.k8s.io/{api}\n");
    expect(auth.contains(&want), || {
        format!("authentication-config.yaml lacks {want:?}")
    })?;
    let etcd = c.pod_command(&c.out, cp, "etcd");
    let flag = if minor >= 34 {
        "--feature-gates=InitialCorruptCheck=true"
    } else {
        "--experimental-initial-corrupt-check=true"
    };
    expect(etcd.iter().any(|a| a == flag), || {
        format!("etcd command lacks {flag}: {etcd:?}")
    })
}

/// The same cluster with the RBAC of `auto_approve_node_csrs = false`: the approval bindings
/// (the files that render lacks) are deleted; a new node's CSR then stays Pending until an
/// admin approves it. Also the control that auto-approval above came from those bindings.
fn manual_approval(c: &Cluster, token_id: &str) -> Result<(), String> {
    let manual_out = c.render_variant("manual", "[security]", "auto_approve_node_csrs = false");
    let names = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(d.join("manifests"))
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let manual = names(&manual_out);
    let dropped: Vec<String> = names(&c.out)
        .into_iter()
        .filter(|f| !manual.contains(f))
        .collect();
    expect(!dropped.is_empty(), || {
        "auto_approve_node_csrs = false renders the same manifests".into()
    })?;
    let dropped_paths: Vec<String> = dropped
        .iter()
        .map(|f| s(&c.out.join("manifests").join(f)))
        .collect();
    for p in &dropped_paths {
        c.admin(&["delete", "-f", p])?;
    }
    let node = "e2e-node-b";
    let pending = c.scratch("pending.log");
    let mut cmd = tls_bootstrap(
        c,
        &c.out.join("kubeconfig/bootstrap-kubelet.conf"),
        "manual",
        node,
    );
    let log = fs::File::create(&pending).map_err(|e| e.to_string())?;
    cmd.stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    let result = (|| {
        let user = format!("system:bootstrap:{token_id}");
        let mut csr = String::new();
        wait("the new node's CSR", 60, || {
            let before: Vec<String> = csrs_of(c, &user)?
                .into_iter()
                .filter(|(_, r)| r.is_empty())
                .map(|(n, _)| n)
                .collect();
            csr = before.first().cloned().ok_or("no pending CSR yet")?;
            Ok(())
        })?;
        std::thread::sleep(Duration::from_secs(10));
        let still = csrs_of(c, &user)?;
        expect(still.iter().any(|(n, r)| *n == csr && r.is_empty()), || {
            format!("CSR {csr} did not stay pending: {still:?}")
        })?;
        expect(child.try_wait().ok().flatten().is_none(), || {
            format!(
                "tls-bootstrap exited while pending: {}",
                lab::tail(&pending, 5)
            )
        })?;
        c.admin(&["certificate", "approve", &csr])?;
        wait(
            "tls-bootstrap to finish after the approval",
            60,
            || match child.try_wait().map_err(|e| e.to_string())? {
                Some(st) if st.success() => Ok(()),
                Some(st) => Err(format!("exited {st}: {}", lab::tail(&pending, 5))),
                None => Err("still waiting".into()),
            },
        )
    })();
    let _ = child.kill();
    let _ = child.wait();
    for p in &dropped_paths {
        c.admin(&["apply", "-f", p])?;
    }
    result
}

/// `security.node_self_delete`: before its RBAC is applied the node may not delete its own
/// Node (the control that the permission comes from those manifests); after, it deletes
/// its own (then re-creates it, for the checks after this one) and NodeRestriction refuses
/// another's.
fn node_self_delete(c: &Cluster, node_conf: &Path, node: &str, other: &str) -> Result<(), String> {
    let cert = c.scratch("kubelet-pki/kubelet-client-current.pem");
    let delete = |name: &str| {
        https(
            c,
            &format!("/api/v1/nodes/{name}"),
            Some(&cert),
            Some(("DELETE", "")),
        )
    };
    let (code, body) = delete(node)?;
    expect(
        code == 403 && body.contains("cannot delete resource \\\"nodes\\\""),
        || format!("without node_self_delete: {code} {body}"),
    )?;
    let variant = c.render_variant("self-delete", "[security]", "node_self_delete = true");
    let files: Vec<String> = ["clusterrole", "clusterrolebinding"]
        .iter()
        .map(|f| s(&variant.join(format!("manifests/node-self-delete-{f}.yaml"))))
        .collect();
    for f in &files {
        expect(
            !c.out
                .join("manifests")
                .join(Path::new(f).file_name().unwrap_or_default())
                .exists(),
            || format!("{f} is rendered without node_self_delete"),
        )?;
        c.admin(&["apply", "-f", f])?;
    }
    let result = (|| {
        let (code, body) = delete(other)?;
        let want = format!("node \\\"{node}\\\" is not allowed to modify node \\\"{other}\\\"");
        expect(code == 403 && body.contains(&want), || {
            format!("deleting another Node: {code} {body}")
        })?;
        let (code, body) = delete(node)?;
        expect(code == 200, || {
            format!("deleting its own Node: {code} {body}")
        })?;
        let own = c.scratch("own-node.yaml");
        c.kubectl_at(node_conf, &["create", "-f", &s(&own)])
            .map(|_| ())
    })();
    for f in files.iter().rev() {
        c.admin(&["delete", "-f", f])?;
    }
    result
}

/// `kubeadm join --dry-run` on the workstation with the token and CA `pin` of `token`
/// (`kubeseed join`'s JSON): whether it succeeded, and everything it said.
fn kubeadm_join_dry_run(c: &Cluster, token: &Value, pin: &str) -> (bool, String) {
    let argv: Vec<String> = [
        c.bin("kubeadm"),
        "join".into(),
        token["api_server_endpoint"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        format!("--token={}", token["token"].as_str().unwrap_or_default()),
        format!("--discovery-token-ca-cert-hash={pin}"),
        "--dry-run".into(),
        "--ignore-preflight-errors=all".into(),
        "--node-name=e2e-kubeadm".into(),
        "--v=1".into(),
    ]
    .to_vec();
    let out = c.lab.run("ws", &argv);
    (out.status.success(), text(&out))
}

fn kubeadm_join(c: &Cluster, token: &Value, right_pin: bool) -> Result<(), String> {
    let pin = if right_pin {
        token["discovery_token_ca_cert_hash"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    } else {
        format!("sha256:{}", "0".repeat(64))
    };
    let (ok, said) = kubeadm_join_dry_run(c, token, &pin);
    if right_pin {
        expect(ok, || format!("kubeadm join --dry-run failed:\n{said}"))?;
        // Discovery passed (it goes on to read the cluster's configuration), and the kubelet's
        // configuration came from the rendered kubelet-config ConfigMap.
        for step in [
            "[preflight] Reading configuration from the",
            "Resource name \"kubeadm-config\", namespace \"kube-system\"",
            "Resource name \"kubelet-config\", namespace \"kube-system\"",
            "Would write file \"/var/lib/kubelet/config.yaml\"",
        ] {
            expect(said.contains(step), || {
                format!("kubeadm did not get to {step:?}:\n{said}")
            })?;
        }
        // What it would write leaves kubeseed's kubelet drop-ins alone (a pool's labels and
        // taints live in 20-kubeseed-node.conf), and /etc/default/kubelet too.
        let written: Vec<&str> = said
            .split("Would write file \"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        expect(
            written.contains(&"/var/lib/kubelet/kubeadm-flags.env"),
            || format!("kubeadm would not write kubeadm-flags.env: {written:?}"),
        )?;
        expect(
            written.iter().all(|p| {
                !p.starts_with("/etc/systemd/system/kubelet.service.d/")
                    && *p != "/etc/default/kubelet"
            }),
            || format!("kubeadm join would overwrite a kubeseed file: {written:?}"),
        )?;
        // The test spec has kube_proxy on: the token may read the kube-proxy ConfigMap, which
        // kubeadm loads (kube_proxy::objects_and_rbac shows it going on without).
        kube_proxy::kubeadm_loaded_config(&said, "iptables")
    } else {
        expect(!ok && said.contains("none of the public keys"), || {
            format!("kubeadm with a wrong pin:\n{said}")
        })
    }
}

fn unknown_flag(c: &mut Cluster) -> Result<(), String> {
    let cp = c.controllers[0].0.clone();
    let mut argv = c.pod_command(&c.out.clone(), &cp, "kube-apiserver");
    argv.push("--kubeseed-e2e-no-such-flag=1".into());
    let id = c.lab.spawn(&cp, "kube-apiserver-bad-flag", &argv);
    let r = wait(
        "kube-apiserver to exit on an unknown flag",
        30,
        || match c.lab.exited(id) {
            Some(st) if !st.success() => Ok(()),
            Some(st) => Err(format!("exited {st}")),
            None => Err("still running".into()),
        },
    );
    let log = c.lab.log_tail(id, 5);
    c.lab.kill(id);
    r?;
    expect(
        log.contains("unknown flag: --kubeseed-e2e-no-such-flag"),
        || log.clone(),
    )
}

/// `[pki.generations] apiserver = 2`, rendered beside the first output: only kube-apiserver
/// restarts (same flags), on files from the new render, and serves the new certificate;
/// admin.conf from the first render still works, since the CA did not change.
fn rekey_apiserver(c: &mut Cluster) -> Result<(), String> {
    let (cp, address) = c.controllers[0].clone();
    let out2 = c.render_variant("gen2", "[pki.generations]", "apiserver = 2");
    let old = fingerprint_file(c, &c.out.join("pki/apiserver.crt"))?;
    let new = fingerprint_file(c, &out2.join("pki/apiserver.crt"))?;
    expect(old != new, || {
        "the generation bump did not re-key apiserver.crt".into()
    })?;
    let before = fingerprint_served(c, &address)?;
    expect(before == old, || {
        format!("{cp} serves {before}, want the first render's {old}")
    })?;

    let argv_old = c.pod_command(&c.out.clone(), &cp, "kube-apiserver");
    let argv_new = c.pod_command(&out2, &cp, "kube-apiserver");
    expect(argv_old == argv_new, || {
        "the bump changed kube-apiserver's flags".into()
    })?;
    if let Some(id) = c.procs.remove(&(cp.clone(), "kube-apiserver")) {
        c.lab.kill(id);
    }
    c.lab
        .bind(&cp, &c.rootfs_etc(&out2, &cp), "/etc/kubernetes");
    let id = c.lab.spawn(&cp, "kube-apiserver-gen2", &argv_new);
    c.procs.insert((cp.clone(), "kube-apiserver"), id);
    wait(&format!("{cp} /readyz after the restart"), 180, || {
        c.readyz(&address).map(|_| ())
    })?;
    let after = fingerprint_served(c, &address)?;
    expect(after == new, || {
        format!("{cp} serves {after}, want the new {new}")
    })?;
    let (user, _) = whoami(
        c,
        &c.out.join("kubeconfig/admin.conf"),
        &[&format!("--server=https://{address}:6443")],
    )?;
    expect(user == "kubernetes-admin", || {
        format!("old admin.conf is now {user:?}")
    })
}
