//! `kubeseed check-expiration`: when each certificate and the bootstrap token of a rendered
//! directory expire, as `kubeadm certs check-expiration` shows it.
//!
//! It reads only public material and the bootstrap token's id and expiry: every `.crt` under
//! `pki/`, the `client-certificate-data` of each `kubeconfig/*.conf` (never the key beside
//! it), and the `token-id` and `expiration` of `manifests/bootstrap-token-<id>.yaml` (never
//! its `token-secret`), read with the shared reader of a rendered directory
//! ([`crate::tree`]), which opens nothing else. Node bundles hold copies of the same
//! certificates and are not listed. Unlike rendering, this reads the clock: the caller
//! passes `now`.

use std::path::Path;

use base64::Engine as _;
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use x509_parser::extensions::ParsedExtension;
use x509_parser::pem::Pem;

use crate::cli::Output;
use crate::error::ExpiryError;
use crate::rfc3339;

fn error(path: &Path, problem: impl Into<String>, hint: &str) -> ExpiryError {
    ExpiryError {
        path: path.to_path_buf(),
        problem: problem.into(),
        hint: hint.to_string(),
    }
}

/// One certificate: where it is, who it is, who issued it, when it ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cert {
    /// `pki/` path without `.crt`, `/` as `-` (`apiserver`, `etcd-ca`,
    /// `etcd-cp-0-server`), or the kubeconfig's file name (`admin.conf`).
    pub name: String,
    /// Relative to the directory.
    pub path: String,
    pub subject: String,
    pub not_after: OffsetDateTime,
    /// The name of the CA in `pki/` whose subject is this certificate's issuer and whose
    /// subject key id is its authority key id; `None` when no CA there matches.
    pub issuer: Option<String>,
    pub is_ca: bool,
    issuer_raw: Vec<u8>,
    subject_raw: Vec<u8>,
    authority_key_id: Option<Vec<u8>>,
    subject_key_id: Option<Vec<u8>>,
}

/// The bootstrap token's id (public: it names the Secret) and expiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub id: String,
    /// `None`: the Secret has no `expiration`, the token never expires.
    pub expires: Option<OffsetDateTime>,
}

/// Everything `check-expiration` reports, sorted by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub certificates: Vec<Cert>,
    pub authorities: Vec<Cert>,
    pub token: Option<Token>,
}

/// How the output names the token Secret's file when there is none.
const TOKEN_SECRET_PATH: &str = "manifests/bootstrap-token-<id>.yaml";
const NOT_OURS: &str = "pass a directory written by `kubeseed render`";

/// `kubeseed check-expiration`: the tables (or JSON) on stdout; with a window, what expires
/// inside it on stderr and `Ok(true)`.
pub fn run(
    dir: &Path,
    window: Option<Duration>,
    output: Output,
) -> Result<bool, crate::error::Error> {
    let report = inspect(dir)?;
    let now = OffsetDateTime::now_utc();
    let text = match output {
        Output::Text => report.to_text(now),
        Output::Json => report.to_json(now, window),
    };
    super::print(text.as_bytes())?;
    let Some(window) = window else {
        return Ok(false);
    };
    let expiring = report.expiring(now, window);
    if !expiring.is_empty() {
        super::warn(&format!(
            "expiring within {} or expired: {}",
            residual(window),
            expiring.join(", ")
        ));
    }
    Ok(!expiring.is_empty())
}

/// The files `check-expiration` reads: certificates under `pki/`, the kubeconfigs and the
/// token Secret. Never a private key.
fn wanted(path: &str) -> bool {
    let kubeconfig = path
        .strip_prefix("kubeconfig/")
        .is_some_and(|name| name.ends_with(".conf") && !name.contains('/'));
    (path.starts_with("pki/") && path.ends_with(".crt"))
        || kubeconfig
        || crate::render::manifests::secret_token_id(path).is_some()
}

