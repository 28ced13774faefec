//! Opening an upstream session: [`Connector`], how a mount (re)connects to its server, and
//! [`url_connector`], the one for a URL. Failures are [`UpstreamError`]s.

use std::{sync::Arc, time::Duration};

use futures::future::BoxFuture;
use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use rmcp::service::ClientInitializeError;
use tokio::sync::mpsc::UnboundedReceiver;

use super::{Upstream, UpstreamEvent};
use crate::{
    address::{AddressFilter, FilteringResolver},
    model::MountTransport,
    sse::client::{SseClientError, SseClientTransport},
};

/// How long connecting and `initialize` may take before an attempt gives up: long enough
/// for a child that is still installing its packages to answer, short enough that a
/// mount call does not hang on a server that never will.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an upstream session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The server did not complete `initialize` (it exited, or spoke something else).
    #[error("the MCP server did not complete initialize: {}", describe(.0))]
    Initialize(Box<ClientInitializeError>),
    /// The legacy SSE stream could not be opened.
    #[error("{0}")]
    Sse(#[from] SseClientError),
    /// The HTTP client could not be made (no TLS roots, say).
    #[error("cannot make an HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// No session within the time allowed.
    #[error("no MCP session {path}within {within:?}")]
    Timeout {
        /// How the daemon tried to reach it, as a phrase ending in a space (or empty).
        path: &'static str,
        /// The time allowed.
        within: Duration,
    },
}

impl From<ClientInitializeError> for UpstreamError {
    fn from(error: ClientInitializeError) -> Self {
        Self::Initialize(Box::new(error))
    }
}

/// Longest part of a server's own error message that an error repeats.
const MAX_QUOTED: usize = 200;

/// What went wrong in `initialize`, in words for the caller: no transport type names, and
/// nothing of what the server sent but the message of a JSON-RPC error it gave (cut short).
fn describe(error: &ClientInitializeError) -> String {
    match error {
        ClientInitializeError::TransportError { error, context } => {
            format!("{} ({context})", transport_cause(&*error.error))
        }
        ClientInitializeError::ExpectedInitResponse(_)
        | ClientInitializeError::ExpectedInitResult(_) => {
            "it answered initialize with something other than an initialize result".to_owned()
        }
        ClientInitializeError::JsonRpcError(data) => {
            let message: String = data.message.chars().take(MAX_QUOTED).collect();
            format!("it refused with error {}: {message}", data.code.0)
        }
        other => other.to_string(),
    }
}

/// A transport failure with its causes: rmcp's HTTP client error does not name its cause as
/// a source, which is where "connection refused" or a TLS failure is said.
pub fn transport_cause(error: &(dyn std::error::Error + 'static)) -> String {
    use rmcp::transport::streamable_http_client::StreamableHttpError;
    if let Some(StreamableHttpError::Client(e)) =
        error.downcast_ref::<StreamableHttpError<reqwest::Error>>()
    {
        return crate::model::with_causes(e);
    }
    if let Some(StreamableHttpError::Client(e)) =
        error.downcast_ref::<StreamableHttpError<kube::Error>>()
    {
        return crate::model::with_causes(e);
    }
    crate::model::with_causes(error)
}

/// A connected session and its events.
pub type Connected = (Upstream, UnboundedReceiver<UpstreamEvent>);

/// How a mount (re)connects to its server: usually [`url_connector`]; the Kubernetes
/// backend supplies one that goes through the API server.
pub type Connector =
    Arc<dyn Fn() -> BoxFuture<'static, Result<Connected, UpstreamError>> + Send + Sync>;

/// How a connection may reach its server.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    /// The `Authorization` header value to send on every request (a child's `Bearer …`).
    pub authorization: Option<String>,
    /// The addresses it may connect to (URL mounts); `None` for the daemon's own children.
    /// With a filter, no proxy is used: a proxy would resolve names past it.
    pub addresses: Option<Arc<AddressFilter>>,
    /// Probe with `server/discover` and speak 2026-07-28 to a server of that revision (URL
    /// mounts, any server); else `initialize` at once (the daemon's own children, whose
    /// bridge keeps a session).
    pub discover: bool,
}

/// A connector that opens `url` over `transport` as `reach` says.
pub fn url_connector(url: String, transport: MountTransport, reach: Reach) -> Connector {
    Arc::new(move || {
        let url = url.clone();
        let reach = reach.clone();
        Box::pin(async move { connect(&url, transport, &reach).await })
    })
}

/// Opens a client session to `url` and completes `initialize`, within [`CONNECT_TIMEOUT`],
/// as `reach` says. Redirects are not followed: a server must not send the daemon (and
/// what it posts) elsewhere.
///
/// # Errors
/// [`UpstreamError`] saying why (unreachable, refused address, not MCP, timed out).
pub async fn connect(
    url: &str,
    transport: MountTransport,
    reach: &Reach,
) -> Result<Connected, UpstreamError> {
    crate::tls::install_crypto_provider();
    let mut headers = HeaderMap::new();
    if let Some(mut value) = reach
        .authorization
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    let mut http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers);
    if let Some(filter) = &reach.addresses {
        http = http
            .no_proxy()
            .dns_resolver(Arc::new(FilteringResolver(filter.clone())));
    }
    let http = http.build().map_err(UpstreamError::Client)?;
    let attempt = async {
        match transport {
            MountTransport::StreamableHttp if reach.discover => {
                Upstream::connect_http_modern_first(http, url.into()).await
            }
            MountTransport::StreamableHttp => Upstream::connect_http(http, url.into()).await,
            MountTransport::Sse => {
                let transport = SseClientTransport::connect_with(http, url, HeaderMap::new());
                Upstream::connect(transport.await?).await
            }
        }
    };
    within(CONNECT_TIMEOUT, "", attempt).await
}

/// `attempt`, or [`UpstreamError::Timeout`] after `timeout`.
///
/// # Errors
/// The attempt's own error, or the timeout.
pub async fn within<T>(
    timeout: Duration,
    path: &'static str,
    attempt: impl Future<Output = Result<T, UpstreamError>>,
) -> Result<T, UpstreamError> {
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or(Err(UpstreamError::Timeout {
            path,
            within: timeout,
        }))
}
