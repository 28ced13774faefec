//! The daemon's endpoints: `/health`, `/mcp`, legacy `/sse`, and stdio.

use std::process::Stdio;

use rmcp::{
    ServiceExt,
    model::{ProtocolVersion, ReadResourceRequestParams, ResourceContents},
};
use serde_json::json;

use crate::support::*;

/// The meta tools listed without a registry (search_registry is listed only with one).
const META_TOOLS: [&str; 10] = [
    "call_mounted_tool",
    "create_mcp_server",
    "delete_mcp_server",
    "get_mcp_server_status",
    "list_mcp_servers",
    "list_mounted_tools",
    "list_presets",
    "mount_mcp_server",
    "remove_mcp_server_mount",
    "search_mounted_tools",
];

fn sorted_names(tools: &[rmcp::model::Tool]) -> Vec<String> {
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn health_answers_ok_as_plain_text() {
    let daemon = Process::daemon(&[]).await;
    let response = reqwest::get(daemon.url("/health")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(response.text().await.unwrap(), "OK");
}

#[tokio::test]
async fn streamable_http_clients_of_2025_03_26_and_2025_11_25_see_the_meta_tools() {
    let daemon = Process::daemon(&[]).await;
    for version in [ProtocolVersion::V_2025_03_26, ProtocolVersion::V_2025_11_25] {
        let client = http_client_with(&daemon.url("/mcp"), version.clone()).await;
        assert_eq!(client.peer_info().unwrap().protocol_version, version);
        let tools = client.list_all_tools().await.unwrap();
        assert_eq!(sorted_names(&tools), META_TOOLS);
        let create = tools
            .iter()
            .find(|t| t.name == "create_mcp_server")
            .unwrap();
        let properties = create.input_schema["properties"].as_object().unwrap();
        for param in [
            "runtime_exec",
            "runtime_mcp",
            "runtime_args",
            "env",
            "wait_for_ready",
            "preset",
        ] {
            assert!(
                properties.contains_key(param),
                "create_mcp_server lacks {param}"
            );
        }
        client.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn newer_protocol_versions_are_capped_at_2025_11_25() {
    let daemon = Process::daemon(&[]).await;
    let client =
        http_client_with(&daemon.url("/mcp"), ProtocolVersion::LATEST_WITH_INITIALIZE).await;
    assert_eq!(
        client.peer_info().unwrap().protocol_version,
        ProtocolVersion::V_2025_11_25
    );
}

#[tokio::test]
async fn a_2024_11_05_client_on_legacy_sse_lists_tools_and_reads_the_version() {
    let daemon = Process::daemon(&[]).await;
    let client = sse_client(&daemon.url("/sse")).await;
    assert_eq!(
        client.peer_info().unwrap().protocol_version,
        ProtocolVersion::V_2024_11_05
    );
    assert_eq!(
        sorted_names(&client.list_all_tools().await.unwrap()),
        META_TOOLS
    );
    let resources = client.list_all_resources().await.unwrap();
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(uris, ["config://version", "config://mounts"]);
    let read = client
        .read_resource(ReadResourceRequestParams::new("config://version"))
        .await
        .unwrap();
    let ResourceContents::TextResourceContents { text, .. } = &read.contents[0] else {
        panic!("version is text")
    };
    assert_eq!(text, env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn list_presets_returns_a_json_array_and_a_wrapped_structured_result() {
    let daemon = Process::daemon(&[]).await;
    let client = http_client(&daemon.url("/mcp")).await;
    let result = call(&client, "list_presets", json!({})).await;
    let array: serde_json::Value = serde_json::from_str(&text(&result)).unwrap();
    let names: Vec<&str> = array
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "everything",
            "fetch",
            "filesystem",
            "git",
            "kubernetes",
            "time"
        ]
    );
    assert_eq!(result.structured_content.unwrap()["result"], array);
    assert_eq!(
        array[0]["runtime_mcp"],
        "@modelcontextprotocol/server-everything@2026.8.31"
    );
}

#[tokio::test]
async fn stdio_serves_the_same_handler_and_exits_when_stdin_closes() {
    let mut child = tokio::process::Command::new(BIN)
        .args(["serve", "--backend", "local", "--transport", "stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (stdin, stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    let client = Recorder::new(ProtocolVersion::V_2025_11_25)
        .serve((stdout, stdin))
        .await
        .unwrap();
    assert_eq!(
        sorted_names(&client.list_all_tools().await.unwrap()),
        META_TOOLS
    );
    let result = call(&client, "list_mcp_servers", json!({})).await;
    assert_eq!(text(&result), "[]");
    client.cancel().await.unwrap();
    let status = tokio::time::timeout(crate::support::QUICK, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn sigterm_stops_the_daemon_with_exit_code_zero() {
    let daemon = Process::daemon(&[]).await;
    let _client = sse_client(&daemon.url("/sse")).await;
    let status = daemon.stop().await;
    assert!(status.success(), "{status}");
}
