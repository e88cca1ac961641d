//! Writing the output directory: the only module that touches `--out`.
//!
//! It owns the promise that a crash, a full disk or Ctrl-C at any moment leaves either the
//! old output or the new one at `--out`, never a mix and never nothing, and that a directory
//! kubeseed did not write is never replaced. Everything is created beside `--out`, in its
//! parent directory, under names scoped to the output's name (`NAME` below):
//!
//! - `.NAME.kubeseed.lock`: an empty file; `flock`ed from [`prepare`] (before rendering) until
//!   the write is done, and left in place
//!   (deleting a lock file races with the next process that opens it).
//! - `.NAME.kubeseed-staging-PID`: the new tree is written here, then exchanged with `--out`
//!   by `renameat2(RENAME_EXCHANGE)`, after which it holds the old tree until that is removed.
//! - `.NAME.kubeseed-old-PID`: only where the filesystem cannot exchange (EINVAL, ENOSYS,
//!   EOPNOTSUPP): `--out` is renamed here, then the staging tree to `--out`. Between those two
//!   renames `--out` is missing; if a crash lands there, the next render renames this
//!   directory back to `--out` before doing anything else.
//!
//! A render removes leftovers of interrupted renders of the same `--out` (the two patterns
//! above with a numeric suffix, directories only) and nothing else.
//!
//! All work happens relative to a descriptor of the parent directory and never follows a
//! symlink inside it, so a path swapped underneath a render cannot redirect it. The one tree
//! written by path is the staging directory's, which the render has just made, which only
//! its owner can write in, and whose every file and directory is created new (`O_EXCL`).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, Read};
use std::ops::Bound;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{self as rfs, AtFlags, FileType, FlockOperation, Mode, OFlags, RenameFlags};
use rustix::io::Errno;
use serde::Deserialize;

use crate::fileset::{relative_path_problem, FileSet, INDEX_JSON};
use crate::tree::{self, Problem};

mod dirs;
mod fill;

#[cfg(test)]
use dirs::PARALLEL_DIRS;
use dirs::{list_dir, remove_listed, remove_tree_at, walk};

/// Why the output could not be written. Every message names the path and says what would
/// be right; none ever contains rendered bytes.
#[derive(Debug)]
pub enum WriteError {
    /// `--out` does not end in a directory name (`/`, `.`, `..`).
    Unnamed {
        out: PathBuf,
    },
    /// `--out`'s name is one kubeseed uses beside another output, which would delete it.
    ReservedName {
        out: PathBuf,
    },
    ParentMissing {
        out: PathBuf,
        parent: PathBuf,
    },
    ParentNotDir {
        out: PathBuf,
        parent: PathBuf,
    },
    /// `--out` exists and is a file or special file.
    NotADirectory {
        out: PathBuf,
    },
    /// `--out` is a symlink: replacing it would replace the link, not its target.
    Symlink {
        out: PathBuf,
    },
    /// `--out` is a mount point: it cannot be renamed, and staging beside it would be on
    /// another filesystem.
    MountPoint {
        out: PathBuf,
    },
    /// `--out` is not empty and has no `index.json`.
    Foreign {
        out: PathBuf,
    },
    /// `--out/index.json` is not one kubeseed wrote.
    ForeignIndex {
        out: PathBuf,
        reason: String,
    },
    /// `--out` holds something its `index.json` does not list: replacing the directory would
    /// lose it.
    Unlisted {
        out: PathBuf,
        path: String,
    },
    /// Another process holds the lock for this `--out`.
    Locked {
        out: PathBuf,
        lock: PathBuf,
    },
    /// `--out` is missing and several interrupted renders left old outputs beside it; which
    /// one to restore is the user's call.
    SeveralOld {
        out: PathBuf,
        found: Vec<PathBuf>,
    },
    /// `read_tree` found something kubeseed never writes.
    NotRegular {
        path: PathBuf,
        what: &'static str,
    },
    /// An operating system call failed.
    Io {
        action: &'static str,
        path: PathBuf,
        err: io::Error,
    },
}

