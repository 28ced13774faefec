//! Servers from an MCP Registry: a small server in the test speaks the registry API
//! (`GET /v0.1/servers`, `GET /v0.1/servers/{name}/versions/{version}`) over the
//! `server.json` documents of `tests/registry/`; entries become real children (uvx, npx),
//! remotes become mounts, and every refusal says what to fix.

use std::{collections::BTreeMap, sync::Arc};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::get,
};
use serde_json::{Value, json};

use crate::support::*;

type Entries = Arc<Vec<Value>>;

/// The documents of `tests/registry/`.
fn entries() -> Entries {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/registry");
    let files = std::fs::read_dir(dir).unwrap();
    let docs = files.map(|f| {
        serde_json::from_str(&std::fs::read_to_string(f.unwrap().path()).unwrap()).unwrap()
    });
    Arc::new(docs.collect())
}

/// The latest version of each server, as the registry answers lists.
fn latest(entries: &[Value]) -> Vec<Value> {
    let mut by_name: BTreeMap<String, Value> = BTreeMap::new();
    for entry in entries {
        let name = entry["name"].as_str().unwrap().to_owned();
        let newer = by_name
            .get(&name)
            .is_none_or(|known| known["version"].as_str() < entry["version"].as_str());
        if newer {
            by_name.insert(name, entry.clone());
        }
    }
    by_name.into_values().collect()
}

