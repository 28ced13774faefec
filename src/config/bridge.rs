//! The flags of `bridge`: where it listens and the stdio MCP server it serves.

use clap::Args;

use super::{DEFAULT_MAX_BODY_BYTES, Error, invalid, resolve};
use crate::{bridge::BridgeOptions, http::CorsPolicy};

/// `bridge` flags.
#[derive(Debug, Clone, Args)]
pub struct BridgeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0", env = "MCP_EPHEMERAL_K8S_BRIDGE_HOST")]
    pub host: String,
    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long, default_value_t = 8080, env = "MCP_EPHEMERAL_K8S_BRIDGE_PORT")]
    pub port: u16,
    /// Browser origins allowed to call it (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub allow_origins: Vec<String>,
    /// Largest accepted HTTP request body, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// The stdio MCP server to run, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

impl BridgeArgs {
    /// Validates `bridge` flags.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the first bad flag.
    pub fn to_options(&self) -> Result<BridgeOptions, Error> {
        let bind = resolve("--host", &self.host, self.port)?;
        let cors = CorsPolicy::parse(&self.allow_origins)
            .map_err(|reason| invalid("--allow-origins", self.allow_origins.join(","), reason))?;
        if self.command.first().is_none_or(|c| c.trim().is_empty()) {
            return Err(invalid(
                "COMMAND",
                "",
                "give the MCP server to run after `--`",
            ));
        }
        Ok(BridgeOptions {
            bind,
            cors,
            max_body_bytes: self.max_body_bytes,
            command: self.command.clone(),
            token: std::env::var(crate::model::BRIDGE_TOKEN_ENV)
                .ok()
                .filter(|t| !t.is_empty()),
        })
    }
}
