//! kube-bench, the CIS Kubernetes Benchmark's own checker, run for real on the e2e cluster:
//! the `master`, `controlplane` and `etcd` targets on the controller host (which sees
//! the rendered `/etc/kubernetes` and, the lab having no PID namespace, the component
//! processes through `ps`), the `node` target on a host of its own that runs the real
//! kubelet from the `workers` bundle of the same render, while it waits for a container
//! runtime that never answers.
//!
//! kube-bench and its benchmarks (the module's `cfg/`) are built by `scripts/k8s-bins` into
//! `$KUBESEED_TEST_CACHE/kube-bench/<KUBE_BENCH>/`. Its configuration is kube-bench's own,
//! with `tests/e2e/kube-bench/config.yaml` merged over it: only the locations where a
//! kubeseed node differs from kubeadm's.
//!
//! `tests/e2e/kube-bench/expected-<variant>.txt` lists the checks that PASS for a
//! spec variant; the check fails when one of them no longer passes. After an intended
//! change: `KUBESEED_BLESS=1` rewrites the list from the run. Every run prints a markdown
//! table per target (id, text, result) and the scored checks that fail, with kube-bench's
//! reason.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cluster::{s, text, wait, Cluster};
use crate::expect;
use crate::lab::ProcId;

/// Checks whose result in the lab says nothing about kubeseed, with why: printed with that
/// note and kept out of the expected lists. kube-proxy, a DaemonSet, does not run on the
/// node host (kube-bench fails 4.3.1 when it finds no kube-proxy process). (etcd's data
/// directory is judged: every controller gets a fresh /var/lib/etcd, tests/e2e/cluster.rs.)
const NOT_JUDGED: [(&str, &str, &str); 1] = [(
    "node",
    "4.3.1",
    "no kube-proxy process on the lab's node host",
)];

fn not_judged(k: &Check) -> Option<&'static str> {
    NOT_JUDGED
        .iter()
        .find(|(t, id, _)| *t == k.target && *id == k.id)
        .map(|(_, _, why)| *why)
}

/// One check's result, as kube-bench's JSON gives it.
#[derive(Clone, Debug)]
pub struct Check {
    /// kube-bench's `node_type`: master, controlplane, etcd, node.
    pub target: String,
    pub id: String,
    pub text: String,
    /// PASS, FAIL, WARN or INFO.
    pub status: String,
    pub scored: bool,
    /// kube-bench's reason (when its audit could not run), else what it expected and found.
    pub reason: String,
    /// What the audit printed (a component's whole command line, for a flag).
    pub actual: String,
}

/// The kube-bench release `scripts/k8s-bins` builds (its `KUBE_BENCH=` line).
fn release() -> Result<String, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/k8s-bins");
    let text = fs::read_to_string(&script).map_err(|e| format!("{}: {e}", script.display()))?;
    text.lines()
        .find_map(|l| l.strip_prefix("KUBE_BENCH="))
        .map(|v| v.trim().to_string())
        .ok_or_else(|| format!("no KUBE_BENCH= in {}", script.display()))
}

/// The benchmark kube-bench's `version_mapping` gives Kubernetes `version`; past the
/// newest minor it maps, that minor's benchmark (said aloud).
fn benchmark(cfg: &Path, version: &str) -> Result<String, String> {
    let minor =
        |v: &str| -> Option<u32> { v.trim_start_matches('v').split('.').nth(1)?.parse().ok() };
    let want = minor(version).ok_or_else(|| format!("version {version}"))?;
    let config = fs::read_to_string(cfg.join("config.yaml")).map_err(|e| e.to_string())?;
    let mut mapped: Vec<(u32, String)> = config
        .lines()
        .skip_while(|l| *l != "version_mapping:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(": ")?;
            let (k, v) = (k.trim_matches('"'), v.trim_matches('"'));
            (k.starts_with("1.") && v.starts_with("cis-"))
                .then(|| Some((minor(k)?, v.to_string())))?
        })
        .collect();
    mapped.sort();
    if let Some((_, b)) = mapped.iter().find(|(m, _)| *m == want) {
        return Ok(b.clone());
    }
    match mapped.last() {
        Some((newest, b)) if want > *newest => {
            eprintln!(
                "kube-bench maps no benchmark to 1.{want}; using the newest it has, {b} (its mapping for 1.{newest})"
            );
            Ok(b.clone())
        }
        _ => Err(format!(
            "kube-bench maps no benchmark to 1.{want}: {mapped:?}"
        )),
    }
}

