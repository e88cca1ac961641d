//! The rendered output, in memory: a sorted map from relative path to file.
//!
//! This module owns what a valid output path is, the mode and secrecy of every file, and the
//! bytes of `index.json`. It never touches the disk (that is `write`), so a render can be
//! compared, diffed or discarded without side effects.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::ops::Bound;

use serde::ser::SerializeSeq;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The name of the manifest at the root of the output; no rendered file may use it.
pub const INDEX_JSON: &str = "index.json";

/// What a file is, as recorded in `index.json` (`kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Certificate,
    PrivateKey,
    PublicKey,
    Kubeconfig,
    Manifest,
    StaticPod,
    Config,
    RootfsFile,
    RootfsTarball,
    CloudInit,
    Ignition,
    /// A copy of a `manifests/` file in `gitops/`.
    GitOpsManifest,
    /// A Secret of `manifests/`, SOPS-encrypted, in `gitops/`.
    SopsSecret,
    /// `gitops/kustomization.yaml`.
    Kustomization,
}

/// One rendered file. Text is stored as the renderer produced it (LF-only is the renderer's
/// job); the constructors accept `String`, `&str`, `Vec<u8>` or `&[u8]`.
#[derive(Clone, PartialEq, Eq)]
pub struct File {
    pub bytes: Vec<u8>,
    pub secret: bool,
    pub kind: Kind,
    /// Permission bits only (at most 0o777).
    pub mode: u32,
}

impl File {
    /// A secret file: mode 0600.
    pub fn secret(kind: Kind, bytes: impl Into<Vec<u8>>) -> File {
        File {
            bytes: bytes.into(),
            secret: true,
            kind,
            mode: 0o600,
        }
    }

    /// A non-secret file: mode 0644.
    pub fn public(kind: Kind, bytes: impl Into<Vec<u8>>) -> File {
        File {
            bytes: bytes.into(),
            secret: false,
            kind,
            mode: 0o644,
        }
    }

    /// A file with an explicit on-host mode, for `rootfs/` trees. `FileSet::insert` rejects a
    /// secret whose mode lets group or others read it.
    pub fn with_mode(kind: Kind, bytes: impl Into<Vec<u8>>, mode: u32, secret: bool) -> File {
        File {
            bytes: bytes.into(),
            secret,
            kind,
            mode,
        }
    }

    /// Lowercase hex SHA-256 of the bytes, as `index.json` records it.
    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(&self.bytes))
    }
}

// Debug is what ends up in logs and panic messages, so it never shows content. For a secret
// even a hash prefix is withheld: a hash of a low-entropy secret (a token) can be brute-forced.
impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("File");
        d.field("kind", &self.kind)
            .field("mode", &format_args!("{:04o}", self.mode))
            .field("secret", &self.secret)
            .field("len", &self.bytes.len());
        if !self.secret {
            let hash = self.sha256_hex();
            d.field("sha256", &format_args!("{}…", &hash[..12]));
        }
        d.finish()
    }
}

/// Which tree a path belongs to: the output directory (relative paths) or a node's root
/// filesystem (absolute host paths). The rules are the same; only the words differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    Output,
    Host,
}

impl Space {
    fn noun(self) -> &'static str {
        match self {
            Space::Output => "output",
            Space::Host => "host",
        }
    }
}

/// Why a path or file cannot join a tree of files (a `FileSet`, or a node bundle's host
/// files). These are renderer bugs or spec names that slipped past validation, so the
/// message names the path and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSetError {
    /// The path is not a clean `/`-separated path (relative, or absolute for host paths).
    InvalidPath {
        space: Space,
        path: String,
        reason: &'static str,
    },
    /// `index.json` at the root is written by `write`, never rendered.
    Reserved {
        path: String,
    },
    Duplicate {
        space: Space,
        path: String,
    },
    /// One path would have to be both a file and a directory.
    FileDirClash {
        space: Space,
        file: String,
        other: String,
    },
    /// Mode bits outside 0o777 (setuid, setgid, sticky, or not a mode at all).
    InvalidMode {
        space: Space,
        path: String,
        mode: u32,
    },
    /// A secret whose mode lets group or others read or write it.
    SecretModeTooWide {
        space: Space,
        path: String,
        mode: u32,
    },
}

