//! The flags of `serve` naming an MCP Registry that `create_mcp_server(registry=…)`,
//! `mount_mcp_server(registry=…)` and `search_registry` read.

use std::path::PathBuf;

use clap::Args;

use super::{Error, invalid};
use crate::registry::Registry;

/// Which MCP Registry entries come from (at most one).
#[derive(Debug, Clone, Default, Args)]
pub struct RegistryArgs {
    /// A registry speaking the MCP Registry API (`GET /v0.1/servers…`), e.g.
    /// `https://registry.modelcontextprotocol.io` or an organization's own.
    #[arg(
        long,
        env = "MCP_EPHEMERAL_K8S_REGISTRY_URL",
        conflicts_with = "registry_dir"
    )]
    pub registry_url: Option<String>,
    /// A directory of `server.json` files (one entry each), instead of `--registry-url`.
    #[arg(long, env = "MCP_EPHEMERAL_K8S_REGISTRY_DIR")]
    pub registry_dir: Option<PathBuf>,
}

impl RegistryArgs {
    /// The registry configured, if any.
    ///
    /// # Errors
    /// A URL that is not `http(s)://host` without credentials, or a directory that cannot
    /// be read.
    pub fn registry(&self) -> Result<Option<Registry>, Error> {
        if let Some(url) = &self.registry_url {
            let shown = crate::model::redact_url(url);
            return Registry::api(url)
                .map(Some)
                .map_err(|e| invalid("--registry-url", shown, e.to_string()));
        }
        if let Some(dir) = &self.registry_dir {
            return Registry::dir(dir)
                .map(Some)
                .map_err(|e| invalid("--registry-dir", dir.display(), e.to_string()));
        }
        Ok(None)
    }
}
