use super::*;
use crate::fileset::{File, Kind};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};

const SECRET: &str = "-----BEGIN PRIVATE KEY-----\nTOP-SECRET-KEY-BYTES\n";

fn set_a() -> FileSet {
    let mut set = FileSet::new();
    let files = [
        ("pki/ca.crt", File::public(Kind::Certificate, "ca cert\n")),
        ("pki/ca.key", File::secret(Kind::PrivateKey, SECRET)),
        (
            "pki/etcd/ca.crt",
            File::public(Kind::Certificate, "etcd ca\n"),
        ),
        (
            "kubeconfig/admin.conf",
            File::secret(Kind::Kubeconfig, "admin\n"),
        ),
        (
            "manifests/rbac.yaml",
            File::public(Kind::Manifest, "rbac\n"),
        ),
        (
            "nodes/cp-0/rootfs/usr/local/bin/kubelet-wrapper",
            File::with_mode(Kind::RootfsFile, "#!/bin/sh\n", 0o755, false),
        ),
        (
            "nodes/cp-0/rootfs/etc/kubernetes/pki/ca.key",
            File::with_mode(Kind::RootfsFile, SECRET, 0o400, true),
        ),
        ("only-in-a.txt", File::public(Kind::Config, "a\n")),
    ];
    for (path, file) in files {
        set.insert(path, file).unwrap();
    }
    set
}

fn set_b() -> FileSet {
    let mut set = FileSet::new();
    set.insert("pki/ca.crt", File::public(Kind::Certificate, "new ca\n"))
        .unwrap();
    set.insert("pki/ca.key", File::secret(Kind::PrivateKey, "new key\n"))
        .unwrap();
    set.insert("manifests/b.yaml", File::public(Kind::Manifest, "b\n"))
        .unwrap();
    set
}

/// A set whose writing fails halfway: the second file's name exceeds NAME_MAX.
fn failing_set() -> (FileSet, String) {
    let mut set = FileSet::new();
    set.insert("a/ok", File::secret(Kind::PrivateKey, SECRET))
        .unwrap();
    let long = format!("a/{}", "x".repeat(300));
    set.insert(&long, File::public(Kind::Config, "x")).unwrap();
    (set, long)
}

type Tree = BTreeMap<String, (Vec<u8>, u32)>;

fn expected(set: &FileSet) -> Tree {
    let mut tree: Tree = set
        .iter()
        .map(|(p, f)| (p.to_string(), (f.bytes.clone(), f.mode)))
        .collect();
    tree.insert(INDEX_JSON.into(), (set.index_json(), 0o644));
    tree
}

/// Names in `parent` other than `out` and its lock file.
fn beside(parent: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "out" && n != ".out.kubeseed.lock")
        .collect();
    names.sort();
    names
}

fn assert_dirs_0755(dir: &Path) {
    let mode = std::fs::symlink_metadata(dir).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o755, "{}", dir.display());
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            assert_dirs_0755(&entry.path());
        }
    }
}

fn assert_written(out: &Path, set: &FileSet) {
    assert_eq!(read_tree(out).unwrap(), expected(set));
    assert_dirs_0755(out);
    assert_eq!(beside(out.parent().unwrap()), Vec::<String>::new());
}

fn put(path: &Path, bytes: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn writes_into_a_missing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    check_out_dir(&out).unwrap();
    write(&out, &set_a()).unwrap();
    assert_written(&out, &set_a());
}

#[test]
fn writes_into_an_empty_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o700)).unwrap();
    check_out_dir(&out).unwrap();
    write(&out, &set_a()).unwrap();
    assert_written(&out, &set_a());
}

#[test]
fn a_prepared_output_is_locked_until_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    write(&out, &set_a()).unwrap();
    let first = prepare(&out).unwrap();
    let err = prepare(&out).err().unwrap();
    assert!(matches!(err, WriteError::Locked { .. }), "{err}");
    assert!(
        err.to_string().contains("another kubeseed is writing"),
        "{err}"
    );
    assert!(matches!(
        write(&out, &set_b()),
        Err(WriteError::Locked { .. })
    ));
    assert_written(&out, &set_a());
    first.write(&set_b()).unwrap();
    assert_written(&out, &set_b());
    // Written, the lock is free again; so it is when a prepared output is dropped unwritten.
    drop(prepare(&out).unwrap());
    write(&out, &set_a()).unwrap();
    assert_written(&out, &set_a());
}

