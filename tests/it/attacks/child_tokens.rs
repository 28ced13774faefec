//! Attacks on children directly: every child demands a token only its owner learns, so
//! finding its port (`ss -ltn` from a child of one's own) gives nothing.

use serde_json::json;

use crate::support::*;

/// The status a raw `initialize` POST to `url` gets with `authorization`.
async fn initialize(url: &str, authorization: Option<&str>) -> u16 {
    initialize_with(url, "authorization", authorization).await
}

/// The status a raw `initialize` POST to `url` gets with `value` in `header`.
async fn initialize_with(url: &str, header: &str, value: Option<&str>) -> u16 {
    let headers: Vec<(&str, &str)> = value.map(|v| (header, v)).into_iter().collect();
    post_initialize(url, &headers).await.status().as_u16()
}

#[tokio::test]
async fn a_child_answers_only_its_token_which_only_its_owner_sees() {
    let tokens = TempFile::with(&format!("alice {ALICE}\nbob {BOB}\n"));
    let daemon = Process::daemon(&["--tokens-file", tokens.path()]).await;
    let alice = http_client_as(&daemon.url("/mcp"), ALICE).await;
    let bob = http_client_as(&daemon.url("/mcp"), BOB).await;
    let mut args = test_server("");
    args["shared"] = json!(true);
    let (server, _) = create_ready(&alice, args).await;
    let (url, sse_url) = (
        server["url"].as_str().unwrap(),
        server["sse_url"].as_str().unwrap(),
    );
    let authorization = server["authorization"].as_str().expect("the owner gets it");
    assert!(
        authorization.starts_with("Bearer ") && authorization.len() > 40,
        "{server}"
    );

    // Without it, or with another, the child refuses; /health stays open for probes.
    assert_eq!(initialize(url, None).await, 401);
    assert_eq!(initialize(url, Some(&format!("Bearer {ALICE}"))).await, 401);
    let sse = reqwest::get(sse_url).await.unwrap();
    assert_eq!(sse.status(), 401);
    let health = url.replace("/mcp", "/health");
    assert_eq!(reqwest::get(&health).await.unwrap().status(), 200);
    assert_eq!(initialize(url, Some(authorization)).await, 200);
    // Through a proxy that keeps `Authorization` (the Kubernetes API server), the same value
    // goes in X-MCP-Authorization; a wrong one there is refused as well.
    let proxied = "x-mcp-authorization";
    assert_eq!(
        initialize_with(url, proxied, Some(authorization)).await,
        200
    );
    let wrong = format!("Bearer {BOB}");
    assert_eq!(initialize_with(url, proxied, Some(&wrong)).await, 401);
    let child = child_client(&server, false).await;
    assert_eq!(
        text(&call(&child, "echo", json!({"text": "hi"})).await),
        "hi"
    );

    // Bob may use the shared child through the daemon but never learns its token.
    let job_name = server["job_name"].as_str().unwrap();
    let status = call_ok(&bob, "get_mcp_server_status", json!({"job_name": job_name})).await;
    assert!(status.get("authorization").is_none(), "{status}");
    let listed = call_ok(&bob, "list_mcp_servers", json!({})).await;
    assert!(!listed.to_string().contains(authorization), "{listed}");
    let mounted = call_ok(
        &bob,
        "mount_mcp_server",
        json!({"job_name": job_name, "name": "b"}),
    )
    .await;
    assert!(!mounted.to_string().contains(authorization), "{mounted}");
    assert_eq!(
        text(&call(&bob, "b_echo", json!({"text": "via"})).await),
        "via"
    );
    // Alice's own status has it; her listing does not.
    let status = call_ok(
        &alice,
        "get_mcp_server_status",
        json!({"job_name": job_name}),
    )
    .await;
    assert_eq!(status["authorization"], authorization);
    let listed = call_ok(&alice, "list_mcp_servers", json!({})).await;
    assert!(!listed.to_string().contains(authorization), "{listed}");
}
