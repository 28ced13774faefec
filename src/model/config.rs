//! What a user asks for when creating a server: [`EphemeralMcpServerConfig`] and its parts.
//!
//! Field names, order and defaults follow the Python original so that JSON written for it
//! keeps working; the differences are deliberate fixes (see DESIGN.md §9): `runtime_args`
//! really reaches the package, RBAC is off unless asked for and namespaced when it is,
//! and `env` is validated.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::ConfigError as Error;

mod pod;
pub use pod::{ProbeConfig, RbacPreset, ServiceAccountConfig};

type Result<T, E = Error> = std::result::Result<T, E>;

/// The runtime image children run in: this project's `bridge` plus `uv`/`uvx` and `npx`.
pub const DEFAULT_RUNTIME_IMAGE: &str = concat!(
    "ghcr.io/mcp-ephemeral-k8s/runtime:",
    env!("CARGO_PKG_VERSION")
);

/// The port the bridge listens on inside a child pod (the Python original's default).
pub const DEFAULT_CHILD_PORT: u16 = 8080;

/// What replaces every `env` value in results and logs.
pub const REDACTED: &str = "<redacted>";

/// The most bytes of `runtime_args`: a command line the kernel takes (one argument may have
/// 128 KiB), with room to spare.
pub const MAX_RUNTIME_ARGS: usize = 32 * 1024;

/// The most bytes of `env` names and values together (the kernel takes 2 MiB of arguments
/// and environment in all).
pub const MAX_ENV_BYTES: usize = 128 * 1024;

/// How much of a caller's value an error repeats.
const SHOWN: usize = 100;

/// A request to run one MCP server: either a stdio package started by a runtime
/// (`uvx mcp-server-time`) behind the bridge, or an image that serves MCP itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EphemeralMcpServerConfig {
    /// The executor that runs the package, e.g. `uvx` (Python) or `npx` (Node).
    pub runtime_exec: Option<String>,
    /// The package to run, e.g. `mcp-server-time` or `@modelcontextprotocol/server-everything`.
    pub runtime_mcp: Option<String>,
    /// Arguments for the package, split shell-style (`"/tmp --verbose"`, `"'a b' c"`).
    #[serde(default)]
    pub runtime_args: String,
    /// The container image (Kubernetes backend; empty, and not shown, for a local child).
    #[serde(default = "default_image", skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// The container command; `null` keeps the image's ENTRYPOINT (image-only servers).
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// The address the bridge binds inside the child.
    #[serde(default = "default_host")]
    pub host: String,
    /// The port the bridge listens on inside a child pod.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Kubernetes resource requests, e.g. `{"cpu": "100m", "memory": "100Mi"}`.
    #[serde(default = "default_requests")]
    pub resource_requests: BTreeMap<String, String>,
    /// Kubernetes resource limits, e.g. `{"cpu": "200m", "memory": "200Mi"}`.
    #[serde(default = "default_limits")]
    pub resource_limits: BTreeMap<String, String>,
    /// Environment variables for the server. Values are never echoed back.
    #[serde(default, deserialize_with = "null_as_default")]
    pub env: BTreeMap<String, String>,
    /// Browser origins the child's bridge allows (CORS); `null` sends no CORS headers.
    #[serde(default)]
    pub cors_origins: Option<Vec<String>>,
    /// The readiness probe of the child pod.
    #[serde(default)]
    pub probe_config: ProbeConfig,
    /// A ServiceAccount with an RBAC preset for the child; `null` gives it no cluster access.
    #[serde(default)]
    pub sa_config: Option<ServiceAccountConfig>,
}

fn default_image() -> String {
    DEFAULT_RUNTIME_IMAGE.to_owned()
}
fn default_host() -> String {
    "0.0.0.0".to_owned()
}
fn default_port() -> u16 {
    DEFAULT_CHILD_PORT
}
fn default_requests() -> BTreeMap<String, String> {
    quantities("100m", "100Mi")
}
fn default_limits() -> BTreeMap<String, String> {
    quantities("200m", "200Mi")
}
fn quantities(cpu: &str, memory: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("cpu".to_owned(), cpu.to_owned()),
        ("memory".to_owned(), memory.to_owned()),
    ])
}

