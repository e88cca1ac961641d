//! PKI interop: what `kubeseed render` writes must be accepted by the real tools that will
//! consume it. openssl verifies every chain, purpose, identity and key pair; a 3-member etcd
//! cluster on loopback runs with client and peer mTLS on the rendered certificates; kubectl
//! parses every kubeconfig; `index.json` matches the files on disk.
//!
//! The checks form an audit that collects every finding before failing, so one run names every
//! broken certificate field. The same audit runs on a reference directory made with openssl
//! alone, which it must pass, and which tests then break on purpose to prove each check fires.

mod common;
#[path = "interop/etcd.rs"]
mod etcd;
#[path = "interop/kubeadm.rs"]
mod kubeadm;
#[path = "interop/reference.rs"]
mod reference;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;
use time::OffsetDateTime;

use kubeadm::{Auth, CertSpec, Cluster, San};

const FIXTURE: &str = "interop.toml";

// ---------------------------------------------------------------------------------------------
// Findings

/// Everything wrong with a directory, each entry naming the file and the field.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    fn check(&mut self, ok: bool, finding: impl FnOnce() -> String) {
        if !ok {
            self.0.push(finding());
        }
    }

    fn expect_eq<T: PartialEq + Debug>(&mut self, what: &str, expected: T, actual: T) {
        self.check(expected == actual, || {
            format!("{what}: expected {expected:?}, got {actual:?}")
        });
    }

    fn assert_none(self, what: &str) {
        assert!(
            self.0.is_empty(),
            "{what}: {} finding(s):\n  - {}",
            self.0.len(),
            self.0.join("\n  - ")
        );
    }

    /// For the tests of the audit itself: some finding contains every one of `needles`.
    fn assert_has(&self, needles: &[&str]) {
        assert!(
            self.0.iter().any(|f| needles.iter().all(|n| f.contains(n))),
            "expected a finding containing {needles:?}; findings:\n  - {}",
            self.0.join("\n  - ")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// openssl

fn openssl(args: &[&str]) -> common::Run {
    common::run(Command::new(common::openssl()).args(args))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// What `openssl x509` reads from a certificate.
struct CertInfo {
    subject: Vec<(String, String)>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    /// Extension name (as openssl prints it, without "critical") -> (critical, value).
    extensions: BTreeMap<String, (bool, String)>,
    public_key: String,
}

impl CertInfo {
    fn read(crt: &Path) -> Result<CertInfo, String> {
        let run = openssl(&[
            "x509",
            "-in",
            s(crt),
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253",
            "-dateopt",
            "iso_8601",
            "-startdate",
            "-enddate",
            "-ext",
            "basicConstraints,keyUsage,extendedKeyUsage,subjectAltName",
            "-pubkey",
        ]);
        if !run.status.success() {
            return Err(format!("openssl cannot read it: {}", run.stderr.trim()));
        }
        let mut lines = run.stdout.lines().peekable();
        let mut field = |prefix: &str| -> Result<String, String> {
            let line = lines.next().unwrap_or_default();
            line.strip_prefix(prefix)
                .map(String::from)
                .ok_or_else(|| format!("unexpected openssl output {line:?}"))
        };
        let subject = parse_rfc2253(&field("subject=")?);
        let not_before = parse_openssl_time(&field("notBefore=")?)?;
        let not_after = parse_openssl_time(&field("notAfter=")?)?;
        let mut extensions = BTreeMap::new();
        let mut public_key = String::new();
        while let Some(line) = lines.next() {
            if let Some(head) = line.strip_prefix("X509v3 ") {
                let (name, rest) = head.split_once(':').unwrap_or((head, ""));
                let mut value = Vec::new();
                while let Some(v) = lines.next_if(|l| l.starts_with(' ')) {
                    value.push(v.trim());
                }
                extensions.insert(
                    name.to_string(),
                    (rest.contains("critical"), value.join(" ")),
                );
            } else {
                public_key.push_str(line);
                public_key.push('\n');
            }
        }
        Ok(CertInfo {
            subject,
            not_before,
            not_after,
            extensions,
            public_key,
        })
    }

    fn ext(&self, name: &str) -> Option<&str> {
        self.extensions.get(name).map(|(_, v)| v.as_str())
    }

    fn attr(&self, key: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .subject
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect();
        v.sort();
        v
    }

    fn sans(&self) -> Result<BTreeSet<San>, String> {
        let Some(text) = self.ext("Subject Alternative Name") else {
            return Ok(BTreeSet::new());
        };
        text.split(", ")
            .map(|item| {
                if let Some(d) = item.strip_prefix("DNS:") {
                    Ok(San::Dns(d.to_string()))
                } else if let Some(ip) = item.strip_prefix("IP Address:") {
                    ip.parse()
                        .map(San::Ip)
                        .map_err(|_| format!("bad IP SAN {item:?}"))
                } else {
                    Err(format!("unexpected SAN {item:?}"))
                }
            })
            .collect()
    }
}

/// `O=b,O=a,CN=x` -> [(O,b),(O,a),(CN,x)]; the names kubeadm uses hold no escaped commas.
fn parse_rfc2253(subject: &str) -> Vec<(String, String)> {
    subject
        .split([',', '+'])
        .filter_map(|rdn| rdn.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect()
}

fn parse_openssl_time(t: &str) -> Result<OffsetDateTime, String> {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    time::PrimitiveDateTime::parse(t, &f)
        .map(|t| t.assume_utc())
        .map_err(|e| format!("bad openssl time {t:?}: {e}"))
}

/// `openssl verify` of `crt` against `ca` alone, strict RFC 5280 checks, at `at`.
fn verify(ca: &Path, crt: &Path, purpose: Option<&str>, at: i64) -> Result<(), String> {
    let at = at.to_string();
    let mut args = vec![
        "verify",
        "-x509_strict",
        "-no-CApath",
        "-no-CAstore",
        "-attime",
        &at,
        "-CAfile",
        s(ca),
    ];
    if let Some(p) = purpose {
        args.extend(["-purpose", p]);
    }
    args.push(s(crt));
    let run = openssl(&args);
    if run.status.success() && run.stdout.trim_end().ends_with(": OK") {
        Ok(())
    } else {
        Err(format!("{}{}", run.stdout, run.stderr)
            .trim()
            .replace('\n', " | "))
    }
}

/// The PEM SubjectPublicKeyInfo of a private key.
fn public_key_of(key: &Path) -> Result<String, String> {
    let run = openssl(&["pkey", "-in", s(key), "-pubout"]);
    if run.status.success() {
        Ok(run.stdout)
    } else {
        Err(format!("openssl cannot read it: {}", run.stderr.trim()))
    }
}

fn fingerprint(crt: &Path) -> Option<String> {
    let run = openssl(&["x509", "-in", s(crt), "-noout", "-fingerprint", "-sha256"]);
    run.status.success().then_some(run.stdout)
}

// ---------------------------------------------------------------------------------------------
// The audit

/// Checks one certificate and its key against its kubeadm row. `label` names it in findings.
fn audit_cert(
    f: &mut Findings,
    c: &Cluster,
    out: &Path,
    spec: &CertSpec,
    label: &str,
    crt: &Path,
    key: &Path,
) {
    let info = match CertInfo::read(crt) {
        Ok(info) => info,
        Err(e) => return f.0.push(format!("{label}: {e}")),
    };
    let at = c.inside_validity();
    let issuer = out.join(format!("{}.crt", spec.issuer));
    if spec.is_ca() {
        if let Err(e) = verify(&issuer, crt, None, at) {
            f.0.push(format!("{label}: does not verify as a self-signed CA: {e}"));
        }
    }
    for purpose in spec.purposes() {
        if let Err(e) = verify(&issuer, crt, Some(purpose), at) {
            f.0.push(format!(
                "{label}: openssl verify -purpose {purpose} against {}.crt: {e}",
                spec.issuer
            ));
        }
    }
    for other in kubeadm::CAS.iter().filter(|&&ca| ca != spec.issuer) {
        f.check(
            verify(&out.join(format!("{other}.crt")), crt, None, at).is_err(),
            || {
                format!(
                    "{label}: also verifies against {other}.crt; it must chain only to {}.crt",
                    spec.issuer
                )
            },
        );
    }

    f.expect_eq(
        &format!("{label}: subject CN"),
        vec![spec.cn.clone()],
        info.attr("CN"),
    );
    let mut orgs = spec.orgs.clone();
    orgs.sort();
    f.expect_eq(&format!("{label}: subject O"), orgs, info.attr("O"));
    let extra: Vec<_> = info
        .subject
        .iter()
        .filter(|(k, _)| k != "CN" && k != "O")
        .collect();
    f.check(extra.is_empty(), || {
        format!("{label}: subject has attributes besides CN and O: {extra:?}")
    });

    let validity = spec.validity(c);
    f.expect_eq(
        &format!("{label}: notBefore"),
        c.not_before,
        info.not_before,
    );
    f.expect_eq(
        &format!("{label}: notAfter (notBefore + {validity})"),
        c.not_before + validity,
        info.not_after,
    );

    let basic = info.ext("Basic Constraints").unwrap_or("");
    let usage = info.ext("Key Usage").unwrap_or("");
    if spec.is_ca() {
        f.check(basic.contains("CA:TRUE"), || {
            format!("{label}: basicConstraints is {basic:?}, want CA:TRUE")
        });
        f.check(usage.contains("Certificate Sign"), || {
            format!("{label}: keyUsage {usage:?} lacks Certificate Sign")
        });
    } else {
        f.check(!basic.contains("CA:TRUE"), || {
            format!("{label}: a leaf with basicConstraints {basic:?}")
        });
        f.check(
            usage.contains("Digital Signature") && !usage.contains("Certificate Sign"),
            || {
                format!(
                    "{label}: keyUsage {usage:?}, want Digital Signature and no Certificate Sign"
                )
            },
        );
    }
    let ekus: BTreeSet<&str> = info
        .ext("Extended Key Usage")
        .map(|e| e.split(", ").collect())
        .unwrap_or_default();
    let want: BTreeSet<&str> = spec.ekus.iter().map(|e| e.openssl_name()).collect();
    f.expect_eq(&format!("{label}: extendedKeyUsage"), want, ekus);
    match info.sans() {
        Ok(sans) => {
            let missing: Vec<String> = spec.sans.difference(&sans).map(San::to_string).collect();
            let extra: Vec<String> = sans.difference(&spec.sans).map(San::to_string).collect();
            f.check(missing.is_empty() && extra.is_empty(), || {
                format!("{label}: subjectAltName missing {missing:?}, unexpected {extra:?}")
            });
        }
        Err(e) => f.0.push(format!("{label}: subjectAltName: {e}")),
    }

    match public_key_of(key) {
        Ok(pk) => f.check(pk == info.public_key, || {
            format!("{label}: the private key does not match the certificate")
        }),
        Err(e) => f.0.push(format!("{label}: key: {e}")),
    }
}

/// Every certificate and key under `pki/`, and `sa.key`/`sa.pub`.
fn audit_pki(out: &Path, c: &Cluster) -> Findings {
    let mut f = Findings::default();
    for spec in kubeadm::certificates(c) {
        let crt = out.join(format!("{}.crt", spec.base));
        let key = out.join(format!("{}.key", spec.base));
        if !crt.is_file() || !key.is_file() {
            f.0.push(format!("{}.{{crt,key}}: missing", spec.base));
            continue;
        }
        audit_cert(
            &mut f,
            c,
            out,
            &spec,
            &format!("{}.crt", spec.base),
            &crt,
            &key,
        );
    }
    let sa_pub = openssl(&[
        "pkey",
        "-pubin",
        "-in",
        s(&out.join("pki/sa.pub")),
        "-pubout",
    ]);
    match public_key_of(&out.join("pki/sa.key")) {
        Ok(derived) => f.check(sa_pub.status.success() && sa_pub.stdout == derived, || {
            "pki/sa.pub: is not the public half of pki/sa.key".to_string()
        }),
        Err(e) => f.0.push(format!("pki/sa.key: {e}")),
    }
    f
}

/// A kubeconfig as `kubectl config view --raw -o json` sees it.
fn kubectl_view(file: &Path) -> Result<Value, String> {
    // kubectl reads a missing file as an empty config and succeeds: rule that out first.
    if !file.is_file() {
        return Err("missing".into());
    }
    let kubectl = common::kubectl();
    let run = common::run(
        Command::new(&kubectl.path)
            .args(["config", "view", "--raw", "-o", "json", "--kubeconfig"])
            .arg(file)
            .env_remove("KUBECONFIG"),
    );
    if !run.status.success() {
        return Err(format!(
            "kubectl {} rejects it: {}",
            kubectl.version,
            run.stderr.trim()
        ));
    }
    serde_json::from_str(&run.stdout).map_err(|e| format!("kubectl printed no JSON: {e}"))
}

/// The entry called `name` in a kubeconfig list (`clusters`, `users`, `contexts`).
fn named<'a>(view: &'a Value, list: &str, name: &str) -> Option<&'a Value> {
    view[list].as_array()?.iter().find(|e| e["name"] == name)
}

fn decode_b64(v: &Value) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str()?)
        .ok()
}

