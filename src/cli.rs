//! The command line, as clap derive types only.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Render a Kubernetes cluster's bootstrap PKI, kubeconfigs and node
/// bundles deterministically from a spec and a secret seed.
#[derive(Debug, Parser)]
#[command(name = "kubeseed", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a starter DIR/cluster.toml, a fresh DIR/seed (mode 0600) and a
    /// DIR/.gitignore that ignores the seed. Never overwrites a file.
    Init {
        /// Directory to create the files in (created if missing).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Render every asset of SPEC into --out, atomically: the previous
    /// output stays intact until the new one is complete.
    Render {
        /// The cluster spec (cluster.toml).
        spec: PathBuf,
        /// Output directory (created if missing; refused if it holds files
        /// kubeseed did not write).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Seed file; default: $KUBESEED_SEED (hex), else `seed` beside SPEC.
        #[arg(long, value_name = "FILE")]
        seed: Option<PathBuf>,
        /// Replace embedded templates by the files under DIR with the same
        /// relative path (e.g. DIR/static-pods/etcd.yaml); a file that
        /// matches no template is an error.
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
    },
    /// Print the bootstrap token, the CA pin (sha256:...) and a ready
    /// `kubeadm join` line for SPEC. The only command that prints a secret;
    /// writes no file.
    Join {
        /// The cluster spec (cluster.toml).
        spec: PathBuf,
        /// Seed file; default: $KUBESEED_SEED (hex), else `seed` beside SPEC.
        #[arg(long, value_name = "FILE")]
        seed: Option<PathBuf>,
        /// `text`: token, pin and command on three lines; `json`: one object.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Show what `render` would add (+), change (~) and remove (-) in --out,
    /// with a diff for changed non-secret text files; writes nothing. Exit
    /// status: 0 no changes, 2 changes, 1 error.
    Plan {
        /// The cluster spec (cluster.toml).
        spec: PathBuf,
        /// The output directory to compare with (a missing one plans
        /// everything as added).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Seed file; default: $KUBESEED_SEED (hex), else `seed` beside SPEC.
        #[arg(long, value_name = "FILE")]
        seed: Option<PathBuf>,
        /// Template overrides, as for `render --templates`.
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        /// Also list unchanged files.
        #[arg(long)]
        verbose: bool,
        /// `text`: one line per file, diffs and a summary; `json`: one object.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// List every certificate of a rendered DIR (pki/*.crt and the client
    /// certificates in kubeconfig/*.conf), the CAs and the bootstrap token,
    /// with expiry and residual time, like `kubeadm certs check-expiration`.
    CheckExpiration {
        /// A directory written by `kubeseed render`.
        dir: PathBuf,
        /// Exit 2 if anything expires within this window (or has expired):
        /// a Go duration (`720h`) or days (`30d`, `1d12h`).
        #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse_window)]
        warn_within: Option<time::Duration>,
        /// `text`: tables; `json`: one object.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Print a shell completion script, e.g.
    /// `kubeseed completions bash > /etc/bash_completion.d/kubeseed`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Audit a rendered directory offline, without the seed: chains, key
    /// usages, key pairs, SANs, kubeconfigs, token and Secret, the
    /// cluster-info JWS, modes and index.json. Exit 1 on any error (or, with
    /// --strict, any warning). Never prints secret content.
    Verify {
        /// The rendered directory (render's --out).
        dir: PathBuf,
        /// Warnings (expiring or never-expiring token, certificates expiring
        /// within 30 days) fail too.
        #[arg(long)]
        strict: bool,
        /// `text`: one finding a line; `json`: {"errors":[...],"warnings":[...]}.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
        /// An age identity file (as age-keygen writes it): decrypt every Secret of gitops/
        /// and check it against manifests/.
        #[arg(long, value_name = "FILE")]
        age_identity: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}
