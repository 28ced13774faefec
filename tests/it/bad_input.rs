//! Bad input gets a clear error naming what to fix, never a panic, a hang or a leak.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

async fn assert_no_process_with(marker: &str) {
    assert_no_process_within(marker, crate::support::QUICK).await;
}

/// [`assert_no_process_with`], within `within`.
async fn assert_no_process_within(marker: &str, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while !processes_with(marker).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "left behind: {:?}",
            processes_with(marker)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn marker() -> String {
    format!("--marker={}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn an_unknown_runtime_is_named_with_how_to_install_it() {
    let daemon = Process::daemon(&["--allow-runtime", "no-such-runtime-xyz"]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let args = json!({"runtime_exec": "no-such-runtime-xyz", "runtime_mcp": "pkg"});
    let error = call_err(&meta, "create_mcp_server", args).await;
    assert!(
        error.contains("cannot find \"no-such-runtime-xyz\" on the daemon's PATH"),
        "{error}"
    );
    assert!(error.contains("uvx comes with uv"), "{error}");
    assert_eq!(
        text(&call(&meta, "list_mcp_servers", json!({})).await),
        "[]"
    );
}

#[tokio::test]
async fn a_package_that_fails_to_start_reports_its_stderr_and_is_removed() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let marker = marker();
    let mut args = test_server(&format!(
        "{marker} --fail-init 'error: package mcp-server-nope not found'"
    ));
    args["wait_for_ready"] = json!(true);
    let error = call_err(&meta, "create_mcp_server", args).await;
    assert!(error.contains("exited with code"), "{error}");
    assert!(
        error.contains("error: package mcp-server-nope not found"),
        "{error}"
    );
    assert_eq!(
        text(&call(&meta, "list_mcp_servers", json!({})).await),
        "[]"
    );
    assert_no_process_with(&marker).await;
}

#[tokio::test]
async fn missing_and_empty_fields_are_tool_errors_that_say_what_to_give() {
    let daemon = Process::daemon(&[]).await;
    let meta = sse_client(&daemon.url("/sse")).await;
    let cases: [(&str, Value, &str); 7] = [
        (
            "create_mcp_server",
            json!({}),
            "runtime_exec and runtime_mcp are required",
        ),
        (
            "create_mcp_server",
            json!({"runtime_exec": "", "runtime_mcp": "x"}),
            "runtime_exec is empty",
        ),
        (
            "create_mcp_server",
            json!({"runtime_exec": "uvx"}),
            "give runtime_mcp too",
        ),
        (
            "create_mcp_server",
            json!({"runtime_exec": "uvx", "runtime_mcp": "p", "preset": "time"}),
            "either preset",
        ),
        (
            "create_mcp_server",
            json!({"runtime_exec": "uvx", "runtime_mcp": "p", "runtime_args": "'open"}),
            "unclosed quote",
        ),
        ("delete_mcp_server", json!({}), "job_name is required"),
        (
            "get_mcp_server_status",
            json!({"job_name": " "}),
            "job_name is required",
        ),
    ];
    for (tool, args, expected) in cases {
        let error = call_err(&meta, tool, args.clone()).await;
        assert!(
            error.contains(expected),
            "{tool}({args}): {error:?} should contain {expected:?}"
        );
    }
    assert_eq!(
        text(&call(&meta, "list_mcp_servers", json!({})).await),
        "[]"
    );
}

#[tokio::test]
async fn bad_env_names_are_refused_before_anything_starts() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    for name in ["1ABC", "A-B", "", "A B"] {
        let mut args = test_server("");
        args["env"] = json!({ name: "v" });
        let error = call_err(&meta, "create_mcp_server", args).await;
        assert!(
            error.contains("not a valid variable name"),
            "{name:?}: {error}"
        );
    }
    assert_eq!(
        text(&call(&meta, "list_mcp_servers", json!({})).await),
        "[]"
    );
}

#[tokio::test]
async fn an_unknown_job_name_is_named_with_how_to_find_the_right_one() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    for tool in ["delete_mcp_server", "get_mcp_server_status"] {
        let error = call_err(&meta, tool, json!({"job_name": "nope-1-abcdefgh"})).await;
        assert!(
            error.contains("failed to find MCP job: job_name=\"nope-1-abcdefgh\""),
            "{error}"
        );
        assert!(error.contains("list_mcp_servers"), "{error}");
    }
}

#[tokio::test]
async fn an_unknown_preset_lists_the_available_ones() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let error = call_err(&meta, "create_mcp_server", json!({"preset": "nope"})).await;
    assert!(error.contains("unknown preset \"nope\""), "{error}");
    assert!(
        error.contains("everything, fetch, filesystem, git, kubernetes, time"),
        "{error}"
    );
}

