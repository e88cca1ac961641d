//! The one spec builder of the black-box tests: the smallest valid `cluster.toml` (one
//! controller on loopback, a fixed `not_before`), with what a test varies said by name.
//!
//! ```ignore
//! let toml = Spec::new("plan").controllers(3).pki("extra_sans = []").pool("workers").build();
//! ```

/// A `cluster.toml` under construction. Lines are added under their table, in call order.
#[derive(Clone, Debug)]
pub struct Spec {
    version: u32,
    name: String,
    api_server: String,
    kubernetes_version: String,
    cluster: Vec<String>,
    controllers: Vec<(String, String)>,
    not_before: String,
    pki: Vec<String>,
    token: Vec<String>,
    security: Vec<String>,
    tables: Vec<String>,
}

impl Spec {
    /// Cluster `name`, API server `https://127.0.0.10:6443`, Kubernetes v1.34.2, controller
    /// `cp-0` at 127.0.0.11, `not_before` 2026-01-01, the token's defaults.
    pub fn new(name: &str) -> Spec {
        Spec {
            version: 1,
            name: name.to_string(),
            api_server: "https://127.0.0.10:6443".to_string(),
            kubernetes_version: "v1.34.2".to_string(),
            cluster: Vec::new(),
            controllers: vec![("cp-0".to_string(), "127.0.0.11".to_string())],
            not_before: "2026-01-01T00:00:00Z".to_string(),
            pki: Vec::new(),
            token: Vec::new(),
            security: Vec::new(),
            tables: Vec::new(),
        }
    }

    /// The spec `version` (1 unless said).
    pub fn version(mut self, version: u32) -> Spec {
        self.version = version;
        self
    }

    pub fn api_server(mut self, url: &str) -> Spec {
        self.api_server = url.to_string();
        self
    }

    pub fn kubernetes_version(mut self, version: &str) -> Spec {
        self.kubernetes_version = version.to_string();
        self
    }

    /// A line under `[cluster]`, e.g. `service_cidr = "10.32.0.0/16"`.
    pub fn cluster(mut self, line: &str) -> Spec {
        self.cluster.push(line.to_string());
        self
    }

    /// `n` controllers `cp-0`… at 127.0.0.11…
    pub fn controllers(self, n: usize) -> Spec {
        let list: Vec<(String, String)> = (0..n)
            .map(|i| (format!("cp-{i}"), format!("127.0.0.{}", 11 + i)))
            .collect();
        self.controller_list(&list)
    }

    /// Exactly these controllers (name, address), in this order.
    pub fn controller_list<S: AsRef<str>>(mut self, list: &[(S, S)]) -> Spec {
        self.controllers = list
            .iter()
            .map(|(n, a)| (n.as_ref().to_string(), a.as_ref().to_string()))
            .collect();
        self
    }

    pub fn not_before(mut self, rfc3339: &str) -> Spec {
        self.not_before = rfc3339.to_string();
        self
    }

    /// Lines under `[pki]` (after `not_before`), e.g. `algorithm = "rsa-2048"`.
    pub fn pki(mut self, lines: &str) -> Spec {
        self.pki.push(lines.to_string());
        self
    }

    /// Lines under `[bootstrap_token]`, e.g. `expires = "2026-01-02T00:00:00Z"`.
    pub fn token(mut self, lines: &str) -> Spec {
        self.token.push(lines.to_string());
        self
    }

    /// Lines under `[security]`.
    pub fn security(mut self, lines: &str) -> Spec {
        self.security.push(lines.to_string());
        self
    }

    /// A node pool with the defaults.
    pub fn pool(self, name: &str) -> Spec {
        self.table(&format!("[[node_pools]]\nname = \"{name}\""))
    }

    /// Whole tables after the others, as written (`[pki.generations]`, `[[node_pools]]`, …).
    pub fn table(mut self, text: &str) -> Spec {
        self.tables.push(text.to_string());
        self
    }

    pub fn build(&self) -> String {
        let mut s = format!(
            "version = {}\n[cluster]\nname = \"{}\"\napi_server = \"{}\"\nkubernetes_version = \"{}\"\n",
            self.version, self.name, self.api_server, self.kubernetes_version
        );
        let lines = |s: &mut String, list: &[String]| {
            for l in list {
                s.push_str(l.trim_end_matches('\n'));
                s.push('\n');
            }
        };
        lines(&mut s, &self.cluster);
        for (name, address) in &self.controllers {
            s.push_str(&format!(
                "[[controllers]]\nname = \"{name}\"\naddress = \"{address}\"\n"
            ));
        }
        s.push_str(&format!("[pki]\nnot_before = \"{}\"\n", self.not_before));
        lines(&mut s, &self.pki);
        s.push_str("[bootstrap_token]\n");
        lines(&mut s, &self.token);
        if !self.security.is_empty() {
            s.push_str("[security]\n");
            lines(&mut s, &self.security);
        }
        lines(&mut s, &self.tables);
        s
    }
}
