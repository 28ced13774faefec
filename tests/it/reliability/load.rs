//! 64 sessions (streamable HTTP and legacy SSE) calling tools through mounts while the
//! children behind the mounts are killed and replaced. Every call ends (no hang), every
//! answer is right, and no process outlives the daemon.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use rmcp::{Peer, RoleClient, model::CallToolRequestParams};
use serde_json::json;

use super::{percentile_ms, report, rss_mib, scale};
use crate::support::*;

/// Mounted children the sessions spread their calls over.
const MOUNTS: usize = 4;

/// A call slower than this counts as a hang.
const HANG: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    errors: AtomicUsize,
    wrong: AtomicUsize,
    hangs: AtomicUsize,
    latencies: Mutex<Vec<Duration>>,
}

/// Starts a test server, mounts it as `m<index>`; returns its job name and process groups.
async fn start_child(meta: &Peer<RoleClient>, index: usize) -> (String, Vec<u32>) {
    let (server, groups) = create_ready(meta, test_server("")).await;
    let job = server["job_name"].as_str().unwrap().to_owned();
    let mount = json!({"job_name": job, "name": format!("m{index}")});
    call_ok(meta, "mount_mcp_server", mount).await;
    (job, groups)
}

/// One call of `m<mount>_add`; checks the sum.
async fn add(peer: &Peer<RoleClient>, mount: usize, a: i64, b: i64, tally: &Tally) {
    let mut params = CallToolRequestParams::new(format!("m{mount}_add"));
    params.arguments = json!({"a": a, "b": b}).as_object().cloned();
    let started = Instant::now();
    match tokio::time::timeout(HANG, peer.call_tool(params)).await {
        Err(_) => {
            tally.hangs.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Ok(result)) if result.is_error != Some(true) => {
            let sum = result
                .structured_content
                .as_ref()
                .and_then(|s| s["sum"].as_i64());
            let counter = if sum == Some(a + b) {
                &tally.ok
            } else {
                &tally.wrong
            };
            counter.fetch_add(1, Ordering::Relaxed);
            tally.latencies.lock().unwrap().push(started.elapsed());
        }
        // A tool error (the child is down) or a protocol error (its mount is being
        // replaced): expected during an outage.
        Ok(_) => {
            tally.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[tokio::test]
async fn sessions_keep_working_while_children_are_killed_and_replaced() {
    let scale = scale();
    let daemon = Process::daemon(&["--max-servers-per-session", "0", "--max-mounts", "0"]).await;
    let admin = http_client(&daemon.url("/mcp")).await;
    let mut jobs = Vec::new();
    let mut groups = Vec::new();
    for index in 0..MOUNTS {
        let (job, child_groups) = start_child(&admin, index).await;
        jobs.push(job);
        groups.extend(child_groups);
    }
    let mut clients = Vec::new();
    for session in 0..scale.sessions {
        clients.push(if session % 2 == 0 {
            http_client(&daemon.url("/mcp")).await
        } else {
            sse_client(&daemon.url("/sse")).await
        });
    }
    let started = Instant::now();
    let tally = Arc::new(Tally::default());
    let calls = clients.iter().enumerate().map(|(session, client)| {
        let (peer, tally) = (client.peer().clone(), tally.clone());
        async move {
            for call in 0..scale.calls_per_session {
                let mount = (session + call) % MOUNTS;
                add(&peer, mount, session as i64, call as i64, &tally).await;
            }
        }
    });
    let chaos = async {
        let pause = Duration::from_millis(200);
        for kill in 0..scale.kills {
            tokio::time::sleep(pause).await;
            let index = kill % MOUNTS;
            let status = call_ok(
                &admin,
                "get_mcp_server_status",
                json!({"job_name": jobs[index]}),
            )
            .await;
            for group in process_groups(&status) {
                signal(group, libc::SIGKILL);
            }
            // The agent notices, deletes it and starts a replacement under the same name.
            call(
                &admin,
                "delete_mcp_server",
                json!({"job_name": jobs[index]}),
            )
            .await;
            let (job, child_groups) = start_child(&admin, index).await;
            jobs[index] = job;
            groups.extend(child_groups);
        }
    };
    tokio::join!(futures::future::join_all(calls), chaos);
    let elapsed = started.elapsed();
    // After the chaos, every session reaches every mount.
    let settled = Tally::default();
    for (session, client) in clients.iter().enumerate() {
        for mount in 0..MOUNTS {
            add(client.peer(), mount, session as i64, 1, &settled).await;
        }
    }
    let (rss, peak) = rss_mib(daemon.pid());
    for client in clients {
        let _ = client.cancel().await;
    }
    drop(admin);
    let status = daemon.stop().await;
    assert!(status.success(), "{status:?}");
    let leaked: Vec<u32> = groups.iter().flat_map(|g| group(*g)).collect();
    let mut latencies = tally.latencies.lock().unwrap().clone();
    latencies.sort();
    let made = scale.sessions * scale.calls_per_session;
    let count = |n: &AtomicUsize| n.load(Ordering::Relaxed);
    report(
        "load with killed children",
        &[
            (
                "sessions (half streamable HTTP, half SSE)",
                scale.sessions.to_string(),
            ),
            ("calls made through mounts", made.to_string()),
            ("calls answered right", count(&tally.ok).to_string()),
            (
                "errors seen (child down or being replaced)",
                count(&tally.errors).to_string(),
            ),
            ("wrong answers", count(&tally.wrong).to_string()),
            ("hung calls (> 30 s)", count(&tally.hangs).to_string()),
            ("children killed and replaced", scale.kills.to_string()),
            (
                "calls after the chaos that failed",
                (scale.sessions * MOUNTS - count(&settled.ok)).to_string(),
            ),
            ("processes leaked", leaked.len().to_string()),
            (
                "call latency p50 / p99",
                format!(
                    "{} / {}",
                    percentile_ms(&latencies, 0.5),
                    percentile_ms(&latencies, 0.99)
                ),
            ),
            (
                "daemon RSS at the end / peak",
                format!("{rss:.1} MiB / {peak:.1} MiB"),
            ),
            ("duration", format!("{:.1} s", elapsed.as_secs_f64())),
        ],
    );
    assert_eq!(count(&tally.hangs), 0, "no call may hang");
    assert_eq!(count(&tally.wrong), 0, "no call may get another's answer");
    assert_eq!(
        count(&settled.ok),
        scale.sessions * MOUNTS,
        "every mount works again"
    );
    assert!(count(&tally.ok) > made / 2, "most calls succeed");
    assert!(leaked.is_empty(), "processes leaked: {leaked:?}");
}
