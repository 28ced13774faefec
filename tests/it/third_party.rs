//! End to end with real third-party MCP servers from the package registries:
//! `uvx mcp-server-time` (PyPI) and `npx @modelcontextprotocol/server-everything` (npm).
//! `scripts/test` installs uv and pre-fetches the npm package; these tests never skip.

use serde_json::json;

use crate::support::{
    Process, assert_groups_gone, call, call_ok, create_ready, http_client, text, tool_names,
};

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

    let child = http_client(server["url"].as_str().unwrap()).await;
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
