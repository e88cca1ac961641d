//! The CoreDNS add-on against the real cluster: the rendered manifests apply, and the real
//! `coredns` binary, run with the rendered Corefile unchanged and the `coredns`
//! ServiceAccount's credentials, answers for the cluster domain from the live API.
//!
//! Where it runs, and why there. The Corefile says `.:53`: CoreDNS listens on port 53 of
//! every address it has (`-dns.port` only fills in zones that name no port, see
//! `core/dnsserver/register.go`, so it cannot move `.:53`). In the machine's own network
//! namespace that would be every address of the machine, so CoreDNS runs on the lab's
//! workstation host `ws`, a network namespace the test made, whose addresses are its own
//! loopback and the test's bridge, from where the API servers are reachable. Its in-cluster
//! configuration (`KUBERNETES_SERVICE_HOST`/`_PORT`, and the token and CA at
//! `/var/run/secrets/kubernetes.io/serviceaccount/`) comes from the environment and from a
//! tmpfs in a mount namespace of CoreDNS's own, so nothing is written to the machine's
//! paths. Its upstream (`forward . /etc/resolv.conf`) is, as in a pod with
//! `dnsPolicy: Default`, its node's resolver: there a `resolv.conf` naming the first
//! controller's lab address, where no DNS server listens, so a forwarded query never leaves
//! the lab (and the `loop` plugin's probe finds no loop). The queries come from a thread
//! that joins the workstation's network namespace and asks its loopback.
//!
//! The control that the rendered RBAC is what lets CoreDNS read the API: CoreDNS starts
//! without the `system:coredns` ClusterRoleBinding, is refused (`forbidden`) and answers
//! nothing for the cluster domain; once the rendered binding is applied it answers.

use std::fs;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

use crate::cluster::{s, wait, Cluster};
use crate::expect;

/// The rendered CoreDNS manifests, in the order `kubectl apply -f manifests/` takes them.
const FILES: [&str; 7] = [
    "coredns-clusterrole.yaml",
    "coredns-clusterrolebinding.yaml",
    "coredns-configmap.yaml",
    "coredns-deployment.yaml",
    "coredns-poddisruptionbudget.yaml",
    "coredns-service.yaml",
    "coredns-serviceaccount.yaml",
];
const BINDING: &str = "coredns-clusterrolebinding.yaml";

/// The CoreDNS release `scripts/k8s-bins` builds (its `COREDNS=` line) and where it put it.
fn coredns_bin() -> Result<PathBuf, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/k8s-bins");
    let text = fs::read_to_string(&script).map_err(|e| format!("{}: {e}", script.display()))?;
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("COREDNS="))
        .ok_or("scripts/k8s-bins has no COREDNS= line")?;
    let bin = crate::cache().join(format!("coredns/{version}/bin/coredns"));
    expect(bin.is_file(), || {
        format!("no {} (scripts/k8s-bins builds it)", bin.display())
    })?;
    Ok(bin)
}

