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

/// `client` calls the mounted `{prefix}_slow`: its three progress notifications reach it;
/// then a long one it cancels, which the server sees (`{prefix}_cancelled`, asked by
/// `observer`).
pub async fn progress_and_cancellation_cross(
    client: &RunningService<RoleClient, Recorder>,
    observer: &rmcp::Peer<RoleClient>,
    prefix: &str,
) {
    use crate::support::{QUICK, call, eventually, text};
    use serde_json::json;
    let slow = |millis: u64, steps: u32| {
        let serde_json::Value::Object(arguments) = json!({"millis": millis, "steps": steps}) else {
            unreachable!("an object")
        };
        rmcp::model::CallToolRequestParams::new(format!("{prefix}_slow")).with_arguments(arguments)
    };
    let result = client.call_tool(slow(300, 3)).await.unwrap();
    assert_eq!(text(&result), "done after 300 ms");
    let recorder = client.service().clone();
    eventually("three progress notifications", || {
        let progress = recorder.seen().progress;
        let steps = progress
            .iter()
            .filter(|p| p.message.as_deref().is_some_and(|m| m.starts_with("step")));
        steps.count() == 3
    })
    .await;

    let request = rmcp::model::ClientRequest::CallToolRequest(rmcp::model::CallToolRequest::new(
        slow(20_000, 1),
    ));
    let options = rmcp::service::PeerRequestOptions::no_options();
    let handle = client
        .send_request_with_option(request, options)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    handle.cancel(Some("changed my mind".into())).await.unwrap();
    let deadline = tokio::time::Instant::now() + QUICK;
    let cancelled = format!("{prefix}_cancelled");
    while text(&call(observer, &cancelled, json!({})).await) != "1" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never saw the cancellation"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
