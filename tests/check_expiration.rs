//! `kubeseed check-expiration`, black-box: every certificate of a render is listed once, with
//! the expiry openssl reads from it, the CA that openssl verifies it against, kubeadm's
//! residual time; the CAs in their own table; the token's id and the spec's expiry (never
//! its secret); `--warn-within` exits 2 exactly when something is inside the window.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use common::{kubeseed, openssl, run, Run, Workspace, TEST_SEED_HEX};
use time::{Duration, OffsetDateTime};

/// A spec whose certificates started an hour ago and last 240h (so they end in 239h), whose
/// CAs last ten years, and whose token expires in 60 days (or never).
fn spec(not_before: OffsetDateTime, token_expires: Option<OffsetDateTime>) -> String {
    let expires = token_expires
        .map(|t| format!("expires = \"{}\"", rfc3339(t)))
        .unwrap_or_default();
    common::Spec::new("expiry")
        .not_before(&rfc3339(not_before))
        .pki("cert_validity = \"240h\"\nca_validity = \"87600h\"")
        .token(&expires)
        .pool("workers")
        .build()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn now_seconds() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

struct Rendered {
    ws: Workspace,
    not_before: OffsetDateTime,
    token_expires: Option<OffsetDateTime>,
}

impl Rendered {
    fn new(token_expires: Option<Duration>) -> Rendered {
        let now = now_seconds();
        let not_before = now - Duration::hours(1);
        let token_expires = token_expires.map(|d| now + d);
        let ws = Workspace::new();
        let spec = ws.write_spec(&spec(not_before, token_expires));
        ws.write_seed(TEST_SEED_HEX);
        kubeseed(
            [
                "render",
                spec.to_str().unwrap(),
                "--out",
                ws.out_dir().to_str().unwrap(),
            ],
            &[],
        )
        .success("render");
        Rendered {
            ws,
            not_before,
            token_expires,
        }
    }

    fn out(&self) -> PathBuf {
        self.ws.out_dir()
    }

    fn check(&self, extra: &[&str]) -> Run {
        let out = self.out();
        let mut args = vec!["check-expiration", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        kubeseed(args, &[])
    }

    fn json(&self) -> serde_json::Value {
        let run = self
            .check(&["--output", "json"])
            .success("check-expiration json");
        serde_json::from_str(&run.stdout).expect("check-expiration --output json parses")
    }

    /// `id.secret` as `kubeseed join` prints it.
    fn token(&self) -> String {
        let spec = self.ws.path().join("cluster.toml");
        let run =
            kubeseed(["join", spec.to_str().unwrap(), "--output", "json"], &[]).success("join");
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        v["token"].as_str().unwrap().to_string()
    }
}

fn code(run: &Run) -> i32 {
    run.status.code().expect("exited")
}

/// The certificate file behind a JSON entry: the `.crt` itself, or the kubeconfig's embedded
/// client certificate written out to a temporary file.
fn cert_file(out: &Path, entry: &serde_json::Value, tmp: &Path) -> PathBuf {
    let path = out.join(entry["path"].as_str().unwrap());
    if path.extension().unwrap() == "crt" {
        return path;
    }
    let text = fs::read_to_string(&path).unwrap();
    let data: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("client-certificate-data:"))
        .collect();
    assert_eq!(data.len(), 1, "{}", path.display());
    let pem = base64::engine::general_purpose::STANDARD
        .decode(data[0].trim())
        .unwrap();
    let file = tmp.join(format!("{}.pem", entry["name"].as_str().unwrap()));
    fs::write(&file, pem).unwrap();
    file
}

/// `openssl x509 -enddate -noout`, parsed (`notAfter=Nov 25 00:00:00 2027 GMT`).
fn openssl_enddate(cert: &Path) -> OffsetDateTime {
    let out = run(Command::new(openssl())
        .args(["x509", "-enddate", "-noout", "-in"])
        .arg(cert))
    .success("openssl x509 -enddate");
    let text = out
        .stdout
        .trim()
        .strip_prefix("notAfter=")
        .unwrap_or_else(|| panic!("{}", out.stdout));
    let format = time::macros::format_description!(
        "[month repr:short] [day padding:space] [hour]:[minute]:[second] [year] GMT"
    );
    time::PrimitiveDateTime::parse(text, format)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .assume_utc()
}

fn openssl_verifies(ca: &Path, cert: &Path) -> bool {
    run(Command::new(openssl())
        .args(["verify", "-CAfile"])
        .arg(ca)
        .arg(cert))
    .status
    .success()
}

fn kubeadm_time(t: OffsetDateTime) -> String {
    t.format(time::macros::format_description!(
        "[month repr:short] [day], [year] [hour]:[minute] UTC"
    ))
    .unwrap()
}

/// Rows of the text table that starts with `header` (until the blank line), split on
/// runs of at least three spaces.
fn text_table(stdout: &str, header: &str) -> Vec<Vec<String>> {
    let mut lines = stdout.lines().skip_while(|l| !l.starts_with(header));
    assert!(lines.next().is_some(), "no {header} table in\n{stdout}");
    lines
        .take_while(|l| !l.is_empty())
        .map(|l| {
            l.split("   ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect()
        })
        .collect()
}

#[test]
fn every_certificate_with_openssls_expiry_and_issuer() {
    let r = Rendered::new(Some(Duration::days(60)));
    let out = r.out();
    let json = r.json();
    let text = r.check(&[]).success("check-expiration");
    let tmp = tempfile::tempdir().unwrap();

    let certs = json["certificates"].as_array().unwrap();
    let cas = json["certificate_authorities"].as_array().unwrap();
    let names = |list: &[serde_json::Value]| -> Vec<String> {
        list.iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(cas), ["ca", "etcd-ca", "front-proxy-ca"]);
    assert_eq!(
        names(certs),
        [
            "admin.conf",
            "apiserver",
            "apiserver-etcd-client",
            "apiserver-kubelet-client",
            "controller-manager.conf",
            "etcd-cp-0-peer",
            "etcd-cp-0-server",
            "etcd-healthcheck-client",
            "front-proxy-client",
            "scheduler.conf",
            "super-admin.conf",
        ]
    );
    // Every .crt under pki/ is listed once, CA or not.
    let mut crts: Vec<String> = common::hash_tree(&out)
        .into_keys()
        .filter(|p| p.starts_with("pki/") && p.ends_with(".crt"))
        .collect();
    crts.sort();
    let mut listed: Vec<String> = certs
        .iter()
        .chain(cas)
        .map(|e| e["path"].as_str().unwrap().to_string())
        .filter(|p| p.ends_with(".crt"))
        .collect();
    listed.sort();
    assert_eq!(listed, crts);

    let ca_paths: BTreeMap<&str, PathBuf> = cas
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap(),
                out.join(e["path"].as_str().unwrap()),
            )
        })
        .collect();
    let expected_issuer = |name: &str| -> &str {
        if name.starts_with("etcd-") || name == "apiserver-etcd-client" {
            "etcd-ca"
        } else if name == "front-proxy-client" {
            "front-proxy-ca"
        } else {
            "ca"
        }
    };
    let cert_rows = text_table(&text.stdout, "CERTIFICATE ");
    assert_eq!(cert_rows.len(), certs.len());
    let leaf_end = r.not_before + Duration::hours(240);
    for (entry, row) in certs.iter().zip(&cert_rows) {
        let name = entry["name"].as_str().unwrap();
        let file = cert_file(&out, entry, tmp.path());
        let end = openssl_enddate(&file);
        assert_eq!(end, leaf_end, "{name}");
        let reported = OffsetDateTime::parse(
            entry["expires"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert_eq!(reported, end, "{name}");
        let issuer = entry["issuer"].as_str().unwrap();
        assert_eq!(issuer, expected_issuer(name), "{name}");
        assert!(
            openssl_verifies(&ca_paths[issuer], &file),
            "{name} does not verify against {issuer}"
        );
        // The text row: name, kubeadm-style expiry, residual 9d (239h left), issuer.
        assert_eq!(
            row[..4],
            [
                name.to_string(),
                kubeadm_time(end),
                "9d".to_string(),
                issuer.to_string()
            ],
            "{row:?}"
        );
    }
    let ca_rows = text_table(&text.stdout, "CERTIFICATE AUTHORITY ");
    assert_eq!(ca_rows.len(), 3);
    for (entry, row) in cas.iter().zip(&ca_rows) {
        let file = out.join(entry["path"].as_str().unwrap());
        let end = openssl_enddate(&file);
        assert_eq!(end, r.not_before + Duration::hours(87600));
        assert_eq!(
            row[..3],
            [
                entry["name"].as_str().unwrap().to_string(),
                kubeadm_time(end),
                "9y".to_string()
            ]
        );
        // Self-signed: each CA is its own issuer.
        assert_eq!(entry["issuer"], entry["name"]);
    }

    // The token: the id join prints, the spec's expiry, never the secret.
    let token = r.token();
    let (id, secret) = token.split_once('.').unwrap();
    let token_rows = text_table(&text.stdout, "BOOTSTRAP TOKEN ");
    let expires = r.token_expires.unwrap();
    assert_eq!(
        token_rows,
        [vec![
            id.to_string(),
            kubeadm_time(expires),
            "59d".to_string()
        ]]
    );
    assert_eq!(json["bootstrap_token"]["id"], id);
    assert_eq!(json["bootstrap_token"]["expires"], rfc3339(expires));
    for stream in [&text.stdout, &text.stderr, &json.to_string()] {
        assert!(!stream.contains(secret), "the token secret was printed");
        assert!(!stream.contains("PRIVATE KEY"));
    }
}

#[test]
fn warn_within_exits_2_inside_the_window_only() {
    // Leaves end in 239h: inside 30d and 10d, outside 9d. The token (60d) and CAs (10y)
    // are outside every one of these windows.
    let r = Rendered::new(Some(Duration::days(60)));
    let no_window = r.check(&[]);
    assert_eq!(code(&no_window), 0, "{}", no_window.stderr);
    for (window, expect) in [("30d", 2), ("10d", 2), ("240h", 2), ("9d", 0), ("216h", 0)] {
        let run = r.check(&["--warn-within", window]);
        assert_eq!(code(&run), expect, "--warn-within {window}: {}", run.stderr);
        if expect == 2 {
            assert!(run.stderr.contains("apiserver"), "{}", run.stderr);
            assert!(!run.stderr.contains("bootstrap-token"), "{}", run.stderr);
        } else {
            assert!(run.stderr.is_empty(), "{}", run.stderr);
        }
        let json = r.check(&["--warn-within", window, "--output", "json"]);
        assert_eq!(code(&json), expect);
        let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        let inside = v["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["within_window"] == true)
            .count();
        assert_eq!(inside > 0, expect == 2, "{window}");
        assert_eq!(v["expiring"].as_array().unwrap().len(), inside);
    }
    // A malformed window is a usage error.
    let run = r.check(&["--warn-within", "30x"]);
    assert_eq!(code(&run), 1);
    assert!(run.stderr.contains("--warn-within"), "{}", run.stderr);
}

#[test]
fn a_token_inside_the_window_or_never_expiring() {
    let soon = Rendered::new(Some(Duration::hours(5)));
    let run = soon.check(&["--warn-within", "9d"]);
    assert_eq!(code(&run), 2, "{}", run.stderr);
    assert!(run.stderr.contains("bootstrap-token-"), "{}", run.stderr);
    assert!(!run.stderr.contains("apiserver"), "{}", run.stderr);

    let never = Rendered::new(None);
    let text = never.check(&["--warn-within", "9d"]);
    assert_eq!(code(&text), 0, "{}", text.stderr);
    let id = never.token().split_once('.').unwrap().0.to_string();
    assert_eq!(
        text_table(&text.stdout, "BOOTSTRAP TOKEN "),
        [vec![id, "never".to_string(), "-".to_string()]]
    );
    assert_eq!(
        never.json()["bootstrap_token"]["expires"],
        serde_json::Value::Null
    );
}

#[test]
fn a_directory_without_certificates_is_an_error() {
    let ws = Workspace::new();
    let missing = ws.path().join("missing");
    let run = kubeseed(["check-expiration", missing.to_str().unwrap()], &[]);
    assert_eq!(code(&run), 1);
    assert!(
        run.stderr.contains(missing.to_str().unwrap()),
        "{}",
        run.stderr
    );

    let empty = ws.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let run = kubeseed(["check-expiration", empty.to_str().unwrap()], &[]);
    assert_eq!(code(&run), 1);
    assert!(
        run.stderr.contains("holds no certificate"),
        "{}",
        run.stderr
    );

    fs::create_dir(empty.join("pki")).unwrap();
    fs::write(empty.join("pki/ca.crt"), "not a certificate\n").unwrap();
    let run = kubeseed(["check-expiration", empty.to_str().unwrap()], &[]);
    assert_eq!(code(&run), 1);
    assert!(run.stderr.contains("pki/ca.crt"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

/// It never follows a link where it reads, and ignores what it does not read: a link among
/// the node bundles is `verify`'s business.
#[test]
fn links_where_it_reads_are_refused_elsewhere_ignored() {
    let r = Rendered::new(None);
    let out = r.out();
    std::os::unix::fs::symlink("/etc/hostname", out.join("nodes/cp-0/elsewhere.crt")).unwrap();
    let before = r.json();
    assert!(before["certificates"].as_array().unwrap().len() > 5);

    std::os::unix::fs::symlink(out.join("pki/ca.crt"), out.join("pki/linked.crt")).unwrap();
    let run = r.check(&[]);
    assert_eq!(code(&run), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("pki/linked.crt") && run.stderr.contains("symbolic link"),
        "{}",
        run.stderr
    );
}
