//! One persistent client session to an upstream MCP server, and forwarding requests to it
//! on behalf of downstream sessions.

use std::{sync::Arc, time::Duration};

use rmcp::{
    Peer, RoleClient, RoleServer, ServiceExt,
    model::{
        CancelledNotificationParam, ClientCapabilities, ClientConfig, ClientRequest,
        Implementation, InitializeResult, ProtocolVersion, ServerResult,
    },
    service::{
        ClientInitializeError, PeerRequestOptions, RequestContext, RunningServiceCancellationToken,
        ServiceError,
    },
    transport::IntoTransport,
};
use tokio::sync::{mpsc, watch};

use super::{Caller, Calls, Relay, UpstreamEvent};

/// The upstream could not be reached or did not complete `initialize`.
#[derive(Debug, thiserror::Error)]
#[error("the MCP server did not complete initialize: {0}")]
pub struct UpstreamError(#[from] ClientInitializeError);

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
    calls: Arc<Calls>,
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
        let calls = Arc::new(Calls::default());
        let (events_tx, events) = mpsc::unbounded_channel();
        let relay = Relay::new(calls.clone(), events_tx.clone());
        let service = relay.serve(transport).await?;
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
            cancel: std::sync::Mutex::new(Some(cancel)),
            closed,
        };
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
        let token = self
            .cancel
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(token) = token {
            token.cancel();
        }
    }

    /// Sends `request` upstream on behalf of the downstream request `context` and waits
    /// for the answer: progress goes back to that client with its own token, requests the
    /// upstream makes meanwhile go to it too, and cancelling it cancels the upstream request.
    ///
    /// # Errors
    /// The upstream's error ([`ServiceError::McpError`]), a transport error when the
    /// connection is gone, or [`ServiceError::Cancelled`] when the client cancelled.
    pub async fn forward(
        &self,
        request: ClientRequest,
        context: &RequestContext<RoleServer>,
        timeout: Option<Duration>,
    ) -> Result<ServerResult, ServiceError> {
        let tool_call = matches!(request, ClientRequest::CallToolRequest(_));
        let handle = self
            .peer
            .send_request_with_option(request, PeerRequestOptions::no_options())
            .await?;
        let caller = Caller {
            peer: context.peer.clone(),
            request_id: context.id.clone(),
            progress_token: context.meta.get_progress_token(),
            tool_call,
        };
        let _routes = self
            .calls
            .begin(handle.id.clone(), handle.progress_token.clone(), caller);
        let id = handle.id.clone();
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
            result = handle.await_response() => result,
            () = context.ct.cancelled() => {
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
