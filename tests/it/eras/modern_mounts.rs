//! Mounting a server of 2026-07-28 only (the test server's `serve-modern`): the daemon finds
//! it with `server/discover`, speaks that revision to it, hears its list changes on a listen
//! stream, and answers its `input_required` results by asking the caller's client — a
//! 2025-11-25 client with a request on its session, a 2026-07-28 client with an
//! `input_required` result of the daemon's own.

use super::{modern_client, modern_server};
use crate::support::*;
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};

fn ask(text: &str) -> CallToolRequestParams {
    let Value::Object(arguments) = json!({"text": text}) else {
        unreachable!()
    };
    CallToolRequestParams::new("m_ask").with_arguments(arguments)
}

#[tokio::test]
async fn a_modern_server_is_mounted_and_its_questions_reach_clients_of_both_eras() {
    let (_server, url) = modern_server().await;
    let daemon = Process::daemon(&LOOPBACK_URL_MOUNTS).await;
    let legacy = http_client(&daemon.url("/mcp")).await;
    let mounted = call_ok(
        &legacy,
        "mount_mcp_server",
        json!({"url": url, "name": "m"}),
    )
    .await;
    assert_eq!(
        mounted["mount"]["server"],
        format!("mcp-test-server-modern {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        text(&call(&legacy, "m_echo", json!({"text": "hi"})).await),
        "hi"
    );

    // Its input_required: the 2025-11-25 client is asked on its session...
    let answered = legacy.call_tool(ask("from legacy")).await.unwrap();
    assert_eq!(text(&answered), "modern got: sampled: from legacy");
    assert_eq!(legacy.service().seen().sampled, ["from legacy"]);
    // ...the 2026-07-28 client through an input_required of the daemon's.
    let modern = modern_client(&daemon.url("/mcp")).await;
    let answered = modern.call_tool(ask("from modern")).await.unwrap();
    assert_eq!(text(&answered), "modern got: sampled: from modern");

    // Its list changes, heard on a listen stream, reach the clients.
    call_ok(&legacy, "m_add_tool", json!({"text": "extra"})).await;
    eventually_async_tools(&legacy, "m_extra").await;
    let recorder = legacy.service().clone();
    eventually("tools/list_changed", || recorder.seen().tools_changed > 0).await;
}

/// Waits until `peer` lists `tool`.
async fn eventually_async_tools(peer: &rmcp::Peer<rmcp::RoleClient>, tool: &str) {
    let deadline = tokio::time::Instant::now() + QUICK;
    while !tool_names(peer).await.iter().any(|t| t == tool) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{tool} never listed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn progress_and_cancellation_cross_a_mount_of_a_modern_server() {
    let (_server, _daemon, legacy) = mounted_as_m().await;
    super::progress_and_cancellation_cross(&legacy, &legacy, "m").await;
}

#[tokio::test]
async fn a_modern_server_asking_too_much_at_once_gets_no_answers() {
    let (_server, _daemon, legacy) = mounted_as_m().await;
    let Value::Object(arguments) = json!({"text": "q", "flood": 1000}) else {
        unreachable!()
    };
    let flood = CallToolRequestParams::new("m_ask").with_arguments(arguments);
    let result = legacy.call_tool(flood).await.unwrap();
    assert_eq!(result.is_error, Some(true));
    assert!(
        text(&result).contains("1000 questions at once"),
        "{}",
        text(&result)
    );
    // Its client was asked nothing.
    assert!(legacy.service().seen().sampled.is_empty());
}

/// The modern test server, a daemon that mounts it as `m`, and a 2025-11-25 client of
/// that daemon (keep the first two alive as long as the client is used).
async fn mounted_as_m() -> (
    tokio::process::Child,
    Process,
    rmcp::service::RunningService<rmcp::RoleClient, Recorder>,
) {
    let (server, url) = modern_server().await;
    let daemon = Process::daemon(&LOOPBACK_URL_MOUNTS).await;
    let legacy = http_client(&daemon.url("/mcp")).await;
    let mount = json!({"url": url, "name": "m"});
    call_ok(&legacy, "mount_mcp_server", mount).await;
    (server, daemon, legacy)
}
