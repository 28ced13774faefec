//! The legacy HTTP+SSE transport of MCP (protocol 2024-11-05), which rmcp no longer ships:
//! the server side ([`server`]: `GET /sse` + `POST /messages/`) and the client side
//! ([`client`]), each on rmcp's transport traits so any handler or client runs on it.

pub mod client;
pub mod server;
