//! Allowlists and limits: what is refused is refused before anything starts, with an
//! error naming the flag; idle and old children are reaped.

use std::time::Duration;

use serde_json::json;

use crate::support::*;

async fn server_count(meta: &rmcp::Peer<rmcp::RoleClient>) -> usize {
    let list = call_ok(meta, "list_mcp_servers", json!({})).await;
    list["result"].as_array().unwrap().len()
}

#[tokio::test]
async fn runtimes_packages_and_images_outside_the_allowlists_are_refused() {
    let daemon = Process::daemon(&["--allow-package", "serve,mcp-server-*"]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let shell = json!({"runtime_exec": "sh", "runtime_mcp": "-c", "runtime_args": "'echo pwned'"});
    let error = call_err(&meta, "create_mcp_server", shell).await;
    assert!(
        error.contains("invalid runtime"),
        "options are not packages: {error}"
    );
    let shell = json!({"runtime_exec": "sh", "runtime_mcp": "evil.sh"});
    let error = call_err(&meta, "create_mcp_server", shell).await;
    assert!(
        error.contains("not allowed") && error.contains("--allow-runtime"),
        "{error}"
    );
    let package = json!({"runtime_exec": "uvx", "runtime_mcp": "left-pad"});
    let error = call_err(&meta, "create_mcp_server", package).await;
    assert!(error.contains("--allow-package"), "{error}");
    let image = json!({"image": "docker.io/evil/miner:latest", "port": 8080});
    let error = call_err(&meta, "create_mcp_server", image).await;
    assert!(error.contains("--allow-image"), "{error}");
    assert_eq!(server_count(&meta).await, 0, "nothing was created");
    // Allowed: the test server (allowed runtime, package `serve`).
    create_ready(&meta, test_server("")).await;
    let log = daemon.log_text();
    let denied = log.lines().filter(|l| l.contains(r#""outcome":"denied""#));
    assert_eq!(denied.count(), 3, "each refusal is audited: {log}");
}

#[tokio::test]
async fn server_limits_refuse_before_starting_anything() {
    let daemon = Process::daemon(&["--max-servers", "2", "--max-servers-per-session", "1"]).await;
    let first = http_client(&daemon.url("/mcp")).await;
    let second = http_client(&daemon.url("/mcp")).await;
    let third = http_client(&daemon.url("/mcp")).await;
    create_ready(&first, test_server("")).await;
    let error = call_err(&first, "create_mcp_server", test_server("")).await;
    assert!(error.contains("--max-servers-per-session 1"), "{error}");
    create_ready(&second, test_server("")).await;
    let error = call_err(&third, "create_mcp_server", test_server("")).await;
    assert!(
        error.contains("limit reached") && error.contains("--max-servers 2"),
        "{error}"
    );
    assert_eq!(server_count(&third).await, 2);
    // Deleting one frees its place.
    let list = call_ok(&first, "list_mcp_servers", json!({})).await;
    let job = list["result"][0]["job_name"].clone();
    call_ok(&first, "delete_mcp_server", json!({"job_name": job})).await;
    create_ready(&third, test_server("")).await;
}

#[tokio::test]
async fn the_mount_limit_refuses_another_mount() {
    let daemon = Process::daemon(&["--max-mounts", "1"]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (a, _) = create_ready(&meta, test_server("")).await;
    let (b, _) = create_ready(&meta, test_server("")).await;
    call_ok(
        &meta,
        "mount_mcp_server",
        json!({"job_name": a["job_name"], "name": "a"}),
    )
    .await;
    let error = call_err(
        &meta,
        "mount_mcp_server",
        json!({"job_name": b["job_name"], "name": "b"}),
    )
    .await;
    assert!(error.contains("--max-mounts"), "{error}");
    assert!(!tool_names(&meta).await.iter().any(|t| t.starts_with("b_")));
}

#[tokio::test]
async fn calls_through_mounts_are_cancelled_after_the_call_timeout() {
    let daemon = Process::daemon(&["--call-timeout", "1"]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (server, _) = create_ready(&meta, test_server("")).await;
    let mount = json!({"job_name": server["job_name"], "name": "t"});
    call_ok(&meta, "mount_mcp_server", mount).await;
    let started = std::time::Instant::now();
    let error = call_err(&meta, "t_slow", json!({"millis": 30_000})).await;
    assert!(error.contains("no answer within 1s"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The mount still works.
    let echoed = call(&meta, "t_echo", json!({"text": "still here"})).await;
    assert_eq!(text(&echoed), "still here");
}

/// Waits until the daemon lists no server.
async fn until_none_listed(meta: &rmcp::Peer<rmcp::RoleClient>) {
    let deadline = tokio::time::Instant::now() + QUICK;
    while server_count(meta).await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "never reaped");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn idle_children_are_unmounted_and_deleted_after_the_idle_ttl() {
    let daemon = Process::daemon(&["--idle-ttl", "2"]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (server, groups) = create_ready(&meta, test_server("")).await;
    let mount = json!({"job_name": server["job_name"], "name": "t"});
    call_ok(&meta, "mount_mcp_server", mount).await;
    // Calls through the mount keep it alive past the TTL.
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        call_ok(&meta, "t_echo", json!({"text": "busy"})).await;
    }
    assert_eq!(server_count(&meta).await, 1, "a used child is not reaped");
    until_none_listed(&meta).await;
    assert_groups_gone(&groups).await;
    assert!(!tool_names(&meta).await.contains(&"t_echo".to_owned()));
    let log = daemon.log_text();
    assert!(log.contains("unused for longer than --idle-ttl"), "{log}");
}

#[tokio::test]
async fn children_are_deleted_after_the_max_lifetime() {
    let daemon = Process::daemon(&["--max-lifetime", "2"]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (_, groups) = create_ready(&meta, test_server("")).await;
    until_none_listed(&meta).await;
    assert_groups_gone(&groups).await;
    assert!(daemon.log_text().contains("older than --max-lifetime"));
}
