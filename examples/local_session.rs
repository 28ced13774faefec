//! The library on its own: create an MCP server on the local backend, call one of its
//! tools with an rmcp client, and delete it.
//!
//! Run with `cargo build && cargo run --example local_session` (it uses the
//! `mcp-ephemeral-k8s` binary next to it as the bridge, and `uvx` from PATH).

use mcp_ephemeral_k8s::{EphemeralMcpServerConfig, SessionManager, upstream::client_config};
use rmcp::{ServiceExt, model::CallToolRequestParams, transport::StreamableHttpClientTransport};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    mcp_ephemeral_k8s::tls::install_crypto_provider();
    let manager = SessionManager::local()?;
    let config = EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time");
    let server = manager.create_mcp_server(config, true, true).await?;
    println!("{} is ready at {}", server.job_name, server.url);

    let client = client_config()
        .serve(StreamableHttpClientTransport::from_uri(server.url.clone()))
        .await?;
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

    let deleted = manager.delete_mcp_server(&server.job_name, true).await?;
    println!("deleted: {}", deleted.removed.join(", "));
    manager.close().await;
    Ok(())
}
