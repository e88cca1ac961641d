//! The checks: turning the serde mirror into a [`Spec`], reporting every
//! problem. This file has the document-level checks (TOML syntax, serde's errors,
//! `version`), the whole spec, and the value checks several sections share; each
//! section of the spec has its own file.

use std::ops::Range;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::duration::GoDuration;
use crate::spec::defaults::{version_defaults, VersionDefaults, LATEST_SPEC_VERSION};
use crate::spec::locate::{earlier_key, leaf, path_at, table_name, Entry};
use crate::spec::raw::{RawSpec, S};
use crate::spec::syntax::a;
use crate::spec::{sort_by_line, Spec, SpecErrors, SpecProblem, SpecVersion};

mod addons;
mod cluster;
mod gitops;
mod nodes;
mod pki;
mod security;
mod token;

type Span = Range<usize>;

/// Collects problems while turning the serde mirror into a [`Spec`].
/// The words of one [`Check::named_list`]'s messages.
struct NamedList {
    /// `no <plural> listed`.
    plural: &'static str,
    /// The hint beside an item that does not parse.
    use_hint: String,
    empty_hint: String,
}

pub(super) struct Check<'a> {
    pub(super) file: &'a str,
    pub(super) text: &'a str,
    /// The spec's version, once [`Check::version`] has read it: its defaults apply.
    pub(super) version: SpecVersion,
    pub(super) errors: Vec<SpecProblem>,
    pub(super) warnings: Vec<SpecProblem>,
}

/// A name that must be unique among controllers and node pools (they share `nodes/`).
struct NameUse {
    name: String,
    /// `controllers[0]`, `node_pools[1]`.
    owner: String,
    at: Span,
    /// An invalid name is already reported; a clash on it as well would be noise.
    valid: bool,
}

/// The keys of `[addons]`, which users may well write into `[cluster]`.
const ADDON_KEYS: [&str; 3] = ["coredns", "kube_proxy", "kube_proxy_mode"];

