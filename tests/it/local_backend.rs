//! Children on the local backend, with the repo's test server: create, use, inspect,
//! delete, and the daemon's own shutdown.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_created_child_is_reachable_and_deleting_it_leaves_no_process() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let mut args = test_server("alpha 'beta gamma'");
    args["env"] = json!({ "GREETING": "s3cret-value" });
    args["wait_for_ready"] = json!(true);
    let server = call_ok(&meta, "create_mcp_server", args).await;
    let job_name = server["job_name"].as_str().unwrap().to_owned();
    assert!(job_name.starts_with("serve-"), "{job_name}");
    assert_eq!(server["backend"], "local");
    assert_eq!(server["config"]["env"]["GREETING"], "<redacted>");
    assert!(!server.to_string().contains("s3cret-value"));
    // Its configuration says where its bridge listens, and names no image.
    let url = server["url"].as_str().unwrap();
    let port = server["config"]["port"].as_u64().unwrap();
    assert_eq!(url, format!("http://127.0.0.1:{port}/mcp"));
    assert_eq!(server["config"]["host"], "127.0.0.1");
    assert!(server["config"].get("image").is_none(), "{server}");

    // A direct client to the returned endpoints reaches the child.
    let child = child_client(&server, false).await;
    let tools = tool_names(&child).await;
    assert!(tools.contains(&"echo".to_owned()), "{tools:?}");
    // runtime_args reach the package, split shell-style (the Python original lost them).
    let argv = text(&call(&child, "args", json!({})).await);
    assert_eq!(argv, r#"["alpha","beta gamma"]"#);
    assert_eq!(
        text(&call(&child, "env", json!({"name": "GREETING"})).await),
        "s3cret-value"
    );
    let legacy = child_client(&server, true).await;
    assert_eq!(
        text(&call(&legacy, "echo", json!({"text": "over sse"})).await),
        "over sse"
    );

    let listed = call_ok(&meta, "list_mcp_servers", json!({})).await;
    assert_eq!(listed["result"][0]["job_name"], job_name);
    let status = call_ok(
        &meta,
        "get_mcp_server_status",
        json!({"job_name": job_name}),
    )
    .await;
    assert_eq!(status["phase"], "Running");
    assert_eq!(status["ready"], true);
    assert!(status["start_time"].as_str().unwrap().ends_with('Z'));
    let groups = process_groups(&status);
    assert_eq!(groups.len(), 2, "bridge and MCP server: {status}");

    let deleted = call_ok(&meta, "delete_mcp_server", json!({"job_name": job_name})).await;
    assert_eq!(deleted["job_name"], job_name);
    let removed = deleted["removed"].as_array().unwrap();
    assert_eq!(removed.len(), 3, "bridge, MCP server, home: {deleted}");
    let home = removed[2]
        .as_str()
        .unwrap()
        .trim_start_matches("home directory ");
    assert!(!std::path::Path::new(home).exists(), "{home} is left");
    assert_groups_gone(&groups).await;
    assert_eq!(
        text(&call(&meta, "list_mcp_servers", json!({})).await),
        "[]"
    );
}

