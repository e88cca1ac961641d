//! The template engine: minijinja over the embedded templates, each addressed by its id
//! (its path under `templates/`) and listed, with the variables it receives, in one
//! registry: [`crate::templates::TEMPLATES`]. minijinja runs with strict undefined so a
//! misspelt variable is an error, never an empty string. Output is normalised to LF with
//! exactly one trailing newline.
//!
//! `render --templates DIR` replaces embedded templates by files with the same id under
//! `DIR`. A file whose id names no embedded template is an error, so a typo in a file name
//! cannot silently leave the embedded template in place. Every error names where the
//! template came from.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use minijinja::value::ValueKind;
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};

use crate::fileset::FileSetError;
use crate::templates::TEMPLATES;
use crate::text;

/// The ids `--templates` may override, sorted: every registered id.
pub fn template_ids() -> Vec<&'static str> {
    crate::templates::ids()
}

/// A user's replacement for an embedded template (`render --templates DIR`).
#[derive(Clone, Debug)]
pub struct Override {
    /// The id it replaces: its path relative to `DIR`, `/`-separated.
    pub id: String,
    /// Where it was read from, for messages.
    pub path: PathBuf,
    pub text: String,
}

#[derive(Debug)]
pub enum RenderError {
    /// A template failed to parse or render. `origin` is where it came from:
    /// the embedded id, or the `--templates` file that replaced it.
    Template {
        origin: String,
        message: String,
    },
    /// A `--templates` file whose id names no embedded template.
    UnknownOverride {
        path: PathBuf,
        id: String,
    },
    Path(FileSetError),
    Missing(String),
}

impl RenderError {
    /// What would be right, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            RenderError::Template { .. } => Some(
                "the README's Templates section lists the variables each template may use; \
                 kubeseed renders with strict undefined, so a misspelt name is an error"
                    .into(),
            ),
            RenderError::UnknownOverride { .. } => Some(format!(
                "name each file under --templates after the template it replaces, one of: {}",
                template_ids().join(", ")
            )),
            _ => None,
        }
    }
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::Template { origin, message } => write!(f, "template {origin}: {message}"),
            RenderError::UnknownOverride { path, id } => write!(
                f,
                "{}: --templates has no template {id} to override",
                path.display()
            ),
            RenderError::Path(e) => write!(f, "{e}"),
            RenderError::Missing(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for RenderError {}

impl From<FileSetError> for RenderError {
    fn from(e: FileSetError) -> Self {
        RenderError::Path(e)
    }
}

/// The template environment.
pub struct Templates {
    env: Environment<'static>,
    /// id → where its text came from, for error messages.
    origins: BTreeMap<String, String>,
}

impl Templates {
    /// The templates built into the binary.
    pub fn embedded() -> Result<Templates, RenderError> {
        Templates::with_overrides(Vec::new())
    }

    /// The embedded templates, each replaced by the override with its id.
    /// An override whose id is not an embedded template's is refused.
    pub fn with_overrides(overrides: Vec<Override>) -> Result<Templates, RenderError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        // Keeps the source span of a failing expression, so an undefined
        // variable can be named (see `template_error`). Debug info is only
        // ever printed with `{:#}`, which nothing here uses: it could hold
        // secret values from the context.
        env.set_debug(true);
        env.add_filter("yaml", |v: String| text::yaml_scalar(&v));
        env.add_filter("literal", text::literal_block);
        let mut by_id: BTreeMap<String, Override> = BTreeMap::new();
        for o in overrides {
            if crate::templates::info(&o.id).is_none() {
                return Err(RenderError::UnknownOverride {
                    path: o.path,
                    id: o.id,
                });
            }
            by_id.insert(o.id.clone(), o);
        }
        let mut origins = BTreeMap::new();
        for t in TEMPLATES {
            let id = t.id;
            let (origin, text) = match by_id.remove(id) {
                Some(o) => (format!("{} (overriding {id})", o.path.display()), o.text),
                None => (id.to_string(), t.text.to_string()),
            };
            env.add_template_owned(id.to_string(), text)
                .map_err(|e| template_error(&origin, &e))?;
            origins.insert(id.to_string(), origin);
        }
        Ok(Templates { env, origins })
    }

    /// Renders template `id`, normalised (LF, one trailing newline).
    ///
    /// `ctx` must hold exactly the variables the registry lists for `id`
    /// (an internal error otherwise), so the registry, and the README made
    /// from it, stay true to what templates receive.
    pub(crate) fn render(&self, id: &str, ctx: Value) -> Result<String, RenderError> {
        let info = crate::templates::info(id)
            .ok_or_else(|| RenderError::Missing(format!("template {id} is not registered")))?;
        if let Some(mismatch) = info.context_mismatch(&variable_names(&ctx)) {
            return Err(RenderError::Missing(mismatch));
        }
        let origin = self.origins.get(id).map(String::as_str).unwrap_or(id);
        let text = self
            .env
            .get_template(id)
            .and_then(|t| t.render(ctx))
            .map_err(|e| template_error(origin, &e))?;
        Ok(normalize(&text))
    }
}

