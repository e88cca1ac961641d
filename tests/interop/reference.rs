//! A reference output directory made with openssl alone, in kubeseed's layout, from the same
//! kubeadm table the audit checks against. It proves the harness independently of the
//! pipeline: the audit must pass it as built, and must catch each defect a test plants in it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use time::OffsetDateTime;

use crate::common;
use crate::kubeadm::{self, Auth, CertSpec, Cluster, Eku, San};

/// The bootstrap token the reference kubeconfig carries.
pub const TOKEN: &str = "abcdef.0123456789abcdef";

/// Issues certificates with `openssl ca` (which, unlike `openssl x509` in OpenSSL 3.0, can set
/// an arbitrary notBefore); its database and requests live in a scratch directory.
pub struct Issuer {
    scratch: tempfile::TempDir,
    not_before: OffsetDateTime,
    serial: u32,
}

impl Issuer {
    pub fn new(cluster: &Cluster) -> Issuer {
        let scratch = tempfile::Builder::new()
            .prefix("kubeseed-reference-")
            .tempdir()
            .expect("scratch dir");
        fs::create_dir(scratch.path().join("new")).expect("mkdir");
        fs::write(scratch.path().join("index.txt"), "").expect("index.txt");
        fs::write(scratch.path().join("serial"), "1000\n").expect("serial");
        let config = format!(
            "[ca]\ndefault_ca = d\n[d]\ndatabase = {dir}/index.txt\nnew_certs_dir = {dir}/new\nserial = {dir}/serial\n\
             default_md = sha256\npolicy = p\nunique_subject = no\nemail_in_dn = no\n\
             [p]\ncommonName = supplied\norganizationName = optional\n",
            dir = scratch.path().display()
        );
        fs::write(scratch.path().join("ca.cnf"), config).expect("ca.cnf");
        Issuer {
            scratch,
            not_before: cluster.not_before,
            serial: 0,
        }
    }

    fn openssl(&self, args: &[&str]) {
        let mut cmd = Command::new(common::openssl());
        cmd.args(args).current_dir(self.scratch.path());
        common::run(&mut cmd).success(&format!("openssl {}", args.join(" ")));
    }

    /// A fresh P-256 private key at `key`.
    pub fn new_key(&self, key: &Path) {
        let key = key.to_str().expect("utf-8 path");
        self.openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            key,
        ]);
    }

    /// Issues `spec` into `crt` with a new key at `key`, signed by `<out>/<spec.issuer>.{crt,key}`
    /// (or by itself when `spec` is a CA), valid for `validity` from the spec's not_before.
    pub fn issue(
        &mut self,
        out: &Path,
        spec: &CertSpec,
        validity: time::Duration,
        crt: &Path,
        key: &Path,
    ) {
        self.serial += 1;
        self.new_key(key);
        let tag = format!("c{}", self.serial);
        let csr = self.scratch.path().join(format!("{tag}.csr"));
        let ext = self.scratch.path().join(format!("{tag}.ext"));
        fs::write(&ext, extensions(spec)).expect("write extfile");
        let mut subject: String = spec.orgs.iter().map(|o| format!("/O={o}")).collect();
        subject.push_str(&format!("/CN={}", spec.cn));
        let (key_s, csr_s, crt_s) = (path_str(key), path_str(&csr), path_str(crt));
        self.openssl(&[
            "req", "-new", "-key", &key_s, "-subj", &subject, "-out", &csr_s,
        ]);

        let start = asn1_time(self.not_before);
        let end = asn1_time(self.not_before + validity);
        let ext_s = path_str(&ext);
        let mut args = vec![
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-notext",
            "-preserveDN",
            "-rand_serial",
            "-startdate",
            &start,
            "-enddate",
            &end,
            "-extfile",
            &ext_s,
            "-extensions",
            "x",
            "-in",
            &csr_s,
            "-out",
            &crt_s,
        ];
        let (ca_crt, ca_key) = (
            path_str(&out.join(format!("{}.crt", spec.issuer))),
            path_str(&out.join(format!("{}.key", spec.issuer))),
        );
        if spec.is_ca() {
            args.extend(["-selfsign", "-keyfile", &key_s]);
        } else {
            args.extend(["-cert", &ca_crt, "-keyfile", &ca_key]);
        }
        self.openssl(&args);
    }
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

/// `YYMMDDHHMMSSZ` (UTCTime, as RFC 5280 wants before 2050).
fn asn1_time(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year repr:last_two][month][day][hour][minute][second]Z"
    );
    t.format(&f).expect("format time")
}

