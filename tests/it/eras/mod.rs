//! MCP 2026-07-28 beside the revisions before it: the official conformance suite against
//! the daemon's own endpoint, and `subscriptions/listen`.

mod bridge;
mod bridging;
mod clients;
mod conformance;
mod listen;
mod modern_mounts;

use rmcp::{
    RoleClient,
    model::ProtocolVersion,
    service::{ClientLifecycleMode, ClientServiceExt, RunningService},
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};

use crate::support::{Recorder, TEST_SERVER};

/// A 2026-07-28 client on `/mcp` (no `initialize`, no session).
pub async fn modern_client(url: &str) -> RunningService<RoleClient, Recorder> {
    modern_client_with(StreamableHttpClientTransportConfig::with_uri(url)).await
}

/// A 2026-07-28 client on `/mcp` presenting bearer `token`.
pub async fn modern_client_as(url: &str, token: &str) -> RunningService<RoleClient, Recorder> {
    modern_client_with(StreamableHttpClientTransportConfig::with_uri(url).auth_header(token)).await
}

async fn modern_client_with(
    config: StreamableHttpClientTransportConfig,
) -> RunningService<RoleClient, Recorder> {
    let transport = StreamableHttpClientTransport::from_config(config);
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    Recorder::new(ProtocolVersion::V_2026_07_28)
        .serve_with_lifecycle(transport, lifecycle)
        .await
        .expect("server/discover over streamable HTTP")
}

/// `mcp-test-server serve-modern` on a free port, and its URL.
pub async fn modern_server() -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(TEST_SERVER)
        .args(["serve-modern", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    let mut stdout = tokio::io::BufReader::new(stdout);
    tokio::io::AsyncBufReadExt::read_line(&mut stdout, &mut line)
        .await
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    (child, url)
}
