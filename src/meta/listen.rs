//! `subscriptions/listen` (2026-07-28): a client without a session asks for list changes
//! and resource updates on one long-lived request. The stream is a session of the
//! manager's for as long as it is open, so it gets what a 2025-11-25 session of the same
//! principal gets — list changes of the mounts that principal may see, updates of the
//! mounted resources it names — filtered by what it asked for and tagged with its
//! subscription id (rmcp's sink does both).

use rmcp::{
    ErrorData as McpError,
    model::{SubscribeRequestParams, UnsubscribeRequestParams},
    service::SubscriptionContext,
};

use super::{MOUNTS_URI, MetaServer, VERSION_URI};

impl MetaServer {
    /// Serves one listen stream until the client cancels it or goes, subscribing upstream
    /// to the mounted resources it names (the daemon's own resources change through
    /// `resources/list_changed`).
    pub(super) async fn serve_listener(
        &self,
        subscription: SubscriptionContext,
    ) -> Result<(), McpError> {
        let subscribe = |uri: String, context| async move {
            if uri == VERSION_URI || uri == MOUNTS_URI {
                return Err(McpError::invalid_params("not a mounted resource", None));
            }
            let params = SubscribeRequestParams::new(uri);
            self.subscribe_mounted(params, &context).await
        };
        let unsubscribe = |uri, context| async move {
            let params = UnsubscribeRequestParams::new(uri);
            self.unsubscribe_mounted(params, &context).await
        };
        let sessions = self.manager.sessions();
        sessions
            .serve_listener(self.session_id, subscription, subscribe, unsubscribe)
            .await
    }
}
