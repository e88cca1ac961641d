//! A real etcd cluster on loopback, one member per controller, running on a rendered
//! directory's certificates with client and peer mTLS, as kubeadm's stacked etcd does
//! (facts §6.4). Members are killed when the guard drops, also when a test panics.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{self, MachineLock, Run};
use crate::kubeadm::Controller;

pub const CLIENT_PORT: u16 = 2379;
pub const PEER_PORT: u16 = 2380;

/// Time for all members to elect a leader and answer a health check (typically ~1 s).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

struct Member {
    name: String,
    child: Child,
    log: PathBuf,
}

pub struct EtcdCluster {
    members: Vec<Member>,
    endpoints: Vec<String>,
    pki: PathBuf,
    _data: tempfile::TempDir,
    // Dropped last: the ports stay ours until every member is dead.
    _lock: MachineLock,
}

impl EtcdCluster {
    /// Starts one member per controller at `<address>:2379/2380` with the certificates under
    /// `<out>/pki`, and waits until every member reports healthy.
    pub fn start(out: &Path, controllers: &[Controller]) -> EtcdCluster {
        let pkis = vec![out.join("pki"); controllers.len()];
        EtcdCluster::start_mixed(&pkis, controllers)
    }

    /// Like [`EtcdCluster::start`], but member `i` runs on the `pki/` directory `pkis[i]`:
    /// members at different steps of a CA rotation. The health check and
    /// [`EtcdCluster::etcdctl`] use `pkis[0]`'s CA bundle and clients.
    pub fn start_mixed(pkis: &[PathBuf], controllers: &[Controller]) -> EtcdCluster {
        assert_eq!(pkis.len(), controllers.len(), "one pki/ per member");
        let lock = MachineLock::acquire("etcd-ports", Duration::from_secs(300));
        for c in controllers {
            for port in [CLIENT_PORT, PEER_PORT] {
                if let Err(e) = std::net::TcpListener::bind((c.address, port)) {
                    panic!(
                        "{}:{port} is taken ({e}); something else listens there (a Debian etcd \
                         service bound to all addresses? `scripts/test` stops it)",
                        c.address
                    );
                }
            }
        }
        let data = tempfile::Builder::new()
            .prefix("kubeseed-etcd-")
            .tempdir()
            .expect("etcd data dir");
        let initial_cluster: Vec<String> = controllers
            .iter()
            .map(|c| format!("{}=https://{}:{PEER_PORT}", c.name, c.address))
            .collect();
        let mut cluster = EtcdCluster {
            members: Vec::new(),
            endpoints: controllers
                .iter()
                .map(|c| format!("https://{}:{CLIENT_PORT}", c.address))
                .collect(),
            pki: pkis[0].clone(),
            _data: data,
            _lock: lock,
        };
        for (c, pki) in controllers.iter().zip(pkis) {
            let dir = cluster._data.path();
            let log = dir.join(format!("{}.log", c.name));
            let own = |f: &str| pki.join(format!("etcd/{}/{f}", c.name));
            let client_url = format!("https://{}:{CLIENT_PORT}", c.address);
            let peer_url = format!("https://{}:{PEER_PORT}", c.address);
            let log_file = fs::File::create(&log).expect("etcd log file");
            let mut cmd = Command::new(common::etcd());
            cmd.env_clear()
                .arg("--name")
                .arg(&c.name)
                .arg("--data-dir")
                .arg(dir.join(&c.name))
                .args(["--listen-client-urls", &client_url])
                .args(["--advertise-client-urls", &client_url])
                .args(["--listen-peer-urls", &peer_url])
                .args(["--initial-advertise-peer-urls", &peer_url])
                .args(["--initial-cluster", &initial_cluster.join(",")])
                .args(["--initial-cluster-state", "new"])
                .args(["--initial-cluster-token", "kubeseed-interop"])
                .arg("--client-cert-auth")
                .arg("--trusted-ca-file")
                .arg(pki.join("etcd/ca.crt"))
                .arg("--cert-file")
                .arg(own("server.crt"))
                .arg("--key-file")
                .arg(own("server.key"))
                .arg("--peer-client-cert-auth")
                .arg("--peer-trusted-ca-file")
                .arg(pki.join("etcd/ca.crt"))
                .arg("--peer-cert-file")
                .arg(own("peer.crt"))
                .arg("--peer-key-file")
                .arg(own("peer.key"))
                .stdin(Stdio::null())
                .stdout(Stdio::from(log_file.try_clone().expect("dup log file")))
                .stderr(Stdio::from(log_file));
            if let Some(arch) = unsupported_arch() {
                cmd.env("ETCD_UNSUPPORTED_ARCH", arch);
            }
            // Should the test process itself be killed, the kernel kills the members too, so
            // no orphan keeps the ports. Safety: the closure only makes one async-signal-safe
            // system call.
            unsafe {
                cmd.pre_exec(|| {
                    rustix::process::set_parent_process_death_signal(Some(
                        rustix::process::Signal::KILL,
                    ))
                    .map_err(std::io::Error::from)
                });
            }
            let child = cmd.spawn().expect("spawn etcd");
            cluster.members.push(Member {
                name: c.name.clone(),
                child,
                log,
            });
        }
        cluster.wait_healthy();
        cluster
    }

