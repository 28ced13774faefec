//! The legacy HTTP+SSE transport of MCP (protocol 2024-11-05), which rmcp no longer ships:
//! the server side ([`sse_server`]: `GET /sse` + `POST /messages/`) and the client side
//! ([`sse_client`]), each on rmcp's transport traits so any handler or client runs on it;
//! and [`decode`], the fast decoding of the JSON-RPC messages of mounted calls.

pub mod decode;
pub mod sse_client;
pub mod sse_server;
