//! The audit of an output directory: every check openssl, kubectl and the contract allow
//! without a live cluster, each problem recorded as a finding that names file and field.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;
use time::OffsetDateTime;

use crate::common;
use crate::kubeadm::{self, Auth, CertSpec, Cluster, San};

// ---------------------------------------------------------------------------------------------
// Findings

/// Everything wrong with a directory, each entry naming the file and the field.
#[derive(Default)]
pub struct Findings(pub Vec<String>);

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

    pub fn assert_none(self, what: &str) {
        assert!(
            self.0.is_empty(),
            "{what}: {} finding(s):\n  - {}",
            self.0.len(),
            self.0.join("\n  - ")
        );
    }

    /// For the tests of the audit itself: some finding contains every one of `needles`.
    pub fn assert_has(&self, needles: &[&str]) {
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

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// What `openssl x509` reads from a certificate.
struct CertInfo {
    subject: Vec<(String, String)>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    /// Extension name, as openssl prints it -> its value.
    extensions: BTreeMap<String, String>,
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
                let name = head.split_once(':').map_or(head, |(name, _)| name);
                let mut value = Vec::new();
                while let Some(v) = lines.next_if(|l| l.starts_with(' ')) {
                    value.push(v.trim());
                }
                extensions.insert(name.to_string(), value.join(" "));
            } else if line.starts_with("-----BEGIN PUBLIC KEY")
                || (!public_key.is_empty() && !public_key.ends_with("END PUBLIC KEY-----\n"))
            {
                // Only the PEM block: anything else openssl says is not part of the key.
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
        self.extensions.get(name).map(String::as_str)
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
pub fn audit_pki(out: &Path, c: &Cluster) -> Findings {
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
pub fn kubectl_view(file: &Path) -> Result<Value, String> {
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
pub fn audit_kubeconfigs(out: &Path, c: &Cluster) -> Findings {
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
pub fn audit_index(out: &Path, c: &Cluster) -> Findings {
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
pub fn audit(out: &Path, c: &Cluster) -> Findings {
    let mut f = audit_pki(out, c);
    f.0.extend(audit_kubeconfigs(out, c).0);
    f.0.extend(audit_index(out, c).0);
    f
}