/// Every kubeconfig: parsed by kubectl, pointing at the API server with the cluster CA, as
/// the right user with a client certificate kubeadm would issue (or a bootstrap token).
fn audit_kubeconfigs(out: &Path, c: &Cluster) -> Findings {
    let mut f = Findings::default();
    let scratch = tempfile::tempdir().expect("scratch dir");
    let ca_fingerprint = fingerprint(&out.join("pki/ca.crt"));
    for kc in kubeadm::kubeconfigs() {
        let file = &kc.file;
        let view = match kubectl_view(&out.join(file)) {
            Ok(v) => v,
            Err(e) => {
                f.0.push(format!("{file}: {e}"));
                continue;
            }
        };
        let current = view["current-context"].as_str().unwrap_or_default();
        let Some(context) = named(&view, "contexts", current) else {
            f.0.push(format!(
                "{file}: current-context {current:?} names no context"
            ));
            continue;
        };
        let cluster_name = context["context"]["cluster"].as_str().unwrap_or_default();
        let user_name = context["context"]["user"].as_str().unwrap_or_default();
        f.expect_eq(
            &format!("{file}: user of the current context"),
            kc.user.as_str(),
            user_name,
        );
        match named(&view, "clusters", cluster_name) {
            None => f.0.push(format!(
                "{file}: context names cluster {cluster_name:?}, which is not there"
            )),
            Some(cl) => {
                f.expect_eq(
                    &format!("{file}: server"),
                    Some(c.api_server.as_str()),
                    cl["cluster"]["server"].as_str(),
                );
                let ca = scratch.path().join("ca.crt");
                let same_ca = decode_b64(&cl["cluster"]["certificate-authority-data"])
                    .map(|pem| fs::write(&ca, pem).is_ok() && fingerprint(&ca) == ca_fingerprint)
                    .unwrap_or(false);
                f.check(same_ca && ca_fingerprint.is_some(), || {
                    format!("{file}: certificate-authority-data is not pki/ca.crt")
                });
            }
        }
        let Some(user) = named(&view, "users", user_name).map(|u| &u["user"]) else {
            f.0.push(format!("{file}: user {user_name:?} is not there"));
            continue;
        };
        match &kc.auth {
            Auth::Token => {
                let token = user["token"].as_str().unwrap_or_default();
                f.check(kubeadm::is_bootstrap_token(token), || {
                    format!(
                        "{file}: token is not [a-z0-9]{{6}}.[a-z0-9]{{16}} (length {})",
                        token.len()
                    )
                });
            }
            Auth::Cert(spec) => {
                let (crt, key) = (
                    scratch.path().join("client.crt"),
                    scratch.path().join("client.key"),
                );
                match (
                    decode_b64(&user["client-certificate-data"]),
                    decode_b64(&user["client-key-data"]),
                ) {
                    (Some(cert_pem), Some(key_pem)) => {
                        fs::write(&crt, cert_pem).expect("write scratch");
                        fs::write(&key, key_pem).expect("write scratch");
                        audit_cert(&mut f, c, out, spec, &spec.base, &crt, &key);
                    }
                    _ => f.0.push(format!(
                        "{file}: no embedded client-certificate-data and client-key-data"
                    )),
                }
            }
        }
    }
    f
}