impl fmt::Display for FileSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileSetError::InvalidPath {
                space: Space::Output,
                path,
                reason,
            } => write!(
                f,
                "invalid output path {path:?}: {reason}; output paths are relative, \
                 /-separated, with no empty, \".\" or \"..\" components"
            ),
            FileSetError::InvalidPath {
                space: Space::Host,
                path,
                reason,
            } => write!(
                f,
                "invalid host path {path:?}: {reason}; host paths are absolute, /-separated, \
                 with no empty, \".\" or \"..\" components"
            ),
            FileSetError::Reserved { path } => write!(
                f,
                "output path {path:?} is reserved: kubeseed writes index.json itself"
            ),
            FileSetError::Duplicate {
                space: Space::Output,
                path,
            } => write!(
                f,
                "output path {path:?} is rendered twice; each path must be unique"
            ),
            FileSetError::Duplicate {
                space: Space::Host,
                path,
            } => write!(f, "host path {path:?} is given twice; each must be unique"),
            FileSetError::FileDirClash { space, file, other } => write!(
                f,
                "{} path {file:?} is a file but {other:?} needs it to be a directory",
                space.noun()
            ),
            FileSetError::InvalidMode { space, path, mode } => write!(
                f,
                "{} file {path:?} has mode {mode:o}; only permission bits (at most 0777) \
                 are allowed",
                space.noun()
            ),
            FileSetError::SecretModeTooWide { space, path, mode } => write!(
                f,
                "secret {} file {path:?} has mode {mode:04o}; a secret must not be readable \
                 by group or others (use 0600 or 0400)",
                space.noun()
            ),
        }
    }
}

/// What every file of a tree must be on its own: a clean path (relative in the output,
/// absolute on a host), permission bits only, and, if secret, private to its owner.
pub(crate) fn check_file(
    space: Space,
    path: &str,
    mode: u32,
    secret: bool,
) -> Result<(), FileSetError> {
    let problem = match space {
        Space::Output => relative_path_problem(path),
        Space::Host => match path.strip_prefix('/') {
            None => Some("it is not absolute"),
            Some("") => Some("it is the root directory"),
            Some(rest) => relative_path_problem(rest),
        },
    };
    if let Some(reason) = problem {
        return Err(FileSetError::InvalidPath {
            space,
            path: path.to_string(),
            reason,
        });
    }
    if mode & !0o777 != 0 {
        return Err(FileSetError::InvalidMode {
            space,
            path: path.to_string(),
            mode,
        });
    }
    if secret && mode & 0o077 != 0 {
        return Err(FileSetError::SecretModeTooWide {
            space,
            path: path.to_string(),
            mode,
        });
    }
    Ok(())
}

/// Whether `path` can join the files already in `existing`: not one of them, none of them one
/// of its directories ("a" vs "a/b"), and none of them under it ("a/b" vs "a").
pub(crate) fn check_place<K: Borrow<str> + Ord, V>(
    space: Space,
    existing: &BTreeMap<K, V>,
    path: &str,
) -> Result<(), FileSetError> {
    check_place_after(space, existing, path, "")
}

/// [`check_place`] of `path` right after `previous` passed it against the same `existing`:
/// the directories the two share are not looked up again.
fn check_place_after<K: Borrow<str> + Ord, V>(
    space: Space,
    existing: &BTreeMap<K, V>,
    path: &str,
    previous: &str,
) -> Result<(), FileSetError> {
    if existing.contains_key(path) {
        return Err(FileSetError::Duplicate {
            space,
            path: path.to_string(),
        });
    }
    for (i, _) in path.match_indices('/') {
        let dir = &path[..i];
        let shared = previous.as_bytes().get(i) == Some(&b'/') && previous.starts_with(dir);
        if !shared && existing.contains_key(dir) {
            return Err(FileSetError::FileDirClash {
                space,
                file: dir.to_string(),
                other: path.to_string(),
            });
        }
    }
    // The first key at or after "a/" starts with "a/" if any does, because keys are sorted.
    let as_dir = format!("{path}/");
    let after = (Bound::Included(as_dir.as_str()), Bound::Unbounded);
    if let Some((other, _)) = existing.range::<str, _>(after).next() {
        if other.borrow().starts_with(&as_dir) {
            return Err(FileSetError::FileDirClash {
                space,
                file: path.to_string(),
                other: other.borrow().to_string(),
            });
        }
    }
    Ok(())
}

