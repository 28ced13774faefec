//! Calls to mounted tools over `/mcp` are served by the daemon itself, not by rmcp's
//! session machinery: seen from a plain HTTP client, their answer is one JSON body, while
//! the meta tools (and anything of an unknown session) stay with rmcp.

use serde_json::{Value, json};

use crate::support::*;

/// A plain HTTP client of one streamable-HTTP session.
struct RawSession {
    http: reqwest::Client,
    url: String,
    id: String,
}

impl RawSession {
    async fn open(url: &str) -> Self {
        let http = reqwest::Client::new();
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"}}});
        let response = post(&http, url, None, &init).await;
        let id = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        response.bytes().await.unwrap();
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let response = post(&http, url, Some(&id), &initialized).await;
        assert_eq!(response.status(), 202);
        Self {
            http,
            url: url.to_owned(),
            id,
        }
    }

    /// Posts a `tools/call`; returns the status, the content type and the body.
    async fn call(&self, session: &str, tool: &str, arguments: Value) -> (u16, String, String) {
        let params = json!({"name": tool, "arguments": arguments});
        self.call_with(session, params).await
    }

    /// Posts a `tools/call` with `params`; returns the status, the content type and the body.
    async fn call_with(&self, session: &str, params: Value) -> (u16, String, String) {
        let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params});
        let response = post(&self.http, &self.url, Some(session), &call).await;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, content_type, response.text().await.unwrap())
    }
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut request = http
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(body);
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn mounted_calls_are_answered_past_rmcp_and_the_rest_goes_to_rmcp() {
    let (daemon, _meta, _) = daemon_with_mounted_child("").await;
    let session = RawSession::open(&daemon.url("/mcp")).await;

    // The session is known once rmcp has handled `initialized`; until then calls take the
    // rmcp path, which answers the same.
    let deadline = tokio::time::Instant::now() + QUICK;
    let (status, content_type, body) = loop {
        let answer = session
            .call(&session.id, "t_echo", json!({"text": "direct"}))
            .await;
        if answer.1.starts_with("application/json") || tokio::time::Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}: {body}"
    );
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["id"], 7, "{body}");
    assert_eq!(answer["result"]["content"][0]["text"], "direct", "{body}");

    // A child's error stays a tool error with the child's text.
    let (_, _, body) = session
        .call(&session.id, "t_fail", json!({"text": "broken on purpose"}))
        .await;
    assert!(body.contains("broken on purpose"), "{body}");

    // With a progress token, the child's progress comes first on the call's own stream,
    // every step before the answer (the child sends its last step right before answering;
    // the bridge and the daemon keep an answer behind the progress sent before it).
    for _ in 0..10 {
        let params = json!({"name": "t_slow", "arguments": {"millis": 10, "steps": 2},
            "_meta": {"progressToken": "mine"}});
        let (status, content_type, body) = session.call_with(&session.id, params).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        let messages: Vec<Value> = body
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .map(|data| serde_json::from_str(data).unwrap())
            .collect();
        let progress: Vec<&Value> = messages
            .iter()
            .filter(|m| m["method"] == "notifications/progress")
            .collect();
        assert_eq!(progress.len(), 2, "{body}");
        assert!(
            progress
                .iter()
                .all(|p| p["params"]["progressToken"] == "mine"),
            "{body}"
        );
        let last = messages.last().unwrap();
        assert_eq!(last["id"], 7, "{body}");
        assert_eq!(
            last["result"]["content"][0]["text"], "done after 10 ms",
            "{body}"
        );
    }

    // Meta tools are served by rmcp, on a response stream.
    let (status, content_type, body) = session
        .call(&session.id, "list_mcp_servers", json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );

    // What rmcp refuses before reading the message, it still refuses: an unknown protocol
    // version (400) and an Accept without SSE (406).
    let call = json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call",
        "params": {"name": "t_echo", "arguments": {"text": "x"}}});
    for (header, value, status) in [
        ("mcp-protocol-version", "1999-01-01", 400),
        ("accept", "application/json", 406),
    ] {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "accept",
            "application/json, text/event-stream".parse().unwrap(),
        );
        headers.insert("mcp-protocol-version", "2025-11-25".parse().unwrap());
        headers.insert("mcp-session-id", session.id.parse().unwrap());
        headers.insert(header, value.parse().unwrap());
        let request = session.http.post(&session.url).headers(headers);
        let response = request.json(&call).send().await.unwrap();
        assert_eq!(response.status(), status, "{header}: {value}");
    }

    // A session nobody opened is rmcp's to refuse, mounted tool or not.
    let (status, _, body) = session
        .call("no-such-session", "t_echo", json!({"text": "x"}))
        .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn a_second_call_with_the_id_of_one_in_flight_is_refused() {
    let (daemon, _meta, _) = daemon_with_mounted_child("").await;
    let session = std::sync::Arc::new(RawSession::open(&daemon.url("/mcp")).await);
    // Wait until calls of this session are served past rmcp (answered as plain JSON).
    let deadline = tokio::time::Instant::now() + QUICK;
    while !session
        .call(&session.id, "t_echo", json!({"text": "x"}))
        .await
        .1
        .starts_with("application/json")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never served past rmcp"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let first = {
        let session = session.clone();
        tokio::spawn(async move {
            session
                .call(&session.id, "t_slow", json!({"millis": 1500}))
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, _, body) = session
        .call(&session.id, "t_echo", json!({"text": "again"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["error"]["code"], -32600, "{body}");
    assert!(body.contains("already in use"), "{body}");
    let (status, _, body) = first.await.unwrap();
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert!(
        answer["result"].is_object(),
        "the first call still ends well: {body}"
    );
}
