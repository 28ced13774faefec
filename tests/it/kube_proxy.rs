//! Mounting a child from outside the cluster goes through the API server's service proxy on
//! the kube client. Here the "API server" is a tower service that does what the real proxy
//! does — strips `/api/v1/namespaces/{ns}/services/{svc}:mcp/proxy` and forwards to the
//! Service — in front of a real bridge, so rmcp's client, the proxy client and the bridge
//! all run for real.

use std::convert::Infallible;

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
    let http = reqwest::Client::new();
    let prefix = format!("/api/v1/namespaces/agents/services/{JOB}:mcp/proxy");
    let service = tower::service_fn(move |request: Request<Body>| {
        let (http, prefix, target) = (http.clone(), prefix.clone(), target.clone());
        async move {
            let (parts, body) = request.into_parts();
            let rest = parts
                .uri
                .path()
                .strip_prefix(&prefix)
                .expect("only the service proxy is used");
            let body = body.collect_bytes().await.unwrap();
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
            let frames = response.bytes_stream().map(|chunk| {
                chunk
                    .map(http_body::Frame::data)
                    .map_err(std::io::Error::other)
            });
            let body = http_body_util::StreamBody::new(frames);
            Ok::<_, Infallible>(reply.body(body).unwrap())
        }
    });
    kube::Client::new(service, "agents")
}

#[tokio::test]
async fn mounting_from_outside_the_cluster_goes_through_the_api_server_proxy() {
    let token = "t".repeat(64);
    let bridge = test_bridge_with_env("0", &[], &[(BRIDGE_TOKEN_ENV, &token)]).await;
    wait_healthy(&bridge.url("/health")).await;
    let access = Access::ApiServerProxy {
        cluster_url: "https://cluster.example:6443".into(),
    };
    let backend = KubernetesBackend::new(
        api_server(bridge.url("")),
        "agents",
        JobSettings::default(),
        access,
    );
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
