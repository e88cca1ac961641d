//! Reading and removing directory trees below a descriptor, never following a symlink:
//! entry types from `getdents`, and the one wide directory of a large output (`nodes/`)
//! read or removed on two threads with the order and first error of one.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode};
use rustix::io::Errno;

use super::fill::{is_within, shared_dirs, PARALLEL_FILES};
use super::{dir_flags, io_err, WriteError};
use crate::fileset::INDEX_JSON;

/// The entries of directory `dir` (consumed: it becomes the returned [`rfs::Dir`], kept for
/// `*at` calls on its entries), without `.` and `..`, sorted by name so walks and errors are
/// deterministic, each with its type: the directory entry's, or `statat`'s where the
/// filesystem does not fill it in.
pub(super) fn read_dir(
    dir: OwnedFd,
    path: &Path,
) -> Result<(rfs::Dir, Vec<(OsString, FileType)>), WriteError> {
    let mut dir = rfs::Dir::new(dir).map_err(|e| io_err("read", path, e))?;
    let mut entries = Vec::new();
    while let Some(entry) = dir.read() {
        let entry = entry.map_err(|e| io_err("read", path, e))?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            entries.push((OsString::from_vec(name.to_vec()), entry.file_type()));
        }
    }
    let fd = dir.fd().map_err(|e| io_err("read", path, e))?;
    for (name, ty) in &mut entries {
        if *ty == FileType::Unknown {
            let st = rfs::statat(fd, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| io_err("inspect", &path.join(&name), e))?;
            *ty = FileType::from_raw_mode(st.st_mode);
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((dir, entries))
}

/// [`read_dir`] of a directory that stays open elsewhere (read through a new descriptor).
pub(super) fn list_dir(
    dir: BorrowedFd<'_>,
    path: &Path,
) -> Result<Vec<(OsString, FileType)>, WriteError> {
    let own =
        rfs::openat(dir, ".", dir_flags(), Mode::empty()).map_err(|e| io_err("read", path, e))?;
    Ok(read_dir(own, path)?.1)
}

/// Visit every entry below `dir` (consumed; its path relative to the walk's root is `rel`;
/// the root is `root` in messages) without following symlinks: `visit` gets each path and
/// type, a directory before its contents, names sorted, and its first error ends the walk.
/// The first directory with [`PARALLEL_DIRS`] subdirectories or more is walked on two
/// threads, each half of its entries in order, so the first error is the one a single
/// thread meets.
pub(super) fn walk(
    dir: OwnedFd,
    root: &Path,
    rel: &Path,
    may_split: bool,
    visit: &(impl Fn(&Path, FileType) -> Result<(), WriteError> + Sync),
) -> Result<(), WriteError> {
    let here = root.join(rel);
    let (dir, entries) = read_dir(dir, &here)?;
    let fd = dir.fd().map_err(|e| io_err("read", &here, e))?;
    let visit_all = |entries: &[(OsString, FileType)], may_split: bool| {
        entries.iter().try_for_each(|(name, ty)| {
            let child_rel = rel.join(name);
            visit(&child_rel, *ty)?;
            if *ty == FileType::Directory {
                let child = rfs::openat(fd, name, dir_flags(), Mode::empty())
                    .map_err(|e| io_err("read", &root.join(&child_rel), e))?;
                walk(child, root, &child_rel, may_split, visit)?;
            }
            Ok(())
        })
    };
    let subdirs = entries
        .iter()
        .filter(|(_, ty)| *ty == FileType::Directory)
        .count();
    if !(may_split && subdirs >= PARALLEL_DIRS) {
        return visit_all(&entries, may_split);
    }
    on_two_threads(&entries, "read (a thread panicked)", &here, |half| {
        visit_all(half, false)
    })
}

/// `run` over each half of `items` (the second half on another thread): the first half's
/// error if it has one, as one thread going through the items in order would report. `action`
/// on `path` is what failed if a thread panics.
pub(super) fn on_two_threads<T: Sync>(
    items: &[T],
    action: &'static str,
    path: &Path,
    run: impl Fn(&[T]) -> Result<(), WriteError> + Sync,
) -> Result<(), WriteError> {
    let (first, second) = items.split_at(items.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| run(second));
        let mine = run(first);
        let theirs = other
            .join()
            .unwrap_or_else(|_| Err(io_err(action, path, Errno::IO)));
        mine.and(theirs)
    })
}

/// Remove directory `name` in `parent` and everything in it, never following a symlink.
pub(super) fn remove_tree_at(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    parent_path: &Path,
) -> Result<(), WriteError> {
    remove_tree(parent, name, parent_path, true)
}

/// A directory with at least this many subdirectories is read or removed on two threads
/// (`nodes/` of a large cluster: one directory per bundle), once per tree.
pub(super) const PARALLEL_DIRS: usize = 8;

fn remove_tree(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    parent_path: &Path,
    may_split: bool,
) -> Result<(), WriteError> {
    let path = parent_path.join(name);
    let dir = rfs::openat(parent, name, dir_flags(), Mode::empty())
        .map_err(|e| io_err("remove", &path, e))?;
    let (dir, entries) = read_dir(dir, &path)?;
    let fd = dir.fd().map_err(|e| io_err("remove", &path, e))?;
    let (dirs, others): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .partition(|(_, ty)| *ty == FileType::Directory);
    for (child, _) in others {
        rfs::unlinkat(fd, &child, AtFlags::empty())
            .map_err(|e| io_err("remove", &path.join(&child), e))?;
    }
    let remove_all = |dirs: &[(OsString, FileType)], may_split: bool| {
        dirs.iter()
            .try_for_each(|(child, _)| remove_tree(fd, child, &path, may_split))
    };
    if may_split && dirs.len() >= PARALLEL_DIRS {
        on_two_threads(&dirs, "remove (a removal thread panicked)", &path, |half| {
            remove_all(half, false)
        })?;
    } else {
        remove_all(&dirs, may_split)?;
    }
    drop(dir);
    rfs::unlinkat(parent, name, AtFlags::REMOVEDIR).map_err(|e| io_err("remove", &path, e))
}

