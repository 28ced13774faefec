//! Upstreams of MCP 2026-07-28: connected `server/discover` first, and told of list changes
//! on a `subscriptions/listen` stream, the revision's stand-in for a session's
//! notifications. A server that also offers `initialize` gets a session instead: a mount
//! multiplexes its clients' resource subscriptions and log levels onto one session, and
//! hears log messages sent outside any call, which the stateless revision has no place for. A server's `input_required` results are answered where the call is
//! routed (the caller's own client is asked).

use std::sync::Arc;

use rmcp::{
    Peer, RoleClient,
    model::{
        ProtocolVersion, RequestMetaObject, ServerCapabilities, ServerNotification,
        SubscriptionFilter,
    },
    service::ClientLifecycleMode,
    transport::streamable_http_client::StreamableHttpClient,
};
use tokio::sync::mpsc::UnboundedSender;

use super::{Connected, Upstream, UpstreamError, UpstreamEvent};

impl Upstream {
    /// Connects to `uri` as a 2026-07-28 client when `server/discover` shows a server of
    /// that revision only, else with `initialize`: when it offers that too, and on any other
    /// answer to the probe — a JSON-RPC error of whatever code, an HTTP status, a closed
    /// connection, 10 s of silence — as the revision's backward-compatibility rules say.
    ///
    /// # Errors
    /// Why the `initialize` after a failed probe failed too.
    pub async fn connect_http_modern_first<C>(
        client: C,
        uri: Arc<str>,
    ) -> Result<Connected, UpstreamError>
    where
        C: StreamableHttpClient + Sync + Clone,
    {
        let probe = ClientLifecycleMode::Auto {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            legacy_version: Some(ProtocolVersion::LATEST_WITH_INITIALIZE),
        };
        match Self::connect_http_with(client.clone(), uri.clone(), probe).await {
            Ok((upstream, events)) if !upstream.offers_session().await => Ok((upstream, events)),
            Ok((upstream, _)) => {
                // It speaks both: a session carries more for a gateway (see the README).
                upstream.close();
                Self::connect_http(client, uri).await
            }
            Err(error) => {
                tracing::debug!(cause = %error, "no 2026-07-28 server (server/discover); trying initialize");
                Self::connect_http(client, uri).await
            }
        }
    }

    /// Whether this upstream has a session (`initialize` was done) or offers one (its
    /// `server/discover` lists a revision with `initialize`).
    async fn offers_session(&self) -> bool {
        if self.info().protocol_version.has_initialize() {
            return true;
        }
        // rmcp answers from the result of the probe it made.
        let discovered = self.peer().discover(RequestMetaObject::default()).await;
        discovered.is_ok_and(|d| d.supported_versions.iter().any(|v| v.has_initialize()))
    }
}

/// For a 2026-07-28 upstream (`peer`, with `capabilities`): listens for the list changes it
/// announces and passes them on as events, until the session ends.
pub(super) fn relay_list_changes(
    peer: Peer<RoleClient>,
    capabilities: &ServerCapabilities,
    events: UnboundedSender<UpstreamEvent>,
) {
    let announces = |list_changed: Option<bool>| list_changed.filter(|changed| *changed);
    let mut filter = SubscriptionFilter::new();
    filter.tools_list_changed = announces(capabilities.tools.as_ref().and_then(|t| t.list_changed));
    filter.prompts_list_changed =
        announces(capabilities.prompts.as_ref().and_then(|p| p.list_changed));
    filter.resources_list_changed =
        announces(capabilities.resources.as_ref().and_then(|r| r.list_changed));
    if filter == SubscriptionFilter::new() {
        return;
    }
    tokio::spawn(async move {
        let mut subscription = match peer.listen(filter).await {
            Ok(subscription) => subscription,
            Err(error) => {
                tracing::debug!(cause = %error, "the server refused subscriptions/listen");
                return;
            }
        };
        while let Ok(Some(notification)) = subscription.next().await {
            let event = match notification {
                ServerNotification::ToolListChangedNotification(_) => UpstreamEvent::ToolsChanged,
                ServerNotification::PromptListChangedNotification(_) => {
                    UpstreamEvent::PromptsChanged
                }
                ServerNotification::ResourceListChangedNotification(_) => {
                    UpstreamEvent::ResourcesChanged
                }
                _ => continue,
            };
            if events.send(event).is_err() {
                return;
            }
        }
    });
}
