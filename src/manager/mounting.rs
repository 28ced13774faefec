//! Mounting through the [`SessionManager`]: by job name (a child of this manager) or by
//! URL (any MCP server), and unmounting.

use std::sync::Arc;

use super::SessionManager;

/// How long an adopted child's mount is tried again after a failure.
const RESTORE_FOR: std::time::Duration = std::time::Duration::from_secs(600);

/// The first pause between two tries of an adopted child's mount; it doubles each time.
const RESTORE_FIRST_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// The longest pause between two tries.
const RESTORE_MAX_PAUSE: std::time::Duration = std::time::Duration::from_secs(30);
use crate::{
    access::{Action, Outcome, audit},
    backend::Progress,
    error::{Error, Result},
    model::redact_url,
    model::{EphemeralMcpServer, MountInfo, MountRecord, MountTransport, ToolSelection},
    model::{Ownership, Principal},
    mount::{MountRequest, Mounts},
    upstream::ClientSessions,
    upstream::{Reach, url_connector},
};

impl SessionManager {
    /// Mounts child `job_name` on the meta-server under `name` (its tools become
    /// `<name>_<tool>`), waiting for it to be ready first. Uses streamable HTTP unless
    /// `transport` says otherwise. Returns the server and its mount.
    ///
    /// # Errors
    /// [`Error::JobNotFound`], readiness errors as for [`Self::create`], or
    /// [`Error::Mount`] (name taken, collisions, unreachable).
    pub async fn mount_mcp_server(
        &self,
        job_name: &str,
        name: Option<String>,
        transport: Option<MountTransport>,
        selection: ToolSelection,
    ) -> Result<(EphemeralMcpServer, MountInfo)> {
        let mut server = self.get(job_name).ok_or_else(|| Error::JobNotFound {
            job_name: job_name.to_owned(),
        })?;
        let transport = transport.unwrap_or(MountTransport::StreamableHttp);
        self.usage.touch(job_name);
        self.backend
            .wait_ready(job_name, self.settings.ready_timeout, &Progress::default())
            .await?;
        let url = match transport {
            MountTransport::StreamableHttp => server.url.clone(),
            MountTransport::Sse => server.sse_url.clone(),
        };
        let connector = self
            .backend
            .connector(job_name, transport, server.authorization.as_deref())?
            .unwrap_or_else(|| {
                let reach = Reach {
                    authorization: server.authorization.clone(),
                    addresses: None,
                    discover: false,
                };
                url_connector(url.clone(), transport, reach)
            });
        let request = MountRequest {
            name,
            job_name: Some(job_name.to_owned()),
            url,
            transport,
            ownership: server.ownership.clone(),
            selection,
            connector,
        };
        let mount = self.mounts.mount(request).await?;
        let record = MountRecord {
            name: mount.name.clone(),
            selection: mount.selection.clone(),
        };
        if let Err(e) = self.backend.record_mount(job_name, Some(&record)).await {
            tracing::warn!(job_name, cause = %e, "could not record the mount on the child; it is not re-mounted after a restart");
        }
        server.mount = Some(mount.clone());
        Ok((server, mount))
    }

    /// Mounts any MCP server by URL (streamable HTTP, or legacy SSE for URLs ending in
    /// `/sse` unless `transport` says otherwise), visible to the principals `ownership`
    /// allows.
    ///
    /// # Errors
    /// [`Error::Mount`] (bad URL, name taken, collisions, unreachable, cycle).
    pub async fn mount_url(
        &self,
        url: &str,
        name: Option<String>,
        transport: Option<MountTransport>,
        ownership: Ownership,
        selection: ToolSelection,
    ) -> Result<MountInfo> {
        let parsed = reqwest::Url::parse(url).map_err(|e| {
            Error::invalid(
                "url",
                format!("{url:?} is not a URL ({e}); e.g. http://host:8080/mcp"),
            )
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::invalid("url", format!("{url:?} is not http(s)")));
        }
        let policy = &self.settings.policy;
        policy.check_mount_url(&parsed)?;
        // Checked here for a clear error; the resolver checks again on every connection.
        let host = parsed.host_str().unwrap_or_default();
        if host.parse::<std::net::IpAddr>().is_err() && !host.starts_with('[') {
            policy.mount_addresses.resolve(host).await.map_err(|why| {
                Error::NotAllowed(format!(
                    "mounting {} is not allowed: {why}",
                    redact_url(url)
                ))
            })?;
        }
        let transport = transport.unwrap_or_else(|| MountTransport::for_url(url));
        let reach = Reach {
            authorization: None,
            addresses: Some(Arc::new(self.settings.policy.mount_addresses.clone())),
            discover: true,
        };
        let request = MountRequest {
            name,
            job_name: None,
            url: url.to_owned(),
            transport,
            ownership,
            selection,
            connector: url_connector(url.to_owned(), transport, reach),
        };
        Ok(self.mounts.mount(request).await?)
    }