/// A config dir for `--config-dir`: the benchmark's own control files, with the overlay as
/// the benchmark's `config.yaml` (which kube-bench merges over `--config`). The stock one
/// must hold no setting, or the overlay would hide it.
fn config_dir(c: &Cluster, cfg: &Path, bench: &str, overlay: bool) -> Result<PathBuf, String> {
    let stock = cfg.join(bench);
    let dir = c.scratch(&format!("kube-bench-cfg-{overlay}")).join(bench);
    if dir.exists() {
        return Ok(dir.parent().unwrap_or(&dir).to_path_buf());
    }
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for entry in fs::read_dir(&stock).map_err(|e| format!("{}: {e}", stock.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.file_name() == "config.yaml" {
            let own = fs::read_to_string(entry.path()).map_err(|e| e.to_string())?;
            let settings: Vec<&str> = own
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && *l != "---")
                .collect();
            expect(settings.is_empty() || !overlay, || {
                format!("{bench}/config.yaml has settings the overlay would hide: {settings:?}")
            })?;
            if overlay {
                let ours =
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/kube-bench/config.yaml");
                fs::copy(&ours, dir.join("config.yaml"))
                    .map_err(|e| format!("{}: {e}", ours.display()))?;
                continue;
            }
        }
        std::os::unix::fs::symlink(entry.path(), dir.join(entry.file_name()))
            .map_err(|e| e.to_string())?;
    }
    Ok(dir.parent().unwrap_or(&dir).to_path_buf())
}

/// kube-bench's JSON: one [`Check`] per result of every target.
pub fn parse(json: &str) -> Result<Vec<Check>, String> {
    let v: Value =
        serde_json::from_str(json).map_err(|e| format!("kube-bench's JSON: {e}: {json}"))?;
    let controls = v["Controls"]
        .as_array()
        .ok_or_else(|| format!("no Controls in {json}"))?;
    let str_of = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut checks = Vec::new();
    for control in controls {
        let target = str_of(&control["node_type"]);
        for section in control["tests"].as_array().into_iter().flatten() {
            for r in section["results"].as_array().into_iter().flatten() {
                let actual = str_of(&r["actual_value"]).trim().to_string();
                let mut reason = str_of(&r["reason"]).trim().to_string();
                if reason.is_empty() {
                    let mut shown: String = actual.chars().take(120).collect();
                    if shown.len() < actual.len() {
                        shown.push_str("...");
                    }
                    reason = format!(
                        "expected {}; found {shown:?}",
                        str_of(&r["expected_result"])
                    );
                }
                checks.push(Check {
                    target: target.clone(),
                    id: str_of(&r["test_number"]),
                    text: str_of(&r["test_desc"]),
                    status: str_of(&r["status"]),
                    scored: r["scored"].as_bool().unwrap_or(false),
                    reason,
                    actual,
                });
            }
        }
    }
    Ok(checks)
}

struct Bench {
    bin: String,
    /// The stock `--config` (kube-bench's cfg/config.yaml).
    config: PathBuf,
    /// `--config-dir` with the overlay, and without.
    dir: PathBuf,
    stock_dir: PathBuf,
    benchmark: String,
}

impl Bench {
    /// Runs kube-bench on `host` for `targets` (`extra`: e.g. `--check=4.1.2`), with the
    /// overlay or kube-bench's configuration as it ships.
    fn run(
        &self,
        c: &Cluster,
        host: &str,
        targets: &str,
        extra: &[&str],
        overlay: bool,
    ) -> Result<Vec<Check>, String> {
        let dir = if overlay { &self.dir } else { &self.stock_dir };
        let mut argv = vec![
            self.bin.clone(),
            "run".into(),
            format!("--targets={targets}"),
            format!("--benchmark={}", self.benchmark),
            format!("--config={}", s(&self.config)),
            format!("--config-dir={}", s(dir)),
            "--json".into(),
        ];
        argv.extend(extra.iter().map(|a| a.to_string()));
        let out = c.lab.run(host, &argv);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !stdout.trim_start().starts_with('{') {
            return Err(format!(
                "kube-bench on {host} ({}): {}",
                out.status,
                text(&out).trim()
            ));
        }
        parse(&stdout)
    }
}

/// The running processes named `names` on `host`, as `ps` there lists them.
fn ps(c: &Cluster, host: &str, names: &[&str]) -> Result<Vec<String>, String> {
    let out = c.lab.run(
        host,
        &[
            "ps".into(),
            "-C".into(),
            names.join(","),
            "-o".into(),
            "comm=".into(),
        ],
    );
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .collect())
}

