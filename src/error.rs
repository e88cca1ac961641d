//! The one error type of the command line: every variant names what the
//! user can act on (the file, the key, the flag) and says what would be
//! right. No variant carries secret material: seeds, keys and tokens are
//! described, never quoted.

use std::fmt;
use std::path::PathBuf;

use crate::bundle::BundleError;
use crate::gitops::tree::GitOpsError;
use crate::issue::IssueError;
use crate::render::RenderError;
use crate::spec::SpecErrors;
use crate::write::WriteError;

/// Why a directory could not be inspected. Never quotes file contents.
#[derive(Debug)]
pub struct ExpiryError {
    pub path: PathBuf,
    pub problem: String,
    pub hint: String,
}

impl fmt::Display for ExpiryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for ExpiryError {}

#[derive(Debug)]
pub enum Error {
    /// Every problem found in the spec, at once.
    Spec(SpecErrors),
    /// An input file could not be read.
    Read {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
    /// The seed is missing or malformed. `origin` says where it came from
    /// (a file path, or `$KUBESEED_SEED`).
    Seed {
        origin: String,
        problem: String,
        hint: String,
    },
    /// `pki.external_ca` was refused.
    ExternalCa {
        path: PathBuf,
        key: &'static str,
        problem: String,
        hint: String,
    },
    /// `kubeseed init` would overwrite something, or could not write.
    Init {
        path: PathBuf,
        problem: String,
        hint: String,
    },
    /// `render --templates DIR` could not be read as a template directory.
    Templates {
        path: PathBuf,
        problem: String,
        hint: String,
    },
    /// `verify --age-identity FILE` is not an age identity file.
    AgeIdentity {
        path: PathBuf,
        problem: String,
    },
    Issue(IssueError),
    Render(RenderError),
    Bundle(BundleError),
    GitOps(GitOpsError),
    Write(WriteError),
    /// What a command prints could not be written (a closed pipe, a full disk).
    Stdout(std::io::Error),
    /// `check-expiration` could not read a rendered directory.
    Expiry(ExpiryError),
}

impl Error {
    /// The second line of the message: what would be right.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Seed { hint, .. }
            | Error::ExternalCa { hint, .. }
            | Error::Init { hint, .. }
            | Error::Templates { hint, .. } => Some(hint.clone()),
            Error::AgeIdentity { .. } => Some(
                "give the file age-keygen wrote: lines AGE-SECRET-KEY-1..., comments (#) and blank lines"
                    .into(),
            ),
            Error::Render(e) => e.hint(),
            Error::Expiry(e) => Some(e.hint.clone()),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spec(e) => write!(f, "{e}"),
            Error::Read { path, what, source } => {
                write!(f, "cannot read {what} {}: {source}", path.display())
            }
            Error::Seed {
                origin, problem, ..
            } => write!(f, "{origin}: {problem}"),
            Error::ExternalCa {
                path, key, problem, ..
            } => {
                write!(f, "{}: {key}: {problem}", path.display())
            }
            Error::Init { path, problem, .. } | Error::Templates { path, problem, .. } => {
                write!(f, "{}: {problem}", path.display())
            }
            Error::AgeIdentity { path, problem } => write!(f, "{}: {problem}", path.display()),
            Error::Issue(e) => write!(f, "{e}"),
            Error::Render(e) => write!(f, "{e}"),
            Error::Bundle(e) => write!(f, "{e}"),
            Error::GitOps(e) => write!(f, "{e}"),
            Error::Write(e) => write!(f, "{e}"),
            Error::Stdout(e) => write!(f, "cannot write to standard output: {e}"),
            Error::Expiry(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<SpecErrors> for Error {
    fn from(e: SpecErrors) -> Self {
        Error::Spec(e)
    }
}
impl From<IssueError> for Error {
    fn from(e: IssueError) -> Self {
        Error::Issue(e)
    }
}
impl From<RenderError> for Error {
    fn from(e: RenderError) -> Self {
        Error::Render(e)
    }
}
impl From<BundleError> for Error {
    fn from(e: BundleError) -> Self {
        Error::Bundle(e)
    }
}
impl From<GitOpsError> for Error {
    fn from(e: GitOpsError) -> Self {
        Error::GitOps(e)
    }
}
impl From<WriteError> for Error {
    fn from(e: WriteError) -> Self {
        Error::Write(e)
    }
}
impl From<ExpiryError> for Error {
    fn from(e: ExpiryError) -> Self {
        Error::Expiry(e)
    }
}
