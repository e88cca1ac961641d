//! Interrupted renders: a render killed with SIGKILL at any moment leaves
//! `--out` exactly as it was or exactly as the new render would leave it,
//! never a mix and never nothing; the next render cleans up after it.

mod common;

use common::hash_tree;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SEED: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

fn spec(algorithm: &str, cert_validity: &str) -> String {
    common::Spec::new("atomic")
        .controllers(3)
        .pki(&format!(
            "algorithm = \"{algorithm}\"\ncert_validity = \"{cert_validity}\""
        ))
        .token("expires = \"2026-01-02T00:00:00Z\"")
        .build()
}

struct Setup {
    tmp: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let seed = tmp.path().join("seed");
        fs::write(&seed, format!("{SEED}\n")).unwrap();
        fs::set_permissions(&seed, fs::Permissions::from_mode(0o600)).unwrap();
        Setup { tmp }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.tmp.path().join(p)
    }

    fn spawn(&self, spec_text: &str, name: &str, out: &str) -> Child {
        fs::write(self.path(name), spec_text).unwrap();
        Command::new(env!("CARGO_BIN_EXE_kubeseed"))
            .current_dir(self.tmp.path())
            .args(["render", name, "--out", out])
            .env_remove("KUBESEED_SEED")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn render(&self, spec_text: &str, name: &str, out: &str) {
        let status = self.spawn(spec_text, name, out).wait().unwrap();
        assert!(status.success(), "render {name} failed");
    }

    fn leftovers(&self) -> Vec<String> {
        fs::read_dir(self.tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("kubeseed-staging") || n.contains("kubeseed-old"))
            .collect()
    }
}

fn kill_after(mut child: Child, delay: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < delay {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let _ = child.kill(); // SIGKILL
    let status = child.wait().unwrap();
    status.success()
}

/// An rsa-4096 render spends seconds deriving keys: killed at any point of
/// that, the previous output is untouched.
#[test]
fn killed_during_a_slow_render_leaves_the_old_output() {
    let s = Setup::new();
    s.render(&spec("ecdsa-p256", "8760h"), "old.toml", "out");
    let old = hash_tree(&s.path("out"));
    assert!(old.len() > 20);
    let slow = spec("rsa-4096", "8760h");
    for ms in [0, 5, 50, 200, 500, 1000] {
        let finished = kill_after(
            s.spawn(&slow, "slow.toml", "out"),
            Duration::from_millis(ms),
        );
        assert!(
            !finished,
            "the rsa-4096 render finished within {ms} ms; the test needs a slower spec"
        );
        assert_eq!(
            old,
            hash_tree(&s.path("out")),
            "--out changed after a kill at {ms} ms"
        );
    }
}

/// A fast render killed at many points, including while it writes and swaps:
/// `--out` is always exactly the old tree or exactly the new one, and the
/// next render removes whatever staging the killed one left.
#[test]
fn killed_at_any_moment_leaves_old_or_new_never_a_mix() {
    let s = Setup::new();
    let old_spec = spec("ecdsa-p256", "8760h");
    let new_spec = spec("ecdsa-p256", "4380h");
    s.render(&new_spec, "new.toml", "new-out");
    let new = hash_tree(&s.path("new-out"));
    s.render(&old_spec, "old.toml", "out");
    let old = hash_tree(&s.path("out"));
    assert_ne!(old, new);

    let start = Instant::now();
    s.render(&new_spec, "new.toml", "timing-out");
    let full = start.elapsed();
    let steps = 40u32;
    let (mut saw_old, mut saw_new) = (0, 0);
    for i in 0..=steps {
        let delay = full * i / steps;
        kill_after(s.spawn(&new_spec, "new.toml", "out"), delay);
        let now = hash_tree(&s.path("out"));
        if now == old {
            saw_old += 1;
        } else if now == new {
            saw_new += 1;
            // Put the old output back for the next round.
            s.render(&old_spec, "old.toml", "out");
            assert_eq!(old, hash_tree(&s.path("out")));
        } else {
            panic!("after a kill at {delay:?}, --out is neither the old nor the new output");
        }
    }
    assert!(saw_old > 0, "no kill landed before the swap");
    // The next render cleans up whatever the killed ones left behind.
    s.render(&old_spec, "old.toml", "out");
    assert_eq!(s.leftovers(), Vec::<String>::new());
    eprintln!("kills: {saw_old} left the old output, {saw_new} the new one");
}
