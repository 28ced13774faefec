//! A client of a running daemon (the README's Rust client example): connects over streamable
//! HTTP and lists the tools.
//!
//! Run with `cargo run --example client [URL]` (default `http://127.0.0.1:8000/mcp`).

use rmcp::{ServiceExt, transport::StreamableHttpClientTransport};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    mcp_ephemeral_k8s::tls::install_crypto_provider();
    let url = std::env::args().nth(1);
    let url = url.as_deref().unwrap_or("http://127.0.0.1:8000/mcp");
    let client = ().serve(StreamableHttpClientTransport::from_uri(url)).await?;
    let tools = client.list_all_tools().await?;
    for tool in &tools {
        println!("{}", tool.name);
    }
    client.cancel().await?;
    Ok(())
}
