//! What callers may run and how much: allowlists of runtimes, packages and images, and
//! the limits on children, mounts, calls and lifetimes. The daemon's defaults are safe
//! to expose; [`Policy::default`] (for the library) allows everything without limits.

use std::time::Duration;

use crate::{
    error::{Error, Result},
    model::{DEFAULT_RUNTIME_IMAGE, EphemeralMcpServerConfig, glob_match},
    secrets::SecretPolicy,
};

/// The daemon variables `${VAR}` may name unless told otherwise.
pub const DEFAULT_ENV_REFS: [&str; 1] = ["MCP_SECRET_*"];

/// The runtimes the daemon allows unless told otherwise.
pub const DEFAULT_RUNTIMES: [&str; 2] = ["uvx", "npx"];

/// Allowlists and limits.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `runtime_exec` values allowed; `None` allows any.
    pub runtimes: Option<Vec<String>>,
    /// Patterns (`*` matches any text) `runtime_mcp` must match; `None` allows any.
    pub packages: Option<Vec<String>>,
    /// Patterns an image other than the runtime image must match; `None` allows any,
    /// an empty list only the runtime image.
    pub images: Option<Vec<String>>,
    /// Which secrets `env` values may reference.
    pub secrets: SecretPolicy,
    /// How much callers may use.
    pub limits: Limits,
}

/// Limits; `None` means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Children running at once.
    pub max_servers: Option<usize>,
    /// Children running at once that one client session created.
    pub max_servers_per_session: Option<usize>,
    /// Mounts at once.
    pub max_mounts: Option<usize>,
    /// How long a call through a mount may take before it is cancelled.
    pub call_timeout: Option<Duration>,
    /// A child not used (created, mounted, asked for its status, called through its
    /// mount) for this long is deleted.
    pub idle_ttl: Option<Duration>,
    /// A child older than this is deleted (on Kubernetes also the Job's
    /// `activeDeadlineSeconds`).
    pub max_lifetime: Option<Duration>,
}

impl Policy {
    /// The daemon's defaults: `uvx` and `npx`, any package, only the runtime image.
    pub fn daemon_default() -> Self {
        Self {
            runtimes: Some(DEFAULT_RUNTIMES.map(String::from).to_vec()),
            packages: None,
            images: Some(Vec::new()),
            secrets: SecretPolicy {
                env_refs: Some(DEFAULT_ENV_REFS.map(String::from).to_vec()),
                secrets: Some(Vec::new()),
            },
            limits: Limits::default(),
        }
    }

    /// Checks `config` against the allowlists. Presets are always allowed.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] naming what was refused and the flag that would allow it.
    pub fn check(&self, config: &EphemeralMcpServerConfig, from_preset: bool) -> Result<()> {
        if from_preset {
            return Ok(());
        }
        if let (Some(exec), Some(runtimes)) = (&config.runtime_exec, &self.runtimes)
            && !runtimes.iter().any(|r| r == exec)
        {
            return Err(Error::NotAllowed(format!(
                "runtime_exec {exec:?} is not allowed here; use one of {} (the operator can \
                 allow more with --allow-runtime)",
                runtimes.join(", ")
            )));
        }
        if let (Some(package), Some(patterns)) = (&config.runtime_mcp, &self.packages)
            && !patterns.iter().any(|p| glob_match(p, package))
        {
            return Err(Error::NotAllowed(format!(
                "package {package:?} is not allowed here; allowed: {} (the operator can allow \
                 more with --allow-package), or use a preset (list_presets)",
                patterns.join(", ")
            )));
        }
        if let Some(patterns) = &self.images
            && config.image != DEFAULT_RUNTIME_IMAGE
            && !patterns.iter().any(|p| glob_match(p, &config.image))
        {
            let allowed = if patterns.is_empty() {
                "only the runtime image is".to_owned()
            } else {
                format!("allowed: {}", patterns.join(", "))
            };
            return Err(Error::NotAllowed(format!(
                "image {:?} is not allowed here; {allowed} (the operator can allow images \
                 with --allow-image)",
                config.image
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_allows_uvx_npx_and_presets() {
        let policy = Policy {
            packages: Some(vec!["mcp-server-*".into()]),
            ..Policy::daemon_default()
        };
        let time = EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time");
        policy.check(&time, false).unwrap();
        let shell = EphemeralMcpServerConfig::runtime("sh", "mcp-server-time");
        let error = policy.check(&shell, false).unwrap_err().to_string();
        assert!(error.contains("--allow-runtime"), "{error}");
        policy.check(&shell, true).unwrap();
        let other = EphemeralMcpServerConfig::runtime("npx", "left-pad");
        let error = policy.check(&other, false).unwrap_err().to_string();
        assert!(error.contains("--allow-package"), "{error}");
        let image = EphemeralMcpServerConfig::from_docker_image("evil/image:1", None).unwrap();
        let error = policy.check(&image, false).unwrap_err().to_string();
        assert!(error.contains("--allow-image"), "{error}");
        Policy::default().check(&image, false).unwrap();
    }
}
