//! What crosses a mount besides plain calls: progress, cancellation, requests the child
//! makes to the client (sampling, roots), many concurrent sessions, and a child that dies
//! and comes back.

use std::time::Duration;

use rmcp::{
    ServiceExt,
    model::{CallToolRequestParams, ClientRequest, ProtocolVersion},
    service::PeerRequestOptions,
    transport::StreamableHttpClientTransport,
};
use serde_json::json;

use crate::support::*;

fn args(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    value.as_object().unwrap().clone()
}

#[tokio::test]
async fn progress_and_cancellation_cross_the_mount() {
    let (_daemon, meta, _) = daemon_with_mounted_child("").await;
    let result = call(&meta, "t_slow", json!({"millis": 300, "steps": 3})).await;
    assert_eq!(text(&result), "done after 300 ms");
    let recorder = meta.service().clone();
    eventually("three progress notifications", || {
        recorder
            .seen()
            .progress
            .iter()
            .filter(|p| p.message.as_deref().is_some_and(|m| m.starts_with("step")))
            .count()
            == 3
    })
    .await;

    // Cancel a long call: the child sees the cancellation.
    let params = CallToolRequestParams::new("t_slow")
        .with_arguments(args(json!({"millis": 20000, "steps": 1})));
    let request = ClientRequest::CallToolRequest(rmcp::model::CallToolRequest::new(params));
    let handle = meta
        .send_request_with_option(request, PeerRequestOptions::no_options())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    handle.cancel(Some("changed my mind".into())).await.unwrap();
    let deadline = tokio::time::Instant::now() + crate::support::QUICK;
    loop {
        if text(&call(&meta, "t_cancelled", json!({})).await) == "1" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the child never saw the cancellation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn sampling_and_roots_go_to_the_client_whose_call_asked() {
    let (daemon, setup, _) = daemon_with_mounted_child("").await;

    let url = daemon.url("/mcp");
    let alice = Recorder::replying(ProtocolVersion::V_2025_11_25, "alice")
        .serve(StreamableHttpClientTransport::from_uri(url.clone()))
        .await
        .unwrap();
    let bob = Recorder::replying(ProtocolVersion::V_2025_11_25, "bob")
        .serve(StreamableHttpClientTransport::from_uri(url))
        .await
        .unwrap();
    let ask = |who: &'static str| {
        CallToolRequestParams::new("t_sample").with_arguments(args(json!({"text": who})))
    };
    // One at a time, each client is asked its own question.
    for _ in 0..3 {
        assert_eq!(
            text(&alice.call_tool(ask("question a")).await.unwrap()),
            "alice: question a"
        );
        assert_eq!(
            text(&bob.call_tool(ask("question b")).await.unwrap()),
            "bob: question b"
        );
    }
    // At once, through one stdio server that cannot say which call asks: a question never
    // reaches the other client; when it is ambiguous it is refused instead.
    for _ in 0..5 {
        let (a, b) = tokio::join!(
            alice.call_tool(ask("question a")),
            bob.call_tool(ask("question b"))
        );
        for (result, expected) in [
            (a.unwrap(), "alice: question a"),
            (b.unwrap(), "bob: question b"),
        ] {
            let got = text(&result);
            let refused = result.is_error == Some(true) && got.contains("cannot tell which");
            assert!(
                got == expected || refused,
                "{got:?} instead of {expected:?}"
            );
        }
    }
    assert!(
        setup.service().seen().sampled.is_empty(),
        "a bystander was asked"
    );
    let roots = call(&bob, "t_roots", json!({})).await;
    assert_eq!(text(&roots), r#"["file:///bob"]"#);
}

#[tokio::test]
async fn sixty_four_sessions_call_mounted_tools_at_once_without_cross_talk() {
    let (daemon, _setup, _) = daemon_with_mounted_child("").await;
    let mut sessions = Vec::new();
    for i in 0..64 {
        let base = daemon.url("");
        sessions.push(tokio::spawn(async move {
            let client = client_of(|path| format!("{base}{path}"), i % 4 == 0).await;
            let calls = (0..8).map(|j| {
                let peer = client.peer().clone();
                async move {
                    let expected = format!("session {i} call {j}");
                    let params = CallToolRequestParams::new("t_echo")
                        .with_arguments(args(json!({"text": expected})));
                    let result = peer.call_tool(params).await.unwrap();
                    assert_eq!(text(&result), expected);
                }
            });
            futures::future::join_all(calls).await;
            client.cancel().await.unwrap();
        }));
    }
    for session in sessions {
        session.await.unwrap();
    }
}

#[tokio::test]
async fn a_dead_child_fails_calls_fast_naming_the_mount_and_its_state() {
    let daemon = Process::daemon(&LOOPBACK_URL_MOUNTS).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (server, groups) = create_ready(&meta, test_server("")).await;
    call_ok(
        &meta,
        "mount_mcp_server",
        json!({"job_name": server["job_name"], "name": "t"}),
    )
    .await;
    // Kill the MCP server behind the bridge: the bridge exits with it.
    signal(groups[1], libc::SIGKILL);
    let job_name = server["job_name"].clone();
    eventually_async(|| async {
        let status = call_ok(
            &meta,
            "get_mcp_server_status",
            json!({"job_name": job_name}),
        )
        .await;
        status["phase"] == "Failed"
    })
    .await;
    let started = std::time::Instant::now();
    let error = call_err(&meta, "t_echo", json!({"text": "anyone?"})).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert!(error.contains("mount \"t\" is unavailable"), "{error}");
    assert!(
        error.contains("is Failed"),
        "the child's state is named: {error}"
    );
    let status = call_ok(
        &meta,
        "get_mcp_server_status",
        json!({"job_name": server["job_name"]}),
    )
    .await;
    assert_eq!(status["mount"]["state"], "broken", "{status}");
}

#[tokio::test]
async fn a_url_mount_reconnects_when_its_server_comes_back() {
    let daemon = Process::daemon(&LOOPBACK_URL_MOUNTS).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let first = test_bridge(&[]).await;
    let port = first.addr.port().to_string();
    let url = first.url("/mcp");
    crate::support::wait_healthy(&first.url("/health")).await;
    call_ok(&meta, "mount_mcp_server", json!({"url": url, "name": "b"})).await;

    // A call in flight when the server dies fails fast, with the mount named.
    let peer = meta.peer().clone();
    let pending =
        tokio::spawn(async move { call(&peer, "b_slow", json!({"millis": 10000})).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    signal(first.pid(), libc::SIGKILL);
    let failed = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("fails fast")
        .unwrap();
    assert_eq!(failed.is_error, Some(true), "{}", text(&failed));
    assert!(text(&failed).contains("mount \"b\""), "{}", text(&failed));
    drop(first);

    // Same port, new process: the mount reconnects and says so.
    let before = meta.service().seen().tools_changed;
    let _second = test_bridge_on(&port, &[]).await;
    let recorder = meta.service().clone();
    eventually("list_changed after reconnecting", || {
        recorder.seen().tools_changed > before
    })
    .await;
    assert_eq!(
        text(&call(&meta, "b_echo", json!({"text": "back"})).await),
        "back"
    );
    let mounts = mounts(&meta).await;
    assert_eq!(mounts[0]["state"], "connected");
    assert!(mounts[0]["reconnects"].as_u64().unwrap() >= 1, "{mounts:?}");
}

async fn eventually_async<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + crate::support::QUICK;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never happened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
