//! Node bundle formats: one list of files at their on-host paths, four ways to hand it to a
//! machine.
//!
//! [`bundle`] turns the [`HostFile`]s of one node (a controller or a node pool) into
//! `nodes/<name>/...`:
//!
//! - `rootfs/`: the tree itself, each file at its host path with its host mode;
//! - `rootfs.tar`: the same tree as a reproducible ustar archive, for image builds;
//! - `cloud-config.yaml`: `#cloud-config` user-data with `write_files`;
//! - `ignition.json`: an Ignition config, spec 3.3.0.
//!
//! Every format carries the same files with the same bytes, modes and owner (root), and the
//! same parent directories (0755, root), so switching formats never changes what lands on a
//! machine. Which files a node gets is [`placement`]'s business; this module knows nothing about
//! Kubernetes, only about files, systemd units and the four formats.
//!
//! Everything here is a pure function of its input: entries are sorted by path whatever
//! order they arrive in, tar metadata is fixed (uid/gid 0, owner names `root`, one mtime given
//! by the caller), and JSON key order is struct declaration order.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use time::OffsetDateTime;

use crate::fileset::{check_file, check_place, File, FileSet, FileSetError, Kind, Space};
use crate::spec::Format;
use crate::text::{b64, yaml_scalar};

/// Ignition config spec version of `ignition.json`. 3.3.0 is read by every Ignition since
/// 2.14, which is also the newest that Debian 12's `ignition-validate` accepts.
pub const IGNITION_VERSION: &str = "3.3.0";

mod ignition;
pub mod placement;

pub use ignition::ignition;

/// Mode of every directory a bundle creates, in every format.
pub const DIR_MODE: u32 = 0o755;

/// Largest mtime a ustar header holds: eleven octal digits (2242-03-16T12:56:31Z).
const USTAR_MAX_MTIME: i64 = 0o777_7777_7777;

/// Where systemd looks for administrator units and drop-ins.
const SYSTEMD_UNIT_DIR: &str = "/etc/systemd/system/";

/// Unit types whose files or drop-ins in [`SYSTEMD_UNIT_DIR`] make a bundle (re)start them.
const UNIT_SUFFIXES: &[&str] = &[
    ".service", ".socket", ".timer", ".path", ".mount", ".target",
];

/// One file as it lands on a machine.
#[derive(Clone, PartialEq, Eq)]
pub struct HostFile {
    /// Absolute on-host path, `/`-separated, e.g. `/etc/kubernetes/admin.conf`.
    pub path: String,
    /// Permission bits only (at most 0o777); a secret's must not let group or others in.
    pub mode: u32,
    /// Whether the bytes are secret: the bundle files that embed it become secret too.
    pub secret: bool,
    pub bytes: Vec<u8>,
}

// Bundles hold private keys: Debug shows where a file goes, never what it holds.
impl fmt::Debug for HostFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostFile")
            .field("path", &self.path)
            .field("mode", &format_args!("{:04o}", self.mode))
            .field("secret", &self.secret)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Why a bundle cannot be built. The host files come from kubeseed's own table, so these are
/// renderer bugs or spec values (names, `pki.not_before`) that no format can carry; each
/// message names the path or value and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleError {
    /// A host path, mode or secret that breaks the rules of a file tree, or a bundle's output
    /// path refused by the file set.
    Path(FileSetError),
    /// `rootfs.tar`'s mtime (`pki.not_before`) does not fit a ustar header.
    MtimeOutOfRange { mtime: OffsetDateTime },
    /// The tar header could not hold a path (too long for ustar's name and prefix fields).
    Tar { path: String, message: String },
    /// Any of the above, in the bundle of node `node`.
    InNode {
        node: String,
        error: Box<BundleError>,
    },
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BundleError::Path(e) => write!(f, "{e}"),
            BundleError::MtimeOutOfRange { mtime } => write!(
                f,
                "pki.not_before ({mtime}) cannot be the mtime of rootfs.tar: a ustar header \
                 holds times from 1970-01-01T00:00:00Z to 2242-03-16T12:56:31Z; pick a \
                 not_before in that range or leave rootfs.tar out of formats"
            ),
            BundleError::Tar { path, message } => {
                write!(f, "rootfs.tar: cannot add {path:?}: {message}")
            }
            BundleError::InNode { node, error } => write!(f, "bundle nodes/{node}: {error}"),
        }
    }
}