#[test]
fn a_foreign_directory_is_refused_before_a_lock_file_is_made() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("mine.txt"), "x").unwrap();
    assert!(matches!(prepare(&out), Err(WriteError::Foreign { .. })));
    let beside: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["out"]);
}

#[test]
fn replaces_a_previous_output_entirely() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    write(&out, &set_a()).unwrap();
    write(&out, &set_b()).unwrap();
    assert_written(&out, &set_b());
    assert!(!out.join("only-in-a.txt").exists());
    assert!(!out.join("nodes").exists());
    // And back, through the fallback used where the filesystem cannot exchange.
    prepare(&out)
        .unwrap()
        .write_with(&set_a(), false, false)
        .unwrap();
    assert_written(&out, &set_a());
}

#[test]
fn accepts_relative_and_trailing_slash_spellings() {
    let tmp = tempfile::tempdir().unwrap();
    let spelled = tmp.path().join("./out/");
    write(&spelled, &set_b()).unwrap();
    write(&tmp.path().join("out/."), &set_a()).unwrap();
    assert_written(&tmp.path().join("out"), &set_a());
}

/// The umask is per process and tests run as threads, so each umask gets a child process
/// running this same test with the environment below set. Each writes a small output and
/// one large enough to be written on two threads.
#[test]
fn modes_are_exact_whatever_the_umask() {
    if let (Ok(mask), Ok(dir)) = (
        std::env::var("KUBESEED_TEST_UMASK"),
        std::env::var("KUBESEED_TEST_DIR"),
    ) {
        let mask = u32::from_str_radix(&mask, 8).unwrap();
        rustix::process::umask(Mode::from_raw_mode(mask));
        write(&Path::new(&dir).join("small/out"), &set_a()).unwrap();
        write(&Path::new(&dir).join("large/out"), &many_files()).unwrap();
        return;
    }
    for mask in ["077", "000", "027"] {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("small")).unwrap();
        fs::create_dir(tmp.path().join("large")).unwrap();
        let result = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "write::tests::modes_are_exact_whatever_the_umask",
                "--test-threads=1",
            ])
            .env("KUBESEED_TEST_UMASK", mask)
            .env("KUBESEED_TEST_DIR", tmp.path())
            .output()
            .unwrap();
        assert!(result.status.success(), "umask {mask}: {result:?}");
        assert_written(&tmp.path().join("small/out"), &set_a());
        assert_written(&tmp.path().join("large/out"), &many_files());
    }
}

/// A default ACL on the parent directory narrows new files' modes in the umask's place, and
/// is inherited by the staging directory: every mode is then set explicitly.
#[test]
fn modes_are_exact_under_a_default_acl() {
    let tmp = tempfile::tempdir().unwrap();
    // system.posix_acl_default in the kernel's format (version 2, then tag, permissions and
    // id of each entry): user::rwx, group::---, other::---.
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm) in [(0x01u16, 7u16), (0x04, 0), (0x20, 0)] {
        acl.extend(tag.to_le_bytes());
        acl.extend(perm.to_le_bytes());
        acl.extend(u32::MAX.to_le_bytes());
    }
    let dir = fs::File::open(tmp.path()).unwrap();
    rustix::fs::fsetxattr(
        &dir,
        "system.posix_acl_default",
        &acl,
        rustix::fs::XattrFlags::empty(),
    )
    .expect("this test needs a filesystem with POSIX ACLs for its temporary directory");
    // The control: a file made with 0644 comes out 0600 here.
    fs::write(tmp.path().join("plain"), "x").unwrap();
    let mode = fs::metadata(tmp.path().join("plain"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    fs::remove_file(tmp.path().join("plain")).unwrap();

    let out = tmp.path().join("out");
    write(&out, &set_a()).unwrap();
    assert_written(&out, &set_a());
    let large = tmp.path().join("large");
    fs::create_dir(&large).unwrap();
    write(&large.join("out"), &many_files()).unwrap();
    assert_written(&large.join("out"), &many_files());
}

#[test]
fn refuses_a_foreign_directory_and_leaves_it_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    put(&out.join("notes.txt"), "mine\n");
    put(&out.join("sub/deep.bin"), "also mine\n");
    let before = read_tree(&out).unwrap();

    let message = format!(
        "refusing to write to {}: it is not empty and has no index.json, so kubeseed did \
         not write it; choose an empty or new directory",
        out.display()
    );
    assert_eq!(check_out_dir(&out).unwrap_err().to_string(), message);
    let err = write(&out, &set_a()).unwrap_err();
    assert!(matches!(err, WriteError::Foreign { .. }), "{err}");
    assert_eq!(err.to_string(), message);
    assert_eq!(read_tree(&out).unwrap(), before);
    assert_eq!(beside(tmp.path()), Vec::<String>::new());
}