/// The kubelet of `out`'s `workers` bundle, started on a new host from its drop-ins with
/// writable copies of its files at their on-host paths, once it has its client certificate
/// (`/etc/kubernetes/kubelet.conf`, which the node target reads); and the silent runtime
/// socket that keeps it waiting.
fn start_kubelet(
    c: &mut Cluster,
    host: &str,
    octet: u8,
    out: &Path,
) -> Result<(ProcId, ProcId, PathBuf), String> {
    c.lab.add_host(host, octet);
    let rootfs = out.join("nodes/workers/rootfs");
    let node = c.scratch(host);
    for dir in [
        "etc/kubernetes",
        "var/lib/kubelet",
        "etc/systemd/system/kubelet.service.d",
    ] {
        crate::kubelet::copy_tree(&rootfs.join(dir), &node.join(dir))?;
        let made = c
            .lab
            .run(host, &["mkdir".into(), "-p".into(), format!("/{dir}")]);
        expect(made.status.success(), || text(&made))?;
        c.lab.bind(host, &node.join(dir), &format!("/{dir}"));
    }
    let argv = crate::kubelet::exec_start(&rootfs.join("etc/systemd/system/kubelet.service.d"))?;
    let argv = crate::kubelet::kubelet_command(c, &argv, host)?;
    let silent = crate::kubelet::silent_runtime(c, host);
    let id = c.lab.spawn(host, "kubelet", &argv);
    let conf = node.join("etc/kubernetes/kubelet.conf");
    let started = wait("the kubelet's kubelet.conf", 90, || {
        if conf.exists() {
            return Ok(());
        }
        match c.lab.exited(id) {
            Some(st) => Err(format!("the kubelet exited ({st})")),
            None => Err("no kubelet.conf yet".into()),
        }
    });
    if let Err(e) = started {
        let log = c.lab.log_tail(id, 30);
        c.lab.kill(id);
        c.lab.kill(silent);
        return Err(format!("{e}\n{log}"));
    }
    Ok((id, silent, node))
}