/// The mode and index attributes the contract gives a PKI or kubeconfig file.
fn contract_for(path: &str) -> Option<(&'static str, bool, &'static str)> {
    let under = |d: &str| path.starts_with(d);
    if under("pki/") && path.ends_with(".key") {
        Some(("0600", true, "private-key"))
    } else if under("pki/") && path.ends_with(".crt") {
        Some(("0644", false, "certificate"))
    } else if path == "pki/sa.pub" {
        Some(("0644", false, "public-key"))
    } else if under("kubeconfig/") && path.ends_with(".conf") {
        Some(("0600", true, "kubeconfig"))
    } else {
        None
    }
}

/// `index.json` against the tree, and the contract's modes for PKI files and kubeconfigs.
fn audit_index(out: &Path, c: &Cluster) -> Findings {
    let mut f = Findings::default();
    let disk = common::hash_tree(out);
    let index: Value =
        match fs::read_to_string(out.join("index.json")).map(|t| serde_json::from_str(&t)) {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => return Findings(vec![format!("index.json: not JSON: {e}")]),
            Err(e) => return Findings(vec![format!("index.json: {e}")]),
        };
    f.expect_eq("index.json: version", Some(1), index["version"].as_i64());
    f.expect_eq(
        "index.json: mode on disk",
        Some("0644".to_string()),
        disk.get("index.json").map(|e| format!("{:04o}", e.mode)),
    );
    let entries = index["files"].as_array().cloned().unwrap_or_default();
    f.check(!entries.is_empty(), || "index.json: no files".to_string());
    let paths: Vec<&str> = entries
        .iter()
        .map(|e| e["path"].as_str().unwrap_or_default())
        .collect();
    f.check(paths.windows(2).all(|w| w[0] < w[1]), || {
        "index.json: files are not sorted by path (or repeat one)".to_string()
    });

    for e in &entries {
        let path = e["path"].as_str().unwrap_or_default();
        let Some(on_disk) = disk.get(path) else {
            f.0.push(format!(
                "index.json lists {path:?}, which is not a file in the output"
            ));
            continue;
        };
        f.expect_eq(
            &format!("index.json {path}: sha256"),
            Some(on_disk.sha256.as_str()),
            e["sha256"].as_str(),
        );
        let disk_mode = format!("{:04o}", on_disk.mode);
        f.expect_eq(
            &format!("index.json {path}: mode"),
            Some(disk_mode.as_str()),
            e["mode"].as_str(),
        );
        f.check(e["secret"].is_boolean() && e["kind"].is_string(), || {
            format!("index.json {path}: no boolean secret and string kind")
        });
        if let Some((mode, secret, kind)) = contract_for(path) {
            f.expect_eq(&format!("{path}: mode on disk"), mode, disk_mode.as_str());
            f.expect_eq(
                &format!("index.json {path}: secret"),
                Some(secret),
                e["secret"].as_bool(),
            );
            f.expect_eq(
                &format!("index.json {path}: kind"),
                Some(kind),
                e["kind"].as_str(),
            );
        }
    }
    let listed: BTreeSet<&str> = paths.iter().copied().collect();
    for path in disk.keys().filter(|p| *p != "index.json") {
        f.check(listed.contains(path.as_str()), || {
            format!("{path}: on disk but not in index.json")
        });
    }

    let mut expected: Vec<String> = vec!["pki/sa.key".into(), "pki/sa.pub".into()];
    for spec in kubeadm::certificates(c) {
        expected.push(format!("{}.crt", spec.base));
        expected.push(format!("{}.key", spec.base));
    }
    expected.extend(kubeadm::kubeconfigs().into_iter().map(|k| k.file));
    for path in &expected {
        f.check(disk.contains_key(path), || {
            format!("{path}: missing from the output")
        });
    }
    let mut dirs: BTreeSet<PathBuf> = expected
        .iter()
        .filter_map(|p| Path::new(p).parent().map(Path::to_path_buf))
        .collect();
    dirs.insert(PathBuf::new());
    for dir in dirs {
        let full = out.join(&dir);
        if full.is_dir() {
            f.expect_eq(
                &format!("{}/: directory mode", dir.display()),
                "0755".to_string(),
                format!("{:04o}", common::mode_of(&full)),
            );
        }
    }
    f
}