/// Applies the rendered CoreDNS manifests, then runs the real CoreDNS on them (module doc).
pub fn coredns(c: &mut Cluster) -> Result<(), String> {
    let manifests = c.out.join("manifests");
    for f in FILES {
        c.admin(&["apply", "--validate=strict", "-f", &s(&manifests.join(f))])?;
    }
    // The live objects are the rendered ones: kube-dns at the kubelet's clusterDNS.
    let kubelet = c.parse(&c.out.join("config/kubelet-config.yaml"));
    let cluster_dns = kubelet["clusterDNS"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let domain = kubelet["clusterDomain"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let get = |kind: &str, name: &str, path: &str| {
        c.admin(&[
            "get",
            kind,
            name,
            "-n",
            "kube-system",
            &format!("-o=jsonpath={{{path}}}"),
        ])
    };
    let live_dns = get("service", "kube-dns", ".spec.clusterIP")?;
    expect(!cluster_dns.is_empty() && live_dns == cluster_dns, || {
        format!("kube-dns is at {live_dns:?}, the kubelet's clusterDNS is {cluster_dns:?}")
    })?;
    let replicas = get("deployment", "coredns", ".spec.replicas")?;
    expect(replicas == "2", || format!("coredns replicas {replicas:?}"))?;

    // The Corefile as the API server holds it, which is the rendered one, written unchanged.
    let corefile = get("configmap", "coredns", ".data.Corefile")?;
    let rendered = c.parse(&manifests.join("coredns-configmap.yaml"));
    expect(rendered["data"]["Corefile"] == corefile.as_str(), || {
        format!("the live Corefile is not the rendered one:\n{corefile}")
    })?;
    let dir = c.scratch("coredns");
    fs::create_dir_all(dir.join("sa")).map_err(|e| e.to_string())?;
    fs::write(dir.join("Corefile"), &corefile).map_err(|e| e.to_string())?;
    fs::copy(c.out.join("pki/ca.crt"), dir.join("sa/ca.crt")).map_err(|e| e.to_string())?;
    let cp_address = c.controllers[0].1.clone();
    fs::write(
        dir.join("resolv.conf"),
        format!("nameserver {cp_address}\n"),
    )
    .map_err(|e| e.to_string())?;

    let token = c.admin(&[
        "create",
        "token",
        "coredns",
        "-n",
        "kube-system",
        "--duration=1h",
    ])?;
    let token_file = dir.join("sa/token");
    fs::write(&token_file, token.trim()).map_err(|e| e.to_string())?;
    fs::set_permissions(&token_file, fs::Permissions::from_mode(0o600))
        .map_err(|e| e.to_string())?;

    let bin = coredns_bin()?;

    // The control first: no binding, no access. Nothing from here on returns before the
    // binding is applied again.
    let binding = s(&manifests.join(BINDING));
    c.admin(&["delete", "-f", &binding])?;
    // `$1` the credentials, `$2` the resolv.conf, `$3` coredns, `$4` the Corefile. The
    // resolv.conf is bound over whatever /etc/resolv.conf resolves to, before /run (where
    // a symlinked one may point) is replaced.
    let script = "set -e\n\
        target=$(readlink -f /etc/resolv.conf)\n\
        mount -t tmpfs -o mode=0755 tmpfs /var/run\n\
        mkdir -p /var/run/secrets/kubernetes.io/serviceaccount \"$(dirname \"$target\")\"\n\
        cp \"$1/token\" \"$1/ca.crt\" /var/run/secrets/kubernetes.io/serviceaccount/\n\
        touch \"$target\"\n\
        mount --bind \"$2\" \"$target\"\n\
        exec \"$3\" -conf \"$4\"\n";
    let argv: Vec<String> = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "coredns",
    ]
    .map(String::from)
    .into_iter()
    .chain([
        s(&dir.join("sa")),
        s(&dir.join("resolv.conf")),
        s(&bin),
        s(&dir.join("Corefile")),
    ])
    .collect();
    let id = c.lab.spawn_env(
        "ws",
        "coredns",
        &argv,
        &[
            ("KUBERNETES_SERVICE_HOST", cp_address.as_str()),
            ("KUBERNETES_SERVICE_PORT", "6443"),
        ],
    );
    let netns = c.lab.netns_path("ws");
    let kubernetes = format!("kubernetes.default.svc.{domain}");
    let result = (|| {
        wait(
            "CoreDNS to be refused the API without its binding",
            60,
            || {
                let log = c.lab.log_tail(id, 50);
                expect(log.contains("forbidden"), || format!("log: {log}"))
            },
        )?;
        // It serves (unsynced) after a few seconds; until then a query times out.
        let mut unsynced = None;
        wait("CoreDNS to serve", 30, || {
            unsynced = Some(query(&netns, &kubernetes)?);
            Ok(())
        })?;
        let (code, answers) = unsynced.unwrap_or((ResponseCode::NoError, Vec::new()));
        expect(code != ResponseCode::NoError && answers.is_empty(), || {
            format!("{kubernetes} answered {answers:?} ({code}) without RBAC")
        })?;
        expect(ready(c).is_err(), || {
            "the ready plugin reports ready without RBAC".into()
        })?;

        c.admin(&["apply", "--validate=strict", "-f", &binding])?;
        let live_kubernetes = c.admin(&[
            "get",
            "service",
            "kubernetes",
            "-n",
            "default",
            "-o=jsonpath={.spec.clusterIP}",
        ])?;
        // Ready (the Deployment's readiness probe): every informer has synced, so a
        // missing name is NXDOMAIN rather than the SERVFAIL of an unsynced cache.
        wait("CoreDNS /ready once it may read the API", 90, || ready(c))?;
        let (code, answers) = query(&netns, &kubernetes)?;
        expect(
            code == ResponseCode::NoError && answers == [live_kubernetes.clone()],
            || format!("{kubernetes}: {code}, {answers:?}, want [{live_kubernetes}]"),
        )?;
        let kube_dns = format!("kube-dns.kube-system.svc.{domain}");
        let (code, answers) = query(&netns, &kube_dns)?;
        expect(
            code == ResponseCode::NoError && answers == [cluster_dns.clone()],
            || format!("{kube_dns}: {code}, {answers:?}, want [{cluster_dns}]"),
        )?;
        // The negative control: a name under the domain that no Service has.
        let unknown = format!("no-such-service.default.svc.{domain}");
        let (code, answers) = query(&netns, &unknown)?;
        expect(code == ResponseCode::NXDomain && answers.is_empty(), || {
            format!("{unknown}: {code}, {answers:?}, want NXDOMAIN")
        })
    })();
    let log = c.lab.log_tail(id, 20);
    c.lab.kill(id);
    // The binding is back whatever happened above, for the checks after this one.
    c.admin(&["apply", "-f", &binding])?;
    result.map_err(|e| format!("{e}\ncoredns log:\n{log}"))
}

/// The ready plugin's answer (`:8181/ready`, the Deployment's readiness probe) on the
/// workstation's loopback: Ok once every plugin is ready.
fn ready(c: &Cluster) -> Result<(), String> {
    let argv: Vec<String> = [
        "curl",
        "--silent",
        "--show-error",
        "--fail",
        "--max-time",
        "5",
        "http://127.0.0.1:8181/ready",
    ]
    .map(String::from)
    .to_vec();
    c.ws_run(&argv).map(|_| ())
}

/// One A query for `name` over UDP to port 53 of the loopback of the network namespace
/// `netns`, from a thread that joins it (and ends with the query): the response code and
/// the addresses answered.
fn query(netns: &Path, name: &str) -> Result<(ResponseCode, Vec<String>), String> {
    let where_ = netns.display().to_string();
    let ns = fs::File::open(netns).map_err(|e| format!("{where_}: {e}"))?;
    let name = Name::from_ascii(format!("{name}.")).map_err(|e| e.to_string())?;
    std::thread::spawn(move || -> Result<(ResponseCode, Vec<String>), String> {
        move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network))
            .map_err(|e| format!("setns {where_}: {e}"))?;
        let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        socket
            .set_read_timeout(Some(Duration::from_secs(3)))
            .map_err(|e| e.to_string())?;
        let id = (std::process::id() & 0xffff) as u16;
        let mut request = Message::new();
        request
            .set_id(id)
            .set_message_type(MessageType::Query)
            .set_op_code(OpCode::Query)
            .set_recursion_desired(true)
            .add_query(Query::query(name, RecordType::A));
        let bytes = request.to_vec().map_err(|e| e.to_string())?;
        let server = SocketAddr::from(([127, 0, 0, 1], 53));
        socket.send_to(&bytes, server).map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4096];
        let (n, from) = socket.recv_from(&mut buf).map_err(|e| e.to_string())?;
        let response = Message::from_vec(&buf[..n]).map_err(|e| e.to_string())?;
        expect(from == server && response.id() == id, || {
            format!("a reply from {from} with id {}", response.id())
        })?;
        let answers = response
            .answers()
            .iter()
            .filter_map(|r| match r.data() {
                RData::A(a) => Some(IpAddr::V4(a.0).to_string()),
                _ => None,
            })
            .collect();
        Ok((response.response_code(), answers))
    })
    .join()
    .map_err(|_| "the DNS client thread panicked".to_string())?
}
