//! The daemon stopped (SIGTERM) or killed (SIGKILL) with children running and mounted:
//! on the local backend every child goes with it, and a new daemon starts clean.

use serde_json::json;

use super::report;
use crate::support::*;

/// A daemon with `count` children, one of them mounted; returns it, its client and the
/// children's process groups.
async fn daemon_with_children(
    count: usize,
) -> (
    Process,
    rmcp::service::RunningService<rmcp::RoleClient, Recorder>,
    Vec<u32>,
) {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let mut groups = Vec::new();
    for index in 0..count {
        let (server, child_groups) = create_ready(&meta, test_server("")).await;
        groups.extend(child_groups);
        if index == 0 {
            let mount = json!({"job_name": server["job_name"], "name": "t"});
            call_ok(&meta, "mount_mcp_server", mount).await;
        }
    }
    (daemon, meta, groups)
}

#[tokio::test]
async fn stopped_or_killed_daemons_leave_no_child_behind() {
    const CHILDREN: usize = 3;
    let (daemon, meta, stopped_groups) = daemon_with_children(CHILDREN).await;
    drop(meta);
    assert!(daemon.stop().await.success());
    let after_stop: Vec<u32> = stopped_groups.iter().flat_map(|g| group(*g)).collect();

    let (daemon, meta, killed_groups) = daemon_with_children(CHILDREN).await;
    signal(daemon.pid(), libc::SIGKILL);
    drop(meta);
    assert_groups_gone(&killed_groups).await;
    drop(daemon);

    // A new daemon starts with nothing to adopt and works.
    let fresh = Process::daemon(&[]).await;
    let meta = http_client(&fresh.url("/mcp")).await;
    let listed = call_ok(&meta, "list_mcp_servers", json!({})).await;
    assert_eq!(listed["result"], json!([]));
    let (_, groups) = create_ready(&meta, test_server("")).await;
    drop(meta);
    assert!(fresh.stop().await.success());
    let after_restart: Vec<u32> = groups.iter().flat_map(|g| group(*g)).collect();

    report(
        "daemon restarts",
        &[
            ("children running at SIGTERM", CHILDREN.to_string()),
            ("processes left after SIGTERM", after_stop.len().to_string()),
            ("children running at SIGKILL", CHILDREN.to_string()),
            ("processes left after SIGKILL", "0".to_owned()),
            ("servers a new daemon lists", "0".to_owned()),
            (
                "processes left by the new daemon",
                after_restart.len().to_string(),
            ),
        ],
    );
    assert!(after_stop.is_empty(), "left after SIGTERM: {after_stop:?}");
    assert!(
        after_restart.is_empty(),
        "left by the new daemon: {after_restart:?}"
    );
}
