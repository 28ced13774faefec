//! Mounting a child from outside the cluster goes through the API server's service proxy on
//! the kube client. Here the "API server" is a tower service that does what the real proxy
//! does — strips `/api/v1/namespaces/{ns}/services/{svc}:mcp/proxy` and forwards to the
//! Service — in front of a real bridge, so rmcp's client, the proxy client and the bridge
//! all run for real.

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use futures::StreamExt;
use http::{Request, Response};
use kube::client::Body;
use mcp_ephemeral_k8s::{
    backend::{
        Backend,
        kubernetes::{Access, JobSettings, KubernetesBackend},
    },
    model::{BRIDGE_TOKEN_ENV, MountTransport},
};
use rmcp::model::CallToolRequestParams;

use crate::support::*;

const JOB: &str = "time-1-abcdefgh";

/// An API server that proxies `…/services/{JOB}:mcp/proxy/<rest>` to `target/<rest>`,
/// keeping `Authorization` for itself as the real one does.
fn api_server(target: String) -> kube::Client {
    api_server_cutting(target, None)
}

/// [`api_server`], cutting every `cut_every`-th streamed (SSE) answer to a POST right
/// after its first event, as the real API server's proxy was seen to cut some (its log:
/// `ReverseProxy read error during body copy … use of closed network connection`).
fn api_server_cutting(target: String, cut_every: Option<usize>) -> kube::Client {
    let http = reqwest::Client::new();
    let prefix = format!("/api/v1/namespaces/agents/services/{JOB}:mcp/proxy");
    let streamed = Arc::new(AtomicUsize::new(0));
    let service = tower::service_fn(move |request: Request<Body>| {
        let (http, prefix, target) = (http.clone(), prefix.clone(), target.clone());
        let streamed = streamed.clone();
        async move {
            let (parts, body) = request.into_parts();
            let rest = parts
                .uri
                .path()
                .strip_prefix(&prefix)
                .expect("only the service proxy is used");
            let body = body.collect_bytes().await.unwrap();
            let is_post = parts.method == http::Method::POST;
            let mut forward = http
                .request(parts.method, format!("{target}{rest}"))
                .body(body);
            for (name, value) in &parts.headers {
                if name != http::header::AUTHORIZATION {
                    forward = forward.header(name, value);
                }
            }
            let response = forward.send().await.unwrap();
            let mut reply = Response::builder().status(response.status());
            for (name, value) in response.headers() {
                reply = reply.header(name, value);
            }
            let is_stream = response
                .headers()
                .get("content-type")
                .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
            let cut = is_post
                && is_stream
                && cut_every.is_some_and(|n| streamed.fetch_add(1, Ordering::Relaxed) % n == 0);
            let chunks = response
                .bytes_stream()
                .map(|chunk| chunk.map_err(std::io::Error::other))
                .boxed();
            let chunks = if cut {
                cut_after_first_event(chunks)
            } else {
                chunks
            };
            let frames = chunks.map(|chunk| chunk.map(http_body::Frame::data));
            let body = http_body_util::StreamBody::new(frames);
            Ok::<_, Infallible>(reply.body(body).unwrap())
        }
    });
    kube::Client::new(service, "agents")
}

type Chunks = futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>;

/// `chunks` up to the end of their first SSE event, then a broken connection.
fn cut_after_first_event(chunks: Chunks) -> Chunks {
    let first = futures::stream::unfold(
        (chunks, Vec::new(), false),
        |(mut chunks, mut seen, done)| async move {
            if done {
                return None;
            }
            loop {
                match chunks.next().await {
                    Some(Ok(chunk)) => {
                        seen.extend_from_slice(&chunk);
                        if let Some(end) = seen.windows(2).position(|w| w == b"\n\n") {
                            let first = bytes::Bytes::copy_from_slice(&seen[..end + 2]);
                            return Some((Ok(first), (chunks, Vec::new(), true)));
                        }
                    }
                    Some(Err(e)) => return Some((Err(e), (chunks, seen, true))),
                    None => return None,
                }
            }
        },
    );
    let broken = futures::stream::once(async {
        Err(std::io::Error::other("use of closed network connection"))
    });
    first.chain(broken).boxed()
}

/// The backend of a daemon outside the cluster whose API server is `client`.
fn outside(client: kube::Client) -> KubernetesBackend {
    let access = Access::ApiServerProxy {
        cluster_url: "https://cluster.example:6443".into(),
    };
    KubernetesBackend::new(client, "agents", JobSettings::default(), access)
}

