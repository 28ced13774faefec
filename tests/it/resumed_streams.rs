//! Mounted servers that close a call's response stream on purpose (SEP-1699): the daemon
//! resumes it with `GET` and `Last-Event-ID`, so the call's answer (and what the server sent
//! while the stream was closed) arrives, and the mount stays connected. The server is the
//! TypeScript SDK's (`tests/servers/resumable.mjs`).

use serde_json::json;

use crate::support::*;

/// A daemon with the TypeScript server mounted by URL as `r`, and a client of it.
async fn mounted() -> (
    Process,
    Process,
    rmcp::service::RunningService<rmcp::RoleClient, Recorder>,
) {
    let server = Process::node_server("resumable.mjs").await;
    let daemon = Process::daemon(&LOOPBACK_URL_MOUNTS).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let args = json!({"url": server.url("/mcp"), "name": "r"});
    let mounted = call_ok(&meta, "mount_mcp_server", args).await;
    assert_eq!(mounted["mount"]["server"], "resumable-test-server 1.0.0");
    (server, daemon, meta)
}

#[tokio::test]
async fn a_call_whose_stream_the_server_closes_is_resumed() {
    let (_server, daemon, meta) = mounted().await;
    // Another client, which asked for every log message, is not told of this call's.
    let other = http_client(&daemon.url("/mcp")).await;
    other
        .set_level(rmcp::model::SetLevelRequestParams::new(
            rmcp::model::LoggingLevel::Debug,
        ))
        .await
        .unwrap();
    let args = json!({"text": "resumed", "millis": 300});
    assert_eq!(text(&call(&meta, "r_long_task", args).await), "resumed");
    assert_eq!(mounts(&meta).await[0]["state"], "connected");
    // The log lines the server sent on the call's stream, before and after closing it.
    let recorder = meta.service().clone();
    eventually("both log lines of the call", || {
        let logs = recorder.seen().logs;
        ["started resumed", "finished resumed"]
            .iter()
            .all(|line| logs.iter().any(|l| l.data == *line))
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        other.service().seen().logs.is_empty(),
        "{:?}",
        other.service().seen().logs
    );
    // The same through the legacy SSE transport (rmcp's path in front of the mount).
    let sse = sse_client(&daemon.url("/sse")).await;
    let args = json!({"text": "over sse", "millis": 100});
    assert_eq!(text(&call(&sse, "r_long_task", args).await), "over sse");
}

#[tokio::test]
async fn resumed_calls_interleaved_with_others_all_succeed() {
    let (_server, daemon, _meta) = mounted().await;
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(http_client(&daemon.url("/mcp")).await);
    }
    let mut calls = Vec::new();
    for n in 0..20 {
        let peer = clients[n % clients.len()].peer().clone();
        calls.push(tokio::spawn(async move {
            let text_of = format!("call {n}");
            let args = json!({"text": text_of, "millis": 50 + 10 * n});
            let long = text(&call(&peer, "r_long_task", args).await);
            let echo = text(&call(&peer, "r_echo", json!({"text": format!("echo {n}")})).await);
            (n, long, echo)
        }));
    }
    for handle in calls {
        let (n, long, echo) = handle.await.unwrap();
        assert_eq!(long, format!("call {n}"));
        assert_eq!(echo, format!("echo {n}"));
    }
    let meta = &clients[0];
    let mounts = mounts(meta).await;
    assert_eq!(mounts[0]["state"], "connected", "{mounts:?}");
    assert_eq!(mounts[0]["reconnects"], 0, "{mounts:?}");
}
