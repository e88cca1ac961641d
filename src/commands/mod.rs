//! One module per `kubeseed` command. Each `run` takes the parsed arguments, does its work
//! through the pipeline (`crate::render_with` and friends), prints its result on stdout and
//! its warnings on stderr, and returns what decides the exit status; `main.rs` only parses
//! argv and turns results into exit codes.
//!
//! The helpers here are what several commands share: reading and checking the spec, the
//! seed and the external CA with their warnings, the clock-reading expiry warnings, and
//! writing to stdout.

pub mod check_expiration;
pub mod completions;
pub mod init;
pub mod join;
pub mod plan;
pub mod render;
pub mod verify;

use std::io::Write as _;
use std::path::Path;

use crate::derive::Seed;
use crate::error::Error;
use crate::issue::ExternalCa;
use crate::render::Templates;
use crate::render::{controlplane, coredns};
use crate::{load, rfc3339, spec};

/// A warning on stderr; it never fails the command.
pub fn warn(message: &str) {
    eprintln!("warning: {message}");
}

/// Writes a command's whole output to stdout.
fn print(bytes: &[u8]) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(Error::Stdout)
}

/// Reads and validates the spec, printing its warnings.
fn load_spec(spec_path: &Path) -> Result<spec::Spec, Error> {
    let parsed = load::spec(spec_path)?;
    for w in &parsed.warnings {
        warn(&w.to_string());
    }
    Ok(parsed.spec)
}

/// Reads the seed and the external CA, if any, printing their warnings.
fn load_secrets(
    spec: &spec::Spec,
    spec_path: &Path,
    seed_flag: Option<&Path>,
) -> Result<(Seed, Option<ExternalCa>), Error> {
    let (seed, warnings) = load::seed(seed_flag, std::env::var_os(load::SEED_ENV), spec_path)?;
    if seed.is_public_demo() {
        warn("this is a public demo seed from kubeseed's examples: every key and token derived from it is public; never use it for a real cluster (run `kubeseed init` for a fresh seed)");
    } else {
        for w in &warnings {
            warn(w);
        }
    }
    let external = match &spec.pki.external_ca {
        Some(ext) => Some(load::external_ca(ext, &load::spec_dir(spec_path))?),
        None => None,
    };
    Ok((seed, external))
}

/// The only place that reads the clock while rendering, and only to warn.
fn expiry_warnings(spec: &spec::Spec) {
    let now = time::OffsetDateTime::now_utc();
    match spec.bootstrap_token.expires {
        Some(t) if t <= now => warn(&format!(
            "bootstrap_token.expires ({}) is in the past: nodes cannot join with this token; move it forward or bump bootstrap_token.generation",
            rfc3339::format(t)
        )),
        None => warn("bootstrap_token.expires is not set: the bootstrap token never expires; set it and rotate the token after nodes have joined"),
        _ => {}
    }
    let cert_end = spec.pki.not_before + spec.pki.cert_validity.value;
    if cert_end <= now {
        warn(&format!(
            "every certificate expired at {}; move pki.not_before forward to renew them",
            rfc3339::format(cert_end)
        ));
    }
}

/// What `render` and `plan` share before any rendering: the spec, the templates (embedded,
/// or overridden from `templates_dir`), the control-plane warnings, the output directory
/// check (`check_out`: `render` locks the directory and checks its top, `plan` checks it),
/// then the seed and external CA. Cheap and the user's input first, so a bad spec, template
/// directory or foreign output directory is refused before any expensive work. What
/// `finish_check` makes of `check_out`'s result (`render`'s walk of the old output) runs
/// while rendering and comes back with the files; its error wins over a rendering error.
fn render_in_memory<P: Send, T: Send, E: Into<Error> + Send>(
    spec_path: &Path,
    check_out: impl FnOnce() -> Result<P, E>,
    finish_check: impl FnOnce(P) -> Result<T, E> + Send,
    seed_flag: Option<&Path>,
    templates_dir: Option<&Path>,
) -> Result<(crate::fileset::FileSet, T), Error> {
    let spec = load_spec(spec_path)?;
    let templates = match templates_dir {
        Some(dir) => Templates::with_overrides(load::templates(dir)?)?,
        None => Templates::embedded()?,
    };
    let model = crate::model::Model::from_spec(&spec);
    for w in controlplane::warnings(&model)
        .into_iter()
        .chain(coredns::warnings(&model))
        .chain(crate::gitops::tree::warnings(&model))
    {
        warn(&w);
    }
    let checking = check_out().map_err(Into::into)?;
    let (seed, external) = load_secrets(&spec, spec_path, seed_flag)?;
    expiry_warnings(&spec);
    // The rest of the check (`render`'s walk of the old output) runs while rendering; its
    // error comes first, as if it had run before.
    std::thread::scope(|scope| {
        let checked = scope.spawn(|| finish_check(checking));
        let files = crate::render_with(&spec, &seed, external, templates);
        let checked = checked
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            .map_err(Into::into)?;
        Ok((files?, checked))
    })
}
