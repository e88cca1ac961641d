//! Reading a rendered directory back: the one reader `plan`, `verify` and `check-expiration`
//! share.
//!
//! It never follows a symbolic link (the directory itself included), reads only regular
//! files, and of those only the ones the caller wants (`check-expiration` never reads a
//! private key). What it cannot read as kubeseed writes it, it reports as a [`Finding`] and
//! goes on, so `verify` can list every problem and `plan` can refuse at the first. Entries
//! are visited in byte order of their names, so findings come in a stable order.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};

/// A directory as read back.
#[derive(Debug, Default)]
pub struct Tree {
    /// The regular files read, by `/`-separated path relative to the root: bytes and
    /// permission bits.
    pub files: BTreeMap<String, (Vec<u8>, u32)>,
    /// Every directory below the root, with its permission bits.
    pub dirs: BTreeMap<String, u32>,
    /// What could not be read, in walk order.
    pub findings: Vec<Finding>,
}

impl Tree {
    pub fn bytes(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(|(b, _)| b.as_slice())
    }
}

/// Something under the root that kubeseed never writes, or that could not be read.
#[derive(Debug)]
pub struct Finding {
    /// Relative to the root, `/`-separated; a directory that could not be listed ends in `/`
    /// (the root itself is `./`). A name that is not UTF-8 is shown lossily.
    pub path: String,
    pub problem: Problem,
}

#[derive(Debug)]
pub enum Problem {
    Symlink,
    Special,
    NotDirectory,
    NameNotUtf8,
    Io {
        action: &'static str,
        err: io::Error,
    },
}

impl Problem {
    /// What it is, for a sentence "refusing to read X: it is ...".
    pub fn what(&self) -> &'static str {
        match self {
            Problem::Symlink => "a symbolic link",
            Problem::Special => "a special file",
            Problem::NotDirectory => "not a directory",
            Problem::NameNotUtf8 => "a file whose name is not UTF-8",
            Problem::Io { .. } => "unreadable",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Symlink => {
                f.write_str("is a symbolic link; kubeseed writes regular files only")
            }
            Problem::Special => {
                f.write_str("is a special file; kubeseed writes regular files only")
            }
            Problem::NotDirectory => f.write_str("not a directory"),
            Problem::NameNotUtf8 => {
                f.write_str("file name is not UTF-8; kubeseed never writes one")
            }
            Problem::Io { action, err } => write!(f, "cannot {action}: {err}"),
        }
    }
}

/// Reads `dir`: every directory, and every regular file whose relative path `want` accepts.
/// A symlink or special file is a finding only where `want` accepts its path. `Err` when
/// `dir` itself is not a directory that can be opened (path `""`).
pub fn read(dir: &Path, want: &dyn Fn(&str) -> bool) -> Result<Tree, Finding> {
    let root_finding = |problem| Finding {
        path: String::new(),
        problem,
    };
    let meta = std::fs::symlink_metadata(dir).map_err(|err| {
        root_finding(Problem::Io {
            action: "read",
            err,
        })
    })?;
    if meta.file_type().is_symlink() {
        return Err(root_finding(Problem::Symlink));
    }
    if !meta.is_dir() {
        return Err(root_finding(Problem::NotDirectory));
    }
    let root = rfs::open(dir, dir_flags(), Mode::empty()).map_err(|e| {
        root_finding(Problem::Io {
            action: "read",
            err: e.into(),
        })
    })?;
    let mut tree = Tree::default();
    walk(root.as_fd(), "", want, &mut tree);
    Ok(tree)
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

fn walk(dir: BorrowedFd<'_>, rel: &str, want: &dyn Fn(&str) -> bool, tree: &mut Tree) {
    let io = |action, e: rustix::io::Errno| Problem::Io {
        action,
        err: e.into(),
    };
    let found =
        |tree: &mut Tree, path: String, problem| tree.findings.push(Finding { path, problem });
    let listed = format!("{}/", if rel.is_empty() { "." } else { rel });
    let mut names = Vec::new();
    match rfs::Dir::read_from(dir) {
        Ok(entries) => {
            for entry in entries {
                match entry {
                    Ok(e) if matches!(e.file_name().to_bytes(), b"." | b"..") => {}
                    Ok(e) => names.push(OsString::from_vec(e.file_name().to_bytes().to_vec())),
                    Err(e) => found(tree, listed.clone(), io("list", e)),
                }
            }
        }
        Err(e) => found(tree, listed, io("list", e)),
    }
    names.sort();
    for name in names {
        let join = |n: &str| {
            if rel.is_empty() {
                n.to_string()
            } else {
                format!("{rel}/{n}")
            }
        };
        let Some(utf8) = name.to_str() else {
            found(tree, join(&name.to_string_lossy()), Problem::NameNotUtf8);
            continue;
        };
        let path = join(utf8);
        let st = match rfs::statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(e) => {
                found(tree, path, io("stat", e));
                continue;
            }
        };
        let mode = Mode::from_raw_mode(st.st_mode).bits() & 0o7777;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => {
                tree.dirs.insert(path.clone(), mode);
                match rfs::openat(dir, &name, dir_flags(), Mode::empty()) {
                    Ok(child) => walk(child.as_fd(), &path, want, tree),
                    Err(e) => found(tree, format!("{path}/"), io("list", e)),
                }
            }
            _ if !want(&path) => {}
            FileType::RegularFile => match read_file(dir, &name) {
                Ok((bytes, mode)) => {
                    tree.files.insert(path, (bytes, mode));
                }
                Err(problem) => found(tree, path, problem),
            },
            FileType::Symlink => found(tree, path, Problem::Symlink),
            _ => found(tree, path, Problem::Special),
        }
    }
}

