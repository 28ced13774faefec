//! What callers may run and how much: allowlists of runtimes, packages and images, and
//! the limits on children, mounts, calls and lifetimes. The daemon's defaults are safe
//! to expose; [`Policy::default`] (for the library) allows everything without limits.

use std::{collections::BTreeMap, time::Duration};

use crate::{
    address::AddressFilter,
    error::{Error, Result},
    model::{DEFAULT_RUNTIME_IMAGE, EphemeralMcpServerConfig, PackageSpec, glob_match},
    secrets::SecretPolicy,
};

/// The daemon variables `${VAR}` may name unless told otherwise.
pub const DEFAULT_ENV_REFS: [&str; 1] = ["MCP_SECRET_*"];

/// The runtimes the daemon allows unless told otherwise.
pub const DEFAULT_RUNTIMES: [&str; 2] = ["uvx", "npx"];

/// `env` names callers may not set unless the operator allows them (`--allow-env`),
/// matched without regard to case: each changes what a child runs, what it loads, or
/// where its packages come from — so `--allow-package` would no longer be the control.
pub const REFUSED_ENV: &[&str] = &[
    "LD_*",
    "DYLD_*",
    "PATH",
    "HOME",
    "SHELL",
    "ENV",
    "BASH_ENV",
    "BASH_FUNC_*",
    "IFS",
    "PS4",
    "PROMPT_COMMAND",
    "GCONV_PATH",
    "LOCPATH",
    "TMPDIR",
    "XDG_*",
    "NODE_*",
    "NPM_*",
    "YARN_*",
    "PNPM_*",
    "COREPACK_*",
    "BUN_*",
    "DENO_*",
    "PYTHON*",
    "PIP_*",
    "UV_*",
    "VIRTUAL_ENV",
    "CONDA_*",
    "PERL*",
    "RUBY*",
    "GEM_*",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "BROWSER",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "SSL_*",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "*_PROXY",
    "GIT_SSH*",
    "GIT_EXEC_PATH",
    "GIT_CONFIG*",
    "MCP_EPHEMERAL_K8S_*",
];

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
    /// `env` names callers may set although [`REFUSED_ENV`] lists them (patterns).
    pub allowed_env: Vec<String>,
    /// URL patterns `mount_mcp_server(url=…)` may name; `None` allows any, an empty list
    /// none (URL mounts off).
    pub mount_urls: Option<Vec<String>>,
    /// Where URL mounts may connect: public addresses and these internal networks.
    pub mount_addresses: AddressFilter,
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
    /// Children running at once that one principal owns.
    pub max_servers_per_principal: Option<usize>,
    /// Mounts at once.
    pub max_mounts: Option<usize>,
    /// The most mounted tools tools/list shows a caller; beyond, it shows none of them
    /// (they are found with `search_mounted_tools`).
    pub max_listed_tools: Option<usize>,
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
            allowed_env: Vec::new(),
            mount_urls: Some(Vec::new()),
            mount_addresses: AddressFilter::default(),
            limits: Limits::default(),
        }
    }

    /// Checks a URL to mount against `--allow-mount-url` (matched without its userinfo)
    /// and, when its host is an IP address, against the address filter (names are checked
    /// on every connection, by [`crate::address::FilteringResolver`]).
    ///
    /// # Errors
    /// [`Error::NotAllowed`] naming the flag that would allow it.
    pub fn check_mount_url(&self, url: &reqwest::Url) -> Result<()> {
        let shown = crate::model::redact_url(url.as_str());
        if let Some(patterns) = &self.mount_urls {
            let mut bare = url.clone();
            let _ = bare.set_username("");
            let _ = bare.set_password(None);
            if !patterns.iter().any(|p| glob_match(p, bare.as_str())) {
                let allowed = if patterns.is_empty() {
                    "URL mounts are off here".to_owned()
                } else {
                    format!("allowed: {}", patterns.join(", "))
                };
                return Err(Error::NotAllowed(format!(
                    "mounting {shown} is not allowed: {allowed} (the operator can allow URLs \
                     with --allow-mount-url, e.g. https://mcp.example.com/*); mount a server \
                     of your own by job_name instead"
                )));
            }
        }
        let host = url.host_str().unwrap_or_default();
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
            self.mount_addresses.check(ip).map_err(|why| {
                Error::NotAllowed(format!("mounting {shown} is not allowed: {why}"))
            })?;
        }
        Ok(())
    }

    /// Checks the `env` names a caller gave: none in [`REFUSED_ENV`] unless the operator
    /// allowed it. Names whose value is the preset's own (`trusted`) pass.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] naming the variable and the flag that would allow it.
    pub fn check_env(
        &self,
        env: &BTreeMap<String, String>,
        trusted: &BTreeMap<String, String>,
    ) -> Result<()> {
        let matches = |pattern: &str, name: &str| {
            glob_match(&pattern.to_ascii_uppercase(), &name.to_ascii_uppercase())
        };
        for (name, value) in env {
            if trusted.get(name) == Some(value) || self.allowed_env.iter().any(|p| matches(p, name))
            {
                continue;
            }
            if let Some(pattern) = REFUSED_ENV.iter().find(|p| matches(p, name)) {
                return Err(Error::NotAllowed(format!(
                    "env {name} is not allowed here ({pattern} variables change what a child \
                     runs or where its packages come from); the operator can allow it with \
                     --allow-env {name}"
                )));
            }
        }
        Ok(())
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
            && !patterns.iter().any(|p| {
                glob_match(
                    p,
                    PackageSpec::parse(package).map_or(package.as_str(), |s| s.name),
                )
            })
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
        let versioned = EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time@1.0");
        policy.check(&versioned, false).unwrap();
    }

    #[test]
    fn env_that_changes_what_runs_is_refused_unless_allowed() {
        let mut policy = Policy::daemon_default();
        let none = BTreeMap::new();
        for name in [
            "LD_PRELOAD",
            "PATH",
            "NODE_OPTIONS",
            "npm_config_registry",
            "NPM_CONFIG_SCRIPT_SHELL",
            "UV_INDEX_URL",
            "PYTHONWARNINGS",
            "BROWSER",
            "https_proxy",
            "MCP_EPHEMERAL_K8S_BRIDGE_TOKEN",
        ] {
            let env = BTreeMap::from([(name.to_owned(), "x".to_owned())]);
            let error = policy.check_env(&env, &none).unwrap_err().to_string();
            assert!(error.contains(&format!("--allow-env {name}")), "{error}");
        }
        let fine = BTreeMap::from([("API_TOKEN".to_owned(), "x".to_owned())]);
        policy.check_env(&fine, &none).unwrap();
        let git = BTreeMap::from([("GIT_CONFIG_GLOBAL".to_owned(), "/x".to_owned())]);
        policy.check_env(&git, &git).unwrap();
        let other = BTreeMap::from([("GIT_CONFIG_GLOBAL".to_owned(), "/y".to_owned())]);
        assert!(policy.check_env(&other, &git).is_err());
        policy.allowed_env = vec!["UV_INDEX_URL".into()];
        let index = BTreeMap::from([("uv_index_url".to_owned(), "x".to_owned())]);
        policy.check_env(&index, &none).unwrap();
    }
}
