//! kubeseed: render(spec, seed) -> files, then write them atomically.
pub mod keys;
pub mod model;
