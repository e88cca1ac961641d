//! kubeseed: render(spec, seed) -> files, then write them atomically.
pub mod duration;
pub mod keys;
pub mod model;
pub mod spec;