/// Remove directory `name` in `parent`, which a check under the lock found to hold only the
/// files `listed` (sorted, `/`-separated, each possibly missing), `index.json` and their
/// directories: each file through a descriptor of its directory, each directory once what
/// is listed in it is gone, never following a symlink and without reading a directory. A
/// directory holding anything else fails to go (ENOTEMPTY): the caller then falls back to
/// [`remove_tree_at`]. [`PARALLEL_FILES`] or more files are removed on two threads.
pub(super) fn remove_listed(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    parent_path: &Path,
    listed: &[&str],
) -> Result<(), WriteError> {
    let path = parent_path.join(name);
    let top = rfs::openat(parent, name, dir_flags(), Mode::empty())
        .map_err(|e| io_err("remove", &path, e))?;
    let remover = Remover {
        top: top.as_fd(),
        path: &path,
    };
    if listed.len() < PARALLEL_FILES {
        remover.run(listed, &[])?;
    } else {
        let mid = listed.len() / 2;
        let mut shared: Vec<(&str, OwnedFd)> = Vec::new();
        for dir in shared_dirs(listed[mid - 1], listed[mid]) {
            let parent = shared.last().map_or(remover.top, |(_, fd)| fd.as_fd());
            let fd = remover
                .open(parent, dir)?
                .ok_or_else(|| io_err("remove", &path.join(dir), Errno::NOENT))?;
            shared.push((dir, fd));
        }
        on_two_threads(
            listed,
            "remove (a removal thread panicked)",
            &path,
            |half| remover.run(half, &shared),
        )?;
        while let Some((dir, fd)) = shared.pop() {
            drop(fd);
            let parent = shared.last().map_or(remover.top, |(_, fd)| fd.as_fd());
            remover.rmdir(parent, dir)?;
        }
    }
    remover.unlink(remover.top, INDEX_JSON)?;
    drop(top);
    rfs::unlinkat(parent, name, AtFlags::REMOVEDIR).map_err(|e| io_err("remove", &path, e))
}

struct Remover<'a> {
    top: BorrowedFd<'a>,
    path: &'a Path,
}

impl Remover<'_> {
    /// Remove the files `listed` (sorted), and each directory they are in once it is done,
    /// except those in `shared`, open already and removed by the caller. The directories
    /// open form a stack, as in [`super::fill`].
    fn run(&self, listed: &[&str], shared: &[(&str, OwnedFd)]) -> Result<(), WriteError> {
        let mut open: Vec<(&str, OwnedFd)> = Vec::new();
        'paths: for path in listed {
            let dir = parent_dir(path);
            while let Some((d, fd)) = open.pop_if(|(d, _)| !is_within(dir, d)) {
                drop(fd);
                self.rmdir(deepest(self.top, shared, &open, parent_dir(d)).0, d)?;
            }
            let (_, mut start) = deepest(self.top, shared, &open, dir);
            while start < dir.len() {
                let end = dir[start..].find('/').map_or(dir.len(), |i| start + i);
                let Some(fd) = self.open(deepest(self.top, shared, &open, dir).0, &dir[..end])?
                else {
                    // Gone, with everything listed below it.
                    continue 'paths;
                };
                open.push((&dir[..end], fd));
                start = end + 1;
            }
            self.unlink(deepest(self.top, shared, &open, dir).0, path)?;
        }
        while let Some((d, fd)) = open.pop() {
            drop(fd);
            self.rmdir(deepest(self.top, shared, &open, parent_dir(d)).0, d)?;
        }
        Ok(())
    }

    /// Open directory `rel` (below the top), whose parent is open as `parent`; `None` if it
    /// is gone.
    fn open(&self, parent: BorrowedFd<'_>, rel: &str) -> Result<Option<OwnedFd>, WriteError> {
        match rfs::openat(parent, last_name(rel), dir_flags(), Mode::empty()) {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(io_err("remove", &self.path.join(rel), e)),
        }
    }

    /// Remove file `rel` (below the top), whose directory is open as `dir`; one already gone
    /// is no error.
    fn unlink(&self, dir: BorrowedFd<'_>, rel: &str) -> Result<(), WriteError> {
        match rfs::unlinkat(dir, last_name(rel), AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(io_err("remove", &self.path.join(rel), e)),
        }
    }

    /// Remove directory `rel` (below the top), whose parent is open as `parent`; one already
    /// gone is no error.
    fn rmdir(&self, parent: BorrowedFd<'_>, rel: &str) -> Result<(), WriteError> {
        match rfs::unlinkat(parent, last_name(rel), AtFlags::REMOVEDIR) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(io_err("remove", &self.path.join(rel), e)),
        }
    }
}

/// The deepest directory open that `dir` is or is in (the last of `open`, else one of
/// `shared`, else `top`), and where the rest of `dir` starts.
fn deepest<'f>(
    top: BorrowedFd<'f>,
    shared: &'f [(&str, OwnedFd)],
    open: &'f [(&str, OwnedFd)],
    dir: &str,
) -> (BorrowedFd<'f>, usize) {
    let own = open.last().filter(|(d, _)| is_within(dir, d));
    own.or_else(|| shared.iter().rev().find(|(d, _)| is_within(dir, d)))
        .map_or((top, 0), |(d, fd)| (fd.as_fd(), d.len() + 1))
}

/// The directory part of `/`-separated `path` (`""` at the top).
fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// The last component of `/`-separated `path`.
fn last_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}
