//! [`MountTable`]: the mounts and what their tasks share with the registry — the checks a
//! new mount passes (free name, not mounted yet, within `--max-mounts`, no collisions),
//! removal, and the `list_changed` notifications.

use std::sync::{Arc, RwLock};

use rmcp::model::{
    PromptListChangedNotification, ResourceListChangedNotification, ServerNotification,
    ToolListChangedNotification,
};

use super::{
    Catalog, Error, Mount, MountRequest,
    departed::{Departed, Why},
};
use crate::{
    model::{MountInfo, Ownership},
    policy::Limits,
    upstream::ClientSessions,
};

/// What the mounts' tasks share with the registry (they hold it weakly).
pub struct MountTable {
    /// The meta-server's sessions, for notifications.
    pub sessions: Arc<ClientSessions>,
    /// This daemon's id, for refusing self-mounts and cycles.
    pub(super) instance: String,
    /// Names mounts may never take: the meta tools.
    pub(super) reserved: Vec<String>,
    /// `max_mounts` and `call_timeout`.
    pub(super) limits: Limits,
    /// Where the mounts' supervisors run.
    pub(super) tasks: tokio_util::task::TaskTracker,
    /// Mounts, oldest first. A std lock: never held across an `.await`.
    pub(super) entries: RwLock<Vec<Arc<Mount>>>,
    /// Mounts removed lately, to explain calls to their tools.
    pub(super) departed: Departed,
}

impl MountTable {
    pub(super) fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<Mount>>> {
        crate::sync::read(&self.entries)
    }

    pub(super) fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Arc<Mount>>> {
        crate::sync::write(&self.entries)
    }

    pub(super) fn check_free(&self, request: &MountRequest) -> Result<(), Error> {
        self.check_free_in(&self.read(), request)
    }

    pub(super) fn check_free_in(
        &self,
        entries: &[Arc<Mount>],
        request: &MountRequest,
    ) -> Result<(), Error> {
        if let Some(max) = self.limits.max_mounts
            && entries.len() >= max
        {
            return Err(Error::TooMany(max));
        }
        // Only mounts someone could see beside this one can clash with it; the others are
        // not even named.
        let mut near = entries
            .iter()
            .filter(|m| m.ownership.overlaps(&request.ownership));
        if let Some(name) = &request.name
            && near.clone().any(|m| m.name.as_ref() == Some(name))
        {
            return Err(Error::NameTaken(name.clone()));
        }
        let same = near.find(|m| match &request.job_name {
            Some(job) => m.job_name.as_ref() == Some(job),
            None => m.url == request.url,
        });
        match same {
            Some(mount) => Err(Error::AlreadyMounted {
                target: request
                    .job_name
                    .clone()
                    .unwrap_or_else(|| request.url.clone()),
                label: mount.label(),
            }),
            None => Ok(()),
        }
    }

    /// Names in `catalog` that the meta tools or other mounts already use.
    pub(super) fn taken_names(
        &self,
        entries: &[Arc<Mount>],
        ownership: &Ownership,
        catalog: &Catalog,
    ) -> Vec<String> {
        let near = entries.iter().filter(|m| m.ownership.overlaps(ownership));
        let others: Vec<Arc<Catalog>> = near.map(|m| m.catalog()).collect();
        self.remove_taken(&others, &mut catalog.clone())
    }

    /// After a child's lists changed: drops names now taken elsewhere, logging them.
    pub(super) fn drop_collisions(&self, mount: &Mount, catalog: &mut Catalog) {
        let others: Vec<Arc<Catalog>> = {
            let entries = self.read();
            let others = entries.iter().filter(|m| {
                !std::ptr::eq(m.as_ref(), mount) && m.ownership.overlaps(&mount.ownership)
            });
            others.map(|m| m.catalog()).collect()
        };
        let dropped = self.remove_taken(&others, catalog);
        if !dropped.is_empty() {
            tracing::warn!(mount = %mount.label(), ?dropped, "the server added names another mount or a meta tool has; they are hidden");
        }
    }

    /// Removes from `catalog` the names the meta tools or the `others` use; returns them.
    fn remove_taken(&self, others: &[Arc<Catalog>], catalog: &mut Catalog) -> Vec<String> {
        let tool_taken = |name: &str| {
            self.reserved.iter().any(|r| r == name)
                || others.iter().any(|c| c.tool_names.contains_key(name))
        };
        let prompt_taken = |name: &str| others.iter().any(|c| c.prompt_names.contains_key(name));
        catalog.remove_taken(&tool_taken, &prompt_taken)
    }

    /// Removes the mounts that `matches`, remembering `why` for calls to their tools.
    pub(super) fn remove(&self, matches: impl Fn(&Mount) -> bool, why: Why<'_>) -> Vec<MountInfo> {
        let removed: Vec<Arc<Mount>> = {
            let mut entries = self.write();
            let (removed, kept) = entries.drain(..).partition(|m| matches(m));
            *entries = kept;
            removed
        };
        removed
            .iter()
            .map(|mount| {
                mount.close();
                self.departed.record(mount, why);
                tracing::info!(mount = %mount.label(), "unmounted");
                mount.info()
            })
            .collect()
    }

    /// Tells every session that the tool, resource and prompt lists changed.
    pub async fn notify_lists_changed(&self, ownerships: &[Ownership]) {
        let sessions = &self.sessions;
        sessions
            .broadcast_to_any(
                ownerships,
                ServerNotification::ToolListChangedNotification(
                    ToolListChangedNotification::default(),
                ),
            )
            .await;
        sessions
            .broadcast_to_any(
                ownerships,
                ServerNotification::ResourceListChangedNotification(
                    ResourceListChangedNotification::default(),
                ),
            )
            .await;
        sessions
            .broadcast_to_any(
                ownerships,
                ServerNotification::PromptListChangedNotification(
                    PromptListChangedNotification::default(),
                ),
            )
            .await;
    }
}