impl std::error::Error for FileSetError {}

/// Every rendered file, keyed and iterated by path (byte order), so output order never
/// depends on the order the renderer produced files in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileSet {
    files: BTreeMap<String, File>,
}

impl FileSet {
    pub fn new() -> Self {
        FileSet::default()
    }

    /// Add a file. Rejects anything that could escape `--out`, collide, or be ambiguous on
    /// disk, so `write` can trust every path it is given.
    pub fn insert(&mut self, path: &str, file: File) -> Result<(), FileSetError> {
        check_file(Space::Output, path, file.mode, file.secret)?;
        if path == INDEX_JSON {
            return Err(FileSetError::Reserved {
                path: path.to_string(),
            });
        }
        check_place(Space::Output, &self.files, path)?;
        self.files.insert(path.to_string(), file);
        Ok(())
    }

    /// Merge another set into this one with the same checks as `insert`. On error `self`
    /// may hold some of `other`'s files; callers discard the set.
    pub fn extend(&mut self, other: FileSet) -> Result<(), FileSetError> {
        // `insert` checked each of `other`'s paths and modes, and kept `index.json` out: what
        // is left to check is how its paths sit among ours.
        let mut previous = "";
        for path in other.files.keys() {
            check_place_after(Space::Output, &self.files, path, previous)?;
            previous = path;
        }
        self.files.extend(other.files);
        Ok(())
    }

    pub fn get(&self, path: &str) -> Option<&File> {
        self.files.get(path)
    }

    /// Files sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &File)> {
        self.files.iter().map(|(p, f)| (p.as_str(), f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The bytes of `index.json`: every file's path, hash, mode, secrecy and kind, sorted by
    /// path, pretty-printed with two-space indents and a trailing newline. Never contents.
    pub fn index_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing strings, bools and integers into a Vec has no failure path.
        self.write_index_json(&self.hashes(), &mut out)
            .expect("index.json serialises");
        out
    }

    /// Every file's SHA-256, in path order, for [`FileSet::write_index_json`].
    pub fn hashes(&self) -> Vec<[u8; 32]> {
        self.files
            .values()
            .map(|f| Sha256::digest(&f.bytes).into())
            .collect()
    }

    /// Write [`FileSet::index_json`]'s bytes to `out` as they are made, from `hashes` (this
    /// set's [`FileSet::hashes`]), holding no more than one entry's in memory.
    pub fn write_index_json(&self, hashes: &[[u8; 32]], mut out: impl io::Write) -> io::Result<()> {
        #[derive(Serialize)]
        struct Index<'a> {
            version: u32,
            files: Entries<'a>,
        }
        struct Entries<'a>(&'a FileSet, &'a [[u8; 32]]);
        #[derive(Serialize)]
        struct Entry<'a> {
            path: &'a str,
            sha256: &'a str,
            mode: &'a str,
            secret: bool,
            kind: Kind,
        }
        impl Serialize for Entries<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let Entries(set, hashes) = self;
                let mut seq = serializer.serialize_seq(Some(set.len()))?;
                for ((path, f), hash) in set.iter().zip(*hashes) {
                    seq.serialize_element(&Entry {
                        path,
                        sha256: &hex::encode(hash),
                        mode: &format!("{:04o}", f.mode),
                        secret: f.secret,
                        kind: f.kind,
                    })?;
                }
                seq.end()
            }
        }
        if hashes.len() != self.len() {
            return Err(io::Error::other("one hash per file is needed"));
        }
        let index = Index {
            version: 1,
            files: Entries(self, hashes),
        };
        serde_json::to_writer_pretty(&mut out, &index)?;
        out.write_all(b"\n")?;
        // A buffered writer's own flush on drop would swallow an error.
        out.flush()
    }
}