/// Reads the certificates and the token of a rendered directory.
pub fn inspect(dir: &Path) -> Result<Report, ExpiryError> {
    let tree = crate::tree::read(dir, &wanted)
        .map_err(|f| error(dir, format!("{}", f.problem), NOT_OURS))?;
    // What could not be read where this command looks (elsewhere, it is `verify`'s business).
    let ours = ["./", "pki/", "kubeconfig/", "manifests/"];
    if let Some(f) = tree
        .findings
        .iter()
        .find(|f| ours.iter().any(|p| f.path.starts_with(p)))
    {
        return Err(error(&dir.join(&f.path), f.problem.to_string(), NOT_OURS));
    }
    let mut all = Vec::new();
    for (rel, (bytes, _)) in tree.files.range("pki/".to_string()..) {
        let Some(stem) = rel
            .strip_prefix("pki/")
            .and_then(|r| r.strip_suffix(".crt"))
        else {
            break;
        };
        let name = stem.replace('/', "-");
        all.push(parse_cert(&dir.join(rel), bytes, name, rel.clone())?);
    }
    if all.is_empty() {
        return Err(error(
            &dir.join("pki"),
            "holds no certificate (*.crt)",
            "pass the output directory of `kubeseed render`, the one with pki/ and kubeconfig/",
        ));
    }
    for (rel, (bytes, _)) in &tree.files {
        let Some(file_name) = rel.strip_prefix("kubeconfig/") else {
            continue;
        };
        let path = dir.join(rel);
        let text = std::str::from_utf8(bytes)
            .map_err(|_| error(&path, "it is not UTF-8 text", NOT_OURS))?;
        let embedded = client_certificates(&path, text)?;
        let several = embedded.len() > 1;
        for (i, pem) in embedded.iter().enumerate() {
            let name = if several {
                format!("{file_name}#{}", i + 1)
            } else {
                file_name.to_string()
            };
            all.push(parse_cert(&path, pem, name, rel.clone())?);
        }
    }

    let (mut authorities, mut certificates): (Vec<Cert>, Vec<Cert>) =
        all.into_iter().partition(|c| c.is_ca);
    authorities.sort_by(|a, b| a.name.cmp(&b.name));
    certificates.sort_by(|a, b| a.name.cmp(&b.name));
    let issuers: Vec<(String, Vec<u8>, Option<Vec<u8>>)> = authorities
        .iter()
        .map(|ca| {
            (
                ca.name.clone(),
                ca.subject_raw.clone(),
                ca.subject_key_id.clone(),
            )
        })
        .collect();
    for cert in certificates.iter_mut().chain(authorities.iter_mut()) {
        cert.issuer = issuers
            .iter()
            .find(|(_, subject, ski)| {
                *subject == cert.issuer_raw
                    && match (&cert.authority_key_id, ski) {
                        (Some(aki), Some(ski)) => aki == ski,
                        _ => true,
                    }
            })
            .map(|(name, _, _)| name.clone());
    }
    // The token Secret's file (`manifests/bootstrap-token-<id>.yaml`), the first by name if
    // a hand-edited directory has several.
    let token = match tree
        .files
        .iter()
        .find(|(rel, _)| crate::render::manifests::secret_token_id(rel).is_some())
    {
        Some((rel, (bytes, _))) => Some(read_token(&dir.join(rel), bytes)?),
        None => None,
    };
    Ok(Report {
        certificates,
        authorities,
        token,
    })
}

