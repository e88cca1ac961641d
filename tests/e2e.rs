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

mod common;
#[path = "e2e/lab.rs"]
mod lab;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use lab::{Lab, ProcId};

const SEED: &str = "e2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2ee2e0";
const PODS: [&str; 4] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
];
const API_NAME: &str = "api.e2e.test";
/// `security.kubelet_signing_duration` of the test spec: not a default, so a certificate
/// valid for it proves the flag reached the signer.
const SIGNING_HOURS: u64 = 2;

// ---------------------------------------------------------------------------------------
// The releases and their binaries

/// `(kubernetes, etcd)` per line of tests/e2e/versions, oldest first.
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
// The spec

fn controllers(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            (
                format!("cp-{i}"),
                format!("{}.{}", lab::SUBNET_PREFIX, 10 + i),
            )
        })
        .collect()
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("format time")
}

/// The test spec: `n` controllers; with one, `api_server` is its address (kube-apiserver
/// listens on the URL's port), with three a name every host resolves to all of them (the
/// load-balancer case). Certificates start an hour ago so they are valid now.
fn spec(version: &str, n: usize, security: &str, generations: &str) -> String {
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
    let mut s = format!(
        "version = 1\n[cluster]\nname = \"e2e\"\napi_server = \"{api}\"\n\
         kubernetes_version = \"v{version}\"\n"
    );
    for (name, address) in controllers(n) {
        s.push_str(&format!(
            "[[controllers]]\nname = \"{name}\"\naddress = \"{address}\"\n"
        ));
    }
    s.push_str(&format!(
        "[pki]\nnot_before = \"{}\"\n[pki.generations]\n{generations}\n\
         [bootstrap_token]\nexpires = \"{}\"\n\
         [security]\nkubelet_signing_duration = \"{SIGNING_HOURS}h\"\n{security}\n\
         [[node_pools]]\nname = \"workers\"\n",
        rfc3339(not_before),
        rfc3339(expires)
    ));
    s
}

// ---------------------------------------------------------------------------------------
// The cluster

