//! Checks of `[bootstrap_token]`.

use time::OffsetDateTime;

use crate::spec::defaults::{
    DEFAULT_TOKEN_DESCRIPTION, DEFAULT_TOKEN_EXTRA_GROUPS, DEFAULT_TOKEN_GENERATION,
    DEFAULT_TOKEN_USAGES,
};
use crate::spec::raw::{RawBootstrapToken, S};
use crate::spec::syntax::is_bootstrap_group;
use crate::spec::{BootstrapToken, TokenUsage};

use super::{Check, NamedList};

impl Check<'_> {
    pub(super) fn bootstrap_token(
        &mut self,
        raw: Option<S<RawBootstrapToken>>,
        not_before: Option<OffsetDateTime>,
    ) -> Option<BootstrapToken> {
        let raw = raw.map(|r| r.into_inner()).unwrap_or(RawBootstrapToken {
            generation: None,
            expires: None,
            usages: None,
            extra_groups: None,
            description: None,
        });

        let generation = match &raw.generation {
            None => Some(DEFAULT_TOKEN_GENERATION),
            Some(value) => self.generation_number(value, "bootstrap_token.generation"),
        };

        let expires = match &raw.expires {
            None => Some(None),
            Some(value) => match self.time(value, "bootstrap_token.expires") {
                None => None,
                Some(expires) => {
                    if let Some(not_before) = not_before {
                        if expires <= not_before {
                            let fmt = crate::rfc3339::format;
                            self.err(
                                Some(value.span()),
                                "bootstrap_token.expires",
                                format!("{} is not after pki.not_before {}", fmt(expires), fmt(not_before)),
                                Some("a token that expires before the certificates start can never be used; set a later time, or remove expires for a token that never expires".to_string()),
                            );
                        }
                    }
                    Some(Some(expires))
                }
            },
        };

        let usages = self.usages(raw.usages);

        let extra_groups = self.extra_groups(raw.extra_groups);

        let description = match raw.description {
            None => Some(DEFAULT_TOKEN_DESCRIPTION.to_string()),
            Some(d) if d.get_ref().chars().any(char::is_control) => {
                self.err(
                    Some(d.span()),
                    "bootstrap_token.description",
                    "the description contains a line break or another control character"
                        .to_string(),
                    Some("write it on one line".to_string()),
                );
                None
            }
            Some(d) => Some(d.into_inner()),
        };

        Some(BootstrapToken {
            generation: generation?,
            expires: expires?,
            usages: usages?,
            extra_groups: extra_groups?,
            description: description?,
        })
    }

    /// Each group as kube-apiserver accepts it (else it rejects the token), no duplicates,
    /// in the order written.
    fn extra_groups(&mut self, raw: Option<Vec<S<String>>>) -> Option<Vec<String>> {
        let Some(groups) = raw else {
            return Some(
                DEFAULT_TOKEN_EXTRA_GROUPS
                    .iter()
                    .map(|g| g.to_string())
                    .collect(),
            );
        };
        let mut extra_groups: Vec<String> = Vec::new();
        let mut groups_ok = true;
        for (i, group) in groups.into_iter().enumerate() {
            let key = format!("bootstrap_token.extra_groups[{i}]");
            if !is_bootstrap_group(group.get_ref()) {
                groups_ok = false;
                self.err(
                    Some(group.span()),
                    &key,
                    format!("\"{}\" is not a valid bootstrap token group", group.get_ref()),
                    Some("start with system:bootstrappers: and continue with a-z, 0-9, \":\" or \"-\", ending in a letter or digit; kube-apiserver rejects the token otherwise".to_string()),
                );
            } else if extra_groups.contains(group.get_ref()) {
                groups_ok = false;
                self.err(
                    Some(group.span()),
                    &key,
                    format!("\"{}\" is listed twice", group.get_ref()),
                    Some("remove the duplicate".to_string()),
                );
            } else {
                extra_groups.push(group.into_inner());
            }
        }
        groups_ok.then_some(extra_groups)
    }

    fn usages(&mut self, raw: Option<S<Vec<S<String>>>>) -> Option<Vec<TokenUsage>> {
        let Some(raw) = raw else {
            return Some(DEFAULT_TOKEN_USAGES.to_vec());
        };
        let key = "bootstrap_token.usages";
        let at = raw.span();
        let usages = self.named_list(
            raw,
            key,
            |s| TokenUsage::from_name(s).ok_or_else(|| format!("\"{s}\" is not a token usage")),
            NamedList {
                plural: "usages",
                use_hint: "use authentication, signing or both".to_string(),
                empty_hint: "list authentication, signing or both (the default)".to_string(),
            },
        )?;
        // Allowed, since a user may want exactly this, but it breaks `kubeseed join`.
        if !usages.contains(&TokenUsage::Authentication) {
            self.warn(
                Some(at.clone()),
                key,
                "without authentication, nodes cannot join with this token".to_string(),
                Some("add \"authentication\" unless nodes join some other way".to_string()),
            );
        }
        if !usages.contains(&TokenUsage::Signing) {
            self.warn(
                Some(at),
                key,
                "without signing, the bootstrapsigner removes the cluster-info signature and `kubeadm join` discovery fails".to_string(),
                Some("add \"signing\" unless nodes discover the CA some other way".to_string()),
            );
        }
        Some(usages)
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::test_support::*;
    use crate::spec::*;

    #[test]
    fn token_generation_and_expiry() {
        only_error(
            &edit(&[(36, "generation = 0")]),
            Some(36),
            "bootstrap_token.generation",
            "0 is not a valid generation",
        );
        only_error(
            &edit(&[(36, "generation = -3")]),
            Some(36),
            "bootstrap_token.generation",
            "-3 is not a valid generation",
        );
        let spec = parse_ok(&edit(&[(37, "")])).spec;
        assert_eq!(spec.bootstrap_token.expires, None);
        let p = only_error(
            &edit(&[(37, r#"expires = "2026-11-25T00:00:00Z""#)]),
            Some(37),
            "bootstrap_token.expires",
            "2026-11-25T00:00:00Z is not after pki.not_before 2026-11-25T00:00:00Z",
        );
        assert!(
            hint(&p).starts_with(
                "a token that expires before the certificates start can never be used"
            ),
            "{p}"
        );
        only_error(
            &edit(&[(37, r#"expires = "tomorrow""#)]),
            Some(37),
            "bootstrap_token.expires",
            "\"tomorrow\" is not an RFC 3339 time",
        );
        // Both wrong: both reported.
        let problems = errors(&edit(&[
            (27, r#"not_before = "x""#),
            (37, r#"expires = "y""#),
        ]));
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["pki.not_before", "bootstrap_token.expires"]);
    }

    #[test]
    fn token_usages() {
        let p = only_error(
            &edit(&[(38, "usages = []")]),
            Some(38),
            "bootstrap_token.usages",
            "no usages listed",
        );
        assert_eq!(
            hint(&p),
            "list authentication, signing or both (the default)"
        );
        let p = only_error(
            &edit(&[(38, r#"usages = ["authentication", "auth"]"#)]),
            Some(38),
            "bootstrap_token.usages[1]",
            "\"auth\" is not a token usage",
        );
        assert_eq!(hint(&p), "use authentication, signing or both");
        only_error(
            &edit(&[(38, r#"usages = ["signing", "signing"]"#)]),
            Some(38),
            "bootstrap_token.usages[1]",
            "\"signing\" is listed twice",
        );
        let parsed = parse_ok(&edit(&[(38, r#"usages = ["signing"]"#)]));
        assert_eq!(
            parsed.spec.bootstrap_token.usages,
            vec![TokenUsage::Signing]
        );
        assert_eq!(parsed.warnings.len(), 1);
        assert_eq!(
            parsed.warnings[0].message,
            "without authentication, nodes cannot join with this token"
        );
        let parsed = parse_ok(&edit(&[(38, r#"usages = ["authentication"]"#)]));
        assert_eq!(parsed.warnings[0].line, Some(38));
        assert!(parsed.warnings[0].message.starts_with("without signing"));
    }

    #[test]
    fn token_extra_groups() {
        let ok = parse_ok(&edit(&[(
            39,
            r#"extra_groups = ["system:bootstrappers:a", "system:bootstrappers:x:y-1"]"#,
        )]));
        assert_eq!(
            ok.spec.bootstrap_token.extra_groups,
            ["system:bootstrappers:a", "system:bootstrappers:x:y-1"]
        );
        assert!(parse_ok(&edit(&[(39, "extra_groups = []")]))
            .spec
            .bootstrap_token
            .extra_groups
            .is_empty());
        for bad in [
            "system:nodes",
            "system:bootstrappers:",
            "system:bootstrappers:a-",
            "system:bootstrappers:A",
            "system:bootstrappers:a b",
        ] {
            let p = only_error(
                &edit(&[(39, &format!("extra_groups = [\"{bad}\"]"))]),
                Some(39),
                "bootstrap_token.extra_groups[0]",
                &format!("\"{bad}\" is not a valid bootstrap token group"),
            );
            assert!(
                hint(&p).starts_with("start with system:bootstrappers:"),
                "{p}"
            );
        }
        let at_limit = format!("system:bootstrappers:{}", "a".repeat(256));
        parse_ok(&edit(&[(39, &format!("extra_groups = [\"{at_limit}\"]"))]));
        let over = format!("system:bootstrappers:{}", "a".repeat(257));
        only_error(
            &edit(&[(39, &format!("extra_groups = [\"{over}\"]"))]),
            Some(39),
            "bootstrap_token.extra_groups[0]",
            &format!("\"{over}\" is not a valid bootstrap token group"),
        );
        only_error(
            &edit(&[(
                39,
                r#"extra_groups = ["system:bootstrappers:a", "system:bootstrappers:a"]"#,
            )]),
            Some(39),
            "bootstrap_token.extra_groups[1]",
            "\"system:bootstrappers:a\" is listed twice",
        );
    }

    #[test]
    fn token_description() {
        let p = only_error(
            &edit(&[(40, r#"description = "two\nlines""#)]),
            Some(40),
            "bootstrap_token.description",
            "the description contains a line break or another control character",
        );
        assert_eq!(hint(&p), "write it on one line");
        let spec = parse_ok(&edit(&[(40, r#"description = """#)])).spec;
        assert_eq!(spec.bootstrap_token.description, "");
    }
}