/// The first certificate of a PEM file.
fn parse_cert(path: &Path, pem: &[u8], name: String, rel: String) -> Result<Cert, ExpiryError> {
    let bad = |what: String| {
        error(
            path,
            what,
            "re-render the directory; kubeseed writes PEM certificates",
        )
    };
    let pem = Pem::iter_from_buffer(pem)
        .next()
        .ok_or_else(|| bad("holds no PEM block".into()))?
        .map_err(|e| bad(format!("is not valid PEM: {e}")))?;
    if pem.label != "CERTIFICATE" {
        return Err(bad(format!(
            "holds a PEM {:?} block, not a CERTIFICATE",
            pem.label
        )));
    }
    let cert = pem
        .parse_x509()
        .map_err(|e| bad(format!("is not a valid X.509 certificate: {e}")))?;
    let not_after = OffsetDateTime::from_unix_timestamp(cert.validity().not_after.timestamp())
        .map_err(|e| bad(format!("has an expiry out of range: {e}")))?;
    let mut authority_key_id = None;
    let mut subject_key_id = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                authority_key_id = aki.key_identifier.as_ref().map(|k| k.0.to_vec());
            }
            ParsedExtension::SubjectKeyIdentifier(ski) => subject_key_id = Some(ski.0.to_vec()),
            _ => {}
        }
    }
    Ok(Cert {
        name,
        path: rel,
        subject: cert.subject().to_string(),
        not_after,
        issuer: None,
        is_ca: cert.is_ca(),
        issuer_raw: cert.issuer().as_raw().to_vec(),
        subject_raw: cert.subject().as_raw().to_vec(),
        authority_key_id,
        subject_key_id,
    })
}

/// The decoded `client-certificate-data` values of a kubeconfig. Reads no other key.
fn client_certificates(path: &Path, text: &str) -> Result<Vec<Vec<u8>>, ExpiryError> {
    let mut certs = Vec::new();
    for line in text.lines() {
        let Some(value) = line.trim().strip_prefix("client-certificate-data:") else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        let pem = base64::engine::general_purpose::STANDARD
            .decode(value)
            .map_err(|_| {
                error(
                    path,
                    "client-certificate-data is not base64",
                    "re-render the directory",
                )
            })?;
        certs.push(pem);
    }
    Ok(certs)
}

/// `token-id` and `expiration` from the Secret's `data` (base64), if the file exists. The
/// `token-secret` line is never decoded.
fn read_token(path: &Path, bytes: &[u8]) -> Result<Token, ExpiryError> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| error(path, "it is not UTF-8 text", NOT_OURS))?;
    let hint = "re-render the directory; kubeseed writes the token Secret's values in data";
    let decode = |key: &str, value: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(value.trim().trim_matches('"'))
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| error(path, format!("data.{key} is not base64 text"), hint))
    };
    let mut in_data = false;
    let mut id = None;
    let mut expires = None;
    for line in text.lines() {
        if !line.starts_with(' ') {
            in_data = line.trim_end() == "data:";
            continue;
        }
        if !in_data {
            continue;
        }
        if let Some(v) = line.trim().strip_prefix("token-id:") {
            id = Some(decode("token-id", v)?);
        } else if let Some(v) = line.trim().strip_prefix("expiration:") {
            let text = decode("expiration", v)?;
            let t = OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                .map_err(|_| error(path, "data.expiration is not an RFC 3339 time", hint))?;
            expires = Some(t);
        }
    }
    let id = id.ok_or_else(|| error(path, "has no data.token-id", hint))?;
    // The id is public (it names the Secret), but only print what has its shape.
    if id.len() != 6
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(error(
            path,
            "data.token-id is not a token id ([a-z0-9]{6})",
            hint,
        ));
    }
    Ok(Token { id, expires })
}

/// Residual time as kubeadm prints it (apimachinery's `ShortHumanDuration`): `45s`, `59m`,
/// `23h`, `364d`, `9y`; `expired` where kubeadm prints `<invalid>`.
pub fn residual(d: Duration) -> String {
    let seconds = d.whole_seconds();
    if seconds < -1 {
        "expired".to_string()
    } else if seconds < 0 {
        "0s".to_string()
    } else if seconds < 60 {
        format!("{seconds}s")
    } else if d.whole_minutes() < 60 {
        format!("{}m", d.whole_minutes())
    } else if d.whole_hours() < 24 {
        format!("{}h", d.whole_hours())
    } else if d.whole_hours() < 24 * 365 {
        format!("{}d", d.whole_hours() / 24)
    } else {
        format!("{}y", d.whole_hours() / 24 / 365)
    }
}

