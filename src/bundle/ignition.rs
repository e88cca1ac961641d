//! `ignition.json`: the node's files as an Ignition config, spec 3.3.0.

use serde::Serialize;

use super::{BundleError, HostFile, Tree, DIR_MODE, IGNITION_VERSION};

/// An Ignition config (spec [`IGNITION_VERSION`]): `storage.directories` for every parent
/// directory (mode 0755, root; for one that exists Ignition only sets mode and owner),
/// `storage.files` for every file (`overwrite: true`, decimal `mode`, owner root, contents as
/// a `data:;base64,` URL), sorted by path, and `systemd.units` enabling every unit that has a
/// unit file or drop-in in the tree. Pretty-printed with a trailing newline.
pub fn ignition(files: &[HostFile]) -> Result<Vec<u8>, BundleError> {
    Ok(Tree::new(files)?.ignition())
}

impl Tree<'_> {
    /// [`ignition`].
    pub(super) fn ignition(&self) -> Vec<u8> {
        // Field order here is key order in the output.
        #[derive(Serialize)]
        struct Config<'a> {
            ignition: Version,
            storage: Storage<'a>,
            #[serde(skip_serializing_if = "Option::is_none")]
            systemd: Option<Systemd<'a>>,
        }
        #[derive(Serialize)]
        struct Version {
            version: &'static str,
        }
        #[derive(Serialize)]
        struct Storage<'a> {
            directories: Vec<Directory<'a>>,
            files: Vec<IgnFile<'a>>,
        }
        #[derive(Serialize)]
        struct Directory<'a> {
            path: &'a str,
            mode: u32,
            user: Owner,
            group: Owner,
        }
        #[derive(Serialize)]
        struct IgnFile<'a> {
            path: &'a str,
            mode: u32,
            overwrite: bool,
            user: Owner,
            group: Owner,
            contents: Contents,
        }
        #[derive(Serialize)]
        struct Owner {
            name: &'static str,
        }
        #[derive(Serialize)]
        struct Contents {
            source: String,
        }
        #[derive(Serialize)]
        struct Systemd<'a> {
            units: Vec<Unit<'a>>,
        }
        #[derive(Serialize)]
        struct Unit<'a> {
            name: &'a str,
            enabled: bool,
        }
        const ROOT: Owner = Owner { name: "root" };

        let tree = self;
        let units = tree.systemd_units();
        let config = Config {
            ignition: Version {
                version: IGNITION_VERSION,
            },
            storage: Storage {
                directories: tree
                    .dirs
                    .iter()
                    .map(|path| Directory {
                        path,
                        mode: DIR_MODE,
                        user: ROOT,
                        group: ROOT,
                    })
                    .collect(),
                files: tree
                    .files_base64()
                    .map(|(path, f, content)| IgnFile {
                        path,
                        mode: f.mode,
                        overwrite: true,
                        user: ROOT,
                        group: ROOT,
                        contents: Contents {
                            source: format!("data:;base64,{content}"),
                        },
                    })
                    .collect(),
            },
            systemd: (!units.is_empty()).then(|| Systemd {
                units: units
                    .into_iter()
                    .map(|name| Unit {
                        name,
                        enabled: true,
                    })
                    .collect(),
            }),
        };
        // Strings, integers and bools only: serialising into a Vec cannot fail.
        let mut out = serde_json::to_vec_pretty(&config).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{host, sample};
    use super::*;

    #[test]
    fn ignition_exact_bytes() {
        let got = String::from_utf8(ignition(&sample()).unwrap()).unwrap();
        let dir = |p: &str| {
            format!(
                r#"      {{
        "path": "{p}",
        "mode": 493,
        "user": {{
          "name": "root"
        }},
        "group": {{
          "name": "root"
        }}
      }}"#
            )
        };
        let file = |p: &str, mode: u32, data: &str| {
            format!(
                r#"      {{
        "path": "{p}",
        "mode": {mode},
        "overwrite": true,
        "user": {{
          "name": "root"
        }},
        "group": {{
          "name": "root"
        }},
        "contents": {{
          "source": "data:;base64,{data}"
        }}
      }}"#
            )
        };
        let dirs = [
            "/etc",
            "/etc/kubernetes",
            "/etc/kubernetes/pki",
            "/etc/systemd",
            "/etc/systemd/system",
            "/etc/systemd/system/kubelet.service.d",
        ]
        .map(dir)
        .join(",\n");
        let files = [
            file("/etc/kubernetes/bootstrap-kubelet.conf", 384, "dG9rCg=="),
            file("/etc/kubernetes/pki/ca.crt", 420, "Y2VydAo="),
            file(
                "/etc/systemd/system/kubelet.service.d/10-kubeseed.conf",
                420,
                "W1NlcnZpY2VdCg==",
            ),
        ]
        .join(",\n");
        let expected = format!(
            r#"{{
  "ignition": {{
    "version": "3.3.0"
  }},
  "storage": {{
    "directories": [
{dirs}
    ],
    "files": [
{files}
    ]
  }},
  "systemd": {{
    "units": [
      {{
        "name": "kubelet.service",
        "enabled": true
      }}
    ]
  }}
}}
"#
        );
        assert_eq!(got, expected);
    }

    #[test]
    fn ignition_without_units_has_no_systemd_section() {
        let got = ignition(&[host("/etc/a", 0o644, false, "a")]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&got).unwrap();
        assert!(v.get("systemd").is_none(), "{v}");
        assert_eq!(v["storage"]["directories"][0]["path"], "/etc");
    }
}
