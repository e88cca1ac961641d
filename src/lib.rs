//! kubeseed renders a Kubernetes cluster's bootstrap assets from a spec and
//! a seed. The pipeline runs one way, each stage a pure function of the
//! previous one; only the last touches the output directory:
//!
//! ```text
//! load (spec file, seed, external CA)        load.rs
//!   → spec: parse and validate               spec/
//!   → model: names, SANs, identities         model.rs, identity.rs (THE table)
//!   → derive: seed → key seeds, serials, token   derive/ (mod.rs, detkeygen.rs, keys.rs)
//!   → issue: certificates                    issue.rs
//!   → render: templates → files in memory    render/, templates.rs, text.rs, fileset.rs
//!   → node bundles from those files          bundle/ (placement.rs, mod.rs, ignition.rs)
//!   → write: staging dir, atomic swap        write.rs
//! ```
//!
//! [`render`] is the promise: the same spec and seed give the same
//! [`FileSet`](fileset::FileSet), byte for byte.
//!
//! The commands (`init`, `render`, `plan`, `join`, `verify`, `check-expiration`,
//! `completions`) live in [`commands`], one module each, on top of the pipeline; [`cli`] is
//! the command line as clap types, and `main.rs` only maps their results to exit codes.

pub mod bundle;
pub mod cli;
pub mod commands;
pub mod derive;
pub mod duration;
pub mod error;
pub mod fileset;
pub mod gitops;
pub mod identity;
pub mod issue;
pub mod jws;
pub mod load;
pub mod model;
mod names;
pub mod render;
pub mod rfc3339;
pub mod spec;
pub mod templates;
pub mod text;
pub mod tree;
pub mod write;

use derive::Seed;
use error::Error;
use fileset::FileSet;
use issue::ExternalCa;
use spec::Spec;

/// Renders everything for `spec` from `seed`, in memory, with the embedded templates.
pub fn render(spec: &Spec, seed: &Seed, external_ca: Option<ExternalCa>) -> Result<FileSet, Error> {
    render_with(spec, seed, external_ca, render::Templates::embedded()?)
}

/// [`render`] with the given templates (`render --templates DIR`). They are dropped, with
/// the keys, once the files are rendered: the bundles of a large cluster are built without
/// them in memory.
pub fn render_with(
    spec: &Spec,
    seed: &Seed,
    external_ca: Option<ExternalCa>,
    templates: render::Templates,
) -> Result<FileSet, Error> {
    let model = model::Model::from_spec(spec);
    // Before the PKI: it needs none of it, and a template mistake should not
    // wait for an RSA prime search.
    let control_plane = render::controlplane::render(&model, seed, &templates)?;
    let token = bootstrap_token(&model, seed)?;
    let pki = issue::issue(&model, seed, external_ca)?;
    let mut files = render::render(&model, &pki, &token, &templates)?;
    drop((templates, pki));
    files
        .extend(control_plane)
        .map_err(render::RenderError::from)?;
    // Last, so the bundles carry whatever the renderers above produced.
    bundle::placement::add_bundles(&model, &mut files)?;
    gitops::tree::add_tree(&model, seed, &mut files)?;
    Ok(files)
}

/// What `kubeseed join` prints. It renders everything in memory, exactly as
/// [`render`] does, and takes the CA pin from the rendered `pki/ca.crt`, so
/// the token and CA cannot drift from what `render` writes.
pub fn join(
    spec: &Spec,
    seed: &Seed,
    external_ca: Option<ExternalCa>,
) -> Result<commands::join::JoinInfo, Error> {
    let files = render(spec, seed, external_ca)?;
    let model = model::Model::from_spec(spec);
    let token = bootstrap_token(&model, seed)?;
    Ok(commands::join::JoinInfo::new(&model, &files, &token)?)
}

fn bootstrap_token(model: &model::Model, seed: &Seed) -> Result<derive::BootstrapToken, Error> {
    seed.bootstrap_token(model.token_generation)
        .map_err(|e| Error::Seed {
            origin: "bootstrap_token.generation".into(),
            problem: e.to_string(),
            hint: "bump bootstrap_token.generation".into(),
        })
}
