//! Checks of `[security]`.

use crate::spec::defaults::{
    DEFAULT_ANONYMOUS_DISCOVERY, DEFAULT_AUTO_APPROVE_NODE_CSRS, DEFAULT_ENCRYPTION_AT_REST,
    DEFAULT_KUBELET_SIGNING_DURATION, DEFAULT_NODE_RESTRICTION, DEFAULT_VERIFY_KUBELET_SERVING,
};
use crate::spec::raw::{RawSecurity, S};
use crate::spec::Security;

use super::Check;

impl Check<'_> {
    pub(super) fn security(&mut self, raw: Option<S<RawSecurity>>) -> Option<Security> {
        let raw = raw.map(|r| r.into_inner()).unwrap_or(RawSecurity {
            node_restriction: None,
            auto_approve_node_csrs: None,
            anonymous_discovery: None,
            verify_kubelet_serving: None,
            kubelet_signing_duration: None,
            encryption_at_rest: None,
            node_self_delete: None,
        });
        let node_restriction = raw.node_restriction.unwrap_or(DEFAULT_NODE_RESTRICTION);
        let node_self_delete = match raw.node_self_delete {
            Some(value) if *value.get_ref() && !node_restriction => {
                self.err(
                    Some(value.span()),
                    "security.node_self_delete",
                    "needs security.node_restriction = true: without the NodeRestriction \
                     admission plugin every kubelet could delete every Node"
                        .to_string(),
                    Some(
                        "keep node_restriction = true, or write node_self_delete = false"
                            .to_string(),
                    ),
                );
                false
            }
            Some(value) => value.into_inner(),
            // Version 2's default follows node_restriction: never an error for a key not written.
            None => self.defaults().node_self_delete && node_restriction,
        };
        let kubelet_signing_duration = self.duration(
            raw.kubelet_signing_duration,
            "security.kubelet_signing_duration",
            DEFAULT_KUBELET_SIGNING_DURATION,
            false,
        );
        Some(Security {
            node_restriction,
            auto_approve_node_csrs: raw
                .auto_approve_node_csrs
                .unwrap_or(DEFAULT_AUTO_APPROVE_NODE_CSRS),
            anonymous_discovery: raw
                .anonymous_discovery
                .unwrap_or(DEFAULT_ANONYMOUS_DISCOVERY),
            verify_kubelet_serving: raw
                .verify_kubelet_serving
                .unwrap_or(DEFAULT_VERIFY_KUBELET_SERVING),
            kubelet_signing_duration: kubelet_signing_duration?.0,
            encryption_at_rest: raw.encryption_at_rest.unwrap_or(DEFAULT_ENCRYPTION_AT_REST),
            node_self_delete,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::test_support::*;

    #[test]
    fn security() {
        let spec = parse_ok(&edit(&[
            (46, "verify_kubelet_serving = true"),
            (47, r#"kubelet_signing_duration = "1.5h""#),
        ]))
        .spec;
        assert!(spec.security.verify_kubelet_serving);
        assert_eq!(spec.security.kubelet_signing_duration.text, "1.5h");
        assert_eq!(
            spec.security.kubelet_signing_duration.value,
            time::Duration::minutes(90)
        );
        only_error(
            &edit(&[(47, r#"kubelet_signing_duration = "0""#)]),
            Some(47),
            "security.kubelet_signing_duration",
            "\"0\" is not longer than zero",
        );
        // Not a certificate period of ours, so sub-second is the flag's business.
        parse_ok(&edit(&[(47, r#"kubelet_signing_duration = "1.5s""#)]));
    }
}