/// The whole audit of a rendered (or reference) directory.
fn audit(out: &Path, c: &Cluster) -> Findings {
    let mut f = audit_pki(out, c);
    f.0.extend(audit_kubeconfigs(out, c).0);
    f.0.extend(audit_index(out, c).0);
    f
}

// ---------------------------------------------------------------------------------------------
// etcd

/// A real etcd cluster on the directory's certificates: every member serves reads and writes
/// to the apiserver's etcd client, answers the healthcheck client, and refuses a client whose
/// certificate the Kubernetes CA (not the etcd CA) signed.
fn exercise_etcd(out: &Path, c: &Cluster) {
    let cluster = etcd::EtcdCluster::start(out, &c.controllers);
    let eps = cluster.endpoints().to_vec();
    let logs = || cluster.logs();

    let all = eps.join(",");
    let health = cluster.etcdctl(&all, "etcd/healthcheck-client", &["endpoint", "health"]);
    let said = format!("{}{}", health.stdout, health.stderr);
    assert!(
        health.status.success(),
        "endpoint health failed: {said}\n{}",
        logs()
    );
    for ep in &eps {
        assert!(
            said.contains(&format!("{ep} is healthy")),
            "{ep} not healthy: {said}"
        );
    }

    let members = cluster
        .etcdctl(
            &all,
            "apiserver-etcd-client",
            &["member", "list", "-w", "simple"],
        )
        .success("etcdctl member list");
    let mut names: Vec<&str> = members
        .stdout
        .lines()
        .filter_map(|l| l.split(", ").nth(2))
        .collect();
    names.sort();
    let want: Vec<&str> = c.controllers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(want, names, "member list: {}", members.stdout);

    // Write through every member, read back through the next one: replication over peer TLS.
    for (i, ep) in eps.iter().enumerate() {
        let key = format!("/kubeseed-interop/via-{}", c.controllers[i].name);
        let value = format!("written-through-{ep}");
        cluster
            .etcdctl(ep, "apiserver-etcd-client", &["put", &key, &value])
            .success(&format!("put via {ep}"));
        let next = &eps[(i + 1) % eps.len()];
        let got = cluster
            .etcdctl(
                next,
                "apiserver-etcd-client",
                &["get", &key, "--print-value-only"],
            )
            .success(&format!("get via {next}"));
        assert_eq!(got.stdout.trim_end(), value, "get {key} via {next}");
    }

    // A client certificate from the wrong CA must be refused at the TLS handshake.
    let ep = &eps[0];
    const REFUSAL: &str = "certificate signed by unknown authority";
    let before = cluster.log_of(ep).matches(REFUSAL).count();
    let key = format!("/kubeseed-interop/via-{}", c.controllers[0].name);
    let denied = cluster.etcdctl(
        ep,
        "apiserver-kubelet-client",
        &["get", &key, "--print-value-only"],
    );
    assert!(
        !denied.status.success(),
        "etcd accepted a client certificate signed by the Kubernetes CA: {denied:?}"
    );
    assert!(
        !denied.stdout.contains("written-through"),
        "etcd returned the value to a foreign client: {denied:?}"
    );
    common::wait_for(
        "etcd to log the refused handshake",
        std::time::Duration::from_secs(10),
        std::time::Duration::from_millis(100),
        || {
            let log = cluster.log_of(ep);
            if log.matches(REFUSAL).count() > before {
                Ok(())
            } else {
                Err(format!("no {REFUSAL:?} in the log of {ep}"))
            }
        },
    );
}

