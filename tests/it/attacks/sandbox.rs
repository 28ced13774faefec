//! Attacks by a child on the daemon and on other children: reading the daemon's
//! environment, memory or files, another child's home, or secrets it was not given.

use serde_json::{Value, json};

use crate::support::*;

const SECRET: &str = "s3cr3t-value-of-mcp-secret-used";

/// A daemon with `sandbox` (`on` or `off`) whose tokens file lies outside `/tmp`, and
/// secrets in its environment; alice's client of it.
async fn daemon(
    sandbox: &str,
) -> (
    Process,
    TempFile,
    rmcp::service::RunningService<rmcp::RoleClient, Recorder>,
) {
    let tokens = TempFile::with_in(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")),
        &format!("alice {ALICE}\n"),
    );
    let env = [
        ("AWS_SECRET_ACCESS_KEY", "aws-secret-the-child-must-not-see"),
        ("MCP_SECRET_UNUSED", "never-referenced"),
        ("MCP_SECRET_USED", SECRET),
    ];
    let args = ["--tokens-file", tokens.path(), "--sandbox", sandbox];
    let daemon = Process::daemon_with_env(&args, &env).await;
    let meta = http_client_as(&daemon.url("/mcp"), ALICE).await;
    (daemon, tokens, meta)
}

/// Creates the test server with `env`, mounts it as `name`; returns its job name.
async fn child(meta: &rmcp::Peer<rmcp::RoleClient>, name: &str, env: Value) -> String {
    let mut args = test_server("");
    args["env"] = env;
    let (server, _) = create_ready(meta, args).await;
    let job_name = server["job_name"].as_str().unwrap().to_owned();
    let mount = json!({"job_name": job_name, "name": name});
    call_ok(meta, "mount_mcp_server", mount).await;
    job_name
}

async fn read(meta: &rmcp::Peer<rmcp::RoleClient>, tool: &str, path: &str) -> String {
    text(&call(meta, tool, json!({"path": path})).await)
}

#[tokio::test]
async fn a_sandboxed_child_cannot_read_the_daemon_its_tokens_or_another_childs_home() {
    let (daemon, tokens, meta) = daemon("on").await;
    let a = child(&meta, "a", json!({"TOKEN": "${MCP_SECRET_USED}"})).await;
    let b = child(&meta, "b", json!({})).await;

    // The daemon's environment and memory: another PID namespace, so not even its PID.
    let environ = read(
        &meta,
        "a_read_file",
        &format!("/proc/{}/environ", daemon.pid()),
    )
    .await;
    assert!(
        !environ.contains(ALICE) && !environ.contains("aws-secret"),
        "{environ}"
    );
    let processes = read(&meta, "a_read_file", "/proc/self/status").await;
    assert!(processes.contains("NSpid"), "{processes}");
    // The tokens file reads as empty.
    let token_file = read(&meta, "a_read_file", tokens.path()).await;
    assert!(!token_file.contains(ALICE), "{token_file}");
    // Another child's home, made readable on purpose, is not there.
    let b_home = format!("/tmp/mcp-ephemeral-k8s-{}/{b}", daemon.pid());
    std::fs::write(format!("{b_home}/note"), "b's note").unwrap();
    let note = read(&meta, "a_read_file", &format!("{b_home}/note")).await;
    assert!(note.contains("No such file"), "{note}");
    // Its own home is its own.
    let a_home = format!("/tmp/mcp-ephemeral-k8s-{}/{a}", daemon.pid());
    std::fs::write(format!("{a_home}/note"), "a's note").unwrap();
    assert_eq!(
        read(&meta, "a_read_file", &format!("{a_home}/note")).await,
        "a's note"
    );
    // The operator's home is hidden.
    let home = std::env::var("HOME").unwrap();
    let listing = read(&meta, "a_read_file", &format!("{home}/.bashrc")).await;
    assert!(listing.contains("No such file"), "{listing}");
}

#[tokio::test]
async fn a_child_gets_only_the_environment_it_was_given() {
    for sandbox in ["on", "off"] {
        let (_daemon, _tokens, meta) = daemon(sandbox).await;
        let a = child(&meta, "a", json!({"TOKEN": "${MCP_SECRET_USED}"})).await;
        let env: Value =
            serde_json::from_str(&text(&call(&meta, "a_environment", json!({})).await)).unwrap();
        assert_eq!(env["TOKEN"], SECRET, "{sandbox}: {env}");
        assert!(
            env["HOME"].as_str().unwrap().ends_with(&a),
            "{sandbox}: {env}"
        );
        for (name, _) in env.as_object().unwrap() {
            let expected = [
                "PATH", "HOME", "PWD", "LANG", "TOKEN", "TMPDIR", "TZ", "LC_ALL",
            ]
            .contains(&name.as_str())
                || [
                    "XDG_",
                    "UV_",
                    "npm_config_",
                    "SSL_",
                    "NODE_EXTRA_CA",
                    "REQUESTS_CA",
                    "CURL_CA",
                    "PIP_CERT",
                    "GIT_SSL",
                ]
                .iter()
                .any(|p| name.starts_with(p));
            assert!(expected, "{sandbox}: the child got {name}: {env}");
        }
        // A secret it echoes does not come back through the log tail.
        call_ok(
            &meta,
            "a_eprint",
            json!({"text": format!("token is {SECRET}")}),
        )
        .await;
        // The daemon reads the child's stderr on its own: the line may land just after.
        let deadline = tokio::time::Instant::now() + crate::support::QUICK;
        let tail = loop {
            let status = call_ok(&meta, "get_mcp_server_status", json!({"job_name": a})).await;
            let tail = status["log_tail"].to_string();
            if tail.contains("token is") || tokio::time::Instant::now() > deadline {
                break tail;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        assert!(!tail.contains(SECRET), "{tail}");
        assert!(tail.contains("token is <redacted>"), "{tail}");
    }
}

#[tokio::test]
async fn npx_runs_only_what_it_installs_never_a_program_on_path() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let marker = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("npx-sh-{}", uuid::Uuid::new_v4().simple()));
    let args = json!({"runtime_exec": "npx", "runtime_mcp": "sh", "wait_for_ready": true,
        "runtime_args": format!("-c 'touch {}'", marker.display())});
    let error = call_err(&meta, "create_mcp_server", args).await;
    // npm installs its package `sh`, which has no program to run.
    assert!(
        error.contains("could not determine executable to run"),
        "{error}"
    );
    assert!(!marker.exists(), "npx ran /bin/sh");
    assert_eq!(
        text(&call(&meta, "list_mcp_servers", json!({})).await),
        "[]"
    );
}
