//! The e2e test's hosts: one network namespace per host on one bridge (itself in a namespace
//! of its own), each with a private mount and UTS namespace in which `/etc` and `/var/lib`
//! are copy-on-write overlays of the machine's and `/run` is empty, so a host can have its
//! own `/etc/hosts`, `/etc/kubernetes`, `/var/lib/etcd` and `/run/kubernetes` while the
//! machine's stay untouched. Nothing is
//! created in the machine's own network namespace: the only addresses any process binds or
//! dials are its host's loopback and the test's bridge.
//!
//! Every process started here is killed by PID when the lab is dropped (also when a check
//! panics), and dies with the test process should that be killed first.

use std::fs;
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The test hosts' subnet: TEST-NET-1 (RFC 5737), which no real network routes.
pub const SUBNET_PREFIX: &str = "192.0.2";

pub struct Host {
    pub name: String,
    netns: String,
    /// The process that holds the host's mount and UTS namespaces (a `sleep`)...
    holder: Child,
    /// ...and its PID, as the shell inside the namespaces saw it.
    holder_pid: u32,
}

struct Proc {
    what: String,
    child: Child,
    log: PathBuf,
}

pub struct Lab {
    pub dir: tempfile::TempDir,
    /// `PATH` inside the hosts: the components' bare names resolve here first.
    pub path: String,
    switch: String,
    pub hosts: Vec<Host>,
    procs: Vec<Option<Proc>>,
}

/// A handle on a process started with [`Lab::spawn`].
#[derive(Clone, Copy, Debug)]
pub struct ProcId(usize);

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The kernel kills the child when the test process dies, so nothing outlives a killed test.
fn die_with_parent(cmd: &mut Command) {
    // Safety: the closure makes one async-signal-safe system call.
    unsafe {
        cmd.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
                .map_err(std::io::Error::from)
        });
    }
}

/// Why this machine cannot run the lab (not root, no `ip`, `unshare` or `nsenter`), if so.
pub fn unsupported() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("the e2e test needs root (network and mount namespaces)".into());
    }
    for tool in ["ip", "unshare", "nsenter"] {
        let found = Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            return Some(format!(
                "`{tool}` is not installed (scripts/test installs it)"
            ));
        }
    }
    None
}

/// Deletes the namespaces of earlier labs whose test process is gone (killed before its
/// drop ran). Names are `kse<pid>-...`.
fn remove_stale_namespaces() {
    let Ok(entries) = fs::read_dir("/run/netns") else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("kse") else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(&["netns", "del", &name]);
        }
    }
}

impl Lab {
    /// Makes one host per `(name, last octet)` on a fresh bridge, each with `etc_hosts` as
    /// its `/etc/hosts` and its name as hostname.
    pub fn new(hosts: &[(&str, u8)], etc_hosts: &str) -> Lab {
        remove_stale_namespaces();
        let pid = std::process::id();
        let dir = tempfile::Builder::new()
            .prefix("kubeseed-e2e-")
            .tempdir()
            .expect("lab dir");
        let switch = format!("kse{pid}-sw");
        let mut lab = Lab {
            dir,
            path: "/usr/sbin:/usr/bin:/sbin:/bin".into(),
            switch: switch.clone(),
            hosts: Vec::new(),
            procs: Vec::new(),
        };
        let step = |r: Result<(), String>| r.unwrap_or_else(|e| panic!("setting up the lab: {e}"));
        step(ip(&["netns", "add", &switch]));
        step(ip(&["-n", &switch, "link", "add", "br0", "type", "bridge"]));
        step(ip(&["-n", &switch, "link", "set", "br0", "up"]));
        fs::write(lab.dir.path().join("hosts"), etc_hosts).expect("write hosts file");
        for (name, octet) in hosts {
            lab.add_host(name, *octet);
        }
        lab
    }

