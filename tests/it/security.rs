//! Authentication, Host and Origin checks, ownership of children and the audit log.

use serde_json::{Value, json};

use crate::support::*;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn missing_or_wrong_tokens_get_401_with_a_bearer_challenge() {
    let daemon = Process::daemon(&["--auth-token", TOKEN]).await;
    let response = post_initialize(&daemon.url("/mcp"), &[]).await;
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert_eq!(challenge, r#"Bearer realm="mcp-ephemeral-k8s""#);
    let wrong = format!("Bearer {}", TOKEN.replace('0', "1"));
    let response = post_initialize(&daemon.url("/mcp"), &[("authorization", &wrong)]).await;
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    let http = reqwest::Client::new();
    let sse = http.get(daemon.url("/sse")).send().await.unwrap();
    assert_eq!(sse.status(), 401, "GET /sse is guarded");
    let post = http
        .post(daemon.url("/messages/?session_id=x"))
        .body("{}")
        .send()
        .await;
    assert_eq!(post.unwrap().status(), 401, "POST /messages/ is guarded");
    let metrics = http.get(daemon.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 401, "/metrics is guarded by default");
    let health = http.get(daemon.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200, "/health stays open");
    // With the token, MCP works.
    let meta = http_client_as(&daemon.url("/mcp"), TOKEN).await;
    assert!(
        tool_names(&meta)
            .await
            .contains(&"create_mcp_server".to_owned())
    );
    assert!(
        !daemon.log_text().contains(TOKEN),
        "the token is never logged"
    );
}

#[tokio::test]
async fn foreign_hosts_and_origins_get_403() {
    let daemon = Process::daemon(&[]).await;
    let url = daemon.url("/mcp");
    let rebound = post_initialize(&url, &[("host", "evil.example:8000")]).await;
    assert_eq!(rebound.status(), 403, "DNS rebinding: a foreign Host");
    let cross_site = post_initialize(&url, &[("origin", "http://evil.example")]).await;
    assert_eq!(cross_site.status(), 403, "a foreign Origin");
    let http = reqwest::Client::new();
    let sse = http
        .get(daemon.url("/sse"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), 403);
    let other_port = post_initialize(&url, &[("origin", "http://127.0.0.1:1")]).await;
    assert_eq!(other_port.status(), 403, "another port of the same host");
    let same_origin = post_initialize(&url, &[("origin", &daemon.url(""))]).await;
    assert_eq!(
        same_origin.status(),
        200,
        "a page of the daemon itself may call it"
    );
}

#[tokio::test]
async fn an_exposed_address_needs_a_token_or_an_explicit_opt_out() {
    let output = tokio::process::Command::new(BIN)
        .args([
            "serve",
            "--backend",
            "local",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--insecure-no-auth"), "{stderr}");
    let short = tokio::process::Command::new(BIN)
        .args(["serve", "--auth-token", "short"])
        .output()
        .await
        .unwrap();
    assert_eq!(short.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&short.stderr);
    assert!(stderr.contains("at least 16 characters"), "{stderr}");
    assert!(
        !stderr.contains("short\""),
        "the token is not echoed: {stderr}"
    );
    let open = Process::daemon(&["--host", "0.0.0.0", "--insecure-no-auth"]).await;
    wait_healthy(&open.url("/health")).await;
}

fn tokens_file() -> TempFile {
    TempFile::with(&format!("# principals\nalice {ALICE}\nbob {BOB}\n"))
}

fn names(servers: &Value) -> Vec<String> {
    let list = servers["result"].as_array().unwrap();
    list.iter()
        .map(|s| s["job_name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn children_belong_to_their_creator_unless_shared() {
    let tokens = tokens_file();
    let daemon = Process::daemon(&["--tokens-file", tokens.path()]).await;
    let alice = http_client_as(&daemon.url("/mcp"), ALICE).await;
    let bob = http_client_as(&daemon.url("/mcp"), BOB).await;
    let (private, _) = create_ready(&alice, test_server("")).await;
    let mut shared_args = test_server("");
    shared_args["shared"] = json!(true);
    let (shared, _) = create_ready(&alice, shared_args).await;
    assert_eq!(private["owner"], "alice");
    assert_eq!(shared["shared"], true);
    let private_name = private["job_name"].as_str().unwrap();
    let shared_name = shared["job_name"].as_str().unwrap();

    let seen_by_bob = call_ok(&bob, "list_mcp_servers", json!({})).await;
    assert_eq!(names(&seen_by_bob), [shared_name]);
    let seen_by_alice = call_ok(&alice, "list_mcp_servers", json!({})).await;
    assert_eq!(names(&seen_by_alice).len(), 2);
    for tool in [
        "get_mcp_server_status",
        "delete_mcp_server",
        "mount_mcp_server",
    ] {
        let error = call_err(&bob, tool, json!({"job_name": private_name})).await;
        assert!(error.contains("failed to find MCP job"), "{tool}: {error}");
    }
    // Bob may use the shared one; Alice's private mount stays hers.
    call_ok(
        &bob,
        "mount_mcp_server",
        json!({"job_name": shared_name, "name": "s"}),
    )
    .await;
    call_ok(
        &alice,
        "mount_mcp_server",
        json!({"job_name": private_name, "name": "p"}),
    )
    .await;
    let bobs_tools = tool_names(&bob).await;
    assert!(bobs_tools.contains(&"s_echo".to_owned()), "{bobs_tools:?}");
    assert!(
        !bobs_tools.iter().any(|t| t.starts_with("p_")),
        "{bobs_tools:?}"
    );
    let refused = async |client: &rmcp::Peer<rmcp::RoleClient>| {
        let call = rmcp::model::CallToolRequestParams::new("p_echo");
        client.call_tool(call).await.unwrap_err().to_string()
    };
    let unknown = refused(&bob).await;
    assert!(unknown.contains("unknown tool"), "{unknown}");
    let error = call_err(&bob, "remove_mcp_server_mount", json!({"name": "p"})).await;
    assert!(error.contains("No mounted server found"), "{error}");
    assert!(tool_names(&alice).await.contains(&"p_echo".to_owned()));
    call_ok(&bob, "delete_mcp_server", json!({"job_name": shared_name})).await;
    // Alice removing her mount tells bob nothing: to him the tool never was.
    call_ok(&alice, "remove_mcp_server_mount", json!({"name": "p"})).await;
    let unknown = refused(&bob).await;
    assert!(unknown.contains("unknown tool"), "{unknown}");
    let gone = refused(&alice).await;
    assert!(
        gone.contains("mount \"p\" was removed (it was unmounted)"),
        "{gone}"
    );

    let log = daemon.log_text();
    let audit = |principal: &str, action: &str, outcome: &str| {
        log.lines().any(|line| {
            line.contains("mcp_ephemeral_k8s::audit")
                && line.contains(&format!(r#""principal":"{principal}""#))
                && line.contains(&format!(r#""action":"{action}""#))
                && line.contains(&format!(r#""outcome":"{outcome}""#))
        })
    };
    assert!(audit("alice", "create", "allowed"), "{log}");
    assert!(audit("alice", "mount", "allowed"));
    assert!(audit("bob", "delete", "denied"));
    assert!(audit("bob", "mount", "denied"));
    assert!(audit("bob", "delete", "allowed"));
    assert!(
        !log.contains(ALICE) && !log.contains(BOB),
        "tokens are never logged"
    );
}

/// Opens `GET /sse` as `token` and returns the endpoint it names, with the stream (kept
/// open while the session is used).
async fn open_sse_session(daemon: &Process, token: &str) -> (String, reqwest::Response) {
    let mut stream = reqwest::Client::new()
        .get(daemon.url("/sse"))
        .header("authorization", format!("Bearer {token}"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut seen = String::new();
    while !seen.contains("\n\n") {
        let chunk = stream.chunk().await.unwrap().expect("the stream ended");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let endpoint = seen
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .expect("an endpoint event")
        .trim()
        .to_owned();
    (endpoint, stream)
}

#[tokio::test]
async fn a_legacy_sse_session_answers_only_the_principal_that_opened_it() {
    let tokens = tokens_file();
    let daemon = Process::daemon(&["--tokens-file", tokens.path()]).await;
    let (endpoint, _alice_stream) = open_sse_session(&daemon, ALICE).await;
    let post = |token: &'static str| {
        let url = daemon.url(&endpoint);
        async move {
            let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
            reqwest::Client::new()
                .post(url)
                .header("authorization", format!("Bearer {token}"))
                .json(&ping)
                .send()
                .await
                .unwrap()
        }
    };
    // Bob, with a valid token of his own and Alice's session id, finds no such session.
    let bob = post(BOB).await;
    assert_eq!(bob.status(), 404);
    assert!(bob.text().await.unwrap().contains("Could not find session"));
    assert_eq!(post(ALICE).await.status(), 202);
}

#[tokio::test]
async fn a_streamable_http_session_answers_only_the_principal_that_opened_it() {
    let tokens = tokens_file();
    let daemon = Process::daemon(&["--tokens-file", tokens.path()]).await;
    let alice = format!("Bearer {ALICE}");
    let opened = post_initialize(&daemon.url("/mcp"), &[("authorization", &alice)]).await;
    assert_eq!(opened.status(), 200);
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let send = |method: reqwest::Method, token: &'static str, body: Option<Value>| {
        let mut request = reqwest::Client::new()
            .request(method, daemon.url("/mcp"))
            .header("authorization", format!("Bearer {token}"))
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .header("mcp-session-id", &session);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move { request.send().await.unwrap().status() }
    };
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(
        send(reqwest::Method::POST, ALICE, Some(initialized.clone())).await,
        202
    );
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
    // Bob, with his own valid token and Alice's session id, finds no such session: he can
    // neither post on it (not even a second initialized), nor read its stream, nor end it.
    assert_eq!(
        send(reqwest::Method::POST, BOB, Some(ping.clone())).await,
        404
    );
    assert_eq!(
        send(reqwest::Method::POST, BOB, Some(initialized)).await,
        404
    );
    assert_eq!(send(reqwest::Method::GET, BOB, None).await, 404);
    assert_eq!(send(reqwest::Method::DELETE, BOB, None).await, 404);
    assert_eq!(send(reqwest::Method::POST, ALICE, Some(ping)).await, 200);
    // 200, not rmcp's 202, which the Python SDK logs as a failed termination.
    assert_eq!(send(reqwest::Method::DELETE, ALICE, None).await, 200);
}
