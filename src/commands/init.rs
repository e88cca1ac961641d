//! `kubeseed init [DIR]`: a starter `cluster.toml`, a fresh seed (0600) and a `.gitignore`
//! that keeps the seed out of git. It never overwrites a file.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::derive::Seed;
use crate::error::Error;
use crate::{rfc3339, spec};

pub fn run(dir: &Path) -> Result<(), Error> {
    let spec_path = dir.join("cluster.toml");
    let seed_path = dir.join("seed");
    let ignore_path = dir.join(".gitignore");
    let existing: Vec<_> = [&spec_path, &seed_path, &ignore_path]
        .into_iter()
        .filter(|p| p.symlink_metadata().is_ok())
        .collect();
    if let Some(first) = existing.first() {
        return Err(Error::Init {
            path: first.to_path_buf(),
            problem: "already exists; kubeseed init never overwrites a file".into(),
            hint: "choose another directory, or move the existing files away first".into(),
        });
    }
    fs::create_dir_all(dir).map_err(|e| init_error(dir, "cannot create the directory", e))?;
    let now = time::OffsetDateTime::now_utc();
    let hour = now
        .replace_minute(0)
        .and_then(|t| t.replace_second(0))
        .and_then(|t| t.replace_nanosecond(0))
        .unwrap_or(now);
    let name = cluster_name_for(dir);
    let seed = Seed::generate().map_err(|e| Error::Init {
        path: seed_path.clone(),
        problem: format!("cannot read the operating system's random number generator: {e}"),
        hint: "run kubeseed init on a machine with a working /dev/urandom".into(),
    })?;
    // The seed first: if anything fails after it, the user still has a
    // secret they can keep, and nothing was overwritten.
    create_new(&seed_path, seed.to_file_text().as_bytes(), 0o600)?;
    create_new(
        &ignore_path,
        b"# The seed is the root secret of this cluster: never commit it.\nseed\n",
        0o644,
    )?;
    create_new(
        &spec_path,
        spec::default_spec_toml(&name, &rfc3339::format(hour)).as_bytes(),
        0o644,
    )?;
    println!(
        "wrote {}, {} (mode 0600) and {}\nnext: kubeseed render {} --out {}",
        spec_path.display(),
        seed_path.display(),
        ignore_path.display(),
        spec_path.display(),
        dir.join("out").display()
    );
    Ok(())
}

/// A valid cluster name from the directory's name, else `demo`.
fn cluster_name_for(dir: &Path) -> String {
    let base = std::path::absolute(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_lowercase()))
        .unwrap_or_default();
    let name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() {
        "demo".to_string()
    } else {
        name
    }
}

fn create_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| init_error(path, "cannot create", e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| init_error(path, "cannot write", e))
}

fn init_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::Init {
        path: path.to_path_buf(),
        problem: format!("{what}: {e}"),
        hint: "check the directory's permissions and free space".into(),
    }
}
