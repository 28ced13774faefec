//! Reaching a child from outside the cluster: rmcp's streamable HTTP client carried by the
//! `kube::Client` (which already holds the cluster's address, credentials and TLS) through
//! the API server's service proxy, `/api/v1/namespaces/{ns}/services/{job}:mcp/proxy/mcp`.
//! The daemon then needs `services/proxy` in its Role, and no port-forward.

use std::{collections::HashMap, sync::Arc};

use futures::{StreamExt, stream::BoxStream};
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use kube::client::Body;
use rmcp::{
    model::{ClientJsonRpcMessage, ServerJsonRpcMessage},
    transport::streamable_http_client::{
        HttpStatusError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    },
};
use sse_stream::{Error as SseError, Sse, SseStream};

use rmcp::transport::common::http_header::HEADER_SESSION_ID;

use super::objects::PORT_NAME;
use crate::model::PROXIED_AUTHORIZATION;

/// Lowercase: `HeaderName::from_static` takes only lowercase names.
const LAST_EVENT_ID: &str = "last-event-id";
const EVENT_STREAM: &str = "text/event-stream";
const JSON: &str = "application/json";

/// The API server path that proxies to a child's endpoint `endpoint` (`mcp` or `sse`).
pub fn service_proxy_path(namespace: &str, job_name: &str, endpoint: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/services/{job_name}:{PORT_NAME}/proxy/{endpoint}")
}

/// rmcp's streamable HTTP client over a `kube::Client`.
#[derive(Clone)]
pub struct KubeProxyClient {
    client: kube::Client,
    authorization: Option<HeaderValue>,
}

impl KubeProxyClient {
    /// A client sending through `client`, presenting `authorization` (`Bearer <token>`) to
    /// the child as [`PROXIED_AUTHORIZATION`]: the API server takes `Authorization` for
    /// itself and does not pass it on.
    pub fn new(client: kube::Client, authorization: Option<&str>) -> Self {
        let authorization = authorization
            .and_then(|v| HeaderValue::from_str(v).ok())
            .map(|mut v| {
                v.set_sensitive(true);
                v
            });
        Self {
            client,
            authorization,
        }
    }

    /// Sends one MCP HTTP request through the API server.
    async fn send(
        &self,
        method: Method,
        uri: &str,
        session_id: Option<&str>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        body: Vec<u8>,
    ) -> Result<http::Response<Body>, StreamableHttpError<kube::Error>> {
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::ACCEPT, format!("{EVENT_STREAM}, {JSON}"));
        if let Some(session) = session_id {
            builder = builder.header(HEADER_SESSION_ID, session);
        }
        if let Some(authorization) = &self.authorization {
            builder = builder.header(PROXIED_AUTHORIZATION, authorization);
        }
        for (name, value) in custom_headers {
            builder = builder.header(name, value);
        }
        if !body.is_empty() {
            builder = builder.header(header::CONTENT_TYPE, JSON);
        }
        let request = builder
            .body(Body::from(body))
            .map_err(|e| StreamableHttpError::UnexpectedServerResponse(e.to_string().into()))?;
        self.client
            .send(request)
            .await
            .map_err(StreamableHttpError::Client)
    }
}

fn status_error(status: StatusCode) -> StreamableHttpError<kube::Error> {
    StreamableHttpError::HttpStatus(HttpStatusError::new(status.as_u16(), None))
}

/// Most bytes of an error body read, to tell the API server's refusal from the child's.
const MAX_STATUS_BODY: usize = 64 * 1024;