/// The dotted names of the leaves of a template context: the entries of a
/// map are followed (`cluster.name`), anything else is a leaf.
pub(crate) fn variable_names(ctx: &Value) -> Vec<String> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<String>) {
        let keys = match value.kind() {
            ValueKind::Map => value.try_iter().ok(),
            _ => None,
        };
        let Some(keys) = keys else {
            out.push(prefix.to_string());
            return;
        };
        for key in keys {
            let name = if prefix.is_empty() {
                key.to_string()
            } else {
                format!("{prefix}.{key}")
            };
            walk(&name, &value.get_item(&key).unwrap_or_default(), out);
        }
    }
    let mut out = Vec::new();
    walk("", ctx, &mut out);
    out
}

/// A one-line message: for an undefined value, the expression that is
/// undefined and its line; otherwise minijinja's message and its causes.
fn template_error(origin: &str, e: &minijinja::Error) -> RenderError {
    let expression = e
        .range()
        .zip(e.template_source())
        .and_then(|(range, source)| source.get(range))
        .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|text| !text.is_empty());
    let line = e.line().map(|l| format!("line {l}: ")).unwrap_or_default();
    let message = match (e.kind(), expression) {
        (ErrorKind::UndefinedError, Some(expr)) => {
            format!("{line}`{expr}` is undefined (no such variable or attribute)")
        }
        (ErrorKind::UndefinedError, None) => {
            format!("{line}a variable or attribute is undefined")
        }
        _ => {
            let mut message = format!("{line}{}", e.kind());
            if let Some(detail) = e.detail() {
                message.push_str(&format!(": {detail}"));
            }
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                message.push_str(&format!(": {s}"));
                source = s.source();
            }
            message
        }
    };
    RenderError::Template {
        origin: origin.to_string(),
        message,
    }
}

