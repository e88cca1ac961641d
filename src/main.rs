//! `kubeseed`: argv, environment and stdio around the library; exit codes.

mod cli;

use kubeseed::rfc3339;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use kubeseed::derive::Seed;
use kubeseed::error::Error;
use kubeseed::issue::ExternalCa;
use kubeseed::{controlplane, load, render::Templates, spec, write};

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are not errors; every real error exits 1.
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Init { dir } => init(&dir),
        Command::Render {
            spec,
            out,
            seed,
            templates,
        } => render(&spec, &out, seed.as_deref(), templates.as_deref()),
        Command::Join { spec, seed, output } => join(&spec, seed.as_deref(), output),
        Command::Plan {
            spec,
            out,
            seed,
            templates,
            verbose,
            output,
        } => {
            let opts = PlanOptions {
                seed: seed.as_deref(),
                templates: templates.as_deref(),
                verbose,
                output,
            };
            return detailed_exit(plan(&spec, &out, &opts));
        }
        Command::CheckExpiration {
            dir,
            warn_within,
            output,
        } => return detailed_exit(check_expiration(&dir, warn_within, output)),
        Command::Completions { shell } => completions(shell),
        Command::Verify {
            dir,
            strict,
            output,
        } => return verify(&dir, strict, output),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report_error(&e);
            ExitCode::from(1)
        }
    }
}

fn report_error(e: &Error) {
    let mut stderr = std::io::stderr().lock();
    match e {
        Error::Spec(errors) => {
            for p in &errors.0 {
                let _ = writeln!(stderr, "error: {p}");
            }
        }
        _ => {
            let _ = writeln!(stderr, "error: {e}");
            if let Some(hint) = e.hint() {
                let _ = writeln!(stderr, "  hint: {hint}");
            }
        }
    }
}

fn warn(message: &str) {
    eprintln!("warning: {message}");
}

fn render(
    spec_path: &Path,
    out: &Path,
    seed_flag: Option<&Path>,
    templates_dir: Option<&Path>,
) -> Result<(), Error> {
    // Cheap and the user's input: refuse a bad spec or template directory,
    // and a foreign output directory, before any expensive work.
    let spec = load_spec(spec_path)?;
    let templates = match templates_dir {
        Some(dir) => Templates::with_overrides(load::templates(dir)?)?,
        None => Templates::embedded()?,
    };
    for w in controlplane::warnings(&spec) {
        warn(&w);
    }
    write::check_out_dir(out)?;
    let (seed, external) = load_secrets(&spec, spec_path, seed_flag)?;
    expiry_warnings(&spec);
    let files = kubeseed::render_with(&spec, &seed, external, &templates)?;
    write::write(out, &files)?;
    let secret = files.iter().filter(|(_, f)| f.secret).count();
    println!(
        "rendered {} files into {} ({secret} secret, mode 0600)",
        files.len(),
        out.display()
    );
    Ok(())
}

/// Exit status for commands that gate CI (terraform's `-detailed-exitcode`): 0 when all is
/// well, 2 when `Ok(true)` says there is something to act on, 1 on error.
fn detailed_exit(result: Result<bool, Error>) -> ExitCode {
    match result {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(2),
        Err(e) => {
            report_error(&e);
            ExitCode::from(1)
        }
    }
}

struct PlanOptions<'a> {
    seed: Option<&'a Path>,
    templates: Option<&'a Path>,
    verbose: bool,
    output: cli::Output,
}

