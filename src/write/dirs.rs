//! Reading and removing directory trees below a descriptor, never following a symlink:
//! entry types from `getdents`, and the one wide directory of a large output (`nodes/`)
//! read or removed on two threads with the order and first error of one.

use std::ffi::{OsStr, OsString};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, AtFlags, FileType, Mode};
use rustix::io::Errno;

use super::{dir_flags, io_err, WriteError};

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

/// Every entry below `dir` (consumed; its path relative to the walk's root is `rel`; the
/// root is `root` in messages) without following symlinks, with its type: a directory before
/// its contents, names sorted. The first directory with [`PARALLEL_DIRS`] subdirectories
/// or more is read on two threads, each half of its entries in order, so the result (and
/// the first error) is the one a single thread gives.
pub(super) fn walk(
    dir: OwnedFd,
    root: &Path,
    rel: &Path,
    may_split: bool,
) -> Result<Vec<(PathBuf, FileType)>, WriteError> {
    let here = root.join(rel);
    let (dir, entries) = read_dir(dir, &here)?;
    let fd = dir.fd().map_err(|e| io_err("read", &here, e))?;
    let visit = |entries: &[(OsString, FileType)], may_split: bool| {
        let mut found = Vec::new();
        for (name, ty) in entries {
            let child_rel = rel.join(name);
            found.push((child_rel.clone(), *ty));
            if *ty == FileType::Directory {
                let child = rfs::openat(fd, name, dir_flags(), Mode::empty())
                    .map_err(|e| io_err("read", &root.join(&child_rel), e))?;
                found.extend(walk(child, root, &child_rel, may_split)?);
            }
        }
        Ok(found)
    };
    let subdirs = entries
        .iter()
        .filter(|(_, ty)| *ty == FileType::Directory)
        .count();
    if !(may_split && subdirs >= PARALLEL_DIRS) {
        return visit(&entries, may_split);
    }
    let (first, second) = entries.split_at(entries.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| visit(second, false));
        let mut found = visit(first, false)?;
        let theirs = other
            .join()
            .unwrap_or_else(|_| Err(io_err("read (a thread panicked)", &here, Errno::IO)))?;
        found.extend(theirs);
        Ok(found)
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
        let (first, second) = dirs.split_at(dirs.len() / 2);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| remove_all(second, false));
            let mine = remove_all(first, false);
            let theirs = other.join().unwrap_or_else(|_| {
                Err(io_err(
                    "remove (a removal thread panicked)",
                    &path,
                    Errno::IO,
                ))
            });
            mine.and(theirs)
        })?;
    } else {
        remove_all(&dirs, may_split)?;
    }
    drop(dir);
    rfs::unlinkat(parent, name, AtFlags::REMOVEDIR).map_err(|e| io_err("remove", &path, e))
}