    /// Removes the mount called `name`; with no name, the mount of `job_name`; with
    /// neither, every mount. Only mounts `who` may see are considered
    /// ([`Principal::local`] sees all). Returns what was removed.
    ///
    /// # Errors
    /// [`Error::Mount`] when nothing matched.
    pub async fn remove_mcp_server_mount(
        &self,
        name: Option<&str>,
        job_name: Option<&str>,
        who: &Principal,
    ) -> Result<Vec<MountInfo>> {
        let removed = self.mounts.unmount(name, job_name, who).await?;
        for job_name in removed.iter().filter_map(|m| m.job_name.as_deref()) {
            if let Err(e) = self.backend.record_mount(job_name, None).await {
                tracing::warn!(job_name, cause = %e, "could not record the unmount on the child");
            }
        }
        Ok(removed)
    }

    /// Takes over the children a previous daemon left. With `gc`, deletes the finished ones
    /// and those whose owner can no longer connect (`owner_can_connect` says no: say, a
    /// principal taken out of the tokens file), since nobody but the operator could reach
    /// them. Returns the others with the mount name of those that were mounted, for
    /// [`Self::restore_mounts`].
    ///
    /// # Errors
    /// When the backend cannot list its children.
    pub async fn adopt(
        &self,
        gc: bool,
        owner_can_connect: impl Fn(&str) -> bool,
    ) -> Result<Vec<(String, Option<MountRecord>)>> {
        let mut kept = Vec::new();
        for child in self.backend.adopt(gc).await? {
            let job_name = child.server.job_name.clone();
            if child.pool {
                if !self.adopt_member(child.server, child.age) {
                    tracing::info!(%job_name, "deleting a pool member no pool wants now");
                    if let Err(e) = self.backend.delete(&job_name, false).await {
                        tracing::warn!(%job_name, cause = %e, "could not delete it");
                    }
                }
                continue;
            }
            match child.server.ownership.owner.as_deref() {
                Some(owner) if gc && !owner_can_connect(owner) => {
                    self.remove_orphan(&job_name, owner).await;
                }
                _ => {
                    let owner = child.server.ownership.owner.clone();
                    self.usage.adopt(&job_name, owner.as_deref(), child.age);
                    self.lock().insert(job_name.clone(), child.server);
                    kept.push((job_name, child.mount));
                }
            }
        }
        Ok(kept)
    }

    /// Deletes an adopted child whose owner is gone, with an audit line.
    async fn remove_orphan(&self, job_name: &str, owner: &str) {
        let why = format!("its owner {owner:?} can no longer connect");
        tracing::info!(%job_name, reason = %why, "removing a child left by a previous daemon");
        let outcome = match self.backend.delete(job_name, false).await {
            Ok(_) => Outcome::Allowed,
            Err(e) => {
                tracing::warn!(%job_name, cause = %e, "could not remove it");
                Outcome::Failed
            }
        };
        audit(
            &Principal::reaper(),
            Action::Delete,
            job_name,
            outcome,
            &why,
        );
    }

    /// Mounts adopted children again, each once it is ready (so run it in the background).
    /// A mount that fails to connect is tried again with a growing pause (up to
    /// `RESTORE_MAX_PAUSE`) for `RESTORE_FOR`, unless the child went away or the
    /// failure is a refusal (a name now taken).
    pub async fn restore_mounts(&self, adopted: Vec<(String, Option<MountRecord>)>) {
        let restores = adopted
            .into_iter()
            .filter_map(|(job_name, mount)| Some((job_name, mount?)))
            .map(|(job_name, record)| self.restore_mount(job_name, record));
        futures::future::join_all(restores).await;
    }

    async fn restore_mount(&self, job_name: String, record: MountRecord) {
        let deadline = tokio::time::Instant::now() + RESTORE_FOR;
        let mut pause = RESTORE_FIRST_PAUSE;
        loop {
            let (name, selection) = (record.name.clone(), record.selection.clone());
            let mounting = self.mount_mcp_server(&job_name, name, None, selection);
            let error = match mounting.await {
                Ok(_) => {
                    tracing::info!(%job_name, "mounted again");
                    return;
                }
                Err(e) => e,
            };
            let lasting = match &error {
                Error::JobNotFound { .. } => true,
                Error::Mount(e) => !e.is_transient(),
                _ => false,
            };
            if lasting || tokio::time::Instant::now() + pause > deadline {
                tracing::warn!(%job_name, cause = %error, "could not mount an adopted child again");
                return;
            }
            tracing::info!(%job_name, cause = %error, retry_in = ?pause, "could not mount an adopted child again yet");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RESTORE_MAX_PAUSE);
        }
    }

    /// The mounts.
    pub fn mounts(&self) -> &Mounts {
        &self.mounts
    }

    /// The meta-server's client sessions (to register a session's peer).
    pub fn sessions(&self) -> &Arc<ClientSessions> {
        &self.sessions
    }
}
