//! Checks of `[cluster]`.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use crate::spec::defaults::{
    DEFAULT_DNS_DOMAIN, DEFAULT_IMAGE_REPOSITORY, DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR,
};
use crate::spec::raw::{RawCluster, S};
use crate::spec::syntax::{
    dns_name_problem, image_repository_problem, overlaps, parse_api_server, parse_kube_version,
};
use crate::spec::{ApiServer, Cluster, KubeVersion};

use super::{Check, Span};

impl Check<'_> {
    pub(super) fn cluster(&mut self, raw: Option<S<RawCluster>>) -> Option<Cluster> {
        let Some(raw) = raw else {
            self.err(
                None,
                "cluster",
                "the [cluster] table is missing".to_string(),
                Some(
                    "add a [cluster] table with name, api_server and kubernetes_version"
                        .to_string(),
                ),
            );
            return None;
        };
        let header = raw.span();
        let raw = raw.into_inner();

        let name = self
            .required(raw.name, &header, "cluster.name", "name = \"demo\"")
            .and_then(|name| self.cluster_name(name));
        let api_server = self
            .required(
                raw.api_server,
                &header,
                "cluster.api_server",
                "api_server = \"https://api.demo.example.com:6443\"",
            )
            .and_then(|url| self.api_server(url));
        let service_cidr = self.cidr(
            raw.service_cidr,
            "cluster.service_cidr",
            DEFAULT_SERVICE_CIDR,
        );
        let service_cidr = service_cidr.and_then(|(net, at)| self.service_cidr_size(net, at));
        let pod_cidr = self.cidr(raw.pod_cidr, "cluster.pod_cidr", DEFAULT_POD_CIDR);
        if let (Some((service, service_at)), Some((pod, pod_at))) = (&service_cidr, &pod_cidr) {
            if overlaps(service, pod) {
                let service_line = service_at
                    .as_ref()
                    .map(|at| format!(" (line {})", self.line(at)))
                    .unwrap_or_else(|| " (the default)".to_string());
                self.err(
                    pod_at.clone(),
                    "cluster.pod_cidr",
                    format!("{pod} overlaps service_cidr {service}{service_line}"),
                    Some(format!(
                        "pod and service addresses must not collide; pick disjoint ranges such as the defaults {DEFAULT_SERVICE_CIDR} and {DEFAULT_POD_CIDR}"
                    )),
                );
            }
        }
        let dns_domain = self.dns_domain(raw.dns_domain);
        let kubernetes_version = self
            .required(
                raw.kubernetes_version,
                &header,
                "cluster.kubernetes_version",
                "kubernetes_version = \"v1.36.2\"",
            )
            .and_then(|v| self.kube_version(v));
        let image_repository = self.image_repository(raw.image_repository);

        Some(Cluster {
            name: name?,
            api_server: api_server?,
            service_cidr: service_cidr?.0,
            pod_cidr: pod_cidr?.0,
            dns_domain: dns_domain?,
            kubernetes_version: kubernetes_version?,
            image_repository: image_repository?,
        })
    }

    fn image_repository(&mut self, raw: Option<S<String>>) -> Option<String> {
        let Some(raw) = raw else {
            return Some(DEFAULT_IMAGE_REPOSITORY.to_string());
        };
        match image_repository_problem(raw.get_ref()) {
            None => Some(raw.into_inner()),
            Some((reason, hint)) => {
                self.err(
                    Some(raw.span()),
                    "cluster.image_repository",
                    format!("\"{}\" is not an image repository: {reason}", raw.get_ref()),
                    Some(hint),
                );
                None
            }
        }
    }

    fn cluster_name(&mut self, name: S<String>) -> Option<String> {
        let ok = (1..=63).contains(&name.get_ref().len())
            && name
                .get_ref()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            return Some(name.into_inner());
        }
        self.err(
            Some(name.span()),
            "cluster.name",
            format!("\"{}\" is not a valid cluster name", name.get_ref()),
            Some("use 1 to 63 characters from a-z, 0-9 and \"-\"".to_string()),
        );
        None
    }

    fn api_server(&mut self, url: S<String>) -> Option<ApiServer> {
        match parse_api_server(url.get_ref()) {
            Ok(api) => Some(api),
            Err((message, hint)) => {
                self.err(Some(url.span()), "cluster.api_server", message, Some(hint));
                None
            }
        }
    }

    /// Parses a CIDR (or its default), rejecting host bits. Returns it with its span
    /// (`None` for the default) for the cross-checks.
    fn cidr(
        &mut self,
        raw: Option<S<String>>,
        key: &str,
        default: &str,
    ) -> Option<(IpNet, Option<Span>)> {
        let (text, at) = match &raw {
            Some(raw) => (raw.get_ref().as_str(), Some(raw.span())),
            None => (default, None),
        };
        let net = match IpNet::from_str(text) {
            Ok(net) => net,
            Err(_) => {
                let hint = match IpAddr::from_str(text) {
                    Ok(IpAddr::V4(_)) => format!("add a prefix length: \"{text}/16\""),
                    Ok(IpAddr::V6(_)) => format!("add a prefix length: \"{text}/112\""),
                    Err(_) => format!("write ADDRESS/PREFIX, e.g. \"{default}\""),
                };
                self.err(
                    at,
                    key,
                    format!("\"{text}\" is not a CIDR range"),
                    Some(hint),
                );
                return None;
            }
        };
        if net.addr() != net.network() {
            self.err(
                at,
                key,
                format!("\"{text}\" has host bits set"),
                Some(format!("use the network address: \"{}\"", net.trunc())),
            );
            return None;
        }
        Some((net, at))
    }

    /// kube-apiserver refuses a service range with more than 2^20 addresses, and the
    /// cluster DNS service takes the 10th address, so the range needs at least 16.
    fn service_cidr_size(&mut self, net: IpNet, at: Option<Span>) -> Option<(IpNet, Option<Span>)> {
        let (min, max) = match net {
            IpNet::V4(_) => (12, 28),
            IpNet::V6(_) => (108, 124),
        };
        let hint = "use an IPv4 prefix from /12 to /28 or an IPv6 prefix from /108 to /124: kube-apiserver allows at most 2^20 service addresses, and the cluster DNS service takes the 10th address";
        let message = if net.prefix_len() < min {
            format!("{net} is too large: kube-apiserver allows at most 2^20 service addresses")
        } else if net.prefix_len() > max {
            format!("{net} is too small to hold the cluster DNS service address (the 10th)")
        } else {
            return Some((net, at));
        };
        self.err(at, "cluster.service_cidr", message, Some(hint.to_string()));
        None
    }

    fn dns_domain(&mut self, raw: Option<S<String>>) -> Option<String> {
        let Some(raw) = raw else {
            return Some(DEFAULT_DNS_DOMAIN.to_string());
        };
        match dns_name_problem(raw.get_ref(), false) {
            None => Some(raw.into_inner()),
            Some((reason, hint)) => {
                self.err(
                    Some(raw.span()),
                    "cluster.dns_domain",
                    format!("\"{}\" is not a valid DNS name: {reason}", raw.get_ref()),
                    Some(hint),
                );
                None
            }
        }
    }

    fn kube_version(&mut self, raw: S<String>) -> Option<KubeVersion> {
        match parse_kube_version(raw.get_ref()) {
            Ok(v) => Some(v),
            Err((message, hint)) => {
                self.err(
                    Some(raw.span()),
                    "cluster.kubernetes_version",
                    message,
                    Some(hint),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::test_support::*;
    use crate::spec::*;

    #[test]
    fn cluster_name() {
        let p = only_error(
            &edit(&[(4, r#"name = "Demo_1""#)]),
            Some(4),
            "cluster.name",
            "\"Demo_1\" is not a valid cluster name",
        );
        assert_eq!(hint(&p), "use 1 to 63 characters from a-z, 0-9 and \"-\"");
        only_error(
            &edit(&[(4, r#"name = """#)]),
            Some(4),
            "cluster.name",
            "\"\" is not a valid cluster name",
        );
        let long = format!("name = \"{}\"", "a".repeat(64));
        only_error(
            &edit(&[(4, &long)]),
            Some(4),
            "cluster.name",
            &format!("\"{}\" is not a valid cluster name", "a".repeat(64)),
        );
        parse_ok(&edit(&[(4, &format!("name = \"{}\"", "a".repeat(63)))]));
        parse_ok(&edit(&[(4, r#"name = "-x-""#)]));
    }

    #[test]
    fn api_server_url() {
        let api = |url: &str| {
            parse_ok(&edit(&[(5, &format!("api_server = \"{url}\""))]))
                .spec
                .cluster
                .api_server
        };
        assert_eq!(
            api("https://api.example.com"),
            ApiServer {
                host: Host::Dns("api.example.com".into()),
                port: 6443
            }
        );
        assert_eq!(api("https://api.example.com:443/").port, 443);
        assert_eq!(
            api("https://10.0.0.1:8443").host,
            Host::Ip("10.0.0.1".parse().unwrap())
        );
        let v6 = api("https://[fd00::10]");
        assert_eq!(v6.host, Host::Ip("fd00::10".parse().unwrap()));
        assert_eq!(v6.url(), "https://[fd00::10]:6443");
        assert_eq!(api("HTTPS://localhost").url(), "https://localhost:6443");

        let bad = |url: &str, message: &str| -> SpecProblem {
            only_error(
                &edit(&[(5, &format!("api_server = \"{url}\""))]),
                Some(5),
                "cluster.api_server",
                message,
            )
        };
        let p = bad("http://api.example.com:6443", "\"http://api.example.com:6443\" uses http://; the API server is only reached over https");
        assert_eq!(
            hint(&p),
            "write https://HOST:PORT, e.g. https://api.demo.example.com:6443"
        );
        bad("api.example.com:6443", "\"api.example.com:6443\" uses api.example.com://; the API server is only reached over https");
        bad(
            "api.example.com",
            "\"api.example.com\" is not a URL (relative URL without a base)",
        );
        bad("https://admin:pw@api.example.com", "\"https://admin:pw@api.example.com\" contains user info (user@); credentials never go in the server URL");
        let p = bad(
            "https://api.example.com:6443/k8s",
            "\"https://api.example.com:6443/k8s\" has a path, query or fragment",
        );
        assert_eq!(
            hint(&p),
            "kubeconfigs need only the scheme, host and port: https://api.example.com:6443"
        );
        bad(
            "https://api.example.com?x=1",
            "\"https://api.example.com?x=1\" has a path, query or fragment",
        );
        bad(
            "https://api.example.com#x",
            "\"https://api.example.com#x\" has a path, query or fragment",
        );
        bad("https://api.example.com:0", "\"0\" is not a valid port");
        bad("https://api.example.com:", "\"\" is not a valid port");
        bad(
            "https://api.example.com:06443",
            "\"06443\" is not a valid port",
        );
        bad(
            "https://api.example.com:70000",
            "\"https://api.example.com:70000\" is not a URL (invalid port number)",
        );
        let p = bad(
            "https://API.example.com",
            "\"API.example.com\" is not a valid host name: it has uppercase letters",
        );
        assert_eq!(hint(&p), "write it in lowercase: \"api.example.com\"");
        bad(
            "https://api_server.example.com",
            "\"api_server.example.com\" is not a valid host name: it has the character '_'",
        );
        bad(
            "https://10.0.1",
            "\"10.0.1\" is not a valid host name: it looks like an IP address but is not one",
        );
        bad(
            "https://[fe80::1%25eth0]",
            "\"https://[fe80::1%25eth0]\" is not a URL (invalid IPv6 address)",
        );
        bad(
            "https://api.example.com :6443",
            "\"https://api.example.com :6443\" contains whitespace",
        );
    }

    #[test]
    fn cidrs() {
        let p = only_error(
            &edit(&[(6, r#"service_cidr = "10.96.0.1/12""#)]),
            Some(6),
            "cluster.service_cidr",
            "\"10.96.0.1/12\" has host bits set",
        );
        assert_eq!(hint(&p), "use the network address: \"10.96.0.0/12\"");
        let p = only_error(
            &edit(&[(7, r#"pod_cidr = "10.244.0.0""#)]),
            Some(7),
            "cluster.pod_cidr",
            "\"10.244.0.0\" is not a CIDR range",
        );
        assert_eq!(hint(&p), "add a prefix length: \"10.244.0.0/16\"");
        let p = only_error(
            &edit(&[(7, r#"pod_cidr = "pods""#)]),
            Some(7),
            "cluster.pod_cidr",
            "\"pods\" is not a CIDR range",
        );
        assert_eq!(hint(&p), "write ADDRESS/PREFIX, e.g. \"10.244.0.0/16\"");
        only_error(
            &edit(&[(7, r#"pod_cidr = "fd00:10:244::1/64""#)]),
            Some(7),
            "cluster.pod_cidr",
            "\"fd00:10:244::1/64\" has host bits set",
        );

        // IPv6, and mixed families, are fine.
        let spec = parse_ok(&edit(&[
            (6, r#"service_cidr = "fd00:10:96::/112""#),
            (7, r#"pod_cidr = "10.244.0.0/16""#),
        ]))
        .spec;
        assert_eq!(spec.cluster.service_cidr.to_string(), "fd00:10:96::/112");

        let p = only_error(
            &edit(&[(7, r#"pod_cidr = "10.100.0.0/16""#)]),
            Some(7),
            "cluster.pod_cidr",
            "10.100.0.0/16 overlaps service_cidr 10.96.0.0/12 (line 6)",
        );
        assert_eq!(hint(&p), "pod and service addresses must not collide; pick disjoint ranges such as the defaults 10.96.0.0/12 and 10.244.0.0/16");
        only_error(
            &edit(&[(6, ""), (7, r#"pod_cidr = "10.0.0.0/8""#)]),
            Some(7),
            "cluster.pod_cidr",
            "10.0.0.0/8 overlaps service_cidr 10.96.0.0/12 (the default)",
        );
    }

    #[test]
    fn service_cidr_size() {
        let size_hint = "use an IPv4 prefix from /12 to /28 or an IPv6 prefix from /108 to /124: kube-apiserver allows at most 2^20 service addresses, and the cluster DNS service takes the 10th address";
        let p = only_error(
            &edit(&[(6, r#"service_cidr = "10.0.0.0/11""#)]),
            Some(6),
            "cluster.service_cidr",
            "10.0.0.0/11 is too large: kube-apiserver allows at most 2^20 service addresses",
        );
        assert_eq!(hint(&p), size_hint);
        let p = only_error(
            &edit(&[(6, r#"service_cidr = "10.96.0.0/29""#)]),
            Some(6),
            "cluster.service_cidr",
            "10.96.0.0/29 is too small to hold the cluster DNS service address (the 10th)",
        );
        assert_eq!(hint(&p), size_hint);
        only_error(
            &edit(&[(6, r#"service_cidr = "fd00::/107""#)]),
            Some(6),
            "cluster.service_cidr",
            "fd00::/107 is too large: kube-apiserver allows at most 2^20 service addresses",
        );
        only_error(
            &edit(&[(6, r#"service_cidr = "fd00::/125""#)]),
            Some(6),
            "cluster.service_cidr",
            "fd00::/125 is too small to hold the cluster DNS service address (the 10th)",
        );
        for ok in ["10.96.0.0/28", "10.96.0.0/12", "fd00::/108", "fd00::/124"] {
            parse_ok(&edit(&[(6, &format!("service_cidr = \"{ok}\""))]));
        }
    }

    #[test]
    fn dns_domain() {
        let p = only_error(
            &edit(&[(8, r#"dns_domain = "Cluster.Local""#)]),
            Some(8),
            "cluster.dns_domain",
            "\"Cluster.Local\" is not a valid DNS name: it has uppercase letters",
        );
        assert_eq!(hint(&p), "write it in lowercase: \"cluster.local\"");
        let p = only_error(
            &edit(&[(8, r#"dns_domain = "cluster.local.""#)]),
            Some(8),
            "cluster.dns_domain",
            "\"cluster.local.\" is not a valid DNS name: it ends with \".\"",
        );
        assert_eq!(hint(&p), "drop the trailing dot: \"cluster.local\"");
        only_error(&edit(&[(8, r#"dns_domain = "cluster..local""#)]), Some(8), "cluster.dns_domain", "\"cluster..local\" is not a valid DNS name: it has an empty label (\"..\" or a leading \".\")");
        only_error(&edit(&[(8, r#"dns_domain = "-cluster.local""#)]), Some(8), "cluster.dns_domain", "\"-cluster.local\" is not a valid DNS name: label \"-cluster\" starts or ends with \"-\"");
        only_error(
            &edit(&[(8, r#"dns_domain = "*.local""#)]),
            Some(8),
            "cluster.dns_domain",
            "\"*.local\" is not a valid DNS name: it has a \"*\" where none is allowed",
        );
        only_error(
            &edit(&[(8, r#"dns_domain = "clüster.local""#)]),
            Some(8),
            "cluster.dns_domain",
            "\"clüster.local\" is not a valid DNS name: it has non-ASCII characters",
        );
        let label = "a".repeat(64);
        only_error(&edit(&[(8, &format!("dns_domain = \"{label}.local\""))]), Some(8), "cluster.dns_domain", &format!("\"{label}.local\" is not a valid DNS name: label \"{label}\" is longer than 63 characters"));
        parse_ok(&edit(&[(8, r#"dns_domain = "k8s""#)]));
    }

    #[test]
    fn image_repository() {
        let repo = |s: &str| edit(&[(8, &format!("image_repository = \"{s}\""))]);
        for ok in [
            "registry.k8s.io",
            "registry.example.com:5000/mirror/k8s",
            "localhost:5000",
            "10.0.0.5/k8s",
            "quay.io/my_org/k8s-images.v1",
        ] {
            assert_eq!(parse_ok(&repo(ok)).spec.cluster.image_repository, ok);
        }
        assert_eq!(
            parse_ok(&edit(&[])).spec.cluster.image_repository,
            "registry.k8s.io"
        );
        let bad = |s: &str, reason: &str, want_hint: &str| {
            let p = only_error(
                &repo(s),
                Some(8),
                "cluster.image_repository",
                &format!("\"{s}\" is not an image repository: {reason}"),
            );
            assert_eq!(hint(&p), want_hint, "{s}");
        };
        bad(
            "https://registry.example.com/k8s",
            "it has a URL scheme",
            "drop the scheme: \"registry.example.com/k8s\"",
        );
        bad(
            "registry.example.com/k8s/",
            "it ends with \"/\"",
            "drop the trailing slash: \"registry.example.com/k8s\"",
        );
        let tag = "give only the repository: kubeseed adds each image's name and tag";
        bad(
            "registry.example.com/k8s:v1",
            "it names a tag or digest",
            tag,
        );
        bad(
            "registry.example.com/k8s@sha256:ab",
            "it names a tag or digest",
            tag,
        );
        let host = "start with the registry's host name (with a dot), localhost or an IPv4 address, e.g. registry.example.com/k8s";
        bad("k8s", "\"k8s\" is not a registry host", host);
        bad("mirror/k8s", "\"mirror\" is not a registry host", host);
        bad(
            "Registry.Example.com",
            "\"Registry.Example.com\" is not a registry host",
            host,
        );
        bad("", "\"\" is not a registry host", host);
        let port =
            "write a registry host, an optional port and path, e.g. registry.example.com:5000/k8s";
        bad(
            "registry.example.com:0",
            "port \"0\" is not a port number",
            port,
        );
        bad(
            "registry.example.com:http",
            "port \"http\" is not a port number",
            port,
        );
        let path = "use a-z, 0-9 and \".\", \"_\", \"-\" between them in each path component";
        bad(
            "registry.example.com/K8s",
            "path component \"K8s\" is not valid",
            path,
        );
        bad(
            "registry.example.com//k8s",
            "path component \"\" is not valid",
            path,
        );
        bad(
            "registry.example.com/-k8s",
            "path component \"-k8s\" is not valid",
            path,
        );
    }

    #[test]
    fn kubernetes_version() {
        let v = |s: &str| {
            parse_ok(&edit(&[(9, &format!("kubernetes_version = \"{s}\""))]))
                .spec
                .cluster
                .kubernetes_version
        };
        assert_eq!(
            v("v1.32.0"),
            KubeVersion {
                minor: 32,
                patch: 0,
                text: "v1.32.0".into()
            }
        );
        assert_eq!(
            v("v1.37.0-rc.1"),
            KubeVersion {
                minor: 37,
                patch: 0,
                text: "v1.37.0-rc.1".into()
            }
        );
        let bad = |s: &str, message: &str| {
            only_error(
                &edit(&[(9, &format!("kubernetes_version = \"{s}\""))]),
                Some(9),
                "cluster.kubernetes_version",
                message,
            )
        };
        let p = bad(
            "v1.31.9",
            "\"v1.31.9\" is too old: kubeseed supports Kubernetes 1.32 or later",
        );
        assert_eq!(hint(&p), "use v1.32.0 or later");
        let p = bad("1.36.2", "\"1.36.2\" is missing the leading \"v\"");
        assert_eq!(hint(&p), "write \"v1.36.2\" (it is also the image tag)");
        let p = bad("v1.36", "\"v1.36\" is not a Kubernetes version");
        assert_eq!(hint(&p), "write it as v1.MINOR.PATCH, e.g. v1.36.2");
        bad("v1.036.2", "\"v1.036.2\" is not a Kubernetes version");
        bad(
            "v1.36.2+build",
            "\"v1.36.2+build\" is not a Kubernetes version",
        );
        bad("latest", "\"latest\" is not a Kubernetes version");
        bad("v2.0.0", "\"v2.0.0\" is not a Kubernetes 1.x version");
        bad(
            "v1.36.0-rc..1",
            "\"v1.36.0-rc..1\" has an invalid pre-release suffix",
        );
    }

    #[test]
    fn missing_v_is_named_even_for_an_old_version() {
        only_error(
            &edit(&[(9, r#"kubernetes_version = "1.30.0""#)]),
            Some(9),
            "cluster.kubernetes_version",
            "\"1.30.0\" is missing the leading \"v\"",
        );
    }
}