/// Accepts `null` where a map is expected, as the Python original did for `env`.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl Default for EphemeralMcpServerConfig {
    fn default() -> Self {
        Self {
            runtime_exec: None,
            runtime_mcp: None,
            runtime_args: String::new(),
            image: default_image(),
            entrypoint: None,
            host: default_host(),
            port: default_port(),
            resource_requests: default_requests(),
            resource_limits: default_limits(),
            env: BTreeMap::new(),
            cors_origins: None,
            probe_config: ProbeConfig::default(),
            sa_config: None,
        }
    }
}

impl EphemeralMcpServerConfig {
    /// A server that runs `runtime_mcp` with `runtime_exec` behind the bridge.
    pub fn runtime(runtime_exec: impl Into<String>, runtime_mcp: impl Into<String>) -> Self {
        Self {
            runtime_exec: Some(runtime_exec.into()),
            runtime_mcp: Some(runtime_mcp.into()),
            ..Self::default()
        }
    }

    /// A server whose image serves MCP itself (SSE or streamable HTTP on `port`).
    ///
    /// # Errors
    /// [`Error::Runtime`] when `image` is this project's runtime image, which
    /// needs `runtime_exec`/`runtime_mcp` to know what to run.
    pub fn from_docker_image(
        image: impl Into<String>,
        entrypoint: Option<Vec<String>>,
    ) -> Result<Self> {
        let image = image.into();
        if image.starts_with(DEFAULT_RUNTIME_IMAGE.split(':').next().unwrap_or_default()) {
            return Err(Error::Runtime(format!(
                "{image} is the bridge runtime image; use runtime_exec/runtime_mcp instead"
            )));
        }
        Ok(Self {
            image,
            entrypoint,
            ..Self::default()
        })
    }

    /// Sets `runtime_args`.
    pub fn with_args(mut self, runtime_args: impl Into<String>) -> Self {
        self.runtime_args = runtime_args.into();
        self
    }

    /// Adds one environment variable.
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    /// The package (or, for image-only servers, the image) this server is named after.
    pub fn name_source(&self) -> &str {
        self.runtime_mcp.as_deref().unwrap_or(&self.image)
    }