/// A regular file's bytes and permission bits, opened without following a link and checked
/// again once open (it may have been replaced since it was listed).
fn read_file(dir: BorrowedFd<'_>, name: &OsString) -> Result<(Vec<u8>, u32), Problem> {
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
    let io = |e: io::Error| Problem::Io {
        action: "read",
        err: e,
    };
    let fd = rfs::openat(dir, name, flags, Mode::empty()).map_err(|e| match e {
        rustix::io::Errno::LOOP => Problem::Symlink,
        e => io(e.into()),
    })?;
    let st = rfs::fstat(&fd).map_err(|e| io(e.into()))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(Problem::Special);
    }
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    Ok((bytes, Mode::from_raw_mode(st.st_mode).bits() & 0o7777))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn put(path: &Path, text: &str, mode: u32) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn reads_files_and_dirs_and_reports_what_kubeseed_never_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        put(&dir.join("pki/ca.crt"), "CERT", 0o644);
        put(&dir.join("pki/ca.key"), "KEY", 0o600);
        symlink("/etc/hostname", dir.join("pki/link.crt")).unwrap();
        symlink("/etc/hostname", dir.join("other")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.join("fifo"),
            FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();

        let all = read(dir, &|_| true).unwrap();
        assert_eq!(all.bytes("pki/ca.key"), Some(b"KEY".as_slice()));
        assert_eq!(all.files["pki/ca.crt"].1, 0o644);
        assert_eq!(all.files["pki/ca.key"].1, 0o600);
        assert_eq!(all.dirs.keys().collect::<Vec<_>>(), ["pki"]);
        let shown: Vec<String> = all
            .findings
            .iter()
            .map(|f| format!("{}: {}", f.path, f.problem.what()))
            .collect();
        assert_eq!(
            shown,
            [
                "fifo: a special file",
                "other: a symbolic link",
                "pki/link.crt: a symbolic link"
            ]
        );

        // Only what is wanted is read, and only its oddities are findings.
        let crts = read(dir, &|p| p.ends_with(".crt")).unwrap();
        assert_eq!(crts.files.keys().collect::<Vec<_>>(), ["pki/ca.crt"]);
        assert_eq!(crts.findings.len(), 1);
        assert_eq!(crts.findings[0].path, "pki/link.crt");
    }

    #[test]
    fn the_root_must_be_a_directory_not_a_link_to_one() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        put(&real.join("a"), "x", 0o644);
        let link = tmp.path().join("link");
        symlink(&real, &link).unwrap();
        let problem = |p: &Path| read(p, &|_| true).unwrap_err().problem.what();
        assert_eq!(problem(&link), "a symbolic link");
        assert_eq!(problem(&real.join("a")), "not a directory");
        assert_eq!(problem(&tmp.path().join("absent")), "unreadable");
        assert_eq!(read(&real, &|_| true).unwrap().files.len(), 1);
    }
}
