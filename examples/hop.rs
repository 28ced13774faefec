//! The floor of one HTTP hop on this machine, for the mount benchmark: a proxy that passes
//! every request on to `TARGET` and streams the answer back, with the daemon's HTTP stack
//! (axum server, reqwest client, tokio with one worker per core) and no MCP at all. What a
//! mount adds over this is the daemon's own work; what this adds over a direct call is the
//! cost of the hop itself.
//!
//! Usage: `hop TARGET` (e.g. `http://127.0.0.1:8080`); it listens on a free loopback port
//! and logs `{"fields":{"addr":...}}` on stderr, as the daemon does.

use anyhow::{Context, Result};
use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    serve::ListenerExt,
};

#[tokio::main]
async fn main() -> Result<()> {
    mcp_ephemeral_k8s::tls::install_crypto_provider();
    let target = std::env::args().nth(1).context("usage: hop TARGET")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    eprintln!(
        "{}",
        serde_json::json!({"fields": {"addr": listener.local_addr()?.to_string()}})
    );
    let state = (reqwest::Client::new(), target);
    let app = Router::new().fallback(pass_on).with_state(state);
    // As the daemon does: small answers go out at once, not after a delayed ACK.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

/// Sends `request` to the target and streams its answer back.
async fn pass_on(
    State((client, target)): State<(reqwest::Client, String)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut headers = parts.headers;
    headers.remove(header::HOST);
    let url = format!("{target}{}", parts.uri);
    let sent = client
        .request(parts.method, url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(answer) => {
            let mut response = Response::builder().status(answer.status());
            if let Some(headers) = response.headers_mut() {
                headers.extend(answer.headers().clone());
                // Hop-by-hop: this server frames its own answer.
                headers.remove(header::TRANSFER_ENCODING);
                headers.remove(header::CONNECTION);
            }
            response
                .body(Body::from_stream(answer.bytes_stream()))
                .unwrap_or_else(|e| (StatusCode::BAD_GATEWAY, e.to_string()).into_response())
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