    /// The command this server runs, for messages: `uvx mcp-server-time --flag`.
    pub fn command_line(&self) -> String {
        [
            self.runtime_exec.as_deref(),
            self.runtime_mcp.as_deref(),
            Some(self.runtime_args.as_str()),
        ]
        .into_iter()
        .flatten()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// Checks everything a backend relies on, so that bad input is refused before anything
    /// is started.
    ///
    /// # Errors
    /// [`Error::Runtime`] or [`Error::Input`], naming the field and the fix.
    pub fn validate(&self) -> Result<()> {
        match (&self.runtime_exec, &self.runtime_mcp) {
            (Some(exec), Some(mcp)) => {
                check_word("runtime_exec", exec, "a command such as uvx or npx")?;
                check_word("runtime_mcp", mcp, "a package such as mcp-server-time")?;
                if mcp.starts_with('-') {
                    return Err(Error::Runtime(format!(
                        "runtime_mcp={mcp:?} is an option, not a package; give the package \
                         (e.g. mcp-server-time) and put options in runtime_args"
                    )));
                }
                super::PackageSpec::parse(mcp)?;
                self.split_args()?;
            }
            (None, None) if self.image == DEFAULT_RUNTIME_IMAGE => {
                return Err(Error::Runtime(format!(
                    "{} is the bridge runtime image; give runtime_exec/runtime_mcp (e.g. uvx \
                     and mcp-server-time), or an image that serves MCP itself",
                    self.image
                )));
            }
            (None, None) => {}
            (Some(exec), None) => {
                return Err(Error::Runtime(format!(
                    "runtime_exec {:?} needs a package: give runtime_mcp too (e.g. uvx and \
                     mcp-server-time), or neither for an image that serves MCP itself",
                    super::cut(exec, SHOWN)
                )));
            }
            (None, Some(mcp)) => {
                return Err(Error::Runtime(format!(
                    "runtime_mcp {:?} needs a runtime: give runtime_exec too (uvx for Python \
                     packages, npx for Node ones), or neither for an image that serves MCP itself",
                    super::cut(mcp, SHOWN)
                )));
            }
        }
        if self.runtime_args.len() > MAX_RUNTIME_ARGS {
            return Err(Error::invalid(
                "runtime_args",
                format!(
                    "is {} bytes, more than the {MAX_RUNTIME_ARGS} a child's arguments may have",
                    self.runtime_args.len()
                ),
            ));
        }
        let env_bytes: usize = self.env.iter().map(|(k, v)| k.len() + v.len()).sum();
        if env_bytes > MAX_ENV_BYTES {
            return Err(Error::invalid(
                "env",
                format!(
                    "is {env_bytes} bytes, more than the {MAX_ENV_BYTES} a child's environment \
                     may have from env; pass large data another way (a file, a Secret)"
                ),
            ));
        }
        if self.port == 0 {
            return Err(Error::invalid("port", "must be between 1 and 65535"));
        }
        for (name, value) in &self.env {
            if !is_env_name(name) {
                return Err(Error::invalid(
                    "env",
                    format!(
                        "{name:?} is not a valid variable name; use letters, digits and _, \
                         not starting with a digit (e.g. API_TOKEN)"
                    ),
                ));
            }
            if value.contains('\0') {
                return Err(Error::invalid(
                    "env",
                    format!("the value of {name} contains a NUL byte"),
                ));
            }
        }
        Ok(())
    }

    /// `runtime_args` split shell-style into separate arguments.
    ///
    /// # Errors
    /// [`Error::Input`] when quotes are unbalanced.
    pub fn split_args(&self) -> Result<Vec<String>> {
        shlex::split(&self.runtime_args).ok_or_else(|| {
            Error::invalid(
                "runtime_args",
                format!(
                    "{:?} has an unclosed quote or a trailing backslash",
                    super::cut(&self.runtime_args, SHOWN)
                ),
            )
        })
    }

    /// Whether the child runs the bridge (a runtime and a package), rather than an image
    /// that serves MCP itself.
    pub fn uses_bridge(&self) -> bool {
        self.runtime_exec.is_some() && self.runtime_mcp.is_some()
    }

    /// The arguments of `mcp-ephemeral-k8s` that run this server behind the bridge:
    /// `bridge --host H --port P -- <exec> <mcp> <args…>`. `None` for image-only servers.
    /// This is the one place the child's command line is built, for every backend.
    ///
    /// # Errors
    /// As [`Self::split_args`].
    pub fn bridge_args(&self, host: &str, port: u16) -> Result<Option<Vec<String>>> {
        let (Some(exec), Some(mcp)) = (&self.runtime_exec, &self.runtime_mcp) else {
            return Ok(None);
        };
        let mut args = vec!["bridge".to_owned(), "--host".to_owned(), host.to_owned()];
        args.extend(["--port".to_owned(), port.to_string()]);
        for origin in self.cors_origins.iter().flatten() {
            args.extend(["--allow-origins".to_owned(), origin.clone()]);
        }
        args.extend(["--".to_owned(), exec.clone()]);
        // npx asks before installing a package and, with no terminal to ask on, gives up.
        if is_npx(exec) {
            args.push("--yes".to_owned());
        }
        args.push(mcp.clone());
        args.extend(self.split_args()?);
        Ok(Some(args))
    }

    /// A copy safe to show: every `env` value replaced by [`REDACTED`].
    pub fn redacted(&self) -> Self {
        let mut copy = self.clone();
        for value in copy.env.values_mut() {
            *value = REDACTED.to_owned();
        }
        copy
    }
}

/// Whether `exec` is npm's `npx` (by name or path).
fn is_npx(exec: &str) -> bool {
    std::path::Path::new(exec)
        .file_name()
        .is_some_and(|name| name == "npx")
}

fn check_word(field: &str, value: &str, example: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::Runtime(format!("{field} is empty; give {example}")));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::Runtime(format!(
            "{field}={value:?} contains whitespace; give one word ({example}) and put \
             arguments in runtime_args"
        )));
    }
    Ok(())
}

/// Whether `name` is a portable environment variable name.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests;
