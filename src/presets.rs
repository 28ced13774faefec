//! Presets: named server configurations loaded from `presets/*.yaml`.
//!
//! The files in this repository's `presets/` are embedded in the binary; `--presets-dir`
//! adds the `*.yaml` files of a directory, replacing embedded presets of the same name.
//! A preset file is an [`EphemeralMcpServerConfig`] plus `name` and `description`.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{ConfigError, EphemeralMcpServerConfig, glob_match};

/// The embedded preset files: (file name, contents). A test checks this lists every file
/// in `presets/`.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "everything.yaml",
        include_str!("../presets/everything.yaml"),
    ),
    ("fetch.yaml", include_str!("../presets/fetch.yaml")),
    (
        "filesystem.yaml",
        include_str!("../presets/filesystem.yaml"),
    ),
    ("git.yaml", include_str!("../presets/git.yaml")),
    (
        "kubernetes.yaml",
        include_str!("../presets/kubernetes.yaml"),
    ),
    ("time.yaml", include_str!("../presets/time.yaml")),
];

/// A preset could not be loaded; the message starts with the file it came from.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The directory or a file in it could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not a valid preset.
    #[error("{path}: not a valid preset: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The warm pools asked for cannot be kept.
    #[error("warm pools: {0}")]
    Pools(String),
}

/// A named, described server configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Preset {
    /// The name to pass as `preset` to `create_mcp_server`.
    pub name: String,
    /// What the server does.
    #[serde(default)]
    pub description: String,
    /// Patterns (`*` matches any text) that each word of a caller's `runtime_args` must
    /// match for them to replace the preset's own; empty: the arguments are fixed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_args: Vec<String>,
    /// Children of this preset to keep started and ready, handed out at once to creates
    /// that change nothing of it (`--warm-pool NAME=N` overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm: Option<usize>,
    /// The configuration it creates.
    #[serde(flatten)]
    pub config: EphemeralMcpServerConfig,
}

impl Preset {
    /// The preset's configuration with a caller's additions: `env` joins the preset's,
    /// and `runtime_args`, when not empty, replace the preset's arguments if every word
    /// matches one of [`Preset::allowed_args`] and none has a `..` path component.
    ///
    /// # Errors
    /// [`ConfigError::Input`] naming the refused argument and what is allowed.
    pub fn configure(
        &self,
        runtime_args: String,
        env: BTreeMap<String, String>,
    ) -> Result<EphemeralMcpServerConfig, ConfigError> {
        let mut config = self.config.clone();
        config.env.extend(env);
        if runtime_args.is_empty() {
            return Ok(config);
        }
        let words = config
            .clone()
            .with_args(runtime_args.clone())
            .split_args()?;
        let refused = words.iter().find(|word| {
            word.split('/').any(|part| part == "..")
                || !self.allowed_args.iter().any(|p| glob_match(p, word))
        });
        if let Some(word) = refused {
            let allowed = if self.allowed_args.is_empty() {
                format!("preset {} keeps its own arguments", self.name)
            } else {
                format!(
                    "preset {} allows arguments matching {} (no `..`)",
                    self.name,
                    self.allowed_args.join(", ")
                )
            };
            return Err(ConfigError::invalid(
                "runtime_args",
                format!("{word:?} is not allowed: {allowed}"),
            ));
        }
        config.runtime_args = runtime_args;
        Ok(config)
    }
}

/// All presets known to the daemon, sorted by name.
#[derive(Debug, Clone, Default)]
pub struct Presets {
    presets: Vec<Preset>,
}

impl Presets {
    /// The presets built into the binary.
    pub fn embedded() -> Self {
        let mut presets = Self::default();
        for (file, text) in EMBEDDED {
            let preset = parse(Path::new("presets").join(file).as_path(), text)
                .expect("embedded presets are checked by tests");
            presets.insert(preset);
        }
        presets
    }

