//! One mount: its client session to a child (or URL), its catalog, its health, and the
//! task that relays the child's notifications and reconnects when the child comes back.

#![expect(deprecated, reason = "logging is part of 2025-11-25, which we relay")]

use std::{
    sync::{Arc, Mutex, RwLock, Weak},
    time::{Duration, Instant},
};

use rmcp::{
    model::{ResourceUpdatedNotification, ServerNotification},
    service::ServiceError,
};
use tokio::sync::{Notify, mpsc::UnboundedReceiver};
use tokio_util::sync::CancellationToken;

use super::{Catalog, MountRequest, MountTable, catalog::rename_uri, cycle::reachable_instances};
use crate::{
    model::{MountInfo, MountState, MountTransport, Ownership},
    mount::Error,
    upstream::{Connector, Upstream, UpstreamEvent},
};

/// First pause before reconnecting to a child that went away; it doubles up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How long a mount whose call's stream failed waits for a ping before reconnecting.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether a forwarding failure means the connection is gone (rather than the child
/// answering with an error).
pub fn is_connection_error(error: &ServiceError) -> bool {
    matches!(
        error,
        ServiceError::TransportClosed | ServiceError::TransportSend(_)
    )
}

/// Health of a mount, for status and errors.
#[derive(Debug, Clone)]
struct Health {
    state: MountState,
    last_error: Option<String>,
    reconnects: u32,
}

/// One mounted server. Locks are std ones, never held across an `.await`.
pub struct Mount {
    /// The prefix of its names; `None` for an unnamed mount.
    pub name: Option<String>,
    /// The child it reaches, when it was mounted by job name.
    pub job_name: Option<String>,
    /// Where it connects.
    pub url: String,
    /// How it connects.
    pub transport: MountTransport,
    /// Who may see and use it.
    pub ownership: Ownership,
    /// Which of the server's tools appear, and as what; kept across reconnects.
    pub selection: crate::model::ToolSelection,
    /// Reopens the session after the server came back.
    connector: Connector,
    /// `name version` of the server, from `initialize`.
    pub server: String,
    /// Meta-servers reachable through this mount (for cycle checks).
    pub reachable: Vec<String>,
    /// The live session; `None` while the server is unreachable.
    upstream: RwLock<Option<Arc<Upstream>>>,
    catalog: RwLock<Arc<Catalog>>,
    health: Mutex<Health>,
    /// When a call last went through it.
    last_used: Mutex<Instant>,
    /// Signalled when a call finds the connection gone.
    broken: Notify,
    /// Signalled when a call's stream failed: the connection may be gone.
    suspect: Notify,
    /// The server's resources clients are subscribed to, to subscribe again on reconnect.
    pub(super) subscriptions: super::session_state::Subscriptions,
    /// Cancelled on unmount: ends the supervising task and the session.
    ct: CancellationToken,
}

impl Mount {
    /// The mount `request` asked for, over its connected `upstream`, with its `catalog`.
    pub fn new(request: &MountRequest, upstream: Upstream, catalog: Catalog) -> Self {
        let identity = &upstream.info().server_info;
        Self {
            server: format!("{} {}", identity.name, identity.version),
            reachable: reachable_instances(upstream.info()),
            name: request.name.clone(),
            job_name: request.job_name.clone(),
            url: request.url.clone(),
            transport: request.transport,
            ownership: request.ownership.clone(),
            selection: request.selection.clone(),
            connector: request.connector.clone(),
            upstream: RwLock::new(Some(Arc::new(upstream))),
            catalog: RwLock::new(Arc::new(catalog)),
            last_used: Mutex::new(Instant::now()),
            health: Mutex::new(Health {
                state: MountState::Connected,
                last_error: None,
                reconnects: 0,
            }),
            broken: Notify::new(),
            suspect: Notify::new(),
            subscriptions: Default::default(),
            ct: CancellationToken::new(),
        }
    }

