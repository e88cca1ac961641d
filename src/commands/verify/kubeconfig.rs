//! The kubeconfigs of a rendered directory, read for verify's checks: server, CA data and
//! credentials, decoded. What cannot be read is reported here, once, and the rest of verify
//! sees only what could. Client keys and tokens are held in [`Zeroizing`] buffers.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use zeroize::Zeroizing;

use super::{yaml, Report, Tree};

/// The fields of one kubeconfig that verify checks.
pub struct Kubeconfig {
    pub path: String,
    pub server: Option<String>,
    /// The decoded `certificate-authority-data` (PEM).
    pub ca: Option<Vec<u8>>,
    pub client_cert: Option<Vec<u8>>,
    pub client_key: Option<Zeroizing<Vec<u8>>>,
    pub token: Option<Zeroizing<String>>,
}

/// Reads `kubeconfig/*.conf`; what cannot be read is reported here.
pub fn kubeconfigs(tree: &Tree, report: &mut Report) -> Vec<Kubeconfig> {
    let mut out = Vec::new();
    for (path, (bytes, _)) in &tree.files {
        if !(path.starts_with("kubeconfig/") && path.ends_with(".conf")) {
            continue;
        }
        if let Some(kc) = read_kubeconfig(path, bytes, report) {
            out.push(kc);
        }
    }
    out
}

fn read_kubeconfig(path: &str, bytes: &[u8], report: &mut Report) -> Option<Kubeconfig> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        report.error(path, "not UTF-8, so not a kubeconfig");
        return None;
    };
    let mut field = |key: &str, required: bool| match yaml::scalar(text, key) {
        Ok(v) => Some(Zeroizing::new(v)),
        Err(e) => {
            if required || e.contains("several") {
                report.error(path, e);
            }
            None
        }
    };
    let server = field("server", true).map(|s| s.to_string());
    let ca_b64 = field("certificate-authority-data", true);
    let cert_b64 = field("client-certificate-data", false);
    let key_b64 = field("client-key-data", false);
    let token = field("token", false);
    let mut decode = |name: &str, v: Option<Zeroizing<String>>| -> Option<Zeroizing<Vec<u8>>> {
        let v = v?;
        match STANDARD.decode(v.as_bytes()) {
            Ok(b) => Some(Zeroizing::new(b)),
            Err(_) => {
                report.error(path, format!("{name} is not base64"));
                None
            }
        }
    };
    let ca = decode("certificate-authority-data", ca_b64).map(|b| b.to_vec());
    let client_cert = decode("client-certificate-data", cert_b64).map(|b| b.to_vec());
    let client_key = decode("client-key-data", key_b64);
    if client_cert.is_none() && token.is_none() {
        report.error(
            path,
            "no credentials: neither client-certificate-data nor token",
        );
    }
    Some(Kubeconfig {
        path: path.to_string(),
        server,
        ca,
        client_cert,
        client_key,
        token,
    })
}
