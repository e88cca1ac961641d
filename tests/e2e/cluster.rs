//! The e2e test's cluster: the test spec, rendering it through the binary, booting each
//! controller's static pods as processes on its own lab host, and the clients the checks
//! use on the workstation host (kubectl, etcdctl, curl, openssl, the kubelet's TLS-bootstrap
//! code). Everything here goes through the binary and the documented output layout.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::lab::{self, Lab, ProcId};

pub const SEED: &str = "e2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2e0";
pub const PODS: [&str; 4] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
];
pub const API_NAME: &str = "api.e2e.test";
/// `security.kubelet_signing_duration` of the test spec: not a default, so a certificate
/// valid for it proves the flag reached the signer.
pub const SIGNING_HOURS: u64 = 2;

// ---------------------------------------------------------------------------------------
// The spec

pub fn controllers(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            (
                format!("cp-{i}"),
                format!("{}.{}", lab::SUBNET_PREFIX, 10 + i),
            )
        })
        .collect()
}

pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("format time")
}

/// The test spec: `n` controllers; with one, `api_server` is its address (kube-apiserver
/// listens on the URL's port), with three a name every host resolves to all of them (the
/// load-balancer case). Certificates start an hour ago so they are valid now. Variants
/// ([`Cluster::render_variant`]) add a key under `[pki.generations]`, `[security]` or
/// `[addons]`.
pub fn spec(version: &str, n: usize) -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("time");
    let not_before = now - time::Duration::hours(1);
    let expires = now + time::Duration::days(1);
    let api = if n == 1 {
        format!("https://{}:6443", controllers(1)[0].1)
    } else {
        format!("https://{API_NAME}:6443")
    };
    let controllers = controllers(n);
    // Version 3, with node_self_delete written off: a check shows its RBAC's effect by
    // applying it after a control without it.
    crate::common::Spec::new("e2e")
        .version(3)
        .api_server(&api)
        .kubernetes_version(&format!("v{version}"))
        .controller_list(&controllers)
        .not_before(&rfc3339(not_before))
        .pki("[pki.generations]")
        .token(&format!("expires = \"{}\"", rfc3339(expires)))
        .security(&format!(
            "kubelet_signing_duration = \"{SIGNING_HOURS}h\"\nnode_self_delete = false"
        ))
        .pool("workers")
        .table("[addons]\ncoredns = true\nkube_proxy = true")
        .table(&format!(
            "[gitops]\nage_recipients = [\"{}\"]",
            gitops_recipient()
        ))
        .build()
}

/// The recipient of [`gitops_identity`]: the e2e applies the `gitops/` tree after the real
/// `sops` decrypts it with that identity.
fn gitops_recipient() -> String {
    let text = fs::read_to_string(gitops_identity()).expect("read the demo identity");
    let ids = kubeseed::gitops::age::Identity::parse_file(&text).expect("an age identity file");
    ids[0].recipient().as_str().to_string()
}

/// `examples/gitops/flux.agekey`, a public demo identity.
pub fn gitops_identity() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/gitops/flux.agekey")
}

impl Cluster {
    /// A copy of the rendered `gitops/` tree in the workstation directory, every
    /// `*.sops.yaml` decrypted in place by the real `sops` with [`gitops_identity`]: what
    /// Flux's kustomize-controller applies. Returns the directory.
    pub fn decrypted_gitops(&self) -> Result<PathBuf, String> {
        let dir = self.ws.path().join("gitops-decrypted");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let home = self.ws.path().join("sops-home");
        std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
        for entry in std::fs::read_dir(self.out.join("gitops")).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path.file_name().ok_or("a file name")?.to_os_string();
            let target = dir.join(&name);
            std::fs::copy(&path, &target).map_err(|e| e.to_string())?;
            if name.to_string_lossy().ends_with(".sops.yaml") {
                let run = crate::common::run(
                    crate::common::sops_as(&gitops_identity(), &home)
                        .args(["decrypt", "--in-place"])
                        .arg(&target),
                );
                if !run.status.success() {
                    return Err(format!("sops -d {}: {}", s(&path), run.stderr));
                }
            }
        }
        Ok(dir)
    }
}