/// LF only, exactly one trailing newline.
fn normalize(text: &str) -> String {
    let mut s = text.replace("\r\n", "\n");
    while s.ends_with('\n') {
        s.pop();
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::kubeconfigs::KUBECONFIG;
    use minijinja::context;

    #[test]
    fn every_embedded_template_loads() {
        let t = Templates::embedded().unwrap();
        for id in template_ids() {
            assert!(t.env.get_template(id).is_ok(), "{id}");
        }
        let mut ids = template_ids();
        ids.dedup();
        assert_eq!(ids.len(), template_ids().len(), "duplicate template ids");
    }

    /// A context with every name in `names` (dotted names nest), each
    /// `"x\n"`: a string every filter and test of the templates accepts.
    fn context_with(names: &[&str]) -> Value {
        let mut root = serde_json::Map::new();
        for name in names {
            let mut map = &mut root;
            let mut parts: Vec<&str> = name.split('.').collect();
            let leaf = parts.pop().unwrap();
            for part in parts {
                map = map
                    .entry(part)
                    .or_insert_with(|| serde_json::Value::Object(Default::default()))
                    .as_object_mut()
                    .unwrap();
            }
            map.insert(leaf.into(), "x\n".into());
        }
        Value::from_serialize(&root)
    }

    #[test]
    fn every_template_renders_with_its_registered_variables() {
        let t = Templates::embedded().unwrap();
        for info in TEMPLATES {
            let all: Vec<&str> = info
                .variables
                .iter()
                .chain(info.sometimes)
                .copied()
                .collect();
            t.render(info.id, context_with(&all))
                .unwrap_or_else(|e| panic!("{}: {e}", info.id));
            // Without the `sometimes` ones, where the template has an
            // alternative (kubeconfig: client certificate or token).
            if info.sometimes.contains(&"token") {
                let without: Vec<&str> = all.iter().copied().filter(|v| *v != "token").collect();
                t.render(info.id, context_with(&without))
                    .unwrap_or_else(|e| panic!("{}: {e}", info.id));
            }
        }
    }

    #[test]
    fn every_template_uses_only_registered_variables_and_needs_each_it_uses() {
        let t = Templates::embedded().unwrap();
        for info in TEMPLATES {
            let template = t.env.get_template(info.id).unwrap();
            let mut used: Vec<String> = template.undeclared_variables(true).into_iter().collect();
            used.sort();
            for name in &used {
                assert!(
                    info.variables.contains(&name.as_str())
                        || info.sometimes.contains(&name.as_str()),
                    "{} uses {name}, which its registry entry does not list",
                    info.id
                );
            }
            // Strict undefined: leaving out a variable the template uses is an
            // error (the `sometimes` ones are tested with `is defined`).
            for name in used.iter().filter(|n| info.variables.contains(&n.as_str())) {
                let without: Vec<&str> = info
                    .variables
                    .iter()
                    .chain(info.sometimes)
                    .copied()
                    .filter(|v| v != name)
                    .collect();
                let err = template
                    .render(context_with(&without))
                    .expect_err(&format!("{} renders without {name}", info.id));
                assert_eq!(err.kind(), ErrorKind::UndefinedError, "{}: {name}", info.id);
            }
        }
    }

    #[test]
    fn a_context_unlike_the_registry_is_refused() {
        let t = Templates::embedded().unwrap();
        let err = t
            .render(
                KUBECONFIG,
                context_with(&["ca_data", "server", "cluster", "user", "token", "extra"]),
            )
            .unwrap_err();
        assert!(matches!(err, RenderError::Missing(_)), "{err}");
        assert!(err.to_string().contains("unregistered [extra]"), "{err}");
        let nested = variable_names(&context! { a => 1, b => context! { c => "x", d => vec![1] } });
        assert_eq!(nested, ["a", "b.c", "b.d"]);
    }

    #[test]
    fn strict_undefined_is_an_error() {
        let t = Templates::embedded().unwrap();
        let e = t
            .env
            .get_template(KUBECONFIG)
            .unwrap()
            .render(context! { server => "https://x:6443" })
            .unwrap_err();
        let msg = template_error(KUBECONFIG, &e).to_string();
        assert!(msg.contains(KUBECONFIG), "{msg}");
        assert!(msg.contains("undefined"), "{msg}");
    }

    fn override_of(id: &str, text: &str) -> Override {
        Override {
            id: id.into(),
            path: PathBuf::from(format!("/tmp/overrides/{id}")),
            text: text.into(),
        }
    }

    #[test]
    fn an_override_replaces_its_template_and_is_named_in_errors() {
        let etcd = crate::render::controlplane::ETCD;
        let vars = crate::templates::info(etcd).unwrap().variables;
        let ok = Templates::with_overrides(vec![override_of(
            etcd,
            "version: {{ etcd.version }}\nname: {{ cluster.name }}\n",
        )])
        .unwrap()
        .render(etcd, context_with(vars));
        assert_eq!(ok.unwrap(), "version: x\n\nname: x\n");
        let err = Templates::with_overrides(vec![override_of(
            etcd,
            "version: {{ etcd.version }}\nname: {{ cluster.nmae }}\n",
        )])
        .unwrap()
        .render(etcd, context_with(vars))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("/tmp/overrides/static-pods/etcd.yaml"),
            "{err}"
        );
        assert!(err.contains("`cluster.nmae` is undefined"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn an_override_of_no_template_is_refused() {
        let err = Templates::with_overrides(vec![override_of("static-pods/etcd.yml", "x")])
            .err()
            .unwrap();
        assert!(matches!(err, RenderError::UnknownOverride { .. }));
        let msg = err.to_string();
        assert!(msg.contains("/tmp/overrides/static-pods/etcd.yml"), "{msg}");
        assert!(err.hint().unwrap().contains("static-pods/etcd.yaml"));
    }

    #[test]
    fn a_syntax_error_in_an_override_names_the_file() {
        let err = Templates::with_overrides(vec![override_of(KUBECONFIG, "{% if %}")])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("/tmp/overrides/kubeconfig/kubeconfig.yaml"),
            "{err}"
        );
        assert!(err.contains("syntax error"), "{err}");
    }

    #[test]
    fn normalized_output() {
        assert_eq!(normalize("a\r\nb\n\n"), "a\nb\n");
        assert_eq!(normalize("a"), "a\n");
    }
}
