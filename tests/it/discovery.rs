//! Finding mounted tools: `search_mounted_tools` over real servers' tools, and progressive
//! listing (`--max-listed-tools`).

use serde_json::{Value, json};

use crate::support::*;

/// Creates preset `preset` (waiting for ready) and mounts it as `name`.
async fn mount_preset(meta: &rmcp::Peer<rmcp::RoleClient>, preset: &str, name: &str) -> Value {
    let args = json!({"preset": preset, "wait_for_ready": true});
    let server = call_ok(meta, "create_mcp_server", args).await;
    let mount = json!({"job_name": server["job_name"], "name": name});
    call_ok(meta, "mount_mcp_server", mount).await
}

/// The names `search_mounted_tools` returns for `query`, best first.
async fn found(meta: &rmcp::Peer<rmcp::RoleClient>, query: &str) -> Vec<String> {
    let result = call_ok(meta, "search_mounted_tools", json!({"query": query})).await;
    let found = result["result"].as_array().unwrap();
    found
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_ranks_the_obvious_tool_first_across_real_servers() {
    let daemon = Process::daemon(&["--ready-timeout", "600"]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    mount_preset(&meta, "everything", "everything").await;
    mount_preset(&meta, "time", "time").await;
    mount_preset(&meta, "filesystem", "fs").await;
    let obvious = [
        ("current time in Tokyo", "time_get_current_time"),
        ("convert a time between timezones", "time_convert_time"),
        ("list the files in a directory", "fs_list_directory"),
        ("read the contents of a text file", "fs_read_text_file"),
        ("write text to a new file", "fs_write_file"),
        ("move or rename a file", "fs_move_file"),
        ("find files matching a pattern", "fs_search_files"),
        ("echo a message back", "everything_echo"),
        ("sum of two numbers", "everything_get-sum"),
        ("show the environment variables", "everything_get-env"),
    ];
    for (query, tool) in obvious {
        let ranked = found(&meta, query).await;
        assert_eq!(
            ranked.first().map(String::as_str),
            Some(tool),
            "{query}: {ranked:?}"
        );
    }
    // Each result is ready for call_mounted_tool: its schema, its mount.
    let args = json!({"query": "current time", "limit": 1});
    let result = call_ok(&meta, "search_mounted_tools", args).await;
    let best = &result["result"][0];
    assert_eq!(result["result"].as_array().unwrap().len(), 1);
    assert_eq!(best["mount"], "time");
    assert!(
        best["input_schema"]["properties"]["timezone"].is_object(),
        "{best}"
    );
    assert!(best["score"].as_f64().unwrap() > 0.0);
    let call = json!({"name": best["name"], "arguments": {"timezone": "Asia/Tokyo"}});
    let now = call_ok(&meta, "call_mounted_tool", call).await;
    assert_eq!(now["timezone"], "Asia/Tokyo", "{now}");
    // Nothing matches: an empty list, not an error.
    assert!(
        found(&meta, "kubernetes deployment rollout")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn search_refuses_what_it_cannot_answer() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    for (args, expected) in [
        (json!({"query": ""}), "query"),
        (json!({"query": "x".repeat(1_001)}), "at most 1000"),
        (
            json!({"query": "echo", "limit": 0}),
            "limit must be between 1 and 50",
        ),
        (
            json!({"query": "echo", "limit": 51}),
            "limit must be between 1 and 50",
        ),
        (json!({"query": "echo", "extra": 1}), "extra"),
    ] {
        let error = call_err(&meta, "search_mounted_tools", args.clone()).await;
        assert!(error.contains(expected), "{args}: {error}");
    }
    assert!(
        found(&meta, "echo").await.is_empty(),
        "no mounts, nothing found"
    );
}

#[tokio::test]
async fn search_finds_only_the_tools_of_mounts_the_caller_may_use() {
    let tokens = TempFile::with(&format!("alice {ALICE}\nbob {BOB}\n"));
    let daemon = Process::daemon(&["--tokens-file", tokens.path()]).await;
    let alice = http_client_as(&daemon.url("/mcp"), ALICE).await;
    let bob = http_client_as(&daemon.url("/mcp"), BOB).await;
    let (server, _) = create_ready(&alice, test_server("")).await;
    let mount = json!({"job_name": server["job_name"], "name": "mine"});
    call_ok(&alice, "mount_mcp_server", mount).await;
    let mine = found(&alice, "echo").await;
    assert_eq!(mine.first().map(String::as_str), Some("mine_echo"));
    assert!(found(&bob, "echo").await.is_empty());
}

/// The tool names tools/list shows the client.
async fn listed(client: &rmcp::Peer<rmcp::RoleClient>) -> Vec<String> {
    tool_names(client).await
}

#[tokio::test]
async fn progressive_listing_lists_mounted_tools_only_up_to_the_limit() {
    // The test server has 21 tools: one mount fits under 30, two do not.
    let daemon = Process::daemon(&["--max-listed-tools", "30"]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let instructions = meta.peer_info().unwrap().instructions.clone().unwrap();
    assert!(
        instructions.contains("search_mounted_tools"),
        "{instructions}"
    );
    let (first, _) = create_ready(&meta, test_server("")).await;
    let (second, _) = create_ready(&meta, test_server("")).await;

    let mount = json!({"job_name": first["job_name"], "name": "a"});
    let mounted = call_ok(&meta, "mount_mcp_server", mount).await;
    assert_eq!(mounted["tools_added"], 21);
    assert_eq!(mounted["tools_listed"], true);
    assert!(listed(&meta).await.contains(&"a_echo".to_owned()));

    let mount = json!({"job_name": second["job_name"], "name": "b"});
    let mounted = call_ok(&meta, "mount_mcp_server", mount).await;
    assert_eq!(mounted["tools_added"], 21);
    assert_eq!(mounted["tools_listed"], false);
    // Only the daemon's own tools are listed; the rest are found and called all the same.
    let mut names = listed(&meta).await;
    names.sort();
    // (search_registry is listed only with a registry.)
    let meta_tools = mcp_ephemeral_k8s::meta::TOOL_NAMES
        .iter()
        .filter(|n| **n != "search_registry");
    assert!(
        names.iter().map(String::as_str).eq(meta_tools.copied()),
        "{names:?}"
    );
    assert!(found(&meta, "echo").await.contains(&"b_echo".to_owned()));
    let echo = json!({"name": "b_echo", "arguments": {"text": "hidden but there"}});
    let result = call(&meta, "call_mounted_tool", echo).await;
    assert_eq!(text(&result), "hidden but there");
    let direct = call(&meta, "a_echo", json!({"text": "by name"})).await;
    assert_eq!(text(&direct), "by name");

    // Under the limit again, they are listed again.
    call_ok(&meta, "remove_mcp_server_mount", json!({"name": "b"})).await;
    assert!(listed(&meta).await.contains(&"a_echo".to_owned()));
}

#[tokio::test]
async fn without_a_limit_every_mounted_tool_is_listed() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let instructions = meta.peer_info().unwrap().instructions.clone().unwrap();
    assert!(
        !instructions.contains("search_mounted_tools"),
        "{instructions}"
    );
    for name in ["a", "b"] {
        let (server, _) = create_ready(&meta, test_server("")).await;
        let mount = json!({"job_name": server["job_name"], "name": name});
        let mounted = call_ok(&meta, "mount_mcp_server", mount).await;
        assert_eq!(mounted["tools_listed"], true);
    }
    // The meta tools but search_registry (no registry here), and both mounts' 21 each.
    let meta_tools = mcp_ephemeral_k8s::meta::TOOL_NAMES.len() - 1;
    assert_eq!(listed(&meta).await.len(), meta_tools + 42);
}