/// The openssl extension section `[x]` for a certificate, with kubeadm's key usages.
fn extensions(spec: &CertSpec) -> String {
    let mut x = String::from("[x]\n");
    if spec.is_ca() {
        x += "basicConstraints = critical, CA:TRUE\n";
        x += "keyUsage = critical, digitalSignature, keyEncipherment, keyCertSign\n";
        x += "subjectKeyIdentifier = hash\n";
    } else {
        x += "basicConstraints = critical, CA:FALSE\n";
        x += "keyUsage = critical, digitalSignature, keyEncipherment\n";
        x += "authorityKeyIdentifier = keyid\n";
    }
    if !spec.ekus.is_empty() {
        let ekus: Vec<_> = spec
            .ekus
            .iter()
            .map(|e| match e {
                Eku::ServerAuth => "serverAuth",
                Eku::ClientAuth => "clientAuth",
            })
            .collect();
        x += &format!("extendedKeyUsage = {}\n", ekus.join(", "));
    }
    if !spec.sans.is_empty() {
        let sans: Vec<_> = spec.sans.iter().map(San::to_string).collect();
        x += &format!("subjectAltName = {}\n", sans.join(", "));
    }
    x
}

/// Writes the whole reference layout into `out` (which must exist) and returns the issuer,
/// so a test can re-issue a certificate with a planted defect.
pub fn build(cluster: &Cluster, out: &Path) -> Issuer {
    let mut issuer = Issuer::new(cluster);
    for spec in kubeadm::certificates(cluster) {
        let crt = out.join(format!("{}.crt", spec.base));
        fs::create_dir_all(crt.parent().unwrap()).expect("mkdir");
        let validity = spec.validity(cluster);
        issuer.issue(
            out,
            &spec,
            validity,
            &crt,
            &out.join(format!("{}.key", spec.base)),
        );
    }
    let sa_key = out.join("pki/sa.key");
    issuer.new_key(&sa_key);
    issuer.openssl(&[
        "pkey",
        "-in",
        &path_str(&sa_key),
        "-pubout",
        "-out",
        &path_str(&out.join("pki/sa.pub")),
    ]);

    fs::create_dir_all(out.join("kubeconfig")).expect("mkdir");
    for kc in kubeadm::kubeconfigs() {
        let user = match &kc.auth {
            Auth::Token => format!("    token: {TOKEN}\n"),
            Auth::Cert(spec) => {
                let crt = issuer.scratch.path().join("client.crt");
                let key = issuer.scratch.path().join("client.key");
                issuer.issue(out, spec, cluster.cert_validity, &crt, &key);
                format!(
                    "    client-certificate-data: {}\n    client-key-data: {}\n",
                    b64_file(&crt),
                    b64_file(&key)
                )
            }
        };
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: reference\n  cluster:\n    \
             certificate-authority-data: {ca}\n    server: {server}\ncontexts:\n- name: {u}@reference\n  \
             context:\n    cluster: reference\n    user: {u}\ncurrent-context: {u}@reference\n\
             users:\n- name: {u}\n  user:\n{user}",
            ca = b64_file(&out.join("pki/ca.crt")),
            server = cluster.api_server,
            u = kc.user,
        );
        fs::write(out.join(&kc.file), text).expect("write kubeconfig");
    }
    write_index(out);
    issuer
}

fn b64_file(p: &Path) -> String {
    base64::engine::general_purpose::STANDARD.encode(fs::read(p).expect("read"))
}

/// (secret, kind) of a reference file, by its name.
fn classify(path: &str) -> (bool, &'static str) {
    if path.ends_with(".key") {
        (true, "private-key")
    } else if path.ends_with(".crt") {
        (false, "certificate")
    } else if path.ends_with(".pub") {
        (false, "public-key")
    } else if path.ends_with(".conf") {
        (true, "kubeconfig")
    } else {
        panic!("reference layout has an unexpected file {path}")
    }
}

/// Sets the contract's modes on everything under `out` and (re)writes `out/index.json`.
pub fn write_index(out: &Path) {
    let _ = fs::remove_file(out.join("index.json"));
    set_modes(out);
    let files: Vec<_> = common::hash_tree(out)
        .into_iter()
        .map(|(path, e)| {
            let (secret, kind) = classify(&path);
            serde_json::json!({
                "path": path, "sha256": e.sha256, "mode": format!("{:04o}", e.mode),
                "secret": secret, "kind": kind,
            })
        })
        .collect();
    let index = serde_json::json!({ "version": 1, "files": files });
    let text = serde_json::to_string_pretty(&index).expect("json") + "\n";
    fs::write(out.join("index.json"), text).expect("write index.json");
}

fn set_modes(dir: &Path) {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).expect("chmod");
    for entry in fs::read_dir(dir).expect("read dir") {
        let p: PathBuf = entry.expect("entry").path();
        if p.is_dir() {
            set_modes(&p);
        } else {
            let (secret, _) = classify(&p.to_string_lossy());
            let mode = if secret { 0o600 } else { 0o644 };
            fs::set_permissions(&p, fs::Permissions::from_mode(mode)).expect("chmod");
        }
    }
}
