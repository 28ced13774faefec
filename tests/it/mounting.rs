//! Mounting children on the meta-server: names, calls, resources, prompts, completions,
//! notifications, unmounting (refusals are in `mount_refusals`).

use base64::Engine;
use rmcp::model::{
    ArgumentInfo, CompleteRequestParams, GetPromptRequestParams, ReadResourceRequestParams,
    Reference, ResourceContents, SubscribeRequestParams,
};
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn mounting_prefixes_the_childs_tools_and_calls_go_through() {
    let (_daemon, meta, mounted) = daemon_with_mounted_child("").await;
    assert_eq!(mounted["mount"]["name"], "t");
    assert_eq!(mounted["mount"]["state"], "connected");
    assert_eq!(mounted["mount"]["transport"], "streamable-http");
    assert!(
        mounted["job_name"].as_str().unwrap().starts_with("serve-"),
        "{mounted}"
    );
    assert!(mounted["url"].as_str().unwrap().ends_with("/mcp"));
    let tools = tool_names(&meta).await;
    for name in ["create_mcp_server", "t_echo", "t_add", "t_slow", "t_sample"] {
        assert!(
            tools.iter().any(|t| t == name),
            "{name} missing from {tools:?}"
        );
    }
    assert!(
        !tools.iter().any(|t| t == "echo"),
        "named mounts prefix every tool"
    );
    assert_eq!(
        text(&call(&meta, "t_echo", json!({"text": "through the mount"})).await),
        "through the mount"
    );
    assert_eq!(
        call_ok(&meta, "t_add", json!({"a": 2, "b": 3})).await["sum"],
        5
    );
    // The child's own tool errors pass through as tool errors.
    assert_eq!(
        call_err(&meta, "t_fail", json!({"text": "boom"})).await,
        "boom"
    );

    let listed = call_ok(&meta, "list_mounted_tools", json!({})).await;
    let echo = listed["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "t_echo")
        .unwrap();
    assert_eq!(echo["mount"], "t");
    assert_eq!(echo["input_schema"]["properties"]["text"]["type"], "string");
    let called = call(
        &meta,
        "call_mounted_tool",
        json!({"name": "t_echo", "arguments": {"text": "by name"}}),
    )
    .await;
    assert_eq!(text(&called), "by name");
    let error = call_err(&meta, "call_mounted_tool", json!({"name": "t_nope"})).await;
    assert!(error.contains("no mounted tool \"t_nope\""), "{error}");

    let status = call_ok(
        &meta,
        "get_mcp_server_status",
        json!({"job_name": mounted["job_name"]}),
    )
    .await;
    assert_eq!(status["mount"]["name"], "t");
    let servers = call_ok(&meta, "list_mcp_servers", json!({})).await;
    assert_eq!(servers["result"][0]["mount"]["state"], "connected");
}

#[tokio::test]
async fn resources_templates_prompts_and_completions_are_mounted_too() {
    let (_daemon, meta, _) = daemon_with_mounted_child("").await;
    let resources: Vec<String> = meta
        .list_all_resources()
        .await
        .unwrap()
        .iter()
        .map(|r| r.uri.clone())
        .collect();
    assert_eq!(
        resources,
        [
            "config://version",
            "config://mounts",
            "test://t/greeting",
            "test://t/blob"
        ]
    );
    let read = meta
        .read_resource(ReadResourceRequestParams::new("test://t/greeting"))
        .await
        .unwrap();
    let ResourceContents::TextResourceContents { text, uri, .. } = &read.contents[0] else {
        panic!()
    };
    assert_eq!(
        (text.as_str(), uri.as_str()),
        ("hello", "test://t/greeting")
    );
    // Binary contents arrive intact.
    let read = meta
        .read_resource(ReadResourceRequestParams::new("test://t/blob"))
        .await
        .unwrap();
    let ResourceContents::BlobResourceContents { blob, .. } = &read.contents[0] else {
        panic!("blob")
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(blob)
        .unwrap();
    assert_eq!(bytes, (0..=255).collect::<Vec<u8>>());

    let templates = meta.list_all_resource_templates().await.unwrap();
    assert_eq!(templates[0].uri_template, "test://t/items/{id}");
    let read = meta
        .read_resource(ReadResourceRequestParams::new("test://t/items/7"))
        .await
        .unwrap();
    let ResourceContents::TextResourceContents { text, .. } = &read.contents[0] else {
        panic!()
    };
    assert_eq!(text, "item 7");

    let prompts = meta.list_all_prompts().await.unwrap();
    assert_eq!(prompts[0].name, "t_greet");
    let mut arguments = serde_json::Map::new();
    arguments.insert("name".into(), json!("bob"));
    let prompt = meta
        .get_prompt(GetPromptRequestParams::new("t_greet").with_arguments(arguments))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&prompt.messages[0]).unwrap()["content"]["text"],
        "Say hello to bob"
    );

    let complete = CompleteRequestParams::new(
        Reference::for_prompt("t_greet"),
        ArgumentInfo::new("name", "a"),
    );
    let completion = meta.complete(complete).await.unwrap();
    assert_eq!(completion.completion.values, ["alice"]);
}