/// `kubeseed plan`: render in memory exactly as `render` does (same checks, same warnings),
/// compare with `out`, print the plan; `Ok(true)` when render would change something.
fn plan(spec_path: &Path, out: &Path, opts: &PlanOptions<'_>) -> Result<bool, Error> {
    let spec = load_spec(spec_path)?;
    let templates = match opts.templates {
        Some(dir) => Templates::with_overrides(load::templates(dir)?)?,
        None => Templates::embedded()?,
    };
    for w in controlplane::warnings(&spec) {
        warn(&w);
    }
    write::check_out_dir(out)?;
    let (seed, external) = load_secrets(&spec, spec_path, opts.seed)?;
    expiry_warnings(&spec);
    let files = kubeseed::render_with(&spec, &seed, external, &templates)?;
    let plan = kubeseed::plan::plan(out, &files)?;
    let text = match opts.output {
        cli::Output::Text => plan.to_text(opts.verbose),
        cli::Output::Json => plan.to_json(out, opts.verbose),
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Stdout)?;
    Ok(plan.has_changes())
}

/// `kubeseed check-expiration`: the tables (or JSON) on stdout; with a window, what expires
/// inside it on stderr and `Ok(true)`.
fn check_expiration(
    dir: &Path,
    window: Option<time::Duration>,
    output: cli::Output,
) -> Result<bool, Error> {
    let report = kubeseed::expiry::inspect(dir)?;
    let now = time::OffsetDateTime::now_utc();
    let text = match output {
        cli::Output::Text => report.to_text(now),
        cli::Output::Json => report.to_json(now, window),
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Stdout)?;
    let Some(window) = window else {
        return Ok(false);
    };
    let expiring = report.expiring(now, window);
    if !expiring.is_empty() {
        warn(&format!(
            "expiring within {} or expired: {}",
            kubeseed::expiry::residual(window),
            expiring.join(", ")
        ));
    }
    Ok(!expiring.is_empty())
}

/// `kubeseed completions SHELL`: the completion script, generated from the clap types, so it
/// never lags behind the commands.
fn completions(shell: clap_complete::Shell) -> Result<(), Error> {
    use clap::CommandFactory as _;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kubeseed", &mut script);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&script)
        .and_then(|()| stdout.flush())
        .map_err(Error::Stdout)
}

/// `kubeseed join`: the only command that prints a secret (the token), and
/// only to stdout. Warnings go to stderr so `--output json` stays parseable.
fn join(spec_path: &Path, seed_flag: Option<&Path>, output: cli::Output) -> Result<(), Error> {
    let spec = load_spec(spec_path)?;
    let (seed, external) = load_secrets(&spec, spec_path, seed_flag)?;
    expiry_warnings(&spec);
    if !spec.security.anonymous_discovery {
        warn("security.anonymous_discovery is false: kubeadm's token discovery reads kube-public/cluster-info anonymously and will be refused; join with `kubeadm join --discovery-file` instead");
    }
    let info = kubeseed::join(&spec, &seed, external)?;
    let text = match output {
        cli::Output::Text => info.to_text(),
        cli::Output::Json => info.to_json(),
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Stdout)
}