    fn wait_healthy(&mut self) {
        let endpoints = self.endpoints.join(",");
        common::wait_for(
            "etcd cluster health",
            READY_TIMEOUT,
            Duration::from_millis(200),
            || {
                for m in &mut self.members {
                    if let Some(status) = m.child.try_wait().expect("try_wait") {
                        panic!(
                            "etcd member {} exited ({status}) while starting:\n{}",
                            m.name,
                            tail(&m.log)
                        );
                    }
                }
                let run = self.etcdctl(
                    &endpoints,
                    "etcd/healthcheck-client",
                    &["endpoint", "health"],
                );
                if run.status.success() {
                    Ok(())
                } else {
                    Err(format!("{}{}\n{}", run.stdout, run.stderr, self.logs()))
                }
            },
        );
    }

    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// Runs `etcdctl` (API v3) against `endpoints` as the client whose pair is
    /// `<out>/pki/<client>.{crt,key}`, trusting the etcd CA.
    pub fn etcdctl(&self, endpoints: &str, client: &str, args: &[&str]) -> Run {
        self.etcdctl_with(endpoints, &self.pki, client, args)
    }

    /// [`EtcdCluster::etcdctl`] with the CA bundle and client pair of another `pki/`
    /// directory (another step of a CA rotation).
    pub fn etcdctl_with(&self, endpoints: &str, pki: &Path, client: &str, args: &[&str]) -> Run {
        let mut cmd = Command::new(common::etcdctl());
        cmd.env_clear()
            .env("ETCDCTL_API", "3")
            .args([
                "--endpoints",
                endpoints,
                "--dial-timeout",
                "1s",
                // Healthy calls on loopback take milliseconds; a refused client retries
                // until this runs out.
                "--command-timeout",
                "3s",
            ])
            .arg("--cacert")
            .arg(pki.join("etcd/ca.crt"))
            .arg("--cert")
            .arg(pki.join(format!("{client}.crt")))
            .arg("--key")
            .arg(pki.join(format!("{client}.key")))
            .args(args);
        common::run(&mut cmd)
    }

    /// The log of the member serving `endpoint`.
    pub fn log_of(&self, endpoint: &str) -> String {
        let i = self
            .endpoints
            .iter()
            .position(|e| e == endpoint)
            .expect("known endpoint");
        fs::read_to_string(&self.members[i].log).unwrap_or_default()
    }

    /// The last lines of every member's log, for failure messages.
    pub fn logs(&self) -> String {
        self.members
            .iter()
            .map(|m| format!("--- etcd {} log (tail) ---\n{}", m.name, tail(&m.log)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for m in &mut self.members {
            let _ = m.child.kill();
        }
        for m in &mut self.members {
            let _ = m.child.wait();
        }
    }
}

fn tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// etcd 3.4 refuses to start on architectures other than amd64 and ppc64le unless told.
fn unsupported_arch() -> Option<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" | "powerpc64" => None,
        "aarch64" => Some("arm64"),
        other => Some(other),
    }
}
