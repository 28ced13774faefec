//! The flags of `serve` that shape local children: the sandbox and the daemon variables
//! they get.

use clap::Args;

use crate::backend::local::{LocalSettings, SandboxMode};

/// How local children are confined.
#[derive(Debug, Clone, Args)]
pub struct LocalArgs {
    /// Run local children in a bubblewrap sandbox: `auto` when `bwrap` works here, `on`
    /// (refuse to start without it) or `off`.
    #[arg(long, value_enum, default_value_t = SandboxMode::Auto, env = "MCP_EPHEMERAL_K8S_SANDBOX")]
    pub sandbox: SandboxMode,
    /// Daemon variables (patterns) every local child gets, beyond the certificate, proxy
    /// and package-index settings it always gets.
    #[arg(long, value_delimiter = ',', env = "MCP_EPHEMERAL_K8S_PASS_ENV")]
    pub pass_env: Vec<String>,
}

impl LocalArgs {
    /// The settings, with `hidden` (the daemon's secret files) kept from children, and
    /// `package_env` (where packages come from) given to every one.
    pub fn settings(
        &self,
        hidden: Vec<std::path::PathBuf>,
        package_env: Vec<(String, String)>,
    ) -> LocalSettings {
        LocalSettings {
            sandbox: self.sandbox,
            pass_env: self.pass_env.clone(),
            hidden,
            package_env,
        }
    }
}