/// `kubeseed verify`: findings on stdout (text or JSON), exit 1 on an error
/// or, with `--strict`, a warning.
fn verify(dir: &Path, strict: bool, output: cli::Output) -> ExitCode {
    let report = kubeseed::verify::verify(dir, time::OffsetDateTime::now_utc());
    let text = match output {
        cli::Output::Text => report.to_text(),
        cli::Output::Json => report.to_json(),
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        report_error(&Error::Stdout(e));
        return ExitCode::from(1);
    }
    if report.failed(strict) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Reads and validates the spec, printing its warnings.
fn load_spec(spec_path: &Path) -> Result<spec::Spec, Error> {
    let parsed = load::spec(spec_path)?;
    for w in &parsed.warnings {
        warn(&w.to_string());
    }
    Ok(parsed.spec)
}

/// Reads the seed and the external CA, if any, printing their warnings.
fn load_secrets(
    spec: &spec::Spec,
    spec_path: &Path,
    seed_flag: Option<&Path>,
) -> Result<(Seed, Option<ExternalCa>), Error> {
    let (seed, warnings) = load::seed(seed_flag, std::env::var_os(load::SEED_ENV), spec_path)?;
    if seed.is_public_demo() {
        warn("this is a public demo seed from kubeseed's examples: every key and token derived from it is public; never use it for a real cluster (run `kubeseed init` for a fresh seed)");
    } else {
        for w in &warnings {
            warn(w);
        }
    }
    let external = match &spec.pki.external_ca {
        Some(ext) => Some(load::external_ca(ext, &load::spec_dir(spec_path))?),
        None => None,
    };
    Ok((seed, external))
}

/// The only place that reads the clock while rendering, and only to warn.
fn expiry_warnings(spec: &spec::Spec) {
    let now = time::OffsetDateTime::now_utc();
    match spec.bootstrap_token.expires {
        Some(t) if t <= now => warn(&format!(
            "bootstrap_token.expires ({}) is in the past: nodes cannot join with this token; move it forward or bump bootstrap_token.generation",
            rfc3339::format(t)
        )),
        None => warn("bootstrap_token.expires is not set: the bootstrap token never expires; set it and rotate the token after nodes have joined"),
        _ => {}
    }
    let cert_end = spec.pki.not_before + spec.pki.cert_validity.value;
    if cert_end <= now {
        warn(&format!(
            "every certificate expired at {}; move pki.not_before forward to renew them",
            rfc3339::format(cert_end)
        ));
    }
}

fn init(dir: &Path) -> Result<(), Error> {
    let spec_path = dir.join("cluster.toml");
    let seed_path = dir.join("seed");
    let ignore_path = dir.join(".gitignore");
    let existing: Vec<_> = [&spec_path, &seed_path, &ignore_path]
        .into_iter()
        .filter(|p| p.symlink_metadata().is_ok())
        .collect();
    if let Some(first) = existing.first() {
        return Err(Error::Init {
            path: first.to_path_buf(),
            problem: "already exists; kubeseed init never overwrites a file".into(),
            hint: "choose another directory, or move the existing files away first".into(),
        });
    }
    fs::create_dir_all(dir).map_err(|e| init_error(dir, "cannot create the directory", e))?;
    let now = time::OffsetDateTime::now_utc();
    let hour = now
        .replace_minute(0)
        .and_then(|t| t.replace_second(0))
        .and_then(|t| t.replace_nanosecond(0))
        .unwrap_or(now);
    let name = cluster_name_for(dir);
    let seed = Seed::generate().map_err(|e| Error::Init {
        path: seed_path.clone(),
        problem: format!("cannot read the operating system's random number generator: {e}"),
        hint: "run kubeseed init on a machine with a working /dev/urandom".into(),
    })?;
    // The seed first: if anything fails after it, the user still has a
    // secret they can keep, and nothing was overwritten.
    create_new(&seed_path, seed.to_file_text().as_bytes(), 0o600)?;
    create_new(
        &ignore_path,
        b"# The seed is the root secret of this cluster: never commit it.\nseed\n",
        0o644,
    )?;
    create_new(
        &spec_path,
        spec::default_spec_toml(&name, &rfc3339::format(hour)).as_bytes(),
        0o644,
    )?;
    println!(
        "wrote {}, {} (mode 0600) and {}\nnext: kubeseed render {} --out {}",
        spec_path.display(),
        seed_path.display(),
        ignore_path.display(),
        spec_path.display(),
        dir.join("out").display()
    );
    Ok(())
}

/// A valid cluster name from the directory's name, else `demo`.
fn cluster_name_for(dir: &Path) -> String {
    let base = std::path::absolute(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_lowercase()))
        .unwrap_or_default();
    let name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() {
        "demo".to_string()
    } else {
        name
    }
}

fn create_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| init_error(path, "cannot create", e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| init_error(path, "cannot write", e))
}

fn init_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::Init {
        path: path.to_path_buf(),
        problem: format!("{what}: {e}"),
        hint: "check the directory's permissions and free space".into(),
    }
}
