//! A downstream session for unit tests: a do-nothing server with a client connected, whose
//! peer stands for the client a call came from.

use rmcp::{RoleClient, RoleServer, ServerHandler, ServiceExt, service::RunningService};

/// A server with no tools, prompts or resources.
pub struct Downstream;

impl ServerHandler for Downstream {}

/// A downstream session over an in-memory pipe; keep both ends for as long as the peer is
/// used.
pub async fn downstream() -> (
    RunningService<RoleServer, Downstream>,
    RunningService<RoleClient, ()>,
) {
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let (server, client) = tokio::join!(Downstream.serve(server_io), ().serve(client_io));
    (server.unwrap(), client.unwrap())
}
