//! Attacks through `mount_mcp_server(url=…)`: turning the daemon inward (SSRF) and
//! reading what it reaches through its errors.

use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use crate::support::*;

/// A server on loopback answering every request with `response` (a whole HTTP response),
/// recording the request lines it got.
async fn canned(response: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (response, record) = (response.clone(), record.clone());
            tokio::spawn(async move {
                let mut head = vec![0; 8192];
                let n = socket.read(&mut head).await.unwrap_or(0);
                let text = String::from_utf8_lossy(&head[..n]);
                record
                    .lock()
                    .unwrap()
                    .push(text.lines().next().unwrap_or_default().to_owned());
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

fn response(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn url_mounts_are_off_until_the_operator_allows_them() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (base, seen) = canned(response("200 OK", "", "")).await;
    let args = json!({"url": format!("{base}/mcp"), "name": "x"});
    let error = call_err(&meta, "mount_mcp_server", args).await;
    assert!(error.contains("URL mounts are off here"), "{error}");
    assert!(error.contains("--allow-mount-url"), "{error}");
    assert!(seen.lock().unwrap().is_empty(), "the daemon connected");
}

#[tokio::test]
async fn internal_addresses_are_refused_literal_or_resolved() {
    let daemon = Process::daemon(&["--allow-mount-url", "http://*"]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (base, seen) = canned(response("200 OK", "", "")).await;
    let port = base.rsplit(':').next().unwrap();
    for url in [
        format!("{base}/mcp"),
        format!("http://localhost:{port}/mcp"),
        format!("http://[::ffff:127.0.0.1]:{port}/mcp"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/mcp".to_owned(),
        "http://[::1]/mcp".to_owned(),
        format!("http://user:hunter2@127.0.0.1:{port}/mcp?key=topsecret"),
    ] {
        let error = call_err(&meta, "mount_mcp_server", json!({"url": url})).await;
        assert!(error.contains("internal address"), "{url}: {error}");
        assert!(error.contains("--allow-mount-network"), "{url}: {error}");
        assert!(
            !error.contains("hunter2") && !error.contains("topsecret"),
            "{error}"
        );
    }
    assert!(seen.lock().unwrap().is_empty(), "the daemon connected");
    let logs = daemon.log_text();
    assert!(
        !logs.contains("hunter2") && !logs.contains("topsecret"),
        "{logs}"
    );
}

#[tokio::test]
async fn redirects_are_not_followed_and_error_bodies_never_come_back() {
    let daemon = Process::daemon(&LOOPBACK_URL_MOUNTS).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (target, reached) = canned(response("200 OK", "", "")).await;
    let location = format!("location: {target}/mcp\r\n");
    let (redirecting, _) = canned(response("307 Temporary Redirect", &location, "")).await;
    let secret = r#"{"internal_secret": "s3cr3t-from-inside"}"#;
    let (failing, _) = canned(response("500 Internal Server Error", "", secret)).await;
    for (url, transport) in [
        (format!("{redirecting}/mcp"), "streamable-http"),
        (format!("{redirecting}/sse"), "sse"),
        (format!("{failing}/mcp"), "streamable-http"),
        (format!("{failing}/sse"), "sse"),
    ] {
        let args = json!({"url": url, "transport": transport});
        let error = call_err(&meta, "mount_mcp_server", args).await;
        assert!(!error.contains("s3cr3t"), "{url}: {error}");
    }
    assert!(
        reached.lock().unwrap().is_empty(),
        "a redirect was followed"
    );
}

#[tokio::test]
async fn an_sse_endpoint_on_another_origin_is_refused() {
    let daemon = Process::daemon(&LOOPBACK_URL_MOUNTS).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (elsewhere, reached) = canned(response("202 Accepted", "", "")).await;
    let event = format!("event: endpoint\ndata: {elsewhere}/messages/?session_id=x\n\n");
    let stream = format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n{event}");
    let (sse, _) = canned(stream).await;
    let args = json!({"url": format!("{sse}/sse"), "transport": "sse"});
    let error = call_err(&meta, "mount_mcp_server", args).await;
    assert!(error.contains("another origin"), "{error}");
    assert!(
        reached.lock().unwrap().is_empty(),
        "a message went to another origin"
    );
}
