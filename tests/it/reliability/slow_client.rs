//! A client that opens `GET /sse` and never reads it while it keeps posting requests:
//! the daemon's memory stays bounded (the session's queue fills, then its posts get
//! 503), and other clients are served as usual.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;

use super::{report, rss_mib, scale};
use crate::support::*;

/// Opens `GET /sse`, reads it until the `endpoint` event and initializes the session;
/// returns the stream (never read again) and the URL to post to.
pub async fn stalled_session(daemon: &Process) -> (impl Sized, String) {
    let response = reqwest::get(daemon.url("/sse")).await.unwrap();
    let mut stream = response.bytes_stream();
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = stream.next().await.unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap()
        .trim()
        .to_owned();
    let endpoint = daemon.url(&path);
    let http = reqwest::Client::new();
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "stalled", "version": "1"}}});
    http.post(&endpoint).json(&init).send().await.unwrap();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    http.post(&endpoint)
        .json(&initialized)
        .send()
        .await
        .unwrap();
    (stream, endpoint)
}

#[tokio::test]
async fn a_client_that_never_reads_its_stream_cannot_grow_the_daemon() {
    let scale = scale();
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (stream, endpoint) = stalled_session(&daemon).await;
    let http = reqwest::Client::new();
    let (rss_before, _) = rss_mib(daemon.pid());

    let posts = futures::stream::iter(0..scale.stalled_posts)
        .map(|id| {
            let request = json!({"jsonrpc": "2.0", "id": id + 1, "method": "tools/list"});
            let post = http
                .post(&endpoint)
                .json(&request)
                .timeout(Duration::from_secs(60));
            async move { post.send().await.map(|r| r.status().as_u16()) }
        })
        .buffer_unordered(64);
    let probe = async {
        // Meanwhile another client is served promptly.
        let mut slowest = Duration::ZERO;
        for _ in 0..20 {
            let started = Instant::now();
            call_ok(&meta, "list_mcp_servers", json!({})).await;
            slowest = slowest.max(started.elapsed());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        slowest
    };
    let (statuses, slowest) = tokio::join!(posts.collect::<Vec<_>>(), probe);
    let (rss_after, peak) = rss_mib(daemon.pid());
    let count = |code: u16| {
        statuses
            .iter()
            .filter(|s| matches!(s, Ok(c) if *c == code))
            .count()
    };
    let (accepted, refused) = (count(202), count(503));
    let failed = statuses.len() - accepted - refused;
    drop(stream);
    report(
        "client that never reads its SSE stream",
        &[
            (
                "requests posted to the stalled session",
                scale.stalled_posts.to_string(),
            ),
            ("accepted (202)", accepted.to_string()),
            ("refused, queue full (503)", refused.to_string()),
            ("other answers or errors", failed.to_string()),
            (
                "daemon RSS before / after / peak",
                format!("{rss_before:.1} / {rss_after:.1} / {peak:.1} MiB"),
            ),
            (
                "slowest call of another client meanwhile",
                format!("{:.1} ms", slowest.as_secs_f64() * 1e3),
            ),
        ],
    );
    assert_eq!(failed, 0, "{statuses:?}");
    assert!(
        slowest < Duration::from_secs(2),
        "other clients wait: {slowest:?}"
    );
    assert!(
        rss_after - rss_before < 64.0,
        "memory grew from {rss_before} to {rss_after} MiB"
    );
}
