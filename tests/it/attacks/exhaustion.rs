//! Attacks on the daemon's memory and sockets: floods from a child, connections that never
//! finish a request. Each reports its figures for RELIABILITY.md (`scripts/reliability`).

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{
    reliability::{percentile_ms, report, rss_mib},
    support::*,
};

/// Connections that send part of a request's headers and then nothing.
const SLOW_CONNECTIONS: usize = 1100;

#[tokio::test]
async fn slowloris_connections_are_closed_and_health_keeps_answering() {
    // The test holds SLOW_CONNECTIONS sockets itself; the daemon starts at the soft limit
    // a default Linux session has, 1024, below what the flood needs.
    mcp_ephemeral_k8s::http::raise_open_files_limit();
    let daemon = Process::daemon_with_open_files(&["--header-timeout", "2"], 1024).await;
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", daemon.pid())).unwrap();
    let files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .to_owned();
    let mut slow = Vec::with_capacity(SLOW_CONNECTIONS);
    for _ in 0..SLOW_CONNECTIONS {
        let mut socket = TcpStream::connect(daemon.addr).await.unwrap();
        socket
            .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(socket);
    }
    let started = Instant::now();
    let mut latencies = Vec::new();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for _ in 0..20 {
        let t = Instant::now();
        let response = http.get(daemon.url("/health")).send().await.unwrap();
        assert_eq!(response.status(), 200, "/health under a slowloris flood");
        latencies.push(t.elapsed());
    }
    latencies.sort();
    // Past the header deadline every slow connection has been closed by the daemon.
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(started.elapsed())).await;
    let mut closed = 0;
    for socket in &mut slow {
        let mut buffer = [0; 256];
        let read = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buffer)).await;
        if matches!(read, Ok(Ok(_)) | Ok(Err(_))) {
            closed += 1;
        }
    }
    assert_eq!(closed, SLOW_CONNECTIONS, "slow connections left open");
    report(
        "slowloris",
        &[
            (
                "connections holding half a request",
                SLOW_CONNECTIONS.to_string(),
            ),
            (
                "daemon open-files limit (soft / hard), started at 1024",
                files
                    .split_whitespace()
                    .skip(3)
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" / "),
            ),
            (
                "/health p50 / max while they were open",
                format!(
                    "{} / {}",
                    percentile_ms(&latencies, 0.5),
                    percentile_ms(&latencies, 1.0)
                ),
            ),
            (
                "closed by the daemon after --header-timeout 2",
                closed.to_string(),
            ),
        ],
    );
}

#[tokio::test]
async fn a_childs_endless_stderr_line_costs_the_daemon_nothing() {
    const BYTES: usize = 200 * 1024 * 1024;
    let (daemon, meta, _) = daemon_with_mounted_child("").await;
    let (before, _) = rss_mib(daemon.pid());
    let result = call_ok(&meta, "t_flood_stderr", json!({"count": BYTES})).await;
    assert!(result.to_string().contains("wrote"), "{result}");
    eventually("the line reaches the log tail", || {
        daemon.log_text().contains("xxxx…")
    })
    .await;
    let (after, peak) = rss_mib(daemon.pid());
    assert!(after - before < 32.0, "RSS {before:.1} → {after:.1} MiB");
    report(
        "child stderr flood",
        &[
            ("one stderr line of", "200 MiB".to_owned()),
            (
                "daemon RSS before / after / peak",
                format!("{before:.1} / {after:.1} / {peak:.1} MiB"),
            ),
        ],
    );
}

#[tokio::test]
async fn one_principal_cannot_take_every_server_slot() {
    let tokens = TempFile::with(&format!("alice {ALICE}\nbob {BOB}\n"));
    let args = ["--tokens-file", tokens.path(), "--max-servers", "3"];
    let daemon =
        Process::daemon(&[&args[..], &["--max-servers-per-principal", "2"]].concat()).await;
    // Two sessions of alice's, so the per-session limit is not what stops her.
    for _ in 0..2 {
        let alice = http_client_as(&daemon.url("/mcp"), ALICE).await;
        create_ready(&alice, test_server("")).await;
    }
    let alice = http_client_as(&daemon.url("/mcp"), ALICE).await;
    let error = call_err(&alice, "create_mcp_server", test_server("")).await;
    assert!(error.contains("--max-servers-per-principal 2"), "{error}");
    let bob = http_client_as(&daemon.url("/mcp"), BOB).await;
    create_ready(&bob, test_server("")).await;
}

/// Session floods: opened (and never initialized) past the caps.
const FLOOD_SESSIONS: usize = 3000;

