//! Attacks through what a caller asks a child to run: package specs that are not
//! registry names, environment variables that change what runs, preset arguments.

use serde_json::{Value, json};

use crate::support::*;

/// Calls `create_mcp_server` with `args`, which must be refused with a message holding
/// `expected`, and checks that nothing was created.
async fn refused(meta: &rmcp::Peer<rmcp::RoleClient>, args: Value, expected: &str) {
    let error = call_err(meta, "create_mcp_server", args.clone()).await;
    assert!(error.contains(expected), "{args}: {error}");
    assert_eq!(text(&call(meta, "list_mcp_servers", json!({})).await), "[]");
}

#[tokio::test]
async fn package_specs_that_are_not_registry_names_are_refused_even_when_they_glob() {
    let daemon =
        Process::daemon(&["--allow-package", "@modelcontextprotocol/*,mcp-server-*"]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    for (exec, package) in [
        ("npx", "@modelcontextprotocol/x@file:/tmp/evilpkg"),
        ("uvx", "mcp-server-evil@file:///tmp/evilpy"),
        ("uvx", "mcp-server-x@git+https://example.com/x.git"),
        ("npx", "mcp-server-x@npm:evil"),
        ("npx", "mcp-server-x/../../tmp/evil"),
        ("npx", "mcp-server-x.tgz"),
    ] {
        let args = json!({"runtime_exec": exec, "runtime_mcp": package});
        refused(&meta, args, "give a registry package name").await;
    }
    // The allowlist sees the name, not the version.
    let args = json!({"runtime_exec": "npx", "runtime_mcp": "left-pad@1.3.0"});
    refused(&meta, args, "--allow-package").await;
}

#[tokio::test]
async fn env_that_changes_what_runs_is_refused_unless_the_operator_allows_it() {
    let daemon = Process::daemon(&["--allow-env", "UV_INDEX_URL"]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    for name in [
        "LD_PRELOAD",
        "PATH",
        "NODE_OPTIONS",
        "npm_config_registry",
        "PYTHONWARNINGS",
        "BROWSER",
        "PIP_INDEX_URL",
    ] {
        let mut args = test_server("");
        args["env"] = json!({ name: "x" });
        refused(&meta, args, &format!("--allow-env {name}")).await;
        // Through a preset too.
        let args = json!({"preset": "time", "env": { name: "x" }});
        refused(&meta, args, &format!("--allow-env {name}")).await;
    }
    let mut args = test_server("");
    args["env"] = json!({"UV_INDEX_URL": "https://pypi.org/simple"});
    let (server, _) = create_ready(&meta, args).await;
    let name = server["job_name"].as_str().unwrap();
    call_ok(&meta, "delete_mcp_server", json!({"job_name": name})).await;
}

#[tokio::test]
async fn presets_keep_their_arguments_unless_they_declare_which_may_change() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    for path in ["/", "/etc", "/tmp/../etc"] {
        let args = json!({"preset": "filesystem", "runtime_args": path});
        refused(&meta, args, "preset filesystem allows arguments matching").await;
    }
    let args = json!({"preset": "time", "runtime_args": "--local-timezone UTC"});
    refused(&meta, args, "preset time keeps its own arguments").await;
}

#[tokio::test]
async fn debug_logging_prints_no_env_value_nor_what_a_child_echoes_of_it() {
    const VALUE: &str = "literal-api-key-0123456789";
    let daemon = Process::daemon_with_env(&[], &[("MCP_EPHEMERAL_K8S_LOG", "debug")]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let mut args = test_server("");
    args["env"] = json!({"API_KEY": VALUE});
    let (server, _) = create_ready(&meta, args).await;
    let job_name = server["job_name"].as_str().unwrap();
    let mount = json!({"job_name": job_name, "name": "t"});
    call_ok(&meta, "mount_mcp_server", mount).await;
    call_ok(&meta, "t_eprint", json!({"text": format!("key={VALUE}")})).await;
    eventually("the echo is logged", || {
        daemon.log_text().contains("key=<redacted>")
    })
    .await;
    let logs = daemon.log_text();
    assert!(!logs.contains(VALUE), "{logs}");
}