// ---------------------------------------------------------------------------------------
// The cluster

pub struct Cluster {
    pub lab: Lab,
    pub bins: PathBuf,
    pub ws: tempfile::TempDir,
    /// The spec and seed (`cluster.toml`, `seed`) and the render (`out/`).
    pub spec: PathBuf,
    pub out: PathBuf,
    pub controllers: Vec<(String, String)>,
    /// Per controller, the processes of its four static pods.
    pub procs: BTreeMap<(String, &'static str), ProcId>,
    pub version: String,
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn s(p: &Path) -> String {
    p.display().to_string()
}

impl Cluster {
    pub fn bin(&self, name: &str) -> String {
        s(&self.bins.join(name))
    }

    /// Runs a client command on the workstation host; Ok(stdout) on exit 0, else
    /// Err(what the tool said).
    pub fn ws_run(&self, argv: &[String]) -> Result<String, String> {
        self.run_on("ws", argv)
    }

    /// `sh -c script` on `host`: its stdout, or why it failed.
    pub fn sh(&self, host: &str, script: &str) -> Result<String, String> {
        self.run_on(host, &["sh".into(), "-c".into(), script.to_string()])
            .map_err(|e| format!("{script}: {e}"))
    }

    /// `argv` on `host`: its stdout, or why it failed.
    pub fn run_on(&self, host: &str, argv: &[String]) -> Result<String, String> {
        let out = self.lab.run(host, argv);
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "{} ({}): {}",
                argv[0],
                out.status,
                text(&out).trim()
            ))
        }
    }

    pub fn kubectl_at(&self, kubeconfig: &Path, args: &[&str]) -> Result<String, String> {
        let mut argv = vec![
            self.bin("kubectl"),
            format!("--kubeconfig={}", s(kubeconfig)),
            "--request-timeout=30s".into(),
        ];
        argv.extend(args.iter().map(|a| a.to_string()));
        self.ws_run(&argv)
    }

    /// kubectl with one of the rendered kubeconfigs, `kubeconfig/<name>`.
    pub fn kubectl(&self, name: &str, args: &[&str]) -> Result<String, String> {
        self.kubectl_at(&self.out.join("kubeconfig").join(name), args)
    }

    pub fn admin(&self, args: &[&str]) -> Result<String, String> {
        self.kubectl("admin.conf", args)
    }

    /// A rendered manifest as kubectl's YAML decoder reads it (no server involved).
    pub fn parse(&self, file: &Path) -> Value {
        let out = self
            .ws_run(&[
                self.bin("kubectl"),
                "label".into(),
                "--local".into(),
                "-f".into(),
                s(file),
                "-o".into(),
                "json".into(),
                "kubeseed-e2e/parsed=yes".into(),
            ])
            .unwrap_or_else(|e| panic!("kubectl cannot parse {}: {e}", file.display()));
        serde_json::from_str(&out).expect("kubectl printed JSON")
    }

    /// The exact `command` of a controller's rendered static pod.
    pub fn pod_command(&self, out: &Path, controller: &str, pod: &str) -> Vec<String> {
        let file = out.join(format!(
            "nodes/{controller}/rootfs/etc/kubernetes/manifests/{pod}.yaml"
        ));
        let v = self.parse(&file);
        v["spec"]["containers"][0]["command"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no container command", file.display()))
            .iter()
            .map(|a| a.as_str().expect("string argument").to_string())
            .collect()
    }

    pub fn rootfs_etc(&self, out: &Path, controller: &str) -> PathBuf {
        out.join(format!("nodes/{controller}/rootfs/etc/kubernetes"))
    }

    /// Starts one static pod's process as the kubelet would: first every missing
    /// `DirectoryOrCreate` hostPath directory, made 0755 as the kubelet makes it.
    pub fn start(&mut self, controller: &str, pod: &'static str) {
        let file = self.out.join(format!(
            "nodes/{controller}/rootfs/etc/kubernetes/manifests/{pod}.yaml"
        ));
        let manifest = self.parse(&file);
        for v in manifest["spec"]["volumes"].as_array().into_iter().flatten() {
            if v["hostPath"]["type"] == "DirectoryOrCreate" {
                let path = v["hostPath"]["path"].as_str().expect("a hostPath path");
                let mkdir = format!("[ -d {path} ] || mkdir -m 0755 -p {path}");
                if let Err(e) = self.sh(controller, &mkdir) {
                    panic!("{controller}: {e}");
                }
            }
        }
        let argv = self.pod_command(&self.out.clone(), controller, pod);
        let id = self.lab.spawn(controller, pod, &argv);
        self.procs.insert((controller.to_string(), pod), id);
    }

    /// `/readyz` of one kube-apiserver, dialled at its own address.
    pub fn readyz(&self, address: &str) -> Result<String, String> {
        self.kubectl(
            "super-admin.conf",
            &[
                &format!("--server=https://{address}:6443"),
                "get",
                "--raw=/readyz",
            ],
        )
    }

    pub fn etcdctl(&self, client: &str, args: &[&str]) -> Result<String, String> {
        let pki = self.out.join("pki");
        let endpoints: Vec<String> = self
            .controllers
            .iter()
            .map(|(_, a)| format!("https://{a}:2379"))
            .collect();
        let mut argv = vec![
            self.bin("etcdctl"),
            format!("--endpoints={}", endpoints.join(",")),
            format!("--cacert={}", s(&pki.join("etcd/ca.crt"))),
            format!("--cert={}", s(&pki.join(format!("{client}.crt")))),
            format!("--key={}", s(&pki.join(format!("{client}.key")))),
            "--dial-timeout=5s".into(),
            "--command-timeout=10s".into(),
        ];
        argv.extend(args.iter().map(|a| a.to_string()));
        self.ws_run(&argv)
    }

    /// Renders the test spec with `line` added under the table `header` (or replacing the
    /// line of the same key) with the same seed into
    /// `out-<name>` beside the first output, and returns that directory.
    pub fn render_variant(&self, name: &str, header: &str, line: &str) -> PathBuf {
        let text = fs::read_to_string(&self.spec).expect("read the test spec");
        let header = format!("{header}\n");
        assert!(text.contains(&header), "the test spec has no {header}");
        let variant = self.scratch(&format!("{name}.toml"));
        // A key the test spec already writes is replaced where it stands.
        let key = line.split('=').next().unwrap_or_default().trim();
        let written = text
            .lines()
            .find(|l| l.split('=').next().unwrap_or_default().trim() == key);
        let edited = match written {
            Some(old) if !line.contains('\n') => text.replacen(old, line, 1),
            _ => text.replace(&header, &format!("{header}{line}\n")),
        };
        fs::write(&variant, edited).expect("write the variant spec");
        let out = self.scratch(&format!("out-{name}"));
        render(&variant, &out);
        out
    }

    pub fn scratch(&self, name: &str) -> PathBuf {
        self.ws.path().join(name)
    }

    pub fn fail_context(&self) -> String {
        self.lab.all_logs(15)
    }
}

