//! Helpers for black-box tests: build a spec ([`Spec`]), run the real `kubeseed` binary, lay
//! out a spec and a seed in a temporary directory, find the external tools the interop tests
//! drive (openssl, etcd, etcdctl, a real kubectl, and the sops and age that
//! `scripts/k8s-bins` builds), and hash or snapshot an output tree.
//!
//! A missing tool is a test failure that names `scripts/test`, never a silent skip: a suite
//! that passes because it checked nothing is worse than one that fails.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

mod spec;
#[allow(unused_imports)]
pub use spec::Spec;

/// A seed for tests only: derived keys are public knowledge, never use it for a real cluster.
pub const TEST_SEED_HEX: &str = "7e577e577e577e577e577e577e577e577e577e577e577e577e577e577e577e57";

/// The `kubeseed` binary cargo built for this test run.
pub fn kubeseed_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kubeseed"))
}

/// What a finished process left behind, with its streams decoded for assertions.
#[derive(Debug)]
pub struct Run {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from_output(out: Output) -> Run {
        Run {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics with both streams unless the process exited 0.
    pub fn success(self, what: &str) -> Run {
        assert!(
            self.status.success(),
            "{what} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Runs `kubeseed ARGS` with `KUBESEED_SEED` removed plus the given environment, no stdin.
pub fn kubeseed<I, S>(args: I, env: &[(&str, &str)]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(kubeseed_bin());
    cmd.args(args).env_remove("KUBESEED_SEED");
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

/// Runs `kubeseed ARGS` in `dir` (relative paths are relative to it), `KUBESEED_SEED` removed.
pub fn kubeseed_in<I, S>(dir: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(Command::new(kubeseed_bin())
        .current_dir(dir)
        .args(args)
        .env_remove("KUBESEED_SEED"))
}

/// Runs a prepared command with stdin closed and captures its output.
pub fn run(cmd: &mut Command) -> Run {
    cmd.stdin(std::process::Stdio::null());
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    Run::from_output(out)
}

/// A temporary directory holding a spec and its seed, removed on drop.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::Builder::new()
                .prefix("kubeseed-test-")
                .tempdir()
                .expect("create temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `cluster.toml` with the given text; returns its path.
    pub fn write_spec(&self, toml: &str) -> PathBuf {
        let p = self.path().join("cluster.toml");
        fs::write(&p, toml).expect("write spec");
        p
    }

    /// Writes `seed` (hex and a newline, mode 0600) beside the spec; returns its path.
    pub fn write_seed(&self, hex: &str) -> PathBuf {
        let p = self.path().join("seed");
        fs::write(&p, format!("{hex}\n")).expect("write seed");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).expect("chmod seed");
        p
    }

    /// Where `render` should write its output in this workspace.
    pub fn out_dir(&self) -> PathBuf {
        self.path().join("out")
    }

    /// Writes the spec and the seed and renders them into [`Workspace::out_dir`]; returns it.
    pub fn render(&self, toml: &str, seed_hex: &str) -> PathBuf {
        render_in(self.path(), toml, seed_hex)
    }
}

/// Writes `DIR/cluster.toml` and `DIR/seed` and runs `kubeseed render` into `DIR/out`,
/// which it returns; panics with kubeseed's output if the render fails.
pub fn render_in(dir: &Path, toml: &str, seed_hex: &str) -> PathBuf {
    let spec = dir.join("cluster.toml");
    fs::write(&spec, toml).expect("write spec");
    let seed = dir.join("seed");
    fs::write(&seed, format!("{seed_hex}\n")).expect("write seed");
    fs::set_permissions(&seed, fs::Permissions::from_mode(0o600)).expect("chmod seed");
    let out = dir.join("out");
    kubeseed(
        [
            OsStr::new("render"),
            spec.as_os_str(),
            OsStr::new("--out"),
            out.as_os_str(),
        ],
        &[],
    )
    .success("kubeseed render");
    out
}

impl Default for Workspace {
    fn default() -> Self {
        Workspace::new()
    }
}

/// `base` (a spec's text) with each `(old, new)` applied in turn; every `old` must occur
/// exactly once in the text it edits, so that a change to `base` cannot silently turn an edit
/// into a no-op or into an edit of the wrong key.
pub fn edit_spec(base: &str, edits: &[(&str, &str)]) -> String {
    let mut text = base.to_string();
    for (old, new) in edits {
        assert_eq!(
            text.matches(old).count(),
            1,
            "{old:?} must occur exactly once in the spec:\n{text}"
        );
        text = text.replacen(old, new, 1);
    }
    text
}

/// The text of a file under `tests/fixtures/`.
pub fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("read fixture {}: {e}", p.display()))
}

fn missing_tool(name: &str, detail: &str) -> ! {
    panic!(
        "required test tool `{name}` not found ({detail}).\n\
         Run `scripts/test` (as root) once: it installs everything the test suite needs."
    )
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A tool looked up on `PATH` (and in `/usr/bin`, `/usr/sbin`); panics naming `scripts/test`.
pub fn tool(name: &str) -> PathBuf {
    on_path(name).unwrap_or_else(|| missing_tool(name, "not on PATH"))
}

pub fn openssl() -> PathBuf {
    tool("openssl")
}

pub fn etcd() -> PathBuf {
    tool("etcd")
}

pub fn etcdctl() -> PathBuf {
    tool("etcdctl")
}

/// Where `scripts/k8s-bins` caches what it builds: `$KUBESEED_TEST_CACHE`, by default
/// `/var/cache/kubeseed-test`.
pub fn test_cache() -> PathBuf {
    std::env::var_os("KUBESEED_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/kubeseed-test"))
}

/// The release `scripts/k8s-bins` builds for `var` (its `VAR=<version>` line).
fn k8s_bins_release(var: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/k8s-bins");
    let text =
        fs::read_to_string(&script).unwrap_or_else(|e| panic!("read {}: {e}", script.display()));
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{var}=")))
        .unwrap_or_else(|| panic!("scripts/k8s-bins has no {var}= line"))
        .to_string()
}

/// A binary `scripts/k8s-bins` builds into `$KUBESEED_TEST_CACHE/<dir>/<release>/bin/`
/// (the release from its `<var>=` line); panics naming `scripts/test` when it is not there.
fn cached_tool(dir: &str, var: &str, name: &str) -> PathBuf {
    let bin = test_cache()
        .join(dir)
        .join(k8s_bins_release(var))
        .join("bin")
        .join(name);
    if !is_executable(&bin) {
        missing_tool(
            name,
            &format!("no {} (scripts/k8s-bins builds it)", bin.display()),
        );
    }
    bin
}

/// The real `sops` (getsops/sops, the release of `SOPS=` in `scripts/k8s-bins`).
pub fn sops() -> PathBuf {
    cached_tool("sops", "SOPS", "sops")
}

/// The real `sops`, run in `home` with an empty environment (`HOME` and `XDG_CONFIG_HOME` there
/// too), so that the only age identities it can see are those of `key_file`.
pub fn sops_as(key_file: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(sops());
    cmd.env_clear()
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("SOPS_AGE_KEY_FILE", key_file)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .current_dir(home);
    cmd
}

/// The real `age` (filippo.io/age, the release of `AGE=` in `scripts/k8s-bins`).
pub fn age() -> PathBuf {
    cached_tool("age", "AGE", "age")
}

/// The real `age-keygen`, beside [`age`].
pub fn age_keygen() -> PathBuf {
    cached_tool("age", "AGE", "age-keygen")
}

/// An identity file made by the real `age-keygen`, and its recipient.
pub struct AgeKey {
    pub file: PathBuf,
    pub recipient: String,
}

/// A fresh identity file `dir/NAME.agekey` from the real `age-keygen`, its recipient from
/// `age-keygen -y`.
pub fn age_keygen_key(dir: &Path, name: &str) -> AgeKey {
    let file = dir.join(format!("{name}.agekey"));
    run(Command::new(age_keygen()).arg("-o").arg(&file)).success("age-keygen");
    let recipient = run(Command::new(age_keygen()).arg("-y").arg(&file))
        .success("age-keygen -y")
        .stdout
        .trim()
        .to_string();
    AgeKey { file, recipient }
}

/// `age -d -i KEY_FILE ENCRYPTED` with the real `age` and an empty environment: the
/// plaintext, or a failed test with age's message.
pub fn age_decrypt(key_file: &Path, encrypted: &Path) -> Vec<u8> {
    let out = Command::new(age())
        .arg("-d")
        .arg("-i")
        .arg(key_file)
        .arg(encrypted)
        .env_clear()
        .output()
        .expect("run age");
    assert!(
        out.status.success(),
        "age -d failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Where `scripts/test` unpacks Debian's `cloud-init` and `ignition` packages (installing them
/// would change how the machine boots).
pub const UNPACKED_CLOUD_INIT: &str = "/var/cache/kubeseed-test/cloud-init";
pub const UNPACKED_IGNITION_VALIDATE: &str =
    "/var/cache/kubeseed-test/ignition/usr/bin/ignition-validate";

/// A command running Debian's `cloud-init`: the copy `scripts/test` unpacks, run by Debian's
/// `/usr/bin/python3` (whose packages hold its dependencies), else one on `PATH`.
pub fn cloud_init() -> Command {
    let unpacked = Path::new(UNPACKED_CLOUD_INIT);
    let script = unpacked.join("usr/bin/cloud-init");
    if script.is_file() {
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(script)
            .env("PYTHONPATH", unpacked.join("usr/lib/python3/dist-packages"));
        return cmd;
    }
    match on_path("cloud-init") {
        Some(p) => Command::new(p),
        None => missing_tool(
            "cloud-init",
            &format!("neither {UNPACKED_CLOUD_INIT} nor on PATH"),
        ),
    }
}

/// Debian's `ignition-validate`: the copy `scripts/test` unpacks, else one on `PATH`.
pub fn ignition_validate() -> PathBuf {
    let unpacked = Path::new(UNPACKED_IGNITION_VALIDATE);
    if is_executable(unpacked) {
        return unpacked.to_path_buf();
    }
    on_path("ignition-validate").unwrap_or_else(|| {
        missing_tool(
            "ignition-validate",
            &format!("neither {UNPACKED_IGNITION_VALIDATE} nor on PATH"),
        )
    })
}

/// The Google Cloud SDK's versioned kubectl; its sibling `kubectl` (and the `/usr/bin/kubectl`
/// symlink to it) is a dispatcher that contacts the kubeconfig's server to pick a version.
pub const GCLOUD_KUBECTL: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";

/// Where `scripts/test` unpacks Debian's kubectl when `/usr/bin/kubectl` belongs to the dispatcher.
pub const UNPACKED_KUBECTL: &str = "/var/cache/kubeseed-test/kubernetes-client/usr/bin/kubectl";

/// A real kubectl binary (never the dispatcher), with the version it reports.
pub struct Kubectl {
    pub path: PathBuf,
    pub version: String,
}

/// Finds a real kubectl once: `$KUBESEED_TEST_KUBECTL`, else [`GCLOUD_KUBECTL`], else Debian's
/// `kubernetes-client` (`/usr/bin/kubectl` or [`UNPACKED_KUBECTL`]) unless it resolves into the
/// Cloud SDK's dispatcher. Prints what it chose on stderr.
pub fn kubectl() -> &'static Kubectl {
    static FOUND: OnceLock<Kubectl> = OnceLock::new();
    FOUND.get_or_init(|| {
        let (path, how) = find_kubectl();
        // `version --client` reads no kubeconfig and contacts nothing.
        let out = run(Command::new(&path).args(["version", "--client", "-o", "json"]));
        let version = serde_json::from_str::<serde_json::Value>(&out.stdout)
            .ok()
            .and_then(|v| v["clientVersion"]["gitVersion"].as_str().map(String::from))
            .unwrap_or_else(|| {
                panic!(
                    "{} ({how}) did not report a client version: {}{}",
                    path.display(),
                    out.stdout,
                    out.stderr
                )
            });
        eprintln!("kubectl: using {} {version} ({how})", path.display());
        Kubectl { path, version }
    })
}

fn find_kubectl() -> (PathBuf, &'static str) {
    if let Some(p) = std::env::var_os("KUBESEED_TEST_KUBECTL") {
        let p = PathBuf::from(p);
        if is_dispatcher(&p) {
            panic!(
                "$KUBESEED_TEST_KUBECTL={} is the Cloud SDK kubectl dispatcher, which dials the \
                 kubeconfig's server; point it at a versioned kubectl",
                p.display()
            );
        }
        if !is_executable(&p) {
            missing_tool(
                "kubectl",
                "$KUBESEED_TEST_KUBECTL is not an executable file",
            );
        }
        return (p, "from $KUBESEED_TEST_KUBECTL");
    }
    if is_executable(Path::new(GCLOUD_KUBECTL)) {
        return (GCLOUD_KUBECTL.into(), "Cloud SDK versioned binary");
    }
    for p in [Path::new("/usr/bin/kubectl"), Path::new(UNPACKED_KUBECTL)] {
        if is_executable(p) && !is_dispatcher(p) {
            return (p.into(), "Debian kubernetes-client");
        }
    }
    missing_tool(
        "kubectl",
        &format!("neither {GCLOUD_KUBECTL} nor a kubectl from Debian's kubernetes-client"),
    )
}

/// True when `p` resolves to the Cloud SDK's unversioned `kubectl`.
fn is_dispatcher(p: &Path) -> bool {
    let real = fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    real.file_name() == Some(OsStr::new("kubectl"))
        && real
            .components()
            .any(|c| c.as_os_str() == "google-cloud-sdk")
}

/// The reviewable snapshot of a rendered directory: every file in path order under a
/// `==== <path> <mode> sha256:<hex> ====` header (the hash pins every byte), followed by its
/// text, unless `index.json` marks it secret or it is not UTF-8: then the header alone.
/// A reviewer sees in `git diff` how a public file changed, never a secret.
pub fn snapshot(out: &Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("index.json")).unwrap()).unwrap();
    let secret: BTreeMap<&str, bool> = index["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["secret"].as_bool().unwrap()))
        .collect();
    let mut snap = String::new();
    assert_dirs_0755(out);
    for (path, FileEntry { sha256: hash, mode }) in hash_tree(out) {
        snap.push_str(&format!("==== {path} {mode:04o} sha256:{hash} ====\n"));
        if secret.get(path.as_str()).copied().unwrap_or(false) {
            continue;
        }
        if let Ok(text) = String::from_utf8(fs::read(out.join(&path)).unwrap()) {
            snap.push_str(&text);
            if !text.ends_with('\n') {
                snap.push('\n');
            }
        }
    }
    snap
}

/// Every directory under `dir` is 0755, as kubeseed writes them.
fn assert_dirs_0755(dir: &Path) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        let meta = fs::symlink_metadata(&path).expect("stat");
        if meta.is_dir() {
            let mode = meta.permissions().mode() & 0o7777;
            assert_eq!(mode, 0o755, "{}", path.display());
            assert_dirs_0755(&path);
        }
    }
}

/// One file of a tree: its SHA-256 (hex) and permission bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    pub sha256: String,
    pub mode: u32,
}