impl std::error::Error for BundleError {}

impl From<FileSetError> for BundleError {
    fn from(e: FileSetError) -> Self {
        BundleError::Path(e)
    }
}

/// A checked list of host files: sorted by path, unique, with every parent directory. A
/// bundle builds it once and every format reads it.
struct Tree<'a> {
    files: BTreeMap<&'a str, &'a HostFile>,
    /// Every parent directory of a file, except `/` itself.
    dirs: BTreeSet<String>,
    /// Each file's bytes in base64, in `files` order: cloud-config and Ignition both carry
    /// them.
    base64: OnceCell<Vec<String>>,
}

impl<'a> Tree<'a> {
    fn new(files: &'a [HostFile]) -> Result<Tree<'a>, BundleError> {
        let mut sorted = BTreeMap::new();
        for file in files {
            check_file(Space::Host, &file.path, file.mode, file.secret)?;
            check_place(Space::Host, &sorted, &file.path)?;
            sorted.insert(file.path.as_str(), file);
        }
        // Byte 0 is the root's '/', which is no directory entry of ours.
        let dirs = sorted
            .keys()
            .flat_map(|path| {
                path.match_indices('/')
                    .skip(1)
                    .map(|(i, _)| path[..i].to_string())
            })
            .collect();
        Ok(Tree {
            files: sorted,
            dirs,
            base64: OnceCell::new(),
        })
    }

    /// The files in path order, each with its bytes in base64.
    fn files_base64(&self) -> impl Iterator<Item = (&'a str, &'a HostFile, &str)> {
        let base64 = self
            .base64
            .get_or_init(|| self.files.values().map(|f| b64(&f.bytes)).collect());
        self.files
            .iter()
            .zip(base64)
            .map(|((path, file), b64)| (*path, *file, b64.as_str()))
    }

    fn secret(&self) -> bool {
        self.files.values().any(|f| f.secret)
    }

    /// systemd units that have a unit file or a drop-in in this tree, e.g. `kubelet.service`
    /// for `/etc/systemd/system/kubelet.service.d/10-kubeseed.conf`.
    fn systemd_units(&self) -> BTreeSet<&'a str> {
        let mut units = BTreeSet::new();
        for path in self.files.keys() {
            let Some(rest) = path.strip_prefix(SYSTEMD_UNIT_DIR) else {
                continue;
            };
            let unit = match rest.split_once('/') {
                // A drop-in: <unit>.d/<name>.conf.
                Some((dir, name)) if !name.contains('/') && name.ends_with(".conf") => {
                    dir.strip_suffix(".d")
                }
                Some(_) => None,
                None => Some(rest),
            };
            if let Some(unit) = unit.filter(|u| is_unit_name(u)) {
                units.insert(unit);
            }
        }
        units
    }
}

/// A unit name systemd would load: a known type suffix and only the characters systemd allows
/// (so it also needs no quoting in a shell or in YAML).
fn is_unit_name(name: &str) -> bool {
    UNIT_SUFFIXES
        .iter()
        .any(|s| name.len() > s.len() && name.ends_with(s))
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":-_.@".contains(&b))
}

/// The mode and secrecy of a bundle file: one that embeds any secret is itself a secret.
fn bundle_file(kind: Kind, bytes: Vec<u8>, secret: bool) -> File {
    if secret {
        File::secret(kind, bytes)
    } else {
        File::public(kind, bytes)
    }
}

/// The `rootfs/` tree of node `name`: `nodes/<name>/rootfs/<host path>`, each file with its
/// host mode and secrecy.
pub fn rootfs(name: &str, files: &[HostFile]) -> Result<FileSet, BundleError> {
    let mut set = FileSet::new();
    Tree::new(files)?.rootfs_into(name, &mut set)?;
    Ok(set)
}