pub fn render(spec_path: &Path, out: &Path) {
    crate::common::kubeseed(
        [
            "render".as_ref(),
            spec_path.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
        &[],
    )
    .success("kubeseed render");
}

pub fn wait(
    what: &str,
    secs: u64,
    mut probe: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match probe() {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(format!("{what}: not after {secs}s; last: {e}"))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

pub fn boot(bins: &Path, version: &str, n: usize) -> Cluster {
    let ws = tempfile::Builder::new()
        .prefix("kubeseed-e2e-ws-")
        .tempdir()
        .expect("workspace");
    let spec_path = ws.path().join("cluster.toml");
    fs::write(&spec_path, spec(version, n)).expect("write spec");
    fs::write(ws.path().join("seed"), format!("{SEED}\n")).expect("write seed");
    let out = ws.path().join("out");
    render(&spec_path, &out);

    let cps = controllers(n);
    let mut etc_hosts = String::from("127.0.0.1 localhost\n");
    for (name, address) in &cps {
        etc_hosts.push_str(&format!("{address} {API_NAME}\n{address} {name}\n"));
    }
    let mut hosts: Vec<(&str, u8)> = cps
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.as_str(), 10 + i as u8))
        .collect();
    hosts.push(("ws", 100));
    let mut lab = Lab::new(&hosts, &etc_hosts);
    lab.path = format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", s(bins));
    let mut c = Cluster {
        lab,
        bins: bins.to_path_buf(),
        ws,
        spec: spec_path,
        out,
        controllers: cps.clone(),
        procs: BTreeMap::new(),
        version: version.to_string(),
    };
    for (name, _) in &cps {
        let etc = c.rootfs_etc(&c.out, name);
        c.lab.bind(name, &etc, "/etc/kubernetes");
        // A fresh node has no /var/lib/etcd (this machine may: the lab's /var/lib is an
        // overlay of its own); the kubelet makes the hostPath directory 0755.
        let fresh = "mkdir -p /var/lib/etcd && mount -t tmpfs -o mode=0755 tmpfs /var/lib/etcd";
        if let Err(e) = c.sh(name, fresh) {
            panic!("{name}: {e}");
        }
    }
    for pod in PODS {
        for (name, _) in &cps {
            c.start(name, pod);
        }
    }
    for (name, address) in &cps {
        if let Err(e) = wait(&format!("{name} /readyz"), 240, || {
            c.readyz(address).map(|_| ())
        }) {
            panic!("{e}\n{}", c.fail_context());
        }
    }
    c
}

pub fn whoami(
    c: &Cluster,
    kubeconfig: &Path,
    extra: &[&str],
) -> Result<(String, Vec<String>), String> {
    let mut args = extra.to_vec();
    args.extend(["auth", "whoami", "-o", "json"]);
    let v: Value = serde_json::from_str(&c.kubectl_at(kubeconfig, &args)?)
        .map_err(|e| format!("whoami JSON: {e}"))?;
    let user = &v["status"]["userInfo"];
    let groups = user["groups"]
        .as_array()
        .map(|g| {
            g.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    Ok((
        user["username"].as_str().unwrap_or_default().to_string(),
        groups,
    ))
}

pub fn api_server(c: &Cluster) -> String {
    if c.controllers.len() == 1 {
        format!("https://{}:6443", c.controllers[0].1)
    } else {
        format!("https://{API_NAME}:6443")
    }
}

/// A raw HTTPS request to the API server from the workstation, with curl: the HTTP status
/// and the body. `client` is a PEM file with a client certificate and its key (`None`: no
/// credentials at all, which kubectl cannot do: it prompts for some); `patch` a method and
/// a JSON merge patch to send (`None`: a GET).
pub fn https(
    c: &Cluster,
    path: &str,
    client: Option<&Path>,
    patch: Option<(&str, &str)>,
) -> Result<(u16, String), String> {
    let body = c.scratch("https-body");
    let mut argv: Vec<String> = ["curl", "--silent", "--show-error", "--max-time", "20"]
        .map(String::from)
        .to_vec();
    argv.extend(["--cacert".into(), s(&c.out.join("pki/ca.crt"))]);
    if let Some(pem) = client {
        argv.extend(["--cert".into(), s(pem), "--key".into(), s(pem)]);
    }
    if let Some((method, data)) = patch {
        argv.extend([
            "--request".into(),
            method.into(),
            "--data".into(),
            data.into(),
        ]);
        argv.extend([
            "--header".into(),
            "Content-Type: application/merge-patch+json".into(),
        ]);
    }
    argv.extend([
        "--output".into(),
        s(&body),
        "--write-out".into(),
        "%{http_code}".into(),
    ]);
    argv.push(format!("{}{path}", api_server(c)));
    let code = c.ws_run(&argv)?;
    let code = code
        .trim()
        .parse()
        .map_err(|_| format!("curl printed {code:?}"))?;
    Ok((code, fs::read_to_string(&body).unwrap_or_default()))
}

/// A kubeconfig with the cluster's CA and server and no credentials (`--token` adds some).
pub fn anonymous_kubeconfig(c: &Cluster) -> PathBuf {
    let server = api_server(c);
    let conf = serde_json::json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": {
            "server": server,
            "certificate-authority": s(&c.out.join("pki/ca.crt"))}}],
        "users": [{"name": "nobody", "user": {}}],
        "contexts": [{"name": "anon", "context": {"cluster": "e2e", "user": "nobody"}}],
        "current-context": "anon",
    });
    let path = c.scratch("anonymous.conf");
    fs::write(&path, conf.to_string()).expect("write anonymous kubeconfig");
    path
}

