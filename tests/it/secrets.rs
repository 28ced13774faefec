//! Secrets: `env` values are never shown back (results, logs, metrics), and `${VAR}`
//! passes a daemon variable to a child without the agent seeing it.

use serde_json::json;

use crate::support::*;

const SECRET: &str = "hunter2-0d1f9c7e-never-shown";

#[tokio::test]
async fn env_references_reach_the_child_and_no_secret_is_ever_shown() {
    let daemon = Process::daemon_with_env(&[], &[("MCP_SECRET_API_KEY", SECRET)]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let mut args = test_server("");
    args["env"] =
        json!({"FROM_DAEMON": "${MCP_SECRET_API_KEY}", "GIVEN": format!("{SECRET}-given")});
    let (server, _) = create_ready(&meta, args).await;
    let job = server["job_name"].clone();
    call_ok(
        &meta,
        "mount_mcp_server",
        json!({"job_name": job, "name": "t"}),
    )
    .await;
    // The child has the value...
    let from_daemon = call(&meta, "t_env", json!({"name": "FROM_DAEMON"})).await;
    assert_eq!(text(&from_daemon), SECRET);
    // ...and may echo it on stderr, which the daemon keeps as the log tail...
    call_ok(&meta, "t_eprint", json!({"text": format!("key={SECRET}")})).await;
    eventually("the echo reaches the log tail", || {
        daemon.log_text().contains("key=<redacted>")
    })
    .await;
    // ...and nothing the daemon says contains it.
    let mut shown = vec![server.to_string()];
    for (tool, args) in [
        ("list_mcp_servers", json!({})),
        ("get_mcp_server_status", json!({"job_name": job})),
        ("list_presets", json!({})),
        ("list_mounted_tools", json!({})),
    ] {
        shown.push(serde_json::to_string(&call(&meta, tool, args).await).unwrap());
    }
    let metrics = reqwest::get(daemon.url("/metrics")).await.unwrap();
    shown.push(metrics.text().await.unwrap());
    let deleted = call(&meta, "delete_mcp_server", json!({"job_name": job})).await;
    shown.push(serde_json::to_string(&deleted).unwrap());
    shown.push(daemon.log_text());
    for text in &shown {
        assert!(!text.contains(SECRET), "a secret leaked: {text}");
    }
    assert!(shown[0].contains("<redacted>"), "{}", shown[0]);
}

#[tokio::test]
async fn unset_or_unshared_variables_are_refused_before_anything_starts() {
    let daemon = Process::daemon_with_env(&[], &[("OTHER_SECRET", SECRET)]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let mut args = test_server("");
    args["env"] = json!({"KEY": "${MCP_SECRET_MISSING}"});
    let error = call_err(&meta, "create_mcp_server", args.clone()).await;
    assert!(
        error.contains("${MCP_SECRET_MISSING}, which is not set"),
        "{error}"
    );
    args["env"] = json!({"KEY": "${OTHER_SECRET}"});
    let error = call_err(&meta, "create_mcp_server", args.clone()).await;
    assert!(error.contains("--allow-env-ref"), "{error}");
    assert!(!error.contains(SECRET));
    args["env"] = json!({"KEY": "${secret:github/token}"});
    let error = call_err(&meta, "create_mcp_server", args).await;
    assert!(error.contains("--allow-secret"), "{error}");
    let list = call_ok(&meta, "list_mcp_servers", json!({})).await;
    assert_eq!(list["result"], json!([]));
}
