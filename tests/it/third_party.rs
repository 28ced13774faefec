//! End to end with real third-party MCP servers from the package registries:
//! `uvx mcp-server-time` (PyPI) and `npx @modelcontextprotocol/server-everything` (npm).
//! `scripts/test` installs uv and pre-fetches the npm package; these tests never skip.

use serde_json::json;

use crate::support::*;

/// Creates `args` (waiting for ready), calls `tool` on the child directly, deletes it and
/// checks no process is left. Returns the tool's text.
async fn create_call_delete(
    args: serde_json::Value,
    tool: &str,
    tool_args: serde_json::Value,
) -> String {
    let daemon = Process::daemon(&["--ready-timeout", "600"]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (server, groups) = create_ready(&meta, args).await;
    let job_name = server["job_name"].as_str().unwrap().to_owned();

    let child = child_client(&server, false).await;
    let tools = tool_names(&child).await;
    assert!(tools.iter().any(|t| t == tool), "{tool} not in {tools:?}");
    let result = call(&child, tool, tool_args).await;
    assert_ne!(result.is_error, Some(true), "{}", text(&result));
    child.cancel().await.unwrap();

    call_ok(&meta, "delete_mcp_server", json!({"job_name": job_name})).await;
    assert_groups_gone(&groups).await;
    text(&result)
}

#[tokio::test]
async fn uvx_mcp_server_time_end_to_end() {
    let args = json!({"runtime_exec": "uvx", "runtime_mcp": "mcp-server-time"});
    let text = create_call_delete(args, "get_current_time", json!({"timezone": "UTC"})).await;
    assert!(text.contains("UTC"), "{text}");
}

#[tokio::test]
async fn npx_server_everything_end_to_end() {
    let args =
        json!({"runtime_exec": "npx", "runtime_mcp": "@modelcontextprotocol/server-everything"});
    let text = create_call_delete(args, "echo", json!({"message": "hello everything"})).await;
    assert!(text.contains("hello everything"), "{text}");
}

#[tokio::test]
async fn the_time_preset_runs_the_same_server() {
    let text = create_call_delete(
        json!({"preset": "time"}),
        "convert_time",
        json!({
            "source_timezone": "UTC", "time": "12:00", "target_timezone": "Europe/Amsterdam"
        }),
    )
    .await;
    assert!(text.contains("Europe/Amsterdam"), "{text}");
}

/// Calls the mounted reference server's long-running operation (3 steps) and waits for its
/// three progress notifications at the client.
async fn long_running_operation_reports_progress(
    meta: &rmcp::service::RunningService<rmcp::RoleClient, Recorder>,
) {
    let arguments = json!({"duration": 0.3, "steps": 3});
    let result = call(meta, "ev_trigger-long-running-operation", arguments).await;
    assert_ne!(result.is_error, Some(true), "{}", text(&result));
    let recorder = meta.service().clone();
    eventually(
        "three progress notifications from the reference server",
        || {
            let progress = recorder.seen().progress;
            progress.iter().filter(|p| p.total == Some(3.0)).count() >= 3
        },
    )
    .await;
}

/// The reference server mounted: its tools, resources, templates, prompts, completions and
/// progress, all through the meta-server.
#[tokio::test]
async fn server_everything_mounted_end_to_end() {
    use rmcp::model::{
        ArgumentInfo, CompleteRequestParams, GetPromptRequestParams, ReadResourceRequestParams,
        Reference, ResourceContents,
    };

    let daemon = Process::daemon(&["--ready-timeout", "600"]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let args =
        json!({"runtime_exec": "npx", "runtime_mcp": "@modelcontextprotocol/server-everything"});
    let (server, groups) = create_ready(&meta, args).await;
    call_ok(
        &meta,
        "mount_mcp_server",
        json!({"job_name": server["job_name"], "name": "ev"}),
    )
    .await;

    let tools = tool_names(&meta).await;
    assert!(
        tools.contains(&"ev_echo".to_owned()) && tools.contains(&"ev_get-sum".to_owned()),
        "{tools:?}"
    );
    let echoed = text(&call(&meta, "ev_echo", json!({"message": "via the mount"})).await);
    assert!(echoed.contains("via the mount"), "{echoed}");
    let sum = text(&call(&meta, "ev_get-sum", json!({"a": 2, "b": 40})).await);
    assert!(sum.contains("42"), "{sum}");

    long_running_operation_reports_progress(&meta).await;

    let uri = "demo://ev/resource/static/document/architecture.md";
    let resources: Vec<String> = meta
        .list_all_resources()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.uri)
        .collect();
    assert!(resources.iter().any(|r| r == uri), "{resources:?}");
    let read = meta
        .read_resource(ReadResourceRequestParams::new(uri))
        .await
        .unwrap();
    assert!(
        matches!(&read.contents[0], ResourceContents::TextResourceContents { text, .. } if !text.is_empty())
    );
    let blob = meta
        .read_resource(ReadResourceRequestParams::new(
            "demo://ev/resource/dynamic/blob/1",
        ))
        .await
        .unwrap();
    assert!(
        matches!(&blob.contents[0], ResourceContents::BlobResourceContents { blob, .. } if !blob.is_empty())
    );

    let prompt = meta
        .get_prompt(GetPromptRequestParams::new("ev_simple-prompt"))
        .await
        .unwrap();
    assert!(!prompt.messages.is_empty());
    let complete = CompleteRequestParams::new(
        Reference::for_prompt("ev_completable-prompt"),
        ArgumentInfo::new("department", "E"),
    );
    let values = meta.complete(complete).await.unwrap().completion.values;
    assert!(values.iter().any(|v| v.starts_with('E')), "{values:?}");

    call_ok(
        &meta,
        "delete_mcp_server",
        json!({"job_name": server["job_name"]}),
    )
    .await;
    assert!(!tool_names(&meta).await.contains(&"ev_echo".to_owned()));
    assert_groups_gone(&groups).await;
}

/// Kills a process group when dropped, so a failing test leaves nothing behind.
struct GroupGuard(u32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        signal_group(self.0, libc::SIGKILL);
    }
}

fn signal_group(pgid: u32, sig: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(-(pgid as i32), sig) };
}

/// The reference server over its own streamable HTTP, mounted by URL: it sends its
/// sampling request and progress on the response stream of the call that caused them
/// (the TypeScript SDK does), and they reach the calling client.
#[tokio::test]
async fn server_everything_over_http_mounted_by_url_asks_the_calling_client() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = tokio::process::Command::new("npx")
        .args([
            "--yes",
            "@modelcontextprotocol/server-everything",
            "streamableHttp",
        ])
        .env("PORT", port.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .expect("npx starts");
    let _group = GroupGuard(server.id().unwrap());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "server-everything never listened"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let daemon = Process::daemon(&LOOPBACK_URL_MOUNTS).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let url = format!("http://127.0.0.1:{port}/mcp");
    call_ok(&meta, "mount_mcp_server", json!({"url": url, "name": "ev"})).await;

    let sampled = call(
        &meta,
        "ev_trigger-sampling-request",
        json!({"prompt": "via the lane"}),
    )
    .await;
    assert_ne!(sampled.is_error, Some(true), "{}", text(&sampled));
    assert!(
        text(&sampled).contains("sampled: Resource trigger-sampling-request context: via the lane"),
        "{}",
        text(&sampled)
    );
    assert_eq!(meta.service().seen().sampled.len(), 1);

    long_running_operation_reports_progress(&meta).await;
}