/// Every regular file under `root`, keyed by its `/`-separated relative path.
/// Panics on symlinks and special files: an output tree has none.
pub fn hash_tree(root: &Path) -> BTreeMap<String, FileEntry> {
    let mut files = BTreeMap::new();
    walk(root, root, &mut files);
    files
}

fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, FileEntry>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("read dir {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("dir entry").path();
        let meta = fs::symlink_metadata(&path).expect("stat");
        if meta.is_dir() {
            walk(root, &path, files);
        } else if meta.is_file() {
            let rel = path.strip_prefix(root).expect("under root");
            let rel: Vec<_> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect();
            files.insert(
                rel.join("/"),
                FileEntry {
                    sha256: sha256_file(&path),
                    mode: meta.permissions().mode() & 0o7777,
                },
            );
        } else {
            panic!(
                "{} is neither a regular file nor a directory",
                path.display()
            );
        }
    }
}

pub fn sha256_file(path: &Path) -> String {
    let mut f = fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut h = Sha256::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex::encode(h.finalize())
}

/// Permission bits of a file or directory.
pub fn mode_of(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// An exclusive lock shared by every test process on this machine (several worktrees may run
/// the suite at once); released on drop. Used around fixed loopback ports.
pub struct MachineLock {
    _file: fs::File,
}

impl MachineLock {
    /// Waits at most `timeout` for the lock called `name`.
    pub fn acquire(name: &str, timeout: Duration) -> MachineLock {
        use rustix::fs::{flock, FlockOperation};
        let path = std::env::temp_dir().join(format!("kubeseed-test-{name}.lock"));
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("open lock {}: {e}", path.display()));
        let deadline = Instant::now() + timeout;
        loop {
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return MachineLock { _file: file },
                Err(rustix::io::Errno::WOULDBLOCK) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!(
                    "lock {} not acquired within {timeout:?} ({e}); is another test run stuck?",
                    path.display()
                ),
            }
        }
    }
}

/// Polls `probe` every `interval` until it returns `Ok`, or panics after `timeout` with
/// `what` and the last failure `probe` reported.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match probe() {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: not ready after {timeout:?}; last failure: {last}")
            }
            Err(_) => std::thread::sleep(interval),
        }
    }
}

/// The bootstrap-token Secret of a rendered directory, `manifests/bootstrap-token-<id>.yaml`
/// (relative path); there must be exactly one.
pub fn token_secret_path(out: &Path) -> String {
    let found: Vec<String> = fs::read_dir(out.join("manifests"))
        .expect("read manifests/")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .into_string()
                .expect("UTF-8 name")
        })
        .filter(|n| n.starts_with("bootstrap-token-") && n.ends_with(".yaml"))
        .map(|n| format!("manifests/{n}"))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one bootstrap-token Secret, found {found:?}"
    );
    found.into_iter().next().unwrap_or_default()
}
