//! MCP 2026-07-28 beside the revisions before it: the official conformance suite against
//! the daemon's own endpoint, and `subscriptions/listen`.

mod conformance;
mod listen;

use rmcp::{
    RoleClient,
    model::ProtocolVersion,
    service::{ClientLifecycleMode, ClientServiceExt, RunningService},
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};

use crate::support::Recorder;

/// A 2026-07-28 client on `/mcp` (no `initialize`, no session) presenting bearer `token`.
pub async fn modern_client_as(url: &str, token: &str) -> RunningService<RoleClient, Recorder> {
    let config = StreamableHttpClientTransportConfig::with_uri(url).auth_header(token);
    let transport = StreamableHttpClientTransport::from_config(config);
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    Recorder::new(ProtocolVersion::V_2026_07_28)
        .serve_with_lifecycle(transport, lifecycle)
        .await
        .expect("server/discover over streamable HTTP")
}