#[test]
fn refuses_an_index_json_that_is_not_ours_without_quoting_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    for index in [
        r#"{"name": "my-site", "token": "hunter2"}"#,
        r#"{"version": "hunter2", "files": []}"#,
        "hunter2",
    ] {
        put(&out.join(INDEX_JSON), index);
        let err = write(&out, &set_a()).unwrap_err();
        assert!(matches!(err, WriteError::ForeignIndex { .. }), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert_eq!(read_tree(&out).unwrap()[INDEX_JSON].0, index.as_bytes());
    }
    put(&out.join(INDEX_JSON), r#"{"version": 2, "files": []}"#);
    let err = check_out_dir(&out).unwrap_err();
    assert!(err.to_string().contains("version 2, expected 1"), "{err}");
}

#[test]
fn refuses_a_previous_output_holding_files_it_does_not_list() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    write(&out, &set_a()).unwrap();

    put(&out.join("pki/notes.txt"), "mine\n");
    let before = read_tree(&out).unwrap();
    let err = write(&out, &set_b()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "refusing to write to {}: it contains \"pki/notes.txt\", which its index.json \
             does not list, so kubeseed did not write it and would delete it; move it \
             elsewhere or choose an empty or new directory",
            out.display()
        )
    );
    assert_eq!(read_tree(&out).unwrap(), before);
    std::fs::remove_file(out.join("pki/notes.txt")).unwrap();

    std::fs::create_dir(out.join("empty")).unwrap();
    assert!(matches!(
        check_out_dir(&out),
        Err(WriteError::Unlisted { path, .. }) if path == "empty"
    ));
    std::fs::remove_dir(out.join("empty")).unwrap();
    // A directory whose name only begins like a listed one's is not ours either.
    std::fs::create_dir(out.join("pk")).unwrap();
    assert!(matches!(
        check_out_dir(&out),
        Err(WriteError::Unlisted { path, .. }) if path == "pk"
    ));
    std::fs::remove_dir(out.join("pk")).unwrap();

    symlink("/etc/passwd", out.join("link")).unwrap();
    assert!(matches!(
        check_out_dir(&out),
        Err(WriteError::Unlisted { path, .. }) if path == "link"
    ));
    std::fs::remove_file(out.join("link")).unwrap();

    // A listed file that was deleted by hand is fine: render puts it back.
    std::fs::remove_file(out.join("pki/ca.crt")).unwrap();
    write(&out, &set_a()).unwrap();
    assert_written(&out, &set_a());
}

#[test]
fn refuses_out_paths_that_are_not_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    put(&file, "x");
    assert_eq!(
        check_out_dir(&file).unwrap_err().to_string(),
        format!(
            "refusing to write to {}: it is a file, not a directory; choose an empty or \
             new directory",
            file.display()
        )
    );

    let to_file = tmp.path().join("to-file");
    symlink(&file, &to_file).unwrap();
    let to_dir = tmp.path().join("to-dir");
    std::fs::create_dir(tmp.path().join("real")).unwrap();
    symlink(tmp.path().join("real"), &to_dir).unwrap();
    for link in [&to_file, &to_dir] {
        assert!(matches!(
            check_out_dir(link),
            Err(WriteError::Symlink { .. })
        ));
        assert!(matches!(
            write(link, &set_a()),
            Err(WriteError::Symlink { .. })
        ));
        assert!(std::fs::symlink_metadata(link)
            .unwrap()
            .file_type()
            .is_symlink());
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
    assert_eq!(
        std::fs::read_dir(tmp.path().join("real")).unwrap().count(),
        0
    );

    let missing = tmp.path().join("no/such/parent");
    let parent = tmp.path().join("no/such");
    assert_eq!(
        write(&missing.join("out"), &set_a())
            .unwrap_err()
            .to_string(),
        format!(
            "cannot write to {}: its parent directory {} does not exist; create it first \
             (mkdir -p {})",
            missing.join("out").display(),
            missing.display(),
            missing.display()
        )
    );
    assert!(!parent.exists());
    assert!(matches!(
        check_out_dir(&file.join("out")),
        Err(WriteError::ParentNotDir { .. })
    ));
    for unnamed in ["/", ".", "..", "x/.."] {
        assert!(
            matches!(
                check_out_dir(Path::new(unnamed)),
                Err(WriteError::Unnamed { .. })
            ),
            "{unnamed}"
        );
    }
}

