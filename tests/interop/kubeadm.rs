//! What a rendered directory must hold for a spec, written independently of the crate: the
//! few spec fields the interop checks need, and kubeadm's identity table
//! (`shared/reference/kubernetes-bootstrap-facts.md` §5.2 and §5.3) as data.

use std::collections::BTreeSet;
use std::net::IpAddr;

use time::{Duration, OffsetDateTime};

/// SPEC's defaults, which are kubeadm's, for fields the fixture leaves out.
const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";
const DEFAULT_DNS_DOMAIN: &str = "cluster.local";
const DEFAULT_CERT_VALIDITY: &str = "8760h";
const DEFAULT_CA_VALIDITY: &str = "87600h";

pub struct Controller {
    pub name: String,
    pub address: IpAddr,
}

/// The cluster a spec describes, as far as the PKI and kubeconfigs are concerned.
pub struct Cluster {
    pub api_server: String,
    pub api_host: San,
    pub service_ip: IpAddr,
    pub dns_domain: String,
    pub controllers: Vec<Controller>,
    pub not_before: OffsetDateTime,
    pub cert_validity: Duration,
    pub ca_validity: Duration,
}

impl Cluster {
    /// Reads the fields this module needs from a spec's text; panics on a malformed fixture.
    pub fn from_spec(text: &str) -> Cluster {
        let v: toml::Value = toml::from_str(text).expect("fixture spec is TOML");
        let s = |table: &str, key: &str| v.get(table).and_then(|t| t.get(key)?.as_str());
        let api_server = s("cluster", "api_server")
            .expect("cluster.api_server")
            .to_string();
        let host = url::Url::parse(&api_server)
            .expect("cluster.api_server is a URL")
            .host_str()
            .expect("cluster.api_server has a host")
            .trim_matches(['[', ']'])
            .to_string();
        let service_cidr: ipnet::IpNet = s("cluster", "service_cidr")
            .unwrap_or(DEFAULT_SERVICE_CIDR)
            .parse()
            .expect("service_cidr");
        let controllers = v["controllers"]
            .as_array()
            .expect("[[controllers]]")
            .iter()
            .map(|c| Controller {
                name: c["name"].as_str().expect("controller name").to_string(),
                address: c["address"].as_str().expect("address").parse().expect("IP"),
            })
            .collect();
        let not_before = s("pki", "not_before").expect("pki.not_before");
        Cluster {
            api_host: San::parse(&host),
            api_server,
            service_ip: first_host(service_cidr),
            dns_domain: s("cluster", "dns_domain")
                .unwrap_or(DEFAULT_DNS_DOMAIN)
                .to_string(),
            controllers,
            not_before: OffsetDateTime::parse(
                not_before,
                &time::format_description::well_known::Rfc3339,
            )
            .expect("pki.not_before is RFC 3339"),
            cert_validity: go_duration(s("pki", "cert_validity").unwrap_or(DEFAULT_CERT_VALIDITY)),
            ca_validity: go_duration(s("pki", "ca_validity").unwrap_or(DEFAULT_CA_VALIDITY)),
        }
    }

    /// A moment (Unix seconds) inside every certificate's validity window, for `-attime`:
    /// the certificates are valid from `not_before`, which need not be near today.
    pub fn inside_validity(&self) -> i64 {
        (self.not_before + Duration::days(1)).unix_timestamp()
    }
}

/// The network address plus one (`10.96.0.0/12` -> `10.96.0.1`), as kubeadm's
/// `GetAPIServerVirtualIP`.
fn first_host(net: ipnet::IpNet) -> IpAddr {
    match net.network() {
        IpAddr::V4(a) => IpAddr::V4((u32::from(a) + 1).into()),
        IpAddr::V6(a) => IpAddr::V6((u128::from(a) + 1).into()),
    }
}