const CHOOSE: &str = "choose an empty or new directory";

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Unnamed { out } => write!(
                f,
                "cannot write to {}: --out must end in a directory name, not /, . or ..; \
                 for example --out ./cluster",
                out.display()
            ),
            WriteError::ReservedName { out } => write!(
                f,
                "cannot write to {}: names like this are kubeseed's own staging, lock and \
                 leftover names, which other renders remove; choose another name",
                out.display()
            ),
            WriteError::ParentMissing { out, parent } => write!(
                f,
                "cannot write to {}: its parent directory {} does not exist; create it first \
                 (mkdir -p {})",
                out.display(),
                parent.display(),
                parent.display()
            ),
            WriteError::ParentNotDir { out, parent } => write!(
                f,
                "cannot write to {}: {} is not a directory; choose a path inside a directory",
                out.display(),
                parent.display()
            ),
            WriteError::NotADirectory { out } => write!(
                f,
                "refusing to write to {}: it is a file, not a directory; {CHOOSE}",
                out.display()
            ),
            WriteError::Symlink { out } => write!(
                f,
                "refusing to write to {}: it is a symbolic link, and kubeseed would replace the \
                 link rather than write where it points; pass the directory itself or {CHOOSE}",
                out.display()
            ),
            WriteError::MountPoint { out } => write!(
                f,
                "refusing to write to {}: it is a mount point, and kubeseed replaces --out \
                 as a whole by renaming beside it; use a new directory inside it",
                out.display()
            ),
            WriteError::Foreign { out } => write!(
                f,
                "refusing to write to {}: it is not empty and has no index.json, so kubeseed \
                 did not write it; {CHOOSE}",
                out.display()
            ),
            WriteError::ForeignIndex { out, reason } => write!(
                f,
                "refusing to write to {}: its index.json is not a kubeseed index ({reason}), \
                 so kubeseed did not write it; {CHOOSE}",
                out.display()
            ),
            WriteError::Unlisted { out, path } => write!(
                f,
                "refusing to write to {}: it contains {path:?}, which its index.json does not \
                 list, so kubeseed did not write it and would delete it; move it elsewhere or \
                 {CHOOSE}",
                out.display()
            ),
            WriteError::Locked { out, lock } => write!(
                f,
                "another kubeseed is writing {} (it holds {}); wait for it to finish",
                out.display(),
                lock.display()
            ),
            WriteError::SeveralOld { out, found } => {
                let found: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "cannot write to {}: it is missing and interrupted renders left several \
                     earlier outputs beside it ({}); rename the one to keep to {} and remove \
                     the others",
                    out.display(),
                    found.join(", "),
                    out.display()
                )
            }
            WriteError::NotRegular { path, what } => write!(
                f,
                "refusing to read {}: it is {what}, which kubeseed never writes; move it \
                 elsewhere",
                path.display()
            ),
            WriteError::Io { action, path, err } => {
                write!(f, "cannot {action} {}: {err}", path.display())
            }
        }
    }
}

// The OS error is already part of the message, so it is not repeated as a source.
impl std::error::Error for WriteError {}

/// Check that `out` can be written, before any expensive work: it is missing (with an
/// existing parent), an empty directory, or a directory kubeseed wrote (an `index.json` of
/// ours that lists every file in it). Reads only; changes nothing.
pub fn check_out_dir(out: &Path) -> Result<(), WriteError> {
    Target::open(out)?.check().map(drop)
}

/// Write `files` and their `index.json` to `out`, replacing what is there atomically.
/// See the module documentation for the files created beside `out`.
pub fn write(out: &Path, files: &FileSet) -> Result<(), WriteError> {
    prepare(out)?.write(files)
}

/// `--out` made ready for one [`Prepared::write`]: locked, cleared of what interrupted renders
/// left beside it, and checked like [`check_out_dir`]. `render` locks and checks the top of
/// `--out` before rendering ([`lock`]), so a directory that is not kubeseed's is refused
/// before any expensive work, and walks it ([`Locked::check`]) while it renders: the lock,
/// held until the write, keeps another render from changing it in between.
pub struct Prepared {
    target: Target,
    _lock: Lock,
    /// What the old output's `index.json` lists, when there is an old output: it is removed
    /// by this list once the new one is in place.
    listed: Option<BTreeSet<String>>,
}

/// [`lock`], then [`Locked::check`].
pub fn prepare(out: &Path) -> Result<Prepared, WriteError> {
    lock(out)?.check()
}

/// `--out` locked and cleared of leftovers, and, on its top level, either missing, empty or
/// holding an `index.json` of kubeseed's; the walk of [`Locked::check`] is still to come.
pub struct Locked {
    target: Target,
    lock: Lock,
}