/// Why `path` is not a clean, relative, `/`-separated path, if it is not. Shared with the
/// node bundles' on-host paths, which must be just as clean below `/`.
pub(crate) fn relative_path_problem(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("it is empty");
    }
    if path.starts_with('/') {
        return Some("it is absolute");
    }
    if path.contains('\\') {
        return Some("it contains a backslash");
    }
    // NUL cannot reach a syscall; other control characters would garble plan output,
    // YAML and terminals.
    if path.chars().any(char::is_control) {
        return Some("it contains a control character");
    }
    path.split('/').find_map(|component| match component {
        "" => Some("it has an empty component"),
        "." => Some("it has a \".\" component"),
        ".." => Some("it has a \"..\" component"),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_set() -> FileSet {
        let mut set = FileSet::new();
        set.insert(
            "pki/ca.key",
            File::secret(Kind::PrivateKey, "-----BEGIN PRIVATE KEY-----\n"),
        )
        .unwrap();
        set.insert("pki/ca.crt", File::public(Kind::Certificate, "cert\n"))
            .unwrap();
        set.insert(
            "nodes/cp-0/rootfs/etc/kubernetes/kubelet.sh",
            File::with_mode(Kind::RootfsFile, b"#!/bin/sh\n".as_slice(), 0o755, false),
        )
        .unwrap();
        set
    }

    #[test]
    fn index_json_exact_bytes() {
        let expected = r#"{
  "version": 1,
  "files": [
    {
      "path": "nodes/cp-0/rootfs/etc/kubernetes/kubelet.sh",
      "sha256": "a8076d3d28d21e02012b20eaf7dbf75409a6277134439025f282e368e3305abf",
      "mode": "0755",
      "secret": false,
      "kind": "rootfs-file"
    },
    {
      "path": "pki/ca.crt",
      "sha256": "489d969a85a540712e95e8b4fb52ccca764773b02083b8779088bbb66087f98c",
      "mode": "0644",
      "secret": false,
      "kind": "certificate"
    },
    {
      "path": "pki/ca.key",
      "sha256": "7ba879c4b1496ebeac4c6883b7fd6c27527c0fe184a3c6b52c954cd38b51769f",
      "mode": "0600",
      "secret": true,
      "kind": "private-key"
    }
  ]
}
"#;
        let got = small_set().index_json();
        assert_eq!(String::from_utf8(got).unwrap(), expected);
    }

    #[test]
    fn index_json_of_empty_set() {
        assert_eq!(
            FileSet::new().index_json(),
            b"{\n  \"version\": 1,\n  \"files\": []\n}\n"
        );
    }

    #[test]
    fn index_json_never_contains_contents() {
        let mut set = FileSet::new();
        set.insert(
            "token",
            File::secret(Kind::Manifest, "abcdef.0123456789abcdef"),
        )
        .unwrap();
        let index = String::from_utf8(set.index_json()).unwrap();
        assert!(!index.contains("0123456789abcdef"));
    }

    #[test]
    fn iteration_is_sorted_regardless_of_insert_order() {
        let set = small_set();
        let paths: Vec<&str> = set.iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [
                "nodes/cp-0/rootfs/etc/kubernetes/kubelet.sh",
                "pki/ca.crt",
                "pki/ca.key"
            ]
        );
    }

    #[test]
    fn rejects_bad_paths() {
        for path in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a/..",
            ".",
            "./a",
            "a/./b",
            "a//b",
            "a/",
            "a\\b",
            "a\0b",
            "a\nb",
        ] {
            let mut set = FileSet::new();
            let err = set
                .insert(path, File::public(Kind::Config, "x"))
                .unwrap_err();
            assert!(
                matches!(err, FileSetError::InvalidPath { .. }),
                "{path:?}: {err}"
            );
            assert!(set.is_empty());
        }
    }

    #[test]
    fn rejects_reserved_index_json_only_at_root() {
        let mut set = FileSet::new();
        let err = set
            .insert("index.json", File::public(Kind::Config, "{}"))
            .unwrap_err();
        assert_eq!(
            err,
            FileSetError::Reserved {
                path: "index.json".into()
            }
        );
        set.insert("nodes/x/index.json", File::public(Kind::Config, "{}"))
            .unwrap();
    }

    #[test]
    fn rejects_duplicates_and_file_dir_clashes() {
        let mut set = FileSet::new();
        set.insert("a/b", File::public(Kind::Config, "1")).unwrap();
        assert!(matches!(
            set.insert("a/b", File::public(Kind::Config, "2")),
            Err(FileSetError::Duplicate { .. })
        ));
        // "a" as a file while "a/b" exists.
        assert_eq!(
            set.insert("a", File::public(Kind::Config, "3")),
            Err(FileSetError::FileDirClash {
                space: Space::Output,
                file: "a".into(),
                other: "a/b".into()
            })
        );
        // "a/b/c" while "a/b" is a file.
        assert_eq!(
            set.insert("a/b/c", File::public(Kind::Config, "4")),
            Err(FileSetError::FileDirClash {
                space: Space::Output,
                file: "a/b".into(),
                other: "a/b/c".into()
            })
        );
        // Siblings that merely share a prefix are fine.
        set.insert("a/bc", File::public(Kind::Config, "5")).unwrap();
        set.insert("a.b", File::public(Kind::Config, "6")).unwrap();
        set.insert("a/b.d", File::public(Kind::Config, "7"))
            .unwrap();
        assert_eq!(set.len(), 4);
        assert_eq!(set.get("a/b").unwrap().bytes, b"1");
    }

    #[test]
    fn rejects_bad_modes() {
        let mut set = FileSet::new();
        assert!(matches!(
            set.insert("x", File::with_mode(Kind::RootfsFile, "", 0o4755, false)),
            Err(FileSetError::InvalidMode { .. })
        ));
        assert!(matches!(
            set.insert("k", File::with_mode(Kind::PrivateKey, "", 0o640, true)),
            Err(FileSetError::SecretModeTooWide { .. })
        ));
        set.insert("k", File::with_mode(Kind::PrivateKey, "", 0o400, true))
            .unwrap();
    }

    #[test]
    fn extend_applies_the_same_checks() {
        let mut a = FileSet::new();
        a.insert("x/y", File::public(Kind::Config, "1")).unwrap();
        let mut b = FileSet::new();
        b.insert("x", File::public(Kind::Config, "2")).unwrap();
        assert!(matches!(
            a.extend(b),
            Err(FileSetError::FileDirClash { .. })
        ));
        let mut c = FileSet::new();
        c.insert("z", File::public(Kind::Config, "3")).unwrap();
        a.extend(c).unwrap();
        assert_eq!(a.len(), 2);
    }

    /// `extend` looks each directory up once for a run of paths sharing it; a clash further
    /// down, or in a sibling that only shares a prefix of the name, is still found.
    #[test]
    fn extend_finds_clashes_below_shared_directories() {
        let mut base = FileSet::new();
        for path in ["n/a/f", "n/b", "n/c/d"] {
            base.insert(path, File::public(Kind::Config, "1")).unwrap();
        }
        for (paths, file, other) in [
            (&["n/a/e", "n/b/x"][..], "n/b", "n/b/x"),
            (&["n/a/g", "n/b/y", "n/c"][..], "n/b", "n/b/y"),
            (&["n/bb/x", "n/c/d/e"][..], "n/c/d", "n/c/d/e"),
            (&["n/a/h", "n/c"][..], "n/c", "n/c/d"),
        ] {
            let mut set = base.clone();
            let mut more = FileSet::new();
            for path in paths {
                more.insert(path, File::public(Kind::Config, "2")).unwrap();
            }
            assert_eq!(
                set.extend(more),
                Err(FileSetError::FileDirClash {
                    space: Space::Output,
                    file: file.into(),
                    other: other.into(),
                }),
                "{paths:?}"
            );
        }
        // The control: the same runs without the clashing path merge.
        let mut set = base.clone();
        let mut more = FileSet::new();
        for path in ["n/a/e", "n/a/g", "n/bb/x", "n/c/e"] {
            more.insert(path, File::public(Kind::Config, "2")).unwrap();
        }
        set.extend(more).unwrap();
        assert_eq!(set.len(), 7);
    }

    #[test]
    fn debug_never_shows_bytes() {
        let secret = File::secret(Kind::PrivateKey, "SUPER-SECRET-KEY-MATERIAL");
        let shown = format!("{secret:?} {:#?}", secret);
        assert!(!shown.contains("SUPER"), "{shown}");
        assert!(!shown.contains(&secret.sha256_hex()[..8]), "{shown}");
        assert!(shown.contains("len: 25"), "{shown}");

        let public = File::public(Kind::Certificate, "PUBLIC-CERT-BYTES");
        let shown = format!("{public:?}");
        assert!(!shown.contains("PUBLIC"), "{shown}");
        assert!(shown.contains(&public.sha256_hex()[..12]), "{shown}");

        let mut set = FileSet::new();
        set.insert("k", secret).unwrap();
        assert!(!format!("{set:?}").contains("SUPER"));
    }
}