#[tokio::test]
async fn every_transport_hears_list_changed_on_mount_and_unmount() {
    let daemon = Process::daemon(&[]).await;
    let streamable = http_client(&daemon.url("/mcp")).await;
    let legacy = sse_client(&daemon.url("/sse")).await;
    let (server, _) = create_ready(&streamable, test_server("")).await;
    call_ok(
        &legacy,
        "mount_mcp_server",
        json!({"job_name": server["job_name"], "name": "t"}),
    )
    .await;
    for client in [&streamable, &legacy] {
        let recorder = client.service().clone();
        eventually("tools/list_changed after mount", || {
            recorder.seen().tools_changed >= 1
        })
        .await;
        assert!(tool_names(client).await.contains(&"t_echo".to_owned()));
    }
    let removed = call_ok(&streamable, "remove_mcp_server_mount", json!({"name": "t"})).await;
    assert_eq!(removed["removed"][0]["name"], "t");
    for client in [&streamable, &legacy] {
        let recorder = client.service().clone();
        eventually("tools/list_changed after unmount", || {
            recorder.seen().tools_changed >= 2
        })
        .await;
        assert!(!tool_names(client).await.contains(&"t_echo".to_owned()));
    }
    let error = call_err(&streamable, "remove_mcp_server_mount", json!({"name": "t"})).await;
    assert!(
        error.contains("No mounted server found with name t"),
        "{error}"
    );
    let error = call_err(&streamable, "remove_mcp_server_mount", json!({})).await;
    assert_eq!(error, "No mounted servers found");
}

#[tokio::test]
async fn stdio_clients_hear_list_changed_too() {
    let mut child = tokio::process::Command::new(crate::support::BIN)
        .args(["serve", "--backend", "local", "--transport", "stdio"])
        .args(["--allow-runtime", crate::support::TEST_SERVER])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (stdin, stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    use rmcp::ServiceExt;
    let client = Recorder::new(rmcp::model::ProtocolVersion::V_2025_11_25)
        .serve((stdout, stdin))
        .await
        .unwrap();
    let (server, _) = create_ready(&client, test_server("")).await;
    call_ok(
        &client,
        "mount_mcp_server",
        json!({"job_name": server["job_name"], "name": "t"}),
    )
    .await;
    let recorder = client.service().clone();
    eventually("tools/list_changed over stdio", || {
        recorder.seen().tools_changed >= 1
    })
    .await;
    assert_eq!(
        text(&call(&client, "t_echo", json!({"text": "stdio"})).await),
        "stdio"
    );
}

#[tokio::test]
async fn unnamed_mounts_merge_names_and_can_be_removed() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (first, _) = create_ready(&meta, test_server("")).await;
    let (second, _) = create_ready(&meta, test_server("")).await;
    let mounted = call_ok(
        &meta,
        "mount_mcp_server",
        json!({"job_name": first["job_name"]}),
    )
    .await;
    assert_eq!(mounted["mount"]["name"], Value::Null);
    assert_eq!(
        text(&call(&meta, "echo", json!({"text": "unprefixed"})).await),
        "unprefixed"
    );
    // The same names again collide: refused, naming them.
    let error = call_err(
        &meta,
        "mount_mcp_server",
        json!({"job_name": second["job_name"]}),
    )
    .await;
    assert!(
        error.contains("names are taken") && error.contains("tool echo"),
        "{error}"
    );
    // Under a name it fits.
    call_ok(
        &meta,
        "mount_mcp_server",
        json!({"job_name": second["job_name"], "name": "two"}),
    )
    .await;
    let error = call_err(
        &meta,
        "mount_mcp_server",
        json!({"job_name": second["job_name"], "name": "three"}),
    )
    .await;
    assert!(
        error.contains("is mounted already as mount \"two\""),
        "{error}"
    );
    // The unnamed mount is removable by its job.
    let removed = call_ok(
        &meta,
        "remove_mcp_server_mount",
        json!({"job_name": first["job_name"]}),
    )
    .await;
    assert_eq!(removed["removed"][0]["job_name"], first["job_name"]);
    let tools = tool_names(&meta).await;
    assert!(
        !tools.contains(&"echo".to_owned()) && tools.contains(&"two_echo".to_owned()),
        "{tools:?}"
    );
}