/// See [`Locked`].
pub fn lock(out: &Path) -> Result<Locked, WriteError> {
    let target = Target::open(out)?;
    // A directory that is not kubeseed's is refused before anything is created beside it.
    target.check_top()?;
    let lock = target.lock()?;
    target.clean_leftovers()?;
    Ok(Locked { target, lock })
}

impl Locked {
    /// Every file and directory under `--out` must be one its `index.json` lists.
    pub fn check(self) -> Result<Prepared, WriteError> {
        let listed = self.target.check()?;
        Ok(Prepared {
            target: self.target,
            _lock: self.lock,
            listed,
        })
    }
}

impl Prepared {
    /// Write `files` and their `index.json` to `--out`, replacing what is there atomically.
    pub fn write(self, files: &FileSet) -> Result<(), WriteError> {
        self.write_with(files, true, !syncfs_reports_errors())
    }

    /// `try_exchange` is false only in tests, to exercise the fallback that filesystems
    /// without `RENAME_EXCHANGE` get; `sync_each` syncs every file and directory instead of
    /// one `syncfs` (kernels before 5.8, and tests of that path).
    fn write_with(
        self,
        files: &FileSet,
        try_exchange: bool,
        sync_each: bool,
    ) -> Result<(), WriteError> {
        let target = &self.target;
        let staging = target.sibling_name(STAGING);
        let root = make_dir(
            target.parent_fd.as_fd(),
            &staging,
            &target.at(&staging),
            "create staging directory",
        )?;
        if let Err(e) = fill::fill(&root, &target.at(&staging), files, sync_each) {
            // Best effort: if this fails too, the next render removes the leftover by name.
            let _ = remove_tree_at(target.parent_fd.as_fd(), &staging, &target.parent);
            return Err(e);
        }
        target.swap_in(&staging, try_exchange, self.listed.as_ref())
    }
}

/// Every regular file under `out` (including `index.json`) by relative `/`-separated path,
/// with its bytes and permission bits, as [`crate::tree::read`] reads it; refuses at its first
/// finding (a symlink, a special file, a name that is not UTF-8) rather than skip it, so a
/// caller comparing trees never misses one.
pub fn read_tree(out: &Path) -> Result<BTreeMap<String, (Vec<u8>, u32)>, WriteError> {
    let refuse = |finding: tree::Finding| {
        let rel = finding.path.trim_end_matches('/');
        let path = match rel {
            "" | "." => out.to_path_buf(),
            rel => out.join(rel),
        };
        match finding.problem {
            Problem::Io { action, err } => WriteError::Io { action, path, err },
            problem => WriteError::NotRegular {
                path,
                what: problem.what(),
            },
        }
    };
    let tree = tree::read(out, &|_| true).map_err(refuse)?;
    match tree.findings.into_iter().next() {
        Some(finding) => Err(refuse(finding)),
        None => Ok(tree.files),
    }
}

const STAGING: &str = "kubeseed-staging";
const OLD: &str = "kubeseed-old";
const LOCK_SUFFIX: &str = ".kubeseed.lock";

/// Whether `name` is one kubeseed creates beside some output: `.X.kubeseed.lock`, or
/// `.X.kubeseed-staging-DIGITS` / `.X.kubeseed-old-DIGITS` that a render of `X` removes.
fn is_reserved(name: &OsStr) -> bool {
    let Some(rest) = name.as_bytes().strip_prefix(b".") else {
        return false;
    };
    if rest.ends_with(LOCK_SUFFIX.as_bytes()) {
        return true;
    }
    let digits = rest.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let head = &rest[..rest.len() - digits];
    digits > 0
        && [STAGING, OLD]
            .iter()
            .any(|tag| head.ends_with(format!(".{tag}-").as_bytes()))
}

/// `--out`, resolved to an open parent directory and a name inside it.
struct Target {
    /// As the user gave it, for messages.
    out: PathBuf,
    parent: PathBuf,
    name: OsString,
    parent_fd: OwnedFd,
}

