//! Filling a new staging directory: every file by its path below the staging directory's
//! descriptor, a large output on two threads, `index.json` last, then one `syncfs`.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::dirs::on_two_threads;
use super::{dir_flags, io_err, std_io_err, WriteError, DIR_MODE};
use crate::fileset::{File, FileSet, INDEX_JSON};

/// An output with at least this many files is written (and, as an old output, removed) on
/// two threads, half the paths each: examples/ha's 193 files measured faster on two, and
/// small outputs keep the one thread they need.
pub(super) const PARALLEL_FILES: usize = 128;

/// Write every file, then `index.json` (from hashes made meanwhile on another thread), into
/// the new, empty staging directory `root` at `root_path`, and make the whole tree durable
/// before it is swapped in: one `syncfs` of its filesystem, or, with `each` (where `syncfs`
/// may not report a failed write: [`super::syncfs_reports_errors`]), a sync of each file and
/// directory as it is finished.
pub(super) fn fill(
    root: &OwnedFd,
    root_path: &Path,
    files: &FileSet,
    each: bool,
) -> Result<(), WriteError> {
    let writer = Writer {
        root: root.as_fd(),
        root_path,
        creation: Creation::below(root.as_fd()),
        each,
    };
    let paths: Vec<(&str, &File)> = files.iter().collect();
    std::thread::scope(|scope| {
        let hashes = scope.spawn(|| files.hashes());
        writer.write_all(&paths)?;
        let hashes = hashes
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // Last, so a staging tree with an index.json is a complete one. Written as it is
        // made: for a large output it is half a megabyte.
        writer.write_file_with(INDEX_JSON, 0o644, |file| {
            files.write_index_json(&hashes, std::io::BufWriter::with_capacity(1 << 16, file))
        })
    })?;
    if each {
        rfs::fsync(root).map_err(|e| io_err("sync", root_path, e))
    } else {
        // Every dirty page and inode of the filesystem, the staging tree's among them.
        rfs::syncfs(root).map_err(|e| io_err("sync the filesystem of", root_path, e))
    }
}

/// Everything below the staging directory is made by its path from the staging directory's
/// descriptor, with no descriptor for each directory: the tree is new, and only its owner
/// can write in it.
struct Writer<'a> {
    root: BorrowedFd<'a>,
    root_path: &'a Path,
    creation: Creation,
    each: bool,
}

impl Writer<'_> {
    /// Write `paths` (sorted), on two threads when there are [`PARALLEL_FILES`] or more. The
    /// directories both halves need are those the last path of the first half shares with the
    /// first of the second (sorted paths under one directory are contiguous): they are made
    /// first. A failure in the first half is reported before one in the second, as one
    /// thread would.
    fn write_all(&self, paths: &[(&str, &File)]) -> Result<(), WriteError> {
        if paths.len() < PARALLEL_FILES {
            return self.write_run(paths, &[]);
        }
        let mid = paths.len() / 2;
        let shared = shared_dirs(paths[mid - 1].0, paths[mid].0);
        for dir in &shared {
            self.make_dir(dir)?;
        }
        on_two_threads(
            paths,
            "write (a writing thread panicked)",
            self.root_path,
            |half| self.write_run(half, &shared),
        )?;
        shared.iter().rev().try_for_each(|dir| self.finish(dir))
    }

    /// Write `paths` (sorted), making their directories as they come up, except `made`
    /// (which exist already and are finished by the caller). The directories made form a
    /// stack: one is finished once a path outside it comes up, and never revisited.
    fn write_run(&self, paths: &[(&str, &File)], made: &[&str]) -> Result<(), WriteError> {
        let mut open: Vec<&str> = Vec::new();
        for (path, file) in paths {
            let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
            while let Some(&d) = open.last() {
                if is_within(dir, d) {
                    break;
                }
                if !made.contains(&d) {
                    self.finish(d)?;
                }
                open.pop();
            }
            let mut start = open.last().map_or(0, |d| d.len() + 1);
            while start < dir.len() {
                let end = dir[start..].find('/').map_or(dir.len(), |i| start + i);
                let prefix = &dir[..end];
                if !made.contains(&prefix) {
                    self.make_dir(prefix)?;
                }
                open.push(prefix);
                start = end + 1;
            }
            self.write_file(path, &file.bytes, file.mode)?;
        }
        while let Some(d) = open.pop() {
            if !made.contains(&d) {
                self.finish(d)?;
            }
        }
        Ok(())
    }

    /// A directory all of whose contents are written: with `each`, it is synced.
    fn finish(&self, dir: &str) -> Result<(), WriteError> {
        if self.each {
            let path = || self.root_path.join(dir);
            let fd = rfs::openat(self.root, dir, dir_flags(), Mode::empty())
                .map_err(|e| io_err("open", &path(), e))?;
            rfs::fsync(&fd).map_err(|e| io_err("sync", &path(), e))?;
        }
        Ok(())
    }

    /// Create directory `rel` with mode 0755 exactly.
    fn make_dir(&self, rel: &str) -> Result<(), WriteError> {
        let mode = Mode::from_raw_mode(DIR_MODE);
        let err = |action, e| io_err(action, &self.root_path.join(rel), e);
        rfs::mkdirat(self.root, rel, mode).map_err(|e| err("create", e))?;
        if self.creation.needs_chmod(DIR_MODE) {
            rfs::chmodat(self.root, rel, mode, AtFlags::empty())
                .map_err(|e| err("set the mode of", e))?;
        }
        Ok(())
    }

    /// Create a new file with its final mode from the first moment (the umask can only
    /// narrow the creation mode; `fchmod` then sets it exactly where [`Creation`] cannot rule
    /// that out), write it and, with `each`, sync it.
    fn write_file(&self, rel: &str, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
        self.write_file_with(rel, mode, |mut file| file.write_all(bytes))
    }

    /// [`Writer::write_file`], its bytes written by `write`.
    fn write_file_with(
        &self,
        rel: &str,
        mode: u32,
        write: impl FnOnce(&std::fs::File) -> std::io::Result<()>,
    ) -> Result<(), WriteError> {
        let path = || self.root_path.join(rel);
        let needs_chmod = self.creation.needs_chmod(mode);
        let mode = Mode::from_raw_mode(mode);
        let fd = rfs::openat(
            self.root,
            rel,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            mode,
        )
        .map_err(|e| io_err("create", &path(), e))?;
        if needs_chmod {
            rfs::fchmod(&fd, mode).map_err(|e| io_err("set the mode of", &path(), e))?;
        }
        let file = std::fs::File::from(fd);
        write(&file).map_err(|e| std_io_err("write", &path(), e))?;
        if self.each {
            file.sync_all()
                .map_err(|e| std_io_err("sync", &path(), e))?;
        }
        Ok(())
    }
}