/// A bridge of the test server demanding `token`, once it is healthy.
async fn bridge_with_token(token: &str) -> Process {
    let bridge = test_bridge_with_env("0", &[], &[(BRIDGE_TOKEN_ENV, token)]).await;
    wait_healthy(&bridge.url("/health")).await;
    bridge
}

#[tokio::test]
async fn mounting_from_outside_the_cluster_goes_through_the_api_server_proxy() {
    let token = "t".repeat(64);
    let bridge = bridge_with_token(&token).await;
    let backend = outside(api_server(bridge.url("")));
    let connector = |authorization: Option<&str>| {
        backend
            .connector(JOB, MountTransport::StreamableHttp, authorization)
            .unwrap()
            .expect("outside the cluster mounts use the proxy")
    };
    // The bridge's token reaches it past the API server, which keeps `Authorization`.
    let wrong = format!("Bearer {}", "w".repeat(64));
    for refused in [None, Some(wrong.as_str())] {
        let error = connector(refused)().await.err().unwrap().to_string();
        assert!(error.contains("401"), "{error}");
    }
    let connector = connector(Some(&format!("Bearer {token}")));
    // Legacy SSE cannot go through the proxy: refused, saying what to use instead.
    let refused = backend
        .connector(JOB, MountTransport::Sse, None)
        .err()
        .unwrap();
    assert!(
        refused
            .to_string()
            .contains("mount with transport \"streamable-http\""),
        "{refused}"
    );
    let (upstream, _events) = connector().await.unwrap();
    assert_eq!(upstream.info().server_info.name, "mcp-test-server");
    let tools = upstream.peer().list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "echo"));
    let call = CallToolRequestParams::new("echo").with_arguments(
        serde_json::json!({"text": "via the API server"})
            .as_object()
            .unwrap()
            .clone(),
    );
    let result = upstream.peer().call_tool(call).await.unwrap();
    assert_eq!(text(&result), "via the API server");
}

#[tokio::test]
async fn two_hundred_mount_and_call_cycles_through_the_proxy_all_succeed() {
    let token = "t".repeat(64);
    let bridge = bridge_with_token(&token).await;
    // A proxy that cuts every fifth streamed answer: answers that need no stream go as
    // JSON, so a mount neither loses its listing nor a call its answer.
    let backend = outside(api_server_cutting(bridge.url(""), Some(5)));
    let authorization = format!("Bearer {token}");
    let connector = backend
        .connector(JOB, MountTransport::StreamableHttp, Some(&authorization))
        .unwrap()
        .unwrap();
    let mut failures = Vec::new();
    for n in 0..200 {
        let cycle = async {
            let (upstream, _events) = connector().await.map_err(|e| e.to_string())?;
            let tools = upstream
                .peer()
                .list_all_tools()
                .await
                .map_err(|e| e.to_string())?;
            if !tools.iter().any(|t| t.name == "echo") {
                return Err("no echo tool".to_owned());
            }
            let text_of = format!("cycle {n}");
            let call = CallToolRequestParams::new("echo").with_arguments(
                serde_json::json!({"text": text_of})
                    .as_object()
                    .unwrap()
                    .clone(),
            );
            let result = upstream
                .peer()
                .call_tool(call)
                .await
                .map_err(|e| e.to_string())?;
            upstream.close();
            if text(&result) == text_of {
                Ok(())
            } else {
                Err(format!("answered {:?}", text(&result)))
            }
        };
        if let Err(e) = cycle.await {
            failures.push(format!("{n}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 200 failed: {failures:?}",
        failures.len()
    );
}

#[tokio::test]
async fn a_proxy_the_daemon_may_not_use_is_named_with_its_verb() {
    // The API server refuses `create services/proxy` as it does: 403 with a Status.
    let service = tower::service_fn(|_request: Request<Body>| async {
        let status = serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "services \"x\" is forbidden: cannot create resource \"services/proxy\"",
            "reason": "Forbidden", "code": 403});
        let response = Response::builder()
            .status(403)
            .header("content-type", "application/json")
            .body(Body::from(status.to_string().into_bytes()))
            .unwrap();
        Ok::<_, Infallible>(response)
    });
    let backend = outside(kube::Client::new(service, "agents"));
    let connector = backend
        .connector(JOB, MountTransport::StreamableHttp, None)
        .unwrap()
        .unwrap();
    let error = connector().await.err().unwrap().to_string();
    assert!(
        error.contains("the daemon may not create services/proxy"),
        "{error}"
    );
    assert!(!error.contains("Transport ["), "{error}");
}