impl Target {
    fn open(out: &Path) -> Result<Target, WriteError> {
        // `components` drops trailing slashes and inner `.`, so "out/", "./out" and "out/."
        // all name "out" in ".".
        let mut components: Vec<Component> = out.components().collect();
        let name = match components.pop() {
            Some(Component::Normal(name)) => name.to_os_string(),
            _ => {
                return Err(WriteError::Unnamed {
                    out: out.to_path_buf(),
                })
            }
        };
        if is_reserved(&name) {
            return Err(WriteError::ReservedName {
                out: out.to_path_buf(),
            });
        }
        let parent: PathBuf = components.iter().collect();
        let parent = if parent.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            parent
        };
        let parent_fd =
            rfs::open(&parent, dir_flags_follow(), Mode::empty()).map_err(|e| match e {
                Errno::NOENT => WriteError::ParentMissing {
                    out: out.to_path_buf(),
                    parent: parent.clone(),
                },
                Errno::NOTDIR => WriteError::ParentNotDir {
                    out: out.to_path_buf(),
                    parent: parent.clone(),
                },
                e => io_err("open the parent directory", &parent, e),
            })?;
        Ok(Target {
            out: out.to_path_buf(),
            parent,
            name,
            parent_fd,
        })
    }

    /// `.NAME.<tag>-PID`; the suffix is numeric so `is_leftover` can tell ours apart.
    fn sibling_name(&self, tag: &str) -> OsString {
        let mut s = OsString::from(".");
        s.push(&self.name);
        s.push(format!(".{tag}-{}", std::process::id()));
        s
    }

    fn lock_name(&self) -> OsString {
        let mut s = OsString::from(".");
        s.push(&self.name);
        s.push(LOCK_SUFFIX);
        s
    }

    /// Whether `entry` is named `.NAME.<tag>-DIGITS` (`STAGING` or `OLD`). The digits are the whole suffix, so
    /// the leftovers of an output named "a" never match those of one named
    /// "a.kubeseed-staging-1".
    fn is_leftover(&self, entry: &OsStr, tag: &str) -> bool {
        let mut prefix = b".".to_vec();
        prefix.extend_from_slice(self.name.as_bytes());
        prefix.extend_from_slice(format!(".{tag}-").as_bytes());
        match entry.as_bytes().strip_prefix(prefix.as_slice()) {
            Some(rest) => !rest.is_empty() && rest.iter().all(u8::is_ascii_digit),
            None => false,
        }
    }

    fn at(&self, name: &OsStr) -> PathBuf {
        self.parent.join(name)
    }

    fn stat_out(&self) -> Result<Option<rfs::Stat>, WriteError> {
        match rfs::statat(&self.parent_fd, &self.name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(io_err("inspect", &self.out, e)),
        }
    }

    /// What can be checked without a walk: `--out` is missing, or a directory on its
    /// parent's filesystem that is empty or holds an `index.json` of ours. Returns the open
    /// directory and the paths its index lists, unless `--out` is missing or empty.
    fn check_top(&self) -> Result<Option<(OwnedFd, BTreeSet<String>)>, WriteError> {
        let out = || self.out.clone();
        let Some(st) = self.stat_out()? else {
            return Ok(None);
        };
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => {}
            FileType::Symlink => return Err(WriteError::Symlink { out: out() }),
            _ => return Err(WriteError::NotADirectory { out: out() }),
        }
        let parent_st =
            rfs::fstat(&self.parent_fd).map_err(|e| io_err("inspect", &self.parent, e))?;
        if parent_st.st_dev != st.st_dev {
            return Err(WriteError::MountPoint { out: out() });
        }
        let dir = rfs::openat(&self.parent_fd, &self.name, dir_flags(), Mode::empty())
            .map_err(|e| io_err("read", &self.out, e))?;
        let top = list_dir(dir.as_fd(), &self.out)?;
        if top.is_empty() {
            return Ok(None);
        }
        if !top
            .iter()
            .any(|(name, ty)| name == INDEX_JSON && *ty == FileType::RegularFile)
        {
            return Err(WriteError::Foreign { out: out() });
        }
        let listed = read_index_paths(dir.as_fd(), &self.out)?;
        Ok(Some((dir, listed)))
    }

    /// [`Target::check_top`], then every file and directory under `--out` must be one its
    /// `index.json` lists (or a directory on such a path). Returns what it lists, unless
    /// `--out` is missing or empty.
    fn check(&self) -> Result<Option<BTreeSet<String>>, WriteError> {
        let Some((dir, listed)) = self.check_top()? else {
            return Ok(None);
        };
        // A directory is ours when a listed path lies below it: the first listed path at or
        // after "dir/" starts with "dir/" if any does.
        let lists_below = |dir: &str| {
            let below = format!("{dir}/");
            listed
                .range::<str, _>((Bound::Included(below.as_str()), Bound::Unbounded))
                .next()
                .is_some_and(|path| path.starts_with(&below))
        };
        let ours = |path: &Path, ty: FileType| {
            let path = path.to_string_lossy();
            let ours = match ty {
                FileType::RegularFile => path == INDEX_JSON || listed.contains(path.as_ref()),
                FileType::Directory => lists_below(&path),
                _ => false,
            };
            if ours {
                return Ok(());
            }
            Err(WriteError::Unlisted {
                out: self.out.clone(),
                path: path.into_owned(),
            })
        };
        walk(dir, &self.out, Path::new(""), true, &ours)?;
        Ok(Some(listed))
    }

    fn lock(&self) -> Result<Lock, WriteError> {
        let name = self.lock_name();
        let path = self.at(&name);
        let fd = rfs::openat(
            &self.parent_fd,
            &name,
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| io_err("create the lock file", &path, e))?;
        match rfs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Lock(fd)),
            Err(Errno::WOULDBLOCK) => Err(WriteError::Locked {
                out: self.out.clone(),
                lock: path,
            }),
            Err(e) => Err(io_err("lock", &path, e)),
        }
    }

    /// Remove what interrupted renders of this `--out` left beside it, first putting back an
    /// old output that an interrupted fallback swap left `--out` without.
    fn clean_leftovers(&self) -> Result<(), WriteError> {
        let mut staging = Vec::new();
        let mut old = Vec::new();
        for (name, ty) in list_dir(self.parent_fd.as_fd(), &self.parent)? {
            if ty != FileType::Directory {
                continue;
            }
            if self.is_leftover(&name, STAGING) {
                staging.push(name);
            } else if self.is_leftover(&name, OLD) {
                old.push(name);
            }
        }
        if self.stat_out()?.is_none() && !old.is_empty() {
            if old.len() > 1 {
                return Err(WriteError::SeveralOld {
                    out: self.out.clone(),
                    found: old.iter().map(|n| self.at(n)).collect(),
                });
            }
            let restored = old.remove(0);
            rfs::renameat(&self.parent_fd, &restored, &self.parent_fd, &self.name)
                .map_err(|e| io_err("restore the earlier output from", &self.at(&restored), e))?;
            rfs::fsync(&self.parent_fd).map_err(|e| io_err("sync", &self.parent, e))?;
        }
        for name in staging.iter().chain(&old) {
            remove_tree_at(self.parent_fd.as_fd(), name, &self.parent)?;
        }
        Ok(())
    }

    /// Put the staging tree at `--out`, then remove whatever was there.
    /// The old tree is removed by `listed`, what its checked `index.json` lists, if given.
    fn swap_in(
        &self,
        staging: &OsStr,
        try_exchange: bool,
        listed: Option<&BTreeSet<String>>,
    ) -> Result<(), WriteError> {
        let fd = &self.parent_fd;
        let move_err = |e| io_err("move the new output into place at", &self.out, e);
        let sync = || rfs::fsync(fd).map_err(|e| io_err("sync", &self.parent, e));

        if self.stat_out()?.is_none() {
            if let Err(e) = rfs::renameat(fd, staging, fd, &self.name) {
                let _ = remove_tree_at(fd.as_fd(), staging, &self.parent);
                return Err(move_err(e));
            }
            return sync();
        }

        let exchanged = try_exchange
            && match rfs::renameat_with(fd, staging, fd, &self.name, RenameFlags::EXCHANGE) {
                Ok(()) => true,
                // The filesystem (or kernel) cannot exchange: fall back to two renames.
                Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => false,
                Err(e) => {
                    let _ = remove_tree_at(fd.as_fd(), staging, &self.parent);
                    return Err(move_err(e));
                }
            };
        let old = if exchanged {
            // The old tree now sits at the staging name.
            staging.to_os_string()
        } else {
            // --out is missing between these two renames; clean_leftovers restores it if
            // a crash lands in between.
            let old = self.sibling_name(OLD);
            if let Err(e) = rfs::renameat(fd, &self.name, fd, &old) {
                let _ = remove_tree_at(fd.as_fd(), staging, &self.parent);
                return Err(io_err("move the old output aside to", &self.at(&old), e));
            }
            if let Err(e) = rfs::renameat(fd, staging, fd, &self.name) {
                let restored = rfs::renameat(fd, &old, fd, &self.name);
                if restored.is_ok() {
                    let _ = remove_tree_at(fd.as_fd(), staging, &self.parent);
                }
                return Err(move_err(e));
            }
            old
        };
        sync()?;
        // The new output is in place and durable. The old tree goes by its listing (no
        // directory is read), else by a walk; if that fails too it stays as a recognisable
        // leftover that the next render removes, so it is not an error.
        let by_listing = listed.is_some_and(|listed| {
            let listed: Vec<&str> = listed.iter().map(String::as_str).collect();
            remove_listed(fd.as_fd(), &old, &self.parent, &listed).is_ok()
        });
        if !by_listing {
            let _ = remove_tree_at(fd.as_fd(), &old, &self.parent);
        }
        Ok(())
    }
}