#[tokio::test]
async fn deleting_a_server_unmounts_it_first() {
    let (_daemon, meta, mounted) = daemon_with_mounted_child("").await;
    let before = meta.service().seen().tools_changed;
    let peer = meta.peer().clone();
    let in_flight = tokio::spawn(async move {
        call_err(&peer, "t_slow", json!({"millis": 20_000, "steps": 0})).await
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    call_ok(
        &meta,
        "delete_mcp_server",
        json!({"job_name": mounted["job_name"]}),
    )
    .await;
    // The call in flight learns that its mount went away, not that it will come back.
    let error = in_flight.await.unwrap();
    assert!(
        error.contains("mount \"t\" was removed while the call was in flight"),
        "{error}"
    );
    let recorder = meta.service().clone();
    eventually("list_changed after delete", || {
        recorder.seen().tools_changed > before
    })
    .await;
    assert!(!tool_names(&meta).await.contains(&"t_echo".to_owned()));
    let error = call_err(&meta, "remove_mcp_server_mount", json!({"name": "t"})).await;
    assert!(error.contains("No mounted server found"), "{error}");
    // A call to one of its tools (from a client that did not refresh) says what happened,
    // on the MCP route and through call_mounted_tool alike.
    let job_name = mounted["job_name"].as_str().unwrap();
    let gone = meta
        .call_tool(rmcp::model::CallToolRequestParams::new("t_echo"))
        .await
        .unwrap_err()
        .to_string();
    let expected = format!("mount \"t\" was removed (its server {job_name} was deleted)");
    assert!(gone.contains(&expected), "{gone}");
    let gone = call_err(&meta, "call_mounted_tool", json!({"name": "t_echo"})).await;
    assert!(gone.contains(&expected), "{gone}");
}

#[tokio::test]
async fn subscriptions_and_logs_of_the_child_reach_the_client_renamed() {
    let (_daemon, meta, _) = daemon_with_mounted_child("").await;
    meta.subscribe(SubscribeRequestParams::new("test://t/greeting"))
        .await
        .unwrap();
    call_ok(&meta, "t_touch", json!({"uri": "test://greeting"})).await;
    let recorder = meta.service().clone();
    eventually("resources/updated", || {
        recorder.seen().updated == ["test://t/greeting"]
    })
    .await;
    call_ok(&meta, "t_log", json!({"text": "from the child"})).await;
    eventually("the child's log line", || {
        recorder
            .seen()
            .logs
            .iter()
            .any(|l| l.data == "from the child" && l.logger.as_deref() == Some("t/test"))
    })
    .await;
    // The child's own list_changed is relayed, with its new tool mounted.
    let before = recorder.seen().tools_changed;
    call_ok(&meta, "t_add_tool", json!({"text": "fresh"})).await;
    eventually("list_changed from the child", || {
        recorder.seen().tools_changed > before
    })
    .await;
    assert!(tool_names(&meta).await.contains(&"t_fresh".to_owned()));
    assert_eq!(text(&call(&meta, "t_fresh", json!({})).await), "fresh");
}
