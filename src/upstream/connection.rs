//! One persistent client session to an upstream MCP server, and forwarding requests to it
//! on behalf of downstream sessions.

use std::{
    sync::{Arc, atomic::AtomicU64},
    time::Duration,
};

use rmcp::{
    Peer, RoleClient,
    model::{
        CancelledNotificationParam, ClientCapabilities, ClientConfig, ClientRequest, GetExtensions,
        Implementation, InitializeResult, ProtocolVersion, RequestId, ServerResult,
    },
    service::{
        ClientInitializeError, ClientLifecycleMode, ClientServiceExt, PeerRequestOptions,
        RunningServiceCancellationToken, ServiceError,
    },
    transport::{
        IntoTransport, StreamableHttpClientTransport,
        common::client_side_sse::NeverRetry,
        streamable_http_client::{StreamableHttpClient, StreamableHttpClientTransportConfig},
    },
};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::{
    Caller, Calls, Relay, UpstreamError, UpstreamEvent,
    session_post::{SessionCapture, SessionPost},
    wire_order::WireOrder,
};

/// How this daemon introduces itself to the MCP servers it connects to. It asks for
/// 2025-11-25, the newest version with an `initialize` handshake (sessions), and offers
/// sampling, roots and elicitation, which it relays to its own clients.
pub fn client_config() -> ClientConfig {
    let mut capabilities = ClientCapabilities::default();
    capabilities.roots = Some(Default::default());
    capabilities.sampling = Some(Default::default());
    capabilities.elicitation = Some(Default::default());
    ClientConfig::new(
        capabilities,
        Implementation::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")),
    )
    .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
}

/// A connected upstream: its session, what it said in `initialize`, and its calls in flight.
pub struct Upstream {
    peer: Peer<RoleClient>,
    info: Arc<InitializeResult>,
    pub(super) calls: Arc<Calls>,
    pub(super) relay: Relay,
    /// Posts requests on the same session, past rmcp's client (streamable HTTP only).
    poster: Option<Arc<dyn SessionPost>>,
    /// Numbers the posted requests.
    pub(super) next_posted: AtomicU64,
    /// Ends the session; taken by [`Self::close`].
    cancel: std::sync::Mutex<Option<RunningServiceCancellationToken>>,
    /// Becomes true when the session has ended.
    closed: watch::Receiver<bool>,
}

impl Upstream {
    /// Connects over `transport` and completes `initialize`. What the upstream sends on
    /// its own goes to the caller it belongs to (progress, requests) or to the returned
    /// event receiver.
    ///
    /// # Errors
    /// [`UpstreamError`] when the handshake fails (the server exited, spoke something else…).
    pub async fn connect<T, E, A>(
        transport: T,
    ) -> Result<(Self, mpsc::UnboundedReceiver<UpstreamEvent>), UpstreamError>
    where
        T: IntoTransport<RoleClient, E, A>,
        E: std::error::Error + Send + Sync + 'static,
    {
        Self::connect_with(transport, ClientLifecycleMode::Initialize).await
    }