/// The held lock of one `--out`. Dropping it unlocks explicitly before closing: a process
/// that forks (a test harness, a library user spawning tools) shares the open file
/// description until its child execs, and a plain close would leave the lock held by that
/// child for a moment.
struct Lock(OwnedFd);

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = rfs::flock(&self.0, FlockOperation::Unlock);
    }
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// For the parent of `--out`, which may legitimately be reached through a symlink.
fn dir_flags_follow() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC
}

fn file_read_flags() -> OFlags {
    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK
}

fn io_err(action: &'static str, path: &Path, e: Errno) -> WriteError {
    WriteError::Io {
        action,
        path: path.to_path_buf(),
        err: e.into(),
    }
}

fn std_io_err(action: &'static str, path: &Path, err: io::Error) -> WriteError {
    WriteError::Io {
        action,
        path: path.to_path_buf(),
        err,
    }
}

/// Directories are 0755.
const DIR_MODE: u32 = 0o755;

/// Create directory `name` in `parent` with mode 0755 exactly, whatever the umask, and open
/// it.
fn make_dir(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    path: &Path,
    action: &'static str,
) -> Result<OwnedFd, WriteError> {
    let mode = Mode::from_raw_mode(DIR_MODE);
    rfs::mkdirat(parent, name, mode).map_err(|e| io_err(action, path, e))?;
    let fd = rfs::openat(parent, name, dir_flags(), Mode::empty())
        .map_err(|e| io_err("open", path, e))?;
    rfs::fchmod(&fd, mode).map_err(|e| io_err("set the mode of", path, e))?;
    Ok(fd)
}

