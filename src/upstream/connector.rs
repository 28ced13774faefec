//! Opening an upstream session: [`Connector`], how a mount (re)connects to its server, and
//! [`url_connector`], the one for a URL. Failures are [`UpstreamError`]s.

use std::{sync::Arc, time::Duration};

use futures::future::BoxFuture;
use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use rmcp::service::ClientInitializeError;
use tokio::sync::mpsc::UnboundedReceiver;

use super::{Upstream, UpstreamEvent};
use crate::{
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
    #[error("the MCP server did not complete initialize: {0}")]
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

/// A connected session and its events.
pub type Connected = (Upstream, UnboundedReceiver<UpstreamEvent>);

/// How a mount (re)connects to its server: usually [`url_connector`]; the Kubernetes
/// backend supplies one that goes through the API server.
pub type Connector =
    Arc<dyn Fn() -> BoxFuture<'static, Result<Connected, UpstreamError>> + Send + Sync>;

/// A connector that opens `url` over `transport`, sending `authorization` (a header
/// value, e.g. a child's `Bearer …`) on every request when given.
pub fn url_connector(
    url: String,
    transport: MountTransport,
    authorization: Option<String>,
) -> Connector {
    Arc::new(move || {
        let url = url.clone();
        let authorization = authorization.clone();
        Box::pin(async move { connect(&url, transport, authorization.as_deref()).await })
    })
}

/// Opens a client session to `url` and completes `initialize`, within [`CONNECT_TIMEOUT`],
/// sending `authorization` on every request when given. Redirects are not followed: a
/// server must not send the daemon (and what it posts) elsewhere.
///
/// # Errors
/// [`UpstreamError`] saying why (unreachable, not MCP, timed out).
pub async fn connect(
    url: &str,
    transport: MountTransport,
    authorization: Option<&str>,
) -> Result<Connected, UpstreamError> {
    crate::tls::install_crypto_provider();
    let mut headers = HeaderMap::new();
    if let Some(value) = authorization.and_then(|v| HeaderValue::from_str(v).ok()) {
        let mut value = value;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .map_err(UpstreamError::Client)?;
    let attempt = async {
        match transport {
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