    /// The label used in messages: `"time"` or `unnamed mount of <url>`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("mount {name:?}"),
            None => format!(
                "the unnamed mount of {}",
                crate::model::redact_url(&self.url)
            ),
        }
    }

    /// The current catalog.
    pub fn catalog(&self) -> Arc<Catalog> {
        crate::sync::read(&self.catalog).clone()
    }

    pub(super) fn set_catalog(&self, catalog: Catalog) {
        *crate::sync::write(&self.catalog) = Arc::new(catalog);
    }

    /// The live session, or why there is none.
    ///
    /// # Errors
    /// [`Error::Unavailable`] with the reason the server is unreachable.
    pub fn upstream(&self) -> Result<Arc<Upstream>, Error> {
        let upstream = crate::sync::read(&self.upstream).clone();
        match upstream {
            Some(upstream) if !upstream.is_closed() => Ok(upstream),
            _ => Err(Error::Unavailable {
                label: self.label(),
                reason: self
                    .health()
                    .last_error
                    .unwrap_or_else(|| "the connection is closed".into()),
            }),
        }
    }

    /// Records that a call found the connection gone, so the mount reconnects.
    pub fn report_broken(&self, error: &ServiceError) {
        self.mark_broken(crate::upstream::describe(error));
        self.broken.notify_one();
    }

    /// Records that a call's response stream failed, so the mount checks (with a ping)
    /// whether its server is still there, and reconnects if not.
    pub fn report_suspect(&self) {
        self.suspect.notify_one();
    }

    /// Whether the session answers a ping within [`PING_TIMEOUT`].
    async fn answers_ping(&self) -> bool {
        let Ok(upstream) = self.upstream() else {
            return false;
        };
        let ping = rmcp::model::ClientRequest::PingRequest(Default::default());
        let answer = upstream.peer().send_request(ping);
        matches!(tokio::time::timeout(PING_TIMEOUT, answer).await, Ok(Ok(_)))
    }

    fn health(&self) -> Health {
        crate::sync::lock(&self.health).clone()
    }

    fn mark_broken(&self, reason: String) {
        let mut health = crate::sync::lock(&self.health);
        health.state = MountState::Broken;
        health.last_error = Some(reason);
    }

    fn mark_reconnected(&self) {
        let mut health = crate::sync::lock(&self.health);
        health.state = MountState::Connected;
        health.last_error = None;
        health.reconnects += 1;
    }

    /// What users see of this mount.
    pub fn info(&self) -> MountInfo {
        let catalog = self.catalog();
        let health = self.health();
        MountInfo {
            name: self.name.clone(),
            job_name: self.job_name.clone(),
            url: self.url.clone(),
            transport: self.transport,
            server: self.server.clone(),
            ownership: self.ownership.clone(),
            state: health.state,
            tools: catalog.tools.iter().map(|t| t.name.to_string()).collect(),
            selection: self.selection.clone(),
            prompts: catalog.prompts.iter().map(|p| p.name.clone()).collect(),
            resources: catalog.resources.len(),
            resource_templates: catalog.templates.len(),
            reconnects: health.reconnects,
            last_error: health.last_error,
        }
    }

    /// Records a call going through it now.
    pub fn touch(&self) {
        *crate::sync::lock(&self.last_used) = Instant::now();
    }

    /// When a call last went through it (or when it was made).
    pub fn last_used(&self) -> Instant {
        *crate::sync::lock(&self.last_used)
    }

    /// Whether the mount was removed (closed for good).
    pub fn is_removed(&self) -> bool {
        self.ct.is_cancelled()
    }

    /// Ends the mount: its task and its session.
    pub fn close(&self) {
        self.ct.cancel();
        let upstream = crate::sync::write(&self.upstream).take();
        if let Some(upstream) = upstream {
            upstream.close();
        }
    }

    /// Relays the child's events until the connection breaks, then reconnects; until the
    /// mount is closed or the registry is gone.
    pub async fn supervise(
        self: Arc<Self>,
        shared: Weak<MountTable>,
        mut events: UnboundedReceiver<UpstreamEvent>,
    ) {
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(UpstreamEvent::Closed) | None => {}
                    Some(UpstreamEvent::StreamLost) => {
                        if self.answers_ping().await {
                            continue;
                        }
                    }
                    Some(event) => {
                        let Some(shared) = shared.upgrade() else { return };
                        self.relay(&shared, event).await;
                        continue;
                    }
                },
                () = self.broken.notified() => {}
                () = self.suspect.notified() => {
                    if self.answers_ping().await {
                        continue;
                    }
                }
                () = self.ct.cancelled() => return,
            }
            self.mark_broken("the connection to the server was lost".into());
            tracing::warn!(mount = %self.label(), url = %crate::model::redact_url(&self.url), "mount lost its server; reconnecting");
            match self.reconnect(&shared).await {
                Some(next) => events = next,
                None => return,
            }
            // Calls that failed on the old session said so meanwhile: that is not news
            // about the new one.
            for stale in [&self.broken, &self.suspect] {
                let _ = futures::FutureExt::now_or_never(stale.notified());
            }
        }
    }

    /// Tries to reconnect until it works or the mount is closed; returns the new session's
    /// events.
    async fn reconnect(
        &self,
        shared: &Weak<MountTable>,
    ) -> Option<UnboundedReceiver<UpstreamEvent>> {
        if let Some(old) = crate::sync::write(&self.upstream).take() {
            old.close();
        }
        let mut backoff = FIRST_BACKOFF;
        loop {
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = self.ct.cancelled() => return None,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            let shared_now = shared.upgrade()?;
            let attempt = (self.connector)().await;
            let (upstream, events) = match attempt {
                Ok(connected) => connected,
                Err(reason) => {
                    self.mark_broken(format!("reconnecting: {reason}"));
                    continue;
                }
            };
            let fetched = Catalog::fetch(&upstream, self.name.as_deref(), &self.selection).await;
            let mut catalog = match fetched {
                Ok(catalog) => catalog,
                Err(e) => {
                    self.mark_broken(format!("reconnecting: listing failed: {e}"));
                    continue;
                }
            };
            shared_now.drop_collisions(self, &mut catalog);
            self.restore(&upstream, &shared_now.sessions).await;
            *crate::sync::write(&self.upstream) = Some(Arc::new(upstream));
            self.set_catalog(catalog);
            self.mark_reconnected();
            tracing::info!(mount = %self.label(), "mount reconnected");
            shared_now
                .notify_lists_changed(std::slice::from_ref(&self.ownership))
                .await;
            return Some(events);
        }
    }

    /// Passes one event of the child on to the meta-server's sessions, renamed.
    async fn relay(&self, shared: &MountTable, event: UpstreamEvent) {
        match event {
            UpstreamEvent::ToolsChanged
            | UpstreamEvent::ResourcesChanged
            | UpstreamEvent::PromptsChanged => {
                let Ok(upstream) = self.upstream() else {
                    return;
                };
                match Catalog::fetch(&upstream, self.name.as_deref(), &self.selection).await {
                    Ok(mut catalog) => {
                        shared.drop_collisions(self, &mut catalog);
                        self.set_catalog(catalog);
                        shared
                            .notify_lists_changed(std::slice::from_ref(&self.ownership))
                            .await;
                    }
                    Err(e) => {
                        tracing::warn!(mount = %self.label(), cause = %e, "cannot refresh the mount's lists")
                    }
                }
            }
            UpstreamEvent::ResourceUpdated(mut params) => {
                params.uri = rename_uri(self.name.as_deref(), &params.uri);
                let uri = params.uri.clone();
                let notification = ServerNotification::ResourceUpdatedNotification(
                    ResourceUpdatedNotification::new(params),
                );
                shared
                    .sessions
                    .notify_subscribers(&uri, &self.ownership, notification)
                    .await;
            }
            UpstreamEvent::Log(mut params, caller) => {
                if let Some(name) = &self.name {
                    params.logger = Some(match params.logger {
                        Some(logger) => format!("{name}/{logger}"),
                        None => name.clone(),
                    });
                }
                let session = caller.and_then(|origin| origin.session);
                shared.sessions.log(&self.ownership, params, session);
            }
            UpstreamEvent::Closed | UpstreamEvent::StreamLost => {}
        }
    }
}
