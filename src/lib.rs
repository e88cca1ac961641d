//! kubeseed: render(spec, seed) -> files, then write them atomically.
pub mod fileset;
pub mod keys;
pub mod model;
pub mod write;
