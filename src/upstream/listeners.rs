//! `subscriptions/listen` streams (2026-07-28) as sessions of [`ClientSessions`]: each gets,
//! while it is open, what the sessions of its principal get, and a principal may hold at
//! most [`MAX_LISTENERS_PER_PRINCIPAL`] of them (each is a task and a queue of the daemon's).

use rmcp::{
    ErrorData as McpError, RoleServer,
    service::{RequestContext, SubscriptionContext},
};

use super::{downstream::ClientSessions, outbox::Recipient};
use crate::model::Principal;

/// The most listen streams one principal may keep open at once.
pub const MAX_LISTENERS_PER_PRINCIPAL: usize = 16;

impl ClientSessions {
    /// Serves a `subscriptions/listen` stream (2026-07-28) of the principal in its request
    /// as session `session` until the client cancels it or goes: registers it, subscribes
    /// (with `subscribe`) to the resources it names, and undoes both at the end (with
    /// `unsubscribe`, under a token of its own: the stream's is cancelled by then). A URI
    /// `subscribe` refuses stays in the stream's filter but is never updated.
    ///
    /// # Errors
    /// When the principal has [`MAX_LISTENERS_PER_PRINCIPAL`] streams open already.
    pub async fn serve_listener<S, SF, U, UF>(
        &self,
        session: u64,
        subscription: SubscriptionContext,
        subscribe: S,
        unsubscribe: U,
    ) -> Result<(), McpError>
    where
        S: Fn(String, RequestContext<RoleServer>) -> SF,
        SF: Future<Output = Result<(), McpError>>,
        U: Fn(String, RequestContext<RoleServer>) -> UF,
        UF: Future<Output = Result<(), McpError>>,
    {
        let context = subscription.request_context().clone();
        let who = Principal::of(&context.extensions);
        let sink = subscription.sink().clone();
        let limit = Some(MAX_LISTENERS_PER_PRINCIPAL);
        if !self.add(
            session,
            context.peer.clone(),
            Recipient::Listener(sink),
            who,
            limit,
        ) {
            return Err(McpError::invalid_request(
                format!(
                    "{MAX_LISTENERS_PER_PRINCIPAL} subscriptions/listen streams are open for \
                     you already; close one (one stream can carry every subscription)"
                ),
                None,
            ));
        }
        let uris = subscription.accepted().resource_subscriptions.clone();
        let mut subscribed = Vec::new();
        for uri in uris.unwrap_or_default() {
            if subscribe(uri.clone(), context.clone()).await.is_ok() {
                subscribed.push(uri);
            }
        }
        subscription.cancelled().await;
        let mut after = context;
        after.ct = tokio_util::sync::CancellationToken::new();
        for uri in subscribed {
            let _ = unsubscribe(uri, after.clone()).await;
        }
        self.unregister(session);
        Ok(())
    }
}
