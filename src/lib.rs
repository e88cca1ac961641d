//! kubeseed: render(spec, seed) -> files, then write them atomically.
pub mod derive;
pub mod keys;
pub mod model;