// ---------------------------------------------------------------------------------------------
// The reference directory

fn fixture_cluster() -> Cluster {
    Cluster::from_spec(&common::fixture(FIXTURE))
}

fn reference_dir(c: &Cluster) -> (tempfile::TempDir, reference::Issuer) {
    let dir = tempfile::Builder::new()
        .prefix("kubeseed-reference-out-")
        .tempdir()
        .expect("temp dir");
    let issuer = reference::build(c, dir.path());
    (dir, issuer)
}

#[test]
fn reference_layout_passes_the_audit() {
    let c = fixture_cluster();
    let (dir, _) = reference_dir(&c);
    audit(dir.path(), &c).assert_none("openssl-made reference directory");
}

#[test]
fn reference_layout_runs_an_etcd_cluster() {
    let c = fixture_cluster();
    let (dir, _) = reference_dir(&c);
    exercise_etcd(dir.path(), &c);
}

/// Each defect planted in a reference directory shows up as a finding naming file and field.
#[test]
fn audit_catches_planted_defects() {
    let c = fixture_cluster();
    let (dir, mut issuer) = reference_dir(&c);
    let out = dir.path();
    let certs = kubeadm::certificates(&c);
    let row = |base: &str| certs.iter().find(|s| s.base == base).cloned().expect("row");
    let reissue = |issuer: &mut reference::Issuer, spec: &CertSpec, base: &str| {
        let (crt, key) = (
            out.join(format!("{base}.crt")),
            out.join(format!("{base}.key")),
        );
        issuer.issue(out, spec, spec.validity(&c), &crt, &key);
    };

    // apiserver without the last controller's address.
    let mut apiserver = row("pki/apiserver");
    apiserver.sans.remove(&San::Ip(c.controllers[2].address));
    reissue(&mut issuer, &apiserver, "pki/apiserver");
    // An etcd peer certificate signed by the Kubernetes CA.
    let mut peer = row("pki/etcd/cp-1/peer");
    peer.issuer = kubeadm::KUBERNETES_CA;
    reissue(&mut issuer, &peer, "pki/etcd/cp-1/peer");
    // A healthcheck client that may also serve.
    let mut health = row("pki/etcd/healthcheck-client");
    health.ekus.insert(kubeadm::Eku::ServerAuth);
    reissue(&mut issuer, &health, "pki/etcd/healthcheck-client");
    // A front-proxy client key that belongs to another certificate.
    issuer.new_key(&out.join("pki/front-proxy-client.key"));
    // A leaf valid one hour less than cert_validity.
    let kubelet_client = row("pki/apiserver-kubelet-client");
    let (crt, key) = (
        out.join("pki/apiserver-kubelet-client.crt"),
        out.join("pki/apiserver-kubelet-client.key"),
    );
    issuer.issue(
        out,
        &kubelet_client,
        c.cert_validity - time::Duration::hours(1),
        &crt,
        &key,
    );
    // admin.conf pointing elsewhere; scheduler.conf with a token where a certificate belongs.
    let admin = fs::read_to_string(out.join("kubeconfig/admin.conf")).unwrap();
    fs::write(
        out.join("kubeconfig/admin.conf"),
        admin.replace(&c.api_server, "https://127.0.0.99:6443"),
    )
    .unwrap();
    let boot = fs::read_to_string(out.join("kubeconfig/bootstrap-kubelet.conf")).unwrap();
    fs::write(
        out.join("kubeconfig/bootstrap-kubelet.conf"),
        boot.replace(reference::TOKEN, "ABCDEF.0123456789abcdef"),
    )
    .unwrap();
    fs::remove_file(out.join("kubeconfig/scheduler.conf")).unwrap();
    reference::write_index(out);
    // After indexing: a world-readable key and a stale hash.
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(out.join("pki/sa.key"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(
        out.join("pki/sa.pub"),
        fs::read_to_string(out.join("pki/sa.pub")).unwrap() + "\n",
    )
    .unwrap();
    fs::write(out.join("stray.txt"), "").unwrap();

    let f = audit(out, &c);
    f.assert_has(&["pki/apiserver.crt", "subjectAltName", "IP:127.0.0.13"]);
    f.assert_has(&[
        "pki/etcd/cp-1/peer.crt",
        "-purpose sslserver",
        "pki/etcd/ca.crt",
    ]);
    f.assert_has(&["pki/etcd/cp-1/peer.crt", "also verifies against pki/ca.crt"]);
    f.assert_has(&["pki/etcd/healthcheck-client.crt", "extendedKeyUsage"]);
    f.assert_has(&["pki/front-proxy-client.crt", "private key does not match"]);
    f.assert_has(&["pki/apiserver-kubelet-client.crt", "notAfter"]);
    f.assert_has(&["kubeconfig/admin.conf", "server", "127.0.0.99"]);
    f.assert_has(&["kubeconfig/bootstrap-kubelet.conf", "token is not"]);
    f.assert_has(&["kubeconfig/scheduler.conf", "missing"]);
    f.assert_has(&["pki/sa.key: mode on disk", "0600"]);
    f.assert_has(&["index.json pki/sa.key: mode"]);
    f.assert_has(&["index.json pki/sa.pub: sha256"]);
    f.assert_has(&["stray.txt: on disk but not in index.json"]);
}
