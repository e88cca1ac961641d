//! `kubeseed completions`, black-box: each shell's script is produced, and bash accepts the
//! bash one and registers it for `kubeseed`.

mod common;

use std::process::Command;

use common::{kubeseed, run, tool};

#[test]
fn bash_completion_names_every_command_and_loads() {
    let script = kubeseed(["completions", "bash"], &[]).success("completions bash");
    assert!(script.stdout.contains("kubeseed"));
    for command in [
        "init",
        "render",
        "plan",
        "join",
        "check-expiration",
        "completions",
    ] {
        assert!(
            script.stdout.contains(command),
            "the bash completion does not mention {command}"
        );
    }
    // bash parses it and `complete -p` shows it registered for kubeseed.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kubeseed.bash");
    std::fs::write(&file, &script.stdout).unwrap();
    let loaded = run(Command::new(tool("bash"))
        .arg("-c")
        .arg("source \"$1\" && complete -p kubeseed")
        .arg("bash")
        .arg(&file))
    .success("source the bash completion");
    assert!(
        loaded.stdout.contains("kubeseed"),
        "{}{}",
        loaded.stdout,
        loaded.stderr
    );
}

#[test]
fn zsh_and_fish_completions_are_produced() {
    for shell in ["zsh", "fish"] {
        let script = kubeseed(["completions", shell], &[]).success(shell);
        assert!(!script.stdout.is_empty(), "{shell}");
        assert!(script.stdout.contains("check-expiration"), "{shell}");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let run = kubeseed(["completions", "tcsh"], &[]);
    assert_eq!(run.status.code(), Some(1));
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("tcsh"), "{}", run.stderr);
}
