//! Attacks through `mount_mcp_server(url=…)`: turning the daemon inward (SSRF) and
//! reading what it reaches through its errors.

use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use crate::{reliability::rss_mib, support::*};

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
    let json = "content-type: application/json\r\n";
    let text = "content-type: text/plain\r\n";
    let mut urls = vec![
        (format!("{redirecting}/mcp"), "streamable-http"),
        (format!("{redirecting}/sse"), "sse"),
    ];
    // Whatever the status and type, a reply that is not MCP never comes back in the error.
    for (status, headers) in [
        ("500 Internal Server Error", ""),
        ("404 Not Found", text),
        ("400 Bad Request", json),
        ("200 OK", json),
        ("200 OK", text),
    ] {
        let (failing, _) = canned(response(status, headers, secret)).await;
        urls.push((format!("{failing}/mcp"), "streamable-http"));
        urls.push((format!("{failing}/sse"), "sse"));
    }
    for (url, transport) in urls {
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

/// A server on loopback that answers every request with `head`, then `bytes` of `x` (never
/// a line end) for as long as the client reads.
async fn flooding(head: String, bytes: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let head = head.clone();
            tokio::spawn(async move {
                let _ = socket.read(&mut vec![0; 8192]).await;
                let chunk = vec![b'x'; 64 * 1024];
                let mut sent = 0;
                let mut ok = socket.write_all(head.as_bytes()).await.is_ok();
                while ok && sent < bytes {
                    ok = socket.write_all(&chunk).await.is_ok();
                    sent += chunk.len();
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn floods_from_a_mounted_server_are_cut_off_and_cost_little() {
    let bytes: usize = if std::env::var("RELIABILITY").is_ok_and(|v| v == "full") {
        300 << 20
    } else {
        64 << 20
    };
    let daemon = Process::daemon(&LOOPBACK_URL_MOUNTS).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let sized = |status: &str, kind: &str| {
        format!("HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {bytes}\r\n\r\n")
    };
    let stream =
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\ndata: ";
    let cases = [
        (
            "an error body",
            sized("500 Internal Server Error", "text/plain"),
        ),
        (
            "a client error body",
            sized("400 Bad Request", "text/plain"),
        ),
        ("a JSON body", sized("200 OK", "application/json")),
        ("an unterminated SSE event", stream.to_owned()),
    ];
    let (before, _) = rss_mib(daemon.pid());
    let mut figures = Vec::new();
    for (what, head) in cases {
        let base = flooding(head, bytes).await;
        for transport in ["streamable-http", "sse"] {
            let url = format!("{base}/{}", if transport == "sse" { "sse" } else { "mcp" });
            let started = std::time::Instant::now();
            let args = json!({"url": url, "transport": transport});
            let error = call_err(&meta, "mount_mcp_server", args).await;
            assert!(!error.contains("xxxx"), "{what} over {transport}: {error}");
            figures.push((what, transport, started.elapsed()));
        }
    }
    let (after, peak) = rss_mib(daemon.pid());
    let slowest = figures.iter().map(|f| f.2).max().unwrap_or_default();
    crate::reliability::report(
        "floods from a URL-mounted server",
        &[
            (
                "replies of (error body, client error body, JSON body, unterminated SSE event; each over streamable HTTP and legacy SSE)",
                format!("{} MiB", bytes >> 20),
            ),
            (
                "slowest mount to fail",
                format!("{:.2} s", slowest.as_secs_f64()),
            ),
            (
                "daemon RSS before / after / peak",
                format!("{before:.1} / {after:.1} / {peak:.1} MiB"),
            ),
        ],
    );
    // Each reply is read at most up to its limit (16 MiB), and that memory is given back.
    assert!(after - before < 16.0, "RSS {before:.1} → {after:.1} MiB");
}

#[tokio::test]
async fn a_mount_that_cannot_connect_says_why_in_words() {
    let daemon = Process::daemon(&LOOPBACK_URL_MOUNTS).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let challenge = "www-authenticate: Bearer realm=\"x\"\r\n";
    let (unauthorized, _) = canned(response("401 Unauthorized", challenge, "")).await;
    let html = "content-type: text/html\r\n";
    let (page, _) = canned(response("200 OK", html, "<html>hello</html>")).await;
    for (url, expected) in [
        (
            format!("http://127.0.0.1:{closed}/mcp"),
            "Connection refused",
        ),
        (format!("{unauthorized}/mcp"), "authorization required"),
        (format!("{page}/mcp"), "text/html"),
    ] {
        let error = call_err(&meta, "mount_mcp_server", json!({"url": url})).await;
        assert!(error.contains(expected), "{url}: {error}");
        assert!(!error.contains("Transport ["), "{url}: {error}");
        assert!(!error.contains("mcp_ephemeral_k8s::"), "{url}: {error}");
    }
}
