//! Per-mount tool selection: `tools`, `exclude` and `rename` on `mount_mcp_server`, kept
//! across a reconnect; a tool left out is refused like an unknown one.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_mount_shows_only_the_selected_tools_under_their_new_names() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (server, _) = create_ready(&meta, test_server("")).await;
    let args = json!({"job_name": server["job_name"], "name": "t",
                      "tools": ["echo", "add*", "log*"], "exclude": ["log_*"],
                      "rename": {"echo": "say"}});
    let mounted = call_ok(&meta, "mount_mcp_server", args).await;
    let mut tools: Vec<String> = serde_json::from_value(mounted["mount"]["tools"].clone()).unwrap();
    tools.sort();
    assert_eq!(tools, ["t_add", "t_add_tool", "t_log", "t_say"]);
    assert_eq!(mounted["tools_added"], 4);
    assert_eq!(mounted["mount"]["selection"]["rename"]["echo"], "say");
    let listed = tool_names(&meta).await;
    assert!(listed.contains(&"t_say".to_owned()) && !listed.contains(&"t_echo".to_owned()));

    // The renamed tool is the server's own tool.
    let said = call(&meta, "t_say", json!({"text": "renamed"})).await;
    assert_eq!(text(&said), "renamed");
    // Left out, or under its old name: refused as unknown tools are.
    for hidden in ["t_echo", "t_log_later", "t_slow"] {
        let direct = meta
            .call_tool(rmcp::model::CallToolRequestParams::new(hidden))
            .await;
        let error = direct.unwrap_err().to_string();
        assert!(
            error.contains(&format!("unknown tool \"{hidden}\"")),
            "{error}"
        );
        let error = call_err(&meta, "call_mounted_tool", json!({"name": hidden})).await;
        assert!(error.contains("no mounted tool"), "{hidden}: {error}");
    }
    let found = call_ok(&meta, "search_mounted_tools", json!({"query": "slow"})).await;
    assert!(!found.to_string().contains("t_slow"), "{found}");
}

#[tokio::test]
async fn a_selection_that_fits_no_tool_is_refused_saying_what_the_server_offers() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (server, _) = create_ready(&meta, test_server("")).await;
    let mount = |extra: serde_json::Value| {
        let mut args = json!({"job_name": server["job_name"], "name": "t"});
        args.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        args
    };
    for (extra, expected) in [
        (
            json!({"tools": ["ecko"]}),
            "tools pattern \"ecko\" matches none of its tools",
        ),
        (
            json!({"rename": {"nope": "x"}}),
            "rename names \"nope\", which it does not offer",
        ),
        (
            json!({"rename": {"add": "echo"}}),
            "the name of its tool \"echo\"",
        ),
        (
            json!({"rename": {"add": "not portable!"}}),
            "letters, digits, _ or -",
        ),
        (
            json!({"rename": {"add": "x", "echo": "x"}}),
            "two tools the name \"x\"",
        ),
        (json!({"tools": vec!["x"; 300]}), "at most 256"),
    ] {
        let error = call_err(&meta, "mount_mcp_server", mount(extra.clone())).await;
        assert!(error.contains(expected), "{extra}: {error}");
    }
    let error = call_err(&meta, "mount_mcp_server", mount(json!({"tools": ["ecko"]}))).await;
    assert!(
        error.contains("the server offers: add, add_tool"),
        "{error}"
    );
    // Nothing was mounted by the refusals.
    assert!(mounts(&meta).await.is_empty());
}

#[tokio::test]
async fn the_selection_survives_a_reconnect() {
    let daemon = Process::daemon(&LOOPBACK_URL_MOUNTS).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let first = test_bridge(&[]).await;
    wait_healthy(&first.url("/health")).await;
    let args = json!({"url": first.url("/mcp"), "name": "b", "tools": ["echo", "state"],
                      "rename": {"echo": "say"}});
    call_ok(&meta, "mount_mcp_server", args).await;

    let _second = restart_bridge(first, &[]).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while mounts(&meta).await[0]["state"] != "connected"
        || mounts(&meta).await[0]["reconnects"] == 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mount never reconnected"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut listed = tool_names(&meta).await;
    listed.retain(|t| t.starts_with("b_"));
    listed.sort();
    assert_eq!(listed, ["b_say", "b_state"]);
    let said = call(&meta, "b_say", json!({"text": "again"})).await;
    assert_eq!(text(&said), "again");
}