/// The tree as a POSIX ustar archive: an entry for every parent directory (mode 0755) and
/// every file, sorted by path (so each directory precedes what it holds), names relative
/// (`etc/kubernetes/admin.conf`, directories with a trailing `/`), uid and gid 0, owner and
/// group names `root`, device numbers 0, every mtime `mtime`, and the usual two zero blocks
/// at the end. Nothing is read from the filesystem, so the bytes depend only on the input.
///
/// ustar rather than GNU: every tar (GNU, bsdtar, busybox, Python's tarfile) reads it and
/// none needs an extension to; a path that does not fit ustar's 155+100-byte name is an
/// error, never a silent GNU long-name record.
pub fn tarball(files: &[HostFile], mtime: OffsetDateTime) -> Result<Vec<u8>, BundleError> {
    Tree::new(files)?.tarball(mtime)
}

/// `#cloud-config` user-data: one `write_files` entry per file (`path`, `owner: root:root`,
/// `permissions` as a quoted octal string, `encoding: b64`, `content`), sorted by path. When
/// the tree holds systemd unit files or drop-ins, a `runcmd` reloads systemd and enables and
/// restarts those units: cloud-init writes files after systemd has loaded its units, so
/// without it a new drop-in would take effect only at the next reboot.
///
/// cloud-init creates missing parent directories itself (0755, root), matching the other
/// formats; it has no way to declare them.
pub fn cloud_config(files: &[HostFile]) -> Result<Vec<u8>, BundleError> {
    Ok(Tree::new(files)?.cloud_config())
}

impl Tree<'_> {
    /// [`rootfs`], into `set`.
    fn rootfs_into(&self, name: &str, set: &mut FileSet) -> Result<(), BundleError> {
        for (path, file) in &self.files {
            set.insert(
                &format!("nodes/{name}/rootfs{path}"),
                File::with_mode(Kind::RootfsFile, file.bytes.clone(), file.mode, file.secret),
            )?;
        }
        Ok(())
    }

    /// [`tarball`].
    fn tarball(&self, mtime: OffsetDateTime) -> Result<Vec<u8>, BundleError> {
        let seconds = mtime.unix_timestamp();
        if !(0..=USTAR_MAX_MTIME).contains(&seconds) {
            return Err(BundleError::MtimeOutOfRange { mtime });
        }
        // Checked non-negative just above.
        let seconds = seconds.unsigned_abs();
        let mut entries: BTreeMap<String, Option<&HostFile>> = BTreeMap::new();
        for dir in &self.dirs {
            entries.insert(format!("{}/", &dir[1..]), None);
        }
        for (path, file) in &self.files {
            entries.insert(path[1..].to_string(), Some(*file));
        }
        let mut builder = tar::Builder::new(Vec::new());
        for (name, file) in &entries {
            let tar_error = |e: std::io::Error| BundleError::Tar {
                path: name.clone(),
                message: e.to_string(),
            };
            let mut header = tar::Header::new_ustar();
            header.set_path(name).map_err(tar_error)?;
            let (entry_type, mode, bytes): (_, _, &[u8]) = match file {
                Some(f) => (tar::EntryType::Regular, f.mode, &f.bytes),
                None => (tar::EntryType::Directory, DIR_MODE, &[]),
            };
            header.set_entry_type(entry_type);
            header.set_mode(mode);
            header.set_uid(0);
            header.set_gid(0);
            header.set_username("root").map_err(tar_error)?;
            header.set_groupname("root").map_err(tar_error)?;
            header.set_mtime(seconds);
            header.set_size(bytes.len() as u64);
            // Zero as octal digits, as GNU tar writes them, rather than the NUL-filled fields
            // of a fresh header.
            header.set_device_major(0).map_err(tar_error)?;
            header.set_device_minor(0).map_err(tar_error)?;
            header.set_cksum();
            builder.append(&header, bytes).map_err(tar_error)?;
        }
        builder.into_inner().map_err(|e| BundleError::Tar {
            path: String::new(),
            message: e.to_string(),
        })
    }

    /// [`cloud_config`].
    fn cloud_config(&self) -> Vec<u8> {
        let mut out = String::from("#cloud-config\n");
        if self.files.is_empty() {
            out.push_str("write_files: []\n");
        } else {
            out.push_str("write_files:\n");
        }
        for (path, file, content) in self.files_base64() {
            // permissions must be a string: YAML 1.1 reads a bare 0600 as the integer 384,
            // which cloud-init's schema rejects.
            out.push_str(&format!(
                "  - path: {}\n    owner: root:root\n    permissions: '{:04o}'\n    encoding: b64\n    content: {content}\n",
                yaml_scalar(path),
                file.mode,
            ));
        }
        let units = self.systemd_units();
        if !units.is_empty() {
            out.push_str("runcmd:\n  - [systemctl, daemon-reload]\n");
            for verb in ["enable", "restart"] {
                for unit in &units {
                    out.push_str(&format!("  - [systemctl, {verb}, {}]\n", yaml_scalar(unit)));
                }
            }
        }
        out.into_bytes()
    }
}

