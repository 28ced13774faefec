//! Opening a mount's client session to a URL, and refusing self-mounts and cycles.

use std::{sync::Arc, time::Duration};

use futures::future::BoxFuture;

use rmcp::model::InitializeResult;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::{
    model::MountTransport,
    sse::client::SseClientTransport,
    upstream::{Upstream, UpstreamEvent},
};

/// How long connecting and `initialize` may take before a mount gives up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// `_meta` key with which a meta-server names itself in `initialize`.
pub const INSTANCE_KEY: &str = "io.github.mcp-ephemeral-k8s/instance";

/// `_meta` key listing the meta-servers reachable through a meta-server's mounts.
pub const REACHABLE_KEY: &str = "io.github.mcp-ephemeral-k8s/reachable";

/// A connected session and its events.
pub type Connected = (Upstream, UnboundedReceiver<UpstreamEvent>);

/// How a mount (re)connects to its server: usually [`url_connector`]; the Kubernetes
/// backend supplies one that goes through the API server.
pub type Connector = Arc<dyn Fn() -> BoxFuture<'static, Result<Connected, String>> + Send + Sync>;

/// A connector that opens `url` over `transport`.
pub fn url_connector(url: String, transport: MountTransport) -> Connector {
    Arc::new(move || {
        let url = url.clone();
        Box::pin(async move { connect(&url, transport).await })
    })
}

/// Opens a client session to `url` and completes `initialize`.
///
/// # Errors
/// A sentence saying why (unreachable, not MCP, timed out).
pub async fn connect(url: &str, transport: MountTransport) -> Result<Connected, String> {
    crate::tls::install_crypto_provider();
    let attempt = async {
        match transport {
            MountTransport::StreamableHttp => {
                Upstream::connect_http(reqwest::Client::new(), url.into())
                    .await
                    .map_err(|e| e.to_string())
            }
            MountTransport::Sse => {
                let transport = SseClientTransport::connect(url)
                    .await
                    .map_err(|e| e.to_string())?;
                Upstream::connect(transport)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    };
    tokio::time::timeout(CONNECT_TIMEOUT, attempt)
        .await
        .map_err(|_| format!("no MCP session within {CONNECT_TIMEOUT:?}"))?
}

/// The meta-servers reachable through a server (itself included) from its `initialize`
/// `_meta`; empty for servers that are not meta-servers.
pub fn reachable_instances(info: &InitializeResult) -> Vec<String> {
    let Some(meta) = &info.meta else {
        return Vec::new();
    };
    let own = meta
        .0
        .get(INSTANCE_KEY)
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let through: Vec<String> = meta
        .0
        .get(REACHABLE_KEY)
        .and_then(|v| v.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    own.into_iter().chain(through).collect()
}