#[tokio::test]
async fn a_server_that_is_not_ready_in_time_is_deleted_and_the_error_says_so() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let marker = marker();
    let mut args = test_server(&format!("{marker} --delay-ms 30000"));
    args["wait_for_ready"] = json!(true);
    args["ready_timeout_secs"] = json!(1);
    let started = std::time::Instant::now();
    let error = call_err(&meta, "create_mcp_server", args).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(error.contains("timed out"), "{error}");
    assert!(error.contains("was deleted"), "{error}");
    assert!(
        error.contains("installing (pretend)"),
        "the log tail is included: {error}"
    );
    assert_eq!(
        text(&call(&meta, "list_mcp_servers", json!({})).await),
        "[]"
    );
    assert_no_process_with(&marker).await;

    let mut args = test_server("");
    args["ready_timeout_secs"] = json!(0);
    let error = call_err(&meta, "create_mcp_server", args).await;
    assert!(error.contains("ready_timeout_secs"), "{error}");
}

#[tokio::test]
async fn unknown_tools_are_protocol_errors_and_malformed_arguments_tool_errors() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let unknown = rmcp::model::CallToolRequestParams::new("no_such_tool");
    let error = meta.call_tool(unknown).await.unwrap_err().to_string();
    assert!(error.contains("unknown tool"), "{error}");
    let error = call_err(&meta, "create_mcp_server", json!({"wait_for_ready": "yes"})).await;
    assert!(
        error.contains("invalid type: string \"yes\", expected a boolean"),
        "{error}"
    );
    let error = call_err(&meta, "create_mcp_server", json!({"runtime_exe": "uvx"})).await;
    assert!(error.contains("unknown field `runtime_exe`"), "{error}");
}

#[tokio::test]
async fn invalid_json_rpc_is_rejected_on_both_http_transports() {
    let daemon = Process::daemon(&[]).await;
    let http = reqwest::Client::new();
    let post_mcp = |body: &'static str| {
        http.post(daemon.url("/mcp"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body)
            .send()
    };
    for body in ["not json", r#"{"jsonrpc":"2.0","method":42}"#] {
        let response = post_mcp(body).await.unwrap();
        assert!(
            response.status().is_client_error(),
            "{body}: {}",
            response.status()
        );
    }
    // A body that is not JSON, whatever its declared type: 400 with the JSON-RPC parse
    // error, which a client can act on (not 415, which says to change the content type).
    for content_type in ["application/json", "text/plain"] {
        let response = http
            .post(daemon.url("/mcp"))
            .header("content-type", content_type)
            .header("accept", "application/json, text/event-stream")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{content_type}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], -32700, "{error}");
        assert_eq!(error["id"], Value::Null, "{error}");
    }

    // Legacy SSE: open a session to get its endpoint.
    let transport =
        mcp_ephemeral_k8s::sse::client::SseClientTransport::connect(&daemon.url("/sse"))
            .await
            .unwrap();
    let endpoint = transport.endpoint().to_owned();
    let post = |url: String, body: &'static str| {
        http.post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let response = post(endpoint.clone(), "not json").await.unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], -32700);
    let response = post(endpoint.clone(), r#"{"hello":"world"}"#)
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], -32600);
    let response = post(daemon.url("/messages/"), "{}").await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("session_id is required")
    );
    let response = post(daemon.url("/messages/?session_id=nope"), "{}")
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    drop(transport);
}

#[tokio::test]
async fn oversized_bodies_get_413_on_both_http_transports() {
    let daemon = Process::daemon(&["--max-body-bytes", "4096"]).await;
    let http = reqwest::Client::new();
    // 10 MB: the client is still sending when the daemon answers; it must read the 413,
    // not a reset connection.
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(10_000_000)
    );
    let response = http
        .post(daemon.url("/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let said = response.text().await.unwrap();
    assert!(said.contains("--max-body-bytes"), "{said}");
    let transport =
        mcp_ephemeral_k8s::sse::client::SseClientTransport::connect(&daemon.url("/sse"))
            .await
            .unwrap();
    let response = http
        .post(transport.endpoint())
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    // The daemon still serves normal requests.
    let meta = http_client(&daemon.url("/mcp")).await;
    assert_eq!(
        text(&call(&meta, "list_mcp_servers", json!({})).await),
        "[]"
    );
}

#[tokio::test]
async fn a_client_that_disconnects_mid_create_leaves_nothing_behind() {
    let daemon = Process::daemon(&[]).await;
    let marker = marker();
    for make_client in [0, 1] {
        let meta = if make_client == 0 {
            sse_client(&daemon.url("/sse")).await
        } else {
            http_client(&daemon.url("/mcp")).await
        };
        let mut args = test_server(&format!("{marker} --delay-ms 30000"));
        args["wait_for_ready"] = json!(true);
        let peer = meta.peer().clone();
        let pending = tokio::spawn(async move { call(&peer, "create_mcp_server", args).await });
        // Wait until the child exists, then vanish.
        let deadline = tokio::time::Instant::now() + crate::support::QUICK;
        while processes_with(&marker).is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the child never started"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        meta.cancel().await.unwrap();
        pending.abort();
        // At once: rmcp would let a deleted session's handlers run for seconds more.
        assert_no_process_within(&marker, Duration::from_secs(4)).await;
    }
    let observer = http_client(&daemon.url("/mcp")).await;
    assert_eq!(
        text(&call(&observer, "list_mcp_servers", json!({})).await),
        "[]"
    );
}

#[tokio::test]
async fn the_kubernetes_backend_without_a_cluster_says_what_to_do() {
    let output = tokio::process::Command::new(BIN)
        .args(["serve", "--backend", "kubernetes", "--port", "0"])
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env("HOME", "/nonexistent")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot set up the kubernetes backend: invalid kube config"),
        "{stderr}"
    );
    assert!(stderr.contains("use --backend local"), "{stderr}");
}

