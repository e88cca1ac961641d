//! Checks of `[security]`.

use crate::spec::defaults::{
    DEFAULT_ANONYMOUS_DISCOVERY, DEFAULT_AUTO_APPROVE_NODE_CSRS, DEFAULT_ENCRYPTION_AT_REST,
    DEFAULT_KUBELET_SIGNING_DURATION, DEFAULT_NODE_RESTRICTION, DEFAULT_POD_PIDS_LIMIT,
    DEFAULT_VERIFY_KUBELET_SERVING,
};

use crate::spec::raw::{RawSecurity, S};
use crate::spec::{PodSecurityLevel, Security};

use super::Check;

/// Linux's `PID_MAX_LIMIT` on 64-bit kernels: no `pid_max`, so no pids limit, is larger.
const PID_MAX_LIMIT: i64 = 4_194_304;

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
            audit_log: None,
            service_account_extend_token_expiration: None,
            deny_service_external_ips: None,
            strong_tls_ciphers: None,
            seccomp_default: None,
            pod_pids_limit: None,
            pod_security: None,
            private_kubelet_files: None,
        });
        let defaults = self.defaults();
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
            None => defaults.node_self_delete && node_restriction,
        };
        let kubelet_signing_duration = self.duration(
            raw.kubelet_signing_duration,
            "security.kubelet_signing_duration",
            DEFAULT_KUBELET_SIGNING_DURATION,
            false,
        );
        let pod_pids_limit = match raw.pod_pids_limit {
            None => defaults.pod_pids_limit,
            Some(limit)
                if limit.get_ref() == &-1 || (1..=PID_MAX_LIMIT).contains(limit.get_ref()) =>
            {
                Some(limit.into_inner())
            }
            Some(limit) => {
                self.err(
                    Some(limit.span()),
                    "security.pod_pids_limit",
                    format!(
                        "{} is not a process limit: it must be from 1 to {PID_MAX_LIMIT} \
                         (Linux's largest pid_max), or -1 for no limit",
                        limit.get_ref()
                    ),
                    Some(format!(
                        "e.g. pod_pids_limit = {DEFAULT_POD_PIDS_LIMIT}, or -1 for the kubelet's \
                         own default (unlimited)"
                    )),
                );
                None
            }
        };
        let pod_security = self.one_of(
            raw.pod_security.as_ref(),
            "security.pod_security",
            defaults.pod_security,
            &PodSecurityLevel::ALL.map(|(level, name)| (Some(level), name)),
            "is not a Pod Security Standard level",
        )?;
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
            audit_log: raw.audit_log.unwrap_or(defaults.audit_log),
            service_account_extend_token_expiration: raw
                .service_account_extend_token_expiration
                .unwrap_or(defaults.service_account_extend_token_expiration),
            deny_service_external_ips: raw
                .deny_service_external_ips
                .unwrap_or(defaults.deny_service_external_ips),
            strong_tls_ciphers: raw
                .strong_tls_ciphers
                .unwrap_or(defaults.strong_tls_ciphers),
            seccomp_default: raw.seccomp_default.unwrap_or(defaults.seccomp_default),
            pod_pids_limit,
            pod_security,
            private_kubelet_files: raw
                .private_kubelet_files
                .unwrap_or(defaults.private_kubelet_files),
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

#[cfg(test)]
mod version_3 {
    use crate::spec::test_support::*;
    use crate::spec::PodSecurityLevel;

    /// What a version 3 spec gets for the hardening keys it leaves out, that version 2 keeps
    /// each at Kubernetes' own default, and that each can be relaxed in version 3 (or set in
    /// version 1).
    #[test]
    fn version_3_defaults() {
        let v2 = parse_ok(&edit(&[(1, "version = 2")])).spec.security;
        let v3 = parse_ok(&edit(&[(1, "version = 3")])).spec.security;
        assert!(!v2.audit_log && v3.audit_log);
        assert!(
            v2.service_account_extend_token_expiration
                && !v3.service_account_extend_token_expiration
        );
        assert!(!v2.deny_service_external_ips && v3.deny_service_external_ips);
        assert!(!v2.strong_tls_ciphers && v3.strong_tls_ciphers);
        assert!(!v2.seccomp_default && v3.seccomp_default);
        assert_eq!((v2.pod_pids_limit, v3.pod_pids_limit), (None, Some(4096)));
        assert_eq!(
            (v2.pod_security, v3.pod_security),
            (None, Some(PodSecurityLevel::Baseline))
        );
        assert!(!v2.private_kubelet_files && v3.private_kubelet_files);
        // Each relaxed in version 3.
        let relaxed = parse_ok(&edit(&[
            (1, "version = 3"),
            (
                48,
                "audit_log = false\nservice_account_extend_token_expiration = true\n\
                 deny_service_external_ips = false\nstrong_tls_ciphers = false\n\
                 seccomp_default = false\npod_pids_limit = -1\npod_security = \"privileged\"\n\
                 private_kubelet_files = false",
            ),
        ]))
        .spec
        .security;
        assert!(!relaxed.audit_log && relaxed.service_account_extend_token_expiration);
        assert!(!relaxed.deny_service_external_ips && !relaxed.strong_tls_ciphers);
        assert!(!relaxed.seccomp_default && !relaxed.private_kubelet_files);
        assert_eq!(relaxed.pod_pids_limit, Some(-1));
        assert_eq!(relaxed.pod_security, Some(PodSecurityLevel::Privileged));
        // And opted into in version 1.
        let v1 = parse_ok(&edit(&[(
            48,
            "audit_log = true\npod_security = \"restricted\"\npod_pids_limit = 1024",
        )]))
        .spec
        .security;
        assert!(v1.audit_log);
        assert_eq!(v1.pod_security, Some(PodSecurityLevel::Restricted));
        assert_eq!(v1.pod_pids_limit, Some(1024));
    }

    #[test]
    fn bad_pids_limit_and_level() {
        for bad in ["0", "-2", "4194305"] {
            let p = only_error(
                &edit(&[(48, &format!("pod_pids_limit = {bad}"))]),
                Some(48),
                "security.pod_pids_limit",
                &format!(
                    "{bad} is not a process limit: it must be from 1 to 4194304 (Linux's \
                     largest pid_max), or -1 for no limit"
                ),
            );
            assert!(hint(&p).contains("pod_pids_limit = 4096"), "{p}");
        }
        let p = only_error(
            &edit(&[(48, "pod_security = \"strict\"")]),
            Some(48),
            "security.pod_security",
            "\"strict\" is not a Pod Security Standard level",
        );
        assert_eq!(hint(&p), "use one of privileged, baseline, restricted");
    }
}
