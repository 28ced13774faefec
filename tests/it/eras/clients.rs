//! Clients of both eras on one daemon at once — rmcp 3.11 in 2026-07-28 and in 2025-11-25
//! mode, the Python SDK 2.x `mcp.Client` and the TypeScript SDK 2.x
//! (`@modelcontextprotocol/client`) with version negotiation on `auto` — each lists,
//! creates, mounts, calls and deletes.

use std::path::Path;

use rmcp::{Peer, RoleClient, model::ProtocolVersion};
use serde_json::{Value, json};

use super::modern_client;
use crate::support::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// What a client saw: the version it speaks, the tools it listed, the mounted echo.
fn outcome(version: &str, tools: Vec<String>, echoed: String) -> Value {
    json!({"protocolVersion": version, "tools": tools, "echoed": echoed})
}

/// The rounds the SDK scripts make, by rmcp.
async fn exercise(peer: &Peer<RoleClient>, name: &str) -> Value {
    let tools = tool_names(peer).await;
    let (server, _) = create_ready(
        peer,
        json!({"runtime_exec": TEST_SERVER, "runtime_mcp": "serve"}),
    )
    .await;
    let job_name = server["job_name"].clone();
    call_ok(
        peer,
        "mount_mcp_server",
        json!({"job_name": job_name, "name": name}),
    )
    .await;
    let echoed = text(
        &call(
            peer,
            &format!("{name}_echo"),
            json!({"text": format!("hello from {name}")}),
        )
        .await,
    );
    call_ok(peer, "delete_mcp_server", json!({"job_name": job_name})).await;
    let version = peer
        .peer_info()
        .map(|info| info.protocol_version.to_string());
    outcome(&version.unwrap_or_default(), tools, echoed)
}

/// Runs `program args…` and parses the JSON line it prints.
async fn script(program: &Path, args: &[&str]) -> Value {
    let run = tokio::process::Command::new(program)
        .args(args)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), run)
        .await
        .expect("the client finishes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{program:?} {args:?}\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test]
async fn clients_of_both_eras_list_create_mount_and_call_side_by_side() {
    let daemon = Process::daemon(&[]).await;
    let url = daemon.url("/mcp");
    let python = Path::new(ROOT).join(".tools/venv/bin/python");
    let python_client = Path::new(ROOT).join("tests/clients/era_client.py");
    let ts_client = Path::new(ROOT).join("tests/servers/era-client.mjs");
    let py_args = [python_client.to_str().unwrap(), &url, TEST_SERVER, "py"];
    let ts_args = [ts_client.to_str().unwrap(), &url, "auto", TEST_SERVER, "ts"];
    let (py, ts, rmcp_modern, rmcp_legacy) = tokio::join!(
        script(&python, &py_args),
        script(Path::new("node"), &ts_args),
        async {
            let client = modern_client(&url).await;
            exercise(client.peer(), "modern").await
        },
        async {
            let client = http_client_with(&url, ProtocolVersion::V_2025_11_25).await;
            exercise(client.peer(), "legacy").await
        },
    );
    let meta_tools: Vec<String> = {
        // search_registry is listed only with a registry.
        let listed = mcp_ephemeral_k8s::meta::TOOL_NAMES
            .iter()
            .filter(|n| **n != "search_registry");
        let mut names: Vec<String> = listed.map(|n| n.to_string()).collect();
        names.sort();
        names
    };
    for (seen, version, name) in [
        (&py, "2026-07-28", "py"),
        (&ts, "2026-07-28", "ts"),
        (&rmcp_modern, "2026-07-28", "modern"),
        (&rmcp_legacy, "2025-11-25", "legacy"),
    ] {
        assert_eq!(seen["protocolVersion"], version, "{name}: {seen}");
        assert_eq!(seen["echoed"], format!("hello from {name}"), "{seen}");
        let mut tools: Vec<String> = serde_json::from_value(seen["tools"].clone()).unwrap();
        tools.sort();
        assert_eq!(tools, meta_tools, "{name}");
    }
    // No client of either era made the daemon complain.
    let log = daemon.log_text();
    assert!(!log.contains("\"WARN\""), "{log}");
}

#[tokio::test]
async fn stdio_serves_a_2026_07_28_client_too() {
    let mut child = tokio::process::Command::new(BIN)
        .args(["serve", "--backend", "local", "--transport", "stdio"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (stdin, stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    let lifecycle = rmcp::service::ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    let client = rmcp::service::ClientServiceExt::serve_with_lifecycle(
        Recorder::new(ProtocolVersion::V_2026_07_28),
        (stdout, stdin),
        lifecycle,
    )
    .await
    .expect("server/discover on stdio");
    assert_eq!(
        client.peer_info().unwrap().protocol_version.as_str(),
        "2026-07-28"
    );
    assert!(
        tool_names(client.peer())
            .await
            .contains(&"create_mcp_server".to_owned())
    );
    assert_eq!(
        text(&call(&client, "list_mcp_servers", json!({})).await),
        "[]"
    );
}