/// The bundle of node `name` in `formats`: `nodes/<name>/rootfs/...`, `rootfs.tar`,
/// `cloud-config.yaml`, `ignition.json`. The last three are secret (0600) when any file is.
pub fn bundle(
    name: &str,
    formats: &[Format],
    files: &[HostFile],
    mtime: OffsetDateTime,
) -> Result<FileSet, BundleError> {
    let in_node = |error| BundleError::InNode {
        node: name.to_string(),
        error: Box::new(error),
    };
    let tree = Tree::new(files).map_err(in_node)?;
    let secret = tree.secret();
    let mut set = FileSet::new();
    for format in formats {
        let (file_name, kind, mut bytes) = match format {
            Format::Rootfs => {
                tree.rootfs_into(name, &mut set).map_err(in_node)?;
                continue;
            }
            Format::RootfsTar => (
                "rootfs.tar",
                Kind::RootfsTarball,
                tree.tarball(mtime).map_err(in_node)?,
            ),
            Format::CloudInit => ("cloud-config.yaml", Kind::CloudInit, tree.cloud_config()),
            Format::Ignition => ("ignition.json", Kind::Ignition, tree.ignition()),
        };
        // Built by growing: give back the spare capacity, since every bundle stays in memory
        // until the write (a tenth of the peak memory of a 200-pool render).
        bytes.shrink_to_fit();
        set.insert(
            &format!("nodes/{name}/{file_name}"),
            bundle_file(kind, bytes, secret),
        )
        .map_err(|e| in_node(e.into()))?;
    }
    Ok(set)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::io::Read;
    use time::macros::datetime;

    const MTIME: OffsetDateTime = datetime!(2026-11-25 00:00:00 UTC);

    pub(in crate::bundle) fn host(path: &str, mode: u32, secret: bool, bytes: &str) -> HostFile {
        HostFile {
            path: path.into(),
            mode,
            secret,
            bytes: bytes.as_bytes().to_vec(),
        }
    }

    /// Deliberately unsorted.
    pub(in crate::bundle) fn sample() -> Vec<HostFile> {
        vec![
            host(
                "/etc/systemd/system/kubelet.service.d/10-kubeseed.conf",
                0o644,
                false,
                "[Service]\n",
            ),
            host("/etc/kubernetes/pki/ca.crt", 0o644, false, "cert\n"),
            host(
                "/etc/kubernetes/bootstrap-kubelet.conf",
                0o600,
                true,
                "tok\n",
            ),
        ]
    }

    #[test]
    fn cloud_config_exact_bytes() {
        let got = String::from_utf8(cloud_config(&sample()).unwrap()).unwrap();
        let expected = "#cloud-config
write_files:
  - path: /etc/kubernetes/bootstrap-kubelet.conf
    owner: root:root
    permissions: '0600'
    encoding: b64
    content: dG9rCg==
  - path: /etc/kubernetes/pki/ca.crt
    owner: root:root
    permissions: '0644'
    encoding: b64
    content: Y2VydAo=
  - path: /etc/systemd/system/kubelet.service.d/10-kubeseed.conf
    owner: root:root
    permissions: '0644'
    encoding: b64
    content: W1NlcnZpY2VdCg==
runcmd:
  - [systemctl, daemon-reload]
  - [systemctl, enable, kubelet.service]
  - [systemctl, restart, kubelet.service]
";
        assert_eq!(got, expected);
    }

    #[test]
    fn cloud_config_without_units_has_no_runcmd() {
        let files = [host("/etc/a", 0o644, false, "a")];
        let got = String::from_utf8(cloud_config(&files).unwrap()).unwrap();
        assert!(!got.contains("runcmd"), "{got}");
        assert_eq!(
            String::from_utf8(cloud_config(&[]).unwrap()).unwrap(),
            "#cloud-config\nwrite_files: []\n"
        );
    }

    #[test]
    fn cloud_config_quotes_unusual_paths() {
        let files = [host("/etc/a b: #c", 0o644, false, "a")];
        let got = String::from_utf8(cloud_config(&files).unwrap()).unwrap();
        assert!(got.contains("  - path: \"/etc/a b: #c\"\n"), "{got}");
    }

    #[test]
    fn systemd_units_from_unit_files_and_drop_ins_only() {
        let files = [
            host("/etc/systemd/system/a.service", 0o644, false, ""),
            host("/etc/systemd/system/b.socket.d/x.conf", 0o644, false, ""),
            host("/etc/systemd/system/c.service.d/x.txt", 0o644, false, ""),
            host(
                "/etc/systemd/system/d.target.wants/e.service",
                0o644,
                false,
                "",
            ),
            host("/etc/systemd/system/notaunit", 0o644, false, ""),
            host("/etc/systemd/system/bad name.service", 0o644, false, ""),
            host("/etc/systemd/system.conf", 0o644, false, ""),
            host("/usr/lib/systemd/system/f.service", 0o644, false, ""),
        ];
        let tree = Tree::new(&files).unwrap();
        assert_eq!(
            tree.systemd_units().into_iter().collect::<Vec<_>>(),
            ["a.service", "b.socket"]
        );
    }

    /// Every header field that could carry the build machine's state is pinned, and the
    /// archive reads back as the same files.
    #[test]
    fn tarball_entries_and_headers() {
        let bytes = tarball(&sample(), MTIME).unwrap();
        assert_eq!(bytes.len() % 512, 0);
        assert!(bytes.ends_with(&[0u8; 1024]));
        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let h = entry.header().clone();
            assert_eq!(&h.as_bytes()[257..265], b"ustar\x0000", "ustar magic");
            assert_eq!(h.uid().unwrap(), 0);
            assert_eq!(h.gid().unwrap(), 0);
            assert_eq!(h.username().unwrap(), Some("root"));
            assert_eq!(h.groupname().unwrap(), Some("root"));
            assert_eq!(h.mtime().unwrap(), 1_795_564_800);
            assert_eq!(h.device_major().unwrap(), Some(0));
            let path = String::from_utf8(h.path_bytes().into_owned()).unwrap();
            let mut data = String::new();
            entry.read_to_string(&mut data).unwrap();
            seen.push((path, h.entry_type().is_dir(), h.mode().unwrap(), data));
        }
        let e = |p: &str, d: bool, m: u32, s: &str| (p.to_string(), d, m, s.to_string());
        assert_eq!(
            seen,
            [
                e("etc/", true, 0o755, ""),
                e("etc/kubernetes/", true, 0o755, ""),
                e(
                    "etc/kubernetes/bootstrap-kubelet.conf",
                    false,
                    0o600,
                    "tok\n"
                ),
                e("etc/kubernetes/pki/", true, 0o755, ""),
                e("etc/kubernetes/pki/ca.crt", false, 0o644, "cert\n"),
                e("etc/systemd/", true, 0o755, ""),
                e("etc/systemd/system/", true, 0o755, ""),
                e("etc/systemd/system/kubelet.service.d/", true, 0o755, ""),
                e(
                    "etc/systemd/system/kubelet.service.d/10-kubeseed.conf",
                    false,
                    0o644,
                    "[Service]\n"
                ),
            ]
        );
    }

    #[test]
    fn tarball_mtime_must_fit_ustar() {
        let before_epoch = datetime!(1969-12-31 23:59:59 UTC);
        assert_eq!(
            tarball(&sample(), before_epoch),
            Err(BundleError::MtimeOutOfRange {
                mtime: before_epoch
            })
        );
        let too_late = datetime!(2242-03-16 12:56:32 UTC);
        assert!(tarball(&sample(), too_late).is_err());
        let last = datetime!(2242-03-16 12:56:31 UTC);
        assert!(tarball(&sample(), last).is_ok());
        assert!(tarball(&sample(), datetime!(1970-01-01 00:00:00 UTC)).is_ok());
    }

    #[test]
    fn tarball_refuses_a_path_ustar_cannot_hold() {
        // One 101-byte component fits neither the name nor the prefix field.
        let long = format!("/etc/{}", "x".repeat(101));
        let err = tarball(&[host(&long, 0o644, false, "")], MTIME).unwrap_err();
        assert!(matches!(err, BundleError::Tar { .. }), "{err}");
        // So does a directory: its entry is a name of its own.
        let long_dir = format!("/{}/f", "d".repeat(101));
        let err = tarball(&[host(&long_dir, 0o644, false, "")], MTIME).unwrap_err();
        assert!(matches!(err, BundleError::Tar { .. }), "{err}");
        // A 221-byte path that splits at a '/' into prefix and name is fine.
        let deep = format!("/{}/{}/{}", "d".repeat(60), "e".repeat(60), "f".repeat(99));
        let bytes = tarball(&[host(&deep, 0o644, false, "x")], MTIME).unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names.last().map(String::as_str), Some(&deep[1..]));
    }

    #[test]
    fn every_format_is_independent_of_input_order() {
        let mut reversed = sample();
        reversed.reverse();
        assert_eq!(
            tarball(&sample(), MTIME).unwrap(),
            tarball(&reversed, MTIME).unwrap()
        );
        assert_eq!(
            cloud_config(&sample()).unwrap(),
            cloud_config(&reversed).unwrap()
        );
        assert_eq!(ignition(&sample()).unwrap(), ignition(&reversed).unwrap());
        assert_eq!(
            bundle("n", &crate::spec::DEFAULT_FORMATS, &sample(), MTIME).unwrap(),
            bundle("n", &crate::spec::DEFAULT_FORMATS, &reversed, MTIME).unwrap()
        );
    }

    #[test]
    fn rejects_bad_host_paths_in_every_format() {
        for path in [
            "",
            "etc/a",
            "/",
            "/etc//a",
            "/etc/./a",
            "/etc/../a",
            "/etc/a/",
            "/etc/a\\b",
            "/etc/a\nb",
        ] {
            let files = [host(path, 0o644, false, "x")];
            let expect = |r: Result<_, BundleError>| match r {
                Err(BundleError::Path(FileSetError::InvalidPath { .. })) => {}
                other => panic!("{path:?}: {other:?}"),
            };
            expect(rootfs("n", &files).map(|_| ()));
            expect(tarball(&files, MTIME).map(|_| ()));
            expect(cloud_config(&files).map(|_| ()));
            expect(ignition(&files).map(|_| ()));
            match bundle("n", &crate::spec::DEFAULT_FORMATS, &files, MTIME) {
                Err(BundleError::InNode { node, error }) => {
                    assert_eq!(node, "n");
                    assert!(
                        matches!(*error, BundleError::Path(FileSetError::InvalidPath { .. })),
                        "{error}"
                    );
                }
                other => panic!("{path:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_duplicates_clashes_and_bad_modes() {
        let dup = [
            host("/a/b", 0o644, false, "1"),
            host("/a/b", 0o600, true, "2"),
        ];
        assert_eq!(
            cloud_config(&dup),
            Err(BundleError::Path(FileSetError::Duplicate {
                space: Space::Host,
                path: "/a/b".into()
            }))
        );
        let clash = [
            host("/a/b/c", 0o644, false, "1"),
            host("/a/b", 0o644, false, "2"),
        ];
        assert_eq!(
            ignition(&clash),
            Err(BundleError::Path(FileSetError::FileDirClash {
                space: Space::Host,
                file: "/a/b".into(),
                other: "/a/b/c".into()
            }))
        );
        assert_eq!(
            tarball(&[host("/a", 0o4755, false, "")], MTIME),
            Err(BundleError::Path(FileSetError::InvalidMode {
                space: Space::Host,
                path: "/a".into(),
                mode: 0o4755
            }))
        );
        assert_eq!(
            rootfs("n", &[host("/a", 0o640, true, "")]).map(|_| ()),
            Err(BundleError::Path(FileSetError::SecretModeTooWide {
                space: Space::Host,
                path: "/a".into(),
                mode: 0o640
            }))
        );
        // Siblings that share a prefix are no clash.
        ignition(&[
            host("/a/b", 0o644, false, ""),
            host("/a/bc/d", 0o644, false, ""),
        ])
        .unwrap();
    }

    #[test]
    fn bundle_paths_kinds_and_secrecy() {
        let set = bundle("pool", &crate::spec::DEFAULT_FORMATS, &sample(), MTIME).unwrap();
        let listed: Vec<(&str, Kind, String, bool)> = set
            .iter()
            .map(|(p, f)| (p, f.kind, format!("{:04o}", f.mode), f.secret))
            .collect();
        let e = |p, k, m: &str, s| (p, k, m.to_string(), s);
        assert_eq!(
            listed,
            [
                e(
                    "nodes/pool/cloud-config.yaml",
                    Kind::CloudInit,
                    "0600",
                    true
                ),
                e("nodes/pool/ignition.json", Kind::Ignition, "0600", true),
                e("nodes/pool/rootfs.tar", Kind::RootfsTarball, "0600", true),
                e(
                    "nodes/pool/rootfs/etc/kubernetes/bootstrap-kubelet.conf",
                    Kind::RootfsFile,
                    "0600",
                    true
                ),
                e(
                    "nodes/pool/rootfs/etc/kubernetes/pki/ca.crt",
                    Kind::RootfsFile,
                    "0644",
                    false
                ),
                e(
                    "nodes/pool/rootfs/etc/systemd/system/kubelet.service.d/10-kubeseed.conf",
                    Kind::RootfsFile,
                    "0644",
                    false
                ),
            ]
        );
        // Without a secret the bundle files are public.
        let public = [host("/etc/a", 0o644, false, "a")];
        let set = bundle("p", &[Format::Ignition], &public, MTIME).unwrap();
        let only: Vec<_> = set.iter().map(|(p, f)| (p, f.mode, f.secret)).collect();
        assert_eq!(only, [("nodes/p/ignition.json", 0o644, false)]);
    }

    #[test]
    fn bundle_honours_formats() {
        for (formats, expected) in [
            (vec![Format::Ignition], vec!["nodes/x/ignition.json"]),
            (vec![Format::RootfsTar], vec!["nodes/x/rootfs.tar"]),
            (
                vec![Format::Rootfs, Format::CloudInit],
                vec![
                    "nodes/x/cloud-config.yaml",
                    "nodes/x/rootfs/etc/kubernetes/bootstrap-kubelet.conf",
                    "nodes/x/rootfs/etc/kubernetes/pki/ca.crt",
                    "nodes/x/rootfs/etc/systemd/system/kubelet.service.d/10-kubeseed.conf",
                ],
            ),
        ] {
            let set = bundle("x", &formats, &sample(), MTIME).unwrap();
            let paths: Vec<&str> = set.iter().map(|(p, _)| p).collect();
            assert_eq!(paths, expected, "{formats:?}");
        }
    }

    #[test]
    fn debug_never_shows_bytes() {
        let f = host("/k", 0o600, true, "SECRET-MATERIAL");
        let d = format!("{f:?}");
        assert!(!d.contains("SECRET"), "{d}");
        assert!(d.contains("/k") && d.contains("0600"), "{d}");
    }
}
