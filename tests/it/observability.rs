//! What operators see: Prometheus metrics at `/metrics` and a request id on the log
//! lines of every tool call.

use serde_json::json;

use crate::support::*;

const TOKEN: &str = "metrics-token-0123456789abcdef";

async fn scrape(daemon: &Process, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(daemon.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// The value of the sample `series` (name with labels) in a scrape.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no sample {series} in\n{text}"))
}

#[tokio::test]
async fn metrics_count_children_mounts_calls_and_errors() {
    let daemon = Process::daemon(&["--auth-token", TOKEN]).await;
    assert_eq!(scrape(&daemon, None).await.status(), 401);
    let http = reqwest::Client::new();
    let wrong_token = http.post(daemon.url("/mcp")).bearer_auth("wrong");
    assert_eq!(wrong_token.send().await.unwrap().status(), 401);
    let rebound = http.get(daemon.url("/sse")).header("host", "evil.example");
    assert_eq!(rebound.send().await.unwrap().status(), 403);
    let meta = http_client_as(&daemon.url("/mcp"), TOKEN).await;
    let (server, _) = create_ready(&meta, test_server("")).await;
    let mount = json!({"job_name": server["job_name"], "name": "t"});
    call_ok(&meta, "mount_mcp_server", mount).await;
    for _ in 0..5 {
        call_ok(&meta, "t_add", json!({"a": 1, "b": 2})).await;
    }
    call(&meta, "t_fail", json!({"text": "boom"})).await;
    call_err(
        &meta,
        "create_mcp_server",
        json!({"runtime_exec": "sh", "runtime_mcp": "x"}),
    )
    .await;

    let response = scrape(&daemon, Some(TOKEN)).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    assert_eq!(
        sample(&text, "mcp_ephemeral_k8s_children{state=\"running\"}"),
        1.0
    );
    assert_eq!(
        sample(&text, "mcp_ephemeral_k8s_mounts{state=\"connected\"}"),
        1.0
    );
    assert_eq!(
        sample(&text, "mcp_ephemeral_k8s_children_created_total"),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "mcp_ephemeral_k8s_calls_total{tool=\"mounted\",outcome=\"ok\"}"
        ),
        5.0
    );
    assert_eq!(
        sample(
            &text,
            "mcp_ephemeral_k8s_calls_total{tool=\"mounted\",outcome=\"error\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "mcp_ephemeral_k8s_call_duration_seconds_count{tool=\"mounted\"}"
        ),
        6.0
    );
    assert_eq!(
        sample(
            &text,
            "mcp_ephemeral_k8s_errors_total{reason=\"not_allowed\"}"
        ),
        1.0
    );
    assert!(sample(&text, "mcp_ephemeral_k8s_sessions") >= 1.0);
    let rejected = |reason: &str| {
        sample(
            &text,
            &format!("mcp_ephemeral_k8s_http_rejected_total{{reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(
        (
            rejected("unauthorized"),
            rejected("host"),
            rejected("origin")
        ),
        (2.0, 1.0, 0.0)
    );
    // Every call's log lines carry its request id.
    let log = daemon.log_text();
    let create = log
        .lines()
        .find(|l| l.contains("mcp_ephemeral_k8s::audit") && l.contains(r#""action":"create""#))
        .expect("an audit line for the create");
    assert!(create.contains(r#""request_id":"#), "{create}");
    assert!(create.contains(r#""tool":"create_mcp_server""#), "{create}");
}

#[tokio::test]
async fn metrics_can_be_opened_to_a_scraper_without_the_token() {
    let daemon = Process::daemon(&["--auth-token", TOKEN, "--metrics-open"]).await;
    let response = scrape(&daemon, None).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert_eq!(
        sample(&text, "mcp_ephemeral_k8s_children{state=\"running\"}"),
        0.0
    );
    // MCP itself stays closed.
    let mcp = reqwest::Client::new()
        .post(daemon.url("/mcp"))
        .body("{}")
        .send()
        .await;
    assert_eq!(mcp.unwrap().status(), 401);
}