#[test]
fn removes_leftovers_of_this_output_only() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    write(&out, &set_a()).unwrap();
    let p = tmp.path();
    put(&p.join(".out.kubeseed-staging-123/pki/ca.key"), SECRET);
    put(&p.join(".out.kubeseed-old-456/index.json"), "{}");
    put(&p.join(".something/keep"), "keep");
    put(&p.join(".other.kubeseed-staging-1/keep"), "keep");
    put(&p.join(".out.kubeseed-staging-abc/keep"), "keep");
    put(&p.join(".out.kubeseed-staging-/keep"), "keep");
    put(&p.join(".out.kubeseed-staging-9"), "a file, not ours");
    std::fs::create_dir(p.join("elsewhere")).unwrap();
    symlink(p.join("elsewhere"), p.join(".out.kubeseed-old-7")).unwrap();

    write(&out, &set_b()).unwrap();
    assert_eq!(read_tree(&out).unwrap(), expected(&set_b()));
    assert_eq!(
        beside(p),
        [
            ".other.kubeseed-staging-1",
            ".out.kubeseed-old-7",
            ".out.kubeseed-staging-",
            ".out.kubeseed-staging-9",
            ".out.kubeseed-staging-abc",
            ".something",
            "elsewhere"
        ]
    );
}

#[test]
fn restores_an_old_output_left_by_an_interrupted_fallback_swap() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    write(&out, &set_a()).unwrap();
    let before = read_tree(&out).unwrap();
    // A crash between the two renames of the fallback: --out is missing.
    std::fs::rename(&out, tmp.path().join(".out.kubeseed-old-4242")).unwrap();
    put(
        &tmp.path().join(".out.kubeseed-staging-4242/index.json"),
        "{}",
    );

    // Even a render that fails puts the old output back.
    assert!(write(&out, &failing_set().0).is_err());
    assert_eq!(read_tree(&out).unwrap(), before);
    assert_eq!(beside(tmp.path()), Vec::<String>::new());

    std::fs::rename(&out, tmp.path().join(".out.kubeseed-old-1")).unwrap();
    std::fs::create_dir(tmp.path().join(".out.kubeseed-old-2")).unwrap();
    assert!(matches!(
        write(&out, &set_b()),
        Err(WriteError::SeveralOld { found, .. }) if found.len() == 2
    ));
    assert!(!out.exists());
}

#[test]
fn reports_a_held_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let lock_path = tmp.path().join(".out.kubeseed.lock");
    let held = std::fs::File::create(&lock_path).unwrap();
    rfs::flock(&held, FlockOperation::LockExclusive).unwrap();

    let err = write(&out, &set_a()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "another kubeseed is writing {} (it holds {}); wait for it to finish",
            out.display(),
            lock_path.display()
        )
    );
    assert!(!out.exists());
    assert_eq!(beside(tmp.path()), Vec::<String>::new());

    drop(held);
    write(&out, &set_a()).unwrap();
    assert_written(&out, &set_a());
}

#[test]
fn a_failure_mid_write_leaves_the_old_output_and_no_staging() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    write(&out, &set_a()).unwrap();
    let before = read_tree(&out).unwrap();

    let (set, long) = failing_set();
    let err = write(&out, &set).unwrap_err();
    let staging = tmp
        .path()
        .join(format!(".out.kubeseed-staging-{}", std::process::id()));
    assert_eq!(
        err.to_string(),
        format!(
            "cannot create {}: File name too long (os error 36)",
            staging.join(&long).display()
        )
    );
    assert!(!err.to_string().contains("TOP-SECRET"));
    assert!(!format!("{err:?}").contains("TOP-SECRET"));
    assert_eq!(read_tree(&out).unwrap(), before);
    assert_eq!(beside(tmp.path()), Vec::<String>::new());

    // The same into a missing directory leaves nothing at all.
    let fresh = tmp.path().join("fresh");
    assert!(write(&fresh, &set).is_err());
    assert!(!fresh.exists());
    assert_eq!(beside(tmp.path()), [".fresh.kubeseed.lock"]);
}

