//! The protocol revisions the meta-server serves, and what its answers differ in between
//! them: caching hints on 2026-07-28 lists, the revisions in `config://version`.

use rmcp::{
    RoleServer,
    model::{ProtocolVersion, ResourceContents},
    service::RequestContext,
};

use super::{VERSION_URI, forward::Shape};

/// The protocol revisions the meta-server speaks, oldest first: those with the
/// `initialize` handshake (on `/sse`, on `/mcp` with a session, on stdio) and 2026-07-28,
/// stateless (on `/mcp` without a session, on stdio).
pub fn protocol_versions() -> &'static [ProtocolVersion] {
    ProtocolVersion::known_up_to(&ProtocolVersion::V_2026_07_28)
}

/// `config://version`: the daemon's version as text (what the Python original serves),
/// then the same with the protocol revisions served, as JSON.
pub(super) fn version_contents() -> Vec<ResourceContents> {
    let version = env!("CARGO_PKG_VERSION");
    let versions: Vec<&str> = protocol_versions().iter().map(|v| v.as_str()).collect();
    let json = serde_json::json!({"version": version, "protocolVersions": versions});
    vec![
        ResourceContents::text(version, VERSION_URI),
        ResourceContents::text(json.to_string(), VERSION_URI).with_mime_type("application/json"),
    ]
}

/// How long a 2026-07-28 client may reuse one of the meta-server's lists. They are private
/// (each principal sees its own mounts, as `cacheScope: "private"` says) and change when
/// servers are mounted or unmounted, which `subscriptions/listen` announces; the short
/// time bounds how stale a client that does not listen can be.
const LIST_TTL_MS: u64 = 5_000;

/// The `ttlMs` of a list answering `context`: [`LIST_TTL_MS`] for a 2026-07-28 request;
/// none before it, whose lists have no caching hints (rmcp adds `cacheScope`).
pub(super) fn list_ttl_ms(context: &RequestContext<RoleServer>) -> Option<u64> {
    let modern = Shape::of(Some(&context.meta), &context.peer) == Shape::Modern;
    modern.then_some(LIST_TTL_MS)
}