    /// The embedded presets, plus (replacing same-named ones) those in `dir`.
    ///
    /// # Errors
    /// [`Error`] naming the first file that cannot be read or parsed.
    pub fn load(dir: Option<&Path>) -> Result<Self, Error> {
        let mut presets = Self::embedded();
        let Some(dir) = dir else { return Ok(presets) };
        let read_err = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Read { path, source }
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(read_err(dir))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(read_err(&path))?;
            presets.insert(parse(&path, &text)?);
        }
        Ok(presets)
    }

    fn insert(&mut self, preset: Preset) {
        self.presets.retain(|p| p.name != preset.name);
        self.presets.push(preset);
        self.presets.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// The preset called `name`.
    pub fn get(&self, name: &str) -> Option<&Preset> {
        self.presets.iter().find(|p| p.name == name)
    }

    /// Every preset, sorted by name.
    pub fn all(&self) -> &[Preset] {
        &self.presets
    }

    /// The warm pools to keep: each preset's `warm`, overridden by `overrides`
    /// (`--warm-pool`), at most `max` members in all.
    ///
    /// # Errors
    /// [`Error::Pools`]: an unknown preset, or more members than `max`.
    pub fn warm_pools(
        &self,
        overrides: &[(String, usize)],
        max: usize,
    ) -> Result<Vec<(String, usize)>, Error> {
        let mut pools: Vec<(String, usize)> = self
            .presets
            .iter()
            .filter_map(|p| Some((p.name.clone(), p.warm?)))
            .collect();
        for (name, count) in overrides {
            if self.get(name).is_none() {
                return Err(Error::Pools(format!(
                    "--warm-pool names {name:?}, which is no preset (there are {})",
                    self.names()
                )));
            }
            pools.retain(|(n, _)| n != name);
            pools.push((name.clone(), *count));
        }
        pools.retain(|(_, count)| *count > 0);
        let total: usize = pools.iter().map(|(_, count)| count).sum();
        if total > max {
            return Err(Error::Pools(format!(
                "{total} members asked for, more than --max-pool {max}"
            )));
        }
        Ok(pools)
    }

    /// The names, comma-separated, for error messages.
    pub fn names(&self) -> String {
        let names: Vec<&str> = self.presets.iter().map(|p| p.name.as_str()).collect();
        names.join(", ")
    }
}

fn parse(path: &Path, text: &str) -> Result<Preset, Error> {
    let invalid = |reason: String| Error::Invalid {
        path: path.to_owned(),
        reason,
    };
    let preset: Preset = serde_yaml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    if preset.name.is_empty() {
        return Err(invalid("`name` is empty".into()));
    }
    preset
        .config
        .validate()
        .map_err(|e| invalid(e.to_string()))?;
    Ok(preset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_presets_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = EMBEDDED.iter().map(|(f, _)| *f).collect();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn embedded_presets_include_the_documented_ones() {
        let presets = Presets::embedded();
        assert_eq!(
            presets.names(),
            "everything, fetch, filesystem, git, kubernetes, time"
        );
        let time = presets.get("time").unwrap();
        assert_eq!(time.config.runtime_exec.as_deref(), Some("uvx"));
        assert_eq!(
            time.config.runtime_mcp.as_deref(),
            Some("mcp-server-time@2026.10.19")
        );
        let fs = presets.get("filesystem").unwrap();
        assert_eq!(fs.config.split_args().unwrap(), ["/tmp"]);
    }

    #[test]
    fn presets_keep_their_arguments_unless_they_allow_others() {
        let presets = Presets::embedded();
        let fs = presets.get("filesystem").unwrap();
        let none = BTreeMap::new();
        let config = fs.configure("/tmp/work".into(), none.clone()).unwrap();
        assert_eq!(config.split_args().unwrap(), ["/tmp/work"]);
        for refused in ["/", "/tmp/../etc", "/etc", "/tmp /home"] {
            let error = fs.configure(refused.into(), none.clone()).unwrap_err();
            assert!(
                error.to_string().contains("allows arguments matching"),
                "{error}"
            );
        }
        let time = presets.get("time").unwrap();
        let error = time
            .configure("--local-timezone x".into(), none)
            .unwrap_err();
        assert!(
            error.to_string().contains("keeps its own arguments"),
            "{error}"
        );
        let env = BTreeMap::from([("TZ".to_owned(), "UTC".to_owned())]);
        assert_eq!(time.configure(String::new(), env).unwrap().env["TZ"], "UTC");
    }

    #[test]
    fn a_directory_overrides_and_adds_presets() {
        let dir = std::env::temp_dir().join(format!("presets-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("time.yaml"),
            "name: time\nruntime_exec: uvx\nruntime_mcp: other-time\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("mine.yml"),
            "name: mine\nruntime_exec: npx\nruntime_mcp: mine\n",
        )
        .unwrap();
        std::fs::write(dir.join("README.md"), "ignored").unwrap();
        let presets = Presets::load(Some(&dir)).unwrap();
        assert_eq!(
            presets.get("time").unwrap().config.runtime_mcp.as_deref(),
            Some("other-time")
        );
        assert!(presets.get("mine").is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bad_file_is_reported_with_its_path() {
        let dir = std::env::temp_dir().join(format!("presets-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("bad.yaml"), "name: bad\nruntime_exec: uvx\n").unwrap();
        let err = Presets::load(Some(&dir)).unwrap_err().to_string();
        assert!(
            err.starts_with(&dir.join("bad.yaml").display().to_string()),
            "{err}"
        );
        assert!(err.contains("give runtime_mcp too"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
        let missing = Presets::load(Some(Path::new("/nonexistent/presets"))).unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("/nonexistent/presets: cannot read")
        );
    }
}