#[tokio::test]
async fn session_floods_meet_the_caps() {
    // The flood takes seconds; the sessions must not expire meanwhile.
    let args = [
        "--max-sessions-per-principal",
        "50",
        "--session-init-timeout",
        "120",
    ];
    let daemon = Process::daemon(&args).await;
    let http = reqwest::Client::new();
    let (before, _) = rss_mib(daemon.pid());
    // /sse: streams opened and never read.
    let mut streams = Vec::new();
    let mut refused = 0;
    for _ in 0..FLOOD_SESSIONS {
        let response = http.get(daemon.url("/sse")).send().await.unwrap();
        match response.status().as_u16() {
            200 => streams.push(response),
            429 => {
                refused += 1;
                let text = response.text().await.unwrap();
                assert!(text.contains("--max-sessions-per-principal 50"), "{text}");
            }
            other => panic!("GET /sse: {other}"),
        }
    }
    assert_eq!(streams.len(), 50);
    // /mcp: initialize posts, never followed by anything.
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "f", "version": "1"}}});
    let mut opened = 0;
    for _ in 0..FLOOD_SESSIONS {
        let response = http
            .post(daemon.url("/mcp"))
            .header("accept", "application/json, text/event-stream")
            .json(&init)
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            200 => opened += 1,
            429 => {
                refused += 1;
                let text = response.text().await.unwrap();
                assert!(text.contains("--max-sessions-per-principal 50"), "{text}");
            }
            other => panic!("POST /mcp initialize: {other}"),
        }
    }
    assert_eq!(opened, 50);
    let (during, peak) = rss_mib(daemon.pid());
    // Room again once its streams are gone (as soon as the daemon sees them closed).
    drop(streams);
    let deadline = Instant::now() + QUICK;
    let transport = loop {
        let opened =
            mcp_ephemeral_k8s::sse::client::SseClientTransport::connect(&daemon.url("/sse")).await;
        match opened {
            Ok(transport) => break transport,
            Err(e) if Instant::now() < deadline => {
                assert!(e.to_string().contains("429"), "{e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("no room after the streams closed: {e}"),
        }
    };
    let meta = rmcp::ServiceExt::serve(
        Recorder::new(rmcp::model::ProtocolVersion::V_2024_11_05),
        transport,
    )
    .await
    .unwrap();
    assert_eq!(
        text(&call(&meta, "list_mcp_servers", json!({})).await),
        "[]"
    );
    report(
        "session flood",
        &[
            (
                "sessions attempted on /sse and on /mcp, each",
                FLOOD_SESSIONS.to_string(),
            ),
            (
                "refused with 429 past --max-sessions-per-principal 50",
                refused.to_string(),
            ),
            (
                "daemon RSS before / during / peak",
                format!("{before:.1} / {during:.1} / {peak:.1} MiB"),
            ),
        ],
    );
}

#[tokio::test]
async fn sessions_that_never_initialize_or_go_silent_are_closed() {
    let args = ["--session-init-timeout", "1", "--session-idle-timeout", "2"];
    let daemon = Process::daemon(&args).await;
    let started = Instant::now();
    let stream = reqwest::get(daemon.url("/sse")).await.unwrap();
    let body = tokio::time::timeout(Duration::from_secs(10), stream.text()).await;
    assert!(
        body.is_ok(),
        "an uninitialized /sse session outlived its deadline"
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    // An initialized session that sends nothing is closed after the idle timeout: its
    // next request finds no session.
    let meta = sse_client(&daemon.url("/sse")).await;
    assert_eq!(
        text(&call(&meta, "list_mcp_servers", json!({})).await),
        "[]"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    let params = rmcp::model::CallToolRequestParams::new("list_mcp_servers");
    assert!(
        meta.call_tool(params).await.is_err(),
        "the idle session still answers"
    );
}

#[tokio::test]
async fn a_log_flood_while_a_session_stalls_holds_up_nobody() {
    let count: usize = if std::env::var("RELIABILITY").is_ok_and(|v| v == "full") {
        100_000
    } else {
        5_000
    };
    let (daemon, meta, _) = daemon_with_mounted_child("").await;
    // A session of the same principal that never reads its stream gets every log too.
    let (stalled, _) = crate::reliability::slow_client::stalled_session(&daemon).await;
    let (before, _) = rss_mib(daemon.pid());
    let started = Instant::now();
    call_ok(&meta, "t_log_flood", json!({"count": count})).await;
    let recorder = meta.service().clone();
    let last = serde_json::Value::from(count - 1);
    // A figure, not a limit: on a loaded machine the full scale takes longer than QUICK.
    eventually_within("the reading client gets the last log", QUICK * 3, || {
        recorder
            .seen()
            .logs
            .last()
            .is_some_and(|l| l.data["n"] == last)
    })
    .await;
    let elapsed = started.elapsed();
    let (after, peak) = rss_mib(daemon.pid());
    let received = recorder.seen().logs.len();
    drop(stalled);
    report(
        "log flood with a stalled session",
        &[
            ("log notifications sent by the child", count.to_string()),
            ("received by the reading client", received.to_string()),
            (
                "time until its last one",
                format!("{:.2} s", elapsed.as_secs_f64()),
            ),
            (
                "daemon RSS before / after / peak",
                format!("{before:.1} / {after:.1} / {peak:.1} MiB"),
            ),
        ],
    );
    assert!(after - before < 32.0, "RSS {before:.1} → {after:.1} MiB");
}

#[tokio::test]
async fn an_answer_too_large_to_read_fails_its_call_at_once() {
    let (daemon, meta, _) = daemon_with_mounted_child("").await;
    let started = Instant::now();
    let args = json!({"count": 17 * 1024 * 1024});
    let error = call_err(&meta, "t_big_answer", args).await;
    assert!(error.contains("more than the 16777216"), "{error}");
    // Not at the call timeout (300 s): as soon as the bridge has read the line.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    // The mount keeps working.
    assert_eq!(
        text(&call(&meta, "t_echo", json!({"text": "still"})).await),
        "still"
    );
    let (rss, peak) = rss_mib(daemon.pid());
    report(
        "oversized child answer",
        &[
            ("answer of", "17 MiB".to_owned()),
            (
                "call failed after",
                format!("{:.2} s", started.elapsed().as_secs_f64()),
            ),
            (
                "daemon RSS after / peak",
                format!("{rss:.1} / {peak:.1} MiB"),
            ),
        ],
    );
}
