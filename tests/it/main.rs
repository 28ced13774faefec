//! Integration tests: the real binary, started as the README says, driven by real MCP
//! clients over real sockets.

// Logging, sampling and roots are deprecated in rmcp 3.11 (SEP-2577) but part of the
// protocol versions the daemon serves, so the tests exercise them.
#![allow(deprecated)]

mod attacks;
mod bad_input;
mod benchmark;
mod bridge;
mod deploy;
mod discovery;
mod eras;
mod kube_proxy;
mod layering;
mod limits;
mod local_backend;
mod mount_refusals;
mod mount_relay;
mod mount_state;
mod mounted_calls;
mod mounting;
mod observability;
mod pools;
mod readme;
mod registry;
mod reliability;
mod resumed_streams;
mod schemas;
mod secrets;
mod security;
mod selection;
mod support;
mod third_party;
mod transports;