#[test]
fn read_tree_refuses_symlinks_rather_than_follow_them() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    put(&out.join("a/file"), "x");
    symlink("/etc/hostname", out.join("a/link")).unwrap();
    let err = read_tree(&out).unwrap_err();
    assert!(
        matches!(&err, WriteError::NotRegular { path, .. } if path == &out.join("a/link")),
        "{err}"
    );
    std::fs::remove_file(out.join("a/link")).unwrap();
    let tree = read_tree(&out).unwrap();
    assert_eq!(tree.keys().collect::<Vec<_>>(), ["a/file"]);

    let link = tmp.path().join("link");
    symlink(&out, &link).unwrap();
    assert!(matches!(
        read_tree(&link),
        Err(WriteError::NotRegular { .. })
    ));
}

#[test]
fn writes_directories_whose_names_share_prefixes() {
    // Byte order interleaves "a/b.txt", "a/b-c/…", "a/b/…" and "a/b0"; each directory
    // must still be created once.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut set = FileSet::new();
    for path in ["a/b/z/w", "a/b0", "a/b.txt", "a/b-c/y", "a/b/x", "b", "a/c"] {
        set.insert(path, File::public(Kind::Config, path)).unwrap();
    }
    write(&out, &set).unwrap();
    assert_written(&out, &set);
}

#[test]
fn refuses_out_names_kubeseed_uses_beside_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    for name in [
        ".a.kubeseed-staging-1",
        ".a.kubeseed-old-22",
        ".a.kubeseed.lock",
        "..kubeseed-staging-3",
    ] {
        let out = tmp.path().join(name);
        assert!(
            matches!(check_out_dir(&out), Err(WriteError::ReservedName { .. })),
            "{name}"
        );
        assert!(write(&out, &set_b()).is_err());
        assert!(!out.exists());
    }
    for name in [
        ".a.kubeseed-staging-",
        ".a.kubeseed-staging-x",
        "a.kubeseed-old-1",
        ".a",
    ] {
        check_out_dir(&tmp.path().join(name)).unwrap();
    }
}

#[test]
fn syncing_each_file_writes_the_same_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    prepare(&out)
        .unwrap()
        .write_with(&set_a(), true, true)
        .unwrap();
    assert_written(&out, &set_a());
    prepare(&out)
        .unwrap()
        .write_with(&set_b(), true, true)
        .unwrap();
    assert_written(&out, &set_b());
    assert!(beside(tmp.path()).is_empty(), "{:?}", beside(tmp.path()));
}

/// `set_a` and enough more files to be written on two threads, split inside `nodes/` with
/// directories both halves share, and a secret in each half.
fn many_files() -> FileSet {
    let mut set = set_a();
    let count = fill::PARALLEL_FILES + 88;
    for i in 0..count / 4 {
        for (file, secret) in [
            ("rootfs/etc/a.conf", false),
            ("rootfs/etc/key", true),
            ("rootfs/var/lib/b.yaml", false),
            ("ignition.json", i % 2 == 0),
        ] {
            let bytes = format!("{file} of n{i:03}\n");
            let file_in = if secret {
                File::secret(Kind::PrivateKey, bytes)
            } else {
                File::public(Kind::Config, bytes)
            };
            set.insert(&format!("nodes/n{i:03}/{file}"), file_in)
                .unwrap();
        }
    }
    assert!(set.len() >= fill::PARALLEL_FILES);
    set
}

#[test]
fn a_large_output_is_written_on_two_threads_as_on_one() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    for sync_each in [false, true] {
        prepare(&out)
            .unwrap()
            .write_with(&many_files(), true, sync_each)
            .unwrap();
        assert_written(&out, &many_files());
        prepare(&out)
            .unwrap()
            .write_with(&set_b(), true, sync_each)
            .unwrap();
        assert_written(&out, &set_b());
    }
}

#[test]
fn syncfs_is_trusted_from_linux_5_8() {
    for (release, trusted) in [
        ("6.18.44-fc-v1045", true),
        ("6.1.0-18-amd64", true),
        ("5.8.0", true),
        ("5.10", true),
        ("5.7.19", false),
        ("4.19.0-26-cloud-amd64", false),
        ("", false),
    ] {
        assert_eq!(release_at_least_5_8(release), trusted, "{release}");
    }
}

/// 20 bundle-like directories under `nodes/`: read and removed on two threads.
fn many_dirs(content: &str) -> FileSet {
    let mut set = FileSet::new();
    for i in 0..20 {
        for file in ["a.yaml", "sub/b.yaml"] {
            set.insert(
                &format!("nodes/n{i:02}/{file}"),
                File::public(Kind::Config, format!("{content} {i}\n")),
            )
            .unwrap();
        }
    }
    set
}