/// A Go duration made of hours, minutes and seconds (`8760h`, `1h30m`).
fn go_duration(text: &str) -> Duration {
    let mut total = Duration::ZERO;
    let mut num = String::new();
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
            continue;
        }
        let n: i64 = num
            .parse()
            .unwrap_or_else(|_| panic!("bad duration {text:?}"));
        num.clear();
        total += match ch {
            'h' => Duration::hours(n),
            'm' => Duration::minutes(n),
            's' => Duration::seconds(n),
            _ => panic!("bad duration {text:?}"),
        };
    }
    assert!(num.is_empty(), "bad duration {text:?}");
    total
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum San {
    Dns(String),
    Ip(IpAddr),
}

impl San {
    pub fn parse(s: &str) -> San {
        s.parse()
            .map(San::Ip)
            .unwrap_or_else(|_| San::Dns(s.into()))
    }

    fn dns(s: &str) -> San {
        San::Dns(s.into())
    }
}

impl std::fmt::Display for San {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            San::Dns(d) => write!(f, "DNS:{d}"),
            San::Ip(ip) => write!(f, "IP:{ip}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Eku {
    ServerAuth,
    ClientAuth,
}

impl Eku {
    /// How `openssl x509 -ext extendedKeyUsage` names it.
    pub fn openssl_name(self) -> &'static str {
        match self {
            Eku::ServerAuth => "TLS Web Server Authentication",
            Eku::ClientAuth => "TLS Web Client Authentication",
        }
    }
}

pub const KUBERNETES_CA: &str = "pki/ca";
pub const FRONT_PROXY_CA: &str = "pki/front-proxy-ca";
pub const ETCD_CA: &str = "pki/etcd/ca";
pub const CAS: [&str; 3] = [KUBERNETES_CA, FRONT_PROXY_CA, ETCD_CA];

/// One row of kubeadm's certificate table.
#[derive(Clone, Debug)]
pub struct CertSpec {
    /// Where its pair lives, without extension: `<base>.crt`, `<base>.key`.
    pub base: String,
    /// The `base` of the CA that signs it (itself for a CA).
    pub issuer: &'static str,
    pub cn: String,
    pub orgs: Vec<String>,
    pub ekus: BTreeSet<Eku>,
    pub sans: BTreeSet<San>,
}

impl CertSpec {
    pub fn is_ca(&self) -> bool {
        self.issuer == self.base
    }

    /// The `openssl verify -purpose` values this certificate must pass.
    pub fn purposes(&self) -> Vec<&'static str> {
        let mut p = Vec::new();
        if self.ekus.contains(&Eku::ServerAuth) {
            p.push("sslserver");
        }
        if self.ekus.contains(&Eku::ClientAuth) {
            p.push("sslclient");
        }
        p
    }

    pub fn validity(&self, c: &Cluster) -> Duration {
        if self.is_ca() {
            c.ca_validity
        } else {
            c.cert_validity
        }
    }
}

fn ca(base: &'static str, cn: &str) -> CertSpec {
    CertSpec {
        base: base.into(),
        issuer: base,
        cn: cn.into(),
        orgs: vec![],
        ekus: BTreeSet::new(),
        sans: [San::dns(cn)].into(),
    }
}

/// A client certificate: clientAuth only, no SANs.
pub fn client(base: &str, issuer: &'static str, cn: &str, orgs: &[&str]) -> CertSpec {
    CertSpec {
        base: base.into(),
        issuer,
        cn: cn.into(),
        orgs: orgs.iter().map(|o| o.to_string()).collect(),
        ekus: [Eku::ClientAuth].into(),
        sans: BTreeSet::new(),
    }
}