/// The error for a failed `method` through the proxy: when the API server itself refused
/// (a Kubernetes `Status` saying `Forbidden`), the RBAC verb on `services/proxy` the daemon
/// lacks; otherwise the status.
async fn refusal(
    method: &Method,
    response: http::Response<Body>,
) -> StreamableHttpError<kube::Error> {
    let status = response.status();
    if status != StatusCode::FORBIDDEN {
        return status_error(status);
    }
    #[derive(serde::Deserialize)]
    struct KubeStatus {
        kind: String,
        reason: Option<String>,
    }
    let limited = http_body_util::Limited::new(response.into_body(), MAX_STATUS_BODY);
    let bytes = http_body_util::BodyExt::collect(limited)
        .await
        .map(|body| body.to_bytes())
        .unwrap_or_default();
    let from_api_server = serde_json::from_slice::<KubeStatus>(&bytes)
        .is_ok_and(|s| s.kind == "Status" && s.reason.as_deref() == Some("Forbidden"));
    if !from_api_server {
        return status_error(status);
    }
    let verb = match *method {
        Method::POST => "create",
        Method::DELETE => "delete",
        _ => "get",
    };
    StreamableHttpError::UnexpectedServerResponse(
        format!(
            "forbidden: the daemon may not {verb} services/proxy, which mounting a child from \
             outside the cluster needs; grant it in the daemon's Role (see deploy/)"
        )
        .into(),
    )
}

fn content_type(response: &http::Response<Body>) -> Option<String> {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn events(body: Body) -> BoxStream<'static, Result<Sse, SseError>> {
    SseStream::new(body).boxed()
}

impl StreamableHttpClient for KubeProxyClient {
    type Error = kube::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let body = serde_json::to_vec(&message)?;
        let response = self
            .send(
                Method::POST,
                &uri,
                session_id.as_deref(),
                custom_headers,
                body,
            )
            .await?;
        let status = response.status();
        if matches!(status, StatusCode::ACCEPTED | StatusCode::NO_CONTENT) {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        if status == StatusCode::NOT_FOUND && session_id.is_some() {
            return Err(StreamableHttpError::SessionExpired);
        }
        if !status.is_success() {
            return Err(refusal(&Method::POST, response).await);
        }
        let session = response
            .headers()
            .get(HEADER_SESSION_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match content_type(&response) {
            Some(ct) if ct.starts_with(EVENT_STREAM) => Ok(StreamableHttpPostResponse::Sse(
                events(response.into_body()),
                session,
            )),
            Some(ct) if ct.starts_with(JSON) => {
                let bytes = response
                    .into_body()
                    .collect_bytes()
                    .await
                    .map_err(StreamableHttpError::Client)?;
                let message: ServerJsonRpcMessage = serde_json::from_slice(&bytes)?;
                Ok(StreamableHttpPostResponse::Json(message, session))
            }
            _ if matches!(
                message,
                ClientJsonRpcMessage::Notification(_) | ClientJsonRpcMessage::Response(_)
            ) =>
            {
                Ok(StreamableHttpPostResponse::Accepted)
            }
            other => Err(StreamableHttpError::UnexpectedContentType(other)),
        }
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        let response = self
            .send(
                Method::DELETE,
                &uri,
                Some(&session_id),
                custom_headers,
                Vec::new(),
            )
            .await?;
        match response.status() {
            status if status.is_success() || status == StatusCode::NOT_FOUND => Ok(()),
            StatusCode::METHOD_NOT_ALLOWED => {
                Err(StreamableHttpError::ServerDoesNotSupportDeleteSession)
            }
            _ => Err(refusal(&Method::DELETE, response).await),
        }
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        mut custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        if let Some(last) = last_event_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
            custom_headers.insert(HeaderName::from_static(LAST_EVENT_ID), last);
        }
        let response = self
            .send(
                Method::GET,
                &uri,
                session_id.as_deref(),
                custom_headers,
                Vec::new(),
            )
            .await?;
        match response.status() {
            StatusCode::METHOD_NOT_ALLOWED => Err(StreamableHttpError::ServerDoesNotSupportSse),
            StatusCode::NOT_FOUND if session_id.is_some() => {
                Err(StreamableHttpError::SessionExpired)
            }
            status if !status.is_success() => Err(refusal(&Method::GET, response).await),
            _ => match content_type(&response) {
                Some(ct) if ct.starts_with(EVENT_STREAM) => Ok(events(response.into_body())),
                other => Err(StreamableHttpError::UnexpectedContentType(other)),
            },
        }
    }
}