#[test]
fn a_wide_tree_is_checked_and_replaced_on_two_threads_as_on_one() {
    const { assert!(20 >= PARALLEL_DIRS) };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    write(&out, &many_dirs("one")).unwrap();
    write(&out, &many_dirs("two")).unwrap();
    assert_written(&out, &many_dirs("two"));
    // Unlisted files in both halves of nodes/: the first in path order is reported, as a
    // single-threaded walk would; with only the second half's left, that one.
    fs::write(out.join("nodes/n15/sub/stray"), "x").unwrap();
    fs::write(out.join("nodes/n03/stray"), "x").unwrap();
    for expected in ["nodes/n03/stray", "nodes/n15/sub/stray"] {
        match check_out_dir(&out) {
            Err(WriteError::Unlisted { path, .. }) => assert_eq!(path, expected),
            other => panic!("{other:?}"),
        }
        fs::remove_file(out.join(expected)).unwrap();
    }
    check_out_dir(&out).unwrap();
}

/// Remove `tmp/out` through the listing of its own index.json.
fn remove_by_listing(tmp: &Path) -> Result<(), WriteError> {
    let parent = fs::File::open(tmp).unwrap();
    let listed = read_index_paths(
        fs::File::open(tmp.join("out")).unwrap().as_fd(),
        &tmp.join("out"),
    )
    .unwrap();
    let listed: Vec<&str> = listed.iter().map(String::as_str).collect();
    remove_listed(parent.as_fd(), OsStr::new("out"), tmp, &listed)
}

#[test]
fn an_old_output_is_removed_by_its_listing() {
    for set in [set_a(), many_files()] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        write(&out, &set).unwrap();
        remove_by_listing(tmp.path()).unwrap();
        assert!(!out.exists());

        // Listed files deleted by hand, a whole directory of them too, are no error.
        write(&out, &set).unwrap();
        fs::remove_file(out.join("pki/ca.crt")).unwrap();
        fs::remove_dir_all(out.join("pki/etcd")).unwrap();
        remove_by_listing(tmp.path()).unwrap();
        assert!(!out.exists());
    }
}

#[test]
fn removal_by_listing_leaves_what_is_not_listed() {
    for set in [set_a(), many_files()] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        write(&out, &set).unwrap();
        fs::write(out.join("pki/stray"), "mine").unwrap();
        let err = remove_by_listing(tmp.path()).unwrap_err();
        assert!(err.to_string().contains("pki"), "{err}");
        assert_eq!(fs::read_to_string(out.join("pki/stray")).unwrap(), "mine");

        // A listed directory swapped for a symlink is not followed.
        let elsewhere = tmp.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        fs::write(elsewhere.join("ca.crt"), "theirs").unwrap();
        fs::remove_dir_all(out.join("pki")).unwrap();
        symlink(&elsewhere, out.join("pki")).unwrap();
        assert!(remove_by_listing(tmp.path()).is_err());
        assert_eq!(
            fs::read_to_string(elsewhere.join("ca.crt")).unwrap(),
            "theirs"
        );
    }
}

/// Something that appears in the old output after the check makes the listing fall short:
/// the old tree still goes (by a walk), and nothing is left beside the output.
#[test]
fn an_old_output_that_changed_after_the_check_is_still_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    write(&out, &many_files()).unwrap();
    let prepared = prepare(&out).unwrap();
    fs::write(out.join("nodes/n000/stray"), "late").unwrap();
    prepared.write(&set_b()).unwrap();
    assert_written(&out, &set_b());
}

#[test]
fn an_index_listing_a_path_outside_the_output_is_not_ours() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    write(&out, &set_a()).unwrap();
    let index = fs::read_to_string(out.join(INDEX_JSON)).unwrap();
    for (bad, problem) in [
        ("../victim", "it has a \"..\" component"),
        ("/etc/passwd", "it is absolute"),
        ("pki//ca.crt", "it has an empty component"),
    ] {
        let forged = index.replacen("\"pki/ca.crt\"", &format!("{bad:?}"), 1);
        assert_ne!(forged, index);
        fs::write(out.join(INDEX_JSON), forged).unwrap();
        match check_out_dir(&out) {
            Err(WriteError::ForeignIndex { reason, .. }) => {
                assert!(reason.ends_with(problem), "{reason}");
                assert!(!reason.contains(bad), "{reason}");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}
