//! What clients set up on a mount: whose log messages reach whom, each client's own log
//! level, and the level and subscriptions set up again after the mount reconnects.

use std::time::Duration;

use rmcp::model::{LoggingLevel, SetLevelRequestParams, SubscribeRequestParams};
use serde_json::{Value, json};

use crate::support::*;

/// The log lines `client` has received, as text.
fn lines(client: &rmcp::service::RunningService<rmcp::RoleClient, Recorder>) -> Vec<String> {
    let logs = client.service().seen().logs;
    logs.iter()
        .map(|l| l.data.as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn set_level(client: &rmcp::Peer<rmcp::RoleClient>, level: LoggingLevel) {
    client
        .set_level(SetLevelRequestParams::new(level))
        .await
        .unwrap();
}

#[tokio::test]
async fn log_messages_go_to_the_caller_or_to_those_who_asked() {
    let (daemon, alice, _) = daemon_with_mounted_child("").await;
    let bob = http_client(&daemon.url("/mcp")).await;

    // Sent while serving alice's call: hers alone, though bob asked for every message.
    set_level(&bob, LoggingLevel::Debug).await;
    call_ok(&alice, "t_log", json!({"text": "mine"})).await;
    eventually("alice's log line", || {
        lines(&alice).contains(&"mine".into())
    })
    .await;

    // Sent outside any call: to those who asked for logs (bob), not to alice.
    call_ok(&alice, "t_log_later", json!({"millis": 2500})).await;
    eventually("bob gets the later line", || {
        lines(&bob).contains(&"later".into())
    })
    .await;
    assert_eq!(lines(&bob), ["later"], "bob never got alice's call's line");
    assert!(
        !lines(&alice).contains(&"later".into()),
        "{:?}",
        lines(&alice)
    );

    // Alice asking for errors only narrows what she gets, not what bob gets: the child is
    // asked for the least severe level anyone asked for.
    set_level(&alice, LoggingLevel::Error).await;
    let state: Value =
        serde_json::from_str(&text(&call(&alice, "t_state", json!({})).await)).unwrap();
    assert_eq!(state["level"], "debug", "{state}");
    call_ok(&bob, "t_log_later", json!({"millis": 2500})).await;
    eventually("bob's second later line", || lines(&bob).len() == 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !lines(&alice).contains(&"later".into()),
        "{:?}",
        lines(&alice)
    );
}

#[tokio::test]
async fn a_reconnect_restores_the_log_level_and_the_subscriptions() {
    let daemon = Process::daemon(&LOOPBACK_URL_MOUNTS).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let first = test_bridge(&[]).await;
    wait_healthy(&first.url("/health")).await;
    let args = json!({"url": first.url("/mcp"), "name": "b"});
    call_ok(&meta, "mount_mcp_server", args).await;
    set_level(&meta, LoggingLevel::Warning).await;
    meta.subscribe(SubscribeRequestParams::new("test://b/greeting"))
        .await
        .unwrap();

    // The server restarts: a new process with a fresh state, on the same port.
    let before = meta.service().seen().tools_changed;
    let _second = restart_bridge(first, &[]).await;
    let recorder = meta.service().clone();
    eventually("the mount reconnected", || {
        recorder.seen().tools_changed > before
    })
    .await;
    let state: Value =
        serde_json::from_str(&text(&call(&meta, "b_state", json!({})).await)).unwrap();
    assert_eq!(
        state,
        json!({"level": "warning", "subscribed": ["test://greeting"]})
    );
    call_ok(&meta, "b_touch", json!({"uri": "test://greeting"})).await;
    eventually("resources/updated after the reconnect", || {
        recorder.seen().updated == ["test://b/greeting"]
    })
    .await;
}
