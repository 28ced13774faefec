//! Warm pools on the local backend: members handed out once each, creates that change the
//! preset served fresh, members unlisted, the pool refilled, and nothing left on shutdown.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

/// A presets directory with `warmtest`: the test server marked with `marker`, and
/// `extra` lines.
fn presets_dir(marker: &str, extra: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("presets-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let preset = format!(
        "name: warmtest\ndescription: the test server\nruntime_exec: {TEST_SERVER}\n\
         runtime_mcp: serve\nruntime_args: \"{marker}\"\n{extra}"
    );
    std::fs::write(dir.join("warmtest.yaml"), preset).unwrap();
    dir
}

async fn pool_ready(meta: &rmcp::Peer<rmcp::RoleClient>) -> Option<u64> {
    let presets = call_ok(meta, "list_presets", json!({})).await;
    let list = presets["result"].as_array().unwrap().clone();
    let warm = list.into_iter().find(|p| p["name"] == "warmtest")?;
    warm["pool_ready"].as_u64()
}

async fn wait_for_pool(meta: &rmcp::Peer<rmcp::RoleClient>, ready: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while pool_ready(meta).await != Some(ready) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the pool never had {ready} ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The children handed out from the pool so far, by name, as the daemon logged them.
fn handed_out(daemon: &Process) -> Vec<String> {
    let log = daemon.log_text();
    let lines = log
        .lines()
        .filter(|l| l.contains("handed out from the warm pool"));
    let parsed = lines.map(|l| serde_json::from_str::<Value>(l).unwrap());
    parsed
        .map(|l| l["fields"]["job_name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_pool_hands_each_member_out_once_refills_and_leaves_nothing_on_shutdown() {
    let marker = format!("--marker={}", uuid::Uuid::new_v4().simple());
    let dir = presets_dir(&marker, "");
    let daemon = Process::daemon(&[
        "--presets-dir",
        dir.to_str().unwrap(),
        "--warm-pool",
        "warmtest=4",
        "--max-servers",
        "100",
        "--max-servers-per-session",
        "100",
    ])
    .await;
    let meta = http_client(&daemon.url("/mcp")).await;
    wait_for_pool(&meta, 4).await;
    assert_eq!(
        text(&call(&meta, "list_mcp_servers", json!({})).await),
        "[]"
    );

    // A member that dies is replaced: kill one (all that runs with the marker is the pool's).
    let before = processes_with(&marker);
    // SAFETY: getpgid and kill have no memory-safety preconditions.
    let group = unsafe { libc::getpgid(before[0] as i32) };
    assert!(group > 1);
    // SAFETY: as above.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    eventually_within("the dead member replaced", Duration::from_secs(60), || {
        daemon
            .log_text()
            .contains("a pool member died; replacing it")
    })
    .await;
    wait_for_pool(&meta, 4).await;
    let after = processes_with(&marker);
    assert!(
        after.iter().any(|pid| !before.contains(pid)),
        "{before:?} {after:?}"
    );

    // 64 creates at once, from 8 sessions: the 4 ready and those it refilled meanwhile
    // come from the pool, each once; the rest are fresh; all are different.
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(http_client(&daemon.url("/mcp")).await);
    }
    let mut creates = Vec::new();
    for client in &clients {
        for _ in 0..8 {
            let peer = client.peer().clone();
            creates.push(tokio::spawn(async move {
                let args = json!({"preset": "warmtest", "wait_for_ready": true});
                call_ok(&peer, "create_mcp_server", args).await
            }));
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for create in creates {
        let server: Value = create.await.unwrap();
        assert_eq!(server["preset"], "warmtest", "{server}");
        names.insert(server["job_name"].as_str().unwrap().to_owned());
    }
    assert_eq!(names.len(), 64, "a child was handed out twice");
    let pooled = handed_out(&daemon);
    let distinct: std::collections::BTreeSet<_> = pooled.iter().collect();
    assert!(
        pooled.len() >= 4 && distinct.len() == pooled.len(),
        "{pooled:?}"
    );
    assert!(pooled.iter().all(|name| names.contains(name)), "{pooled:?}");

    // A create that changes the preset is not served from the pool.
    let changed = json!({"preset": "warmtest", "env": {"EXTRA": "1"}, "wait_for_ready": true});
    wait_for_pool(&meta, 4).await;
    let server = call_ok(&meta, "create_mcp_server", changed).await;
    assert_eq!(handed_out(&daemon).len(), pooled.len());
    assert!(!pooled.contains(&server["job_name"].as_str().unwrap().to_owned()));

    // The pool refills; its members are not listed.
    wait_for_pool(&meta, 4).await;
    let listed = call_ok(&meta, "list_mcp_servers", json!({})).await;
    assert_eq!(listed["result"].as_array().unwrap().len(), 65);

    // /metrics counts the creates by source and shows the pool.
    let metrics = reqwest::get(daemon.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let pool_creates = format!(
        "mcp_ephemeral_k8s_create_duration_seconds_count{{source=\"pool\"}} {}",
        pooled.len()
    );
    assert!(metrics.contains(&pool_creates), "{metrics}");
    let wanted = "mcp_ephemeral_k8s_pool_members{preset=\"warmtest\",state=\"wanted\"} 4";
    assert!(metrics.contains(wanted), "{metrics}");

    // Shutdown deletes the pool's members with the rest: no process is left.
    assert!(daemon.stop().await.success());
    let deadline = tokio::time::Instant::now() + QUICK;
    while !processes_with(&marker).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "left behind: {:?}",
            processes_with(&marker)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_pool_member_gets_the_presets_references_resolved_as_a_fresh_child_does() {
    let marker = format!("--marker={}", uuid::Uuid::new_v4().simple());
    let dir = presets_dir(&marker, "env:\n  TOKEN: \"${MCP_SECRET_POOL_TEST}\"\n");
    let args = [
        "--presets-dir",
        dir.to_str().unwrap(),
        "--warm-pool",
        "warmtest=1",
    ];
    let daemon =
        Process::daemon_with_env(&args, &[("MCP_SECRET_POOL_TEST", "from-the-daemon")]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    wait_for_pool(&meta, 1).await;
    let args = json!({"preset": "warmtest", "wait_for_ready": true});
    let server = call_ok(&meta, "create_mcp_server", args).await;
    assert_eq!(handed_out(&daemon), [server["job_name"].as_str().unwrap()]);
    let child = child_client(&server, false).await;
    let token = text(&call(&child, "env", json!({"name": "TOKEN"})).await);
    assert_eq!(token, "from-the-daemon");
    assert!(daemon.stop().await.success());
    std::fs::remove_dir_all(dir).unwrap();
}
