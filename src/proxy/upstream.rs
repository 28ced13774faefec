//! One persistent client session to an upstream MCP server.

use std::sync::Arc;

use rmcp::{
    Peer, RoleClient, ServiceExt,
    model::{ClientCapabilities, ClientConfig, Implementation, InitializeResult, ProtocolVersion},
    service::{ClientInitializeError, RunningService},
    transport::IntoTransport,
};

use super::{Downstreams, Relay};

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

/// A connected upstream: its session, what it said in `initialize`, and the downstream
/// sessions its notifications go to.
pub struct Upstream {
    service: RunningService<RoleClient, Relay>,
    info: Arc<InitializeResult>,
    downstreams: Arc<Downstreams>,
}

impl Upstream {
    /// Connects over `transport` and completes `initialize`.
    ///
    /// # Errors
    /// [`UpstreamError`] when the handshake fails (the server exited, spoke something else…).
    pub async fn connect<T, E, A>(transport: T) -> Result<Self, UpstreamError>
    where
        T: IntoTransport<RoleClient, E, A>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let downstreams = Arc::new(Downstreams::default());
        let service = Relay::new(downstreams.clone()).serve(transport).await?;
        let peer_info = service.peer().peer_info().ok_or_else(|| {
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
        let info = Arc::new(info);
        Ok(Self {
            service,
            info,
            downstreams,
        })
    }

    /// The session, for sending requests.
    pub fn peer(&self) -> &Peer<RoleClient> {
        self.service.peer()
    }

    /// What the server answered to `initialize` (its name, capabilities, instructions).
    pub fn info(&self) -> &InitializeResult {
        &self.info
    }

    /// The downstream sessions this upstream's notifications go to.
    pub fn downstreams(&self) -> &Arc<Downstreams> {
        &self.downstreams
    }

    /// Whether the session has ended (the server exited or the connection broke).
    pub fn is_closed(&self) -> bool {
        self.service.is_closed() || self.peer().is_transport_closed()
    }

    /// Ends the session.
    pub async fn close(mut self) {
        let _ = self.service.close().await;
    }
}
