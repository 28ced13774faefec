//! Mounting: a child's tools, resources, resource templates and prompts appear on the
//! meta-server under the mount's name, and requests for them go to the child through one
//! persistent client session per mount.
//!
//! Parts: [`names`] (how names and URIs are prefixed), [`catalog`] (a child's lists,
//! renamed), [`cycle`] (refusing self-mounts and cycles), `mounted` ([`Mount`]: one
//! mount, its health and its reconnecting supervisor), `session_state` (the log level and
//! subscriptions clients set up, restored on reconnect), `departed` (mounts removed lately,
//! to explain calls to their tools), `table` (what the registry and the supervisors share),
//! `view` (the merged lists and routing of names), and [`Mounts`], the registry the
//! meta-server asks.

pub mod catalog;
pub mod cycle;
mod departed;
mod mounted;
pub mod names;
pub mod search;
mod session_state;
mod table;
mod view;

use std::sync::{Arc, RwLock};

use rmcp::{
    model::{ClientRequest, ServerResult},
    service::ServiceError,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

pub use crate::error::MountError as Error;
pub use catalog::Catalog;
pub use mounted::Mount;
pub use table::MountTable;

use crate::{
    model::redact_url,
    model::{MountInfo, MountTransport},
    model::{Ownership, Principal},
    policy::Limits,
    upstream::{Caller, ClientSessions, Upstream, UpstreamEvent},
};
use tokio::sync::mpsc::UnboundedReceiver;

/// What to mount.
#[derive(Clone)]
pub struct MountRequest {
    /// Prefix for the server's names; `None` merges them unprefixed.
    pub name: Option<String>,
    /// The child, when mounting one of ours.
    pub job_name: Option<String>,
    /// The endpoint.
    pub url: String,
    /// How to connect.
    pub transport: MountTransport,
    /// Who may see and use it.
    pub ownership: Ownership,
    /// Which of the server's tools appear, and as what.
    pub selection: crate::model::ToolSelection,
    /// Opens (and later reopens) the session.
    pub connector: crate::upstream::Connector,
}

/// The registry of mounts, shared by every session of the meta-server.
pub struct Mounts {
    shared: Arc<MountTable>,
}

impl Mounts {
    /// An empty registry notifying `sessions`, for the daemon `instance`, where the meta
    /// tools `reserved` can never be shadowed, within `limits` (`max_mounts`,
    /// `call_timeout`); each mount's supervisor runs on `tasks`.
    pub fn new(
        sessions: Arc<ClientSessions>,
        instance: String,
        reserved: Vec<String>,
        limits: Limits,
        tasks: TaskTracker,
    ) -> Self {
        Self {
            shared: Arc::new(MountTable {
                sessions,
                instance,
                reserved,
                limits,
                tasks,
                entries: RwLock::default(),
                departed: departed::Departed::default(),
            }),
        }
    }

    /// This daemon's instance id.
    pub fn instance(&self) -> &str {
        &self.shared.instance
    }

    /// Connects to the server of `request` and adds its names to the meta-server.
    ///
    /// # Errors
    /// [`Error`] saying why (bad or taken name, unreachable server, cycle, collisions).
    pub async fn mount(&self, request: MountRequest) -> Result<MountInfo, Error> {
        if let Some(name) = &request.name {
            names::check_mount_name(name).map_err(Error::InvalidName)?;
        }
        request.selection.check().map_err(Error::Selection)?;
        self.shared.check_free(&request)?;
        let mut attempt = 1;
        let (upstream, events, catalog) = loop {
            match connect_and_list(&request).await {
                Ok(connected) => break connected,
                Err(e) if attempt < CONNECT_ATTEMPTS && e.is_transient() => {
                    tracing::debug!(url = %redact_url(&request.url), cause = %e, attempt, "mount failed; retrying");
                    tokio::time::sleep(RETRY_PAUSE * attempt).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        let problems = request.selection.unmatched(&catalog.offered());
        if !problems.is_empty() {
            let offered = catalog.offered().join(", ");
            return Err(Error::Selection(format!(
                "{}; the server offers: {}",
                problems.join("; "),
                crate::model::cut(&offered, 2_000)
            )));
        }
        let reachable = cycle::reachable_instances(upstream.info());
        if reachable.first() == Some(&self.shared.instance) {
            return Err(Error::SelfMount {
                url: redact_url(&request.url),
            });
        }
        if reachable.contains(&self.shared.instance) {
            return Err(Error::Cycle {
                url: redact_url(&request.url),
            });
        }
        let mount = Arc::new(Mount::new(&request, upstream, catalog));
        {
            let mut entries = self.shared.write();
            self.shared.check_free_in(&entries, &request)?;
            let taken = self
                .shared
                .taken_names(&entries, &mount.ownership, &mount.catalog());
            if !taken.is_empty() {
                mount.close();
                return Err(Error::Collision {
                    label: mount.label(),
                    names: taken,
                });
            }
            entries.push(mount.clone());
        }
        tracing::info!(mount = %mount.label(), url = %redact_url(&mount.url), tools = mount.catalog().tools.len(), "mounted");
        let supervisor = mount
            .clone()
            .supervise(Arc::downgrade(&self.shared), events);
        self.shared.tasks.spawn(supervisor);
        self.shared
            .notify_lists_changed(std::slice::from_ref(&mount.ownership))
            .await;
        Ok(mount.info())
    }

    /// Removes the mount called `name`; with no name, the mounts of `job_name`; with
    /// neither, every mount `who` may see.
    ///
    /// # Errors
    /// [`Error::NotFound`] when nothing `who` may see matched.
    pub async fn unmount(
        &self,
        name: Option<&str>,
        job_name: Option<&str>,
        who: &Principal,
    ) -> Result<Vec<MountInfo>, Error> {
        let matches = |m: &Mount| {
            m.ownership.allows(who)
                && match (name, job_name) {
                    (Some(name), _) => m.name.as_deref() == Some(name),
                    (None, Some(job)) => m.job_name.as_deref() == Some(job),
                    (None, None) => true,
                }
        };
        let removed = self.shared.remove(matches, departed::Why::Unmounted);
        if removed.is_empty() {
            return Err(Error::NotFound(match (name, job_name) {
                (Some(name), _) => format!(
                    "No mounted server found with name {name}; list_mcp_servers shows the mounts"
                ),
                (None, Some(job)) => format!("No mounted server found for job_name {job}"),
                (None, None) => "No mounted servers found".to_owned(),
            }));
        }
        self.shared
            .notify_lists_changed(&ownerships(&removed))
            .await;
        Ok(removed)
    }

    /// Removes the mounts of a child that is being deleted (none is fine).
    pub async fn unmount_job(&self, job_name: &str) -> Vec<MountInfo> {
        let removed = self.shared.remove(
            |m| m.job_name.as_deref() == Some(job_name),
            departed::Why::ServerDeleted(job_name),
        );
        if !removed.is_empty() {
            self.shared
                .notify_lists_changed(&ownerships(&removed))
                .await;
        }
        removed
    }

    /// Why `tool` is gone, when it belonged to a mount `who` could see that was removed
    /// lately (unmounted, or its server deleted).
    pub fn explain_gone(&self, tool: &str, who: &Principal) -> Option<String> {
        self.shared.departed.explain(tool, who)
    }

    /// Every mount `who` may see.
    pub fn list(&self, who: &Principal) -> Vec<MountInfo> {
        let entries = self.shared.read();
        let visible = entries.iter().filter(|m| m.ownership.allows(who));
        visible.map(|m| m.info()).collect()
    }

    /// How many mounts there are.
    pub fn len(&self) -> usize {
        self.shared.read().len()
    }

    /// Whether nothing is mounted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// When child `job_name` was last called through its mount.
    pub fn last_used(&self, job_name: &str) -> Option<std::time::Instant> {
        let entries = self.shared.read();
        let mount = entries
            .iter()
            .find(|m| m.job_name.as_deref() == Some(job_name));
        mount.map(|m| m.last_used())
    }

    /// The mount of a child, if it is mounted.
    pub fn of_job(&self, job_name: &str) -> Option<MountInfo> {
        let entries = self.shared.read();
        entries
            .iter()
            .find(|m| m.job_name.as_deref() == Some(job_name))
            .map(|m| m.info())
    }

    /// The meta-servers reachable through the mounts (for this daemon's `_meta`).
    pub fn reachable(&self) -> Vec<String> {
        let mut reachable: Vec<String> = self
            .shared
            .read()
            .iter()
            .flat_map(|m| m.reachable.clone())
            .collect();
        reachable.sort();
        reachable.dedup();
        reachable
    }

    /// Sends `request` to `mount`'s server for `caller`; `ct` cancels it.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the server cannot be reached (the mount then reconnects),
    /// [`Error::Server`] with the server's own error.
    pub async fn forward(
        &self,
        mount: &Mount,
        request: ClientRequest,
        caller: Caller,
        ct: &CancellationToken,
    ) -> Result<ServerResult, Error> {
        let upstream = mount.upstream()?;
        mount.touch();
        let timeout = self.shared.limits.call_timeout;
        match upstream.forward(request, caller, ct, timeout).await {
            Ok(result) => Ok(result),
            Err(_) if mount.is_removed() => Err(Error::Removed {
                label: mount.label(),
            }),
            Err(ServiceError::McpError(e)) => Err(Error::Server(e)),
            Err(e) if crate::upstream::is_stream_failure(&e) => {
                // This call failed; whether the server is still there, the mount checks.
                mount.report_suspect();
                let text = crate::upstream::describe(&e);
                Err(Error::Server(rmcp::ErrorData::internal_error(text, None)))
            }
            Err(e) if mounted::is_connection_error(&e) => {
                mount.report_broken(&e);
                Err(Error::Unavailable {
                    label: mount.label(),
                    reason: format!(
                        "the connection to {} failed ({})",
                        redact_url(&mount.url),
                        crate::upstream::describe(&e)
                    ),
                })
            }
            Err(e) => Err(Error::Server(crate::upstream::upstream_error(
                "the mounted server",
                e,
            ))),
        }
    }

    /// After a client of `who` set its log level: asks every reachable mount that logs and
    /// that `who` may see (never another principal's) for the least severe level its
    /// clients asked for.
    pub async fn set_level(&self, who: &Principal) {
        let mounts: Vec<Arc<Mount>> = self
            .shared
            .read()
            .iter()
            .filter(|m| m.ownership.allows(who))
            .cloned()
            .collect();
        for mount in mounts {
            mount.pass_log_level(&self.shared.sessions).await;
        }
    }

    /// Closes every mount (on shutdown).
    pub fn close_all(&self) {
        for mount in self.shared.write().drain(..) {
            mount.close();
        }
    }
}

/// How often a new mount tries to connect and list before it fails.
const CONNECT_ATTEMPTS: u32 = 3;

/// The pause before the second attempt (the third waits twice as long).
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// Opens `request`'s session and lists what its server offers.
async fn connect_and_list(
    request: &MountRequest,
) -> Result<(Upstream, UnboundedReceiver<UpstreamEvent>, Catalog), Error> {
    let url = redact_url(&request.url);
    let (upstream, events) = (request.connector)()
        .await
        .map_err(|cause| Error::Connect {
            url: url.clone(),
            cause,
        })?;
    let catalog = Catalog::fetch(&upstream, request.name.as_deref(), &request.selection)
        .await
        .map_err(|cause| Error::Listing { url, cause })?;
    Ok((upstream, events, catalog))
}

/// Whose the removed mounts were, for telling only those who saw them.
fn ownerships(removed: &[MountInfo]) -> Vec<Ownership> {
    let mut ownerships: Vec<Ownership> = Vec::new();
    for info in removed {
        if !ownerships.contains(&info.ownership) {
            ownerships.push(info.ownership.clone());
        }
    }
    ownerships
}
