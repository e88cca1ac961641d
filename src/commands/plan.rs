//! `kubeseed plan`: what `render` would add, change and remove in an output directory, without
//! writing anything.
//!
//! It compares a [`FileSet`] rendered in memory (plus the `index.json` that `write` would put
//! beside it) with what is on disk, path by path: content and mode. It owns the one rule that
//! matters here: a secret file is never shown, only named. A file is treated as secret when
//! the new render says so, or when the old `index.json` does, or when the old index does not
//! say (a file kubeseed cannot vouch for is not printed). Only changed files that are
//! non-secret on both sides and are text get a unified diff.
//!
//! The diff comes from the `similar` crate (Myers' algorithm, the one git uses by default):
//! a maintained, dependency-free crate whose unified-diff output, hunk headers and
//! "no newline at end of file" markers are already exercised by many users, which beats a
//! hand-written diff nobody reviews twice.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::cli::Output;
use crate::error::Error;
use crate::fileset::{FileSet, INDEX_JSON};
use crate::write::{self, WriteError};

/// Lines of context around each change in a unified diff, as `diff -u` and git use.
const CONTEXT: usize = 3;

/// What `render` would do to one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Add,
    Change,
    Remove,
    Unchanged,
}

impl Action {
    /// The marker at the start of a text line, as terraform prints them.
    fn marker(self) -> &'static str {
        match self {
            Action::Add => "+",
            Action::Change => "~",
            Action::Remove => "-",
            Action::Unchanged => " ",
        }
    }
}

/// One path of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub path: String,
    pub action: Action,
    /// Secret on either side (or of unknown secrecy on disk): never shown, never diffed.
    pub secret: bool,
    /// The `index.json` kind, from the new render, else from the old index.
    pub kind: Option<String>,
    /// Permission bits on disk (`"0644"`), when the file exists there.
    pub mode_before: Option<String>,
    /// Permission bits `render` would write, when it would write the file.
    pub mode_after: Option<String>,
    /// The bytes differ (only for `change`).
    pub content_changed: bool,
    /// A unified diff, only for a changed non-secret text file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// Every path that is rendered or on disk, sorted by path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub entries: Vec<Entry>,
}

/// How many paths each action touches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub remove: usize,
    pub unchanged: usize,
}

/// `kubeseed plan`'s options beyond the spec and the output directory.
pub struct Options<'a> {
    pub seed: Option<&'a Path>,
    pub templates: Option<&'a Path>,
    pub verbose: bool,
    pub output: Output,
}

/// `kubeseed plan`: render in memory exactly as `render` does (same checks, same warnings),
/// compare with `out`, print the plan; `Ok(true)` when render would change something.
pub fn run(spec_path: &Path, out: &Path, opts: &Options<'_>) -> Result<bool, Error> {
    let (files, ()) = super::render_in_memory(
        spec_path,
        || write::check_out_dir(out),
        Ok,
        opts.seed,
        opts.templates,
    )?;
    let plan = plan(out, &files)?;
    let text = match opts.output {
        Output::Text => plan.to_text(opts.verbose),
        Output::Json => plan.to_json(out, opts.verbose),
    };
    super::print(text.as_bytes())?;
    Ok(plan.has_changes())
}

/// Plans `render` of `files` into `out`. A missing `out` plans everything as added; an `out`
/// that `render` would refuse (not empty and not kubeseed's) is refused with the same error.
pub fn plan(out: &Path, files: &FileSet) -> Result<Plan, WriteError> {
    write::check_out_dir(out)?;
    let on_disk = match out.symlink_metadata() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        _ => write::read_tree(out)?,
    };
    Ok(Plan::compute(files, &on_disk))
}

/// What the old `index.json` says about one path.
struct OldEntry {
    secret: Option<bool>,
    kind: Option<String>,
}

/// Reads the old index leniently: `check_out_dir` already refused a foreign one, and a field
/// that cannot be read only makes the plan more cautious (unknown secrecy counts as secret).
fn old_index(on_disk: &BTreeMap<String, (Vec<u8>, u32)>) -> BTreeMap<String, OldEntry> {
    let mut out = BTreeMap::new();
    let Some((bytes, _)) = on_disk.get(INDEX_JSON) else {
        return out;
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return out;
    };
    for entry in value["files"].as_array().into_iter().flatten() {
        if let Some(path) = entry["path"].as_str() {
            out.insert(
                path.to_string(),
                OldEntry {
                    secret: entry["secret"].as_bool(),
                    kind: entry["kind"].as_str().map(String::from),
                },
            );
        }
    }
    out
}

