//! Mounting through the [`SessionManager`]: by job name (a child of this manager) or by
//! URL (any MCP server), and unmounting.

use std::sync::Arc;

use super::SessionManager;
use crate::{
    backend::Progress,
    error::{Error, Result},
    model::{EphemeralMcpServer, MountInfo, MountTransport},
    mount::{MountRequest, Mounts},
    proxy::Sessions,
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
    ) -> Result<(EphemeralMcpServer, MountInfo)> {
        let mut server = self.get(job_name).ok_or_else(|| Error::JobNotFound {
            job_name: job_name.to_owned(),
        })?;
        let transport = transport.unwrap_or(MountTransport::StreamableHttp);
        self.backend
            .wait_ready(job_name, self.settings.ready_timeout, &Progress::default())
            .await?;
        let url = match transport {
            MountTransport::StreamableHttp => server.url.clone(),
            MountTransport::Sse => server.sse_url.clone(),
        };
        let request = MountRequest {
            name,
            job_name: Some(job_name.to_owned()),
            url,
            transport,
        };
        let mount = self.mounts.mount(request).await?;
        server.mount = Some(mount.clone());
        Ok((server, mount))
    }

    /// Mounts any MCP server by URL (streamable HTTP, or legacy SSE for URLs ending in
    /// `/sse` unless `transport` says otherwise).
    ///
    /// # Errors
    /// [`Error::Mount`] (bad URL, name taken, collisions, unreachable, cycle).
    pub async fn mount_url(
        &self,
        url: &str,
        name: Option<String>,
        transport: Option<MountTransport>,
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
        let request = MountRequest {
            name,
            job_name: None,
            url: url.to_owned(),
            transport: transport.unwrap_or_else(|| MountTransport::for_url(url)),
        };
        Ok(self.mounts.mount(request).await?)
    }

    /// Removes the mount called `name`; with no name, the mount of `job_name`; with
    /// neither, every mount. Returns what was removed.
    ///
    /// # Errors
    /// [`Error::Mount`] when nothing matched.
    pub async fn remove_mcp_server_mount(
        &self,
        name: Option<&str>,
        job_name: Option<&str>,
    ) -> Result<Vec<MountInfo>> {
        Ok(self.mounts.unmount(name, job_name).await?)
    }

    /// The mounts.
    pub fn mounts(&self) -> &Mounts {
        &self.mounts
    }

    /// The meta-server's client sessions (to register a session's peer).
    pub fn sessions(&self) -> &Arc<Sessions> {
        &self.sessions
    }
}
