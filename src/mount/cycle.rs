//! How a meta-server names itself and the meta-servers behind its mounts in `initialize`,
//! so mounting refuses self-mounts and cycles.

use rmcp::model::InitializeResult;

/// `_meta` key with which a meta-server names itself in `initialize`.
pub const INSTANCE_KEY: &str = "io.github.mcp-ephemeral-k8s/instance";

/// `_meta` key listing the meta-servers reachable through a meta-server's mounts.
pub const REACHABLE_KEY: &str = "io.github.mcp-ephemeral-k8s/reachable";

/// The meta-servers reachable through a server (itself included) from its `initialize`
/// `_meta`; empty for servers that are not meta-servers.
pub fn reachable_instances(info: &InitializeResult) -> Vec<String> {
    let Some(meta) = &info.meta else {
        return Vec::new();
    };
    let own = meta
        .0
        .get(INSTANCE_KEY)
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let through: Vec<String> = meta
        .0
        .get(REACHABLE_KEY)
        .and_then(|v| v.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    own.into_iter().chain(through).collect()
}