/// Whether `syncfs(2)` reports a write that failed: Linux returns the filesystem's writeback
/// errors from it since 5.8; before, only each file's own `fsync` does.
fn syncfs_reports_errors() -> bool {
    release_at_least_5_8(&rustix::system::uname().release().to_string_lossy())
}

/// Whether a kernel release string (`6.1.0-18-amd64`) names Linux 5.8 or later.
fn release_at_least_5_8(release: &str) -> bool {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    version >= (5, 8)
}

/// The paths listed in `out/index.json`, or why it is not one of ours.
fn read_index_paths(out_fd: BorrowedFd<'_>, out: &Path) -> Result<BTreeSet<String>, WriteError> {
    #[derive(Deserialize)]
    struct Index {
        version: u64,
        files: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        path: String,
    }
    let path = out.join(INDEX_JSON);
    let fd = rfs::openat(out_fd, INDEX_JSON, file_read_flags(), Mode::empty())
        .map_err(|e| io_err("read", &path, e))?;
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .read_to_end(&mut bytes)
        .map_err(|e| std_io_err("read", &path, e))?;
    let foreign = |reason: String| WriteError::ForeignIndex {
        out: out.to_path_buf(),
        reason,
    };
    // Only the position goes into the message: serde_json's own text can quote the file, and
    // a foreign file may hold anything.
    let index: Index = serde_json::from_slice(&bytes).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "not the expected structure",
            _ => "not valid JSON",
        };
        foreign(format!("{what} at line {} column {}", e.line(), e.column()))
    })?;
    if index.version != 1 {
        return Err(foreign(format!("version {}, expected 1", index.version)));
    }
    // The old tree is removed by these paths: each must stay inside it.
    for (i, entry) in index.files.iter().enumerate() {
        if let Some(problem) = relative_path_problem(&entry.path) {
            return Err(foreign(format!("the path of file {}: {problem}", i + 1)));
        }
    }
    Ok(index.files.into_iter().map(|e| e.path).collect())
}

#[cfg(test)]
mod tests;
