//! The library on its own (the README's library example): create an MCP server on the local
//! backend, call one of its tools with an rmcp client, mount it, and delete it.
//!
//! Run with `cargo build && cargo run --example local_session` (it uses the
//! `mcp-ephemeral-k8s` binary next to it as the bridge, and `uvx` from PATH).

use mcp_ephemeral_k8s::{EphemeralMcpServerConfig, SessionManager};
use rmcp::{
    ServiceExt,
    model::CallToolRequestParams,
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    mcp_ephemeral_k8s::tls::install_crypto_provider();
    let manager = SessionManager::local()?;
    let config = EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time");
    let server = manager.create_mcp_server(config, true, true).await?;
    // … connect an MCP client to server.url, or mount it:
    println!("{} is ready at {}", server.job_name, server.url);
    // The child demands its token: `authorization` is `Bearer <token>`.
    let token = server.authorization.as_deref().unwrap_or_default();
    let config = StreamableHttpClientTransportConfig::with_uri(server.url.clone())
        .auth_header(token.trim_start_matches("Bearer "));
    let client = ().serve(StreamableHttpClientTransport::from_config(config)).await?;
    let arguments = serde_json::json!({ "timezone": "UTC" });
    let call = CallToolRequestParams::new("get_current_time")
        .with_arguments(arguments.as_object().cloned().unwrap_or_default());
    let result = client.call_tool(call).await?;
    for content in &result.content {
        if let Some(text) = content.as_text() {
            println!("{}", text.text);
        }
    }
    client.cancel().await?;
    let name = Some("time".to_owned());
    let mounting = manager.mount_mcp_server(&server.job_name, name, None, Default::default());
    let (_, mount) = mounting.await?;
    println!("mounted as {:?}: {}", mount.name, mount.tools.join(", "));
    manager.delete_mcp_server(&server.job_name, true).await?; // unmounts first
    manager.close().await; // deletes whatever is left
    Ok(())
}