/// Runs kube-bench on the cluster as rendered into `out` (the render the controllers run
/// from, e.g. `c.out`), and judges it against `tests/e2e/kube-bench/expected-<variant>.txt`.
///
/// Only on a cluster of one controller: the lab's hosts share the machine's PID namespace,
/// so with more, `ps` on one controller lists every controller's components, which no real
/// node does (kube-bench's 1.2.28 then reads three `--encryption-provider-config` paths
/// at once and cannot judge them).
pub fn check(c: &mut Cluster, variant: &str, out: &Path) -> Result<(), String> {
    if c.controllers.len() > 1 {
        eprintln!("SKIP kube-bench with {} controllers: it runs on a cluster of one (every controller's processes are visible to ps on each lab host)", c.controllers.len());
        return Ok(());
    }
    let release = release()?;
    let home = crate::cache().join("kube-bench").join(&release);
    if !home.join(".stamp").is_file() {
        let why = format!(
            "no kube-bench v{release} in {} (`scripts/k8s-bins` builds it)",
            home.display()
        );
        if std::env::var("CI").as_deref() == Ok("true") {
            return Err(why);
        }
        eprintln!("SKIP kube-bench: {why}");
        return Ok(());
    }
    let cfg = home.join("cfg");
    let benchmark = benchmark(&cfg, &c.version)?;
    let bench = Bench {
        bin: s(&home.join("bin/kube-bench")),
        config: cfg.join("config.yaml"),
        dir: config_dir(c, &cfg, &benchmark, true)?,
        stock_dir: config_dir(c, &cfg, &benchmark, false)?,
        benchmark: benchmark.clone(),
    };

    // The control plane: kube-bench finds each component by its process (`ps -C`).
    let cp = c.controllers[0].0.clone();
    let running = ps(
        c,
        &cp,
        &[
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
        ],
    )?;
    for name in [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        // `comm` is the first 15 bytes of the name (kube-bench's own list has
        // "kube-controller" for that reason).
        let seen = running
            .iter()
            .filter(|p| name.starts_with(p.as_str()))
            .count();
        expect(seen == 1, || {
            format!("ps on {cp} lists {seen} {name} process(es), want 1: {running:?}")
        })?;
    }
    // ...started from `out`, or the results would judge another render.
    let want = c.pod_command(out, &cp, "kube-apiserver").join(" ");
    let args = c.lab.run(
        &cp,
        &[
            "ps".into(),
            "-C".into(),
            "kube-apiserver".into(),
            "-o".into(),
            "args=".into(),
        ],
    );
    expect(
        String::from_utf8_lossy(&args.stdout)
            .lines()
            .any(|l| l.trim() == want),
        || format!("no kube-apiserver on {cp} runs as {out:?} renders it: {want}"),
    )?;
    let mut checks = bench.run(c, &cp, "master,controlplane,etcd", &[], true)?;
    // Control: the master checks judge the rendered files; a spoiled mode fails 1.1.1.
    let manifest = c.rootfs_etc(out, &cp).join("manifests/kube-apiserver.yaml");
    let mode = fs::metadata(&manifest)
        .map_err(|e| e.to_string())?
        .permissions();
    fs::set_permissions(&manifest, fs::Permissions::from_mode(0o644)).map_err(|e| e.to_string())?;
    let spoiled_master = bench.run(c, &cp, "master", &["--check=1.1.1"], true);
    fs::set_permissions(&manifest, mode).map_err(|e| e.to_string())?;
    let spoiled_master = spoiled_master?
        .into_iter()
        .find(|k| k.id == "1.1.1")
        .ok_or("no 1.1.1 in the spoiled run")?;

    // The node: a kubelet of our own, on a host of its own.
    let host = format!("kb-{variant}");
    let octet = 70
        + c.lab
            .hosts
            .iter()
            .filter(|h| h.name.starts_with("kb-"))
            .count() as u8;
    let (kubelet, silent, node) = start_kubelet(c, &host, octet, out)?;
    let node_result = (|| {
        let kubelets = ps(c, &host, &["kubelet"])?;
        expect(kubelets.len() == 1, || {
            format!("ps on {host} lists {} kubelets", kubelets.len())
        })?;
        let node_checks = bench.run(c, &host, "node", &[], true)?;
        // Controls: kube-bench as it ships looks for kubeadm's drop-in, and 4.1.2 (its
        // owner) accepts "File not found"; with the overlay it reads ours, and a spoiled
        // owner of ours fails it.
        let one = |checks: Vec<Check>| {
            checks
                .into_iter()
                .find(|k| k.id == "4.1.2")
                .ok_or("no 4.1.2")
        };
        let stock = one(bench.run(c, &host, "node", &["--check=4.1.2"], false)?)?;
        let dropin = node.join("etc/systemd/system/kubelet.service.d/10-kubeseed.conf");
        std::os::unix::fs::chown(&dropin, Some(65534), Some(65534)).map_err(|e| e.to_string())?;
        let spoiled = bench.run(c, &host, "node", &["--check=4.1.2"], true);
        std::os::unix::fs::chown(&dropin, Some(0), Some(0)).map_err(|e| e.to_string())?;
        let spoiled = one(spoiled?)?;
        // Every node check ran while the kubelet was up.
        expect(c.lab.exited(kubelet).is_none(), || {
            format!(
                "the kubelet stopped before kube-bench was done:\n{}",
                c.lab.log_tail(kubelet, 20)
            )
        })?;
        Ok::<_, String>((node_checks, stock, spoiled))
    })();
    c.lab.kill(kubelet);
    c.lab.kill(silent);
    let _ = c.admin(&["delete", "node", &host, "--ignore-not-found"]);
    let (node_checks, stock, spoiled) = node_result?;
    checks.extend(node_checks);

    eprintln!("{}", report(&release, &benchmark, variant, &checks));
    let master_ok = checks.iter().any(|k| k.id == "1.1.1" && k.status == "PASS");
    expect(master_ok && spoiled_master.status == "FAIL", || {
        format!(
            "1.1.1 (kube-apiserver.yaml's mode) did not pass as rendered and fail at 0644: {}",
            spoiled_master.reason
        )
    })?;
    let ours = checks
        .iter()
        .find(|k| k.id == "4.1.2" && k.target == "node")
        .ok_or("no 4.1.2 in the node's results")?;
    expect(
        ours.status == "PASS"
            && ours.actual == "root:root"
            && stock.actual == "File not found"
            && spoiled.status == "FAIL",
        || {
            format!(
                "4.1.2 (the kubelet drop-in's owner): with the overlay {} ({}), without it {} ({}), with the drop-in chowned to nobody {} ({})",
                ours.status, ours.reason, stock.status, stock.reason, spoiled.status, spoiled.reason
            )
        },
    )?;
    for target in ["master", "controlplane", "etcd", "node"] {
        let count = |st: &str| {
            checks
                .iter()
                .filter(|k| k.target == target && k.status == st)
                .count()
        };
        expect(count("PASS") + count("FAIL") + count("WARN") > 0, || {
            format!("kube-bench reported nothing for {target}")
        })?;
    }
    let scored = |st: &str| checks.iter().filter(|k| k.scored && k.status == st).count();
    expect(scored("PASS") > 0 && scored("FAIL") > 0, || {
        format!(
            "{} scored PASS and {} FAIL: the judge cannot be judged",
            scored("PASS"),
            scored("FAIL")
        )
    })?;
    regression(variant, &benchmark, &release, &checks)
}

