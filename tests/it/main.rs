//! Integration tests: the real binary, started as the README says, driven by real MCP
//! clients over real sockets.

mod bad_input;
mod bridge;
mod local_backend;
mod support;
mod third_party;
mod transports;