/// A file `render` would write: bytes, mode, secrecy, kind.
struct Wanted<'a> {
    bytes: std::borrow::Cow<'a, [u8]>,
    mode: u32,
    secret: bool,
    kind: Option<String>,
}

fn kind_name(kind: crate::fileset::Kind) -> Option<String> {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
}

impl Plan {
    /// Compares the rendered `files` (and their `index.json`, mode 0644, as `write` writes
    /// it) with `on_disk` as [`write::read_tree`] returns it.
    pub fn compute(files: &FileSet, on_disk: &BTreeMap<String, (Vec<u8>, u32)>) -> Plan {
        let old = old_index(on_disk);
        let mut wanted: BTreeMap<&str, Wanted<'_>> = files
            .iter()
            .map(|(path, f)| {
                (
                    path,
                    Wanted {
                        bytes: std::borrow::Cow::Borrowed(f.bytes.as_slice()),
                        mode: f.mode,
                        secret: f.secret,
                        kind: kind_name(f.kind),
                    },
                )
            })
            .collect();
        wanted.insert(
            INDEX_JSON,
            Wanted {
                bytes: std::borrow::Cow::Owned(files.index_json()),
                mode: 0o644,
                secret: false,
                kind: None,
            },
        );

        let mut paths: Vec<&str> = wanted.keys().copied().collect();
        paths.extend(on_disk.keys().map(String::as_str));
        paths.sort_unstable();
        paths.dedup();

        let entries = paths
            .into_iter()
            .map(|path| {
                let old_entry = old.get(path);
                // Unknown secrecy on disk is secret: index.json is the only file kubeseed
                // writes without listing it, and it is never secret.
                let old_secret =
                    path != INDEX_JSON && old_entry.and_then(|e| e.secret).unwrap_or(true);
                let old_kind = old_entry.and_then(|e| e.kind.clone());
                match (wanted.get(path), on_disk.get(path)) {
                    (Some(new), None) => Entry {
                        path: path.to_string(),
                        action: Action::Add,
                        secret: new.secret,
                        kind: new.kind.clone(),
                        mode_before: None,
                        mode_after: Some(mode(new.mode)),
                        content_changed: false,
                        diff: None,
                    },
                    (None, Some((_, disk_mode))) => Entry {
                        path: path.to_string(),
                        action: Action::Remove,
                        secret: old_secret,
                        kind: old_kind,
                        mode_before: Some(mode(*disk_mode)),
                        mode_after: None,
                        content_changed: false,
                        diff: None,
                    },
                    (Some(new), Some((disk_bytes, disk_mode))) => {
                        // Secret if either side is: a file that turns public keeps its old
                        // secret content out of the plan, and vice versa.
                        let secret = new.secret || old_secret;
                        let content_changed = disk_bytes.as_slice() != &*new.bytes;
                        let mode_changed = *disk_mode != new.mode;
                        let diff = if content_changed && !secret {
                            text_diff(path, disk_bytes, &new.bytes)
                        } else {
                            None
                        };
                        Entry {
                            path: path.to_string(),
                            action: if content_changed || mode_changed {
                                Action::Change
                            } else {
                                Action::Unchanged
                            },
                            secret,
                            kind: new.kind.clone().or(old_kind),
                            mode_before: Some(mode(*disk_mode)),
                            mode_after: Some(mode(new.mode)),
                            content_changed,
                            diff,
                        }
                    }
                    // Every path came from one of the two maps.
                    (None, None) => Entry {
                        path: path.to_string(),
                        action: Action::Unchanged,
                        secret: true,
                        kind: None,
                        mode_before: None,
                        mode_after: None,
                        content_changed: false,
                        diff: None,
                    },
                }
            })
            .collect();
        Plan { entries }
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for e in &self.entries {
            match e.action {
                Action::Add => s.add += 1,
                Action::Change => s.change += 1,
                Action::Remove => s.remove += 1,
                Action::Unchanged => s.unchanged += 1,
            }
        }
        s
    }

