//! The flags of `serve` that keep children of presets started and ready: warm pools.

use clap::Args;

use super::{Error, invalid};

/// Warm pools.
#[derive(Debug, Clone, Args)]
pub struct PoolArgs {
    /// Keep N children of preset NAME started and ready, handed out at once to creates of
    /// that preset that change nothing of it: `NAME=N`, repeated or comma-separated;
    /// overrides the preset's own `warm: N`.
    #[arg(long, value_delimiter = ',', env = "MCP_EPHEMERAL_K8S_WARM_POOL")]
    pub warm_pool: Vec<String>,
    /// Most pool members in all (counted apart from --max-servers).
    #[arg(long, default_value_t = 8, env = "MCP_EPHEMERAL_K8S_MAX_POOL")]
    pub max_pool: usize,
}

impl PoolArgs {
    /// The `--warm-pool` entries, as (preset, members).
    ///
    /// # Errors
    /// An entry that is not `NAME=N`.
    pub fn targets(&self) -> Result<Vec<(String, usize)>, Error> {
        self.warm_pool
            .iter()
            .map(|entry| {
                let parsed = entry.split_once('=').and_then(|(name, n)| {
                    let n = n.trim().parse().ok()?;
                    Some((name.trim().to_owned(), n)).filter(|(name, _)| !name.is_empty())
                });
                parsed.ok_or_else(|| {
                    invalid("--warm-pool", entry, "must be NAME=N: a preset and a count")
                })
            })
            .collect()
    }
}