pub fn join_info(c: &Cluster) -> Value {
    let seed = c.spec.with_file_name("seed");
    let run = crate::common::kubeseed(
        [
            "join".as_ref(),
            c.spec.as_os_str(),
            "--seed".as_ref(),
            seed.as_os_str(),
            "--output".as_ref(),
            "json".as_ref(),
        ],
        &[],
    )
    .success("kubeseed join");
    serde_json::from_str(&run.stdout).expect("join JSON")
}

/// The kubelet's TLS-bootstrap code on the workstation, as node `node`: it authenticates
/// with `bootstrap` and writes `<tag>.conf` and `<tag>-pki/` in the scratch directory. It
/// waits for the certificate (90 seconds at most) and exits 0 once it has it.
pub fn tls_bootstrap(c: &Cluster, bootstrap: &Path, tag: &str, node: &str) -> Command {
    c.lab.command(
        "ws",
        &[
            c.bin("tls-bootstrap"),
            s(bootstrap),
            s(&c.scratch(&format!("{tag}.conf"))),
            s(&c.scratch(&format!("{tag}-pki"))),
            node.to_string(),
        ],
    )
}

pub fn openssl_ws(c: &Cluster, args: &[&str]) -> Result<String, String> {
    let mut argv = vec![s(&crate::common::openssl())];
    argv.extend(args.iter().map(|a| a.to_string()));
    c.ws_run(&argv)
}

/// CSRs whose requestor is `user`, as (name, approved-reason or "").
pub fn csrs_of(c: &Cluster, user: &str) -> Result<Vec<(String, String)>, String> {
    let v: Value = serde_json::from_str(&c.admin(&["get", "csr", "-o", "json"])?)
        .map_err(|e| format!("csr JSON: {e}"))?;
    Ok(v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["spec"]["username"] == user)
        .map(|i| {
            let reason = i["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|k| k["type"] == "Approved")
                .map(|k| k["reason"].as_str().unwrap_or("Approved").to_string())
                .unwrap_or_default();
            (
                i["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                reason,
            )
        })
        .collect())
}

pub fn fingerprint_served(c: &Cluster, address: &str) -> Result<String, String> {
    let script = format!(
        "{o} s_client -connect {address}:6443 </dev/null 2>/dev/null | {o} x509 -noout -fingerprint -sha256",
        o = s(&crate::common::openssl())
    );
    c.ws_run(&["sh".into(), "-c".into(), script])
}

pub fn fingerprint_file(c: &Cluster, file: &Path) -> Result<String, String> {
    openssl_ws(
        c,
        &["x509", "-in", &s(file), "-noout", "-fingerprint", "-sha256"],
    )
}