    /// Adds host `name` at `192.0.2.<octet>` on the bridge, with the lab's `/etc/hosts` and its
    /// name as hostname (also after [`Lab::new`], for a host a check needs of its own).
    pub fn add_host(&mut self, name: &str, octet: u8) {
        let step = |r: Result<(), String>| r.unwrap_or_else(|e| panic!("setting up the lab: {e}"));
        let i = self.hosts.len();
        let pid = std::process::id();
        let hosts_file = self.dir.path().join("hosts");
        let netns = format!("kse{pid}-{i}");
        let port = format!("p{i}");
        let addr = Ipv4Addr::new(192, 0, 2, octet);
        step(ip(&["netns", "add", &netns]));
        step(ip(&[
            "-n",
            &self.switch,
            "link",
            "add",
            &port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &netns,
        ]));
        step(ip(&[
            "-n",
            &self.switch,
            "link",
            "set",
            &port,
            "master",
            "br0",
            "up",
        ]));
        step(ip(&[
            "-n",
            &netns,
            "addr",
            "add",
            &format!("{addr}/24"),
            "dev",
            "eth0",
        ]));
        step(ip(&["-n", &netns, "link", "set", "eth0", "up"]));
        step(ip(&["-n", &netns, "link", "set", "lo", "up"]));
        let root = self.dir.path().join(name);
        for d in ["etc-up", "etc-work", "lib-up", "lib-work"] {
            fs::create_dir_all(root.join(d)).expect("overlay dirs");
        }
        let ready = root.join("ready");
        let script = format!(
            "set -e\n\
             mount -t overlay overlay -o lowerdir=/etc,upperdir={r}/etc-up,workdir={r}/etc-work /etc\n\
             mount -t overlay overlay -o lowerdir=/var/lib,upperdir={r}/lib-up,workdir={r}/lib-work /var/lib\n\
             mount -t tmpfs -o mode=0755 tmpfs /run\n\
             mount -t tmpfs -o mode=0755 tmpfs /var/log\n\
             cat {hosts} > /etc/hosts\n\
             mkdir -p /etc/kubernetes\n\
             hostname {name}\n\
             echo $$ > {ready}.tmp && mv {ready}.tmp {ready}\n\
             exec sleep 86400\n",
            r = root.display(),
            hosts = hosts_file.display(),
            ready = ready.display(),
        );
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &netns, "unshare", "--mount", "--uts"])
            .args(["--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                fs::File::create(root.join("holder.log")).expect("holder log"),
            ));
        die_with_parent(&mut cmd);
        let holder = cmd.spawn().expect("spawn the host's namespace holder");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ready.exists() {
            if Instant::now() > deadline {
                panic!(
                    "host {name} did not come up: {}",
                    fs::read_to_string(root.join("holder.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let holder_pid = fs::read_to_string(&ready)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .expect("the holder's PID");
        self.hosts.push(Host {
            name: name.to_string(),
            netns,
            holder,
            holder_pid,
        });
    }

    pub fn host(&self, name: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no host {name}"))
    }

    /// The file naming host `name`'s network namespace (`ip netns`), for `setns`.
    pub fn netns_path(&self, name: &str) -> PathBuf {
        Path::new("/run/netns").join(&self.host(name).netns)
    }

    /// A command that runs `argv` inside host `name`'s namespaces.
    pub fn command(&self, name: &str, argv: &[String]) -> Command {
        let h = self.host(name);
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t")
            .arg(h.holder_pid.to_string())
            .args(["-m", "-n", "-u", "--"])
            .args(argv)
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", self.dir.path())
            .stdin(Stdio::null());
        die_with_parent(&mut cmd);
        cmd
    }

    /// Runs `argv` on host `name` to completion.
    pub fn run(&self, name: &str, argv: &[String]) -> Output {
        self.command(name, argv)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {argv:?} on {name}: {e}"))
    }

    /// Bind-mounts `src` at `dst` on host `name` (over whatever was mounted there before).
    pub fn bind(&self, name: &str, src: &Path, dst: &str) {
        let argv = [
            "mount".to_string(),
            "--bind".into(),
            src.display().to_string(),
            dst.into(),
        ];
        let out = self.run(name, &argv);
        assert!(
            out.status.success(),
            "bind {} on {name}:{dst}: {}",
            src.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts `argv` on host `name`, its output to `<lab>/<name>-<what>.log`.
    pub fn spawn(&mut self, name: &str, what: &str, argv: &[String]) -> ProcId {
        self.spawn_env(name, what, argv, &[])
    }

    pub fn spawn_env(
        &mut self,
        name: &str,
        what: &str,
        argv: &[String],
        env: &[(&str, &str)],
    ) -> ProcId {
        let log = self.dir.path().join(format!("{name}-{what}.log"));
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("process log");
        let mut cmd = self.command(name, argv);
        cmd.envs(env.iter().copied())
            .stdout(Stdio::from(file.try_clone().expect("dup log")))
            .stderr(Stdio::from(file));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} on {name}: {e}"));
        self.procs.push(Some(Proc {
            what: format!("{name}/{what}"),
            child,
            log,
        }));
        ProcId(self.procs.len() - 1)
    }

    /// Kills a process started here (by its PID) and waits for it.
    pub fn kill(&mut self, id: ProcId) {
        if let Some(mut p) = self.procs[id.0].take() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }

    /// The process's exit status if it has exited.
    pub fn exited(&mut self, id: ProcId) -> Option<std::process::ExitStatus> {
        let p = self.procs[id.0].as_mut()?;
        p.child.try_wait().ok().flatten()
    }

    /// The last lines of the process's log.
    pub fn log_tail(&self, id: ProcId, lines: usize) -> String {
        let Some(p) = &self.procs[id.0] else {
            return String::new();
        };
        tail(&p.log, lines)
    }

    /// The last lines of every process's log, for a failure message.
    pub fn all_logs(&self, lines: usize) -> String {
        let mut s = String::new();
        for p in self.procs.iter().flatten() {
            s.push_str(&format!("--- {} ---\n{}\n", p.what, tail(&p.log, lines)));
        }
        s
    }
}

pub fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Drop for Lab {
    fn drop(&mut self) {
        for p in self.procs.iter_mut().flatten() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        for h in &mut self.hosts {
            let _ = h.holder.kill();
            let _ = h.holder.wait();
        }
        for h in &self.hosts {
            let _ = ip(&["netns", "del", &h.netns]);
        }
        let _ = ip(&["netns", "del", &self.switch]);
        if std::env::var_os("KUBESEED_E2E_KEEP").is_some() {
            let kept = self.dir.path().to_path_buf();
            eprintln!("KUBESEED_E2E_KEEP: logs kept in {}", kept.display());
            std::mem::forget(std::mem::replace(
                &mut self.dir,
                tempfile::tempdir().expect("tempdir"),
            ));
        }
    }
}
