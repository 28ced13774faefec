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
    version: String,
}

impl RawSession {
    async fn open(url: &str) -> Self {
        Self::open_as(url, "2025-11-25").await
    }

    /// A session that negotiated protocol `version`.
    async fn open_as(url: &str, version: &str) -> Self {
        let http = reqwest::Client::new();
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"}}});
        let response = post_as(&http, url, None, version, &init).await;
        let id = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        response.bytes().await.unwrap();
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let response = post_as(&http, url, Some(&id), version, &initialized).await;
        assert_eq!(response.status(), 202);
        Self {
            http,
            url: url.to_owned(),
            id,
            version: version.to_owned(),
        }
    }

    /// Calls the mounted `t_echo` until the daemon's fast path answers it (as JSON): the
    /// session is known there once rmcp has handled `initialized`, and until then calls
    /// take the rmcp path, which answers the same. Returns that answer.
    async fn until_served_past_rmcp(&self) -> (u16, String, String) {
        let deadline = tokio::time::Instant::now() + QUICK;
        loop {
            let answer = self
                .call(&self.id, "t_echo", json!({"text": "direct"}))
                .await;
            if answer.1.starts_with("application/json") || tokio::time::Instant::now() > deadline {
                return answer;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
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
        let response = post_as(&self.http, &self.url, Some(session), &self.version, &call).await;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, content_type, response.text().await.unwrap())
    }
}

/// Posts `body` as a client of protocol `version`, on `session` if given.
async fn post_as(
    http: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    version: &str,
    body: &Value,
) -> reqwest::Response {
    let mut request = http
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", version)
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

    let (status, content_type, body) = session.until_served_past_rmcp().await;
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
        // Every event but the priming one (empty data) carries a message.
        let messages: Vec<Value> = body
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .filter(|data| !data.is_empty())
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

/// A `GET /mcp` of `session` (protocol `version`), ready for more headers.
fn session_get(url: &str, session: &str, version: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .get(url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", version)
}

/// The SSE events of `response` (each as its `field: value` lines) until `stop` says so.
async fn events_until(
    response: reqwest::Response,
    mut stop: impl FnMut(&str) -> bool,
) -> Vec<String> {
    use futures::StreamExt;
    let mut bytes = response.bytes_stream();
    let (mut buffer, mut events) = (String::new(), Vec::new());
    while let Some(chunk) = bytes.next().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let done = stop(&event);
            events.push(event);
            if done {
                return events;
            }
        }
    }
    events
}

/// The value of `field` in an SSE event.
fn field<'a>(event: &'a str, field: &str) -> Option<&'a str> {
    event
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(str::trim)
}

#[tokio::test]
async fn a_streamed_answer_can_be_resumed_and_primes_only_new_clients() {
    let (daemon, _meta, _) = daemon_with_mounted_child("").await;
    let url = daemon.url("/mcp");
    let call = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {
        "name": "t_slow", "arguments": {"millis": 1500, "steps": 3}, "_meta": {"progressToken": 1}}});
    for (version, primed) in [("2025-11-25", true), ("2025-03-26", false)] {
        let session = RawSession::open_as(&url, version).await;
        session.until_served_past_rmcp().await;
        let response = post_as(&session.http, &url, Some(&session.id), version, &call).await;
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        // Read up to the first progress, then lose the connection.
        let seen = events_until(response, |e| {
            field(e, "data").is_some_and(|d| !d.is_empty())
        })
        .await;
        let priming = seen.iter().find(|e| field(e, "data") == Some(""));
        assert_eq!(priming.is_some(), primed, "{version}: {seen:?}");
        if let Some(priming) = priming {
            assert!(field(priming, "retry").is_some(), "{priming}");
        }
        let last = field(seen.last().unwrap(), "id")
            .expect("events have ids")
            .to_owned();
        // Resume after it: the rest of the progress, then the answer.
        let resume = |session: &str| {
            session_get(&url, session, version)
                .header("last-event-id", &last)
                .send()
        };
        let resumed = resume(&session.id).await.unwrap();
        assert_eq!(resumed.status(), 200, "{version}");
        let rest = events_until(resumed, |e| e.contains("\"result\"")).await;
        let answer = rest.last().unwrap();
        assert!(answer.contains("done after 1500 ms"), "{version}: {rest:?}");
        assert!(
            !rest.iter().any(|e| e.contains(&format!("id: {last}\n"))),
            "{rest:?}"
        );
        // Another session cannot resume it.
        let other = RawSession::open_as(&url, version).await;
        let stolen = resume(&other.id).await.unwrap();
        assert_eq!(stolen.status(), 404, "{version}");
        // rmcp's own streams (a meta tool's answer) prime only new clients too.
        let meta_call = json!({"jsonrpc": "2.0", "id": 10, "method": "tools/call",
            "params": {"name": "list_presets", "arguments": {}}});
        let response = post_as(&session.http, &url, Some(&session.id), version, &meta_call).await;
        let body = response.text().await.unwrap();
        assert!(body.contains("\"everything\""), "{body}");
        assert_eq!(body.contains("data: \n"), primed, "{version}: {body}");
    }
}
