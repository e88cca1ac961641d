//! Checks of `[addons]`.

use crate::spec::defaults::DEFAULT_KUBE_PROXY_MODE;
use crate::spec::raw::RawAddons;
use crate::spec::{Addons, ProxyMode};

use super::Check;

impl Check<'_> {
    pub(super) fn addons(&mut self, raw: Option<RawAddons>) -> Option<Addons> {
        let raw = raw.unwrap_or(RawAddons {
            coredns: None,
            kube_proxy: None,
            kube_proxy_mode: None,
        });
        let kube_proxy_mode = self.one_of(
            raw.kube_proxy_mode.as_ref(),
            "addons.kube_proxy_mode",
            DEFAULT_KUBE_PROXY_MODE,
            &ProxyMode::ALL,
            "is not a kube-proxy mode",
        );
        Some(Addons {
            coredns: raw.coredns.unwrap_or(self.defaults().coredns),
            kube_proxy: raw.kube_proxy.unwrap_or(self.defaults().kube_proxy),
            kube_proxy_mode: kube_proxy_mode?,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::test_support::*;
    use crate::spec::*;

    #[test]
    fn defaults_and_modes() {
        let spec = parse_ok(&edit(&[])).spec;
        assert_eq!(
            spec.addons,
            Addons {
                coredns: false,
                kube_proxy: false,
                kube_proxy_mode: ProxyMode::Iptables,
            }
        );
        for (name, mode) in ProxyMode::ALL.map(|(m, n)| (n, m)) {
            let text = format!(
                "{}\n[addons]\ncoredns = true\nkube_proxy = true\nkube_proxy_mode = \"{name}\"\n",
                edit(&[])
            );
            let addons = parse_ok(&text).spec.addons;
            assert_eq!(
                (addons.coredns, addons.kube_proxy, addons.kube_proxy_mode),
                (true, true, mode)
            );
        }
    }

    #[test]
    fn unknown_mode() {
        let text = format!("{}\n[addons]\nkube_proxy_mode = \"userspace\"\n", edit(&[]));
        let line = text.lines().count();
        let p = only_error(
            &text,
            Some(line),
            "addons.kube_proxy_mode",
            "\"userspace\" is not a kube-proxy mode",
        );
        assert_eq!(hint(&p), "use one of iptables, nftables, ipvs");
    }
}