#[tokio::test]
async fn unknown_flags_and_bad_values_exit_64_and_help_exits_0() {
    for args in [
        &["serve", "--no-such-flag"][..],
        &["serve", "--port", "not-a-number"],
    ] {
        let output = tokio::process::Command::new(BIN)
            .args(args)
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(64), "{args:?}");
    }
    let help = tokio::process::Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .await
        .unwrap();
    assert_eq!(help.status.code(), Some(0));
}

#[tokio::test]
async fn invalid_settings_exit_64_before_binding() {
    let short_key = TempFile::with("too short to be a key\n");
    for (flag, value) in [
        ("--owner", "not a label!"),
        ("--namespace", "Bad_NS"),
        ("--allow-origins", "localhost"),
        ("--child-key-file", short_key.path()),
        ("--child-key-file", "/nonexistent/child-key"),
        ("--pip-index-url", "ftp://pypi.mirror/simple"),
        ("--npm-registry", "not a url"),
        ("--warm-pool", "time"),
        ("--package-cache", "hostPath:/var/cache"),
    ] {
        let output = tokio::process::Command::new(BIN)
            .args(["serve", flag, value])
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(64), "{flag}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("{flag}={value:?} is not valid")),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn a_package_cache_on_the_local_backend_is_refused_with_why() {
    let output = tokio::process::Command::new(BIN)
        .args([
            "serve",
            "--backend",
            "local",
            "--package-cache",
            "pvc:cache",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--package-cache is for Kubernetes Jobs"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_second_daemon_on_a_taken_port_says_so_and_touches_nothing() {
    let first = Process::daemon(&[]).await;
    let port = first.addr.port().to_string();
    let output = tokio::process::Command::new(BIN)
        .args(["serve", "--backend", "local", "--port", &port])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is another process using the port"),
        "{stderr}"
    );
    assert!(!stderr.contains("deleting children"), "{stderr}");
}

#[tokio::test]
async fn huge_arguments_are_refused_by_size_and_never_logged_in_full() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    // Past the limit: refused at once, naming it (not `Argument list too long`).
    let mut args = test_server("");
    args["runtime_args"] = json!("a".repeat(1_000_000));
    let error = call_err(&meta, "create_mcp_server", args).await;
    assert!(
        error.contains("more than the 32768"),
        "{}",
        &error[..error.len().min(300)]
    );
    assert!(
        error.len() < 1000,
        "the error repeats the value: {} bytes",
        error.len()
    );
    let mut args = test_server("");
    args["env"] = json!({"BIG": "v".repeat(200_000)});
    let error = call_err(&meta, "create_mcp_server", args).await;
    assert!(
        error.contains("more than the 131072"),
        "{}",
        &error[..error.len().min(300)]
    );
    // Within it: the child starts, and the log holds no copy of the whole value.
    let marker = "m".repeat(30_000);
    let mut args = test_server(&marker);
    args["wait_for_ready"] = json!(true);
    call_ok(&meta, "create_mcp_server", args).await;
    let unknown = "u".repeat(100_000);
    let _ = meta
        .call_tool(rmcp::model::CallToolRequestParams::new(unknown.clone()))
        .await;
    let logs = daemon.log_text();
    assert!(
        !logs.contains(&marker[..1000]),
        "a whole argument was logged"
    );
    assert!(
        !logs.contains(&unknown[..1000]),
        "a whole tool name was logged"
    );
}

#[tokio::test]
async fn warm_pools_of_unknown_presets_or_past_the_cap_are_refused() {
    for (args, says) in [
        (&["--warm-pool", "nosuch=2"][..], "no preset"),
        (
            &["--warm-pool", "time=5,everything=4"],
            "more than --max-pool 8",
        ),
    ] {
        let output = tokio::process::Command::new(BIN)
            .args(["serve", "--backend", "local", "--port", "0"])
            .args(args)
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(64), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{stderr}");
    }
}
