//! The bridge on its own: one stdio server, many HTTP sessions, and its exit codes.

use std::time::Duration;

use rmcp::model::{CallToolRequestParams, ProgressNotificationParam};
use serde_json::json;

use crate::support::*;

async fn wait_healthy(bridge: &Process) {
    let deadline = tokio::time::Instant::now() + crate::support::QUICK;
    loop {
        let response = reqwest::get(bridge.url("/health")).await.unwrap();
        if response.status() == 200 {
            assert_eq!(response.text().await.unwrap(), "OK");
            return;
        }
        assert_eq!(response.status(), 503);
        assert!(tokio::time::Instant::now() < deadline, "never healthy");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn health_is_503_until_the_server_initialized_and_mcp_is_refused_meanwhile() {
    let bridge = test_bridge(&["--delay-ms", "800"]).await;
    let response = reqwest::get(bridge.url("/health")).await.unwrap();
    assert_eq!(response.status(), 503);
    let response = reqwest::get(bridge.url("/sse")).await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.text().await.unwrap().contains("still starting"));
    wait_healthy(&bridge).await;
}

#[tokio::test]
async fn many_sessions_share_one_server_without_cross_talk() {
    let bridge = test_bridge(&[]).await;
    wait_healthy(&bridge).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let base = bridge.url("");
        tasks.push(tokio::spawn(async move {
            let client = client_of(|path| format!("{base}{path}"), i % 2 == 1).await;
            for j in 0..10 {
                let expected = format!("session {i} call {j}");
                let result = call(&client, "echo", json!({ "text": expected })).await;
                assert_eq!(text(&result), expected);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test]
async fn progress_goes_only_to_the_session_that_made_the_call() {
    let bridge = test_bridge(&[]).await;
    wait_healthy(&bridge).await;
    let a = http_client(&bridge.url("/mcp")).await;
    let b = sse_client(&bridge.url("/sse")).await;
    let slow = |steps: u32| {
        CallToolRequestParams::new("slow").with_arguments(
            json!({"millis": 300, "steps": steps})
                .as_object()
                .unwrap()
                .clone(),
        )
    };
    let (ra, rb) = tokio::join!(a.call_tool(slow(3)), b.call_tool(slow(5)));
    assert_eq!(text(&ra.unwrap()), "done after 300 ms");
    assert_eq!(text(&rb.unwrap()), "done after 300 ms");
    let messages = |p: &Vec<ProgressNotificationParam>| {
        p.iter()
            .map(|p| p.message.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        messages(&a.service().seen().progress),
        ["step 1 of 3", "step 2 of 3", "step 3 of 3"]
    );
    assert_eq!(messages(&b.service().seen().progress).len(), 5);
}

#[tokio::test]
async fn the_bridge_exits_with_the_code_of_its_server() {
    let mut bridge = test_bridge(&[]).await;
    wait_healthy(&bridge).await;
    let client = http_client(&bridge.url("/mcp")).await;
    let params = CallToolRequestParams::new("exit")
        .with_arguments(json!({"code": 7}).as_object().unwrap().clone());
    let _ = tokio::time::timeout(Duration::from_secs(5), client.call_tool(params)).await;
    let status = tokio::time::timeout(crate::support::QUICK, bridge.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(7));
}

#[tokio::test]
async fn a_server_that_exits_before_initialize_gives_the_bridge_its_code() {
    // A Job (or the daemon) sees the server's own code, not the bridge's 1.
    let output = tokio::process::Command::new(crate::support::BIN)
        .args(["bridge", "--host", "127.0.0.1", "--port", "0", "--"])
        .args([
            crate::support::TEST_SERVER,
            "serve",
            "--fail-init",
            "no such package",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("it exited with code 3"), "{stderr}");
}

#[tokio::test]
async fn a_command_that_cannot_start_makes_the_bridge_fail() {
    let mut process = tokio::process::Command::new(crate::support::BIN)
        .args([
            "bridge",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--",
            "no-such-command-xyz",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = tokio::time::timeout(crate::support::QUICK, process.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(process.stderr.as_mut().unwrap(), &mut stderr)
        .await
        .unwrap();
    assert!(
        stderr.contains("cannot start \"no-such-command-xyz\""),
        "{stderr}"
    );
}

#[tokio::test]
async fn sigterm_stops_the_server_group_and_exits_zero() {
    let bridge = test_bridge(&[]).await;
    wait_healthy(&bridge).await;
    // The MCP server's process group is the one other than the bridge's, among the
    // bridge's children.
    let children = std::fs::read_to_string(format!(
        "/proc/{}/task/{}/children",
        bridge.pid(),
        bridge.pid()
    ))
    .unwrap();
    let server: u32 = children.split_whitespace().next().unwrap().parse().unwrap();
    assert!(!group(server).is_empty());
    let status = bridge.stop().await;
    assert_eq!(status.code(), Some(0));
    crate::support::assert_groups_gone(&[server]).await;
}