impl<'a> Check<'a> {
    fn line(&self, at: &Span) -> usize {
        // Spans are byte offsets; count newlines before the start.
        self.text
            .as_bytes()
            .iter()
            .take(at.start)
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    fn problem(
        &self,
        at: Option<Span>,
        key: &str,
        message: String,
        hint: Option<String>,
    ) -> SpecProblem {
        SpecProblem {
            file: self.file.to_string(),
            line: at.map(|at| self.line(&at)),
            key: key.to_string(),
            message,
            hint,
        }
    }

    pub(super) fn err(
        &mut self,
        at: Option<Span>,
        key: &str,
        message: String,
        hint: Option<String>,
    ) {
        let problem = self.problem(at, key, message, hint);
        self.errors.push(problem);
    }

    fn warn(&mut self, at: Option<Span>, key: &str, message: String, hint: Option<String>) {
        let problem = self.problem(at, key, message, hint);
        self.warnings.push(problem);
    }

    pub(super) fn into_errors(mut self) -> SpecErrors {
        sort_by_line(&mut self.errors);
        SpecErrors(self.errors)
    }

    // --- syntax, serde and version ---------------------------------------------------

    pub(super) fn syntax_problem(&self, error: &toml::de::Error, entries: &[Entry]) -> SpecProblem {
        let at = error.span();
        // A key set twice: name it (the entries end before it, at the key set last).
        if error.message() == "duplicate key" {
            let written = at.as_ref().and_then(|at| self.text.get(at.clone()));
            let key = written.map(|k| k.trim().trim_matches('"'));
            if let Some(path) = key.and_then(|k| earlier_key(entries, at.as_ref()?.start, k)) {
                let hint = format!(
                    "remove one of the two `{} = ...` lines in {}",
                    leaf(&path),
                    table_name(&path)
                );
                return self.problem(
                    at,
                    &path,
                    "set twice: this key is already set above".to_string(),
                    Some(hint),
                );
            }
        }
        let key = at
            .as_ref()
            .map(|at| path_at(entries, at.start))
            .unwrap_or_default();
        let column = at.as_ref().map(|at| {
            let start = at.start.min(self.text.len());
            let line_start = self
                .text
                .as_bytes()
                .iter()
                .take(start)
                .rposition(|b| *b == b'\n')
                .map_or(0, |nl| nl + 1);
            self.text
                .get(line_start..start)
                .map_or(start - line_start, |s| s.chars().count())
                + 1
        });
        let hint = match column {
            Some(column) => format!(
                "fix the TOML syntax at column {column} (strings need \"quotes\", tables [headers])"
            ),
            None => "fix the TOML syntax (strings need \"quotes\", tables [headers])".to_string(),
        };
        self.problem(
            at,
            &key,
            format!("invalid TOML: {}", error.message()),
            Some(hint),
        )
    }

    /// Checks `version`. Returns the one problem to report alone when the file is of
    /// another version; records (and returns `None` for) a missing version.
    pub(super) fn version(&mut self, table: &Spanned<DeTable<'_>>) -> Option<SpecProblem> {
        let Some((_, value)) = table
            .get_ref()
            .iter()
            .find(|(k, _)| k.get_ref() == "version")
        else {
            self.err(
                None,
                "version",
                "required key is missing".to_string(),
                Some(format!(
                    "add version = {} as the first line",
                    LATEST_SPEC_VERSION.number()
                )),
            );
            return None;
        };
        let at = Some(value.span());
        match value.get_ref() {
            DeValue::Integer(int) => {
                let n = i64::from_str_radix(int.as_str(), int.radix()).ok();
                let latest = LATEST_SPEC_VERSION.number();
                match n.and_then(SpecVersion::from_number) {
                    Some(v) => {
                        self.version = v;
                        None
                    }
                    None if n.is_some_and(|n| n > latest) => Some(self.problem(
                        at,
                        "version",
                        format!(
                            "version {} is not supported; this kubeseed reads versions 1 to {latest}",
                            int.as_str()
                        ),
                        Some(format!(
                            "use a kubeseed release that reads version {}, or write a version {latest} spec",
                            int.as_str()
                        )),
                    )),
                    None => Some(self.problem(
                        at,
                        "version",
                        format!("{} is not a spec version", int.as_str()),
                        Some(format!("write version = {latest}")),
                    )),
                }
            }
            other => Some(self.problem(
                at,
                "version",
                format!("expected an integer version, found {}", a(other.type_str())),
                Some(format!(
                    "write version = {} (no quotes)",
                    LATEST_SPEC_VERSION.number()
                )),
            )),
        }
    }

    /// Rewrites one of serde's messages in the spec's own terms, with the key it is about.
    pub(super) fn serde_problem(&self, error: &toml::de::Error, entries: &[Entry]) -> SpecProblem {
        let at = error.span();
        let path = at
            .as_ref()
            .map(|at| path_at(entries, at.start))
            .unwrap_or_default();
        let message = error.message();

        if let Some(rest) = message.strip_prefix("unknown field `") {
            // An unknown [[array]] of tables is located at its first element; name the key.
            let path = match path.strip_suffix(']').and_then(|p| p.rsplit_once('[')) {
                Some((array, _)) => array.to_string(),
                None => path,
            };
            let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
            let hint = match tail.strip_prefix(", expected ") {
                // An add-on key anywhere else: say where it goes.
                _ if ADDON_KEYS.contains(&name) => {
                    format!("`{name}` belongs in the [addons] table: write it under [addons]")
                }
                Some(expected) => format!("expected {expected}"),
                None => "this table takes no keys".to_string(),
            };
            return self.problem(
                at,
                &path,
                format!("unknown key `{name}` in {}", table_name(&path)),
                Some(hint),
            );
        }

        // serde speaks Rust ("i64", "sequence", "map"); users wrote TOML.
        let message = message
            .replace("expected i64", "expected an integer")
            .replace("expected a sequence", "expected an array")
            .replace("invalid type: map", "invalid type: table")
            .replace("invalid type: sequence", "invalid type: array")
            .replace("floating point", "float");
        let leaf = leaf(&path);
        let hint = if message.contains("expected a string") {
            format!("quote the value: {leaf} = \"...\"")
        } else if message.contains("expected an integer") {
            format!("write a whole number without quotes, e.g. {leaf} = 1")
        } else if message.contains("expected a boolean") {
            format!("write {leaf} = true or {leaf} = false, without quotes")
        } else if message.contains("expected an array") {
            if path == "controllers" || path == "node_pools" {
                format!("write each entry as its own [[{path}]] table")
            } else {
                format!("write a list, e.g. {leaf} = [\"...\"]")
            }
        } else if message.contains("expected a table") {
            format!("write it as a [{path}] table")
        } else {
            "see the spec schema in SPEC.md and the README's table of keys".to_string()
        };
        self.problem(at, &path, message, Some(hint))
    }

    /// A required key: reports it missing (at its table's header) and returns `None`.
    fn required<T>(
        &mut self,
        value: Option<S<T>>,
        table_at: &Span,
        key: &str,
        example: &str,
    ) -> Option<S<T>> {
        if value.is_none() {
            self.err(
                Some(table_at.clone()),
                key,
                "required key is missing".to_string(),
                Some(format!("add {example} to {}", table_name(key))),
            );
        }
        value
    }

    /// The defaults of this spec's version.
    fn defaults(&self) -> VersionDefaults {
        version_defaults(self.version)
    }

    // --- the whole spec ----------------------------------------------------------------

    pub(super) fn spec(&mut self, raw: RawSpec) -> Option<Spec> {
        let mut names = Vec::new();
        let cluster = self.cluster(raw.cluster);
        let controllers = self.controllers(raw.controllers, &mut names);
        let node_pools = self.node_pools(raw.node_pools, &mut names);
        self.unique_names(&names);
        // Every controller name as written (even a wrong one), so a generation key for it
        // is not reported on top of the name.
        let mut controller_names: Vec<String> = Vec::new();
        for n in names.iter().filter(|n| n.owner.starts_with("controllers[")) {
            if !controller_names.contains(&n.name) {
                controller_names.push(n.name.clone());
            }
        }
        let (pki, not_before) = self.pki(raw.pki, &controller_names);
        let bootstrap_token = self.bootstrap_token(raw.bootstrap_token, not_before);
        let security = self.security(raw.security);
        let addons = self.addons(raw.addons);
        let gitops = self.gitops(raw.gitops);
        Some(Spec {
            version: self.version,
            cluster: cluster?,
            controllers,
            pki: pki?,
            bootstrap_token: bootstrap_token?,
            security: security?,
            addons: addons?,
            node_pools,
            gitops: gitops?,
        })
    }

    /// One name from a fixed set (`pki.algorithm`, `addons.kube_proxy_mode`), or `default`
    /// when absent; an unknown name is reported as `"<name>" <refusal>` with every choice.
    fn one_of<T: Copy>(
        &mut self,
        raw: Option<&S<String>>,
        key: &str,
        default: T,
        all: &[(T, &'static str)],
        refusal: &str,
    ) -> Option<T> {
        let Some(name) = raw else {
            return Some(default);
        };
        let found = all
            .iter()
            .find(|(_, n)| n == name.get_ref())
            .map(|(v, _)| *v);
        if found.is_none() {
            let names: Vec<&str> = all.iter().map(|(_, n)| *n).collect();
            self.err(
                Some(name.span()),
                key,
                format!("\"{}\" {refusal}", name.get_ref()),
                Some(format!("use one of {}", names.join(", "))),
            );
        }
        found
    }

    /// A non-empty list of names (`formats`, `usages`, age recipients): each item parsed
    /// (`parse` says what is wrong with one, never quoting what must not be shown) and
    /// listed once, each problem reported on its item; sorted, so that reordering the list
    /// changes nothing.
    fn named_list<T: Ord>(
        &mut self,
        raw: S<Vec<S<String>>>,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
        words: NamedList,
    ) -> Option<Vec<T>> {
        if raw.get_ref().is_empty() {
            self.err(
                Some(raw.span()),
                key,
                format!("no {} listed", words.plural),
                Some(words.empty_hint),
            );
            return None;
        }
        let mut values = Vec::new();
        let mut ok = true;
        for (i, item) in raw.into_inner().into_iter().enumerate() {
            let item_key = format!("{key}[{i}]");
            match parse(item.get_ref()) {
                Err(problem) => {
                    ok = false;
                    self.err(
                        Some(item.span()),
                        &item_key,
                        problem,
                        Some(words.use_hint.clone()),
                    );
                }
                Ok(value) if values.contains(&value) => {
                    ok = false;
                    self.err(
                        Some(item.span()),
                        &item_key,
                        format!("\"{}\" is listed twice", item.get_ref()),
                        Some("remove the duplicate".to_string()),
                    );
                }
                Ok(value) => values.push(value),
            }
        }
        values.sort();
        ok.then_some(values)
    }

    /// Generations count from 1 and are u32 (they go into HKDF labels).
    fn generation_number(&mut self, value: &S<i64>, key: &str) -> Option<u32> {
        let n = *value.get_ref();
        let problem = if n < 1 {
            (
                format!("{n} is not a valid generation"),
                "generations start at 1 (the default); increase the number to re-key".to_string(),
            )
        } else {
            match u32::try_from(n) {
                Ok(n) => return Some(n),
                Err(_) => (
                    format!("{n} is too large for a generation"),
                    format!("use a number from 1 to {}", u32::MAX),
                ),
            }
        };
        self.err(Some(value.span()), key, problem.0, Some(problem.1));
        None
    }

    /// An RFC 3339 time (string or TOML offset datetime), in UTC, whole seconds.
    fn time(&mut self, value: &S<toml::Value>, key: &str) -> Option<OffsetDateTime> {
        let example = "\"2026-11-25T00:00:00Z\"";
        let text = match value.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(dt)
                if dt.date.is_none() || dt.time.is_none() || dt.offset.is_none() =>
            {
                let hint = if dt.offset.is_none() && dt.date.is_some() && dt.time.is_some() {
                    format!("add Z for UTC: \"{dt}Z\"")
                } else {
                    format!("write a full time in UTC, e.g. {example}")
                };
                self.err(
                    Some(value.span()),
                    key,
                    format!("{dt} is not a full RFC 3339 time with a time zone"),
                    Some(hint),
                );
                return None;
            }
            toml::Value::Datetime(dt) => dt.to_string(),
            other => {
                self.err(
                    Some(value.span()),
                    key,
                    format!("expected an RFC 3339 time, found {}", a(other.type_str())),
                    Some(format!(
                        "write it as a quoted string, e.g. {} = {example}",
                        leaf(key)
                    )),
                );
                return None;
            }
        };
        let Ok(time) = OffsetDateTime::parse(&text, &Rfc3339) else {
            self.err(
                Some(value.span()),
                key,
                format!("\"{text}\" is not an RFC 3339 time"),
                Some(format!(
                    "write date, \"T\", time and a zone (\"Z\" or an offset such as +01:00), e.g. {example}"
                )),
            );
            return None;
        };
        let utc = time.to_offset(time::UtcOffset::UTC);
        if utc.nanosecond() != 0 {
            let whole = utc.replace_nanosecond(0).ok().map(crate::rfc3339::format);
            self.err(
                Some(value.span()),
                key,
                format!("\"{text}\" has fractional seconds; certificate times have whole seconds"),
                Some(match whole {
                    Some(whole) => format!("drop the fraction: \"{whole}\""),
                    None => "drop the fraction".to_string(),
                }),
            );
            return None;
        }
        Some(utc)
    }

    /// A positive Go duration (or its default). `whole_seconds` for certificate periods,
    /// which X.509 counts in seconds. Returns it with its span for cross-checks.
    fn duration(
        &mut self,
        raw: Option<S<String>>,
        key: &str,
        default: &str,
        whole_seconds: bool,
    ) -> Option<(GoDuration, Option<Span>)> {
        let (text, at) = match &raw {
            Some(raw) => (raw.get_ref().as_str(), Some(raw.span())),
            None => (default, None),
        };
        let syntax_hint =
            "write a number and a unit (h, m, s, ms, us, ns), e.g. 8760h, 90m or 1h30m";
        let duration = match GoDuration::parse(text) {
            Ok(d) => d,
            Err(reason) => {
                let hint = match text.strip_suffix('d').and_then(|n| n.parse::<u64>().ok()) {
                    Some(days) => format!(
                        "Go durations have no days: write \"{}h\" for {days} days",
                        days.saturating_mul(24)
                    ),
                    None => syntax_hint.to_string(),
                };
                self.err(
                    at,
                    key,
                    format!("\"{text}\" is not a Go duration: {reason}"),
                    Some(hint),
                );
                return None;
            }
        };
        if !duration.value.is_positive() {
            self.err(
                at,
                key,
                format!("\"{text}\" is not longer than zero"),
                Some(format!("use a positive duration, e.g. {default}")),
            );
            return None;
        }
        if whole_seconds && duration.value.subsec_nanoseconds() != 0 {
            self.err(
                at,
                key,
                format!("\"{text}\" is not a whole number of seconds; certificate times have one-second precision"),
                Some(format!("round it, e.g. \"{}s\"", duration.value.whole_seconds())),
            );
            return None;
        }
        Some((duration, at))
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::test_support::*;
    use crate::spec::SpecVersion;

    #[test]
    fn syntax_error_has_line_key_and_column() {
        let p = only_error(
            &edit(&[(5, r#"api_server = "https://x"#)]),
            Some(5),
            "cluster.api_server",
            "invalid TOML: invalid basic string, expected `\"`",
        );
        assert!(hint(&p).contains("column 24"), "{p}");
    }

    /// A duplicate is named by its own path, even after an inline table whose keys are the
    /// last ones the parser saw.
    #[test]
    fn a_key_set_twice_is_named() {
        let p = only_error(
            &edit(&[(
                52,
                "formats = [\"rootfs\"]\nlabels = { \"x.io/a\" = \"1\" }\nlabels = {}",
            )]),
            Some(54),
            "node_pools[0].labels",
            "set twice: this key is already set above",
        );
        assert_eq!(
            hint(&p),
            "remove one of the two `labels = ...` lines in [[node_pools]] (node_pools[0])"
        );
    }

    #[test]
    fn unknown_key_names_table_and_lists_known_keys() {
        let p = only_error(
            &edit(&[(44, "auto_approve_csrs = true")]),
            Some(44),
            "security.auto_approve_csrs",
            "unknown key `auto_approve_csrs` in [security]",
        );
        assert_eq!(
            hint(&p),
            "expected one of `node_restriction`, `auto_approve_node_csrs`, `anonymous_discovery`, \
             `verify_kubelet_serving`, `kubelet_signing_duration`, `encryption_at_rest`, \
             `node_self_delete`, `audit_log`, `service_account_extend_token_expiration`, \
             `deny_service_external_ips`, `strong_tls_ciphers`, `seccomp_default`, \
             `pod_pids_limit`, `pod_security`, `private_kubelet_files`"
        );
        only_error(
            &edit(&[(19, r#"adress = "10.0.0.11""#)]),
            Some(19),
            "controllers[1].adress",
            "unknown key `adress` in [[controllers]] (controllers[1])",
        );
        only_error(
            &edit(&[(2, "foo = 1")]),
            Some(2),
            "foo",
            "unknown key `foo` in the top level",
        );
        only_error(
            &edit(&[(
                30,
                r#"external_ca = { cert = "a", key = "b", chain = "c" }"#,
            )]),
            Some(30),
            "pki.external_ca.chain",
            "unknown key `chain` in [pki.external_ca]",
        );
    }

    #[test]
    fn wrong_types_say_what_to_write() {
        let p = only_error(
            &edit(&[(43, r#"node_restriction = "yes""#)]),
            Some(43),
            "security.node_restriction",
            "invalid type: string \"yes\", expected a boolean",
        );
        assert_eq!(
            hint(&p),
            "write node_restriction = true or node_restriction = false, without quotes"
        );
        let p = only_error(
            &edit(&[(4, "name = 5")]),
            Some(4),
            "cluster.name",
            "invalid type: integer `5`, expected a string",
        );
        assert_eq!(hint(&p), "quote the value: name = \"...\"");
        let p = only_error(
            &edit(&[(36, r#"generation = "2""#)]),
            Some(36),
            "bootstrap_token.generation",
            "invalid type: string \"2\", expected an integer",
        );
        assert_eq!(
            hint(&p),
            "write a whole number without quotes, e.g. generation = 1"
        );
        only_error(
            &edit(&[(15, r#"formats = ["rootfs", 3]"#)]),
            Some(15),
            "controllers[0].formats[1]",
            "invalid type: integer `3`, expected a string",
        );
        let p = only_error(
            &edit(&[(14, r#"dns_names = "cp-0.demo.example.com""#)]),
            Some(14),
            "controllers[0].dns_names",
            "invalid type: string \"cp-0.demo.example.com\", expected an array",
        );
        assert_eq!(hint(&p), "write a list, e.g. dns_names = [\"...\"]");
        let text = edit(&[(17, "[controllers.x]"), (21, "[controllers.y]")]);
        let text = text.replacen("[[controllers]]", "[controllers]", 1);
        let p = only_error(
            &text,
            Some(11),
            "controllers",
            "invalid type: table, expected an array",
        );
        assert_eq!(
            hint(&p),
            "write each entry as its own [[controllers]] table"
        );
    }

    /// ADDON_KEYS is the list serde knows as `[addons]`'s keys, so every one of them (and
    /// only they) is pointed to `[addons]` from another table.
    #[test]
    fn addon_keys_are_the_addons_table() {
        let text = format!("{}\n[addons]\nfoo = 1\n", edit(&[]));
        let p = only_error(
            &text,
            Some(text.lines().count()),
            "addons.foo",
            "unknown key `foo` in [addons]",
        );
        let listed: Vec<String> = super::ADDON_KEYS.iter().map(|k| format!("`{k}`")).collect();
        assert_eq!(hint(&p), format!("expected one of {}", listed.join(", ")));
    }

    #[test]
    fn versions_1_to_3() {
        let p = only_error(
            &edit(&[(1, "")]),
            None,
            "version",
            "required key is missing",
        );
        assert_eq!(hint(&p), "add version = 3 as the first line");
        assert_eq!(parse_ok(&edit(&[])).spec.version, SpecVersion::V1);
        assert_eq!(
            parse_ok(&edit(&[(1, "version = 2")])).spec.version,
            SpecVersion::V2
        );
        assert_eq!(
            parse_ok(&edit(&[(1, "version = 3")])).spec.version,
            SpecVersion::V3
        );
        // A newer file is reported alone, not as a pile of unknown keys.
        let p = only_error(
            &edit(&[(1, "version = 4"), (2, "new_thing = true")]),
            Some(1),
            "version",
            "version 4 is not supported; this kubeseed reads versions 1 to 3",
        );
        assert_eq!(
            hint(&p),
            "use a kubeseed release that reads version 4, or write a version 3 spec"
        );
        for bad in ["0", "-1"] {
            only_error(
                &edit(&[(1, &format!("version = {bad}"))]),
                Some(1),
                "version",
                &format!("{bad} is not a spec version"),
            );
        }
        let p = only_error(
            &edit(&[(1, r#"version = "1""#)]),
            Some(1),
            "version",
            "expected an integer version, found a string",
        );
        assert_eq!(hint(&p), "write version = 3 (no quotes)");
    }

    /// What a version 2 spec gets for the keys it leaves out, and that each can be
    /// switched off; version 1 keeps them off.
    #[test]
    fn version_2_defaults() {
        let v1 = parse_ok(&edit(&[])).spec;
        let v2 = parse_ok(&edit(&[(1, "version = 2")])).spec;
        assert!(!v1.security.node_self_delete && v2.security.node_self_delete);
        assert!(!v1.addons.coredns && v2.addons.coredns);
        assert!(!v1.addons.kube_proxy && v2.addons.kube_proxy);
        for c in &v1.controllers {
            assert!(c.kubelet.taints.is_empty(), "{c:?}");
        }
        for c in &v2.controllers {
            assert_eq!(
                c.kubelet.taints,
                ["node-role.kubernetes.io/control-plane:NoSchedule"]
            );
        }
        assert!(v2.node_pools[0].kubelet.taints.is_empty());
        // Each switched off, in version 2.
        let off = format!(
            "{}\n[addons]\ncoredns = false\nkube_proxy = false\n",
            edit(&[
                (1, "version = 2"),
                (13, "address = \"10.0.0.10\"\ntaints = []"),
                (48, "encryption_at_rest = true\nnode_self_delete = false"),
            ])
        );
        let off = parse_ok(&off).spec;
        assert!(!off.security.node_self_delete);
        assert!(!off.addons.coredns && !off.addons.kube_proxy);
        assert!(off.controllers[0].kubelet.taints.is_empty());
        assert_eq!(off.controllers[1].kubelet.taints.len(), 1);
        // Without NodeRestriction the self-delete default stays off rather than fail.
        let unrestricted = parse_ok(&edit(&[
            (1, "version = 2"),
            (43, "node_restriction = false"),
        ]));
        assert!(!unrestricted.spec.security.node_self_delete);
    }

    #[test]
    fn required_keys_are_reported_at_their_table() {
        let p = only_error(
            &edit(&[(4, "")]),
            Some(3),
            "cluster.name",
            "required key is missing",
        );
        assert_eq!(hint(&p), "add name = \"demo\" to [cluster]");
        only_error(
            &edit(&[(5, "")]),
            Some(3),
            "cluster.api_server",
            "required key is missing",
        );
        only_error(
            &edit(&[(9, "")]),
            Some(3),
            "cluster.kubernetes_version",
            "required key is missing",
        );
        let p = only_error(
            &edit(&[(19, "")]),
            Some(17),
            "controllers[1].address",
            "required key is missing",
        );
        assert_eq!(
            hint(&p),
            "add address = \"10.0.0.10\" to [[controllers]] (controllers[1])"
        );
        only_error(
            &edit(&[(18, "")]),
            Some(17),
            "controllers[1].name",
            "required key is missing",
        );
        only_error(
            &edit(&[(51, "")]),
            Some(50),
            "node_pools[0].name",
            "required key is missing",
        );
        only_error(
            &edit(&[(27, "")]),
            Some(25),
            "pki.not_before",
            "required key is missing",
        );
    }

    #[test]
    fn missing_tables() {
        let no_cluster = BASE.replacen("[cluster]", "[cluster_typo]", 1);
        let p = &errors(&no_cluster)[0];
        assert_eq!((p.line, p.key.as_str()), (Some(3), "cluster_typo"));

        let text = "version = 1\n[[controllers]]\nname = \"cp-0\"\naddress = \"10.0.0.1\"\n[pki]\nnot_before = \"2026-11-25T00:00:00Z\"\n";
        let p = only_error(text, None, "cluster", "the [cluster] table is missing");
        assert_eq!(
            hint(&p),
            "add a [cluster] table with name, api_server and kubernetes_version"
        );

        let text: String = BASE.lines().take(9).collect::<Vec<_>>().join("\n");
        let problems = errors(&text);
        let got: Vec<(Option<usize>, &str, &str)> = problems
            .iter()
            .map(|p| (p.line, p.key.as_str(), p.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    None,
                    "controllers",
                    "no controllers: at least one [[controllers]] table is required"
                ),
                (
                    None,
                    "pki.not_before",
                    "required key is missing (there is no [pki] table)"
                ),
            ]
        );
    }
}
