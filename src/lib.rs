//! mcp-ephemeral-k8s: start, use and throw away MCP servers on demand.
//!
//! An MCP meta-server whose tools create MCP servers (`uvx mcp-server-time`,
//! `npx @modelcontextprotocol/server-everything`, presets) as Kubernetes Jobs or local
//! processes, each behind this crate's bridge, and delete them when done. It is also a
//! library: [`SessionManager`] does the same from Rust.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mcp_ephemeral_k8s::Error> {
//! use mcp_ephemeral_k8s::{EphemeralMcpServerConfig, SessionManager};
//!
//! let manager = SessionManager::local()?;
//! let server = manager
//!     .create_mcp_server(EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time"), true, true)
//!     .await?;
//! println!("MCP at {}", server.url);
//! manager.delete_mcp_server(&server.job_name, true).await?;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! Layers, top first; a module uses only modules of lower layers, never one above or
//! beside it (`tests/it/layering.rs` checks every `crate::` path):
//! 1. [`daemon`]: wires the parts, serves until shutdown, drains with a deadline.
//! 2. [`config`]: the command line, its environment variables and their validation.
//! 3. [`meta`]: the meta-server's MCP handler (tools, resources, the merged view of the
//!    mounts) and `meta::forward`, the one path that forwards a request to the mount that
//!    owns it (including [`meta::MountedCalls`], the layer in front of `/mcp`).
//! 4. [`manager`]: [`SessionManager`], the registry of children over a backend: policy,
//!    secrets, ownership, limits, reaping, background tasks.
//! 5. [`backend`] (where children run: [`backend::local`], [`backend::kubernetes`], never
//!    importing each other) and [`mount`] (mounts: names, catalog, connect, reconnect;
//!    never knows which backend made a child).
//! 6. [`bridge`]: one stdio MCP server served over HTTP (what each child runs).
//! 7. [`http`] (the axum router: `/health`, `/sse` + `/messages/`, `/mcp`, stdio, the
//!    guard; it knows nothing of what it serves), [`policy`] (allowlists and limits),
//!    [`presets`] (`presets/*.yaml`), [`registry`] (MCP Registry entries, `server.json`).
//! 8. [`secrets`]: `${VAR}` and `${secret:NAME/KEY}` references in `env` values.
//! 9. `error`: [`Error`], the crate's error, and the mount errors.
//! 10. [`upstream`]: one MCP client session upstream, many client sessions downstream.
//! 11. [`sse`] (the legacy SSE transport, server and client) and [`access`] (the audit log).
//! 12. [`metrics`]: Prometheus metrics (`/metrics`).
//! 13. Leaves: [`address`] (which addresses URL mounts may reach), [`model`] (configurations, servers, statuses, names, ownership, the
//!     bridge's events), [`process`] (process groups and signals), [`lines`] (bounded
//!     lines of a child's output), [`sync`] (locks that survive a panic), [`tls`] (the
//!     rustls provider for outgoing HTTPS).

pub mod access;
pub mod address;
pub mod backend;
pub mod bridge;
pub mod config;
pub mod daemon;
mod error;
pub mod http;
pub mod lines;
pub mod manager;
pub mod meta;
pub mod metrics;
pub mod model;
pub mod mount;
pub mod policy;
pub mod presets;
pub mod process;
pub mod registry;
pub mod secrets;
pub mod sse;
pub mod sync;
pub mod tls;
pub mod upstream;

pub use error::{Error, Result, with_causes};
pub use manager::SessionManager;
pub use model::{
    EphemeralMcpServer, EphemeralMcpServerConfig, LOG_ENV, ProbeConfig, RbacPreset, ServerStatus,
};
pub use presets::Preset;