/// Whether directory `dir` is `ancestor` or below it.
pub(super) fn is_within(dir: &str, ancestor: &str) -> bool {
    dir.strip_prefix(ancestor)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The directories two file paths share, outermost first: `a`, `a/b` and `a/b/c` for
/// `a/b/c/x` and `a/b/c/d/y`.
pub(super) fn shared_dirs<'a>(a: &'a str, b: &str) -> Vec<&'a str> {
    a.match_indices('/')
        .map(|(i, _)| &a[..i])
        .take_while(|dir| b.as_bytes().get(dir.len()) == Some(&b'/') && b.starts_with(dir))
        .collect()
}

/// Whether a file or directory created below a directory gets exactly the mode it is
/// created with, so that the `fchmod` setting it can be left out. Only the umask narrows a
/// creation mode, unless the directory has a default ACL, which then takes the umask's place
/// (and a setgid directory passes its bit on: the staging directory is made without it).
/// When in doubt (no `/proc`, an ACL), every mode is set.
struct Creation {
    umask: Option<u32>,
}

impl Creation {
    /// For what is created below `dir`.
    fn below(dir: BorrowedFd<'_>) -> Creation {
        let default_acl = rfs::fgetxattr_query(dir, "system.posix_acl_default");
        if !matches!(default_acl, Err(Errno::NODATA | Errno::NOTSUP)) {
            return Creation { umask: None };
        }
        Creation {
            umask: process_umask(),
        }
    }

    /// Whether `mode` must be set after creating.
    fn needs_chmod(&self, mode: u32) -> bool {
        self.umask.is_none_or(|umask| mode & umask != 0)
    }
}

/// The process's umask as Linux reports it in `/proc/self/status` (since 4.7). `umask(2)`
/// reads it only by setting it, which could widen another thread's new files for a moment.
/// Another thread setting a stricter umask during a render can only narrow a mode.
fn process_umask() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let umask = status
        .lines()
        .find_map(|line| line.strip_prefix("Umask:"))?;
    u32::from_str_radix(umask.trim(), 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_dirs_are_whole_components() {
        assert_eq!(shared_dirs("a/b/c/x", "a/b/c/d/y"), ["a", "a/b", "a/b/c"]);
        assert_eq!(shared_dirs("a/b/x", "a/bc/y"), ["a"]);
        assert_eq!(shared_dirs("a/b", "a/b/c"), ["a"]);
        assert_eq!(shared_dirs("x", "y/z"), Vec::<&str>::new());
        assert_eq!(shared_dirs("ab/x", "a/x"), Vec::<&str>::new());
    }

    #[test]
    fn within_is_by_whole_components() {
        assert!(is_within("a/b", "a"));
        assert!(is_within("a", "a"));
        assert!(!is_within("", "a"));
        assert!(!is_within("ab", "a"));
        assert!(!is_within("a", "a/b"));
    }

    #[test]
    fn needs_chmod_only_where_the_umask_narrows() {
        let umask = Creation { umask: Some(0o022) };
        assert!(!umask.needs_chmod(0o755));
        assert!(!umask.needs_chmod(0o600));
        assert!(umask.needs_chmod(0o664));
        assert!(Creation { umask: None }.needs_chmod(0o600));
        assert!(Creation { umask: Some(0o077) }.needs_chmod(0o644));
    }
}