async fn list(
    State(entries): State<Entries>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Json<Value> {
    let search = query.get("search").cloned().unwrap_or_default();
    let found: Vec<Value> = latest(&entries)
        .into_iter()
        .filter(|e| e["name"].as_str().unwrap().contains(&search))
        .map(|server| json!({"server": server, "_meta": {"io.modelcontextprotocol.registry/official": {"status": "active"}}}))
        .collect();
    Json(json!({"servers": found, "metadata": {"count": found.len()}}))
}

async fn version(
    State(entries): State<Entries>,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<Value>, StatusCode> {
    let named = entries.iter().filter(|e| e["name"] == name.as_str());
    let chosen = match version.as_str() {
        "latest" => latest(&named.cloned().collect::<Vec<_>>()).pop(),
        version => named.into_iter().find(|e| e["version"] == version).cloned(),
    };
    chosen
        .map(|server| Json(json!({"server": server, "_meta": {}})))
        .ok_or(StatusCode::NOT_FOUND)
}

/// Serves the registry API on a free port; returns its base URL.
async fn registry_api() -> String {
    let app = Router::new()
        .route("/v0.1/servers", get(list))
        .route("/v0.1/servers/{name}/versions/{version}", get(version))
        .with_state(entries());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

#[tokio::test]
async fn registry_entries_run_as_real_children_from_pypi_and_npm() {
    let base = registry_api().await;
    let daemon = Process::daemon(&["--registry-url", &base, "--ready-timeout", "600"]).await;
    let meta = http_client(&daemon.url("/mcp")).await;

    let found = call_ok(&meta, "search_registry", json!({"query": "time zones"})).await;
    let found = found["result"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["name"], "io.github.modelcontextprotocol/time");
    assert_eq!(found[0]["packages"][0], "pypi mcp-server-time@2026.10.19");

    let args = json!({"registry": "io.github.modelcontextprotocol/time", "wait_for_ready": true,
                      "inputs": {"local-timezone": "Europe/Amsterdam"}});
    let time = call_ok(&meta, "create_mcp_server", args).await;
    assert_eq!(time["config"]["runtime_exec"], "uvx");
    assert_eq!(time["config"]["runtime_mcp"], "mcp-server-time@2026.10.19");
    assert_eq!(
        time["config"]["runtime_args"],
        "--local-timezone Europe/Amsterdam"
    );
    let child = child_client(&time, false).await;
    let now = call(
        &child,
        "get_current_time",
        json!({"timezone": "Asia/Tokyo"}),
    )
    .await;
    assert!(text(&now).contains("Asia/Tokyo"), "{}", text(&now));

    let args =
        json!({"registry": "io.github.modelcontextprotocol/everything", "wait_for_ready": true});
    let everything = call_ok(&meta, "create_mcp_server", args).await;
    assert_eq!(
        everything["config"]["runtime_mcp"],
        "@modelcontextprotocol/server-everything@2026.8.31"
    );
    let child = child_client(&everything, false).await;
    let echoed = call(&child, "echo", json!({"message": "from the registry"})).await;
    assert!(
        text(&echoed).contains("from the registry"),
        "{}",
        text(&echoed)
    );
}

#[tokio::test]
async fn a_registry_remote_is_mounted_under_the_url_allowlist() {
    let base = registry_api().await;
    let bridge = test_bridge(&[]).await;
    wait_healthy(&bridge.url("/health")).await;
    let port = bridge.addr.port().to_string();
    let mount =
        json!({"registry": "com.example/remote-echo", "name": "r", "inputs": {"port": port}});

    let closed = Process::daemon(&["--registry-url", &base]).await;
    let meta = http_client(&closed.url("/mcp")).await;
    let error = call_err(&meta, "mount_mcp_server", mount.clone()).await;
    assert!(error.contains("not allowed"), "{error}");

    let mut flags = LOOPBACK_URL_MOUNTS.to_vec();
    flags.extend(["--registry-url", &base]);
    let open = Process::daemon(&flags).await;
    let meta = http_client(&open.url("/mcp")).await;
    let missing = json!({"registry": "com.example/remote-echo", "name": "r"});
    let error = call_err(&meta, "mount_mcp_server", missing).await;
    assert!(
        error.contains("needs values for: port (The port of the deployment)"),
        "{error}"
    );
    let mounted = call_ok(&meta, "mount_mcp_server", mount).await;
    assert_eq!(
        mounted["mount"]["url"],
        format!("http://127.0.0.1:{port}/mcp")
    );
    let echoed = call(&meta, "r_echo", json!({"text": "remote"})).await;
    assert_eq!(text(&echoed), "remote");
}

#[tokio::test]
async fn registry_refusals_say_what_to_fix() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/registry");
    let daemon = Process::daemon(&["--registry-dir", dir.to_str().unwrap()]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let weather = "io.github.example/weather";
    for (args, expected) in [
        (
            json!({"registry": weather}),
            "needs values for: city (The city to forecast), WEATHER_API_KEY",
        ),
        (
            json!({"registry": weather, "inputs": {"city": "Paris"}, "env": {"WEATHER_API_KEY": "sk-live-123"}}),
            "WEATHER_API_KEY is a secret: pass it by reference",
        ),
        (
            json!({"registry": weather, "inputs": {"city": "Paris", "units": "kelvin"}, "env": {"WEATHER_API_KEY": "${MCP_SECRET_W}"}}),
            "units must be one of",
        ),
        (
            json!({"registry": "io.github.example/search-image"}),
            "image \"docker.io/example/search-mcp:1.2.0\" is not allowed here",
        ),
        (
            json!({"registry": "io.github.example/stdio-image"}),
            "the image speaks stdio",
        ),
        (
            json!({"registry": "com.example/remote-echo"}),
            "mount it with mount_mcp_server(registry=…)",
        ),
        (
            json!({"registry": "io.github.example/nope"}),
            "the registry has no server \"io.github.example/nope\"",
        ),
        (
            json!({"registry": weather, "version": "9.9.9"}),
            "at version \"9.9.9\"",
        ),
        (
            json!({"registry": "../../etc/passwd"}),
            "is not valid: namespace/name",
        ),
        (
            json!({"registry": weather, "runtime_exec": "uvx"}),
            "give either registry",
        ),
        (
            json!({"runtime_exec": "uvx", "runtime_mcp": "x", "inputs": {"a": "b"}}),
            "give registry too",
        ),
    ] {
        let error = call_err(&meta, "create_mcp_server", args.clone()).await;
        assert!(error.contains(expected), "{args}: {error}");
        assert!(
            !error.contains("sk-live-123"),
            "a secret is never echoed: {error}"
        );
    }
    // Nothing was started by the refusals.
    let servers = call_ok(&meta, "list_mcp_servers", json!({})).await;
    assert_eq!(servers["result"], json!([]));
    // The directory's search: latest versions only.
    let found = call_ok(&meta, "search_registry", json!({"query": "weather"})).await;
    assert_eq!(found["result"][0]["version"], "0.5.0");
}

#[tokio::test]
async fn without_a_registry_search_registry_is_not_listed_and_says_why() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    assert!(
        !tool_names(&meta)
            .await
            .contains(&"search_registry".to_owned())
    );
    let error = call_err(&meta, "search_registry", json!({"query": "time"})).await;
    assert!(
        error.contains("no MCP Registry is configured here"),
        "{error}"
    );
    let args = json!({"registry": "io.github.modelcontextprotocol/time"});
    let error = call_err(&meta, "create_mcp_server", args).await;
    assert!(
        error.contains("--registry-url or --registry-dir"),
        "{error}"
    );
}