    /// True when `render` would change anything (exit status 2).
    pub fn has_changes(&self) -> bool {
        self.entries.iter().any(|e| e.action != Action::Unchanged)
    }

    /// One line per added, changed or removed path (`+`, `~`, `-`; with `verbose`, unchanged
    /// paths too, indented by two spaces), each changed non-secret text file followed by its
    /// unified diff indented by four spaces, then the summary line.
    pub fn to_text(&self, verbose: bool) -> String {
        let mut out = String::new();
        for e in &self.entries {
            if e.action == Action::Unchanged && !verbose {
                continue;
            }
            let mut notes = Vec::new();
            if e.action == Action::Change && e.mode_before != e.mode_after {
                if let (Some(before), Some(after)) = (&e.mode_before, &e.mode_after) {
                    notes.push(format!("mode {before} -> {after}"));
                }
            }
            if e.secret {
                if e.content_changed {
                    notes.push("secret: content changed, not shown".to_string());
                } else {
                    notes.push("secret".to_string());
                }
            } else if e.content_changed && e.diff.is_none() {
                notes.push("binary content changed".to_string());
            }
            let _ = write!(out, "{} {}", e.action.marker(), e.path);
            if !notes.is_empty() {
                let _ = write!(out, " ({})", notes.join("; "));
            }
            out.push('\n');
            if let Some(diff) = &e.diff {
                for line in diff.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        let s = self.summary();
        let _ = writeln!(
            out,
            "Plan: {} to add, {} to change, {} to remove.",
            s.add, s.change, s.remove
        );
        out
    }

    /// The same as [`Plan::to_text`] as one JSON object: `out`, `changes` (the entries the
    /// text lists, same order) and `summary`. Ends with a newline.
    pub fn to_json(&self, out: &Path, verbose: bool) -> String {
        #[derive(Serialize)]
        struct Json<'a> {
            out: String,
            changes: Vec<&'a Entry>,
            summary: Summary,
        }
        let json = Json {
            out: out.display().to_string(),
            changes: self
                .entries
                .iter()
                .filter(|e| verbose || e.action != Action::Unchanged)
                .collect(),
            summary: self.summary(),
        };
        // Strings, bools, integers and options: serialising them cannot fail.
        let mut text = serde_json::to_string_pretty(&json).unwrap_or_default();
        text.push('\n');
        text
    }
}

fn mode(bits: u32) -> String {
    format!("{bits:04o}")
}

/// A unified diff of two text files (UTF-8, no NUL), or `None` for anything else.
fn text_diff(path: &str, old: &[u8], new: &[u8]) -> Option<String> {
    let old = std::str::from_utf8(old)
        .ok()
        .filter(|s| !s.contains('\0'))?;
    let new = std::str::from_utf8(new)
        .ok()
        .filter(|s| !s.contains('\0'))?;
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(CONTEXT)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fileset::{File, Kind};

    const KEY: &str =
        "-----BEGIN EC PRIVATE KEY-----\nSECRETSECRET\n-----END EC PRIVATE KEY-----\n";
    const KEY2: &str =
        "-----BEGIN EC PRIVATE KEY-----\nOTHERSECRET\n-----END EC PRIVATE KEY-----\n";

    fn set(files: &[(&str, File)]) -> FileSet {
        let mut s = FileSet::new();
        for (p, f) in files {
            s.insert(p, f.clone()).unwrap();
        }
        s
    }

    fn disk(set: &FileSet) -> BTreeMap<String, (Vec<u8>, u32)> {
        let mut t: BTreeMap<String, (Vec<u8>, u32)> = set
            .iter()
            .map(|(p, f)| (p.to_string(), (f.bytes.clone(), f.mode)))
            .collect();
        t.insert(INDEX_JSON.into(), (set.index_json(), 0o644));
        t
    }

    fn base() -> FileSet {
        set(&[
            ("a.yaml", File::public(Kind::Manifest, "one\ntwo\nthree\n")),
            ("pki/ca.key", File::secret(Kind::PrivateKey, KEY)),
            ("gone.yaml", File::public(Kind::Manifest, "bye\n")),
        ])
    }

    #[test]
    fn identical_trees_plan_nothing() {
        let plan = Plan::compute(&base(), &disk(&base()));
        assert!(!plan.has_changes());
        assert_eq!(plan.summary().unchanged, 4);
        assert_eq!(
            plan.to_text(false),
            "Plan: 0 to add, 0 to change, 0 to remove.\n"
        );
    }

    #[test]
    fn lists_adds_changes_removes_and_hides_secrets() {
        let new = set(&[
            ("a.yaml", File::public(Kind::Manifest, "one\nTWO\nthree\n")),
            ("pki/ca.key", File::secret(Kind::PrivateKey, KEY2)),
            ("new.yaml", File::public(Kind::Manifest, "hi\n")),
        ]);
        let plan = Plan::compute(&new, &disk(&base()));
        let text = plan.to_text(true);
        assert!(text.starts_with("~ a.yaml\n    --- a/a.yaml\n    +++ b/a.yaml\n    @@ -1,3 +1,3 @@\n     one\n    -two\n    +TWO\n     three\n"), "{text}");
        assert!(text.contains("\n- gone.yaml\n"), "{text}");
        assert!(text.contains("\n+ new.yaml\n"), "{text}");
        assert!(
            text.contains("\n~ pki/ca.key (secret: content changed, not shown)\n"),
            "{text}"
        );
        assert!(
            text.ends_with("Plan: 1 to add, 3 to change, 1 to remove.\n"),
            "{text}"
        );
        for secret in ["SECRETSECRET", "OTHERSECRET", "PRIVATE KEY"] {
            assert!(!text.contains(secret), "{text}");
            assert!(!plan.to_json(Path::new("out"), true).contains(secret));
        }
    }

    #[test]
    fn a_mode_change_is_a_change() {
        let mut on_disk = disk(&base());
        if let Some(entry) = on_disk.get_mut("a.yaml") {
            entry.1 = 0o600;
        }
        let plan = Plan::compute(&base(), &on_disk);
        assert_eq!(
            plan.to_text(false),
            "~ a.yaml (mode 0600 -> 0644)\nPlan: 0 to add, 1 to change, 0 to remove.\n"
        );
    }

    #[test]
    fn a_file_secret_on_disk_only_is_not_diffed() {
        // The old index says secret; the new render made it public: the old content stays hidden.
        let old = set(&[("x.yaml", File::secret(Kind::Manifest, KEY))]);
        let new = set(&[("x.yaml", File::public(Kind::Manifest, "public\n"))]);
        let plan = Plan::compute(&new, &disk(&old));
        let e = &plan.entries[1];
        assert_eq!(
            (e.path.as_str(), e.secret, &e.diff),
            ("x.yaml", true, &None)
        );
        assert!(!plan.to_text(false).contains("SECRETSECRET"));
    }

    #[test]
    fn a_file_missing_from_the_old_index_counts_as_secret() {
        let mut on_disk = disk(&base());
        on_disk.insert("stray.txt".into(), (KEY.as_bytes().to_vec(), 0o600));
        let plan = Plan::compute(&base(), &on_disk);
        let stray = plan.entries.iter().find(|e| e.path == "stray.txt").unwrap();
        assert_eq!((stray.action, stray.secret), (Action::Remove, true));
    }

    #[test]
    fn binary_changes_have_no_diff() {
        let old = set(&[(
            "b.bin",
            File::public(Kind::RootfsTarball, b"\0\x01".as_slice()),
        )]);
        let new = set(&[(
            "b.bin",
            File::public(Kind::RootfsTarball, b"\0\x02".as_slice()),
        )]);
        let plan = Plan::compute(&new, &disk(&old));
        assert!(plan
            .to_text(false)
            .contains("~ b.bin (binary content changed)\n"));
    }

    #[test]
    fn json_lists_what_text_lists() {
        let new = set(&[("a.yaml", File::public(Kind::Manifest, "x\n"))]);
        let plan = Plan::compute(&new, &disk(&base()));
        let json: serde_json::Value =
            serde_json::from_str(&plan.to_json(Path::new("out"), false)).unwrap();
        let paths: Vec<&str> = json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths, ["a.yaml", "gone.yaml", "index.json", "pki/ca.key"]);
        assert_eq!(json["summary"]["remove"], 2);
        assert!(json["changes"][0]["diff"]
            .as_str()
            .unwrap()
            .contains("+x\n"));
    }
}