struct Cluster {
    lab: Lab,
    bins: PathBuf,
    ws: tempfile::TempDir,
    /// The spec and seed (`cluster.toml`, `seed`) and the render (`out/`).
    spec: PathBuf,
    out: PathBuf,
    controllers: Vec<(String, String)>,
    /// Per controller, the processes of its four static pods.
    procs: BTreeMap<(String, &'static str), ProcId>,
    version: String,
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

impl Cluster {
    fn bin(&self, name: &str) -> String {
        s(&self.bins.join(name))
    }

    /// Runs a client command on the workstation host; Ok(stdout) on exit 0, else
    /// Err(what the tool said).
    fn ws_run(&self, argv: &[String]) -> Result<String, String> {
        let out = self.lab.run("ws", argv);
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

    fn kubectl_at(&self, kubeconfig: &Path, args: &[&str]) -> Result<String, String> {
        let mut argv = vec![
            self.bin("kubectl"),
            format!("--kubeconfig={}", s(kubeconfig)),
            "--request-timeout=30s".into(),
        ];
        argv.extend(args.iter().map(|a| a.to_string()));
        self.ws_run(&argv)
    }

    /// kubectl with one of the rendered kubeconfigs, `kubeconfig/<name>`.
    fn kubectl(&self, name: &str, args: &[&str]) -> Result<String, String> {
        self.kubectl_at(&self.out.join("kubeconfig").join(name), args)
    }

    fn admin(&self, args: &[&str]) -> Result<String, String> {
        self.kubectl("admin.conf", args)
    }

    /// A rendered manifest as kubectl's YAML decoder reads it (no server involved).
    fn parse(&self, file: &Path) -> Value {
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
    fn pod_command(&self, out: &Path, controller: &str, pod: &str) -> Vec<String> {
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

    fn rootfs_etc(&self, out: &Path, controller: &str) -> PathBuf {
        out.join(format!("nodes/{controller}/rootfs/etc/kubernetes"))
    }

    fn start(&mut self, controller: &str, pod: &'static str) {
        let argv = self.pod_command(&self.out.clone(), controller, pod);
        let id = self.lab.spawn(controller, pod, &argv);
        self.procs.insert((controller.to_string(), pod), id);
    }

    /// `/readyz` of one kube-apiserver, dialled at its own address.
    fn readyz(&self, address: &str) -> Result<String, String> {
        self.kubectl(
            "super-admin.conf",
            &[
                &format!("--server=https://{address}:6443"),
                "get",
                "--raw=/readyz",
            ],
        )
    }

    fn etcdctl(&self, client: &str, args: &[&str]) -> Result<String, String> {
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

    fn scratch(&self, name: &str) -> PathBuf {
        self.ws.path().join(name)
    }

    fn fail_context(&self) -> String {
        self.lab.all_logs(15)
    }
}

fn render(spec_path: &Path, out: &Path) {
    common::kubeseed(
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

fn wait(
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

fn boot(bins: &Path, version: &str, n: usize) -> Cluster {
    let ws = tempfile::Builder::new()
        .prefix("kubeseed-e2e-ws-")
        .tempdir()
        .expect("workspace");
    let spec_path = ws.path().join("cluster.toml");
    fs::write(&spec_path, spec(version, n, "", "")).expect("write spec");
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

fn whoami(c: &Cluster, kubeconfig: &Path, extra: &[&str]) -> Result<(String, Vec<String>), String> {
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
        (false, Err(e)) if e.contains("no") => Ok(()),
        (want, got) => Err(format!(
            "{conf}: can-i '*' '*' = {got:?}, want all rights = {want}"
        )),
    }
}

fn api_server(c: &Cluster) -> String {
    if c.controllers.len() == 1 {
        format!("https://{}:6443", c.controllers[0].1)
    } else {
        format!("https://{API_NAME}:6443")
    }
}

/// An anonymous GET (no credentials at all; kubectl would prompt for some): the HTTP status
/// and the body.
fn anonymous_get(c: &Cluster, path: &str) -> Result<(u16, String), String> {
    let body = c.scratch("anonymous-body");
    let code = c.ws_run(&[
        "curl".into(),
        "--silent".into(),
        "--show-error".into(),
        "--max-time".into(),
        "20".into(),
        "--cacert".into(),
        s(&c.out.join("pki/ca.crt")),
        "--output".into(),
        s(&body),
        "--write-out".into(),
        "%{http_code}".into(),
        format!("{}{path}", api_server(c)),
    ])?;
    let code = code
        .trim()
        .parse()
        .map_err(|_| format!("curl printed {code:?}"))?;
    Ok((code, fs::read_to_string(&body).unwrap_or_default()))
}

/// A request with the client certificate the TLS bootstrap got for node `e2e-node-a`:
/// the HTTP status and the body.
fn node_request(
    c: &Cluster,
    method: &str,
    path: &str,
    merge_patch: &str,
) -> Result<(u16, String), String> {
    let body = c.scratch("node-body");
    let pem = s(&c.scratch("kubelet-pki/kubelet-client-current.pem"));
    let code = c.ws_run(&[
        "curl".into(),
        "--silent".into(),
        "--show-error".into(),
        "--max-time".into(),
        "20".into(),
        "--cacert".into(),
        s(&c.out.join("pki/ca.crt")),
        "--cert".into(),
        pem.clone(),
        "--key".into(),
        pem,
        "--request".into(),
        method.into(),
        "--header".into(),
        "Content-Type: application/merge-patch+json".into(),
        "--data".into(),
        merge_patch.into(),
        "--output".into(),
        s(&body),
        "--write-out".into(),
        "%{http_code}".into(),
        format!("{}{path}", api_server(c)),
    ])?;
    let code = code
        .trim()
        .parse()
        .map_err(|_| format!("curl printed {code:?}"))?;
    Ok((code, fs::read_to_string(&body).unwrap_or_default()))
}

/// A kubeconfig with the cluster's CA and server and no credentials (`--token` adds some).
fn anonymous_kubeconfig(c: &Cluster) -> PathBuf {
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

fn join_info(c: &Cluster) -> Value {
    let seed = c.spec.with_file_name("seed");
    let run = common::kubeseed(
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

/// Runs the kubelet's TLS-bootstrap code on the workstation as node `node`.
fn tls_bootstrap(c: &Cluster, bootstrap: &Path, tag: &str, node: &str, timeout: &str) -> Output {
    let mut cmd = c.lab.command(
        "ws",
        &[
            c.bin("tls-bootstrap"),
            s(bootstrap),
            s(&c.scratch(&format!("{tag}.conf"))),
            s(&c.scratch(&format!("{tag}-pki"))),
            node.to_string(),
        ],
    );
    cmd.env("TLS_BOOTSTRAP_TIMEOUT", timeout);
    cmd.output().expect("run tls-bootstrap")
}

fn openssl_ws(c: &Cluster, args: &[&str]) -> Result<String, String> {
    let mut argv = vec![s(&common::openssl())];
    argv.extend(args.iter().map(|a| a.to_string()));
    c.ws_run(&argv)
}

/// CSRs whose requestor is `user`, as (name, approved-reason or "").
fn csrs_of(c: &Cluster, user: &str) -> Result<Vec<(String, String)>, String> {
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
    let n = c.controllers.len();
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
            let names: Vec<&str> = v["members"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["name"].as_str())
                .collect();
            expect(names.len() == n, || format!("members {names:?}, want {n}"))
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
        "the rendered manifests apply with server-side validation",
        || {
            c.kubectl(
                "super-admin.conf",
                &[
                    "apply",
                    "--validate=strict",
                    "-f",
                    &s(&c.out.join("manifests")),
                ],
            )
            .map(|_| ())
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
        let (code, body) = anonymous_get(c, "/readyz")?;
        expect(code == 200 && body == "ok", || {
            format!("/readyz: {code} {body:?}")
        })?;
        let path = "/api/v1/namespaces/kube-public/configmaps/cluster-info";
        let (code, body) = anonymous_get(c, path)?;
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
            let (code, body) = anonymous_get(c, path)?;
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
                "90s",
            );
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
            let hours = SIGNING_HOURS * 3600;
            // Valid for kubelet_signing_duration from now (give or take 10 minutes), not a year.
            openssl_ws(
                c,
                &[
                    "x509",
                    "-in",
                    &pem,
                    "-noout",
                    "-checkend",
                    &(hours - 600).to_string(),
                ],
            )
            .map_err(|e| format!("expires too soon: {e}"))?;
            refused(
                openssl_ws(
                    c,
                    &[
                        "x509",
                        "-in",
                        &pem,
                        "-noout",
                        "-checkend",
                        &(hours + 600).to_string(),
                    ],
                ),
                "will expire",
            )?;
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
            let (code, body) = node_request(
                c,
                "PATCH",
                &format!("/api/v1/nodes/{other}"),
                r#"{"metadata":{"labels":{"e2e":"tampered"}}}"#,
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
    k.run("the node may not read kube-system Secrets", || {
        refused(
            c.kubectl_at(&node_conf, &["get", "secrets", "-n", "kube-system"]),
            "cannot list resource \"secrets\"",
        )
    });
    k.run(
        "a renewal CSR from the node identity is auto-approved",
        || {
            let out = tls_bootstrap(c, &node_conf, "renewed", node, "90s");
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

    k.run("an unknown flag makes kube-apiserver exit", || {
        unknown_flag(c)
    });

    k.run(
        "a re-keyed apiserver cert is served after restart; old kubeconfigs still work",
        || rekey_apiserver(c),
    );
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
    let manual_spec = c.scratch("manual.toml");
    let text = fs::read_to_string(&c.spec).map_err(|e| e.to_string())?;
    fs::write(
        &manual_spec,
        text.replace(
            "[security]\n",
            "[security]\nauto_approve_node_csrs = false\n",
        ),
    )
    .map_err(|e| e.to_string())?;
    let manual_out = c.scratch("out-manual");
    render(&manual_spec, &manual_out);
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
    let mut cmd = c.lab.command(
        "ws",
        &[
            c.bin("tls-bootstrap"),
            s(&c.out.join("kubeconfig/bootstrap-kubelet.conf")),
            s(&c.scratch("manual.conf")),
            s(&c.scratch("manual-pki")),
            node.to_string(),
        ],
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

fn kubeadm_join(c: &Cluster, token: &Value, right_pin: bool) -> Result<(), String> {
    let pin = if right_pin {
        token["discovery_token_ca_cert_hash"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    } else {
        format!("sha256:{}", "0".repeat(64))
    };
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
    let said = text(&out);
    if right_pin {
        expect(out.status.success(), || {
            format!("kubeadm join --dry-run failed:\n{said}")
        })?;
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
        Ok(())
    } else {
        expect(
            !out.status.success() && said.contains("none of the public keys"),
            || format!("kubeadm with a wrong pin:\n{said}"),
        )
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

fn fingerprint_served(c: &Cluster, address: &str) -> Result<String, String> {
    let script = format!(
        "{o} s_client -connect {address}:6443 </dev/null 2>/dev/null | {o} x509 -noout -fingerprint -sha256",
        o = s(&common::openssl())
    );
    c.ws_run(&["sh".into(), "-c".into(), script])
}

fn fingerprint_file(c: &Cluster, file: &Path) -> Result<String, String> {
    openssl_ws(
        c,
        &["x509", "-in", &s(file), "-noout", "-fingerprint", "-sha256"],
    )
}

/// `[pki.generations] apiserver = 2`, rendered beside the first output: only kube-apiserver
/// restarts (same flags), on files from the new render, and serves the new certificate;
/// admin.conf from the first render still works, since the CA did not change.
fn rekey_apiserver(c: &mut Cluster) -> Result<(), String> {
    let (cp, address) = c.controllers[0].clone();
    let spec2 = c.scratch("gen2.toml");
    let text = fs::read_to_string(&c.spec).map_err(|e| e.to_string())?;
    fs::write(
        &spec2,
        text.replace("[pki.generations]\n", "[pki.generations]\napiserver = 2\n"),
    )
    .map_err(|e| e.to_string())?;
    let out2 = c.scratch("out-gen2");
    render(&spec2, &out2);
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
