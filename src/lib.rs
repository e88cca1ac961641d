//! kubeseed: render(spec, seed) -> files, then write them atomically.
pub mod detkeygen;
pub mod keys;
pub mod model;