/// `Jan 02, 2027 15:04 UTC`, kubeadm's layout, always in UTC.
pub fn kubeadm_time(t: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[month repr:short] [day], [year] [hour]:[minute] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(format)
        .unwrap_or_else(|_| t.to_string())
}

/// Inside the window: expires at or before `now + window` (already expired included).
fn within(not_after: OffsetDateTime, now: OffsetDateTime, window: Duration) -> bool {
    not_after - now <= window
}

impl Report {
    /// The names of everything that expires within `window` of `now` (or has expired):
    /// certificates, CAs and the token (`bootstrap-token-<id>`).
    pub fn expiring(&self, now: OffsetDateTime, window: Duration) -> Vec<String> {
        let mut names: Vec<String> = self
            .certificates
            .iter()
            .chain(&self.authorities)
            .filter(|c| within(c.not_after, now, window))
            .map(|c| c.name.clone())
            .collect();
        if let Some(Token {
            id,
            expires: Some(t),
        }) = &self.token
        {
            if within(*t, now, window) {
                names.push(format!("bootstrap-token-{id}"));
            }
        }
        names
    }

    /// Three tables: certificates, certificate authorities, the bootstrap token.
    pub fn to_text(&self, now: OffsetDateTime) -> String {
        let mut out = String::new();
        let rows: Vec<Vec<String>> = self
            .certificates
            .iter()
            .map(|c| {
                vec![
                    c.name.clone(),
                    kubeadm_time(c.not_after),
                    residual(c.not_after - now),
                    c.issuer.clone().unwrap_or_else(|| "-".into()),
                    c.subject.clone(),
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                "CERTIFICATE",
                "EXPIRES",
                "RESIDUAL TIME",
                "CERTIFICATE AUTHORITY",
                "SUBJECT",
            ],
            &rows,
        );
        out.push('\n');
        let rows: Vec<Vec<String>> = self
            .authorities
            .iter()
            .map(|c| {
                vec![
                    c.name.clone(),
                    kubeadm_time(c.not_after),
                    residual(c.not_after - now),
                    c.subject.clone(),
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                "CERTIFICATE AUTHORITY",
                "EXPIRES",
                "RESIDUAL TIME",
                "SUBJECT",
            ],
            &rows,
        );
        out.push('\n');
        match &self.token {
            Some(token) => {
                let (expires, left) = match token.expires {
                    Some(t) => (kubeadm_time(t), residual(t - now)),
                    None => ("never".to_string(), "-".to_string()),
                };
                table(
                    &mut out,
                    &["BOOTSTRAP TOKEN", "EXPIRES", "RESIDUAL TIME"],
                    &[vec![token.id.clone(), expires, left]],
                );
            }
            None => out.push_str(&format!(
                "no bootstrap token ({TOKEN_SECRET_PATH} is missing)\n"
            )),
        }
        out
    }

    /// The same as one JSON object; times in RFC 3339 UTC, residual times in seconds and as
    /// text. `within_window` is `null` without a window. Ends with a newline.
    pub fn to_json(&self, now: OffsetDateTime, window: Option<Duration>) -> String {
        #[derive(Serialize)]
        struct Json {
            checked_at: String,
            warn_within_seconds: Option<i64>,
            certificates: Vec<CertJson>,
            certificate_authorities: Vec<CertJson>,
            bootstrap_token: Option<TokenJson>,
            expiring: Option<Vec<String>>,
        }
        #[derive(Serialize)]
        struct CertJson {
            name: String,
            path: String,
            subject: String,
            issuer: Option<String>,
            expires: String,
            residual: String,
            residual_seconds: i64,
            within_window: Option<bool>,
        }
        #[derive(Serialize)]
        struct TokenJson {
            id: String,
            expires: Option<String>,
            residual: Option<String>,
            residual_seconds: Option<i64>,
            within_window: Option<bool>,
        }
        let cert = |c: &Cert| CertJson {
            name: c.name.clone(),
            path: c.path.clone(),
            subject: c.subject.clone(),
            issuer: c.issuer.clone(),
            expires: rfc3339::format(c.not_after),
            residual: residual(c.not_after - now),
            residual_seconds: (c.not_after - now).whole_seconds(),
            within_window: window.map(|w| within(c.not_after, now, w)),
        };
        let json = Json {
            checked_at: rfc3339::format(now),
            warn_within_seconds: window.map(|w| w.whole_seconds()),
            certificates: self.certificates.iter().map(cert).collect(),
            certificate_authorities: self.authorities.iter().map(cert).collect(),
            bootstrap_token: self.token.as_ref().map(|t| TokenJson {
                id: t.id.clone(),
                expires: t.expires.map(rfc3339::format),
                residual: t.expires.map(|e| residual(e - now)),
                residual_seconds: t.expires.map(|e| (e - now).whole_seconds()),
                within_window: window.map(|w| t.expires.is_some_and(|e| within(e, now, w))),
            }),
            expiring: window.map(|w| self.expiring(now, w)),
        };
        // Strings, integers, bools and options: serialising them cannot fail.
        let mut text = serde_json::to_string_pretty(&json).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// Left-aligned columns three spaces apart, like kubeadm's tabwriter output.
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                text.push_str("   ");
            }
            text.push_str(cell);
            let pad = widths[i].saturating_sub(cell.chars().count());
            text.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn residual_is_kubeadm_short_human_duration() {
        for (seconds, text) in [
            (-5, "expired"),
            (-1, "0s"),
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (3599, "59m"),
            (3600, "1h"),
            (86_399, "23h"),
            (86_400, "1d"),
            (364 * 86_400 + 86_399, "364d"),
            (365 * 86_400, "1y"),
            (10 * 365 * 86_400 - 1, "9y"),
        ] {
            assert_eq!(residual(Duration::seconds(seconds)), text, "{seconds}s");
        }
    }

    #[test]
    fn kubeadm_time_layout() {
        assert_eq!(
            kubeadm_time(datetime!(2027-01-02 15:04:59 UTC)),
            "Jan 02, 2027 15:04 UTC"
        );
        assert_eq!(
            kubeadm_time(datetime!(2027-01-02 15:04 +02:00)),
            "Jan 02, 2027 13:04 UTC"
        );
    }

    #[test]
    fn table_aligns_columns() {
        let mut out = String::new();
        table(
            &mut out,
            &["A", "LONG HEADER", "C"],
            &[vec!["xyz".into(), "1".into(), "end".into()]],
        );
        assert_eq!(out, "A     LONG HEADER   C\nxyz   1             end\n");
    }

    #[test]
    fn token_reads_id_and_expiration_not_the_secret() {
        let path = Path::new("t.yaml");
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let text = format!(
            "apiVersion: v1\nkind: Secret\ndata:\n  expiration: {}\n  token-id: {}\n  token-secret: not-base64!\n",
            b64("2026-01-02T00:00:00Z"),
            b64("abcdef")
        );
        assert_eq!(
            read_token(path, text.as_bytes()).unwrap(),
            Token {
                id: "abcdef".into(),
                expires: Some(datetime!(2026-01-02 00:00 UTC))
            }
        );
        let text = format!("data:\n  token-id: {}\n", b64("abcdef"));
        assert_eq!(read_token(path, text.as_bytes()).unwrap().expires, None);
        let text = format!("data:\n  token-id: {}\n", b64("ABC"));
        assert!(read_token(path, text.as_bytes()).is_err());
        assert!(read_token(path, b"\xff").is_err());
    }
}