/// Every certificate under `pki/`, as kubeadm issues it for this cluster.
pub fn certificates(c: &Cluster) -> Vec<CertSpec> {
    let mut apiserver_sans: BTreeSet<San> = [
        c.api_host.clone(),
        San::dns("kubernetes"),
        San::dns("kubernetes.default"),
        San::dns("kubernetes.default.svc"),
        San::Dns(format!("kubernetes.default.svc.{}", c.dns_domain)),
        San::Ip(c.service_ip),
    ]
    .into();
    for ctl in &c.controllers {
        apiserver_sans.insert(San::Dns(ctl.name.clone()));
        apiserver_sans.insert(San::Ip(ctl.address));
    }
    let mut certs = vec![
        ca(KUBERNETES_CA, "kubernetes"),
        CertSpec {
            base: "pki/apiserver".into(),
            issuer: KUBERNETES_CA,
            cn: "kube-apiserver".into(),
            orgs: vec![],
            ekus: [Eku::ServerAuth].into(),
            sans: apiserver_sans,
        },
        client(
            "pki/apiserver-kubelet-client",
            KUBERNETES_CA,
            "kube-apiserver-kubelet-client",
            &["kubeadm:cluster-admins"],
        ),
        ca(FRONT_PROXY_CA, "front-proxy-ca"),
        client(
            "pki/front-proxy-client",
            FRONT_PROXY_CA,
            "front-proxy-client",
            &[],
        ),
        ca(ETCD_CA, "etcd-ca"),
        client(
            "pki/etcd/healthcheck-client",
            ETCD_CA,
            "kube-etcd-healthcheck-client",
            &[],
        ),
        client(
            "pki/apiserver-etcd-client",
            ETCD_CA,
            "kube-apiserver-etcd-client",
            &[],
        ),
    ];
    for ctl in &c.controllers {
        for kind in ["server", "peer"] {
            certs.push(CertSpec {
                base: format!("pki/etcd/{}/{kind}", ctl.name),
                issuer: ETCD_CA,
                cn: ctl.name.clone(),
                orgs: vec![],
                ekus: [Eku::ServerAuth, Eku::ClientAuth].into(),
                sans: [
                    San::Dns(ctl.name.clone()),
                    San::dns("localhost"),
                    San::Ip(ctl.address),
                    San::Ip("127.0.0.1".parse().unwrap()),
                    San::Ip("::1".parse().unwrap()),
                ]
                .into(),
            });
        }
    }
    certs
}

/// How a kubeconfig's user authenticates.
pub enum Auth {
    /// An embedded client certificate (and key) signed by the Kubernetes CA.
    Cert(CertSpec),
    /// A bootstrap token `[a-z0-9]{6}.[a-z0-9]{16}`.
    Token,
}

pub struct KubeconfigSpec {
    pub file: String,
    /// kubeadm names the user after the certificate's CN.
    pub user: String,
    pub auth: Auth,
}

/// Every kubeconfig under `kubeconfig/`.
pub fn kubeconfigs() -> Vec<KubeconfigSpec> {
    let cert = |name: &str, cn: &str, orgs: &[&str]| KubeconfigSpec {
        file: format!("kubeconfig/{name}.conf"),
        user: cn.into(),
        auth: Auth::Cert(client(
            &format!("kubeconfig/{name}.conf (client-certificate-data)"),
            KUBERNETES_CA,
            cn,
            orgs,
        )),
    };
    vec![
        cert("admin", "kubernetes-admin", &["kubeadm:cluster-admins"]),
        cert("super-admin", "kubernetes-super-admin", &["system:masters"]),
        cert("controller-manager", "system:kube-controller-manager", &[]),
        cert("scheduler", "system:kube-scheduler", &[]),
        KubeconfigSpec {
            file: "kubeconfig/bootstrap-kubelet.conf".into(),
            user: "tls-bootstrap-token-user".into(),
            auth: Auth::Token,
        },
    ]
}

/// `[a-z0-9]{6}\.[a-z0-9]{16}`: kubeadm's bootstrap token format.
pub fn is_bootstrap_token(t: &str) -> bool {
    let ok = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    matches!(t.split_once('.'), Some((id, secret)) if ok(id, 6) && ok(secret, 16))
}
