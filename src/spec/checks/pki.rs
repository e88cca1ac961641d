//! Checks of `[pki]`, `[pki.external_ca]`, `[pki.generations]` and `[pki.trust]`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use time::OffsetDateTime;

use crate::derive::keys::Algorithm;
use crate::spec::assets::{ca_assets, generation_keys};
use crate::spec::defaults::{
    DEFAULT_ALGORITHM, DEFAULT_CA_VALIDITY, DEFAULT_CERT_VALIDITY, DEFAULT_GENERATION,
    MAX_TRUSTED_GENERATIONS,
};
use crate::spec::locate::join_key;
use crate::spec::raw::{RawExternalCa, RawPki, RawTrust, S};
use crate::spec::syntax::parse_san;
use crate::spec::{ExternalCa, Pki};

use super::Check;

impl Check<'_> {
    /// Returns the PKI and, separately, `not_before` (which the token check needs even
    /// when another PKI key is wrong).
    pub(super) fn pki(
        &mut self,
        raw: Option<S<RawPki>>,
        controller_names: &[String],
    ) -> (Option<Pki>, Option<OffsetDateTime>) {
        let Some(raw) = raw else {
            self.err(
                None,
                "pki.not_before",
                "required key is missing (there is no [pki] table)".to_string(),
                Some("add a [pki] table with not_before = \"2026-11-25T00:00:00Z\", the start of every certificate's validity".to_string()),
            );
            return (None, None);
        };
        let header = raw.span();
        let raw = raw.into_inner();

        let algorithm = self.one_of(
            raw.algorithm.as_ref(),
            "pki.algorithm",
            DEFAULT_ALGORITHM,
            &Algorithm::ALL,
            "is not supported",
        );

        let not_before = self
            .required(
                raw.not_before,
                &header,
                "pki.not_before",
                "not_before = \"2026-11-25T00:00:00Z\"",
            )
            .and_then(|t| self.time(&t, "pki.not_before"));

        let ca_validity = self.duration(
            raw.ca_validity,
            "pki.ca_validity",
            DEFAULT_CA_VALIDITY,
            true,
        );
        let cert_validity = self.duration(
            raw.cert_validity,
            "pki.cert_validity",
            DEFAULT_CERT_VALIDITY,
            true,
        );
        if let (Some((ca, ca_at)), Some((cert, cert_at))) = (&ca_validity, &cert_validity) {
            if cert.value > ca.value {
                self.err(
                    cert_at.clone().or_else(|| ca_at.clone()),
                    "pki.cert_validity",
                    format!("{cert} is longer than ca_validity {ca}"),
                    Some("a certificate cannot outlive its CA; shorten cert_validity or lengthen ca_validity".to_string()),
                );
            }
        }
        if let (Some(not_before), Some((ca, ca_at))) = (not_before, &ca_validity) {
            // X.509 times stop at 9999-12-31; so does `time` without large dates.
            if not_before.checked_add(ca.value).is_none() {
                self.err(
                    ca_at.clone(),
                    "pki.ca_validity",
                    format!("not_before + {ca} ends after the year 9999"),
                    Some("shorten ca_validity".to_string()),
                );
            }
        }

        let mut extra_sans = Vec::new();
        for (i, san) in raw.extra_sans.unwrap_or_default().into_iter().enumerate() {
            match parse_san(san.get_ref()) {
                Ok(host) => extra_sans.push(host),
                Err((message, hint)) => self.err(
                    Some(san.span()),
                    &format!("pki.extra_sans[{i}]"),
                    message,
                    Some(hint),
                ),
            }
        }

        // Absent is fine (`Some(None)`); present but wrong is `None`.
        let external_ca = match raw.external_ca {
            None => Some(None),
            Some(ca) => self.external_ca(ca).map(Some),
        };
        if let Some(Some(_)) = &external_ca {
            // Bumping the CA generation cannot re-key a CA kubeseed does not make.
            if let Some((key, _)) = raw
                .generations
                .as_ref()
                .and_then(|g| g.iter().find(|(k, _)| k.get_ref() == "ca"))
            {
                self.warn(
                    Some(key.span()),
                    "pki.generations.ca",
                    "has no effect: the Kubernetes CA comes from pki.external_ca".to_string(),
                    Some("remove it, or rotate the external CA itself".to_string()),
                );
            }
        }

        let generations = self.generations(raw.generations.unwrap_or_default(), controller_names);
        let has_external_ca = matches!(&external_ca, Some(Some(_)));
        let trust = self.trust(raw.trust.unwrap_or_default(), &generations, has_external_ca);

        let pki = match (
            algorithm,
            not_before,
            ca_validity,
            cert_validity,
            external_ca,
        ) {
            (
                Some(algorithm),
                Some(not_before),
                Some((ca_validity, _)),
                Some((cert_validity, _)),
                Some(external_ca),
            ) => Some(Pki {
                algorithm,
                not_before,
                ca_validity,
                cert_validity,
                extra_sans,
                external_ca,
                generations,
                trust,
            }),
            _ => None,
        };
        (pki, not_before)
    }

    fn external_ca(&mut self, raw: S<RawExternalCa>) -> Option<ExternalCa> {
        let at = raw.span();
        let raw = raw.into_inner();
        let mut path = |value: Option<S<String>>, name: &str| -> Option<PathBuf> {
            let key = format!("pki.external_ca.{name}");
            let Some(value) = value else {
                self.err(
                    Some(at.clone()),
                    &key,
                    "required key is missing".to_string(),
                    Some("external_ca needs both files: external_ca = { cert = \"ca.crt\", key = \"ca.key\" }".to_string()),
                );
                return None;
            };
            if value.get_ref().is_empty() {
                self.err(
                    Some(value.span()),
                    &key,
                    "the path is empty".to_string(),
                    Some(format!("give the PEM file's path, relative to the spec's directory, e.g. {name} = \"ca.{}\"", if name == "cert" { "crt" } else { "key" })),
                );
                return None;
            }
            Some(PathBuf::from(value.into_inner()))
        };
        let cert = path(raw.cert, "cert");
        let key = path(raw.key, "key");
        Some(ExternalCa {
            cert: cert?,
            key: key?,
        })
    }

    fn generations(
        &mut self,
        raw: BTreeMap<S<String>, S<i64>>,
        controller_names: &[String],
    ) -> BTreeMap<String, u32> {
        let valid = generation_keys(controller_names.iter().map(String::as_str));
        let mut out = BTreeMap::new();
        for (key, value) in raw {
            let path = join_key("pki.generations", key.get_ref());
            if !valid.iter().any(|v| v == key.get_ref()) {
                self.err(
                    Some(key.span()),
                    &path,
                    format!("\"{}\" is not an asset with a generation", key.get_ref()),
                    Some(format!("use one of {}", valid.join(", "))),
                );
                continue;
            }
            if let Some(generation) = self.generation_number(&value, &path) {
                out.insert(key.into_inner(), generation);
            }
        }
        out
    }

    /// `[pki.trust]`: for each CA, the generations its trust bundle holds during a CA
    /// rotation. `generations` are the already checked `[pki.generations]` (an invalid
    /// entry there is reported there and counts as the default here).
    fn trust(
        &mut self,
        raw: RawTrust,
        generations: &BTreeMap<String, u32>,
        has_external_ca: bool,
    ) -> BTreeMap<String, Vec<u32>> {
        let cas: Vec<&str> = ca_assets().collect();
        let mut out = BTreeMap::new();
        for (key, value) in raw {
            let path = join_key("pki.trust", key.get_ref());
            let name = key.get_ref().as_str();
            if !cas.contains(&name) {
                self.err(
                    Some(key.span()),
                    &path,
                    format!("\"{name}\" is not a CA"),
                    Some(format!(
                        "[pki.trust] lists the generations each CA trusts; use one of {}",
                        cas.join(", ")
                    )),
                );
                continue;
            }
            let current = generations.get(name).copied().unwrap_or(DEFAULT_GENERATION);
            let at = value.span();
            let entries = value.into_inner();
            if entries.is_empty() {
                self.err(
                    Some(at),
                    &path,
                    "the list is empty: a CA must trust at least its current generation".to_string(),
                    Some(format!(
                        "write {name} = [{current}], or remove the key to trust only the current generation"
                    )),
                );
                continue;
            }
            let mut list: Vec<u32> = Vec::new();
            let mut ok = true;
            for (i, entry) in entries.iter().enumerate() {
                let entry_path = format!("{path}[{i}]");
                let Some(generation) = self.generation_number(entry, &entry_path) else {
                    ok = false;
                    continue;
                };
                if list.contains(&generation) {
                    self.err(
                        Some(entry.span()),
                        &entry_path,
                        format!("generation {generation} is listed twice"),
                        Some("list each generation once".to_string()),
                    );
                    ok = false;
                    continue;
                }
                list.push(generation);
            }
            if entries.len() > MAX_TRUSTED_GENERATIONS {
                self.err(
                    Some(at.clone()),
                    &path,
                    format!(
                        "{} generations are trusted; at most {MAX_TRUSTED_GENERATIONS} are allowed",
                        entries.len()
                    ),
                    Some("a rotation needs only the old and the new CA: drop the generations no node uses any more".to_string()),
                );
                ok = false;
            }
            if ok && !list.contains(&current) {
                self.err(
                    Some(at.clone()),
                    &path,
                    format!("does not include the current generation {current} (pki.generations.{name})"),
                    Some(format!(
                        "the CA that signs must be trusted: add {current}, e.g. {name} = [{}]",
                        {
                            let mut with: Vec<u32> = list.clone();
                            with.push(current);
                            with.sort_unstable();
                            with.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
                        }
                    )),
                );
                ok = false;
            }
            if name == "ca" && has_external_ca && entries.len() > 1 {
                self.err(
                    Some(at),
                    &path,
                    "trusts more than one generation, but the Kubernetes CA comes from pki.external_ca".to_string(),
                    Some("kubeseed cannot derive other generations of your own CA: remove the key (or write ca = [1]) and rotate the external CA yourself".to_string()),
                );
                ok = false;
            }
            if ok {
                list.sort_unstable();
                out.insert(key.into_inner(), list);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::assets::generation_keys;
    use crate::spec::test_support::*;
    use crate::spec::*;

    #[test]
    fn algorithm() {
        for (algorithm, name) in Algorithm::ALL {
            let spec = parse_ok(&edit(&[(26, &format!("algorithm = \"{name}\""))])).spec;
            assert_eq!(spec.pki.algorithm, algorithm);
        }
        let p = only_error(
            &edit(&[(26, r#"algorithm = "rsa-1024""#)]),
            Some(26),
            "pki.algorithm",
            "\"rsa-1024\" is not supported",
        );
        assert_eq!(
            hint(&p),
            "use one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096"
        );
    }

    #[test]
    fn not_before() {
        let nb = |line: &str| parse_ok(&edit(&[(27, line)])).spec.pki.not_before;
        // Converted to UTC; a TOML datetime literal is accepted too.
        assert_eq!(
            nb(r#"not_before = "2026-11-25T01:00:00+01:00""#),
            time::macros::datetime!(2026-11-25 00:00:00 UTC)
        );
        assert_eq!(
            nb("not_before = 2026-11-25T00:00:00Z"),
            time::macros::datetime!(2026-11-25 00:00:00 UTC)
        );
        assert_eq!(
            nb("not_before = 2026-11-24T19:00:00-05:00"),
            time::macros::datetime!(2026-11-25 00:00:00 UTC)
        );
        assert_eq!(
            nb(r#"not_before = "2026-11-25T00:00:00.000Z""#),
            time::macros::datetime!(2026-11-25 00:00:00 UTC)
        );

        let bad = |line: &str, message: &str| {
            only_error(&edit(&[(27, line)]), Some(27), "pki.not_before", message)
        };
        let p = bad(
            r#"not_before = "2026-11-25""#,
            "\"2026-11-25\" is not an RFC 3339 time",
        );
        assert_eq!(hint(&p), "write date, \"T\", time and a zone (\"Z\" or an offset such as +01:00), e.g. \"2026-11-25T00:00:00Z\"");
        bad(
            r#"not_before = "2026-11-25 00:00:00""#,
            "\"2026-11-25 00:00:00\" is not an RFC 3339 time",
        );
        let p = bad(r#"not_before = "2026-11-25T00:00:00.5Z""#, "\"2026-11-25T00:00:00.5Z\" has fractional seconds; certificate times have whole seconds");
        assert_eq!(hint(&p), "drop the fraction: \"2026-11-25T00:00:00Z\"");
        let p = bad(
            "not_before = 2026-11-25T00:00:00",
            "2026-11-25T00:00:00 is not a full RFC 3339 time with a time zone",
        );
        assert_eq!(hint(&p), "add Z for UTC: \"2026-11-25T00:00:00Z\"");
        let p = bad(
            "not_before = 2026-11-25",
            "2026-11-25 is not a full RFC 3339 time with a time zone",
        );
        assert_eq!(
            hint(&p),
            "write a full time in UTC, e.g. \"2026-11-25T00:00:00Z\""
        );
        let p = bad(
            "not_before = 1764028800",
            "expected an RFC 3339 time, found an integer",
        );
        assert_eq!(
            hint(&p),
            "write it as a quoted string, e.g. not_before = \"2026-11-25T00:00:00Z\""
        );
    }

    #[test]
    fn validities() {
        let spec = parse_ok(&edit(&[
            (28, r#"ca_validity = "1.5h""#),
            (29, r#"cert_validity = "1h30m""#),
        ]))
        .spec;
        assert_eq!(spec.pki.ca_validity.value, spec.pki.cert_validity.value);
        assert_eq!(spec.pki.ca_validity.text, "1.5h");

        let p = only_error(
            &edit(&[(28, r#"ca_validity = "10y""#)]),
            Some(28),
            "pki.ca_validity",
            "\"10y\" is not a Go duration: unknown unit \"y\"",
        );
        assert_eq!(
            hint(&p),
            "write a number and a unit (h, m, s, ms, us, ns), e.g. 8760h, 90m or 1h30m"
        );
        let p = only_error(
            &edit(&[(29, r#"cert_validity = "365d""#)]),
            Some(29),
            "pki.cert_validity",
            "\"365d\" is not a Go duration: unknown unit \"d\"",
        );
        assert_eq!(
            hint(&p),
            "Go durations have no days: write \"8760h\" for 365 days"
        );
        only_error(
            &edit(&[(29, r#"cert_validity = "8760""#)]),
            Some(29),
            "pki.cert_validity",
            "\"8760\" is not a Go duration: \"8760\" has no unit",
        );
        let p = only_error(
            &edit(&[(29, r#"cert_validity = "0s""#)]),
            Some(29),
            "pki.cert_validity",
            "\"0s\" is not longer than zero",
        );
        assert_eq!(hint(&p), "use a positive duration, e.g. 8760h");
        only_error(
            &edit(&[(29, r#"cert_validity = "-1h""#)]),
            Some(29),
            "pki.cert_validity",
            "\"-1h\" is not longer than zero",
        );
        let p = only_error(&edit(&[(29, r#"cert_validity = "1.5s""#)]), Some(29), "pki.cert_validity", "\"1.5s\" is not a whole number of seconds; certificate times have one-second precision");
        assert_eq!(hint(&p), "round it, e.g. \"1s\"");

        let p = only_error(
            &edit(&[(28, r#"ca_validity = "8000h""#)]),
            Some(29),
            "pki.cert_validity",
            "8760h is longer than ca_validity 8000h",
        );
        assert_eq!(
            hint(&p),
            "a certificate cannot outlive its CA; shorten cert_validity or lengthen ca_validity"
        );
        // With cert_validity left at its default, the problem points at ca_validity.
        only_error(
            &edit(&[(28, r#"ca_validity = "100h""#), (29, "")]),
            Some(28),
            "pki.cert_validity",
            "8760h is longer than ca_validity 100h",
        );

        only_error(
            &edit(&[(27, r#"not_before = "9999-01-01T00:00:00Z""#), (37, "")]),
            Some(28),
            "pki.ca_validity",
            "not_before + 87600h ends after the year 9999",
        );
    }

    #[test]
    fn extra_sans() {
        let spec = parse_ok(&edit(&[(
            30,
            r#"extra_sans = ["api.example.com", "*.apps.example.com", "192.0.2.1", "2001:db8::1"]"#,
        )]))
        .spec;
        assert_eq!(
            spec.pki.extra_sans,
            vec![
                Host::Dns("api.example.com".into()),
                Host::Dns("*.apps.example.com".into()),
                Host::Ip("192.0.2.1".parse().unwrap()),
                Host::Ip("2001:db8::1".parse().unwrap()),
            ]
        );
        let p = only_error(
            &edit(&[(30, r#"extra_sans = ["ok.example.com", "[2001:db8::1]"]"#)]),
            Some(30),
            "pki.extra_sans[1]",
            "\"[2001:db8::1]\" has brackets",
        );
        assert_eq!(
            hint(&p),
            "write IPv6 SANs without brackets: \"2001:db8::1\""
        );
        let p = only_error(&edit(&[(30, r#"extra_sans = ["api.*.example.com"]"#)]), Some(30), "pki.extra_sans[0]", "\"api.*.example.com\" is neither an IP address nor a valid DNS name: it has a \"*\" where none is allowed");
        assert_eq!(
            hint(&p),
            "a wildcard is only allowed as the whole first label, e.g. *.example.com"
        );
        only_error(&edit(&[(30, r#"extra_sans = ["https://api.example.com"]"#)]), Some(30), "pki.extra_sans[0]", "\"https://api.example.com\" is neither an IP address nor a valid DNS name: it has the character ':'");
    }

    #[test]
    fn external_ca() {
        let spec = parse_ok(&edit(&[(
            30,
            r#"external_ca = { cert = "ca/ca.crt", key = "/etc/ca.key" }"#,
        )]))
        .spec;
        let ca = spec.pki.external_ca.unwrap();
        assert_eq!(
            ca,
            ExternalCa {
                cert: "ca/ca.crt".into(),
                key: "/etc/ca.key".into()
            }
        );
        assert_eq!(
            ca.resolve(Path::new("/work/demo")),
            ExternalCa {
                cert: "/work/demo/ca/ca.crt".into(),
                key: "/etc/ca.key".into()
            }
        );
        let p = only_error(
            &edit(&[(30, r#"external_ca = { cert = "ca.crt" }"#)]),
            Some(30),
            "pki.external_ca.key",
            "required key is missing",
        );
        assert_eq!(
            hint(&p),
            "external_ca needs both files: external_ca = { cert = \"ca.crt\", key = \"ca.key\" }"
        );
        only_error(
            &edit(&[(30, r#"external_ca = { key = "ca.key" }"#)]),
            Some(30),
            "pki.external_ca.cert",
            "required key is missing",
        );
        only_error(
            &edit(&[(30, r#"external_ca = { cert = "", key = "ca.key" }"#)]),
            Some(30),
            "pki.external_ca.cert",
            "the path is empty",
        );
        // A [pki.external_ca] table is the same thing to TOML.
        let text = format!("{BASE}\n[pki.external_ca]\ncert = \"ca.crt\"\nkey = \"ca.key\"\n");
        assert!(parse_ok(&text).spec.pki.external_ca.is_some());
        // Bumping the CA's generation does nothing with an external CA: a warning.
        let parsed = parse_ok(&edit(&[(30, r#"external_ca = { cert = "a", key = "b" }"#)]));
        let w = &parsed.warnings;
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].line, w[0].key.as_str(), w[0].message.as_str()),
            (
                Some(33),
                "pki.generations.ca",
                "has no effect: the Kubernetes CA comes from pki.external_ca"
            )
        );
    }

    #[test]
    fn generations() {
        let spec = parse_ok(&edit(&[(33, "apiserver = 2\netcd-peer-cp-1 = 7")])).spec;
        assert_eq!(spec.pki.generation("apiserver"), 2);
        assert_eq!(spec.pki.generation("etcd-peer-cp-1"), 7);
        assert_eq!(spec.pki.generation("ca"), 1);

        let p = only_error(
            &edit(&[(33, "etcd-server-cp-9 = 2")]),
            Some(33),
            "pki.generations.etcd-server-cp-9",
            "\"etcd-server-cp-9\" is not an asset with a generation",
        );
        let valid = generation_keys(["cp-0", "cp-1", "cp-2"]).join(", ");
        assert_eq!(hint(&p), format!("use one of {valid}"));
        only_error(
            &edit(&[(33, r#""front proxy" = 2"#)]),
            Some(33),
            "pki.generations.\"front proxy\"",
            "\"front proxy\" is not an asset with a generation",
        );
        let p = only_error(
            &edit(&[(33, "ca = 0")]),
            Some(33),
            "pki.generations.ca",
            "0 is not a valid generation",
        );
        assert_eq!(
            hint(&p),
            "generations start at 1 (the default); increase the number to re-key"
        );
        let p = only_error(
            &edit(&[(33, "ca = 4294967296")]),
            Some(33),
            "pki.generations.ca",
            "4294967296 is too large for a generation",
        );
        assert_eq!(hint(&p), "use a number from 1 to 4294967295");
        only_error(
            &edit(&[(33, "ca = 1.5")]),
            Some(33),
            "pki.generations.ca",
            "invalid type: float `1.5`, expected an integer",
        );
    }

    /// BASE with `ca = 1` (line 33) replaced by `generations` and a `[pki.trust]` table
    /// holding `trust` appended; returns the text and the line of `trust`'s first line.
    fn with_trust(generations: &str, trust: &str) -> (String, usize) {
        let text = edit(&[(33, generations)]);
        let line = text.lines().count() + 2;
        (format!("{text}[pki.trust]\n{trust}\n"), line)
    }

    #[test]
    fn trust_lists_generations_per_ca() {
        // Absent: each CA trusts its current generation only.
        let spec = parse_ok(BASE).spec;
        assert!(spec.pki.trust.is_empty());
        assert_eq!(spec.pki.trusted("ca"), vec![1]);
        // Written: sorted; the current generation may be the old or the new one.
        let (text, _) = with_trust(
            "ca = 2",
            "ca = [2, 1]\netcd-ca = [1, 2]\nfront-proxy-ca = [1]",
        );
        let spec = parse_ok(&text).spec;
        assert_eq!(spec.pki.trusted("ca"), vec![1, 2]);
        assert_eq!(spec.pki.trusted("etcd-ca"), vec![1, 2]);
        assert_eq!(spec.pki.trusted("front-proxy-ca"), vec![1]);
        let (text, _) = with_trust("etcd-ca = 3", "etcd-ca = [1, 2, 3]");
        assert_eq!(parse_ok(&text).spec.pki.trusted("etcd-ca"), vec![1, 2, 3]);
    }

    #[test]
    fn trust_unknown_key() {
        let (text, line) = with_trust("ca = 1", "apiserver = [1, 2]");
        let p = only_error(
            &text,
            Some(line),
            "pki.trust.apiserver",
            "\"apiserver\" is not a CA",
        );
        assert_eq!(
            hint(&p),
            "[pki.trust] lists the generations each CA trusts; use one of ca, front-proxy-ca, etcd-ca"
        );
    }

    #[test]
    fn trust_empty_list() {
        let (text, line) = with_trust("etcd-ca = 2", "etcd-ca = []");
        let p = only_error(
            &text,
            Some(line),
            "pki.trust.etcd-ca",
            "the list is empty: a CA must trust at least its current generation",
        );
        assert_eq!(
            hint(&p),
            "write etcd-ca = [2], or remove the key to trust only the current generation"
        );
    }

    #[test]
    fn trust_invalid_or_duplicated_generation() {
        let (text, line) = with_trust("ca = 1", "ca = [1, 0]");
        let p = only_error(
            &text,
            Some(line),
            "pki.trust.ca[1]",
            "0 is not a valid generation",
        );
        assert_eq!(
            hint(&p),
            "generations start at 1 (the default); increase the number to re-key"
        );
        let (text, line) = with_trust("ca = 1", "ca = [1, 2, 1]");
        let p = only_error(
            &text,
            Some(line),
            "pki.trust.ca[2]",
            "generation 1 is listed twice",
        );
        assert_eq!(hint(&p), "list each generation once");
        let (text, line) = with_trust("ca = 1", "ca = [1, \"2\"]");
        only_error(
            &text,
            Some(line),
            "pki.trust.ca[1]",
            "invalid type: string \"2\", expected an integer",
        );
    }

    #[test]
    fn trust_must_hold_the_current_generation() {
        let (text, line) = with_trust("ca = 1\nfront-proxy-ca = 3", "front-proxy-ca = [1, 2]");
        let p = only_error(
            &text,
            Some(line),
            "pki.trust.front-proxy-ca",
            "does not include the current generation 3 (pki.generations.front-proxy-ca)",
        );
        assert_eq!(
            hint(&p),
            "the CA that signs must be trusted: add 3, e.g. front-proxy-ca = [1, 2, 3]"
        );
        // The default generation counts as current.
        let (text, line) = with_trust("ca = 1", "etcd-ca = [2]");
        only_error(
            &text,
            Some(line),
            "pki.trust.etcd-ca",
            "does not include the current generation 1 (pki.generations.etcd-ca)",
        );
    }

    #[test]
    fn trust_at_most_three_generations() {
        let (text, line) = with_trust("ca = 4", "ca = [1, 2, 3, 4]");
        let p = only_error(
            &text,
            Some(line),
            "pki.trust.ca",
            "4 generations are trusted; at most 3 are allowed",
        );
        assert_eq!(
            hint(&p),
            "a rotation needs only the old and the new CA: drop the generations no node uses any more"
        );
    }

    #[test]
    fn trust_of_an_external_ca() {
        let external = r#"external_ca = { cert = "ca.crt", key = "ca.key" }"#;
        let text = format!("{}[pki.trust]\nca = [1, 2]\n", edit(&[(30, external)]));
        let line = text.lines().count();
        let p = only_error(
            &text,
            Some(line),
            "pki.trust.ca",
            "trusts more than one generation, but the Kubernetes CA comes from pki.external_ca",
        );
        assert_eq!(
            hint(&p),
            "kubeseed cannot derive other generations of your own CA: remove the key (or write ca = [1]) and rotate the external CA yourself"
        );
        // One generation, and the other CAs' rotation, are fine with an external CA.
        let text = format!(
            "{}[pki.trust]\nca = [1]\netcd-ca = [1, 2]\n",
            edit(&[(30, external)])
        );
        let spec = parse_ok(&text).spec;
        assert_eq!(spec.pki.trusted("etcd-ca"), vec![1, 2]);
    }
}
