//! Checks of `[[controllers]]` and `[[node_pools]]`: names (one namespace for both),
//! addresses, formats, the labels and taints their kubelets register with.

use std::net::IpAddr;
use std::str::FromStr;

use crate::spec::defaults::{DEFAULT_FORMATS, MAX_CONTROLLERS};
use crate::spec::locate::join_key;
use crate::spec::raw::{RawController, RawLabels, RawNodePool, S};
use crate::spec::syntax::{
    dns_name_problem, kubelet_may_set_label, label_key_problem, label_problem, label_value_problem,
    taint_problem,
};
use crate::spec::{Controller, Format, NodeKubelet, NodePool};

use super::{Check, NameUse, NamedList, Span};

impl Check<'_> {
    pub(super) fn controllers(
        &mut self,
        raw: Option<S<Vec<S<RawController>>>>,
        names: &mut Vec<NameUse>,
    ) -> Vec<Controller> {
        let (list_at, list) = match raw {
            Some(raw) => (Some(raw.span()), raw.into_inner()),
            None => (None, Vec::new()),
        };
        let count = list.len();
        if count == 0 {
            self.err(
                list_at,
                "controllers",
                "no controllers: at least one [[controllers]] table is required".to_string(),
                Some(
                    "add a [[controllers]] table with name and address for each control-plane node"
                        .to_string(),
                ),
            );
        } else if count > MAX_CONTROLLERS {
            self.err(
                list.get(MAX_CONTROLLERS).map(|c| c.span()),
                "controllers",
                format!("{count} controllers; at most {MAX_CONTROLLERS} are supported"),
                Some("every controller is an etcd member and more members slow every write; use 3 or 5".to_string()),
            );
        } else if count % 2 == 0 {
            self.warn(
                list.first().map(|c| c.span()),
                "controllers",
                format!(
                    "{count} controllers: an even number of etcd members tolerates no more failures than {}",
                    count - 1
                ),
                Some("use an odd number of controllers (1, 3 or 5)".to_string()),
            );
        }

        let mut out = Vec::new();
        let mut addresses: Vec<(IpAddr, String, Span)> = Vec::new();
        for (i, item) in list.into_iter().enumerate() {
            let owner = format!("controllers[{i}]");
            let header = item.span();
            let raw = item.into_inner();

            let name = self
                .required(
                    raw.name,
                    &header,
                    &format!("{owner}.name"),
                    "name = \"cp-0\"",
                )
                .and_then(|name| self.node_name(name, &owner, names));

            let address = self
                .required(
                    raw.address,
                    &header,
                    &format!("{owner}.address"),
                    "address = \"10.0.0.10\"",
                )
                .and_then(|address| {
                    let key = format!("{owner}.address");
                    let ip = self.node_address(&address, &key)?;
                    if let Some((_, first, first_at)) = addresses.iter().find(|(a, _, _)| *a == ip)
                    {
                        let line = self.line(first_at);
                        self.err(
                            Some(address.span()),
                            &key,
                            format!("{ip} is already the address of {first} (line {line})"),
                            Some("every controller needs its own IP address".to_string()),
                        );
                        return None;
                    }
                    addresses.push((ip, owner.clone(), address.span()));
                    Some(ip)
                });

            let mut dns_names = Vec::new();
            for (j, dns) in raw.dns_names.unwrap_or_default().into_iter().enumerate() {
                match dns_name_problem(dns.get_ref(), false) {
                    None => dns_names.push(dns.into_inner()),
                    Some((reason, hint)) => self.err(
                        Some(dns.span()),
                        &format!("{owner}.dns_names[{j}]"),
                        format!("\"{}\" is not a valid DNS name: {reason}", dns.get_ref()),
                        Some(hint),
                    ),
                }
            }

            let formats = self.formats(raw.formats, &owner);
            let default_taints = self.defaults().controller_taints;
            let kubelet = self.node_kubelet(raw.labels, raw.taints, default_taints, &owner);

            if let (Some(name), Some(address), Some(formats), Some(kubelet)) =
                (name, address, formats, kubelet)
            {
                out.push(Controller {
                    name,
                    address,
                    dns_names,
                    formats,
                    kubelet,
                });
            }
        }
        out
    }

    pub(super) fn node_pools(
        &mut self,
        raw: Option<S<Vec<S<RawNodePool>>>>,
        names: &mut Vec<NameUse>,
    ) -> Vec<NodePool> {
        let mut out = Vec::new();
        for (i, item) in raw
            .map(|r| r.into_inner())
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let owner = format!("node_pools[{i}]");
            let header = item.span();
            let raw = item.into_inner();
            let name = self
                .required(
                    raw.name,
                    &header,
                    &format!("{owner}.name"),
                    "name = \"workers\"",
                )
                .and_then(|name| self.node_name(name, &owner, names));
            let formats = self.formats(raw.formats, &owner);
            let kubelet = self.node_kubelet(raw.labels, raw.taints, &[], &owner);
            if let (Some(name), Some(formats), Some(kubelet)) = (name, formats, kubelet) {
                out.push(NodePool {
                    name,
                    formats,
                    kubelet,
                });
            }
        }
        out
    }

    /// A controller or node-pool name: a DNS-1123 label (it is a node name and a directory
    /// name). Records it for the uniqueness check even when invalid, so one typo does not
    /// hide a clash.
    fn node_name(
        &mut self,
        name: S<String>,
        owner: &str,
        names: &mut Vec<NameUse>,
    ) -> Option<String> {
        let problem = label_problem(name.get_ref());
        names.push(NameUse {
            name: name.get_ref().clone(),
            owner: owner.to_string(),
            at: name.span(),
            valid: problem.is_none(),
        });
        match problem {
            None => Some(name.into_inner()),
            Some((reason, hint)) => {
                self.err(
                    Some(name.span()),
                    &format!("{owner}.name"),
                    format!("\"{}\" is not a valid node name: {reason}", name.get_ref()),
                    Some(hint),
                );
                None
            }
        }
    }

    /// Controller and node-pool names share one namespace: each names `nodes/<name>/`.
    pub(super) fn unique_names(&mut self, names: &[NameUse]) {
        for (i, this) in names.iter().enumerate().filter(|(_, n)| n.valid) {
            let Some(first) = names
                .iter()
                .take(i)
                .find(|n| n.valid && n.name == this.name)
            else {
                continue;
            };
            let both_controllers =
                first.owner.starts_with("controllers[") && this.owner.starts_with("controllers[");
            let hint = if both_controllers {
                "every controller needs its own name".to_string()
            } else {
                "controller and node-pool names share one namespace (each names nodes/<name>/); rename one".to_string()
            };
            let line = self.line(&first.at);
            self.err(
                Some(this.at.clone()),
                &format!("{}.name", this.owner),
                format!(
                    "\"{}\" is already the name of {} (line {line})",
                    this.name, first.owner
                ),
                Some(hint),
            );
        }
    }

    fn node_address(&mut self, address: &S<String>, key: &str) -> Option<IpAddr> {
        let text = address.get_ref();
        let ip = match IpAddr::from_str(text) {
            Ok(ip) => ip,
            Err(_) => {
                self.err(
                    Some(address.span()),
                    key,
                    format!("\"{text}\" is not an IP address"),
                    Some("write the IPv4 or IPv6 address other nodes reach this controller at, e.g. \"10.0.0.10\"; DNS names go in dns_names".to_string()),
                );
                return None;
            }
        };
        if ip.is_unspecified() || ip.is_multicast() {
            self.err(
                Some(address.span()),
                key,
                format!("{ip} cannot be a node's address"),
                Some("write the unicast address other nodes reach this controller at".to_string()),
            );
            return None;
        }
        Some(ip)
    }

    /// `labels` and `taints` of a controller or node pool: valid syntax, labels a kubelet may
    /// set on its own Node (it refuses to start with any other), no taint listed twice.
    /// `default_taints` (valid by construction) apply when `taints` is not written.
    fn node_kubelet(
        &mut self,
        labels: Option<RawLabels>,
        taints: Option<Vec<S<String>>>,
        default_taints: &[&str],
        owner: &str,
    ) -> Option<NodeKubelet> {
        let mut ok = true;
        let mut out = NodeKubelet::default();
        for (key, value) in labels.unwrap_or_default() {
            let path = join_key(&format!("{owner}.labels"), key.get_ref());
            let problem = label_key_problem(key.get_ref())
                .map(|(reason, hint)| (key.span(), format!("\"{}\" is not a label key: {reason}", key.get_ref()), hint))
                .or_else(|| {
                    label_value_problem(value.get_ref()).map(|(reason, hint)| {
                        (value.span(), format!("\"{}\" is not a label value: {reason}", value.get_ref()), hint)
                    })
                })
                .or_else(|| {
                    (!kubelet_may_set_label(key.get_ref())).then(|| {
                        (
                            key.span(),
                            format!(
                                "a kubelet may not set the label \"{}\" on its own Node: NodeRestriction refuses it and the kubelet will not start with it",
                                key.get_ref()
                            ),
                            format!(
                                "label the Node with kubectl after it joins (kubectl label node <name> {}={}), or use a label outside kubernetes.io and k8s.io, or under node.kubernetes.io/ or kubelet.kubernetes.io/",
                                key.get_ref(),
                                value.get_ref()
                            ),
                        )
                    })
                });
            match problem {
                Some((at, message, hint)) => {
                    self.err(Some(at), &path, message, Some(hint));
                    ok = false;
                }
                None => {
                    out.labels.insert(key.into_inner(), value.into_inner());
                }
            }
        }
        if taints.is_none() {
            out.taints = default_taints.iter().map(|t| t.to_string()).collect();
        }
        for (i, taint) in taints.unwrap_or_default().into_iter().enumerate() {
            let path = format!("{owner}.taints[{i}]");
            let text = taint.get_ref();
            if let Some((reason, hint)) = taint_problem(text) {
                self.err(
                    Some(taint.span()),
                    &path,
                    format!("\"{text}\" is not a taint: {reason}"),
                    Some(hint),
                );
                ok = false;
                continue;
            }
            // The kubelet keys taints by key and effect: a second one would replace the first.
            let key_effect = |t: &str| {
                let (kv, effect) = t.rsplit_once(':').unwrap_or((t, ""));
                (
                    kv.split('=').next().unwrap_or(kv).to_string(),
                    effect.to_string(),
                )
            };
            if let Some(first) = out
                .taints
                .iter()
                .find(|t| key_effect(t) == key_effect(text))
            {
                self.err(
                    Some(taint.span()),
                    &path,
                    format!("\"{text}\" has the same key and effect as \"{first}\""),
                    Some("list each key and effect once".to_string()),
                );
                ok = false;
                continue;
            }
            out.taints.push(taint.into_inner());
        }
        ok.then_some(out)
    }

    /// `formats`: known names, no duplicates, not empty; absent = all. Sorted into
    /// [`Format::ALL`] order so that reordering the list changes nothing.
    fn formats(&mut self, raw: Option<S<Vec<S<String>>>>, owner: &str) -> Option<Vec<Format>> {
        let Some(raw) = raw else {
            return Some(DEFAULT_FORMATS.to_vec());
        };
        let all = Format::ALL.map(|(_, n)| n).join(", ");
        self.named_list(
            raw,
            &format!("{owner}.formats"),
            |s| Format::from_name(s).ok_or_else(|| format!("\"{s}\" is not a bundle format")),
            NamedList {
                plural: "formats",
                use_hint: format!("use some of {all}"),
                empty_hint: format!(
                    "list at least one of {all}, or remove the key to render all of them"
                ),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::test_support::*;
    use crate::spec::*;

    /// The pool's `labels` (line 52) and `taints` (line 53).
    fn pool(labels: &str, taints: &str) -> String {
        edit(&[(52, &format!("labels = {{ {labels} }}\ntaints = [{taints}]"))])
    }

    #[test]
    fn labels_and_taints() {
        let spec = parse_ok(&pool(
            r#""example.com/gpu" = "a100", "node.kubernetes.io/pool" = "", tier = "x.y_z-1", "topology.kubernetes.io/zone" = "a", "kubelet.kubernetes.io/x" = "1", "sub.node.kubernetes.io/y" = "2""#,
            r#""dedicated=gpu:NoSchedule", "example.com/spot:PreferNoSchedule", "dedicated=gpu:NoExecute""#,
        ))
        .spec;
        let k = &spec.node_pools[0].kubelet;
        assert_eq!(
            k.labels.keys().collect::<Vec<_>>(),
            [
                "example.com/gpu",
                "kubelet.kubernetes.io/x",
                "node.kubernetes.io/pool",
                "sub.node.kubernetes.io/y",
                "tier",
                "topology.kubernetes.io/zone"
            ]
        );
        assert_eq!(k.labels["node.kubernetes.io/pool"], "");
        assert_eq!(
            k.taints,
            [
                "dedicated=gpu:NoSchedule",
                "example.com/spot:PreferNoSchedule",
                "dedicated=gpu:NoExecute"
            ]
        );
        assert_eq!(spec.controllers[0].kubelet, NodeKubelet::default());
    }

    #[test]
    fn labels_a_kubelet_may_not_set() {
        for key in [
            "node-role.kubernetes.io/worker",
            "kubernetes.io/role",
            "k8s.io/x",
            "example.k8s.io/x",
            "node-restriction.kubernetes.io/pool",
            "a.node-restriction.kubernetes.io/pool",
        ] {
            let p = only_error(
                &pool(&format!("\"{key}\" = \"\""), ""),
                Some(52),
                &format!("node_pools[0].labels.\"{key}\""),
                &format!("a kubelet may not set the label \"{key}\" on its own Node: NodeRestriction refuses it and the kubelet will not start with it"),
            );
            assert!(
                hint(&p).starts_with(&format!(
                    "label the Node with kubectl after it joins (kubectl label node <name> {key}=)"
                )),
                "{}",
                hint(&p)
            );
        }
    }

    #[test]
    fn bad_labels() {
        let key_hint = "write [prefix/]name: an optional DNS subdomain and \"/\", then 1 to 63 characters from A-Z, a-z, 0-9, \"-\", \"_\" and \".\", starting and ending with a letter or digit, e.g. example.com/gpu";
        for (key, reason) in [
            ("example.com/", "its name is empty"),
            (
                "Example.com/x",
                "its prefix is not a DNS subdomain: it has uppercase letters",
            ),
            ("a/b/c", "its name has the character '/'"),
            (
                "x.y/-x",
                "its name does not start and end with a letter or digit",
            ),
        ] {
            let p = only_error(
                &pool(&format!("\"{key}\" = \"v\""), ""),
                Some(52),
                &format!("node_pools[0].labels.\"{key}\""),
                &format!("\"{key}\" is not a label key: {reason}"),
            );
            assert_eq!(hint(&p), key_hint);
        }
        only_error(
            &pool(r#"x = "has space""#, ""),
            Some(52),
            "node_pools[0].labels.x",
            "\"has space\" is not a label value: the value has the character ' '",
        );
        only_error(
            &pool(&format!("x = \"{}\"", "v".repeat(64)), ""),
            Some(52),
            "node_pools[0].labels.x",
            &format!(
                "\"{}\" is not a label value: the value longer than 63 characters",
                "v".repeat(64)
            ),
        );
    }

    #[test]
    fn bad_taints() {
        let effects = "write key[=value]:Effect with Effect one of NoSchedule, PreferNoSchedule, NoExecute, e.g. dedicated=gpu:NoSchedule";
        for (taint, reason) in [
            ("dedicated=gpu", "it has no \":Effect\""),
            (
                "dedicated=gpu:NoScheduled",
                "\"NoScheduled\" is not a taint effect",
            ),
            (
                "dedicated:noschedule",
                "\"noschedule\" is not a taint effect",
            ),
        ] {
            let p = only_error(
                &pool("", &format!("\"{taint}\"")),
                Some(53),
                "node_pools[0].taints[0]",
                &format!("\"{taint}\" is not a taint: {reason}"),
            );
            assert_eq!(hint(&p), effects);
        }
        only_error(
            &pool("", r#""=x:NoSchedule""#),
            Some(53),
            "node_pools[0].taints[0]",
            "\"=x:NoSchedule\" is not a taint: the key \"\": its name is empty",
        );
        only_error(
            &pool("", r#""k=a b:NoSchedule""#),
            Some(53),
            "node_pools[0].taints[0]",
            "\"k=a b:NoSchedule\" is not a taint: the value has the character ' '",
        );
        let p = only_error(
            &pool("", r#""k=a:NoSchedule", "k=b:NoSchedule""#),
            Some(53),
            "node_pools[0].taints[1]",
            "\"k=b:NoSchedule\" has the same key and effect as \"k=a:NoSchedule\"",
        );
        assert_eq!(hint(&p), "list each key and effect once");
    }

    #[test]
    fn controller_count() {
        // Two controllers: allowed, with a warning (etcd quorum).
        let two = edit(&[(21, ""), (22, ""), (23, "")]);
        let parsed = parse_ok(&two);
        assert_eq!(parsed.spec.controllers.len(), 2);
        let w: Vec<(Option<usize>, &str, &str)> = parsed
            .warnings
            .iter()
            .map(|p| (p.line, p.key.as_str(), p.message.as_str()))
            .collect();
        assert_eq!(
            w,
            vec![(
                Some(11),
                "controllers",
                "2 controllers: an even number of etcd members tolerates no more failures than 1"
            )]
        );
        assert_eq!(
            parsed.warnings[0].hint.as_deref(),
            Some("use an odd number of controllers (1, 3 or 5)")
        );

        let mut eight = BASE.to_string();
        for i in 3..8 {
            eight.push_str(&format!(
                "\n[[controllers]]\nname = \"cp-{i}\"\naddress = \"10.0.0.{}\"\n",
                20 + i
            ));
        }
        // The 8th [[controllers]] header: BASE has 52 lines, each extra one adds 4.
        let p = only_error(
            &eight,
            Some(52 + 4 * 4 + 2),
            "controllers",
            "8 controllers; at most 7 are supported",
        );
        assert_eq!(
            hint(&p),
            "every controller is an etcd member and more members slow every write; use 3 or 5"
        );

        only_error(
            &BASE.replace("[[controllers]]", "[[controllerz]]"),
            Some(11),
            "controllerz",
            "unknown key `controllerz` in the top level",
        );
        let empty = "version = 1\ncontrollers = []\n[cluster]\nname = \"x\"\napi_server = \"https://10.0.0.1\"\nkubernetes_version = \"v1.36.2\"\n[pki]\nnot_before = \"2026-11-25T00:00:00Z\"\n";
        let p = only_error(
            empty,
            Some(2),
            "controllers",
            "no controllers: at least one [[controllers]] table is required",
        );
        assert_eq!(
            hint(&p),
            "add a [[controllers]] table with name and address for each control-plane node"
        );
    }

    #[test]
    fn node_names() {
        let p = only_error(
            &edit(&[(12, r#"name = "CP-0""#)]),
            Some(12),
            "controllers[0].name",
            "\"CP-0\" is not a valid node name: it has uppercase letters",
        );
        assert_eq!(hint(&p), "write it in lowercase: \"cp-0\"");
        let p = only_error(
            &edit(&[(12, r#"name = "cp.0""#)]),
            Some(12),
            "controllers[0].name",
            "\"cp.0\" is not a valid node name: it has the character '.'",
        );
        assert_eq!(hint(&p), "use a DNS-1123 label: 1 to 63 characters from a-z, 0-9 and \"-\", starting and ending with a letter or digit");
        only_error(
            &edit(&[(12, r#"name = "cp-""#)]),
            Some(12),
            "controllers[0].name",
            "\"cp-\" is not a valid node name: it starts or ends with \"-\"",
        );
        only_error(
            &edit(&[(12, r#"name = """#)]),
            Some(12),
            "controllers[0].name",
            "\"\" is not a valid node name: it is empty",
        );
        only_error(
            &edit(&[(51, r#"name = "Workers!""#)]),
            Some(51),
            "node_pools[0].name",
            "\"Workers!\" is not a valid node name: it has uppercase letters",
        );
    }

    #[test]
    fn names_are_unique_across_controllers_and_pools() {
        let p = only_error(
            &edit(&[(18, r#"name = "cp-0""#)]),
            Some(18),
            "controllers[1].name",
            "\"cp-0\" is already the name of controllers[0] (line 12)",
        );
        assert_eq!(hint(&p), "every controller needs its own name");
        let p = only_error(
            &edit(&[(51, r#"name = "cp-2""#)]),
            Some(51),
            "node_pools[0].name",
            "\"cp-2\" is already the name of controllers[2] (line 22)",
        );
        assert_eq!(hint(&p), "controller and node-pool names share one namespace (each names nodes/<name>/); rename one");
        let two_pools = format!("{BASE}\n[[node_pools]]\nname = \"workers\"\n");
        only_error(
            &two_pools,
            Some(55),
            "node_pools[1].name",
            "\"workers\" is already the name of node_pools[0] (line 51)",
        );
    }

    #[test]
    fn controller_addresses() {
        let p = only_error(
            &edit(&[(13, r#"address = "cp-0.example.com""#)]),
            Some(13),
            "controllers[0].address",
            "\"cp-0.example.com\" is not an IP address",
        );
        assert!(hint(&p).contains("DNS names go in dns_names"), "{p}");
        only_error(
            &edit(&[(13, r#"address = "0.0.0.0""#)]),
            Some(13),
            "controllers[0].address",
            "0.0.0.0 cannot be a node's address",
        );
        let p = only_error(
            &edit(&[(19, r#"address = "10.0.0.10""#)]),
            Some(19),
            "controllers[1].address",
            "10.0.0.10 is already the address of controllers[0] (line 13)",
        );
        assert_eq!(hint(&p), "every controller needs its own IP address");
        // Compared as addresses, not strings.
        only_error(
            &edit(&[
                (13, r#"address = "fd00::a""#),
                (19, r#"address = "fd00:0::0:a""#),
            ]),
            Some(19),
            "controllers[1].address",
            "fd00::a is already the address of controllers[0] (line 13)",
        );
        let spec = parse_ok(&edit(&[(13, r#"address = "fd00::10""#)])).spec;
        assert_eq!(
            spec.controllers[0].address,
            "fd00::10".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn controller_dns_names() {
        only_error(
            &edit(&[(14, r#"dns_names = ["ok.example.com", "*.example.com"]"#)]),
            Some(14),
            "controllers[0].dns_names[1]",
            "\"*.example.com\" is not a valid DNS name: it has a \"*\" where none is allowed",
        );
        only_error(
            &edit(&[(14, r#"dns_names = ["cp_0"]"#)]),
            Some(14),
            "controllers[0].dns_names[0]",
            "\"cp_0\" is not a valid DNS name: it has the character '_'",
        );
    }

    #[test]
    fn formats() {
        let p = only_error(
            &edit(&[(15, r#"formats = ["rootfs", "tar"]"#)]),
            Some(15),
            "controllers[0].formats[1]",
            "\"tar\" is not a bundle format",
        );
        assert_eq!(
            hint(&p),
            "use some of rootfs, rootfs.tar, cloud-init, ignition"
        );
        let p = only_error(
            &edit(&[(52, r#"formats = ["ignition", "ignition"]"#)]),
            Some(52),
            "node_pools[0].formats[1]",
            "\"ignition\" is listed twice",
        );
        assert_eq!(hint(&p), "remove the duplicate");
        let p = only_error(
            &edit(&[(52, "formats = []")]),
            Some(52),
            "node_pools[0].formats",
            "no formats listed",
        );
        assert_eq!(hint(&p), "list at least one of rootfs, rootfs.tar, cloud-init, ignition, or remove the key to render all of them");
        // Order as written does not matter.
        let spec = parse_ok(&edit(&[(52, r#"formats = ["ignition", "rootfs.tar"]"#)])).spec;
        assert_eq!(
            spec.node_pools[0].formats,
            vec![Format::RootfsTar, Format::Ignition]
        );
    }

    #[test]
    fn an_invalid_name_is_not_also_reported_as_a_clash() {
        let text = edit(&[(12, r#"name = "cp_0""#), (18, r#"name = "cp_0""#)]);
        let keys: Vec<String> = errors(&text).into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["controllers[0].name", "controllers[1].name"]);
    }
}