#[tokio::test]
async fn without_wait_for_ready_create_returns_while_the_child_starts() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let started = std::time::Instant::now();
    let server = call_ok(&meta, "create_mcp_server", test_server("--delay-ms 1500")).await;
    assert!(
        started.elapsed().as_millis() < 1500,
        "create waited for readiness"
    );
    let job_name = server["job_name"].as_str().unwrap();
    let status = call_ok(
        &meta,
        "get_mcp_server_status",
        json!({"job_name": job_name}),
    )
    .await;
    assert_eq!(status["ready"], false, "{status}");
    let deadline = std::time::Instant::now() + crate::support::QUICK;
    loop {
        let status = call_ok(
            &meta,
            "get_mcp_server_status",
            json!({"job_name": job_name}),
        )
        .await;
        if status["ready"] == true {
            assert!(
                status["log_tail"]
                    .to_string()
                    .contains("installing (pretend)"),
                "{status}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never ready: {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn waiting_for_ready_reports_progress_and_log_messages() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let mut args = test_server("--delay-ms 1200");
    args["wait_for_ready"] = json!(true);
    call_ok(&meta, "create_mcp_server", args).await;
    let recorder = meta.service();
    eventually("progress says ready", || {
        let seen = recorder.seen();
        seen.progress
            .iter()
            .any(|p| p.message.as_deref() == Some("ready"))
    })
    .await;
    eventually("a log line says ready", || {
        recorder.seen().logs.iter().any(|l| l.data == "ready")
    })
    .await;
    let progress = recorder.seen().progress;
    let messages: Vec<String> = progress.iter().filter_map(|p| p.message.clone()).collect();
    assert!(
        messages.iter().any(|m| m.starts_with("starting ")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("installing (pretend)")),
        "{messages:?}"
    );
    // Each phase is said as it is reached.
    let at = |text: &str| messages.iter().position(|m| m.starts_with(text));
    let phases = [
        at("installed: Installed 3 packages"),
        at("initialized: "),
        at("ready"),
    ];
    assert!(
        phases.iter().all(Option::is_some) && phases.is_sorted(),
        "{messages:?}"
    );
    assert_eq!(
        messages.last().map(String::as_str),
        Some("ready"),
        "{messages:?}"
    );
    let values: Vec<f64> = progress.iter().map(|p| p.progress).collect();
    assert!(
        values.windows(2).all(|w| w[0] < w[1]),
        "progress must increase: {values:?}"
    );
}

#[tokio::test]
async fn sigterm_deletes_the_children_and_exits_zero() {
    let daemon = Process::daemon(&[]).await;
    let meta = sse_client(&daemon.url("/sse")).await;
    let (_, groups) = create_ready(&meta, test_server("")).await;
    let exit = daemon.stop().await;
    assert!(exit.success(), "{exit}");
    assert_groups_gone(&groups).await;
}

#[tokio::test]
async fn children_stop_even_when_the_daemon_is_killed() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (_, groups) = create_ready(&meta, test_server("")).await;
    signal(daemon.pid(), libc::SIGKILL);
    assert_groups_gone(&groups).await;
}

#[tokio::test]
async fn presets_create_servers_with_their_configuration() {
    let dir = std::env::temp_dir().join(format!("it-presets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let preset = format!(
        "name: echo\ndescription: the test server\nruntime_exec: {}\nruntime_mcp: serve\nruntime_args: from-preset\nenv:\n  FROM_PRESET: yes\n",
        crate::support::TEST_SERVER
    );
    std::fs::write(dir.join("echo.yaml"), preset).unwrap();
    let daemon = Process::daemon(&["--presets-dir", dir.to_str().unwrap()]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let args = json!({"preset": "echo", "env": {"EXTRA": "1"}, "wait_for_ready": true});
    let server = call_ok(&meta, "create_mcp_server", args).await;
    assert_eq!(server["preset"], "echo");
    let child = child_client(&server, false).await;
    assert_eq!(
        text(&call(&child, "args", json!({})).await),
        r#"["from-preset"]"#
    );
    assert_eq!(
        text(&call(&child, "env", json!({"name": "FROM_PRESET"})).await),
        "yes"
    );
    assert_eq!(
        text(&call(&child, "env", json!({"name": "EXTRA"})).await),
        "1"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn package_mirrors_reach_local_children() {
    let daemon = Process::daemon(&[
        "--pip-index-url",
        "https://pypi.mirror.invalid/simple",
        "--npm-registry",
        "https://npm.mirror.invalid/",
    ])
    .await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (server, _) = create_ready(&meta, test_server("")).await;
    let mount = json!({"job_name": server["job_name"], "name": "t"});
    call_ok(&meta, "mount_mcp_server", mount).await;
    for (name, value) in [
        ("UV_DEFAULT_INDEX", "https://pypi.mirror.invalid/simple"),
        ("PIP_INDEX_URL", "https://pypi.mirror.invalid/simple"),
        ("npm_config_registry", "https://npm.mirror.invalid/"),
    ] {
        let seen = call(&meta, "t_env", json!({"name": name})).await;
        assert_eq!(text(&seen), value, "{name}");
    }
}

#[tokio::test]
async fn the_status_says_when_each_phase_of_the_start_was_reached() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (server, _) = create_ready(&meta, test_server("--delay-ms 300")).await;
    let status = call_ok(
        &meta,
        "get_mcp_server_status",
        json!({"job_name": server["job_name"]}),
    )
    .await;
    let timings = status["timings"].as_array().expect("timings");
    let phases: Vec<&str> = timings
        .iter()
        .map(|t| t["phase"].as_str().unwrap())
        .collect();
    let expected = ["created", "started", "installed", "initialized", "ready"];
    assert_eq!(phases, expected, "{status}");
    let after: Vec<u64> = timings
        .iter()
        .map(|t| t["after_ms"].as_u64().unwrap())
        .collect();
    assert!(after.windows(2).all(|w| w[0] <= w[1]), "{after:?}");
    // The child "installed" for 300 ms before serving: installed and ready no sooner.
    assert!(after[2] >= 300 && after[4] >= 300, "{after:?}");
}
