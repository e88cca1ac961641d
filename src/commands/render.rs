//! `kubeseed render SPEC --out DIR`: render everything and write it atomically.

use std::path::Path;

use crate::error::Error;
use crate::write;

pub fn run(
    spec_path: &Path,
    out: &Path,
    seed_flag: Option<&Path>,
    templates_dir: Option<&Path>,
) -> Result<(), Error> {
    let (files, prepared) = super::render_in_memory(
        spec_path,
        || write::lock(out),
        write::Locked::check,
        seed_flag,
        templates_dir,
    )?;
    prepared.write(&files)?;
    let secret = files.iter().filter(|(_, f)| f.secret).count();
    println!(
        "rendered {} files into {} ({secret} secret, mode 0600)",
        files.len(),
        out.display()
    );
    Ok(())
}
