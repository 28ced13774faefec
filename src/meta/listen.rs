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

use super::{MOUNTS_URI, MetaServer, VERSION_URI, authorize::principal};

impl MetaServer {
    /// Serves one listen stream until the client cancels it or goes: registers it, and
    /// subscribes upstream to the mounted resources it names (the daemon's own resources
    /// change through `resources/list_changed`); undoes both at the end.
    pub(super) async fn serve_listener(
        &self,
        subscription: SubscriptionContext,
    ) -> Result<(), McpError> {
        let context = subscription.request_context().clone();
        let sessions = self.manager.sessions();
        sessions.register_listener(
            self.session_id,
            context.peer.clone(),
            subscription.sink().clone(),
            principal(&context),
        );
        let uris = subscription.accepted().resource_subscriptions.clone();
        let mut subscribed = Vec::new();
        for uri in uris.unwrap_or_default() {
            if uri == VERSION_URI || uri == MOUNTS_URI {
                continue;
            }
            // A URI no mount serves (yet) is kept in the filter but never updated.
            let params = SubscribeRequestParams::new(uri.clone());
            if self.subscribe_mounted(params, &context).await.is_ok() {
                subscribed.push(uri);
            }
        }
        subscription.cancelled().await;
        // The listen request's token is cancelled by now; the unsubscribing has its own.
        let mut after = context;
        after.ct = tokio_util::sync::CancellationToken::new();
        for uri in subscribed {
            let params = UnsubscribeRequestParams::new(uri);
            let _ = self.unsubscribe_mounted(params, &after).await;
        }
        sessions.unregister(self.session_id);
        Ok(())
    }
}