/// Compares the PASSes with `expected-<variant>.txt` (or writes it, with
/// `KUBESEED_BLESS`).
fn regression(
    variant: &str,
    benchmark: &str,
    release: &str,
    checks: &[Check],
) -> Result<(), String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/e2e/kube-bench/expected-{variant}.txt"));
    let passing: Vec<String> = checks
        .iter()
        .filter(|k| k.status == "PASS" && not_judged(k).is_none())
        .map(|k| format!("{} {}", k.target, k.id))
        .collect();
    if std::env::var_os("KUBESEED_BLESS").is_some() {
        let mut text = format!(
            "# The CIS checks (kube-bench v{release}) that PASS on the e2e cluster rendered\n\
             # from the `{variant}` spec variant: the e2e fails when one no longer passes.\n\
             # `KUBESEED_BLESS=1` rewrites this file from a run (tests/e2e/kube_bench.rs).\n\
             # <target> <check id>, scored or not (kube-bench judges a Manual check it can\n\
             # audit, too); NOT_JUDGED in kube_bench.rs (they judge the lab) are left out.\n\
             benchmark {benchmark}\n"
        );
        for p in &passing {
            text.push_str(p);
            text.push('\n');
        }
        fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("KUBESEED_BLESS: wrote {}", path.display());
        return Ok(());
    }
    let want = fs::read_to_string(&path).map_err(|e| {
        format!(
            "{}: {e} (KUBESEED_BLESS=1 writes it from a run)",
            path.display()
        )
    })?;
    let mut lines = want
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    let pinned = lines
        .next()
        .and_then(|l| l.strip_prefix("benchmark "))
        .unwrap_or_default();
    expect(pinned == benchmark, || {
        format!(
            "{} pins benchmark {pinned:?}, this run used {benchmark}: re-bless it",
            path.display()
        )
    })?;
    let mut lost = Vec::new();
    let expected: Vec<&str> = lines.collect();
    for line in &expected {
        let (target, id) = line.split_once(' ').unwrap_or((line, ""));
        match checks.iter().find(|k| k.target == target && k.id == id) {
            Some(k) if k.status == "PASS" => {}
            Some(k) => lost.push(format!(
                "{target} {id} {}: {} ({})",
                k.text, k.status, k.reason
            )),
            None => lost.push(format!("{target} {id}: kube-bench did not run it")),
        }
    }
    let new: Vec<&String> = passing
        .iter()
        .filter(|p| !expected.contains(&p.as_str()))
        .collect();
    if !new.is_empty() {
        eprintln!(
            "kube-bench: checks that now PASS but are not in {}: {new:?}",
            path.display()
        );
    }
    expect(lost.is_empty(), || {
        format!(
            "CIS checks that no longer pass ({}):\n{}",
            path.display(),
            lost.join("\n")
        )
    })
}

/// The results as markdown, one table per target, then the scored FAILs with kube-bench's
/// reason.
fn report(release: &str, benchmark: &str, variant: &str, checks: &[Check]) -> String {
    let mut md = format!("kube-bench v{release}, benchmark {benchmark}, spec variant {variant}:\n");
    for target in ["master", "controlplane", "etcd", "node"] {
        let of: Vec<&Check> = checks.iter().filter(|k| k.target == target).collect();
        let count = |st: &str| of.iter().filter(|k| k.status == st).count();
        md.push_str(&format!(
            "\n#### {target}: {} PASS, {} FAIL, {} WARN, {} INFO\n\n| id | check | result |\n|---|---|---|\n",
            count("PASS"),
            count("FAIL"),
            count("WARN"),
            count("INFO")
        ));
        for k in of {
            let note = not_judged(k)
                .map(|why| format!(" ({why})"))
                .unwrap_or_default();
            md.push_str(&format!(
                "| {} | {} | {}{note} |\n",
                k.id,
                k.text.replace('|', "\\|"),
                k.status
            ));
        }
    }
    md.push_str("\nscored checks that FAIL:\n");
    for k in checks.iter().filter(|k| k.scored && k.status == "FAIL") {
        let note = not_judged(k)
            .map(|why| format!(" [not judged: {why}]"))
            .unwrap_or_default();
        md.push_str(&format!(
            "- {} {} {}: {}{note}\n",
            k.target, k.id, k.text, k.reason
        ));
    }
    md
}