    /// [`Self::connect`] starting as `lifecycle` says (`initialize`, or `server/discover`).
    pub(super) async fn connect_with<T, E, A>(
        transport: T,
        lifecycle: ClientLifecycleMode,
    ) -> Result<(Self, mpsc::UnboundedReceiver<UpstreamEvent>), UpstreamError>
    where
        T: IntoTransport<RoleClient, E, A>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let calls = Arc::new(Calls::default());
        let (events_tx, events) = mpsc::unbounded_channel();
        let relay = Relay::new(calls.clone(), events_tx.clone());
        let transport =
            WireOrder::new(transport.into_transport(), calls.clone(), events_tx.clone());
        let service = relay
            .clone()
            .serve_with_lifecycle(transport, lifecycle)
            .await?;
        let peer = service.peer().clone();
        let peer_info = peer.peer_info().ok_or_else(|| {
            ClientInitializeError::ConnectionClosed("no initialize result".into())
        })?;
        let identity = peer_info
            .server_info
            .clone()
            .unwrap_or_else(|| Implementation::new("unnamed-mcp-server", "unknown"));
        let mut info = InitializeResult::new(peer_info.capabilities.clone())
            .with_server_info(identity)
            .with_protocol_version(peer_info.protocol_version.clone());
        info.instructions = peer_info.instructions.clone();
        info.meta = peer_info.meta.clone();
        if !peer_info.protocol_version.has_initialize() {
            // 2026-07-28: no session to hear list changes on.
            super::modern::relay_list_changes(
                peer.clone(),
                &peer_info.capabilities,
                events_tx.clone(),
            );
        }
        let cancel = service.cancellation_token();
        let (closed_tx, closed) = watch::channel(false);
        tokio::spawn(async move {
            let _ = service.waiting().await;
            let _ = closed_tx.send(true);
            let _ = events_tx.send(UpstreamEvent::Closed);
        });
        let upstream = Self {
            peer,
            info: Arc::new(info),
            calls,
            relay,
            poster: None,
            next_posted: AtomicU64::new(0),
            cancel: std::sync::Mutex::new(Some(cancel)),
            closed,
        };
        Ok((upstream, events))
    }

    /// Connects to the streamable-HTTP endpoint `uri` through `client` and completes
    /// `initialize`. It never resumes a broken stream: a broken stream fails its call at
    /// once, and the owner reconnects with a fresh session. Requests are then posted on the
    /// session directly (see [`super::session_post`]).
    ///
    /// # Errors
    /// [`UpstreamError`] when the handshake fails.
    pub async fn connect_http<C>(
        client: C,
        uri: Arc<str>,
    ) -> Result<(Self, mpsc::UnboundedReceiver<UpstreamEvent>), UpstreamError>
    where
        C: StreamableHttpClient + Sync,
    {
        Self::connect_http_with(client, uri, ClientLifecycleMode::Initialize).await
    }

    /// [`Self::connect_http`] starting as `lifecycle` says.
    pub(super) async fn connect_http_with<C>(
        client: C,
        uri: Arc<str>,
        lifecycle: ClientLifecycleMode,
    ) -> Result<(Self, mpsc::UnboundedReceiver<UpstreamEvent>), UpstreamError>
    where
        C: StreamableHttpClient + Sync,
    {
        let (client, poster) = SessionCapture::new(client, uri.clone());
        let watch = client.watch.clone();
        let mut config = StreamableHttpClientTransportConfig::with_uri(uri);
        config.retry_config = Arc::new(NeverRetry::default());
        // A session the server forgot is the owner's to open again (and to set up again
        // what its clients had asked for), not rmcp's to replace behind its back.
        config.reinit_on_expired_session = false;
        let transport = StreamableHttpClientTransport::with_client(client, config);
        let (mut upstream, events) = Self::connect_with(transport, lifecycle).await?;
        watch.report_to(upstream.relay.events());
        upstream.poster = Some(Arc::new(poster));
        Ok((upstream, events))
    }

    /// The session, for sending requests.
    pub fn peer(&self) -> &Peer<RoleClient> {
        &self.peer
    }

    /// What the server answered to `initialize` (its name, capabilities, instructions).
    pub fn info(&self) -> &InitializeResult {
        &self.info
    }

    /// Whether the session has ended (the server exited or the connection broke).
    pub fn is_closed(&self) -> bool {
        *self.closed.borrow() || self.peer.is_transport_closed()
    }

    /// Ends the session.
    pub fn close(&self) {
        let token = crate::sync::lock(&self.cancel).take();
        if let Some(token) = token {
            token.cancel();
        }
    }

    /// Sends `request` upstream on behalf of `caller` and waits for the answer: progress
    /// goes back to that client with its own token, requests the upstream makes meanwhile
    /// go to it too, and `ct` (the client cancelling) or `timeout` cancels the upstream
    /// request.
    ///
    /// # Errors
    /// The upstream's error ([`ServiceError::McpError`]), a transport error when the
    /// connection is gone, [`ServiceError::Cancelled`] when the client cancelled, or
    /// [`ServiceError::Timeout`].
    pub async fn forward(
        &self,
        request: ClientRequest,
        caller: Caller,
        ct: &CancellationToken,
        timeout: Option<Duration>,
    ) -> Result<ServerResult, ServiceError> {
        let result = match &self.poster {
            Some(poster) if poster.ready() => {
                self.forward_posted(poster, request, caller, ct, timeout)
                    .await
            }
            _ => self.forward_rmcp(request, caller, ct, timeout).await,
        };
        result.map(super::with_result_type)
    }

    /// [`Self::forward`] through rmcp's client service.
    async fn forward_rmcp(
        &self,
        mut request: ClientRequest,
        caller: Caller,
        ct: &CancellationToken,
        timeout: Option<Duration>,
    ) -> Result<ServerResult, ServiceError> {
        // For the transport to record the call as it sends it (see `super::wire_order`).
        request.extensions_mut().insert(caller.clone());
        let handle = self
            .peer
            .send_request_with_option(request, PeerRequestOptions::no_options())
            .await?;
        let token = handle.progress_token.clone();
        let _routes = self
            .calls
            .begin(handle.id.clone(), token.clone(), caller.clone());
        self.calls.flush_early(&token, &caller).await;
        let id = handle.id.clone();
        let answer = async {
            let answer = handle.await_response().await;
            // The progress the upstream sent before its answer goes to the caller first.
            self.calls.unrelayed_progress.relayed(&token).await;
            answer
        };
        self.finish(answer, id, ct, timeout).await
    }

    /// Waits for `answer` to the upstream request `id`; when the client cancels (`ct`) or
    /// `timeout` passes first, cancels the upstream request.
    pub(super) async fn finish(
        &self,
        answer: impl Future<Output = Result<ServerResult, ServiceError>>,
        id: RequestId,
        ct: &CancellationToken,
        timeout: Option<Duration>,
    ) -> Result<ServerResult, ServiceError> {
        let deadline = async {
            match timeout {
                Some(timeout) => tokio::time::sleep(timeout).await,
                None => std::future::pending().await,
            }
        };
        let cancel = |reason: String| async {
            let param = CancelledNotificationParam::new(Some(id), Some(reason));
            let _ = self.peer.notify_cancelled(param).await;
        };
        tokio::select! {
            result = answer => result,
            () = ct.cancelled() => {
                let reason = "cancelled by the client".to_owned();
                cancel(reason.clone()).await;
                Err(ServiceError::Cancelled { reason: Some(reason) })
            }
            () = deadline => {
                let timeout = timeout.unwrap_or_default();
                cancel(format!("no answer within {timeout:?}")).await;
                Err(ServiceError::Timeout { timeout })
            }
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.close();
    }
}
